//! The alert lifecycle: `firing` when a value crosses the fire threshold,
//! `resolved` only when it crosses the (different) resolve threshold, then a
//! cooldown before the same kind may fire again, and optionally at most one
//! firing per scope (a period). A rep hovering at a threshold therefore
//! produces one episode, not a flood.
//!
//! The state lives in the rep's state, so it is written to the changelog and
//! restored after a crash: an episode that fired before the crash is not
//! fired again after it.

use salespulse_model::AlertKind;
use serde::{Deserialize, Serialize};

/// How a value turns into alert transitions.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rule {
    /// Fire when the value crosses this.
    pub fire: f64,
    /// Resolve when the value crosses back over this.
    pub resolve: f64,
    /// Low values are bad (fire below `fire`, resolve above `resolve`);
    /// otherwise high values are bad.
    pub low_is_bad: bool,
    /// After resolving, no new firing of the kind for this long.
    pub cooldown_ms: i64,
    /// At most one firing per scope (e.g. per period).
    pub once_per_scope: bool,
}

impl Rule {
    fn fires(&self, v: f64) -> bool {
        if self.low_is_bad {
            v < self.fire
        } else {
            v > self.fire
        }
    }

    fn resolves(&self, v: f64) -> bool {
        if self.low_is_bad {
            v >= self.resolve
        } else {
            v <= self.resolve
        }
    }
}

/// A transition to publish.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// A new episode started.
    Fired,
    /// The open episode ended.
    Resolved,
}

/// The lifecycle of one kind in one scope for one rep (or source).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Slot {
    /// The kind.
    pub kind: AlertKind,
    /// The scope: a period's start for per-period kinds, 0 otherwise.
    pub scope: i64,
    /// Whether an episode is open.
    pub firing: bool,
    /// When the open (or last) episode started.
    pub started_at: i64,
    /// Episodes fired in this scope so far (part of the alert id).
    pub seq: u32,
    /// No new firing before this instant.
    pub quiet_until: i64,
    /// When an instant alert (achievement, outlier) resolves by itself.
    pub expires_at: i64,
    /// Value, threshold and baseline when it fired (repeated in the resolved record).
    pub facts: [f64; 3],
}

impl Slot {
    /// Whether the facts are amounts of money: an outlier deal's (the
    /// deal, the amount it crossed, the usual deal) and a personal-best
    /// week's (its revenue and the previous best).
    pub fn facts_are_money(&self) -> bool {
        match self.kind {
            AlertKind::OutlierDeal => true,
            AlertKind::Achievement => crate::pace::is_personal_best(self.scope),
            _ => false,
        }
    }
}

impl Slot {
    fn new(kind: AlertKind, scope: i64) -> Slot {
        Slot {
            kind,
            scope,
            firing: false,
            started_at: 0,
            seq: 0,
            quiet_until: i64::MIN,
            expires_at: i64::MAX,
            facts: [0.0; 3],
        }
    }
}

/// Every slot of one rep (or source). Small: a handful of kinds, and closed
/// slots are pruned once their cooldown is over.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Alerts {
    slots: Vec<Slot>,
}

impl Alerts {
    fn slot(&mut self, kind: AlertKind, scope: i64) -> &mut Slot {
        let i = match self
            .slots
            .iter()
            .position(|s| s.kind == kind && s.scope == scope)
        {
            Some(i) => i,
            None => {
                self.slots.push(Slot::new(kind, scope));
                self.slots.len() - 1
            }
        };
        &mut self.slots[i]
    }

    /// Whether any episode of `kind` is open.
    pub fn is_firing(&self, kind: AlertKind) -> bool {
        self.slots.iter().any(|s| s.kind == kind && s.firing)
    }

