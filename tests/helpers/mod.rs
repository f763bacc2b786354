//! The test harness: one private PostgreSQL for the whole test binary, a fresh database per
//! test (cloned from a migrated template), the app on port 0, and a client that reaches every
//! `*.localhost` host on loopback, keeps cookies and does not follow redirects. Each test
//! binary includes it (`#[path = "../helpers/mod.rs"] mod helpers;`), so there is one copy.

mod fixtures;
mod loopback;
mod postgres;

use std::collections::HashMap;
use std::net::TcpListener;
use std::sync::Arc;

use fake_exact::FakeExactHandle;
use gatehouse::config::Settings;
use gatehouse::crypto::seal::{MasterKey, Sealer};
use gatehouse::startup::Application;
use gatehouse::state::AppState;
use secrecy::SecretString;
use serde_json::Value;
use sqlx::PgPool;

pub use fixtures::*;
pub use loopback::*;
pub use postgres::*;

pub struct TestApp {
    pub port: u16,
    pub base_domain: String,
    pub database_url: String,
    pub pool: PgPool,
    pub state: Arc<AppState>,
    pub master_key: String,
    /// A browser: keeps cookies, does not follow redirects.
    pub http: reqwest::Client,
}

pub fn test_settings(port: u16, database_url: &str, master_key: &str) -> Settings {
    test_settings_with(port, database_url, master_key, &[])
}

pub fn test_settings_with(
    port: u16,
    database_url: &str,
    master_key: &str,
    extra: &[(&str, &str)],
) -> Settings {
    let mut vars: HashMap<&str, String> = HashMap::from([
        ("GATEHOUSE_LISTEN", format!("127.0.0.1:{port}")),
        ("DATABASE_URL", database_url.to_owned()),
        ("GATEHOUSE_BASE_DOMAIN", format!("localhost:{port}")),
        ("GATEHOUSE_MASTER_KEY", master_key.to_owned()),
        ("GATEHOUSE_UPSTREAM_TIMEOUT_MS", "2000".to_owned()),
        ("GATEHOUSE_UPSTREAM_CONNECT_TIMEOUT_MS", "1000".to_owned()),
    ]);
    for (k, v) in extra {
        vars.insert(k, v.to_string());
    }
    Settings::from_lookup(|k| vars.get(k).cloned()).expect("test settings")
}

pub async fn spawn_app() -> TestApp {
    let database_url = fresh_database().await;
    spawn_app_on(database_url, MasterKey::generate_text()).await
}

/// Another node on the same database and master key.
pub async fn spawn_app_on(database_url: String, master_key: String) -> TestApp {
    spawn_app_configured(database_url, master_key, &[]).await
}

/// An app with some settings overridden (`GATEHOUSE_...` variables).
pub async fn spawn_app_with(extra: &[(&str, &str)]) -> TestApp {
    spawn_app_configured(fresh_database().await, MasterKey::generate_text(), extra).await
}

/// The sealer of a node started with `master_key`.
pub fn sealer_for(master_key: &str) -> Sealer {
    Sealer::new(
        MasterKey::parse(&SecretString::from(master_key.to_owned())).expect("master key"),
        vec![],
    )
}

pub async fn spawn_app_configured(
    database_url: String,
    master_key: String,
    extra: &[(&str, &str)],
) -> TestApp {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let settings = test_settings_with(port, &database_url, &master_key, extra);
    let pool = gatehouse::db::connect(&SecretString::from(database_url.clone()), 10)
        .await
        .expect("test pool");
    let state = AppState::new(settings, pool.clone(), sealer_for(&master_key));
    let app = Application::build(state.clone(), listener).expect("build app");
    tokio::spawn(app.run_until_stopped());
    TestApp {
        port,
        base_domain: format!("localhost:{port}"),
        database_url,
        pool,
        state,
        master_key,
        http: browser(),
    }
}

impl TestApp {
    /// Changes configuration behind the app's back (plain SQL), then waits until the app has
    /// heard of it through the database's notification, as another node would.
    pub async fn execute_config_sql(&self, sql: &str) {
        self.change_config(async {
            sqlx::query(sql)
                .execute(&self.pool)
                .await
                .expect("config SQL");
        })
        .await
    }

