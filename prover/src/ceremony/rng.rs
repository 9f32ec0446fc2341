//! snarkjs's randomness, reproduced bit for bit where a verifier must reproduce it:
//! ffjavascript's ChaCha20 stream (`src/chacha.js`), its `fromRng` for field elements and
//! curve points (`wasm_field1.js`, `wasm_curve.js`), snarkjs's `hashToG2` (the G2 point a
//! contribution's transcript determines) and `rngFromBeaconParams` (a beacon's key).
//!
//! Two quirks matter: `F.fromRng` writes the sampled integer `v` directly as the element's
//! internal Montgomery representation, so the element is `v·R⁻¹` (`new_unchecked(v)` in
//! arkworks); and `nextU64` takes its high 32 bits first.

use ark_bn254::{Fq, Fq2, Fr, G1Affine, G2Affine, G2Projective};
use ark_ec::{short_weierstrass::SWCurveConfig, CurveGroup, PrimeGroup};
use ark_ff::{BigInt, Field, PrimeField, Zero};
use sha2::{Digest, Sha256};

/// ffjavascript's ChaCha20 generator (20 rounds, a 64-bit counter in words 12–13 carried
/// into 14–15, no nonce).
pub struct ChaCha {
    state: [u32; 16],
    buf: [u32; 16],
    idx: usize,
}

fn quarter(st: &mut [u32; 16], a: usize, b: usize, c: usize, d: usize) {
    st[a] = st[a].wrapping_add(st[b]);
    st[d] = (st[d] ^ st[a]).rotate_left(16);
    st[c] = st[c].wrapping_add(st[d]);
    st[b] = (st[b] ^ st[c]).rotate_left(12);
    st[a] = st[a].wrapping_add(st[b]);
    st[d] = (st[d] ^ st[a]).rotate_left(8);
    st[c] = st[c].wrapping_add(st[d]);
    st[b] = (st[b] ^ st[c]).rotate_left(7);
}

impl ChaCha {
    /// The generator for an 8-word seed.
    pub fn new(seed: [u32; 8]) -> Self {
        let mut state = [0u32; 16];
        state[..4].copy_from_slice(&[0x61707865, 0x3320646E, 0x79622D32, 0x6B206574]);
        state[4..12].copy_from_slice(&seed);
        ChaCha {
            state,
            buf: [0; 16],
            idx: 16,
        }
    }

    /// The generator seeded with the first 32 bytes of `hash` read as big-endian words (how
    /// snarkjs seeds from a digest).
    pub fn from_hash(hash: &[u8]) -> Self {
        let mut seed = [0u32; 8];
        for (i, s) in seed.iter_mut().enumerate() {
            *s = u32::from_be_bytes(hash[4 * i..4 * i + 4].try_into().expect("4 bytes"));
        }
        Self::new(seed)
    }

    fn update(&mut self) {
        let mut b = self.state;
        for _ in 0..10 {
            quarter(&mut b, 0, 4, 8, 12);
            quarter(&mut b, 1, 5, 9, 13);
            quarter(&mut b, 2, 6, 10, 14);
            quarter(&mut b, 3, 7, 11, 15);
            quarter(&mut b, 0, 5, 10, 15);
            quarter(&mut b, 1, 6, 11, 12);
            quarter(&mut b, 2, 7, 8, 13);
            quarter(&mut b, 3, 4, 9, 14);
        }
        for (o, s) in b.iter_mut().zip(self.state) {
            *o = o.wrapping_add(s);
        }
        self.buf = b;
        self.idx = 0;
        for w in 12..16 {
            self.state[w] = self.state[w].wrapping_add(1);
            if self.state[w] != 0 {
                break;
            }
        }
    }

    /// The next 32-bit word.
    pub fn next_u32(&mut self) -> u32 {
        if self.idx == 16 {
            self.update();
        }
        self.idx += 1;
        self.buf[self.idx - 1]
    }

    /// The next 64 bits: the first word is the high half.
    pub fn next_u64(&mut self) -> u64 {
        let hi = self.next_u32() as u64;
        (hi << 32) | self.next_u32() as u64
    }

    /// The next word's lowest bit.
    pub fn next_bool(&mut self) -> bool {
        self.next_u32() & 1 == 1
    }

    /// Four 64-bit words, least significant first, masked to 254 bits, until below `modulus`.
    fn below(&mut self, modulus: BigInt<4>) -> BigInt<4> {
        loop {
            let mut l = [0u64; 4];
            for w in l.iter_mut() {
                *w = self.next_u64();
            }
            l[3] &= (1u64 << 62) - 1; // both BN254 primes have 254 bits
            let v = BigInt::new(l);
            if v < modulus {
                return v;
            }
        }
    }

