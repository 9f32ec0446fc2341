//! Export of a constraint system in iden3's binary `.r1cs` format, the one circom writes and
//! snarkjs reads (`snarkjs r1cs info`, `snarkjs groth16 setup`, `snarkjs zkey verify`).
//!
//! Format (iden3/r1csfile, `doc/r1cs_bin_format.md` and the reader `src/r1csfile.js`); every
//! integer is little-endian:
//!
//! ```text
//! "r1cs"  u32 version = 1  u32 number of sections (3)
//! per section: u32 type, u64 size of the content in bytes, content
//!
//! type 1, header:      u32 field size n8 = 32, the prime (n8 bytes LE),
//!                      u32 nWires, u32 nPubOut, u32 nPubIn, u32 nPrvIn,
//!                      u64 nLabels, u32 nConstraints
//! type 2, constraints: per constraint the linear combinations A, B, C, each
//!                      u32 number of terms, then per term u32 wire id and the
//!                      coefficient (n8 bytes LE, canonical form, not Montgomery)
//! type 3, wire→label:  nWires × u64 label id
//! ```
//!
//! Wires are numbered as our full assignment `z = [1, public..., witness...]`: wire 0 is the
//! constant 1, wires `1..num_instance` the public inputs in our order, then the private
//! witness. The public inputs are declared as *public inputs* (`nPubOut = 0`,
//! `nPubIn = num_instance - 1`): snarkjs's public signals are wires `1..=nPubOut + nPubIn`
//! (outputs first, then public inputs), so with no outputs they are exactly our public
//! inputs in our order, and for the verifier they are all inputs it supplies. Our witness
//! is intermediate signals (`nPrvIn = 0`). Labels are the identity (`nLabels = nWires`).
//! Terms of a row are sorted by wire id, with repeated wires merged and zero coefficients
//! dropped.

use ark_bn254::Fr;
use ark_ff::{BigInteger, PrimeField, Zero};
use std::io::{self, Seek, SeekFrom, Write};
use zkinfer_circuits::r1cs::{R1cs, SparseMatrix};

const MAGIC: &[u8; 4] = b"r1cs";
const VERSION: u32 = 1;
const N8: usize = 32;
const SECTION_HEADER: u32 = 1;
const SECTION_CONSTRAINTS: u32 = 2;
const SECTION_WIRE2LABEL: u32 = 3;
/// Bytes of the header section's content.
const HEADER_CONTENT: u64 = 4 + N8 as u64 + 4 * 4 + 8 + 4;

fn too_big(what: &str, n: usize) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("{what} = {n} does not fit the .r1cs format's 32-bit field"),
    )
}

fn u32_of(what: &str, n: usize) -> io::Result<u32> {
    u32::try_from(n).map_err(|_| too_big(what, n))
}

/// Row `i` of `m` with its terms sorted by wire id, repeated wires merged and zeros dropped.
pub fn merged_row(m: &SparseMatrix, i: usize, out: &mut Vec<(usize, Fr)>) {
    out.clear();
    out.extend(m.row(i).map(|(c, v)| (c, *v)));
    out.sort_unstable_by_key(|t| t.0);
    let mut w = 0;
    for r in 0..out.len() {
        if w > 0 && out[w - 1].0 == out[r].0 {
            let v = out[r].1;
            out[w - 1].1 += v;
        } else {
            out[w] = out[r];
            w += 1;
        }
    }
    out.truncate(w);
    out.retain(|t| !t.1.is_zero());
}

/// The number of public inputs the export declares (the constant 1 excluded).
pub fn num_public(r1cs: &R1cs) -> usize {
    r1cs.num_instance.saturating_sub(1)
}

fn put_u32<W: Write>(w: &mut W, v: u32) -> io::Result<()> {
    w.write_all(&v.to_le_bytes())
}

fn put_u64<W: Write>(w: &mut W, v: u64) -> io::Result<()> {
    w.write_all(&v.to_le_bytes())
}

fn put_fr<W: Write>(w: &mut W, v: &Fr) -> io::Result<()> {
    let bytes = v.into_bigint().to_bytes_le();
    debug_assert_eq!(bytes.len(), N8);
    w.write_all(&bytes)
}

/// Writes `r1cs` to `w` as an iden3 `.r1cs` file (see the module documentation). The
/// constraints section's size is written as a placeholder and patched afterwards, so `w`
/// must be seekable; it is left positioned at the end of the file.
pub fn write_r1cs<W: Write + Seek>(r1cs: &R1cs, w: &mut W) -> io::Result<()> {
    let n_wires = r1cs.num_variables();
    let n_wires32 = u32_of("wires", n_wires)?;
    let n_pub = u32_of("public inputs", num_public(r1cs))?;
    let n_constraints = u32_of("constraints", r1cs.num_constraints())?;

    w.write_all(MAGIC)?;
    put_u32(w, VERSION)?;
    put_u32(w, 3)?;

    // Header.
    put_u32(w, SECTION_HEADER)?;
    put_u64(w, HEADER_CONTENT)?;
    put_u32(w, N8 as u32)?;
    let prime = Fr::MODULUS.to_bytes_le();
    debug_assert_eq!(prime.len(), N8);
    w.write_all(&prime)?;
    put_u32(w, n_wires32)?;
    put_u32(w, 0)?; // nPubOut
    put_u32(w, n_pub)?; // nPubIn
    put_u32(w, 0)?; // nPrvIn
    put_u64(w, n_wires as u64)?; // nLabels
    put_u32(w, n_constraints)?;

    // Constraints: the size is patched in once the rows are written.
    put_u32(w, SECTION_CONSTRAINTS)?;
    let size_at = w.stream_position()?;
    put_u64(w, 0)?;
    let mut size = 0u64;
    let mut row = Vec::new();
    for i in 0..r1cs.num_constraints() {
        for m in [&r1cs.a, &r1cs.b, &r1cs.c] {
            merged_row(m, i, &mut row);
            put_u32(w, u32_of("terms of a row", row.len())?)?;
            for (col, v) in &row {
                put_u32(w, *col as u32)?;
                put_fr(w, v)?;
            }
            size += 4 + (4 + N8 as u64) * row.len() as u64;
        }
    }
    let end = w.stream_position()?;
    debug_assert_eq!(end - size_at - 8, size);
    w.seek(SeekFrom::Start(size_at))?;
    put_u64(w, size)?;
    w.seek(SeekFrom::Start(end))?;

    // Wire → label: the identity.
    put_u32(w, SECTION_WIRE2LABEL)?;
    put_u64(w, 8 * n_wires as u64)?;
    for i in 0..n_wires as u64 {
        put_u64(w, i)?;
    }
    Ok(())
}
