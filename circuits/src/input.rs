//! `input.json`: `{"input": [..]}` with nested or flat arrays (row-major), or EZKL's
//! `{"input_data": [[..]]}`.

use serde_json::Value;

/// Reads the input values from the JSON text, flattened row-major.
pub fn parse_input_json(text: &str) -> Result<Vec<f64>, String> {
    let v: Value =
        serde_json::from_str(text).map_err(|e| format!("input is not valid JSON: {e}"))?;
    let data = v
        .get("input")
        .or_else(|| v.get("input_data"))
        .ok_or("input JSON needs an \"input\" (or EZKL's \"input_data\") field")?;
    let mut out = Vec::new();
    flatten(data, &mut out)?;
    Ok(out)
}

fn flatten(v: &Value, out: &mut Vec<f64>) -> Result<(), String> {
    match v {
        Value::Array(a) => a.iter().try_for_each(|x| flatten(x, out)),
        Value::Number(n) => {
            out.push(
                n.as_f64()
                    .ok_or("a number that is not representable as f64")?,
            );
            Ok(())
        }
        // JSON has no NaN; accept the strings people write for it so the error says what it is.
        Value::String(s)
            if matches!(
                s.as_str(),
                "NaN" | "nan" | "inf" | "-inf" | "Infinity" | "-Infinity"
            ) =>
        {
            out.push(s.parse::<f64>().unwrap_or(f64::NAN));
            Ok(())
        }
        other => Err(format!("input values must be numbers, found {other}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_flat_and_ezkl_forms() {
        assert_eq!(
            parse_input_json(r#"{"input": [[1, 2], [3, 4.5]]}"#).unwrap(),
            vec![1.0, 2.0, 3.0, 4.5]
        );
        assert_eq!(
            parse_input_json(r#"{"input_data": [[1, 2]]}"#).unwrap(),
            vec![1.0, 2.0]
        );
        assert!(parse_input_json(r#"{"input": ["NaN"]}"#).unwrap()[0].is_nan());
        assert!(parse_input_json(r#"{"x": 1}"#).is_err());
        assert!(parse_input_json(r#"{"input": [true]}"#).is_err());
        assert!(parse_input_json("{").is_err());
    }
}
