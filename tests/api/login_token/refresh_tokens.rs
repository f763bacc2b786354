//! Refresh tokens: they rotate and reuse revokes the family, a refused redemption leaves none
//! usable, and each is bound to its client.

use serde_json::Value;

use super::*;
use crate::login::*;

#[tokio::test]
async fn refresh_tokens_rotate_and_reuse_revokes_the_family() {
    let s = login_setup().await;
    let code = fresh_code(&s).await;
    let first: Value = redeem(&s, &web_form(&s, &code)).await.json().await.unwrap();
    let r1 = first["refresh_token"].as_str().unwrap().to_owned();
    let refresh = |token: String| {
        let form: Vec<(String, String)> = vec![
            ("grant_type".into(), "refresh_token".into()),
            ("refresh_token".into(), token),
            ("client_id".into(), s.web.client_id.clone()),
            ("client_secret".into(), s.web.client_secret.clone().unwrap()),
        ];
        let http = s.app.http.clone();
        let url = s.app.tenant_url(&s.tenant, "/oauth/token");
        async move { http.post(url).form(&form).send().await.unwrap() }
    };
    let second: Value = refresh(r1.clone()).await.json().await.unwrap();
    let r2 = second["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(r1, r2);
    // The application got r2 and used it: r1 presented again is reuse, not a repeat.
    let third: Value = refresh(r2.clone()).await.json().await.unwrap();
    let r3 = third["refresh_token"].as_str().unwrap().to_owned();
    assert_eq!(
        error_of(refresh(r1).await).await,
        (400, "invalid_grant".into()),
        "reuse of a rotated token"
    );
    assert_eq!(
        error_of(refresh(r3).await).await,
        (400, "invalid_grant".into()),
        "the whole family is revoked"
    );
    // The log tells the story: one exchange, then the reuse (family revoked), then the revoked one.
    let events: Vec<(String, Value)> = sqlx::query_as(
        "SELECT type, details FROM events WHERE tenant_id = $1 AND type LIKE 'refresh_token_%'
         ORDER BY at",
    )
    .bind(s.tenant.tenant_id)
    .fetch_all(&s.app.pool)
    .await
    .unwrap();
    let story: Vec<(&str, &str)> = events
        .iter()
        .map(|(t, d)| (t.as_str(), d["reason"].as_str().unwrap_or("")))
        .collect();
    assert_eq!(
        story,
        [
            ("refresh_token_exchanged", ""),
            ("refresh_token_exchanged", ""),
            ("refresh_token_refused", "reuse"),
            ("refresh_token_refused", "revoked"),
        ]
    );
    assert_eq!(
        events[2].1["revoked_refresh_tokens"], 3,
        "the reused token, its rotated successor and the live one"
    );
}

#[tokio::test]
async fn a_refused_redemption_leaves_no_usable_refresh_token() {
    let s = login_setup().await;
    let live_refresh_tokens = || async {
        sqlx::query_scalar::<_, i64>(
            "SELECT count(*) FROM refresh_tokens WHERE tenant_id = $1 AND revoked_at IS NULL",
        )
        .bind(s.tenant.tenant_id)
        .fetch_one(&s.app.pool)
        .await
        .unwrap()
    };
    // The code's scope asks for offline_access, so its redemption stores a refresh token in
    // the same statement; the redirect URI is wrong, so none may stay usable.
    let code = fresh_code(&s).await;
    let mut form = web_form(&s, &code);
    form[2] = ("redirect_uri", "https://app.example.com/elsewhere");
    assert_eq!(
        error_of(redeem(&s, &form).await).await,
        (400, "invalid_grant".into())
    );
    assert_eq!(live_refresh_tokens().await, 0);
    let code = fresh_code(&s).await;
    let ok: Value = redeem(&s, &web_form(&s, &code)).await.json().await.unwrap();
    assert!(ok["refresh_token"].is_string());
    assert_eq!(live_refresh_tokens().await, 1);
}

#[tokio::test]
async fn a_refresh_token_is_bound_to_its_client() {
    let s = login_setup().await;
    let other = s.app.create_client(&s.tenant, "regular_web").await;
    let code = fresh_code(&s).await;
    let tokens: Value = redeem(&s, &web_form(&s, &code)).await.json().await.unwrap();
    let form = [
        ("grant_type", "refresh_token"),
        ("refresh_token", tokens["refresh_token"].as_str().unwrap()),
        ("client_id", &other.client_id),
        ("client_secret", other.client_secret.as_deref().unwrap()),
    ];
    assert_eq!(
        error_of(redeem(&s, &form).await).await,
        (400, "invalid_grant".into())
    );
    let reason: Value = sqlx::query_scalar(
        "SELECT details->'reason' FROM events WHERE tenant_id = $1 AND type = 'refresh_token_refused'",
    )
    .bind(s.tenant.tenant_id)
    .fetch_one(&s.app.pool)
    .await
    .unwrap();
    assert_eq!(reason, "other_client");
}
