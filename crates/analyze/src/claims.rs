//! The paper's claims as tests of measured statistics.
//!
//! A claim names one statistic (a row of `statistics.parquet`), a bar fixed
//! in this file or in the pipeline file before any run, and a direction.
//! Its verdict comes from the statistic's 95 % interval across seeds:
//! `pass` when the whole interval meets the bar, `fail` when none of it
//! does, `inconclusive` when it straddles the bar or is unknown (one seed).
//! A failing claim is reported as failing; bars are never moved to pass.
//!
//! The generic claims (REFERENCE.md §4) apply to every family; adjacency
//! claims need a topology. Family-specific claims come from
//! `[[analyze.claims]]` in the pipeline file ([`ClaimSpec`]).

use tgsh_common::config::{ClaimSpec, Topology};

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

    fn meets(self, value: f64, bar: f64) -> bool {
        match self {
            Direction::Above => value > bar,
            Direction::AtLeast => value >= bar,
            Direction::Below => value < bar,
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
    /// The statistic tested.
    pub statistic: String,
    /// The bar.
    pub threshold: f64,
    /// What the claim needs.
    pub direction: Direction,
    /// How the statistic is computed.
    pub note: String,
}

/// `pass`, `fail` or `inconclusive` for a statistic's interval.
pub fn verdict(low: f64, high: f64, threshold: f64, direction: Direction) -> &'static str {
    if !(low.is_finite() && high.is_finite()) {
        return "inconclusive";
    }
    match (direction.meets(low, threshold), direction.meets(high, threshold)) {
        (true, true) => "pass",
        (false, false) => "fail",
        _ => "inconclusive",
    }
}

fn claim(
    id: &str,
    text: &str,
    figure: &str,
    statistic: &str,
    threshold: f64,
    direction: Direction,
    note: &str,
) -> Claim {
    Claim {
        id: id.into(),
        claim: text.into(),
        figure: figure.into(),
        statistic: statistic.into(),
        threshold,
        direction,
        note: note.into(),
    }
}

