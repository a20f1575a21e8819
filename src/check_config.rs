//! `salespulse check-config`: validates the configuration and prints what is in force.

use std::path::Path;

use anyhow::Result;

/// Runs `check-config`.
pub fn run(dir: Option<&Path>) -> Result<()> {
    let cfg = crate::config::load(dir)?;
    let all = crate::config::load_all(dir)?;
    let kafka = all.kafka;
    println!("configuration OK");
    println!(
        "  kafka: {} (group {}, {})",
        kafka.kafka.brokers,
        kafka.kafka.group_id,
        if kafka.kafka.instance_id.is_empty() {
            "dynamic membership".to_string()
        } else {
            format!("static member {}", kafka.kafka.instance_id)
        }
    );
    for (key, value) in kafka.kafka.client.shown() {
        println!("    {key} = {value}");
    }
    print_access(&all.http)?;
    println!("  time zone: {}", cfg.calendar.tz_name());
    let windows: Vec<String> = cfg
        .specs
        .specs()
        .iter()
        .map(|s| format!("{} ({} s buckets)", s.name, s.bucket_ms / 1000))
        .collect();
    println!("  rolling windows: {}", windows.join(", "));
    println!(
        "  period grace: {} h, dedupe horizon: {} h",
        cfg.grace_ms / 3_600_000,
        cfg.dedupe_horizon_ms / 3_600_000
    );
    println!(
        "  reporting currency: {}",
        cfg.decode.currencies.reporting()
    );
    for p in cfg.profiles.latest().profiles.roles() {
        println!("  profile {} v{}:", p.name, p.version);
        for c in &p.components {
            println!(
                "    {:<20} {:<8} target {:>10} weight {:.2} {:?} cap {}",
                c.kpi.as_str(),
                c.window_name,
                c.target,
                c.weight,
                c.direction,
                c.cap
            );
        }
        if let Some(plan) = &p.commission {
            print_plan(plan);
        }
    }
    let ctl = &cfg.control;
    println!(
        "  profile changes: effective at least {} s after publishing; instances re-read the control topic every {} s and wait when it is {} s old",
        ctl.min_lead_ms / 1000,
        ctl.refresh_ms / 1000,
        ctl.stale_after_ms(cfg.max_future_skew_ms) / 1000
    );
    let c = &cfg.coaching;
    if c.enabled {
        println!(
            "  coaching: up to {} components below p{} of the role (roles of {}+ reps), {} ratios, {} rules",
            c.max_items,
            c.below_percentile,
            c.min_peers,
            c.ratios.len(),
            c.rules.len()
        );
    } else {
        println!("  coaching: off");
    }
    Ok(())
}

fn print_plan(plan: &salespulse_incentive::Plan) {
    let tiers: Vec<String> = plan
        .tiers
        .iter()
        .map(|t| format!("{:.0}%: {}", t.from * 100.0, t.rate))
        .collect();
    println!(
        "    commission per {} on {} (target {}): {}; cap {}; clawback {} days {:?}",
        plan.period.as_str(),
        plan.measure.kpi(),
        plan.target.unwrap_or(0.0),
        tiers.join(", "),
        plan.cap
            .map_or("none".into(), |c| (c as f64 / salespulse_incentive::MICROS)
                .to_string()),
        plan.clawback_ms / 86_400_000,
        plan.clawback
    );
    for s in &plan.spiffs {
        println!(
            "      spiff {}: {} per {:?} from {} to {}",
            s.name,
            s.amount as f64 / salespulse_incentive::MICROS,
            s.on,
            salespulse_model::Timestamp(s.from_ms),
            salespulse_model::Timestamp(s.until_ms)
        );
    }
}

/// The HTTP access policy. A tokens file that is not there yet (a secret
/// mounted only where the service runs) is named, not an error here; an
/// unreadable or invalid one is.
fn print_access(http: &salespulse_server::HttpSection) -> Result<()> {
    let listen = http.listen;
    match (http.auth.as_str(), &http.tokens_file) {
        ("none", _) => println!("  http {listen}: no access control (http.auth = \"none\")"),
        ("tokens", None) => println!(
            "  http {listen}: bearer tokens, but http.tokens_file is not set: `run` refuses to start until it is (or http.auth = \"none\")"
        ),
        ("tokens", Some(f)) if !f.exists() => println!(
            "  http {listen}: bearer tokens from {} (not present here; `run` needs it)",
            f.display()
        ),
        _ => {
            let a = salespulse_server::Access::from_section(http)?;
            println!(
                "  http {listen}: bearer tokens ({} in the file); public: /healthz {}",
                a.token_count(),
                http.public.join(" ")
            );
        }
    }
    Ok(())
}
