//! The batched trainer against the CPU trainer, lane by lane, on candle's
//! CPU backend.

use super::*;
use crate::{train_one_task, Backend, Scratch};
use tgsh_common::config::TrainConfig;
use tgsh_common::PIXELS;

const HIDDEN: usize = 64;

/// A learnable toy family: label `y` lights a band of pixels starting at
/// `78 y`, with noise; task `t` moves every band `7 t` pixels on.
fn task_data(task: usize, train: usize, test: usize) -> TaskData {
    let split = |n: usize, salt: usize| -> (Vec<u8>, Vec<u8>) {
        let labels: Vec<u8> = (0..n).map(|i| ((i * 7 + salt) % 10) as u8).collect();
        let mut images = vec![0u8; n * PIXELS];
        for (i, image) in images.chunks_exact_mut(PIXELS).enumerate() {
            let band = 78 * labels[i] as usize + 7 * task;
            for j in 0..40 {
                let noise = (i * 131 + j * 17 + salt) % 97;
                image[(band + j + noise % 5) % PIXELS] = (120 + noise) as u8;
            }
            image[(i * 37 + salt) % PIXELS] = 255; // a stray pixel
        }
        (images, labels)
    };
    let (train_images, train_labels) = split(train, 1);
    let (test_images, test_labels) = split(test, 2);
    TaskData {
        train_images,
        train_labels,
        test_images,
        test_labels,
    }
}

fn hyper() -> Hyper {
    Hyper {
        epochs: 2,
        batch_size: 32, // 200 images: six full batches and one of 8
        lr: 1e-2,
        alpha: 0.99,
        eps: 1e-8,
    }
}

fn models(seeds: &[u64]) -> Vec<Model> {
    let config = TrainConfig {
        hidden: HIDDEN,
        ..TrainConfig::default()
    };
    seeds.iter().map(|&s| Model::new(&config, s)).collect()
}

type Epochs = Vec<LaneEpoch>;

fn batched(models: &[Model], tasks: usize, hyper: &Hyper, options: SweepOptions) -> (SweepParams, Epochs) {
    let mut epochs = Vec::new();
    let params = train_sweep(
        &Device::Cpu,
        models,
        &(0..tasks).collect::<Vec<_>>(),
        |t| Ok(Cow::Owned(task_data(t, 200, 90))),
        hyper,
        &options,
        |e| epochs.push(e),
    )
    .unwrap();
    (params, epochs)
}

/// Largest absolute differences between two sweeps: (parameters, loss, accuracy).
fn max_differences(a: &(SweepParams, Epochs), b: &(SweepParams, Epochs)) -> (f32, f64, f64) {
    let mut params = 0f32;
    for (x, y) in a.0.iter().flatten().zip(b.0.iter().flatten()) {
        assert_eq!(x.0, y.0, "initial values are drawn identically");
        params = params.max((x.1.strength - y.1.strength).abs());
        for (p, q) in x.1.modulation.iter().zip(&y.1.modulation) {
            params = params.max((p - q).abs());
        }
    }
    let (mut loss, mut accuracy) = (0f64, 0f64);
    let key = |e: &LaneEpoch| (e.seed, e.task, e.epoch);
    let mut ea = a.1.clone();
    let mut eb = b.1.clone();
    ea.sort_by_key(key);
    eb.sort_by_key(key);
    assert_eq!(ea.len(), eb.len());
    for (x, y) in ea.iter().zip(&eb) {
        assert_eq!(key(x), key(y));
        loss = loss.max((x.stats.loss - y.stats.loss).abs());
        accuracy = accuracy
            .max((x.stats.train_accuracy - y.stats.train_accuracy).abs())
            .max((x.stats.test_accuracy - y.stats.test_accuracy).abs());
    }
    (params, loss, accuracy)
}

/// The CPU trainer, one task at a time: the reference.
fn one_by_one(models: &[Model], tasks: usize, hyper: &Hyper) -> (SweepParams, Epochs) {
    let mut epochs = Vec::new();
    let mut params = Vec::new();
    let mut scratch = Scratch::default();
    for model in models {
        let mut per_task = Vec::new();
        for task in 0..tasks {
            let data = task_data(task, 200, 90);
            let result = train_one_task(
                model,
                task,
                &data,
                hyper,
                &Backend::Cpu,
                &mut scratch,
                |epoch, stats| {
                    epochs.push(LaneEpoch {
                        seed: model.seed,
                        task,
                        epoch,
                        stats,
                        seconds: 0.0,
                    })
                },
            )
            .unwrap();
            per_task.push(result);
        }
        params.push(per_task);
    }
    (params, epochs)
}

