//! A zkey's phase-2 history (section 10; snarkjs `zkey_utils.js` `readMPCParams`,
//! `writeMPCParams`, `hashPubKey`): the circuit hash, then per contribution its δ after it,
//! its public key (g1_s, g1_sx = x·g1_s, g2_spx = x·hashToG2(transcript)), its transcript
//! hash, its kind and its parameters (name; for a beacon, the iteration exponent and beacon).

use super::encoding::{
    g1_from_lem, g1_uncompressed, g2_from_lem, g2_uncompressed, put_g1_lem, put_g2_lem, G1_BYTES,
    G2_BYTES,
};
use ark_bn254::{G1Affine, G2Affine};
use blake2::{Blake2b512, Digest};

/// One phase-2 contribution as the zkey records it.
#[derive(Clone, Debug, PartialEq)]
pub struct Contribution {
    /// δ·G1 after this contribution.
    pub delta_after: G1Affine,
    /// The contribution's public key: a random point, ...
    pub g1_s: G1Affine,
    /// ... that point times the contribution's secret x, ...
    pub g1_sx: G1Affine,
    /// ... and `hashToG2(transcript)` times x.
    pub g2_spx: G2Affine,
    /// BLAKE2b-512 of the circuit hash, the previous public keys and (g1_s, g1_sx).
    pub transcript: [u8; 64],
    /// The contributor's name (at most 64 characters).
    pub name: Option<String>,
    /// For a beacon: its hash and the exponent of SHA-256 iterations.
    pub beacon: Option<Beacon>,
}

/// A random beacon's parameters.
#[derive(Clone, Debug, PartialEq)]
pub struct Beacon {
    pub hash: Vec<u8>,
    pub iterations_exp: u8,
}

/// Section 10 of a zkey.
#[derive(Clone, Debug, PartialEq)]
pub struct MpcParams {
    /// The circuit hash `groth16 setup` computed (`csHash`).
    pub cs_hash: [u8; 64],
    pub contributions: Vec<Contribution>,
}

fn take<'a>(b: &mut &'a [u8], n: usize) -> Result<&'a [u8], String> {
    if b.len() < n {
        return Err("the contributions section is truncated".into());
    }
    let (h, t) = b.split_at(n);
    *b = t;
    Ok(h)
}

impl MpcParams {
    /// Parses section 10. Errors say what is malformed; points must be in their groups.
    pub fn parse(mut b: &[u8]) -> Result<Self, String> {
        let cs_hash = take(&mut b, 64)?.try_into().expect("64 bytes");
        let n = u32::from_le_bytes(take(&mut b, 4)?.try_into().expect("4 bytes"));
        let mut contributions = Vec::new();
        for i in 0..n {
            let at = |what: &str| format!("contribution #{}: {what}", i + 1);
            let g1 = |b: &mut &[u8], what: &str| {
                g1_from_lem(take(b, G1_BYTES)?).ok_or_else(|| at(&format!("{what} is not on G1")))
            };
            let delta_after = g1(&mut b, "deltaAfter")?;
            let g1_s = g1(&mut b, "g1_s")?;
            let g1_sx = g1(&mut b, "g1_sx")?;
            let g2_spx =
                g2_from_lem(take(&mut b, G2_BYTES)?).ok_or_else(|| at("g2_spx is not in G2"))?;
            let transcript = take(&mut b, 64)?.try_into().expect("64 bytes");
            let kind = u32::from_le_bytes(take(&mut b, 4)?.try_into().expect("4 bytes"));
            let len = u32::from_le_bytes(take(&mut b, 4)?.try_into().expect("4 bytes"));
            let mut p = take(&mut b, len as usize)?;
            let (mut name, mut exp, mut hash) = (None, None, None);
            let mut last = 0u8;
            while !p.is_empty() {
                let ty = take(&mut p, 1)?[0];
                if ty <= last {
                    return Err(at("parameters are not sorted"));
                }
                last = ty;
                match ty {
                    1 => {
                        let n = take(&mut p, 1)?[0] as usize;
                        name = Some(String::from_utf8_lossy(take(&mut p, n)?).into_owned());
                    }
                    2 => exp = Some(take(&mut p, 1)?[0]),
                    3 => {
                        let n = take(&mut p, 1)?[0] as usize;
                        hash = Some(take(&mut p, n)?.to_vec());
                    }
                    t => return Err(at(&format!("unknown parameter type {t}"))),
                }
            }
            let beacon = match (kind, exp, hash) {
                (0, _, _) => None,
                (1, Some(iterations_exp), Some(hash)) => Some(Beacon {
                    hash,
                    iterations_exp,
                }),
                (1, _, _) => return Err(at("a beacon without its parameters")),
                (k, _, _) => return Err(at(&format!("unknown contribution type {k}"))),
            };
            contributions.push(Contribution {
                delta_after,
                g1_s,
                g1_sx,
                g2_spx,
                transcript,
                name,
                beacon,
            });
        }
        if !b.is_empty() {
            return Err("trailing bytes after the contributions".into());
        }
        Ok(MpcParams {
            cs_hash,
            contributions,
        })
    }

