//! Revoking a refresh token ends its grant, for its own application only.

use serde_json::Value;

use super::*;
use crate::helpers::*;
use crate::login::*;

/// A web login with `offline_access`: its refresh token.
async fn refresh_token_of_a_login(s: &LoginSetup) -> String {
    let res = login(s, &s.web, &[]).await;
    let code = location_params(&res).1["code"].clone();
    let tokens: Value = redeem(
        s,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", &s.web.callback),
            ("client_id", &s.web.client_id),
            ("client_secret", s.web.client_secret.as_deref().unwrap()),
        ],
    )
    .await
    .json()
    .await
    .unwrap();
    tokens["refresh_token"].as_str().unwrap().to_owned()
}

/// A PKCE login of the SPA with `offline_access`: its refresh token.
async fn spa_refresh_token(s: &LoginSetup) -> String {
    let code = spa_code_with(s, "openid profile offline_access").await;
    let tokens: Value = redeem_from(s, &code, None).await.json().await.unwrap();
    tokens["refresh_token"].as_str().unwrap().to_owned()
}

async fn revoke(s: &LoginSetup, client: &TestClient, token: &str) -> reqwest::Response {
    let mut form = vec![
        ("token", token),
        ("token_type_hint", "refresh_token"),
        ("client_id", client.client_id.as_str()),
    ];
    if let Some(secret) = client.client_secret.as_deref() {
        form.push(("client_secret", secret));
    }
    s.app
        .http
        .post(s.app.tenant_url(&s.tenant, "/oauth/revoke"))
        .form(&form)
        .send()
        .await
        .unwrap()
}

async fn refresh(s: &LoginSetup, token: &str) -> reqwest::Response {
    redeem(
        s,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", token),
            ("client_id", &s.web.client_id),
            ("client_secret", s.web.client_secret.as_deref().unwrap()),
        ],
    )
    .await
}

async fn error_of(res: reqwest::Response) -> (u16, String) {
    let status = res.status().as_u16();
    let body: Value = res.json().await.unwrap();
    (
        status,
        body["error"].as_str().unwrap_or_default().to_owned(),
    )
}

#[tokio::test]
async fn revoking_a_refresh_token_ends_its_grant_for_its_own_application_only() {
    let s = login_setup().await;
    let discovery = s.app.discovery(&s.tenant).await;
    assert_eq!(
        discovery["revocation_endpoint"],
        format!("{}oauth/revoke", s.tenant.issuer)
    );

    let first = refresh_token_of_a_login(&s).await;
    let rotated: Value = refresh(&s, &first).await.json().await.unwrap();
    let live = rotated["refresh_token"].as_str().unwrap().to_owned();

    // Another application of the tenant may not end this grant.
    let other = s.app.create_client(&s.tenant, "regular_web").await;
    assert_eq!(
        error_of(revoke(&s, &other, &live).await).await,
        (400, "unauthorized_client".into())
    );
    // Bad client credentials, and a missing token, are refused as at /oauth/token.
    let mut impostor = s.web.clone();
    impostor.client_secret = Some("wrong".into());
    assert_eq!(
        error_of(revoke(&s, &impostor, &live).await).await,
        (401, "invalid_client".into())
    );
    assert_eq!(
        error_of(revoke(&s, &s.web, "").await).await,
        (400, "invalid_request".into())
    );

    // Revoking the first (already rotated) token of the family ends the live one too.
    let res = revoke(&s, &s.web, &first).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["cache-control"], "no-store");
    assert_eq!(
        error_of(refresh(&s, &live).await).await,
        (400, "invalid_grant".into())
    );
    // Revoking again, or a token nobody issued, is not an error (RFC 7009 §2.2).
    assert_eq!(revoke(&s, &s.web, &live).await.status(), 200);
    assert_eq!(revoke(&s, &s.web, "never-issued").await.status(), 200);

    // The grant is the user's in the application, as at Auth0: their other session there ends
    // too; their session in another application does not.
    let here = refresh_token_of_a_login(&s).await;
    let elsewhere = spa_refresh_token(&s).await;
    let also_here = refresh_token_of_a_login(&s).await;
    assert_eq!(revoke(&s, &s.web, &also_here).await.status(), 200);
    assert_eq!(
        error_of(refresh(&s, &here).await).await,
        (400, "invalid_grant".into())
    );
    let res = redeem(
        &s,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &elsewhere),
            ("client_id", &s.spa.client_id),
        ],
    )
    .await;
    assert_eq!(res.status(), 200, "the SPA's session is another grant");
    // A public application revokes with its client id alone.
    let elsewhere: Value = res.json().await.unwrap();
    let elsewhere = elsewhere["refresh_token"].as_str().unwrap();
    assert_eq!(revoke(&s, &s.spa, elsewhere).await.status(), 200);
    let res = redeem(
        &s,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", elsewhere),
            ("client_id", &s.spa.client_id),
        ],
    )
    .await;
    assert_eq!(error_of(res).await, (400, "invalid_grant".into()));

    // An event for each revocation that ended a live grant, saying how many tokens it ended.
    let events: Vec<(String, Value)> = sqlx::query_as(
        "SELECT client_id, details || jsonb_build_object('ip', ip) FROM events
         WHERE tenant_id = $1 AND type = 'refresh_token_revoked' ORDER BY at",
    )
    .bind(s.tenant.tenant_id)
    .fetch_all(&s.app.pool)
    .await
    .unwrap();
    assert!(
        events.iter().all(|(_, d)| d["ip"] == "127.0.0.1"),
        "{events:?}"
    );
    let counts: Vec<(&str, i64)> = events
        .iter()
        .map(|(client, details)| {
            (
                client.as_str(),
                details["revoked_refresh_tokens"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        counts,
        [
            (s.web.client_id.as_str(), 1),
            (s.web.client_id.as_str(), 2),
            (s.spa.client_id.as_str(), 1)
        ]
    );
}
