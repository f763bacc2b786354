//! Tenants apart at login: same-named connections use their own Exact and credentials, and
//! deleting a tenant removes its logins, codes, tokens and events.

use serde_json::Value;

use super::*;
use crate::helpers::*;
use crate::login::*;

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
