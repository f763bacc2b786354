//! Connections: validated through their strategy, client secret sealed and write-only,
//! optimistic concurrency through the version, and the applications they are enabled for.

use super::Actor;
use secrecy::ExposeSecret;
use serde_json::Value;
use sqlx::PgPool;
use uuid::Uuid;

use super::ServiceError;
use crate::cache::ConfigCache;
use crate::crypto::random::id_with_prefix;
use crate::crypto::seal::{SealContext, Sealer};
use crate::db;
use crate::db::connections::{Connection, ConnectionFields};
use crate::db::OnConstraint;
use crate::domain::{ConnectionName, DisplayName, FieldError};
use crate::providers::{self, Strategy};

/// A connection with the clients it is enabled for: what the API and dashboard show.
#[derive(Clone, Debug)]
pub struct ConnectionView {
    pub connection: Connection,
    pub enabled_clients: Vec<String>,
}

/// Connection fields as given by a caller; `None` means "not given".
#[derive(Clone, Debug, Default)]
pub struct ConnectionInput {
    pub name: Option<String>,
    pub display_name: Option<String>,
    pub strategy: Option<String>,
    pub options: Option<Value>,
    pub enabled_clients: Option<Vec<String>>,
    pub is_domain_connection: Option<bool>,
    pub show_as_button: Option<bool>,
    pub realms: Option<Vec<String>>,
    pub metadata: Option<Value>,
}

fn provider(strategy: &str) -> Result<&'static dyn Strategy, FieldError> {
    providers::by_name(strategy).ok_or_else(|| {
        let known: Vec<&str> = providers::STRATEGIES.iter().map(|p| p.name()).collect();
        FieldError::new("strategy", format!("must be one of: {}", known.join(", ")))
    })
}

fn validate_metadata(metadata: &Value) -> Result<Value, FieldError> {
    let Some(map) = metadata.as_object() else {
        return Err(FieldError::new(
            "metadata",
            "must be an object of string values",
        ));
    };
    if map.len() > 10 {
        return Err(FieldError::new("metadata", "must have at most 10 keys"));
    }
    for (k, v) in map {
        if k.is_empty() || k.len() > 255 || v.as_str().is_none_or(|s| s.len() > 255) {
            return Err(FieldError::new(
                "metadata",
                "keys and values must be strings of at most 255 characters",
            ));
        }
    }
    Ok(metadata.clone())
}

fn validate_realms(realms: &[String]) -> Result<Vec<String>, FieldError> {
    if realms.len() > 10 {
        return Err(FieldError::new("realms", "must have at most 10 entries"));
    }
    realms
        .iter()
        .map(|r| {
            ConnectionName::parse(r)
                .map(|n| n.as_str().to_owned())
                .map_err(|_| FieldError::new("realms", "entries must be valid connection names"))
        })
        .collect()
}

fn display_name(value: Option<&String>) -> Result<Option<String>, FieldError> {
    value
        .filter(|d| !d.trim().is_empty())
        .map(|d| DisplayName::parse("display_name", d).map(DisplayName::into_string))
        .transpose()
}

pub async fn create(
    pool: &sqlx::PgPool,
    sealer: &Sealer,
    tenant_id: Uuid,
    input: &ConnectionInput,
    actor: &Actor,
) -> Result<ConnectionView, ServiceError> {
    let mut tx = pool.begin().await?;
    let view = create_in(&mut tx, sealer, tenant_id, input, actor).await?;
    tx.commit().await?;
    Ok(view)
}

