//! The "New connection" chooser's entries: each strategy as itself (from the strategy), then
//! presets for the providers people ask for, which prefill a strategy's form and say in a
//! sentence or two how to register the app at the provider. A preset is one entry here.

use super::{Strategy, STRATEGIES};

/// One entry of the chooser.
#[derive(Clone, Copy)]
pub struct Preset {
    /// In the URL: `/connections/new?preset=entra`; a strategy's own entry is its name.
    pub id: &'static str,
    pub strategy: &'static str,
    pub label: &'static str,
    /// What the connection is called unless the admin changes it.
    pub name: &'static str,
    pub display_name: &'static str,
    /// How to register the app at the provider, ending with where the callback URL goes.
    pub steps: &'static str,
    /// Form fields filled in.
    pub values: &'static [(&'static str, &'static str)],
}

pub static PRESETS: &[Preset] = &[
    Preset {
        id: "entra",
        strategy: "oidc",
        label: "Microsoft Entra ID",
        name: "microsoft",
        display_name: "Microsoft",
        steps: "In the Microsoft Entra admin center, open App registrations → New registration and add a Web redirect URI: the callback URL below. Under Certificates & secrets create a client secret, and put your Directory (tenant) ID into the issuer below.",
        values: &[
            ("discovery_url", "https://login.microsoftonline.com/YOUR-TENANT-ID/v2.0"),
            ("scope", "openid profile email"),
            ("token_endpoint_auth_method", "client_secret_post"),
        ],
    },
    Preset {
        id: "google",
        strategy: "oidc",
        label: "Google",
        name: "google",
        display_name: "Google",
        steps: "In the Google Cloud console, open APIs & Services → Credentials → Create credentials → OAuth client ID (Web application), and add the callback URL below as an authorized redirect URI.",
        values: &[
            ("discovery_url", "https://accounts.google.com/.well-known/openid-configuration"),
            ("scope", "openid profile email"),
        ],
    }
];

/// A strategy's own entry: the steps shown when creating or editing one of its connections.
pub fn of_strategy(strategy: &str) -> Option<Preset> {
    super::by_name(strategy).map(own_entry)
}

fn own_entry(s: &'static dyn Strategy) -> Preset {
    Preset {
        id: s.name(),
        strategy: s.name(),
        label: s.chooser_label(),
        name: s.name(),
        display_name: s.display_name(),
        steps: s.registration(),
        values: &[],
    }
}

/// Every entry, strategies first.
pub fn entries() -> Vec<Preset> {
    STRATEGIES
        .iter()
        .map(|s| own_entry(*s))
        .chain(PRESETS.iter().copied())
        .collect()
}

pub fn by_id(id: &str) -> Option<Preset> {
    entries().into_iter().find(|p| p.id == id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_preset_names_a_known_strategy_and_ids_are_unique() {
        let all = entries();
        for (i, p) in all.iter().enumerate() {
            assert!(crate::providers::by_name(p.strategy).is_some(), "{}", p.id);
            assert!(!all[..i].iter().any(|o| o.id == p.id), "{}", p.id);
        }
        assert_eq!(by_id("entra").unwrap().strategy, "oidc");
        assert_eq!(of_strategy("exact").unwrap().label, "Exact Online");
    }
}
