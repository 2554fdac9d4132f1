//! The analyze stage's tables. Each seed's shard (`analyze/seed-<S>/`) holds
//! the per-seed tables, every one with a `seed` column so shards concatenate;
//! `analyze/summary/` holds what merges seeds. ARCHITECTURE.md documents the
//! same schemas for readers in other languages.

use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use std::sync::Arc;

fn schema(fields: Vec<Field>) -> SchemaRef {
    Arc::new(Schema::new(fields))
}

fn f(name: &str, data_type: DataType) -> Field {
    Field::new(name, data_type, false)
}

/// A 28x28 float image, row-major: `fixed_size_list<float32>[784]`.
pub fn float_image_type() -> DataType {
    DataType::FixedSizeList(
        Arc::new(Field::new("item", DataType::Float32, false)),
        crate::PIXELS as i32,
    )
}

/// A list of float64 values.
pub fn float_list_type() -> DataType {
    DataType::List(Arc::new(Field::new("item", DataType::Float64, false)))
}

/// `seed-<S>/cross_task.parquet`: the context of one task on another's test set.
///
/// | column | type | meaning |
/// |---|---|---|
/// | `seed` | uint64 | model seed |
/// | `state` | utf8 | `after` (the trained contexts) or `before` (the initial ones, the control) |
/// | `context_task` | uint16 | whose context `c_i` is used |
/// | `data_task` | uint16 | whose test images are classified |
/// | `accuracy` | float64 | fraction correct on all of `data_task`'s test images |
pub fn cross_task_schema() -> SchemaRef {
    schema(vec![
        f("seed", DataType::UInt64),
        f("state", DataType::Utf8),
        f("context_task", DataType::UInt16),
        f("data_task", DataType::UInt16),
        f("accuracy", DataType::Float64),
    ])
}

/// `seed-<S>/reconstruction.parquet`: the pseudo-inverse reconstruction of
/// every (task, class) (Eq. 3) and how it matches the test images' class means.
///
/// | column | type | meaning |
/// |---|---|---|
/// | `seed` | uint64 | model seed |
/// | `z` | utf8 | `noisy` (`z ~ N(W2[k] ⊙ c_t, (1/H)^2)`, the notebook's) or `noise-free` (`z = W2[k] ⊙ c_t`), trained contexts |
/// | `task`, `class` | uint16, uint8 | what is reconstructed |
/// | `image` | fixed_size_list<float32>[784] | `pinv(W1) z`, in normalised pixel units |
/// | `own_correlation` | float64 | Pearson correlation with the mean test image of `class` in `task` |
/// | `best_task` | uint16 | the task whose `class` mean correlates best |
/// | `best_class` | uint8 | the class whose mean in `task` correlates best |
/// | `own_task_rank` | float64 | fraction of the other tasks whose `class` mean correlates less than `task`'s |
pub fn reconstruction_schema() -> SchemaRef {
    schema(vec![
        f("seed", DataType::UInt64),
        f("z", DataType::Utf8),
        f("task", DataType::UInt16),
        f("class", DataType::UInt8),
        f("image", float_image_type()),
        f("own_correlation", DataType::Float64),
        f("best_task", DataType::UInt16),
        f("best_class", DataType::UInt8),
        f("own_task_rank", DataType::Float64),
    ])
}

/// `seed-<S>/tgsh_pairs.parquet`: a uniform sample of the pair similarities
/// of the T-GSH comparison (Fig. 1a).
///
/// | column | type | meaning |
/// |---|---|---|
/// | `seed` | uint64 | model seed |
/// | `state` | utf8 | whose contexts modulate the representations: `after` (trained), `before` (initial), `unmodulated` (every `c_t = 1`) |
/// | `grouping` | utf8 | `label` (groups are digits: the figure's caption) or `position` (groups are random sets of images, label-agnostic: the notebook and Definition 1) |
/// | `kind` | utf8 | `intra` (same task, different groups) or `inter` (same group, different tasks) |
/// | `cosine` | float64 | cosine similarity of the two representations `c_t ⊙ r(x)` |
pub fn tgsh_pairs_schema() -> SchemaRef {
    schema(vec![
        f("seed", DataType::UInt64),
        f("state", DataType::Utf8),
        f("grouping", DataType::Utf8),
        f("kind", DataType::Utf8),
        f("cosine", DataType::Float64),
    ])
}

