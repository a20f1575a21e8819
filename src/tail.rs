//! `salespulse tail TOPIC`: follows a SalesPulse topic as a consumer would
//! and prints its records readably (or as NDJSON), each checked against the
//! published JSON Schema (docs/schemas/) that its `schema` field names; a
//! dead-letter record is checked by its headers (`dlq/1`).

use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{BorrowedMessage, Headers};
use rdkafka::{Message, Offset, TopicPartitionList};
use serde_json::{json, Value};

use salespulse_model::output::{published_schemas, SCHEMA_HEADER};

mod schema;

/// `salespulse tail` arguments.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// A topic name, or an output of `[output]`: scores, periods, kpis,
    /// coaching, alerts, statements, clock, dlq.
    pub topic: String,
    /// Config directory (brokers, `[kafka.client]` properties such as TLS/SASL).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Start at the beginning (a compacted topic's latest record per key and
    /// what compaction has not yet removed), not at the end.
    #[arg(long)]
    pub from_beginning: bool,
    /// One JSON line per record as received (a dead-letter record as
    /// `{"headers": {...}, "payload": "..."}`).
    #[arg(long)]
    pub ndjson: bool,
    /// Stop after this many records.
    #[arg(long)]
    pub max: Option<u64>,
    /// Stop once no record arrived for this long (e.g. `5s`); default:
    /// follow until interrupted.
    #[arg(long)]
    pub idle: Option<String>,
}

