//! Context manifolds: the context vector as a smooth function of the task
//! variable `s` in `[0, 1)` ("Walking the Weight Manifold", docs/METHOD.md).
//!
//! A CRWN learns one free context per task, so a task it never trained on
//! has no context. A manifold learns `K` coefficient vectors `P_k` (each of
//! length `H`) and serves *any* `s`:
//!
//! ```text
//! c(s) = Σ_k φ_k(s) P_k
//! ```
//!
//! The basis `φ` fixes the topology ([`Basis`]): `constant` (one shared
//! context), `line` (`1 - s, s`), `fourier` of order `n` (`1, cos 2πs,
//! sin 2πs, ..., cos 2nπs, sin 2nπs`; order 1 is the circle), or `onehot` at
//! the training tasks' values (the CRWN's points as a special case: `c(s_t)
//! = P_t`, and no context at all anywhere else).
//!
//! The paper's update preconditions the gradient by the inverse of the
//! basis' Gram matrix `G = ∫ φ(s) φ(s)ᵀ ds` over `[0, 1)` ([`Basis::gram`];
//! for the one-hot basis, the uniform measure on its points).
//!
//! Input conditioning, the paper's baseline, is here too ([`Conditioned`]
//! with an [`InputEncoding`]): one shared context `c` and a trained
//! projection `U` (`H x E`) of the task encoding `e(s)` added to the hidden
//! pre-activation, `r(x, s) = relu(W1 x - mean(W1 x) + U e(s))`, so
//! `logits = W2 (c ⊙ r(x, s))`.
//!
//! Points that a CRWN trained can also serve an unseen `s` by borrowing:
//! [`nearest_point`] and [`interpolate_points`].

use crate::torus::TorusBasis;
use std::f64::consts::PI;

/// Where a task sits in the task space: its variable `s` and, on a torus
/// family (two task variables, docs/MANIFOLDS.md), its second variable
/// `s2`. A one-variable family's tasks have `s2 = 0`, which no basis of one
/// variable reads; an `f64` converts to it.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct TaskPoint {
    /// The task variable (on a torus, the rotation's `s₁`), in `[0, 1)`.
    pub s: f64,
    /// The second task variable on a torus (the shift's `s₂`); 0 otherwise.
    pub s2: f64,
}

impl From<f64> for TaskPoint {
    fn from(s: f64) -> TaskPoint {
        TaskPoint { s, s2: 0.0 }
    }
}

impl From<[f64; 2]> for TaskPoint {
    fn from([s, s2]: [f64; 2]) -> TaskPoint {
        TaskPoint { s, s2 }
    }
}

/// The basis functions `φ(s)` of a context manifold.
#[derive(Debug, Clone, PartialEq)]
pub enum Basis {
    /// `φ_t(s) = 1` when `s` is the `t`-th point, else 0: one free vector
    /// per training task (the CRWN).
    OneHot {
        /// The training tasks' values of `s`.
        points: Vec<f64>,
    },
    /// `φ(s) = 1`: one context for every task.
    Constant,
    /// `φ(s) = (1 - s, s)`: `c(s) = P1 (1 - s) + P2 s`.
    Line,
    /// `φ(s) = (1, cos 2πs, sin 2πs, ..., cos 2nπs, sin 2nπs)`, `n = order`.
    Fourier {
        /// The highest harmonic; 1 is the circle.
        order: usize,
    },
    /// `φ(s) = (1, s, s²)`: a non-periodic basis of the circle's size
    /// (`3H` numbers), so topology is compared at equal capacity.
    Quadratic,
    /// A periodic piecewise-linear curve with one knot per training task:
    /// `φ_t` is the hat function that is 1 at knot `t`, 0 at every other
    /// knot, and linear between neighbouring knots (around the circle,
    /// from the last knot to the first). `c(s_t) = P_t`, and between two
    /// knots `c` is their linear interpolation: the CRWN's points, trained
    /// jointly, with their interpolation built in.
    Piecewise {
        /// The knots' values of `s`, distinct, in `[0, 1)`.
        knots: Vec<f64>,
    },
    /// A basis of a torus family's two task variables `(s, s2)`
    /// ([`TorusBasis`]: the product `torus` or the additive `circles`).
    Torus(TorusBasis),
}

