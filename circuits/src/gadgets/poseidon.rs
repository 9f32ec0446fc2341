//! Poseidon in R1CS: the hash of [`zkinfer_verifier::poseidon`] (circomlib's Poseidon over
//! BN254, width 13, in that module's sponge order) over field elements that are linear
//! combinations of the circuit's variables.
//!
//! The permutation mirrors `light_poseidon` (constants and MDS matrix from
//! `light_poseidon::parameters::bn254_x5`): every round adds its round constants, applies the
//! S-box `x^5` (to the whole state in the 4 + 4 full rounds, to state element 0 in the 65
//! partial rounds) and multiplies by the MDS matrix. Round constants and the MDS matrix are
//! linear, so they cost nothing: each S-box is 3 constraints and 3 variables
//! (`x2 = x·x`, `x4 = x2·x2`, `x5 = x4·x`, where `x` is the S-box input as a linear
//! combination), and the state between S-boxes is never allocated.
//!
//! S-boxes of constants are computed, not constrained: the domain tag (state element 0) of
//! every permutation, the length `n` that the first permutation absorbs, and the zero padding
//! of the last chunk enter the first round as constants. The hash of no elements is a constant.
//!
//! Costs (constraints = new variables):
//! - a permutation: `3 · (8·13 + 65) = 507` minus 3 per constant first-round input, so 504 for
//!   a full chunk after the first, 501 for a full first chunk;
//! - [`hash_elements`] of `n ≥ 1` elements in `P = ceil(n / 11)` permutations:
//!   `3 · (157·P + n − 1)` (see [`constraints_for`]), about 45.8 per element for long inputs;
//! - matrix nonzeros (A, B and C together) of a permutation after the first, elements given as
//!   variables: 16,404 (about 32.5 per constraint), of which 9,360 in the 65 partial rounds
//!   (the S-box input of partial round `k` has `13 + k` variables and a constant, and is used
//!   in 3 constraints), 3,159 in the first full round after them (13 inputs of 78 variables and
//!   a constant) and 3,885 in the other full rounds. The first permutation has 16,317 (its
//!   length is a constant). An element given as a longer linear combination adds 3 nonzeros per
//!   extra term (its S-box input is used 3 times).
//!
//! Nonzeros against constraints (the choice made here): the long S-box inputs could be
//! allocated, one constraint `x_lc · 1 = x` each, so that the S-box uses a single variable.
//! Doing it for the 65 partial rounds and the 13 S-boxes after them gives 582 constraints and
//! 8,760 nonzeros per permutation (for the 13 alone: 517 and 14,415). A constraint costs a
//! variable in the proving key's A, B (G1 and G2) and L queries and an H point (MSM work of
//! several hundred field multiplications, and ~400 bytes of key), about 100 nonzeros saved per
//! extra constraint do not pay for that in proving time, and the hash is a small part of a
//! segment (its boundary tensors), at a nonzero density (~33 per constraint) below a linear
//! layer's. So every S-box stays 3 constraints on its input's linear combination and no state
//! is allocated, the layout circomlib's Poseidon template has once circom's optimiser has
//! substituted its linear signals (three multiplications per S-box).
//!
//! Witness-only synthesis (`!b.builds_matrices()`) computes values and allocations only: no
//! linear combination is built, mixed or returned (the returned combination is then empty),
//! and placeholder constraints keep the count identical to the matrix mode.

use std::sync::OnceLock;

use ark_bn254::Fr;
use ark_ff::{Field, One, Zero};
use light_poseidon::parameters::bn254_x5::get_poseidon_parameters;
use zkinfer_verifier::poseidon::{permutations, INPUTS, RATE};

use crate::r1cs::{Builder, Lc, Var};

/// The permutation's state width: the 12 inputs of circomlib's Poseidon plus the domain tag.
const WIDTH: usize = INPUTS + 1;

/// Poseidon hash of `elements` (each: its linear combination and its value) in the sponge order of
/// zkinfer_verifier::poseidon; returns the hash's linear combination and value.
///
/// The combination is empty when the builder does not build matrices (witness-only mode).
pub fn hash_elements(b: &mut Builder, elements: &[(Lc, Fr)]) -> (Lc, Fr) {
    let build = b.builds_matrices();
    if elements.is_empty() {
        // Length 0 and one zero chunk: every input is a constant, and so is the hash.
        let h = zkinfer_verifier::poseidon::hash_elements(&[]);
        return (if build { Lc::constant(h) } else { Lc::zero() }, h);
    }
    let n = elements.len();
    let mut h: Option<(Lc, Fr)> = None;
    for chunk in elements.chunks(RATE) {
        let mut slots: Vec<Slot> = Vec::with_capacity(WIDTH);
        // The domain tag of circomlib's Poseidon (light-poseidon's `new_circom`) is 0.
        slots.push(Slot::Const(Fr::zero()));
        slots.push(match &h {
            None => Slot::Const(Fr::from(n as u64)),
            Some((lc, v)) => Slot::Input(lc, *v),
        });
        slots.extend(chunk.iter().map(|(lc, v)| Slot::Input(lc, *v)));
        slots.resize_with(WIDTH, || Slot::Const(Fr::zero()));
        let out = permutation(b, &slots);
        h = Some(out);
    }
    h.expect("at least one chunk")
}

