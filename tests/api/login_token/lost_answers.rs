//! SECURITY.md, "Lost answers": a code redemption or a refresh rotation whose answer was lost
//! (a failover cut the connection after the commit) is answered again when the same request is
//! repeated within the grace, with the same refresh token; a copy presented after the grace,
//! after the application used what it was given, or without what the first request proved, is
//! still a replay that revokes.

use serde_json::Value;

use super::*;
use crate::helpers::*;
use crate::login::*;

async fn granted(res: reqwest::Response) -> Value {
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

fn refresh_of(answer: &Value) -> String {
    answer["refresh_token"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_redemption_repeated_within_the_grace_gets_the_same_grant_again() {
    let s = login_setup().await;
    let code = fresh_code(&s).await;
    let first = granted(redeem(&s, &web_form(&s, &code)).await).await;
    let again = granted(redeem(&s, &web_form(&s, &code)).await).await;
    assert_eq!(
        refresh_of(&again),
        refresh_of(&first),
        "the same refresh token"
    );
    assert_eq!(again["scope"], first["scope"]);
    // The repeated answer's tokens are real: the ID token verifies and names the same user,
    // the access token opens /userinfo, and the refresh token rotates.
    let key = s
        .app
        .signing_key_of(&s.tenant, again["id_token"].as_str().unwrap())
        .await;
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    validation.set_audience(&[&s.web.client_id]);
    let claims: Value =
        jsonwebtoken::decode(again["id_token"].as_str().unwrap(), &key, &validation)
            .unwrap()
            .claims;
    let first_claims: Value =
        jsonwebtoken::decode(first["id_token"].as_str().unwrap(), &key, &validation)
            .unwrap()
            .claims;
    assert_eq!(claims["sub"], first_claims["sub"]);
    let userinfo = s
        .app
        .http
        .get(s.app.tenant_url(&s.tenant, "/userinfo"))
        .bearer_auth(again["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(userinfo.status(), 200);
    granted(redeem(&s, &refresh_form(&s, &refresh_of(&again))).await).await;
    // One redemption was stored; the user was not counted twice.
    let (redeemed, logins): (i64, i32) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM refresh_tokens WHERE tenant_id = $1 AND rotated_at IS NOT NULL),
                (SELECT logins_count FROM users WHERE tenant_id = $1)",
    )
    .bind(s.tenant.tenant_id)
    .fetch_one(&s.app.pool)
    .await
    .unwrap();
    assert_eq!((redeemed, logins), (1, 1));
    // The log says the code was answered again (that event is written after the answer).
    let mut outcomes: Vec<String> = Vec::new();
    for _ in 0..100 {
        outcomes = sqlx::query_scalar(
            "SELECT details->>'outcome' FROM events
             WHERE tenant_id = $1 AND type = 'code_redeemed' ORDER BY at",
        )
        .bind(s.tenant.tenant_id)
        .fetch_all(&s.app.pool)
        .await
        .unwrap();
        if outcomes.len() >= 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(outcomes, ["ok", "repeated"]);
}

#[tokio::test]
async fn a_repeat_must_prove_what_the_first_redemption_proved() {
    let s = login_setup().await;
    let pkce = [
        ("code_challenge", CHALLENGE),
        ("code_challenge_method", "S256"),
    ];
    let res = login(&s, &s.spa, &pkce).await;
    let code = location_params(&res).1["code"].clone();
    let form = |verifier: &'static str, redirect: &str| {
        vec![
            ("grant_type".to_owned(), "authorization_code".to_owned()),
            ("code".to_owned(), code.clone()),
            ("redirect_uri".to_owned(), redirect.to_owned()),
            ("client_id".to_owned(), s.spa.client_id.clone()),
            ("code_verifier".to_owned(), verifier.to_owned()),
        ]
    };
    let send = |form: Vec<(String, String)>| {
        let http = s.app.http.clone();
        let url = s.app.tenant_url(&s.tenant, "/oauth/token");
        async move { http.post(url).form(&form).send().await.unwrap() }
    };
    granted(send(form(VERIFIER, &s.spa.callback)).await).await;
    // Someone with the code but not the verifier, or sending it elsewhere, is not repeating.
    assert_eq!(
        error_of(
            send(form(
                "wrong-verifier-wrong-verifier-wrong-verifier-x",
                &s.spa.callback
            ))
            .await
        )
        .await,
        (400, "invalid_grant".into())
    );
    assert_eq!(
        error_of(send(form(VERIFIER, "https://elsewhere.example/cb")).await).await,
        (400, "invalid_grant".into())
    );
    // Nor is another application with its own credentials.
    let other = s.app.create_client(&s.tenant, "regular_web").await;
    let code2 = fresh_code(&s).await;
    granted(redeem(&s, &web_form(&s, &code2)).await).await;
    let by_other = [
        ("grant_type", "authorization_code"),
        ("code", code2.as_str()),
        ("redirect_uri", s.web.callback.as_str()),
        ("client_id", other.client_id.as_str()),
        ("client_secret", other.client_secret.as_deref().unwrap()),
    ];
    assert_eq!(
        error_of(redeem(&s, &by_other).await).await,
        (400, "invalid_grant".into())
    );
}

#[tokio::test]
async fn a_redemption_repeated_after_the_grace_is_a_replay_and_revokes() {
    let s = login_setup().await;
    let code = fresh_code(&s).await;
    let first = granted(redeem(&s, &web_form(&s, &code)).await).await;
    sqlx::query("UPDATE authorization_codes SET used_at = used_at - interval '1 minute'")
        .execute(&s.app.pool)
        .await
        .unwrap();
    assert_eq!(
        error_of(redeem(&s, &web_form(&s, &code)).await).await,
        (400, "invalid_grant".into())
    );
    assert_eq!(
        error_of(redeem(&s, &refresh_form(&s, &refresh_of(&first))).await).await,
        (400, "invalid_grant".into()),
        "the replay revoked what the code issued"
    );
}

#[tokio::test]
async fn a_rotation_repeated_within_the_grace_gets_the_same_successor() {
    let s = login_setup().await;
    let code = fresh_code(&s).await;
    let r1 = refresh_of(&granted(redeem(&s, &web_form(&s, &code)).await).await);
    let r2 = refresh_of(&granted(redeem(&s, &refresh_form(&s, &r1)).await).await);
    let again = granted(redeem(&s, &refresh_form(&s, &r1)).await).await;
    assert_eq!(refresh_of(&again), r2, "the repeat gets the same successor");
    assert!(again["id_token"].is_string() && again["access_token"].is_string());
    // The successor works; once it has been used, r1 again is reuse and revokes the family.
    let r3 = refresh_of(&granted(redeem(&s, &refresh_form(&s, &r2)).await).await);
    assert_eq!(
        error_of(redeem(&s, &refresh_form(&s, &r1)).await).await,
        (400, "invalid_grant".into())
    );
    assert_eq!(
        error_of(redeem(&s, &refresh_form(&s, &r3)).await).await,
        (400, "invalid_grant".into()),
        "the family is revoked"
    );
    let live: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM refresh_tokens WHERE tenant_id = $1 AND revoked_at IS NULL",
    )
    .bind(s.tenant.tenant_id)
    .fetch_one(&s.app.pool)
    .await
    .unwrap();
    assert_eq!(live, 0);
}

#[tokio::test]
async fn a_rotation_repeated_after_the_grace_or_by_another_client_is_reuse() {
    let s = login_setup().await;
    let code = fresh_code(&s).await;
    let r1 = refresh_of(&granted(redeem(&s, &web_form(&s, &code)).await).await);
    let r2 = refresh_of(&granted(redeem(&s, &refresh_form(&s, &r1)).await).await);
    let other = s.app.create_client(&s.tenant, "regular_web").await;
    let by_other = [
        ("grant_type", "refresh_token"),
        ("refresh_token", r1.as_str()),
        ("client_id", other.client_id.as_str()),
        ("client_secret", other.client_secret.as_deref().unwrap()),
    ];
    assert_eq!(
        error_of(redeem(&s, &by_other).await).await,
        (400, "invalid_grant".into())
    );
    let code = fresh_code(&s).await;
    let q1 = refresh_of(&granted(redeem(&s, &web_form(&s, &code)).await).await);
    let q2 = refresh_of(&granted(redeem(&s, &refresh_form(&s, &q1)).await).await);
    sqlx::query("UPDATE refresh_tokens SET rotated_at = rotated_at - interval '1 minute'")
        .execute(&s.app.pool)
        .await
        .unwrap();
    assert_eq!(
        error_of(redeem(&s, &refresh_form(&s, &q1)).await).await,
        (400, "invalid_grant".into())
    );
    for token in [&r2, &q2] {
        assert_eq!(
            error_of(redeem(&s, &refresh_form(&s, token)).await).await,
            (400, "invalid_grant".into()),
            "both families are revoked"
        );
    }
}
