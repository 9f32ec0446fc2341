//! Reading snarkjs's Groth16 `.zkey` (what `snarkjs groth16 setup` and its phase-2 ceremony
//! commands write), checking it was made for our circuit, and turning it into our keys.
//!
//! Format (snarkjs `src/zkey_utils.js`): `b"zkey"` | version u32 | section count u32 | sections,
//! each: type u32 | size u64 | content. 1: prover type (u32, 1 = Groth16). 2: n8q u32 | q |
//! n8r u32 | r | nVars u32 | nPublic u32 | domainSize u32 | alpha1 | beta1 | beta2 | gamma2 |
//! delta1 | delta2. 3: IC (nPublic + 1 G1). 4: coefficients of A and B: count u32, then per
//! entry matrix u32 (0 = A, 1 = B) | constraint u32 | signal u32 | value (n8r bytes, `v·R²`).
//! 5: A (nVars G1). 6: B (nVars G1). 7: B (nVars G2). 8: C (nVars − nPublic − 1 G1).
//! 9: H (domainSize G1). 10: the contributions. Field elements of points are little-endian in
//! Montgomery form with R = 2^256, which is arkworks' own representation; the point at
//! infinity is all zeros.

use crate::ceremony::encoding::{g1_from_lem, g2_from_lem, G1_BYTES, G2_BYTES};
use crate::ceremony::zkey_file::Groth16Header;
use ark_bn254::{Bn254, Fr, G1Affine, G2Affine};
use ark_ff::{BigInt, Field, PrimeField, Zero};
use ark_groth16::{ProvingKey, VerifyingKey};
use std::collections::BTreeMap;
use std::path::Path;
use zkinfer_circuits::r1cs::R1cs;

/// A Groth16 `.zkey`'s contents that our keys need.
pub struct Zkey {
    pub n_vars: usize,
    pub n_public: usize,
    pub domain_size: usize,
    /// `(matrix, constraint, signal, value)` of A (0) and B (1), in file order.
    pub coefficients: Vec<(u32, u32, u32, Fr)>,
    pub pk: ProvingKey<Bn254>,
}

/// Why a `.zkey` was refused: always bad input.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ZkeyError(String);

fn bad(m: impl Into<String>) -> ZkeyError {
    ZkeyError(m.into())
}

struct Cursor<'a> {
    b: &'a [u8],
    what: &'static str,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], ZkeyError> {
        if self.b.len() < n {
            return Err(bad(format!("zkey: section {} is truncated", self.what)));
        }
        let (h, t) = self.b.split_at(n);
        self.b = t;
        Ok(h)
    }
    fn u32(&mut self) -> Result<u32, ZkeyError> {
        Ok(u32::from_le_bytes(
            self.take(4)?.try_into().expect("4 bytes"),
        ))
    }
    fn limbs(&mut self) -> Result<[u64; 4], ZkeyError> {
        let b = self.take(32)?;
        let mut l = [0u64; 4];
        for (i, c) in b.chunks(8).enumerate() {
            l[i] = u64::from_le_bytes(c.try_into().expect("8 bytes"));
        }
        Ok(l)
    }
    /// A G1 point (the ceremony's LEM decoding: coordinates below q, on the curve).
    fn g1(&mut self) -> Result<G1Affine, ZkeyError> {
        let what = self.what;
        g1_from_lem(self.take(G1_BYTES)?).ok_or_else(|| {
            bad(format!(
                "zkey: section {what}: a G1 point is not on the curve"
            ))
        })
    }
    /// A G2 point (on the curve and in the prime-order subgroup).
    fn g2(&mut self) -> Result<G2Affine, ZkeyError> {
        let what = self.what;
        g2_from_lem(self.take(G2_BYTES)?).ok_or_else(|| {
            bad(format!(
                "zkey: section {what}: a G2 point is not in the group"
            ))
        })
    }
    fn g1s(&mut self, n: usize) -> Result<Vec<G1Affine>, ZkeyError> {
        (0..n).map(|_| self.g1()).collect()
    }
}

impl Zkey {
    /// Parses a Groth16 `.zkey` for BN254 (every point on its curve, every length checked).
    pub fn from_bytes(b: &[u8]) -> Result<Self, ZkeyError> {
        if b.len() < 12 || &b[..4] != b"zkey" {
            return Err(bad("not a snarkjs .zkey file (wrong magic bytes)"));
        }
        let n_sections = u32::from_le_bytes(b[8..12].try_into().expect("4 bytes"));
        let mut sections: BTreeMap<u32, &[u8]> = BTreeMap::new();
        let mut rest = &b[12..];
        for _ in 0..n_sections {
            if rest.len() < 12 {
                return Err(bad("zkey: truncated section table"));
            }
            let ty = u32::from_le_bytes(rest[..4].try_into().expect("4 bytes"));
            let size = u64::from_le_bytes(rest[4..12].try_into().expect("8 bytes"));
            let size = usize::try_from(size)
                .ok()
                .filter(|&s| s <= rest.len() - 12)
                .ok_or_else(|| bad(format!("zkey: section {ty} runs past the end of the file")))?;
            sections.insert(ty, &rest[12..12 + size]);
            rest = &rest[12 + size..];
        }
        let section = |ty: u32, what: &'static str| {
            sections
                .get(&ty)
                .map(|b| Cursor { b, what })
                .ok_or_else(|| bad(format!("zkey: section {ty} ({what}) is missing")))
        };
        let mut s1 = section(1, "header")?;
        if s1.u32()? != 1 {
            return Err(bad(
                "zkey: not a Groth16 key (snarkjs prover type is not 1)",
            ));
        }
        let h = Groth16Header::parse(section(2, "Groth16 header")?.b)
            .map_err(|e| bad(format!("zkey: {e}")))?;
        let (n_vars, n_public, domain_size) = (
            h.n_vars as usize,
            h.n_public as usize,
            h.domain_size as usize,
        );
        let (alpha_g1, beta_g1, beta_g2, gamma_g2, delta_g1, delta_g2) =
            (h.alpha1, h.beta1, h.beta2, h.gamma2, h.delta1, h.delta2);

