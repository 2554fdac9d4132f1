//! Stage 2, `train`: one CRWN per seed, one context vector per task.
//!
//! The model (REFERENCE.md §1): a fixed sparse random encoder `W1` (the fly
//! hash, [`encoder`]), a fixed random decoder `W2` (`10 x H`), and per task
//! `t` a modulation vector `m_t` and a strength `s_t`, learned; the context
//! vector is `c_t = s_t m_t` and `logits = W2 (c_t ⊙ r(x))`. Tasks arrive in
//! order, each trained with a fresh RMSprop for `epochs` epochs; since a task
//! touches only its own `m_t, s_t`, earlier tasks stay exactly as trained.
//!
//! Speed comes from the structure, not from approximation: the encoder is
//! evaluated once per task as exact integer sums over non-zero pixels, and a
//! step costs two thin products with the `10 x H` decoder ([`kernels`]). The
//! same step written with candle's autograd ([`candle_trainer`]) runs on CUDA
//! and is the benchmark's baseline.
//!
//! Randomness is a pure function of the seed: stream 0 draws the encoder,
//! stream 1 the decoder, and task `t` draws its initial values from stream
//! `2 + 2t` and its shuffles from stream `3 + 2t`. Results do not depend on
//! task order or thread count.
#![deny(missing_docs)]

pub mod candle_trainer;
pub mod encoder;
pub mod kernels;

use arrow::array::{ArrayRef, Float64Array, UInt16Array, UInt32Array, UInt64Array};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal, Uniform};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use tgsh_common::config::{DeviceChoice, EncoderKind, TrainConfig};
use tgsh_common::schema;
use tgsh_common::{Artifacts, Pipeline, Stage, StageRun, CLASSES, PIXELS};

pub use encoder::Encoder;
pub use kernels::{EpochStats, Hyper, TaskParams};

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
    #[error("{path}: {message}")]
    Safetensors {
        /// The file.
        path: String,
        /// What went wrong.
        message: String,
    },
}

/// The generator of `stream` for `seed`.
pub fn seeded(seed: u64, stream: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(stream);
    rng
}

/// A CRWN: fixed encoder and decoder, and each task's parameters.
#[derive(Debug, Clone)]
pub struct Model {
    /// The seed everything was drawn from.
    pub seed: u64,
    /// `W1`.
    pub encoder: Encoder,
    /// `W2`, `10 x H`, row-major.
    pub decoder: Vec<f32>,
    /// Each task's parameters at initialisation.
    pub before: Vec<TaskParams>,
    /// Each task's parameters after training (filled as tasks finish).
    pub after: Vec<TaskParams>,
}

impl Model {
    /// Draws encoder and decoder for `seed`.
    pub fn new(config: &TrainConfig, seed: u64) -> Model {
        let h = config.hidden;
        let mut rng = seeded(seed, 0);
        let encoder = match config.encoder {
            EncoderKind::Flyhash => Encoder::flyhash(h, config.inputs_per_unit, &mut rng),
            EncoderKind::Dense => Encoder::dense(h, config.inputs_per_unit, &mut rng),
        };
        // PyTorch's default init of a 1x1 convolution without bias: U(-1/sqrt(H), 1/sqrt(H)).
        let bound = 1.0 / (h as f32).sqrt();
        let uniform = Uniform::new(-bound, bound).expect("valid bounds");
        let mut rng = seeded(seed, 1);
        let decoder = (0..CLASSES * h).map(|_| uniform.sample(&mut rng)).collect();
        Model {
            seed,
            encoder,
            decoder,
            before: Vec::new(),
            after: Vec::new(),
        }
    }

    /// Task `t`'s initial parameters: `m ~ N(0, 2/(H+1))`, `s ~ N(0, 1)`.
    pub fn init_task(&self, task: usize) -> TaskParams {
        let h = self.encoder.hidden();
        let mut rng = seeded(self.seed, 2 + 2 * task as u64);
        let normal = Normal::new(0.0f32, (2.0 / (h as f32 + 1.0)).sqrt()).expect("valid std");
        let modulation = (0..h).map(|_| normal.sample(&mut rng)).collect();
        let strength = Normal::new(0.0f32, 1.0).expect("valid std").sample(&mut rng);
        TaskParams { modulation, strength }
    }

    /// The generator task `t` shuffles with.
    pub fn shuffle_rng(&self, task: usize) -> ChaCha8Rng {
        seeded(self.seed, 3 + 2 * task as u64)
    }