/// Every published schema, compiled, by schema id.
pub struct Schemas(HashMap<&'static str, std::rc::Rc<schema::Validator>>);

impl Schemas {
    /// Compiles the schemas this build publishes.
    pub fn published() -> Result<Schemas> {
        let mut by_id = HashMap::new();
        for p in published_schemas() {
            let schema = serde_json::to_value(&p.schema)?;
            let v = schema::Validator::new(schema)
                .map_err(|e| anyhow::anyhow!("schema {}: {e}", p.file))?;
            let v = std::rc::Rc::new(v);
            for id in p.ids {
                by_id.insert(*id, v.clone());
            }
        }
        Ok(Schemas(by_id))
    }

    /// The record's schema id if it is valid against it; else what is wrong
    /// (the first error, with its JSON path).
    pub fn check(&self, record: &Value) -> Result<String, String> {
        let Some(id) = record.get("schema").and_then(Value::as_str) else {
            return Err("no \"schema\" field naming the record's schema".into());
        };
        let Some(v) = self.0.get(id) else {
            let mut known: Vec<&str> = self.0.keys().copied().collect();
            known.sort_unstable();
            return Err(format!(
                "unknown schema {id:?} (this build knows {known:?})"
            ));
        };
        match v.first_error(record) {
            None => Ok(id.to_string()),
            Some(e) => Err(format!("{id} at {e}")),
        }
    }
}

/// What one record is, as printed and checked.
struct Seen {
    /// The record to check (a dead-letter record: its headers).
    checked: Value,
    /// What `--ndjson` prints.
    line: Value,
}

fn header_map(m: &BorrowedMessage<'_>) -> serde_json::Map<String, Value> {
    let mut out = serde_json::Map::new();
    if let Some(h) = m.headers() {
        for x in h.iter() {
            let v = x.value.map(|b| String::from_utf8_lossy(b).into_owned());
            out.insert(x.key.to_string(), v.map_or(Value::Null, Value::String));
        }
    }
    out
}

fn seen(m: &BorrowedMessage<'_>) -> Seen {
    let headers = header_map(m);
    let payload = m.payload().unwrap_or_default();
    let is_dlq =
        headers.get(SCHEMA_HEADER).and_then(Value::as_str) == Some(salespulse_model::output::DLQ);
    if is_dlq {
        let mut checked: serde_json::Map<String, Value> = headers.clone();
        if let Some(id) = checked.remove(SCHEMA_HEADER) {
            checked.insert("schema".into(), id);
        }
        let text = String::from_utf8_lossy(payload).into_owned();
        return Seen {
            checked: Value::Object(checked),
            line: json!({"headers": headers, "payload": text}),
        };
    }
    let record = serde_json::from_slice(payload).unwrap_or_else(
        |e| json!({"not_json": e.to_string(), "payload": String::from_utf8_lossy(payload)}),
    );
    Seen {
        checked: record.clone(),
        line: record,
    }
}

/// The topic an alias or name means.
fn topic_name(o: &salespulse_kafka::OutputSection, name: &str) -> String {
    match name {
        "scores" => o.scores.clone(),
        "periods" => o.periods.clone(),
        "kpis" => o.kpis.clone(),
        "coaching" => o.coaching.clone(),
        "alerts" => o.alerts.clone(),
        "statements" => o.statements.clone(),
        "clock" => o.clock.clone(),
        "dlq" => o.dlq.clone(),
        other => other.to_string(),
    }
}

/// Every partition of `topic`, from its beginning or its end.
fn assign_all(c: &BaseConsumer, topic: &str, from_beginning: bool) -> Result<()> {
    let md = c
        .fetch_metadata(Some(topic), Duration::from_secs(10))
        .with_context(|| format!("reading the metadata of {topic}"))?;
    let parts = md
        .topics()
        .first()
        .filter(|t| t.error().is_none())
        .map(|t| t.partitions().len())
        .unwrap_or(0);
    if parts == 0 {
        bail!("topic {topic} does not exist (or has no partitions)");
    }
    let mut tpl = TopicPartitionList::new();
    let at = if from_beginning {
        Offset::Beginning
    } else {
        Offset::End
    };
    for p in 0..parts {
        tpl.add_partition_offset(topic, p as i32, at)?;
    }
    c.assign(&tpl)?;
    Ok(())
}

/// `salespulse tail`.
pub fn run(a: &Args) -> Result<()> {
    let loaded = crate::config::load_all(a.config.as_deref())?;
    let topic = topic_name(&loaded.kafka.output, &a.topic);
    let idle = match &a.idle {
        Some(s) => Some(
            salespulse_window::parse_duration(s)
                .map(|ms| Duration::from_millis(ms as u64))
                .with_context(|| format!("--idle {s:?}: expected a duration such as 5s"))?,
        ),
        None => None,
    };
    let schemas = Schemas::published()?;
    let c: BaseConsumer = loaded
        .kafka
        .consumer_config()
        .set(
            "group.id",
            format!("salespulse-tail-{}", std::process::id()),
        )
        .set("enable.auto.commit", "false")
        .create()
        .context("creating the consumer")?;
    assign_all(&c, &topic, a.from_beginning)?;
    let (n, bad) = follow(&c, a, idle, &schemas)?;
    eprintln!("tail: {n} records from {topic}, {bad} invalid");
    if bad > 0 {
        bail!("{bad} of {n} records did not match their schema");
    }
    Ok(())
}

/// Prints records until `--max` or `--idle` says stop: how many, and how
/// many were invalid.
fn follow(
    c: &BaseConsumer,
    a: &Args,
    idle: Option<Duration>,
    schemas: &Schemas,
) -> Result<(u64, u64)> {
    let (mut n, mut bad) = (0u64, 0u64);
    let mut last = Instant::now();
    let out = std::io::stdout();
    while a.max.is_none_or(|max| n < max) && idle.is_none_or(|i| last.elapsed() < i) {
        let Some(m) = c.poll(Duration::from_millis(100)) else {
            continue;
        };
        let m = m.context("consuming")?;
        last = Instant::now();
        n += 1;
        let s = seen(&m);
        let verdict = schemas.check(&s.checked);
        if let Err(e) = &verdict {
            bad += 1;
            eprintln!(
                "invalid: {} {}@{}: {e}",
                m.topic(),
                m.partition(),
                m.offset()
            );
        }
        let mut w = out.lock();
        if a.ndjson {
            writeln!(w, "{}", s.line)?;
        } else {
            let key = m.key().map(String::from_utf8_lossy).unwrap_or_default();
            let id = verdict.map_or_else(|_| "INVALID".to_string(), |id| format!("{id} ok"));
            writeln!(
                w,
                "── {} {}@{} key {key} · {id}",
                m.topic(),
                m.partition(),
                m.offset()
            )?;
            writeln!(w, "{}", serde_json::to_string_pretty(&s.line)?)?;
        }
    }
    Ok((n, bad))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_is_checked_against_the_schema_it_names() {
        let s = Schemas::published().unwrap();
        let coaching = json!({"schema": "coaching/1", "rep_id": "r1", "team_id": null,
            "as_of": "2026-03-02T00:00:00Z", "seq": 3, "peers": 4, "items": []});
        assert_eq!(s.check(&coaching), Ok("coaching/1".to_string()));
        let mut wrong = coaching.clone();
        wrong["seq"] = json!("three");
        let e = s.check(&wrong).unwrap_err();
        assert!(e.starts_with("coaching/1 at /seq:"), "{e}");
        assert!(s
            .check(&json!({"rep_id": "r1"}))
            .unwrap_err()
            .contains("no \"schema\""));
        let e = s.check(&json!({"schema": "score/9"})).unwrap_err();
        assert!(e.contains("unknown schema \"score/9\""), "{e}");
    }

    #[test]
    fn every_golden_record_meets_its_schema() {
        let s = Schemas::published().unwrap();
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
        for file in ["small.all.ndjson", "small.final.ndjson"] {
            let text = std::fs::read_to_string(dir.join(file)).unwrap();
            for (i, line) in text.lines().enumerate() {
                let record: Value = serde_json::from_str(line).unwrap();
                assert!(
                    s.check(&record).is_ok(),
                    "{file}:{}: {:?}",
                    i + 1,
                    s.check(&record)
                );
            }
        }
    }
}
