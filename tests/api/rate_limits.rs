//! Rate limiting and brute-force protection: 429 with Retry-After, per IP and per client, not
//! bypassable by respelling the client id or rotating it.

use serde_json::Value;

use crate::helpers::*;

#[tokio::test]
async fn authorize_is_limited_per_ip_with_retry_after() {
    let app = spawn_app_with(&[("GATEHOUSE_RATE_LIMIT_IP_PER_MINUTE", "5")]).await;
    let tenant = app.create_tenant("acme").await;
    let url = app.tenant_url(&tenant, "/authorize");
    let mut statuses = Vec::new();
    for i in 0..8 {
        // Rotating the client id does not help: the IP's budget is spent.
        let res = app
            .http
            .get(&url)
            .query(&[("client_id", format!("client-{i}"))])
            .send()
            .await
            .unwrap();
        statuses.push(res.status().as_u16());
        if res.status() == 429 {
            assert!(
                res.headers()["retry-after"]
                    .to_str()
                    .unwrap()
                    .parse::<u64>()
                    .unwrap()
                    >= 1
            );
        }
    }
    assert_eq!(&statuses[..5], &[400; 5]);
    assert_eq!(&statuses[5..], &[429; 3]);
    // Other doors keep their own budget.
    let res = app
        .http
        .get(app.tenant_url(&tenant, "/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
}

#[tokio::test]
async fn the_management_api_and_token_endpoint_are_limited_per_ip() {
    let app = spawn_app_with(&[("GATEHOUSE_RATE_LIMIT_IP_PER_MINUTE", "3")]).await;
    let tenant = app.create_tenant("acme").await;
    for path in ["/oauth/token", "/api/v2/connections"] {
        let mut last = 0;
        for _ in 0..4 {
            last = app
                .http
                .post(app.tenant_url(&tenant, path))
                .form(&[("grant_type", "client_credentials")])
                .send()
                .await
                .unwrap()
                .status()
                .as_u16();
        }
        assert_eq!(last, 429, "{path}");
    }
}

#[tokio::test]
async fn wrong_client_secrets_lock_the_client_out_however_its_id_is_spelled() {
    let app = spawn_app_with(&[("GATEHOUSE_RATE_LIMIT_FAILURES_PER_MINUTE", "3")]).await;
    let tenant = app.create_tenant("acme").await;
    let client = app.create_client(&tenant, "non_interactive").await;
    let url = app.tenant_url(&tenant, "/oauth/token");
    let attempt = |client_id: String, secret: String| {
        let http = app.http.clone();
        let url = url.clone();
        async move {
            let res = http
                .post(url)
                .form(&[
                    ("grant_type", "client_credentials"),
                    ("client_id", &client_id),
                    ("client_secret", &secret),
                ])
                .send()
                .await
                .unwrap();
            let status = res.status().as_u16();
            let body: Value = res.json().await.unwrap();
            (
                status,
                body["error"].as_str().unwrap_or_default().to_owned(),
            )
        }
    };
    for guess in ["a", "b", "c"] {
        assert_eq!(attempt(client.client_id.clone(), guess.into()).await.0, 401);
    }
    // Locked out now, even with the right secret, and even respelled.
    let right = client.client_secret.clone().unwrap();
    assert_eq!(
        attempt(client.client_id.clone(), right.clone()).await,
        (429, "slow_down".into())
    );
    assert_eq!(
        attempt(
            format!(" {} ", client.client_id.to_uppercase()),
            right.clone()
        )
        .await
        .0,
        429
    );
    // Rotating client ids from the same IP is locked out as well.
    assert_eq!(attempt("another-client".into(), "x".into()).await.0, 429);
}

/// Sends `/authorize` requests as a client behind `X-Forwarded-For: forwarded`; the statuses.
async fn authorize_as(app: &TestApp, url: &str, forwarded: &str, times: usize) -> Vec<u16> {
    let mut statuses = Vec::new();
    for _ in 0..times {
        let res = app
            .http
            .get(url)
            .header("X-Forwarded-For", forwarded)
            .query(&[("client_id", "nobody")])
            .send()
            .await
            .unwrap();
        statuses.push(res.status().as_u16());
    }
    statuses
}

#[tokio::test]
async fn a_client_cannot_escape_its_ip_budget_by_writing_x_forwarded_for() {
    let app = spawn_app_with(&[("GATEHOUSE_RATE_LIMIT_IP_PER_MINUTE", "3")]).await;
    let tenant = app.create_tenant("acme").await;
    let url = app.tenant_url(&tenant, "/authorize");
    let mut statuses = Vec::new();
    for i in 0..4 {
        statuses.extend(authorize_as(&app, &url, &format!("203.0.113.{i}"), 1).await);
    }
    assert_eq!(statuses, [400, 400, 400, 429]);
}

#[tokio::test]
async fn behind_a_trusted_proxy_each_forwarded_client_has_its_own_ip_budget() {
    let app = spawn_app_with(&[
        ("GATEHOUSE_RATE_LIMIT_IP_PER_MINUTE", "3"),
        ("GATEHOUSE_TRUSTED_PROXIES", "127.0.0.1, ::1"),
    ])
    .await;
    let tenant = app.create_tenant("acme").await;
    let url = app.tenant_url(&tenant, "/authorize");
    // The proxy appends the address it saw; what the client wrote before it does not count.
    assert_eq!(
        authorize_as(&app, &url, "198.51.100.1, 203.0.113.1", 4).await,
        [400, 400, 400, 429]
    );
    assert_eq!(
        authorize_as(&app, &url, "198.51.100.1, 203.0.113.2", 3).await,
        [400, 400, 400]
    );
}
