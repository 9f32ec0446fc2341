//! The `.pk` proving-key file, the bundle of per-segment keys of a segmented model, and
//! conversions to the verifier's key and proof types.
//!
//! `.pk` layout: `b"ZKPK"` | format version (u32 LE) | circuit digest (32 bytes) |
//! SHA-256 of the body (32 bytes) | [version 2 only: the QAP reduction (u32 LE, 1 = snarkjs's)]
//! | body = arkworks *uncompressed* `ProvingKey<Bn254>`. Version 1 (keys from `zkinfer setup`)
//! is libsnark's reduction; version 2 names another (keys imported from a snarkjs `.zkey`).
//!
//! Departure from DESIGN.md (which says compressed): a proving key is read on every `prove`,
//! and decompressing plus subgroup-checking its points costs more than the proof itself for
//! small models. Integrity comes from the body hash instead (SHA-256 runs at ~1 GB/s), and the
//! key only ever comes from our own `setup`. The `.vk`, which a client receives from others,
//! stays compressed and fully validated.
//!
//! Keys are streamed both ways: written through a hashing writer and read through a hashing
//! reader, so a key is never held twice in memory (bytes and points) and is parsed once.
//!
//! Segment bundle (`setup` of a segmented model): `b"ZKPB"` | format version (u32 LE) | model
//! digest (32 bytes) | segment count n (u32 LE) | n × (segment digest (32 bytes), offset (u64
//! LE), length (u64 LE), the segment circuit's constraints, instance variables, witness
//! variables and nonzeros (4 × u64 LE)) | the n segment keys, each a complete `.pk` as above.
//! A prover reads the table (the shapes let it budget memory before loading anything), then
//! only the bytes of the segment it proves.

use ark_bn254::{Bn254, G1Affine};
use ark_groth16::{ProvingKey, VerifyingKey};
use ark_serialize::{
    CanonicalDeserialize, CanonicalSerialize, Compress, SerializationError, Validate,
};
use rayon::prelude::*;
use sha2::{Digest, Sha256};
use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use thiserror::Error;

use crate::estimate::CircuitShape;
use crate::groth16::QapReduction;

const MAGIC: &[u8; 4] = b"ZKPK";
const BUNDLE_MAGIC: &[u8; 4] = b"ZKPB";
/// The `.pk` format version of keys for libsnark's reduction (and of key bundles).
pub const VERSION: u32 = 1;
/// The `.pk` format version that records another QAP reduction after the header.
pub const VERSION_WITH_REDUCTION: u32 = 2;
const HEADER: usize = 4 + 4 + 32 + 32;
/// More segments than any model needs; a larger count in a file is corruption.
const MAX_SEGMENTS: u32 = 4096;

/// Why a key file could not be read.
#[derive(Debug, Error)]
pub enum KeyFileError {
    #[error("cannot read {path}: {err}")]
    Io { path: String, err: std::io::Error },
    #[error("{0}")]
    Format(String),
}

fn io_err(path: &Path) -> impl Fn(std::io::Error) -> KeyFileError + '_ {
    move |err| KeyFileError::Io {
        path: path.display().to_string(),
        err,
    }
}

/// Hashes everything read through it.
struct HashingReader<R> {
    inner: R,
    hash: Sha256,
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hash.update(&buf[..n]);
        Ok(n)
    }
}

/// Hashes everything written through it.
struct HashingWriter<W> {
    inner: W,
    hash: Sha256,
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hash.update(&buf[..n]);
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// A proving key bound to one circuit.
pub struct ProvingKeyFile {
    pub digest: [u8; 32],
    pub pk: ProvingKey<Bn254>,
    /// The QAP reduction the key was made for.
    pub reduction: QapReduction,
}

/// The temporary name a file is written under before it is renamed into place.
fn temp_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".tmp-{}", std::process::id()));
    path.with_file_name(name)
}

