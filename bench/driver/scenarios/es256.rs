//! Complete logins for an application whose tokens are ES256 (issue #22): the same tenant,
//! application and Exact connection as the RS256 login, with the application switched to ES256
//! for the measurement and back after. The difference is the ID token's signature: a P-256
//! signature instead of an RSA-2048 one.

use std::time::Duration;

use anyhow::anyhow;

use super::logins::logins;
use crate::http::{self, LoginTarget};
use crate::report::Report;
use crate::{Args, Env};

pub(super) const LOGIN_ES256: &str = "complete login, ES256 ID token, 1 tenant";

pub(super) async fn es256_logins(
    args: &Args,
    env: &Env,
    report: &mut Report,
    target: &LoginTarget,
) -> anyhow::Result<()> {
    set_alg(env, target, Some("ES256")).await?;
    // The node hears of the change through the database's notification; the first ES256
    // login also makes the tenant's ES256 key.
    let mut first = Err(String::new());
    for _ in 0..50 {
        first = http::login(&http::client(), target, None).await.map(|_| ());
        if first.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    first.map_err(|e| anyhow!("a first ES256 login failed: {e}"))?;
    logins(args, env, report, LOGIN_ES256, vec![target.clone()]).await;
    set_alg(env, target, None).await
}

async fn set_alg(env: &Env, target: &LoginTarget, alg: Option<&str>) -> anyhow::Result<()> {
    sqlx::query("UPDATE clients SET signing_alg = $1 WHERE client_id = $2")
        .bind(alg)
        .bind(&target.client_id)
        .execute(&env.pg().pool)
        .await?;
    // Long enough for the node's change listener.
    tokio::time::sleep(Duration::from_millis(300)).await;
    Ok(())
}
