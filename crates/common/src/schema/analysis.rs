//! The analyze stage's tables. Each seed's shard (`analyze/seed-<S>/`) holds
//! the per-seed tables, every one with a `seed` column so shards
//! concatenate; `analyze/summary/` holds what merges seeds. Each table is
//! declared once here ([`table!`](crate::table)); the `*_schema()`
//! functions return the declarations' schemas.

use super::{FloatImage, Table};
use arrow_schema::{DataType, SchemaRef};

/// A 28x28 float image, row-major: `fixed_size_list<float32>[784]`.
pub fn float_image_type() -> DataType {
    <FloatImage as super::Column>::data_type()
}

/// A list of float64 values.
pub fn float_list_type() -> DataType {
    <Vec<f64> as super::Column>::data_type()
}

crate::table! {
    /// `analyze/seed-<S>/similarity.parquet`: cosine similarity of context
    /// vectors, one row per (seed, state, task_i, task_j), all ordered pairs
    /// (Figs. 1b, 4b, 5b).
    pub struct SimilarityRow in "similarity.parquet" {
        /// model seed
        seed: u64,
        /// `before` or `after` training
        state: String,
        /// task index
        task_i: u16,
        /// task index
        task_j: u16,
        /// cos(c_i, c_j)
        cosine: f64 where finite,
    }
}

crate::table! {
    /// `analyze/seed-<S>/adjacency.parquet`: mean similarity at each task distance.
    pub struct AdjacencyRow in "adjacency.parquet" {
        /// model seed
        seed: u64,
        /// `before` or `after` training
        state: String,
        /// task distance (circular for circles)
        distance: u32,
        /// mean cosine over ordered pairs at that distance
        mean_similarity: f64 where finite,
        /// ordered pairs at that distance
        pairs: u32,
    }
}

crate::table! {
    /// `analyze/seed-<S>/cross_task.parquet`: the context of one task on
    /// another's test set; the diagonal is the trained test accuracy, exactly.
    pub struct CrossTaskRow in "cross_task.parquet" {
        /// model seed
        seed: u64,
        /// `after` (the trained contexts) or `before` (the initial ones, the control; scored on the first 1,000 test images of each task)
        state: String,
        /// whose context `c_i` is used
        context_task: u16,
        /// whose test images are classified
        data_task: u16,
        /// fraction correct on all of `data_task`'s test images
        accuracy: f64 where finite,
    }
}

crate::table! {
    /// `analyze/seed-<S>/reconstruction.parquet`: the pseudo-inverse
    /// reconstruction of every (task, class) (Eq. 3), `pinv(W1) z` with
    /// `z ~ N(W2[k] ⊙ c_t, (1/H)^2)`, and how it matches the test images'
    /// class means (Fig. 3), and the same with the noise-free `z`.
    pub struct ReconstructionRow in "reconstruction.parquet" {
        /// model seed
        seed: u64,
        /// `noisy` (`z ~ N(W2[k] ⊙ c_t, (1/H)^2)`, the notebook's) or `noise-free` (`z = W2[k] ⊙ c_t`), trained contexts
        z: String,
        /// the task reconstructed
        task: u16,
        /// the class reconstructed
        class: u8,
        /// `pinv(W1) z`, in normalised pixel units
        image: FloatImage where finite,
        /// Pearson correlation with the mean test image of `class` in `task`
        own_correlation: f64,
        /// the task whose `class` mean correlates best
        best_task: u16,
        /// the class whose mean in `task` correlates best
        best_class: u8,
        /// fraction of the other tasks whose `class` mean correlates less than `task`'s
        own_task_rank: f64,
    }
}

crate::table! {
    /// `analyze/seed-<S>/tgsh_pairs.parquet`: a uniform sample
    /// (`analyze.tgsh_pair_sample` per kind) of the pair similarities of the
    /// T-GSH comparison (Fig. 1a).
    pub struct TgshPairRow in "tgsh_pairs.parquet" {
        /// model seed
        seed: u64,
        /// whose contexts modulate the representations: `after` (trained), `before` (initial), `unmodulated` (every `c_t = 1`)
        state: String,
        /// `label` (groups are digits: the figure's caption) or `position` (groups are random sets of images, label-agnostic: the notebook and Definition 1)
        grouping: String,
        /// `intra` (same task, different groups) or `inter` (same group, different tasks)
        kind: String,
        /// cosine similarity of the two representations `c_t ⊙ r(x)`
        cosine: f64 where finite,
    }
}

