//! Real Groth16 keys and proofs for the tests and benches, made with ark-groth16 on a toy circuit.
//!
//! The toy circuit's public inputs are exactly the packed elements of a `PublicLayout`, as in a
//! zkinfer circuit; each one is constrained (`x * x = s`) so that it is bound by the proof. The
//! `variant` constant (`x * x = s + variant`) makes circuits with the same layout but different keys.
#![allow(dead_code)]

pub mod segments;

use ark_bn254::{Bn254, Fr};
use ark_groth16::{Groth16, ProvingKey};
use ark_relations::gr1cs::{
    ConstraintSynthesizer, ConstraintSystemRef, LinearCombination, SynthesisError, Variable,
};
use ark_std::rand::{rngs::StdRng, Rng, SeedableRng};
use zkinfer_verifier::{
    pack_public_inputs, Proof, ProofFile, PublicLayout, TensorData, TensorLayout, VerifyingKey,
    VerifyingKeyFile,
};

/// The digits-like layout: 64 inputs at 9 bits (28 per element: 3 elements) and 10 outputs at
/// 16 bits (15 per element: 1 element), so 4 public inputs.
pub fn digits_layout() -> PublicLayout {
    PublicLayout {
        input: TensorLayout {
            shape: vec![1, 64],
            scale: 7,
            bits: 9,
        },
        output: TensorLayout {
            shape: vec![1, 10],
            scale: 8,
            bits: 16,
        },
        input_visibility: Default::default(),
        output_visibility: Default::default(),
    }
}

/// A layout with `n` public inputs: one input element (8 values at 8 bits) and `n - 1` output
/// elements of 15 values at 16 bits each (no output values when `n` is 1).
pub fn layout_with_inputs(n: usize) -> PublicLayout {
    assert!(n >= 1);
    PublicLayout {
        input: TensorLayout {
            shape: vec![8],
            scale: 4,
            bits: 8,
        },
        output: TensorLayout {
            shape: vec![15 * (n - 1)],
            scale: 6,
            bits: 16,
        },
        input_visibility: Default::default(),
        output_visibility: Default::default(),
    }
}

pub struct ToyCircuit {
    pub num_inputs: usize,
    /// The packed public inputs; `None` during setup.
    pub inputs: Option<Vec<Fr>>,
    pub variant: u64,
}

impl ConstraintSynthesizer<Fr> for ToyCircuit {
    fn generate_constraints(self, cs: ConstraintSystemRef<Fr>) -> Result<(), SynthesisError> {
        let c = Fr::from(self.variant);
        for i in 0..self.num_inputs {
            let value = self.inputs.as_ref().map(|v| v[i]);
            let x = cs.new_input_variable(|| value.ok_or(SynthesisError::AssignmentMissing))?;
            let s = cs.new_witness_variable(|| {
                value
                    .map(|v| v * v - c)
                    .ok_or(SynthesisError::AssignmentMissing)
            })?;
            cs.enforce_r1cs_constraint(
                || LinearCombination::from(x),
                || LinearCombination::from(x),
                || LinearCombination::from(s) + (c, Variable::One),
            )?;
        }
        Ok(())
    }
}

/// A compiled-and-set-up toy model.
pub struct Toy {
    pub pk: ProvingKey<Bn254>,
    pub vk_file: VerifyingKeyFile,
    pub variant: u64,
}

pub fn vk_from_ark(vk: &ark_groth16::VerifyingKey<Bn254>) -> VerifyingKey {
    VerifyingKey::new(
        vk.alpha_g1,
        vk.beta_g2,
        vk.gamma_g2,
        vk.delta_g2,
        vk.gamma_abc_g1.clone(),
    )
    .expect("ark-groth16's setup makes valid points")
}

pub fn proof_from_ark(p: &ark_groth16::Proof<Bn254>) -> Proof {
    Proof::new(p.a, p.b, p.c).expect("ark-groth16's prover makes valid points")
}

/// Sets up the toy circuit for `layout`; the digest is derived from `variant` so that
/// different variants are different circuits.
pub fn setup(layout: PublicLayout, variant: u64, seed: u64) -> Toy {
    let mut rng = StdRng::seed_from_u64(seed);
    let n = layout.num_public_inputs();
    let pk = Groth16::<Bn254>::generate_random_parameters_with_reduction(
        ToyCircuit {
            num_inputs: n,
            inputs: None,
            variant,
        },
        &mut rng,
    )
    .expect("setup");
    let mut digest = [0u8; 32];
    digest[..8].copy_from_slice(&variant.to_le_bytes());
    digest[31] = 0x5a;
    let vk_file = VerifyingKeyFile {
        digest,
        layout,
        vk: vk_from_ark(&pk.vk),
    };
    Toy {
        pk,
        vk_file,
        variant,
    }
}

/// Random quantised tensors within the layout's bits.
pub fn sample_values(layout: &PublicLayout, seed: u64) -> (Vec<i64>, Vec<i64>) {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut draw = |t: &TensorLayout| -> Vec<i64> {
        let half = 1i128 << (t.bits - 1);
        (0..t.len())
            .map(|_| rng.gen_range(-half..half) as i64)
            .collect()
    };
    (draw(&layout.input), draw(&layout.output))
}

/// Proves the toy circuit for these tensors and wraps the result as a proof.json.
pub fn prove(toy: &Toy, input_q: &[i64], output_q: &[i64], seed: u64) -> ProofFile {
    let layout = &toy.vk_file.layout;
    let packed = pack_public_inputs(layout, input_q, output_q).expect("values within bits");
    let mut rng = StdRng::seed_from_u64(seed);
    let proof = Groth16::<Bn254>::create_random_proof_with_reduction(
        ToyCircuit {
            num_inputs: packed.len(),
            inputs: Some(packed),
            variant: toy.variant,
        },
        &toy.pk,
        &mut rng,
    )
    .expect("prove");
    ProofFile::new(
        toy.vk_file.digest,
        TensorData {
            shape: layout.input.shape.clone(),
            scale: layout.input.scale,
            quantized: input_q.to_vec(),
        },
        layout.output.shape.clone(),
        layout.output.scale,
        output_q.to_vec(),
        &proof_from_ark(&proof),
    )
}

/// A toy model and one valid proof for random tensors.
pub fn toy_with_proof(layout: PublicLayout, seed: u64) -> (Toy, ProofFile) {
    let toy = setup(layout, 1, seed);
    let (i, o) = sample_values(&toy.vk_file.layout, seed + 1);
    let pf = prove(&toy, &i, &o, seed + 2);
    (toy, pf)
}

/// Where the Node tools are: `$ZKINFER_NODE_TOOLS` or `<workspace>/.ci/node`; `None` (after
/// printing why) when they are missing and `CI` is unset. Under `CI` a missing tool is a failure.
pub fn node_tool(package: &str, bin_path: &str) -> Option<std::path::PathBuf> {
    let root = std::env::var_os("ZKINFER_NODE_TOOLS")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../.ci/node"));
    let path = root.join("node_modules").join(package).join(bin_path);
    if path.exists() && which("node") {
        return Some(path);
    }
    let why = format!(
        "{} (or node) not found; run .ci/install-node-tools.sh or set ZKINFER_NODE_TOOLS",
        path.display()
    );
    if std::env::var_os("CI").is_some() {
        panic!("CI is set and a required tool is missing: {why}");
    }
    eprintln!("SKIPPED: {why}");
    None
}

fn which(cmd: &str) -> bool {
    std::process::Command::new(cmd)
        .arg("--version")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}
