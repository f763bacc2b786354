//! Applications: creation (secret shown once, stored as a hash), changes, secret rotation and
//! management API grants.

use super::Actor;
use uuid::Uuid;

use super::ServiceError;
use crate::crypto::random::{id_with_prefix, opaque_token, token_hash};
use crate::crypto::signing::SigningAlg;
use crate::db;
use crate::db::clients::{Client, ClientFields};
use crate::domain::{
    AppType, DisplayName, FieldError, GrantType, RedirectUri, TokenEndpointAuthMethod, WebOrigin,
};

/// Every management API scope Gatehouse checks.
pub const MANAGEMENT_SCOPES: &[&str] = &[
    "read:connections",
    "create:connections",
    "update:connections",
    "delete:connections",
    "read:clients",
    "create:clients",
    "update:clients",
    "delete:clients",
    "read:client_grants",
    "create:client_grants",
    "update:client_grants",
    "delete:client_grants",
    "read:client_keys",
    "update:client_keys",
    "read:users",
    "update:users",
    "delete:users",
    "read:logs",
    "read:signing_keys",
    "create:signing_keys",
    "update:signing_keys",
    "read:stats",
];

/// Client fields as given by a caller; `None` means "not given" (default on create, keep on
/// update).
#[derive(Clone, Debug, Default)]
pub struct ClientInput {
    pub name: Option<String>,
    pub description: Option<String>,
    pub app_type: Option<String>,
    pub callbacks: Option<Vec<String>>,
    pub allowed_logout_urls: Option<Vec<String>>,
    pub web_origins: Option<Vec<String>>,
    pub grant_types: Option<Vec<String>>,
    pub token_endpoint_auth_method: Option<String>,
    pub is_first_party: Option<bool>,
    /// `jwt_configuration.alg`: the algorithm its tokens are signed with; `Some(None)` goes
    /// back to the tenant's default.
    pub signing_alg: Option<Option<String>>,
}

/// Validates `input` over `base` (defaults on create, the stored client on update).
fn validate(input: &ClientInput, base: Option<&Client>) -> Result<ClientFields, FieldError> {
    let name = match (&input.name, base) {
        (Some(n), _) => DisplayName::parse("name", n)?.into_string(),
        (None, Some(c)) => c.name.clone(),
        (None, None) => return Err(FieldError::new("name", "is required")),
    };
    let description = match (&input.description, base) {
        (Some(d), _) if d.chars().count() > 140 => {
            return Err(FieldError::new(
                "description",
                "must be at most 140 characters",
            ))
        }
        (Some(d), _) => d.clone(),
        (None, Some(c)) => c.description.clone(),
        (None, None) => String::new(),
    };
    let app_type = match (&input.app_type, base) {
        (Some(t), _) => AppType::parse(t)?,
        (None, Some(c)) => AppType::parse(&c.app_type)?,
        (None, None) => AppType::RegularWeb,
    };
    let list = |given: &Option<Vec<String>>,
                stored: Option<&Vec<String>>,
                field: &str|
     -> Result<Vec<String>, FieldError> {
        match (given, stored) {
            (Some(v), _) => RedirectUri::parse_list(field, v),
            (None, Some(s)) => Ok(s.clone()),
            (None, None) => Ok(vec![]),
        }
    };
    let callbacks = list(&input.callbacks, base.map(|c| &c.callbacks), "callbacks")?;
    let allowed_logout_urls = list(
        &input.allowed_logout_urls,
        base.map(|c| &c.allowed_logout_urls),
        "allowed_logout_urls",
    )?;
    let web_origins = match (&input.web_origins, base) {
        (Some(v), _) => WebOrigin::parse_list("web_origins", v)?,
        (None, Some(c)) => c.web_origins.clone(),
        (None, None) => vec![],
    };
    let auth_method = match (&input.token_endpoint_auth_method, base) {
        (Some(m), _) => TokenEndpointAuthMethod::parse(m)?,
        (None, Some(c)) if input.app_type.is_none() => {
            TokenEndpointAuthMethod::parse(&c.token_endpoint_auth_method)?
        }
        _ => app_type.default_auth_method(),
    };
    let grant_types = match (&input.grant_types, base) {
        (Some(g), _) => {
            if g.len() > 10 {
                return Err(FieldError::new(
                    "grant_types",
                    "must have at most 10 entries",
                ));
            }
            g.iter()
                .map(|v| GrantType::parse(v))
                .collect::<Result<Vec<_>, _>>()?
        }
        (None, Some(c)) if input.app_type.is_none() => c
            .grant_types
            .iter()
            .map(|v| GrantType::parse(v))
            .collect::<Result<Vec<_>, _>>()?,
        _ => app_type.default_grant_types(),
    };
    if auth_method == TokenEndpointAuthMethod::None
        && grant_types.contains(&GrantType::ClientCredentials)
    {
        return Err(FieldError::new(
            "grant_types",
            "client_credentials needs a client that authenticates with a secret",
        ));
    }
    if app_type == AppType::NonInteractive && auth_method == TokenEndpointAuthMethod::None {
        return Err(FieldError::new(
            "token_endpoint_auth_method",
            "a non_interactive client must authenticate with a secret",
        ));
    }
    let mut unique = Vec::new();
    for g in grant_types {
        if !unique.contains(&g) {
            unique.push(g);
        }
    }
    Ok(ClientFields {
        name,
        description,
        app_type: app_type.as_str().into(),
        callbacks,
        allowed_logout_urls,
        web_origins,
        grant_types: unique.iter().map(|g| g.as_str().to_owned()).collect(),
        token_endpoint_auth_method: auth_method.as_str().into(),
        is_first_party: input
            .is_first_party
            .or(base.map(|c| c.is_first_party))
            .unwrap_or(true),
        signing_alg: match (&input.signing_alg, base) {
            (Some(Some(alg)), _) => Some(signing_alg("jwt_configuration.alg", alg)?),
            (Some(None), _) | (None, None) => None,
            (None, Some(c)) => c.signing_alg.clone(),
        },
    })
}

