//! One seed's analyses (`analyze/seed-<S>/`): everything that needs the
//! seed's model, written as tables with a `seed` column, plus every scalar
//! measured into `statistics.parquet`.

use crate::claims::spec_statistic;
use crate::{clustering, cross_task, reconstruction, similarity, stats, tgsh, AnalyzeError};
use arrow::array::{ArrayRef, Float64Array, StringArray, UInt16Array, UInt32Array, UInt64Array, UInt8Array};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use tgsh_common::config::{AnalyzeConfig, ClaimSpec, Topology};
use tgsh_common::schema::{self, analysis};
use tgsh_common::PIXELS;
use tgsh_model::{model::ANALYSIS_STREAMS, seeded, Model};

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
        let task_col = table.primitive::<arrow::datatypes::UInt16Type>("task")?;
        let label_col = table.primitive::<arrow::datatypes::UInt8Type>("label")?;
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
    let task = table.primitive::<arrow::datatypes::UInt16Type>("task")?;
    let epoch = table.primitive::<arrow::datatypes::UInt32Type>("epoch")?;
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

/// Everything one seed's analysis produces, before writing.
pub struct ShardTables {
    seed: u64,
    n: usize,
    similarity: [Vec<f64>; 2],
    adjacency: Vec<(&'static str, similarity::Profile)>,
    cross_task: Vec<f64>,
    reconstructions: Vec<reconstruction::Reconstruction>,
    tgsh_samples: Vec<(&'static str, &'static str, Vec<f64>)>,
    tree: clustering::Dendrogram,
    labels: Vec<usize>,
    /// Each task's final test accuracy as `metrics.parquet` records it.
    trained: Vec<f64>,
    /// The scalars, in the order measured.
    pub statistics: Vec<(String, f64)>,
}

/// Runs every per-seed analysis on `model`. `on_step` is told the stage of
/// work. [`ShardTables::check_diagonal`] then checks the model against
/// `metrics`.
pub fn analyze_seed(
    model: &Model,
    metrics: &Path,
    test: &TestSet,
    config: &AnalyzeConfig,
    topology: Topology,
    mut on_step: impl FnMut(&str),
) -> Result<ShardTables, AnalyzeError> {
    let n = test.names.len();
    if model.after.len() != n {
        return Err(AnalyzeError::Inconsistent(format!(
            "the model of seed {} has {} tasks but tasks.parquet lists {n}",
            model.seed,
            model.after.len()
        )));
    }
    let seed = model.seed;
    let mut statistics: Vec<(String, f64)> = Vec::new();
    let mut stat = |name: &str, value: f64| statistics.push((name.to_string(), value));

    // Accuracy as recorded by the train stage.
    let accuracies = final_accuracies(metrics, n)?;
    stat("accuracy.mean_final", stats::mean(&accuracies));
    stat(
        "accuracy.min_final",
        accuracies.iter().copied().fold(f64::INFINITY, f64::min),
    );

    // Task similarity before and after training.
    on_step("similarity");
    // The model file's contexts (`context.before`, `context.after`), checked
    // against its factors when loaded.
    let before: Vec<Vec<f32>> = model.contexts_before();
    let after: Vec<Vec<f32>> = model.contexts_after();
    let sim = [
        similarity::similarity_matrix(&before),
        similarity::similarity_matrix(&after),
    ];
    let mut adjacency = Vec::new();
    for (state, m) in ["before", "after"].into_iter().zip(&sim) {
        stat(
            &format!("similarity.{state}.off_diagonal_abs_mean"),
            similarity::off_diagonal_abs_mean(m, n),
        );
        stat(
            &format!("similarity.{state}.nearest_is_adjacent"),
            similarity::best_other_is_adjacent(m, n, topology),
        );
        stat(
            &format!("similarity.{state}.distance_spearman"),
            similarity::distance_correlation(m, n, topology),
        );
        adjacency.push((state, similarity::adjacency_profile(m, n, topology)));
    }

    // Clustering of the trained contexts.
    on_step("clustering");
    let condensed = clustering::condensed_cosine_distance(&sim[1], n);
    let tree = clustering::dendrogram(&condensed, n, config.linkage);
    stat(
        "clustering.cophenetic_correlation",
        if n >= 3 {
            clustering::cophenetic_correlation(&condensed, &tree)
        } else {
            f64::NAN
        },
    );
    let labels = clustering::linfa_labels(&sim[1], n, config.clusters, config.linkage);
    if labels != tree.cut(config.clusters) {
        eprintln!(
            "analyze: warning: seed {seed}: linfa-hierarchical's clusters differ from the merge tree's cut (ties in the distances?)"
        );
    }

    // Family-specific claims that need only this seed.
    for spec in &config.claims {
        let name = spec_statistic(spec);
        match spec {
            ClaimSpec::SameCluster { tasks, clusters } => {
                let group: Vec<usize> = tasks.iter().map(|t| test.task(t)).collect();
                stat(&name, tree.group_margin(&group, *clusters));
            }
            ClaimSpec::Outgroup { task } => {
                let t = test.task(task);
                let max = (0..n)
                    .filter(|&j| j != t)
                    .map(|j| sim[1][t * n + j])
                    .fold(f64::NEG_INFINITY, f64::max);
                stat(&name, max);
            }
            ClaimSpec::MoreSimilar { pair, than } => {
                let s = |a: &str, b: &str| sim[1][test.task(a) * n + test.task(b)];
                stat(&name, s(&pair[0], &pair[1]) - s(&than[0], &than[1]));
            }
            // Measured above (accuracy) or by the summary (across pipelines).
            ClaimSpec::MeanAccuracyAtLeast { .. } | ClaimSpec::SubsampleOf { .. } => {}
        }
    }

    // Cross-task accuracy.
    on_step("cross-task accuracy");
    let cross = cross_task::cross_task_accuracy(model, &after, &test.images, &test.labels, || {});
    let off: Vec<(f64, f64)> = (0..n)
        .flat_map(|i| (0..n).filter(move |&j| j != i).map(move |j| (i, j)))
        .map(|(i, j)| (cross[i * n + j], sim[1][i * n + j]))
        .collect();
    let (acc_off, sim_off): (Vec<f64>, Vec<f64>) = off.into_iter().unzip();
    stat(
        "cross_task.similarity_spearman",
        if acc_off.len() >= 3 {
            stats::spearman(&acc_off, &sim_off)
        } else {
            f64::NAN
        },
    );
    stat(
        "cross_task.best_other_is_adjacent",
        similarity::best_other_is_adjacent(&cross, n, topology),
    );
    stat(
        "cross_task.diagonal_mean",
        stats::mean(&(0..n).map(|i| cross[i * n + i]).collect::<Vec<_>>()),
    );
    stat("cross_task.off_diagonal_mean", stats::mean(&acc_off));

    // T-GSH: intra vs inter similarity of representations.
    on_step("T-GSH pairs");
    let mut rng = seeded(seed, ANALYSIS_STREAMS + 1);
    let selection = tgsh::select(&test.labels, config.tgsh_per_class, &mut rng);
    let reps: Vec<Vec<Vec<f32>>> = (0..n)
        .map(|t| {
            let picked: Vec<u8> = selection
                .images
                .iter()
                .flat_map(|&i| test.images[t][i * PIXELS..(i + 1) * PIXELS].iter().copied())
                .collect();
            let encoded = model.encoder.encode_rows(&picked, None);
            (0..encoded.len())
                .map(|i| tgsh::normalised(tgsh_model::forward::representation(encoded.rows(), i, &after[t])))
                .collect()
        })
        .collect();
    let mut tgsh_samples = Vec::new();
    let mut sample_rng = seeded(seed, ANALYSIS_STREAMS + 2);
    for (grouping, groups) in tgsh::GROUPINGS.into_iter().zip(&selection.groups) {
        let pairs = tgsh::pairs(&reps, groups);
        for (name, value) in tgsh::statistics(grouping, &pairs) {
            stat(&name, value);
        }
        tgsh_samples.push((
            grouping,
            "intra",
            tgsh::sample(&pairs.intra, config.tgsh_pair_sample, &mut sample_rng),
        ));
        tgsh_samples.push((
            grouping,
            "inter",
            tgsh::sample(&pairs.inter, config.tgsh_pair_sample, &mut sample_rng),
        ));
    }

    // Reconstruction by pseudo-inverse.
    on_step("pseudo-inverse reconstruction");
    let h = model.hidden();
    let w1: Vec<f64> = model.encoder.dense_weight().iter().map(|&v| v as f64).collect();
    let w1 = ndarray::Array2::from_shape_vec((h, PIXELS), w1).expect("H x 784");
    let pinv = reconstruction::pinv(w1.view()).map_err(|e| AnalyzeError::Linalg(e.to_string()))?;
    let means = reconstruction::class_means(&test.images, &test.labels);
    let mut noise_rng = seeded(seed, ANALYSIS_STREAMS);
    let reconstructions = reconstruction::reconstruct(&pinv, &model.decoder, &after, &means, &mut noise_rng);
    let fraction = |f: &dyn Fn(&reconstruction::Reconstruction) -> bool| {
        reconstructions.iter().filter(|r| f(r)).count() as f64 / reconstructions.len().max(1) as f64
    };
    stat("reconstruction.own_class_best", fraction(&|r| r.best_class == r.class));
    stat("reconstruction.own_task_best", fraction(&|r| r.best_task == r.task));
    stat(
        "reconstruction.own_task_rank",
        stats::mean(&reconstructions.iter().map(|r| r.own_task_rank).collect::<Vec<_>>()),
    );
    stat(
        "reconstruction.own_correlation_mean",
        stats::mean(&reconstructions.iter().map(|r| r.own_correlation).collect::<Vec<_>>()),
    );

    Ok(ShardTables {
        seed,
        n,
        similarity: sim,
        adjacency,
        cross_task: cross,
        reconstructions,
        tgsh_samples,
        tree,
        labels,
        trained: accuracies,
        statistics,
    })
}

fn u64s(seed: u64, len: usize) -> ArrayRef {
    Arc::new(UInt64Array::from(vec![seed; len]))
}

impl ShardTables {
    /// Checks that the cross-task diagonal computed from `model` equals the
    /// final test accuracy that `metrics` records (see [`check_diagonal`]).
    pub fn check_diagonal(&self, test_images: usize, model: &Path, metrics: &Path) -> Result<(), AnalyzeError> {
        check_diagonal(&self.cross_task, &self.trained, test_images, model, metrics)
    }

