//! Connection names (Auth0's pattern) and display names.

use super::FieldError;

pub const MAX_NAME: usize = 128;

/// `^[a-zA-Z0-9](-[a-zA-Z0-9]|[a-zA-Z0-9])*$`, at most 128 characters: unique within a tenant.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ConnectionName(String);

impl ConnectionName {
    pub fn parse(value: &str) -> Result<Self, FieldError> {
        let err = |m: &str| Err(FieldError::new("name", m));
        if value.is_empty() || value.len() > MAX_NAME {
            return err("must be 1 to 128 characters");
        }
        let bytes = value.as_bytes();
        let valid = bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || *b == b'-')
            && bytes[0].is_ascii_alphanumeric()
            && bytes[bytes.len() - 1].is_ascii_alphanumeric()
            && !value.contains("--");
        if !valid {
            return err(
                "must match ^[a-zA-Z0-9](-[a-zA-Z0-9]|[a-zA-Z0-9])*$ (letters, digits and single inner hyphens)",
            );
        }
        Ok(ConnectionName(value.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Free text shown to people, at most 128 characters, no control characters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DisplayName(String);

impl DisplayName {
    pub fn parse(field: &str, value: &str) -> Result<Self, FieldError> {
        let trimmed = value.trim();
        if trimmed.is_empty() || trimmed.chars().count() > MAX_NAME {
            return Err(FieldError::new(field, "must be 1 to 128 characters"));
        }
        if trimmed.chars().any(char::is_control) {
            return Err(FieldError::new(
                field,
                "must not contain control characters",
            ));
        }
        Ok(DisplayName(trimmed.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_names_follow_auth0s_pattern() {
        for ok in ["exact", "Exact-NL", "a", "a-b-c", &"x".repeat(128)] {
            assert!(ConnectionName::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "-exact",
            "exact-",
            "ex--act",
            "ex act",
            "ex_act",
            "exäct",
            &"x".repeat(129),
            "x'--",
        ] {
            assert!(ConnectionName::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn display_names_are_trimmed_and_bounded() {
        assert_eq!(
            DisplayName::parse("name", "  Exact NL ").unwrap().as_str(),
            "Exact NL"
        );
        assert!(DisplayName::parse("name", " ").is_err());
        assert!(DisplayName::parse("name", &"é".repeat(129)).is_err());
        assert!(DisplayName::parse("name", "a\u{0}b").is_err());
    }
}
