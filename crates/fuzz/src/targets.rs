//! The fuzz targets: each feeds an input to a parser the way a stage does,
//! then uses what it accepted the way the stage's next lines do.

use crate::seeds;
use crate::Target;
use arrow_array::types::{Float64Type, UInt16Type, UInt32Type, UInt64Type, UInt8Type};
use arrow_schema::DataType;
use std::path::{Path, PathBuf};
use tgsh_common::schema;
use tgsh_common::{Pipeline, Stage, StagePlan};
use tgsh_model::manifold_file::ManifoldModel;
use tgsh_model::Model;

/// Every target.
pub fn all() -> Vec<Target> {
    vec![
        pipeline_toml(),
        idx(),
        mnist_gzip(),
        parquet(),
        parquet_polars(),
        safetensors(),
    ]
}

/// A file of this thread for inputs that parsers read from disk.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tgsh-fuzz-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir.join(format!("{:?}-{name}", std::thread::current().id()).replace(['(', ')'], ""))
}

fn write(name: &str, input: &[u8]) -> PathBuf {
    let path = scratch(name);
    std::fs::write(&path, input).expect("scratch file");
    path
}

fn words(list: &[&str]) -> Vec<Vec<u8>> {
    list.iter().map(|w| w.as_bytes().to_vec()).collect()
}

/// Numbers at the edges, as text.
const NUMBERS: [&str; 14] = [
    "0",
    "-1",
    "1e309",
    "-1e309",
    "nan",
    "inf",
    "1e-320",
    "65535",
    "65536",
    "4294967295",
    "4294967296",
    "18446744073709551615",
    "99999999999999999999",
    "0.5",
];

/// The pipeline file: parsed and validated as every stage does first, then
/// expanded into tasks as the data and train stages do.
pub fn pipeline_toml() -> Target {
    let mut dictionary = words(&NUMBERS);
    dictionary.extend(words(&[
        "count = ",
        "step = ",
        "[heldout]\n",
        "train_first = ",
        "train_last = ",
        "train_every = ",
        "methods = [\"circle\", \"input\", \"line\", \"fourier3\"]",
        "seeds = [0, 0]",
        "hidden = ",
        "epochs = ",
        "batch_size = ",
        "clusters = ",
        "device = \"cuda\"",
        "transform = \"shift\"",
        "transform = \"rotate\"",
        "transforms = [",
        "{ kind = \"random_erasing\" }",
        "sweep = { transform = \"rotate\", count = 3, step = 120.0 }",
        "[[analyze.claims]]\n",
        "\"",
        "'''",
        "[",
        "]",
        "{",
        "}",
        ",",
        "=",
        "\n",
    ]));
    Target {
        name: "pipeline_toml",
        allocation_limit: crate::alloc::LIMIT,
        seeds: seeds::pipelines(),
        dictionary,
        run: |input| {
            let text = String::from_utf8_lossy(input);
            let pipeline = Pipeline::parse(Path::new("pipelines/fuzz.toml"), &text).map_err(|e| e.to_string())?;
            let _ = pipeline.data.family.expand();
            // Every stage's plan: the files and parameters each job would use.
            let artifacts = tgsh_common::Artifacts::new(Path::new("fuzz-artifacts"), &pipeline.name);
            for stage in [Stage::Data, Stage::Train, Stage::Report] {
                StagePlan::of(stage, &pipeline, &artifacts).map_err(|e| e.to_string())?;
            }
            Ok(())
        },
    }
}

/// The IDX parser, for both kinds of MNIST file.
pub fn idx() -> Target {
    Target {
        name: "idx",
        allocation_limit: crate::alloc::LIMIT,
        seeds: seeds::idx_files(),
        dictionary: vec![
            0x0801u32.to_be_bytes().to_vec(),
            0x0803u32.to_be_bytes().to_vec(),
            28u32.to_be_bytes().to_vec(),
        ],
        run: |input| {
            let path = Path::new("fuzz-idx-ubyte");
            let labels = tgsh_data::mnist::parse_idx(path, input, 0x0801, &[]);
            let images = tgsh_data::mnist::parse_idx(path, input, 0x0803, &[28, 28]);
            match (labels, images) {
                (Err(a), Err(b)) => Err(format!("{a}; {b}")),
                _ => Ok(()),
            }
        },
    }
}

/// MNIST files as the data stage reads them: gzip, bounded, then IDX.
pub fn mnist_gzip() -> Target {
    Target {
        name: "mnist_gzip",
        allocation_limit: crate::alloc::LIMIT,
        seeds: seeds::idx_files().iter().map(|f| seeds::gzip(f)).collect(),
        dictionary: vec![vec![0x1f, 0x8b, 8, 0], vec![0xff; 4]],
        run: |input| {
            let path = write("t10k-labels-idx1-ubyte.gz", input);
            let bytes = tgsh_data::mnist::read_file(&path).map_err(|e| e.to_string())?;
            tgsh_data::mnist::parse_idx(&path, &bytes, 0x0801, &[])
                .map(|_| ())
                .map_err(|e| e.to_string())
        },
    }
}

