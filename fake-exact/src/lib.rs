//! A fake Exact Online: the three OAuth/REST endpoints Gatehouse talks to, quirks included.
//!
//! Used by Gatehouse's integration tests and benchmarks over real HTTP on loopback, and by the
//! `fake-exact` binary (`src/main.rs`) so logins can be tried on a laptop without an Exact
//! account. A crate of its own so none of it is compiled into Gatehouse's production build.
//! It copies the real service where that is odd: `expires_in` is a string, codes and tokens
//! contain `!*+/=`, failed code exchanges answer either plain-text `Bad Request` or RFC 6749
//! JSON, `current/Me` answers XML unless asked for JSON, and refresh tokens rotate on every use.
//!
//! # Endpoints
//!
//! | method, path | what it does |
//! |---|---|
//! | `GET /api/oauth2/auth` | authorize; answers per [`Consent`] (redirect, consent page, or decline) |
//! | `POST /api/oauth2/auth/consent` | the consent page's Allow / Decline buttons post here |
//! | `POST /api/oauth2/token` | `authorization_code` and `refresh_token` grants, per [`TokenMode`] |
//! | `GET /api/v1/current/Me` | the signed-in user, OData JSON or Atom XML, per [`MeMode`] |
//!
//! # Control endpoints
//!
//! The same switches as [`FakeExactHandle`], over HTTP for the standalone binary and for
//! benchmarks. Each takes a small JSON body (`Content-Type: application/json`) and answers
//! `204 No Content`. They are unauthenticated: the fake is meant for loopback only.
//!
//! | path | body |
//! |---|---|
//! | `POST /__fake/token-mode` | `{"mode":"ok"}`; modes `ok`, `status500`, `html`, `garbage_json`, `no_access_token`, `plain_bad_request`, `invalid_grant`, `huge`, and `{"mode":"slow","millis":1500}` |
//! | `POST /__fake/me-mode` | `{"mode":"ok"}`; modes `ok`, `empty_results`, `missing_d`, `garbage`, `unauthorized`, and `{"mode":"slow","millis":1500}` |
//! | `POST /__fake/consent` | `{"consent":"auto"}`; `auto`, `page` or `decline` |
//! | `POST /__fake/user` | a [`FakeUser`] in snake_case: `{"user_id":"<guid>","user_name":"piet@example.nl","full_name":null,...}`; only `user_id` and `user_name` are required |
//!
//! # Example
//!
//! ```no_run
//! # async fn demo() {
//! use fake_exact::{FakeApp, FakeExact, TokenMode};
//! let exact = FakeExact::start(FakeApp {
//!     client_id: "client".into(),
//!     client_secret: "secret".into(),
//!     redirect_uris: vec!["https://login.example.test/callback".into()],
//! })
//! .await;
//! exact.set_token_mode(TokenMode::InvalidGrant);
//! // ... point the code under test at exact.base_url() ...
//! exact.stop().await;
//! # }
//! ```

mod auth;
mod control;
mod html;
mod me;
pub mod oidc;
mod state;
mod token;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::fmt;
use std::net::{SocketAddr, TcpListener};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::http::header::{HeaderMap, HeaderName};
use actix_web::{dev::ServerHandle, web, App, HttpServer};
use serde::{Deserialize, Serialize};

use state::{Shared, State};

/// Builder entry: starts a fake Exact Online server.
pub struct FakeExact;

/// An app registered at the fake, as an Exact app registration would be.
#[derive(Clone)]
pub struct FakeApp {
    pub client_id: String,
    pub client_secret: String,
    /// Callback URIs accepted, compared string-equal as Exact does. Empty accepts any
    /// absolute URI, which is what the standalone binary wants when none are configured.
    pub redirect_uris: Vec<String>,
}

// Hand-written so a secret never reaches a log line or a test failure message.
impl fmt::Debug for FakeApp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FakeApp")
            .field("client_id", &self.client_id)
            .field("client_secret", &"[redacted]")
            .field("redirect_uris", &self.redirect_uris)
            .finish()
    }
}

