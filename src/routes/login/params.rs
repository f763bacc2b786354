//! Query and form parameters of the login endpoints: parsed strictly (a repeated parameter is
//! an error, as RFC 6749 requires) and bounded in size.

use std::collections::HashMap;

/// Parameters longer than this are refused.
pub const MAX_PARAM_CHARS: usize = 4096;

#[derive(Debug, Default)]
pub struct Params(HashMap<String, String>);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ParamError {
    #[error("the request is not well-formed")]
    Malformed,
    #[error("the parameter `{0}` is repeated")]
    Repeated(String),
    #[error("the parameter `{0}` is too long")]
    TooLong(String),
}

impl Params {
    pub fn parse(encoded: &str) -> Result<Self, ParamError> {
        let pairs: Vec<(String, String)> =
            serde_urlencoded::from_str(encoded).map_err(|_| ParamError::Malformed)?;
        let mut map = HashMap::with_capacity(pairs.len());
        for (k, v) in pairs {
            if v.len() > MAX_PARAM_CHARS {
                return Err(ParamError::TooLong(k.chars().take(40).collect()));
            }
            if map.insert(k.clone(), v).is_some() {
                return Err(ParamError::Repeated(k.chars().take(40).collect()));
            }
        }
        Ok(Params(map))
    }

    pub fn from_json(value: &serde_json::Value) -> Result<Self, ParamError> {
        let obj = value.as_object().ok_or(ParamError::Malformed)?;
        let mut map = HashMap::with_capacity(obj.len());
        for (k, v) in obj {
            let text = match v {
                serde_json::Value::String(s) => s.clone(),
                serde_json::Value::Number(n) => n.to_string(),
                serde_json::Value::Bool(b) => b.to_string(),
                serde_json::Value::Null => continue,
                _ => return Err(ParamError::Malformed),
            };
            if text.len() > MAX_PARAM_CHARS {
                return Err(ParamError::TooLong(k.chars().take(40).collect()));
            }
            map.insert(k.clone(), text);
        }
        Ok(Params(map))
    }

    /// The value, with an empty value treated as absent.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    pub fn contains(&self, name: &str) -> bool {
        self.get(name).is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_and_oversized_parameters_are_refused() {
        assert_eq!(
            Params::parse("a=1&a=2").unwrap_err(),
            ParamError::Repeated("a".into())
        );
        assert!(matches!(
            Params::parse(&format!("a={}", "x".repeat(5000))),
            Err(ParamError::TooLong(_))
        ));
        let p = Params::parse("code=a%21b%2A%2B%2F%3D&empty=").unwrap();
        assert_eq!(p.get("code"), Some("a!b*+/="));
        assert_eq!(p.get("empty"), None);
    }
}
