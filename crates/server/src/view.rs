//! The company-wide view every instance keeps: the latest score record of
//! every rep, read from the compacted score topic (small: one record per
//! rep), so queries do not depend on which instance owns which partition.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::{ClientConfig, Message, Offset, TopicPartitionList};
use tracing::warn;

/// A view fed from a topic's records.
pub trait Offer: Send + Sync + 'static {
    /// Takes one record (JSON).
    fn offer(&self, record: serde_json::Value);
}

impl Offer for CompanyView {
    fn offer(&self, record: serde_json::Value) {
        CompanyView::offer(self, record);
    }
}

/// Latest score record per rep (highest `version`), as JSON.
#[derive(Debug, Default)]
pub struct CompanyView {
    reps: RwLock<HashMap<String, (u64, Arc<serde_json::Value>)>>,
}

impl CompanyView {
    /// Keeps `record` if it is a score record newer than what the view has.
    pub fn offer(&self, record: serde_json::Value) {
        if record["kind"] != "score" {
            return;
        }
        let (Some(rep), Some(version)) = (record["rep_id"].as_str(), record["version"].as_u64())
        else {
            return;
        };
        let mut reps = self.reps.write().unwrap_or_else(|e| e.into_inner());
        if reps.get(rep).is_none_or(|(v, _)| version > *v) {
            reps.insert(rep.to_string(), (version, Arc::new(record)));
        }
    }

    /// The latest record of a rep.
    pub fn rep(&self, rep_id: &str) -> Option<Arc<serde_json::Value>> {
        self.reps
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(rep_id)
            .map(|(_, r)| r.clone())
    }

    /// Every rep's latest record.
    pub fn all(&self) -> Vec<Arc<serde_json::Value>> {
        self.reps
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .map(|(_, r)| r.clone())
            .collect()
    }

    /// Reps in the view.
    pub fn len(&self) -> usize {
        self.reps.read().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// Whether empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Follows `topic` from the beginning (all partitions, no consumer group)
/// and feeds the view until the task is dropped.
pub async fn follow<V: Offer>(client: ClientConfig, topic: String, view: Arc<V>) {
    let consumer: StreamConsumer = match client
        .clone()
        .set("group.id", "salespulse-view")
        .set("enable.auto.commit", "false")
        .create()
    {
        Ok(c) => c,
        Err(e) => {
            warn!(error = %e, %topic, "view: cannot create consumer");
            return;
        }
    };
    // Wait for the topic's metadata, then read every partition from the start.
    let partitions = loop {
        match consumer.fetch_metadata(Some(&topic), Duration::from_secs(5)) {
            Ok(md) => {
                let n = md.topics().first().map_or(0, |t| t.partitions().len());
                if n > 0 {
                    break n;
                }
            }
            Err(e) => warn!(error = %e, %topic, "view: metadata"),
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    };
    let mut tpl = TopicPartitionList::new();
    for p in 0..partitions {
        if tpl
            .add_partition_offset(&topic, p as i32, Offset::Beginning)
            .is_err()
        {
            return;
        }
    }
    if let Err(e) = consumer.assign(&tpl) {
        warn!(error = %e, %topic, "view: assign");
        return;
    }
    loop {
        match consumer.recv().await {
            Ok(m) => {
                if let Some(Ok(v)) = m.payload().map(serde_json::from_slice::<serde_json::Value>) {
                    view.offer(v);
                }
            }
            Err(e) => warn!(error = %e, %topic, "view: consume"),
        }
    }
}
