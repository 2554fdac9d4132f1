//! One pipeline's page (`report/index.html`): the claims table first, then
//! a section per analysis, each figure in PNG and SVG with its caption
//! saying what it shows. Wall times go to a separate `timings.html`, so the
//! page itself is the same bytes whenever the results are.

use crate::figures::{self, Band, Colormap, HeatmapOptions, Tree};
use crate::html::{self, escape, figure};
use crate::results::{self, Tasks};
use crate::{sections, ReportError};
use polars::prelude::*;
use std::fmt::Write as _;
use std::path::Path;
use tgsh_common::config::{ClaimSpec, FamilyExperiment, Topology};
use tgsh_common::schema::analysis::{AccuracySummaryRow, ClaimRow};
use tgsh_common::schema::Table as _;
use tgsh_common::{plural, Artifacts, Pipeline, SIDE};

/// Signed similarities get a diverging scale over [-1, 1], centred at 0.
fn similarity_options() -> HeatmapOptions {
    HeatmapOptions {
        colormap: Colormap::Diverging,
        range: (-1.0, 1.0),
        tree: None,
    }
}

/// What every section of a family page reads.
struct Page<'a> {
    pipeline: &'a Pipeline,
    experiment: &'a FamilyExperiment,
    artifacts: &'a Artifacts,
    dir: &'a Path,
    tasks: Tasks,
    n: usize,
    seeds: Vec<u64>,
    /// The family's name, as `tasks.parquet` records it.
    family: String,
    topology: Topology,
    /// Task names where they fit on small figures' axes (AugmentMNIST's
    /// "T7 invert"), else the short labels.
    axis: Vec<String>,
    /// Every seed's similarity matrices, by (seed, state).
    sims: std::collections::BTreeMap<(u64, String), Vec<f64>>,
}

/// Writes every figure and the page into `dir`.
pub fn build(
    pipeline: &Pipeline,
    family_experiment: &FamilyExperiment,
    artifacts: &Artifacts,
    dir: &Path,
) -> Result<(), ReportError> {
    let tasks = Tasks::load(artifacts)?;
    let n = tasks.len();
    let seeds = pipeline.train.seeds.clone();
    let axis: Vec<String> = if n <= 12 {
        tasks.names.clone()
    } else {
        tasks.labels.clone()
    };
    let page = Page {
        pipeline,
        experiment: family_experiment,
        artifacts,
        dir,
        family: tasks.family.clone(),
        sims: results::similarities(artifacts, &seeds, n)?,
        tasks,
        n,
        seeds,
        topology: family_experiment.topology,
        axis,
    };
    let body = [
        claims_section(&page)?,
        accuracy_section(&page)?,
        similarity_section(&page)?,
        clustering_section(&page)?,
        cross_task_section(&page)?,
        representation_sections(&page)?,
        samples_section(&page)?,
        crate::provenance::section(pipeline, artifacts, dir)?,
    ]
    .concat();
    timings_page(&page)?;
    let (n, seeds, family, topology) = (page.n, &page.seeds, &page.family, page.topology);
    let header = format!(
        "<nav><a href=\"#claims\">Claims</a><a href=\"#accuracy\">Accuracy</a>\
         <a href=\"#similarity\">Similarity</a><a href=\"#clustering\">Clustering</a><a href=\"#cross-task\">Cross-task</a>\
         <a href=\"#tgsh\">T-GSH</a>{}<a href=\"#reconstruction\">Reconstruction</a><a href=\"#pca\">PCA</a><a href=\"#samples\">Samples</a>\
         <a href=\"timings.html\">Timings</a><a href=\"#provenance\">Provenance</a></nav>\n<p>{}</p>\n<p>Pipeline <code>{}</code> ({}, seeds {:?}), tgsh {}.</p>\n",
        if topology == Topology::None {
            ""
        } else {
            "<a href=\"#definition-1b\">Definition 1b</a>"
        },
        escape(&pipeline.description),
        escape(&pipeline.name),
        plural(n, "task"),
        seeds,
        tgsh_common::VERSION
    );
    html::write_page(&dir.join("index.html"), html::Place::Report, family, &(header + &body))
}

