//! Which topics the service consumes and what it does with each record.
//!
//! With `input.keyed_by = "rep_id"` the input topics and the by-rep topic
//! are processed together: partition i of each belongs to the same engine,
//! so they must have the same partition count and the consumer group uses
//! the range assignor, which hands partition i of every topic to the same
//! member. With `"other"` the input topics are only validated and re-keyed
//! to the by-rep topic (the ingest stage); the by-rep topic alone is
//! processed.

use std::time::Duration;

use rdkafka::client::{Client, ClientContext};

use crate::{KafkaError, KafkaSettings};

/// How long startup waits for topic metadata.
const METADATA_TIMEOUT: Duration = Duration::from_secs(15);

/// The topics and their roles.
#[derive(Debug, Clone)]
pub(crate) struct Layout {
    /// Topics applied through the partition engines.
    pub processed: Vec<String>,
    /// Input topics validated and re-keyed to `by_rep` (keyed_by = "other").
    pub ingest_only: Vec<String>,
    /// The by-rep topic.
    pub by_rep: String,
    /// The changelog topic (same partition count as the processed topics).
    pub changelog: String,
    /// Partitions of every processed topic.
    pub partitions: i32,
}

impl Layout {
    /// Reads the topics' metadata and checks that processed topics are co-partitioned.
    pub fn discover<C: ClientContext>(
        s: &KafkaSettings,
        client: &Client<C>,
    ) -> Result<Layout, KafkaError> {
        let by_rep = s.output.by_rep.clone();
        let (processed, ingest_only) = if s.rekeys() {
            (vec![by_rep.clone()], s.input.topics.clone())
        } else {
            let mut p = s.input.topics.clone();
            p.push(by_rep.clone());
            (p, Vec::new())
        };
        let mut counts = Vec::new();
        for topic in processed.iter().chain(&ingest_only) {
            counts.push((topic.clone(), partitions_of(client, topic)?));
        }
        let partitions = counts[0].1;
        if let Some((t, n)) = counts
            .iter()
            .take(processed.len())
            .find(|(_, n)| *n != partitions)
        {
            return Err(KafkaError::Topics(format!(
                "topic {t} has {n} partitions but {} has {partitions}: with input.keyed_by = \"rep_id\" the input topics and {by_rep} must have the same partition count (or set input.keyed_by = \"other\")",
                counts[0].0
            )));
        }
        let changelog = s.output.changelog.clone();
        let n = partitions_of(client, &changelog)?;
        if n != partitions {
            return Err(KafkaError::Topics(format!(
                "the changelog topic {changelog} has {n} partitions but {} has {partitions}: they must be equal (co-partitioned)",
                counts[0].0
            )));
        }
        Ok(Layout {
            processed,
            changelog,
            ingest_only,
            by_rep,
            partitions,
        })
    }

    /// Every topic to subscribe to.
    pub fn topics(&self) -> Vec<&str> {
        self.processed
            .iter()
            .chain(&self.ingest_only)
            .map(String::as_str)
            .collect()
    }

    /// The input slot of a processed topic: its index in `processed`, which
    /// rep state records offsets by (so the order of `input.topics` must not
    /// change without resetting state).
    pub fn slot(&self, topic: &str) -> Option<usize> {
        self.processed.iter().position(|t| t == topic)
    }

    /// Whether records of `topic` only pass the ingest stage.
    pub fn is_ingest_only(&self, topic: &str) -> bool {
        self.ingest_only.iter().any(|t| t == topic)
    }
}

fn partitions_of<C: ClientContext>(client: &Client<C>, topic: &str) -> Result<i32, KafkaError> {
    let md = client
        .fetch_metadata(Some(topic), METADATA_TIMEOUT)
        .map_err(KafkaError::client(format!("reading metadata of {topic}")))?;
    let t = md.topics().iter().find(|t| t.name() == topic);
    match t {
        Some(t) if t.error().is_none() && !t.partitions().is_empty() => {
            Ok(t.partitions().len() as i32)
        }
        _ => Err(KafkaError::Topics(format!(
            "topic {topic} does not exist or has no partitions; create the topics with `salespulse topics create`"
        ))),
    }
}