/// Writes `path` atomically: `fill` writes a temporary file beside it, which is synced and
/// renamed into place only on success, so a crash never leaves a half-written key.
pub fn write_atomically(
    path: &Path,
    fill: impl FnOnce(&mut BufWriter<File>) -> std::io::Result<()>,
) -> Result<(), KeyFileError> {
    let tmp = temp_path(path);
    let result = (|| {
        let mut w = BufWriter::new(File::create(&tmp)?);
        fill(&mut w)?;
        let f = w.into_inner().map_err(|e| e.into_error())?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.map_err(io_err(path))
}

impl ProvingKeyFile {
    /// Bytes of the file this key writes (header included), without serialising it.
    pub fn file_size(&self) -> u64 {
        (HEADER + self.reduction_tag_len() + self.pk.serialized_size(Compress::No)) as u64
    }

    fn reduction_tag_len(&self) -> usize {
        match self.reduction {
            QapReduction::Libsnark => 0,
            QapReduction::Snarkjs => 4,
        }
    }

    /// Streams the key file to `w` (which must be seekable: the body hash is written after the
    /// body, into the header). Leaves `w` positioned after the key.
    pub fn write_to<W: Write + Seek>(&self, w: &mut W) -> std::io::Result<()> {
        let start = w.stream_position()?;
        w.write_all(MAGIC)?;
        let version = match self.reduction {
            QapReduction::Libsnark => VERSION,
            QapReduction::Snarkjs => VERSION_WITH_REDUCTION,
        };
        w.write_all(&version.to_le_bytes())?;
        w.write_all(&self.digest)?;
        w.write_all(&[0u8; 32])?;
        if self.reduction == QapReduction::Snarkjs {
            w.write_all(&1u32.to_le_bytes())?;
        }
        let mut hw = HashingWriter {
            inner: &mut *w,
            hash: Sha256::new(),
        };
        self.pk
            .serialize_uncompressed(&mut hw)
            .map_err(std::io::Error::other)?;
        let hash = hw.hash.finalize();
        let end = w.stream_position()?;
        w.seek(SeekFrom::Start(start + 40))?;
        w.write_all(&hash)?;
        w.seek(SeekFrom::Start(end))?;
        Ok(())
    }

    /// The file's bytes (for tests and small keys; [`ProvingKeyFile::write`] streams).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut c = std::io::Cursor::new(Vec::with_capacity(self.file_size() as usize));
        self.write_to(&mut c)
            .expect("writing to memory cannot fail");
        c.into_inner()
    }

    /// Parses a key from `r`, which holds exactly one key file (`len` bytes): magic, version,
    /// and the body's hash, computed while the body streams into points.
    pub fn read_from<R: Read>(r: R, len: u64) -> Result<Self, KeyFileError> {
        let f = |m: &str| KeyFileError::Format(m.to_string());
        let mut r = r.take(len);
        let mut header = [0u8; HEADER];
        let mut got = 0;
        while got < HEADER {
            let n = r
                .read(&mut header[got..])
                .map_err(|e| KeyFileError::Format(format!("cannot read the key: {e}")))?;
            if n == 0 {
                break;
            }
            got += n;
        }
        if got >= 4 && &header[..4] == BUNDLE_MAGIC {
            return Err(f(
                "this is a segmented model's key bundle, not one circuit's key; prove with the segmented .zkc it was set up for",
            ));
        }
        if got < 4 || &header[..4] != MAGIC {
            return Err(f("not a zkinfer proving key (.pk): wrong magic bytes"));
        }
        if got < HEADER {
            return Err(f("truncated proving key: the header is incomplete"));
        }
        let version = u32::from_le_bytes(header[4..8].try_into().expect("4 bytes"));
        let reduction = match version {
            VERSION => QapReduction::Libsnark,
            VERSION_WITH_REDUCTION => {
                let mut tag = [0u8; 4];
                r.read_exact(&mut tag)
                    .map_err(|_| f("truncated proving key: the header is incomplete"))?;
                match u32::from_le_bytes(tag) {
                    1 => QapReduction::Snarkjs,
                    t => {
                        return Err(KeyFileError::Format(format!(
                            "proving key: unknown QAP reduction {t}"
                        )))
                    }
                }
            }
            _ => {
                return Err(KeyFileError::Format(format!(
                    "proving key format version {version}, this zkinfer reads versions {VERSION} and {VERSION_WITH_REDUCTION}; run setup again"
                )))
            }
        };
        let digest: [u8; 32] = header[8..40].try_into().expect("32 bytes");
        let mut hr = HashingReader {
            inner: r,
            hash: Sha256::new(),
        };
        let corrupt =
            || f("truncated or corrupted proving key: its content does not match its checksum");
        let pk = read_proving_key(&mut hr, len).map_err(|_| corrupt())?;
        let mut rest = [0u8; 1];
        if hr.read(&mut rest).map_err(|_| corrupt())? != 0 {
            return Err(f("corrupt proving key: trailing bytes"));
        }
        if hr.hash.finalize().as_slice() != &header[40..72] {
            return Err(corrupt());
        }
        Ok(ProvingKeyFile {
            digest,
            pk,
            reduction,
        })
    }

    /// Parses and checks a key file held in memory.
    pub fn from_bytes(b: &[u8]) -> Result<Self, KeyFileError> {
        Self::read_from(b, b.len() as u64)
    }

    /// Reads a key file, streamed (never held as bytes and points at once).
    pub fn read(path: &Path) -> Result<Self, KeyFileError> {
        let file = File::open(path).map_err(io_err(path))?;
        let len = file.metadata().map_err(io_err(path))?.len();
        Self::read_from(BufReader::with_capacity(1 << 20, file), len).map_err(|e| match e {
            KeyFileError::Format(m) => KeyFileError::Format(format!("{}: {m}", path.display())),
            e => e,
        })
    }

    /// Writes the key file atomically, streamed.
    pub fn write(&self, path: &Path) -> Result<(), KeyFileError> {
        write_atomically(path, |w| self.write_to(w))
    }
}

/// Reads a proving key as ark-serialize writes it uncompressed (the fields in order, a vector
/// as its `u64` length and its elements), the same values as `ProvingKey::deserialize_with_mode`
/// with `Compress::No` and `Validate::No`, but parsing the point vectors (nearly all the key)
/// in parallel, a bounded block of bytes at a time: arkworks reads point by point through the
/// reader, which was a tenth of a CNN `zkinfer prove`.
///
/// No vector is longer than `max_bytes` (the data's length) allows, and each is allocated once
/// at its length, as arkworks does.
fn read_proving_key<R: Read>(
    r: &mut R,
    max_bytes: u64,
) -> Result<ProvingKey<Bn254>, SerializationError> {
    let vk = VerifyingKey::<Bn254>::deserialize_with_mode(&mut *r, Compress::No, Validate::No)?;
    let beta_g1 = G1Affine::deserialize_with_mode(&mut *r, Compress::No, Validate::No)?;
    let delta_g1 = G1Affine::deserialize_with_mode(&mut *r, Compress::No, Validate::No)?;
    Ok(ProvingKey {
        vk,
        beta_g1,
        delta_g1,
        a_query: read_points(r, max_bytes)?,
        b_g1_query: read_points(r, max_bytes)?,
        b_g2_query: read_points(r, max_bytes)?,
        h_query: read_points(r, max_bytes)?,
        l_query: read_points(r, max_bytes)?,
    })
}

/// Points per block of [`read_points`]: 4 MiB of G1 points.
const POINTS_PER_BLOCK: usize = 1 << 16;

/// A vector of uncompressed points (its `u64` length, then the points), read a block at a
/// time and parsed in parallel. A length whose points would exceed `max_bytes` is refused
/// before any allocation; otherwise the vector is allocated once, at its length (growing it
/// block by block would overshoot, and a proving key is most of a prover's memory).
fn read_points<T, R>(r: &mut R, max_bytes: u64) -> Result<Vec<T>, SerializationError>
where
    T: CanonicalDeserialize + CanonicalSerialize + Default + Send,
    R: Read,
{
    let n = u64::deserialize_with_mode(&mut *r, Compress::No, Validate::No)?;
    let size = T::default().uncompressed_size();
    if n.saturating_mul(size as u64) > max_bytes {
        return Err(SerializationError::InvalidData);
    }
    let n = n as usize;
    let mut out = Vec::with_capacity(n);
    let mut bytes = vec![0u8; n.min(POINTS_PER_BLOCK) * size];
    while out.len() < n {
        let k = (n - out.len()).min(POINTS_PER_BLOCK);
        let block = &mut bytes[..k * size];
        r.read_exact(block)?;
        // Parsed straight into their places (no block-sized vector to copy from).
        let start = out.len();
        out.resize_with(start + k, T::default);
        out[start..]
            .par_iter_mut()
            .zip(block.par_chunks(size))
            .try_for_each(|(p, b)| {
                *p = T::deserialize_with_mode(b, Compress::No, Validate::No)?;
                Ok::<_, SerializationError>(())
            })?;
    }
    Ok(out)
}

/// Whether `path` starts with the magic of a segment key bundle.
pub fn is_bundle(path: &Path) -> Result<bool, KeyFileError> {
    let mut magic = [0u8; 4];
    let mut f = File::open(path).map_err(io_err(path))?;
    let n = f.read(&mut magic).map_err(io_err(path))?;
    Ok(n == 4 && &magic == BUNDLE_MAGIC)
}

/// One segment's entry in a key bundle's table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BundleEntry {
    /// The segment circuit's digest.
    pub digest: [u8; 32],
    /// Where its `.pk` lies in the bundle.
    pub offset: u64,
    pub len: u64,
    /// Its circuit's sizes, for memory estimates before the key is read.
    pub shape: CircuitShape,
}