    /// Writes every table into `dir`.
    pub fn write(&self, dir: &Path) -> Result<(), AnalyzeError> {
        let (seed, n) = (self.seed, self.n);
        let meta = BTreeMap::from([
            ("tgsh_version".to_string(), tgsh_common::VERSION.to_string()),
            ("seed".to_string(), seed.to_string()),
        ]);
        let write =
            |name: &str, schema: arrow::datatypes::SchemaRef, columns: Vec<ArrayRef>| -> Result<(), AnalyzeError> {
                let path = dir.join(name);
                let batch = schema::batch(&path, schema, columns)?;
                schema::write_parquet(&path, &batch, &meta)?;
                Ok(())
            };
        let pairs = |n: usize| -> (Vec<u16>, Vec<u16>) { (0..n * n).map(|k| ((k / n) as u16, (k % n) as u16)).unzip() };

        let (is, js) = pairs(n);
        let states: Vec<&str> = ["before", "after"]
            .iter()
            .flat_map(|s| std::iter::repeat_n(*s, n * n))
            .collect();
        write(
            "similarity.parquet",
            schema::similarity_schema(),
            vec![
                u64s(seed, 2 * n * n),
                Arc::new(StringArray::from(states)),
                Arc::new(UInt16Array::from([is.clone(), is.clone()].concat())),
                Arc::new(UInt16Array::from([js.clone(), js.clone()].concat())),
                Arc::new(Float64Array::from(
                    [self.similarity[0].clone(), self.similarity[1].clone()].concat(),
                )),
            ],
        )?;

        write(
            "cross_task.parquet",
            analysis::cross_task_schema(),
            vec![
                u64s(seed, n * n),
                Arc::new(UInt16Array::from(is)),
                Arc::new(UInt16Array::from(js)),
                Arc::new(Float64Array::from(self.cross_task.clone())),
            ],
        )?;

        let adjacency: Vec<(&str, usize, f64, usize)> = self
            .adjacency
            .iter()
            .flat_map(|(state, profile)| profile.iter().map(move |&(d, m, c)| (*state, d, m, c)))
            .collect();
        write(
            "adjacency.parquet",
            analysis::adjacency_schema(),
            vec![
                u64s(seed, adjacency.len()),
                Arc::new(StringArray::from(adjacency.iter().map(|a| a.0).collect::<Vec<_>>())),
                Arc::new(UInt32Array::from(
                    adjacency.iter().map(|a| a.1 as u32).collect::<Vec<_>>(),
                )),
                Arc::new(Float64Array::from(adjacency.iter().map(|a| a.2).collect::<Vec<_>>())),
                Arc::new(UInt32Array::from(
                    adjacency.iter().map(|a| a.3 as u32).collect::<Vec<_>>(),
                )),
            ],
        )?;

        let r = &self.reconstructions;
        write(
            "reconstruction.parquet",
            analysis::reconstruction_schema(),
            vec![
                u64s(seed, r.len()),
                Arc::new(UInt16Array::from(r.iter().map(|r| r.task as u16).collect::<Vec<_>>())),
                Arc::new(UInt8Array::from(r.iter().map(|r| r.class as u8).collect::<Vec<_>>())),
                schema::float_image_column(r.iter().flat_map(|r| r.image.iter().copied()).collect()),
                Arc::new(Float64Array::from(
                    r.iter().map(|r| r.own_correlation).collect::<Vec<_>>(),
                )),
                Arc::new(UInt16Array::from(
                    r.iter().map(|r| r.best_task as u16).collect::<Vec<_>>(),
                )),
                Arc::new(UInt8Array::from(
                    r.iter().map(|r| r.best_class as u8).collect::<Vec<_>>(),
                )),
                Arc::new(Float64Array::from(
                    r.iter().map(|r| r.own_task_rank).collect::<Vec<_>>(),
                )),
            ],
        )?;

        let samples: Vec<(&str, &str, f64)> = self
            .tgsh_samples
            .iter()
            .flat_map(|(g, k, values)| values.iter().map(move |&v| (*g, *k, v)))
            .collect();
        write(
            "tgsh_pairs.parquet",
            analysis::tgsh_pairs_schema(),
            vec![
                u64s(seed, samples.len()),
                Arc::new(StringArray::from(samples.iter().map(|s| s.0).collect::<Vec<_>>())),
                Arc::new(StringArray::from(samples.iter().map(|s| s.1).collect::<Vec<_>>())),
                Arc::new(Float64Array::from(samples.iter().map(|s| s.2).collect::<Vec<_>>())),
            ],
        )?;

        let mut columns = vec![u64s(seed, self.tree.merges.len())];
        columns.extend(dendrogram_columns(&self.tree));
        write("dendrogram.parquet", analysis::dendrogram_schema(true), columns)?;
        let mut columns = vec![u64s(seed, n)];
        columns.extend(cluster_columns(&self.tree, &self.labels));
        write("clusters.parquet", analysis::clusters_schema(true), columns)?;

        write(
            "statistics.parquet",
            analysis::seed_statistics_schema(),
            vec![
                u64s(seed, self.statistics.len()),
                Arc::new(StringArray::from(
                    self.statistics.iter().map(|s| s.0.as_str()).collect::<Vec<_>>(),
                )),
                Arc::new(Float64Array::from(
                    self.statistics.iter().map(|s| s.1).collect::<Vec<_>>(),
                )),
            ],
        )
    }
}

/// The columns of a dendrogram table after `seed`.
pub fn dendrogram_columns(tree: &clustering::Dendrogram) -> Vec<ArrayRef> {
    let m = &tree.merges;
    vec![
        Arc::new(UInt32Array::from((0..m.len() as u32).collect::<Vec<_>>())),
        Arc::new(UInt32Array::from(m.iter().map(|m| m.left as u32).collect::<Vec<_>>())),
        Arc::new(UInt32Array::from(m.iter().map(|m| m.right as u32).collect::<Vec<_>>())),
        Arc::new(Float64Array::from(m.iter().map(|m| m.height).collect::<Vec<_>>())),
        Arc::new(UInt32Array::from(m.iter().map(|m| m.size as u32).collect::<Vec<_>>())),
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
        Arc::new(UInt16Array::from((0..tree.n as u16).collect::<Vec<_>>())),
        Arc::new(UInt32Array::from(labels.iter().map(|&l| l as u32).collect::<Vec<_>>())),
        Arc::new(UInt32Array::from(position)),
    ]
}
