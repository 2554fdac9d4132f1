//! The T-GSH property (Fig. 1a): representations `c_t ⊙ r(x)` of points on
//! the same task manifold are more alike than those of one group across
//! task manifolds.
//!
//! From each task the same test images are taken, `per_class` of every
//! digit (drawn from the seed). Two groupings of those images are compared,
//! and always reported side by side:
//!
//! - `label`: a group is a digit. Intra pairs: same task, different labels;
//!   inter pairs: same label, different tasks. What the figure's caption says.
//! - `position`: a group is a random set of `per_class` images, regardless
//!   of label. Intra pairs: same task, different groups; inter pairs: same
//!   group, different tasks. What the authors' notebook computed (its
//!   "classes" were batch positions) and what Definition 1 states.
//!
//! Inter pairs include one image under two tasks (a `1/per_class` share of
//! them, as in the notebook). Every statistic uses every pair; a uniform
//! sample of pairs is stored as the distribution.
//!
//! Definition 1b, that representations of well-separated task manifolds
//! are far apart, is measured with the same images: the similarity of one
//! image's representations under two tasks ([`same_image_similarity`]),
//! as a function of task distance. Every statistic here is computed the
//! same way on the trained contexts and on the controls (the contexts
//! before training, and no modulation, every `c_t = 1`).

use crate::stats;
use rand::seq::SliceRandom;
use rand::Rng;
use rayon::prelude::*;
use tgsh_common::CLASSES;

/// The two groupings, in their table names.
pub const GROUPINGS: [&str; 2] = ["label", "position"];

/// The images compared: indices into each task's test split, and their
/// group under each grouping.
#[derive(Debug, Clone, PartialEq)]
pub struct Selection {
    /// Test-split indices, the same for every task.
    pub images: Vec<usize>,
    /// Group of each image: `[grouping][image]`.
    pub groups: [Vec<usize>; 2],
}

/// Draws `per_class` test images of every digit (fewer if a digit has
/// fewer), and a random label-agnostic grouping of the same images into ten
/// groups of `per_class`.
pub fn select(labels: &[u8], per_class: usize, rng: &mut impl Rng) -> Selection {
    let mut images = Vec::new();
    let mut label_groups = Vec::new();
    for class in 0..CLASSES {
        let mut of_class: Vec<usize> = (0..labels.len()).filter(|&i| labels[i] as usize == class).collect();
        of_class.shuffle(rng);
        of_class.truncate(per_class);
        of_class.sort_unstable();
        label_groups.extend(std::iter::repeat_n(class, of_class.len()));
        images.extend(of_class);
    }
    let mut order: Vec<usize> = (0..images.len()).collect();
    order.shuffle(rng);
    let mut position_groups = vec![0; images.len()];
    for (rank, &i) in order.iter().enumerate() {
        position_groups[i] = rank * CLASSES / images.len().max(1);
    }
    Selection {
        images,
        groups: [label_groups, position_groups],
    }
}

/// Intra and inter pair similarities of one grouping.
#[derive(Debug, Clone, PartialEq)]
pub struct Pairs {
    /// Same task, different groups.
    pub intra: Vec<f64>,
    /// Same group, different tasks.
    pub inter: Vec<f64>,
}

/// All intra and inter pairs for `groups`, given the unit-normalised
/// representations `reps[task][image]`.
pub fn pairs(reps: &[Vec<Vec<f32>>], groups: &[usize]) -> Pairs {
    let tasks = reps.len();
    let n = groups.len();
    // Unit vectors: the cosine is the dot product (16-lane f32 sums in a
    // fixed order, so deterministic; error ~1e-6, far below the effects).
    let dot = |a: &[f32], b: &[f32]| -> f64 { tgsh_model::forward::dot(a, b) as f64 };
    let intra: Vec<f64> = (0..tasks)
        .into_par_iter()
        .flat_map_iter(|t| {
            (0..n).flat_map(move |a| {
                (a + 1..n)
                    .filter(move |&b| groups[a] != groups[b])
                    .map(move |b| dot(&reps[t][a], &reps[t][b]))
            })
        })
        .collect();
    let inter: Vec<f64> = (0..tasks)
        .into_par_iter()
        .flat_map_iter(|t| {
            (t + 1..tasks).flat_map(move |u| {
                (0..n).flat_map(move |a| {
                    (0..n)
                        .filter(move |&b| groups[a] == groups[b])
                        .map(move |b| dot(&reps[t][a], &reps[u][b]))
                })
            })
        })
        .collect();
    Pairs { intra, inter }
}

/// Definition 1b: for every pair of tasks `(t, u)`, the mean over images
/// `x` of `cos(rep_t(x), rep_u(x))`, one image under two tasks, as a
/// row-major `T x T` matrix (the diagonal is 1 for non-zero
/// representations). `reps[task][image]` are unit-normalised.
pub fn same_image_similarity(reps: &[Vec<Vec<f32>>]) -> Vec<f64> {
    let tasks = reps.len();
    let rows: Vec<Vec<f64>> = (0..tasks)
        .into_par_iter()
        .map(|t| {
            (0..tasks)
                .map(|u| {
                    let images = reps[t].len().min(reps[u].len());
                    let sum: f64 = (0..images)
                        .map(|x| tgsh_model::forward::dot(&reps[t][x], &reps[u][x]) as f64)
                        .sum();
                    sum / images.max(1) as f64
                })
                .collect()
        })
        .collect();
    rows.concat()
}

