//! The papers' claims as tests of measured statistics, each beside its
//! controls (docs/METHOD.md, "Claims").
//!
//! A claim names one statistic (a row of `statistics.parquet`), the state
//! of the model it is judged on (the trained contexts, `after`), the
//! controls the same statistic is measured on with the same code, seeds and
//! images (`before`: the contexts before training, always; `unmodulated`:
//! every `c_t = 1`, where the statistic is about representations;
//! `permuted`: the task order shuffled, where that is the null), and a test
//! fixed in this file or in the pipeline file before any run: a bar, or an
//! equivalence margin. [`crate::judge`] turns the measurements into a
//! verdict and words.
//!
//! The generic claims apply to every family; adjacency claims need a
//! topology. Family-specific claims come from `[[analyze.claims]]` in the
//! pipeline file ([`ClaimSpec`]).

use crate::stats::Range;
use tgsh_common::config::{ClaimSpec, FamilyConfig, SweepTransform, Topology};

/// The trained contexts.
pub const AFTER: &str = "after";
/// The contexts before training (their initial values).
pub const BEFORE: &str = "before";
/// No modulation: every context is 1.
pub const UNMODULATED: &str = "unmodulated";
/// The trained contexts with the task labels shuffled (mean over permutations).
pub const PERMUTED: &str = "permuted";

/// Every state a statistic is measured in, in table order.
pub const STATES: [&str; 4] = [AFTER, BEFORE, UNMODULATED, PERMUTED];

/// A state in words, for pages.
pub fn state_words(state: &str) -> &'static str {
    match state {
        AFTER => "after training",
        BEFORE => "before training",
        UNMODULATED => "without modulation (every c_t = 1)",
        PERMUTED => "task order shuffled",
        _ => "control",
    }
}

/// What a claim needs of its statistic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Strictly above the bar.
    Above,
    /// At or above.
    AtLeast,
    /// Strictly below.
    Below,
}

impl Direction {
    /// `>`, `>=` or `<`.
    pub fn symbol(self) -> &'static str {
        match self {
            Direction::Above => ">",
            Direction::AtLeast => ">=",
            Direction::Below => "<",
        }
    }

    /// Whether `value` meets `bar`.
    pub fn meets(self, value: f64, bar: f64) -> bool {
        match self {
            Direction::Above => value > bar,
            Direction::AtLeast => value >= bar,
            Direction::Below => value < bar,
        }
    }

    /// +1 when larger is better, -1 when smaller is.
    pub fn sign(self) -> f64 {
        match self {
            Direction::Above | Direction::AtLeast => 1.0,
            Direction::Below => -1.0,
        }
    }
}

/// How a claim is tested.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Test {
    /// The statistic's 95 % interval against a bar.
    Bar {
        /// The bar.
        threshold: f64,
        /// What the claim needs.
        direction: Direction,
    },
    /// Two one-sided tests at 95 %: the mean lies within `reference ± margin`.
    Equivalent {
        /// The value it should equal.
        reference: f64,
        /// The equivalence margin.
        margin: f64,
    },
    /// Shift-2px as a subsampling of Shift-1px: every matched-pixel
    /// difference within `±margin` (TOST), every matched-index one beyond it
    /// (the summary judges it from the per-offset table).
    Subsample {
        /// The equivalence margin, in cosine similarity.
        margin: f64,
    },
}

/// Whether a claim is the papers' or this project's own question.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    /// Stated (or shown) in one of the two papers.
    Paper,
    /// Beyond the papers: a question this project asks.
    Beyond,
}

impl Section {
    /// `paper` or `beyond`.
    pub fn name(self) -> &'static str {
        match self {
            Section::Paper => "paper",
            Section::Beyond => "beyond",
        }
    }
}

/// One claim, before it is measured.
#[derive(Debug, Clone, PartialEq)]
pub struct Claim {
    /// Short stable name.
    pub id: String,
    /// The claim in words.
    pub claim: String,
    /// Where the paper shows it.
    pub figure: String,
    /// The papers' claim or this project's.
    pub section: Section,
    /// The statistic tested (its name in `statistics.parquet`).
    pub statistic: String,
    /// The state judged (normally [`AFTER`]).
    pub state: &'static str,
    /// The controls, in order (at most two).
    pub controls: Vec<&'static str>,
    /// Whether the claim says training (the learned contexts) gives the
    /// property: then it passes only when it also beats every control.
    pub needs_training: bool,
    /// The test.
    pub test: Test,
    /// How the statistic is computed.
    pub note: String,
}

