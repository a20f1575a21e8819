//! Role profiles: for each role, the components of its score (KPI, window,
//! target, weight, direction, cap). Loaded from config and validated against
//! the configured windows, with errors that name the role, component and fix.

use std::collections::BTreeMap;

use serde::Deserialize;

use salespulse_model::KpiName;
use salespulse_window::{PeriodKind, RollingSpecs};

/// Whether more or less of a KPI is better.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// More is better (revenue).
    #[default]
    Higher,
    /// Less is better (sales cycle).
    Lower,
}

/// The window a component reads: a rolling window (by position) or a calendar period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WindowRef {
    /// Index into the rolling specs.
    Rolling(usize),
    /// A calendar period (the current one at stream time).
    Period(PeriodKind),
}

/// One scoring component.
#[derive(Debug, Clone, PartialEq)]
pub struct Component {
    /// KPI.
    pub kpi: KpiName,
    /// Window name as configured (`30d`, `month`); shared with every
    /// score record's component (no allocation per record).
    pub window_name: std::sync::Arc<str>,
    /// Resolved window.
    pub window: WindowRef,
    /// Target value (money KPIs in reporting currency units).
    pub target: f64,
    /// Weight (> 0).
    pub weight: f64,
    /// Whether higher or lower is better.
    pub direction: Direction,
    /// Largest attainment credited.
    pub cap: f64,
}

/// A role's scoring profile.
#[derive(Debug, Clone, PartialEq)]
pub struct RoleProfile {
    /// Role name.
    pub name: String,
    /// Version, reported in every score.
    pub version: u32,
    /// Components.
    pub components: Vec<Component>,
    /// Sum of the weights.
    pub total_weight: f64,
    /// The commission plan, with its target resolved.
    pub commission: Option<salespulse_incentive::Plan>,
}

/// Raw profile as written in config.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawProfile {
    /// Version.
    #[serde(default = "one")]
    pub version: u32,
    /// Components.
    pub components: Vec<RawComponent>,
    /// Commission plan (docs/incentives.md).
    pub commission: Option<salespulse_incentive::RawPlan>,
}

fn one() -> u32 {
    1
}

fn default_cap() -> f64 {
    1.5
}

/// Raw component as written in config.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawComponent {
    /// KPI name.
    pub kpi: String,
    /// Window or period name.
    pub window: String,
    /// Target.
    pub target: f64,
    /// Weight.
    pub weight: f64,
    /// Direction.
    #[serde(default)]
    pub direction: Direction,
    /// Cap on attainment.
    #[serde(default = "default_cap")]
    pub cap: f64,
}

/// A profile that cannot be used, naming the role, component and fix.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ProfileError {
    /// Something about one component.
    #[error("profile {role:?}, component {index} ({kpi}): {problem}")]
    Component {
        /// Role.
        role: String,
        /// 1-based component number.
        index: usize,
        /// KPI text.
        kpi: String,
        /// What is wrong and what is expected.
        problem: String,
    },
    /// A profile-level problem.
    #[error("profile {role:?}: {problem}")]
    Profile {
        /// Role.
        role: String,
        /// What is wrong.
        problem: String,
    },
}

/// All role profiles plus the one used for reps whose role has none.
#[derive(Debug, Clone, PartialEq)]
pub struct Profiles {
    by_role: BTreeMap<String, RoleProfile>,
    default_role: String,
}

impl Profiles {
    /// Validates raw profiles against the configured windows.
    pub fn new(
        raw: &BTreeMap<String, RawProfile>,
        default_role: &str,
        specs: &RollingSpecs,
    ) -> Result<Self, ProfileError> {
        let mut by_role = BTreeMap::new();
        for (role, p) in raw {
            by_role.insert(role.clone(), resolve(role, p, specs)?);
        }
        if !by_role.contains_key(default_role) {
            return Err(ProfileError::Profile {
                role: default_role.to_string(),
                problem: format!(
                    "scoring.default_role names no profile; define [profiles.{default_role}] or pick one of: {}",
                    by_role.keys().cloned().collect::<Vec<_>>().join(", ")
                ),
            });
        }
        Ok(Profiles {
            by_role,
            default_role: default_role.to_string(),
        })
    }

