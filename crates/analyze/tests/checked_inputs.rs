//! The analyze stage refuses damaged inputs with one error naming the file
//! and what is wrong, and publishes nothing: a NaN in the model file, a
//! metrics table whose test accuracy is not the model's, a missing input.

mod common;

use arrow_array::{ArrayRef, Float64Array};
use std::collections::BTreeMap;
use std::sync::Arc;
use tgsh_common::cli::{Parts, RunOptions};
use tgsh_common::schema;
use tgsh_model::model::write_safetensors;
use tgsh_model::Model;

#[test]
fn damaged_models_and_metrics_are_refused_naming_the_files() {
    let dir = common::temp_dir("checked");
    let (pipeline, artifacts) = common::trained_pipeline(&dir, 784);
    let model_path = artifacts.model(0);
    let metrics_path = artifacts.metrics(0);
    let (model_bytes, metrics_bytes) = (
        std::fs::read(&model_path).unwrap(),
        std::fs::read(&metrics_path).unwrap(),
    );
    let options = RunOptions {
        parts: Parts::Seeds(vec![0]),
        force: false,
    };
    let analyse = || tgsh_analyze::run(&pipeline, &artifacts, &options);

    // A NaN in one task's trained modulation (and so its context).
    let (model, metadata) = Model::load(&model_path).unwrap();
    let mut tensors = model.tensors();
    for (name, _, values) in &mut tensors {
        if name == "modulation.after" || name == "context.after" {
            values[784 + 5] = f32::NAN;
        }
    }
    write_safetensors(&model_path, &tensors, &metadata).unwrap();
    let err = analyse().unwrap_err().to_string();
    assert!(
        err.contains("train/seed-0/model.safetensors")
            && err.contains("`modulation.after` holds NaN at task 1, unit 5"),
        "{err}"
    );
    assert!(!artifacts.analyze_shard(0).exists(), "nothing published");
    std::fs::write(&model_path, &model_bytes).unwrap();

    // metrics.parquet's accuracy of task 2 is not the model's.
    let table = schema::read_parquet(&metrics_path, &schema::metrics_schema()).unwrap();
    let mut accuracy = table.finite_f64("test_accuracy").unwrap();
    let tasks = table.primitive::<arrow_array::types::UInt16Type>("task").unwrap();
    let row = tasks.iter().position(|&t| t == 2).unwrap();
    accuracy[row] -= 0.05;
    let batch = &table.batches[0];
    let mut columns: Vec<ArrayRef> = batch.columns().to_vec();
    let at = batch.schema().index_of("test_accuracy").unwrap();
    columns[at] = Arc::new(Float64Array::from(accuracy));
    let changed = schema::batch(&metrics_path, schema::metrics_schema(), columns).unwrap();
    schema::write_parquet(&metrics_path, &changed, &table.metadata).unwrap();
    let err = analyse().unwrap_err().to_string();
    assert!(
        err.contains("task 2")
            && err.contains("train/seed-0/model.safetensors")
            && err.contains("train/seed-0/metrics.parquet"),
        "{err}"
    );
    assert!(!artifacts.analyze_shard(0).exists(), "nothing published");

    // A non-finite value in metrics.parquet names the column, row and task.
    let table = schema::read_parquet(&metrics_path, &schema::metrics_schema()).unwrap();
    let mut loss = table.finite_f64("loss").unwrap();
    loss[row] = f64::INFINITY;
    let mut columns: Vec<ArrayRef> = table.batches[0].columns().to_vec();
    columns[table.batches[0].schema().index_of("loss").unwrap()] = Arc::new(Float64Array::from(loss));
    let changed = schema::batch(&metrics_path, schema::metrics_schema(), columns).unwrap();
    schema::write_parquet(&metrics_path, &changed, &BTreeMap::new()).unwrap();
    let err = analyse().unwrap_err().to_string();
    assert!(
        err.contains("metrics.parquet") && err.contains("`loss` holds inf") && err.contains("task 2"),
        "{err}"
    );
    std::fs::write(&metrics_path, &metrics_bytes).unwrap();

    // Restored, it analyses; the summary's input from another seed is
    // missing and named with the command that makes it.
    analyse().unwrap();
    let mut two_seeds = pipeline.clone();
    two_seeds.train.seeds = vec![0, 1];
    let summary = RunOptions {
        parts: Parts::Summary,
        force: false,
    };
    let err = tgsh_analyze::run(&two_seeds, &artifacts, &summary)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("analyze/seed-1/statistics.parquet")
            && err.contains(&format!(
                "make them with `tgsh-analyze {} --artifacts {} --seed 1`",
                pipeline.path.display(),
                dir.join("artifacts").display()
            )),
        "{err}"
    );
    std::fs::remove_dir_all(dir).unwrap();
}
