//! Shared test vectors that keep the browser verifier page's JavaScript (web/js/packing.js,
//! web/js/points.js) identical to this crate: the public-input packing (layouts, bits from 1 to
//! 64, negative and edge values, several elements, the digits MLP's real layout) and arkworks'
//! compressed BN254 points (G1 and G2, both y flags, infinity, and encodings that must be
//! refused), all computed here with the Rust code and compared with the committed
//! `web/tests/packing-vectors.json`. `ZKINFER_WRITE_VECTORS=1` (re)writes that file.
//!
//! A second test runs the JavaScript side (`node --test web/tests/*.test.mjs` except the
//! browser test) against the same file; it is skipped with a message when node is missing,
//! unless `CI` is set.

use std::path::PathBuf;
use std::process::Command;

use ark_bn254::{Fq, Fq2, Fr, G1Affine, G2Affine};
use ark_ec::{AffineRepr, CurveGroup};
use ark_ff::{BigInteger, Field, One, PrimeField};
use ark_serialize::CanonicalSerialize;
use serde_json::{json, Value};
use zkinfer_verifier::{fr_to_decimal, pack_public_inputs, PublicLayout, TensorLayout};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn vectors_path() -> PathBuf {
    repo().join("web/tests/packing-vectors.json")
}

fn layout(input: (&[usize], i32, u32), output: (&[usize], i32, u32)) -> PublicLayout {
    let t = |(shape, scale, bits): (&[usize], i32, u32)| TensorLayout {
        shape: shape.to_vec(),
        scale,
        bits,
    };
    PublicLayout::packed(t(input), t(output))
}

/// The digits fixture's input quantised at scale 7 (round half away from zero, as the
/// compiler's `quantize` does).
fn digits_input() -> Vec<i64> {
    let text = std::fs::read_to_string(repo().join("fixtures/mlp/input.json")).unwrap();
    let v: Value = serde_json::from_str(&text).unwrap();
    v["input"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| (x.as_f64().unwrap() * 128.0).round() as i64)
        .collect()
}

/// The digits MLP's output logits on that input (integer inference is deterministic).
const DIGITS_OUTPUT: [i64; 10] = [36, -779, 715, 248, -1944, -1017, -1146, -402, -956, -701];

/// public.json of `zkinfer export --format snarkjs` for the digits MLP compiled with
/// `--input-bits 9` and proven on fixtures/mlp/input.json: what the packing must reproduce.
const DIGITS_PUBLIC: [&str; 4] = [
    "3625584007430660247249682836227236553682646774634908124646833930730203119872",
    "3741761117185905101590100695762926444353134912548985872172832277337284477184",
    "2589041201072163651840",
    "740290459007442038821352132308893584935023251488804",
];

/// Values as decimal strings: JSON numbers cannot hold every i64 exactly in JavaScript.
fn strs(v: &[i64]) -> Value {
    json!(v.iter().map(|x| x.to_string()).collect::<Vec<_>>())
}

fn packing_case(name: &str, l: PublicLayout, input: Vec<i64>, output: Vec<i64>) -> Value {
    let packed = pack_public_inputs(&l, &input, &output)
        .unwrap_or_else(|e| panic!("{name}: the Rust packing refused a valid case: {e}"));
    assert_eq!(packed.len(), l.num_public_inputs(), "{name}");
    json!({
        "name": name,
        "layout": l,
        "input": strs(&input),
        "output": strs(&output),
        "public_inputs": packed.iter().map(fr_to_decimal).collect::<Vec<_>>(),
    })
}

fn error_case(name: &str, l: PublicLayout, input: Vec<i64>, output: Vec<i64>) -> Value {
    assert!(
        pack_public_inputs(&l, &input, &output).is_err(),
        "{name}: the Rust packing accepted an invalid case"
    );
    json!({ "name": name, "layout": l, "input": strs(&input), "output": strs(&output) })
}

