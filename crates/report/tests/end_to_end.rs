//! The whole pipeline on a tiny config, in process: data -> train ->
//! analyze -> report, then a rerun that must skip every stage.

use std::path::{Path, PathBuf};
use tgsh_common::record::Freshness;
use tgsh_common::{Artifacts, Pipeline, Stage, StageRun};

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tgsh-e2e-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn tiny_pipeline(dir: &Path) -> Pipeline {
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
        sweep = {{ transform = "rotate", count = 3, step = 120.0 }}
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

#[test]
fn tiny_pipeline_runs_end_to_end_and_then_skips_every_stage() {
    let dir = temp_dir("tiny");
    let pipeline = tiny_pipeline(&dir);
    let artifacts = Artifacts::new(&dir.join("artifacts"), &pipeline.name);

    tgsh_data::run(&pipeline, &artifacts, None, false).unwrap();
    tgsh_train::run(&pipeline, &artifacts, None, false).unwrap();
    tgsh_analyze::run(&pipeline, &artifacts, false).unwrap();
    // The accuracy check is part of the run: every task of both seeds must
    // be far above chance (10 %).
    tgsh_report::run(&pipeline, &artifacts, false, Some(0.5)).unwrap();

    let report = artifacts.stage_dir(Stage::Report);
    for file in [
        "index.html",
        "accuracy.png",
        "accuracy.svg",
        "samples.png",
        "similarity_after_seed0.png",
        "similarity_before_seed1.svg",
        "similarity_after_mean.png",
        "learning_curve.svg",
    ] {
        assert!(report.join(file).exists(), "{file} missing");
    }
    let html = std::fs::read_to_string(report.join("index.html")).unwrap();
    assert!(html.contains("RotationMNIST-tiny") && html.contains("similarity_after_seed1.png"));

    // An impossible bar fails the check with the offending tasks named.
    let err = tgsh_report::run(&pipeline, &artifacts, false, Some(1.01)).unwrap_err();
    assert!(err.to_string().contains("seed 0 task 0"), "{err}");

    // Nothing changed: every stage reports itself up to date.
    let records: Vec<_> = [Stage::Data, Stage::Train, Stage::Analyze, Stage::Report]
        .iter()
        .map(|&s| std::fs::read(artifacts.stage_dir(s).join("stage.json")).unwrap())
        .collect();
    tgsh_data::run(&pipeline, &artifacts, None, false).unwrap();
    tgsh_train::run(&pipeline, &artifacts, None, false).unwrap();
    tgsh_analyze::run(&pipeline, &artifacts, false).unwrap();
    tgsh_report::run(&pipeline, &artifacts, false, None).unwrap();
    for (s, before) in [Stage::Data, Stage::Train, Stage::Analyze, Stage::Report]
        .iter()
        .zip(records)
    {
        let after = std::fs::read(artifacts.stage_dir(*s).join("stage.json")).unwrap();
        assert_eq!(before, after, "{s} ran again although nothing changed");
    }

    // Changing the train section makes train stale but leaves data fresh.
    let mut more_epochs = pipeline.clone();
    more_epochs.train.epochs = 2;
    let train = StageRun::new(
        Stage::Train,
        &artifacts,
        &more_epochs.train,
        vec![artifacts.train_images(), artifacts.test_images(), artifacts.tasks()],
    )
    .unwrap();
    assert!(matches!(train.check().unwrap(), Freshness::Stale(r) if r.contains("parameters")));
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn training_is_bit_identical_run_after_run() {
    let dir = temp_dir("determinism");
    let pipeline = tiny_pipeline(&dir);
    let artifacts = Artifacts::new(&dir.join("artifacts"), &pipeline.name);
    tgsh_data::run(&pipeline, &artifacts, None, false).unwrap();
    tgsh_train::run(&pipeline, &artifacts, None, false).unwrap();
    let first = std::fs::read(artifacts.model(0)).unwrap();
    tgsh_train::run(&pipeline, &artifacts, None, true).unwrap();
    let second = std::fs::read(artifacts.model(0)).unwrap();
    assert!(first == second, "model-seed0.safetensors differs between two runs");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_diverging_run_names_task_epoch_and_step_and_leaves_nothing_finished() {
    let dir = temp_dir("diverge");
    let mut pipeline = tiny_pipeline(&dir);
    // Large enough that the first RMSprop step overflows the logits.
    pipeline.train.learning_rate = 1e30;
    let artifacts = Artifacts::new(&dir.join("artifacts"), &pipeline.name);
    tgsh_data::run(&pipeline, &artifacts, None, false).unwrap();
    let err = tgsh_train::run(&pipeline, &artifacts, None, false)
        .unwrap_err()
        .to_string();
    assert!(err.contains("seed 0, task 0") && err.contains("epoch 1, step"), "{err}");
    assert!(
        !artifacts.stage_dir(Stage::Train).exists(),
        "a failed train stage must not publish"
    );
    assert!(!artifacts.metrics().exists());
    std::fs::remove_dir_all(dir).unwrap();
}
