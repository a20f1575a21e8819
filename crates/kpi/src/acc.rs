//! The per-bucket sums every KPI is derived from. Integers only, so that
//! adding and removing buckets from running totals is exact.

use salespulse_model::{ActivityKind, Body, Channel, Micros};
use salespulse_window::Accumulator;

/// Sums of one bucket (or window, or period) for one rep. Money is in
/// reporting micro-units; counts wrap rather than panic (they cannot
/// realistically reach 2^32 within one rep's window).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SalesAcc {
    /// Won amount.
    pub revenue: Micros,
    /// Won amount through partners.
    pub partner_revenue: Micros,
    /// Created deal amount.
    pub pipeline: Micros,
    /// Invoiced amount.
    pub invoiced: Micros,
    /// Collected amount.
    pub collected: Micros,
    /// Refunded amount.
    pub refunds: Micros,
    /// Sum of created-to-won durations in seconds.
    pub cycle_secs: i64,
    /// Deals won.
    pub deals_won: u32,
    /// Deals lost.
    pub deals_lost: u32,
    /// Deals won with a known creation time.
    pub cycle_count: u32,
    /// Calls.
    pub calls: u32,
    /// Meetings.
    pub meetings: u32,
    /// Emails.
    pub emails: u32,
    /// Deals won from new customers.
    pub new_customers: u32,
    /// Sum of CSAT answers.
    pub csat_sum: u32,
    /// CSAT answers.
    pub csat_count: u32,
    /// NPS answers 9-10.
    pub nps_promoters: u32,
    /// NPS answers 0-6.
    pub nps_detractors: u32,
    /// NPS answers.
    pub nps_count: u32,
    /// Partners onboarded.
    pub partners_onboarded: u32,
    /// Assists credited.
    pub assists: u32,
}

macro_rules! each_field {
    ($self:ident, $other:ident, $money:ident, $count:ident) => {{
        $money!($self.revenue, $other.revenue);
        $money!($self.partner_revenue, $other.partner_revenue);
        $money!($self.pipeline, $other.pipeline);
        $money!($self.invoiced, $other.invoiced);
        $money!($self.collected, $other.collected);
        $money!($self.refunds, $other.refunds);
        $money!($self.cycle_secs, $other.cycle_secs);
        $count!($self.deals_won, $other.deals_won);
        $count!($self.deals_lost, $other.deals_lost);
        $count!($self.cycle_count, $other.cycle_count);
        $count!($self.calls, $other.calls);
        $count!($self.meetings, $other.meetings);
        $count!($self.emails, $other.emails);
        $count!($self.new_customers, $other.new_customers);
        $count!($self.csat_sum, $other.csat_sum);
        $count!($self.csat_count, $other.csat_count);
        $count!($self.nps_promoters, $other.nps_promoters);
        $count!($self.nps_detractors, $other.nps_detractors);
        $count!($self.nps_count, $other.nps_count);
        $count!($self.partners_onboarded, $other.partners_onboarded);
        $count!($self.assists, $other.assists);
    }};
}

impl Accumulator for SalesAcc {
    #[inline]
    fn merge(&mut self, o: &Self) {
        macro_rules! add {
            ($a:expr, $b:expr) => {
                $a = $a.wrapping_add($b)
            };
        }
        each_field!(self, o, add, add);
    }

    #[inline]
    fn unmerge(&mut self, o: &Self) {
        macro_rules! sub {
            ($a:expr, $b:expr) => {
                $a = $a.wrapping_sub($b)
            };
        }
        each_field!(self, o, sub, sub);
    }
}

impl SalesAcc {
    /// The contribution of one event to its owner's sums. `cycle_secs` is the
    /// created-to-won duration of a `deal.won`, when the creation time is known.
    pub fn from_body(body: &Body<'_>, cycle_secs: Option<i64>) -> SalesAcc {
        let mut a = SalesAcc::default();
        match body {
            Body::DealCreated { amount, .. } => a.pipeline = amount.micros,
            Body::DealWon {
                amount,
                channel,
                new_customer,
                ..
            } => {
                a.revenue = amount.micros;
                a.deals_won = 1;
                if *channel == Channel::Partner {
                    a.partner_revenue = amount.micros;
                }
                a.new_customers = u32::from(*new_customer);
                if let Some(c) = cycle_secs {
                    a.cycle_secs = c;
                    a.cycle_count = 1;
                }
            }
            Body::DealLost { .. } => a.deals_lost = 1,
            Body::Activity {
                kind: ActivityKind::Call,
                ..
            } => a.calls = 1,
            Body::Activity {
                kind: ActivityKind::Meeting,
                ..
            } => a.meetings = 1,
            Body::Activity {
                kind: ActivityKind::Email,
                ..
            } => a.emails = 1,
            Body::InvoiceIssued { amount } => a.invoiced = amount.micros,
            Body::PaymentReceived { amount } => a.collected = amount.micros,
            Body::RefundIssued { amount, .. } => a.refunds = amount.micros,
            Body::FeedbackReceived { csat, nps } => {
                if let Some(c) = csat {
                    a.csat_sum = u32::from(*c);
                    a.csat_count = 1;
                }
                if let Some(n) = nps {
                    a.nps_count = 1;
                    a.nps_promoters = u32::from(*n >= 9);
                    a.nps_detractors = u32::from(*n <= 6);
                }
            }
            Body::PartnerOnboarded => a.partners_onboarded = 1,
            Body::DealStageChanged { .. } | Body::RepUpdated(_) => {}
        }
        a
    }

    /// The contribution of an assist credited to a rep.
    pub fn assist() -> SalesAcc {
        SalesAcc {
            assists: 1,
            ..SalesAcc::default()
        }
    }

    /// Whether the event type changes any sum (stage changes and directory updates do not).
    pub fn is_zero(&self) -> bool {
        *self == SalesAcc::default()
    }
}

/// Activity counts alone: most of a rep's buckets hold nothing else, so the
/// engine stores them in their own windows with 12-byte sums instead of a
/// full [`SalesAcc`] per bucket (see docs/BENCHMARKS.md, memory).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ActivityCounts {
    /// Calls.
    pub calls: u32,
    /// Meetings.
    pub meetings: u32,
    /// Emails.
    pub emails: u32,
}

impl Accumulator for ActivityCounts {
    #[inline]
    fn merge(&mut self, o: &Self) {
        self.calls = self.calls.wrapping_add(o.calls);
        self.meetings = self.meetings.wrapping_add(o.meetings);
        self.emails = self.emails.wrapping_add(o.emails);
    }

    #[inline]
    fn unmerge(&mut self, o: &Self) {
        self.calls = self.calls.wrapping_sub(o.calls);
        self.meetings = self.meetings.wrapping_sub(o.meetings);
        self.emails = self.emails.wrapping_sub(o.emails);
    }
}

impl SalesAcc {
    /// The contribution as activity counts, when that is all it holds.
    pub fn as_activity(&self) -> Option<ActivityCounts> {
        let counts = ActivityCounts {
            calls: self.calls,
            meetings: self.meetings,
            emails: self.emails,
        };
        let rest = SalesAcc {
            calls: 0,
            meetings: 0,
            emails: 0,
            ..*self
        };
        rest.is_zero().then_some(counts)
    }

    /// Adds activity counts kept apart back into the full sums.
    pub fn add_activity(&mut self, a: &ActivityCounts) {
        self.calls = self.calls.wrapping_add(a.calls);
        self.meetings = self.meetings.wrapping_add(a.meetings);
        self.emails = self.emails.wrapping_add(a.emails);
    }
}