const ENTRY: usize = 32 + 8 + 8 + 4 * 8;

/// The table of a segment key bundle: which bytes hold which segment's key.
#[derive(Clone, Debug)]
pub struct ProvingKeyBundle {
    pub path: PathBuf,
    /// The model's circuit digest.
    pub digest: [u8; 32],
    /// The segments, in order.
    pub segments: Vec<BundleEntry>,
}

impl ProvingKeyBundle {
    fn table_len(n: usize) -> u64 {
        (4 + 4 + 32 + 4 + n * ENTRY) as u64
    }

    /// Reads the bundle's table (not the keys), checking every entry lies inside the file.
    pub fn open(path: &Path) -> Result<Self, KeyFileError> {
        let fmt = |m: String| KeyFileError::Format(format!("{}: {m}", path.display()));
        let mut f = BufReader::new(File::open(path).map_err(io_err(path))?);
        let file_len = f.get_ref().metadata().map_err(io_err(path))?.len();
        let mut head = [0u8; 44];
        f.read_exact(&mut head)
            .map_err(|_| fmt("truncated proving key bundle".into()))?;
        if &head[..4] != BUNDLE_MAGIC {
            return Err(fmt(
                "not a zkinfer proving key bundle: wrong magic bytes".into()
            ));
        }
        let version = u32::from_le_bytes(head[4..8].try_into().expect("4 bytes"));
        if version != VERSION {
            return Err(fmt(format!(
                "proving key bundle format version {version}, this zkinfer reads version {VERSION}; run setup again"
            )));
        }
        let digest: [u8; 32] = head[8..40].try_into().expect("32 bytes");
        let n = u32::from_le_bytes(head[40..44].try_into().expect("4 bytes"));
        if n == 0 || n > MAX_SEGMENTS {
            return Err(fmt(format!("corrupt proving key bundle: {n} segments")));
        }
        let table_end = Self::table_len(n as usize);
        let mut segments = Vec::with_capacity(n as usize);
        for k in 0..n {
            let mut e = [0u8; ENTRY];
            f.read_exact(&mut e)
                .map_err(|_| fmt("truncated proving key bundle: its table is incomplete".into()))?;
            let word = |i: usize| {
                u64::from_le_bytes(e[32 + 8 * i..40 + 8 * i].try_into().expect("8 bytes"))
            };
            let (offset, len) = (word(0), word(1));
            if offset < table_end || offset.checked_add(len).is_none_or(|end| end > file_len) {
                return Err(fmt(format!(
                    "truncated or corrupt proving key bundle: segment {k}'s key lies outside the file"
                )));
            }
            let shape = CircuitShape {
                constraints: word(2) as usize,
                num_instance: word(3) as usize,
                num_witness: word(4) as usize,
                nonzeros: word(5) as usize,
            };
            segments.push(BundleEntry {
                digest: e[..32].try_into().expect("32 bytes"),
                offset,
                len,
                shape,
            });
        }
        Ok(ProvingKeyBundle {
            path: path.to_path_buf(),
            digest,
            segments,
        })
    }

