//! zkinfer-node: the compute node. It answers inferences at integer-inference speed with a
//! signed receipt (its commitment to what it served), keeps every request durably, and proves
//! any stored request on demand (a challenge), exactly for the input and output it served.
//!
//! - [`receipt`]: Ed25519 receipts over the circuit digest, input and output hashes;
//! - [`store`]: requests and jobs in SQLite, surviving a kill at any point;
//! - [`models`]: the served models, resident;
//! - [`node`]: the work (infer, challenge, the prover threads), independent of HTTP;
//! - [`server`]: the HTTP API (axum); [`serve`]: starting it;
//! - [`queue`], [`worker`]: proving on many machines through a Redis Stream;
//! - [`audit`]: the challenger, sampling receipts and checking their proofs.

pub mod audit;
pub mod load;
pub mod metrics;
pub mod models;
pub mod node;
pub mod queue;
pub mod receipt;
pub mod serve;
pub mod server;
pub mod store;
pub mod worker;
