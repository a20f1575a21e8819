//! What the test broker does with Kafka transactions, the ground for
//! exactly-once output (docs/operations.md, "Delivery"): a transactional
//! producer's committed records, aborted records and offsets sent to the
//! transaction, as a `read_committed` consumer and the group see them.

mod support;

use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::{ClientConfig, Message, Offset, TopicPartitionList};
use support::fault::committed;
use support::run::{broker_with_topics, generate, produce, start_run};

const T: Duration = Duration::from_secs(10);

/// Payloads a fresh consumer with `isolation` reads from the start of `topic`.
fn read(broker: &str, topic: &str, isolation: &str) -> Vec<String> {
    let c: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", broker)
        .set("group.id", format!("probe-{isolation}"))
        .set("isolation.level", isolation)
        .create()
        .expect("consumer");
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset(topic, 0, Offset::Beginning)
        .expect("partition");
    c.assign(&tpl).expect("assign");
    let mut out = Vec::new();
    let mut idle = Instant::now();
    while idle.elapsed() < Duration::from_secs(3) {
        if let Some(Ok(m)) = c.poll(Duration::from_millis(100)) {
            out.push(String::from_utf8_lossy(m.payload().unwrap_or_default()).into_owned());
            idle = Instant::now();
        }
    }
    out
}

/// The probe behind "at-least-once plus `seq`" (docs/operations.md,
/// "Delivery"): the test broker (Tansu 0.6.0, patched) hands out a
/// transactional producer id but does not implement EndTxn, so no
/// transaction can commit or abort. When a broker passes this probe's
/// other branch, the transactional path can be tested end to end.
#[cfg_attr(
    not(feature = "external"),
    ignore = "needs the test broker (scripts/test runs it: cargo test --features external)"
)]
#[tokio::test(flavor = "multi_thread")]
async fn the_test_broker_cannot_commit_a_transaction() {
    let broker = support::Broker::start();
    support::create_topic(&broker.addr, "txn").await;
    let p: BaseProducer = ClientConfig::new()
        .set("bootstrap.servers", &broker.addr)
        .set("transactional.id", "probe")
        .create()
        .expect("producer");
    p.init_transactions(T)
        .expect("InitProducerId with a transactional id is supported");
    p.begin_transaction().expect("begin (client side)");
    p.send(BaseRecord::to("txn").key("k").payload("in-a-transaction"))
        .map_err(|(e, _)| e)
        .expect("queue");
    match p.commit_transaction(T) {
        Err(e) => {
            let e = e.to_string();
            eprintln!("commit_transaction: {e}");
            assert!(e.contains("EndTxn"), "an unexpected failure: {e}");
            // What a read_committed consumer sees of a transaction that
            // could not end: nothing, or the records as if not transactional.
            eprintln!(
                "read_committed sees {:?}; read_uncommitted sees {:?}",
                read(&broker.addr, "txn", "read_committed"),
                read(&broker.addr, "txn", "read_uncommitted")
            );
        }
        Ok(()) => panic!(
            "this broker commits transactions: test the transactional output path \
             against it (issue 24, item 4) and retire this probe"
        ),
    }
}

/// `kafka.transactional = true` as far as the test broker allows: the
/// service starts its transactional producer, keeps offsets out of the
/// consumer's own commits (they go only into a transaction), and when the
/// broker cannot commit a transaction it stops with an error that says so,
/// having committed no input offset: a restart would process the input
/// again rather than lose it. Atomic commits and `read_committed` output
/// need a broker with transactions (the probe above fails when there is one).
#[cfg_attr(
    not(feature = "external"),
    ignore = "needs the test broker (scripts/test runs it: cargo test --features external)"
)]
#[test]
fn the_transactional_switch_commits_offsets_only_in_a_transaction() {
    let (broker, _http, cfg) = broker_with_topics("txn-switch", 2, "");
    std::fs::write(cfg.join("zz-txn.toml"), "[kafka]\ntransactional = true\n").unwrap();
    let (_, lines) = generate(&cfg, &["--reps", "6", "--days", "3", "--seed", "5"]);
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    produce(&broker.addr, &refs);
    let mut run = start_run(&cfg);
    let since = Instant::now();
    let status = loop {
        if let Some(status) = run.try_wait().unwrap() {
            break status;
        }
        assert!(
            since.elapsed() < Duration::from_secs(90),
            "the service kept running on a broker without transactions: {}",
            run.log()
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    let log = run.log();
    eprintln!(
        "{}",
        log.lines().rev().take(3).collect::<Vec<_>>().join("\n")
    );
    assert!(!status.success(), "{log}");
    assert!(log.contains("output is transactional"), "{log}");
    assert!(
        log.contains("kafka.transactional: committing a transaction failed")
            && log.contains("EndTxn"),
        "the error names the switch and the broker's refusal: {log}"
    );
    assert_eq!(
        committed(&broker.addr, "it-txn-switch", "sales.events", 2),
        vec![0, 0],
        "no input offset is committed outside a transaction"
    );
}