/// Constraints hash_elements adds for n elements (so the compiler can estimate costs without synthesising).
pub fn constraints_for(n: usize) -> usize {
    if n == 0 {
        return 0;
    }
    let p = params();
    let perms = permutations(n);
    let sboxes = perms * (p.full_rounds * WIDTH + p.partial_rounds);
    // Constant first-round inputs: each permutation's domain tag, the first one's length, and
    // the zero padding of the last chunk.
    let constant_inputs = perms + 1 + (perms * RATE - n);
    3 * (sboxes - constant_inputs)
}

/// A first-round input of one permutation.
enum Slot<'a> {
    /// A constant of the circuit (domain tag, length, padding).
    Const(Fr),
    /// A caller's element or the running hash: its linear combination and value.
    Input(&'a Lc, Fr),
}

/// The parameters, and the linear structure of the rounds after the first (the same for every
/// permutation, so it is worked out once).
struct Params {
    ark: Vec<Fr>,
    mds: Vec<Vec<Fr>>,
    full_rounds: usize,
    partial_rounds: usize,
    /// The input of every S-box after the first round, in order.
    sbox_inputs: Vec<Combo>,
    /// State element 0 after the last round: the hash.
    output: Combo,
}

/// An affine combination of a permutation's *locals*: the first round's S-box outputs
/// (`0..WIDTH`, in state order), then every later S-box output in order.
struct Combo {
    constant: Fr,
    terms: Vec<(usize, Fr)>,
}

/// A local as one permutation knows it: a folded constant or a variable.
#[derive(Clone, Copy)]
enum Local {
    Const(Fr),
    Var(Var),
}

impl Combo {
    /// The combination over this permutation's variables (constant locals folded in).
    fn instantiate(&self, locals: &[Local]) -> Lc {
        let mut constant = self.constant;
        let mut lc = Lc::with_capacity(self.terms.len() + 1);
        for &(k, c) in &self.terms {
            match locals[k] {
                Local::Const(v) => constant += c * v,
                Local::Var(v) => lc.add_term(v, c),
            }
        }
        lc.add_constant(constant);
        lc
    }
}

fn params() -> &'static Params {
    static PARAMS: OnceLock<Params> = OnceLock::new();
    PARAMS.get_or_init(|| {
        let p = get_poseidon_parameters::<Fr>(WIDTH as u8)
            .expect("circomlib defines Poseidon of width 13");
        assert_eq!((p.width, p.alpha), (WIDTH, 5), "x^5 Poseidon of width 13");
        assert_eq!(p.full_rounds % 2, 0);
        assert_eq!(p.ark.len(), (p.full_rounds + p.partial_rounds) * WIDTH);
        assert!(p.mds.len() == WIDTH && p.mds.iter().all(|r| r.len() == WIDTH));
        let (sbox_inputs, output) =
            linear_structure(&p.ark, &p.mds, p.full_rounds, p.partial_rounds);
        Params {
            ark: p.ark,
            mds: p.mds,
            full_rounds: p.full_rounds,
            partial_rounds: p.partial_rounds,
            sbox_inputs,
            output,
        }
    })
}

/// Whether round `r` applies the S-box to the whole state (as light-poseidon orders rounds:
/// half the full rounds, the partial rounds, the other half).
fn is_full_round(r: usize, full_rounds: usize, partial_rounds: usize) -> bool {
    r < full_rounds / 2 || r >= full_rounds / 2 + partial_rounds
}

