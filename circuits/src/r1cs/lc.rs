//! Variables and linear combinations.

use ark_bn254::Fr;
use ark_ff::{One, Zero};

/// A variable: its position in the full assignment (0 is the constant 1).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Var(pub u32);

impl Var {
    /// The constant-one variable.
    pub const ONE: Var = Var(0);
}

/// A linear combination `Σ c_i · z[v_i]`. Terms may repeat a variable; they add up.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Lc(Vec<(Var, Fr)>);

impl Lc {
    /// The empty combination (value 0).
    pub fn zero() -> Self {
        Lc(Vec::new())
    }

    /// A constant.
    pub fn constant(c: Fr) -> Self {
        Lc(vec![(Var::ONE, c)])
    }

    /// An empty combination with room for `n` terms.
    pub fn with_capacity(n: usize) -> Self {
        Lc(Vec::with_capacity(n))
    }

    /// Adds `c · v`.
    pub fn add_term(&mut self, v: Var, c: Fr) {
        if !c.is_zero() {
            self.0.push((v, c));
        }
    }

    /// Adds `c · other`.
    pub fn add_scaled(&mut self, other: &Lc, c: Fr) {
        if c.is_one() {
            self.0.extend_from_slice(&other.0);
        } else if !c.is_zero() {
            self.0.extend(other.0.iter().map(|(v, k)| (*v, *k * c)));
        }
    }

    /// Adds a constant.
    pub fn add_constant(&mut self, c: Fr) {
        self.add_term(Var::ONE, c);
    }

    /// `self · c` as a new combination.
    pub fn scaled(&self, c: Fr) -> Lc {
        let mut out = Lc::with_capacity(self.0.len());
        out.add_scaled(self, c);
        out
    }

    /// The terms.
    pub fn terms(&self) -> impl Iterator<Item = (&Var, &Fr)> {
        self.0.iter().map(|(v, c)| (v, c))
    }

    /// Number of terms.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether it has no terms.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The value under the full assignment `z`.
    pub fn eval(&self, z: &[Fr]) -> Fr {
        self.0.iter().map(|(v, c)| z[v.0 as usize] * c).sum()
    }

    /// `1 - self`.
    pub fn one_minus(&self) -> Lc {
        let mut out = self.scaled(-Fr::one());
        out.add_constant(Fr::one());
        out
    }
}

impl From<Var> for Lc {
    fn from(v: Var) -> Self {
        Lc(vec![(v, Fr::one())])
    }
}
