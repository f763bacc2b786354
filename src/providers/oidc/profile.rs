//! The user an OpenID Connect login brings: the validated ID token's claims, with the
//! userinfo endpoint's merged in when the connection asks for them (its `sub` must be the ID
//! token's), mapped onto Auth0's user shape. The user id is Auth0's `oidc|{connection}|{sub}`.

use secrecy::ExposeSecret;
use serde_json::{Map, Value};

use super::discovery::Metadata;
use super::options::Settings;
use crate::db::users::RootAttributes;
use crate::providers::upstream_http::UpstreamClient;
use crate::providers::{
    LoginStep, NormalizedProfile, UpstreamError, UpstreamFailure, UpstreamTokens,
};

/// Claims about the token itself, not the user: never kept as profile data.
const TOKEN_CLAIMS: &[&str] = &[
    "iss",
    "aud",
    "exp",
    "iat",
    "nbf",
    "jti",
    "nonce",
    "at_hash",
    "c_hash",
    "azp",
    "sid",
    "auth_time",
    "acr",
    "amr",
];

/// The claims of `/userinfo`, which must be about the ID token's user.
pub(super) async fn userinfo(
    http: &UpstreamClient,
    metadata: &Metadata,
    tokens: &UpstreamTokens,
    sub: &str,
) -> Result<Map<String, Value>, UpstreamError> {
    let step = LoginStep::ProfileFetch;
    let Some(endpoint) = &metadata.userinfo_endpoint else {
        return Err(UpstreamError::new(
            step,
            UpstreamFailure::BadAnswer,
            "the connection asks for userinfo but the provider has no userinfo endpoint",
        ));
    };
    let request = http
        .get(endpoint.as_str())
        .bearer_auth(tokens.access_token.expose_secret())
        .header(reqwest::header::ACCEPT, "application/json");
    let answer = http
        .fetch_json(
            request,
            step,
            "userinfo",
            &[tokens.access_token.expose_secret()],
        )
        .await?;
    let Some(claims) = answer.json.as_object().cloned() else {
        return Err(answer.fail("the provider's userinfo answer is not a JSON object"));
    };
    if claims.get("sub").and_then(Value::as_str) != Some(sub) {
        return Err(answer.fail(
            "the provider's userinfo answer is about another user (sub differs from the ID token's)",
        ));
    }
    Ok(claims)
}

fn text(claims: &Map<String, Value>, claim: &str) -> Option<String> {
    claims
        .get(claim)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.chars().take(512).collect())
}

/// Maps the claims onto the user: the connection's `attribute_map` first, then the standard
/// claims. `email_verified` is true only when the provider says so.
pub(super) fn normalize(
    settings: &Settings,
    connection: &str,
    claims: Map<String, Value>,
) -> NormalizedProfile {
    let sub = claims
        .get("sub")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let claim_for = |field: &str, default: &[&str]| -> Option<String> {
        match settings.attributes.iter().find(|(f, _)| f == field) {
            Some((_, claim)) => text(&claims, claim),
            None => default.iter().find_map(|c| text(&claims, c)),
        }
    };
    let verified_claim = settings
        .attributes
        .iter()
        .find(|(f, _)| f == "email_verified")
        .map(|(_, c)| c.as_str())
        .unwrap_or("email_verified");
    let email_verified = matches!(claims.get(verified_claim), Some(Value::Bool(true)))
        || claims.get(verified_claim).and_then(Value::as_str) == Some("true");
    let root = RootAttributes {
        email: claim_for("email", &["email"]),
        email_verified,
        name: claim_for("name", &["name"]),
        nickname: claim_for("nickname", &["nickname", "preferred_username"]),
        given_name: claim_for("given_name", &["given_name"]),
        family_name: claim_for("family_name", &["family_name"]),
        picture: claim_for("picture", &["picture"]),
        locale: claim_for("locale", &["locale"]),
    };
    let mut profile_data = claims;
    for key in TOKEN_CLAIMS
        .iter()
        .copied()
        .map(str::to_owned)
        .chain(settings.non_persistent_attrs.iter().cloned())
    {
        profile_data.remove(&key);
    }
    NormalizedProfile {
        user_id: format!("oidc|{connection}|{sub}"),
        provider_user_id: sub,
        root,
        profile_data: Value::Object(profile_data),
    }
}
