//! Run-time backend selection.

use ark_bn254::{Fr, G1Affine, G1Projective, G2Affine, G2Projective};

use crate::cpu::CpuMatrix;
use crate::{Backend, CpuBackend, CsrMatrix, GpuError, NttKind};

#[cfg(feature = "cuda")]
use crate::cuda::{CudaBackend, CudaG1Bases, CudaG2Bases, CudaMatrix};

/// Environment variable read by [`backend_from_env`]: `cpu`, `cuda` or `auto`.
pub const BACKEND_ENV: &str = "ZKINFER_BACKEND";

/// A backend chosen at run time. Implements [`Backend`] by forwarding to the variant.
pub enum AnyBackend {
    /// [`CpuBackend`].
    Cpu(CpuBackend),
    /// `CudaBackend` (feature `cuda`).
    #[cfg(feature = "cuda")]
    Cuda(CudaBackend),
}

/// Selects a backend by name.
///
/// - `"cpu"`: always succeeds.
/// - `"cuda"`: the CUDA backend on device 0, or [`GpuError::Unavailable`] saying why not (built
///   without the `cuda` feature, no driver, no device, no NVRTC, kernel compile failure).
/// - `"auto"`: CUDA when it can be used, otherwise the CPU backend, silently.
pub fn backend_from_name(name: &str) -> Result<AnyBackend, GpuError> {
    match name.trim().to_ascii_lowercase().as_str() {
        "cpu" => Ok(AnyBackend::Cpu(CpuBackend)),
        "cuda" => cuda_backend(),
        "auto" => Ok(cuda_backend().unwrap_or(AnyBackend::Cpu(CpuBackend))),
        _ => Err(GpuError::UnknownBackend(name.to_string())),
    }
}

/// [`backend_from_name`] on `$ZKINFER_BACKEND`, or on `default` when the variable is unset or empty.
pub fn backend_from_env(default: &str) -> Result<AnyBackend, GpuError> {
    match std::env::var(BACKEND_ENV) {
        Ok(v) if !v.trim().is_empty() => backend_from_name(&v),
        _ => backend_from_name(default),
    }
}

#[cfg(feature = "cuda")]
fn cuda_backend() -> Result<AnyBackend, GpuError> {
    CudaBackend::new(0).map(AnyBackend::Cuda)
}

#[cfg(not(feature = "cuda"))]
fn cuda_backend() -> Result<AnyBackend, GpuError> {
    Err(GpuError::Unavailable(
        "this binary was built without the `cuda` feature of zkinfer-gpu".into(),
    ))
}

/// G1 bases prepared by an [`AnyBackend`].
// One value per prepared key, never held in bulk: the size difference between the variants
// (the CPU tables' header against a device handle) costs nothing worth a box.
#[allow(clippy::large_enum_variant)]
pub enum AnyG1Bases {
    /// Prepared by the CPU backend.
    Cpu(<CpuBackend as Backend>::G1Bases),
    /// Prepared by the CUDA backend.
    #[cfg(feature = "cuda")]
    Cuda(CudaG1Bases),
}

/// G2 bases prepared by an [`AnyBackend`].
// One value per prepared key, never held in bulk: the size difference between the variants
// (the CPU tables' header against a device handle) costs nothing worth a box.
#[allow(clippy::large_enum_variant)]
pub enum AnyG2Bases {
    /// Prepared by the CPU backend.
    Cpu(<CpuBackend as Backend>::G2Bases),
    /// Prepared by the CUDA backend.
    #[cfg(feature = "cuda")]
    Cuda(CudaG2Bases),
}

/// A matrix prepared by an [`AnyBackend`].
pub enum AnyMatrix {
    /// Prepared by the CPU backend.
    Cpu(CpuMatrix),
    /// Prepared by the CUDA backend.
    #[cfg(feature = "cuda")]
    Cuda(CudaMatrix),
}

fn foreign() -> GpuError {
    GpuError::invalid("handle was prepared by a different backend")
}

impl Backend for AnyBackend {
    type G1Bases = AnyG1Bases;
    type G2Bases = AnyG2Bases;
    type Matrix = AnyMatrix;

