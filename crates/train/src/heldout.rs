//! The train stage of a held-out pipeline (`[heldout]` in the pipeline
//! file): every method trained on the same training tasks under the same
//! convergence rule, one model file per method per seed.
//!
//! The convergence rule: the last sixth of each training task's training
//! images is validation ([`VALIDATION_SHARE`]), the rest is fitted; after
//! each epoch the validation accuracy (mean over the training tasks) is
//! measured, training stops once it has not improved for
//! `heldout.patience` epochs or after `train.epochs`, and the best epoch's
//! parameters are kept. The CRWN's points are independent models, so each
//! point follows the rule on its own task's validation images.
//!
//! - `points`: today's CRWN on each training task, one task at a time
//!   ([`crate::train_one_task`]); saved as a CRWN file (`tgsh-crwn/1`)
//!   whose `T` tasks are the training tasks.
//! - `shared`, `input`, `line`, `circle`, `fourierK`, and on a torus
//!   family `torus`, `circles`, `circles2`: trained jointly over the
//!   training tasks ([`manifold::train_joint`]), RMSprop or the
//!   metric-preconditioned SGD; saved as `tgsh-manifold/1`. On a torus
//!   every task carries both variables `(s, s2)`.
//!
//! Shard `train/seed-<S>/` holds `<method>.safetensors` for each trained
//! method, `heldout_metrics.parquet` and `timings.parquet`.

use crate::kernels::{self, Encoded};
use crate::manifold::{self, Convergence, JointEpoch, Rule, TaskImages};
use crate::{read_task_data, TaskData, TrainError};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;
use tgsh_common::cli::RunOptions;
use tgsh_common::config::{DeviceChoice, HeldoutExperiment, Method, Topology, TrainedMethod, Update, VALIDATION_SHARE};
use tgsh_common::schema::{self, HeldoutMetricsRow, Table, TimingRow};
use tgsh_common::{plan, Artifacts, Job, Pipeline, PIXELS};
use tgsh_model::manifold_file::{write_network, NETWORK_FILE};
use tgsh_model::torus::TorusBasis;
use tgsh_model::{encoder, Basis, Conditioned, InputEncoding, ManifoldModel, Model};

/// The basis and input encoding of a jointly trained method on a family
/// with `topology` (`torus`: two task variables) whose training tasks are
/// at `train` (`(s, s2)` each; `s2` is 0 on a one-variable family).
pub fn method_shape(method: Method, topology: Topology, torus: bool, train: &[[f64; 2]]) -> (Basis, InputEncoding) {
    match method {
        Method::Shared => (Basis::Constant, InputEncoding::None),
        // The task encoding follows the family's shape: (cos 2πs, sin 2πs)
        // on a circle (U has 2H numbers, as many as the circle's P2, P3),
        // s on a line (H numbers, as many as the line's P2), and on a torus
        // the torus basis' 8 non-constant terms (8H, as many as the torus'
        // P2..P9).
        Method::Input => (
            Basis::Constant,
            match topology {
                _ if torus => InputEncoding::Torus,
                Topology::Circle => InputEncoding::Circle,
                _ => InputEncoding::Line,
            },
        ),
        Method::Line => (Basis::Line, InputEncoding::None),
        Method::Fourier(order) => (Basis::Fourier { order }, InputEncoding::None),
        Method::Quadratic => (Basis::Quadratic, InputEncoding::None),
        Method::Piecewise => (
            Basis::Piecewise {
                knots: train.iter().map(|p| p[0]).collect(),
            },
            InputEncoding::None,
        ),
        // The loader checked that the training tasks are a regular grid
        // from 0 (steps that divide each variable's count), so the knots
        // are (i / rotations, j / shifts), the training tasks themselves.
        Method::Bilinear => {
            let grid = tgsh_model::torus::Grid::of(train).expect("a torus' training tasks form a grid");
            let (rotations, shifts) = (grid.s1.len(), grid.s2.len());
            debug_assert!(grid
                .s1
                .iter()
                .enumerate()
                .all(|(i, &s)| (s - i as f64 / rotations as f64).abs() < 1e-9));
            debug_assert!(grid
                .s2
                .iter()
                .enumerate()
                .all(|(j, &s)| (s - j as f64 / shifts as f64).abs() < 1e-9));
            (
                Basis::Torus(TorusBasis::Bilinear { rotations, shifts }),
                InputEncoding::None,
            )
        }
        Method::Torus(order) => (Basis::Torus(TorusBasis::Product { order }), InputEncoding::None),
        Method::Circles(order) => (Basis::Torus(TorusBasis::Additive { order }), InputEncoding::None),
        Method::Points => unreachable!("points are trained as CRWN tasks"),
    }
}

