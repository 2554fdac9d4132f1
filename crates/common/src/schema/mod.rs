//! The Parquet artifacts' columns, and readers/writers that name the file in
//! every error. ARCHITECTURE.md documents the same schemas for readers in
//! other languages; the constructors here are the single source of truth.
//! The analyze stage's tables are in [`analysis`].

pub mod analysis;
pub mod table;

pub use table::{Column, ColumnSpec, FloatImage, Image, Table};

use crate::error::{Error, Result};
use arrow_array::cast::AsArray;
use arrow_array::{Array, ArrayRef, FixedSizeBinaryArray, RecordBatch};
use arrow_buffer::Buffer;
use arrow_schema::SchemaRef;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::metadata::KeyValue;
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::file::statistics::Statistics;
use parquet::schema::types::ColumnPath;
use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

crate::table! {
    /// `data/train.parquet` and `data/test.parquet` (written by data; read by
    /// train, analyze, report): one row per (task, image). Rows are ordered
    /// by task, then source index, one row group per task; readers must not
    /// rely on the order, they filter on `task`.
    pub struct ImageRow in "train.parquet" {
        /// task index, from 0 (see `tasks.parquet`)
        task: u16,
        /// `train` or `test`
        split: String,
        /// index of the source image in the MNIST split
        source_index: u32,
        /// digit 0-9 (transforms keep labels)
        label: u8,
        /// the transformed 28x28 image, row-major, one byte per pixel, 0 = black
        image: Image,
    }
}

/// The test split's file: the same columns as [`ImageRow`]'s `train.parquet`.
pub const TEST_IMAGES_FILE: &str = "test.parquet";

/// `data/{train,test}.parquet`'s schema ([`ImageRow`]).
pub fn images_schema() -> SchemaRef {
    ImageRow::schema()
}

/// Builds the `image` column from concatenated 784-byte images (the data
/// stage writes the image tables column by column, 10^5 rows at a time).
pub fn image_column(pixels: Vec<u8>) -> Result<ArrayRef> {
    assert_eq!(pixels.len() % crate::PIXELS, 0, "whole images only");
    let array =
        FixedSizeBinaryArray::try_new(crate::PIXELS as i32, Buffer::from_vec(pixels), None).map_err(|source| {
            Error::Arrow {
                path: PathBuf::from("<image column>"),
                source,
            }
        })?;
    Ok(Arc::new(array))
}

/// Builds a `fixed_size_list<float32>[784]` column from concatenated float images.
pub fn float_image_column(values: Vec<f32>) -> ArrayRef {
    FloatImage::to_array(
        values
            .chunks_exact(crate::PIXELS)
            .map(|c| FloatImage(c.to_vec()))
            .collect(),
    )
}

/// Builds a `list<float64>` column.
pub fn float_list_column(lists: &[Vec<f64>]) -> ArrayRef {
    <Vec<f64>>::to_array(lists.to_vec())
}

crate::table! {
    /// `data/tasks.parquet` (written by data; read by train, analyze, report):
    /// one row per task.
    pub struct TaskRow in "tasks.parquet" {
        /// task index
        task: u16,
        /// display name
        name: String,
        /// `identity`, `rotate`, `shift`, `rotate_shift`, `hflip`, `vflip`, `invert`, `gaussian_blur`, `random_perspective`, `random_erasing`, `random_resized_crop`
        transform: String,
        /// degrees (rotate), pixels (shift) or σ in pixels (gaussian_blur); null for other transforms (`rotate_shift`'s two are in `spec`)
        parameter: Option<f64>,
        /// JSON of the transform with all its parameters
        spec: String,
    }
}

crate::table! {
    /// `train/seed-<S>/metrics.parquet` (written by train; read by analyze,
    /// report): one row per (seed, task, epoch). Deterministic: the same
    /// config and seed give the same bytes; wall times are in
    /// `timings.parquet`.
    pub struct MetricsRow in "metrics.parquet" {
        /// model seed
        seed: u64,
        /// task index
        task: u16,
        /// 1-based epoch
        epoch: u32,
        /// mean training cross-entropy over the epoch's minibatches
        loss: f64 where finite,
        /// accuracy on the minibatches seen during the epoch (before each step)
        train_accuracy: f64 where finite,
        /// accuracy on the task's test split after the epoch
        test_accuracy: f64 where finite,
    }
}

