//! Creating tenants: the row, custom domains, the first signing key and the dashboard's tester
//! client, all in one transaction.

use uuid::Uuid;

use crate::crypto::signing::SigningAlg;

use super::{Actor, ServiceError};
use crate::config::Settings;
use crate::crypto::seal::Sealer;
use crate::db;
use crate::db::clients::ClientFields;
use crate::db::tenants::Tenant;
use crate::db::OnConstraint;
use crate::domain::{DisplayName, HostName, TenantSlug};

/// The path on the admin host where the tester client's logins land ("Try").
pub const TESTER_CALLBACK_PATH: &str = "/tester/callback";

pub async fn create(
    pool: &sqlx::PgPool,
    sealer: &Sealer,
    settings: &Settings,
    slug: &str,
    display_name: Option<&str>,
    domains: &[String],
    actor: &Actor,
) -> Result<Tenant, ServiceError> {
    let slug = TenantSlug::parse(slug)?;
    let display_name = match display_name {
        Some(d) => DisplayName::parse("display_name", d)?.into_string(),
        None => slug.as_str().to_owned(),
    };
    let domains = domains
        .iter()
        .map(|d| HostName::parse("domain", d))
        .collect::<Result<Vec<_>, _>>()?;
    for d in &domains {
        if d.as_str() == settings.base_domain
            || d.as_str().ends_with(&format!(".{}", settings.base_domain))
        {
            return Err(ServiceError::Invalid(crate::domain::FieldError::new(
                "domain",
                "must not be under the Gatehouse base domain (tenants get {slug}.{base domain} already)",
            )));
        }
    }

    let mut tx = pool.begin().await?;
    let tenant = db::tenants::insert(&mut *tx, Uuid::new_v4(), slug.as_str(), &display_name)
        .await
        .on_constraint(|| {
            ServiceError::Conflict(format!("A tenant with the slug `{slug}` already exists"))
        })?;
    for d in &domains {
        db::tenants::add_domain(&mut *tx, tenant.tenant_id, d.as_str())
            .await
            .on_constraint(|| {
                ServiceError::Conflict(format!(
                    "The domain `{}` already belongs to a tenant",
                    d.as_str()
                ))
            })?;
    }
    crate::services::keys::create_current(&mut tx, sealer, tenant.tenant_id, SigningAlg::Rs256)
        .await?;
    let tester = ClientFields {
        name: "Gatehouse tester".into(),
        description: "Built-in client behind the dashboard's Try button".into(),
        app_type: "spa".into(),
        callbacks: vec![format!("{}{TESTER_CALLBACK_PATH}", settings.admin_origin())],
        allowed_logout_urls: vec![],
        web_origins: vec![],
        grant_types: vec!["authorization_code".into()],
        token_endpoint_auth_method: "none".into(),
        is_first_party: true,
        signing_alg: None,
    };
    let tester_id = crate::crypto::random::id_with_prefix("", 32);
    db::clients::insert(&mut *tx, tenant.tenant_id, &tester_id, &tester, None, true).await?;
    db::events::record(
        &mut *tx,
        tenant.tenant_id,
        &db::events::NewEvent {
            event_type: "tenant_created",
            description: format!("Tenant {slug} created"),
            ..Default::default()
        }
        .by(actor),
    )
    .await?;
    tx.commit().await?;
    Ok(tenant)
}

/// The canonical host of a tenant and its issuer.
pub fn canonical_host(settings: &Settings, tenant: &Tenant) -> String {
    settings.tenant_host(&tenant.slug)
}

/// Renames a tenant, with its audit event, in one transaction.
pub async fn rename(
    pool: &sqlx::PgPool,
    tenant_id: Uuid,
    name: &DisplayName,
    actor: &Actor,
) -> Result<(), ServiceError> {
    let mut tx = pool.begin().await?;
    db::tenants::update_display_name(&mut *tx, tenant_id, name.as_str()).await?;
    audit(
        &mut tx,
        tenant_id,
        "tenant_updated",
        format!("Display name set to {}", name.as_str()),
        actor,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Adds a custom domain (already checked against the base domain); a domain another tenant
/// has is a conflict.
pub async fn add_domain(
    pool: &sqlx::PgPool,
    tenant_id: Uuid,
    domain: &HostName,
    actor: &Actor,
) -> Result<(), ServiceError> {
    let mut tx = pool.begin().await?;
    db::tenants::add_domain(&mut *tx, tenant_id, domain.as_str())
        .await
        .on_constraint(|| {
            ServiceError::Conflict("This domain already belongs to a tenant.".to_owned())
        })?;
    audit(
        &mut tx,
        tenant_id,
        "tenant_domain_added",
        format!("Custom domain {} added", domain.as_str()),
        actor,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Removes a custom domain; false when the tenant did not have it.
pub async fn remove_domain(
    pool: &sqlx::PgPool,
    tenant_id: Uuid,
    domain: &str,
    actor: &Actor,
) -> Result<bool, ServiceError> {
    let mut tx = pool.begin().await?;
    if !db::tenants::remove_domain(&mut *tx, tenant_id, domain).await? {
        return Ok(false);
    }
    audit(
        &mut tx,
        tenant_id,
        "tenant_domain_removed",
        format!("Custom domain {domain} removed"),
        actor,
    )
    .await?;
    tx.commit().await?;
    Ok(true)
}

async fn audit(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    tenant_id: Uuid,
    kind: &'static str,
    description: String,
    actor: &Actor,
) -> Result<(), sqlx::Error> {
    let event = db::events::NewEvent {
        event_type: kind,
        description,
        ..Default::default()
    }
    .by(actor);
    db::events::record(&mut **tx, tenant_id, &event)
        .await
        .map(|_| ())
}
