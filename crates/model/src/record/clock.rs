//! A move of a partition's stream time without an event (`clock/1`, on
//! `salespulse.clock`): what the live service records when it advances an
//! idle partition from the wall clock, so that a replay of the input and
//! these records reproduces what the move caused (docs/windows.md).

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

/// One clock move of one input partition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[schemars(title = "SalesPulse clock move of a partition (clock/1)")]
pub struct ClockRecord {
    /// `clock/1` ([`crate::output`]).
    #[schemars(schema_with = "clock_schema_id")]
    pub schema: Cow<'static, str>,
    /// The input partition whose stream time moved (the record's key).
    pub partition: i32,
    /// The partition's input position when it moved: the sum, over the
    /// input topics, of the next offset to read (the by-rep topic's assist
    /// credits not counted). The move applies after the record before that
    /// position and before the record at it.
    pub position: u64,
    /// The stream time it moved to (RFC 3339, UTC, milliseconds).
    pub t: String,
    /// The wall clock when the service moved it (RFC 3339, UTC): for
    /// operators; replay does not read it.
    pub recorded_at: String,
}

fn clock_schema_id(_: &mut schemars::gen::SchemaGenerator) -> schemars::schema::Schema {
    super::json_schema(serde_json::json!({"type": "string", "const": crate::output::CLOCK}))
}

impl ClockRecord {
    /// A move of `partition` at input `position` to stream time `t_ms`,
    /// recorded at wall time `wall_ms`.
    pub fn new(partition: i32, position: u64, t_ms: i64, wall_ms: i64) -> ClockRecord {
        ClockRecord {
            schema: crate::output::CLOCK.into(),
            partition,
            position,
            t: crate::Timestamp(t_ms).to_rfc3339(),
            recorded_at: crate::Timestamp(wall_ms).to_rfc3339(),
        }
    }

    /// The stream time moved to, in epoch milliseconds.
    pub fn t_ms(&self) -> Result<i64, String> {
        crate::Timestamp::parse_rfc3339(&self.t)
            .map(crate::Timestamp::millis)
            .map_err(|e| format!("clock record: t = {:?}: {e} (expected RFC 3339)", self.t))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_its_time() {
        let r = ClockRecord::new(3, 120, 1_772_409_660_123, 1_772_409_700_000);
        assert_eq!(r.t_ms(), Ok(1_772_409_660_123));
        let json = serde_json::to_string(&r).unwrap();
        assert!(
            json.starts_with(r#"{"schema":"clock/1","partition":3,"position":120,"#),
            "{json}"
        );
        let back: ClockRecord = serde_json::from_str(&json).unwrap();
        assert_eq!(back, r);
    }
}
