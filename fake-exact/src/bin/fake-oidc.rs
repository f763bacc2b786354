//! `fake-oidc`: a fake OpenID Connect provider on your laptop, to try an `oidc` (or `oauth2`)
//! connection without an account anywhere. Thin wrapper around [`fake_exact::oidc`].

use std::net::SocketAddr;

use clap::Parser;
use fake_exact::oidc::{FakeOidc, OidcClient};

/// Serve a fake OpenID Connect provider (discovery, keys, authorize, token, userinfo) until
/// Ctrl-C. Prints its issuer, which is what an `oidc` connection's issuer is set to.
#[derive(Parser)]
#[command(name = "fake-oidc", version)]
struct Args {
    /// Address to listen on. Keep it on loopback: it signs whatever it is asked to.
    #[arg(long, env = "FAKE_OIDC_LISTEN", default_value = "127.0.0.1:9998")]
    listen: SocketAddr,

    /// Client id of the registered client.
    #[arg(long, env = "FAKE_OIDC_CLIENT_ID", default_value = "fake-oidc-client")]
    client_id: String,

    /// Client secret of the registered client (a development value, not a real secret).
    #[arg(
        long,
        env = "FAKE_OIDC_CLIENT_SECRET",
        default_value = "fake-oidc-secret",
        hide_env_values = true
    )]
    client_secret: String,

    /// Show an Allow / Deny page at the authorize step instead of redirecting straight back.
    #[arg(long, env = "FAKE_OIDC_CONSENT_PAGE", default_value_t = true, action = clap::ArgAction::Set)]
    consent_page: bool,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let args = Args::parse();
    let idp = FakeOidc::bind(
        args.listen,
        OidcClient {
            client_id: args.client_id,
            client_secret: args.client_secret,
        },
    )
    .await?;
    idp.set_consent_page(args.consent_page);
    println!("{}", idp.issuer());
    tokio::signal::ctrl_c().await?;
    idp.stop().await;
    Ok(())
}
