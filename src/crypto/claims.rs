//! The claims of the access tokens Gatehouse issues (RFC 9068 JWTs for APIs, sealed opaque
//! tokens for `/userinfo`), and the token types that keep an ID token from passing as one.

use serde::{Deserialize, Serialize};

/// `typ` of access tokens (RFC 9068), so an ID token (`JWT`) is never taken as one.
pub const ACCESS_TOKEN_TYPE: &str = "at+jwt";
pub const ID_TOKEN_TYPE: &str = "JWT";
pub const LEEWAY_SECONDS: u64 = 30;

/// Claims of an access token (for `/userinfo` or the management API).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AccessClaims {
    pub iss: String,
    pub sub: String,
    pub aud: Audience,
    pub iat: i64,
    pub exp: i64,
    #[serde(default)]
    pub scope: String,
    pub azp: String,
    pub jti: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gty: Option<String>,
}

impl AccessClaims {
    /// Whether the token has expired, allowing [`LEEWAY_SECONDS`] of clock skew.
    pub fn expired(&self) -> bool {
        self.exp + (LEEWAY_SECONDS as i64) < chrono::Utc::now().timestamp()
    }

    pub fn scopes(&self) -> impl Iterator<Item = &str> {
        self.scope.split_whitespace()
    }

    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes().any(|s| s == scope)
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Audience {
    One(String),
    Many(Vec<String>),
}
