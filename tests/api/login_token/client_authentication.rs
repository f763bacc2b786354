//! Client authentication at `/oauth/token`: failures are `invalid_client`, two methods at once
//! are refused, `client_secret_basic` and JSON bodies are accepted, and the password and implicit
//! grants are not offered.

use serde_json::Value;

use super::*;
use crate::login::*;

#[tokio::test]
async fn client_authentication_failures_are_invalid_client_and_two_methods_are_refused() {
    let s = login_setup().await;
    let code = fresh_code(&s).await;
    let mut form = web_form(&s, &code);
    form[4] = ("client_secret", "wrong");
    assert_eq!(
        error_of(redeem(&s, &form).await).await,
        (401, "invalid_client".into())
    );

    let res = s
        .app
        .http
        .post(s.app.tenant_url(&s.tenant, "/oauth/token"))
        .basic_auth(&s.web.client_id, Some("wrong"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", s.web.callback.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["www-authenticate"], "Basic realm=\"oauth\"");
    assert_eq!(error_of(res).await, (401, "invalid_client".into()));

    let res = s
        .app
        .http
        .post(s.app.tenant_url(&s.tenant, "/oauth/token"))
        .basic_auth(&s.web.client_id, s.web.client_secret.as_deref())
        .form(&web_form(&s, &code))
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(res).await, (400, "invalid_request".into()));

    // A confidential client that sends no secret is not a public client.
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("client_id", s.web.client_id.as_str()),
    ];
    assert_eq!(
        error_of(redeem(&s, &form).await).await,
        (401, "invalid_client".into())
    );

    // The three failed authentications are in the log as failed code exchanges (Auth0's
    // `feacft`), written just after their answers; the request with two methods is not one.
    let mut logged = Vec::new();
    for _ in 0..100 {
        logged = sqlx::query_as::<_, (Option<String>, Value)>(
            "SELECT client_id, details FROM events
             WHERE tenant_id = $1 AND type = 'code_redemption_failed'",
        )
        .bind(s.tenant.tenant_id)
        .fetch_all(&s.app.pool)
        .await
        .unwrap();
        if logged.len() >= 3 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(logged.len(), 3, "{logged:?}");
    for (client_id, details) in &logged {
        assert_eq!(client_id.as_deref(), Some(s.web.client_id.as_str()));
        assert_eq!(details["reason"], "invalid_client");
    }
}

#[tokio::test]
async fn client_secret_basic_and_json_bodies_are_accepted() {
    let s = login_setup().await;
    let code = fresh_code(&s).await;
    let res = s
        .app
        .http
        .post(s.app.tenant_url(&s.tenant, "/oauth/token"))
        .basic_auth(&s.web.client_id, s.web.client_secret.as_deref())
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", s.web.callback.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let code = fresh_code(&s).await;
    let body: serde_json::Map<String, Value> = web_form(&s, &code)
        .into_iter()
        .map(|(k, v)| (k.to_owned(), Value::String(v.to_owned())))
        .collect();
    let res = s
        .app
        .http
        .post(s.app.tenant_url(&s.tenant, "/oauth/token"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
}

#[tokio::test]
async fn password_and_implicit_grants_are_not_offered() {
    let s = login_setup().await;
    for grant in [
        "password",
        "implicit",
        "urn:ietf:params:oauth:grant-type:device_code",
    ] {
        let form = [
            ("grant_type", grant),
            ("username", "u"),
            ("password", "p"),
            ("client_id", &s.web.client_id),
            ("client_secret", s.web.client_secret.as_deref().unwrap()),
        ];
        assert_eq!(
            error_of(redeem(&s, &form).await).await,
            (400, "unsupported_grant_type".into()),
            "{grant}"
        );
    }
    let discovery = s.app.discovery(&s.tenant).await;
    assert!(!discovery["grant_types_supported"]
        .as_array()
        .unwrap()
        .iter()
        .any(|g| g == "password" || g == "implicit"));
}
