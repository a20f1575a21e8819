//! Fault tolerance against the real test broker: the service is killed,
//! scaled out and cut off from the broker mid-stream, and at the end the
//! last score record per rep must equal `salespulse replay --partitions P`
//! over the same input exactly: nothing lost, nothing counted twice. Each
//! test prints what it did, so a CI log is enough to diagnose a failure.

mod support;

use std::time::{Duration, Instant};

use support::fault::*;
use support::run::*;
use support::{config_dir, free_port, Broker};

const PARTITIONS: i32 = 3;

/// The fault tests run one at a time: each runs a broker and several
/// services, and timing matters on a 2-core machine.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Generates the test input into the config directory; returns its lines.
fn generate(cfg: &std::path::Path, args: &[&str]) -> (std::path::PathBuf, Vec<String>) {
    let file = cfg.join("events.ndjson");
    let out = ok(salespulse(
        &[&["loadgen", "--out", file.to_str().unwrap()][..], args].concat(),
    ));
    eprintln!("fault: {}", out.trim());
    let lines = std::fs::read_to_string(&file)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    (file, lines)
}

/// A broker, a config directory for `name` (HTTP on a free port), the
/// topics, and a generated input of `reps` reps over `days` days with
/// out-of-order, duplicate and malformed records.
struct Setup {
    broker: Broker,
    cfg: support::Scratch,
    http: String,
    file: std::path::PathBuf,
    lines: Vec<String>,
    input_ends: Vec<i64>,
}

fn setup(name: &str, reps: &str, days: &str, seed: &str) -> Setup {
    let broker = Broker::start();
    let http = format!("127.0.0.1:{}", free_port());
    let cfg = config_dir(
        name,
        &broker.addr,
        PARTITIONS,
        &format!("[http]\nlisten = \"{http}\"\n"),
    );
    create_topics(&cfg);
    let noise = [
        "--out-of-order",
        "0.02",
        "--duplicates",
        "0.02",
        "--malformed",
        "0.01",
    ];
    let args = [
        &["--reps", reps, "--days", days, "--seed", seed][..],
        &noise,
    ]
    .concat();
    let (file, lines) = generate(&cfg, &args);
    let input_ends = expected_ends(&lines, PARTITIONS);
    Setup {
        broker,
        cfg,
        http,
        file,
        lines,
        input_ends,
    }
}

#[cfg_attr(
    not(feature = "external"),
    ignore = "needs the test broker (scripts/test runs it: cargo test --features external)"
)]
#[test]
fn sigkill_at_random_moments_loses_nothing_and_counts_nothing_twice() {
    let _serial = serial();
    let Setup {
        broker,
        cfg,
        http: _,
        file,
        lines,
        input_ends,
    } = setup("crash", "200", "48", "21");
    assert!(lines.len() >= 200_000, "{} lines", lines.len());

    let mut rng = Rng::from_env();
    // Kill k falls at a random moment in the last 1.5 s of slot k (8 s each),
    // so consecutive kills are at least 6.5 s apart: longer than the 6 s
    // session timeout. Tansu does not always evict an expired member while
    // another one also expired, and a group stuck with dead members never
    // assigns their partitions again (a test-broker limitation; Kafka
    // evicts each member after its session timeout).
    let slot = 8.0;
    let rate = lines.len() as f64 / (slot * 5.0 + 2.0);
    let producer = produce_paced(&broker.addr, lines.clone(), rate);
    let started = Instant::now();
    let mut child = start_run(&cfg);
    for kill in 1..=5 {
        let at = slot * (kill - 1) as f64 + 6.5 + rng.range(0, 1500) as f64 / 1000.0;
        if let Some(wait) = Duration::from_secs_f64(at).checked_sub(started.elapsed()) {
            std::thread::sleep(wait);
        }
        child.kill().unwrap();
        child.wait().unwrap();
        eprintln!(
            "fault: SIGKILL {kill} at {:.2} s",
            started.elapsed().as_secs_f64()
        );
        print_warnings(&format!("run {kill}"), &child.log());
        child = start_run(&cfg);
    }
    producer.join().unwrap();
    eprintln!(
        "fault: produced {} records in {:.1} s",
        lines.len(),
        started.elapsed().as_secs_f64()
    );
    wait_all_committed(
        &broker.addr,
        "it-crash",
        &input_ends,
        Duration::from_secs(300),
    );
    let log = stop(child);
    print_run_summary("last run", &log);
    assert_equals_replay(&broker.addr, &file, PARTITIONS);
}

