//! `POST /oauth/token`: the authorization code (with PKCE), refresh token (rotating, reuse
//! revokes the family) and client credentials grants. Bodies may be form-encoded or JSON;
//! clients authenticate by `client_secret_post`, `client_secret_basic` or, when public, PKCE.

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde_json::{json, Map, Value};
use uuid::Uuid;

use super::params::Params;
use super::trace::{
    CLIENT_CREDENTIALS_EXCHANGED, CLIENT_CREDENTIALS_REFUSED, CODE_REDEEMED,
    CODE_REDEMPTION_FAILED, REFRESH_TOKEN_EXCHANGED, REFRESH_TOKEN_REFUSED,
};
use super::{REFRESH_TOKEN_DAYS, TOKEN_SECONDS};
use crate::cache::IssuedToken;
use crate::client_addr::Requester;
use crate::crypto::random::{opaque_token, s256, secure_eq, token_hash};
use crate::crypto::signing::SigningKey;
use crate::db;
use crate::db::clients::Client;
use crate::db::events::NewEvent;
use crate::error::log_internal;
use crate::rate_limit::Door;
use crate::state::AppState;
use crate::tenancy::TenantHost;
use crate::tokens::{
    seal_userinfo_token, AccessClaims, Audience, ACCESS_TOKEN_TYPE, ID_TOKEN_TYPE,
};

/// An OAuth error answer (RFC 6749 §5.2).
#[derive(Debug)]
pub struct TokenError {
    status: StatusCode,
    error: &'static str,
    description: String,
    basic_challenge: bool,
}

impl TokenError {
    pub(super) fn new(error: &'static str, description: impl Into<String>) -> Self {
        TokenError {
            status: StatusCode::BAD_REQUEST,
            error,
            description: description.into(),
            basic_challenge: false,
        }
    }

    fn invalid_client(basic: bool) -> Self {
        TokenError {
            status: StatusCode::UNAUTHORIZED,
            error: "invalid_client",
            description: "client authentication failed".into(),
            basic_challenge: basic,
        }
    }

    pub(super) fn internal(err: impl Into<anyhow::Error>) -> Self {
        let status = log_internal(&err.into());
        if status == StatusCode::SERVICE_UNAVAILABLE {
            TokenError {
                status,
                error: "temporarily_unavailable",
                description: "the service is temporarily unavailable".into(),
                basic_challenge: false,
            }
        } else if status == StatusCode::BAD_REQUEST {
            TokenError::new(
                "invalid_request",
                "the request holds characters that cannot be stored",
            )
        } else {
            TokenError {
                status,
                error: "server_error",
                description: "internal error".into(),
                basic_challenge: false,
            }
        }
    }

    fn slow_down(wait: std::time::Duration) -> Self {
        TokenError {
            status: StatusCode::TOO_MANY_REQUESTS,
            error: "slow_down",
            description: format!(
                "too many failed attempts; retry in {} s",
                wait.as_secs().max(1)
            ),
            basic_challenge: false,
        }
    }

    pub(super) fn response(&self) -> HttpResponse {
        let mut res = HttpResponse::build(self.status);
        if self.status == StatusCode::TOO_MANY_REQUESTS {
            res.insert_header((header::RETRY_AFTER, "60"));
        }
        res.insert_header((header::CACHE_CONTROL, "no-store"))
            .insert_header((header::PRAGMA, "no-cache"));
        if self.basic_challenge {
            res.insert_header((header::WWW_AUTHENTICATE, "Basic realm=\"oauth\""));
        }
        res.json(json!({ "error": self.error, "error_description": self.description }))
    }
}

impl From<sqlx::Error> for TokenError {
    fn from(e: sqlx::Error) -> Self {
        TokenError::internal(e)
    }
}

