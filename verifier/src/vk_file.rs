//! The `.vk` file: a verifying key together with the circuit digest and public layout it belongs to.

use std::path::Path;

use crate::error::VerifyError;
use crate::files::{read_bytes, write_atomic};
use crate::keys::VerifyingKey;
use crate::layout::PublicLayout;

/// The `.vk` file's magic tag.
pub const VK_MAGIC: [u8; 4] = *b"ZKVK";
/// The `.vk` format version this crate reads and writes.
pub const VK_FORMAT_VERSION: u32 = 1;
/// An upper bound on the layout JSON, so a forged length is refused before it is trusted.
const MAX_LAYOUT_JSON: usize = 1 << 20;

/// A verifying key together with the circuit digest and public layout it was set up for.
///
/// The key is the trust root: the verifier trusts whatever key it is given, so the file must
/// come from a source the caller trusts. The digest does not bind the key to a model in any
/// cryptographic sense: it is a label, checked against proof.json's to catch files mixed up by
/// accident, and anyone can write a `.vk` with any digest and any key.
///
/// Layout: magic `b"ZKVK"` (4 bytes) | format version u32 LE (= 1) | circuit digest (32 bytes,
/// SHA-256 computed by the compiler) | layout length u32 LE | layout as serde_json bytes
/// ([`PublicLayout`]) | [`VerifyingKey`] compressed (rest of file).
///
/// A value returned by [`VerifyingKeyFile::from_bytes`] has a valid layout (bits in `1..=64`)
/// that is consistent with its key (`gamma_abc_g1.len() == 1 + num_public_inputs`), and every
/// point of the key is on the curve and in the prime-order subgroup.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifyingKeyFile {
    /// SHA-256 digest of the quantised circuit, as the compiler computed it; proofs name the
    /// circuit they are for by it. Nothing checks it against the key: it guards against
    /// accidents, not against whoever wrote the file.
    pub digest: [u8; 32],
    /// How the public tensors are packed into the key's public inputs.
    pub layout: PublicLayout,
    /// The Groth16 verifying key.
    pub vk: VerifyingKey,
}

/// Splits `n` bytes off the front of `rest`, or says which part of the file is missing.
pub(crate) fn take<'a>(rest: &mut &'a [u8], n: usize, what: &str) -> Result<&'a [u8], VerifyError> {
    if rest.len() < n {
        return Err(VerifyError::bad(format!(
            "vk file truncated: {what} needs {n} bytes, {} left",
            rest.len()
        )));
    }
    let (head, tail) = rest.split_at(n);
    *rest = tail;
    Ok(head)
}

pub(crate) fn read_u32(rest: &mut &[u8], what: &str) -> Result<u32, VerifyError> {
    let b = take(rest, 4, what)?;
    Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

/// Reads the header every key file starts with: `magic`, format `version` (u32 LE) and a
/// 32-byte digest, which it returns. `kind` ("verifying key") and `digest_name` ("circuit") word
/// the errors.
pub(crate) fn read_header(
    rest: &mut &[u8],
    magic: [u8; 4],
    version: u32,
    kind: &str,
    digest_name: &str,
) -> Result<[u8; 32], VerifyError> {
    let found = take(rest, 4, "the magic tag")?;
    if found != magic {
        return Err(VerifyError::bad(format!(
            "not a zkinfer {kind}: magic {found:02x?}, expected {:?}",
            String::from_utf8_lossy(&magic)
        )));
    }
    let found = read_u32(rest, "the format version")?;
    if found != version {
        return Err(VerifyError::bad(format!(
            "unsupported {kind} format version {found} (this verifier reads {version})"
        )));
    }
    let mut digest = [0u8; 32];
    digest.copy_from_slice(take(rest, 32, &format!("the {digest_name} digest"))?);
    Ok(digest)
}

/// Reads a length-prefixed (u32 LE) layout JSON, checks its length and validates it.
pub(crate) fn read_layout(rest: &mut &[u8]) -> Result<PublicLayout, VerifyError> {
    let layout_len = read_u32(rest, "the layout length")? as usize;
    if layout_len > MAX_LAYOUT_JSON {
        return Err(VerifyError::bad(format!(
            "vk file: layout length {layout_len} is implausibly large"
        )));
    }
    let layout_json = take(rest, layout_len, "the layout")?;
    let layout: PublicLayout = serde_json::from_slice(layout_json)
        .map_err(|e| VerifyError::bad(format!("vk file: layout is not valid JSON: {e}")))?;
    layout.validate()?;
    Ok(layout)
}

/// Appends a length-prefixed (u32 LE) layout JSON, as [`read_layout`] reads it.
pub(crate) fn write_layout(out: &mut Vec<u8>, layout: &PublicLayout) {
    let json = serde_json::to_vec(layout).expect("a PublicLayout always serialises");
    out.extend_from_slice(&(json.len() as u32).to_le_bytes());
    out.extend_from_slice(&json);
}

impl VerifyingKeyFile {
    /// Checks the layout itself and against the key: this is what every loaded file satisfies.
    pub fn check(&self) -> Result<(), VerifyError> {
        self.layout.validate()?;
        let expected = self.layout.num_public_inputs();
        if self.vk.gamma_abc_g1.len() != expected.saturating_add(1) {
            return Err(VerifyError::bad(format!(
                "vk file inconsistent: the layout packs into {expected} public inputs but the key has {} gamma_abc_g1 points (expected {})",
                self.vk.gamma_abc_g1.len(),
                expected.saturating_add(1)
            )));
        }
        Ok(())
    }

    /// The file's bytes (see the type's documentation for the layout).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(1024 + self.vk.compressed_size());
        out.extend_from_slice(&VK_MAGIC);
        out.extend_from_slice(&VK_FORMAT_VERSION.to_le_bytes());
        out.extend_from_slice(&self.digest);
        write_layout(&mut out, &self.layout);
        out.extend_from_slice(&self.vk.to_compressed_bytes());
        out
    }

    /// Parses and checks a `.vk` file: magic, version, every length (a truncated file names the
    /// part that is missing), the layout, the key's points, no trailing bytes, and the layout's
    /// consistency with the key. Any failure is [`VerifyError::BadInput`].
    pub fn from_bytes(b: &[u8]) -> Result<Self, VerifyError> {
        let mut rest = b;
        let digest = read_header(
            &mut rest,
            VK_MAGIC,
            VK_FORMAT_VERSION,
            "verifying key",
            "circuit",
        )?;
        let layout = read_layout(&mut rest)?;
        if rest.is_empty() {
            return Err(VerifyError::bad(
                "vk file truncated: the verifying key is missing",
            ));
        }
        let vk = VerifyingKey::from_compressed_bytes(rest)?;
        let file = VerifyingKeyFile { digest, layout, vk };
        file.check()?;
        Ok(file)
    }

    /// Reads and parses a `.vk` file (I/O errors are [`VerifyError::BadInput`] naming the path).
    pub fn read(path: &Path) -> Result<Self, VerifyError> {
        Self::from_bytes(&read_bytes(path)?)
    }

    /// Writes the file after checking it, so a `.vk` this crate writes always loads back.
    pub fn write(&self, path: &Path) -> Result<(), VerifyError> {
        self.check()?;
        write_atomic(path, &self.to_bytes())
    }

    /// The digest as 64 lowercase hex characters, as proof.json spells it.
    pub fn digest_hex(&self) -> String {
        hex::encode(self.digest)
    }
}
