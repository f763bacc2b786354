//! Foundation: migrations, health, tenants and host resolution, sealed secrets, data-layer
//! isolation, and the CLI.
//!
//! One module per part of the foundation; the CLI runner they share is here.

mod cli;
mod database;
mod hosts;
mod secrets;
mod validation;

fn gatehouse_cli(database_url: &str, master_key: &str) -> std::process::Command {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_gatehouse"));
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", database_url)
        .env("GATEHOUSE_MASTER_KEY", master_key)
        .env("RUST_LOG", "warn");
    cmd
}