pub async fn post(
    req: HttpRequest,
    body: web::Bytes,
    tenant: TenantHost,
    state: web::Data<AppState>,
) -> HttpResponse {
    let mut client = None;
    let res = match handle(&req, &body, &tenant, &state, &mut client).await {
        Ok(tokens) => HttpResponse::Ok()
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .insert_header((header::PRAGMA, "no-cache"))
            .json(tokens),
        Err(e) => e.response(),
    };
    super::cors::answer(&req, &state, &tenant, client.as_deref(), res).await
}

pub(super) fn parse_body(req: &HttpRequest, body: &[u8]) -> Result<Params, TokenError> {
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let mime = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let text = std::str::from_utf8(body)
        .map_err(|_| TokenError::new("invalid_request", "the body is not UTF-8"))?;
    let parsed = match mime.as_str() {
        "application/x-www-form-urlencoded" => Params::parse(text),
        "application/json" => {
            let value: Value = serde_json::from_str(text)
                .map_err(|_| TokenError::new("invalid_request", "the body is not valid JSON"))?;
            Params::from_json(&value)
        }
        _ => {
            return Err(TokenError::new(
                "invalid_request",
                "the body must be application/x-www-form-urlencoded or application/json",
            ))
        }
    };
    parsed.map_err(|e| TokenError::new("invalid_request", e.to_string()))
}

/// Answers a token request; `known` is set to the client once it has authenticated (what the
/// answer's cross-origin headers are decided by).
async fn handle(
    req: &HttpRequest,
    body: &[u8],
    tenant: &TenantHost,
    state: &AppState,
    known: &mut Option<Arc<Client>>,
) -> Result<Value, TokenError> {
    let params = parse_body(req, body)?;
    let grant_type = params
        .get("grant_type")
        .ok_or_else(|| TokenError::new("invalid_request", "grant_type is required"))?;
    if !matches!(
        grant_type,
        "authorization_code" | "refresh_token" | "client_credentials"
    ) {
        return Err(TokenError::new(
            "unsupported_grant_type",
            "supported grants: authorization_code, refresh_token, client_credentials",
        ));
    }
    let requester = Requester::of(req, &state.settings.trusted_proxies);
    let refused = refusal_event(grant_type);
    let client = authenticate(req, &params, tenant, state, Some((refused, &requester))).await?;
    *known = Some(client.clone());
    if !client.grant_types.iter().any(|g| g == grant_type) {
        let description = format!("the application may not use the {grant_type} grant");
        let event = refusal(
            refused,
            &client.client_id,
            &requester,
            &description,
            "grant_not_allowed",
        );
        record_later(state, tenant, event);
        return Err(TokenError::new("unauthorized_client", description));
    }
    match grant_type {
        "authorization_code" => {
            authorization_code(&params, &client, tenant, state, &requester).await
        }
        "refresh_token" => refresh_token(&params, &client, tenant, state, &requester).await,
        _ => client_credentials(&params, &client, tenant, state, &requester).await,
    }
}

/// The event a refused request for `grant_type` is recorded as (Auth0's `feacft`, `fertft`,
/// `feccft`), so a failed client authentication shows among the grant's other failures.
fn refusal_event(grant_type: &str) -> &'static str {
    match grant_type {
        "authorization_code" => CODE_REDEMPTION_FAILED,
        "refresh_token" => REFRESH_TOKEN_REFUSED,
        _ => CLIENT_CREDENTIALS_REFUSED,
    }
}

/// The event of a token request refused before any token was looked at, and why (`reason`).
fn refusal(
    event_type: &'static str,
    client_id: &str,
    requester: &Requester,
    description: &str,
    reason: &str,
) -> NewEvent {
    NewEvent {
        event_type,
        // As presented when authentication failed: bounded, it is the caller's text.
        client_id: Some(client_id.chars().take(MAX_LOGGED_CLIENT_ID).collect()),
        description: description.to_owned(),
        requester: requester.clone(),
        ..Default::default()
    }
    .with_reason(reason)
}