crate::table! {
    /// `analyze/seed-<S>/dendrogram.parquet`: the average-linkage merge tree
    /// on `1 - cos`, in scipy's `linkage` convention.
    pub struct DendrogramRow in "dendrogram.parquet" {
        /// model seed
        seed: u64,
        /// merge number from 0; it creates cluster `tasks + step`
        step: u32,
        /// merged cluster (`left < right`; `< tasks` are tasks)
        left: u32,
        /// merged cluster
        right: u32,
        /// linkage distance on `1 - cos`
        height: f64,
        /// tasks in the new cluster
        size: u32,
    }
}

crate::table! {
    /// `analyze/summary/dendrogram.parquet`: the tree of the seed-mean
    /// similarity matrix (the report's Fig. 7), as the per-seed table
    /// without `seed`.
    pub struct DendrogramSummaryRow in "dendrogram.parquet" {
        /// merge number from 0; it creates cluster `tasks + step`
        step: u32,
        /// merged cluster (`left < right`; `< tasks` are tasks)
        left: u32,
        /// merged cluster
        right: u32,
        /// linkage distance on `1 - cos`
        height: f64 where finite,
        /// tasks in the new cluster
        size: u32,
    }
}

crate::table! {
    /// `analyze/seed-<S>/clusters.parquet`: flat clusters at the configured
    /// cut (linfa-hierarchical) and the dendrogram's leaf order.
    pub struct ClusterRow in "clusters.parquet" {
        /// model seed
        seed: u64,
        /// task index
        task: u16,
        /// cluster at `analyze.clusters`, numbered by first appearance in task order
        cluster: u32,
        /// position of the task in the dendrogram's leaf order
        leaf_position: u32,
    }
}

crate::table! {
    /// `analyze/summary/clusters.parquet`: the clusters of the seed-mean
    /// similarity matrix, as the per-seed table without `seed`.
    pub struct ClusterSummaryRow in "clusters.parquet" {
        /// task index
        task: u16,
        /// cluster at `analyze.clusters`, numbered by first appearance in task order
        cluster: u32,
        /// position of the task in the dendrogram's leaf order
        leaf_position: u32,
    }
}

crate::table! {
    /// `analyze/seed-<S>/statistics.parquet`: every scalar one seed's
    /// analyses measure (ARCHITECTURE.md lists them).
    pub struct SeedStatisticRow in "statistics.parquet" {
        /// model seed
        seed: u64,
        /// dotted name, e.g. `similarity.nearest_is_adjacent`
        statistic: String,
        /// what it was measured on: `after` (trained), `before` (initial contexts), `unmodulated` (every `c_t = 1`), `permuted` (mean over task-order shuffles of the trained matrices)
        state: String,
        /// the value (NaN where undefined, e.g. adjacency without a topology); accuracies in %, accuracy differences in percentage points
        value: f64,
    }
}

crate::table! {
    /// `analyze/summary/statistics.parquet`: each statistic across seeds.
    pub struct StatisticRow in "statistics.parquet" {
        /// as in the per-seed table
        statistic: String,
        /// as in the per-seed table
        state: String,
        /// mean over seeds
        mean: f64,
        /// 95 % interval across seeds, low end (NaN with one seed)
        ci_low: f64,
        /// high end
        ci_high: f64,
        /// how: `Student t across seeds`, or for a statistic with a bounded range (fractions, AUC, accuracies, correlations, cosines) `expanded percentile bootstrap over seeds`, which stays in the range
        interval: String,
        /// seeds with a finite value
        seeds: u32,
        /// the per-seed values, in seed order
        values: Vec<f64>,
    }
}