/// `seed-<S>/dendrogram.parquet` (with `seed`) and `summary/dendrogram.parquet`
/// (without: the tree of the seed-mean similarity matrix): the merge tree
/// in scipy's `linkage` convention.
///
/// | column | type | meaning |
/// |---|---|---|
/// | `seed` | uint64 | model seed (per-seed table only) |
/// | `step` | uint32 | merge number from 0; it creates cluster `tasks + step` |
/// | `left`, `right` | uint32 | merged clusters (`left < right`; `< tasks` are tasks) |
/// | `height` | float64 | linkage distance on `1 - cos` |
/// | `size` | uint32 | tasks in the new cluster |
pub fn dendrogram_schema(with_seed: bool) -> SchemaRef {
    let mut fields = seed_field(with_seed);
    fields.extend([
        f("step", DataType::UInt32),
        f("left", DataType::UInt32),
        f("right", DataType::UInt32),
        f("height", DataType::Float64),
        f("size", DataType::UInt32),
    ]);
    schema(fields)
}

/// `seed-<S>/clusters.parquet` and `summary/clusters.parquet`: flat clusters
/// at the configured cut (linfa-hierarchical) and the dendrogram's leaf order.
///
/// | column | type | meaning |
/// |---|---|---|
/// | `seed` | uint64 | model seed (per-seed table only) |
/// | `task` | uint16 | task index |
/// | `cluster` | uint32 | cluster at `analyze.clusters`, numbered by first appearance in task order |
/// | `leaf_position` | uint32 | position of the task in the dendrogram's leaf order |
pub fn clusters_schema(with_seed: bool) -> SchemaRef {
    let mut fields = seed_field(with_seed);
    fields.extend([
        f("task", DataType::UInt16),
        f("cluster", DataType::UInt32),
        f("leaf_position", DataType::UInt32),
    ]);
    schema(fields)
}

fn seed_field(with_seed: bool) -> Vec<Field> {
    if with_seed {
        vec![f("seed", DataType::UInt64)]
    } else {
        Vec::new()
    }
}

/// `seed-<S>/adjacency.parquet`: mean similarity of the contexts at each
/// task distance; also `seed-<S>/representation_profile.parquet`, the same
/// columns for Definition 1b: the mean over the T-GSH images `x` of
/// `cos(c_i ⊙ r(x_i), c_j ⊙ r(x_j))`, one image under two tasks.
///
/// | column | type | meaning |
/// |---|---|---|
/// | `seed` | uint64 | model seed |
/// | `state` | utf8 | `before` or `after` training (`unmodulated` too in the representation profile) |
/// | `distance` | uint32 | task distance (circular for circles) |
/// | `mean_similarity` | float64 | mean cosine over ordered pairs at that distance |
/// | `pairs` | uint32 | ordered pairs of tasks at that distance |
pub fn adjacency_schema() -> SchemaRef {
    schema(vec![
        f("seed", DataType::UInt64),
        f("state", DataType::Utf8),
        f("distance", DataType::UInt32),
        f("mean_similarity", DataType::Float64),
        f("pairs", DataType::UInt32),
    ])
}

/// `seed-<S>/statistics.parquet`: every scalar one seed's analyses measure.
///
/// | column | type | meaning |
/// |---|---|---|
/// | `seed` | uint64 | model seed |
/// | `statistic` | utf8 | dotted name, e.g. `similarity.nearest_is_adjacent` (ARCHITECTURE.md lists them) |
/// | `state` | utf8 | what it was measured on: `after` (trained), `before` (initial contexts), `unmodulated` (every `c_t = 1`), `permuted` (mean over task-order shuffles of the trained matrices) |
/// | `value` | float64 | the value (NaN where undefined, e.g. adjacency without a topology); accuracies in %, accuracy differences in percentage points |
pub fn seed_statistics_schema() -> SchemaRef {
    schema(vec![
        f("seed", DataType::UInt64),
        f("statistic", DataType::Utf8),
        f("state", DataType::Utf8),
        f("value", DataType::Float64),
    ])
}

