//! `TenantSlug`: the DNS label a tenant lives under (`{slug}.{base domain}`).

use super::FieldError;

/// Labels that would be confusing or dangerous as tenant hosts.
const RESERVED: &[&str] = &[
    "www",
    "admin",
    "api",
    "login",
    "static",
    "assets",
    "localhost",
    "new",
];

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TenantSlug(String);

impl TenantSlug {
    /// 3 to 63 characters of lowercase letters, digits and inner hyphens: a DNS label.
    pub fn parse(value: &str) -> Result<Self, FieldError> {
        let err = |m: &str| Err(FieldError::new("slug", m));
        if value.len() < 3 || value.len() > 63 {
            return err("must be 3 to 63 characters");
        }
        if !value
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            return err("may hold only lowercase letters a-z, digits and hyphens");
        }
        if value.starts_with('-') || value.ends_with('-') || value.contains("--") {
            return err("must start and end with a letter or digit, without double hyphens");
        }
        if RESERVED.contains(&value) {
            return err("is reserved");
        }
        Ok(TenantSlug(value.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for TenantSlug {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::TenantSlug;

    #[test]
    fn accepts_dns_labels() {
        for ok in ["acme", "acme-corp", "a1b", &"a".repeat(63)] {
            assert!(TenantSlug::parse(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn refuses_everything_else() {
        for bad in [
            "",
            "ab",
            "Acme",
            "acme_corp",
            "-acme",
            "acme-",
            "ac--me",
            "ac.me",
            "a c",
            "admin",
            "ácme",
            &"a".repeat(64),
            "acme'; drop table tenants;--",
        ] {
            assert!(TenantSlug::parse(bad).is_err(), "{bad}");
        }
    }
}