/// Two values of `s` closer than this are the same point of the one-hot basis.
const POINT_TOLERANCE: f64 = 1e-9;

impl Basis {
    /// The number of basis functions `K`.
    pub fn len(&self) -> usize {
        match self {
            Basis::OneHot { points } => points.len(),
            Basis::Constant => 1,
            Basis::Line => 2,
            Basis::Fourier { order } => 1 + 2 * order,
            Basis::Quadratic => 3,
            Basis::Piecewise { knots } => knots.len(),
            Basis::Torus(b) => b.len(),
        }
    }

    /// Whether the basis has no function (a one-hot basis of no points).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// `onehot`, `constant`, `line`, `fourier<n>`, `quadratic` or `piecewise`.
    pub fn name(&self) -> String {
        match self {
            Basis::OneHot { .. } => "onehot".into(),
            Basis::Constant => "constant".into(),
            Basis::Line => "line".into(),
            Basis::Fourier { order } => format!("fourier{order}"),
            Basis::Quadratic => "quadratic".into(),
            Basis::Piecewise { .. } => "piecewise".into(),
            Basis::Torus(b) => b.name(),
        }
    }

    /// The basis' values of `s` that its file stores (`basis_points`): the
    /// one-hot basis' points or the piecewise-linear basis' knots; empty
    /// for every other basis.
    pub fn points(&self) -> &[f64] {
        match self {
            Basis::OneHot { points } => points,
            Basis::Piecewise { knots } => knots,
            _ => &[],
        }
    }

