//! The Exact Online strategy, following EXACT.md: endpoints under the connection's base URL,
//! credentials in the form body, `expires_in` as a string, the OData envelope of `current/Me`,
//! and `user_id = exact|<UserID>`.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::future::BoxFuture;
use oauth2::basic::{
    BasicErrorResponse, BasicRevocationErrorResponse, BasicTokenIntrospectionResponse,
    BasicTokenType,
};
use oauth2::{
    AccessToken, AuthType, AuthorizationCode, ClientId, ClientSecret, EndpointNotSet, EndpointSet,
    RedirectUrl, RefreshToken, RequestTokenError, Scope, StandardRevocableToken, TokenResponse,
    TokenUrl,
};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{json, Map, Value};

use super::upstream_http::{self, redact, Answer};
use super::{
    LoginStep, NormalizedProfile, ParsedOptions, Provider, UpstreamConfig, UpstreamError,
    UpstreamFailure, UpstreamTokens,
};
use crate::db::users::RootAttributes;
use crate::domain::{BaseUrl, FieldError};

pub struct Exact;

const KNOWN_OPTIONS: &[&str] = &[
    "client_id",
    "client_secret",
    "baseUrl",
    "profile",
    "set_user_root_attributes",
    "upstream_params",
    "non_persistent_attrs",
    "scope",
];
pub const ROOT_ATTRIBUTE_POLICIES: &[&str] = &["on_each_login", "on_first_login", "never_on_login"];
const MAX_OPTION_TEXT: usize = 256;

