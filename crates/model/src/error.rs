//! Why an input record was not applied: a stable reason code (part of the
//! DLQ contract) plus a message naming the field, the value and what was expected.

use std::fmt;

/// Stable, machine-readable reason a record was rejected. The string forms
/// are a public contract (DLQ headers, metrics labels): never rename one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Reason {
    /// The bytes are not a JSON document (syntax error, not UTF-8, empty).
    NotJson,
    /// The record is larger than the configured maximum.
    TooLarge,
    /// A required field is absent or null.
    MissingField,
    /// A field has the wrong JSON type (e.g. a number where a string is expected).
    WrongType,
    /// The `type` field names no known event type.
    UnknownType,
    /// A timestamp is not RFC 3339 with an offset.
    BadTimestamp,
    /// An amount is negative, malformed or has more decimals than its currency.
    BadAmount,
    /// A currency is not in the configured rate table.
    UnknownCurrency,
    /// A value is outside its allowed range (lengths, scores, versions, sizes).
    OutOfRange,
    /// The event is older than every window and period still kept.
    TooLate,
    /// The event is further ahead of the wall clock than `max_future_skew`.
    FutureTimestamp,
    /// An event with the same `event_id` was already applied within the dedupe horizon.
    Duplicate,
    /// A won deal flagged by the `outlier_deal` detector, held back because
    /// `outlier_deal.exclude` is on.
    Outlier,
    /// A known field appears twice in one record (parsers disagree on which
    /// copy counts, so neither is trusted).
    DuplicateField,
}

impl Reason {
    /// Every reason, in a stable order (for metrics and summaries).
    pub const ALL: [Reason; 14] = [
        Reason::NotJson,
        Reason::TooLarge,
        Reason::MissingField,
        Reason::WrongType,
        Reason::UnknownType,
        Reason::BadTimestamp,
        Reason::BadAmount,
        Reason::UnknownCurrency,
        Reason::OutOfRange,
        Reason::TooLate,
        Reason::FutureTimestamp,
        Reason::Duplicate,
        Reason::Outlier,
        Reason::DuplicateField,
    ];

    /// The stable snake_case code.
    pub fn code(self) -> &'static str {
        match self {
            Reason::NotJson => "not_json",
            Reason::TooLarge => "too_large",
            Reason::MissingField => "missing_field",
            Reason::WrongType => "wrong_type",
            Reason::UnknownType => "unknown_type",
            Reason::BadTimestamp => "bad_timestamp",
            Reason::BadAmount => "bad_amount",
            Reason::UnknownCurrency => "unknown_currency",
            Reason::OutOfRange => "out_of_range",
            Reason::TooLate => "too_late",
            Reason::FutureTimestamp => "future_timestamp",
            Reason::Duplicate => "duplicate",
            Reason::Outlier => "outlier",
            Reason::DuplicateField => "duplicate_field",
        }
    }

    /// Index into [`Reason::ALL`], for counters kept in arrays.
    pub fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// Who can fix an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorDomain {
    /// The user: a setting, an input, the topics they created.
    User,
    /// A system outside SalesPulse: the broker, the network, a peer.
    External,
    /// SalesPulse itself: a bug.
    Internal,
}

/// What to do about an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryHint {
    /// Try again: the cause may pass (a broker restarting, a network blip).
    Retry,
    /// Fix what the message names, then start again.
    AfterFix,
    /// Report it: trying again will fail the same way.
    Report,
}

impl fmt::Display for RetryHint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RetryHint::Retry => "this may pass: the service can be started again as it is",
            RetryHint::AfterFix => "fix what the message names, then start again",
            RetryHint::Report => "this is a bug in SalesPulse: please report it with the log",
        })
    }
}

/// A rejected record: the reason code and a human message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}: {message}")]
pub struct Rejection {
    /// Stable reason code.
    pub reason: Reason,
    /// Names the field, the offending value and what was expected.
    pub message: String,
}

impl Rejection {
    /// A rejection with a free-form message.
    pub fn new(reason: Reason, message: impl Into<String>) -> Self {
        Rejection {
            reason,
            message: message.into(),
        }
    }

    /// A rejection about one field: `field `name`: value V: expected E`.
    pub fn field(reason: Reason, field: &str, value: &str, expected: &str) -> Self {
        Rejection {
            reason,
            message: format!("field `{field}`: got {value}; expected {expected}"),
        }
    }

    /// A required field is absent.
    pub fn missing(field: &str, expected: &str) -> Self {
        Rejection {
            reason: Reason::MissingField,
            message: format!("field `{field}` is required; expected {expected}"),
        }
    }
}