fn packing_vectors() -> (Vec<Value>, Vec<Value>) {
    let (min64, max64) = (i64::MIN, i64::MAX);
    let ramp = |n: usize, bits: u32| -> Vec<i64> {
        // Walks the whole range, both ends included.
        let half = 1i128 << (bits - 1);
        (0..n)
            .map(|i| (-half + (2 * half - 1) * i as i128 / (n.max(2) - 1) as i128) as i64)
            .collect()
    };
    let mut ok = vec![
        packing_case(
            "design example: 4-bit slots, least significant first",
            layout((&[3], 7, 4), (&[1], 7, 1)),
            vec![1, -8, 7],
            vec![-1],
        ),
        packing_case(
            "digits MLP (fixtures/mlp, --input-bits 9): its real layout and tensors",
            layout((&[1, 64], 7, 9), (&[1, 10], 7, 17)),
            digits_input(),
            DIGITS_OUTPUT.to_vec(),
        ),
        packing_case(
            "1-bit slots: 253 per element, then a new element",
            layout((&[300], 0, 1), (&[2], 0, 1)),
            (0..300).map(|i| -((i % 3 == 0) as i64)).collect(),
            vec![0, -1],
        ),
        packing_case(
            "64-bit slots at the i64 extremes: 3 per element",
            layout((&[4], 0, 64), (&[3], 3, 64)),
            vec![min64, max64, -1, 0],
            vec![max64, min64, 1],
        ),
        packing_case(
            "17-bit slots straddling 64-bit limbs, several elements",
            layout((&[2, 3, 5], 8, 17), (&[40], 8, 17)),
            ramp(30, 17),
            ramp(40, 17),
        ),
        packing_case(
            "scalars (empty shapes)",
            layout((&[], 4, 12), (&[], -2, 33)),
            vec![-2048],
            vec![(1 << 32) - 1],
        ),
        packing_case(
            "empty input tensor: no elements",
            layout((&[0, 4], 7, 8), (&[5], 7, 8)),
            vec![],
            vec![-128, 127, 0, 5, -5],
        ),
        packing_case(
            "exactly one full element (253 = 11 x 23)",
            layout((&[23], 5, 11), (&[24], 5, 11)),
            ramp(23, 11),
            ramp(24, 11),
        ),
    ];
    for bits in [2u32, 7, 16, 31, 32, 33, 63] {
        ok.push(packing_case(
            &format!("{bits}-bit slots: the whole range"),
            layout((&[20], 7, bits), (&[7], 7, bits)),
            ramp(20, bits),
            ramp(7, bits),
        ));
    }
    let errors = vec![
        error_case(
            "a value one above the range",
            layout((&[2], 7, 4), (&[1], 7, 4)),
            vec![8, 0],
            vec![0],
        ),
        error_case(
            "a value one below the range",
            layout((&[2], 7, 4), (&[1], 7, 4)),
            vec![-9, 0],
            vec![0],
        ),
        error_case(
            "an output value outside 17 bits",
            layout((&[1], 7, 9), (&[2], 7, 17)),
            vec![0],
            vec![1 << 16, 0],
        ),
        error_case(
            "too few input values for the shape",
            layout((&[3], 7, 8), (&[1], 7, 8)),
            vec![1, 2],
            vec![0],
        ),
        error_case(
            "too many output values for the shape",
            layout((&[1], 7, 8), (&[1], 7, 8)),
            vec![1],
            vec![0, 0],
        ),
        error_case(
            "bits 0",
            layout((&[1], 7, 0), (&[1], 7, 8)),
            vec![0],
            vec![0],
        ),
        error_case(
            "bits 65",
            layout((&[1], 7, 8), (&[1], 7, 65)),
            vec![0],
            vec![0],
        ),
    ];
    (ok, errors)
}

fn compressed<T: CanonicalSerialize>(p: &T) -> Vec<u8> {
    let mut out = Vec::new();
    p.serialize_compressed(&mut out).unwrap();
    out
}

