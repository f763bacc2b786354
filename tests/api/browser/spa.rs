//! A single-page application in a real browser: served from its own origin, it sends the user
//! through `/authorize` and Exact, then exchanges the code and reads `/userinfo` with `fetch`,
//! as OIDC libraries for the browser do. Chromium enforces CORS, so this passes only if the
//! answers let exactly the application's web origins read them.

use std::net::TcpListener;
use std::time::Duration;

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use fantoccini::{Client, Locator};
use gatehouse::services::{self, Actor};

use super::Browser;
use crate::helpers::*;

const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

/// The application's one page: at `/callback` it finishes the login, at `/probe` it calls
/// `/userinfo` with a bad token (to see whether it may read the 401), at `/silent` it tries
/// silent authentication in an iframe and at `/popup` it logs in in a popup (both by
/// `response_mode=web_message`, as Auth0's SDK does). JSON bodies and the `Auth0-Client` header
/// make the browser send preflights, as Auth0's SDK does.
const PAGE: &str = r#"<!doctype html>
<title>SPA</title>
<button id="login" type="button">Log in</button>
<pre id="out">working</pre>
<script>
const cfg = CONFIG;
const out = document.getElementById('out');
const issuerOrigin = new URL(cfg.issuer).origin;
function done(text) { out.textContent = text; out.className = 'done'; }
function authorizeUrl(extra) {
  const p = new URLSearchParams(Object.assign({ response_type: 'code', client_id: cfg.client_id,
    redirect_uri: location.origin + '/callback', scope: 'openid profile email', state: 'spa-state',
    nonce: 'spa-nonce', connection: 'exact', code_challenge: cfg.challenge, code_challenge_method: 'S256' }, extra));
  return cfg.issuer + 'authorize?' + p;
}
// The answer of a web_message page: from the tenant's origin only, as Auth0's SDK checks.
function nextMessage() {
  return new Promise((resolve) => window.addEventListener('message', function listener(e) {
    if (e.origin !== issuerOrigin || !e.data || e.data.type !== 'authorization_response') return;
    window.removeEventListener('message', listener);
    resolve(e.data.response);
  }));
}
async function finish(code) {
  const r = await fetch(cfg.issuer + 'oauth/token', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'Auth0-Client': btoa('{"name":"spa-test"}') },
    body: JSON.stringify({ grant_type: 'authorization_code', code, client_id: cfg.client_id,
      redirect_uri: location.origin + '/callback', code_verifier: cfg.verifier }),
  });
  const tokens = await r.json();
  if (!r.ok) throw new Error('token ' + r.status + ' ' + JSON.stringify(tokens));
  const u = await fetch(cfg.issuer + 'userinfo', { headers: { Authorization: 'Bearer ' + tokens.access_token } });
  const user = await u.json();
  return 'signed in as ' + user.name + ' (' + user.sub + ')';
}
async function run() {
  try {
    if (location.pathname === '/probe') {
      const r = await fetch(cfg.issuer + 'userinfo', { headers: { Authorization: 'Bearer not-a-token' } });
      done('status ' + r.status);
    } else if (location.pathname === '/silent') {
      // Silent authentication, as Auth0's SDK does on load: a hidden iframe, prompt=none.
      const answer = nextMessage();
      const frame = document.createElement('iframe');
      frame.style.display = 'none';
      frame.src = authorizeUrl({ prompt: 'none', response_mode: 'web_message' });
      document.body.appendChild(frame);
      const response = await answer;
      done('silent: ' + (response.error || 'code') + ' state ' + response.state);
    } else if (location.pathname === '/popup') {
      // A login in a popup: the popup's last page hands the code over by web message.
      document.getElementById('login').addEventListener('click', async () => {
        try {
          const answer = nextMessage();
          const popup = window.open(authorizeUrl({ response_mode: 'web_message' }), 'login', 'width=500,height=600');
          const response = await answer;
          popup.close();
          if (response.error) throw new Error(response.error);
          done('popup: ' + await finish(response.code));
        } catch (e) { done('failed: ' + e.name + ': ' + e.message); }
      });
      out.textContent = 'ready';
    } else {
      done(await finish(new URLSearchParams(location.search).get('code')));
    }
  } catch (e) {
    done('failed: ' + e.name + ': ' + e.message);
  }
}
run();
</script>
"#;