#[test]
fn every_lane_of_a_batched_sweep_matches_the_cpu_trainer_on_that_task_alone() {
    let models = models(&[3, 4]);
    let reference = one_by_one(&models, 3, &hyper());
    let final_accuracy: Vec<f64> = reference
        .1
        .iter()
        .filter(|e| e.epoch == 2)
        .map(|e| e.stats.test_accuracy)
        .collect();
    assert!(
        final_accuracy.iter().all(|&a| a > 0.5),
        "the toy family is learnable: {final_accuracy:?}"
    );
    for residency in [Residency::Streamed, Residency::Encoded] {
        let options = SweepOptions {
            residency,
            memory_budget: None,
        };
        let sweep = batched(&models, 3, &hyper(), options);
        let (params, loss, accuracy) = max_differences(&sweep, &reference);
        eprintln!(
            "{residency:?} vs CPU trainer: max |Δ| parameters {params:.2e}, loss {loss:.2e}, accuracy {accuracy:.4}"
        );
        assert!(params < 1e-4, "{residency:?}: parameters differ by {params}");
        assert!(loss < 1e-4, "{residency:?}: losses differ by {loss}");
        // A near-tie may flip one image (1/200 of the training split).
        assert!(
            accuracy <= 1.0 / 200.0 + 1e-12,
            "{residency:?}: accuracy differs by {accuracy}"
        );
    }
}

#[test]
fn lanes_trained_together_in_groups_or_seed_by_seed_give_the_same_results() {
    let models = models(&[3, 4]);
    let hyper = hyper();
    let together = batched(&models, 3, &hyper, SweepOptions::default());
    // A budget that holds one task (both seeds) at a time: three groups.
    let shape = memory::SweepShape {
        seeds: 2,
        tasks: 3,
        hidden: HIDDEN,
        train_rows: 200,
        test_rows: 90,
        step_rows: hyper.batch_size,
        encoder_weight_bytes: 2,
    };
    let one_task = memory::group_bytes(&shape, 1, Residency::Streamed).total();
    let grouped = batched(
        &models,
        3,
        &hyper,
        SweepOptions {
            residency: Residency::Auto,
            memory_budget: Some(one_task + one_task / 2),
        },
    );
    let (params, loss, accuracy) = max_differences(&together, &grouped);
    eprintln!("all lanes at once vs one task per group: max |Δ| parameters {params:.2e}, loss {loss:.2e}, accuracy {accuracy}");
    assert!(params < 1e-5 && loss < 1e-5 && accuracy == 0.0);
    let mut seed_by_seed: (SweepParams, Epochs) = (Vec::new(), Vec::new());
    for model in &models {
        let (p, e) = batched(std::slice::from_ref(model), 3, &hyper, SweepOptions::default());
        seed_by_seed.0.extend(p);
        seed_by_seed.1.extend(e);
    }
    let (params, loss, accuracy) = max_differences(&together, &seed_by_seed);
    eprintln!("all lanes at once vs one seed at a time: max |Δ| parameters {params:.2e}, loss {loss:.2e}, accuracy {accuracy}");
    assert!(params < 1e-5 && loss < 1e-5 && accuracy == 0.0);
}

#[test]
fn a_diverging_sweep_names_seed_task_and_epoch() {
    let mut hyper = hyper();
    hyper.lr = 1e30; // m and s jump by ~1e31 per step: c = s m overflows
    hyper.epochs = 1;
    let err = train_sweep(
        &Device::Cpu,
        &models(&[5]),
        &[0, 1],
        |t| Ok(Cow::Owned(task_data(t, 200, 90))),
        &hyper,
        &SweepOptions::default(),
        |_| {},
    )
    .unwrap_err();
    let text = err.to_string();
    assert!(
        matches!(
            err,
            TrainError::DivergedInEpoch {
                seed: 5,
                task: 0,
                epoch: 1,
                ..
            }
        ),
        "{text}"
    );
    assert!(text.contains("seed 5, task 0") && text.contains("epoch 1"), "{text}");
}

#[test]
fn a_sweep_that_does_not_fit_says_how_much_it_needs() {
    let options = SweepOptions {
        residency: Residency::Auto,
        memory_budget: Some(1 << 10),
    };
    let err = train_sweep(
        &Device::Cpu,
        &models(&[1, 2]),
        &[0, 1],
        |t| Ok(Cow::Owned(task_data(t, 200, 90))),
        &hyper(),
        &options,
        |_| {},
    )
    .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("has 0.0 MiB") && text.contains("needs"),
        "the error names the budget and what is needed: {text}"
    );
    assert!(matches!(err, TrainError::DeviceMemory(_)), "{text}");
}

#[test]
fn tasks_of_different_sizes_are_refused_clearly() {
    let err = train_sweep(
        &Device::Cpu,
        &models(&[1]),
        &[0, 1],
        |t| Ok(Cow::Owned(task_data(t, 200 - 10 * t, 90))),
        &hyper(),
        &SweepOptions::default(),
        |_| {},
    )
    .unwrap_err();
    assert!(matches!(err, TrainError::UnevenTasks { task: 1, .. }), "{err}");
}
