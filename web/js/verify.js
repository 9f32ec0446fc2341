// Verifying a proof.json against a verifying key in the browser: the checks of
// verifier/src/verifier.rs (`check_statement`, `check_tensors`), the public inputs rebuilt with
// the packing of DESIGN.md, and the Groth16 pairing check by snarkjs (`groth16.verify`), fed
// the same JSON zkinfer's snarkjs export writes (verifier/src/snarkjs.rs).
//
// No DOM here: the page (app.js) and the Node tests call `verifyFiles` alike.

import { FileError, parseProofJson, parseVerifyingKey, decodeProof } from './files.js';
import {
  PackingError, packPublicInputs, unpackTensor, numElements, tensorLen, valueMatches, MAX_BITS,
} from './packing.js';
import { PointError } from './points.js';

/** A statement that is well formed but not proven; `message` is the reason shown to the user. */
export class Rejected extends Error {}

// ---- snarkjs's JSON (the mapping of verifier/src/snarkjs.rs) -----------------------------

const g1Json = (p) => (p.infinity ? ['0', '1', '0'] : [p.x.toString(), p.y.toString(), '1']);
const g2Json = (p) => (p.infinity
  ? [['0', '0'], ['1', '0'], ['0', '0']]
  : [[p.x[0].toString(), p.x[1].toString()], [p.y[0].toString(), p.y[1].toString()], ['1', '0']]);

/**
 * snarkjs's verification_key.json for a decoded key. `vk_alphabeta_12` is left out: the Rust
 * export writes it for information only, and snarkjs's verifier never reads it.
 */
export function snarkjsVerificationKey(vk) {
  return {
    protocol: 'groth16',
    curve: 'bn128',
    nPublic: vk.ic.length - 1,
    vk_alpha_1: g1Json(vk.alpha),
    vk_beta_2: g2Json(vk.beta),
    vk_gamma_2: g2Json(vk.gamma),
    vk_delta_2: g2Json(vk.delta),
    IC: vk.ic.map(g1Json),
  };
}

/** snarkjs's proof.json for a decoded proof. */
export function snarkjsProof(proof) {
  return {
    pi_a: g1Json(proof.a),
    pi_b: g2Json(proof.b),
    pi_c: g1Json(proof.c),
    protocol: 'groth16',
    curve: 'bn128',
  };
}

// ---- the checks of check_tensors ---------------------------------------------------------

const sameShape = (a, b) => a.length === b.length && a.every((d, i) => d === b[i]);

function checkTensor(what, t, layout) {
  if (tensorLen(t.shape) !== t.quantized.length) {
    throw new Rejected(`proof.json: ${what} has ${t.quantized.length} quantized values but shape ${JSON.stringify(t.shape)}`);
  }
  if (layout && !sameShape(t.shape, layout.shape)) {
    throw new Rejected(`${what} shape ${JSON.stringify(t.shape)} differs from the verifying key's ${JSON.stringify(layout.shape)}`);
  }
  if (layout && t.scale !== layout.scale) {
    throw new Rejected(`${what} scale ${t.scale} differs from the verifying key's ${layout.scale}`);
  }
}

/**
 * proof.json's tensors against themselves and against `layout` (null: a snarkjs key, which
 * has none): lengths against shapes, shapes and scales against the key's, and every float
 * output value against its quantised value. Throws Rejected with the first failure.
 */
export function checkTensors(layout, doc) {
  const out = doc.output;
  if (out.values.length !== out.quantized.length) {
    throw new Rejected(`proof.json: output has ${out.values.length} values but ${out.quantized.length} quantized values`);
  }
  checkTensor('input', doc.input, layout && layout.input);
  checkTensor('output', out, layout && layout.output);
  out.values.forEach((v, i) => {
    const q = out.quantized[i];
    if (!valueMatches(v, q, out.scale)) {
      throw new Rejected(
        `output value ${v} at index ${i} does not match its quantized value ${q}: expected ${q} / 2^${out.scale} = ${q / 2 ** out.scale}`,
      );
    }
  });
}

// ---- the layout of a snarkjs key ---------------------------------------------------------

const sameValues = (a, b) => a.length === b.length && a.every((v, i) => v === BigInt(b[i]));

/**
 * The statements a snarkjs key (which records no layout) could mean for proof.json's tensors:
 * for every pair (input bits, output bits) whose packing has the key's number of public inputs
 * and holds the values, the packed inputs, distinct, smallest bits first.
 *
 * Each carries `conflict`: null when every layout of that size either cannot unpack the inputs
 * or unpacks them to exactly proof.json's tensors, else one layout that reads them as other
 * values. The model's true layout is among those layouts (its circuit range-checks every slot),
 * so a verifying statement without a conflict proves proof.json's tensors whatever the true
 * layout is; one with a conflict proves *some* tensors, perhaps not these.
 */
export function snarkjsStatements(doc, nPublic) {
  const layouts = [];
  const tensor = (t, bits) => ({ shape: t.shape, scale: t.scale, bits });
  for (let bi = 1; bi <= MAX_BITS; bi++) {
    for (let bo = 1; bo <= MAX_BITS; bo++) {
      const l = { input: tensor(doc.input, bi), output: tensor(doc.output, bo) };
      if (numElements(l.input) + numElements(l.output) === nPublic) layouts.push(l);
    }
  }
  const seen = new Set();
  const statements = [];
  for (const l of layouts) {
    let inputs;
    try {
      inputs = packPublicInputs(l, doc.input.quantized, doc.output.quantized);
    } catch (e) {
      if (e instanceof PackingError) continue;
      throw e;
    }
    const key = inputs.join(',');
    if (seen.has(key)) continue;
    seen.add(key);
    const conflict = layouts.find((other) => {
      const split = numElements(other.input);
      const vi = unpackTensor(other.input, inputs.slice(0, split));
      const vo = vi && unpackTensor(other.output, inputs.slice(split));
      return vi && vo && !(sameValues(vi, doc.input.quantized) && sameValues(vo, doc.output.quantized));
    }) ?? null;
    statements.push({ layout: l, inputs, conflict });
  }
  return statements;
}