    /// Feeds a value measured at `t`; returns the transition, if any, and
    /// the slot after it.
    pub fn observe(
        &mut self,
        kind: AlertKind,
        scope: i64,
        value: f64,
        t: i64,
        rule: &Rule,
    ) -> Option<(Change, Slot)> {
        if !value.is_finite() {
            return None;
        }
        let s = self.slot(kind, scope);
        if s.firing {
            if rule.resolves(value) {
                s.firing = false;
                s.quiet_until = t.saturating_add(rule.cooldown_ms);
                return Some((Change::Resolved, s.clone()));
            }
            return None;
        }
        if rule.fires(value) && t >= s.quiet_until && !(rule.once_per_scope && s.seq > 0) {
            s.firing = true;
            s.started_at = t;
            s.seq += 1;
            return Some((Change::Fired, s.clone()));
        }
        None
    }

    /// Fires an instant alert (an outlier deal, an achievement) that resolves
    /// by itself at `t + hold_ms`; at most one per scope unless `repeat`.
    pub fn fire_instant(
        &mut self,
        kind: AlertKind,
        scope: i64,
        t: i64,
        hold_ms: i64,
        repeat: bool,
    ) -> Option<Slot> {
        let s = self.slot(kind, scope);
        if s.firing || (!repeat && s.seq > 0) {
            return None;
        }
        s.firing = true;
        s.started_at = t;
        s.seq += 1;
        s.expires_at = t.saturating_add(hold_ms);
        Some(s.clone())
    }

    /// Resolves the open episodes of `kind` whose scope is not `keep`
    /// (`None`: every scope), e.g. when a period ends or activity resumes.
    pub fn resolve_all(&mut self, kind: AlertKind, keep: Option<i64>, t: i64) -> Vec<Slot> {
        self.slots
            .iter_mut()
            .filter(|s| s.kind == kind && s.firing && Some(s.scope) != keep)
            .map(|s| {
                s.firing = false;
                s.quiet_until = t;
                s.clone()
            })
            .collect()
    }

    /// Resolves instant alerts whose hold is over.
    pub fn expire(&mut self, t: i64) -> Vec<Slot> {
        self.slots
            .iter_mut()
            .filter(|s| s.firing && s.expires_at <= t)
            .map(|s| {
                s.firing = false;
                s.quiet_until = t;
                s.clone()
            })
            .collect()
    }

    /// Drops closed slots whose cooldown is over, except those of per-period
    /// kinds (behind pace, achievements) in a scope at or after
    /// `scope_floor`, which remember that the period already had its episode.
    pub fn prune(&mut self, t: i64, scope_floor: i64) {
        self.slots.retain(|s| {
            s.firing
                || s.quiet_until > t
                || (matches!(s.kind, AlertKind::BehindPace | AlertKind::Achievement)
                    && s.scope >= scope_floor)
        });
    }

    /// Whether `expire(t)` and `prune(t, scope_floor)` would both leave
    /// every slot as it is.
    pub fn settled_at(&self, t: i64, scope_floor: i64) -> bool {
        self.slots.iter().all(|s| {
            if s.firing {
                s.expires_at > t
            } else {
                s.quiet_until > t
                    || (matches!(s.kind, AlertKind::BehindPace | AlertKind::Achievement)
                        && s.scope >= scope_floor)
            }
        })
    }

    /// Remembers the numbers of the open episode of `kind` in `scope`.
    pub fn set_facts(&mut self, kind: AlertKind, scope: i64, facts: [f64; 3]) {
        if let Some(s) = self
            .slots
            .iter_mut()
            .find(|s| s.kind == kind && s.scope == scope)
        {
            s.facts = facts;
        }
    }

    /// The number of slots held (for memory accounting).
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// Whether no slot is held.
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }
}

