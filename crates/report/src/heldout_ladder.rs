//! Three sections of the held-out page: the capacity ladder (test
//! accuracy against the number of learned numbers, one line per basis
//! family, the CRWN's points marked), the learning curves of the
//! convergence rule (validation accuracy per epoch, the epochs each model
//! used), and the manifold pictures (each learned `c(s)` in the plane of
//! the first two principal components of the CRWN's trained points).

use crate::heldout::Page;
use crate::heldout_figures::{xy_chart, XyChart, XySeries};
use crate::{html, ReportError};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use tgsh_common::config::TrainedMethod;
use tgsh_common::schema::analysis::ManifoldPcaRow;
use tgsh_common::schema::{HeldoutMetricsRow, Table};

fn figure_error(e: crate::heldout_figures::CurveError) -> ReportError {
    ReportError::Figure(crate::figures::FigureError::Drawing {
        path: e.path.into(),
        message: e.message,
    })
}

/// The basis family a model of the ladder belongs to (RMSprop models only).
fn family_of(basis: &str) -> Option<&'static str> {
    Some(match basis {
        b if b.starts_with("fourier") => "circle, fourierK",
        // A torus family's two ladders: products of the two variables'
        // Fourier terms (torus: 9H, torus2: 25H) and their sums (circles:
        // 5H, circles2: 9H).
        b if b.starts_with("torus") => "torus, torusK",
        b if b.starts_with("circles") => "circles, circlesK",
        "line" | "quadratic" => "line, quadratic",
        // On a torus, piecewise-linear in each variable.
        "piecewise" => "piecewise-linear",
        b if b.starts_with("bilinear") => "piecewise-linear",
        "constant+input" => "input conditioning",
        "constant" => "shared",
        "onehot" => return None,
        _ => return None,
    })
}

/// Accuracy against parameters (in units of `H`), one figure per split.
pub(crate) fn capacity_section(page: &Page) -> Result<String, ReportError> {
    let hidden = page.pipeline.train.hidden as f64;
    let mut figures = String::new();
    let mut splits: Vec<&str> = Vec::new();
    for r in &page.rows {
        if r.split != "unseen" && !splits.contains(&r.split.as_str()) {
            splits.push(&r.split);
        }
    }
    for split in splits {
        let mut families: BTreeMap<&str, Vec<(f64, f64)>> = BTreeMap::new();
        let mut crwn = Vec::new();
        for r in page.rows.iter().filter(|r| r.split == split && r.update == "rmsprop") {
            let x = r.parameters as f64 / hidden;
            if r.method == "points-interp" {
                crwn.push((x, 100.0 * r.mean));
            } else if let Some(family) = family_of(&r.basis) {
                families.entry(family).or_default().push((x, 100.0 * r.mean));
            }
        }
        let mut series: Vec<XySeries> = families
            .into_iter()
            .map(|(name, mut points)| {
                points.sort_by(|a, b| a.0.total_cmp(&b.0));
                XySeries {
                    name: name.to_string(),
                    line: points.len() > 1,
                    points,
                }
            })
            .collect();
        if !crwn.is_empty() {
            series.push(XySeries {
                name: "CRWN points-interp".into(),
                points: crwn,
                line: false,
            });
        }
        if series.is_empty() {
            continue;
        }
        let stem = format!("capacity_{split}");
        xy_chart(
            &page.dir.join(&stem),
            &XyChart {
                title: &format!("{}: {split} tasks, mean of {} seeds", page.family, page.seeds()),
                x_label: "learned numbers / H",
                y_label: "test accuracy (%)",
                series: &series,
            },
        )
        .map_err(figure_error)?;
        figures.push_str(&html::figure(
            &stem,
            &format!(
                "The capacity ladder on the {split} tasks: mean test accuracy against the learned numbers in units of \
                 H = {} (the circle: 3; fourierK: 2K + 1; the quadratic: 3; piecewise-linear and the CRWN's points: \
                 one per training task; on a torus torusK: (2K + 1)², circlesK: 4K + 1, bilinear: one per training \
                 task, input conditioning: the torus' 9), RMSprop models",
                page.pipeline.train.hidden
            ),
            false,
        ));
    }
    Ok(format!(
        "<h2 id=\"capacity\">The capacity ladder</h2>\n<p>Does a manifold lose to the CRWN's points because it is \
         smaller? Each basis family from its smallest to its largest member the training tasks determine, against \
         the points.</p>\n{figures}"
    ))
}

