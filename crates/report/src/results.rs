//! Everything a pipeline page shows, read from the upstream artifacts: the
//! analyze summary's tables (claims, accuracy, adjacency, T-GSH, dendrogram,
//! class means), each seed's shard (similarity, cross-task accuracy, pair
//! samples, reconstructions, timings) and the data stage's images. Tables
//! are read by the shared Parquet reader into polars frames; images and
//! matrices with the shared Parquet readers directly.

use crate::ReportError;
use polars::prelude::*;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
pub use tgsh_common::schema::analysis::ClaimRow;
use tgsh_common::schema::analysis::{
    AccuracySummaryRow, AdjacencySummaryRow, ClassMeanRow, ClusterSummaryRow, ContextsPcaRow, CrossTaskRow,
    DendrogramSummaryRow, ReconstructionRow, SeedStatisticRow, SimilarityRow, StatisticRow, TgshPairRow,
    TgshSummaryRow,
};
use tgsh_common::schema::Table as _;
use tgsh_common::schema::{self, analysis};
use tgsh_common::{Artifacts, Pipeline, Stage, PIXELS};

/// Reads a Parquet file into a polars DataFrame, naming the file on error.
/// The file is decoded by the shared Arrow reader (which rejects damaged
/// files with an error) and its scalar columns copied into polars (list
/// columns are left out), so polars is built without its own Parquet reader
/// (a large part of its build).
pub fn read_frame(path: &Path) -> Result<DataFrame, ReportError> {
    let table = schema::read_any_schema(path)?;
    let Some(first) = table.batches.first() else {
        return Ok(DataFrame::default());
    };
    let fields = first.schema().fields().clone();
    let mut columns = Vec::with_capacity(fields.len());
    for (i, field) in fields.iter().enumerate() {
        let arrays: Vec<&dyn arrow_array::Array> = table.batches.iter().map(|b| b.column(i).as_ref()).collect();
        // List columns (per-seed values, images) are read with the typed
        // readers of tgsh_common::schema, not through a frame.
        if let Some(column) = frame_column(field.name(), &arrays) {
            columns.push(column);
        }
    }
    DataFrame::new_infer_height(columns).map_err(polars_err(path))
}

/// One column of a frame from the same column of every batch (nulls kept);
/// None for the list types, which no frame of the report holds.
fn frame_column(name: &str, arrays: &[&dyn arrow_array::Array]) -> Option<Column> {
    use arrow_array::cast::AsArray;
    use arrow_array::types::*;
    use arrow_schema::DataType as Arrow;
    macro_rules! primitive {
        ($t:ty) => {
            Column::new(
                name.into(),
                arrays
                    .iter()
                    .flat_map(|a| a.as_primitive::<$t>().iter())
                    .collect::<Vec<_>>(),
            )
        };
    }
    Some(match arrays.first()?.data_type() {
        Arrow::Utf8 => Column::new(
            name.into(),
            arrays
                .iter()
                .flat_map(|a| a.as_string::<i32>().iter())
                .collect::<Vec<_>>(),
        ),
        Arrow::Boolean => Column::new(
            name.into(),
            arrays.iter().flat_map(|a| a.as_boolean().iter()).collect::<Vec<_>>(),
        ),
        Arrow::Float64 => primitive!(Float64Type),
        Arrow::Float32 => primitive!(Float32Type),
        Arrow::UInt8 => primitive!(UInt8Type),
        Arrow::UInt16 => primitive!(UInt16Type),
        Arrow::UInt32 => primitive!(UInt32Type),
        Arrow::UInt64 => primitive!(UInt64Type),
        Arrow::Int32 => primitive!(Int32Type),
        Arrow::Int64 => primitive!(Int64Type),
        _ => return None,
    })
}

/// The seed shards' tables of one name, stacked (they share a schema).
pub fn read_frames(paths: &[PathBuf]) -> Result<DataFrame, ReportError> {
    let mut out: Option<DataFrame> = None;
    for path in paths {
        let frame = read_frame(path)?;
        match out.as_mut() {
            None => out = Some(frame),
            Some(all) => {
                all.vstack_mut(&frame).map_err(|source| ReportError::Polars {
                    path: path.display().to_string(),
                    source,
                })?;
            }
        }
    }
    Ok(out.unwrap_or_default())
}

