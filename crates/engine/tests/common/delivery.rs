//! Arrival patterns of real connectors. A [`Scenario`] is a set of events
//! (what happened, by `occurred_at`) and the order in which a consumer
//! receives them, built the way at-least-once pipelines deliver:
//!
//! - every source has its own delay, so sources run late against each other;
//! - a source goes down for hours or a weekend, then sends its backlog in a burst;
//! - a whole day is backfilled after later days were delivered;
//! - a record is retried seconds, minutes, hours or more than the dedupe
//!   horizon after its first copy, late records included;
//! - stragglers arrive right around their period's `end + period_grace`;
//! - records older than everything kept arrive among current ones.
//!
//! Outages are anchored near period ends (Friday evening, the end of March:
//! month and quarter, the end of April) so catch-ups cross boundaries.

use proptest::prelude::*;

use super::stream::{snapped, Spec, KINDS};
use super::{BASE, DAY, GRACE, HORIZON, HOUR, MIN};

/// How a delivery came to be where it is in the arrival order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pattern {
    /// On time, after its source's usual delay.
    Steady,
    /// Held by its source's outage and sent in the catch-up burst.
    Burst,
    /// Part of a day backfilled after later days.
    Backfill,
    /// Arrives around a period's `end + period_grace`.
    Straggler,
    /// Older than the widest window at arrival.
    Ancient,
}

/// One delivery: the event's index, how it got here, and which copy it is (0: the first).
#[derive(Debug, Clone, Copy)]
pub struct Arrival {
    pub event: usize,
    pub pattern: Pattern,
    pub copy: u8,
}

/// Events and the order they arrive in.
#[derive(Debug, Clone)]
pub struct Scenario {
    pub events: Vec<Spec>,
    pub arrivals: Vec<Arrival>,
}

impl Scenario {
    /// The deliveries as the checker takes them: event id `e{index}` and the event.
    pub fn deliveries(&self) -> Vec<(usize, &Spec)> {
        self.arrivals
            .iter()
            .map(|a| (a.event, &self.events[a.event]))
            .collect()
    }
}

/// The knobs of one scenario; the details come from `seed`.
#[derive(Debug, Clone)]
pub struct Knobs {
    seed: u64,
    /// Per source: delay class (0 none, 1 seconds, 2 minutes, 3 hours, 4 half a day).
    delays: [u8; SOURCES],
    /// (source or all, anchor, length class).
    outages: Vec<(Option<usize>, u8, u8)>,
    /// (day after BASE, days later it arrives).
    backfill: Option<(i64, i64)>,
    /// Share of events that straggle, in percent.
    stragglers: u8,
    /// Events older than every window, mixed in.
    ancient: usize,
    /// Share of deliveries retried, in percent.
    retries: u8,
}

const SOURCES: usize = 7;

/// CRM, telephony, calendar, email, billing, surveys, partner portal.
fn source(kind: usize) -> usize {
    match kind {
        3 => 1,
        4 => 2,
        5 => 3,
        6..=8 => 4,
        9 => 5,
        10 => 6,
        _ => 0,
    }
}

/// splitmix64: the scenario's details from its seed, so shrinking the
/// events keeps the pattern.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: i64) -> i64 {
        (self.next() % n.max(1) as u64) as i64
    }

    fn percent(&mut self, p: u8) -> bool {
        self.below(100) < i64::from(p)
    }
}

fn knobs() -> impl Strategy<Value = Knobs> {
    (
        any::<u64>(),
        prop::array::uniform7(0u8..5),
        prop::collection::vec((prop::option::of(0usize..SOURCES), 0u8..5, 0u8..4), 0..4),
        prop::option::weighted(0.5, (0i64..40, 2i64..7)),
        0u8..12,
        0usize..6,
        0u8..30,
    )
        .prop_map(
            |(seed, delays, outages, backfill, stragglers, ancient, retries)| Knobs {
                seed,
                delays,
                outages,
                backfill,
                stragglers,
                ancient,
                retries,
            },
        )
}

/// Random scenarios of `events` events (plus the ancient ones).
pub fn scenario(events: std::ops::Range<usize>) -> impl Strategy<Value = Scenario> {
    (
        prop::collection::vec(super::stream::spec(), events),
        knobs(),
    )
        .prop_map(|(events, k)| build(events, &k))
}

