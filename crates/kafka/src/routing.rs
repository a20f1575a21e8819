//! Where records go: the Java-compatible murmur2 partitioner that keeps the
//! by-rep topic co-partitioned with a rep-keyed input, and the wire format
//! of assist credits on the by-rep topic.
//!
//! A credit is a small JSON object, keyed by the helper's rep_id, with the
//! header `salespulse.kind = assist_credit` (docs/topics.md):
//! `{"kind":"assist_credit","rep_id":"rep-7","event_id":"e-1","occurred_at":"2026-03-02T10:00:00Z"}`.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

use salespulse_engine::Credit;
use salespulse_model::{Reason, Rejection, Timestamp};

/// Header naming what a by-rep record is.
pub const KIND_HEADER: &str = "salespulse.kind";
/// Header value of an assist credit.
pub const KIND_CREDIT: &str = "assist_credit";

/// Kafka's default (Java client) partitioner hash, murmur2 with seed
/// 0x9747b28c; librdkafka's `murmur2_random` uses the same.
pub fn murmur2(data: &[u8]) -> u32 {
    const M: u32 = 0x5bd1_e995;
    let mut h: u32 = 0x9747_b28c ^ data.len() as u32;
    let mut chunks = data.chunks_exact(4);
    for c in &mut chunks {
        let mut k = u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
        k = k.wrapping_mul(M);
        k ^= k >> 24;
        k = k.wrapping_mul(M);
        h = h.wrapping_mul(M) ^ k;
    }
    let rest = chunks.remainder();
    if rest.len() >= 3 {
        h ^= u32::from(rest[2]) << 16;
    }
    if rest.len() >= 2 {
        h ^= u32::from(rest[1]) << 8;
    }
    if !rest.is_empty() {
        h ^= u32::from(rest[0]);
        h = h.wrapping_mul(M);
    }
    h ^= h >> 13;
    h = h.wrapping_mul(M);
    h ^ (h >> 15)
}

/// The partition Kafka's default partitioner picks for `key`.
pub fn partition_for(key: &[u8], partitions: i32) -> i32 {
    ((murmur2(key) & 0x7fff_ffff) % partitions.max(1) as u32) as i32
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct CreditWire<'a> {
    #[serde(borrow)]
    kind: Cow<'a, str>,
    #[serde(borrow)]
    rep_id: Cow<'a, str>,
    #[serde(borrow)]
    event_id: Cow<'a, str>,
    #[serde(borrow)]
    occurred_at: Cow<'a, str>,
}

/// The JSON value of a credit record.
pub fn encode_credit(c: &Credit) -> Vec<u8> {
    let wire = CreditWire {
        kind: Cow::Borrowed(KIND_CREDIT),
        rep_id: Cow::Borrowed(&c.rep_id),
        event_id: Cow::Borrowed(&c.event_id),
        occurred_at: Cow::Owned(Timestamp(c.occurred_at_ms).to_rfc3339()),
    };
    serde_json::to_vec(&wire).unwrap_or_default()
}

/// Reads a credit record; a record that is not one is rejected as malformed.
pub fn decode_credit(bytes: &[u8]) -> Result<Credit, Rejection> {
    const EXPECTED: &str = r#"an assist credit {"kind":"assist_credit","rep_id":..,"event_id":..,"occurred_at":RFC 3339}"#;
    let wire: CreditWire<'_> = serde_json::from_slice(bytes).map_err(|e| {
        let reason = if e.is_syntax() || e.is_eof() {
            Reason::NotJson
        } else {
            Reason::WrongType
        };
        Rejection::field(reason, "assist_credit", &e.to_string(), EXPECTED)
    })?;
    if wire.kind != KIND_CREDIT {
        return Err(Rejection::field(
            Reason::WrongType,
            "kind",
            &format!("{:?}", wire.kind),
            EXPECTED,
        ));
    }
    let at = Timestamp::parse_rfc3339(&wire.occurred_at).map_err(|e| {
        Rejection::field(
            Reason::BadTimestamp,
            "occurred_at",
            &format!("{:?} ({e})", wire.occurred_at),
            "an RFC 3339 timestamp",
        )
    })?;
    Ok(Credit {
        rep_id: wire.rep_id.as_ref().into(),
        event_id: wire.event_id.as_ref().into(),
        occurred_at_ms: at.millis(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn murmur2_matches_kafkas_reference_values() {
        // From Kafka's UtilsTest.testMurmur2 (as signed 32-bit values).
        for (input, want) in [
            ("21", -973_932_308i32),
            ("foobar", -790_332_482),
            ("a-little-bit-long-string", -985_981_536),
            ("a-little-bit-longer-string", -1_486_304_829),
            (
                "lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8",
                -58_897_971,
            ),
            ("abc", 479_470_107),
        ] {
            assert_eq!(murmur2(input.as_bytes()) as i32, want, "{input}");
        }
    }

    #[test]
    fn credits_round_trip_and_garbage_is_named() {
        let c = Credit {
            rep_id: "rep-7".into(),
            event_id: "e\"1".into(),
            occurred_at_ms: 1_772_445_600_000,
        };
        let bytes = encode_credit(&c);
        assert_eq!(decode_credit(&bytes).unwrap(), c);
        let err = decode_credit(br#"{"kind":"other"}"#).unwrap_err();
        assert_eq!(err.reason, Reason::WrongType);
        assert!(err.message.contains("assist_credit"), "{}", err.message);
        let err = decode_credit(b"{oops").unwrap_err();
        assert_eq!(err.reason, Reason::NotJson);
    }
}
