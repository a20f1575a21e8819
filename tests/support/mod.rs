//! Shared helpers for tests that need a real Kafka broker: Tansu, started on
//! a free 127.0.0.1 port for the test and stopped when the guard drops.
//! `scripts/install-test-deps` installs it; without it these tests fail
//! with a message saying so (they are never skipped silently).

#![allow(dead_code)]

pub mod fault;
pub mod run;
pub mod scratch;

pub use scratch::{scratch, Scratch};

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Headers;
use rdkafka::{Message, Offset, TopicPartitionList};

/// A consumed record: key, payload, headers.
pub type Record = (Option<Vec<u8>>, Vec<u8>, HashMap<String, String>);

/// A running Tansu broker.
pub struct Broker {
    child: Child,
    /// `127.0.0.1:PORT`.
    pub addr: String,
}

/// The patched Tansu that `scripts/install-test-deps` builds (keep the
/// directory name in step with its `TANSU_BUILD`), or `SALESPULSE_TANSU`.
/// A stock tansu 0.6.0 is refused: it answers a fetch from inside a record
/// batch with the next batch, so consumers resuming at a committed offset
/// lose records (scripts/tansu/README.md).
fn tansu_path() -> String {
    if let Ok(p) = std::env::var("SALESPULSE_TANSU") {
        return p;
    }
    let home = std::env::var("HOME").unwrap_or_default();
    let p = format!("{home}/.cache/salespulse/tansu-0.6.0-noleader/bin/tansu");
    if std::path::Path::new(&p).exists() {
        return p;
    }
    panic!(
        "the patched test broker is not at {p}: run scripts/install-test-deps (or scripts/test)"
    );
}

/// Creates `topic` with one partition on `broker`.
pub async fn create_topic(broker: &str, topic: &str) {
    use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
    let admin: AdminClient<rdkafka::client::DefaultClientContext> = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", broker)
        .create()
        .expect("admin");
    let topic = NewTopic::new(topic, 1, TopicReplication::Fixed(1));
    for r in admin
        .create_topics(&[topic], &AdminOptions::new())
        .await
        .expect("create topic")
    {
        r.expect("topic created");
    }
}

/// A free port on 127.0.0.1 (bound and released; good enough for tests).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

