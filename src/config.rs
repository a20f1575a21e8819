//! The one configuration loader: embedded defaults (the files shipped in
//! config/), then every `*.toml` in `--config DIR` in name order, then
//! environment overrides `SALESPULSE__SECTION__KEY` (e.g.
//! `SALESPULSE__ENGINE__TIME_ZONE=Europe/Berlin`).

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{bail, Context, Result};
use config::{Config, Environment, File, FileFormat};
use serde::Deserialize;

use salespulse_engine::{EngineConfig, Settings};
use salespulse_kpi::RawProfile;

/// The shipped defaults, embedded so the binary runs with no files around it.
const DEFAULT_ENGINE: &str = include_str!("../config/salespulse.toml");
const DEFAULT_PROFILES: &str = include_str!("../config/profiles.toml");
const DEFAULT_COACHING: &str = include_str!("../config/coaching.toml");

/// Every top-level section; unknown ones are rejected so typos surface.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AppConfig {
    #[serde(default)]
    engine: salespulse_engine::settings_sections::EngineSection,
    #[serde(default)]
    currency: salespulse_engine::settings_sections::CurrencySection,
    #[serde(default)]
    scoring: salespulse_engine::settings_sections::ScoringSection,
    #[serde(default)]
    profiles: BTreeMap<String, RawProfile>,
    #[serde(default)]
    detect: salespulse_engine::DetectSection,
    #[serde(default)]
    coaching: salespulse_engine::settings_sections::CoachingSection,
    #[serde(default)]
    control: salespulse_engine::settings_sections::ControlSection,
    #[serde(default)]
    kafka: salespulse_kafka::KafkaSection,
    #[serde(default)]
    input: salespulse_kafka::InputSection,
    #[serde(default)]
    output: salespulse_kafka::OutputSection,
    #[serde(default)]
    topics: salespulse_kafka::TopicsSection,
    #[serde(default)]
    service: salespulse_kafka::ServiceSection,
    #[serde(default)]
    metrics: salespulse_kafka::MetricsSection,
    #[serde(default)]
    http: salespulse_server::HttpSection,
    #[serde(default)]
    privacy: salespulse_kafka::PrivacySection,
    #[serde(default)]
    dlq: salespulse_kafka::DlqSection,
}

/// The whole configuration, validated: the engine's and the Kafka edge's.
pub struct Loaded {
    /// Engine configuration.
    pub engine: EngineConfig,
    /// Kafka, topics and service settings.
    pub kafka: salespulse_kafka::KafkaSettings,
    /// HTTP settings.
    pub http: salespulse_server::HttpSection,
}

fn read(dir: Option<&Path>) -> Result<AppConfig> {
    builder(dir)?
        .build()
        .context("reading configuration")?
        .try_deserialize()
        .context("invalid configuration")
}

/// What a control record carries, read as `load_all` reads it.
pub struct Versioned {
    /// The `[profiles]` table.
    pub profiles: serde_json::Value,
    /// The detector tables of `[detect]` that a change may carry.
    pub detect: serde_json::Value,
    /// `scoring.default_role`.
    pub default_role: String,
}

/// The versioned part of the configuration as JSON.
pub fn versioned_json(dir: Option<&Path>) -> Result<Versioned> {
    let cfg = builder(dir)?.build().context("reading configuration")?;
    let profiles: serde_json::Value = cfg.get("profiles").context("reading [profiles]")?;
    let detect: serde_json::Value = cfg.get("detect").unwrap_or_default();
    let detect = salespulse_engine::VERSIONED_DETECT_KEYS
        .iter()
        .filter_map(|k| Some(((*k).to_string(), detect.get(*k)?.clone())))
        .collect();
    let default_role: String = cfg
        .get("scoring.default_role")
        .unwrap_or_else(|_| "direct".to_string());
    Ok(Versioned {
        profiles,
        detect: serde_json::Value::Object(detect),
        default_role,
    })
}

fn builder(dir: Option<&Path>) -> Result<config::ConfigBuilder<config::builder::DefaultState>> {
    let mut builder = Config::builder()
        .add_source(File::from_str(DEFAULT_ENGINE, FileFormat::Toml))
        .add_source(File::from_str(DEFAULT_PROFILES, FileFormat::Toml))
        .add_source(File::from_str(DEFAULT_COACHING, FileFormat::Toml));
    if let Some(dir) = dir {
        if !dir.is_dir() {
            bail!("--config {}: not a directory", dir.display());
        }
        let mut files: Vec<_> = std::fs::read_dir(dir)
            .with_context(|| format!("reading config directory {}", dir.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .collect();
        files.sort();
        for f in files {
            builder = builder.add_source(File::from(f).format(FileFormat::Toml));
        }
    }
    builder = builder.add_source(
        Environment::with_prefix("SALESPULSE")
            .prefix_separator("__")
            .separator("__"),
    );
    Ok(builder)
}

/// Loads and validates everything: engine and Kafka settings.
pub fn load_all(dir: Option<&Path>) -> Result<Loaded> {
    let app = read(dir)?;
    let settings = Settings {
        engine: app.engine,
        currency: app.currency,
        scoring: app.scoring,
        profiles: app.profiles,
        detect: app.detect,
        coaching: app.coaching,
        control: app.control,
    };
    let engine = EngineConfig::new(&settings).context("invalid configuration")?;
    let kafka = salespulse_kafka::KafkaSettings {
        kafka: app.kafka,
        input: app.input,
        output: app.output,
        topics: app.topics,
        service: app.service,
        metrics: app.metrics,
        privacy: app.privacy,
        dlq: app.dlq,
    };
    kafka.validate().context("invalid configuration")?;
    Ok(Loaded {
        engine,
        kafka,
        http: app.http,
    })
}

/// Loads and validates: the engine configuration ready to run.
pub fn load(dir: Option<&Path>) -> Result<EngineConfig> {
    Ok(load_all(dir)?.engine)
}