/// Client ids are 32 characters; one presented longer is kept this far in a refusal event.
const MAX_LOGGED_CLIENT_ID: usize = 128;

/// Records `event` without holding the answer for it: the token answer neither waits on the
/// database nor fails with it (client credentials grants are served from the node's cache, and
/// keep being served while the database is away; the event is then dropped and counted).
fn record_later(state: &AppState, tenant: &TenantHost, event: NewEvent) {
    state
        .deferred_events
        .record(&state.pool, tenant.id(), event);
}

/// Finds and authenticates the client: by Basic header, by body secret, or (public clients
/// only) by client id alone. Using two methods at once is refused.
///
/// A failed authentication counts towards the client id's and the address's lockout and, with
/// `audit` (the event it is recorded as, and who asked), is written to the tenant's log.
pub(super) async fn authenticate(
    req: &HttpRequest,
    params: &Params,
    tenant: &TenantHost,
    state: &AppState,
    audit: Option<(&'static str, &Requester)>,
) -> Result<Arc<Client>, TokenError> {
    let basic = match req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        Some(value) if value.len() > 7 && value[..6].eq_ignore_ascii_case("basic ") => {
            let decoded = STANDARD
                .decode(value[6..].trim())
                .map_err(|_| TokenError::invalid_client(true))?;
            let text = String::from_utf8(decoded).map_err(|_| TokenError::invalid_client(true))?;
            let (id, secret) = text
                .split_once(':')
                .ok_or_else(|| TokenError::invalid_client(true))?;
            // RFC 6749 §2.3.1: both parts are form-urlencoded inside the header.
            let decode = |s: &str| {
                url::form_urlencoded::parse(format!("x={s}").as_bytes())
                    .next()
                    .map(|(_, v)| v.into_owned())
                    .unwrap_or_default()
            };
            Some((decode(id), decode(secret)))
        }
        Some(_) => {
            return Err(TokenError::new(
                "invalid_request",
                "unsupported Authorization scheme",
            ))
        }
        None => None,
    };
    let body_secret = params.get("client_secret");
    if basic.is_some() && body_secret.is_some() {
        return Err(TokenError::new(
            "invalid_request",
            "use one client authentication method, not two",
        ));
    }
    let client_id = match (&basic, params.get("client_id")) {
        (Some((id, _)), Some(body_id)) if id != body_id => {
            return Err(TokenError::new(
                "invalid_request",
                "client_id differs from the authenticated client",
            ))
        }
        (Some((id, _)), _) => id.clone(),
        (None, Some(id)) => id.to_owned(),
        (None, None) => return Err(TokenError::invalid_client(false)),
    };
    let uses_basic = basic.is_some();
    // Brute force: after too many failures for this client id or IP, refuse before checking.
    let ip = crate::client_addr::client_ip(req, &state.settings.trusted_proxies);
    if let Err(wait) = state.limits.locked_out(Door::Token, &client_id, ip) {
        return Err(TokenError::slow_down(wait));
    }
    let presented = basic.map(|(_, s)| s).or(body_secret.map(str::to_owned));
    let authenticated = state
        .cache
        .client(&state.pool, tenant.id(), &client_id)
        .await?
        .filter(|client| match (&client.secret_hash, &presented) {
            (Some(hash), Some(secret)) => secure_eq(hash, &token_hash(secret)),
            (None, None) => client.token_endpoint_auth_method == "none",
            _ => false,
        });
    if let Some(client) = authenticated {
        return Ok(client);
    }
    state.limits.record_failure(Door::Token, &client_id, ip);
    if let Some((event_type, requester)) = audit {
        // One description whether the id or the secret was wrong, as in the answer.
        let event = refusal(
            event_type,
            &client_id,
            requester,
            "client authentication failed",
            "invalid_client",
        );
        record_later(state, tenant, event);
    }
    Err(TokenError::invalid_client(uses_basic))
}