fn fq(x: &Fq) -> String {
    x.into_bigint().to_string()
}

fn g1_case(p: G1Affine) -> Value {
    let hex = hex::encode(compressed(&p));
    match p.xy() {
        None => json!({ "hex": hex, "infinity": true }),
        Some((x, y)) => json!({ "hex": hex, "x": fq(&x), "y": fq(&y) }),
    }
}

fn g2_case(p: G2Affine) -> Value {
    let hex = hex::encode(compressed(&p));
    match p.xy() {
        None => json!({ "hex": hex, "infinity": true }),
        Some((x, y)) => json!({
            "hex": hex,
            "x": [fq(&x.c0), fq(&x.c1)],
            "y": [fq(&y.c0), fq(&y.c1)],
        }),
    }
}

/// The first x from 1 up with no point on y^2 = x^3 + 3.
fn g1_x_off_curve() -> Fq {
    let mut x = Fq::one();
    while G1Affine::get_point_from_x_unchecked(x, true).is_some() {
        x += Fq::one();
    }
    x
}

/// A point on the G2 curve outside the prime-order subgroup (as keys.rs's tests find one).
fn g2_outside_subgroup() -> G2Affine {
    let mut x = Fq2::new(Fq::one(), Fq::one());
    loop {
        if let Some(p) = G2Affine::get_point_from_x_unchecked(x, true) {
            if !p.is_in_correct_subgroup_assuming_on_curve() {
                return p;
            }
        }
        x += Fq2::ONE;
    }
}

/// One encoding that decoding must refuse, and why.
fn bad_point(group: &str, why: &str, bytes: impl AsRef<[u8]>) -> Value {
    json!({ "group": group, "why": why, "hex": hex::encode(bytes) })
}

fn point_vectors() -> (Vec<Value>, Vec<Value>, Vec<Value>) {
    let g1 = G1Affine::generator();
    let g2 = G2Affine::generator();
    let scalars = [1u64, 2, 3, 7, 1 << 40, 123_456_789_123];
    let mut g1s = vec![g1_case(G1Affine::zero())];
    let mut g2s = vec![g2_case(G2Affine::zero())];
    for k in scalars {
        let p = (g1 * Fr::from(k)).into_affine();
        g1s.push(g1_case(p));
        g1s.push(g1_case(-p));
        let q = (g2 * Fr::from(k)).into_affine();
        g2s.push(g2_case(q));
        g2s.push(g2_case(-q));
    }
    // Both y flags must occur, or the vectors would not test the choice of root.
    for set in [&g1s, &g2s] {
        let flags: Vec<bool> = set
            .iter()
            .filter(|c| c.get("infinity").is_none())
            .map(|c| {
                let h = c["hex"].as_str().unwrap();
                u8::from_str_radix(&h[h.len() - 2..], 16).unwrap() & 0x80 != 0
            })
            .collect();
        assert!(flags.contains(&true) && flags.contains(&false));
    }

    let mut bad = Vec::new();
    let mut off = compressed(&g1_x_off_curve());
    assert!(G1Affine::get_point_from_x_unchecked(g1_x_off_curve(), false).is_none());
    bad.push(bad_point("g1", "x with no point on the curve", &off));
    off.copy_from_slice(&Fq::MODULUS.to_bytes_le());
    bad.push(bad_point("g1", "x equal to the modulus", &off));
    let mut both = compressed(&g1);
    both[31] |= 0xc0;
    bad.push(bad_point("g1", "both flag bits set", &both));
    bad.push(bad_point("g1", "31 bytes", &compressed(&g1)[..31]));
    let outside = g2_outside_subgroup();
    bad.push(bad_point(
        "g2",
        "on the curve, outside the subgroup",
        compressed(&outside),
    ));
    let mut c1_p = compressed(&g2);
    c1_p[32..].copy_from_slice(&Fq::MODULUS.to_bytes_le());
    bad.push(bad_point("g2", "x.c1 equal to the modulus", &c1_p));
    let mut both2 = compressed(&g2);
    both2[63] |= 0xc0;
    bad.push(bad_point("g2", "both flag bits set", &both2));
    // Every "bad" encoding must be one arkworks refuses too.
    for b in &bad {
        let bytes = hex::decode(b["hex"].as_str().unwrap()).unwrap();
        let refused = match b["group"].as_str().unwrap() {
            "g1" => zkinfer_verifier::Proof::from_compressed_bytes(
                &[bytes.clone(), compressed(&g2), compressed(&g1)].concat(),
            )
            .is_err(),
            _ => zkinfer_verifier::Proof::from_compressed_bytes(
                &[compressed(&g1), bytes.clone(), compressed(&g1)].concat(),
            )
            .is_err(),
        };
        assert!(refused, "arkworks accepts the 'bad' encoding {b}");
    }
    (g1s, g2s, bad)
}