/// The claims table and its counts.
fn claims_section(page: &Page) -> Result<String, ReportError> {
    let (artifacts, seeds, family) = (page.artifacts, &page.seeds, &page.family);
    let mut body = String::new();
    // Claims.
    let claims = results::claims(&artifacts.summary(ClaimRow::FILE))?;
    let count = |v: &str| claims.iter().filter(|c| c.verdict == v).count();
    let rows: Vec<(Option<&str>, &results::ClaimRow, String)> = claims
        .iter()
        .map(|c| (None, c, format!("#{}", html::section_for(&c.statistic))))
        .collect();
    let _ = write!(
        body,
        "<h2 id=\"claims\">Claims</h2>\n<p>{}: <b>{} pass</b>, <b>{} hold untrained</b>, <b>{} fail</b>, <b>{} inconclusive</b>, \
         over {} of {}. Bars and margins are fixed before any run (docs/METHOD.md in the repository).</p>\n<p class=\"note\">{}</p>\n{}",
        plural(claims.len(), "claim"),
        count("pass"),
        count("untrained"),
        count("fail"),
        count("inconclusive"),
        plural(seeds.len(), "seed"),
        escape(family),
        html::VERDICTS,
        html::claims_table(&rows)
    );

    Ok(body)
}

/// Final test accuracy per task, the learning curves, the per-seed table.
fn accuracy_section(page: &Page) -> Result<String, ReportError> {
    let (family_experiment, artifacts, dir, tasks, n, seeds, family) = (
        page.experiment,
        page.artifacts,
        page.dir,
        &page.tasks,
        page.n,
        &page.seeds,
        &page.family,
    );
    let mut body = String::new();
    // Accuracy.
    let accuracy = results::task_accuracy(artifacts)?;
    let pct = |v: &[f64]| v.iter().map(|a| 100.0 * a).collect::<Vec<_>>();
    figures::band_chart(
        &dir.join("accuracy"),
        &format!(
            "{family}: final test accuracy per task, mean and 95 % interval over {}",
            plural(seeds.len(), "seed")
        ),
        "task",
        "test accuracy (%)",
        &tasks.labels,
        &[Band {
            name: "mean over seeds".into(),
            mean: pct(&accuracy.mean),
            low: pct(&accuracy.low),
            high: pct(&accuracy.high),
        }],
        Some(percent_range(&[&accuracy.mean, &accuracy.low, &accuracy.high])),
    )?;
    let (epochs, curves) = results::learning_curves(&seeds.iter().map(|&s| artifacts.metrics(s)).collect::<Vec<_>>())?;
    let epoch_ticks: Vec<String> = epochs.iter().map(|e| e.to_string()).collect();
    // The accuracy curve starts at the contexts before training (epoch 0,
    // the analysis' control), so even one epoch draws a line.
    let mut before = Vec::new();
    for &seed in seeds {
        before.push(
            results::seed_statistics(artifacts, seed)?
                .get(&("accuracy.mean_final".to_string(), "before".to_string()))
                .copied(),
        );
    }
    let with_start = before.iter().all(Option::is_some);
    let accuracy_ticks: Vec<String> = if with_start {
        std::iter::once("0 (before)".to_string())
            .chain(epoch_ticks.iter().cloned())
            .collect()
    } else {
        epoch_ticks.clone()
    };
    figures::line_chart(
        &dir.join("learning_curve"),
        &format!("{family}: mean test accuracy over tasks after each epoch"),
        "epoch",
        "mean test accuracy (%)",
        &accuracy_ticks,
        &curves
            .iter()
            .zip(&before)
            .map(|((s, a, _), b)| {
                let values = match b {
                    Some(b) if with_start => std::iter::once(*b).chain(a.iter().copied()).collect(),
                    _ => a.clone(),
                };
                (format!("seed {s}"), values)
            })
            .collect::<Vec<_>>(),
        None,
    )?;
    figures::line_chart(
        &dir.join("loss_curve"),
        &format!("{family}: mean training loss over tasks per epoch"),
        "epoch",
        "cross-entropy",
        &epoch_ticks,
        &curves
            .iter()
            .map(|(s, _, l)| (format!("seed {s}"), l.clone()))
            .collect::<Vec<_>>(),
        None,
    )?;
    let mut columns = vec![
        Column::new("task".into(), (0..n as u32).collect::<Vec<_>>()),
        Column::new("name".into(), tasks.names.clone()),
        Column::new("mean (%)".into(), pct(&accuracy.mean)),
        Column::new("95 % low".into(), pct(&accuracy.low)),
        Column::new("95 % high".into(), pct(&accuracy.high)),
    ];
    for (k, seed) in seeds.iter().enumerate() {
        let values: Vec<f64> = accuracy
            .values
            .iter()
            .map(|v| 100.0 * v.get(k).copied().unwrap_or(f64::NAN))
            .collect();
        columns.push(Column::new(format!("seed {seed} (%)").into(), values));
    }
    let table = DataFrame::new_infer_height(columns).map_err(|source| ReportError::Polars {
        path: artifacts.summary(AccuracySummaryRow::FILE).display().to_string(),
        source,
    })?;
    println!("{family}: final test accuracy (%) per task\n{table}");
    let overall: Vec<f64> = (0..seeds.len())
        .map(|k| 100.0 * accuracy.values.iter().map(|v| v[k]).sum::<f64>() / n.max(1) as f64)
        .collect();
    // "At or above the reference" is a statistic without a verdict; the
    // claim is the equivalence.
    let reference = family_experiment.analyze.claims.iter().find_map(|c| match c {
        ClaimSpec::MeanAccuracyEquivalent { percent, .. } | ClaimSpec::MeanAccuracyAtLeast { percent, .. } => {
            Some(*percent)
        }
        _ => None,
    });
    let above = match reference {
        Some(reference) => results::statistics(artifacts)?
            .get(&("accuracy.mean_final_minus_reference".to_string(), "after".to_string()))
            .map(|m| {
                format!(
                    " Mean minus the reference {reference:.2} %: {} (95 % interval across seeds; whether the mean is at or above \
                     the reference is reported without a verdict: the claim tests equivalence, in the claims table).",
                    html::with_interval(m.mean, m.low, m.high, "points")
                )
            })
            .unwrap_or_default(),
        None => String::new(),
    };
    let _ = write!(
        body,
        "<h2 id=\"accuracy\">Test accuracy</h2>\n<p>Mean over tasks, per seed: {}.{above}</p>\n{}{}{}<details><summary>Per task and seed</summary>\n{}</details>\n",
        seeds.iter().zip(&overall).map(|(s, a)| format!("seed {s}: <b>{a:.2} %</b>")).collect::<Vec<_>>().join(", "),
        figure(
            "accuracy",
            "Final test accuracy of each task; the band is the 95 % interval across seeds (expanded percentile bootstrap, within 0-100 %)",
            true
        ),
        figure(
            "learning_curve",
            "Mean test accuracy over tasks after each epoch, per seed; epoch 0 is the contexts before training",
            false
        ),
        figure("loss_curve", "Mean training cross-entropy over tasks, per epoch and seed", false),
        html::frame_table(&table, 2),
    );

    Ok(body)
}

