//! Small statistics, written out so each can be checked by hand: means and
//! Student-t intervals across seeds, ranks and rank correlations, the AUC
//! `P(X > Y)` as a Mann-Whitney count, and percentile bootstrap intervals.

use rand::Rng;

/// Arithmetic mean; NaN for an empty slice.
pub fn mean(values: &[f64]) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    values.iter().sum::<f64>() / values.len() as f64
}

/// Sample standard deviation (n - 1); NaN for fewer than two values.
pub fn sample_std(values: &[f64]) -> f64 {
    if values.len() < 2 {
        return f64::NAN;
    }
    let m = mean(values);
    (values.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / (values.len() - 1) as f64).sqrt()
}

/// Two-sided 97.5 % quantiles of Student's t for 1 to 30 degrees of freedom.
const T_975: [f64; 30] = [
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145, 2.131, 2.120,
    2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
];

/// The 97.5 % quantile of Student's t with `df` degrees of freedom (table
/// up to 30, then the Cornish-Fisher expansion around the normal 1.95996,
/// which is within 1e-4 of the exact value there).
pub fn t_quantile_975(df: usize) -> f64 {
    match df {
        0 => f64::NAN,
        1..=30 => T_975[df - 1],
        _ => {
            let z: f64 = 1.959_963_984_540_054;
            let n = df as f64;
            z + (z.powi(3) + z) / (4.0 * n) + (5.0 * z.powi(5) + 16.0 * z.powi(3) + 3.0 * z) / (96.0 * n * n)
        }
    }
}

/// Mean with a 95 % Student-t interval: `mean ± t(n-1) s / sqrt(n)`. With
/// one value the interval is NaN (unknown), never zero-width; with all
/// values equal it is that value.
pub fn t_interval(values: &[f64]) -> (f64, f64, f64) {
    let m = mean(values);
    if values.len() < 2 || values.iter().any(|v| !v.is_finite()) {
        return (m, f64::NAN, f64::NAN);
    }
    let half = t_quantile_975(values.len() - 1) * sample_std(values) / (values.len() as f64).sqrt();
    (m, m - half, m + half)
}

/// Ranks from 1, ties given their average rank (as scipy's `rankdata`).
pub fn ranks(values: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&a, &b| values[a].total_cmp(&values[b]));
    let mut ranks = vec![0.0; values.len()];
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && values[order[j + 1]] == values[order[i]] {
            j += 1;
        }
        let average = (i + j) as f64 / 2.0 + 1.0;
        for &k in &order[i..=j] {
            ranks[k] = average;
        }
        i = j + 1;
    }
    ranks
}

/// Pearson's correlation; NaN when either side is constant.
pub fn pearson(x: &[f64], y: &[f64]) -> f64 {
    assert_eq!(x.len(), y.len(), "pearson: lengths differ");
    let (mx, my) = (mean(x), mean(y));
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (a, b) in x.iter().zip(y) {
        sxy += (a - mx) * (b - my);
        sxx += (a - mx) * (a - mx);
        syy += (b - my) * (b - my);
    }
    if sxx == 0.0 || syy == 0.0 {
        return f64::NAN;
    }
    (sxy / (sxx * syy).sqrt()).clamp(-1.0, 1.0)
}

/// Spearman's rank correlation: Pearson's on the (tie-averaged) ranks.
pub fn spearman(x: &[f64], y: &[f64]) -> f64 {
    pearson(&ranks(x), &ranks(y))
}

/// `P(X > Y) + P(X = Y) / 2` over all pairs of `x` and `y` (the AUC, the
/// Mann-Whitney U divided by `|x| |y|`), in `O(n log n)` by sorting.
pub fn auc(x: &[f64], y: &[f64]) -> f64 {
    if x.is_empty() || y.is_empty() {
        return f64::NAN;
    }
    let mut all: Vec<f64> = x.iter().chain(y).copied().collect();
    let r = ranks(&all);
    all.clear();
    let rank_sum_x: f64 = r[..x.len()].iter().sum();
    let nx = x.len() as f64;
    (rank_sum_x - nx * (nx + 1.0) / 2.0) / (nx * y.len() as f64)
}

/// A percentile bootstrap 95 % interval of `statistic(x, y)`, resampling
/// `x` and `y` independently with replacement `resamples` times.
pub fn bootstrap_two_sample(
    x: &[f64],
    y: &[f64],
    resamples: usize,
    rng: &mut impl Rng,
    statistic: impl Fn(&[f64], &[f64]) -> f64,
) -> (f64, f64) {
    if x.is_empty() || y.is_empty() || resamples == 0 {
        return (f64::NAN, f64::NAN);
    }
    let (mut bx, mut by) = (vec![0.0; x.len()], vec![0.0; y.len()]);
    let mut stats: Vec<f64> = (0..resamples)
        .map(|_| {
            for v in bx.iter_mut() {
                *v = x[rng.random_range(0..x.len())];
            }
            for v in by.iter_mut() {
                *v = y[rng.random_range(0..y.len())];
            }
            statistic(&bx, &by)
        })
        .collect();
    stats.sort_by(f64::total_cmp);
    (percentile(&stats, 0.025), percentile(&stats, 0.975))
}

