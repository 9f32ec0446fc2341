//! The file-based subcommands.

use super::progress::with_spinner;
use super::{bad, Exit};
use std::path::Path;
use std::time::Instant;
use zkinfer_circuits::{BitsPolicy, CircuitFile, Settings};
use zkinfer_prover::{ModelProver, ProvingKeyFile};
use zkinfer_verifier::{ProofFile, VerifyError, VerifyingKeyFile};

pub(super) fn read(path: &Path) -> Result<Vec<u8>, Exit> {
    std::fs::read(path).map_err(|e| Exit::BadInput(format!("cannot read {}: {e}", path.display())))
}

pub(super) fn read_text(path: &Path) -> Result<String, Exit> {
    std::fs::read_to_string(path)
        .map_err(|e| Exit::BadInput(format!("cannot read {}: {e}", path.display())))
}

fn write(path: &Path, bytes: impl AsRef<[u8]>) -> Result<(), Exit> {
    std::fs::write(path, bytes)
        .map_err(|e| Exit::BadInput(format!("cannot write {}: {e}", path.display())))
}

pub(super) fn verify_err(e: VerifyError) -> Exit {
    match e {
        VerifyError::Rejected(m) => Exit::Invalid(format!("proof rejected: {m}")),
        VerifyError::BadInput(m) => Exit::BadInput(m),
    }
}

/// Reads the float input of an input.json.
pub fn read_input(path: &Path) -> Result<Vec<f64>, Exit> {
    zkinfer_circuits::input::parse_input_json(&read_text(path)?)
        .map_err(|e| Exit::BadInput(format!("{}: {e}", path.display())))
}

/// The bits policy from the compile options: calibrated with samples, flat with `--bits`,
/// otherwise the worst case.
pub fn policy(
    bits: Option<u32>,
    input_bits: Option<u32>,
    samples: Option<&Path>,
    margin: f64,
) -> Result<BitsPolicy, Exit> {
    let samples = match samples {
        None => None,
        Some(path) => {
            let v: serde_json::Value = serde_json::from_str(&read_text(path)?)
                .map_err(|e| Exit::BadInput(format!("{}: not valid JSON: {e}", path.display())))?;
            let list = v
                .get("inputs")
                .or_else(|| v.get("input_data"))
                .and_then(|l| l.as_array())
                .ok_or_else(|| {
                    Exit::BadInput(format!(
                        "{}: needs an \"inputs\" array of sample inputs",
                        path.display()
                    ))
                })?;
            let samples = list
                .iter()
                .map(|x| {
                    zkinfer_circuits::input::parse_input_json(
                        &serde_json::json!({ "input": x }).to_string(),
                    )
                    .map_err(|e| Exit::BadInput(format!("{}: {e}", path.display())))
                })
                .collect::<Result<Vec<_>, _>>()?;
            Some(samples)
        }
    };
    BitsPolicy::from_options(bits, input_bits, samples, margin).map_err(Exit::BadInput)
}

/// `zkinfer compile`.
pub fn compile(
    model: &Path,
    out: &Path,
    settings: &Settings,
    policy: &BitsPolicy,
    max_constraints: Option<usize>,
) -> Result<(), Exit> {
    let bytes = read(model)?;
    let mut compiled = zkinfer_circuits::compile_calibrated(&bytes, settings, policy)
        .map_err(|e| bad(format!("{}: {e}", model.display())))?;
    let size = zkinfer_circuits::measure(&compiled.graph).map_err(bad)?;
    let mut notes = Vec::new();
    if let Some(max) = max_constraints {
        notes = super::segments::cut(&mut compiled.graph, &size, max);
    }
    let file = CircuitFile::new(compiled.graph, &bytes);
    print_report(&compiled.layers, &size, &file);
    for n in &notes {
        println!("{n}");
    }
    if file.graph.is_segmented() {
        let max = max_constraints.expect("only --max-constraints segments a model");
        super::segments::print_segments(&file, &size, max).map_err(bad)?;
    } else {
        super::segments::print_unsplit(&file, &size);
    }
    file.write(out).map_err(bad)?;
    for w in &compiled.warnings {
        eprintln!("warning: {w}");
    }
    println!("wrote {}", out.display());
    Ok(())
}

