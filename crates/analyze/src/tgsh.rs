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

/// `dot(a[i], b[j])` for every `i` and `j`, row-major, each with the bits
/// of [`tgsh_model::forward::dot`] (the same sixteen lanes of products, each
/// lane summed in the same order, the lanes and the tail added the same
/// way). With AVX2, two rows and three columns at a time, so each loaded
/// chunk serves several sums; the rest one at a time.
pub fn dots(a: &[&[f32]], b: &[&[f32]]) -> Vec<f32> {
    let mut out = vec![0f32; a.len() * b.len()];
    let (mut rows_done, mut cols_done) = (0, 0);
    #[cfg(target_arch = "x86_64")]
    if tgsh_model::forward::avx2_available() {
        let len = a.first().map_or(0, |v| v.len());
        assert!(
            a.iter().chain(b).all(|v| v.len() == len),
            "every vector must have one length"
        );
        (rows_done, cols_done) = (a.len() / 2 * 2, b.len() / 3 * 3);
        for i in (0..rows_done).step_by(2) {
            for j in (0..cols_done).step_by(3) {
                // SAFETY: AVX2 was detected; the six vectors have one length.
                let block = unsafe { dots_avx2::block([a[i], a[i + 1]], [b[j], b[j + 1], b[j + 2]]) };
                for (p, row) in block.iter().enumerate() {
                    out[(i + p) * b.len() + j..][..3].copy_from_slice(row);
                }
            }
        }
    }
    for i in 0..a.len() {
        for j in 0..b.len() {
            if i >= rows_done || j >= cols_done {
                out[i * b.len() + j] = tgsh_model::forward::dot(a[i], b[j]);
            }
        }
    }
    out
}

#[cfg(target_arch = "x86_64")]
mod dots_avx2 {
    use std::arch::x86_64::*;

    /// Two rows against three columns: `forward::dot`'s arithmetic (sixteen
    /// lanes, `lane + x * y` unfused, then the lanes and the tail summed as
    /// it sums them), six sums at once.
    ///
    /// # Safety
    /// AVX2; all five vectors of one length.
    #[target_feature(enable = "avx2")]
    pub unsafe fn block(x: [&[f32]; 2], y: [&[f32]; 3]) -> [[f32; 3]; 2] {
        let len = x[0].len();
        let whole = len / 16 * 16;
        let mut acc = [[[_mm256_setzero_ps(); 2]; 3]; 2];
        let mut c = 0;
        while c < whole {
            let xs: [[__m256; 2]; 2] =
                std::array::from_fn(|p| std::array::from_fn(|h| _mm256_loadu_ps(x[p].as_ptr().add(c + 8 * h))));
            for q in 0..3 {
                let ys: [__m256; 2] = std::array::from_fn(|h| _mm256_loadu_ps(y[q].as_ptr().add(c + 8 * h)));
                for p in 0..2 {
                    for h in 0..2 {
                        acc[p][q][h] = _mm256_add_ps(acc[p][q][h], _mm256_mul_ps(xs[p][h], ys[h]));
                    }
                }
            }
            c += 16;
        }
        std::array::from_fn(|p| {
            std::array::from_fn(|q| {
                let mut lanes = [0f32; 16];
                _mm256_storeu_ps(lanes.as_mut_ptr(), acc[p][q][0]);
                _mm256_storeu_ps(lanes.as_mut_ptr().add(8), acc[p][q][1]);
                let tail: f32 = x[p][whole..].iter().zip(&y[q][whole..]).map(|(a, b)| a * b).sum();
                lanes.iter().sum::<f32>() + tail
            })
        })
    }
}

/// All intra and inter pairs for `groups`, given the unit-normalised
/// representations `reps[task][image]`.
pub fn pairs(reps: &[Vec<Vec<f32>>], groups: &[usize]) -> Pairs {
    let tasks = reps.len();
    let n = groups.len();
    // Unit vectors: the cosine is the dot product (16-lane f32 sums in a
    // fixed order, so deterministic; error ~1e-6, far below the effects).
    let views: Vec<Vec<&[f32]>> = reps.iter().map(|r| r.iter().map(Vec::as_slice).collect()).collect();
    // Each group's members, and each image's place among them.
    let members: Vec<Vec<usize>> = (0..=groups.iter().copied().max().unwrap_or(0))
        .map(|g| (0..n).filter(|&a| groups[a] == g).collect())
        .collect();
    let place: Vec<usize> = (0..n)
        .map(|a| members[groups[a]].iter().position(|&m| m == a).expect("a member"))
        .collect();
    let intra: Vec<f64> = (0..tasks)
        .into_par_iter()
        .flat_map_iter(|t| {
            let gram = dots(&views[t], &views[t]);
            let mut out = Vec::new();
            for a in 0..n {
                for b in a + 1..n {
                    if groups[a] != groups[b] {
                        out.push(gram[a * n + b] as f64);
                    }
                }
            }
            out
        })
        .collect();
    let inter: Vec<f64> = (0..tasks)
        .into_par_iter()
        .flat_map_iter(|t| {
            let mut out = Vec::new();
            for u in t + 1..tasks {
                // One block of dots per group: the only pairs it needs.
                let blocks: Vec<Vec<f32>> = members
                    .iter()
                    .map(|m| {
                        let pick = |task: usize| m.iter().map(|&a| views[task][a]).collect::<Vec<_>>();
                        dots(&pick(t), &pick(u))
                    })
                    .collect();
                for a in 0..n {
                    let g = groups[a];
                    for b in 0..n {
                        if groups[b] == g {
                            out.push(blocks[g][place[a] * members[g].len() + place[b]] as f64);
                        }
                    }
                }
            }
            out
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
    let images = reps.iter().map(Vec::len).min().unwrap_or(0);
    // Per image, its representations' dots under every pair of tasks.
    let per_image: Vec<Vec<f32>> = (0..images)
        .into_par_iter()
        .map(|x| {
            let views: Vec<&[f32]> = reps.iter().map(|r| r[x].as_slice()).collect();
            dots(&views, &views)
        })
        .collect();
    (0..tasks * tasks)
        .map(|tu| {
            let sum: f64 = per_image.iter().map(|d| d[tu] as f64).sum();
            sum / images.max(1) as f64
        })
        .collect()
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
    fn blocked_dots_have_the_bits_of_one_dot_at_a_time() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(4);
        for len in [7840usize, 37, 16, 5] {
            let a: Vec<Vec<f32>> = (0..5)
                .map(|_| (0..len).map(|_| rng.random::<f32>() - 0.5).collect())
                .collect();
            let b: Vec<Vec<f32>> = (0..7)
                .map(|_| (0..len).map(|_| rng.random::<f32>() - 0.5).collect())
                .collect();
            let (av, bv): (Vec<&[f32]>, Vec<&[f32]>) = (
                a.iter().map(Vec::as_slice).collect(),
                b.iter().map(Vec::as_slice).collect(),
            );
            let d = dots(&av, &bv);
            for i in 0..5 {
                for j in 0..7 {
                    let one = tgsh_model::forward::dot(&a[i], &b[j]);
                    assert_eq!(d[i * 7 + j].to_bits(), one.to_bits(), "length {len}, {i} x {j}");
                }
            }
        }
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
