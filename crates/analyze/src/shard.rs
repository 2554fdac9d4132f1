//! One seed's analyses (`analyze/seed-<S>/`): everything that needs the
//! seed's model, written as tables with a `seed` column, plus every scalar
//! measured into `statistics.parquet`.
//!
//! Every statistic is measured by the same function on the trained
//! contexts (`after`) and on its controls (docs/METHOD.md, "Controls"):
//! the contexts before training (`before`), no modulation (`unmodulated`,
//! every `c_t = 1`) where the statistic is about representations, and the
//! task order shuffled (`permuted`, the mean over
//! [`PERMUTATIONS`] relabellings of the trained matrices) where the
//! statistic is about task order. Each statistic's row says its state.

use crate::claims::{spec_statistics, AFTER, BEFORE, PERMUTED, UNMODULATED};
use crate::{clustering, cross_task, pca, reconstruction, similarity, stats, tgsh, AnalyzeError};
use arrow_array::{ArrayRef, Float64Array, StringArray, UInt16Array, UInt32Array, UInt64Array, UInt8Array};
use rand::seq::SliceRandom;
use rayon::prelude::*;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use tgsh_common::config::{AnalyzeConfig, ClaimSpec, Topology};
use tgsh_common::schema::analysis::{AdjacencyRow, RepresentationProfileRow};
use tgsh_common::schema::analysis::{
    ClusterRow, ContextsPcaRow, CrossTaskRow, DendrogramRow, ReconstructionRow, SeedStatisticRow, SimilarityRow,
    TgshPairRow,
};
use tgsh_common::schema::{self, analysis, Table};
use tgsh_common::PIXELS;
use tgsh_model::{model::ANALYSIS_STREAMS, seeded, EncodedImages, Model};

/// Task-order relabellings averaged for the `permuted` control.
pub const PERMUTATIONS: usize = 200;

/// Test images per task (the first ones) on which the cross-task accuracy
/// of the contexts before training is measured. Scoring is the analysis'
/// largest cost and grows with the contexts scored; the initial contexts
/// sit at chance, where 1,000 images pin an accuracy to about ±2 points.
/// With fewer test images, all of them.
pub const CONTROL_CROSS_TASK_IMAGES: usize = 1000;

/// The steps of one seed's analysis, in order (for progress and timings).
pub const STEPS: [&str; 6] = [
    "similarity",
    "clustering",
    "contexts PCA",
    "cross-task accuracy",
    "T-GSH pairs and representation profile",
    "pseudo-inverse reconstruction",
];

/// What every seed's analysis reads from the data stage, loaded once.
pub struct TestSet {
    /// Task names, in order.
    pub names: Vec<String>,
    /// Test images of each task, concatenated.
    pub images: Vec<Vec<u8>>,
    /// Test labels (the same in every task).
    pub labels: Vec<u8>,
}

impl TestSet {
    /// Reads `tasks.parquet` and `test.parquet`.
    pub fn load(tasks: &Path, test: &Path) -> Result<TestSet, AnalyzeError> {
        let names = schema::read_parquet(tasks, &schema::tasks_schema())?.strings("name")?;
        let table = schema::read_parquet(test, &schema::images_schema())?;
        let task_col = table.primitive::<arrow_array::types::UInt16Type>("task")?;
        let label_col = table.primitive::<arrow_array::types::UInt8Type>("label")?;
        let pixels = table.images()?;
        let mut images = vec![Vec::new(); names.len()];
        let mut labels: Vec<Vec<u8>> = vec![Vec::new(); names.len()];
        for (row, (&t, &label)) in task_col.iter().zip(&label_col).enumerate() {
            let t = t as usize;
            if t >= names.len() {
                return Err(AnalyzeError::Inconsistent(format!(
                    "{}: row {row} has task {t}, but {} lists {} tasks",
                    test.display(),
                    tasks.display(),
                    names.len()
                )));
            }
            images[t].extend_from_slice(&pixels[row * PIXELS..(row + 1) * PIXELS]);
            labels[t].push(label);
        }
        if labels.iter().any(|l| l != &labels[0]) {
            return Err(AnalyzeError::Inconsistent(format!(
                "{}: the tasks' test labels differ; every task must hold the same test images, transformed",
                test.display()
            )));
        }
        Ok(TestSet {
            names,
            images,
            labels: labels.swap_remove(0),
        })
    }

