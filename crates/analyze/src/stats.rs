//! Small statistics, written out so each can be checked by hand: means and
//! Student-t intervals across seeds, the expanded percentile bootstrap over
//! seeds for statistics with a bounded range, two one-sided tests (TOST) for
//! equivalence, ranks and rank correlations (also between angles), the AUC
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

/// One-sided 95 % quantiles of Student's t for 1 to 30 degrees of freedom
/// (`scipy.stats.t.ppf(0.95, df)`), for the two one-sided tests.
const T_95: [f64; 30] = [
    6.314, 2.920, 2.353, 2.132, 2.015, 1.943, 1.895, 1.860, 1.833, 1.812, 1.796, 1.782, 1.771, 1.761, 1.753, 1.746,
    1.740, 1.734, 1.729, 1.725, 1.721, 1.717, 1.714, 1.711, 1.708, 1.706, 1.703, 1.701, 1.699, 1.697,
];

/// The 95 % quantile of Student's t with `df` degrees of freedom (table up
/// to 30, then the Cornish-Fisher expansion around the normal 1.64485).
pub fn t_quantile_95(df: usize) -> f64 {
    match df {
        0 => f64::NAN,
        1..=30 => T_95[df - 1],
        _ => {
            let z: f64 = 1.644_853_626_951_472_2;
            let n = df as f64;
            z + (z.powi(3) + z) / (4.0 * n) + (5.0 * z.powi(5) + 16.0 * z.powi(3) + 3.0 * z) / (96.0 * n * n)
        }
    }
}

/// The range a statistic can take, which decides how its interval across
/// seeds is computed ([`interval`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Range {
    /// Any real number (margins, heights): Student t.
    Unbounded,
    /// Within `[low, high]` (fractions, AUC, accuracies, correlations,
    /// cosines, and differences of those): the expanded percentile
    /// bootstrap over seeds, which cannot leave the range.
    Bounded(f64, f64),
}

impl Range {
    /// Fractions, AUC and accuracies as fractions.
    pub const FRACTION: Range = Range::Bounded(0.0, 1.0);
    /// Correlations and cosines.
    pub const CORRELATION: Range = Range::Bounded(-1.0, 1.0);
    /// Accuracies in percent.
    pub const PERCENT: Range = Range::Bounded(0.0, 100.0);

    /// The range of `a - b` for `a` and `b` in this range.
    pub fn difference(self) -> Range {
        match self {
            Range::Unbounded => Range::Unbounded,
            Range::Bounded(lo, hi) => Range::Bounded(lo - hi, hi - lo),
        }
    }

    /// How the interval of a statistic with this range is computed, in words.
    pub fn method(self) -> &'static str {
        match self {
            Range::Unbounded => "Student t across seeds",
            Range::Bounded(..) => "expanded percentile bootstrap over seeds",
        }
    }
}

/// Mean and 95 % interval across seeds of a statistic with `range`:
/// [`t_interval`] when unbounded, [`bootstrap_interval`] when bounded. NaN
/// interval with fewer than two seeds or a non-finite value.
pub fn interval(values: &[f64], range: Range) -> (f64, f64, f64) {
    match range {
        Range::Unbounded => t_interval(values),
        Range::Bounded(..) => {
            let m = mean(values);
            if values.len() < 2 || values.iter().any(|v| !v.is_finite()) {
                return (m, f64::NAN, f64::NAN);
            }
            let (lo, hi) = bootstrap_interval(values);
            (m, lo, hi)
        }
    }
}

