//! The `[detect]` config tables as written: one struct per detector with
//! its defaults. Validation is in `settings`.

use std::collections::BTreeMap;

use salespulse_model::Severity;
use serde::{Deserialize, Serialize};

/// `[detect.calendar]`: working time.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct CalendarSection {
    /// IANA zone; empty means `engine.time_zone`.
    pub time_zone: String,
    /// Working weekdays.
    pub working_days: Vec<String>,
    /// Working hours, `"HH:MM-HH:MM"` local time.
    pub working_hours: String,
    /// Days off, `YYYY-MM-DD`.
    pub holidays: Vec<String>,
}

impl Default for CalendarSection {
    fn default() -> Self {
        CalendarSection {
            time_zone: String::new(),
            working_days: ["mon", "tue", "wed", "thu", "fri"]
                .map(String::from)
                .to_vec(),
            working_hours: "09:00-17:00".into(),
            holidays: Vec::new(),
        }
    }
}

/// `behind_pace`: period attainment over the share of working time elapsed.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct PaceSection {
    /// Run this detector.
    pub enabled: bool,
    /// Fire when pace (attainment / expected attainment) drops below this.
    pub fire_below: f64,
    /// Resolve when pace is back at or above this.
    pub resolve_above: f64,
    /// Only once this share of the period's working time has elapsed.
    pub min_elapsed: f64,
    /// And only when the rep's deals created and won this period so far are
    /// this unlikely by chance at its usual rate (1 turns the gate off).
    pub max_chance: f64,
    /// Earlier periods (whole-period equivalents) the usual rate needs.
    pub min_history: f64,
    /// Severity of the alert.
    pub severity: Severity,
}

impl Default for PaceSection {
    fn default() -> Self {
        PaceSection {
            enabled: true,
            fire_below: 0.7,
            resolve_above: 0.8,
            min_elapsed: 0.2,
            max_chance: 0.0001,
            min_history: 0.5,
            severity: Severity::Warning,
        }
    }
}

/// `peer_laggard`: the rep's score percentile within its role, judged at
/// each working-day close.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct PeerSection {
    /// Run this detector.
    pub enabled: bool,
    /// Fire after `days` consecutive working days below this percentile.
    pub fire_below: f64,
    /// Resolve at a day close at or above this percentile.
    pub resolve_above: f64,
    /// Consecutive working days below `fire_below`.
    pub days: u32,
    /// Scored reps of the role needed for a percentile to mean something.
    pub min_peers: u32,
    /// Severity of the alert.
    pub severity: Severity,
}

impl Default for PeerSection {
    fn default() -> Self {
        PeerSection {
            enabled: true,
            fire_below: 10.0,
            resolve_above: 20.0,
            days: 3,
            min_peers: 10,
            severity: Severity::Warning,
        }
    }
}

/// `sudden_drop`: activity over the last working hours against the rep's own
/// baseline for the same hours of the working day.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct DropSection {
    /// Run this detector.
    pub enabled: bool,
    /// Working hours compared.
    pub window_hours: u32,
    /// Fire at or below this z-score.
    pub fire_z: f64,
    /// Resolve at or above this z-score.
    pub resolve_z: f64,
    /// And only when the observed count is at most (1 - min_drop) of the baseline.
    pub min_drop: f64,
    /// Working days of history before the detector speaks.
    pub min_history_days: u32,
    /// Half-life of the baseline, in working days.
    pub half_life_days: f64,
    /// No new episode this long after one resolved.
    pub cooldown: String,
    /// Severity of the alert.
    pub severity: Severity,
}

impl Default for DropSection {
    fn default() -> Self {
        DropSection {
            enabled: true,
            window_hours: 16,
            fire_z: -4.0,
            resolve_z: -1.5,
            min_drop: 0.5,
            min_history_days: 10,
            half_life_days: 10.0,
            cooldown: "4h".into(),
            severity: Severity::Warning,
        }
    }
}

/// `inactivity`: no activity event for several working hours.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct InactivitySection {
    /// Run this detector.
    pub enabled: bool,
    /// Working hours without an activity before it fires.
    pub working_hours: f64,
    /// Severity of the alert.
    pub severity: Severity,
}

impl Default for InactivitySection {
    fn default() -> Self {
        InactivitySection {
            enabled: true,
            working_hours: 4.0,
            severity: Severity::Warning,
        }
    }
}

/// `outlier_deal`: a won deal far outside the rep's own distribution.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct OutlierSection {
    /// Run this detector.
    pub enabled: bool,
    /// Fire at or above this robust z-score of the log amount.
    pub z: f64,
    /// Deals of history before the rep's distribution is used.
    pub min_history: u32,
    /// Any deal above this amount (reporting currency) is an outlier, history or not; 0 = no bound.
    pub max_amount: f64,
    /// Hold an outlier deal back: not counted, rejected as `outlier` (to the
    /// dead-letter topic) with the alert, instead of counted and flagged.
    pub exclude: bool,
    /// How long the alert stays firing.
    pub hold: String,
    /// Severity of the alert.
    pub severity: Severity,
}

impl Default for OutlierSection {
    fn default() -> Self {
        OutlierSection {
            enabled: true,
            z: 4.5,
            min_history: 8,
            max_amount: 0.0,
            exclude: false,
            hold: "24h".into(),
            severity: Severity::Warning,
        }
    }
}

