//! The summary (`analyze/summary/`): every seed's shard merged. The seeds
//! are the independent units: each statistic, in every state it was
//! measured in, gets its mean and 95 % interval across seeds (Student t, or
//! for a statistic with a bounded range the expanded percentile bootstrap
//! over seeds, which stays in the range); the T-GSH comparison, the
//! adjacency and representation profiles likewise; the seed-mean
//! similarity matrix is clustered for the report's dendrogram; the class
//! means that reconstructions are scored against are stored; the
//! subsampling claim compares two families at matched offsets; and every
//! claim is judged beside its controls (`claims.parquet`).

use crate::claims::{self, Claim, Test, AFTER, BEFORE};
use crate::judge::{self, ClaimRow, ControlRow, Interval};
use crate::shard::{cluster_columns, dendrogram_columns, TestSet};
use crate::stats::Range;
use crate::subsampling::{self, Profiles};
use crate::{clustering, reconstruction, stats, AnalyzeError};
use arrow_array::{ArrayRef, BooleanArray, Float64Array, StringArray, UInt16Array, UInt32Array, UInt8Array};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use tgsh_common::config::{ClaimSpec, FamilyExperiment};
use tgsh_common::schema::analysis::RepresentationProfileSummaryRow;
use tgsh_common::schema::analysis::{
    AccuracySummaryRow, AdjacencyRow, AdjacencySummaryRow, ClassMeanRow, ClusterSummaryRow, DendrogramSummaryRow,
    SeedStatisticRow, SimilarityRow, StatisticRow, SubsamplingRow, TgshSummaryRow,
};
use tgsh_common::schema::{self, analysis, Table};
use tgsh_common::{Artifacts, Pipeline};

/// Reads every `n x n` similarity matrix of a `similarity.parquet`, by
/// (seed, state).
pub fn read_similarity(path: &Path, n: usize) -> Result<BTreeMap<(u64, String), Vec<f64>>, AnalyzeError> {
    Ok(schema::similarity_matrices(path, n)?)
}

/// Per-seed values of every statistic, by `(statistic, state)`, in seed order.
pub type PerSeed = BTreeMap<(String, String), Vec<f64>>;

/// The interval of a statistic with its range's method.
fn interval_of(statistic: &str, values: &[f64]) -> (Interval, &'static str) {
    let range = claims::range_of(statistic).unwrap_or(Range::Unbounded);
    (Interval::of(values, range), range.method())
}

type Writer<'a> = dyn Fn(&str, arrow_schema::SchemaRef, Vec<ArrayRef>) -> Result<(), AnalyzeError> + 'a;

fn floats(values: impl IntoIterator<Item = f64>) -> ArrayRef {
    Arc::new(Float64Array::from(values.into_iter().collect::<Vec<_>>()))
}

fn texts<'a>(values: impl IntoIterator<Item = &'a str>) -> ArrayRef {
    Arc::new(StringArray::from(values.into_iter().collect::<Vec<_>>()))
}

fn u32s(values: impl IntoIterator<Item = u32>) -> ArrayRef {
    Arc::new(UInt32Array::from(values.into_iter().collect::<Vec<_>>()))
}

