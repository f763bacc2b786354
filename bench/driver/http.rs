//! The HTTP side of the driver: one operation per function (a complete login, a
//! client_credentials grant, management API calls), each checking its answer.
//!
//! Requests for `{tenant}.localhost:PORT` go to `127.0.0.1:PORT` with the tenant in the `Host`
//! header, the way a keep-alive reverse proxy in front of Gatehouse would send them: one
//! connection pool per virtual user whatever the tenant, so 1 tenant and 100,000 tenants cost
//! the same in TCP connections.

use std::time::{Duration, Instant};

use reqwest::header::{HeaderValue, HOST, LOCATION};
use reqwest::{Method, RequestBuilder, StatusCode};
use serde_json::Value;
use url::Url;

/// A virtual user: keeps cookies (one browser), never follows redirects.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .cookie_store(true)
        .timeout(Duration::from_secs(20))
        .pool_idle_timeout(Duration::from_secs(30))
        .build()
        .expect("an HTTP client")
}

/// A request for an absolute URL, sent to loopback with the URL's authority as `Host`.
pub fn request(
    http: &reqwest::Client,
    method: Method,
    url: &str,
) -> Result<RequestBuilder, String> {
    let parsed = Url::parse(url).map_err(|e| format!("bad URL {url}: {e}"))?;
    let host = parsed
        .host_str()
        .ok_or_else(|| format!("no host in {url}"))?;
    let port = parsed.port_or_known_default().unwrap_or(80);
    let authority = match parsed.port() {
        Some(p) => format!("{host}:{p}"),
        None => host.to_owned(),
    };
    let mut target = format!("http://127.0.0.1:{port}{}", parsed.path());
    if let Some(q) = parsed.query() {
        target.push('?');
        target.push_str(q);
    }
    let host_value = HeaderValue::from_str(&authority).map_err(|e| e.to_string())?;
    Ok(http.request(method, target).header(HOST, host_value))
}

async fn send(rb: RequestBuilder, what: &str) -> Result<reqwest::Response, String> {
    rb.send().await.map_err(|e| format!("{what}: {e}"))
}

fn location(res: &reqwest::Response, what: &str) -> Result<String, String> {
    res.headers()
        .get(LOCATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .ok_or_else(|| format!("{what}: {} without Location", res.status()))
}

async fn expect_status(
    res: reqwest::Response,
    want: StatusCode,
    what: &str,
) -> Result<reqwest::Response, String> {
    if res.status() == want {
        return Ok(res);
    }
    let status = res.status();
    let body = res.text().await.unwrap_or_default();
    let body: String = body.split_whitespace().collect::<Vec<_>>().join(" ");
    Err(format!(
        "{what}: expected {want}, got {status}: {}",
        body.chars().take(200).collect::<String>()
    ))
}

pub fn query_param(url: &str, name: &str) -> Option<String> {
    Url::parse(url)
        .ok()?
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// An application of a tenant that logs users in through an Exact connection.
#[derive(Clone, Debug)]
pub struct LoginTarget {
    /// `{slug}.localhost:PORT`
    pub host: String,
    pub client_id: String,
    pub client_secret: String,
    pub callback: String,
    pub connection: String,
}

impl LoginTarget {
    pub fn authorize_url(&self) -> String {
        let mut url = Url::parse(&format!("http://{}/authorize", self.host)).expect("URL");
        url.query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", &self.client_id)
            .append_pair("redirect_uri", &self.callback)
            .append_pair("scope", "openid profile email")
            .append_pair("state", "bench-state")
            .append_pair("nonce", "bench-nonce")
            .append_pair("connection", &self.connection);
        url.into()
    }
}

/// Microseconds of each step of a login: /authorize, the fake Exact's authorize,
/// /login/callback, /oauth/token.
pub type Steps = [u32; 4];

fn micros(since: Instant) -> u32 {
    since.elapsed().as_micros().min(u32::MAX as u128) as u32
}

/// `GET /authorize` only: checks the redirect to the upstream. Returns that redirect.
pub async fn authorize(http: &reqwest::Client, t: &LoginTarget) -> Result<String, String> {
    let res = send(request(http, Method::GET, &t.authorize_url())?, "authorize").await?;
    let res = expect_status(res, StatusCode::FOUND, "authorize").await?;
    let to_exact = location(&res, "authorize")?;
    let _ = res.bytes().await;
    Ok(to_exact)
}

/// The complete brokered login: /authorize → fake Exact (auto consent) → /login/callback →
/// /oauth/token, ending with an RS256 ID token.
///
/// With `user = Some(n)`, the browser arrives at the fake Exact with user `n`'s session (the
/// fake's `fake_exact_user` cookie), so logins spread over many users as in real traffic.
pub async fn login(
    http: &reqwest::Client,
    t: &LoginTarget,
    user: Option<u32>,
) -> Result<Steps, String> {
    let mut steps = [0u32; 4];

    let start = Instant::now();
    let to_exact = authorize(http, t).await?;
    steps[0] = micros(start);

    let start = Instant::now();
    let mut to_fake = request(http, Method::GET, &to_exact)?;
    if let Some(n) = user {
        to_fake = to_fake.header(
            reqwest::header::COOKIE,
            format!("{}={n}", fake_exact::SESSION_COOKIE),
        );
    }
    let res = send(to_fake, "fake Exact authorize").await?;
    let res = expect_status(res, StatusCode::FOUND, "fake Exact authorize").await?;
    let back = location(&res, "fake Exact authorize")?;
    let _ = res.bytes().await;
    steps[1] = micros(start);
    if !back.starts_with(&format!("http://{}/login/callback", t.host)) {
        return Err(format!("fake Exact sent the browser to {back}"));
    }

    let start = Instant::now();
    let res = send(request(http, Method::GET, &back)?, "callback").await?;
    let res = expect_status(res, StatusCode::FOUND, "callback").await?;
    let to_app = location(&res, "callback")?;
    let _ = res.bytes().await;
    steps[2] = micros(start);
    if !to_app.starts_with(&t.callback) {
        return Err(format!("callback sent the browser to {to_app}"));
    }
    let code = query_param(&to_app, "code")
        .ok_or_else(|| format!("callback redirect without a code: {to_app}"))?;

    let start = Instant::now();
    let res = send(
        request(
            http,
            Method::POST,
            &format!("http://{}/oauth/token", t.host),
        )?
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", &t.callback),
            ("client_id", &t.client_id),
            ("client_secret", &t.client_secret),
        ]),
        "token",
    )
    .await?;
    let res = expect_status(res, StatusCode::OK, "token").await?;
    let body: Value = res.json().await.map_err(|e| format!("token: {e}"))?;
    steps[3] = micros(start);
    let id_token = body["id_token"]
        .as_str()
        .ok_or("token answer without id_token")?;
    if id_token.split('.').count() != 3 || !id_token.starts_with("eyJ") {
        return Err("the id_token is not a JWS".into());
    }
    Ok(steps)
}

