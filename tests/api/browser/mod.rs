//! Browser tests: real headless Chromium driven over WebDriver (`chromedriver` as a child
//! process, `fantoccini` as the client). Chromium resolves `*.localhost` to loopback itself,
//! so the admin host and tenant hosts of the test server work as they would in production.

mod journey;
mod spa;

use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder};
use serde_json::json;

/// The first of `names` found on `PATH`.
fn find_program(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|dir| names.iter().map(move |n| dir.join(n)))
        .find(|p| p.is_file())
}

/// A headless Chromium under a chromedriver of its own; both end when this is dropped.
pub struct Browser {
    pub client: Client,
    driver: Child,
    _profile: tempfile::TempDir,
}

impl Browser {
    /// Starts chromedriver on a free port and opens a Chromium session. Fails the test with
    /// the install command when chromedriver or Chromium is missing.
    pub async fn start() -> Browser {
        let driver_path = std::env::var_os("CHROMEDRIVER")
            .map(PathBuf::from)
            .or_else(|| find_program(&["chromedriver"]))
            .unwrap_or_else(|| {
                panic!(
                "chromedriver is not installed: the browser tests need Chromium and its WebDriver. \
                 Install them with `apt-get install -y chromium chromium-driver` (Debian/Ubuntu), \
                 or point CHROMEDRIVER at a chromedriver binary."
            )
            });
        let chromium = find_program(&["chromium", "chromium-browser", "google-chrome"])
            .unwrap_or_else(|| {
                panic!(
                    "Chromium is not installed: run `apt-get install -y chromium chromium-driver`."
                )
            });
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let driver = Command::new(&driver_path)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start {}: {e}; install `chromium chromium-driver`",
                    driver_path.display()
                )
            });
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "chromedriver did not start listening on port {port}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        let profile = tempfile::tempdir().expect("a Chromium profile directory");
        let args = vec![
            "--headless=new".to_owned(),
            "--no-sandbox".to_owned(),
            "--disable-gpu".to_owned(),
            "--disable-dev-shm-usage".to_owned(),
            "--disable-quic".to_owned(),
            "--no-first-run".to_owned(),
            "--disable-background-networking".to_owned(),
            "--disable-component-update".to_owned(),
            "--disable-sync".to_owned(),
            "--disable-features=HttpsUpgrades,HttpsFirstBalancedModeAutoEnable".to_owned(),
            "--window-size=1280,900".to_owned(),
            "--force-device-scale-factor=1".to_owned(),
            format!("--user-data-dir={}", profile.path().display()),
        ];
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            json!({ "binary": chromium.to_string_lossy(), "args": args }),
        );
        // Two rustls crypto providers are compiled in (reqwest picks ring itself); the WebDriver
        // client asks for the process default, so name one.
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
        let client = ClientBuilder::rustls()
            .expect("rustls connector")
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
            .expect("a Chromium session from chromedriver");
        Browser {
            client,
            driver,
            _profile: profile,
        }
    }

    /// Ends the browser session and the driver.
    pub async fn stop(mut self) {
        let _ = self.client.clone().close().await;
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // After `stop` this finds the driver gone already; on a panic it cleans up.
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// Where the screenshots for the docs go.
pub fn screenshot_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("docs/screenshots")
        .join(name)
}
