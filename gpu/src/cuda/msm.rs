//! MSM on the device (`kernels/msm.cu`). The host side plans exactly as the mirror does — it
//! calls `mirror::msm`'s window, scan, level and reduction functions — and launches one kernel
//! per step.

use ark_bn254::{g1, g2, Fq2, Fr, G1Affine, G2Affine};
use ark_ec::short_weierstrass::{Projective, SWCurveConfig};
use ark_ec::AffineRepr;
use ark_ff::Zero;
use cudarc::driver::{CudaSlice, PushKernelArg};
use rayon::prelude::*;

use super::{cuda_err, fq_from_words, fr_words, grid, len_u32, CudaBackend, BLOCK};
use crate::mirror::limbs::to_limbs;
use crate::mirror::msm::{
    combine_windows, exclusive_scan, num_windows, plan_level, reduce_segments, window_bits,
};
use crate::mirror::xyzz::{to_projective, Xyzz};
use crate::GpuError;

/// G1 bases resident on the device (`(x, y)`, 16 words each).
pub struct CudaG1Bases {
    pub(crate) words: CudaSlice<u32>,
    pub(crate) len: usize,
}

/// G2 bases resident on the device (`(x.c0, x.c1, y.c0, y.c1)`, 32 words each).
pub struct CudaG2Bases {
    pub(crate) words: CudaSlice<u32>,
    pub(crate) len: usize,
}

/// What the host needs to know about a curve's device layout.
pub(crate) trait DevCurve {
    type Config: SWCurveConfig<ScalarField = Fr>;
    /// Words of one coordinate field element.
    const W: usize;
    const ACCUMULATE: &'static str;
    const REDUCE: &'static str;
    const DENSE: &'static str;
    const WINDOW_REDUCE: &'static str;
    fn coord(w: &[u32]) -> <Self::Config as ark_ec::CurveConfig>::BaseField;
}

pub(crate) struct DevG1;
pub(crate) struct DevG2;

impl DevCurve for DevG1 {
    type Config = g1::Config;
    const W: usize = 8;
    const ACCUMULATE: &'static str = "msm_accumulate_g1";
    const REDUCE: &'static str = "msm_reduce_g1";
    const DENSE: &'static str = "msm_dense_g1";
    const WINDOW_REDUCE: &'static str = "msm_window_reduce_g1";
    fn coord(w: &[u32]) -> ark_bn254::Fq {
        fq_from_words(w)
    }
}

impl DevCurve for DevG2 {
    type Config = g2::Config;
    const W: usize = 16;
    const ACCUMULATE: &'static str = "msm_accumulate_g2";
    const REDUCE: &'static str = "msm_reduce_g2";
    const DENSE: &'static str = "msm_dense_g2";
    const WINDOW_REDUCE: &'static str = "msm_window_reduce_g2";
    fn coord(w: &[u32]) -> Fq2 {
        Fq2::new(fq_from_words(&w[..8]), fq_from_words(&w[8..]))
    }
}

/// Threads per block for the point kernels (large register footprint, so fewer than BLOCK).
const POINT_BLOCK: u32 = 128;

impl CudaBackend {
    pub(crate) fn prepare_g1_impl(&self, bases: Vec<G1Affine>) -> Result<CudaG1Bases, GpuError> {
        let words: Vec<u32> = bases
            .par_iter()
            .flat_map_iter(|p| {
                let mut w = [0u32; 16];
                if !p.is_zero() {
                    w[..8].copy_from_slice(&to_limbs(&p.x.0));
                    w[8..].copy_from_slice(&to_limbs(&p.y.0));
                }
                w
            })
            .collect();
        Ok(CudaG1Bases {
            len: bases.len(),
            words: self.upload(&words, "upload G1 bases")?,
        })
    }

    pub(crate) fn prepare_g2_impl(&self, bases: Vec<G2Affine>) -> Result<CudaG2Bases, GpuError> {
        let words: Vec<u32> = bases
            .par_iter()
            .flat_map_iter(|p| {
                let mut w = [0u32; 32];
                if !p.is_zero() {
                    w[..8].copy_from_slice(&to_limbs(&p.x.c0.0));
                    w[8..16].copy_from_slice(&to_limbs(&p.x.c1.0));
                    w[16..24].copy_from_slice(&to_limbs(&p.y.c0.0));
                    w[24..].copy_from_slice(&to_limbs(&p.y.c1.0));
                }
                w
            })
            .collect();
        Ok(CudaG2Bases {
            len: bases.len(),
            words: self.upload(&words, "upload G2 bases")?,
        })
    }

