//! What tests set up before they call Gatehouse: tenants, applications, Exact connections to a
//! fake Exact and machine clients, made through the services as an operator's tools would, on
//! any database (an in-process app's, or one that `gatehouse serve` children share).

use fake_exact::{FakeApp, FakeExact, FakeExactHandle};
use gatehouse::config::Settings;
use gatehouse::crypto::seal::Sealer;
use gatehouse::services::{self, Actor};
use serde_json::json;
use sqlx::PgPool;
use uuid::Uuid;

pub struct TestTenant {
    pub tenant_id: Uuid,
    pub slug: String,
    pub host: String,
    pub issuer: String,
}

#[derive(Clone)]
pub struct TestClient {
    pub client_id: String,
    pub client_secret: Option<String>,
    pub callback: String,
}

/// An Exact connection and the application it is registered as at the fake Exact.
pub struct TestConnection {
    pub connection_id: String,
    pub upstream: FakeApp,
}

/// The services on one database, with the sealer and settings of the nodes that serve it.
#[derive(Clone, Copy)]
pub struct Fixtures<'a> {
    pub pool: &'a PgPool,
    pub sealer: &'a Sealer,
    pub settings: &'a Settings,
}

impl Fixtures<'_> {
    pub async fn create_tenant(&self, slug: &str) -> TestTenant {
        let t = services::tenants::create(
            self.pool,
            self.sealer,
            self.settings,
            slug,
            None,
            &[],
            &Actor::named("test"),
        )
        .await
        .expect("create tenant");
        let host = format!("{slug}.{}", self.settings.base_domain);
        TestTenant {
            tenant_id: t.tenant_id,
            slug: slug.to_owned(),
            issuer: format!("http://{host}/"),
            host,
        }
    }

    /// A client of `app_type` with one callback on a made-up app host.
    pub async fn create_client(&self, tenant: &TestTenant, app_type: &str) -> TestClient {
        let callback = format!(
            "https://app.example.com/{}/callback",
            Uuid::new_v4().simple()
        );
        let input = services::clients::ClientInput {
            name: Some(format!("{app_type} app")),
            app_type: Some(app_type.to_owned()),
            callbacks: Some(vec![callback.clone()]),
            allowed_logout_urls: Some(vec!["https://app.example.com/logged-out".into()]),
            ..Default::default()
        };
        let (client, secret) =
            services::clients::create(self.pool, tenant.tenant_id, &input, &Actor::named("test"))
                .await
                .expect("create client");
        TestClient {
            client_id: client.client_id,
            client_secret: secret,
            callback,
        }
    }

    /// An Exact connection pointing at `fake`, registered there with its own credentials, and
    /// enabled for `clients`.
    pub async fn create_exact_connection(
        &self,
        tenant: &TestTenant,
        name: &str,
        fake: &FakeExactHandle,
        clients: &[&TestClient],
    ) -> TestConnection {
        let upstream = FakeApp {
            client_id: format!("exact-{}", Uuid::new_v4().simple()),
            client_secret: format!("secret-{}", Uuid::new_v4().simple()),
            redirect_uris: vec![format!("{}login/callback", tenant.issuer)],
        };
        fake.add_app(upstream.clone());
        let input = services::connections::ConnectionInput {
            name: Some(name.to_owned()),
            strategy: Some("exact".into()),
            options: Some(
                json!({ "client_id": upstream.client_id, "client_secret": upstream.client_secret, "baseUrl": fake.base_url() }),
            ),
            enabled_clients: Some(clients.iter().map(|c| c.client_id.clone()).collect()),
            ..Default::default()
        };
        let connection_id = services::connections::create(
            self.pool,
            self.sealer,
            tenant.tenant_id,
            &input,
            &Actor::named("test"),
        )
        .await
        .expect("create connection")
        .connection
        .connection_id;
        TestConnection {
            connection_id,
            upstream,
        }
    }

    /// A machine client granted `scopes` on the tenant's management API; its id and secret.
    pub async fn machine_client(&self, tenant: &TestTenant, scopes: &[&str]) -> (String, String) {
        let input = services::clients::ClientInput {
            name: Some("automation".into()),
            app_type: Some("non_interactive".into()),
            ..Default::default()
        };
        let (client, secret) =
            services::clients::create(self.pool, tenant.tenant_id, &input, &Actor::named("test"))
                .await
                .unwrap();
        let scopes: Vec<String> = scopes.iter().map(|s| s.to_string()).collect();
        services::client_grants::create_grant(
            self.pool,
            tenant.tenant_id,
            &client.client_id,
            &management_audience(tenant),
            &scopes,
            &Actor::named("test"),
        )
        .await
        .unwrap();
        (
            client.client_id,
            secret.expect("a machine client has a secret"),
        )
    }
}

/// The audience of a tenant's management API.
pub fn management_audience(tenant: &TestTenant) -> String {
    format!("{}api/v2/", tenant.issuer)
}

pub async fn start_fake_exact() -> FakeExactHandle {
    FakeExact::start(FakeApp {
        client_id: "unused".into(),
        client_secret: "unused".into(),
        redirect_uris: vec![],
    })
    .await
}
