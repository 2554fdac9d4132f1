//! The shared entry point of the stage binaries, and the options every
//! stage's `run` takes.

use crate::error::{Error, Result};
use crate::{Artifacts, Pipeline, Stage, StagePlan};
use std::path::PathBuf;
use std::process::ExitCode;

/// The arguments every stage binary takes (flattened into its own).
#[derive(Debug, Clone, clap::Args)]
pub struct StageArgs {
    /// Pipeline file, e.g. pipelines/rotation.toml.
    pub pipeline: PathBuf,
    /// Root of the artifact tree.
    #[arg(long, default_value = "data")]
    pub artifacts: PathBuf,
    /// Run even if the stage is up to date.
    #[arg(long)]
    pub force: bool,
    /// Print the stage's plan as JSON and exit: each job's folder, the files
    /// it reads and writes, the parameters it records, and the flags that
    /// run it alone (the Snakemake workflow reads this).
    #[arg(long)]
    pub plan: bool,
}

/// Which parts of a stage to run. Stages without seed shards (data,
/// report) have one part and ignore this.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Parts {
    /// Every seed's shard, then (analyze) the summary.
    #[default]
    All,
    /// Only these seeds' shards (each must be in `train.seeds`).
    Seeds(Vec<u64>),
    /// Only the summary over every seed's shard (analyze).
    Summary,
}

impl Parts {
    /// `--seed S ...` and `--summary` as given on a command line: no seed
    /// and no summary is every part.
    pub fn from_flags(seeds: &[u64], summary: bool) -> Parts {
        match (summary, seeds.is_empty()) {
            (true, _) => Parts::Summary,
            (false, true) => Parts::All,
            (false, false) => Parts::Seeds(seeds.to_vec()),
        }
    }

    /// Whether the seed shards of `seed` are among the parts.
    pub fn includes_seed(&self, seed: u64) -> bool {
        match self {
            Parts::All => true,
            Parts::Seeds(seeds) => seeds.contains(&seed),
            Parts::Summary => false,
        }
    }

    /// Whether the summary over seeds is among the parts.
    pub fn includes_summary(&self) -> bool {
        matches!(self, Parts::All | Parts::Summary)
    }
}

/// What every stage's `run` takes besides the pipeline and its artifacts.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// The parts to run.
    pub parts: Parts,
    /// Run parts even when they are up to date.
    pub force: bool,
}

impl Pipeline {
    /// The seeds whose shards `parts` runs, in the pipeline's order; an
    /// error names a requested seed that `train.seeds` does not list, so no
    /// shard exists that the pipeline does not know about.
    pub fn selected_seeds(&self, parts: &Parts) -> Result<Vec<u64>> {
        if let Parts::Seeds(requested) = parts {
            if let Some(&seed) = requested.iter().find(|s| !self.train.seeds.contains(s)) {
                return Err(Error::UnknownSeed {
                    seed,
                    pipeline: self.path.clone(),
                    seeds: self.train.seeds.clone(),
                });
            }
        }
        Ok(self
            .train
            .seeds
            .iter()
            .copied()
            .filter(|&s| parts.includes_seed(s))
            .collect())
    }
}

/// Loads the pipeline file, lets the binary `adjust` it (a command-line
/// override such as `--device`), then prints `stage`'s plan (`--plan`) or
/// runs `run` on it with the artifact tree under `--artifacts`, and turns
/// the outcome into an exit code, printing the error on failure (this
/// project's error messages already name their cause, so the source chain
/// is not repeated).
pub fn run_stage<E>(
    stage: Stage,
    args: &StageArgs,
    adjust: impl FnOnce(&mut Pipeline),
    run: impl FnOnce(&Pipeline, &Artifacts) -> Result<(), E>,
) -> ExitCode
where
    E: std::error::Error,
{
    let mut pipeline = match Pipeline::load(&args.pipeline) {
        Ok(pipeline) => pipeline,
        Err(e) => return fail(&e),
    };
    adjust(&mut pipeline);
    let artifacts = Artifacts::new(&args.artifacts, &pipeline.name).with_pipeline_file(&args.pipeline);
    if args.plan {
        return match StagePlan::of(stage, &pipeline, &artifacts) {
            Ok(plan) => {
                println!("{}", plan.to_json());
                ExitCode::SUCCESS
            }
            Err(e) => fail(&e),
        };
    }
    match run(&pipeline, &artifacts) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(&e),
    }
}

fn fail(error: &dyn std::error::Error) -> ExitCode {
    eprintln!("error: {error}");
    ExitCode::FAILURE
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_selection_keeps_the_pipeline_order_and_names_unknown_seeds() {
        let text = "[data.family]\nname = \"R\"\nsweep = { transform = \"rotate\", count = 4, step = 90.0 }\n[train]\nseeds = [3, 1, 2]\n";
        let p = Pipeline::parse("pipelines/p.toml".as_ref(), text).unwrap();
        assert_eq!(p.selected_seeds(&Parts::All).unwrap(), [3, 1, 2]);
        assert_eq!(p.selected_seeds(&Parts::Seeds(vec![2, 3])).unwrap(), [3, 2]);
        assert!(p.selected_seeds(&Parts::Summary).unwrap().is_empty());
        let e = p.selected_seeds(&Parts::Seeds(vec![7])).unwrap_err().to_string();
        assert!(
            e.contains("--seed 7") && e.contains("[3, 1, 2]") && e.contains("p.toml"),
            "{e}"
        );
        assert_eq!(Parts::from_flags(&[], false), Parts::All);
        assert_eq!(Parts::from_flags(&[1], false), Parts::Seeds(vec![1]));
        assert_eq!(Parts::from_flags(&[], true), Parts::Summary);
    }
}