/// Writes the summary of every seed's shard into `dir`.
pub fn summarise(
    pipeline: &Pipeline,
    family: &FamilyExperiment,
    artifacts: &Artifacts,
    test: &TestSet,
    dir: &Path,
) -> Result<Vec<ClaimRow>, AnalyzeError> {
    let config = &family.analyze;
    let topology = family.topology;
    let n = test.names.len();
    let seeds = &pipeline.train.seeds;
    let references: BTreeMap<String, (Artifacts, Vec<u64>)> = tgsh_common::plan::references(pipeline, artifacts)?
        .into_iter()
        .map(|(name, other, seeds)| (name, (other, seeds)))
        .collect();
    let meta = BTreeMap::from([("tgsh_version".to_string(), tgsh_common::VERSION.to_string())]);
    let write = |name: &str, schema: arrow_schema::SchemaRef, columns: Vec<ArrayRef>| -> Result<(), AnalyzeError> {
        let path = dir.join(name);
        let batch = schema::batch(&path, schema, columns)?;
        schema::write_parquet(&path, &batch, &meta)?;
        Ok(())
    };

    let per_seed = read_seed_statistics(artifacts, seeds)?;
    write_statistics(&write, &per_seed)?;

    // The subsampling claims: this family against a finer one.
    let mut special = BTreeMap::new();
    for spec in &config.claims {
        if let ClaimSpec::SubsampleOf {
            pipeline: name,
            every,
            margin,
        } = spec
        {
            let (other, other_seeds) = &references[name];
            let step = pipeline.data.family.sweep.as_ref().map_or(f64::NAN, |s| s.step);
            let mut offsets = Vec::new();
            for state in [AFTER, BEFORE] {
                let coarse = read_profiles(artifacts, seeds, AdjacencyRow::FILE, state)?;
                let fine = read_profiles(other, other_seeds, AdjacencyRow::FILE, state)?;
                if fine.is_empty() {
                    return Err(AnalyzeError::Inconsistent(format!(
                        "{}: no {state} adjacency profile; run `tgsh-analyze pipelines/{name}.toml` first",
                        other.analysis(other_seeds[0], AdjacencyRow::FILE).display()
                    )));
                }
                offsets.push((state, subsampling::compare(&coarse, &fine, *every, *margin)));
            }
            write_subsampling(&write, &offsets, step, *margin)?;
            special.insert(claims::spec_statistics(spec)[0].clone(), offsets);
        }
    }

    // claims.parquet.
    let transform = claims::transform_noun(&pipeline.data.family);
    let claim_rows: Vec<ClaimRow> = claims::claims(topology, &config.claims, n, transform)
        .into_iter()
        .map(|claim| match special.get(&claim.statistic) {
            Some(offsets) => subsample_row(claim, offsets),
            None => {
                let get = |state: &str| {
                    per_seed
                        .get(&(claim.statistic.clone(), state.to_string()))
                        .cloned()
                        .unwrap_or_else(|| vec![f64::NAN; seeds.len()])
                };
                let values = get(claim.state);
                let controls: Vec<(&str, Vec<f64>)> = claim.controls.iter().map(|&c| (c, get(c))).collect();
                judge::judge(claim, &values, &controls)
            }
        })
        .collect();
    write_claims(&dir.join(analysis::ClaimRow::FILE), &claim_rows, &meta)?;

    // tgsh.parquet: each seed's statistics across seeds, per state.
    let mut tgsh_rows = Vec::new();
    for state in [claims::AFTER, claims::BEFORE, claims::UNMODULATED] {
        for grouping in crate::tgsh::GROUPINGS {
            let get = |what: &str| {
                per_seed
                    .get(&(format!("tgsh.{grouping}.{what}"), state.to_string()))
                    .cloned()
                    .unwrap_or_default()
            };
            if get("auc").is_empty() {
                continue;
            }
            let difference = Interval::of(&get("difference"), Range::Bounded(-2.0, 2.0));
            let auc = Interval::of(&get("auc"), Range::FRACTION);
            tgsh_rows.push((
                state,
                grouping,
                stats::mean(&get("intra_mean")),
                stats::mean(&get("inter_mean")),
                difference,
                auc,
            ));
        }
    }
    write(
        TgshSummaryRow::FILE,
        analysis::tgsh_summary_schema(),
        vec![
            texts(tgsh_rows.iter().map(|r| r.0)),
            texts(tgsh_rows.iter().map(|r| r.1)),
            floats(tgsh_rows.iter().map(|r| r.2)),
            floats(tgsh_rows.iter().map(|r| r.3)),
            floats(tgsh_rows.iter().map(|r| r.4.mean)),
            floats(tgsh_rows.iter().map(|r| r.4.low)),
            floats(tgsh_rows.iter().map(|r| r.4.high)),
            floats(tgsh_rows.iter().map(|r| r.5.mean)),
            floats(tgsh_rows.iter().map(|r| r.5.low)),
            floats(tgsh_rows.iter().map(|r| r.5.high)),
            u32s(tgsh_rows.iter().map(|r| r.5.seeds)),
        ],
    )?;

    // adjacency.parquet, representation_profile.parquet: each distance across seeds.
    for (name, schema) in [
        (AdjacencySummaryRow::FILE, AdjacencySummaryRow::schema()),
        (
            RepresentationProfileSummaryRow::FILE,
            RepresentationProfileSummaryRow::schema(),
        ),
    ] {
        let mut rows: Vec<(String, u32, Interval)> = Vec::new();
        for state in [BEFORE, AFTER, claims::UNMODULATED] {
            for (d, values) in read_profiles(artifacts, seeds, name, state)? {
                rows.push((state.to_string(), d as u32, Interval::of(&values, Range::CORRELATION)));
            }
        }
        write(
            name,
            schema,
            vec![
                texts(rows.iter().map(|r| r.0.as_str())),
                u32s(rows.iter().map(|r| r.1)),
                floats(rows.iter().map(|r| r.2.mean)),
                floats(rows.iter().map(|r| r.2.low)),
                floats(rows.iter().map(|r| r.2.high)),
                u32s(rows.iter().map(|r| r.2.seeds)),
            ],
        )?;
    }

    // accuracy.parquet: each task's final test accuracy across seeds.
    let mut by_task = vec![Vec::with_capacity(seeds.len()); n];
    for &seed in seeds {
        let accuracies = crate::shard::final_accuracies(&artifacts.metrics(seed), n)?;
        for (task, a) in accuracies.into_iter().enumerate() {
            by_task[task].push(a);
        }
    }
    let intervals: Vec<Interval> = by_task.iter().map(|v| Interval::of(v, Range::FRACTION)).collect();
    write(
        AccuracySummaryRow::FILE,
        analysis::accuracy_summary_schema(),
        vec![
            Arc::new(UInt16Array::from((0..n as u16).collect::<Vec<_>>())),
            floats(intervals.iter().map(|i| i.mean)),
            floats(intervals.iter().map(|i| i.low)),
            floats(intervals.iter().map(|i| i.high)),
            u32s(vec![seeds.len() as u32; n]),
            schema::float_list_column(&by_task),
        ],
    )?;

    // The tree of the seed-mean similarity matrix (the report's Fig. 7).
    let mut after = Vec::new();
    for &seed in seeds {
        let path = artifacts.analysis(seed, SimilarityRow::FILE);
        let m = read_similarity(&path, n)?;
        after.push(
            m.get(&(seed, AFTER.to_string()))
                .cloned()
                .ok_or_else(|| AnalyzeError::Inconsistent(format!("{}: no `after` matrix", path.display())))?,
        );
    }
    let mean_matrix: Vec<f64> = (0..n * n)
        .map(|k| stats::mean(&after.iter().map(|m| m[k]).collect::<Vec<_>>()))
        .collect();
    let tree = clustering::dendrogram(
        &clustering::condensed_cosine_distance(&mean_matrix, n),
        n,
        config.linkage,
    );
    let labels = clustering::linfa_labels(&mean_matrix, n, config.clusters, config.linkage);
    write(
        DendrogramSummaryRow::FILE,
        analysis::dendrogram_schema(false),
        dendrogram_columns(&tree),
    )?;
    write(
        ClusterSummaryRow::FILE,
        analysis::clusters_schema(false),
        cluster_columns(&tree, &labels),
    )?;

    // The class means reconstructions are scored against.
    let means = reconstruction::class_means(&test.images, &test.labels);
    let cells: Vec<(usize, usize, &reconstruction::ClassMean)> = means
        .iter()
        .enumerate()
        .flat_map(|(t, classes)| classes.iter().enumerate().map(move |(k, m)| (t, k, m)))
        .collect();
    write(
        ClassMeanRow::FILE,
        analysis::class_means_schema(),
        vec![
            Arc::new(UInt16Array::from(cells.iter().map(|c| c.0 as u16).collect::<Vec<_>>())),
            Arc::new(UInt8Array::from(cells.iter().map(|c| c.1 as u8).collect::<Vec<_>>())),
            u32s(cells.iter().map(|c| c.2 .1 as u32)),
            schema::float_image_column(cells.iter().flat_map(|c| c.2 .0.iter().copied()).collect()),
        ],
    )?;
    Ok(claim_rows)
}

