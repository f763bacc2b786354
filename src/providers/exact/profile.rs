//! The profile read from `current/Me` (JSON asked for; Exact answers XML otherwise) and its
//! mapping onto Auth0's user shape.

use secrecy::ExposeSecret;
use serde_json::{Map, Value};

use super::options::ExactSettings;
use crate::db::users::RootAttributes;
use crate::providers::upstream_http::redact;
use crate::providers::{
    LoginStep, NormalizedProfile, Upstream, UpstreamError, UpstreamFailure, UpstreamTokens,
};

pub(super) async fn fetch(
    upstream: Upstream<'_>,
    tokens: &UpstreamTokens,
) -> Result<NormalizedProfile, UpstreamError> {
    let step = LoginStep::ProfileFetch;
    let config = upstream.config;
    let settings: &ExactSettings = config.settings();
    let http = upstream.http;
    let request = http
        .get(&settings.base_url.join("/api/v1/current/Me"))
        .bearer_auth(tokens.access_token.expose_secret())
        // Without it Exact answers XML.
        .header(reqwest::header::ACCEPT, "application/json");
    let answer = http.send(request, step).await?;
    let secrets = [tokens.access_token.expose_secret()];
    let fail = |failure, description: &str| UpstreamError {
        step,
        failure,
        status: Some(answer.status),
        answer: Some(redact(&answer.body, &secrets)),
        description: description.to_owned(),
    };
    if !(200..300).contains(&answer.status) {
        let message = serde_json::from_slice::<Value>(&answer.body)
            .ok()
            .and_then(|v| {
                v.pointer("/error/message/value")
                    .and_then(Value::as_str)
                    .map(str::to_owned)
            });
        let failure = if (400..500).contains(&answer.status) {
            UpstreamFailure::Refused
        } else {
            UpstreamFailure::BadAnswer
        };
        let description = match message {
            Some(m) => format!(
                "Exact refused the profile request with HTTP {}: {m}",
                answer.status
            ),
            None => format!(
                "Exact answered the profile request with HTTP {}",
                answer.status
            ),
        };
        return Err(fail(failure, &description));
    }
    parse_me_answer(&answer.body, &config.options)
        .map_err(|problem| fail(UpstreamFailure::BadAnswer, problem.description()))
}

/// Why a 2xx `current/Me` answer gave no profile.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MeAnswerProblem {
    NotJson,
    NoUser,
    NoUserId,
}

impl MeAnswerProblem {
    pub fn description(self) -> &'static str {
        match self {
            MeAnswerProblem::NotJson => "Exact's profile answer was not JSON",
            MeAnswerProblem::NoUser => {
                "Exact's profile answer held no user (empty results or no `d`)"
            }
            MeAnswerProblem::NoUserId => "Exact's profile answer had no usable UserID",
        }
    }
}

/// A 2xx `current/Me` answer body, normalised with the connection's `options`.
pub fn parse_me_answer(body: &[u8], options: &Value) -> Result<NormalizedProfile, MeAnswerProblem> {
    let json = serde_json::from_slice::<Value>(body).map_err(|_| MeAnswerProblem::NotJson)?;
    let record = me_record(&json).ok_or(MeAnswerProblem::NoUser)?;
    normalize(record, options).ok_or(MeAnswerProblem::NoUserId)
}

/// The user record inside the OData envelope: `{"d":{"results":[record]}}` (or `{"d":record}`).
fn me_record(json: &Value) -> Option<&Map<String, Value>> {
    let d = json.get("d")?;
    match d.get("results") {
        Some(Value::Array(results)) => results.first()?.as_object(),
        Some(_) => None,
        None => d.as_object().filter(|o| o.contains_key("UserID")),
    }
}

/// Maps Exact's fields onto Auth0's user shape, keeping the rest as profile data.
pub fn normalize(record: &Map<String, Value>, options: &Value) -> Option<NormalizedProfile> {
    let user_id = record.get("UserID")?.as_str()?.trim();
    if user_id.is_empty()
        || user_id.len() > 100
        || user_id.chars().any(|c| c.is_control() || c == '|')
    {
        return None;
    }
    let text = |key: &str| {
        record
            .get(key)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| s.chars().take(512).collect::<String>())
    };
    let with_profile = options
        .get("profile")
        .and_then(Value::as_bool)
        .unwrap_or(true);
    let root = if with_profile {
        RootAttributes {
            email: text("Email"),
            // Exact does not say whether it checked the address.
            email_verified: false,
            name: text("FullName"),
            nickname: text("UserName"),
            given_name: text("FirstName"),
            family_name: text("LastName"),
            picture: text("PictureUrl"),
            locale: text("LanguageCode"),
        }
    } else {
        RootAttributes::default()
    };
    let mut profile_data = record.clone();
    profile_data.remove("__metadata");
    if let Some(Value::Array(drop)) = options.get("non_persistent_attrs") {
        for key in drop.iter().filter_map(Value::as_str) {
            profile_data.remove(key);
        }
    }
    Some(NormalizedProfile {
        provider_user_id: user_id.to_owned(),
        user_id: format!("exact|{user_id}"),
        root,
        profile_data: Value::Object(profile_data),
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn profiles_map_to_auth0s_shape_and_tolerate_nulls() {
        let json = json!({"d": {"results": [{"__metadata": {"uri": "x"}, "UserID": "b0b2", "FullName": "Jan de Vries",
            "FirstName": "Jan", "LastName": "Vries", "UserName": "jan@example.nl", "Email": null,
            "LanguageCode": "nl-NL", "CurrentDivision": 123456}]}});
        let p = normalize(me_record(&json).unwrap(), &json!({})).unwrap();
        assert_eq!(p.user_id, "exact|b0b2");
        assert_eq!(p.root.name.as_deref(), Some("Jan de Vries"));
        assert_eq!(p.root.email, None);
        assert_eq!(p.profile_data["CurrentDivision"], 123456);
        assert!(p.profile_data.get("__metadata").is_none());

        assert!(me_record(&json!({"d": {"results": []}})).is_none());
        assert!(me_record(&json!({})).is_none());
        let no_id = json!({"d": {"results": [{"FullName": "x"}]}});
        assert!(normalize(me_record(&no_id).unwrap(), &json!({})).is_none());
    }
}
