//! Compatibility with the official Auth0 Python SDK: `tests/sdk/auth0_python_compat.py` drives
//! the management API of a live test server through `auth0-python`, unmodified.

use std::process::Stdio;

use gatehouse::services::{self, Actor};

use crate::helpers::*;

/// True when `python3` can import the SDK.
fn sdk_installed() -> bool {
    std::process::Command::new("python3")
        .args(["-c", "import auth0.management, auth0.authentication"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

#[tokio::test]
async fn the_official_auth0_python_sdk_manages_an_exact_connection_end_to_end() {
    sdk_manages_a_tenant(None).await;
}

/// The same with the SDK's machine client set to ES256: its management API tokens are ES256.
#[tokio::test]
async fn the_official_auth0_python_sdk_works_with_an_es256_application() {
    sdk_manages_a_tenant(Some("ES256")).await;
}

async fn sdk_manages_a_tenant(alg: Option<&str>) {
    assert!(
        sdk_installed(),
        "auth0-python is not importable by python3: pip install -r tests/sdk/requirements.txt"
    );
    let app = spawn_app().await;
    let tenant = app.create_tenant("acme").await;
    let input = services::clients::ClientInput {
        name: Some("sdk automation".into()),
        app_type: Some("non_interactive".into()),
        signing_alg: alg.map(|a| Some(a.to_owned())),
        ..Default::default()
    };
    let (client, secret) =
        services::clients::create(&app.pool, tenant.tenant_id, &input, &Actor::named("test"))
            .await
            .unwrap();
    let scopes: Vec<String> = services::clients::MANAGEMENT_SCOPES
        .iter()
        .map(|s| s.to_string())
        .collect();
    let audience = format!("{}api/v2/", tenant.issuer);
    services::client_grants::create_grant(
        &app.pool,
        tenant.tenant_id,
        &client.client_id,
        &audience,
        &scopes,
        &Actor::named("test"),
    )
    .await
    .unwrap();

    // Someone who logged in through Exact earlier, for the users part of the script.
    sqlx::query(
        "INSERT INTO users (tenant_id, user_id, email, name, logins_count, last_login)
         VALUES ($1, 'exact|sdk-user', 'Sdk.User@example.nl', 'Sdk User', 1, now())",
    )
    .bind(tenant.tenant_id)
    .execute(&app.pool)
    .await
    .unwrap();

    // A web application holding that user's refresh token, for the sign-out part.
    let web_input = services::clients::ClientInput {
        name: Some("sdk web app".into()),
        app_type: Some("regular_web".into()),
        callbacks: Some(vec!["https://app.example.com/callback".into()]),
        ..Default::default()
    };
    let (web, web_secret) = services::clients::create(
        &app.pool,
        tenant.tenant_id,
        &web_input,
        &Actor::named("test"),
    )
    .await
    .unwrap();
    let refresh_token = "sdk-refresh-token-0123456789abcdef";
    sqlx::query(
        "INSERT INTO refresh_tokens (tenant_id, token_hash, family_id, client_id, user_id, scope, auth_time, expires_at)
         VALUES ($1, $2, gen_random_uuid(), $3, 'exact|sdk-user', 'openid profile offline_access', now(),
                 now() + interval '1 day')",
    )
    .bind(tenant.tenant_id)
    .bind(gatehouse::crypto::random::token_hash(refresh_token))
    .bind(&web.client_id)
    .execute(&app.pool)
    .await
    .unwrap();

    if let Some(alg) = alg {
        let token: serde_json::Value = app
            .http
            .post(app.tenant_url(&tenant, "/oauth/token"))
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", client.client_id.as_str()),
                ("client_secret", secret.as_deref().unwrap()),
                ("audience", audience.as_str()),
            ])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let header = jsonwebtoken::decode_header(token["access_token"].as_str().unwrap()).unwrap();
        assert_eq!(
            format!("{:?}", header.alg),
            alg,
            "the SDK's tokens are {alg}"
        );
    }

    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/sdk/auth0_python_compat.py"
    );
    let output = tokio::process::Command::new("python3")
        .arg(script)
        .env("GATEHOUSE_DOMAIN", &tenant.host)
        .env("GATEHOUSE_PROTOCOL", "http")
        .env("GATEHOUSE_CLIENT_ID", &client.client_id)
        .env("GATEHOUSE_CLIENT_SECRET", secret.unwrap())
        .env("GATEHOUSE_USER_ID", "exact|sdk-user")
        .env("GATEHOUSE_WEB_CLIENT_ID", &web.client_id)
        .env("GATEHOUSE_WEB_CLIENT_SECRET", web_secret.unwrap())
        .env("GATEHOUSE_REFRESH_TOKEN", refresh_token)
        .output()
        .await
        .expect("run python3");
    assert!(
        output.status.success(),
        "the SDK script failed:\n--- stdout\n{}\n--- stderr\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}
