//! Context manifolds of two task variables on a torus (docs/MANIFOLDS.md):
//! a family whose tasks are a grid of two periodic transforms (rotation x
//! periodic shift), with task variables `(s₁, s₂)` in `[0, 1)²`.
//!
//! Two bases of Fourier terms, both periodic in each variable:
//!
//! - [`TorusBasis::Product`] of order `n`: every product `f_a(s₁) f_b(s₂)`
//!   of the circle's terms `f = (1, cos 2πks, sin 2πks)`, `k ≤ n`: the
//!   torus itself, `(2n + 1)²` functions (order 1: 9). It can bend the
//!   context differently along `s₂` at every `s₁`.
//! - [`TorusBasis::Additive`] of order `n`: one constant and the circle's
//!   non-constant terms in each variable alone, `1 + 4n` functions (order
//!   1: 5; order 2: 9, the product's size). Its contexts are sums
//!   `a(s₁) + b(s₂)`: two circles, no interaction.
//!
//! Both are orthogonal on the torus with the uniform measure, so the Gram
//! matrix `G = ∫∫ φ φᵀ ds₁ ds₂` is diagonal: 1 for the constant, 1/2 for a
//! term in one variable, 1/4 for a product of two non-constant terms.
//!
//! A third basis is not Fourier: [`TorusBasis::Bilinear`], one knot per
//! training task on the regular training grid (`n₁ x n₂` knots at `(i/n₁,
//! j/n₂)`), each function the product of a periodic hat in each variable.
//! `c` is then the knots' contexts interpolated bilinearly: the CRWN's
//! points on the grid, trained jointly, at their size (`n₁ n₂ H`). Its Gram
//! matrix is the Kronecker product of the two variables' cyclic
//! tridiagonal hat Gram matrices.
//!
//! Input conditioning on a torus encodes both variables,
//! [`torus_encoding`]: the torus basis' eight non-constant terms (`8H`
//! numbers in `U`, with the shared context `9H`: the torus' size, so the
//! two are compared at equal size and on the same features of the task).
//!
//! The CRWN's points on a torus are a grid of training tasks; an unseen
//! grid task is served by its nearest training tasks ([`nearest_grid`],
//! ties kept, the analysis averages their accuracies) or by bilinear
//! interpolation between the four around it ([`bilinear_grid`]).

use std::f64::consts::PI;

/// A basis of two periodic task variables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TorusBasis {
    /// Every product of the circle's terms in `s₁` and in `s₂` up to `order`.
    Product {
        /// The highest harmonic in each variable.
        order: usize,
    },
    /// The constant and each variable's non-constant terms alone (two circles).
    Additive {
        /// The highest harmonic in each variable.
        order: usize,
    },
    /// Products of periodic hats on the regular grid of `rotations x
    /// shifts` knots at `(i / rotations, j / shifts)`: bilinear
    /// interpolation between the knots' contexts.
    Bilinear {
        /// Knots in `s₁` (the trained rotations).
        rotations: usize,
        /// Knots in `s₂` (the trained shifts).
        shifts: usize,
    },
}

/// The periodic hat functions of `n` evenly spaced knots `i / n` at `s`:
/// 1 at its own knot, 0 at every other, linear between neighbours (round
/// the circle from the last knot to the first).
fn hats(n: usize, s: f64) -> Vec<f64> {
    let mut v = vec![0.0; n];
    let x = s.rem_euclid(1.0) * n as f64;
    let lo = (x.floor() as usize).min(n - 1);
    let w = x - lo as f64;
    v[lo] += 1.0 - w;
    v[(lo + 1) % n] += w;
    v
}

/// The Gram matrix `∫ h hᵀ ds` of [`hats`]: over each gap `1/n` the two
/// hats that meet there give `1/(3n)` to each diagonal entry and `1/(6n)`
/// to their pair (with `n = 2` both gaps join the same pair; `n = 1` is the
/// constant).
fn hat_gram(n: usize) -> Vec<f64> {
    let mut g = vec![0.0; n * n];
    let h = 1.0 / n as f64;
    for lo in 0..n {
        let hi = (lo + 1) % n;
        g[lo * n + lo] += h / 3.0;
        g[hi * n + hi] += h / 3.0;
        g[lo * n + hi] += h / 6.0;
        g[hi * n + lo] += h / 6.0;
    }
    g
}

