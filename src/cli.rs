//! The command line: `serve`, `migrate`, `ready`, and bootstrap commands for tenants, admins and
//! clients, each with `--json` output for automation. Bad arguments exit non-zero with a clear
//! message.

use std::io::{IsTerminal, Read};
use std::net::TcpListener;
use std::process::ExitCode;

use anyhow::{bail, Context};
use clap::{Parser, Subcommand};
use secrecy::SecretString;
use serde_json::json;

use crate::config::Settings;
use crate::database::{self, Database};
use crate::services::{self, clients::ClientInput, Actor};
use crate::startup::Application;
use crate::state::AppState;
use crate::{db, telemetry};

#[derive(Parser, Debug)]
#[command(
    name = "gatehouse",
    version,
    about = "Self-hosted login connections control plane"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    #[command(flatten)]
    Database(DatabaseCommand),
    /// Ask the server running on GATEHOUSE_LISTEN whether it is ready (its `/readyz`: up and
    /// reaching its database); exits 0 if so. For container health checks, which have no curl.
    Ready {
        /// How long to wait for the answer.
        #[arg(long, default_value_t = 5)]
        timeout_seconds: u64,
    },
}

/// The commands that open the database (starting the private one without `DATABASE_URL`) and
/// apply migrations first.
#[derive(Subcommand, Debug)]
pub enum DatabaseCommand {
    /// Run the server (applies migrations first).
    Serve,
    /// Apply database migrations and exit.
    Migrate,
    /// Manage tenants.
    #[command(subcommand)]
    Tenant(TenantCommand),
    /// Manage dashboard admins.
    #[command(subcommand)]
    Admin(AdminCommand),
    /// Manage applications.
    #[command(subcommand)]
    Client(ClientCommand),
    /// Re-seal every secret under GATEHOUSE_MASTER_KEY (older keys in GATEHOUSE_PREVIOUS_MASTER_KEYS).
    RotateMasterKey {
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand, Debug)]
pub enum TenantCommand {
    /// Create a tenant, reachable at {slug}.{base domain} and any --domain.
    Create {
        slug: String,
        #[arg(long = "domain")]
        domains: Vec<String>,
        #[arg(long)]
        display_name: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// List tenants.
    List {
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand, Debug)]
pub enum AdminCommand {
    /// Create a dashboard admin; the password is read from standard input (or prompted).
    Create {
        #[arg(long)]
        email: String,
        /// Operators see and change every tenant.
        #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
        operator: bool,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand, Debug)]
pub enum ClientCommand {
    /// Create an application; prints its client id and, once, its secret.
    Create {
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        name: String,
        #[arg(long = "type", value_parser = ["regular_web", "spa", "native", "non_interactive"])]
        app_type: String,
        #[arg(long = "callback")]
        callbacks: Vec<String>,
        #[arg(long = "logout-url")]
        logout_urls: Vec<String>,
        /// Grant the client the management API: `all` or a comma-separated scope list.
        #[arg(long)]
        management_scopes: Option<String>,
        #[arg(long)]
        json: bool,
    },
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let settings = match Settings::from_env() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("gatehouse: {e}");
            return ExitCode::from(2);
        }
    };
    telemetry::init(settings.log_format);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("gatehouse: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let outcome = match cli.command {
        // Asks the running server; never opens (or starts) a database of its own.
        Command::Ready { timeout_seconds } => runtime.block_on(ready(
            &settings,
            std::time::Duration::from_secs(timeout_seconds),
        )),
        Command::Database(command) => runtime.block_on(run(command, settings)),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("gatehouse: {e:#}");
            ExitCode::FAILURE
        }
    }
}

