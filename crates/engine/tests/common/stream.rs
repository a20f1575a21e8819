//! Generated records: a [`Spec`] is one event before it becomes a JSON line.

use proptest::prelude::*;
use salespulse_model::Timestamp;

use super::{BASE, DAY, HOUR, MIN};

/// One generated event before it becomes a JSON line.
#[derive(Debug, Clone)]
pub struct Spec {
    pub rep: usize,
    pub kind: usize,
    pub at: i64,
    pub cents: i64,
    pub eur: bool,
    pub deal: u8,
    pub flag: bool,
    pub small: u8,
    pub dup_of: Option<usize>,
}

/// Event kinds by index into the `type` names [`line`] writes.
pub const KINDS: usize = 12;
pub const WON: usize = 1;
pub const REFUND: usize = 8;
pub const STAGE_CHANGED: usize = 11;

/// A random event of the 45 days from [`BASE`], most times snapped onto
/// the bucket and period boundaries where off-by-one errors live.
pub fn spec() -> impl Strategy<Value = Spec> {
    (
        0usize..3,
        0usize..KINDS,
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
            |(rep, kind, snap, raw, cents, eur, deal, flag, small, dup_of)| Spec {
                rep,
                kind,
                at: BASE + snapped(snap, raw),
                cents,
                eur,
                deal,
                flag,
                small,
                dup_of,
            },
        )
}

/// `raw` snapped to a minute, a quarter hour, six hours, a day, or a day's last millisecond.
pub fn snapped(snap: i64, raw: i64) -> i64 {
    match snap {
        0 => raw / MIN * MIN,
        1 => raw / (15 * MIN) * 15 * MIN,
        2 => raw / (6 * HOUR) * 6 * HOUR,
        3 => raw / DAY * DAY,
        4 => raw / DAY * DAY - 1,
        _ => raw,
    }
}

/// The deal id a deal event of `s` names.
pub fn deal_id(s: &Spec) -> String {
    format!("d{}-{}", s.rep, s.deal)
}

/// The event's JSON line with event id `e{i}`.
pub fn line(i: usize, s: &Spec) -> String {
    let ts = Timestamp(s.at).to_rfc3339();
    let rep = format!("r{}", s.rep);
    let money = format!(
        r#""amount":"{}.{:02}","currency":"{}""#,
        s.cents / 100,
        s.cents % 100,
        if s.eur { "EUR" } else { "USD" }
    );
    let deal = deal_id(s);
    let body = match s.kind {
        0 => format!(
            r#""type":"deal.created","deal_id":"{deal}",{money},"customer_id":"c","channel":"direct""#
        ),
        WON => {
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
        REFUND => format!(r#""type":"refund.issued","deal_id":"{deal}",{money}"#),
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

/// The amount in micro-USD: 1 cent is 10^4 micro-units, and EUR at 1.08
/// makes 1 euro cent 10,800 micro-USD, exactly.
pub fn micros(s: &Spec) -> i128 {
    let minor = i128::from(s.cents);
    if s.eur {
        minor * 10_800
    } else {
        minor * 10_000
    }
}
