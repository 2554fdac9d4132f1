//! Stage 2, `train`: one CRWN per seed, one context vector per task.
//!
//! The model (docs/METHOD.md, "The model"): a fixed sparse random encoder `W1` (the fly
//! hash, [`encoder`]), a fixed random decoder `W2` (`10 x H`), and per task
//! `t` a modulation vector `m_t` and a strength `s_t`, learned; the context
//! vector is `c_t = s_t m_t` and `logits = W2 (c_t ⊙ r(x))`. Tasks arrive in
//! order, each trained with a fresh RMSprop for `epochs` epochs; since a task
//! touches only its own `m_t, s_t`, earlier tasks stay exactly as trained.
//!
//! Speed comes from the structure, not from approximation: the encoder is
//! evaluated once per task as exact integer sums over non-zero pixels, and a
//! step costs two thin products with the `10 x H` decoder ([`kernels`]).
//! On a GPU ([`Backend::Candle`]) every (seed, task) pair trains at once as
//! one batched problem ([`batched`]), with the same per-task protocol. The
//! step written with candle's autograd, one task at a time
//! ([`candle_trainer`]), is the benchmark's dense baseline.
//!
//! Held-out pipelines (`[heldout]`, [`heldout`]) train, on part of a task
//! family, context manifolds and their baselines jointly over the training
//! tasks ([`manifold`]) beside the CRWN's points.
//!
//! Randomness is a pure function of the seed: stream 0 draws the encoder,
//! stream 1 the decoder, and task `t` draws its initial values from stream
//! `2 + 2t` and its shuffles from stream `3 + 2t`. Results do not depend on
//! task order or thread count.
#![deny(missing_docs)]

pub mod batched;
pub mod candle_trainer;
pub mod heldout;
pub mod kernels;
pub mod manifold;

use std::collections::BTreeMap;
use std::path::Path;
use tgsh_common::cli::RunOptions;
use tgsh_common::config::{DeviceChoice, Experiment, TrainConfig};
use tgsh_common::schema::{self, MetricsRow, Table, TimingRow};
use tgsh_common::{plan, Artifacts, Job, Pipeline, Stage, StagePlan, StageRun};
use tgsh_model::encoder;

pub use kernels::{EpochStats, Hyper};
pub use tgsh_model::{seeded, Encoder, Model, TaskParams};

/// Errors of the train stage.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    /// Reading inputs or writing artifacts failed.
    #[error(transparent)]
    Common(#[from] tgsh_common::Error),
    /// A loss became NaN or infinite.
    #[error("seed {seed}, task {task}: {source}")]
    Diverged {
        /// Model seed.
        seed: u64,
        /// Task index.
        task: usize,
        /// Epoch, step and value.
        source: kernels::Diverged,
    },
    /// candle failed (or diverged, on the candle path).
    #[error("seed {seed}, task {task}: {source}")]
    Candle {
        /// Model seed.
        seed: u64,
        /// Task index.
        task: usize,
        /// The error.
        source: candle_core::Error,
    },
    /// The device cannot be used.
    #[error("device: {0}")]
    Device(candle_core::Error),
    /// Writing the model file failed.
    #[error(transparent)]
    ModelFile(#[from] tgsh_model::ModelFileError),
    /// candle failed in the batched trainer (which trains many seeds and tasks at once).
    #[error("batched training: {0}")]
    Batched(#[from] candle_core::Error),
    /// A loss became NaN or infinite in the batched trainer, which checks once per epoch.
    #[error(
        "seed {seed}, task {task}: the mean loss of epoch {epoch} is {loss}: training diverged \
         (checked once per epoch on the batched trainer; lower train.learning_rate)"
    )]
    DivergedInEpoch {
        /// Model seed.
        seed: u64,
        /// Task index.
        task: usize,
        /// 1-based epoch.
        epoch: usize,
        /// The epoch's mean loss.
        loss: f32,
    },
    /// The tasks of one training run have different numbers of images.
    #[error(
        "task {task} has {sizes:?} (train, test) images but task 0 has {expected:?}: the batched trainer \
         trains tasks of equal size together; rerun the data stage"
    )]
    UnevenTasks {
        /// The task.
        task: usize,
        /// Its (train, test) images.
        sizes: (usize, usize),
        /// Task 0's.
        expected: (usize, usize),
    },
    /// The sweep does not fit the device's memory.
    #[error(transparent)]
    DeviceMemory(#[from] batched::memory::DoesNotFit),
    /// An environment setting has a value that is not allowed.
    #[error("{0}")]
    Setting(String),
}