    /// The profile for a role, falling back to the default role's.
    pub fn for_role(&self, role: Option<&str>) -> &RoleProfile {
        role.and_then(|r| self.by_role.get(r))
            .or_else(|| self.by_role.get(&self.default_role))
            .or_else(|| self.by_role.values().next())
            .expect("Profiles::new guarantees at least the default role")
    }

    /// All profiles by role.
    pub fn roles(&self) -> impl Iterator<Item = &RoleProfile> {
        self.by_role.values()
    }

    /// The profile of exactly `role`, if there is one.
    pub fn role(&self, role: &str) -> Option<&RoleProfile> {
        self.by_role.get(role)
    }

    /// The role whose profile reps without a profiled role get.
    pub fn default_role(&self) -> &str {
        &self.default_role
    }
}

fn resolve(role: &str, p: &RawProfile, specs: &RollingSpecs) -> Result<RoleProfile, ProfileError> {
    if p.components.is_empty() {
        return Err(ProfileError::Profile {
            role: role.into(),
            problem: "has no components; add at least one [[profiles.ROLE.components]]".into(),
        });
    }
    let mut components = Vec::new();
    for (i, c) in p.components.iter().enumerate() {
        let err = |problem: String| ProfileError::Component {
            role: role.into(),
            index: i + 1,
            kpi: c.kpi.clone(),
            problem,
        };
        let kpi = KpiName::parse(&c.kpi).ok_or_else(|| {
            err(format!(
                "unknown KPI; expected one of {}",
                KpiName::all_names()
            ))
        })?;
        let window = match (specs.position(&c.window), PeriodKind::parse(&c.window)) {
            (Some(k), _) => WindowRef::Rolling(k),
            (None, Some(p)) => WindowRef::Period(p),
            (None, None) => {
                let names: Vec<&str> = specs
                    .specs()
                    .iter()
                    .map(|s| s.name.as_str())
                    .chain(PeriodKind::ALL.map(PeriodKind::as_str))
                    .collect();
                return Err(err(format!(
                    "window {:?} is not configured; expected one of {}",
                    c.window,
                    names.join(", ")
                )));
            }
        };
        if !(c.target.is_finite() && c.target > 0.0) {
            return Err(err(format!(
                "target {} must be a positive number",
                c.target
            )));
        }
        if !(c.weight.is_finite() && c.weight > 0.0) {
            return Err(err(format!(
                "weight {} must be a positive number",
                c.weight
            )));
        }
        if !(c.cap.is_finite() && c.cap >= 1.0) {
            return Err(err(format!(
                "cap {} must be a number >= 1 (1.5 credits up to 150% attainment)",
                c.cap
            )));
        }
        components.push(Component {
            kpi,
            window_name: c.window.as_str().into(),
            window,
            target: c.target,
            weight: c.weight,
            direction: c.direction,
            cap: c.cap,
        });
    }
    let total_weight = components.iter().map(|c| c.weight).sum();
    let commission = match &p.commission {
        Some(raw) => Some(plan(role, raw, &components)?),
        None => None,
    };
    Ok(RoleProfile {
        name: role.into(),
        version: p.version,
        components,
        total_weight,
        commission,
    })
}

/// Validates a commission plan; its target defaults to the profile's
/// component of the plan's measure over the plan's period.
fn plan(
    role: &str,
    raw: &salespulse_incentive::RawPlan,
    components: &[Component],
) -> Result<salespulse_incentive::Plan, ProfileError> {
    let problem = |problem: String| ProfileError::Profile {
        role: role.into(),
        problem,
    };
    let mut plan =
        salespulse_incentive::Plan::new(role, raw).map_err(|e| problem(e.to_string()))?;
    if plan.target.is_none() {
        let kpi = KpiName::parse(plan.measure.kpi());
        plan.target = components
            .iter()
            .find(|c| Some(c.kpi) == kpi && c.window == WindowRef::Period(plan.period))
            .map(|c| c.target);
    }
    if plan.target.is_none() {
        return Err(problem(format!(
            "commission.target is not set and the profile has no {} component over {}; set profiles.{role}.commission.target",
            plan.measure.kpi(),
            plan.period.as_str()
        )));
    }
    Ok(plan)
}
