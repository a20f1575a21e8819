//! `salespulse topics create`: every topic the service uses, idempotently.

use std::time::Duration;

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::types::RDKafkaErrorCode;

use crate::{KafkaError, KafkaSettings};

/// What happened to one topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TopicOutcome {
    /// Created now.
    Created(String),
    /// Already there (left as it is).
    Existed(String),
}

/// Creates the input, score, period, KPI, coaching, DLQ, by-rep, changelog,
/// alert, statement and control topics. The score, period, KPI, coaching,
/// statement and changelog topics are compacted (only the latest record per
/// key matters); the others use the broker's delete policy. Existing topics are left alone.
pub async fn create_topics(
    s: &KafkaSettings,
    partitions: Option<i32>,
) -> Result<Vec<TopicOutcome>, KafkaError> {
    let admin: AdminClient<DefaultClientContext> = s
        .client_config()
        .create()
        .map_err(KafkaError::client("creating the admin client"))?;
    let p = partitions.unwrap_or(s.topics.partitions);
    let rf = || TopicReplication::Fixed(s.topics.replication_factor);
    let mut wanted: Vec<NewTopic<'_>> = s
        .input
        .topics
        .iter()
        .map(|t| NewTopic::new(t, p, rf()))
        .collect();
    for t in [
        &s.output.scores,
        &s.output.periods,
        &s.output.kpis,
        &s.output.coaching,
    ] {
        wanted.push(NewTopic::new(t, p, rf()).set("cleanup.policy", "compact"));
    }
    wanted.push(NewTopic::new(&s.output.dlq, p, rf()));
    wanted.push(NewTopic::new(&s.output.by_rep, p, rf()));
    wanted.push(NewTopic::new(&s.output.changelog, p, rf()).set("cleanup.policy", "compact"));
    wanted.push(NewTopic::new(&s.output.alerts, p, rf()));
    // Keyed by rep and period: compaction keeps every period's latest statement.
    wanted.push(NewTopic::new(&s.output.statements, p, rf()).set("cleanup.policy", "compact"));
    // Every version must stay readable: replays and restarts rebuild the
    // timeline from the whole topic (a few KB per change).
    wanted.push(NewTopic::new(&s.output.control, 1, rf()).set("retention.ms", "-1"));
    // A clock move is needed to replay its partition's input: kept as long
    // as the input (the broker's default retention, like the input topics).
    wanted.push(NewTopic::new(&s.output.clock, p, rf()));
    let opts = AdminOptions::new().operation_timeout(Some(Duration::from_secs(10)));
    let results = admin
        .create_topics(wanted.iter(), &opts)
        .await
        .map_err(KafkaError::client("creating topics"))?;
    let mut out = Vec::new();
    for r in results {
        match r {
            Ok(name) => out.push(TopicOutcome::Created(name)),
            Err((name, RDKafkaErrorCode::TopicAlreadyExists)) => {
                out.push(TopicOutcome::Existed(name))
            }
            Err((name, code)) => {
                return Err(KafkaError::Topics(format!("creating topic {name}: {code}")));
            }
        }
    }
    Ok(out)
}