    /// Runs a configuration change made outside the app's HTTP surface (a service call, SQL),
    /// then waits until the app has heard of it through the database's notification, so the
    /// next request cannot be answered from what the app cached before.
    pub async fn change_config<T>(&self, change: impl std::future::Future<Output = T>) -> T {
        use std::sync::atomic::Ordering;
        let stats = &self.state.cache.stats;
        let before = stats.invalidations.load(Ordering::SeqCst);
        let out = change.await;
        if !self.state.cache.is_live() {
            return out; // not caching yet: every read goes to the database
        }
        for _ in 0..500 {
            if stats.invalidations.load(Ordering::SeqCst) > before {
                return out;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        panic!("the configuration change was never announced");
    }

    /// A tenant's discovery document.
    pub async fn discovery(&self, tenant: &TestTenant) -> serde_json::Value {
        self.get_json(&self.tenant_url(tenant, "/.well-known/openid-configuration"))
            .await
    }

    /// The key ids a tenant's JWKS publishes.
    pub async fn published_kids(&self, tenant: &TestTenant) -> Vec<String> {
        let jwks = self
            .get_json(&self.tenant_url(tenant, "/.well-known/jwks.json"))
            .await;
        jwks["keys"]
            .as_array()
            .expect("a JWKS")
            .iter()
            .map(|k| k["kid"].as_str().expect("a kid").to_owned())
            .collect()
    }

    async fn get_json(&self, url: &str) -> serde_json::Value {
        self.http
            .get(url)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    pub fn admin_url(&self, path: &str) -> String {
        format!("http://{}{path}", self.base_domain)
    }

    /// The tenant's published key that signed `token`, from its JWKS as any client reads it.
    pub async fn signing_key_of(
        &self,
        tenant: &TestTenant,
        token: &str,
    ) -> jsonwebtoken::DecodingKey {
        let jwks: jsonwebtoken::jwk::JwkSet = self
            .http
            .get(self.tenant_url(tenant, "/.well-known/jwks.json"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let kid = jsonwebtoken::decode_header(token).unwrap().kid.unwrap();
        jsonwebtoken::DecodingKey::from_jwk(jwks.find(&kid).expect("kid in JWKS")).unwrap()
    }

    pub fn tenant_url(&self, tenant: &TestTenant, path: &str) -> String {
        format!("http://{}{path}", tenant.host)
    }

    /// The same tenant as seen through this node (test nodes differ in base domain).
    pub fn tenant_on_this_node(&self, tenant: &TestTenant) -> TestTenant {
        let host = format!("{}.{}", tenant.slug, self.base_domain);
        TestTenant {
            tenant_id: tenant.tenant_id,
            slug: tenant.slug.clone(),
            issuer: format!("http://{host}/"),
            host,
        }
    }

    /// The services on this app's database, with its sealer and settings.
    pub fn fixtures(&self) -> Fixtures<'_> {
        Fixtures {
            pool: &self.pool,
            sealer: &self.state.sealer,
            settings: &self.state.settings,
        }
    }

    pub async fn create_tenant(&self, slug: &str) -> TestTenant {
        self.fixtures().create_tenant(slug).await
    }

    /// A client of `app_type` with one callback on a made-up app host.
    pub async fn create_client(&self, tenant: &TestTenant, app_type: &str) -> TestClient {
        self.fixtures().create_client(tenant, app_type).await
    }

    /// An Exact connection pointing at `fake`, registered there with its own credentials, and
    /// enabled for `clients`; its id.
    pub async fn create_exact_connection(
        &self,
        tenant: &TestTenant,
        name: &str,
        fake: &FakeExactHandle,
        clients: &[&TestClient],
    ) -> String {
        self.fixtures()
            .create_exact_connection(tenant, name, fake, clients)
            .await
            .connection_id
    }

    /// A machine client with a management API grant, and an access token for it.
    pub async fn management_token(&self, tenant: &TestTenant, scopes: &[&str]) -> String {
        let (client_id, client_secret) = self.fixtures().machine_client(tenant, scopes).await;
        let audience = management_audience(tenant);
        let res = self
            .http
            .post(self.tenant_url(tenant, "/oauth/token"))
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", &client_id),
                ("client_secret", &client_secret),
                ("audience", &audience),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "client_credentials grant");
        let token = res.json::<Value>().await.unwrap()["access_token"]
            .as_str()
            .unwrap()
            .to_owned();
        // The grant's `seccft` is written just after the answer; waiting for it keeps it from
        // landing in the middle of a test that reads or rewrites the log.
        self.token_event_written(tenant, "client_credentials_exchanged", &client_id)
            .await;
        token
    }

    /// Waits until the token endpoint's event of `event_type` for `client_id` is in the log:
    /// those are written after the answer, so a test reading the log right away could miss them.
    pub async fn token_event_written(
        &self,
        tenant: &TestTenant,
        event_type: &str,
        client_id: &str,
    ) {
        for _ in 0..500 {
            let written: bool = sqlx::query_scalar(
                "SELECT EXISTS (SELECT 1 FROM events
                    WHERE tenant_id = $1 AND type = $2 AND client_id = $3)",
            )
            .bind(tenant.tenant_id)
            .bind(event_type)
            .bind(client_id)
            .fetch_one(&self.pool)
            .await
            .unwrap();
            if written {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        panic!("no {event_type} event for {client_id} after 5 s");
    }
}

/// The query parameters of a redirect's `Location`.
pub fn location_params(res: &reqwest::Response) -> (String, HashMap<String, String>) {
    let location = res
        .headers()
        .get("location")
        .expect("a Location header")
        .to_str()
        .unwrap()
        .to_owned();
    let url = url::Url::parse(&location).expect("absolute Location");
    let params = url
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    (location, params)
}

/// Waits out the last half minute of a UTC day, so a test that counts events per day never sees
/// the day change between its requests and its expectations.
pub async fn clear_of_utc_midnight() {
    use chrono::Timelike;
    let until_midnight = 86_400 - chrono::Utc::now().num_seconds_from_midnight();
    if until_midnight < 30 {
        tokio::time::sleep(std::time::Duration::from_secs(
            u64::from(until_midnight) + 1,
        ))
        .await;
    }
}