/// Serves [`PAGE`] on a port of its own (so its origin is not the tenant's); returns the port.
fn serve_spa(config: serde_json::Value) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let page = PAGE.replace("CONFIG", &config.to_string());
    let server = HttpServer::new(move || {
        let page = page.clone();
        App::new().default_service(web::to(move |_req: HttpRequest| {
            let page = page.clone();
            async move {
                HttpResponse::Ok()
                    .content_type("text/html; charset=utf-8")
                    .body(page)
            }
        }))
    })
    .workers(1)
    .listen(listener)
    .unwrap()
    .run();
    tokio::spawn(server);
    port
}

async fn result(c: &Client) -> String {
    c.wait()
        .at_most(Duration::from_secs(15))
        .for_element(Locator::Css("#out.done"))
        .await
        .unwrap_or_else(|e| panic!("the page did not finish: {e}"))
        .text()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_single_page_application_logs_in_with_fetch_from_its_own_origin() {
    let app = spawn_app().await;
    let tenant = app.create_tenant("acme").await;
    let fake = start_fake_exact().await;
    let spa = app.create_client(&tenant, "spa").await;
    let port = serve_spa(serde_json::json!({
        "issuer": tenant.issuer,
        "client_id": spa.client_id,
        "verifier": VERIFIER,
        "challenge": CHALLENGE,
    }));
    let origin = format!("http://127.0.0.1:{port}");
    let callback = format!("{origin}/callback");
    services::clients::update(
        &app.pool,
        tenant.tenant_id,
        &spa.client_id,
        &services::clients::ClientInput {
            callbacks: Some(vec![callback.clone()]),
            web_origins: Some(vec![origin.clone()]),
            ..Default::default()
        },
        None,
        &Actor::named("test"),
    )
    .await
    .unwrap();
    app.create_exact_connection(&tenant, "exact", &fake, &[&spa])
        .await;
    let browser = Browser::start().await;
    let c = &browser.client;

    let authorize = reqwest::Url::parse_with_params(
        &app.tenant_url(&tenant, "/authorize"),
        &[
            ("response_type", "code"),
            ("client_id", spa.client_id.as_str()),
            ("redirect_uri", callback.as_str()),
            ("scope", "openid profile email"),
            ("state", "spa-state"),
            ("nonce", "spa-nonce"),
            ("connection", "exact"),
            ("code_challenge", CHALLENGE),
            ("code_challenge_method", "S256"),
        ],
    )
    .unwrap();
    c.goto(authorize.as_str()).await.unwrap();
    let text = result(c).await;
    assert_eq!(
        text,
        "signed in as Jan de Vries (exact|b0b2c3d4-0000-4000-8000-000000000001)",
        "at {}",
        c.current_url().await.unwrap()
    );

    // The application's own origin may read an error answer...
    c.goto(&format!("{origin}/probe")).await.unwrap();
    assert_eq!(result(c).await, "status 401");
    // ...the same page from an origin no application lists may not (`localhost` is another
    // origin than `127.0.0.1`, though the same server).
    c.goto(&format!("http://localhost:{port}/probe"))
        .await
        .unwrap();
    let text = result(c).await;
    assert!(text.starts_with("failed: TypeError"), "{text}");

    // Silent authentication in an iframe: there is no session to continue, so the page hears
    // login_required at once (not after a timeout), from the tenant's origin.
    c.goto(&format!("{origin}/silent")).await.unwrap();
    assert_eq!(result(c).await, "silent: login_required state spa-state");

    // A login in a popup, which hands the code to this window.
    c.goto(&format!("{origin}/popup")).await.unwrap();
    c.wait()
        .at_most(Duration::from_secs(15))
        .for_element(Locator::XPath("//pre[@id='out' and text()='ready']"))
        .await
        .unwrap();
    c.find(Locator::Css("#login"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let text = result(c).await;
    assert_eq!(
        text,
        "popup: signed in as Jan de Vries (exact|b0b2c3d4-0000-4000-8000-000000000001)"
    );

    browser.stop().await;
    fake.stop().await;
}
