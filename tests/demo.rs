//! `salespulse demo` as a user runs it: it starts, prints where things
//! are, serves /metrics and /readyz, produces score records a separate
//! Kafka client can consume from the printed bootstrap address, and stops
//! cleanly on SIGTERM.

use std::process::Command;
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::Message;

mod support;
use support::metric;

#[test]
fn demo_serves_metrics_and_scores_then_stops_on_sigterm() {
    let (mut child, bootstrap, http, token) =
        support::run::start_demo(&["--rate", "1000", "--reps", "50"]);
    let http_get = |addr: &str, path: &str| support::http_get_as(addr, path, Some(&token));
    // The demo's API needs the token it printed; the page shell does not.
    assert_eq!(
        support::http_get_as(&http, "/v1/leaderboard", None)
            .unwrap()
            .0,
        401
    );
    assert_eq!(support::http_get_as(&http, "/", None).unwrap().0, 200);
    assert!(
        bootstrap.starts_with("127.0.0.1:") && http.starts_with("127.0.0.1:"),
        "{bootstrap} {http}"
    );

    // A separate Kafka client reads score records from the printed address.
    let consumer: BaseConsumer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", &bootstrap)
        .set("group.id", "demo-reader")
        .set("auto.offset.reset", "earliest")
        .create()
        .unwrap();
    consumer.subscribe(&["salespulse.scores"]).unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut scores = 0;
    while scores < 20 && Instant::now() < deadline {
        if let Some(Ok(m)) = consumer.poll(Duration::from_millis(200)) {
            let v: serde_json::Value = serde_json::from_slice(m.payload().unwrap()).unwrap();
            assert_eq!(m.key(), v["rep_id"].as_str().map(str::as_bytes));
            scores += 1;
        }
    }
    assert!(scores >= 20, "only {scores} score records in 30 s");

    let (code, _) = http_get(&http, "/healthz").expect("healthz");
    assert_eq!(code, 200);
    let (code, body) = http_get(&http, "/readyz").expect("readyz");
    assert_eq!(code, 200, "{body}");
    // Emissions are counted when the broker acknowledges them, which can be
    // a moment after a consumer already read the records.
    let deadline = Instant::now() + Duration::from_secs(20);
    let text = loop {
        let (code, text) = http_get(&http, "/metrics").expect("metrics");
        assert_eq!(code, 200);
        if metric(&text, "salespulse_scores_emitted_total") > 0.0 || Instant::now() > deadline {
            break text;
        }
        std::thread::sleep(Duration::from_millis(300));
    };
    assert!(
        metric(&text, "salespulse_events_applied_total") > 0.0,
        "{text}"
    );
    assert!(
        metric(&text, "salespulse_scores_emitted_total") > 0.0,
        "{text}"
    );
    assert_eq!(metric(&text, "salespulse_partitions_owned"), 4.0, "{text}");

    // The query API answers for any rep from the company view.
    let deadline = Instant::now() + Duration::from_secs(20);
    let board = loop {
        let (code, body) = http_get(&http, "/v1/leaderboard?limit=5").expect("leaderboard");
        assert_eq!(code, 200, "{body}");
        let json: serde_json::Value =
            serde_json::from_str(body.split("\r\n\r\n").nth(1).unwrap_or_default().trim())
                .unwrap_or_default();
        if json["reps"].as_array().is_some_and(|r| r.len() == 5) {
            break json;
        }
        assert!(
            Instant::now() < deadline,
            "leaderboard stayed short: {body}"
        );
        std::thread::sleep(Duration::from_millis(300));
    };
    let top = board["reps"][0]["rep_id"].as_str().unwrap().to_string();
    let (code, body) = http_get(&http, &format!("/v1/reps/{top}")).unwrap();
    assert_eq!(code, 200, "{body}");
    assert!(body.contains(&format!("\"rep_id\":\"{top}\"")), "{body}");
    let rep: serde_json::Value =
        serde_json::from_str(body.split("\r\n\r\n").nth(1).unwrap_or_default().trim()).unwrap();
    // The demo keeps scoring, so the top may have moved since the leaderboard.
    let company = &rep["standing"]["company"];
    assert!(company["of"].as_u64() >= Some(5), "{body}");
    assert!(company["rank"].as_u64() <= company["of"].as_u64(), "{body}");
    let percentile = rep["standing"]["role"]["percentile"].as_f64().unwrap();
    assert!((0.0..=100.0).contains(&percentile), "{body}");
    let team = rep["team_id"].as_str().unwrap();
    let (code, body) = http_get(&http, &format!("/v1/teams/{team}")).unwrap();
    assert_eq!(code, 200, "{body}");
    assert!(
        body.contains("\"team_score\":") && body.contains("\"kpis\":"),
        "{body}"
    );
    let manager = rep["manager_id"]
        .as_str()
        .expect("the generator names managers");
    let (code, body) = http_get(&http, &format!("/v1/managers/{manager}")).unwrap();
    assert_eq!(code, 200, "{body}");
    assert!(body.contains(&format!("\"rep_id\":\"{top}\"")), "{body}");
    assert_eq!(http_get(&http, "/v1/reps/nobody").unwrap().0, 404);
    let (code, body) = http_get(&http, "/v1/leaderboard?kpi=revenu").unwrap();
    assert_eq!(code, 400);
    assert!(body.contains("\"parameter\":\"kpi\""), "{body}");
    let (code, body) = http_get(&http, "/v1/alerts?status=firing&limit=5").unwrap();
    assert_eq!(code, 200, "{body}");
    assert!(body.contains("\"total\":"), "{body}");
    let (code, body) = http_get(&http, "/v1/alerts?kind=slacking").unwrap();
    assert_eq!(code, 400);
    assert!(body.contains("\"parameter\":\"kind\""), "{body}");

    let stop = Instant::now();
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "demo exited with {status}");
            break;
        }
        assert!(
            stop.elapsed() < Duration::from_secs(10),
            "demo did not stop within 10 s of SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}
