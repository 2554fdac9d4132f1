//! `[heldout]`: train on part of a task family, test on the rest.
//!
//! A held-out pipeline is an ordinary pipeline whose family is a fine grid of
//! one swept transform (say RotationMNIST every 5 degrees). Only some tasks
//! are trained: every `train_every`-th task of the arc
//! `train_first..=train_last`. Every task is evaluated, so accuracy can be
//! drawn as a function of the task variable `s`; an untrained task inside the
//! arc is *interpolated*, one outside it *extrapolated*.
//!
//! The task variable of a task is its transform parameter over the family's
//! period, `s = (parameter / period) mod 1` in `[0, 1)`: degrees over 360 for
//! rotations, pixels over 28 for periodic shifts.
//!
//! Every method is trained under one convergence rule: the last sixth of
//! each training task's training images is held back as validation
//! ([`VALIDATION_SHARE`]), and training stops once the mean validation
//! accuracy over the training tasks has not improved for `patience`
//! epochs, or after `train.epochs` (the maximum budget); the parameters of
//! the best validation epoch are kept. The CRWN's points follow the same
//! rule, each point on its own task's validation images.
//!
//! ```toml
//! [heldout]
//! train_every = 4                # tasks 0, 4, 8, ...: every 20 degrees on a 5-degree grid
//! # train_first = 0, train_last = 34   # an arc, for extrapolation
//! methods = ["points", "shared", "input", "line", "quadratic", "circle", "piecewise"]
//! updates = ["rmsprop", "metric", "sgd"]
//! patience = 3
//! [heldout.learning_rates]      # the pilot's picks, by trained model
//! circle = 0.01
//! circle-metric = 30.0
//! ```

