//! The summary of a held-out pipeline (`analyze/summary/`): the seeds'
//! held-out tables merged into the comparison table (method x split, mean
//! and 95 % interval across seeds: the expanded percentile bootstrap over
//! seeds, which keeps accuracies in 0-1), accuracy as a function of
//! `s`, the context cosines averaged over seeds, every statistic's interval,
//! and the claims of "Walking the Weight Manifold" with their verdicts.
//!
//! Each claim's statistic is a per-seed difference of mean accuracies in
//! percentage points, say circle minus input conditioning over the
//! interpolated tasks; the claim passes when the whole 95 % interval
//! across seeds is above 0, fails when all of it is below, and is
//! inconclusive otherwise. The comparison is its own control (the method
//! it must beat).

use crate::claims::{Claim, Direction, Section, Test, AFTER};
use crate::heldout::{in_split, split_names};
use crate::judge::{judge, ClaimRow};
use crate::stats::Range;
use crate::summary::write_claims;
use crate::{stats, AnalyzeError};
use arrow_array::{ArrayRef, Float64Array, StringArray, UInt16Array, UInt32Array, UInt64Array};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use tgsh_common::config::{Experiment, Split, Topology};
use tgsh_common::schema::analysis::{
    ContextCosineRow, ContextCosineSummaryRow, HeldoutCurveRow, HeldoutRow, HeldoutSummaryRow,
};
use tgsh_common::schema::Table as _;
use tgsh_common::schema::{self, analysis};
use tgsh_common::{Artifacts, Pipeline};

/// What the per-seed tables say about one method.
struct MethodInfo {
    name: String,
    topology: String,
    basis: String,
    update: String,
    parameters: u64,
    /// `[seed][task]`.
    accuracy: Vec<Vec<f64>>,
}

/// How far below the CRWN's interpolated points a manifold of their size
/// may be and still "match" them (percentage points): a non-inferiority
/// margin fixed before any data were seen.
pub const MATCH_MARGIN_POINTS: f64 = 1.0;

