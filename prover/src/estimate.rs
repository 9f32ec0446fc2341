//! What a circuit will cost before setup runs: its proving key's bytes (exact) and the peak
//! memory of setup and of a proof (estimated), so `compile` can say whether a model fits a
//! machine and `prove --max-memory` can schedule segments.
//!
//! The estimates add up the large buffers each step holds at its peak, with coefficients
//! fitted to the peak RSS (`VmHWM`, with the CLI's allocator setting: large buffers are
//! returned to the OS when freed) measured on the gpt fixture, unsplit (975,751 constraints)
//! and in four segments (198k-319k constraints each): within 3 % there. A test checks them
//! against a measurement with a margin.
//! - **prove**: the parsed key (in memory an affine G1 point takes 72 bytes, G2 136, against
//!   64 and 128 in the file), the constraint matrices (CSR: 36 bytes a nonzero, 24 a row), the
//!   assignment twice over, and the witness map's five domain-sized vectors.
//! - **setup**: the matrices, the finished key, the QAP evaluated at tau (three vectors over
//!   the variables) and two domain-sized vectors. ark-groth16's own constraint system and its
//!   projective intermediates are gone by the time the key is complete, which is the peak.
//! - both: a base of 96 MiB (binary, circuit, trace, and buffers not modelled: MSM scalars and
//!   buckets, synthesis bookkeeping). Small models stay far below it: the estimate errs high.

use zkinfer_circuits::r1cs::R1cs;

/// The sizes of a circuit that its key and proof costs follow from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CircuitShape {
    pub constraints: usize,
    /// Instance variables including the constant one.
    pub num_instance: usize,
    pub num_witness: usize,
    /// Nonzeros of A, B and C together.
    pub nonzeros: usize,
}

impl CircuitShape {
    /// The shape of built matrices.
    pub fn of(r1cs: &R1cs) -> Self {
        CircuitShape {
            constraints: r1cs.num_constraints(),
            num_instance: r1cs.num_instance,
            num_witness: r1cs.num_witness,
            nonzeros: r1cs.a.nnz() + r1cs.b.nnz() + r1cs.c.nnz(),
        }
    }

    /// The shape counted from the graph, without building the matrices.
    pub fn counted(c: zkinfer_circuits::circuit::MatrixCounts) -> Self {
        CircuitShape {
            constraints: c.constraints,
            num_instance: c.num_instance,
            num_witness: c.num_witness,
            nonzeros: c.nonzeros,
        }
    }

    /// All variables, the constant one included.
    pub fn num_variables(&self) -> usize {
        self.num_instance + self.num_witness
    }

    /// The evaluation domain of the QAP: constraints plus instance rows, to a power of two.
    pub fn domain_size(&self) -> usize {
        (self.constraints + self.num_instance).next_power_of_two()
    }

    fn points(&self) -> (u64, u64) {
        let (nv, nw, ni) = (
            self.num_variables() as u64,
            self.num_witness as u64,
            self.num_instance as u64,
        );
        let d = self.domain_size() as u64;
        // G1: alpha, beta, delta, gamma_abc, a, b_g1, h, l; G2: beta, gamma, delta, b_g2.
        let g1 = 3 + ni + 2 * nv + (d - 1) + nw;
        let g2 = 3 + nv;
        (g1, g2)
    }

    /// Bytes of the `.pk` file (exact): the 72-byte header, and arkworks' uncompressed
    /// serialisation (G1 64 bytes, G2 128, an 8-byte length before each of the six vectors).
    pub fn proving_key_bytes(&self) -> u64 {
        let (g1, g2) = self.points();
        72 + 64 * g1 + 128 * g2 + 8 * 6
    }

    fn key_in_memory(&self) -> u64 {
        let (g1, g2) = self.points();
        72 * g1 + 136 * g2
    }

    fn matrices(&self) -> u64 {
        36 * self.nonzeros as u64 + 3 * 8 * self.constraints as u64
    }

    /// Estimated peak resident memory of proving this circuit, in bytes.
    pub fn prove_peak_bytes(&self) -> u64 {
        let nv = self.num_variables() as u64;
        let d = self.domain_size() as u64;
        BASE + self.key_in_memory() + self.matrices() + 2 * 32 * nv + 5 * 32 * d
    }

    /// Estimated peak resident memory of setting up this circuit, in bytes.
    pub fn setup_peak_bytes(&self) -> u64 {
        let nv = self.num_variables() as u64;
        let d = self.domain_size() as u64;
        BASE + self.matrices() + self.key_in_memory() + 3 * 32 * nv + 2 * 32 * d
    }
}

/// The process's own footprint (binary, allocator, the circuit file and the trace) and the
/// buffers not modelled (MSM scalars, bucket tables, the synthesis's bookkeeping).
const BASE: u64 = 96 << 20;

/// The peak resident memory of this process so far (`VmHWM`), where the OS reports it.
pub fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// Bytes in a human unit (MB = 10^6 bytes, GB = 10^9).
pub fn human_bytes(b: u64) -> String {
    if b >= 1_000_000_000 {
        format!("{:.2} GB", b as f64 / 1e9)
    } else if b >= 1_000_000 {
        format!("{:.1} MB", b as f64 / 1e6)
    } else if b >= 1_000 {
        format!("{:.1} kB", b as f64 / 1e3)
    } else {
        format!("{b} B")
    }
}

/// Parses a byte count: a number with an optional unit (`k`, `M`, `G`, `T`, decimal, with or
/// without `B`; `KiB`, `MiB`, `GiB`, `TiB` binary), e.g. `1.5G`, `800MB`, `4GiB`.
pub fn parse_bytes(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num
        .parse()
        .map_err(|_| format!("'{s}' is not a byte count (e.g. 800M, 4G, 1.5GiB)"))?;
    let mult: f64 = match unit.trim() {
        "" | "B" => 1.0,
        "k" | "K" | "kB" | "KB" => 1e3,
        "M" | "MB" => 1e6,
        "G" | "GB" => 1e9,
        "T" | "TB" => 1e12,
        "KiB" => 1024.0,
        "MiB" => 1024.0 * 1024.0,
        "GiB" => 1024.0 * 1024.0 * 1024.0,
        "TiB" => 1024.0 * 1024.0 * 1024.0 * 1024.0,
        u => {
            return Err(format!(
                "'{s}': unknown unit '{u}' (use k, M, G, T or KiB, MiB, GiB)"
            ))
        }
    };
    let v = n * mult;
    if !v.is_finite() || v < 1.0 {
        return Err(format!("'{s}' is not a positive byte count"));
    }
    Ok(v as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_counts_parse() {
        assert_eq!(parse_bytes("800M").unwrap(), 800_000_000);
        assert_eq!(parse_bytes("1.5G").unwrap(), 1_500_000_000);
        assert_eq!(parse_bytes("4GiB").unwrap(), 4 << 30);
        assert_eq!(parse_bytes("123").unwrap(), 123);
        assert!(parse_bytes("lots").is_err());
        assert!(parse_bytes("5Q").is_err());
        assert!(parse_bytes("0").is_err());
    }
}