/// `achievement`: quota reached, personal best.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct AchievementSection {
    /// Run this detector.
    pub enabled: bool,
    /// Announce period attainment reaching 100%.
    pub quota: bool,
    /// Announce a week's revenue above every earlier week's (after `min_weeks`).
    pub personal_best: bool,
    /// Weeks of history before a personal best counts.
    pub min_weeks: u32,
    /// Announce a rep reaching the top of its role's leaderboard at a working-day close.
    pub top_of_role: bool,
    /// How long the alert stays firing.
    pub hold: String,
}

impl Default for AchievementSection {
    fn default() -> Self {
        AchievementSection {
            enabled: true,
            quota: true,
            personal_best: true,
            min_weeks: 4,
            top_of_role: true,
            hold: "24h".into(),
        }
    }
}

/// `data_quality`: the share of rejected records per source.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct QualitySection {
    /// Run this detector.
    pub enabled: bool,
    /// Fire above this rejection rate.
    pub fire_above: f64,
    /// Resolve at or below this rate.
    pub resolve_below: f64,
    /// Sliding window of stream time.
    pub window: String,
    /// Records in the window before the rate counts.
    pub min_records: u64,
    /// Severity of the alert.
    pub severity: Severity,
}

impl Default for QualitySection {
    fn default() -> Self {
        QualitySection {
            enabled: true,
            fire_above: 0.05,
            resolve_below: 0.02,
            window: "1h".into(),
            min_records: 50,
            severity: Severity::Critical,
        }
    }
}

/// `source_silent`: a source silent for much longer than its usual gap.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct SilenceSection {
    /// Run this detector.
    pub enabled: bool,
    /// Fire when a source's silence, in working time, exceeds this many
    /// times the longest of its last 256 gaps ...
    pub factor: f64,
    /// ... and at least this much working time.
    pub min_silence: String,
    /// Gaps a source must have shown before its silence is judged.
    pub min_gaps: usize,
    /// Distinct reps among its last records before its silence is judged
    /// (fewer: those reps' own inactivity alerts report it).
    pub min_reps: usize,
    /// Severity of the alert.
    pub severity: Severity,
}

impl Default for SilenceSection {
    fn default() -> Self {
        SilenceSection {
            enabled: true,
            factor: 2.0,
            min_silence: "1h".into(),
            min_gaps: 32,
            min_reps: 3,
            severity: Severity::Critical,
        }
    }
}

/// The detectors that can differ by role.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct RoleDetectors {
    /// `behind_pace`.
    pub behind_pace: PaceSection,
    /// `sudden_drop`.
    pub sudden_drop: DropSection,
    /// `inactivity`.
    pub inactivity: InactivitySection,
    /// `outlier_deal`.
    pub outlier_deal: OutlierSection,
    /// `peer_laggard`.
    pub peer_laggard: PeerSection,
    /// `achievement`.
    pub achievement: AchievementSection,
}

/// `[detect]`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct DetectSection {
    /// Run the detectors at all.
    pub enabled: bool,
    /// How often time-driven detectors are evaluated, in stream time.
    pub tick: String,
    /// Working time.
    pub calendar: CalendarSection,
    /// `behind_pace` defaults.
    pub behind_pace: PaceSection,
    /// `sudden_drop` defaults.
    pub sudden_drop: DropSection,
    /// `inactivity` defaults.
    pub inactivity: InactivitySection,
    /// `outlier_deal` defaults.
    pub outlier_deal: OutlierSection,
    /// `peer_laggard` defaults.
    pub peer_laggard: PeerSection,
    /// `achievement` defaults.
    pub achievement: AchievementSection,
    /// `data_quality` (per source, not per role).
    pub data_quality: QualitySection,
    /// `source_silent` (per source, not per role).
    pub source_silent: SilenceSection,
    /// Per-role overrides: `[detect.roles.<role>.<detector>]`.
    pub roles: BTreeMap<String, serde_json::Value>,
    /// Per-region working time: `[detect.regions.<region>]` overrides
    /// `[detect.calendar]` keys for reps of that region.
    pub regions: BTreeMap<String, serde_json::Value>,
    /// `rank_change` (company-wide, from the score topic; not per role).
    pub rank_change: RankChangeSection,
}

/// `[detect.rank_change]`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct RankChangeSection {
    /// Publish `rank_change` alerts.
    pub enabled: bool,
    /// Places a rep must move in its role's company-wide ranking between
    /// two working-day closes (at least 1).
    pub min_places: u32,
}

impl Default for RankChangeSection {
    fn default() -> Self {
        RankChangeSection {
            enabled: true,
            min_places: 3,
        }
    }
}

impl Default for DetectSection {
    fn default() -> Self {
        let d = RoleDetectors::default();
        DetectSection {
            enabled: true,
            tick: "15m".into(),
            calendar: CalendarSection::default(),
            behind_pace: d.behind_pace,
            sudden_drop: d.sudden_drop,
            inactivity: d.inactivity,
            outlier_deal: d.outlier_deal,
            peer_laggard: d.peer_laggard,
            achievement: d.achievement,
            data_quality: QualitySection::default(),
            source_silent: SilenceSection::default(),
            roles: BTreeMap::new(),
            regions: BTreeMap::new(),
            rank_change: RankChangeSection::default(),
        }
    }
}