/// The Kronecker product of the `n x n` matrix `a` and the `m x m` matrix
/// `b`, row-major over (row of `a`, row of `b`).
fn kronecker(a: &[f64], n: usize, b: &[f64], m: usize) -> Vec<f64> {
    let k = n * m;
    let mut out = vec![0.0; k * k];
    for (i, j) in (0..n).flat_map(|i| (0..n).map(move |j| (i, j))) {
        for (p, q) in (0..m).flat_map(|p| (0..m).map(move |q| (p, q))) {
            out[(i * m + p) * k + j * m + q] = a[i * n + j] * b[p * m + q];
        }
    }
    out
}

/// The circle's terms of one variable up to `order`: `1, cos 2πs, sin 2πs, ...`.
fn circle_terms(order: usize, s: f64) -> Vec<f64> {
    let mut v = vec![1.0];
    for k in 1..=order {
        let angle = 2.0 * PI * k as f64 * s;
        v.push(angle.cos());
        v.push(angle.sin());
    }
    v
}

impl TorusBasis {
    /// The number of basis functions `K`: `(2n + 1)²` or `1 + 4n`.
    pub fn len(self) -> usize {
        match self {
            TorusBasis::Product { order } => (1 + 2 * order) * (1 + 2 * order),
            TorusBasis::Additive { order } => 1 + 4 * order,
            TorusBasis::Bilinear { rotations, shifts } => rotations * shifts,
        }
    }

    /// Whether the basis has no function (never: both have the constant).
    pub fn is_empty(self) -> bool {
        false
    }

    /// `torus<n>` or `circles<n>` (order 1: `torus`, `circles`).
    pub fn name(self) -> String {
        match self {
            TorusBasis::Product { order: 1 } => "torus".into(),
            TorusBasis::Product { order } => format!("torus{order}"),
            TorusBasis::Additive { order: 1 } => "circles".into(),
            TorusBasis::Additive { order } => format!("circles{order}"),
            TorusBasis::Bilinear { rotations, shifts } => format!("bilinear{rotations}x{shifts}"),
        }
    }

    /// The basis named `name` ([`TorusBasis::name`]); `None` for any other.
    pub fn from_name(name: &str) -> Option<TorusBasis> {
        let order = |prefix: &str| match name.strip_prefix(prefix)? {
            "" => Some(1),
            k => k.parse().ok().filter(|&k| k >= 1),
        };
        if let Some(knots) = name.strip_prefix("bilinear") {
            let (a, b) = knots.split_once('x')?;
            let (rotations, shifts) = (a.parse().ok()?, b.parse().ok()?);
            return (rotations >= 1 && shifts >= 1).then_some(TorusBasis::Bilinear { rotations, shifts });
        }
        if name.starts_with("torus") {
            Some(TorusBasis::Product { order: order("torus")? })
        } else if name.starts_with("circles") {
            Some(TorusBasis::Additive {
                order: order("circles")?,
            })
        } else {
            None
        }
    }

    /// `φ(s₁, s₂)`, length [`TorusBasis::len`]: for the product, row-major
    /// over (term of `s₁`, term of `s₂`); for the additive basis, the
    /// constant, then `s₁`'s non-constant terms, then `s₂`'s.
    pub fn values(self, s1: f64, s2: f64) -> Vec<f64> {
        match self {
            TorusBasis::Product { order } => {
                let (a, b) = (circle_terms(order, s1), circle_terms(order, s2));
                a.iter().flat_map(|x| b.iter().map(move |y| x * y)).collect()
            }
            TorusBasis::Additive { order } => {
                let mut v = circle_terms(order, s1);
                v.extend_from_slice(&circle_terms(order, s2)[1..]);
                v
            }
            TorusBasis::Bilinear { rotations, shifts } => {
                let (a, b) = (hats(rotations, s1), hats(shifts, s2));
                a.iter().flat_map(|x| b.iter().map(move |y| x * y)).collect()
            }
        }
    }

    /// The diagonal of the Gram matrix `∫∫ φ φᵀ ds₁ ds₂` (for the Fourier
    /// bases every other entry is 0): a product of per-variable mean
    /// squares, 1 for the constant and 1/2 for a cosine or sine.
    pub fn gram_diagonal(self) -> Vec<f64> {
        let one = |order: usize| {
            let mut g = vec![1.0];
            g.extend(std::iter::repeat_n(0.5, 2 * order));
            g
        };
        match self {
            TorusBasis::Product { order } => {
                let g = one(order);
                g.iter().flat_map(|x| g.iter().map(move |y| x * y)).collect()
            }
            TorusBasis::Additive { order } => one(2 * order),
            TorusBasis::Bilinear { .. } => {
                let (g, k) = (self.gram(), self.len());
                (0..k).map(|i| g[i * k + i]).collect()
            }
        }
    }

