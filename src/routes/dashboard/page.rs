//! What every dashboard page shares: the layout data (`Layout`), one-shot flash messages
//! carried in a cookie across a 303, rendering, the pager of long listings (`Pager`), and the
//! error type handlers return.

use actix_web::cookie::{time, Cookie, SameSite};
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, ResponseError};
use askama::Template;

use crate::config::{PublicScheme, Settings};
use crate::error::PageError;
use crate::services::ServiceError;

/// The body of a form whose only field is its CSRF token (a button that does one thing).
#[derive(serde::Deserialize)]
pub struct Empty {}

/// What a handler fails with: a page, or a trip to the sign-in page.
#[derive(Debug)]
pub enum DashError {
    Page(PageError),
    /// Not signed in (or the session ended): `303` to `/signin`, remembering where to go back.
    SignIn {
        next: Option<String>,
    },
}

pub type DashResult = Result<HttpResponse, DashError>;

impl std::fmt::Display for DashError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DashError::Page(p) => p.fmt(f),
            DashError::SignIn { .. } => f.write_str("sign-in required"),
        }
    }
}

impl ResponseError for DashError {
    fn status_code(&self) -> StatusCode {
        match self {
            DashError::Page(p) => p.status,
            DashError::SignIn { .. } => StatusCode::SEE_OTHER,
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            DashError::Page(p) => p.render(),
            DashError::SignIn { next } => {
                let location = match next {
                    Some(n) => format!(
                        "/signin?{}",
                        serde_urlencoded::to_string([("next", n)]).unwrap_or_default()
                    ),
                    None => "/signin".to_owned(),
                };
                see_other(&location)
            }
        }
    }
}

impl From<PageError> for DashError {
    fn from(e: PageError) -> Self {
        DashError::Page(e)
    }
}

impl From<sqlx::Error> for DashError {
    fn from(e: sqlx::Error) -> Self {
        DashError::Page(PageError::internal(e))
    }
}

impl From<ServiceError> for DashError {
    fn from(e: ServiceError) -> Self {
        DashError::Page(e.into())
    }
}

impl From<askama::Error> for DashError {
    fn from(e: askama::Error) -> Self {
        DashError::Page(PageError::internal(e))
    }
}

/// The same "not found" for a tenant that does not exist and one the admin may not see.
pub fn not_found() -> DashError {
    DashError::Page(PageError::not_found(
        "There is nothing here, or you do not have access to it.",
    ))
}

pub fn forbidden(message: &str) -> DashError {
    DashError::Page(PageError::forbidden(message.to_owned()))
}

/// A one-shot message shown on the next page.
#[derive(Clone, Debug)]
pub struct Flash {
    /// `ok` or `error`: the CSS modifier.
    pub kind: &'static str,
    pub text: String,
}

/// The tenant section of the navigation.
#[derive(Clone, Debug)]
pub struct TenantNav {
    pub slug: String,
    pub name: String,
    /// Which tab is open: `overview`, `applications`, `connections`, `users`, `logs`, `admins`.
    pub tab: &'static str,
    /// False for read-only admins: the page hides the buttons that change things.
    pub can_edit: bool,
}

/// The data `templates/dashboard/base.html` needs.
#[derive(Clone, Debug, Default)]
pub struct Layout {
    /// The signed-in admin's e-mail; empty on the sign-in and setup pages.
    pub email: String,
    pub is_operator: bool,
    /// This session's CSRF token, put in every form.
    pub csrf: String,
    pub flash: Option<Flash>,
    pub tenant: Option<TenantNav>,
}

impl Layout {
    pub fn tab(&self, name: &str) -> bool {
        self.tenant.as_ref().is_some_and(|t| t.tab == name)
    }

    /// The open tenant's slug, for links.
    pub fn slug(&self) -> &str {
        self.tenant
            .as_ref()
            .map(|t| t.slug.as_str())
            .unwrap_or_default()
    }

    pub fn can_edit(&self) -> bool {
        self.tenant.as_ref().is_none_or(|t| t.can_edit)
    }
}

fn flash_cookie_name(settings: &Settings) -> &'static str {
    match settings.public_scheme {
        PublicScheme::Https => "__Host-gatehouse-flash",
        PublicScheme::Http => "gatehouse-flash",
    }
}

/// The flash message this request carries, if any.
pub fn read_flash(req: &HttpRequest, settings: &Settings) -> Option<Flash> {
    let cookie = req.cookie(flash_cookie_name(settings))?;
    let decoded: String = url::form_urlencoded::parse(format!("m={}", cookie.value()).as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())?;
    let (kind, text) = decoded.split_once(':')?;
    let kind = match kind {
        "ok" => "ok",
        _ => "error",
    };
    Some(Flash {
        kind,
        text: text.chars().take(300).collect(),
    })
}

