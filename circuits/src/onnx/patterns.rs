//! Recognising exported decompositions: subgraphs that PyTorch and other exporters emit for one
//! mathematical op are rewritten into one canonical node before lowering, so that the op is
//! proven as a whole (exact sums, one proven reciprocal square root, one table) instead of
//! through ops zkinfer cannot or should not prove one by one (`Sqrt`, `Erf`, `Pow`).
//!
//! | decomposition | node |
//! |---|---|
//! | `ReduceMean(axes=[-1]) → Sub → Pow 2 → ReduceMean → Add ε → Sqrt → Div` [`→ Mul γ`] [`→ Add β`] | `LayerNormalization` |
//! | `Pow 2 → ReduceMean(axes=[-1]) → Add ε → Sqrt → Reciprocal → Mul x` [`→ Mul w`] | `RMSNormalization` |
//! | `Div √2 (or Mul 1/√2) → Erf → Add 1 → Mul x → Mul 0.5` (0.5 at either end) | `Gelu` (approximate = "none") |
//! | `x³ → Mul 0.044715 → Add x → Mul √(2/π) → Tanh → Add 1 → Mul x → Mul 0.5` | `Gelu` (approximate = "tanh") |
//! | `Sigmoid → Mul x` | `Silu` |
//!
//! (`Pow 2` may also be `Mul(a, a)`, `x³` is `Pow 3` or `x·x·x`, `Reciprocal(s)` may be
//! `Div(1, s)`, and `Mul(a, Reciprocal(s))` may be `Div(a, s)`.)
//!
//! A rewrite happens only when it cannot change what the graph computes: every constant has the
//! expected value (scalars within 1e-6 relative, which float32 storage meets), commutative
//! operands match in either order, every reduction is over the last axis with kept dimensions,
//! and every intermediate value is read by the pattern's nodes alone — reads are counted over
//! all nodes and the graph output, so a value that anything else reads keeps its nodes. A
//! pattern whose input is computed from constants alone is left to constant folding. The fused
//! node takes the name of the pattern's first node, the output of its last, and the op type
//! that compile's report shows.

use super::Const;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use tract_onnx::pb;

/// A match: the pattern's node indices, the node replacing them, and the constants it adds
/// (synthesised scale/bias values).
type Fused = (Vec<usize>, pb::NodeProto, Vec<(String, f32)>);

/// Rewrites every recognised decomposition in `nodes` (topologically sorted, Constant nodes
/// already moved into `consts`) into one node, in place of the pattern's last node, so the
/// order stays topological. `output` is the graph output (it counts as a read). Synthesised
/// constants (a LayerNorm's unit scale, zero bias) are added to `consts`.
pub fn rewrite(
    nodes: Vec<pb::NodeProto>,
    consts: &mut HashMap<String, Const>,
    output: &str,
) -> Vec<pb::NodeProto> {
    let mut fused: Vec<Fused> = Vec::new();
    {
        let g = Graph::new(&nodes, consts, output);
        let mut taken = vec![false; nodes.len()];
        for i in 0..nodes.len() {
            let found = match nodes[i].op_type.as_str() {
                "Sqrt" => g.norm(i),
                "Erf" => g.gelu_erf(i),
                "Tanh" => g.gelu_tanh(i),
                "Sigmoid" => g.silu(i),
                _ => None,
            };
            let Some(m) = found else { continue };
            if m.nodes.iter().any(|&k| taken[k]) || !g.closed(&m.nodes, m.last) {
                continue;
            }
            for &k in &m.nodes {
                taken[k] = true;
            }
            let first = *m.nodes.iter().min().expect("a pattern has nodes");
            let node = pb::NodeProto {
                op_type: m.op_type.to_string(),
                name: nodes[first].name.clone(),
                input: m.inputs,
                output: vec![nodes[m.last].output[0].clone()],
                attribute: m.attrs,
                ..Default::default()
            };
            fused.push((m.nodes, node, m.new_consts));
        }
    }
    let mut replace: HashMap<usize, pb::NodeProto> = HashMap::new();
    let mut dropped = HashSet::new();
    for (set, node, new_consts) in fused {
        for (name, v) in new_consts {
            let t = tract_onnx::prelude::tensor1(&[v]);
            consts.insert(
                name,
                Const::from_tensor(Arc::new(t)).expect("a float tensor is numeric"),
            );
        }
        let last = *set.iter().max().expect("a pattern has nodes");
        dropped.extend(set);
        replace.insert(last, node);
    }
    nodes
        .into_iter()
        .enumerate()
        .filter_map(|(i, n)| match replace.remove(&i) {
            Some(f) => Some(f),
            None if dropped.contains(&i) => None,
            None => Some(n),
        })
        .collect()
}