/// Runs the rounds after the first symbolically, on dense affine combinations of the locals:
/// the input of every later S-box and the final state element 0.
fn linear_structure(
    ark: &[Fr],
    mds: &[Vec<Fr>],
    full_rounds: usize,
    partial_rounds: usize,
) -> (Vec<Combo>, Combo) {
    let locals = full_rounds * WIDTH + partial_rounds;
    let unit = |k: usize| {
        let mut v = vec![Fr::zero(); locals];
        v[k] = Fr::one();
        (Fr::zero(), v)
    };
    let sparse = |(c, v): &(Fr, Vec<Fr>)| Combo {
        constant: *c,
        terms: v
            .iter()
            .enumerate()
            .filter(|(_, x)| !x.is_zero())
            .map(|(k, x)| (k, *x))
            .collect(),
    };
    let apply_mds = |s: &[(Fr, Vec<Fr>)]| -> Vec<(Fr, Vec<Fr>)> {
        mds.iter()
            .map(|row| {
                let mut out = (Fr::zero(), vec![Fr::zero(); locals]);
                for (m, (c, v)) in row.iter().zip(s) {
                    out.0 += *m * c;
                    for (o, x) in out.1.iter_mut().zip(v) {
                        if !x.is_zero() {
                            *o += *m * x;
                        }
                    }
                }
                out
            })
            .collect()
    };
    // After the first round's S-boxes the state is its locals 0..WIDTH.
    let mut s: Vec<(Fr, Vec<Fr>)> = (0..WIDTH).map(unit).collect();
    let mut next = WIDTH;
    let mut inputs = Vec::new();
    for r in 1..full_rounds + partial_rounds {
        let mut state = apply_mds(&s);
        let full = is_full_round(r, full_rounds, partial_rounds);
        for (i, x) in state.iter_mut().enumerate() {
            x.0 += ark[r * WIDTH + i];
            if full || i == 0 {
                inputs.push(sparse(x));
                *x = unit(next);
                next += 1;
            }
        }
        s = state;
    }
    assert_eq!(next, locals);
    let output = sparse(&apply_mds(&s)[0]);
    (inputs, output)
}

/// `x^5`.
fn pow5(x: Fr) -> Fr {
    x.square().square() * x
}

/// One S-box on the value `x` whose linear combination is `x_lc` (`None` in witness-only
/// mode): allocates `x2, x4, x5` and enforces `x·x = x2`, `x2·x2 = x4`, `x4·x = x5`.
fn sbox(b: &mut Builder, x: Fr, x_lc: Option<Lc>) -> (Var, Fr) {
    let x2 = x.square();
    let x4 = x2.square();
    let x5 = x4 * x;
    let (v2, v4, v5) = (b.alloc(x2), b.alloc(x4), b.alloc(x5));
    match x_lc {
        Some(lc) => {
            let (a, bb) = (lc.clone(), lc.clone());
            b.enforce(|| a, || bb, || v2.into());
            b.enforce(|| v2.into(), || v2.into(), || v4.into());
            b.enforce(|| v4.into(), || lc, || v5.into());
        }
        None => {
            for _ in 0..3 {
                b.enforce(Lc::zero, Lc::zero, Lc::zero);
            }
        }
    }
    (v5, x5)
}

/// The state times the MDS matrix.
fn mds_times(mds: &[Vec<Fr>], s: &[Fr; WIDTH]) -> [Fr; WIDTH] {
    let mut out = [Fr::zero(); WIDTH];
    for (o, row) in out.iter_mut().zip(mds) {
        *o = row.iter().zip(s).map(|(m, x)| *m * x).sum();
    }
    out
}

/// One permutation of circomlib's Poseidon on `slots`; returns state element 0 (its linear
/// combination, empty in witness-only mode, and its value).
fn permutation(b: &mut Builder, slots: &[Slot]) -> (Lc, Fr) {
    assert_eq!(slots.len(), WIDTH);
    let p = params();
    let build = b.builds_matrices();
    let mut locals: Vec<Local> = Vec::new();
    if build {
        locals.reserve(p.full_rounds * WIDTH + p.partial_rounds);
    }
    let mut state = [Fr::zero(); WIDTH];

    // The first round (always full): constants are raised to the fifth power here.
    for (i, slot) in slots.iter().enumerate() {
        let c = p.ark[i];
        state[i] = match *slot {
            Slot::Const(v) => {
                let x5 = pow5(v + c);
                if build {
                    locals.push(Local::Const(x5));
                }
                x5
            }
            Slot::Input(lc, v) => {
                // The input plus the round constant, with one constant term.
                let x_lc = build.then(|| {
                    let mut x = Lc::with_capacity(lc.len() + 1);
                    let mut constant = c;
                    for (&v, &k) in lc.terms() {
                        if v == Var::ONE {
                            constant += k;
                        } else {
                            x.add_term(v, k);
                        }
                    }
                    x.add_constant(constant);
                    x
                });
                let (var, x5) = sbox(b, v + c, x_lc);
                if build {
                    locals.push(Local::Var(var));
                }
                x5
            }
        };
    }
    state = mds_times(&p.mds, &state);

    let mut inputs = p.sbox_inputs.iter();
    for r in 1..p.full_rounds + p.partial_rounds {
        let full = is_full_round(r, p.full_rounds, p.partial_rounds);
        for (i, x) in state.iter_mut().enumerate() {
            *x += p.ark[r * WIDTH + i];
            if full || i == 0 {
                let combo = inputs.next().expect("one combination per S-box");
                let x_lc = build.then(|| combo.instantiate(&locals));
                let (var, x5) = sbox(b, *x, x_lc);
                if build {
                    locals.push(Local::Var(var));
                }
                *x = x5;
            }
        }
        state = mds_times(&p.mds, &state);
    }
    let lc = if build {
        p.output.instantiate(&locals)
    } else {
        Lc::zero()
    };
    (lc, state[0])
}
