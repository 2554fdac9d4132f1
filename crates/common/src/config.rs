//! The pipeline file (`pipelines/<name>.toml`): what an experiment is.
//!
//! Parsing is strict: an unknown key anywhere is an error naming the key and
//! the keys allowed. [`Pipeline::load`] then validates every value before any
//! stage does work (the `Params -> check() -> ValidParams` pattern of linfa),
//! so a bad blur kernel fails in milliseconds, not after an hour.
//!
//! A task family is data, not code: either a `sweep` of one transform over a
//! parameter (`rotate` by `start + i * step` degrees, `shift` by
//! `start + i * step` pixels) or an explicit list of `tasks`, each one
//! transform with its parameters.

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

mod experiment;
pub mod heldout;
pub mod reference;
pub mod transforms;
pub use experiment::{Experiment, FamilyExperiment, HeldoutExperiment};
pub use heldout::{HeldoutConfig, Method, Split, TrainedMethod, Update, VALIDATION_SHARE};

/// A loaded and validated pipeline.
#[derive(Debug, Clone)]
pub struct Pipeline {
    /// The pipeline's name: the file stem (`pipelines/rotation.toml` -> `rotation`).
    pub name: String,
    /// The file it was read from.
    pub path: PathBuf,
    /// Free text shown in the report.
    pub description: String,
    /// `[data]`: which images, which task family.
    pub data: DataConfig,
    /// `[train]`: the model and optimiser.
    pub train: TrainConfig,
    /// `[report]`: report settings.
    pub report: ReportConfig,
    /// What the pipeline does with its family: the paper's analyses of a
    /// task family (`[analyze]`), or a held-out experiment (`[heldout]`).
    pub experiment: Experiment,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PipelineFile {
    #[serde(default)]
    description: String,
    data: DataConfig,
    #[serde(default)]
    train: TrainConfig,
    #[serde(default)]
    analyze: Option<AnalyzeConfig>,
    #[serde(default)]
    report: ReportConfig,
    #[serde(default)]
    heldout: Option<HeldoutConfig>,
}

/// `[data]`: the MNIST source and the task family built from it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataConfig {
    /// Folder with the four MNIST IDX files (gzip-compressed or not).
    #[serde(default = "default_mnist_dir")]
    pub mnist_dir: PathBuf,
    /// Use only the first N training images (all 60,000 when absent).
    #[serde(default)]
    pub train_images: Option<usize>,
    /// Use only the first N test images (all 10,000 when absent).
    #[serde(default)]
    pub test_images: Option<usize>,
    /// Seed of the random augmentations.
    #[serde(default)]
    pub seed: u64,
    /// The task family.
    pub family: FamilyConfig,
}

fn default_mnist_dir() -> PathBuf {
    PathBuf::from("data/mnist")
}

/// `[data.family]`: a named list of tasks, given as a sweep or a list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FamilyConfig {
    /// The family's display name, e.g. `RotationMNIST`.
    pub name: String,
    /// One transform swept over a parameter.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sweep: Option<Sweep>,
    /// A torus: two full-period sweeps, a rotation then a periodic shift;
    /// task `i · n₂ + j` rotates by the first sweep's `i`-th parameter and
    /// then shifts by the second's `j`-th (two task variables).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub torus: Vec<Sweep>,
    /// An explicit list of tasks, one transform each.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "transforms::deserialize_tasks"
    )]
    pub tasks: Vec<Transform>,
    /// Optional display names for the tasks of `tasks` (same length).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub task_names: Vec<String>,
}

/// Task `i` applies `transform` with parameter `start + i * step`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sweep {
    /// Which transform is swept.
    pub transform: SweepTransform,
    /// Number of tasks.
    pub count: usize,
    /// Parameter of task 0.
    #[serde(default)]
    pub start: f64,
    /// Parameter increment between tasks (degrees, pixels or σ); positive.
    pub step: f64,
    /// The blur's odd kernel size (a `blur` sweep only, where it is required).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kernel: Option<usize>,
}

/// Transforms that can be swept over a parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SweepTransform {
    /// Rotation counter-clockwise by the parameter, in degrees.
    Rotate,
    /// Periodic shift right by the parameter, in whole pixels.
    Shift,
    /// Gaussian blur of standard deviation the parameter, in pixels, with
    /// the sweep's fixed `kernel` (torchvision `gaussian_blur`): a task
    /// variable that is a line, not a circle (no blur wraps round to none).
    Blur,
}