/// One row of `metrics.parquet`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MetricRow {
    /// Model seed.
    pub seed: u64,
    /// Task index.
    pub task: usize,
    /// 1-based epoch.
    pub epoch: usize,
    /// Figures of the epoch.
    pub stats: EpochStats,
    /// Wall time of the epoch.
    pub seconds: f64,
}

/// Where training runs, resolved.
#[derive(Debug, Clone)]
pub enum Backend {
    /// Hand-written CPU kernels.
    Cpu,
    /// candle on a device (CUDA).
    Candle(candle_core::Device),
}

impl Backend {
    /// Resolves `--device`: `auto` takes CUDA when available.
    pub fn resolve(choice: DeviceChoice) -> Result<Backend, TrainError> {
        match choice {
            DeviceChoice::Cpu => Ok(Backend::Cpu),
            DeviceChoice::Cuda => Ok(Backend::Candle(
                candle_trainer::cuda_device().map_err(TrainError::Device)?,
            )),
            DeviceChoice::Auto => match candle_trainer::cuda_device() {
                Ok(device) => Ok(Backend::Candle(device)),
                Err(why) => {
                    eprintln!("train: --device auto: training on the CPU, since {why}");
                    Ok(Backend::Cpu)
                }
            },
        }
    }

    /// `cpu`, `cuda`, or `candle-cpu` (the batched trainer on candle's CPU
    /// backend, which only tests use).
    pub fn name(&self) -> &'static str {
        match self {
            Backend::Cpu => "cpu",
            Backend::Candle(candle_core::Device::Cuda(_)) => "cuda",
            Backend::Candle(candle_core::Device::Metal(_)) => "metal",
            Backend::Candle(candle_core::Device::Cpu) => "candle-cpu",
        }
    }
}

/// One task's images, as read from the data stage.
#[derive(Debug, Clone, Default)]
pub struct TaskData {
    /// Training images, concatenated.
    pub train_images: Vec<u8>,
    /// Training labels.
    pub train_labels: Vec<u8>,
    /// Test images.
    pub test_images: Vec<u8>,
    /// Test labels.
    pub test_labels: Vec<u8>,
}

/// Reads task `task` from the data stage's Parquet files.
pub fn read_task_data(artifacts: &Artifacts, task: usize) -> Result<TaskData, TrainError> {
    let mut data = TaskData::default();
    read_task_data_into(artifacts, task, &mut data)?;
    Ok(data)
}

/// [`read_task_data`] into `data`'s buffers, reusing their memory (the
/// train stage reads task after task into two sets of buffers).
pub fn read_task_data_into(artifacts: &Artifacts, task: usize, data: &mut TaskData) -> Result<(), TrainError> {
    let task = task as u16;
    schema::read_task_images_into(
        &artifacts.train_images(),
        task,
        &mut data.train_images,
        &mut data.train_labels,
    )?;
    schema::read_task_images_into(
        &artifacts.test_images(),
        task,
        &mut data.test_images,
        &mut data.test_labels,
    )?;
    Ok(())
}

/// Buffers for a task's encoded images (the fly hash's 16-bit sums and
/// one mean per image: 0.94 GB for 60,000 images), reused from task to task.
#[derive(Debug, Default)]
pub struct Scratch {
    train: tgsh_model::EncodedImages,
    test: tgsh_model::EncodedImages,
}

