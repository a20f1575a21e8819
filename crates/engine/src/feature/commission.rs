//! Commission: each applied won deal, refund and partner onboarding is
//! booked under the rep's plan (its role profile's `commission`, computed
//! by `salespulse_incentive`), and score records and period summaries carry
//! the statement of the plan's period. A refund that corrects a closed
//! period re-emits that period's summary (a higher version), with the
//! period's KPI sums kept from its close.

use salespulse_incentive::{Books, Measure, Plan, Statement, MICROS};
use salespulse_kpi::SalesAcc;
use salespulse_model::record::{
    period_key, round6, Commission as CommissionRecord, Decimal, PeriodRef, RecordKind,
    ScoreRecord, StatementRecord,
};
use salespulse_model::{Body, KpiName, Timestamp};
use salespulse_window::{Period, ReleaseSpare};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

use super::hooks::{EventCx, Feature, PeriodCx, RecordCx};
use crate::rep::Core;
use crate::{stable_hash, EngineConfig};

/// A rep's commission books.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct Commission {
    books: Books,
    /// KPI sums of closed statement periods, as of their (last) summary,
    /// while a refund can still correct them: (period start, sums).
    closed: Vec<(i64, SalesAcc)>,
    /// The statements last sent to the statements topic, (key, content
    /// hash), the latest few: a statement is sent again only when it
    /// changed. Not in the changelog: after a restore the first record
    /// sends its statement again (the same content, harmless on a
    /// compacted topic).
    #[serde(skip)]
    sent: Sent,
    /// The current statement last built for a score record (in memory
    /// only, like `sent`).
    #[serde(skip)]
    memo: Memo,
}

/// The current statement last built, and what it was built from: score
/// records reuse it until one of those changes (most events change none).
#[derive(Debug, Clone, Default)]
struct Memo {
    /// Bumped whenever the books may have changed.
    books: u64,
    last: Option<(MemoKey, Arc<CommissionRecord>)>,
}

/// What a current statement is built from: the books' generation, the
/// period (start, kind), the target in micros, and the plan (its address
/// and the number of profile versions, which only grows: a plan that moved
/// or was added changes the key).
type MemoKey = (u64, i64, u8, i64, usize, usize);

impl PartialEq for Memo {
    fn eq(&self, _: &Memo) -> bool {
        true
    }
}

/// (statement key, content hash) of the statements last sent, and the
/// current statement last looked at (unchanged when it is the same
/// [`Memo`] entry). Not part of the state's identity: a restored rep
/// equals the one that was saved.
#[derive(Debug, Clone, Default)]
struct Sent {
    by_key: Vec<(String, u64)>,
    seen: Option<Arc<CommissionRecord>>,
}

impl PartialEq for Sent {
    fn eq(&self, _: &Sent) -> bool {
        true
    }
}

/// Statements remembered as sent (the current period, the previous one
/// while refunds can correct it, and room for a plan change).
const SENT_KEPT: usize = 8;

impl Feature for Commission {
    fn on_event(&mut self, cx: &mut EventCx<'_, '_>) {
        let (cfg, current, t) = (cx.cfg, cx.current, cx.t);
        let kept = |at: i64| crate::accept::is_kept(cfg, current, at, t);
        if let Some(p) = self.book(cfg, cx.core, cx.ev, cx.acc, t, kept) {
            // A refund corrected a closed statement: its summary is due again.
            cx.due.push(p);
        }
    }

    fn on_period_close(&mut self, cx: &PeriodCx<'_>) {
        if cx.live {
            self.keep_closed(cx.cfg, cx.core, &cx.period, cx.acc);
        }
    }

    fn score_section(&mut self, cx: &RecordCx<'_>, rec: &mut ScoreRecord) {
        rec.commission = self.current(cx.cfg, cx.core, cx.t, &cx.clock.current);
    }