/// A signing algorithm Gatehouse signs with, by its JWA name.
pub fn signing_alg(field: &str, name: &str) -> Result<String, FieldError> {
    SigningAlg::parse(name)
        .map(|a| a.as_str().to_owned())
        .ok_or_else(|| {
            FieldError::new(
                field,
                format!(
                    "must be one of {} (HS256 is not offered: a shared secret would let every \
                     holder of it forge tokens)",
                    SigningAlg::names().join(", ")
                ),
            )
        })
}

/// A new client secret: shown once, stored as its SHA-256.
fn new_secret() -> String {
    opaque_token(48)
}

/// Creates a client; returns it with its secret (for confidential clients), shown only now.
pub async fn create(
    pool: &sqlx::PgPool,
    tenant_id: Uuid,
    input: &ClientInput,
    actor: &Actor,
) -> Result<(Client, Option<String>), ServiceError> {
    let mut tx = pool.begin().await?;
    let created = create_in(&mut tx, tenant_id, input, actor).await?;
    tx.commit().await?;
    Ok(created)
}

/// [`create`] inside the caller's transaction, which commits it (with its stored answer,
/// for an `Idempotency-Key`).
pub async fn create_in(
    tx: &mut sqlx::Transaction<'static, sqlx::Postgres>,
    tenant_id: Uuid,
    input: &ClientInput,
    actor: &Actor,
) -> Result<(Client, Option<String>), ServiceError> {
    let fields = validate(input, None)?;
    let secret = (fields.token_endpoint_auth_method != "none").then(new_secret);
    let client_id = id_with_prefix("", 32);
    let client = db::clients::insert(
        &mut **tx,
        tenant_id,
        &client_id,
        &fields,
        secret.as_deref().map(token_hash).as_deref(),
        false,
    )
    .await?;
    audit(tx, tenant_id, "client_created", &client, actor).await?;
    Ok((client, secret))
}

pub async fn update(
    pool: &sqlx::PgPool,
    tenant_id: Uuid,
    client_id: &str,
    input: &ClientInput,
    expected_version: Option<i32>,
    actor: &Actor,
) -> Result<Client, ServiceError> {
    let mut tx = pool.begin().await?;
    let current = db::clients::by_id_for_update(&mut *tx, tenant_id, client_id)
        .await?
        .filter(|c| !c.is_tester)
        .ok_or(ServiceError::NotFound)?;
    if expected_version.is_some_and(|v| v != current.version) {
        return Err(ServiceError::Stale);
    }
    let fields = validate(input, Some(&current))?;
    // A client that becomes confidential needs a secret; it gets one through rotation.
    let updated = db::clients::update(&mut *tx, tenant_id, client_id, current.version, &fields)
        .await?
        .ok_or(ServiceError::Stale)?;
    audit(&mut tx, tenant_id, "client_updated", &updated, actor).await?;
    tx.commit().await?;
    Ok(updated)
}