    /// Reads segment `k`'s key: only its bytes, streamed.
    pub fn read_segment(&self, k: usize) -> Result<ProvingKeyFile, KeyFileError> {
        let BundleEntry {
            digest,
            offset: off,
            len,
            ..
        } = self.segments[k];
        let mut f = File::open(&self.path).map_err(io_err(&self.path))?;
        f.seek(SeekFrom::Start(off)).map_err(io_err(&self.path))?;
        let key =
            ProvingKeyFile::read_from(BufReader::with_capacity(1 << 20, f), len).map_err(|e| {
                match e {
                    KeyFileError::Format(m) => {
                        KeyFileError::Format(format!("{} segment {k}: {m}", self.path.display()))
                    }
                    e => e,
                }
            })?;
        if key.digest != digest {
            return Err(KeyFileError::Format(format!(
                "{}: segment {k}'s key is for another circuit than its table says",
                self.path.display()
            )));
        }
        Ok(key)
    }
}

/// Writes a segment key bundle key by key (each key is made, written and dropped before the
/// next, so setup holds one segment's key at a time), atomically: the bundle appears under
/// its name only when every segment's key is in it.
pub struct ProvingKeyBundleWriter {
    path: PathBuf,
    tmp: PathBuf,
    w: BufWriter<File>,
    table: Vec<BundleEntry>,
    n: usize,
}

