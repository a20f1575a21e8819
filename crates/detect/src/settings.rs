//! `[detect]` as written in config, and its validation into a
//! [`DetectConfig`]. Every detector can be tuned per role under
//! `[detect.roles.<role>.<detector>]`; a role's table overrides only the
//! keys it names. Errors name the key, the value and what is expected.

use std::collections::HashMap;

use salespulse_window::parse_duration;
use serde::Serialize;

pub use crate::sections::*;
use crate::{DetectError, WorkCalendar};

/// Validated detector settings of one role, durations in milliseconds.
#[derive(Debug, Clone)]
pub struct RoleConfig {
    /// As configured.
    pub raw: RoleDetectors,
    /// `sudden_drop.cooldown`.
    pub drop_cooldown_ms: i64,
    /// `outlier_deal.hold`.
    pub outlier_hold_ms: i64,
    /// `achievement.hold`.
    pub achievement_hold_ms: i64,
    /// `inactivity.working_hours` in ms.
    pub inactivity_ms: i64,
}

/// Validated `[detect]`.
#[derive(Debug, Clone)]
pub struct DetectConfig {
    /// Run the detectors at all.
    pub enabled: bool,
    /// Tick, ms.
    pub tick_ms: i64,
    /// Working-time calendars: the default first, then one per configured region.
    pub calendars: Vec<WorkCalendar>,
    /// (region, index into `calendars`): a handful, scanned linearly.
    region_calendar: Vec<(String, usize)>,
    /// Data quality.
    pub quality: QualitySection,
    /// `data_quality.window`, ms.
    pub quality_window_ms: i64,
    /// `source_silent`.
    pub silence: SilenceSection,
    /// `source_silent.min_silence`, ms of working time.
    pub min_silence_ms: i64,
    default: RoleConfig,
    roles: HashMap<String, RoleConfig>,
}

impl DetectConfig {
    /// Validates `[detect]`; `engine_tz` is used when no zone is set.
    pub fn new(s: &DetectSection, engine_tz: &str) -> Result<DetectConfig, DetectError> {
        let mut calendars = vec![calendar(&s.calendar, engine_tz, "detect.calendar")?];
        let mut region_calendar = Vec::new();
        for (region, patch) in &s.regions {
            let at = format!("detect.regions.{region}");
            let mut merged = to_value(&s.calendar)?;
            merge(&mut merged, patch);
            let c: CalendarSection = serde_json::from_value(merged).map_err(|e| {
                DetectError::setting(&at, &patch.to_string(), &format!("calendar keys ({e})"))
            })?;
            region_calendar.push((region.clone(), calendars.len()));
            calendars.push(calendar(&c, engine_tz, &at)?);
        }
        let defaults = RoleDetectors {
            behind_pace: s.behind_pace.clone(),
            sudden_drop: s.sudden_drop.clone(),
            inactivity: s.inactivity.clone(),
            outlier_deal: s.outlier_deal.clone(),
            peer_laggard: s.peer_laggard.clone(),
            achievement: s.achievement.clone(),
        };
        let mut roles = HashMap::new();
        for (role, patch) in &s.roles {
            let mut merged = to_value(&defaults)?;
            merge(&mut merged, patch);
            let r: RoleDetectors = serde_json::from_value(merged).map_err(|e| {
                DetectError::setting(
                    &format!("detect.roles.{role}"),
                    &patch.to_string(),
                    &format!("detector tables with known keys ({e})"),
                )
            })?;
            roles.insert(role.clone(), validate(r, &format!("detect.roles.{role}"))?);
        }
        let quality_window_ms = duration("detect.data_quality.window", &s.data_quality.window)?;
        let f = s.source_silent.factor;
        if !(f.is_finite() && f >= 1.0) {
            return Err(DetectError::setting(
                "detect.source_silent.factor",
                &f.to_string(),
                "a number of at least 1 (times the source's usual gap)",
            ));
        }
        Ok(DetectConfig {
            enabled: s.enabled,
            tick_ms: duration("detect.tick", &s.tick)?,
            calendars,
            region_calendar,
            quality: s.data_quality.clone(),
            quality_window_ms,
            silence: s.source_silent.clone(),
            min_silence_ms: duration(
                "detect.source_silent.min_silence",
                &s.source_silent.min_silence,
            )?,
            default: validate(defaults, "detect")?,
            roles,
        })
    }

    /// The index into `calendars` of a rep's region (the default calendar
    /// for a region without its own).
    pub fn calendar_of(&self, region: Option<&str>) -> usize {
        region
            .and_then(|r| self.region_calendar.iter().find(|(name, _)| name == r))
            .map_or(0, |(_, i)| *i)
    }

