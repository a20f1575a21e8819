//! Profile versions inside the engine: a change from the control topic is
//! handed in whole ([`Engine::set_profiles`]), and when stream time reaches
//! a version's `effective_at` every rep is scored again, so each rep's next
//! record shows the new profile even if the rep has no new events.

use salespulse_kpi::ProfileTimeline;

use super::Engine;
use crate::control::Detectors;

impl Engine {
    /// Takes the profile versions of `timeline`, which extends the current
    /// one (the control topic's changes so far). Returns whether a new
    /// version takes effect at or before the stream time already reached:
    /// it arrived after events it covers were applied, so records emitted
    /// since its `effective_at` used the version before it. The live
    /// service's refresh rule prevents that (docs/control-topic.md); every
    /// rep is scored again either way.
    pub fn set_profiles(&mut self, timeline: ProfileTimeline<Detectors>) -> bool {
        let known = self.cfg.profiles.versions().len();
        let late = timeline
            .versions()
            .iter()
            .skip(known)
            .any(|v| v.effective_at <= self.stream_time);
        self.cfg.profiles = timeline;
        if late {
            self.mark_all_dirty();
        }
        late
    }

    /// Scores every rep again at the next flush if stream time moving from
    /// `old` to `t` reached a version's `effective_at`.
    pub(super) fn on_versions(&mut self, old: i64, t: i64) {
        if old != i64::MIN && self.cfg.profiles.changes_in(old, t) {
            self.mark_all_dirty();
        }
    }

    fn mark_all_dirty(&mut self) {
        let mut ids: Vec<Box<str>> = Vec::new();
        for (id, rs) in self.reps.iter_mut() {
            if !rs.dirty {
                rs.dirty = true;
                ids.push(id.clone());
            }
        }
        ids.sort_unstable();
        self.dirty.extend(ids);
    }
}
