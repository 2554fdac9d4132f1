//! Recoverability (Fig. 3, Eq. 3): invert the network without its ReLU and
//! see whether a class's canonical representation, modulated by a task's
//! context, comes back as that digit under that task's transform.
//!
//! As in the authors' notebook, class `k` in task `t` is reconstructed as
//! `x_hat = pinv(W1) z` with `z ~ N(W2[k,:] ⊙ c_t, (1/H)^2)` per component.
//! `pinv(W1)` is computed once per model, by SVD (LAPACK through
//! ndarray-linalg): `V diag(1/s) Uᵀ`, dropping singular values below
//! `max(m, n) eps s_max` as numpy and torch do. The noise is drawn from the
//! model's seed.
//!
//! The same reconstruction without the noise (`z = W2[k] ⊙ c_t`) is scored
//! beside it: it shows what the contexts carry, apart from the noise the
//! notebook adds (whose standard deviation `1/H` is of the order of the
//! entries of `W2[k] ⊙ c_t` themselves).
//!
//! Assumption 1 is then measured rather than looked at: each reconstruction
//! is correlated (Pearson, over the 784 pixels) with the mean test image of
//! every class in every task. It "shows the digit" when its own class's
//! mean in its task correlates best among the ten classes, and "shows the
//! task" when its task's mean of its class correlates best among all tasks
//! (`best_task`), or at least better than most (`own_task_rank`).

use crate::stats;
use ndarray::{Array2, ArrayView2};
use ndarray_linalg::{JobSvd, SVDDC};
use rand_distr::{Distribution, Normal};
use rayon::prelude::*;
use tgsh_common::{CLASSES, PIXELS};

/// The Moore-Penrose pseudo-inverse by SVD.
pub fn pinv(a: ArrayView2<'_, f64>) -> Result<Array2<f64>, ndarray_linalg::error::LinalgError> {
    let (m, n) = a.dim();
    let (u, s, vt) = a.svddc(JobSvd::Some)?;
    let (u, vt) = (u.expect("U was asked for"), vt.expect("Vᵀ was asked for"));
    let s_max = s.iter().copied().fold(0.0, f64::max);
    let cutoff = m.max(n) as f64 * f64::EPSILON * s_max;
    // pinv = V diag(1/s) Uᵀ: scale the rows of Vᵀ, then (diag(1/s) Vᵀ)ᵀ Uᵀ.
    let mut scaled_vt = vt;
    for (mut row, &sv) in scaled_vt.rows_mut().into_iter().zip(s.iter()) {
        let inv = if sv > cutoff { 1.0 / sv } else { 0.0 };
        row.mapv_inplace(|v| v * inv);
    }
    Ok(scaled_vt.t().dot(&u.t()))
}

/// OpenBLAS runs single-threaded here: its threaded SVD may round
/// differently with the thread count, and the analyze stage must give the
/// same bits on every machine and under every scheduler.
pub fn single_threaded_blas() {
    extern "C" {
        fn openblas_set_num_threads(n: std::os::raw::c_int);
    }
    // SAFETY: a plain setter of OpenBLAS, which is linked (the system library, found by build.rs).
    unsafe { openblas_set_num_threads(1) };
}

/// One class's mean test image in one task: 784 mean pixel values (0-255)
/// and how many images were averaged.
pub type ClassMean = (Vec<f32>, usize);

/// The mean test image of every class in every task: `[task][class]`.
pub fn class_means(images: &[Vec<u8>], labels: &[u8]) -> Vec<Vec<ClassMean>> {
    images
        .par_iter()
        .map(|task_images| {
            let mut sums = vec![vec![0u64; PIXELS]; CLASSES];
            let mut counts = vec![0usize; CLASSES];
            for (image, &label) in task_images.chunks_exact(PIXELS).zip(labels) {
                counts[label as usize] += 1;
                for (s, &p) in sums[label as usize].iter_mut().zip(image) {
                    *s += p as u64;
                }
            }
            sums.into_iter()
                .zip(counts)
                .map(|(sum, count)| {
                    let mean = sum.iter().map(|&s| (s as f64 / count.max(1) as f64) as f32).collect();
                    (mean, count)
                })
                .collect()
        })
        .collect()
}

