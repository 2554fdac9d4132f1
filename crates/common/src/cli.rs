//! The shared entry point of the stage binaries.

use crate::{Artifacts, Pipeline};
use std::path::Path;
use std::process::ExitCode;

/// Loads the pipeline file, runs `stage` on it with the artifact tree under
/// `artifacts_root`, and turns the outcome into an exit code, printing the
/// error on failure (this project's error messages already name their cause,
/// so the source chain is not repeated).
pub fn run_stage<E>(
    pipeline: &Path,
    artifacts_root: &Path,
    stage: impl FnOnce(&Pipeline, &Artifacts) -> Result<(), E>,
) -> ExitCode
where
    E: std::error::Error,
{
    let pipeline = match Pipeline::load(pipeline) {
        Ok(pipeline) => pipeline,
        Err(e) => return fail(&e),
    };
    let artifacts = Artifacts::new(artifacts_root, &pipeline.name);
    match stage(&pipeline, &artifacts) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(&e),
    }
}

fn fail(error: &dyn std::error::Error) -> ExitCode {
    eprintln!("error: {error}");
    ExitCode::FAILURE
}
