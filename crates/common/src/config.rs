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

mod analyze;
mod data;
mod experiment;
pub mod heldout;
pub mod reference;
pub mod transforms;
pub use analyze::{AnalyzeConfig, ClaimSpec, Linkage, Topology, TopologyChoice};
pub use data::{DataConfig, FamilyConfig, Sweep, SweepTransform, TaskSpec, Transform};
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
