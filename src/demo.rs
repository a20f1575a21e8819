//! `salespulse demo`: the whole pipeline in one process with nothing to
//! install: librdkafka's mock cluster as the broker (a real Kafka-protocol
//! listener on 127.0.0.1, so any Kafka client can read the topics), the
//! generator producing at a modest rate, the service, and the HTTP server.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{Context, Result};
use rdkafka::mocking::MockCluster;

use salespulse_kafka::produce_generated;
use salespulse_loadgen::Options;

use crate::service::Service;

/// Arguments of `demo`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Reps in the generated company.
    #[arg(long, default_value_t = 200)]
    reps: usize,
    /// Events per second the generator produces.
    #[arg(long, default_value_t = 200)]
    rate: u64,
    /// HTTP listen address (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:9898")]
    listen: SocketAddr,
    /// Partitions of the demo topics.
    #[arg(long, default_value_t = 4)]
    partitions: i32,
    /// Config directory overriding the embedded defaults.
    #[arg(long)]
    config: Option<PathBuf>,
}

/// Runs the demo until SIGINT/SIGTERM.
pub fn run_demo(a: &Args) -> Result<()> {
    let loaded = crate::config::load_all(a.config.as_deref())?;
    let (access, token) = demo_access(&loaded.http)?;
    let cluster = MockCluster::new(1).context("starting the embedded broker")?;
    let mut ks = loaded.kafka.clone();
    ks.kafka.brokers = cluster.bootstrap_servers();
    ks.kafka.client.clear();
    let outputs = ks.output.topics();
    for t in ks.input.topics.iter().map(String::as_str).chain(outputs) {
        cluster
            .create_topic(t, a.partitions, 1)
            .with_context(|| format!("creating topic {t}"))?;
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let service = Service::start(&ks, &loaded.engine, a.listen, access).await?;
        let addr = service.addr;
        let opts = Options {
            reps: a.reps,
            days: 3650,
            seed: 1,
            ..Options::default()
        };
        let producer = {
            let (ks, topic, rate, stop) = (
                ks.clone(),
                ks.input.topics[0].clone(),
                a.rate,
                service.shutdown.stopped(),
            );
            tokio::spawn(async move {
                tokio::select! {
                    r = produce_generated(&ks, &topic, opts, rate, None, None) => r.map(|_| ()),
                    _ = stop => Ok(()),
                }
            })
        };
        println!(
            "SalesPulse demo: generator -> {} -> engine -> {} (Ctrl-C to stop)",
            ks.input.topics[0], ks.output.scores
        );
        println!(
            "  kafka bootstrap: {}   (embedded broker; any Kafka client can consume {})",
            ks.kafka.brokers, ks.output.scores
        );
        if let Some(t) = &token {
            println!("  live page:       http://{addr}/#token={t}");
            println!("  api token:       {t}   (admin, this run only: Authorization: Bearer {t})");
        } else {
            println!("  live page:       http://{addr}/");
        }
        println!("  metrics:         http://{addr}/metrics");
        println!("  health:          http://{addr}/healthz   readiness: http://{addr}/readyz");
        println!("  leaderboard:     http://{addr}/v1/leaderboard   a rep: http://{addr}/v1/reps/rep-00001");
        println!("  generating {} events/s for {} reps", a.rate, a.reps);
        // Service::run triggers the shutdown, which also stops the producer.
        let summary = service.run(&ks, &loaded.engine).await;
        let _ = producer.await;
        let summary = summary?;
        eprintln!(
            "demo: applied {} rejected {} emitted {}",
            summary.applied, summary.rejected, summary.emitted
        );
        Ok::<(), anyhow::Error>(())
    })?;
    // Clients first, then the broker they talk to.
    drop(rt);
    drop(cluster);
    Ok(())
}

/// The demo's access policy: the configured one when `[http]` names a
/// tokens file or turns auth off, else a fresh admin token for this run
/// (printed, with the live page's address carrying it).
fn demo_access(
    http: &salespulse_server::HttpSection,
) -> Result<(salespulse_server::Access, Option<String>)> {
    if http.auth == "tokens" && http.tokens_file.is_none() {
        let token = salespulse_server::auth::new_token();
        let access = salespulse_server::Access::with_tokens(
            &[("demo", &token, salespulse_server::Scope::Admin)],
            &http.public.iter().map(String::as_str).collect::<Vec<_>>(),
        );
        return Ok((access, Some(token)));
    }
    Ok((crate::kafka_cmds::access(http)?, None))
}
