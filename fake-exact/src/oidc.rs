//! A fake OpenID Connect provider, beside the fake Exact: discovery, a key set that rotates,
//! authorize (straight back, or a consent page), the token endpoint (client_secret_basic or
//! _post, PKCE S256, refresh), and userinfo. Its ID tokens can be made defective one way at a
//! time ([`IdTokenDefect`]) and the whole service slow, failing or garbled ([`OidcMode`]), so
//! Gatehouse's `oidc` strategy is tested against each thing a real provider (or an attacker
//! posing as one) can do. Loopback only: it signs whatever it is asked to.
//!
//! | method, path | what it does |
//! |---|---|
//! | `GET /.well-known/openid-configuration` | the discovery document |
//! | `GET /jwks` | the key set: the current key, and the previous one after a rotation |
//! | `GET /authorize` | redirects back with `code`, `state` and `iss` (or shows a consent page) |
//! | `POST /token` | `authorization_code` and `refresh_token` grants |
//! | `GET /userinfo` | the user's claims for a Bearer access token |

use std::collections::HashMap;
use std::net::{SocketAddr, TcpListener};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::http::header;
use actix_web::{dev::ServerHandle, web, App, HttpRequest, HttpResponse, HttpServer};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{KeyPair as _, RsaKeyPair, RSA_PKCS1_SHA256};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use serde_json::{json, Value};

/// A client registered at the fake provider.
#[derive(Clone)]
pub struct OidcClient {
    pub client_id: String,
    pub client_secret: String,
}

/// The user who signs in.
#[derive(Clone, Debug)]
pub struct OidcUser {
    pub sub: String,
    pub email: String,
    pub email_verified: bool,
    pub name: String,
}

impl OidcUser {
    pub fn ada() -> Self {
        OidcUser {
            sub: "248289761001".into(),
            email: "ada@example.com".into(),
            email_verified: true,
            name: "Ada Lovelace".into(),
        }
    }
}

/// One thing wrong with the ID tokens the fake issues.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IdTokenDefect {
    None,
    WrongIssuer,
    WrongAudience,
    WrongNonce,
    NoNonce,
    Expired,
    IssuedInTheFuture,
    BadSignature,
    /// `alg: none`, no signature.
    AlgNone,
    /// HS256 with the public key's bytes as the secret (the key-confusion attack).
    Hs256WithPublicKey,
    /// Header says ES256 over the RSA key's kid.
    AlgMismatch,
    /// Signed with a key the key set does not publish.
    UnknownKid,
    /// Two audiences and no `azp`.
    SeveralAudiencesNoAzp,
}

/// How the whole service behaves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OidcMode {
    Ok,
    /// Every endpoint waits this long first.
    Slow(Duration),
    /// Discovery and keys answer 503.
    DiscoveryDown,
    /// The token endpoint answers 200 with something that is not JSON.
    GarbageToken,
    /// Discovery answers with a redirect (to the real document: a client must not follow it).
    DiscoveryRedirect,
    /// The key set is over a megabyte.
    HugeKeys,
    /// Discovery claims to be another provider (`https://accounts.google.com`).
    ForeignIssuer,
}

struct Key {
    kid: String,
    pair: RsaKeyPair,
}

impl Key {
    fn generate() -> Self {
        Key {
            kid: format!("k{}", rand::random::<u32>()),
            pair: RsaKeyPair::generate(KeySize::Rsa2048).expect("RSA key generation"),
        }
    }

    fn jwk(&self) -> Value {
        let public = self.pair.public_key();
        json!({
            "kty": "RSA", "use": "sig", "alg": "RS256", "kid": self.kid,
            "n": URL_SAFE_NO_PAD.encode(public.modulus().big_endian_without_leading_zero()),
            "e": URL_SAFE_NO_PAD.encode(public.exponent().big_endian_without_leading_zero()),
        })
    }

    fn sign(&self, message: &[u8]) -> Vec<u8> {
        let mut signature = vec![0u8; self.pair.public_modulus_len()];
        self.pair
            .sign(
                &RSA_PKCS1_SHA256,
                &SystemRandom::new(),
                message,
                &mut signature,
            )
            .expect("RSA signing");
        signature
    }
}

/// What an issued code stands for.
struct Grant {
    client_id: String,
    redirect_uri: String,
    nonce: Option<String>,
    code_challenge: Option<String>,
    scope: String,
}

