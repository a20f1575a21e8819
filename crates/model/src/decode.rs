//! Bytes -> validated [`Event`]. One pass of JSON parsing into raw fields
//! (known keys only; unknown keys are skipped for forward compatibility), then
//! per-field validation that names the field, the value and what was expected.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserializer, IgnoredAny, MapAccess, Visitor};

use crate::event::{ActivityKind, Body, Channel, Directory, Event, EventType, TargetOverride};
use crate::field::Field;
use crate::money::{parse_decimal, CurrencyTable, DecimalError, MAX_UNITS};
use crate::{KpiName, Money, Reason, Rejection, Timestamp};

/// What decoding needs besides the bytes.
#[derive(Debug, Clone)]
pub struct DecodeContext {
    /// Largest accepted record in bytes.
    pub max_bytes: usize,
    /// Accepted currencies and their rates.
    pub currencies: CurrencyTable,
}

/// Longest `event_id`.
pub const MAX_EVENT_ID: usize = 128;
/// Longest rep, team, region and other identifier.
pub const MAX_ID: usize = 64;
/// Most reps one `deal.won` may credit with an assist.
pub const MAX_ASSISTS: usize = 16;

macro_rules! keys {
    ($($variant:ident = $name:literal),* $(,)?) => {
        /// Every field name the decoder reads.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        #[repr(u8)]
        enum Key { $($variant),* }
        const KEY_COUNT: usize = [$(Key::$variant),*].len();
        /// Every field name the decoder reads, for checks against the published schema.
        pub const FIELD_NAMES: &[&str] = &[$($name),*];
        impl Key {
            fn parse(s: &str) -> Option<Key> {
                match s { $($name => Some(Key::$variant),)* _ => None }
            }
            fn name(self) -> &'static str {
                match self { $(Key::$variant => $name),* }
            }
        }
    };
}

keys! {
    EventId = "event_id", Type = "type", OccurredAt = "occurred_at", RepId = "rep_id",
    TeamId = "team_id", Region = "region", Source = "source", SchemaVersion = "schema_version",
    DealId = "deal_id", Amount = "amount", Currency = "currency", CustomerId = "customer_id",
    Channel = "channel", PartnerId = "partner_id", Stage = "stage", NewCustomer = "new_customer",
    CreatedAt = "created_at", AssistRepIds = "assist_rep_ids", Reason = "reason",
    DurationS = "duration_s", Outcome = "outcome", InvoiceId = "invoice_id", Csat = "csat",
    Nps = "nps", Role = "role", ManagerId = "manager_id", Active = "active",
    StartDate = "start_date", Targets = "targets",
}

/// The known fields of one record, before validation.
struct Raw<'a> {
    fields: [Option<Field<'a>>; KEY_COUNT],
    /// The first known field seen twice.
    duplicate: Option<Key>,
}

/// Fills a [`Raw`] in place (it is about a kilobyte; moving it out of serde costs more than parsing a field).
struct RawSeed<'r, 'de>(&'r mut Raw<'de>);

impl<'de> de::DeserializeSeed<'de> for RawSeed<'_, 'de> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for RawSeed<'_, 'de> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an event object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<crate::field::BorrowedStr<'de>>()? {
            match Key::parse(&key.0) {
                Some(k) => {
                    let v = map.next_value::<Field<'de>>()?;
                    if self.0.fields[k as usize].replace(v).is_some() {
                        self.0.duplicate.get_or_insert(k);
                    }
                }
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

/// Decodes and validates one record.
pub fn decode<'a>(bytes: &'a [u8], ctx: &DecodeContext) -> Result<Event<'a>, Rejection> {
    if bytes.len() > ctx.max_bytes {
        return Err(Rejection::new(
            Reason::TooLarge,
            format!(
                "record is {} bytes; the limit is {} (limits.max_event_bytes)",
                bytes.len(),
                ctx.max_bytes
            ),
        ));
    }
    // One UTF-8 check for the whole record lets serde_json skip it per string.
    let text = std::str::from_utf8(bytes).map_err(|e| {
        Rejection::new(
            Reason::NotJson,
            format!(
                "not a JSON document: invalid UTF-8 at byte {}",
                e.valid_up_to()
            ),
        )
    })?;
    let mut raw = Raw {
        fields: std::array::from_fn(|_| None),
        duplicate: None,
    };
    let mut de = serde_json::Deserializer::from_str(text);
    de::DeserializeSeed::deserialize(RawSeed(&mut raw), &mut de)
        .and_then(|()| de.end())
        .map_err(|e| {
            use serde_json::error::Category;
            match e.classify() {
                Category::Data => Rejection::new(
                    Reason::WrongType,
                    format!("the record must be a JSON object: {e}"),
                ),
                _ => Rejection::new(Reason::NotJson, format!("not a JSON document: {e}")),
            }
        })?;
    if let Some(k) = raw.duplicate {
        return Err(Rejection::new(
            Reason::DuplicateField,
            format!(
                "field `{}` appears more than once; expected each field once",
                k.name()
            ),
        ));
    }
    raw.validate(ctx)
}

