//! The analyze stage of a held-out pipeline (`[heldout]`): every trained
//! method on every task of the family, trained or not.
//!
//! One shard per seed (`analyze/seed-<S>/`):
//!
//! - `heldout.parquet`: each method's test accuracy on each task. The CRWN
//!   (`points.safetensors`) has contexts only for its training tasks; an
//!   unseen task is served by the nearest training task's context
//!   (`points-nearest`) and by linear interpolation between the two
//!   neighbouring ones (`points-interp`), around the circle for circular
//!   families. Manifolds evaluate `c(s)`; input conditioning adds `U e(s)`
//!   to the pre-activation. The forward pass is the trainer's
//!   (`tgsh_model::forward::accuracy`).
//! - `context_cosine.parquet`: each jointly trained method's contexts at
//!   the training tasks against themselves and against the CRWN's.
//! - `statistics.parquet`: mean accuracy per method and split, the
//!   differences the claims test, and the context comparisons.
//!
//! The summary ([`crate::heldout_summary`]) merges the seeds.

use crate::shard::TestSet;
use crate::similarity::cosine;
use crate::{heldout_summary, stats, AnalyzeError};
use arrow::array::{ArrayRef, BooleanArray, Float64Array, StringArray, UInt16Array, UInt64Array};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;
use tgsh_common::config::{HeldoutConfig, Method, Split, Topology};
use tgsh_common::schema::{self, analysis};
use tgsh_common::{Artifacts, Pipeline, Stage, StageRun};
use tgsh_model::forward::{self, Encoded};
use tgsh_model::manifold::{interpolate_points, nearest_context};
use tgsh_model::{Conditioned, Encoder, ManifoldModel, Model};

/// How a method serves a task.
enum Serve {
    /// The CRWN's contexts at the training tasks' `s`.
    Points {
        interpolate: bool,
        contexts: Vec<Vec<f32>>,
        points: Vec<f64>,
    },
    /// A jointly trained model.
    Joint(Box<ManifoldModel>),
}

/// One method as evaluated: a row group of `heldout.parquet`.
pub struct Evaluated {
    /// `points-nearest`, `circle`, `circle-metric`, ...
    pub name: String,
    /// `points`, `none`, `line`, `circle`.
    pub topology: String,
    /// `onehot`, `constant`, `line`, `fourierK`, `constant+input`.
    pub basis: String,
    /// `rmsprop` or `metric`.
    pub update: String,
    /// Learned numbers.
    pub parameters: u64,
    serve: Serve,
    encoder: Encoder,
    decoder: Vec<f32>,
}

impl Evaluated {
    /// The context (and the pre-activation bias, for input conditioning) at `s`.
    fn at(&self, s: f64, circular: bool) -> (Vec<f32>, Option<Vec<f32>>) {
        match &self.serve {
            Serve::Points {
                interpolate,
                contexts,
                points,
            } => {
                let c = if *interpolate {
                    interpolate_points(contexts, points, s, circular)
                } else {
                    nearest_context(contexts, points, s, circular)
                };
                (c, None)
            }
            Serve::Joint(m) => (m.after.context(s), m.after.bias(s)),
        }
    }

    /// The jointly trained parameters, if any.
    fn joint(&self) -> Option<&Conditioned> {
        match &self.serve {
            Serve::Joint(m) => Some(&m.after),
            Serve::Points { .. } => None,
        }
    }
}

/// The model files of one seed's train shard, in the config's order.
pub fn model_files(heldout: &HeldoutConfig, artifacts: &Artifacts, seed: u64) -> Vec<PathBuf> {
    heldout
        .trained_methods()
        .iter()
        .map(|m| artifacts.method_model(seed, &m.label()))
        .collect()
}

/// Checks that a model file was trained on `trained`.
fn check_tasks(path: &Path, metadata: &BTreeMap<String, String>, trained: &[usize]) -> Result<(), AnalyzeError> {
    let listed: Option<Vec<usize>> = metadata.get("train_tasks").and_then(|t| serde_json::from_str(t).ok());
    if listed.as_deref() != Some(trained) {
        return Err(AnalyzeError::Inconsistent(format!(
            "{}: trained on tasks {:?}, but the pipeline's [heldout] section trains {trained:?}; run the train stage again",
            path.display(),
            listed
        )));
    }
    Ok(())
}

