//! A small R1CS builder that writes constraints straight into sparse (CSR) matrices.
//!
//! Variables are numbered as arkworks numbers them in a full assignment
//! `z = [1, public..., witness...]`, so the matrices and the assignment feed
//! ark-groth16 (`create_proof_with_reduction_and_matrices`) or our own prover unchanged.
//! Public inputs are allocated first (their number is known from the public layout),
//! which is what makes the final numbering available while constraints are written.
//!
//! Constraint closures are only called when matrices are being built: a prover that
//! already holds the matrices synthesises the witness alone, without building a single
//! linear combination for the (dense) matrix rows.

mod lc;
mod replay;

pub use lc::{Lc, Var};
pub use replay::ReplayCircuit;

use ark_bn254::Fr;
use ark_ff::{One, Zero};

/// A sparse matrix in compressed-row form over the BN254 scalar field.
///
/// Row `i` holds the terms `cols[row_ptr[i]..row_ptr[i+1]]` with coefficients
/// `vals[..]` in the same range; a column index is a position in the full assignment.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SparseMatrix {
    pub row_ptr: Vec<usize>,
    pub cols: Vec<u32>,
    pub vals: Vec<Fr>,
}

impl SparseMatrix {
    fn new() -> Self {
        SparseMatrix {
            row_ptr: vec![0],
            cols: Vec::new(),
            vals: Vec::new(),
        }
    }

    fn push_row(&mut self, lc: &Lc) {
        for (v, c) in lc.terms() {
            if !c.is_zero() {
                self.cols.push(v.0);
                self.vals.push(*c);
            }
        }
        self.row_ptr.push(self.cols.len());
    }

    /// Number of rows (constraints).
    pub fn num_rows(&self) -> usize {
        self.row_ptr.len() - 1
    }

    /// Number of stored non-zero terms.
    pub fn nnz(&self) -> usize {
        self.cols.len()
    }

    /// The terms of row `i` as (column, coefficient).
    pub fn row(&self, i: usize) -> impl Iterator<Item = (usize, &Fr)> {
        let r = self.row_ptr[i]..self.row_ptr[i + 1];
        self.cols[r.clone()]
            .iter()
            .map(|&c| c as usize)
            .zip(&self.vals[r])
    }

    /// Row `i` evaluated on the full assignment `z`.
    pub fn eval_row(&self, i: usize, z: &[Fr]) -> Fr {
        self.row(i).map(|(c, v)| z[c] * v).sum()
    }

    /// The matrix in arkworks' row-of-terms form (`ark_relations::utils::matrix::Matrix`).
    pub fn to_ark(&self) -> Vec<Vec<(Fr, usize)>> {
        (0..self.num_rows())
            .map(|i| self.row(i).map(|(c, v)| (*v, c)).collect())
            .collect()
    }
}

/// The constraint system of a circuit: `(A·z) ∘ (B·z) = C·z` for the full assignment z.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct R1cs {
    /// Instance variables including the constant 1 (arkworks' `num_instance_variables`).
    pub num_instance: usize,
    /// Witness (private) variables.
    pub num_witness: usize,
    pub a: SparseMatrix,
    pub b: SparseMatrix,
    pub c: SparseMatrix,
}

impl R1cs {
    /// Number of constraints (rows).
    pub fn num_constraints(&self) -> usize {
        self.a.num_rows()
    }

    /// Total number of variables, the constant 1 included.
    pub fn num_variables(&self) -> usize {
        self.num_instance + self.num_witness
    }

    /// The first constraint that `z` violates, or `None` when `z` satisfies all of them.
    pub fn first_unsatisfied(&self, z: &[Fr]) -> Option<usize> {
        use rayon::prelude::*;
        assert_eq!(z.len(), self.num_variables(), "assignment length");
        (0..self.num_constraints())
            .into_par_iter()
            .find_first(|&i| self.a.eval_row(i, z) * self.b.eval_row(i, z) != self.c.eval_row(i, z))
    }

    /// Whether `z` satisfies every constraint.
    pub fn is_satisfied(&self, z: &[Fr]) -> bool {
        self.first_unsatisfied(z).is_none()
    }
}

