//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::PathBuf;

/// A fixture file's path.
pub fn fixture(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fixtures").join(rel)
}

/// A fixture file's bytes.
pub fn read(rel: &str) -> Vec<u8> {
    std::fs::read(fixture(rel)).unwrap_or_else(|e| panic!("fixture {rel}: {e}"))
}

/// The digits test split: (inputs, labels).
pub fn digits_test() -> (Vec<Vec<f64>>, Vec<usize>) {
    let v: serde_json::Value = serde_json::from_slice(&read("digits_test.json")).unwrap();
    let inputs = v["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect())
        .collect();
    let labels = v["labels"].as_array().unwrap().iter().map(|x| x.as_u64().unwrap() as usize).collect();
    (inputs, labels)
}

/// Index of the largest value.
pub fn argmax(v: &[f64]) -> usize {
    v.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1)).map(|(i, _)| i).unwrap()
}
