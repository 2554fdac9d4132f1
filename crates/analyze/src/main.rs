use clap::Parser;
use std::process::ExitCode;
use tgsh_common::cli::{run_stage, Parts, RunOptions};
use tgsh_common::Stage;

/// Stage 3 of the T-GSH pipeline: every analysis of the trained context
/// vectors, and the paper's claims with intervals across seeds and verdicts.
///
/// Reads: <artifacts>/<pipeline>/data/{tasks,test}.parquet and, for every
/// seed of [train].seeds, its train shard (model.safetensors and
/// metrics.parquet; for a held-out pipeline every <method>.safetensors).
/// Writes analyze/seed-<S>/ per seed (task families: similarity,
/// cross_task, reconstruction, tgsh_pairs, dendrogram, clusters,
/// adjacency, statistics; held-out pipelines: heldout, context_cosine,
/// statistics) and analyze/summary/ (task families: statistics with
/// intervals, claims, tgsh, adjacency, accuracy, dendrogram, clusters,
/// class_means; held-out pipelines: heldout, heldout_curve, context_cosine,
/// statistics, claims), each with a stage.json. Every part skips itself
/// when its inputs, parameters and code are unchanged. `--plan` lists every
/// file exactly; ARCHITECTURE.md documents every table.
#[derive(Parser)]
#[command(version, about, long_about)]
struct Args {
    #[command(flatten)]
    stage: tgsh_common::cli::StageArgs,
    /// Analyse only this seed's shard (repeatable; no summary). Shards of one
    /// pipeline can run at the same time in separate processes.
    #[arg(long = "seed", value_name = "S", conflicts_with = "summary")]
    seeds: Vec<u64>,
    /// Only merge the seed shards into analyze/summary/ (they must exist).
    #[arg(long)]
    summary: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let options = RunOptions {
        parts: Parts::from_flags(&args.seeds, args.summary),
        force: args.stage.force,
    };
    run_stage(
        Stage::Analyze,
        &args.stage,
        |_| {},
        |pipeline, artifacts| tgsh_analyze::run(pipeline, artifacts, &options),
    )
}