/// The `q` quantile of sorted `values`, linear interpolation (numpy's default).
pub fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let pos = q * (sorted.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rand::{Rng, SeedableRng};

    #[test]
    fn t_interval_of_a_hand_computed_case() {
        // 1, 2, 3: mean 2, s = 1, t(2) = 4.303, half-width 4.303 / sqrt(3).
        let (m, lo, hi) = t_interval(&[1.0, 2.0, 3.0]);
        let half = 4.303 / 3f64.sqrt();
        assert_eq!(m, 2.0);
        assert!((lo - (2.0 - half)).abs() < 1e-12 && (hi - (2.0 + half)).abs() < 1e-12);
        let (m, lo, hi) = t_interval(&[0.7]);
        assert_eq!(m, 0.7);
        assert!(lo.is_nan() && hi.is_nan());
        assert_eq!(t_interval(&[0.5, 0.5, 0.5]), (0.5, 0.5, 0.5));
    }

    #[test]
    fn t_quantiles_continue_smoothly_past_the_table() {
        // Exact values (scipy.stats.t.ppf(0.975, df)): df 40: 2.021075, df 120: 1.979930.
        assert!((t_quantile_975(40) - 2.021075).abs() < 2e-4);
        assert!((t_quantile_975(120) - 1.979930).abs() < 1e-4);
        assert!(t_quantile_975(31) < t_quantile_975(30));
    }

    #[test]
    fn ranks_average_ties_like_scipy() {
        // scipy.stats.rankdata([10, 20, 10, 30]) = [1.5, 3, 1.5, 4]
        assert_eq!(ranks(&[10.0, 20.0, 10.0, 30.0]), vec![1.5, 3.0, 1.5, 4.0]);
    }

    #[test]
    fn spearman_and_pearson_of_hand_computed_cases() {
        let x = [1.0, 2.0, 3.0, 4.0];
        assert!((spearman(&x, &[1.0, 4.0, 9.0, 16.0]) - 1.0).abs() < 1e-12);
        assert!((spearman(&x, &[4.0, 3.0, 2.0, 1.0]) + 1.0).abs() < 1e-12);
        // Pearson of (1,2,3) with (1,3,2): cov 0.5 / (1 * 1) = 0.5.
        assert!((pearson(&[1.0, 2.0, 3.0], &[1.0, 3.0, 2.0]) - 0.5).abs() < 1e-12);
        assert!(pearson(&[1.0, 1.0], &[1.0, 2.0]).is_nan());
    }

    #[test]
    fn auc_equals_a_brute_force_count() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        for _ in 0..20 {
            // Values on a coarse grid, so ties happen.
            let x: Vec<f64> = (0..rng.random_range(1..40))
                .map(|_| rng.random_range(0..10) as f64)
                .collect();
            let y: Vec<f64> = (0..rng.random_range(1..40))
                .map(|_| rng.random_range(0..10) as f64)
                .collect();
            let mut count = 0.0;
            for a in &x {
                for b in &y {
                    count += if a > b {
                        1.0
                    } else if a == b {
                        0.5
                    } else {
                        0.0
                    };
                }
            }
            let brute = count / (x.len() * y.len()) as f64;
            assert!((auc(&x, &y) - brute).abs() < 1e-12, "{} vs {brute}", auc(&x, &y));
        }
    }

    #[test]
    fn bootstrap_interval_covers_the_difference_of_means() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(2);
        let x: Vec<f64> = (0..500).map(|i| (i % 7) as f64).collect();
        let y: Vec<f64> = (0..400).map(|i| (i % 5) as f64).collect();
        let diff = |a: &[f64], b: &[f64]| mean(a) - mean(b);
        let (lo, hi) = bootstrap_two_sample(&x, &y, 400, &mut rng, diff);
        let d = diff(&x, &y);
        assert!(lo < d && d < hi, "{lo} {d} {hi}");
        // About 1.96 standard errors each side: sd ~2.0 and ~1.41.
        let se = (2.0f64.powi(2) / 500.0 + 2.0 / 400.0).sqrt();
        assert!((hi - lo) > 2.0 * se && (hi - lo) < 6.0 * se, "{lo} {hi} {se}");
    }

    proptest! {
        #[test]
        fn correlations_are_bounded_and_symmetric(
            x in proptest::collection::vec(-10f64..10.0, 3..20),
            seed in 0u64..1000,
        ) {
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
            let y: Vec<f64> = x.iter().map(|_| rng.random_range(-5.0..5.0)).collect();
            for r in [pearson(&x, &y), spearman(&x, &y)] {
                prop_assume!(!r.is_nan());
                prop_assert!((-1.0..=1.0).contains(&r));
            }
            prop_assert!((spearman(&x, &y) - spearman(&y, &x)).abs() < 1e-12);
        }
    }
}
