//! What usually causes the failures an OpenID Connect connection's health tab shows.

use crate::providers::HealthFacts;

pub(super) fn hints(facts: &HealthFacts<'_>) -> Vec<String> {
    let mut hints = Vec::new();
    let callback_url = facts.callback_url;
    match facts.last_step {
        Some("discovery") => hints.push(format!(
            "The provider's discovery document or keys could not be read ({}). Check the discovery URL (or issuer) and that the provider is up.",
            facts.last_description
        )),
        Some("id_token_validation") => hints.push(format!(
            "The provider's ID token was refused: {}. Check the client ID and the issuer; if the provider rotated its keys, the next login reads them again.",
            facts.last_description
        )),
        Some("upstream_token_exchange") if matches!(facts.last_status, Some(400 | 401)) => hints.push(format!(
            "The provider refused the code exchange{}. Check the client ID and secret, and that the redirect URI registered there is exactly {callback_url}.",
            if facts.last_answer.contains("invalid_client") { " (invalid_client)" } else { "" }
        )),
        Some("upstream_token_exchange") if facts.last_status.is_none() => hints.push(
            "The provider's token endpoint could not be reached (timeout, connection failure or a forbidden address).".to_owned(),
        ),
        Some("profile_fetch") => hints.push("The provider's userinfo endpoint gave no usable answer. Turn off \"Read userinfo\" or check the access token's scopes.".to_owned()),
        Some("callback") if facts.last_answer.contains("access_denied") => hints.push("Users declined access at the provider. That is their choice; nothing is misconfigured.".to_owned()),
        _ => {}
    }
    if facts.abandoned_without_success {
        hints.push(format!(
            "Users are sent to the provider but never come back. Register {callback_url} as a redirect URI of the app at the provider."
        ));
    }
    hints
}
