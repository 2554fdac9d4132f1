//! A small trained pipeline for the analyze stage's integration tests.
#![allow(dead_code)] // each test binary uses a different part

use std::path::{Path, PathBuf};
use tgsh_common::{Artifacts, Pipeline};

/// A fresh temporary folder.
pub fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tgsh-analyze-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// `dir/pair.toml` (4 rotations, 1,000 training and 1,000 test images, 1
/// epoch, `hidden` units, seed 0), its data and train stages run into
/// `dir/artifacts`.
pub fn trained_pipeline(dir: &Path, hidden: usize) -> (Pipeline, Artifacts) {
    let mnist = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/mnist");
    let file = dir.join("pair.toml");
    std::fs::write(
        &file,
        format!(
            r#"
            description = "analyze integration tests"
            [data]
            mnist_dir = "{}"
            train_images = 1000
            test_images = 1000
            [data.family]
            name = "RotationMNIST-pair"
            sweep = {{ transform = "rotate", count = 4, step = 90.0 }}
            [train]
            seeds = [0]
            epochs = 1
            hidden = {hidden}
            "#,
            mnist.display()
        ),
    )
    .unwrap();
    let pipeline = Pipeline::load(&file).unwrap();
    let artifacts = Artifacts::new(&dir.join("artifacts"), &pipeline.name).with_pipeline_file(&file);
    let options = tgsh_common::cli::RunOptions::default();
    tgsh_data::run(&pipeline, &artifacts, &options).unwrap();
    tgsh_train::run(&pipeline, &artifacts, &options).unwrap();
    (pipeline, artifacts)
}