    /// The settings of `role` (the defaults when it has no overrides).
    pub fn role(&self, role: &str) -> &RoleConfig {
        self.roles.get(role).unwrap_or(&self.default)
    }
}

/// The `[detect]` keys a profile change may carry: the detector tables and
/// their per-role overrides. Working time, the tick and data quality stay as
/// the service started (they shape state that a change could not carry over).
pub const VERSIONED_KEYS: [&str; 7] = [
    "behind_pace",
    "sudden_drop",
    "inactivity",
    "outlier_deal",
    "peer_laggard",
    "achievement",
    "roles",
];

impl DetectConfig {
    /// The settings of `base` with the detector tables of `patch` (a JSON
    /// object of [`VERSIONED_KEYS`] tables, merged key by key) and those
    /// tables as JSON, which identify the version.
    pub fn versioned(
        base: &DetectSection,
        patch: Option<&serde_json::Value>,
        engine_tz: &str,
    ) -> Result<(DetectConfig, serde_json::Value), DetectError> {
        let mut full = to_value(base)?;
        if let Some(patch) = patch {
            let Some(tables) = patch.as_object() else {
                return Err(DetectError::setting(
                    "detect",
                    &patch.to_string(),
                    "an object of detector tables",
                ));
            };
            for (key, table) in tables {
                if !VERSIONED_KEYS.contains(&key.as_str()) {
                    return Err(DetectError::setting(
                        &format!("detect.{key}"),
                        &table.to_string(),
                        &format!(
                            "one of {} (other [detect] keys change with a restart)",
                            VERSIONED_KEYS.join(", ")
                        ),
                    ));
                }
                if let Some(slot) = full.get_mut(key) {
                    merge(slot, table);
                }
            }
        }
        let section: DetectSection = serde_json::from_value(full.clone()).map_err(|e| {
            DetectError::setting("detect", &e.to_string(), "detector tables with known keys")
        })?;
        let config = DetectConfig::new(&section, engine_tz)?;
        // From the parsed settings, so 3 and 3.0 are the same version.
        let full = to_value(&section)?;
        let tables = VERSIONED_KEYS
            .iter()
            .filter_map(|k| Some(((*k).to_string(), full.get(*k)?.clone())))
            .collect();
        Ok((config, serde_json::Value::Object(tables)))
    }
}

fn to_value<T: Serialize>(v: &T) -> Result<serde_json::Value, DetectError> {
    serde_json::to_value(v)
        .map_err(|e| DetectError::setting("detect", &e.to_string(), "serialisable settings"))
}

fn calendar(c: &CalendarSection, engine_tz: &str, at: &str) -> Result<WorkCalendar, DetectError> {
    let tz = if c.time_zone.is_empty() {
        engine_tz
    } else {
        &c.time_zone
    };
    WorkCalendar::new(tz, &c.working_days, &c.working_hours, &c.holidays).map_err(|mut e| {
        e.key = e.key.replacen("detect.calendar", at, 1);
        e
    })
}

fn duration(key: &str, v: &str) -> Result<i64, DetectError> {
    parse_duration(v).ok_or_else(|| {
        DetectError::setting(
            key,
            v,
            "a duration: a number and a unit s, m, h or d (\"4h\")",
        )
    })
}

fn ratio(key: &str, v: f64, lo: f64, hi: f64) -> Result<(), DetectError> {
    if v.is_finite() && (lo..=hi).contains(&v) {
        Ok(())
    } else {
        Err(DetectError::setting(
            key,
            &v.to_string(),
            &format!("a number from {lo} to {hi}"),
        ))
    }
}