impl Claim {
    /// A bar claim on the trained contexts.
    #[allow(clippy::too_many_arguments)]
    pub fn bar(
        id: &str,
        text: &str,
        figure: &str,
        statistic: &str,
        threshold: f64,
        direction: Direction,
        controls: &[&'static str],
        note: &str,
    ) -> Claim {
        Claim {
            id: id.into(),
            claim: text.into(),
            figure: figure.into(),
            section: Section::Paper,
            statistic: statistic.into(),
            state: AFTER,
            controls: controls.to_vec(),
            needs_training: !controls.is_empty(),
            test: Test::Bar { threshold, direction },
            note: note.into(),
        }
    }

    /// The same claim placed beyond the papers.
    pub fn beyond(mut self) -> Claim {
        self.section = Section::Beyond;
        self
    }
}

/// The range of a statistic (so its interval stays inside it) by name.
/// Every statistic a shard measures has an explicit entry (tested).
pub fn range_of(statistic: &str) -> Option<Range> {
    let bounded = |lo: f64, hi: f64| Some(Range::Bounded(lo, hi));
    let name = statistic.split('[').next().unwrap_or(statistic);
    let last = name.rsplit('.').next().unwrap_or(name);
    match name {
        "accuracy.mean_final"
        | "accuracy.min_final"
        | "cross_task.diagonal_mean"
        | "cross_task.off_diagonal_mean"
        | "heldout.accuracy" => Some(Range::PERCENT),
        "accuracy.mean_final_minus_reference" | "heldout.difference" => bounded(-100.0, 100.0),
        "similarity.off_diagonal_abs_mean"
        | "similarity.nearest_is_adjacent"
        | "cross_task.best_other_is_adjacent"
        | "contexts.loop_correlation" => Some(Range::FRACTION),
        "similarity.distance_spearman"
        | "cross_task.similarity_spearman"
        | "representation.distance_spearman"
        | "clustering.cophenetic_correlation"
        | "similarity.max_to_others"
        | "context.crwn_same_task"
        | "context.crwn_other_task"
        | "context.geometry_correlation" => Some(Range::CORRELATION),
        "similarity.difference" | "similarity.nearest_margin" | "similarity.subsample_matched_pixel" => {
            bounded(-2.0, 2.0)
        }
        "clustering.group_margin" | "clustering.clade_margin" => Some(Range::Unbounded),
        _ if name.starts_with("tgsh.") => match last {
            "auc" => Some(Range::FRACTION),
            "intra_mean" | "inter_mean" => Some(Range::CORRELATION),
            "difference" => bounded(-2.0, 2.0),
            "intra_pairs" | "inter_pairs" => Some(Range::Unbounded),
            _ => None,
        },
        _ if name.starts_with("reconstruction.") => match last {
            "own_class_best" | "own_task_best" | "own_task_rank" => Some(Range::FRACTION),
            "own_correlation_mean" => Some(Range::CORRELATION),
            _ => None,
        },
        _ if name.starts_with("contexts.variance_explained") => Some(Range::FRACTION),
        _ => None,
    }
}

/// The unit a statistic is written in: `%` for accuracies, `points` for
/// differences of accuracies, empty for the rest.
pub fn unit_of(statistic: &str) -> &'static str {
    match range_of(statistic) {
        Some(Range::Bounded(lo, hi)) if lo == 0.0 && hi == 100.0 => "%",
        Some(Range::Bounded(lo, hi)) if lo == -100.0 && hi == 100.0 => "points",
        _ => "",
    }
}

