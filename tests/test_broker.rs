//! The test broker behaves like Kafka where the service's guarantees
//! depend on it. Tansu 0.6.0 did not: a fetch from an offset inside a
//! record batch returned the next batch, so a consumer that resumed at a
//! committed offset in the middle of a batch (after every rebalance) lost
//! the rest of it. scripts/install-test-deps builds Tansu with the fix in
//! scripts/tansu/; this test keeps the suite from running on a broker
//! without it, where the fault tests would fail for the broker's reasons.

mod support;

use std::time::{Duration, Instant};

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{ClientConfig, Message, Offset, TopicPartitionList};

const RECORDS: i64 = 3000;

/// Offsets of the records a fresh consumer reads from `start`, until 3 s pass without one.
fn read_offsets(broker: &str, start: i64, limit: usize) -> Vec<i64> {
    let c: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", broker)
        .set("group.id", "it-test-broker")
        .create()
        .expect("consumer");
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset("batches", 0, Offset::Offset(start))
        .expect("partition");
    c.assign(&tpl).expect("assign");
    let mut out = Vec::new();
    let mut idle = Instant::now();
    while idle.elapsed() < Duration::from_secs(3) && out.len() < limit {
        if let Some(Ok(m)) = c.poll(Duration::from_millis(100)) {
            out.push(m.offset());
            idle = Instant::now();
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn a_fetch_from_inside_a_record_batch_starts_at_the_requested_offset() {
    let broker = support::Broker::start();
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", &broker.addr)
        .create()
        .expect("admin");
    let topic = NewTopic::new("batches", 1, TopicReplication::Fixed(1));
    for r in admin
        .create_topics(&[topic], &AdminOptions::new())
        .await
        .expect("create topic")
    {
        r.expect("topic created");
    }
    // Batches of up to 1,000 records, all queued before any is sent.
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", &broker.addr)
        .set("linger.ms", "200")
        .set("batch.num.messages", "1000")
        .create()
        .expect("producer");
    let pending: Vec<_> = (0..RECORDS)
        .map(|i| {
            let payload = i.to_string();
            producer
                .send_result(FutureRecord::to("batches").key("k").payload(&payload))
                .expect("queue")
        })
        .collect();
    for f in pending {
        f.await.expect("delivery").expect("acknowledged");
    }

    let all = read_offsets(&broker.addr, 0, usize::MAX);
    assert_eq!(
        all,
        (0..RECORDS).collect::<Vec<_>>(),
        "offsets are contiguous"
    );
    for start in [1, 499, 999, 1001, 1777, RECORDS - 1] {
        let got = read_offsets(&broker.addr, start, 3);
        println!("fetch from {start}: first offsets {got:?}");
        assert_eq!(
            got.first(),
            Some(&start),
            "a consumer positioned at {start} must get that record first"
        );
    }
}
