//! SECURITY.md, /oauth/token: single-use codes bound to client, redirect URI and PKCE; client
//! authentication; rotating refresh tokens whose reuse revokes the family.

use gatehouse::crypto::seal::MasterKey;
use serde_json::Value;

use crate::helpers::*;
use crate::login::*;

async fn fresh_code(s: &LoginSetup) -> String {
    let res = login(s, &s.web, &[]).await;
    location_params(&res).1["code"].clone()
}

fn web_form<'a>(s: &'a LoginSetup, code: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", &s.web.callback),
        ("client_id", &s.web.client_id),
        ("client_secret", s.web.client_secret.as_deref().unwrap()),
    ]
}

async fn error_of(res: reqwest::Response) -> (u16, String) {
    let status = res.status().as_u16();
    assert_eq!(
        res.headers()["cache-control"],
        "no-store",
        "every token answer is no-store"
    );
    let body: Value = res.json().await.unwrap();
    (
        status,
        body["error"].as_str().unwrap_or_default().to_owned(),
    )
}

#[tokio::test]
async fn a_code_is_single_use_and_its_replay_revokes_what_it_issued() {
    let s = login_setup().await;
    let code = fresh_code(&s).await;
    let first: Value = redeem(&s, &web_form(&s, &code)).await.json().await.unwrap();
    let refresh = first["refresh_token"].as_str().unwrap().to_owned();
    assert_eq!(
        error_of(redeem(&s, &web_form(&s, &code)).await).await,
        (400, "invalid_grant".into())
    );
    let form = [
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh.as_str()),
        ("client_id", &s.web.client_id),
        ("client_secret", s.web.client_secret.as_deref().unwrap()),
    ];
    assert_eq!(
        error_of(redeem(&s, &form).await).await,
        (400, "invalid_grant".into()),
        "the refresh token from the first redemption is revoked"
    );
}

