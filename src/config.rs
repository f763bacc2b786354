//! Settings from the environment: every field names its variable, and a bad value stops start-up.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use crate::domain::AddressPolicy;
use ipnet::IpNet;
use secrecy::SecretString;

/// How tenant domains and issuers are spelled: `{scheme}://{slug}.{base_domain}/`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PublicScheme {
    Http,
    Https,
}

impl PublicScheme {
    pub fn as_str(&self) -> &'static str {
        match self {
            PublicScheme::Http => "http",
            PublicScheme::Https => "https",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// A configuration error that names the variable at fault.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("invalid configuration: {var}: {message}")]
pub struct ConfigError {
    pub var: &'static str,
    pub message: String,
}

#[derive(Clone, Debug)]
pub struct Settings {
    /// `GATEHOUSE_LISTEN`: address the HTTP server binds (default `127.0.0.1:8080`).
    pub listen: SocketAddr,
    /// `DATABASE_URL`: PostgreSQL to use; without it a private server is started in `data_dir`.
    pub database_url: Option<SecretString>,
    /// `GATEHOUSE_DATA_DIR`: where the private PostgreSQL and generated master key live
    /// (default `./.gatehouse`).
    pub data_dir: PathBuf,
    /// `GATEHOUSE_BASE_DOMAIN`: host (and port) of the admin dashboard; tenants live at
    /// `{slug}.{base domain}` (default `localhost:8080`).
    pub base_domain: String,
    /// `GATEHOUSE_PUBLIC_SCHEME`: `http` or `https`, the scheme of issuers and callback URLs
    /// (default `http`).
    pub public_scheme: PublicScheme,
    /// `GATEHOUSE_MASTER_KEY`: base64 of 32 random bytes sealing every secret at rest.
    pub master_key: Option<SecretString>,
    /// `GATEHOUSE_PREVIOUS_MASTER_KEYS`: comma-separated older keys, still accepted for opening
    /// while `gatehouse rotate-master-key` re-seals under the current one.
    pub previous_master_keys: Vec<SecretString>,
    /// `GATEHOUSE_LOG_FORMAT`: `text` (default) or `json`.
    pub log_format: LogFormat,
    /// `GATEHOUSE_DB_MAX_CONNECTIONS`: database connections for requests (default 10), shared out
    /// between the HTTP workers, each of which has its own pool.
    pub db_max_connections: u32,
    /// `GATEHOUSE_WORKERS`: HTTP worker threads (default: one per CPU).
    pub workers: usize,
    /// `GATEHOUSE_UPSTREAM_TIMEOUT_MS`: total timeout of a call to an upstream provider
    /// (default 10000).
    pub upstream_timeout: Duration,
    /// `GATEHOUSE_UPSTREAM_CONNECT_TIMEOUT_MS`: connect timeout to an upstream (default 3000).
    pub upstream_connect_timeout: Duration,
    /// `GATEHOUSE_UPSTREAM_FORBID`: address classes upstream calls may not reach besides
    /// link-local and metadata addresses, which they never may: `private`, `loopback`, both
    /// comma-separated, or `none` (default: `loopback` when `GATEHOUSE_PUBLIC_SCHEME=https`,
    /// else none).
    pub upstream_forbid: AddressPolicy,
    /// `GATEHOUSE_CACHE_STALE_SECONDS`: how long after its change listener is lost (a
    /// failover) a node still answers from its last known configuration (default 30, 0 =
    /// never); changes made on other nodes meanwhile are seen after at most this long.
    pub cache_stale_for: Duration,
    /// `GATEHOUSE_DB_RETRY_SECONDS`: how long a request waits out the database being away (a
    /// Patroni failover takes a few seconds) before it is answered 503 (default 10, 0 = never
    /// waits). Only work that is safe to repeat waits (see `db::retry`); the pool waits this
    /// long for a connection too.
    pub db_retry_budget: Duration,
    /// `GATEHOUSE_RATE_LIMIT_IP_PER_MINUTE`: requests per minute one IP may make to each of
    /// /authorize, /login/callback, /oauth/token and the management API (default 1200; 0 = off).
    pub rate_limit_ip_per_minute: u32,
    /// `GATEHOUSE_RATE_LIMIT_CLIENT_PER_MINUTE`: /authorize requests per minute per client
    /// (default 6000; 0 = off).
    pub rate_limit_client_per_minute: u32,
    /// `GATEHOUSE_RATE_LIMIT_FAILURES_PER_MINUTE`: failed client authentications per client id
    /// or IP before a one-minute lockout (default 10; 0 = off).
    pub rate_limit_failures_per_minute: u32,
    /// `GATEHOUSE_METRICS`: `on` (default) or `off`; off only to measure what metrics cost.
    pub metrics_enabled: bool,
    /// `GATEHOUSE_TRUSTED_PROXIES`: reverse proxies (addresses or CIDR ranges, comma-separated)
    /// whose `X-Forwarded-For` names the client for per-IP limits (default: none, the TCP
    /// peer is the client).
    pub trusted_proxies: Vec<ipnet::IpNet>,
}

impl Settings {
    /// Reads settings from the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads settings through `lookup`, so tests can feed a map instead of the environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());

        let listen = match get("GATEHOUSE_LISTEN") {
            Some(v) => v.trim().parse().map_err(|_| ConfigError {
                var: "GATEHOUSE_LISTEN",
                message: format!("`{v}` is not an address like 127.0.0.1:8080"),
            })?,
            None => SocketAddr::from(([127, 0, 0, 1], 8080)),
        };
        let base_domain = match get("GATEHOUSE_BASE_DOMAIN") {
            Some(v) => parse_base_domain(v.trim())?,
            None => "localhost:8080".to_owned(),
        };
        let public_scheme = match get("GATEHOUSE_PUBLIC_SCHEME").as_deref().map(str::trim) {
            None | Some("http") => PublicScheme::Http,
            Some("https") => PublicScheme::Https,
            Some(other) => {
                return Err(ConfigError {
                    var: "GATEHOUSE_PUBLIC_SCHEME",
                    message: format!("`{other}` must be `http` or `https`"),
                })
            }
        };
        let log_format = match get("GATEHOUSE_LOG_FORMAT").as_deref().map(str::trim) {
            None | Some("text") => LogFormat::Text,
            Some("json") => LogFormat::Json,
            Some(other) => {
                return Err(ConfigError {
                    var: "GATEHOUSE_LOG_FORMAT",
                    message: format!("`{other}` must be `text` or `json`"),
                })
            }
        };
        let master_key =
            get("GATEHOUSE_MASTER_KEY").map(|v| SecretString::from(v.trim().to_owned()));
        if let Some(key) = &master_key {
            crate::crypto::seal::MasterKey::parse(key).map_err(|message| ConfigError {
                var: "GATEHOUSE_MASTER_KEY",
                message,
            })?;
        }
        let previous_master_keys: Vec<SecretString> = get("GATEHOUSE_PREVIOUS_MASTER_KEYS")
            .map(|v| {
                v.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(|s| SecretString::from(s.to_owned()))
                    .collect()
            })
            .unwrap_or_default();
        for key in &previous_master_keys {
            crate::crypto::seal::MasterKey::parse(key).map_err(|message| ConfigError {
                var: "GATEHOUSE_PREVIOUS_MASTER_KEYS",
                message,
            })?;
        }

        // Unset, a server that faces users over https keeps tenants' upstream URLs off its
        // own loopback (where sidecars such as Patroni or etcd answer); a test setup over
        // http talks to fakes there. `none` allows both.
        let upstream_forbid = match get("GATEHOUSE_UPSTREAM_FORBID") {
            None if public_scheme == PublicScheme::Https => AddressPolicy {
                forbid_loopback: true,
                ..AddressPolicy::default()
            },
            None => AddressPolicy::default(),
            Some(text) => AddressPolicy::parse(&text).map_err(|message| ConfigError {
                var: "GATEHOUSE_UPSTREAM_FORBID",
                message,
            })?,
        };

        Ok(Settings {
            listen,
            database_url: get("DATABASE_URL").map(SecretString::from),
            data_dir: get("GATEHOUSE_DATA_DIR")
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from(".gatehouse")),
            base_domain,
            public_scheme,
            master_key,
            previous_master_keys,
            log_format,
            db_max_connections: parse_number(&get, "GATEHOUSE_DB_MAX_CONNECTIONS", 10, 1, 1000)?,
            workers: parse_number(
                &get,
                "GATEHOUSE_WORKERS",
                std::thread::available_parallelism().map_or(1, |n| n.get()),
                1,
                256,
            )?,
            upstream_timeout: Duration::from_millis(parse_number(
                &get,
                "GATEHOUSE_UPSTREAM_TIMEOUT_MS",
                10_000,
                100,
                120_000,
            )?),
            upstream_connect_timeout: Duration::from_millis(parse_number(
                &get,
                "GATEHOUSE_UPSTREAM_CONNECT_TIMEOUT_MS",
                3_000,
                50,
                60_000,
            )?),
            upstream_forbid,
            cache_stale_for: Duration::from_secs(parse_number(
                &get,
                "GATEHOUSE_CACHE_STALE_SECONDS",
                30,
                0,
                3_600,
            )?),
            db_retry_budget: Duration::from_secs(parse_number(
                &get,
                "GATEHOUSE_DB_RETRY_SECONDS",
                10,
                0,
                120,
            )?),
            rate_limit_ip_per_minute: parse_number(
                &get,
                "GATEHOUSE_RATE_LIMIT_IP_PER_MINUTE",
                1200,
                0,
                10_000_000,
            )?,
            rate_limit_client_per_minute: parse_number(
                &get,
                "GATEHOUSE_RATE_LIMIT_CLIENT_PER_MINUTE",
                6000,
                0,
                10_000_000,
            )?,
            rate_limit_failures_per_minute: parse_number(
                &get,
                "GATEHOUSE_RATE_LIMIT_FAILURES_PER_MINUTE",
                10,
                0,
                1_000_000,
            )?,
            trusted_proxies: match get("GATEHOUSE_TRUSTED_PROXIES") {
                None => Vec::new(),
                Some(v) => parse_trusted(&v).map_err(|message| ConfigError {
                    var: "GATEHOUSE_TRUSTED_PROXIES",
                    message,
                })?,
            },
            metrics_enabled: match get("GATEHOUSE_METRICS").as_deref().map(str::trim) {
                None | Some("on") => true,
                Some("off") => false,
                Some(other) => {
                    return Err(ConfigError {
                        var: "GATEHOUSE_METRICS",
                        message: format!("`{other}` must be `on` or `off`"),
                    })
                }
            },
        })
    }

