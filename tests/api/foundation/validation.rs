//! Tenants validated and unique; connections validated by their strategy.

use gatehouse::services::connections::ConnectionInput;
use gatehouse::services::{self, Actor};
use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn tenants_are_validated_and_unique() {
    let app = spawn_app().await;
    let s = &app.state;
    for bad in [
        "",
        "ab",
        "Acme",
        "acme_corp",
        "-x-",
        "admin",
        "a'; drop table tenants; --",
    ] {
        let err = services::tenants::create(
            &app.pool,
            &s.sealer,
            &s.settings,
            bad,
            None,
            &[],
            &Actor::named("test"),
        )
        .await
        .unwrap_err();
        assert!(
            matches!(err, services::ServiceError::Invalid(ref f) if f.field == "slug"),
            "{bad}: {err:?}"
        );
    }
    services::tenants::create(
        &app.pool,
        &s.sealer,
        &s.settings,
        "acme",
        None,
        &["login.acme.test".into()],
        &Actor::named("test"),
    )
    .await
    .unwrap();
    let dup = services::tenants::create(
        &app.pool,
        &s.sealer,
        &s.settings,
        "acme",
        None,
        &[],
        &Actor::named("test"),
    )
    .await
    .unwrap_err();
    assert!(matches!(dup, services::ServiceError::Conflict(_)));
    let taken = services::tenants::create(
        &app.pool,
        &s.sealer,
        &s.settings,
        "other",
        None,
        &["LOGIN.acme.test".into()],
        &Actor::named("test"),
    )
    .await
    .unwrap_err();
    assert!(matches!(taken, services::ServiceError::Conflict(_)));
    // The failed creations left nothing behind.
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM tenants")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(count, 1);
    let bad_domain = services::tenants::create(
        &app.pool,
        &s.sealer,
        &s.settings,
        "third",
        None,
        &["not a domain".into()],
        &Actor::named("test"),
    )
    .await
    .unwrap_err();
    assert!(matches!(bad_domain, services::ServiceError::Invalid(ref f) if f.field == "domain"));
}

#[tokio::test]
async fn connections_are_validated_by_their_strategy() {
    let app = spawn_app().await;
    let tenant = app.create_tenant("acme").await;
    let create = |input: ConnectionInput| {
        let pool = app.pool.clone();
        let state = app.state.clone();
        async move {
            services::connections::create(
                &pool,
                &state.sealer,
                tenant.tenant_id,
                &input,
                &Actor::named("test"),
            )
            .await
        }
    };
    let cases = [
        (
            json!({"name": "bad name", "strategy": "exact", "options": {"client_id": "a", "client_secret": "b"}}),
            "name",
        ),
        (
            json!({"name": "exact", "strategy": "github", "options": {}}),
            "strategy",
        ),
        (
            json!({"name": "exact", "strategy": "exact", "options": {"client_id": "a"}}),
            "options.client_secret",
        ),
        (
            json!({"name": "exact", "strategy": "exact", "options": {"client_id": "a", "client_secret": "b", "baseUrl": "http://example.com"}}),
            "options.baseUrl",
        ),
        (
            json!({"name": "exact", "strategy": "exact", "options": {"client_id": "a", "client_secret": "b", "baseUrl": "javascript:alert(1)"}}),
            "options.baseUrl",
        ),
    ];
    for (body, field) in cases {
        let input = ConnectionInput {
            name: body["name"].as_str().map(str::to_owned),
            strategy: body["strategy"].as_str().map(str::to_owned),
            options: Some(body["options"].clone()),
            ..Default::default()
        };
        match create(input).await {
            Err(services::ServiceError::Invalid(f)) => assert_eq!(f.field, field, "{body}"),
            other => panic!("{body}: expected a validation error, got {other:?}"),
        }
    }
    let ok = ConnectionInput {
        name: Some("exact-nl".into()),
        strategy: Some("exact".into()),
        options: Some(json!({"client_id": "a", "client_secret": "b"})),
        ..Default::default()
    };
    let view = create(ok.clone()).await.unwrap();
    assert!(view.connection.connection_id.starts_with("con_"));
    assert_eq!(
        view.connection.options["baseUrl"],
        "https://start.exactonline.nl"
    );
    assert!(matches!(
        create(ok).await,
        Err(services::ServiceError::Conflict(_))
    ));
}
