//! Toy segmented models: one toy circuit (see the parent module) per segment, with exactly the
//! public-input count the segment rule gives, and proof bundles for them.

use ark_bn254::{Bn254, Fr};
use ark_groth16::{Groth16, ProvingKey};
use ark_std::rand::{rngs::StdRng, SeedableRng};
use zkinfer_verifier::layout::public_part_len;
use zkinfer_verifier::poseidon::hash_elements;
use zkinfer_verifier::{
    public_part, ProofBundle, PublicLayout, SegmentKey, SegmentProof, SegmentedVerifyingKeyFile,
    TensorData, TensorLayout, Visibility,
};

use super::{proof_from_ark, vk_from_ark, ToyCircuit};

/// Input: 40 values at 8 bits (31 per element: 2 elements); output: 20 values at 16 bits (15 per
/// element: 2 elements); each public or hashed as asked.
pub fn segmented_layout(input: Visibility, output: Visibility) -> PublicLayout {
    PublicLayout {
        input: TensorLayout {
            shape: vec![40],
            scale: 5,
            bits: 8,
        },
        output: TensorLayout {
            shape: vec![4, 5],
            scale: 7,
            bits: 16,
        },
        input_visibility: input,
        output_visibility: output,
    }
}

/// A set-up toy segmented model.
pub struct ToySegmented {
    pub pks: Vec<ProvingKey<Bn254>>,
    pub variants: Vec<u64>,
    pub vk: SegmentedVerifyingKeyFile,
}

/// The number of public inputs of segment `k` of `n`, by the rule (computed here, not by the crate).
pub fn segment_input_count(layout: &PublicLayout, k: usize, n: usize) -> usize {
    let i = if k == 0 {
        public_part_len(&layout.input, layout.input_visibility)
    } else {
        1
    };
    let o = if k + 1 == n {
        public_part_len(&layout.output, layout.output_visibility)
    } else {
        1
    };
    i + o
}

/// Sets up `n` toy segments for `layout`; digests are derived from `n`, `k` and `seed`.
pub fn setup_segmented(layout: PublicLayout, n: usize, seed: u64) -> ToySegmented {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut pks = Vec::new();
    let mut variants = Vec::new();
    let mut segments = Vec::new();
    for k in 0..n {
        let variant = seed * 100 + k as u64;
        let pk = Groth16::<Bn254>::generate_random_parameters_with_reduction(
            ToyCircuit {
                num_inputs: segment_input_count(&layout, k, n),
                inputs: None,
                variant,
            },
            &mut rng,
        )
        .expect("setup");
        let mut digest = [0u8; 32];
        digest[..8].copy_from_slice(&variant.to_le_bytes());
        digest[31] = 0x5e;
        segments.push(SegmentKey {
            digest,
            vk: vk_from_ark(&pk.vk),
        });
        pks.push(pk);
        variants.push(variant);
    }
    let mut digest = [0xd1u8; 32];
    digest[..8].copy_from_slice(&seed.to_le_bytes());
    digest[8] = n as u8;
    ToySegmented {
        pks,
        variants,
        vk: SegmentedVerifyingKeyFile {
            digest,
            layout,
            segments,
        },
    }
}

/// Boundary `k`'s hash: the Poseidon hash of some stand-in intermediate tensor.
pub fn boundary_hash(seed: u64, k: usize) -> Fr {
    hash_elements(&[Fr::from(seed), Fr::from(k as u64), Fr::from(12345u64)])
}

/// The public inputs of every segment, by the rule: `in_part(k) ++ out_part(k)`.
pub fn segment_inputs(
    layout: &PublicLayout,
    n: usize,
    input_q: &[i64],
    output_q: &[i64],
    boundaries: &[Fr],
) -> Vec<Vec<Fr>> {
    let in_part = public_part(&layout.input, layout.input_visibility, input_q, "input").unwrap();
    let out_part =
        public_part(&layout.output, layout.output_visibility, output_q, "output").unwrap();
    (0..n)
        .map(|k| {
            let mut x = if k == 0 {
                in_part.clone()
            } else {
                vec![boundaries[k - 1]]
            };
            if k + 1 == n {
                x.extend(&out_part);
            } else {
                x.push(boundaries[k]);
            }
            x
        })
        .collect()
}

/// Proves segment `k` for `inputs`.
pub fn prove_segment(
    toy: &ToySegmented,
    k: usize,
    inputs: Vec<Fr>,
    seed: u64,
) -> zkinfer_verifier::Proof {
    let mut rng = StdRng::seed_from_u64(seed);
    let proof = Groth16::<Bn254>::create_random_proof_with_reduction(
        ToyCircuit {
            num_inputs: inputs.len(),
            inputs: Some(inputs),
            variant: toy.variants[k],
        },
        &toy.pks[k],
        &mut rng,
    )
    .expect("prove");
    proof_from_ark(&proof)
}

/// A valid bundle for these tensors, with boundary hashes from `seed`.
pub fn prove_segmented(
    toy: &ToySegmented,
    input_q: &[i64],
    output_q: &[i64],
    seed: u64,
) -> ProofBundle {
    let layout = &toy.vk.layout;
    let n = toy.vk.segments.len();
    let boundaries: Vec<Fr> = (0..n - 1).map(|k| boundary_hash(seed, k)).collect();
    let inputs = segment_inputs(layout, n, input_q, output_q, &boundaries);
    let segments = inputs
        .into_iter()
        .enumerate()
        .map(|(k, x)| {
            let proof = prove_segment(toy, k, x, seed + 1000 + k as u64);
            SegmentProof::new(
                toy.vk.segments[k].digest,
                (k > 0).then(|| boundaries[k - 1]),
                (k + 1 < n).then(|| boundaries[k]),
                &proof,
            )
        })
        .collect();
    ProofBundle::new(
        toy.vk.digest,
        TensorData {
            shape: layout.input.shape.clone(),
            scale: layout.input.scale,
            quantized: input_q.to_vec(),
        },
        layout.output.shape.clone(),
        layout.output.scale,
        output_q.to_vec(),
        segments,
    )
}

/// A toy segmented model with `n` segments and one valid bundle for random tensors.
pub fn segmented_with_bundle(
    input: Visibility,
    output: Visibility,
    n: usize,
    seed: u64,
) -> (ToySegmented, ProofBundle) {
    segmented_with_bundle_for(segmented_layout(input, output), n, seed)
}

/// The public tensors of the `gpt` fixture at `--scale 8 --bits 20`: 16 token ids (7 bits, one
/// packed element) in, 64 logits (20 bits, 12 per element: 6 elements) out. Gas depends only on
/// the number of segments and of public inputs, so a toy bundle of this shape costs what the
/// fixture's does.
pub fn gpt_layout() -> PublicLayout {
    PublicLayout {
        input: TensorLayout {
            shape: vec![1, 16],
            scale: 0,
            bits: 7,
        },
        output: TensorLayout {
            shape: vec![1, 1, 64],
            scale: 8,
            bits: 20,
        },
        input_visibility: Visibility::Public,
        output_visibility: Visibility::Public,
    }
}

/// [`segmented_with_bundle`] for any layout.
pub fn segmented_with_bundle_for(
    layout: PublicLayout,
    n: usize,
    seed: u64,
) -> (ToySegmented, ProofBundle) {
    let toy = setup_segmented(layout, n, seed);
    let (i, o) = super::sample_values(&toy.vk.layout, seed + 1);
    let bundle = prove_segmented(&toy, &i, &o, seed + 2);
    (toy, bundle)
}
