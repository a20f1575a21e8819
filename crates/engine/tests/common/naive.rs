//! The naive model: accepted events in a plain list, the documented
//! acceptance rules (docs/windows.md) with its own UTC calendar arithmetic,
//! and sums taken at the end. It shares nothing with the engine's window,
//! period, dedupe or commission code.

use std::collections::BTreeMap;

use salespulse_model::Reason;

use super::stream::{deal_id, micros, Spec, REFUND, STAGE_CHANGED, WON};
use super::{CLAWBACK, CREDIT_KEEP, DAY, GRACE, HORIZON, WINDOWS};

/// The per-event facts the naive model sums.
#[derive(Debug, Clone, Default)]
pub struct Facts {
    pub revenue: i128,
    pub partner_revenue: i128,
    pub pipeline: i128,
    pub invoiced: i128,
    pub collected: i128,
    pub refunds: i128,
    pub won: u64,
    pub lost: u64,
    pub cycle: Option<i64>,
    pub calls: u64,
    pub meetings: u64,
    pub emails: u64,
    pub new_customers: u64,
    pub csat: Option<u64>,
    pub nps: Option<u64>,
    pub partners: u64,
    pub assists: u64,
}

/// An accepted event (or assist credit) and when it arrived.
#[derive(Debug, Clone)]
pub struct Accepted {
    /// Whether it changes a KPI (stage changes do not).
    pub counts: bool,
    pub rep: String,
    pub at: i64,
    pub arrived_at_stream_time: i64,
    pub facts: Facts,
}

/// A won deal booked for commission.
#[derive(Debug, Clone)]
struct Booked {
    rep: String,
    deal: String,
    at: i64,
    month: i64,
    amount: i128,
    clawed: i128,
}

/// What one offered record did, for the coverage counts of the tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    pub result: Result<(), Reason>,
    /// Stream time after the record.
    pub t: i64,
    /// Stream time before it.
    pub before: i64,
}

/// The model's state.
pub struct Naive {
    pub t: i64,
    pub accepted: Vec<Accepted>,
    /// (rep, event id, stream time when the copy was applied).
    seen_ids: Vec<(String, String, i64)>,
    /// (helper, deal event id, time) of every credit counted.
    credited: Vec<(String, String, i64)>,
    open: BTreeMap<(String, String), i64>,
    booked: Vec<Booked>,
}

/// UTC period bounds by plain arithmetic.
pub fn period(kind: &str, t: i64) -> (i64, i64) {
    let day = t.div_euclid(DAY);
    match kind {
        "day" => (day * DAY, (day + 1) * DAY),
        "week" => {
            let monday = day - (day + 3).rem_euclid(7); // 1970-01-01 was a Thursday
            (monday * DAY, (monday + 7) * DAY)
        }
        _ => {
            let (y, m, _) = salespulse_model::time::civil_from_days(day);
            let first = if kind == "month" {
                m
            } else {
                (m - 1) / 3 * 3 + 1
            };
            let len = if kind == "month" { 1 } else { 3 };
            let start = salespulse_model::time::days_from_civil(y, first, 1);
            let (ny, nm) = if first + len > 12 {
                (y + 1, first + len - 12)
            } else {
                (y, first + len)
            };
            (
                start * DAY,
                salespulse_model::time::days_from_civil(ny, nm, 1) * DAY,
            )
        }
    }
}

pub const PERIODS: [&str; 4] = ["day", "week", "month", "quarter"];

impl Default for Naive {
    fn default() -> Self {
        Naive {
            t: i64::MIN,
            accepted: Vec::new(),
            seen_ids: Vec::new(),
            credited: Vec::new(),
            open: BTreeMap::new(),
            booked: Vec::new(),
        }
    }
}

impl Naive {
    /// Whether an event at `e` falls in the widest window or a period still
    /// accepting late events at stream time `t`.
    pub fn kept(e: i64, t: i64) -> bool {
        let (_, w, b) = WINDOWS[3];
        if e.div_euclid(b) > t.div_euclid(b) - w / b {
            return true;
        }
        PERIODS.iter().any(|k| period(k, e).1 + GRACE > t)
    }

    /// Offers the record with event id `id`.
    pub fn offer(&mut self, id: &str, s: &Spec) -> Outcome {
        let before = self.t;
        let result = self.accept(id, s);
        Outcome {
            result,
            t: self.t,
            before,
        }
    }

