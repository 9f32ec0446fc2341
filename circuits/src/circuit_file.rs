//! The `.zkc` circuit file: `b"ZKCC"` | format version (u32 LE) | circuit digest (32 bytes) |
//! source model SHA-256 (32 bytes) | the quantised graph as JSON.
//!
//! The digest is recomputed on load, so a corrupted or edited file is refused rather than
//! silently producing keys for another circuit.

use crate::graph::QGraph;
use sha2::{Digest, Sha256};
use std::path::Path;
use thiserror::Error;

const MAGIC: &[u8; 4] = b"ZKCC";
/// The `.zkc` format version this build reads and writes.
pub const VERSION: u32 = 1;
const HEADER: usize = 4 + 4 + 32 + 32;

/// Why a circuit file could not be read.
#[derive(Debug, Error)]
pub enum CircuitFileError {
    #[error("cannot read {path}: {err}")]
    Io { path: String, err: std::io::Error },
    #[error("{0}")]
    Format(String),
}

/// A compiled circuit with the hash of the model it came from.
#[derive(Clone, Debug)]
pub struct CircuitFile {
    pub graph: QGraph,
    pub digest: [u8; 32],
    pub source_sha256: [u8; 32],
}

impl CircuitFile {
    /// Wraps a graph compiled from `source` (the ONNX bytes).
    pub fn new(graph: QGraph, source: &[u8]) -> Self {
        let digest = graph.digest();
        CircuitFile {
            graph,
            digest,
            source_sha256: Sha256::digest(source).into(),
        }
    }

    /// The file's bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let body = serde_json::to_vec(&self.graph).expect("a graph always serialises");
        let mut out = Vec::with_capacity(HEADER + body.len());
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&VERSION.to_le_bytes());
        out.extend_from_slice(&self.digest);
        out.extend_from_slice(&self.source_sha256);
        out.extend_from_slice(&body);
        out
    }

    /// Parses and checks a circuit file.
    pub fn from_bytes(b: &[u8]) -> Result<Self, CircuitFileError> {
        let f = |m: &str| CircuitFileError::Format(m.to_string());
        if b.len() < 4 || &b[..4] != MAGIC {
            return Err(f("not a zkinfer circuit file (.zkc): wrong magic bytes"));
        }
        if b.len() < HEADER {
            return Err(f("truncated circuit file: the header is incomplete"));
        }
        let version = u32::from_le_bytes(b[4..8].try_into().expect("4 bytes"));
        if version != VERSION {
            return Err(CircuitFileError::Format(format!(
                "circuit file format version {version}, this zkinfer reads version {VERSION}; recompile the model"
            )));
        }
        let digest: [u8; 32] = b[8..40].try_into().expect("32 bytes");
        let source_sha256: [u8; 32] = b[40..72].try_into().expect("32 bytes");
        let graph: QGraph = serde_json::from_slice(&b[HEADER..]).map_err(|e| {
            CircuitFileError::Format(format!("corrupt or truncated circuit file: {e}"))
        })?;
        if graph.digest() != digest {
            return Err(f(
                "the circuit file's content does not match its digest (corrupted or edited)",
            ));
        }
        Ok(CircuitFile {
            graph,
            digest,
            source_sha256,
        })
    }

    /// Reads a circuit file.
    pub fn read(path: &Path) -> Result<Self, CircuitFileError> {
        let b = std::fs::read(path).map_err(|err| CircuitFileError::Io {
            path: path.display().to_string(),
            err,
        })?;
        Self::from_bytes(&b).map_err(|e| match e {
            CircuitFileError::Format(m) => {
                CircuitFileError::Format(format!("{}: {m}", path.display()))
            }
            e => e,
        })
    }

    /// Writes the circuit file.
    pub fn write(&self, path: &Path) -> Result<(), CircuitFileError> {
        std::fs::write(path, self.to_bytes()).map_err(|err| CircuitFileError::Io {
            path: path.display().to_string(),
            err,
        })
    }
}