    fn summary_section(&self, cx: &RecordCx<'_>, rec: &mut ScoreRecord) {
        if let Some((period, ..)) = cx.period {
            rec.commission = self.statement(cx.cfg, cx.core, &period).map(Arc::new);
        }
    }

    fn heap_bytes(&self) -> usize {
        self.books.heap_bytes() + self.closed.capacity() * std::mem::size_of::<(i64, SalesAcc)>()
    }

    fn shrink(&mut self) {
        self.books.shrink();
        self.closed.release_spare();
    }
}

impl Commission {
    /// The statement record that goes with `rec` (a score record's current
    /// statement, a summary's closed one) if it changed since the last one
    /// sent for its period.
    pub(crate) fn statement_for(
        &mut self,
        cfg: &EngineConfig,
        core: &Core,
        rec: &ScoreRecord,
    ) -> Option<StatementRecord> {
        let c = rec.commission.as_ref()?;
        if self.sent.seen.as_ref().is_some_and(|s| Arc::ptr_eq(s, c)) {
            return None;
        }
        self.sent.seen = Some(Arc::clone(c));
        let closed = rec.kind == RecordKind::PeriodSummary;
        // The record's section holds the same amounts rounded the same
        // way: unchanged there, unchanged here, and nothing is built.
        let key = period_key(&rec.rep_id, &c.period);
        let hash = section_hash(c, closed);
        let sent = &mut self.sent.by_key;
        match sent.iter_mut().find(|(k, _)| *k == key) {
            Some((_, h)) if *h == hash => return None,
            Some((_, h)) => *h = hash,
            None => {
                sent.push((key.clone(), hash));
                if sent.len() > SENT_KEPT {
                    sent.remove(0);
                }
            }
        }
        let kind = salespulse_window::PeriodKind::parse(&c.period.kind)?;
        let start = Timestamp::parse_rfc3339(&c.period.start).ok()?.0;
        let period = cfg.calendar.period(kind, start);
        let plan = plan_of(cfg, core, &period)?;
        let target = (target(cfg, core, plan, &period) * MICROS).round() as i64;
        let s = self.books.statement(plan, period.start, period.end, target);
        let mut out = exact_record(cfg, plan, c.period.clone(), &s);
        out.key = key;
        out.rep_id.clone_from(&rec.rep_id);
        out.team_id.clone_from(&rec.team_id);
        out.manager_id.clone_from(&rec.manager_id);
        out.closed = closed;
        out.as_of.clone_from(&rec.as_of);
        out.seq = rec.seq;
        Some(out)
    }
}

/// What identifies a statement's content (in memory only: never saved).
fn section_hash(c: &CommissionRecord, closed: bool) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    (
        closed,
        &c.period.kind,
        &c.period.start,
        &c.measure,
        c.capped,
    )
        .hash(&mut h);
    for x in [
        c.target,
        c.gross,
        c.refunded,
        c.net,
        c.attainment,
        c.earned_to_date,
        c.clawbacks,
        c.next_deal_rate,
    ] {
        x.to_bits().hash(&mut h);
    }
    for (k, v) in &c.by_component {
        (k, v.to_bits()).hash(&mut h);
    }
    h.finish()
}

/// A statement with exact decimal amounts; identity and time left for the caller.
fn exact_record(
    cfg: &EngineConfig,
    plan: &Plan,
    period: PeriodRef,
    s: &Statement,
) -> StatementRecord {
    let table = &cfg.decode.currencies;
    let exact = |micros: f64| Decimal(table.micros_to_decimal(micros.round() as i128));
    let by_component = by_component(plan, s, exact);
    StatementRecord {
        schema: salespulse_model::output::STATEMENT.into(),
        key: String::new(),
        rep_id: String::new(),
        team_id: None,
        manager_id: None,
        as_of: String::new(),
        seq: 0,
        closed: false,
        currency: table.reporting().to_string(),
        period,
        measure: plan.measure.kpi().into(),
        target: exact(s.target as f64),
        gross: exact(s.gross as f64),
        refunded: exact(s.clawed as f64),
        net: exact(s.net() as f64),
        attainment: round6(s.net() as f64 / s.target.max(1) as f64),
        earned_to_date: exact(s.earned),
        by_component,
        clawbacks: exact(s.clawbacks),
        next_deal_rate: round6(s.next_rate),
        capped: s.capped,
    }
}

