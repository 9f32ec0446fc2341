//! Batch verification: many proofs, one multi-pairing.
//!
//! For proofs `i` with random scalars `r_i`, the Groth16 equations
//! `e(A_i, B_i) = e(alpha, beta) · e(X_i, gamma) · e(C_i, delta)` are combined into
//!
//! `prod_i e(r_i A_i, B_i) · prod_k [ e(sum r_i X_i, -gamma_k) · e(sum r_i C_i, -delta_k) ]
//!   = prod_k e(alpha_k, beta_k)^(sum r_i)`
//!
//! grouping the proofs by verifying key `k`. Since `X_i` is linear in the inputs, `sum r_i X_i`
//! is one MSM over the key's `gamma_abc_g1` with scalars `sum r_i x_ij`; so a batch costs one
//! Miller loop per proof plus two per key, and a single final exponentiation. If any equation
//! fails, the combination fails except with probability about `2^-128` over the `r_i`.

use std::collections::HashMap;
use std::fmt;

use ark_bn254::{Bn254, Fr, G1Affine, G1Projective};
use ark_ec::bn::G2Prepared;
use ark_ec::pairing::{Pairing, PairingOutput};
use ark_ec::{CurveGroup, VariableBaseMSM};
use ark_ff::Zero;
use merlin::Transcript;

use crate::error::VerifyError;
use crate::field::fr_to_be_bytes;
use crate::keys::Proof;
use crate::proof_file::ProofFile;
use crate::verifier::{check_statement, prepare_verifying_key, verify_proof, PreparedVerifyingKey};
use crate::vk_file::VerifyingKeyFile;

/// The merlin transcript label the batch scalars are drawn under.
pub const BATCH_TRANSCRIPT_LABEL: &[u8] = b"zkinfer-batch-verify";

/// The proofs of a batch that did not verify, each with its index in the batch and the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchError {
    /// `(index, reason)` for every bad proof, by increasing index; never empty.
    pub failures: Vec<(usize, VerifyError)>,
}

impl BatchError {
    /// The indices of the bad proofs.
    pub fn indices(&self) -> Vec<usize> {
        self.failures.iter().map(|(i, _)| *i).collect()
    }

    /// 2 if any failure is bad input, else 1 (the CLI's convention for single proofs).
    pub fn exit_code(&self) -> i32 {
        self.failures
            .iter()
            .map(|(_, e)| e.exit_code())
            .max()
            .unwrap_or(1)
    }
}

