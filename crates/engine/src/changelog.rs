//! A rep's changelog record: the value the live service writes to the
//! compacted `salespulse.state` topic, keyed by rep_id, and reads back to
//! rebuild a partition's engine on assignment.
//!
//! Layout: one format byte ([`FORMAT`]), then the postcard encoding of the
//! partition's stream time and the rep's [`Core`], then one section per
//! feature: its tag (a postcard string), the length of its body (a postcard
//! varint) and the body (the feature's state, postcard). Sections are
//! self-describing, so a reader skips a tag it does not know and starts a
//! feature whose section is missing empty.
//!
//! Upgrade rule: a feature that changes its encoding takes a new tag
//! (e.g. `forecast.2`) and stops writing the old one; a new feature adds a
//! tag; the core's encoding changing, or a rule for reading an old tag,
//! needs a new `FORMAT`. A build reads every format it knows; a record it
//! cannot read is an error naming the rep (docs/topics.md).

use serde::{Deserialize, Serialize};

use crate::feature::Features;
use crate::rep::Core;
use crate::reps::RepState;

/// The changelog format this build writes and reads.
pub const FORMAT: u8 = 1;

/// A changelog record this build cannot read.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    /// Written by another format version.
    #[error("changelog record for rep {rep:?}: format version {got}, this build reads version {FORMAT} (see docs/topics.md, salespulse.state)")]
    Version {
        /// The rep.
        rep: String,
        /// The version byte found.
        got: u8,
    },
    /// Not a valid encoding.
    #[error("changelog record for rep {rep:?}: {reason}")]
    Corrupt {
        /// The rep.
        rep: String,
        /// What is wrong.
        reason: String,
    },
}

#[derive(Serialize)]
struct Head<'a> {
    stream_time: i64,
    core: &'a Core,
}

#[derive(Deserialize)]
struct HeadOwned {
    stream_time: i64,
    core: Core,
}

/// A rep's record at partition stream time `stream_time`.
pub(crate) fn encode(stream_time: i64, rs: &RepState) -> Result<Vec<u8>, postcard::Error> {
    let head = Head {
        stream_time,
        core: &rs.core,
    };
    let mut out = postcard::to_extend(&head, vec![FORMAT])?;
    rs.features.write_sections(&mut out)?;
    Ok(out)
}

/// Reads a record: the stream time it was written at and the rep's state.
pub(crate) fn decode(rep: &str, bytes: &[u8]) -> Result<(i64, RepState), SnapshotError> {
    let corrupt = |reason: String| SnapshotError::Corrupt {
        rep: rep.to_string(),
        reason,
    };
    let (&format, body) = bytes
        .split_first()
        .ok_or_else(|| corrupt("empty value".into()))?;
    if format != FORMAT {
        return Err(SnapshotError::Version {
            rep: rep.to_string(),
            got: format,
        });
    }
    let (head, mut rest): (HeadOwned, &[u8]) =
        postcard::take_from_bytes(body).map_err(|e| corrupt(e.to_string()))?;
    let mut features = Features::default();
    while !rest.is_empty() {
        let (tag, r): (&str, &[u8]) =
            postcard::take_from_bytes(rest).map_err(|e| corrupt(format!("section tag: {e}")))?;
        let (len, r): (u64, &[u8]) = postcard::take_from_bytes(r)
            .map_err(|e| corrupt(format!("section {tag:?} length: {e}")))?;
        let len = usize::try_from(len)
            .ok()
            .filter(|&n| n <= r.len())
            .ok_or_else(|| corrupt(format!("section {tag:?} runs past the record")))?;
        let (section, r) = r.split_at(len);
        // A tag this build does not know (a newer build's feature) is skipped.
        features
            .read_section(tag, section)
            .map_err(|e| corrupt(format!("section {tag:?}: {e}")))?;
        rest = r;
    }
    Ok((
        head.stream_time,
        RepState {
            core: head.core,
            features,
            sent: Default::default(),
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::feature::Features;

    fn rep() -> RepState {
        let specs = salespulse_window::RollingSpecs::new(&[("1h", "1h", "1m")]).expect("specs");
        let mut rs = RepState::new(&specs);
        rs.core.version = 7;
        rs.features.credit.defer(42, 1_000);
        rs
    }

    #[test]
    fn a_record_round_trips_and_a_missing_section_starts_empty() {
        let rs = rep();
        let bytes = encode(5, &rs).expect("encode");
        let (t, back) = decode("r", &bytes).expect("decode");
        assert_eq!(t, 5);
        assert_eq!(back.core.version, 7);
        assert_eq!(back.features.credit, rs.features.credit);
        // The same record as an older build without the credit feature wrote it.
        let head = Head {
            stream_time: 5,
            core: &rs.core,
        };
        let mut older = postcard::to_extend(&head, vec![FORMAT]).expect("head");
        crate::section::write_section(&mut older, "detect", &rs.features.detect).expect("section");
        let (_, back) = decode("r", &older).expect("decode");
        assert_eq!(back.features.credit, Features::default().credit);
        assert_eq!(back.core.version, 7);
    }
}