    /// The topology the basis gives the contexts: `points`, `none`, `line`,
    /// `circle`, `torus` or `circles` (two circles added, no interaction).
    pub fn topology(&self) -> &'static str {
        match self {
            Basis::OneHot { .. } => "points",
            Basis::Constant => "none",
            Basis::Line | Basis::Quadratic => "line",
            Basis::Fourier { .. } | Basis::Piecewise { .. } => "circle",
            Basis::Torus(TorusBasis::Product { .. } | TorusBasis::Bilinear { .. }) => "torus",
            Basis::Torus(TorusBasis::Additive { .. }) => "circles",
        }
    }

    /// The basis named `name` ([`Basis::name`]); a one-hot basis takes its
    /// `points` (a piecewise-linear basis takes them as its knots). `None`
    /// for an unknown name.
    pub fn from_name(name: &str, points: &[f64]) -> Option<Basis> {
        if let Some(torus) = TorusBasis::from_name(name) {
            return Some(Basis::Torus(torus));
        }
        Some(match name {
            "onehot" => Basis::OneHot {
                points: points.to_vec(),
            },
            "constant" => Basis::Constant,
            "line" => Basis::Line,
            "quadratic" => Basis::Quadratic,
            "piecewise" => Basis::Piecewise { knots: points.to_vec() },
            other => Basis::Fourier {
                order: other.strip_prefix("fourier")?.parse().ok().filter(|&k| k >= 1)?,
            },
        })
    }

    /// `φ(s)`, length [`Basis::len`]; a torus basis reads both variables.
    pub fn values(&self, point: impl Into<TaskPoint>) -> Vec<f64> {
        let TaskPoint { s, s2 } = point.into();
        match self {
            Basis::Torus(b) => b.values(s, s2),
            Basis::OneHot { points } => points
                .iter()
                .map(|&p| if (p - s).abs() < POINT_TOLERANCE { 1.0 } else { 0.0 })
                .collect(),
            Basis::Constant => vec![1.0],
            Basis::Line => vec![1.0 - s, s],
            Basis::Fourier { order } => {
                let mut v = vec![1.0];
                for k in 1..=*order {
                    let angle = 2.0 * PI * k as f64 * s;
                    v.push(angle.cos());
                    v.push(angle.sin());
                }
                v
            }
            Basis::Quadratic => vec![1.0, s, s * s],
            Basis::Piecewise { knots } => {
                let mut v = vec![0.0; knots.len()];
                let (lo, hi, w) = neighbours(knots, s, true);
                v[lo] += 1.0 - w;
                v[hi] += w;
                v
            }
        }
    }

    /// The Gram matrix `G = ∫ φ(s) φ(s)ᵀ ds` over `[0, 1)`, `K x K`
    /// row-major, in closed form: `[[1/3, 1/6], [1/6, 1/3]]` for the line,
    /// `diag(1, 1/2, ..., 1/2)` for Fourier bases (the cosines and sines are
    /// orthogonal with mean square 1/2), `[1]` for the constant. The one-hot
    /// basis lives on its `T` points, with the uniform measure: `I / T`.
    pub fn gram(&self) -> Vec<f64> {
        let k = self.len();
        let mut g = vec![0.0; k * k];
        match self {
            Basis::Torus(b) => return b.gram(),
            Basis::OneHot { points } => {
                for i in 0..k {
                    g[i * k + i] = 1.0 / points.len() as f64;
                }
            }
            Basis::Constant => g[0] = 1.0,
            Basis::Line => g.copy_from_slice(&[1.0 / 3.0, 1.0 / 6.0, 1.0 / 6.0, 1.0 / 3.0]),
            Basis::Fourier { .. } => {
                g[0] = 1.0;
                for i in 1..k {
                    g[i * k + i] = 0.5;
                }
            }
            // ∫ s^(i+j) ds = 1 / (i + j + 1): the 3 x 3 Hilbert matrix.
            Basis::Quadratic => {
                for i in 0..3 {
                    for j in 0..3 {
                        g[i * 3 + j] = 1.0 / (i + j + 1) as f64;
                    }
                }
            }
            // Hat functions on a circle: over the gap `h` between two
            // neighbouring knots, ∫ φ_lo² = ∫ φ_hi² = h/3 and ∫ φ_lo φ_hi = h/6.
            Basis::Piecewise { knots } => {
                let mut order: Vec<usize> = (0..k).collect();
                order.sort_by(|&a, &b| knots[a].total_cmp(&knots[b]));
                for (i, &lo) in order.iter().enumerate() {
                    let hi = order[(i + 1) % k];
                    let gap = (knots[hi] - knots[lo]).rem_euclid(1.0);
                    let gap = if gap == 0.0 { 1.0 } else { gap };
                    g[lo * k + lo] += gap / 3.0;
                    g[hi * k + hi] += gap / 3.0;
                    g[lo * k + hi] += gap / 6.0;
                    g[hi * k + lo] += gap / 6.0;
                }
            }
        }
        g
    }

    /// `G⁻¹`, in closed form: `[[4, -2], [-2, 4]]` for the line,
    /// `diag(1, 2, ..., 2)` for Fourier bases, `T I` for the one-hot basis,
    /// `[[9, -36, 30], [-36, 192, -180], [30, -180, 180]]` (the inverse
    /// Hilbert matrix) for the quadratic; the piecewise-linear basis' cyclic
    /// tridiagonal `G` is inverted by Gauss-Jordan elimination.
    pub fn gram_inverse(&self) -> Vec<f64> {
        match self {
            Basis::Line => vec![4.0, -2.0, -2.0, 4.0],
            Basis::Quadratic => vec![9.0, -36.0, 30.0, -36.0, 192.0, -180.0, 30.0, -180.0, 180.0],
            Basis::Piecewise { .. } => invert(&self.gram(), self.len()),
            Basis::Torus(b) => b.gram_inverse(),
            // Every other Gram matrix is diagonal.
            _ => {
                let k = self.len();
                let mut g = self.gram();
                for i in 0..k {
                    g[i * k + i] = 1.0 / g[i * k + i];
                }
                g
            }
        }
    }

    /// Coefficients `a` with `Σ_k a_k φ_k(s) = 1` for every `s`: a manifold
    /// with `P_k = a_k c0` is the constant context `c0`, which is how every
    /// method starts.
    pub fn constant_coefficients(&self) -> Vec<f64> {
        match self {
            Basis::OneHot { points } => vec![1.0; points.len()],
            Basis::Constant => vec![1.0],
            Basis::Line => vec![1.0, 1.0],
            Basis::Fourier { order } => {
                let mut a = vec![0.0; 1 + 2 * order];
                a[0] = 1.0;
                a
            }
            Basis::Quadratic => vec![1.0, 0.0, 0.0],
            // The hat functions sum to 1 everywhere.
            Basis::Piecewise { knots } => vec![1.0; knots.len()],
            Basis::Torus(b) => b.constant_coefficients(),
        }
    }
}

