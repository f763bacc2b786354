//! Sealed secrets: AES-256-GCM under a master key, bound to the row that owns them.
//!
//! A sealed value is the text `v1.<key id>.<base64url(nonce || ciphertext)>`. The key id lets a
//! node holding several keys (during rotation) pick the right one, and lets the rotation command
//! find what still needs re-sealing. The associated data names the tenant and the record, so a
//! ciphertext copied into another row, or another tenant, fails to open.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use uuid::Uuid;

const VERSION: &str = "v1";
const NONCE_LEN: usize = 12;

/// What a sealed value is bound to: its tenant and the record (table, id and field).
#[derive(Clone, Debug)]
pub struct SealContext(String);

/// Every purpose a value is sealed for, named in one place so that no two purposes can share
/// a context by accident (a value sealed for one never opens as another).
impl SealContext {
    pub fn new(tenant_id: Uuid, record: &str) -> Self {
        SealContext(format!("gatehouse:{tenant_id}:{record}"))
    }

    /// A connection's upstream client secret.
    pub fn connection_secret(tenant_id: Uuid, connection_id: &str) -> Self {
        Self::new(
            tenant_id,
            &format!("connection:{connection_id}:client_secret"),
        )
    }

    /// A tenant's private signing key.
    pub fn signing_key(tenant_id: Uuid, kid: &str) -> Self {
        Self::new(tenant_id, &format!("signing_key:{kid}:private_key"))
    }

    /// The upstream tokens stored with a user's identity at a connection.
    pub fn identity_tokens(tenant_id: Uuid, user_id: &str, connection_id: &str) -> Self {
        Self::new(
            tenant_id,
            &format!("identity:{user_id}:{connection_id}:tokens"),
        )
    }

    /// What a login's strategy remembers between /authorize and the callback (nonce, PKCE
    /// verifier), bound to the login's trace.
    pub fn login_memo(tenant_id: Uuid, trace_id: Uuid) -> Self {
        Self::new(tenant_id, &format!("login:{trace_id}:upstream_memo"))
    }

    /// The refresh token a code's redemption issued, for a repeat of that redemption.
    pub fn redemption_answer(tenant_id: Uuid, trace_id: Uuid) -> Self {
        Self::new(tenant_id, &format!("code:{trace_id}:refresh_token"))
    }

    /// The refresh token a rotation replaced a token with, for a repeat of that rotation.
    pub fn rotation_successor(tenant_id: Uuid) -> Self {
        Self::new(tenant_id, "refresh_token:successor")
    }

    /// The claims of an opaque `/userinfo` access token.
    pub fn userinfo_token(tenant_id: Uuid) -> Self {
        Self::new(tenant_id, "userinfo_access_token")
    }

    /// A stored management API answer, replayed for a repeated `Idempotency-Key`.
    pub fn idempotent_answer(tenant_id: Uuid, stored_key: &str) -> Self {
        Self::new(tenant_id, &format!("idempotency:{stored_key}"))
    }
}

pub struct MasterKey {
    id: String,
    cipher: Aes256Gcm,
}