/// Loads every method of one seed.
pub fn load_methods(
    heldout: &HeldoutConfig,
    artifacts: &Artifacts,
    seed: u64,
    trained: &[usize],
    train_s: &[f64],
) -> Result<Vec<Evaluated>, AnalyzeError> {
    let mut out = Vec::new();
    for method in heldout.trained_methods() {
        let path = artifacts.method_model(seed, &method.label());
        if method.method == Method::Points {
            let (model, metadata) = Model::load(&path)?;
            check_tasks(&path, &metadata, trained)?;
            let contexts: Vec<Vec<f32>> = model.after.iter().map(|p| p.context()).collect();
            let parameters = (model.after.len() * (model.hidden() + 1)) as u64;
            for (name, interpolate) in [("points-nearest", false), ("points-interp", true)] {
                out.push(Evaluated {
                    name: name.into(),
                    topology: "points".into(),
                    basis: "onehot".into(),
                    update: "rmsprop".into(),
                    parameters,
                    serve: Serve::Points {
                        interpolate,
                        contexts: contexts.clone(),
                        points: train_s.to_vec(),
                    },
                    encoder: model.encoder.clone(),
                    decoder: model.decoder.clone(),
                });
            }
        } else {
            let (model, metadata) = ManifoldModel::load(&path)?;
            check_tasks(&path, &metadata, trained)?;
            let p = &model.after;
            let input = !p.encoding.is_empty();
            out.push(Evaluated {
                name: method.label(),
                topology: if input {
                    p.encoding.name().to_string()
                } else {
                    p.basis.topology().to_string()
                },
                basis: if input {
                    format!("{}+input", p.basis.name())
                } else {
                    p.basis.name()
                },
                update: method.update.name().into(),
                parameters: p.parameter_count() as u64,
                encoder: model.encoder.clone(),
                decoder: model.decoder.clone(),
                serve: Serve::Joint(Box::new(model)),
            });
        }
    }
    Ok(out)
}

/// Test accuracy of every method on every task: `[method][task]`. Each
/// task's test images are encoded once for the methods that share the
/// first method's encoder and add no bias, and scored under all of them in
/// one pass ([`forward::correct_counts`]); a method with its own encoder or
/// an input-conditioning bias (which enters before the ReLU) gets its own
/// encoding.
pub fn evaluate(methods: &[Evaluated], test: &TestSet, all_s: &[f64], circular: bool) -> Vec<Vec<f64>> {
    let mut out = vec![vec![f64::NAN; all_s.len()]; methods.len()];
    let reference = methods.first().map(|m| m.encoder.dense_weight());
    let shares: Vec<bool> = methods
        .iter()
        .map(|m| Some(m.encoder.dense_weight()) == reference)
        .collect();
    let labels = &test.labels;
    let fraction = |correct: usize| correct as f64 / labels.len().max(1) as f64;
    let (mut shared_rows, mut own_rows) = (Vec::new(), Vec::new());
    for (t, &s) in all_s.iter().enumerate() {
        let images = &test.images[t];
        let served: Vec<(Vec<f32>, Option<Vec<f32>>)> = methods.iter().map(|m| m.at(s, circular)).collect();
        let together: Vec<usize> = (0..methods.len())
            .filter(|&m| shares[m] && served[m].1.is_none())
            .collect();
        if let Some(&first) = together.first() {
            methods[first].encoder.encode_into(images, &mut shared_rows);
            let mts: Vec<Vec<f32>> = together
                .iter()
                .map(|&m| forward::modulated_decoder(&served[m].0, &methods[m].decoder))
                .collect();
            let data = Encoded {
                rows: &shared_rows,
                labels,
            };
            for (&m, correct) in together.iter().zip(forward::correct_counts(data, &mts)) {
                out[m][t] = fraction(correct);
            }
        }
        for m in (0..methods.len()).filter(|m| !together.contains(m)) {
            let method = &methods[m];
            let (context, bias) = &served[m];
            method
                .encoder
                .encode_with_bias_into(images, bias.as_deref(), &mut own_rows);
            let data = Encoded {
                rows: &own_rows,
                labels,
            };
            out[m][t] = forward::accuracy(data, context, &method.decoder);
        }
    }
    out
}

/// The pairs of methods whose difference of accuracy the claims test:
/// `(a, b)` in `difference[a - b]`.
pub fn claim_pairs() -> [(&'static str, &'static str); 4] {
    [
        ("circle", "input"),
        ("circle-metric", "input"),
        ("circle", "line"),
        ("circle", "points-interp"),
    ]
}

