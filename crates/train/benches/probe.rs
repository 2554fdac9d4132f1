//! `just bench` (probe): the CPU trainer against the machine's own limit.
//!
//! The speed probe: 8 rotations of MNIST, all 60,000 training and
//! 10,000 test images, 3 epochs, 1 seed, the whole `tgsh-train` process
//! (reading the data stage's Parquet files, encoding, training, test
//! evaluation, writing the model). Useful work is counted as
//! `4 x 10 x 7840` flops per training image (forward and backward) and
//! `2 x 10 x 7840` per test image. The machine's limit is numpy's
//! single-precision matrix product (2048 x 2048, OpenBLAS, 2 threads),
//! measured in the same run, before and after each part (the mean is the
//! reference). Printed, never asserted (these machines are shared and
//! noisy: compare ratios of one run).
//!
//! Beside it, in this process: the same work by this trainer and by the
//! trainer before the compact-row kernels (the baseline, frozen in `baseline/`), and
//! the held-out trainer (joint training of manifolds) on the
//! same tasks: a circle manifold (RMSprop) and input conditioning (the
//! gated backward pass), 12,000 images per task, one epoch.

mod baseline;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;
use tgsh_common::{Artifacts, Pipeline};
use tgsh_model::{Basis, Conditioned, Decoder, InputEncoding, Model};
use tgsh_train::manifold::{self, Rule, TaskImages};
use tgsh_train::{hyper, read_task_data, train_one_task, Backend, Scratch};

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let root = root.canonicalize().expect("the repository root");
    let (pipeline, artifacts, probe) = probe_artifacts(&root);
    let work = useful_flops(&pipeline);
    println!("threads: {}", rayon::current_num_threads());
    let mut sgemms = vec![sgemm(&root)];
    let train = run_train_process(&root, &probe, &artifacts);
    sgemms.push(sgemm(&root));
    let ours_inprocess = in_process(&pipeline, &artifacts, false);
    let today = in_process(&pipeline, &artifacts, true);
    sgemms.push(sgemm(&root));
    let heldout = heldout_probe(&pipeline, &artifacts);
    sgemms.push(sgemm(&root));
    let machine = Gflops::mean(&sgemms);
    let ratio = |gflops: f64| match machine.value() {
        Some(m) => format!("{:.3} of SGEMM", gflops / m),
        None => "ratio not measured (numpy unavailable, see above)".into(),
    };
    println!(
        "probe: 8 rotations x (60,000 train + 10,000 test) images, 3 epochs, 1 seed: {:.1} GFLOP of useful work",
        work / 1e9
    );
    println!(
        "  SGEMM (numpy 2048^2 float32, 2 threads): {}",
        machine.describe(&sgemms)
    );
    let ours = work / train.seconds / 1e9;
    println!(
        "  tgsh-train, whole process:      {:>6.1} s = {ours:>6.1} GFLOP/s = {} (target >= 0.40); peak RSS {:.0} MiB (target <= 1536)",
        train.seconds,
        ratio(ours),
        train.peak_rss_mib
    );
    for (name, run) in [
        ("this trainer, in process:", &ours_inprocess),
        ("baseline kernel, in process:", &today),
    ] {
        let gflops = work / run.seconds / 1e9;
        println!(
            "  {name:<31} {:>6.1} s = {gflops:>6.1} GFLOP/s = {}; mean test accuracy {:.2} %",
            run.seconds,
            ratio(gflops),
            100.0 * run.mean_accuracy
        );
    }
    println!(
        "  speed-up over the baseline kernel (in process): {:.2}x",
        today.seconds / ours_inprocess.seconds
    );
    for run in &heldout {
        let gflops = run.flops / run.seconds / 1e9;
        println!(
            "  held-out trainer, {:<14} {:>6.1} s = {gflops:>6.1} GFLOP/s = {} (8 tasks x 12,000 images, 1 epoch)",
            format!("{}:", run.method),
            run.seconds,
            ratio(gflops)
        );
    }
}

/// One in-process pass over the probe's tasks.
struct InProcess {
    seconds: f64,
    mean_accuracy: f64,
}

/// Every task of the probe (reading its images, encoding, training, test
/// evaluation) by this trainer, or by the one before the compact-row kernels.
fn in_process(pipeline: &Pipeline, artifacts: &Artifacts, today: bool) -> InProcess {
    let model = Model::new(&pipeline.train, 0);
    let hyper = hyper(&pipeline.train);
    let tasks = pipeline.data.family.expand().len();
    let (mut scratch, mut train_rows, mut test_rows) = (Scratch::default(), Vec::new(), Vec::new());
    let mut accuracies = Vec::new();
    let start = Instant::now();
    for task in 0..tasks {
        let data = read_task_data(artifacts, task).expect("probe data");
        let accuracy = if today {
            baseline::encode_into(&model.encoder, &data.train_images, &mut train_rows);
            baseline::encode_into(&model.encoder, &data.test_images, &mut test_rows);
            let mut params = model.init_task(task);
            baseline::train_task(
                (&train_rows, &data.train_labels),
                (&test_rows, &data.test_labels),
                &model.decoder,
                &mut params,
                &hyper,
                &mut model.shuffle_rng(task),
            )
        } else {
            let mut last = 0.0;
            train_one_task(&model, task, &data, &hyper, &Backend::Cpu, &mut scratch, |_, s| {
                last = s.test_accuracy
            })
            .expect("training");
            last
        };
        accuracies.push(accuracy);
    }
    InProcess {
        seconds: start.elapsed().as_secs_f64(),
        mean_accuracy: accuracies.iter().sum::<f64>() / accuracies.len().max(1) as f64,
    }
}

