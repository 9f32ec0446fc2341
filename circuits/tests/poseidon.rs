//! The Poseidon gadget against the native hash (`zkinfer_verifier::poseidon`, built on
//! light-poseidon): same value, satisfied constraints, every witness value pinned, the public
//! hash bound, the witness-only and structure modes consistent with the matrix mode, and the
//! cost formula equal to the measured count.

use ark_bn254::Fr;
use ark_ff::{Field, One, PrimeField, Zero};
use light_poseidon::{Poseidon, PoseidonHasher};
use rand::{rngs::StdRng, Rng, SeedableRng};
use zkinfer_circuits::gadgets::poseidon::{constraints_for, hash_elements};
use zkinfer_circuits::r1cs::{Builder, Lc, R1cs, Synthesis};
use zkinfer_verifier::poseidon as native;

/// Around the chunk boundaries (11 elements per permutation), and the empty input.
const SIZES: [usize; 9] = [0, 1, 2, 10, 11, 12, 22, 23, 50];

fn random_elements(n: usize, seed: u64) -> Vec<Fr> {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..n)
        .map(|_| Fr::from_le_bytes_mod_order(&rng.gen::<[u8; 32]>()))
        .collect()
}

/// How the hashed elements reach the gadget.
#[derive(Clone, Copy, Debug)]
enum Form {
    /// Each element a fresh variable.
    Var,
    /// Each element `3·x + 5` for a fresh variable `x`.
    Affine,
    /// Each element `x + 2·y` for two fresh variables.
    Sum,
}

/// One synthesis of the gadget on `values`, optionally binding the hash to public input 0.
struct Run {
    s: Synthesis,
    /// The gadget's output.
    hash_lc: Lc,
    hash: Fr,
    /// Constraints the gadget added.
    constraints: usize,
}

fn run(values: &[Fr], form: Form, public_hash: Option<Fr>, build: bool) -> Run {
    let mut b = Builder::new(public_hash.into_iter().collect(), build);
    let elements = alloc_elements(&mut b, values, form);
    let before = b.num_constraints();
    let (hash_lc, hash) = hash_elements(&mut b, &elements);
    let constraints = b.num_constraints() - before;
    if public_hash.is_some() {
        let p = b.public(0);
        let l = hash_lc.clone();
        b.enforce_zero(move || {
            let mut lc = l;
            lc.add_term(p, -Fr::one());
            lc
        });
    }
    Run {
        s: b.finish(),
        hash_lc,
        hash,
        constraints,
    }
}

fn alloc_elements(b: &mut Builder, values: &[Fr], form: Form) -> Vec<(Lc, Fr)> {
    let three_inv = Fr::from(3u64).inverse().unwrap();
    values
        .iter()
        .map(|&v| {
            let lc = match form {
                Form::Var => b.alloc(v).into(),
                Form::Affine => {
                    let x = b.alloc((v - Fr::from(5u64)) * three_inv);
                    let mut lc = Lc::from(x).scaled(Fr::from(3u64));
                    lc.add_constant(Fr::from(5u64));
                    lc
                }
                Form::Sum => {
                    let y = b.alloc(y_value(v));
                    let x = b.alloc(v - y_value(v) * Fr::from(2u64));
                    let mut lc = Lc::from(x);
                    lc.add_term(y, Fr::from(2u64));
                    lc
                }
            };
            (lc, v)
        })
        .collect()
}

/// The `y` of [`Form::Sum`] for the element `v`.
fn y_value(v: Fr) -> Fr {
    Fr::from(7u64) + v.square()
}

fn nonzeros(r: &R1cs) -> usize {
    r.a.nnz() + r.b.nnz() + r.c.nnz()
}

