//! Shared setup of the management API tests: an app with a tenant and an all-scopes token, one
//! request helper per method, the Auth0 error check, and tokens signed with the tenant's own
//! key but any header and claims (to forge what an attacker would send).

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{RsaKeyPair, RSA_PKCS1_SHA256};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use gatehouse::services;
use reqwest::header::HeaderMap;
use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::*;

pub struct Api {
    pub app: TestApp,
    pub tenant: TestTenant,
    pub token: String,
}

/// An answer: status, headers and the body as JSON (`Null` when empty).
#[derive(Debug)]
pub struct Res {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Res {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

pub async fn into_res(res: reqwest::Response) -> Res {
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    let text = res.text().await.unwrap_or_default();
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    };
    Res {
        status,
        headers,
        body,
    }
}

/// Asserts an Auth0 error body: `{statusCode (number), error, message, errorCode}`.
#[track_caller]
pub fn assert_auth0_error(res: &Res, status: u16, error_code: &str) {
    assert_eq!(res.status, status, "{:?}", res.body);
    assert_eq!(res.body["statusCode"], json!(status), "{:?}", res.body);
    assert!(res.body["error"].as_str().is_some_and(|e| !e.is_empty()));
    assert!(res.body["message"].as_str().is_some_and(|m| !m.is_empty()));
    assert_eq!(res.body["errorCode"], json!(error_code), "{:?}", res.body);
}

/// A valid create body for an Exact connection named `name`.
pub fn exact_body(name: &str) -> Value {
    json!({
        "name": name,
        "strategy": "exact",
        "options": { "client_id": format!("{name}-id"), "client_secret": format!("{name}-secret") },
    })
}

impl Api {
    /// An app, tenant `acme`, and a token with every management scope.
    pub async fn start() -> Api {
        let app = spawn_app().await;
        let tenant = app.create_tenant("acme").await;
        let token = app
            .management_token(&tenant, services::clients::MANAGEMENT_SCOPES)
            .await;
        Api { app, tenant, token }
    }

    pub fn url(&self, path: &str) -> String {
        self.app.tenant_url(&self.tenant, &format!("/api/v2{path}"))
    }

    /// A request with the all-scopes token.
    pub fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.request_as(&self.token, method, path)
    }

    /// A request with another token.
    pub fn request_as(&self, token: &str, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.app
            .http
            .request(method, self.url(path))
            .bearer_auth(token)
    }

    pub async fn send(&self, builder: reqwest::RequestBuilder) -> Res {
        into_res(builder.send().await.unwrap()).await
    }

    pub async fn get(&self, path: &str) -> Res {
        self.send(self.request(Method::GET, path)).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Res {
        self.send(self.request(Method::POST, path).json(&body))
            .await
    }

    pub async fn patch(&self, path: &str, body: Value) -> Res {
        self.send(self.request(Method::PATCH, path).json(&body))
            .await
    }

    pub async fn delete(&self, path: &str) -> Res {
        self.send(self.request(Method::DELETE, path)).await
    }

    /// Creates an Exact connection through the API; returns its id.
    pub async fn create_connection(&self, name: &str) -> String {
        let res = self.post("/connections", exact_body(name)).await;
        assert_eq!(res.status, 201, "{:?}", res.body);
        res.body["id"].as_str().unwrap().to_owned()
    }

    /// Creates an application through the API; returns its client id.
    pub async fn create_application(&self, name: &str, app_type: &str) -> String {
        let res = self
            .post("/clients", json!({ "name": name, "app_type": app_type }))
            .await;
        assert_eq!(res.status, 201, "{:?}", res.body);
        res.body["client_id"].as_str().unwrap().to_owned()
    }

    /// A token signed with the tenant's current private key, with this header and claims.
    pub async fn sign(&self, header: Value, claims: Value) -> String {
        let stored =
            gatehouse::db::signing_keys::current(&self.app.pool, self.tenant.tenant_id, "RS256")
                .await
                .unwrap()
                .unwrap();
        let der = self
            .app
            .state
            .sealer
            .open(
                &stored.private_key_sealed,
                &gatehouse::crypto::seal::SealContext::signing_key(
                    self.tenant.tenant_id,
                    &stored.kid,
                ),
            )
            .unwrap();
        let key = RsaKeyPair::from_pkcs8(&der).unwrap();
        let mut header = header;
        if header.get("kid").is_none() {
            header["kid"] = json!(stored.kid);
        }
        let message = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let mut signature = vec![0u8; key.public_modulus_len()];
        key.sign(
            &RSA_PKCS1_SHA256,
            &SystemRandom::new(),
            message.as_bytes(),
            &mut signature,
        )
        .unwrap();
        format!("{message}.{}", URL_SAFE_NO_PAD.encode(signature))
    }

    /// Claims of a valid management token of this tenant, to be spoilt one at a time.
    pub fn good_claims(&self) -> Value {
        let now = chrono::Utc::now().timestamp();
        json!({
            "iss": self.tenant.issuer,
            "sub": "forged@clients",
            "aud": format!("{}api/v2/", self.tenant.issuer),
            "iat": now,
            "exp": now + 600,
            "scope": services::clients::MANAGEMENT_SCOPES.join(" "),
            "azp": "forged",
            "jti": "j1",
        })
    }

    /// `GET /connections` with `token`.
    pub async fn list_with(&self, token: &str) -> Res {
        let res = self
            .app
            .http
            .get(self.url("/connections"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        into_res(res).await
    }
}
