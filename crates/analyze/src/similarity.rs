//! Task similarity (Figs. 1b, 4b, 5b): the cosine similarity of every pair
//! of context vectors, and what the paper reads off the heat maps, as
//! numbers: the adjacency profile (mean similarity at each task distance),
//! the rank correlation of similarity with distance, whether each task's
//! most similar other task is adjacent, and how close to 0 the
//! off-diagonal is before training.
//!
//! Task distance comes from the family's [`Topology`]: circular for
//! rotations by `360/T` degrees and periodic shifts (task 0 is adjacent to
//! task `T-1`), linear for other sweeps, none for lists of augmentations.

use crate::stats;
use tgsh_common::config::Topology;

/// `cos(a, b) = a·b / (|a| |b|)`, accumulated in f64; NaN when either is zero.
pub fn cosine(a: &[f32], b: &[f32]) -> f64 {
    let (mut ab, mut aa, mut bb) = (0f64, 0f64, 0f64);
    for (&x, &y) in a.iter().zip(b) {
        let (x, y) = (x as f64, y as f64);
        ab += x * y;
        aa += x * x;
        bb += y * y;
    }
    let d = (aa * bb).sqrt();
    if d == 0.0 {
        f64::NAN
    } else {
        (ab / d).clamp(-1.0, 1.0)
    }
}

/// The `n x n` cosine-similarity matrix (row-major) of `n` vectors.
pub fn similarity_matrix(vectors: &[Vec<f32>]) -> Vec<f64> {
    let n = vectors.len();
    let mut out = vec![0f64; n * n];
    for i in 0..n {
        for j in i..n {
            let c = cosine(&vectors[i], &vectors[j]);
            out[i * n + j] = c;
            out[j * n + i] = c;
        }
    }
    out
}

/// The distance between tasks `i` and `j` of `n`, or `None` without a topology.
pub fn task_distance(topology: Topology, n: usize, i: usize, j: usize) -> Option<usize> {
    let d = i.abs_diff(j);
    match topology {
        Topology::Circle => Some(d.min(n - d)),
        Topology::Line => Some(d),
        Topology::None => None,
    }
}

/// An adjacency profile: `(distance, mean similarity, ordered pairs)`.
pub type Profile = Vec<(usize, f64, usize)>;

/// Mean similarity at each task distance `1..`: `(distance, mean, pairs)`
/// over ordered pairs `i != j`.
pub fn adjacency_profile(matrix: &[f64], n: usize, topology: Topology) -> Profile {
    let mut sums: Vec<(f64, usize)> = Vec::new();
    for i in 0..n {
        for j in 0..n {
            if let Some(d) = task_distance(topology, n, i, j).filter(|&d| d > 0) {
                if sums.len() < d {
                    sums.resize(d, (0.0, 0));
                }
                sums[d - 1].0 += matrix[i * n + j];
                sums[d - 1].1 += 1;
            }
        }
    }
    sums.into_iter()
        .enumerate()
        .filter(|(_, (_, count))| *count > 0)
        .map(|(d, (sum, count))| (d + 1, sum / count as f64, count))
        .collect()
}

/// Spearman's correlation between similarity and task distance over the
/// pairs `i < j` (negative when similarity falls with distance).
pub fn distance_correlation(matrix: &[f64], n: usize, topology: Topology) -> f64 {
    let (mut sim, mut dist) = (Vec::new(), Vec::new());
    for i in 0..n {
        for j in i + 1..n {
            if let Some(d) = task_distance(topology, n, i, j) {
                sim.push(matrix[i * n + j]);
                dist.push(d as f64);
            }
        }
    }
    if sim.len() < 3 {
        return f64::NAN;
    }
    stats::spearman(&sim, &dist)
}

/// For each row `i` of an `n x n` score matrix, the column `j != i` with the
/// highest score (the first one on ties).
pub fn best_other(matrix: &[f64], n: usize) -> Vec<usize> {
    (0..n)
        .map(|i| {
            (0..n)
                .filter(|&j| j != i)
                .max_by(|&a, &b| matrix[i * n + a].total_cmp(&matrix[i * n + b]).then(b.cmp(&a)))
                .unwrap_or(i)
        })
        .collect()
}

/// The fraction of rows whose best other column is an adjacent task
/// (distance 1); NaN when no two tasks are farther apart than adjacent
/// (no topology, or too few tasks).
pub fn best_other_is_adjacent(matrix: &[f64], n: usize, topology: Topology) -> f64 {
    if !crate::claims::has_adjacency(topology, n) {
        return f64::NAN;
    }
    let hits = best_other(matrix, n)
        .iter()
        .enumerate()
        .filter(|&(i, &j)| task_distance(topology, n, i, j) == Some(1))
        .count();
    hits as f64 / n as f64
}

/// Whether `members` are `anchor`'s most similar tasks, as a margin: the
/// smallest similarity of `anchor` to a member minus the largest to any
/// other task (positive: they are its `members.len()` nearest). NaN when
/// no task is left outside.
pub fn nearest_margin(matrix: &[f64], n: usize, anchor: usize, members: &[usize]) -> f64 {
    let inside = members
        .iter()
        .map(|&m| matrix[anchor * n + m])
        .fold(f64::INFINITY, f64::min);
    let outside = (0..n)
        .filter(|&j| j != anchor && !members.contains(&j))
        .map(|j| matrix[anchor * n + j])
        .fold(f64::NEG_INFINITY, f64::max);
    if members.is_empty() || outside == f64::NEG_INFINITY {
        f64::NAN
    } else {
        inside - outside
    }
}

