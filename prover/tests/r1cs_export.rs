//! `zkinfer export --format r1cs`: the iden3 `.r1cs` file read back by a reader of our own
//! (header numbers, canonical coefficients, every constraint satisfied by a real assignment)
//! and by snarkjs (`r1cs info`; the Groth16 setup on it is in zkey_import.rs);
//! missing flags and segmented circuits without `--segment` exit 2.

use ark_bn254::Fr;
use ark_ff::{BigInt, BigInteger, One, PrimeField, Zero};
use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Instant;
use zkinfer_circuits::r1cs::{R1cs, SparseMatrix};
mod common;

use common::fixture;
use zkinfer_prover::export_r1cs::{merged_row, write_r1cs};

fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("zkinfer-r1cs-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

// ---- a small reader of the iden3 format -------------------------------------------------

struct Parsed {
    n8: u32,
    prime: Vec<u8>,
    n_wires: u32,
    n_pub_out: u32,
    n_pub_in: u32,
    n_prv_in: u32,
    n_labels: u64,
    /// Per constraint A, B, C as (wire, coefficient).
    constraints: Vec<[Vec<(u32, Fr)>; 3]>,
    labels: Vec<u64>,
}

struct Bytes<'a>(&'a [u8]);

impl<'a> Bytes<'a> {
    fn take(&mut self, n: usize) -> &'a [u8] {
        assert!(self.0.len() >= n, "truncated");
        let (h, t) = self.0.split_at(n);
        self.0 = t;
        h
    }
    fn u32(&mut self) -> u32 {
        u32::from_le_bytes(self.take(4).try_into().unwrap())
    }
    fn u64(&mut self) -> u64 {
        u64::from_le_bytes(self.take(8).try_into().unwrap())
    }
    /// A canonical (reduced, not Montgomery) little-endian field element.
    fn fr(&mut self) -> Fr {
        let b = self.take(32);
        let limbs: [u64; 4] =
            std::array::from_fn(|i| u64::from_le_bytes(b[8 * i..8 * i + 8].try_into().unwrap()));
        Fr::from_bigint(BigInt::new(limbs)).expect("coefficient not reduced below the prime")
    }
}

fn parse(bytes: &[u8]) -> Parsed {
    let mut r = Bytes(bytes);
    assert_eq!(r.take(4), b"r1cs");
    assert_eq!(r.u32(), 1, "version");
    let n_sections = r.u32();
    let mut sections = std::collections::BTreeMap::new();
    for _ in 0..n_sections {
        let ty = r.u32();
        let size = r.u64() as usize;
        assert!(
            sections.insert(ty, r.take(size)).is_none(),
            "section {ty} twice"
        );
    }
    assert!(r.0.is_empty(), "trailing bytes");
    assert_eq!(sections.keys().copied().collect::<Vec<_>>(), [1, 2, 3]);

    let mut h = Bytes(sections[&1]);
    let n8 = h.u32();
    let prime = h.take(n8 as usize).to_vec();
    let (n_wires, n_pub_out, n_pub_in, n_prv_in) = (h.u32(), h.u32(), h.u32(), h.u32());
    let n_labels = h.u64();
    let n_constraints = h.u32();
    assert!(h.0.is_empty(), "header size");

    let mut c = Bytes(sections[&2]);
    let mut constraints = Vec::with_capacity(n_constraints as usize);
    for _ in 0..n_constraints {
        constraints.push(std::array::from_fn(|_| {
            let n = c.u32();
            let lc: Vec<(u32, Fr)> = (0..n).map(|_| (c.u32(), c.fr())).collect();
            assert!(
                lc.windows(2).all(|w| w[0].0 < w[1].0),
                "terms sorted by wire, no repeats"
            );
            assert!(lc.iter().all(|t| t.0 < n_wires && !t.1.is_zero()));
            lc
        }));
    }
    assert!(c.0.is_empty(), "constraints section size");

    let mut m = Bytes(sections[&3]);
    let labels = (0..n_wires).map(|_| m.u64()).collect();
    assert!(m.0.is_empty(), "wire-to-label section size");
    Parsed {
        n8,
        prime,
        n_wires,
        n_pub_out,
        n_pub_in,
        n_prv_in,
        n_labels,
        constraints,
        labels,
    }
}

