//! A configuration change on node A seen from node B: how long B takes to send browsers
//! upstream with the changed connection.

use std::time::{Duration, Instant};

use anyhow::{anyhow, Context};
use reqwest::{Method, StatusCode};
use serde_json::json;

use super::Extras;
use crate::http::{self, LoginTarget};
use crate::load::percentile;
use crate::report::{ms, Report};
use crate::seed::{self, Seeded};
use crate::{Args, Env};
use gatehouse::services::{self, Actor};

/// How long a change may take to show on the other node before it counts as lost.
const PROPAGATION_TIMEOUT: Duration = Duration::from_secs(3);

/// How a change is made on node A.
pub(super) enum Change {
    /// PATCH /api/v2/connections/{id} on node A with this token.
    Api(String),
    /// `services::connections::update` from the driver (no management API yet).
    Service,
}

/// Changes the `prop` connection's upstream client id again and again, and times how long
/// node B takes to send browsers upstream with the new one.
pub(super) async fn propagation(
    args: &Args,
    env: &Env,
    report: &mut Report,
    extras: &mut Extras,
    bench: &Seeded,
    change: Change,
) -> anyhow::Result<()> {
    let a = env.node_a();
    let b = env.node_b.as_ref().context("node B")?;
    let (prop_name, prop_id) = bench.extra_connections.first().context("prop connection")?;
    let poll = LoginTarget {
        host: b.host(&bench.slug),
        client_id: bench.web_client_id.clone(),
        client_secret: bench.web_secret.clone(),
        callback: seed::CALLBACK.into(),
        connection: prop_name.clone(),
    };
    let http_a = http::client();
    let http_b = http::client();
    let upstream_client = |loc: &str| http::query_param(loc, "client_id");
    let first = http::authorize(&http_b, &poll)
        .await
        .map_err(|e| anyhow!("node B: {e}"))?;
    if upstream_client(&first).is_none() {
        anyhow::bail!("node B's /authorize redirect has no client_id: {first}");
    }
    let how = match &change {
        Change::Api(_) => "PATCH /api/v2/connections/{id} on node A",
        Change::Service => "services::connections::update from the driver (no management API yet)",
    };
    eprintln!(
        "bench: config change propagation node A → node B, {} changes via {how}",
        args.changes
    );
    let budget = Instant::now() + Duration::from_secs(120);
    let mut latencies: Vec<u32> = Vec::new();
    let mut lost = 0;
    for i in 0..args.changes {
        if Instant::now() > budget {
            report.note(format!(
                "propagation: stopped after {i} changes (the 120 s budget ran out)"
            ));
            break;
        }
        let new_id = format!("prop-{i}-{:08x}", rand::random::<u32>());
        let options = seed::exact_options(&env.fake_url, &new_id);
        match &change {
            Change::Api(token) => {
                http::management(
                    &http_a,
                    &a.host(&bench.slug),
                    token,
                    Method::PATCH,
                    &format!("/api/v2/connections/{prop_id}"),
                    Some(&json!({ "options": options })),
                    StatusCode::OK,
                )
                .await
                .map_err(|e| anyhow!(e))?;
            }
            Change::Service => {
                services::connections::update(
                    &env.pg().pool,
                    &env.sealer,
                    bench.tenant_id,
                    prop_id,
                    &services::connections::ConnectionInput {
                        options: Some(options),
                        ..Default::default()
                    },
                    None,
                    &Actor::named("bench"),
                )
                .await
                .map_err(|e| anyhow!("changing the connection: {e}"))?;
            }
        }
        let committed = Instant::now();
        loop {
            let loc = http::authorize(&http_b, &poll)
                .await
                .map_err(|e| anyhow!("node B: {e}"))?;
            if upstream_client(&loc).as_deref() == Some(new_id.as_str()) {
                latencies.push(committed.elapsed().as_micros() as u32);
                break;
            }
            if committed.elapsed() > PROPAGATION_TIMEOUT {
                lost += 1;
                latencies.push(PROPAGATION_TIMEOUT.as_micros() as u32);
                break;
            }
        }
        let pause = 10 + rand::random::<u64>() % 40;
        tokio::time::sleep(Duration::from_millis(pause)).await;
    }
    latencies.sort_unstable();
    let p50 = percentile(&latencies, 50.0);
    let p99 = percentile(&latencies, 99.0);
    let max = latencies.last().map(|v| *v as f64 / 1000.0);
    extras.propagation_p99 = p99;
    report.fact(
        "config change on node A visible on node B (polling B's /authorize redirect)",
        format!(
            "p50 {} ms, p99 {} ms, max {} ms over {} changes via {how}{}",
            ms(p50),
            ms(p99),
            ms(max),
            latencies.len(),
            if lost > 0 {
                format!(
                    "; **{lost} not visible within {} s** (counted as {} s)",
                    PROPAGATION_TIMEOUT.as_secs(),
                    PROPAGATION_TIMEOUT.as_secs()
                )
            } else {
                String::new()
            }
        ),
    );
    eprintln!(
        "bench:   p50 {} ms, p99 {} ms, lost {lost}",
        ms(p50),
        ms(p99)
    );
    Ok(())
}