crate::table! {
    /// `train/seed-<S>/heldout_metrics.parquet` (held-out pipelines; written
    /// by train, read by report): one row per (seed, method, epoch), the
    /// learning curves of the convergence rule. Test accuracy is measured
    /// by the analyze stage, on every task.
    pub struct HeldoutMetricsRow in "heldout_metrics.parquet" {
        /// model seed
        seed: u64,
        /// the model file's stem: `points`, `shared`, `input`, `line`, `circle`, `circle-metric`, ...
        method: String,
        /// 1-based epoch
        epoch: u32,
        /// mean training cross-entropy over the epoch's minibatches and the training tasks
        loss: f64,
        /// accuracy on the minibatches seen during the epoch (before each step), over the training tasks
        train_accuracy: f64,
        /// accuracy after the epoch on the validation images (the last sixth of each training task's training images), mean over the training tasks
        validation_accuracy: f64,
        /// training tasks the row averages over: all of them for a jointly trained model; for the points (each trained and stopped on its own task) those still training in this epoch
        training: u32,
        /// training tasks whose kept parameters are this epoch's (the best validation epoch under the convergence rule)
        kept: u32,
    }
}

crate::table! {
    /// `timings.parquet`, in `data/` and in every train and analyze seed shard
    /// (read by report): wall times, the only stage outputs besides
    /// `stage.json` that differ run to run.
    pub struct TimingRow in "timings.parquet" {
        /// model seed (the data stage: `data.seed`)
        seed: u64,
        /// what was timed, e.g. `generate`, `task 3 epoch 2` or `cross-task accuracy`
        step: String,
        /// wall time
        seconds: f64,
    }
}

/// `tasks.parquet`'s schema ([`TaskRow`]).
pub fn tasks_schema() -> SchemaRef {
    TaskRow::schema()
}

/// `metrics.parquet`'s schema ([`MetricsRow`]).
pub fn metrics_schema() -> SchemaRef {
    MetricsRow::schema()
}

/// `heldout_metrics.parquet`'s schema ([`HeldoutMetricsRow`]).
pub fn heldout_metrics_schema() -> SchemaRef {
    HeldoutMetricsRow::schema()
}

/// `timings.parquet`'s schema ([`TimingRow`]).
pub fn timings_schema() -> SchemaRef {
    TimingRow::schema()
}

/// Writes a `timings.parquet` of `(step, seconds)` for `seed`.
pub fn write_timings(path: &Path, seed: u64, rows: &[(String, f64)]) -> Result<()> {
    let rows: Vec<TimingRow> = rows
        .iter()
        .map(|(step, seconds)| TimingRow {
            seed,
            step: step.clone(),
            seconds: *seconds,
        })
        .collect();
    TimingRow::write(
        path,
        &rows,
        &BTreeMap::from([("tgsh_version".to_string(), crate::VERSION.to_string())]),
    )
}

/// `similarity.parquet`'s schema ([`analysis::SimilarityRow`]).
pub fn similarity_schema() -> SchemaRef {
    analysis::SimilarityRow::schema()
}

/// Every `n x n` matrix of a `similarity.parquet`, by (seed, state);
/// entries the file lacks are NaN.
pub fn similarity_matrices(path: &Path, n: usize) -> Result<BTreeMap<(u64, String), Vec<f64>>> {
    let table = read_parquet(path, &similarity_schema())?;
    let seeds = table.primitive::<arrow_array::types::UInt64Type>("seed")?;
    let states = table.strings("state")?;
    let is = table.primitive::<arrow_array::types::UInt16Type>("task_i")?;
    let js = table.primitive::<arrow_array::types::UInt16Type>("task_j")?;
    let cos = table.finite_f64("cosine")?;
    let mut out = BTreeMap::new();
    for (k, state) in states.into_iter().enumerate() {
        let (i, j) = (is[k] as usize, js[k] as usize);
        if i < n && j < n {
            out.entry((seeds[k], state)).or_insert_with(|| vec![f64::NAN; n * n])[i * n + j] = cos[k];
        }
    }
    Ok(out)
}

/// A Parquet file being written (zstd), one row group per `write` call.
pub struct ParquetSink {
    path: PathBuf,
    writer: ArrowWriter<File>,
}