pub async fn run(command: DatabaseCommand, settings: Settings) -> anyhow::Result<()> {
    let sealer = database::sealer(&settings)?;
    let database = Database::open(&settings).await?;
    let result = async {
        db::migrate(&database.pool)
            .await
            .context("applying migrations")?;
        match command {
            DatabaseCommand::Serve => serve(settings, database.pool.clone(), sealer).await,
            DatabaseCommand::Migrate => {
                println!("migrations applied");
                Ok(())
            }
            DatabaseCommand::Tenant(cmd) => tenant(cmd, &settings, &database.pool, &sealer).await,
            DatabaseCommand::Admin(cmd) => admin(cmd, &database.pool).await,
            DatabaseCommand::Client(cmd) => client(cmd, &settings, &database.pool).await,
            DatabaseCommand::RotateMasterKey { json } => {
                let count = crate::services::rotation::reseal_all(&database.pool, &sealer).await?;
                print_out(
                    json,
                    json!({ "resealed": count, "key_id": sealer.current_key_id() }),
                    &format!(
                        "re-sealed {count} secrets under key {}",
                        sealer.current_key_id()
                    ),
                );
                Ok(())
            }
        }
    }
    .await;
    database.close().await;
    result
}

async fn serve(
    settings: Settings,
    pool: sqlx::PgPool,
    sealer: crate::crypto::seal::Sealer,
) -> anyhow::Result<()> {
    let listener = TcpListener::bind(settings.listen)
        .with_context(|| format!("GATEHOUSE_LISTEN: cannot bind {}", settings.listen))?;
    let admin = settings.admin_origin();
    let state = AppState::new(settings, pool, sealer);
    let app = Application::build(state, listener)?;
    tracing::info!(port = app.port(), dashboard = %admin, "Gatehouse is ready");
    app.run_until_stopped().await?;
    tracing::info!("Gatehouse stopped");
    Ok(())
}

/// Asks `/readyz` of the server listening on `settings.listen` (on loopback when it listens on
/// every address).
async fn ready(settings: &Settings, timeout: std::time::Duration) -> anyhow::Result<()> {
    let mut addr = settings.listen;
    if addr.ip().is_unspecified() {
        addr.set_ip(match addr {
            std::net::SocketAddr::V4(_) => std::net::Ipv4Addr::LOCALHOST.into(),
            std::net::SocketAddr::V6(_) => std::net::Ipv6Addr::LOCALHOST.into(),
        });
    }
    let url = format!("http://{addr}/readyz");
    let answer = reqwest::Client::builder()
        .timeout(timeout)
        .build()?
        .get(&url)
        .send()
        .await
        .with_context(|| format!("no answer from {url}"))?;
    let status = answer.status();
    if !status.is_success() {
        let body = answer.text().await.unwrap_or_default();
        bail!("not ready: {url} answered {status} {body}");
    }
    println!("ready");
    Ok(())
}

fn print_out(json: bool, value: serde_json::Value, text: &str) {
    if json {
        println!("{value}");
    } else {
        println!("{text}");
    }
}

async fn tenant(
    cmd: TenantCommand,
    settings: &Settings,
    pool: &sqlx::PgPool,
    sealer: &crate::crypto::seal::Sealer,
) -> anyhow::Result<()> {
    match cmd {
        TenantCommand::Create {
            slug,
            domains,
            display_name,
            json,
        } => {
            let tenant = services::tenants::create(
                pool,
                sealer,
                settings,
                &slug,
                display_name.as_deref(),
                &domains,
                &Actor::named("cli"),
            )
            .await
            .map_err(cli_error)?;
            let host = settings.tenant_host(&tenant.slug);
            let issuer = settings.issuer_for_host(&host);
            print_out(
                json,
                json!({ "tenant_id": tenant.tenant_id, "slug": tenant.slug, "display_name": tenant.display_name, "domain": host, "custom_domains": domains, "issuer": issuer }),
                &format!("created tenant {} at {issuer}", tenant.slug),
            );
        }
        TenantCommand::List { json } => {
            let tenants = db::tenants::list(pool).await?;
            if json {
                let mut items = Vec::new();
                for t in &tenants {
                    let host = settings.tenant_host(&t.slug);
                    items.push(json!({ "tenant_id": t.tenant_id, "slug": t.slug, "display_name": t.display_name, "domain": host, "custom_domains": db::tenants::domains(pool, t.tenant_id).await?, "issuer": settings.issuer_for_host(&host) }));
                }
                println!("{}", serde_json::Value::Array(items));
            } else if tenants.is_empty() {
                println!("no tenants yet: gatehouse tenant create <slug>");
            } else {
                for t in &tenants {
                    println!(
                        "{}\t{}",
                        t.slug,
                        settings.issuer_for_host(&settings.tenant_host(&t.slug))
                    );
                }
            }
        }
    }
    Ok(())
}

