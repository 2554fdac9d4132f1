//! Stage 4, `report`: figures and one HTML page per pipeline.
//!
//! Reads every upstream artifact (tasks, test images, metrics, similarity),
//! builds the tables with polars and the figures with plotters ([`figures`]:
//! PNG and SVG, fixed colour ranges), and writes `report/index.html`, which
//! links everything by relative path so the folder can be copied or served
//! as it is.
#![deny(missing_docs)]

pub mod figures;
pub mod heldout;
pub mod heldout_figures;

use polars::prelude::*;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;
use tgsh_common::schema;
use tgsh_common::{Artifacts, Pipeline, Stage, StageRun, PIXELS, SIDE};

/// Errors of the report stage.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// Reading inputs or writing artifacts failed.
    #[error(transparent)]
    Common(#[from] tgsh_common::Error),
    /// polars could not read or shape a table.
    #[error("{path}: {source}")]
    Polars {
        /// The file.
        path: String,
        /// The error.
        source: PolarsError,
    },
    /// A figure could not be drawn.
    #[error(transparent)]
    Figure(#[from] figures::FigureError),
    /// `--check-min-accuracy` found tasks below the bar.
    #[error("accuracy check failed: {0}")]
    Check(String),
    /// Writing the page failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The error.
        source: std::io::Error,
    },
}

fn read_frame(path: &Path) -> Result<DataFrame, ReportError> {
    let wrap = |source: PolarsError| ReportError::Polars {
        path: path.display().to_string(),
        source,
    };
    let file = std::fs::File::open(path).map_err(|source| ReportError::Io {
        path: path.display().to_string(),
        source,
    })?;
    ParquetReader::new(file).finish().map_err(wrap)
}

/// The seed shards' tables of one name, stacked (they share a schema).
fn read_frames(paths: &[std::path::PathBuf]) -> Result<DataFrame, ReportError> {
    let mut frames = paths.iter().map(|p| read_frame(p));
    let mut out = frames.next().unwrap_or_else(|| Ok(DataFrame::empty()))?;
    for (frame, path) in frames.zip(&paths[1..]) {
        out.vstack_mut(&frame?).map_err(|source| ReportError::Polars {
            path: path.display().to_string(),
            source,
        })?;
    }
    Ok(out)
}

/// Final-epoch test accuracy per (seed, task), from `metrics.parquet`.
pub struct Accuracy {
    /// Seeds, ascending.
    pub seeds: Vec<u64>,
    /// `accuracy[s][t]`: seed `seeds[s]`, task `t`.
    pub by_seed: Vec<Vec<f64>>,
    /// The polars table: task, one column per seed, mean.
    pub table: DataFrame,
}

/// Reads the seeds' `metrics.parquet` and keeps each (seed, task)'s last epoch.
pub fn final_accuracy(paths: &[std::path::PathBuf], tasks: usize) -> Result<Accuracy, ReportError> {
    let path = paths
        .first()
        .map(|p| p.as_path())
        .unwrap_or(Path::new("metrics.parquet"));
    let wrap = |source: PolarsError| ReportError::Polars {
        path: path.display().to_string(),
        source,
    };
    let df = read_frames(paths)?;
    let seed = df.column("seed").and_then(|c| c.u64().cloned()).map_err(wrap)?;
    let task = df
        .column("task")
        .and_then(|c| c.cast(&DataType::UInt32))
        .map_err(wrap)?;
    let task = task.u32().map_err(wrap)?;
    let epoch = df.column("epoch").and_then(|c| c.u32().cloned()).map_err(wrap)?;
    let acc = df
        .column("test_accuracy")
        .and_then(|c| c.f64().cloned())
        .map_err(wrap)?;
    let mut seeds: Vec<u64> = seed.into_no_null_iter().collect();
    seeds.sort_unstable();
    seeds.dedup();
    let mut by_seed = vec![vec![f64::NAN; tasks]; seeds.len()];
    let mut last_epoch = vec![vec![0u32; tasks]; seeds.len()];
    for (((s, t), e), a) in seed
        .into_no_null_iter()
        .zip(task.into_no_null_iter())
        .zip(epoch.into_no_null_iter())
        .zip(acc.into_no_null_iter())
    {
        let si = seeds.binary_search(&s).expect("seed listed");
        let t = t as usize;
        if t < tasks && e >= last_epoch[si][t] {
            last_epoch[si][t] = e;
            by_seed[si][t] = a;
        }
    }
    let mut columns = vec![Column::new("task".into(), (0..tasks as u32).collect::<Vec<_>>())];
    for (s, values) in seeds.iter().zip(&by_seed) {
        columns.push(Column::new(
            format!("seed {s}").into(),
            values.iter().map(|a| 100.0 * a).collect::<Vec<_>>(),
        ));
    }
    let mean: Vec<f64> = (0..tasks)
        .map(|t| 100.0 * by_seed.iter().map(|v| v[t]).sum::<f64>() / by_seed.len().max(1) as f64)
        .collect();
    columns.push(Column::new("mean".into(), mean));
    let table = DataFrame::new_infer_height(columns).map_err(wrap)?;
    Ok(Accuracy { seeds, by_seed, table })
}

