//! `just bench-gpu`: the batched trainer on a GPU, every (seed, task) pair
//! of a family at once, for each task family in `pipelines/` with five seeds;
//! then the CPU trainer on the first seed, to compare test accuracy task by
//! task. Build with `--features cuda` (docs/CUDA.md).
//!
//! Figures are printed, never asserted. Settings (environment):
//! - `TGSH_BENCH_DEVICE`: `cuda` (default) or `cpu` (candle's CPU backend:
//!   only to check this program end to end without a GPU, with the limits below);
//! - `TGSH_BENCH_FAMILIES`: e.g. `rotation,augment` (default: all four);
//! - `TGSH_BENCH_SEEDS`: seeds per family (default 5: seeds 0..5);
//! - `TGSH_BENCH_TRAIN_IMAGES`, `TGSH_BENCH_TEST_IMAGES`: the first N images
//!   of each split (default all);
//! - `TGSH_BENCH_CPU_CHECK=0` skips the CPU trainer;
//! - `TGSH_RESIDENCY`, `TGSH_DEVICE_MEMORY_GIB`: as for `tgsh-train`.
//!
//! Run from the repository root; from elsewhere it reads the tree it was built from.

use std::borrow::Cow;
use std::path::Path;
use std::time::Instant;
use tgsh_common::Pipeline;
use tgsh_train::batched::{self, SweepOptions};
use tgsh_train::{hyper, train_one_task, Backend, Model, Scratch, TaskData};

fn env_usize(name: &str) -> Option<usize> {
    std::env::var(name)
        .ok()
        .map(|v| v.parse().unwrap_or_else(|_| panic!("{name}={v}: not a number")))
}

/// Every task of a family, generated in memory from the carried MNIST files.
fn family_data(pipeline: &Pipeline, mnist: &tgsh_data::mnist::Mnist) -> Vec<TaskData> {
    let seed = pipeline.data.seed;
    let train_n = env_usize("TGSH_BENCH_TRAIN_IMAGES")
        .unwrap_or(usize::MAX)
        .min(mnist.train.len());
    let test_n = env_usize("TGSH_BENCH_TEST_IMAGES")
        .unwrap_or(usize::MAX)
        .min(mnist.test.len());
    pipeline
        .data
        .family
        .expand()
        .iter()
        .map(|task| {
            let mut train_images = tgsh_data::transform_split(task, &mnist.train, 0, seed);
            let mut test_images = tgsh_data::transform_split(task, &mnist.test, 1, seed);
            train_images.truncate(train_n * 784);
            test_images.truncate(test_n * 784);
            TaskData {
                train_images,
                train_labels: mnist.train.labels[..train_n].to_vec(),
                test_images,
                test_labels: mnist.test.labels[..test_n].to_vec(),
            }
        })
        .collect()
}

fn main() {
    // The repository root: the working directory when it holds the pipelines
    // (a copied tree on a GPU machine, where the build's path does not exist),
    // else the tree this program was built from.
    let root = if Path::new("pipelines").is_dir() {
        Path::new(".").to_path_buf()
    } else {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
    };
    let device = match std::env::var("TGSH_BENCH_DEVICE").as_deref() {
        Ok("cpu") => candle_core::Device::Cpu,
        _ => tgsh_train::candle_trainer::cuda_device().unwrap_or_else(|e| {
            eprintln!("bench-gpu: {e}\n(TGSH_BENCH_DEVICE=cpu runs this program on candle's CPU backend)");
            std::process::exit(1)
        }),
    };
    let options = SweepOptions::for_device(&device).expect("valid settings");
    let seeds = env_usize("TGSH_BENCH_SEEDS").unwrap_or(5) as u64;
    let cpu_check = std::env::var("TGSH_BENCH_CPU_CHECK").as_deref() != Ok("0");
    let only = std::env::var("TGSH_BENCH_FAMILIES").ok();
    let mnist = tgsh_data::mnist::load(&root.join("data/mnist")).expect("carried MNIST");
    println!("device: {}", batched::describe(&device));
    println!("host threads: {}", rayon::current_num_threads());
    let (mut total_seconds, mut total_samples) = (0.0, 0.0);
    let mut differences = Vec::new();
    for name in ["rotation", "shift-1px", "shift-2px", "augment"] {
        if only.as_deref().is_some_and(|o| !o.split(',').any(|x| x == name)) {
            continue;
        }
        let pipeline = Pipeline::load(&root.join(format!("pipelines/{name}.toml"))).expect("pipeline");
        let config = pipeline.train.clone();
        let hyper = hyper(&config);
        let data = family_data(&pipeline, &mnist);
        let models: Vec<Model> = (0..seeds).map(|s| Model::new(&config, s)).collect();
        let tasks: Vec<usize> = (0..data.len()).collect();
        let mut finals = vec![vec![0.0; data.len()]; models.len()];
        let start = Instant::now();
        batched::train_sweep(
            &device,
            &models,
            &tasks,
            |t| Ok(Cow::Borrowed(&data[t])),
            &hyper,
            &options,
            |lane| {
                if lane.epoch == hyper.epochs {
                    finals[lane.seed as usize][lane.task] = lane.stats.test_accuracy;
                }
            },
        )
        .expect("batched training");
        let seconds = start.elapsed().as_secs_f64();
        let samples = (models.len() * data.len() * hyper.epochs * data[0].train_labels.len()) as f64;
        total_seconds += seconds;
        total_samples += samples;
        let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
        let seed_means: Vec<String> = finals.iter().map(|f| format!("{:.2}", 100.0 * mean(f))).collect();
        println!(
            "{name:>10}: {} tasks x {seeds} seeds x {} epochs in {seconds:>6.2} s ({:>10.0} samples/s, test evaluation and uploads included); mean test accuracy per seed {} %",
            data.len(),
            hyper.epochs,
            samples / seconds,
            seed_means.join(" / ")
        );
        if cpu_check {
            let (model, mut scratch) = (&models[0], Scratch::default());
            let start = Instant::now();
            let cpu: Vec<f64> = tasks
                .iter()
                .map(|&t| {
                    let mut last = 0.0;
                    train_one_task(model, t, &data[t], &hyper, &Backend::Cpu, &mut scratch, |_, s| {
                        last = s.test_accuracy
                    })
                    .expect("CPU training");
                    last
                })
                .collect();
            let diffs: Vec<f64> = finals[0].iter().zip(&cpu).map(|(g, c)| 100.0 * (g - c)).collect();
            let worst = diffs.iter().fold(0f64, |m, d| m.max(d.abs()));
            println!(
                "{name:>10}: seed 0 on the CPU trainer in {:.1} s: mean test accuracy {:.2} %; device minus CPU per task: mean {:+.3} pp, largest |Δ| {worst:.3} pp",
                start.elapsed().as_secs_f64(),
                100.0 * mean(&cpu),
                mean(&diffs)
            );
            differences.extend(diffs);
        }
    }
    println!(
        "all families above, {seeds} seeds each: {total_seconds:.2} s of training, {:.0} samples/s",
        total_samples / total_seconds
    );
    if !differences.is_empty() {
        let mean = differences.iter().sum::<f64>() / differences.len() as f64;
        println!(
            "device minus CPU trainer, seed 0, over all {} tasks: mean {mean:+.3} pp (goal: within ±0.2 pp)",
            differences.len()
        );
    }
}
