//! Verifying one proof: the Groth16 pairing check, and the checks that tie a proof.json to a `.vk`.

use ark_bn254::{Bn254, Fr, G1Projective, G2Affine};
use ark_ec::bn::G2Prepared;
use ark_ec::pairing::{Pairing, PairingOutput};
use ark_ec::{AffineRepr, CurveGroup, VariableBaseMSM};

use crate::error::VerifyError;
use crate::field::parse_fr;
use crate::keys::{Proof, VerifyingKey};
use crate::layout::{pack_public_inputs, TensorLayout};
use crate::proof_file::{scale_factor, ProofFile};
use crate::vk_file::VerifyingKeyFile;

/// A verifying key with the per-key work of verification done once: `e(alpha, beta)` and the
/// negated `gamma` and `delta` prepared for the Miller loop.
#[derive(Clone, Debug)]
pub struct PreparedVerifyingKey {
    pub(crate) vk: VerifyingKey,
    pub(crate) alpha_g1_beta_g2: PairingOutput<Bn254>,
    pub(crate) gamma_g2_neg_pc: G2Prepared<ark_bn254::Config>,
    pub(crate) delta_g2_neg_pc: G2Prepared<ark_bn254::Config>,
}

impl PreparedVerifyingKey {
    /// The key this was prepared from.
    pub fn vk(&self) -> &VerifyingKey {
        &self.vk
    }
}

/// Precomputes what every verification with `vk` shares (one pairing and two G2 preparations).
pub fn prepare_verifying_key(vk: &VerifyingKey) -> PreparedVerifyingKey {
    let neg = |p: &G2Affine| G2Prepared::from((-p.into_group()).into_affine());
    PreparedVerifyingKey {
        vk: vk.clone(),
        alpha_g1_beta_g2: Bn254::pairing(vk.alpha_g1, vk.beta_g2),
        gamma_g2_neg_pc: neg(&vk.gamma_g2),
        delta_g2_neg_pc: neg(&vk.delta_g2),
    }
}

/// `gamma_abc_g1[0] + sum_i inputs[i] * gamma_abc_g1[i + 1]`, after checking the count.
pub(crate) fn prepare_inputs(
    vk: &VerifyingKey,
    public_inputs: &[Fr],
) -> Result<G1Projective, VerifyError> {
    if public_inputs.len() + 1 != vk.gamma_abc_g1.len() {
        return Err(VerifyError::bad(format!(
            "{} public inputs given, the verifying key expects {}",
            public_inputs.len(),
            vk.num_public_inputs()
        )));
    }
    let msm = G1Projective::msm_unchecked(&vk.gamma_abc_g1[1..], public_inputs);
    Ok(msm + vk.gamma_abc_g1[0])
}

/// Checks the Groth16 equation `e(A, B) = e(alpha, beta) · e(X, gamma) · e(C, delta)`, with `X`
/// the input combination, as one multi-pairing (three Miller loops, one final exponentiation).
///
/// `Ok(())` exactly when the proof verifies for these inputs. A wrong number of inputs is
/// [`VerifyError::BadInput`]; a failing equation is [`VerifyError::Rejected`]. Field elements
/// are canonical by construction, so no modulus check is needed here (see [`verify_proof_with_raw_inputs`]).
pub fn verify_proof(
    pvk: &PreparedVerifyingKey,
    proof: &Proof,
    public_inputs: &[Fr],
) -> Result<(), VerifyError> {
    let x = prepare_inputs(&pvk.vk, public_inputs)?.into_affine();
    let ml = Bn254::multi_miller_loop(
        [proof.a, x, proof.c],
        [
            G2Prepared::from(proof.b),
            pvk.gamma_g2_neg_pc.clone(),
            pvk.delta_g2_neg_pc.clone(),
        ],
    );
    match Bn254::final_exponentiation(ml) {
        Some(lhs) if lhs == pvk.alpha_g1_beta_g2 => Ok(()),
        _ => Err(VerifyError::rejected(
            "the pairing check failed: the proof does not verify",
        )),
    }
}

