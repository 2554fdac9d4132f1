//! The train stage of a held-out pipeline (`[heldout]` in the pipeline
//! file): every method trained on the same training tasks with the same
//! budget, one model file per method per seed.
//!
//! - `points`: today's CRWN on each training task, one task at a time
//!   ([`crate::train_one_task`]); saved as a CRWN file (`tgsh-crwn/1`)
//!   whose `T` tasks are the training tasks.
//! - `shared`, `input`, `line`, `circle`, `fourierK`: trained jointly over
//!   the training tasks ([`manifold::train_joint`]), RMSprop or the
//!   metric-preconditioned SGD; saved as `tgsh-manifold/1`.
//!
//! Shard `train/seed-<S>/` holds `<method>.safetensors` for each trained
//! method, `heldout_metrics.parquet` and `timings.parquet`.

use crate::manifold::{self, JointEpoch, Rule, TaskImages};
use crate::{read_task_data, Backend, Scratch, TaskData, TrainError};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;
use tgsh_common::cli::RunOptions;
use tgsh_common::config::{DeviceChoice, HeldoutConfig, HeldoutExperiment, Method, Topology, TrainedMethod, Update};
use tgsh_common::schema::{self, HeldoutMetricsRow, Table, TimingRow};
use tgsh_common::{plan, Artifacts, Job, Pipeline};
use tgsh_model::{encoder, Basis, Conditioned, InputEncoding, ManifoldModel, Model};

/// The basis and input encoding of a jointly trained method on a family
/// with `topology`.
pub fn method_shape(method: Method, topology: Topology) -> (Basis, InputEncoding) {
    match method {
        Method::Shared => (Basis::Constant, InputEncoding::None),
        // The task encoding follows the family's shape: (cos 2πs, sin 2πs)
        // on a circle (U has 2H numbers, as many as the circle's P2, P3),
        // s on a line (H numbers, as many as the line's P2).
        Method::Input => (
            Basis::Constant,
            match topology {
                Topology::Circle => InputEncoding::Circle,
                _ => InputEncoding::Line,
            },
        ),
        Method::Line => (Basis::Line, InputEncoding::None),
        Method::Fourier(order) => (Basis::Fourier { order }, InputEncoding::None),
        Method::Points => unreachable!("points are trained as CRWN tasks"),
    }
}

/// A trained model, before it is written.
enum Trained {
    /// The CRWN's points (`tgsh-crwn/1`).
    Points(Model),
    /// A jointly trained method (`tgsh-manifold/1`).
    Joint(Box<ManifoldModel>),
}