    fn accept(&mut self, id: &str, s: &Spec) -> Result<(), Reason> {
        let rep = format!("r{}", s.rep);
        let t = self.t.max(s.at);
        if s.at < t && !Self::kept(s.at, t) {
            return Err(Reason::TooLate);
        }
        self.t = t;
        // A re-send is judged by when its first copy arrived, not by its occurred_at.
        if self
            .seen_ids
            .iter()
            .any(|(r, i, arrived)| *r == rep && i == id && *arrived > t - HORIZON)
        {
            return Err(Reason::Duplicate);
        }
        self.seen_ids.push((rep.clone(), id.to_string(), t));
        let f = self.facts(id, s, &rep, t);
        self.accepted.push(Accepted {
            counts: s.kind != STAGE_CHANGED,
            rep,
            at: s.at,
            arrived_at_stream_time: t,
            facts: f,
        });
        Ok(())
    }

    fn facts(&mut self, id: &str, s: &Spec, rep: &str, t: i64) -> Facts {
        let deal = deal_id(s);
        let mut f = Facts::default();
        let m = micros(s);
        match s.kind {
            0 => {
                f.pipeline = m;
                self.open.insert((rep.to_string(), deal), s.at);
            }
            WON => {
                f.revenue = m;
                f.won = 1;
                if s.small.is_multiple_of(2) {
                    f.partner_revenue = m;
                }
                f.new_customers = u64::from(s.flag);
                let created = self
                    .open
                    .remove(&(rep.to_string(), deal.clone()))
                    .or(s.flag.then(|| s.at - i64::from(s.small) * DAY - 7));
                f.cycle = created.filter(|c| *c <= s.at).map(|c| (s.at - c) / 1000);
                self.credit(id, s, t);
                self.book(rep, deal, s.at, m, t);
            }
            2 => {
                f.lost = 1;
                self.open.remove(&(rep.to_string(), deal));
            }
            3 => f.calls = 1,
            4 => f.meetings = 1,
            5 => f.emails = 1,
            6 => f.invoiced = m,
            7 => f.collected = m,
            REFUND => {
                f.refunds = m;
                self.claw(rep, &deal, s.at, m);
            }
            9 => {
                f.csat = Some(u64::from(s.small % 5 + 1));
                f.nps = Some(u64::from(s.small));
            }
            10 => f.partners = 1,
            _ => {}
        }
        f
    }

    /// A credit counts once per (helper, deal event) while its time could
    /// still be accepted, even when the deal itself is re-sent after the
    /// event dedupe horizon.
    fn credit(&mut self, id: &str, s: &Spec, t: i64) {
        let helper = format!("r{}", (s.rep + 1) % 3);
        let again = self
            .credited
            .iter()
            .any(|(h, i, at)| *h == helper && i == id && *at > t - CREDIT_KEEP);
        if again {
            return;
        }
        self.credited.push((helper.clone(), id.to_string(), s.at));
        self.accepted.push(Accepted {
            counts: true,
            rep: helper,
            at: s.at,
            arrived_at_stream_time: t,
            facts: Facts {
                assists: 1,
                ..Facts::default()
            },
        });
    }

    /// A win is booked in its month's statement while that month still
    /// accepts late events (as its KPIs are).
    fn book(&mut self, rep: &str, deal: String, at: i64, amount: i128, t: i64) {
        let (month, end) = period("month", at);
        if end + GRACE <= t {
            return;
        }
        self.booked.push(Booked {
            rep: rep.to_string(),
            deal,
            at,
            month,
            amount,
            clawed: 0,
        });
    }

    /// A refund within the clawback window of the latest booked win of its
    /// deal (by win time, at or before the refund) takes back up to what is
    /// left of the deal's amount.
    fn claw(&mut self, rep: &str, deal: &str, at: i64, amount: i128) {
        let mut best: Option<usize> = None;
        for (i, b) in self.booked.iter().enumerate() {
            if b.rep == rep && b.deal == deal && b.at <= at && at - b.at < CLAWBACK {
                // Later wins first; of equal times, the one booked last.
                if best.is_none_or(|j| self.booked[j].at <= b.at) {
                    best = Some(i);
                }
            }
        }
        if let Some(i) = best {
            let b = &mut self.booked[i];
            let take = amount.min(b.amount - b.clawed);
            if take > 0 {
                b.clawed += take;
            }
        }
    }

