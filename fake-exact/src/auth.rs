//! `GET /api/oauth2/auth` and the consent page's `POST /api/oauth2/auth/consent`.
//!
//! Like Exact, a bad `client_id` or callback URI gets an error page rather than a redirect: the
//! fake must never send a browser (and a code) to a callback the app did not register.

use std::collections::BTreeMap;

use actix_web::http::header::{CACHE_CONTROL, LOCATION};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use url::Url;

use super::html::{error_page, escape, page};
use super::state::{Shared, State};
use super::{Consent, FakeUser, RecordedAuthorizeRequest, SESSION_COOKIE};

pub(super) fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/oauth2/auth", web::get().to(authorize))
        .route("/api/oauth2/auth/consent", web::post().to(consent));
}

/// An authorize request that passed validation, waiting for the user's decision.
struct Pending {
    client_id: String,
    /// Exactly as sent: the code is bound to this string, not to a normalised URL.
    redirect_uri: String,
    callback: Url,
    state: Option<String>,
    force_login: Option<String>,
}

async fn authorize(req: HttpRequest, shared: web::Data<Shared>) -> HttpResponse {
    let query = parse_pairs(req.query_string().as_bytes());
    let mut state = shared.lock().expect("fake Exact state lock poisoned");
    state.authorize_requests.push(RecordedAuthorizeRequest {
        query: query.clone(),
    });
    let pending = match validate(&state, &query) {
        Ok(pending) => pending,
        Err(message) => return error_page(StatusCode::BAD_REQUEST, &message),
    };
    tracing::info!(client.id = %pending.client_id, consent = ?state.consent, "fake Exact authorize");
    let session = session_user(&req);
    match state.consent {
        Consent::Auto => allow(&mut state, pending, session),
        Consent::Decline => decline(pending),
        Consent::Page => {
            let user = session.as_ref().unwrap_or(&state.user);
            consent_page(user, &pending)
        }
    }
}

/// The user whose Exact session the browser carries, if any (see [`SESSION_COOKIE`]).
fn session_user(req: &HttpRequest) -> Option<FakeUser> {
    let n = req.cookie(SESSION_COOKIE)?.value().parse().ok()?;
    Some(FakeUser::numbered(n))
}

async fn consent(req: HttpRequest, body: web::Bytes, shared: web::Data<Shared>) -> HttpResponse {
    let form = parse_pairs(&body);
    let mut state = shared.lock().expect("fake Exact state lock poisoned");
    // The hidden fields came back through the browser: trust them no more than the query.
    let pending = match validate(&state, &form) {
        Ok(pending) => pending,
        Err(message) => return error_page(StatusCode::BAD_REQUEST, &message),
    };
    match form.get("decision").map(String::as_str) {
        Some("allow") => allow(&mut state, pending, session_user(&req)),
        Some("decline") => decline(pending),
        _ => error_page(StatusCode::BAD_REQUEST, "Choose Allow or Decline."),
    }
}

/// Duplicate keys keep the last value, which is what a naive server does and all we record.
fn parse_pairs(raw: &[u8]) -> BTreeMap<String, String> {
    url::form_urlencoded::parse(raw).into_owned().collect()
}

/// Checks an authorize request as Exact would; the error is the message for the error page.
fn validate(state: &State, params: &BTreeMap<String, String>) -> Result<Pending, String> {
    let client_id = params.get("client_id").map(String::as_str).unwrap_or("");
    let Some(app) = state.app(client_id) else {
        return Err(format!("The client_id '{client_id}' is not known."));
    };
    let redirect_uri = params.get("redirect_uri").map(String::as_str).unwrap_or("");
    let registered =
        app.redirect_uris.is_empty() || app.redirect_uris.iter().any(|uri| uri == redirect_uri);
    let callback = Url::parse(redirect_uri)
        .ok()
        .filter(|url| registered && url.fragment().is_none() && !url.cannot_be_a_base());
    let Some(callback) = callback else {
        return Err(format!("Callback URI '{redirect_uri}' is not valid"));
    };
    let response_type = params
        .get("response_type")
        .map(String::as_str)
        .unwrap_or("");
    if response_type != "code" {
        return Err(format!(
            "response_type '{response_type}' is not supported; use 'code'."
        ));
    }
    Ok(Pending {
        client_id: client_id.to_owned(),
        redirect_uri: redirect_uri.to_owned(),
        callback,
        state: params.get("state").cloned(),
        force_login: params.get("force_login").cloned(),
    })
}

