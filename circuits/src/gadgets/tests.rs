//! Gadget tests: the honest witness satisfies; every single wrong witness value does not.

use super::*;
use crate::r1cs::{Builder, Synthesis};
use ark_ff::Zero;

/// Asserts the honest assignment satisfies, and that adding 1 to any one variable the gadget
/// allocated (from `first` on; earlier ones are the gadget's free inputs) leaves the system
/// unsatisfied.
fn assert_gadget_values_pinned(s: &Synthesis, first: usize) {
    assert!(
        s.r1cs.is_satisfied(&s.assignment),
        "honest witness must satisfy"
    );
    for i in first..s.assignment.len() {
        let mut z = s.assignment.clone();
        z[i] += Fr::one();
        assert!(
            !s.r1cs.is_satisfied(&z),
            "changing variable {i} went unnoticed"
        );
    }
}

#[test]
fn range_check_pins_bits_and_rejects_out_of_range() {
    for n in [1u32, 2, 5, 16] {
        for value in [0i128, 1, (1 << n) - 1, (1 << n) / 3] {
            let mut b = Builder::new(vec![], true);
            let x = b.alloc(fr(value));
            range_check(&mut b, value, n, || x.into()).unwrap();
            let s = b.finish();
            assert_gadget_values_pinned(&s, 2);
            // The checked value is tied to its bits (except for n = 1 where it is the bit).
            if n > 1 {
                let mut z = s.assignment.clone();
                z[1] += Fr::one();
                assert!(!s.r1cs.is_satisfied(&z));
            }
        }
        let mut b = Builder::new(vec![], true);
        assert!(range_check(&mut b, 1 << n, n, Lc::zero).is_err());
        assert!(range_check(&mut b, -1, n, Lc::zero).is_err());
    }
}

#[test]
fn range_check_rejects_a_forged_out_of_range_value() {
    // Prove 3 bits of 5, then claim the variable is 13 with the same bits: unsatisfied.
    let mut b = Builder::new(vec![], true);
    let x = b.alloc(fr(5));
    range_check(&mut b, 5, 3, || x.into()).unwrap();
    let s = b.finish();
    let mut z = s.assignment.clone();
    z[x.0 as usize] = fr(13);
    assert!(!s.r1cs.is_satisfied(&z));
}

#[test]
fn signed_values_cover_the_range() {
    for v in [-128i128, -1, 0, 1, 127] {
        let mut b = Builder::new(vec![], true);
        signed(&mut b, v, 8).unwrap();
        assert_gadget_values_pinned(&b.finish(), 1);
    }
    let mut b = Builder::new(vec![], true);
    assert_eq!(
        signed(&mut b, 128, 8).unwrap_err(),
        RangeError {
            value: 128,
            bits: 8
        }
    );
    assert!(signed(&mut b, -129, 8).is_err());
}

#[test]
fn requantize_proves_round_half_up() {
    for acc in [-1000i128, -129, -128, -1, 0, 1, 64, 127, 128, 1000] {
        for k in [0u32, 1, 7] {
            let mut b = Builder::new(vec![], true);
            let a = b.alloc(fr(acc));
            let y = requantize(&mut b, acc, k, 12, || Lc::from(a).scaled(Fr::one())).unwrap();
            assert_eq!(y.value, crate::fixed::requantize(acc, k).0);
            assert_gadget_values_pinned(&b.finish(), 2);
        }
    }
}

#[test]
fn requantize_rejects_the_neighbouring_result() {
    // y and y±1 with any remainder: no assignment but the honest one satisfies.
    let mut b = Builder::new(vec![], true);
    let a = b.alloc(fr(300));
    let y = requantize(&mut b, 300, 7, 8, || a.into()).unwrap();
    let s = b.finish();
    let mut z = s.assignment.clone();
    z[y.var.0 as usize] = fr(y.value + 1);
    assert!(!s.r1cs.is_satisfied(&z));
}

#[test]
fn requantize_out_of_range_is_an_error() {
    let mut b = Builder::new(vec![], true);
    let err = requantize(&mut b, 1 << 20, 4, 8, Lc::zero).unwrap_err();
    assert_eq!(err.bits, 8);
}

#[test]
fn relu_is_the_sign_bit_times_the_value() {
    for v in [-100i128, -1, 0, 1, 100] {
        let mut b = Builder::new(vec![], true);
        let y = signed(&mut b, v, 8).unwrap();
        let z = relu(&mut b, &y);
        let s = b.finish();
        assert_eq!(s.assignment[z.0 as usize], fr(v.max(0)));
        assert_gadget_values_pinned(&s, 1);
        // The prover cannot pass y through unchanged when it is negative.
        if v < 0 {
            let mut forged = s.assignment.clone();
            forged[z.0 as usize] = fr(v);
            assert!(!s.r1cs.is_satisfied(&forged));
        }
    }
}

#[test]
fn packing_binds_every_slot() {
    let vals = [-3i128, 0, 7, -8, 5];
    let bits = 4u32;
    let per = (253 / bits) as i128;
    assert!(per >= vals.len() as i128);
    let mut packed = Fr::zero();
    for (t, v) in vals.iter().enumerate() {
        packed += fr(v + 8) * pow2(bits * t as u32);
    }
    let mut b = Builder::new(vec![packed], true);
    let lcs: Vec<Lc> = vals
        .iter()
        .map(|&v| signed(&mut b, v, bits).unwrap().var.into())
        .collect();
    assert_eq!(pack_public(&mut b, 0, &lcs, bits), 1);
    assert_gadget_values_pinned(&b.finish(), 1);
}

#[test]
fn witness_mode_gives_the_same_assignment() {
    let run = |m: bool| {
        let mut b = Builder::new(vec![], m);
        let a = b.alloc(fr(-77));
        let y = requantize(&mut b, -77, 3, 8, || a.into()).unwrap();
        relu(&mut b, &y);
        b.finish()
    };
    let (full, wit) = (run(true), run(false));
    assert_eq!(full.assignment, wit.assignment);
    assert_eq!(full.num_constraints, wit.num_constraints);
}

/// The tables of powers of two agree with exponentiation, and past them the fallback does.
#[test]
fn powers_of_two_match_exponentiation() {
    for i in [0u32, 1, 2, 63, 64, 127, 128, 239, 240, 254, 255, 256, 300] {
        let want = Fr::from(2u64).pow([u64::from(i)]);
        assert_eq!(pow2(i), want, "2^{i}");
        assert_eq!(pow2_inv(i) * want, Fr::from(1u64), "2^-{i}");
    }
}
