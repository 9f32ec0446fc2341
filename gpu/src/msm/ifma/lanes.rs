//! The eight-lane field arithmetic and batch addition, written once against lane operations
//! (`splat`, `madd52lo`, `add`, `sar`, `select`, …, on a lane vector `V` and a lane mask `M`)
//! that the invoking module brings into scope: AVX-512 IFMA instructions ([`super::avx512`])
//! or their plain-Rust mirror ([`super::emulated`]). `$attr` goes on every function: the
//! target features for the instructions, nothing for the mirror.

/// Defines `F8`, its arithmetic (`mul`, `square`, `sub`, `canonical`), `Scratch` and
/// `add_batch` in the invoking module; see the module docs.
macro_rules! lane_algorithm {
    ($(#[$attr:meta])*) => {
        use ark_bn254::Fq;
        use ark_ff::{BigInt, Zero};

        use super::consts::{MASK52, ONE52, P52, PINV52, TWO_P52};
        use $crate::msm::batch_affine::{prefetch, Pt};

        /// Eight field elements, limb-major: limb `k` holds bits `52k .. 52k+52` of each
        /// lane's value.
        #[derive(Clone, Copy)]
        pub(crate) struct F8(pub(crate) [V; 5]);

        $(#[$attr])*
        fn splat5(v: [u64; 5]) -> F8 {
            F8([splat(v[0]), splat(v[1]), splat(v[2]), splat(v[3]), splat(v[4])])
        }

        /// Limb-normalises `t` (limbs below `2^52`), carrying upwards with the sign: a limb
        /// may be negative (two's complement) or above `2^52`; the top limb keeps the sign.
        $(#[$attr])*
        fn carry(t: &mut [V; 5]) {
            let mask = splat(MASK52);
            for k in 0..4 {
                let c = sar::<52>(t[k]);
                t[k] = and(t[k], mask);
                t[k + 1] = add(t[k + 1], c);
            }
        }

        /// `a·b·2^−256 mod p`, below `2p`, for `a, b < 2p`: arkworks' Montgomery product.
        ///
        /// The product is scaled by 16 before a reduction that divides by `2^260`. Bound: the
        /// result is `(16ab + m·p)/2^260 < 64p²/2^260 + p < 1.75p`, since `p < 2^253.6`.
        $(#[$attr])*
        pub(crate) fn mul(a: &F8, b: &F8) -> F8 {
            let zero = splat(0);
            let mut t = [zero; 10];
            for i in 0..5 {
                for j in 0..5 {
                    t[i + j] = madd52lo(t[i + j], a.0[i], b.0[j]);
                    t[i + j + 1] = madd52hi(t[i + j + 1], a.0[i], b.0[j]);
                }
            }
            for x in t.iter_mut() {
                *x = shl::<4>(*x);
            }
            montgomery_reduce(t)
        }

        /// `a²·2^−256 mod p`, below `2p`, for `a < 2p`: as [`mul`], each cross product
        /// `a_i·a_j` (`i < j`) computed once and their sum doubled.
        $(#[$attr])*
        pub(crate) fn square(a: &F8) -> F8 {
            let zero = splat(0);
            let mut t = [zero; 10];
            for i in 0..5 {
                for j in i + 1..5 {
                    t[i + j] = madd52lo(t[i + j], a.0[i], a.0[j]);
                    t[i + j + 1] = madd52hi(t[i + j + 1], a.0[i], a.0[j]);
                }
            }
            for x in t.iter_mut() {
                *x = shl::<1>(*x);
            }
            for i in 0..5 {
                t[2 * i] = madd52lo(t[2 * i], a.0[i], a.0[i]);
                t[2 * i + 1] = madd52hi(t[2 * i + 1], a.0[i], a.0[i]);
            }
            for x in t.iter_mut() {
                *x = shl::<4>(*x);
            }
            montgomery_reduce(t)
        }

        /// `t·2^−260 mod p`, below `2p` for the products above, for a ten-limb `t` whose limbs
        /// are below `2^61` (not normalised); the result limb-normalised.
        $(#[$attr])*
        fn montgomery_reduce(mut t: [V; 10]) -> F8 {
            let zero = splat(0);
            let pinv = splat(PINV52);
            let p = splat5(P52).0;
            for i in 0..5 {
                // m = t·(−p⁻¹) mod 2^52: IFMA reads the low 52 bits of t[i], all m needs.
                let m = madd52lo(zero, t[i], pinv);
                for j in 0..5 {
                    t[i + j] = madd52lo(t[i + j], m, p[j]);
                    t[i + j + 1] = madd52hi(t[i + j + 1], m, p[j]);
                }
                // t[i] is now 0 mod 2^52; what lies above goes up.
                t[i + 1] = add(t[i + 1], shr::<52>(t[i]));
            }
            let mut r = [t[5], t[6], t[7], t[8], t[9]];
            // Every limb is below 2^63 here, so the signed carry is the plain one.
            carry(&mut r);
            F8(r)
        }

        /// `a − b mod p` in `[0, 2p)`, for `a, b < 2p`.
        $(#[$attr])*
        pub(crate) fn sub_mod(a: &F8, b: &F8) -> F8 {
            let mut t = a.0;
            for k in 0..5 {
                t[k] = sub(t[k], b.0[k]);
            }
            carry(&mut t);
            // Negative (the top limb's sign is the whole value's): add 2p.
            let neg = negative(t[4]);
            let two_p = splat5(TWO_P52).0;
            for k in 0..5 {
                t[k] = add_where(neg, t[k], two_p[k]);
            }
            // The top limb wraps back to the true value, non-negative and below 2^52.
            carry(&mut t);
            F8(t)
        }

        /// `a mod p`, canonical, for `a < 2p`.
        $(#[$attr])*
        pub(crate) fn canonical(a: &F8) -> F8 {
            let p = splat5(P52).0;
            let mut t = a.0;
            for k in 0..5 {
                t[k] = sub(t[k], p[k]);
            }
            carry(&mut t);
            // a < p: keep a.
            let keep = negative(t[4]);
            for k in 0..5 {
                t[k] = select(keep, t[k], a.0[k]);
            }
            F8(t)
        }

        /// Eight values below `2^256`, `x[j][lane]` the `j`-th 64-bit limb, as an [`F8`].
        $(#[$attr])*
        pub(crate) fn from_limbs(x: &[[u64; 8]; 4]) -> F8 {
            let v = [load(&x[0]), load(&x[1]), load(&x[2]), load(&x[3])];
            let mask = splat(MASK52);
            F8([
                and(v[0], mask),
                and(or(shr::<52>(v[0]), shl::<12>(v[1])), mask),
                and(or(shr::<40>(v[1]), shl::<24>(v[2])), mask),
                and(or(shr::<28>(v[2]), shl::<36>(v[3])), mask),
                shr::<16>(v[3]),
            ])
        }

        /// [`from_limbs`] back, for values below `2^256`.
        $(#[$attr])*
        pub(crate) fn to_limbs(a: &F8, x: &mut [[u64; 8]; 4]) {
            let l = &a.0;
            store(or(l[0], shl::<52>(l[1])), &mut x[0]);
            store(or(shr::<12>(l[1]), shl::<40>(l[2])), &mut x[1]);
            store(or(shr::<24>(l[2]), shl::<28>(l[3])), &mut x[2]);
            store(or(shr::<36>(l[3]), shl::<16>(l[4])), &mut x[3]);
        }

        /// One row of eight additions between the two passes of [`add_batch`].
        #[derive(Clone, Copy)]
        pub(crate) struct Row {
            px: F8,
            py: F8,
            qx: F8,
            qy: F8,
            /// The chains' products before this row's denominators.
            prefix: F8,
            /// `px − qx`.
            den: F8,
        }

        /// Scratch rows for [`add_batch`], kept by an accumulator between flushes.
        #[derive(Default)]
        pub(crate) struct Scratch(Vec<Row>);

        /// How many batch entries ahead the gathering reads prefetch a bucket.
        const PREFETCH_AHEAD: usize = 16;

        /// `buckets[b] += p` for every `(b, p)` of `batch`, as the scalar batch addition
        /// ([`super::super::batch_affine`]) does: distinct buckets, `p.x ≠ buckets[b].x`,
        /// neither at infinity; the buckets' pending flags cleared. The sums are the same
        /// canonical field elements.
        ///
        /// The additions are split into eight interleaved chains (lane `l` takes entries
        /// `l, l+8, …`), each with its own prefix products as in Montgomery's trick; the
        /// eight chain products then share one scalar inversion.
        ///
        /// # Safety
        /// The CPU must have the instructions of the lane operations in scope (none for the
        /// mirror).
        $(#[$attr])*
        pub(crate) unsafe fn add_batch(
            batch: &[(u32, Pt<Fq>)],
            buckets: &mut [Pt<Fq>],
            pending: &mut [bool],
            scratch: &mut Scratch,
        ) {
            let n = batch.len();
            if n == 0 {
                return;
            }
            let rows = n.div_ceil(8);
            let zero = F8([splat(0); 5]);
            scratch.0.resize(
                rows.max(scratch.0.len()),
                Row { px: zero, py: zero, qx: zero, qy: zero, prefix: zero, den: zero },
            );
            let rows_buf = &mut scratch.0[..rows];
            // Forward: each row's points gathered, its denominators, the chains' prefix
            // products.
            let mut acc = splat5(ONE52);
            let mut lanes = [[[0u64; 8]; 4]; 4];
            for (k, row) in rows_buf.iter_mut().enumerate() {
                for l in 0..8 {
                    let e = 8 * k + l;
                    if let Some(&(ahead, _)) = batch.get(e + PREFETCH_AHEAD) {
                        prefetch(&buckets[ahead as usize]);
                    }
                    let (p, q) = match batch.get(e) {
                        Some(&(b, p)) => (p, buckets[b as usize]),
                        // Past the end: denominator 1 (raw limbs), a result dropped.
                        None => (
                            Pt {
                                x: Fq::new_unchecked(BigInt([1, 0, 0, 0])),
                                y: Fq::new_unchecked(BigInt([0; 4])),
                            },
                            Pt::INF,
                        ),
                    };
                    for j in 0..4 {
                        lanes[0][j][l] = (p.x.0).0[j];
                        lanes[1][j][l] = (p.y.0).0[j];
                        lanes[2][j][l] = (q.x.0).0[j];
                        lanes[3][j][l] = (q.y.0).0[j];
                    }
                }
                row.px = from_limbs(&lanes[0]);
                row.py = from_limbs(&lanes[1]);
                row.qx = from_limbs(&lanes[2]);
                row.qy = from_limbs(&lanes[3]);
                row.den = sub_mod(&row.px, &row.qx);
                row.prefix = acc;
                acc = mul(&acc, &row.den);
            }
            // The eight chains' products, inverted together.
            let mut limbs = [[0u64; 8]; 4];
            to_limbs(&canonical(&acc), &mut limbs);
            let mut totals: [Fq; 8] = std::array::from_fn(|l| {
                Fq::new_unchecked(BigInt(std::array::from_fn(|j| limbs[j][l])))
            });
            $crate::msm::inverse::batch_inverse(&mut totals);
            for (l, t) in totals.iter().enumerate() {
                debug_assert!(!t.is_zero(), "denominators are non-zero");
                for j in 0..4 {
                    limbs[j][l] = (t.0).0[j];
                }
            }
            let mut inv = from_limbs(&limbs);
            // Backward: each row's inverses, then its sums.
            let (mut xs, mut ys) = ([[0u64; 8]; 4], [[0u64; 8]; 4]);
            for (k, row) in rows_buf.iter().enumerate().rev() {
                let d_inv = mul(&inv, &row.prefix);
                inv = mul(&inv, &row.den);
                let lambda = mul(&sub_mod(&row.py, &row.qy), &d_inv);
                let x3 = sub_mod(&sub_mod(&square(&lambda), &row.qx), &row.px);
                let y3 = sub_mod(&mul(&sub_mod(&row.qx, &x3), &lambda), &row.qy);
                to_limbs(&canonical(&x3), &mut xs);
                to_limbs(&canonical(&y3), &mut ys);
                for l in 0..8 {
                    let Some(&(b, _)) = batch.get(8 * k + l) else {
                        break;
                    };
                    buckets[b as usize] = Pt {
                        x: Fq::new_unchecked(BigInt(std::array::from_fn(|j| xs[j][l]))),
                        y: Fq::new_unchecked(BigInt(std::array::from_fn(|j| ys[j][l]))),
                    };
                    pending[b as usize] = false;
                }
            }
        }

        /// For the tests: per lane, `a·b`, `a²`, `a − b`, `b − a`, then on those (not
        /// canonical) results `(a·b)·(a − b)` and `a² − a·b`, each made canonical, and whether
        /// every unreduced result was below `2p`.
        ///
        /// # Safety
        /// As [`add_batch`].
        #[cfg(test)]
        $(#[$attr])*
        pub(crate) unsafe fn probe(a: &[Fq; 8], b: &[Fq; 8]) -> ([[Fq; 8]; 6], bool) {
            let load8 = |v: &[Fq; 8]| -> [[u64; 8]; 4] {
                std::array::from_fn(|j| std::array::from_fn(|l| (v[l].0).0[j]))
            };
            let (va, vb) = (from_limbs(&load8(a)), from_limbs(&load8(b)));
            let m = mul(&va, &vb);
            let s = square(&va);
            let d = sub_mod(&va, &vb);
            let e = sub_mod(&vb, &va);
            let m2 = mul(&m, &d);
            let d2 = sub_mod(&s, &m);
            let mut below_2p = true;
            let two_p = super::consts::TWO_P;
            let mut out = [[Fq::zero(); 8]; 6];
            for (i, x) in [m, s, d, e, m2, d2].iter().enumerate() {
                let mut raw = [[0u64; 8]; 4];
                to_limbs(x, &mut raw);
                for l in 0..8 {
                    let v: [u64; 4] = std::array::from_fn(|j| raw[j][l]);
                    below_2p &= (0..4).rev().find(|&j| v[j] != two_p[j]).is_some_and(|j| v[j] < two_p[j]);
                }
                to_limbs(&canonical(x), &mut raw);
                out[i] = std::array::from_fn(|l| {
                    Fq::new_unchecked(BigInt(std::array::from_fn(|j| raw[j][l])))
                });
            }
            (out, below_2p)
        }
    };
}

pub(crate) use lane_algorithm;