use super::{DeviceChoice, FamilyConfig};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What is trained on the training tasks (the context as a function of `s`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Method {
    /// One free context per training task: today's CRWN (`c_t = s_t m_t`,
    /// each task trained on its own). On an untrained task it is served by
    /// the nearest training task's context, and by linear interpolation
    /// between the two neighbouring ones.
    Points,
    /// One context shared by every task.
    Shared,
    /// Input conditioning, the paper's baseline: one shared context plus a
    /// trained projection `U e(s)` of the task encoding added to the hidden
    /// pre-activation.
    Input,
    /// A line: `c(s) = P1 (1 - s) + P2 s`.
    Line,
    /// A Fourier series of this order on the circle: order 1 is the circle
    /// `P1 + P2 cos 2πs + P3 sin 2πs`.
    Fourier(usize),
    /// `c(s) = P1 + P2 s + P3 s²`: non-periodic, the circle's size (3H).
    Quadratic,
    /// A periodic piecewise-linear curve with one knot per training task
    /// (`T H` numbers): the CRWN's points trained jointly, interpolated
    /// linearly between knots.
    Piecewise,
    /// On a torus family (two task variables): every product of the
    /// circle's terms of this order in `s₁` and `s₂`: order 1 is `(1, cos,
    /// sin) ⊗ (1, cos, sin)`, 9H numbers; order `K` is `(2K + 1)²` H.
    Torus(usize),
    /// On a torus family: the sum of two Fourier series of this order, one
    /// per variable (`1 + 4K` functions: order 1 is 5H, order 2 is 9H, the
    /// torus' size).
    Circles(usize),
    /// On a torus family: one knot per training task on the training grid,
    /// the contexts between knots interpolated bilinearly (`T H` numbers):
    /// the torus' `piecewise`, the CRWN's points trained jointly.
    Bilinear,
}

/// Highest Fourier order accepted (`fourier8`: 17 basis functions).
pub const MAX_FOURIER_ORDER: usize = 8;

/// Highest order of a torus basis accepted, in each variable (`torus4`:
/// 81 functions; `circles4`: 17).
pub const MAX_TORUS_ORDER: usize = 4;

impl Method {
    /// The name in the pipeline file and in artifacts: `points`, `shared`,
    /// `input`, `line`, `quadratic`, `circle` (order 1), `fourier2`, ...,
    /// `piecewise`.
    pub fn name(self) -> String {
        match self {
            Method::Points => "points".into(),
            Method::Shared => "shared".into(),
            Method::Input => "input".into(),
            Method::Line => "line".into(),
            Method::Fourier(1) => "circle".into(),
            Method::Fourier(k) => format!("fourier{k}"),
            Method::Quadratic => "quadratic".into(),
            Method::Piecewise => "piecewise".into(),
            Method::Torus(1) => "torus".into(),
            Method::Torus(k) => format!("torus{k}"),
            Method::Circles(1) => "circles".into(),
            Method::Circles(k) => format!("circles{k}"),
            Method::Bilinear => "bilinear".into(),
        }
    }

    /// Whether the method takes two task variables (a torus family's).
    pub fn is_two_variable(self) -> bool {
        matches!(self, Method::Torus(_) | Method::Circles(_) | Method::Bilinear)
    }

    /// Whether the method takes one task variable (it is a basis of `s`
    /// alone); the points, `shared` and `input` take either.
    pub fn is_one_variable(self) -> bool {
        matches!(
            self,
            Method::Line | Method::Fourier(_) | Method::Quadratic | Method::Piecewise
        )
    }

    /// Whether the method is a manifold with a basis of more than one
    /// function, so the metric-preconditioned update (and its plain-SGD
    /// control) applies to it.
    pub fn is_manifold(self) -> bool {
        matches!(
            self,
            Method::Line
                | Method::Fourier(_)
                | Method::Quadratic
                | Method::Piecewise
                | Method::Torus(_)
                | Method::Circles(_)
                | Method::Bilinear
        )
    }

    /// The coefficient vectors the method learns with `trained` training
    /// tasks (`None` for the points and input conditioning, which are not
    /// a basis): a basis with more than `trained` functions is not
    /// determined by the training tasks.
    pub fn coefficients(self, trained: usize) -> Option<usize> {
        match self {
            Method::Shared => Some(1),
            Method::Line => Some(2),
            Method::Quadratic => Some(3),
            Method::Fourier(k) => Some(1 + 2 * k),
            Method::Piecewise | Method::Bilinear => Some(trained),
            Method::Torus(k) => Some((1 + 2 * k) * (1 + 2 * k)),
            Method::Circles(k) => Some(1 + 4 * k),
            Method::Points | Method::Input => None,
        }
    }
}

impl TryFrom<String> for Method {
    type Error = String;
    fn try_from(name: String) -> Result<Method, String> {
        let known =
            "`points`, `shared`, `input`, `line`, `quadratic`, `circle`, `fourier2` .. `fourier8`, `piecewise`, \
                     and on a torus family `torus`, `torus2` .. `torus4`, `circles`, `circles2` .. `circles4`, `bilinear`";
        Ok(match name.as_str() {
            "points" => Method::Points,
            "shared" => Method::Shared,
            "input" => Method::Input,
            "line" => Method::Line,
            "quadratic" => Method::Quadratic,
            "piecewise" => Method::Piecewise,
            "circle" => Method::Fourier(1),
            "torus" => Method::Torus(1),
            "circles" => Method::Circles(1),
            "bilinear" => Method::Bilinear,
            other => {
                let order = |prefix: &str, max: usize| {
                    other
                        .strip_prefix(prefix)
                        .and_then(|k| k.parse::<usize>().ok())
                        .filter(|k| (1..=max).contains(k))
                };
                if let Some(k) = order("fourier", MAX_FOURIER_ORDER) {
                    Method::Fourier(k)
                } else if let Some(k) = order("torus", MAX_TORUS_ORDER) {
                    Method::Torus(k)
                } else if let Some(k) = order("circles", MAX_TORUS_ORDER) {
                    Method::Circles(k)
                } else {
                    return Err(format!("unknown method `{name}`: use {known}"));
                }
            }
        })
    }
}

impl From<Method> for String {
    fn from(m: Method) -> String {
        m.name()
    }
}

/// How a manifold's parameters `P` are updated from the loss gradient.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Update {
    /// The project's optimiser (RMSprop, `train.learning_rate`) on the plain gradient.
    Rmsprop,
    /// The paper's update: plain SGD preconditioned by the inverse Gram
    /// matrix of the basis, `ΔP = -η G⁻¹ mean_t φ(s_t) g_tᵀ`, with
    /// `η = heldout.metric_learning_rate`.
    Metric,
    /// Plain SGD on the same gradient without `G⁻¹`, `ΔP = -η mean_t
    /// φ(s_t) g_tᵀ`: the control that isolates the metric.
    Sgd,
}