/// One task's image transform. In TOML: `{ transform = "gaussian_blur",
/// kernel = 5, sigma = 2.0 }`. Semantics follow torchvision (see the data
/// crate's `transforms` module).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "transform", rename_all = "snake_case", deny_unknown_fields)]
pub enum Transform {
    /// The original image (the paper's T1).
    #[serde(alias = "original")]
    Identity,
    /// Rotate counter-clockwise about the centre, nearest neighbour, fill 0.
    Rotate {
        /// Angle in degrees.
        degrees: f64,
    },
    /// Shift right with wrap-around (negative: left).
    Shift {
        /// Whole pixels.
        pixels: i64,
    },
    /// Rotate (as `Rotate`), then shift periodically (as `Shift`): a task of
    /// a torus family.
    RotateShift {
        /// Angle in degrees.
        degrees: f64,
        /// Whole pixels to the right.
        pixels: i64,
    },
    /// Mirror left-right.
    Hflip,
    /// Mirror top-bottom.
    Vflip,
    /// `255 - pixel`.
    Invert,
    /// Gaussian blur with reflect padding.
    GaussianBlur {
        /// Odd kernel size.
        kernel: usize,
        /// Standard deviation in pixels.
        sigma: f64,
    },
    /// torchvision `RandomPerspective(distortion, p=1)`, bilinear, fill 0.
    RandomPerspective {
        /// Distortion scale in [0, 1].
        #[serde(default = "default_distortion")]
        distortion: f64,
    },
    /// torchvision `RandomErasing(p=1, scale, ratio, value)`.
    RandomErasing {
        /// Range of the erased fraction of the area.
        #[serde(default = "default_erasing_scale")]
        scale: [f64; 2],
        /// Range of the erased box's aspect ratio.
        #[serde(default = "default_erasing_ratio")]
        ratio: [f64; 2],
        /// Value written into the box.
        #[serde(default)]
        value: u8,
    },
    /// torchvision `RandomResizedCrop(28, scale, ratio)`, bilinear.
    RandomResizedCrop {
        /// Range of the crop's fraction of the area.
        #[serde(default = "default_crop_scale")]
        scale: [f64; 2],
        /// Range of the crop's aspect ratio.
        #[serde(default = "default_crop_ratio")]
        ratio: [f64; 2],
    },
}

fn default_distortion() -> f64 {
    0.5
}
fn default_erasing_scale() -> [f64; 2] {
    [0.02, 0.33]
}
fn default_erasing_ratio() -> [f64; 2] {
    [0.3, 3.3]
}
fn default_crop_scale() -> [f64; 2] {
    [0.08, 1.0]
}
fn default_crop_ratio() -> [f64; 2] {
    [3.0 / 4.0, 4.0 / 3.0]
}

impl Transform {
    /// The snake_case name used in TOML.
    pub fn kind(&self) -> &'static str {
        match self {
            Transform::Identity => "identity",
            Transform::Rotate { .. } => "rotate",
            Transform::Shift { .. } => "shift",
            Transform::RotateShift { .. } => "rotate_shift",
            Transform::Hflip => "hflip",
            Transform::Vflip => "vflip",
            Transform::Invert => "invert",
            Transform::GaussianBlur { .. } => "gaussian_blur",
            Transform::RandomPerspective { .. } => "random_perspective",
            Transform::RandomErasing { .. } => "random_erasing",
            Transform::RandomResizedCrop { .. } => "random_resized_crop",
        }
    }

    /// The one numeric parameter of swept transforms (degrees, pixels, or a
    /// blur's σ).
    pub fn parameter(&self) -> Option<f64> {
        match self {
            Transform::Rotate { degrees } => Some(*degrees),
            Transform::Shift { pixels } => Some(*pixels as f64),
            Transform::GaussianBlur { sigma, .. } => Some(*sigma),
            _ => None,
        }
    }

    /// Whether the transform draws random parameters per image.
    pub fn is_random(&self) -> bool {
        matches!(
            self,
            Transform::RandomPerspective { .. } | Transform::RandomErasing { .. } | Transform::RandomResizedCrop { .. }
        )
    }

    /// A short human-readable description, e.g. `rotate 30°`.
    pub fn describe(&self) -> String {
        match self {
            Transform::Rotate { degrees } => format!("rotate {degrees}°"),
            Transform::Shift { pixels } => format!("shift {pixels}px"),
            Transform::RotateShift { degrees, pixels } => format!("rotate {degrees}° shift {pixels}px"),
            Transform::GaussianBlur { kernel, sigma } => format!("gaussian_blur k={kernel} σ={sigma}"),
            Transform::RandomPerspective { distortion } => format!("random_perspective d={distortion}"),
            other => other.kind().to_string(),
        }
    }

    fn validate(&self) -> std::result::Result<(), String> {
        let range = |name: &str, r: [f64; 2], lo: f64, hi: f64| {
            if !(r[0].is_finite() && r[1].is_finite() && lo <= r[0] && r[0] <= r[1] && r[1] <= hi) {
                Err(format!(
                    "{name} = [{}, {}] is invalid: need {lo} <= {name}[0] <= {name}[1] <= {hi}",
                    r[0], r[1]
                ))
            } else {
                Ok(())
            }
        };
        match *self {
            Transform::Rotate { degrees } | Transform::RotateShift { degrees, .. } if !degrees.is_finite() => {
                Err(format!("degrees = {degrees} is invalid: need a finite angle"))
            }
            Transform::GaussianBlur { kernel, sigma } => {
                if kernel == 0 || kernel % 2 == 0 || kernel > 27 {
                    Err(format!(
                        "kernel = {kernel} is invalid: need an odd size from 1 to 27 (the paper uses 5)"
                    ))
                } else if !(sigma.is_finite() && sigma > 0.0) {
                    Err(format!("sigma = {sigma} is invalid: need sigma > 0 (the paper uses 2)"))
                } else {
                    Ok(())
                }
            }
            Transform::RandomPerspective { distortion } => {
                if (0.0..=1.0).contains(&distortion) {
                    Ok(())
                } else {
                    Err(format!(
                        "distortion = {distortion} is invalid: need 0 <= distortion <= 1"
                    ))
                }
            }
            Transform::RandomErasing { scale, ratio, .. } => {
                range("scale", scale, 0.0, 1.0)?;
                range("ratio", ratio, f64::MIN_POSITIVE, f64::MAX)
            }
            Transform::RandomResizedCrop { scale, ratio } => {
                range("scale", scale, f64::MIN_POSITIVE, 1.0)?;
                range("ratio", ratio, f64::MIN_POSITIVE, f64::MAX)
            }
            _ => Ok(()),
        }
    }
}