        let gamma_abc_g1 = section(3, "IC")?.g1s(n_public + 1)?;
        let mut c = section(4, "coefficients")?;
        let count = c.u32()? as usize;
        // Stored as v·R² (snarkjs multiplies them in Montgomery form against Montgomery values).
        let r2_inv = Fr::from_bigint(Fr::R2)
            .and_then(|x| x.inverse())
            .expect("R² mod r is invertible");
        let mut coefficients = Vec::with_capacity(count.min(c.b.len() / 44));
        for _ in 0..count {
            let (m, k, sig) = (c.u32()?, c.u32()?, c.u32()?);
            let l = c.limbs()?;
            let v = Fr::from_bigint(BigInt::new(l))
                .ok_or_else(|| bad("zkey: a coefficient is not below r"))?;
            coefficients.push((m, k, sig, v * r2_inv));
        }
        let a_query = section(5, "A")?.g1s(n_vars)?;
        let b_g1_query = section(6, "B1")?.g1s(n_vars)?;
        let mut s7 = section(7, "B2")?;
        let b_g2_query = (0..n_vars)
            .map(|_| s7.g2())
            .collect::<Result<Vec<_>, _>>()?;
        let l_query = section(8, "C")?.g1s(n_vars - n_public - 1)?;
        let h_query = section(9, "H")?.g1s(domain_size)?;
        let vk = VerifyingKey {
            alpha_g1,
            beta_g2,
            gamma_g2,
            delta_g2,
            gamma_abc_g1,
        };
        Ok(Zkey {
            n_vars,
            n_public,
            domain_size,
            coefficients,
            pk: ProvingKey {
                vk,
                beta_g1,
                delta_g1,
                a_query,
                b_g1_query,
                b_g2_query,
                h_query,
                l_query,
            },
        })
    }

    /// Reads a `.zkey` file.
    pub fn read(path: &Path) -> Result<Self, ZkeyError> {
        let b =
            std::fs::read(path).map_err(|e| bad(format!("cannot read {}: {e}", path.display())))?;
        Self::from_bytes(&b).map_err(|e| bad(format!("{}: {e}", path.display())))
    }

    /// Checks that the key was made for `r1cs`: the same numbers of variables, public inputs
    /// and domain points, and A's and B's coefficients (snarkjs keeps those two; with the
    /// instance rows `A[m + i] = z_i` its setup adds) equal ours, term for term.
    pub fn check_circuit(&self, r1cs: &R1cs) -> Result<(), ZkeyError> {
        let m = r1cs.num_constraints();
        let n_public = r1cs.num_instance - 1;
        let domain = (m + r1cs.num_instance).next_power_of_two();
        if (self.n_vars, self.n_public, self.domain_size)
            != (r1cs.num_variables(), n_public, domain)
        {
            return Err(bad(format!(
                "the zkey is for another circuit: {} variables, {} public inputs, domain {}; this circuit has {}, {}, {}",
                self.n_vars,
                self.n_public,
                self.domain_size,
                r1cs.num_variables(),
                n_public,
                domain
            )));
        }
        let mut theirs: BTreeMap<(u32, u32, u32), Fr> = BTreeMap::new();
        for &(mat, k, sig, v) in &self.coefficients {
            *theirs.entry((mat, k, sig)).or_default() += v;
        }
        theirs.retain(|_, v| !v.is_zero());
        let mut ours: BTreeMap<(u32, u32, u32), Fr> = BTreeMap::new();
        for (mat, matrix) in [(0u32, &r1cs.a), (1, &r1cs.b)] {
            for row in 0..m {
                for (col, v) in matrix.row(row) {
                    *ours.entry((mat, row as u32, col as u32)).or_default() += v;
                }
            }
        }
        for i in 0..r1cs.num_instance {
            *ours.entry((0, (m + i) as u32, i as u32)).or_default() += Fr::ONE;
        }
        ours.retain(|_, v| !v.is_zero());
        if let Some((key, _)) = ours
            .iter()
            .find(|(k, v)| theirs.get(k) != Some(v))
            .or_else(|| theirs.iter().find(|(k, v)| ours.get(k) != Some(v)))
        {
            return Err(bad(format!(
                "the zkey is for another circuit: its {} coefficient of constraint {} on signal {} differs from this circuit's",
                if key.0 == 0 { "A" } else { "B" },
                key.1,
                key.2
            )));
        }
        Ok(())
    }
}
