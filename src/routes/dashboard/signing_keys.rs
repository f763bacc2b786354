//! The tenant's signing keys on its overview: which key signs, which are still published for
//! tokens they signed, and the admin's two actions, rotate and revoke (a previous key that may
//! have leaked: every token it signed stops verifying at once).

use actix_web::web;
use serde::Deserialize;

use super::page::{see_other_with, DashResult, Empty};
use super::session::TenantEdit;
use crate::db;
use crate::db::signing_keys::{Revocation, StoredKey};
use crate::error::PageError;
use crate::services;
use crate::state::AppState;

/// A key as the overview lists it.
pub struct KeyRow {
    pub kid: String,
    pub alg: String,
    /// `current`, `previous` or `revoked`.
    pub state: String,
    pub since: String,
    pub until: String,
    /// A previous key, which may be revoked.
    pub revocable: bool,
}

fn when(t: &chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

pub fn rows(keys: &[StoredKey]) -> Vec<KeyRow> {
    keys.iter()
        .map(|k| KeyRow {
            kid: k.kid.clone(),
            alg: k.alg.clone(),
            state: k.state.clone(),
            since: when(&k.created_at),
            until: k
                .revoked_at
                .as_ref()
                .or(k.retired_at.as_ref())
                .map(when)
                .unwrap_or_default(),
            revocable: k.state == "previous",
        })
        .collect()
}

pub async fn rotate(state: web::Data<AppState>, edit: TenantEdit<Empty>) -> DashResult {
    let kids = services::keys::rotate_by(
        &state.pool,
        &state.sealer,
        edit.tenant.tenant_id,
        &edit.session.actor(),
    )
    .await
    .map_err(PageError::internal)?;
    Ok(see_other_with(
        &state.settings,
        &format!("/tenants/{}", edit.tenant.slug),
        "ok",
        &format!(
            "{}; the previous keys stay published for tokens they signed.",
            kids.iter()
                .map(|(alg, kid)| format!("{alg} key {kid} signs from now on"))
                .collect::<Vec<_>>()
                .join("; ")
        ),
    ))
}

#[derive(Deserialize)]
pub struct AlgForm {
    #[serde(default)]
    alg: String,
}

/// The tenant's default signing algorithm, for applications that name none.
pub async fn set_default_alg(state: web::Data<AppState>, edit: TenantEdit<AlgForm>) -> DashResult {
    let back = format!("/tenants/{}", edit.tenant.slug);
    let (kind, text) = match services::keys::set_default_alg(
        &state.pool,
        &state.sealer,
        edit.tenant.tenant_id,
        &edit.form.alg,
        &edit.session.actor(),
    )
    .await
    .map_err(PageError::internal)?
    {
        Ok(alg) => (
            "ok",
            format!("Applications that name no algorithm of their own now get {alg} tokens."),
        ),
        Err(e) => ("error", format!("The algorithm {}", e.message)),
    };
    Ok(see_other_with(&state.settings, &back, kind, &text))
}

#[derive(Deserialize)]
pub struct RevokeForm {
    #[serde(default)]
    kid: String,
    /// The box saying that tokens the key signed stop verifying.
    #[serde(default)]
    confirm: String,
}

pub async fn revoke(state: web::Data<AppState>, edit: TenantEdit<RevokeForm>) -> DashResult {
    let back = format!("/tenants/{}", edit.tenant.slug);
    if edit.form.confirm != "on" {
        return Ok(see_other_with(
            &state.settings,
            &back,
            "error",
            "Tick the box to confirm: tokens the key signed stop verifying.",
        ));
    }
    let outcome = services::keys::revoke_by(
        &state.pool,
        edit.tenant.tenant_id,
        &edit.form.kid,
        &edit.session.actor(),
    )
    .await?;
    let (kind, text) = match outcome {
        Revocation::Revoked(key) => (
            "ok",
            format!(
                "Key {} revoked: it is no longer published and tokens it signed no longer verify.",
                key.kid
            ),
        ),
        Revocation::AlreadyRevoked(key) => ("ok", format!("Key {} was already revoked.", key.kid)),
        Revocation::Current => (
            "error",
            "The current key signs every token: rotate first, then revoke it.".to_owned(),
        ),
        Revocation::Unknown => ("error", "This tenant has no such key.".to_owned()),
    };
    Ok(see_other_with(&state.settings, &back, kind, &text))
}

/// The tenant's keys, newest first, for the overview.
pub async fn list(state: &AppState, tenant_id: uuid::Uuid) -> Result<Vec<KeyRow>, sqlx::Error> {
    Ok(rows(&db::signing_keys::all(&state.pool, tenant_id).await?))
}