    /// The host of a tenant's canonical domain.
    pub fn tenant_host(&self, slug: &str) -> String {
        format!("{slug}.{}", self.base_domain)
    }

    /// The issuer of a tenant, with the trailing slash Auth0 uses.
    pub fn issuer_for_host(&self, host: &str) -> String {
        format!("{}://{host}/", self.public_scheme.as_str())
    }

    /// The admin dashboard's origin.
    pub fn admin_origin(&self) -> String {
        format!("{}://{}", self.public_scheme.as_str(), self.base_domain)
    }
}

fn parse_number<T>(
    get: &impl Fn(&str) -> Option<String>,
    var: &'static str,
    default: T,
    min: T,
    max: T,
) -> Result<T, ConfigError>
where
    T: std::str::FromStr + PartialOrd + std::fmt::Display + Copy,
{
    match get(var) {
        None => Ok(default),
        Some(v) => match v.trim().parse::<T>() {
            Ok(n) if n >= min && n <= max => Ok(n),
            _ => Err(ConfigError {
                var,
                message: format!("`{v}` must be a whole number from {min} to {max}"),
            }),
        },
    }
}

fn parse_base_domain(value: &str) -> Result<String, ConfigError> {
    let lower = value.to_ascii_lowercase();
    let (host, port) = match lower.rsplit_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (lower.as_str(), None),
    };
    let host_ok = !host.is_empty()
        && host.len() <= 200
        && host.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        });
    let port_ok = port.is_none_or(|p| p.parse::<u16>().is_ok_and(|n| n > 0));
    if host_ok && port_ok {
        Ok(lower)
    } else {
        Err(ConfigError {
            var: "GATEHOUSE_BASE_DOMAIN",
            message: format!(
                "`{value}` is not a host name with an optional port, like localhost:8080"
            ),
        })
    }
}

