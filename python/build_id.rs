// The build id of the Python extension: SHA-256 over the sources the wheel is built from (the
// Rust crates it links, the package's Python files and stubs, the manifests and the lock
// file), each as its path relative to the repository root and its bytes, in path order.
//
// `python/build.rs` bakes it into the module (`zkinfer._zkinfer.__build_id__`) and
// `prover/tests/python_package.rs` computes it over the current tree: when they differ, the
// installed wheel was built from other sources and its test results would say nothing about
// this tree. Content, not timestamps: a fresh clone or a checkout changes every mtime and no
// byte. This file is `include!`d by both, so the two can never disagree on what is hashed.

/// Files and folders (relative to the repository root) whose contents make the build id.
const BUILD_ID_SOURCES: &[&str] = &[
    "Cargo.toml",
    "Cargo.lock",
    "circuits/Cargo.toml",
    "circuits/src",
    "verifier/Cargo.toml",
    "verifier/src",
    "prover/Cargo.toml",
    "prover/src",
    "gpu/Cargo.toml",
    "gpu/src",
    "gpu/kernels",
    "python/Cargo.toml",
    "python/pyproject.toml",
    "python/build.rs",
    "python/build_id.rs",
    "python/src",
    "python/zkinfer",
];

/// Every file under `BUILD_ID_SOURCES` (recursively), relative to `root`, sorted. Python's
/// byte-code caches are skipped: importing the package writes them into the source folder.
#[allow(dead_code)]
fn build_id_files(root: &std::path::Path) -> Vec<std::path::PathBuf> {
    fn walk(root: &std::path::Path, rel: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        let path = root.join(rel);
        if path.is_dir() {
            let mut names: Vec<_> = std::fs::read_dir(&path)
                .map(|d| d.filter_map(|e| e.ok()).map(|e| e.file_name()).collect())
                .unwrap_or_default();
            names.sort();
            for name in names {
                if name == "__pycache__" || name.to_string_lossy().ends_with(".pyc") {
                    continue;
                }
                walk(root, &rel.join(name), out);
            }
        } else if path.is_file() {
            out.push(rel.to_path_buf());
        }
    }
    let mut out = Vec::new();
    for s in BUILD_ID_SOURCES {
        walk(root, std::path::Path::new(s), &mut out);
    }
    out.sort();
    out
}

/// The build id of the tree at `root`: hex SHA-256 over each file's path, length and bytes.
#[allow(dead_code)]
fn build_id(root: &std::path::Path) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for rel in build_id_files(root) {
        let bytes = std::fs::read(root.join(&rel)).unwrap_or_default();
        let name = rel.to_string_lossy().replace('\\', "/");
        h.update((name.len() as u64).to_le_bytes());
        h.update(name.as_bytes());
        h.update((bytes.len() as u64).to_le_bytes());
        h.update(&bytes);
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}
