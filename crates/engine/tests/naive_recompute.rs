//! Every KPI, for every rolling window, current period and closed-period
//! summary, checked against a naive recompute from the raw event list on
//! random streams with out-of-order, duplicate and late events, many of them
//! exactly on bucket and period boundaries.
//!
//! The naive side shares nothing with the engine's window code: it keeps the
//! accepted events in a plain list, applies the documented acceptance rules
//! with its own UTC calendar arithmetic, and filters and sums at the end.

use std::collections::BTreeMap;

use proptest::prelude::*;
use salespulse_engine::{Engine, EngineConfig, Settings};
use salespulse_model::record::{Num, RecordKind, ScoreRecord};
use salespulse_model::{Reason, Timestamp};

const MIN: i64 = 60_000;
const HOUR: i64 = 60 * MIN;
const DAY: i64 = 24 * HOUR;
const GRACE: i64 = 2 * DAY;
const HORIZON: i64 = DAY;
/// How long an assist credit's id is remembered: a quarter (longer than the
/// widest window) plus the grace.
const CREDIT_KEEP: i64 = 93 * DAY + GRACE;
/// 2026-03-20T00:00:00Z: streams cross the end of March (month and quarter).
const BASE: i64 = 1_773_964_800_000;
const WINDOWS: [(&str, i64, i64); 4] = [
    ("1h", HOUR, MIN),
    ("24h", DAY, 15 * MIN),
    ("7d", 7 * DAY, HOUR),
    ("30d", 30 * DAY, 6 * HOUR),
];

fn engine() -> Engine {
    let mut s: Settings = serde_json::from_str(
        r#"{"profiles": {"direct": {"components": [{"kpi": "revenue", "window": "month", "target": 1000, "weight": 1}]}}}"#,
    )
    .unwrap();
    s.currency.rates.insert("EUR".into(), "1.08".into());
    Engine::new(EngineConfig::new(&s).unwrap())
}

/// One generated event before it becomes a JSON line.
#[derive(Debug, Clone)]
struct Spec {
    rep: usize,
    kind: usize,
    at: i64,
    cents: i64,
    eur: bool,
    deal: u8,
    flag: bool,
    small: u8,
    dup_of: Option<usize>,
}

fn spec() -> impl Strategy<Value = Spec> {
    (
        0usize..3,
        0usize..12,
        0i64..6,
        0i64..45 * DAY,
        1i64..5_000_000,
        any::<bool>(),
        0u8..6,
        any::<bool>(),
        0u8..11,
        prop::option::weighted(0.1, 1usize..8),
    )
        .prop_map(
            |(rep, kind, snap, raw, cents, eur, deal, flag, small, dup_of)| {
                // Snap most times onto boundaries where off-by-one errors live.
                let at = match snap {
                    0 => raw / MIN * MIN,
                    1 => raw / (15 * MIN) * 15 * MIN,
                    2 => raw / (6 * HOUR) * 6 * HOUR,
                    3 => raw / DAY * DAY,
                    4 => raw / DAY * DAY - 1,
                    _ => raw,
                };
                Spec {
                    rep,
                    kind,
                    at: BASE + at,
                    cents,
                    eur,
                    deal,
                    flag,
                    small,
                    dup_of,
                }
            },
        )
}

