//! Complete logins through an OpenID Connect connection, beside Exact's: the fake OpenID
//! Connect provider as a process of its own, an `oidc` connection on the benchmark tenant found
//! through discovery, and the same measurement as the Exact login. The difference is the
//! upstream ID token's validation (one RSA verify with a cached key) and the memo sealed into
//! the login transaction.

use anyhow::anyhow;
use gatehouse::services::{self, Actor};
use serde_json::json;

use super::logins::logins;
use crate::http::{self, LoginTarget};
use crate::report::Report;
use crate::seed::Seeded;
use crate::{procs, Args, Env};

pub(super) const LOGIN_OIDC: &str = "complete login through an oidc connection, 1 tenant";

const CLIENT_ID: &str = "bench-at-idp";
const CLIENT_SECRET: &str = "bench-idp-secret";

pub(super) async fn oidc_logins(
    args: &Args,
    env: &Env,
    report: &mut Report,
    bench: &Seeded,
    exact: &LoginTarget,
) -> anyhow::Result<()> {
    eprintln!("bench: starting the fake OpenID Connect provider");
    let (mut fake, issuer, stdout) = procs::start_fake(
        "fake-oidc",
        &env.bin_dir.join("fake-oidc"),
        &[
            "--listen",
            "127.0.0.1:0",
            "--consent-page",
            "false",
            "--client-id",
            CLIENT_ID,
            "--client-secret",
            CLIENT_SECRET,
        ],
        &env.dir.path().join("fake-oidc.log"),
    )
    .await?;
    let input = services::connections::ConnectionInput {
        name: Some("oidc".into()),
        strategy: Some("oidc".into()),
        options: Some(
            json!({"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "issuer": issuer}),
        ),
        enabled_clients: Some(vec![bench.web_client_id.clone()]),
        ..Default::default()
    };
    services::connections::create(
        &env.pg().pool,
        &env.sealer,
        bench.tenant_id,
        &input,
        &Actor::named("bench"),
    )
    .await
    .map_err(|e| anyhow!("the oidc connection: {e}"))?;
    let target = LoginTarget {
        connection: "oidc".into(),
        ..exact.clone()
    };
    http::login(&http::client(), &target, None)
        .await
        .map_err(|e| {
            anyhow!(
                "a first oidc login failed: {e}\nthe fake's log:\n{}",
                fake.log_tail()
            )
        })?;
    logins(args, env, report, LOGIN_OIDC, vec![target]).await;
    drop(stdout);
    fake.stop(std::time::Duration::from_secs(5));
    Ok(())
}