#[tokio::test]
async fn of_parallel_redemptions_of_one_code_exactly_one_wins() {
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
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 400).count(),
        7,
        "{statuses:?}"
    );
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
    assert_eq!(
        error_of(refresh(r1).await).await,
        (400, "invalid_grant".into()),
        "reuse of a rotated token"
    );
    assert_eq!(
        error_of(refresh(r2).await).await,
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
            ("refresh_token_refused", "reuse"),
            ("refresh_token_refused", "revoked"),
        ]
    );
    assert_eq!(
        events[1].1["revoked_refresh_tokens"], 2,
        "the reused token and its live successor"
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

#[tokio::test]
async fn two_tenants_with_same_named_connections_use_their_own_exact_and_credentials() {
    let app = spawn_app().await;
    let (a, b) = (
        app.create_tenant("tenant-a").await,
        app.create_tenant("tenant-b").await,
    );
    let (client_a, client_b) = (
        app.create_client(&a, "regular_web").await,
        app.create_client(&b, "regular_web").await,
    );
    let (fake_a, fake_b) = (start_fake_exact().await, start_fake_exact().await);
    app.create_exact_connection(&a, "exact", &fake_a, &[&client_a])
        .await;
    app.create_exact_connection(&b, "exact", &fake_b, &[&client_b])
        .await;
    let sa = LoginSetup {
        app,
        tenant: a,
        web: client_a,
        spa: client_b,
        fake: fake_a,
    };
    let res = login(&sa, &sa.web, &[]).await;
    let code_a = location_params(&res).1["code"].clone();
    let exact_client_a = sa.fake.token_requests()[0].form["client_id"].clone();
    assert!(
        fake_b.token_requests().is_empty(),
        "tenant A's login never reached tenant B's Exact"
    );

    // Tenant B's login goes to B's Exact with B's credentials.
    let LoginSetup {
        app,
        tenant: a,
        web: client_a,
        spa: client_b,
        fake: fake_a,
    } = sa;
    let sb = LoginSetup {
        app,
        tenant: b,
        web: client_b,
        spa: client_a,
        fake: fake_b,
    };
    let res = login(&sb, &sb.web, &[]).await;
    assert!(location_params(&res).1.contains_key("code"));
    assert_ne!(
        sb.fake.token_requests()[0].form["client_id"],
        exact_client_a
    );
    assert_eq!(fake_a.token_requests().len(), 1);

    // A's code and A's client are worthless at B.
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code_a.as_str()),
        ("redirect_uri", sb.spa.callback.as_str()),
        ("client_id", sb.spa.client_id.as_str()),
        ("client_secret", sb.spa.client_secret.as_deref().unwrap()),
    ];
    assert_eq!(
        error_of(redeem(&sb, &form).await).await,
        (401, "invalid_client".into())
    );
    // A's access token is worthless at B's /userinfo.
    let sa_url = sb.app.tenant_url(&a, "/oauth/token");
    let tokens: Value = sb
        .app
        .http
        .post(sa_url)
        .form(&form)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = tokens["access_token"].as_str().unwrap();
    let res = sb
        .app
        .http
        .get(sb.app.tenant_url(&sb.tenant, "/userinfo"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    let res = sb
        .app
        .http
        .get(sb.app.tenant_url(&a, "/userinfo"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
}

#[tokio::test]
async fn logout_returns_only_to_an_allowed_logout_url() {
    let s = login_setup().await;
    let url = s.app.tenant_url(&s.tenant, "/v2/logout");
    let ok = s
        .app
        .http
        .get(&url)
        .query(&[
            ("client_id", s.web.client_id.as_str()),
            ("returnTo", "https://app.example.com/logged-out"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 302);
    assert_eq!(
        ok.headers()["location"],
        "https://app.example.com/logged-out"
    );
    for return_to in [
        "https://evil.example.com/",
        "https://app.example.com/logged-out/",
    ] {
        let res = s
            .app
            .http
            .get(&url)
            .query(&[
                ("client_id", s.web.client_id.as_str()),
                ("returnTo", return_to),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 400, "{return_to}");
    }
    let plain = s.app.http.get(&url).send().await.unwrap();
    assert_eq!(plain.status(), 200);
}

#[tokio::test]
async fn oidc_rp_initiated_logout_returns_with_state_to_the_id_tokens_application() {
    let s = login_setup().await;
    let discovery = s.app.discovery(&s.tenant).await;
    let end_session = discovery["end_session_endpoint"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(end_session, format!("{}oidc/logout", s.tenant.issuer));
    let code = fresh_code(&s).await;
    let tokens: Value = redeem(&s, &web_form(&s, &code)).await.json().await.unwrap();
    let id_token = tokens["id_token"].as_str().unwrap().to_owned();
    let logout = |query: Vec<(&'static str, String)>| {
        let req = s.app.http.get(&end_session).query(&query);
        async move { req.send().await.unwrap() }
    };
    let back = "https://app.example.com/logged-out".to_owned();

    // What an OIDC library sends: the ID token as the hint, the return URL, a state.
    let res = logout(vec![
        ("id_token_hint", id_token.clone()),
        ("post_logout_redirect_uri", back.clone()),
        ("state", "bye 1".into()),
    ])
    .await;
    assert_eq!(res.status(), 302);
    assert_eq!(
        res.headers()["location"],
        "https://app.example.com/logged-out?state=bye+1"
    );
    assert!(res.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .contains("Max-Age=0"));

    // A hint this tenant did not issue, or of another application, names nobody.
    let mut forged = id_token.clone();
    forged.truncate(forged.len() - 4);
    forged.push_str("AAAA");
    let other_tenant = s.app.create_tenant("elsewhere").await;
    let other_client = s.app.create_client(&other_tenant, "regular_web").await;
    let access_token = s.app.management_token(&s.tenant, &["read:users"]).await;
    for (query, why) in [
        (
            vec![
                ("id_token_hint", forged),
                ("post_logout_redirect_uri", back.clone()),
            ],
            "a forged signature",
        ),
        (
            vec![
                ("id_token_hint", access_token),
                ("post_logout_redirect_uri", back.clone()),
            ],
            "an access token",
        ),
        (
            vec![
                ("id_token_hint", id_token.clone()),
                ("client_id", s.spa.client_id.clone()),
                ("post_logout_redirect_uri", back.clone()),
            ],
            "another application's client_id",
        ),
        (
            vec![
                ("id_token_hint", id_token.clone()),
                (
                    "post_logout_redirect_uri",
                    "https://evil.example.com/".into(),
                ),
            ],
            "a return URL not allowed",
        ),
        (
            vec![("post_logout_redirect_uri", back.clone())],
            "no application named",
        ),
        (
            vec![
                ("client_id", other_client.client_id.clone()),
                ("post_logout_redirect_uri", back.clone()),
            ],
            "another tenant's application",
        ),
        (
            vec![
                ("client_id", s.web.client_id.clone()),
                ("post_logout_redirect_uri", back.clone()),
                ("returnTo", "https://app.example.com/other".into()),
            ],
            "two different return URLs",
        ),
    ] {
        let res = logout(query).await;
        assert_eq!(res.status(), 400, "{why}");
        assert!(res.headers().get("location").is_none(), "{why}");
    }

    // Auth0's spelling works at the OIDC path too (and the OIDC one at /v2/logout).
    let res = logout(vec![
        ("client_id", s.web.client_id.clone()),
        ("returnTo", back.clone()),
    ])
    .await;
    assert_eq!(res.headers()["location"], back.as_str());
    let res = s
        .app
        .http
        .get(s.app.tenant_url(&s.tenant, "/v2/logout"))
        .query(&[
            ("id_token_hint", id_token.as_str()),
            ("post_logout_redirect_uri", &back),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["location"], back.as_str());
}

#[tokio::test]
async fn deleting_a_tenant_removes_its_logins_codes_tokens_and_events() {
    let s = login_setup().await;
    let code = fresh_code(&s).await;
    let ok: Value = redeem(&s, &web_form(&s, &code)).await.json().await.unwrap();
    assert!(ok["refresh_token"].is_string());
    login(&s, &s.web, &[]).await; // one more code, left unredeemed
    authorize(&s, &s.web, &[]).await; // a login left at the provider
    let rows = |table: &'static str| {
        let pool = s.app.pool.clone();
        let tenant_id = s.tenant.tenant_id;
        async move {
            sqlx::query_scalar::<_, i64>(&format!(
                "SELECT count(*) FROM {table} WHERE tenant_id = $1"
            ))
            .bind(tenant_id)
            .fetch_one(&pool)
            .await
            .unwrap()
        }
    };
    let tables = [
        "login_transactions",
        "authorization_codes",
        "refresh_tokens",
        "events",
        "users",
    ];
    for table in tables {
        assert!(rows(table).await > 0, "{table} has rows of the tenant");
    }
    sqlx::query("DELETE FROM tenants WHERE tenant_id = $1")
        .bind(s.tenant.tenant_id)
        .execute(&s.app.pool)
        .await
        .unwrap();
    for table in tables {
        assert_eq!(
            rows(table).await,
            0,
            "{table} keeps rows of a deleted tenant"
        );
    }
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
