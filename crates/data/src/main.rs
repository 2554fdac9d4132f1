use clap::Parser;
use std::path::PathBuf;
use std::process::ExitCode;

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
    tgsh_common::cli::run_stage(&args.stage, |pipeline, artifacts| {
        tgsh_data::run(pipeline, artifacts, args.mnist_dir.as_deref(), args.stage.force)
    })
}