async fn authorization_code(
    params: &Params,
    client: &Client,
    tenant: &TenantHost,
    state: &AppState,
    requester: &Requester,
) -> Result<Value, TokenError> {
    let code = params
        .get("code")
        .ok_or_else(|| TokenError::new("invalid_request", "code is required"))?;
    let code_hash = token_hash(code);
    let family_id = Uuid::new_v4();
    let pool = &state.pool;
    // Whatever else can fail is fetched before the code is spent, so that a spent code always
    // gives its tokens: after the redemption only in-memory work is left.
    let key = signing_key(state, tenant).await?;
    // Redemption, its checks, the user lookup, the refresh token (when the code's scope and
    // the client allow one) and the event are one statement: if it fails (the database going
    // away, say), the code stays unused and nothing was issued; if it succeeds, one round trip
    // did it all.
    let refresh = client
        .grant_types
        .iter()
        .any(|g| g == "refresh_token")
        .then(|| opaque_token(32));
    let refresh_hash = refresh.as_deref().map(token_hash);
    let verifier_s256 = params.get("code_verifier").map(s256);
    let redemption = db::login::Redemption {
        code_hash: &code_hash,
        family_id,
        refresh_token_hash: refresh_hash.as_deref(),
        refresh_expires_at: Utc::now() + chrono::Duration::days(REFRESH_TOKEN_DAYS),
        client_id: &client.client_id,
        redirect_uri: params.get("redirect_uri"),
        redirect_uri_optional: client.callbacks.len() == 1,
        verifier_s256: verifier_s256.as_deref(),
        redeemed_event: CODE_REDEEMED,
        refused_event: CODE_REDEMPTION_FAILED,
        requester,
    };
    let Some(redeemed) = db::login::redeem(pool, tenant.id(), &redemption).await? else {
        // A replayed code revokes what its first redemption issued (RFC 6749 §4.1.2).
        if let Some(used) = db::login::code(pool, tenant.id(), &code_hash).await? {
            if let Some(family) = used.family_id {
                db::tokens::revoke_family(pool, tenant.id(), family).await?;
            }
            record_replay(pool, tenant, &used, requester).await;
        }
        return Err(TokenError::new(
            "invalid_grant",
            "the code is invalid, expired or already used",
        ));
    };
    let record = &redeemed.code;
    tracing::Span::current().record("trace_id", tracing::field::display(record.trace_id));
    let user = match (&redeemed.user, redeemed.refused) {
        (Some(user), None) => user,
        (_, refused) => {
            let why = refused.unwrap_or_else(|| "the user no longer exists".into());
            return Err(TokenError::new("invalid_grant", why));
        }
    };
    let mut response = issue_user_tokens(
        state,
        &key,
        tenant,
        client,
        user,
        Grant {
            scope: &record.scope,
            auth_time: record.auth_time,
            nonce: record.nonce.as_deref(),
        },
    );
    if let (true, Some(refresh)) = (redeemed.refresh_issued, refresh) {
        response.insert("refresh_token".into(), json!(refresh));
    }
    Ok(Value::Object(response))
}

/// Records a replayed code (its first redemption recorded itself, in `db::login::redeem`).
async fn record_replay(
    pool: &sqlx::PgPool,
    tenant: &TenantHost,
    code: &db::login::AuthorizationCode,
    requester: &Requester,
) {
    let event = NewEvent {
        event_type: CODE_REDEMPTION_FAILED,
        trace_id: Some(code.trace_id),
        client_id: Some(code.client_id.clone()),
        user_id: Some(code.user_id.clone()),
        description: "authorization code replayed; tokens issued from it were revoked".into(),
        requester: requester.clone(),
        details: json!({ "step": "code_redeemed", "outcome": "failed" }),
        ..Default::default()
    };
    if let Err(e) = db::events::record(pool, tenant.id(), &event).await {
        tracing::warn!(error = %e, "could not record a code replay");
    }
}