/// The context-similarity matrices, the adjacency profile and the subsampling comparison.
fn similarity_section(page: &Page) -> Result<String, ReportError> {
    let (artifacts, dir, n, seeds, family, topology, axis) = (
        page.artifacts,
        page.dir,
        page.n,
        &page.seeds,
        &page.family,
        page.topology,
        &page.axis,
    );
    let mut body = String::new();
    // Task similarity.
    let sims = &page.sims;
    let mut per_seed = String::new();
    for state in ["before", "after"] {
        let mean = results::mean_matrix(seeds.iter().filter_map(|&s| sims.get(&(s, state.to_string()))));
        figures::heatmap_with(
            &dir.join(format!("similarity_{state}_mean")),
            &format!(
                "Context similarity {state} training, mean of {}",
                plural(seeds.len(), "seed")
            ),
            &mean,
            n,
            axis,
            similarity_options(),
        )?;
        for &seed in seeds {
            let stem = format!("similarity_{state}_seed{seed}");
            let m = sims
                .get(&(seed, state.to_string()))
                .cloned()
                .unwrap_or_else(|| vec![f64::NAN; n * n]);
            figures::heatmap_with(
                &dir.join(&stem),
                &format!("Context similarity {state} training (seed {seed})"),
                &m,
                n,
                axis,
                similarity_options(),
            )?;
            per_seed.push_str(&figure(&stem, &format!("{state} training, seed {seed}"), false));
        }
    }
    let _ = write!(
        body,
        "<h2 id=\"similarity\">Context-vector similarity (Figs. 1b, 4b, 5b)</h2>\n<p>Cosine similarity of every pair of context vectors \
         <i>c<sub>t</sub> = s<sub>t</sub> m<sub>t</sub></i>, on a diverging scale centred at 0 (blue negative, red positive).</p>\n{}{}\
         <details><summary>Each seed</summary>\n{per_seed}</details>\n",
        figure("similarity_before_mean", "Before training (initial contexts), mean over seeds", false),
        figure("similarity_after_mean", "After training, mean over seeds", false),
    );
    if topology != Topology::None {
        let adjacency = results::adjacency(artifacts)?;
        if let Some(max) = adjacency.iter().flat_map(|(_, d, ..)| d.iter().copied()).max() {
            let ticks: Vec<String> = (1..=max).map(|d| d.to_string()).collect();
            let bands: Vec<Band> = adjacency
                .iter()
                .map(|(state, d, mean, lo, hi)| {
                    let at = |v: &[f64]| {
                        (1..=max)
                            .map(|x| d.iter().position(|&y| y == x).map_or(f64::NAN, |k| v[k]))
                            .collect()
                    };
                    Band {
                        name: format!("{state} training"),
                        mean: at(mean),
                        low: at(lo),
                        high: at(hi),
                    }
                })
                .collect();
            figures::band_chart(
                &dir.join("adjacency"),
                &format!("{family}: mean context similarity by task distance"),
                if topology == Topology::Circle {
                    "task distance (circular)"
                } else {
                    "task distance"
                },
                "mean cosine similarity",
                &ticks,
                &bands,
                None,
            )?;
            body.push_str(&figure(
                "adjacency",
                "Adjacency profile: mean similarity of contexts at each task distance, 95 % interval across seeds",
                false,
            ));
        }
    }
    body.push_str(&sections::subsampling(dir, artifacts, family)?);

    Ok(body)
}