/// Parses `GATEHOUSE_TRUSTED_PROXIES`: comma-separated addresses or CIDR ranges.
pub fn parse_trusted(value: &str) -> Result<Vec<IpNet>, String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<IpNet>()
                .or_else(|_| s.parse::<IpAddr>().map(IpNet::from))
                .map_err(|_| {
                    format!("`{s}` is not an address or a range like 10.0.0.0/8 or fd00::/8")
                })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn settings(pairs: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Settings::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn defaults_serve_tenants_under_localhost_over_http() {
        let s = settings(&[]).unwrap();
        assert_eq!(s.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(s.tenant_host("acme"), "acme.localhost:8080");
        assert_eq!(
            s.issuer_for_host("acme.localhost:8080"),
            "http://acme.localhost:8080/"
        );
    }

    #[test]
    fn each_bad_value_names_its_variable() {
        for (var, value) in [
            ("GATEHOUSE_LISTEN", "not-an-address"),
            ("GATEHOUSE_BASE_DOMAIN", "exa mple.com"),
            ("GATEHOUSE_BASE_DOMAIN", "example.com:99999"),
            ("GATEHOUSE_PUBLIC_SCHEME", "ftp"),
            ("GATEHOUSE_LOG_FORMAT", "xml"),
            ("GATEHOUSE_MASTER_KEY", "too-short"),
            ("GATEHOUSE_PREVIOUS_MASTER_KEYS", "abc"),
            ("GATEHOUSE_DB_MAX_CONNECTIONS", "0"),
            ("GATEHOUSE_UPSTREAM_TIMEOUT_MS", "soon"),
            ("GATEHOUSE_TRUSTED_PROXIES", "10.0.0.0/8, proxy.internal"),
            ("GATEHOUSE_UPSTREAM_FORBID", "intranet"),
        ] {
            let err = settings(&[(var, value)]).unwrap_err();
            assert_eq!(err.var, var, "{value}");
            assert!(err.to_string().contains(var));
        }
    }

    #[test]
    fn over_https_upstream_urls_stay_off_loopback_unless_the_operator_says_otherwise() {
        let over_http = settings(&[]).unwrap().upstream_forbid;
        assert!(!over_http.forbid_loopback && !over_http.forbid_private);
        let over_https = settings(&[("GATEHOUSE_PUBLIC_SCHEME", "https")]).unwrap();
        assert!(over_https.upstream_forbid.forbid_loopback);
        let chosen = settings(&[
            ("GATEHOUSE_PUBLIC_SCHEME", "https"),
            ("GATEHOUSE_UPSTREAM_FORBID", "none"),
        ])
        .unwrap();
        assert!(!chosen.upstream_forbid.forbid_loopback);
        let strict = settings(&[("GATEHOUSE_UPSTREAM_FORBID", "private,loopback")]).unwrap();
        assert!(strict.upstream_forbid.forbid_private && strict.upstream_forbid.forbid_loopback);
    }
}
