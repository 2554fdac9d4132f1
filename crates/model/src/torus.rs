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
//! Input conditioning on a torus encodes both variables,
//! [`torus_encoding`]: `e = (cos 2πs₁, sin 2πs₁, cos 2πs₂, sin 2πs₂)`
//! (`4H` numbers in `U`, with the shared context `5H`: the additive
//! order-1 basis' size).
//!
//! Not yet wired into the trainer, the analysis or the report: the train
//! stage refuses a two-variable pipeline (docs/MANIFOLDS.md, "Not done").

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
        }
    }

    /// The diagonal of the Gram matrix `∫∫ φ φᵀ ds₁ ds₂` (every other
    /// entry is 0): a product of per-variable mean squares, 1 for the
    /// constant and 1/2 for a cosine or sine.
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
        }
    }

    /// `G`, `K x K` row-major.
    pub fn gram(self) -> Vec<f64> {
        diagonal(&self.gram_diagonal())
    }

    /// `G⁻¹`, `K x K` row-major: the reciprocal diagonal.
    pub fn gram_inverse(self) -> Vec<f64> {
        diagonal(&self.gram_diagonal().iter().map(|g| 1.0 / g).collect::<Vec<_>>())
    }

    /// Coefficients `a` with `Σ_k a_k φ_k = 1`: the constant term alone.
    pub fn constant_coefficients(self) -> Vec<f64> {
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

/// Input conditioning's task encoding on a torus:
/// `(cos 2πs₁, sin 2πs₁, cos 2πs₂, sin 2πs₂)`.
pub fn torus_encoding(s1: f64, s2: f64) -> [f64; 4] {
    let (a, b) = (2.0 * PI * s1, 2.0 * PI * s2);
    [a.cos(), a.sin(), b.cos(), b.sin()]
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
        assert!(close(&e, &[0.0, 1.0, -1.0, 0.0]), "{e:?}");
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
    fn the_constant_coefficients_give_the_constant() {
        for basis in [TorusBasis::Product { order: 1 }, TorusBasis::Additive { order: 2 }] {
            let a = basis.constant_coefficients();
            for (s1, s2) in [(0.0, 0.0), (0.3, 0.7), (0.9, 0.1)] {
                let sum: f64 = basis.values(s1, s2).iter().zip(&a).map(|(p, a)| p * a).sum();
                assert!((sum - 1.0).abs() < 1e-12);
            }
        }
    }
}