pub async fn rotate_secret(
    pool: &sqlx::PgPool,
    tenant_id: Uuid,
    client_id: &str,
    actor: &Actor,
) -> Result<(Client, String), ServiceError> {
    let mut tx = pool.begin().await?;
    let rotated = rotate_secret_in(&mut tx, tenant_id, client_id, actor).await?;
    tx.commit().await?;
    Ok(rotated)
}

/// [`rotate_secret`] inside the caller's transaction, which commits it.
pub async fn rotate_secret_in(
    tx: &mut sqlx::Transaction<'static, sqlx::Postgres>,
    tenant_id: Uuid,
    client_id: &str,
    actor: &Actor,
) -> Result<(Client, String), ServiceError> {
    let secret = new_secret();
    let client =
        db::clients::set_secret_hash(&mut **tx, tenant_id, client_id, &token_hash(&secret))
            .await?
            .filter(|c| !c.is_tester)
            .ok_or(ServiceError::NotFound)?;
    audit(tx, tenant_id, "client_secret_rotated", &client, actor).await?;
    Ok((client, secret))
}

pub async fn delete(
    pool: &sqlx::PgPool,
    tenant_id: Uuid,
    client_id: &str,
    actor: &Actor,
) -> Result<(), ServiceError> {
    let mut tx = pool.begin().await?;
    let client = db::clients::by_id(&mut *tx, tenant_id, client_id)
        .await?
        .filter(|c| !c.is_tester)
        .ok_or(ServiceError::NotFound)?;
    db::clients::delete(&mut *tx, tenant_id, client_id).await?;
    audit(&mut tx, tenant_id, "client_deleted", &client, actor).await?;
    tx.commit().await?;
    Ok(())
}

pub(super) async fn audit(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    tenant_id: Uuid,
    event_type: &'static str,
    client: &Client,
    actor: &Actor,
) -> Result<(), sqlx::Error> {
    let event = db::events::NewEvent {
        client_id: Some(client.client_id.clone()),
        ..db::events::NewEvent::config_change(event_type, actor, &client.name)
    };
    db::events::record(&mut **tx, tenant_id, &event)
        .await
        .map(|_| ())
}

/// Deletes a client, refusing (`Stale`) when it changed since `expected_version`.
pub async fn delete_checked(
    pool: &sqlx::PgPool,
    tenant_id: Uuid,
    client_id: &str,
    expected_version: Option<i32>,
    actor: &Actor,
) -> Result<(), ServiceError> {
    let mut tx = pool.begin().await?;
    let client = db::clients::by_id(&mut *tx, tenant_id, client_id)
        .await?
        .filter(|c| !c.is_tester)
        .ok_or(ServiceError::NotFound)?;
    let version = expected_version.unwrap_or(client.version);
    if !db::clients::delete_at_version(&mut *tx, tenant_id, client_id, version).await? {
        return Err(ServiceError::Stale);
    }
    audit(&mut tx, tenant_id, "client_deleted", &client, actor).await?;
    tx.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_follow_the_app_type() {
        let spa = validate(
            &ClientInput {
                name: Some("SPA".into()),
                app_type: Some("spa".into()),
                ..Default::default()
            },
            None,
        )
        .unwrap();
        assert_eq!(spa.token_endpoint_auth_method, "none");
        let m2m = validate(
            &ClientInput {
                name: Some("M2M".into()),
                app_type: Some("non_interactive".into()),
                ..Default::default()
            },
            None,
        )
        .unwrap();
        assert_eq!(m2m.grant_types, vec!["client_credentials"]);
        assert_eq!(m2m.token_endpoint_auth_method, "client_secret_post");
    }

    #[test]
    fn inconsistent_clients_are_refused() {
        let err = validate(
            &ClientInput {
                name: Some("x".into()),
                app_type: Some("spa".into()),
                grant_types: Some(vec!["client_credentials".into()]),
                ..Default::default()
            },
            None,
        )
        .unwrap_err();
        assert_eq!(err.field, "grant_types");
        let err = validate(
            &ClientInput {
                name: Some("x".into()),
                grant_types: Some(vec!["password".into()]),
                ..Default::default()
            },
            None,
        )
        .unwrap_err();
        assert_eq!(err.field, "grant_types");
        let err = validate(
            &ClientInput {
                name: None,
                ..Default::default()
            },
            None,
        )
        .unwrap_err();
        assert_eq!(err.field, "name");
        let err = validate(
            &ClientInput {
                name: Some("x".into()),
                callbacks: Some(vec!["javascript:alert(1)".into()]),
                ..Default::default()
            },
            None,
        )
        .unwrap_err();
        assert_eq!(err.field, "callbacks[0]");
    }
}
