use clap::Parser;
use std::path::PathBuf;
use std::process::ExitCode;

/// Stage 3 of the T-GSH pipeline: analyses of the trained context vectors.
///
/// Reads: <artifacts>/<pipeline>/train/model-seed<S>.safetensors for every
/// seed of [train].seeds. Writes: <artifacts>/<pipeline>/analyze/similarity.parquet
/// (cosine similarity of every pair of context vectors, before and after
/// training) and stage.json. Skips itself when inputs, parameters and code
/// are unchanged.
#[derive(Parser)]
#[command(version, about, long_about)]
struct Args {
    /// Pipeline file, e.g. pipelines/rotation.toml.
    pipeline: PathBuf,
    /// Root of the artifact tree.
    #[arg(long, default_value = "data")]
    artifacts: PathBuf,
    /// Run even if the stage is up to date.
    #[arg(long)]
    force: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    tgsh_common::cli::run_stage(&args.pipeline, &args.artifacts, |pipeline, artifacts| {
        tgsh_analyze::run(pipeline, artifacts, args.force)
    })
}