impl Broker {
    /// Starts Tansu with in-memory storage and waits until it accepts connections.
    pub fn start() -> Broker {
        let port = free_port();
        let url = format!("tcp://127.0.0.1:{port}");
        let child = Command::new(tansu_path())
            .args([
                "broker",
                "--listener-url",
                &url,
                "--advertised-listener-url",
                &url,
                "--storage-engine",
                "memory://tansu/",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start tansu");
        let addr = format!("127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(&addr).is_err() {
            assert!(
                Instant::now() < deadline,
                "tansu did not listen on {addr} within 30 s"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        Broker { child, addr }
    }
}

impl Broker {
    /// Freezes the broker process (SIGSTOP): connections stay open, nothing answers.
    pub fn pause(&self) {
        signal(self.child.id(), "-STOP");
    }

    /// Thaws it (SIGCONT).
    pub fn resume(&self) {
        signal(self.child.id(), "-CONT");
    }
}

/// Sends a signal with kill(1).
pub fn signal(pid: u32, sig: &str) {
    let ok = Command::new("kill")
        .args([sig, &pid.to_string()])
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    assert!(ok, "kill {sig} {pid} failed");
}

impl Drop for Broker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Writes a config directory pointing the service at `broker`.
/// Idle partitions keep their stream time (`idle_after = "0s"`): these
/// tests compare live output over dated streams with replays that have no
/// recorded clock; tests/idle_clock.rs turns it on in a file of its own.
pub fn config_dir(name: &str, broker: &str, partitions: i32, extra: &str) -> Scratch {
    let dir = scratch(&format!("it-{name}"));
    let toml = format!(
        "[kafka]\nbrokers = \"{broker}\"\ngroup_id = \"it-{name}\"\n[kafka.client]\n\"session.timeout.ms\" = \"6000\"\n[topics]\npartitions = {partitions}\n[service]\nemit_interval = \"100ms\"\nkpis_interval = \"1s\"\nidle_after = \"0s\"\n{extra}"
    );
    std::fs::write(dir.join("it.toml"), toml).unwrap();
    write_tokens(&dir, &[("it-admin", TOKEN_SHA256, "admin")]);
    dir
}

/// A tokens file in `dir` with `(name, sha256, scope)` entries, and the
/// `[http]` keys that make the service require them.
pub fn write_tokens(dir: &std::path::Path, tokens: &[(&str, &str, &str)]) {
    // Not in the config directory itself: every *.toml there is config.
    std::fs::create_dir_all(dir.join("secrets")).unwrap();
    let file = dir.join("secrets/tokens.toml");
    let entries: String = tokens
        .iter()
        .map(|(n, h, s)| format!("[[tokens]]\nname = \"{n}\"\nsha256 = \"{h}\"\nscope = \"{s}\"\n"))
        .collect();
    std::fs::write(&file, entries).unwrap();
    std::fs::write(
        dir.join("zz-auth.toml"),
        format!(
            "[http]\nauth = \"tokens\"\ntokens_file = \"{}\"\n",
            file.display()
        ),
    )
    .unwrap();
}

/// All records of a topic partition 0..n: (key, payload, headers).
pub fn read_topic(broker: &str, topic: &str, partitions: i32) -> Vec<Record> {
    read_from(broker, topic, 0..partitions)
}

/// All records of one partition of a topic.
pub fn read_partition(broker: &str, topic: &str, partition: i32) -> Vec<Record> {
    read_from(broker, topic, partition..partition + 1)
}

fn read_from(broker: &str, topic: &str, partitions: std::ops::Range<i32>) -> Vec<Record> {
    let c: BaseConsumer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", broker)
        .set("group.id", "it-reader")
        .create()
        .unwrap();
    let mut tpl = TopicPartitionList::new();
    for p in partitions {
        tpl.add_partition_offset(topic, p, Offset::Beginning)
            .unwrap();
    }
    c.assign(&tpl).unwrap();
    let mut out = Vec::new();
    let mut idle = Instant::now();
    while idle.elapsed() < Duration::from_secs(4) {
        if let Some(Ok(m)) = c.poll(Duration::from_millis(100)) {
            let headers = m
                .headers()
                .map(|h| {
                    h.iter()
                        .map(|h| {
                            (
                                h.key.to_string(),
                                String::from_utf8_lossy(h.value.unwrap_or_default()).into_owned(),
                            )
                        })
                        .collect()
                })
                .unwrap_or_default();
            out.push((
                m.key().map(<[u8]>::to_vec),
                m.payload().unwrap_or_default().to_vec(),
                headers,
            ));
            idle = Instant::now();
        }
    }
    out
}

/// The admin token of every config directory `config_dir` writes.
pub const TOKEN: &str = "it-admin-token-0123456789";

/// SHA-256 of [`TOKEN`] (`printf %s TOKEN | sha256sum`).
const TOKEN_SHA256: &str = "b754aef6732d09be9af984c1b7ceba38d7326170b7bd730d9a7b95800b0b1ca6";

/// A plain HTTP/1.1 GET with the admin [`TOKEN`]: status code and the whole response.
pub fn http_get(addr: &str, path: &str) -> Option<(u16, String)> {
    http_get_as(addr, path, Some(TOKEN))
}

/// A plain HTTP/1.1 GET with `token` as bearer, or none.
pub fn http_get_as(addr: &str, path: &str, token: Option<&str>) -> Option<(u16, String)> {
    let mut s = TcpStream::connect(addr).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let auth = token.map_or(String::new(), |t| format!("Authorization: Bearer {t}\r\n"));
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\n{auth}Connection: close\r\n\r\n"
    )
    .ok()?;
    let mut body = String::new();
    s.read_to_string(&mut body).ok()?;
    Some((body.split_whitespace().nth(1)?.parse().ok()?, body))
}

/// Sum of a metric's samples in Prometheus text.
pub fn metric(text: &str, name: &str) -> f64 {
    text.lines()
        .filter(|l| l.starts_with(name))
        .filter_map(|l| l.split_whitespace().last()?.parse::<f64>().ok())
        .sum()
}
