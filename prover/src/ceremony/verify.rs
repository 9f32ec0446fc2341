//! `ceremony verify`: a zkey checked against its circuit and `.ptau`, as `snarkjs zkey
//! verify` does (`src/zkey_verify_frominit.js`): the initial key is rebuilt natively
//! from the `.ptau`, every contribution's public key and transcript are checked in order,
//! and the final key must be the initial one with L and H divided by the final δ.

use super::binfile::BinFile;
use super::encoding::{g1_uncompressed, g1s_from_lem, G1_BYTES};
use super::init::init;
use super::mpc::Contribution;
use super::ptau::{random_scalars, same_ratio, Ptau};
use super::rng::{beacon_rng, hash_to_g2};
use super::zkey_file::{section, ZkeyFile};
use super::CeremonyError;
use ark_bn254::{G1Affine, G1Projective, G2Affine};
use ark_ec::{AffineRepr, CurveGroup, VariableBaseMSM};
use blake2::Digest;
use std::path::Path;
use zkinfer_circuits::r1cs::R1cs;

/// What a verified ceremony consists of.
pub struct Verified {
    pub cs_hash: [u8; 64],
    /// Per contribution: its hash, name and, for a beacon, its parameters.
    pub contributions: Vec<Contribution>,
}

fn invalid(m: impl Into<String>) -> CeremonyError {
    CeremonyError::Invalid(m.into())
}

fn describe(i: usize, c: &Contribution) -> String {
    match &c.name {
        Some(n) => format!("contribution #{} ('{n}')", i + 1),
        None => format!("contribution #{}", i + 1),
    }
}

/// Checks the history of `z`: each transcript continues the previous ones, each public key
/// has one secret in G1 and G2, each δ follows from the previous by that secret, and a
/// beacon's key is what its beacon yields. Returns the final δ·G1.
pub fn check_history(z: &ZkeyFile) -> Result<G1Affine, CeremonyError> {
    let mut acc = blake2::Blake2b512::new();
    acc.update(z.mpc.cs_hash);
    let mut delta = G1Affine::generator();
    for (i, c) in z.mpc.contributions.iter().enumerate() {
        let who = describe(i, c);
        let mut t = acc.clone();
        t.update(g1_uncompressed(&c.g1_s));
        t.update(g1_uncompressed(&c.g1_sx));
        if <[u8; 64]>::from(t.finalize()) != c.transcript {
            return Err(invalid(format!("{who}: inconsistent transcript")));
        }
        let g2_sp = hash_to_g2(&c.transcript);
        if !same_ratio(c.g1_s, c.g1_sx, g2_sp, c.g2_spx) {
            return Err(invalid(format!(
                "{who}: its public key's G1 and G2 parts do not have the same secret"
            )));
        }
        if !same_ratio(delta, c.delta_after, g2_sp, c.g2_spx) {
            return Err(invalid(format!(
                "{who}: δ after it does not follow from δ before it by its public key"
            )));
        }
        if let Some(b) = &c.beacon {
            let mut rng = beacon_rng(&b.hash, b.iterations_exp as u32);
            let x = rng.fr();
            let g1_s = rng.g1();
            if g1_s != c.g1_s || (g1_s * x).into_affine() != c.g1_sx {
                return Err(invalid(format!(
                    "{who}: its key is not the one its beacon yields"
                )));
            }
        }
        c.hash_into(&mut acc);
        delta = c.delta_after;
    }
    Ok(delta)
}

/// Σ r_i p_i over a G1 section of `f`, `r` drawn fresh, read a chunk at a time.
fn combine(f: &mut BinFile, ty: u32, r: &[ark_bn254::Fr]) -> Result<G1Affine, CeremonyError> {
    let (at, size) = f.section(ty, "points")?;
    let n = (size / G1_BYTES as u64) as usize;
    let mut acc = G1Projective::default();
    let chunk = 1 << 18;
    let mut done = 0;
    while done < n {
        let k = chunk.min(n - done);
        let b = f.read_at(at + (done * G1_BYTES) as u64, k * G1_BYTES)?;
        let ps = g1s_from_lem(&b)
            .map_err(|i| f.bad(format!("section {ty}: point {} is not on G1", done + i)))?;
        acc += G1Projective::msm_unchecked(&ps, &r[done..done + k]);
        done += k;
    }
    Ok(acc.into_affine())
}