    /// The rep's statement of the month starting at `month`: (gross, clawed) in micros.
    pub fn statement(&self, rep: &str, month: i64) -> (i128, i128) {
        self.booked
            .iter()
            .filter(|b| b.rep == rep && b.month == month)
            .fold((0, 0), |(g, c), b| (g + b.amount, c + b.clawed))
    }
}

/// Tiered commission on a net amount (micros), in micros: 5% up to the
/// target, 8% above it.
pub fn commission(net: i128) -> f64 {
    let target = (super::TARGET * 1_000_000) as f64;
    let net = net as f64;
    if net <= target {
        0.05 * net
    } else {
        0.05 * target + 0.08 * (net - target)
    }
}

/// Money as the output contract writes it: rounded once, half-even, from
/// exact micro-units to cents.
pub fn money_per(m: i128, n: i128) -> f64 {
    let den = 10_000 * n;
    let (q, r) = (m.div_euclid(den), m.rem_euclid(den));
    let q = if 2 * r > den || (2 * r == den && q % 2 != 0) {
        q + 1
    } else {
        q
    };
    q as f64 / 100.0
}

/// Naive KPI values of a set of events, as the output contract formats them.
pub fn kpis<'a>(events: impl Iterator<Item = &'a Facts>) -> BTreeMap<&'static str, Option<f64>> {
    let evs: Vec<&Facts> = events.collect();
    let sum = |f: &dyn Fn(&Facts) -> i128| evs.iter().map(|e| f(e)).sum::<i128>();
    let cnt = |f: &dyn Fn(&Facts) -> u64| evs.iter().map(|e| f(e)).sum::<u64>() as f64;
    let money = |m: i128| Some(money_per(m, 1));
    let ratio = |n: f64, d: f64| {
        if d == 0.0 {
            None
        } else {
            Some(((n / d) * 1e6).round() / 1e6)
        }
    };
    let (won, lost) = (cnt(&|e| e.won), cnt(&|e| e.lost));
    let revenue = sum(&|e| e.revenue);
    let cycles: Vec<i64> = evs.iter().filter_map(|e| e.cycle).collect();
    let csats: Vec<u64> = evs.iter().filter_map(|e| e.csat).collect();
    let npss: Vec<u64> = evs.iter().filter_map(|e| e.nps).collect();
    let mut m = BTreeMap::new();
    m.insert("revenue", money(revenue));
    m.insert("deals_won", Some(won));
    m.insert("deals_lost", Some(lost));
    m.insert("win_rate", ratio(won, won + lost));
    m.insert(
        "avg_deal_size",
        (won != 0.0).then(|| money_per(revenue, won as i128)),
    );
    m.insert(
        "sales_cycle_days",
        ratio(
            cycles.iter().sum::<i64>() as f64 / 86_400.0,
            cycles.len() as f64,
        ),
    );
    m.insert("pipeline_created", money(sum(&|e| e.pipeline)));
    let (calls, meetings, emails) = (cnt(&|e| e.calls), cnt(&|e| e.meetings), cnt(&|e| e.emails));
    m.insert("calls", Some(calls));
    m.insert("meetings", Some(meetings));
    m.insert("emails", Some(emails));
    m.insert("activities", Some(calls + meetings + emails));
    m.insert("meetings_per_call", ratio(meetings, calls));
    m.insert("new_customers", Some(cnt(&|e| e.new_customers)));
    let (inv, col) = (sum(&|e| e.invoiced), sum(&|e| e.collected));
    m.insert("invoiced", money(inv));
    m.insert("collected", money(col));
    m.insert("collection_rate", ratio(col as f64, inv as f64));
    let refunds = sum(&|e| e.refunds);
    m.insert("refunds", money(refunds));
    m.insert("net_revenue", money(revenue - refunds));
    m.insert(
        "csat",
        ratio(csats.iter().sum::<u64>() as f64, csats.len() as f64),
    );
    let prom = npss.iter().filter(|n| **n >= 9).count() as f64;
    let detr = npss.iter().filter(|n| **n <= 6).count() as f64;
    m.insert("nps", ratio(100.0 * (prom - detr), npss.len() as f64));
    m.insert("partners_onboarded", Some(cnt(&|e| e.partners)));
    m.insert("partner_revenue", money(sum(&|e| e.partner_revenue)));
    m.insert("assists", Some(cnt(&|e| e.assists)));
    m
}
