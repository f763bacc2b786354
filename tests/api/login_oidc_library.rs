//! A standard OpenID Connect client library against a tenant: `tests/sdk/oidc_client_compat.py`
//! drives Authlib, unmodified and configured from discovery alone, through a whole login
//! (PKCE, nonce, JWKS, userinfo, refresh, revocation, RP-initiated logout).

use crate::helpers::*;

/// True when `python3` can import Authlib.
fn authlib_installed() -> bool {
    std::process::Command::new("python3")
        .args(["-c", "import authlib"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

#[tokio::test]
async fn authlib_logs_in_refreshes_revokes_and_logs_out_from_discovery_alone() {
    authlib_session("RS256").await;
}

/// The same for an application set to ES256 (and one to PS256): Authlib verifies its ID
/// tokens with the JWKS's key of that algorithm, and the ES256 ID token is the logout hint.
#[tokio::test]
async fn authlib_works_unmodified_with_es256_and_ps256_applications() {
    authlib_session("ES256").await;
    authlib_session("PS256").await;
}

async fn authlib_session(alg: &str) {
    assert!(
        authlib_installed(),
        "Authlib is not importable by python3: pip install -r tests/sdk/requirements.txt"
    );
    let app = spawn_app().await;
    let tenant = app.create_tenant("acme").await;
    let web = app.create_client(&tenant, "regular_web").await;
    if alg != "RS256" {
        app.execute_config_sql(&format!(
            "UPDATE clients SET signing_alg = '{alg}' WHERE client_id = '{}'",
            web.client_id
        ))
        .await;
    }
    let fake = start_fake_exact().await;
    app.create_exact_connection(&tenant, "exact", &fake, &[&web])
        .await;

    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/sdk/oidc_client_compat.py"
    );
    let output = tokio::process::Command::new("python3")
        .arg(script)
        .env("GATEHOUSE_ISSUER", &tenant.issuer)
        .env("GATEHOUSE_CLIENT_ID", &web.client_id)
        .env(
            "GATEHOUSE_CLIENT_SECRET",
            web.client_secret.as_deref().unwrap(),
        )
        .env("GATEHOUSE_REDIRECT_URI", &web.callback)
        .env("GATEHOUSE_LOGOUT_URL", "https://app.example.com/logged-out")
        .env("GATEHOUSE_EXPECTED_ALG", alg)
        .output()
        .await
        .expect("run python3");
    assert!(
        output.status.success(),
        "the Authlib script failed:\n--- stdout\n{}\n--- stderr\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    fake.stop().await;
}