    /// `G`, `K x K` row-major.
    pub fn gram(self) -> Vec<f64> {
        match self {
            TorusBasis::Bilinear { rotations, shifts } => {
                kronecker(&hat_gram(rotations), rotations, &hat_gram(shifts), shifts)
            }
            _ => diagonal(&self.gram_diagonal()),
        }
    }

    /// `G⁻¹`, `K x K` row-major: the reciprocal diagonal, or for the
    /// bilinear basis `G₁⁻¹ ⊗ G₂⁻¹`.
    pub fn gram_inverse(self) -> Vec<f64> {
        match self {
            TorusBasis::Bilinear { rotations, shifts } => kronecker(
                &crate::manifold::invert(&hat_gram(rotations), rotations),
                rotations,
                &crate::manifold::invert(&hat_gram(shifts), shifts),
                shifts,
            ),
            _ => diagonal(&self.gram_diagonal().iter().map(|g| 1.0 / g).collect::<Vec<_>>()),
        }
    }

    /// Coefficients `a` with `Σ_k a_k φ_k = 1`: the constant term alone;
    /// for the bilinear basis every knot's 1 (its hats sum to 1).
    pub fn constant_coefficients(self) -> Vec<f64> {
        if let TorusBasis::Bilinear { .. } = self {
            return vec![1.0; self.len()];
        }
        let mut a = vec![0.0; self.len()];
        a[0] = 1.0;
        a
    }
}

fn diagonal(d: &[f64]) -> Vec<f64> {
    let k = d.len();
    let mut g = vec![0.0; k * k];
    for (i, &v) in d.iter().enumerate() {
        g[i * k + i] = v;
    }
    g
}

/// The length of [`torus_encoding`].
pub const TORUS_ENCODING_LEN: usize = 8;

/// Input conditioning's task encoding on a torus: the torus basis'
/// ([`TorusBasis::Product`] of order 1) non-constant terms, in its order:
/// `(cos 2πs₂, sin 2πs₂, cos 2πs₁, cos 2πs₁ cos 2πs₂, ..., sin 2πs₁ sin 2πs₂)`.
pub fn torus_encoding(s1: f64, s2: f64) -> [f64; TORUS_ENCODING_LEN] {
    let v = TorusBasis::Product { order: 1 }.values(s1, s2);
    std::array::from_fn(|i| v[i + 1])
}

/// The training tasks of a torus family's CRWN as a grid: the distinct
/// values of each variable (ascending) and, for each grid node `(a, b)`,
/// the index of the training task there (`nodes[a * s2.len() + b]`).
#[derive(Debug, Clone, PartialEq)]
pub struct Grid {
    /// The trained values of `s₁`, ascending.
    pub s1: Vec<f64>,
    /// The trained values of `s₂`, ascending.
    pub s2: Vec<f64>,
    /// The training task at each node, row-major over (`s₁`, `s₂`).
    pub nodes: Vec<usize>,
}

/// Two values of a variable closer than this are the same grid line.
const GRID_TOLERANCE: f64 = 1e-9;

impl Grid {
    /// The grid of the training tasks at `points` (`(s₁, s₂)` each);
    /// `None` unless they are a full product of their distinct values.
    pub fn of(points: &[[f64; 2]]) -> Option<Grid> {
        let distinct = |v: usize| {
            let mut d: Vec<f64> = points.iter().map(|p| p[v]).collect();
            d.sort_by(f64::total_cmp);
            d.dedup_by(|a, b| (*a - *b).abs() < GRID_TOLERANCE);
            d
        };
        let (s1, s2) = (distinct(0), distinct(1));
        let find = |values: &[f64], x: f64| values.iter().position(|&v| (v - x).abs() < GRID_TOLERANCE);
        let mut nodes = vec![usize::MAX; s1.len() * s2.len()];
        for (t, p) in points.iter().enumerate() {
            nodes[find(&s1, p[0])? * s2.len() + find(&s2, p[1])?] = t;
        }
        (points.len() == nodes.len() && !nodes.contains(&usize::MAX)).then_some(Grid { s1, s2, nodes })
    }
}

