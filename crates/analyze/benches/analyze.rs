//! `just bench` (analyze): the whole analysis of one RotationMNIST seed (36
//! tasks, every test image), controls included, part by part: similarity
//! (with the task-order permutation null), clustering, the contexts' PCA,
//! the 36 x 36 cross-task accuracy on 10,000 test images per task for the
//! trained and the initial contexts, the T-GSH pairs and the
//! representation profile in three states, and the pseudo-inverse
//! reconstructions (noisy and noise-free, three states). Target: at most
//! 20 s on the 2-core machine. Printed, never asserted (shared, noisy
//! machines).
//!
//! The model is drawn from seed 0 with its initial contexts standing in for
//! trained ones: the work does not depend on the values.

use std::path::Path;
use std::time::Instant;
use tgsh_analyze::shard::{analyze_seed, TestSet};
use tgsh_common::Pipeline;
use tgsh_model::Model;

fn main() {
    tgsh_analyze::reconstruction::single_threaded_blas();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mnist = tgsh_data::mnist::load(&root.join("data/mnist")).expect("carried MNIST");
    let pipeline = Pipeline::load(&root.join("pipelines/rotation.toml")).expect("rotation pipeline");
    let tasks = pipeline.data.family.expand();
    let test = TestSet {
        names: tasks.iter().map(|t| t.name.clone()).collect(),
        images: tasks
            .iter()
            .map(|t| tgsh_data::transform_split(t, &mnist.test, 1, pipeline.data.seed))
            .collect(),
        labels: mnist.test.labels.clone(),
    };
    let mut model = Model::new(&pipeline.train, 0);
    for t in 0..tasks.len() {
        model.before.push(model.init_task(t));
        model.after.push(model.init_task(t + tasks.len()));
    }
    let dir = std::env::temp_dir().join(format!("tgsh-bench-analyze-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();

    println!("threads: {}", rayon::current_num_threads());
    let tgsh_common::config::Experiment::Family(family) = &pipeline.experiment else {
        panic!("pipelines/rotation.toml is a task-family pipeline");
    };
    use tgsh_common::resources::cpu_seconds;
    let (start, cpu_start) = (Instant::now(), cpu_seconds());
    let (mut last, mut last_cpu) = (Instant::now(), cpu_seconds());
    let mut parts: Vec<(String, f64, f64)> = Vec::new();
    let mut current = "start".to_string();
    let tables = analyze_seed(&model, &test, &family.analyze, family.topology, |step| {
        parts.push((
            std::mem::replace(&mut current, step.to_string()),
            last.elapsed().as_secs_f64(),
            cpu_seconds() - last_cpu,
        ));
        (last, last_cpu) = (Instant::now(), cpu_seconds());
    })
    .unwrap();
    parts.push((current, last.elapsed().as_secs_f64(), cpu_seconds() - last_cpu));
    let compute = start.elapsed().as_secs_f64();
    let write_start = Instant::now();
    tables.write(&dir).unwrap();
    let write = write_start.elapsed().as_secs_f64();
    println!("  {:<32} {:>8} {:>8}", "part", "wall s", "CPU s");
    for (part, seconds, cpu) in &parts {
        println!("  {part:<32} {seconds:>8.2} {cpu:>8.2}");
    }
    println!("  {:<32} {write:>8.2}", "write tables");
    // The cross-task products, the bulk of the work: every context on every
    // task's test images (the initial contexts on the first 1,000), ten
    // logits of H multiply-adds each.
    let t = tasks.len() as f64;
    let images =
        test.labels.len() as f64 + tgsh_analyze::shard::CONTROL_CROSS_TASK_IMAGES.min(test.labels.len()) as f64;
    let flops = t * t * images * 10.0 * pipeline.train.hidden as f64 * 2.0;
    if let Some((_, wall, cpu)) = parts.iter().find(|(part, ..)| part.starts_with("cross-task")) {
        println!(
            "cross-task products: {:.2} TFLOP, {:.1} GFLOP/s on the wall clock, {:.1} GFLOP/s per CPU-second \
             (at numpy's SGEMM rate of `just bench`'s probe they would take TFLOP / SGEMM seconds)",
            flops / 1e12,
            flops / wall / 1e9,
            flops / cpu / 1e9
        );
    }
    let cpu = cpu_seconds() - cpu_start;
    println!(
        "analysis of one RotationMNIST seed (36 tasks, 10,000 test images each): {:.1} s wall, {cpu:.1} s CPU \
         (= {:.1} s on {} cores if uncontended; target <= 20 s, controls included); peak RSS {:.0} MiB",
        compute + write,
        cpu / rayon::current_num_threads() as f64,
        rayon::current_num_threads(),
        tgsh_common::resources::peak_rss_mib()
    );
    let _ = std::fs::remove_dir_all(dir);
}