/// A recognised pattern: its nodes (indices), the last one (whose output the fused node
/// produces), and the fused node's op type, inputs, attributes and new constants.
struct Match {
    nodes: Vec<usize>,
    last: usize,
    op_type: &'static str,
    inputs: Vec<String>,
    attrs: Vec<pb::AttributeProto>,
    new_consts: Vec<(String, f32)>,
}

/// Who produces and who reads each value.
struct Graph<'a> {
    nodes: &'a [pb::NodeProto],
    consts: &'a HashMap<String, Const>,
    producer: HashMap<&'a str, usize>,
    /// Nodes reading each value (a node reading it twice appears twice).
    readers: HashMap<&'a str, Vec<usize>>,
    /// Reads of each value: node input slots and the graph output.
    reads: HashMap<&'a str, usize>,
    /// Values computed from constants alone (left to constant folding).
    constant: HashSet<&'a str>,
}

/// `|a - b| ≤ 1e-6·|b|`: float32 storage of the constant passes, another constant does not.
fn near(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-6 * b.abs()
}

impl<'a> Graph<'a> {
    fn new(
        nodes: &'a [pb::NodeProto],
        consts: &'a HashMap<String, Const>,
        output: &'a str,
    ) -> Self {
        let mut producer = HashMap::new();
        let mut readers: HashMap<&str, Vec<usize>> = HashMap::new();
        let mut reads: HashMap<&str, usize> = HashMap::new();
        let mut constant: HashSet<&str> = HashSet::new();
        for (i, n) in nodes.iter().enumerate() {
            for o in &n.output {
                producer.insert(o.as_str(), i);
            }
            for inp in n.input.iter().filter(|s| !s.is_empty()) {
                readers.entry(inp.as_str()).or_default().push(i);
                *reads.entry(inp.as_str()).or_default() += 1;
            }
            let from_consts = n
                .input
                .iter()
                .all(|s| s.is_empty() || consts.contains_key(s) || constant.contains(s.as_str()));
            if from_consts || n.op_type == "Shape" {
                constant.extend(n.output.iter().map(String::as_str));
            }
        }
        *reads.entry(output).or_default() += 1;
        Graph {
            nodes,
            consts,
            producer,
            readers,
            reads,
            constant,
        }
    }

    /// Whether every value the pattern's nodes produce, but its last, is read by those nodes
    /// alone (not by another node, not as the graph output), and each node has one output.
    fn closed(&self, set: &[usize], last: usize) -> bool {
        set.iter().all(|&k| {
            let n = &self.nodes[k];
            if n.output.iter().skip(1).any(|o| !o.is_empty()) {
                return false;
            }
            if k == last {
                return true;
            }
            let o = n.output[0].as_str();
            let inside: usize = set
                .iter()
                .map(|&j| self.nodes[j].input.iter().filter(|i| *i == o).count())
                .sum();
            self.reads.get(o).copied().unwrap_or(0) == inside
        })
    }

    /// The node producing `value` when its op type is `op`.
    fn prod(&self, value: &str, op: &str) -> Option<usize> {
        self.producer
            .get(value)
            .copied()
            .filter(|&i| self.nodes[i].op_type == op)
    }

    /// The one node reading `value`, when exactly one node reads it exactly once and it is
    /// not the graph output, and its op type is `op`.
    fn sole_reader(&self, value: &str, op: &str) -> Option<usize> {
        match self.readers.get(value).map(Vec::as_slice) {
            Some(&[i]) if self.reads.get(value) == Some(&1) && self.nodes[i].op_type == op => {
                Some(i)
            }
            _ => None,
        }
    }