impl ProvingKeyBundleWriter {
    /// Starts a bundle of `n` segment keys for the model with circuit digest `digest`.
    pub fn create(path: &Path, digest: [u8; 32], n: usize) -> Result<Self, KeyFileError> {
        let tmp = temp_path(path);
        let mut w = BufWriter::new(File::create(&tmp).map_err(io_err(path))?);
        let mut head = Vec::new();
        head.extend_from_slice(BUNDLE_MAGIC);
        head.extend_from_slice(&VERSION.to_le_bytes());
        head.extend_from_slice(&digest);
        head.extend_from_slice(&(n as u32).to_le_bytes());
        head.resize(ProvingKeyBundle::table_len(n) as usize, 0);
        w.write_all(&head).map_err(io_err(path))?;
        Ok(ProvingKeyBundleWriter {
            path: path.to_path_buf(),
            tmp,
            w,
            table: Vec::with_capacity(n),
            n,
        })
    }

    /// Appends the next segment's key, for a circuit of `shape`.
    pub fn append(
        &mut self,
        key: &ProvingKeyFile,
        shape: CircuitShape,
    ) -> Result<(), KeyFileError> {
        let offset = self.w.stream_position().map_err(io_err(&self.path))?;
        key.write_to(&mut self.w).map_err(io_err(&self.path))?;
        let end = self.w.stream_position().map_err(io_err(&self.path))?;
        self.table.push(BundleEntry {
            digest: key.digest,
            offset,
            len: end - offset,
            shape,
        });
        Ok(())
    }

    /// Writes the table and moves the bundle into place; every segment's key must be in.
    pub fn finish(mut self) -> Result<u64, KeyFileError> {
        assert_eq!(self.table.len(), self.n, "every segment's key appended");
        let path = self.path.clone();
        let result = (|| {
            let end = self.w.stream_position()?;
            self.w.seek(SeekFrom::Start(44))?;
            for e in &self.table {
                self.w.write_all(&e.digest)?;
                let s = &e.shape;
                for word in [
                    e.offset,
                    e.len,
                    s.constraints as u64,
                    s.num_instance as u64,
                    s.num_witness as u64,
                    s.nonzeros as u64,
                ] {
                    self.w.write_all(&word.to_le_bytes())?;
                }
            }
            let f = self.w.into_inner().map_err(|e| e.into_error())?;
            f.sync_all()?;
            std::fs::rename(&self.tmp, &self.path)?;
            Ok(end)
        })();
        result.map_err(io_err(&path))
    }
}