struct State {
    issuer: String,
    client: OidcClient,
    user: OidcUser,
    defect: IdTokenDefect,
    mode: OidcMode,
    consent_page: bool,
    /// Whether the authorize redirect names the issuer (RFC 9207), and which.
    callback_iss: Option<String>,
    /// Whether discovery says it always does.
    advertise_iss: bool,
    keys: Vec<Key>,
    /// Signs tokens with `UnknownKid`; never published.
    stray: Key,
    codes: HashMap<String, Grant>,
    access_tokens: HashMap<String, ()>,
    refresh_tokens: HashMap<String, String>,
    discovery_hits: usize,
    jwks_hits: usize,
    token_requests: Vec<(Option<String>, HashMap<String, String>)>,
    authorize_requests: Vec<HashMap<String, String>>,
    /// The headers of each token and userinfo request, lowercased names.
    request_headers: Vec<(String, HashMap<String, String>)>,
}

type Shared = Arc<Mutex<State>>;

pub struct FakeOidc;

pub struct FakeOidcHandle {
    issuer: String,
    state: Shared,
    server: ServerHandle,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

fn token() -> String {
    let bytes: [u8; 24] = rand::random();
    URL_SAFE_NO_PAD.encode(bytes)
}

impl FakeOidc {
    pub async fn start(client: OidcClient) -> FakeOidcHandle {
        Self::bind(SocketAddr::from(([127, 0, 0, 1], 0)), client)
            .await
            .expect("bind a loopback port for the fake OpenID Connect provider")
    }

    pub async fn bind(addr: SocketAddr, client: OidcClient) -> std::io::Result<FakeOidcHandle> {
        let listener = TcpListener::bind(addr)?;
        let issuer = format!("http://{}", listener.local_addr()?);
        let state: Shared = Arc::new(Mutex::new(State {
            issuer: issuer.clone(),
            client,
            user: OidcUser::ada(),
            defect: IdTokenDefect::None,
            mode: OidcMode::Ok,
            consent_page: false,
            callback_iss: Some(issuer.clone()),
            advertise_iss: true,
            keys: vec![Key::generate()],
            stray: Key::generate(),
            codes: HashMap::new(),
            access_tokens: HashMap::new(),
            refresh_tokens: HashMap::new(),
            discovery_hits: 0,
            jwks_hits: 0,
            token_requests: Vec::new(),
            authorize_requests: Vec::new(),
            request_headers: Vec::new(),
        }));
        let data = web::Data::new(state.clone());
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .route(
                    "/.well-known/openid-configuration",
                    web::get().to(discovery),
                )
                .route("/jwks", web::get().to(jwks))
                .route("/authorize", web::get().to(authorize))
                .route("/authorize/consent", web::post().to(consent))
                .route("/token", web::post().to(token_endpoint))
                .route("/userinfo", web::get().to(userinfo))
        })
        .workers(1)
        .disable_signals()
        .shutdown_timeout(1)
        .listen(listener)?
        .run();
        let handle = server.handle();
        let task = tokio::spawn(server);
        Ok(FakeOidcHandle {
            issuer,
            state,
            server: handle,
            task,
        })
    }
}

impl FakeOidcHandle {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The issuer, which is also the base URL.
    pub fn issuer(&self) -> String {
        self.issuer.clone()
    }

    pub fn discovery_url(&self) -> String {
        format!("{}/.well-known/openid-configuration", self.issuer)
    }

    pub fn set_defect(&self, defect: IdTokenDefect) {
        self.lock().defect = defect;
    }

    pub fn set_mode(&self, mode: OidcMode) {
        self.lock().mode = mode;
    }

    pub fn set_user(&self, user: OidcUser) {
        self.lock().user = user;
    }

    pub fn set_consent_page(&self, on: bool) {
        self.lock().consent_page = on;
    }

    /// What the authorize redirect says `iss` is (`None`: it says nothing).
    pub fn set_callback_iss(&self, iss: Option<String>) {
        self.lock().callback_iss = iss;
    }

    /// Whether discovery advertises `authorization_response_iss_parameter_supported`.
    pub fn set_advertise_iss(&self, on: bool) {
        self.lock().advertise_iss = on;
    }

    /// A new current key; the previous one stays published, as providers do during a rollover.
    pub fn rotate_keys(&self) {
        let mut state = self.lock();
        state.keys.insert(0, Key::generate());
        state.keys.truncate(2);
    }

    pub fn discovery_hits(&self) -> usize {
        self.lock().discovery_hits
    }

    pub fn jwks_hits(&self) -> usize {
        self.lock().jwks_hits
    }