/// Writes constraints and the witness of one synthesis.
///
/// `build_matrices = false` records the assignment only: constraint closures are not
/// called at all, so a prover that already holds the matrices pays for the witness alone.
pub struct Builder {
    build_matrices: bool,
    structure_only: bool,
    /// Rows are built (gadgets see `builds_matrices()`) but only their nonzeros are counted.
    count_only: bool,
    nonzeros: usize,
    num_public: usize,
    public: Vec<Fr>,
    witness: Vec<Fr>,
    a: SparseMatrix,
    b: SparseMatrix,
    c: SparseMatrix,
    /// Labels of constraint ranges, for naming the layer of an unsatisfied constraint.
    regions: Vec<(usize, String)>,
}

impl Builder {
    /// A builder whose public inputs are `public` (allocated first, as `Var`s 1..=n).
    pub fn new(public: Vec<Fr>, build_matrices: bool) -> Self {
        Builder {
            build_matrices,
            structure_only: false,
            count_only: false,
            nonzeros: 0,
            num_public: public.len(),
            public,
            witness: Vec::new(),
            a: SparseMatrix::new(),
            b: SparseMatrix::new(),
            c: SparseMatrix::new(),
            regions: Vec::new(),
        }
    }

    /// A builder for the circuit's structure alone: `num_public` public inputs holding zero,
    /// and gadgets that record their constraints without refusing values outside the ranges
    /// they prove (the values are placeholders). What it writes depends on the circuit only,
    /// never on a trace: the matrices of a setup, the counts `compile` prints.
    pub fn for_structure(num_public: usize, build_matrices: bool) -> Self {
        Builder {
            structure_only: true,
            ..Builder::new(vec![Fr::zero(); num_public], build_matrices)
        }
    }

    /// A structure builder that builds every row but keeps only the count of its nonzeros
    /// ([`Synthesis::nonzeros`]): the size of the matrices without their memory.
    pub fn for_counting(num_public: usize) -> Self {
        Builder {
            count_only: true,
            ..Builder::for_structure(num_public, true)
        }
    }

    /// Whether constraint closures are run.
    pub fn builds_matrices(&self) -> bool {
        self.build_matrices
    }

    /// Whether this synthesis records structure only: gadgets then skip their range errors
    /// (a placeholder value outside a range must not stop the matrices from being written).
    pub fn structure_only(&self) -> bool {
        self.structure_only
    }

    /// The `i`-th public input variable.
    pub fn public(&self, i: usize) -> Var {
        assert!(
            i < self.num_public,
            "public input {i} of {}",
            self.num_public
        );
        Var(1 + i as u32)
    }

    /// Allocates a private variable holding `value`.
    pub fn alloc(&mut self, value: Fr) -> Var {
        let idx = 1 + self.num_public + self.witness.len();
        self.witness.push(value);
        Var(u32::try_from(idx).expect("more than 2^32 variables"))
    }

    /// Allocates a private bit (the caller constrains it).
    pub fn alloc_bit(&mut self, bit: bool) -> Var {
        self.alloc(if bit { Fr::one() } else { Fr::zero() })
    }

    /// Enforces `a · b = c`; the closures run only when matrices are built.
    pub fn enforce(
        &mut self,
        a: impl FnOnce() -> Lc,
        b: impl FnOnce() -> Lc,
        c: impl FnOnce() -> Lc,
    ) {
        if self.count_only {
            let nonzero = |lc: Lc| lc.terms().filter(|(_, c)| !c.is_zero()).count();
            self.nonzeros += nonzero(a()) + nonzero(b()) + nonzero(c());
            self.a.row_ptr.push(self.a.cols.len());
        } else if self.build_matrices {
            self.a.push_row(&a());
            self.b.push_row(&b());
            self.c.push_row(&c());
        } else {
            // Keep the row count so region labels and counts stay meaningful.
            self.a.row_ptr.push(self.a.cols.len());
        }
    }

    /// Enforces `lc = 0` as `lc · 1 = 0`.
    pub fn enforce_zero(&mut self, lc: impl FnOnce() -> Lc) {
        self.enforce(lc, || Lc::constant(Fr::one()), Lc::zero);
    }

    /// Number of constraints written so far.
    pub fn num_constraints(&self) -> usize {
        self.a.num_rows()
    }

