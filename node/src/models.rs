//! The models a node serves: every `NAME.zkc` in the models directory with its `NAME.pk` and
//! `NAME.vk`, loaded once and kept resident. A one-circuit model keeps its prover's matrices
//! and key prepared on its backend; a segmented model (compiled with `--max-constraints`)
//! keeps its circuit and its key bundle's table, and each segment's key is read when that
//! segment is proven, so a node never holds more than the segments it is proving.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use zkinfer_circuits::CircuitFile;
use zkinfer_prover::keys::ProvingKeyBundle;
use zkinfer_prover::{ModelProver, ProvingKeyFile};
use zkinfer_verifier::bundle_vk::SegmentedVerifyingKeyFile;
use zkinfer_verifier::VerifyingKeyFile;

/// How a model is proven.
pub enum Proving {
    /// One circuit, one proof.json.
    Whole {
        prover: Box<ModelProver>,
        vk: VerifyingKeyFile,
    },
    /// One proof per segment, assembled into a proof bundle.
    Segmented {
        circuit: CircuitFile,
        keys: ProvingKeyBundle,
        vk: SegmentedVerifyingKeyFile,
        /// The backend each segment is proven on.
        backend: String,
    },
}

/// One served model.
pub struct Model {
    pub name: String,
    /// The circuit digest (hex).
    pub digest: String,
    pub proving: Proving,
}

impl Model {
    /// The model's circuit.
    pub fn circuit(&self) -> &CircuitFile {
        match &self.proving {
            Proving::Whole { prover, .. } => &prover.circuit,
            Proving::Segmented { circuit, .. } => circuit,
        }
    }

    /// The number of segments, `None` for a one-circuit model.
    pub fn segments(&self) -> Option<usize> {
        match &self.proving {
            Proving::Whole { .. } => None,
            Proving::Segmented { keys, .. } => Some(keys.segments.len()),
        }
    }
}

/// The models by name.
pub type Models = BTreeMap<String, Arc<Model>>;

/// Loads every model of `dir` on `backend`; a `.zkc` without its keys, or with keys of another
/// circuit or of the other kind (one circuit / segmented), is an error naming the file.
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
        let model = load_one(dir, &name, backend)?;
        models.insert(name, Arc::new(model));
    }
    if models.is_empty() {
        anyhow::bail!(
            "no models (NAME.zkc with NAME.pk and NAME.vk) in {}",
            dir.display()
        );
    }
    Ok(models)
}

/// Loads model `name` of `dir`.
fn load_one(dir: &Path, name: &str, backend: &str) -> anyhow::Result<Model> {
    let path = |ext: &str| dir.join(format!("{name}.{ext}"));
    let at = |ext: &str| {
        let p = path(ext);
        move |e: &dyn std::fmt::Display| anyhow::anyhow!("{}: {e}", p.display())
    };
    let circuit = CircuitFile::read(&path("zkc")).map_err(|e| at("zkc")(&e))?;
    let digest = hex::encode(circuit.digest);
    let vk_bytes = std::fs::read(path("vk")).map_err(|e| at("vk")(&e))?;
    let segmented_vk = zkinfer_verifier::bundle_vk::is_segmented_vk(&vk_bytes);
    let proving = if circuit.graph.is_segmented() {
        if !segmented_vk {
            anyhow::bail!(
                "{} is one circuit's key, but {} is segmented: run setup for this circuit",
                path("vk").display(),
                path("zkc").display()
            );
        }
        let vk = SegmentedVerifyingKeyFile::from_bytes(&vk_bytes).map_err(|e| at("vk")(&e))?;
        let keys = ProvingKeyBundle::open(&path("pk")).map_err(|e| at("pk")(&e))?;
        zkinfer_prover::segmented::check_bundle(&circuit, &keys).map_err(|e| at("pk")(&e))?;
        if vk.digest != circuit.digest || vk.segments.len() != keys.segments.len() {
            anyhow::bail!(
                "{} is not {}'s key",
                path("vk").display(),
                path("zkc").display()
            );
        }
        zkinfer_gpu::backend_from_name(backend).map_err(|e| anyhow::anyhow!("{name}: {e}"))?;
        Proving::Segmented {
            circuit,
            keys,
            vk,
            backend: backend.into(),
        }
    } else {
        if segmented_vk {
            anyhow::bail!(
                "{} is a segmented model's key, but {} is one circuit: run setup for this circuit",
                path("vk").display(),
                path("zkc").display()
            );
        }
        let vk = VerifyingKeyFile::from_bytes(&vk_bytes).map_err(|e| at("vk")(&e))?;
        if vk.digest != circuit.digest {
            anyhow::bail!(
                "{} is not {}'s key",
                path("vk").display(),
                path("zkc").display()
            );
        }
        let pk = ProvingKeyFile::read(&path("pk")).map_err(|e| at("pk")(&e))?;
        let prover =
            ModelProver::new(circuit, pk, backend).map_err(|e| anyhow::anyhow!("{name}: {e}"))?;
        Proving::Whole {
            prover: Box::new(prover),
            vk,
        }
    };
    Ok(Model {
        name: name.into(),
        digest,
        proving,
    })
}
