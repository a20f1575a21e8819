//! The wire format of an assist credit between partitions (the live
//! service sends it through the by-rep topic, keyed by the helper): a small
//! JSON object with the header `salespulse.kind = assist_credit`
//! (docs/topics.md):
//! `{"kind":"assist_credit","rep_id":"rep-7","event_id":"e-1","occurred_at":"2026-03-02T10:00:00Z"}`.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

use salespulse_engine::Credit;
use salespulse_model::{Reason, Rejection, Timestamp};

/// Header naming what a by-rep record is.
pub const KIND_HEADER: &str = "salespulse.kind";
/// Header value of an assist credit.
pub const KIND_CREDIT: &str = "assist_credit";

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