/// One held-out method's run.
struct HeldoutRun {
    method: &'static str,
    seconds: f64,
    flops: f64,
}

/// The held-out trainer on the probe's tasks: images encoded minibatch by
/// minibatch, one minibatch of every task per step.
fn heldout_probe(pipeline: &Pipeline, artifacts: &Artifacts) -> Vec<HeldoutRun> {
    const IMAGES: usize = 12_000;
    let model = Model::new(&pipeline.train, 0);
    let decoder = Decoder::new(&model.decoder);
    let mut hyper = hyper(&pipeline.train);
    hyper.epochs = 1;
    let tasks = pipeline.data.family.expand().len();
    let data: Vec<_> = (0..tasks)
        .map(|t| read_task_data(artifacts, t).expect("probe data"))
        .collect();
    let images: Vec<TaskImages<'_>> = data
        .iter()
        .enumerate()
        .map(|(t, d)| TaskImages {
            s: t as f64 / tasks as f64,
            s2: 0.0,
            images: &d.train_images[..IMAGES * tgsh_common::PIXELS],
            labels: &d.train_labels[..IMAGES],
        })
        .collect();
    let flops = (tasks * IMAGES) as f64 * 4.0 * (tgsh_common::CLASSES * pipeline.train.hidden) as f64;
    [
        ("circle", Basis::Fourier { order: 1 }, InputEncoding::None),
        ("input", Basis::Constant, InputEncoding::Circle),
    ]
    .into_iter()
    .map(|(method, basis, encoding)| {
        let mut params = Conditioned::constant(basis, &model.init_shared_context(), encoding);
        let mut shuffles: Vec<_> = (0..tasks).map(|t| model.joint_shuffle_rng(t)).collect();
        let start = Instant::now();
        manifold::train_joint(
            &model.encoder,
            &decoder,
            &images,
            &mut params,
            &hyper,
            Rule::Rmsprop,
            &mut shuffles,
            |_, _, _| true,
        )
        .expect("held-out training");
        HeldoutRun {
            method,
            seconds: start.elapsed().as_secs_f64(),
            flops,
        }
    })
    .collect()
}

/// The probe's pipeline file, written under `target/` (it is not an
/// experiment of the project, so it stays out of `pipelines/`).
const PROBE: &str = r#"description = "Speed probe: 8 rotations, full data, 3 epochs, 1 seed."

[data]
[data.family]
name = "RotationMNIST"
sweep = { transform = "rotate", count = 8, step = 45.0 }

[train]
seeds = [0]
epochs = 3
"#;

/// Writes the probe pipeline and runs its data stage (skipped when up to
/// date); returns the pipeline, its artifacts and the pipeline file.
fn probe_artifacts(root: &Path) -> (Pipeline, Artifacts, PathBuf) {
    let dir = root.join("target/bench-probe");
    std::fs::create_dir_all(&dir).expect("target/bench-probe");
    let file = dir.join("probe.toml");
    if std::fs::read_to_string(&file).ok().as_deref() != Some(PROBE) {
        std::fs::write(&file, PROBE).expect("writing the probe pipeline");
    }
    let mut pipeline = Pipeline::load(&file).expect("the probe pipeline");
    pipeline.data.mnist_dir = root.join("data/mnist");
    let artifacts = Artifacts::new(&dir.join("artifacts"), &pipeline.name);
    let start = Instant::now();
    tgsh_data::run(&pipeline, &artifacts, &tgsh_common::cli::RunOptions::default()).expect("the probe's data stage");
    if start.elapsed().as_secs_f64() > 1.0 {
        println!("probe data generated in {:.1} s", start.elapsed().as_secs_f64());
    }
    (pipeline, artifacts, file)
}

/// Useful work of one train stage of `pipeline`, in flops: `4 x 10 x H`
/// per training image and epoch, `2 x 10 x H` per test image and epoch.
fn useful_flops(pipeline: &Pipeline) -> f64 {
    let tasks = pipeline.data.family.expand().len() as f64;
    let epochs = pipeline.train.epochs as f64;
    let per = (tgsh_common::CLASSES * pipeline.train.hidden) as f64;
    let train = pipeline.data.train_images.unwrap_or(60_000) as f64;
    let test = pipeline.data.test_images.unwrap_or(10_000) as f64;
    tasks * epochs * (4.0 * per * train + 2.0 * per * test)
}

/// Wall time and peak resident memory of one child process.
struct ProcessRun {
    seconds: f64,
    peak_rss_mib: f64,
}