impl<'a> Raw<'a> {
    fn take(&mut self, k: Key) -> Option<Field<'a>> {
        match self.fields[k as usize].take() {
            None | Some(Field::Null) => None,
            some => some,
        }
    }

    fn opt_str(&mut self, k: Key, max: usize) -> Result<Option<Cow<'a, str>>, Rejection> {
        match self.take(k) {
            None => Ok(None),
            Some(f) => checked_str(k.name(), f, max).map(Some),
        }
    }

    fn req_str(&mut self, k: Key, max: usize) -> Result<Cow<'a, str>, Rejection> {
        self.opt_str(k, max)?.ok_or_else(|| {
            Rejection::missing(k.name(), &format!("a string of 1 to {max} characters"))
        })
    }

    fn opt_bool(&mut self, k: Key) -> Result<Option<bool>, Rejection> {
        match self.take(k) {
            None => Ok(None),
            Some(Field::Bool(b)) => Ok(Some(b)),
            Some(f) => Err(Rejection::field(
                Reason::WrongType,
                k.name(),
                &f.describe(),
                "true or false",
            )),
        }
    }

    fn opt_int(&mut self, k: Key, lo: i64, hi: i64) -> Result<Option<i64>, Rejection> {
        let expected = || format!("an integer from {lo} to {hi}");
        let v = match self.take(k) {
            None => return Ok(None),
            Some(Field::Int(i)) => i,
            Some(Field::UInt(u)) => i64::try_from(u).unwrap_or(i64::MAX),
            Some(f) => {
                return Err(Rejection::field(
                    Reason::WrongType,
                    k.name(),
                    &f.describe(),
                    &expected(),
                ))
            }
        };
        if !(lo..=hi).contains(&v) {
            return Err(Rejection::field(
                Reason::OutOfRange,
                k.name(),
                &v.to_string(),
                &expected(),
            ));
        }
        Ok(Some(v))
    }

    fn timestamp(&mut self, k: Key) -> Result<Option<Timestamp>, Rejection> {
        match self.take(k) {
            None => Ok(None),
            Some(Field::Str(s)) => Timestamp::parse_rfc3339(&s).map(Some).map_err(|why| {
                Rejection::field(
                    Reason::BadTimestamp,
                    k.name(),
                    &format!("{s:?} ({why})"),
                    "an RFC 3339 timestamp with offset, e.g. \"2026-03-01T09:30:00Z\"",
                )
            }),
            Some(f) => Err(Rejection::field(
                Reason::WrongType,
                k.name(),
                &f.describe(),
                "an RFC 3339 timestamp string",
            )),
        }
    }

    fn money(&mut self, ctx: &DecodeContext) -> Result<Money, Rejection> {
        let code = self.req_str(Key::Currency, 3)?;
        let entry = ctx.currencies.get(&code).ok_or_else(|| {
            Rejection::field(
                Reason::UnknownCurrency,
                "currency",
                &format!("{code:?}"),
                "a currency of the rate table (currency.rates in the config)",
            )
        })?;
        let text: Cow<'_, str> = match self.take(Key::Amount) {
            None => {
                return Err(Rejection::missing(
                    "amount",
                    "a decimal string like \"1234.56\"",
                ))
            }
            Some(Field::Str(s)) => s,
            Some(Field::Int(i)) => Cow::Owned(i.to_string()),
            Some(Field::UInt(u)) => Cow::Owned(u.to_string()),
            // Rust prints the shortest text that reads back as the same f64,
            // which is the text the producer wrote for up to 15 significant digits.
            Some(Field::Float(f)) => Cow::Owned(format!("{f}")),
            Some(f) => {
                return Err(Rejection::field(
                    Reason::WrongType,
                    "amount",
                    &f.describe(),
                    "a decimal string like \"1234.56\" or a JSON number",
                ))
            }
        };
        let exp = entry.exponent;
        let minor = parse_decimal(&text, exp).map_err(|e| {
            let why = match e {
                DecimalError::Negative => "a non-negative amount".to_string(),
                DecimalError::TooManyDecimals => format!("at most {exp} decimals for {code}"),
                DecimalError::Malformed | DecimalError::TooLarge => {
                    "a plain decimal like \"1234.56\" (no sign, exponent or separators)".to_string()
                }
            };
            Rejection::field(Reason::BadAmount, "amount", &format!("{text:?}"), &why)
        })?;
        let micros = CurrencyTable::to_micros(entry, minor);
        let limit = i128::from(MAX_UNITS) * 1_000_000;
        if i128::from(minor) > i128::from(MAX_UNITS) * 10i128.pow(exp) || micros > limit {
            return Err(Rejection::field(
                Reason::OutOfRange,
                "amount",
                &format!("{text:?} {code}"),
                "at most 1e12 units (in its currency and in the reporting currency)",
            ));
        }
        let c = code.as_bytes();
        Ok(Money {
            minor,
            currency: [c[0], c[1], c[2]],
            micros: micros as i64,
        })
    }

    fn channel(&mut self) -> Result<Channel, Rejection> {
        let c = self.req_str(Key::Channel, MAX_ID)?;
        match &*c {
            "direct" => Ok(Channel::Direct),
            "partner" => Ok(Channel::Partner),
            other => Err(Rejection::field(
                Reason::OutOfRange,
                "channel",
                &format!("{other:?}"),
                "\"direct\" or \"partner\"",
            )),
        }
    }

    fn validate(&mut self, ctx: &DecodeContext) -> Result<Event<'a>, Rejection> {
        let type_name = self.req_str(Key::Type, 64)?;
        let event_type = EventType::parse(&type_name).ok_or_else(|| {
            Rejection::field(
                Reason::UnknownType,
                "type",
                &format!("{type_name:?}"),
                &format!(
                    "one of {}",
                    EventType::ALL.map(EventType::as_str).join(", ")
                ),
            )
        })?;
        let event_id = self.req_str(Key::EventId, MAX_EVENT_ID)?;
        let occurred_at = self.timestamp(Key::OccurredAt)?.ok_or_else(|| {
            Rejection::missing(
                "occurred_at",
                "an RFC 3339 timestamp like \"2026-03-01T09:30:00Z\"",
            )
        })?;
        let rep_id = self.req_str(Key::RepId, MAX_ID)?;
        if let Some(v) = self.opt_int(Key::SchemaVersion, 1, 1)? {
            debug_assert_eq!(v, 1);
        }
        let team_id = self.opt_str(Key::TeamId, MAX_ID)?;
        let region = self.opt_str(Key::Region, MAX_ID)?;
        let source = self.opt_str(Key::Source, MAX_ID)?;
        let body = self.body(event_type, &rep_id, (&team_id, &region), ctx)?;
        Ok(Event {
            event_id,
            event_type,
            occurred_at,
            rep_id,
            team_id,
            region,
            source,
            body,
        })
    }

    fn body(
        &mut self,
        t: EventType,
        rep_id: &str,
        team_region: (&Option<Cow<'a, str>>, &Option<Cow<'a, str>>),
        ctx: &DecodeContext,
    ) -> Result<Body<'a>, Rejection> {
        Ok(match t {
            EventType::DealCreated => {
                let deal_id = self.req_str(Key::DealId, MAX_ID)?;
                let amount = self.money(ctx)?;
                self.req_str(Key::CustomerId, MAX_ID)?;
                let channel = self.channel()?;
                self.opt_str(Key::PartnerId, MAX_ID)?;
                Body::DealCreated {
                    deal_id,
                    amount,
                    channel,
                }
            }
            EventType::DealStageChanged => {
                let deal_id = self.req_str(Key::DealId, MAX_ID)?;
                self.req_str(Key::Stage, MAX_ID)?;
                Body::DealStageChanged { deal_id }
            }
            EventType::DealWon => {
                let deal_id = self.req_str(Key::DealId, MAX_ID)?;
                let amount = self.money(ctx)?;
                self.req_str(Key::CustomerId, MAX_ID)?;
                let channel = self.channel()?;
                self.opt_str(Key::PartnerId, MAX_ID)?;
                let new_customer = self.opt_bool(Key::NewCustomer)?.unwrap_or(false);
                let created_at = self.timestamp(Key::CreatedAt)?;
                let assist_rep_ids = self.assists(rep_id)?;
                Body::DealWon {
                    deal_id,
                    amount,
                    channel,
                    new_customer,
                    created_at,
                    assist_rep_ids,
                }
            }
            EventType::DealLost => {
                let deal_id = self.req_str(Key::DealId, MAX_ID)?;
                self.opt_str(Key::Reason, 1024)?;
                Body::DealLost { deal_id }
            }
            EventType::ActivityCall | EventType::ActivityMeeting | EventType::ActivityEmail => {
                self.opt_str(Key::CustomerId, MAX_ID)?;
                self.opt_str(Key::Outcome, 1024)?;
                let duration_s = self
                    .opt_int(Key::DurationS, 0, 7 * 86_400)?
                    .map(|d| d as u32);
                let kind = match t {
                    EventType::ActivityCall => ActivityKind::Call,
                    EventType::ActivityMeeting => ActivityKind::Meeting,
                    _ => ActivityKind::Email,
                };
                Body::Activity { kind, duration_s }
            }
            EventType::InvoiceIssued => {
                self.req_str(Key::InvoiceId, MAX_ID)?;
                let amount = self.money(ctx)?;
                self.req_str(Key::CustomerId, MAX_ID)?;
                Body::InvoiceIssued { amount }
            }
            EventType::PaymentReceived => {
                self.req_str(Key::InvoiceId, MAX_ID)?;
                Body::PaymentReceived {
                    amount: self.money(ctx)?,
                }
            }
            EventType::RefundIssued => {
                let deal_id = self.req_str(Key::DealId, MAX_ID)?;
                Body::RefundIssued {
                    deal_id,
                    amount: self.money(ctx)?,
                }
            }
            EventType::FeedbackReceived => {
                self.req_str(Key::CustomerId, MAX_ID)?;
                let csat = self.opt_int(Key::Csat, 1, 5)?.map(|v| v as u8);
                let nps = self.opt_int(Key::Nps, 0, 10)?.map(|v| v as u8);
                if csat.is_none() && nps.is_none() {
                    return Err(Rejection::missing(
                        "csat",
                        "`csat` (integer 1-5) and/or `nps` (integer 0-10) in feedback.received",
                    ));
                }
                Body::FeedbackReceived { csat, nps }
            }
            EventType::PartnerOnboarded => {
                self.req_str(Key::PartnerId, MAX_ID)?;
                Body::PartnerOnboarded
            }
            EventType::RepUpdated => Body::RepUpdated(Box::new(self.directory(team_region)?)),
        })
    }

    fn assists(&mut self, rep_id: &str) -> Result<Vec<Cow<'a, str>>, Rejection> {
        let items = match self.take(Key::AssistRepIds) {
            None => return Ok(Vec::new()),
            Some(Field::Array(items)) => items,
            Some(f) => {
                return Err(Rejection::field(
                    Reason::WrongType,
                    "assist_rep_ids",
                    &f.describe(),
                    "an array of rep id strings",
                ))
            }
        };
        if items.len() > MAX_ASSISTS {
            return Err(Rejection::field(
                Reason::OutOfRange,
                "assist_rep_ids",
                &format!("{} entries", items.len()),
                &format!("at most {MAX_ASSISTS}"),
            ));
        }
        let mut out: Vec<Cow<'a, str>> = Vec::with_capacity(items.len());
        for item in items {
            let id = checked_str("assist_rep_ids[]", item, MAX_ID)?;
            // The owner does not assist themself, and one rep is credited once.
            if *id != *rep_id && !out.contains(&id) {
                out.push(id);
            }
        }
        Ok(out)
    }

    fn directory(
        &mut self,
        (team_id, region): (&Option<Cow<'a, str>>, &Option<Cow<'a, str>>),
    ) -> Result<Directory, Rejection> {
        let role = self.req_str(Key::Role, MAX_ID)?.into_owned();
        let required = |name: &str, v: &Option<Cow<'a, str>>| {
            v.as_ref().map(|s| s.to_string()).ok_or_else(|| {
                Rejection::missing(
                    name,
                    "a string of 1 to 64 characters (required in rep.updated)",
                )
            })
        };
        let team_id = required("team_id", team_id)?;
        let region = required("region", region)?;
        let manager_id = self.opt_str(Key::ManagerId, MAX_ID)?.map(Cow::into_owned);
        let active = self.opt_bool(Key::Active)?.unwrap_or(true);
        let start_date = match self.take(Key::StartDate) {
            None => None,
            Some(Field::Str(s)) => Some(parse_date(&s).ok_or_else(|| {
                Rejection::field(
                    Reason::BadTimestamp,
                    "start_date",
                    &format!("{s:?}"),
                    "a date YYYY-MM-DD",
                )
            })?),
            Some(f) => {
                return Err(Rejection::field(
                    Reason::WrongType,
                    "start_date",
                    &f.describe(),
                    "a date string YYYY-MM-DD",
                ))
            }
        };
        let targets = match self.take(Key::Targets) {
            None => Vec::new(),
            Some(f) => parse_targets(f)?,
        };
        Ok(Directory {
            role,
            team_id,
            region,
            manager_id,
            active,
            start_date,
            targets,
        })
    }
}