/// One reconstruction and its scores.
#[derive(Debug, Clone, PartialEq)]
pub struct Reconstruction {
    /// Task.
    pub task: usize,
    /// Class.
    pub class: usize,
    /// `pinv(W1) z`, 784 values.
    pub image: Vec<f32>,
    /// Correlation with the class's mean in its own task.
    pub own_correlation: f64,
    /// The task whose mean of this class correlates best.
    pub best_task: usize,
    /// The class whose mean in this task correlates best.
    pub best_class: usize,
    /// Fraction of other tasks whose mean of this class correlates less than the own task's.
    pub own_task_rank: f64,
}

/// Reconstructs every (task, class) from the model's decoder and
/// `contexts` with `pinv_w1` (`784 x H`), with the notebook's noise drawn
/// from `rng` when `noisy` (else `z = W2[k] ⊙ c_t` exactly), and scores
/// each against `means` (from [`class_means`]).
pub fn reconstruct(
    pinv_w1: &Array2<f64>,
    decoder: &[f32],
    contexts: &[Vec<f32>],
    means: &[Vec<ClassMean>],
    noisy: bool,
    rng: &mut impl rand::Rng,
) -> Vec<Reconstruction> {
    let h = pinv_w1.ncols();
    let t = contexts.len();
    let noise = Normal::new(0.0, 1.0 / h as f64).expect("positive std");
    // z for every (task, class), as the columns of an H x (T * 10) matrix,
    // drawn in (task, class, unit) order.
    let mut z = Array2::<f64>::zeros((h, t * CLASSES));
    for (task, context) in contexts.iter().enumerate() {
        for class in 0..CLASSES {
            let column = task * CLASSES + class;
            for unit in 0..h {
                let mean = decoder[class * h + unit] as f64 * context[unit] as f64;
                z[[unit, column]] = if noisy { mean + noise.sample(rng) } else { mean };
            }
        }
    }
    let x = pinv_w1.dot(&z); // 784 x (T * 10)
    let means64: Vec<Vec<Vec<f64>>> = means
        .iter()
        .map(|task| {
            task.iter()
                .map(|(m, _)| m.iter().map(|&v| v as f64).collect())
                .collect()
        })
        .collect();
    (0..t * CLASSES)
        .into_par_iter()
        .map(|column| {
            let (task, class) = (column / CLASSES, column % CLASSES);
            let image: Vec<f64> = x.column(column).to_vec();
            let by_task: Vec<f64> = (0..means64.len())
                .map(|other| stats::pearson(&image, &means64[other][class]))
                .collect();
            let by_class: Vec<f64> = (0..CLASSES)
                .map(|other| stats::pearson(&image, &means64[task][other]))
                .collect();
            let own = by_task[task];
            let others = by_task.iter().enumerate().filter(|&(o, _)| o != task);
            let below = others.clone().filter(|(_, &c)| c < own).count();
            Reconstruction {
                task,
                class,
                image: image.iter().map(|&v| v as f32).collect(),
                own_correlation: own,
                best_task: argmax(&by_task),
                best_class: argmax(&by_class),
                own_task_rank: if by_task.len() > 1 {
                    below as f64 / (by_task.len() - 1) as f64
                } else {
                    f64::NAN
                },
            }
        })
        .collect()
}

/// The per-seed scores of a set of reconstructions, named
/// `<prefix>.own_class_best`, `.own_task_best`, `.own_task_rank`,
/// `.own_correlation_mean`.
pub fn statistics(prefix: &str, reconstructions: &[Reconstruction]) -> Vec<(String, f64)> {
    let fraction = |f: &dyn Fn(&Reconstruction) -> bool| {
        reconstructions.iter().filter(|r| f(r)).count() as f64 / reconstructions.len().max(1) as f64
    };
    vec![
        (
            format!("{prefix}.own_class_best"),
            fraction(&|r| r.best_class == r.class),
        ),
        (format!("{prefix}.own_task_best"), fraction(&|r| r.best_task == r.task)),
        (
            format!("{prefix}.own_task_rank"),
            stats::mean(&reconstructions.iter().map(|r| r.own_task_rank).collect::<Vec<_>>()),
        ),
        (
            format!("{prefix}.own_correlation_mean"),
            stats::mean(&reconstructions.iter().map(|r| r.own_correlation).collect::<Vec<_>>()),
        ),
    ]
}

