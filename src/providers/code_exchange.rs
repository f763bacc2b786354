//! The OAuth 2.0 code exchange every strategy makes at its upstream's token endpoint, through
//! oauth2: client authentication in the body or a Basic header, the PKCE verifier, extra
//! headers, and a lenient token answer (Exact sends `expires_in` as a string; OpenID Connect
//! adds an `id_token`). Failures keep the raw answer, secrets removed, for the login trace.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use oauth2::basic::{
    BasicErrorResponse, BasicRevocationErrorResponse, BasicTokenIntrospectionResponse,
    BasicTokenType,
};
use oauth2::{
    AccessToken, AuthType, AuthorizationCode, ClientId, ClientSecret, EndpointNotSet, EndpointSet,
    PkceCodeVerifier, RedirectUrl, RefreshToken, RequestTokenError, Scope, StandardRevocableToken,
    TokenResponse, TokenUrl,
};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Deserializer, Serialize};

use crate::providers::upstream_http::{redact, upstream_text, Answer, UpstreamClient};
use crate::providers::{LoginStep, UpstreamError, UpstreamFailure, UpstreamTokens};

/// A token answer: `expires_in` as a number or a string of digits, `id_token` when the
/// upstream speaks OpenID Connect.
#[derive(Debug, Deserialize, Serialize)]
struct TokenAnswer {
    access_token: AccessToken,
    token_type: BasicTokenType,
    #[serde(default, deserialize_with = "string_or_number")]
    expires_in: Option<u64>,
    refresh_token: Option<RefreshToken>,
    #[serde(default)]
    id_token: Option<String>,
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

impl TokenAnswer {
    fn into_upstream(self) -> UpstreamTokens {
        UpstreamTokens {
            access_token: SecretString::from(self.access_token.secret().to_owned()),
            refresh_token: self
                .refresh_token
                .map(|t| SecretString::from(t.secret().to_owned())),
            expires_in: self.expires_in.filter(|n| *n > 0),
            id_token: self.id_token.map(SecretString::from),
        }
    }
}

/// A 2xx token answer body as the code exchange reads it (through oauth2, which deserializes
/// the same [`TokenAnswer`]); `None` when it is not a token response.
pub fn parse_token_answer(body: &[u8]) -> Option<UpstreamTokens> {
    serde_json::from_slice::<TokenAnswer>(body)
        .ok()
        .map(TokenAnswer::into_upstream)
}

impl TokenResponse for TokenAnswer {
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

type CodeClient = oauth2::Client<
    BasicErrorResponse,
    TokenAnswer,
    BasicTokenIntrospectionResponse,
    StandardRevocableToken,
    BasicRevocationErrorResponse,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointSet,
>;

/// How the client authenticates at the token endpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientAuth {
    /// `client_secret_post`: credentials in the form body.
    Post,
    /// `client_secret_basic`: an HTTP Basic header.
    Basic,
}

/// One code exchange.
pub struct CodeExchange<'a> {
    pub token_url: &'a str,
    pub client_id: &'a str,
    pub client_secret: &'a SecretString,
    pub auth: ClientAuth,
    pub redirect_uri: &'a str,
    pub code: &'a str,
    pub code_verifier: Option<&'a str>,
    /// Extra request headers (an `oauth2` connection's `customHeaders`).
    pub headers: &'a [(String, String)],
    /// Who answers, for the trace's sentences ("Exact", "the provider").
    pub upstream_name: &'a str,
}

