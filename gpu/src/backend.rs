use ark_bn254::{Fr, G1Affine, G1Projective, G2Affine, G2Projective};

use crate::{CsrMatrix, GpuError};

/// Largest NTT size supported by every backend, as log2 (2^26 elements).
pub const MAX_NTT_LOG_SIZE: u32 = 26;

/// Which transform [`Backend::ntt`] applies to each polynomial of length `n = 2^k`, with `ω` the
/// primitive `n`-th root of unity arkworks' radix-2 domain uses (`Fr::get_root_of_unity(n)`).
///
/// The results equal ark-poly's `Radix2EvaluationDomain` (`fft_in_place`, `ifft_in_place`, and
/// the same on `get_coset(g)`), element for element.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NttKind {
    /// Coefficients → evaluations at `ω^i`.
    Forward,
    /// Evaluations at `ω^i` → coefficients.
    Inverse,
    /// Coefficients → evaluations at `g·ω^i`.
    CosetForward(Fr),
    /// Evaluations at `g·ω^i` → coefficients.
    CosetInverse(Fr),
}

/// The operations zkinfer's Groth16 prover needs, over BN254.
///
/// Guarantees shared by all implementations: results are exact (group elements and field
/// elements, not approximations), so every backend returns the same values for the same
/// inputs and the prover's output does not depend on the backend. Handles returned by
/// `prepare_*` belong to the backend that made them; passing one to another backend is an
/// [`GpuError::InvalidInput`], never undefined behaviour.
pub trait Backend: Send + Sync {
    /// G1 bases prepared for repeated MSMs (on CUDA: resident in device memory).
    type G1Bases: Send + Sync;
    /// G2 bases prepared for repeated MSMs.
    type G2Bases: Send + Sync;
    /// A constraint matrix prepared for repeated products.
    type Matrix: Send + Sync;

    /// Short name: `"cpu"` or `"cuda"`.
    fn name(&self) -> &'static str;

    /// Takes ownership of `bases` (the host copy can then be freed) and prepares them.
    /// Points at infinity are allowed.
    fn prepare_g1(&self, bases: Vec<G1Affine>) -> Result<Self::G1Bases, GpuError>;
    /// As [`Backend::prepare_g1`] for G2.
    fn prepare_g2(&self, bases: Vec<G2Affine>) -> Result<Self::G2Bases, GpuError>;
    /// Prepares a CSR matrix; the matrix must already be valid for the assignments it will be
    /// multiplied with (see [`CsrMatrix::validate`]); the column bound is checked per product.
    fn prepare_matrix(&self, m: &CsrMatrix) -> Result<Self::Matrix, GpuError>;
    /// [`Backend::prepare_matrix`] of a matrix the caller no longer needs: a backend that keeps
    /// matrices in host memory takes it without a copy (a large circuit's matrices are among
    /// the largest buffers of a proof).
    fn prepare_matrix_owned(&self, m: CsrMatrix) -> Result<Self::Matrix, GpuError> {
        self.prepare_matrix(&m)
    }

    /// Number of prepared G1 bases.
    fn g1_len(&self, bases: &Self::G1Bases) -> usize;
    /// Number of prepared G2 bases.
    fn g2_len(&self, bases: &Self::G2Bases) -> usize;

    /// `Σ_i scalars[i] · bases[i]` over the first `scalars.len()` bases.
    /// Errors if there are more scalars than bases.
    fn msm_g1(&self, bases: &Self::G1Bases, scalars: &[Fr]) -> Result<G1Projective, GpuError>;
    /// As [`Backend::msm_g1`] in G2.
    fn msm_g2(&self, bases: &Self::G2Bases, scalars: &[Fr]) -> Result<G2Projective, GpuError>;

    /// For each `k`, `outs[k][i] = Σ_j ms[k][i][j] · z[j]` for every row `i` of `ms[k]`; entries of
    /// `outs[k]` past the matrix's rows are left untouched. Batched so a device backend uploads
    /// `z` once for A, B and C.
    fn spmv_many(
        &self,
        ms: &[&Self::Matrix],
        z: &[Fr],
        outs: &mut [&mut [Fr]],
    ) -> Result<(), GpuError>;

    /// Applies `kind` in place to every polynomial of `polys`; all must have the same
    /// power-of-two length `n ≤ 2^MAX_NTT_LOG_SIZE`.
    fn ntt(&self, polys: &mut [Vec<Fr>], kind: NttKind) -> Result<(), GpuError>;
}

/// Checks the shape contract of [`Backend::ntt`]; returns `log2(n)`, or `None` for an empty batch.
pub(crate) fn check_ntt_batch(polys: &[Vec<Fr>]) -> Result<Option<u32>, GpuError> {
    let Some(first) = polys.first() else {
        return Ok(None);
    };
    let n = first.len();
    if !n.is_power_of_two() {
        return Err(GpuError::invalid(format!(
            "NTT length {n} is not a power of two"
        )));
    }
    let log_n = n.trailing_zeros();
    if log_n > MAX_NTT_LOG_SIZE {
        return Err(GpuError::invalid(format!(
            "NTT length 2^{log_n} exceeds 2^{MAX_NTT_LOG_SIZE}"
        )));
    }
    if polys.iter().any(|p| p.len() != n) {
        return Err(GpuError::invalid("NTT batch polynomials differ in length"));
    }
    Ok(Some(log_n))
}

/// Checks the shape contract of [`Backend::spmv_many`] for one matrix.
pub(crate) fn check_spmv(
    rows: usize,
    max_col: Option<u32>,
    z_len: usize,
    out_len: usize,
) -> Result<(), GpuError> {
    if out_len < rows {
        return Err(GpuError::invalid(format!(
            "spmv output has {out_len} slots for {rows} rows"
        )));
    }
    if let Some(c) = max_col {
        if c as usize >= z_len {
            return Err(GpuError::invalid(format!(
                "matrix column {c} out of range for assignment of length {z_len}"
            )));
        }
    }
    Ok(())
}
