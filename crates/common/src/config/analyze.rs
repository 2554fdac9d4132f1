//! `[analyze]`: the paper's analyses of a task family (topology, linkage,
//! the claims to test and their parameters), with each value's validation.

use super::*;

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

    pub(super) fn validate(&self, tasks: &[TaskSpec]) -> std::result::Result<(), String> {
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