crate::table! {
    /// `analyze/summary/claims.parquet`: one row per claim: the trained
    /// value, up to two controls with the paired difference, each with its
    /// interval across seeds, and the verdict that uses them (docs/METHOD.md).
    pub struct ClaimRow in "claims.parquet" {
        /// short stable name
        id: String,
        /// `paper` (the papers' claims) or `beyond` (this project's own questions)
        section: String,
        /// the claim, in words
        claim: String,
        /// where the paper shows it
        figure: String,
        /// the statistic tested (a row of `statistics.parquet`)
        statistic: String,
        /// the state judged: `after` (trained), or `before` for a claim about the initialisation
        state: String,
        /// `%` (accuracies), `points` (differences of accuracies) or empty
        unit: String,
        /// how `ci_low`, `ci_high` were computed (95 % Student t or bootstrap over seeds; 90 % for two one-sided tests)
        interval: String,
        /// the statistic in `state`: mean across seeds
        mean: f64,
        /// its interval across seeds, low end
        ci_low: f64,
        /// high end
        ci_high: f64,
        /// seeds
        seeds: u32,
        /// the bar (the reference for an equivalence), fixed before looking
        threshold: f64,
        /// `>`, `>=`, `<`, or `within` (equivalence: `threshold ± margin`)
        direction: String,
        /// the equivalence margin (NaN for a bar)
        margin: f64,
        /// the first control (`before`, `unmodulated`, `permuted`, `after`, or a description; empty if none)
        control: String,
        /// the same statistic on the control, mean across seeds
        control_mean: f64,
        /// its interval, low end
        control_low: f64,
        /// high end
        control_high: f64,
        /// claim state minus control, paired by seed, mean across seeds
        difference: f64,
        /// its interval, low end
        difference_low: f64,
        /// high end
        difference_high: f64,
        /// the second control, as `control`
        control2: String,
        /// as `control_mean`
        control2_mean: f64,
        /// as `control_low`
        control2_low: f64,
        /// as `control_high`
        control2_high: f64,
        /// as `difference`, against the second control
        difference2: f64,
        /// as `difference_low`
        difference2_low: f64,
        /// as `difference_high`
        difference2_high: f64,
        /// the claim attributes the property to training: it passes only when it also beats every control
        needs_training: bool,
        /// `pass`, `untrained` (holds, but so does a control training does not beat), `fail`, `inconclusive`
        verdict: String,
        /// the verdict in words, written from the numbers
        reading: String,
        /// how the statistic is computed
        note: String,
    }
}

crate::table! {
    /// `analyze/summary/tgsh.parquet`: the T-GSH comparison across seeds.
    /// Each seed measures over all its pairs; the seeds are the independent
    /// units (pairs are not: one image is in hundreds of them).
    pub struct TgshSummaryRow in "tgsh.parquet" {
        /// `after`, `before`, `unmodulated`
        state: String,
        /// `label` or `position` (see `tgsh_pairs`)
        grouping: String,
        /// mean over seeds of each seed's mean intra pair similarity
        intra_mean: f64,
        /// the same for inter pairs
        inter_mean: f64,
        /// `intra - inter`, mean over seeds
        difference: f64,
        /// its 95 % bootstrap interval across seeds, low end
        difference_low: f64,
        /// high end
        difference_high: f64,
        /// `P(intra > inter)`, mean over seeds
        auc: f64,
        /// its 95 % bootstrap interval across seeds, low end
        auc_low: f64,
        /// high end
        auc_high: f64,
        /// seeds
        seeds: u32,
    }
}

crate::table! {
    /// `analyze/seed-<S>/contexts_pca.parquet`: each task's context on the
    /// first three principal components of its seed's contexts (PCA over
    /// tasks).
    pub struct ContextsPcaRow in "contexts_pca.parquet" {
        /// model seed
        seed: u64,
        /// `after` or `before` training (each state has its own PCA)
        state: String,
        /// task index
        task: u16,
        /// score on PC1 (each PC's sign: its largest score positive)
        pc1: f64 where finite,
        /// score on PC2
        pc2: f64 where finite,
        /// score on PC3
        pc3: f64 where finite,
    }
}

crate::table! {
    /// `analyze/seed-<S>/representation_profile.parquet` (Definition 1b):
    /// the mean over the T-GSH images `x` of `cos(c_i ⊙ r(x), c_j ⊙ r(x))`,
    /// one image under two tasks, at each task distance.
    pub struct RepresentationProfileRow in "representation_profile.parquet" {
        /// model seed
        seed: u64,
        /// `before`, `after` or `unmodulated`
        state: String,
        /// task distance (circular for circles)
        distance: u32,
        /// mean cosine over images and ordered task pairs at that distance
        mean_similarity: f64 where finite,
        /// ordered pairs of tasks at that distance
        pairs: u32,
    }
}