fn eval(lc: &[(u32, Fr)], z: &[Fr]) -> Fr {
    lc.iter().map(|(w, v)| z[*w as usize] * v).sum()
}

#[test]
fn mlp_export_parses_back_and_is_satisfied_by_a_real_assignment() {
    let g = common::mlp_circuit().graph;
    let r1cs = zkinfer_circuits::constraint_matrices(&g).unwrap();
    let text = std::fs::read_to_string(fixture("mlp/input.json")).unwrap();
    let x = zkinfer_circuits::input::parse_input_json(&text).unwrap();
    let q = zkinfer_circuits::quantize_input(&g, &x).unwrap();
    let trace = zkinfer_circuits::infer(&g, &q).unwrap();
    let z = zkinfer_circuits::synthesize(&g, &trace, false)
        .unwrap()
        .assignment;
    assert!(r1cs.is_satisfied(&z));

    let mut out = Cursor::new(Vec::new());
    write_r1cs(&r1cs, &mut out).unwrap();
    let file = out.into_inner();
    let p = parse(&file);

    assert_eq!(p.n8, 32);
    assert_eq!(p.prime, Fr::MODULUS.to_bytes_le(), "BN254's scalar field");
    assert_eq!(
        p.prime[..4],
        [0x01, 0x00, 0x00, 0xf0],
        "r = 0x30644e72…f0000001"
    );
    assert_eq!(p.n_wires as usize, r1cs.num_instance + r1cs.num_witness);
    assert_eq!(p.n_pub_out, 0);
    assert_eq!(p.n_pub_in as usize, r1cs.num_instance - 1);
    assert_eq!(p.n_prv_in, 0);
    assert_eq!(p.n_labels, p.n_wires as u64);
    assert_eq!(p.labels, (0..p.n_wires as u64).collect::<Vec<_>>());
    assert_eq!(p.constraints.len(), r1cs.num_constraints());
    assert_eq!(z[0], Fr::one());
    for (i, [a, b, c]) in p.constraints.iter().enumerate() {
        let (av, bv, cv) = (eval(a, &z), eval(b, &z), eval(c, &z));
        assert_eq!(av, r1cs.a.eval_row(i, &z), "A of constraint {i}");
        assert_eq!(bv, r1cs.b.eval_row(i, &z), "B of constraint {i}");
        assert_eq!(cv, r1cs.c.eval_row(i, &z), "C of constraint {i}");
        assert_eq!(av * bv, cv, "constraint {i}");
    }
    // A wrong public input breaks some constraint.
    let mut bad = z.clone();
    bad[1] += Fr::one();
    assert!(p
        .constraints
        .iter()
        .any(|[a, b, c]| eval(a, &bad) * eval(b, &bad) != eval(c, &bad)));
}