/// A cookie for `settings`' scheme: `HttpOnly`, `SameSite=Lax`, `Path=/`, and `Secure` over
/// https (where the name carries the `__Host-` prefix).
pub fn cookie(settings: &Settings, name: &'static str, value: String) -> Cookie<'static> {
    Cookie::build(name, value)
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(settings.public_scheme == PublicScheme::Https)
        .finish()
}

/// `303 See Other` to `location`.
pub fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location))
        .finish()
}

/// `303` to `location`, with a message for the next page.
pub fn see_other_with(settings: &Settings, location: &str, kind: &str, text: &str) -> HttpResponse {
    let value: String =
        url::form_urlencoded::byte_serialize(format!("{kind}:{text}").as_bytes()).collect();
    let mut c = cookie(settings, flash_cookie_name(settings), value);
    c.set_max_age(time::Duration::seconds(60));
    let mut res = see_other(location);
    let _ = res.add_cookie(&c);
    res
}

/// Renders `page` with `status`; the flash message it showed is cleared.
pub fn render_status<T: Template>(
    req: &HttpRequest,
    settings: &Settings,
    status: StatusCode,
    page: &T,
) -> DashResult {
    let body = page.render()?;
    let mut res = HttpResponse::build(status);
    res.insert_header((
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    ));
    let mut res = res.body(body);
    if req.cookie(flash_cookie_name(settings)).is_some() {
        let mut gone = cookie(settings, flash_cookie_name(settings), String::new());
        gone.make_removal();
        let _ = res.add_cookie(&gone);
    }
    Ok(res)
}

pub fn render<T: Template>(req: &HttpRequest, settings: &Settings, page: &T) -> DashResult {
    render_status(req, settings, StatusCode::OK, page)
}

/// Percent-encodes a query value (user ids contain `|`).
pub fn encode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

/// The deepest page a listing links to; beyond it, narrow the listing with its filters.
const MAX_PAGE: i64 = 10_000;

/// Where one page of a listing sits among all (`page` from 0, from the query string) and the
/// links to the pages on either side, which keep the listing's filters.
pub struct Pager {
    /// 1-based positions of the first and last row shown, and how many there are in all.
    pub first: i64,
    pub last: i64,
    pub total: i64,
    pub previous: Option<String>,
    pub next: Option<String>,
}

impl Pager {
    /// The page a query string asks for: `page=N`; anything else is the first page (a hand-edited
    /// address shows the listing, not an error).
    pub fn requested(page: Option<&str>) -> i64 {
        page.and_then(|p| p.trim().parse::<i64>().ok())
            .map_or(0, |p| p.clamp(0, MAX_PAGE))
    }

    /// `link(n)` is the address of page `n`.
    pub fn new(
        page: i64,
        size: i64,
        shown: usize,
        total: i64,
        link: impl Fn(i64) -> String,
    ) -> Self {
        let offset = page * size;
        let shown = i64::try_from(shown).unwrap_or(0);
        Pager {
            first: if shown == 0 { 0 } else { offset + 1 },
            last: offset + shown,
            total,
            previous: (page > 0)
                .then(|| link((page - 1).min(total.saturating_sub(1) / size.max(1)))),
            next: (offset + shown < total && page < MAX_PAGE).then(|| link(page + 1)),
        }
    }
}

/// Validation messages by form field, shown next to the field they are about.
#[derive(Clone, Debug, Default)]
pub struct Errors(Vec<(String, String)>);

impl Errors {
    pub fn one(field: &str, message: impl Into<String>) -> Self {
        Errors(vec![(field.to_owned(), message.into())])
    }

    pub fn get(&self, field: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(f, _)| f == field)
            .map(|(_, m)| m.as_str())
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// One `<option>` of a `<select>`.
#[derive(Clone, Debug)]
pub struct Choice {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

impl Choice {
    pub fn list(options: &[(&str, &str)], current: &str) -> Vec<Choice> {
        options
            .iter()
            .map(|(value, label)| Choice {
                value: (*value).to_owned(),
                label: (*label).to_owned(),
                selected: *value == current,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_are_found_by_field() {
        let e = Errors::one("name", "is required");
        assert_eq!(e.get("name"), Some("is required"));
        assert_eq!(e.get("client_id"), None);
        assert!(Errors::default().is_empty());
    }

    #[test]
    fn choices_mark_the_current_value() {
        let c = Choice::list(&[("a", "A"), ("b", "B")], "b");
        assert!(!c[0].selected && c[1].selected);
    }
}
