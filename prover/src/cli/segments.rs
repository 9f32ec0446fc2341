//! The subcommands' segmented-model paths: cutting at compile, the per-segment report, setup
//! into a key bundle, proving into a proof bundle, and verifying a bundle.

use super::commands::{peak_note, read_input, read_text, verify_err, write_atomic};
use super::progress::with_spinner;
use super::{bad, Exit};
use std::path::{Path, PathBuf};
use std::time::Instant;
use zkinfer_circuits::{CircuitFile, CircuitSize, QGraph};
use zkinfer_prover::estimate::{human_bytes, CircuitShape};
use zkinfer_prover::keys::ProvingKeyBundle;
use zkinfer_prover::segmented::{prove_segments, setup_segments, Schedule};
use zkinfer_verifier::bundle::{is_bundle_json, verify_bundle, BundleError, ProofBundle};
use zkinfer_verifier::bundle_vk::SegmentedVerifyingKeyFile;

/// Cuts `g` into segments of at most `max` constraints (estimated from `size`, the unsplit
/// circuit's); returns the notes to print. A model that fits stays one circuit.
pub fn cut(g: &mut QGraph, size: &CircuitSize, max: usize) -> Vec<String> {
    if size.constraints <= max || g.nodes.len() < 2 {
        return vec![format!(
            "segments: the model is one circuit ({} constraints, --max-constraints {max})",
            size.constraints
        )];
    }
    let input_cost = size.per_layer[0].1;
    let output_cost = size.per_layer[size.per_layer.len() - 1].1;
    let plan = zkinfer_circuits::segment::plan(g, &size.per_node, input_cost, output_cost, max);
    let mut notes = Vec::new();
    if plan.segments.len() < 2 {
        notes.push("segments: no cut helps; the model is one circuit".into());
    } else {
        g.segments = plan.segments;
    }
    notes
}

/// What one circuit costs, as compile prints it.
fn cost_row(label: &str, constraints: usize, shape: &CircuitShape) {
    println!(
        "{label:<30} {constraints:>12} {:>12} {:>12} {:>12}",
        human_bytes(shape.proving_key_bytes()),
        human_bytes(shape.setup_peak_bytes()),
        human_bytes(shape.prove_peak_bytes())
    );
}

fn cost_header() {
    println!(
        "{:<30} {:>12} {:>12} {:>12} {:>12}",
        "circuit", "constraints", "proving key", "setup peak", "prove peak"
    );
}

/// The unsplit model's key size and memory estimates (its matrices' nonzeros are counted,
/// not built, so this costs no memory for a model of any size).
pub fn print_unsplit(file: &CircuitFile, size: &CircuitSize) {
    match file.graph.whole().matrix_counts() {
        Ok(counts) => {
            cost_header();
            cost_row("model", size.constraints, &CircuitShape::counted(counts));
            println!("peaks are estimates (see `zkinfer_prover::estimate`)");
        }
        Err(e) => eprintln!("warning: cannot count the matrices to estimate memory: {e}"),
    }
}

/// The per-segment table: constraints, proving-key bytes, estimated peak memory of setup and
/// prove, and what each boundary hashes.
pub fn print_segments(
    file: &CircuitFile,
    size: &CircuitSize,
    max_constraints: usize,
) -> Result<(), String> {
    let g = &file.graph;
    println!("segments ({}):", g.segments.len());
    cost_header();
    let mut key_total = 0;
    let mut over = Vec::new();
    for (k, s) in g.segments.iter().enumerate() {
        let counts = g
            .segment_view(k)
            .matrix_counts()
            .map_err(|e| e.to_string())?;
        let shape = CircuitShape::counted(counts);
        key_total += shape.proving_key_bytes();
        let label = format!(
            "#{k} nodes {}..{} ({})",
            s.start,
            s.end,
            g.nodes[s.end - 1].name
        );
        cost_row(&label, shape.constraints, &shape);
        if shape.constraints > max_constraints {
            over.push(format!(
                "note: segment {k} has {} constraints, over --max-constraints {max_constraints}: its one node '{}' ({}) with its boundaries cannot be cut smaller, so it gets a segment of its own",
                shape.constraints,
                g.nodes[s.start].name,
                g.nodes[s.start].op_type
            ));
        }
    }
    for o in &over {
        println!("{o}");
    }
    println!(
        "{:<30} {:>12} {:>12}",
        "all segments",
        "",
        human_bytes(key_total)
    );
    let unsplit = g.whole().matrix_counts().map_err(|e| e.to_string())?;
    cost_row("unsplit", size.constraints, &CircuitShape::counted(unsplit));
    for (k, s) in g.segments.iter().enumerate().skip(1) {
        let values: usize = s.inputs.iter().map(|&t| g.tensors[t].len()).sum();
        let names: Vec<&str> = s
            .inputs
            .iter()
            .map(|&t| g.tensors[t].name.as_str())
            .collect();
        let elements: usize = s
            .inputs
            .iter()
            .map(|&t| zkinfer_circuits::circuit::tensor_layout(g, t).num_elements())
            .sum();
        println!(
            "boundary {}|{k}: {values} values in {elements} field elements ({}), Poseidon {} constraints",
            k - 1,
            names.join(", "),
            zkinfer_circuits::gadgets::poseidon::constraints_for(elements)
        );
    }
    println!("peaks are estimates (see `zkinfer_prover::estimate`)");
    Ok(())
}