/// The training tasks nearest to `(s₁, s₂)` on the torus: the Euclidean
/// distance in `(s₁, s₂)` with each variable's difference taken round its
/// circle. Every point within [`crate::manifold::TIE_TOLERANCE`] of the
/// least distance is returned (one, or up to four on a grid), so a task
/// halfway between training tasks is scored as the mean of all of them,
/// the one-variable tie convention.
pub fn nearest_grid(points: &[[f64; 2]], s1: f64, s2: f64) -> Vec<usize> {
    use crate::manifold::{distance, TIE_TOLERANCE};
    let d = |p: &[f64; 2]| distance(p[0], s1, true).hypot(distance(p[1], s2, true));
    let best = points.iter().map(d).fold(f64::INFINITY, f64::min);
    (0..points.len())
        .filter(|&i| d(&points[i]) - best <= TIE_TOLERANCE)
        .collect()
}

/// Bilinear interpolation on the training grid: the neighbours of `s₁`
/// among the grid's `s₁` values and of `s₂` among its `s₂` values, each
/// round its circle ([`crate::manifold::neighbours`]), and the four
/// training tasks' contexts weighted `(1 - w₁)(1 - w₂)`, `(1 - w₁) w₂`,
/// `w₁ (1 - w₂)`, `w₁ w₂`. A trained task gets its own context exactly.
pub fn bilinear_grid(contexts: &[Vec<f32>], grid: &Grid, s1: f64, s2: f64) -> Vec<f32> {
    use crate::manifold::neighbours;
    let (a0, a1, w1) = neighbours(&grid.s1, s1, true);
    let (b0, b1, w2) = neighbours(&grid.s2, s2, true);
    let node = |a: usize, b: usize| &contexts[grid.nodes[a * grid.s2.len() + b]];
    let corners = [
        (node(a0, b0), (1.0 - w1) * (1.0 - w2)),
        (node(a0, b1), (1.0 - w1) * w2),
        (node(a1, b0), w1 * (1.0 - w2)),
        (node(a1, b1), w1 * w2),
    ];
    let mut out = vec![0f32; contexts[0].len()];
    // A corner of weight 0 is skipped, so a trained task's context is exact.
    for (context, w) in corners {
        if w != 0.0 {
            let w = w as f32;
            for (o, &c) in out.iter_mut().zip(context) {
                *o = w.mul_add(c, *o);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `∫∫ φ φᵀ` by the midpoint rule on an `n x n` grid (exact for
    /// trigonometric polynomials of degree below `n`).
    fn numerical_gram(basis: TorusBasis, n: usize) -> Vec<f64> {
        let k = basis.len();
        let mut g = vec![0.0; k * k];
        for i in 0..n {
            for j in 0..n {
                let phi = basis.values((i as f64 + 0.5) / n as f64, (j as f64 + 0.3) / n as f64);
                for a in 0..k {
                    for b in 0..k {
                        g[a * k + b] += phi[a] * phi[b] / (n * n) as f64;
                    }
                }
            }
        }
        g
    }

    #[test]
    fn sizes_and_names() {
        let torus = TorusBasis::Product { order: 1 };
        let circles = TorusBasis::Additive { order: 1 };
        let circles2 = TorusBasis::Additive { order: 2 };
        assert_eq!((torus.len(), circles.len(), circles2.len()), (9, 5, 9));
        assert_eq!(
            (torus.name(), circles.name(), circles2.name()),
            ("torus".into(), "circles".into(), "circles2".into())
        );
    }

    #[test]
    fn values_by_hand() {
        // s₁ = 1/4: (1, cos π/2, sin π/2) = (1, 0, 1); s₂ = 1/2: (1, -1, 0).
        let close = |a: &[f64], b: &[f64]| a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-12);
        let product = TorusBasis::Product { order: 1 }.values(0.25, 0.5);
        assert!(
            close(&product, &[1.0, -1.0, 0.0, 0.0, 0.0, 0.0, 1.0, -1.0, 0.0]),
            "{product:?}"
        );
        let additive = TorusBasis::Additive { order: 1 }.values(0.25, 0.5);
        assert!(close(&additive, &[1.0, 0.0, 1.0, -1.0, 0.0]), "{additive:?}");
        let e = torus_encoding(0.25, 0.5);
        assert!(close(&e, &product[1..]), "{e:?}");
        assert_eq!(e.len() + 1, TorusBasis::Product { order: 1 }.len());
    }

    #[test]
    fn gram_matrices_match_numerical_integration_and_invert() {
        for basis in [
            TorusBasis::Product { order: 1 },
            TorusBasis::Product { order: 2 },
            TorusBasis::Additive { order: 1 },
            TorusBasis::Additive { order: 2 },
        ] {
            let numeric = numerical_gram(basis, 16);
            for (a, b) in basis.gram().iter().zip(&numeric) {
                assert!((a - b).abs() < 1e-12, "{}: {a} vs {b}", basis.name());
            }
            let (g, inv, k) = (basis.gram(), basis.gram_inverse(), basis.len());
            for i in 0..k {
                for j in 0..k {
                    let product: f64 = (0..k).map(|m| g[i * k + m] * inv[m * k + j]).sum();
                    assert!(
                        (product - f64::from(u8::from(i == j))).abs() < 1e-12,
                        "{}",
                        basis.name()
                    );
                }
            }
        }
        // The product's diagonal by hand: 1, 1/2, 1/2, then 1/2, 1/4, 1/4 twice.
        assert_eq!(
            TorusBasis::Product { order: 1 }.gram_diagonal(),
            [1.0, 0.5, 0.5, 0.5, 0.25, 0.25, 0.5, 0.25, 0.25]
        );
    }

    #[test]
    fn the_bilinear_basis_has_its_hat_gram_and_inverts() {
        // Each gap's products of two hats are quadratics: Simpson's rule
        // on every gap is exact.
        for n in [1usize, 2, 3, 6, 7] {
            let mut numeric = vec![0.0; n * n];
            for gap in 0..n {
                let (a, h) = (gap as f64 / n as f64, 1.0 / n as f64);
                for (x, w) in [(a, h / 6.0), (a + h / 2.0, 4.0 * h / 6.0), (a + h, h / 6.0)] {
                    // The right end of the last gap is s = 1 = 0; take it from the left.
                    let v = hats(n, if x >= 1.0 { 1.0 - 1e-15 } else { x });
                    for i in 0..n {
                        for j in 0..n {
                            numeric[i * n + j] += w * v[i] * v[j];
                        }
                    }
                }
            }
            for (a, b) in hat_gram(n).iter().zip(&numeric) {
                assert!((a - b).abs() < 1e-12, "n = {n}: {a} vs {b}");
            }
        }
        let basis = TorusBasis::Bilinear {
            rotations: 3,
            shifts: 2,
        };
        assert_eq!((basis.len(), basis.name()), (6, "bilinear3x2".to_string()));
        assert_eq!(TorusBasis::from_name("bilinear3x2"), Some(basis));
        assert_eq!(TorusBasis::from_name("bilinear3"), None);
        let (g, inv, k) = (basis.gram(), basis.gram_inverse(), basis.len());
        // G = G₁ ⊗ G₂ entry by entry: knot (1, 0) against knot (2, 1).
        let (g1, g2) = (hat_gram(3), hat_gram(2));
        assert!((g[2 * k + 5] - g1[3 + 2] * g2[1]).abs() < 1e-15);
        for i in 0..k {
            for j in 0..k {
                let product: f64 = (0..k).map(|m| g[i * k + m] * inv[m * k + j]).sum();
                assert!((product - f64::from(u8::from(i == j))).abs() < 1e-12);
            }
        }
    }

    #[test]
    fn the_bilinear_basis_is_the_points_interpolated_bilinearly() {
        // The 6 x 7 training grid of the fine torus (every other of 12
        // rotations and 14 shifts): knots at (i/6, j/7).
        let (n1, n2) = (6usize, 7usize);
        let basis = TorusBasis::Bilinear {
            rotations: n1,
            shifts: n2,
        };
        let points: Vec<[f64; 2]> = (0..n1)
            .flat_map(|i| (0..n2).map(move |j| [i as f64 / n1 as f64, j as f64 / n2 as f64]))
            .collect();
        let grid = Grid::of(&points).unwrap();
        let contexts: Vec<Vec<f32>> = (0..points.len())
            .map(|t| vec![(t * 7 % 11) as f32, (t as f32).sin(), 1.0])
            .collect();
        for (s1, s2) in [
            (0.0, 0.0),
            (1.0 / 12.0, 0.0),
            (0.5, 1.0 / 14.0),
            (11.0 / 12.0, 13.0 / 14.0),
            (0.37, 0.81),
        ] {
            let phi = basis.values(s1, s2);
            let manifold: Vec<f64> = (0..3)
                .map(|c| phi.iter().zip(&contexts).map(|(p, x)| p * x[c] as f64).sum())
                .collect();
            let interpolated = bilinear_grid(&contexts, &grid, s1, s2);
            for (a, b) in manifold.iter().zip(&interpolated) {
                assert!((a - *b as f64).abs() < 1e-5, "({s1}, {s2}): {a} vs {b}");
            }
        }
        // At a knot the basis is one-hot.
        let phi = basis.values(2.0 / 6.0, 3.0 / 7.0);
        assert_eq!(phi.iter().filter(|&&p| p != 0.0).count(), 1);
        assert_eq!(phi[2 * n2 + 3], 1.0);
    }

    #[test]
    fn the_constant_coefficients_give_the_constant() {
        for basis in [
            TorusBasis::Product { order: 1 },
            TorusBasis::Additive { order: 2 },
            TorusBasis::Bilinear {
                rotations: 6,
                shifts: 7,
            },
        ] {
            let a = basis.constant_coefficients();
            for (s1, s2) in [(0.0, 0.0), (0.3, 0.7), (0.9, 0.1)] {
                let sum: f64 = basis.values(s1, s2).iter().zip(&a).map(|(p, a)| p * a).sum();
                assert!((sum - 1.0).abs() < 1e-12);
            }
        }
    }

    /// A 12 x 7 torus trained every other rotation and shift (6 x 4 = 24 tasks).
    fn grid_points() -> Vec<[f64; 2]> {
        let mut p = Vec::new();
        for i in (0..12).step_by(2) {
            for j in (0..7).step_by(2) {
                p.push([i as f64 / 12.0, j as f64 / 7.0]);
            }
        }
        p
    }

    #[test]
    fn nearest_on_the_torus_keeps_ties() {
        let points = grid_points();
        let at = |i: usize, j: usize| (i as f64 / 12.0, j as f64 / 7.0);
        let index = |i: usize, j: usize| (i / 2) * 4 + j / 2;
        // A trained task is its own nearest.
        let (a, b) = at(4, 2);
        assert_eq!(nearest_grid(&points, a, b), vec![index(4, 2)]);
        // Rotation 1 (30°) is halfway between 0 and 2 at shift 0: both.
        let (a, b) = at(1, 0);
        assert_eq!(nearest_grid(&points, a, b), vec![index(0, 0), index(2, 0)]);
        // Rotation 11 wraps: halfway between 10 and 0.
        let (a, b) = at(11, 4);
        assert_eq!(nearest_grid(&points, a, b), vec![index(0, 4), index(10, 4)]);
        // Shift 1 is halfway between shifts 0 and 2; rotation 3 between 2
        // and 4: the four corners tie.
        let (a, b) = at(3, 1);
        assert_eq!(
            nearest_grid(&points, a, b),
            vec![index(2, 0), index(2, 2), index(4, 0), index(4, 2)]
        );
    }

    #[test]
    fn bilinear_interpolation_on_the_grid_by_hand() {
        let points = grid_points();
        let grid = Grid::of(&points).expect("a full grid");
        assert_eq!((grid.s1.len(), grid.s2.len()), (6, 4));
        // Context of training task t: (rotation index, shift index, 1).
        let contexts: Vec<Vec<f32>> = points
            .iter()
            .map(|p| vec![(p[0] * 12.0) as f32, (p[1] * 7.0) as f32, 1.0])
            .collect();
        for (t, p) in points.iter().enumerate() {
            assert_eq!(bilinear_grid(&contexts, &grid, p[0], p[1]), contexts[t]);
        }
        let close = |a: &[f32], b: &[f32]| a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-5);
        // (3, 1): halfway in both: the mean of rotations 2, 4 and shifts 0, 2.
        let v = bilinear_grid(&contexts, &grid, 3.0 / 12.0, 1.0 / 7.0);
        assert!(close(&v, &[3.0, 1.0, 1.0]), "{v:?}");
        // Shift 5 between 4 and 6: 5. Rotation 11 wraps between 10 and 0
        // (the context's first number goes 10 -> 0 across the gap): 5.
        let v = bilinear_grid(&contexts, &grid, 11.0 / 12.0, 5.0 / 7.0);
        assert!(close(&v, &[5.0, 5.0, 1.0]), "{v:?}");
        // Shift 6.5 (not on the family's grid, but on the torus) lies
        // between shift 6 and shift 0 (= 7) a half of the way.
        let v = bilinear_grid(&contexts, &grid, 0.0, 6.5 / 7.0);
        assert!(close(&v, &[0.0, 3.0, 1.0]), "{v:?}");
        assert!(Grid::of(&points[1..]).is_none(), "a grid with a hole is refused");
    }
}