/// The similarity matrix in the dendrogram's leaf order (Fig. 7).
fn clustering_section(page: &Page) -> Result<String, ReportError> {
    let (family_experiment, artifacts, dir, n, seeds, family, axis) = (
        page.experiment,
        page.artifacts,
        page.dir,
        page.n,
        &page.seeds,
        &page.family,
        &page.axis,
    );
    let sims = &page.sims;
    let mut body = String::new();
    // Clustering.
    let (merges, order) = results::tree(artifacts, n)?;
    let mean_after = results::mean_matrix(seeds.iter().filter_map(|&s| sims.get(&(s, "after".to_string()))));
    figures::heatmap_with(
        &dir.join("dendrogram"),
        &format!(
            "{family}: contexts clustered ({} linkage on 1 - cos)",
            format!("{:?}", family_experiment.analyze.linkage).to_lowercase()
        ),
        &mean_after,
        n,
        axis,
        HeatmapOptions {
            tree: Some(Tree { merges, order }),
            ..similarity_options()
        },
    )?;
    let _ = write!(
        body,
        "<h2 id=\"clustering\">Hierarchical clustering (Fig. 7)</h2>\n{}",
        figure(
            "dendrogram",
            "Mean after-training similarity, rows and columns in the dendrogram's leaf order, the tree on the left",
            true
        )
    );

    Ok(body)
}

/// Every context on every task's test images.
fn cross_task_section(page: &Page) -> Result<String, ReportError> {
    let (artifacts, dir, n, seeds, axis) = (page.artifacts, page.dir, page.n, &page.seeds, &page.axis);
    let mut body = String::new();
    // Cross-task accuracy.
    let cross = results::cross_task(artifacts, seeds, n)?;
    let cross_mean = results::mean_matrix(cross.iter());
    figures::heatmap_with(
        &dir.join("cross_task"),
        "Accuracy of task i's context (row) on task j's test images (column), mean over seeds",
        &cross_mean,
        n,
        axis,
        HeatmapOptions {
            colormap: Colormap::Sequential,
            range: (0.0, 1.0),
            tree: None,
        },
    )?;
    let _ = write!(
        body,
        "<h2 id=\"cross-task\">Function follows mechanism: cross-task accuracy</h2>\n<p>The paper states that a context works best \
         on neighbouring tasks after its own, and never measures it; here every context is scored on every test image of every task \
         (the diagonal is the trained accuracy).</p>\n{}",
        figure("cross_task", "Cross-task accuracy; compare its pattern with the similarity matrix above", false)
    );

    Ok(body)
}