/// Parquet through the shared Arrow readers: the first byte picks the
/// schema the file is read as (every schema a stage reads), the rest is
/// the file; every column is then read as the stages read it.
pub fn parquet() -> Target {
    let schemas = seeds::parquet_schemas();
    let seeds = schemas
        .iter()
        .enumerate()
        .map(|(k, (_, schema))| {
            let mut input = vec![k as u8];
            input.extend(seeds::parquet_file(schema));
            input
        })
        .collect();
    Target {
        name: "parquet",
        allocation_limit: crate::alloc::PARQUET_LIMIT,
        seeds,
        dictionary: vec![b"PAR1".to_vec(), vec![0xff; 4], vec![0; 4]],
        run: |input| {
            let Some((&which, file)) = input.split_first() else {
                return Err("empty".into());
            };
            let schemas = seeds::parquet_schemas();
            let (name, expected) = &schemas[which as usize % schemas.len()];
            let path = write(&format!("{name}.parquet"), file);
            read_as_the_stages_do(&path, expected).map_err(|e| e.to_string())
        },
    }
}

fn read_as_the_stages_do(path: &Path, expected: &arrow_schema::SchemaRef) -> tgsh_common::Result<()> {
    let table = schema::read_parquet(path, expected)?;
    let _ = table.meta("family");
    for field in expected.fields() {
        let name = field.name();
        match field.data_type() {
            DataType::UInt8 => drop(table.primitive::<UInt8Type>(name)?),
            DataType::UInt16 => drop(table.primitive::<UInt16Type>(name)?),
            DataType::UInt32 => drop(table.primitive::<UInt32Type>(name)?),
            DataType::UInt64 => drop(table.primitive::<UInt64Type>(name)?),
            DataType::Float64 => {
                drop(table.f64_or_nan(name)?);
                let _ = table.finite_f64(name);
                drop(table.primitive::<Float64Type>(name)?);
            }
            DataType::Utf8 => drop(table.strings(name)?),
            DataType::FixedSizeBinary(_) => drop(table.images()?),
            DataType::FixedSizeList(_, _) => {
                let _ = table.finite_float_images(name);
                drop(table.float_images(name)?);
            }
            DataType::List(_) => drop(table.float_lists(name)?),
            _ => {}
        }
    }
    if expected.field_with_name("image").is_ok() && expected.field_with_name("split").is_ok() {
        schema::read_task(path, expected, 1)?.images()?;
    }
    if expected.field_with_name("cosine").is_ok() && expected.field_with_name("state").is_ok() {
        schema::similarity_matrices(path, 3)?;
    }
    Ok(())
}

/// Parquet through the report's reader into polars frames (the summary tables).
pub fn parquet_polars() -> Target {
    let seeds = seeds::parquet_schemas()
        .iter()
        .map(|(_, schema)| seeds::parquet_file(schema))
        .collect();
    Target {
        name: "parquet_polars",
        allocation_limit: crate::alloc::PARQUET_LIMIT,
        seeds,
        dictionary: vec![b"PAR1".to_vec(), vec![0xff; 4], vec![0; 4]],
        run: |input| {
            let path = write("table.parquet", input);
            tgsh_report::results::read_frame(&path).map_err(|e| e.to_string())?;
            let _ = tgsh_report::results::claims(&path);
            Ok(())
        },
    }
}

/// Model files of both formats, loaded as the analyze stage loads them,
/// then evaluated on one image.
pub fn safetensors() -> Target {
    let mut dictionary = words(&NUMBERS);
    dictionary.extend(words(&[
        "\"F32\"",
        "\"F16\"",
        "\"I64\"",
        "\"shape\":[",
        "\"data_offsets\":[",
        "fourier",
        "onehot",
        "constant",
        "circle",
        "tgsh-manifold/1",
        "tgsh-crwn/1",
        "[0.5]",
        "[]",
        "\"__metadata__\"",
    ]));
    Target {
        name: "safetensors",
        allocation_limit: crate::alloc::LIMIT,
        seeds: seeds::model_files(),
        dictionary,
        run: |input| {
            let path = write("model.safetensors", input);
            let image = [0u8; tgsh_common::PIXELS];
            let crwn = Model::load(&path).map(|(model, _)| {
                let _ = model.contexts_after();
                let _ = model.encoder.encode(&image);
            });
            let manifold = ManifoldModel::load(&path).map(|(model, _)| {
                let _ = model.after.context(0.25);
                let _ = model.after.bias(0.25);
                let _ = model.encoder.encode(&image);
            });
            match (crwn, manifold) {
                (Err(a), Err(b)) => Err(format!("{a}; {b}")),
                _ => Ok(()),
            }
        },
    }
}
