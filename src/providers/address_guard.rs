//! Which network addresses an upstream call may connect to. A tenant admin sets upstream URLs
//! (endpoints, discovery documents, profile URLs), so they must not become a way into the
//! operator's network: link-local and cloud metadata addresses are always refused, private
//! ranges and loopback when the operator says so (`GATEHOUSE_UPSTREAM_FORBID`). The check is
//! made on the addresses a name resolves to when the call is made (the resolver hands the
//! connector only allowed ones), so a name that resolves elsewhere later (DNS rebinding) gains
//! nothing; IP literals, which are never resolved, are checked before the call.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

pub use crate::domain::AddressPolicy;

/// The resolver of the upstream client: the system's lookup, with forbidden addresses removed.
/// A name left with no allowed address fails to connect, naming why.
pub struct GuardedResolver {
    pub policy: AddressPolicy,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.policy;
        let host = name.as_str().to_owned();
        Box::pin(async move {
            // RFC 6761: `localhost` and every name under it are loopback, whatever DNS says
            // (a test tenant at `acme.localhost` is a loopback upstream, too).
            let lower = host.trim_end_matches('.').to_ascii_lowercase();
            let found: Vec<SocketAddr> = if lower == "localhost" || lower.ends_with(".localhost") {
                vec![
                    SocketAddr::from(([127, 0, 0, 1], 0)),
                    SocketAddr::from((std::net::Ipv6Addr::LOCALHOST, 0)),
                ]
            } else {
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect()
            };
            let allowed: Vec<SocketAddr> = found
                .iter()
                .copied()
                .filter(|a| policy.refusal(a.ip()).is_none())
                .collect();
            if allowed.is_empty() {
                let why = found
                    .first()
                    .and_then(|a| policy.refusal(a.ip()))
                    .unwrap_or("no address");
                return Err(Box::new(Forbidden(format!("{host} resolves to {why}")))
                    as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(allowed.into_iter()) as Addrs)
        })
    }
}

/// A connection refused by the policy.
#[derive(Debug, thiserror::Error)]
#[error("{0}, which upstream calls may not reach")]
pub struct Forbidden(pub String);

/// Checks the host of `url` when it is an IP literal (the resolver never sees those).
pub fn check_literal(policy: &AddressPolicy, url: &url::Url) -> Result<(), Forbidden> {
    let ip = match url.host() {
        Some(url::Host::Ipv4(v4)) => IpAddr::V4(v4),
        Some(url::Host::Ipv6(v6)) => IpAddr::V6(v6),
        _ => return Ok(()),
    };
    match policy.refusal(ip) {
        Some(why) => Err(Forbidden(format!("{ip} is {why}"))),
        None => Ok(()),
    }
}

pub fn resolver(policy: AddressPolicy) -> Arc<GuardedResolver> {
    Arc::new(GuardedResolver { policy })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ip_literals_are_checked_before_any_call() {
        let policy = AddressPolicy::default();
        let metadata = url::Url::parse("http://169.254.169.254/latest/meta-data").unwrap();
        assert!(check_literal(&policy, &metadata).is_err());
        let named = url::Url::parse("https://login.example.com/").unwrap();
        assert!(check_literal(&policy, &named).is_ok());
    }

    #[tokio::test]
    async fn a_name_is_checked_on_what_it_resolves_to() {
        let guarded = GuardedResolver {
            policy: AddressPolicy {
                forbid_loopback: true,
                ..Default::default()
            },
        };
        let err = match guarded.resolve("localhost".parse().unwrap()).await {
            Err(e) => e.to_string(),
            Ok(_) => panic!("localhost resolved to an allowed address"),
        };
        assert!(err.contains("loopback"), "{err}");
        let open = GuardedResolver {
            policy: AddressPolicy::default(),
        };
        assert!(open.resolve("localhost".parse().unwrap()).await.is_ok());
        let under: Vec<SocketAddr> = open
            .resolve("acme.localhost".parse().unwrap())
            .await
            .unwrap()
            .collect();
        assert!(under.iter().all(|a| a.ip().is_loopback()) && !under.is_empty());
    }
}
