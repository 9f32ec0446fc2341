//! Synthetic constraint systems for tests and benches, built straight as CSR (no synthesis).

use ark_bn254::Fr;
use ark_ff::{One, UniformRand, Zero};
use ark_std::rand::Rng;
use zkinfer_gpu::CsrMatrix;

use super::R1csShape;

/// What the witness looks like.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WitnessKind {
    /// Products of random field elements: every MSM scalar is a full 254-bit value.
    Random,
    /// Shaped like zkinfer's circuits: mostly bits from range checks (`b·b = b`), each group of
    /// 15 bits recomposed into a small signed integer, and small products of those integers.
    Quantized,
}

struct Builder {
    num_instance: usize,
    rows: [Vec<Vec<(Fr, usize)>>; 3],
    z: Vec<Fr>,
}

impl Builder {
    fn witness(&mut self, v: Fr) -> usize {
        self.z.push(v);
        self.z.len() - 1
    }
    fn enforce(&mut self, a: Vec<(Fr, usize)>, b: Vec<(Fr, usize)>, c: Vec<(Fr, usize)>) {
        self.rows[0].push(a);
        self.rows[1].push(b);
        self.rows[2].push(c);
    }
}

/// A satisfiable R1CS with exactly `num_constraints` constraints and `num_public` public
/// inputs, plus its full assignment `z`.
pub fn synthetic_circuit<R: Rng>(
    num_constraints: usize,
    num_public: usize,
    kind: WitnessKind,
    rng: &mut R,
) -> (R1csShape, Vec<Fr>) {
    let num_instance = num_public + 1;
    let mut b = Builder {
        num_instance,
        rows: [Vec::new(), Vec::new(), Vec::new()],
        z: vec![Fr::one()],
    };
    // Public inputs, values filled in as they are bound below.
    for _ in 0..num_public {
        b.z.push(Fr::zero());
    }
    let one = Fr::one();
    let mut last = Vec::<usize>::new();
    while b.rows[0].len() < num_constraints {
        let left = num_constraints - b.rows[0].len();
        match kind {
            WitnessKind::Random => {
                let (x, y) = if last.len() >= 2 && rng.gen_bool(0.7) {
                    (
                        last[rng.gen_range(0..last.len())],
                        last[rng.gen_range(0..last.len())],
                    )
                } else {
                    (b.witness(Fr::rand(rng)), b.witness(Fr::rand(rng)))
                };
                let v = b.z[x] * b.z[y];
                let o = b.witness(v);
                b.enforce(vec![(one, x)], vec![(one, y)], vec![(one, o)]);
                last.push(o);
                if last.len() > 64 {
                    last.remove(0);
                }
            }
            WitnessKind::Quantized => {
                if left >= 16 {
                    // v in [-2^14, 2^14): v + 2^14 = Σ 2^j b_j over 15 bits.
                    let v: i64 = rng.gen_range(-(1 << 14)..(1 << 14));
                    let u = (v + (1 << 14)) as u64;
                    let vi = b.witness(Fr::from(v));
                    let mut lc = Vec::with_capacity(16);
                    for j in 0..15 {
                        let bit = b.witness(Fr::from((u >> j) & 1));
                        b.enforce(vec![(one, bit)], vec![(one, bit)], vec![(one, bit)]);
                        lc.push((Fr::from(1u64 << j), bit));
                    }
                    lc.push((-Fr::from(1u64 << 14), 0));
                    b.enforce(lc, vec![(one, 0)], vec![(one, vi)]);
                    last.push(vi);
                } else if last.len() >= 2 {
                    // A small product (a requantised multiply).
                    let (x, y) = (
                        last[rng.gen_range(0..last.len())],
                        last[rng.gen_range(0..last.len())],
                    );
                    let o = b.witness(b.z[x] * b.z[y]);
                    b.enforce(vec![(one, x)], vec![(one, y)], vec![(one, o)]);
                } else {
                    let bit = b.witness(Fr::from(rng.gen_range(0u64..2)));
                    b.enforce(vec![(one, bit)], vec![(one, bit)], vec![(one, bit)]);
                    last.push(bit);
                }
            }
        }
    }
    // Bind public inputs to witness values: (pub) · 1 = w. They replace the last constraints'
    // budget only when there is room, so the count stays exact.
    let n = b.rows[0].len();
    for p in 0..num_public.min(n) {
        let w = b.rows[2][n - 1 - p][0].1;
        b.z[1 + p] = b.z[w];
        b.rows[0][n - 1 - p] = vec![(one, 1 + p)];
        b.rows[1][n - 1 - p] = vec![(one, 0)];
        b.rows[2][n - 1 - p] = vec![(one, w)];
    }
    let shape = R1csShape {
        num_instance: b.num_instance,
        num_witness: b.z.len() - b.num_instance,
        a: CsrMatrix::from_rows(&b.rows[0]),
        b: CsrMatrix::from_rows(&b.rows[1]),
        c: CsrMatrix::from_rows(&b.rows[2]),
    };
    (shape, b.z)
}
