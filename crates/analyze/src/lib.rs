//! Stage 3, `analyze`: every figure of the paper as numbers, and each of its
//! claims as a statistic with an interval across seeds and a verdict.
//!
//! Work is split like the train stage's, one shard per seed
//! (`analyze/seed-<S>/`, [`shard`]), then a summary over seeds
//! (`analyze/summary/`, [`summary`]). A shard reads its seed's model file
//! by tensor name (`tgsh_model::Model::load`), so models written by any
//! trainer that follows ARCHITECTURE.md work here. One module per analysis:
//!
//! Every statistic is measured by the same code on the trained contexts and
//! on its controls: the contexts before training, no modulation (every
//! `c_t = 1`), and the task order shuffled (docs/METHOD.md).
//!
//! - [`similarity`]: cosine similarity of contexts before and after
//!   training, adjacency profile, rank correlation with task distance
//!   (Figs. 1b, 4b, 5b).
//! - [`subsampling`]: Shift-2px against Shift-1px at matched pixel offsets
//!   and matched task indices (Fig. 5b vs 4b).
//! - [`tgsh`]: intra vs inter similarity of representations, both groupings
//!   (Fig. 1a), and one image's representations under two tasks against
//!   task distance (Definition 1b).
//! - [`reconstruction`]: pseudo-inverse reconstructions, with and without
//!   the notebook's noise, scored against class means (Fig. 3, Eq. 3).
//! - [`clustering`]: agglomerative clustering on cosine distance, dendrogram,
//!   leaf order, cophenetic correlation, groups as clusters (Fig. 7).
//! - [`pca`]: the contexts' principal components, and whether they trace a
//!   loop in task order (beyond the paper).
//! - [`cross_task`]: the accuracy of every context on every task's test set.
//! - [`claims`]: the claims, their controls and tests; [`judge`]: verdicts
//!   and their words; [`stats`]: the statistics they rest on.
//! - [`heldout`], [`heldout_summary`]: for held-out pipelines (`[heldout]`)
//!   instead of all of the above, every method on every task, trained or
//!   not, and the claims of "Walking the Weight Manifold".
#![deny(missing_docs)]

pub mod claims;
pub mod clustering;
pub mod cross_task;
pub mod heldout;
pub mod heldout_summary;
pub mod judge;
pub mod pca;
pub mod reconstruction;
pub mod shard;
pub mod similarity;
pub mod stats;
pub mod subsampling;
pub mod summary;
pub mod tgsh;

use std::time::Instant;
use tgsh_common::cli::RunOptions;
use tgsh_common::config::{Experiment, FamilyExperiment};
use tgsh_common::schema::{analysis::ClaimRow, Table, TimingRow};
use tgsh_common::{Artifacts, Pipeline, Stage, StagePlan};
use tgsh_model::Model;

/// Errors of the analyze stage.
#[derive(Debug, thiserror::Error)]
pub enum AnalyzeError {
    /// Reading inputs or writing artifacts failed.
    #[error(transparent)]
    Common(#[from] tgsh_common::Error),
    /// A model file is unreadable or lacks a tensor.
    #[error(transparent)]
    Model(#[from] tgsh_model::ModelFileError),
    /// The inputs do not fit together.
    #[error("{0}")]
    Inconsistent(String),
    /// LAPACK failed.
    #[error("pseudo-inverse: {0}")]
    Linalg(String),
}

/// Runs the analyze stage: the stale seed shards of `options.parts`, then
/// (when the parts include it) the summary when stale. Each part is skipped
/// when up to date (unless `options.force`) and published atomically.
pub fn run(pipeline: &Pipeline, artifacts: &Artifacts, options: &RunOptions) -> Result<(), AnalyzeError> {
    reconstruction::single_threaded_blas();
    let seeds = pipeline.selected_seeds(&options.parts)?;
    let plan = StagePlan::of(Stage::Analyze, pipeline, artifacts)?;
    let family = match &pipeline.experiment {
        Experiment::Heldout(heldout) => return heldout::run(pipeline, heldout, artifacts, &plan, options),
        Experiment::Family(family) => family,
    };
    let mut test = None;
    let load_test = |test: &mut Option<shard::TestSet>| -> Result<(), AnalyzeError> {
        if test.is_none() {
            *test = Some(shard::TestSet::load(&artifacts.tasks(), &artifacts.test_images())?);
        }
        Ok(())
    };
    for job in &plan.jobs {
        let Some(seed) = job.seed().filter(|s| seeds.contains(s)) else {
            continue;
        };
        let stage = job.stage_run(Stage::Analyze)?;
        if stage.should_run(options.force)? {
            load_test(&mut test)?;
            analyze_shard(seed, stage, family, artifacts, test.as_ref().expect("loaded"))?;
        }
    }
    if options.parts.includes_summary() {
        let stage = plan.job("summary").expect("a summary job").stage_run(Stage::Analyze)?;
        if stage.should_run(options.force)? {
            load_test(&mut test)?;
            let dir = stage.begin()?;
            let claims = summary::summarise(pipeline, family, artifacts, test.as_ref().expect("loaded"), &dir)?;
            stage.commit()?;
            let count = |v: &str| claims.iter().filter(|c| c.verdict == v).count();
            eprintln!(
                "analyze: {} claims: {} pass, {} hold untrained too, {} fail, {} inconclusive -> {}",
                claims.len(),
                count("pass"),
                count("untrained"),
                count("fail"),
                count("inconclusive"),
                artifacts.summary(ClaimRow::FILE).display()
            );
        }
    }
    Ok(())
}

/// One seed's analyses, published as `analyze/seed-<S>/`.
fn analyze_shard(
    seed: u64,
    stage: tgsh_common::StageRun,
    family: &FamilyExperiment,
    artifacts: &Artifacts,
    test: &shard::TestSet,
) -> Result<(), AnalyzeError> {
    let start = Instant::now();
    let (model, _) = Model::load(&artifacts.model(seed))?;
    let bar = tgsh_common::progress::bar(shard::STEPS.len() as u64, format!("analyze seed {seed}"));
    let mut timings: Vec<(String, f64)> = Vec::new();
    let (mut current, mut since) = ("load model".to_string(), start);
    let trained = shard::final_accuracies(&artifacts.metrics(seed), test.names.len())?;
    let tables = shard::analyze_seed(&model, test, &family.analyze, family.topology, |step| {
        timings.push((
            std::mem::replace(&mut current, step.to_string()),
            since.elapsed().as_secs_f64(),
        ));
        since = Instant::now();
        bar.set_message(format!("seed {seed}: {step}"));
        bar.inc(1);
    })?;
    timings.push((current, since.elapsed().as_secs_f64()));
    bar.finish_and_clear();
    tables.check_diagonal(
        &trained,
        test.labels.len(),
        &artifacts.model(seed),
        &artifacts.metrics(seed),
    )?;
    let dir = stage.begin()?;
    tables.write(&dir)?;
    tgsh_common::schema::write_timings(&dir.join(TimingRow::FILE), seed, &timings)?;
    stage.commit()?;
    eprintln!(
        "analyze: seed {seed} in {:.1} s -> {}",
        start.elapsed().as_secs_f64(),
        artifacts.analyze_shard(seed).display()
    );
    Ok(())
}