    /// Number of private variables allocated so far.
    pub fn num_witness(&self) -> usize {
        self.witness.len()
    }

    /// Marks that the constraints from here on belong to `label` (a layer name).
    pub fn begin_region(&mut self, label: impl Into<String>) {
        let at = self.num_constraints();
        self.regions.push((at, label.into()));
    }

    /// The region label that constraint `row` belongs to.
    pub fn region_of(regions: &[(usize, String)], row: usize) -> Option<&str> {
        regions
            .iter()
            .rev()
            .find(|(start, _)| *start <= row)
            .map(|(_, l)| l.as_str())
    }

    /// Finishes: the matrices (empty unless built), the full assignment `[1, public, witness]`
    /// and the region labels.
    pub fn finish(self) -> Synthesis {
        let mut z = Vec::with_capacity(1 + self.public.len() + self.witness.len());
        z.push(Fr::one());
        z.extend_from_slice(&self.public);
        z.extend_from_slice(&self.witness);
        let num_constraints = self.a.num_rows();
        let nonzeros = if self.count_only {
            self.nonzeros
        } else {
            self.a.nnz() + self.b.nnz() + self.c.nnz()
        };
        Synthesis {
            r1cs: R1cs {
                num_instance: 1 + self.num_public,
                num_witness: self.witness.len(),
                a: self.a,
                b: self.b,
                c: self.c,
            },
            assignment: z,
            num_constraints,
            nonzeros,
            regions: self.regions,
        }
    }
}

/// The result of one synthesis.
pub struct Synthesis {
    /// The constraint matrices (rows are empty when matrices were not built).
    pub r1cs: R1cs,
    /// The full assignment `[1, public..., witness...]`.
    pub assignment: Vec<Fr>,
    /// The number of constraints, also when matrices were not built.
    pub num_constraints: usize,
    /// Nonzeros of A, B and C together (counted without the matrices by
    /// [`Builder::for_counting`]; zero when matrices were not built).
    pub nonzeros: usize,
    /// `(first constraint, layer label)` for every region, in order.
    pub regions: Vec<(usize, String)>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builder_numbers_variables_like_arkworks() {
        let mut b = Builder::new(vec![Fr::from(6u64)], true);
        let x = b.alloc(Fr::from(2u64));
        let y = b.alloc(Fr::from(3u64));
        let p = b.public(0);
        b.enforce(|| x.into(), || y.into(), || p.into());
        let s = b.finish();
        assert_eq!((p.0, x.0, y.0), (1, 2, 3));
        assert_eq!(s.r1cs.num_instance, 2);
        assert_eq!(s.r1cs.num_witness, 2);
        assert!(s.r1cs.is_satisfied(&s.assignment));
        let mut bad = s.assignment.clone();
        bad[3] += Fr::one();
        assert_eq!(s.r1cs.first_unsatisfied(&bad), Some(0));
    }

    #[test]
    fn counting_mode_counts_the_nonzeros_matrices_would_hold() {
        let build = |mut b: Builder| {
            let x = b.alloc(Fr::from(2u64));
            let y = b.alloc(Fr::from(3u64));
            let p = b.public(0);
            b.enforce(|| x.into(), || y.into(), || p.into());
            let mut lc = Lc::from(x);
            lc.add_term(y, Fr::zero());
            lc.add_term(p, Fr::from(4u64));
            b.enforce_zero(|| lc);
            b.finish()
        };
        let built = build(Builder::for_structure(1, true));
        let counted = build(Builder::for_counting(1));
        assert_eq!(built.nonzeros, 6);
        assert_eq!(counted.nonzeros, built.nonzeros);
        assert_eq!(counted.num_constraints, 2);
        assert_eq!(counted.r1cs.a.nnz(), 0, "nothing is stored");
    }

    #[test]
    fn witness_only_mode_skips_constraint_closures() {
        let mut b = Builder::new(vec![], false);
        let x = b.alloc(Fr::from(2u64));
        b.enforce(|| panic!("closure must not run"), || x.into(), || x.into());
        let s = b.finish();
        assert_eq!(s.num_constraints, 1);
        assert_eq!(s.assignment.len(), 2);
    }
}