impl Provider for Exact {
    fn strategy(&self) -> &'static str {
        "exact"
    }

    fn display_name(&self) -> &'static str {
        "Exact Online"
    }

    fn parse_options(
        &self,
        options: &Value,
        has_stored_secret: bool,
    ) -> Result<ParsedOptions, FieldError> {
        let Some(map) = options.as_object() else {
            return Err(FieldError::new("options", "must be an object"));
        };
        if let Some(unknown) = map.keys().find(|k| !KNOWN_OPTIONS.contains(&k.as_str())) {
            return Err(FieldError::new(
                format!("options.{}", unknown.chars().take(64).collect::<String>()),
                "is not an option of the exact strategy",
            ));
        }
        let mut public = Map::new();

        let client_id = text_option(map, "client_id")?.ok_or_else(|| {
            FieldError::new(
                "options.client_id",
                "is required (the client id of your Exact App Center app)",
            )
        })?;
        public.insert("client_id".into(), json!(client_id));

        let client_secret = text_option(map, "client_secret")?.map(SecretString::from);
        if client_secret.is_none() && !has_stored_secret {
            return Err(FieldError::new(
                "options.client_secret",
                "is required (the client secret of your Exact App Center app)",
            ));
        }

        let base_url = match map.get("baseUrl") {
            None | Some(Value::Null) => BaseUrl::default_exact(),
            Some(Value::String(s)) if s.trim().is_empty() => BaseUrl::default_exact(),
            Some(Value::String(s)) => BaseUrl::parse("options.baseUrl", s)?,
            Some(_) => return Err(FieldError::new("options.baseUrl", "must be a string")),
        };
        public.insert("baseUrl".into(), json!(base_url.as_str()));

        let profile = match map.get("profile") {
            None | Some(Value::Null) => true,
            Some(Value::Bool(b)) => *b,
            Some(_) => return Err(FieldError::new("options.profile", "must be true or false")),
        };
        public.insert("profile".into(), json!(profile));

        let policy = match map.get("set_user_root_attributes") {
            None | Some(Value::Null) => "on_each_login",
            Some(Value::String(s)) if ROOT_ATTRIBUTE_POLICIES.contains(&s.as_str()) => s.as_str(),
            Some(_) => {
                return Err(FieldError::new(
                    "options.set_user_root_attributes",
                    "must be one of on_each_login, on_first_login, never_on_login",
                ))
            }
        };
        public.insert("set_user_root_attributes".into(), json!(policy));

        if let Some(params) = map.get("upstream_params").filter(|v| !v.is_null()) {
            let Some(obj) = params.as_object() else {
                return Err(FieldError::new(
                    "options.upstream_params",
                    "must be an object",
                ));
            };
            for (k, v) in obj {
                if k != "force_login" {
                    return Err(FieldError::new(
                        format!(
                            "options.upstream_params.{}",
                            k.chars().take(64).collect::<String>()
                        ),
                        "is not a parameter Exact accepts (only force_login)",
                    ));
                }
                let value = v.get("value").unwrap_or(v);
                if !matches!(value.as_str(), Some("0" | "1")) {
                    return Err(FieldError::new(
                        "options.upstream_params.force_login",
                        "must be {\"value\": \"0\"} or {\"value\": \"1\"}",
                    ));
                }
            }
            public.insert("upstream_params".into(), params.clone());
        }

        if let Some(attrs) = map.get("non_persistent_attrs").filter(|v| !v.is_null()) {
            let list = attrs.as_array().filter(|a| {
                a.len() <= 50
                    && a.iter()
                        .all(|v| v.as_str().is_some_and(|s| !s.is_empty() && s.len() <= 64))
            });
            if list.is_none() {
                return Err(FieldError::new(
                    "options.non_persistent_attrs",
                    "must be a list of at most 50 attribute names",
                ));
            }
            public.insert("non_persistent_attrs".into(), attrs.clone());
        }
        if let Some(scope) = map.get("scope").filter(|v| !v.is_null()) {
            let strings = scope
                .as_array()
                .is_some_and(|items| items.iter().all(Value::is_string));
            if !strings && !scope.is_string() {
                return Err(FieldError::new(
                    "options.scope",
                    "must be a string or a list of strings",
                ));
            }
            public.insert("scope".into(), scope.clone());
        }

        Ok(ParsedOptions {
            public: Value::Object(public),
            client_secret,
        })
    }

    fn upstream_config(
        &self,
        options: &Value,
        client_secret: SecretString,
    ) -> Result<UpstreamConfig, FieldError> {
        let client_id = options
            .get("client_id")
            .and_then(Value::as_str)
            .ok_or_else(|| FieldError::new("options.client_id", "is missing"))?;
        let base_url = match options.get("baseUrl").and_then(Value::as_str) {
            Some(s) => BaseUrl::parse("options.baseUrl", s)?,
            None => BaseUrl::default_exact(),
        };
        Ok(UpstreamConfig {
            client_id: client_id.to_owned(),
            client_secret,
            base_url,
            options: options.clone(),
        })
    }

    fn authorize_url(&self, config: &UpstreamConfig, redirect_uri: &str, state: &str) -> String {
        let mut url = url::Url::parse(&config.base_url.join("/api/oauth2/auth"))
            .expect("a validated base URL joins to a valid URL");
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("client_id", &config.client_id)
                .append_pair("redirect_uri", redirect_uri)
                .append_pair("response_type", "code")
                .append_pair("state", state);
            if let Some(force) = config
                .options
                .pointer("/upstream_params/force_login")
                .and_then(|v| v.get("value").unwrap_or(v).as_str())
            {
                q.append_pair("force_login", force);
            }
        }
        url.into()
    }

    fn exchange_code<'a>(
        &'a self,
        http: &'a reqwest::Client,
        config: &'a UpstreamConfig,
        code: &'a str,
        redirect_uri: &'a str,
    ) -> BoxFuture<'a, Result<UpstreamTokens, UpstreamError>> {
        Box::pin(exchange_code(http, config, code, redirect_uri))
    }

    fn fetch_profile<'a>(
        &'a self,
        http: &'a reqwest::Client,
        config: &'a UpstreamConfig,
        tokens: &'a UpstreamTokens,
    ) -> BoxFuture<'a, Result<NormalizedProfile, UpstreamError>> {
        Box::pin(fetch_profile(http, config, tokens))
    }
}

fn text_option(map: &Map<String, Value>, key: &str) -> Result<Option<String>, FieldError> {
    match map.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) if s.len() > MAX_OPTION_TEXT || s.chars().any(char::is_control) => {
            Err(FieldError::new(
                format!("options.{key}"),
                format!("must be at most {MAX_OPTION_TEXT} characters without control characters"),
            ))
        }
        Some(Value::String(s)) => Ok(Some(s.trim().to_owned())),
        Some(_) => Err(FieldError::new(
            format!("options.{key}"),
            "must be a string",
        )),
    }
}

/// Exact's token answer: `expires_in` comes as a string of digits (tolerated as a number too).
#[derive(Debug, Deserialize, Serialize)]
struct ExactTokenResponse {
    access_token: AccessToken,
    token_type: BasicTokenType,
    #[serde(default, deserialize_with = "string_or_number")]
    expires_in: Option<u64>,
    refresh_token: Option<RefreshToken>,
    #[serde(skip)]
    scopes: Option<Vec<Scope>>,
}

fn string_or_number<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Text(String),
        Number(u64),
    }
    Ok(match Option::<Raw>::deserialize(d)? {
        None => None,
        Some(Raw::Number(n)) => Some(n),
        Some(Raw::Text(s)) => s.trim().parse().ok(),
    })
}