/// The splits a table reports: the three of [`Split`] that occur, and
/// `unseen` (every untrained task).
pub fn split_names(splits: &[Split]) -> Vec<&'static str> {
    let mut out: Vec<&'static str> = [Split::Seen, Split::Interpolated, Split::Extrapolated]
        .into_iter()
        .filter(|s| splits.contains(s))
        .map(|s| s.name())
        .collect();
    out.push("unseen");
    out
}

/// Whether task split `split` belongs to the reported split `name`.
pub fn in_split(split: Split, name: &str) -> bool {
    match name {
        "unseen" => split != Split::Seen,
        other => split.name() == other,
    }
}

/// The mean accuracy of `accuracy` over the tasks of split `name`.
pub fn split_mean(accuracy: &[f64], splits: &[Split], name: &str) -> f64 {
    let values: Vec<f64> = accuracy
        .iter()
        .zip(splits)
        .filter(|(_, &s)| in_split(s, name))
        .map(|(&a, _)| a)
        .collect();
    stats::mean(&values)
}

/// The context comparison of one method with the CRWN: `(kind, i, j, cos)`.
fn context_cosines(
    joint: &Conditioned,
    crwn: &[Vec<f32>],
    trained: &[usize],
    train_s: &[f64],
) -> Vec<(&'static str, usize, usize, f64)> {
    let contexts: Vec<Vec<f32>> = train_s.iter().map(|&s| joint.context(s)).collect();
    let mut out = Vec::new();
    for (i, ci) in contexts.iter().enumerate() {
        for (j, cj) in contexts.iter().enumerate() {
            out.push(("self", trained[i], trained[j], cosine(ci, cj)));
        }
    }
    for (i, ci) in contexts.iter().enumerate() {
        for (j, cj) in crwn.iter().enumerate() {
            out.push(("crwn", trained[i], trained[j], cosine(ci, cj)));
        }
    }
    out
}

/// The off-diagonal entries of a `T x T` matrix given as `(kind, i, j, v)`
/// rows of one kind, in row order.
fn off_diagonal(rows: &[(&str, usize, usize, f64)], kind: &str) -> Vec<f64> {
    rows.iter().filter(|r| r.0 == kind && r.1 != r.2).map(|r| r.3).collect()
}

/// What `heldout.parquet` says about a method besides its accuracies.
struct Described {
    name: String,
    topology: String,
    basis: String,
    update: String,
    parameters: u64,
}

