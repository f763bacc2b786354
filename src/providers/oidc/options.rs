//! The options of an `oidc` connection, in Auth0's enterprise OpenID Connect shape: where the
//! upstream is (`discovery_url` or `issuer`, or every endpoint given), the client, the scopes,
//! PKCE, how claims map onto the user, and extra authorize parameters.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::domain::{FieldError, UpstreamUrl};
use crate::providers::code_exchange::ClientAuth;
use crate::providers::typed_options::{self, text};
use crate::providers::ParsedOptions;

/// The options as an operator sends them (and as stored, without the secret).
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(super) struct OidcOptions {
    #[serde(default)]
    pub client_id: Option<String>,
    #[serde(default, skip_serializing)]
    pub client_secret: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discovery_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    /// `back_channel` (the code flow); `front_channel` is refused.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization_endpoint: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_endpoint: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub userinfo_endpoint: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwks_uri: Option<String>,
    /// Auth0 returns the fetched discovery document here; accepted so its exports round-trip,
    /// but Gatehouse reads discovery itself (and caches it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oidc_metadata: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_endpoint_auth_method: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connection_settings: Option<ConnectionSettings>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attribute_map: Option<AttributeMap>,
    /// Call the userinfo endpoint after validating the ID token, and merge its claims.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fetch_userinfo: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upstream_params: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain_aliases: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub set_user_root_attributes: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub non_persistent_attrs: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ConnectionSettings {
    /// `auto` (when discovery advertises S256), `S256`, or `disabled`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pkce: Option<String>,
}

/// Auth0's `attribute_map`: `mapping_mode` and, for `use_map`, user field → claim
/// (`"email"`, or Auth0's `"${context.tokenset.email}"`).
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(super) struct AttributeMap {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mapping_mode: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub userinfo_scope: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attributes: Option<std::collections::BTreeMap<String, String>>,
}

/// How PKCE is used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Pkce {
    /// When the discovery document lists S256 (or says nothing of PKCE methods: sending a
    /// challenge an upstream ignores is harmless).
    Auto,
    Always,
    Disabled,
}

/// The user fields a claim can be mapped to.
pub(super) const USER_FIELDS: &[&str] = &[
    "email",
    "email_verified",
    "name",
    "nickname",
    "given_name",
    "family_name",
    "picture",
    "locale",
];

/// What a login uses, validated.
#[derive(Debug)]
pub(super) struct Settings {
    pub client_id: String,
    /// Where discovery is read, unless every endpoint was given.
    pub discovery_url: Option<UpstreamUrl>,
    /// The issuer ID tokens must name: configured, or the discovery document's.
    pub issuer: Option<String>,
    pub scope: String,
    pub authorization_endpoint: Option<UpstreamUrl>,
    pub token_endpoint: Option<UpstreamUrl>,
    pub userinfo_endpoint: Option<UpstreamUrl>,
    pub jwks_uri: Option<UpstreamUrl>,
    pub auth: Option<ClientAuth>,
    pub pkce: Pkce,
    /// User field → claim name.
    pub attributes: Vec<(String, String)>,
    pub fetch_userinfo: bool,
    pub upstream_params: Vec<(String, String)>,
    pub non_persistent_attrs: Vec<String>,
}

fn url(field: &str, value: Option<&str>) -> Result<Option<UpstreamUrl>, FieldError> {
    match value.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => UpstreamUrl::parse(&format!("options.{field}"), s).map(Some),
    }
}

/// `${context.tokenset.email}` and `${context.userinfo.email}` are Auth0's names for the claim
/// `email`; a plain claim name is accepted as well.
fn claim_name(field: &str, value: &str) -> Result<String, FieldError> {
    let value = value.trim();
    let inner = value
        .strip_prefix("${")
        .and_then(|v| v.strip_suffix('}'))
        .map(|v| {
            v.strip_prefix("context.tokenset.")
                .or_else(|| v.strip_prefix("context.userinfo."))
                .unwrap_or("")
        })
        .unwrap_or(value);
    let ok = !inner.is_empty()
        && inner.len() <= 128
        && inner
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-:.".contains(c));
    if ok {
        Ok(inner.to_owned())
    } else {
        Err(FieldError::new(
            format!("options.attribute_map.attributes.{field}"),
            "must be a claim name such as email, or ${context.tokenset.email}",
        ))
    }
}

