//! The command line: configuration errors name the key, environment
//! overrides apply, replay checks future timestamps against the time its
//! input was written (or `--now`), loadgen is deterministic.

use std::process::{Command, Output};

fn salespulse(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_salespulse"));
    c.args(args).current_dir(env!("CARGO_MANIFEST_DIR"));
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().expect("run salespulse")
}

#[path = "support/scratch.rs"]
mod scratch;

fn config_dir(name: &str, toml: &str) -> scratch::Scratch {
    let dir = scratch::scratch(&format!("cli-{name}"));
    std::fs::write(dir.join("override.toml"), toml).unwrap();
    dir
}

/// Writes `events` to a temp file named `name` and replays it to /dev/null.
fn replay_bytes(name: &str, events: &[u8]) -> Output {
    let dir = scratch::scratch(&format!("cli-{name}"));
    let path = dir.join("events.ndjson");
    std::fs::write(&path, events).unwrap();
    salespulse(
        &[
            "replay",
            "--events",
            path.to_str().unwrap(),
            "--out",
            "/dev/null",
        ],
        &[],
    )
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn check_config_accepts_the_shipped_defaults() {
    let o = salespulse(&["check-config", "--config", "config"], &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("profile direct v1")
            && out.contains("profile channel v1")
            && out.contains("profile inside v1"),
        "{out}"
    );
}

#[test]
fn kafka_secrets_stay_out_of_check_config_logs_and_errors() {
    let dir = config_dir(
        "secrets",
        "[kafka]\nbrokers = \"127.0.0.1:1\"\n[kafka.client]\n\"security.protocol\" = \"SASL_SSL\"\n\"sasl.mechanisms\" = \"SCRAM-SHA-512\"\n\"sasl.username\" = \"svc-user\"\n\"sasl.password\" = \"pw-hunter2\"\n\"ssl.key.password\" = \"pw-keypass\"\n\"ssl.keystore.password\" = \"pw-oauth\"\n",
    );
    let cfg = dir.to_str().unwrap();
    let o = salespulse(&["check-config", "--config", cfg], &[]);
    let shown = format!("{}{}", String::from_utf8_lossy(&o.stdout), stderr(&o));
    assert!(o.status.success(), "{shown}");
    assert!(
        shown.contains("sasl.username = svc-user")
            && shown.contains("sasl.password = <redacted>")
            && shown.contains("ssl.key.password = <redacted>"),
        "{shown}"
    );
    // A property librdkafka rejects, holding a secret: the error names the
    // key, never the value.
    std::fs::write(
        dir.join("zz-bad.toml"),
        "[kafka.client]\n\"sasl.bogus.secret\" = \"pw-bogus\"\n",
    )
    .unwrap();
    let o = salespulse(
        &["topics", "create", "--config", cfg],
        &[("RUST_LOG", "debug")],
    );
    let shown = format!("{}{}", String::from_utf8_lossy(&o.stdout), stderr(&o));
    assert!(!o.status.success(), "{shown}");
    assert!(shown.contains("sasl.bogus.secret"), "{shown}");
    for secret in ["pw-hunter2", "pw-keypass", "pw-oauth", "pw-bogus"] {
        assert!(!shown.contains(secret), "{secret} leaked: {shown}");
    }
}

#[test]
fn token_new_prints_a_token_whose_hash_is_the_entry_and_run_needs_a_tokens_file() {
    use sha2::Digest;
    let o = salespulse(
        &["token", "new", "--scope", "manager:t1", "--name", "ana"],
        &[],
    );
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(o.status.success(), "{}", stderr(&o));
    let token = out
        .lines()
        .next()
        .and_then(|l| l.rsplit(' ').next())
        .unwrap();
    assert_eq!(token.len(), 64, "{out}");
    let hash: String = sha2::Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert!(out.contains(&format!("sha256 = \"{hash}\"")), "{out}");
    assert!(out.contains("scope = \"manager:t1\""), "{out}");
    let o = salespulse(&["token", "new", "--scope", "boss", "--name", "x"], &[]);
    assert!(
        !o.status.success() && stderr(&o).contains("manager:<team_id>"),
        "{}",
        stderr(&o)
    );

    // `run` without a tokens file (and auth not explicitly off) refuses to start.
    let dir = config_dir("noauth", "[kafka]\nbrokers = \"127.0.0.1:1\"\n");
    let o = salespulse(&["run", "--config", dir.to_str().unwrap()], &[]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("http.tokens_file is not set"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn config_errors_name_the_key_and_the_fix() {
    let cases = [
        ("window", "[[engine.windows]]\nname = \"2h\"\nwidth = \"2h\"\nbucket = \"7m\"\n", "bucket 7m must divide the width 2h"),
        ("typo", "[engine]\ntime_zon = \"UTC\"\n", "time_zon"),
        ("zone", "[engine]\ntime_zone = \"Mars/Olympus\"\n", "Mars/Olympus"),
        ("rate", "[currency.rates]\nEUR = \"-1\"\n", "EUR"),
        ("profile", "[profiles.direct]\ncomponents = [{ kpi = \"revenu\", window = \"month\", target = 1, weight = 1 }]\n", "unknown KPI"),
        ("plan", "[profiles.direct]\ncomponents = [{ kpi = \"revenue\", window = \"month\", target = 1, weight = 1 }]\ncommission = { tiers = [{ from = 0.5, rate = 0.1 }] }\n", "profiles.direct.commission.tiers[0].from = 0.5"),
        ("plan target", "[profiles.direct]\ncomponents = [{ kpi = \"calls\", window = \"day\", target = 1, weight = 1 }]\ncommission = { tiers = [{ from = 0.0, rate = 0.1 }] }\n", "set profiles.direct.commission.target"),
    ];
    for (name, toml, needle) in cases {
        let dir = config_dir(name, toml);
        let o = salespulse(&["check-config", "--config", dir.to_str().unwrap()], &[]);
        assert!(!o.status.success(), "{name}: accepted");
        assert!(
            stderr(&o).contains(needle),
            "{name}: {:?} should mention {needle:?}",
            stderr(&o)
        );
    }
}

#[test]
fn environment_overrides_files() {
    let o = salespulse(
        &["check-config"],
        &[("SALESPULSE__ENGINE__TIME_ZONE", "Europe/Berlin")],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("time zone: Europe/Berlin"));
    let o = salespulse(
        &["check-config"],
        &[("SALESPULSE__ENGINE__TIME_ZONE", "Nowhere/Land")],
    );
    assert!(!o.status.success());
}

#[test]
fn a_far_future_record_does_not_poison_a_replay() {
    // Without a clock, the 9999 record moved stream time there and every
    // later record was too_late. The input file's modification time is the
    // clock now: the record is future_timestamp and the rest apply.
    let events = concat!(
        r#"{"event_id":"a1","type":"activity.call","occurred_at":"2026-10-02T10:00:00Z","rep_id":"r1"}"#,
        "\n",
        r#"{"event_id":"a2","type":"activity.call","occurred_at":"9999-12-31T00:00:00Z","rep_id":"r1"}"#,
        "\n",
        r#"{"event_id":"a3","type":"activity.call","occurred_at":"2026-10-02T11:00:00Z","rep_id":"r1"}"#,
        "\n",
    );
    let o = replay_bytes("far-future", events.as_bytes());
    assert!(o.status.success(), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("applied 2 rejected 1 (future_timestamp=1)"),
        "{err}"
    );
    // --now off is the old behaviour, for generated data dated in the future.
    let dir = scratch::scratch("cli-far-future-off");
    let path = dir.join("events.ndjson");
    std::fs::write(&path, events).unwrap();
    let o = salespulse(
        &[
            "replay",
            "--events",
            path.to_str().unwrap(),
            "--out",
            "/dev/null",
            "--now",
            "off",
        ],
        &[],
    );
    assert!(stderr(&o).contains("too_late=1"), "{}", stderr(&o));
}

#[test]
fn a_late_resend_is_counted_once_in_a_replay() {
    // Issue 22's six records: the deal re-sent right after its first copy,
    // both dated three days before stream time.
    let events = [
        r#"{"event_id":"a1","type":"activity.email","occurred_at":"2026-10-02T10:00:00Z","rep_id":"r1"}"#,
        r#"{"event_id":"a2","type":"activity.email","occurred_at":"2026-10-05T08:00:00Z","rep_id":"r1"}"#,
        r#"{"event_id":"a3","type":"activity.email","occurred_at":"2026-10-02T17:55:59Z","rep_id":"r1"}"#,
        r#"{"event_id":"a3","type":"activity.email","occurred_at":"2026-10-02T17:55:59Z","rep_id":"r1"}"#,
        r#"{"event_id":"d1","type":"deal.won","occurred_at":"2026-10-02T16:00:00Z","rep_id":"r1","deal_id":"D1","amount":"50000.00","currency":"USD","customer_id":"c1","channel":"direct"}"#,
        r#"{"event_id":"d1","type":"deal.won","occurred_at":"2026-10-02T16:00:00Z","rep_id":"r1","deal_id":"D1","amount":"50000.00","currency":"USD","customer_id":"c1","channel":"direct"}"#,
    ]
    .join("\n");
    let dir = scratch::scratch("cli-late-resend");
    let path = dir.join("events.ndjson");
    std::fs::write(&path, events).unwrap();
    let (kpis, statements) = (dir.join("kpis.ndjson"), dir.join("statements.ndjson"));
    let o = salespulse(
        &[
            "replay",
            "--events",
            path.to_str().unwrap(),
            "--kpis",
            kpis.to_str().unwrap(),
            "--statements",
            statements.to_str().unwrap(),
        ],
        &[],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("duplicate=2"), "{}", stderr(&o));
    let last = |file: &std::path::Path| -> serde_json::Value {
        let text = std::fs::read_to_string(file).unwrap();
        serde_json::from_str(text.lines().last().expect("a record")).unwrap()
    };
    let rec = last(&kpis);
    assert_eq!(rec["kpis"]["deals_won"]["month"], 1);
    assert_eq!(rec["kpis"]["revenue"]["month"], "50000.00");
    assert_eq!(rec["kpis"]["emails"]["month"], 3);
    let c = last(&statements);
    assert_eq!(c["gross"], "50000.00");
    // The shipped direct plan: 6% up to the 40,000 target, 9% above.
    assert_eq!(c["earned_to_date"], "3300.00");
}

#[test]
fn now_enables_the_future_timestamp_check() {
    let args = [
        "replay",
        "--events",
        "tests/golden/small.ndjson",
        "--out",
        "/dev/null",
    ];
    let o = salespulse(
        &[&args[..], &["--now", "2026-03-10T00:00:00Z"]].concat(),
        &[],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("future_timestamp="), "{}", stderr(&o));
    let o = salespulse(&args, &[]);
    assert!(!stderr(&o).contains("future_timestamp"), "{}", stderr(&o));
    let o = salespulse(&[&args[..], &["--now", "yesterday"]].concat(), &[]);
    assert!(!o.status.success());
}

#[test]
fn loadgen_is_deterministic_and_replays_cleanly() {
    let a = salespulse(
        &["loadgen", "--reps", "16", "--days", "5", "--seed", "9"],
        &[],
    );
    let b = salespulse(
        &["loadgen", "--reps", "16", "--days", "5", "--seed", "9"],
        &[],
    );
    assert!(a.status.success());
    assert_eq!(a.stdout, b.stdout);
    let c = salespulse(
        &["loadgen", "--reps", "16", "--days", "5", "--seed", "10"],
        &[],
    );
    assert_ne!(a.stdout, c.stdout);
    let o = replay_bytes("gen", &a.stdout);
    assert!(o.status.success());
    assert!(stderr(&o).contains("rejected 0 (none)"), "{}", stderr(&o));
}

fn words(summary: &str) -> Vec<&str> {
    summary
        .split(|c: char| c.is_whitespace() || c == '(' || c == ',')
        .filter(|w| !w.is_empty())
        .collect()
}

/// The number `offset` words away from `label` (1: after it, -1: before it).
fn number_near(summary: &str, label: &str, offset: isize) -> u64 {
    let w = words(summary);
    let i = w
        .iter()
        .position(|x| *x == label)
        .unwrap_or_else(|| panic!("{label} not in {summary}"));
    w.get(i.wrapping_add_signed(offset))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no number next to {label} in {summary}"))
}

/// The number right after `label`, as in replay's "read 10 applied 9".
fn after(summary: &str, label: &str) -> u64 {
    number_near(summary, label, 1)
}

/// The number right before `label`, as in loadgen's "2510 events, 145 duplicates".
fn before(summary: &str, label: &str) -> u64 {
    number_near(summary, label, -1)
}

#[test]
fn noisy_streams_lose_nothing_valid() {
    let args = [
        "loadgen",
        "--reps",
        "24",
        "--days",
        "6",
        "--seed",
        "4",
        "--duplicates",
        "0.05",
        "--malformed",
        "0.03",
    ];
    let noisy = salespulse(&args, &[]);
    let gen = stderr(&noisy);
    let (events, dups, malformed) = (
        before(&gen, "events"),
        before(&gen, "duplicates"),
        before(&gen, "malformed)"),
    );
    assert!(dups > 0 && malformed > 0, "{gen}");
    let o = replay_bytes("noisy", &noisy.stdout);
    let s = stderr(&o);
    // Every generated event is applied; exactly the injected duplicates and broken lines are rejected.
    assert_eq!(after(&s, "applied"), events, "{gen}\n{s}");
    assert_eq!(after(&s, "duplicates"), dups, "{gen}\n{s}");
    assert_eq!(after(&s, "rejected"), dups + malformed, "{gen}\n{s}");
}

#[test]
fn control_changes_are_checked_before_publishing_and_in_replay() {
    let v2 = config_dir(
        "ctl-v2",
        "[profiles.direct]\nversion = 2\ncomponents = [{ kpi = \"calls\", window = \"day\", target = 10, weight = 1 }, { kpi = \"revenue\", window = \"month\", target = 30000, weight = 1 }]\n",
    );
    let v2s = v2.to_str().unwrap();
    let print = |published_at: &str| {
        salespulse(
            &[
                "control",
                "publish",
                "--config",
                v2s,
                "--print",
                "--effective-at",
                "2026-01-08T00:00:00Z",
                "--published-at",
                published_at,
            ],
            &[],
        )
    };
    // Too little lead: refused before anything is published.
    let o = print("2026-01-07T23:50:00Z");
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("less than control.min_lead (900 s) after published_at"),
        "{}",
        stderr(&o)
    );
    let o = print("2026-01-07T09:00:00Z");
    assert!(o.status.success(), "{}", stderr(&o));
    let good = String::from_utf8(o.stdout).unwrap();
    // The same version number with other components is rejected in replay,
    // as the service rejects it; the good line applies.
    let bad = good
        .replace("\"target\":10", "\"target\":12")
        .replace("2026-01-08T00:00:00Z", "2026-01-09T00:00:00Z");
    assert_ne!(bad, good);
    let control = v2.join("control.ndjson");
    std::fs::write(&control, format!("{good}{bad}")).unwrap();
    let events = v2.join("events.ndjson");
    let o = salespulse(
        &[
            "loadgen",
            "--reps",
            "3",
            "--days",
            "10",
            "--out",
            events.to_str().unwrap(),
        ],
        &[],
    );
    assert!(o.status.success());
    let o = salespulse(
        &[
            "replay",
            "--events",
            events.to_str().unwrap(),
            "--control",
            control.to_str().unwrap(),
        ],
        &[],
    );
    let err = stderr(&o);
    assert!(o.status.success(), "{err}");
    assert!(
        err.contains("control line 1: version from 2026-01-08T00:00:00Z applied"),
        "{err}"
    );
    assert!(err.contains("control line 2: rejected: profiles.direct: the profile changed but its version 2 is not above the current 2"), "{err}");
    let out = String::from_utf8(o.stdout).unwrap();
    let last: serde_json::Value = serde_json::from_str(out.lines().last().unwrap()).unwrap();
    assert_eq!(last["profile"]["version"], 2, "{last}");
}

/// `replay --view` answers what the live company view would: each rep's
/// company rank and each team's quota-weighted score, checked against a
/// recompute from the final records.
#[test]
fn replay_view_answers_standings_and_teams_from_the_final_records() {
    let dir = config_dir("view", "");
    let events = dir.join("events.ndjson");
    let o = salespulse(
        &[
            "loadgen",
            "--reps",
            "12",
            "--days",
            "20",
            "--seed",
            "4",
            "--out",
            events.to_str().unwrap(),
        ],
        &[],
    );
    assert!(o.status.success());
    let view = dir.join("view.ndjson");
    let o = salespulse(
        &[
            "replay",
            "--events",
            events.to_str().unwrap(),
            "--view",
            view.to_str().unwrap(),
        ],
        &[],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let finals: Vec<serde_json::Value> = String::from_utf8(o.stdout)
        .unwrap()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .filter(|v: &serde_json::Value| v["schema"] == "score/2")
        .collect();
    let lines: Vec<serde_json::Value> = std::fs::read_to_string(&view)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let scores: Vec<f64> = finals.iter().filter_map(|r| r["score"].as_f64()).collect();
    for r in &finals {
        let line = lines
            .iter()
            .find(|l| l["kind"] == "standing" && l["rep_id"] == r["rep_id"])
            .expect("a standing per rep");
        let s = r["score"].as_f64().unwrap();
        let rank = 1 + scores.iter().filter(|&&o| o > s).count();
        assert_eq!(line["standing"]["company"]["rank"], rank, "{line}");
        assert_eq!(line["standing"]["company"]["of"], scores.len());
    }
    let teams: Vec<&serde_json::Value> = lines.iter().filter(|l| l["kind"] == "team").collect();
    assert!(!teams.is_empty());
    for t in teams {
        let members: Vec<&serde_json::Value> = finals
            .iter()
            .filter(|r| r["team_id"] == t["team_id"])
            .collect();
        let quota = |r: &serde_json::Value| {
            r["components"].as_array().unwrap().iter().find_map(|c| {
                (matches!(c["kpi"].as_str(), Some("revenue" | "partner_revenue"))
                    && matches!(
                        c["window"].as_str(),
                        Some("day" | "week" | "month" | "quarter")
                    ))
                .then(|| c["target"].as_str().unwrap().parse::<f64>().unwrap())
            })
        };
        let (num, den) = members.iter().fold((0.0, 0.0), |(n, d), r| {
            let q = quota(r).expect("every shipped profile has a revenue quota");
            (n + q * r["score"].as_f64().unwrap(), d + q)
        });
        let want = (num / den * 1e6).round() / 1e6;
        assert!(
            (t["team_score"].as_f64().unwrap() - want).abs() < 1e-6,
            "{t}"
        );
        assert_eq!(t["reps"], members.len());
    }
}