/// The Exact user who "signs in" at the next authorize request. Field names follow
/// `current/Me`; every field but `user_id` may be absent, as at the real Exact.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct FakeUser {
    /// A GUID; the stable identifier.
    pub user_id: String,
    pub user_name: String,
    #[serde(default)]
    pub full_name: Option<String>,
    #[serde(default)]
    pub first_name: Option<String>,
    #[serde(default)]
    pub middle_name: Option<String>,
    #[serde(default)]
    pub last_name: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub picture_url: Option<String>,
    #[serde(default)]
    pub language_code: Option<String>,
    #[serde(default)]
    pub current_division: Option<i64>,
    #[serde(default)]
    pub gender: Option<String>,
    #[serde(default)]
    pub title: Option<String>,
}

impl FakeUser {
    /// Jan de Vries, the default user: every field filled in.
    pub fn jan() -> Self {
        FakeUser {
            user_id: "b0b2c3d4-0000-4000-8000-000000000001".into(),
            user_name: "jan@example.nl".into(),
            full_name: Some("Jan de Vries".into()),
            first_name: Some("Jan".into()),
            middle_name: Some("de".into()),
            last_name: Some("Vries".into()),
            email: Some("jan@example.nl".into()),
            picture_url: Some("https://start.exactonline.nl/docs/images/jan.png".into()),
            language_code: Some("nl-NL".into()),
            current_division: Some(123456),
            gender: Some("M".into()),
            title: Some("DHR".into()),
        }
    }

    /// Generated user `n`, who signs in when the browser carries the `fake_exact_user=n` cookie
    /// (see [`SESSION_COOKIE`]).
    pub fn numbered(n: u32) -> Self {
        FakeUser {
            // Apart from Jan's id (…8000-000000000001), so user 1 is not Jan under another name.
            user_id: format!("b0b2c3d4-0000-4000-9000-{n:012}"),
            user_name: format!("user{n}@example.nl"),
            full_name: Some(format!("User {n}")),
            first_name: Some("User".into()),
            middle_name: None,
            last_name: Some(n.to_string()),
            email: Some(format!("user{n}@example.nl")),
            picture_url: None,
            language_code: Some("nl-NL".into()),
            current_division: Some(123456),
            gender: None,
            title: None,
        }
    }
}

/// At the real Exact the browser's session decides who signs in. A browser carrying this cookie
/// with a number `n` signs in as [`FakeUser::numbered`]`(n)`; without it, the fake's current
/// user ([`FakeExactHandle::set_user`]) does. Concurrent browsers can so sign in as different
/// users without racing on the fake's one current user.
pub const SESSION_COOKIE: &str = "fake_exact_user";

/// What the user does at the authorize step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Consent {
    /// `GET /api/oauth2/auth` redirects straight back with a code.
    Auto,
    /// Shows an HTML page with Allow / Decline buttons (forms POSTing back).
    Page,
    /// Redirects straight back with `error=access_denied`.
    Decline,
}

/// How `POST /api/oauth2/token` answers. Anything but `Ok` and `Slow` replaces normal
/// processing (the request is still recorded).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TokenMode {
    Ok,
    Status500,
    /// 200 `text/html` page.
    Html,
    /// 200 `application/json` that is not JSON.
    GarbageJson,
    /// 200 JSON without `access_token`.
    NoAccessToken,
    /// 400 `text/plain` `Bad Request`.
    PlainBadRequest,
    /// 400 JSON `invalid_grant` with Exact's chainId description.
    InvalidGrant,
    /// Sleeps, then answers as `Ok`.
    Slow(Duration),
    /// 200 with a ~5 MiB body.
    Huge,
}

/// How `GET /api/v1/current/Me` answers. Anything but `Ok` and `Slow` replaces normal
/// processing (the request is still recorded).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MeMode {
    Ok,
    /// `{"d":{"results":[]}}`
    EmptyResults,
    /// `{}`
    MissingD,
    /// 200 `application/json` that is not JSON.
    Garbage,
    /// 401 with Exact's REST error body.
    Unauthorized,
    /// Sleeps, then answers as `Ok`.
    Slow(Duration),
}

/// One `POST /api/oauth2/token` as received, with the status it was answered with.
#[derive(Clone, Debug)]
pub struct RecordedTokenRequest {
    pub content_type: Option<String>,
    pub authorization_header: Option<String>,
    pub form: BTreeMap<String, String>,
    pub status: u16,
}

/// One `GET /api/v1/current/Me` as received, with the status it was answered with.
#[derive(Clone, Debug)]
pub struct RecordedMeRequest {
    pub accept: Option<String>,
    pub authorization: Option<String>,
    pub status: u16,
}

