//! The summary (`analyze/summary/`): every seed's shard merged. Each
//! statistic gets its mean and 95 % Student-t interval across seeds; the
//! pooled T-GSH pair samples get a bootstrap interval; the adjacency
//! profile gets an interval per distance; the seed-mean similarity matrix is
//! clustered for the report's dendrogram; the class means that
//! reconstructions are scored against are stored; and every claim gets its
//! verdict (`claims.parquet`).

use crate::claims::{self, spec_statistic, Claim};
use crate::shard::{cluster_columns, dendrogram_columns, TestSet};
use crate::{clustering, reconstruction, similarity, stats, AnalyzeError};
use arrow::array::{ArrayRef, Float64Array, StringArray, UInt16Array, UInt32Array, UInt8Array};
use rand::SeedableRng;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use tgsh_common::config::{ClaimSpec, FamilyExperiment};
use tgsh_common::schema::{self, analysis};
use tgsh_common::{Artifacts, Pipeline};

/// Reads every `n x n` similarity matrix of a `similarity.parquet`, by
/// (seed, state).
pub fn read_similarity(path: &Path, n: usize) -> Result<BTreeMap<(u64, String), Vec<f64>>, AnalyzeError> {
    Ok(schema::similarity_matrices(path, n)?)
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
    let write = |name: &str, schema: arrow::datatypes::SchemaRef, columns: Vec<ArrayRef>| -> Result<(), AnalyzeError> {
        let path = dir.join(name);
        let batch = schema::batch(&path, schema, columns)?;
        schema::write_parquet(&path, &batch, &meta)?;
        Ok(())
    };

    // Per-seed statistics, in seed order.
    let mut per_seed = read_seed_statistics(artifacts, seeds)?;

    // Similarity matrices, this pipeline's and the references'.
    let mut after = Vec::new();
    for &seed in seeds {
        let m = read_similarity(&artifacts.analysis(seed, "similarity.parquet"), n)?;
        after.push(m.get(&(seed, "after".to_string())).cloned().ok_or_else(|| {
            AnalyzeError::Inconsistent(format!(
                "{}: no `after` matrix",
                artifacts.analysis(seed, "similarity.parquet").display()
            ))
        })?);
    }
    for spec in &config.claims {
        if let ClaimSpec::SubsampleOf {
            pipeline: name, every, ..
        } = spec
        {
            let (other, other_seeds) = &references[name];
            let fine_n = n * every;
            let mut fine = BTreeMap::new();
            for &s in other_seeds {
                let path = other.analysis(s, "similarity.parquet");
                let m = read_similarity(&path, fine_n)?;
                let matrix = m
                    .get(&(s, "after".to_string()))
                    .cloned()
                    .ok_or_else(|| AnalyzeError::Inconsistent(format!("{}: no `after` matrix", path.display())))?;
                if matrix.iter().any(|v| v.is_nan()) {
                    return Err(AnalyzeError::Inconsistent(format!(
                        "{}: expected {fine_n} tasks ({n} tasks of {} x every {every}), found fewer",
                        path.display(),
                        pipeline.name
                    )));
                }
                fine.insert(s, matrix);
            }
            let values = seeds
                .iter()
                .zip(&after)
                .map(|(&seed, coarse)| {
                    let coarse = similarity::subsampled_upper(coarse, n, 1);
                    let correlations: Vec<f64> = fine
                        .iter()
                        .filter(|(&s, _)| s != seed)
                        .map(|(_, m)| stats::pearson(&coarse, &similarity::subsampled_upper(m, fine_n, *every)))
                        .collect();
                    stats::mean(&correlations)
                })
                .collect();
            per_seed.insert(spec_statistic(spec), values);
        }
    }

    // statistics.parquet: mean and interval of every statistic.
    let rows: Vec<(String, f64, f64, f64, u32, Vec<f64>)> = per_seed
        .iter()
        .map(|(name, values)| {
            let finite: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
            let (m, lo, hi) = if finite.len() == values.len() {
                stats::t_interval(values)
            } else {
                (f64::NAN, f64::NAN, f64::NAN)
            };
            (name.clone(), m, lo, hi, finite.len() as u32, values.clone())
        })
        .collect();
    write(
        "statistics.parquet",
        analysis::summary_statistics_schema(),
        vec![
            Arc::new(StringArray::from(rows.iter().map(|r| r.0.as_str()).collect::<Vec<_>>())),
            Arc::new(Float64Array::from(rows.iter().map(|r| r.1).collect::<Vec<_>>())),
            Arc::new(Float64Array::from(rows.iter().map(|r| r.2).collect::<Vec<_>>())),
            Arc::new(Float64Array::from(rows.iter().map(|r| r.3).collect::<Vec<_>>())),
            Arc::new(UInt32Array::from(rows.iter().map(|r| r.4).collect::<Vec<_>>())),
            schema::float_list_column(&rows.iter().map(|r| r.5.clone()).collect::<Vec<_>>()),
        ],
    )?;
    let intervals: BTreeMap<&str, (f64, f64, f64, u32)> =
        rows.iter().map(|r| (r.0.as_str(), (r.1, r.2, r.3, r.4))).collect();

    // claims.parquet.
    let claim_rows: Vec<ClaimRow> = claims::claims(topology, &config.claims, n)
        .into_iter()
        .map(|claim| {
            let interval =
                intervals
                    .get(claim.statistic.as_str())
                    .copied()
                    .unwrap_or((f64::NAN, f64::NAN, f64::NAN, 0));
            ClaimRow::judged(claim, interval)
        })
        .collect();
    write_claims(&dir.join("claims.parquet"), &claim_rows, &meta)?;

    // tgsh.parquet: pooled samples, bootstrap interval of the difference of means.
    let mut pooled: BTreeMap<(String, String), Vec<f64>> = BTreeMap::new();
    for &seed in seeds {
        let table = schema::read_parquet(
            &artifacts.analysis(seed, "tgsh_pairs.parquet"),
            &analysis::tgsh_pairs_schema(),
        )?;
        let groupings = table.strings("grouping")?;
        let kinds = table.strings("kind")?;
        let values = table.finite_f64("cosine")?;
        for ((g, k), v) in groupings.into_iter().zip(kinds).zip(values) {
            pooled.entry((g, k)).or_default().push(v);
        }
    }
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0x7453_6853);
    let mut tgsh_rows = Vec::new();
    for grouping in crate::tgsh::GROUPINGS {
        let get = |k: &str| {
            pooled
                .get(&(grouping.to_string(), k.to_string()))
                .cloned()
                .unwrap_or_default()
        };
        let (intra, inter) = (get("intra"), get("inter"));
        let diff = |a: &[f64], b: &[f64]| stats::mean(a) - stats::mean(b);
        let (lo, hi) = stats::bootstrap_two_sample(&intra, &inter, config.bootstrap, &mut rng, diff);
        tgsh_rows.push((
            grouping,
            stats::mean(&intra),
            stats::mean(&inter),
            diff(&intra, &inter),
            lo,
            hi,
            stats::auc(&intra, &inter),
        ));
    }
    write(
        "tgsh.parquet",
        analysis::tgsh_summary_schema(),
        vec![
            Arc::new(StringArray::from(tgsh_rows.iter().map(|r| r.0).collect::<Vec<_>>())),
            Arc::new(Float64Array::from(tgsh_rows.iter().map(|r| r.1).collect::<Vec<_>>())),
            Arc::new(Float64Array::from(tgsh_rows.iter().map(|r| r.2).collect::<Vec<_>>())),
            Arc::new(Float64Array::from(tgsh_rows.iter().map(|r| r.3).collect::<Vec<_>>())),
            Arc::new(Float64Array::from(tgsh_rows.iter().map(|r| r.4).collect::<Vec<_>>())),
            Arc::new(Float64Array::from(tgsh_rows.iter().map(|r| r.5).collect::<Vec<_>>())),
            Arc::new(Float64Array::from(tgsh_rows.iter().map(|r| r.6).collect::<Vec<_>>())),
            Arc::new(UInt32Array::from(vec![seeds.len() as u32; tgsh_rows.len()])),
        ],
    )?;

    // adjacency.parquet: each distance's mean similarity across seeds.
    let mut profile: BTreeMap<(String, u32), Vec<f64>> = BTreeMap::new();
    for &seed in seeds {
        let table = schema::read_parquet(
            &artifacts.analysis(seed, "adjacency.parquet"),
            &analysis::adjacency_schema(),
        )?;
        let states = table.strings("state")?;
        let distances = table.primitive::<arrow::datatypes::UInt32Type>("distance")?;
        let means = table.finite_f64("mean_similarity")?;
        for ((s, d), m) in states.into_iter().zip(distances).zip(means) {
            profile.entry((s, d)).or_default().push(m);
        }
    }
    // Before, then after; each by distance.
    let mut profile: Vec<((String, u32), Vec<f64>)> = profile.into_iter().collect();
    profile.sort_by_key(|((s, d), _)| (s != "before", *d));
    let intervals: Vec<(f64, f64, f64)> = profile.iter().map(|(_, v)| stats::t_interval(v)).collect();
    write(
        "adjacency.parquet",
        analysis::adjacency_summary_schema(),
        vec![
            Arc::new(StringArray::from(
                profile.iter().map(|((s, _), _)| s.as_str()).collect::<Vec<_>>(),
            )),
            Arc::new(UInt32Array::from(
                profile.iter().map(|((_, d), _)| *d).collect::<Vec<_>>(),
            )),
            Arc::new(Float64Array::from(intervals.iter().map(|i| i.0).collect::<Vec<_>>())),
            Arc::new(Float64Array::from(intervals.iter().map(|i| i.1).collect::<Vec<_>>())),
            Arc::new(Float64Array::from(intervals.iter().map(|i| i.2).collect::<Vec<_>>())),
            Arc::new(UInt32Array::from(
                profile.iter().map(|(_, v)| v.len() as u32).collect::<Vec<_>>(),
            )),
        ],
    )?;

    // accuracy.parquet: each task's final test accuracy across seeds.
    let mut by_task = vec![Vec::with_capacity(seeds.len()); n];
    for &seed in seeds {
        let accuracies = crate::shard::final_accuracies(&artifacts.metrics(seed), n)?;
        for (task, a) in accuracies.into_iter().enumerate() {
            by_task[task].push(a);
        }
    }
    let intervals: Vec<(f64, f64, f64)> = by_task.iter().map(|v| stats::t_interval(v)).collect();
    write(
        "accuracy.parquet",
        analysis::accuracy_summary_schema(),
        vec![
            Arc::new(UInt16Array::from((0..n as u16).collect::<Vec<_>>())),
            Arc::new(Float64Array::from(intervals.iter().map(|i| i.0).collect::<Vec<_>>())),
            Arc::new(Float64Array::from(intervals.iter().map(|i| i.1).collect::<Vec<_>>())),
            Arc::new(Float64Array::from(intervals.iter().map(|i| i.2).collect::<Vec<_>>())),
            Arc::new(UInt32Array::from(vec![seeds.len() as u32; n])),
            schema::float_list_column(&by_task),
        ],
    )?;

    // The tree of the seed-mean similarity matrix (the report's Fig. 7).
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
        "dendrogram.parquet",
        analysis::dendrogram_schema(false),
        dendrogram_columns(&tree),
    )?;
    write(
        "clusters.parquet",
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
        "class_means.parquet",
        analysis::class_means_schema(),
        vec![
            Arc::new(UInt16Array::from(cells.iter().map(|c| c.0 as u16).collect::<Vec<_>>())),
            Arc::new(UInt8Array::from(cells.iter().map(|c| c.1 as u8).collect::<Vec<_>>())),
            Arc::new(UInt32Array::from(
                cells.iter().map(|c| c.2 .1 as u32).collect::<Vec<_>>(),
            )),
            schema::float_image_column(cells.iter().flat_map(|c| c.2 .0.iter().copied()).collect()),
        ],
    )?;
    Ok(claim_rows)
}

