//! The validation pilot of a held-out pipeline: one step size per trained
//! model, picked on the pipeline's own training tasks only (never another
//! pipeline's, never a held-out task, never a test image).
//!
//! For the pipeline's first seed, every trained model (the CRWN's points,
//! input conditioning and every manifold with every update rule) is
//! trained with each candidate step size of its rule under the pipeline's
//! convergence rule: fitted on the first five sixths of each training
//! task's training images, stopped and scored on the last sixth. The step
//! with the best kept validation accuracy is printed for each model as a
//! `[heldout.learning_rates]` table to paste into the pipeline file, with
//! the pilot's whole table (markdown, for the README).
//!
//! The pilot may use the first `--images N` training images of each task
//! (the same split into fitted and validation images) and a smaller
//! budget (`--max-epochs E`), which keeps it affordable on 2 cores; the
//! table says what it used. `--models a,b` runs only the named models
//! (their labels, as in `[heldout.learning_rates]`): a model added to a
//! pipeline later is piloted without repeating the others, each model's
//! pick being its own (the same seed, data and budget).
//!
//! ```sh
//! just data heldout-rotation-interp
//! cargo run --release --example pilot -- pipelines/heldout-rotation-interp.toml [--artifacts data] [--images 5000] [--models torus2]
//! ```

use std::path::PathBuf;
use tgsh_common::config::{Experiment, Update};
use tgsh_common::{Artifacts, Pipeline};
use tgsh_model::Model;
use tgsh_train::heldout::train_model;

/// RMSprop's candidates (the CRWN's default is 1e-2).
const RMSPROP: [f64; 3] = [3e-3, 1e-2, 3e-2];
/// The metric update's and plain SGD's candidates.
const SGD: [f64; 4] = [10.0, 30.0, 100.0, 300.0];
const USAGE: &str =
    "usage: pilot <pipeline.toml> [--artifacts DIR] [--images N] [--max-epochs E] [--models LABEL,LABEL]";

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let path = PathBuf::from(args.next().ok_or(USAGE)?);
    let (mut root, mut images, mut max_epochs) = (PathBuf::from("data"), None::<usize>, None::<usize>);
    let mut only: Option<Vec<String>> = None;
    while let Some(flag) = args.next() {
        let value = args.next().ok_or(USAGE)?;
        match flag.as_str() {
            "--artifacts" => root = PathBuf::from(value),
            "--images" => images = Some(value.parse().map_err(|_| format!("--images {value}: {USAGE}"))?),
            "--max-epochs" => max_epochs = Some(value.parse().map_err(|_| format!("--max-epochs {value}: {USAGE}"))?),
            "--models" => only = Some(value.split(',').map(|m| m.trim().to_string()).collect()),
            _ => return Err(format!("unknown option {flag}; {USAGE}").into()),
        }
    }
    let pipeline = Pipeline::load(&path)?;
    let Experiment::Heldout(heldout) = &pipeline.experiment else {
        return Err("the pipeline has no [heldout] section".into());
    };
    let methods: Vec<_> = match &only {
        None => heldout.methods.clone(),
        Some(labels) => {
            let known: Vec<String> = heldout.methods.iter().map(|m| m.label()).collect();
            if let Some(unknown) = labels.iter().find(|l| !known.contains(l)) {
                return Err(format!(
                    "--models: `{unknown}` is not a trained model of {} (its models: {})",
                    path.display(),
                    known.join(", ")
                )
                .into());
            }
            heldout
                .methods
                .iter()
                .copied()
                .filter(|m| labels.contains(&m.label()))
                .collect()
        }
    };
    let artifacts = Artifacts::new(&root, &pipeline.name);
    let mut data: Vec<tgsh_train::TaskData> = heldout
        .train_tasks
        .iter()
        .map(|&t| tgsh_train::read_task_data(&artifacts, t))
        .collect::<Result<_, _>>()?;
    if let Some(n) = images {
        for d in &mut data {
            let n = n.min(d.train_labels.len());
            d.train_images.truncate(n * tgsh_common::PIXELS);
            d.train_labels.truncate(n);
        }
    }
    let n = data[0].train_labels.len();
    let seed = pipeline.train.seeds[0];
    let model = Model::new(&pipeline.train, seed);
    let mut hyper = tgsh_train::hyper(&pipeline.train);
    if let Some(e) = max_epochs {
        hyper.epochs = e.max(1);
    }
    let patience = heldout.config.patience;
    eprintln!(
        "pilot: {}: seed {seed}, {} training tasks, {n} training images each (the last sixth validation), \
         patience {patience}, at most {} epochs",
        pipeline.name,
        heldout.train_tasks.len(),
        hyper.epochs
    );
    println!(
        "Pilot of `{}` (seed {seed}; {} training tasks, the first {n} training images of each: the last sixth validation; \
         patience {patience}, at most {} epochs): kept validation accuracy (%) and epochs to the kept one\n",
        pipeline.name,
        heldout.train_tasks.len(),
        hyper.epochs
    );
    println!("| model | step | validation | kept epoch | epochs run |\n|---|---|---|---|---|");
    let mut picks = Vec::new();
    for method in &methods {
        let candidates: &[f64] = match method.update {
            Update::Rmsprop => &RMSPROP,
            Update::Metric | Update::Sgd => &SGD,
        };
        let mut best = (f64::NEG_INFINITY, f64::NAN);
        for &lr in candidates {
            let hyper = tgsh_train::Hyper { lr: lr as f32, ..hyper };
            let mut rows = Vec::new();
            let start = std::time::Instant::now();
            let outcome = train_model(&model, *method, heldout, &data, &hyper, patience, &mut rows, &|| {});
            let (shown, kept, run) = match outcome {
                Ok((_, validation)) => {
                    if validation > best.0 {
                        best = (validation, lr);
                    }
                    let kept = rows.iter().filter(|r| r.kept > 0).map(|r| r.epoch).max().unwrap_or(0);
                    let run = rows.iter().map(|r| r.epoch).max().unwrap_or(0);
                    (format!("{:.2}", 100.0 * validation), kept.to_string(), run.to_string())
                }
                Err(e) => (format!("diverged ({e})"), "–".into(), "–".into()),
            };
            println!("| {} | {lr} | {shown} | {kept} | {run} |", method.label());
            eprintln!(
                "pilot: {} at {lr}: {shown} ({:.1} s)",
                method.label(),
                start.elapsed().as_secs_f64()
            );
        }
        picks.push((method.label(), best.1));
    }
    println!("\n```toml\n[heldout.learning_rates]");
    for (label, lr) in picks {
        println!("{label} = {lr:?}");
    }
    println!("```");
    Ok(())
}
