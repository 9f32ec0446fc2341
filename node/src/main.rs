//! `zkinfer-node`: the compute node's commands (`zkinfer serve` runs `zkinfer-node serve`).

use clap::{Parser, Subcommand};
use std::io::Write;
use std::path::PathBuf;

#[derive(Parser)]
#[command(name = "zkinfer-node", version, about = "The zkinfer compute node")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve models over HTTP: inferences with signed receipts, proofs on challenge.
    Serve {
        /// Directory of NAME.zkc, NAME.pk, NAME.vk per model.
        #[arg(long)]
        models: PathBuf,
        /// Directory of the node's store (SQLite) and key (created on first start).
        #[arg(long)]
        data: PathBuf,
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: String,
        /// Bearer token for mutating endpoints (or env ZKINFER_NODE_TOKEN).
        #[arg(long, env = "ZKINFER_NODE_TOKEN")]
        token: Option<String>,
        /// Largest request body, bytes.
        #[arg(long, default_value_t = 1 << 20)]
        max_body: usize,
        /// Prover threads.
        #[arg(long, default_value_t = 1)]
        provers: usize,
        #[arg(long, env = "ZKINFER_BACKEND", default_value = "cpu")]
        backend: String,
        /// Prove on workers through a Redis Stream (redis://host:port) instead of here.
        #[arg(long)]
        queue: Option<String>,
    },
    /// Challenge a sample of a node's receipts and check the proofs (exit 1 when any failed).
    Audit {
        /// The node's URL (http://host:port).
        #[arg(long)]
        server: String,
        /// Receipts, one JSON per line (receipts or infer answers).
        #[arg(long)]
        receipts: PathBuf,
        /// Fraction of receipts to challenge.
        #[arg(long, default_value_t = 0.05)]
        sample: f64,
        /// Directory of NAME.vk per model.
        #[arg(long)]
        vk_dir: PathBuf,
        /// The node's bearer token (or env ZKINFER_NODE_TOKEN).
        #[arg(long, env = "ZKINFER_NODE_TOKEN")]
        token: Option<String>,
        /// Seconds to wait for one proof.
        #[arg(long, default_value_t = 300)]
        timeout: u64,
        /// Seed of the sample (random without).
        #[arg(long)]
        seed: Option<u64>,
    },
    /// Load-test a running node: inferences at a concurrency, then challenges; prints latency
    /// percentiles and proving throughput (exit 1 when anything was lost).
    Load {
        #[arg(long)]
        url: String,
        #[arg(long, env = "ZKINFER_NODE_TOKEN")]
        token: Option<String>,
        #[arg(long)]
        model: String,
        /// The input JSON file sent with every request.
        #[arg(long)]
        input: PathBuf,
        #[arg(long, default_value_t = 500)]
        requests: usize,
        #[arg(long, default_value_t = 32)]
        concurrency: usize,
        #[arg(long, default_value_t = 50)]
        challenges: usize,
    },
    /// Take proving jobs from a Redis Stream (run any number, on any machines).
    Worker {
        /// The Redis URL the server was given (redis://host:port).
        #[arg(long)]
        queue: String,
        /// Directory of NAME.zkc, NAME.pk, NAME.vk per model (the server's models).
        #[arg(long)]
        models: PathBuf,
        /// This worker's consumer name (unique per worker; default: host and process id).
        #[arg(long)]
        name: Option<String>,
        /// Take over a job another worker has held this long (it presumably died), ms.
        #[arg(long, default_value_t = 60_000)]
        claim_idle_ms: u64,
        #[arg(long, env = "ZKINFER_BACKEND", default_value = "cpu")]
        backend: String,
    },
}

/// An audit or load test that found a failure (exit 1; its report says which).
#[derive(Debug)]
struct ChecksFailed;

impl std::fmt::Display for ChecksFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a check failed (the report above says which)")
    }
}

impl std::error::Error for ChecksFailed {}

fn main() {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            std::process::exit(if e.use_stderr() { 2 } else { 0 });
        }
    };
    let result = match cli.command {
        Command::Serve {
            models,
            data,
            listen,
            token,
            max_body,
            provers,
            backend,
            queue,
        } => zkinfer_node::serve::serve(zkinfer_node::serve::ServeConfig {
            models,
            data,
            listen,
            token,
            max_body,
            provers,
            backend,
            queue,
        }),
        Command::Audit {
            server,
            receipts,
            sample,
            vk_dir,
            token,
            timeout,
            seed,
        } => (|| {
            let tally = zkinfer_node::audit::audit(&zkinfer_node::audit::AuditConfig {
                server,
                receipts,
                sample,
                vk_dir,
                token,
                timeout: std::time::Duration::from_secs(timeout),
                seed,
            })?;
            print!("{}", zkinfer_node::audit::report(&tally));
            if tally.values().any(|t| t.failed > 0) {
                return Err(anyhow::Error::new(ChecksFailed));
            }
            Ok(())
        })(),
        Command::Load {
            url,
            token,
            model,
            input,
            requests,
            concurrency,
            challenges,
        } => (|| {
            let body = std::fs::read_to_string(&input)
                .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", input.display()))?;
            let r = zkinfer_node::load::run(&zkinfer_node::load::LoadConfig {
                url,
                token,
                model,
                body,
                requests,
                concurrency,
                challenges,
                timeout: std::time::Duration::from_secs(1800),
            });
            println!(
                "infer: {} answered, {} errors in {:.2} s ({:.0}/s); latency p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
                r.answered,
                r.errors,
                r.infer_seconds,
                r.answered as f64 / r.infer_seconds.max(1e-9),
                r.p50_ms,
                r.p99_ms,
                r.max_ms
            );
            println!(
                "prove: {} of {} challenges done in {:.2} s ({:.1} jobs/min)",
                r.proven, r.challenged, r.prove_wall_seconds, r.jobs_per_minute
            );
            if r.errors > 0 || r.proven < r.challenged || r.answered < requests {
                return Err(anyhow::Error::new(ChecksFailed));
            }
            Ok(())
        })(),
        Command::Worker {
            queue,
            models,
            name,
            claim_idle_ms,
            backend,
        } => zkinfer_node::worker::run(zkinfer_node::worker::WorkerConfig {
            queue,
            models,
            name: name.unwrap_or_else(|| {
                let host = std::fs::read_to_string("/etc/hostname")
                    .map(|h| h.trim().to_string())
                    .unwrap_or_else(|_| "worker".into());
                format!("{host}-{}", std::process::id())
            }),
            claim_idle: std::time::Duration::from_millis(claim_idle_ms),
            backend,
        }),
    };
    if let Err(e) = result {
        if let Some(ChecksFailed) = e.downcast_ref::<ChecksFailed>() {
            std::process::exit(1);
        }
        let _ = writeln!(std::io::stderr(), "error: {e:#}");
        std::process::exit(2);
    }
}
