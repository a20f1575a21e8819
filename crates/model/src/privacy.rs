//! Pseudonymisation of customer data at ingest.
//!
//! Customer and partner identifiers (`customer_id`, `partner_id`) are
//! replaced by a keyed hash, `<key_id>:<HMAC-SHA256(key, id)>` (the first 16
//! bytes, hex), so records that leave the ingest stage can still be joined
//! by customer but never name one; the key id says which key made a
//! pseudonym, so the key can be rotated. Free-text fields (`reason`,
//! `outcome`) are dropped unless allow-listed. Rejection messages never
//! quote these fields' values (see `decode`).

use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::Secret;

/// Identifier fields that are pseudonymised.
pub const IDENTIFIER_FIELDS: [&str; 2] = ["customer_id", "partner_id"];

/// Free-text fields that are dropped unless allow-listed.
pub const TEXT_FIELDS: [&str; 2] = ["reason", "outcome"];

/// Whether an event field holds customer data (its value is never quoted).
pub fn is_sensitive(field: &str) -> bool {
    IDENTIFIER_FIELDS.contains(&field) || TEXT_FIELDS.contains(&field)
}

/// The keyed hash and the free-text allow-list.
#[derive(Clone, Debug)]
pub struct Pseudonymizer {
    key: Secret,
    key_id: String,
    keep_text: Vec<String>,
}

impl Pseudonymizer {
    /// A pseudonymizer with `key` known as `key_id`, keeping the free-text
    /// fields named in `keep_text`.
    pub fn new(key: Secret, key_id: impl Into<String>, keep_text: Vec<String>) -> Pseudonymizer {
        Pseudonymizer {
            key,
            key_id: key_id.into(),
            keep_text,
        }
    }

    /// The key id pseudonyms carry.
    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// `<key_id>:<32 hex digits>` for `value`.
    pub fn pseudonym(&self, value: &str) -> String {
        // HMAC accepts keys of any length; the error arm cannot happen.
        let mac = match Hmac::<Sha256>::new_from_slice(self.key.expose().as_bytes()) {
            Ok(m) => m.chain_update(value.as_bytes()).finalize().into_bytes(),
            Err(_) => Sha256::digest(value.as_bytes()),
        };
        let hex = crate::hex::encode(&mac[..16]);
        format!("{}:{hex}", self.key_id)
    }

    /// The record with identifiers pseudonymised and free text dropped, or
    /// `None` when it has none of those fields (or is not a JSON object:
    /// the decoder rejects it). Non-string identifiers are dropped too.
    pub fn rewrite(&self, payload: &[u8]) -> Option<Vec<u8>> {
        let text = std::str::from_utf8(payload).ok()?;
        if !IDENTIFIER_FIELDS
            .iter()
            .chain(TEXT_FIELDS.iter())
            .any(|f| text.contains(f))
        {
            return None;
        }
        let mut v: Value = serde_json::from_str(text).ok()?;
        let o = v.as_object_mut()?;
        let mut changed = false;
        for f in IDENTIFIER_FIELDS {
            match o.get(f) {
                Some(Value::String(s)) => {
                    let p = self.pseudonym(s);
                    o.insert(f.to_string(), Value::String(p));
                    changed = true;
                }
                Some(Value::Null) | None => {}
                Some(_) => {
                    o.remove(f);
                    changed = true;
                }
            }
        }
        for f in TEXT_FIELDS {
            if !self.keep_text.iter().any(|k| k == f) && o.remove(f).is_some() {
                changed = true;
            }
        }
        changed.then(|| serde_json::to_vec(&v).unwrap_or_else(|_| payload.to_vec()))
    }
}

/// Hex SHA-256 of `bytes` (the redacted DLQ's fingerprint of a record).
pub fn sha256_hex(bytes: &[u8]) -> String {
    crate::hex::encode(&Sha256::digest(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(keep: &[&str]) -> Pseudonymizer {
        Pseudonymizer::new(
            Secret::new("key"),
            "k1",
            keep.iter().map(|s| s.to_string()).collect(),
        )
    }

    #[test]
    fn pseudonyms_are_the_keyed_hash_with_the_key_id() {
        // HMAC-SHA256("key", "The quick brown fox jumps over the lazy dog"),
        // the RFC 4231-style example on Wikipedia: f7bc83f4 30538424 ...
        let got = p(&[]).pseudonym("The quick brown fox jumps over the lazy dog");
        assert_eq!(got, "k1:f7bc83f430538424b13298e6aa6fb143");
        let other = Pseudonymizer::new(Secret::new("key2"), "k2", vec![]);
        assert_ne!(other.pseudonym("c-1")[3..], p(&[]).pseudonym("c-1")[3..]);
    }

    #[test]
    fn records_lose_clear_identifiers_and_unlisted_text() {
        let rec = br#"{"type":"deal.lost","customer_id":"ACME Corp","partner_id":7,"reason":"price too high","outcome":"sad","deal_id":"d1"}"#;
        let out = String::from_utf8(p(&["outcome"]).rewrite(rec).unwrap()).unwrap();
        let v: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["customer_id"], p(&[]).pseudonym("ACME Corp"));
        assert!(v.get("partner_id").is_none() && v.get("reason").is_none());
        assert_eq!(
            (v["outcome"].as_str(), v["deal_id"].as_str()),
            (Some("sad"), Some("d1"))
        );
        assert!(!out.contains("ACME"), "{out}");
        assert!(p(&[])
            .rewrite(br#"{"type":"activity.call","rep_id":"r"}"#)
            .is_none());
        assert!(p(&[]).rewrite(b"customer_id, not json").is_none());
    }
}