    /// ffjavascript's `Fq.fromRng`.
    pub fn fq(&mut self) -> Fq {
        Fq::new_unchecked(self.below(Fq::MODULUS))
    }

    /// ffjavascript's `Fr.fromRng` (a private key of a contribution).
    pub fn fr(&mut self) -> Fr {
        Fr::new_unchecked(self.below(Fr::MODULUS))
    }

    /// ffjavascript's `G1.fromRng`: x from the stream until x³ + b is a square, the sign of y
    /// from the stream.
    pub fn g1(&mut self) -> G1Affine {
        loop {
            let x = self.fq();
            let greatest = self.next_bool();
            let rhs = x.square() * x + ark_bn254::g1::Config::COEFF_B;
            if let Some(y) = rhs.sqrt() {
                let y = if greatest ^ fq_is_negative(&y) { -y } else { y };
                return G1Affine::new_unchecked(x, y);
            }
        }
    }

    /// ffjavascript's `G2.fromRng`: a point on the twist as for G1, times the cofactor.
    pub fn g2(&mut self) -> G2Affine {
        loop {
            let x = Fq2::new(self.fq(), self.fq());
            let greatest = self.next_bool();
            let rhs = x.square() * x + ark_bn254::g2::Config::COEFF_B;
            if let Some(y) = rhs.sqrt() {
                let y = if greatest ^ fq2_is_negative(&y) {
                    -y
                } else {
                    y
                };
                let p = G2Affine::new_unchecked(x, y);
                let p: G2Projective = p.into();
                return p.mul_bigint(G2_COFACTOR).into_affine();
            }
        }
    }
}

/// BN254's G2 cofactor 2p − r, as ffjavascript's `cofactorG2`.
const G2_COFACTOR: BigInt<4> = BigInt::new([
    0x345f2299c0f9fa8d,
    0x06ceecda572a2489,
    0xb85045b68181585e,
    0x30644e72e131a029,
]);

/// wasmcurves' sign: the canonical value is above (q − 1)/2.
fn fq_is_negative(x: &Fq) -> bool {
    x.into_bigint() > Fq::MODULUS_MINUS_ONE_DIV_TWO
}

/// wasmcurves' Fq2 sign: that of c1, or of c0 when c1 is zero.
fn fq2_is_negative(x: &Fq2) -> bool {
    if x.c1.is_zero() {
        fq_is_negative(&x.c0)
    } else {
        fq_is_negative(&x.c1)
    }
}

/// snarkjs's `hashToG2`: the G2 point a 64-byte transcript hash determines.
pub fn hash_to_g2(hash: &[u8; 64]) -> G2Affine {
    ChaCha::from_hash(hash).g2()
}

/// snarkjs's `rngFromBeaconParams`: SHA-256 applied 2^`iterations_exp` times to the beacon,
/// the result seeding the stream.
pub fn beacon_rng(beacon: &[u8], iterations_exp: u32) -> ChaCha {
    let mut h = beacon.to_vec();
    for _ in 0..(1u64 << iterations_exp) {
        h = Sha256::digest(&h).to_vec();
    }
    ChaCha::from_hash(&h)
}

/// A contributor's stream: 64 bytes of OS randomness and the contributor's entropy text,
/// hashed with BLAKE2b-512 (snarkjs's `getRandomRng`).
pub fn contribution_rng(entropy: &str) -> ChaCha {
    use blake2::Blake2b512;
    use rand::RngCore;
    let mut os = [0u8; 64];
    rand::rngs::OsRng.fill_bytes(&mut os);
    let mut h = Blake2b512::new();
    h.update(os);
    h.update(entropy.as_bytes());
    ChaCha::from_hash(&h.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chacha_matches_the_rfc_block_function_layout() {
        // With a zero seed, ffjavascript's first block is the ChaCha20 block of the all-zero
        // key and nonce at counter 0: RFC 7539's test vector A.1 #1 begins 0xade0b876.
        let mut c = ChaCha::new([0; 8]);
        assert_eq!(c.next_u32(), 0xade0b876);
        assert_eq!(c.next_u32(), 0x903df1a0);
    }

    #[test]
    fn sampled_points_are_in_their_groups() {
        let mut c = ChaCha::new([1, 2, 3, 4, 5, 6, 7, 8]);
        let p = c.g1();
        assert!(p.is_on_curve());
        let q = c.g2();
        assert!(q.is_on_curve() && q.is_in_correct_subgroup_assuming_on_curve());
    }
}
