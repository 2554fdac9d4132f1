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
//!   families. On a torus family (two task variables) the points are a
//!   grid: `points-nearest` takes the training tasks nearest on the torus
//!   (ties averaged) and `points-interp` interpolates bilinearly between
//!   the four around the task ([`tgsh_model::torus`]). Manifolds evaluate
//!   `c(s)` (`c(s, s2)` on a torus); input conditioning adds `U e(s)`
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
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;
use tgsh_common::cli::RunOptions;
use tgsh_common::config::{HeldoutExperiment, Method, Split, Topology};
use tgsh_common::schema;
use tgsh_common::schema::analysis::{ContextCosineRow, HeldoutRow, ManifoldPcaRow, SeedStatisticRow};
use tgsh_common::schema::{Table, TimingRow};
use tgsh_common::{Artifacts, Pipeline, Stage, StagePlan};
use tgsh_model::forward::{self, Encoded, Readout};
use tgsh_model::manifold::{interpolate_points, nearest_points};
use tgsh_model::torus::{bilinear_grid, nearest_grid, Grid};
use tgsh_model::Decoder;
use tgsh_model::{Conditioned, Encoder, ManifoldModel, Model};

/// How a method serves a task.
enum Serve {
    /// The CRWN's contexts at the training tasks' `s`.
    Points {
        interpolate: bool,
        contexts: Vec<Vec<f32>>,
        points: Vec<f64>,
        /// On a torus family: the training tasks' `(s, s2)` and their grid.
        torus: Option<(Vec<[f64; 2]>, Grid)>,
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
    decoder: Decoder,
}

/// A context and, for input conditioning, the pre-activation bias.
type Served = (Vec<f32>, Option<Vec<f32>>);

impl Evaluated {
    /// The contexts (and the pre-activation bias, for input conditioning)
    /// that serve `s`, whose accuracies are averaged: one, or for
    /// `points-nearest` halfway between two training tasks both
    /// neighbours' (the tie convention).
    fn at(&self, point: [f64; 2], circular: bool) -> Vec<Served> {
        let s = point[0];
        match &self.serve {
            Serve::Points {
                interpolate,
                contexts,
                torus: Some((points, grid)),
                ..
            } => {
                if *interpolate {
                    vec![(bilinear_grid(contexts, grid, point[0], point[1]), None)]
                } else {
                    nearest_grid(points, point[0], point[1])
                        .into_iter()
                        .map(|p| (contexts[p].clone(), None))
                        .collect()
                }
            }
            Serve::Points {
                interpolate,
                contexts,
                points,
                torus: None,
            } => {
                if *interpolate {
                    vec![(interpolate_points(contexts, points, s, circular), None)]
                } else {
                    nearest_points(points, s, circular)
                        .into_iter()
                        .map(|p| (contexts[p].clone(), None))
                        .collect()
                }
            }
            Serve::Joint(m) => vec![(m.after.context(point), m.after.bias(point))],
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
    heldout: &HeldoutExperiment,
    artifacts: &Artifacts,
    seed: u64,
) -> Result<Vec<Evaluated>, AnalyzeError> {
    let (trained, train_s) = (&heldout.train_tasks[..], &heldout.train_s()[..]);
    let torus = if heldout.is_torus() {
        let points = heldout.train_points();
        let grid = Grid::of(&points).ok_or_else(|| {
            AnalyzeError::Inconsistent("the torus' training tasks are not a full grid of its two variables".into())
        })?;
        Some((points, grid))
    } else {
        None
    };
    let mut out = Vec::new();
    for method in heldout.methods.iter().copied() {
        let path = artifacts.method_model(seed, &method.label());
        if method.method == Method::Points {
            let (model, metadata) = Model::load(&path)?;
            check_tasks(&path, &metadata, trained)?;
            let contexts: Vec<Vec<f32>> = model.contexts_after();
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
                        torus: torus.clone(),
                    },
                    encoder: model.encoder.clone(),
                    decoder: Decoder::new(&model.decoder),
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
                decoder: Decoder::new(&model.decoder),
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
pub fn evaluate(methods: &[Evaluated], test: &TestSet, all_s: &[[f64; 2]], circular: bool) -> Vec<Vec<f64>> {
    let mut out = vec![vec![f64::NAN; all_s.len()]; methods.len()];
    let reference = methods.first().map(|m| m.encoder.dense_weight());
    let shares: Vec<bool> = methods
        .iter()
        .map(|m| Some(m.encoder.dense_weight()) == reference)
        .collect();
    let labels = &test.labels;
    let fraction = |correct: usize| correct as f64 / labels.len().max(1) as f64;
    let mut shared_rows = tgsh_model::EncodedImages::default();
    for (t, &s) in all_s.iter().enumerate() {
        let images = &test.images[t];
        let served: Vec<Vec<Served>> = methods.iter().map(|m| m.at(s, circular)).collect();
        // (method, alternative) pairs scored on the shared encoding.
        let together: Vec<(usize, usize)> = (0..methods.len())
            .filter(|&m| shares[m])
            .flat_map(|m| (0..served[m].len()).map(move |a| (m, a)))
            .filter(|&(m, a)| served[m][a].1.is_none())
            .collect();
        let mut sums = vec![0.0; methods.len()];
        if let Some(&(first, _)) = together.first() {
            methods[first].encoder.encode_rows_into(images, None, &mut shared_rows);
            let readouts: Vec<Readout<'_>> = together
                .iter()
                .map(|&(m, a)| Readout {
                    context: &served[m][a].0,
                    decoder: &methods[m].decoder,
                })
                .collect();
            let data = Encoded {
                rows: shared_rows.rows(),
                labels,
            };
            for (&(m, _), correct) in together.iter().zip(forward::correct_counts(data, &readouts)) {
                sums[m] += fraction(correct);
            }
        }
        for (m, method) in methods.iter().enumerate() {
            for (a, (context, bias)) in served[m].iter().enumerate() {
                if together.contains(&(m, a)) {
                    continue;
                }
                let readout = Readout {
                    context,
                    decoder: &method.decoder,
                };
                let correct =
                    forward::correct_counts_of_images(&method.encoder, bias.as_deref(), images, labels, &[readout]);
                sums[m] += fraction(correct[0]);
            }
            out[m][t] = sums[m] / served[m].len() as f64;
        }
    }
    out
}

/// The pairs of methods whose difference of accuracy the claims test,
/// `(a, b)` in `difference[a - b]`, among the evaluated methods `names`:
/// the circle against input conditioning (both `3H` numbers on a circular
/// family), the circle against the quadratic (topology at equal size), the
/// metric update against its plain-SGD control, and the CRWN's
/// interpolated points against the circle, the piecewise-linear manifold
/// and the largest Fourier basis trained (a manifold at the points' size).
///
/// On a line family (`topology` [`Topology::Line`]) the equal-size
/// comparisons are the line against input conditioning on `s` (both `2H`)
/// and the quadratic against the circle (the topology that fits against
/// the one that does not), and the line against the interpolated points.
pub fn claim_pairs(names: &[&str], topology: Topology) -> Vec<(String, String)> {
    let mut pairs: Vec<(String, String)> = [
        ("circle", "input"),
        ("circle-metric", "input"),
        ("circle", "line"),
        ("circle", "quadratic"),
        ("circle-metric", "circle-sgd"),
        ("circle", "points-interp"),
        ("piecewise", "points-interp"),
        ("torus", "circles2"),
        ("torus", "input"),
        ("torus-metric", "input"),
        ("torus-metric", "torus-sgd"),
        ("circles", "input"),
        ("circles2", "input"),
        ("torus", "points-interp"),
        ("torus2", "circles2"),
        ("bilinear", "points-interp"),
    ]
    .iter()
    .map(|&(a, b)| (a.to_string(), b.to_string()))
    .collect();
    if topology == Topology::Line {
        pairs.extend(
            [
                ("line", "input"),
                ("line-metric", "input"),
                ("line-metric", "line-sgd"),
                ("quadratic", "circle"),
                ("line", "points-interp"),
            ]
            .map(|(a, b)| (a.to_string(), b.to_string())),
        );
    }
    if let Some(largest) = largest_fourier(names) {
        pairs.push((largest, "points-interp".into()));
    }
    if let Some(largest) = largest_torus(names) {
        pairs.push((largest, "points-interp".into()));
    }
    pairs.retain(|(a, b)| names.contains(&a.as_str()) && names.contains(&b.as_str()));
    // Each pair once (the largest torus may be `torus` itself).
    let mut seen = std::collections::BTreeSet::new();
    pairs.retain(|pair| seen.insert(pair.clone()));
    pairs
}

/// The order of a product basis on the torus named `name` (`torus` is 1,
/// `torusK` is K); `None` for any other name (`torus-metric` included).
pub fn torus_order(name: &str) -> Option<usize> {
    match tgsh_model::torus::TorusBasis::from_name(name)? {
        tgsh_model::torus::TorusBasis::Product { order } => Some(order),
        _ => None,
    }
}

/// The RMSprop product basis on the torus of the highest order among
/// `names` (`torus` or `torusK`), if any.
pub fn largest_torus(names: &[&str]) -> Option<String> {
    names
        .iter()
        .filter(|n| torus_order(n).is_some())
        .max_by_key(|n| torus_order(n))
        .map(|n| n.to_string())
}

/// The RMSprop Fourier model of the highest order among `names`
/// (`fourierK`, K >= 2), if any.
pub fn largest_fourier(names: &[&str]) -> Option<String> {
    names
        .iter()
        .filter_map(|n| n.strip_prefix("fourier")?.parse::<usize>().ok())
        .max()
        .map(|k| format!("fourier{k}"))
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
    train_s: &[[f64; 2]],
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

/// Points at which a manifold's `c(s)` is drawn: evenly over `[0, 1)`.
pub const PICTURE_POINTS: usize = 360;

/// The first two principal directions of the rows of `x` (each `H` long),
/// centred on `mean`: unit vectors, by power iteration on the `T x T` Gram
/// matrix of the centred rows (deterministic start, then deflation).
pub fn principal_plane(x: &[Vec<f32>], mean: &[f64]) -> Vec<Vec<f64>> {
    let t = x.len();
    let centred: Vec<Vec<f64>> = x
        .iter()
        .map(|r| r.iter().zip(mean).map(|(&v, &m)| v as f64 - m).collect())
        .collect();
    let dot = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f64>();
    let mut gram: Vec<f64> = (0..t * t).map(|k| dot(&centred[k / t], &centred[k % t])).collect();
    let mut directions = Vec::new();
    for _ in 0..2.min(t) {
        let mut u: Vec<f64> = (0..t).map(|i| 1.0 + i as f64 / t as f64).collect();
        let mut lambda = 0.0;
        for _ in 0..500 {
            let next: Vec<f64> = (0..t).map(|i| dot(&gram[i * t..(i + 1) * t], &u)).collect();
            let norm = dot(&next, &next).sqrt();
            if norm == 0.0 {
                break;
            }
            u = next.iter().map(|v| v / norm).collect();
            lambda = norm;
        }
        for i in 0..t {
            for j in 0..t {
                gram[i * t + j] -= lambda * u[i] * u[j];
            }
        }
        let h = mean.len();
        let mut v: Vec<f64> = (0..h).map(|k| (0..t).map(|i| u[i] * centred[i][k]).sum()).collect();
        let norm = dot(&v, &v).sqrt().max(f64::MIN_POSITIVE);
        v.iter_mut().for_each(|x| *x /= norm);
        directions.push(v);
    }
    directions
}

/// Points at which each curve of a torus manifold is drawn.
pub const TORUS_PICTURE_POINTS: usize = 120;

/// A context in the CRWN's PCA plane: `(method, s, s2, pc1, pc2)`.
type PcaPoint = (String, f64, f64, f64, f64);

/// Every jointly trained model's `c(s)` at [`PICTURE_POINTS`] values of `s`
/// and the CRWN's points (`points`, at the training tasks' `s`), in the
/// plane of the points' first two principal components. On a torus family
/// (`torus_s2`: the trained values of `s₂`) a manifold is a grid of curves:
/// `c(s₁, s₂)` over [`TORUS_PICTURE_POINTS`] values of `s₁` at each trained
/// `s₂`. Rows are `(method, s, s2, pc1, pc2)`.
fn manifold_pictures(
    crwn: &[Vec<f32>],
    train_s: &[[f64; 2]],
    methods: &[Evaluated],
    torus_s2: Option<&[f64]>,
) -> Vec<PcaPoint> {
    let h = crwn.first().map_or(0, Vec::len);
    let mut mean = vec![0.0; h];
    for c in crwn {
        for (m, &v) in mean.iter_mut().zip(c) {
            *m += v as f64 / crwn.len() as f64;
        }
    }
    let plane = principal_plane(crwn, &mean);
    if plane.len() < 2 {
        return Vec::new();
    }
    let project = |c: &[f32]| -> (f64, f64) {
        let along = |v: &[f64]| {
            c.iter()
                .zip(&mean)
                .zip(v)
                .map(|((&c, &m), &d)| (c as f64 - m) * d)
                .sum::<f64>()
        };
        (along(&plane[0]), along(&plane[1]))
    };
    let mut out: Vec<PcaPoint> = crwn
        .iter()
        .zip(train_s)
        .map(|(c, &[s, s2])| {
            let (x, y) = project(c);
            ("points".to_string(), s, s2, x, y)
        })
        .collect();
    let (curves, along): (&[f64], usize) = match torus_s2 {
        Some(s2) => (s2, TORUS_PICTURE_POINTS),
        None => (&[0.0], PICTURE_POINTS),
    };
    for method in methods {
        let Some(joint) = method.joint() else { continue };
        for &s2 in curves {
            for i in 0..along {
                let s = i as f64 / along as f64;
                let (x, y) = project(&joint.context([s, s2]));
                out.push((method.name.clone(), s, s2, x, y));
            }
        }
    }
    out
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
    /// Contexts in the CRWN's PCA plane.
    pca: Vec<PcaPoint>,
    /// The scalars, in the order measured.
    pub statistics: Vec<(String, f64)>,
}

/// Runs one seed's held-out analysis.
pub fn analyze_seed(
    heldout: &HeldoutExperiment,
    artifacts: &Artifacts,
    seed: u64,
    test: &TestSet,
) -> Result<HeldoutShard, AnalyzeError> {
    let all_s = &heldout.points();
    let n = all_s.len();
    if test.names.len() != n {
        return Err(AnalyzeError::Inconsistent(format!(
            "tasks.parquet lists {} tasks but the pipeline's family has {n}; run the data stage again",
            test.names.len()
        )));
    }
    let (trained, splits) = (&heldout.train_tasks, &heldout.splits);
    let circular = heldout.topology == Topology::Circle;
    let methods = load_methods(heldout, artifacts, seed)?;
    let accuracy = evaluate(&methods, test, all_s, circular);

    let mut statistics = Vec::new();
    let names = split_names(splits);
    let mut means: BTreeMap<(&str, &str), f64> = BTreeMap::new();
    for (method, acc) in methods.iter().zip(&accuracy) {
        for &split in &names {
            let m = split_mean(acc, splits, split);
            means.insert((method.name.as_str(), split), m);
            // Accuracies in %, their differences in percentage points.
            statistics.push((format!("heldout.accuracy[{}].{split}", method.name), 100.0 * m));
        }
    }
    // Differences in percentage points.
    let method_names: Vec<&str> = methods.iter().map(|m| m.name.as_str()).collect();
    for (a, b) in claim_pairs(&method_names, heldout.topology) {
        for &split in &names {
            if let (Some(x), Some(y)) = (means.get(&(a.as_str(), split)), means.get(&(b.as_str(), split))) {
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
            let rows = context_cosines(joint, crwn, trained, &heldout.train_points());
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
    let torus_s2 = heldout.is_torus().then(|| {
        let mut s2: Vec<f64> = heldout.train_points().iter().map(|p| p[1]).collect();
        s2.sort_by(f64::total_cmp);
        s2.dedup();
        s2
    });
    let pca = crwn.as_ref().map_or_else(Vec::new, |crwn| {
        manifold_pictures(crwn, &heldout.train_points(), &methods, torus_s2.as_deref())
    });
    Ok(HeldoutShard {
        seed,
        pca,
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
        let seed = self.seed;
        let accuracy: Vec<HeldoutRow> = self
            .methods
            .iter()
            .zip(&self.accuracy)
            .flat_map(|(m, acc)| {
                acc.iter().enumerate().map(move |(t, &accuracy)| HeldoutRow {
                    seed,
                    method: m.name.clone(),
                    topology: m.topology.clone(),
                    basis: m.basis.clone(),
                    update: m.update.clone(),
                    parameters: m.parameters,
                    task: t as u16,
                    s: all_s[t],
                    split: splits[t].name().into(),
                    seen: splits[t] == Split::Seen,
                    accuracy,
                })
            })
            .collect();
        HeldoutRow::write(&dir.join(HeldoutRow::FILE), &accuracy, &meta)?;
        let cosines: Vec<ContextCosineRow> = self
            .cosines
            .iter()
            .map(|(method, kind, i, j, cosine)| ContextCosineRow {
                seed,
                method: method.clone(),
                kind: kind.to_string(),
                task_i: *i as u16,
                task_j: *j as u16,
                cosine: *cosine,
            })
            .collect();
        ContextCosineRow::write(&dir.join(ContextCosineRow::FILE), &cosines, &meta)?;
        let pca: Vec<ManifoldPcaRow> = self
            .pca
            .iter()
            .map(|(method, s, s2, pc1, pc2)| ManifoldPcaRow {
                seed,
                method: method.clone(),
                s: *s,
                s2: *s2,
                pc1: *pc1,
                pc2: *pc2,
            })
            .collect();
        ManifoldPcaRow::write(&dir.join(ManifoldPcaRow::FILE), &pca, &meta)?;
        let statistics: Vec<SeedStatisticRow> = self
            .statistics
            .iter()
            .map(|(statistic, value)| SeedStatisticRow {
                seed,
                statistic: statistic.clone(),
                state: crate::claims::AFTER.to_string(),
                value: *value,
            })
            .collect();
        Ok(SeedStatisticRow::write(
            &dir.join(SeedStatisticRow::FILE),
            &statistics,
            &meta,
        )?)
    }
}

/// Runs the analyze stage of a held-out pipeline: the stale seed shards of
/// `options.parts`, then (when the parts include it) the summary.
pub fn run(
    pipeline: &Pipeline,
    heldout: &HeldoutExperiment,
    artifacts: &Artifacts,
    plan: &StagePlan,
    options: &RunOptions,
) -> Result<(), AnalyzeError> {
    let seeds = pipeline.selected_seeds(&options.parts)?;
    let mut test = None;
    for job in &plan.jobs {
        let Some(seed) = job.seed().filter(|s| seeds.contains(s)) else {
            continue;
        };
        let stage = job.stage_run(Stage::Analyze)?;
        if !stage.should_run(options.force)? {
            continue;
        }
        if test.is_none() {
            test = Some(TestSet::load(&artifacts.tasks(), &artifacts.test_images())?);
        }
        let start = Instant::now();
        let shard = analyze_seed(heldout, artifacts, seed, test.as_ref().expect("loaded"))?;
        let seconds = start.elapsed().as_secs_f64();
        let dir = stage.begin()?;
        shard.write(&dir, &heldout.s, &heldout.splits)?;
        schema::write_timings(
            &dir.join(TimingRow::FILE),
            seed,
            &[("held-out evaluation".into(), seconds)],
        )?;
        stage.commit()?;
        eprintln!(
            "analyze: seed {seed}: {} tasks in {seconds:.1} s -> {}",
            heldout.s.len(),
            artifacts.analyze_shard(seed).display()
        );
    }
    if options.parts.includes_summary() {
        let stage = plan.job("summary").expect("a summary job").stage_run(Stage::Analyze)?;
        if stage.should_run(options.force)? {
            let dir = stage.begin()?;
            let claims = heldout_summary::summarise(pipeline, artifacts, &heldout.splits, &dir)?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_principal_plane_of_points_on_a_tilted_ellipse_is_its_plane() {
        // Points on an ellipse in the plane spanned by (1, 1, 0)/√2 and
        // (0, 0, 1), centred on (5, -2, 3): the plane is recovered (up to sign).
        let points: Vec<Vec<f32>> = (0..12)
            .map(|i| {
                let a = i as f64 * std::f64::consts::TAU / 12.0;
                let (u, w) = (3.0 * a.cos(), a.sin());
                vec![
                    (5.0 + u / 2f64.sqrt()) as f32,
                    (-2.0 + u / 2f64.sqrt()) as f32,
                    (3.0 + w) as f32,
                ]
            })
            .collect();
        let plane = principal_plane(&points, &[5.0, -2.0, 3.0]);
        let r = 1.0 / 2f64.sqrt();
        assert!(
            (plane[0][0].abs() - r).abs() < 1e-4 && (plane[0][1].abs() - r).abs() < 1e-4,
            "{plane:?}"
        );
        assert!((plane[1][2].abs() - 1.0).abs() < 1e-4, "{plane:?}");
    }

    #[test]
    fn claim_pairs_take_the_largest_fourier_and_only_evaluated_methods() {
        let names = ["circle", "input", "fourier2", "fourier6", "points-interp", "piecewise"];
        let pairs = claim_pairs(&names, Topology::Circle);
        assert!(pairs.contains(&("fourier6".into(), "points-interp".into())));
        assert!(pairs.contains(&("piecewise".into(), "points-interp".into())));
        assert!(!pairs.iter().any(|(a, b)| a == "circle" && b == "quadratic"));
        let torus = ["points-interp", "input", "torus", "circles", "circles2"];
        let pairs = claim_pairs(&torus, Topology::Circle);
        for (a, b) in [("torus", "circles2"), ("torus", "input"), ("torus", "points-interp")] {
            assert!(pairs.contains(&(a.into(), b.into())), "{a} - {b}");
        }
        assert!(!pairs.iter().any(|(a, _)| a == "torus2"), "torus2 was not trained");
        assert_eq!(
            pairs
                .iter()
                .filter(|(a, b)| a == "torus" && b == "points-interp")
                .count(),
            1,
            "the largest torus is the torus: its pair once"
        );
        let ladder = [
            "points-interp",
            "torus-metric",
            "torus",
            "torus2",
            "circles2",
            "bilinear",
        ];
        assert_eq!(largest_torus(&ladder).as_deref(), Some("torus2"));
        let pairs = claim_pairs(&ladder, Topology::Circle);
        for (a, b) in [
            ("torus2", "circles2"),
            ("torus2", "points-interp"),
            ("bilinear", "points-interp"),
        ] {
            assert!(pairs.contains(&(a.into(), b.into())), "{a} - {b}");
        }
        assert!(!pairs.iter().any(|(a, _)| a == "torus-metric"));
    }
}