/// Mean test accuracy and training loss over tasks, per seed and epoch.
pub struct LearningCurve {
    /// Epochs, 1-based, ascending.
    pub epochs: Vec<u32>,
    /// `(seed, mean test accuracy per epoch, mean loss per epoch)`.
    pub seeds: Vec<(u64, Vec<f64>, Vec<f64>)>,
}

/// Reads the seeds' `metrics.parquet` and averages over tasks per (seed, epoch).
pub fn learning_curve(paths: &[std::path::PathBuf]) -> Result<LearningCurve, ReportError> {
    let path = paths
        .first()
        .map(|p| p.as_path())
        .unwrap_or(Path::new("metrics.parquet"));
    let wrap = |source: PolarsError| ReportError::Polars {
        path: path.display().to_string(),
        source,
    };
    let df = read_frames(paths)?;
    let seed = df.column("seed").and_then(|c| c.u64().cloned()).map_err(wrap)?;
    let epoch = df.column("epoch").and_then(|c| c.u32().cloned()).map_err(wrap)?;
    let acc = df
        .column("test_accuracy")
        .and_then(|c| c.f64().cloned())
        .map_err(wrap)?;
    let loss = df.column("loss").and_then(|c| c.f64().cloned()).map_err(wrap)?;
    let mut seeds: Vec<u64> = seed.into_no_null_iter().collect();
    seeds.sort_unstable();
    seeds.dedup();
    let mut epochs: Vec<u32> = epoch.into_no_null_iter().collect();
    epochs.sort_unstable();
    epochs.dedup();
    let cell = |s: u64, e: u32| seeds.binary_search(&s).unwrap() * epochs.len() + epochs.binary_search(&e).unwrap();
    let mut sums = vec![(0.0, 0.0, 0usize); seeds.len() * epochs.len()];
    for (((s, e), a), l) in seed
        .into_no_null_iter()
        .zip(epoch.into_no_null_iter())
        .zip(acc.into_no_null_iter())
        .zip(loss.into_no_null_iter())
    {
        let c = &mut sums[cell(s, e)];
        *c = (c.0 + a, c.1 + l, c.2 + 1);
    }
    let seeds = seeds
        .iter()
        .map(|&s| {
            let of = |f: &dyn Fn(&(f64, f64, usize)) -> f64| {
                epochs.iter().map(|&e| f(&sums[cell(s, e)])).collect::<Vec<_>>()
            };
            (
                s,
                of(&|c| 100.0 * c.0 / c.2.max(1) as f64),
                of(&|c| c.1 / c.2.max(1) as f64),
            )
        })
        .collect();
    Ok(LearningCurve { epochs, seeds })
}