impl MasterKey {
    /// Parses the base64 text of 32 key bytes.
    pub fn parse(text: &SecretString) -> Result<Self, String> {
        let bytes = STANDARD
            .decode(text.expose_secret().trim())
            .or_else(|_| URL_SAFE_NO_PAD.decode(text.expose_secret().trim()))
            .map_err(|_| {
                "must be base64 of 32 random bytes (try `openssl rand -base64 32`)".to_owned()
            })?;
        Self::from_bytes(&bytes)
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Self, String> {
        if bytes.len() != 32 {
            return Err(format!(
                "must be base64 of 32 random bytes, got {} bytes (try `openssl rand -base64 32`)",
                bytes.len()
            ));
        }
        let digest = Sha256::new_with_prefix(b"gatehouse key id\0")
            .chain_update(bytes)
            .finalize();
        let id = digest[..6].iter().map(|b| format!("{b:02x}")).collect();
        let cipher =
            Aes256Gcm::new_from_slice(bytes).map_err(|_| "invalid key length".to_owned())?;
        Ok(MasterKey { id, cipher })
    }

    /// A fresh random key, as the base64 text `parse` takes.
    pub fn generate_text() -> String {
        let mut bytes = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        STANDARD.encode(bytes)
    }

    pub fn id(&self) -> &str {
        &self.id
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SealError {
    #[error("sealed value is malformed")]
    Malformed,
    #[error("sealed under key {0}, which this node does not hold")]
    UnknownKey(String),
    #[error("sealed value does not open under its context (wrong key, or moved from another row)")]
    Rejected,
}

/// Seals with the current master key and opens with it or any previous one.
pub struct Sealer {
    current: MasterKey,
    previous: Vec<MasterKey>,
}

impl Sealer {
    pub fn new(current: MasterKey, previous: Vec<MasterKey>) -> Self {
        Sealer { current, previous }
    }

    /// A sealer keyed by a secret that a request presents (an authorization code, a refresh
    /// token) instead of by the master key. The database keeps only a hash of such a secret
    /// (of another derivation than this key's), so what this seals opens only for a request
    /// that presents the secret again: not for someone holding the database, nor the
    /// database and the master key.
    pub fn for_holder_of(secret: &str) -> Sealer {
        let key = Sha256::new_with_prefix(b"gatehouse holder key\0")
            .chain_update(secret.as_bytes())
            .finalize();
        let key = MasterKey::from_bytes(&key).expect("a SHA-256 digest is a 32-byte key");
        Sealer::new(key, Vec::new())
    }

    pub fn current_key_id(&self) -> &str {
        self.current.id()
    }

    pub fn seal(&self, plaintext: &[u8], context: &SealContext) -> String {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let ciphertext = self
            .current
            .cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad: context.0.as_bytes(),
                },
            )
            .expect("AES-GCM encryption of an in-memory buffer cannot fail");
        let mut blob = Vec::with_capacity(NONCE_LEN + ciphertext.len());
        blob.extend_from_slice(&nonce);
        blob.extend_from_slice(&ciphertext);
        format!(
            "{VERSION}.{}.{}",
            self.current.id,
            URL_SAFE_NO_PAD.encode(blob)
        )
    }

    pub fn seal_str(&self, plaintext: &str, context: &SealContext) -> String {
        self.seal(plaintext.as_bytes(), context)
    }

    pub fn open(&self, sealed: &str, context: &SealContext) -> Result<Vec<u8>, SealError> {
        let mut parts = sealed.splitn(3, '.');
        let (Some(VERSION), Some(key_id), Some(body)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(SealError::Malformed);
        };
        let key = std::iter::once(&self.current)
            .chain(&self.previous)
            .find(|k| k.id == key_id)
            .ok_or_else(|| SealError::UnknownKey(key_id.to_owned()))?;
        let blob = URL_SAFE_NO_PAD
            .decode(body)
            .map_err(|_| SealError::Malformed)?;
        if blob.len() < NONCE_LEN + 16 {
            return Err(SealError::Malformed);
        }
        let (nonce, ciphertext) = blob.split_at(NONCE_LEN);
        key.cipher
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad: context.0.as_bytes(),
                },
            )
            .map_err(|_| SealError::Rejected)
    }

    pub fn open_string(
        &self,
        sealed: &str,
        context: &SealContext,
    ) -> Result<SecretString, SealError> {
        let bytes = self.open(sealed, context)?;
        String::from_utf8(bytes)
            .map(SecretString::from)
            .map_err(|_| SealError::Malformed)
    }

    /// True when `sealed` is under an older key and should be re-sealed by rotation.
    pub fn is_stale(&self, sealed: &str) -> bool {
        sealed
            .split('.')
            .nth(1)
            .is_some_and(|id| id != self.current.id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> MasterKey {
        MasterKey::parse(&SecretString::from(MasterKey::generate_text())).unwrap()
    }

    #[test]
    fn sealed_value_round_trips_and_hides_the_plaintext() {
        let sealer = Sealer::new(key(), vec![]);
        let ctx = SealContext::new(Uuid::new_v4(), "connection:con_1:client_secret");
        let sealed = sealer.seal_str("s3cret-value", &ctx);
        assert!(!sealed.contains("s3cret"));
        assert_eq!(sealer.open(&sealed, &ctx).unwrap(), b"s3cret-value");
    }

    #[test]
    fn a_value_does_not_open_under_another_key() {
        let ctx = SealContext::new(Uuid::new_v4(), "r");
        let sealed = Sealer::new(key(), vec![]).seal_str("x", &ctx);
        let err = Sealer::new(key(), vec![]).open(&sealed, &ctx).unwrap_err();
        assert!(matches!(err, SealError::UnknownKey(_)));
    }

    #[test]
    fn a_value_moved_to_another_record_or_tenant_does_not_open() {
        let sealer = Sealer::new(key(), vec![]);
        let tenant = Uuid::new_v4();
        let sealed = sealer.seal_str(
            "x",
            &SealContext::new(tenant, "connection:con_a:client_secret"),
        );
        let other_row = SealContext::new(tenant, "connection:con_b:client_secret");
        let other_tenant = SealContext::new(Uuid::new_v4(), "connection:con_a:client_secret");
        assert_eq!(sealer.open(&sealed, &other_row), Err(SealError::Rejected));
        assert_eq!(
            sealer.open(&sealed, &other_tenant),
            Err(SealError::Rejected)
        );
    }

    #[test]
    fn a_holder_sealed_value_opens_only_with_the_same_secret() {
        let ctx = SealContext::redemption_answer(Uuid::new_v4(), Uuid::new_v4());
        let sealed = Sealer::for_holder_of("the-code").seal(b"refresh", &ctx);
        assert_eq!(
            Sealer::for_holder_of("the-code")
                .open(&sealed, &ctx)
                .unwrap(),
            b"refresh"
        );
        assert!(Sealer::for_holder_of("another-code")
            .open(&sealed, &ctx)
            .is_err());
        assert!(Sealer::new(key(), vec![]).open(&sealed, &ctx).is_err());
    }

    #[test]
    fn previous_keys_open_and_mark_values_stale() {
        let old_text = MasterKey::generate_text();
        let ctx = SealContext::new(Uuid::new_v4(), "r");
        let old = Sealer::new(
            MasterKey::parse(&SecretString::from(old_text.clone())).unwrap(),
            vec![],
        );
        let sealed = old.seal_str("x", &ctx);
        let rotated = Sealer::new(
            key(),
            vec![MasterKey::parse(&SecretString::from(old_text)).unwrap()],
        );
        assert_eq!(rotated.open(&sealed, &ctx).unwrap(), b"x");
        assert!(rotated.is_stale(&sealed));
        assert!(!rotated.is_stale(&rotated.seal_str("x", &ctx)));
    }

    #[test]
    fn tampered_or_malformed_values_are_refused() {
        let sealer = Sealer::new(key(), vec![]);
        let ctx = SealContext::new(Uuid::new_v4(), "r");
        let sealed = sealer.seal_str("x", &ctx);
        let mut tampered = sealed.clone();
        let last = tampered.pop().unwrap();
        tampered.push(if last == 'A' { 'B' } else { 'A' });
        assert!(sealer.open(&tampered, &ctx).is_err());
        for bad in [
            "",
            "v1",
            "v2.a.b",
            "v1.x",
            &format!("v1.{}.!!", sealer.current_key_id()),
        ] {
            assert!(sealer.open(bad, &ctx).is_err(), "{bad}");
        }
    }
}