pub(super) fn validate(options: &OidcOptions) -> Result<Settings, FieldError> {
    let client_id = text("client_id", options.client_id.as_deref(), 256)?.ok_or_else(|| {
        FieldError::new(
            "options.client_id",
            "is required (the client id your identity provider gave the app)",
        )
    })?;
    match options.channel.as_deref() {
        None | Some("back_channel") => {}
        Some("front_channel") => {
            return Err(FieldError::new(
                "options.type",
                "front_channel is not supported: use back_channel (the code flow)",
            ))
        }
        Some(_) => return Err(FieldError::new("options.type", "must be back_channel")),
    }
    let discovery_url = url("discovery_url", options.discovery_url.as_deref())?;
    let issuer = url("issuer", options.issuer.as_deref())?;
    let authorization_endpoint = url(
        "authorization_endpoint",
        options.authorization_endpoint.as_deref(),
    )?;
    let token_endpoint = url("token_endpoint", options.token_endpoint.as_deref())?;
    let userinfo_endpoint = url("userinfo_endpoint", options.userinfo_endpoint.as_deref())?;
    let jwks_uri = url("jwks_uri", options.jwks_uri.as_deref())?;
    let everything_given = issuer.is_some()
        && authorization_endpoint.is_some()
        && token_endpoint.is_some()
        && jwks_uri.is_some();
    let discovery_url = match (discovery_url, &issuer) {
        (Some(d), _) => Some(d),
        (None, _) if everything_given => None,
        (None, Some(issuer)) => Some(UpstreamUrl::parse(
            "options.issuer",
            &format!(
                "{}/.well-known/openid-configuration",
                issuer.as_str().trim_end_matches('/')
            ),
        )?),
        (None, None) => {
            return Err(FieldError::new(
                "options.discovery_url",
                "is required: the provider's discovery document (…/.well-known/openid-configuration), or its issuer",
            ))
        }
    };
    // An issuer is compared as written (OpenID Connect Discovery §4.3): only the value given,
    // not the normalised URL, which may have gained a trailing slash.
    let issuer = options
        .issuer
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned);
    let mut scopes: Vec<&str> = vec!["openid"];
    if let Some(scope) = options.scope.as_deref() {
        if scope.len() > 1024 || scope.chars().any(|c| c.is_control() || c == '"') {
            return Err(FieldError::new(
                "options.scope",
                "must be scopes separated by spaces, at most 1024 characters",
            ));
        }
        for s in scope.split([' ', ',']).filter(|s| !s.is_empty()) {
            if !scopes.contains(&s) {
                scopes.push(s);
            }
        }
    } else {
        scopes.extend(["profile", "email"]);
    }
    let auth = match options.token_endpoint_auth_method.as_deref() {
        None => None,
        Some("client_secret_post") => Some(ClientAuth::Post),
        Some("client_secret_basic") => Some(ClientAuth::Basic),
        Some(_) => {
            return Err(FieldError::new(
                "options.token_endpoint_auth_method",
                "must be client_secret_post or client_secret_basic",
            ))
        }
    };
    let pkce = match options
        .connection_settings
        .as_ref()
        .and_then(|c| c.pkce.as_deref())
    {
        None | Some("auto") => Pkce::Auto,
        Some("S256") => Pkce::Always,
        Some("disabled") => Pkce::Disabled,
        Some(_) => {
            return Err(FieldError::new(
                "options.connection_settings.pkce",
                "must be auto, S256 or disabled",
            ))
        }
    };
    let mut attributes = Vec::new();
    if let Some(map) = &options.attribute_map {
        match map.mapping_mode.as_deref() {
            None | Some("use_map") | Some("bind_all") | Some("basic_profile") => {}
            Some(_) => {
                return Err(FieldError::new(
                    "options.attribute_map.mapping_mode",
                    "must be use_map, bind_all or basic_profile",
                ))
            }
        }
        for (field, claim) in map.attributes.iter().flatten() {
            if !USER_FIELDS.contains(&field.as_str()) {
                return Err(FieldError::new(
                    format!(
                        "options.attribute_map.attributes.{}",
                        field.chars().take(64).collect::<String>()
                    ),
                    format!("is not a user field (one of {})", USER_FIELDS.join(", ")),
                ));
            }
            attributes.push((field.clone(), claim_name(field, claim)?));
        }
    }
    if let Some(aliases) = &options.domain_aliases {
        if aliases.len() > 50 || aliases.iter().any(|a| a.is_empty() || a.len() > 255) {
            return Err(FieldError::new(
                "options.domain_aliases",
                "must be at most 50 domain names",
            ));
        }
    }
    typed_options::root_attributes_policy(options.set_user_root_attributes.as_deref())?;
    let non_persistent_attrs =
        typed_options::attribute_names(options.non_persistent_attrs.as_ref())?;
    if options
        .oidc_metadata
        .as_ref()
        .is_some_and(|m| !m.is_object())
    {
        return Err(FieldError::new(
            "options.oidc_metadata",
            "must be an object",
        ));
    }
    Ok(Settings {
        client_id,
        discovery_url,
        issuer,
        scope: scopes.join(" "),
        authorization_endpoint,
        token_endpoint,
        userinfo_endpoint,
        jwks_uri,
        auth,
        pkce,
        attributes,
        fetch_userinfo: options.fetch_userinfo.unwrap_or(false),
        upstream_params: typed_options::upstream_params(options.upstream_params.as_ref())?,
        non_persistent_attrs,
    })
}

