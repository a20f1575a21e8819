//! The Kafka side of the pipeline's [`Sink`]: where each output goes.
//! Score records to `salespulse.scores` (with the `salespulse.head`
//! header), period summaries to `salespulse.periods`, KPI and coaching
//! records to their topics, alerts to `salespulse.alerts`, assist
//! credits to the by-rep topic (keyed by the helper), changelog records to
//! the owned changelog partition; and rejected input to the DLQ. Every
//! record is queued in [`Inflight`], in the emit cycle that sent it if any.
//! [`Out`] owns what a sink borrows.

use std::sync::Arc;

use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{DeliveryFuture, FutureProducer, FutureRecord};
use rdkafka::Message;

use salespulse_engine::Credit;
use salespulse_model::output::SCHEMA_HEADER;
use salespulse_model::record::{
    period_key, CoachingRecord, KpiRecord, LastPeriodsRecord, RecordKind, ScoreRecord,
    StatementRecord, HEAD_HEADER,
};
use salespulse_model::{AlertKind, AlertRecord, AlertStatus, Rejection};
use salespulse_pipeline::{encode_credit, Sink, KIND_CREDIT, KIND_HEADER};

use super::inflight::Inflight;
use super::now_ms;
use super::txn::Txn;
use super::RunSummary;
use crate::business::PerRep;
use crate::contexts::ProducerHealth;
use crate::layout::Layout;
use crate::service::OutputMetrics;
use crate::{KafkaError, KafkaSettings, Status};

/// Queues one keyed record (to `partition`, or where the partitioner puts
/// the key), with `headers` when given, and counts its bytes.
pub(super) fn send(
    (producer, output): (&FutureProducer<ProducerHealth>, &OutputMetrics),
    topic: &str,
    partition: Option<i32>,
    key: &str,
    payload: &[u8],
    headers: Option<OwnedHeaders>,
) -> Result<DeliveryFuture, KafkaError> {
    let headers_len = headers.as_ref().map_or(0, header_bytes);
    output.queued(topic, key.len() + payload.len() + headers_len);
    let mut record = FutureRecord::to(topic).key(key).payload(payload);
    if let Some(p) = partition {
        record = record.partition(p);
    }
    if let Some(headers) = headers {
        record = record.headers(headers);
    }
    producer
        .send_result(record)
        .map_err(|(e, _)| KafkaError::Client {
            context: format!("queueing a record for {topic}"),
            source: e,
        })
}

/// The bytes of `headers`' keys and values.
pub(crate) fn header_bytes(headers: &OwnedHeaders) -> usize {
    use rdkafka::message::Headers;
    headers
        .iter()
        .map(|h| h.key.len() + h.value.map_or(0, <[u8]>::len))
        .sum()
}

/// A `salespulse.kind` header naming what a by-rep record is.
pub(super) fn kind_header(kind: &str) -> OwnedHeaders {
    OwnedHeaders::new().insert(Header {
        key: KIND_HEADER,
        value: Some(kind),
    })
}

/// The `salespulse.head` header of a score record: what readers that route
/// or order score records need (kind, rep, version, stream time, team,
/// profile, day close), so they need not parse the whole record.
fn head_header(rec: &ScoreRecord) -> Result<OwnedHeaders, KafkaError> {
    let head =
        serde_json::to_vec(&rec.head()).map_err(KafkaError::encode("a score record's head"))?;
    Ok(schema_header(&rec.schema).insert(Header {
        key: HEAD_HEADER,
        value: Some(&head),
    }))
}

/// The `salespulse.schema` header: the record's schema id, as in its
/// `schema` field, for consumers that dispatch before parsing.
pub(crate) fn schema_header(schema: &str) -> OwnedHeaders {
    OwnedHeaders::new().insert(Header {
        key: SCHEMA_HEADER,
        value: Some(schema),
    })
}