/// A stable alert id: the kind and a 64-bit FNV-1a hash of the subject, the
/// kind, the scope and the episode's start (stream time), so the firing and
/// the resolved record of an episode share it, and it does not depend on
/// which closed slots were pruned.
pub fn alert_id(subject: &str, slot: &Slot) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut feed = |bytes: &[u8]| {
        for b in bytes {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    };
    feed(subject.as_bytes());
    feed(&[0]);
    feed(slot.kind.as_str().as_bytes());
    feed(&slot.scope.to_le_bytes());
    feed(&slot.started_at.to_le_bytes());
    format!("{}-{h:016x}", slot.kind.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    const PACE: Rule = Rule {
        fire: 0.7,
        resolve: 0.8,
        low_is_bad: true,
        cooldown_ms: 3_600_000,
        once_per_scope: false,
    };

    #[test]
    fn hysteresis_keeps_one_episode_while_hovering() {
        let mut a = Alerts::default();
        let k = AlertKind::BehindPace;
        let mut changes = vec![];
        // Oscillates around 0.7 between 0.65 and 0.75: fires once, never resolves.
        for (i, v) in [0.75, 0.65, 0.72, 0.68, 0.74, 0.66, 0.79]
            .iter()
            .enumerate()
        {
            if let Some((c, _)) = a.observe(k, 0, *v, i as i64 * 1000, &PACE) {
                changes.push(c);
            }
        }
        assert_eq!(changes, vec![Change::Fired]);
        let (c, s) = a
            .observe(k, 0, 0.8, 10_000, &PACE)
            .expect("resolves at 0.8");
        assert_eq!(c, Change::Resolved);
        assert_eq!(s.quiet_until, 10_000 + 3_600_000);
    }

    #[test]
    fn cooldown_and_once_per_scope() {
        let mut a = Alerts::default();
        let k = AlertKind::BehindPace;
        a.observe(k, 0, 0.5, 0, &PACE).expect("fires");
        a.observe(k, 0, 0.9, 1000, &PACE).expect("resolves");
        assert!(a.observe(k, 0, 0.5, 2000, &PACE).is_none(), "cooling down");
        let (c, s) = a
            .observe(k, 0, 0.5, 1000 + 3_600_000, &PACE)
            .expect("fires again");
        assert_eq!((c, s.seq), (Change::Fired, 2));
        let once = Rule {
            once_per_scope: true,
            ..PACE
        };
        let mut b = Alerts::default();
        b.observe(k, 7, 0.5, 0, &once).expect("fires");
        b.observe(k, 7, 0.9, 1, &once).expect("resolves");
        assert!(b.observe(k, 7, 0.1, 10_000_000, &once).is_none());
        assert!(
            b.observe(k, 8, 0.1, 10_000_000, &once).is_some(),
            "a new scope"
        );
    }

    #[test]
    fn ids_are_stable_per_episode() {
        let mut a = Alerts::default();
        let k = AlertKind::BehindPace;
        let (_, fired) = a.observe(k, 5, 0.5, 0, &PACE).expect("fires");
        let (_, resolved) = a.observe(k, 5, 0.9, 1, &PACE).expect("resolves");
        assert_eq!(alert_id("r1", &fired), alert_id("r1", &resolved));
        assert_ne!(alert_id("r1", &fired), alert_id("r2", &fired));
        let (_, again) = a.observe(k, 5, 0.5, 4_000_000, &PACE).expect("fires");
        assert_ne!(alert_id("r1", &fired), alert_id("r1", &again));
        assert!(alert_id("r1", &fired).starts_with("behind_pace-"));
    }

    #[test]
    fn instant_alerts_expire_and_slots_are_pruned() {
        let mut a = Alerts::default();
        let k = AlertKind::Achievement;
        assert!(a.fire_instant(k, 1, 0, 100, false).is_some());
        assert!(a.fire_instant(k, 1, 50, 100, false).is_none());
        assert!(a.expire(99).is_empty());
        assert_eq!(a.expire(100).len(), 1);
        assert!(
            a.fire_instant(k, 1, 200, 100, false).is_none(),
            "once per scope"
        );
        a.prune(300, 1);
        assert_eq!(a.len(), 1, "the period's achievement is remembered");
        a.prune(300, 2);
        assert!(a.is_empty());
        let mut b = Alerts::default();
        b.fire_instant(AlertKind::OutlierDeal, 1, 0, 100, false);
        b.expire(100);
        b.prune(100, i64::MIN);
        assert!(b.is_empty(), "an expired outlier is forgotten");
    }
}