/// Every seed shard's `statistics.parquet`: each statistic's values in
/// seed order (NaN where a seed lacks it).
pub(crate) fn read_seed_statistics(
    artifacts: &Artifacts,
    seeds: &[u64],
) -> Result<BTreeMap<String, Vec<f64>>, AnalyzeError> {
    let mut per_seed: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for (k, &seed) in seeds.iter().enumerate() {
        let table = schema::read_parquet(
            &artifacts.analysis(seed, "statistics.parquet"),
            &analysis::seed_statistics_schema(),
        )?;
        let names = table.strings("statistic")?;
        let values = table.primitive::<arrow::datatypes::Float64Type>("value")?;
        for (name, value) in names.into_iter().zip(values) {
            per_seed.entry(name).or_insert_with(|| vec![f64::NAN; seeds.len()])[k] = value;
        }
    }
    Ok(per_seed)
}

/// A measured claim.
#[derive(Debug, Clone)]
pub struct ClaimRow {
    /// The claim.
    pub claim: Claim,
    /// Mean of its statistic across seeds.
    pub mean: f64,
    /// 95 % interval.
    pub ci_low: f64,
    /// 95 % interval.
    pub ci_high: f64,
    /// Seeds.
    pub seeds: u32,
    /// `pass`, `fail` or `inconclusive`.
    pub verdict: &'static str,
}