impl ParquetSink {
    /// Creates `path` with `schema` and key-value `metadata` in its footer.
    pub fn create(path: &Path, schema: SchemaRef, metadata: &BTreeMap<String, String>) -> Result<Self> {
        let file = File::create(path).map_err(|e| Error::io(path, e))?;
        let props = WriterProperties::builder()
            .set_compression(Compression::ZSTD(ZstdLevel::try_new(1).expect("valid level")))
            .set_max_row_group_row_count(Some(1 << 20))
            // Images: no dictionary (every value differs) and no min/max
            // statistics (meaningless for pixels, and costly to compute).
            .set_column_dictionary_enabled(ColumnPath::from("image"), false)
            .set_column_statistics_enabled(ColumnPath::from("image"), EnabledStatistics::None)
            .set_key_value_metadata(Some(
                metadata
                    .iter()
                    .map(|(k, v)| KeyValue::new(k.clone(), v.clone()))
                    .collect(),
            ))
            .build();
        let writer = ArrowWriter::try_new(file, schema, Some(props)).map_err(|source| Error::Parquet {
            path: path.to_path_buf(),
            source,
        })?;
        Ok(ParquetSink {
            path: path.to_path_buf(),
            writer,
        })
    }

    /// Writes `batch` as its own row group.
    pub fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        let path = &self.path;
        let wrap = |source| Error::Parquet {
            path: path.clone(),
            source,
        };
        self.writer.write(batch).map_err(wrap)?;
        self.writer.flush().map_err(wrap)
    }

    /// Finishes the footer.
    pub fn close(self) -> Result<()> {
        let path = self.path;
        self.writer.close().map_err(|source| Error::Parquet { path, source })?;
        Ok(())
    }
}

/// Writes one batch as a whole file.
pub fn write_parquet(path: &Path, batch: &RecordBatch, metadata: &BTreeMap<String, String>) -> Result<()> {
    let mut sink = ParquetSink::create(path, batch.schema(), metadata)?;
    sink.write(batch)?;
    sink.close()
}

/// Builds a record batch, naming `path` if the columns do not fit `schema`.
pub fn batch(path: &Path, schema: SchemaRef, columns: Vec<ArrayRef>) -> Result<RecordBatch> {
    RecordBatch::try_new(schema, columns).map_err(|source| Error::Arrow {
        path: path.to_path_buf(),
        source,
    })
}

/// A whole Parquet file: its batches and its footer metadata.
#[derive(Debug)]
pub struct ParquetTable {
    /// The file.
    pub path: PathBuf,
    /// Its rows.
    pub batches: Vec<RecordBatch>,
    /// Its key-value metadata.
    pub metadata: BTreeMap<String, String>,
}

/// Reads every row of a Parquet file, whatever its columns, and fails
/// naming the file if it is damaged: for readers that take any table (the
/// report's tables) rather than one schema of the contract.
pub fn read_any_schema(path: &Path) -> Result<ParquetTable> {
    contain_panics(path, || read_unguarded(path, None, None))
}

/// Reads a whole Parquet file and checks it has `expected`'s columns and types.
pub fn read_parquet(path: &Path, expected: &SchemaRef) -> Result<ParquetTable> {
    read_filtered(path, Some(expected), None)
}

/// Reads only the rows of `path` whose uint16 `task` column equals `task`,
/// skipping row groups whose statistics exclude it.
pub fn read_task(path: &Path, expected: &SchemaRef, task: u16) -> Result<ParquetTable> {
    read_filtered(path, Some(expected), Some(task))
}

fn read_filtered(path: &Path, expected: Option<&SchemaRef>, task: Option<u16>) -> Result<ParquetTable> {
    contain_panics(path, || read_unguarded(path, expected, task))
}

/// Runs a read of `path` with the parquet crate, turning a panic into an
/// error naming the file: the crate panics on some damaged files that its
/// checks let through (a data page that needs a dictionary the column chunk
/// lacks, found by `crates/fuzz`; the panic message is still printed).
fn contain_panics<T>(path: &Path, read: impl FnOnce() -> Result<T>) -> Result<T> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(read)).unwrap_or_else(|payload| {
        let message = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_default();
        Err(Error::schema(
            path,
            format!(
                "the Parquet decoder failed on this file ({message}): it is damaged; rerun the stage that wrote it \
                 with --force"
            ),
        ))
    })
}

fn read_unguarded(path: &Path, expected: Option<&SchemaRef>, task: Option<u16>) -> Result<ParquetTable> {
    let mut batches = Vec::new();
    let metadata = read_batches(path, expected, task, 1 << 16, &mut |batch| {
        batches.push(batch);
        Ok(())
    })?;
    Ok(ParquetTable {
        path: path.to_path_buf(),
        batches,
        metadata,
    })
}

