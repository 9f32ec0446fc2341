use ark_bn254::{g1, g2, Fr, G1Affine, G1Projective, G2Affine, G2Projective};
use ark_poly::{EvaluationDomain, Radix2EvaluationDomain};

use crate::backend::{check_ntt_batch, check_spmv};
use crate::msm::PreparedBases;
use crate::{Backend, CsrMatrix, GpuError, NttKind};

/// The CPU backend: our fixed-base MSM ([`crate::msm`]: precomputed window multiples within
/// the memory cap of [`crate::msm::set_precompute_factor_cap`], GLV, batch-affine buckets) and
/// arkworks' radix-2 FFT, parallel through rayon; CSR products are parallel over rows.
#[derive(Clone, Copy, Debug, Default)]
pub struct CpuBackend;

/// A CSR matrix kept as is, with its largest column cached for the bound check.
#[derive(Debug)]
pub struct CpuMatrix {
    m: CsrMatrix,
    max_col: Option<u32>,
}

impl Backend for CpuBackend {
    type G1Bases = PreparedBases<g1::Config>;
    type G2Bases = PreparedBases<g2::Config>;
    type Matrix = CpuMatrix;

    fn name(&self) -> &'static str {
        "cpu"
    }

    fn prepare_g1(&self, bases: Vec<G1Affine>) -> Result<Self::G1Bases, GpuError> {
        Ok(PreparedBases::new(bases))
    }

    fn prepare_g2(&self, bases: Vec<G2Affine>) -> Result<Self::G2Bases, GpuError> {
        Ok(PreparedBases::new(bases))
    }

    fn prepare_matrix(&self, m: &CsrMatrix) -> Result<Self::Matrix, GpuError> {
        self.prepare_matrix_owned(m.clone())
    }

    fn prepare_matrix_owned(&self, m: CsrMatrix) -> Result<Self::Matrix, GpuError> {
        m.validate(usize::MAX)?;
        Ok(CpuMatrix {
            max_col: m.cols.iter().copied().max(),
            m,
        })
    }

    fn g1_len(&self, bases: &Self::G1Bases) -> usize {
        bases.len()
    }

    fn g2_len(&self, bases: &Self::G2Bases) -> usize {
        bases.len()
    }

    fn msm_g1(&self, bases: &Self::G1Bases, scalars: &[Fr]) -> Result<G1Projective, GpuError> {
        check_msm_len(bases.len(), scalars.len())?;
        if arkworks_msm() {
            return Ok(ark_ec::VariableBaseMSM::msm_unchecked(
                &bases.bases()[..scalars.len()],
                scalars,
            ));
        }
        Ok(bases.msm(scalars))
    }

    fn msm_g2(&self, bases: &Self::G2Bases, scalars: &[Fr]) -> Result<G2Projective, GpuError> {
        check_msm_len(bases.len(), scalars.len())?;
        if arkworks_msm() {
            return Ok(ark_ec::VariableBaseMSM::msm_unchecked(
                &bases.bases()[..scalars.len()],
                scalars,
            ));
        }
        Ok(bases.msm(scalars))
    }

    fn spmv_many(
        &self,
        ms: &[&Self::Matrix],
        z: &[Fr],
        outs: &mut [&mut [Fr]],
    ) -> Result<(), GpuError> {
        if ms.len() != outs.len() {
            return Err(GpuError::invalid(
                "spmv_many: matrices and outputs differ in number",
            ));
        }
        for (m, out) in ms.iter().zip(outs.iter_mut()) {
            check_spmv(m.m.rows(), m.max_col, z.len(), out.len())?;
            m.m.spmv_into(z, out);
        }
        Ok(())
    }

    fn ntt(&self, polys: &mut [Vec<Fr>], kind: NttKind) -> Result<(), GpuError> {
        let Some(log_n) = check_ntt_batch(polys)? else {
            return Ok(());
        };
        let domain = Radix2EvaluationDomain::<Fr>::new(1 << log_n)
            .ok_or_else(|| GpuError::invalid("no radix-2 domain of this size"))?;
        let domain = match kind {
            NttKind::Forward | NttKind::Inverse => domain,
            NttKind::CosetForward(g) | NttKind::CosetInverse(g) => domain
                .get_coset(g)
                .ok_or_else(|| GpuError::invalid("coset offset must be non-zero"))?,
        };
        for p in polys.iter_mut() {
            match kind {
                NttKind::Forward | NttKind::CosetForward(_) => domain.fft_in_place(p),
                NttKind::Inverse | NttKind::CosetInverse(_) => domain.ifft_in_place(p),
            }
        }
        Ok(())
    }
}

/// `ZKINFER_CPU_MSM=arkworks` runs arkworks' `VariableBaseMSM` instead of ours (a baseline
/// for before/after measurements of the same binary; it copies the bases on every call).
fn arkworks_msm() -> bool {
    static ARK: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *ARK.get_or_init(|| std::env::var("ZKINFER_CPU_MSM").is_ok_and(|v| v == "arkworks"))
}

pub(crate) fn check_msm_len(bases: usize, scalars: usize) -> Result<(), GpuError> {
    if scalars > bases {
        return Err(GpuError::invalid(format!(
            "MSM with {scalars} scalars but only {bases} bases"
        )));
    }
    Ok(())
}