/// The event of a refresh token that was found but refused, and why (`reason`: `reuse`,
/// `revoked`, `expired`, `other_client`, `user_blocked`).
fn refresh_refused(
    token: &db::tokens::RefreshToken,
    client: &Client,
    requester: &Requester,
    reason: &str,
    description: &str,
) -> NewEvent {
    NewEvent {
        event_type: REFRESH_TOKEN_REFUSED,
        client_id: Some(client.client_id.clone()),
        user_id: Some(token.user_id.clone()),
        description: description.to_owned(),
        details: json!({ "reason": reason, "issued_to": token.client_id }),
        requester: requester.clone(),
        ..Default::default()
    }
}

async fn refresh_token(
    params: &Params,
    client: &Client,
    tenant: &TenantHost,
    state: &AppState,
    requester: &Requester,
) -> Result<Value, TokenError> {
    let presented = params
        .get("refresh_token")
        .ok_or_else(|| TokenError::new("invalid_request", "refresh_token is required"))?;
    let invalid = || {
        TokenError::new(
            "invalid_grant",
            "the refresh token is invalid, expired or revoked",
        )
    };
    // Fetched before the rotation commits, which must never happen without the new token given.
    let key = signing_key(state, tenant).await?;
    let mut tx = state.pool.begin().await?;
    let Some(token) = db::tokens::rotate(&mut tx, tenant.id(), &token_hash(presented)).await?
    else {
        return Err(invalid());
    };
    if token.rotated_at.is_some() && token.revoked_at.is_none() {
        // Reuse of a rotated token: someone holds a copy. Revoke the whole family.
        let revoked = db::tokens::revoke_family(&mut *tx, tenant.id(), token.family_id).await?;
        let mut event = refresh_refused(
            &token,
            client,
            requester,
            "reuse",
            "refresh token used again after it was rotated (someone holds a copy): its family was revoked",
        );
        event.details["revoked_refresh_tokens"] = json!(revoked);
        db::events::record(&mut *tx, tenant.id(), &event).await?;
        tx.commit().await?;
        tracing::warn!(client.id = %client.client_id, "refresh token reuse detected; family revoked");
        return Err(invalid());
    }
    let refused = if token.revoked_at.is_some() {
        Some(("revoked", "refresh token refused: it was revoked"))
    } else if token.expires_at < Utc::now() {
        Some(("expired", "refresh token refused: it has expired"))
    } else if token.client_id != client.client_id {
        Some((
            "other_client",
            "refresh token refused: it was issued to another application",
        ))
    } else {
        None
    };
    if let Some((reason, description)) = refused {
        drop(tx);
        let event = refresh_refused(&token, client, requester, reason, description);
        db::events::record(&state.pool, tenant.id(), &event).await?;
        return Err(invalid());
    }
    let user = db::users::by_id(&mut *tx, tenant.id(), &token.user_id)
        .await?
        .ok_or_else(invalid)?;
    if user.blocked {
        // Not rotated (the transaction is dropped): the token works again once unblocked.
        drop(tx);
        let event = refresh_refused(
            &token,
            client,
            requester,
            "user_blocked",
            "refresh token refused: the user is blocked",
        );
        db::events::record(&state.pool, tenant.id(), &event).await?;
        return Err(TokenError::new("invalid_grant", "the user is blocked"));
    }
    let next = opaque_token(32);
    db::tokens::insert(
        &mut *tx,
        tenant.id(),
        &token_hash(&next),
        token.family_id,
        &client.client_id,
        &user.user_id,
        &token.scope,
        token.auth_time,
        Utc::now() + chrono::Duration::days(REFRESH_TOKEN_DAYS),
    )
    .await?;
    let exchanged = NewEvent {
        event_type: REFRESH_TOKEN_EXCHANGED,
        client_id: Some(client.client_id.clone()),
        user_id: Some(user.user_id.clone()),
        description: "refresh token exchanged for new tokens".into(),
        requester: requester.clone(),
        ..Default::default()
    };
    db::events::record(&mut *tx, tenant.id(), &exchanged).await?;
    tx.commit().await?;
    let mut response = issue_user_tokens(
        state,
        &key,
        tenant,
        client,
        &user,
        Grant {
            scope: &token.scope,
            auth_time: token.auth_time,
            nonce: None,
        },
    );
    response.insert("refresh_token".into(), json!(next));
    Ok(Value::Object(response))
}