fn polars_err(path: &Path) -> impl Fn(PolarsError) -> ReportError + '_ {
    move |source| ReportError::Polars {
        path: path.display().to_string(),
        source,
    }
}

/// A float64 column as a vector (nulls as NaN).
pub fn f64s(df: &DataFrame, name: &str, path: &Path) -> Result<Vec<f64>, ReportError> {
    let column = df.column(name).map_err(polars_err(path))?;
    let column = column.cast(&DataType::Float64).map_err(polars_err(path))?;
    Ok(column
        .f64()
        .map_err(polars_err(path))?
        .iter()
        .map(|v| v.unwrap_or(f64::NAN))
        .collect())
}

/// An integer column as u64s.
pub fn u64s(df: &DataFrame, name: &str, path: &Path) -> Result<Vec<u64>, ReportError> {
    let column = df.column(name).map_err(polars_err(path))?;
    let column = column.cast(&DataType::UInt64).map_err(polars_err(path))?;
    Ok(column
        .u64()
        .map_err(polars_err(path))?
        .iter()
        .map(|v| v.unwrap_or(0))
        .collect())
}

/// A string column.
pub fn strings(df: &DataFrame, name: &str, path: &Path) -> Result<Vec<String>, ReportError> {
    let column = df.column(name).map_err(polars_err(path))?;
    Ok(column
        .str()
        .map_err(polars_err(path))?
        .iter()
        .map(|v| v.unwrap_or_default().to_string())
        .collect())
}

/// The tasks: full names and the short labels axes use (`10°`, `3px`,
/// `T2 hflip`).
#[derive(Debug, Clone)]
pub struct Tasks {
    /// The family's name.
    pub family: String,
    /// Full names from `tasks.parquet`.
    pub names: Vec<String>,
    /// Short labels: the angle or shift for swept transforms, else the name.
    pub labels: Vec<String>,
}

impl Tasks {
    /// Reads `tasks.parquet`.
    pub fn load(artifacts: &Artifacts) -> Result<Tasks, ReportError> {
        let table = schema::read_parquet(&artifacts.tasks(), &schema::tasks_schema())?;
        let names = table.strings("name")?;
        let transforms = table.strings("transform")?;
        let parameters = table.f64_or_nan("parameter")?;
        let labels = names
            .iter()
            .zip(&transforms)
            .zip(&parameters)
            .map(|((name, transform), &p)| match transform.as_str() {
                "rotate" if p.is_finite() => format!("{p}°"),
                "shift" if p.is_finite() => format!("{p}px"),
                _ => name.clone(),
            })
            .collect();
        Ok(Tasks {
            family: table.meta("family")?.to_string(),
            names,
            labels,
        })
    }

    /// Number of tasks.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }
}

/// A value with its interval across seeds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Measured {
    /// Mean over seeds.
    pub mean: f64,
    /// Interval, low end.
    pub low: f64,
    /// Interval, high end.
    pub high: f64,
}

/// One control of a claim, as the claims table holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct Control {
    /// `before`, `unmodulated`, `permuted`, `after`, or a description.
    pub state: String,
    /// The statistic on the control.
    pub value: Measured,
    /// The claim's state minus the control, paired by seed.
    pub difference: Measured,
}

/// Reads `summary/claims.parquet` (the declared [`ClaimRow`]).
pub fn claims(path: &Path) -> Result<Vec<ClaimRow>, ReportError> {
    Ok(ClaimRow::read(path)?)
}

/// A claim's controls (up to two; the empty ones left out), in order.
pub fn controls(c: &ClaimRow) -> Vec<Control> {
    let m = |mean: f64, low: f64, high: f64| Measured { mean, low, high };
    [
        (
            &c.control,
            m(c.control_mean, c.control_low, c.control_high),
            m(c.difference, c.difference_low, c.difference_high),
        ),
        (
            &c.control2,
            m(c.control2_mean, c.control2_low, c.control2_high),
            m(c.difference2, c.difference2_low, c.difference2_high),
        ),
    ]
    .into_iter()
    .filter(|(state, ..)| !state.is_empty())
    .map(|(state, value, difference)| Control {
        state: state.clone(),
        value,
        difference,
    })
    .collect()
}

/// Per-task accuracy across seeds (`summary/accuracy.parquet`).
#[derive(Debug, Clone)]
pub struct TaskAccuracy {
    /// Mean, fraction.
    pub mean: Vec<f64>,
    /// 95 % interval.
    pub low: Vec<f64>,
    /// 95 % interval.
    pub high: Vec<f64>,
    /// Per seed, `[task][seed]`.
    pub values: Vec<Vec<f64>>,
}

