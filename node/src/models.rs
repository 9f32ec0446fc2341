//! The models a node serves: every `NAME.zkc` in the models directory with its `NAME.pk` and
//! `NAME.vk`, loaded once and kept resident (the prover's matrices and key prepared on its
//! backend).

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use zkinfer_prover::{ModelProver, ProvingKeyFile};
use zkinfer_verifier::VerifyingKeyFile;

/// One served model.
pub struct Model {
    pub name: String,
    /// The circuit digest (hex).
    pub digest: String,
    pub prover: ModelProver,
    pub vk: VerifyingKeyFile,
}

/// The models by name.
pub type Models = BTreeMap<String, Arc<Model>>;

/// Loads every model of `dir` on `backend`; a `.zkc` without its keys, a segmented circuit
/// or keys of another circuit is an error naming the file.
pub fn load(dir: &Path, backend: &str) -> anyhow::Result<Models> {
    let mut models = Models::new();
    let entries = std::fs::read_dir(dir)
        .map_err(|e| anyhow::anyhow!("cannot read the models directory {}: {e}", dir.display()))?;
    let mut names: Vec<String> = entries
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let p = e.path();
            (p.extension()? == "zkc").then(|| p.file_stem()?.to_str().map(String::from))?
        })
        .collect();
    names.sort();
    for name in names {
        let path = |ext: &str| dir.join(format!("{name}.{ext}"));
        let circuit = zkinfer_circuits::CircuitFile::read(&path("zkc"))
            .map_err(|e| anyhow::anyhow!("{}: {e}", path("zkc").display()))?;
        if circuit.graph.is_segmented() {
            anyhow::bail!(
                "{}: segmented models are not served yet; compile without --max-constraints",
                path("zkc").display()
            );
        }
        let pk = ProvingKeyFile::read(&path("pk"))
            .map_err(|e| anyhow::anyhow!("{}: {e}", path("pk").display()))?;
        let vk = VerifyingKeyFile::read(&path("vk"))
            .map_err(|e| anyhow::anyhow!("{}: {e}", path("vk").display()))?;
        if vk.digest != circuit.digest {
            anyhow::bail!(
                "{} is not {}'s key",
                path("vk").display(),
                path("zkc").display()
            );
        }
        let digest = hex::encode(circuit.digest);
        let prover =
            ModelProver::new(circuit, pk, backend).map_err(|e| anyhow::anyhow!("{name}: {e}"))?;
        models.insert(
            name.clone(),
            Arc::new(Model {
                name,
                digest,
                prover,
                vk,
            }),
        );
    }
    if models.is_empty() {
        anyhow::bail!(
            "no models (NAME.zkc with NAME.pk and NAME.vk) in {}",
            dir.display()
        );
    }
    Ok(models)
}
