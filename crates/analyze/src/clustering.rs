//! Hierarchical clustering of the context vectors (Fig. 7), for every family.
//!
//! The distance is scipy's cosine distance `1 - cos(c_i, c_j)`; the linkage
//! is average by default (the paper does not name one). kodama builds the
//! merge tree ([`Dendrogram`]): merges in ascending height, new clusters
//! numbered `n, n+1, ...` and the smaller label first, exactly scipy's
//! `linkage` convention, so [`leaf_order`] is scipy's `leaves_list`.
//! linfa-hierarchical gives the flat cluster labels at a cut of `k`
//! clusters ([`linfa_labels`]); since it turns a similarity kernel `K` into
//! the distance `-ln K`, it is given `K = exp(cos - 1)`, whose `-ln` is the
//! same cosine distance, and a test checks its labels against the tree's.

use crate::stats;
use linfa::traits::Transformer;
use linfa_hierarchical::HierarchicalCluster;
use linfa_kernel::{Kernel, KernelInner, KernelMethod};
use ndarray::Array2;
use tgsh_common::config::Linkage;

/// One merge of the tree: clusters `left < right` joined at `height`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Merge {
    /// The smaller cluster label (leaves are `0..n`, merge `s` creates `n + s`).
    pub left: usize,
    /// The larger cluster label.
    pub right: usize,
    /// The linkage distance at which they merge.
    pub height: f64,
    /// Leaves in the new cluster.
    pub size: usize,
}

/// A merge tree over `n` leaves: `n - 1` merges in ascending height.
#[derive(Debug, Clone, PartialEq)]
pub struct Dendrogram {
    /// Leaves.
    pub n: usize,
    /// The merges, in order.
    pub merges: Vec<Merge>,
}

fn method(linkage: Linkage) -> kodama::Method {
    match linkage {
        Linkage::Single => kodama::Method::Single,
        Linkage::Complete => kodama::Method::Complete,
        Linkage::Average => kodama::Method::Average,
        Linkage::Weighted => kodama::Method::Weighted,
        Linkage::Ward => kodama::Method::Ward,
    }
}

/// The condensed cosine distances `1 - S_ij`, `i < j`, row by row (scipy's order).
pub fn condensed_cosine_distance(similarity: &[f64], n: usize) -> Vec<f64> {
    (0..n)
        .flat_map(|i| (i + 1..n).map(move |j| (1.0 - similarity[i * n + j]).max(0.0)))
        .collect()
}

/// The merge tree of `n` items from their condensed distances.
pub fn dendrogram(condensed: &[f64], n: usize, linkage: Linkage) -> Dendrogram {
    let mut scratch = condensed.to_vec();
    let tree = kodama::linkage(&mut scratch, n, method(linkage));
    Dendrogram {
        n,
        merges: tree
            .steps()
            .iter()
            .map(|s| Merge {
                left: s.cluster1.min(s.cluster2),
                right: s.cluster1.max(s.cluster2),
                height: s.dissimilarity,
                size: s.size,
            })
            .collect(),
    }
}

impl Dendrogram {
    fn members(&self, cluster: usize, out: &mut Vec<usize>) {
        if cluster < self.n {
            out.push(cluster);
        } else {
            let m = self.merges[cluster - self.n];
            self.members(m.left, out);
            self.members(m.right, out);
        }
    }

    /// The leaves left to right as the dendrogram draws them (scipy's `leaves_list`).
    pub fn leaf_order(&self) -> Vec<usize> {
        let mut out = Vec::with_capacity(self.n);
        if self.n == 1 {
            out.push(0);
        } else if self.n > 1 {
            self.members(2 * self.n - 2, &mut out);
        }
        out
    }

    /// The cophenetic distances, condensed: the height of the merge that
    /// first joins `i` and `j` (scipy's `cophenet`).
    pub fn cophenetic(&self) -> Vec<f64> {
        let n = self.n;
        let mut out = vec![0.0; n * (n.max(1) - 1) / 2];
        let index = |i: usize, j: usize| n * i - i * (i + 1) / 2 + (j - i - 1);
        for m in &self.merges {
            let (mut a, mut b) = (Vec::new(), Vec::new());
            self.members(m.left, &mut a);
            self.members(m.right, &mut b);
            for &i in &a {
                for &j in &b {
                    out[index(i.min(j), i.max(j))] = m.height;
                }
            }
        }
        out
    }