/// A training task's images at `[s, s2]` cut by the convergence rule: the
/// first five sixths fitted, the last sixth validation.
pub fn split_task(data: &TaskData, [s, s2]: [f64; 2]) -> (TaskImages<'_>, TaskImages<'_>) {
    let n = data.train_labels.len();
    let fit = n - n / VALIDATION_SHARE;
    let part = |from: usize, to: usize| TaskImages {
        s,
        s2,
        images: &data.train_images[from * PIXELS..to * PIXELS],
        labels: &data.train_labels[from..to],
    };
    (part(0, fit), part(fit, n))
}

/// A trained model, before it is written.
pub enum Trained {
    /// The CRWN's points (`tgsh-crwn/1`).
    Points(Model),
    /// A jointly trained method (`tgsh-manifold/1`).
    Joint(Box<ManifoldModel>),
}

/// One row of `heldout_metrics.parquet`.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricRow {
    /// The trained model's label.
    pub method: String,
    /// 1-based epoch.
    pub epoch: usize,
    /// Mean training loss.
    pub loss: f64,
    /// Accuracy on the minibatches seen.
    pub train_accuracy: f64,
    /// Mean validation accuracy after the epoch.
    pub validation_accuracy: f64,
    /// Training tasks averaged over.
    pub training: usize,
    /// Training tasks whose kept parameters are this epoch's.
    pub kept: usize,
}

/// Runs the train stage of a held-out pipeline for the seeds of `options.parts`.
pub fn run(
    pipeline: &Pipeline,
    heldout: &HeldoutExperiment,
    artifacts: &Artifacts,
    options: &RunOptions,
) -> Result<(), TrainError> {
    if pipeline.train.device == DeviceChoice::Cuda {
        return Err(TrainError::Device(candle_core::Error::Msg(
            "held-out pipelines train on the CPU only; drop --device cuda".into(),
        )));
    }
    let config = &pipeline.train;
    let shards = crate::stale_shards(pipeline, artifacts, options)?;
    if shards.is_empty() {
        return Ok(());
    }
    let tasks_table = schema::read_parquet(&artifacts.tasks(), &schema::tasks_schema())?;
    let count = tasks_table.num_rows();
    let family = tasks_table.meta("family")?.to_string();
    let trained = &heldout.train_tasks;
    let start = Instant::now();
    // The training tasks' images, read once for every seed: raw bytes
    // (784 per image), never their encodings.
    let data: Vec<TaskData> = trained
        .iter()
        .map(|&t| read_task_data(artifacts, t))
        .collect::<Result<_, _>>()?;
    let methods = &heldout.methods;
    let hyper = crate::hyper(config);
    // The bar counts the budget's epochs; a model that converges earlier
    // skips the rest of its share.
    let bar = tgsh_common::progress::bar(
        (shards.len() * methods.len() * config.epochs) as u64,
        format!("train {family} held out"),
    );
    for (job, stage) in shards {
        let seed = job.seed().expect("a seed job");
        let model = Model::new(config, seed);
        let mut rows = Vec::new();
        let mut timings = Vec::new();
        let mut files: Vec<(String, Trained, BTreeMap<String, String>)> = Vec::new();
        for method in methods {
            let label = method.label();
            let method_start = Instant::now();
            let metadata = file_metadata(pipeline, heldout, &job, &family, method);
            let hyper = crate::Hyper {
                lr: heldout.config.learning_rate(method, config.learning_rate) as f32,
                ..hyper
            };
            let patience = heldout.config.patience;
            let (trained, _) = train_model(&model, *method, heldout, &data, &hyper, patience, &mut rows, &|| {
                bar.inc(1)
            })?;
            files.push((label.clone(), trained, metadata));
            timings.push((label, method_start.elapsed().as_secs_f64()));
        }
        let dir = stage.begin()?;
        // The fixed encoder and decoder once per seed; every model file
        // names this file instead of repeating them (25 MB each).
        let network_meta = BTreeMap::from([
            ("seed".to_string(), seed.to_string()),
            ("family".to_string(), family.clone()),
            ("normalization_mean".to_string(), encoder::MNIST_MEAN.to_string()),
            ("normalization_std".to_string(), encoder::MNIST_STD.to_string()),
            ("tgsh_version".to_string(), tgsh_common::VERSION.to_string()),
        ]);
        write_network(&dir.join(NETWORK_FILE), &model.encoder, &model.decoder, &network_meta)?;
        for (label, trained, metadata) in files {
            let path = dir.join(plan::method_file(&label));
            match trained {
                Trained::Points(model) => model.save_sharing_network(&path, &metadata, NETWORK_FILE)?,
                Trained::Joint(model) => model.save_sharing_network(&path, &metadata, NETWORK_FILE)?,
            }
        }
        write_metrics(&dir.join(HeldoutMetricsRow::FILE), seed, &rows, &family)?;
        schema::write_timings(&dir.join(TimingRow::FILE), seed, &timings)?;
        stage.commit()?;
        let kept: Vec<String> = methods
            .iter()
            .map(|m| {
                let label = m.label();
                let of: Vec<&MetricRow> = rows.iter().filter(|r| r.method == label).collect();
                let epochs = of.iter().map(|r| r.epoch).max().unwrap_or(0);
                let best = of.iter().filter(|r| r.kept > 0).map(|r| r.epoch).max().unwrap_or(0);
                let validation = of
                    .iter()
                    .find(|r| r.kept > 0 && r.epoch == best)
                    .map_or(f64::NAN, |r| r.validation_accuracy);
                format!("{label} {:.2} % (epoch {best} of {epochs})", 100.0 * validation)
            })
            .collect();
        eprintln!("train: seed {seed}: validation accuracy kept: {}", kept.join(", "));
    }
    bar.finish_and_clear();
    eprintln!(
        "train: {} methods x {} training tasks of {count} in {:.1} s",
        methods.len(),
        trained.len(),
        start.elapsed().as_secs_f64()
    );
    Ok(())
}

