//! Two `tgsh-train --seed 0` processes on one pipeline and artifact folder,
//! forced to interleave (`crates/common/tests/interleave`): the second waits
//! for the first, naming it, then finds the shard up to date; the shard
//! holds every file its record lists.
#![cfg(unix)]

#[path = "../../common/tests/interleave/mod.rs"]
mod interleave;

use std::path::Path;
use tgsh_common::{Artifacts, Pipeline};

#[test]
fn a_second_trainer_of_a_shard_waits_for_the_first() {
    let dir = std::env::temp_dir().join(format!("tgsh-two-trainers-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let mnist = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/mnist");
    let file = dir.join("pair.toml");
    std::fs::write(
        &file,
        format!(
            r#"
            description = "two writers"
            [data]
            mnist_dir = "{}"
            train_images = 2000
            test_images = 500
            [data.family]
            name = "RotationMNIST-pair"
            sweep = {{ transform = "rotate", count = 4, step = 90.0 }}
            [train]
            seeds = [0]
            epochs = 2
            hidden = 784
            "#,
            mnist.display()
        ),
    )
    .unwrap();
    let pipeline = Pipeline::load(&file).unwrap();
    let root = dir.join("artifacts");
    let artifacts = Artifacts::new(&root, &pipeline.name);
    tgsh_data::run(&pipeline, &artifacts, &tgsh_common::cli::RunOptions::default()).unwrap();

    let (file, root) = (file.to_str().unwrap(), root.to_str().unwrap());
    let outcome = interleave::interleave(
        Path::new(env!("CARGO_BIN_EXE_tgsh-train")),
        &[file, "--artifacts", root, "--seed", "0"],
        &artifacts.train_shard(0),
    );
    assert!(outcome.first.contains("train seed-0: running"), "{}", outcome.first);
    assert!(
        outcome.second.contains("train seed-0: up to date"),
        "{}",
        outcome.second
    );
    assert!(artifacts.model(0).is_file() && artifacts.metrics(0).is_file());
    std::fs::remove_dir_all(dir).unwrap();
}