/// One task of a family, after expanding sweeps.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskSpec {
    /// Task index, from 0.
    pub id: usize,
    /// Display name.
    pub name: String,
    /// What is applied to every image.
    pub transform: Transform,
}

impl FamilyConfig {
    /// The tasks in order, sweeps expanded. Call after validation.
    pub fn expand(&self) -> Vec<TaskSpec> {
        let transforms: Vec<Transform> = match &self.sweep {
            Some(sweep) => (0..sweep.count)
                .map(|i| {
                    let value = sweep.start + i as f64 * sweep.step;
                    match sweep.transform {
                        SweepTransform::Rotate => Transform::Rotate { degrees: value },
                        SweepTransform::Shift => Transform::Shift { pixels: value as i64 },
                        SweepTransform::Blur => Transform::GaussianBlur {
                            kernel: sweep.kernel.expect("validated: a blur sweep has a kernel"),
                            sigma: value,
                        },
                    }
                })
                .collect(),
            None if !self.torus.is_empty() => {
                let (rotations, shifts) = (&self.torus[0], &self.torus[1]);
                (0..rotations.count)
                    .flat_map(|i| {
                        (0..shifts.count).map(move |j| Transform::RotateShift {
                            degrees: rotations.start + i as f64 * rotations.step,
                            pixels: (shifts.start + j as f64 * shifts.step) as i64,
                        })
                    })
                    .collect()
            }
            None => self.tasks.clone(),
        };
        transforms
            .into_iter()
            .enumerate()
            .map(|(id, transform)| TaskSpec {
                id,
                name: self.task_names.get(id).cloned().unwrap_or_else(|| transform.describe()),
                transform,
            })
            .collect()
    }

    fn validate(&self) -> std::result::Result<(), String> {
        let given = [self.sweep.is_some(), !self.tasks.is_empty(), !self.torus.is_empty()];
        match given.iter().filter(|&&g| g).count() {
            0 => {
                return Err(
                    "data.family: give `sweep = { transform, count, step }`, a `tasks` list or a `torus` of two sweeps"
                        .into(),
                )
            }
            1 => {}
            _ => return Err("data.family: give one of `sweep`, `tasks` and `torus`, not several".into()),
        }
        if !self.torus.is_empty() {
            validate_torus(&self.torus)?;
        }
        if let Some(sweep) = &self.sweep {
            validate_sweep(sweep, "data.family.sweep")?;
        }
        for (i, t) in self.tasks.iter().enumerate() {
            t.validate()
                .map_err(|e| format!("data.family.tasks[{i}] ({}): {e}", t.kind()))?;
        }
        if !self.task_names.is_empty() && self.task_names.len() != self.expand_len() {
            return Err(format!(
                "data.family.task_names has {} names for {} tasks",
                self.task_names.len(),
                self.expand_len()
            ));
        }
        Ok(())
    }

    pub(crate) fn expand_len(&self) -> usize {
        if self.torus.len() == 2 {
            return self.torus[0].count * self.torus[1].count;
        }
        self.sweep.as_ref().map_or(self.tasks.len(), |s| s.count)
    }
}

/// A torus family: a full turn of rotations, then a full period of shifts.
fn validate_torus(torus: &[Sweep]) -> std::result::Result<(), String> {
    let [rotations, shifts] = torus else {
        return Err(format!(
            "data.family.torus has {} sweeps: a torus needs two, e.g. torus = [{{ transform = \"rotate\", count = 12, step = 30.0 }}, \
             {{ transform = \"shift\", count = 7, step = 4 }}]",
            torus.len()
        ));
    };
    if (rotations.transform, shifts.transform) != (SweepTransform::Rotate, SweepTransform::Shift) {
        return Err(
            "data.family.torus: the first sweep must rotate and the second shift (a rotation x shift torus)".into(),
        );
    }
    for (i, sweep) in torus.iter().enumerate() {
        let key = format!("data.family.torus[{i}]");
        validate_sweep(sweep, &key)?;
        let period = sweep.transform.period().expect("rotations and shifts are periodic");
        if (sweep.count as f64 * sweep.step - period).abs() > 1e-9 {
            return Err(format!(
                "{key}: {} tasks of step {} cover {} of the period {period}: each variable of a torus must close \
                 (count · step = {period})",
                sweep.count,
                sweep.step,
                sweep.count as f64 * sweep.step
            ));
        }
    }
    if torus[0].count * torus[1].count > u16::MAX as usize {
        return Err("data.family.torus: more than 65535 tasks".into());
    }
    Ok(())
}

