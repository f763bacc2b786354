//! The dashboard's defences: CSRF and same-origin checks, tenant isolation, read-only roles,
//! write-only secrets, session cookies and lifetimes, sign-in throttling, and headers.
//!
//! One module per defence; the cookie and session helpers they share are here.

mod forms;
mod roles;
mod sessions;
mod throttling;
mod transport;

use crate::helpers::*;

fn set_cookies(res: &reqwest::Response) -> Vec<String> {
    res.headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect()
}

fn session_value(res: &reqwest::Response, name: &str) -> String {
    set_cookies(res)
        .iter()
        .find_map(|c| {
            c.strip_prefix(&format!("{name}="))
                .map(|v| v.split(';').next().unwrap().to_owned())
        })
        .unwrap_or_else(|| panic!("no {name} cookie in {:?}", set_cookies(res)))
}

/// A client without a cookie jar that presents exactly the cookie it is given.
async fn get_with_cookie(app: &TestApp, path: &str, cookie: &str) -> reqwest::Response {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(format!("http://127.0.0.1:{}{path}", app.port))
        .header("Host", &app.base_domain)
        .header("Cookie", cookie)
        .send()
        .await
        .unwrap()
}

async fn tenant_count(app: &TestApp) -> usize {
    gatehouse::db::tenants::list(&app.pool).await.unwrap().len()
}