/// Writes `statistics.parquet`: every (statistic, state) across seeds.
pub(crate) fn write_statistics(write: &Writer<'_>, per_seed: &PerSeed) -> Result<(), AnalyzeError> {
    let rows: Vec<(&str, &str, Interval, &str, &Vec<f64>)> = per_seed
        .iter()
        .map(|((name, state), values)| {
            let (interval, method) = interval_of(name, values);
            (name.as_str(), state.as_str(), interval, method, values)
        })
        .collect();
    write(
        StatisticRow::FILE,
        analysis::summary_statistics_schema(),
        vec![
            texts(rows.iter().map(|r| r.0)),
            texts(rows.iter().map(|r| r.1)),
            floats(rows.iter().map(|r| r.2.mean)),
            floats(rows.iter().map(|r| r.2.low)),
            floats(rows.iter().map(|r| r.2.high)),
            texts(rows.iter().map(|r| r.3)),
            u32s(rows.iter().map(|r| r.2.seeds)),
            schema::float_list_column(&rows.iter().map(|r| r.4.clone()).collect::<Vec<_>>()),
        ],
    )
}

/// Each seed's profile (an `adjacency`-schema table) in `state`: by
/// distance, one value per seed that has it.
fn read_profiles(artifacts: &Artifacts, seeds: &[u64], name: &str, state: &str) -> Result<Profiles, AnalyzeError> {
    let mut out: Profiles = BTreeMap::new();
    for &seed in seeds {
        // The two profiles share their columns.
        let table = schema::read_parquet(&artifacts.analysis(seed, name), &AdjacencyRow::schema())?;
        let states = table.strings("state")?;
        let distances = table.primitive::<arrow_array::types::UInt32Type>("distance")?;
        let means = table.finite_f64("mean_similarity")?;
        for ((s, d), m) in states.into_iter().zip(distances).zip(means) {
            if s == state {
                out.entry(d as usize).or_default().push(m);
            }
        }
    }
    Ok(out)
}

