//! `GET /api/v1/current/Me`: the signed-in user in Exact's OData envelope.
//!
//! Without `Accept: application/json` Exact answers an Atom feed, so the fake does too: a client
//! that forgets the header fails here rather than in production.

use actix_web::http::header::{ACCEPT, AUTHORIZATION, CACHE_CONTROL};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::json;
use uuid::Uuid;

use super::header_string;
use super::html::escape;
use super::state::Shared;
use super::{FakeUser, MeMode, RecordedMeRequest};

pub(super) fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/v1/current/Me", web::get().to(me));
}

const ENTITY_TYPE: &str = "Exact.Web.Api.System.Me";

async fn me(req: HttpRequest, shared: web::Data<Shared>) -> HttpResponse {
    let accept = header_string(req.headers(), ACCEPT);
    let authorization = header_string(req.headers(), AUTHORIZATION);

    let mode = shared
        .lock()
        .expect("fake Exact state lock poisoned")
        .me_mode
        .clone();
    let response = match mode {
        MeMode::EmptyResults => json_ok(json!({"d": {"results": []}})),
        MeMode::MissingD => json_ok(json!({})),
        MeMode::Garbage => HttpResponse::Ok()
            .content_type("application/json")
            .body("{\"d\":{\"results\":[{\"UserID\":"),
        MeMode::Unauthorized => unauthorized(),
        MeMode::Ok | MeMode::Slow(_) => {
            if let MeMode::Slow(delay) = mode {
                tokio::time::sleep(delay).await;
            }
            let user = bearer_token(authorization.as_deref()).and_then(|token| {
                shared
                    .lock()
                    .expect("fake Exact state lock poisoned")
                    .bearer_user(token)
            });
            match user {
                None => unauthorized(),
                Some(user) => answer(&req, accept.as_deref(), &user),
            }
        }
    };

    let status = response.status().as_u16();
    tracing::info!(http.status = status, "fake Exact current/Me request");
    shared
        .lock()
        .expect("fake Exact state lock poisoned")
        .me_requests
        .push(RecordedMeRequest {
            accept,
            authorization,
            status,
        });
    response
}

/// The signed-in user, as JSON only when the client asked for it.
fn answer(req: &HttpRequest, accept: Option<&str>, user: &FakeUser) -> HttpResponse {
    // From the Host header, so `__metadata.uri` is right whatever address the fake was bound to.
    let base = {
        let info = req.connection_info();
        format!("{}://{}", info.scheme(), info.host())
    };
    let wants_json = accept.is_some_and(|a| a.to_ascii_lowercase().contains("application/json"));
    if wants_json {
        json_ok(me_json(&base, user))
    } else {
        HttpResponse::Ok()
            .content_type("application/xml; charset=utf-8")
            .insert_header((CACHE_CONTROL, "no-cache"))
            .body(me_xml(&base, user))
    }
}

fn bearer_token(authorization: Option<&str>) -> Option<&str> {
    let (scheme, token) = authorization?.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

fn json_ok(body: serde_json::Value) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json; charset=utf-8")
        .insert_header((CACHE_CONTROL, "no-cache"))
        .body(body.to_string())
}

/// Exact's REST error shape, as opposed to the OAuth endpoints' RFC 6749 one.
fn unauthorized() -> HttpResponse {
    HttpResponse::build(StatusCode::UNAUTHORIZED)
        .content_type("application/json; charset=utf-8")
        .body(
            json!({"error": {"code": "", "message": {"lang": "", "value": "Unauthorized: the access token is missing, invalid or expired."}}})
                .to_string(),
        )
}

/// Fields Exact always sends but Gatehouse does not map. Derived from the user id so they stay
/// stable across requests, as they are at Exact.
fn related_ids(user: &FakeUser) -> (Uuid, Uuid) {
    let base = Uuid::parse_str(&user.user_id)
        .map(|id| id.as_u128())
        .unwrap_or(0);
    (
        Uuid::from_u128(base ^ 0x0000_0000_0000_0000_0000_0000_00d1_0001),
        Uuid::from_u128(base ^ 0x0000_0000_0000_0000_0000_0000_00e0_0002),
    )
}

