//! The CUDA backend (feature `cuda`): thin safe wrappers over the kernels of `gpu/kernels/`.
//!
//! Everything is loaded at run time through cudarc's dynamic loading: without a driver, a
//! device or NVRTC, [`CudaBackend::new`] returns [`GpuError::Unavailable`] instead of failing to
//! start. Kernels are compiled by NVRTC on first use (PTX cached for the process, see
//! [`nvrtc::ptx_cached`]). Every driver call's error becomes a [`GpuError::Cuda`] naming it.
//!
//! Field elements travel as their Montgomery limbs (the same bytes arkworks holds), points as
//! affine `(x, y)` with `(0, 0)` for infinity; prepared bases and matrices stay in device memory
//! until their handle is dropped.

mod msm;
mod ntt;
pub mod nvrtc;
mod spmv;

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use ark_bn254::{Fr, G1Affine, G1Projective, G2Affine, G2Projective};
use ark_ff::BigInt;
use cudarc::driver::{
    sys, CudaContext, CudaFunction, CudaSlice, CudaStream, DriverError, LaunchConfig,
};
use rayon::prelude::*;

use crate::backend::{check_ntt_batch, check_spmv};
use crate::cpu::check_msm_len;
use crate::mirror::limbs::to_limbs;
use crate::{Backend, CsrMatrix, GpuError, NttKind};

pub use msm::{CudaG1Bases, CudaG2Bases};
pub use spmv::CudaMatrix;

/// Threads per block for the element-wise kernels.
const BLOCK: u32 = 256;

pub(crate) fn cuda_err(call: &'static str) -> impl FnOnce(DriverError) -> GpuError {
    move |e| GpuError::Cuda {
        call,
        msg: format!("{e:?}"),
    }
}

/// Launch configuration covering `n` threads in blocks of `block`.
pub(crate) fn grid(n: usize, block: u32) -> LaunchConfig {
    LaunchConfig {
        grid_dim: ((n as u64).div_ceil(block as u64) as u32, 1, 1),
        block_dim: (block, 1, 1),
        shared_mem_bytes: 0,
    }
}

/// A length that kernels take as `u32`.
pub(crate) fn len_u32(n: usize, what: &str) -> Result<u32, GpuError> {
    u32::try_from(n).map_err(|_| GpuError::invalid(format!("{what}: {n} exceeds 2^32 - 1")))
}

/// Whether `Fr`'s in-memory bytes are its Montgomery limbs in order (true for arkworks on
/// little-endian targets; checked on a sample rather than assumed), so slices can be handed
/// to the device without a copy.
fn fr_is_plain_limbs() -> bool {
    static OK: OnceLock<bool> = OnceLock::new();
    *OK.get_or_init(|| {
        if !cfg!(target_endian = "little")
            || std::mem::size_of::<Fr>() != 32
            || std::mem::align_of::<Fr>() < 4
        {
            return false;
        }
        let sample = -Fr::from(0x0123_4567_89ab_cdefu64);
        // SAFETY: size checked above; reading the bytes of a plain-data value.
        let raw: [u32; 8] = unsafe { std::mem::transmute_copy(&sample) };
        raw == to_limbs(&sample.0)
    })
}

/// `Fr` slice as 8 words per element: borrowed when the layout allows, else copied.
pub(crate) fn fr_words(x: &[Fr]) -> Cow<'_, [u32]> {
    if fr_is_plain_limbs() {
        // SAFETY: layout verified by fr_is_plain_limbs; u32 alignment <= Fr alignment.
        Cow::Borrowed(unsafe { std::slice::from_raw_parts(x.as_ptr() as *const u32, x.len() * 8) })
    } else {
        Cow::Owned(x.par_iter().flat_map_iter(|f| to_limbs(&f.0)).collect())
    }
}