async fn admin(cmd: AdminCommand, pool: &sqlx::PgPool) -> anyhow::Result<()> {
    let AdminCommand::Create {
        email,
        operator,
        json,
    } = cmd;
    let password = read_password()?;
    let admin = services::admins::create(pool, &email, &password, operator)
        .await
        .map_err(cli_error)?;
    print_out(
        json,
        json!({ "admin_id": admin.admin_id, "email": admin.email, "operator": admin.is_operator }),
        &format!("created admin {}", admin.email),
    );
    Ok(())
}

fn read_password() -> anyhow::Result<SecretString> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        let first = rpassword::prompt_password("Password: ")?;
        let second = rpassword::prompt_password("Repeat password: ")?;
        if first != second {
            bail!("the passwords differ");
        }
        return Ok(SecretString::from(first));
    }
    let mut text = String::new();
    stdin
        .lock()
        .take(4096)
        .read_to_string(&mut text)
        .context("reading the password from standard input")?;
    Ok(SecretString::from(
        text.trim_end_matches(['\n', '\r']).to_owned(),
    ))
}

async fn client(
    cmd: ClientCommand,
    settings: &Settings,
    pool: &sqlx::PgPool,
) -> anyhow::Result<()> {
    let ClientCommand::Create {
        tenant,
        name,
        app_type,
        callbacks,
        logout_urls,
        management_scopes,
        json,
    } = cmd;
    let tenant = db::tenants::by_slug(pool, &tenant)
        .await?
        .with_context(|| format!("--tenant: no tenant `{tenant}`"))?;
    let scopes = match management_scopes.as_deref() {
        None => None,
        Some("all") => Some(
            services::clients::MANAGEMENT_SCOPES
                .iter()
                .map(|s| s.to_string())
                .collect::<Vec<_>>(),
        ),
        Some(list) => Some(
            list.split(',')
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
                .collect(),
        ),
    };
    if let Some(scopes) = &scopes {
        if app_type != "non_interactive" {
            bail!("--management-scopes needs --type non_interactive");
        }
        services::client_grants::parse_scopes("--management-scopes", scopes)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    let input = ClientInput {
        name: Some(name),
        app_type: Some(app_type),
        callbacks: Some(callbacks),
        allowed_logout_urls: Some(logout_urls),
        ..Default::default()
    };
    let (client, secret) =
        services::clients::create(pool, tenant.tenant_id, &input, &Actor::named("cli"))
            .await
            .map_err(cli_error)?;
    let host = settings.tenant_host(&tenant.slug);
    let issuer = settings.issuer_for_host(&host);
    let audience = format!("{issuer}api/v2/");
    if let Some(scopes) = &scopes {
        services::client_grants::create_grant(
            pool,
            tenant.tenant_id,
            &client.client_id,
            &audience,
            scopes,
            &Actor::named("cli"),
        )
        .await
        .map_err(cli_error)?;
    }
    print_out(
        json,
        json!({ "client_id": client.client_id, "client_secret": secret, "name": client.name, "app_type": client.app_type,
                "tenant": tenant.slug, "domain": host, "issuer": issuer, "audience": scopes.as_ref().map(|_| audience.clone()), "scopes": scopes }),
        &format!(
            "client_id: {}\nclient_secret: {}\n(the secret is shown only now)",
            client.client_id,
            secret
                .as_deref()
                .unwrap_or("(none: public client, use PKCE)")
        ),
    );
    Ok(())
}

fn cli_error(e: services::ServiceError) -> anyhow::Error {
    match e {
        services::ServiceError::Invalid(f) => anyhow::anyhow!("{}: {}", f.field, f.message),
        services::ServiceError::Conflict(m) => anyhow::anyhow!("{m}"),
        services::ServiceError::NotFound => anyhow::anyhow!("not found"),
        services::ServiceError::Stale => anyhow::anyhow!("changed meanwhile; try again"),
        services::ServiceError::Internal(e) => e,
    }
}
