//! Plain-Rust mirrors of the CUDA kernels' algorithms.
//!
//! Each module here implements, step for step, what one kernel file does — the same limb
//! arithmetic, the same point formulas, the same windows, signed digits, bucket layout,
//! sort-by-bucket, segment sizes and reduction order, the same NTT passes and twiddle indices —
//! using arkworks only for the field/curve types. CI has no GPU, so these are what its tests
//! run; the CUDA backend's host side calls the planning functions defined here directly, so
//! host and device cannot drift apart.
//!
//! - [`limbs`]: 8 × 32-bit Montgomery arithmetic (`kernels/field.cuh`).
//! - [`xyzz`]: XYZZ point formulas for `a = 0` curves (`kernels/curve.cuh`).
//! - [`msm`]: signed-digit Pippenger with sort-by-bucket (`kernels/msm.cu`).
//! - [`ntt`]: bit-reversal + DIT passes of up to `r_max` stages (`kernels/ntt.cu`).

mod backend;
pub mod limbs;
pub mod msm;
pub mod ntt;
pub mod xyzz;

pub use backend::MirrorBackend;
