use clap::Parser;
use std::path::PathBuf;
use std::process::ExitCode;
use tgsh_common::cli::{run_stage, RunOptions};
use tgsh_common::Stage;

/// Stage 1 of the T-GSH pipeline: builds a task family from MNIST.
///
/// Reads: the four MNIST IDX files (data.mnist_dir, default data/mnist,
/// verified by SHA-256) and the [data] section of the pipeline file.
/// Writes: <artifacts>/<pipeline>/data/{train,test,tasks}.parquet and
/// stage.json. Skips itself when inputs, parameters and code are unchanged.
#[derive(Parser)]
#[command(version, about, long_about)]
struct Args {
    #[command(flatten)]
    stage: tgsh_common::cli::StageArgs,
    /// Folder holding the MNIST IDX files (overrides data.mnist_dir).
    #[arg(long)]
    mnist_dir: Option<PathBuf>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let options = RunOptions {
        force: args.stage.force,
        ..RunOptions::default()
    };
    run_stage(
        Stage::Data,
        &args.stage,
        |pipeline| {
            if let Some(dir) = &args.mnist_dir {
                pipeline.data.mnist_dir = dir.clone();
            }
        },
        |pipeline, artifacts| tgsh_data::run(pipeline, artifacts, &options),
    )
}
