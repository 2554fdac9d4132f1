//! Valid inputs each target starts from: the project's pipeline files,
//! small IDX files, a small Parquet file of every schema the stages read,
//! and small model files of both formats.

use arrow_array::{
    ArrayRef, BooleanArray, Float64Array, StringArray, UInt16Array, UInt32Array, UInt64Array, UInt8Array,
};
use arrow_schema::{DataType, SchemaRef};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tgsh_common::config::TrainConfig;
use tgsh_common::schema::{self, analysis};
use tgsh_common::PIXELS;
use tgsh_model::manifold::{Basis, Conditioned, InputEncoding};
use tgsh_model::manifold_file::ManifoldModel;
use tgsh_model::Model;

/// The repository's `pipelines/*.toml`.
pub fn pipelines() -> Vec<Vec<u8>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../pipelines");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    files.iter().map(|p| std::fs::read(p).expect("readable")).collect()
}

/// An IDX file: `magic`, the sizes, then the data.
pub fn idx(magic: u32, dims: &[u32], data: &[u8]) -> Vec<u8> {
    let mut out = magic.to_be_bytes().to_vec();
    for d in dims {
        out.extend(d.to_be_bytes());
    }
    out.extend(data);
    out
}

/// Three labels and two images, as IDX files.
pub fn idx_files() -> Vec<Vec<u8>> {
    let images: Vec<u8> = (0..2 * PIXELS).map(|i| (i * 7 % 256) as u8).collect();
    vec![
        idx(0x0801, &[3], &[7, 2, 1]),
        idx(0x0803, &[2, 28, 28], &images),
        idx(0x0801, &[0], &[]),
    ]
}

/// `bytes`, gzip-compressed.
pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(bytes).expect("in memory");
    enc.finish().expect("in memory")
}

/// Every Parquet schema a stage reads, by name.
pub fn parquet_schemas() -> Vec<(&'static str, SchemaRef)> {
    vec![
        ("images", schema::images_schema()),
        ("tasks", schema::tasks_schema()),
        ("metrics", schema::metrics_schema()),
        ("heldout_metrics", schema::heldout_metrics_schema()),
        ("timings", schema::timings_schema()),
        ("similarity", schema::similarity_schema()),
        ("cross_task", analysis::cross_task_schema()),
        ("reconstruction", analysis::reconstruction_schema()),
        ("tgsh_pairs", analysis::tgsh_pairs_schema()),
        ("dendrogram", analysis::dendrogram_schema(true)),
        ("clusters", analysis::clusters_schema(false)),
        ("adjacency", analysis::adjacency_schema()),
        ("seed_statistics", analysis::seed_statistics_schema()),
        ("summary_statistics", analysis::summary_statistics_schema()),
        ("claims", analysis::claims_schema()),
        ("tgsh_summary", analysis::tgsh_summary_schema()),
        ("adjacency_summary", analysis::adjacency_summary_schema()),
        ("class_means", analysis::class_means_schema()),
        ("accuracy_summary", analysis::accuracy_summary_schema()),
        ("heldout", analysis::heldout_schema()),
        ("context_cosine", analysis::context_cosine_schema()),
        ("heldout_summary", analysis::heldout_summary_schema()),
        ("heldout_curve", analysis::heldout_curve_schema()),
        ("context_cosine_summary", analysis::context_cosine_summary_schema()),
    ]
}

/// A column of `rows` plausible values of `data_type`.
fn column(data_type: &DataType, rows: usize) -> ArrayRef {
    match data_type {
        DataType::UInt8 => Arc::new(UInt8Array::from((0..rows as u8).collect::<Vec<_>>())),
        DataType::UInt16 => Arc::new(UInt16Array::from((0..rows as u16).collect::<Vec<_>>())),
        DataType::UInt32 => Arc::new(UInt32Array::from((0..rows as u32).collect::<Vec<_>>())),
        DataType::UInt64 => Arc::new(UInt64Array::from((0..rows as u64).collect::<Vec<_>>())),
        DataType::Float64 => Arc::new(Float64Array::from(
            (0..rows).map(|r| r as f64 / 4.0).collect::<Vec<_>>(),
        )),
        DataType::Boolean => Arc::new(BooleanArray::from((0..rows).map(|r| r % 2 == 0).collect::<Vec<_>>())),
        DataType::Utf8 => Arc::new(StringArray::from(
            (0..rows)
                .map(|r| ["after", "train", "intra"][r % 3])
                .collect::<Vec<_>>(),
        )),
        DataType::FixedSizeBinary(_) => {
            schema::image_column((0..rows * PIXELS).map(|i| (i % 251) as u8).collect()).expect("whole images")
        }
        DataType::FixedSizeList(_, _) => {
            schema::float_image_column((0..rows * PIXELS).map(|i| i as f32 / 100.0).collect())
        }
        DataType::List(_) => schema::float_list_column(&(0..rows).map(|r| vec![0.5; r + 1]).collect::<Vec<_>>()),
        other => panic!("no seed values for {other}"),
    }
}

/// A three-row file of `schema`, as bytes.
pub fn parquet_file(schema: &SchemaRef) -> Vec<u8> {
    let dir = std::env::temp_dir().join(format!("tgsh-fuzz-seeds-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join(format!(
        "{}.parquet",
        std::thread::current().name().unwrap_or("seed").replace("::", "-")
    ));
    let columns = schema.fields().iter().map(|f| column(f.data_type(), 3)).collect();
    let batch = schema::batch(&path, schema.clone(), columns).expect("a valid batch");
    let metadata = BTreeMap::from([
        ("family".to_string(), "RotationMNIST".to_string()),
        ("seed".to_string(), "0".to_string()),
    ]);
    schema::write_parquet(&path, &batch, &metadata).expect("written");
    let bytes = std::fs::read(&path).expect("written");
    let _ = std::fs::remove_file(&path);
    bytes
}

/// A small CRWN file (8 hidden units, 2 tasks) and small manifold files.
pub fn model_files() -> Vec<Vec<u8>> {
    let config = TrainConfig {
        hidden: 8,
        ..TrainConfig::default()
    };
    let mut model = Model::new(&config, 1);
    for t in 0..2 {
        model.before.push(model.init_task(t));
        model.after.push(model.init_task(t + 2));
    }
    let dir = std::env::temp_dir().join(format!("tgsh-fuzz-models-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let meta = BTreeMap::from([
        ("seed".to_string(), "1".to_string()),
        ("format".to_string(), "tgsh-crwn/1".to_string()),
    ]);
    let mut out = Vec::new();
    let path = dir.join(format!("{}.safetensors", std::process::id()));
    model.save(&path, &meta).expect("written");
    out.push(std::fs::read(&path).expect("written"));
    let c0: Vec<f32> = (0..8).map(|h| h as f32 * 0.1 - 0.3).collect();
    for (basis, encoding) in [
        (Basis::Fourier { order: 1 }, InputEncoding::None),
        (Basis::Constant, InputEncoding::Circle),
        (Basis::OneHot { points: vec![0.0, 0.5] }, InputEncoding::None),
    ] {
        let before = Conditioned::constant(basis, &c0, encoding);
        let manifold = ManifoldModel {
            seed: 1,
            encoder: model.encoder.clone(),
            decoder: model.decoder.clone(),
            after: before.clone(),
            before,
        };
        manifold.save(&path, &BTreeMap::new()).expect("written");
        out.push(std::fs::read(&path).expect("written"));
    }
    let _ = std::fs::remove_file(&path);
    out
}
