//! The management API on a tenant with many connections: GET one, list a page, PATCH and POST,
//! each under load.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use anyhow::anyhow;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use super::measure::{measure, probes};
use crate::http::{self, MachineClient};
use crate::report::Report;
use crate::seed::{self, Seeded};
use crate::{Args, Env};

pub(super) const MGMT_GET: &str = "management: GET connection";
pub(super) const MGMT_PATCH: &str = "management: PATCH connection";
pub(super) const MGMT_CREATE: &str = "management: POST connection";

pub(super) fn mgmt_list(connections: usize) -> String {
    format!("management: list connections (50 of {connections})")
}

/// Whether the management API answers on this build (it is being written).
pub(super) async fn management_available(
    http: &reqwest::Client,
    host: &str,
    token: &str,
) -> anyhow::Result<bool> {
    let res = http::request(
        http,
        Method::GET,
        &format!("http://{host}/api/v2/connections?per_page=1"),
    )
    .map_err(|e| anyhow!(e))?
    .bearer_auth(token)
    .send()
    .await?;
    match res.status() {
        StatusCode::OK => Ok(true),
        StatusCode::NOT_FOUND | StatusCode::METHOD_NOT_ALLOWED => Ok(false),
        other => Err(anyhow!(
            "GET /api/v2/connections answered {other}: {}",
            res.text().await.unwrap_or_default()
        )),
    }
}

pub(super) async fn management(
    args: &Args,
    env: &Env,
    report: &mut Report,
    mgmt: &Seeded,
    connection_ids: Vec<String>,
) -> anyhow::Result<()> {
    let a = env.node_a();
    let host = a.host(&mgmt.slug);
    let machine = MachineClient {
        host: host.clone(),
        client_id: mgmt.machine_client_id.clone(),
        client_secret: mgmt.machine_secret.clone(),
    };
    let http = http::client();
    let token = http::client_credentials(&http, &machine)
        .await
        .map_err(|e| anyhow!("management token: {e}"))?;
    if !management_available(&http, &host, &token).await? {
        report.note(
            "management API benchmarks skipped: this build does not serve /api/v2/connections yet (404). \
             They run by themselves once it does.",
        );
        return Ok(());
    }
    drop(http);
    let ids = Arc::new(connection_ids);
    let token = Arc::new(token);
    let host = Arc::new(host);
    let shape = || args.shape(args.mgmt_users);

    {
        let (ids, token, host) = (ids.clone(), token.clone(), host.clone());
        measure(report, MGMT_GET, shape(), &probes(env), move |http, _| {
            let (ids, token, host) = (ids.clone(), token.clone(), host.clone());
            async move {
                let id = &ids[rand::random::<usize>() % ids.len()];
                let body = http::management(
                    &http,
                    &host,
                    &token,
                    Method::GET,
                    &format!("/api/v2/connections/{id}"),
                    None,
                    StatusCode::OK,
                )
                .await?;
                (body["id"] == json!(id))
                    .then_some(None)
                    .ok_or_else(|| "GET connection answered another connection".to_owned())
            }
        })
        .await;
    }
    {
        let (token, host) = (token.clone(), host.clone());
        let pages = (ids.len() / 50).max(1);
        measure(
            report,
            &mgmt_list(ids.len()),
            shape(),
            &probes(env),
            move |http, _| {
                let (token, host) = (token.clone(), host.clone());
                async move {
                    let page = rand::random::<usize>() % pages;
                    let body = http::management(
                        &http,
                        &host,
                        &token,
                        Method::GET,
                        &format!("/api/v2/connections?per_page=50&page={page}"),
                        None,
                        StatusCode::OK,
                    )
                    .await?;
                    let items = body
                        .as_array()
                        .or_else(|| body["connections"].as_array())
                        .map_or(0, Vec::len);
                    (items == 50)
                        .then_some(None)
                        .ok_or_else(|| format!("list answered {items} connections, not 50"))
                }
            },
        )
        .await;
    }
    {
        let (ids, token, host) = (ids.clone(), token.clone(), host.clone());
        let counter = Arc::new(AtomicU64::new(0));
        let users = args.mgmt_users;
        // Each user changes its own share of the connections: two users changing the same one
        // at once is a conflict (412), not what this measures.
        measure(report, MGMT_PATCH, shape(), &probes(env), move |http, user| {
            let (ids, token, host) = (ids.clone(), token.clone(), host.clone());
            let n = counter.fetch_add(1, Ordering::Relaxed);
            async move {
                let share = (ids.len() / users).max(1);
                let idx = (user * share + rand::random::<usize>() % share) % ids.len();
                let id = &ids[idx];
                http::management(
                    &http,
                    &host,
                    &token,
                    Method::PATCH,
                    &format!("/api/v2/connections/{id}"),
                    Some(&json!({ "display_name": format!("Bench {n}"), "metadata": { "rev": n.to_string() } })),
                    StatusCode::OK,
                )
                .await
                .map(|_| None)
            }
        })
        .await;
    }
    {
        let (token, host) = (token.clone(), host.clone());
        let counter = Arc::new(AtomicU64::new(0));
        let web = Arc::new(mgmt.web_client_id.clone());
        let fake = Arc::new(env.fake_url.clone());
        measure(
            report,
            MGMT_CREATE,
            shape(),
            &probes(env),
            move |http, _| {
                let (token, host, web, fake) =
                    (token.clone(), host.clone(), web.clone(), fake.clone());
                let n = counter.fetch_add(1, Ordering::Relaxed);
                async move {
                    let body: Value = json!({
                        "name": format!("created-{n}-{:08x}", rand::random::<u32>()),
                        "strategy": "exact",
                        "options": seed::exact_options(&fake, seed::EXACT_CLIENT_ID),
                        "enabled_clients": [web.as_str()],
                    });
                    http::management(
                        &http,
                        &host,
                        &token,
                        Method::POST,
                        "/api/v2/connections",
                        Some(&body),
                        StatusCode::CREATED,
                    )
                    .await
                    .map(|_| None)
                }
            },
        )
        .await;
    }
    Ok(())
}
