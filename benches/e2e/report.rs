//! The e2e result: JSON under target/bench/, and a table appended to
//! docs/BENCHMARKS.md with the machine, the commit and the command.

use serde_json::Value;

fn sh(cmd: &str) -> String {
    std::process::Command::new("sh")
        .args(["-c", cmd])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default()
}

fn machine() -> String {
    let cpu = sh("grep -m1 'model name' /proc/cpuinfo | cut -d: -f2");
    let mem = sh("awk '/MemTotal/ {printf \"%.0f GiB\", $2/1048576}' /proc/meminfo");
    format!("{} x {}, {mem}", sh("nproc"), cpu.trim())
}

fn commit() -> String {
    let dirty = if sh("git status --porcelain --untracked-files=no").is_empty() {
        ""
    } else {
        " + working tree"
    };
    format!("{}{dirty}", sh("git rev-parse --short HEAD"))
}

fn f(v: &Value, key: &str) -> f64 {
    v[key].as_f64().unwrap_or(f64::NAN)
}

fn ms(v: &Value, key: &str) -> String {
    match v[key].as_str() {
        Some(note) => note.to_string(), // beyond the histogram
        None => crate::latency::ms(f(v, key)),
    }
}

/// The markdown section for one result.
fn table(r: &Value, machine: &str, commit: &str, date: &str) -> String {
    let mut t = format!(
        "\n### e2e run {date}, commit {commit}\n\nMachine: {machine}; the broker (Tansu) shares it. Command: `cargo bench --bench e2e` ({} events, {} partitions).\n\n| measure | value | goal |\n|---|---|---|\n",
        r["events"], r["partitions"]
    );
    let bare = f(r, "bare_consumer_per_s");
    let drain = f(r, "drain_per_s");
    t += &format!("| bare consumer (read + JSON parse) | {bare:.0} events/s | (floor) |\n");
    t += &format!(
        "| service drain to committed scores, 1 instance, default config | {drain:.0} events/s ({:.0}% of bare) | >= 60% of bare |\n",
        100.0 * drain / bare
    );
    t += &format!(
        "| service CPU per million events | {:.2} s | |\n| service peak RSS | {:.0} MiB | |\n",
        f(r, "cpu_s_per_million"),
        f(r, "peak_rss_kib") / 1024.0
    );
    t += &bytes_rows(r);
    let mut every = r["latency_emit_interval"]
        .as_str()
        .unwrap_or("?")
        .to_string();
    if let Some(extra) = r["latency_extra_toml"].as_str().filter(|x| !x.is_empty()) {
        every += &format!(" and `{}`", extra.replace('\n', " "));
    }
    t += &format!(
        "| drain with `emit_interval` = {every} (the maximum the loads below are shares of) | {:.0} events/s, {:.2} CPU s per million | |\n",
        f(r, "drain_latency_config_per_s"),
        f(r, "cpu_s_per_million_latency_config")
    );
    for p in r["latency"].as_array().into_iter().flatten() {
        t +=
            &format!(
            "| event-to-emit at {:.0}% load ({:.0}/s), p50 / p99 / p99.9 | {} / {} / {} | {} |\n",
            100.0 * f(p, "share"),
            f(p, "offered_per_s"),
            ms(p, "p50_s"),
            ms(p, "p99_s"),
            ms(p, "p999_s"),
            if f(p, "share") == 0.5 { "p99 <= 50 ms" } else { "" }
        );
    }
    for p in r["broker_latency"].as_array().into_iter().flatten() {
        t += &format!(
            "| broker alone (bare producer to bare consumer{}) at {:.0}% load, p50 / p99 / p99.9 | {} / {} / {} | (floor under the row above) |\n",
            match f(p, "record_bytes") {
                b if b > 0.0 => format!(", records padded to {b:.0} bytes"),
                _ => String::new(),
            },
            100.0 * f(p, "share"),
            ms(p, "p50_s"),
            ms(p, "p99_s"),
            ms(p, "p999_s"),
        );
    }
    t += &format!(
        "| drain, 2 instances (same machine; events produced once both own partitions) | {:.0} events/s ({:.2}x one), {:.2} CPU s per million | |\n",
        f(r, "two_instances_drain_per_s"),
        f(r, "two_instances_drain_per_s") / drain,
        f(r, "two_instances_cpu_s_per_million")
    );
    t
}

/// Bytes produced per input event by topic, for the default drain and the
/// latency configuration's.
fn bytes_rows(r: &Value) -> String {
    let mut t = String::new();
    for (key, what) in [
        ("output_bytes_per_event", "default config"),
        (
            "output_bytes_per_event_latency_config",
            "the latency config's drain",
        ),
    ] {
        let Some(by_topic) = r[key].as_object() else {
            continue;
        };
        let listed: Vec<String> = by_topic
            .iter()
            .map(|(topic, b)| format!("{topic} {}", b.as_f64().unwrap_or(f64::NAN)))
            .collect();
        t += &format!(
            "| bytes produced per input event, {what} (key, value and headers by topic) | {} | |\n",
            listed.join(", ")
        );
    }
    t
}

/// Writes target/bench/e2e.json and appends the table to docs/BENCHMARKS.md.
pub fn write(result: &Value) {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = root.join("target/bench");
    let _ = std::fs::create_dir_all(&dir);
    let (machine, commit) = (machine(), commit());
    let date = sh("date -u +%Y-%m-%d");
    let mut full = result.clone();
    full["machine"] = machine.clone().into();
    full["commit"] = commit.clone().into();
    full["date"] = date.clone().into();
    let json = serde_json::to_string_pretty(&full).unwrap_or_default();
    let _ = std::fs::write(dir.join("e2e.json"), &json);
    let md = table(result, &machine, &commit, &date);
    println!("{md}");
    if std::env::var("SALESPULSE_E2E_APPEND").as_deref() != Ok("0") {
        use std::io::Write;
        let path = root.join("docs/BENCHMARKS.md");
        match std::fs::OpenOptions::new().append(true).open(&path) {
            Ok(mut file) => {
                let _ = file.write_all(md.as_bytes());
                println!("e2e: appended to {}", path.display());
            }
            Err(e) => println!("e2e: could not append to {}: {e}", path.display()),
        }
    }
    println!("e2e: result in {}", dir.join("e2e.json").display());
}