    /// Each token request's Authorization header and form.
    pub fn token_requests(&self) -> Vec<(Option<String>, HashMap<String, String>)> {
        self.lock().token_requests.clone()
    }

    pub fn authorize_requests(&self) -> Vec<HashMap<String, String>> {
        self.lock().authorize_requests.clone()
    }

    /// Each token and userinfo request's path and headers.
    pub fn request_headers(&self) -> Vec<(String, HashMap<String, String>)> {
        self.lock().request_headers.clone()
    }

    pub async fn stop(self) {
        self.server.stop(false).await;
        let _ = self.task.await;
    }
}

async fn pause(state: &Shared) -> OidcMode {
    let mode = state.lock().unwrap_or_else(|e| e.into_inner()).mode;
    if let OidcMode::Slow(d) = mode {
        tokio::time::sleep(d).await;
    }
    mode
}

async fn discovery(state: web::Data<Shared>) -> HttpResponse {
    match pause(&state).await {
        OidcMode::DiscoveryDown => return HttpResponse::ServiceUnavailable().body("maintenance"),
        OidcMode::DiscoveryRedirect => {
            return HttpResponse::Found()
                .insert_header((header::LOCATION, "http://169.254.169.254/latest/meta-data/"))
                .finish()
        }
        _ => {}
    }
    let mut s = state.lock().unwrap_or_else(|e| e.into_inner());
    s.discovery_hits += 1;
    let i = &s.issuer;
    let claimed = match s.mode {
        OidcMode::ForeignIssuer => "https://accounts.google.com".to_owned(),
        _ => i.clone(),
    };
    HttpResponse::Ok().json(json!({
        "issuer": claimed,
        "authorization_endpoint": format!("{i}/authorize"),
        "token_endpoint": format!("{i}/token"),
        "userinfo_endpoint": format!("{i}/userinfo"),
        "jwks_uri": format!("{i}/jwks"),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "code_challenge_methods_supported": ["S256"],
        "authorization_response_iss_parameter_supported": s.advertise_iss,
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
    }))
}

async fn jwks(state: web::Data<Shared>) -> HttpResponse {
    match pause(&state).await {
        OidcMode::DiscoveryDown => return HttpResponse::ServiceUnavailable().body("maintenance"),
        OidcMode::HugeKeys => {
            let padding = "x".repeat(1 << 20);
            return HttpResponse::Ok().json(json!({"keys": [], "padding": padding}));
        }
        _ => {}
    }
    let mut s = state.lock().unwrap_or_else(|e| e.into_inner());
    s.jwks_hits += 1;
    let keys: Vec<Value> = s.keys.iter().map(Key::jwk).collect();
    // A symmetric key in the set too: a client must never use it.
    let mut all = keys;
    all.push(
        json!({"kty": "oct", "kid": "shared", "k": URL_SAFE_NO_PAD.encode(b"not-a-signing-key")}),
    );
    HttpResponse::Ok().json(json!({ "keys": all }))
}

fn headers_of(req: &HttpRequest) -> (String, HashMap<String, String>) {
    let headers = req
        .headers()
        .iter()
        .filter_map(|(k, v)| Some((k.as_str().to_owned(), v.to_str().ok()?.to_owned())))
        .collect();
    (req.path().to_owned(), headers)
}

fn query(req: &HttpRequest) -> HashMap<String, String> {
    url::form_urlencoded::parse(req.query_string().as_bytes())
        .into_owned()
        .collect()
}

fn redirect_back(s: &mut State, q: &HashMap<String, String>) -> HttpResponse {
    let redirect_uri = q.get("redirect_uri").cloned().unwrap_or_default();
    let Ok(mut back) = url::Url::parse(&redirect_uri) else {
        return HttpResponse::BadRequest().body("invalid redirect_uri");
    };
    let code = token();
    s.codes.insert(
        code.clone(),
        Grant {
            client_id: q.get("client_id").cloned().unwrap_or_default(),
            redirect_uri,
            nonce: q.get("nonce").cloned(),
            code_challenge: q.get("code_challenge").cloned(),
            scope: q.get("scope").cloned().unwrap_or_default(),
        },
    );
    {
        let mut pairs = back.query_pairs_mut();
        pairs.append_pair("code", &code);
        if let Some(st) = q.get("state") {
            pairs.append_pair("state", st);
        }
        if let Some(iss) = &s.callback_iss {
            pairs.append_pair("iss", iss);
        }
    }
    HttpResponse::Found()
        .insert_header((header::LOCATION, back.to_string()))
        .finish()
}

