//! A rep's commission books: per statement period the measure won, the
//! part taken out again by clawbacks and the SPIFF events; and the won
//! deals still inside their clawback window, so a refund finds its deal.
//! Bounded by time: a deal is kept for the clawback window, a period's
//! book until no refund can reach it any more (plus the engine's grace).

use salespulse_window::ReleaseSpare;
use serde::{Deserialize, Serialize};

use crate::plan::{tiered, Clawback, Plan, SpiffOn};

/// Won deals remembered per rep at most (the oldest go first).
pub const DEALS_KEPT: usize = 4096;

/// A won deal inside its clawback window.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
struct Won {
    deal: u64,
    at: i64,
    /// Start of the statement period it was booked in.
    period: i64,
    amount: i64,
    /// Taken out by refunds so far.
    clawed: i64,
}

/// One statement period.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct Book {
    start: i64,
    end: i64,
    /// Measure won (micros).
    gross: i64,
    /// Measure taken out by clawbacks (micros).
    clawed: i64,
    /// Qualifying events per SPIFF (by the plan's SPIFF index).
    spiffs: Vec<u32>,
}

/// A rep's books.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Books {
    deals: Vec<Won>,
    books: Vec<Book>,
}

/// A period's statement, amounts in micros of the reporting currency.
#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    /// The period `[start, end)`.
    pub start: i64,
    /// End of the period.
    pub end: i64,
    /// Target of the measure.
    pub target: i64,
    /// Measure won in the period.
    pub gross: i64,
    /// Taken out of it by clawbacks.
    pub clawed: i64,
    /// Tiered commission on the net measure, after the cap.
    pub tiered: f64,
    /// Tiered commission the refunds took back (on the gross minus on the net, after the cap).
    pub clawbacks: f64,
    /// Per SPIFF: (name, events, amount).
    pub spiffs: Vec<(String, u32, f64)>,
    /// Tiered plus SPIFFs.
    pub earned: f64,
    /// What the next unit of the measure earns (0 once capped).
    pub next_rate: f64,
    /// Whether the cap holds the tiered commission back.
    pub capped: bool,
}

impl Statement {
    /// Net measure: gross minus clawed.
    pub fn net(&self) -> i64 {
        self.gross - self.clawed
    }
}

impl Books {
    fn book(&mut self, plan: &Plan, period: (i64, i64)) -> &mut Book {
        let i = match self.books.binary_search_by_key(&period.0, |b| b.start) {
            Ok(i) => i,
            Err(i) => {
                self.books.insert(
                    i,
                    Book {
                        start: period.0,
                        end: period.1,
                        spiffs: vec![0; plan.spiffs.len()],
                        ..Book::default()
                    },
                );
                i
            }
        };
        let b = &mut self.books[i];
        b.spiffs.resize(plan.spiffs.len(), 0);
        b
    }

    /// Books a won deal at `at` in `period`: `amount` of the measure (0 when
    /// the deal does not count toward it), `deal_amount` its revenue (for
    /// SPIFF minimums).
    #[allow(clippy::too_many_arguments)]
    pub fn won(
        &mut self,
        plan: &Plan,
        deal: u64,
        at: i64,
        period: (i64, i64),
        amount: i64,
        deal_amount: i64,
        new_customer: bool,
    ) {
        let book = self.book(plan, period);
        book.gross += amount;
        for (i, s) in plan.spiffs.iter().enumerate() {
            let qualifies = match s.on {
                SpiffOn::DealWon => true,
                SpiffOn::NewCustomer => new_customer,
                SpiffOn::PartnerOnboarded => false,
            };
            if qualifies && (s.from_ms..s.until_ms).contains(&at) && deal_amount >= s.min_deal {
                book.spiffs[i] += 1;
            }
        }
        if plan.clawback_ms > 0 && amount > 0 {
            if self.deals.len() >= DEALS_KEPT {
                self.deals.remove(0);
            }
            let pos = self.deals.partition_point(|d| d.at <= at);
            self.deals.insert(
                pos,
                Won {
                    deal,
                    at,
                    period: period.0,
                    amount,
                    clawed: 0,
                },
            );
        }
    }