    /// The mirror's algorithm (see `mirror::msm`), one launch per step.
    pub(crate) fn msm_impl<C: DevCurve>(
        &self,
        bases: &CudaSlice<u32>,
        scalars: &[Fr],
    ) -> Result<Projective<C::Config>, GpuError> {
        let n = scalars.len();
        if n == 0 {
            return Ok(Projective::zero());
        }
        let n32 = len_u32(n, "MSM length")?;
        let c = window_bits(n);
        let nw = num_windows(c);
        let keys = (nw << (c - 1)) as usize;
        let keys32 = keys as u32;
        let xw = 4 * C::W; // words of one XYZZ point

        // 1. digits and bucket counts
        let d_scalars = self.upload(&fr_words(scalars), "upload scalars")?;
        let mut counts = self.zeros_u32(keys)?;
        let mut kstd = self.alloc_u32(8 * n)?;
        {
            let mut b = self
                .stream
                .launch_builder(self.kernels.get("msm_digits_count"));
            b.arg(&d_scalars)
                .arg(&n32)
                .arg(&c)
                .arg(&nw)
                .arg(&mut counts)
                .arg(&mut kstd);
            // SAFETY: buffers sized n scalars / keys counters as the kernel indexes them.
            unsafe { b.launch(grid(n, BLOCK)) }.map_err(cuda_err("launch msm_digits_count"))?;
        }
        drop(d_scalars);
        let counts_h = self
            .stream
            .clone_dtoh(&counts)
            .map_err(cuda_err("download bucket counts"))?;
        let counts_h = &counts_h[..keys];

        // 2. bucket offsets (host scan), 3. scatter into bucket order
        let offsets = exclusive_scan(counts_h);
        let total = offsets[keys] as usize;
        if total == 0 {
            return Ok(Projective::zero());
        }
        let d_offsets = self.upload(&offsets, "upload bucket offsets")?;
        let mut cursor = self.upload(&offsets[..keys], "upload bucket cursor")?;
        let mut entries = self.alloc_u32(total)?;
        {
            let mut b = self.stream.launch_builder(self.kernels.get("msm_scatter"));
            b.arg(&kstd)
                .arg(&n32)
                .arg(&c)
                .arg(&nw)
                .arg(&mut cursor)
                .arg(&mut entries);
            // SAFETY: cursor[key] + count[key] <= total for every key by construction.
            unsafe { b.launch(grid(n, BLOCK)) }.map_err(cuda_err("launch msm_scatter"))?;
        }
        drop(kstd);

        // 4. accumulation levels
        let (mut lens, offs) = plan_level(counts_h);
        let mut d_cur = self.upload(&offs, "upload level offsets")?;
        let slots = offs[keys] as usize;
        let mut partials = self.alloc_u32(slots * xw)?;
        {
            let slots32 = slots as u32;
            let mut b = self.stream.launch_builder(self.kernels.get(C::ACCUMULATE));
            b.arg(bases)
                .arg(&entries)
                .arg(&d_offsets)
                .arg(&d_cur)
                .arg(&keys32)
                .arg(&slots32)
                .arg(&mut partials);
            // SAFETY: every entry indexes a base < n <= bases.len (checked by the caller).
            unsafe { b.launch(grid(slots, POINT_BLOCK)) }
                .map_err(cuda_err("launch msm_accumulate"))?;
        }
        drop(entries);
        while lens.iter().any(|&l| l > 1) {
            let (next_lens, next_offs) = plan_level(&lens);
            let d_next = self.upload(&next_offs, "upload level offsets")?;
            let slots = next_offs[keys] as usize;
            let mut next = self.alloc_u32(slots * xw)?;
            let slots32 = slots as u32;
            let mut b = self.stream.launch_builder(self.kernels.get(C::REDUCE));
            b.arg(&partials)
                .arg(&d_cur)
                .arg(&d_next)
                .arg(&keys32)
                .arg(&slots32)
                .arg(&mut next);
            // SAFETY: offsets describe the partial arrays exactly (plan_level).
            unsafe { b.launch(grid(slots, POINT_BLOCK)) }.map_err(cuda_err("launch msm_reduce"))?;
            partials = next;
            d_cur = d_next;
            lens = next_lens;
        }

        // 5. one point per bucket, 6. window reduction
        let mut dense = self.alloc_u32(keys * xw)?;
        {
            let mut b = self.stream.launch_builder(self.kernels.get(C::DENSE));
            b.arg(&partials).arg(&d_cur).arg(&keys32).arg(&mut dense);
            // SAFETY: as above.
            unsafe { b.launch(grid(keys, POINT_BLOCK)) }.map_err(cuda_err("launch msm_dense"))?;
        }
        let (segs, run) = reduce_segments(c);
        let runs_n = (nw * segs) as usize;
        let mut runs = self.alloc_u32(runs_n * xw)?;
        {
            let mut b = self
                .stream
                .launch_builder(self.kernels.get(C::WINDOW_REDUCE));
            b.arg(&dense)
                .arg(&c)
                .arg(&nw)
                .arg(&segs)
                .arg(&run)
                .arg(&mut runs);
            // SAFETY: dense has keys = nw * 2^(c-1) points.
            unsafe { b.launch(grid(runs_n, POINT_BLOCK)) }
                .map_err(cuda_err("launch msm_window_reduce"))?;
        }
        let runs_h = self
            .stream
            .clone_dtoh(&runs)
            .map_err(cuda_err("download window sums"))?;

        // 7. host: runs → points, per-window sums, Horner
        let w = C::W;
        let points: Vec<Projective<C::Config>> = runs_h[..runs_n * xw]
            .par_chunks(xw)
            .map(|p| {
                let x = Xyzz {
                    x: C::coord(&p[..w]),
                    y: C::coord(&p[w..2 * w]),
                    zz: C::coord(&p[2 * w..3 * w]),
                    zzz: C::coord(&p[3 * w..]),
                };
                to_projective::<C::Config>(&x)
            })
            .collect();
        Ok(combine_windows(&points, c))
    }
}
