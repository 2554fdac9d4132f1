use clap::Parser;
use std::process::ExitCode;

/// Stage 4 of the T-GSH pipeline: figures (PNG + SVG) and one HTML report.
///
/// Reads: <artifacts>/<pipeline>/data/{tasks,test}.parquet,
/// train/metrics.parquet and analyze/similarity.parquet. Writes:
/// <artifacts>/<pipeline>/report/index.html with accuracy.{png,svg},
/// similarity_{before,after}_seed<S>.{png,svg}, samples.{png,svg}, and
/// stage.json. Skips itself when inputs, parameters and code are unchanged.
#[derive(Parser)]
#[command(version, about, long_about)]
struct Args {
    #[command(flatten)]
    stage: tgsh_common::cli::StageArgs,
    /// After the report, fail unless it exists and every task of every seed
    /// reached this final test accuracy (a fraction, e.g. 0.5; chance is 0.1).
    #[arg(long, value_name = "FRACTION")]
    check_min_accuracy: Option<f64>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    tgsh_common::cli::run_stage(&args.stage, |pipeline, artifacts| {
        tgsh_report::run(pipeline, artifacts, args.stage.force, args.check_min_accuracy)
    })
}