/// Runs `tgsh-train` (this build's binary) on the probe with `--force`.
fn run_train_process(root: &Path, pipeline: &Path, artifacts: &Artifacts) -> ProcessRun {
    let mut command = Command::new(env!("CARGO_BIN_EXE_tgsh-train"));
    command
        .arg(pipeline)
        .arg("--artifacts")
        .arg(artifacts.root().parent().expect("<artifacts>/<pipeline>"))
        .arg("--force")
        .current_dir(root);
    let start = Instant::now();
    let child = command.spawn().expect("starting tgsh-train");
    let (status, peak_rss_mib) = wait_with_peak(child);
    let seconds = start.elapsed().as_secs_f64();
    assert!(status, "tgsh-train failed on the probe");
    ProcessRun { seconds, peak_rss_mib }
}

/// Waits for `child`; returns whether it succeeded and its peak resident
/// memory in MiB (`wait4`'s `ru_maxrss`, Linux; NaN elsewhere).
fn wait_with_peak(child: std::process::Child) -> (bool, f64) {
    #[cfg(target_os = "linux")]
    {
        let mut status = 0;
        // SAFETY: an all-zero rusage is valid; wait4 fills it for this child.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        // SAFETY: the pid is our own unwaited child.
        let pid = unsafe { libc::wait4(child.id() as libc::pid_t, &mut status, 0, &mut usage) };
        assert_eq!(pid, child.id() as libc::pid_t, "wait4 failed");
        let ok = libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0;
        (ok, usage.ru_maxrss as f64 / 1024.0)
    }
    #[cfg(not(target_os = "linux"))]
    {
        let mut child = child;
        (child.wait().expect("waiting for tgsh-train").success(), f64::NAN)
    }
}

/// One SGEMM measurement: GFLOP/s, or why there is none.
#[derive(Debug, Clone)]
enum Gflops {
    Measured(f64),
    Unavailable(String),
}

impl Gflops {
    fn value(&self) -> Option<f64> {
        match self {
            Gflops::Measured(v) => Some(*v),
            Gflops::Unavailable(_) => None,
        }
    }

    /// The mean of the measurements that exist.
    fn mean(runs: &[Gflops]) -> Gflops {
        let values: Vec<f64> = runs.iter().filter_map(Gflops::value).collect();
        match (values.is_empty(), runs.first()) {
            (false, _) => Gflops::Measured(values.iter().sum::<f64>() / values.len() as f64),
            (true, Some(first)) => first.clone(),
            (true, None) => Gflops::Unavailable("no measurement".into()),
        }
    }

    fn describe(&self, runs: &[Gflops]) -> String {
        match self {
            Gflops::Measured(mean) => {
                let each: Vec<String> = runs
                    .iter()
                    .filter_map(Gflops::value)
                    .map(|v| format!("{v:.1}"))
                    .collect();
                format!("{mean:.1} GFLOP/s (before and after the trainer: {})", each.join(", "))
            }
            Gflops::Unavailable(why) => format!("UNAVAILABLE: {why}"),
        }
    }
}

/// numpy's float32 2048 x 2048 product with 2 OpenBLAS threads, best of 7
/// after a warm-up, with `OPENBLAS_CORETYPE` and `OPENBLAS_L2_SIZE` unset
/// for this command only. Python: `.venv/bin/python` (`just venv`, numpy
/// pinned in workflow/requirements.txt), else `$PYTHON`, else `python3`.
fn sgemm(root: &Path) -> Gflops {
    let script = "import time, numpy as np
n = 2048
a = np.random.default_rng(0).standard_normal((n, n), dtype=np.float32)
b = np.random.default_rng(1).standard_normal((n, n), dtype=np.float32)
a @ b
times = []
for _ in range(7):
    t = time.perf_counter(); a @ b; times.append(time.perf_counter() - t)
print(2 * n**3 / min(times) / 1e9)
";
    let venv = root.join(".venv/bin/python");
    let python = if venv.exists() {
        venv
    } else {
        PathBuf::from(std::env::var("PYTHON").unwrap_or_else(|_| "python3".into()))
    };
    let output = Command::new(&python)
        .arg("-c")
        .arg(script)
        .env("OPENBLAS_NUM_THREADS", "2")
        .env_remove("OPENBLAS_CORETYPE")
        .env_remove("OPENBLAS_L2_SIZE")
        .output();
    match output {
        Ok(out) if out.status.success() => match String::from_utf8_lossy(&out.stdout).trim().parse::<f64>() {
            Ok(v) => Gflops::Measured(v),
            Err(_) => Gflops::Unavailable(format!("{} printed no figure", python.display())),
        },
        Ok(out) => Gflops::Unavailable(format!(
            "{} could not run the numpy product (run `just venv` for a venv with numpy): {}",
            python.display(),
            String::from_utf8_lossy(&out.stderr).lines().last().unwrap_or("")
        )),
        Err(e) => Gflops::Unavailable(format!("{}: {e} (run `just venv`)", python.display())),
    }
}
