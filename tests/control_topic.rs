//! Profile versions that change while the service runs, against a real
//! broker (Tansu): a change published on `salespulse.control` mid-stream
//! applies from its `effective_at` in every live record, and a replay of
//! the input and control topics reproduces the live scores. A SIGHUP reload
//! publishes the service's profiles as the next version.

mod support;

use std::time::{Duration, Instant};

use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use serde_json::Value;

use support::run::*;
use support::{http_get, metric, read_topic};

/// Version 2 of the direct profile: other targets and weights (and, through
/// the revenue target, the commission plan's target).
const DIRECT_V2: &str = r#"[profiles.direct]
version = 2
components = [
  { kpi = "revenue",  window = "month", target = 20000, weight = 0.5 },
  { kpi = "meetings", window = "7d",    target = 6,     weight = 0.3 },
  { kpi = "calls",    window = "day",   target = 10,    weight = 0.2 },
]
"#;

fn wait_metric(http: &str, name: &str, at_least: f64) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some((200, text)) = http_get(http, "/metrics") {
            if metric(&text, name) >= at_least {
                return;
            }
        }
        assert!(Instant::now() < deadline, "{name} never reached {at_least}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn occurred_at(line: &str) -> Option<i64> {
    let v: Value = serde_json::from_str(line).ok()?;
    let t = chrono::DateTime::parse_from_rfc3339(v["occurred_at"].as_str()?).ok()?;
    Some(t.timestamp_millis())
}

fn rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// The v2 change as `control publish --print` writes it, moved to `effective_at`
/// (published an hour before it, as a publisher at that time would have).
fn change_at(cfg: &std::path::Path, effective_at: i64) -> String {
    let dir = cfg.join("v2");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("profiles-v2.toml"), DIRECT_V2).unwrap();
    let printed = ok(salespulse(&[
        "control",
        "publish",
        "--config",
        dir.to_str().unwrap(),
        "--effective-at",
        "2099-01-01T00:00:00Z",
        "--print",
    ]));
    let mut v: Value = serde_json::from_str(printed.lines().next().unwrap()).unwrap();
    assert_eq!(v["profiles"]["direct"]["version"], 2, "{printed}");
    v["effective_at"] = rfc3339(effective_at).into();
    v["published_at"] = rfc3339(effective_at - 3_600_000).into();
    v.to_string()
}

#[cfg_attr(
    not(feature = "external"),
    ignore = "needs the test broker (scripts/test runs it: cargo test --features external)"
)]
#[test]
fn a_mid_stream_change_applies_by_event_time_and_replays_exactly() {
    let (broker, http, cfg) = broker_with_topics("control", 2, "[control]\nrefresh = \"1s\"\n");
    let (file, lines) = generate(&cfg, &["--reps", "12", "--days", "12", "--seed", "11"]);
    let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
    // The change takes effect just after everything in the first 60%.
    let k = lines.len() * 6 / 10;
    let effective_at = lines[..k]
        .iter()
        .filter_map(|l| occurred_at(l))
        .max()
        .unwrap()
        + 1;
    let change = change_at(&cfg, effective_at);

    produce(&broker.addr, &lines[..k]);
    let run = start_run(&cfg);
    wait_processed(&http, k as f64);
    let p: BaseProducer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", &broker.addr)
        .create()
        .unwrap();
    send_waiting(
        &p,
        BaseRecord::to("salespulse.control")
            .key("profiles")
            .payload(&change),
    );
    p.flush(Duration::from_secs(10)).unwrap();
    wait_metric(&http, "salespulse_profile_versions", 2.0);
    produce(&broker.addr, &lines[k..]);
    wait_processed(&http, lines.len() as f64);

    // A reload publishes the directory's profiles as the next version (3),
    // effective control.min_lead from now: history keeps version 2.
    std::fs::write(
        cfg.join("profiles-v3.toml"),
        DIRECT_V2
            .replace("version = 2", "version = 3")
            .replace("target = 6,", "target = 7,"),
    )
    .unwrap();
    support::signal(run.id(), "-HUP");
    wait_metric(&http, "salespulse_profile_versions", 3.0);
    let metrics = http_get(&http, "/metrics").unwrap().1;
    assert_eq!(metric(&metrics, "salespulse_control_late_changes"), 0.0);
    assert_eq!(
        metric(
            &metrics,
            "salespulse_control_records_total{outcome=\"rejected\"}"
        ),
        0.0
    );
    let log = stop(run);
    assert!(log.contains("reloaded profiles published"), "{log}");

    // Every live score record used the version in effect at its as_of.
    let records = read_topic(&broker.addr, "salespulse.scores", 2);
    let mut seen = [0usize; 2];
    for (_, payload, _) in &records {
        let r: Value = serde_json::from_slice(payload).unwrap();
        if r["schema"] != "score/2" || r["profile"]["name"] != "direct" {
            continue;
        }
        let at = chrono::DateTime::parse_from_rfc3339(r["as_of"].as_str().unwrap())
            .unwrap()
            .timestamp_millis();
        let want = if at >= effective_at { 2 } else { 1 };
        assert_eq!(r["profile"]["version"], want, "{r}");
        seen[want as usize - 1] += 1;
    }
    assert!(
        seen[0] > 0 && seen[1] > 0,
        "records under both versions: {seen:?}"
    );

    // The control topic holds both changes; the reload's is in the future.
    let control: Vec<String> = read_topic(&broker.addr, "salespulse.control", 1)
        .into_iter()
        .map(|(_, p, _)| String::from_utf8(p).unwrap())
        .collect();
    assert_eq!(control.len(), 2, "{control:?}");
    let reload: Value = serde_json::from_str(&control[1]).unwrap();
    assert_eq!(reload["profiles"]["direct"]["version"], 3);
    assert!(reload["source"]
        .as_str()
        .unwrap()
        .starts_with("SIGHUP reload"));
    let ctl = cfg.join("control.ndjson");
    std::fs::write(&ctl, control.join("\n")).unwrap();

    // Replaying the input and control topics gives the live final records;
    // without the control records it does not.
    let live = last_scores(&records);
    let replay = |control: Option<&std::path::Path>| {
        let mut args = vec![
            "replay",
            "--events",
            file.to_str().unwrap(),
            "--partitions",
            "2",
        ];
        if let Some(c) = control {
            args.extend(["--control", c.to_str().unwrap()]);
        }
        let out = ok(salespulse(&args));
        out.lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter(|v| v["schema"] == "score/2")
            .map(|mut v| {
                v.as_object_mut().unwrap().remove("seq");
                (v["rep_id"].as_str().unwrap().to_string(), v)
            })
            .collect::<std::collections::HashMap<_, _>>()
    };
    let with = replay(Some(&ctl));
    assert_eq!(live.len(), with.len());
    for (rep, v) in &live {
        assert_eq!(Some(v), with.get(rep), "rep {rep}");
    }
    let without = replay(None);
    assert!(
        live.iter().any(|(rep, v)| without.get(rep) != Some(v)),
        "the change mattered"
    );
}