impl ExactTokenResponse {
    fn into_upstream(self) -> UpstreamTokens {
        UpstreamTokens {
            access_token: SecretString::from(self.access_token.secret().to_owned()),
            refresh_token: self
                .refresh_token
                .map(|t| SecretString::from(t.secret().to_owned())),
            expires_in: self.expires_in.filter(|n| *n > 0),
        }
    }
}

/// A 2xx token answer body as the code exchange reads it (through oauth2, which deserializes
/// the same [`ExactTokenResponse`]); `None` when it is not a token response.
pub fn parse_token_answer(body: &[u8]) -> Option<UpstreamTokens> {
    serde_json::from_slice::<ExactTokenResponse>(body)
        .ok()
        .map(ExactTokenResponse::into_upstream)
}

impl TokenResponse for ExactTokenResponse {
    type TokenType = BasicTokenType;

    fn access_token(&self) -> &AccessToken {
        &self.access_token
    }
    fn token_type(&self) -> &BasicTokenType {
        &self.token_type
    }
    fn expires_in(&self) -> Option<Duration> {
        self.expires_in.map(Duration::from_secs)
    }
    fn refresh_token(&self) -> Option<&RefreshToken> {
        self.refresh_token.as_ref()
    }
    fn scopes(&self) -> Option<&Vec<Scope>> {
        self.scopes.as_ref()
    }
}

/// An upstream answer as received: status and body.
type RawAnswer = (u16, Vec<u8>);

type ExactClient = oauth2::Client<
    BasicErrorResponse,
    ExactTokenResponse,
    BasicTokenIntrospectionResponse,
    StandardRevocableToken,
    BasicRevocationErrorResponse,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointSet,
>;

async fn exchange_code(
    http: &reqwest::Client,
    config: &UpstreamConfig,
    code: &str,
    redirect_uri: &str,
) -> Result<UpstreamTokens, UpstreamError> {
    let step = LoginStep::UpstreamTokenExchange;
    let bad_config = |what: &str| UpstreamError {
        step,
        failure: UpstreamFailure::BadAnswer,
        status: None,
        answer: None,
        description: format!("the connection's {what} is not a valid URL"),
    };
    let client: ExactClient = oauth2::Client::new(ClientId::new(config.client_id.clone()))
        .set_client_secret(ClientSecret::new(
            config.client_secret.expose_secret().to_owned(),
        ))
        .set_token_uri(
            TokenUrl::new(config.base_url.join("/api/oauth2/token"))
                .map_err(|_| bad_config("base URL"))?,
        )
        .set_redirect_uri(
            RedirectUrl::new(redirect_uri.to_owned()).map_err(|_| bad_config("callback URL"))?,
        )
        // Exact wants the credentials in the form body, not in a Basic header.
        .set_auth_type(AuthType::RequestBody);

    // The raw answer, kept for the login trace whatever oauth2 makes of it.
    // The future must own what it uses (oauth2 requires it to be Send for every lifetime).
    let last_answer: Arc<Mutex<Option<RawAnswer>>> = Arc::default();
    let call = |request: oauth2::HttpRequest| {
        let last_answer = last_answer.clone();
        let http = http.clone();
        async move {
            let request = reqwest::Request::try_from(request)
                .map_err(|e| upstream_http::transport_error(step, &e))?;
            let answer =
                upstream_http::send(reqwest::RequestBuilder::from_parts(http, request), step)
                    .await?;
            *last_answer.lock().expect("answer slot") = Some((answer.status, answer.body.clone()));
            to_oauth2_response(answer)
        }
    };
    let result = client
        .exchange_code(AuthorizationCode::new(code.to_owned()))
        .request_async(&call)
        .await;
    let raw = last_answer.lock().expect("answer slot").take();
    let secrets = [config.client_secret.expose_secret(), code];
    match result {
        Ok(tokens) => Ok(tokens.into_upstream()),
        Err(RequestTokenError::Request(e)) => Err(e),
        Err(err) => {
            let (status, body) = raw.unwrap_or((0, Vec::new()));
            let answer = (!body.is_empty()).then(|| redact(&body, &secrets));
            let refused = (400..500).contains(&status);
            let description = match &err {
                RequestTokenError::ServerResponse(e) => match e.error_description() {
                    Some(d) => format!("Exact refused the code exchange: {} ({d})", e.error()),
                    None => format!("Exact refused the code exchange: {}", e.error()),
                },
                _ if refused => format!("Exact refused the code exchange with HTTP {status}"),
                _ if status >= 500 => {
                    format!("Exact answered the code exchange with HTTP {status}")
                }
                _ => "Exact's token answer was not a JSON token response with an access_token"
                    .to_owned(),
            };
            Err(UpstreamError {
                step,
                failure: if refused {
                    UpstreamFailure::Refused
                } else {
                    UpstreamFailure::BadAnswer
                },
                status: (status != 0).then_some(status),
                answer,
                description,
            })
        }
    }
}

