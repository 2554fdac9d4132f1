//! The shared entry point of the stage binaries.

use crate::{Artifacts, Pipeline};
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
}

/// Loads the pipeline file, runs `stage` on it with the artifact tree under
/// `--artifacts`, and turns the outcome into an exit code, printing the
/// error on failure (this project's error messages already name their cause,
/// so the source chain is not repeated).
pub fn run_stage<E>(args: &StageArgs, stage: impl FnOnce(&Pipeline, &Artifacts) -> Result<(), E>) -> ExitCode
where
    E: std::error::Error,
{
    let pipeline = match Pipeline::load(&args.pipeline) {
        Ok(pipeline) => pipeline,
        Err(e) => return fail(&e),
    };
    let artifacts = Artifacts::new(&args.artifacts, &pipeline.name).with_pipeline_file(&args.pipeline);
    match stage(&pipeline, &artifacts) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(&e),
    }
}

fn fail(error: &dyn std::error::Error) -> ExitCode {
    eprintln!("error: {error}");
    ExitCode::FAILURE
}