/// The learning curves: validation accuracy per epoch (first seed), and the
/// epochs each model used per seed.
pub(crate) fn learning_section(page: &Page) -> Result<String, ReportError> {
    let seeds = &page.pipeline.train.seeds;
    let mut per_seed: Vec<(u64, Vec<HeldoutMetricsRow>)> = Vec::new();
    for &seed in seeds {
        let path = page.artifacts.train_shard(seed).join(HeldoutMetricsRow::FILE);
        per_seed.push((seed, HeldoutMetricsRow::read(&path)?));
    }
    let Some((first, rows)) = per_seed.first() else {
        return Ok(String::new());
    };
    let mut labels: Vec<String> = Vec::new();
    for r in rows {
        if !labels.contains(&r.method) {
            labels.push(r.method.clone());
        }
    }
    let curve = |label: &str| XySeries {
        name: label.to_string(),
        points: rows
            .iter()
            .filter(|r| r.method == label)
            .map(|r| (r.epoch as f64, 100.0 * r.validation_accuracy))
            .collect(),
        line: true,
    };
    let mut figures = String::new();
    for (stem, caption, pick) in [
        (
            "learning_rmsprop",
            "RMSprop models",
            &(|l: &str| !TrainedMethod::label_is_other_update(l)) as &dyn Fn(&str) -> bool,
        ),
        (
            "learning_metric_sgd",
            "the metric update and plain SGD",
            &TrainedMethod::label_is_other_update as &dyn Fn(&str) -> bool,
        ),
    ] {
        let series: Vec<XySeries> = labels.iter().filter(|l| pick(l)).map(|l| curve(l)).collect();
        if series.is_empty() {
            continue;
        }
        xy_chart(
            &page.dir.join(stem),
            &XyChart {
                title: &format!("{}: validation accuracy per epoch, seed {first}", page.family),
                x_label: "epoch",
                y_label: "validation accuracy (%)",
                series: &series,
            },
        )
        .map_err(figure_error)?;
        figures.push_str(&html::figure(
            stem,
            &format!(
                "Learning curves of the {caption}: mean validation accuracy over the training tasks after each \
                 epoch (seed {first}; for the points, over the points still training)"
            ),
            false,
        ));
    }
    let mut table = String::from("<table>\n<tr><th>model</th>");
    for (seed, _) in &per_seed {
        let _ = write!(table, "<th>seed {seed}: kept / run</th>");
    }
    table.push_str("<th>kept validation accuracy (%), mean over seeds</th></tr>\n");
    for label in &labels {
        let _ = write!(table, "<tr><td>{}</td>", html::escape(label));
        let mut kept_accuracy = Vec::new();
        for (_, rows) in &per_seed {
            let of: Vec<&HeldoutMetricsRow> = rows.iter().filter(|r| &r.method == label).collect();
            let run = of.iter().map(|r| r.epoch).max().unwrap_or(0);
            let kept = of.iter().filter(|r| r.kept > 0).map(|r| r.epoch).max().unwrap_or(0);
            if let Some(best) = of.iter().find(|r| r.kept > 0 && r.epoch == kept) {
                kept_accuracy.push(best.validation_accuracy);
            }
            let _ = write!(table, "<td class=\"num\">{kept} / {run}</td>");
        }
        let mean = kept_accuracy.iter().sum::<f64>() / kept_accuracy.len().max(1) as f64;
        let _ = writeln!(table, "<td class=\"num\">{:.2}</td></tr>", 100.0 * mean);
    }
    table.push_str("</table>\n");
    let config = &page.heldout.config;
    Ok(format!(
        "<h2 id=\"learning\">Convergence</h2>\n<p>One rule for every model: the last sixth of each training task's \
         training images is validation; training stops when the mean validation accuracy has not improved for {} \
         epochs, or after {} epochs, and the best epoch's parameters are kept. The CRWN's points are independent \
         models: each follows the rule on its own task (their <i>kept</i> column is the last point's). \
         <i>kept / run</i>: the epoch kept and the epochs run.</p>\n{table}{figures}",
        config.patience, page.pipeline.train.epochs
    ))
}