async fn authorize(req: HttpRequest, state: web::Data<Shared>) -> HttpResponse {
    pause(&state).await;
    let q = query(&req);
    let mut s = state.lock().unwrap_or_else(|e| e.into_inner());
    s.authorize_requests.push(q.clone());
    if q.get("client_id") != Some(&s.client.client_id) {
        return HttpResponse::BadRequest().body("unknown client_id");
    }
    if q.get("response_type").map(String::as_str) != Some("code") {
        return HttpResponse::BadRequest().body("unsupported response_type");
    }
    if !q
        .get("scope")
        .is_some_and(|sc| sc.split(' ').any(|x| x == "openid"))
    {
        return HttpResponse::BadRequest().body("scope must include openid");
    }
    if s.consent_page {
        let hidden: String = q
            .iter()
            .map(|(k, v)| {
                format!(
                    "<input type=\"hidden\" name=\"{}\" value=\"{}\">",
                    html_escape(k),
                    html_escape(v)
                )
            })
            .collect();
        let page = format!(
            "<!doctype html><title>Sign in</title><h1>Sign in as {}?</h1>\
             <form method=\"post\" action=\"/authorize/consent\">{hidden}\
             <button name=\"decision\" value=\"allow\" id=\"allow\">Allow</button>\
             <button name=\"decision\" value=\"deny\" id=\"deny\">Deny</button></form>",
            html_escape(&s.user.name)
        );
        return HttpResponse::Ok().content_type("text/html").body(page);
    }
    redirect_back(&mut s, &q)
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

async fn consent(
    state: web::Data<Shared>,
    form: web::Form<HashMap<String, String>>,
) -> HttpResponse {
    let mut q = form.into_inner();
    let decision = q.remove("decision").unwrap_or_default();
    let mut s = state.lock().unwrap_or_else(|e| e.into_inner());
    if decision != "allow" {
        let Ok(mut back) = url::Url::parse(q.get("redirect_uri").map(String::as_str).unwrap_or(""))
        else {
            return HttpResponse::BadRequest().body("invalid redirect_uri");
        };
        back.query_pairs_mut()
            .append_pair("error", "access_denied")
            .append_pair("state", q.get("state").map(String::as_str).unwrap_or(""));
        return HttpResponse::Found()
            .insert_header((header::LOCATION, back.to_string()))
            .finish();
    }
    redirect_back(&mut s, &q)
}

fn oauth_error(status: u16, error: &str) -> HttpResponse {
    HttpResponse::build(actix_web::http::StatusCode::from_u16(status).expect("status"))
        .json(json!({"error": error}))
}

/// The client's credentials, from a Basic header or the form.
fn client_of(req: &HttpRequest, form: &HashMap<String, String>) -> Option<(String, String)> {
    if let Some(basic) = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
    {
        let decoded = String::from_utf8(STANDARD.decode(basic).ok()?).ok()?;
        let (id, secret) = decoded.split_once(':')?;
        let unescape = |s: &str| {
            url::form_urlencoded::parse(format!("x={s}").as_bytes())
                .next()
                .map(|(_, v)| v.into_owned())
        };
        return Some((unescape(id)?, unescape(secret)?));
    }
    Some((
        form.get("client_id")?.clone(),
        form.get("client_secret")?.clone(),
    ))
}

fn s256(verifier: &str) -> String {
    URL_SAFE_NO_PAD
        .encode(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, verifier.as_bytes()).as_ref())
}

