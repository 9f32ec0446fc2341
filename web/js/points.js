// BN254 points as arkworks writes them compressed, decoded with BigInt.
//
// arkworks' compressed short-Weierstrass encoding (ark-ec 0.6, `SWFlags`): the x coordinate,
// little-endian (an Fq2 element as c0 then c1, 32 bytes each), with two flags in the top bits
// of the last byte: bit 7 "y is the larger of (y, -y)", bit 6 "point at infinity" (both set is
// invalid). "Larger" is arkworks' order: integers for Fq, and for Fq2 c1 first, then c0.
// x must be below the modulus (arkworks refuses non-canonical encodings, so do we).
//
// Every decoded point is on its curve; G2 points are also checked to be in the prime-order
// subgroup ([r]P = O; G1 has cofactor 1, so on the curve is in the subgroup). That is the same
// guarantee arkworks' `Validate::Yes` gives the Rust verifier.

/** BN254 base-field modulus. */
export const P = 21888242871839275222246405745257275088696311157297823662689037894645226208583n;
/** BN254 scalar-field (group order) modulus. */
export const R = 21888242871839275222246405745257275088548364400416034343698204186575808495617n;
/** G1: y^2 = x^3 + 3. */
const B1 = 3n;
/** G2 (the twist): y^2 = x^3 + 3 / (9 + u). */
const B2 = [
  19485874751759354771024239261021720505790618469301721065564631296452457478373n,
  266929791119991161246907387137283842545076965332900288569378510910307636690n,
];

/** A point that cannot be decoded or is not a valid group element; `message` says why. */
export class PointError extends Error {}

// ---- Fq ----------------------------------------------------------------------------------

const mod = (a) => {
  const r = a % P;
  return r < 0n ? r + P : r;
};

function pow(base, exp) {
  let result = 1n;
  let b = mod(base);
  let e = exp;
  while (e > 0n) {
    if (e & 1n) result = (result * b) % P;
    b = (b * b) % P;
    e >>= 1n;
  }
  return result;
}

const inv = (a) => {
  if (mod(a) === 0n) throw new PointError('division by zero in Fq');
  return pow(a, P - 2n);
};

/** A square root of `a` in Fq, or null. P ≡ 3 (mod 4), so a^((P+1)/4) is one when any exists. */
export function fqSqrt(a) {
  const r = pow(a, (P + 1n) / 4n);
  return (r * r) % P === mod(a) ? r : null;
}

// ---- Fq2 = Fq[u] / (u^2 + 1), elements [c0, c1] -----------------------------------------

const f2 = {
  add: (a, b) => [mod(a[0] + b[0]), mod(a[1] + b[1])],
  sub: (a, b) => [mod(a[0] - b[0]), mod(a[1] - b[1])],
  neg: (a) => [mod(-a[0]), mod(-a[1])],
  mul: (a, b) => [mod(a[0] * b[0] - a[1] * b[1]), mod(a[0] * b[1] + a[1] * b[0])],
  sqr: (a) => [mod((a[0] + a[1]) * (a[0] - a[1])), mod(2n * a[0] * a[1])],
  isZero: (a) => a[0] === 0n && a[1] === 0n,
  eq: (a, b) => a[0] === b[0] && a[1] === b[1],
};

/** A square root of `a` in Fq2, or null (the norm method: N(a) = c0^2 + c1^2 since u^2 = -1). */
export function fq2Sqrt(a) {
  const [a0, a1] = a;
  let root;
  if (a1 === 0n) {
    // A base-field element: its root is in Fq, or is u times a root of -a0 (-1 is a
    // non-residue when P ≡ 3 mod 4, so exactly one of a0 and -a0 is a square).
    const s = fqSqrt(a0);
    root = s !== null ? [s, 0n] : [0n, fqSqrt(mod(-a0))];
    if (root[1] === null) return null;
  } else {
    const n = fqSqrt(mod(a0 * a0 + a1 * a1));
    if (n === null) return null;
    const half = inv(2n);
    let x0 = fqSqrt(mod((a0 + n) * half));
    if (x0 === null) x0 = fqSqrt(mod((a0 - n) * half));
    if (x0 === null || x0 === 0n) return null;
    root = [x0, mod(a1 * inv(2n * x0))];
  }
  // The check makes the result right whatever the branch above: only a true root is returned.
  return f2.eq(f2.sqr(root), [mod(a0), mod(a1)]) ? root : null;
}