/// Reads `summary/accuracy.parquet`.
pub fn task_accuracy(artifacts: &Artifacts) -> Result<TaskAccuracy, ReportError> {
    let path = artifacts.summary(AccuracySummaryRow::FILE);
    // One decode, typed by the declared schema (the per-seed lists too).
    let table = schema::read_parquet(&path, &analysis::accuracy_summary_schema())?;
    Ok(TaskAccuracy {
        mean: table.f64_or_nan("mean")?,
        low: table.f64_or_nan("ci_low")?,
        high: table.f64_or_nan("ci_high")?,
        values: table.float_lists("values")?,
    })
}

/// Mean test accuracy and loss over tasks per (seed, epoch), from every
/// seed's `metrics.parquet`: `(epochs, [(seed, accuracy per epoch, loss per epoch)])`.
pub type Curves = (Vec<u32>, Vec<(u64, Vec<f64>, Vec<f64>)>);

/// Reads the seeds' metrics and averages over tasks.
pub fn learning_curves(paths: &[PathBuf]) -> Result<Curves, ReportError> {
    let path = paths.first().cloned().unwrap_or_default();
    let df = read_frames(paths)?;
    let seed = u64s(&df, "seed", &path)?;
    let epoch = u64s(&df, "epoch", &path)?;
    let acc = f64s(&df, "test_accuracy", &path)?;
    let loss = f64s(&df, "loss", &path)?;
    let mut cells: BTreeMap<(u64, u64), (f64, f64, usize)> = BTreeMap::new();
    for k in 0..seed.len() {
        let c = cells.entry((seed[k], epoch[k])).or_insert((0.0, 0.0, 0));
        *c = (c.0 + acc[k], c.1 + loss[k], c.2 + 1);
    }
    let mut epochs: Vec<u32> = cells.keys().map(|&(_, e)| e as u32).collect();
    epochs.sort_unstable();
    epochs.dedup();
    let mut seeds: Vec<u64> = cells.keys().map(|&(s, _)| s).collect();
    seeds.dedup();
    let curves = seeds
        .iter()
        .map(|&s| {
            let of = |f: &dyn Fn(&(f64, f64, usize)) -> f64| {
                epochs
                    .iter()
                    .map(|&e| cells.get(&(s, e as u64)).map_or(f64::NAN, f))
                    .collect::<Vec<_>>()
            };
            (s, of(&|c| 100.0 * c.0 / c.2 as f64), of(&|c| c.1 / c.2 as f64))
        })
        .collect();
    Ok((epochs, curves))
}

/// Every seed's similarity matrices, by (seed, state).
pub fn similarities(
    artifacts: &Artifacts,
    seeds: &[u64],
    n: usize,
) -> Result<BTreeMap<(u64, String), Vec<f64>>, ReportError> {
    let mut out = BTreeMap::new();
    for &seed in seeds {
        out.extend(schema::similarity_matrices(
            &artifacts.analysis(seed, SimilarityRow::FILE),
            n,
        )?);
    }
    Ok(out)
}

/// The element-wise mean of equally sized matrices.
pub fn mean_matrix<'a>(matrices: impl Iterator<Item = &'a Vec<f64>>) -> Vec<f64> {
    let mut sum: Vec<f64> = Vec::new();
    let mut count = 0;
    for m in matrices {
        if sum.is_empty() {
            sum = vec![0.0; m.len()];
        }
        for (s, v) in sum.iter_mut().zip(m) {
            *s += v;
        }
        count += 1;
    }
    sum.iter().map(|s| s / count.max(1) as f64).collect()
}

/// Every seed's cross-task accuracy matrix of the trained contexts
/// (`[i * n + j]`: context i on task j).
pub fn cross_task(artifacts: &Artifacts, seeds: &[u64], n: usize) -> Result<Vec<Vec<f64>>, ReportError> {
    seeds
        .iter()
        .map(|&seed| {
            let path = artifacts.analysis(seed, CrossTaskRow::FILE);
            let table = schema::read_parquet(&path, &analysis::cross_task_schema())?;
            let state = table.strings("state")?;
            let i = table.primitive::<arrow_array::types::UInt16Type>("context_task")?;
            let j = table.primitive::<arrow_array::types::UInt16Type>("data_task")?;
            let a = table.finite_f64("accuracy")?;
            let mut m = vec![f64::NAN; n * n];
            for k in 0..a.len() {
                if state[k] == "after" && (i[k] as usize) < n && (j[k] as usize) < n {
                    m[i[k] as usize * n + j[k] as usize] = a[k];
                }
            }
            Ok(m)
        })
        .collect()
}

