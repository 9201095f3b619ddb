//! Session tokens and stream URLs: values that must never reach logs, errors or the screen
//! (issue 5). One type shared by the AWS layer, which receives them, and the transport, which
//! sends them.

use std::fmt;

/// A string that prints as `<redacted>` through `Debug` and `Display`; call [`expose`]
/// at the one place that must send it (the websocket dial, the OpenDataChannel frame).
///
/// [`expose`]: SecretString::expose
#[derive(Clone, PartialEq, Eq)]
pub struct SecretString(String);

impl SecretString {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<String> for SecretString {
    fn from(value: String) -> Self {
        Self(value)
    }
}

impl fmt::Debug for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl fmt::Display for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_print() {
        let token = SecretString::new("AAEAAtoken-value");
        assert_eq!(format!("{token}"), "<redacted>");
        assert_eq!(format!("{token:?}"), "<redacted>");
        assert_eq!(format!("{token:#?}"), "<redacted>");
        #[derive(Debug)]
        #[allow(dead_code)]
        struct Holder {
            token: SecretString,
        }
        let shown = format!(
            "{:?}",
            Holder {
                token: token.clone()
            }
        );
        assert!(!shown.contains("token-value"), "{shown}");
        assert_eq!(token.expose(), "AAEAAtoken-value");
    }
}
