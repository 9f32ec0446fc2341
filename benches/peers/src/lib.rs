//! Empty: this package holds the `msm_peers` bench only (see Cargo.toml for why it stands apart).
