//! `[kafka.client]`: librdkafka properties passed through unchanged, with
//! the values of secret keys (passwords, private keys, tokens, JAAS lines)
//! held as [`Secret`]s from the moment they are read, so no `Debug`, log
//! line, error or `check-config` output can show them.

use std::collections::BTreeMap;
use std::fmt;

use rdkafka::ClientConfig;
use salespulse_model::Secret;
use serde::Deserialize;

/// Whether a librdkafka property holds a secret.
pub fn is_secret(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    [
        "password",
        "secret",
        "token",
        "jaas",
        "ssl.key.pem",
        "ssl_key",
        "ssl.keystore",
        "private",
        "credential",
        "oauthbearer.config",
    ]
    .iter()
    .any(|s| k.contains(s))
}

/// One property's value.
#[derive(Clone)]
enum Value {
    Plain(String),
    Secret(Secret),
}

/// The pass-through properties.
#[derive(Clone, Default)]
pub struct ClientProps(BTreeMap<String, Value>);

impl ClientProps {
    /// Sets `key`; a secret key's value is kept as a [`Secret`].
    pub fn insert(&mut self, key: impl Into<String>, value: impl Into<String>) {
        let key = key.into();
        let value = if is_secret(&key) {
            Value::Secret(Secret::new(value))
        } else {
            Value::Plain(value.into())
        };
        self.0.insert(key, value);
    }

    /// Whether `key` is set.
    pub fn contains_key(&self, key: &str) -> bool {
        self.0.contains_key(key)
    }

    /// Removes every property.
    pub fn clear(&mut self) {
        self.0.clear();
    }

    /// Sets every property on `c` (the one place secrets are exposed).
    pub fn apply(&self, c: &mut ClientConfig) {
        for (k, v) in &self.0 {
            match v {
                Value::Plain(s) => c.set(k, s),
                Value::Secret(s) => c.set(k, s.expose()),
            };
        }
    }

    /// Every property as it may be shown: secret values are `<redacted>`.
    pub fn shown(&self) -> Vec<(&str, String)> {
        self.0
            .iter()
            .map(|(k, v)| {
                let shown = match v {
                    Value::Plain(s) => s.clone(),
                    Value::Secret(s) => s.to_string(),
                };
                (k.as_str(), shown)
            })
            .collect()
    }

    /// `text` with every secret value replaced by `<redacted>`: for errors
    /// and logs a client library built from the configuration.
    pub fn scrub(&self, text: &str) -> String {
        self.0.values().fold(text.to_string(), |t, v| match v {
            Value::Secret(s) => s.scrub(&t),
            Value::Plain(_) => t,
        })
    }
}

impl fmt::Debug for ClientProps {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.shown()).finish()
    }
}

impl<'de> Deserialize<'de> for ClientProps {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = BTreeMap::<String, String>::deserialize(d)?;
        let mut props = ClientProps::default();
        for (k, v) in raw {
            props.insert(k, v);
        }
        Ok(props)
    }
}

/// An rdkafka error with any configuration value of a secret key removed:
/// rdkafka's "Client config error" names the key and its value.
pub fn redact_error(e: rdkafka::error::KafkaError) -> rdkafka::error::KafkaError {
    use rdkafka::error::KafkaError as E;
    match e {
        E::ClientConfig(res, desc, key, value) => {
            let value = if is_secret(&key) {
                salespulse_model::secret::REDACTED.to_string()
            } else {
                value
            };
            E::ClientConfig(res, desc, key, value)
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_print_but_reach_the_client() {
        let mut p = ClientProps::default();
        p.insert("sasl.password", "hunter2");
        p.insert("sasl.username", "svc");
        let shown = format!("{p:?}");
        assert!(
            !shown.contains("hunter2") && shown.contains("<redacted>") && shown.contains("svc"),
            "{shown}"
        );
        let mut c = ClientConfig::new();
        p.apply(&mut c);
        assert_eq!(c.get("sasl.password"), Some("hunter2"));
        assert_eq!(
            p.scrub("auth failed for hunter2"),
            "auth failed for <redacted>"
        );
    }

    #[test]
    fn the_bundled_librdkafka_speaks_tls_and_scram() {
        // Fails with "not supported in this build" if OpenSSL is left out.
        let mut c = ClientConfig::new();
        c.set("bootstrap.servers", "127.0.0.1:1")
            .set("security.protocol", "SASL_SSL")
            .set("sasl.mechanisms", "SCRAM-SHA-512")
            .set("sasl.username", "u")
            .set("sasl.password", "p")
            .set("ssl.key.password", "k");
        if let Err(e) = c.create::<rdkafka::producer::BaseProducer>() {
            panic!("{e}");
        }
    }

    #[test]
    fn a_config_error_on_a_secret_key_loses_its_value() {
        // A property this librdkafka does not know, holding a secret.
        let mut c = ClientConfig::new();
        c.set("sasl.oauthbearer.nonsense.secret", "s3cr3t-value");
        let err = match c.create::<rdkafka::producer::BaseProducer>() {
            Ok(_) => panic!("an unknown property must fail"),
            Err(e) => e,
        };
        assert!(err.to_string().contains("s3cr3t-value"), "{err}");
        let shown = redact_error(err).to_string();
        assert!(
            !shown.contains("s3cr3t-value") && shown.contains("<redacted>"),
            "{shown}"
        );
    }
}