/// Queues a rejected record to the DLQ: its original bytes and key, with
/// headers saying why and where it came from.
pub(super) fn send_dlq<M: Message>(
    s: &KafkaSettings,
    (producer, output): (&FutureProducer<ProducerHealth>, &OutputMetrics),
    m: &M,
    rej: &Rejection,
) -> Result<DeliveryFuture, KafkaError> {
    let partition = m.partition().to_string();
    let offset = m.offset().to_string();
    let headers = OwnedHeaders::new()
        .insert(Header {
            key: SCHEMA_HEADER,
            value: Some(salespulse_model::output::DLQ),
        })
        .insert(Header {
            key: "reason",
            value: Some(rej.reason.code()),
        })
        .insert(Header {
            key: "message",
            value: Some(rej.message.as_str()),
        })
        .insert(Header {
            key: "source_topic",
            value: Some(m.topic()),
        })
        .insert(Header {
            key: "source_partition",
            value: Some(partition.as_str()),
        })
        .insert(Header {
            key: "source_offset",
            value: Some(offset.as_str()),
        });
    let original = m.payload().unwrap_or_default();
    let (payload, key) = if s.dlq.redact {
        // The reason, offsets (headers) and fingerprints; no original bytes.
        let p = crate::redacted_dlq_payload(rej.reason.code(), &rej.message, original);
        let k = m.key().map(salespulse_model::privacy::sha256_hex);
        (std::borrow::Cow::Owned(p), k.map(|k| k.into_bytes()))
    } else {
        (
            std::borrow::Cow::Borrowed(original),
            m.key().map(<[u8]>::to_vec),
        )
    };
    let bytes = payload.len() + key.as_ref().map_or(0, Vec::len) + header_bytes(&headers);
    output.queued(&s.output.dlq, bytes);
    let mut record = FutureRecord::to(&s.output.dlq)
        .payload(payload.as_ref())
        .headers(headers);
    if let Some(k) = &key {
        record = record.key(k.as_slice());
    }
    producer
        .send_result(record)
        .map_err(|(e, _)| KafkaError::Client {
            context: "queueing a DLQ record".into(),
            source: e,
        })
}

/// The pipeline's outputs, queued to Kafka.
pub(super) struct KafkaSink<'a> {
    pub s: &'a KafkaSettings,
    pub changelog: &'a str,
    pub by_rep: &'a str,
    pub producer: &'a FutureProducer<ProducerHealth>,
    pub inflight: &'a mut Inflight,
    pub status: &'a Status,
    pub per_rep: &'a mut PerRep,
    pub summary: &'a mut RunSummary,
    /// The emit cycle score records and alerts belong to, if any.
    pub cycle: Option<u64>,
    /// Score records and summaries queued.
    pub emitted: u64,
    /// Alerts queued, for the cycle's counts.
    pub alerts: Vec<(AlertKind, AlertStatus)>,
}

/// The output topics whose records carry only the schema header.
enum Topic {
    Periods,
    Kpis,
    Coaching,
    Statements,
}

impl KafkaSink<'_> {
    /// Queues `payload` to `topic` under `key`, with its schema header, in
    /// the current emit cycle.
    fn keyed(
        &mut self,
        topic: Topic,
        key: &str,
        payload: &[u8],
        schema: &str,
    ) -> Result<(), KafkaError> {
        let o = &self.s.output;
        let name = match topic {
            Topic::Periods => &o.periods,
            Topic::Kpis => &o.kpis,
            Topic::Coaching => &o.coaching,
            Topic::Statements => &o.statements,
        };
        let f = send(
            (self.producer, &self.status.output),
            name,
            None,
            key,
            payload,
            Some(schema_header(schema)),
        )?;
        self.inflight.push_in(self.cycle, f, now_ms());
        Ok(())
    }
}