/// A profile across seeds: `[(state, distances, mean, low, high)]`.
pub type Adjacency = Vec<(String, Vec<u32>, Vec<f64>, Vec<f64>, Vec<f64>)>;

/// Reads `summary/adjacency.parquet` (context similarity by task distance).
pub fn adjacency(artifacts: &Artifacts) -> Result<Adjacency, ReportError> {
    profile(artifacts, AdjacencySummaryRow::FILE)
}

/// Reads a profile table of the summary (`adjacency.parquet`,
/// `representation_profile.parquet`).
pub fn profile(artifacts: &Artifacts, name: &str) -> Result<Adjacency, ReportError> {
    let path = artifacts.summary(name);
    let df = read_frame(&path)?;
    let state = strings(&df, "state", &path)?;
    let distance = u64s(&df, "distance", &path)?;
    let (mean, lo, hi) = (
        f64s(&df, "mean", &path)?,
        f64s(&df, "ci_low", &path)?,
        f64s(&df, "ci_high", &path)?,
    );
    let mut out: Adjacency = Vec::new();
    for k in 0..state.len() {
        if out.last().is_none_or(|(s, ..)| *s != state[k]) {
            out.push((state[k].clone(), Vec::new(), Vec::new(), Vec::new(), Vec::new()));
        }
        let last = out.last_mut().expect("pushed");
        last.1.push(distance[k] as u32);
        last.2.push(mean[k]);
        last.3.push(lo[k]);
        last.4.push(hi[k]);
    }
    Ok(out)
}

/// A merge tree: merges `(left, right, height)` and the leaf order.
pub type MergeTree = (Vec<(usize, usize, f64)>, Vec<usize>);

/// The summary's merge tree.
pub fn tree(artifacts: &Artifacts, n: usize) -> Result<MergeTree, ReportError> {
    let path = artifacts.summary(DendrogramSummaryRow::FILE);
    let table = schema::read_parquet(&path, &analysis::dendrogram_schema(false))?;
    let left = table.primitive::<arrow_array::types::UInt32Type>("left")?;
    let right = table.primitive::<arrow_array::types::UInt32Type>("right")?;
    let height = table.finite_f64("height")?;
    let merges = (0..left.len())
        .map(|k| (left[k] as usize, right[k] as usize, height[k]))
        .collect();
    let path = artifacts.summary(ClusterSummaryRow::FILE);
    let table = schema::read_parquet(&path, &analysis::clusters_schema(false))?;
    let task = table.primitive::<arrow_array::types::UInt16Type>("task")?;
    let position = table.primitive::<arrow_array::types::UInt32Type>("leaf_position")?;
    let mut order = vec![0usize; n];
    for (t, p) in task.iter().zip(&position) {
        if (*p as usize) < n {
            order[*p as usize] = *t as usize;
        }
    }
    Ok((merges, order))
}

/// Pooled pair samples of one state and grouping: `(intra, inter)`.
pub fn tgsh_samples(
    artifacts: &Artifacts,
    seeds: &[u64],
    state: &str,
    grouping: &str,
) -> Result<(Vec<f64>, Vec<f64>), ReportError> {
    let (mut intra, mut inter) = (Vec::new(), Vec::new());
    for &seed in seeds {
        let path = artifacts.analysis(seed, TgshPairRow::FILE);
        let table = schema::read_parquet(&path, &analysis::tgsh_pairs_schema())?;
        let states = table.strings("state")?;
        let groupings = table.strings("grouping")?;
        let kinds = table.strings("kind")?;
        let values = table.finite_f64("cosine")?;
        for k in 0..values.len() {
            if states[k] == state && groupings[k] == grouping {
                if kinds[k] == "intra" { &mut intra } else { &mut inter }.push(values[k]);
            }
        }
    }
    Ok((intra, inter))
}