fn checked_str<'a>(name: &str, f: Field<'a>, max: usize) -> Result<Cow<'a, str>, Rejection> {
    // Customer data is described by its shape, never quoted.
    let describe = |f: &Field<'_>| match f {
        Field::Str(s) if crate::privacy::is_sensitive(name) => {
            format!("a string of {} characters", s.chars().count())
        }
        Field::Array(_) | Field::Object(_) | Field::Null | Field::Bool(_) => f.describe(),
        _ if crate::privacy::is_sensitive(name) => "a number".to_string(),
        _ => f.describe(),
    };
    match f {
        // Control characters (NUL, ESC, C1) in an id would reach Kafka keys,
        // metric labels and terminals; free text may hold line breaks.
        Field::Str(s) if !crate::privacy::TEXT_FIELDS.contains(&name) && has_control(&s) => {
            Err(Rejection::field(
                Reason::OutOfRange,
                name,
                &format!(
                    "{} with a control character",
                    describe(&Field::Str(s.clone()))
                ),
                "printable characters only",
            ))
        }
        // Byte length bounds the character count, so most ids skip the count.
        Field::Str(s) if !s.is_empty() && (s.len() <= max || s.chars().count() <= max) => Ok(s),
        Field::Str(s) => Err(Rejection::field(
            Reason::OutOfRange,
            name,
            &describe(&Field::Str(s)),
            &format!("a string of 1 to {max} characters"),
        )),
        other => Err(Rejection::field(
            Reason::WrongType,
            name,
            &describe(&other),
            &format!("a string of 1 to {max} characters"),
        )),
    }
}