/// Trains task `task` of `model` on `data`; returns its parameters before
/// and after training. On [`Backend::Candle`] this is a sweep of one lane
/// ([`batched::train_sweep`]); the stage itself trains all lanes at once.
pub fn train_one_task(
    model: &Model,
    task: usize,
    data: &TaskData,
    hyper: &Hyper,
    backend: &Backend,
    scratch: &mut Scratch,
    mut on_epoch: impl FnMut(usize, EpochStats),
) -> Result<(TaskParams, TaskParams), TrainError> {
    let seed = model.seed;
    match backend {
        Backend::Cpu => {
            let before = model.init_task(task);
            let mut params = before.clone();
            let mut rng = model.shuffle_rng(task);
            model
                .encoder
                .encode_rows_into(&data.train_images, None, &mut scratch.train);
            model
                .encoder
                .encode_rows_into(&data.test_images, None, &mut scratch.test);
            let train = kernels::Encoded {
                rows: scratch.train.rows(),
                labels: &data.train_labels,
            };
            let test = kernels::Encoded {
                rows: scratch.test.rows(),
                labels: &data.test_labels,
            };
            let decoder = tgsh_model::Decoder::new(&model.decoder);
            kernels::train_task(train, test, &decoder, &mut params, hyper, &mut rng, &mut on_epoch)
                .map_err(|source| TrainError::Diverged { seed, task, source })?;
            Ok((before, params))
        }
        Backend::Candle(device) => {
            let options = batched::SweepOptions::for_device(device)?;
            let mut params = batched::train_sweep(
                device,
                std::slice::from_ref(model),
                &[task],
                |_| Ok(std::borrow::Cow::Borrowed(data)),
                hyper,
                &options,
                |lane| on_epoch(lane.epoch, lane.stats),
            )?;
            Ok(params.remove(0).remove(0))
        }
    }
}

/// The optimiser settings of a config.
pub fn hyper(config: &TrainConfig) -> Hyper {
    Hyper {
        epochs: config.epochs,
        batch_size: config.batch_size,
        lr: config.learning_rate as f32,
        alpha: config.rmsprop_alpha as f32,
        eps: config.rmsprop_eps as f32,
    }
}

/// The seed shards to train: the selected seeds' jobs of the plan whose
/// inputs, parameters or code changed (all of them with `force`), each with
/// its run.
pub(crate) fn stale_shards(
    pipeline: &Pipeline,
    artifacts: &Artifacts,
    options: &RunOptions,
) -> Result<Vec<(Job, StageRun)>, TrainError> {
    let seeds = pipeline.selected_seeds(&options.parts)?;
    let plan = StagePlan::of(Stage::Train, pipeline, artifacts)?;
    let mut shards = Vec::new();
    // A stale shard's writer lock is held until it is published; taking the
    // locks in one order (ascending seeds) keeps two processes from waiting
    // for each other.
    let mut jobs: Vec<Job> = plan
        .jobs
        .into_iter()
        .filter(|job| job.seed().is_some_and(|s| seeds.contains(&s)))
        .collect();
    jobs.sort_by_key(|job| job.seed());
    for job in jobs {
        let stage = job.stage_run(Stage::Train)?;
        if stage.should_run(options.force)? {
            shards.push((job, stage));
        }
    }
    Ok(shards)
}

/// Runs the train stage for the seeds of `options.parts`: one shard per
/// seed, `train/seed-<S>/`, each skipped when up to date (unless
/// `options.force`) and published atomically on its own. The stale seeds
/// train together, tasks outer, so each task's images are read once.
pub fn run(pipeline: &Pipeline, artifacts: &Artifacts, options: &RunOptions) -> Result<(), TrainError> {
    match &pipeline.experiment {
        Experiment::Heldout(heldout) => heldout::run(pipeline, heldout, artifacts, options),
        Experiment::Family(_) => {
            let device = pipeline.train.device;
            run_on(pipeline, artifacts, options, || Backend::resolve(device))
        }
    }
}