fn print_report(
    layers: &[zkinfer_circuits::compile::LayerReport],
    size: &zkinfer_circuits::CircuitSize,
    file: &CircuitFile,
) {
    println!(
        "{:<28} {:<14} {:>14} {:>6} {:>5} {:>9} {:>12}",
        "layer", "op", "shape", "scale", "bits", "max err", "constraints"
    );
    let dash = |v: Option<String>| v.unwrap_or_else(|| "-".to_string());
    for r in zkinfer_circuits::compile::layer_table(&file.graph, layers, size) {
        let (name, constraints) = (&r.name, r.constraints);
        let op = dash(r.op);
        let shape = dash(r.shape.map(|s| format!("{s:?}")));
        let scale = dash(r.scale.map(|s| s.to_string()));
        let bits = dash(r.bits.map(|b| b.to_string()));
        let err = dash(r.max_err.map(|e| format!("{e:.2e}")));
        println!("{name:<28} {op:<14} {shape:>14} {scale:>6} {bits:>5} {err:>9} {constraints:>12}");
    }
    println!(
        "max err: a bound on the layer's error against the float model (real units) for inputs in range"
    );
    println!("constraints by op type:");
    for (op, nodes, c) in &size.per_op_type {
        println!(
            "  {op:<24} {nodes:>5} nodes {c:>12} {:>6.1}%",
            100.0 * *c as f64 / size.constraints.max(1) as f64
        );
    }
    println!(
        "total: {} constraints, {} variables, {} public inputs; circuit {}",
        size.constraints,
        size.variables,
        size.public_inputs,
        hex::encode(file.digest)
    );
    println!(
        "ceremony: `zkinfer ceremony init` (or snarkjs groth16 setup) needs a .ptau of power {} or more (e.g. powersOfTau28_hez_final_{}.ptau)",
        zkinfer_prover::ceremony::init::ptau_power_needed(size.constraints, size.public_inputs),
        zkinfer_prover::ceremony::init::ptau_power_needed(size.constraints, size.public_inputs).max(8)
    );
}

/// `zkinfer setup`.
pub fn setup(circuit: &Path, pk_path: &Path, vk_path: &Path) -> Result<(), Exit> {
    let c = CircuitFile::read(circuit).map_err(bad)?;
    eprintln!(
        "note: `zkinfer setup` draws the key's secrets on this machine, so whoever runs it could forge proofs: use it for development, and a ceremony (`zkinfer ceremony`, README) for keys others rely on"
    );
    if c.graph.is_segmented() {
        return super::segments::setup(&c, pk_path, vk_path);
    }
    let start = Instant::now();
    let (pk, vk) = with_spinner("setup", || {
        zkinfer_prover::setup(&c, &mut rand::rngs::OsRng)
    })
    .map_err(bad)?;
    let took = start.elapsed();
    pk.write(pk_path).map_err(bad)?;
    let vk_bytes = vk.to_bytes();
    write_atomic(vk_path, &vk_bytes)?;
    println!(
        "setup: {:.3} s; proving key {} ({} bytes), verifying key {} ({} bytes){}",
        took.as_secs_f64(),
        pk_path.display(),
        pk.file_size(),
        vk_path.display(),
        vk_bytes.len(),
        peak_note()
    );
    Ok(())
}

/// `zkinfer run`.
pub fn run(circuit: &Path, input: &Path, trace_out: Option<&Path>) -> Result<(), Exit> {
    let c = CircuitFile::read(circuit).map_err(bad)?;
    let g = &c.graph;
    let x = read_input(input)?;
    let q = zkinfer_circuits::quantize_input(g, &x).map_err(bad)?;
    let trace = zkinfer_circuits::infer(g, &q).map_err(bad)?;
    let out = g.output_info();
    let quantized = trace.output(g);
    let values: Vec<f64> = quantized
        .iter()
        .map(|&v| zkinfer_circuits::fixed::dequantize(v, out.scale))
        .collect();
    let obj = serde_json::json!({"shape": out.shape, "scale": out.scale, "quantized": quantized, "values": values});
    println!("{}", serde_json::to_string_pretty(&obj).expect("json"));
    if let Some(path) = trace_out {
        let tensors: Vec<_> = g
            .tensors
            .iter()
            .zip(&trace.tensors)
            .map(|(t, v)| serde_json::json!({"name": t.name, "shape": t.shape, "scale": t.scale, "bits": t.bits, "values": v}))
            .collect();
        write(
            path,
            serde_json::to_vec(&serde_json::json!({"tensors": tensors})).expect("json"),
        )?;
    }
    Ok(())
}