#[test]
fn gadget_computes_the_native_hash_and_its_constraints_hold() {
    for (seed, n) in SIZES.into_iter().enumerate() {
        let values = random_elements(n, seed as u64);
        let expected = native::hash_elements(&values);
        for form in [Form::Var, Form::Affine, Form::Sum] {
            let r = run(&values, form, None, true);
            assert_eq!(r.hash, expected, "value, n = {n}, {form:?}");
            assert!(
                r.s.r1cs.is_satisfied(&r.s.assignment),
                "constraint {:?} fails, n = {n}, {form:?}",
                r.s.r1cs.first_unsatisfied(&r.s.assignment)
            );
            assert_eq!(
                r.hash_lc.eval(&r.s.assignment),
                expected,
                "linear combination, n = {n}, {form:?}"
            );
        }
    }
}

#[test]
fn one_chunk_is_one_circomlib_call() {
    // Checked against light-poseidon directly, not only through the native sponge.
    for n in [1usize, 5, 11] {
        let values = random_elements(n, 100 + n as u64);
        let mut inputs = vec![Fr::from(n as u64)];
        inputs.extend(&values);
        inputs.resize(12, Fr::zero());
        let by_hand = Poseidon::<Fr>::new_circom(12)
            .unwrap()
            .hash(&inputs)
            .unwrap();
        let r = run(&values, Form::Var, None, true);
        assert_eq!(r.hash, by_hand, "n = {n}");
        assert!(r.s.r1cs.is_satisfied(&r.s.assignment));
    }
}

#[test]
fn bound_hash_pins_every_witness_variable() {
    // n = 3: one permutation; n = 12: two, the second absorbing the first's output.
    for n in [3usize, 12] {
        let values = random_elements(n, 7 + n as u64);
        let hash = native::hash_elements(&values);
        let r = run(&values, Form::Var, Some(hash), true);
        let (r1cs, z) = (&r.s.r1cs, &r.s.assignment);
        assert!(r1cs.is_satisfied(z), "honest assignment, n = {n}");
        // Every witness variable: the hashed elements themselves and all of the gadget's.
        let first_witness = r1cs.num_instance;
        assert_eq!(z.len() - first_witness, n + constraints_for(n));
        for i in first_witness..z.len() {
            let mut bad = z.clone();
            bad[i] += Fr::one();
            assert!(
                !r1cs.is_satisfied(&bad),
                "n = {n}: changing witness variable {i} went unnoticed"
            );
        }
        // A wrong public hash, and the hash of other elements.
        let mut bad = z.clone();
        bad[1] += Fr::one();
        assert!(!r1cs.is_satisfied(&bad), "n = {n}: wrong public hash");
        let mut other = values.clone();
        other[n - 1] += Fr::one();
        let r2 = run(&other, Form::Var, Some(hash), true);
        assert!(
            !r2.s.r1cs.is_satisfied(&r2.s.assignment),
            "n = {n}: other elements, same public hash"
        );
    }
}

#[test]
fn lengths_and_padding_are_bound_in_the_circuit() {
    // [x] and [x, 0] (the padding made explicit) hash apart; each circuit refuses the other's hash.
    let x = random_elements(1, 99);
    let x0 = vec![x[0], Fr::zero()];
    let (h1, h2) = (native::hash_elements(&x), native::hash_elements(&x0));
    assert_ne!(h1, h2);
    for (values, wrong) in [(&x, h2), (&x0, h1)] {
        let r = run(values, Form::Var, Some(wrong), true);
        assert!(!r.s.r1cs.is_satisfied(&r.s.assignment));
    }
    // The empty input: a constant hash, still bound to the public input.
    let empty = native::hash_elements(&[]);
    let ok = run(&[], Form::Var, Some(empty), true);
    assert!(ok.s.r1cs.is_satisfied(&ok.s.assignment));
    let bad = run(&[], Form::Var, Some(empty + Fr::one()), true);
    assert!(!bad.s.r1cs.is_satisfied(&bad.s.assignment));
}