/// Rows per decoded batch when images are streamed into a caller's
/// buffers: 3.2 MB of images, small enough for the allocator to reuse the
/// decoder's buffers from batch to batch, where one batch of a whole task
/// (47 MB) is fresh memory from the OS every time, page-faulted in.
const IMAGE_BATCH_ROWS: usize = 4096;

/// Reads task `task`'s images and labels from a data stage's images file
/// (`train.parquet` or `test.parquet`, [`images_schema`]) into `images`
/// (concatenated 784-byte images) and `labels`, both cleared first: their
/// memory is reused, so a caller that reads task after task into the same
/// buffers touches no new memory after the first.
pub fn read_task_images_into(path: &Path, task: u16, images: &mut Vec<u8>, labels: &mut Vec<u8>) -> Result<()> {
    images.clear();
    labels.clear();
    contain_panics(path, || {
        read_batches(
            path,
            Some(&images_schema()),
            Some(task),
            IMAGE_BATCH_ROWS,
            &mut |batch| {
                images.extend_from_slice(image_values(path, &batch)?);
                labels.extend_from_slice(label_values(path, &batch)?);
                Ok(())
            },
        )
    })
    .map(|_| ())
}

/// The concatenated 784-byte values of `batch`'s `image` column.
fn image_values<'a>(path: &Path, batch: &'a RecordBatch) -> Result<&'a [u8]> {
    let column = batch
        .column_by_name("image")
        .ok_or_else(|| Error::schema(path, "column `image` is missing"))?;
    let images = column
        .as_fixed_size_binary_opt()
        .ok_or_else(|| Error::schema(path, "column `image` is not fixed_size_binary[784]"))?;
    if images.value_length() as usize != crate::PIXELS {
        return Err(Error::schema(path, "column `image` values are not 784 bytes"));
    }
    // A sliced array's value buffer is sliced too: it starts at row 0.
    Ok(&images.value_data()[..images.len() * crate::PIXELS])
}

/// The values of `batch`'s uint8 `label` column, which has no nulls.
fn label_values<'a>(path: &Path, batch: &'a RecordBatch) -> Result<&'a [u8]> {
    let column = batch
        .column_by_name("label")
        .ok_or_else(|| Error::schema(path, "column `label` is missing"))?;
    let labels = column
        .as_primitive_opt::<arrow_array::types::UInt8Type>()
        .ok_or_else(|| Error::schema(path, format!("column `label` has type {}", column.data_type())))?;
    if labels.null_count() > 0 {
        return Err(Error::schema(path, "column `label` has nulls"));
    }
    Ok(labels.values())
}

/// Decodes `path` in batches of `rows` rows (only task `task`'s rows, when
/// given) and hands each non-empty batch to `sink`; returns the file's
/// key-value metadata.
fn read_batches(
    path: &Path,
    expected: Option<&SchemaRef>,
    task: Option<u16>,
    rows: usize,
    sink: &mut dyn FnMut(RecordBatch) -> Result<()>,
) -> Result<BTreeMap<String, String>> {
    let wrap = |source| Error::Parquet {
        path: path.to_path_buf(),
        source,
    };
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let mut builder = ParquetRecordBatchReaderBuilder::try_new(file).map_err(wrap)?;
    check_footer(path, builder.metadata())?;
    if let Some(expected) = expected {
        check_schema(path, builder.schema(), expected)?;
    }
    let metadata: BTreeMap<String, String> = builder
        .metadata()
        .file_metadata()
        .key_value_metadata()
        .map(|kv| {
            kv.iter()
                .map(|kv| (kv.key.clone(), kv.value.clone().unwrap_or_default()))
                .collect()
        })
        .unwrap_or_default();
    if let Some(task) = task {
        let column = builder
            .parquet_schema()
            .columns()
            .iter()
            .position(|c| c.name() == "task")
            .ok_or_else(|| Error::schema(path, "no `task` column"))?;
        let groups: Vec<usize> = builder
            .metadata()
            .row_groups()
            .iter()
            .enumerate()
            .filter(|(_, rg)| match rg.column(column).statistics() {
                Some(Statistics::Int32(s)) => match (s.min_opt(), s.max_opt()) {
                    (Some(&lo), Some(&hi)) => lo <= task as i32 && task as i32 <= hi,
                    _ => true,
                },
                _ => true,
            })
            .map(|(i, _)| i)
            .collect();
        builder = builder.with_row_groups(groups);
    }
    let reader = builder.with_batch_size(rows).build().map_err(wrap)?;
    for batch in reader {
        let batch = batch.map_err(|source| Error::Arrow {
            path: path.to_path_buf(),
            source,
        })?;
        let batch = match task {
            Some(task) => {
                let tasks = batch
                    .column_by_name("task")
                    .expect("schema checked")
                    .as_primitive_opt::<arrow_array::types::UInt16Type>()
                    .ok_or_else(|| Error::schema(path, "column `task` is not uint16"))?;
                // A null task never matches (the contract's task column has none).
                let keep: arrow_array::BooleanArray = tasks.iter().map(|t| Some(t == Some(task))).collect();
                arrow_select::filter::filter_record_batch(&batch, &keep).map_err(|source| Error::Arrow {
                    path: path.to_path_buf(),
                    source,
                })?
            }
            None => batch,
        };
        if batch.num_rows() > 0 {
            sink(batch)?;
        }
    }
    Ok(metadata)
}

