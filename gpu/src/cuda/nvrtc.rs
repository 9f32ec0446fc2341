//! Kernel sources, NVRTC compilation and the process-wide PTX cache.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use cudarc::nvrtc::{compile_ptx_with_opts, CompileError, CompileOptions, Ptx};

use crate::GpuError;

/// Environment variable naming the full path of `libnvrtc.so`; preloaded before cudarc's first
/// NVRTC call (see [`ensure_nvrtc`]). `.ci/install-nvrtc.sh --exports` prints it.
pub const NVRTC_LIB_ENV: &str = "ZKINFER_NVRTC_LIB";

/// Headers the kernels `#include`, inlined by [`expand`] (NVRTC gets one self-contained source).
const HEADERS: &[(&str, &str)] = &[
    ("field.cuh", include_str!("../../kernels/field.cuh")),
    ("curve.cuh", include_str!("../../kernels/curve.cuh")),
];

/// One `.cu` file of `gpu/kernels/` and the kernels it defines.
#[derive(Clone, Copy, Debug)]
pub struct KernelFile {
    /// File name, e.g. `msm.cu`.
    pub name: &'static str,
    /// The file's text as written (includes not expanded).
    pub source: &'static str,
    /// `extern "C"` kernels the backend loads from it.
    pub functions: &'static [&'static str],
}

/// Every kernel file; the NVRTC compile test compiles each.
pub const KERNEL_FILES: &[KernelFile] = &[
    KernelFile {
        name: "msm.cu",
        source: include_str!("../../kernels/msm.cu"),
        functions: &[
            "msm_digits_count",
            "msm_scatter",
            "msm_accumulate_g1",
            "msm_accumulate_g2",
            "msm_reduce_g1",
            "msm_reduce_g2",
            "msm_dense_g1",
            "msm_dense_g2",
            "msm_window_reduce_g1",
            "msm_window_reduce_g2",
        ],
    },
    KernelFile {
        name: "ntt.cu",
        source: include_str!("../../kernels/ntt.cu"),
        functions: &["ntt_pass", "ntt_scale_powers", "ntt_powers"],
    },
    KernelFile {
        name: "spmv.cu",
        source: include_str!("../../kernels/spmv.cu"),
        functions: &["spmv_csr"],
    },
];

/// The source with every `#include "x.cuh"` replaced by the header's text, each header once
/// (so `#pragma once` holds without a file system).
pub fn expand(source: &str) -> String {
    fn go(src: &str, seen: &mut Vec<&'static str>, out: &mut String) {
        for line in src.lines() {
            let t = line.trim();
            if let Some(rest) = t.strip_prefix("#include \"") {
                let name = rest.trim_end_matches('"');
                if let Some(&(n, text)) = HEADERS.iter().find(|(n, _)| *n == name) {
                    if !seen.contains(&n) {
                        seen.push(n);
                        go(text, seen, out);
                    }
                    continue;
                }
            }
            if t == "#pragma once" {
                continue;
            }
            out.push_str(line);
            out.push('\n');
        }
    }
    let mut out = String::new();
    go(source, &mut Vec::new(), &mut out);
    out
}

/// Makes sure cudarc can open libnvrtc. When `$ZKINFER_NVRTC_LIB` is set the library is first
/// loaded from that path and kept loaded: cudarc opens it by bare name (`libnvrtc.so.13`, ...),
/// and the dynamic loader resolves a bare name to an already-loaded library with that soname,
/// so no `LD_LIBRARY_PATH` is needed (it could not be changed for a running process anyway).
pub fn ensure_nvrtc() -> Result<(), GpuError> {
    static STATE: OnceLock<Result<(), String>> = OnceLock::new();
    STATE
        .get_or_init(|| {
            if let Ok(path) = std::env::var(NVRTC_LIB_ENV) {
                // SAFETY: loading NVRTC runs only its initialisers; the handle is leaked on
                // purpose so the library stays mapped for the life of the process.
                // libnvrtc itself dlopens `libnvrtc-builtins.so.<ver>` by bare name at compile
                // time; preload it from the same folder for the same reason.
                let dir = std::path::Path::new(&path)
                    .parent()
                    .map(|d| d.to_path_buf())
                    .unwrap_or_default();
                let builtins = std::fs::read_dir(&dir)
                    .into_iter()
                    .flatten()
                    .flatten()
                    .map(|e| e.path())
                    .filter(|p| {
                        let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
                        name.starts_with("libnvrtc-builtins.so") && !name.contains(".alt.")
                    });
                for lib in builtins.chain(std::iter::once(std::path::PathBuf::from(&path))) {
                    match unsafe { libloading::Library::new(&lib) } {
                        Ok(l) => std::mem::forget(l),
                        Err(e) => {
                            return Err(format!(
                                "cannot load {} (from {NVRTC_LIB_ENV}): {e}",
                                lib.display()
                            ))
                        }
                    }
                }
            }
            // SAFETY: only tries to dlopen the candidate names.
            if unsafe { cudarc::nvrtc::sys::is_culib_present() } {
                Ok(())
            } else {
                Err(format!(
                    "libnvrtc not found: put its folder on LD_LIBRARY_PATH or set {NVRTC_LIB_ENV} \
                     (`bash .ci/install-nvrtc.sh` installs it and prints both)"
                ))
            }
        })
        .clone()
        .map_err(GpuError::Unavailable)
}

/// Compiles one kernel file for `arch` (`"sm_90"`, `"compute_90"`, ...) with NVRTC and returns
/// the PTX text. Any compiler diagnostic that is an error fails with the full log.
pub fn compile(file: &KernelFile, arch: &'static str) -> Result<String, GpuError> {
    ensure_nvrtc()?;
    let opts = CompileOptions {
        arch: Some(arch),
        options: vec!["--std=c++17".into()],
        name: Some(file.name.into()),
        ..Default::default()
    };
    let ptx = compile_ptx_with_opts(expand(file.source), opts).map_err(|e| GpuError::Compile {
        file: file.name,
        log: match e {
            CompileError::CompileError { log, .. } => log.to_string_lossy().into_owned(),
            other => format!("{other:?}"),
        },
    })?;
    Ok(ptx.to_src())
}

/// [`compile`], cached for the life of the process per (file, arch): kernels compile at first
/// use only.
pub fn ptx_cached(file: &KernelFile, arch: &'static str) -> Result<Ptx, GpuError> {
    static CACHE: OnceLock<Mutex<HashMap<(&'static str, &'static str), String>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    if let Some(p) = cache.lock().unwrap().get(&(file.name, arch)) {
        return Ok(Ptx::from_src(p.clone()));
    }
    let src = compile(file, arch)?;
    cache.lock().unwrap().insert((file.name, arch), src.clone());
    Ok(Ptx::from_src(src))
}