fn line(i: usize, s: &Spec) -> String {
    let ts = Timestamp(s.at).to_rfc3339();
    let rep = format!("r{}", s.rep);
    let money = format!(
        r#""amount":"{}.{:02}","currency":"{}""#,
        s.cents / 100,
        s.cents % 100,
        if s.eur { "EUR" } else { "USD" }
    );
    let deal = format!("d{}-{}", s.rep, s.deal);
    let body = match s.kind {
        0 => format!(
            r#""type":"deal.created","deal_id":"{deal}",{money},"customer_id":"c","channel":"direct""#
        ),
        1 => {
            let created = if s.flag {
                format!(
                    r#","created_at":"{}""#,
                    Timestamp(s.at - i64::from(s.small) * DAY - 7).to_rfc3339()
                )
            } else {
                String::new()
            };
            let assist = format!(r#","assist_rep_ids":["r{}"]"#, (s.rep + 1) % 3);
            format!(
                r#""type":"deal.won","deal_id":"{deal}",{money},"customer_id":"c","channel":"{}","new_customer":{}{created}{assist}"#,
                if s.small.is_multiple_of(2) {
                    "partner"
                } else {
                    "direct"
                },
                s.flag
            )
        }
        2 => format!(r#""type":"deal.lost","deal_id":"{deal}""#),
        3 => r#""type":"activity.call""#.to_string(),
        4 => r#""type":"activity.meeting""#.to_string(),
        5 => r#""type":"activity.email""#.to_string(),
        6 => format!(r#""type":"invoice.issued","invoice_id":"i",{money},"customer_id":"c""#),
        7 => format!(r#""type":"payment.received","invoice_id":"i",{money}"#),
        8 => format!(r#""type":"refund.issued","deal_id":"{deal}",{money}"#),
        9 => format!(
            r#""type":"feedback.received","customer_id":"c","csat":{},"nps":{}"#,
            s.small % 5 + 1,
            s.small
        ),
        10 => r#""type":"partner.onboarded","partner_id":"p""#.to_string(),
        _ => r#""type":"deal.stage_changed","deal_id":"x","stage":"proposal""#.to_string(),
    };
    format!(r#"{{"event_id":"e{i}","occurred_at":"{ts}","rep_id":"{rep}",{body}}}"#)
}

/// The per-event facts the naive model sums.
#[derive(Debug, Clone, Default)]
struct Facts {
    revenue: i128,
    partner_revenue: i128,
    pipeline: i128,
    invoiced: i128,
    collected: i128,
    refunds: i128,
    won: u64,
    lost: u64,
    cycle: Option<i64>,
    calls: u64,
    meetings: u64,
    emails: u64,
    new_customers: u64,
    csat: Option<u64>,
    nps: Option<u64>,
    partners: u64,
    assists: u64,
}

#[derive(Debug, Clone)]
struct Accepted {
    counts: bool,
    rep: String,
    at: i64,
    arrived_at_stream_time: i64,
    facts: Facts,
}

fn civil(days: i64) -> (i64, i64) {
    let d = time_civil(days);
    (d.0, d.1)
}

fn time_civil(days: i64) -> (i64, i64, i64) {
    salespulse_model::time::civil_from_days(days)
}

/// UTC period bounds by plain arithmetic.
fn period(kind: &str, t: i64) -> (i64, i64) {
    let day = t.div_euclid(DAY);
    match kind {
        "day" => (day * DAY, (day + 1) * DAY),
        "week" => {
            let monday = day - (day + 3).rem_euclid(7); // 1970-01-01 was a Thursday
            (monday * DAY, (monday + 7) * DAY)
        }
        _ => {
            let (y, m) = civil(day);
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

fn micros(s: &Spec) -> i128 {
    let minor = i128::from(s.cents);
    // 1 cent = 10^4 micro-units; EUR at 1.08 makes 1 euro cent 10,800 micro-USD, exactly.
    if s.eur {
        minor * 10_800
    } else {
        minor * 10_000
    }
}

struct Naive {
    t: i64,
    accepted: Vec<Accepted>,
    seen_ids: Vec<(String, String, i64)>,
    /// (helper, deal event id, time) of every credit counted.
    credited: Vec<(String, String, i64)>,
    open: BTreeMap<(String, String), i64>,
}

impl Naive {
    fn kept(&self, e: i64, t: i64) -> bool {
        let (_, w, b) = WINDOWS[3];
        if e.div_euclid(b) > t.div_euclid(b) - w / b {
            return true;
        }
        ["day", "week", "month", "quarter"]
            .iter()
            .any(|k| period(k, e).1 + GRACE > t)
    }

    fn offer(&mut self, id: &str, s: &Spec) -> Result<(), Reason> {
        let rep = format!("r{}", s.rep);
        let t = self.t.max(s.at);
        if s.at < t && !self.kept(s.at, t) {
            return Err(Reason::TooLate);
        }
        self.t = t;
        if self
            .seen_ids
            .iter()
            .any(|(r, i, at)| *r == rep && i == id && *at > t - HORIZON)
        {
            return Err(Reason::Duplicate);
        }
        self.seen_ids.push((rep.clone(), id.to_string(), s.at));
        let deal = format!("d{}-{}", s.rep, s.deal);
        let mut f = Facts::default();
        let m = micros(s);
        match s.kind {
            0 => {
                f.pipeline = m;
                self.open.insert((rep.clone(), deal), s.at);
            }
            1 => {
                f.revenue = m;
                f.won = 1;
                if s.small.is_multiple_of(2) {
                    f.partner_revenue = m;
                }
                f.new_customers = u64::from(s.flag);
                let created = self
                    .open
                    .remove(&(rep.clone(), deal))
                    .or(s.flag.then(|| s.at - i64::from(s.small) * DAY - 7));
                f.cycle = created.filter(|c| *c <= s.at).map(|c| (s.at - c) / 1000);
                // A credit counts once per (helper, deal event) while its
                // time could still be accepted, even when the deal itself is
                // re-sent after the event dedupe horizon.
                let helper = format!("r{}", (s.rep + 1) % 3);
                let again = self
                    .credited
                    .iter()
                    .any(|(h, i, at)| *h == helper && i == id && *at > t - CREDIT_KEEP);
                if !again {
                    self.credited.push((helper.clone(), id.to_string(), s.at));
                    let credit = Facts {
                        assists: 1,
                        ..Facts::default()
                    };
                    self.accepted.push(Accepted {
                        counts: true,
                        rep: helper,
                        at: s.at,
                        arrived_at_stream_time: t,
                        facts: credit,
                    });
                }
            }
            2 => {
                f.lost = 1;
                self.open.remove(&(rep.clone(), deal));
            }
            3 => f.calls = 1,
            4 => f.meetings = 1,
            5 => f.emails = 1,
            6 => f.invoiced = m,
            7 => f.collected = m,
            8 => f.refunds = m,
            9 => {
                f.csat = Some(u64::from(s.small % 5 + 1));
                f.nps = Some(u64::from(s.small));
            }
            10 => f.partners = 1,
            _ => {}
        }
        self.accepted.push(Accepted {
            counts: s.kind != 11,
            rep,
            at: s.at,
            arrived_at_stream_time: t,
            facts: f,
        });
        Ok(())
    }
}

/// Naive KPI values of a set of events, as the output contract formats them.
fn kpis<'a>(events: impl Iterator<Item = &'a Facts>) -> BTreeMap<&'static str, Option<f64>> {
    let evs: Vec<&Facts> = events.collect();
    let sum = |f: &dyn Fn(&Facts) -> i128| evs.iter().map(|e| f(e)).sum::<i128>();
    let cnt = |f: &dyn Fn(&Facts) -> u64| evs.iter().map(|e| f(e)).sum::<u64>() as f64;
    // Money rounds once, half-even, from exact micro-units to cents.
    let per = |m: i128, n: i128| {
        let den = 10_000 * n;
        let (q, r) = (m.div_euclid(den), m.rem_euclid(den));
        let q = if 2 * r > den || (2 * r == den && q % 2 != 0) {
            q + 1
        } else {
            q
        };
        Some(q as f64 / 100.0)
    };
    let money = |m: i128| per(m, 1);
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
        if won == 0.0 {
            None
        } else {
            per(revenue, won as i128)
        },
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

fn value(rec: &ScoreRecord, kpi: &str, window: &str) -> Option<f64> {
    rec.kpis
        .get(kpi, window)
        .unwrap_or_else(|| panic!("kpi {kpi} over {window} missing"))
        .map(Num::as_f64)
}

fn close(a: Option<f64>, b: Option<f64>) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(x), Some(y)) => (x - y).abs() <= 1e-6 * x.abs().max(1.0),
        _ => false,
    }
}

fn check(specs: Vec<Spec>) -> Result<salespulse_engine::Stats, TestCaseError> {
    let mut eng = engine();
    let mut naive = Naive {
        t: i64::MIN,
        accepted: Vec::new(),
        seen_ids: Vec::new(),
        credited: Vec::new(),
        open: BTreeMap::new(),
    };
    let mut summaries: BTreeMap<(String, &'static str, String), ScoreRecord> = BTreeMap::new();
    for (i, s) in specs.iter().enumerate() {
        // A duplicate re-sends one of the last few lines byte for byte.
        let (id, src) = match s.dup_of.filter(|back| *back <= i) {
            Some(back) => (i - back, &specs[i - back]),
            None => (i, s),
        };
        let got = eng
            .ingest(line(id, src).as_bytes(), None)
            .map(|_| ())
            .map_err(|r| r.reason);
        let want = naive.offer(&format!("e{id}"), src);
        prop_assert_eq!(got, want, "line {} ({:?})", i, src);
        for r in eng.drain_summaries() {
            let Some(p) = r.period.clone() else {
                continue; // a working-day close's score record
            };
            summaries.insert((r.rep_id.clone(), p.kind, p.start.clone()), r);
        }
    }
    let t = naive.t;
    let finals = eng.score_all();
    for rec in &finals {
        prop_assert_eq!(rec.kind, RecordKind::Score);
        let mine = || naive.accepted.iter().filter(|a| a.rep == rec.rep_id);
        for (name, w, b) in WINDOWS {
            let want = kpis(
                mine()
                    .filter(|a| a.at.div_euclid(b) > t.div_euclid(b) - w / b)
                    .map(|a| &a.facts),
            );
            for (kpi, v) in &want {
                prop_assert!(
                    close(value(rec, kpi, name), *v),
                    "{} {} {}: engine {:?} naive {:?}",
                    rec.rep_id,
                    kpi,
                    name,
                    value(rec, kpi, name),
                    v
                );
            }
        }
        for kind in ["day", "week", "month", "quarter"] {
            let (start, _) = period(kind, t);
            let want = kpis(
                mine()
                    .filter(|a| a.at >= start && a.at <= t)
                    .map(|a| &a.facts),
            );
            for (kpi, v) in &want {
                prop_assert!(
                    close(value(rec, kpi, kind), *v),
                    "{} {} {}: engine {:?} naive {:?}",
                    rec.rep_id,
                    kpi,
                    kind,
                    value(rec, kpi, kind),
                    v
                );
            }
        }
    }
    // Closed periods: the last summary of each equals the events accepted into it while it was kept.
    // Only events that change a KPI make a rep active in a period (stage changes do not).
    let mut expected: BTreeMap<(String, &'static str, String), ()> = BTreeMap::new();
    for a in naive.accepted.iter().filter(|a| a.counts) {
        for kind in ["day", "week", "month", "quarter"] {
            let (start, end) = period(kind, a.at);
            if end <= t && end + GRACE > a.arrived_at_stream_time {
                expected.insert((a.rep.clone(), kind, Timestamp(start).to_rfc3339()), ());
            }
        }
    }
    let got_keys: Vec<_> = summaries.keys().cloned().collect();
    let want_keys: Vec<_> = expected.keys().cloned().collect();
    prop_assert_eq!(got_keys, want_keys);
    for ((rep, kind, start), rec) in &summaries {
        let s = Timestamp::parse_rfc3339(start).unwrap().0;
        let (_, end) = period(kind, s);
        let want = kpis(
            naive
                .accepted
                .iter()
                .filter(|a| {
                    a.rep == *rep
                        && a.at >= s
                        && a.at < end
                        && end + GRACE > a.arrived_at_stream_time
                })
                .map(|a| &a.facts),
        );
        for (kpi, v) in &want {
            prop_assert!(
                close(value(rec, kpi, kind), *v),
                "summary {} {} {}: engine {:?} naive {:?}",
                rep,
                kind,
                kpi,
                value(rec, kpi, kind),
                v
            );
        }
    }
    Ok(eng.stats().clone())
}

/// The generated streams really exercise the rules the properties are about:
/// too-late and duplicate rejections, late updates of closed periods, summaries.
#[test]
fn streams_exercise_every_rule() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let strategy = prop::collection::vec(spec(), 150..250);
    let (mut late, mut dup, mut summaries, mut applied) = (0, 0, 0, 0);
    for round in 0..20 {
        let mut specs = strategy.new_tree(&mut runner).unwrap().current();
        // Half the streams in event-time order with local disorder, as in `nearly_ordered`.
        if round % 2 == 0 {
            specs.sort_by_key(|s| s.at);
            for i in (0..specs.len().saturating_sub(3)).step_by(7) {
                specs.swap(i, i + 3);
            }
        }
        let stats = check(specs).unwrap();
        late += stats.rejected_for(Reason::TooLate);
        dup += stats.rejected_for(Reason::Duplicate);
        summaries += stats.summaries_emitted;
        applied += stats.applied;
    }
    eprintln!("late {late} dup {dup} summaries {summaries} applied {applied}");
    assert!(
        late > 0 && dup > 0 && summaries > 50 && applied > 1000,
        "late {late} dup {dup} summaries {summaries} applied {applied}"
    );
}

proptest! {
    // 256 cases by default; PROPTEST_CASES=N runs more.

    /// Streams in random order: many events are late, some too late.
    #[test]
    fn random_order(specs in prop::collection::vec(spec(), 1..250)) {
        check(specs).map(|_| ())?;
    }

    /// Mostly ordered streams with local disorder, the realistic case.
    #[test]
    fn nearly_ordered(mut specs in prop::collection::vec(spec(), 1..250), swaps in prop::collection::vec((0usize..250, 0usize..5), 0..40)) {
        specs.sort_by_key(|s| s.at);
        for (i, d) in swaps {
            if i + d < specs.len() {
                specs.swap(i, i + d);
            }
        }
        check(specs).map(|_| ())?;
    }
}
