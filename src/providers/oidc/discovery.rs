//! The upstream's discovery document and signing keys, fetched with the capped upstream client
//! and cached per connection (a changed connection is a new cache entry, so a new discovery).
//! Keys are fetched again when an ID token names a `kid` the cached set lacks (the upstream
//! rotated), at most once per [`REFETCH_GAP`], so a stream of forged `kid`s cannot make
//! Gatehouse hammer the upstream.

use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::DecodingKey;
use serde::Deserialize;
use serde_json::Value;

use super::options::Settings;
use crate::domain::UpstreamUrl;
use crate::providers::upstream_http::{upstream_text, UpstreamClient};
use crate::providers::{LoginStep, UpstreamError, UpstreamFailure};

/// How long a discovery document or key set is used before it is read again.
const FRESH_FOR: Duration = Duration::from_secs(3600);
/// The least time between two key fetches caused by unknown `kid`s.
pub(super) const REFETCH_GAP: Duration = Duration::from_secs(10);

/// Where the upstream's endpoints are, as discovered (or configured).
#[derive(Debug)]
pub(super) struct Metadata {
    pub issuer: String,
    pub authorization_endpoint: UpstreamUrl,
    pub token_endpoint: UpstreamUrl,
    pub userinfo_endpoint: Option<UpstreamUrl>,
    pub jwks_uri: UpstreamUrl,
    pub token_endpoint_auth_methods: Vec<String>,
    /// `None` when the document does not say.
    pub code_challenge_methods: Option<Vec<String>>,
    /// RFC 9207: the provider names itself on every authorization response.
    pub sends_iss: bool,
}

/// One verification key of the upstream.
pub(super) struct UpstreamKey {
    pub kid: Option<String>,
    /// The `alg` the key is published for, when the JWK says.
    pub alg: Option<String>,
    pub key: DecodingKey,
}

pub(super) struct Keys {
    pub keys: Vec<UpstreamKey>,
}

impl Keys {
    pub fn find(&self, kid: Option<&str>) -> Option<&UpstreamKey> {
        match kid {
            Some(kid) => self.keys.iter().find(|k| k.kid.as_deref() == Some(kid)),
            // Without a kid, only an unambiguous set can be used.
            None => match self.keys.as_slice() {
                [only] => Some(only),
                _ => None,
            },
        }
    }
}

/// A connection's cached discovery and keys.
#[derive(Default)]
pub(super) struct Discovered {
    metadata: RwLock<Option<(Instant, Arc<Metadata>)>>,
    keys: RwLock<Option<(Instant, Arc<Keys>)>>,
    /// When an unknown `kid` last made the keys be read again.
    last_forced: RwLock<Option<Instant>>,
}

#[derive(Deserialize)]
struct Document {
    issuer: Option<String>,
    authorization_endpoint: Option<String>,
    token_endpoint: Option<String>,
    userinfo_endpoint: Option<String>,
    jwks_uri: Option<String>,
    #[serde(default)]
    token_endpoint_auth_methods_supported: Option<Vec<String>>,
    #[serde(default)]
    code_challenge_methods_supported: Option<Vec<String>>,
    #[serde(default)]
    authorization_response_iss_parameter_supported: Option<bool>,
}

fn failure(description: impl Into<String>) -> UpstreamError {
    UpstreamError::new(
        LoginStep::Discovery,
        UpstreamFailure::BadAnswer,
        description,
    )
}

fn fresh<T>(slot: &RwLock<Option<(Instant, Arc<T>)>>) -> Option<Arc<T>> {
    let slot = slot.read().unwrap_or_else(|e| e.into_inner());
    slot.as_ref()
        .filter(|(at, _)| at.elapsed() < FRESH_FOR)
        .map(|(_, v)| v.clone())
}

fn store<T>(slot: &RwLock<Option<(Instant, Arc<T>)>>, value: Arc<T>) {
    *slot.write().unwrap_or_else(|e| e.into_inner()) = Some((Instant::now(), value));
}

impl Discovered {
    /// The upstream's endpoints: configured ones win over discovered ones.
    pub async fn metadata(
        &self,
        http: &UpstreamClient,
        settings: &Settings,
    ) -> Result<Arc<Metadata>, UpstreamError> {
        if let Some(m) = fresh(&self.metadata) {
            return Ok(m);
        }
        let document = match &settings.discovery_url {
            Some(url) => Some(fetch_document(http, url).await?),
            None => None,
        };
        let metadata = Arc::new(merge(settings, document)?);
        store(&self.metadata, metadata.clone());
        Ok(metadata)
    }

    /// The key set, fetched again if `kid` is unknown and the last fetch is not too recent.
    pub async fn keys_for(
        &self,
        http: &UpstreamClient,
        jwks_uri: &UpstreamUrl,
        kid: Option<&str>,
    ) -> Result<Arc<Keys>, UpstreamError> {
        let cached = {
            let slot = self.keys.read().unwrap_or_else(|e| e.into_inner());
            slot.as_ref().map(|(at, keys)| (*at, keys.clone()))
        };
        if let Some((at, keys)) = cached {
            if at.elapsed() < FRESH_FOR {
                if keys.find(kid).is_some() {
                    return Ok(keys);
                }
                // An unknown kid: the upstream may have rotated. Read again, unless an unknown
                // kid already did so a moment ago.
                let mut forced = self.last_forced.write().unwrap_or_else(|e| e.into_inner());
                if forced.is_some_and(|f| f.elapsed() < REFETCH_GAP) {
                    return Ok(keys);
                }
                *forced = Some(Instant::now());
            }
        }
        let keys = Arc::new(fetch_keys(http, jwks_uri).await?);
        store(&self.keys, keys.clone());
        Ok(keys)
    }
}