/// The statistics of a [`ClaimSpec`] (computed per seed by the shard, or
/// for `subsample_of` by the summary).
pub fn spec_statistics(spec: &ClaimSpec) -> Vec<String> {
    match spec {
        ClaimSpec::SameCluster { tasks, clusters } => {
            vec![format!("clustering.group_margin[{}]@{clusters}", tasks.join(", "))]
        }
        ClaimSpec::NearestGroup { task, nearest } => {
            let mut group = vec![task.clone()];
            group.extend(nearest.iter().cloned());
            vec![
                format!("similarity.nearest_margin[{task}: {}]", nearest.join(", ")),
                format!("clustering.clade_margin[{}]", group.join(", ")),
            ]
        }
        ClaimSpec::Outgroup { task } => vec![format!("similarity.max_to_others[{task}]")],
        ClaimSpec::MoreSimilar { pair, than } => vec![format!(
            "similarity.difference[{} ~ {} minus {} ~ {}]",
            pair[0], pair[1], than[0], than[1]
        )],
        ClaimSpec::MeanAccuracyAtLeast { .. } => vec!["accuracy.mean_final".into()],
        ClaimSpec::MeanAccuracyEquivalent { .. } => vec!["accuracy.mean_final".into()],
        ClaimSpec::SubsampleOf { pipeline, every, .. } => {
            vec![format!("similarity.subsample_matched_pixel[{pipeline} every {every}]")]
        }
    }
}

/// Whether adjacency means anything: some pair of tasks is farther apart
/// than adjacent (a circle of 3 or a line of 2 has only neighbours).
pub fn has_adjacency(topology: Topology, tasks: usize) -> bool {
    match topology {
        Topology::Circle => tasks >= 4,
        Topology::Line => tasks >= 3,
        Topology::None => false,
    }
}

/// What a family's tasks do to an image, as a noun for claim texts:
/// `rotation`, `shift`, or `transform` for a list of augmentations.
pub fn transform_noun(family: &FamilyConfig) -> &'static str {
    match family.sweep.as_ref().map(|s| s.transform) {
        Some(SweepTransform::Rotate) => "rotation",
        Some(SweepTransform::Shift) => "shift",
        Some(SweepTransform::Blur) => "blur",
        None => "transform",
    }
}