fn delay(rng: &mut Rng, class: u8) -> i64 {
    match class {
        0 => 0,
        1 => rng.below(60_000),
        2 => rng.below(10 * MIN),
        3 => rng.below(3 * HOUR),
        _ => rng.below(12 * HOUR),
    }
}

/// Outage start: Friday 18:00 before the end of March, just before the
/// end of March (a month and a quarter), just before the end of April,
/// or anywhere.
fn outage(rng: &mut Rng, anchor: u8, len: u8) -> (i64, i64) {
    const FRIDAY_EVENING: i64 = BASE + 7 * DAY + 18 * HOUR; // 2026-03-27 18:00
    const END_OF_MARCH: i64 = BASE + 12 * DAY;
    const END_OF_APRIL: i64 = BASE + 42 * DAY;
    let start = match anchor {
        0 => FRIDAY_EVENING,
        1 => END_OF_MARCH - rng.below(DAY),
        2 => END_OF_APRIL - rng.below(DAY),
        _ => BASE + rng.below(44 * DAY),
    };
    let len = match len {
        0 => HOUR + rng.below(5 * HOUR),
        1 => 62 * HOUR, // a weekend: Friday 18:00 to Monday 08:00
        2 => DAY + rng.below(3 * DAY),
        _ => rng.below(HOUR),
    };
    (start, start + len)
}

fn build(mut events: Vec<Spec>, k: &Knobs) -> Scenario {
    let mut rng = Rng(k.seed);
    for _ in 0..k.ancient {
        let mut s = events.first().cloned().unwrap_or(Spec {
            rep: 0,
            kind: 3,
            at: BASE,
            cents: 100,
            eur: false,
            deal: 0,
            flag: false,
            small: 0,
            dup_of: None,
        });
        s.kind = rng.below(KINDS as i64) as usize;
        s.at = BASE - 20 * DAY - snapped(rng.below(6), rng.below(80 * DAY));
        events.push(s);
    }
    let outages: Vec<(Option<usize>, (i64, i64))> = k
        .outages
        .iter()
        .map(|&(src, anchor, len)| (src, outage(&mut rng, anchor, len)))
        .collect();
    // (arrival time, creation order, arrival)
    let mut timed: Vec<(i64, usize, Arrival)> = Vec::new();
    for (i, s) in events.iter().enumerate() {
        let src = source(s.kind);
        let mut pattern = Pattern::Steady;
        let mut at = s.at + delay(&mut rng, k.delays[src]);
        if s.at < BASE {
            // Arrives somewhere in the stream, however old it is.
            pattern = Pattern::Ancient;
            at = BASE + rng.below(45 * DAY);
        } else if rng.percent(k.stragglers) {
            pattern = Pattern::Straggler;
            let kind = ["day", "week", "month", "quarter"][rng.below(4) as usize];
            let end = super::naive::period(kind, s.at).1;
            at = end + GRACE - 4 * HOUR + rng.below(8 * HOUR);
        } else if let Some((day, lag)) = k
            .backfill
            .filter(|(d, _)| (s.at - BASE).div_euclid(DAY) == *d)
        {
            pattern = Pattern::Backfill;
            let day_start = BASE + day * DAY;
            at = day_start + lag * DAY + (s.at - day_start) / 100;
        }
        for &(only, (start, end)) in &outages {
            if only.is_none_or(|o| o == src) && (start..end).contains(&at) {
                // The backlog goes out in order, compressed into a burst after the outage.
                pattern = Pattern::Burst;
                at = end + (at - start) / 1000;
            }
        }
        timed.push((
            at,
            timed.len(),
            Arrival {
                event: i,
                pattern,
                copy: 0,
            },
        ));
    }
    let firsts = timed.len();
    for j in 0..firsts {
        let (at, _, a) = timed[j];
        let mut copy = 0;
        let mut when = at;
        while copy < 2 && rng.percent(k.retries) {
            copy += 1;
            when += match rng.below(5) {
                0 => 1 + rng.below(60_000),
                1 => MIN + rng.below(30 * MIN),
                2 => HOUR + rng.below(6 * HOUR),
                3 => HORIZON - HOUR + rng.below(2 * HOUR),
                _ => HORIZON + rng.below(HORIZON),
            };
            timed.push((when, timed.len(), Arrival { copy, ..a }));
        }
    }
    timed.sort_by_key(|&(at, order, _)| (at, order));
    Scenario {
        events,
        arrivals: timed.into_iter().map(|(_, _, a)| a).collect(),
    }
}
