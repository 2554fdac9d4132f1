//! What a pipeline does with its task family, decided once at load time.
//!
//! A pipeline is one of two kinds of experiment, and the kind is a type, so
//! no stage checks an optional section or re-derives what validation
//! already proved:
//!
//! - [`Experiment::Family`]: every task of the family is trained and the
//!   T-GSH paper's analyses and claims are run (`[analyze]`).
//! - [`Experiment::Heldout`]: a swept family of which only some tasks are
//!   trained (`[heldout]`); context manifolds and their baselines are tested
//!   on every task ("Walking the Weight Manifold"). Its swept transform, task
//!   variables, training tasks and splits are resolved here.

use super::heldout::{HeldoutConfig, Split, TrainedMethod};
use super::{AnalyzeConfig, DeviceChoice, FamilyConfig, SweepTransform, Topology};

/// The kind of a pipeline, with the validated settings of that kind.
#[derive(Debug, Clone)]
// One per loaded pipeline, never in a collection: the held-out variant's
// size (its task variables and splits) costs nothing worth a Box.
#[allow(clippy::large_enum_variant)]
pub enum Experiment {
    /// Every task trained; the paper's analyses and claims.
    Family(FamilyExperiment),
    /// Train on part of a swept family, test on all of it.
    Heldout(HeldoutExperiment),
}

impl Experiment {
    /// `family` or `heldout`: the kind's name in plans and records.
    pub fn kind(&self) -> &'static str {
        match self {
            Experiment::Family(_) => "family",
            Experiment::Heldout(_) => "heldout",
        }
    }

    /// How the family's tasks are arranged (task distances).
    pub fn topology(&self) -> Topology {
        match self {
            Experiment::Family(f) => f.topology,
            Experiment::Heldout(h) => h.topology,
        }
    }
}

impl super::Pipeline {
    /// Every setting of the pipeline with defaults filled in, as one JSON
    /// object by section (`description`, `data`, `train`, `analyze` or
    /// `heldout`, `report`): what a page shows as its provenance and what
    /// two runs are compared by.
    pub fn resolved(&self) -> serde_json::Value {
        let mut out = serde_json::json!({
            "description": self.description,
            "data": self.data,
            "train": self.train,
            "report": self.report,
        });
        let map = out.as_object_mut().expect("an object");
        match &self.experiment {
            Experiment::Family(f) => map.insert(
                "analyze".into(),
                serde_json::to_value(&f.analyze).expect("serialisable"),
            ),
            Experiment::Heldout(h) => {
                map.insert("heldout".into(), serde_json::to_value(&h.config).expect("serialisable"))
            }
        };
        out
    }

    /// [`Self::resolved`] flattened to `section.key = value` lines, in order.
    pub fn resolved_keys(&self) -> Vec<(String, String)> {
        fn walk(prefix: &str, value: &serde_json::Value, out: &mut Vec<(String, String)>) {
            match value {
                serde_json::Value::Object(map) if !map.is_empty() => {
                    for (k, v) in map {
                        let key = if prefix.is_empty() {
                            k.clone()
                        } else {
                            format!("{prefix}.{k}")
                        };
                        walk(&key, v, out);
                    }
                }
                other => out.push((prefix.to_string(), other.to_string())),
            }
        }
        let mut out = Vec::new();
        walk("", &self.resolved(), &mut out);
        out
    }
}

/// A task-family experiment: `[analyze]` with its topology resolved.
#[derive(Debug, Clone)]
pub struct FamilyExperiment {
    /// `[analyze]`, validated against the family's tasks.
    pub analyze: AnalyzeConfig,
    /// `analyze.topology`, with `auto` resolved against the family.
    pub topology: Topology,
}

/// A held-out experiment: `[heldout]` resolved against its swept family.
#[derive(Debug, Clone)]
pub struct HeldoutExperiment {
    /// `[heldout]` as written (with defaults), validated.
    pub config: HeldoutConfig,
    /// The swept transform.
    pub transform: SweepTransform,
    /// Its period: 360 degrees, or the image width for periodic shifts;
    /// for a blur (a line) the sweep's span `count · step` ([`super::Sweep::span`]).
    pub period: f64,
    /// Each task's variable `s = (parameter / period) mod 1`, in `[0, 1)`;
    /// on a blur `s = (σ - start) / span`.
    pub s: Vec<f64>,
    /// The trained task indices, ascending.
    pub train_tasks: Vec<usize>,
    /// Every task's split.
    pub splits: Vec<Split>,
    /// The models to train, in a fixed order ([`HeldoutConfig::trained_methods`]).
    pub methods: Vec<TrainedMethod>,
    /// How the family's tasks are arranged (a full turn is a circle; each
    /// variable of a torus is a circle).
    pub topology: Topology,
    /// The second task variable of a torus family (`data.family.torus`),
    /// each task's shift over the image width, in `[0, 1)`; `None` for a
    /// one-variable family. Then `s` is the rotation's variable.
    pub s2: Option<Vec<f64>>,
}

