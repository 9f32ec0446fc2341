use ark_bn254::Fr;
use ark_ff::{One, Zero};
use rayon::prelude::*;

use crate::GpuError;

/// A sparse matrix over the BN254 scalar field in compressed-sparse-row form.
///
/// For zkinfer's constraint matrices a row is a constraint and a column is an index into the
/// full assignment `z = [1, public..., witness...]` (ark-relations' order). Row `i` holds the
/// entries `row_ptr[i]..row_ptr[i + 1]` of `cols`/`vals`; `row_ptr.len() == rows + 1`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CsrMatrix {
    /// `row_ptr[i]..row_ptr[i+1]` are row `i`'s entries; starts at 0, non-decreasing.
    pub row_ptr: Vec<usize>,
    /// Column (variable) index of each entry.
    pub cols: Vec<u32>,
    /// Coefficient of each entry.
    pub vals: Vec<Fr>,
}

impl CsrMatrix {
    /// An empty matrix with `rows` rows and no entries.
    pub fn zero(rows: usize) -> Self {
        CsrMatrix {
            row_ptr: vec![0; rows + 1],
            cols: Vec::new(),
            vals: Vec::new(),
        }
    }

    /// Builds a matrix from per-row `(coefficient, column)` lists — ark-relations' `Matrix<Fr>`
    /// layout — keeping the entries in order.
    pub fn from_rows(rows: &[Vec<(Fr, usize)>]) -> Self {
        let nnz = rows.iter().map(Vec::len).sum();
        let mut m = CsrMatrix {
            row_ptr: Vec::with_capacity(rows.len() + 1),
            cols: Vec::with_capacity(nnz),
            vals: Vec::with_capacity(nnz),
        };
        m.row_ptr.push(0);
        for row in rows {
            for &(v, c) in row {
                m.cols.push(c as u32);
                m.vals.push(v);
            }
            m.row_ptr.push(m.cols.len());
        }
        m
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.row_ptr.len().saturating_sub(1)
    }

    /// Number of stored entries.
    pub fn nnz(&self) -> usize {
        self.cols.len()
    }

    /// Row `i` as `(column, coefficient)` pairs.
    pub fn row(&self, i: usize) -> impl Iterator<Item = (usize, &Fr)> + '_ {
        let (s, e) = (self.row_ptr[i], self.row_ptr[i + 1]);
        self.cols[s..e]
            .iter()
            .map(|&c| c as usize)
            .zip(&self.vals[s..e])
    }

    /// Checks the CSR invariants and that every column is `< num_cols`.
    /// Guarantees, on `Ok`, that [`CsrMatrix::spmv_into`] cannot index out of bounds for a
    /// vector of length `num_cols`.
    pub fn validate(&self, num_cols: usize) -> Result<(), GpuError> {
        if self.row_ptr.first() != Some(&0) {
            return Err(GpuError::invalid("CSR row_ptr must start with 0"));
        }
        if self.row_ptr.windows(2).any(|w| w[0] > w[1]) {
            return Err(GpuError::invalid("CSR row_ptr must be non-decreasing"));
        }
        if *self.row_ptr.last().unwrap() != self.cols.len() || self.cols.len() != self.vals.len() {
            return Err(GpuError::invalid(
                "CSR row_ptr end, cols and vals lengths disagree",
            ));
        }
        if let Some(&c) = self.cols.iter().find(|&&c| c as usize >= num_cols) {
            return Err(GpuError::invalid(format!(
                "CSR column {c} out of range (num_cols = {num_cols})"
            )));
        }
        Ok(())
    }

    /// `out[i] = Σ_j M[i][j] · z[j]` for every row, in parallel over rows.
    /// A coefficient of one skips the multiplication, as ark-groth16 does.
    ///
    /// Panics if `out.len() < rows` or a column is out of range (see [`CsrMatrix::validate`]).
    pub fn spmv_into(&self, z: &[Fr], out: &mut [Fr]) {
        let rows = self.rows();
        out[..rows]
            .par_iter_mut()
            .with_min_len(1024)
            .enumerate()
            .for_each(|(i, o)| {
                let mut acc = Fr::zero();
                for (c, v) in self.row(i) {
                    if v.is_one() {
                        acc += z[c];
                    } else {
                        acc += z[c] * v;
                    }
                }
                *o = acc;
            });
    }
}
