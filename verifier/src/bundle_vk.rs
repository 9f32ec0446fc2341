//! The segmented `.vk` file: the verifying keys of a model cut into consecutive segments (DESIGN.md,
//! "Scale: segments"), with the model digest and public layout they belong to.
//!
//! Segment `k` of `n` has the public inputs `in_part(k) ++ out_part(k)`:
//! - `in_part(0)` is the model input as its layout and visibility say ([`public_part`]: its packed
//!   values, or one element, their Poseidon hash); `in_part(k > 0)` is one element, the hash of
//!   the tensors crossing the boundary between segments `k - 1` and `k`;
//! - `out_part(n - 1)` is the model output as its layout and visibility say; `out_part(k < n - 1)`
//!   is one element, the hash of the tensors crossing the boundary between `k` and `k + 1`.
//!
//! [`public_part`]: crate::layout::public_part

use std::path::Path;

use crate::error::VerifyError;
use crate::files::{read_bytes, write_atomic};
use crate::keys::VerifyingKey;
use crate::layout::{public_part_len, PublicLayout};
use crate::vk_file::{read_header, read_layout, read_u32, take, write_layout};

/// The segmented `.vk` file's magic tag (a single-key `.vk` starts with `b"ZKVK"`).
pub const BUNDLE_VK_MAGIC: [u8; 4] = *b"ZKVB";
/// The segmented `.vk` format version this crate reads and writes.
pub const BUNDLE_VK_FORMAT_VERSION: u32 = 1;
/// The most segments a model may be cut into.
pub const MAX_SEGMENTS: usize = 4096;
/// An upper bound on one segment's compressed key (about 2 million public inputs), so a forged
/// length is refused before it is trusted.
const MAX_SEGMENT_VK_BYTES: usize = 1 << 26;

/// One segment's verifying key and the digest of the segment's circuit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SegmentKey {
    /// SHA-256 digest of the segment's circuit, as the compiler computed it; each segment proof
    /// of a bundle names it. A label against mix-ups, like every digest (see [`crate::vk_file`]).
    pub digest: [u8; 32],
    /// The segment's Groth16 verifying key.
    pub vk: VerifyingKey,
}

/// The verifying keys of a segmented model, in segment order, with the model digest and the
/// model's public layout (input and output tensors and their visibilities).
///
/// As for a single-key `.vk`, the keys are the trust root: the file must come from a source the
/// caller trusts, and its digests are labels that catch files mixed up by accident.
///
/// Layout: magic `b"ZKVB"` | format version u32 LE (= 1) | model digest (32 bytes) | layout
/// length u32 LE | layout JSON ([`PublicLayout`]) | segment count u32 LE (1 to 4096) | per
/// segment: circuit digest (32 bytes) | key length u32 LE | [`VerifyingKey`] compressed.
///
/// A value returned by [`SegmentedVerifyingKeyFile::from_bytes`] has a valid layout, between 1
/// and [`MAX_SEGMENTS`] segments, keys whose points are on the curve and in the prime-order
/// subgroup, and segment `k`'s key takes exactly
/// [`SegmentedVerifyingKeyFile::segment_public_inputs`]`(k)` public inputs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SegmentedVerifyingKeyFile {
    /// SHA-256 digest of the whole quantised model; a proof bundle names the model by it.
    pub digest: [u8; 32],
    /// How the model input and output enter the first and last segments' public inputs.
    pub layout: PublicLayout,
    /// The segments' keys, first to last.
    pub segments: Vec<SegmentKey>,
}

/// Whether `bytes` starts like a segmented `.vk` (magic `b"ZKVB"`) rather than a single-key one.
pub fn is_segmented_vk(bytes: &[u8]) -> bool {
    bytes.starts_with(&BUNDLE_VK_MAGIC)
}

impl SegmentedVerifyingKeyFile {
    /// Number of segments.
    pub fn num_segments(&self) -> usize {
        self.segments.len()
    }

    /// The number of public inputs of `in_part(k)` (see the [module documentation](self)): the
    /// model input's for the first segment, one boundary hash for the others.
    pub fn input_part_len(&self, k: usize) -> usize {
        if k == 0 {
            public_part_len(&self.layout.input, self.layout.input_visibility)
        } else {
            1
        }
    }

    /// The number of public inputs of `out_part(k)`: the model output's for the last segment,
    /// one boundary hash for the others.
    pub fn output_part_len(&self, k: usize) -> usize {
        if k + 1 == self.segments.len() {
            public_part_len(&self.layout.output, self.layout.output_visibility)
        } else {
            1
        }
    }

    /// The number of public inputs segment `k`'s key must take.
    pub fn segment_public_inputs(&self, k: usize) -> usize {
        self.input_part_len(k)
            .saturating_add(self.output_part_len(k))
    }

