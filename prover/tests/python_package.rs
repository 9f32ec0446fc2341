//! The Python package (`python/`, `import zkinfer`): runs its pytest suite (`python/tests`)
//! with the virtual environment `.ci/install-python.sh` makes (`.ci/venv`, the built wheel
//! installed into it), handing it this build's `zkinfer` binary (`ZKINFER_BIN`) so that the
//! suite checks proofs from Python with the CLI and the reverse.
//!
//! Skipped with a message when the venv or the package is missing, or when the installed
//! package was built from other sources than this tree (its `__build_id__`, the SHA-256 of the
//! sources `python/build_id.rs` names, differs from the tree's): a stale wheel's results would
//! say nothing about this code. With `CI` set each of these is a failure instead.

use std::path::{Path, PathBuf};
use std::process::Command;

// The same file list and hash as python/build.rs bakes into the module.
include!("../../python/build_id.rs");

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .canonicalize()
        .expect("the repository root")
}

/// Skips (or, under CI, fails) with `why`.
fn skip(why: &str) {
    let why = format!("{why}; run bash .ci/install-python.sh");
    if std::env::var_os("CI").is_some() {
        panic!("CI is set and the Python package is not ready: {why}");
    }
    eprintln!("SKIPPED: {why}");
}

#[test]
fn pytest_suite_passes_against_the_installed_wheel() {
    let repo = repo();
    let python = repo.join(".ci/venv/bin/python");
    if !python.exists() {
        return skip(&format!("{} not found", python.display()));
    }
    // Outside the repository, so that `import zkinfer` can only find the installed package.
    let probe = Command::new(&python)
        .args(["-c", "import zkinfer; print(zkinfer.__build_id__)"])
        .current_dir(std::env::temp_dir())
        .output()
        .expect("run the venv's python");
    if !probe.status.success() {
        return skip(&format!(
            "the zkinfer package is not installed in .ci/venv: {}",
            String::from_utf8_lossy(&probe.stderr).trim()
        ));
    }
    let installed = String::from_utf8_lossy(&probe.stdout).trim().to_string();
    let tree = build_id(&repo);
    if installed != tree {
        return skip(&format!(
            "the installed zkinfer wheel is stale: built from sources with build id {installed}, this tree's is {tree}"
        ));
    }

    let start = std::time::Instant::now();
    let out = Command::new(&python)
        .args([
            "-m",
            "pytest",
            "python/tests",
            "-q",
            "-p",
            "no:cacheprovider",
        ])
        .current_dir(&repo)
        .env("ZKINFER_BIN", env!("CARGO_BIN_EXE_zkinfer"))
        // Keep byte-code out of the source tree (python/zkinfer is part of the build id).
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .output()
        .expect("run pytest");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{stdout}");
    eprintln!("{stderr}");
    println!("pytest took {:.1} s", start.elapsed().as_secs_f64());
    assert!(out.status.success(), "pytest failed ({})", out.status);
    // pytest exits 5 when it collects nothing; success must mean tests ran.
    assert!(stdout.contains(" passed"), "pytest ran no test:\n{stdout}");
}
