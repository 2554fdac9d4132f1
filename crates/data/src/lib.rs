//! Stage 1, `data`: MNIST -> a task family -> Parquet.
//!
//! A task family is a list of tasks, each one image transform applied to
//! every MNIST image (labels unchanged): RotationMNIST rotates by `10 i`
//! degrees, ShiftMNIST shifts right by `i` pixels with wrap-around,
//! AugmentMNIST applies eight different augmentations. The family comes from
//! the pipeline file (`[data.family]`), never from code.
//!
//! - [`mnist`] loads the IDX files and verifies their SHA-256.
//! - [`transforms`] holds the image transforms, matching torchvision byte
//!   for byte where torchvision is deterministic.
//! - [`generate`] applies a family and writes `train.parquet`,
//!   `test.parquet` and `tasks.parquet` (schemas in `tgsh_common::schema`).
//!
//! Random transforms draw fresh parameters for every image from a generator
//! seeded by `(data.seed, task, split, source index)`, so the output is the
//! same on any number of threads and any rerun.
#![deny(missing_docs)]

pub mod mnist;
pub mod transforms;

use arrow_array::{ArrayRef, StringArray, UInt16Array, UInt32Array, UInt8Array};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use tgsh_common::cli::RunOptions;
use tgsh_common::config::{DataConfig, TaskSpec, Transform};
use tgsh_common::schema::{self, ImageRow, ParquetSink, Table, TaskRow, TimingRow, TEST_IMAGES_FILE};
use tgsh_common::{Artifacts, Pipeline, Stage, StagePlan, PIXELS};
use transforms::Image;