/// The standard normal distribution function, from `erfc` (absolute error
/// below 1.2e-7: Numerical Recipes' Chebyshev fit).
pub fn normal_cdf(x: f64) -> f64 {
    let z = x.abs() / std::f64::consts::SQRT_2;
    let t = 1.0 / (1.0 + 0.5 * z);
    let poly = -z * z - 1.265_512_23
        + t * (1.000_023_68
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07
                            + t * (-1.135_203_98 + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    let erfc = t * poly.exp();
    if x >= 0.0 {
        1.0 - 0.5 * erfc
    } else {
        0.5 * erfc
    }
}

/// The 95 % expanded percentile bootstrap interval of the mean of `values`
/// (Hesterberg 2015, "What teachers should know about the bootstrap", §5):
/// the percentiles `a` and `1 - a` of the bootstrap distribution of the mean,
/// with `a = Φ(-sqrt(n / (n - 1)) t(0.975, n - 1))` instead of 0.025, which
/// widens the plain percentile interval to Student t's width for small `n`.
/// Every resampled mean lies between the smallest and the largest value, so
/// the interval never leaves the statistic's range. The bootstrap
/// distribution is exact (every multiset of `n` draws with its multinomial
/// probability) up to 9 values, else 20,000 resamples from a fixed stream.
pub fn bootstrap_interval(values: &[f64]) -> (f64, f64) {
    let n = values.len();
    if n < 2 || values.iter().any(|v| !v.is_finite()) {
        return (f64::NAN, f64::NAN);
    }
    let a = normal_cdf(-((n as f64) / (n as f64 - 1.0)).sqrt() * t_quantile_975(n - 1));
    let mut dist = bootstrap_means(values);
    dist.sort_by(|x, y| x.0.total_cmp(&y.0));
    let total: f64 = dist.iter().map(|d| d.1).sum();
    // Lowest mean with P(M <= m) >= a; highest with P(M >= m) >= a.
    let mut cumulative = 0.0;
    let mut low = dist[dist.len() - 1].0;
    for &(m, p) in &dist {
        cumulative += p / total;
        if cumulative >= a {
            low = m;
            break;
        }
    }
    let mut cumulative = 0.0;
    let mut high = dist[0].0;
    for &(m, p) in dist.iter().rev() {
        cumulative += p / total;
        if cumulative >= a {
            high = m;
            break;
        }
    }
    // A mean of copies of one value can round a unit past it.
    let min = values.iter().copied().fold(f64::INFINITY, f64::min);
    let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    (low.clamp(min, max), high.clamp(min, max))
}

/// The bootstrap distribution of the mean: `(mean, probability)` pairs.
fn bootstrap_means(values: &[f64]) -> Vec<(f64, f64)> {
    let n = values.len();
    if n <= 9 {
        // Every composition k_1 + ... + k_n = n, probability n! / (prod k_i! n^n).
        let factorial = |k: usize| (1..=k).map(|v| v as f64).product::<f64>();
        let norm = factorial(n) / (n as f64).powi(n as i32);
        let mut out = Vec::new();
        let mut counts = vec![0usize; n];
        fn walk(
            i: usize,
            left: usize,
            counts: &mut Vec<usize>,
            values: &[f64],
            norm: f64,
            factorial: &dyn Fn(usize) -> f64,
            out: &mut Vec<(f64, f64)>,
        ) {
            let n = values.len();
            if i == n - 1 {
                counts[i] = left;
                let sum: f64 = counts.iter().zip(values).map(|(&k, &v)| k as f64 * v).sum();
                let weight = norm / counts.iter().map(|&k| factorial(k)).product::<f64>();
                out.push((sum / n as f64, weight));
                return;
            }
            for k in 0..=left {
                counts[i] = k;
                walk(i + 1, left - k, counts, values, norm, factorial, out);
            }
        }
        walk(0, n, &mut counts, values, norm, &factorial, &mut out);
        out
    } else {
        use rand::SeedableRng;
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0x5eed_b007);
        (0..20_000)
            .map(|_| {
                let sum: f64 = (0..n).map(|_| values[rng.random_range(0..n)]).sum();
                (sum / n as f64, 1.0)
            })
            .collect()
    }
}

/// The result of two one-sided tests (TOST) at 5 % each: is a difference
/// within `±margin`? Equivalent to the 90 % interval lying inside the margin.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Equivalence {
    /// The estimated difference.
    pub difference: f64,
    /// Its 90 % Student-t interval (the TOST at 95 %).
    pub low: f64,
    /// Its 90 % Student-t interval.
    pub high: f64,
    /// Degrees of freedom used (Welch's, rounded down, for two samples).
    pub df: usize,
    /// `(difference + margin) / se`: the test against `-margin` rejects above `t(0.95, df)`.
    pub t_lower: f64,
    /// `(difference - margin) / se`: the test against `+margin` rejects below `-t(0.95, df)`.
    pub t_upper: f64,
    /// Both one-sided tests reject: the difference lies within the margin.
    pub equivalent: bool,
    /// The whole 90 % interval lies beyond the margin on one side: the
    /// difference is shown to exceed the margin (one-sided test at 5 %).
    pub outside: bool,
}

fn equivalence(difference: f64, se: f64, df: usize, margin: f64) -> Equivalence {
    let q = t_quantile_95(df);
    let (low, high) = (difference - q * se, difference + q * se);
    let finite = low.is_finite() && high.is_finite() && df > 0;
    Equivalence {
        difference,
        low,
        high,
        df,
        t_lower: (difference + margin) / se,
        t_upper: (difference - margin) / se,
        equivalent: finite && low > -margin && high < margin,
        outside: finite && (low > margin || high < -margin),
    }
}

/// TOST of `mean(values) - reference` within `±margin`, Student t with
/// `n - 1` degrees of freedom.
pub fn tost_one_sample(values: &[f64], reference: f64, margin: f64) -> Equivalence {
    let n = values.len();
    let se = sample_std(values) / (n as f64).sqrt();
    equivalence(mean(values) - reference, se, n.saturating_sub(1), margin)
}

