//! NTTs on the device (`kernels/ntt.cu`), planned by `mirror::ntt`.

use std::sync::Arc;

use ark_bn254::Fr;
use ark_ff::{FftField, Field, One, Zero};
use cudarc::driver::{CudaSlice, LaunchConfig, PushKernelArg};

use super::{cuda_err, download_fr, fr_words, grid, CudaBackend, BLOCK};
use crate::mirror::ntt::{plan, power_tables};
use crate::{GpuError, NttKind};

impl CudaBackend {
    /// The twiddle table `ω^t` (or `ω^{-t}`), `t < n/2`, cached per size and direction.
    fn twiddle_table(&self, log_n: u32, inverse: bool) -> Result<Arc<CudaSlice<u32>>, GpuError> {
        if let Some(t) = self.twiddles.lock().unwrap().get(&(log_n, inverse)) {
            return Ok(t.clone());
        }
        let mut w = Fr::get_root_of_unity(1u64 << log_n)
            .ok_or_else(|| GpuError::invalid("no root of unity of this order"))?;
        if inverse {
            w = w.inverse().unwrap();
        }
        let count = 1usize << (log_n - 1);
        let (lo, hi, l) = power_tables(w, Fr::one(), log_n - 1);
        let (dlo, dhi) = (
            self.upload(&fr_words(&lo), "upload twiddle seeds")?,
            self.upload(&fr_words(&hi), "upload twiddle seeds")?,
        );
        let mut out = self.alloc_u32(8 * count)?;
        let count32 = count as u32;
        let mut b = self.stream.launch_builder(self.kernels.get("ntt_powers"));
        b.arg(&mut out).arg(&count32).arg(&dlo).arg(&dhi).arg(&l);
        // SAFETY: lo has 2^l and hi 2^(log_n-1-l) entries, covering every index < count.
        unsafe { b.launch(grid(count, BLOCK)) }.map_err(cuda_err("launch ntt_powers"))?;
        let t = Arc::new(out);
        self.twiddles
            .lock()
            .unwrap()
            .insert((log_n, inverse), t.clone());
        Ok(t)
    }

    /// `data[i] *= scale · g^i` through the two-level power tables.
    fn scale_powers(
        &self,
        data: &mut CudaSlice<u32>,
        n: usize,
        g: Fr,
        scale: Fr,
        log_n: u32,
    ) -> Result<(), GpuError> {
        let (lo, hi, l) = power_tables(g, scale, log_n);
        let (dlo, dhi) = (
            self.upload(&fr_words(&lo), "upload power tables")?,
            self.upload(&fr_words(&hi), "upload power tables")?,
        );
        let n32 = n as u32;
        let mut b = self
            .stream
            .launch_builder(self.kernels.get("ntt_scale_powers"));
        b.arg(data).arg(&n32).arg(&dlo).arg(&dhi).arg(&l);
        // SAFETY: tables cover indices < 2^log_n = n.
        unsafe { b.launch(grid(n, BLOCK)) }.map_err(cuda_err("launch ntt_scale_powers"))?;
        Ok(())
    }

    pub(crate) fn ntt_impl(
        &self,
        polys: &mut [Vec<Fr>],
        log_n: u32,
        kind: NttKind,
    ) -> Result<(), GpuError> {
        if let NttKind::CosetForward(g) | NttKind::CosetInverse(g) = kind {
            if g.is_zero() {
                return Err(GpuError::invalid("coset offset must be non-zero"));
            }
        }
        if log_n == 0 {
            // One point: every transform of a constant is the constant (n^-1 = 1, g^0 = 1).
            return Ok(());
        }
        let n = 1usize << log_n;
        let inverse = matches!(kind, NttKind::Inverse | NttKind::CosetInverse(_));
        let tw = self.twiddle_table(log_n, inverse)?;
        let passes = plan(log_n, self.r_max);
        let n_inv = Fr::from(n as u64).inverse().unwrap();
        for poly in polys.iter_mut() {
            let mut a = self.upload(&fr_words(poly), "upload polynomial")?;
            let mut b = self.alloc_u32(8 * n)?;
            if let NttKind::CosetForward(g) = kind {
                self.scale_powers(&mut a, n, g, Fr::one(), log_n)?;
            }
            // Passes ping-pong between the two buffers (the first gathers through the bit
            // reversal, so it cannot run in place); `in_a` tracks where the data is.
            let mut in_a = true;
            for (p, &(s0, r)) in passes.iter().enumerate() {
                let first = u32::from(p == 0);
                let threads = (1u32 << (r - 1)).min(512);
                let cfg = LaunchConfig {
                    grid_dim: ((n >> r) as u32, 1, 1),
                    block_dim: (threads, 1, 1),
                    shared_mem_bytes: 32u32 << r,
                };
                let f = self.kernels.get("ntt_pass");
                let mut lb = self.stream.launch_builder(f);
                if in_a {
                    lb.arg(&a).arg(&mut b);
                } else {
                    lb.arg(&b).arg(&mut a);
                }
                lb.arg(tw.as_ref()).arg(&log_n).arg(&s0).arg(&r).arg(&first);
                // SAFETY: 2^r elements of shared memory requested; blocks cover n >> r groups.
                unsafe { lb.launch(cfg) }.map_err(cuda_err("launch ntt_pass"))?;
                in_a = !in_a;
            }
            let out = if in_a { &mut a } else { &mut b };
            match kind {
                NttKind::Inverse => self.scale_powers(out, n, Fr::one(), n_inv, log_n)?,
                NttKind::CosetInverse(g) => {
                    self.scale_powers(out, n, g.inverse().unwrap(), n_inv, log_n)?
                }
                _ => {}
            }
            download_fr(&self.stream, out, poly)?;
        }
        Ok(())
    }
}
