//! The pilot that picks `heldout.metric_learning_rate`, the step size of
//! the paper's metric-preconditioned SGD (`ΔP = -η G⁻¹ dL/dP`), using the
//! training tasks only: unseen tasks and test images are never looked at.
//!
//! For the first seed of a held-out pipeline, each training task's training
//! images are split into the first four fifths (fitted) and the last fifth
//! (validation). The line and the circle are trained with each candidate
//! `η` on the fitted images with the pipeline's epochs and batch size, and
//! scored on the validation images of the same tasks; the `η` with the best
//! mean validation accuracy over the two is printed. RMSprop is shown for
//! reference.
//!
//! ```sh
//! just data heldout-rotation-interp
//! cargo run --release --example metric_pilot -- pipelines/heldout-rotation-interp.toml [data [1,3,10,...]]
//! ```

use std::path::PathBuf;
use tgsh_common::{Artifacts, Pipeline};
use tgsh_model::{Basis, Conditioned, InputEncoding, Model};
use tgsh_train::manifold::{self, Rule, TaskImages};

const RATES: [f32; 8] = [1.0, 3.0, 10.0, 30.0, 100.0, 300.0, 1000.0, 3000.0];
const USAGE: &str = "usage: metric_pilot <pipeline.toml> [artifacts root, default data] [rates, e.g. 10,30,100]";

fn split(d: &tgsh_train::TaskData, s: f64, from: usize, to: usize) -> TaskImages<'_> {
    TaskImages {
        s,
        images: &d.train_images[from * 784..to * 784],
        labels: &d.train_labels[from..to],
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let path = PathBuf::from(args.next().ok_or(USAGE)?);
    let root = PathBuf::from(args.next().unwrap_or_else(|| "data".into()));
    let rates: Vec<f32> = match args.next() {
        Some(list) => list
            .split(',')
            .map(|r| {
                r.trim()
                    .parse::<f32>()
                    .map_err(|_| format!("rate `{r}` is not a number; {USAGE}"))
            })
            .collect::<Result<_, _>>()?,
        None => RATES.to_vec(),
    };
    let pipeline = Pipeline::load(&path)?;
    let tgsh_common::config::Experiment::Heldout(heldout) = &pipeline.experiment else {
        return Err("the pipeline has no [heldout] section".into());
    };
    let artifacts = Artifacts::new(&root, &pipeline.name);
    let (all_s, trained) = (&heldout.s, &heldout.train_tasks);
    let data: Vec<tgsh_train::TaskData> = trained
        .iter()
        .map(|&t| tgsh_train::read_task_data(&artifacts, t))
        .collect::<Result<_, _>>()?;
    let n = data[0].train_labels.len();
    let validation_images = n / 5;
    if validation_images == 0 {
        return Err(format!("need at least 5 training images per task, have {n}").into());
    }
    let fit = n - validation_images;
    let fitted: Vec<TaskImages<'_>> = trained
        .iter()
        .zip(&data)
        .map(|(&t, d)| split(d, all_s[t], 0, fit))
        .collect();
    let validation: Vec<TaskImages<'_>> = trained
        .iter()
        .zip(&data)
        .map(|(&t, d)| split(d, all_s[t], fit, n))
        .collect();
    let seed = pipeline.train.seeds[0];
    let model = Model::new(&pipeline.train, seed);
    let hyper = tgsh_train::hyper(&pipeline.train);
    eprintln!(
        "pilot: {}: seed {seed}, {} training tasks, {fit} fitted + {validation_images} validation images each, {} epochs",
        pipeline.name,
        trained.len(),
        hyper.epochs
    );
    let decoder = tgsh_model::Decoder::new(&model.decoder);
    let score = |basis: Basis, rule: Rule| -> Option<f64> {
        let mut params = Conditioned::constant(basis, &model.init_shared_context(), InputEncoding::None);
        let mut shuffles: Vec<_> = trained.iter().map(|&t| model.joint_shuffle_rng(t)).collect();
        manifold::train_joint(
            &model.encoder,
            &decoder,
            &fitted,
            &mut params,
            &hyper,
            rule,
            &mut shuffles,
            |_, _| {},
        )
        .ok()?;
        let accuracies: Vec<f64> = validation
            .iter()
            .map(|v| manifold::accuracy(&model.encoder, &decoder, &params, v.s, v.images, v.labels))
            .collect();
        Some(accuracies.iter().sum::<f64>() / accuracies.len() as f64)
    };
    let show = |a: Option<f64>| a.map_or("diverged".to_string(), |a| format!("{:.2} %", 100.0 * a));
    println!("| update | line | circle | mean |\n|---|---|---|---|");
    let mut best = (f64::NEG_INFINITY, 0.0);
    for lr in rates {
        let line = score(Basis::Line, Rule::Metric { lr });
        let circle = score(Basis::Fourier { order: 1 }, Rule::Metric { lr });
        let mean = match (line, circle) {
            (Some(a), Some(b)) => Some((a + b) / 2.0),
            _ => None,
        };
        if let Some(m) = mean.filter(|&m| m > best.0) {
            best = (m, lr);
        }
        println!(
            "| metric SGD, η = {lr} | {} | {} | {} |",
            show(line),
            show(circle),
            show(mean)
        );
    }
    let line = score(Basis::Line, Rule::Rmsprop);
    let circle = score(Basis::Fourier { order: 1 }, Rule::Rmsprop);
    println!(
        "| RMSprop, lr = {} (reference) | {} | {} | |",
        pipeline.train.learning_rate,
        show(line),
        show(circle)
    );
    println!(
        "\nbest metric_learning_rate on the training tasks' validation images: {}",
        best.1
    );
    Ok(())
}
