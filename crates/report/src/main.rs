use clap::Parser;
use std::process::ExitCode;
use tgsh_common::cli::{run_stage, RunOptions};
use tgsh_common::Stage;

/// Stage 4 of the T-GSH pipeline: one HTML page with every figure and the
/// claims table.
///
/// Reads: <artifacts>/<pipeline>/data/{tasks,test}.parquet, the train
/// shards' metrics and timings, the analyze shards and analyze/summary/
/// (for a held-out pipeline: the heldout tables and claims). Writes:
/// <artifacts>/<pipeline>/report/ (index.html, for task families
/// timings.html, every figure as PNG and SVG) and stage.json. Skips itself
/// when inputs, parameters and code are unchanged; `--plan` lists the
/// files. `tgsh-index` writes the page across pipelines.
#[derive(Parser)]
#[command(version, about, long_about)]
struct Args {
    #[command(flatten)]
    stage: tgsh_common::cli::StageArgs,
    /// Then check: every task of every seed reached this final test accuracy
    /// (fraction), and every claim has a value and a verdict (used by CI).
    #[arg(long, value_name = "FRACTION")]
    check_min_accuracy: Option<f64>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let options = RunOptions {
        force: args.stage.force,
        ..RunOptions::default()
    };
    run_stage(
        Stage::Report,
        &args.stage,
        |_| {},
        |pipeline, artifacts| {
            tgsh_report::run(pipeline, artifacts, &options)?;
            match args.check_min_accuracy {
                Some(bar) => tgsh_report::check(pipeline, artifacts, bar),
                None => Ok(()),
            }
        },
    )
}