fn argmax(values: &[f64]) -> usize {
    (0..values.len())
        .max_by(|&a, &b| values[a].total_cmp(&values[b]).then(b.cmp(&a)))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;
    use proptest::prelude::*;
    use rand::SeedableRng;

    fn close(a: &Array2<f64>, b: &Array2<f64>, tol: f64) -> bool {
        a.dim() == b.dim()
            && a.iter()
                .zip(b.iter())
                .all(|(x, y)| (x - y).abs() <= tol * (1.0 + y.abs()))
    }

    fn matrix(rows: usize, cols: usize, rank: usize, values: &[f64]) -> Array2<f64> {
        // A (rows x rank) times B (rank x cols): rank at most `rank`.
        let a = Array2::from_shape_fn((rows, rank), |(i, j)| values[(i * 7 + j * 3) % values.len()]);
        let b = Array2::from_shape_fn((rank, cols), |(i, j)| values[(i * 5 + j * 11 + 1) % values.len()]);
        a.dot(&b)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]
        #[test]
        fn pinv_satisfies_the_four_moore_penrose_identities(
            rows in 1usize..9,
            cols in 1usize..9,
            rank in 1usize..9,
            values in proptest::collection::vec(-3f64..3.0, 16),
        ) {
            let a = matrix(rows, cols, rank.min(rows).min(cols), &values);
            let p = pinv(a.view()).unwrap();
            prop_assert_eq!(p.dim(), (cols, rows));
            let ap = a.dot(&p);
            let pa = p.dot(&a);
            prop_assert!(close(&ap.dot(&a), &a, 1e-8), "A A+ A != A");
            prop_assert!(close(&pa.dot(&p), &p, 1e-8), "A+ A A+ != A+");
            prop_assert!(close(&ap.t().to_owned(), &ap, 1e-8), "A A+ is not symmetric");
            prop_assert!(close(&pa.t().to_owned(), &pa, 1e-8), "A+ A is not symmetric");
        }
    }

    #[test]
    fn pinv_of_hand_computed_cases() {
        // diag(2, 0): pinv = diag(1/2, 0).
        let a = ndarray::arr2(&[[2.0, 0.0], [0.0, 0.0]]);
        assert!(close(
            &pinv(a.view()).unwrap(),
            &ndarray::arr2(&[[0.5, 0.0], [0.0, 0.0]]),
            1e-12
        ));
        // A column (1, 1): pinv = (1/2, 1/2).
        let a = ndarray::arr2(&[[1.0], [1.0]]);
        assert!(close(&pinv(a.view()).unwrap(), &ndarray::arr2(&[[0.5, 0.5]]), 1e-12));
    }

    #[test]
    fn class_means_of_two_images() {
        let mut a = vec![0u8; PIXELS];
        let mut b = vec![0u8; PIXELS];
        a[0] = 10;
        b[0] = 30;
        let images = vec![[a, b].concat()];
        let means = class_means(&images, &[3, 3]);
        assert_eq!(means[0][3].1, 2);
        assert_eq!(means[0][3].0[0], 20.0);
        assert_eq!(means[0][0].1, 0);
    }

    #[test]
    fn a_noise_free_exact_inverse_recovers_the_class_mean() {
        // With W1 = I (H = 784), z = W2[k] ⊙ c_t; pick W2 ⊙ c so that z is
        // the class mean itself: the reconstruction is that mean, correlation 1.
        let h = PIXELS;
        let identity = Array2::<f64>::eye(h);
        let p = pinv(identity.view()).unwrap();
        // Two tasks, each class's mean a distinct pattern.
        let pattern = |task: usize, class: usize| -> Vec<f32> {
            (0..h).map(|i| ((i * (class + 2) + task * 97) % 13) as f32).collect()
        };
        let means: Vec<Vec<ClassMean>> = (0..2)
            .map(|t| (0..CLASSES).map(|k| (pattern(t, k), 1)).collect())
            .collect();
        let context = vec![1.0f32; h];
        let mut decoder = Vec::new();
        for k in 0..CLASSES {
            decoder.extend(pattern(0, k));
        }
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
        let out = reconstruct(&p, &decoder, &[context.clone(), context], &means, true, &mut rng);
        assert_eq!(out.len(), 2 * CLASSES);
        for r in out.iter().filter(|r| r.task == 0) {
            assert!(r.own_correlation > 0.999, "{}", r.own_correlation);
            assert_eq!(r.best_class, r.class);
            assert_eq!(r.best_task, 0);
            assert_eq!(r.own_task_rank, 1.0);
        }
    }
}