impl HeldoutExperiment {
    /// Validates `[heldout]` against a validated family and resolves it;
    /// `Err` names the key at fault and what is allowed.
    pub(super) fn resolve(config: HeldoutConfig, family: &FamilyConfig, device: DeviceChoice) -> Result<Self, String> {
        if let [rotations, shifts] = &family.torus[..] {
            config.validate(family, device)?;
            let shape = [rotations.count, shifts.count];
            let variable = |sweep: &super::Sweep, i: usize| {
                let period = sweep.span();
                ((sweep.start + i as f64 * sweep.step) / period).rem_euclid(1.0)
            };
            let tasks = shape[0] * shape[1];
            let train_tasks = config.torus_train_tasks(shape);
            return Ok(HeldoutExperiment {
                transform: SweepTransform::Rotate,
                period: rotations.span(),
                s: (0..tasks).map(|k| variable(rotations, k / shape[1])).collect(),
                s2: Some((0..tasks).map(|k| variable(shifts, k % shape[1])).collect()),
                splits: (0..tasks)
                    .map(|k| {
                        if train_tasks.contains(&k) {
                            Split::Seen
                        } else {
                            Split::Interpolated
                        }
                    })
                    .collect(),
                train_tasks,
                methods: config.trained_methods(),
                topology: Topology::Circle,
                config,
            });
        }
        let Some(sweep) = &family.sweep else {
            return Err(
                "[heldout] needs a swept family: the task variable s is the swept parameter over its period; \
                 give data.family.sweep = { transform = \"rotate\" | \"shift\" | \"blur\", count, step } \
                 (or a torus of two, data.family.torus)"
                    .into(),
            );
        };
        config.validate(family, device)?;
        let period = sweep.span();
        let s = (0..sweep.count)
            .map(|i| match sweep.transform.period() {
                Some(period) => ((sweep.start + i as f64 * sweep.step) / period).rem_euclid(1.0),
                None => i as f64 * sweep.step / period,
            })
            .collect();
        let tasks = sweep.count;
        Ok(HeldoutExperiment {
            transform: sweep.transform,
            period,
            s,
            train_tasks: config.train_tasks(tasks),
            splits: config.splits(tasks),
            methods: config.trained_methods(),
            topology: AnalyzeConfig::default().topology(family),
            s2: None,
            config,
        })
    }

    /// The task variables of the training tasks, in order.
    pub fn train_s(&self) -> Vec<f64> {
        self.train_tasks.iter().map(|&t| self.s[t]).collect()
    }

    /// Whether the family is a torus (two task variables).
    pub fn is_torus(&self) -> bool {
        self.s2.is_some()
    }

    /// Task `t`'s variables `[s, s2]` (`s2` = 0 on a one-variable family).
    pub fn point(&self, t: usize) -> [f64; 2] {
        [self.s[t], self.s2.as_ref().map_or(0.0, |s2| s2[t])]
    }

    /// Every task's variables ([`HeldoutExperiment::point`]).
    pub fn points(&self) -> Vec<[f64; 2]> {
        (0..self.s.len()).map(|t| self.point(t)).collect()
    }

    /// The training tasks' variables, in order.
    pub fn train_points(&self) -> Vec<[f64; 2]> {
        self.train_tasks.iter().map(|&t| self.point(t)).collect()
    }
}

impl SweepTransform {
    /// The period of the swept parameter: 360 degrees for rotations, the
    /// image width for periodic shifts; `None` for a blur, whose σ is a
    /// line (no blur is the same task as another).
    pub fn period(self) -> Option<f64> {
        match self {
            SweepTransform::Rotate => Some(360.0),
            SweepTransform::Shift => Some(crate::SIDE as f64),
            SweepTransform::Blur => None,
        }
    }

    /// The parameter's name and unit, for axes: `rotation (degrees)`,
    /// `shift (pixels)`, `blur σ (pixels)`.
    pub fn axis(self) -> &'static str {
        match self {
            SweepTransform::Rotate => "rotation (degrees)",
            SweepTransform::Shift => "shift (pixels)",
            SweepTransform::Blur => "blur σ (pixels)",
        }
    }
}

impl super::Sweep {
    /// What `s` is measured against: the transform's period, or for a
    /// family without one (a blur) the sweep's span `count · step`, so
    /// that `s = (parameter - start) / span` runs over `[0, 1)` like a
    /// periodic sweep's. A periodic basis on such a family closes it into
    /// a circle one step past its last task (see docs/MANIFOLDS.md).
    pub fn span(&self) -> f64 {
        self.transform.period().unwrap_or(self.count as f64 * self.step)
    }

    /// The parameter at task variable `s` (the inverse of
    /// [`HeldoutExperiment`]'s `s`, for axes): `s · period` for a periodic
    /// sweep, `start + s · span` for a line.
    pub fn parameter_at(&self, s: f64) -> f64 {
        match self.transform.period() {
            Some(period) => s * period,
            None => self.start + s * self.span(),
        }
    }
}