/// [`create`] inside the caller's transaction, which commits it.
pub async fn create_in(
    tx: &mut sqlx::Transaction<'static, sqlx::Postgres>,
    sealer: &Sealer,
    tenant_id: Uuid,
    input: &ConnectionInput,
    actor: &Actor,
) -> Result<ConnectionView, ServiceError> {
    let name = ConnectionName::parse(
        input
            .name
            .as_deref()
            .ok_or_else(|| FieldError::new("name", "is required"))?,
    )?;
    let strategy = input
        .strategy
        .as_deref()
        .ok_or_else(|| FieldError::new("strategy", "is required"))?;
    let provider = provider(strategy)?;
    let parsed = provider.parse_options(
        input
            .options
            .as_ref()
            .unwrap_or(&Value::Object(Default::default())),
        false,
    )?;
    let connection_id = id_with_prefix("con_", 16);
    let secret = parsed.client_secret.as_ref().map(|s| {
        sealer.seal_str(
            s.expose_secret(),
            &SealContext::connection_secret(tenant_id, &connection_id),
        )
    });
    let fields = ConnectionFields {
        display_name: display_name(input.display_name.as_ref())?,
        options: parsed.public,
        client_secret_sealed: secret,
        is_domain_connection: input.is_domain_connection.unwrap_or(false),
        show_as_button: input.show_as_button.unwrap_or(true),
        realms: match &input.realms {
            Some(r) => validate_realms(r)?,
            None => vec![name.as_str().to_owned()],
        },
        metadata: match &input.metadata {
            Some(m) => validate_metadata(m)?,
            None => Value::Object(Default::default()),
        },
    };
    let connection = db::connections::insert(
        &mut **tx,
        tenant_id,
        &connection_id,
        name.as_str(),
        provider.name(),
        &fields,
    )
    .await
    .on_constraint(|| {
        ServiceError::Conflict("A connection with the same name already exists".into())
    })?;
    let enabled = input.enabled_clients.clone().unwrap_or_default();
    set_enabled_in_tx(tx, tenant_id, &connection_id, &enabled, true).await?;
    audit(tx, tenant_id, "connection_created", &connection, actor).await?;
    Ok(ConnectionView {
        connection,
        enabled_clients: sorted(enabled),
    })
}

/// Applies a patch. `options`, when given, replaces the whole options object, except that an
/// omitted client secret keeps the stored one (secrets are write-only, so callers cannot echo
/// them back).
pub async fn update(
    pool: &sqlx::PgPool,
    sealer: &Sealer,
    tenant_id: Uuid,
    connection_id: &str,
    input: &ConnectionInput,
    expected_version: Option<i32>,
    actor: &Actor,
) -> Result<ConnectionView, ServiceError> {
    if input.name.is_some() {
        return Err(
            FieldError::new("name", "cannot be changed; create a new connection instead").into(),
        );
    }
    if input.strategy.is_some() {
        return Err(FieldError::new("strategy", "cannot be changed").into());
    }
    let mut tx = pool.begin().await?;
    let current = db::connections::by_id_for_update(&mut *tx, tenant_id, connection_id)
        .await?
        .ok_or(ServiceError::NotFound)?;
    if expected_version.is_some_and(|v| v != current.version) {
        return Err(ServiceError::Stale);
    }
    let provider = provider(&current.strategy)?;
    let (options, secret) = match &input.options {
        Some(options) => {
            let parsed = provider.parse_options(options, current.client_secret_sealed.is_some())?;
            let secret = match parsed.client_secret {
                Some(s) => Some(sealer.seal_str(
                    s.expose_secret(),
                    &SealContext::connection_secret(tenant_id, connection_id),
                )),
                None => current.client_secret_sealed.clone(),
            };
            (parsed.public, secret)
        }
        None => (
            current.options.clone(),
            current.client_secret_sealed.clone(),
        ),
    };
    let fields = ConnectionFields {
        display_name: match &input.display_name {
            Some(_) => display_name(input.display_name.as_ref())?,
            None => current.display_name.clone(),
        },
        options,
        client_secret_sealed: secret,
        is_domain_connection: input
            .is_domain_connection
            .unwrap_or(current.is_domain_connection),
        show_as_button: input.show_as_button.unwrap_or(current.show_as_button),
        realms: match &input.realms {
            Some(r) => validate_realms(r)?,
            None => current.realms.clone(),
        },
        metadata: match &input.metadata {
            Some(m) => validate_metadata(m)?,
            None => current.metadata.clone(),
        },
    };
    let updated =
        db::connections::update(&mut *tx, tenant_id, connection_id, current.version, &fields)
            .await?
            .ok_or(ServiceError::Stale)?;
    if let Some(enabled) = &input.enabled_clients {
        let existing = db::connections::enabled_clients(&mut *tx, tenant_id, connection_id).await?;
        for id in existing.iter().filter(|id| !enabled.contains(id)) {
            db::connections::set_enabled(&mut *tx, tenant_id, connection_id, id, false).await?;
        }
        set_enabled_in_tx(&mut tx, tenant_id, connection_id, enabled, true).await?;
    }
    let enabled_clients =
        db::connections::enabled_clients(&mut *tx, tenant_id, connection_id).await?;
    let secret_replaced = updated.client_secret_sealed != current.client_secret_sealed;
    let changed = changes(&current, &updated, secret_replaced);
    let names: Vec<&str> = changed
        .iter()
        .filter_map(|c| c.get("field").and_then(Value::as_str))
        .collect();
    let mut event = db::events::NewEvent {
        connection: Some(updated.name.clone()),
        details: serde_json::json!({
            "connection_id": updated.connection_id,
            "version": updated.version,
            "changes": changed,
        }),
        ..db::events::NewEvent::config_change("connection_updated", actor, &updated.name)
    };
    if !names.is_empty() {
        event.description = format!("{}: {}", event.description, names.join(", "));
    }
    db::events::record(&mut *tx, tenant_id, &event).await?;
    tx.commit().await?;
    Ok(ConnectionView {
        connection: updated,
        enabled_clients,
    })
}