impl ClaimRow {
    /// `claim` judged on its statistic's `(mean, low, high, seeds)` across
    /// seeds.
    pub(crate) fn judged(claim: Claim, (mean, ci_low, ci_high, seeds): (f64, f64, f64, u32)) -> ClaimRow {
        ClaimRow {
            verdict: claims::verdict(ci_low, ci_high, claim.threshold, claim.direction),
            claim,
            mean,
            ci_low,
            ci_high,
            seeds,
        }
    }
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
    let x = |f: &dyn Fn(&ClaimRow) -> f64| -> ArrayRef {
        Arc::new(Float64Array::from(rows.iter().map(f).collect::<Vec<_>>()))
    };
    let columns = vec![
        s(&|r| r.claim.id.clone()),
        s(&|r| r.claim.claim.clone()),
        s(&|r| r.claim.figure.clone()),
        s(&|r| r.claim.statistic.clone()),
        x(&|r| r.mean),
        x(&|r| r.ci_low),
        x(&|r| r.ci_high),
        Arc::new(UInt32Array::from(rows.iter().map(|r| r.seeds).collect::<Vec<_>>())),
        x(&|r| r.claim.threshold),
        s(&|r| r.claim.direction.symbol().to_string()),
        s(&|r| r.verdict.to_string()),
        s(&|r| r.claim.note.clone()),
    ];
    let batch = schema::batch(path, analysis::claims_schema(), columns)?;
    Ok(schema::write_parquet(path, &batch, meta)?)
}
