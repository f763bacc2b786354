//! The floor: what the stack and the machine charge for a login's round trips, measured on a
//! bare server (`bench/floor`) doing the same requests, upstream calls and statements.

use std::sync::Arc;
use std::time::Duration;

use anyhow::anyhow;
use reqwest::StatusCode;
use serde_json::Value;

use super::measure::{measure, probes_of};
use crate::http;
use crate::report::Report;
use crate::{free_port, Args, Env};

const FLOOR_IO: &str =
    "floor: a login's requests, upstream calls and statements on a bare server of the same stack";
const FLOOR_SIGNED: &str = "floor, with the RS256 ID-token signature";
const FLOOR_NO_DATABASE: &str =
    "floor, with the signature and without any statement (any design on this stack)";

/// What the stack and the machine charge for a login's round trips (`bench/floor`): a bare
/// server doing the same requests, upstream calls and statements, without and with the one
/// signature; Gatehouse's CPU above it is its own work.
pub(super) async fn floor(args: &Args, env: &Env, report: &mut Report) -> anyhow::Result<()> {
    let users = Args::reference_users(&args.login_users);
    for (sign, database, name) in [
        (false, true, FLOOR_IO),
        (true, true, FLOOR_SIGNED),
        (true, false, FLOOR_NO_DATABASE),
    ] {
        let port = free_port()?;
        let mut server = env.start_floor(port, sign, database).await?;
        let base = Arc::new(format!("http://127.0.0.1:{port}"));
        floor_login(&http::client(), &base)
            .await
            .map_err(|e| anyhow!("a first floor login failed: {e}"))?;
        measure(
            report,
            name,
            args.shape(users),
            &probes_of(env, server.pid()),
            move |http, _| {
                let base = base.clone();
                async move { floor_login(&http, &base).await.map(|_| None) }
            },
        )
        .await;
        server.stop(Duration::from_secs(5));
    }
    Ok(())
}

/// The floor's CPU per login beside Gatehouse's: what is the stack's and the machine's, and
/// what is Gatehouse's own.
pub(super) fn floor_fact(report: &mut Report, users: usize, login_cpu: Option<f64>) {
    let cpu = |name| {
        report
            .row(name, users)
            .and_then(|o| o.per_op_ms(o.gatehouse_cpu))
    };
    if let (Some(io), Some(signed), Some(bare), Some(login)) = (
        cpu(FLOOR_IO),
        cpu(FLOOR_SIGNED),
        cpu(FLOOR_NO_DATABASE),
        login_cpu,
    ) {
        report.fact(
            format!("CPU per login of the floor ({users} users): its I/O alone, with the signature, with the signature and no statement; Gatehouse above the floor"),
            format!("{io:.3} ms, {signed:.3} ms, {bare:.3} ms; {:.3} ms", login - signed),
        );
    }
}

/// The floor server's login: the three requests a login makes of Gatehouse (the browser's
/// visit to the upstream is left out: it costs the server nothing).
async fn floor_login(http: &reqwest::Client, base: &str) -> Result<(), String> {
    let n: u64 = rand::random();
    let expect = |res: reqwest::Response, status: StatusCode| {
        if res.status() == status {
            Ok(res)
        } else {
            Err(format!("{} answered {}", res.url().path(), res.status()))
        }
    };
    let res = http
        .get(format!(
            "{base}/authorize?response_type=code&client_id=floor&state=s{n}&nonce=n{n}\
             &redirect_uri=http%3A%2F%2F127.0.0.1%2Fapp%2Fcallback&scope=openid%20profile%20email"
        ))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    expect(res, StatusCode::FOUND)?;
    let res = http
        .get(format!("{base}/login/callback?code=c{n}&state=s{n}"))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    expect(res, StatusCode::FOUND)?;
    let code = format!("c{n}");
    let res = http
        .post(format!("{base}/oauth/token"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", "http://127.0.0.1/app/callback"),
            ("client_id", "floor"),
            ("client_secret", "floor-secret"),
        ])
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let body: Value = expect(res, StatusCode::OK)?
        .json()
        .await
        .map_err(|e| e.to_string())?;
    if body["access_token"].as_str() != Some(code.as_str()) {
        return Err(format!("the floor's token answer was {body}"));
    }
    Ok(())
}