#[test]
fn repeated_wires_are_merged_and_zeros_dropped() {
    let m = |rows: &[&[(u32, i64)]]| {
        let mut s = SparseMatrix {
            row_ptr: vec![0],
            ..Default::default()
        };
        for r in rows {
            for &(c, v) in *r {
                s.cols.push(c);
                s.vals.push(Fr::from(v));
            }
            s.row_ptr.push(s.cols.len());
        }
        s
    };
    // (3·w2 + 2·w1 - 2·w1 + w2) · (1) = 4·w2
    let r1cs = R1cs {
        num_instance: 2,
        num_witness: 1,
        a: m(&[&[(2, 3), (1, 2), (1, -2), (2, 1)]]),
        b: m(&[&[(0, 1)]]),
        c: m(&[&[(2, 4)]]),
    };
    let mut row = Vec::new();
    merged_row(&r1cs.a, 0, &mut row);
    assert_eq!(row, vec![(2, Fr::from(4u64))]);

    let mut out = Cursor::new(Vec::new());
    write_r1cs(&r1cs, &mut out).unwrap();
    let p = parse(&out.into_inner());
    assert_eq!(p.constraints[0][0], vec![(2, Fr::from(4u64))]);
    assert_eq!(p.constraints[0][1], vec![(0, Fr::one())]);
    assert_eq!((p.n_wires, p.n_pub_in), (3, 1));
    // -1 is written canonically: p - 1, not its Montgomery form.
    let neg = R1cs {
        c: m(&[&[(2, -1)]]),
        ..r1cs
    };
    let mut out = Cursor::new(Vec::new());
    write_r1cs(&neg, &mut out).unwrap();
    let p = parse(&out.into_inner());
    assert_eq!(p.constraints[0][2], vec![(2, -Fr::one())]);
    let mut pm1 = Fr::MODULUS.to_bytes_le();
    pm1[0] -= 1;
    let file = {
        let mut out = Cursor::new(Vec::new());
        write_r1cs(&neg, &mut out).unwrap();
        out.into_inner()
    };
    assert!(file.windows(32).any(|w| w == pm1.as_slice()));
}

// ---- the CLI and snarkjs ----------------------------------------------------------------

fn zkinfer(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_zkinfer"))
        .args(args)
        .output()
        .expect("run zkinfer")
}

fn expect_exit(o: &Output, want: i32) -> String {
    let e = String::from_utf8_lossy(&o.stderr).into_owned();
    assert_eq!(
        o.status.code(),
        Some(want),
        "stdout: {}\nstderr: {e}",
        String::from_utf8_lossy(&o.stdout)
    );
    assert!(!e.contains("panicked"), "panic: {e}");
    e
}

/// snarkjs's cli.js, or `None` (skip) outside CI.
fn snarkjs() -> Option<PathBuf> {
    common::node_tool("snarkjs", "cli.js")
}

/// Runs snarkjs in `dir`, asserts success, returns stdout and stderr together.
fn run_snarkjs(cli: &Path, dir: &Path, args: &[&str]) -> String {
    let start = Instant::now();
    let o = Command::new("node")
        .arg(cli)
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run node");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(o.status.success(), "snarkjs {args:?} failed:\n{text}");
    eprintln!(
        "snarkjs {}: {:.1} s",
        args[..2].join(" "),
        start.elapsed().as_secs_f64()
    );
    text
}