impl Update {
    /// `rmsprop`, `metric` or `sgd`.
    pub fn name(self) -> &'static str {
        match self {
            Update::Rmsprop => "rmsprop",
            Update::Metric => "metric",
            Update::Sgd => "sgd",
        }
    }
}

/// One trained model of a held-out pipeline: a method and its update rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct TrainedMethod {
    /// What is trained.
    pub method: Method,
    /// How.
    pub update: Update,
}

impl TrainedMethod {
    /// The model file's stem and the method's name in the tables:
    /// `circle`, `circle-metric` for the metric update, `circle-sgd` for
    /// plain SGD.
    pub fn label(&self) -> String {
        match self.update {
            Update::Rmsprop => self.method.name(),
            Update::Metric => format!("{}-metric", self.method.name()),
            Update::Sgd => format!("{}-sgd", self.method.name()),
        }
    }

    /// Whether a table's method name (a [`TrainedMethod::label`], or the
    /// points' `points-nearest`/`points-interp`) is a model trained with an
    /// update other than RMSprop: the pages draw those apart.
    pub fn label_is_other_update(label: &str) -> bool {
        label.ends_with("-metric") || label.ends_with("-sgd")
    }
}

/// `heldout.train_every`: one step for a one-variable family, or one per
/// variable on a torus (`[2, 2]`: every other rotation and every other
/// shift of the grid).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum TrainEvery {
    /// Every `n`-th task of the training arc.
    One(usize),
    /// On a torus: every `e₁`-th value of the first variable and every
    /// `e₂`-th of the second.
    Two([usize; 2]),
}

impl TrainEvery {
    /// The step of a one-variable family (the first of a torus' two).
    pub fn first(self) -> usize {
        match self {
            TrainEvery::One(n) => n,
            TrainEvery::Two([n, _]) => n,
        }
    }
}

/// The share of each training task's training images held back as
/// validation: the last `1 / VALIDATION_SHARE` (a sixth).
pub const VALIDATION_SHARE: usize = 6;

/// `[heldout]`: which tasks are trained, which methods, which update rules.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HeldoutConfig {
    /// Train every `train_every`-th task of `train_first..=train_last`.
    #[serde(default = "default_every")]
    pub train_every: TrainEvery,
    /// First task of the training arc (and the first task trained).
    #[serde(default)]
    pub train_first: usize,
    /// Last task of the training arc (default: the family's last task).
    /// Untrained tasks outside the arc are extrapolated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub train_last: Option<usize>,
    /// Methods to train and compare.
    #[serde(default = "default_methods")]
    pub methods: Vec<Method>,
    /// Update rules for the manifold methods (`line`, `circle`, `fourierK`);
    /// the baselines always use RMSprop.
    #[serde(default = "default_updates")]
    pub updates: Vec<Update>,
    /// The manifold methods trained with every rule of `updates` (absent:
    /// every manifold); the other manifolds use RMSprop only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update_methods: Option<Vec<Method>>,
    /// The step size `η` of the metric-preconditioned SGD update (every
    /// `-metric` model not listed in `learning_rates`).
    #[serde(default = "default_metric_learning_rate")]
    pub metric_learning_rate: f64,
    /// The step size of plain SGD (every `-sgd` model not listed in
    /// `learning_rates`).
    #[serde(default = "default_sgd_learning_rate")]
    pub sgd_learning_rate: f64,
    /// Epochs without a better validation accuracy after which training
    /// stops (the budget's maximum is `train.epochs`).
    #[serde(default = "default_patience")]
    pub patience: usize,
    /// The pilot's step size for each trained model by its label
    /// (`circle`, `circle-metric`, `circle-sgd`, `points`, ...); a model not
    /// listed takes `train.learning_rate` (RMSprop), `metric_learning_rate`
    /// or `sgd_learning_rate`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub learning_rates: BTreeMap<String, f64>,
}