/// Errors of the data stage.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// MNIST could not be loaded or verified.
    #[error(transparent)]
    Mnist(#[from] mnist::MnistError),
    /// Writing artifacts or reading the config failed.
    #[error(transparent)]
    Common(#[from] tgsh_common::Error),
}

/// Version of the generator, stored in the Parquet metadata. Bump it when the
/// output of any transform changes.
pub const GENERATOR_VERSION: &str = "tgsh-data/1";

/// Applies one task's transform to one image.
pub fn apply(transform: &Transform, image: &Image, rng: &mut ChaCha8Rng) -> Image {
    match *transform {
        Transform::Identity => *image,
        Transform::Rotate { degrees } => transforms::rotate(image, degrees),
        Transform::Shift { pixels } => transforms::shift_right(image, pixels),
        Transform::RotateShift { degrees, pixels } => {
            transforms::shift_right(&transforms::rotate(image, degrees), pixels)
        }
        Transform::Hflip => transforms::hflip(image),
        Transform::Vflip => transforms::vflip(image),
        Transform::Invert => transforms::invert(image),
        Transform::GaussianBlur { kernel, sigma } => transforms::gaussian_blur(image, kernel, sigma),
        Transform::RandomPerspective { distortion } => transforms::random_perspective(image, distortion, rng).0,
        Transform::RandomErasing { scale, ratio, value } => {
            transforms::random_erasing(image, (scale[0], scale[1]), (ratio[0], ratio[1]), value, rng).0
        }
        Transform::RandomResizedCrop { scale, ratio } => {
            transforms::random_resized_crop(image, (scale[0], scale[1]), (ratio[0], ratio[1]), rng).0
        }
    }
}

/// The generator for one image's random parameters: a pure function of the
/// data seed, task, split and source index (splitmix64 mixing).
pub fn image_rng(seed: u64, task: usize, split: u8, index: usize) -> ChaCha8Rng {
    let mut x = seed;
    for v in [task as u64, split as u64, index as u64] {
        x = splitmix(x ^ splitmix(v.wrapping_add(0x9E37_79B9_7F4A_7C15)));
    }
    ChaCha8Rng::seed_from_u64(x)
}

fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Applies `task` to every image of `split` (in parallel), in source order.
pub fn transform_split(task: &TaskSpec, split: &mnist::Split, split_id: u8, seed: u64) -> Vec<u8> {
    let mut out = vec![0u8; split.len() * PIXELS];
    out.par_chunks_mut(PIXELS).enumerate().for_each(|(i, dst)| {
        let mut rng = image_rng(seed, task.id, split_id, i);
        dst.copy_from_slice(&apply(&task.transform, split.image(i), &mut rng));
    });
    out
}

/// What [`generate`] wrote.
#[derive(Debug, Clone)]
pub struct Summary {
    /// Number of tasks.
    pub tasks: usize,
    /// Training images per task.
    pub train_images: usize,
    /// Test images per task.
    pub test_images: usize,
}

/// Builds the family of `config` from `mnist` and writes the three Parquet
/// files into `dir`. `progress` is called after each task.
pub fn generate(
    config: &DataConfig,
    mnist: &mnist::Mnist,
    dir: &Path,
    mut progress: impl FnMut(usize),
) -> Result<Summary, DataError> {
    let mut train = mnist.train.clone();
    let mut test = mnist.test.clone();
    train.truncate(config.train_images);
    test.truncate(config.test_images);
    let tasks = config.family.expand();
    let metadata = file_metadata(config, mnist, &train, &test);

    write_tasks(&dir.join(TaskRow::FILE), &tasks, &metadata)?;
    let train_path = dir.join(ImageRow::FILE);
    let test_path = dir.join(TEST_IMAGES_FILE);
    let mut train_sink = ParquetSink::create(&train_path, schema::images_schema(), &metadata)?;
    let mut test_sink = ParquetSink::create(&test_path, schema::images_schema(), &metadata)?;
    // Encoding and compressing a task overlaps with transforming the next:
    // each file has its own writer thread fed through a one-slot channel.
    std::thread::scope(|scope| -> Result<(), DataError> {
        let (train_tx, train_rx) = std::sync::mpsc::sync_channel::<arrow_array::RecordBatch>(1);
        let (test_tx, test_rx) = std::sync::mpsc::sync_channel::<arrow_array::RecordBatch>(1);
        let train_writer = scope.spawn(move || -> Result<(), DataError> {
            for batch in train_rx {
                train_sink.write(&batch)?;
            }
            Ok(train_sink.close()?)
        });
        let test_writer = scope.spawn(move || -> Result<(), DataError> {
            for batch in test_rx {
                test_sink.write(&batch)?;
            }
            Ok(test_sink.close()?)
        });
        let mut produce = || -> Result<(), DataError> {
            for task in &tasks {
                for (split, split_id, path, tx) in [
                    (&train, 0u8, &train_path, &train_tx),
                    (&test, 1u8, &test_path, &test_tx),
                ] {
                    let pixels = transform_split(task, split, split_id, config.seed);
                    let batch = images_batch(path, task.id, split_id, split, pixels)?;
                    if tx.send(batch).is_err() {
                        break; // the writer failed; its error is reported below
                    }
                }
                progress(task.id + 1);
            }
            Ok(())
        };
        let produced = produce();
        drop(train_tx);
        drop(test_tx);
        train_writer.join().expect("writer thread panicked")?;
        test_writer.join().expect("writer thread panicked")?;
        produced
    })?;
    Ok(Summary {
        tasks: tasks.len(),
        train_images: train.len(),
        test_images: test.len(),
    })
}

fn images_batch(
    path: &Path,
    task: usize,
    split_id: u8,
    split: &mnist::Split,
    pixels: Vec<u8>,
) -> Result<arrow_array::RecordBatch, DataError> {
    let n = split.len();
    let name = if split_id == 0 { "train" } else { "test" };
    let columns: Vec<ArrayRef> = vec![
        Arc::new(UInt16Array::from(vec![task as u16; n])),
        Arc::new(StringArray::from(vec![name; n])),
        Arc::new(UInt32Array::from((0..n as u32).collect::<Vec<_>>())),
        Arc::new(UInt8Array::from(split.labels.clone())),
        schema::image_column(pixels)?,
    ];
    Ok(schema::batch(path, schema::images_schema(), columns)?)
}

fn write_tasks(path: &Path, tasks: &[TaskSpec], metadata: &BTreeMap<String, String>) -> Result<(), DataError> {
    let rows: Vec<TaskRow> = tasks
        .iter()
        .map(|t| TaskRow {
            task: t.id as u16,
            name: t.name.clone(),
            transform: t.transform.kind().into(),
            parameter: t.transform.parameter(),
            spec: serde_json::to_string(&t.transform).expect("serialisable"),
        })
        .collect();
    Ok(TaskRow::write(path, &rows, metadata)?)
}

/// The footer metadata of every data file: family, its parameters, seed,
/// MNIST checksums, sizes and generator version.
fn file_metadata(
    config: &DataConfig,
    mnist: &mnist::Mnist,
    train: &mnist::Split,
    test: &mnist::Split,
) -> BTreeMap<String, String> {
    let mut meta = BTreeMap::new();
    meta.insert("family".into(), config.family.name.clone());
    meta.insert(
        "family_config".into(),
        serde_json::to_string(&config.family).expect("serialisable"),
    );
    meta.insert("seed".into(), config.seed.to_string());
    meta.insert("generator".into(), GENERATOR_VERSION.into());
    meta.insert("tgsh_version".into(), tgsh_common::VERSION.into());
    meta.insert("train_images".into(), train.len().to_string());
    meta.insert("test_images".into(), test.len().to_string());
    for (name, sha) in &mnist.checksums {
        meta.insert(format!("mnist_sha256:{name}"), sha.clone());
    }
    meta
}

/// Runs the data stage for `pipeline`: skips when up to date (unless
/// `options.force`), else generates into a partial folder and publishes it.
pub fn run(pipeline: &Pipeline, artifacts: &Artifacts, options: &RunOptions) -> Result<(), DataError> {
    let config = &pipeline.data;
    // The files must exist (with a message naming the missing one) before
    // the plan's inputs are hashed.
    mnist::files(&config.mnist_dir)?;
    let plan = StagePlan::of(Stage::Data, pipeline, artifacts)?;
    let stage = plan.jobs[0].stage_run(Stage::Data)?;
    if !stage.should_run(options.force)? {
        return Ok(());
    }
    let mnist = mnist::load(&config.mnist_dir)?;
    let dir = stage.begin()?;
    let tasks = config.family.expand().len();
    let bar = tgsh_common::progress::bar(tasks as u64, format!("{} tasks", config.family.name));
    let start = std::time::Instant::now();
    let summary = generate(config, &mnist, &dir, |done| bar.set_position(done as u64))?;
    bar.finish_and_clear();
    let timings = [("generate".to_string(), start.elapsed().as_secs_f64())];
    tgsh_common::schema::write_timings(&dir.join(TimingRow::FILE), config.seed, &timings)?;
    stage.commit()?;
    eprintln!(
        "data: wrote {} tasks x ({} train + {} test) images of {} in {:.1} s to {}",
        summary.tasks,
        summary.train_images,
        summary.test_images,
        config.family.name,
        start.elapsed().as_secs_f64(),
        artifacts.stage_dir(Stage::Data).display()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use tgsh_common::schema::read_task;

    #[test]
    fn image_rng_depends_on_every_coordinate() {
        use rand::Rng;
        let draw = |s, t, sp, i| image_rng(s, t, sp, i).random::<u64>();
        let base = draw(0, 1, 0, 5);
        assert_eq!(base, draw(0, 1, 0, 5));
        for other in [draw(1, 1, 0, 5), draw(0, 2, 0, 5), draw(0, 1, 1, 5), draw(0, 1, 0, 6)] {
            assert_ne!(base, other);
        }
    }

    /// A blur sweep's tasks blur a single bright pixel into the torchvision
    /// kernel's outer product, worked out by hand: with kernel 3 the 1-D
    /// weights are `(e, 1, e) / (1 + 2e)`, `e = exp(-1 / (2σ²))`.
    #[test]
    fn a_blur_sweep_blurs_each_task_by_its_sigma() {
        let pipeline = Pipeline::parse(
            Path::new("blur.toml"),
            "[data.family]\nname = \"B\"\nsweep = { transform = \"blur\", count = 3, start = 1.0, step = 1.0, kernel = 3 }\n",
        )
        .unwrap();
        let tasks = pipeline.data.family.expand();
        let mut dot = [0u8; PIXELS];
        dot[14 * 28 + 14] = 255;
        let mut rng = image_rng(0, 0, 0, 0);
        // σ = 1: weights (0.274069, 0.451863, 0.274069): centre 255 * 0.451863² = 52.07,
        // edge 255 * 0.451863 * 0.274069 = 31.58, corner 255 * 0.274069² = 19.15.
        // σ = 2: weights (0.319167, 0.361665, 0.319167): 33.35, 29.43, 25.98.
        for (task, [centre, edge, corner]) in tasks.iter().zip([[52u8, 32, 19], [33, 29, 26]]) {
            let out = apply(&task.transform, &dot, &mut rng);
            let at = |r: usize, c: usize| out[r * 28 + c];
            assert_eq!(at(14, 14), centre, "{}", task.name);
            assert_eq!(
                [at(13, 14), at(15, 14), at(14, 13), at(14, 15)],
                [edge; 4],
                "{}",
                task.name
            );
            assert_eq!(
                [at(13, 13), at(13, 15), at(15, 13), at(15, 15)],
                [corner; 4],
                "{}",
                task.name
            );
            // Nothing beyond the kernel's reach.
            assert_eq!(
                out.iter().map(|&v| v as u32).sum::<u32>(),
                centre as u32 + 4 * (edge + corner) as u32
            );
        }
    }

    /// A torus family's task `(i, j)` rotates by the `i`-th angle, then
    /// shifts by the `j`-th width: a pixel at (5, 5) rotated by 180° about
    /// the centre lands on (22, 22) (nearest neighbour, exact), and a shift
    /// by 4 moves it to (22, 26).
    #[test]
    fn a_torus_task_rotates_then_shifts() {
        let pipeline = Pipeline::parse(
            Path::new("torus.toml"),
            "[data.family]\nname = \"T\"\ntorus = [{ transform = \"rotate\", count = 2, step = 180.0 }, \
             { transform = \"shift\", count = 7, step = 4 }]\n[analyze]\nclusters = 2\n",
        )
        .unwrap();
        let tasks = pipeline.data.family.expand();
        assert_eq!(tasks.len(), 14);
        assert_eq!(tasks[8].name, "rotate 180° shift 4px");
        let mut dot = [0u8; PIXELS];
        dot[5 * 28 + 5] = 200;
        let mut rng = image_rng(0, 0, 0, 0);
        let out = apply(&tasks[8].transform, &dot, &mut rng);
        let lit: Vec<usize> = (0..PIXELS).filter(|&p| out[p] != 0).collect();
        assert_eq!(lit, [22 * 28 + 26]);
        assert_eq!(out[22 * 28 + 26], 200);
        // Task 6 (no rotation, 24 px) wraps round: (5, 5) -> (5, 29 mod 28 = 1).
        let out = apply(&tasks[6].transform, &dot, &mut rng);
        assert_eq!(out[5 * 28 + 1], 200);
    }

    #[test]
    fn generates_a_small_family_readable_by_task() {
        let pipeline = Pipeline::parse(
            Path::new("tiny.toml"),
            r#"
            [data]
            mnist_dir = "../../data/mnist"
            train_images = 20
            test_images = 10
            [data.family]
            name = "Tiny"
            tasks = [{ transform = "identity" }, { transform = "hflip" }, { transform = "random_erasing" }]
            "#,
        )
        .unwrap();
        let mut config = pipeline.data.clone();
        config.mnist_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/mnist");
        let mnist = mnist::load(&config.mnist_dir).unwrap();
        let dir = std::env::temp_dir().join(format!("tgsh-data-gen-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let summary = generate(&config, &mnist, &dir, |_| {}).unwrap();
        assert_eq!((summary.tasks, summary.train_images, summary.test_images), (3, 20, 10));

        let flipped = read_task(&dir.join("train.parquet"), &schema::images_schema(), 1).unwrap();
        assert_eq!(flipped.num_rows(), 20);
        let images = flipped.images().unwrap();
        let expected = transforms::hflip(mnist.train.image(3));
        assert_eq!(&images[3 * PIXELS..4 * PIXELS], &expected[..]);
        assert_eq!(flipped.meta("family").unwrap(), "Tiny");
        assert_eq!(
            flipped.meta("mnist_sha256:t10k-images-idx3-ubyte").unwrap(),
            mnist::CHECKSUMS[2].1
        );
        let labels = flipped.primitive::<arrow_array::types::UInt8Type>("label").unwrap();
        assert_eq!(labels, mnist.train.labels[..20]);

        // Random tasks are a pure function of the seed: a second run is identical.
        let erased = read_task(&dir.join("test.parquet"), &schema::images_schema(), 2).unwrap();
        let dir2 = dir.join("again");
        std::fs::create_dir_all(&dir2).unwrap();
        generate(&config, &mnist, &dir2, |_| {}).unwrap();
        let again = read_task(&dir2.join("test.parquet"), &schema::images_schema(), 2).unwrap();
        assert_eq!(erased.images().unwrap(), again.images().unwrap());
        std::fs::remove_dir_all(dir).unwrap();
    }
}
