//! Verifying one proof: the Groth16 pairing check, and the checks that tie a proof.json to a `.vk`.

use ark_bn254::{Bn254, Fr, G1Projective, G2Affine};
use ark_ec::bn::G2Prepared;
use ark_ec::pairing::{Pairing, PairingOutput};
use ark_ec::{AffineRepr, CurveGroup, VariableBaseMSM};

use crate::error::VerifyError;
use crate::field::parse_fr;
use crate::keys::{Proof, VerifyingKey};
use crate::layout::{pack_public_inputs, PublicLayout, TensorLayout};
use crate::proof_file::{scale_factor, OutputData, ProofFile, TensorData};
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

/// Checks a tensor of `file` against itself (BadInput) and against the layout (Rejected).
fn check_tensor(
    file: &str,
    what: &str,
    shape: &[usize],
    scale: i32,
    n: usize,
    layout: &TensorLayout,
) -> Result<(), VerifyError> {
    if shape_len(shape) != Some(n) {
        return Err(VerifyError::bad(format!(
            "{file}: {what} has {n} quantized values but shape {shape:?}"
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

/// Whether the float `v` in proof.json's output `values` is the quantised value `q` at `scale`,
/// as [`ProofFile::new`] writes it (`q as f64 / 2^scale`, which is `dequantize` in
/// zkinfer-circuits) up to float rounding — one value, never a neighbour's.
///
/// For `|q| <= 2^53` every integer is a float, so the writer's value `q · 2^-scale` is exact
/// and `v` must lie within 1/2048 of a step of it: `|v · 2^scale - q| <= 2^-11`. That is far
/// less than half a step, so a value between two steps (such as `(q + 0.5) / 2^scale`, which a
/// half-step tolerance would accept for both `q` and `q + 1`) matches neither, and a matching
/// `v` rounds to `q` (round half away from zero, as `quantize` does). For `|q| > 2^53` the
/// writer's `q as f64` is itself rounded to 53 bits, so the bound is relative instead:
/// `|v · 2^scale - q| <= |q| · 2^-50` (a few units in the last place); there a float cannot tell
/// `q` from its neighbours, and only the quantised integer is proven.
///
/// The comparison is exact, on `v`'s integer mantissa and exponent, so it neither overflows nor
/// loses precision for any scale; NaN and infinities never match.
pub(crate) fn value_matches(v: f64, q: i64, scale: i32) -> bool {
    if !v.is_finite() {
        return false;
    }
    // v = m · 2^e exactly, |m| < 2^53.
    let bits = v.to_bits();
    let biased = ((bits >> 52) & 0x7ff) as i64;
    let fraction = (bits & ((1u64 << 52) - 1)) as i128;
    let (magnitude, e) = if biased == 0 {
        (fraction, -1074)
    } else {
        (fraction | (1i128 << 52), biased - 1075)
    };
    let m = if bits >> 63 == 1 {
        -magnitude
    } else {
        magnitude
    };
    let relative = q.unsigned_abs() > 1u64 << 53;
    // v · 2^scale = m · 2^t. Compare it with q in units of 2^-k (k = max(0, -t)): the difference
    // `diff` and the bound are then integers.
    let t = e + scale as i64;
    let q = q as i128;
    let (diff, k) = if m == 0 {
        (-q, 0)
    } else if t >= 0 {
        // |m · 2^t| >= 2^t: beyond every i64 (and its bound) from t = 65 on.
        if t > 64 {
            return false;
        }
        ((m << t) - q, 0)
    } else {
        let k = -t;
        // |v · 2^scale| < 2^53 · 2^-64 = 2^-11: within the bound of 0 only (and of no other q,
        // whose bound is at most |q| · 2^-50 < |q| - 2^-11).
        if k >= 64 {
            return q == 0;
        }
        // |q · 2^k| < 2^126 and |m| < 2^53: no overflow.
        (m - (q << k), k as u32)
    };
    let bound = if relative {
        // |q| · 2^(k - 50), rounded down (diff is an integer).
        let scaled = q.unsigned_abs() << k;
        scaled >> 50
    } else if k >= 11 {
        1u128 << (k - 11)
    } else {
        0
    };
    diff.unsigned_abs() <= bound
}

/// Every check of [`verify`] except the pairing: returns the decoded proof and the packed public
/// inputs it must verify against.
///
/// In order: version and hex fields (BadInput); the circuit digest (Rejected, naming both
/// digests); tensor lengths against their own shapes (BadInput); shapes and scales against the
/// key's layout (Rejected); each float value `v` against its quantised `q` (Rejected unless `v`
/// is `q / 2^scale` as [`ProofFile::new`] writes it, up to float rounding: within 1/2048 of a
/// step, so a value between two steps matches neither; for `|q| > 2^53`, where floats no longer
/// hold every integer, within a relative `2^-50`); quantised values within their bits
/// (BadInput); the proof's points (BadInput).
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
    check_tensors(&vk.layout, &proof.input, &proof.output, "proof.json")?;
    let public_inputs =
        pack_public_inputs(&vk.layout, &proof.input.quantized, &proof.output.quantized)?;
    let decoded = proof.proof()?;
    Ok((decoded, public_inputs))
}

/// The checks of a statement's tensors, shared by proof.json and proof bundles: lengths against
/// their own shapes (BadInput), shapes and scales against `layout` (Rejected), and each float
/// output value against its quantised value (Rejected; see [`value_matches`]). `file` names the
/// document in BadInput messages ("proof.json", "bundle").
pub(crate) fn check_tensors(
    layout: &PublicLayout,
    inp: &TensorData,
    out: &OutputData,
    file: &str,
) -> Result<(), VerifyError> {
    if out.values.len() != out.quantized.len() {
        return Err(VerifyError::bad(format!(
            "{file}: output has {} values but {} quantized values",
            out.values.len(),
            out.quantized.len()
        )));
    }
    check_tensor(
        file,
        "input",
        &inp.shape,
        inp.scale,
        inp.quantized.len(),
        &layout.input,
    )?;
    check_tensor(
        file,
        "output",
        &out.shape,
        out.scale,
        out.quantized.len(),
        &layout.output,
    )?;
    for (i, (&v, &q)) in out.values.iter().zip(&out.quantized).enumerate() {
        if !value_matches(v, q, out.scale) {
            return Err(VerifyError::rejected(format!(
                "output value {v} at index {i} does not match its quantized value {q}: expected {q} / 2^{} = {}",
                out.scale,
                q as f64 / scale_factor(out.scale)
            )));
        }
    }
    Ok(())
}

/// Verifies a proof.json against a `.vk`: every check of [`check_statement`], then the pairing.
///
/// `Ok(())` means the verifying key's circuit, on the input tensor in proof.json, outputs the
/// quantised output tensor in proof.json (and the float values are those integers' values).
pub fn verify(vk: &VerifyingKeyFile, proof: &ProofFile) -> Result<(), VerifyError> {
    let (decoded, public_inputs) = check_statement(vk, proof)?;
    verify_proof(&prepare_verifying_key(&vk.vk), &decoded, &public_inputs)
}

#[cfg(test)]
mod tests {
    use super::value_matches;

    /// What the prover writes (`ProofFile::new`, `dequantize`).
    fn written(q: i64, s: i32) -> f64 {
        q as f64 / (s as f64).exp2()
    }

    #[test]
    fn exact_values_match_half_steps_match_nothing() {
        for s in [-3, 0, 1, 7, 8, 16, 30] {
            for q in [-40000i64, -3, -1, 0, 1, 2, 255, 12345, (1 << 40) + 3] {
                assert!(value_matches(written(q, s), q, s), "q={q} s={s}");
                let half = written(q, s) + 0.5 * (-s as f64).exp2();
                assert!(!value_matches(half, q, s), "q={q} s={s}");
                assert!(!value_matches(half, q + 1, s), "q={q} s={s}");
                assert!(!value_matches(written(q, s), q + 1, s), "q={q} s={s}");
                assert!(!value_matches(written(q, s), q - 1, s), "q={q} s={s}");
            }
        }
        // 1/2048 of a step is float rounding; a little more is not.
        let step = 1.0 / 256.0;
        assert!(value_matches(5.0 * step + step / 2048.0, 5, 8));
        assert!(value_matches(5.0 * step - step / 2048.0, 5, 8));
        assert!(!value_matches(5.0 * step + step / 1024.0, 5, 8));
        assert!(value_matches(-0.0, 0, 8));
        for v in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            assert!(!value_matches(v, 0, 8));
        }
    }

    #[test]
    fn beyond_2_pow_53_the_bound_is_relative() {
        let big = 1i64 << 53;
        // 2^53 + 1 is no float: the writer's value is 2^53, and it matches both.
        assert_eq!(written(big + 1, 4), written(big, 4));
        assert!(value_matches(written(big + 1, 4), big + 1, 4));
        assert!(value_matches(written(big, 4), big, 4));
        for q in [
            big + 1,
            i64::MAX,
            i64::MIN,
            -(1 << 62) - 7,
            (1 << 60) + 12345,
        ] {
            for s in [0, 4, 60, -5] {
                let v = written(q, s);
                assert!(value_matches(v, q, s), "q={q} s={s}");
                assert!(!value_matches(v * (1.0 + 1e-12), q, s), "q={q} s={s}");
                assert!(!value_matches(-v, q, s), "q={q} s={s}");
                assert!(!value_matches(v, q / 2, s), "q={q} s={s}");
            }
        }
    }

    #[test]
    fn extreme_scales_and_values_do_not_panic() {
        let vs = [
            0.0,
            -0.0,
            f64::MIN_POSITIVE,
            5e-324,
            -5e-324,
            1.0,
            f64::MAX,
            f64::MIN,
            1e300,
            9.3e18,
        ];
        let qs = [0i64, 1, -1, i64::MAX, i64::MIN, 1 << 53];
        let scales = [
            i32::MIN,
            -2000,
            -1100,
            -64,
            -1,
            0,
            1,
            63,
            64,
            1100,
            2000,
            i32::MAX,
        ];
        for &v in &vs {
            for &q in &qs {
                for &s in &scales {
                    let _ = value_matches(v, q, s);
                }
            }
        }
        // Values that cannot be told apart from 0 at this scale match 0 only.
        assert!(value_matches(0.0, 0, i32::MAX));
        assert!(!value_matches(0.0, 1, i32::MAX));
        assert!(value_matches(5e-324, 0, 0));
        // The smallest subnormal is exactly 1 · 2^-1074.
        assert!(value_matches(5e-324, 1, 1074));
        assert!(value_matches(1.0, 1 << 40, 40));
        assert!(value_matches(80f64.exp2(), 1 << 40, -40));
        assert!(!value_matches(80f64.exp2(), 1 << 40, 40));
        assert!(!value_matches(f64::MAX, i64::MAX, 0));
    }
}
