//! The whole pipeline on a tiny config, in process: data -> train ->
//! analyze -> report, then a rerun that must skip every stage.

mod common;

use arrow_array::types::{Float64Type, UInt16Type};
use common::{run_all, temp_dir, tiny_pipeline};
use std::path::PathBuf;
use tgsh_common::cli::{Parts, RunOptions};
use tgsh_common::record::Freshness;
use tgsh_common::schema::{self, analysis, read_parquet};
use tgsh_common::{Artifacts, Stage, StagePlan};

/// Every stage record of a finished pipeline with `seeds`.
fn records(artifacts: &Artifacts, seeds: &[u64]) -> Vec<PathBuf> {
    let mut out = vec![artifacts.stage_dir(Stage::Data).join("stage.json")];
    for &s in seeds {
        out.push(artifacts.train_shard(s).join("stage.json"));
        out.push(artifacts.analyze_shard(s).join("stage.json"));
    }
    out.push(artifacts.analyze_summary().join("stage.json"));
    out.push(artifacts.stage_dir(Stage::Report).join("stage.json"));
    out
}

#[test]
fn tiny_pipeline_runs_end_to_end_and_then_skips_every_stage() {
    let dir = temp_dir("tiny");
    let pipeline = tiny_pipeline(&dir);
    let artifacts = Artifacts::new(&dir.join("artifacts"), &pipeline.name);

    // The accuracy check is part of the run: every task of both seeds must
    // be far above chance (10 %).
    run_all(&pipeline, &artifacts, Some(0.5));

    let report = artifacts.stage_dir(Stage::Report);
    for file in [
        "index.html",
        "timings.html",
        "accuracy.png",
        "accuracy.svg",
        "samples.png",
        "similarity_after_seed0.png",
        "similarity_before_seed1.svg",
        "similarity_after_mean.png",
        "learning_curve.svg",
        "adjacency.png",
        "dendrogram.svg",
        "cross_task.png",
        "tgsh_label_after.png",
        "tgsh_label_before.png",
        "tgsh_position_unmodulated.svg",
        "representation_profile.png",
        "reconstruction.png",
        "reconstruction_noise_free.png",
        "class_means.svg",
        "contexts_pca_seed0.png",
        "contexts_pca_seed1.svg",
    ] {
        assert!(report.join(file).exists(), "{file} missing");
    }
    let html = std::fs::read_to_string(report.join("index.html")).unwrap();
    assert!(html.contains("RotationMNIST-tiny") && html.contains("similarity_after_seed1.png"));

    // The cross-task diagonal is each task's trained test accuracy, exactly.
    for seed in [0u64, 1] {
        let metrics = read_parquet(&artifacts.metrics(seed), &schema::metrics_schema()).unwrap();
        let cross = read_parquet(
            &artifacts.analysis(seed, "cross_task.parquet"),
            &analysis::cross_task_schema(),
        )
        .unwrap();
        let (ci, dj) = (
            cross.primitive::<UInt16Type>("context_task").unwrap(),
            cross.primitive::<UInt16Type>("data_task").unwrap(),
        );
        let state = cross.strings("state").unwrap();
        let acc = cross.primitive::<Float64Type>("accuracy").unwrap();
        let trained = metrics.primitive::<Float64Type>("test_accuracy").unwrap(); // 1 epoch: one row per task
        let tasks = metrics.primitive::<UInt16Type>("task").unwrap();
        // The trained contexts and the initial ones (the control), 4 x 4 each.
        assert_eq!(acc.len(), 32);
        for k in 0..acc.len() {
            if state[k] == "after" && ci[k] == dj[k] {
                let t = tasks.iter().position(|&t| t == ci[k]).unwrap();
                assert_eq!(acc[k], trained[t], "seed {seed} task {}", ci[k]);
            }
        }
    }

    // The claims table is complete: every claim has a value and a verdict.
    let claims = read_parquet(&artifacts.summary("claims.parquet"), &analysis::claims_schema()).unwrap();
    let ids = claims.strings("id").unwrap();
    for id in [
        "before-near-zero",
        "adjacent-most-similar",
        "tgsh-label",
        "tgsh-position",
        "representation-falls-with-distance",
        "cross-task-follows-similarity",
        "reconstruction-shows-task-noise-free",
        "contexts-trace-a-loop",
    ] {
        assert!(ids.iter().any(|i| i == id), "claim {id} missing from {ids:?}");
    }
    let means = claims.primitive::<Float64Type>("mean").unwrap();
    let verdicts = claims.strings("verdict").unwrap();
    let (controls, control_means) = (
        claims.strings("control").unwrap(),
        claims.primitive::<Float64Type>("control_mean").unwrap(),
    );
    let (lows, highs) = (
        claims.primitive::<Float64Type>("ci_low").unwrap(),
        claims.primitive::<Float64Type>("ci_high").unwrap(),
    );
    let readings = claims.strings("reading").unwrap();
    for k in 0..ids.len() {
        let id = &ids[k];
        assert!(means[k].is_finite(), "claim {id} has no value");
        assert!(
            ["pass", "untrained", "fail", "inconclusive"].contains(&verdicts[k].as_str()),
            "{id}: {}",
            verdicts[k]
        );
        // Every claim has its control beside it, measured.
        assert!(
            !controls[k].is_empty() && control_means[k].is_finite(),
            "{id} has no control"
        );
        assert!(!readings[k].is_empty(), "{id} has no words");
        // Two seeds: the intervals of bounded statistics stay in range.
        if id.starts_with("tgsh") || id.starts_with("adjacent") || id.starts_with("reconstruction") {
            assert!(
                (0.0..=1.0).contains(&lows[k]) && (0.0..=1.0).contains(&highs[k]),
                "{id}: [{}, {}]",
                lows[k],
                highs[k]
            );
        }
    }

    // An impossible bar fails the check with the offending tasks named.
    let err = tgsh_report::check(&pipeline, &artifacts, 1.01).unwrap_err();
    assert!(err.to_string().contains("seed 0 task 0"), "{err}");

    // Nothing changed: every stage and shard reports itself up to date.
    let files = records(&artifacts, &[0, 1]);
    let before: Vec<_> = files.iter().map(|f| std::fs::read(f).unwrap()).collect();
    run_all(&pipeline, &artifacts, None);
    for (file, before) in files.iter().zip(before) {
        assert_eq!(
            before,
            std::fs::read(file).unwrap(),
            "{} was written again although nothing changed",
            file.display()
        );
    }

    // Changing the train section makes the train shards stale but leaves data fresh.
    let mut more_epochs = pipeline.clone();
    more_epochs.train.epochs = 2;
    let train = StagePlan::of(Stage::Train, &more_epochs, &artifacts).unwrap().jobs[0]
        .stage_run(Stage::Train)
        .unwrap();
    assert!(matches!(train.check().unwrap(), Freshness::Stale(r) if r.contains("parameters")));

    // A new seed trains only its own shard; the others stay as they were.
    let mut three = pipeline.clone();
    three.train.seeds = vec![0, 1, 2];
    let seed0 = std::fs::read(artifacts.train_shard(0).join("stage.json")).unwrap();
    tgsh_train::run(&three, &artifacts, &all()).unwrap();
    assert_eq!(
        seed0,
        std::fs::read(artifacts.train_shard(0).join("stage.json")).unwrap()
    );
    assert!(artifacts.model(2).exists());
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn seeds_trained_apart_equal_seeds_trained_together() {
    let dir = temp_dir("shards");
    let pipeline = tiny_pipeline(&dir);
    let together = Artifacts::new(&dir.join("together"), &pipeline.name);
    let apart = Artifacts::new(&dir.join("apart"), &pipeline.name);
    for artifacts in [&together, &apart] {
        tgsh_data::run(&pipeline, artifacts, &all()).unwrap();
    }
    tgsh_train::run(&pipeline, &together, &all()).unwrap();
    tgsh_analyze::run(&pipeline, &together, &all()).unwrap();
    for seed in [1u64, 0] {
        tgsh_train::run(&pipeline, &apart, &seeds(&[seed])).unwrap();
        tgsh_analyze::run(&pipeline, &apart, &seeds(&[seed])).unwrap();
    }
    tgsh_analyze::run(
        &pipeline,
        &apart,
        &RunOptions {
            parts: Parts::Summary,
            force: false,
        },
    )
    .unwrap();
    for seed in [0u64, 1] {
        for file in ["model.safetensors", "metrics.parquet"] {
            let (a, b) = (
                together.train_shard(seed).join(file),
                apart.train_shard(seed).join(file),
            );
            assert!(
                std::fs::read(&a).unwrap() == std::fs::read(&b).unwrap(),
                "{} differs",
                b.display()
            );
        }
        for file in [
            "similarity.parquet",
            "cross_task.parquet",
            "reconstruction.parquet",
            "statistics.parquet",
        ] {
            let (a, b) = (together.analysis(seed, file), apart.analysis(seed, file));
            assert!(
                std::fs::read(&a).unwrap() == std::fs::read(&b).unwrap(),
                "{} differs",
                b.display()
            );
        }
    }
    for file in [
        "statistics.parquet",
        "claims.parquet",
        "tgsh.parquet",
        "adjacency.parquet",
        "dendrogram.parquet",
    ] {
        assert!(
            std::fs::read(together.summary(file)).unwrap() == std::fs::read(apart.summary(file)).unwrap(),
            "summary/{file} differs"
        );
    }
    let err = tgsh_train::run(&pipeline, &apart, &seeds(&[7]))
        .unwrap_err()
        .to_string();
    assert!(err.contains("--seed 7") && err.contains("train.seeds"), "{err}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn training_is_bit_identical_run_after_run() {
    let dir = temp_dir("determinism");
    let pipeline = tiny_pipeline(&dir);
    let artifacts = Artifacts::new(&dir.join("artifacts"), &pipeline.name);
    tgsh_data::run(&pipeline, &artifacts, &all()).unwrap();
    tgsh_train::run(&pipeline, &artifacts, &all()).unwrap();
    let first = std::fs::read(artifacts.model(0)).unwrap();
    tgsh_train::run(&pipeline, &artifacts, &forced()).unwrap();
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
    tgsh_data::run(&pipeline, &artifacts, &all()).unwrap();
    let err = tgsh_train::run(&pipeline, &artifacts, &all()).unwrap_err().to_string();
    assert!(err.contains("seed 0, task 0") && err.contains("epoch 1, step"), "{err}");
    assert!(
        !artifacts.train_shard(0).exists() && !artifacts.train_shard(1).exists(),
        "a failed train stage must not publish"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

fn all() -> RunOptions {
    RunOptions::default()
}

fn forced() -> RunOptions {
    RunOptions {
        force: true,
        ..RunOptions::default()
    }
}

fn seeds(seeds: &[u64]) -> RunOptions {
    RunOptions {
        parts: Parts::Seeds(seeds.to_vec()),
        force: false,
    }
}