/// Waits until the service `run` at `http` reports at least `want` owned
/// partitions (by /metrics), printing what it saw, or its log when it does
/// not. (With three partitions and two members, range gives one of them two.)
fn wait_owned(run: &Run, http: &str, name: &str, want: f64) {
    time_to_own(run, http, want, Duration::from_secs(90));
    eprintln!("fault: {name} owns {want} partitions");
}

#[cfg_attr(
    not(feature = "external"),
    ignore = "needs the test broker (scripts/test runs it: cargo test --features external)"
)]
#[test]
fn instances_added_and_killed_mid_stream_still_equal_replay() {
    let _serial = serial();
    let Setup {
        broker,
        cfg,
        http: _,
        file,
        lines,
        input_ends,
    } = setup("scale", "90", "40", "5");
    let producer = produce_paced(&broker.addr, lines.clone(), 3_000.0);
    let started = Instant::now();
    let (a, http_a) = start_instance(&cfg, "a");
    wait_owned(&a, &http_a, "instance a", 3.0);
    let (b, http_b) = start_instance(&cfg, "b");
    wait_owned(&b, &http_b, "instance b", 1.0);
    eprintln!(
        "fault: b joined at {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let (c, http_c) = start_instance(&cfg, "c");
    wait_owned(&c, &http_c, "instance c", 1.0);
    eprintln!(
        "fault: c joined at {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let mut b = b;
    b.kill().unwrap();
    b.wait().unwrap();
    eprintln!(
        "fault: b SIGKILLed at {:.1} s",
        started.elapsed().as_secs_f64()
    );
    print_warnings("b", &b.log());
    producer.join().unwrap();
    wait_all_committed(
        &broker.addr,
        "it-scale",
        &input_ends,
        Duration::from_secs(300),
    );
    // Stop c, let a take every partition over, then stop a: its final
    // records cover every rep at each partition's final stream time.
    print_warnings("c", &stop(c));
    wait_owned(&a, &http_a, "instance a", 3.0);
    wait_all_committed(
        &broker.addr,
        "it-scale",
        &input_ends,
        Duration::from_secs(120),
    );
    print_warnings("a", &stop(a));
    eprintln!("fault: done at {:.1} s", started.elapsed().as_secs_f64());

    assert_equals_replay(&broker.addr, &file, PARTITIONS);
    drop(http_b);
}

/// Waits until `run` at `http` owns at least `want` partitions; how long
/// that took. Panics with the end of its log after `limit`.
fn time_to_own(run: &Run, http: &str, want: f64, limit: Duration) -> Duration {
    let since = Instant::now();
    loop {
        if let Some((200, text)) = support::http_get(http, "/metrics") {
            if support::metric(&text, "salespulse_partitions_owned") >= want {
                return since.elapsed();
            }
        }
        if since.elapsed() > limit {
            let log = run.log();
            let tail: Vec<&str> = log.lines().rev().take(40).collect();
            panic!(
                "never owned {want} partitions within {limit:?}; its log ends:\n{}",
                tail.into_iter().rev().collect::<Vec<_>>().join("\n")
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[cfg_attr(
    not(feature = "external"),
    ignore = "needs the test broker (scripts/test runs it: cargo test --features external)"
)]
#[test]
fn a_restarted_static_member_takes_its_partitions_back_at_once() {
    let _serial = serial();
    let Setup {
        broker,
        cfg,
        http,
        file,
        lines,
        input_ends,
    } = setup("static", "60", "30", "8");
    // A session timeout far longer than a restart: a new dynamic member
    // would wait for the dead one's session to expire (about 400 s were
    // seen after five quick SIGKILLs); a static member rejoins under its
    // name and gets its partitions straight back.
    const SESSION: Duration = Duration::from_secs(60);
    std::fs::write(
        cfg.join("zz-static.toml"),
        format!(
            "[kafka]\ninstance_id = \"node-a\"\n[kafka.client]\n\"session.timeout.ms\" = \"{}\"\n",
            SESSION.as_millis()
        ),
    )
    .unwrap();
    let producer = produce_paced(&broker.addr, lines.clone(), 3_000.0);
    let mut child = start_run(&cfg);
    wait_owned(&child, &http, "the service", 3.0);
    for restart in 1..=3 {
        std::thread::sleep(Duration::from_secs(3));
        child.kill().unwrap();
        child.wait().unwrap();
        print_warnings(&format!("run {restart}"), &child.log());
        child = start_run(&cfg);
        let took = time_to_own(&child, &http, 3.0, SESSION / 2);
        eprintln!(
            "fault: restart {restart}: all partitions owned again {:.1} s after the SIGKILL",
            took.as_secs_f64()
        );
    }
    producer.join().unwrap();
    wait_all_committed(
        &broker.addr,
        "it-static",
        &input_ends,
        Duration::from_secs(300),
    );
    let log = stop(child);
    print_run_summary("last run", &log);
    assert_equals_replay(&broker.addr, &file, PARTITIONS);
}

#[cfg_attr(
    not(feature = "external"),
    ignore = "needs the test broker (scripts/test runs it: cargo test --features external)"
)]
#[test]
fn a_frozen_broker_makes_the_service_wait_not_fail() {
    let _serial = serial();
    let Setup {
        broker,
        cfg,
        http,
        file,
        lines,
        input_ends,
    } = setup("outage", "90", "40", "6");
    // The default session timeout (45 s) outlasts the 20 s freeze. With the
    // suite's 6 s the member's session would expire during the freeze, and
    // Tansu keeps the expired member as group leader, so the group never
    // rebalances again (a Tansu limitation; Kafka evicts the old member).
    std::fs::write(
        cfg.join("zz-session.toml"),
        "[kafka.client]\n\"session.timeout.ms\" = \"45000\"\n",
    )
    .unwrap();
    let producer = produce_paced(&broker.addr, lines.clone(), 4_000.0);
    let mut child = start_run(&cfg);
    wait_owned(&child, &http, "the service", 3.0);
    std::thread::sleep(Duration::from_secs(3));
    broker.pause();
    let frozen = Instant::now();
    eprintln!("fault: broker frozen (SIGSTOP)");
    let mut answers = Vec::new();
    while frozen.elapsed() < Duration::from_secs(20) {
        assert!(
            child.try_wait().unwrap().is_none(),
            "the service exited during the outage"
        );
        if let Some((code, body)) = support::http_get(&http, "/readyz") {
            if code == 503 && !answers.iter().any(|(c, _)| *c == 503) {
                eprintln!(
                    "fault: /readyz during the outage: {}",
                    body.lines().last().unwrap_or_default()
                );
            }
            answers.push((code, body));
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    broker.resume();
    eprintln!(
        "fault: broker resumed (SIGCONT) after {:.1} s",
        frozen.elapsed().as_secs_f64()
    );
    assert!(
        answers.iter().any(|(c, _)| *c == 503),
        "/readyz never reported not ready during the outage: {:?}",
        answers.iter().map(|(c, _)| c).collect::<Vec<_>>()
    );
    producer.join().unwrap();
    eprintln!("fault: producer done");
    let waited = std::panic::catch_unwind(|| {
        wait_all_committed(
            &broker.addr,
            "it-outage",
            &input_ends,
            Duration::from_secs(120),
        )
    });
    if waited.is_err() {
        let _ = child.kill();
        let log = child.log();
        let tail: Vec<&str> = log.lines().rev().take(60).collect();
        panic!(
            "not committed; service log tail:\n{}",
            tail.into_iter().rev().collect::<Vec<_>>().join("\n")
        );
    }
    assert!(
        child.try_wait().unwrap().is_none(),
        "the service exited after the outage"
    );
    let log = stop(child);
    print_run_summary("run", &log);
    assert_equals_replay(&broker.addr, &file, PARTITIONS);
}