/// Checks one sweep; `key` names it in errors (`data.family.sweep`).
fn validate_sweep(sweep: &Sweep, key: &str) -> std::result::Result<(), String> {
    {
        if sweep.count == 0 || sweep.count > u16::MAX as usize {
            return Err(format!(
                "{key}.count = {} is invalid: need 1 to {}",
                sweep.count,
                u16::MAX
            ));
        }
        if !(sweep.step.is_finite() && sweep.step > 0.0) {
            return Err(format!("{key}.step = {} is invalid: need a positive step", sweep.step));
        }
        if !sweep.start.is_finite() {
            return Err(format!("{key}.start = {} is invalid", sweep.start));
        }
        if sweep.transform == SweepTransform::Shift && (sweep.step.fract() != 0.0 || sweep.start.fract() != 0.0) {
            return Err(format!(
                "{key}: a shift needs whole pixels, got start = {}, step = {}",
                sweep.start, sweep.step
            ));
        }
        match (sweep.transform, sweep.kernel) {
            (SweepTransform::Blur, None) => {
                return Err(format!(
                    "{key}: a blur sweep needs `kernel`, the odd kernel size (1 to 27), e.g. kernel = 17"
                ));
            }
            (SweepTransform::Blur, Some(kernel)) => {
                let sigma = sweep.start;
                Transform::GaussianBlur { kernel, sigma }
                    .validate()
                    .map_err(|e| format!("{key} (blur, σ of task 0 = start): {e}"))?;
            }
            (_, Some(_)) => {
                return Err(format!("{key}.kernel is for a blur sweep only: remove it"));
            }
            (_, None) => {}
        }
        let period = sweep.transform.period().unwrap_or(f64::INFINITY);
        if sweep.count as f64 * sweep.step > period + 1e-9 {
            // The first task that goes around again, and the one it repeats.
            let first = (period / sweep.step).ceil() as usize;
            let wrapped = (first as f64 * sweep.step).rem_euclid(period);
            let repeats = (0..first)
                .find(|&j| ((j as f64 * sweep.step) - wrapped).abs() < 1e-9)
                .map_or(String::new(), |j| format!(", which is task {j} again"));
            return Err(format!(
                "{key}: {} tasks of step {} run past one period ({period}): task {first} is at {} \
                     ({wrapped} modulo {period}{repeats}); use count <= {}",
                sweep.count,
                sweep.step,
                sweep.start + first as f64 * sweep.step,
                (period / sweep.step + 1e-9).floor()
            ));
        }
    }
    Ok(())
}

/// The fixed random encoder's construction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EncoderKind {
    /// Fly hash: each hidden unit sums `inputs_per_unit` pixels drawn without replacement.
    Flyhash,
    /// Dense Gaussian random projection (the generic T-GSH of Eq. 1).
    Dense,
}

/// Where training runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeviceChoice {
    /// The CPU (hand-written sparse kernels).
    Cpu,
    /// A CUDA GPU (needs the `cuda` cargo feature).
    Cuda,
    /// CUDA when built with it and a GPU is present, else CPU.
    Auto,
}

/// `[train]`: the CRWN model and its optimiser (docs/METHOD.md, "The model").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainConfig {
    /// One model is trained per seed; the seed draws encoder, decoder, inits and shuffles.
    #[serde(default = "default_seeds")]
    pub seeds: Vec<u64>,
    /// Epochs per task (the paper: 3).
    #[serde(default = "default_epochs")]
    pub epochs: usize,
    /// Minibatch size.
    #[serde(default = "default_batch_size")]
    pub batch_size: usize,
    /// RMSprop learning rate.
    #[serde(default = "default_learning_rate")]
    pub learning_rate: f64,
    /// RMSprop smoothing constant (PyTorch `alpha`).
    #[serde(default = "default_alpha")]
    pub rmsprop_alpha: f64,
    /// RMSprop epsilon.
    #[serde(default = "default_eps")]
    pub rmsprop_eps: f64,
    /// Encoder construction.
    #[serde(default = "default_encoder")]
    pub encoder: EncoderKind,
    /// Hidden units `H` (the paper: 10 x 784 = 7840).
    #[serde(default = "default_hidden")]
    pub hidden: usize,
    /// Pixels read by each fly-hash unit (the paper: 7).
    #[serde(default = "default_inputs_per_unit")]
    pub inputs_per_unit: usize,
    /// Where to train.
    #[serde(default = "default_device")]
    pub device: DeviceChoice,
}

fn default_seeds() -> Vec<u64> {
    vec![0]
}
fn default_epochs() -> usize {
    3
}
fn default_batch_size() -> usize {
    128
}
fn default_learning_rate() -> f64 {
    1e-2
}
fn default_alpha() -> f64 {
    0.99
}
fn default_eps() -> f64 {
    1e-8
}
fn default_encoder() -> EncoderKind {
    EncoderKind::Flyhash
}
fn default_hidden() -> usize {
    7840
}
fn default_inputs_per_unit() -> usize {
    7
}
fn default_device() -> DeviceChoice {
    DeviceChoice::Cpu
}

impl Default for TrainConfig {
    fn default() -> Self {
        toml::from_str("").expect("every field has a default")
    }
}

impl TrainConfig {
    /// Checks every value; the message names the key, the value and what is allowed.
    pub fn validate(&self) -> std::result::Result<(), String> {
        if self.seeds.is_empty() {
            return Err("train.seeds is empty: list at least one seed, e.g. seeds = [0]".into());
        }
        let mut sorted = self.seeds.clone();
        sorted.sort_unstable();
        sorted.dedup();
        if sorted.len() != self.seeds.len() {
            return Err(format!("train.seeds = {:?} repeats a seed", self.seeds));
        }
        if self.epochs == 0 {
            return Err("train.epochs = 0 is invalid: need at least 1".into());
        }
        if self.batch_size == 0 {
            return Err("train.batch_size = 0 is invalid: need at least 1".into());
        }
        if !(self.learning_rate.is_finite() && self.learning_rate > 0.0) {
            return Err(format!(
                "train.learning_rate = {} is invalid: need > 0",
                self.learning_rate
            ));
        }
        if !(0.0..1.0).contains(&self.rmsprop_alpha) {
            return Err(format!(
                "train.rmsprop_alpha = {} is invalid: need 0 <= alpha < 1",
                self.rmsprop_alpha
            ));
        }
        if !(self.rmsprop_eps.is_finite() && self.rmsprop_eps > 0.0) {
            return Err(format!("train.rmsprop_eps = {} is invalid: need > 0", self.rmsprop_eps));
        }
        if self.hidden < 2 {
            return Err(format!(
                "train.hidden = {} is invalid: need at least 2 units",
                self.hidden
            ));
        }
        if self.inputs_per_unit == 0 || self.inputs_per_unit > crate::PIXELS {
            return Err(format!(
                "train.inputs_per_unit = {} is invalid: need 1 to {}",
                self.inputs_per_unit,
                crate::PIXELS
            ));
        }
        Ok(())
    }
}

