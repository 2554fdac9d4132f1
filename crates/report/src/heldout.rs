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
use crate::{html, ReportError};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use tgsh_common::config::{HeldoutExperiment, Split};
use tgsh_common::schema::analysis::{
    ClaimRow, ContextCosineSummaryRow, HeldoutCurveRow, HeldoutRow, HeldoutSummaryRow, StatisticRow,
};
use tgsh_common::schema::{Table, TaskRow};
use tgsh_common::{plan, Artifacts, Pipeline};

/// Every seed's CRWN (`points-nearest`; every method when there is none)
/// on every training task must reach `bar`.
pub(crate) fn check(pipeline: &Pipeline, artifacts: &Artifacts, bar: f64) -> Result<(), ReportError> {
    let page = artifacts.report_page();
    if !page.exists() {
        return Err(ReportError::Check(format!("{} does not exist", page.display())));
    }
    let mut failures = Vec::new();
    let mut checked = 0;
    for &seed in &pipeline.train.seeds {
        let rows = HeldoutRow::read(&artifacts.analysis(seed, HeldoutRow::FILE))?;
        let crwn = rows.iter().any(|r| r.method == "points-nearest");
        for r in rows
            .iter()
            .filter(|r| r.seen && (!crwn || r.method == "points-nearest"))
        {
            checked += 1;
            if r.accuracy.is_nan() || r.accuracy < bar {
                failures.push(format!(
                    "seed {} task {} {}: {:.2} %",
                    r.seed,
                    r.task,
                    r.method,
                    100.0 * r.accuracy
                ));
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

/// `[method] -> (task, s, split, mean accuracy)` from `heldout_curve.parquet`,
/// in the table's order.
type Curves = Vec<(String, Vec<HeldoutCurveRow>)>;

fn read_curves(path: &Path) -> Result<Curves, ReportError> {
    let mut out: Curves = Vec::new();
    for row in HeldoutCurveRow::read(path)? {
        if out.last().is_none_or(|(m, _)| *m != row.method) {
            out.push((row.method.clone(), Vec::new()));
        }
        out.last_mut().expect("pushed").1.push(row);
    }
    Ok(out)
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

/// A difference already in percentage points (the claims' statistics).
fn points_interval(mean: f64, low: f64, high: f64) -> String {
    let p = |v: f64| {
        if v.is_finite() {
            format!("{v:+.2}")
        } else {
            "–".into()
        }
    };
    format!("{} [{}, {}]", p(mean), p(low), p(high))
}

/// What every section of the page reads.
pub(crate) struct Page<'a> {
    pub(crate) pipeline: &'a Pipeline,
    pub(crate) heldout: &'a HeldoutExperiment,
    pub(crate) artifacts: &'a Artifacts,
    pub(crate) dir: &'a Path,
    /// Task names, in order.
    names: Vec<String>,
    pub(crate) family: String,
    pub(crate) rows: Vec<HeldoutSummaryRow>,
    curves: Curves,
}

impl Page<'_> {
    fn row(&self, method: &str, split: &str) -> Option<&HeldoutSummaryRow> {
        self.rows.iter().find(|r| r.method == method && r.split == split)
    }

    fn methods(&self) -> Vec<String> {
        self.curves.iter().map(|(m, _)| m.clone()).collect()
    }

    pub(crate) fn seeds(&self) -> u32 {
        self.rows.first().map_or(0, |r| r.seeds)
    }
}

/// Writes every figure and the page of a held-out pipeline into `dir`.
pub fn build(
    pipeline: &Pipeline,
    heldout: &HeldoutExperiment,
    artifacts: &Artifacts,
    dir: &Path,
) -> Result<(), ReportError> {
    let (tasks, metadata) = TaskRow::read_with_metadata(&artifacts.tasks())?;
    let page = Page {
        pipeline,
        heldout,
        artifacts,
        dir,
        names: tasks.into_iter().map(|t| t.name).collect(),
        family: metadata.get("family").cloned().unwrap_or_else(|| pipeline.name.clone()),
        rows: HeldoutSummaryRow::read(&artifacts.summary(HeldoutSummaryRow::FILE))?,
        curves: read_curves(&artifacts.summary(HeldoutCurveRow::FILE))?,
    };
    let body = [
        intro(&page),
        claims_section(&page)?,
        accuracy_section(&page)?,
        crate::heldout_ladder::capacity_section(&page)?,
        crate::heldout_ladder::learning_section(&page)?,
        methods_section(&page),
        crate::heldout_ladder::manifold_section(&page)?,
        context_section(&page)?,
        crate::provenance::section(pipeline, artifacts, dir)?,
    ]
    .concat();
    html::write_page(
        &dir.join(plan::REPORT_PAGE),
        html::Place::Report,
        &format!("{}: weight manifolds on held-out tasks", page.family),
        &body,
    )
}

fn intro(page: &Page) -> String {
    format!(
        "<p>{}</p>\n<p>Pipeline <code>{}</code>, tgsh {}, {}. Each method is trained on the same {} training \
         tasks under the same convergence rule (at most {}, patience {}) and tested on all {} tasks. Intervals \
         are across seeds, the independent units (95 %, the expanded percentile bootstrap over seeds, which keeps \
         accuracies in 0-100 %); accuracies in %, their differences in percentage points.</p>\n",
        html::escape(&page.pipeline.description),
        html::escape(&page.pipeline.name),
        tgsh_common::VERSION,
        tgsh_common::plural(page.seeds() as usize, "seed"),
        page.heldout.train_tasks.len(),
        tgsh_common::plural(page.pipeline.train.epochs, "epoch"),
        page.heldout.config.patience,
        page.names.len(),
    )
}

/// The claims (the paper's, then this project's own questions), and what
/// the main one says in words.
fn claims_section(page: &Page) -> Result<String, ReportError> {
    let claims = ClaimRow::read(&page.artifacts.summary(ClaimRow::FILE))?;
    let mut table = String::new();
    for (section, heading) in [
        ("paper", "The paper's claims"),
        ("beyond", "Beyond the paper: this project's own question"),
    ] {
        let rows: Vec<&ClaimRow> = claims.iter().filter(|c| c.section == section).collect();
        if rows.is_empty() {
            continue;
        }
        let _ = writeln!(
            table,
            "<h3>{heading}</h3>\n<table>\n<tr><th>claim</th><th>source</th><th>difference (percentage points) \
             [95 % interval across seeds]</th><th>test</th><th>verdict</th><th>statistic</th></tr>"
        );
        for c in rows {
            let _ = writeln!(
                table,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{} {}</td><td><b>{}</b></td><td>{}</td></tr>",
                html::escape(&c.claim),
                html::escape(&c.figure),
                points_interval(c.mean, c.ci_low, c.ci_high),
                html::escape(&c.direction),
                points(c.threshold),
                html::escape(&c.verdict),
                html::escape(&c.note)
            );
        }
        table.push_str("</table>\n");
    }
    let mut verdicts = String::new();
    let accuracy = |method: &str, split: &str| page.row(method, split).map(|r| interval(r.mean, r.ci_low, r.ci_high));
    let pairs = ["interpolated", "extrapolated"].into_iter().flat_map(|split| {
        [
            (split, "manifold-beats-input", "circle"),
            (split, "torus-beats-input", "torus"),
        ]
    });
    for (split, claim, own) in pairs {
        let id = format!("{claim}-{split}");
        let Some(c) = claims.iter().find(|c| c.id == id) else {
            continue;
        };
        let (Some(circle), Some(input)) = (accuracy(own, split), accuracy("input", split)) else {
            continue;
        };
        let said = match c.verdict.as_str() {
            "pass" => format!("the {own} <b>beats</b> input conditioning: the whole interval of the difference is above 0"),
            "fail" => format!("the {own} does <b>not</b> beat input conditioning: input conditioning is better, the whole interval of the difference is below 0"),
            _ => format!("the data do <b>not</b> show that the {own} beats input conditioning: the interval of the difference includes 0"),
        };
        // The context: how good the best method is there, and the CRWN.
        let best = page
            .rows
            .iter()
            .filter(|r| r.split == split && r.mean.is_finite())
            .max_by(|a, b| a.mean.total_cmp(&b.mean))
            .map(|r| {
                format!(
                    "The best method there is <code>{}</code> at {} %",
                    html::escape(&r.method),
                    percent(r.mean)
                )
            })
            .unwrap_or_default();
        let crwn = accuracy("points-interp", split)
            .map(|a| format!("; the CRWN's points, interpolated, reach {a} %"))
            .unwrap_or_default();
        let _ = write!(
            verdicts,
            "<li>On the {split} tasks the {own} (RMSprop) reaches {circle} % and input conditioning {input} %: {said} \
             ({} points, 95 % interval [{}, {}] across {}). {best}{crwn} (chance: 10 %).</li>",
            points(c.mean),
            points(c.ci_low),
            points(c.ci_high),
            tgsh_common::plural(page.seeds() as usize, "seed"),
        );
    }
    Ok(format!(
        "<h2 id=\"heldout\">The paper's claim</h2>\n<ul>{verdicts}</ul>\n{table}"
    ))
}

/// Accuracy as a function of the task variable: curves of one variable.
fn curve_figures(page: &Page) -> Result<String, ReportError> {
    let heldout = page.heldout;
    let n = page.names.len();
    let sweep = page
        .pipeline
        .data
        .family
        .sweep
        .as_ref()
        .expect("validated: a held-out pipeline's family is a sweep");
    let step = sweep.step;
    let unit = sweep.transform.axis();
    // The parameter itself on the axis: degrees, pixels or a blur's σ.
    let x_of = |s: f64| sweep.parameter_at(s);
    let x_range = (x_of(0.0), x_of(1.0));
    let seen_x: Vec<f64> = heldout.train_tasks.iter().map(|&t| x_of(heldout.s[t])).collect();
    let extrapolated_x: Vec<f64> = (0..n)
        .filter(|&t| heldout.splits[t] == Split::Extrapolated)
        .map(|t| x_of(heldout.s[t]))
        .collect();
    let curve = |name: &str| -> Option<Curve> {
        let (_, points) = page.curves.iter().find(|(m, _)| m == name)?;
        let mut xy: Vec<(f64, f64)> = points.iter().map(|p| (x_of(p.s), 100.0 * p.mean)).collect();
        xy.sort_by(|a, b| a.0.total_cmp(&b.0));
        Some((name.to_string(), xy))
    };
    let methods = page.methods();
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
            &page.dir.join(stem),
            &AccuracyCurves {
                title: &title,
                x_label: unit,
                x_range,
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
            "{}: test accuracy per task, mean of {} seeds",
            page.family,
            page.pipeline.train.seeds.len()
        ),
        &main,
    )?;
    let mut figures_html = html::figure(
        "heldout_accuracy",
        "Test accuracy as a function of the task variable; dots and grey lines mark the training tasks, the shaded band the extrapolated ones. Baselines and manifolds trained with RMSprop; <code>points-*</code> is the CRWN",
        true,
    );
    if !updates.is_empty() {
        draw(
            "heldout_updates",
            format!("{}: RMSprop vs the metric-preconditioned update", page.family),
            &updates,
        )?;
        figures_html.push_str(&html::figure(
            "heldout_updates",
            "Each manifold trained with RMSprop and with the paper's metric-preconditioned SGD (<code>-metric</code>)",
            true,
        ));
    }
    Ok(figures_html)
}

/// The comparison table and accuracy per task: curves of one variable, or
/// on a torus a heatmap of the grid per method.
fn accuracy_section(page: &Page) -> Result<String, ReportError> {
    let figures_html = if page.heldout.is_torus() {
        crate::heldout_torus::grid_section(page, &page.curves)?
    } else {
        curve_figures(page)?
    };
    let methods = page.methods();

    // One row per method, one column per split.
    let mut splits: Vec<&str> = Vec::new();
    for r in &page.rows {
        if !splits.contains(&r.split.as_str()) {
            splits.push(&r.split);
        }
    }
    let mut table =
        String::from("<table>\n<tr><th>method</th><th>topology</th><th>basis</th><th>update</th><th>parameters</th>");
    for split in &splits {
        let count = page.rows.iter().find(|r| r.split == *split).map_or(0, |r| r.tasks);
        let _ = write!(table, "<th>{split} ({count} tasks): mean [95 % CI] (%)</th>");
    }
    table.push_str("</tr>\n");
    for method in &methods {
        let Some(first) = page.rows.iter().find(|r| &r.method == method) else {
            continue;
        };
        let _ = write!(
            table,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"num\">{}</td>",
            html::escape(method),
            html::escape(&first.topology),
            html::escape(&first.basis),
            html::escape(&first.update),
            first.parameters
        );
        for split in &splits {
            let cell = page
                .row(method, split)
                .map_or("–".to_string(), |r| interval(r.mean, r.ci_low, r.ci_high));
            let _ = write!(table, "<td class=\"num\">{cell}</td>");
        }
        table.push_str("</tr>\n");
    }
    table.push_str("</table>\n");
    Ok(format!(
        "<h2>Accuracy on seen and unseen tasks</h2>\n<p>Mean over seeds of each seed's mean test accuracy over the \
         split's tasks, with the 95 % bootstrap interval across seeds (expanded percentile). <i>interpolated</i>: untrained tasks inside the \
         training arc (on a torus: every untrained grid task); <i>extrapolated</i>: outside it; <i>unseen</i>: every untrained task.</p>\n{table}{figures_html}"
    ))
}

fn methods_section(page: &Page) -> String {
    format!(
        "<h3>Methods</h3>\n<ul>\n\
<li><b>points-nearest</b>, <b>points-interp</b>: the CRWN (one context <i>c<sub>t</sub> = s<sub>t</sub> m<sub>t</sub></i> per training task, each trained on its own); an unseen task gets the nearest training task's context, or the linear interpolation between the two neighbouring training tasks' contexts (around the circle).</li>\n\
<li><b>shared</b>: one context for every task.</li>\n\
<li><b>input</b>: input conditioning, the paper's baseline: one shared context <i>c</i> and a trained <i>U</i> (H x 2) with <i>r(x, s) = relu(W1 x - mean + U (cos 2&pi;s, sin 2&pi;s))</i>; as many parameters as the circle.</li>\n\
<li><b>line</b>: <i>c(s) = P1 (1 - s) + P2 s</i>; <b>quadratic</b>: <i>c(s) = P1 + P2 s + P3 s<sup>2</sup></i> (non-periodic, the circle's size); <b>circle</b>: <i>c(s) = P1 + P2 cos 2&pi;s + P3 sin 2&pi;s</i>; <b>fourierK</b>: the circle with harmonics up to K; <b>piecewise</b>: a periodic piecewise-linear curve with one knot per training task (the CRWN's points trained jointly, interpolated linearly between knots). All trained jointly over the training tasks, with RMSprop, or with <code>-metric</code>: SGD preconditioned by the inverse Gram matrix of the basis, <i>&Delta;P = -&eta; G<sup>-1</sup> mean<sub>t</sub> &phi;(s<sub>t</sub>) g<sub>t</sub><sup>T</sup></i> (default &eta; = {}), or <code>-sgd</code>: the same step without <i>G<sup>-1</sup></i>, the control that isolates the metric. Each model's step size is the pilot's pick on this pipeline's training tasks (<code>heldout.learning_rates</code>; docs/MANIFOLDS.md).</li>\n\
{}</ul>\n",
        page.heldout.config.metric_learning_rate,
        if page.heldout.is_torus() { TORUS_METHODS } else { "" }
    )
}

/// The methods of a torus family (two task variables, `(s, s2)`).
const TORUS_METHODS: &str = "<li>On this torus family (rotation <i>s</i> and shift <i>s2</i>, both periodic): <b>torus</b>: <i>c(s, s2) = &Sigma; P<sub>ab</sub> f<sub>a</sub>(s) f<sub>b</sub>(s2)</i>, every product of <i>f = (1, cos 2&pi;x, sin 2&pi;x)</i> in each variable (9H numbers); <b>circles</b>: <i>1</i> and each variable's <i>cos, sin</i> alone, two circles added, no interaction (5H); <b>circles2</b>: the same with second harmonics (9H, the torus' size); <b>torusK</b>, <b>circlesK</b>: harmonics up to <i>K</i> in each variable ((2K + 1)<sup>2</sup>H and (4K + 1)H); <b>bilinear</b>: one knot per training task on the training grid, <i>c</i> interpolated bilinearly between the knots (the CRWN's points trained jointly, at their size); <b>input</b>: the shared context and <i>U</i> (H x 8) on the torus basis' eight non-constant terms (9H, the torus' size); the CRWN's points serve an unseen grid task by the training tasks nearest on the torus (Euclidean in <i>(s, s2)</i>, each difference taken round its circle; ties averaged) or by bilinear interpolation between the four training tasks around it.</li>\n";

/// The learned circle's contexts against the CRWN's.
fn context_section(page: &Page) -> Result<String, ReportError> {
    let trained = &page.heldout.train_tasks;
    let cosines = ContextCosineSummaryRow::read(&page.artifacts.summary(ContextCosineSummaryRow::FILE))?;
    let t = trained.len();
    let position: BTreeMap<usize, usize> = trained.iter().enumerate().map(|(p, &t)| (t, p)).collect();
    let matrix = |method: &str, kind: &str| -> Option<Vec<f64>> {
        let mut m = vec![f64::NAN; t * t];
        let mut found = false;
        for c in cosines.iter().filter(|c| c.method == method && c.kind == kind) {
            if let (Some(&i), Some(&j)) = (position.get(&(c.task_i as usize)), position.get(&(c.task_j as usize))) {
                m[i * t + j] = c.mean;
                found = true;
            }
        }
        found.then_some(m)
    };
    let labels: Vec<String> = trained.iter().map(|&k| page.names[k].clone()).collect();
    let mut figures_html = String::new();
    for (method, kind, stem, title) in [
        ("points", "self", "context_crwn", "CRWN: cos(c_i, c_j)"),
        ("circle", "self", "context_circle", "circle: cos(c(s_i), c(s_j))"),
        (
            "circle",
            "crwn",
            "context_circle_vs_crwn",
            "circle vs CRWN: cos(c(s_i), c_j)",
        ),
    ] {
        if let Some(m) = matrix(method, kind).filter(|m| m.iter().all(|v| v.is_finite())) {
            figures::heatmap_with(
                &page.dir.join(stem),
                title,
                &m,
                t,
                &labels,
                figures::HeatmapOptions {
                    colormap: figures::Colormap::Diverging,
                    range: (-1.0, 1.0),
                    tree: None,
                },
            )?;
            figures_html.push_str(&html::figure(
                stem,
                &format!("{title}, training tasks, mean over seeds"),
                false,
            ));
        }
    }
    let statistics = StatisticRow::read(&page.artifacts.summary(StatisticRow::FILE))?;
    let mut table = String::from(
        "<table>\n<tr><th>method</th><th>cos with the CRWN's context of the same task</th><th>cos with the CRWN's other tasks</th><th>correlation of the two similarity matrices</th></tr>\n",
    );
    for method in page.methods().iter().filter(|m| !m.starts_with("points")) {
        let cell = |name: &str| {
            statistics
                .iter()
                .find(|s| s.statistic == format!("context.{name}[{method}]") && s.mean.is_finite())
                .map_or("–".to_string(), |s| {
                    format!("{:.3} [{:.3}, {:.3}]", s.mean, s.ci_low, s.ci_high)
                })
        };
        let _ = writeln!(
            table,
            "<tr><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
            html::escape(method),
            cell("crwn_same_task"),
            cell("crwn_other_task"),
            cell("geometry_correlation")
        );
    }
    table.push_str("</table>\n");
    Ok(format!(
        "<h2>The circle's contexts against the CRWN's</h2>\n<p>Cosine similarity at the training tasks, mean over seeds, \
         on the diverging scale centred at 0 used on every page (blue negative, red positive).</p>\n{table}{figures_html}"
    ))
}
