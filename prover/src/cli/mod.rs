//! Subcommands of `zkinfer`. Each returns `Result<(), Exit>`; [`run`] turns that into the
//! process exit code and prints the error.

mod ceremony;
mod commands;
mod demo;
mod node;
mod progress;
mod segments;

use clap::{Parser, Subcommand};
use std::ffi::OsString;
use std::path::PathBuf;

/// How a command failed.
#[derive(Debug)]
pub enum Exit {
    /// A proof that does not verify (exit 1).
    Invalid(String),
    /// Bad input or usage (exit 2).
    BadInput(String),
}

impl Exit {
    fn code(&self) -> i32 {
        match self {
            Exit::Invalid(_) => 1,
            Exit::BadInput(_) => 2,
        }
    }
}

/// Shorthand for bad-input errors from anything displayable.
pub fn bad<E: std::fmt::Display>(e: E) -> Exit {
    Exit::BadInput(e.to_string())
}

#[derive(Parser)]
#[command(
    name = "zkinfer",
    version,
    about = "Verifiable neural-network inference: ONNX in, Groth16 proof out"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Compile an ONNX model into a circuit file; prints its size per layer.
    Compile {
        #[arg(long)]
        model: PathBuf,
        #[arg(long)]
        out: PathBuf,
        /// Fixed-point scale of activations (values are multiples of 2^-scale).
        #[arg(long, default_value_t = 7)]
        scale: i32,
        /// Fixed-point scale of weights (default: --scale).
        #[arg(long)]
        weight_scale: Option<i32>,
        /// Signed bits of every activation (the width of its range check). Without it, each
        /// tensor gets the bits its worst case needs (or, with --calibrate, its sampled range).
        #[arg(long)]
        bits: Option<u32>,
        /// Signed bits of the input (default 16, or from --calibrate). Smaller means fewer
        /// constraints and public inputs; digits pixels in [0, 1] at scale 7 fit 9.
        #[arg(long)]
        input_bits: Option<u32>,
        /// Sample inputs ({"inputs": [..]}) to pick per-tensor bits from observed ranges.
        #[arg(long)]
        calibrate: Option<PathBuf>,
        /// Headroom over the calibrated range (1.25 = 25%).
        #[arg(long, default_value_t = 1.25)]
        margin: f64,
        /// Cut the model into consecutive segments of at most N constraints each, every segment
        /// its own circuit and key, chained by Poseidon hashes of the tensors between them.
        #[arg(long)]
        max_constraints: Option<usize>,
        /// public: the input's packed values are public inputs; hashed: one public input, their
        /// Poseidon hash (for large inputs). proof.json carries the values either way.
        #[arg(long, default_value = "public")]
        input_visibility: String,
        /// public or hashed, as --input-visibility, for the output.
        #[arg(long, default_value = "public")]
        output_visibility: String,
    },
    /// Generate a proving and a verifying key (local development setup).
    Setup {
        #[arg(long)]
        circuit: PathBuf,
        #[arg(long)]
        pk: PathBuf,
        #[arg(long)]
        vk: PathBuf,
    },
    /// Run integer inference only; prints the output as proof.json's output object.
    Run {
        #[arg(long)]
        circuit: PathBuf,
        #[arg(long)]
        input: PathBuf,
        /// Also write every tensor of the trace (JSON).
        #[arg(long)]
        trace: Option<PathBuf>,
    },
    /// Prove one inference.
    Prove {
        #[arg(long)]
        circuit: PathBuf,
        #[arg(long)]
        pk: PathBuf,
        #[arg(long)]
        input: PathBuf,
        #[arg(long)]
        proof: PathBuf,
        /// MSM/NTT backend: cpu, cuda or auto (env ZKINFER_BACKEND).
        #[arg(long, env = "ZKINFER_BACKEND", default_value = "cpu")]
        backend: String,
        /// Segments proven at once (a segmented model).
        #[arg(long, default_value_t = 1)]
        jobs: usize,
        /// Memory the proofs running at once may take, by their estimates (e.g. 8G, 1.5GiB);
        /// a segment or model whose estimate alone exceeds it is refused before any work.
        #[arg(long)]
        max_memory: Option<String>,
        /// Memory for the CPU MSM's precomputed tables (e.g. 512M, 2G): f window multiples per
        /// base, with their GLV images and the bases kept apart, take (2f + 1) times the
        /// key's size, so f is the most that fits. Default: the bases only, since one proof
        /// does not repay building the tables (a resident prover does).
        #[arg(long, env = "ZKINFER_MSM_MEMORY")]
        msm_memory: Option<String>,
    },
    /// Verify one proof, or several at once (batch verification names any bad one).
    Verify {
        #[arg(long)]
        vk: PathBuf,
        #[arg(long, num_args = 1.., required = true)]
        proof: Vec<PathBuf>,
    },
    /// Write a Solidity verifier contract for a verifying key.
    ExportVerifier {
        #[arg(long)]
        vk: PathBuf,
        #[arg(long)]
        out: PathBuf,
    },
    /// Print the Solidity verifier's arguments for a proof as JSON.
    Calldata {
        #[arg(long)]
        proof: PathBuf,
        /// The verifying key (its layout gives the packing of the public inputs).
        #[arg(long)]
        vk: PathBuf,
    },
    /// Export for snarkjs: a verifying key and proof (`--format snarkjs --vk --proof`), or the
    /// circuit's constraint system as an iden3 `.r1cs` file (`--format r1cs --circuit`).
    Export {
        #[arg(long, default_value = "snarkjs")]
        format: String,
        #[arg(long)]
        vk: Option<PathBuf>,
        #[arg(long)]
        proof: Option<PathBuf>,
        /// The compiled circuit (`--format r1cs`).
        #[arg(long)]
        circuit: Option<PathBuf>,
        /// The segment of a segmented circuit to export (`--format r1cs`).
        #[arg(long)]
        segment: Option<usize>,
        #[arg(long)]
        out: PathBuf,
    },
    /// Turn a snarkjs Groth16 .zkey (from a ceremony) into this circuit's .pk and .vk, after
    /// checking it was made for exactly this circuit.
    ImportZkey {
        #[arg(long)]
        circuit: PathBuf,
        #[arg(long)]
        zkey: PathBuf,
        #[arg(long)]
        pk: PathBuf,
        #[arg(long)]
        vk: PathBuf,
    },
    /// A trusted setup nobody has to trust: snarkjs-compatible phase-2 ceremony steps on
    /// .zkey files (then `import-zkey`).
    Ceremony {
        #[command(subcommand)]
        step: ceremony::CeremonyCommand,
    },
    /// Run the compute node: an HTTP service answering inferences with signed receipts and
    /// proving them on challenge (`zkinfer serve --help`; runs the zkinfer-node binary).
    #[command(disable_help_flag = true)]
    Serve {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<OsString>,
    },
    /// Take proving jobs from a node's Redis Stream (`zkinfer worker --help`; runs the
    /// zkinfer-node binary).
    #[command(disable_help_flag = true)]
    Worker {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<OsString>,
    },
    /// Challenge a sample of a node's receipts and check the proofs (`zkinfer audit --help`;
    /// runs the zkinfer-node binary).
    #[command(disable_help_flag = true)]
    Audit {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<OsString>,
    },
    /// The whole flow on the bundled digits MLP: compile, setup, prove, verify.
    Demo {
        #[arg(long, env = "ZKINFER_BACKEND", default_value = "cpu")]
        backend: String,
    },
}

