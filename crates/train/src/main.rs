use clap::{Parser, ValueEnum};
use std::process::ExitCode;
use tgsh_common::cli::{run_stage, Parts, RunOptions};
use tgsh_common::config::DeviceChoice;
use tgsh_common::Stage;

/// Stage 2 of the T-GSH pipeline: trains one CRWN per seed, one context vector per task.
///
/// Reads: <artifacts>/<pipeline>/data/{train,test,tasks}.parquet and the
/// [train] section of the pipeline file. Writes
/// <artifacts>/<pipeline>/train/seed-<S>/ for every seed: for a task-family
/// pipeline, model.safetensors (encoder, decoder, context vectors before
/// and after training) and metrics.parquet (loss and accuracy per task and
/// epoch); for a held-out pipeline ([heldout]), <method>.safetensors for
/// every trained method (points, shared, input, line, circle, fourierK,
/// *-metric) and heldout_metrics.parquet; each with timings.parquet and
/// stage.json. Each seed's shard skips itself when its inputs, parameters
/// and code are unchanged. `--plan` lists every file exactly.
#[derive(Parser)]
#[command(version, about, long_about)]
struct Args {
    #[command(flatten)]
    stage: tgsh_common::cli::StageArgs,
    /// Train only this seed's shard (repeatable; each must be in train.seeds).
    /// Shards of one pipeline can train at the same time in separate processes.
    #[arg(long = "seed", value_name = "S")]
    seeds: Vec<u64>,
    /// Where to train (overrides train.device). `cuda` needs a build with `--features cuda`.
    #[arg(long, value_enum)]
    device: Option<Device>,
}

#[derive(Clone, Copy, ValueEnum)]
enum Device {
    Cpu,
    Cuda,
    Auto,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let options = RunOptions {
        parts: Parts::from_flags(&args.seeds, false),
        force: args.stage.force,
    };
    run_stage(
        Stage::Train,
        &args.stage,
        |pipeline| {
            if let Some(device) = args.device {
                pipeline.train.device = match device {
                    Device::Cpu => DeviceChoice::Cpu,
                    Device::Cuda => DeviceChoice::Cuda,
                    Device::Auto => DeviceChoice::Auto,
                };
            }
        },
        |pipeline, artifacts| tgsh_train::run(pipeline, artifacts, &options),
    )
}