/// The number after `label` in snarkjs's log output.
fn number_after(text: &str, label: &str) -> u64 {
    let at = text
        .find(label)
        .unwrap_or_else(|| panic!("no '{label}' in:\n{text}"));
    text[at + label.len()..]
        .trim_start()
        .chars()
        .take_while(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .unwrap_or_else(|_| panic!("no number after '{label}' in:\n{text}"))
}

/// The number before `what` in our own `wrote …: N constraints, …` line.
fn our_count(line: &str, what: &str) -> u64 {
    let before = &line[..line
        .find(what)
        .unwrap_or_else(|| panic!("no '{what}' in {line}"))];
    before
        .trim_end()
        .rsplit(|c: char| !c.is_ascii_digit())
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

#[test]
fn snarkjs_reads_the_export() {
    let dir = temp_dir("snarkjs");
    let zkc = dir.join("m.zkc");
    let r1cs = dir.join("m.r1cs");
    expect_exit(
        &zkinfer(&[
            "compile",
            "--model",
            s(&fixture("mlp/model.onnx")),
            "--out",
            s(&zkc),
            "--input-bits",
            "9",
        ]),
        0,
    );

    // Missing flags: exit 2 with a message naming the flag.
    let e = expect_exit(
        &zkinfer(&["export", "--format", "r1cs", "--out", s(&r1cs)]),
        2,
    );
    assert!(e.contains("--circuit"), "{e}");
    let e = expect_exit(&zkinfer(&["export", "--out", s(&dir.join("x"))]), 2);
    assert!(e.contains("--vk"), "{e}");
    let e = expect_exit(
        &zkinfer(&[
            "export",
            "--format",
            "r1cs",
            "--circuit",
            s(&zkc),
            "--segment",
            "0",
            "--out",
            s(&r1cs),
        ]),
        2,
    );
    assert!(e.contains("not segmented"), "{e}");

    let o = zkinfer(&[
        "export",
        "--format",
        "r1cs",
        "--circuit",
        s(&zkc),
        "--out",
        s(&r1cs),
    ]);
    expect_exit(&o, 0);
    let line = String::from_utf8_lossy(&o.stdout).into_owned();
    let constraints = our_count(&line, "constraints");
    let wires = our_count(&line, "wires");
    let public = our_count(&line, "public inputs");
    let bytes = our_count(&line, "bytes");
    assert_eq!(std::fs::metadata(&r1cs).unwrap().len(), bytes, "{line}");
    let p = parse(&std::fs::read(&r1cs).unwrap());
    assert_eq!(p.constraints.len() as u64, constraints);
    assert_eq!(p.n_wires as u64, wires);
    assert_eq!(p.n_pub_in as u64, public);

    let Some(cli) = snarkjs() else { return };
    let info = run_snarkjs(&cli, &dir, &["r1cs", "info", "m.r1cs"]);
    assert!(info.contains("bn-128"), "{info}");
    assert_eq!(number_after(&info, "# of Constraints:"), constraints);
    assert_eq!(number_after(&info, "# of Wires:"), wires);
    assert_eq!(number_after(&info, "# of Public Inputs:"), public);
    assert_eq!(number_after(&info, "# of Outputs:"), 0);
    assert_eq!(number_after(&info, "# of Private Inputs:"), 0);

    // The Groth16 setup on this export from a Powers of Tau, a phase-2 contribution, `zkey
    // verify` and proofs from the imported key: prover/tests/zkey_import.rs (one ceremony for both).
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_segmented_circuit_needs_a_segment() {
    let dir = temp_dir("segmented");
    let zkc = dir.join("c.zkc");
    expect_exit(
        &zkinfer(&[
            "compile",
            "--model",
            s(&fixture("cnn/model.onnx")),
            "--out",
            s(&zkc),
            "--input-bits",
            "9",
            "--max-constraints",
            "6000",
        ]),
        0,
    );
    let out = dir.join("c.r1cs");
    let export = |extra: &[&str]| {
        let mut args = vec![
            "export",
            "--format",
            "r1cs",
            "--circuit",
            s(&zkc),
            "--out",
            s(&out),
        ];
        args.extend_from_slice(extra);
        zkinfer(&args)
    };
    let e = expect_exit(&export(&[]), 2);
    assert!(e.contains("segmented") && e.contains("--segment"), "{e}");
    assert!(!out.exists());
    let e = expect_exit(&export(&["--segment", "99"]), 2);
    assert!(e.contains("segments"), "{e}");

    // Each segment exports on its own, with that segment's constraint system.
    let g = zkinfer_circuits::CircuitFile::read(&zkc).unwrap().graph;
    assert!(g.is_segmented());
    for k in 0..g.segments.len() {
        expect_exit(&export(&["--segment", &k.to_string()]), 0);
        let want = g.segment_view(k).constraint_matrices().unwrap();
        let p = parse(&std::fs::read(&out).unwrap());
        assert_eq!(p.constraints.len(), want.num_constraints(), "segment {k}");
        assert_eq!(p.n_wires as usize, want.num_variables(), "segment {k}");
        assert_eq!(p.n_pub_in as usize, want.num_instance - 1, "segment {k}");
    }
    std::fs::remove_dir_all(&dir).ok();
}
