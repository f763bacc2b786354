//! The dashboard's first run: it creates the operator, then closes.

use super::*;
use crate::helpers::*;

#[tokio::test]
async fn dashboard_first_run_creates_an_operator_then_closes() {
    let app = spawn_app().await;
    let dash = Dash::new(&app);
    let res = dash.get("/tenants").await;
    assert_eq!(res.status(), 303);
    assert!(location(&res).starts_with("/signin"));
    let res = dash.get("/signin").await;
    assert_eq!(
        location(&res),
        "/setup",
        "no admin yet: sign-in sends to setup"
    );

    let csrf = dash.csrf("/setup").await;
    let res = dash
        .post(
            "/setup",
            &[
                ("csrf", &csrf),
                ("email", "Ops@Example.com"),
                ("password", "short"),
                ("confirm", "short"),
            ],
        )
        .await;
    assert_eq!(res.status(), 422);
    assert!(res.text().await.unwrap().contains("8 to 1024 characters"));

    let res = dash
        .post(
            "/setup",
            &[
                ("csrf", &csrf),
                ("email", "Ops@Example.com"),
                ("password", PASSWORD),
                ("confirm", PASSWORD),
            ],
        )
        .await;
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), "/signin");
    let admin = gatehouse::db::admins::by_email(&app.pool, "ops@example.com")
        .await
        .unwrap()
        .unwrap();
    assert!(admin.is_operator);
    assert!(admin
        .password_hash
        .starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));

    // Afterwards /setup is gone.
    assert_eq!(location(&dash.get("/setup").await), "/signin");
    let res = dash
        .post(
            "/setup",
            &[
                ("csrf", &csrf),
                ("email", "evil@example.com"),
                ("password", PASSWORD),
                ("confirm", PASSWORD),
            ],
        )
        .await;
    assert_eq!(res.status(), 404);
    assert_eq!(gatehouse::db::admins::count(&app.pool).await.unwrap(), 1);

    let res = dash.sign_in("ops@example.com", PASSWORD).await;
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), "/tenants");
    assert!(dash.page("/tenants").await.contains("No tenants yet"));
}
