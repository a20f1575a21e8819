//! Helpers shared by the detector tests.
#![allow(dead_code)] // each test file uses its own part

use salespulse_detect::{DetectConfig, DetectSection, Raise, RoleConfig, Subject};
use salespulse_model::AlertRecord;

pub const H: i64 = 3_600_000;
pub const M: i64 = 60_000;
/// Monday 2026-01-05 00:00 UTC.
pub const MON: i64 = 1_767_571_200_000;

/// The default settings.
pub fn cfg() -> DetectConfig {
    cfg_with(|_| {})
}

/// The default settings changed by `f`.
pub fn cfg_with(f: impl FnOnce(&mut DetectSection)) -> DetectConfig {
    let mut s = DetectSection::default();
    f(&mut s);
    DetectConfig::new(&s, "UTC").expect("valid settings")
}

/// Raises alerts about `rep-1` (team-1, direct) into `out`.
pub fn raise<'a>(rc: &'a RoleConfig, out: &'a mut Vec<AlertRecord>) -> Raise<'a> {
    Raise {
        who: Subject {
            rep_id: "rep-1",
            team: Some("team-1"),
            role: "direct",
        },
        cfg: rc,
        out,
    }
}
