//! The Kafka-facing commands: `run`, `topics create`, and `loadgen --brokers`.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result};

use salespulse_kafka::{create_topics, produce_generated, KafkaSettings, TopicOutcome};
use salespulse_loadgen::Options;

use crate::service::Service;

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}

/// The HTTP access policy of `[http]`, warning when it is off.
pub fn access(http: &salespulse_server::HttpSection) -> Result<salespulse_server::Access> {
    let access = salespulse_server::Access::from_section(http)?;
    if access.is_open() {
        tracing::warn!(
            listen = %http.listen,
            "http.auth = \"none\": the API serves every rep's scores and commissions to anyone who can reach it"
        );
    } else {
        tracing::info!(
            tokens = access.token_count(),
            "http: bearer tokens required"
        );
    }
    Ok(access)
}

/// `salespulse run`: the service plus its HTTP server, until SIGINT/SIGTERM.
pub fn run_service(config: Option<&std::path::Path>) -> Result<()> {
    let loaded = crate::config::load_all(config)?;
    tracing::info!(kafka = ?loaded.kafka.kafka, "starting");
    let access = access(&loaded.http)?;
    let summary = runtime()?.block_on(async {
        let service =
            Service::start(&loaded.kafka, &loaded.engine, loaded.http.listen, access).await?;
        #[cfg(unix)]
        let reload = tokio::spawn(crate::control_cmd::reload_on_sighup(
            config.map(std::path::Path::to_path_buf),
            loaded.kafka.clone(),
        ));
        let summary = service.run(&loaded.kafka, &loaded.engine).await;
        #[cfg(unix)]
        reload.abort();
        summary
    })?;
    eprintln!(
        "run: read {} applied {} already-applied {} rejected {} emitted {} changelog-written {} restored {} rekeyed {} credits-sent {}",
        summary.read,
        summary.applied,
        summary.already_applied,
        summary.rejected,
        summary.emitted,
        summary.changelog_written,
        summary.restored,
        summary.rekeyed,
        summary.credits_sent
    );
    Ok(())
}

/// The `rank_change` setting: the fewest places that count as a move, or
/// None when off.
pub fn rank_change(cfg: &salespulse_engine::EngineConfig) -> Option<u32> {
    let r = &cfg.detect_base.rank_change;
    (cfg.detect.enabled && r.enabled).then_some(r.min_places.max(1))
}

/// `salespulse topics create`.
pub fn topics_create(config: Option<&std::path::Path>, partitions: Option<i32>) -> Result<()> {
    let loaded = crate::config::load_all(config)?;
    let outcomes = runtime()?.block_on(create_topics(&loaded.kafka, partitions))?;
    for o in outcomes {
        match o {
            TopicOutcome::Created(t) => println!("created {t}"),
            TopicOutcome::Existed(t) => println!("exists  {t}"),
        }
    }
    Ok(())
}

/// `salespulse loadgen --brokers B --topic T --rate EPS`.
pub fn loadgen_to_kafka(
    brokers: &str,
    topic: &str,
    rate: u64,
    duration: Option<Duration>,
    opts: Options,
    config: Option<&PathBuf>,
) -> Result<()> {
    let mut s: KafkaSettings = crate::config::load_all(config.map(PathBuf::as_path))?.kafka;
    s.kafka.brokers = brokers.to_string();
    let summary = runtime()?.block_on(produce_generated(&s, topic, opts, rate, None, duration))?;
    eprintln!(
        "loadgen: produced {} records to {topic} in {:.1} s",
        summary.produced, summary.seconds
    );
    Ok(())
}
