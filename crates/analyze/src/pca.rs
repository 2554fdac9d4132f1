//! The contexts as a manifold (beyond the paper): a principal component
//! analysis of one seed's `T` context vectors, and whether they trace a
//! closed loop in task order.
//!
//! The contexts are centred over tasks; the PCA comes from the
//! eigendecomposition of their `T x T` Gram matrix (LAPACK `dsyevd`), so
//! its cost does not grow with `H`. A task's scores on PCs 1-3 are
//! `sqrt(λ_k) u_k[t]`; each PC's sign is fixed so that its largest score is
//! positive (only for drawing: the statistics do not depend on it).
//!
//! For rotations and periodic shifts the task variable is an angle,
//! `2π t / T`. The loop statistic is the absolute value of Fisher and Lee's
//! circular rank correlation ([`crate::stats::circular_rank_correlation`])
//! between each context's angle `atan2(PC2, PC1)` and its task's angle:
//! 1 when the contexts go round PC1-PC2 in task order (either way round),
//! near 0 when their angles have nothing to do with the task's.

use crate::stats;
use ndarray::Array2;
use ndarray_linalg::{Eigh, UPLO};

/// One seed's PCA of its contexts.
#[derive(Debug, Clone, PartialEq)]
pub struct Pca {
    /// Each task's scores on PCs 1-3 (0 where there are fewer components).
    pub scores: Vec<[f64; 3]>,
    /// Fraction of the total variance on PCs 1, 2 and 3.
    pub explained: [f64; 3],
}

/// The PCA of `contexts` (one per task).
pub fn pca(contexts: &[Vec<f32>]) -> Pca {
    let t = contexts.len();
    let h = contexts.first().map_or(0, Vec::len);
    let mut mean = vec![0f64; h];
    for c in contexts {
        for (m, &v) in mean.iter_mut().zip(c) {
            *m += v as f64 / t as f64;
        }
    }
    let centred: Vec<Vec<f64>> = contexts
        .iter()
        .map(|c| c.iter().zip(&mean).map(|(&v, m)| v as f64 - m).collect())
        .collect();
    let mut gram = Array2::<f64>::zeros((t, t));
    for i in 0..t {
        for j in i..t {
            let v: f64 = centred[i].iter().zip(&centred[j]).map(|(a, b)| a * b).sum();
            gram[[i, j]] = v;
            gram[[j, i]] = v;
        }
    }
    let mut scores = vec![[0f64; 3]; t];
    let mut explained = [0f64; 3];
    if t < 2 {
        return Pca { scores, explained };
    }
    let (values, vectors) = gram
        .eigh(UPLO::Upper)
        .expect("a symmetric Gram matrix has an eigendecomposition");
    // Ascending eigenvalues: the last are the leading components.
    let total: f64 = values.iter().map(|&v| v.max(0.0)).sum();
    for k in 0..3.min(t) {
        let col = t - 1 - k;
        let lambda = values[col].max(0.0);
        explained[k] = if total > 0.0 { lambda / total } else { 0.0 };
        let column: Vec<f64> = (0..t).map(|i| vectors[[i, col]] * lambda.sqrt()).collect();
        let largest = column
            .iter()
            .copied()
            .fold(0.0f64, |a, v| if v.abs() > a.abs() { v } else { a });
        let sign = if largest < 0.0 { -1.0 } else { 1.0 };
        for (s, v) in scores.iter_mut().zip(&column) {
            s[k] = sign * v;
        }
    }
    Pca { scores, explained }
}

/// `|Π|` between each context's angle in PC1-PC2 and its task's angle
/// `2π t / T` ([module docs](self)); NaN for fewer than 4 tasks.
pub fn loop_correlation(pca: &Pca) -> f64 {
    let t = pca.scores.len();
    if t < 4 {
        return f64::NAN;
    }
    let context_angles: Vec<f64> = pca.scores.iter().map(|s| s[1].atan2(s[0])).collect();
    let task_angles: Vec<f64> = (0..t).map(|k| std::f64::consts::TAU * k as f64 / t as f64).collect();
    stats::circular_rank_correlation(&context_angles, &task_angles).abs()
}

/// The per-seed statistics of one state's contexts:
/// `contexts.variance_explained_pc{1,2,3}` and, on a circle,
/// `contexts.loop_correlation`.
pub fn statistics(pca: &Pca, circle: bool) -> Vec<(String, f64)> {
    let mut out: Vec<(String, f64)> = (0..3)
        .map(|k| (format!("contexts.variance_explained_pc{}", k + 1), pca.explained[k]))
        .collect();
    if circle {
        out.push(("contexts.loop_correlation".into(), loop_correlation(pca)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `T` contexts on a circle of radius 2 in dimensions 0 and 1, offset
    /// by a constant, in 6 dimensions.
    fn circle(t: usize, order: impl Fn(usize) -> usize) -> Vec<Vec<f32>> {
        (0..t)
            .map(|k| {
                let a = std::f64::consts::TAU * order(k) as f64 / t as f64;
                vec![
                    2.0 * a.cos() as f32 + 1.0,
                    2.0 * a.sin() as f32 - 3.0,
                    0.5,
                    0.5,
                    0.5,
                    0.5,
                ]
            })
            .collect()
    }

    #[test]
    fn a_circle_has_two_equal_components_and_a_perfect_loop() {
        // Σ cos² = Σ sin² = T/2 for T >= 3: half the variance on each of two PCs.
        let p = pca(&circle(12, |k| k));
        assert!(
            (p.explained[0] - 0.5).abs() < 1e-6 && (p.explained[1] - 0.5).abs() < 1e-6,
            "{:?}",
            p.explained
        );
        assert!(p.explained[2].abs() < 1e-6);
        // Radius 2: every task's score vector has length 2.
        for s in &p.scores {
            assert!(((s[0] * s[0] + s[1] * s[1]).sqrt() - 2.0).abs() < 1e-5, "{s:?}");
        }
        assert!((loop_correlation(&p) - 1.0).abs() < 1e-9);
        // Travelled the other way round: still a loop.
        assert!((loop_correlation(&pca(&circle(12, |k| 12 - k))) - 1.0).abs() < 1e-9);
    }

    #[test]
    fn a_scrambled_circle_is_no_loop() {
        // Positions on the circle unrelated to task order (k -> 5k mod 12 is
        // a bijection): far from 1.
        let p = pca(&circle(12, |k| (5 * k) % 12));
        let r = loop_correlation(&p);
        assert!(r < 0.5, "{r}");
        let stats = statistics(&p, true);
        assert_eq!(stats.len(), 4);
        assert_eq!(statistics(&p, false).len(), 3);
    }
}