/// Intra minus inter similarity and the AUC, each with its interval across
/// seeds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TgshSummary {
    /// Intra minus inter.
    pub difference: Measured,
    /// `P(intra > inter)`.
    pub auc: Measured,
}

/// The T-GSH summary by (state, grouping).
pub fn tgsh_summary(artifacts: &Artifacts) -> Result<BTreeMap<(String, String), TgshSummary>, ReportError> {
    let path = artifacts.summary(TgshSummaryRow::FILE);
    let df = read_frame(&path)?;
    let state = strings(&df, "state", &path)?;
    let grouping = strings(&df, "grouping", &path)?;
    let f = |name: &str| f64s(&df, name, &path);
    let (d, dl, dh, a, al, ah) = (
        f("difference")?,
        f("difference_low")?,
        f("difference_high")?,
        f("auc")?,
        f("auc_low")?,
        f("auc_high")?,
    );
    Ok((0..grouping.len())
        .map(|k| {
            (
                (state[k].clone(), grouping[k].clone()),
                TgshSummary {
                    difference: Measured {
                        mean: d[k],
                        low: dl[k],
                        high: dh[k],
                    },
                    auc: Measured {
                        mean: a[k],
                        low: al[k],
                        high: ah[k],
                    },
                },
            )
        })
        .collect())
}

/// Each state's scores of every task on PC1-PC3: `[(state, [task scores])]`.
pub type PcaScores = Vec<(String, Vec<[f64; 3]>)>;

/// One seed's contexts on PCs 1-3, by state.
pub fn contexts_pca(artifacts: &Artifacts, seed: u64, n: usize) -> Result<PcaScores, ReportError> {
    let path = artifacts.analysis(seed, ContextsPcaRow::FILE);
    let table = schema::read_parquet(&path, &analysis::contexts_pca_schema())?;
    let state = table.strings("state")?;
    let task = table.primitive::<arrow_array::types::UInt16Type>("task")?;
    let pcs = [
        table.primitive::<arrow_array::types::Float64Type>("pc1")?,
        table.primitive::<arrow_array::types::Float64Type>("pc2")?,
        table.primitive::<arrow_array::types::Float64Type>("pc3")?,
    ];
    let mut out: Vec<(String, Vec<[f64; 3]>)> = Vec::new();
    for k in 0..task.len() {
        if out.last().is_none_or(|(s, _)| *s != state[k]) {
            out.push((state[k].clone(), vec![[f64::NAN; 3]; n]));
        }
        let t = task[k] as usize;
        if t < n {
            out.last_mut().expect("pushed").1[t] = [pcs[0][k], pcs[1][k], pcs[2][k]];
        }
    }
    Ok(out)
}

/// The summary statistics, by (statistic, state): mean and interval.
pub fn statistics(artifacts: &Artifacts) -> Result<BTreeMap<(String, String), Measured>, ReportError> {
    let path = artifacts.summary(StatisticRow::FILE);
    let df = read_frame(&path)?;
    let (name, state) = (strings(&df, "statistic", &path)?, strings(&df, "state", &path)?);
    let (m, l, h) = (
        f64s(&df, "mean", &path)?,
        f64s(&df, "ci_low", &path)?,
        f64s(&df, "ci_high", &path)?,
    );
    Ok((0..name.len())
        .map(|k| {
            (
                (name[k].clone(), state[k].clone()),
                Measured {
                    mean: m[k],
                    low: l[k],
                    high: h[k],
                },
            )
        })
        .collect())
}

/// One seed shard's statistics, by (statistic, state).
pub fn seed_statistics(artifacts: &Artifacts, seed: u64) -> Result<BTreeMap<(String, String), f64>, ReportError> {
    let path = artifacts.analysis(seed, SeedStatisticRow::FILE);
    let table = schema::read_parquet(&path, &analysis::seed_statistics_schema())?;
    let (names, states) = (table.strings("statistic")?, table.strings("state")?);
    let values = table.primitive::<arrow_array::types::Float64Type>("value")?;
    Ok(names.into_iter().zip(states).zip(values).collect())
}