async fn fetch_json(
    http: &UpstreamClient,
    url: &UpstreamUrl,
    what: &str,
) -> Result<Value, UpstreamError> {
    let request = http
        .get(url.as_str())
        .header(reqwest::header::ACCEPT, "application/json");
    let answer = http
        .fetch_json(request, LoginStep::Discovery, what, &[])
        .await?;
    Ok(answer.json)
}

async fn fetch_document(
    http: &UpstreamClient,
    url: &UpstreamUrl,
) -> Result<Document, UpstreamError> {
    let json = fetch_json(http, url, "its discovery document").await?;
    serde_json::from_value(json)
        .map_err(|_| failure("the provider's discovery document has fields of the wrong type"))
}

fn merge(settings: &Settings, document: Option<Document>) -> Result<Metadata, UpstreamError> {
    let document = document.unwrap_or(Document {
        issuer: None,
        authorization_endpoint: None,
        token_endpoint: None,
        userinfo_endpoint: None,
        jwks_uri: None,
        token_endpoint_auth_methods_supported: None,
        code_challenge_methods_supported: None,
        authorization_response_iss_parameter_supported: None,
    });
    let issuer = match (&settings.issuer, &document.issuer) {
        (Some(configured), Some(discovered))
            if configured.trim_end_matches('/') != discovered.trim_end_matches('/') =>
        {
            return Err(failure(format!(
                "the discovery document names the issuer {}, not the configured {}",
                upstream_text(discovered, &[]),
                upstream_text(configured, &[])
            )))
        }
        // Without a configured issuer, a document read from `{issuer}/.well-known/...` must
        // name that issuer (OpenID Connect Discovery §4.3), or it could claim anyone's.
        (None, Some(discovered)) => {
            let prefix = settings.discovery_url.as_ref().and_then(|u| {
                u.as_str()
                    .strip_suffix("/.well-known/openid-configuration")
                    .map(str::to_owned)
            });
            if let Some(prefix) = prefix {
                if prefix.trim_end_matches('/') != discovered.trim_end_matches('/') {
                    return Err(failure(format!(
                        "the discovery document names the issuer {}, not {} where it was read",
                        upstream_text(discovered, &[]),
                        upstream_text(&prefix, &[])
                    )));
                }
            }
            discovered.clone()
        }
        (Some(_), Some(discovered)) => discovered.clone(),
        (Some(configured), None) => configured.clone(),
        (None, None) => return Err(failure("the discovery document names no issuer")),
    };
    let endpoint =
        |configured: &Option<UpstreamUrl>, discovered: &Option<String>, name: &str| match (
            configured, discovered,
        ) {
            (Some(url), _) => Ok(Some(url.clone())),
            (None, Some(url)) => UpstreamUrl::parse(name, url)
                .map(Some)
                .map_err(|e| failure(format!("the discovery document's {name} {}", e.message))),
            (None, None) => Ok(None),
        };
    let required = |url: Option<UpstreamUrl>, name: &str| {
        url.ok_or_else(|| failure(format!("the discovery document has no {name}")))
    };
    Ok(Metadata {
        issuer,
        authorization_endpoint: required(
            endpoint(
                &settings.authorization_endpoint,
                &document.authorization_endpoint,
                "authorization_endpoint",
            )?,
            "authorization_endpoint",
        )?,
        token_endpoint: required(
            endpoint(
                &settings.token_endpoint,
                &document.token_endpoint,
                "token_endpoint",
            )?,
            "token_endpoint",
        )?,
        userinfo_endpoint: endpoint(
            &settings.userinfo_endpoint,
            &document.userinfo_endpoint,
            "userinfo_endpoint",
        )?,
        jwks_uri: required(
            endpoint(&settings.jwks_uri, &document.jwks_uri, "jwks_uri")?,
            "jwks_uri",
        )?,
        token_endpoint_auth_methods: document
            .token_endpoint_auth_methods_supported
            .unwrap_or_default(),
        code_challenge_methods: document.code_challenge_methods_supported,
        sends_iss: document
            .authorization_response_iss_parameter_supported
            .unwrap_or(false),
    })
}

async fn fetch_keys(http: &UpstreamClient, jwks_uri: &UpstreamUrl) -> Result<Keys, UpstreamError> {
    let json = fetch_json(http, jwks_uri, "its key set").await?;
    let Some(list) = json.get("keys").and_then(Value::as_array) else {
        return Err(failure("the provider's key set has no keys list"));
    };
    // Keys Gatehouse cannot use (encryption keys, unknown types) are skipped, not fatal.
    let keys = list
        .iter()
        .filter(|k| {
            k.get("use")
                .and_then(Value::as_str)
                .is_none_or(|u| u == "sig")
        })
        .filter_map(|k| {
            let jwk: Jwk = serde_json::from_value(k.clone()).ok()?;
            // A symmetric key in a public key set is never an upstream's signing key.
            if matches!(
                jwk.algorithm,
                jsonwebtoken::jwk::AlgorithmParameters::OctetKey(_)
            ) {
                return None;
            }
            let key = DecodingKey::from_jwk(&jwk).ok()?;
            Some(UpstreamKey {
                kid: k.get("kid").and_then(Value::as_str).map(str::to_owned),
                alg: k.get("alg").and_then(Value::as_str).map(str::to_owned),
                key,
            })
        })
        .collect();
    Ok(Keys { keys })
}