/// The matrix with its tasks relabelled: `out[i][j] = matrix[p[i]][p[j]]`
/// (the task-order permutation null).
pub fn permuted(matrix: &[f64], n: usize, p: &[usize]) -> Vec<f64> {
    let mut out = vec![0.0; n * n];
    for i in 0..n {
        for j in 0..n {
            out[i * n + j] = matrix[p[i] * n + p[j]];
        }
    }
    out
}

/// The statistics of one similarity matrix that every state shares:
/// `similarity.off_diagonal_abs_mean`, `similarity.nearest_is_adjacent`,
/// `similarity.distance_spearman`.
pub fn statistics(matrix: &[f64], n: usize, topology: Topology) -> Vec<(String, f64)> {
    vec![
        (
            "similarity.off_diagonal_abs_mean".into(),
            off_diagonal_abs_mean(matrix, n),
        ),
        (
            "similarity.nearest_is_adjacent".into(),
            best_other_is_adjacent(matrix, n, topology),
        ),
        (
            "similarity.distance_spearman".into(),
            distance_correlation(matrix, n, topology),
        ),
    ]
}

/// Mean `|cos|` over the off-diagonal entries.
pub fn off_diagonal_abs_mean(matrix: &[f64], n: usize) -> f64 {
    let values: Vec<f64> = (0..n)
        .flat_map(|i| (0..n).filter(move |&j| j != i).map(move |j| matrix[i * n + j].abs()))
        .collect();
    stats::mean(&values)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn hand_computed_cosines() {
        assert!((cosine(&[1.0, 0.0], &[0.0, 1.0])).abs() < 1e-12);
        assert!((cosine(&[1.0, 1.0], &[1.0, 0.0]) - 0.5f64.sqrt()).abs() < 1e-12);
        assert!((cosine(&[1.0, 2.0], &[-2.0, -4.0]) + 1.0).abs() < 1e-12);
        assert!(cosine(&[0.0, 0.0], &[1.0, 0.0]).is_nan());
    }

    #[test]
    fn matrix_is_symmetric_with_unit_diagonal() {
        let v = vec![vec![1.0, 0.0], vec![1.0, 1.0], vec![0.0, 2.0]];
        let m = similarity_matrix(&v);
        assert_eq!(m.len(), 9);
        for i in 0..3 {
            assert!((m[i * 3 + i] - 1.0).abs() < 1e-12);
        }
        assert!((m[1] - m[3]).abs() < 1e-15);
        assert!((m[2]).abs() < 1e-12); // (1,0) vs (0,2)
    }

    /// A 6-task circle whose similarity is `1 - distance / 3`.
    fn ring(n: usize) -> Vec<f64> {
        let mut m = vec![0.0; n * n];
        for i in 0..n {
            for j in 0..n {
                m[i * n + j] = 1.0 - task_distance(Topology::Circle, n, i, j).unwrap() as f64 / 3.0;
            }
        }
        m
    }

    #[test]
    fn circular_distance_wraps_around() {
        assert_eq!(task_distance(Topology::Circle, 36, 0, 35), Some(1));
        assert_eq!(task_distance(Topology::Circle, 36, 3, 21), Some(18));
        assert_eq!(task_distance(Topology::Line, 36, 0, 35), Some(35));
        assert_eq!(task_distance(Topology::None, 8, 0, 1), None);
    }

    #[test]
    fn a_ring_shaped_matrix_has_the_expected_profile_and_statistics() {
        let m = ring(6);
        // Distances 1, 2, 3 on a 6-circle: 12, 12 and 6 ordered pairs.
        let profile = adjacency_profile(&m, 6, Topology::Circle);
        assert_eq!(profile.len(), 3);
        assert_eq!((profile[0].0, profile[0].2), (1, 12));
        assert!((profile[0].1 - 2.0 / 3.0).abs() < 1e-12);
        assert_eq!((profile[2].0, profile[2].2), (3, 6));
        assert!((profile[2].1).abs() < 1e-12);
        assert!((distance_correlation(&m, 6, Topology::Circle) + 1.0).abs() < 1e-12);
        assert_eq!(best_other_is_adjacent(&m, 6, Topology::Circle), 1.0);
        // Read as a line, tasks 0 and 5 are far apart yet similar.
        assert!(distance_correlation(&m, 6, Topology::Line) > -1.0);
        assert!(best_other_is_adjacent(&m, 6, Topology::None).is_nan());
    }

    #[test]
    fn best_other_skips_the_diagonal_and_takes_the_first_tie() {
        let m = [1.0, 0.5, 0.5, 0.2, 1.0, 0.9, 0.3, 0.3, 1.0];
        assert_eq!(best_other(&m, 3), vec![1, 2, 0]);
    }

    #[test]
    fn permuting_relabels_rows_and_columns_together() {
        let m: Vec<f64> = (0..9).map(|v| v as f64).collect();
        // p = (2, 0, 1): out[0][1] = m[2][0] = 6.
        let out = permuted(&m, 3, &[2, 0, 1]);
        assert_eq!(out, vec![8.0, 6.0, 7.0, 2.0, 0.0, 1.0, 5.0, 3.0, 4.0]);
        assert_eq!(permuted(&m, 3, &[0, 1, 2]), m);
    }

    proptest! {
        #[test]
        fn cosine_is_bounded_symmetric_and_scale_invariant(
            a in proptest::collection::vec(-100f32..100.0, 8),
            b in proptest::collection::vec(-100f32..100.0, 8),
            scale in 0.01f32..100.0,
        ) {
            let c = cosine(&a, &b);
            prop_assume!(!c.is_nan());
            prop_assert!((-1.0..=1.0).contains(&c));
            prop_assert!((c - cosine(&b, &a)).abs() < 1e-12);
            let scaled: Vec<f32> = a.iter().map(|x| x * scale).collect();
            prop_assert!((c - cosine(&scaled, &b)).abs() < 1e-5);
        }
    }
}