#[test]
fn witness_only_and_structure_modes_match_the_matrix_mode() {
    for (seed, n) in SIZES.into_iter().enumerate() {
        let values = random_elements(n, 50 + seed as u64);
        let hash = native::hash_elements(&values);
        let full = run(&values, Form::Affine, Some(hash), true);
        let wit = run(&values, Form::Affine, Some(hash), false);
        assert_eq!(wit.s.assignment, full.s.assignment, "assignment, n = {n}");
        assert_eq!(wit.s.num_constraints, full.s.num_constraints, "n = {n}");
        assert_eq!(wit.hash, hash);
        assert!(
            wit.hash_lc.is_empty(),
            "no linear combination in witness mode"
        );
        assert_eq!(full.constraints, constraints_for(n), "constraints_for({n})");
        assert_eq!(wit.constraints, constraints_for(n), "constraints_for({n})");
        // One variable per element, and one per constraint of the gadget.
        assert_eq!(
            full.s.r1cs.num_witness,
            n + constraints_for(n),
            "variables, n = {n}"
        );

        // Structure mode: placeholder (zero) values, no refusal, and the very same matrices as
        // a synthesis with real values (the structure depends on n alone).
        let mut b = Builder::for_structure(1, true);
        let elements = alloc_elements(&mut b, &vec![Fr::zero(); n], Form::Affine);
        let (lc, _) = hash_elements(&mut b, &elements);
        let p = b.public(0);
        b.enforce_zero(move || {
            let mut lc = lc;
            lc.add_term(p, -Fr::one());
            lc
        });
        let st = b.finish();
        assert_eq!(st.r1cs, full.s.r1cs, "structure-mode matrices, n = {n}");
    }
}

#[test]
fn report_costs() {
    // Constraints per permutation and per element (from the formula, which the test above
    // checks against measured counts) and measured nonzeros per permutation.
    let first = constraints_for(11);
    let later = constraints_for(22) - constraints_for(11);
    eprintln!("poseidon: constraints, one permutation (11 elements, first chunk): {first}");
    eprintln!("poseidon: constraints, each further full chunk of 11 elements: {later}");
    for n in [1usize, 11, 110, 1100, 11000] {
        eprintln!(
            "poseidon: n = {n}: {} constraints, {:.2} per element",
            constraints_for(n),
            constraints_for(n) as f64 / n as f64
        );
    }
    let nnz = |n: usize, form: Form| {
        let r = run(&random_elements(n, 1), form, None, true);
        nonzeros(&r.s.r1cs)
    };
    let (n11, n22) = (nnz(11, Form::Var), nnz(22, Form::Var));
    eprintln!(
        "poseidon: nonzeros (A+B+C), first permutation (11 variables): {n11} ({:.1} per constraint)",
        n11 as f64 / first as f64
    );
    eprintln!(
        "poseidon: nonzeros (A+B+C), each further permutation: {} ({:.1} per constraint)",
        n22 - n11,
        (n22 - n11) as f64 / later as f64
    );
    eprintln!(
        "poseidon: nonzeros, first permutation with elements 3·x + 5: {}; x + 2·y: {}",
        nnz(11, Form::Affine),
        nnz(11, Form::Sum)
    );
    // Where they are: per constraint row, the largest rows.
    let r = run(&random_elements(22, 1), Form::Var, None, true);
    let rows = r.s.r1cs.num_constraints();
    let widest = (0..rows)
        .map(|i| r.s.r1cs.a.row(i).count() + r.s.r1cs.b.row(i).count())
        .max()
        .unwrap();
    eprintln!("poseidon: widest constraint (A+B terms): {widest}");
    // Synthesis time of 100 permutations in each mode (the test profile, not a benchmark).
    let values = random_elements(1100, 3);
    for build in [true, false] {
        let t = std::time::Instant::now();
        let r = run(&values, Form::Var, None, build);
        assert_eq!(r.constraints, constraints_for(1100));
        eprintln!(
            "poseidon: 1100 elements, build_matrices = {build}: {:.1} ms",
            t.elapsed().as_secs_f64() * 1e3
        );
    }
}