/// T-GSH, Definition 1b, recoverability and the contexts as a manifold.
fn representation_sections(page: &Page) -> Result<String, ReportError> {
    let (family_experiment, artifacts, dir, tasks, seeds, family, topology) = (
        page.experiment,
        page.artifacts,
        page.dir,
        &page.tasks,
        &page.seeds,
        &page.family,
        page.topology,
    );
    let mut body = String::new();
    // T-GSH, Definition 1b, recoverability, the contexts as a manifold.
    body.push_str(&sections::tgsh(
        dir,
        artifacts,
        seeds,
        family_experiment.analyze.tgsh_per_class,
    )?);
    body.push_str(&sections::representation(dir, artifacts, family, topology)?);
    body.push_str(&sections::reconstruction(dir, artifacts, tasks, seeds[0])?);
    body.push_str(&sections::contexts_pca(dir, artifacts, tasks, seeds, topology)?);

    Ok(body)
}

/// The same test digits under every task.
fn samples_section(page: &Page) -> Result<String, ReportError> {
    let (pipeline, artifacts, dir, tasks, n, family) = (
        page.pipeline,
        page.artifacts,
        page.dir,
        &page.tasks,
        page.n,
        &page.family,
    );
    let mut body = String::new();
    // Samples.
    let k = pipeline.report.samples_per_task;
    let samples = results::samples(artifacts, n, k)?;
    figures::image_grid(
        &dir.join("samples"),
        &format!("{family}: the same test digits under every task"),
        &samples,
        SIDE,
        n,
        k,
        &tasks.names,
        None,
    )?;
    let _ = write!(
        body,
        "<h2 id=\"samples\">Sample digits (Figs. 3a, 4a, 6)</h2>\n{}",
        figure("samples", &format!("The first {k} test digits under every task"), false)
    );

    Ok(body)
}

/// Wall times on their own page (`timings.html`): they differ run to run, the page must not.
fn timings_page(page: &Page) -> Result<(), ReportError> {
    let (pipeline, artifacts, dir, family) = (page.pipeline, page.artifacts, page.dir, &page.family);
    // Timings on their own page: wall times differ run to run.
    let timings = results::timings(pipeline, artifacts)?;
    let frame = DataFrame::new_infer_height(vec![
        Column::new("stage".into(), timings.iter().map(|t| t.0.clone()).collect::<Vec<_>>()),
        Column::new("seed".into(), timings.iter().map(|t| t.1).collect::<Vec<_>>()),
        Column::new("seconds".into(), timings.iter().map(|t| t.2).collect::<Vec<_>>()),
    ])
    .map_err(|source| ReportError::Polars {
        path: "timings".into(),
        source,
    })?;
    html::write_page(
        &dir.join("timings.html"),
        html::Place::Report,
        &format!("{family}: wall time per stage"),
        &format!(
            "<p><a href=\"index.html\">Back to the {}</a>.</p>\n<p>Summed over each stage's steps, from the <code>timings.parquet</code> files; \
             shared machines make these vary run to run.</p>\n{}",
            escape(&pipeline.name),
            html::frame_table(&frame, 1)
        ),
    )?;

    Ok(())
}

/// A percent axis around fractions `values` (NaN skipped), padded and kept
/// within 0-100: an interval from few seeds can reach past 100 %.
fn percent_range(values: &[&Vec<f64>]) -> (f64, f64) {
    let (lo, hi) = values
        .iter()
        .flat_map(|v| v.iter().copied())
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(100.0 * v), hi.max(100.0 * v))
        });
    if !lo.is_finite() {
        return (0.0, 100.0);
    }
    let pad = ((hi - lo) * 0.05).max(0.5);
    ((lo - pad).max(0.0), (hi + pad).min(100.0))
}