/// The inverse of the symmetric positive definite `k x k` matrix `a`
/// (row-major), by Gauss-Jordan elimination with partial pivoting.
pub(crate) fn invert(a: &[f64], k: usize) -> Vec<f64> {
    let mut m = a.to_vec();
    let mut inv = vec![0.0; k * k];
    for i in 0..k {
        inv[i * k + i] = 1.0;
    }
    for col in 0..k {
        let pivot = (col..k)
            .max_by(|&x, &y| m[x * k + col].abs().total_cmp(&m[y * k + col].abs()))
            .expect("a row");
        for j in 0..k {
            m.swap(col * k + j, pivot * k + j);
            inv.swap(col * k + j, pivot * k + j);
        }
        let d = m[col * k + col];
        for j in 0..k {
            m[col * k + j] /= d;
            inv[col * k + j] /= d;
        }
        for row in (0..k).filter(|&r| r != col) {
            let f = m[row * k + col];
            if f != 0.0 {
                for j in 0..k {
                    m[row * k + j] -= f * m[col * k + j];
                    inv[row * k + j] -= f * inv[col * k + j];
                }
            }
        }
    }
    inv
}

/// The task encoding `e(s)` that input conditioning adds to the hidden
/// pre-activation through `U`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputEncoding {
    /// No input conditioning.
    None,
    /// `e(s) = (s)`, for line-shaped families.
    Line,
    /// `e(s) = (cos 2πs, sin 2πs)`, for circular families (rotations,
    /// periodic shifts), so `s` and `s + 1` are the same task.
    Circle,
    /// On a torus family: the torus basis' eight non-constant terms,
    /// [`crate::torus::torus_encoding`], so `U` has `8H` numbers and with the
    /// shared context input conditioning is the torus' size (`9H`).
    Torus,
}

impl InputEncoding {
    /// `E`, the length of `e(s)`.
    pub fn len(self) -> usize {
        match self {
            InputEncoding::None => 0,
            InputEncoding::Line => 1,
            InputEncoding::Circle => 2,
            InputEncoding::Torus => crate::torus::TORUS_ENCODING_LEN,
        }
    }

    /// Whether there is no encoding.
    pub fn is_empty(self) -> bool {
        self == InputEncoding::None
    }

    /// `none`, `line`, `circle` or `torus`.
    pub fn name(self) -> &'static str {
        match self {
            InputEncoding::None => "none",
            InputEncoding::Line => "line",
            InputEncoding::Circle => "circle",
            InputEncoding::Torus => "torus",
        }
    }

    /// The encoding named `name`.
    pub fn from_name(name: &str) -> Option<InputEncoding> {
        Some(match name {
            "none" => InputEncoding::None,
            "line" => InputEncoding::Line,
            "circle" => InputEncoding::Circle,
            "torus" => InputEncoding::Torus,
            _ => return None,
        })
    }

    /// `e(s)` (on a torus, `e(s, s2)`).
    pub fn values(self, point: impl Into<TaskPoint>) -> Vec<f64> {
        let TaskPoint { s, s2 } = point.into();
        match self {
            InputEncoding::None => Vec::new(),
            InputEncoding::Line => vec![s],
            InputEncoding::Circle => vec![(2.0 * PI * s).cos(), (2.0 * PI * s).sin()],
            InputEncoding::Torus => crate::torus::torus_encoding(s, s2).to_vec(),
        }
    }
}