    fn name(&self) -> &'static str {
        match self {
            AnyBackend::Cpu(b) => b.name(),
            #[cfg(feature = "cuda")]
            AnyBackend::Cuda(b) => b.name(),
        }
    }

    fn prepare_g1(&self, bases: Vec<G1Affine>) -> Result<AnyG1Bases, GpuError> {
        match self {
            AnyBackend::Cpu(b) => b.prepare_g1(bases).map(AnyG1Bases::Cpu),
            #[cfg(feature = "cuda")]
            AnyBackend::Cuda(b) => b.prepare_g1(bases).map(AnyG1Bases::Cuda),
        }
    }

    fn prepare_g2(&self, bases: Vec<G2Affine>) -> Result<AnyG2Bases, GpuError> {
        match self {
            AnyBackend::Cpu(b) => b.prepare_g2(bases).map(AnyG2Bases::Cpu),
            #[cfg(feature = "cuda")]
            AnyBackend::Cuda(b) => b.prepare_g2(bases).map(AnyG2Bases::Cuda),
        }
    }

    fn prepare_matrix(&self, m: &CsrMatrix) -> Result<AnyMatrix, GpuError> {
        match self {
            AnyBackend::Cpu(b) => b.prepare_matrix(m).map(AnyMatrix::Cpu),
            #[cfg(feature = "cuda")]
            AnyBackend::Cuda(b) => b.prepare_matrix(m).map(AnyMatrix::Cuda),
        }
    }

    fn prepare_matrix_owned(&self, m: CsrMatrix) -> Result<AnyMatrix, GpuError> {
        match self {
            AnyBackend::Cpu(b) => b.prepare_matrix_owned(m).map(AnyMatrix::Cpu),
            #[cfg(feature = "cuda")]
            AnyBackend::Cuda(b) => b.prepare_matrix(&m).map(AnyMatrix::Cuda),
        }
    }

    fn g1_len(&self, bases: &AnyG1Bases) -> usize {
        match (self, bases) {
            (AnyBackend::Cpu(b), AnyG1Bases::Cpu(x)) => b.g1_len(x),
            #[cfg(feature = "cuda")]
            (AnyBackend::Cuda(b), AnyG1Bases::Cuda(x)) => b.g1_len(x),
            #[allow(unreachable_patterns)]
            _ => 0,
        }
    }

    fn g2_len(&self, bases: &AnyG2Bases) -> usize {
        match (self, bases) {
            (AnyBackend::Cpu(b), AnyG2Bases::Cpu(x)) => b.g2_len(x),
            #[cfg(feature = "cuda")]
            (AnyBackend::Cuda(b), AnyG2Bases::Cuda(x)) => b.g2_len(x),
            #[allow(unreachable_patterns)]
            _ => 0,
        }
    }

    fn msm_g1(&self, bases: &AnyG1Bases, scalars: &[Fr]) -> Result<G1Projective, GpuError> {
        match (self, bases) {
            (AnyBackend::Cpu(b), AnyG1Bases::Cpu(x)) => b.msm_g1(x, scalars),
            #[cfg(feature = "cuda")]
            (AnyBackend::Cuda(b), AnyG1Bases::Cuda(x)) => b.msm_g1(x, scalars),
            #[allow(unreachable_patterns)]
            _ => Err(foreign()),
        }
    }

    fn msm_g2(&self, bases: &AnyG2Bases, scalars: &[Fr]) -> Result<G2Projective, GpuError> {
        match (self, bases) {
            (AnyBackend::Cpu(b), AnyG2Bases::Cpu(x)) => b.msm_g2(x, scalars),
            #[cfg(feature = "cuda")]
            (AnyBackend::Cuda(b), AnyG2Bases::Cuda(x)) => b.msm_g2(x, scalars),
            #[allow(unreachable_patterns)]
            _ => Err(foreign()),
        }
    }

    fn spmv_many(
        &self,
        ms: &[&AnyMatrix],
        z: &[Fr],
        outs: &mut [&mut [Fr]],
    ) -> Result<(), GpuError> {
        match self {
            AnyBackend::Cpu(b) => {
                let inner = ms
                    .iter()
                    .map(|m| match m {
                        AnyMatrix::Cpu(m) => Ok(m),
                        #[allow(unreachable_patterns)]
                        _ => Err(foreign()),
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                b.spmv_many(&inner, z, outs)
            }
            #[cfg(feature = "cuda")]
            AnyBackend::Cuda(b) => {
                let inner = ms
                    .iter()
                    .map(|m| match m {
                        AnyMatrix::Cuda(m) => Ok(m),
                        _ => Err(foreign()),
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                b.spmv_many(&inner, z, outs)
            }
        }
    }

    fn ntt(&self, polys: &mut [Vec<Fr>], kind: NttKind) -> Result<(), GpuError> {
        match self {
            AnyBackend::Cpu(b) => b.ntt(polys, kind),
            #[cfg(feature = "cuda")]
            AnyBackend::Cuda(b) => b.ntt(polys, kind),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selection_by_name() {
        assert_eq!(backend_from_name("cpu").unwrap().name(), "cpu");
        assert_eq!(backend_from_name(" CPU ").unwrap().name(), "cpu");
        assert!(matches!(
            backend_from_name("gpu"),
            Err(GpuError::UnknownBackend(_))
        ));
        let auto = backend_from_name("auto").unwrap();
        match backend_from_name("cuda") {
            // Without a device (or without the feature) `cuda` says why and `auto` is the CPU.
            Err(e) => {
                assert!(matches!(e, GpuError::Unavailable(_)), "{e}");
                assert_eq!(auto.name(), "cpu");
            }
            Ok(b) => {
                assert_eq!(b.name(), "cuda");
                assert_eq!(auto.name(), "cuda");
            }
        }
    }
}