/// "; peak memory X" from the OS's count, where it has one.
pub fn peak_note() -> String {
    zkinfer_prover::estimate::peak_rss_bytes()
        .map(|b| format!("; peak memory {}", zkinfer_prover::estimate::human_bytes(b)))
        .unwrap_or_default()
}

/// Writes `bytes` to `path` atomically (a temporary file beside it, renamed into place).
pub fn write_atomic(path: &Path, bytes: impl AsRef<[u8]>) -> Result<(), Exit> {
    zkinfer_prover::keys::write_atomically(path, |w| std::io::Write::write_all(w, bytes.as_ref()))
        .map_err(bad)
}

/// `zkinfer prove` for either kind of model: a segmented one proves into a bundle.
pub fn prove_any(
    circuit: &Path,
    pk: &Path,
    input: &Path,
    proof: &Path,
    backend: &str,
    jobs: usize,
    max_memory: Option<u64>,
) -> Result<(), Exit> {
    check_backend(backend)?;
    let c = CircuitFile::read(circuit).map_err(bad)?;
    if c.graph.is_segmented() {
        return super::segments::prove(c, pk, input, proof, backend, jobs, max_memory);
    }
    if let Some(max) = max_memory {
        let r1cs = zkinfer_circuits::constraint_matrices(&c.graph).map_err(bad)?;
        let need = zkinfer_prover::estimate::CircuitShape::of(&r1cs).prove_peak_bytes();
        if need > max {
            return Err(bad(format!(
                "this model needs an estimated {} to prove, over --max-memory {}; recompile it with --max-constraints to prove it in segments",
                zkinfer_prover::estimate::human_bytes(need),
                zkinfer_prover::estimate::human_bytes(max)
            )));
        }
    }
    prove(circuit, pk, input, proof, backend).map(|_| ())
}

/// `zkinfer prove`; returns the proof file.
pub fn prove(
    circuit: &Path,
    pk: &Path,
    input: &Path,
    proof: &Path,
    backend: &str,
) -> Result<ProofFile, Exit> {
    check_backend(backend)?;
    let start = Instant::now();
    let c = CircuitFile::read(circuit).map_err(bad)?;
    let x = read_input(input)?;
    // The key is read (its points parsed in parallel) while the constraint matrices, built
    // on one core, are synthesised: each took about half of the load alone.
    let (key, matrices) = rayon::join(
        || ProvingKeyFile::read(pk),
        || zkinfer_prover::setup::circuit_matrices(&c),
    );
    let key = key.map_err(bad)?;
    let matrices = matrices.map_err(bad)?;
    let prover = ModelProver::with_matrices(c, key, matrices, backend).map_err(bad)?;
    let load = start.elapsed();
    let (file, t) =
        with_spinner("proving", || prover.prove(&x, &mut rand::rngs::OsRng)).map_err(bad)?;
    write_atomic(proof, file.to_json())?;
    let st = &t.stages;
    let ms = |d: std::time::Duration| d.as_secs_f64() * 1e3;
    println!(
        "prove: {:.3} s (load {:.3} s, inference {:.3} s, witness {:.3} s, groth16 {:.3} s: witness map {:.1} ms, \
         MSMs A {:.1} / B-G1 {:.1} / B-G2 {:.1} / L {:.1} / H {:.1} ms); proof {} bytes -> {}{}",
        start.elapsed().as_secs_f64(),
        load.as_secs_f64(),
        t.inference.as_secs_f64(),
        t.witness.as_secs_f64(),
        t.prove.as_secs_f64(),
        ms(st.witness_map),
        ms(st.msm_a),
        ms(st.msm_b_g1),
        ms(st.msm_b_g2),
        ms(st.msm_l),
        ms(st.msm_h),
        file.proof.len() / 2,
        proof.display(),
        peak_note()
    );
    Ok(file)
}

/// Checks a backend name early (before loading keys), so a typo costs nothing.
pub fn check_backend(name: &str) -> Result<(), Exit> {
    zkinfer_gpu::backend_from_name(name)
        .map(|_| ())
        .map_err(bad)
}

/// Whether the `.vk` at `path` is a segmented model's (a bundle of segment keys).
fn is_segmented_vk(path: &Path) -> Result<bool, Exit> {
    Ok(zkinfer_verifier::bundle_vk::is_segmented_vk(&read(path)?))
}