/// Parses `args` and runs the command; returns the exit code.
pub fn run(args: Vec<OsString>) -> i32 {
    let cli = match Cli::try_parse_from(args) {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { 2 } else { 0 };
        }
    };
    let result = match cli.command {
        Command::Compile {
            model,
            out,
            scale,
            weight_scale,
            bits,
            input_bits,
            calibrate,
            margin,
            max_constraints,
            input_visibility,
            output_visibility,
        } => (|| {
            let s = zkinfer_circuits::Settings::from_options(
                scale,
                weight_scale,
                bits,
                input_bits,
                &input_visibility,
                &output_visibility,
            )
            .map_err(Exit::BadInput)?;
            if max_constraints == Some(0) {
                return Err(bad("--max-constraints must be at least 1"));
            }
            let policy = commands::policy(bits, input_bits, calibrate.as_deref(), margin)?;
            commands::compile(&model, &out, &s, &policy, max_constraints)
        })(),
        Command::Setup { circuit, pk, vk } => commands::setup(&circuit, &pk, &vk),
        Command::Run {
            circuit,
            input,
            trace,
        } => commands::run(&circuit, &input, trace.as_deref()),
        Command::Prove {
            circuit,
            pk,
            input,
            proof,
            backend,
            jobs,
            max_memory,
            msm_memory,
        } => (|| {
            if jobs == 0 {
                return Err(bad("--jobs must be at least 1"));
            }
            let parse = |flag: &str, m: String| {
                zkinfer_prover::estimate::parse_bytes(&m).map_err(|e| bad(format!("{flag}: {e}")))
            };
            let max_memory = max_memory.map(|m| parse("--max-memory", m)).transpose()?;
            if let Some(budget) = msm_memory.map(|m| parse("--msm-memory", m)).transpose()? {
                // The .pk file is its points (64 bytes per G1, 128 per G2, uncompressed) and a
                // small header, so its size stands for the bases' memory without parsing it twice;
                // the tables hold each multiple twice (the point and its image under φ) and,
                // with more than one, the bases once more.
                if let Ok(m) = std::fs::metadata(&pk) {
                    let cap = zkinfer_gpu::msm::precompute_factor_for(budget, m.len());
                    zkinfer_gpu::msm::set_precompute_factor_cap(cap);
                }
            }
            commands::prove_any(&circuit, &pk, &input, &proof, &backend, jobs, max_memory)
        })(),
        Command::Verify { vk, proof } => commands::verify(&vk, &proof),
        Command::ExportVerifier { vk, out } => commands::export_verifier(&vk, &out),
        Command::Calldata { proof, vk } => commands::calldata(&proof, &vk),
        Command::Export {
            format,
            vk,
            proof,
            circuit,
            segment,
            out,
        } => commands::export(
            &format,
            vk.as_deref(),
            proof.as_deref(),
            circuit.as_deref(),
            segment,
            &out,
        ),
        Command::ImportZkey {
            circuit,
            zkey,
            pk,
            vk,
        } => commands::import_zkey(&circuit, &zkey, &pk, &vk),
        Command::Ceremony { step } => ceremony::run(step),
        Command::Serve { args } => node::forward("serve", args),
        Command::Worker { args } => node::forward("worker", args),
        Command::Audit { args } => node::forward("audit", args),
        Command::Demo { backend } => demo::run(&backend),
    };
    match result {
        Ok(()) => 0,
        Err(e) => {
            let (Exit::Invalid(m) | Exit::BadInput(m)) = &e;
            eprintln!("error: {m}");
            e.code()
        }
    }
}
