//! Seeding. A few tenants are made through the services, exactly as the CLI and the API make
//! them; the many (100,000 tenants, 10,000 connections) are copies of those rows written in
//! bulk (`INSERT … SELECT FROM UNNEST(arrays)`), with everything that is per row done per row:
//! ids, client secret hashes (SHA-256), and seals bound to the new tenant and row
//! (`SealContext::signing_key`, `SealContext::connection_secret`). RSA keys are the
//! exception: a handful are generated and each tenant gets a sealed copy of one under its own
//! kid, since generating 100,000 keys would take over an hour.

use std::time::Instant;

use anyhow::{anyhow, Context};
use gatehouse::config::Settings;
use gatehouse::crypto::random::{id_with_prefix, opaque_token, token_hash};
use gatehouse::crypto::seal::{SealContext, Sealer};
use gatehouse::crypto::signing::{generate_key, GeneratedKey, SigningAlg};
use gatehouse::services::clients::{ClientInput, MANAGEMENT_SCOPES};
use gatehouse::services::connections::ConnectionInput;
use gatehouse::services::Actor;
use gatehouse::{db, services};
use secrecy::ExposeSecret;
use serde_json::{json, Value};
use sqlx::PgPool;
use uuid::Uuid;

/// The application callback every seeded web client has (never fetched).
pub const CALLBACK: &str = "https://app.example.com/callback";
/// The fake Exact binary's registered app.
pub const EXACT_CLIENT_ID: &str = "fake-exact-client";
pub const EXACT_CLIENT_SECRET: &str = "fake-exact-secret";
pub const CONNECTION: &str = "exact";

const BATCH: usize = 2_000;

/// A tenant made through the services: a web application, a machine application with every
/// management scope, and an Exact connection enabled for the web application.
#[derive(Clone, Debug)]
pub struct Seeded {
    pub tenant_id: Uuid,
    pub slug: String,
    pub web_client_id: String,
    pub web_secret: String,
    pub machine_client_id: String,
    pub machine_secret: String,
    pub connection_id: String,
    /// Further Exact connections by name (enabled for the web application too).
    pub extra_connections: Vec<(String, String)>,
}

fn service_err(e: services::ServiceError) -> anyhow::Error {
    anyhow!("{e}")
}

pub fn exact_options(fake_url: &str, client_id: &str) -> Value {
    json!({ "client_id": client_id, "client_secret": EXACT_CLIENT_SECRET, "baseUrl": fake_url })
}

pub async fn service_tenant(
    pool: &PgPool,
    sealer: &Sealer,
    settings: &Settings,
    slug: &str,
    fake_url: &str,
    extra_connections: &[&str],
) -> anyhow::Result<Seeded> {
    let tenant = services::tenants::create(
        pool,
        sealer,
        settings,
        slug,
        None,
        &[],
        &Actor::named("bench"),
    )
    .await
    .map_err(service_err)?;
    let tenant_id = tenant.tenant_id;
    let (web, web_secret) = services::clients::create(
        pool,
        tenant_id,
        &ClientInput {
            name: Some("Bench web app".into()),
            app_type: Some("regular_web".into()),
            callbacks: Some(vec![CALLBACK.into()]),
            ..Default::default()
        },
        &Actor::named("bench"),
    )
    .await
    .map_err(service_err)?;
    let (machine, machine_secret) = services::clients::create(
        pool,
        tenant_id,
        &ClientInput {
            name: Some("Bench automation".into()),
            app_type: Some("non_interactive".into()),
            ..Default::default()
        },
        &Actor::named("bench"),
    )
    .await
    .map_err(service_err)?;
    let audience = format!(
        "{}api/v2/",
        settings.issuer_for_host(&settings.tenant_host(slug))
    );
    let scopes: Vec<String> = MANAGEMENT_SCOPES.iter().map(|s| s.to_string()).collect();
    services::client_grants::create_grant(
        pool,
        tenant_id,
        &machine.client_id,
        &audience,
        &scopes,
        &Actor::named("bench"),
    )
    .await
    .map_err(service_err)?;
    let mut connections = Vec::new();
    for name in std::iter::once(CONNECTION).chain(extra_connections.iter().copied()) {
        let view = services::connections::create(
            pool,
            sealer,
            tenant_id,
            &ConnectionInput {
                name: Some(name.into()),
                strategy: Some("exact".into()),
                options: Some(exact_options(fake_url, EXACT_CLIENT_ID)),
                enabled_clients: Some(vec![web.client_id.clone()]),
                ..Default::default()
            },
            &Actor::named("bench"),
        )
        .await
        .map_err(service_err)?;
        connections.push((name.to_owned(), view.connection.connection_id));
    }
    let connection_id = connections.remove(0).1;
    Ok(Seeded {
        tenant_id,
        slug: slug.to_owned(),
        web_client_id: web.client_id,
        web_secret: web_secret.context("a regular web app has a secret")?,
        machine_client_id: machine.client_id,
        machine_secret: machine_secret.context("a machine app has a secret")?,
        connection_id,
        extra_connections: connections,
    })
}