/// [`verify_proof`] for public inputs given as text (decimal, or `0x` hex) such as a snarkjs
/// public.json or Solidity calldata: any input at or above the scalar-field modulus, or not a
/// number, is [`VerifyError::BadInput`] rather than silently reduced.
pub fn verify_proof_with_raw_inputs<S: AsRef<str>>(
    pvk: &PreparedVerifyingKey,
    proof: &Proof,
    public_inputs: &[S],
) -> Result<(), VerifyError> {
    let inputs = public_inputs
        .iter()
        .enumerate()
        .map(|(i, s)| {
            parse_fr(s.as_ref()).map_err(|e| VerifyError::bad(format!("public input {i}: {e}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    verify_proof(pvk, proof, &inputs)
}

/// `shape`'s product, or `None` on overflow.
fn shape_len(shape: &[usize]) -> Option<usize> {
    shape.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d))
}

/// Checks a proof.json tensor against itself (BadInput) and against the layout (Rejected).
fn check_tensor(
    what: &str,
    shape: &[usize],
    scale: i32,
    n: usize,
    layout: &TensorLayout,
) -> Result<(), VerifyError> {
    if shape_len(shape) != Some(n) {
        return Err(VerifyError::bad(format!(
            "proof.json: {what} has {n} quantized values but shape {shape:?}"
        )));
    }
    if shape != layout.shape.as_slice() {
        return Err(VerifyError::rejected(format!(
            "{what} shape {shape:?} differs from the verifying key's {:?}",
            layout.shape
        )));
    }
    if scale != layout.scale {
        return Err(VerifyError::rejected(format!(
            "{what} scale {scale} differs from the verifying key's {}",
            layout.scale
        )));
    }
    Ok(())
}

/// Every check of [`verify`] except the pairing: returns the decoded proof and the packed public
/// inputs it must verify against.
///
/// In order: version and hex fields (BadInput); the circuit digest (Rejected, naming both
/// digests); tensor lengths against their own shapes (BadInput); shapes and scales against the
/// key's layout (Rejected); float values against the quantised ones, `|v - q/2^scale| <=
/// 2^-(scale+1)` (Rejected); quantised values within their bits (BadInput); the proof's points (BadInput).
pub fn check_statement(
    vk: &VerifyingKeyFile,
    proof: &ProofFile,
) -> Result<(Proof, Vec<Fr>), VerifyError> {
    proof.check_version()?;
    let digest = proof.digest()?;
    if digest != vk.digest {
        return Err(VerifyError::rejected(format!(
            "proof is for another circuit: proof.json names circuit {}, the verifying key is for circuit {}",
            hex::encode(digest),
            vk.digest_hex()
        )));
    }
    vk.check()?;
    let (inp, out) = (&proof.input, &proof.output);
    if out.values.len() != out.quantized.len() {
        return Err(VerifyError::bad(format!(
            "proof.json: output has {} values but {} quantized values",
            out.values.len(),
            out.quantized.len()
        )));
    }
    check_tensor(
        "input",
        &inp.shape,
        inp.scale,
        inp.quantized.len(),
        &vk.layout.input,
    )?;
    check_tensor(
        "output",
        &out.shape,
        out.scale,
        out.quantized.len(),
        &vk.layout.output,
    )?;

    // Half a step of the fixed-point grid: the most a correctly rounded decimal can be off by.
    let factor = scale_factor(out.scale);
    let tolerance = 0.5 / factor;
    for (i, (&v, &q)) in out.values.iter().zip(&out.quantized).enumerate() {
        let expected = q as f64 / factor;
        // `is_some_and(Le)` so that NaN (which compares as None) is rejected too.
        let within = (v - expected)
            .abs()
            .partial_cmp(&tolerance)
            .is_some_and(|o| o.is_le());
        if !within {
            return Err(VerifyError::rejected(format!(
                "output value {v} at index {i} does not match its quantized value {q} / 2^{} = {expected}",
                out.scale
            )));
        }
    }

    let public_inputs = pack_public_inputs(&vk.layout, &inp.quantized, &out.quantized)?;
    let decoded = proof.proof()?;
    Ok((decoded, public_inputs))
}

/// Verifies a proof.json against a `.vk`: every check of [`check_statement`], then the pairing.
///
/// `Ok(())` means the verifying key's circuit, on the input tensor in proof.json, outputs the
/// quantised output tensor in proof.json (and the float values are those integers, rounded).
pub fn verify(vk: &VerifyingKeyFile, proof: &ProofFile) -> Result<(), VerifyError> {
    let (decoded, public_inputs) = check_statement(vk, proof)?;
    verify_proof(&prepare_verifying_key(&vk.vk), &decoded, &public_inputs)
}