fn write_subsampling(
    write: &Writer<'_>,
    offsets: &[(&str, Vec<subsampling::Offset>)],
    step: f64,
    margin: f64,
) -> Result<(), AnalyzeError> {
    let rows: Vec<(&str, &subsampling::Offset)> = offsets
        .iter()
        .flat_map(|(state, o)| o.iter().map(move |o| (*state, o)))
        .collect();
    let interval = |f: &dyn Fn(&subsampling::Offset) -> &Vec<f64>| -> Vec<Interval> {
        rows.iter()
            .map(|(_, o)| Interval::of(f(o), Range::CORRELATION))
            .collect()
    };
    let mut columns = vec![
        texts(rows.iter().map(|r| r.0)),
        u32s(rows.iter().map(|r| r.1.distance as u32)),
        floats(rows.iter().map(|r| r.1.distance as f64 * step)),
    ];
    for intervals in [
        interval(&|o| &o.coarse),
        interval(&|o| &o.same_pixel),
        interval(&|o| &o.same_index),
    ] {
        columns.push(floats(intervals.iter().map(|i| i.mean)));
        columns.push(floats(intervals.iter().map(|i| i.low)));
        columns.push(floats(intervals.iter().map(|i| i.high)));
    }
    columns.extend([
        floats(rows.iter().map(|r| r.1.pixel.difference)),
        floats(rows.iter().map(|r| r.1.pixel.low)),
        floats(rows.iter().map(|r| r.1.pixel.high)),
        Arc::new(BooleanArray::from(
            rows.iter().map(|r| r.1.pixel.equivalent).collect::<Vec<_>>(),
        )) as ArrayRef,
        floats(rows.iter().map(|r| r.1.index.difference)),
        floats(rows.iter().map(|r| r.1.index.low)),
        floats(rows.iter().map(|r| r.1.index.high)),
        Arc::new(BooleanArray::from(
            rows.iter().map(|r| r.1.index.outside).collect::<Vec<_>>(),
        )) as ArrayRef,
        floats(vec![margin; rows.len()]),
    ]);
    write(SubsamplingRow::FILE, analysis::subsampling_schema(), columns)
}

/// The subsampling claim's row from its per-offset comparisons (trained and
/// before training).
fn subsample_row(claim: Claim, offsets: &[(&str, Vec<subsampling::Offset>)]) -> ClaimRow {
    let margin = match claim.test {
        Test::Subsample { margin } => margin,
        _ => f64::NAN,
    };
    let of = |state: &str| {
        offsets
            .iter()
            .find(|(s, _)| *s == state)
            .map(|(_, o)| o.as_slice())
            .unwrap_or(&[])
    };
    let (after, before) = (of(AFTER), of(BEFORE));
    let verdict = subsampling::verdict(after);
    let as_interval = |e: &stats::Equivalence, seeds: usize| Interval {
        mean: e.difference,
        low: e.low,
        high: e.high,
        seeds: seeds as u32,
    };
    let (value, control) = match subsampling::extremes(after) {
        Some((pixel, index)) => (
            as_interval(&pixel.pixel, pixel.coarse.len()),
            as_interval(&index.index, index.coarse.len()),
        ),
        None => (Interval::missing(), Interval::missing()),
    };
    let equivalent = after.iter().filter(|o| o.pixel.equivalent).count();
    let outside = after.iter().filter(|o| o.index.outside).count();
    let before_outside = before.iter().filter(|o| o.index.outside).count();
    let reading = format!(
        "{}: at {equivalent} of {} task distances the similarity equals the finer family's at the same pixel offset within ±{margin} \
         (largest matched-pixel difference {:.3} [{:.3}, {:.3}], 90 %), and at {outside} of them it differs from the finer family's at the same \
         task index by more than ±{margin} (smallest such difference {:.3} [{:.3}, {:.3}]). Before training the same test tells the readings \
         apart at {before_outside} of {} distances.",
        match verdict {
            "pass" => "Holds",
            "fail" => "Does not hold",
            _ => "Inconclusive",
        },
        after.len(),
        value.mean,
        value.low,
        value.high,
        control.mean,
        control.low,
        control.high,
        before.len(),
    );
    ClaimRow {
        claim,
        value,
        interval: "90 %, Welch t across both families' seeds (two one-sided tests at 95 %)".into(),
        unit: "",
        controls: vec![ControlRow {
            state: "same task index (the rival reading)".into(),
            value: control,
            difference: Interval::missing(),
        }],
        verdict,
        reading,
    }
}