    /// The index of the task named `name`.
    pub fn task(&self, name: &str) -> usize {
        self.names
            .iter()
            .position(|n| n == name)
            .expect("task names are validated with the config")
    }
}

/// The final-epoch test accuracy of each task from a shard's
/// `metrics.parquet`, whose float columns must be finite and which must have
/// a row for every task.
pub fn final_accuracies(path: &Path, tasks: usize) -> Result<Vec<f64>, AnalyzeError> {
    let table = schema::read_parquet(path, &schema::metrics_schema())?;
    let task = table.primitive::<arrow_array::types::UInt16Type>("task")?;
    let epoch = table.primitive::<arrow_array::types::UInt32Type>("epoch")?;
    table.finite_f64("loss")?;
    table.finite_f64("train_accuracy")?;
    let acc = table.finite_f64("test_accuracy")?;
    let mut best = vec![(0u32, f64::NAN); tasks];
    for ((&t, &e), &a) in task.iter().zip(&epoch).zip(&acc) {
        if let Some(slot) = best.get_mut(t as usize) {
            if e >= slot.0 {
                *slot = (e, a);
            }
        }
    }
    if let Some(missing) = best.iter().position(|(_, a)| a.is_nan()) {
        return Err(AnalyzeError::Inconsistent(format!(
            "{}: no row for task {missing}, but the pipeline has {tasks} tasks: every task needs its test accuracy",
            path.display()
        )));
    }
    Ok(best.into_iter().map(|(_, a)| a).collect())
}

/// How far the cross-task diagonal may be from the trained test accuracy in
/// `metrics.parquet`: two test images, or 0.2 percentage points when that is
/// more, for a trainer whose matrix products round differently (another
/// device); this project's CPU trainer gives the same numbers exactly.
pub fn diagonal_tolerance(test_images: usize) -> f64 {
    (2.0 / test_images.max(1) as f64).max(0.002)
}

/// Fails, naming both files, when the diagonal of `cross` (context `t` on
/// task `t`'s test images, computed from the model file `model`) is not the
/// final test accuracy `trained[t]` that `metrics` records.
pub fn check_diagonal(
    cross: &[f64],
    trained: &[f64],
    test_images: usize,
    model: &Path,
    metrics: &Path,
) -> Result<(), AnalyzeError> {
    let n = trained.len();
    assert_eq!(cross.len(), n * n, "a T x T cross-task matrix");
    let tolerance = diagonal_tolerance(test_images);
    for (t, &recorded) in trained.iter().enumerate() {
        let computed = cross[t * n + t];
        if (computed - recorded).abs() > tolerance {
            return Err(AnalyzeError::Inconsistent(format!(
                "task {t}: the test accuracy computed from {} is {:.4} but {} records {:.4} (allowed difference \
                 {tolerance:.4}): the model file and its metrics disagree (a damaged or swapped file?); retrain \
                 with `tgsh-train --force`",
                model.display(),
                computed,
                metrics.display(),
                recorded
            )));
        }
    }
    Ok(())
}

