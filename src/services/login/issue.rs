//! Minting a user's tokens: the ID token (when `openid` was granted; the one RSA signature of
//! a login), the opaque access token for `/userinfo`, and the claims both carry.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{json, Map, Value};

use super::TOKEN_SECONDS;
use crate::crypto::claims::{AccessClaims, Audience, ID_TOKEN_TYPE};
use crate::crypto::random::opaque_token;
use crate::crypto::seal::Sealer;
use crate::crypto::signing::SigningKey;
use crate::db::clients::Client;
use crate::db::users::User;
use crate::services::hosts::TenantHost;
use crate::services::tokens::seal_userinfo_token;

/// A successful token answer (RFC 6749 §5.1, OpenID Connect Core §3.1.3.3).
#[derive(Debug, Serialize)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: i64,
    pub scope: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
}

impl TokenResponse {
    pub fn bearer(access_token: String, expires_in: i64, scope: String) -> Self {
        TokenResponse {
            access_token,
            token_type: "Bearer",
            expires_in,
            scope,
            id_token: None,
            refresh_token: None,
        }
    }
}

/// What a user's login granted, as its code or refresh token carries it.
pub(super) struct Grant<'a> {
    pub scope: &'a str,
    pub auth_time: DateTime<Utc>,
    pub nonce: Option<&'a str>,
}

/// The user's access token and, with `openid`, the ID token.
pub(super) fn user_tokens(
    sealer: &Sealer,
    key: &SigningKey,
    tenant: &TenantHost,
    client: &Client,
    user: &User,
    grant: Grant<'_>,
) -> TokenResponse {
    let Grant {
        scope,
        auth_time,
        nonce,
    } = grant;
    let now = Utc::now().timestamp();
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
    let mut response = TokenResponse::bearer(
        seal_userinfo_token(sealer, tenant.id(), &access),
        TOKEN_SECONDS,
        scope.to_owned(),
    );
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
        response.id_token = Some(key.sign(ID_TOKEN_TYPE, &Value::Object(claims)));
    }
    response
}

fn has_scope(scope: &str, wanted: &str) -> bool {
    scope.split(' ').any(|s| s == wanted)
}

/// `sub` and the profile and email claims the scope allows; shared with `/userinfo`.
pub fn user_claims(user: &User, scope: &str) -> Map<String, Value> {
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
            // True only when the upstream said so (Exact never does).
            claims.insert("email_verified".into(), json!(user.email_verified));
        }
    }
    claims
}
