use clap::Parser;
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
    #[command(flatten)]
    stage: tgsh_common::cli::StageArgs,
}

fn main() -> ExitCode {
    let args = Args::parse();
    tgsh_common::cli::run_stage(&args.stage, |pipeline, artifacts| {
        tgsh_analyze::run(pipeline, artifacts, args.stage.force)
    })
}