    /// Flat labels after the first `n - k` merges (a cut into `k` clusters),
    /// numbered by first appearance in task order.
    pub fn cut(&self, k: usize) -> Vec<usize> {
        let mut labels: Vec<usize> = (0..self.n).collect();
        for m in self.merges.iter().take(self.n.saturating_sub(k)) {
            let (mut a, mut b) = (Vec::new(), Vec::new());
            self.members(m.left, &mut a);
            self.members(m.right, &mut b);
            let target = labels[a[0]];
            for &j in &b {
                let old = labels[j];
                for l in labels.iter_mut() {
                    if *l == old {
                        *l = target;
                    }
                }
            }
        }
        canonical(&labels)
    }

    /// How far below the cut into `k` clusters the tasks of `group` are all
    /// joined: the height of the merge that takes `k` clusters to `k - 1`,
    /// minus the height at which the group becomes one cluster. Positive:
    /// the group is one cluster at the `k` cut; negative: it is split.
    pub fn group_margin(&self, group: &[usize], k: usize) -> f64 {
        let n = self.n;
        if group.len() < 2 || k < 2 || k > n {
            return f64::NAN;
        }
        let coph = self.cophenetic();
        let index = |i: usize, j: usize| n * i - i * (i + 1) / 2 + (j - i - 1);
        let mut joined = f64::NEG_INFINITY;
        for (a, &i) in group.iter().enumerate() {
            for &j in &group[a + 1..] {
                if i != j {
                    joined = joined.max(coph[index(i.min(j), i.max(j))]);
                }
            }
        }
        self.merges[n - k].height - joined
    }
}

impl Dendrogram {
    /// Whether `group` is a cluster of the tree, as a margin: the lowest
    /// height at which a member joins a task outside the group, minus the
    /// height at which the whole group is joined (both from the cophenetic
    /// distances). Positive: the group forms one cluster before any member
    /// joins another task; zero or negative: it does not. NaN for a group
    /// of fewer than two tasks or with nothing outside it.
    pub fn clade_margin(&self, group: &[usize]) -> f64 {
        let n = self.n;
        if group.len() < 2 || group.len() >= n {
            return f64::NAN;
        }
        let coph = self.cophenetic();
        let at = |i: usize, j: usize| coph[n * i.min(j) - i.min(j) * (i.min(j) + 1) / 2 + (i.max(j) - i.min(j) - 1)];
        let mut joined = f64::NEG_INFINITY;
        let mut leaves = f64::INFINITY;
        for (a, &i) in group.iter().enumerate() {
            for &j in &group[a + 1..] {
                if i != j {
                    joined = joined.max(at(i, j));
                }
            }
            for j in (0..n).filter(|j| !group.contains(j)) {
                leaves = leaves.min(at(i, j));
            }
        }
        leaves - joined
    }
}

/// Relabels clusters `0, 1, ...` in order of first appearance.
pub fn canonical(labels: &[usize]) -> Vec<usize> {
    let mut seen: Vec<usize> = Vec::new();
    labels
        .iter()
        .map(|l| match seen.iter().position(|s| s == l) {
            Some(p) => p,
            None => {
                seen.push(*l);
                seen.len() - 1
            }
        })
        .collect()
}

/// Pearson's correlation between the original and the cophenetic distances
/// (scipy's `cophenet(Z, Y)[0]`).
pub fn cophenetic_correlation(condensed: &[f64], tree: &Dendrogram) -> f64 {
    stats::pearson(condensed, &tree.cophenetic())
}

