//! Which tenant a request's host names, and the tenant as a request sees it: with the host it
//! came through and the issuer that host implies.

use sqlx::PgPool;

use crate::cache::ConfigCache;
use crate::config::Settings;
use crate::db::tenants::Tenant;

/// The tenant a request is for, with the host it came through and the issuer that host implies.
#[derive(Clone, Debug)]
pub struct TenantHost {
    pub tenant: Tenant,
    pub host: String,
    /// `{scheme}://{host}/`: tokens issued through a custom domain carry that domain.
    pub issuer: String,
}

impl TenantHost {
    pub fn id(&self) -> uuid::Uuid {
        self.tenant.tenant_id
    }

    /// An absolute URL on this tenant's host: `url("login/callback")`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.issuer, path.trim_start_matches('/'))
    }

    /// The audience of this tenant's management API.
    pub fn management_audience(&self) -> String {
        self.url("api/v2/")
    }
}

/// What a host names.
pub enum HostKind {
    Admin,
    Tenant(TenantHost),
    Unknown,
}

/// What `host` names: the admin dashboard (the base domain), a tenant (by its slug under the
/// base domain or a custom domain), or nothing.
pub async fn resolve(
    cache: &ConfigCache,
    pool: &PgPool,
    settings: &Settings,
    host: &str,
) -> Result<HostKind, sqlx::Error> {
    if host == settings.base_domain {
        return Ok(HostKind::Admin);
    }
    let tenant = cache
        .tenant_by_host(pool, host, &settings.base_domain)
        .await?;
    Ok(match tenant {
        Some(tenant) => HostKind::Tenant(TenantHost {
            issuer: settings.issuer_for_host(host),
            host: host.to_owned(),
            tenant,
        }),
        None => HostKind::Unknown,
    })
}
