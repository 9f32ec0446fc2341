//! MSM, NTT and sparse matrix–vector backends for zkinfer's Groth16 prover.
//!
//! The prover (`zkinfer-prover`'s `groth16` module) is written against the [`Backend`] trait:
//! the witness map calls [`Backend::spmv_many`] and [`Backend::ntt`], the five MSMs call
//! [`Backend::msm_g1`] / [`Backend::msm_g2`]. Bases and constraint matrices are *prepared* once
//! per proving key ([`Backend::prepare_g1`], [`Backend::prepare_matrix`]); on CUDA that uploads
//! them and keeps them resident on the device, so only scalars travel per proof.
//!
//! Backends:
//! - [`CpuBackend`]: our fixed-base MSM ([`msm`]: precomputation, GLV, batch-affine buckets),
//!   arkworks' radix-2 FFT with rayon, and a parallel CSR product.
//! - `CudaBackend` (feature `cuda`): kernels in `gpu/kernels/*.cu`, compiled by NVRTC at first
//!   use, loaded through cudarc's dynamic loading so the same binary runs without CUDA.
//!
//! [`mirror`] holds plain-Rust copies of the kernels' algorithms (32-bit-limb Montgomery
//! arithmetic, XYZZ point formulas, signed-digit Pippenger with the same sort-by-bucket layout,
//! the NTT's pass/stage order) so that CI, which has no GPU, tests the algorithms themselves.
//!
//! Select a backend at run time with [`backend_from_name`] (`"cpu" | "cuda" | "auto"`) or
//! [`backend_from_env`] (`ZKINFER_BACKEND`).

mod backend;
mod cpu;
mod csr;
mod error;
pub mod mirror;
pub mod msm;
pub mod sample;
mod select;

#[cfg(feature = "cuda")]
pub mod cuda;

pub use backend::{Backend, NttKind, MAX_NTT_LOG_SIZE};
pub use cpu::{CpuBackend, CpuMatrix};
pub use csr::CsrMatrix;
pub use error::GpuError;
pub use select::{
    backend_from_env, backend_from_name, AnyBackend, AnyG1Bases, AnyG2Bases, AnyMatrix, BACKEND_ENV,
};

#[cfg(feature = "cuda")]
pub use cuda::CudaBackend;

/// Re-exported so callers name the same types the trait uses.
pub use ark_bn254::{Fr, G1Affine, G1Projective, G2Affine, G2Projective};
