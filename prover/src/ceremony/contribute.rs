//! `ceremony contribute` and `ceremony beacon`: a phase-2 contribution, as snarkjs's
//! `zkey contribute` and `zkey beacon` make it (`src/zkey_contribute.js`, `zkey_beacon.js`).
//! A secret x from the stream, a public key (g1_s, x·g1_s, x·hashToG2(transcript)), δ ← x·δ,
//! and the L (C) and H sections divided by x; every other section is copied. The key is read
//! and written a chunk of points at a time.

use super::binfile::{start_section, to_io, write_header, write_section};
use super::encoding::{g1_from_lem, put_g1_lem, G1_BYTES};
use super::mpc::{truncate_name, Beacon, Contribution};
use super::rng::{beacon_rng, contribution_rng, hash_to_g2, ChaCha};
use super::zkey_file::{section, ZkeyFile};
use super::CeremonyError;
use ark_bn254::{Fr, G1Projective};
use ark_ec::CurveGroup;
use ark_ff::{Field, Zero};
use blake2::Digest;
use rayon::prelude::*;
use std::io::Write;
use std::path::Path;

/// Where a contribution's secret comes from.
pub enum Source<'a> {
    /// OS randomness mixed with the contributor's text.
    Random { entropy: &'a str },
    /// A public random beacon: reproducible by anyone, so it must come last.
    Beacon { hash: &'a [u8], iterations_exp: u8 },
}

/// What a contribution did.
pub struct ContributionSummary {
    /// The hash the contributor publishes (BLAKE2b-512 of its public key and transcript).
    pub hash: [u8; 64],
    /// Its position in the history, from 1.
    pub index: usize,
    pub cs_hash: [u8; 64],
}

/// Points per chunk when applying the key.
const CHUNK: usize = 1 << 16;

/// Reads `input`, adds one contribution, writes `output` atomically.
pub fn contribute(
    input: &Path,
    output: &Path,
    source: Source,
    name: Option<&str>,
) -> Result<ContributionSummary, CeremonyError> {
    let mut z = ZkeyFile::open(input)?;
    let beacon = match source {
        Source::Beacon {
            hash,
            iterations_exp,
        } => {
            if hash.is_empty() || hash.len() > 255 {
                return Err(CeremonyError::BadInput(
                    "--beacon must be 1 to 255 bytes of hex".into(),
                ));
            }
            if !(10..=63).contains(&iterations_exp) {
                return Err(CeremonyError::BadInput(
                    "--iterations (the exponent: 2^N SHA-256 rounds) must be 10 to 63".into(),
                ));
            }
            Some(Beacon {
                hash: hash.to_vec(),
                iterations_exp,
            })
        }
        Source::Random { .. } => None,
    };
    let mut rng: ChaCha = match (&source, &beacon) {
        (Source::Random { entropy }, _) => contribution_rng(entropy),
        (_, Some(b)) => beacon_rng(&b.hash, b.iterations_exp as u32),
        _ => unreachable!("a beacon has its parameters"),
    };
    let x: Fr = rng.fr();
    if x.is_zero() {
        return Err(CeremonyError::BadInput(
            "the contribution's secret came out zero; run it again".into(),
        ));
    }
    let g1_s = rng.g1();
    let g1_sx = (g1_s * x).into_affine();
    let mut t = z.mpc.transcript_prefix();
    t.update(super::encoding::g1_uncompressed(&g1_s));
    t.update(super::encoding::g1_uncompressed(&g1_sx));
    let transcript: [u8; 64] = t.finalize().into();
    let g2_spx = (hash_to_g2(&transcript) * x).into_affine();
    let mut header = z.header.clone();
    header.delta1 = (header.delta1 * x).into_affine();
    header.delta2 = (header.delta2 * x).into_affine();
    let c = Contribution {
        delta_after: header.delta1,
        g1_s,
        g1_sx,
        g2_spx,
        transcript,
        name: name.map(|n| truncate_name(n).to_string()),
        beacon,
    };
    let hash = c.hash();
    let mut mpc = z.mpc.clone();
    mpc.contributions.push(c);
    let inv = x.inverse().expect("x is not zero");

    crate::keys::write_atomically(output, |w| {
        write_header(w, b"zkey", 10)?;
        write_section(w, section::HEADER, &1u32.to_le_bytes())?;
        write_section(w, section::GROTH16, &header.to_bytes())?;
        for ty in [
            section::IC,
            section::COEFFS,
            section::A,
            section::B1,
            section::B2,
        ] {
            z.bin.copy_section(ty, w)?;
        }
        for ty in [section::C, section::H] {
            apply_key(&mut z, ty, inv, w).map_err(to_io)?;
        }
        write_section(w, section::CONTRIBUTIONS, &mpc.to_bytes())
    })
    .map_err(|e| CeremonyError::from_key_file(e, output))?;
    Ok(ContributionSummary {
        hash,
        index: mpc.contributions.len(),
        cs_hash: mpc.cs_hash,
    })
}

/// Writes section `ty` of `z` with every G1 point multiplied by `s`.
fn apply_key<W: Write>(z: &mut ZkeyFile, ty: u32, s: Fr, w: &mut W) -> Result<(), CeremonyError> {
    let (at, size) = z.bin.section(ty, "points")?;
    start_section(w, ty, size).map_err(write_failed)?;
    let n = (size / G1_BYTES as u64) as usize;
    let mut done = 0;
    while done < n {
        let k = CHUNK.min(n - done);
        let raw = z.bin.read_at(at + (done * G1_BYTES) as u64, k * G1_BYTES)?;
        let scaled: Result<Vec<G1Projective>, usize> = raw
            .par_chunks(G1_BYTES)
            .enumerate()
            .map(|(i, b)| g1_from_lem(b).map(|p| p * s).ok_or(done + i))
            .collect();
        let scaled =
            scaled.map_err(|i| z.bin.bad(format!("section {ty}: point {i} is not on G1")))?;
        let mut out = Vec::with_capacity(k * G1_BYTES);
        for p in G1Projective::normalize_batch(&scaled) {
            put_g1_lem(&p, &mut out);
        }
        w.write_all(&out).map_err(write_failed)?;
        done += k;
    }
    Ok(())
}

fn write_failed(e: std::io::Error) -> CeremonyError {
    CeremonyError::BadInput(format!("cannot write the new zkey: {e}"))
}