pub async fn exchange(
    http: &UpstreamClient,
    x: CodeExchange<'_>,
) -> Result<UpstreamTokens, UpstreamError> {
    let step = LoginStep::UpstreamTokenExchange;
    let bad_config = |what: &str| {
        UpstreamError::new(
            step,
            UpstreamFailure::BadAnswer,
            format!("the connection's {what} is not a valid URL"),
        )
    };
    let client: CodeClient = oauth2::Client::new(ClientId::new(x.client_id.to_owned()))
        .set_client_secret(ClientSecret::new(
            x.client_secret.expose_secret().to_owned(),
        ))
        .set_token_uri(TokenUrl::new(x.token_url.to_owned()).map_err(|_| bad_config("token URL"))?)
        .set_redirect_uri(
            RedirectUrl::new(x.redirect_uri.to_owned()).map_err(|_| bad_config("callback URL"))?,
        )
        .set_auth_type(match x.auth {
            ClientAuth::Post => AuthType::RequestBody,
            ClientAuth::Basic => AuthType::BasicAuth,
        });

    // The raw answer, kept for the login trace whatever oauth2 makes of it.
    // The future must own what it uses (oauth2 requires it to be Send for every lifetime).
    let last_answer: Arc<Mutex<Option<RawAnswer>>> = Arc::default();
    let headers: Vec<(String, String)> = x.headers.to_vec();
    let call = |request: oauth2::HttpRequest| {
        let last_answer = last_answer.clone();
        let http = http.clone();
        let headers = headers.clone();
        async move {
            let mut request = reqwest::Request::try_from(request)
                .map_err(|e| crate::providers::upstream_http::transport_error(step, &e))?;
            for (name, value) in &headers {
                if let (Ok(name), Ok(value)) = (
                    reqwest::header::HeaderName::try_from(name.as_str()),
                    reqwest::header::HeaderValue::try_from(value.as_str()),
                ) {
                    request.headers_mut().insert(name, value);
                }
            }
            let answer = http.execute(request, step).await?;
            *last_answer.lock().expect("answer slot") = Some((answer.status, answer.body.clone()));
            to_oauth2_response(answer)
        }
    };
    let mut request = client.exchange_code(AuthorizationCode::new(x.code.to_owned()));
    if let Some(verifier) = x.code_verifier {
        request = request.set_pkce_verifier(PkceCodeVerifier::new(verifier.to_owned()));
    }
    let result = request.request_async(&call).await;
    let raw = last_answer.lock().expect("answer slot").take();
    // The secrets as they travel too: form-encoded in the body, and Basic's base64 of
    // `client_id:secret` (each form-encoded), in case an upstream echoes its request.
    let encoded = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    let secret_encoded = encoded(x.client_secret.expose_secret());
    let basic = {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD
            .encode(format!("{}:{secret_encoded}", encoded(x.client_id)))
    };
    let mut secrets = vec![
        x.client_secret.expose_secret(),
        x.code,
        &secret_encoded,
        &basic,
    ];
    secrets.extend(x.code_verifier);
    let who = x.upstream_name;
    match result {
        Ok(tokens) => Ok(tokens.into_upstream()),
        Err(RequestTokenError::Request(e)) => Err(e),
        Err(err) => {
            let (status, body) = raw.unwrap_or((0, Vec::new()));
            let answer = (!body.is_empty()).then(|| redact(&body, &secrets));
            let refused = (400..500).contains(&status);
            let description = match &err {
                RequestTokenError::ServerResponse(e) => {
                    let error = upstream_text(e.error().as_ref(), &secrets);
                    match e.error_description() {
                        Some(d) => format!(
                            "{who} refused the code exchange: {error} ({})",
                            upstream_text(d, &secrets)
                        ),
                        None => format!("{who} refused the code exchange: {error}"),
                    }
                }
                _ if refused => format!("{who} refused the code exchange with HTTP {status}"),
                _ if status >= 500 => {
                    format!("{who} answered the code exchange with HTTP {status}")
                }
                _ => format!(
                    "{who}'s token answer was not a JSON token response with an access_token"
                ),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_answers_take_expires_in_as_string_or_number() {
        let t: TokenAnswer = serde_json::from_str(r#"{"access_token":"a!*+/=","token_type":"bearer","expires_in":"600","refresh_token":"r"}"#).unwrap();
        assert_eq!(t.expires_in, Some(600));
        let t: TokenAnswer =
            serde_json::from_str(r#"{"access_token":"a","token_type":"Bearer","expires_in":600}"#)
                .unwrap();
        assert_eq!(t.expires_in, Some(600));
    }

    #[test]
    fn an_id_token_is_kept_when_the_upstream_sends_one() {
        let t =
            parse_token_answer(br#"{"access_token":"a","token_type":"Bearer","id_token":"x.y.z"}"#)
                .unwrap();
        assert_eq!(
            t.id_token.map(|t| t.expose_secret().to_owned()).as_deref(),
            Some("x.y.z")
        );
    }
}
