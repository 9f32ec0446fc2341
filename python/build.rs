//! Bakes the build id (see `build_id.rs`) into the extension module, so the tests can tell a
//! wheel built from this tree from a stale one.

include!("build_id.rs");

fn main() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("python/ has a parent")
        .to_path_buf();
    // Cargo rescans a folder named here for any changed file, so the id follows the sources.
    for s in BUILD_ID_SOURCES {
        println!("cargo:rerun-if-changed={}", root.join(s).display());
    }
    println!("cargo:rustc-env=ZKINFER_BUILD_ID={}", build_id(&root));
}
