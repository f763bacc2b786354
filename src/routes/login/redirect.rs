//! Answers sent back to an application at its (already validated) redirect URI: success or an
//! OAuth error, with `state` and `iss` (RFC 9207), by query, by form post, or by web message
//! (Auth0's `response_mode=web_message`: a message to the application's window, for silent
//! authentication in an iframe and logins in a popup).

use actix_web::http::header;
use actix_web::HttpResponse;
use askama::Template;

/// How the answer reaches the application.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResponseMode {
    Query,
    FormPost,
    WebMessage,
}

impl ResponseMode {
    /// The mode a request names (none named: the default, query); `None` for an unknown name.
    pub fn parse(value: Option<&str>) -> Option<Self> {
        match value {
            None | Some("query") => Some(ResponseMode::Query),
            Some("form_post") => Some(ResponseMode::FormPost),
            Some("web_message") => Some(ResponseMode::WebMessage),
            Some(_) => None,
        }
    }

    /// As stored with the login transaction.
    pub fn as_str(self) -> &'static str {
        match self {
            ResponseMode::Query => "query",
            ResponseMode::FormPost => "form_post",
            ResponseMode::WebMessage => "web_message",
        }
    }
}

/// A validated way back to the application.
#[derive(Clone, Debug)]
pub struct AppRedirect {
    pub redirect_uri: String,
    pub mode: ResponseMode,
    pub state: Option<String>,
    pub issuer: String,
    /// The login's trace, named in error descriptions so support can find it from a screenshot.
    pub trace_id: Option<uuid::Uuid>,
}

#[derive(Template)]
#[template(path = "login/form_post.html")]
struct FormPostPage<'a> {
    action: &'a str,
    fields: &'a [(&'a str, String)],
}

#[derive(Template)]
#[template(path = "login/web_message.html")]
struct WebMessagePage<'a> {
    /// The application's origin: the only window the message may be delivered to.
    origin: &'a str,
    /// The response as JSON (`{"code": ..., "state": ...}` or the error), read by the script.
    response: String,
}

impl AppRedirect {
    pub fn error(&self, error: &str, description: &str) -> HttpResponse {
        let description = match self.trace_id {
            Some(trace) => format!("{description} (trace {trace})"),
            None => description.to_owned(),
        };
        self.respond(vec![
            ("error", error.to_owned()),
            ("error_description", description),
        ])
    }

    /// An error whose description applications compare as a whole, so it is sent exactly as
    /// Auth0 sends it (the trace is still in the tenant's log).
    pub fn exact_error(&self, error: &str, description: &str) -> HttpResponse {
        self.respond(vec![
            ("error", error.to_owned()),
            ("error_description", description.to_owned()),
        ])
    }

    pub fn code(&self, code: &str) -> HttpResponse {
        self.respond(vec![("code", code.to_owned())])
    }

    fn respond(&self, mut fields: Vec<(&'static str, String)>) -> HttpResponse {
        if let Some(state) = &self.state {
            fields.push(("state", state.clone()));
        }
        fields.push(("iss", self.issuer.clone()));
        let origin = url::Url::parse(&self.redirect_uri)
            .map(|u| u.origin().ascii_serialization())
            .unwrap_or_else(|_| "'none'".into());
        if self.mode == ResponseMode::WebMessage {
            let response: serde_json::Map<String, serde_json::Value> = fields
                .iter()
                .map(|(k, v)| ((*k).to_owned(), serde_json::Value::String(v.clone())))
                .collect();
            let page = WebMessagePage {
                origin: &origin,
                response: serde_json::Value::Object(response).to_string(),
            };
            // Framed by the application's own page (silent authentication), and by no other.
            // The default `X-Frame-Options: DENY` stays for browsers without CSP; every current
            // browser obeys `frame-ancestors` over it.
            return HttpResponse::Ok()
                .insert_header((header::CONTENT_TYPE, "text/html; charset=utf-8"))
                .insert_header((
                    header::CONTENT_SECURITY_POLICY,
                    format!("default-src 'none'; script-src 'self'; style-src 'self'; frame-ancestors {origin}; base-uri 'none'; form-action 'none'"),
                ))
                .body(page.render().unwrap_or_default());
        }
        if self.mode == ResponseMode::FormPost {
            let page = FormPostPage {
                action: &self.redirect_uri,
                fields: &fields,
            };
            return HttpResponse::Ok()
                .insert_header((header::CONTENT_TYPE, "text/html; charset=utf-8"))
                .insert_header((
                    header::CONTENT_SECURITY_POLICY,
                    format!("default-src 'none'; script-src 'self'; style-src 'self'; form-action {origin}; frame-ancestors 'none'; base-uri 'none'"),
                ))
                .body(page.render().unwrap_or_default());
        }
        let location = match url::Url::parse(&self.redirect_uri) {
            Ok(mut url) => {
                url.query_pairs_mut()
                    .extend_pairs(fields.iter().map(|(k, v)| (*k, v.as_str())));
                url.to_string()
            }
            // Registered URIs are absolute URLs; this cannot happen for a validated one.
            Err(_) => self.redirect_uri.clone(),
        };
        HttpResponse::Found()
            .insert_header((header::LOCATION, location))
            .finish()
    }
}
