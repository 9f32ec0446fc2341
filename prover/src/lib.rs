//! zkinfer-prover: setup, keys, Groth16 proving of model inferences, and the `zkinfer` CLI.

pub mod ceremony;
pub mod estimate;
pub mod export_r1cs;
pub mod groth16;
pub mod keys;
pub mod prove;
pub mod segmented;
pub mod setup;
pub mod zkey;

pub use keys::ProvingKeyFile;
pub use prove::{ModelProver, ProveError, ProveTimings};
pub use setup::{setup, SetupError};