impl Sink for KafkaSink<'_> {
    type Error = KafkaError;

    fn record(&mut self, partition: i32, rec: &ScoreRecord) -> Result<(), KafkaError> {
        self.per_rep.observe(&self.status.business, partition, rec);
        let payload = serde_json::to_vec(rec).map_err(KafkaError::encode("a score record"))?;
        if let (RecordKind::PeriodSummary, Some(period)) = (rec.kind, &rec.period) {
            self.keyed(
                Topic::Periods,
                &period_key(&rec.rep_id, period),
                &payload,
                &rec.schema,
            )?;
            self.emitted += 1;
            return Ok(());
        }
        let f = send(
            (self.producer, &self.status.output),
            &self.s.output.scores,
            None,
            &rec.rep_id,
            &payload,
            Some(head_header(rec)?),
        )?;
        self.inflight.push_in(self.cycle, f, now_ms());
        self.emitted += 1;
        Ok(())
    }

    fn kpis(&mut self, _: i32, k: &KpiRecord) -> Result<(), KafkaError> {
        let payload = serde_json::to_vec(k).map_err(KafkaError::encode("a KPI record"))?;
        self.keyed(Topic::Kpis, &k.rep_id, &payload, &k.schema)
    }

    fn last_periods(&mut self, _: i32, l: &LastPeriodsRecord) -> Result<(), KafkaError> {
        let payload = serde_json::to_vec(l).map_err(KafkaError::encode("a last periods record"))?;
        self.keyed(Topic::Periods, &l.rep_id, &payload, &l.schema)
    }

    fn coaching(&mut self, _: i32, c: &CoachingRecord) -> Result<(), KafkaError> {
        let payload = serde_json::to_vec(c).map_err(KafkaError::encode("a coaching record"))?;
        self.keyed(Topic::Coaching, &c.rep_id, &payload, &c.schema)
    }

    fn alert(&mut self, _: i32, a: &AlertRecord) -> Result<(), KafkaError> {
        let payload = serde_json::to_vec(a).map_err(KafkaError::encode("an alert"))?;
        let key = a.rep_id.as_deref().or(a.source.as_deref()).unwrap_or("");
        let f = send(
            (self.producer, &self.status.output),
            &self.s.output.alerts,
            None,
            key,
            &payload,
            Some(schema_header(&a.schema)),
        )?;
        self.inflight.push_in(self.cycle, f, now_ms());
        self.alerts.push((a.kind, a.status));
        Ok(())
    }

    fn statement(&mut self, _: i32, st: &StatementRecord) -> Result<(), KafkaError> {
        let payload = serde_json::to_vec(st).map_err(KafkaError::encode("a statement"))?;
        self.keyed(Topic::Statements, &st.key, &payload, &st.schema)
    }

    fn credit(&mut self, _: i32, c: &Credit) -> Result<(), KafkaError> {
        let f = send(
            (self.producer, &self.status.output),
            self.by_rep,
            None,
            &c.rep_id,
            &encode_credit(c),
            Some(kind_header(KIND_CREDIT)),
        )?;
        self.inflight.push(f, now_ms());
        self.summary.credits_sent += 1;
        self.status.ingest.credit_sent();
        Ok(())
    }

    fn state(&mut self, partition: i32, rep_id: &str, bytes: &[u8]) -> Result<(), KafkaError> {
        let f = send(
            (self.producer, &self.status.output),
            self.changelog,
            Some(partition),
            rep_id,
            bytes,
            None,
        )?;
        self.inflight.push(f, now_ms());
        self.summary.changelog_written += 1;
        self.status.output.changelog_record(bytes.len());
        Ok(())
    }
}

/// Where outputs go: everything a [`KafkaSink`] borrows, apart from the
/// pipeline that feeds it.
pub(super) struct Out {
    pub s: KafkaSettings,
    pub layout: Layout,
    pub status: Arc<Status>,
    pub producer: FutureProducer<ProducerHealth>,
    /// The open transaction when `kafka.transactional` is on.
    pub txn: Option<Txn>,
    pub inflight: Inflight,
    pub summary: RunSummary,
    pub per_rep: PerRep,
}

impl Out {
    /// A sink for the pipeline's outputs, in emit cycle `cycle` if any.
    pub(super) fn sink(&mut self, cycle: Option<u64>) -> KafkaSink<'_> {
        KafkaSink {
            s: &self.s,
            changelog: &self.layout.changelog,
            by_rep: &self.layout.by_rep,
            producer: &self.producer,
            inflight: &mut self.inflight,
            status: &self.status,
            per_rep: &mut self.per_rep,
            summary: &mut self.summary,
            cycle,
            emitted: 0,
            alerts: Vec::new(),
        }
    }
}