async fn client_credentials(
    params: &Params,
    client: &Client,
    tenant: &TenantHost,
    state: &AppState,
    requester: &Requester,
) -> Result<Value, TokenError> {
    let refuse = |reason: &str, error: TokenError| {
        let event = refusal(
            CLIENT_CREDENTIALS_REFUSED,
            &client.client_id,
            requester,
            &error.description,
            reason,
        );
        record_later(state, tenant, event);
        error
    };
    if client.secret_hash.is_none() {
        return Err(refuse(
            "public_client",
            TokenError::new(
                "unauthorized_client",
                "client_credentials needs a confidential client",
            ),
        ));
    }
    let audience = params
        .get("audience")
        .map(str::to_owned)
        .unwrap_or_else(|| tenant.management_audience());
    // Taken before the grant and the key are read, so a token issued from what a concurrent
    // change replaced is never kept for reuse.
    let version = state.cache.version(tenant.id());
    let grant = state
        .cache
        .grant(&state.pool, tenant.id(), &client.client_id, &audience)
        .await?
        .ok_or_else(|| {
            refuse(
                "no_grant",
                TokenError {
                    status: StatusCode::FORBIDDEN,
                    error: "access_denied",
                    description: format!(
                        "the client has not been granted access to the audience {}",
                        audience.chars().take(200).collect::<String>()
                    ),
                    basic_challenge: false,
                },
            )
        })?;
    let scopes: Vec<&str> = match params.get("scope") {
        Some(requested) => requested
            .split(' ')
            .filter(|s| grant.scope.iter().any(|g| g == s))
            .collect(),
        None => grant.scope.iter().map(String::as_str).collect(),
    };
    let scope = scopes.join(" ");
    let now = Utc::now().timestamp();
    // A client asking again for the same audience and scopes gets the token it already has
    // while at least half its lifetime is left, as Auth0 recommends clients cache it anyway:
    // one RSA signature per client and half-hour instead of one per request.
    let reuse_key = (
        tenant.id(),
        client.client_id.clone(),
        audience.clone(),
        scope.clone(),
    );
    // Every grant is in the log (Auth0's `seccft`), a reused token as well as a new one: the
    // log answers which machine held which access when.
    let exchanged = NewEvent {
        event_type: CLIENT_CREDENTIALS_EXCHANGED,
        client_id: Some(client.client_id.clone()),
        description: format!(
            "client credentials of {} exchanged for an access token",
            client.name
        ),
        details: json!({ "audience": audience, "scope": scope }),
        requester: requester.clone(),
        ..Default::default()
    };
    if let Some(issued) = state
        .cache
        .reusable_token(&reuse_key, now + TOKEN_SECONDS / 2)
    {
        record_later(state, tenant, exchanged);
        return Ok(json!({
            "access_token": issued.access_token, "token_type": "Bearer",
            "expires_in": issued.expires_at - now, "scope": issued.scope,
        }));
    }
    let claims = json!({
        "iss": tenant.issuer, "sub": format!("{}@clients", client.client_id), "aud": audience,
        "iat": now, "exp": now + TOKEN_SECONDS, "scope": scope, "azp": client.client_id,
        "gty": "client-credentials", "jti": opaque_token(16),
    });
    let key = signing_key(state, tenant).await?;
    let access_token = key.sign(ACCESS_TOKEN_TYPE, &claims);
    state.cache.remember_token(
        reuse_key,
        version,
        Arc::new(IssuedToken {
            access_token: access_token.clone(),
            scope: scope.clone(),
            expires_at: now + TOKEN_SECONDS,
        }),
    );
    record_later(state, tenant, exchanged);
    Ok(
        json!({ "access_token": access_token, "token_type": "Bearer", "expires_in": TOKEN_SECONDS, "scope": scope }),
    )
}