/// Every `n x n` similarity matrix of the seeds' `similarity.parquet`, by (seed, state).
pub fn similarities(paths: &[std::path::PathBuf], n: usize) -> Result<BTreeMap<(u64, String), Vec<f64>>, ReportError> {
    let mut out = BTreeMap::new();
    for path in paths {
        out.extend(schema::similarity_matrices(path, n)?);
    }
    Ok(out)
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

fn html_table(df: &DataFrame, names: &[String]) -> String {
    let mut html = String::from("<table>\n<tr><th>task</th><th>name</th>");
    for c in df.get_column_names().iter().skip(1) {
        let _ = write!(html, "<th>{} test acc. (%)</th>", html_escape(c));
    }
    html.push_str("</tr>\n");
    for (row, name) in names.iter().enumerate().take(df.height()) {
        let _ = write!(html, "<tr><td>{row}</td><td>{}</td>", html_escape(name));
        for column in df.columns().iter().skip(1) {
            let v = column.f64().ok().and_then(|c| c.get(row)).unwrap_or(f64::NAN);
            let _ = write!(html, "<td>{v:.2}</td>");
        }
        html.push_str("</tr>\n");
    }
    html.push_str("</table>\n");
    html
}

/// Runs the report stage; with `min_accuracy`, then checks that the page
/// exists and that every (seed, task) reached that final test accuracy.
pub fn run(
    pipeline: &Pipeline,
    artifacts: &Artifacts,
    force: bool,
    min_accuracy: Option<f64>,
) -> Result<(), ReportError> {
    if pipeline.heldout.is_some() {
        return heldout::run(pipeline, artifacts, force, min_accuracy);
    }
    let mut inputs = vec![artifacts.tasks(), artifacts.test_images()];
    inputs.extend(metrics_files(pipeline, artifacts));
    inputs.extend(similarity_files(pipeline, artifacts));
    let params = (&pipeline.report, &pipeline.description);
    let stage = StageRun::new(Stage::Report, artifacts, &params, inputs)?;
    if stage.should_run(force)? {
        let dir = stage.begin()?;
        build(pipeline, artifacts, &dir)?;
        stage.commit()?;
        eprintln!("report: wrote {}", artifacts.report_page().display());
    }
    if let Some(bar) = min_accuracy {
        check(pipeline, artifacts, bar)?;
    }
    Ok(())
}

fn metrics_files(pipeline: &Pipeline, artifacts: &Artifacts) -> Vec<std::path::PathBuf> {
    pipeline.train.seeds.iter().map(|&s| artifacts.metrics(s)).collect()
}

fn similarity_files(pipeline: &Pipeline, artifacts: &Artifacts) -> Vec<std::path::PathBuf> {
    pipeline
        .train
        .seeds
        .iter()
        .map(|&s| artifacts.analysis(s, "similarity.parquet"))
        .collect()
}

fn check(pipeline: &Pipeline, artifacts: &Artifacts, bar: f64) -> Result<(), ReportError> {
    let page = artifacts.report_page();
    if !page.exists() {
        return Err(ReportError::Check(format!("{} does not exist", page.display())));
    }
    let tasks = schema::read_parquet(&artifacts.tasks(), &schema::tasks_schema())?.num_rows();
    let acc = final_accuracy(&metrics_files(pipeline, artifacts), tasks)?;
    let mut failures = Vec::new();
    for (seed, values) in acc.seeds.iter().zip(&acc.by_seed) {
        for (t, &a) in values.iter().enumerate() {
            if a.is_nan() || a < bar {
                failures.push(format!("seed {seed} task {t}: {:.2} %", 100.0 * a));
            }
        }
    }
    if failures.is_empty() {
        eprintln!(
            "report: check passed: {} exists; all {} task(s) x {} seed(s) at or above {:.1} % test accuracy",
            page.display(),
            tasks,
            acc.seeds.len(),
            100.0 * bar
        );
        Ok(())
    } else {
        Err(ReportError::Check(format!(
            "below {:.1} %: {}",
            100.0 * bar,
            failures.join(", ")
        )))
    }
}

fn build(pipeline: &Pipeline, artifacts: &Artifacts, dir: &Path) -> Result<(), ReportError> {
    let tasks_table = schema::read_parquet(&artifacts.tasks(), &schema::tasks_schema())?;
    let names = tasks_table.strings("name")?;
    let family = tasks_table.meta("family")?.to_string();
    let n = names.len();
    let short: Vec<String> = (0..n).map(|t| t.to_string()).collect();
    // Task names fit on the heatmap axes of small families (AugmentMNIST's "T7 invert").
    let axis = if n <= 12 { names.clone() } else { short.clone() };

    let acc = final_accuracy(&metrics_files(pipeline, artifacts), n)?;
    println!("{family}: final test accuracy (%) per task\n{}", acc.table);
    let series: Vec<(String, Vec<f64>)> = acc
        .seeds
        .iter()
        .zip(&acc.by_seed)
        .map(|(s, v)| (format!("seed {s}"), v.iter().map(|a| 100.0 * a).collect()))
        .collect();
    figures::line_chart(
        &dir.join("accuracy"),
        &format!("{family}: test accuracy after training"),
        "task",
        "test accuracy (%)",
        &short,
        &series,
        None,
    )?;

    let curve = learning_curve(&metrics_files(pipeline, artifacts))?;
    let epoch_ticks: Vec<String> = curve.epochs.iter().map(|e| e.to_string()).collect();
    figures::line_chart(
        &dir.join("learning_curve"),
        &format!("{family}: mean over tasks, per epoch"),
        "epoch",
        "mean test accuracy (%)",
        &epoch_ticks,
        &curve
            .seeds
            .iter()
            .map(|(s, a, _)| (format!("seed {s}"), a.clone()))
            .collect::<Vec<_>>(),
        None,
    )?;
    figures::line_chart(
        &dir.join("loss_curve"),
        &format!("{family}: mean training loss over tasks, per epoch"),
        "epoch",
        "cross-entropy",
        &epoch_ticks,
        &curve
            .seeds
            .iter()
            .map(|(s, _, l)| (format!("seed {s}"), l.clone()))
            .collect::<Vec<_>>(),
        None,
    )?;

    let mut sims = String::new();
    let mut sum_over_seeds = [vec![0f64; n * n], vec![0f64; n * n]];
    let matrices = similarities(&similarity_files(pipeline, artifacts), n)?;
    for &seed in &acc.seeds {
        for (s, state) in ["before", "after"].into_iter().enumerate() {
            let m = matrices
                .get(&(seed, state.to_string()))
                .cloned()
                .unwrap_or_else(|| vec![f64::NAN; n * n]);
            for (total, v) in sum_over_seeds[s].iter_mut().zip(&m) {
                *total += v / acc.seeds.len() as f64;
            }
            let stem = format!("similarity_{state}_seed{seed}");
            figures::heatmap(
                &dir.join(&stem),
                &format!("Context similarity {state} training (seed {seed})"),
                &m,
                n,
                &axis,
                (0.0, 1.0),
            )?;
            let _ = writeln!(
                sims,
                "<figure><img src=\"{stem}.png\" alt=\"{stem}\"><figcaption>{state} training, seed {seed} (<a href=\"{stem}.svg\">SVG</a>)</figcaption></figure>"
            );
        }
    }
    if acc.seeds.len() > 1 {
        for (state, m) in ["before", "after"].into_iter().zip(&sum_over_seeds) {
            let stem = format!("similarity_{state}_mean");
            figures::heatmap(
                &dir.join(&stem),
                &format!(
                    "Context similarity {state} training (mean of {} seeds)",
                    acc.seeds.len()
                ),
                m,
                n,
                &axis,
                (0.0, 1.0),
            )?;
            let _ = writeln!(
                sims,
                "<figure><img src=\"{stem}.png\" alt=\"{stem}\"><figcaption>{state} training, mean over seeds (<a href=\"{stem}.svg\">SVG</a>)</figcaption></figure>"
            );
        }
    }

    let k = pipeline.report.samples_per_task;
    let mut images = Vec::with_capacity(n * k);
    for t in 0..n {
        let table = schema::read_task(&artifacts.test_images(), &schema::images_schema(), t as u16)?;
        let pixels = table.images()?;
        for i in 0..k {
            images.push(
                pixels
                    .get(i * PIXELS..(i + 1) * PIXELS)
                    .map(|p| p.to_vec())
                    .unwrap_or_else(|| vec![0; PIXELS]),
            );
        }
    }
    figures::image_grid(
        &dir.join("samples"),
        &format!("{family}: the same test digits under every task"),
        &images,
        SIDE,
        n,
        k,
        &names,
    )?;

    let means: Vec<f64> = acc
        .by_seed
        .iter()
        .map(|v| 100.0 * v.iter().sum::<f64>() / v.len().max(1) as f64)
        .collect();
    let mut summary = String::new();
    for (s, m) in acc.seeds.iter().zip(&means) {
        let _ = write!(
            summary,
            "<li>seed {s}: mean test accuracy over {n} tasks <b>{m:.2} %</b></li>"
        );
    }
    let page = format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>body{{font-family:sans-serif;max-width:1100px;margin:2em auto;padding:0 1em}}
figure{{display:inline-block;margin:0.5em}} img{{max-width:520px}} table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:2px 8px;text-align:right}}</style></head>
<body>
<h1>{title}</h1>
<p>{description}</p>
<p>Pipeline <code>{pipeline}</code>, tgsh {version}. Artifacts: <code>{root}</code>.</p>
<h2>Test accuracy</h2>
<ul>{summary}</ul>
<figure><img src="accuracy.png" alt="accuracy"><figcaption>Final test accuracy per task (<a href="accuracy.svg">SVG</a>)</figcaption></figure>
{table}
<figure><img src="learning_curve.png" alt="learning curve"><figcaption>Mean test accuracy over tasks after each epoch (<a href="learning_curve.svg">SVG</a>)</figcaption></figure>
<figure><img src="loss_curve.png" alt="loss curve"><figcaption>Mean training loss over tasks per epoch (<a href="loss_curve.svg">SVG</a>)</figcaption></figure>
<h2>Context-vector similarity</h2>
<p>Cosine similarity of every pair of context vectors <i>c<sub>t</sub> = s<sub>t</sub> m<sub>t</sub></i>, colour scale fixed to 0..1.</p>
{sims}
<h2>Sample digits</h2>
<figure><img src="samples.png" alt="samples"><figcaption>The first {k} test digits under every task (<a href="samples.svg">SVG</a>)</figcaption></figure>
</body></html>
"#,
        title = html_escape(&family),
        description = html_escape(&pipeline.description),
        pipeline = html_escape(&pipeline.name),
        version = tgsh_common::VERSION,
        root = html_escape(&artifacts.root().display().to_string()),
        table = html_table(&acc.table, &names),
    );
    let path = dir.join("index.html");
    std::fs::write(&path, page).map_err(|source| ReportError::Io {
        path: path.display().to_string(),
        source,
    })
}
