//! What the integration tests share: a tiny pipeline in its own temporary
//! folder, and running every stage on it.
#![allow(dead_code)] // each test binary uses a different part

use std::path::{Path, PathBuf};
use tgsh_common::cli::RunOptions;
use tgsh_common::config::{Experiment, HeldoutExperiment};
use tgsh_common::{Artifacts, Pipeline};

pub fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tgsh-e2e-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

pub fn tiny_pipeline(dir: &Path) -> Pipeline {
    let mnist = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/mnist");
    let text = format!(
        r#"
        description = "end-to-end test"
        [data]
        mnist_dir = "{}"
        train_images = 2000
        test_images = 500
        [data.family]
        name = "RotationMNIST-tiny"
        sweep = {{ transform = "rotate", count = 4, step = 90.0 }}
        [train]
        seeds = [0, 1]
        epochs = 1
        hidden = 784
        [report]
        samples_per_task = 4
        "#,
        mnist.display()
    );
    let path = dir.join("tiny.toml");
    std::fs::write(&path, &text).unwrap();
    Pipeline::load(&path).unwrap()
}

/// `pipelines/heldout-smoke.toml`, reading the project's MNIST copy.
pub fn heldout_smoke_pipeline() -> Pipeline {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut pipeline = Pipeline::load(&root.join("pipelines/heldout-smoke.toml")).unwrap();
    pipeline.data.mnist_dir = root.join("data/mnist");
    pipeline
}

pub fn run_all(pipeline: &Pipeline, artifacts: &Artifacts, min_accuracy: Option<f64>) {
    let options = RunOptions::default();
    tgsh_data::run(pipeline, artifacts, &options).unwrap();
    tgsh_train::run(pipeline, artifacts, &options).unwrap();
    tgsh_analyze::run(pipeline, artifacts, &options).unwrap();
    tgsh_report::run(pipeline, artifacts, &options).unwrap();
    if let Some(bar) = min_accuracy {
        tgsh_report::check(pipeline, artifacts, bar).unwrap();
    }
}

/// The held-out experiment of a pipeline known to be one.
pub fn heldout_of(pipeline: &Pipeline) -> &HeldoutExperiment {
    match &pipeline.experiment {
        Experiment::Heldout(h) => h,
        Experiment::Family(_) => panic!("{} is not a held-out pipeline", pipeline.name),
    }
}