/// Exact's two-letter language of the user interface, from the locale (`nl-NL` -> `NL`).
fn language(user: &FakeUser) -> String {
    user.language_code
        .as_deref()
        .and_then(|code| code.split(['-', '_']).next())
        .filter(|lang| !lang.is_empty())
        .unwrap_or("NL")
        .to_ascii_uppercase()
}

fn entity_uri(base: &str, user: &FakeUser) -> String {
    format!("{base}/api/v1/current/Me(guid'{}')", user.user_id)
}

fn me_json(base: &str, user: &FakeUser) -> serde_json::Value {
    let (division_customer, employee) = related_ids(user);
    json!({"d": {"results": [{
        "__metadata": {"uri": entity_uri(base, user), "type": ENTITY_TYPE},
        "UserID": user.user_id,
        "UserName": user.user_name,
        "FullName": user.full_name,
        "FirstName": user.first_name,
        "MiddleName": user.middle_name,
        "LastName": user.last_name,
        "Email": user.email,
        "PictureUrl": user.picture_url,
        "LanguageCode": user.language_code,
        "Language": language(user),
        "CurrentDivision": user.current_division,
        "Gender": user.gender,
        "Title": user.title,
        "DivisionCustomer": division_customer.to_string(),
        "EmployeeID": employee.to_string(),
    }]}})
}

/// The same entity as an Atom feed with OData properties, roughly as Exact renders it.
fn me_xml(base: &str, user: &FakeUser) -> String {
    let (division_customer, employee) = related_ids(user);
    let division = user.current_division.map(|d| d.to_string());
    let language = language(user);
    let division_customer = division_customer.to_string();
    let employee = employee.to_string();
    let properties: [(&str, &str, Option<&str>); 15] = [
        ("UserID", "Edm.Guid", Some(&user.user_id)),
        ("UserName", "Edm.String", Some(&user.user_name)),
        ("FullName", "Edm.String", user.full_name.as_deref()),
        ("FirstName", "Edm.String", user.first_name.as_deref()),
        ("MiddleName", "Edm.String", user.middle_name.as_deref()),
        ("LastName", "Edm.String", user.last_name.as_deref()),
        ("Email", "Edm.String", user.email.as_deref()),
        ("PictureUrl", "Edm.String", user.picture_url.as_deref()),
        ("LanguageCode", "Edm.String", user.language_code.as_deref()),
        ("Language", "Edm.String", Some(&language)),
        ("CurrentDivision", "Edm.Int32", division.as_deref()),
        ("Gender", "Edm.String", user.gender.as_deref()),
        ("Title", "Edm.String", user.title.as_deref()),
        ("DivisionCustomer", "Edm.Guid", Some(&division_customer)),
        ("EmployeeID", "Edm.Guid", Some(&employee)),
    ];
    let mut props = String::new();
    for (name, ty, value) in properties {
        match value {
            Some(value) => props.push_str(&format!(
                "<d:{name} m:type=\"{ty}\">{}</d:{name}>",
                escape(value)
            )),
            None => props.push_str(&format!("<d:{name} m:type=\"{ty}\" m:null=\"true\" />")),
        }
    }
    let uri = escape(&entity_uri(base, user));
    let base = escape(base);
    format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\
         <feed xml:base=\"{base}/api/v1/\" xmlns=\"http://www.w3.org/2005/Atom\" \
         xmlns:d=\"http://schemas.microsoft.com/ado/2007/08/dataservices\" \
         xmlns:m=\"http://schemas.microsoft.com/ado/2007/08/dataservices/metadata\">\
         <title type=\"text\">Me</title><id>{base}/api/v1/current/Me</id>\
         <link rel=\"self\" title=\"Me\" href=\"current/Me\" />\
         <entry><id>{uri}</id><title type=\"text\" /><author><name /></author>\
         <category term=\"{ENTITY_TYPE}\" scheme=\"http://schemas.microsoft.com/ado/2007/08/dataservices/scheme\" />\
         <content type=\"application/xml\"><m:properties>{props}</m:properties></content>\
         </entry></feed>"
    )
}