/// Validates what an operator sent; the public part is stored with defaults filled in.
pub(super) fn parse(options: &Value, has_stored_secret: bool) -> Result<ParsedOptions, FieldError> {
    let mut typed: OidcOptions = typed_options::parse("oidc", options)?;
    validate(&typed)?;
    let client_secret = typed_options::take_secret(&mut typed.client_secret, has_stored_secret)?;
    typed.channel.get_or_insert_with(|| "back_channel".into());
    typed
        .set_user_root_attributes
        .get_or_insert_with(|| "on_each_login".into());
    Ok(ParsedOptions {
        public: typed_options::public(&typed),
        client_secret,
    })
}

/// The stored options, read back for a login.
pub(super) fn settings(options: &Value) -> Result<Settings, FieldError> {
    validate(&typed_options::parse::<OidcOptions>("oidc", options)?)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn ok(extra: Value) -> Result<ParsedOptions, FieldError> {
        let mut options = json!({"client_id": "c", "client_secret": "s", "discovery_url": "https://idp.example/.well-known/openid-configuration"});
        options
            .as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        parse(&options, false)
    }

    #[test]
    fn options_are_refused_field_by_field() {
        for (extra, field) in [
            (json!({"surprise": 1}), "options.surprise"),
            (json!({"client_id": ""}), "options.client_id"),
            (
                json!({"discovery_url": "http://idp.example/.well-known/openid-configuration"}),
                "options.discovery_url",
            ),
            (json!({"type": "front_channel"}), "options.type"),
            (
                json!({"token_endpoint_auth_method": "private_key_jwt"}),
                "options.token_endpoint_auth_method",
            ),
            (
                json!({"connection_settings": {"pkce": "plain"}}),
                "options.connection_settings.pkce",
            ),
            (
                json!({"attribute_map": {"attributes": {"salary": "pay"}}}),
                "options.attribute_map.attributes.salary",
            ),
            (
                json!({"attribute_map": {"attributes": {"email": "${evil()}"}}}),
                "options.attribute_map.attributes.email",
            ),
            (
                json!({"upstream_params": {"nonce": "fixed"}}),
                "options.upstream_params.nonce",
            ),
            (json!({"scope": 5}), "options.scope"),
        ] {
            assert_eq!(ok(extra.clone()).unwrap_err().field, field, "{extra}");
        }
        let e = parse(&json!({"client_id": "c", "client_secret": "s"}), false).unwrap_err();
        assert_eq!(e.field, "options.discovery_url");
        let e = parse(
            &json!({"client_id": "c", "issuer": "https://idp.example"}),
            false,
        )
        .unwrap_err();
        assert_eq!(e.field, "options.client_secret");
    }

    #[test]
    fn defaults_are_stored_and_the_secret_never_is() {
        let parsed = ok(json!({"scope": "email offline_access"})).unwrap();
        assert!(parsed.public.get("client_secret").is_none());
        assert_eq!(parsed.public["type"], "back_channel");
        let s = settings(&parsed.public).unwrap();
        assert_eq!(s.scope, "openid email offline_access");
        assert_eq!(s.pkce, Pkce::Auto);
        let from_issuer =
            settings(&json!({"client_id": "c", "issuer": "http://127.0.0.1:9/"})).unwrap();
        assert_eq!(
            from_issuer.discovery_url.unwrap().as_str(),
            "http://127.0.0.1:9/.well-known/openid-configuration"
        );
        assert_eq!(from_issuer.issuer.as_deref(), Some("http://127.0.0.1:9/"));
    }
}