/// A bulk-made tenant, as the driver needs it for logins.
#[derive(Clone, Debug)]
pub struct BulkTenant {
    pub slug: String,
    pub client_id: String,
    pub client_secret: String,
}

/// `count` RSA keys, generated in parallel.
pub async fn generate_keys(count: usize) -> anyhow::Result<Vec<GeneratedKey>> {
    let tasks: Vec<_> = (0..count)
        .map(|_| tokio::task::spawn_blocking(|| generate_key(SigningAlg::Rs256)))
        .collect();
    let mut keys = Vec::new();
    for t in tasks {
        keys.push(t.await?);
    }
    Ok(keys)
}

/// `count` tenants copied from `template` (its web client, tester client and Exact
/// connection), slugs `t000001`, ….
pub async fn bulk_tenants(
    pool: &PgPool,
    sealer: &Sealer,
    template: &Seeded,
    keys: &[GeneratedKey],
    count: usize,
) -> anyhow::Result<Vec<BulkTenant>> {
    let started = Instant::now();
    let web = db::clients::by_id(pool, template.tenant_id, &template.web_client_id)
        .await?
        .context("template web client")?;
    let tester = db::clients::tester(pool, template.tenant_id)
        .await?
        .context("template tester client")?;
    let connection = db::connections::by_id(pool, template.tenant_id, &template.connection_id)
        .await?
        .context("template connection")?;
    let connection_secret = sealer
        .open_string(
            connection
                .client_secret_sealed
                .as_deref()
                .context("template connection secret")?,
            &SealContext::connection_secret(template.tenant_id, &template.connection_id),
        )
        .map_err(|e| anyhow!("opening the template connection secret: {e}"))?;

    let mut out = Vec::with_capacity(count);
    let mut next = 1usize;
    while next <= count {
        let end = (next + BATCH - 1).min(count);
        let n = end - next + 1;
        let mut tenant_ids = Vec::with_capacity(n);
        let mut slugs = Vec::with_capacity(n);
        let mut kids = Vec::with_capacity(n);
        let mut sealed_keys = Vec::with_capacity(n);
        let mut jwks = Vec::with_capacity(n);
        let mut web_ids = Vec::with_capacity(n);
        let mut web_hashes = Vec::with_capacity(n);
        let mut tester_ids = Vec::with_capacity(n);
        let mut connection_ids = Vec::with_capacity(n);
        let mut connection_names = Vec::with_capacity(n);
        let mut connection_secrets = Vec::with_capacity(n);
        for i in next..=end {
            let tenant_id = Uuid::new_v4();
            let slug = format!("t{i:06}");
            let key = &keys[i % keys.len()];
            let kid = opaque_token(12);
            let mut jwk = key.public_jwk.clone();
            jwk["kid"] = json!(kid);
            sealed_keys
                .push(sealer.seal(&key.pkcs8_der, &SealContext::signing_key(tenant_id, &kid)));
            kids.push(kid);
            jwks.push(jwk);
            let client_id = id_with_prefix("", 32);
            let secret = opaque_token(32);
            web_hashes.push(token_hash(&secret));
            tester_ids.push(id_with_prefix("", 32));
            let connection_id = id_with_prefix("con_", 16);
            connection_secrets.push(sealer.seal_str(
                connection_secret.expose_secret(),
                &SealContext::connection_secret(tenant_id, &connection_id),
            ));
            connection_ids.push(connection_id);
            connection_names.push(connection.name.clone());
            out.push(BulkTenant {
                slug: slug.clone(),
                client_id: client_id.clone(),
                client_secret: secret,
            });
            web_ids.push(client_id);
            tenant_ids.push(tenant_id);
            slugs.push(slug);
        }
        let mut tx = pool.begin().await?;
        sqlx::query(
            "INSERT INTO tenants (tenant_id, slug, display_name)
             SELECT * FROM UNNEST($1::uuid[], $2::text[], $2::text[])",
        )
        .bind(&tenant_ids)
        .bind(&slugs)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO signing_keys (tenant_id, kid, private_key_sealed, public_jwk, state)
             SELECT t, k, s, j, 'current' FROM UNNEST($1::uuid[], $2::text[], $3::text[], $4::jsonb[]) AS u(t, k, s, j)",
        )
        .bind(&tenant_ids)
        .bind(&kids)
        .bind(&sealed_keys)
        .bind(&jwks)
        .execute(&mut *tx)
        .await?;
        insert_clients(&mut tx, &tenant_ids, &web_ids, Some(&web_hashes), &web).await?;
        insert_clients(&mut tx, &tenant_ids, &tester_ids, None, &tester).await?;
        insert_connections(
            &mut tx,
            &tenant_ids,
            &connection_ids,
            &connection_names,
            &connection_secrets,
            &connection,
        )
        .await?;
        enable(&mut tx, &tenant_ids, &connection_ids, &web_ids).await?;
        tx.commit().await?;
        if end % 20_000 == 0 || end == count {
            eprintln!(
                "bench:   {end} tenants seeded ({:.1} s)",
                started.elapsed().as_secs_f64()
            );
        }
        next = end + 1;
    }
    analyze(pool).await?;
    Ok(out)
}

