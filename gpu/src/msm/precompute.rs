//! Fixed-base precomputation: for each base `P` and `j < factor`, the multiple `2^(c·j)·P`,
//! stored as `table[i·factor + j]`, so that the digits of all windows `j` of a scalar can go
//! into one set of buckets (one pass) instead of one set per window.

use ark_ec::short_weierstrass::{Affine, Projective, SWCurveConfig};
use ark_ec::{AffineRepr, CurveGroup};
use rayon::prelude::*;

use super::batch_affine::Pt;

fn to_pt<P: SWCurveConfig>(a: &Affine<P>) -> Pt<P::BaseField> {
    if a.is_zero() {
        Pt::INF
    } else {
        Pt { x: a.x, y: a.y }
    }
}

/// The table described in the module docs, built in parallel over chunks of bases.
pub(crate) fn build_table<P: SWCurveConfig>(
    bases: &[Affine<P>],
    c: u32,
    factor: usize,
) -> Vec<Pt<P::BaseField>> {
    let mut table = vec![Pt::<P::BaseField>::INF; bases.len() * factor];
    const CHUNK: usize = 256;
    table
        .par_chunks_mut(CHUNK * factor)
        .zip(bases.par_chunks(CHUNK))
        .for_each(|(out, bases)| {
            let mut cur: Vec<Projective<P>> = bases.iter().map(|b| (*b).into()).collect();
            for (i, b) in bases.iter().enumerate() {
                out[i * factor] = to_pt(b);
            }
            for j in 1..factor {
                for p in cur.iter_mut() {
                    for _ in 0..c {
                        p.double_in_place();
                    }
                }
                let aff = Projective::normalize_batch(&cur);
                for (i, a) in aff.iter().enumerate() {
                    out[i * factor + j] = to_pt(a);
                }
            }
        });
    table
}

use ark_ff::AdditiveGroup as _;