/// The metadata every model file of a held-out pipeline carries.
fn file_metadata(
    pipeline: &Pipeline,
    heldout: &HeldoutExperiment,
    job: &Job,
    family: &str,
    method: &TrainedMethod,
) -> BTreeMap<String, String> {
    let seed = job.seed().expect("a seed job");
    let trained = &heldout.train_tasks;
    let train_s = heldout.train_s();
    let learning_rate = heldout.config.learning_rate(method, pipeline.train.learning_rate);
    let json = |v: serde_json::Value| v.to_string();
    let mut meta = BTreeMap::from([
        ("seed".to_string(), seed.to_string()),
        ("method".to_string(), method.label()),
        ("update".to_string(), method.update.name().to_string()),
        ("learning_rate".to_string(), learning_rate.to_string()),
        ("patience".to_string(), heldout.config.patience.to_string()),
        ("max_epochs".to_string(), pipeline.train.epochs.to_string()),
        (
            "validation".to_string(),
            format!("the last 1/{VALIDATION_SHARE} of each training task's training images"),
        ),
        ("train_tasks".to_string(), json(serde_json::json!(trained))),
        ("train_s".to_string(), json(serde_json::json!(train_s))),
        ("family".to_string(), family.to_string()),
        ("tasks".to_string(), trained.len().to_string()),
        ("config".to_string(), job.params.to_string()),
        ("normalization_mean".to_string(), encoder::MNIST_MEAN.to_string()),
        ("normalization_std".to_string(), encoder::MNIST_STD.to_string()),
        ("tgsh_version".to_string(), tgsh_common::VERSION.to_string()),
    ]);
    if method.method == Method::Points {
        // A CRWN file: its `T` tasks are the training tasks, and as a
        // manifold it is the one-hot basis at their values of s.
        meta.insert("format".into(), "tgsh-crwn/1".into());
        meta.insert("backend".into(), "cpu".into());
        meta.insert("basis".into(), "onehot".into());
        meta.insert("topology".into(), "points".into());
    }
    meta
}

