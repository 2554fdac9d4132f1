//! `[data]`: the MNIST source and the task family built from it (a sweep
//! of one transform, a torus of two sweeps, or an explicit list of tasks),
//! with each value's validation.

use super::*;

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

    pub(super) fn validate(&self) -> std::result::Result<(), String> {
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