/// Everything one seed's held-out analysis produces.
pub struct HeldoutShard {
    seed: u64,
    methods: Vec<Described>,
    accuracy: Vec<Vec<f64>>,
    cosines: Vec<(String, &'static str, usize, usize, f64)>,
    /// The scalars, in the order measured.
    pub statistics: Vec<(String, f64)>,
}

/// Runs one seed's held-out analysis.
pub fn analyze_seed(
    pipeline: &Pipeline,
    artifacts: &Artifacts,
    seed: u64,
    test: &TestSet,
) -> Result<HeldoutShard, AnalyzeError> {
    let heldout = pipeline.heldout.as_ref().expect("a held-out pipeline");
    let all_s = pipeline.data.family.task_variables().expect("validated: a sweep");
    let n = all_s.len();
    if test.names.len() != n {
        return Err(AnalyzeError::Inconsistent(format!(
            "tasks.parquet lists {} tasks but the pipeline's family has {n}; run the data stage again",
            test.names.len()
        )));
    }
    let trained = heldout.train_tasks(n);
    let train_s: Vec<f64> = trained.iter().map(|&t| all_s[t]).collect();
    let splits = heldout.splits(n);
    let circular = pipeline.analyze.topology(&pipeline.data.family) == Topology::Circle;
    let methods = load_methods(heldout, artifacts, seed, &trained, &train_s)?;
    let accuracy = evaluate(&methods, test, &all_s, circular);

    let mut statistics = Vec::new();
    let names = split_names(&splits);
    let mut means: BTreeMap<(&str, &str), f64> = BTreeMap::new();
    for (method, acc) in methods.iter().zip(&accuracy) {
        for &split in &names {
            let m = split_mean(acc, &splits, split);
            means.insert((method.name.as_str(), split), m);
            // Accuracies in %, their differences in percentage points.
            statistics.push((format!("heldout.accuracy[{}].{split}", method.name), 100.0 * m));
        }
    }
    for (a, b) in claim_pairs() {
        for &split in &names {
            if let (Some(x), Some(y)) = (means.get(&(a, split)), means.get(&(b, split))) {
                statistics.push((format!("heldout.difference[{a} - {b}].{split}"), 100.0 * (x - y)));
            }
        }
    }

    let mut cosines = Vec::new();
    let crwn = methods.iter().find_map(|m| match &m.serve {
        Serve::Points { contexts, .. } => Some(contexts.clone()),
        Serve::Joint(_) => None,
    });
    if let Some(crwn) = &crwn {
        for (i, ci) in crwn.iter().enumerate() {
            for (j, cj) in crwn.iter().enumerate() {
                cosines.push(("points".to_string(), "self", trained[i], trained[j], cosine(ci, cj)));
            }
        }
        let crwn_self: Vec<f64> = cosines.iter().filter(|r| r.2 != r.3).map(|r| r.4).collect();
        for method in &methods {
            let Some(joint) = method.joint() else { continue };
            let rows = context_cosines(joint, crwn, &trained, &train_s);
            let diagonal: Vec<f64> = rows
                .iter()
                .filter(|r| r.0 == "crwn" && r.1 == r.2)
                .map(|r| r.3)
                .collect();
            let (off_cross, own) = (off_diagonal(&rows, "crwn"), off_diagonal(&rows, "self"));
            statistics.push((
                format!("context.crwn_same_task[{}]", method.name),
                stats::mean(&diagonal),
            ));
            statistics.push((
                format!("context.crwn_other_task[{}]", method.name),
                stats::mean(&off_cross),
            ));
            statistics.push((
                format!("context.geometry_correlation[{}]", method.name),
                if own.len() >= 3 {
                    stats::pearson(&own, &crwn_self)
                } else {
                    f64::NAN
                },
            ));
            cosines.extend(rows.into_iter().map(|(k, i, j, c)| (method.name.clone(), k, i, j, c)));
        }
    }
    Ok(HeldoutShard {
        seed,
        methods: methods
            .iter()
            .map(|m| Described {
                name: m.name.clone(),
                topology: m.topology.clone(),
                basis: m.basis.clone(),
                update: m.update.clone(),
                parameters: m.parameters,
            })
            .collect(),
        accuracy,
        cosines,
        statistics,
    })
}

impl HeldoutShard {
    /// Writes `heldout.parquet`, `context_cosine.parquet` and
    /// `statistics.parquet` into `dir`.
    pub fn write(&self, dir: &Path, all_s: &[f64], splits: &[Split]) -> Result<(), AnalyzeError> {
        let meta = BTreeMap::from([
            ("tgsh_version".to_string(), tgsh_common::VERSION.to_string()),
            ("seed".to_string(), self.seed.to_string()),
        ]);
        let write = |name: &str, schema: arrow::datatypes::SchemaRef, columns: Vec<ArrayRef>| {
            let path = dir.join(name);
            let batch = schema::batch(&path, schema, columns)?;
            schema::write_parquet(&path, &batch, &meta).map_err(AnalyzeError::from)
        };
        let n = all_s.len();
        let rows: Vec<(usize, usize)> = (0..self.methods.len())
            .flat_map(|m| (0..n).map(move |t| (m, t)))
            .collect();
        let text = |f: &dyn Fn(&Described) -> &str| -> ArrayRef {
            Arc::new(StringArray::from(
                rows.iter().map(|&(m, _)| f(&self.methods[m])).collect::<Vec<_>>(),
            ))
        };
        write(
            "heldout.parquet",
            analysis::heldout_schema(),
            vec![
                Arc::new(UInt64Array::from(vec![self.seed; rows.len()])),
                text(&|m| &m.name),
                text(&|m| &m.topology),
                text(&|m| &m.basis),
                text(&|m| &m.update),
                Arc::new(UInt64Array::from(
                    rows.iter()
                        .map(|&(m, _)| self.methods[m].parameters)
                        .collect::<Vec<_>>(),
                )),
                Arc::new(UInt16Array::from(
                    rows.iter().map(|&(_, t)| t as u16).collect::<Vec<_>>(),
                )),
                Arc::new(Float64Array::from(
                    rows.iter().map(|&(_, t)| all_s[t]).collect::<Vec<_>>(),
                )),
                Arc::new(StringArray::from(
                    rows.iter().map(|&(_, t)| splits[t].name()).collect::<Vec<_>>(),
                )),
                Arc::new(BooleanArray::from(
                    rows.iter().map(|&(_, t)| splits[t] == Split::Seen).collect::<Vec<_>>(),
                )),
                Arc::new(Float64Array::from(
                    rows.iter().map(|&(m, t)| self.accuracy[m][t]).collect::<Vec<_>>(),
                )),
            ],
        )?;
        let c = &self.cosines;
        write(
            "context_cosine.parquet",
            analysis::context_cosine_schema(),
            vec![
                Arc::new(UInt64Array::from(vec![self.seed; c.len()])),
                Arc::new(StringArray::from(c.iter().map(|r| r.0.as_str()).collect::<Vec<_>>())),
                Arc::new(StringArray::from(c.iter().map(|r| r.1).collect::<Vec<_>>())),
                Arc::new(UInt16Array::from(c.iter().map(|r| r.2 as u16).collect::<Vec<_>>())),
                Arc::new(UInt16Array::from(c.iter().map(|r| r.3 as u16).collect::<Vec<_>>())),
                Arc::new(Float64Array::from(c.iter().map(|r| r.4).collect::<Vec<_>>())),
            ],
        )?;
        let statistics: Vec<crate::shard::Statistic> = self
            .statistics
            .iter()
            .map(|(name, v)| (name.clone(), crate::claims::AFTER, *v))
            .collect();
        crate::shard::write_seed_statistics(&dir.join("statistics.parquet"), self.seed, &statistics, &meta)
    }
}

/// Runs the analyze stage of a held-out pipeline: stale seed shards of
/// `seeds`, then, when `summary`, the summary.
pub fn run(
    pipeline: &Pipeline,
    artifacts: &Artifacts,
    seeds: &[u64],
    summary: bool,
    force: bool,
) -> Result<(), AnalyzeError> {
    let heldout = pipeline.heldout.as_ref().expect("a held-out pipeline");
    let all_s = pipeline.data.family.task_variables().expect("validated: a sweep");
    let splits = heldout.splits(all_s.len());
    let params = |seed: Option<u64>| {
        serde_json::json!({
            "heldout": heldout,
            "topology": pipeline.analyze.topology(&pipeline.data.family),
            "seed": seed,
            "seeds": if seed.is_none() { Some(&pipeline.train.seeds) } else { None },
        })
    };
    let mut test = None;
    for &seed in seeds {
        let mut inputs = model_files(heldout, artifacts, seed);
        inputs.extend([artifacts.tasks(), artifacts.test_images()]);
        let stage = StageRun::in_dir(
            Stage::Analyze,
            artifacts.analyze_shard(seed),
            &params(Some(seed)),
            inputs,
        )?;
        if !stage.should_run(force)? {
            continue;
        }
        if test.is_none() {
            test = Some(TestSet::load(&artifacts.tasks(), &artifacts.test_images())?);
        }
        let start = Instant::now();
        let shard = analyze_seed(pipeline, artifacts, seed, test.as_ref().expect("loaded"))?;
        let seconds = start.elapsed().as_secs_f64();
        let dir = stage.begin()?;
        shard.write(&dir, &all_s, &splits)?;
        schema::write_timings(
            &dir.join("timings.parquet"),
            seed,
            &[("held-out evaluation".into(), seconds)],
        )?;
        stage.commit()?;
        eprintln!(
            "analyze: seed {seed}: {} tasks in {seconds:.1} s -> {}",
            all_s.len(),
            artifacts.analyze_shard(seed).display()
        );
    }
    if summary {
        let seeds = &pipeline.train.seeds;
        let inputs: Vec<PathBuf> = seeds
            .iter()
            .flat_map(|&s| {
                ["heldout.parquet", "context_cosine.parquet", "statistics.parquet"].map(|f| artifacts.analysis(s, f))
            })
            .collect();
        let stage = StageRun::in_dir(Stage::Analyze, artifacts.analyze_summary(), &params(None), inputs)?;
        if stage.should_run(force)? {
            let dir = stage.begin()?;
            let claims = heldout_summary::summarise(pipeline, artifacts, &splits, &dir)?;
            stage.commit()?;
            for c in &claims {
                eprintln!(
                    "analyze: claim {}: {} ({:+.2} points, 95 % interval {:+.2} to {:+.2}, {} seeds)",
                    c.claim.id, c.verdict, c.value.mean, c.value.low, c.value.high, c.value.seeds
                );
            }
        }
    }
    Ok(())
}