/// Flat cluster labels from linfa-hierarchical at a cut of `k` clusters,
/// on the cosine distance (see the module docs), numbered by first appearance.
pub fn linfa_labels(similarity: &[f64], n: usize, k: usize, linkage: Linkage) -> Vec<usize> {
    let kernel = Array2::from_shape_fn((n, n), |(i, j)| (similarity[i * n + j] - 1.0).exp());
    let kernel = Kernel {
        inner: KernelInner::Dense(kernel),
        method: KernelMethod::Linear,
    };
    let params = HierarchicalCluster::default()
        .with_method(method(linkage))
        .num_clusters(k);
    let valid = linfa::ParamGuard::check(params).expect("k >= 1 is validated with the config");
    let clustered = valid.transform(kernel);
    canonical(&clustered.targets)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Five points on a line at 0, 1, 3, 7, 8.5 (distance = |a - b|).
    fn five_points() -> Vec<f64> {
        let x = [0.0f64, 1.0, 3.0, 7.0, 8.5];
        (0..5)
            .flat_map(|i| (i + 1..5).map(move |j| (x[i] - x[j]).abs()))
            .collect()
    }

    // Expected values from scipy 1.x on the same points:
    //   y = pdist([[0], [1], [3], [7], [8.5]]); Z = linkage(y, 'average')
    //   Z = [[0, 1, 1, 2], [3, 4, 1.5, 2], [2, 5, 2.5, 3], [6, 7, 6.41666667, 5]]
    //   leaves_list(Z) = [3, 4, 2, 0, 1]; cophenet(Z, y)[0] = 0.8915725749004956
    // By hand: {0,1} at 1; {3,4} at 1.5; {2}+{0,1} at (3+2)/2 = 2.5;
    // the root at (7+8.5+6+7.5+4+5.5)/6 = 38.5/6.
    const ROOT: f64 = 38.5 / 6.0;

    #[test]
    fn average_linkage_of_a_hand_worked_example() {
        let tree = dendrogram(&five_points(), 5, Linkage::Average);
        let heights: Vec<f64> = tree.merges.iter().map(|m| m.height).collect();
        assert_eq!(heights, vec![1.0, 1.5, 2.5, ROOT]);
        let pairs: Vec<(usize, usize)> = tree.merges.iter().map(|m| (m.left, m.right)).collect();
        assert_eq!(pairs, vec![(0, 1), (3, 4), (2, 5), (6, 7)]);
        assert_eq!(tree.merges.iter().map(|m| m.size).collect::<Vec<_>>(), vec![2, 2, 3, 5]);
        assert_eq!(tree.leaf_order(), vec![3, 4, 2, 0, 1]);
        assert_eq!(
            tree.cophenetic(),
            vec![1.0, 2.5, ROOT, ROOT, 2.5, ROOT, ROOT, ROOT, ROOT, 1.5]
        );
        // scipy's fcluster(Z, k, 'maxclust') gives [2 2 3 1 1] and [2 2 2 1 1]:
        // the same partitions, numbered here by first appearance.
        assert_eq!(tree.cut(3), vec![0, 0, 1, 2, 2]);
        assert_eq!(tree.cut(2), vec![0, 0, 0, 1, 1]);
    }

    #[test]
    fn cophenetic_correlation_matches_scipy() {
        let y = five_points();
        let tree = dendrogram(&y, 5, Linkage::Average);
        assert!((cophenetic_correlation(&y, &tree) - 0.8915725749004956).abs() < 1e-12);
    }

    #[test]
    fn group_margin_says_whether_a_group_survives_the_cut() {
        let tree = dendrogram(&five_points(), 5, Linkage::Average);
        // At 3 clusters the cut lies between 2.5 and the root (merge n-k = 2 has height 2.5).
        assert_eq!(tree.group_margin(&[0, 1], 3), 1.5); // joined at 1
        assert_eq!(tree.group_margin(&[0, 1, 2], 3), 0.0); // joined by the merge to 2 clusters
        assert_eq!(tree.group_margin(&[0, 1, 2], 2), ROOT - 2.5);
        assert_eq!(tree.group_margin(&[2, 3], 2), 0.0); // joined only at the root
        assert_eq!(tree.group_margin(&[2, 3], 3), 2.5 - ROOT);
    }

    #[test]
    fn linfa_labels_agree_with_the_tree_cut_on_cosine_distance() {
        // A similarity matrix from random vectors, so distances are cosine distances.
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(4);
        for n in [4usize, 8, 12] {
            let vectors: Vec<Vec<f32>> = (0..n)
                .map(|_| (0..16).map(|_| rng.random::<f32>() - 0.3).collect())
                .collect();
            let sim = crate::similarity::similarity_matrix(&vectors);
            let tree = dendrogram(&condensed_cosine_distance(&sim, n), n, Linkage::Average);
            for k in 1..=n {
                assert_eq!(linfa_labels(&sim, n, k, Linkage::Average), tree.cut(k), "n {n}, k {k}");
            }
        }
    }

    /// Eight vectors in 5 dimensions (rounded to 3 decimals), rows 3 and 5
    /// near row 0; their cosine similarities and the scipy values below.
    /// (Random draws: 0.318 is not 1/π.)
    #[allow(clippy::approx_constant)]
    const EIGHT: [[f64; 5]; 8] = [
        [0.001, 0.299, -0.274, -0.891, -0.455],
        [-0.992, 0.060, 1.340, -0.492, -0.620],
        [0.490, 0.357, 0.105, -0.930, -0.029],
        [0.034, 0.318, -0.642, -0.868, -0.047],
        [-0.618, 0.642, -0.226, -1.147, 0.345],
        [0.268, -0.121, -0.248, -0.689, -0.521],
        [-1.530, -0.478, -0.979, -0.809, 1.061],
        [-0.808, -0.033, 0.884, -0.584, -0.112],
    ];

    #[test]
    fn clade_margin_and_nearest_margin_match_scipy() {
        // numpy/scipy on EIGHT: cos = X Xᵀ / (|x_i| |x_j|); Z = linkage(squareform(1 - cos), 'average');
        // C = squareform(cophenet(Z)); Z's heights: 0.05220642012121079 ({1, 7}),
        // 0.1239579714569734 ({0, 3}), 0.2144750021766355 (+5), 0.28731732108061586 (+2), ...
        // clade margin = min C[group, outside] - max C[group, group]:
        //   {0, 3, 5}: 0.07284231890398035; {1, 7}: 0.8353673102449684;
        //   {0, 3, 4, 5}: -0.37326186761794494 (2 joins before 4).
        // nearest margin = min S[0, members] - max S[0, others]:
        //   0 -> {3, 5}: 0.10078404166183563; 0 -> {3, 4, 5}: -0.0781694777480525.
        let vectors: Vec<Vec<f32>> = EIGHT.iter().map(|r| r.iter().map(|&v| v as f32).collect()).collect();
        let sim = crate::similarity::similarity_matrix(&vectors);
        let tree = dendrogram(&condensed_cosine_distance(&sim, 8), 8, Linkage::Average);
        let heights: Vec<f64> = tree.merges.iter().map(|m| m.height).collect();
        for (h, want) in heights.iter().zip([
            0.05220642012121079,
            0.1239579714569734,
            0.2144750021766355,
            0.28731732108061586,
        ]) {
            assert!((h - want).abs() < 1e-6, "{heights:?}");
        }
        // Tolerances: the vectors are f32 here, float64 in numpy.
        assert!((tree.clade_margin(&[0, 3, 5]) - 0.07284231890398035).abs() < 1e-6);
        assert!((tree.clade_margin(&[1, 7]) - 0.8353673102449684).abs() < 1e-6);
        assert!((tree.clade_margin(&[0, 3, 4, 5]) + 0.37326186761794494).abs() < 1e-6);
        assert!((crate::similarity::nearest_margin(&sim, 8, 0, &[3, 5]) - 0.10078404166183563).abs() < 1e-6);
        assert!((crate::similarity::nearest_margin(&sim, 8, 0, &[3, 4, 5]) + 0.0781694777480525).abs() < 1e-6);
        assert!(tree.clade_margin(&[0]).is_nan());
    }

    #[test]
    fn canonical_labels_number_by_first_appearance() {
        assert_eq!(canonical(&[5, 5, 2, 9, 2]), vec![0, 0, 1, 2, 1]);
    }
}
