//! `just bench` (train): throughput of the project's trainer against the
//! dense-encoder formulation a PyTorch user runs, on the same data and in the
//! same process, then the train-stage wall time and peak memory for every
//! task family in `pipelines/`.
//!
//! Figures are printed, never asserted: these machines are shared and noisy,
//! so compare the ratio measured in one run. `TGSH_BENCH_FAMILIES=rotation`
//! limits the second part to some families.

use std::path::Path;
use std::time::Instant;
use tgsh_common::Pipeline;
use tgsh_train::candle_trainer::{self, Input};
use tgsh_train::{hyper, train_one_task, Backend, Model, Scratch, TaskData};

fn task_data(pipeline: &Pipeline, mnist: &tgsh_data::mnist::Mnist, task: &tgsh_common::config::TaskSpec) -> TaskData {
    let seed = pipeline.data.seed;
    TaskData {
        train_images: tgsh_data::transform_split(task, &mnist.train, 0, seed),
        train_labels: mnist.train.labels.clone(),
        test_images: tgsh_data::transform_split(task, &mnist.test, 1, seed),
        test_labels: mnist.test.labels.clone(),
    }
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mnist = tgsh_data::mnist::load(&root.join("data/mnist")).expect("carried MNIST");
    let rotation = Pipeline::load(&root.join("pipelines/rotation.toml")).expect("rotation pipeline");
    let config = rotation.train.clone();
    let tasks = rotation.data.family.expand();
    let data = task_data(&rotation, &mnist, &tasks[3]);
    let model = Model::new(&config, 0);
    let mut one_epoch = hyper(&config);
    one_epoch.epochs = 1;
    println!("threads: {}", rayon::current_num_threads());

    // 1. The project's trainer on one task, the full protocol (encode once,
    //    every epoch, test evaluation after each), its buffers warm as they
    //    are from the second task of a stage on.
    let full = hyper(&config);
    let mut scratch = Scratch::default();
    train_one_task(&model, 2, &data, &one_epoch, &Backend::Cpu, &mut scratch, |_, _| {}).unwrap();
    let start = Instant::now();
    train_one_task(&model, 3, &data, &full, &Backend::Cpu, &mut scratch, |e, s| {
        println!(
            "  sparse trainer: epoch {e} test accuracy {:.2} %",
            100.0 * s.test_accuracy
        )
    })
    .unwrap();
    let ours = (full.epochs * data.train_labels.len()) as f64 / start.elapsed().as_secs_f64();

    // 2. The dense baseline: the same model with W1 as a dense 7840x784
    //    matrix applied to every minibatch, autograd for the step (candle,
    //    CPU). A slice of the data keeps it to seconds; samples/s is per sample.
    let n = 4096;
    let device = candle_core::Device::Cpu;
    let h = model.encoder.hidden();
    let normalise = |images: &[u8]| -> Vec<f32> {
        images
            .iter()
            .map(|&p| (p as f32 / 255.0 - tgsh_model::encoder::MNIST_MEAN) / tgsh_model::encoder::MNIST_STD)
            .collect()
    };
    let w1 = candle_core::Tensor::from_vec(model.encoder.dense_weight(), (h, 784), &device).unwrap();
    let pixels = candle_core::Tensor::from_vec(normalise(&data.train_images[..n * 784]), (n, 784), &device).unwrap();
    let test_pixels =
        candle_core::Tensor::from_vec(normalise(&data.test_images[..1024 * 784]), (1024, 784), &device).unwrap();
    let train = Input::Images {
        pixels,
        encoder: w1.clone(),
    };
    let test = Input::Images {
        pixels: test_pixels,
        encoder: w1,
    };
    let mut params = model.init_task(3);
    let start = Instant::now();
    candle_trainer::train_task(
        &device,
        &train,
        &data.train_labels[..n],
        &test,
        &data.test_labels[..1024],
        &model.decoder,
        &mut params,
        &one_epoch,
        &mut model.shuffle_rng(3),
        |_, _| {},
    )
    .unwrap();
    let dense = n as f64 / start.elapsed().as_secs_f64();
    println!(
        "throughput (RotationMNIST task 3, batch {}; ours: {} epochs incl. encoding and test evaluation; dense: 1 epoch on {n} images):",
        config.batch_size, full.epochs
    );
    println!("  sparse trainer (this project): {ours:>10.0} samples/s");
    println!("  dense-encoder baseline:        {dense:>10.0} samples/s");
    println!("  ratio:                         {:>10.1}x", ours / dense);

    // Part 3 measures its own peak: free parts 1-2 and reset the high-water
    // mark (Linux: writing 5 to clear_refs resets VmHWM).
    drop((scratch, train, test, data));
    tgsh_common::resources::reset_peak_rss();

    // 3. Train-stage time per family: every task, every epoch, test
    //    evaluation included (data generation excluded), seed 0.
    let only = std::env::var("TGSH_BENCH_FAMILIES").ok();
    let mut total = 0.0;
    for name in ["rotation", "shift-1px", "shift-2px", "augment"] {
        if only.as_deref().is_some_and(|o| !o.split(',').any(|x| x == name)) {
            continue;
        }
        let pipeline = Pipeline::load(&root.join(format!("pipelines/{name}.toml"))).unwrap();
        let config = pipeline.train.clone();
        let model = Model::new(&config, 0);
        let hyper = hyper(&config);
        let mut seconds = 0.0;
        let mut accuracy = Vec::new();
        let mut scratch = Scratch::default();
        for task in pipeline.data.family.expand() {
            let data = task_data(&pipeline, &mnist, &task);
            let start = Instant::now();
            let mut last = 0.0;
            train_one_task(&model, task.id, &data, &hyper, &Backend::Cpu, &mut scratch, |_, s| {
                last = s.test_accuracy
            })
            .unwrap();
            seconds += start.elapsed().as_secs_f64();
            accuracy.push(last);
        }
        total += seconds;
        println!(
            "train stage {name:>10}: {:>2} tasks x {} epochs in {seconds:>6.1} s, mean test accuracy {:.2} %, peak RSS so far {:.0} MiB",
            accuracy.len(),
            hyper.epochs,
            100.0 * accuracy.iter().sum::<f64>() / accuracy.len() as f64,
            tgsh_common::resources::peak_rss_mib()
        );
    }
    println!(
        "train stage, families above together: {total:.1} s; peak RSS {:.0} MiB",
        tgsh_common::resources::peak_rss_mib()
    );
}
