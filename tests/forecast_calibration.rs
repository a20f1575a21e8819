//! Calibration of `p_reach` (docs/forecast.md): a simulated company of 200
//! reps over four months with the shipped profiles; every day each rep's
//! forecasts of its month components are read, and at month end each
//! prediction is scored against whether the month reached its target.
//! Predictions are bucketed by decile; in every bucket with enough of
//! them, the observed share that reached the target must be within 10
//! percentage points of the mean prediction. Rerun with
//! `cargo test --release --test forecast_calibration -- --nocapture`; the
//! table is in docs/forecast.md.

use std::collections::{BTreeMap, HashMap};

use config::{Config, File, FileFormat};
use salespulse_engine::{Emit, Engine, EngineConfig, Settings};
use salespulse_loadgen::{Generator, Options};
use salespulse_model::record::RecordKind;

#[derive(serde::Deserialize)]
struct Shipped {
    #[serde(default)]
    engine: salespulse_engine::settings_sections::EngineSection,
    #[serde(default)]
    currency: salespulse_engine::settings_sections::CurrencySection,
    #[serde(default)]
    scoring: salespulse_engine::settings_sections::ScoringSection,
    #[serde(default)]
    profiles: BTreeMap<String, salespulse_kpi::RawProfile>,
    #[serde(default)]
    detect: salespulse_engine::DetectSection,
}

fn shipped() -> EngineConfig {
    let s: Shipped = Config::builder()
        .add_source(File::new("config/salespulse.toml", FileFormat::Toml))
        .add_source(File::new("config/profiles.toml", FileFormat::Toml))
        .build()
        .and_then(|c| c.try_deserialize())
        .expect("shipped config");
    EngineConfig::new(&Settings {
        engine: s.engine,
        currency: s.currency,
        scoring: s.scoring,
        profiles: s.profiles,
        detect: s.detect,
        ..Settings::default()
    })
    .expect("valid")
}

/// (rep, kpi, month start) -> predictions, and -> (value, target) at the close.
type Key = (String, std::borrow::Cow<'static, str>, String);

#[test]
fn p_reach_is_calibrated_by_decile() {
    let mut e = Engine::new(shipped());
    // SALESPULSE_FORECAST_SEED picks another company (the default was used to tune).
    let seed = std::env::var("SALESPULSE_FORECAST_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5);
    let lines: Vec<String> = Generator::new(Options {
        reps: 200,
        days: 155,
        seed,
        ..Options::default()
    })
    .collect();
    let mut predictions: HashMap<Key, Vec<f64>> = HashMap::new();
    let mut targets: HashMap<Key, f64> = HashMap::new();
    let mut closed: HashMap<Key, f64> = HashMap::new();
    let mut day = i64::MIN;
    for l in &lines {
        let _ = e.ingest(l.as_bytes(), None);
        e.flush(Emit::Summaries);
        for s in e.drain().records() {
            let Some(p) = s.period.as_ref().filter(|p| p.kind == "month") else {
                continue;
            };
            for (kpi, row) in s.kpis.rows() {
                if let Some(v) = row.first().and_then(|v| v.map(|n| n.as_f64())) {
                    closed.insert((s.rep_id.clone(), kpi.into(), p.start.clone()), v);
                }
            }
        }
        let today = e.stream_time().unwrap_or(0).div_euclid(86_400_000);
        if today == day {
            continue;
        }
        day = today;
        // The first six weeks are the warm-up: the simulated company starts
        // with no pipeline, so its first month is no guide to the next.
        if today < 20_454 + 45 {
            continue; // 2026-01-01 is day 20,454; from 15 February on
        }
        e.flush(Emit::All);
        for r in e.drain().records() {
            if r.kind != RecordKind::Score {
                continue;
            }
            let month = r
                .commission
                .as_ref()
                .map(|c| c.period.start.clone())
                .unwrap_or_default();
            for f in r.forecast.iter().filter(|f| f.window == "month") {
                let (Some(p), true) = (f.p_reach, (0.1..0.95).contains(&f.elapsed)) else {
                    continue;
                };
                let key = (r.rep_id.clone(), f.kpi.clone(), month.clone());
                targets.insert(key.clone(), f.target.as_f64());
                predictions.entry(key).or_default().push(p);
            }
        }
    }
    assert!(day > 20_454 + 120, "the stream covers the months");
    // Deciles of the prediction: (predictions, sum of p, hits).
    let mut buckets = [(0usize, 0.0f64, 0usize); 10];
    let mut zeros = (0usize, 0usize);
    let mut per_kpi: BTreeMap<&str, [(usize, f64, usize); 10]> = BTreeMap::new();
    for (key, ps) in &predictions {
        let (Some(&value), Some(&target)) = (closed.get(key), targets.get(key)) else {
            continue; // the month did not close inside the stream
        };
        let hit = value >= target - 1e-9;
        let kb = per_kpi
            .entry(&*key.1)
            .or_insert([(0usize, 0.0f64, 0usize); 10]);
        for &p in ps {
            let b = &mut kb[((p * 10.0) as usize).min(9)];
            b.0 += 1;
            b.1 += p;
            b.2 += usize::from(hit);
        }
        for &p in ps {
            if p == 0.0 {
                zeros.0 += 1;
                zeros.1 += usize::from(hit);
            }
            let b = &mut buckets[((p * 10.0) as usize).min(9)];
            b.0 += 1;
            b.1 += p;
            b.2 += usize::from(hit);
        }
    }
    println!("p = 0: {} predictions, {} hit", zeros.0, zeros.1);
    for (kpi, b) in &per_kpi {
        let cells: Vec<String> = b
            .iter()
            .map(|(n, sum, hits)| {
                if *n == 0 {
                    "-".into()
                } else {
                    format!(
                        "{:.2}/{:.2} ({n})",
                        sum / *n as f64,
                        *hits as f64 / *n as f64
                    )
                }
            })
            .collect();
        println!("{kpi}: {}", cells.join(" "));
    }
    println!("| predicted | predictions | mean predicted | observed |");
    println!("|---|---|---|---|");
    for (i, (n, sum, hits)) in buckets.iter().enumerate() {
        if *n == 0 {
            continue;
        }
        println!(
            "| {:.1}-{:.1} | {n} | {:.3} | {:.3} |",
            i as f64 / 10.0,
            (i + 1) as f64 / 10.0,
            sum / *n as f64,
            *hits as f64 / *n as f64
        );
    }
    for (i, (n, sum, hits)) in buckets.iter().enumerate() {
        if *n < 200 {
            continue;
        }
        let (mean, observed) = (sum / *n as f64, *hits as f64 / *n as f64);
        assert!(
            (mean - observed).abs() <= 0.10,
            "decile {i}: predicted {mean:.3}, observed {observed:.3} over {n}"
        );
    }
}