fn default_every() -> TrainEvery {
    TrainEvery::One(1)
}
fn default_methods() -> Vec<Method> {
    vec![
        Method::Points,
        Method::Shared,
        Method::Input,
        Method::Line,
        Method::Fourier(1),
    ]
}
fn default_updates() -> Vec<Update> {
    vec![Update::Rmsprop, Update::Metric]
}
fn default_metric_learning_rate() -> f64 {
    // The pilot's pick on RotationMNIST (README: the metric update's step size).
    30.0
}
fn default_sgd_learning_rate() -> f64 {
    30.0
}
fn default_patience() -> usize {
    3
}

/// Where an untrained task lies relative to the training arc.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Split {
    /// A training task.
    Seen,
    /// Untrained, inside `train_first..=train_last`.
    Interpolated,
    /// Untrained, outside the training arc.
    Extrapolated,
}

impl Split {
    /// `seen`, `interpolated` or `extrapolated`.
    pub fn name(self) -> &'static str {
        match self {
            Split::Seen => "seen",
            Split::Interpolated => "interpolated",
            Split::Extrapolated => "extrapolated",
        }
    }
}

impl HeldoutConfig {
    /// The last task of the training arc, resolved against `tasks`.
    pub fn last(&self, tasks: usize) -> usize {
        self.train_last.unwrap_or(tasks.saturating_sub(1))
    }

    /// The trained task indices, ascending.
    pub fn train_tasks(&self, tasks: usize) -> Vec<usize> {
        (self.train_first..=self.last(tasks))
            .step_by(self.train_every.first().max(1))
            .collect()
    }

    /// Every task's split.
    pub fn splits(&self, tasks: usize) -> Vec<Split> {
        let trained = self.train_tasks(tasks);
        let arc = self.train_first..=self.last(tasks);
        (0..tasks)
            .map(|t| {
                if trained.contains(&t) {
                    Split::Seen
                } else if arc.contains(&t) {
                    Split::Interpolated
                } else {
                    Split::Extrapolated
                }
            })
            .collect()
    }

    /// The step size of a trained model: its entry in `learning_rates`, or
    /// its update rule's default (`train_learning_rate` for RMSprop).
    pub fn learning_rate(&self, method: &TrainedMethod, train_learning_rate: f64) -> f64 {
        if let Some(&rate) = self.learning_rates.get(&method.label()) {
            return rate;
        }
        match method.update {
            Update::Rmsprop => train_learning_rate,
            Update::Metric => self.metric_learning_rate,
            Update::Sgd => self.sgd_learning_rate,
        }
    }

    /// The models to train, in a fixed order: each baseline once (RMSprop),
    /// each manifold once per update rule.
    pub fn trained_methods(&self) -> Vec<TrainedMethod> {
        let mut out = Vec::new();
        for &method in &self.methods {
            let compared = self.update_methods.as_ref().is_none_or(|m| m.contains(&method));
            if method.is_manifold() && compared {
                out.extend(self.updates.iter().map(|&update| TrainedMethod { method, update }));
            } else {
                out.push(TrainedMethod {
                    method,
                    update: Update::Rmsprop,
                });
            }
        }
        out
    }

    /// Checks every value against the family; the message names the key,
    /// the value and what is allowed.
    /// (The family is a sweep: [`super::HeldoutExperiment::resolve`] checks that first.)
    pub(super) fn validate(&self, family: &FamilyConfig, device: DeviceChoice) -> Result<(), String> {
        self.validate_variables(family)?;
        let trained = match family.torus.get(..2) {
            Some(torus) => self.validate_torus([torus[0].count, torus[1].count])?,
            None => self.validate_arc(family.expand_len())?,
        };
        self.validate_lists(family, device, trained)
    }

    /// The training arc of a one-variable family; the number of tasks trained.
    fn validate_arc(&self, tasks: usize) -> Result<usize, String> {
        let TrainEvery::One(every) = self.train_every else {
            unreachable!("validate_variables")
        };
        if every == 0 {
            return Err("heldout.train_every = 0 is invalid: need at least 1".into());
        }
        let last = self.last(tasks);
        if last >= tasks || self.train_first > last {
            return Err(format!(
                "heldout.train_first = {} and train_last = {last} are invalid: need train_first <= train_last < {tasks} (the family's tasks)",
                self.train_first
            ));
        }
        let trained = self.train_tasks(tasks).len();
        if trained < 2 {
            return Err(format!(
                "heldout: only {trained} task is trained (train_first = {}, train_last = {last}, train_every = {every}): need at least 2",
                self.train_first
            ));
        }
        if trained == tasks {
            return Err(
                "heldout: every task is trained, so nothing is held out: raise train_every or shorten the arc".into(),
            );
        }
        Ok(trained)
    }