/// The learned part of a conditioned CRWN: a context manifold and,
/// for input conditioning, the projection `U` of the task encoding.
#[derive(Debug, Clone, PartialEq)]
pub struct Conditioned {
    /// The basis `φ`.
    pub basis: Basis,
    /// `P`, `K x H` row-major: row `k` multiplies `φ_k(s)`.
    pub coefficients: Vec<f32>,
    /// The task encoding of input conditioning ([`InputEncoding::None`] for
    /// a plain manifold).
    pub encoding: InputEncoding,
    /// `U`, `H x E` row-major (empty without input conditioning).
    pub input: Vec<f32>,
}

impl Conditioned {
    /// Every method's starting point: the constant context `c0` on `basis`,
    /// and `U = 0`.
    pub fn constant(basis: Basis, c0: &[f32], encoding: InputEncoding) -> Conditioned {
        let h = c0.len();
        let coefficients = basis
            .constant_coefficients()
            .iter()
            .flat_map(|&a| c0.iter().map(move |&c| a as f32 * c))
            .collect();
        Conditioned {
            basis,
            coefficients,
            encoding,
            input: vec![0.0; h * encoding.len()],
        }
    }

    /// Hidden units `H`.
    pub fn hidden(&self) -> usize {
        self.coefficients.len() / self.basis.len().max(1)
    }

    /// Learned numbers: `K H + H E`.
    pub fn parameter_count(&self) -> usize {
        self.coefficients.len() + self.input.len()
    }

    /// `c(s) = Σ_k φ_k(s) P_k`.
    pub fn context(&self, s: impl Into<TaskPoint>) -> Vec<f32> {
        let mut out = Vec::new();
        self.context_into(s, &mut out);
        out
    }

    /// [`Conditioned::context`] into a reused buffer. The sum runs over `k`
    /// in order with fused multiply-adds, so it is deterministic; with a
    /// one-hot `φ` it returns `P_t` exactly.
    pub fn context_into(&self, s: impl Into<TaskPoint>, out: &mut Vec<f32>) {
        let h = self.hidden();
        let phi = self.basis.values(s);
        out.clear();
        out.resize(h, 0.0);
        for (p, &f) in self.coefficients.chunks_exact(h).zip(&phi) {
            let f = f as f32;
            for (c, &v) in out.iter_mut().zip(p) {
                *c = f.mul_add(v, *c);
            }
        }
    }

    /// The pre-activation bias `U e(s)` of input conditioning (`None`
    /// without it).
    pub fn bias(&self, s: impl Into<TaskPoint>) -> Option<Vec<f32>> {
        if self.encoding.is_empty() {
            return None;
        }
        let e: Vec<f32> = self.encoding.values(s).iter().map(|&v| v as f32).collect();
        Some(
            self.input
                .chunks_exact(e.len())
                .map(|u| u.iter().zip(&e).fold(0f32, |acc, (&u, &e)| u.mul_add(e, acc)))
                .collect(),
        )
    }
}

/// The distance between two values of `s`: around the circle when
/// `circular` (`s` and `s + 1` are the same task), else along the line.
pub fn distance(a: f64, b: f64, circular: bool) -> f64 {
    let d = (a - b).abs();
    if circular {
        d.rem_euclid(1.0).min(1.0 - d.rem_euclid(1.0))
    } else {
        d
    }
}

