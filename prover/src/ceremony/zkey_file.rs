//! A Groth16 `.zkey` as the ceremony commands read it: its section table, the Groth16 header
//! (section 2) and the phase-2 history (section 10), with every section's size checked
//! against the header. The large sections stay on disk.

use super::binfile::BinFile;
use super::encoding::{g1_from_lem, g2_from_lem, put_g1_lem, put_g2_lem, G1_BYTES, G2_BYTES};
use super::mpc::MpcParams;
use super::CeremonyError;
use ark_bn254::{Fq, Fr, G1Affine, G2Affine};
use ark_ff::{BigInteger, PrimeField};
use std::path::Path;

/// Section numbers of a Groth16 zkey.
pub mod section {
    pub const HEADER: u32 = 1;
    pub const GROTH16: u32 = 2;
    pub const IC: u32 = 3;
    pub const COEFFS: u32 = 4;
    pub const A: u32 = 5;
    pub const B1: u32 = 6;
    pub const B2: u32 = 7;
    pub const C: u32 = 8;
    pub const H: u32 = 9;
    pub const CONTRIBUTIONS: u32 = 10;
}

/// Section 2: sizes and the verifying key's fixed points.
#[derive(Clone, Debug, PartialEq)]
pub struct Groth16Header {
    pub n_vars: u32,
    pub n_public: u32,
    pub domain_size: u32,
    pub alpha1: G1Affine,
    pub beta1: G1Affine,
    pub beta2: G2Affine,
    pub gamma2: G2Affine,
    pub delta1: G1Affine,
    pub delta2: G2Affine,
}

/// Bytes of section 2 for BN254.
pub const GROTH16_HEADER_BYTES: usize = 4 + 32 + 4 + 32 + 12 + 3 * G1_BYTES + 3 * G2_BYTES;

fn modulus_le<F: PrimeField>() -> Vec<u8> {
    F::MODULUS.to_bytes_le()
}

impl Groth16Header {
    /// Parses section 2; a curve other than BN254 or a point outside its group is refused.
    pub fn parse(b: &[u8]) -> Result<Self, String> {
        if b.len() != GROTH16_HEADER_BYTES {
            return Err(format!(
                "the Groth16 header has {} bytes, not {GROTH16_HEADER_BYTES} (not a BN254 key?)",
                b.len()
            ));
        }
        let u32_at = |i: usize| u32::from_le_bytes(b[i..i + 4].try_into().expect("4 bytes"));
        if u32_at(0) != 32
            || b[4..36] != modulus_le::<Fq>()[..]
            || u32_at(36) != 32
            || b[40..72] != modulus_le::<Fr>()[..]
        {
            return Err("not a BN254 (bn128) key".into());
        }
        let mut at = 84;
        let mut g1 = |what: &str| {
            let p = g1_from_lem(&b[at..at + G1_BYTES]);
            at += G1_BYTES;
            p.ok_or_else(|| format!("{what} is not on G1"))
        };
        let alpha1 = g1("alpha1")?;
        let beta1 = g1("beta1")?;
        let g2_at = |at: usize, what: &str| {
            g2_from_lem(&b[at..at + G2_BYTES]).ok_or_else(|| format!("{what} is not in G2"))
        };
        let beta2 = g2_at(84 + 2 * G1_BYTES, "beta2")?;
        let gamma2 = g2_at(84 + 2 * G1_BYTES + G2_BYTES, "gamma2")?;
        let d1 = 84 + 2 * G1_BYTES + 2 * G2_BYTES;
        let delta1 =
            g1_from_lem(&b[d1..d1 + G1_BYTES]).ok_or_else(|| "delta1 is not on G1".to_string())?;
        let delta2 = g2_at(d1 + G1_BYTES, "delta2")?;
        let h = Groth16Header {
            n_vars: u32_at(72),
            n_public: u32_at(76),
            domain_size: u32_at(80),
            alpha1,
            beta1,
            beta2,
            gamma2,
            delta1,
            delta2,
        };
        if !h.domain_size.is_power_of_two() || h.n_public + 1 > h.n_vars {
            return Err("inconsistent sizes in the Groth16 header".into());
        }
        Ok(h)
    }

    /// Section 2's content.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(GROTH16_HEADER_BYTES);
        out.extend_from_slice(&32u32.to_le_bytes());
        out.extend_from_slice(&modulus_le::<Fq>());
        out.extend_from_slice(&32u32.to_le_bytes());
        out.extend_from_slice(&modulus_le::<Fr>());
        for v in [self.n_vars, self.n_public, self.domain_size] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        put_g1_lem(&self.alpha1, &mut out);
        put_g1_lem(&self.beta1, &mut out);
        put_g2_lem(&self.beta2, &mut out);
        put_g2_lem(&self.gamma2, &mut out);
        put_g1_lem(&self.delta1, &mut out);
        put_g2_lem(&self.delta2, &mut out);
        out
    }

    /// The expected content size of each point section.
    pub fn section_bytes(&self, ty: u32) -> u64 {
        let (v, p, d) = (
            self.n_vars as u64,
            self.n_public as u64,
            self.domain_size as u64,
        );
        let (g1, g2) = (G1_BYTES as u64, G2_BYTES as u64);
        match ty {
            section::IC => (p + 1) * g1,
            section::A | section::B1 => v * g1,
            section::B2 => v * g2,
            section::C => (v - p - 1) * g1,
            section::H => d * g1,
            _ => unreachable!("not a point section"),
        }
    }
}

/// An open zkey: file, header and history.
pub struct ZkeyFile {
    pub bin: BinFile,
    pub header: Groth16Header,
    pub mpc: MpcParams,
}

impl ZkeyFile {
    /// Opens a Groth16 zkey and checks its structure (every section present, with the size
    /// its header implies).
    pub fn open(path: &Path) -> Result<Self, CeremonyError> {
        let mut bin = BinFile::open(path, b"zkey", 2)?;
        let h1 = bin.read_section(section::HEADER, "header")?;
        if h1.len() != 4 || h1[..4] != 1u32.to_le_bytes() {
            return Err(bin.bad("not a Groth16 key (snarkjs prover type is not 1)"));
        }
        let header = Groth16Header::parse(&bin.read_section(section::GROTH16, "Groth16 header")?)
            .map_err(|e| bin.bad(e))?;
        for (ty, what) in [
            (section::IC, "IC"),
            (section::A, "A"),
            (section::B1, "B1"),
            (section::B2, "B2"),
            (section::C, "C"),
            (section::H, "H"),
        ] {
            let (_, size) = bin.section(ty, what)?;
            if size != header.section_bytes(ty) {
                return Err(bin.bad(format!(
                    "section {ty} ({what}) has {size} bytes; the header implies {}",
                    header.section_bytes(ty)
                )));
            }
        }
        bin.section(section::COEFFS, "coefficients")?;
        let mpc = MpcParams::parse(&bin.read_section(section::CONTRIBUTIONS, "contributions")?)
            .map_err(|e| bin.bad(e))?;
        Ok(ZkeyFile { bin, header, mpc })
    }
}
