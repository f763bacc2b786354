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
    assert!(
        authlib_installed(),
        "Authlib is not importable by python3: pip install -r tests/sdk/requirements.txt"
    );
    let app = spawn_app().await;
    let tenant = app.create_tenant("acme").await;
    let web = app.create_client(&tenant, "regular_web").await;
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