/// `count` more Exact connections in `tenant` (copies of its `exact` connection, names
/// `bench-00001`, …), each enabled for its web application. Returns their ids.
pub async fn bulk_connections(
    pool: &PgPool,
    sealer: &Sealer,
    tenant: &Seeded,
    count: usize,
) -> anyhow::Result<Vec<String>> {
    let connection = db::connections::by_id(pool, tenant.tenant_id, &tenant.connection_id)
        .await?
        .context("template connection")?;
    let secret = sealer
        .open_string(
            connection
                .client_secret_sealed
                .as_deref()
                .context("template connection secret")?,
            &SealContext::connection_secret(tenant.tenant_id, &tenant.connection_id),
        )
        .map_err(|e| anyhow!("opening the template connection secret: {e}"))?;
    let mut ids_out = Vec::with_capacity(count);
    let mut next = 1usize;
    while next <= count {
        let end = (next + BATCH - 1).min(count);
        let mut tenant_ids = Vec::new();
        let mut ids = Vec::new();
        let mut names = Vec::new();
        let mut secrets = Vec::new();
        let mut clients = Vec::new();
        for i in next..=end {
            let id = id_with_prefix("con_", 16);
            secrets.push(sealer.seal_str(
                secret.expose_secret(),
                &SealContext::connection_secret(tenant.tenant_id, &id),
            ));
            names.push(format!("bench-{i:05}"));
            tenant_ids.push(tenant.tenant_id);
            clients.push(tenant.web_client_id.clone());
            ids.push(id);
        }
        let mut tx = pool.begin().await?;
        insert_connections(&mut tx, &tenant_ids, &ids, &names, &secrets, &connection).await?;
        enable(&mut tx, &tenant_ids, &ids, &clients).await?;
        tx.commit().await?;
        ids_out.extend(ids);
        next = end + 1;
    }
    analyze(pool).await?;
    Ok(ids_out)
}

async fn insert_clients(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    tenant_ids: &[Uuid],
    client_ids: &[String],
    secret_hashes: Option<&[Vec<u8>]>,
    template: &db::clients::Client,
) -> Result<(), sqlx::Error> {
    let hashes: Vec<Vec<u8>> = secret_hashes.map(<[Vec<u8>]>::to_vec).unwrap_or_default();
    sqlx::query(
        "INSERT INTO clients (tenant_id, client_id, name, description, app_type, secret_hash, callbacks,
            allowed_logout_urls, web_origins, grant_types, token_endpoint_auth_method, is_first_party, is_tester)
         SELECT u.t, u.c, $3, $4, $5, CASE WHEN $13::bool THEN ($12::bytea[])[u.n::int] END, $6, $7, $8, $9, $10, $11, $14
         FROM UNNEST($1::uuid[], $2::text[]) WITH ORDINALITY AS u(t, c, n)",
    )
    .bind(tenant_ids)
    .bind(client_ids)
    .bind(&template.name)
    .bind(&template.description)
    .bind(&template.app_type)
    .bind(&template.callbacks)
    .bind(&template.allowed_logout_urls)
    .bind(&template.web_origins)
    .bind(&template.grant_types)
    .bind(&template.token_endpoint_auth_method)
    .bind(template.is_first_party)
    .bind(&hashes)
    .bind(secret_hashes.is_some())
    .bind(template.is_tester)
    .execute(&mut **tx)
    .await
    .map(|_| ())
}

async fn insert_connections(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    tenant_ids: &[Uuid],
    ids: &[String],
    names: &[String],
    sealed_secrets: &[String],
    template: &db::connections::Connection,
) -> Result<(), sqlx::Error> {
    // realms = [name], as the service sets it when none are given.
    sqlx::query(
        "INSERT INTO connections (tenant_id, connection_id, name, display_name, strategy, options,
            client_secret_sealed, is_domain_connection, show_as_button, realms, metadata)
         SELECT t, c, n, $5, $6, $7, s, $8, $9, ARRAY[n], $10
         FROM UNNEST($1::uuid[], $2::text[], $3::text[], $4::text[]) AS u(t, c, n, s)",
    )
    .bind(tenant_ids)
    .bind(ids)
    .bind(names)
    .bind(sealed_secrets)
    .bind(&template.display_name)
    .bind(&template.strategy)
    .bind(&template.options)
    .bind(template.is_domain_connection)
    .bind(template.show_as_button)
    .bind(&template.metadata)
    .execute(&mut **tx)
    .await
    .map(|_| ())
}

async fn enable(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    tenant_ids: &[Uuid],
    connection_ids: &[String],
    client_ids: &[String],
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO connection_clients (tenant_id, connection_id, client_id)
         SELECT * FROM UNNEST($1::uuid[], $2::text[], $3::text[])",
    )
    .bind(tenant_ids)
    .bind(connection_ids)
    .bind(client_ids)
    .execute(&mut **tx)
    .await
    .map(|_| ())
}

/// Fresh planner statistics after a bulk load, as autovacuum would have them on a server that
/// grew to this size.
async fn analyze(pool: &PgPool) -> Result<(), sqlx::Error> {
    sqlx::query("ANALYZE").execute(pool).await.map(|_| ())
}