/// The plan of the statement period that `period` is: the one in effect
/// at its start, so a plan change applies from the first statement period
/// that starts at or after its `effective_at` (docs/incentives.md).
fn plan_of<'c>(cfg: &'c EngineConfig, core: &Core, period: &Period) -> Option<&'c Plan> {
    let of = |at: i64| {
        cfg.profiles
            .for_role(at, core.role())
            .commission
            .as_ref()
            .filter(|p| p.period == period.kind)
    };
    of(period.start).or_else(|| of(period.end - 1))
}

/// The statement period containing event time `at`, and its plan.
fn plan_at<'c>(cfg: &'c EngineConfig, core: &Core, at: i64) -> Option<(&'c Plan, Period)> {
    let kind = cfg
        .profiles
        .for_role(at, core.role())
        .commission
        .as_ref()?
        .period;
    let p = cfg.calendar.period(kind, at);
    Some((plan_of(cfg, core, &p)?, p))
}

impl Commission {
    /// Books an applied event; returns the closed statement period a
    /// refund corrected. A win is booked only while its statement period
    /// still accepts late events, as the period's KPIs are
    /// (docs/windows.md); `kept(time)` says whether an event at `time` can
    /// still be accepted at stream time `t`.
    fn book(
        &mut self,
        cfg: &EngineConfig,
        core: &Core,
        ev: &salespulse_model::Event<'_>,
        acc: &SalesAcc,
        t: i64,
        kept: impl Fn(i64) -> bool,
    ) -> Option<Period> {
        let e = ev.occurred_at.0;
        let (plan, p) = plan_at(cfg, core, e)?;
        if matches!(
            ev.body,
            Body::DealWon { .. } | Body::RefundIssued { .. } | Body::PartnerOnboarded
        ) {
            // Whatever follows may change the books (a refund even when it
            // then finds no period).
            self.memo.books += 1;
        }
        let books = &mut self.books;
        let open = p.end + cfg.grace_ms > t;
        let mut corrected = None;
        match &ev.body {
            Body::DealWon {
                deal_id,
                new_customer,
                ..
            } if open => {
                let amount = match plan.measure {
                    Measure::Revenue => acc.revenue,
                    Measure::PartnerRevenue => acc.partner_revenue,
                };
                let deal = stable_hash(deal_id);
                books.won(
                    plan,
                    deal,
                    e,
                    (p.start, p.end),
                    amount,
                    acc.revenue,
                    *new_customer,
                );
            }
            Body::RefundIssued { deal_id, .. } => {
                let start = books.refund(plan, stable_hash(deal_id), e, acc.refunds)?;
                let closed = cfg.calendar.period(plan.period, start);
                corrected = (closed.end <= t).then_some(closed);
            }
            Body::PartnerOnboarded if open => books.partner_onboarded(plan, e, (p.start, p.end)),
            Body::DealWon { .. } | Body::PartnerOnboarded => {}
            _ => return None,
        }
        books.prune(plan, t, cfg.grace_ms, kept);
        let books = &self.books;
        self.closed.retain(|(start, _)| books.holds(*start));
        corrected
    }

    /// The KPI sums of a closed statement period kept for corrections.
    pub(crate) fn closed_sums(&self, period: &Period) -> Option<SalesAcc> {
        self.closed
            .iter()
            .find(|(s, _)| *s == period.start)
            .map(|(_, a)| *a)
    }

