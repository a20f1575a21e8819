//! Golden-file tests of `salespulse replay` on a small, hand-checked input
//! (tests/golden/small.ndjson; the checked numbers are worked through in
//! docs/windows.md). Regenerate after an intended change with
//! `UPDATE_GOLDEN=1 cargo test --test golden` and review the diff.

use std::path::Path;
use std::process::Command;

fn replay(args: &[&str]) -> (String, String) {
    let dir = scratch::scratch("golden");
    let dlq = dir.join("dlq.ndjson");
    let out = Command::new(env!("CARGO_BIN_EXE_salespulse"))
        .args(["replay", "--events", "tests/golden/small.ndjson", "--dlq"])
        .arg(&dlq)
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run salespulse");
    assert!(
        out.status.success(),
        "replay failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("read 20 applied 17 rejected 3"),
        "summary line: {stderr}"
    );
    (
        String::from_utf8(out.stdout).expect("utf-8"),
        std::fs::read_to_string(dlq).expect("dlq written"),
    )
}

#[path = "support/scratch.rs"]
mod scratch;

fn compare(actual: &str, golden: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(golden);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, actual).expect("write golden");
        return;
    }
    let expected =
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    for (i, (a, e)) in actual.lines().zip(expected.lines()).enumerate() {
        assert_eq!(a, e, "{golden} line {} differs", i + 1);
    }
    assert_eq!(
        actual.lines().count(),
        expected.lines().count(),
        "{golden}: line count differs"
    );
}

#[test]
fn replay_final_matches_golden() {
    let (out, dlq) = replay(&["--teams"]);
    compare(&out, "small.final.ndjson");
    compare(&dlq, "small.dlq.ndjson");
}

#[test]
fn replay_all_matches_golden() {
    let (out, _) = replay(&["--emit", "all"]);
    compare(&out, "small.all.ndjson");
    // Every record of a rep carries a higher seq than the one before.
    let mut last = std::collections::HashMap::new();
    for line in out.lines() {
        let v: serde_json::Value = serde_json::from_str(line).expect("json");
        let rep = v["rep_id"].as_str().expect("rep_id").to_string();
        let seq = v["seq"].as_u64().expect("seq");
        let prev = last.insert(rep, seq).unwrap_or(0);
        assert!(seq > prev, "seq went from {prev} to {seq}");
    }
}

#[test]
fn replay_is_deterministic() {
    assert_eq!(replay(&["--emit", "all"]).0, replay(&["--emit", "all"]).0);
}

/// Readers of the score topic (the company view, `replay --view`) read
/// typed records: every record replay writes reads back into the type it
/// was written from and writes out byte for byte the same.
#[test]
fn score_records_read_back_typed_byte_for_byte() {
    let golden = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/small.all.ndjson");
    let text = std::fs::read_to_string(&golden).expect("golden");
    for (i, line) in text.lines().enumerate() {
        let record: salespulse_model::record::ScoreRecord =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("line {}: {e}", i + 1));
        let again = serde_json::to_string(&record).expect("serialize");
        assert_eq!(again, line, "line {} changed through the type", i + 1);
    }
}