/// One row of `summary/subsampling.parquet`.
#[derive(Debug, Clone, PartialEq)]
pub struct SubsamplingRow {
    /// `after` or `before`.
    pub state: String,
    /// Task distance in the coarse family.
    pub distance: u32,
    /// Pixel offset.
    pub pixels: f64,
    /// The coarse family at `d`.
    pub coarse: Measured,
    /// The finer family at the same pixel offset.
    pub same_pixel: Measured,
    /// The finer family at the same task index.
    pub same_index: Measured,
    /// Coarse minus same pixel (90 %).
    pub pixel: Measured,
    /// Within the margin.
    pub pixel_equivalent: bool,
    /// Coarse minus same index (90 %).
    pub index: Measured,
    /// Beyond the margin.
    pub index_outside: bool,
    /// The margin.
    pub margin: f64,
}

/// Reads `summary/subsampling.parquet`, if the pipeline has one.
pub fn subsampling(artifacts: &Artifacts) -> Result<Option<Vec<SubsamplingRow>>, ReportError> {
    let path = artifacts.summary(analysis::SubsamplingRow::FILE);
    if !path.exists() {
        return Ok(None);
    }
    let df = read_frame(&path)?;
    let f = |name: &str| f64s(&df, name, &path);
    let b = |name: &str| -> Result<Vec<bool>, ReportError> {
        df.column(name)
            .and_then(|c| c.bool().map(|b| b.iter().map(|v| v.unwrap_or(false)).collect()))
            .map_err(polars_err(&path))
    };
    let measured = |prefix: &str, mean: &str| -> Result<Vec<Measured>, ReportError> {
        let (m, l, h) = (f(mean)?, f(&format!("{prefix}_low"))?, f(&format!("{prefix}_high"))?);
        Ok((0..m.len())
            .map(|k| Measured {
                mean: m[k],
                low: l[k],
                high: h[k],
            })
            .collect())
    };
    let state = strings(&df, "state", &path)?;
    let distance = u64s(&df, "distance", &path)?;
    let pixels = f("pixels")?;
    let (coarse, same_pixel, same_index) = (
        measured("coarse", "coarse_mean")?,
        measured("same_pixel", "same_pixel_mean")?,
        measured("same_index", "same_index_mean")?,
    );
    let (pixel, index) = (
        measured("pixel", "pixel_difference")?,
        measured("index", "index_difference")?,
    );
    let (pe, io, margin) = (b("pixel_equivalent")?, b("index_outside")?, f("margin")?);
    Ok(Some(
        (0..state.len())
            .map(|k| SubsamplingRow {
                state: state[k].clone(),
                distance: distance[k] as u32,
                pixels: pixels[k],
                coarse: coarse[k],
                same_pixel: same_pixel[k],
                same_index: same_index[k],
                pixel: pixel[k],
                pixel_equivalent: pe[k],
                index: index[k],
                index_outside: io[k],
                margin: margin[k],
            })
            .collect(),
    ))
}

/// A reconstruction for display (0-255) and the task whose class mean it matches best.
pub type Shown = (Vec<u8>, usize);

/// One seed's reconstructions from `z` (`noisy` or `noise-free`) as
/// `[task][class]` images scaled to 0-255 for display (each image's own
/// min-max), with each one's `best_task`.
pub fn reconstructions(artifacts: &Artifacts, seed: u64, n: usize, z: &str) -> Result<Vec<Vec<Shown>>, ReportError> {
    let path = artifacts.analysis(seed, ReconstructionRow::FILE);
    let table = schema::read_parquet(&path, &analysis::reconstruction_schema())?;
    let zs = table.strings("z")?;
    let task = table.primitive::<arrow_array::types::UInt16Type>("task")?;
    let class = table.primitive::<arrow_array::types::UInt8Type>("class")?;
    let best = table.primitive::<arrow_array::types::UInt16Type>("best_task")?;
    let images = table.finite_float_images("image")?;
    let mut out = vec![vec![(vec![0u8; PIXELS], usize::MAX); tgsh_common::CLASSES]; n];
    for k in 0..task.len() {
        let (t, c) = (task[k] as usize, class[k] as usize);
        if zs[k] == z && t < n && c < tgsh_common::CLASSES {
            out[t][c] = (to_grey(&images[k * PIXELS..(k + 1) * PIXELS]), best[k] as usize);
        }
    }
    Ok(out)
}

