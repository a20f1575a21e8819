//! The simulated company: reps, their daily behaviour, and what follows each event.

use chrono::NaiveDate;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, LogNormal, Poisson};

use crate::wire::{cents_text, rfc3339, DealPlan, WireEvent};

const HOUR: i64 = 3_600_000;
const DAY: i64 = 24 * HOUR;

/// A rep's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Field seller.
    Direct,
    /// Partner manager.
    Channel,
    /// Inside sales (phone-heavy, small deals).
    Inside,
}

impl Role {
    /// Role name as in the profiles.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Direct => "direct",
            Role::Channel => "channel",
            Role::Inside => "inside",
        }
    }
}

/// One simulated rep.
#[derive(Debug, Clone)]
pub struct Rep {
    /// Id.
    pub id: String,
    /// Role.
    pub role: Role,
    /// Team.
    pub team: String,
    /// Region.
    pub region: &'static str,
    /// Multiplier on activity and win rate (median 1).
    pub skill: f64,
    /// UTC hour the working day starts.
    pub first_hour: i64,
    /// First working day (new hires start later), epoch millis.
    pub start_ms: i64,
    /// Personal revenue target for the month, if a stretch goal was set.
    pub stretch: Option<u64>,
}

/// All reps.
#[derive(Debug, Clone)]
pub struct Company {
    /// Reps by index.
    pub reps: Vec<Rep>,
    /// Team of each rep, as indices into `reps`.
    teams: Vec<Vec<usize>>,
    team_of: Vec<usize>,
}

const TEAM_SIZE: usize = 8;
const REGIONS: [(&str, i64); 3] = [("emea", 8), ("amer", 14), ("apac", 1)];

impl Company {
    /// A company of `n` reps.
    pub fn new(n: usize, rng: &mut ChaCha8Rng, start: NaiveDate) -> Self {
        let start_ms = start
            .and_hms_opt(0, 0, 0)
            .unwrap_or_default()
            .and_utc()
            .timestamp_millis();
        let skill = LogNormal::new(0.0, 0.35).expect("valid lognormal");
        let mut reps = Vec::with_capacity(n);
        let mut teams: Vec<Vec<usize>> = Vec::new();
        let mut team_of = Vec::with_capacity(n);
        for i in 0..n {
            let t = i / TEAM_SIZE;
            if teams.len() <= t {
                teams.push(Vec::new());
            }
            teams[t].push(i);
            team_of.push(t);
            // Teams are single-role, as sales orgs usually are: 6 direct, 2 channel, 2 inside in 10.
            let role = match t % 10 {
                0..=5 => Role::Direct,
                6 | 7 => Role::Channel,
                _ => Role::Inside,
            };
            let (region, first_hour) = REGIONS[t % REGIONS.len()];
            let new_hire = rng.gen_bool(0.05);
            let stretch = rng
                .gen_bool(0.1)
                .then(|| default_month_revenue(role) * 6 / 5);
            reps.push(Rep {
                id: format!("rep-{:05}", i + 1),
                role,
                team: format!("team-{:03}", t + 1),
                region,
                skill: skill.sample(rng),
                first_hour,
                start_ms: if new_hire {
                    start_ms + rng.gen_range(1..20) * DAY
                } else {
                    start_ms - 400 * DAY
                },
                stretch,
            });
        }
        Company {
            reps,
            teams,
            team_of,
        }
    }

    fn teammate(&self, i: usize, rng: &mut ChaCha8Rng) -> Option<usize> {
        let team = &self.teams[self.team_of[i]];
        if team.len() < 2 {
            return None;
        }
        let j = team[rng.gen_range(0..team.len())];
        (j != i).then_some(j)
    }
}

/// The monthly revenue a typical rep of the role books (used for stretch goals and the default profiles).
pub fn default_month_revenue(role: Role) -> u64 {
    match role {
        Role::Direct => 40_000,
        Role::Channel => 38_000,
        Role::Inside => 20_000,
    }
}

impl Rep {
    /// The `rep.updated` directory record.
    pub fn directory_event(&self, at: i64) -> WireEvent {
        let mut ev = self.event("rep.updated", at, "hr");
        ev.role = Some(self.role.as_str());
        ev.manager_id = Some(format!("mgr-{}", self.team));
        let start = chrono::DateTime::from_timestamp_millis(self.start_ms.max(0))
            .map(|d| d.format("%Y-%m-%d").to_string());
        ev.start_date = start;
        if let Some(s) = self.stretch {
            let mut kpis = std::collections::BTreeMap::new();
            let kpi = if self.role == Role::Channel {
                "partner_revenue"
            } else {
                "revenue"
            };
            kpis.insert(kpi, std::iter::once(("month", s)).collect());
            ev.targets = Some(kpis);
        }
        ev
    }