/// How the tasks of a family are arranged, which gives task distances.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Topology {
    /// Task `i` and `i + 1` are adjacent, and so are the last and the first
    /// (rotations by `360/T` degrees, periodic shifts over the full width).
    Circle,
    /// Task `i` and `i + 1` are adjacent; the ends are not.
    Line,
    /// No order (a list of different augmentations).
    None,
}

/// `analyze.topology`: a [`Topology`], or `auto` to infer it from the family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum TopologyChoice {
    /// A rotation sweep covering 360 degrees or a shift sweep covering the 28
    /// pixel width is a circle, any other sweep a line, a task list none.
    #[default]
    Auto,
    /// See [`Topology::Circle`].
    Circle,
    /// See [`Topology::Line`].
    Line,
    /// See [`Topology::None`].
    None,
}

/// Linkage of the hierarchical clustering (scipy's names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Linkage {
    /// Nearest pair.
    Single,
    /// Farthest pair.
    Complete,
    /// Mean over pairs (UPGMA), the default.
    #[default]
    Average,
    /// WPGMA.
    Weighted,
    /// Ward's minimum variance.
    Ward,
}

/// A family-specific claim of the paper, checked by the analyze stage.
/// Tasks are named as in the family (`task_names`, or e.g. `rotate 10°`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum ClaimSpec {
    /// These tasks form one cluster when the tree is cut into `clusters`.
    SameCluster {
        /// The tasks.
        tasks: Vec<String>,
        /// The cut.
        #[serde(default = "default_clusters")]
        clusters: usize,
    },
    /// The tasks `nearest` are the ones most similar to `task`, and with it
    /// they form a cluster of the merge tree before any of them joins
    /// another task (two claims).
    NearestGroup {
        /// The task the group gathers around.
        task: String,
        /// The tasks that should be its nearest.
        nearest: Vec<String>,
    },
    /// This task's context has negative similarity to every other task's.
    Outgroup {
        /// The task.
        task: String,
    },
    /// `sim(pair) > sim(than)`.
    MoreSimilar {
        /// Two tasks.
        pair: [String; 2],
        /// Two other tasks.
        than: [String; 2],
    },
    /// Mean final test accuracy over tasks is at least `percent`.
    MeanAccuracyAtLeast {
        /// The bar, in percent.
        percent: f64,
        /// Where the bar comes from.
        #[serde(default)]
        source: String,
    },
    /// Mean final test accuracy over tasks equals `percent` within
    /// `±margin` percentage points (two one-sided tests at 95 %).
    MeanAccuracyEquivalent {
        /// The reference, in percent.
        percent: f64,
        /// The equivalence margin, in percentage points.
        margin: f64,
        /// Where the reference comes from.
        #[serde(default)]
        source: String,
    },
    /// The after-training similarity matrix is the matrix of pipeline
    /// `pipeline` at every `every`-th task (Shift-2px vs Shift-1px): at each
    /// task distance `d`, this family's similarity equals `pipeline`'s at
    /// `every d` within `±margin`, and differs from `pipeline`'s at `d`.
    SubsampleOf {
        /// The finer pipeline (a file name in the same folder, without `.toml`).
        pipeline: String,
        /// The subsampling step.
        #[serde(default = "default_every")]
        every: usize,
        /// The equivalence margin, in cosine similarity (docs/METHOD.md).
        #[serde(default = "default_subsample_margin")]
        margin: f64,
    },
}

fn default_clusters() -> usize {
    3
}
fn default_every() -> usize {
    2
}
fn default_subsample_margin() -> f64 {
    0.05
}

/// `[analyze]`: how the trained contexts are analysed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnalyzeConfig {
    /// Task arrangement for distances (adjacency analyses).
    #[serde(default)]
    pub topology: TopologyChoice,
    /// Linkage of the hierarchical clustering.
    #[serde(default)]
    pub linkage: Linkage,
    /// The cut of the tree into flat clusters.
    #[serde(default = "default_clusters")]
    pub clusters: usize,
    /// Test images per class per task for the T-GSH comparison (the paper: 10).
    #[serde(default = "default_per_class")]
    pub tgsh_per_class: usize,
    /// Pair similarities kept per kind, grouping and seed as the stored
    /// distribution (statistics use every pair).
    #[serde(default = "default_pair_sample")]
    pub tgsh_pair_sample: usize,
    /// Bootstrap resamples for pooled intervals.
    #[serde(default = "default_bootstrap")]
    pub bootstrap: usize,
    /// Family-specific claims (the generic ones are always checked).
    #[serde(default)]
    pub claims: Vec<ClaimSpec>,
}

fn default_per_class() -> usize {
    10
}
fn default_pair_sample() -> usize {
    5000
}
fn default_bootstrap() -> usize {
    1000
}

impl Default for AnalyzeConfig {
    fn default() -> Self {
        toml::from_str("").expect("every field has a default")
    }
}