/// Enables or disables the connection per client (`[(client_id, enabled)]`).
pub async fn set_clients(
    pool: &sqlx::PgPool,
    tenant_id: Uuid,
    connection_id: &str,
    changes: &[(String, bool)],
    expected_version: Option<i32>,
    actor: &Actor,
) -> Result<ConnectionView, ServiceError> {
    let mut tx = pool.begin().await?;
    let current = db::connections::by_id_for_update(&mut *tx, tenant_id, connection_id)
        .await?
        .ok_or(ServiceError::NotFound)?;
    if expected_version.is_some_and(|v| v != current.version) {
        return Err(ServiceError::Stale);
    }
    for (client_id, enabled) in changes {
        set_enabled_in_tx(
            &mut tx,
            tenant_id,
            connection_id,
            std::slice::from_ref(client_id),
            *enabled,
        )
        .await?;
    }
    db::connections::touch(&mut *tx, tenant_id, connection_id).await?;
    let connection = db::connections::by_id(&mut *tx, tenant_id, connection_id)
        .await?
        .ok_or(ServiceError::NotFound)?;
    let enabled_clients =
        db::connections::enabled_clients(&mut *tx, tenant_id, connection_id).await?;
    audit(
        &mut tx,
        tenant_id,
        "connection_clients_updated",
        &connection,
        actor,
    )
    .await?;
    tx.commit().await?;
    Ok(ConnectionView {
        connection,
        enabled_clients,
    })
}

async fn set_enabled_in_tx(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    tenant_id: Uuid,
    connection_id: &str,
    client_ids: &[String],
    enabled: bool,
) -> Result<(), ServiceError> {
    for (i, client_id) in client_ids.iter().enumerate() {
        let known = db::clients::by_id(&mut **tx, tenant_id, client_id)
            .await?
            .is_some_and(|c| !c.is_tester);
        if !known {
            return Err(FieldError::new(
                format!("enabled_clients[{i}]"),
                "is not a client of this tenant",
            )
            .into());
        }
        db::connections::set_enabled(&mut **tx, tenant_id, connection_id, client_id, enabled)
            .await?;
    }
    Ok(())
}

