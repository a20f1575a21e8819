//! The Grafana boards and recording rules against a real Prometheus
//! (Debian's `prometheus`, installed by scripts/install-test-deps): it
//! scrapes `salespulse run` (per-rep metrics on) over the test broker, then
//! every panel's expression of every dashboard and every recording rule is
//! evaluated through the HTTP API and must parse and return data.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use support::run::*;
use support::{free_port, http_get};

struct Prometheus {
    child: Child,
    addr: String,
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn repo(p: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(p)
}

fn start_prometheus(dir: &Path, target: &str) -> Prometheus {
    let rules = repo("deploy/prometheus/rules/salespulse.yml");
    let config = format!(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nrule_files:\n  - {}\nscrape_configs:\n  - job_name: salespulse\n    static_configs:\n      - targets: ['{target}']\n",
        rules.display()
    );
    let file = dir.join("prometheus.yml");
    std::fs::write(&file, config).unwrap();
    let addr = format!("127.0.0.1:{}", free_port());
    let child = Command::new("prometheus")
        .arg(format!("--config.file={}", file.display()))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.join("tsdb").display()
        ))
        .arg(format!("--web.listen-address={addr}"))
        .stdout(Stdio::null())
        .stderr(Stdio::from(
            std::fs::File::create(dir.join("prometheus.log")).unwrap(),
        ))
        .spawn()
        .expect("prometheus (scripts/install-test-deps installs it)");
    let p = Prometheus { child, addr };
    let deadline = Instant::now() + Duration::from_secs(30);
    while !matches!(http_get(&p.addr, "/-/ready"), Some((200, _))) {
        assert!(Instant::now() < deadline, "prometheus not ready");
        std::thread::sleep(Duration::from_millis(200));
    }
    p
}

fn encode(q: &str) -> String {
    q.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Evaluates `expr` now: Ok(number of series) or the error.
fn query(p: &Prometheus, expr: &str) -> Result<usize, String> {
    let (_, resp) =
        http_get(&p.addr, &format!("/api/v1/query?query={}", encode(expr))).ok_or("no answer")?;
    let body = resp.split("\r\n\r\n").nth(1).unwrap_or_default();
    // A chunked answer: the JSON object is between the first { and the last }.
    let json = &body[body.find('{').ok_or(body)?..=body.rfind('}').ok_or(body)?];
    let v: Value = serde_json::from_str(json).map_err(|e| format!("{e}: {json}"))?;
    if v["status"] != "success" {
        return Err(format!("{}: {}", v["errorType"], v["error"]));
    }
    Ok(v["data"]["result"].as_array().map_or(0, Vec::len))
}

/// Every panel expression of a dashboard, with its template variables set
/// to "all" (`$window` to month) as Grafana would.
fn panel_exprs(board: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for p in board["panels"].as_array().unwrap() {
        for t in p["targets"].as_array().unwrap() {
            let e = t["expr"].as_str().unwrap();
            let e = e
                .replace("$__rate_interval", "30s")
                .replace("$window", "month")
                .replace("$team", ".*")
                .replace("$role", ".*")
                .replace("$region", ".*")
                .replace("$rep", ".*");
            assert!(!e.contains('$'), "unhandled variable in {e}");
            out.push((p["title"].as_str().unwrap().to_string(), e));
        }
    }
    for v in board["templating"]["list"].as_array().unwrap() {
        if let Some(def) = v["definition"].as_str() {
            // label_values(metric, label): the metric must have series.
            let metric = def
                .trim_start_matches("label_values(")
                .split(',')
                .next()
                .unwrap();
            out.push((format!("variable {}", v["name"]), metric.to_string()));
        }
    }
    out
}

fn recorded_series() -> Vec<String> {
    std::fs::read_to_string(repo("deploy/prometheus/rules/salespulse.yml"))
        .unwrap()
        .lines()
        .filter_map(|l| l.trim().strip_prefix("- record: "))
        .map(str::to_string)
        .collect()
}

#[cfg_attr(
    not(feature = "external"),
    ignore = "needs the test broker and Prometheus (scripts/test runs it: cargo test --features external)"
)]
#[test]
fn every_board_panel_and_recording_rule_returns_data() {
    let (broker, http, cfg) = broker_with_topics(
        "boards",
        2,
        "[metrics]\nper_rep = true\nper_rep_limit = 100\n",
    );
    let args = [
        "--reps",
        "24",
        "--days",
        "35",
        "--seed",
        "21",
        "--malformed",
        "0.01",
    ];
    let (_, lines) = generate(&cfg, &args);
    let prom = start_prometheus(&cfg, &http);
    let run = run_over(&broker.addr, &cfg, &http, &lines);

    let mut exprs = Vec::new();
    let boards = repo("deploy/grafana/dashboards");
    let mut names: Vec<PathBuf> = std::fs::read_dir(&boards)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    names.sort();
    assert_eq!(names.len(), 5, "{names:?}");
    for path in &names {
        let board: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        for (title, e) in panel_exprs(&board) {
            exprs.push((format!("{name}: {title}"), e));
        }
    }
    for r in recorded_series() {
        exprs.push((format!("recording rule {r}"), r));
    }
    assert!(exprs.len() > 30, "{}", exprs.len());
    // Rates and rules need a few scrapes and evaluations: retry each for a while.
    let deadline = Instant::now() + Duration::from_secs(90);
    let mut failing: Vec<(String, String, String)> = Vec::new();
    for (what, e) in &exprs {
        loop {
            match query(&prom, e) {
                Ok(n) if n > 0 => break,
                outcome => {
                    if Instant::now() > deadline {
                        let why = match outcome {
                            Ok(_) => "no data".to_string(),
                            Err(err) => err,
                        };
                        failing.push((what.clone(), e.clone(), why));
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(500));
                }
            }
        }
    }
    stop(run);
    assert!(failing.is_empty(), "{failing:#?}");
}
