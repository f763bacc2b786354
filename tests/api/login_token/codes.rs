//! Authorization codes at `/oauth/token`: single use (a replay revokes what the code issued,
//! parallel redemptions make one grant), expiring, bound to their client, redirect URI and PKCE
//! challenge, and refused for a user deleted since; a node that cannot sign spends none.

use gatehouse::crypto::seal::MasterKey;
use serde_json::Value;

use super::*;
use crate::helpers::*;
use crate::login::*;

#[tokio::test]
async fn a_code_is_single_use_and_its_replay_revokes_what_it_issued() {
    let s = login_setup().await;
    let code = fresh_code(&s).await;
    let first: Value = redeem(&s, &web_form(&s, &code)).await.json().await.unwrap();
    let refresh = first["refresh_token"].as_str().unwrap().to_owned();
    // The application had its answer: it used the refresh token. The code presented again
    // (even with the client's credentials) is a replay, not a repeat of a lost answer.
    let rotated: Value = redeem(&s, &refresh_form(&s, &refresh))
        .await
        .json()
        .await
        .unwrap();
    let successor = rotated["refresh_token"].as_str().unwrap().to_owned();
    assert_eq!(
        error_of(redeem(&s, &web_form(&s, &code)).await).await,
        (400, "invalid_grant".into())
    );
    assert_eq!(
        error_of(redeem(&s, &refresh_form(&s, &successor)).await).await,
        (400, "invalid_grant".into()),
        "what the first redemption issued is revoked"
    );
}

#[tokio::test]
async fn of_parallel_redemptions_of_one_code_one_spends_it_and_all_get_its_grant() {
    let s = login_setup().await;
    let code = fresh_code(&s).await;
    let url = s.app.tenant_url(&s.tenant, "/oauth/token");
    let form: Vec<(String, String)> = web_form(&s, &code)
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    let attempts = (0..8).map(|_| {
        let http = s.app.http.clone();
        let url = url.clone();
        let form = form.clone();
        tokio::spawn(async move {
            http.post(url)
                .form(&form)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        })
    });
    let statuses: Vec<u16> = futures_util::future::join_all(attempts)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    // One redemption spends the code; the others are its repeats (same client, same
    // credentials, within the grace) and get the same grant: one refresh token in all.
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    let stored: i64 =
        sqlx::query_scalar("SELECT count(*) FROM refresh_tokens WHERE tenant_id = $1")
            .bind(s.tenant.tenant_id)
            .fetch_one(&s.app.pool)
            .await
            .unwrap();
    assert_eq!(stored, 1, "one redemption issued one refresh token");
}

#[tokio::test]
async fn an_expired_code_is_refused() {
    let s = login_setup().await;
    let code = fresh_code(&s).await;
    sqlx::query("UPDATE authorization_codes SET expires_at = now() - interval '1 second'")
        .execute(&s.app.pool)
        .await
        .unwrap();
    assert_eq!(
        error_of(redeem(&s, &web_form(&s, &code)).await).await,
        (400, "invalid_grant".into())
    );
}

#[tokio::test]
async fn a_code_is_bound_to_its_client_and_redirect_uri() {
    let s = login_setup().await;
    let other = s.app.create_client(&s.tenant, "regular_web").await;
    let code = fresh_code(&s).await;
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", &s.web.callback),
        ("client_id", &other.client_id),
        ("client_secret", other.client_secret.as_deref().unwrap()),
    ];
    assert_eq!(
        error_of(redeem(&s, &form).await).await,
        (400, "invalid_grant".into())
    );

    let code = fresh_code(&s).await;
    let mut form = web_form(&s, &code);
    form[2] = ("redirect_uri", "https://app.example.com/elsewhere");
    assert_eq!(
        error_of(redeem(&s, &form).await).await,
        (400, "invalid_grant".into())
    );
}

#[tokio::test]
async fn a_code_is_bound_to_its_pkce_challenge() {
    let s = login_setup().await;
    let pkce = [
        ("code_challenge", CHALLENGE),
        ("code_challenge_method", "S256"),
    ];
    for (verifier, why) in [
        (None, "missing verifier"),
        (
            Some("wrong-verifier-wrong-verifier-wrong-verifier-x"),
            "wrong verifier",
        ),
    ] {
        let res = login(&s, &s.spa, &pkce).await;
        let code = location_params(&res).1["code"].clone();
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", s.spa.callback.as_str()),
            ("client_id", s.spa.client_id.as_str()),
        ];
        if let Some(v) = verifier {
            form.push(("code_verifier", v));
        }
        assert_eq!(
            error_of(redeem(&s, &form).await).await,
            (400, "invalid_grant".into()),
            "{why}"
        );
    }
    // A verifier for a code that had no challenge.
    let code = fresh_code(&s).await;
    let mut form = web_form(&s, &code);
    form.push(("code_verifier", VERIFIER));
    assert_eq!(
        error_of(redeem(&s, &form).await).await,
        (400, "invalid_grant".into())
    );
}

#[tokio::test]
async fn a_node_that_cannot_sign_spends_neither_the_code_nor_the_refresh_token() {
    let s = login_setup().await;
    // A second node started with the wrong master key cannot open the tenant's signing key:
    // everything up to the signature works there, the signature does not.
    let misconfigured = spawn_app_on(s.app.database_url.clone(), MasterKey::generate_text()).await;
    let tenant_there = misconfigured.tenant_on_this_node(&s.tenant);
    let token_there = |form: Vec<(&str, &str)>| {
        let http = misconfigured.http.clone();
        let url = misconfigured.tenant_url(&tenant_there, "/oauth/token");
        let form: Vec<(String, String)> = form
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        async move { http.post(url).form(&form).send().await.unwrap() }
    };

    let code = fresh_code(&s).await;
    let (status, error) = error_of(token_there(web_form(&s, &code)).await).await;
    assert!(status >= 500 && error == "server_error", "{status} {error}");
    let tokens: Value = redeem(&s, &web_form(&s, &code)).await.json().await.unwrap();
    let refresh = tokens["refresh_token"]
        .as_str()
        .expect("the code was still unspent")
        .to_owned();

    let refresh_form = vec![
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh.as_str()),
        ("client_id", s.web.client_id.as_str()),
        ("client_secret", s.web.client_secret.as_deref().unwrap()),
    ];
    let (status, error) = error_of(token_there(refresh_form.clone()).await).await;
    assert!(status >= 500 && error == "server_error", "{status} {error}");
    let rotated: Value = redeem(&s, &refresh_form).await.json().await.unwrap();
    assert!(
        rotated["refresh_token"].is_string(),
        "the refresh token was not rotated (nor its family revoked as reused): {rotated}"
    );
}

#[tokio::test]
async fn a_code_of_a_user_deleted_since_is_refused_and_spent() {
    let s = login_setup().await;
    let code = fresh_code(&s).await;
    sqlx::query("DELETE FROM users WHERE tenant_id = $1")
        .bind(s.tenant.tenant_id)
        .execute(&s.app.pool)
        .await
        .unwrap();
    let res = redeem(&s, &web_form(&s, &code)).await;
    assert_eq!(res.status(), 400);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"], "invalid_grant");
    assert_eq!(body["error_description"], "the user no longer exists");
    let spent: bool = sqlx::query_scalar(
        "SELECT used_at IS NOT NULL FROM authorization_codes WHERE tenant_id = $1",
    )
    .bind(s.tenant.tenant_id)
    .fetch_one(&s.app.pool)
    .await
    .unwrap();
    assert!(spent);
}