/// `zkinfer setup` of a segmented model.
pub fn setup(c: &CircuitFile, pk_path: &Path, vk_path: &Path) -> Result<(), Exit> {
    let start = Instant::now();
    let vk = setup_segments(c, pk_path, &mut rand::rngs::OsRng, |k, n, s| {
        println!(
            "setup segment {}/{n}: {} constraints, {:.3} s, proving key {} (estimated setup peak {})",
            k + 1,
            s.shape.constraints,
            s.took.as_secs_f64(),
            human_bytes(s.key_bytes),
            human_bytes(s.shape.setup_peak_bytes())
        );
    })
    .map_err(bad)?;
    let vk_bytes = vk.to_bytes();
    write_atomic(vk_path, &vk_bytes)?;
    let pk_bytes = std::fs::metadata(pk_path).map(|m| m.len()).unwrap_or(0);
    println!(
        "setup: {:.3} s; {} segment keys in {} ({pk_bytes} bytes), verifying keys {} ({} bytes){}",
        start.elapsed().as_secs_f64(),
        vk.segments.len(),
        pk_path.display(),
        vk_path.display(),
        vk_bytes.len(),
        peak_note()
    );
    Ok(())
}

/// `zkinfer prove` of a segmented model: one proof bundle.
pub fn prove(
    c: CircuitFile,
    pk: &Path,
    input: &Path,
    proof: &Path,
    backend: &str,
    jobs: usize,
    max_memory: Option<u64>,
) -> Result<(), Exit> {
    let start = Instant::now();
    let keys = ProvingKeyBundle::open(pk).map_err(bad)?;
    let x = read_input(input)?;
    let schedule = Schedule {
        jobs,
        max_memory,
        backend: backend.to_string(),
    };
    let (bundle, timings) = with_spinner("proving segments", || {
        prove_segments(&c, &keys, &x, &schedule)
    })
    .map_err(bad)?;
    write_atomic(proof, bundle.to_json())?;
    for (k, t) in timings.iter().enumerate() {
        println!(
            "segment {k}: load {:.3} s, witness {:.3} s, groth16 {:.3} s (estimated peak {})",
            t.load.as_secs_f64(),
            t.witness.as_secs_f64(),
            t.prove.as_secs_f64(),
            human_bytes(t.estimated_peak)
        );
    }
    println!(
        "prove: {:.3} s for {} segments with --jobs {jobs}; {} proofs of 128 bytes -> {}{}",
        start.elapsed().as_secs_f64(),
        timings.len(),
        bundle.segments.len(),
        proof.display(),
        peak_note()
    );
    Ok(())
}

fn bundle_exit(e: BundleError) -> Exit {
    if e.exit_code() == 1 {
        Exit::Invalid(format!("proof rejected: {e}"))
    } else {
        Exit::BadInput(e.to_string())
    }
}

fn read_bundle(path: &Path) -> Result<ProofBundle, Exit> {
    let text = read_text(path)?;
    if !is_bundle_json(&text) {
        return Err(Exit::BadInput(format!(
            "{} is a single proof.json; this .vk is a segmented model's, whose proofs are bundles",
            path.display()
        )));
    }
    ProofBundle::from_json(&text).map_err(|e| Exit::BadInput(format!("{}: {e}", path.display())))
}

/// `zkinfer verify` with a segmented model's `.vk`: every bundle, each in one multi-pairing.
pub fn verify(vk_path: &Path, proofs: &[PathBuf]) -> Result<(), Exit> {
    let vk = SegmentedVerifyingKeyFile::read(vk_path).map_err(verify_err)?;
    let bundles = proofs
        .iter()
        .map(|p| read_bundle(p))
        .collect::<Result<Vec<_>, _>>()?;
    let start = Instant::now();
    for (b, path) in bundles.iter().zip(proofs) {
        verify_bundle(&vk, b).map_err(|e| match bundle_exit(e) {
            Exit::Invalid(m) => Exit::Invalid(format!("{}: {m}", path.display())),
            Exit::BadInput(m) => Exit::BadInput(format!("{}: {m}", path.display())),
        })?;
    }
    println!(
        "valid ({} bundle{} of {} segments, {:.2} ms)",
        bundles.len(),
        if bundles.len() == 1 { "" } else { "s" },
        vk.segments.len(),
        start.elapsed().as_secs_f64() * 1e3
    );
    Ok(())
}

/// `zkinfer calldata` for a bundle: the bundle contract's arguments.
pub fn calldata(proof: &Path, vk_path: &Path) -> Result<(), Exit> {
    let vk = SegmentedVerifyingKeyFile::read(vk_path).map_err(verify_err)?;
    let b = read_bundle(proof)?;
    let v = zkinfer_verifier::solidity_bundle::bundle_calldata(&vk, &b).map_err(bundle_exit)?;
    println!("{}", serde_json::to_string(&v).expect("json"));
    Ok(())
}
