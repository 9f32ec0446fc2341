//! A [`Backend`] that runs the mirrors, so a whole proof can be made with exactly the kernels'
//! algorithms on the CPU (slowly) and compared with arkworks'.

use ark_bn254::{g1, g2, Fr, G1Affine, G1Projective, G2Affine, G2Projective};

use crate::backend::check_ntt_batch;
use crate::cpu::{check_msm_len, CpuMatrix};
use crate::{Backend, CpuBackend, CsrMatrix, GpuError, NttKind};

/// The mirror algorithms behind the [`Backend`] trait: MSMs by [`super::msm::msm`], NTTs by
/// [`super::ntt::ntt`] with `r_max` stages per pass, sparse products as the CSR kernel does them
/// (one row per thread, skipping multiplications by one). For tests; not fast.
#[derive(Clone, Copy, Debug)]
pub struct MirrorBackend {
    /// Stages per NTT pass.
    pub r_max: u32,
    /// Window size override (default: [`super::msm::window_bits`]).
    pub window_bits: Option<u32>,
}

impl Default for MirrorBackend {
    fn default() -> Self {
        MirrorBackend {
            r_max: super::ntt::R_MAX_LARGE,
            window_bits: None,
        }
    }
}

impl Backend for MirrorBackend {
    type G1Bases = Vec<G1Affine>;
    type G2Bases = Vec<G2Affine>;
    type Matrix = CpuMatrix;

    fn name(&self) -> &'static str {
        "mirror"
    }
    fn prepare_g1(&self, bases: Vec<G1Affine>) -> Result<Self::G1Bases, GpuError> {
        Ok(bases)
    }
    fn prepare_g2(&self, bases: Vec<G2Affine>) -> Result<Self::G2Bases, GpuError> {
        Ok(bases)
    }
    fn prepare_matrix(&self, m: &CsrMatrix) -> Result<Self::Matrix, GpuError> {
        CpuBackend.prepare_matrix(m)
    }
    fn g1_len(&self, bases: &Self::G1Bases) -> usize {
        bases.len()
    }
    fn g2_len(&self, bases: &Self::G2Bases) -> usize {
        bases.len()
    }
    fn msm_g1(&self, bases: &Self::G1Bases, scalars: &[Fr]) -> Result<G1Projective, GpuError> {
        check_msm_len(bases.len(), scalars.len())?;
        Ok(super::msm::msm::<g1::Config>(bases, scalars, self.window_bits).0)
    }
    fn msm_g2(&self, bases: &Self::G2Bases, scalars: &[Fr]) -> Result<G2Projective, GpuError> {
        check_msm_len(bases.len(), scalars.len())?;
        Ok(super::msm::msm::<g2::Config>(bases, scalars, self.window_bits).0)
    }
    fn spmv_many(
        &self,
        ms: &[&Self::Matrix],
        z: &[Fr],
        outs: &mut [&mut [Fr]],
    ) -> Result<(), GpuError> {
        CpuBackend.spmv_many(ms, z, outs)
    }
    fn ntt(&self, polys: &mut [Vec<Fr>], kind: NttKind) -> Result<(), GpuError> {
        if check_ntt_batch(polys)?.is_none() {
            return Ok(());
        }
        if let NttKind::CosetForward(g) | NttKind::CosetInverse(g) = kind {
            if g == Fr::from(0u64) {
                return Err(GpuError::invalid("coset offset must be non-zero"));
            }
        }
        for p in polys.iter_mut() {
            super::ntt::ntt(p, kind, self.r_max);
        }
        Ok(())
    }
}