/// Every column chunk the footer lists lies inside the file: the parquet
/// crate panics on a negative offset or length (`ColumnChunkMetaData::
/// byte_range`), found by `crates/fuzz`, so a damaged footer must be an
/// error before any chunk is read.
fn check_footer(path: &Path, metadata: &parquet::file::metadata::ParquetMetaData) -> Result<()> {
    let size = std::fs::metadata(path).map_err(|e| Error::io(path, e))?.len();
    for (g, group) in metadata.row_groups().iter().enumerate() {
        for chunk in group.columns() {
            let start = chunk.dictionary_page_offset().unwrap_or(chunk.data_page_offset());
            let length = chunk.compressed_size();
            let inside = u64::try_from(start)
                .ok()
                .zip(u64::try_from(length).ok())
                .and_then(|(start, length)| start.checked_add(length))
                .is_some_and(|end| end <= size);
            if !inside {
                return Err(Error::schema(
                    path,
                    format!(
                        "row group {g}, column `{}`: the footer puts it at bytes {start} to {start} + {length}, outside \
                         the file's {size} bytes (a damaged or truncated Parquet file)",
                        chunk.column_path()
                    ),
                ));
            }
        }
    }
    Ok(())
}

fn check_schema(path: &Path, actual: &SchemaRef, expected: &SchemaRef) -> Result<()> {
    for field in expected.fields() {
        match actual.field_with_name(field.name()) {
            Ok(found) if found.data_type().equals_datatype(field.data_type()) => {}
            Ok(found) => {
                return Err(Error::schema(
                    path,
                    format!(
                        "column `{}` has type {}, the artifact contract (ARCHITECTURE.md) says {}",
                        field.name(),
                        found.data_type(),
                        field.data_type()
                    ),
                ))
            }
            Err(_) => {
                return Err(Error::schema(
                    path,
                    format!(
                        "column `{}` ({}) is missing; the artifact contract is in ARCHITECTURE.md",
                        field.name(),
                        field.data_type()
                    ),
                ))
            }
        }
    }
    Ok(())
}