    /// Keeps a closed statement period's sums for corrections (plans with a clawback window).
    fn keep_closed(&mut self, cfg: &EngineConfig, core: &Core, period: &Period, acc: SalesAcc) {
        if plan_of(cfg, core, period).is_none_or(|p| p.clawback_ms == 0) {
            return;
        }
        match self.closed.iter_mut().find(|(s, _)| *s == period.start) {
            Some(slot) => slot.1 = acc,
            None => self.closed.push((period.start, acc)),
        }
    }

    /// The statement of the current period of the rep's plan, if it has
    /// one: the last one built while its inputs are unchanged.
    fn current(
        &mut self,
        cfg: &EngineConfig,
        core: &Core,
        t: i64,
        current: &[Period; 4],
    ) -> Option<Arc<CommissionRecord>> {
        let (_, p) = plan_at(cfg, core, t)?;
        let period = &current[p.kind as usize];
        let plan = plan_of(cfg, core, period)?;
        let target = (target(cfg, core, plan, period) * MICROS).round() as i64;
        let key = (
            self.memo.books,
            period.start,
            period.kind as u8,
            target,
            std::ptr::from_ref(plan) as usize,
            cfg.profiles.versions().len(),
        );
        if let Some((k, built)) = &self.memo.last {
            if *k == key {
                return Some(Arc::clone(built));
            }
        }
        let s = self.books.statement(plan, period.start, period.end, target);
        let built = Arc::new(to_record(cfg, plan, period, &s));
        self.memo.last = Some((key, Arc::clone(&built)));
        Some(built)
    }

    /// The statement of `period` (a period of the plan's kind), if the rep has a plan.
    fn statement(
        &self,
        cfg: &EngineConfig,
        core: &Core,
        period: &Period,
    ) -> Option<CommissionRecord> {
        let plan = plan_of(cfg, core, period)?;
        let target = (target(cfg, core, plan, period) * MICROS).round() as i64;
        let s = self.books.statement(plan, period.start, period.end, target);
        Some(to_record(cfg, plan, period, &s))
    }
}

/// The rep's target of the plan's measure in `period`: a directory override
/// for the measure and period, else the plan's; pro-rated for a rep who
/// started inside the period (as score targets are).
fn target(cfg: &EngineConfig, core: &Core, plan: &Plan, period: &Period) -> f64 {
    let base = plan.target.unwrap_or(0.0);
    KpiName::parse(plan.measure.kpi())
        .and_then(|kpi| {
            core.targets(cfg)
                .target_of(kpi, plan.period.as_str(), base, Some(period))
        })
        .unwrap_or(0.0)
}

/// The statement's amount by component (the tiered part under the plan's
/// measure, each SPIFF as `spiff:<name>`), each through `amount`.
fn by_component<T>(
    plan: &Plan,
    s: &Statement,
    amount: impl Fn(f64) -> T,
) -> std::collections::BTreeMap<String, T> {
    let mut out = std::collections::BTreeMap::new();
    out.insert(plan.measure.kpi().to_string(), amount(s.tiered));
    for (name, _, a) in &s.spiffs {
        out.insert(format!("spiff:{name}"), amount(*a));
    }
    out
}

fn to_record(cfg: &EngineConfig, plan: &Plan, period: &Period, s: &Statement) -> CommissionRecord {
    let money = |micros: f64| {
        cfg.decode
            .currencies
            .micros_to_output(micros.round() as i128)
    };
    let by_component = by_component(plan, s, money);
    CommissionRecord {
        period: PeriodRef {
            kind: period.kind.as_str().into(),
            start: Timestamp(period.start).to_rfc3339(),
            end: Timestamp(period.end).to_rfc3339(),
        },
        measure: plan.measure.kpi().into(),
        target: money(s.target as f64),
        gross: money(s.gross as f64),
        refunded: money(s.clawed as f64),
        net: money(s.net() as f64),
        attainment: round6(s.net() as f64 / s.target.max(1) as f64),
        earned_to_date: money(s.earned),
        by_component,
        clawbacks: money(s.clawbacks),
        next_deal_rate: round6(s.next_rate),
        capped: s.capped,
    }
}