/// Copies device words (8 per element) into `out`.
pub(crate) fn download_fr(
    stream: &Arc<CudaStream>,
    src: &CudaSlice<u32>,
    out: &mut [Fr],
) -> Result<(), GpuError> {
    if fr_is_plain_limbs() {
        // SAFETY: as in fr_words; every bit pattern written is a reduced Montgomery limb set
        // produced by the kernels, i.e. a valid Fr.
        let words =
            unsafe { std::slice::from_raw_parts_mut(out.as_mut_ptr() as *mut u32, out.len() * 8) };
        stream
            .memcpy_dtoh(src, words)
            .map_err(cuda_err("cuMemcpyDtoH"))?;
    } else {
        let words = stream.clone_dtoh(src).map_err(cuda_err("cuMemcpyDtoH"))?;
        out.par_iter_mut()
            .zip(words.par_chunks(8))
            .for_each(|(o, w)| {
                *o = Fr::new_unchecked(crate::mirror::limbs::from_limbs(w.try_into().unwrap()))
            });
    }
    Ok(())
}

pub(crate) fn fq_from_words(w: &[u32]) -> ark_bn254::Fq {
    let mut l = [0u64; 4];
    for i in 0..4 {
        l[i] = w[2 * i] as u64 | ((w[2 * i + 1] as u64) << 32);
    }
    ark_bn254::Fq::new_unchecked(BigInt(l))
}

/// Twiddle tables on the device, per (log2 size, inverse).
type TwiddleCache = Mutex<HashMap<(u32, bool), Arc<CudaSlice<u32>>>>;

/// The kernels of one loaded module set.
struct Kernels {
    f: HashMap<&'static str, CudaFunction>,
}

impl Kernels {
    fn get(&self, name: &'static str) -> &CudaFunction {
        &self.f[name]
    }
}

/// The CUDA backend on one device. Cheap to share by reference; calls are serialised on one
/// stream.
pub struct CudaBackend {
    ctx: Arc<CudaContext>,
    stream: Arc<CudaStream>,
    kernels: Kernels,
    /// NTT stages per pass: 12 when the device lets a block use 128 KiB of shared memory.
    r_max: u32,
    twiddles: TwiddleCache,
    device_name: String,
}

impl CudaBackend {
    /// Opens device `ordinal`, compiles (or takes from the process cache) and loads every kernel.
    /// Fails with [`GpuError::Unavailable`] when there is no driver, no such device or no NVRTC.
    pub fn new(ordinal: usize) -> Result<Self, GpuError> {
        // SAFETY: only tries to dlopen libcuda; cudarc would panic on first use otherwise.
        if !unsafe { sys::is_culib_present() } {
            return Err(GpuError::Unavailable(
                "no CUDA driver (libcuda.so) found".into(),
            ));
        }
        nvrtc::ensure_nvrtc()?;
        let ctx = CudaContext::new(ordinal).map_err(|e| {
            GpuError::Unavailable(format!("cannot open CUDA device {ordinal}: {e:?}"))
        })?;
        let (major, minor) = ctx
            .compute_capability()
            .map_err(cuda_err("cuDeviceGetAttribute"))?;
        if major < 7 {
            return Err(GpuError::Unavailable(format!(
                "compute capability {major}.{minor} < 7.0 (kernels use __match_any_sync)"
            )));
        }
        let arch: &'static str = Box::leak(format!("compute_{major}{minor}").into_boxed_str());
        let mut f = HashMap::new();
        for file in nvrtc::KERNEL_FILES {
            let module = ctx
                .load_module(nvrtc::ptx_cached(file, arch)?)
                .map_err(cuda_err("cuModuleLoadData"))?;
            for &name in file.functions {
                f.insert(
                    name,
                    module
                        .load_function(name)
                        .map_err(cuda_err("cuModuleGetFunction"))?,
                );
            }
        }
        let kernels = Kernels { f };
        let optin = ctx
            .attribute(
                sys::CUdevice_attribute::CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN,
            )
            .map_err(cuda_err("cuDeviceGetAttribute"))?;
        let large = (32u32 << crate::mirror::ntt::R_MAX_LARGE) as i32;
        let r_max = if optin >= large {
            kernels
                .get("ntt_pass")
                .set_attribute(
                    sys::CUfunction_attribute::CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES,
                    large,
                )
                .map_err(cuda_err("cuFuncSetAttribute"))?;
            crate::mirror::ntt::R_MAX_LARGE
        } else {
            crate::mirror::ntt::R_MAX_FALLBACK
        };
        let device_name = ctx.name().unwrap_or_else(|_| "CUDA device".into());
        let stream = ctx.default_stream();
        Ok(CudaBackend {
            ctx,
            stream,
            kernels,
            r_max,
            twiddles: Mutex::new(HashMap::new()),
            device_name,
        })
    }