/// Reads a proof.json, naming the mistake when it is a segmented model's bundle.
fn read_proof_file(path: &Path) -> Result<ProofFile, Exit> {
    let text = read_text(path)?;
    if zkinfer_verifier::bundle::is_bundle_json(&text) {
        return Err(Exit::BadInput(format!(
            "{} is the proof bundle of a segmented model; pass that model's .vk (a segment key bundle)",
            path.display()
        )));
    }
    ProofFile::from_json(&text).map_err(|e| match e {
        VerifyError::BadInput(m) => Exit::BadInput(format!("{}: {m}", path.display())),
        e => verify_err(e),
    })
}

/// `zkinfer verify`.
pub fn verify(vk_path: &Path, proofs: &[std::path::PathBuf]) -> Result<(), Exit> {
    if is_segmented_vk(vk_path)? {
        return super::segments::verify(vk_path, proofs);
    }
    let vk = VerifyingKeyFile::read(vk_path).map_err(verify_err)?;
    let files: Vec<ProofFile> = proofs
        .iter()
        .map(|p| read_proof_file(p))
        .collect::<Result<_, _>>()?;
    let start = Instant::now();
    if let [one] = files.as_slice() {
        zkinfer_verifier::verify(&vk, one).map_err(verify_err)?;
    } else {
        let items: Vec<(&VerifyingKeyFile, &ProofFile)> = files.iter().map(|f| (&vk, f)).collect();
        zkinfer_verifier::verify_batch(&items).map_err(|e| {
            let code = e.exit_code();
            let msg = format!("{e}");
            let named: Vec<String> = e
                .indices()
                .iter()
                .map(|&i| proofs[i].display().to_string())
                .collect();
            let msg = format!("{msg} (bad: {})", named.join(", "));
            if code == 1 {
                Exit::Invalid(msg)
            } else {
                Exit::BadInput(msg)
            }
        })?;
    }
    println!(
        "valid ({} proof{}, {:.2} ms)",
        files.len(),
        if files.len() == 1 { "" } else { "s" },
        start.elapsed().as_secs_f64() * 1e3
    );
    Ok(())
}

/// `zkinfer export-verifier`.
pub fn export_verifier(vk_path: &Path, out: &Path) -> Result<(), Exit> {
    if is_segmented_vk(vk_path)? {
        let vk = zkinfer_verifier::bundle_vk::SegmentedVerifyingKeyFile::read(vk_path)
            .map_err(verify_err)?;
        write_atomic(
            out,
            zkinfer_verifier::solidity_bundle::export_solidity_bundle(&vk),
        )?;
        println!(
            "wrote {} (verifies the whole bundle: {} segments)",
            out.display(),
            vk.segments.len()
        );
        return Ok(());
    }
    let vk = VerifyingKeyFile::read(vk_path).map_err(verify_err)?;
    write(out, zkinfer_verifier::export_solidity(&vk))?;
    println!("wrote {}", out.display());
    Ok(())
}

/// `zkinfer calldata`.
pub fn calldata(proof: &Path, vk_path: &Path) -> Result<(), Exit> {
    if is_segmented_vk(vk_path)? {
        return super::segments::calldata(proof, vk_path);
    }
    let vk = VerifyingKeyFile::read(vk_path).map_err(verify_err)?;
    let p = read_proof_file(proof)?;
    let v = zkinfer_verifier::calldata(&vk, &p).map_err(verify_err)?;
    println!("{}", serde_json::to_string(&v).expect("json"));
    Ok(())
}

fn required<'a>(flag: &str, format: &str, v: Option<&'a Path>) -> Result<&'a Path, Exit> {
    v.ok_or_else(|| Exit::BadInput(format!("export --format {format} needs --{flag}")))
}