    fn event(&self, kind: &'static str, at: i64, source: &'static str) -> WireEvent {
        WireEvent {
            event_type: kind,
            occurred_at: rfc3339(at),
            rep_id: self.id.clone(),
            team_id: Some(self.team.clone()),
            region: Some(self.region.to_string()),
            source,
            ..WireEvent::default()
        }
    }

    fn working_time(&self, day_start: i64, rng: &mut ChaCha8Rng) -> i64 {
        day_start + self.first_hour * HOUR + rng.gen_range(0..9 * HOUR) / 1000 * 1000
    }
}

/// Mean calls, emails, meetings, new deals and partners per working day of a median rep.
fn day_means(role: Role) -> (f64, f64, f64, f64, f64) {
    match role {
        Role::Direct => (10.0, 14.0, 2.5, 0.6, 0.0),
        Role::Channel => (5.0, 12.0, 2.0, 0.45, 0.12),
        Role::Inside => (28.0, 18.0, 0.8, 1.3, 0.0),
    }
}

/// Mean activities (calls, emails, meetings) per working day of a median rep of `role`.
pub fn daily_activity(role: Role) -> f64 {
    let (c, e, m, _, _) = day_means(role);
    c + e + m
}

fn poisson(mean: f64, rng: &mut ChaCha8Rng) -> u64 {
    if mean <= 0.0 {
        return 0;
    }
    Poisson::new(mean).map_or(0, |p| p.sample(rng) as u64)
}

/// One working day of rep `i`: activities and new deals.
pub fn rep_day(
    c: &Company,
    i: usize,
    day_start: i64,
    weekday: f64,
    month_end: bool,
    rng: &mut ChaCha8Rng,
    out: &mut Vec<(i64, WireEvent)>,
) {
    let rep = &c.reps[i];
    if day_start + DAY <= rep.start_ms {
        return;
    }
    let (calls, emails, meetings, deals, partners) = day_means(rep.role);
    let f = rep.skill.sqrt() * weekday;
    for (kind, mean) in [
        ("activity.call", calls),
        ("activity.email", emails),
        ("activity.meeting", meetings),
    ] {
        for _ in 0..poisson(mean * f, rng) {
            let at = rep.working_time(day_start, rng);
            let mut ev = rep.event(
                kind,
                at,
                if kind == "activity.email" {
                    "email"
                } else {
                    "telephony"
                },
            );
            if kind != "activity.email" {
                ev.duration_s = Some(rng.gen_range(60..3600));
                ev.outcome = Some(["connected", "voicemail", "no_answer"][rng.gen_range(0..3)]);
            }
            ev.customer_id = Some(format!("cust-{}-{}", i, rng.gen_range(0..60)));
            out.push((at, ev));
        }
    }
    let push = if month_end { 1.3 } else { 1.0 };
    for _ in 0..poisson(deals * f * push, rng) {
        let at = rep.working_time(day_start, rng);
        out.push((at, new_deal(c, i, at, rng)));
    }
    for _ in 0..poisson(partners, rng) {
        let at = rep.working_time(day_start, rng);
        let mut ev = rep.event("partner.onboarded", at, "prm");
        ev.partner_id = Some(format!("partner-{}-{}", i, rng.gen_range(0..1_000_000)));
        out.push((at, ev));
    }
}

fn new_deal(c: &Company, i: usize, at: i64, rng: &mut ChaCha8Rng) -> WireEvent {
    let rep = &c.reps[i];
    let (median, win, cycle_days) = match rep.role {
        Role::Direct => (9_000.0, 0.32, 18.0),
        Role::Channel => (14_000.0, 0.28, 26.0),
        Role::Inside => (1_800.0, 0.36, 6.0),
    };
    let amount = LogNormal::new(f64::ln(median), 0.6).map_or(median, |d| d.sample(rng));
    let cycle = LogNormal::new(f64::ln(cycle_days), 0.5).map_or(cycle_days, |d| d.sample(rng));
    let mut ev = rep.event("deal.created", at, "crm");
    ev.deal_id = Some(format!("deal-{}-{}", i, rng.gen::<u32>()));
    let (currency, rate) = match rng.gen_range(0..100) {
        0..=79 => ("USD", 1.0),
        80..=94 => ("EUR", 1.0 / 1.08),
        _ => ("GBP", 1.0 / 1.27),
    };
    ev.currency = Some(currency);
    ev.amount = Some(cents_text((amount * rate * 100.0).round() as i64));
    let new_customer = rng.gen_bool(0.4);
    ev.customer_id = Some(format!(
        "cust-{}-{}",
        i,
        if new_customer {
            rng.gen_range(1000..1_000_000)
        } else {
            rng.gen_range(0..60)
        }
    ));
    let partner = match rep.role {
        Role::Channel => rng.gen_bool(0.85),
        _ => rng.gen_bool(0.05),
    };
    ev.channel = Some(if partner { "partner" } else { "direct" });
    if partner {
        ev.partner_id = Some(format!("partner-{}", rng.gen_range(0..50)));
    }
    ev.rep_index = i;
    ev.plan = Some(DealPlan {
        won: rng.gen_bool((win * rep.skill.sqrt()).clamp(0.05, 0.8)),
        cycle_ms: (cycle * DAY as f64) as i64 / 1000 * 1000,
        assist: if rng.gen_bool(0.15) {
            c.teammate(i, rng)
        } else {
            None
        },
        new_customer,
    });
    ev
}