    /// The device's name as the driver reports it.
    pub fn device_name(&self) -> &str {
        &self.device_name
    }

    /// NTT stages per pass on this device.
    pub fn ntt_stages_per_pass(&self) -> u32 {
        self.r_max
    }

    /// Waits for all queued work; surfaces asynchronous kernel faults as errors.
    pub fn synchronize(&self) -> Result<(), GpuError> {
        self.stream
            .synchronize()
            .map_err(cuda_err("cuStreamSynchronize"))
    }

    pub(crate) fn upload<T: cudarc::driver::DeviceRepr>(
        &self,
        data: &[T],
        what: &'static str,
    ) -> Result<CudaSlice<T>, GpuError> {
        if data.is_empty() {
            // cuMemAlloc of zero bytes is an error; a one-element buffer is never read.
            return unsafe { self.stream.alloc::<T>(1) }.map_err(cuda_err(what));
        }
        self.stream.clone_htod(data).map_err(cuda_err(what))
    }

    pub(crate) fn alloc_u32(&self, n: usize) -> Result<CudaSlice<u32>, GpuError> {
        // SAFETY: every buffer allocated here is fully written by a kernel before it is read.
        unsafe { self.stream.alloc::<u32>(n.max(1)) }.map_err(cuda_err("cuMemAlloc"))
    }

    pub(crate) fn zeros_u32(&self, n: usize) -> Result<CudaSlice<u32>, GpuError> {
        self.stream
            .alloc_zeros::<u32>(n.max(1))
            .map_err(cuda_err("cuMemAlloc"))
    }

    #[allow(dead_code)]
    pub(crate) fn context(&self) -> &Arc<CudaContext> {
        &self.ctx
    }
}

impl Backend for CudaBackend {
    type G1Bases = CudaG1Bases;
    type G2Bases = CudaG2Bases;
    type Matrix = CudaMatrix;

    fn name(&self) -> &'static str {
        "cuda"
    }

    fn prepare_g1(&self, bases: Vec<G1Affine>) -> Result<CudaG1Bases, GpuError> {
        self.prepare_g1_impl(bases)
    }

    fn prepare_g2(&self, bases: Vec<G2Affine>) -> Result<CudaG2Bases, GpuError> {
        self.prepare_g2_impl(bases)
    }

    fn prepare_matrix(&self, m: &CsrMatrix) -> Result<CudaMatrix, GpuError> {
        self.prepare_matrix_impl(m)
    }

    fn g1_len(&self, bases: &CudaG1Bases) -> usize {
        bases.len
    }

    fn g2_len(&self, bases: &CudaG2Bases) -> usize {
        bases.len
    }

    fn msm_g1(&self, bases: &CudaG1Bases, scalars: &[Fr]) -> Result<G1Projective, GpuError> {
        check_msm_len(bases.len, scalars.len())?;
        self.msm_impl::<msm::DevG1>(&bases.words, scalars)
    }

    fn msm_g2(&self, bases: &CudaG2Bases, scalars: &[Fr]) -> Result<G2Projective, GpuError> {
        check_msm_len(bases.len, scalars.len())?;
        self.msm_impl::<msm::DevG2>(&bases.words, scalars)
    }

    fn spmv_many(
        &self,
        ms: &[&CudaMatrix],
        z: &[Fr],
        outs: &mut [&mut [Fr]],
    ) -> Result<(), GpuError> {
        if ms.len() != outs.len() {
            return Err(GpuError::invalid(
                "spmv_many: matrices and outputs differ in number",
            ));
        }
        for (m, out) in ms.iter().zip(outs.iter()) {
            check_spmv(m.rows, m.max_col, z.len(), out.len())?;
        }
        self.spmv_impl(ms, z, outs)
    }

    fn ntt(&self, polys: &mut [Vec<Fr>], kind: NttKind) -> Result<(), GpuError> {
        let Some(log_n) = check_ntt_batch(polys)? else {
            return Ok(());
        };
        self.ntt_impl(polys, log_n, kind)
    }
}