/// [`run`] for a task-family pipeline, with a backend from `backend()`,
/// called only when a shard is stale (so an up-to-date stage never asks for
/// a GPU). Tests run the stage on candle's CPU backend this way: the GPU's
/// code path without a GPU.
pub fn run_on(
    pipeline: &Pipeline,
    artifacts: &Artifacts,
    options: &RunOptions,
    backend: impl FnOnce() -> Result<Backend, TrainError>,
) -> Result<(), TrainError> {
    let config = &pipeline.train;
    let shards = stale_shards(pipeline, artifacts, options)?;
    if shards.is_empty() {
        return Ok(());
    }
    let backend = backend()?;
    let tasks = schema::read_parquet(&artifacts.tasks(), &schema::tasks_schema())?;
    let task_count = tasks.num_rows();
    let family = tasks.meta("family")?.to_string();
    let hyper = hyper(config);
    let bar = tgsh_common::progress::bar(
        (shards.len() * task_count * config.epochs) as u64,
        format!("train {family}"),
    );
    let start = std::time::Instant::now();
    let mut models: Vec<Model> = shards
        .iter()
        .map(|(job, _)| Model::new(config, job.seed().expect("a seed job")))
        .collect();
    let mut rows = match &backend {
        Backend::Cpu => train_on_cpu(artifacts, &mut models, task_count, &hyper, &|| bar.inc(1))?,
        Backend::Candle(device) => train_batched(device, artifacts, &mut models, task_count, &hyper, &|| bar.inc(1))?,
    };
    for rows in &mut rows {
        rows.sort_by_key(|r| (r.task, r.epoch));
    }
    bar.finish_and_clear();
    eprintln!(
        "train: {} x {} x {} in {:.1} s on {}",
        tgsh_common::plural(shards.len(), "seed"),
        tgsh_common::plural(task_count, "task"),
        tgsh_common::plural(config.epochs, "epoch"),
        start.elapsed().as_secs_f64(),
        backend.name()
    );
    for (((job, stage), model), rows) in shards.into_iter().zip(&models).zip(&rows) {
        let seed = model.seed;
        let dir = stage.begin()?;
        let metadata = BTreeMap::from([
            ("format".to_string(), "tgsh-crwn/1".to_string()),
            ("seed".to_string(), seed.to_string()),
            ("family".to_string(), family.clone()),
            ("tasks".to_string(), task_count.to_string()),
            ("config".to_string(), job.params.to_string()),
            ("backend".to_string(), backend.name().to_string()),
            ("normalization_mean".to_string(), encoder::MNIST_MEAN.to_string()),
            ("normalization_std".to_string(), encoder::MNIST_STD.to_string()),
            ("tgsh_version".to_string(), tgsh_common::VERSION.to_string()),
        ]);
        model.save(&dir.join(plan::MODEL_FILE), &metadata)?;
        write_metrics(&dir.join(MetricsRow::FILE), rows, &family)?;
        let timings: Vec<(String, f64)> = rows
            .iter()
            .map(|r| (format!("task {} epoch {}", r.task, r.epoch), r.seconds))
            .collect();
        schema::write_timings(&dir.join(TimingRow::FILE), seed, &timings)?;
        stage.commit()?;
        let finals: Vec<f64> = rows
            .iter()
            .filter(|r| r.epoch == config.epochs)
            .map(|r| r.stats.test_accuracy)
            .collect();
        let mean = finals.iter().sum::<f64>() / finals.len().max(1) as f64;
        let worst = finals.iter().copied().fold(f64::INFINITY, f64::min);
        eprintln!(
            "train: seed {seed}: mean test accuracy {:.2} %, weakest task {:.2} %",
            100.0 * mean,
            100.0 * worst
        );
    }
    Ok(())
}

/// The CPU trainer over every task of every model, tasks outer and seeds
/// inner, so each task's images are read once; returns each model's rows.
fn train_on_cpu(
    artifacts: &Artifacts,
    models: &mut [Model],
    task_count: usize,
    hyper: &Hyper,
    tick: &dyn Fn(),
) -> Result<Vec<Vec<MetricRow>>, TrainError> {
    let mut rows: Vec<Vec<MetricRow>> = vec![Vec::new(); models.len()];
    let mut scratch = Scratch::default();
    std::thread::scope(|scope| {
        // The next task's images are read (one core, mostly decompression)
        // while this task trains, instead of both cores waiting for it.
        // A trained task's buffers come back and the task after next is
        // read into them: two sets of buffers in all, and no fresh memory
        // (page faults, ~200,000 of them on the probe) after the first two.
        let (send, receive) = std::sync::mpsc::sync_channel(0);
        let (recycle, recycled) = std::sync::mpsc::channel::<TaskData>();
        scope.spawn(move || {
            for task in 0..task_count {
                let mut data = recycled.try_recv().unwrap_or_default();
                let read = read_task_data_into(artifacts, task, &mut data).map(|()| data);
                if send.send(read).is_err() {
                    break; // training stopped
                }
            }
        });
        train_tasks_on_cpu(receive, recycle, models, &mut rows, &mut scratch, hyper, tick)
    })?;
    Ok(rows)
}

