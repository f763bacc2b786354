//! The floor under a login's CPU: a bare server on Gatehouse's stack (actix-web workers, each
//! with its own sqlx pool and reqwest client, as Gatehouse's are) that does only a brokered
//! login's input and output, and no work of its own.
//!
//! A login through Gatehouse is 3 requests from the browser and the application, 2 calls to
//! Exact and 4 statements. This server answers the same 3 requests with the same calls and the
//! same number of round trips to PostgreSQL, and, with `--sign`, signs one RS256 token at the
//! third, as Gatehouse signs the ID token; with `--no-database` it makes no statement at all
//! (the floor of any design on this stack, however few round trips it makes). The bench driver
//! measures its CPU per login exactly as it measures a Gatehouse node's: whatever Gatehouse
//! spends above this floor is its own work (tenancy, validation, sealing, events, logs), the
//! floor is what the stack and the machine charge for the round trips.
//!
//!   floor --listen 127.0.0.1:PORT --database-url URL --upstream http://127.0.0.1:PORT \
//!         [--sign] [--no-database]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use actix_web::http::header;
use actix_web::{web, App, HttpResponse, HttpServer};
use clap::Parser;
use gatehouse::crypto::signing::{generate_key, SigningAlg, SigningKey};
use serde_json::json;
use sqlx::postgres::PgPoolOptions;
use sqlx::PgPool;

#[derive(Parser, Debug)]
struct Args {
    #[arg(long)]
    listen: SocketAddr,
    #[arg(long)]
    database_url: String,
    /// The fake Exact's base URL.
    #[arg(long)]
    upstream: String,
    /// Sign one RS256 token per login (at `/oauth/token`).
    #[arg(long)]
    sign: bool,
    /// Make no statement at all: the floor of any design on this stack, even one without a
    /// database round trip.
    #[arg(long)]
    no_database: bool,
    /// HTTP workers; Gatehouse's default is one per core.
    #[arg(long)]
    workers: Option<usize>,
    /// Database connections in all, shared out between the workers (Gatehouse's default).
    #[arg(long, default_value_t = 10)]
    db_max_connections: u32,
}

/// What one worker serves with.
struct Worker {
    /// `None` with `--no-database`.
    pool: Option<PgPool>,
    http: reqwest::Client,
    upstream: String,
    key: Option<Arc<SigningKey>>,
}

type Params = web::Query<HashMap<String, String>>;

impl Worker {
    /// One round trip to PostgreSQL with `values` bound, or nothing with `--no-database`.
    async fn statement(&self, values: &[&str]) -> Result<(), sqlx::Error> {
        let Some(pool) = &self.pool else {
            return Ok(());
        };
        let sql = match values.len() {
            1 => "SELECT $1::text",
            _ => "SELECT $1::text || $2::text",
        };
        let mut query = sqlx::query_scalar::<_, String>(sql);
        for value in values {
            query = query.bind(*value);
        }
        query.fetch_one(pool).await.map(|_| ())
    }
}

fn param<'a>(params: &'a Params, name: &str) -> &'a str {
    params.get(name).map_or("", String::as_str)
}

/// The browser's first request: one statement (Gatehouse stores the login transaction), then
/// off to the upstream.
async fn authorize(w: web::Data<Worker>, params: Params) -> HttpResponse {
    let state = param(&params, "state");
    match w.statement(&[state]).await {
        Ok(_) => HttpResponse::Found()
            .insert_header((
                header::LOCATION,
                format!("{}/api/oauth2/auth?state={state}", w.upstream),
            ))
            .insert_header((header::SET_COOKIE, "floor=1; HttpOnly; Path=/"))
            .finish(),
        Err(e) => HttpResponse::InternalServerError().body(e.to_string()),
    }
}