/// Every claim checked for a pipeline with `topology`, `specs` and `tasks`
/// tasks, whose tasks apply a `transform` ([`transform_noun`]).
pub fn claims(topology: Topology, specs: &[ClaimSpec], tasks: usize, transform: &str) -> Vec<Claim> {
    use Direction::*;
    let adjacency = has_adjacency(topology, tasks);
    let mut out = vec![Claim {
        state: BEFORE,
        controls: vec![AFTER],
        needs_training: false,
        ..Claim::bar(
            "before-near-zero",
            "Before training, context vectors are nearly orthogonal: similarity near 0 off the diagonal",
            "Figs. 1b, 4b, 5b (before)",
            "similarity.off_diagonal_abs_mean",
            0.05,
            Below,
            &[],
            "mean |cos| over pairs of different tasks, initial contexts; a statement about the random initialisation, shown beside the trained value",
        )
    }];
    if adjacency {
        out.push(Claim::bar(
            "adjacent-most-similar",
            "After training, adjacent tasks are the most similar (a diagonal band)",
            "Figs. 1b, 4b, 5b (after)",
            "similarity.nearest_is_adjacent",
            0.5,
            Above,
            &[BEFORE, PERMUTED],
            "fraction of tasks whose most similar other context is an adjacent task (distance 1, circular for circles); the bar is a majority",
        ));
        out.push(Claim::bar(
            "similarity-falls-with-distance",
            "After training, context similarity falls as task distance grows",
            "Figs. 1b, 4b, 5b (after)",
            "similarity.distance_spearman",
            0.0,
            Below,
            &[BEFORE, PERMUTED],
            "Spearman correlation of cos(c_i, c_j) with task distance over pairs i < j",
        ));
    }
    out.push(Claim::bar(
        "tgsh-label",
        "T-GSH: intra similarity (same task, different labels) exceeds inter similarity (same label, different tasks)",
        "Fig. 1a (the caption's grouping)",
        "tgsh.label.auc",
        0.5,
        Above,
        &[BEFORE, UNMODULATED],
        "AUC = P(intra > inter) over all pairs of the representations c_t ⊙ r(x), groups = digit labels",
    ));
    out.push(Claim::bar(
        "tgsh-position",
        "T-GSH: intra similarity (same task) exceeds inter similarity (same group of images, different tasks), regardless of class",
        "Fig. 1a (the notebook's grouping, Definition 1a)",
        "tgsh.position.auc",
        0.5,
        Above,
        &[BEFORE, UNMODULATED],
        "AUC = P(intra > inter), groups = random label-agnostic sets of images, as the notebook's batch positions",
    ));
    if adjacency {
        out.push(Claim::bar(
            "representation-falls-with-distance",
            &format!("T-GSH, Definition 1b: one image's representations under two tasks grow apart as the tasks' {transform}s grow apart"),
            "Definition 1b",
            "representation.distance_spearman",
            0.0,
            Below,
            &[BEFORE, UNMODULATED],
            "Spearman correlation, over task pairs i < j, of the mean over the T-GSH images x of cos(c_i ⊙ r(x_i), c_j ⊙ r(x_j)) with task distance",
        ));
    }
    let quote = if transform == "rotation" {
        " (\"the rotation can be shown\")"
    } else {
        ""
    };
    let chance = 1.0 / tasks.max(1) as f64;
    for (noise_free, suffix) in [(false, ""), (true, " (noise-free z)")] {
        let prefix = if noise_free {
            "reconstruction.noise_free"
        } else {
            "reconstruction"
        };
        let z = if noise_free {
            "z = W2[k] ⊙ c_t, without the notebook's noise"
        } else {
            "z ~ N(W2[k] ⊙ c_t, (1/H)²), as the notebook"
        };
        let mut group = vec![
            Claim::bar(
                &format!("reconstruction-shows-digit{}", if noise_free { "-noise-free" } else { "" }),
                &format!("The pseudo-inverse reconstruction of a class shows that digit (Assumption 1){suffix}"),
                "Fig. 3",
                &format!("{prefix}.own_class_best"),
                0.5,
                Above,
                &[BEFORE, UNMODULATED],
                &format!(
                    "{z}; fraction of (task, class) whose reconstruction pinv(W1) z correlates best with its own class's mean test image among the 10 classes of its task (chance 0.1)"
                ),
            ),
            Claim::bar(
                &format!("reconstruction-shows-task{}", if noise_free { "-noise-free" } else { "" }),
                &format!("The reconstruction shows its task's {transform}{quote}{suffix}"),
                "Fig. 3",
                &format!("{prefix}.own_task_best"),
                0.5,
                Above,
                &[BEFORE, UNMODULATED],
                &format!(
                    "{z}; fraction of (task, class) whose reconstruction correlates best with the class mean of its own task among all {tasks} tasks (chance {chance:.3})"
                ),
            ),
            Claim::bar(
                &format!("reconstruction-ranks-own-task{}", if noise_free { "-noise-free" } else { "" }),
                &format!("The reconstruction resembles its own task's images more than other tasks'{suffix}"),
                "Fig. 3",
                &format!("{prefix}.own_task_rank"),
                0.5,
                Above,
                &[BEFORE, UNMODULATED],
                &format!(
                    "{z}; mean over (task, class) of the fraction of other tasks whose class mean correlates less with the reconstruction than the own task's (chance 0.5)"
                ),
            ),
        ];
        if noise_free {
            group = group.into_iter().map(Claim::beyond).collect();
        }
        out.extend(group);
    }
    out.push(Claim::bar(
        "cross-task-follows-similarity",
        "Function follows mechanism: a context works better on the tasks whose contexts are more similar",
        "stated in §3.2, not measured in the paper",
        "cross_task.similarity_spearman",
        0.0,
        Above,
        &[BEFORE, PERMUTED],
        "Spearman correlation, over pairs i != j, of the accuracy of c_i on task j's test images with cos(c_i, c_j)",
    ));
    if adjacency {
        out.push(Claim::bar(
            "cross-task-best-adjacent",
            "A context works best, after its own task, on an adjacent task",
            "stated in §3.2, not measured in the paper",
            "cross_task.best_other_is_adjacent",
            0.5,
            Above,
            &[BEFORE, PERMUTED],
            "fraction of contexts whose best other task (highest test accuracy) is adjacent; the bar is a majority",
        ));
    }
    if topology == Topology::Circle && tasks >= 4 {
        out.push(
            Claim::bar(
                "contexts-trace-a-loop",
                &format!("The trained contexts trace a closed loop in {transform} order (PC1-PC2 of the contexts)"),
                "beyond the paper (PCA of the contexts)",
                "contexts.loop_correlation",
                0.5,
                Above,
                &[BEFORE],
                "|Fisher-Lee circular rank correlation| between each context's angle in its seed's PC1-PC2 plane and its task's angle 2π t / T (either direction of travel)",
            )
            .beyond(),
        );
    }
    for spec in specs {
        out.extend(spec_claims(spec));
    }
    out
}

