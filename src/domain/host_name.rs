//! `HostName`: a tenant's custom domain (lowercase DNS name, optional port).

use super::FieldError;

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct HostName(String);

impl HostName {
    pub fn parse(field: &str, value: &str) -> Result<Self, FieldError> {
        let lower = value.trim().to_ascii_lowercase();
        let (host, port) = match lower.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (lower.as_str(), None),
        };
        let labels_ok = host.len() <= 253
            && host.contains('.')
            && host.split('.').all(|l| {
                !l.is_empty()
                    && l.len() <= 63
                    && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                    && !l.starts_with('-')
                    && !l.ends_with('-')
            });
        let port_ok = port.is_none_or(|p| p.parse::<u16>().is_ok_and(|n| n > 0));
        if !labels_ok || !port_ok {
            return Err(FieldError::new(
                field,
                "must be a domain name such as login.example.com",
            ));
        }
        Ok(HostName(lower))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::HostName;

    #[test]
    fn domains_are_lowercased_and_checked() {
        assert_eq!(
            HostName::parse("d", "Login.Example.COM").unwrap().as_str(),
            "login.example.com"
        );
        assert!(HostName::parse("d", "login.example.test:8443").is_ok());
        for bad in [
            "",
            "localhost",
            "a..b",
            "-a.b",
            "a b.c",
            "x.y:0",
            "x.y:70000",
            "http://x.y",
        ] {
            assert!(HostName::parse("d", bad).is_err(), "{bad}");
        }
    }
}