/// A machine application with a grant for the tenant's management API.
#[derive(Clone, Debug)]
pub struct MachineClient {
    pub host: String,
    pub client_id: String,
    pub client_secret: String,
}

impl MachineClient {
    pub fn audience(&self) -> String {
        format!("http://{}/api/v2/", self.host)
    }
}

/// `POST /oauth/token` with `grant_type=client_credentials`; returns the access token.
pub async fn client_credentials(
    http: &reqwest::Client,
    m: &MachineClient,
) -> Result<String, String> {
    let res = send(
        request(
            http,
            Method::POST,
            &format!("http://{}/oauth/token", m.host),
        )?
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", &m.client_id),
            ("client_secret", &m.client_secret),
            ("audience", &m.audience()),
        ]),
        "client_credentials",
    )
    .await?;
    let res = expect_status(res, StatusCode::OK, "client_credentials").await?;
    let body: Value = res
        .json()
        .await
        .map_err(|e| format!("client_credentials: {e}"))?;
    body["access_token"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| "client_credentials answer without access_token".into())
}

/// A management API call on `host` with `token`; checks the status, returns the JSON body.
pub async fn management(
    http: &reqwest::Client,
    host: &str,
    token: &str,
    method: Method,
    path: &str,
    body: Option<&Value>,
    want: StatusCode,
) -> Result<Value, String> {
    let what = format!("{method} {path}");
    let mut rb = request(http, method, &format!("http://{host}{path}"))?.bearer_auth(token);
    if let Some(b) = body {
        rb = rb.json(b);
    }
    let res = send(rb, &what).await?;
    let res = expect_status(res, want, &what).await?;
    let bytes = res.bytes().await.map_err(|e| format!("{what}: {e}"))?;
    if bytes.is_empty() {
        return Ok(Value::Null);
    }
    serde_json::from_slice(&bytes).map_err(|e| format!("{what}: answer is not JSON: {e}"))
}

/// `GET /readyz` on `127.0.0.1:port`: true on 200.
pub async fn ready(http: &reqwest::Client, port: u16) -> bool {
    match http
        .get(format!("http://127.0.0.1:{port}/readyz"))
        .timeout(Duration::from_millis(500))
        .send()
        .await
    {
        Ok(res) => res.status() == StatusCode::OK,
        Err(_) => false,
    }
}
