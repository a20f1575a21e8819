//! `[coaching]`: which ratios explain a weak score component, and the rules
//! that turn them into a plain-sentence suggestion (docs/coaching.md).
//! Validated into a [`CoachingConfig`] whose errors name the key.

use std::collections::BTreeMap;

use serde::Deserialize;

use salespulse_model::KpiName;

/// `[coaching]` as written in config.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CoachingSection {
    /// Whether score records carry `coaching`.
    pub enabled: bool,
    /// Most components coached per rep.
    pub max_items: usize,
    /// A component is coached when the rep's attainment ranks below this
    /// percentile of its role (0-100).
    pub below_percentile: f64,
    /// Fewest scored reps a role needs before anyone in it is coached.
    pub min_peers: u32,
    /// Component KPI -> the ratios (`kpi/window`) shown to explain it.
    pub explain: BTreeMap<String, Vec<String>>,
    /// Suggestion rules, first match wins.
    pub rules: Vec<RawRule>,
    /// The suggestion when no rule matches.
    pub fallback: String,
}

impl Default for CoachingSection {
    fn default() -> Self {
        CoachingSection {
            enabled: true,
            max_items: 3,
            below_percentile: 50.0,
            min_peers: 5,
            explain: BTreeMap::new(),
            rules: Vec::new(),
            fallback: "{kpi} ({window}) is at {attainment} of target, at percentile {percentile} of {role} reps: agree one concrete step with {rep} to move it this week.".into(),
        }
    }
}

/// One suggestion rule as written in config.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRule {
    /// The coached component's KPI, or `*` for any.
    pub component: String,
    /// The ratio compared with the role median (`kpi/window`).
    pub ratio: String,
    /// Matches when the rep's ratio is below this multiple of the role median.
    pub below: Option<f64>,
    /// Matches when the rep's ratio is above this multiple of the role median.
    pub above: Option<f64>,
    /// The sentence, with `{rep}`, `{role}`, `{kpi}`, `{window}`, `{attainment}`,
    /// `{percentile}`, `{value}` and `{median}` (the ratio's) filled in.
    pub say: String,
}

/// A ratio: a KPI over a window (index into `EngineConfig::window_names`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RatioRef {
    /// The KPI.
    pub kpi: KpiName,
    /// The window's position in output order.
    pub window: usize,
}

/// How a rule compares the rep's ratio with the role median.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Compare {
    /// Rep < factor × median.
    Below(f64),
    /// Rep > factor × median.
    Above(f64),
}

/// A validated rule.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    /// The component KPI it applies to (None = any).
    pub component: Option<KpiName>,
    /// Index into [`CoachingConfig::ratios`].
    pub ratio: usize,
    /// The comparison.
    pub compare: Compare,
    /// The sentence template.
    pub say: String,
}

impl Rule {
    /// Whether the rule fires for a rep's ratio value against the role median.
    pub fn matches(&self, value: Option<f64>, median: Option<f64>) -> bool {
        let (Some(v), Some(m)) = (value, median) else {
            return false;
        };
        if m.is_nan() || m <= 0.0 {
            return false;
        }
        match self.compare {
            Compare::Below(f) => v < f * m,
            Compare::Above(f) => v > f * m,
        }
    }
}

/// Validated `[coaching]`.
#[derive(Debug, Clone, PartialEq)]
pub struct CoachingConfig {
    /// Whether coaching is on.
    pub enabled: bool,
    /// Most items per rep.
    pub max_items: usize,
    /// Percentile below which a component is coached.
    pub below_percentile: f64,
    /// Fewest scored reps in a role.
    pub min_peers: u32,
    /// Every ratio any explain list or rule names, without repeats.
    pub ratios: Vec<RatioRef>,
    /// Component KPI -> indexes into `ratios`.
    pub explain: BTreeMap<KpiName, Vec<usize>>,
    /// Rules in order.
    pub rules: Vec<Rule>,
    /// Sentence when no rule matches.
    pub fallback: String,
}

/// An invalid `[coaching]` key.
#[derive(Debug, thiserror::Error, PartialEq)]
#[error("coaching.{key} = {value:?}: {expected}")]
pub struct CoachingError {
    /// The key.
    pub key: String,
    /// Its value.
    pub value: String,
    /// What is expected.
    pub expected: String,
}