/// Every seed shard's `statistics.parquet`: each (statistic, state)'s
/// values in seed order (NaN where a seed lacks it).
pub(crate) fn read_seed_statistics(artifacts: &Artifacts, seeds: &[u64]) -> Result<PerSeed, AnalyzeError> {
    let mut per_seed: PerSeed = BTreeMap::new();
    for (k, &seed) in seeds.iter().enumerate() {
        let table = schema::read_parquet(
            &artifacts.analysis(seed, SeedStatisticRow::FILE),
            &analysis::seed_statistics_schema(),
        )?;
        let names = table.strings("statistic")?;
        let states = table.strings("state")?;
        let values = table.primitive::<arrow_array::types::Float64Type>("value")?;
        for ((name, state), value) in names.into_iter().zip(states).zip(values) {
            per_seed
                .entry((name, state))
                .or_insert_with(|| vec![f64::NAN; seeds.len()])[k] = value;
        }
    }
    Ok(per_seed)
}

/// Writes `claims.parquet` (shared with the held-out summary).
pub(crate) fn write_claims(
    path: &Path,
    rows: &[ClaimRow],
    meta: &BTreeMap<String, String>,
) -> Result<(), AnalyzeError> {
    let s = |f: &dyn Fn(&ClaimRow) -> String| -> ArrayRef {
        Arc::new(StringArray::from(rows.iter().map(f).collect::<Vec<_>>()))
    };
    let x = |f: &dyn Fn(&ClaimRow) -> f64| -> ArrayRef { floats(rows.iter().map(f)) };
    let test = |c: &Claim| -> (f64, &'static str, f64) {
        match c.test {
            Test::Bar { threshold, direction } => (threshold, direction.symbol(), f64::NAN),
            Test::Equivalent { reference, margin } => (reference, "within", margin),
            Test::Subsample { margin } => (0.0, "within", margin),
        }
    };
    let mut columns = vec![
        s(&|r| r.claim.id.clone()),
        s(&|r| r.claim.section.name().into()),
        s(&|r| r.claim.claim.clone()),
        s(&|r| r.claim.figure.clone()),
        s(&|r| r.claim.statistic.clone()),
        s(&|r| r.claim.state.into()),
        s(&|r| r.unit.into()),
        s(&|r| r.interval.clone()),
        x(&|r| r.value.mean),
        x(&|r| r.value.low),
        x(&|r| r.value.high),
        u32s(rows.iter().map(|r| r.value.seeds)),
        x(&|r| test(&r.claim).0),
        s(&|r| test(&r.claim).1.into()),
        x(&|r| test(&r.claim).2),
    ];
    for k in 0..2 {
        let control = move |r: &ClaimRow| r.controls.get(k).cloned();
        columns.push(s(&|r| control(r).map_or(String::new(), |c| c.state)));
        for f in [
            |c: &ControlRow| c.value.mean,
            |c: &ControlRow| c.value.low,
            |c: &ControlRow| c.value.high,
            |c: &ControlRow| c.difference.mean,
            |c: &ControlRow| c.difference.low,
            |c: &ControlRow| c.difference.high,
        ] {
            columns.push(x(&|r| control(r).map_or(f64::NAN, |c| f(&c))));
        }
    }
    columns.extend([
        Arc::new(BooleanArray::from(
            rows.iter().map(|r| r.claim.needs_training).collect::<Vec<_>>(),
        )) as ArrayRef,
        s(&|r| r.verdict.into()),
        s(&|r| r.reading.clone()),
        s(&|r| r.claim.note.clone()),
    ]);
    let batch = schema::batch(path, analysis::claims_schema(), columns)?;
    Ok(schema::write_parquet(path, &batch, meta)?)
}
