//! The train stage on the batched trainer (the `--device cuda` code path),
//! run on candle's CPU backend, against the same stage on the CPU trainer.

use arrow_array::types::{Float64Type, UInt16Type};
use std::path::{Path, PathBuf};
use tgsh_common::{schema, Artifacts, Pipeline};
use tgsh_train::{Backend, Model};

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tgsh-train-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn tiny_pipeline(dir: &Path) -> Pipeline {
    let mnist = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/mnist");
    let text = format!(
        r#"
        description = "the batched trainer's stage test"
        [data]
        mnist_dir = "{}"
        train_images = 1000
        test_images = 300
        [data.family]
        name = "RotationMNIST-tiny"
        sweep = {{ transform = "rotate", count = 3, step = 120.0 }}
        [train]
        seeds = [0, 1]
        epochs = 2
        hidden = 256
        "#,
        mnist.display()
    );
    let path = dir.join("tiny.toml");
    std::fs::write(&path, &text).unwrap();
    Pipeline::load(&path).unwrap()
}

/// (task, final test accuracy) of a shard, and its model.
fn shard(artifacts: &Artifacts, seed: u64, epochs: usize) -> (Vec<(u16, f64)>, Model) {
    let dir = artifacts.train_shard(seed);
    let metrics = schema::read_parquet(&dir.join("metrics.parquet"), &schema::metrics_schema()).unwrap();
    let tasks = metrics.primitive::<UInt16Type>("task").unwrap();
    let epoch = metrics.primitive::<arrow_array::types::UInt32Type>("epoch").unwrap();
    let accuracy = metrics.primitive::<Float64Type>("test_accuracy").unwrap();
    let finals = (0..tasks.len())
        .filter(|&i| epoch[i] as usize == epochs)
        .map(|i| (tasks[i], accuracy[i]))
        .collect();
    (finals, Model::load(&dir.join("model.safetensors")).unwrap().0)
}

#[test]
fn the_stage_on_the_batched_trainer_writes_what_the_cpu_trainer_writes() {
    let dir = temp_dir("batched");
    let pipeline = tiny_pipeline(&dir);
    let cpu = Artifacts::new(&dir.join("cpu"), &pipeline.name);
    let batched = Artifacts::new(&dir.join("batched"), &pipeline.name);
    for (artifacts, backend) in [
        (&cpu, Backend::Cpu),
        (&batched, Backend::Candle(candle_core::Device::Cpu)),
    ] {
        let options = tgsh_common::cli::RunOptions::default();
        tgsh_data::run(&pipeline, artifacts, &options).unwrap();
        tgsh_train::run_on(&pipeline, artifacts, &options, || Ok(backend)).unwrap();
    }
    for seed in [0, 1] {
        let (cpu_acc, cpu_model) = shard(&cpu, seed, 2);
        let (gpu_acc, gpu_model) = shard(&batched, seed, 2);
        let tasks: Vec<u16> = gpu_acc.iter().map(|&(t, _)| t).collect();
        assert_eq!(tasks, [0, 1, 2], "one final row per task, in task order");
        for ((_, a), (_, b)) in cpu_acc.iter().zip(&gpu_acc) {
            eprintln!("seed {seed}: final test accuracy CPU trainer {a:.4}, batched {b:.4}");
            assert!((a - b).abs() <= 1.0 / 300.0 + 1e-12, "seed {seed}: {a} vs {b}");
        }
        assert_eq!(cpu_model.before, gpu_model.before);
        for (a, b) in cpu_model.after.iter().zip(&gpu_model.after) {
            let diff = a
                .modulation
                .iter()
                .zip(&b.modulation)
                .map(|(x, y)| (x - y).abs())
                .fold((a.strength - b.strength).abs(), f32::max);
            eprintln!("seed {seed}: max |Δ| of the trained parameters {diff:.2e}");
            assert!(diff < 1e-4, "seed {seed}: parameters differ by {diff}");
        }
    }
    std::fs::remove_dir_all(dir).unwrap();
}