/// `summary/statistics.parquet`: each statistic across seeds.
///
/// | column | type | meaning |
/// |---|---|---|
/// | `statistic`, `state` | utf8 | as in the per-seed table |
/// | `mean` | float64 | mean over seeds |
/// | `ci_low`, `ci_high` | float64 | 95 % interval across seeds (NaN with one seed) |
/// | `interval` | utf8 | how: `Student t across seeds`, or for a statistic with a bounded range (fractions, AUC, accuracies, correlations, cosines) `expanded percentile bootstrap over seeds`, which stays in the range |
/// | `seeds` | uint32 | seeds with a finite value |
/// | `values` | list<float64> | the per-seed values, in seed order |
pub fn summary_statistics_schema() -> SchemaRef {
    schema(vec![
        f("statistic", DataType::Utf8),
        f("state", DataType::Utf8),
        f("mean", DataType::Float64),
        f("ci_low", DataType::Float64),
        f("ci_high", DataType::Float64),
        f("interval", DataType::Utf8),
        f("seeds", DataType::UInt32),
        f("values", float_list_type()),
    ])
}

/// `summary/claims.parquet`: one row per claim: the trained value, up to
/// two controls with the paired difference, each with its interval across
/// seeds, and the verdict that uses them (docs/METHOD.md).
///
/// | column | type | meaning |
/// |---|---|---|
/// | `id` | utf8 | short stable name |
/// | `section` | utf8 | `paper` (the papers' claims) or `beyond` (this project's own questions) |
/// | `claim` | utf8 | the claim, in words |
/// | `figure` | utf8 | where the paper shows it |
/// | `statistic` | utf8 | the statistic tested (a row of `statistics.parquet`) |
/// | `state` | utf8 | the state judged: `after` (trained), or `before` for a claim about the initialisation |
/// | `unit` | utf8 | `%` (accuracies), `points` (differences of accuracies) or empty |
/// | `interval` | utf8 | how `ci_low`, `ci_high` were computed (95 % Student t or bootstrap over seeds; 90 % for two one-sided tests) |
/// | `mean`, `ci_low`, `ci_high` | float64 | the statistic in `state`: mean and interval across seeds |
/// | `seeds` | uint32 | seeds |
/// | `threshold` | float64 | the bar (the reference for an equivalence), fixed before looking |
/// | `direction` | utf8 | `>`, `>=`, `<`, or `within` (equivalence: `threshold ± margin`) |
/// | `margin` | float64 | the equivalence margin (NaN for a bar) |
/// | `control`, `control2` | utf8 | the controls (`before`, `unmodulated`, `permuted`, `after`, or a description; empty if none) |
/// | `control_mean`, `control_low`, `control_high` (and `control2_*`) | float64 | the same statistic on the control, mean and interval across seeds |
/// | `difference`, `difference_low`, `difference_high` (and `difference2*`) | float64 | claim state minus control, paired by seed, mean and interval across seeds |
/// | `needs_training` | bool | the claim attributes the property to training: it passes only when it also beats every control |
/// | `verdict` | utf8 | `pass`, `untrained` (holds, but so does a control training does not beat), `fail`, `inconclusive` |
/// | `reading` | utf8 | the verdict in words, written from the numbers |
/// | `note` | utf8 | how the statistic is computed |
pub fn claims_schema() -> SchemaRef {
    let mut fields = vec![
        f("id", DataType::Utf8),
        f("section", DataType::Utf8),
        f("claim", DataType::Utf8),
        f("figure", DataType::Utf8),
        f("statistic", DataType::Utf8),
        f("state", DataType::Utf8),
        f("unit", DataType::Utf8),
        f("interval", DataType::Utf8),
        f("mean", DataType::Float64),
        f("ci_low", DataType::Float64),
        f("ci_high", DataType::Float64),
        f("seeds", DataType::UInt32),
        f("threshold", DataType::Float64),
        f("direction", DataType::Utf8),
        f("margin", DataType::Float64),
    ];
    for (control, difference) in [("control", "difference"), ("control2", "difference2")] {
        fields.extend([
            f(control, DataType::Utf8),
            f(&format!("{control}_mean"), DataType::Float64),
            f(&format!("{control}_low"), DataType::Float64),
            f(&format!("{control}_high"), DataType::Float64),
            f(difference, DataType::Float64),
            f(&format!("{difference}_low"), DataType::Float64),
            f(&format!("{difference}_high"), DataType::Float64),
        ]);
    }
    fields.extend([
        f("needs_training", DataType::Boolean),
        f("verdict", DataType::Utf8),
        f("reading", DataType::Utf8),
        f("note", DataType::Utf8),
    ]);
    schema(fields)
}