/// One row of `heldout_metrics.parquet`.
struct MetricRow {
    method: String,
    epoch: usize,
    loss: f64,
    train_accuracy: f64,
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
    let topology = heldout.topology;
    let start = Instant::now();
    // The training tasks' images, read once for every seed: raw bytes
    // (784 per image), never their encodings.
    let data: Vec<TaskData> = trained
        .iter()
        .map(|&t| read_task_data(artifacts, t))
        .collect::<Result<_, _>>()?;
    let methods = &heldout.methods;
    let hyper = crate::hyper(config);
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
            if method.method == Method::Points {
                let points = train_points(&model, trained, &data, &hyper, &mut rows, &|| bar.inc(1))?;
                files.push((label.clone(), Trained::Points(points), metadata));
            } else {
                let (after, before) = train_method(
                    &model,
                    *method,
                    topology,
                    &heldout.config,
                    trained,
                    &heldout.s,
                    &data,
                    &hyper,
                    &mut rows,
                    &|| bar.inc(1),
                )?;
                let file = ManifoldModel {
                    seed,
                    encoder: model.encoder.clone(),
                    decoder: model.decoder.clone(),
                    before,
                    after,
                };
                files.push((label.clone(), Trained::Joint(Box::new(file)), metadata));
            }
            timings.push((label, method_start.elapsed().as_secs_f64()));
        }
        let dir = stage.begin()?;
        for (label, trained, metadata) in files {
            let path = dir.join(plan::method_file(&label));
            match trained {
                Trained::Points(model) => model.save(&path, &metadata)?,
                Trained::Joint(model) => model.save(&path, &metadata)?,
            }
        }
        write_metrics(&dir.join(HeldoutMetricsRow::FILE), seed, &rows, &family)?;
        schema::write_timings(&dir.join(TimingRow::FILE), seed, &timings)?;
        stage.commit()?;
        let last: Vec<String> = rows
            .iter()
            .filter(|r| r.epoch == config.epochs)
            .map(|r| format!("{} {:.1} %", r.method, 100.0 * r.train_accuracy))
            .collect();
        eprintln!(
            "train: seed {seed}: training accuracy in the last epoch: {}",
            last.join(", ")
        );
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
    let learning_rate = match method.update {
        Update::Rmsprop => pipeline.train.learning_rate,
        Update::Metric => heldout.config.metric_learning_rate,
    };
    let json = |v: serde_json::Value| v.to_string();
    let mut meta = BTreeMap::from([
        ("seed".to_string(), seed.to_string()),
        ("method".to_string(), method.label()),
        ("update".to_string(), method.update.name().to_string()),
        ("learning_rate".to_string(), learning_rate.to_string()),
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

/// The CRWN on each training task, one at a time (today's model).
fn train_points(
    model: &Model,
    trained: &[usize],
    data: &[TaskData],
    hyper: &crate::Hyper,
    rows: &mut Vec<MetricRow>,
    tick: &dyn Fn(),
) -> Result<Model, TrainError> {
    let mut points = model.clone();
    let mut per_epoch = vec![(0.0, 0.0); hyper.epochs];
    let mut scratch = Scratch::default();
    for (&task, data) in trained.iter().zip(data) {
        let (before, after) = crate::train_one_task(model, task, data, hyper, &Backend::Cpu, &mut scratch, |e, s| {
            per_epoch[e - 1].0 += s.loss / trained.len() as f64;
            per_epoch[e - 1].1 += s.train_accuracy / trained.len() as f64;
        })?;
        points.before.push(before);
        points.after.push(after);
    }
    for (e, (loss, train_accuracy)) in per_epoch.into_iter().enumerate() {
        rows.push(MetricRow {
            method: "points".into(),
            epoch: e + 1,
            loss,
            train_accuracy,
        });
        tick();
    }
    Ok(points)
}

/// One jointly trained method; returns its parameters after and before.
#[allow(clippy::too_many_arguments)]
fn train_method(
    model: &Model,
    method: TrainedMethod,
    topology: Topology,
    heldout: &HeldoutConfig,
    trained: &[usize],
    all_s: &[f64],
    data: &[TaskData],
    hyper: &crate::Hyper,
    rows: &mut Vec<MetricRow>,
    tick: &dyn Fn(),
) -> Result<(Conditioned, Conditioned), TrainError> {
    let (basis, encoding) = method_shape(method.method, topology);
    let before = Conditioned::constant(basis, &model.init_shared_context(), encoding);
    let mut params = before.clone();
    let tasks: Vec<TaskImages<'_>> = trained
        .iter()
        .zip(data)
        .map(|(&t, d)| TaskImages {
            s: all_s[t],
            images: &d.train_images,
            labels: &d.train_labels,
        })
        .collect();
    let mut shuffles: Vec<_> = trained.iter().map(|&t| model.joint_shuffle_rng(t)).collect();
    let rule = match method.update {
        Update::Rmsprop => Rule::Rmsprop,
        Update::Metric => Rule::Metric {
            lr: heldout.metric_learning_rate as f32,
        },
    };
    let label = method.label();
    manifold::train_joint(
        &model.encoder,
        &tgsh_model::Decoder::new(&model.decoder),
        &tasks,
        &mut params,
        hyper,
        rule,
        &mut shuffles,
        |epoch, JointEpoch { loss, train_accuracy }| {
            rows.push(MetricRow {
                method: label.clone(),
                epoch,
                loss,
                train_accuracy,
            });
            tick();
        },
    )
    .map_err(|source| TrainError::Diverged {
        seed: model.seed,
        task: trained[0],
        source,
    })?;
    Ok((params, before))
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
        })
        .collect();
    let meta = BTreeMap::from([
        ("family".to_string(), family.to_string()),
        ("tgsh_version".to_string(), tgsh_common::VERSION.to_string()),
    ]);
    Ok(HeldoutMetricsRow::write(path, &rows, &meta)?)
}
