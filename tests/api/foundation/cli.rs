//! The CLI: `gatehouse ready` as a health check, tenants, clients and admins created with JSON
//! output, and invalid configuration stopping start-up with the variable named.

use serde_json::Value;

use super::*;
use crate::helpers::*;

/// `gatehouse ready` with the server at `listen`: its exit status and output.
async fn ready_command(app: &TestApp, listen: &str) -> std::process::Output {
    let mut cmd = gatehouse_cli(&app.database_url, &app.master_key);
    cmd.env("GATEHOUSE_LISTEN", listen)
        .args(["ready", "--timeout-seconds", "5"]);
    tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap()
}

#[tokio::test]
async fn the_ready_command_is_a_health_check_of_the_running_server() {
    let app = spawn_app().await;
    // As in the container: listening on every address, asked on loopback.
    let ready = ready_command(&app, &format!("0.0.0.0:{}", app.port)).await;
    assert!(
        ready.status.success(),
        "{}",
        String::from_utf8_lossy(&ready.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&ready.stdout), "ready\n");

    // A server that is up but cannot reach its database answers 503: not ready.
    let unready = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let unready_addr = unready.local_addr().unwrap();
    std::thread::spawn(move || {
        use std::io::{Read, Write};
        let (mut stream, _) = unready.accept().unwrap();
        let _ = stream.read(&mut [0; 4096]);
        let body = r#"{"status":"unavailable","reason":"database unreachable"}"#;
        let _ = write!(
            stream,
            "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n\
             content-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        );
    });
    let out = ready_command(&app, &unready_addr.to_string()).await;
    assert!(!out.status.success());
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        said.contains("503") && said.contains("database unreachable"),
        "{said}"
    );

    // Nothing listening: not ready, and it says where it asked.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed_addr = closed.local_addr().unwrap();
    drop(closed);
    let out = ready_command(&app, &closed_addr.to_string()).await;
    assert!(!out.status.success());
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        said.contains(&format!("http://{closed_addr}/readyz")),
        "{said}"
    );
}

#[tokio::test]
async fn cli_creates_tenants_clients_and_admins_with_json_output() {
    let url = fresh_database().await;
    let key = gatehouse::crypto::seal::MasterKey::generate_text();
    let run = |args: &[&str], stdin: Option<&str>| {
        let mut cmd = gatehouse_cli(&url, &key);
        cmd.args(args)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        let mut child = cmd.spawn().unwrap();
        {
            use std::io::Write;
            let mut input = child.stdin.take().unwrap();
            if let Some(text) = stdin {
                input.write_all(text.as_bytes()).unwrap();
            }
        }
        child.wait_with_output().unwrap()
    };
    let out = run(
        &[
            "tenant",
            "create",
            "acme",
            "--domain",
            "login.acme.test",
            "--json",
        ],
        None,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let tenant: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(tenant["slug"], "acme");
    assert_eq!(tenant["domain"], "acme.localhost:8080");

    let out = run(&["tenant", "list", "--json"], None);
    let list: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(list[0]["custom_domains"][0], "login.acme.test");

    let out = run(
        &[
            "client",
            "create",
            "--tenant",
            "acme",
            "--name",
            "Web",
            "--type",
            "regular_web",
            "--callback",
            "https://app.example.com/cb",
            "--json",
        ],
        None,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let client: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(client["client_id"].as_str().unwrap().len(), 32);
    assert!(client["client_secret"].as_str().unwrap().len() >= 32);

    let out = run(
        &[
            "client",
            "create",
            "--tenant",
            "acme",
            "--name",
            "Robot",
            "--type",
            "non_interactive",
            "--management-scopes",
            "all",
            "--json",
        ],
        None,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let robot: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(robot["audience"], "http://acme.localhost:8080/api/v2/");

    let out = run(
        &["admin", "create", "--email", "Ops@Example.com", "--json"],
        Some("a long password\n"),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        serde_json::from_slice::<Value>(&out.stdout).unwrap()["email"],
        "ops@example.com"
    );

    // Errors: a clear message and a non-zero exit.
    for (args, stdin, needle) in [
        (vec!["tenant", "create", "Bad_Slug"], None, "slug"),
        (vec!["tenant", "create", "acme"], None, "already exists"),
        (
            vec![
                "client", "create", "--tenant", "nobody", "--name", "x", "--type", "spa",
            ],
            None,
            "--tenant",
        ),
        (
            vec![
                "client", "create", "--tenant", "acme", "--name", "x", "--type", "web",
            ],
            None,
            "invalid value",
        ),
        (
            vec![
                "client",
                "create",
                "--tenant",
                "acme",
                "--name",
                "x",
                "--type",
                "regular_web",
                "--callback",
                "javascript:alert(1)",
            ],
            None,
            "callbacks[0]",
        ),
        (
            vec![
                "client",
                "create",
                "--tenant",
                "acme",
                "--name",
                "x",
                "--type",
                "non_interactive",
                "--management-scopes",
                "read:everything",
            ],
            None,
            "scope",
        ),
        (
            vec!["admin", "create", "--email", "ops2@example.com"],
            Some("short\n"),
            "password",
        ),
        (
            vec!["admin", "create", "--email", "not-an-email"],
            Some("a long password\n"),
            "email",
        ),
    ] {
        let out = run(&args, stdin);
        assert!(!out.status.success(), "{args:?} should fail");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(needle), "{args:?}: {stderr}");
    }
}

#[tokio::test]
async fn invalid_configuration_stops_start_up_naming_the_variable() {
    let url = fresh_database().await;
    let out = gatehouse_cli(&url, "not-a-key")
        .arg("migrate")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("GATEHOUSE_MASTER_KEY"));
    let out = gatehouse_cli(&url, &gatehouse::crypto::seal::MasterKey::generate_text())
        .env("GATEHOUSE_LISTEN", "nowhere")
        .arg("migrate")
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("GATEHOUSE_LISTEN"));
    let mut no_key = gatehouse_cli(&url, "");
    no_key.env_remove("GATEHOUSE_MASTER_KEY");
    let out = no_key.arg("migrate").output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("GATEHOUSE_MASTER_KEY is required"));
}
