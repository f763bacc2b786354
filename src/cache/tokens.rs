//! Tokens kept by the configuration cache: `client_credentials` access tokens as issued, handed
//! out again while fresh (one RSA signature per client and half-hour, not per request), and
//! access tokens this node already verified. Both are tagged like every entry, so a change to
//! the tenant's configuration or keys makes them unusable at once.

use std::sync::Arc;

use uuid::Uuid;

use super::ConfigCache;
use crate::crypto::claims::AccessClaims;

/// A `client_credentials` access token as issued, for handing out again while it is fresh.
pub struct IssuedToken {
    pub access_token: String,
    pub scope: String,
    pub expires_at: i64,
}

/// Which client, audience and scopes a machine-to-machine token was issued for.
pub type IssuedTokenKey = (Uuid, String, String, String);

impl ConfigCache {
    /// A token issued for exactly this key under the tenant's current configuration that is
    /// still valid until at least `fresh_until` (a Unix time).
    pub fn reusable_token(
        &self,
        key: &IssuedTokenKey,
        fresh_until: i64,
    ) -> Option<Arc<IssuedToken>> {
        self.current(&self.issued_tokens, key, key.0)
            .filter(|token| token.expires_at >= fresh_until)
    }

    /// Keeps a token for reuse, tagged with the configuration `version` read before its grant
    /// and key were: a change committed since then makes it unusable.
    pub fn remember_token(&self, key: IssuedTokenKey, version: u64, token: Arc<IssuedToken>) {
        self.keep(&self.issued_tokens, key, version, token);
    }

    /// The claims of an access token this node verified under the tenant's current keys
    /// (its expiry is for the caller to check: a verified token still expires).
    pub fn verified_token(&self, tenant_id: Uuid, digest: [u8; 32]) -> Option<Arc<AccessClaims>> {
        self.current(&self.verified_tokens, &(tenant_id, digest), tenant_id)
    }

    /// Remembers a verified token, tagged with the configuration `version` read before its key
    /// was: a key rotated or revoked since makes the entry unusable.
    pub fn remember_verified(
        &self,
        tenant_id: Uuid,
        digest: [u8; 32],
        version: u64,
        claims: Arc<AccessClaims>,
    ) {
        self.keep(&self.verified_tokens, (tenant_id, digest), version, claims);
    }
}
