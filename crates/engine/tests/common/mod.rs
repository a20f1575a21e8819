//! The naive model the engine's property tests check against, and the
//! streams they feed both: random records (`stream`) and the arrival
//! patterns of real connectors (`delivery`).
#![allow(dead_code)] // each test file uses its own part

pub mod check;
pub mod delivery;
pub mod drive;
pub mod naive;
pub mod stream;

pub const MIN: i64 = 60_000;
pub const HOUR: i64 = 60 * MIN;
pub const DAY: i64 = 24 * HOUR;
/// `engine.period_grace` of the engine under test.
pub const GRACE: i64 = 2 * DAY;
/// `engine.dedupe_horizon` of the engine under test.
pub const HORIZON: i64 = DAY;
/// How long an assist credit's id is remembered: a quarter (longer than the
/// widest window) plus the grace.
pub const CREDIT_KEEP: i64 = 93 * DAY + GRACE;
/// 2026-03-20T00:00:00Z (a Friday): streams cross the end of March (month and quarter).
pub const BASE: i64 = 1_773_964_800_000;
/// The engine's rolling windows: (name, width, bucket).
pub const WINDOWS: [(&str, i64, i64); 4] = [
    ("1h", HOUR, MIN),
    ("24h", DAY, 15 * MIN),
    ("7d", 7 * DAY, HOUR),
    ("30d", 30 * DAY, 6 * HOUR),
];
/// The commission plan of the engine under test: monthly statements, 5%
/// up to the target (the profile's monthly revenue target) and 8% above,
/// refunds within 20 days of the win claw back in full.
pub const TARGET: i128 = 1000;
pub const CLAWBACK: i64 = 20 * DAY;

/// The engine under test: one `direct` profile scored on monthly revenue,
/// with the commission plan above, and EUR at 1.08.
pub fn engine() -> salespulse_engine::Engine {
    use salespulse_engine::{Engine, EngineConfig, Settings};
    let mut s: Settings = serde_json::from_str(
        r#"{"profiles": {"direct": {
            "components": [{"kpi": "revenue", "window": "month", "target": 1000, "weight": 1}],
            "commission": {"period": "month", "tiers": [{"from": 0.0, "rate": 0.05}, {"from": 1.0, "rate": 0.08}],
                           "clawback_days": 20, "clawback": "full"}}}}"#,
    )
    .expect("settings");
    s.currency.rates.insert("EUR".into(), "1.08".into());
    Engine::new(EngineConfig::new(&s).expect("engine config"))
}
