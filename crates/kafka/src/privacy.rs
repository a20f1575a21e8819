//! `[privacy]` and `[dlq]`: where the pseudonymisation key comes from, which
//! free-text fields survive ingest, and whether the DLQ keeps original bytes.

use std::path::PathBuf;

use salespulse_model::{Pseudonymizer, Secret};
use serde::Deserialize;

use crate::KafkaError;

/// `[privacy]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PrivacySection {
    /// Environment variable holding the HMAC key.
    pub key_env: String,
    /// File holding the HMAC key (used when the variable is unset).
    pub key_file: Option<PathBuf>,
    /// The id pseudonyms carry (change it with the key, to rotate).
    pub key_id: String,
    /// Free-text fields (`reason`, `outcome`) kept at ingest.
    pub keep_text: Vec<String>,
}

impl Default for PrivacySection {
    fn default() -> Self {
        PrivacySection {
            key_env: "SALESPULSE_PSEUDONYM_KEY".into(),
            key_file: None,
            key_id: "k1".into(),
            keep_text: Vec::new(),
        }
    }
}

/// The shortest key accepted, in bytes.
const MIN_KEY_BYTES: usize = 16;

impl PrivacySection {
    /// The pseudonymizer: the key from `key_env`, else `key_file`, else a
    /// random key for this process only (pseudonyms then differ per run;
    /// key id `ephemeral`).
    pub fn pseudonymizer(&self) -> Result<Pseudonymizer, KafkaError> {
        for f in &self.keep_text {
            if !salespulse_model::privacy::TEXT_FIELDS.contains(&f.as_str()) {
                return Err(KafkaError::Config(format!(
                    "privacy.keep_text: {f:?} is not a free-text field; expected any of {:?}",
                    salespulse_model::privacy::TEXT_FIELDS
                )));
            }
        }
        let key = match (std::env::var(&self.key_env), &self.key_file) {
            (Ok(k), _) => Some((k, format!("${}", self.key_env))),
            (Err(_), Some(path)) => {
                let k = std::fs::read_to_string(path).map_err(|e| {
                    KafkaError::Config(format!("privacy.key_file {}: {e}", path.display()))
                })?;
                Some((
                    k.trim_end_matches(['\n', '\r']).to_string(),
                    path.display().to_string(),
                ))
            }
            (Err(_), None) => None,
        };
        match key {
            Some((k, from)) if k.len() < MIN_KEY_BYTES => Err(KafkaError::Config(format!(
                "privacy key from {from}: {} bytes; expected at least {MIN_KEY_BYTES} (e.g. `openssl rand -hex 32`)",
                k.len()
            ))),
            Some((k, _)) => Ok(Pseudonymizer::new(
                Secret::new(k),
                self.key_id.clone(),
                self.keep_text.clone(),
            )),
            None => {
                use rand::RngCore;
                let mut bytes = [0u8; 32];
                rand::rngs::OsRng.fill_bytes(&mut bytes);
                let k = salespulse_model::hex::encode(&bytes);
                Ok(Pseudonymizer::new(
                    Secret::new(k),
                    "ephemeral",
                    self.keep_text.clone(),
                ))
            }
        }
    }
}

/// `[dlq]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DlqSection {
    /// Store the reason, offsets and a SHA-256 of the record instead of its
    /// bytes (and a hash of its key).
    pub redact: bool,
}

/// The DLQ payload of a redacted rejected record.
pub fn redacted_dlq_payload(reason: &str, message: &str, original: &[u8]) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "redacted": true,
        "reason": reason,
        "message": message,
        "bytes": original.len(),
        "sha256": salespulse_model::privacy::sha256_hex(original),
    }))
    .unwrap_or_default()
}