/// `v / |v|` (zero stays zero).
pub fn normalised(v: Vec<f32>) -> Vec<f32> {
    let norm = v.iter().map(|&x| x as f64 * x as f64).sum::<f64>().sqrt();
    if norm == 0.0 {
        v
    } else {
        v.iter().map(|&x| (x as f64 / norm) as f32).collect()
    }
}

/// The per-seed statistics of one grouping: `(name, value)`.
pub fn statistics(grouping: &str, pairs: &Pairs) -> Vec<(String, f64)> {
    let (intra, inter) = (stats::mean(&pairs.intra), stats::mean(&pairs.inter));
    vec![
        (format!("tgsh.{grouping}.auc"), stats::auc(&pairs.intra, &pairs.inter)),
        (format!("tgsh.{grouping}.intra_mean"), intra),
        (format!("tgsh.{grouping}.inter_mean"), inter),
        (format!("tgsh.{grouping}.difference"), intra - inter),
        (format!("tgsh.{grouping}.intra_pairs"), pairs.intra.len() as f64),
        (format!("tgsh.{grouping}.inter_pairs"), pairs.inter.len() as f64),
    ]
}

/// A uniform sample of `k` values without replacement (all when fewer),
/// in their original order.
pub fn sample(values: &[f64], k: usize, rng: &mut impl Rng) -> Vec<f64> {
    if values.len() <= k {
        return values.to_vec();
    }
    let mut picked = rand::seq::index::sample(rng, values.len(), k).into_vec();
    picked.sort_unstable();
    picked.into_iter().map(|i| values[i]).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn selection_takes_per_class_images_of_each_digit_and_balanced_random_groups() {
        let labels: Vec<u8> = (0..500).map(|i| (i % 10) as u8).collect();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        let s = select(&labels, 3, &mut rng);
        assert_eq!(s.images.len(), 30);
        for (i, &img) in s.images.iter().enumerate() {
            assert_eq!(labels[img] as usize, s.groups[0][i]);
        }
        for g in 0..CLASSES {
            assert_eq!(s.groups[1].iter().filter(|&&x| x == g).count(), 3);
        }
        // The random grouping is not the label grouping.
        assert_ne!(s.groups[0], s.groups[1]);
    }

    #[test]
    fn pair_counts_and_values_of_a_hand_made_case() {
        // Two tasks, four images in two groups {0, 1}, {2, 3}.
        let e = |i: usize| -> Vec<f32> {
            let mut v = vec![0.0; 4];
            v[i] = 1.0;
            v
        };
        let task0 = vec![e(0), e(1), e(2), e(3)];
        let task1 = vec![e(0), e(0), e(3), e(3)];
        let p = pairs(&[task0, task1], &[0, 0, 1, 1]);
        // Intra: per task the 4 cross-group pairs: task 0 all orthogonal, task 1 all orthogonal.
        assert_eq!(p.intra, vec![0.0; 8]);
        // Inter: group 0: (e0,e0) (e0,e0) (e1,e0) (e1,e0) -> 1,1,0,0; group 1: (e2,e3)x2, (e3,e3)x2 -> 0,0,1,1.
        assert_eq!(p.inter.len(), 8);
        assert_eq!(p.inter.iter().sum::<f64>(), 4.0);
        let s = statistics("label", &p);
        assert_eq!(s[0], ("tgsh.label.auc".to_string(), 0.25)); // intra never beats inter 1s, ties with 0s
    }

    #[test]
    fn same_image_similarity_averages_one_image_under_two_tasks() {
        // Two tasks, two images: task 1 keeps image 0 and turns image 1 by 90 degrees.
        let s = std::f32::consts::FRAC_1_SQRT_2;
        let task0 = vec![vec![1.0, 0.0], vec![s, s]];
        let task1 = vec![vec![1.0, 0.0], vec![-s, s]];
        let m = same_image_similarity(&[task0, task1]);
        // cos = 1 for image 0, 0 for image 1: mean 0.5 off the diagonal.
        assert!((m[1] - 0.5).abs() < 1e-6 && (m[2] - 0.5).abs() < 1e-6);
        assert!((m[0] - 1.0).abs() < 1e-6 && (m[3] - 1.0).abs() < 1e-6);
    }

    #[test]
    fn sampling_keeps_order_and_size() {
        let values: Vec<f64> = (0..100).map(|v| v as f64).collect();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        let s = sample(&values, 10, &mut rng);
        assert_eq!(s.len(), 10);
        assert!(s.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(sample(&values[..5], 10, &mut rng).len(), 5);
    }
}