/// `summary/tgsh.parquet`: the T-GSH comparison across seeds. Each seed
/// measures over all its pairs; the seeds are the independent units (pairs
/// are not: one image is in hundreds of them).
///
/// | column | type | meaning |
/// |---|---|---|
/// | `state` | utf8 | `after`, `before`, `unmodulated` |
/// | `grouping` | utf8 | `label` or `position` (see `tgsh_pairs`) |
/// | `intra_mean`, `inter_mean` | float64 | mean over seeds of each seed's mean pair similarity |
/// | `difference`, `difference_low`, `difference_high` | float64 | `intra - inter`: mean over seeds and its 95 % bootstrap interval across seeds |
/// | `auc`, `auc_low`, `auc_high` | float64 | `P(intra > inter)`: mean over seeds and its 95 % bootstrap interval across seeds |
/// | `seeds` | uint32 | seeds |
pub fn tgsh_summary_schema() -> SchemaRef {
    schema(vec![
        f("state", DataType::Utf8),
        f("grouping", DataType::Utf8),
        f("intra_mean", DataType::Float64),
        f("inter_mean", DataType::Float64),
        f("difference", DataType::Float64),
        f("difference_low", DataType::Float64),
        f("difference_high", DataType::Float64),
        f("auc", DataType::Float64),
        f("auc_low", DataType::Float64),
        f("auc_high", DataType::Float64),
        f("seeds", DataType::UInt32),
    ])
}

/// `seed-<S>/contexts_pca.parquet`: each task's context on the first three
/// principal components of its seed's contexts (PCA over tasks).
///
/// | column | type | meaning |
/// |---|---|---|
/// | `seed` | uint64 | model seed |
/// | `state` | utf8 | `after` or `before` training (each state has its own PCA) |
/// | `task` | uint16 | task index |
/// | `pc1`, `pc2`, `pc3` | float64 | scores (each PC's sign: its largest score positive) |
pub fn contexts_pca_schema() -> SchemaRef {
    schema(vec![
        f("seed", DataType::UInt64),
        f("state", DataType::Utf8),
        f("task", DataType::UInt16),
        f("pc1", DataType::Float64),
        f("pc2", DataType::Float64),
        f("pc3", DataType::Float64),
    ])
}

/// `summary/subsampling.parquet` (with a `subsample_of` claim): the coarse
/// family against the finer one at each task distance `d` of the coarse
/// family, trained and before training.
///
/// | column | type | meaning |
/// |---|---|---|
/// | `state` | utf8 | `after` or `before` |
/// | `distance` | uint32 | task distance `d` in this family |
/// | `pixels` | float64 | the pixel offset at `d` (`d` times this family's step) |
/// | `coarse_mean`, `coarse_low`, `coarse_high` | float64 | this family's mean similarity at `d`, 95 % interval across seeds |
/// | `same_pixel_mean`, `same_pixel_low`, `same_pixel_high` | float64 | the finer family's at `every d` (same pixel offset) |
/// | `same_index_mean`, `same_index_low`, `same_index_high` | float64 | the finer family's at `d` (same task index) |
/// | `pixel_difference`, `pixel_low`, `pixel_high` | float64 | coarse minus same pixel: Welch 90 % interval (two one-sided tests at 95 %) |
/// | `pixel_equivalent` | bool | the 90 % interval lies within `±margin` |
/// | `index_difference`, `index_low`, `index_high` | float64 | coarse minus same index: Welch 90 % interval |
/// | `index_outside` | bool | the 90 % interval lies wholly beyond `±margin` |
/// | `margin` | float64 | the equivalence margin |
pub fn subsampling_schema() -> SchemaRef {
    let mut fields = vec![
        f("state", DataType::Utf8),
        f("distance", DataType::UInt32),
        f("pixels", DataType::Float64),
    ];
    for name in ["coarse", "same_pixel", "same_index"] {
        for part in ["mean", "low", "high"] {
            fields.push(f(&format!("{name}_{part}"), DataType::Float64));
        }
    }
    fields.extend([
        f("pixel_difference", DataType::Float64),
        f("pixel_low", DataType::Float64),
        f("pixel_high", DataType::Float64),
        f("pixel_equivalent", DataType::Boolean),
        f("index_difference", DataType::Float64),
        f("index_low", DataType::Float64),
        f("index_high", DataType::Float64),
        f("index_outside", DataType::Boolean),
        f("margin", DataType::Float64),
    ]);
    schema(fields)
}

