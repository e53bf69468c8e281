//! The `leadcheck` command: `serve`, `check`, `batch` and `suppress hash`.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use clap::{Parser, Subcommand};
use leadcheck::config::{Config, Loaded, LogFormat, Sources};
use leadcheck::lead::{Lead, SystemClock};
use leadcheck::telemetry::{self, Traces};
use leadcheck::{batch, server};

/// jemalloc, not glibc's malloc: a lead's assessment and its gRPC round trip make many
/// small allocations on both worker threads, often freed on another thread than the one
/// that made them, which glibc's malloc handles far worse (BENCHMARKS.md).
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// Validates the contact data of sales leads and scores them High or Low.
#[derive(Parser)]
#[command(name = "leadcheck", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Runs the gRPC server.
    Serve(Sources),
    /// Assesses one lead in process, without a server, and prints the result as JSON.
    Check {
        /// The lead's email address.
        #[arg(long, default_value = "")]
        email: String,
        /// The lead's phone number.
        #[arg(long, default_value = "")]
        phone: String,
        /// The lead's country (ISO code or English name): the phone's default region.
        #[arg(long, default_value = "")]
        country: String,
        /// The LeadSource string, `Source-Action | publisherid.offerid`.
        #[arg(long, default_value = "")]
        lead_source: String,
        /// First name.
        #[arg(long, default_value = "")]
        first_name: String,
        /// Last name.
        #[arg(long, default_value = "")]
        last_name: String,
        /// Company.
        #[arg(long, default_value = "")]
        company: String,
        /// Job title.
        #[arg(long, default_value = "")]
        title: String,
        #[command(flatten)]
        engine: Sources,
    },
    /// Streams a CSV or JSON Lines lead export through one or more servers.
    Batch(batch::BatchArgs),
    /// Makes the address suppression list (docs/operations.md).
    #[command(subcommand)]
    Suppress(Suppress),
}

#[derive(Subcommand)]
enum Suppress {
    /// Reads addresses on stdin, one a line, and writes their keyed hashes on stdout: the
    /// lines of a `lists.suppression_file`. No address is written or logged.
    Hash {
        /// The key file the server reads (`lists.suppression_key_file`).
        #[arg(long, env = "LEADCHECK_SUPPRESSION_KEY_FILE", value_name = "FILE")]
        key_file: PathBuf,
    },
}

/// `leadcheck suppress hash`: stdin to stdout, the count on stderr.
fn suppress_hash(key_file: &std::path::Path) -> anyhow::Result<()> {
    let key = leadcheck::email::suppress::SuppressionKey::read(key_file)?;
    let count = leadcheck::email::suppress::hash_lines(
        &key,
        std::io::stdin().lock(),
        std::io::stdout().lock(),
    )?;
    eprintln!("{count} suppression entries written");
    Ok(())
}

/// Puts the configuration of `serve` or `check` together and sets up logging, and traces
/// when the OTEL_* variables ask for them, by it; then logs the old configuration names
/// met, now that there is a log.
fn configure(sources: &Sources) -> anyhow::Result<(Config, Option<Traces>)> {
    let Loaded { config, warnings } = Config::load(sources)?;
    let traces = telemetry::init(config.log_format, &config.log, "leadcheck");
    for warning in warnings {
        tracing::warn!("{warning}");
    }
    Ok((config, traces))
}

/// Sends the spans still queued, when traces are on.
async fn drain(traces: Option<Traces>) {
    if let Some(traces) = traces {
        traces.shutdown().await;
    }
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    // Plain reading and writing: no runtime.
    if let Command::Suppress(Suppress::Hash { key_file }) = &cli.command {
        return suppress_hash(key_file);
    }
    // `batch` drives its streams and writes its output from one task (the input is read
    // on a blocking thread): more worker threads only passed its work between them, at
    // the cost of futex wake-ups and frees of memory another thread allocated.
    let runtime = match &cli.command {
        Command::Batch(_) => tokio::runtime::Builder::new_current_thread(),
        _ => tokio::runtime::Builder::new_multi_thread(),
    }
    .enable_all()
    .build()
    .context("cannot start the async runtime")?;
    runtime.block_on(run(cli))
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve(args) => {
            let (config, traces) = configure(&args)?;
            let served = server::run(config).await;
            drain(traces).await;
            served.map_err(|e| anyhow::anyhow!("{e}"))?;
        }
        Command::Check {
            email,
            phone,
            country,
            lead_source,
            first_name,
            last_name,
            company,
            title,
            engine,
        } => {
            let (config, traces) = configure(&engine)?;
            let engines = server::build_engines(&config, Arc::new(SystemClock))
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            let lead = Lead {
                first_name,
                last_name,
                email,
                phone,
                country,
                company,
                title,
                lead_source,
                created_at: None,
                ..Lead::default()
            };
            let assessment = engines.assessor.assess(&lead).await;
            // The same JSON as grpcurl shows for AssessLead: the proto's canonical mapping.
            let message = leadcheck::rpc::convert::assessment_to_pb(String::new(), assessment);
            println!(
                "{}",
                serde_json::to_string_pretty(&message).context("cannot print the assessment")?
            );
            drain(traces).await;
        }
        Command::Batch(args) => {
            let traces = telemetry::init(
                LogFormat::Text,
                &leadcheck::config::log_filter_from_env(),
                "leadcheck-batch",
            );
            let summary = batch::run(args).await;
            drain(traces).await;
            eprintln!("{}", summary?);
        }
        Command::Suppress(Suppress::Hash { key_file }) => suppress_hash(&key_file)?,
    }
    Ok(())
}