/// ark-groth16's verifying key as the verifier crate's (same fields, same serialisation).
/// Unchecked, hence crate-private: only for keys this crate's own setup just made.
pub(crate) fn to_verifier_vk(
    vk: &ark_groth16::VerifyingKey<Bn254>,
) -> zkinfer_verifier::VerifyingKey {
    zkinfer_verifier::VerifyingKey::new_unchecked(
        vk.alpha_g1,
        vk.beta_g2,
        vk.gamma_g2,
        vk.delta_g2,
        vk.gamma_abc_g1.clone(),
    )
}

/// ark-groth16's proof as the verifier crate's. Unchecked, hence crate-private: only for
/// proofs this crate's own prover just made.
pub(crate) fn to_verifier_proof(p: &ark_groth16::Proof<Bn254>) -> zkinfer_verifier::Proof {
    zkinfer_verifier::Proof::new_unchecked(p.a, p.b, p.c)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_bn254::{G1Projective, G2Affine, G2Projective};
    use ark_ec::{AffineRepr, CurveGroup};
    use ark_std::{rand::SeedableRng, UniformRand};

    fn g1s(n: usize, rng: &mut ark_std::rand::rngs::StdRng) -> Vec<G1Affine> {
        let mut v: Vec<G1Affine> = (0..n)
            .map(|_| G1Projective::rand(rng).into_affine())
            .collect();
        if n > 3 {
            v[2] = G1Affine::zero();
        }
        v
    }

    /// The parallel reader gives what arkworks' reader gives, over more than one block and
    /// with points at infinity, and refuses truncated data and absurd lengths.
    #[test]
    fn parallel_key_reader_matches_arkworks() {
        let mut rng = ark_std::rand::rngs::StdRng::seed_from_u64(9);
        let g2 = |rng: &mut ark_std::rand::rngs::StdRng| G2Projective::rand(rng).into_affine();
        let pk = ProvingKey::<Bn254> {
            vk: VerifyingKey {
                alpha_g1: G1Projective::rand(&mut rng).into_affine(),
                beta_g2: g2(&mut rng),
                gamma_g2: g2(&mut rng),
                delta_g2: g2(&mut rng),
                gamma_abc_g1: g1s(3, &mut rng),
            },
            beta_g1: G1Projective::rand(&mut rng).into_affine(),
            delta_g1: G1Affine::zero(),
            a_query: g1s(POINTS_PER_BLOCK + 5, &mut rng),
            b_g1_query: g1s(7, &mut rng),
            b_g2_query: vec![g2(&mut rng), G2Affine::zero(), g2(&mut rng)],
            h_query: Vec::new(),
            l_query: g1s(11, &mut rng),
        };
        let mut bytes = Vec::new();
        pk.serialize_uncompressed(&mut bytes).unwrap();
        let ours = read_proving_key(&mut bytes.as_slice(), bytes.len() as u64).unwrap();
        let theirs = ProvingKey::<Bn254>::deserialize_with_mode(
            bytes.as_slice(),
            Compress::No,
            Validate::No,
        )
        .unwrap();
        assert_eq!(ours, theirs);
        assert_eq!(ours, pk);
        // Truncated anywhere in the vectors.
        for cut in [bytes.len() - 1, bytes.len() / 2, 100] {
            assert!(
                read_proving_key(&mut &bytes[..cut], cut as u64).is_err(),
                "cut at {cut}"
            );
        }
        // A length of 2^60 points is refused before any allocation; a length the data's size
        // allows but the data lacks fails at its end.
        for claimed in [1u64 << 60, 20] {
            let mut absurd = Vec::new();
            claimed.serialize_uncompressed(&mut absurd).unwrap();
            absurd.extend_from_slice(&bytes[..64 * 10]);
            let len = absurd.len() as u64 * 2;
            assert!(read_points::<G1Affine, _>(&mut absurd.as_slice(), len).is_err());
        }
    }
}