fn id_token(s: &State, nonce: Option<&str>) -> String {
    let now = chrono::Utc::now().timestamp();
    let mut claims = json!({
        "iss": s.issuer, "sub": s.user.sub, "aud": s.client.client_id,
        "exp": now + 600, "iat": now, "auth_time": now,
        "email": s.user.email, "email_verified": s.user.email_verified, "name": s.user.name,
    });
    if let Some(n) = nonce {
        claims["nonce"] = json!(n);
    }
    let key = &s.keys[0];
    let mut header = json!({"alg": "RS256", "typ": "JWT", "kid": key.kid});
    let mut signer = key;
    match s.defect {
        IdTokenDefect::None => {}
        IdTokenDefect::WrongIssuer => claims["iss"] = json!("https://evil.example"),
        IdTokenDefect::WrongAudience => claims["aud"] = json!("someone-else"),
        IdTokenDefect::WrongNonce => claims["nonce"] = json!("a-nonce-from-another-login"),
        IdTokenDefect::NoNonce => {
            claims.as_object_mut().expect("claims").remove("nonce");
        }
        IdTokenDefect::Expired => {
            claims["exp"] = json!(now - 3600);
            claims["iat"] = json!(now - 7200);
        }
        IdTokenDefect::IssuedInTheFuture => claims["iat"] = json!(now + 3600),
        IdTokenDefect::SeveralAudiencesNoAzp => {
            claims["aud"] = json!([s.client.client_id, "another-app"])
        }
        IdTokenDefect::UnknownKid => {
            header["kid"] = json!(s.stray.kid);
            signer = &s.stray;
        }
        IdTokenDefect::AlgNone => header = json!({"alg": "none", "typ": "JWT"}),
        IdTokenDefect::Hs256WithPublicKey => {
            header = json!({"alg": "HS256", "typ": "JWT", "kid": key.kid})
        }
        IdTokenDefect::AlgMismatch => header["alg"] = json!("ES256"),
        IdTokenDefect::BadSignature => {}
    }
    let message = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let signature = match s.defect {
        IdTokenDefect::AlgNone => Vec::new(),
        IdTokenDefect::Hs256WithPublicKey => {
            let public = key.pair.public_key().as_ref().to_vec();
            let k = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, &public);
            aws_lc_rs::hmac::sign(&k, message.as_bytes())
                .as_ref()
                .to_vec()
        }
        IdTokenDefect::BadSignature => {
            let mut sig = signer.sign(message.as_bytes());
            sig[10] ^= 0xff;
            sig
        }
        _ => signer.sign(message.as_bytes()),
    };
    format!("{message}.{}", URL_SAFE_NO_PAD.encode(signature))
}

async fn token_endpoint(
    req: HttpRequest,
    state: web::Data<Shared>,
    form: web::Form<HashMap<String, String>>,
) -> HttpResponse {
    let mode = pause(&state).await;
    let form = form.into_inner();
    let mut s = state.lock().unwrap_or_else(|e| e.into_inner());
    let authorization = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    s.token_requests.push((authorization, form.clone()));
    s.request_headers.push(headers_of(&req));
    if mode == OidcMode::GarbageToken {
        return HttpResponse::Ok()
            .content_type("application/json")
            .body("{\"access_token\": <html>");
    }
    match client_of(&req, &form) {
        Some((id, secret)) if id == s.client.client_id && secret == s.client.client_secret => {}
        _ => return oauth_error(401, "invalid_client"),
    }
    let (nonce, scope) = match form.get("grant_type").map(String::as_str) {
        Some("authorization_code") => {
            let Some(grant) = form.get("code").and_then(|c| s.codes.remove(c)) else {
                return oauth_error(400, "invalid_grant");
            };
            if grant.client_id != s.client.client_id
                || form.get("redirect_uri") != Some(&grant.redirect_uri)
            {
                return oauth_error(400, "invalid_grant");
            }
            if let Some(challenge) = &grant.code_challenge {
                if form.get("code_verifier").map(|v| s256(v)).as_ref() != Some(challenge) {
                    return oauth_error(400, "invalid_grant");
                }
            }
            (grant.nonce, grant.scope)
        }
        Some("refresh_token") => {
            let Some(scope) = form
                .get("refresh_token")
                .and_then(|r| s.refresh_tokens.remove(r))
            else {
                return oauth_error(400, "invalid_grant");
            };
            (None, scope)
        }
        _ => return oauth_error(400, "unsupported_grant_type"),
    };
    let access = token();
    let refresh = token();
    s.access_tokens.insert(access.clone(), ());
    s.refresh_tokens.insert(refresh.clone(), scope.clone());
    HttpResponse::Ok().json(json!({
        "access_token": access,
        "token_type": "Bearer",
        "expires_in": 3600,
        "refresh_token": refresh,
        "id_token": id_token(&s, nonce.as_deref()),
        "scope": scope,
    }))
}

async fn userinfo(req: HttpRequest, state: web::Data<Shared>) -> HttpResponse {
    pause(&state).await;
    let mut s = state.lock().unwrap_or_else(|e| e.into_inner());
    s.request_headers.push(headers_of(&req));
    let bearer = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    if !bearer.is_some_and(|t| s.access_tokens.contains_key(t)) {
        return HttpResponse::Unauthorized()
            .insert_header((header::WWW_AUTHENTICATE, "Bearer error=\"invalid_token\""))
            .finish();
    }
    HttpResponse::Ok().json(json!({
        "sub": s.user.sub, "email": s.user.email, "email_verified": s.user.email_verified,
        "name": s.user.name, "locale": "en-GB",
    }))
}
