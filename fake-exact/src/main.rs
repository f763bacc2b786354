//! `fake-exact`: a fake Exact Online on your laptop, to try logins without an Exact account.
//!
//! Thin wrapper around [`fake_exact`] (this crate's library); see it for the endpoints and the
//! `/__fake/*` switches (token and Me failure modes, consent, user).

use std::net::SocketAddr;

use clap::{Parser, ValueEnum};
use fake_exact::{Consent, FakeApp, FakeExact};

/// Serve a fake Exact Online (OAuth authorize/token and current/Me) until Ctrl-C.
#[derive(Parser)]
#[command(name = "fake-exact", version)]
struct Args {
    /// Address to listen on. Keep it on loopback: the `/__fake/*` switches are unauthenticated.
    #[arg(long, env = "FAKE_EXACT_LISTEN", default_value = "127.0.0.1:9999")]
    listen: SocketAddr,

    /// Client id of the registered app.
    #[arg(
        long,
        env = "FAKE_EXACT_CLIENT_ID",
        default_value = "fake-exact-client"
    )]
    client_id: String,

    /// Client secret of the registered app (a development value, not a real secret).
    #[arg(
        long,
        env = "FAKE_EXACT_CLIENT_SECRET",
        default_value = "fake-exact-secret",
        hide_env_values = true
    )]
    client_secret: String,

    /// Accepted callback URI, compared string-equal; repeat for several. None accepts any.
    /// In the environment, separate several with spaces (a URI cannot contain one).
    #[arg(
        long = "redirect-uri",
        env = "FAKE_EXACT_REDIRECT_URIS",
        value_delimiter = ' '
    )]
    redirect_uris: Vec<String>,

    /// What happens at the authorize step.
    #[arg(long, env = "FAKE_EXACT_CONSENT", value_enum, default_value_t = ConsentArg::Page)]
    consent: ConsentArg,
}

#[derive(Clone, Copy, ValueEnum)]
enum ConsentArg {
    /// Redirect straight back with a code.
    Auto,
    /// Show an Allow / Decline page.
    Page,
    /// Redirect straight back with error=access_denied.
    Decline,
}

impl From<ConsentArg> for Consent {
    fn from(arg: ConsentArg) -> Self {
        match arg {
            ConsentArg::Auto => Consent::Auto,
            ConsentArg::Page => Consent::Page,
            ConsentArg::Decline => Consent::Decline,
        }
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // Logs to stderr so stdout carries only the base URL, for scripts to read.
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let args = Args::parse();
    let app = FakeApp {
        client_id: args.client_id,
        client_secret: args.client_secret,
        redirect_uris: args.redirect_uris,
    };
    tracing::info!(client.id = %app.client_id, redirect_uris = ?app.redirect_uris, "registered app");
    let exact = FakeExact::bind(args.listen, app, args.consent.into()).await?;
    // The one line a person (or a script) needs: where to point the connection's base URL.
    println!("{}", exact.base_url());
    tokio::signal::ctrl_c().await?;
    tracing::info!("Ctrl-C received, stopping");
    exact.stop().await;
    Ok(())
}