impl AnalyzeConfig {
    /// The topology, with `auto` resolved against `family`.
    pub fn topology(&self, family: &FamilyConfig) -> Topology {
        match self.topology {
            TopologyChoice::Circle => Topology::Circle,
            TopologyChoice::Line => Topology::Line,
            TopologyChoice::None => Topology::None,
            TopologyChoice::Auto => match &family.sweep {
                None => Topology::None,
                Some(sweep) => {
                    let full_turn = sweep
                        .transform
                        .period()
                        .is_some_and(|period| (sweep.count as f64 * sweep.step - period).abs() < 1e-9);
                    if full_turn {
                        Topology::Circle
                    } else {
                        Topology::Line
                    }
                }
            },
        }
    }

    fn validate(&self, tasks: &[TaskSpec]) -> std::result::Result<(), String> {
        let n = tasks.len();
        let task = |name: &str| -> std::result::Result<(), String> {
            if tasks.iter().any(|t| t.name == name) {
                Ok(())
            } else {
                Err(format!(
                    "analyze.claims: no task is named `{name}`; the tasks are: {}",
                    tasks
                        .iter()
                        .map(|t| format!("`{}`", t.name))
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
            }
        };
        if self.clusters == 0 || self.clusters > n {
            return Err(format!(
                "analyze.clusters = {} is invalid: need 1 to {n} (the number of tasks)",
                self.clusters
            ));
        }
        if self.tgsh_per_class == 0 || self.tgsh_per_class > 1000 {
            return Err(format!(
                "analyze.tgsh_per_class = {} is invalid: need 1 to 1000 (the paper uses 10)",
                self.tgsh_per_class
            ));
        }
        if self.tgsh_pair_sample == 0 {
            return Err("analyze.tgsh_pair_sample = 0 is invalid: need at least 1".into());
        }
        if self.bootstrap < 100 {
            return Err(format!(
                "analyze.bootstrap = {} is invalid: need at least 100 resamples",
                self.bootstrap
            ));
        }
        for claim in &self.claims {
            match claim {
                ClaimSpec::SameCluster { tasks: group, clusters } => {
                    if group.len() < 2 {
                        return Err("analyze.claims: same_cluster needs at least two tasks".into());
                    }
                    group.iter().try_for_each(|t| task(t))?;
                    if *clusters < 2 || *clusters > n {
                        return Err(format!(
                            "analyze.claims: same_cluster clusters = {clusters} is invalid: need 2 to {n}"
                        ));
                    }
                }
                ClaimSpec::NearestGroup { task: t, nearest } => {
                    task(t)?;
                    nearest.iter().try_for_each(|t| task(t))?;
                    if nearest.is_empty() || nearest.len() + 1 >= n || nearest.contains(t) {
                        return Err(format!(
                            "analyze.claims: nearest_group needs 1 to {} tasks other than `{t}` in `nearest`, and at least one task outside the group",
                            n.saturating_sub(2)
                        ));
                    }
                }
                ClaimSpec::MeanAccuracyEquivalent { percent, margin, .. } => {
                    if !(percent.is_finite() && *percent > 0.0 && *percent <= 100.0) {
                        return Err(format!(
                            "analyze.claims: mean_accuracy_equivalent percent = {percent} is invalid: need 0 < percent <= 100"
                        ));
                    }
                    if !(margin.is_finite() && *margin > 0.0 && *margin < 100.0) {
                        return Err(format!(
                            "analyze.claims: mean_accuracy_equivalent margin = {margin} is invalid: need 0 < margin < 100 (percentage points)"
                        ));
                    }
                }
                ClaimSpec::Outgroup { task: t } => task(t)?,
                ClaimSpec::MoreSimilar { pair, than } => pair.iter().chain(than).try_for_each(|t| task(t))?,
                ClaimSpec::MeanAccuracyAtLeast { percent, .. } => {
                    if !(percent.is_finite() && *percent > 0.0 && *percent <= 100.0) {
                        return Err(format!(
                            "analyze.claims: mean_accuracy_at_least percent = {percent} is invalid: need 0 < percent <= 100"
                        ));
                    }
                }
                ClaimSpec::SubsampleOf {
                    pipeline,
                    every,
                    margin,
                } => {
                    if pipeline.is_empty()
                        || !pipeline
                            .chars()
                            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
                    {
                        return Err(format!(
                            "analyze.claims: subsample_of pipeline = `{pipeline}` is not a pipeline name"
                        ));
                    }
                    if *every < 1 {
                        return Err("analyze.claims: subsample_of every = 0 is invalid: need at least 1".into());
                    }
                    if !(margin.is_finite() && *margin > 0.0 && *margin < 1.0) {
                        return Err(format!(
                            "analyze.claims: subsample_of margin = {margin} is invalid: need 0 < margin < 1 (cosine similarity)"
                        ));
                    }
                }
            }
        }
        Ok(())
    }
}

/// `[report]`: what the report shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportConfig {
    /// Digits per task in the sample grid.
    #[serde(default = "default_samples")]
    pub samples_per_task: usize,
}

fn default_samples() -> usize {
    8
}

impl Default for ReportConfig {
    fn default() -> Self {
        ReportConfig {
            samples_per_task: default_samples(),
        }
    }
}

impl Pipeline {
    /// Reads, parses and validates a pipeline file.
    pub fn load(path: &Path) -> Result<Pipeline> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        Pipeline::parse(path, &text)
    }