impl fmt::Display for BatchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} proof(s) of the batch failed:", self.failures.len())?;
        for (i, e) in &self.failures {
            write!(f, "\n  #{i}: {e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for BatchError {}

/// One proof ready for the combined check.
struct Entry<'a> {
    index: usize,
    group: usize,
    proof: &'a Proof,
    inputs: &'a [Fr],
}

/// Verifies `items` (any mix of keys) with one multi-pairing, falling back to one verification
/// per proof when the combination fails, so that the error names every bad proof.
///
/// `Ok(())` means every proof verifies against its own key and inputs (except with probability
/// about `2^-128`). The scalars come from a merlin transcript labelled `zkinfer-batch-verify`
/// that absorbs every distinct key (compressed), and for each proof its key, public inputs and
/// proof (compressed), so a prover cannot choose proofs after seeing the scalars. An empty batch verifies.
pub fn verify_batch_raw(
    items: &[(&PreparedVerifyingKey, &Proof, &[Fr])],
) -> Result<(), BatchError> {
    let mut failures = Vec::new();
    let mut groups: Vec<&PreparedVerifyingKey> = Vec::new();
    let mut group_bytes: Vec<Vec<u8>> = Vec::new();
    // Keys are grouped by their bytes; the pointer map saves re-serialising a shared key.
    let mut by_ptr: HashMap<*const PreparedVerifyingKey, usize> = HashMap::new();
    let mut by_bytes: HashMap<Vec<u8>, usize> = HashMap::new();
    let mut entries = Vec::with_capacity(items.len());
    for (index, &(pvk, proof, inputs)) in items.iter().enumerate() {
        if inputs.len() != pvk.vk.num_public_inputs() || pvk.vk.gamma_abc_g1.is_empty() {
            failures.push((
                index,
                VerifyError::bad(format!(
                    "{} public inputs given, the verifying key expects {}",
                    inputs.len(),
                    pvk.vk.num_public_inputs()
                )),
            ));
            continue;
        }
        let group = *by_ptr.entry(pvk as *const _).or_insert_with(|| {
            let bytes = pvk.vk.to_compressed_bytes();
            *by_bytes.entry(bytes.clone()).or_insert_with(|| {
                groups.push(pvk);
                group_bytes.push(bytes);
                groups.len() - 1
            })
        });
        entries.push(Entry {
            index,
            group,
            proof,
            inputs,
        });
    }

    if !entries.is_empty() && !combined_check(&entries, &groups, &group_bytes) {
        // Name the culprits: verify each alone (only on the failure path).
        for e in &entries {
            if let Err(err) = verify_proof(groups[e.group], e.proof, e.inputs) {
                failures.push((e.index, err));
            }
        }
    }
    if failures.is_empty() {
        Ok(())
    } else {
        failures.sort_by_key(|(i, _)| *i);
        Err(BatchError { failures })
    }
}

/// Draws one nonzero 128-bit scalar per entry from a transcript over the whole batch.
fn batch_scalars(entries: &[Entry<'_>], group_bytes: &[Vec<u8>]) -> Vec<Fr> {
    let mut t = Transcript::new(BATCH_TRANSCRIPT_LABEL);
    t.append_u64(b"keys", group_bytes.len() as u64);
    for bytes in group_bytes {
        t.append_message(b"vk", bytes);
    }
    t.append_u64(b"proofs", entries.len() as u64);
    for e in entries {
        t.append_u64(b"key", e.group as u64);
        t.append_u64(b"inputs", e.inputs.len() as u64);
        for x in e.inputs {
            t.append_message(b"input", &fr_to_be_bytes(x));
        }
        t.append_message(b"proof", &e.proof.to_compressed_bytes());
    }
    entries
        .iter()
        .map(|_| {
            let mut buf = [0u8; 16];
            t.challenge_bytes(b"r", &mut buf);
            // 128 bits give 2^-128 soundness error at half the cost of full-width scalars;
            // zero would drop a proof from the check, so it is replaced (probability 2^-128).
            let r = u128::from_le_bytes(buf).max(1);
            Fr::from(r)
        })
        .collect()
}

/// The combined equation over all entries; true when it holds.
fn combined_check(
    entries: &[Entry<'_>],
    groups: &[&PreparedVerifyingKey],
    group_bytes: &[Vec<u8>],
) -> bool {
    let r = batch_scalars(entries, group_bytes);

    // Per key: sum of r_i, sum of r_i * x_ij per input j, and the C_i with their r_i.
    let mut r_sum = vec![Fr::zero(); groups.len()];
    let mut input_scalars: Vec<Vec<Fr>> = groups
        .iter()
        .map(|g| vec![Fr::zero(); g.vk.num_public_inputs()])
        .collect();
    let mut c_points: Vec<Vec<G1Affine>> = vec![Vec::new(); groups.len()];
    let mut c_scalars: Vec<Vec<Fr>> = vec![Vec::new(); groups.len()];
    for (e, r_i) in entries.iter().zip(&r) {
        r_sum[e.group] += r_i;
        for (acc, x) in input_scalars[e.group].iter_mut().zip(e.inputs) {
            *acc += *r_i * x;
        }
        c_points[e.group].push(e.proof.c);
        c_scalars[e.group].push(*r_i);
    }

    let a_scaled: Vec<G1Projective> = entries
        .iter()
        .zip(&r)
        .map(|(e, r_i)| e.proof.a * r_i)
        .collect();
    let mut g1: Vec<G1Projective> = a_scaled;
    let mut g2: Vec<G2Prepared<ark_bn254::Config>> = entries
        .iter()
        .map(|e| G2Prepared::from(e.proof.b))
        .collect();
    let mut rhs = PairingOutput::<Bn254>::zero();
    for (k, pvk) in groups.iter().enumerate() {
        let ic = &pvk.vk.gamma_abc_g1;
        let x = G1Projective::msm_unchecked(&ic[1..], &input_scalars[k]) + ic[0] * r_sum[k];
        let c = G1Projective::msm_unchecked(&c_points[k], &c_scalars[k]);
        g1.push(x);
        g2.push(pvk.gamma_g2_neg_pc.clone());
        g1.push(c);
        g2.push(pvk.delta_g2_neg_pc.clone());
        rhs += pvk.alpha_g1_beta_g2 * r_sum[k];
    }
    let g1 = G1Projective::normalize_batch(&g1);
    let ml = Bn254::multi_miller_loop(g1, g2);
    Bn254::final_exponentiation(ml).is_some_and(|lhs| lhs == rhs)
}

/// Verifies many proof.json files, each against its `.vk` (the keys may differ), with one
/// multi-pairing; see [`verify_batch_raw`].
///
/// `Ok(())` means [`crate::verify`] would accept every item. Otherwise the error lists every bad
/// item by index with the reason [`crate::verify`] would give for it.
pub fn verify_batch(items: &[(&VerifyingKeyFile, &ProofFile)]) -> Result<(), BatchError> {
    let mut failures = Vec::new();
    let mut checked = Vec::with_capacity(items.len());
    for (index, &(vk, pf)) in items.iter().enumerate() {
        match check_statement(vk, pf) {
            Ok((proof, inputs)) => checked.push((index, vk, proof, inputs)),
            Err(e) => failures.push((index, e)),
        }
    }
    // Prepare each distinct key file once (by address: the common case is one shared key).
    let mut prepared: HashMap<*const VerifyingKeyFile, PreparedVerifyingKey> = HashMap::new();
    for (_, vk, _, _) in &checked {
        prepared
            .entry(*vk as *const _)
            .or_insert_with(|| prepare_verifying_key(&vk.vk));
    }
    let raw: Vec<(&PreparedVerifyingKey, &Proof, &[Fr])> = checked
        .iter()
        .map(|(_, vk, proof, inputs)| (&prepared[&(*vk as *const _)], proof, inputs.as_slice()))
        .collect();
    if let Err(e) = verify_batch_raw(&raw) {
        failures.extend(e.failures.into_iter().map(|(i, err)| (checked[i].0, err)));
    }
    if failures.is_empty() {
        Ok(())
    } else {
        failures.sort_by_key(|(i, _)| *i);
        Err(BatchError { failures })
    }
}