/// Each learned `c(s)` in the plane of the CRWN's points' first two
/// principal components (first seed).
pub(crate) fn manifold_section(page: &Page) -> Result<String, ReportError> {
    let Some(&seed) = page.pipeline.train.seeds.first() else {
        return Ok(String::new());
    };
    let rows = ManifoldPcaRow::read(&page.artifacts.analysis(seed, ManifoldPcaRow::FILE))?;
    let points: Vec<(f64, f64)> = rows
        .iter()
        .filter(|r| r.method == "points")
        .map(|r| (r.pc1, r.pc2))
        .collect();
    if points.is_empty() {
        return Ok(String::new());
    }
    let mut labels: Vec<String> = Vec::new();
    for r in rows.iter().filter(|r| r.method != "points") {
        if !labels.contains(&r.method) {
            labels.push(r.method.clone());
        }
    }
    if page.heldout.is_torus() {
        return torus_manifolds(page, seed, &rows, &points, &labels);
    }
    let mut figures = String::new();
    for (stem, caption, pick) in [
        (
            "manifold_rmsprop",
            "RMSprop models",
            &(|l: &str| !TrainedMethod::label_is_other_update(l)) as &dyn Fn(&str) -> bool,
        ),
        (
            "manifold_metric_sgd",
            "the metric update and plain SGD",
            &TrainedMethod::label_is_other_update as &dyn Fn(&str) -> bool,
        ),
    ] {
        let mut series: Vec<XySeries> = vec![XySeries {
            name: "CRWN points".into(),
            points: points.clone(),
            line: false,
        }];
        series.extend(labels.iter().filter(|l| pick(l)).map(|label| {
            let mut curve: Vec<(f64, f64)> = rows
                .iter()
                .filter(|r| &r.method == label)
                .map(|r| (r.pc1, r.pc2))
                .collect();
            // Close the loop: c(1) = c(0) for a periodic basis.
            if let Some(&first) = curve.first() {
                curve.push(first);
            }
            XySeries {
                name: label.clone(),
                points: curve,
                line: true,
            }
        }));
        if series.len() == 1 {
            continue;
        }
        xy_chart(
            &page.dir.join(stem),
            &XyChart {
                title: &format!("{}: c(s) in the CRWN points' PCA plane, seed {seed}", page.family),
                x_label: "principal component 1",
                y_label: "principal component 2",
                series: &series,
            },
        )
        .map_err(figure_error)?;
        figures.push_str(&html::figure(
            stem,
            &format!(
                "The learned context c(s) of the {caption} for s over [0, 1), drawn in the plane of the first two \
                 principal components of the CRWN's trained points (the dots, one per training task; seed {seed}). \
                 A non-periodic basis (line, quadratic) is drawn closed from s = 1 back to s = 0, which it does not join"
            ),
            false,
        ));
    }
    Ok(format!(
        "<h2 id=\"manifolds\">Pictures of the manifolds</h2>\n<p>Where each method puts the contexts of every task, \
         against the CRWN's points.</p>\n{figures}"
    ))
}

/// On a torus family: one figure per jointly trained model, its contexts
/// `c(s₁, s₂)` as a grid of curves (one closed curve over the rotation's
/// `s₁` per trained shift `s₂`) in the CRWN points' PCA plane, with the
/// points.
fn torus_manifolds(
    page: &Page,
    seed: u64,
    rows: &[ManifoldPcaRow],
    points: &[(f64, f64)],
    labels: &[String],
) -> Result<String, ReportError> {
    let width = page
        .pipeline
        .data
        .family
        .torus
        .get(1)
        .map_or(1.0, |shifts| shifts.span());
    let mut figures = String::new();
    for label in labels {
        let mut shifts: Vec<f64> = rows.iter().filter(|r| &r.method == label).map(|r| r.s2).collect();
        shifts.dedup();
        let mut series = vec![XySeries {
            name: "CRWN points".into(),
            points: points.to_vec(),
            line: false,
        }];
        for s2 in shifts {
            let mut curve: Vec<(f64, f64)> = rows
                .iter()
                .filter(|r| &r.method == label && r.s2 == s2)
                .map(|r| (r.pc1, r.pc2))
                .collect();
            if let Some(&first) = curve.first() {
                curve.push(first);
            }
            series.push(XySeries {
                name: format!("shift {} px", (s2 * width).round()),
                points: curve,
                line: true,
            });
        }
        let stem = format!("manifold_{label}");
        xy_chart(
            &page.dir.join(&stem),
            &XyChart {
                title: &format!(
                    "{}: {label}, c(s1, s2) in the CRWN points' PCA plane, seed {seed}",
                    page.family
                ),
                x_label: "principal component 1",
                y_label: "principal component 2",
                series: &series,
            },
        )
        .map_err(figure_error)?;
        figures.push_str(&html::figure(
            &stem,
            &format!(
                "<code>{}</code>: the learned context c(s1, s2) as a grid of curves, one closed curve over the \
                 rotation for each trained shift, in the plane of the first two principal components of the CRWN's \
                 trained points (the dots, one per training task; seed {seed})",
                html::escape(label)
            ),
            false,
        ));
    }
    Ok(format!(
        "<h2 id=\"manifolds\">Pictures of the manifolds</h2>\n<p>Where each method puts the contexts of every task, \
         against the CRWN's points.</p>\n{figures}"
    ))
}
