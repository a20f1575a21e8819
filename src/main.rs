//! `salespulse`: the command line of the SalesPulse engine.

mod check_config;
mod config;
mod control_cmd;
mod demo;
mod kafka_cmds;
mod loadgen_cmd;
mod replay;
mod service;
mod tail;
mod token_cmd;

use std::path::PathBuf;

/// mimalloc rather than glibc's malloc: under the live service's bursts
/// (fetch batches, day closes, alert storms) glibc kept the high-water
/// mark of every thread's arena and RSS crept up for as long as the soak
/// ran, while the live heap stayed flat (docs/BENCHMARKS.md, "Soak").
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use clap::{Parser, Subcommand};

/// Real-time sales performance engine.
#[derive(Debug, Parser)]
#[command(name = "salespulse", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Generate a synthetic company's events as NDJSON.
    Loadgen(loadgen_cmd::Args),
    /// Run the engine over an NDJSON file and write score records.
    Replay(replay::Args),
    /// Validate the configuration and profiles and print what is in force.
    CheckConfig {
        /// Directory with salespulse.toml / profiles.toml overriding the embedded defaults.
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Run everything in one process with an embedded broker: generator, engine, /metrics.
    Demo(demo::Args),
    /// Run the live service: consume the input topics, publish scores and rejects.
    Run {
        /// Config directory overriding the embedded defaults.
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Change profiles while the service runs (docs/control-topic.md).
    Control {
        #[command(subcommand)]
        command: ControlCommand,
    },
    /// Make an API token for the tokens file (docs/security.md).
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Follow a SalesPulse topic, printing its records checked against their schemas.
    Tail(tail::Args),
    /// Manage the service's Kafka topics.
    Topics {
        #[command(subcommand)]
        command: TopicsCommand,
    },
}

#[derive(Debug, Subcommand)]
enum ControlCommand {
    /// Publish the profiles of a config directory as a new version.
    Publish(control_cmd::PublishArgs),
}

#[derive(Debug, Subcommand)]
enum TokenCommand {
    /// Print a new random token and the tokens-file entry holding its hash.
    New(token_cmd::NewArgs),
}

#[derive(Debug, Subcommand)]
enum TopicsCommand {
    /// Create every topic the service uses (idempotent; the score topic is compacted).
    Create {
        /// Partitions (default: topics.partitions from config).
        #[arg(long)]
        partitions: Option<i32>,
        /// Config directory overriding the embedded defaults.
        #[arg(long)]
        config: Option<PathBuf>,
    },
}

fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        // Colour codes only on a terminal: log files and collectors get plain text.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Loadgen(a) => loadgen_cmd::run(&a),
        Command::Replay(a) => replay::run(&a),
        Command::CheckConfig { config } => check_config::run(config.as_deref()),
        Command::Run { config } => kafka_cmds::run_service(config.as_deref()),
        Command::Demo(a) => demo::run_demo(&a),
        Command::Control {
            command: ControlCommand::Publish(a),
        } => control_cmd::publish(&a),
        Command::Token {
            command: TokenCommand::New(a),
        } => token_cmd::new(&a),
        Command::Tail(a) => tail::run(&a),
        Command::Topics {
            command: TopicsCommand::Create { partitions, config },
        } => kafka_cmds::topics_create(config.as_deref(), partitions),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            if let Some(k) = e
                .chain()
                .find_map(|c| c.downcast_ref::<salespulse_kafka::KafkaError>())
            {
                eprintln!("  {}", k.retry());
            }
            std::process::ExitCode::FAILURE
        }
    }
}