    /// Section 10's content, as snarkjs writes it.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = self.cs_hash.to_vec();
        out.extend_from_slice(&(self.contributions.len() as u32).to_le_bytes());
        for c in &self.contributions {
            put_g1_lem(&c.delta_after, &mut out);
            put_g1_lem(&c.g1_s, &mut out);
            put_g1_lem(&c.g1_sx, &mut out);
            put_g2_lem(&c.g2_spx, &mut out);
            out.extend_from_slice(&c.transcript);
            out.extend_from_slice(&(c.beacon.is_some() as u32).to_le_bytes());
            let mut p = Vec::new();
            if let Some(name) = &c.name {
                let name = truncate_name(name);
                p.push(1);
                p.push(name.len() as u8);
                p.extend_from_slice(name.as_bytes());
            }
            if let Some(b) = &c.beacon {
                p.push(2);
                p.push(b.iterations_exp);
                p.push(3);
                p.push(b.hash.len() as u8);
                p.extend_from_slice(&b.hash);
            }
            out.extend_from_slice(&(p.len() as u32).to_le_bytes());
            out.extend_from_slice(&p);
        }
        out
    }

    /// The transcript hasher after the circuit hash and every recorded contribution: what the
    /// next contribution's transcript continues.
    pub fn transcript_prefix(&self) -> Blake2b512 {
        let mut h = Blake2b512::new();
        h.update(self.cs_hash);
        for c in &self.contributions {
            c.hash_into(&mut h);
        }
        h
    }
}

/// A name as snarkjs keeps it: its first 64 characters (and at most 255 bytes).
pub fn truncate_name(name: &str) -> &str {
    let mut end = name
        .char_indices()
        .nth(64)
        .map(|(i, _)| i)
        .unwrap_or(name.len());
    while end > 255 || !name.is_char_boundary(end) {
        end -= 1;
    }
    &name[..end]
}

impl Contribution {
    /// snarkjs's `hashPubKey`: δ after, the public key and the transcript.
    pub fn hash_into(&self, h: &mut Blake2b512) {
        h.update(g1_uncompressed(&self.delta_after));
        h.update(g1_uncompressed(&self.g1_s));
        h.update(g1_uncompressed(&self.g1_sx));
        h.update(g2_uncompressed(&self.g2_spx));
        h.update(self.transcript);
    }

    /// The contribution hash a contributor publishes (BLAKE2b-512 of [`Self::hash_into`]).
    pub fn hash(&self) -> [u8; 64] {
        let mut h = Blake2b512::new();
        self.hash_into(&mut h);
        h.finalize().into()
    }
}

/// A 64-byte hash as snarkjs prints it: four lines of four 32-bit big-endian words in hex.
pub fn format_hash(h: &[u8; 64]) -> String {
    h.chunks(16)
        .map(|line| {
            let words: Vec<String> = line.chunks(4).map(hex::encode).collect();
            format!("\t\t{}", words.join(" "))
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_ec::CurveGroup;
    use ark_std::UniformRand;

    fn sample() -> MpcParams {
        let mut rng = ark_std::test_rng();
        let g1 = |r: &mut _| ark_bn254::G1Projective::rand(r).into_affine();
        let c = |r: &mut _, name: Option<&str>, beacon| Contribution {
            delta_after: g1(r),
            g1_s: g1(r),
            g1_sx: g1(r),
            g2_spx: ark_bn254::G2Projective::rand(r).into_affine(),
            transcript: [7; 64],
            name: name.map(String::from),
            beacon,
        };
        MpcParams {
            cs_hash: [3; 64],
            contributions: vec![
                c(&mut rng, Some("alice"), None),
                c(&mut rng, None, None),
                c(
                    &mut rng,
                    Some("final"),
                    Some(Beacon {
                        hash: vec![1, 2, 3],
                        iterations_exp: 10,
                    }),
                ),
            ],
        }
    }

    #[test]
    fn contributions_round_trip_and_truncation_is_an_error() {
        let m = sample();
        let b = m.to_bytes();
        assert_eq!(MpcParams::parse(&b).unwrap(), m);
        assert!(MpcParams::parse(&b[..b.len() - 1]).is_err());
        let mut off_curve = b.clone();
        off_curve[68] ^= 1; // the first contribution's δ
        assert!(MpcParams::parse(&off_curve).is_err());
    }

    #[test]
    fn names_keep_their_first_64_characters() {
        let long: String = "é".repeat(100);
        assert_eq!(truncate_name(&long).chars().count(), 64);
        assert_eq!(truncate_name("bob"), "bob");
    }
}
