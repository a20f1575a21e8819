//! Typed, validated events. String fields borrow from the input buffer where
//! the JSON had no escapes, so decoding allocates little on the hot path.

use std::borrow::Cow;

use crate::{KpiName, Money, Timestamp};

/// The `type` of an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventType {
    /// `deal.created`
    DealCreated,
    /// `deal.stage_changed`
    DealStageChanged,
    /// `deal.won`
    DealWon,
    /// `deal.lost`
    DealLost,
    /// `activity.call`
    ActivityCall,
    /// `activity.meeting`
    ActivityMeeting,
    /// `activity.email`
    ActivityEmail,
    /// `invoice.issued`
    InvoiceIssued,
    /// `payment.received`
    PaymentReceived,
    /// `refund.issued`
    RefundIssued,
    /// `feedback.received`
    FeedbackReceived,
    /// `partner.onboarded`
    PartnerOnboarded,
    /// `rep.updated`
    RepUpdated,
}

impl EventType {
    /// Every type, in schema order.
    pub const ALL: [EventType; 13] = [
        EventType::DealCreated,
        EventType::DealStageChanged,
        EventType::DealWon,
        EventType::DealLost,
        EventType::ActivityCall,
        EventType::ActivityMeeting,
        EventType::ActivityEmail,
        EventType::InvoiceIssued,
        EventType::PaymentReceived,
        EventType::RefundIssued,
        EventType::FeedbackReceived,
        EventType::PartnerOnboarded,
        EventType::RepUpdated,
    ];

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::DealCreated => "deal.created",
            EventType::DealStageChanged => "deal.stage_changed",
            EventType::DealWon => "deal.won",
            EventType::DealLost => "deal.lost",
            EventType::ActivityCall => "activity.call",
            EventType::ActivityMeeting => "activity.meeting",
            EventType::ActivityEmail => "activity.email",
            EventType::InvoiceIssued => "invoice.issued",
            EventType::PaymentReceived => "payment.received",
            EventType::RefundIssued => "refund.issued",
            EventType::FeedbackReceived => "feedback.received",
            EventType::PartnerOnboarded => "partner.onboarded",
            EventType::RepUpdated => "rep.updated",
        }
    }

    /// Parses a wire name.
    pub fn parse(s: &str) -> Option<EventType> {
        EventType::ALL.iter().copied().find(|t| t.as_str() == s)
    }
}

/// Sales channel of a deal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    /// Sold directly.
    Direct,
    /// Sold through a partner.
    Partner,
}

/// Which activity an `activity.*` event records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActivityKind {
    /// A phone call.
    Call,
    /// A meeting.
    Meeting,
    /// An email.
    Email,
}

/// A per-rep target override from `rep.updated`: `targets.<kpi>.<window> = value`.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TargetOverride {
    /// The KPI.
    pub kpi: KpiName,
    /// A window or period name (`30d`, `month`, ...).
    pub window: String,
    /// The target value (reporting currency units for money KPIs).
    pub value: f64,
}

/// The HR directory record of a rep, carried by `rep.updated`.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Directory {
    /// Role, selects the scoring profile (`direct`, `channel`, `inside`, ...).
    pub role: String,
    /// Team.
    pub team_id: String,
    /// Region.
    pub region: String,
    /// Manager's rep id, if any.
    pub manager_id: Option<String>,
    /// Whether the rep is active.
    pub active: bool,
    /// First day, as days since 1970-01-01 (UTC date).
    pub start_date: Option<i64>,
    /// Per-KPI, per-window target overrides.
    pub targets: Vec<TargetOverride>,
}

/// The type-specific part of an event.
#[derive(Debug, Clone, PartialEq)]
pub enum Body<'a> {
    /// A deal entered the pipeline.
    DealCreated {
        /// Deal id.
        deal_id: Cow<'a, str>,
        /// Deal amount.
        amount: Money,
        /// Channel.
        channel: Channel,
    },
    /// A deal moved to another stage.
    DealStageChanged {
        /// Deal id.
        deal_id: Cow<'a, str>,
    },
    /// A deal was won.
    DealWon {
        /// Deal id.
        deal_id: Cow<'a, str>,
        /// Won amount.
        amount: Money,
        /// Channel.
        channel: Channel,
        /// Whether the customer is new.
        new_customer: bool,
        /// When the deal was created (used when `deal.created` was never seen).
        created_at: Option<Timestamp>,
        /// Reps credited with an assist.
        assist_rep_ids: Vec<Cow<'a, str>>,
    },
    /// A deal was lost.
    DealLost {
        /// Deal id.
        deal_id: Cow<'a, str>,
    },
    /// A call, meeting or email.
    Activity {
        /// Which activity.
        kind: ActivityKind,
        /// Duration in seconds, if given.
        duration_s: Option<u32>,
    },
    /// An invoice was issued.
    InvoiceIssued {
        /// Invoice amount.
        amount: Money,
    },
    /// A payment was received.
    PaymentReceived {
        /// Paid amount.
        amount: Money,
    },
    /// A refund was issued.
    RefundIssued {
        /// The refunded deal (commission clawbacks find it by this id).
        deal_id: Cow<'a, str>,
        /// Refunded amount.
        amount: Money,
    },
    /// Survey feedback.
    FeedbackReceived {
        /// CSAT 1-5.
        csat: Option<u8>,
        /// NPS 0-10.
        nps: Option<u8>,
    },
    /// A partner was onboarded.
    PartnerOnboarded,
    /// Directory update for the rep.
    RepUpdated(Box<Directory>),
}

/// A validated event.
#[derive(Debug, Clone, PartialEq)]
pub struct Event<'a> {
    /// Upstream id, used for dedupe.
    pub event_id: Cow<'a, str>,
    /// The type.
    pub event_type: EventType,
    /// Event time.
    pub occurred_at: Timestamp,
    /// The rep the event belongs to.
    pub rep_id: Cow<'a, str>,
    /// Team, if the source knows it.
    pub team_id: Option<Cow<'a, str>>,
    /// Region, if the source knows it.
    pub region: Option<Cow<'a, str>>,
    /// Source system.
    pub source: Option<Cow<'a, str>>,
    /// Type-specific fields.
    pub body: Body<'a>,
}