fn validate(r: RoleDetectors, at: &str) -> Result<RoleConfig, DetectError> {
    let p = &r.behind_pace;
    ratio(
        &format!("{at}.behind_pace.fire_below"),
        p.fire_below,
        0.0,
        1.0,
    )?;
    ratio(
        &format!("{at}.behind_pace.resolve_above"),
        p.resolve_above,
        p.fire_below,
        10.0,
    )?;
    ratio(
        &format!("{at}.behind_pace.min_elapsed"),
        p.min_elapsed,
        0.0,
        1.0,
    )?;
    ratio(
        &format!("{at}.behind_pace.max_chance"),
        p.max_chance,
        0.0,
        1.0,
    )?;
    ratio(
        &format!("{at}.behind_pace.min_history"),
        p.min_history,
        0.0,
        100.0,
    )?;
    let g = &r.peer_laggard;
    ratio(
        &format!("{at}.peer_laggard.fire_below"),
        g.fire_below,
        0.0,
        100.0,
    )?;
    ratio(
        &format!("{at}.peer_laggard.resolve_above"),
        g.resolve_above,
        g.fire_below,
        100.0,
    )?;
    if g.days == 0 || g.min_peers < 2 {
        return Err(DetectError::setting(
            &format!("{at}.peer_laggard"),
            &format!("days = {}, min_peers = {}", g.days, g.min_peers),
            "days at least 1 and min_peers at least 2",
        ));
    }
    let d = &r.sudden_drop;
    ratio(&format!("{at}.sudden_drop.fire_z"), d.fire_z, -100.0, 0.0)?;
    ratio(
        &format!("{at}.sudden_drop.resolve_z"),
        d.resolve_z,
        d.fire_z,
        100.0,
    )?;
    ratio(&format!("{at}.sudden_drop.min_drop"), d.min_drop, 0.0, 1.0)?;
    ratio(
        &format!("{at}.sudden_drop.half_life_days"),
        d.half_life_days,
        0.5,
        365.0,
    )?;
    if !(1..=24).contains(&d.window_hours) {
        return Err(DetectError::setting(
            &format!("{at}.sudden_drop.window_hours"),
            &d.window_hours.to_string(),
            "1 to 24",
        ));
    }
    ratio(
        &format!("{at}.inactivity.working_hours"),
        r.inactivity.working_hours,
        0.25,
        1000.0,
    )?;
    ratio(
        &format!("{at}.outlier_deal.z"),
        r.outlier_deal.z,
        1.0,
        100.0,
    )?;
    ratio(
        &format!("{at}.outlier_deal.max_amount"),
        r.outlier_deal.max_amount,
        0.0,
        f64::MAX,
    )?;
    Ok(RoleConfig {
        drop_cooldown_ms: duration(&format!("{at}.sudden_drop.cooldown"), &d.cooldown)?,
        outlier_hold_ms: duration(&format!("{at}.outlier_deal.hold"), &r.outlier_deal.hold)?,
        achievement_hold_ms: duration(&format!("{at}.achievement.hold"), &r.achievement.hold)?,
        inactivity_ms: (r.inactivity.working_hours * 3_600_000.0) as i64,
        raw: r,
    })
}

/// Overlays `patch` onto `base`, table by table.
fn merge(base: &mut serde_json::Value, patch: &serde_json::Value) {
    match (base, patch) {
        (serde_json::Value::Object(b), serde_json::Value::Object(p)) => {
            for (k, v) in p {
                match b.get_mut(k) {
                    Some(slot) => merge(slot, v),
                    None => {
                        b.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        (b, p) => *b = p.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_overrides_only_the_keys_they_name() {
        let mut s = DetectSection::default();
        s.roles.insert(
            "inside".into(),
            serde_json::json!({"inactivity": {"working_hours": 2.0}}),
        );
        let c = DetectConfig::new(&s, "UTC").expect("valid");
        assert_eq!(c.role("inside").inactivity_ms, 2 * 3_600_000);
        assert_eq!(c.role("inside").raw.behind_pace.fire_below, 0.7);
        assert_eq!(c.role("direct").inactivity_ms, 4 * 3_600_000);
    }

    #[test]
    fn regions_have_their_own_working_hours() {
        let mut s = DetectSection::default();
        s.regions.insert(
            "amer".into(),
            serde_json::json!({"working_hours": "14:00-23:00"}),
        );
        let c = DetectConfig::new(&s, "UTC").expect("valid");
        let amer = &c.calendars[c.calendar_of(Some("amer"))];
        let other = &c.calendars[c.calendar_of(Some("emea"))];
        let t = 1_764_600_000_000 - 1_764_600_000_000 % 86_400_000 + 20 * 3_600_000; // 20:00Z on a Monday
        assert!(amer.is_working(t));
        assert!(!other.is_working(t));
        s.regions
            .insert("apac".into(), serde_json::json!({"working_hours": "9-5"}));
        let e = DetectConfig::new(&s, "UTC").unwrap_err().to_string();
        assert!(e.contains("detect.regions.apac.working_hours"), "{e}");
    }

    #[test]
    fn errors_name_the_key() {
        let mut s = DetectSection::default();
        s.roles.insert(
            "inside".into(),
            serde_json::json!({"inactivity": {"working_hourz": 2.0}}),
        );
        let e = DetectConfig::new(&s, "UTC").unwrap_err().to_string();
        assert!(
            e.contains("detect.roles.inside") && e.contains("working_hourz"),
            "{e}"
        );
        let mut s = DetectSection::default();
        s.behind_pace.resolve_above = 0.5;
        let e = DetectConfig::new(&s, "UTC").unwrap_err().to_string();
        assert!(e.contains("detect.behind_pace.resolve_above"), "{e}");
        let s = DetectSection {
            tick: "soon".into(),
            ..Default::default()
        };
        let e = DetectConfig::new(&s, "UTC").unwrap_err().to_string();
        assert!(e.contains("detect.tick") && e.contains("soon"), "{e}");
    }
}