pub async fn delete(
    pool: &sqlx::PgPool,
    tenant_id: Uuid,
    connection_id: &str,
    expected_version: Option<i32>,
    actor: &Actor,
) -> Result<(), ServiceError> {
    let mut tx = pool.begin().await?;
    let current = db::connections::by_id_for_update(&mut *tx, tenant_id, connection_id)
        .await?
        .ok_or(ServiceError::NotFound)?;
    if expected_version.is_some_and(|v| v != current.version) {
        return Err(ServiceError::Stale);
    }
    db::connections::delete(&mut *tx, tenant_id, connection_id).await?;
    audit(&mut tx, tenant_id, "connection_deleted", &current, actor).await?;
    tx.commit().await?;
    Ok(())
}

pub async fn view(
    pool: &sqlx::PgPool,
    tenant_id: Uuid,
    connection_id: &str,
) -> Result<ConnectionView, ServiceError> {
    let connection = db::connections::by_id(pool, tenant_id, connection_id)
        .await?
        .ok_or(ServiceError::NotFound)?;
    let enabled_clients = db::connections::enabled_clients(pool, tenant_id, connection_id).await?;
    Ok(ConnectionView {
        connection,
        enabled_clients,
    })
}

/// The connection as this node's configuration cache has it: what logins use, and at most a
/// notification's delay (milliseconds) behind a change made through another node. Changes go
/// through [`view`], which always reads the database.
pub async fn cached_view(
    cache: &ConfigCache,
    pool: &PgPool,
    sealer: &Sealer,
    tenant_id: Uuid,
    connection_id: &str,
) -> Result<ConnectionView, ServiceError> {
    let live = cache
        .connection_by_id(pool, sealer, tenant_id, connection_id)
        .await?
        .ok_or(ServiceError::NotFound)?;
    let mut enabled_clients: Vec<String> = live.enabled_clients.iter().cloned().collect();
    enabled_clients.sort_unstable();
    Ok(ConnectionView {
        connection: live.connection.clone(),
        enabled_clients,
    })
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v.dedup();
    v
}

/// What an update changed, field by field, for its log entry: public values before and after;
/// the client secret only as replaced (it is never written anywhere in the clear).
fn changes(before: &Connection, after: &Connection, secret_replaced: bool) -> Vec<Value> {
    let mut out = Vec::new();
    let mut field = |name: String, from: Value, to: Value| {
        if from != to {
            out.push(serde_json::json!({ "field": name, "from": from, "to": to }));
        }
    };
    field(
        "display_name".into(),
        serde_json::json!(before.display_name),
        serde_json::json!(after.display_name),
    );
    field(
        "is_domain_connection".into(),
        before.is_domain_connection.into(),
        after.is_domain_connection.into(),
    );
    field(
        "show_as_button".into(),
        before.show_as_button.into(),
        after.show_as_button.into(),
    );
    field(
        "realms".into(),
        serde_json::json!(before.realms),
        serde_json::json!(after.realms),
    );
    field(
        "metadata".into(),
        before.metadata.clone(),
        after.metadata.clone(),
    );
    let empty = serde_json::Map::new();
    let (old, new) = (
        before.options.as_object().unwrap_or(&empty),
        after.options.as_object().unwrap_or(&empty),
    );
    let mut keys: Vec<&String> = old.keys().chain(new.keys()).collect();
    keys.sort();
    keys.dedup();
    for key in keys {
        field(
            format!("options.{key}"),
            old.get(key).cloned().unwrap_or(Value::Null),
            new.get(key).cloned().unwrap_or(Value::Null),
        );
    }
    if secret_replaced {
        out.push(serde_json::json!({ "field": "client_secret", "to": "[replaced]" }));
    }
    out
}

async fn audit(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    tenant_id: Uuid,
    event_type: &'static str,
    connection: &Connection,
    actor: &Actor,
) -> Result<(), sqlx::Error> {
    let event = db::events::NewEvent {
        connection: Some(connection.name.clone()),
        details: serde_json::json!({ "connection_id": connection.connection_id, "version": connection.version }),
        ..db::events::NewEvent::config_change(event_type, actor, &connection.name)
    };
    db::events::record(&mut **tx, tenant_id, &event)
        .await
        .map(|_| ())
}