crate::table! {
    /// `analyze/summary/subsampling.parquet` (with a `subsample_of` claim):
    /// the coarse family against the finer one at each task distance `d` of
    /// the coarse family, trained and before training.
    pub struct SubsamplingRow in "subsampling.parquet" {
        /// `after` or `before`
        state: String,
        /// task distance `d` in this family
        distance: u32,
        /// the pixel offset at `d` (`d` times this family's step)
        pixels: f64,
        /// this family's mean similarity at `d`
        coarse_mean: f64,
        /// its 95 % interval across seeds, low end
        coarse_low: f64,
        /// high end
        coarse_high: f64,
        /// the finer family's at `every d` (same pixel offset)
        same_pixel_mean: f64,
        /// low end
        same_pixel_low: f64,
        /// high end
        same_pixel_high: f64,
        /// the finer family's at `d` (same task index)
        same_index_mean: f64,
        /// low end
        same_index_low: f64,
        /// high end
        same_index_high: f64,
        /// coarse minus same pixel
        pixel_difference: f64,
        /// Welch 90 % interval (two one-sided tests at 95 %), low end
        pixel_low: f64,
        /// high end
        pixel_high: f64,
        /// the 90 % interval lies within `±margin`
        pixel_equivalent: bool,
        /// coarse minus same index
        index_difference: f64,
        /// Welch 90 % interval, low end
        index_low: f64,
        /// high end
        index_high: f64,
        /// the 90 % interval lies wholly beyond `±margin`
        index_outside: bool,
        /// the equivalence margin
        margin: f64,
    }
}

crate::table! {
    /// `analyze/summary/adjacency.parquet`: the adjacency profile across seeds.
    pub struct AdjacencySummaryRow in "adjacency.parquet" {
        /// `before` or `after`
        state: String,
        /// task distance
        distance: u32,
        /// mean similarity at that distance over seeds
        mean: f64,
        /// 95 % bootstrap interval across seeds, low end
        ci_low: f64,
        /// high end
        ci_high: f64,
        /// seeds
        seeds: u32,
    }
}

crate::table! {
    /// `analyze/summary/representation_profile.parquet` (Definition 1b):
    /// the representation profile across seeds.
    pub struct RepresentationProfileSummaryRow in "representation_profile.parquet" {
        /// `before`, `after` or `unmodulated`
        state: String,
        /// task distance
        distance: u32,
        /// mean similarity at that distance over seeds
        mean: f64,
        /// 95 % bootstrap interval across seeds, low end
        ci_low: f64,
        /// high end
        ci_high: f64,
        /// seeds
        seeds: u32,
    }
}

crate::table! {
    /// `analyze/summary/class_means.parquet`: the mean test image of each
    /// class in each task, what reconstructions are scored against.
    pub struct ClassMeanRow in "class_means.parquet" {
        /// task index
        task: u16,
        /// class
        class: u8,
        /// how many images were averaged
        images: u32,
        /// mean pixel value, 0-255
        image: FloatImage where finite,
    }
}

crate::table! {
    /// `analyze/summary/accuracy.parquet`: each task's final test accuracy
    /// across seeds.
    pub struct AccuracySummaryRow in "accuracy.parquet" {
        /// task index
        task: u16,
        /// mean final-epoch test accuracy (fraction)
        mean: f64,
        /// 95 % bootstrap interval across seeds, low end
        ci_low: f64,
        /// high end
        ci_high: f64,
        /// seeds
        seeds: u32,
        /// per seed, in seed order
        values: Vec<f64>,
    }
}