/// Trains one model of a seed (`hyper.lr` its step size) on the training
/// tasks' `data` under the convergence rule; returns it with its kept
/// validation accuracy (mean over the training tasks), appending its
/// learning curve to `rows`.
#[allow(clippy::too_many_arguments)]
pub fn train_model(
    model: &Model,
    method: TrainedMethod,
    heldout: &HeldoutExperiment,
    data: &[TaskData],
    hyper: &crate::Hyper,
    patience: usize,
    rows: &mut Vec<MetricRow>,
    tick: &dyn Fn(),
) -> Result<(Trained, f64), TrainError> {
    if method.method == Method::Points {
        let (points, validation) = train_points(model, heldout, data, hyper, patience, rows, tick)?;
        return Ok((Trained::Points(points), validation));
    }
    let first = rows.len();
    let (after, before) = train_method(model, method, heldout, data, hyper, patience, rows, tick)?;
    let validation = rows[first..]
        .iter()
        .map(|r| r.validation_accuracy)
        .fold(f64::NEG_INFINITY, f64::max);
    let file = ManifoldModel {
        seed: model.seed,
        encoder: model.encoder.clone(),
        decoder: model.decoder.clone(),
        before,
        after,
    };
    Ok((Trained::Joint(Box::new(file)), validation))
}

/// The CRWN on each training task, one at a time (today's model), each
/// point under the convergence rule on its own task's validation images;
/// returns the points and the mean of their kept validation accuracies.
fn train_points(
    model: &Model,
    heldout: &HeldoutExperiment,
    data: &[TaskData],
    hyper: &crate::Hyper,
    patience: usize,
    rows: &mut Vec<MetricRow>,
    tick: &dyn Fn(),
) -> Result<(Model, f64), TrainError> {
    let trained = &heldout.train_tasks;
    let mut points = model.clone();
    let mut kept_validation = 0.0;
    // Per epoch: summed loss, train and validation accuracy, tasks, kept.
    let mut per_epoch = vec![(0.0, 0.0, 0.0, 0usize, 0usize); hyper.epochs];
    let decoder = tgsh_model::Decoder::new(&model.decoder);
    let (mut fit_rows, mut validation_rows) = Default::default();
    for (&task, data) in trained.iter().zip(data) {
        let (fit, validation) = split_task(data, heldout.point(task));
        model.encoder.encode_rows_into(fit.images, None, &mut fit_rows);
        model
            .encoder
            .encode_rows_into(validation.images, None, &mut validation_rows);
        let before = model.init_task(task);
        let mut params = before.clone();
        let mut rng = model.shuffle_rng(task);
        let mut rule = Convergence::new(patience);
        let mut best_validation = f64::NEG_INFINITY;
        kernels::train_task_until(
            Encoded {
                rows: fit_rows.rows(),
                labels: fit.labels,
            },
            Encoded {
                rows: validation_rows.rows(),
                labels: validation.labels,
            },
            &decoder,
            &mut params,
            hyper,
            &mut rng,
            |epoch, stats, params| {
                let row = &mut per_epoch[epoch - 1];
                row.0 += stats.loss;
                row.1 += stats.train_accuracy;
                row.2 += stats.test_accuracy;
                row.3 += 1;
                best_validation = best_validation.max(stats.test_accuracy);
                rule.observe(epoch, stats.test_accuracy, params)
            },
        )
        .map_err(|source| TrainError::Diverged {
            seed: model.seed,
            task,
            source,
        })?;
        let (best, after) = rule.best().expect("at least one epoch");
        per_epoch[best - 1].4 += 1;
        kept_validation += best_validation / trained.len() as f64;
        points.before.push(before);
        points.after.push(after);
    }
    for (e, (loss, train_accuracy, validation_accuracy, training, kept)) in per_epoch.into_iter().enumerate() {
        tick();
        if training == 0 {
            continue;
        }
        let n = training as f64;
        rows.push(MetricRow {
            method: "points".into(),
            epoch: e + 1,
            loss: loss / n,
            train_accuracy: train_accuracy / n,
            validation_accuracy: validation_accuracy / n,
            training,
            kept,
        });
    }
    Ok((points, kept_validation))
}

/// The update rule of a trained model at step size `lr`.
pub fn rule(update: Update, lr: f64) -> Rule {
    match update {
        Update::Rmsprop => Rule::Rmsprop,
        Update::Metric => Rule::Metric { lr: lr as f32 },
        Update::Sgd => Rule::Sgd { lr: lr as f32 },
    }
}