fn allow(state: &mut State, pending: Pending, user: Option<FakeUser>) -> HttpResponse {
    let code = state.issue_code(&pending.client_id, &pending.redirect_uri, user);
    let mut pairs = vec![("code", code.as_str())];
    if let Some(s) = &pending.state {
        pairs.push(("state", s));
    }
    redirect_back(pending.callback, &pairs)
}

fn decline(pending: Pending) -> HttpResponse {
    let mut pairs = vec![
        ("error", "access_denied"),
        ("error_description", "The user declined access to the app."),
    ];
    if let Some(s) = &pending.state {
        pairs.push(("state", s));
    }
    redirect_back(pending.callback, &pairs)
}

/// `query_pairs_mut` appends with `&` to an existing query and form-encodes `!*+/=` as a
/// browser would, so the client has to decode properly to get the code back.
fn redirect_back(mut callback: Url, pairs: &[(&str, &str)]) -> HttpResponse {
    callback.query_pairs_mut().extend_pairs(pairs);
    HttpResponse::Found()
        .insert_header((LOCATION, callback.as_str()))
        .insert_header((CACHE_CONTROL, "no-store"))
        .finish()
}

fn consent_page(user: &FakeUser, pending: &Pending) -> HttpResponse {
    let mut rows = String::new();
    let mut row = |label: &str, value: Option<&str>| {
        if let Some(value) = value {
            rows.push_str(&format!(
                "<dt>{}</dt><dd>{}</dd>",
                escape(label),
                escape(value)
            ));
        }
    };
    row("Name", user.full_name.as_deref());
    row("User name", Some(&user.user_name));
    row("Email", user.email.as_deref());
    let division = user.current_division.map(|d| d.to_string());
    row("Division", division.as_deref());
    row("Returns to", Some(&pending.redirect_uri));

    let mut hidden = String::new();
    let mut field = |name: &str, value: Option<&str>| {
        if let Some(value) = value {
            hidden.push_str(&format!(
                "<input type=\"hidden\" name=\"{}\" value=\"{}\">",
                escape(name),
                escape(value)
            ));
        }
    };
    field("client_id", Some(&pending.client_id));
    field("redirect_uri", Some(&pending.redirect_uri));
    field("response_type", Some("code"));
    field("state", pending.state.as_deref());
    field("force_login", pending.force_login.as_deref());

    let forced = if pending.force_login.as_deref() == Some("1") {
        "<p class=\"note\">force_login=1: a real Exact would ask for the password again.</p>"
    } else {
        ""
    };
    let body = format!(
        "<h1>{app} wants access</h1>\
         <p>Signed in to Exact Online as:</p><dl>{rows}</dl>\
         <form method=\"post\" action=\"/api/oauth2/auth/consent\" class=\"actions\">{hidden}\
         <button type=\"submit\" class=\"allow\" name=\"decision\" value=\"allow\">Allow</button>\
         <button type=\"submit\" name=\"decision\" value=\"decline\">Decline</button></form>\
         {forced}\
         <p class=\"note\">This is a fake Exact Online for development: no password is asked.</p>",
        app = escape(&pending.client_id),
    );
    let title = format!(
        "Exact Online (fake) \u{2014} {} wants access",
        pending.client_id
    );
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((CACHE_CONTROL, "no-store"))
        .body(page(&title, &body))
}