/// The index of the point nearest to `s` (the first on ties).
pub fn nearest_point(points: &[f64], s: f64, circular: bool) -> usize {
    (0..points.len())
        .min_by(|&a, &b| distance(points[a], s, circular).total_cmp(&distance(points[b], s, circular)))
        .expect("at least one point")
}

/// The two points around `s` and the weight of the second: `c(s) = (1 -
/// w) c_lo + w c_hi`. On a circle the neighbours may wrap around (between
/// the last point and the first); on a line, beyond the ends, the nearest
/// end is used alone (`w` is 0 or 1).
pub fn neighbours(points: &[f64], s: f64, circular: bool) -> (usize, usize, f64) {
    let mut order: Vec<usize> = (0..points.len()).collect();
    order.sort_by(|&a, &b| points[a].total_cmp(&points[b]));
    if let Some(&exact) = order.iter().find(|&&i| (points[i] - s).abs() < POINT_TOLERANCE) {
        return (exact, exact, 0.0);
    }
    let above = order.iter().position(|&i| points[i] > s);
    match (above, circular) {
        (Some(0), false) => (order[0], order[0], 0.0),
        (None, false) => {
            let last = *order.last().expect("at least one point");
            (last, last, 0.0)
        }
        (Some(j), _) if j > 0 => {
            let (lo, hi) = (order[j - 1], order[j]);
            (lo, hi, (s - points[lo]) / (points[hi] - points[lo]))
        }
        // On a circle, below the first point or above the last: the gap
        // from the last point round to the first.
        _ => {
            let (lo, hi) = (*order.last().expect("points"), order[0]);
            let gap = (points[hi] + 1.0 - points[lo]).max(f64::MIN_POSITIVE);
            let along = (s - points[lo]).rem_euclid(1.0);
            (lo, hi, along / gap)
        }
    }
}

/// The context of the nearest point to `s`.
pub fn nearest_context(contexts: &[Vec<f32>], points: &[f64], s: f64, circular: bool) -> Vec<f32> {
    contexts[nearest_point(points, s, circular)].clone()
}

/// Every point nearest to `s`: one, or two when `s` lies halfway between
/// two points (within [`TIE_TOLERANCE`] of the same distance). The
/// held-out analysis scores a tie as the mean of both neighbours'
/// accuracies, so no floating-point rounding decides which one serves.
pub fn nearest_points(points: &[f64], s: f64, circular: bool) -> Vec<usize> {
    let best = distance(points[nearest_point(points, s, circular)], s, circular);
    (0..points.len())
        .filter(|&i| distance(points[i], s, circular) - best <= TIE_TOLERANCE)
        .collect()
}

/// Two distances closer than this are a tie for [`nearest_points`].
pub const TIE_TOLERANCE: f64 = 1e-9;

