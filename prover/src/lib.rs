//! zkinfer prover