    /// Checks the layout, the segment count and every key's number of public inputs: this is
    /// what every loaded file satisfies.
    pub fn check(&self) -> Result<(), VerifyError> {
        self.layout.validate()?;
        let n = self.segments.len();
        if n == 0 || n > MAX_SEGMENTS {
            return Err(VerifyError::bad(format!(
                "segmented vk file: {n} segments, expected 1 to {MAX_SEGMENTS}"
            )));
        }
        for (k, seg) in self.segments.iter().enumerate() {
            let expected = self.segment_public_inputs(k);
            if seg.vk.gamma_abc_g1.len() != expected.saturating_add(1) {
                return Err(VerifyError::bad(format!(
                    "segmented vk file inconsistent: segment {k} (of {n}) must take {expected} public inputs, its key takes {}",
                    seg.vk.num_public_inputs()
                )));
            }
        }
        Ok(())
    }

    /// The file's bytes (see the type's documentation for the layout).
    pub fn to_bytes(&self) -> Vec<u8> {
        let keys: usize = self
            .segments
            .iter()
            .map(|s| 36 + s.vk.compressed_size())
            .sum();
        let mut out = Vec::with_capacity(1024 + keys);
        out.extend_from_slice(&BUNDLE_VK_MAGIC);
        out.extend_from_slice(&BUNDLE_VK_FORMAT_VERSION.to_le_bytes());
        out.extend_from_slice(&self.digest);
        write_layout(&mut out, &self.layout);
        out.extend_from_slice(&(self.segments.len() as u32).to_le_bytes());
        for seg in &self.segments {
            let vk = seg.vk.to_compressed_bytes();
            out.extend_from_slice(&seg.digest);
            out.extend_from_slice(&(vk.len() as u32).to_le_bytes());
            out.extend_from_slice(&vk);
        }
        out
    }

    /// Parses and checks a segmented `.vk` file: magic, version, every length against the bytes
    /// left and a sane bound (a truncated file names the part that is missing), the layout, the
    /// segment count (1 to [`MAX_SEGMENTS`]), each key's points, no trailing bytes, and each
    /// key's number of public inputs against the layout. Any failure is [`VerifyError::BadInput`].
    pub fn from_bytes(b: &[u8]) -> Result<Self, VerifyError> {
        let mut rest = b;
        let digest = read_header(
            &mut rest,
            BUNDLE_VK_MAGIC,
            BUNDLE_VK_FORMAT_VERSION,
            "segmented verifying key",
            "model",
        )?;
        let layout = read_layout(&mut rest)?;
        let n = read_u32(&mut rest, "the segment count")? as usize;
        if n == 0 || n > MAX_SEGMENTS {
            return Err(VerifyError::bad(format!(
                "segmented vk file: {n} segments, expected 1 to {MAX_SEGMENTS}"
            )));
        }
        // Each segment takes at least 36 bytes before its key: refuse a count the file cannot hold.
        if rest.len() / 36 < n {
            return Err(VerifyError::bad(format!(
                "vk file truncated: {n} segments announced, {} bytes left",
                rest.len()
            )));
        }
        let mut segments = Vec::with_capacity(n);
        for k in 0..n {
            let mut seg_digest = [0u8; 32];
            seg_digest.copy_from_slice(take(&mut rest, 32, &format!("segment {k}'s digest"))?);
            let len = read_u32(&mut rest, &format!("segment {k}'s key length"))? as usize;
            if len > MAX_SEGMENT_VK_BYTES {
                return Err(VerifyError::bad(format!(
                    "segmented vk file: segment {k}'s key length {len} is implausibly large"
                )));
            }
            let bytes = take(&mut rest, len, &format!("segment {k}'s key"))?;
            let vk = VerifyingKey::from_compressed_bytes(bytes)
                .map_err(|e| VerifyError::bad(format!("segmented vk file, segment {k}: {e}")))?;
            segments.push(SegmentKey {
                digest: seg_digest,
                vk,
            });
        }
        if !rest.is_empty() {
            return Err(VerifyError::bad(format!(
                "segmented vk file: {} trailing bytes after the last segment",
                rest.len()
            )));
        }
        let file = SegmentedVerifyingKeyFile {
            digest,
            layout,
            segments,
        };
        file.check()?;
        Ok(file)
    }

    /// Reads and parses a segmented `.vk` file (I/O errors are [`VerifyError::BadInput`] naming
    /// the path).
    pub fn read(path: &Path) -> Result<Self, VerifyError> {
        Self::from_bytes(&read_bytes(path)?)
    }

    /// Writes the file after checking it, atomically (a temporary file in the same directory,
    /// renamed over `path`), so a file this crate writes always loads back whole.
    pub fn write(&self, path: &Path) -> Result<(), VerifyError> {
        self.check()?;
        write_atomic(path, &self.to_bytes())
    }

    /// The model digest as 64 lowercase hex characters, as a proof bundle spells it.
    pub fn digest_hex(&self) -> String {
        hex::encode(self.digest)
    }
}