/// Whether section `ty` of the final key is that of the initial key divided by δ:
/// e(Σ r_i init_i, δ_init) = e(Σ r_i final_i, δ_final).
fn divided_by_delta(
    init: &mut BinFile,
    fin: &mut BinFile,
    ty: u32,
    delta_init: G2Affine,
    delta_final: G2Affine,
) -> Result<bool, CeremonyError> {
    let (_, size) = init.section(ty, "points")?;
    let r = random_scalars((size / G1_BYTES as u64) as usize);
    let a = combine(init, ty, &r)?;
    let b = combine(fin, ty, &r)?;
    if a.is_zero() && b.is_zero() {
        return Ok(true);
    }
    Ok(same_ratio(a, b, delta_final, delta_init))
}

/// Verifies the zkey at `zkey` for `r1cs` and the `.ptau` at `ptau`. Bad files are
/// `BadInput`; a key that does not check is `Invalid`, naming the contribution at fault
/// where one is.
pub fn verify(r1cs: &R1cs, ptau: &Path, zkey: &Path) -> Result<Verified, CeremonyError> {
    let mut z = ZkeyFile::open(zkey)?;
    let final_delta = check_history(&z)?;
    let mut p = Ptau::open(ptau)?;
    let tmp = std::env::temp_dir().join(format!(
        "zkinfer-ceremony-init-{}-{}.zkey",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0)
    ));
    let result = (|| {
        let summary = init(r1cs, &mut p, &tmp)?;
        let mut first = ZkeyFile::open(&tmp)?;
        let (h0, h) = (&summary.header, &z.header);
        if (h.n_vars, h.n_public, h.domain_size) != (h0.n_vars, h0.n_public, h0.domain_size) {
            return Err(invalid(format!(
                "the zkey is for another circuit: {} variables, {} public inputs, domain {}; this circuit has {}, {}, {}",
                h.n_vars, h.n_public, h.domain_size, h0.n_vars, h0.n_public, h0.domain_size
            )));
        }
        if z.mpc.cs_hash != summary.cs_hash {
            return Err(invalid(
                "the zkey's circuit hash is not this circuit's with this .ptau",
            ));
        }
        if (h.alpha1, h.beta1, h.beta2, h.gamma2) != (h0.alpha1, h0.beta1, h0.beta2, h0.gamma2) {
            return Err(invalid("α, β or γ differ from the initial key's"));
        }
        if h.delta1 != final_delta {
            return Err(invalid(
                "δ·G1 is not the last contribution's δ (a contribution is missing from the history)",
            ));
        }
        if !same_ratio(
            G1Affine::generator(),
            h.delta1,
            G2Affine::generator(),
            h.delta2,
        ) {
            return Err(invalid("δ·G2 does not match δ·G1"));
        }
        for (ty, what) in [
            (section::IC, "IC"),
            (section::COEFFS, "coefficients"),
            (section::A, "A"),
            (section::B1, "B1"),
            (section::B2, "B2"),
        ] {
            if !z.bin.section_equals(&mut first.bin, ty)? {
                return Err(invalid(format!(
                    "section {ty} ({what}) differs from the initial key's"
                )));
            }
        }
        for (ty, what) in [(section::C, "L (C)"), (section::H, "H")] {
            if !divided_by_delta(&mut first.bin, &mut z.bin, ty, h0.delta2, h.delta2)? {
                return Err(invalid(format!(
                    "section {ty} ({what}) is not the initial key's divided by δ"
                )));
            }
        }
        Ok(Verified {
            cs_hash: summary.cs_hash,
            contributions: z.mpc.contributions.clone(),
        })
    })();
    let _ = std::fs::remove_file(&tmp);
    result
}
