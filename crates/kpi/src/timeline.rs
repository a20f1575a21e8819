//! Profile versions over event time: the profiles a score, a statement or a
//! coaching judgement uses are those in effect at the event time it is made
//! for. The first version (the configuration the service started with) is in
//! effect from the beginning of time; every later one from its
//! `effective_at`. Changes arrive in order (the control topic has one
//! partition), so every instance and every replay builds the same timeline.
//! A version may carry more settings than the profiles (`X`, the engine's
//! detector settings); a version differs from the one before when either
//! does.

use std::sync::Arc;

use crate::profile::{Profiles, RoleProfile};

/// One version of every role's profile, in effect from `effective_at` (ms).
#[derive(Debug, Clone, PartialEq)]
pub struct ProfileVersion<X = ()> {
    /// Event time from which it applies (`i64::MIN` for the starting one).
    pub effective_at: i64,
    /// The profiles.
    pub profiles: Arc<Profiles>,
    /// The other versioned settings.
    pub extra: Arc<X>,
}

/// Why a new version was not added.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TimelineError {
    /// Versions must move forward in event time.
    #[error("effective_at {effective_at} ms is not after the latest version's {latest} ms; changes cannot be back-dated (use `salespulse replay --compare` to judge history under other profiles)")]
    NotAfterLatest {
        /// The new version's effective_at.
        effective_at: i64,
        /// The latest version's.
        latest: i64,
    },
    /// A role changed without a higher version number.
    #[error("profiles.{role}: the profile changed but its version {version} is not above the current {current}; raise profiles.{role}.version")]
    VersionNotRaised {
        /// Role.
        role: String,
        /// The new version number.
        version: u32,
        /// The one in effect.
        current: u32,
    },
}

/// What adding a version did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Added {
    /// A new version, in effect from its `effective_at`.
    New,
    /// The same profiles and settings as the latest version: nothing
    /// changes (several instances reloading the same files publish the
    /// same change).
    Unchanged,
}

/// Profile versions in event-time order.
#[derive(Debug, Clone, PartialEq)]
pub struct ProfileTimeline<X = ()> {
    versions: Vec<ProfileVersion<X>>,
}

impl<X: PartialEq> ProfileTimeline<X> {
    /// A timeline whose only version is in effect from the beginning of time.
    pub fn new(initial: Profiles, extra: X) -> Self {
        ProfileTimeline {
            versions: vec![ProfileVersion {
                effective_at: i64::MIN,
                profiles: Arc::new(initial),
                extra: Arc::new(extra),
            }],
        }
    }

    fn version_at(&self, t: i64) -> &ProfileVersion<X> {
        let i = self.versions.partition_point(|v| v.effective_at <= t);
        &self.versions[i.saturating_sub(1)]
    }

    /// The profiles in effect at event time `t`.
    pub fn at(&self, t: i64) -> &Profiles {
        &self.version_at(t).profiles
    }

    /// The other settings in effect at event time `t`.
    pub fn extra_at(&self, t: i64) -> &X {
        &self.version_at(t).extra
    }

    /// Shorthand: the profile of `role` in effect at `t`.
    pub fn for_role(&self, t: i64, role: Option<&str>) -> &RoleProfile {
        self.at(t).for_role(role)
    }

    /// The latest version.
    pub fn latest(&self) -> &ProfileVersion<X> {
        self.versions
            .last()
            .expect("a timeline always holds its starting version")
    }

    /// Every version, oldest first.
    pub fn versions(&self) -> &[ProfileVersion<X>] {
        &self.versions
    }

    /// Whether a version takes effect in `(from, to]`.
    pub fn changes_in(&self, from: i64, to: i64) -> bool {
        self.versions
            .iter()
            .any(|v| v.effective_at > from && v.effective_at <= to)
    }

    /// Checks that `profiles` and `extra` may follow the latest version
    /// from `effective_at`: later in event time, and every changed role
    /// with a higher version number. Adds nothing.
    pub fn check(
        &self,
        effective_at: i64,
        profiles: &Profiles,
        extra: &X,
    ) -> Result<Added, TimelineError> {
        let latest = self.latest();
        if *latest.profiles == *profiles && *latest.extra == *extra {
            return Ok(Added::Unchanged);
        }
        if effective_at <= latest.effective_at {
            return Err(TimelineError::NotAfterLatest {
                effective_at,
                latest: latest.effective_at,
            });
        }
        for p in profiles.roles() {
            let Some(current) = latest.profiles.role(&p.name) else {
                continue; // a new role starts at any version
            };
            if current != p && p.version <= current.version {
                return Err(TimelineError::VersionNotRaised {
                    role: p.name.clone(),
                    version: p.version,
                    current: current.version,
                });
            }
        }
        Ok(Added::New)
    }

    /// Adds `profiles` and `extra` from `effective_at` after [`check`](Self::check).
    pub fn add(
        &mut self,
        effective_at: i64,
        profiles: Profiles,
        extra: X,
    ) -> Result<Added, TimelineError> {
        let added = self.check(effective_at, &profiles, &extra)?;
        if added == Added::New {
            self.versions.push(ProfileVersion {
                effective_at,
                profiles: Arc::new(profiles),
                extra: Arc::new(extra),
            });
        }
        Ok(added)
    }
}
