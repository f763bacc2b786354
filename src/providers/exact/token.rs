//! The code exchange at `/api/oauth2/token`, through oauth2, and Exact's token answer
//! (`expires_in` as a string); failures keep the raw answer, secrets removed, for the trace.

use std::sync::{Arc, Mutex};
use std::time::Duration;

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

use crate::providers::upstream_http::{self, redact, Answer};
use crate::providers::{LoginStep, UpstreamConfig, UpstreamError, UpstreamFailure, UpstreamTokens};

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

pub(super) async fn exchange_code(
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

#[cfg(test)]
mod tests {
    use super::*;

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