/// Whether `s` holds a C0 or C1 control character or DEL (a byte scan:
/// C1 controls are U+0080..U+009F, encoded 0xC2 0x80..0x9F).
fn has_control(s: &str) -> bool {
    let b = s.as_bytes();
    b.iter().enumerate().any(|(i, &c)| {
        c < 0x20
            || c == 0x7f
            || (c == 0xc2 && b.get(i + 1).is_some_and(|n| (0x80..0xa0).contains(n)))
    })
}

/// Parses `YYYY-MM-DD` into days since 1970-01-01.
pub fn parse_date(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| s.get(r)?.parse::<i64>().ok();
    let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    if !(1..=12).contains(&m) || d < 1 || d > crate::time::days_in_month(y, m) {
        return None;
    }
    Some(crate::time::days_from_civil(y, m, d))
}

fn parse_targets(f: Field<'_>) -> Result<Vec<TargetOverride>, Rejection> {
    let expected = "an object like {\"revenue\": {\"month\": 50000}}";
    let Field::Object(kpis) = f else {
        return Err(Rejection::field(
            Reason::WrongType,
            "targets",
            &f.describe(),
            expected,
        ));
    };
    let mut out = Vec::new();
    for (kpi_name, windows) in kpis {
        let kpi = KpiName::parse(&kpi_name).ok_or_else(|| {
            Rejection::field(
                Reason::OutOfRange,
                "targets",
                &format!("KPI {kpi_name:?}"),
                &format!("one of {}", KpiName::all_names()),
            )
        })?;
        let Field::Object(windows) = windows else {
            return Err(Rejection::field(
                Reason::WrongType,
                &format!("targets.{kpi_name}"),
                &windows.describe(),
                expected,
            ));
        };
        for (window, value) in windows {
            let name = format!("targets.{kpi_name}.{window}");
            let v = match value {
                Field::Int(i) => i as f64,
                Field::UInt(u) => u as f64,
                Field::Float(x) => x,
                other => {
                    return Err(Rejection::field(
                        Reason::WrongType,
                        &name,
                        &other.describe(),
                        "a number",
                    ))
                }
            };
            if !(v.is_finite() && v > 0.0) || window.is_empty() || window.len() > 16 {
                return Err(Rejection::field(
                    Reason::OutOfRange,
                    &name,
                    &v.to_string(),
                    "a positive number",
                ));
            }
            out.push(TargetOverride {
                kpi,
                window: window.into_owned(),
                value: v,
            });
        }
    }
    Ok(out)
}