/// `summary/adjacency.parquet`: the adjacency profile across seeds; also
/// `summary/representation_profile.parquet` (Definition 1b).
///
/// | column | type | meaning |
/// |---|---|---|
/// | `state` | utf8 | `before` or `after` (`unmodulated` too in the representation profile) |
/// | `distance` | uint32 | task distance |
/// | `mean`, `ci_low`, `ci_high` | float64 | mean similarity at that distance, 95 % bootstrap interval across seeds |
/// | `seeds` | uint32 | seeds |
pub fn adjacency_summary_schema() -> SchemaRef {
    schema(vec![
        f("state", DataType::Utf8),
        f("distance", DataType::UInt32),
        f("mean", DataType::Float64),
        f("ci_low", DataType::Float64),
        f("ci_high", DataType::Float64),
        f("seeds", DataType::UInt32),
    ])
}

/// `summary/class_means.parquet`: the mean test image of each class in each
/// task, what reconstructions are scored against.
///
/// | column | type | meaning |
/// |---|---|---|
/// | `task`, `class` | uint16, uint8 | which images |
/// | `images` | uint32 | how many were averaged |
/// | `image` | fixed_size_list<float32>[784] | mean pixel value, 0-255 |
pub fn class_means_schema() -> SchemaRef {
    schema(vec![
        f("task", DataType::UInt16),
        f("class", DataType::UInt8),
        f("images", DataType::UInt32),
        f("image", float_image_type()),
    ])
}

/// `summary/accuracy.parquet`: each task's final test accuracy across seeds.
///
/// | column | type | meaning |
/// |---|---|---|
/// | `task` | uint16 | task index |
/// | `mean`, `ci_low`, `ci_high` | float64 | mean final-epoch test accuracy (fraction) and its 95 % bootstrap interval across seeds |
/// | `seeds` | uint32 | seeds |
/// | `values` | list<float64> | per seed, in seed order |
pub fn accuracy_summary_schema() -> SchemaRef {
    schema(vec![
        f("task", DataType::UInt16),
        f("mean", DataType::Float64),
        f("ci_low", DataType::Float64),
        f("ci_high", DataType::Float64),
        f("seeds", DataType::UInt32),
        f("values", float_list_type()),
    ])
}

/// `seed-<S>/heldout.parquet` (held-out pipelines): every method's test
/// accuracy on every task of the family, trained or not.
///
/// | column | type | meaning |
/// |---|---|---|
/// | `seed` | uint64 | model seed |
/// | `method` | utf8 | `points-nearest`, `points-interp` (the CRWN's points, an unseen task served by the nearest training task's context or by linear interpolation between its two neighbours), `shared`, `input`, `line`, `circle`, `fourierK`, each `-metric` when trained with the metric-preconditioned update |
/// | `topology` | utf8 | `points`, `none`, `line` or `circle` (for `input`: the shape of its task encoding) |
/// | `basis` | utf8 | `onehot`, `constant`, `line`, `fourierK`; `constant+input` for input conditioning |
/// | `update` | utf8 | `rmsprop` or `metric` |
/// | `parameters` | uint64 | learned numbers (points: `T (H + 1)`, manifolds `K H`, input `H + E H`) |
/// | `task` | uint16 | task index |
/// | `s` | float64 | the task variable in `[0, 1)` |
/// | `split` | utf8 | `seen` (trained), `interpolated` (untrained, inside the training arc), `extrapolated` (outside it) |
/// | `seen` | bool | `split == "seen"` |
/// | `accuracy` | float64 | fraction correct on all of the task's test images |
pub fn heldout_schema() -> SchemaRef {
    schema(vec![
        f("seed", DataType::UInt64),
        f("method", DataType::Utf8),
        f("topology", DataType::Utf8),
        f("basis", DataType::Utf8),
        f("update", DataType::Utf8),
        f("parameters", DataType::UInt64),
        f("task", DataType::UInt16),
        f("s", DataType::Float64),
        f("split", DataType::Utf8),
        f("seen", DataType::Boolean),
        f("accuracy", DataType::Float64),
    ])
}

