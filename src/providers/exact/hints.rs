//! What usually causes the failures an Exact connection's health tab shows, in plain words.

use serde_json::Value;

use super::sites::DEFAULT_BASE_URL;
use crate::providers::HealthFacts;

pub(super) fn hints(facts: &HealthFacts<'_>) -> Vec<String> {
    let base_url = facts
        .options
        .get("baseUrl")
        .and_then(Value::as_str)
        .unwrap_or(DEFAULT_BASE_URL);
    let callback_url = facts.callback_url;
    let answer = facts.last_answer;
    let mut hints = Vec::new();
    match facts.last_step {
        Some("upstream_token_exchange") if matches!(facts.last_status, Some(400 | 401)) => hints.push(format!(
            "Exact refused the code exchange{}. Check that the client ID and client secret are those of the app registered at {base_url}, \
             and that the callback URL registered there is exactly {callback_url}.",
            if answer.contains("invalid_client") { " (invalid_client)" } else { "" }
        )),
        Some("upstream_token_exchange") if facts.last_status.is_none() => hints.push(format!(
            "Exact could not be reached at {base_url} (timeout or connection failure). Check the Base URL and that Exact is up."
        )),
        Some("profile_fetch") => hints.push("Exact issued a token but returned no usable profile (current/Me). Check the app's API permissions in the Exact App Center.".to_owned()),
        Some("callback") if answer.contains("access_denied") => hints.push("Users declined access at Exact. That is their choice; nothing is misconfigured.".to_owned()),
        _ => {}
    }
    if facts.abandoned_without_success {
        hints.push(format!(
            "Users are sent to Exact but never come back. The callback URL {callback_url} is probably not registered in the Exact App Center, \
             or the app is registered at another Exact site than {base_url} (wrong regional Base URL)."
        ));
    }
    if callback_url.starts_with("http://") {
        hints.push("Exact accepts only https callback URLs: serve this tenant over https (GATEHOUSE_PUBLIC_SCHEME=https) for the real Exact Online.".to_owned());
    }
    hints
}
