//! `zkinfer ceremony init|contribute|beacon|verify`: snarkjs's phase-2 ceremony, natively, on
//! the same `.zkey` files (see `zkinfer_prover::ceremony`).

use super::{bad, Exit};
use clap::Subcommand;
use std::path::{Path, PathBuf};
use std::time::Instant;
use zkinfer_circuits::CircuitFile;
use zkinfer_prover::ceremony::{
    contribute, init, mpc::format_hash, ptau::Ptau, verify, CeremonyError,
};

/// The ceremony's steps.
#[derive(Subcommand)]
pub enum CeremonyCommand {
    /// The circuit's initial zkey from a phase-1 .ptau (as `snarkjs groth16 setup` makes it),
    /// after checking the .ptau's powers.
    Init {
        #[arg(long)]
        circuit: PathBuf,
        #[arg(long)]
        ptau: PathBuf,
        #[arg(long)]
        out: PathBuf,
    },
    /// Add a contribution: a secret from OS randomness mixed with --entropy; prints the
    /// contribution hash to publish.
    Contribute {
        #[arg(long = "in")]
        input: PathBuf,
        #[arg(long)]
        out: PathBuf,
        /// The contributor's name, recorded in the zkey (first 64 characters).
        #[arg(long)]
        name: Option<String>,
        /// Text mixed into the randomness (never stored).
        #[arg(long, default_value = "")]
        entropy: String,
    },
    /// Add the final contribution from a public random beacon (anyone can recompute it).
    Beacon {
        #[arg(long = "in")]
        input: PathBuf,
        #[arg(long)]
        out: PathBuf,
        /// The beacon value, hex (e.g. a future block hash announced in advance).
        #[arg(long)]
        beacon: String,
        /// The beacon is hashed with SHA-256 2^N times (10 ≤ N ≤ 63).
        #[arg(long)]
        iterations: u8,
        #[arg(long)]
        name: Option<String>,
    },
    /// Check every contribution and the final key against the circuit and the .ptau
    /// (exit 0 valid, 1 invalid, 2 bad input).
    Verify {
        #[arg(long)]
        circuit: PathBuf,
        #[arg(long)]
        ptau: PathBuf,
        #[arg(long)]
        zkey: PathBuf,
    },
}

fn exit(e: CeremonyError) -> Exit {
    match e {
        CeremonyError::BadInput(m) => Exit::BadInput(m),
        CeremonyError::Invalid(m) => Exit::Invalid(m),
    }
}

fn r1cs_of(circuit: &Path) -> Result<zkinfer_circuits::r1cs::R1cs, Exit> {
    let c = CircuitFile::read(circuit).map_err(bad)?;
    if c.graph.is_segmented() {
        return Err(Exit::BadInput(format!(
            "{} is segmented: ceremonies cover single-circuit models for now",
            circuit.display()
        )));
    }
    zkinfer_circuits::constraint_matrices(&c.graph).map_err(bad)
}

fn size_of(p: &Path) -> u64 {
    std::fs::metadata(p).map(|m| m.len()).unwrap_or(0)
}

/// Runs one ceremony step.
pub fn run(cmd: CeremonyCommand) -> Result<(), Exit> {
    let start = Instant::now();
    match cmd {
        CeremonyCommand::Init { circuit, ptau, out } => {
            let r1cs = r1cs_of(&circuit)?;
            let mut p = Ptau::open(&ptau).map_err(exit)?;
            let s = init::init(&r1cs, &mut p, &out).map_err(exit)?;
            println!(
                "wrote {}: {} constraints, {} variables, {} public inputs, domain 2^{}, {} bytes, {:.2} s",
                out.display(),
                r1cs.num_constraints(),
                s.header.n_vars,
                s.header.n_public,
                s.header.domain_size.trailing_zeros(),
                size_of(&out),
                start.elapsed().as_secs_f64()
            );
            let stages: Vec<String> = s
                .stages
                .iter()
                .map(|(name, t)| format!("{name} {t:.2} s"))
                .collect();
            println!("  {}", stages.join(", "));
            println!("Circuit Hash:\n{}", format_hash(&s.cs_hash));
        }
        CeremonyCommand::Contribute {
            input,
            out,
            name,
            entropy,
        } => {
            let s = contribute::contribute(
                &input,
                &out,
                contribute::Source::Random { entropy: &entropy },
                name.as_deref(),
            )
            .map_err(exit)?;
            println!(
                "wrote {}: contribution #{}, {} bytes, {:.2} s",
                out.display(),
                s.index,
                size_of(&out),
                start.elapsed().as_secs_f64()
            );
            println!("Circuit Hash:\n{}", format_hash(&s.cs_hash));
            println!("Contribution Hash:\n{}", format_hash(&s.hash));
        }
        CeremonyCommand::Beacon {
            input,
            out,
            beacon,
            iterations,
            name,
        } => {
            let hex = beacon.strip_prefix("0x").unwrap_or(&beacon);
            let hash = hex::decode(hex)
                .map_err(|e| Exit::BadInput(format!("--beacon is not hex: {e}")))?;
            let s = contribute::contribute(
                &input,
                &out,
                contribute::Source::Beacon {
                    hash: &hash,
                    iterations_exp: iterations,
                },
                name.as_deref(),
            )
            .map_err(exit)?;
            println!(
                "wrote {}: beacon contribution #{}, {} bytes, {:.2} s",
                out.display(),
                s.index,
                size_of(&out),
                start.elapsed().as_secs_f64()
            );
            println!("Contribution Hash:\n{}", format_hash(&s.hash));
        }
        CeremonyCommand::Verify {
            circuit,
            ptau,
            zkey,
        } => {
            let r1cs = r1cs_of(&circuit)?;
            let v = verify::verify(&r1cs, &ptau, &zkey).map_err(exit)?;
            println!("Circuit Hash:\n{}", format_hash(&v.cs_hash));
            for (i, c) in v.contributions.iter().enumerate().rev() {
                println!(
                    "contribution #{} {}:\n{}",
                    i + 1,
                    c.name.as_deref().unwrap_or(""),
                    format_hash(&c.hash())
                );
                if let Some(b) = &c.beacon {
                    println!(
                        "  beacon {} with 2^{} iterations",
                        hex::encode(&b.hash),
                        b.iterations_exp
                    );
                }
            }
            println!(
                "{} is valid: {} contributions, {:.2} s",
                zkey.display(),
                v.contributions.len(),
                start.elapsed().as_secs_f64()
            );
        }
    }
    Ok(())
}
