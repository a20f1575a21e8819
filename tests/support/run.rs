//! Running the `salespulse` binary from tests: subcommands, the live
//! service as a child process, producing to the test broker, and reading
//! back what it published.

use std::collections::HashMap;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::{http_get, metric, Record};

pub fn salespulse(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_salespulse"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run salespulse")
}

/// `salespulse topics create --config cfg`, which must succeed; its output.
pub fn create_topics(cfg: &Path) -> String {
    ok(salespulse(&[
        "topics",
        "create",
        "--config",
        cfg.to_str().expect("utf-8 path"),
    ]))
}

pub fn ok(out: std::process::Output) -> String {
    assert!(
        out.status.success(),
        "failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
}

/// Queues `r`, waiting while the producer's queue is full.
pub fn send_waiting<K, P>(
    p: &rdkafka::producer::BaseProducer,
    mut r: rdkafka::producer::BaseRecord<'_, K, P>,
) where
    K: rdkafka::message::ToBytes + ?Sized,
    P: rdkafka::message::ToBytes + ?Sized,
{
    while let Err((e, rec)) = p.send(r) {
        assert!(
            matches!(
                e.rdkafka_error_code(),
                Some(rdkafka::types::RDKafkaErrorCode::QueueFull)
            ),
            "{e}"
        );
        p.poll(Duration::from_millis(20));
        r = rec;
    }
    p.poll(Duration::ZERO);
}

/// Produces lines to `sales.events`, keyed by their rep_id and partitioned
/// like Java clients do (murmur2), and waits for the acks.
pub fn produce(broker: &str, lines: &[&str]) {
    produce_to(broker, "sales.events", lines);
}

/// [`produce`] to `topic`.
pub fn produce_to(broker: &str, topic: &str, lines: &[&str]) {
    use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
    let p: BaseProducer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", broker)
        .set("enable.idempotence", "true")
        .set("partitioner", "murmur2_random")
        .create()
        .unwrap();
    for l in lines {
        let key = serde_json::from_str::<serde_json::Value>(l)
            .ok()
            .and_then(|v| v["rep_id"].as_str().map(str::to_string));
        let mut r = BaseRecord::to(topic).payload(*l);
        if let Some(k) = key.as_deref() {
            r = r.key(k);
        }
        send_waiting(&p, r);
    }
    p.flush(Duration::from_secs(30)).unwrap();
}

/// A `salespulse run` child process whose log goes to a file (a pipe
/// nobody reads would fill up and stall the service).
pub struct Run {
    pub child: Child,
    log: std::path::PathBuf,
}

impl Run {
    /// Everything the process logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Run {
    /// A failed test must not leave its service running.
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

impl std::ops::Deref for Run {
    type Target = Child;
    fn deref(&self) -> &Child {
        &self.child
    }
}

impl std::ops::DerefMut for Run {
    fn deref_mut(&mut self) -> &mut Child {
        &mut self.child
    }
}

pub fn start_run(config: &Path) -> Run {
    static RUNS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = RUNS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let log = config.join(format!("run-{n}.log"));
    let file = std::fs::File::create(&log).expect("log file");
    let child = Command::new(env!("CARGO_BIN_EXE_salespulse"))
        .args(["run", "--config", config.to_str().unwrap()])
        // Partition moves and restores are logged at info: a failure can be
        // diagnosed from the log.
        .env(
            "RUST_LOG",
            std::env::var("RUST_LOG").unwrap_or_else(|_| "info".into()),
        )
        .stdout(Stdio::null())
        .stderr(Stdio::from(file))
        .spawn()
        .expect("start run");
    Run { child, log }
}

/// Starts `salespulse run` on a copy of `cfg` named `name`, with its own
/// HTTP port (one more file in the copy); returns the run and its address.
pub fn start_instance(cfg: &Path, name: &str) -> (Run, String) {
    let dir = cfg.join(name);
    std::fs::create_dir_all(&dir).unwrap();
    for f in std::fs::read_dir(cfg).unwrap().flatten() {
        if f.path().extension().is_some_and(|x| x == "toml") {
            std::fs::copy(f.path(), dir.join(f.file_name())).unwrap();
        }
    }
    let http = format!("127.0.0.1:{}", super::free_port());
    std::fs::write(
        dir.join("zz-http.toml"),
        format!("[http]\nlisten = \"{http}\"\n"),
    )
    .unwrap();
    (start_run(&dir), http)
}

/// SIGTERM, then the exit within 10 s and its status; returns the log.
pub fn stop(run: Run) -> String {
    let mut run = run;
    Command::new("kill")
        .args(["-TERM", &run.child.id().to_string()])
        .status()
        .unwrap();
    let start = Instant::now();
    loop {
        if let Some(status) = run.child.try_wait().unwrap() {
            let log = run.log();
            assert!(status.success(), "run exited with {status}: {log}");
            return log;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "run did not stop within 10 s of SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Waits until the service at `http` has processed `n` records (by /metrics).
pub fn wait_processed(http: &str, n: f64) {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if let Some((200, text)) = http_get(http, "/metrics") {
            if metric(&text, "salespulse_events_applied_total")
                + metric(&text, "salespulse_events_rejected_total")
                >= n
            {
                return;
            }
        }
        assert!(
            Instant::now() < deadline,
            "the service did not process {n} records in time"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The last score record per rep (highest seq), as published.
pub fn last_records(records: &[Record]) -> HashMap<String, serde_json::Value> {
    let mut best: HashMap<String, serde_json::Value> = HashMap::new();
    for (_, payload, _) in records {
        let v: serde_json::Value = serde_json::from_slice(payload).unwrap();
        if v["schema"] != "score/2" {
            continue;
        }
        let rep = v["rep_id"].as_str().unwrap().to_string();
        if best
            .get(&rep)
            .is_none_or(|old| v["seq"].as_u64() > old["seq"].as_u64())
        {
            best.insert(rep, v);
        }
    }
    best
}

/// The last score record per rep (highest seq), seq removed; checks the keys.
pub fn last_scores(records: &[Record]) -> HashMap<String, serde_json::Value> {
    for (key, payload, _) in records {
        let v: serde_json::Value = serde_json::from_slice(payload).unwrap();
        assert_eq!(
            key.as_deref(),
            v["rep_id"].as_str().map(str::as_bytes),
            "records are keyed by rep_id"
        );
    }
    last_records(records)
        .into_iter()
        .map(|(rep, mut v)| {
            v.as_object_mut().unwrap().remove("seq");
            (rep, v)
        })
        .collect()
}

pub fn replay_final(events: &Path) -> HashMap<String, serde_json::Value> {
    replay_partitioned(events, 1)
}

pub fn replay_partitioned(events: &Path, partitions: u16) -> HashMap<String, serde_json::Value> {
    let out = salespulse(&[
        "replay",
        "--events",
        events.to_str().unwrap(),
        "--partitions",
        &partitions.to_string(),
    ]);
    let text = ok(out);
    text.lines()
        .filter(|l| l.starts_with('{'))
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["schema"] == "score/2")
        .map(|mut v| {
            v.as_object_mut().unwrap().remove("seq");
            (v["rep_id"].as_str().unwrap().to_string(), v)
        })
        .collect()
}

/// The number right after `label ` in a summary line such as replay's.
pub fn number_after(text: &str, label: &str) -> f64 {
    text.split(&format!("{label} "))
        .nth(1)
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or_else(|| panic!("no {label:?} in {text}"))
}

/// Assist credits the service received back (applied, duplicate or too late).
pub fn credits_received(metrics: &str) -> f64 {
    ["applied", "duplicate", "too_late", "deferred"]
        .iter()
        .map(|o| {
            metric(
                metrics,
                &format!("salespulse_assist_credits_total{{outcome=\"{o}\"}}"),
            )
        })
        .sum()
}

/// A started broker, a config directory for `name` over `partitions`
/// partitions with its own HTTP address (plus `extra` TOML), and the topics
/// created: (broker, http address, config directory).
pub fn broker_with_topics(
    name: &str,
    partitions: i32,
    extra: &str,
) -> (super::Broker, String, super::Scratch) {
    let broker = super::Broker::start();
    let http = format!("127.0.0.1:{}", super::free_port());
    let cfg = super::config_dir(
        name,
        &broker.addr,
        partitions,
        &format!("[http]\nlisten = \"{http}\"\n{extra}"),
    );
    ok(salespulse(&[
        "topics",
        "create",
        "--config",
        cfg.to_str().unwrap(),
    ]));
    (broker, http, cfg)
}

/// `salespulse loadgen` with `args` into `dir/events.ndjson`: the file and its lines.
pub fn generate(dir: &Path, args: &[&str]) -> (std::path::PathBuf, Vec<String>) {
    let file = dir.join("events.ndjson");
    ok(salespulse(
        &[&["loadgen", "--out", file.to_str().unwrap()][..], args].concat(),
    ));
    let text = std::fs::read_to_string(&file).unwrap();
    (file, text.lines().map(str::to_string).collect())
}

/// Produces `lines` (keyed by rep), starts `salespulse run` on `cfg` and
/// waits until it processed them all; returns the run.
pub fn run_over(broker: &str, cfg: &Path, http: &str, lines: &[String]) -> Run {
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    produce(broker, &refs);
    let run = start_run(cfg);
    wait_processed(http, lines.len() as f64);
    run
}

/// Starts `salespulse demo --listen 127.0.0.1:0` with `args`; returns the
/// child, the printed Kafka bootstrap and HTTP addresses, and the admin
/// token the demo made for this run.
pub fn start_demo(args: &[&str]) -> (Child, String, String, String) {
    use std::io::{BufRead, BufReader};
    let mut child = Command::new(env!("CARGO_BIN_EXE_salespulse"))
        .args([&["demo", "--listen", "127.0.0.1:0"][..], args].concat())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start demo");
    let (mut bootstrap, mut http, mut token) = (String::new(), String::new(), String::new());
    let after = |line: &str, label: &str| {
        line.split(label)
            .nth(1)
            .and_then(|r| r.split_whitespace().next())
            .map(str::to_string)
    };
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    for line in lines.by_ref().take(7) {
        let line = line.unwrap();
        if let Some(b) = after(&line, "kafka bootstrap:") {
            bootstrap = b;
        }
        if let Some(m) = after(&line, "metrics:") {
            http = m
                .trim_start_matches("http://")
                .trim_end_matches("/metrics")
                .to_string();
        }
        if let Some(t) = after(&line, "api token:") {
            token = t;
        }
    }
    // Keep reading what the demo prints later ("generating ..."): a closed
    // pipe would make its next println fail and the demo exit, which a
    // browser test then sees as a refused connection.
    std::thread::spawn(move || lines.for_each(drop));
    (child, bootstrap, http, token)
}