fn vectors_text() -> String {
    let (packing, packing_errors) = packing_vectors();
    let (g1, g2, bad_points) = point_vectors();
    let v = json!({
        "about": "Written by verifier/tests/packing_vectors.rs (ZKINFER_WRITE_VECTORS=1) from the Rust packing and arkworks; checked by web/tests/packing.test.mjs. Values and field elements are decimal strings.",
        "packing": packing,
        "packing_errors": packing_errors,
        "g1": g1,
        "g2": g2,
        "bad_points": bad_points,
    });
    serde_json::to_string_pretty(&v).unwrap() + "\n"
}

#[test]
fn the_digits_case_matches_zkinfers_snarkjs_export() {
    let l = layout((&[1, 64], 7, 9), (&[1, 10], 7, 17));
    let packed = pack_public_inputs(&l, &digits_input(), &DIGITS_OUTPUT).unwrap();
    let dec: Vec<String> = packed.iter().map(fr_to_decimal).collect();
    assert_eq!(dec, DIGITS_PUBLIC);
}

#[test]
fn committed_vectors_match_the_rust_packing() {
    let text = vectors_text();
    let path = vectors_path();
    if std::env::var("ZKINFER_WRITE_VECTORS").as_deref() == Ok("1") {
        std::fs::write(&path, &text).unwrap();
        eprintln!("wrote {}", path.display());
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; run ZKINFER_WRITE_VECTORS=1 cargo test -p zkinfer-verifier --test packing_vectors",
            path.display()
        )
    });
    assert!(
        committed == text,
        "{} differs from what the Rust packing computes: if the change is intended, rerun with ZKINFER_WRITE_VECTORS=1 and commit the file",
        path.display()
    );
}

/// Whether `node` runs; when not, None after a SKIPPED message (a panic when `CI` is set).
fn node_or_skip() -> Option<()> {
    let ok = Command::new("node")
        .arg("--version")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if ok {
        return Some(());
    }
    let why = "node not found; install Node.js (>= 18), e.g. apt-get install nodejs";
    if std::env::var_os("CI").is_some() {
        panic!("CI is set and a required tool is missing: {why}");
    }
    eprintln!("SKIPPED: {why}");
    None
}

#[test]
fn the_javascript_packing_and_points_agree_with_the_vectors() {
    if node_or_skip().is_none() {
        return;
    }
    let tools = std::env::var_os("ZKINFER_NODE_TOOLS")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join(".ci/node"));
    let out = Command::new("node")
        .args([
            "--test",
            "web/tests/packing.test.mjs",
            "web/tests/verify.test.mjs",
            "web/tests/vendor.test.mjs",
        ])
        .env("ZKINFER_NODE_TOOLS", &tools)
        .current_dir(repo())
        .output()
        .expect("run node --test");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    println!("{text}");
    assert!(out.status.success(), "node --test failed:\n{text}");
    // node:test reports its counts; a run that found no tests must not pass silently.
    assert!(text.contains("# fail 0"), "{text}");
    assert!(!text.contains("# pass 0"), "{text}");
}