    /// The trained grid tasks of a torus of `shape` (rotations x shifts),
    /// row-major: `(i, j)` with `i` a multiple of `e₁` and `j` of `e₂`.
    pub fn torus_train_tasks(&self, shape: [usize; 2]) -> Vec<usize> {
        let [e1, e2] = match self.train_every {
            TrainEvery::Two(e) => e,
            TrainEvery::One(n) => [n, n],
        };
        (0..shape[0] * shape[1])
            .filter(|k| (k / shape[1]).is_multiple_of(e1.max(1)) && (k % shape[1]).is_multiple_of(e2.max(1)))
            .collect()
    }

    /// Which `[heldout]` keys fit the family's number of task variables.
    fn validate_variables(&self, family: &FamilyConfig) -> Result<(), String> {
        let torus = !family.torus.is_empty();
        match (self.train_every, torus) {
            (TrainEvery::Two(e), false) => {
                return Err(format!(
                    "heldout.train_every = [{}, {}] gives two task variables, but data.family.sweep has one: \
                     give one number, or make the family a torus (data.family.torus)",
                    e[0], e[1]
                ))
            }
            (TrainEvery::One(n), true) => {
                return Err(format!(
                    "heldout.train_every = {n}: a torus family (data.family.torus) has two task variables: \
                     give one step per variable, e.g. train_every = [2, 2]"
                ))
            }
            _ => {}
        }
        let (wrong, why) = if torus {
            (
                self.methods.iter().find(|m| m.is_one_variable()),
                "is a basis of one task variable, but data.family.torus has two: use `torus`, `torus2` .., `circles`, `circles2` .., `bilinear`",
            )
        } else {
            (
                self.methods.iter().find(|m| m.is_two_variable()),
                "is a basis of two task variables (a torus), but data.family.sweep has one: drop it or use data.family.torus",
            )
        };
        if let Some(method) = wrong {
            return Err(format!("heldout.methods: `{}` {why}", method.name()));
        }
        Ok(())
    }

    /// A torus: every grid task whose indices are multiples of the steps
    /// is trained, the others interpolated (no arc, so no extrapolation).
    fn validate_torus(&self, shape: [usize; 2]) -> Result<usize, String> {
        let TrainEvery::Two([e1, e2]) = self.train_every else {
            unreachable!("validate_variables")
        };
        if e1 == 0 || e2 == 0 || e1 > shape[0] || e2 > shape[1] {
            return Err(format!(
                "heldout.train_every = [{e1}, {e2}] is invalid on a {} x {} torus: need 1 <= e1 <= {} and 1 <= e2 <= {}",
                shape[0], shape[1], shape[0], shape[1]
            ));
        }
        if self.train_first != 0 || self.train_last.is_some() {
            return Err(
                "heldout.train_first / train_last: a torus has no training arc (every variable closes): \
                        remove them and choose the grid with train_every = [e1, e2]"
                    .into(),
            );
        }
        let trained = self.torus_train_tasks(shape).len();
        if trained == shape[0] * shape[1] {
            return Err("heldout: every task is trained, so nothing is held out: raise train_every".into());
        }
        // Each variable's Fourier terms need at least three distinct values.
        let values = [shape[0].div_ceil(e1), shape[1].div_ceil(e2)];
        if let Some(v) = values.iter().find(|&&v| v < 3) {
            return Err(format!(
                "heldout.train_every = [{e1}, {e2}] trains only {v} values of one variable: a circle in it needs at least 3"
            ));
        }
        // A basis of order K in each variable needs 2K + 1 trained values of
        // each, or its harmonics alias on the training grid.
        for method in &self.methods {
            if let Method::Torus(k) | Method::Circles(k) = *method {
                let need = 2 * k + 1;
                if let Some(v) = values.iter().find(|&&v| v < need) {
                    return Err(format!(
                        "heldout.methods: `{}` needs at least {need} trained values of each variable (harmonics up \
                         to {k}), but heldout.train_every = [{e1}, {e2}] trains only {v} of one: use a lower order",
                        method.name()
                    ));
                }
            }
        }
        // The bilinear basis' knots are evenly spaced round each circle:
        // every step must divide its variable's count, or the gap from the
        // last trained value back to the first would differ from the rest.
        if self.methods.contains(&Method::Bilinear) {
            if let Some((count, every)) = shape.iter().zip([e1, e2]).find(|(&c, e)| c % e != 0) {
                return Err(format!(
                    "heldout.methods: `bilinear` needs evenly spaced knots round each variable, but heldout.train_every \
                     = [{e1}, {e2}] steps {every} through {count} values, which {every} does not divide: choose steps \
                     that divide the torus' counts ({} x {})",
                    shape[0], shape[1]
                ));
            }
        }
        Ok(trained)
    }

