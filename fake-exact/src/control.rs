//! `/__fake/*`: the handle's switches over HTTP, for the standalone binary and benchmarks.
//!
//! Wire types are kept apart from the public enums so the Rust API stays free of serde
//! concerns (a `Duration` travels as `millis`).

use std::time::Duration;

use actix_web::{web, HttpResponse};
use serde::Deserialize;

use super::state::Shared;
use super::{Consent, FakeUser, MeMode, TokenMode};

pub(super) fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/__fake/token-mode", web::post().to(token_mode))
        .route("/__fake/me-mode", web::post().to(me_mode))
        .route("/__fake/consent", web::post().to(consent))
        .route("/__fake/user", web::post().to(user));
}

#[derive(Deserialize)]
#[serde(tag = "mode", rename_all = "snake_case", deny_unknown_fields)]
enum TokenModeBody {
    Ok,
    Status500,
    Html,
    GarbageJson,
    NoAccessToken,
    PlainBadRequest,
    InvalidGrant,
    Slow { millis: u64 },
    Huge,
}

impl From<TokenModeBody> for TokenMode {
    fn from(body: TokenModeBody) -> Self {
        match body {
            TokenModeBody::Ok => TokenMode::Ok,
            TokenModeBody::Status500 => TokenMode::Status500,
            TokenModeBody::Html => TokenMode::Html,
            TokenModeBody::GarbageJson => TokenMode::GarbageJson,
            TokenModeBody::NoAccessToken => TokenMode::NoAccessToken,
            TokenModeBody::PlainBadRequest => TokenMode::PlainBadRequest,
            TokenModeBody::InvalidGrant => TokenMode::InvalidGrant,
            TokenModeBody::Slow { millis } => TokenMode::Slow(Duration::from_millis(millis)),
            TokenModeBody::Huge => TokenMode::Huge,
        }
    }
}

#[derive(Deserialize)]
#[serde(tag = "mode", rename_all = "snake_case", deny_unknown_fields)]
enum MeModeBody {
    Ok,
    EmptyResults,
    MissingD,
    Garbage,
    Unauthorized,
    Slow { millis: u64 },
}

impl From<MeModeBody> for MeMode {
    fn from(body: MeModeBody) -> Self {
        match body {
            MeModeBody::Ok => MeMode::Ok,
            MeModeBody::EmptyResults => MeMode::EmptyResults,
            MeModeBody::MissingD => MeMode::MissingD,
            MeModeBody::Garbage => MeMode::Garbage,
            MeModeBody::Unauthorized => MeMode::Unauthorized,
            MeModeBody::Slow { millis } => MeMode::Slow(Duration::from_millis(millis)),
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum ConsentName {
    Auto,
    Page,
    Decline,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ConsentBody {
    consent: ConsentName,
}

async fn token_mode(body: web::Json<TokenModeBody>, shared: web::Data<Shared>) -> HttpResponse {
    let mode = TokenMode::from(body.into_inner());
    tracing::info!(mode = ?mode, "fake Exact token mode set");
    shared
        .lock()
        .expect("fake Exact state lock poisoned")
        .token_mode = mode;
    HttpResponse::NoContent().finish()
}

async fn me_mode(body: web::Json<MeModeBody>, shared: web::Data<Shared>) -> HttpResponse {
    let mode = MeMode::from(body.into_inner());
    tracing::info!(mode = ?mode, "fake Exact Me mode set");
    shared
        .lock()
        .expect("fake Exact state lock poisoned")
        .me_mode = mode;
    HttpResponse::NoContent().finish()
}

async fn consent(body: web::Json<ConsentBody>, shared: web::Data<Shared>) -> HttpResponse {
    let consent = match body.into_inner().consent {
        ConsentName::Auto => Consent::Auto,
        ConsentName::Page => Consent::Page,
        ConsentName::Decline => Consent::Decline,
    };
    tracing::info!(consent = ?consent, "fake Exact consent set");
    shared
        .lock()
        .expect("fake Exact state lock poisoned")
        .consent = consent;
    HttpResponse::NoContent().finish()
}

async fn user(body: web::Json<FakeUser>, shared: web::Data<Shared>) -> HttpResponse {
    let user = body.into_inner();
    tracing::info!(user.id = %user.user_id, "fake Exact user set");
    shared.lock().expect("fake Exact state lock poisoned").user = user;
    HttpResponse::NoContent().finish()
}