crate::table! {
    /// `analyze/seed-<S>/heldout.parquet` (held-out pipelines): every
    /// method's test accuracy on every task of the family, trained or not.
    pub struct HeldoutRow in "heldout.parquet" {
        /// model seed
        seed: u64,
        /// `points-nearest`, `points-interp` (the CRWN's points, an unseen task served by the nearest training task's context or by linear interpolation between its two neighbours; on a torus, bilinear between four), `shared`, `input`, `line`, `quadratic`, `circle`, `fourierK`, `piecewise`, on a torus family `torusK`, `circlesK`, `bilinear`, each `-metric` or `-sgd` when trained with the metric-preconditioned update or plain SGD
        method: String,
        /// `points`, `none`, `line` or `circle`; on a torus family `torus` or `circles` (two circles added) (for `input`: the shape of its task encoding)
        topology: String,
        /// `onehot`, `constant`, `line`, `quadratic`, `fourierK`, `piecewise`; on a torus family `torusK` (`torus` for K = 1), `circlesK` (`circles`), `bilinearN1xN2` (knots per variable); `constant+input` for input conditioning
        basis: String,
        /// `rmsprop`, `metric` or `sgd`
        update: String,
        /// learned numbers (points: `T (H + 1)`, manifolds `K H`, input `H + E H`)
        parameters: u64,
        /// task index
        task: u16,
        /// the task variable in `[0, 1)` (on a torus family the rotation's `s₁`; the shift's `s₂` follows from the task index, `task mod shifts`)
        s: f64 where finite,
        /// `seen` (trained), `interpolated` (untrained, inside the training arc; on a torus every untrained grid task), `extrapolated` (outside it)
        split: String,
        /// `split == "seen"`
        seen: bool,
        /// fraction correct on all of the task's test images
        accuracy: f64 where finite,
    }
}

crate::table! {
    /// `analyze/seed-<S>/context_cosine.parquet` (held-out pipelines): each
    /// jointly trained method's contexts at the training tasks, compared
    /// with themselves and with the CRWN's per-task contexts.
    pub struct ContextCosineRow in "context_cosine.parquet" {
        /// model seed
        seed: u64,
        /// a method with a model file (`points` is the CRWN)
        method: String,
        /// `self`: `cos(c(s_i), c(s_j))` within the method; `crwn`: `cos(c(s_i), c_j)` with the CRWN's context of training task `j`
        kind: String,
        /// training task (family index)
        task_i: u16,
        /// training task (family index)
        task_j: u16,
        /// the cosine similarity
        cosine: f64 where finite,
    }
}

crate::table! {
    /// `analyze/seed-<S>/manifold_pca.parquet` (held-out pipelines): every
    /// jointly trained model's context `c(s)` drawn in the plane of the
    /// first two principal components of the CRWN's trained points (the
    /// training tasks' contexts, centred), with those points.
    pub struct ManifoldPcaRow in "manifold_pca.parquet" {
        /// model seed
        seed: u64,
        /// `points` (the CRWN's contexts at the training tasks) or a jointly trained model's label
        method: String,
        /// the task variable at which the context is taken (for a manifold: 360 values evenly spaced over `[0, 1)`; on a torus family the rotation's `s₁`, 120 values)
        s: f64 where finite,
        /// the second task variable on a torus family (the shift's `s₂`: a manifold is drawn as one curve over `s₁` per trained value of `s₂`); 0 on a one-variable family
        s2: f64 where finite,
        /// coordinate on the first principal component of the CRWN's points
        pc1: f64 where finite,
        /// coordinate on the second principal component
        pc2: f64 where finite,
    }
}

crate::table! {
    /// `analyze/summary/heldout.parquet` (held-out pipelines): the comparison table.
    pub struct HeldoutSummaryRow in "heldout.parquet" {
        /// as in the per-seed table
        method: String,
        /// as in the per-seed table
        topology: String,
        /// as in the per-seed table
        basis: String,
        /// as in the per-seed table
        update: String,
        /// as in the per-seed table
        parameters: u64,
        /// `seen`, `interpolated`, `extrapolated`, or `unseen` (every untrained task)
        split: String,
        /// tasks in the split
        tasks: u32,
        /// mean over seeds of the mean accuracy over the split's tasks
        mean: f64,
        /// 95 % Student-t interval across seeds, low end (NaN with one seed)
        ci_low: f64,
        /// high end
        ci_high: f64,
        /// seeds
        seeds: u32,
    }
}