/// The claims of one [`ClaimSpec`].
fn spec_claims(spec: &ClaimSpec) -> Vec<Claim> {
    use Direction::*;
    let statistics = spec_statistics(spec);
    let statistic = statistics[0].as_str();
    match spec {
        ClaimSpec::SameCluster { tasks, clusters } => vec![Claim::bar(
            "same-cluster",
            &format!("{} group together", tasks.join(", ")),
            "Fig. 7",
            statistic,
            0.0,
            Above,
            &[BEFORE],
            &format!(
                "height of the merge from {clusters} to {} clusters minus the height at which these tasks are joined (positive: one cluster at the {clusters}-cluster cut), cosine distance, configured linkage",
                clusters - 1
            ),
        )],
        ClaimSpec::NearestGroup { task, nearest } => vec![
            Claim::bar(
                "group-nearest",
                &format!("{} are the {} tasks most similar to {task}", nearest.join(", "), nearest.len()),
                "Fig. 7",
                statistic,
                0.0,
                Above,
                &[BEFORE],
                &format!(
                    "the smallest cos(c_{task}, c_j) over those tasks minus the largest over the others (positive: they are {task}'s {} nearest)",
                    nearest.len()
                ),
            ),
            Claim::bar(
                "group-clade",
                &format!("{task}, {} form one cluster before any of them joins another task", nearest.join(", ")),
                "Fig. 7",
                &statistics[1],
                0.0,
                Above,
                &[BEFORE],
                "in the merge tree (cosine distance, configured linkage): the lowest height at which one of the group joins a task outside it, minus the height at which the group is complete (positive: the group is a cluster of the tree)",
            ),
        ],
        ClaimSpec::Outgroup { task } => vec![Claim::bar(
            "outgroup",
            &format!("{task} is an outgroup with negative similarity to all other tasks"),
            "Fig. 7",
            statistic,
            0.0,
            Below,
            &[BEFORE],
            &format!("largest cos(c_{task}, c_j) over the other tasks j"),
        )],
        ClaimSpec::MoreSimilar { pair, than } => vec![Claim::bar(
            "more-similar",
            &format!("sim({}, {}) > sim({}, {})", pair[0], pair[1], than[0], than[1]),
            "Fig. 7",
            statistic,
            0.0,
            Above,
            &[BEFORE],
            "difference of the two cosine similarities after training",
        )],
        ClaimSpec::MeanAccuracyAtLeast { percent, source } => vec![Claim::bar(
            "mean-accuracy",
            &format!("Mean test accuracy over tasks reaches {percent:.2} %{}", source_words(source)),
            "§3.1",
            statistic,
            *percent,
            AtLeast,
            &[BEFORE],
            "mean over tasks of the final-epoch test accuracy, in %",
        )],
        ClaimSpec::MeanAccuracyEquivalent {
            percent,
            margin,
            source,
        } => vec![Claim {
            test: Test::Equivalent {
                reference: *percent,
                margin: *margin,
            },
            ..Claim::bar(
                "mean-accuracy",
                &format!(
                    "Mean test accuracy over tasks equals {percent:.2} %{} within ±{margin} points",
                    source_words(source)
                ),
                "§3.1",
                statistic,
                *percent,
                AtLeast,
                &[BEFORE],
                &format!(
                    "mean over tasks of the final-epoch test accuracy, in %; two one-sided t tests at 95 % (the 90 % interval across seeds inside {percent:.2} ± {margin}); whether it is at or above {percent:.2} % is reported as accuracy.mean_final_minus_reference, without a verdict"
                ),
            )
        }],
        ClaimSpec::SubsampleOf { pipeline, every, margin } => vec![Claim {
            test: Test::Subsample { margin: *margin },
            controls: vec![],
            needs_training: false,
            ..Claim::bar(
                "subsample-of",
                &format!(
                    "The similarity matrix is {pipeline}'s at every {} task: similarity depends on the pixel offset, not on the task index",
                    ordinal(*every)
                ),
                "Fig. 5b vs 4b",
                statistic,
                0.0,
                Above,
                &[],
                &format!(
                    "for each task distance d: this family's mean similarity at d minus {pipeline}'s at {every}d (same pixel offset; must lie within ±{margin}, two one-sided Welch tests at 95 %) and minus {pipeline}'s at d (same task index, the rival reading; must lie beyond ±{margin}); the value shown is the matched-pixel difference farthest from 0, the control the matched-index difference nearest to 0"
                ),
            )
        }],
    }
}