fn err(
    key: impl Into<String>,
    value: impl Into<String>,
    expected: impl Into<String>,
) -> CoachingError {
    CoachingError {
        key: key.into(),
        value: value.into(),
        expected: expected.into(),
    }
}

fn kpi(key: &str, s: &str) -> Result<KpiName, CoachingError> {
    KpiName::parse(s).ok_or_else(|| err(key, s, format!("a KPI: {}", KpiName::all_names())))
}

impl CoachingConfig {
    /// Validates `s` against the window names (output order).
    pub fn new(s: &CoachingSection, windows: &[&str]) -> Result<Self, CoachingError> {
        if !(0.0..=100.0).contains(&s.below_percentile) {
            return Err(err(
                "below_percentile",
                s.below_percentile.to_string(),
                "a percentile from 0 to 100",
            ));
        }
        if s.min_peers < 2 {
            return Err(err(
                "min_peers",
                s.min_peers.to_string(),
                "at least 2 (a percentile needs peers)",
            ));
        }
        if s.max_items == 0 || s.max_items > 10 {
            return Err(err("max_items", s.max_items.to_string(), "1 to 10"));
        }
        let mut ratios: Vec<RatioRef> = Vec::new();
        let mut ratio = |key: &str, text: &str| -> Result<usize, CoachingError> {
            let (k, w) = text
                .split_once('/')
                .ok_or_else(|| err(key, text, "kpi/window, e.g. \"win_rate/30d\""))?;
            let k = kpi(key, k)?;
            if k == KpiName::Assists {
                return Err(err(
                    key,
                    text,
                    "a KPI other than assists: assist credits come from deals applied in other partitions and may arrive after a day close, so a judgement that used them could differ between the live service and replay",
                ));
            }
            let window = windows.iter().position(|&n| n == w).ok_or_else(|| {
                err(
                    key,
                    text,
                    format!("a configured window or period: {}", windows.join(", ")),
                )
            })?;
            let r = RatioRef { kpi: k, window };
            Ok(match ratios.iter().position(|&x| x == r) {
                Some(i) => i,
                None => {
                    ratios.push(r);
                    ratios.len() - 1
                }
            })
        };
        let mut explain = BTreeMap::new();
        for (component, list) in &s.explain {
            let key = format!("explain.{component}");
            let c = kpi(&key, component)?;
            let idx = list
                .iter()
                .map(|t| ratio(&key, t))
                .collect::<Result<Vec<_>, _>>()?;
            explain.insert(c, idx);
        }
        let mut rules = Vec::with_capacity(s.rules.len());
        for (i, r) in s.rules.iter().enumerate() {
            let key = format!("rules[{}]", i + 1);
            let component = match r.component.as_str() {
                "*" => None,
                c => Some(kpi(&format!("{key}.component"), c)?),
            };
            let compare = match (r.below, r.above) {
                (Some(f), None) if f > 0.0 => Compare::Below(f),
                (None, Some(f)) if f > 0.0 => Compare::Above(f),
                _ => {
                    return Err(err(
                        key,
                        format!("below = {:?}, above = {:?}", r.below, r.above),
                        "exactly one of below or above, a positive multiple of the role median",
                    ))
                }
            };
            rules.push(Rule {
                component,
                ratio: ratio(&format!("{key}.ratio"), &r.ratio)?,
                compare,
                say: r.say.clone(),
            });
        }
        Ok(CoachingConfig {
            enabled: s.enabled,
            max_items: s.max_items,
            below_percentile: s.below_percentile,
            min_peers: s.min_peers,
            ratios,
            explain,
            rules,
            fallback: s.fallback.clone(),
        })
    }
}

/// What a suggestion's placeholders are filled with.
pub(crate) struct Fill<'a> {
    pub rep: &'a str,
    pub role: &'a str,
    pub kpi: &'a str,
    pub window: &'a str,
    pub attainment: f64,
    pub percentile: f64,
    /// The matched rule's ratio: KPI, rep value, role median.
    pub ratio: Option<(KpiName, Option<f64>, Option<f64>)>,
}

/// Fills a template's placeholders.
pub(crate) fn render(template: &str, f: &Fill<'_>) -> String {
    let (value, median) = match f.ratio {
        Some((k, v, m)) => (show(k, v), show(k, m)),
        None => ("-".into(), "-".into()),
    };
    template
        .replace("{rep}", f.rep)
        .replace("{role}", f.role)
        .replace("{kpi}", f.kpi)
        .replace("{window}", f.window)
        .replace("{attainment}", &format!("{:.0}%", f.attainment * 100.0))
        .replace("{percentile}", &format!("{:.0}", f.percentile))
        .replace("{value}", &value)
        .replace("{median}", &median)
}