    /// Writes the model as safetensors (tensor names in ARCHITECTURE.md).
    pub fn save(&self, path: &Path, metadata: &BTreeMap<String, String>) -> Result<(), TrainError> {
        let h = self.encoder.hidden();
        let t = self.after.len();
        let stack = |params: &[TaskParams], f: &dyn Fn(&TaskParams) -> Vec<f32>| -> Vec<f32> {
            params.iter().flat_map(f).collect()
        };
        let tensors: Vec<(&str, Vec<usize>, Vec<f32>)> = vec![
            ("encoder.weight", vec![h, PIXELS], self.encoder.dense_weight()),
            ("decoder.weight", vec![CLASSES, h], self.decoder.clone()),
            (
                "modulation.before",
                vec![t, h],
                stack(&self.before, &|p| p.modulation.clone()),
            ),
            (
                "modulation.after",
                vec![t, h],
                stack(&self.after, &|p| p.modulation.clone()),
            ),
            (
                "strength.before",
                vec![t],
                self.before.iter().map(|p| p.strength).collect(),
            ),
            (
                "strength.after",
                vec![t],
                self.after.iter().map(|p| p.strength).collect(),
            ),
            ("context.before", vec![t, h], stack(&self.before, &|p| p.context())),
            ("context.after", vec![t, h], stack(&self.after, &|p| p.context())),
        ];
        write_safetensors(path, &tensors, metadata).map_err(|e| TrainError::Safetensors {
            path: path.display().to_string(),
            message: e.to_string(),
        })
    }
}

/// Writes F32 tensors in the safetensors format: an 8-byte little-endian
/// header length, a JSON header (keys sorted, `__metadata__` included, padded
/// with spaces to 8 bytes) and the raw data in the given order. Written by
/// hand because the `safetensors` crate serialises metadata from a `HashMap`,
/// whose order changes run to run; this way equal models are equal bytes.
pub fn write_safetensors(
    path: &Path,
    tensors: &[(&str, Vec<usize>, Vec<f32>)],
    metadata: &BTreeMap<String, String>,
) -> std::io::Result<()> {
    let mut header = serde_json::Map::new();
    header.insert("__metadata__".into(), serde_json::to_value(metadata).expect("strings"));
    let mut offset = 0usize;
    for (name, shape, values) in tensors {
        assert_eq!(
            shape.iter().product::<usize>(),
            values.len(),
            "{name}: shape and data disagree"
        );
        let end = offset + 4 * values.len();
        header.insert(
            name.to_string(),
            serde_json::json!({"dtype": "F32", "shape": shape, "data_offsets": [offset, end]}),
        );
        offset = end;
    }
    let mut json = serde_json::to_string(&header).expect("serialisable");
    while !json.len().is_multiple_of(8) {
        json.push(' ');
    }
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    out.write_all(&(json.len() as u64).to_le_bytes())?;
    out.write_all(json.as_bytes())?;
    for (_, _, values) in tensors {
        for v in values {
            out.write_all(&v.to_le_bytes())?;
        }
    }
    out.flush()
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

    /// `cpu` or `cuda`.
    pub fn name(&self) -> &'static str {
        match self {
            Backend::Cpu => "cpu",
            Backend::Candle(_) => "cuda",
        }
    }
}

/// One task's images, as read from the data stage.
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
    let read = |path: &Path| -> Result<(Vec<u8>, Vec<u8>), TrainError> {
        let table = schema::read_task(path, &schema::images_schema(), task as u16)?;
        Ok((
            table.images()?,
            table.primitive::<arrow::datatypes::UInt8Type>("label")?,
        ))
    };
    let (train_images, train_labels) = read(&artifacts.train_images())?;
    let (test_images, test_labels) = read(&artifacts.test_images())?;
    Ok(TaskData {
        train_images,
        train_labels,
        test_images,
        test_labels,
    })
}

/// Buffers for encoded activations, reused from task to task.
#[derive(Debug, Default)]
pub struct Scratch {
    train: Vec<f32>,
    test: Vec<f32>,
}

/// Trains task `task` of `model` on `data`; returns its parameters before
/// and after training.
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
    let before = model.init_task(task);
    let mut params = before.clone();
    let mut rng = model.shuffle_rng(task);
    model.encoder.encode_into(&data.train_images, &mut scratch.train);
    model.encoder.encode_into(&data.test_images, &mut scratch.test);
    let (train_rows, test_rows) = (&scratch.train, &scratch.test);
    match backend {
        Backend::Cpu => {
            let train = kernels::Encoded {
                rows: train_rows,
                labels: &data.train_labels,
            };
            let test = kernels::Encoded {
                rows: test_rows,
                labels: &data.test_labels,
            };
            kernels::train_task(train, test, &model.decoder, &mut params, hyper, &mut rng, &mut on_epoch)
                .map_err(|source| TrainError::Diverged { seed, task, source })?;
        }
        Backend::Candle(device) => {
            let h = model.encoder.hidden();
            let upload = |rows: &[f32]| {
                let n = rows.len() / h;
                candle_core::Tensor::from_slice(rows, (n, h), device)
            };
            let wrap = |source| TrainError::Candle { seed, task, source };
            let train = candle_trainer::Input::Encoded(upload(train_rows).map_err(wrap)?);
            let test = candle_trainer::Input::Encoded(upload(test_rows).map_err(wrap)?);
            candle_trainer::train_task(
                device,
                &train,
                &data.train_labels,
                &test,
                &data.test_labels,
                &model.decoder,
                &mut params,
                hyper,
                &mut rng,
                &mut on_epoch,
            )
            .map_err(wrap)?;
        }
    }
    Ok((before, params))
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