impl ParquetTable {
    /// The column `name` of one of this table's batches, or an error naming it.
    pub fn column<'a>(&self, batch: &'a RecordBatch, name: &str) -> Result<&'a ArrayRef> {
        batch
            .column_by_name(name)
            .ok_or_else(|| Error::schema(&self.path, format!("column `{name}` is missing")))
    }

    /// Total rows.
    pub fn num_rows(&self) -> usize {
        self.batches.iter().map(|b| b.num_rows()).sum()
    }

    /// A primitive column, concatenated over batches.
    pub fn primitive<T: arrow_array::ArrowPrimitiveType>(&self, name: &str) -> Result<Vec<T::Native>> {
        let mut out = Vec::with_capacity(self.num_rows());
        for batch in &self.batches {
            let column = batch
                .column_by_name(name)
                .ok_or_else(|| Error::schema(&self.path, format!("column `{name}` is missing")))?;
            let values = column
                .as_primitive_opt::<T>()
                .ok_or_else(|| Error::schema(&self.path, format!("column `{name}` has type {}", column.data_type())))?;
            if values.null_count() > 0 {
                return Err(Error::schema(&self.path, format!("column `{name}` has nulls")));
            }
            out.extend_from_slice(values.values());
        }
        Ok(out)
    }

    /// A float64 column that the contract says is finite everywhere
    /// (ARCHITECTURE.md, "Finite values"); a NaN or infinity is an error
    /// naming the file, the column, the row and its seed, method and task.
    pub fn finite_f64(&self, name: &str) -> Result<Vec<f64>> {
        let values = self.primitive::<arrow_array::types::Float64Type>(name)?;
        match values.iter().position(|v| !v.is_finite()) {
            None => Ok(values),
            Some(row) => Err(self.not_finite(name, values[row], row, None)),
        }
    }

    /// [`ParquetTable::float_images`], every value finite (see
    /// [`ParquetTable::finite_f64`]).
    pub fn finite_float_images(&self, name: &str) -> Result<Vec<f32>> {
        let values = self.float_images(name)?;
        match values.iter().position(|v| !v.is_finite()) {
            None => Ok(values),
            Some(at) => Err(self.not_finite(name, values[at] as f64, at / crate::PIXELS, Some(at % crate::PIXELS))),
        }
    }

    fn not_finite(&self, name: &str, value: f64, row: usize, pixel: Option<usize>) -> Error {
        let mut keys = Vec::new();
        if let Ok(seeds) = self.primitive::<arrow_array::types::UInt64Type>("seed") {
            keys.push(format!("seed {}", seeds[row]));
        }
        if let Ok(methods) = self.strings("method") {
            keys.push(format!("method {}", methods[row]));
        }
        for task in ["task", "task_i", "context_task"] {
            if let Ok(tasks) = self.primitive::<arrow_array::types::UInt16Type>(task) {
                keys.push(format!("{task} {}", tasks[row]));
            }
        }
        for other in ["task_j", "data_task", "epoch"] {
            if let Ok(values) = self.primitive::<arrow_array::types::UInt32Type>(other) {
                keys.push(format!("{other} {}", values[row]));
            } else if let Ok(values) = self.primitive::<arrow_array::types::UInt16Type>(other) {
                keys.push(format!("{other} {}", values[row]));
            }
        }
        if let Some(pixel) = pixel {
            keys.push(format!("pixel {pixel}"));
        }
        let keys = if keys.is_empty() {
            String::new()
        } else {
            format!(" ({})", keys.join(", "))
        };
        Error::schema(
            &self.path,
            format!(
                "column `{name}` holds {value} at row {row}{keys}: the artifact contract (ARCHITECTURE.md) says it is \
                 finite; rerun the stage that wrote it with --force"
            ),
        )
    }

    /// A nullable float column (nulls become NaN).
    pub fn f64_or_nan(&self, name: &str) -> Result<Vec<f64>> {
        let mut out = Vec::with_capacity(self.num_rows());
        for batch in &self.batches {
            let column = batch
                .column_by_name(name)
                .ok_or_else(|| Error::schema(&self.path, format!("column `{name}` is missing")))?;
            let values = column
                .as_primitive_opt::<arrow_array::types::Float64Type>()
                .ok_or_else(|| Error::schema(&self.path, format!("column `{name}` is not float64")))?;
            out.extend(values.iter().map(|v| v.unwrap_or(f64::NAN)));
        }
        Ok(out)
    }

    /// A string column, concatenated over batches.
    pub fn strings(&self, name: &str) -> Result<Vec<String>> {
        let mut out = Vec::with_capacity(self.num_rows());
        for batch in &self.batches {
            let column = batch
                .column_by_name(name)
                .ok_or_else(|| Error::schema(&self.path, format!("column `{name}` is missing")))?;
            let values = column
                .as_string_opt::<i32>()
                .ok_or_else(|| Error::schema(&self.path, format!("column `{name}` is not utf8")))?;
            out.extend(values.iter().map(|v| v.unwrap_or_default().to_string()));
        }
        Ok(out)
    }

    /// The `image` column as concatenated 784-byte images.
    pub fn images(&self) -> Result<Vec<u8>> {
        let mut out = Vec::with_capacity(self.num_rows() * crate::PIXELS);
        for batch in &self.batches {
            out.extend_from_slice(image_values(&self.path, batch)?);
        }
        Ok(out)
    }

    /// A `fixed_size_list<float32>[784]` column as concatenated images.
    pub fn float_images(&self, name: &str) -> Result<Vec<f32>> {
        let mut out = Vec::with_capacity(self.num_rows() * crate::PIXELS);
        for batch in &self.batches {
            let column = batch
                .column_by_name(name)
                .ok_or_else(|| Error::schema(&self.path, format!("column `{name}` is missing")))?;
            let lists = column
                .as_fixed_size_list_opt()
                .filter(|l| l.value_length() as usize == crate::PIXELS)
                .ok_or_else(|| {
                    Error::schema(
                        &self.path,
                        format!("column `{name}` is not fixed_size_list<float32>[784]"),
                    )
                })?;
            for i in 0..lists.len() {
                let item = lists.value(i);
                let values = item
                    .as_primitive_opt::<arrow_array::types::Float32Type>()
                    .ok_or_else(|| Error::schema(&self.path, format!("column `{name}` does not hold float32")))?;
                out.extend_from_slice(values.values());
            }
        }
        Ok(out)
    }

    /// A `list<float64>` column.
    pub fn float_lists(&self, name: &str) -> Result<Vec<Vec<f64>>> {
        let mut out = Vec::with_capacity(self.num_rows());
        for batch in &self.batches {
            let column = batch
                .column_by_name(name)
                .ok_or_else(|| Error::schema(&self.path, format!("column `{name}` is missing")))?;
            let lists = column
                .as_list_opt::<i32>()
                .ok_or_else(|| Error::schema(&self.path, format!("column `{name}` is not list<float64>")))?;
            for i in 0..lists.len() {
                let item = lists.value(i);
                let values = item
                    .as_primitive_opt::<arrow_array::types::Float64Type>()
                    .ok_or_else(|| Error::schema(&self.path, format!("column `{name}` does not hold float64")))?;
                out.push(values.values().to_vec());
            }
        }
        Ok(out)
    }

    /// A metadata value, or an error naming the key.
    pub fn meta(&self, key: &str) -> Result<&str> {
        self.metadata
            .get(key)
            .map(String::as_str)
            .ok_or_else(|| Error::schema(&self.path, format!("metadata key `{key}` is missing")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::types::{UInt16Type, UInt8Type};
    use arrow_array::{StringArray, UInt16Array, UInt32Array, UInt8Array};

    #[test]
    fn images_round_trip_and_task_filter_reads_only_that_task() {
        let dir = std::env::temp_dir().join(format!("tgsh-schema-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("images.parquet");
        let meta = BTreeMap::from([("family".to_string(), "Test".to_string())]);
        let mut sink = ParquetSink::create(&path, images_schema(), &meta).unwrap();
        for task in 0..3u16 {
            let n = 4;
            let pixels: Vec<u8> = (0..n * crate::PIXELS).map(|i| (i as u16 + task) as u8).collect();
            let b = batch(
                &path,
                images_schema(),
                vec![
                    Arc::new(UInt16Array::from(vec![task; n])),
                    Arc::new(StringArray::from(vec!["train"; n])),
                    Arc::new(UInt32Array::from((0..n as u32).collect::<Vec<_>>())),
                    Arc::new(UInt8Array::from(vec![7u8; n])),
                    image_column(pixels).unwrap(),
                ],
            )
            .unwrap();
            sink.write(&b).unwrap();
        }
        sink.close().unwrap();

        let all = read_parquet(&path, &images_schema()).unwrap();
        assert_eq!(all.num_rows(), 12);
        assert_eq!(all.meta("family").unwrap(), "Test");
        let one = read_task(&path, &images_schema(), 1).unwrap();
        assert_eq!(one.primitive::<UInt16Type>("task").unwrap(), vec![1; 4]);
        assert_eq!(one.primitive::<UInt8Type>("label").unwrap(), vec![7; 4]);
        let images = one.images().unwrap();
        assert_eq!(images.len(), 4 * crate::PIXELS);
        assert_eq!(images[0], 1);
        assert_eq!(images[5], 6);

        let wrong = read_parquet(&path, &metrics_schema()).unwrap_err().to_string();
        assert!(wrong.contains("images.parquet") && wrong.contains("`seed`"), "{wrong}");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn images_streamed_into_reused_buffers_are_the_tables_images() {
        let dir = std::env::temp_dir().join(format!("tgsh-schema-stream-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("images.parquet");
        let mut sink = ParquetSink::create(&path, images_schema(), &BTreeMap::new()).unwrap();
        // Task 1 spans more than one streamed batch.
        let counts = [3usize, IMAGE_BATCH_ROWS + 5, 2];
        for (task, &n) in counts.iter().enumerate() {
            let pixels: Vec<u8> = (0..n * crate::PIXELS).map(|i| (i / 7 + task * 31) as u8).collect();
            let labels: Vec<u8> = (0..n).map(|i| (i % 10) as u8).collect();
            let b = batch(
                &path,
                images_schema(),
                vec![
                    Arc::new(UInt16Array::from(vec![task as u16; n])),
                    Arc::new(StringArray::from(vec!["train"; n])),
                    Arc::new(UInt32Array::from((0..n as u32).collect::<Vec<_>>())),
                    Arc::new(UInt8Array::from(labels)),
                    image_column(pixels).unwrap(),
                ],
            )
            .unwrap();
            sink.write(&b).unwrap();
        }
        sink.close().unwrap();

        // Buffers left over from a larger task, as the train stage reuses them.
        let (mut images, mut labels) = (vec![255u8; 9 * crate::PIXELS * 1000], vec![255u8; 9000]);
        for task in [1u16, 0, 2, 1] {
            read_task_images_into(&path, task, &mut images, &mut labels).unwrap();
            let table = read_task(&path, &images_schema(), task).unwrap();
            assert_eq!(images, table.images().unwrap(), "task {task}");
            assert_eq!(labels, table.primitive::<UInt8Type>("label").unwrap(), "task {task}");
            assert_eq!(labels.len(), counts[task as usize]);
        }
        let wrong = read_task_images_into(&dir.join("missing.parquet"), 0, &mut images, &mut labels).unwrap_err();
        assert!(wrong.to_string().contains("missing.parquet"), "{wrong}");
        std::fs::remove_dir_all(dir).unwrap();
    }
}

/// Every Parquet table of the contract: the row type's name and its
/// declaration as ARCHITECTURE.md shows it ([`Table::markdown`]).
pub fn contract() -> Vec<(&'static str, String)> {
    macro_rules! tables {
        ($($row:path),* $(,)?) => {
            vec![$((stringify!($row), <$row as Table>::markdown())),*]
        };
    }
    use analysis::*;
    tables![
        ImageRow,
        TaskRow,
        MetricsRow,
        HeldoutMetricsRow,
        TimingRow,
        SimilarityRow,
        AdjacencyRow,
        CrossTaskRow,
        ReconstructionRow,
        TgshPairRow,
        RepresentationProfileRow,
        ContextsPcaRow,
        DendrogramRow,
        ClusterRow,
        SeedStatisticRow,
        StatisticRow,
        ClaimRow,
        TgshSummaryRow,
        AdjacencySummaryRow,
        RepresentationProfileSummaryRow,
        SubsamplingRow,
        AccuracySummaryRow,
        DendrogramSummaryRow,
        ClusterSummaryRow,
        ClassMeanRow,
        HeldoutRow,
        ContextCosineRow,
        ManifoldPcaRow,
        HeldoutSummaryRow,
        HeldoutCurveRow,
        ContextCosineSummaryRow,
    ]
}

#[cfg(test)]
mod contract_tests {
    use super::contract;

    const BEGIN: &str = "<!-- contract: ";
    const END: &str = "<!-- /contract -->";

    /// ARCHITECTURE.md's column tables are the declarations' own rendering.
    /// `TGSH_BLESS=1 cargo test --release --workspace contract` rewrites
    /// them after a declaration changed.
    #[test]
    fn architecture_md_shows_every_table_as_declared() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../ARCHITECTURE.md");
        let text = std::fs::read_to_string(&path).unwrap();
        let mut blessed = text.clone();
        let mut problems = Vec::new();
        for (name, markdown) in contract() {
            let marker = format!("{BEGIN}{name} -->\n");
            let Some(start) = blessed.find(&marker).map(|i| i + marker.len()) else {
                problems.push(format!("no `{}` section", marker.trim_end()));
                continue;
            };
            let end = start + blessed[start..].find(END).expect("every contract section is closed");
            if blessed[start..end] != markdown {
                problems.push(format!("the `{name}` table differs from its declaration"));
                blessed.replace_range(start..end, &markdown);
            }
        }
        let listed = text.matches(BEGIN).count();
        if listed != contract().len() {
            problems.push(format!(
                "{listed} contract sections for {} declared tables",
                contract().len()
            ));
        }
        if !problems.is_empty() && std::env::var_os("TGSH_BLESS").is_some() {
            std::fs::write(&path, blessed).unwrap();
            return;
        }
        assert!(
            problems.is_empty(),
            "ARCHITECTURE.md: {}; run `TGSH_BLESS=1 cargo test --release --workspace contract` to write the declared tables",
            problems.join("; ")
        );
    }
}