fn has_scope(scope: &str, wanted: &str) -> bool {
    scope.split(' ').any(|s| s == wanted)
}

async fn signing_key(state: &AppState, tenant: &TenantHost) -> Result<Arc<SigningKey>, TokenError> {
    state
        .signing_key(tenant.id())
        .await
        .map_err(TokenError::internal)
}

/// What a user's login granted, as its code or refresh token carries it.
struct Grant<'a> {
    scope: &'a str,
    auth_time: DateTime<Utc>,
    nonce: Option<&'a str>,
}

/// The ID token (when `openid` was granted; the one RSA signature of a login) and the opaque
/// access token for `/userinfo`.
fn issue_user_tokens(
    state: &AppState,
    key: &SigningKey,
    tenant: &TenantHost,
    client: &Client,
    user: &db::users::User,
    grant: Grant<'_>,
) -> Map<String, Value> {
    let Grant {
        scope,
        auth_time,
        nonce,
    } = grant;
    let now = Utc::now().timestamp();
    let mut response = Map::new();
    let access = AccessClaims {
        iss: tenant.issuer.to_string(),
        sub: user.user_id.clone(),
        aud: Audience::Many(vec![tenant.url("userinfo")]),
        iat: now,
        exp: now + TOKEN_SECONDS,
        scope: scope.to_owned(),
        azp: client.client_id.clone(),
        jti: opaque_token(16),
        gty: None,
    };
    response.insert(
        "access_token".into(),
        json!(seal_userinfo_token(&state.sealer, tenant.id(), &access)),
    );
    response.insert("token_type".into(), json!("Bearer"));
    response.insert("expires_in".into(), json!(TOKEN_SECONDS));
    response.insert("scope".into(), json!(scope));
    if has_scope(scope, "openid") {
        let mut claims = user_claims(user, scope);
        claims.insert("iss".into(), json!(tenant.issuer));
        claims.insert("aud".into(), json!(client.client_id));
        claims.insert("iat".into(), json!(now));
        claims.insert("exp".into(), json!(now + TOKEN_SECONDS));
        claims.insert("auth_time".into(), json!(auth_time.timestamp()));
        claims.insert("azp".into(), json!(client.client_id));
        if let Some(nonce) = nonce {
            claims.insert("nonce".into(), json!(nonce));
        }
        response.insert(
            "id_token".into(),
            json!(key.sign(ID_TOKEN_TYPE, &Value::Object(claims))),
        );
    }
    response
}

/// `sub` and the profile and email claims the scope allows; shared with `/userinfo`.
pub fn user_claims(user: &db::users::User, scope: &str) -> Map<String, Value> {
    let mut claims = Map::new();
    claims.insert("sub".into(), json!(user.user_id));
    if has_scope(scope, "profile") {
        for (name, value) in [
            ("name", &user.name),
            ("nickname", &user.nickname),
            ("given_name", &user.given_name),
            ("family_name", &user.family_name),
            ("picture", &user.picture),
            ("locale", &user.locale),
        ] {
            if let Some(v) = value {
                claims.insert(name.into(), json!(v));
            }
        }
        claims.insert("updated_at".into(), json!(user.updated_at.to_rfc3339()));
    }
    if has_scope(scope, "email") {
        if let Some(email) = &user.email {
            claims.insert("email".into(), json!(email));
            // Exact does not say whether an address is verified; never claim it is.
            claims.insert("email_verified".into(), json!(user.email_verified));
        }
    }
    claims
}