/// The class means as `[task][class]` images, 0-255.
pub fn class_means(artifacts: &Artifacts, n: usize) -> Result<Vec<Vec<Vec<u8>>>, ReportError> {
    let path = artifacts.summary(ClassMeanRow::FILE);
    let table = schema::read_parquet(&path, &analysis::class_means_schema())?;
    let task = table.primitive::<arrow_array::types::UInt16Type>("task")?;
    let class = table.primitive::<arrow_array::types::UInt8Type>("class")?;
    let images = table.finite_float_images("image")?;
    let mut out = vec![vec![vec![0u8; PIXELS]; tgsh_common::CLASSES]; n];
    for k in 0..task.len() {
        let (t, c) = (task[k] as usize, class[k] as usize);
        if t < n && c < tgsh_common::CLASSES {
            out[t][c] = images[k * PIXELS..(k + 1) * PIXELS]
                .iter()
                .map(|&v| v.round().clamp(0.0, 255.0) as u8)
                .collect();
        }
    }
    Ok(out)
}

/// A float image stretched to 0-255 by its own minimum and maximum.
pub fn to_grey(image: &[f32]) -> Vec<u8> {
    let (lo, hi) = image.iter().fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &v| {
        (lo.min(v), hi.max(v))
    });
    let span = (hi - lo).max(f32::MIN_POSITIVE);
    image.iter().map(|&v| (255.0 * (v - lo) / span).round() as u8).collect()
}

/// Wall time per stage and seed, summed over steps: `(stage, seed, seconds)`.
pub fn timings(pipeline: &Pipeline, artifacts: &Artifacts) -> Result<Vec<(String, u64, f64)>, ReportError> {
    let mut files = vec![(
        "data".to_string(),
        artifacts
            .stage_dir(Stage::Data)
            .join(tgsh_common::schema::TimingRow::FILE),
    )];
    for &seed in &pipeline.train.seeds {
        files.push((
            "train".to_string(),
            artifacts.train_shard(seed).join(tgsh_common::schema::TimingRow::FILE),
        ));
        files.push((
            "analyze".to_string(),
            artifacts.analyze_shard(seed).join(tgsh_common::schema::TimingRow::FILE),
        ));
    }
    let mut out = Vec::new();
    for (stage, path) in files {
        if !path.exists() {
            continue; // a replacement stage need not time itself
        }
        let df = read_frame(&path)?;
        let seeds = u64s(&df, "seed", &path)?;
        let seconds = f64s(&df, "seconds", &path)?;
        out.push((stage, seeds.first().copied().unwrap_or(0), seconds.iter().sum()));
    }
    Ok(out)
}

/// The first `k` test images of every task, `[task][image]`.
pub fn samples(artifacts: &Artifacts, n: usize, k: usize) -> Result<Vec<Vec<u8>>, ReportError> {
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
    Ok(images)
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::builder::{Float64Builder, ListBuilder};
    use arrow_array::{ArrayRef, BooleanArray, Float64Array, RecordBatch, StringArray, UInt16Array};
    use std::sync::Arc;

    #[test]
    fn a_frame_holds_the_scalar_columns_with_their_nulls_and_leaves_lists_out() {
        let mut lists = ListBuilder::new(Float64Builder::new());
        lists.values().append_value(1.0);
        lists.append(true);
        lists.append(true);
        let columns: Vec<(&str, ArrayRef)> = vec![
            ("name", Arc::new(StringArray::from(vec![Some("a"), None]))),
            ("task", Arc::new(UInt16Array::from(vec![3, 7]))),
            ("value", Arc::new(Float64Array::from(vec![Some(0.5), None]))),
            ("pass", Arc::new(BooleanArray::from(vec![true, false]))),
            ("values", Arc::new(lists.finish())),
        ];
        let batch = RecordBatch::try_from_iter(columns).unwrap();
        let dir = std::env::temp_dir().join(format!("tgsh-read-frame-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("t.parquet");
        schema::write_parquet(&path, &batch, &BTreeMap::new()).unwrap();
        let df = read_frame(&path).unwrap();
        assert_eq!(
            df.get_column_names().iter().map(|n| n.as_str()).collect::<Vec<_>>(),
            ["name", "task", "value", "pass"]
        );
        assert_eq!(strings(&df, "name", &path).unwrap(), ["a", ""]);
        assert_eq!(u64s(&df, "task", &path).unwrap(), [3, 7]);
        let values = f64s(&df, "value", &path).unwrap();
        assert!(values[0] == 0.5 && values[1].is_nan());
        assert!(f64s(&df, "values", &path).is_err(), "a list column is not in the frame");
        std::fs::remove_dir_all(dir).unwrap();
    }
}