fn source_words(source: &str) -> String {
    if source.is_empty() {
        String::new()
    } else {
        format!(" ({source})")
    }
}

/// `2nd`, `3rd`, `4th`, `11th`, `21st`: "every 2nd task".
fn ordinal(n: usize) -> String {
    let suffix = match (n % 10, n % 100) {
        (_, 11..=13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    format!("{n}{suffix}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinals_read_as_words_do() {
        let got: Vec<String> = [1, 2, 3, 4, 11, 12, 13, 21, 22, 102].map(ordinal).to_vec();
        assert_eq!(
            got,
            ["1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "22nd", "102nd"]
        );
    }

    #[test]
    fn adjacency_claims_need_a_topology() {
        let with = claims(Topology::Circle, &[], 36, "rotation");
        let without = claims(Topology::None, &[], 8, "transform");
        let too_few = claims(Topology::Circle, &[], 3, "rotation");
        assert!(with.iter().any(|c| c.id == "adjacent-most-similar"));
        assert!(!without.iter().any(|c| c.id.contains("adjacent")));
        assert!(!too_few.iter().any(|c| c.id.contains("adjacent")));
        let mut ids: Vec<&str> = with.iter().map(|c| c.id.as_str()).collect();
        let count = ids.len();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), count, "ids are unique");
    }

    #[test]
    fn claim_texts_name_the_family_transform() {
        let rotation = claims(Topology::Circle, &[], 36, "rotation");
        let shift = claims(Topology::Circle, &[], 28, "shift");
        let text = |cs: &[Claim]| {
            cs.iter()
                .find(|c| c.id == "reconstruction-shows-task")
                .unwrap()
                .claim
                .clone()
        };
        assert!(text(&rotation).contains("rotation can be shown"));
        assert!(text(&shift).contains("shift") && !text(&shift).contains("rotation"));
    }

    #[test]
    fn every_claim_has_a_before_training_control_or_is_about_the_initialisation() {
        for c in claims(Topology::Circle, &[], 36, "rotation") {
            assert!(
                c.controls.contains(&BEFORE) || c.state == BEFORE,
                "{} has no before-training control",
                c.id
            );
            assert!(range_of(&c.statistic).is_some(), "{} has no range", c.statistic);
        }
    }

    #[test]
    fn units_follow_the_range() {
        assert_eq!(unit_of("accuracy.mean_final"), "%");
        assert_eq!(unit_of("heldout.difference[circle - input].interpolated"), "points");
        assert_eq!(unit_of("heldout.accuracy[circle].seen"), "%");
        assert_eq!(unit_of("tgsh.label.auc"), "");
        assert_eq!(
            range_of("reconstruction.noise_free.own_task_best"),
            Some(Range::FRACTION)
        );
        assert_eq!(range_of("clustering.clade_margin[T1, T4]"), Some(Range::Unbounded));
        assert_eq!(range_of("no.such.statistic"), None);
    }
}