/// TOST of `mean(x) - mean(y)` within `±margin` for independent samples:
/// Welch's standard error and Welch-Satterthwaite degrees of freedom,
/// rounded down (conservative, so the t table serves).
pub fn tost_welch(x: &[f64], y: &[f64], margin: f64) -> Equivalence {
    let (nx, ny) = (x.len() as f64, y.len() as f64);
    let (vx, vy) = (sample_std(x).powi(2) / nx, sample_std(y).powi(2) / ny);
    let se = (vx + vy).sqrt();
    let df = if vx + vy > 0.0 {
        ((vx + vy).powi(2) / (vx * vx / (nx - 1.0) + vy * vy / (ny - 1.0))).floor() as usize
    } else {
        (nx + ny - 2.0).max(0.0) as usize
    };
    equivalence(mean(x) - mean(y), se, df, margin)
}

/// Fisher and Lee's (1982) rank correlation between two sets of angles
/// (radians): each set is replaced by its uniform scores `2π rank / n`
/// (ranks of the angles taken in `[0, 2π)`), and
/// `Π = (|Σ e^{i(γ - δ)}|² - |Σ e^{i(γ + δ)}|²) / n²`: +1 when one set is the
/// other rotated, -1 when reflected, near 0 without association.
pub fn circular_rank_correlation(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len(), "circular_rank_correlation: lengths differ");
    let n = a.len();
    if n < 2 {
        return f64::NAN;
    }
    let tau = std::f64::consts::TAU;
    let scores = |v: &[f64]| -> Vec<f64> {
        ranks(&v.iter().map(|x| x.rem_euclid(tau)).collect::<Vec<_>>())
            .into_iter()
            .map(|r| tau * r / n as f64)
            .collect()
    };
    let (g, d) = (scores(a), scores(b));
    let (mut cm, mut sm, mut cp, mut sp) = (0.0, 0.0, 0.0, 0.0);
    for (x, y) in g.iter().zip(&d) {
        cm += (x - y).cos();
        sm += (x - y).sin();
        cp += (x + y).cos();
        sp += (x + y).sin();
    }
    (cm * cm + sm * sm - cp * cp - sp * sp) / (n * n) as f64
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
    fn one_sided_t_quantiles_and_the_normal_cdf_match_scipy() {
        // scipy.stats.t.ppf(0.95, 40) = 1.683851, t.ppf(0.95, 120) = 1.657651.
        assert!((t_quantile_95(40) - 1.683851).abs() < 2e-4);
        assert!((t_quantile_95(120) - 1.657651).abs() < 1e-4);
        // scipy.stats.norm.cdf(1.0), norm.cdf(-2.5), norm.cdf(-3.1).
        assert!((normal_cdf(1.0) - 0.8413447460685429).abs() < 2e-7);
        assert!((normal_cdf(-2.5) - 0.006209665325776132).abs() < 2e-7);
        assert!((normal_cdf(-3.1) - 0.0009676032132183563).abs() < 2e-7);
    }

    #[test]
    fn tost_of_hand_computed_cases() {
        // 94.3, 94.5, 94.6, 94.4, 94.7 against 94.40 ± 0.3: mean 94.5, s² = 0.10 / 4,
        // se = sqrt(0.025 / 5) = 0.0707107, t(0.95, 4) = 2.132:
        // 90 % interval of the difference 0.1 ± 0.150755 = [-0.050755, 0.250755].
        let values = [94.3, 94.5, 94.6, 94.4, 94.7];
        let e = tost_one_sample(&values, 94.40, 0.3);
        assert!((e.difference - 0.1).abs() < 1e-9);
        assert_eq!(e.df, 4);
        assert!(
            (e.low + 0.050755).abs() < 1e-6 && (e.high - 0.250755).abs() < 1e-6,
            "{e:?}"
        );
        // t against -0.3: 0.4 / 0.0707107 = 5.65685; against +0.3: -0.2 / 0.0707107 = -2.82843.
        assert!((e.t_lower - 5.656854).abs() < 1e-5 && (e.t_upper + 2.828427).abs() < 1e-5);
        assert!(e.equivalent && !e.outside);
        // A margin of 0.2 holds the lower end, not the upper: neither shown.
        let e = tost_one_sample(&values, 94.40, 0.2);
        assert!(!e.equivalent && !e.outside);
        // Against 95.0 ± 0.3 the whole interval [-0.550755, -0.349245] is below -0.3.
        let e = tost_one_sample(&values, 95.0, 0.3);
        assert!(!e.equivalent && e.outside, "{e:?}");
        // Welch: x = 1, 2, 3 (var 1), y = 2, 4 (var 2): se² = 1/3 + 1 = 4/3,
        // df = (4/3)² / ((1/3)² / 2 + 1² / 1) = 32/19 = 1.68 -> 1, t(0.95, 1) = 6.314:
        // -1 ± 6.314 sqrt(4/3) = [-8.290779, 6.290779].
        let e = tost_welch(&[1.0, 2.0, 3.0], &[2.0, 4.0], 0.5);
        assert_eq!(e.df, 1);
        assert!((e.difference + 1.0).abs() < 1e-12);
        assert!(
            (e.low + 8.290779).abs() < 1e-5 && (e.high - 6.290779).abs() < 1e-5,
            "{e:?}"
        );
        assert!(!e.equivalent && !e.outside);
        // Identical constant samples: a zero-width interval at 0, equivalent.
        let e = tost_welch(&[0.5, 0.5], &[0.5, 0.5, 0.5], 0.05);
        assert!(e.equivalent && e.low == 0.0 && e.high == 0.0);
    }

    #[test]
    fn bootstrap_interval_of_hand_computed_cases() {
        // Two values: the resampled means are 0, 1/2, 1 with probabilities
        // 1/4, 1/2, 1/4, and a is tiny: the interval is [0, 1].
        assert_eq!(bootstrap_interval(&[0.0, 1.0]), (0.0, 1.0));
        // 0, 0, 0, 0, 1: the mean is K/5 with K ~ Binomial(5, 1/5);
        // a = Φ(-sqrt(5/4) 2.776) = 0.000956 (scipy); P(K = 0) = 0.328 >= a,
        // P(K = 5) = 0.00032 < a <= P(K >= 4) = 0.00672: the interval is [0, 0.8].
        let (lo, hi) = bootstrap_interval(&[0.0, 0.0, 0.0, 0.0, 1.0]);
        assert_eq!(lo, 0.0);
        assert!((hi - 0.8).abs() < 1e-12, "{hi}");
        // All equal: that value. Bounded statistics stay in range.
        assert_eq!(interval(&[1.0, 1.0, 1.0], Range::FRACTION), (1.0, 1.0, 1.0));
        let (m, lo, hi) = interval(&[0.9, 1.0, 0.97, 1.0, 1.0], Range::FRACTION);
        assert!(lo >= 0.9 && hi <= 1.0 && lo <= m && m <= hi, "{lo} {m} {hi}");
        assert!(interval(&[0.5], Range::FRACTION).1.is_nan());
        // Unbounded statistics keep Student t.
        assert_eq!(
            interval(&[1.0, 2.0, 3.0], Range::Unbounded),
            t_interval(&[1.0, 2.0, 3.0])
        );
    }

    #[test]
    fn circular_rank_correlation_matches_numpy() {
        // From numpy/scipy (Fisher & Lee's Π with scipy.stats.rankdata on the
        // angles mod 2π, uniform scores 2π rank / n):
        //   a = [0.1, 1.3, 2.0, 2.9, 4.4, 5.0, 0.7, 3.6]
        //   b = [0.3, 1.0, 2.5, 2.2, 4.0, 5.9, 0.2, 3.3]
        //   Π(a, b) = 0.7178300858899106, Π(a, -b) = -0.7178300858899106, Π(a, a + 2) = 1.0
        let a = [0.1, 1.3, 2.0, 2.9, 4.4, 5.0, 0.7, 3.6];
        let b = [0.3, 1.0, 2.5, 2.2, 4.0, 5.9, 0.2, 3.3];
        assert!((circular_rank_correlation(&a, &b) - 0.7178300858899106).abs() < 1e-12);
        let minus_b: Vec<f64> = b.iter().map(|v| -v).collect();
        assert!((circular_rank_correlation(&a, &minus_b) + 0.7178300858899106).abs() < 1e-12);
        let rotated: Vec<f64> = a.iter().map(|v| v + 2.0).collect();
        assert!((circular_rank_correlation(&a, &rotated) - 1.0).abs() < 1e-12);
        //   c = [0.2, 0.4, 1.1, 1.9, 1.7, 2.8, 3.3, 3.9, 4.6, 4.4, 5.6, 6.1],
        //   t = 2π k / 12: Π(c, t) = 0.9111821912016015
        let c = [0.2, 0.4, 1.1, 1.9, 1.7, 2.8, 3.3, 3.9, 4.6, 4.4, 5.6, 6.1];
        let t: Vec<f64> = (0..12).map(|k| std::f64::consts::TAU * k as f64 / 12.0).collect();
        assert!((circular_rank_correlation(&c, &t) - 0.9111821912016015).abs() < 1e-12);
    }

    proptest! {
        #[test]
        fn bootstrap_intervals_stay_within_the_values(
            values in proptest::collection::vec(0f64..1.0, 2..14),
        ) {
            let (lo, hi) = bootstrap_interval(&values);
            let min = values.iter().copied().fold(f64::INFINITY, f64::min);
            let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            prop_assert!(min <= lo && lo <= hi && hi <= max, "{lo} {hi} {values:?}");
        }
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