    /// The methods, update rules, step sizes, patience and device, with
    /// `trained` training tasks.
    fn validate_lists(&self, family: &FamilyConfig, device: DeviceChoice, trained: usize) -> Result<(), String> {
        if self.methods.is_empty() {
            return Err("heldout.methods is empty: list at least one method, e.g. [\"circle\"]".into());
        }
        for (what, repeated) in [
            ("methods", has_repeats(&self.methods)),
            ("updates", has_repeats(&self.updates)),
        ] {
            if repeated {
                return Err(format!("heldout.{what} repeats an entry"));
            }
        }
        if let Some(unknown) = self
            .update_methods
            .iter()
            .flatten()
            .find(|m| !(self.methods.contains(m) && m.is_manifold()))
        {
            return Err(format!(
                "heldout.update_methods lists `{}`, which is not a manifold method of heldout.methods",
                unknown.name()
            ));
        }
        if self.updates.is_empty() {
            return Err("heldout.updates is empty: list `rmsprop`, `metric` or both".into());
        }
        let periodic = family.sweep.as_ref().is_some_and(|s| s.transform.period().is_some());
        if !periodic && self.methods.contains(&Method::Piecewise) {
            return Err(
                "heldout.methods: `piecewise` is periodic (its last knot joins its first), but this family's task \
                 variable is a line (a blur's σ), where that closure would make the extrapolated tasks an \
                 interpolation between the least and the most blurred: drop it"
                    .into(),
            );
        }
        for method in &self.methods {
            if let Some(k) = method.coefficients(trained) {
                if k > trained {
                    return Err(format!(
                        "heldout.methods: `{}` has {k} basis coefficients but only {trained} tasks are trained, \
                         which cannot determine them: drop it or train more tasks (2K + 1 <= {trained} for fourierK)",
                        method.name()
                    ));
                }
            }
        }
        for (key, rate) in [
            ("metric_learning_rate".to_string(), self.metric_learning_rate),
            ("sgd_learning_rate".to_string(), self.sgd_learning_rate),
        ]
        .into_iter()
        .chain(
            self.learning_rates
                .iter()
                .map(|(k, &v)| (format!("learning_rates.{k}"), v)),
        ) {
            if !(rate.is_finite() && rate > 0.0) {
                return Err(format!("heldout.{key} = {rate} is invalid: need > 0"));
            }
        }
        let labels: Vec<String> = self.trained_methods().iter().map(TrainedMethod::label).collect();
        if let Some(unknown) = self.learning_rates.keys().find(|k| !labels.contains(k)) {
            return Err(format!(
                "heldout.learning_rates.{unknown}: no such trained model; the trained models are {}",
                labels.join(", ")
            ));
        }
        if self.patience == 0 {
            return Err("heldout.patience = 0 is invalid: need at least 1 epoch".into());
        }
        if device == DeviceChoice::Cuda {
            return Err(
                "train.device = \"cuda\": held-out pipelines train on the CPU only; use \"cpu\" or \"auto\"".into(),
            );
        }
        Ok(())
    }
}

fn has_repeats<T: Ord + Clone>(items: &[T]) -> bool {
    let mut sorted = items.to_vec();
    sorted.sort();
    sorted.windows(2).any(|w| w[0] == w[1])
}

#[cfg(test)]
mod tests;