/// [`train_on_cpu`]'s loop over the tasks as they are read.
fn train_tasks_on_cpu(
    tasks: std::sync::mpsc::Receiver<Result<TaskData, TrainError>>,
    recycle: std::sync::mpsc::Sender<TaskData>,
    models: &mut [Model],
    rows: &mut [Vec<MetricRow>],
    scratch: &mut Scratch,
    hyper: &Hyper,
    tick: &dyn Fn(),
) -> Result<(), TrainError> {
    for (task, data) in tasks.into_iter().enumerate() {
        let data = data?;
        for (model, rows) in models.iter_mut().zip(rows.iter_mut()) {
            let seed = model.seed;
            let mut epoch_start = std::time::Instant::now();
            let (before, after) = train_one_task(model, task, &data, hyper, &Backend::Cpu, scratch, |epoch, stats| {
                rows.push(MetricRow {
                    seed,
                    task,
                    epoch,
                    stats,
                    seconds: epoch_start.elapsed().as_secs_f64(),
                });
                epoch_start = std::time::Instant::now();
                tick();
            })?;
            model.before.push(before);
            model.after.push(after);
        }
        // Sent before the next task is received, so the reader finds these
        // buffers when it starts the task after next. (A reader that has
        // stopped needs them no more.)
        let _ = recycle.send(data);
    }
    Ok(())
}

/// The batched trainer over every (seed, task) pair at once
/// ([`batched::train_sweep`]); returns each model's rows.
fn train_batched(
    device: &candle_core::Device,
    artifacts: &Artifacts,
    models: &mut [Model],
    task_count: usize,
    hyper: &Hyper,
    tick: &dyn Fn(),
) -> Result<Vec<Vec<MetricRow>>, TrainError> {
    let options = batched::SweepOptions::for_device(device)?;
    let seeds: Vec<u64> = models.iter().map(|m| m.seed).collect();
    let mut rows: Vec<Vec<MetricRow>> = vec![Vec::new(); models.len()];
    let tasks: Vec<usize> = (0..task_count).collect();
    let params = batched::train_sweep(
        device,
        models,
        &tasks,
        |task| read_task_data(artifacts, task).map(std::borrow::Cow::Owned),
        hyper,
        &options,
        |lane| {
            let at = seeds.iter().position(|&s| s == lane.seed).expect("a seed of the sweep");
            rows[at].push(MetricRow {
                seed: lane.seed,
                task: lane.task,
                epoch: lane.epoch,
                stats: lane.stats,
                seconds: lane.seconds,
            });
            tick();
        },
    )?;
    for (model, params) in models.iter_mut().zip(params) {
        (model.before, model.after) = params.into_iter().unzip();
    }
    Ok(rows)
}

/// Writes `metrics.parquet`.
pub fn write_metrics(path: &Path, rows: &[MetricRow], family: &str) -> Result<(), TrainError> {
    let rows: Vec<MetricsRow> = rows
        .iter()
        .map(|r| MetricsRow {
            seed: r.seed,
            task: r.task as u16,
            epoch: r.epoch as u32,
            loss: r.stats.loss,
            train_accuracy: r.stats.train_accuracy,
            test_accuracy: r.stats.test_accuracy,
        })
        .collect();
    let meta = BTreeMap::from([
        ("family".to_string(), family.to_string()),
        ("tgsh_version".to_string(), tgsh_common::VERSION.to_string()),
    ]);
    Ok(MetricsRow::write(path, &rows, &meta)?)
}