/// The claims of a held-out pipeline whose statistics exist in `statistics`
/// (differences of mean accuracy in percentage points).
///
/// The family's topology decides which comparisons test the paper's
/// claims at equal size: on a circular family the circle (3H) against input
/// conditioning on `(cos 2πs, sin 2πs)` (3H), and the circle against the
/// non-periodic quadratic (3H); on a line (a blur's σ, an arc of
/// rotations) the line (2H) against input conditioning on `s` (2H), and the
/// quadratic against the circle, the topology that does not fit.
pub fn heldout_claims(statistics: &crate::summary::PerSeed, splits: &[Split], topology: Topology) -> Vec<Claim> {
    let line = topology == Topology::Line;
    // The manifold of input conditioning's size, and (fitting, unfitting)
    // of the topology claim.
    let (own, own_size, input_size) = if line {
        ("line", "2H", "2H")
    } else {
        ("circle", "3H", "3H")
    };
    let (fits, misfits, misfit_words, family) = if line {
        (
            "quadratic",
            "circle",
            "circle",
            "a line family (its ends are different tasks)",
        )
    } else {
        ("circle", "quadratic", "non-periodic quadratic", "a circular family")
    };
    let paper = "Walking the Weight Manifold (abstract and findings)";
    let beyond = "beyond the paper: this project's question";
    let mut out = Vec::new();
    let mut push = |id: String, claim: String, figure: &str, statistic: String, threshold: f64, note: String| {
        if statistics.contains_key(&(statistic.clone(), AFTER.to_string())) {
            out.push(Claim {
                id,
                claim,
                figure: figure.into(),
                section: if figure == beyond {
                    Section::Beyond
                } else {
                    Section::Paper
                },
                statistic,
                state: AFTER,
                controls: Vec::new(),
                needs_training: false,
                test: Test::Bar {
                    threshold,
                    direction: Direction::Above,
                },
                note,
            });
        }
    };
    let note = |a: &str, b: &str, split: &str| {
        format!(
            "per seed: mean test accuracy over the {split} tasks of `{a}` minus that of `{b}`, in percentage points; 95 % bootstrap interval across seeds; every model trained to convergence under the pipeline's one rule"
        )
    };
    let largest = statistics
        .keys()
        .filter_map(|(k, _)| k.strip_prefix("heldout.difference[")?.split(" - points-interp]").next())
        .filter(|a| a.starts_with("fourier"))
        .map(str::to_string)
        .next();
    // On a torus: the product basis of the highest order with a statistic
    // against the points (`torus`, `torus2`, ...).
    let largest_torus = statistics
        .keys()
        .filter_map(|(k, _)| {
            k.strip_prefix("heldout.difference[")?
                .strip_suffix(" - points-interp].interpolated")
        })
        .filter(|a| crate::heldout::torus_order(a).is_some())
        .max_by_key(|a| crate::heldout::torus_order(a))
        .map(str::to_string);
    for split in [Split::Interpolated, Split::Extrapolated]
        .into_iter()
        .filter(|s| splits.contains(s))
        .map(Split::name)
    {
        push(
            format!("manifold-beats-input-{split}"),
            format!("Manifolds beat input conditioning out of distribution: the {own} (RMSprop, {own_size} numbers) against input conditioning ({input_size}) on {split} tasks"),
            paper,
            format!("heldout.difference[{own} - input].{split}"),
            0.0,
            note(own, "input", split),
        );
        let (own_metric, own_sgd) = (format!("{own}-metric"), format!("{own}-sgd"));
        push(
            format!("manifold-metric-beats-input-{split}"),
            format!(
                "Manifolds beat input conditioning out of distribution: the {own} with the paper's metric-preconditioned update on {split} tasks"
            ),
            paper,
            format!("heldout.difference[{own_metric} - input].{split}"),
            0.0,
            note(&own_metric, "input", split),
        );
        push(
            format!("topology-inductive-bias-{split}"),
            format!("Topology is an inductive bias: on {family} the {fits} beats the {misfit_words} of the same size (3H) on {split} tasks"),
            paper,
            format!("heldout.difference[{fits} - {misfits}].{split}"),
            0.0,
            note(fits, misfits, split),
        );
        push(
            format!("metric-update-helps-{split}"),
            format!("The metric-preconditioned update beats plain SGD without G⁻¹ (each at its own tuned step) for the {own} on {split} tasks"),
            paper,
            format!("heldout.difference[{own_metric} - {own_sgd}].{split}"),
            0.0,
            note(&own_metric, &own_sgd, split),
        );
        push(
            format!("piecewise-matches-crwn-{split}"),
            format!(
                "A manifold matches the CRWN's points at their size: the jointly trained piecewise-linear manifold (T H numbers) is at most {MATCH_MARGIN_POINTS} point below the points interpolated on {split} tasks"
            ),
            paper,
            format!("heldout.difference[piecewise - points-interp].{split}"),
            -MATCH_MARGIN_POINTS,
            note("piecewise", "points-interp", split),
        );
        if let Some(largest) = &largest {
            push(
                format!("largest-fourier-matches-crwn-{split}"),
                format!(
                    "A manifold matches the CRWN's points at their size: the largest Fourier basis the training tasks determine ({largest}) is at most {MATCH_MARGIN_POINTS} point below the points interpolated on {split} tasks"
                ),
                paper,
                format!("heldout.difference[{largest} - points-interp].{split}"),
                -MATCH_MARGIN_POINTS,
                note(largest, "points-interp", split),
            );
        }
        push(
            format!("manifold-beats-crwn-interpolation-{split}"),
            format!(
                "The {own} beats the CRWN's per-task contexts interpolated linearly between neighbours on {split} tasks"
            ),
            beyond,
            format!("heldout.difference[{own} - points-interp].{split}"),
            0.0,
            note(own, "points-interp", split),
        );
    }
    // A torus family (two task variables): its claims exist only when its
    // models were trained, so they are pushed on any family and kept where
    // their statistics exist.
    for split in [Split::Interpolated]
        .into_iter()
        .filter(|s| splits.contains(s))
        .map(Split::name)
    {
        push(
            format!("torus-beats-circles-{split}"),
            format!("Topology is an inductive bias on a torus: the torus (every product of the two variables' circle terms, 9H numbers) beats the additive two-circle basis of the same size (circles2, 9H: each variable's first and second harmonics, no interaction) on {split} grid tasks"),
            paper,
            format!("heldout.difference[torus - circles2].{split}"),
            0.0,
            note("torus", "circles2", split),
        );
        push(
            format!("torus-beats-input-{split}"),
            format!("Manifolds beat input conditioning out of distribution on a torus: the torus (9H) against input conditioning on the torus basis' eight terms (U 8H plus the shared context, 9H) on {split} grid tasks"),
            paper,
            format!("heldout.difference[torus - input].{split}"),
            0.0,
            note("torus", "input", split),
        );
        push(
            format!("torus-metric-beats-input-{split}"),
            format!("Manifolds beat input conditioning out of distribution on a torus: the torus with the paper's metric-preconditioned update (9H) against input conditioning (9H) on {split} grid tasks"),
            paper,
            format!("heldout.difference[torus-metric - input].{split}"),
            0.0,
            note("torus-metric", "input", split),
        );
        push(
            format!("torus-metric-update-helps-{split}"),
            format!("The metric-preconditioned update beats plain SGD without G⁻¹ (each at its own step) for the torus on {split} grid tasks"),
            paper,
            format!("heldout.difference[torus-metric - torus-sgd].{split}"),
            0.0,
            note("torus-metric", "torus-sgd", split),
        );
        // torus2 spans circles2 (each variable's first and second harmonics)
        // and adds their 16 products: if it does not beat circles2, the
        // interaction does not help at the largest order the grid
        // determines. Not at equal size (25H against 9H), so beyond the
        // paper's claims; the capacity ladder shows both families.
        push(
            format!("torus2-beats-circles2-{split}"),
            format!("Beyond the paper: the interaction of the two variables at the largest order the training grid determines: torus2 (25H: every product of each variable's first and second harmonics, circles2's terms among them) beats the additive circles2 (9H) on {split} grid tasks"),
            beyond,
            format!("heldout.difference[torus2 - circles2].{split}"),
            0.0,
            note("torus2", "circles2", split),
        );
        push(
            format!("bilinear-matches-crwn-{split}"),
            format!(
                "A manifold matches the CRWN's points at their size, on a torus: the jointly trained bilinear manifold (one knot per training task, T H numbers) is at most {MATCH_MARGIN_POINTS} point below the points interpolated bilinearly on {split} grid tasks"
            ),
            paper,
            format!("heldout.difference[bilinear - points-interp].{split}"),
            -MATCH_MARGIN_POINTS,
            note("bilinear", "points-interp", split),
        );
        if let Some(largest) = &largest_torus {
            push(
                format!("largest-torus-matches-crwn-{split}"),
                format!(
                    "A manifold matches the CRWN's points at their size, on a torus: the largest product basis the training grid determines ({largest}) is at most {MATCH_MARGIN_POINTS} point below the points interpolated bilinearly on {split} grid tasks"
                ),
                paper,
                format!("heldout.difference[{largest} - points-interp].{split}"),
                -MATCH_MARGIN_POINTS,
                note(largest, "points-interp", split),
            );
        }
        push(
            format!("torus-beats-crwn-interpolation-{split}"),
            format!("The torus (9H) beats the CRWN's per-task contexts interpolated bilinearly on the training grid on {split} grid tasks"),
            beyond,
            format!("heldout.difference[torus - points-interp].{split}"),
            0.0,
            note("torus", "points-interp", split),
        );
    }
    push(
        "torus-beats-input-seen".into(),
        "Manifolds outperform input conditioning on the tasks trained, on a torus (the torus against input conditioning, 9H each)".into(),
        paper,
        "heldout.difference[torus - input].seen".into(),
        0.0,
        note("torus", "input", "seen"),
    );
    push(
        "manifold-beats-input-seen".into(),
        if line {
            format!("Manifolds outperform input conditioning on the tasks trained (the {own} against input conditioning, {own_size} each)")
        } else {
            "Manifolds outperform input conditioning on the tasks trained".into()
        },
        paper,
        format!("heldout.difference[{own} - input].seen"),
        0.0,
        note(own, "input", "seen"),
    );
    out
}

