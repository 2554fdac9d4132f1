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
use tgsh_common::{Artifacts, Pipeline, Stage, StageRun};
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
    /// `--seed` named a seed the pipeline does not list.
    #[error("--seed {seed}: {pipeline} lists train.seeds = {seeds:?}; add the seed there first")]
    UnknownSeed {
        /// The seed asked for.
        seed: u64,
        /// The pipeline file.
        pipeline: String,
        /// The seeds it lists.
        seeds: Vec<u64>,
    },
}

/// Which parts of the stage to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Parts {
    /// Every seed's shard, then the summary.
    All,
    /// Only these seeds' shards.
    Seeds(Vec<u64>),
    /// Only the summary (every shard must exist).
    Summary,
}

/// The parameters a shard records: the `[analyze]` section (with its
/// topology resolved) and the seed.
fn shard_params(pipeline: &Pipeline, seed: u64) -> serde_json::Value {
    serde_json::json!({
        "analyze": pipeline.analyze,
        "topology": pipeline.analyze.topology(&pipeline.data.family),
        "seed": seed,
    })
}

/// Runs the analyze stage: the stale shards of `parts`, then (for `All` and
/// `Summary`) the summary when stale. Each part is skipped when up to date
/// (unless `force`) and published atomically.
pub fn run(pipeline: &Pipeline, artifacts: &Artifacts, parts: Parts, force: bool) -> Result<(), AnalyzeError> {
    reconstruction::single_threaded_blas();
    let seeds = match &parts {
        Parts::All | Parts::Summary => pipeline.train.seeds.clone(),
        Parts::Seeds(seeds) => {
            for &seed in seeds {
                if !pipeline.train.seeds.contains(&seed) {
                    return Err(AnalyzeError::UnknownSeed {
                        seed,
                        pipeline: pipeline.path.display().to_string(),
                        seeds: pipeline.train.seeds.clone(),
                    });
                }
            }
            seeds.clone()
        }
    };
    if pipeline.heldout.is_some() {
        let shards: &[u64] = if parts == Parts::Summary { &[] } else { &seeds };
        let summary = matches!(parts, Parts::All | Parts::Summary);
        return heldout::run(pipeline, artifacts, shards, summary, force);
    }
    let topology = pipeline.analyze.topology(&pipeline.data.family);
    let mut test = None;
    let load_test = |test: &mut Option<shard::TestSet>| -> Result<(), AnalyzeError> {
        if test.is_none() {
            *test = Some(shard::TestSet::load(&artifacts.tasks(), &artifacts.test_images())?);
        }
        Ok(())
    };
    if parts != Parts::Summary {
        for &seed in &seeds {
            let inputs = vec![
                artifacts.model(seed),
                artifacts.metrics(seed),
                artifacts.tasks(),
                artifacts.test_images(),
            ];
            let stage = StageRun::in_dir(
                Stage::Analyze,
                artifacts.analyze_shard(seed),
                &shard_params(pipeline, seed),
                inputs,
            )?;
            if !stage.should_run(force)? {
                continue;
            }
            load_test(&mut test)?;
            let start = Instant::now();
            let (model, _) = Model::load(&artifacts.model(seed))?;
            let bar = tgsh_common::progress::bar(shard::STEPS.len() as u64, format!("analyze seed {seed}"));
            let mut timings: Vec<(String, f64)> = Vec::new();
            let (mut current, mut since) = ("load model".to_string(), start);
            let tables = shard::analyze_seed(
                &model,
                test.as_ref().expect("loaded"),
                &pipeline.analyze,
                topology,
                |step| {
                    timings.push((
                        std::mem::replace(&mut current, step.to_string()),
                        since.elapsed().as_secs_f64(),
                    ));
                    since = Instant::now();
                    bar.set_message(format!("seed {seed}: {step}"));
                    bar.inc(1);
                },
            )?;
            timings.push((current, since.elapsed().as_secs_f64()));
            bar.finish_and_clear();
            let dir = stage.begin()?;
            tables.write(&dir)?;
            tgsh_common::schema::write_timings(&dir.join("timings.parquet"), seed, &timings)?;
            stage.commit()?;
            eprintln!(
                "analyze: seed {seed} in {:.1} s -> {}",
                start.elapsed().as_secs_f64(),
                artifacts.analyze_shard(seed).display()
            );
        }
    }
    if parts == Parts::All || parts == Parts::Summary {
        let inputs = summary::SummaryInputs::resolve(pipeline, artifacts)?;
        let params = serde_json::json!({
            "analyze": pipeline.analyze,
            "topology": topology,
            "seeds": inputs.seeds,
            "references": inputs.references.iter().map(|(k, (_, s))| (k.clone(), s.clone())).collect::<std::collections::BTreeMap<_, _>>(),
        });
        let stage = StageRun::in_dir(
            Stage::Analyze,
            artifacts.analyze_summary(),
            &params,
            inputs.files(artifacts),
        )?;
        if stage.should_run(force)? {
            load_test(&mut test)?;
            let dir = stage.begin()?;
            let claims = summary::summarise(
                pipeline,
                artifacts,
                &inputs,
                topology,
                test.as_ref().expect("loaded"),
                &dir,
            )?;
            stage.commit()?;
            let count = |v: &str| claims.iter().filter(|c| c.verdict == v).count();
            eprintln!(
                "analyze: {} claims: {} pass, {} hold untrained too, {} fail, {} inconclusive -> {}",
                claims.len(),
                count("pass"),
                count("untrained"),
                count("fail"),
                count("inconclusive"),
                artifacts.summary("claims.parquet").display()
            );
        }
    }
    Ok(())
}