/// One `GET /api/oauth2/auth` as received (valid or not).
#[derive(Clone, Debug)]
pub struct RecordedAuthorizeRequest {
    pub query: BTreeMap<String, String>,
}

/// A running fake. Dropping it without [`FakeExactHandle::stop`] leaves the server running
/// until the tokio runtime that started it shuts down.
pub struct FakeExactHandle {
    base_url: String,
    state: Shared,
    server: ServerHandle,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl FakeExact {
    /// Binds `127.0.0.1:0` and serves in the background on the current tokio runtime, with
    /// [`Consent::Auto`] and [`FakeUser::jan`].
    ///
    /// # Panics
    /// If no loopback port can be bound: tests cannot do anything useful then.
    pub async fn start(app: FakeApp) -> FakeExactHandle {
        let addr = SocketAddr::from(([127, 0, 0, 1], 0));
        Self::bind(addr, app, Consent::Auto)
            .await
            .expect("bind a loopback port for the fake Exact")
    }

    /// Binds `addr` and serves in the background on the current tokio runtime. The binary uses
    /// this to listen where it is told and to start with the consent page.
    pub async fn bind(
        addr: SocketAddr,
        app: FakeApp,
        consent: Consent,
    ) -> std::io::Result<FakeExactHandle> {
        let listener = TcpListener::bind(addr)?;
        let local = listener.local_addr()?;
        let state: Shared = Arc::new(Mutex::new(State::new(app, consent)));
        let data = web::Data::new(state.clone());
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .configure(auth::routes)
                .configure(token::routes)
                .configure(me::routes)
                .configure(control::routes)
        })
        // One worker is plenty (handlers are async) and keeps per-test thread counts low.
        .workers(1)
        // The owner decides when to stop; tests must not die on the developer's Ctrl-C twice.
        .disable_signals()
        // Keep-alive connections from pooled clients would otherwise hold `stop` for 30 s.
        .shutdown_timeout(1)
        .listen(listener)?
        .run();
        let server_handle = server.handle();
        let task = tokio::spawn(server);
        tracing::info!(listen.addr = %local, "fake Exact listening");
        Ok(FakeExactHandle {
            base_url: format!("http://{local}"),
            state,
            server: server_handle,
            task,
        })
    }
}

impl FakeExactHandle {
    /// `http://127.0.0.1:PORT` (or whatever address was bound).
    pub fn base_url(&self) -> String {
        self.base_url.clone()
    }

    /// Registers another app; one with the same `client_id` is replaced.
    pub fn add_app(&self, app: FakeApp) {
        self.lock().add_app(app);
    }

    /// The user who signs in at the next authorize request. Grants already issued keep the
    /// user they were issued for.
    pub fn set_user(&self, user: FakeUser) {
        self.lock().user = user;
    }

    pub fn set_consent(&self, c: Consent) {
        self.lock().consent = c;
    }

    pub fn set_token_mode(&self, m: TokenMode) {
        self.lock().token_mode = m;
    }

    pub fn set_me_mode(&self, m: MeMode) {
        self.lock().me_mode = m;
    }

    /// Every `POST /api/oauth2/token` received, oldest first.
    pub fn token_requests(&self) -> Vec<RecordedTokenRequest> {
        self.lock().token_requests.clone()
    }

    /// Every `GET /api/v1/current/Me` received, oldest first.
    pub fn me_requests(&self) -> Vec<RecordedMeRequest> {
        self.lock().me_requests.clone()
    }

    /// Every `GET /api/oauth2/auth` received, oldest first.
    pub fn authorize_requests(&self) -> Vec<RecordedAuthorizeRequest> {
        self.lock().authorize_requests.clone()
    }

    /// Stops accepting connections, lets in-flight requests finish (up to a second) and waits
    /// for the server task to end.
    pub async fn stop(self) {
        self.server.stop(true).await;
        if let Err(err) = self.task.await {
            tracing::warn!(error = %err, "fake Exact server task ended abnormally");
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().expect("fake Exact state lock poisoned")
    }
}

/// A request header as recorded: lossy rather than refused, since the fake must record
/// whatever a client sends.
fn header_string(headers: &HeaderMap, name: HeaderName) -> Option<String> {
    headers
        .get(name)
        .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned())
}