/// `zkinfer export --format r1cs`: the circuit's (or one segment's) constraint system as an
/// iden3 `.r1cs` file.
fn export_r1cs(circuit: &Path, segment: Option<usize>, out: &Path) -> Result<(), Exit> {
    let c = CircuitFile::read(circuit).map_err(bad)?;
    let g = &c.graph;
    let r1cs = match (g.is_segmented(), segment) {
        (false, None) => zkinfer_circuits::constraint_matrices(g),
        (false, Some(_)) => {
            return Err(Exit::BadInput(format!(
                "{} is not segmented; drop --segment",
                circuit.display()
            )))
        }
        (true, None) => {
            return Err(Exit::BadInput(format!(
                "{} is segmented ({} segments): export one segment with --segment K (0 to {})",
                circuit.display(),
                g.segments.len(),
                g.segments.len() - 1
            )))
        }
        (true, Some(k)) if k >= g.segments.len() => {
            return Err(Exit::BadInput(format!(
                "--segment {k}: {} has {} segments",
                circuit.display(),
                g.segments.len()
            )))
        }
        (true, Some(k)) => g.segment_view(k).constraint_matrices(),
    }
    .map_err(bad)?;
    zkinfer_prover::keys::write_atomically(out, |w| {
        zkinfer_prover::export_r1cs::write_r1cs(&r1cs, w)
    })
    .map_err(|e| match e {
        zkinfer_prover::keys::KeyFileError::Io { err, .. } => {
            Exit::BadInput(format!("cannot write {}: {err}", out.display()))
        }
        e => bad(e),
    })?;
    let bytes = std::fs::metadata(out).map(|m| m.len()).unwrap_or(0);
    println!(
        "wrote {}: {} constraints, {} wires, {} public inputs, {} bytes",
        out.display(),
        r1cs.num_constraints(),
        r1cs.num_variables(),
        zkinfer_prover::export_r1cs::num_public(&r1cs),
        bytes
    );
    Ok(())
}

/// `zkinfer export --format snarkjs|r1cs`.
pub fn export(
    format: &str,
    vk_path: Option<&Path>,
    proof: Option<&Path>,
    circuit: Option<&Path>,
    segment: Option<usize>,
    out: &Path,
) -> Result<(), Exit> {
    if format == "r1cs" {
        return export_r1cs(required("circuit", format, circuit)?, segment, out);
    }
    if format != "snarkjs" {
        return Err(Exit::BadInput(format!(
            "unknown export format '{format}' (supported: snarkjs, r1cs)"
        )));
    }
    let vk_path = required("vk", format, vk_path)?;
    let proof = required("proof", format, proof)?;
    if is_segmented_vk(vk_path)? {
        return Err(Exit::BadInput(
            "the snarkjs export covers single-circuit models; a segmented model's bundle is verified by `zkinfer verify` or its exported Solidity contract".into(),
        ));
    }
    let vk = VerifyingKeyFile::read(vk_path).map_err(verify_err)?;
    let p = read_proof_file(proof)?;
    std::fs::create_dir_all(out)
        .map_err(|e| Exit::BadInput(format!("cannot create {}: {e}", out.display())))?;
    zkinfer_verifier::export_snarkjs(&vk, &p, out).map_err(verify_err)?;
    println!(
        "wrote verification_key.json, proof.json, public.json to {}",
        out.display()
    );
    Ok(())
}

/// `zkinfer import-zkey`: a snarkjs `.zkey` made for this circuit becomes its `.pk` (snarkjs's
/// QAP reduction, recorded in the file) and `.vk`.
pub fn import_zkey(
    circuit: &Path,
    zkey: &Path,
    pk_path: &Path,
    vk_path: &Path,
) -> Result<(), Exit> {
    let c = CircuitFile::read(circuit).map_err(bad)?;
    if c.graph.is_segmented() {
        return Err(Exit::BadInput(
            "import-zkey takes a single-circuit model; a segmented model's keys come from `zkinfer setup`".into(),
        ));
    }
    let z = zkinfer_prover::zkey::Zkey::read(zkey).map_err(bad)?;
    let r1cs = zkinfer_circuits::constraint_matrices(&c.graph).map_err(bad)?;
    z.check_circuit(&r1cs)
        .map_err(|e| Exit::BadInput(format!("{}: {e}", zkey.display())))?;
    let vk = VerifyingKeyFile {
        digest: c.digest,
        layout: c.graph.public_layout(),
        vk: zkinfer_verifier::VerifyingKey::new(
            z.pk.vk.alpha_g1,
            z.pk.vk.beta_g2,
            z.pk.vk.gamma_g2,
            z.pk.vk.delta_g2,
            z.pk.vk.gamma_abc_g1.clone(),
        )
        .map_err(verify_err)?,
    };
    let pk = ProvingKeyFile {
        digest: c.digest,
        pk: z.pk,
        reduction: zkinfer_prover::groth16::QapReduction::Snarkjs,
    };
    pk.write(pk_path).map_err(bad)?;
    vk.write(vk_path).map_err(verify_err)?;
    println!(
        "imported {}: {} variables, {} public inputs, domain {}; proving key {} ({} bytes, snarkjs's QAP reduction), verifying key {}",
        zkey.display(),
        z.n_vars,
        z.n_public,
        z.domain_size,
        pk_path.display(),
        pk.file_size(),
        vk_path.display()
    );
    Ok(())
}