/// Events that follow `ev` (stage changes and the close of a created deal;
/// invoice, feedback and refund after a win; payment after an invoice).
pub fn follow_ups(
    c: &Company,
    ev: &WireEvent,
    at: i64,
    rng: &mut ChaCha8Rng,
) -> Vec<(i64, WireEvent)> {
    let rep = &c.reps[ev.rep_index];
    let mut out = Vec::new();
    let derive = |kind: &'static str, when: i64, source: &'static str| {
        let mut f = rep.event(kind, when, source);
        f.rep_index = ev.rep_index;
        f.deal_id.clone_from(&ev.deal_id);
        f.customer_id.clone_from(&ev.customer_id);
        f
    };
    match (ev.event_type, &ev.plan) {
        ("deal.created", Some(plan)) => {
            for (n, stage) in ["qualified", "proposal", "negotiation"].iter().enumerate() {
                let when = at + plan.cycle_ms * (n as i64 + 1) / 4;
                let mut s = derive("deal.stage_changed", when, "crm");
                s.stage = Some(stage);
                out.push((when, s));
            }
            let when = at + plan.cycle_ms;
            if plan.won {
                let mut w = derive("deal.won", when, "crm");
                w.amount.clone_from(&ev.amount);
                w.currency = ev.currency;
                w.channel = ev.channel;
                w.partner_id.clone_from(&ev.partner_id);
                w.new_customer = Some(plan.new_customer);
                if rng.gen_bool(0.5) {
                    w.created_at = Some(rfc3339(at));
                }
                if let Some(a) = plan.assist {
                    w.assist_rep_ids = vec![c.reps[a].id.clone()];
                }
                out.push((when, w));
            } else {
                let mut l = derive("deal.lost", when, "crm");
                l.reason =
                    Some(["price", "competitor", "no_decision", "timing"][rng.gen_range(0..4)]);
                out.push((when, l));
            }
        }
        ("deal.won", _) => {
            let when = at + rng.gen_range(1..4) * DAY;
            let mut inv = derive("invoice.issued", when, "billing");
            inv.invoice_id = ev.deal_id.as_ref().map(|d| format!("inv-{d}"));
            inv.amount.clone_from(&ev.amount);
            inv.currency = ev.currency;
            inv.deal_id = None;
            out.push((when, inv));
            if rng.gen_bool(0.4) {
                let when = at + rng.gen_range(3..11) * DAY;
                let mut fb = derive("feedback.received", when, "survey");
                fb.deal_id = None;
                let good = rep.skill > 1.0;
                fb.csat = Some(if good {
                    rng.gen_range(3..=5)
                } else {
                    rng.gen_range(1..=5)
                });
                if rng.gen_bool(0.6) {
                    fb.nps = Some(if good {
                        rng.gen_range(5..=10)
                    } else {
                        rng.gen_range(0..=10)
                    });
                }
                out.push((when, fb));
            }
            if rng.gen_bool(0.03) {
                let when = at + rng.gen_range(5..60) * DAY;
                let mut r = derive("refund.issued", when, "billing");
                r.customer_id = None;
                r.currency = ev.currency;
                let cents = ev.amount.as_deref().and_then(amount_cents).unwrap_or(0);
                r.amount = Some(cents_text(if rng.gen_bool(0.5) {
                    cents
                } else {
                    cents / 2
                }));
                out.push((when, r));
            }
        }
        ("invoice.issued", _) if rng.gen_bool(0.92) => {
            let when = at + rng.gen_range(10..40) * DAY;
            let mut p = derive("payment.received", when, "billing");
            p.invoice_id.clone_from(&ev.invoice_id);
            p.customer_id = None;
            p.deal_id = None;
            p.amount.clone_from(&ev.amount);
            p.currency = ev.currency;
            out.push((when, p));
        }
        _ => {}
    }
    out
}

fn amount_cents(s: &str) -> Option<i64> {
    let (a, b) = s.split_once('.')?;
    Some(a.parse::<i64>().ok()? * 100 + b.parse::<i64>().ok()?)
}
