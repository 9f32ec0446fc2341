//! Segments: cutting a graph, and each segment's circuit — satisfied by the model's trace,
//! chained by boundary hashes, and unsatisfied by a wrong boundary value or hash.

mod common;

use ark_bn254::Fr;
use common::read;
use zkinfer_circuits::segment::{crossing, plan};
use zkinfer_circuits::{
    compile_calibrated, infer, measure, quantize_input, BitsPolicy, QGraph, Settings, Visibility,
};

fn compiled(name: &str, scale: i32, input_bits: u32) -> QGraph {
    let s = Settings {
        scale,
        weight_scale: scale,
        input_bits,
        ..Settings::default()
    };
    compile_calibrated(
        &read(&format!("{name}/model.onnx")),
        &s,
        &BitsPolicy::WorstCase { max_bits: 48 },
    )
    .unwrap()
    .graph
}

fn input(name: &str) -> Vec<f64> {
    let text = std::fs::read_to_string(common::fixture(&format!("{name}/input.json"))).unwrap();
    zkinfer_circuits::input::parse_input_json(&text).unwrap()
}

/// Cuts `g` into segments of at most `max` (estimated) constraints.
fn cut(g: &mut QGraph, max: usize) {
    let size = measure(g).unwrap();
    let p = plan(
        g,
        &size.per_node,
        size.per_layer[0].1,
        size.per_layer[size.per_layer.len() - 1].1,
        max,
    );
    g.segments = p.segments;
}

#[test]
fn a_skip_connection_crosses_every_cut_it_spans() {
    let g = compiled("resblock", 8, 10);
    let n = g.nodes.len();
    assert_eq!(crossing(&g, 0), vec![g.input]);
    assert_eq!(crossing(&g, n), vec![g.output]);
    // Some cut inside the block has two tensors crossing: the branch and the skip.
    assert!(
        (1..n).any(|p| crossing(&g, p).len() >= 2),
        "a residual block has a cut crossed by the skip and the branch"
    );
    for p in 1..n {
        for &t in &crossing(&g, p) {
            let made_before = t == g.input || g.nodes[..p].iter().any(|node| node.output == t);
            let read_after =
                t == g.output || g.nodes[p..].iter().any(|node| node.inputs.contains(&t));
            assert!(made_before && read_after, "cut {p}: tensor {t}");
        }
    }
}

#[test]
fn plan_cuts_within_the_limit_and_prefers_narrow_boundaries() {
    let mut g = compiled("resblock", 8, 10);
    let total = measure(&g).unwrap().constraints;
    cut(&mut g, total / 3);
    let segs = g.segments.clone();
    assert!(segs.len() >= 3, "{} segments", segs.len());
    assert_eq!(segs[0].start, 0);
    assert_eq!(segs.last().unwrap().end, g.nodes.len());
    for w in segs.windows(2) {
        assert_eq!(w[0].end, w[1].start);
        assert_eq!(
            w[0].outputs, w[1].inputs,
            "a boundary is one set of tensors"
        );
    }
    for (k, seg) in segs.iter().enumerate() {
        let c = g.segment_view(k).measure().unwrap().constraints;
        let single = seg.end - seg.start == 1;
        assert!(c <= total / 3 || single, "segment {k}: {c} constraints");
    }
}

/// Every segment's circuit is satisfied by the model's trace, its public inputs chain (the
/// output hash of one is the input hash of the next), and changing a boundary hash or a
/// boundary value unsatisfies it.
#[test]
fn segment_circuits_are_satisfied_chained_and_sound() {
    for (name, scale, bits) in [("cnn", 7, 9), ("resblock", 8, 10)] {
        let mut g = compiled(name, scale, bits);
        let total = measure(&g).unwrap().constraints;
        cut(&mut g, total / 3);
        assert!(g.segments.len() >= 3, "{name}");
        let q = quantize_input(&g, &input(name)).unwrap();
        let trace = infer(&g, &q).unwrap();
        for k in 0..g.segments.len() {
            let view = g.segment_view(k);
            let s = view.synthesize(&trace, true).unwrap();
            assert!(s.r1cs.is_satisfied(&s.assignment), "{name} segment {k}");
            assert_eq!(
                s.r1cs,
                view.constraint_matrices().unwrap(),
                "{name} segment {k}"
            );
            if k + 1 < g.segments.len() {
                assert_eq!(
                    view.output_hash(&trace).unwrap(),
                    g.segment_view(k + 1).input_hash(&trace).unwrap()
                );
            }
            // Public inputs: the model's packed input first, else the input hash; the last
            // one's packed output, else the output hash.
            let public = view.public_inputs(&trace).unwrap();
            assert_eq!(public.len(), view.num_public_inputs());
            if k > 0 {
                assert_eq!(public[0], view.input_hash(&trace).unwrap());
                // A wrong input hash: unsatisfied.
                let mut z = s.assignment.clone();
                z[1] += Fr::from(1u64);
                assert!(!s.r1cs.is_satisfied(&z), "{name} segment {k}: input hash");
                // A boundary value changed (the first witness after the public inputs is the
                // first input value): unsatisfied, though the hash input stays the same.
                let mut z = s.assignment.clone();
                z[1 + public.len()] += Fr::from(1u64);
                assert!(
                    !s.r1cs.is_satisfied(&z),
                    "{name} segment {k}: boundary value"
                );
            }
            if k + 1 < g.segments.len() {
                assert_eq!(*public.last().unwrap(), view.output_hash(&trace).unwrap());
                let mut z = s.assignment.clone();
                z[public.len()] += Fr::from(1u64);
                assert!(!s.r1cs.is_satisfied(&z), "{name} segment {k}: output hash");
            }
        }
    }
}

#[test]
fn hashed_visibility_makes_each_side_one_public_input() {
    let s = Settings {
        scale: 7,
        weight_scale: 7,
        input_bits: 9,
        input_visibility: Visibility::Hashed,
        output_visibility: Visibility::Hashed,
        ..Settings::default()
    };
    let g = compile_calibrated(
        &read("cnn/model.onnx"),
        &s,
        &BitsPolicy::WorstCase { max_bits: 48 },
    )
    .unwrap()
    .graph;
    assert_eq!(g.public_layout().num_public_inputs(), 2);
    let q = quantize_input(&g, &input("cnn")).unwrap();
    let trace = infer(&g, &q).unwrap();
    let syn = zkinfer_circuits::synthesize(&g, &trace, true).unwrap();
    assert!(syn.r1cs.is_satisfied(&syn.assignment));
    let expected =
        zkinfer_verifier::pack_public_inputs(&g.public_layout(), &q, trace.output(&g)).unwrap();
    assert_eq!(syn.assignment[1..3], expected[..]);
    for i in [1, 2] {
        let mut z = syn.assignment.clone();
        z[i] += Fr::from(1u64);
        assert!(!syn.r1cs.is_satisfied(&z), "public input {i}");
    }
}
