//! Application kinds, grant types and token endpoint authentication methods (Auth0's names).

use super::FieldError;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AppType {
    RegularWeb,
    Spa,
    Native,
    NonInteractive,
}

impl AppType {
    pub const ALL: [AppType; 4] = [
        AppType::RegularWeb,
        AppType::Spa,
        AppType::Native,
        AppType::NonInteractive,
    ];

    pub fn parse(value: &str) -> Result<Self, FieldError> {
        Self::ALL
            .into_iter()
            .find(|t| t.as_str() == value)
            .ok_or_else(|| {
                FieldError::new(
                    "app_type",
                    "must be one of regular_web, spa, native, non_interactive",
                )
            })
    }

    pub fn as_str(&self) -> &'static str {
        match self {
            AppType::RegularWeb => "regular_web",
            AppType::Spa => "spa",
            AppType::Native => "native",
            AppType::NonInteractive => "non_interactive",
        }
    }

    /// Browser and native apps cannot keep a secret; they authenticate with PKCE alone.
    pub fn is_public(&self) -> bool {
        matches!(self, AppType::Spa | AppType::Native)
    }

    pub fn default_auth_method(&self) -> TokenEndpointAuthMethod {
        if self.is_public() {
            TokenEndpointAuthMethod::None
        } else {
            TokenEndpointAuthMethod::ClientSecretPost
        }
    }

    pub fn default_grant_types(&self) -> Vec<GrantType> {
        match self {
            AppType::NonInteractive => vec![GrantType::ClientCredentials],
            _ => vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenEndpointAuthMethod {
    None,
    ClientSecretPost,
    ClientSecretBasic,
}

impl TokenEndpointAuthMethod {
    pub fn parse(value: &str) -> Result<Self, FieldError> {
        match value {
            "none" => Ok(Self::None),
            "client_secret_post" => Ok(Self::ClientSecretPost),
            "client_secret_basic" => Ok(Self::ClientSecretBasic),
            _ => Err(FieldError::new(
                "token_endpoint_auth_method",
                "must be one of none, client_secret_post, client_secret_basic",
            )),
        }
    }

    pub fn as_str(&self) -> &'static str {
        match self {
            Self::None => "none",
            Self::ClientSecretPost => "client_secret_post",
            Self::ClientSecretBasic => "client_secret_basic",
        }
    }
}

/// The grants Gatehouse offers; `password` and `implicit` are deliberately absent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GrantType {
    AuthorizationCode,
    RefreshToken,
    ClientCredentials,
}

impl GrantType {
    pub fn parse(value: &str) -> Result<Self, FieldError> {
        match value {
            "authorization_code" => Ok(Self::AuthorizationCode),
            "refresh_token" => Ok(Self::RefreshToken),
            "client_credentials" => Ok(Self::ClientCredentials),
            _ => Err(FieldError::new(
                "grant_types",
                format!(
                    "`{}` is not offered (authorization_code, refresh_token, client_credentials)",
                    truncate(value)
                ),
            )),
        }
    }

    pub fn as_str(&self) -> &'static str {
        match self {
            Self::AuthorizationCode => "authorization_code",
            Self::RefreshToken => "refresh_token",
            Self::ClientCredentials => "client_credentials",
        }
    }
}

fn truncate(value: &str) -> String {
    value.chars().take(40).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for t in AppType::ALL {
            assert_eq!(AppType::parse(t.as_str()).unwrap(), t);
        }
        assert!(AppType::parse("web").is_err());
        assert!(GrantType::parse("password").is_err());
        assert!(GrantType::parse("implicit").is_err());
        assert_eq!(
            TokenEndpointAuthMethod::parse("none").unwrap(),
            TokenEndpointAuthMethod::None
        );
    }
}