/// The statistic a [`ClaimSpec`] tests (computed per seed by the shard, or
/// for `subsample_of` by the summary).
pub fn spec_statistic(spec: &ClaimSpec) -> String {
    match spec {
        ClaimSpec::SameCluster { tasks, clusters } => {
            format!("clustering.group_margin[{}]@{clusters}", tasks.join(", "))
        }
        ClaimSpec::Outgroup { task } => format!("similarity.after.max_to_others[{task}]"),
        ClaimSpec::MoreSimilar { pair, than } => format!(
            "similarity.after.difference[{} ~ {} minus {} ~ {}]",
            pair[0], pair[1], than[0], than[1]
        ),
        ClaimSpec::MeanAccuracyAtLeast { .. } => "accuracy.mean_final".into(),
        ClaimSpec::SubsampleOf { pipeline, every, .. } => {
            format!("similarity.after.subsample_correlation[{pipeline} every {every}]")
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

/// Every claim checked for a pipeline with `topology` and `specs`.
pub fn claims(topology: Topology, specs: &[ClaimSpec], tasks: usize) -> Vec<Claim> {
    use Direction::*;
    let adjacency = has_adjacency(topology, tasks);
    let mut out = vec![claim(
        "before-near-zero",
        "Before training, context vectors are nearly orthogonal: similarity near 0 off the diagonal",
        "Figs. 1b, 4b, 5b (before)",
        "similarity.before.off_diagonal_abs_mean",
        0.05,
        Below,
        "mean |cos| over pairs of different tasks, initial contexts",
    )];
    if adjacency {
        out.push(claim(
            "adjacent-most-similar",
            "After training, adjacent tasks are the most similar (a diagonal band)",
            "Figs. 1b, 4b, 5b (after)",
            "similarity.after.nearest_is_adjacent",
            0.5,
            Above,
            "fraction of tasks whose most similar other context is an adjacent task (distance 1, circular for circles); the bar is a majority",
        ));
        out.push(claim(
            "similarity-falls-with-distance",
            "After training, context similarity falls as task distance grows",
            "Figs. 1b, 4b, 5b (after)",
            "similarity.after.distance_spearman",
            0.0,
            Below,
            "Spearman correlation of cos(c_i, c_j) with task distance over pairs i < j",
        ));
    }
    out.push(claim(
        "tgsh-label",
        "Intra similarity (same task, different labels) exceeds inter similarity (same label, different tasks)",
        "Fig. 1a (the caption's grouping)",
        "tgsh.label.auc",
        0.5,
        Above,
        "AUC = P(intra > inter) over all pairs of the representations c_t ⊙ r(x), groups = digit labels",
    ));
    out.push(claim(
        "tgsh-position",
        "Intra similarity (same task) exceeds inter similarity (same group of images, different tasks), regardless of class",
        "Fig. 1a (the notebook's grouping, Definition 1)",
        "tgsh.position.auc",
        0.5,
        Above,
        "AUC = P(intra > inter), groups = random label-agnostic sets of images, as the notebook's batch positions",
    ));
    out.push(claim(
        "reconstruction-shows-digit",
        "The pseudo-inverse reconstruction of a class shows that digit (Assumption 1)",
        "Fig. 3",
        "reconstruction.own_class_best",
        0.5,
        Above,
        "fraction of (task, class) whose reconstruction correlates best with its own class's mean test image among the 10 classes of its task (chance 0.1)",
    ));
    out.push(claim(
        "reconstruction-shows-task",
        "The reconstruction shows its task's transform (\"the rotation can be shown\")",
        "Fig. 3",
        "reconstruction.own_task_best",
        0.5,
        Above,
        &format!(
            "fraction of (task, class) whose reconstruction correlates best with the class mean of its own task among all {tasks} tasks (chance {:.3})",
            1.0 / tasks.max(1) as f64
        ),
    ));
    out.push(claim(
        "reconstruction-ranks-own-task",
        "The reconstruction resembles its own task's images more than other tasks'",
        "Fig. 3",
        "reconstruction.own_task_rank",
        0.5,
        Above,
        "mean over (task, class) of the fraction of other tasks whose class mean correlates less with the reconstruction than the own task's (chance 0.5)",
    ));
    out.push(claim(
        "cross-task-follows-similarity",
        "Function follows mechanism: a context works better on the tasks whose contexts are more similar",
        "stated in §3.2, not measured in the paper",
        "cross_task.similarity_spearman",
        0.0,
        Above,
        "Spearman correlation, over pairs i != j, of the accuracy of c_i on task j's test images with cos(c_i, c_j)",
    ));
    if adjacency {
        out.push(claim(
            "cross-task-best-adjacent",
            "A context works best, after its own task, on an adjacent task",
            "stated in §3.2, not measured in the paper",
            "cross_task.best_other_is_adjacent",
            0.5,
            Above,
            "fraction of contexts whose best other task (highest test accuracy) is adjacent; the bar is a majority",
        ));
    }
    for spec in specs {
        let statistic = spec_statistic(spec);
        out.push(match spec {
            ClaimSpec::SameCluster { tasks, clusters } => claim(
                "same-cluster",
                &format!("{} group together", tasks.join(", ")),
                "Fig. 7",
                &statistic,
                0.0,
                Above,
                &format!(
                    "height of the merge from {clusters} to {} clusters minus the height at which these tasks are joined (positive: one cluster at the {clusters}-cluster cut), cosine distance, configured linkage",
                    clusters - 1
                ),
            ),
            ClaimSpec::Outgroup { task } => claim(
                "outgroup",
                &format!("{task} is an outgroup with negative similarity to all other tasks"),
                "Fig. 7",
                &statistic,
                0.0,
                Below,
                &format!("largest cos(c_{task}, c_j) over the other tasks j"),
            ),
            ClaimSpec::MoreSimilar { pair, than } => claim(
                "more-similar",
                &format!("sim({}, {}) > sim({}, {})", pair[0], pair[1], than[0], than[1]),
                "Fig. 7",
                &statistic,
                0.0,
                Above,
                "difference of the two cosine similarities after training",
            ),
            ClaimSpec::MeanAccuracyAtLeast { percent, source } => claim(
                "mean-accuracy",
                &format!(
                    "Mean test accuracy over tasks reaches {percent:.2} %{}",
                    if source.is_empty() { String::new() } else { format!(" ({source})") }
                ),
                "§3.1",
                &statistic,
                percent / 100.0,
                AtLeast,
                "mean over tasks of the final-epoch test accuracy (fraction)",
            ),
            ClaimSpec::SubsampleOf {
                pipeline,
                every,
                min_correlation,
            } => claim(
                "subsample-of",
                &format!("The after-training similarity matrix is {pipeline}'s taken at tasks 0, {every}, {}, ...", 2 * every),
                "Fig. 5b vs 4b",
                &statistic,
                *min_correlation,
                Above,
                &format!(
                    "Pearson correlation of the off-diagonal entries with {pipeline}'s matrix restricted to tasks 0, {every}, 2x{every}, ..., averaged over {pipeline}'s models of other seeds (independent runs)"
                ),
            ),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdicts_follow_the_interval() {
        assert_eq!(verdict(0.6, 0.9, 0.5, Direction::Above), "pass");
        assert_eq!(verdict(0.1, 0.4, 0.5, Direction::Above), "fail");
        assert_eq!(verdict(0.4, 0.6, 0.5, Direction::Above), "inconclusive");
        assert_eq!(verdict(0.5, 0.6, 0.5, Direction::Above), "inconclusive");
        assert_eq!(verdict(0.5, 0.6, 0.5, Direction::AtLeast), "pass");
        assert_eq!(verdict(-0.2, -0.1, 0.0, Direction::Below), "pass");
        assert_eq!(verdict(-0.06, 0.23, 0.0, Direction::Below), "inconclusive");
        assert_eq!(verdict(0.01, 0.23, 0.0, Direction::Below), "fail");
        assert_eq!(verdict(f64::NAN, f64::NAN, 0.0, Direction::Below), "inconclusive");
    }

    #[test]
    fn adjacency_claims_need_a_topology() {
        let with = claims(Topology::Circle, &[], 36);
        let without = claims(Topology::None, &[], 8);
        let too_few = claims(Topology::Circle, &[], 3);
        assert!(with.iter().any(|c| c.id == "adjacent-most-similar"));
        assert!(!without.iter().any(|c| c.id.contains("adjacent")));
        assert!(!too_few.iter().any(|c| c.id.contains("adjacent")));
        let ids: Vec<&str> = with.iter().map(|c| c.id.as_str()).collect();
        let mut unique = ids.clone();
        unique.dedup();
        assert_eq!(ids, unique);
    }
}
