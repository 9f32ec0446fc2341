//! Receipts: the node's signed commitment to what it served. A receipt binds the circuit
//! digest, the hash of the quantised input, the hash of the quantised output and the request
//! id under the node's Ed25519 key, so a challenger can later demand a proof for exactly that
//! input and output, and hold the node to it.

use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::path::Path;

/// Domain separation for the signed message.
const RECEIPT_TAG: &[u8] = b"zkinfer-receipt-v1";
/// Domain separation for tensor hashes.
const TENSOR_TAG: &[u8] = b"zkinfer-tensor-v1";

/// SHA-256 of a quantised tensor: the tag, the count (u64 LE), then each value (i64 LE), as
/// hex. proof.json's `input.quantized` / `output.quantized` hash to the receipt's values.
pub fn tensor_hash(values: &[i64]) -> String {
    let mut h = Sha256::new();
    h.update(TENSOR_TAG);
    h.update((values.len() as u64).to_le_bytes());
    for v in values {
        h.update(v.to_le_bytes());
    }
    hex::encode(h.finalize())
}

/// A signed receipt, as the infer endpoint returns it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Receipt {
    pub request_id: String,
    pub model: String,
    /// The circuit digest (64 hex characters).
    pub circuit: String,
    pub input_hash: String,
    pub output_hash: String,
    /// The node's Ed25519 public key (hex).
    pub node: String,
    /// The signature over [`Receipt::message`] (hex).
    pub signature: String,
}

impl Receipt {
    /// The signed bytes: tag, then each field as a u32-length-prefixed string.
    pub fn message(&self) -> Vec<u8> {
        let mut m = RECEIPT_TAG.to_vec();
        for f in [
            &self.request_id,
            &self.model,
            &self.circuit,
            &self.input_hash,
            &self.output_hash,
        ] {
            m.extend_from_slice(&(f.len() as u32).to_le_bytes());
            m.extend_from_slice(f.as_bytes());
        }
        m
    }

    /// Whether the signature is the node's over this receipt.
    pub fn verify(&self) -> bool {
        let key = hex::decode(&self.node)
            .ok()
            .and_then(|b| <[u8; 32]>::try_from(b).ok())
            .and_then(|b| VerifyingKey::from_bytes(&b).ok());
        let sig = hex::decode(&self.signature)
            .ok()
            .and_then(|b| <[u8; 64]>::try_from(b).ok())
            .map(|b| Signature::from_bytes(&b));
        match (key, sig) {
            (Some(k), Some(s)) => k.verify(&self.message(), &s).is_ok(),
            _ => false,
        }
    }
}

/// The node's signing key, kept in the data directory.
pub struct NodeKey(SigningKey);

impl NodeKey {
    /// Loads `dir/node.key`, or creates it (32 random bytes, written atomically, owner-only)
    /// on first start.
    pub fn load_or_create(dir: &Path) -> anyhow::Result<Self> {
        let path = dir.join("node.key");
        if path.exists() {
            let b = std::fs::read(&path)?;
            let b: [u8; 32] = b
                .try_into()
                .map_err(|_| anyhow::anyhow!("{} is not a 32-byte key", path.display()))?;
            return Ok(NodeKey(SigningKey::from_bytes(&b)));
        }
        let key = SigningKey::generate(&mut rand::rngs::OsRng);
        zkinfer_prover::keys::write_atomically(&path, |w| {
            std::io::Write::write_all(w, &key.to_bytes())
        })?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
        }
        Ok(NodeKey(key))
    }

    /// The public key (hex).
    pub fn public_hex(&self) -> String {
        hex::encode(self.0.verifying_key().to_bytes())
    }

    /// A receipt for these values, signed.
    pub fn sign(
        &self,
        request_id: &str,
        model: &str,
        circuit: &str,
        input_hash: String,
        output_hash: String,
    ) -> Receipt {
        let mut r = Receipt {
            request_id: request_id.into(),
            model: model.into(),
            circuit: circuit.into(),
            input_hash,
            output_hash,
            node: self.public_hex(),
            signature: String::new(),
        };
        r.signature = hex::encode(self.0.sign(&r.message()).to_bytes());
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_receipt_verifies_and_any_changed_field_does_not() {
        let dir = std::env::temp_dir().join(format!("zkinfer-receipt-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let key = NodeKey::load_or_create(&dir).unwrap();
        let again = NodeKey::load_or_create(&dir).unwrap();
        assert_eq!(key.public_hex(), again.public_hex());
        let r = key.sign("r1", "mlp", "ab", tensor_hash(&[1, 2]), tensor_hash(&[3]));
        assert!(r.verify());
        let mut bad = r.clone();
        bad.output_hash = tensor_hash(&[4]);
        assert!(!bad.verify());
        let mut bad = r.clone();
        bad.request_id = "r2".into();
        assert!(!bad.verify());
        assert_ne!(tensor_hash(&[1, 2]), tensor_hash(&[2, 1]));
        std::fs::remove_dir_all(&dir).ok();
    }
}
