//! The held-out smoke pipeline (`pipelines/heldout-smoke.toml`) end to end,
//! in process: data -> train (every method) -> analyze (every method on
//! every task) -> report, then a rerun that must skip every stage.

mod common;

use common::{heldout_of, heldout_smoke_pipeline as smoke, run_all};

use arrow_array::types::{Float64Type, UInt16Type};
use tgsh_common::schema::{analysis, read_parquet};
use tgsh_common::{Artifacts, Stage};
use tgsh_model::{Conditioned, ManifoldModel, Model};

#[test]
fn heldout_smoke_pipeline_compares_every_method_on_every_task() {
    let dir = std::env::temp_dir().join(format!("tgsh-e2e-heldout-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let pipeline = smoke();
    let heldout = heldout_of(&pipeline).clone();
    let artifacts = Artifacts::new(&dir, &pipeline.name);
    run_all(&pipeline, &artifacts, Some(0.5));

    // One model file per trained method, with its training tasks in the metadata.
    assert_eq!(heldout.train_tasks, [0, 2, 4, 6]);
    for method in &heldout.methods {
        let path = artifacts.method_model(0, &method.label());
        assert!(path.exists(), "{} missing", path.display());
    }
    // The fixed encoder and decoder are stored once per seed: every model
    // file names the network file and holds only its own tensors.
    let shard = artifacts.train_shard(0);
    let network = std::fs::metadata(shard.join("network.safetensors")).unwrap().len();
    let circle_bytes = std::fs::read(artifacts.method_model(0, "circle")).unwrap();
    let header = String::from_utf8_lossy(
        &circle_bytes[8..8 + u64::from_le_bytes(circle_bytes[..8].try_into().unwrap()) as usize],
    )
    .to_string();
    assert!(
        !header.contains("encoder.weight") && header.contains("\"network\":\"network.safetensors\""),
        "{header}"
    );
    assert!(
        (circle_bytes.len() as u64) < network / 10,
        "{} vs {network}",
        circle_bytes.len()
    );
    let (circle, meta) = ManifoldModel::load(&artifacts.method_model(0, "circle")).unwrap();
    assert_eq!(meta["topology"], "circle");
    assert_eq!(meta["train_tasks"], "[0,2,4,6]");
    assert_eq!(circle.after.basis.len(), 3);
    assert_ne!(circle.after, circle.before, "the circle trained");
    // The CRWN's file is an ordinary model file of the training tasks only.
    let (points, _) = Model::load(&artifacts.method_model(0, "points")).unwrap();
    assert_eq!(points.after.len(), 4);

    // heldout.parquet: every evaluated method on every task; the CRWN
    // served by its nearest or interpolated context agrees on seen tasks.
    let table = read_parquet(&artifacts.analysis(0, "heldout.parquet"), &analysis::heldout_schema()).unwrap();
    let methods = table.strings("method").unwrap();
    let splits = table.strings("split").unwrap();
    let tasks = table.primitive::<UInt16Type>("task").unwrap();
    let accuracy = table.primitive::<Float64Type>("accuracy").unwrap();
    let evaluated: Vec<String> = heldout
        .methods
        .iter()
        .flat_map(|m| match m.label().as_str() {
            "points" => vec!["points-nearest".to_string(), "points-interp".to_string()],
            label => vec![label.to_string()],
        })
        .collect();
    for m in ["piecewise-sgd", "quadratic-metric", "circle-sgd"] {
        assert!(evaluated.iter().any(|e| e == m), "{m} is in the smoke pipeline");
    }
    assert_eq!(methods.len(), evaluated.len() * 8);
    for m in &evaluated {
        assert_eq!(methods.iter().filter(|x| *x == m).count(), 8, "{m}");
    }
    let at = |m: &str, t: u16| {
        let k = (0..methods.len()).find(|&k| methods[k] == m && tasks[k] == t).unwrap();
        (accuracy[k], splits[k].clone())
    };
    for t in 0..8u16 {
        let (nearest, split) = at("points-nearest", t);
        assert_eq!(split, if t % 2 == 0 { "seen" } else { "interpolated" });
        if t % 2 == 0 {
            assert_eq!(nearest, at("points-interp", t).0);
        }
    }

    // The circle served at a task's s is evaluated with the trainer's
    // forward pass: recompute one task's accuracy from the files alone.
    let test = tgsh_analyze::shard::TestSet::load(&artifacts.tasks(), &artifacts.test_images()).unwrap();
    let again = accuracy_of(&circle.after, &circle, &test.images[3], &test.labels, heldout.s[3]);
    assert_eq!(again, at("circle", 3).0);

    // The summary table, the curve and the claims.
    let summary = read_parquet(
        &artifacts.summary("heldout.parquet"),
        &analysis::heldout_summary_schema(),
    )
    .unwrap();
    let split_names = summary.strings("split").unwrap();
    for split in ["seen", "interpolated", "unseen"] {
        assert!(split_names.iter().any(|s| s == split), "{split}");
    }
    let claims = read_parquet(&artifacts.summary("claims.parquet"), &analysis::claims_schema()).unwrap();
    let ids = claims.strings("id").unwrap();
    assert!(ids.iter().any(|i| i == "manifold-beats-input-interpolated"), "{ids:?}");
    for v in claims.strings("verdict").unwrap() {
        assert!(["pass", "fail", "inconclusive"].contains(&v.as_str()), "{v}");
    }
    // Differences of accuracies are in percentage points, like every page's.
    for unit in claims.strings("unit").unwrap() {
        assert_eq!(unit, "points");
    }
    let sections = claims.strings("section").unwrap();
    for (id, section) in ids.iter().zip(&sections) {
        let beyond = id.starts_with("manifold-beats-crwn");
        assert_eq!(section, if beyond { "beyond" } else { "paper" }, "{id}");
    }
    let curve = read_parquet(
        &artifacts.summary("heldout_curve.parquet"),
        &analysis::heldout_curve_schema(),
    )
    .unwrap();
    assert_eq!(curve.num_rows(), evaluated.len() * 8);

    // The report page links the figures and the tables.
    let report = artifacts.stage_dir(Stage::Report);
    let html = std::fs::read_to_string(report.join("index.html")).unwrap();
    for link in [
        "heldout_accuracy.png",
        "heldout_updates.png",
        "context_circle_vs_crwn.png",
        "../analyze/summary/heldout.parquet",
    ] {
        assert!(html.contains(link), "{link} not on the page");
        if !link.starts_with("..") {
            assert!(report.join(link).exists(), "{link} missing");
        }
    }
    assert!(html.contains("input conditioning"));

    // Nothing changed: every stage and shard is up to date.
    let records: Vec<_> = [
        artifacts.train_shard(0),
        artifacts.analyze_shard(1),
        artifacts.analyze_summary(),
        report.clone(),
    ]
    .iter()
    .map(|d| d.join("stage.json"))
    .collect();
    let before: Vec<_> = records.iter().map(|f| std::fs::read(f).unwrap()).collect();
    run_all(&pipeline, &artifacts, Some(0.5));
    for (file, before) in records.iter().zip(before) {
        assert_eq!(before, std::fs::read(file).unwrap(), "{} was rewritten", file.display());
    }
    std::fs::remove_dir_all(dir).unwrap();
}

fn accuracy_of(params: &Conditioned, model: &ManifoldModel, images: &[u8], labels: &[u8], s: f64) -> f64 {
    let encoded = model.encoder.encode_rows(images, params.bias(s).as_deref());
    tgsh_model::forward::accuracy(
        tgsh_model::Encoded {
            rows: encoded.rows(),
            labels,
        },
        &params.context(s),
        &tgsh_model::Decoder::new(&model.decoder),
    )
}

#[test]
fn a_heldout_model_file_names_the_tasks_it_was_trained_on() {
    // Analysing a shard trained for other tasks fails and says what to do.
    let dir = std::env::temp_dir().join(format!("tgsh-e2e-heldout-mismatch-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut pipeline = smoke();
    pipeline.train.seeds = vec![0];
    let artifacts = Artifacts::new(&dir, &pipeline.name);
    let options = tgsh_common::cli::RunOptions::default();
    tgsh_data::run(&pipeline, &artifacts, &options).unwrap();
    tgsh_train::run(&pipeline, &artifacts, &options).unwrap();
    let mut other = pipeline.clone();
    let tgsh_common::config::Experiment::Heldout(h) = &mut other.experiment else {
        unreachable!("a held-out pipeline")
    };
    h.train_tasks = vec![1, 3, 5, 7];
    let err = tgsh_analyze::run(&other, &artifacts, &options).unwrap_err().to_string();
    assert!(err.contains("[0, 2, 4, 6]") && err.contains("train stage"), "{err}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_torus_pipeline_runs_end_to_end_with_both_task_variables() {
    // 10 rotations by 36 degrees x 7 periodic shifts by 4 px (70 tasks),
    // trained on every other rotation and every shift (35 tasks): 5 and 7
    // trained values, enough for `circles2` (order 2 needs 5 of each).
    let dir = common::temp_dir("heldout-torus");
    let mnist = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/mnist");
    let text = format!(
        r#"
        description = "end-to-end test of a torus"
        [data]
        mnist_dir = "{}"
        train_images = 1200
        test_images = 300
        [data.family]
        name = "RotationShiftMNIST-tiny"
        torus = [{{ transform = "rotate", count = 10, step = 36.0 }}, {{ transform = "shift", count = 7, step = 4 }}]
        [train]
        seeds = [0, 1]
        epochs = 2
        hidden = 784
        [heldout]
        train_every = [2, 1]
        methods = ["points", "shared", "input", "torus", "circles", "circles2", "torus2", "bilinear"]
        updates = ["rmsprop", "metric", "sgd"]
        update_methods = ["torus"]
        patience = 1
        "#,
        mnist.display()
    );
    let path = dir.join("torus.toml");
    std::fs::write(&path, &text).unwrap();
    let pipeline = tgsh_common::Pipeline::load(&path).unwrap();
    let heldout = heldout_of(&pipeline).clone();
    assert_eq!(heldout.train_tasks.len(), 35);
    let artifacts = Artifacts::new(&dir, &pipeline.name);
    run_all(&pipeline, &artifacts, None);

    // The torus file: 9 coefficient vectors; input conditioning has 8
    // encodings per unit, so both learn 9H numbers.
    let (torus, meta) = ManifoldModel::load(&artifacts.method_model(0, "torus")).unwrap();
    assert_eq!((meta["basis"].as_str(), meta["topology"].as_str()), ("torus", "torus"));
    let (input, meta) = ManifoldModel::load(&artifacts.method_model(0, "input")).unwrap();
    assert_eq!(meta["input_encoding"], "torus");
    assert_eq!(torus.after.parameter_count(), input.after.parameter_count());
    let (circles2, _) = ManifoldModel::load(&artifacts.method_model(0, "circles2")).unwrap();
    assert_eq!(circles2.after.parameter_count(), torus.after.parameter_count());
    let (torus2, _) = ManifoldModel::load(&artifacts.method_model(0, "torus2")).unwrap();
    assert_eq!(torus2.after.parameter_count(), 25 * 784);
    // The bilinear manifold: one knot per training task (5 x 7), and at a
    // training task its context is that knot's.
    let (bilinear, meta) = ManifoldModel::load(&artifacts.method_model(0, "bilinear")).unwrap();
    assert_eq!(meta["basis"].as_str(), "bilinear5x7");
    assert_eq!(bilinear.after.parameter_count(), 35 * 784);

    // A grid task's accuracy is the model served at both of its variables:
    // recompute one unseen task's accuracy from the files alone.
    let table = read_parquet(&artifacts.analysis(0, "heldout.parquet"), &analysis::heldout_schema()).unwrap();
    let (methods, tasks) = (
        table.strings("method").unwrap(),
        table.primitive::<UInt16Type>("task").unwrap(),
    );
    let (splits, accuracy) = (
        table.strings("split").unwrap(),
        table.primitive::<Float64Type>("accuracy").unwrap(),
    );
    let at = |m: &str, t: u16| {
        let k = (0..methods.len()).find(|&k| methods[k] == m && tasks[k] == t).unwrap();
        (accuracy[k], splits[k].clone())
    };
    let test = tgsh_analyze::shard::TestSet::load(&artifacts.tasks(), &artifacts.test_images()).unwrap();
    // Task 8 = rotation 1 (36 degrees, untrained), shift 1 (4 px).
    assert_eq!(at("torus", 8).1, "interpolated");
    let point = heldout.point(8);
    assert_eq!(point, [36.0 / 360.0, 4.0 / 28.0]);
    for (name, model) in [("torus", &torus), ("input", &input)] {
        let again = accuracy_at(&model.after, model, &test.images[8], &test.labels, point);
        assert_eq!(again, at(name, 8).0, "{name}");
    }
    // The points agree on training tasks whichever way they serve.
    for &t in &heldout.train_tasks {
        assert_eq!(at("points-nearest", t as u16), at("points-interp", t as u16));
    }

    // The torus claims, and the grid on the page.
    let claims = read_parquet(&artifacts.summary("claims.parquet"), &analysis::claims_schema()).unwrap();
    let ids = claims.strings("id").unwrap();
    for id in [
        "torus-beats-circles-interpolated",
        "torus-beats-input-interpolated",
        "torus-metric-update-helps-interpolated",
        "torus-beats-input-seen",
        "torus2-beats-circles2-interpolated",
        "largest-torus-matches-crwn-interpolated",
        "bilinear-matches-crwn-interpolated",
    ] {
        assert!(ids.iter().any(|i| i == id), "{id} missing: {ids:?}");
    }
    assert!(!ids.iter().any(|i| i.starts_with("manifold-beats-input")), "{ids:?}");
    let report = artifacts.stage_dir(Stage::Report);
    let html = std::fs::read_to_string(report.join("index.html")).unwrap();
    for link in [
        "heldout_grid.png",
        "heldout_grid_updates.png",
        "manifold_torus.png",
        "manifold_circles2.png",
        "manifold_bilinear.png",
        "capacity_interpolated.png",
    ] {
        assert!(html.contains(link) && report.join(link).exists(), "{link}");
    }
    std::fs::remove_dir_all(dir).unwrap();
}

fn accuracy_at(params: &Conditioned, model: &ManifoldModel, images: &[u8], labels: &[u8], point: [f64; 2]) -> f64 {
    let encoded = model.encoder.encode_rows(images, params.bias(point).as_deref());
    tgsh_model::forward::accuracy(
        tgsh_model::Encoded {
            rows: encoded.rows(),
            labels,
        },
        &params.context(point),
        &tgsh_model::Decoder::new(&model.decoder),
    )
}