crate::table! {
    /// `analyze/summary/heldout_curve.parquet` (held-out pipelines): accuracy
    /// as a function of the task variable, per method.
    pub struct HeldoutCurveRow in "heldout_curve.parquet" {
        /// as in the per-seed table
        method: String,
        /// task index
        task: u16,
        /// task variable
        s: f64 where finite,
        /// `seen`, `interpolated` or `extrapolated`
        split: String,
        /// test accuracy, mean across seeds
        mean: f64,
        /// 95 % Student-t interval across seeds, low end
        ci_low: f64,
        /// high end
        ci_high: f64,
        /// seeds
        seeds: u32,
    }
}

crate::table! {
    /// `analyze/summary/context_cosine.parquet` (held-out pipelines): the
    /// per-seed table's cosines averaged over seeds.
    pub struct ContextCosineSummaryRow in "context_cosine.parquet" {
        /// as in the per-seed table
        method: String,
        /// as in the per-seed table
        kind: String,
        /// as in the per-seed table
        task_i: u16,
        /// as in the per-seed table
        task_j: u16,
        /// mean cosine over seeds
        mean: f64,
        /// seeds
        seeds: u32,
    }
}

/// [`CrossTaskRow`]'s schema.
pub fn cross_task_schema() -> SchemaRef {
    CrossTaskRow::schema()
}
/// [`ReconstructionRow`]'s schema.
pub fn reconstruction_schema() -> SchemaRef {
    ReconstructionRow::schema()
}
/// [`TgshPairRow`]'s schema.
pub fn tgsh_pairs_schema() -> SchemaRef {
    TgshPairRow::schema()
}
/// [`DendrogramRow`]'s schema, or [`DendrogramSummaryRow`]'s without the seed.
pub fn dendrogram_schema(with_seed: bool) -> SchemaRef {
    if with_seed {
        DendrogramRow::schema()
    } else {
        DendrogramSummaryRow::schema()
    }
}
/// [`ClusterRow`]'s schema, or [`ClusterSummaryRow`]'s without the seed.
pub fn clusters_schema(with_seed: bool) -> SchemaRef {
    if with_seed {
        ClusterRow::schema()
    } else {
        ClusterSummaryRow::schema()
    }
}
/// [`AdjacencyRow`]'s schema.
pub fn adjacency_schema() -> SchemaRef {
    AdjacencyRow::schema()
}
/// [`SeedStatisticRow`]'s schema.
pub fn seed_statistics_schema() -> SchemaRef {
    SeedStatisticRow::schema()
}
/// [`StatisticRow`]'s schema.
pub fn summary_statistics_schema() -> SchemaRef {
    StatisticRow::schema()
}
/// [`ClaimRow`]'s schema.
pub fn claims_schema() -> SchemaRef {
    ClaimRow::schema()
}
/// [`TgshSummaryRow`]'s schema.
pub fn tgsh_summary_schema() -> SchemaRef {
    TgshSummaryRow::schema()
}
/// [`AdjacencySummaryRow`]'s schema.
pub fn adjacency_summary_schema() -> SchemaRef {
    AdjacencySummaryRow::schema()
}
/// [`ClassMeanRow`]'s schema.
pub fn class_means_schema() -> SchemaRef {
    ClassMeanRow::schema()
}
/// [`AccuracySummaryRow`]'s schema.
pub fn accuracy_summary_schema() -> SchemaRef {
    AccuracySummaryRow::schema()
}
/// [`HeldoutRow`]'s schema.
pub fn heldout_schema() -> SchemaRef {
    HeldoutRow::schema()
}
/// [`ContextCosineRow`]'s schema.
pub fn context_cosine_schema() -> SchemaRef {
    ContextCosineRow::schema()
}
/// [`HeldoutSummaryRow`]'s schema.
pub fn heldout_summary_schema() -> SchemaRef {
    HeldoutSummaryRow::schema()
}
/// [`HeldoutCurveRow`]'s schema.
pub fn heldout_curve_schema() -> SchemaRef {
    HeldoutCurveRow::schema()
}
/// [`ContextCosineSummaryRow`]'s schema.
pub fn context_cosine_summary_schema() -> SchemaRef {
    ContextCosineSummaryRow::schema()
}
/// [`ContextsPcaRow`]'s schema.
pub fn contexts_pca_schema() -> SchemaRef {
    ContextsPcaRow::schema()
}
/// [`SubsamplingRow`]'s schema.
pub fn subsampling_schema() -> SchemaRef {
    SubsamplingRow::schema()
}