    /// Parses and validates pipeline text; `path` names it in errors and gives the name.
    pub fn parse(path: &Path, text: &str) -> Result<Pipeline> {
        let config_error = |message: String| Error::Config {
            path: path.to_path_buf(),
            message,
        };
        let file: PipelineFile = toml::from_str(text).map_err(|e| config_error(e.to_string()))?;
        let name = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default()
            .to_string();
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
            return Err(config_error(format!(
                "the pipeline name `{name}` (the file name) may use only letters, digits, '-' and '_'"
            )));
        }
        file.data.family.validate().map_err(config_error)?;
        for (key, limit) in [
            ("train_images", file.data.train_images),
            ("test_images", file.data.test_images),
        ] {
            if limit == Some(0) {
                return Err(config_error(format!(
                    "data.{key} = 0 is invalid: need at least 1 image, or leave it out for all"
                )));
            }
        }
        file.train.validate().map_err(config_error)?;
        if file.report.samples_per_task == 0 || file.report.samples_per_task > 32 {
            return Err(config_error(format!(
                "report.samples_per_task = {} is invalid: need 1 to 32",
                file.report.samples_per_task
            )));
        }
        let experiment = match (file.heldout, file.analyze) {
            (Some(_), Some(_)) => {
                return Err(config_error(
                    "[analyze] configures the task-family analyses, which a held-out pipeline ([heldout]) \
                     does not run: remove the [analyze] section"
                        .into(),
                ))
            }
            (Some(heldout), None) => Experiment::Heldout(
                HeldoutExperiment::resolve(heldout, &file.data.family, file.train.device).map_err(config_error)?,
            ),
            (None, analyze) => {
                let analyze = analyze.unwrap_or_default();
                analyze.validate(&file.data.family.expand()).map_err(config_error)?;
                Experiment::Family(FamilyExperiment {
                    topology: analyze.topology(&file.data.family),
                    analyze,
                })
            }
        };
        Ok(Pipeline {
            name,
            path: path.to_path_buf(),
            description: file.description,
            data: file.data,
            train: file.train,
            report: file.report,
            experiment,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Pipeline> {
        Pipeline::parse(Path::new("pipelines/test.toml"), text)
    }

    const ROTATION: &str = r#"
        [data.family]
        name = "RotationMNIST"
        sweep = { transform = "rotate", count = 36, step = 10.0 }
    "#;

    #[test]
    fn sweep_expands_to_tasks_with_parameters() {
        let p = parse(ROTATION).unwrap();
        let tasks = p.data.family.expand();
        assert_eq!(tasks.len(), 36);
        assert_eq!(tasks[5].transform, Transform::Rotate { degrees: 50.0 });
        assert_eq!(tasks[35].transform.parameter(), Some(350.0));
        assert_eq!(p.name, "test");
        assert_eq!(p.train, TrainConfig::default());
        assert_eq!(p.train.hidden, 7840);
    }

    #[test]
    fn task_list_with_names_and_defaults() {
        let p = parse(
            r#"
            [data.family]
            name = "AugmentMNIST"
            task_names = ["T1", "T2", "T3"]
            tasks = [
                { transform = "original" },
                { transform = "gaussian_blur", kernel = 5, sigma = 2.0 },
                { transform = "random_erasing" },
            ]
        "#,
        )
        .unwrap();
        let tasks = p.data.family.expand();
        assert_eq!(tasks[0].transform, Transform::Identity);
        assert_eq!(tasks[1].name, "T2");
        assert_eq!(
            tasks[2].transform,
            Transform::RandomErasing {
                scale: [0.02, 0.33],
                ratio: [0.3, 3.3],
                value: 0
            }
        );
    }

    fn error_of(text: &str) -> String {
        parse(text).unwrap_err().to_string()
    }

    #[test]
    fn unknown_keys_are_rejected_by_name() {
        let e = error_of(&format!("{ROTATION}\n[train]\nepoch = 3\n"));
        assert!(e.contains("unknown field `epoch`"), "{e}");
        let e = error_of(&format!("{ROTATION}\nfoo = 1\n"));
        assert!(e.contains("unknown field `foo`"), "{e}");
    }

    #[test]
    fn unknown_transform_and_unknown_transform_key_are_rejected() {
        let e = error_of("[data.family]\nname = \"x\"\ntasks = [{ transform = \"swirl\" }]\n");
        assert!(e.contains("swirl") && e.contains("gaussian_blur"), "{e}");
        let e = error_of(
            "[data.family]\nname = \"x\"\ntasks = [{ transform = \"gaussian_blur\", kernel = 5, sigma = 2.0, size = 3 }]\n",
        );
        assert!(e.contains("size"), "{e}");
    }

    #[test]
    fn invalid_values_name_key_value_and_what_is_allowed() {
        let e = error_of(
            "[data.family]\nname = \"x\"\ntasks = [{ transform = \"gaussian_blur\", kernel = 4, sigma = 2.0 }]\n",
        );
        assert!(
            e.contains("tasks[0]") && e.contains("kernel = 4") && e.contains("odd"),
            "{e}"
        );
        let e = error_of("[data.family]\nname = \"x\"\nsweep = { transform = \"rotate\", count = 3, step = -10.0 }\n");
        assert!(e.contains("step = -10") && e.contains("positive"), "{e}");
        let e = error_of("[data.family]\nname = \"x\"\nsweep = { transform = \"shift\", count = 3, step = 1.5 }\n");
        assert!(e.contains("whole pixels"), "{e}");
        let e = error_of("[data.family]\nname = \"x\"\nsweep = { transform = \"shift\", count = 40, step = 1.0 }\n");
        assert!(
            e.contains("40 tasks of step 1 run past one period (28): task 28 is at 28 (0 modulo 28, which is task 0 again); use count <= 28"),
            "{e}"
        );
        let e = error_of("[data.family]\nname = \"x\"\nsweep = { transform = \"rotate\", count = 20, step = 25.0 }\n");
        assert!(e.contains("task 15 is at 375") && e.contains("use count <= 14"), "{e}");
        let e = error_of(&format!("{ROTATION}\n[train]\nseeds = []\n"));
        assert!(e.contains("train.seeds"), "{e}");
        let e = error_of(&format!("{ROTATION}\n[train]\nencoder = \"conv\"\n"));
        assert!(e.contains("conv") && e.contains("flyhash"), "{e}");
    }

    fn family_claims(p: &Pipeline) -> &[ClaimSpec] {
        match &p.experiment {
            Experiment::Family(f) => &f.analyze.claims,
            Experiment::Heldout(_) => panic!("a task-family pipeline"),
        }
    }

    #[test]
    fn claim_kinds_with_controls_parse_and_validate() {
        let augment = "[data.family]\nname = \"x\"\ntask_names = [\"A\", \"B\", \"C\", \"D\"]\n\
                       tasks = [{ transform = \"identity\" }, { transform = \"hflip\" }, { transform = \"vflip\" }, { transform = \"invert\" }]\n";
        let p = parse(&format!(
            "{augment}[analyze]\nclaims = [{{ kind = \"nearest_group\", task = \"A\", nearest = [\"B\", \"C\"] }}]\n"
        ))
        .unwrap();
        assert_eq!(
            family_claims(&p),
            vec![ClaimSpec::NearestGroup {
                task: "A".into(),
                nearest: vec!["B".into(), "C".into()]
            }]
        );
        // The whole family as the group leaves nothing outside it.
        let e = error_of(&format!(
            "{augment}[analyze]\nclaims = [{{ kind = \"nearest_group\", task = \"A\", nearest = [\"B\", \"C\", \"D\"] }}]\n"
        ));
        assert!(e.contains("nearest_group"), "{e}");
        let e = error_of(&format!(
            "{ROTATION}\n[analyze]\nclaims = [{{ kind = \"mean_accuracy_equivalent\", percent = 94.4, margin = 0 }}]\n"
        ));
        assert!(e.contains("margin = 0"), "{e}");
        let e = error_of(&format!(
            "{ROTATION}\n[analyze]\nclaims = [{{ kind = \"subsample_of\", pipeline = \"x\", margin = 1.5 }}]\n"
        ));
        assert!(e.contains("margin = 1.5"), "{e}");
        let p = parse(&format!(
            "{ROTATION}\n[analyze]\nclaims = [{{ kind = \"subsample_of\", pipeline = \"x\" }}]\n"
        ))
        .unwrap();
        assert_eq!(
            family_claims(&p),
            vec![ClaimSpec::SubsampleOf {
                pipeline: "x".into(),
                every: 2,
                margin: 0.05
            }]
        );
    }

    #[test]
    fn a_blur_sweep_expands_to_blurs_of_growing_sigma_with_one_kernel() {
        let p = parse(
            "[data.family]\nname = \"B\"\nsweep = { transform = \"blur\", count = 3, start = 0.5, step = 0.5, kernel = 5 }\n",
        )
        .unwrap();
        let tasks = p.data.family.expand();
        let sigmas: Vec<Transform> = tasks.iter().map(|t| t.transform.clone()).collect();
        assert_eq!(
            sigmas,
            [0.5, 1.0, 1.5].map(|sigma| Transform::GaussianBlur { kernel: 5, sigma })
        );
        assert_eq!(tasks[1].name, "gaussian_blur k=5 σ=1");
        assert_eq!(tasks[2].transform.parameter(), Some(1.5));
        // A line, not a circle, whatever its span.
        let analyze = AnalyzeConfig::default();
        assert_eq!(analyze.topology(&p.data.family), Topology::Line);
    }

    #[test]
    fn a_blur_sweep_needs_a_valid_kernel_and_a_positive_sigma() {
        let blur = |extra: &str| {
            error_of(&format!(
                "[data.family]\nname = \"B\"\nsweep = {{ transform = \"blur\", count = 3, step = 0.5{extra} }}\n"
            ))
        };
        let e = blur(", start = 0.5");
        assert!(e.contains("a blur sweep needs `kernel`"), "{e}");
        let e = blur(", start = 0.5, kernel = 4");
        assert!(e.contains("kernel = 4 is invalid"), "{e}");
        let e = blur(", kernel = 5");
        assert!(e.contains("sigma = 0 is invalid"), "{e}");
        let e = error_of(
            "[data.family]\nname = \"R\"\nsweep = { transform = \"rotate\", count = 3, step = 5.0, kernel = 5 }\n",
        );
        assert!(e.contains("data.family.sweep.kernel is for a blur sweep only"), "{e}");
    }

    #[test]
    fn sweep_and_tasks_are_exclusive() {
        let e = error_of(
            "[data.family]\nname = \"x\"\nsweep = { transform = \"rotate\", count = 3, step = 1.0 }\ntasks = [{ transform = \"hflip\" }]\n",
        );
        assert!(e.contains("not several") && e.contains("`sweep`"), "{e}");
        let e = error_of(
            "[data.family]\nname = \"x\"\nsweep = { transform = \"rotate\", count = 3, step = 1.0 }\n\
             torus = [{ transform = \"rotate\", count = 12, step = 30.0 }, { transform = \"shift\", count = 7, step = 4 }]\n",
        );
        assert!(e.contains("not several") && e.contains("`torus`"), "{e}");
    }
}
