//! A `salespulse run` instance under measurement: its /metrics and the
//! CPU time and peak RSS the kernel accounts to its process.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::latency::Histogram;
use crate::support::run::{start_instance, Run};
use crate::support::{http_get, metric};

/// One running service.
pub struct Instance {
    run: Run,
    http: String,
}

/// What the kernel accounted to a process so far.
pub struct Usage {
    /// User plus system CPU seconds.
    pub cpu_seconds: f64,
    /// Peak resident set (VmHWM), KiB.
    pub peak_rss_kib: u64,
}

impl Instance {
    /// Starts instance `i` on a copy of `cfg` with its own HTTP port.
    pub fn start(cfg: &Path, i: usize) -> Instance {
        let (run, http) = start_instance(cfg, &format!("instance-{i}"));
        Instance { run, http }
    }

    fn metrics(&self) -> String {
        match http_get(&self.http, "/metrics") {
            Some((200, text)) => text,
            _ => String::new(),
        }
    }

    /// Whether it owns at least one input partition.
    pub fn owns_partitions(&self) -> bool {
        metric(&self.metrics(), "salespulse_partitions_owned") >= 1.0
    }

    /// Records applied or rejected so far.
    pub fn processed(&self) -> f64 {
        let m = self.metrics();
        metric(&m, "salespulse_events_applied_total")
            + metric(&m, "salespulse_events_rejected_total")
    }

    /// Bytes queued so far by topic (`salespulse_output_bytes_total`).
    pub fn output_bytes(&self) -> std::collections::BTreeMap<String, f64> {
        self.metrics()
            .lines()
            .filter_map(|l| {
                let rest = l.strip_prefix("salespulse_output_bytes_total{topic=\"")?;
                let (topic, value) = rest.split_once("\"} ")?;
                Some((topic.to_string(), value.trim().parse().ok()?))
            })
            .collect()
    }

    /// Waits until `processed()` reaches `n`.
    pub fn wait_processed(&self, n: f64) {
        let deadline = Instant::now() + Duration::from_secs(600);
        while self.processed() < n {
            assert!(Instant::now() < deadline, "not processed in time: {n}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The event-to-emit histogram as exported now.
    pub fn histogram(&self) -> Histogram {
        Histogram::parse(&self.metrics(), "salespulse_event_to_emit_seconds")
    }

    /// CPU time and peak RSS from /proc.
    pub fn usage(&self) -> Usage {
        let pid = self.run.id();
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        // Fields after the command name (which may hold spaces): state is 3rd.
        let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
        let fields: Vec<&str> = after.split_whitespace().collect();
        let ticks = |i: usize| {
            fields
                .get(i)
                .and_then(|f| f.parse::<f64>().ok())
                .unwrap_or(0.0)
        };
        // utime and stime are fields 14 and 15 of stat: 12 and 13 after the name.
        let cpu_seconds = (ticks(11) + ticks(12)) / clock_ticks();
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        let peak_rss_kib = status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .unwrap_or(0);
        Usage {
            cpu_seconds,
            peak_rss_kib,
        }
    }
}

/// The kernel's clock ticks per second (`getconf CLK_TCK`; 100 on Linux).
fn clock_ticks() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .unwrap_or(100.0)
}
