//! The report page of a held-out pipeline (`[heldout]`): the comparison
//! table (method x seen/interpolated/extrapolated, mean and 95 % interval
//! across seeds), accuracy as a function of the task variable per method
//! with the training tasks marked, the learned circle's contexts against
//! the CRWN's per-task contexts, and the claims of "Walking the Weight
//! Manifold" with their verdicts, stated in words with the numbers whether
//! they pass or not. Every number comes from `analyze/summary/`, which the
//! page links.

use crate::figures::{self, FigureError};
use crate::heldout_figures::{accuracy_curves, AccuracyCurves, Curve};
use crate::ReportError;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use tgsh_common::config::Split;
use tgsh_common::schema::{self, analysis};
use tgsh_common::{Artifacts, Pipeline, Stage, StageRun};

/// The summary tables the page shows.
const SUMMARY_FILES: [&str; 5] = [
    "heldout.parquet",
    "heldout_curve.parquet",
    "claims.parquet",
    "context_cosine.parquet",
    "statistics.parquet",
];

/// Runs the report stage of a held-out pipeline; with `min_accuracy`, then
/// checks that the CRWN reached it on every training task of every seed.
pub fn run(
    pipeline: &Pipeline,
    artifacts: &Artifacts,
    force: bool,
    min_accuracy: Option<f64>,
) -> Result<(), ReportError> {
    let mut inputs = vec![artifacts.tasks()];
    inputs.extend(SUMMARY_FILES.iter().map(|f| artifacts.summary(f)));
    inputs.extend(seed_tables(pipeline, artifacts));
    let params = (&pipeline.report, &pipeline.description, &pipeline.heldout);
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

fn seed_tables(pipeline: &Pipeline, artifacts: &Artifacts) -> Vec<PathBuf> {
    pipeline
        .train
        .seeds
        .iter()
        .map(|&s| artifacts.analysis(s, "heldout.parquet"))
        .collect()
}

/// Every seed's CRWN (`points-nearest`; every method when there is none)
/// on every training task must reach `bar`.
fn check(pipeline: &Pipeline, artifacts: &Artifacts, bar: f64) -> Result<(), ReportError> {
    let page = artifacts.report_page();
    if !page.exists() {
        return Err(ReportError::Check(format!("{} does not exist", page.display())));
    }
    let mut failures = Vec::new();
    let mut checked = 0;
    for path in seed_tables(pipeline, artifacts) {
        let table = schema::read_parquet(&path, &analysis::heldout_schema())?;
        let methods = table.strings("method")?;
        let splits = table.strings("split")?;
        let seeds = table.primitive::<arrow::datatypes::UInt64Type>("seed")?;
        let tasks = table.primitive::<arrow::datatypes::UInt16Type>("task")?;
        let accuracy = table.primitive::<arrow::datatypes::Float64Type>("accuracy")?;
        let crwn = methods.iter().any(|m| m == "points-nearest");
        for k in 0..methods.len() {
            if splits[k] == "seen" && (!crwn || methods[k] == "points-nearest") {
                checked += 1;
                if accuracy[k].is_nan() || accuracy[k] < bar {
                    failures.push(format!(
                        "seed {} task {} {}: {:.2} %",
                        seeds[k],
                        tasks[k],
                        methods[k],
                        100.0 * accuracy[k]
                    ));
                }
            }
        }
    }
    if failures.is_empty() {
        eprintln!(
            "report: check passed: {} exists; {checked} (seed, training task) accuracies at or above {:.1} %",
            page.display(),
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

/// One row of `summary/heldout.parquet`.
struct Row {
    method: String,
    topology: String,
    basis: String,
    update: String,
    parameters: u64,
    split: String,
    tasks: u32,
    mean: f64,
    low: f64,
    high: f64,
    seeds: u32,
}

fn read_table(path: &Path) -> Result<Vec<Row>, ReportError> {
    let t = schema::read_parquet(path, &analysis::heldout_summary_schema())?;
    let (method, topology, basis, update, split) = (
        t.strings("method")?,
        t.strings("topology")?,
        t.strings("basis")?,
        t.strings("update")?,
        t.strings("split")?,
    );
    let parameters = t.primitive::<arrow::datatypes::UInt64Type>("parameters")?;
    let tasks = t.primitive::<arrow::datatypes::UInt32Type>("tasks")?;
    let seeds = t.primitive::<arrow::datatypes::UInt32Type>("seeds")?;
    let f = |c: &str| t.primitive::<arrow::datatypes::Float64Type>(c);
    let (mean, low, high) = (f("mean")?, f("ci_low")?, f("ci_high")?);
    Ok((0..method.len())
        .map(|k| Row {
            method: method[k].clone(),
            topology: topology[k].clone(),
            basis: basis[k].clone(),
            update: update[k].clone(),
            parameters: parameters[k],
            split: split[k].clone(),
            tasks: tasks[k],
            mean: mean[k],
            low: low[k],
            high: high[k],
            seeds: seeds[k],
        })
        .collect())
}

/// `[method] -> (task, s, split, mean accuracy)` from `heldout_curve.parquet`.
type Curves = Vec<(String, Vec<(usize, f64, String, f64)>)>;

fn read_curves(path: &Path) -> Result<Curves, ReportError> {
    let t = schema::read_parquet(path, &analysis::heldout_curve_schema())?;
    let (method, split) = (t.strings("method")?, t.strings("split")?);
    let task = t.primitive::<arrow::datatypes::UInt16Type>("task")?;
    let s = t.primitive::<arrow::datatypes::Float64Type>("s")?;
    let mean = t.primitive::<arrow::datatypes::Float64Type>("mean")?;
    let mut out: Curves = Vec::new();
    for k in 0..method.len() {
        if out.last().is_none_or(|(m, _)| *m != method[k]) {
            out.push((method[k].clone(), Vec::new()));
        }
        let point = (task[k] as usize, s[k], split[k].clone(), mean[k]);
        out.last_mut().expect("pushed").1.push(point);
    }
    Ok(out)
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

fn percent(v: f64) -> String {
    if v.is_finite() {
        format!("{:.2}", 100.0 * v)
    } else {
        "–".into()
    }
}

fn interval(mean: f64, low: f64, high: f64) -> String {
    format!("{} [{}, {}]", percent(mean), percent(low), percent(high))
}

/// A difference already in percentage points (the claims table's unit).
fn points(v: f64) -> String {
    if v.is_finite() {
        format!("{v:+.2}")
    } else {
        "–".into()
    }
}

fn figure_html(stem: &str, caption: &str) -> String {
    format!(
        "<figure><img src=\"{stem}.png\" alt=\"{stem}\"><figcaption>{caption} (<a href=\"{stem}.svg\">SVG</a>)</figcaption></figure>\n"
    )
}

fn build(pipeline: &Pipeline, artifacts: &Artifacts, dir: &Path) -> Result<(), ReportError> {
    let heldout = pipeline.heldout.as_ref().expect("a held-out pipeline");
    let family = &pipeline.data.family;
    let tasks_table = schema::read_parquet(&artifacts.tasks(), &schema::tasks_schema())?;
    let names = tasks_table.strings("name")?;
    let family_name = tasks_table.meta("family")?.to_string();
    let n = names.len();
    let period = family.period().expect("validated: a sweep");
    let step = family.sweep.as_ref().map_or(1.0, |s| s.step);
    let unit = if period == 360.0 {
        "rotation (degrees)"
    } else {
        "shift (pixels)"
    };
    let splits = heldout.splits(n);
    let trained = heldout.train_tasks(n);
    let rows = read_table(&artifacts.summary("heldout.parquet"))?;
    let curves = read_curves(&artifacts.summary("heldout_curve.parquet"))?;

    // Accuracy as a function of the task variable.
    let x_of = |s: f64| s * period;
    let all_s = family.task_variables().expect("a sweep");
    let seen_x: Vec<f64> = trained.iter().map(|&t| x_of(all_s[t])).collect();
    let extrapolated_x: Vec<f64> = (0..n)
        .filter(|&t| splits[t] == Split::Extrapolated)
        .map(|t| x_of(all_s[t]))
        .collect();
    let curve = |name: &str| -> Option<Curve> {
        let (_, points) = curves.iter().find(|(m, _)| m == name)?;
        let mut xy: Vec<(f64, f64)> = points.iter().map(|p| (x_of(p.1), 100.0 * p.3)).collect();
        xy.sort_by(|a, b| a.0.total_cmp(&b.0));
        Some((name.to_string(), xy))
    };
    let methods: Vec<String> = curves.iter().map(|(m, _)| m.clone()).collect();
    let main: Vec<Curve> = methods
        .iter()
        .filter(|m| !m.ends_with("-metric"))
        .filter_map(|m| curve(m))
        .collect();
    let updates: Vec<Curve> = methods
        .iter()
        .filter(|m| m.ends_with("-metric") || methods.contains(&format!("{m}-metric")))
        .filter_map(|m| curve(m))
        .collect();
    let draw = |stem: &str, title: String, series: &[Curve]| -> Result<(), ReportError> {
        accuracy_curves(
            &dir.join(stem),
            &AccuracyCurves {
                title: &title,
                x_label: unit,
                x_range: (0.0, period),
                curves: series,
                seen: &seen_x,
                extrapolated: &extrapolated_x,
                step,
            },
        )
        .map_err(|e| {
            ReportError::Figure(FigureError::Drawing {
                path: PathBuf::from(e.path),
                message: e.message,
            })
        })
    };
    draw(
        "heldout_accuracy",
        format!(
            "{family_name}: test accuracy per task, mean of {} seeds",
            pipeline.train.seeds.len()
        ),
        &main,
    )?;
    let mut figures_html = figure_html(
        "heldout_accuracy",
        "Test accuracy as a function of the task variable; dots and grey lines mark the training tasks, the shaded band the extrapolated ones. Baselines and manifolds trained with RMSprop; <code>points-*</code> is the CRWN",
    );
    if !updates.is_empty() {
        draw(
            "heldout_updates",
            format!("{family_name}: RMSprop vs the metric-preconditioned update"),
            &updates,
        )?;
        figures_html.push_str(&figure_html(
            "heldout_updates",
            "Each manifold trained with RMSprop and with the paper's metric-preconditioned SGD (<code>-metric</code>)",
        ));
    }

    // The comparison table: one row per method, one column per split.
    let split_names: Vec<String> = {
        let mut s: Vec<String> = Vec::new();
        for r in &rows {
            if !s.contains(&r.split) {
                s.push(r.split.clone());
            }
        }
        s
    };
    let mut table =
        String::from("<table>\n<tr><th>method</th><th>topology</th><th>basis</th><th>update</th><th>parameters</th>");
    for split in &split_names {
        let count = rows.iter().find(|r| &r.split == split).map_or(0, |r| r.tasks);
        let _ = write!(table, "<th>{split} ({count} tasks): mean [95 % CI] (%)</th>");
    }
    table.push_str("</tr>\n");
    for method in &methods {
        let Some(first) = rows.iter().find(|r| &r.method == method) else {
            continue;
        };
        let _ = write!(
            table,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>",
            html_escape(method),
            html_escape(&first.topology),
            html_escape(&first.basis),
            html_escape(&first.update),
            first.parameters
        );
        for split in &split_names {
            let cell = rows
                .iter()
                .find(|r| &r.method == method && &r.split == split)
                .map_or("–".to_string(), |r| interval(r.mean, r.low, r.high));
            let _ = write!(table, "<td>{cell}</td>");
        }
        table.push_str("</tr>\n");
    }
    table.push_str("</table>\n");
    let seeds = rows.first().map_or(0, |r| r.seeds);

    // The claims, and what they say in words.
    let claims = schema::read_parquet(&artifacts.summary("claims.parquet"), &analysis::claims_schema())?;
    let (ids, texts, verdicts, notes, figures_col, sections) = (
        claims.strings("id")?,
        claims.strings("claim")?,
        claims.strings("verdict")?,
        claims.strings("note")?,
        claims.strings("figure")?,
        claims.strings("section")?,
    );
    let f = |c: &str| claims.primitive::<arrow::datatypes::Float64Type>(c);
    let (means, lows, highs) = (f("mean")?, f("ci_low")?, f("ci_high")?);
    // The paper's claims, then this project's own questions apart.
    let mut claims_html = String::new();
    for (section, heading) in [
        ("paper", "The paper's claims"),
        ("beyond", "Beyond the paper: this project's own question"),
    ] {
        let rows: Vec<usize> = (0..ids.len()).filter(|&k| sections[k] == section).collect();
        if rows.is_empty() {
            continue;
        }
        let _ = writeln!(
            claims_html,
            "<h3>{heading}</h3>\n<table>\n<tr><th>claim</th><th>source</th><th>difference (percentage points) [95 % interval across seeds]</th><th>verdict</th><th>statistic</th></tr>"
        );
        for k in rows {
            let _ = writeln!(
                claims_html,
                "<tr><td>{}</td><td>{}</td><td>{} [{}, {}]</td><td><b>{}</b></td><td>{}</td></tr>",
                html_escape(&texts[k]),
                html_escape(&figures_col[k]),
                points(means[k]),
                points(lows[k]),
                points(highs[k]),
                verdicts[k],
                html_escape(&notes[k])
            );
        }
        claims_html.push_str("</table>\n");
    }
    let mut verdict_text = String::new();
    let accuracy = |method: &str, split: &str| {
        rows.iter()
            .find(|r| r.method == method && r.split == split)
            .map(|r| interval(r.mean, r.low, r.high))
    };
    for split in ["interpolated", "extrapolated"] {
        let id = format!("manifold-beats-input-{split}");
        let Some(k) = ids.iter().position(|i| *i == id) else {
            continue;
        };
        let (Some(circle), Some(input)) = (accuracy("circle", split), accuracy("input", split)) else {
            continue;
        };
        let said = match verdicts[k].as_str() {
            "pass" => "the circle <b>beats</b> input conditioning: the whole interval of the difference is above 0",
            "fail" => "the circle does <b>not</b> beat input conditioning: input conditioning is better, the whole interval of the difference is below 0",
            _ => "the data do <b>not</b> show that the circle beats input conditioning: the interval of the difference includes 0",
        };
        // The context: how good the best method is there, and the CRWN.
        let best = rows
            .iter()
            .filter(|r| r.split == split && r.mean.is_finite())
            .max_by(|a, b| a.mean.total_cmp(&b.mean))
            .map(|r| {
                format!(
                    "The best method there is <code>{}</code> at {} %",
                    r.method,
                    percent(r.mean)
                )
            })
            .unwrap_or_default();
        let crwn = accuracy("points-interp", split)
            .map(|a| format!("; the CRWN's points, interpolated, reach {a} %"))
            .unwrap_or_default();
        let _ = write!(
            verdict_text,
            "<li>On the {split} tasks the circle (RMSprop) reaches {circle} % and input conditioning {input} %: {said} ({} points, 95 % interval [{}, {}] across {}). {best}{crwn} (chance: 10 %).</li>",
            points(means[k]),
            points(lows[k]),
            points(highs[k]),
            tgsh_common::plural(seeds as usize, "seed"),
        );
    }

    // The learned circle's contexts against the CRWN's.
    let cos = schema::read_parquet(
        &artifacts.summary("context_cosine.parquet"),
        &analysis::context_cosine_summary_schema(),
    )?;
    let (cm, ck) = (cos.strings("method")?, cos.strings("kind")?);
    let (ci, cj) = (
        cos.primitive::<arrow::datatypes::UInt16Type>("task_i")?,
        cos.primitive::<arrow::datatypes::UInt16Type>("task_j")?,
    );
    let cv = cos.primitive::<arrow::datatypes::Float64Type>("mean")?;
    let t = trained.len();
    let position: BTreeMap<usize, usize> = trained.iter().enumerate().map(|(p, &t)| (t, p)).collect();
    let matrix = |method: &str, kind: &str| -> Option<Vec<f64>> {
        let mut m = vec![f64::NAN; t * t];
        let mut found = false;
        for k in 0..cm.len() {
            if cm[k] == method && ck[k] == kind {
                if let (Some(&i), Some(&j)) = (position.get(&(ci[k] as usize)), position.get(&(cj[k] as usize))) {
                    m[i * t + j] = cv[k];
                    found = true;
                }
            }
        }
        found.then_some(m)
    };
    let labels: Vec<String> = trained.iter().map(|&k| names[k].clone()).collect();
    let mut context_html = String::new();
    for (method, kind, stem, title) in [
        ("points", "self", "context_crwn", "CRWN: cos(c_i, c_j)".to_string()),
        (
            "circle",
            "self",
            "context_circle",
            "circle: cos(c(s_i), c(s_j))".to_string(),
        ),
        (
            "circle",
            "crwn",
            "context_circle_vs_crwn",
            "circle vs CRWN: cos(c(s_i), c_j)".to_string(),
        ),
    ] {
        if let Some(m) = matrix(method, kind) {
            if m.iter().all(|v| v.is_finite()) {
                figures::heatmap_with(
                    &dir.join(stem),
                    &title,
                    &m,
                    t,
                    &labels,
                    figures::HeatmapOptions {
                        colormap: figures::Colormap::Diverging,
                        range: (-1.0, 1.0),
                        tree: None,
                    },
                )?;
                context_html.push_str(&figure_html(stem, &format!("{title}, training tasks, mean over seeds")));
            }
        }
    }
    let stats = schema::read_parquet(
        &artifacts.summary("statistics.parquet"),
        &analysis::summary_statistics_schema(),
    )?;
    let (sn, smean, slow, shigh) = (
        stats.strings("statistic")?,
        stats.primitive::<arrow::datatypes::Float64Type>("mean")?,
        stats.primitive::<arrow::datatypes::Float64Type>("ci_low")?,
        stats.primitive::<arrow::datatypes::Float64Type>("ci_high")?,
    );
    let mut context_table = String::from(
        "<table>\n<tr><th>method</th><th>cos with the CRWN's context of the same task</th><th>cos with the CRWN's other tasks</th><th>correlation of the two similarity matrices</th></tr>\n",
    );
    for method in methods.iter().filter(|m| !m.starts_with("points")) {
        let cell = |name: &str| {
            sn.iter()
                .position(|s| *s == format!("context.{name}[{method}]"))
                .filter(|&k| smean[k].is_finite())
                .map_or("–".to_string(), |k| {
                    format!("{:.3} [{:.3}, {:.3}]", smean[k], slow[k], shigh[k])
                })
        };
        let _ = writeln!(
            context_table,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            html_escape(method),
            cell("crwn_same_task"),
            cell("crwn_other_task"),
            cell("geometry_correlation")
        );
    }
    context_table.push_str("</table>\n");

    let links: String = SUMMARY_FILES
        .iter()
        .map(|f| format!("<li><a href=\"../analyze/summary/{f}\"><code>analyze/summary/{f}</code></a></li>"))
        .collect();
    let page = format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}: held-out tasks</title>
<style>body{{font-family:sans-serif;max-width:1200px;margin:2em auto;padding:0 1em}}
figure{{display:inline-block;margin:0.5em}} img{{max-width:1000px}} table{{border-collapse:collapse;margin:1em 0}}
td,th{{border:1px solid #ccc;padding:2px 8px;text-align:right}} td:first-child{{text-align:left}}</style></head>
<body>
<h1>{title}: weight manifolds on held-out tasks</h1>
<p>{description}</p>
<p>Pipeline <code>{pipeline}</code>, tgsh {version}, {seeds_words}. Each method is trained on the same {trained} training tasks with the same budget ({epochs} over each training task's images) and tested on all {n} tasks. Intervals are across seeds, the independent units (95 %, the expanded percentile bootstrap over seeds, which keeps accuracies in 0-100 %); accuracies in %, their differences in percentage points.</p>
<h2 id="heldout">The paper's claim</h2>
<ul>{verdict_text}</ul>
{claims_html}
<h2>Accuracy on seen and unseen tasks</h2>
<p>Mean over seeds of each seed's mean test accuracy over the split's tasks, with the 95 % bootstrap interval across seeds (expanded percentile). <i>interpolated</i>: untrained tasks inside the training arc; <i>extrapolated</i>: outside it; <i>unseen</i>: every untrained task.</p>
{table}
{figures_html}
<h3>Methods</h3>
<ul>
<li><b>points-nearest</b>, <b>points-interp</b>: the CRWN (one context <i>c<sub>t</sub> = s<sub>t</sub> m<sub>t</sub></i> per training task, each trained on its own); an unseen task gets the nearest training task's context, or the linear interpolation between the two neighbouring training tasks' contexts (around the circle).</li>
<li><b>shared</b>: one context for every task.</li>
<li><b>input</b>: input conditioning, the paper's baseline: one shared context <i>c</i> and a trained <i>U</i> (H x 2) with <i>r(x, s) = relu(W1 x - mean + U (cos 2&pi;s, sin 2&pi;s))</i>; as many parameters as the circle.</li>
<li><b>line</b>: <i>c(s) = P1 (1 - s) + P2 s</i>; <b>circle</b>: <i>c(s) = P1 + P2 cos 2&pi;s + P3 sin 2&pi;s</i>; <b>fourier2</b>: the circle with a second harmonic. All trained jointly over the training tasks, with RMSprop, or with <code>-metric</code>: SGD preconditioned by the inverse Gram matrix of the basis, <i>&Delta;P = -&eta; G<sup>-1</sup> mean<sub>t</sub> &phi;(s<sub>t</sub>) g<sub>t</sub><sup>T</sup></i>, &eta; = {metric_lr}.</li>
</ul>
<h2>The circle's contexts against the CRWN's</h2>
<p>Cosine similarity at the training tasks, mean over seeds, on the diverging scale centred at 0 used on every page (blue negative, red positive).</p>
{context_table}
{context_html}
<h2>Data</h2>
<ul>{links}</ul>
</body></html>
"#,
        title = html_escape(&family_name),
        description = html_escape(&pipeline.description),
        pipeline = html_escape(&pipeline.name),
        version = tgsh_common::VERSION,
        trained = trained.len(),
        epochs = tgsh_common::plural(pipeline.train.epochs, "epoch"),
        seeds_words = tgsh_common::plural(seeds as usize, "seed"),
        metric_lr = heldout.metric_learning_rate,
    );
    let path = dir.join("index.html");
    std::fs::write(&path, page).map_err(|source| ReportError::Io {
        path: path.display().to_string(),
        source,
    })
}