/// The browser back from the upstream: the code exchanged and the profile read (two calls),
/// then two statements (Gatehouse consumes the transaction, then stores the user and a code).
async fn callback(w: web::Data<Worker>, params: Params) -> HttpResponse {
    let code = param(&params, "code");
    let exchange = w
        .http
        .post(format!("{}/api/oauth2/token", w.upstream))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", "http://127.0.0.1/login/callback"),
            ("client_id", "floor"),
            ("client_secret", "floor"),
        ])
        .send()
        .await;
    let profile = match exchange {
        Ok(answer) => {
            let _ = answer.bytes().await;
            w.http
                .get(format!("{}/api/v1/current/Me", w.upstream))
                .bearer_auth(code)
                .send()
                .await
        }
        Err(e) => Err(e),
    };
    match profile {
        Ok(answer) => {
            let _ = answer.bytes().await;
        }
        Err(e) => return HttpResponse::BadGateway().body(e.to_string()),
    }
    let written = match w.statement(&[code]).await {
        Ok(()) => w.statement(&[code, param(&params, "state")]).await,
        Err(e) => Err(e),
    };
    match written {
        Ok(_) => HttpResponse::Found()
            .insert_header((
                header::LOCATION,
                format!("http://127.0.0.1/app/callback?code={code}"),
            ))
            .finish(),
        Err(e) => HttpResponse::InternalServerError().body(e.to_string()),
    }
}

/// The application redeems the code: one statement, and (with `--sign`) one RS256 signature
/// over claims the size of an ID token's.
async fn token(w: web::Data<Worker>, form: web::Form<HashMap<String, String>>) -> HttpResponse {
    let code = form.get("code").map_or("", String::as_str);
    if let Err(e) = w.statement(&[code]).await {
        return HttpResponse::InternalServerError().body(e.to_string());
    }
    let id_token = w.key.as_ref().map(|key| {
        key.sign(
            "JWT",
            &json!({
                "iss": "http://bench.localhost/",
                "sub": format!("oauth2|exact|{code}"),
                "aud": "a-client-id-of-32-characters-abc",
                "iat": 1_800_000_000u64,
                "exp": 1_800_036_000u64,
                "auth_time": 1_800_000_000u64,
                "nonce": "n-0S6_WzA2Mj",
                "sid": "a-session-id-of-some-length",
                "email": "user@example.com",
                "email_verified": true,
                "name": "Floor User",
                "nickname": "floor",
                "given_name": "Floor",
                "family_name": "User",
            }),
        )
    });
    HttpResponse::Ok().json(json!({
        "access_token": code,
        "id_token": id_token,
        "token_type": "Bearer",
        "expires_in": 86400,
    }))
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let args = Args::parse();
    let workers = args
        .workers
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let per_worker = args.db_max_connections.div_ceil(workers as u32).max(1);
    let key = args.sign.then(|| {
        let generated = generate_key(SigningAlg::Rs256);
        Arc::new(
            SigningKey::from_pkcs8(&generated.kid, SigningAlg::Rs256, &generated.pkcs8_der)
                .expect("a generated key parses"),
        )
    });
    let url = args.database_url.clone();
    let no_database = args.no_database;
    let upstream = args.upstream.clone();
    HttpServer::new(move || {
        // Runs on each worker's thread, so its sockets answer to that worker's runtime.
        let pool = (!no_database).then(|| {
            PgPoolOptions::new()
                .max_connections(per_worker)
                .test_before_acquire(false)
                .connect_lazy(&url)
                .expect("a valid database URL")
        });
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(10))
            .build()
            .expect("an HTTP client");
        App::new()
            .app_data(web::Data::new(Worker {
                pool,
                http,
                upstream: upstream.clone(),
                key: key.clone(),
            }))
            .route("/authorize", web::get().to(authorize))
            .route("/login/callback", web::get().to(callback))
            .route("/oauth/token", web::post().to(token))
            .route("/readyz", web::get().to(HttpResponse::Ok))
    })
    .workers(workers)
    .bind(args.listen)?
    .run()
    .await
}