/// A measured scalar: `(statistic, state, value)`.
pub type Statistic = (String, &'static str, f64);

/// Everything one seed's analysis produces, before writing.
pub struct ShardTables {
    seed: u64,
    n: usize,
    similarity: [Vec<f64>; 2],
    adjacency: Vec<(&'static str, similarity::Profile)>,
    cross_task: Vec<(&'static str, Vec<f64>)>,
    reconstructions: Vec<(&'static str, Vec<reconstruction::Reconstruction>)>,
    tgsh_samples: Vec<(&'static str, &'static str, &'static str, Vec<f64>)>,
    representation: Vec<(&'static str, similarity::Profile)>,
    pca: Vec<(&'static str, pca::Pca)>,
    tree: clustering::Dendrogram,
    labels: Vec<usize>,
    /// The scalars, in the order measured.
    pub statistics: Vec<Statistic>,
}

impl ShardTables {
    /// The value of `statistic` in `state`, if measured.
    pub fn statistic(&self, statistic: &str, state: &str) -> Option<f64> {
        self.statistics
            .iter()
            .find(|(name, s, _)| name == statistic && *s == state)
            .map(|s| s.2)
    }
}

/// The mean of each statistic over [`PERMUTATIONS`] relabellings of the
/// tasks, `measure` applied to each relabelling `p` (a permutation of `0..n`).
fn permutation_null(
    n: usize,
    rng: &mut impl rand::Rng,
    measure: impl Fn(&[usize]) -> Vec<(String, f64)>,
) -> Vec<(String, f64)> {
    let mut sums: Vec<(String, f64, usize)> = Vec::new();
    let mut p: Vec<usize> = (0..n).collect();
    for _ in 0..PERMUTATIONS {
        p.shuffle(rng);
        for (k, (name, value)) in measure(&p).into_iter().enumerate() {
            if sums.len() <= k {
                sums.push((name, 0.0, 0));
            }
            if value.is_finite() {
                sums[k].1 += value;
                sums[k].2 += 1;
            }
        }
    }
    sums.into_iter()
        .map(|(name, sum, count)| (name, if count > 0 { sum / count as f64 } else { f64::NAN }))
        .collect()
}

/// The statistics of the family-specific claims on one similarity matrix
/// and its merge tree.
fn spec_values(specs: &[ClaimSpec], sim: &[f64], tree: &clustering::Dendrogram, test: &TestSet) -> Vec<(String, f64)> {
    let n = test.names.len();
    let mut out = Vec::new();
    for spec in specs {
        let names = spec_statistics(spec);
        match spec {
            ClaimSpec::SameCluster { tasks, clusters } => {
                let group: Vec<usize> = tasks.iter().map(|t| test.task(t)).collect();
                out.push((names[0].clone(), tree.group_margin(&group, *clusters)));
            }
            ClaimSpec::NearestGroup { task, nearest } => {
                let anchor = test.task(task);
                let members: Vec<usize> = nearest.iter().map(|t| test.task(t)).collect();
                out.push((names[0].clone(), similarity::nearest_margin(sim, n, anchor, &members)));
                let mut group = vec![anchor];
                group.extend(&members);
                out.push((names[1].clone(), tree.clade_margin(&group)));
            }
            ClaimSpec::Outgroup { task } => {
                let t = test.task(task);
                let max = (0..n)
                    .filter(|&j| j != t)
                    .map(|j| sim[t * n + j])
                    .fold(f64::NEG_INFINITY, f64::max);
                out.push((names[0].clone(), max));
            }
            ClaimSpec::MoreSimilar { pair, than } => {
                let s = |a: &str, b: &str| sim[test.task(a) * n + test.task(b)];
                out.push((names[0].clone(), s(&pair[0], &pair[1]) - s(&than[0], &than[1])));
            }
            // Measured from the cross-task diagonal, or by the summary (across pipelines).
            ClaimSpec::MeanAccuracyAtLeast { .. }
            | ClaimSpec::MeanAccuracyEquivalent { .. }
            | ClaimSpec::SubsampleOf { .. } => {}
        }
    }
    out
}

/// The statistics of one cross-task accuracy matrix (`[i * n + j]`, context
/// `i` on task `j`, fractions) beside the contexts' similarity matrix:
/// accuracies in %.
fn cross_task_values(cross: &[f64], sim: &[f64], n: usize, topology: Topology) -> Vec<(String, f64)> {
    let (acc_off, sim_off): (Vec<f64>, Vec<f64>) = (0..n)
        .flat_map(|i| (0..n).filter(move |&j| j != i).map(move |j| (i, j)))
        .map(|(i, j)| (cross[i * n + j], sim[i * n + j]))
        .unzip();
    let diagonal: Vec<f64> = (0..n).map(|i| 100.0 * cross[i * n + i]).collect();
    vec![
        (
            "cross_task.similarity_spearman".into(),
            if acc_off.len() >= 3 {
                stats::spearman(&acc_off, &sim_off)
            } else {
                f64::NAN
            },
        ),
        (
            "cross_task.best_other_is_adjacent".into(),
            similarity::best_other_is_adjacent(cross, n, topology),
        ),
        ("cross_task.diagonal_mean".into(), stats::mean(&diagonal)),
        ("cross_task.off_diagonal_mean".into(), 100.0 * stats::mean(&acc_off)),
    ]
}

/// The accuracy statistics of one state, from its cross-task diagonal (the
/// trained one equals `metrics.parquet`'s final test accuracy, exactly).
fn accuracy_values(cross: &[f64], n: usize, reference: Option<f64>) -> Vec<(String, f64)> {
    let diagonal: Vec<f64> = (0..n).map(|i| 100.0 * cross[i * n + i]).collect();
    let mean = stats::mean(&diagonal);
    let mut out = vec![
        ("accuracy.mean_final".to_string(), mean),
        (
            "accuracy.min_final".to_string(),
            diagonal.iter().copied().fold(f64::INFINITY, f64::min),
        ),
    ];
    if let Some(reference) = reference {
        out.push(("accuracy.mean_final_minus_reference".into(), mean - reference));
    }
    out
}

/// Runs every per-seed analysis on `model`. `on_step` is told each step of
/// [`STEPS`] as it starts.
pub fn analyze_seed(
    model: &Model,
    test: &TestSet,
    config: &AnalyzeConfig,
    topology: Topology,
    mut on_step: impl FnMut(&str),
) -> Result<ShardTables, AnalyzeError> {
    let n = test.names.len();
    if model.after.len() != n || model.before.len() != n {
        return Err(AnalyzeError::Inconsistent(format!(
            "the model of seed {} has {} tasks (before training: {}) but tasks.parquet lists {n}",
            model.seed,
            model.after.len(),
            model.before.len()
        )));
    }
    let seed = model.seed;
    let h = model.hidden();
    let mut statistics: Vec<Statistic> = Vec::new();
    let mut stat = |state: &'static str, values: Vec<(String, f64)>| {
        statistics.extend(values.into_iter().map(|(name, v)| (name, state, v)));
    };
    let mut null_rng = seeded(seed, ANALYSIS_STREAMS + 3);

    // Task similarity before and after training.
    on_step(STEPS[0]);
    // The model file's contexts (`context.before`, `context.after`), checked
    // against its factors when loaded.
    let before: Vec<Vec<f32>> = model.contexts_before();
    let after: Vec<Vec<f32>> = model.contexts_after();
    let sim = [
        similarity::similarity_matrix(&before),
        similarity::similarity_matrix(&after),
    ];
    let mut adjacency = Vec::new();
    for (state, m) in [BEFORE, AFTER].into_iter().zip(&sim) {
        stat(state, similarity::statistics(m, n, topology));
        adjacency.push((state, similarity::adjacency_profile(m, n, topology)));
    }
    if crate::claims::has_adjacency(topology, n) {
        let null = permutation_null(n, &mut null_rng, |p| {
            similarity::statistics(&similarity::permuted(&sim[1], n, p), n, topology)
        });
        stat(PERMUTED, null);
    }

    // Clustering of the trained contexts; the family's claims on both states.
    on_step(STEPS[1]);
    let trees: Vec<clustering::Dendrogram> = sim
        .iter()
        .map(|m| clustering::dendrogram(&clustering::condensed_cosine_distance(m, n), n, config.linkage))
        .collect();
    let tree = trees[1].clone();
    stat(
        AFTER,
        vec![(
            "clustering.cophenetic_correlation".into(),
            if n >= 3 {
                clustering::cophenetic_correlation(&clustering::condensed_cosine_distance(&sim[1], n), &tree)
            } else {
                f64::NAN
            },
        )],
    );
    let labels = clustering::linfa_labels(&sim[1], n, config.clusters, config.linkage);
    if labels != tree.cut(config.clusters) {
        eprintln!(
            "analyze: warning: seed {seed}: linfa-hierarchical's clusters differ from the merge tree's cut (ties in the distances?)"
        );
    }
    for ((state, m), t) in [BEFORE, AFTER].into_iter().zip(&sim).zip(&trees) {
        stat(state, spec_values(&config.claims, m, t, test));
    }

    // The contexts as a manifold.
    on_step(STEPS[2]);
    let circle = topology == Topology::Circle;
    let mut pcas = Vec::new();
    for (state, contexts) in [(AFTER, &after), (BEFORE, &before)] {
        let p = pca::pca(contexts);
        stat(state, pca::statistics(&p, circle));
        pcas.push((state, p));
    }

    // Cross-task accuracy: the trained contexts on every test image, the
    // initial ones on the first CONTROL_CROSS_TASK_IMAGES of each task.
    on_step(STEPS[3]);
    let control_images = test.labels.len().min(CONTROL_CROSS_TASK_IMAGES);
    let control_set: Vec<Vec<u8>> = test
        .images
        .iter()
        .map(|images| images[..control_images * PIXELS].to_vec())
        .collect();
    let cross = [
        cross_task::cross_task_accuracy(model, &after, &test.images, &test.labels, || {}),
        cross_task::cross_task_accuracy(model, &before, &control_set, &test.labels[..control_images], || {}),
    ];
    let reference = config.claims.iter().find_map(|c| match c {
        ClaimSpec::MeanAccuracyEquivalent { percent, .. } | ClaimSpec::MeanAccuracyAtLeast { percent, .. } => {
            Some(*percent)
        }
        _ => None,
    });
    for (state, c, s) in [(AFTER, &cross[0], &sim[1]), (BEFORE, &cross[1], &sim[0])] {
        stat(state, accuracy_values(c, n, reference));
        stat(state, cross_task_values(c, s, n, topology));
    }
    if n >= 3 {
        let null = permutation_null(n, &mut null_rng, |p| {
            cross_task_values(&similarity::permuted(&cross[0], n, p), &sim[1], n, topology)
                .into_iter()
                .take(2)
                .collect()
        });
        stat(PERMUTED, null);
    }

    // T-GSH and Definition 1b: representations of the same images in every state.
    on_step(STEPS[4]);
    let mut rng = seeded(seed, ANALYSIS_STREAMS + 1);
    let selection = tgsh::select(&test.labels, config.tgsh_per_class, &mut rng);
    let encoded: Vec<EncodedImages> = (0..n)
        .map(|t| {
            let picked: Vec<u8> = selection
                .images
                .iter()
                .flat_map(|&i| test.images[t][i * PIXELS..(i + 1) * PIXELS].iter().copied())
                .collect();
            model.encoder.encode_rows(&picked, None)
        })
        .collect();
    let ones = vec![vec![1.0f32; h]; n];
    let mut tgsh_samples = Vec::new();
    let mut representation = Vec::new();
    for (state, contexts) in [(AFTER, &after), (BEFORE, &before), (UNMODULATED, &ones)] {
        let reps: Vec<Vec<Vec<f32>>> = (0..n)
            .into_par_iter()
            .map(|t| {
                (0..encoded[t].len())
                    .map(|i| tgsh::normalised(tgsh_model::forward::representation(encoded[t].rows(), i, &contexts[t])))
                    .collect()
            })
            .collect();
        // Every state samples the same pairs.
        let mut sample_rng = seeded(seed, ANALYSIS_STREAMS + 2);
        for (grouping, groups) in tgsh::GROUPINGS.into_iter().zip(&selection.groups) {
            let pairs = tgsh::pairs(&reps, groups);
            stat(state, tgsh::statistics(grouping, &pairs));
            for (kind, values) in [("intra", &pairs.intra), ("inter", &pairs.inter)] {
                tgsh_samples.push((
                    state,
                    grouping,
                    kind,
                    tgsh::sample(values, config.tgsh_pair_sample, &mut sample_rng),
                ));
            }
        }
        let same_image = tgsh::same_image_similarity(&reps);
        stat(
            state,
            vec![(
                "representation.distance_spearman".into(),
                similarity::distance_correlation(&same_image, n, topology),
            )],
        );
        representation.push((state, similarity::adjacency_profile(&same_image, n, topology)));
    }

    // Reconstruction by pseudo-inverse, with and without the notebook's noise.
    on_step(STEPS[5]);
    let w1: Vec<f64> = model.encoder.dense_weight().iter().map(|&v| v as f64).collect();
    let w1 = ndarray::Array2::from_shape_vec((h, PIXELS), w1).expect("H x 784");
    let pinv = reconstruction::pinv(w1.view()).map_err(|e| AnalyzeError::Linalg(e.to_string()))?;
    let means = reconstruction::class_means(&test.images, &test.labels);
    let mut reconstructions = Vec::new();
    // Every state draws the same noise.
    for (state, contexts) in [(AFTER, &after), (BEFORE, &before), (UNMODULATED, &ones)] {
        for noisy in [true, false] {
            let mut noise_rng = seeded(seed, ANALYSIS_STREAMS);
            let r = reconstruction::reconstruct(&pinv, &model.decoder, contexts, &means, noisy, &mut noise_rng);
            let prefix = if noisy {
                "reconstruction"
            } else {
                "reconstruction.noise_free"
            };
            stat(state, reconstruction::statistics(prefix, &r));
            if state == AFTER {
                reconstructions.push((if noisy { "noisy" } else { "noise-free" }, r));
            }
        }
    }

    Ok(ShardTables {
        seed,
        n,
        similarity: sim,
        adjacency,
        cross_task: vec![(AFTER, cross[0].clone()), (BEFORE, cross[1].clone())],
        reconstructions,
        tgsh_samples,
        representation,
        pca: pcas,
        tree,
        labels,
        statistics,
    })
}

fn u64s(seed: u64, len: usize) -> ArrayRef {
    Arc::new(UInt64Array::from(vec![seed; len]))
}

fn texts<'a>(values: impl IntoIterator<Item = &'a str>) -> ArrayRef {
    Arc::new(StringArray::from(values.into_iter().collect::<Vec<_>>()))
}

fn floats(values: impl IntoIterator<Item = f64>) -> ArrayRef {
    Arc::new(Float64Array::from(values.into_iter().collect::<Vec<_>>()))
}

fn u32s(values: impl IntoIterator<Item = u32>) -> ArrayRef {
    Arc::new(UInt32Array::from(values.into_iter().collect::<Vec<_>>()))
}

fn u16s(values: impl IntoIterator<Item = u16>) -> ArrayRef {
    Arc::new(UInt16Array::from(values.into_iter().collect::<Vec<_>>()))
}

/// Profiles by state as rows `(state, distance, mean, pairs)`.
fn profile_rows(profiles: &[(&'static str, similarity::Profile)]) -> Vec<(&'static str, usize, f64, usize)> {
    profiles
        .iter()
        .flat_map(|(state, profile)| profile.iter().map(move |&(d, m, c)| (*state, d, m, c)))
        .collect()
}

impl ShardTables {
    /// Checks that the trained contexts' cross-task diagonal, computed from
    /// `model`, equals `trained`, the final test accuracies that `metrics`
    /// records (see [`check_diagonal`]).
    pub fn check_diagonal(
        &self,
        trained: &[f64],
        test_images: usize,
        model: &Path,
        metrics: &Path,
    ) -> Result<(), AnalyzeError> {
        let after = &self
            .cross_task
            .iter()
            .find(|(s, _)| *s == AFTER)
            .expect("the trained contexts' matrix")
            .1;
        check_diagonal(after, trained, test_images, model, metrics)
    }

    /// Writes every table into `dir`.
    pub fn write(&self, dir: &Path) -> Result<(), AnalyzeError> {
        let (seed, n) = (self.seed, self.n);
        let meta = BTreeMap::from([
            ("tgsh_version".to_string(), tgsh_common::VERSION.to_string()),
            ("seed".to_string(), seed.to_string()),
        ]);
        let write = |name: &str, schema: arrow_schema::SchemaRef, columns: Vec<ArrayRef>| -> Result<(), AnalyzeError> {
            let path = dir.join(name);
            let batch = schema::batch(&path, schema, columns)?;
            schema::write_parquet(&path, &batch, &meta)?;
            Ok(())
        };
        let pairs = |n: usize| -> (Vec<u16>, Vec<u16>) { (0..n * n).map(|k| ((k / n) as u16, (k % n) as u16)).unzip() };

        let (is, js) = pairs(n);
        write(
            SimilarityRow::FILE,
            schema::similarity_schema(),
            vec![
                u64s(seed, 2 * n * n),
                texts([BEFORE, AFTER].iter().flat_map(|s| std::iter::repeat_n(*s, n * n))),
                u16s([is.clone(), is.clone()].concat()),
                u16s([js.clone(), js.clone()].concat()),
                floats([self.similarity[0].clone(), self.similarity[1].clone()].concat()),
            ],
        )?;

        let states = self.cross_task.len();
        write(
            CrossTaskRow::FILE,
            analysis::cross_task_schema(),
            vec![
                u64s(seed, states * n * n),
                texts(self.cross_task.iter().flat_map(|(s, _)| std::iter::repeat_n(*s, n * n))),
                u16s(is.repeat(states)),
                u16s(js.repeat(states)),
                floats(self.cross_task.iter().flat_map(|(_, m)| m.iter().copied())),
            ],
        )?;

        for (name, schema, rows) in [
            (
                AdjacencyRow::FILE,
                AdjacencyRow::schema(),
                profile_rows(&self.adjacency),
            ),
            (
                RepresentationProfileRow::FILE,
                RepresentationProfileRow::schema(),
                profile_rows(&self.representation),
            ),
        ] {
            write(
                name,
                schema,
                vec![
                    u64s(seed, rows.len()),
                    texts(rows.iter().map(|a| a.0)),
                    u32s(rows.iter().map(|a| a.1 as u32)),
                    floats(rows.iter().map(|a| a.2)),
                    u32s(rows.iter().map(|a| a.3 as u32)),
                ],
            )?;
        }

        let r: Vec<(&str, &reconstruction::Reconstruction)> = self
            .reconstructions
            .iter()
            .flat_map(|(z, rows)| rows.iter().map(move |r| (*z, r)))
            .collect();
        write(
            ReconstructionRow::FILE,
            analysis::reconstruction_schema(),
            vec![
                u64s(seed, r.len()),
                texts(r.iter().map(|r| r.0)),
                u16s(r.iter().map(|r| r.1.task as u16)),
                Arc::new(UInt8Array::from(r.iter().map(|r| r.1.class as u8).collect::<Vec<_>>())),
                schema::float_image_column(r.iter().flat_map(|r| r.1.image.iter().copied()).collect()),
                floats(r.iter().map(|r| r.1.own_correlation)),
                u16s(r.iter().map(|r| r.1.best_task as u16)),
                Arc::new(UInt8Array::from(
                    r.iter().map(|r| r.1.best_class as u8).collect::<Vec<_>>(),
                )),
                floats(r.iter().map(|r| r.1.own_task_rank)),
            ],
        )?;

        let samples: Vec<(&str, &str, &str, f64)> = self
            .tgsh_samples
            .iter()
            .flat_map(|(s, g, k, values)| values.iter().map(move |&v| (*s, *g, *k, v)))
            .collect();
        write(
            TgshPairRow::FILE,
            analysis::tgsh_pairs_schema(),
            vec![
                u64s(seed, samples.len()),
                texts(samples.iter().map(|s| s.0)),
                texts(samples.iter().map(|s| s.1)),
                texts(samples.iter().map(|s| s.2)),
                floats(samples.iter().map(|s| s.3)),
            ],
        )?;

        let scores: Vec<(&str, usize, [f64; 3])> = self
            .pca
            .iter()
            .flat_map(|(state, p)| p.scores.iter().enumerate().map(move |(t, s)| (*state, t, *s)))
            .collect();
        write(
            ContextsPcaRow::FILE,
            analysis::contexts_pca_schema(),
            vec![
                u64s(seed, scores.len()),
                texts(scores.iter().map(|s| s.0)),
                u16s(scores.iter().map(|s| s.1 as u16)),
                floats(scores.iter().map(|s| s.2[0])),
                floats(scores.iter().map(|s| s.2[1])),
                floats(scores.iter().map(|s| s.2[2])),
            ],
        )?;

        let mut columns = vec![u64s(seed, self.tree.merges.len())];
        columns.extend(dendrogram_columns(&self.tree));
        write(DendrogramRow::FILE, analysis::dendrogram_schema(true), columns)?;
        let mut columns = vec![u64s(seed, n)];
        columns.extend(cluster_columns(&self.tree, &self.labels));
        write(ClusterRow::FILE, analysis::clusters_schema(true), columns)?;

        write_seed_statistics(&dir.join(SeedStatisticRow::FILE), seed, &self.statistics, &meta)
    }
}

/// Writes a seed shard's `statistics.parquet` (shared with held-out shards).
pub(crate) fn write_seed_statistics(
    path: &Path,
    seed: u64,
    statistics: &[Statistic],
    meta: &BTreeMap<String, String>,
) -> Result<(), AnalyzeError> {
    let batch = schema::batch(
        path,
        analysis::seed_statistics_schema(),
        vec![
            u64s(seed, statistics.len()),
            texts(statistics.iter().map(|s| s.0.as_str())),
            texts(statistics.iter().map(|s| s.1)),
            floats(statistics.iter().map(|s| s.2)),
        ],
    )?;
    Ok(schema::write_parquet(path, &batch, meta)?)
}

/// The columns of a dendrogram table after `seed`.
pub fn dendrogram_columns(tree: &clustering::Dendrogram) -> Vec<ArrayRef> {
    let m = &tree.merges;
    vec![
        u32s(0..m.len() as u32),
        u32s(m.iter().map(|m| m.left as u32)),
        u32s(m.iter().map(|m| m.right as u32)),
        floats(m.iter().map(|m| m.height)),
        u32s(m.iter().map(|m| m.size as u32)),
    ]
}

/// The columns of a clusters table after `seed`.
pub fn cluster_columns(tree: &clustering::Dendrogram, labels: &[usize]) -> Vec<ArrayRef> {
    let order = tree.leaf_order();
    let mut position = vec![0u32; tree.n];
    for (p, &t) in order.iter().enumerate() {
        position[t] = p as u32;
    }
    vec![
        u16s(0..tree.n as u16),
        u32s(labels.iter().map(|&l| l as u32)),
        u32s(position),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use tgsh_common::config::TrainConfig;

    /// A small model whose contexts were never updated (after = before),
    /// on 4 tasks of 40 synthetic images.
    fn untrained() -> (Model, TestSet) {
        let config = TrainConfig {
            hidden: 64,
            ..TrainConfig::default()
        };
        let mut model = Model::new(&config, 3);
        for t in 0..4 {
            model.before.push(model.init_task(t));
        }
        model.after = model.before.clone();
        let labels: Vec<u8> = (0..40).map(|i| (i % 10) as u8).collect();
        let images = (0..4)
            .map(|t| {
                (0..40 * PIXELS)
                    .map(|i| (((i / PIXELS) * 37 + (i % PIXELS) * (t + 5)) % 251) as u8)
                    .collect()
            })
            .collect();
        let test = TestSet {
            names: (0..4).map(|t| format!("task {t}")).collect(),
            images,
            labels,
        };
        (model, test)
    }

    #[test]
    fn an_untrained_model_has_trained_statistics_equal_to_its_before_training_ones() {
        crate::reconstruction::single_threaded_blas();
        let (model, test) = untrained();
        let config = AnalyzeConfig {
            tgsh_per_class: 2,
            clusters: 2,
            ..AnalyzeConfig::default()
        };
        let mut steps = Vec::new();
        let tables = analyze_seed(&model, &test, &config, Topology::Circle, |s| steps.push(s.to_string())).unwrap();
        assert_eq!(steps, STEPS);
        let mut compared = 0;
        for (name, state, value) in tables.statistics.iter().filter(|s| s.1 == AFTER) {
            let Some(before) = tables.statistic(name, BEFORE) else {
                assert_eq!(
                    name, "clustering.cophenetic_correlation",
                    "{name} has no before-training value"
                );
                continue;
            };
            assert!(
                value.to_bits() == before.to_bits() || (value.is_nan() && before.is_nan()),
                "{name}: {state} {value} != before {before}"
            );
            compared += 1;
        }
        assert!(compared >= 30, "{compared} statistics compared");
        // The controls exist beside them.
        assert!(tables.statistic("tgsh.label.auc", UNMODULATED).is_some());
        assert!(tables.statistic("similarity.nearest_is_adjacent", PERMUTED).is_some());
    }
}