/** "input 9 bits, output 17 bits". */
export function describeBits(layout) {
  return `input ${layout.input.bits} bits, output ${layout.output.bits} bits`;
}

// ---- the whole verification --------------------------------------------------------------

/** The index of the largest value (the first on ties), as a classifier's prediction. */
export function argmax(values) {
  let best = 0;
  values.forEach((v, i) => { if (v > values[best]) best = i; });
  return best;
}

/**
 * Verifies proof.json's bytes against a verifying key's bytes (`.vk` or snarkjs JSON) with
 * `snarkjs` (the library object: its `groth16.verify`). Never throws for bad files; returns
 *
 *   {status: 'valid' | 'invalid' | 'unbound' | 'error', message, ms, snarkjsMs?, digest?,
 *    keySource?, layout?, output?: {shape, scale, quantized, values}, argmax?}
 *
 * 'valid' means the key's circuit, on proof.json's input, outputs proof.json's output.
 * 'invalid' means the files were read but the statement is not proven (another model's key,
 * tensors that do not fit the key, changed values, proof bytes that are not curve points, or a
 * failed pairing check); 'unbound' (snarkjs keys without a layout only) means the pairing
 * check passed for a packing of proof.json's tensors that another layout reads as other values;
 * 'error' means a file could not be used at all. `ms` covers everything from parsing to
 * snarkjs's answer; `snarkjsMs` the calls to snarkjs's groth16.verify alone (the first call on a
 * page also instantiates its BN254 WebAssembly).
 */
export async function verifyFiles(proofBytes, vkBytes, snarkjs) {
  const t0 = performance.now();
  const done = (r) => ({ ...r, ms: performance.now() - t0 });
  let proofFile;
  let key;
  try {
    proofFile = parseProofJson(proofBytes);
    key = parseVerifyingKey(vkBytes);
  } catch (e) {
    if (e instanceof FileError) return done({ status: 'error', message: e.message });
    return done({ status: 'error', message: `unexpected error: ${e.message}` });
  }
  const { doc, digest } = proofFile;
  const base = {
    digest,
    keySource: key.source,
    output: doc.output,
    argmax: doc.output.values.length > 1 ? argmax(doc.output.values) : null,
  };
  try {
    if (key.digest !== null && key.digest !== digest) {
      throw new Rejected(
        `this proof is for another model: proof.json names circuit ${digest}, the verifying key is for circuit ${key.digest}`,
      );
    }
    checkTensors(key.layout, doc);
    let proof;
    try {
      proof = decodeProof(proofFile.raw);
    } catch (e) {
      if (e instanceof PointError) throw new Rejected(`the proof's bytes are not a valid proof: ${e.message}`);
      throw e;
    }
    const vkJson = snarkjsVerificationKey(key.vk);
    const proofJson = snarkjsProof(proof);
    let statements;
    if (key.layout) {
      try {
        statements = [{ layout: key.layout, inputs: packPublicInputs(key.layout, doc.input.quantized, doc.output.quantized) }];
      } catch (e) {
        if (e instanceof PackingError) throw new Rejected(e.message);
        throw e;
      }
    } else {
      // No layout: try the statements that bind proof.json's tensors first; a verifying one is
      // a definite answer. Only then the ambiguous ones, which can say no more than "unbound".
      const all = snarkjsStatements(doc, key.nPublic);
      if (all.length === 0) {
        throw new Rejected(`proof.json's tensors do not pack into the key's ${key.nPublic} public inputs under any layout`);
      }
      statements = [...all.filter((s) => !s.conflict), ...all.filter((s) => s.conflict)];
    }
    const tPairing = performance.now();
    const timed = (r) => ({ ...r, snarkjsMs: performance.now() - tPairing });
    for (const s of statements) {
      const publicSignals = s.inputs.map((x) => x.toString());
      if (!(await snarkjs.groth16.verify(vkJson, publicSignals, proofJson))) continue;
      if (s.conflict) {
        return done(timed({
          ...base,
          status: 'unbound',
          layout: s.layout,
          message: `The proof verifies for these tensors packed as ${describeBits(s.layout)}, but a snarkjs key does not record how its public inputs are packed, and ${describeBits(s.conflict)} reads the same public inputs as other values: this page cannot tell which output the proof attests. Use the model's .vk for a definite answer.`,
        }));
      }
      return done(timed({
        ...base,
        status: 'valid',
        layout: s.layout,
        message: key.layout
          ? 'The proof verifies: this model, on this input, gives this output.'
          : `The proof verifies: this key, on this input, gives this output (packing inferred: ${describeBits(s.layout)}, the only reading of these public inputs).`,
      }));
    }
    throw Object.assign(new Rejected('the pairing check failed: the proof does not verify for this input and output'), {
      snarkjsMs: performance.now() - tPairing,
    });
  } catch (e) {
    if (e instanceof Rejected) return done({ ...base, status: 'invalid', message: e.message, snarkjsMs: e.snarkjsMs });
    return done({ ...base, status: 'error', message: `unexpected error: ${e.message}` });
  }
}