// arkworks' order on field elements, used to pick y from the flag.
const fqGreater = (a, b) => a > b;
const fq2Greater = (a, b) => (a[1] !== b[1] ? a[1] > b[1] : a[0] > b[0]);

// ---- bytes -------------------------------------------------------------------------------

/** Lowercase hex of bytes. */
export function toHex(bytes) {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

/** Bytes of an even-length hex string (no prefix); throws PointError naming `what` otherwise. */
export function fromHex(hex, what) {
  if (typeof hex !== 'string' || hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) {
    throw new PointError(`${what} is not a hex string`);
  }
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** The integer of little-endian bytes. */
function leToBigInt(bytes) {
  let x = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) x = (x << 8n) | BigInt(bytes[i]);
  return x;
}

/** Reads the flags off the last byte of `bytes` (a copy) and the masked little-endian integer. */
function splitFlags(bytes, what) {
  const b = Uint8Array.from(bytes);
  const last = b[b.length - 1];
  const negative = (last & 0x80) !== 0;
  const infinity = (last & 0x40) !== 0;
  if (negative && infinity) throw new PointError(`${what}: both flag bits are set`);
  b[b.length - 1] = last & 0x3f;
  return { negative, infinity, b };
}

function canonical(x, what) {
  if (x >= P) throw new PointError(`${what}: x is not below the field modulus`);
  return x;
}

// ---- G1 ----------------------------------------------------------------------------------

/** Whether affine (x, y) satisfies y^2 = x^3 + 3. */
export function g1OnCurve(pt) {
  if (pt.infinity) return true;
  return mod(pt.y * pt.y) === mod(pt.x * pt.x * pt.x + B1);
}

/**
 * Decodes a 32-byte compressed G1 point. Returns `{infinity: true}` or `{x, y}` (BigInt), on
 * the curve (and so in G1, whose cofactor is 1); throws PointError naming `what` otherwise.
 */
export function decodeG1(bytes, what = 'G1 point') {
  if (bytes.length !== 32) throw new PointError(`${what}: ${bytes.length} bytes, expected 32`);
  const { negative, infinity, b } = splitFlags(bytes, what);
  const x = canonical(leToBigInt(b), what);
  // arkworks ignores x when the infinity flag is set (after checking it is canonical).
  if (infinity) return { infinity: true };
  const y = fqSqrt(mod(x * x * x + B1));
  if (y === null) throw new PointError(`${what} is not on the curve (no y for its x)`);
  const ny = mod(-y);
  const [small, large] = fqGreater(y, ny) ? [ny, y] : [y, ny];
  return { x, y: negative ? large : small };
}

// ---- G2 ----------------------------------------------------------------------------------

/** Whether affine (x, y) over Fq2 satisfies y^2 = x^3 + B2. */
export function g2OnCurve(pt) {
  if (pt.infinity) return true;
  return f2.eq(f2.sqr(pt.y), f2.add(f2.mul(f2.sqr(pt.x), pt.x), B2));
}

// Jacobian coordinates (X, Y, Z): x = X/Z^2, y = Y/Z^3; Z = 0 is infinity. No inversions, so
// the subgroup check stays a few tens of milliseconds in BigInt.
function jDouble([X, Y, Z]) {
  if (f2.isZero(Z)) return [X, Y, Z];
  const A = f2.sqr(X);
  const Bv = f2.sqr(Y);
  const C = f2.sqr(Bv);
  const t = f2.sub(f2.sub(f2.sqr(f2.add(X, Bv)), A), C);
  const D = f2.add(t, t);
  const E = f2.add(f2.add(A, A), A);
  const F = f2.sqr(E);
  const X3 = f2.sub(F, f2.add(D, D));
  const C8 = f2.add(f2.add(f2.add(C, C), f2.add(C, C)), f2.add(f2.add(C, C), f2.add(C, C)));
  const Y3 = f2.sub(f2.mul(E, f2.sub(D, X3)), C8);
  const YZ = f2.mul(Y, Z);
  return [X3, Y3, f2.add(YZ, YZ)];
}

function jAddAffine(p, q) {
  // p Jacobian, q affine (not infinity).
  const [X1, Y1, Z1] = p;
  if (f2.isZero(Z1)) return [q.x, q.y, [1n, 0n]];
  const Z1Z1 = f2.sqr(Z1);
  const U2 = f2.mul(q.x, Z1Z1);
  const S2 = f2.mul(f2.mul(q.y, Z1), Z1Z1);
  const H = f2.sub(U2, X1);
  const rr = f2.sub(S2, Y1);
  if (f2.isZero(H)) {
    return f2.isZero(rr) ? jDouble(p) : [[1n, 0n], [1n, 0n], [0n, 0n]];
  }
  const HH = f2.sqr(H);
  const HHH = f2.mul(H, HH);
  const V = f2.mul(X1, HH);
  const X3 = f2.sub(f2.sub(f2.sqr(rr), HHH), f2.add(V, V));
  const Y3 = f2.sub(f2.mul(rr, f2.sub(V, X3)), f2.mul(Y1, HHH));
  return [X3, Y3, f2.mul(Z1, H)];
}

/** Whether an on-curve affine G2 point lies in the order-R subgroup: [R]P is infinity. */
export function g2InSubgroup(pt) {
  if (pt.infinity) return true;
  let acc = [[1n, 0n], [1n, 0n], [0n, 0n]];
  for (let i = R.toString(2).length - 1; i >= 0; i--) {
    acc = jDouble(acc);
    if ((R >> BigInt(i)) & 1n) acc = jAddAffine(acc, pt);
  }
  return f2.isZero(acc[2]);
}

/**
 * Decodes a 64-byte compressed G2 point: `{infinity: true}` or `{x: [c0, c1], y: [c0, c1]}`,
 * on the twist and in the prime-order subgroup; throws PointError naming `what` otherwise.
 */
export function decodeG2(bytes, what = 'G2 point') {
  if (bytes.length !== 64) throw new PointError(`${what}: ${bytes.length} bytes, expected 64`);
  const c0 = canonical(leToBigInt(bytes.subarray(0, 32)), what);
  const { negative, infinity, b } = splitFlags(bytes.subarray(32, 64), what);
  const c1 = canonical(leToBigInt(b), what);
  if (infinity) return { infinity: true };
  const x = [c0, c1];
  const y = fq2Sqrt(f2.add(f2.mul(f2.sqr(x), x), B2));
  if (y === null) throw new PointError(`${what} is not on the curve (no y for its x)`);
  const ny = f2.neg(y);
  const [small, large] = fq2Greater(y, ny) ? [ny, y] : [y, ny];
  const pt = { x, y: negative ? large : small };
  if (!g2InSubgroup(pt)) throw new PointError(`${what} is not in the prime-order subgroup`);
  return pt;
}

/** Checks an affine G1 point read from elsewhere (snarkjs JSON): coordinates below P, on the curve. */
export function checkG1(pt, what) {
  if (pt.infinity) return pt;
  if (pt.x >= P || pt.y >= P) throw new PointError(`${what}: a coordinate is not below the field modulus`);
  if (!g1OnCurve(pt)) throw new PointError(`${what} is not on the curve`);
  return pt;
}

/** Checks an affine G2 point read from elsewhere: coordinates below P, on the twist, in the subgroup. */
export function checkG2(pt, what) {
  if (pt.infinity) return pt;
  if ([...pt.x, ...pt.y].some((c) => c >= P)) {
    throw new PointError(`${what}: a coordinate is not below the field modulus`);
  }
  if (!g2OnCurve(pt)) throw new PointError(`${what} is not on the curve`);
  if (!g2InSubgroup(pt)) throw new PointError(`${what} is not in the prime-order subgroup`);
  return pt;
}