    /// The readers of `value` with op type `op`.
    fn readers_with(&self, value: &str, op: &'a str) -> impl Iterator<Item = usize> + '_ {
        self.readers
            .get(value)
            .into_iter()
            .flatten()
            .copied()
            .filter(move |&i| self.nodes[i].op_type == op)
    }

    /// The value of a one-element constant.
    fn scalar(&self, value: &str) -> Option<f64> {
        self.consts
            .get(value)
            .filter(|c| c.data.len() == 1)
            .map(|c| c.data[0])
    }

    /// The two inputs of a binary node.
    fn operands(&self, i: usize) -> Option<(&'a str, &'a str)> {
        match self.nodes[i].input.as_slice() {
            [a, b] => Some((a.as_str(), b.as_str())),
            _ => None,
        }
    }

    /// For a commutative binary node with one input `value`, the other input.
    fn other(&self, i: usize, value: &str) -> Option<&'a str> {
        let (a, b) = self.operands(i)?;
        if a == value {
            Some(b)
        } else if b == value {
            Some(a)
        } else {
            None
        }
    }

    /// For a commutative binary node with a scalar constant operand near `want`, the other
    /// operand.
    fn with_scalar(&self, i: usize, want: f64) -> Option<&'a str> {
        let (a, b) = self.operands(i)?;
        if self.scalar(b).is_some_and(|c| near(c, want)) && !self.consts.contains_key(a) {
            Some(a)
        } else if self.scalar(a).is_some_and(|c| near(c, want)) && !self.consts.contains_key(b) {
            Some(b)
        } else {
            None
        }
    }

    /// An activation the pattern may take as its input (not computed from constants alone).
    fn is_activation(&self, value: &str) -> bool {
        !self.consts.contains_key(value) && !self.constant.contains(value)
    }

    /// `ReduceMean` over the last axis with kept dimensions (axes as an attribute, before
    /// opset 18, or as a constant second input).
    fn mean_last(&self, i: usize) -> bool {
        let n = &self.nodes[i];
        let attr = |name: &str| n.attribute.iter().find(|a| a.name == name);
        let axes: Option<Vec<i64>> = match (attr("axes"), n.input.get(1)) {
            (Some(a), _) => Some(a.ints.clone()),
            (None, Some(c)) if !c.is_empty() => self
                .consts
                .get(c)
                .map(|c| c.data.iter().map(|&v| v as i64).collect()),
            _ => None,
        };
        axes.as_deref() == Some(&[-1]) && attr("keepdims").is_none_or(|a| a.i == 1)
    }

    /// `a²` as `Pow(a, 2)` or `Mul(a, a)`: `(node, a)`.
    fn square(&self, value: &str) -> Option<(usize, &'a str)> {
        if let Some(p) = self.prod(value, "Pow") {
            let (a, e) = self.operands(p)?;
            return self.scalar(e).is_some_and(|e| e == 2.0).then_some((p, a));
        }
        let m = self.prod(value, "Mul")?;
        let (a, b) = self.operands(m)?;
        (a == b).then_some((m, a))
    }

    /// A constant that scales the last axis only (`[n]`, `[1, .., n]` or a scalar).
    fn per_channel(&self, value: &str) -> bool {
        self.consts.get(value).is_some_and(|c| {
            let k = c.shape.len();
            c.shape.iter().take(k.saturating_sub(1)).all(|&d| d == 1)
        })
    }

    /// A commutative node reading `value` and a per-channel constant: `(node, constant)`.
    fn channel_op(&self, value: &str, op: &str) -> Option<(usize, &'a str)> {
        let i = self.sole_reader(value, op)?;
        let c = self.other(i, value)?;
        self.per_channel(c).then_some((i, c))
    }

    /// LayerNorm or RMSNorm anchored at the `Sqrt` node `s`.
    fn norm(&self, s: usize) -> Option<Match> {
        let sqrt_out = self.nodes[s].output[0].as_str();
        let add = self.prod(self.nodes[s].input.first()?, "Add")?;
        let (a0, a1) = self.operands(add)?;
        let (var, eps) = match (self.scalar(a0), self.scalar(a1)) {
            (None, Some(e)) => (a0, e),
            (Some(e), None) => (a1, e),
            _ => return None,
        };
        let mean2 = self
            .prod(var, "ReduceMean")
            .filter(|&i| self.mean_last(i))?;
        let (sq, a) = self.square(self.nodes[mean2].input.first()?)?;
        let mut set = vec![s, add, mean2, sq];
        // The normalised value: Div(a, s), or Mul(a, 1/s) with 1/s = Reciprocal(s) or Div(1, s).
        let mut normed = None;
        for d in self.readers_with(sqrt_out, "Div") {
            if self.operands(d) == Some((a, sqrt_out)) {
                normed = Some(vec![d]);
            } else if self
                .operands(d)
                .is_some_and(|(one, _)| self.scalar(one) == Some(1.0))
            {
                normed = self.times(a, d).map(|m| vec![d, m]);
            }
        }
        if normed.is_none() {
            if let Some(rec) = self.readers_with(sqrt_out, "Reciprocal").next() {
                normed = self.times(a, rec).map(|m| vec![rec, m]);
            }
        }
        let normed = normed?;
        let mut last = *normed.last().expect("non-empty");
        set.extend(normed);
        // LayerNorm when a = Sub(x, ReduceMean(x)).
        let centred = self.prod(a, "Sub").and_then(|sub| {
            let (x, m) = self.operands(sub)?;
            let mean1 = self.prod(m, "ReduceMean").filter(|&i| self.mean_last(i))?;
            (self.nodes[mean1].input.first()? == x).then_some((sub, mean1, x))
        });
        let x = match centred {
            Some((_, _, x)) => x,
            None => a,
        };
        if !self.is_activation(x) {
            return None;
        }
        if let Some((sub, mean1, _)) = centred {
            set.extend([sub, mean1]);
        }
        let out = |i: usize| self.nodes[i].output[0].as_str();
        let mut gamma = None;
        if let Some((m, c)) = self.channel_op(out(last), "Mul") {
            gamma = Some(c.to_string());
            set.push(m);
            last = m;
        }
        let mut beta = None;
        if centred.is_some() {
            if let Some((b, c)) = self.channel_op(out(last), "Add") {
                beta = Some(c.to_string());
                set.push(b);
                last = b;
            }
        }
        let name = |what: &str| format!("{}::{what}", out(last));
        let mut new_consts = Vec::new();
        let gamma = gamma.unwrap_or_else(|| {
            new_consts.push((name("scale"), 1.0));
            name("scale")
        });
        let attrs = vec![attr_int("axis", -1), attr_float("epsilon", eps as f32)];
        let (op_type, inputs) = if centred.is_some() {
            let beta = beta.unwrap_or_else(|| {
                new_consts.push((name("bias"), 0.0));
                name("bias")
            });
            ("LayerNormalization", vec![x.to_string(), gamma, beta])
        } else {
            ("RMSNormalization", vec![x.to_string(), gamma])
        };
        Some(Match {
            nodes: set,
            last,
            op_type,
            inputs,
            attrs,
            new_consts,
        })
    }

    /// The `Mul` reading both `a` and the output of node `i` (either order).
    fn times(&self, a: &str, i: usize) -> Option<usize> {
        let o = self.nodes[i].output[0].as_str();
        let m = self.sole_reader(o, "Mul")?;
        (self.other(m, o)? == a).then_some(m)
    }

    /// The common tail of both GELU forms after `t = erf(·)` or `tanh(·)` (node `f`):
    /// `Add(t, 1) → Mul(x, ·) → Mul(·, 0.5)`, with the 0.5 also first (`Mul(Mul(x, 0.5), ·)`)
    /// or on the sum (`Mul(x, Mul(·, 0.5))`). Returns the tail's nodes, last one last.
    fn gelu_tail(&self, x: &str, f: usize) -> Option<Vec<usize>> {
        let out = |i: usize| self.nodes[i].output[0].as_str();
        let add = self.sole_reader(out(f), "Add")?;
        if self.with_scalar(add, 1.0)? != out(f) {
            return None;
        }
        let m1 = self.sole_reader(out(add), "Mul")?;
        let other = self.other(m1, out(add))?;
        if other == x {
            // 0.5 last: Mul(Mul(x, e1), 0.5).
            let m2 = self.sole_reader(out(m1), "Mul")?;
            (self.with_scalar(m2, 0.5)? == out(m1)).then_some(vec![add, m1, m2])
        } else if self.scalar(other).is_some_and(|c| near(c, 0.5)) {
            // 0.5 on the sum: Mul(x, Mul(e1, 0.5)).
            let m2 = self.sole_reader(out(m1), "Mul")?;
            (self.other(m2, out(m1))? == x).then_some(vec![add, m1, m2])
        } else {
            // 0.5 first: Mul(Mul(x, 0.5), e1).
            let half = self.prod(other, "Mul")?;
            (self.with_scalar(half, 0.5)? == x).then_some(vec![half, add, m1])
        }
    }

    fn gelu_match(
        &self,
        x: &str,
        mut set: Vec<usize>,
        tail: Vec<usize>,
        approximate: &str,
    ) -> Option<Match> {
        if !self.is_activation(x) {
            return None;
        }
        let last = *tail.last().expect("non-empty");
        set.extend(tail);
        Some(Match {
            nodes: set,
            last,
            op_type: "Gelu",
            inputs: vec![x.to_string()],
            attrs: vec![attr_str("approximate", approximate)],
            new_consts: vec![],
        })
    }

    /// GELU, erf form, anchored at the `Erf` node `e`.
    fn gelu_erf(&self, e: usize) -> Option<Match> {
        let d = self.nodes[e].input.first()?;
        let (scale, x) = if let Some(div) = self.prod(d, "Div") {
            let (x, c) = self.operands(div)?;
            self.scalar(c)
                .is_some_and(|c| near(c, std::f64::consts::SQRT_2))
                .then_some((div, x))?
        } else {
            let mul = self.prod(d, "Mul")?;
            (mul, self.with_scalar(mul, std::f64::consts::FRAC_1_SQRT_2)?)
        };
        let tail = self.gelu_tail(x, e)?;
        self.gelu_match(x, vec![scale, e], tail, "none")
    }

    /// GELU, tanh form, anchored at the `Tanh` node `t`:
    /// `Tanh(Mul(Add(x, Mul(x³, 0.044715)), √(2/π)))`.
    fn gelu_tanh(&self, t: usize) -> Option<Match> {
        let inner = self.nodes[t].input.first()?;
        let beta = self.prod(inner, "Mul")?;
        let sum = self.with_scalar(beta, (2.0 / std::f64::consts::PI).sqrt())?;
        let add = self.prod(sum, "Add")?;
        let (a, b) = self.operands(add)?;
        // One operand is x, the other Mul(x³, 0.044715).
        let kappa_of = |k: &str| -> Option<(usize, &'a str)> {
            let m = self.prod(k, "Mul")?;
            Some((m, self.with_scalar(m, 0.044715)?))
        };
        let (x, kappa, cube) = match (kappa_of(b), kappa_of(a)) {
            (Some((m, c)), _) => (a, m, c),
            (None, Some((m, c))) => (b, m, c),
            _ => return None,
        };
        let cube_nodes = self.cube(cube, x)?;
        let tail = self.gelu_tail(x, t)?;
        let mut set = vec![beta, add, kappa, t];
        set.extend(cube_nodes);
        self.gelu_match(x, set, tail, "tanh")
    }

    /// `x³` as `Pow(x, 3)`, `Mul(x, Mul(x, x))` or `Mul(Mul(x, x), x)`: its nodes.
    fn cube(&self, value: &str, x: &str) -> Option<Vec<usize>> {
        if let Some(p) = self.prod(value, "Pow") {
            let (base, e) = self.operands(p)?;
            return (base == x && self.scalar(e) == Some(3.0)).then_some(vec![p]);
        }
        let m = self.prod(value, "Mul")?;
        let sq = self.other(m, x)?;
        let s = self.prod(sq, "Mul")?;
        (self.operands(s)? == (x, x)).then_some(vec![m, s])
    }

    /// SiLU anchored at the `Sigmoid` node `s`: `Mul(x, Sigmoid(x))`.
    fn silu(&self, s: usize) -> Option<Match> {
        let x = self.nodes[s].input.first()?.as_str();
        let m = self.times(x, s)?;
        if !self.is_activation(x) {
            return None;
        }
        Some(Match {
            nodes: vec![s, m],
            last: m,
            op_type: "Silu",
            inputs: vec![x.to_string()],
            attrs: vec![],
            new_consts: vec![],
        })
    }
}

