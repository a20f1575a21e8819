//! [`Secret`]: a configuration value that must never be shown: Kafka
//! passwords and private keys, the pseudonymisation key. `Debug` and
//! `Display` print `<redacted>`; only [`Secret::expose`] gives the value, at
//! the one place that hands it to a client library.

use std::fmt;

/// What a secret prints as.
pub const REDACTED: &str = "<redacted>";

/// A secret string. Deserialises from a plain string.
#[derive(Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// Wraps a value.
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The value itself, for the client library that needs it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// `text` with every occurrence of the value replaced by `<redacted>`
    /// (for messages a library built from the value).
    pub fn scrub(&self, text: &str) -> String {
        if self.0.is_empty() {
            text.to_string()
        } else {
            text.replace(&self.0, REDACTED)
        }
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_prints_its_value() {
        let s = Secret::new("hunter2");
        assert_eq!(
            format!("{s} {s:?} {:?}", Some(&s)),
            "<redacted> <redacted> Some(<redacted>)"
        );
        assert_eq!(s.expose(), "hunter2");
        assert_eq!(
            s.scrub("bad value hunter2 for x"),
            "bad value <redacted> for x"
        );
        let parsed: Secret = serde_json::from_str("\"p4ss\"").unwrap();
        assert_eq!(parsed.expose(), "p4ss");
    }
}