/// Writes the summary into `dir`; returns the measured claims.
pub fn summarise(
    pipeline: &Pipeline,
    artifacts: &Artifacts,
    splits: &[Split],
    dir: &Path,
) -> Result<Vec<ClaimRow>, AnalyzeError> {
    let seeds = &pipeline.train.seeds;
    let n = splits.len();
    let meta = BTreeMap::from([("tgsh_version".to_string(), tgsh_common::VERSION.to_string())]);
    let write = |name: &str, schema: arrow_schema::SchemaRef, columns: Vec<ArrayRef>| {
        let path = dir.join(name);
        let batch = schema::batch(&path, schema, columns)?;
        schema::write_parquet(&path, &batch, &meta).map_err(AnalyzeError::from)
    };

    // The per-seed accuracy tables.
    let mut methods: Vec<MethodInfo> = Vec::new();
    let mut task_s = vec![f64::NAN; n];
    for (k, &seed) in seeds.iter().enumerate() {
        let path = artifacts.analysis(seed, HeldoutRow::FILE);
        let table = schema::read_parquet(&path, &analysis::heldout_schema())?;
        let names = table.strings("method")?;
        let (topologies, bases, updates) = (
            table.strings("topology")?,
            table.strings("basis")?,
            table.strings("update")?,
        );
        let parameters = table.primitive::<arrow_array::types::UInt64Type>("parameters")?;
        let tasks = table.primitive::<arrow_array::types::UInt16Type>("task")?;
        let s = table.finite_f64("s")?;
        let accuracy = table.finite_f64("accuracy")?;
        for row in 0..names.len() {
            let t = tasks[row] as usize;
            if t >= n {
                return Err(AnalyzeError::Inconsistent(format!(
                    "{}: task {t}, but the family has {n} tasks",
                    path.display()
                )));
            }
            task_s[t] = s[row];
            let m = match methods.iter().position(|m| m.name == names[row]) {
                Some(m) => m,
                None => {
                    methods.push(MethodInfo {
                        name: names[row].clone(),
                        topology: topologies[row].clone(),
                        basis: bases[row].clone(),
                        update: updates[row].clone(),
                        parameters: parameters[row],
                        accuracy: vec![vec![f64::NAN; n]; seeds.len()],
                    });
                    methods.len() - 1
                }
            };
            methods[m].accuracy[k][t] = accuracy[row];
        }
    }

    // heldout.parquet: method x split.
    let names = split_names(splits);
    let mut table = Vec::new();
    for m in &methods {
        for &split in &names {
            let per_seed: Vec<f64> = m
                .accuracy
                .iter()
                .map(|acc| {
                    let values: Vec<f64> = acc
                        .iter()
                        .zip(splits)
                        .filter(|(_, &s)| in_split(s, split))
                        .map(|(&a, _)| a)
                        .collect();
                    stats::mean(&values)
                })
                .collect();
            let tasks = splits.iter().filter(|&&s| in_split(s, split)).count() as u32;
            table.push((m, split, tasks, stats::interval(&per_seed, Range::FRACTION)));
        }
    }
    let text = |f: &dyn Fn(&MethodInfo) -> &str| -> ArrayRef {
        Arc::new(StringArray::from(table.iter().map(|r| f(r.0)).collect::<Vec<_>>()))
    };
    write(
        HeldoutSummaryRow::FILE,
        analysis::heldout_summary_schema(),
        vec![
            text(&|m| &m.name),
            text(&|m| &m.topology),
            text(&|m| &m.basis),
            text(&|m| &m.update),
            Arc::new(UInt64Array::from(
                table.iter().map(|r| r.0.parameters).collect::<Vec<_>>(),
            )),
            Arc::new(StringArray::from(table.iter().map(|r| r.1).collect::<Vec<_>>())),
            Arc::new(UInt32Array::from(table.iter().map(|r| r.2).collect::<Vec<_>>())),
            Arc::new(Float64Array::from(table.iter().map(|r| r.3 .0).collect::<Vec<_>>())),
            Arc::new(Float64Array::from(table.iter().map(|r| r.3 .1).collect::<Vec<_>>())),
            Arc::new(Float64Array::from(table.iter().map(|r| r.3 .2).collect::<Vec<_>>())),
            Arc::new(UInt32Array::from(vec![seeds.len() as u32; table.len()])),
        ],
    )?;

    // heldout_curve.parquet: accuracy as a function of s.
    let curve: Vec<(&MethodInfo, usize, (f64, f64, f64))> = methods
        .iter()
        .flat_map(|m| {
            (0..n).map(move |t| {
                let values: Vec<f64> = m.accuracy.iter().map(|acc| acc[t]).collect();
                (m, t, stats::interval(&values, Range::FRACTION))
            })
        })
        .collect();
    write(
        HeldoutCurveRow::FILE,
        analysis::heldout_curve_schema(),
        vec![
            Arc::new(StringArray::from(
                curve.iter().map(|r| r.0.name.as_str()).collect::<Vec<_>>(),
            )),
            Arc::new(UInt16Array::from(curve.iter().map(|r| r.1 as u16).collect::<Vec<_>>())),
            Arc::new(Float64Array::from(
                curve.iter().map(|r| task_s[r.1]).collect::<Vec<_>>(),
            )),
            Arc::new(StringArray::from(
                curve.iter().map(|r| splits[r.1].name()).collect::<Vec<_>>(),
            )),
            Arc::new(Float64Array::from(curve.iter().map(|r| r.2 .0).collect::<Vec<_>>())),
            Arc::new(Float64Array::from(curve.iter().map(|r| r.2 .1).collect::<Vec<_>>())),
            Arc::new(Float64Array::from(curve.iter().map(|r| r.2 .2).collect::<Vec<_>>())),
            Arc::new(UInt32Array::from(vec![seeds.len() as u32; curve.len()])),
        ],
    )?;

    // context_cosine.parquet: mean over seeds.
    let mut cosines: BTreeMap<(String, String, u16, u16), Vec<f64>> = BTreeMap::new();
    let mut order = Vec::new();
    for &seed in seeds {
        let table = schema::read_parquet(
            &artifacts.analysis(seed, ContextCosineRow::FILE),
            &analysis::context_cosine_schema(),
        )?;
        let (m, kind) = (table.strings("method")?, table.strings("kind")?);
        let (i, j) = (
            table.primitive::<arrow_array::types::UInt16Type>("task_i")?,
            table.primitive::<arrow_array::types::UInt16Type>("task_j")?,
        );
        let cos = table.finite_f64("cosine")?;
        for row in 0..m.len() {
            let key = (m[row].clone(), kind[row].clone(), i[row], j[row]);
            let values = cosines.entry(key.clone()).or_default();
            if values.is_empty() {
                order.push(key);
            }
            values.push(cos[row]);
        }
    }
    write(
        ContextCosineSummaryRow::FILE,
        analysis::context_cosine_summary_schema(),
        vec![
            Arc::new(StringArray::from(
                order.iter().map(|k| k.0.as_str()).collect::<Vec<_>>(),
            )),
            Arc::new(StringArray::from(
                order.iter().map(|k| k.1.as_str()).collect::<Vec<_>>(),
            )),
            Arc::new(UInt16Array::from(order.iter().map(|k| k.2).collect::<Vec<_>>())),
            Arc::new(UInt16Array::from(order.iter().map(|k| k.3).collect::<Vec<_>>())),
            Arc::new(Float64Array::from(
                order.iter().map(|k| stats::mean(&cosines[k])).collect::<Vec<_>>(),
            )),
            Arc::new(UInt32Array::from(
                order.iter().map(|k| cosines[k].len() as u32).collect::<Vec<_>>(),
            )),
        ],
    )?;

    // statistics.parquet and claims.parquet.
    let per_seed = crate::summary::read_seed_statistics(artifacts, seeds)?;
    crate::summary::write_statistics(&write, &per_seed)?;
    let topology = match &pipeline.experiment {
        Experiment::Heldout(h) => h.topology,
        Experiment::Family(_) => unreachable!("a held-out summary is of a held-out pipeline"),
    };
    let claims: Vec<ClaimRow> = heldout_claims(&per_seed, splits, topology)
        .into_iter()
        .map(|claim| {
            let values = per_seed[&(claim.statistic.clone(), AFTER.to_string())].clone();
            judge(claim, &values, &[])
        })
        .collect();
    write_claims(&dir.join(tgsh_common::schema::analysis::ClaimRow::FILE), &claims, &meta)?;
    Ok(claims)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claims_exist_only_for_measured_statistics_and_present_splits() {
        let stats = BTreeMap::from([
            (
                (
                    "heldout.difference[circle - input].interpolated".to_string(),
                    AFTER.to_string(),
                ),
                vec![0.1],
            ),
            (
                ("heldout.difference[circle - input].seen".to_string(), AFTER.to_string()),
                vec![0.1],
            ),
        ]);
        let splits = [Split::Seen, Split::Interpolated];
        let ids: Vec<String> = heldout_claims(&stats, &splits, Topology::Circle)
            .into_iter()
            .map(|c| c.id)
            .collect();
        assert_eq!(ids, ["manifold-beats-input-interpolated", "manifold-beats-input-seen"]);
    }

    #[test]
    fn on_a_line_family_the_equal_size_comparisons_are_the_lines() {
        let key = |s: &str| (s.to_string(), AFTER.to_string());
        let stats = BTreeMap::from([
            (key("heldout.difference[circle - input].extrapolated"), vec![0.1]),
            (key("heldout.difference[line - input].extrapolated"), vec![0.1]),
            (key("heldout.difference[quadratic - circle].extrapolated"), vec![0.1]),
            (key("heldout.difference[circle - quadratic].extrapolated"), vec![0.1]),
        ]);
        let splits = [Split::Seen, Split::Extrapolated];
        let line = heldout_claims(&stats, &splits, Topology::Line);
        let statistics: Vec<&str> = line.iter().map(|c| c.statistic.as_str()).collect();
        assert_eq!(
            statistics,
            [
                "heldout.difference[line - input].extrapolated",
                "heldout.difference[quadratic - circle].extrapolated"
            ]
        );
        assert!(line[1].claim.contains("a line family"), "{}", line[1].claim);
        let circle = heldout_claims(&stats, &splits, Topology::Circle);
        let statistics: Vec<&str> = circle.iter().map(|c| c.statistic.as_str()).collect();
        assert_eq!(
            statistics,
            [
                "heldout.difference[circle - input].extrapolated",
                "heldout.difference[circle - quadratic].extrapolated"
            ]
        );
    }

    #[test]
    fn the_match_claims_are_non_inferiority_with_the_stated_margin() {
        let stats = BTreeMap::from([
            (
                (
                    "heldout.difference[piecewise - points-interp].interpolated".to_string(),
                    AFTER.to_string(),
                ),
                vec![-0.5],
            ),
            (
                (
                    "heldout.difference[fourier6 - points-interp].interpolated".to_string(),
                    AFTER.to_string(),
                ),
                vec![-0.5],
            ),
        ]);
        let claims = heldout_claims(&stats, &[Split::Seen, Split::Interpolated], Topology::Circle);
        let ids: Vec<&str> = claims.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "piecewise-matches-crwn-interpolated",
                "largest-fourier-matches-crwn-interpolated"
            ]
        );
        assert!(claims.iter().all(|c| matches!(
            c.test,
            Test::Bar { threshold, .. } if threshold == -MATCH_MARGIN_POINTS
        )));
        assert!(claims[1].claim.contains("fourier6"));
    }

    #[test]
    fn the_torus_match_claim_takes_the_largest_product_basis() {
        let key = |k: &str| (k.to_string(), AFTER.to_string());
        let stats = BTreeMap::from([
            (
                key("heldout.difference[torus - points-interp].interpolated"),
                vec![-9.0],
            ),
            (
                key("heldout.difference[torus2 - points-interp].interpolated"),
                vec![-0.5],
            ),
            (key("heldout.difference[torus2 - circles2].interpolated"), vec![4.0]),
            (
                key("heldout.difference[bilinear - points-interp].interpolated"),
                vec![0.2],
            ),
        ]);
        let claims = heldout_claims(&stats, &[Split::Seen, Split::Interpolated], Topology::Circle);
        let ids: Vec<&str> = claims.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "torus2-beats-circles2-interpolated",
                "bilinear-matches-crwn-interpolated",
                "largest-torus-matches-crwn-interpolated",
                "torus-beats-crwn-interpolation-interpolated"
            ]
        );
        assert!(matches!(claims[1].test, Test::Bar { threshold, .. } if threshold == -MATCH_MARGIN_POINTS));
        let matched = &claims[2];
        assert_eq!(
            matched.statistic,
            "heldout.difference[torus2 - points-interp].interpolated"
        );
        assert!(matches!(matched.test, Test::Bar { threshold, .. } if threshold == -MATCH_MARGIN_POINTS));
        assert_eq!(matched.section, Section::Paper);
        assert_eq!(claims[0].section, Section::Beyond);
    }
}