fn attr_int(name: &str, v: i64) -> pb::AttributeProto {
    pb::AttributeProto {
        name: name.into(),
        i: v,
        r#type: pb::attribute_proto::AttributeType::Int as i32,
        ..Default::default()
    }
}

fn attr_float(name: &str, v: f32) -> pb::AttributeProto {
    pb::AttributeProto {
        name: name.into(),
        f: v,
        r#type: pb::attribute_proto::AttributeType::Float as i32,
        ..Default::default()
    }
}

fn attr_str(name: &str, v: &str) -> pb::AttributeProto {
    pb::AttributeProto {
        name: name.into(),
        s: v.as_bytes().to_vec(),
        r#type: pb::attribute_proto::AttributeType::String as i32,
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(op: &str, name: &str, inputs: &[&str], output: &str) -> pb::NodeProto {
        pb::NodeProto {
            op_type: op.into(),
            name: name.into(),
            input: inputs.iter().map(|s| s.to_string()).collect(),
            output: vec![output.into()],
            ..Default::default()
        }
    }

    fn with_attr(mut n: pb::NodeProto, a: pb::AttributeProto) -> pb::NodeProto {
        n.attribute.push(a);
        n
    }

    fn mean(name: &str, input: &str, output: &str) -> pb::NodeProto {
        let mut a = attr_int("axes", 0);
        a.ints = vec![-1];
        a.r#type = pb::attribute_proto::AttributeType::Ints as i32;
        with_attr(node("ReduceMean", name, &[input], output), a)
    }

    fn consts(v: &[(&str, Vec<f32>)]) -> HashMap<String, Const> {
        v.iter()
            .map(|(n, d)| {
                let t = tract_onnx::prelude::tensor1(d);
                (n.to_string(), Const::from_tensor(Arc::new(t)).unwrap())
            })
            .collect()
    }

    fn layernorm_nodes(eps: &str) -> Vec<pb::NodeProto> {
        vec![
            node("Relu", "pre", &["input"], "x"),
            mean("ln.mean", "x", "mean"),
            node("Sub", "ln.sub", &["x", "mean"], "centered"),
            node("Pow", "ln.pow", &["centered", "two"], "sq"),
            mean("ln.var", "sq", "var"),
            node("Add", "ln.add_eps", &[eps, "var"], "var_eps"),
            node("Sqrt", "ln.sqrt", &["var_eps"], "std"),
            node("Div", "ln.div", &["centered", "std"], "normed"),
            node("Mul", "ln.mul", &["g", "normed"], "scaled"),
            node("Add", "ln.add", &["scaled", "b"], "output"),
        ]
    }

    fn ln_consts() -> HashMap<String, Const> {
        consts(&[
            ("two", vec![2.0]),
            ("eps", vec![1e-5]),
            ("g", vec![1.0, 2.0, 3.0]),
            ("b", vec![0.1, 0.2, 0.3]),
        ])
    }

    #[test]
    fn layernorm_decomposition_becomes_one_node() {
        let mut c = ln_consts();
        let out = rewrite(layernorm_nodes("eps"), &mut c, "output");
        assert_eq!(out.len(), 2);
        let ln = &out[1];
        assert_eq!(ln.op_type, "LayerNormalization");
        assert_eq!(ln.name, "ln.mean");
        assert_eq!(ln.input, vec!["x", "g", "b"]);
        assert_eq!(ln.output, vec!["output"]);
        let eps = ln.attribute.iter().find(|a| a.name == "epsilon").unwrap();
        assert_eq!(eps.f, 1e-5);
    }

    #[test]
    fn layernorm_without_affine_gets_unit_scale_and_zero_bias() {
        let mut nodes = layernorm_nodes("eps");
        nodes.truncate(8);
        nodes[7].output[0] = "output".into();
        let mut c = ln_consts();
        let out = rewrite(nodes, &mut c, "output");
        assert_eq!(out.len(), 2);
        assert_eq!(out[1].input[0], "x");
        assert_eq!(c[&out[1].input[1]].data, vec![1.0]);
        assert_eq!(c[&out[1].input[2]].data, vec![0.0]);
    }

    #[test]
    fn near_misses_are_left_alone() {
        // The eps Add reads an activation.
        let mut c = ln_consts();
        let out = rewrite(layernorm_nodes("x"), &mut c, "output");
        assert_eq!(out.len(), 10);
        // An intermediate with a second reader.
        let mut nodes = layernorm_nodes("eps");
        nodes.push(node("Relu", "spy", &["var"], "spied"));
        let mut c = ln_consts();
        assert_eq!(rewrite(nodes, &mut c, "output").len(), 11);
        // An intermediate that is the graph output.
        let mut c = ln_consts();
        assert_eq!(rewrite(layernorm_nodes("eps"), &mut c, "std").len(), 10);
        // Another exponent.
        let mut c = ln_consts();
        c.insert(
            "two".into(),
            consts(&[("two", vec![3.0])]).remove("two").unwrap(),
        );
        assert_eq!(rewrite(layernorm_nodes("eps"), &mut c, "output").len(), 10);
        // A reduction over another axis.
        let mut nodes = layernorm_nodes("eps");
        nodes[4].attribute[0].ints = vec![1];
        let mut c = ln_consts();
        assert_eq!(rewrite(nodes, &mut c, "output").len(), 10);
        // A scale that varies along another axis stays a separate Mul (the rest still fuses).
        let mut c = ln_consts();
        c.insert(
            "g".into(),
            Const::from_tensor(Arc::new(
                tract_onnx::prelude::Tensor::from_shape(&[3, 1], &[1f32, 2.0, 3.0]).unwrap(),
            ))
            .unwrap(),
        );
        let out = rewrite(layernorm_nodes("eps"), &mut c, "output");
        assert_eq!(out.len(), 4);
        assert_eq!(out[1].op_type, "LayerNormalization");
        assert_eq!(out[1].output, vec!["normed"]);
    }

    #[test]
    fn rmsnorm_decompositions_become_one_node() {
        let c0 = consts(&[
            ("two", vec![2.0]),
            ("eps", vec![1e-6]),
            ("w", vec![1.0, 2.0]),
            ("one", vec![1.0]),
        ]);
        let head = || {
            vec![
                node("Relu", "pre", &["input"], "x"),
                node("Pow", "norm.pow", &["x", "two"], "sq"),
                mean("norm.mean", "sq", "ms"),
                node("Add", "norm.add", &["ms", "eps"], "ms_eps"),
                node("Sqrt", "norm.sqrt", &["ms_eps"], "rms"),
            ]
        };
        // Reciprocal, then Mul(x, ·), then Mul(w, ·).
        let mut a = head();
        a.extend([
            node("Reciprocal", "norm.rec", &["rms"], "inv"),
            node("Mul", "norm.mul", &["inv", "x"], "normed"),
            node("Mul", "norm.mul_w", &["w", "normed"], "output"),
        ]);
        // Div(1, ·), no weight.
        let mut b = head();
        b.extend([
            node("Div", "norm.rec", &["one", "rms"], "inv"),
            node("Mul", "norm.mul", &["x", "inv"], "output"),
        ]);
        // Div(x, ·), the square as Mul(x, x).
        let mut d = head();
        d[1] = node("Mul", "norm.pow", &["x", "x"], "sq");
        d.push(node("Div", "norm.div", &["x", "rms"], "output"));
        for (nodes, weight) in [(a, true), (b, false), (d, false)] {
            let mut c = c0.clone();
            let out = rewrite(nodes, &mut c, "output");
            assert_eq!(out.len(), 2);
            assert_eq!(out[1].op_type, "RMSNormalization");
            assert_eq!(out[1].name, "norm.pow");
            assert_eq!(out[1].input[0], "x");
            assert_eq!(out[1].input[1] == "w", weight);
        }
    }

    #[test]
    fn gelu_forms_become_one_node() {
        let c0 = consts(&[
            ("sqrt2", vec![std::f32::consts::SQRT_2]),
            ("inv_sqrt2", vec![std::f32::consts::FRAC_1_SQRT_2]),
            ("one", vec![1.0]),
            ("half", vec![0.5]),
            ("three", vec![3.0]),
            ("kappa", vec![0.044715]),
            ("beta", vec![0.797_884_6]),
        ]);
        let pre = || node("Relu", "pre", &["input"], "h");
        // torch's nn.GELU(): 0.5 last.
        let erf_a = vec![
            pre(),
            node("Div", "gelu.div", &["h", "sqrt2"], "d"),
            node("Erf", "gelu.erf", &["d"], "e"),
            node("Add", "gelu.add", &["e", "one"], "e1"),
            node("Mul", "gelu.mul", &["h", "e1"], "m"),
            node("Mul", "gelu.half", &["m", "half"], "output"),
        ];
        // x·0.5 first, Mul by 1/√2, operands swapped.
        let erf_b = vec![
            pre(),
            node("Mul", "gelu.half", &["half", "h"], "hh"),
            node("Mul", "gelu.scale", &["inv_sqrt2", "h"], "d"),
            node("Erf", "gelu.erf", &["d"], "e"),
            node("Add", "gelu.add", &["one", "e"], "e1"),
            node("Mul", "gelu.mul", &["e1", "hh"], "output"),
        ];
        // 0.5 on the sum.
        let erf_c = vec![
            pre(),
            node("Div", "gelu.div", &["h", "sqrt2"], "d"),
            node("Erf", "gelu.erf", &["d"], "e"),
            node("Add", "gelu.add", &["e", "one"], "e1"),
            node("Mul", "gelu.half", &["e1", "half"], "m"),
            node("Mul", "gelu.mul", &["m", "h"], "output"),
        ];
        // tanh form as the fixtures write it (Pow 3) and as torch does (x·x·x, 0.5 first).
        let tanh_a = vec![
            pre(),
            node("Pow", "gelu.pow", &["h", "three"], "cube"),
            node("Mul", "gelu.mul_kappa", &["cube", "kappa"], "kc"),
            node("Add", "gelu.add", &["h", "kc"], "inner0"),
            node("Mul", "gelu.mul_beta", &["inner0", "beta"], "inner"),
            node("Tanh", "gelu.tanh", &["inner"], "t"),
            node("Add", "gelu.add_one", &["t", "one"], "t1"),
            node("Mul", "gelu.mul", &["h", "t1"], "m"),
            node("Mul", "gelu.mul_half", &["m", "half"], "output"),
        ];
        let tanh_b = vec![
            pre(),
            node("Mul", "gelu.sq", &["h", "h"], "sq"),
            node("Mul", "gelu.cube", &["h", "sq"], "cube"),
            node("Mul", "gelu.mul_kappa", &["kappa", "cube"], "kc"),
            node("Add", "gelu.add", &["kc", "h"], "inner0"),
            node("Mul", "gelu.mul_beta", &["beta", "inner0"], "inner"),
            node("Tanh", "gelu.tanh", &["inner"], "t"),
            node("Add", "gelu.add_one", &["one", "t"], "t1"),
            node("Mul", "gelu.half", &["half", "h"], "hh"),
            node("Mul", "gelu.mul", &["hh", "t1"], "output"),
        ];
        for (nodes, approx, first) in [
            (erf_a, "none", "gelu.div"),
            (erf_b, "none", "gelu.half"),
            (erf_c, "none", "gelu.div"),
            (tanh_a, "tanh", "gelu.pow"),
            (tanh_b, "tanh", "gelu.sq"),
        ] {
            let mut c = c0.clone();
            let out = rewrite(nodes, &mut c, "output");
            assert_eq!(out.len(), 2, "{first}: {out:?}");
            assert_eq!(out[1].op_type, "Gelu");
            assert_eq!(out[1].name, first);
            assert_eq!(out[1].input, vec!["h"]);
            assert_eq!(out[1].output, vec!["output"]);
            assert_eq!(out[1].attribute[0].s, approx.as_bytes());
        }
        // A wrong constant (1/2 instead of 1/√2) is not GELU.
        let mut c = c0.clone();
        c.insert(
            "sqrt2".into(),
            consts(&[("x", vec![2.0])]).remove("x").unwrap(),
        );
        let nodes = vec![
            pre(),
            node("Div", "gelu.div", &["h", "sqrt2"], "d"),
            node("Erf", "gelu.erf", &["d"], "e"),
            node("Add", "gelu.add", &["e", "one"], "e1"),
            node("Mul", "gelu.mul", &["h", "e1"], "m"),
            node("Mul", "gelu.half", &["m", "half"], "output"),
        ];
        assert_eq!(rewrite(nodes, &mut c, "output").len(), 6);
    }

    #[test]
    fn silu_becomes_one_node_unless_the_sigmoid_is_read_elsewhere() {
        let nodes = vec![
            node("Relu", "pre", &["input"], "h"),
            node("Sigmoid", "act.sigmoid", &["h"], "s"),
            node("Mul", "act.mul", &["s", "h"], "output"),
        ];
        let mut c = HashMap::new();
        let out = rewrite(nodes.clone(), &mut c, "output");
        assert_eq!(out.len(), 2);
        assert_eq!(
            (out[1].op_type.as_str(), out[1].name.as_str()),
            ("Silu", "act.sigmoid")
        );
        let mut more = nodes;
        more.push(node("Add", "other", &["s", "output"], "sum"));
        assert_eq!(rewrite(more, &mut c, "sum").len(), 4);
    }

    #[test]
    fn patterns_on_constants_are_left_to_folding() {
        let nodes = vec![
            node("Sigmoid", "act.sigmoid", &["k"], "s"),
            node("Mul", "act.mul", &["s", "k"], "ks"),
            node("Add", "add", &["input", "ks"], "output"),
        ];
        let mut c = consts(&[("k", vec![1.0, 2.0])]);
        assert_eq!(rewrite(nodes, &mut c, "output").len(), 3);
    }
}
