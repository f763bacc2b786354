//! Answers sent back to an application at its (already validated) redirect URI: success or an
//! OAuth error, with `state` and `iss` (RFC 9207), by query or by form post.

use actix_web::http::header;
use actix_web::HttpResponse;
use askama::Template;

/// A validated way back to the application.
#[derive(Clone, Debug)]
pub struct AppRedirect {
    pub redirect_uri: String,
    pub form_post: bool,
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
        if self.form_post {
            let page = FormPostPage {
                action: &self.redirect_uri,
                fields: &fields,
            };
            let origin = url::Url::parse(&self.redirect_uri)
                .map(|u| u.origin().ascii_serialization())
                .unwrap_or_else(|_| "'none'".into());
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