/// The linear interpolation between the contexts of the two points around
/// `s` ([`neighbours`]).
pub fn interpolate_points(contexts: &[Vec<f32>], points: &[f64], s: f64, circular: bool) -> Vec<f32> {
    let (lo, hi, w) = neighbours(points, s, circular);
    let w = w as f32;
    contexts[lo]
        .iter()
        .zip(&contexts[hi])
        .map(|(&a, &b)| (1.0 - w).mul_add(a, w * b))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `∫ φ φᵀ ds` over `[0, 1)` by the midpoint rule.
    fn numerical_gram(basis: &Basis, steps: usize) -> Vec<f64> {
        let k = basis.len();
        let mut g = vec![0.0; k * k];
        for i in 0..steps {
            let phi = basis.values((i as f64 + 0.5) / steps as f64);
            for a in 0..k {
                for b in 0..k {
                    g[a * k + b] += phi[a] * phi[b] / steps as f64;
                }
            }
        }
        g
    }

    #[test]
    fn gram_matrices_match_numerical_integration() {
        for basis in [
            Basis::Constant,
            Basis::Line,
            Basis::Fourier { order: 1 },
            Basis::Fourier { order: 3 },
            Basis::Quadratic,
            Basis::Piecewise {
                knots: vec![0.0, 0.1, 0.25, 0.6, 0.9],
            },
            Basis::Piecewise {
                knots: (0..18).map(|i| i as f64 / 36.0).collect(),
            },
        ] {
            let numeric = numerical_gram(&basis, 100_000);
            for (a, b) in basis.gram().iter().zip(&numeric) {
                assert!((a - b).abs() < 1e-8, "{}: {a} vs {b}", basis.name());
            }
        }
        assert_eq!(Basis::Line.gram(), vec![1.0 / 3.0, 1.0 / 6.0, 1.0 / 6.0, 1.0 / 3.0]);
        assert_eq!(
            Basis::Fourier { order: 1 }.gram(),
            vec![1.0, 0.0, 0.0, 0.0, 0.5, 0.0, 0.0, 0.0, 0.5]
        );
    }

    #[test]
    fn gram_inverses_are_inverses() {
        for basis in [
            Basis::Constant,
            Basis::Line,
            Basis::Fourier { order: 2 },
            Basis::OneHot {
                points: vec![0.0, 0.25, 0.5],
            },
            Basis::Quadratic,
            Basis::Piecewise {
                knots: vec![0.5, 0.0, 0.1, 0.25, 0.9],
            },
        ] {
            let (g, inv, k) = (basis.gram(), basis.gram_inverse(), basis.len());
            for i in 0..k {
                for j in 0..k {
                    let product: f64 = (0..k).map(|m| g[i * k + m] * inv[m * k + j]).sum();
                    let identity = if i == j { 1.0 } else { 0.0 };
                    assert!((product - identity).abs() < 1e-10, "{}", basis.name());
                }
            }
        }
        assert_eq!(Basis::Line.gram_inverse(), vec![4.0, -2.0, -2.0, 4.0]);
    }

    #[test]
    fn a_one_hot_manifold_is_the_points_model() {
        // Points as a special case: P_t = c_t gives c(s_t) = c_t exactly,
        // and an untrained s gets no context at all.
        let points = vec![0.0, 0.25, 0.5, 0.75];
        let contexts: Vec<Vec<f32>> = (0..4)
            .map(|t| (0..5).map(|h| (t * 5 + h) as f32 * 0.37 - 2.0).collect())
            .collect();
        let manifold = Conditioned {
            basis: Basis::OneHot { points: points.clone() },
            coefficients: contexts.concat(),
            encoding: InputEncoding::None,
            input: Vec::new(),
        };
        for (t, &s) in points.iter().enumerate() {
            assert_eq!(manifold.context(s), contexts[t]);
        }
        assert!(manifold.context(0.1).iter().all(|&c| c == 0.0));
    }

    #[test]
    fn a_piecewise_linear_manifold_is_the_points_interpolated() {
        // Knots at the training tasks of an arc (0, 10, ..., 170 degrees):
        // c(s) is the points' linear interpolation around the circle,
        // including the wrap from 170 degrees back to 0.
        let knots: Vec<f64> = (0..18).map(|i| i as f64 * 10.0 / 360.0).collect();
        let contexts: Vec<Vec<f32>> = (0..18).map(|t| vec![t as f32, 1.0 - t as f32]).collect();
        let manifold = Conditioned {
            basis: Basis::Piecewise { knots: knots.clone() },
            coefficients: contexts.concat(),
            encoding: InputEncoding::None,
            input: Vec::new(),
        };
        for deg in [0.0, 5.0, 25.0, 170.0, 265.0, 355.0] {
            let s = deg / 360.0;
            let (a, b) = (manifold.context(s), interpolate_points(&contexts, &knots, s, true));
            for (x, y) in a.iter().zip(&b) {
                assert!((x - y).abs() < 1e-5, "{deg} degrees: {a:?} vs {b:?}");
            }
        }
        let phi = manifold.basis.values(0.3);
        assert!((phi.iter().sum::<f64>() - 1.0).abs() < 1e-12);
    }

    #[test]
    fn every_method_starts_from_the_same_constant_context() {
        let c0 = [0.5f32, -1.25, 2.0];
        for basis in [
            Basis::Constant,
            Basis::Line,
            Basis::Fourier { order: 2 },
            Basis::Quadratic,
            Basis::Piecewise {
                knots: vec![0.0, 0.4, 0.7],
            },
        ] {
            let m = Conditioned::constant(basis.clone(), &c0, InputEncoding::None);
            for s in [0.0, 0.3, 0.9] {
                for (a, b) in m.context(s).iter().zip(&c0) {
                    assert!((a - b).abs() < 1e-6, "{} at {s}", basis.name());
                }
            }
        }
        let input = Conditioned::constant(Basis::Constant, &c0, InputEncoding::Circle);
        assert_eq!(input.input.len(), 6);
        assert_eq!(input.bias(0.3), Some(vec![0.0; 3]));
        assert_eq!(input.parameter_count(), 9);
    }

    #[test]
    fn a_circle_is_periodic_and_a_line_is_not() {
        let m = Conditioned {
            basis: Basis::Fourier { order: 1 },
            coefficients: vec![1.0, 2.0, 3.0],
            encoding: InputEncoding::Circle,
            input: vec![1.0, -1.0],
        };
        let (a, b) = (m.context(0.1), m.context(1.1));
        assert!((a[0] - b[0]).abs() < 1e-5);
        // c(0.25) = 1 + 2 cos(π/2) + 3 sin(π/2) = 4; bias = cos - sin = -1.
        assert!((m.context(0.25)[0] - 4.0).abs() < 1e-6);
        assert!((m.bias(0.25).unwrap()[0] + 1.0).abs() < 1e-6);
        let line = Conditioned {
            basis: Basis::Line,
            coefficients: vec![1.0, 3.0],
            encoding: InputEncoding::None,
            input: Vec::new(),
        };
        assert_eq!(line.context(0.5), vec![2.0]);
    }

    #[test]
    fn points_serve_unseen_tasks_by_nearest_and_by_interpolation() {
        // Trained at 0, 10, ..., 170 degrees (an arc), as s.
        let points: Vec<f64> = (0..18).map(|i| i as f64 * 10.0 / 360.0).collect();
        let contexts: Vec<Vec<f32>> = (0..18).map(|t| vec![t as f32]).collect();
        let s = |deg: f64| deg / 360.0;
        assert_eq!(nearest_context(&contexts, &points, s(24.0), true), vec![2.0]);
        // 355 degrees is 5 away from 0 round the circle, 185 along the line.
        assert_eq!(nearest_point(&points, s(355.0), true), 0);
        assert_eq!(nearest_point(&points, s(355.0), false), 17);
        let mid = interpolate_points(&contexts, &points, s(25.0), true);
        assert!((mid[0] - 2.5).abs() < 1e-6);
        // 265 degrees: between 170 (t = 17) and 360 (t = 0), halfway.
        let wrap = interpolate_points(&contexts, &points, s(265.0), true);
        assert!((wrap[0] - 8.5).abs() < 1e-5, "{wrap:?}");
        // 25 degrees is halfway between 20 and 30: both are nearest.
        assert_eq!(nearest_points(&points, s(25.0), true), vec![2, 3]);
        assert_eq!(nearest_points(&points, s(24.0), true), vec![2]);
        // 265 degrees is 95 from 170 and 95 from 360 round the circle.
        assert_eq!(nearest_points(&points, s(265.0), true), vec![0, 17]);
        // On a line beyond the last point: the last point.
        assert_eq!(interpolate_points(&contexts, &points, s(265.0), false), vec![17.0]);
        assert_eq!(interpolate_points(&contexts, &points, s(30.0), true), vec![3.0]);
    }
}