/// `seed-<S>/context_cosine.parquet` (held-out pipelines): each jointly
/// trained method's contexts at the training tasks, compared with
/// themselves and with the CRWN's per-task contexts.
///
/// | column | type | meaning |
/// |---|---|---|
/// | `seed` | uint64 | model seed |
/// | `method` | utf8 | a method with a model file (`points` is the CRWN) |
/// | `kind` | utf8 | `self`: `cos(c(s_i), c(s_j))` within the method; `crwn`: `cos(c(s_i), c_j)` with the CRWN's context of training task `j` |
/// | `task_i`, `task_j` | uint16 | training tasks (family indices) |
/// | `cosine` | float64 | the cosine similarity |
pub fn context_cosine_schema() -> SchemaRef {
    schema(vec![
        f("seed", DataType::UInt64),
        f("method", DataType::Utf8),
        f("kind", DataType::Utf8),
        f("task_i", DataType::UInt16),
        f("task_j", DataType::UInt16),
        f("cosine", DataType::Float64),
    ])
}

/// `summary/heldout.parquet` (held-out pipelines): the comparison table.
///
/// | column | type | meaning |
/// |---|---|---|
/// | `method`, `topology`, `basis`, `update`, `parameters` | | as in the per-seed table |
/// | `split` | utf8 | `seen`, `interpolated`, `extrapolated`, or `unseen` (every untrained task) |
/// | `tasks` | uint32 | tasks in the split |
/// | `mean` | float64 | mean over seeds of the mean accuracy over the split's tasks |
/// | `ci_low`, `ci_high` | float64 | 95 % Student-t interval across seeds (NaN with one seed) |
/// | `seeds` | uint32 | seeds |
pub fn heldout_summary_schema() -> SchemaRef {
    schema(vec![
        f("method", DataType::Utf8),
        f("topology", DataType::Utf8),
        f("basis", DataType::Utf8),
        f("update", DataType::Utf8),
        f("parameters", DataType::UInt64),
        f("split", DataType::Utf8),
        f("tasks", DataType::UInt32),
        f("mean", DataType::Float64),
        f("ci_low", DataType::Float64),
        f("ci_high", DataType::Float64),
        f("seeds", DataType::UInt32),
    ])
}

/// `summary/heldout_curve.parquet` (held-out pipelines): accuracy as a
/// function of the task variable, per method.
///
/// | column | type | meaning |
/// |---|---|---|
/// | `method` | utf8 | as in the per-seed table |
/// | `task` | uint16 | task index |
/// | `s` | float64 | task variable |
/// | `split` | utf8 | `seen`, `interpolated` or `extrapolated` |
/// | `mean`, `ci_low`, `ci_high` | float64 | test accuracy across seeds, 95 % Student-t interval |
/// | `seeds` | uint32 | seeds |
pub fn heldout_curve_schema() -> SchemaRef {
    schema(vec![
        f("method", DataType::Utf8),
        f("task", DataType::UInt16),
        f("s", DataType::Float64),
        f("split", DataType::Utf8),
        f("mean", DataType::Float64),
        f("ci_low", DataType::Float64),
        f("ci_high", DataType::Float64),
        f("seeds", DataType::UInt32),
    ])
}

/// `summary/context_cosine.parquet` (held-out pipelines): the per-seed
/// table's cosines averaged over seeds.
///
/// | column | type | meaning |
/// |---|---|---|
/// | `method`, `kind`, `task_i`, `task_j` | | as in the per-seed table |
/// | `mean` | float64 | mean cosine over seeds |
/// | `seeds` | uint32 | seeds |
pub fn context_cosine_summary_schema() -> SchemaRef {
    schema(vec![
        f("method", DataType::Utf8),
        f("kind", DataType::Utf8),
        f("task_i", DataType::UInt16),
        f("task_j", DataType::UInt16),
        f("mean", DataType::Float64),
        f("seeds", DataType::UInt32),
    ])
}