    /// Books a partner onboarded at `at` in `period` (SPIFFs only).
    pub fn partner_onboarded(&mut self, plan: &Plan, at: i64, period: (i64, i64)) {
        if !plan
            .spiffs
            .iter()
            .any(|s| s.on == SpiffOn::PartnerOnboarded)
        {
            return;
        }
        let book = self.book(plan, period);
        for (i, s) in plan.spiffs.iter().enumerate() {
            if s.on == SpiffOn::PartnerOnboarded && (s.from_ms..s.until_ms).contains(&at) {
                book.spiffs[i] += 1;
            }
        }
    }

    /// A refund of `amount` for `deal` at `at`: inside the deal's clawback
    /// window it leaves the deal's period's net measure (at most the deal's
    /// amount over all its refunds). Returns that period's start.
    pub fn refund(&mut self, plan: &Plan, deal: u64, at: i64, amount: i64) -> Option<i64> {
        let window = plan.clawback_ms;
        let d = self
            .deals
            .iter_mut()
            .rev()
            .find(|d| d.deal == deal && d.at <= at && at - d.at < window)?;
        let share = match plan.clawback {
            Clawback::Full => 1.0,
            Clawback::Prorated => 1.0 - (at - d.at) as f64 / window as f64,
        };
        let take = ((amount.max(0) as f64 * share).round() as i64).min(d.amount - d.clawed);
        if take <= 0 {
            return None;
        }
        d.clawed += take;
        let period = d.period;
        let i = self.books.binary_search_by_key(&period, |b| b.start).ok()?;
        self.books[i].clawed += take;
        Some(period)
    }

    /// Forgets what no accepted event can change any more at stream time
    /// `t`: a deal once no refund inside its clawback window can be
    /// accepted (`refundable(time)` says whether an event at `time` still
    /// can), and a period's book once late wins can no longer reach it
    /// (`end + grace_ms`) and no kept deal can be refunded into it.
    pub fn prune(&mut self, plan: &Plan, t: i64, grace_ms: i64, refundable: impl Fn(i64) -> bool) {
        let window = plan.clawback_ms;
        self.deals.retain(|d| refundable(d.at + window - 1));
        let deals = &self.deals;
        self.books.retain(|b| {
            b.end.saturating_add(grace_ms) > t || deals.iter().any(|d| d.period == b.start)
        });
    }

    /// Whether the book of the period starting at `start` is kept.
    pub fn holds(&self, start: i64) -> bool {
        self.books.binary_search_by_key(&start, |b| b.start).is_ok()
    }

    /// The statement of the period starting at `start` (`end` when no book
    /// exists yet), against `target` micros.
    pub fn statement(&self, plan: &Plan, start: i64, end: i64, target: i64) -> Statement {
        let empty = Book {
            start,
            end,
            spiffs: vec![0; plan.spiffs.len()],
            ..Book::default()
        };
        let b = self
            .books
            .binary_search_by_key(&start, |b| b.start)
            .map_or(&empty, |i| &self.books[i]);
        let cap = plan.cap.map_or(f64::INFINITY, |c| c as f64);
        let (on_net, rate) = tiered(&plan.tiers, b.gross - b.clawed, target);
        let (on_gross, _) = tiered(&plan.tiers, b.gross, target);
        let capped = on_net >= cap;
        let tiered_net = on_net.min(cap);
        let spiffs: Vec<(String, u32, f64)> = plan
            .spiffs
            .iter()
            .zip(b.spiffs.iter().chain(std::iter::repeat(&0)))
            .map(|(s, &n)| (s.name.clone(), n, s.amount as f64 * f64::from(n)))
            .collect();
        Statement {
            start: b.start,
            end: b.end,
            target,
            gross: b.gross,
            clawed: b.clawed,
            tiered: tiered_net,
            clawbacks: on_gross.min(cap) - tiered_net,
            earned: tiered_net + spiffs.iter().map(|s| s.2).sum::<f64>(),
            spiffs,
            next_rate: if capped { 0.0 } else { rate },
            capped,
        }
    }

    /// Approximate heap bytes.
    pub fn heap_bytes(&self) -> usize {
        self.deals.capacity() * std::mem::size_of::<Won>()
            + self
                .books
                .iter()
                .map(|b| std::mem::size_of::<Book>() + b.spiffs.capacity() * 4)
                .sum::<usize>()
    }

    /// Releases spare capacity (after pruning).
    pub fn shrink(&mut self) {
        self.deals.release_spare();
        self.books.release_spare();
    }

    /// Whether nothing is booked.
    pub fn is_empty(&self) -> bool {
        self.deals.is_empty() && self.books.is_empty()
    }
}