/// Runs the train stage: skips when up to date (unless `force`), else
/// trains every seed and publishes models and metrics atomically.
pub fn run(
    pipeline: &Pipeline,
    artifacts: &Artifacts,
    device: Option<DeviceChoice>,
    force: bool,
) -> Result<(), TrainError> {
    let mut config = pipeline.train.clone();
    if let Some(device) = device {
        config.device = device;
    }
    let inputs = vec![artifacts.train_images(), artifacts.test_images(), artifacts.tasks()];
    let stage = StageRun::new(Stage::Train, artifacts, &config, inputs)?;
    if !stage.should_run(force)? {
        return Ok(());
    }
    let backend = Backend::resolve(config.device)?;
    let tasks = schema::read_parquet(&artifacts.tasks(), &schema::tasks_schema())?;
    let task_count = tasks.num_rows();
    let family = tasks.meta("family")?.to_string();
    let hyper = hyper(&config);
    let dir = stage.begin()?;
    let bar = tgsh_common::progress::bar(
        (config.seeds.len() * task_count * config.epochs) as u64,
        format!("train {family}"),
    );
    let start = std::time::Instant::now();
    let mut rows = Vec::new();
    let mut scratch = Scratch::default();
    let mut models = Vec::new();
    for &seed in &config.seeds {
        models.push(Model::new(&config, seed));
    }
    // Tasks outer, seeds inner: each task's images are read once.
    for task in 0..task_count {
        let data = read_task_data(artifacts, task)?;
        for model in models.iter_mut() {
            let seed = model.seed;
            let mut epoch_start = std::time::Instant::now();
            let (before, after) =
                train_one_task(model, task, &data, &hyper, &backend, &mut scratch, |epoch, stats| {
                    rows.push(MetricRow {
                        seed,
                        task,
                        epoch,
                        stats,
                        seconds: epoch_start.elapsed().as_secs_f64(),
                    });
                    epoch_start = std::time::Instant::now();
                    bar.inc(1);
                })?;
            model.before.push(before);
            model.after.push(after);
        }
    }
    bar.finish_and_clear();
    for model in &models {
        let metadata = BTreeMap::from([
            ("format".to_string(), "tgsh-crwn/1".to_string()),
            ("seed".to_string(), model.seed.to_string()),
            ("family".to_string(), family.clone()),
            ("tasks".to_string(), task_count.to_string()),
            (
                "config".to_string(),
                serde_json::to_string(&config).expect("serialisable"),
            ),
            ("backend".to_string(), backend.name().to_string()),
            ("normalization_mean".to_string(), encoder::MNIST_MEAN.to_string()),
            ("normalization_std".to_string(), encoder::MNIST_STD.to_string()),
            ("tgsh_version".to_string(), tgsh_common::VERSION.to_string()),
        ]);
        model.save(&dir.join(tgsh_common::paths::model_file_name(model.seed)), &metadata)?;
    }
    write_metrics(&dir.join("metrics.parquet"), &rows, &family)?;
    stage.commit()?;
    eprintln!(
        "train: {} seed(s) x {task_count} tasks x {} epochs in {:.1} s on {}",
        config.seeds.len(),
        config.epochs,
        start.elapsed().as_secs_f64(),
        backend.name()
    );
    for &seed in &config.seeds {
        let finals: Vec<f64> = rows
            .iter()
            .filter(|r| r.seed == seed && r.epoch == config.epochs)
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

/// Writes `metrics.parquet`.
pub fn write_metrics(path: &Path, rows: &[MetricRow], family: &str) -> Result<(), TrainError> {
    let columns: Vec<ArrayRef> = vec![
        Arc::new(UInt64Array::from(rows.iter().map(|r| r.seed).collect::<Vec<_>>())),
        Arc::new(UInt16Array::from(
            rows.iter().map(|r| r.task as u16).collect::<Vec<_>>(),
        )),
        Arc::new(UInt32Array::from(
            rows.iter().map(|r| r.epoch as u32).collect::<Vec<_>>(),
        )),
        Arc::new(Float64Array::from(
            rows.iter().map(|r| r.stats.loss).collect::<Vec<_>>(),
        )),
        Arc::new(Float64Array::from(
            rows.iter().map(|r| r.stats.train_accuracy).collect::<Vec<_>>(),
        )),
        Arc::new(Float64Array::from(
            rows.iter().map(|r| r.stats.test_accuracy).collect::<Vec<_>>(),
        )),
        Arc::new(Float64Array::from(rows.iter().map(|r| r.seconds).collect::<Vec<_>>())),
    ];
    let batch = schema::batch(path, schema::metrics_schema(), columns)?;
    let meta = BTreeMap::from([
        ("family".to_string(), family.to_string()),
        ("tgsh_version".to_string(), tgsh_common::VERSION.to_string()),
    ]);
    Ok(schema::write_parquet(path, &batch, &meta)?)
}