/// A ratio value as a person reads it: rates in percent, money and counts
/// whole, small ratios with two decimals.
fn show(kpi: KpiName, v: Option<f64>) -> String {
    use KpiName as K;
    let Some(v) = v else { return "-".into() };
    match kpi {
        K::WinRate | K::CollectionRate => format!("{:.0}%", v * 100.0),
        K::MeetingsPerCall => format!("{v:.3}"),
        K::Csat | K::SalesCycleDays => format!("{v:.1}"),
        _ if v.abs() >= 100.0 => format!("{v:.0}"),
        _ if v.fract() == 0.0 => format!("{v:.0}"),
        _ => format!("{v:.2}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const WINDOWS: [&str; 3] = ["7d", "30d", "month"];

    fn section(rules: Vec<RawRule>) -> CoachingSection {
        let mut s = CoachingSection::default();
        s.explain.insert(
            "revenue".into(),
            vec!["win_rate/30d".into(), "calls/7d".into()],
        );
        s.rules = rules;
        s
    }

    fn rule(ratio: &str, below: Option<f64>, above: Option<f64>) -> RawRule {
        RawRule {
            component: "revenue".into(),
            ratio: ratio.into(),
            below,
            above,
            say: "{rep} {value} vs {median}".into(),
        }
    }

    #[test]
    fn ratios_are_shared_and_rules_compare_with_the_median() {
        let c = CoachingConfig::new(
            &section(vec![rule("win_rate/30d", Some(0.8), None)]),
            &WINDOWS,
        )
        .unwrap();
        assert_eq!(
            c.ratios.len(),
            2,
            "the rule reuses the explain list's ratio"
        );
        assert_eq!(c.rules[0].ratio, 0);
        assert!(c.rules[0].matches(Some(0.2), Some(0.3)));
        assert!(
            !c.rules[0].matches(Some(0.24), Some(0.3)),
            "0.24 = 0.8 × 0.3 is not below"
        );
        assert!(!c.rules[0].matches(None, Some(0.3)));
        assert!(!c.rules[0].matches(Some(0.0), Some(0.0)));
    }

    #[test]
    fn errors_name_the_key() {
        let e = CoachingConfig::new(
            &section(vec![rule("win_rate/9d", Some(0.8), None)]),
            &WINDOWS,
        )
        .unwrap_err();
        assert_eq!(e.key, "rules[1].ratio");
        assert!(e.expected.contains("7d, 30d, month"), "{e}");
        let e = CoachingConfig::new(
            &section(vec![rule("win_rate/30d", Some(0.8), Some(1.2))]),
            &WINDOWS,
        )
        .unwrap_err();
        assert_eq!(e.key, "rules[1]");
        let e = CoachingConfig::new(
            &section(vec![rule("assists/30d", Some(0.8), None)]),
            &WINDOWS,
        )
        .unwrap_err();
        assert!(e.expected.contains("other than assists"), "{e}");
        let mut s = section(vec![]);
        s.min_peers = 1;
        assert_eq!(
            CoachingConfig::new(&s, &WINDOWS).unwrap_err().key,
            "min_peers"
        );
        let mut s = section(vec![]);
        s.explain.insert("revenu".into(), vec![]);
        assert_eq!(
            CoachingConfig::new(&s, &WINDOWS).unwrap_err().key,
            "explain.revenu"
        );
    }

    #[test]
    fn sentences_fill_every_placeholder() {
        let f = Fill {
            rep: "rep-1",
            role: "direct",
            kpi: "revenue",
            window: "month",
            attainment: 0.625,
            percentile: 8.3,
            ratio: Some((KpiName::WinRate, Some(0.18), Some(0.31))),
        };
        assert_eq!(
            render(
                "{rep} ({role}): {kpi}/{window} {attainment} p{percentile}, {value} vs {median}",
                &f
            ),
            "rep-1 (direct): revenue/month 62% p8, 18% vs 31%"
        );
        assert_eq!(show(KpiName::AvgDealSize, Some(12345.678)), "12346");
        assert_eq!(show(KpiName::Calls, Some(31.0)), "31");
    }
}
