//! What feeds the read side from Kafka: followers that read the score,
//! KPI, coaching, statement and alert topics whole (every partition, no consumer group) into the
//! company view, and the publisher of the view's `rank_change` alerts.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::message::Headers;
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{ClientConfig, Message, Offset, TopicPartitionList};
use salespulse_model::record::HEAD_HEADER;
use salespulse_view::{AlertView, CompanyView, Offer};
use tokio::task::JoinHandle;
use tracing::warn;

use crate::{OutputSection, Status};

/// The company view and alert view, with the tasks that feed them from
/// `output`'s topics until aborted. With `rank_change` (the fewest places
/// that count as a move), the instance that owns input partition 0 also
/// publishes `rank_change` alerts.
pub fn follow_outputs(
    client: &ClientConfig,
    output: &OutputSection,
    rank_change: Option<u32>,
    status: Arc<Status>,
) -> (Arc<CompanyView>, Arc<AlertView>, Vec<JoinHandle<()>>) {
    let view = Arc::new(match rank_change {
        Some(places) => CompanyView::with_ranks(places),
        None => CompanyView::default(),
    });
    let alerts = Arc::new(AlertView::default());
    // The score topic and the topics of the facts that go with it (on the
    // periods topic, the last periods records; its summaries are skipped).
    // The statements topic is pay data: an instance whose principal may not
    // read it gets no commission in its answers (docs/operations.md).
    let details = [
        &output.kpis,
        &output.periods,
        &output.coaching,
        &output.statements,
    ];
    let mut tasks: Vec<JoinHandle<()>> = std::iter::once(&output.scores)
        .chain(details)
        .map(|topic| tokio::spawn(follow(client.clone(), topic.clone(), view.clone())))
        .collect();
    tasks.extend([tokio::spawn(follow(
        client.clone(),
        output.alerts.clone(),
        alerts.clone(),
    ))]);
    if rank_change.is_some() {
        tasks.push(tokio::spawn(publish_rank_changes(
            client.clone(),
            output.alerts.clone(),
            view.clone(),
            status,
        )));
    }
    (view, alerts, tasks)
}

/// Publishes the view's `rank_change` alerts to the alert topic while this
/// instance owns input partition 0 (every instance computes them; one
/// publishes). Others drop theirs.
async fn publish_rank_changes(
    client: ClientConfig,
    topic: String,
    view: Arc<CompanyView>,
    status: Arc<Status>,
) {
    let producer: FutureProducer = match client.create() {
        Ok(p) => p,
        Err(e) => {
            let e = crate::redact_error(e);
            warn!(error = %e, "rank_change: cannot create the producer");
            return;
        }
    };
    let mut tick = tokio::time::interval(Duration::from_millis(500));
    loop {
        tick.tick().await;
        let alerts = view.take_rank_alerts();
        if alerts.is_empty() || !status.owns_partition_zero.load(Ordering::Relaxed) {
            continue;
        }
        // Queued all at once and awaited together: one acknowledgement
        // round trip per alert fell behind a busy day close, and the
        // view's pending list grew without bound (found by the soak).
        let sends = alerts.iter().filter_map(|a| {
            let payload = serde_json::to_vec(a).ok()?;
            let key = a.rep_id.clone().unwrap_or_default();
            let label = (a.kind, a.status);
            let producer = &producer;
            let topic = &topic;
            let headers = crate::service::schema_header(&a.schema);
            let bytes = key.len() + payload.len() + crate::service::header_bytes(&headers);
            status.output.queued(topic, bytes);
            Some(async move {
                let record = FutureRecord::to(topic)
                    .key(&key)
                    .payload(&payload)
                    .headers(headers);
                (label, producer.send(record, Duration::from_secs(10)).await)
            })
        });
        for (label, sent) in futures::future::join_all(sends).await {
            match sent {
                Ok(_) => status.output.alert(label.0, label.1),
                Err((e, _)) => warn!(error = %e, "rank_change: publishing"),
            }
        }
    }
}

/// Follows `topic` from the beginning (all partitions, no consumer group)
/// and feeds the view until the task is dropped.
pub async fn follow<V: Offer>(client: ClientConfig, topic: String, view: Arc<V>) {
    let started_ms = salespulse_model::Timestamp::wall_now().0;
    let mut client = client;
    crate::bound_prefetch(&mut client);
    let consumer: StreamConsumer = match client
        .set("group.id", "salespulse-view")
        .set("enable.auto.commit", "false")
        .create()
    {
        Ok(c) => c,
        Err(e) => {
            let e = crate::redact_error(e);
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
    view.partitions(partitions);
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
                if let Some(payload) = m.payload() {
                    // Written since this process started, not history.
                    let live = m.timestamp().to_millis().is_none_or(|t| t >= started_ms);
                    let head = m.headers().and_then(|h| {
                        h.iter()
                            .find(|h| h.key == HEAD_HEADER)
                            .and_then(|h| h.value)
                    });
                    view.offer_with_head(m.partition(), payload, head, live);
                }
            }
            Err(e) => warn!(error = %e, %topic, "view: consume"),
        }
    }
}
