//! CI has no GPU but must still prove every kernel compiles: each `gpu/kernels/*.cu` is compiled
//! to PTX for sm_90 with NVRTC (through cudarc, as the backend does at run time).
//!
//! libnvrtc is found through `$ZKINFER_NVRTC_LIB`, else through `LD_LIBRARY_PATH`/the loader
//! cache, else in the pip wheel `nvidia-cuda-nvrtc` of `python3` (what `.ci/install-nvrtc.sh`
//! installs). Without it the test prints why it skipped — unless `CI` is set, where it fails.
#![cfg(feature = "cuda")]

use std::process::Command;

use zkinfer_gpu::cuda::nvrtc::{compile, ensure_nvrtc, KERNEL_FILES, NVRTC_LIB_ENV};

/// The pip wheel's libnvrtc, asked of python3 (same lookup as .ci/install-nvrtc.sh).
fn nvrtc_from_python() -> Option<String> {
    let script = "import glob, os, nvidia\n\
                  for r in nvidia.__path__:\n\
                  \x20   for p in sorted(glob.glob(os.path.join(r, '*', 'lib', 'libnvrtc.so*'))):\n\
                  \x20       if 'builtins' not in p and '.alt.' not in p:\n\
                  \x20           print(p); raise SystemExit(0)\n\
                  raise SystemExit(1)";
    let out = Command::new("python3")
        .arg("-c")
        .arg(script)
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
        .filter(|s| !s.is_empty())
}

#[test]
fn every_kernel_compiles_to_ptx_for_sm_90() {
    if std::env::var_os(NVRTC_LIB_ENV).is_none() {
        if let Some(p) = nvrtc_from_python() {
            std::env::set_var(NVRTC_LIB_ENV, p);
        }
    }
    if let Err(e) = ensure_nvrtc() {
        if std::env::var_os("CI").is_some() {
            panic!("CI is set, so NVRTC must be available (run .ci/install-nvrtc.sh): {e}");
        }
        eprintln!("skipped: {e}");
        return;
    }
    for file in KERNEL_FILES {
        let ptx = compile(file, "sm_90").unwrap_or_else(|e| panic!("{e}"));
        for f in file.functions {
            assert!(
                ptx.contains(&format!(".entry {f}(")),
                "{}: kernel {f} missing from the PTX",
                file.name
            );
        }
        eprintln!("{}: {} bytes of PTX", file.name, ptx.len());
    }
}