/// Trains one jointly trained model under the convergence rule on the
/// fitted images `fit`, scored on `validation` after each epoch; returns
/// the kept parameters, their starting point and the learning curve.
#[allow(clippy::too_many_arguments)]
pub fn train_converged(
    model: &Model,
    method: TrainedMethod,
    topology: Topology,
    torus: bool,
    fit: &[TaskImages<'_>],
    validation: &[TaskImages<'_>],
    shuffles: &mut [rand_chacha::ChaCha8Rng],
    hyper: &crate::Hyper,
    patience: usize,
    mut on_epoch: impl FnMut(MetricRow),
) -> Result<(Conditioned, Conditioned), crate::kernels::Diverged> {
    let train: Vec<[f64; 2]> = fit.iter().map(|t| [t.s, t.s2]).collect();
    let (basis, encoding) = method_shape(method.method, topology, torus, &train);
    let before = Conditioned::constant(basis, &model.init_shared_context(), encoding);
    let mut params = before.clone();
    let decoder = tgsh_model::Decoder::new(&model.decoder);
    let label = method.label();
    let mut rule_of_convergence = Convergence::new(patience);
    manifold::train_joint(
        &model.encoder,
        &decoder,
        fit,
        &mut params,
        hyper,
        rule(method.update, hyper.lr as f64),
        shuffles,
        |epoch, JointEpoch { loss, train_accuracy }, params| {
            let validation_accuracy = manifold::mean_accuracy(&model.encoder, &decoder, params, validation);
            on_epoch(MetricRow {
                method: label.clone(),
                epoch,
                loss,
                train_accuracy,
                validation_accuracy,
                training: fit.len(),
                kept: 0,
            });
            rule_of_convergence.observe(epoch, validation_accuracy, params)
        },
    )?;
    let (_, kept) = rule_of_convergence.best().expect("at least one epoch");
    Ok((kept, before))
}

/// One jointly trained method of a seed; returns its parameters after and before.
#[allow(clippy::too_many_arguments)]
fn train_method(
    model: &Model,
    method: TrainedMethod,
    heldout: &HeldoutExperiment,
    data: &[TaskData],
    hyper: &crate::Hyper,
    patience: usize,
    rows: &mut Vec<MetricRow>,
    tick: &dyn Fn(),
) -> Result<(Conditioned, Conditioned), TrainError> {
    let trained = &heldout.train_tasks;
    let (fit, validation): (Vec<TaskImages<'_>>, Vec<TaskImages<'_>>) = trained
        .iter()
        .zip(data)
        .map(|(&t, d)| split_task(d, heldout.point(t)))
        .unzip();
    let mut shuffles: Vec<_> = trained.iter().map(|&t| model.joint_shuffle_rng(t)).collect();
    let first = rows.len();
    let (after, before) = train_converged(
        model,
        method,
        heldout.topology,
        heldout.is_torus(),
        &fit,
        &validation,
        &mut shuffles,
        hyper,
        patience,
        |row| {
            rows.push(row);
            tick();
        },
    )
    .map_err(|source| TrainError::Diverged {
        seed: model.seed,
        task: trained[0],
        source,
    })?;
    // Mark the kept epoch: the first with the best validation accuracy.
    let curve = &mut rows[first..];
    let best = curve
        .iter()
        .map(|r| r.validation_accuracy)
        .fold(f64::NEG_INFINITY, f64::max);
    if let Some(row) = curve.iter_mut().find(|r| r.validation_accuracy == best) {
        row.kept = trained.len();
    }
    for _ in curve.len()..hyper.epochs {
        tick();
    }
    Ok((after, before))
}

fn write_metrics(path: &Path, seed: u64, rows: &[MetricRow], family: &str) -> Result<(), TrainError> {
    let rows: Vec<HeldoutMetricsRow> = rows
        .iter()
        .map(|r| HeldoutMetricsRow {
            seed,
            method: r.method.clone(),
            epoch: r.epoch as u32,
            loss: r.loss,
            train_accuracy: r.train_accuracy,
            validation_accuracy: r.validation_accuracy,
            training: r.training as u32,
            kept: r.kept as u32,
        })
        .collect();
    let meta = BTreeMap::from([
        ("family".to_string(), family.to_string()),
        ("tgsh_version".to_string(), tgsh_common::VERSION.to_string()),
    ]);
    Ok(HeldoutMetricsRow::write(path, &rows, &meta)?)
}