fn to_oauth2_response(answer: Answer) -> Result<oauth2::HttpResponse, UpstreamError> {
    let mut builder = oauth2::http::Response::builder().status(answer.status);
    if let Some(ct) = &answer.content_type {
        builder = builder.header(oauth2::http::header::CONTENT_TYPE, ct.as_str());
    }
    builder.body(answer.body).map_err(|_| UpstreamError {
        step: LoginStep::UpstreamTokenExchange,
        failure: UpstreamFailure::BadAnswer,
        status: Some(answer.status),
        answer: None,
        description: "the upstream answer could not be read".into(),
    })
}

async fn fetch_profile(
    http: &reqwest::Client,
    config: &UpstreamConfig,
    tokens: &UpstreamTokens,
) -> Result<NormalizedProfile, UpstreamError> {
    let step = LoginStep::ProfileFetch;
    let request = http
        .get(config.base_url.join("/api/v1/current/Me"))
        .bearer_auth(tokens.access_token.expose_secret())
        // Without it Exact answers XML.
        .header(reqwest::header::ACCEPT, "application/json");
    let answer = upstream_http::send(request, step).await?;
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
    use super::*;

    #[test]
    fn options_require_credentials_and_default_the_rest() {
        let parsed = Exact
            .parse_options(&json!({"client_id": "abc", "client_secret": "s"}), false)
            .unwrap();
        assert_eq!(parsed.public["baseUrl"], "https://start.exactonline.nl");
        assert_eq!(parsed.public["set_user_root_attributes"], "on_each_login");
        assert!(parsed.public.get("client_secret").is_none());
        assert!(parsed.client_secret.is_some());

        let err = Exact
            .parse_options(&json!({"client_id": "abc"}), false)
            .unwrap_err();
        assert_eq!(err.field, "options.client_secret");
        assert!(Exact
            .parse_options(&json!({"client_id": "abc"}), true)
            .is_ok());
    }

    #[test]
    fn bad_options_name_their_field() {
        for (options, field) in [
            (json!([]), "options"),
            (json!({"client_secret": "s"}), "options.client_id"),
            (
                json!({"client_id": 5, "client_secret": "s"}),
                "options.client_id",
            ),
            (
                json!({"client_id": "a", "client_secret": "s", "baseUrl": "http://evil.example"}),
                "options.baseUrl",
            ),
            (
                json!({"client_id": "a", "client_secret": "s", "set_user_root_attributes": "sometimes"}),
                "options.set_user_root_attributes",
            ),
            (
                json!({"client_id": "a", "client_secret": "s", "profile": "yes"}),
                "options.profile",
            ),
            (
                json!({"client_id": "a", "client_secret": "s", "surprise": 1}),
                "options.surprise",
            ),
            (
                json!({"client_id": "x".repeat(300), "client_secret": "s"}),
                "options.client_id",
            ),
            (
                json!({"client_id": "a", "client_secret": "s", "upstream_params": {"prompt": {"value": "x"}}}),
                "options.upstream_params.prompt",
            ),
        ] {
            assert_eq!(
                Exact.parse_options(&options, false).unwrap_err().field,
                field,
                "{options}"
            );
        }
    }

    #[test]
    fn authorize_url_encodes_every_parameter() {
        let config = Exact
            .upstream_config(
                &json!({"client_id": "id&x", "baseUrl": "https://start.exactonline.be"}),
                SecretString::from("s".to_owned()),
            )
            .unwrap();
        let url = Exact.authorize_url(&config, "https://acme.example/login/callback", "st+/=");
        assert!(url.starts_with("https://start.exactonline.be/api/oauth2/auth?client_id=id%26x&redirect_uri=https%3A%2F%2Facme.example%2Flogin%2Fcallback&response_type=code&state=st%2B%2F%3D"), "{url}");
    }

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

    #[test]
    fn token_answers_take_expires_in_as_string_or_number() {
        let t: ExactTokenResponse = serde_json::from_str(r#"{"access_token":"a!*+/=","token_type":"bearer","expires_in":"600","refresh_token":"r"}"#).unwrap();
        assert_eq!(t.expires_in, Some(600));
        let t: ExactTokenResponse =
            serde_json::from_str(r#"{"access_token":"a","token_type":"Bearer","expires_in":600}"#)
                .unwrap();
        assert_eq!(t.expires_in, Some(600));
    }
}
