//! Split proving through the CLI: models cut into segments prove into one bundle that verifies
//! as one statement; a bundle changed anywhere is rejected naming the segment; hashed inputs
//! and outputs; proving within a memory budget.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

fn fixture(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures")
        .join(rel)
}

/// Runs zkinfer; returns (exit code, stdout, stderr).
fn run(args: &[&str]) -> (i32, String, String) {
    let o = Command::new(env!("CARGO_BIN_EXE_zkinfer"))
        .args(args)
        .output()
        .expect("run zkinfer");
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn ok(args: &[&str]) -> String {
    let (code, out, err) = run(args);
    assert_eq!(code, 0, "{args:?}\nstdout: {out}\nstderr: {err}");
    out
}

struct Dir(PathBuf);

impl Dir {
    fn new(name: &str) -> Self {
        let d = std::env::temp_dir().join(format!("zkinfer-seg-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        Dir(d)
    }
    fn p(&self, f: &str) -> String {
        self.0.join(f).to_str().unwrap().to_string()
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        std::fs::remove_dir_all(&self.0).ok();
    }
}

/// Compiles `model` with `extra` flags, sets up and proves `input`; returns the compile report
/// and the prove report.
fn compile_setup_prove(
    d: &Dir,
    model: &Path,
    input: &Path,
    extra: &[&str],
    prove_extra: &[&str],
) -> (String, String) {
    let mut args = vec!["compile", "--model", model.to_str().unwrap(), "--out"];
    let zkc = d.p("m.zkc");
    args.push(&zkc);
    args.extend_from_slice(extra);
    let report = ok(&args);
    let (pk, vk, proof) = (d.p("m.pk"), d.p("m.vk"), d.p("proof.json"));
    ok(&["setup", "--circuit", &zkc, "--pk", &pk, "--vk", &vk]);
    let mut args = vec![
        "prove",
        "--circuit",
        &zkc,
        "--pk",
        &pk,
        "--input",
        input.to_str().unwrap(),
        "--proof",
        &proof,
    ];
    args.extend_from_slice(prove_extra);
    let proved = ok(&args);
    (report, proved)
}

fn verify(d: &Dir, proof: &str) -> (i32, String, String) {
    run(&["verify", "--vk", &d.p("m.vk"), "--proof", proof])
}

fn segments_in(report: &str) -> usize {
    let line = report
        .lines()
        .find(|l| l.starts_with("segments ("))
        .unwrap_or_else(|| panic!("no segments line in\n{report}"));
    line["segments (".len()..line.find(')').unwrap()]
        .parse()
        .unwrap()
}

/// The unsplit model's output for the same input, from integer inference.
fn unsplit_output(d: &Dir, model: &Path, input: &Path, extra: &[&str]) -> Value {
    let zkc = d.p("unsplit.zkc");
    let mut args = vec!["compile", "--model", model.to_str().unwrap(), "--out", &zkc];
    args.extend_from_slice(extra);
    ok(&args);
    let out = ok(&["run", "--circuit", &zkc, "--input", input.to_str().unwrap()]);
    serde_json::from_str(&out).unwrap()
}

fn load(path: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn save(path: &str, v: &Value) {
    std::fs::write(path, serde_json::to_string_pretty(v).unwrap()).unwrap();
}

/// Whether a verify error names segment `k` ("segment k (of n)" or "segments i, k (of n)").
fn names_segment(err: &str, k: usize) -> bool {
    err.split("segment").skip(1).any(|rest| {
        let list = rest
            .trim_start_matches('s')
            .split(" (of")
            .next()
            .unwrap_or("");
        list.split(',').any(|x| x.trim() == k.to_string())
    })
}

/// Every way of changing a valid bundle is rejected (exit 1) and names the segment.
fn tampering_is_rejected(d: &Dir) {
    let good = load(&d.p("proof.json"));
    let n = good["segments"].as_array().unwrap().len();
    assert!(n >= 3);
    let mid = n / 2;
    let bad = d.p("bad.json");
    let reject = |v: &Value, what: &str, segment: usize| {
        save(&bad, v);
        let (code, out, err) = verify(d, &bad);
        assert_eq!(code, 1, "{what}: {out}{err}");
        assert!(
            names_segment(&err, segment),
            "{what} should name segment {segment}: {err}"
        );
    };

    // A middle segment's proof: one byte flipped.
    let mut v = good.clone();
    let proof = v["segments"][mid]["proof"].as_str().unwrap().to_string();
    let flipped = format!(
        "{}{}",
        &proof[..10],
        if &proof[10..11] == "0" { "1" } else { "0" }
    ) + &proof[11..];
    v["segments"][mid]["proof"] = Value::String(flipped);
    save(&bad, &v);
    let (code, _, err) = verify(d, &bad);
    // A flipped byte is either an invalid point (bad input) or a failed pairing; both name it.
    assert!(code == 1 || code == 2, "{err}");
    assert!(names_segment(&err, mid), "{err}");

    // A middle segment's output hash: the link to the next segment breaks.
    let mut v = good.clone();
    v["segments"][mid]["output_hash"] = Value::String("12345".into());
    reject(&v, "changed output hash", mid + 1);

    // Both hashes of a link changed consistently: the pairing of both segments fails.
    let mut v = good.clone();
    v["segments"][mid]["output_hash"] = Value::String("12345".into());
    v["segments"][mid + 1]["input_hash"] = Value::String("12345".into());
    reject(&v, "changed link", mid);

    // The model output changed (values and quantized alike).
    let mut v = good.clone();
    let q = v["output"]["quantized"][0].as_i64().unwrap() + 1;
    let scale = v["output"]["scale"].as_i64().unwrap();
    v["output"]["quantized"][0] = q.into();
    v["output"]["values"][0] = (q as f64 / 2f64.powi(scale as i32)).into();
    reject(&v, "changed output", n - 1);

    // A segment proof moved to another position.
    let mut v = good.clone();
    let a = v["segments"][0]["proof"].clone();
    v["segments"][0]["proof"] = v["segments"][1]["proof"].clone();
    v["segments"][1]["proof"] = a;
    reject(&v, "swapped proofs", 0);

    // The good bundle still verifies.
    let (code, out, err) = verify(d, &d.p("proof.json"));
    assert_eq!(code, 0, "{out}{err}");
}

#[test]
fn cnn_in_three_segments_proves_verifies_and_rejects_tampering() {
    let d = Dir::new("cnn");
    let model = fixture("cnn/model.onnx");
    let input = fixture("cnn/input.json");
    let flags = ["--input-bits", "9"];
    let mut extra = flags.to_vec();
    extra.extend(["--max-constraints", "6000"]);
    let (report, proved) = compile_setup_prove(&d, &model, &input, &extra, &["--jobs", "2"]);
    println!("{report}\n{proved}");
    assert!(segments_in(&report) >= 3, "{report}");
    assert!(report.contains("gets a segment of its own"), "{report}");
    let (code, out, err) = verify(&d, &d.p("proof.json"));
    assert_eq!(code, 0, "{out}{err}");
    let bundle = load(&d.p("proof.json"));
    let unsplit = unsplit_output(&d, &model, &input, &flags);
    assert_eq!(bundle["output"]["quantized"], unsplit["quantized"]);
    tampering_is_rejected(&d);

    // One contract verifies the whole bundle; calldata gives its arguments.
    ok(&[
        "export-verifier",
        "--vk",
        &d.p("m.vk"),
        "--out",
        &d.p("V.sol"),
    ]);
    let sol = std::fs::read_to_string(d.p("V.sol")).unwrap();
    assert!(sol.contains("verifyBundle"));
    let calldata: Value = serde_json::from_str(&ok(&[
        "calldata",
        "--vk",
        &d.p("m.vk"),
        "--proof",
        &d.p("proof.json"),
    ]))
    .unwrap();
    assert!(calldata.is_object() || calldata.is_array());

    // A bundle is not a proof.json, and a segmented .vk is not a single one: clear errors.
    let (code, _, err) = run(&[
        "export",
        "--vk",
        &d.p("m.vk"),
        "--proof",
        &d.p("proof.json"),
        "--out",
        &d.p("sj"),
    ]);
    assert_eq!(code, 2, "{err}");
}

#[test]
fn hashed_input_and_output_prove_and_bind_the_values() {
    let d = Dir::new("hashed");
    let model = fixture("mlp/model.onnx");
    let input = fixture("mlp/input.json");
    let (report, _) = compile_setup_prove(
        &d,
        &model,
        &input,
        &[
            "--input-bits",
            "9",
            "--input-visibility",
            "hashed",
            "--output-visibility",
            "hashed",
        ],
        &[],
    );
    assert!(report.contains(", 2 public inputs"), "{report}");
    let (code, out, err) = verify(&d, &d.p("proof.json"));
    assert_eq!(code, 0, "{out}{err}");
    // The values in proof.json are bound through the hash: changing one is rejected.
    let mut v = load(&d.p("proof.json"));
    let q = v["input"]["quantized"][3].as_i64().unwrap() + 1;
    v["input"]["quantized"][3] = q.into();
    save(&d.p("bad.json"), &v);
    let (code, _, err) = verify(&d, &d.p("bad.json"));
    assert_eq!(code, 1, "{err}");
    let mut v = load(&d.p("proof.json"));
    let q = v["output"]["quantized"][0].as_i64().unwrap() - 1;
    let scale = v["output"]["scale"].as_i64().unwrap();
    v["output"]["quantized"][0] = q.into();
    v["output"]["values"][0] = (q as f64 / 2f64.powi(scale as i32)).into();
    save(&d.p("bad.json"), &v);
    let (code, _, err) = verify(&d, &d.p("bad.json"));
    assert_eq!(code, 1, "{err}");
    let (code, _, err) = run(&[
        "compile",
        "--model",
        model.to_str().unwrap(),
        "--out",
        &d.p("x.zkc"),
        "--input-visibility",
        "secret",
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("public or hashed"), "{err}");
}

/// "12.3 MB" / "1.20 GB" as printed by the CLI, in bytes.
fn parse_human(s: &str) -> f64 {
    let mut it = s.split_whitespace();
    let n: f64 = it.next().unwrap().parse().unwrap();
    n * match it.next().unwrap() {
        "B" => 1.0,
        "kB" => 1e3,
        "MB" => 1e6,
        "GB" => 1e9,
        u => panic!("unit {u}"),
    }
}

/// The last column (prove peak) of a row of compile's cost table.
fn prove_peak(row: &str) -> f64 {
    let cols: Vec<&str> = row.split_whitespace().collect();
    parse_human(&cols[cols.len() - 2..].join(" "))
}

/// The gpt decoder cut into at least 3 segments: the same output as the unsplit circuit; a
/// memory budget the unsplit proof is estimated to exceed, and every segment fits, proves the
/// segmented model (two jobs asked, run as the budget allows) and refuses the unsplit one (exit
/// 2, saying to segment it); the measured peak memory is within a margin of the estimate.
#[test]
fn gpt_over_the_memory_budget_proves_in_segments() {
    let d = Dir::new("gpt");
    let model = fixture("gpt/model.onnx");
    let input = fixture("gpt/input.json");
    let flags = ["--scale", "8", "--weight-scale", "8", "--bits", "20"];
    let mut extra = flags.to_vec();
    extra.extend(["--max-constraints", "380000"]);
    let zkc = d.p("m.zkc");
    let mut args = vec!["compile", "--model", model.to_str().unwrap(), "--out", &zkc];
    args.extend_from_slice(&extra);
    let report = ok(&args);
    println!("{report}");
    let n = segments_in(&report);
    assert!(n >= 3, "{report}");
    let rows: Vec<&str> = report.lines().filter(|l| l.starts_with('#')).collect();
    assert_eq!(rows.len(), n);
    let segment_peak = rows.iter().map(|r| prove_peak(r)).fold(0.0, f64::max);
    let unsplit = report
        .lines()
        .find(|l| l.starts_with("unsplit"))
        .unwrap_or_else(|| panic!("{report}"));
    let unsplit_peak = prove_peak(unsplit);
    assert!(unsplit_peak > 1.5 * segment_peak, "{report}");
    let budget = format!("{}", (1.1 * segment_peak) as u64);

    let unsplit_zkc = d.p("unsplit.zkc");
    let mut args = vec![
        "compile",
        "--model",
        model.to_str().unwrap(),
        "--out",
        &unsplit_zkc,
    ];
    args.extend_from_slice(&flags);
    ok(&args);
    // Refused on the estimate, before the key is read (there is none).
    let (code, _, err) = run(&[
        "prove",
        "--circuit",
        &unsplit_zkc,
        "--pk",
        &d.p("none.pk"),
        "--input",
        input.to_str().unwrap(),
        "--proof",
        &d.p("u.json"),
        "--max-memory",
        &budget,
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--max-constraints"), "{err}");

    ok(&[
        "setup",
        "--circuit",
        &zkc,
        "--pk",
        &d.p("m.pk"),
        "--vk",
        &d.p("m.vk"),
    ]);
    let proved = ok(&[
        "prove",
        "--circuit",
        &zkc,
        "--pk",
        &d.p("m.pk"),
        "--input",
        input.to_str().unwrap(),
        "--proof",
        &d.p("proof.json"),
        "--jobs",
        "2",
        "--max-memory",
        &budget,
    ]);
    println!("{proved}");
    let (code, out, err) = verify(&d, &d.p("proof.json"));
    assert_eq!(code, 0, "{out}{err}");
    let bundle = load(&d.p("proof.json"));
    let unsplit_out = unsplit_output(&d, &model, &input, &flags);
    assert_eq!(bundle["output"]["quantized"], unsplit_out["quantized"]);

    // The estimate against the OS's peak (VmHWM) of the whole prove process.
    let measured = proved
        .lines()
        .find_map(|l| l.split("; peak memory ").nth(1))
        .map(parse_human)
        .expect("prove prints its peak memory on Linux");
    println!("measured peak {measured:.3e} B, largest segment estimate {segment_peak:.3e} B");
    assert!(
        measured <= 1.3 * segment_peak && measured >= 0.5 * segment_peak,
        "measured peak {measured} vs estimated {segment_peak}"
    );
    tampering_is_rejected(&d);
}
