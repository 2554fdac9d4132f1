//! Tests of the `[heldout]` section: parsing, resolution and the errors at load.
use crate::config::{Experiment, HeldoutExperiment, Pipeline};
use std::path::Path;

use super::*;

fn parse(extra: &str) -> Result<Pipeline, String> {
    let text =
        format!("[data.family]\nname = \"R\"\nsweep = {{ transform = \"rotate\", count = 72, step = 5.0 }}\n{extra}");
    Pipeline::parse(Path::new("pipelines/h.toml"), &text).map_err(|e| e.to_string())
}

fn heldout(extra: &str) -> HeldoutExperiment {
    match parse(extra).unwrap().experiment {
        Experiment::Heldout(h) => h,
        other => panic!("a held-out pipeline, not {}", other.kind()),
    }
}

#[test]
fn interpolation_and_extrapolation_splits() {
    let h = heldout("[heldout]\ntrain_every = 4\n");
    assert_eq!(h.train_tasks, (0..72).step_by(4).collect::<Vec<_>>());
    let splits = h.splits;
    assert_eq!(splits[0], Split::Seen);
    assert_eq!(splits[71], Split::Interpolated);
    assert!(!splits.contains(&Split::Extrapolated));

    let h = heldout("[heldout]\ntrain_every = 2\ntrain_last = 34\n");
    let trained = &h.train_tasks;
    assert_eq!(trained.len(), 18);
    assert_eq!(*trained.last().unwrap(), 34); // 170 degrees
    let splits = h.splits;
    assert_eq!(splits[1], Split::Interpolated);
    assert_eq!(splits[36], Split::Extrapolated); // 180 degrees
}

#[test]
fn methods_and_updates_expand_to_trained_models() {
    let h = heldout("[heldout]\ntrain_every = 4\nmethods = [\"points\", \"input\", \"circle\", \"fourier2\"]\n");
    let labels: Vec<String> = h.methods.iter().map(|m| m.label()).collect();
    assert_eq!(
        labels,
        [
            "points",
            "input",
            "circle",
            "circle-metric",
            "fourier2",
            "fourier2-metric"
        ]
    );
}

#[test]
fn only_the_listed_manifolds_get_every_update_rule() {
    let h = heldout(
        "[heldout]\ntrain_every = 4\nmethods = [\"circle\", \"fourier3\"]\nupdates = [\"rmsprop\", \"sgd\"]\n\
         update_methods = [\"circle\"]\n",
    );
    let labels: Vec<String> = h.methods.iter().map(|m| m.label()).collect();
    assert_eq!(labels, ["circle", "circle-sgd", "fourier3"]);
    let e = parse("[heldout]\ntrain_every = 4\nmethods = [\"circle\"]\nupdate_methods = [\"line\"]\n").unwrap_err();
    assert!(e.contains("heldout.update_methods") && e.contains("`line`"), "{e}");
}

#[test]
fn each_model_takes_its_listed_step_size_or_its_rules_default() {
    let h = heldout(
        "[heldout]\ntrain_every = 4\nmethods = [\"line\"]\nupdates = [\"rmsprop\", \"metric\", \"sgd\"]\n\
         sgd_learning_rate = 5.0\n[heldout.learning_rates]\nline-metric = 100.0\n",
    );
    let rates: Vec<f64> = h.methods.iter().map(|m| h.config.learning_rate(m, 0.01)).collect();
    assert_eq!(rates, [0.01, 100.0, 5.0]);
}

#[test]
fn task_variable_is_the_parameter_over_the_period() {
    let h = heldout("[heldout]\ntrain_every = 4\n");
    assert_eq!(h.s[0], 0.0);
    assert!((h.s[18] - 0.25).abs() < 1e-12);
    assert_eq!(h.period, 360.0);
    assert_eq!(h.topology, crate::config::Topology::Circle);
    assert!(matches!(parse("").unwrap().experiment, Experiment::Family(_)));
}

fn blur(extra: &str) -> Result<Pipeline, String> {
    let text = format!(
        "[data.family]\nname = \"B\"\nsweep = {{ transform = \"blur\", count = 16, start = 0.25, step = 0.25, kernel = 17 }}\n{extra}"
    );
    Pipeline::parse(Path::new("pipelines/b.toml"), &text).map_err(|e| e.to_string())
}

#[test]
fn a_blur_family_is_a_line_whose_s_runs_over_the_sweeps_span() {
    let h = match blur("[heldout]\ntrain_every = 3\nmethods = [\"points\", \"line\", \"quadratic\", \"circle\"]\n")
        .unwrap()
        .experiment
    {
        Experiment::Heldout(h) => h,
        other => panic!("a held-out pipeline, not {}", other.kind()),
    };
    assert_eq!(h.topology, crate::config::Topology::Line);
    // The span is count * step = 4 pixels of σ; task i is at s = i / 16.
    assert_eq!(h.period, 4.0);
    assert_eq!(h.s[0], 0.0);
    assert_eq!(h.s[4], 0.25);
    assert_eq!(h.s[15], 15.0 / 16.0);
    assert_eq!(h.train_tasks, [0, 3, 6, 9, 12, 15]);
    // The axis shows σ: task 15 is σ = 0.25 + 15 * 0.25 = 4.
    let sweep = blur("").unwrap().data.family.sweep.unwrap();
    assert_eq!(sweep.parameter_at(h.s[15]), 4.0);
    assert_eq!(sweep.parameter_at(h.s[0]), 0.25);
}

#[test]
fn a_periodic_piecewise_manifold_is_refused_on_a_line() {
    let e = blur("[heldout]\ntrain_every = 3\nmethods = [\"circle\", \"piecewise\"]\n").unwrap_err();
    assert!(
        e.contains("heldout.methods") && e.contains("`piecewise`") && e.contains("line"),
        "{e}"
    );
    // The same on a rotation family is accepted.
    assert!(parse("[heldout]\ntrain_every = 4\nmethods = [\"circle\", \"piecewise\"]\n").is_ok());
}

fn torus(extra: &str) -> Result<Pipeline, String> {
    let text = format!(
        "[data.family]\nname = \"T\"\ntorus = [{{ transform = \"rotate\", count = 12, step = 30.0 }}, \
         {{ transform = \"shift\", count = 7, step = 4 }}]\n{extra}"
    );
    Pipeline::parse(Path::new("pipelines/t.toml"), &text).map_err(|e| e.to_string())
}

#[test]
fn a_torus_trains_every_other_value_of_each_variable() {
    let p = torus("[heldout]\ntrain_every = [2, 2]\nmethods = [\"points\", \"input\", \"torus\", \"circles\"]\nupdates = [\"rmsprop\"]\n")
        .unwrap();
    let Experiment::Heldout(h) = p.experiment else {
        panic!("held out")
    };
    // 6 rotations x 4 shifts (0, 8, 16, 24 px) of 12 x 7.
    assert_eq!(h.train_tasks.len(), 24);
    assert_eq!(&h.train_tasks[..5], &[0, 2, 4, 6, 14]);
    assert_eq!(h.splits.iter().filter(|&&s| s == Split::Seen).count(), 24);
    assert!(!h.splits.contains(&Split::Extrapolated));
    // Task 9 = rotation 1 (30°), shift 2 (8 px): s₁ = 1/12, s₂ = 8/28.
    assert!((h.s[9] - 1.0 / 12.0).abs() < 1e-12);
    assert!((h.s2.as_ref().unwrap()[9] - 8.0 / 28.0).abs() < 1e-12);
    let labels: Vec<String> = h.methods.iter().map(|m| m.label()).collect();
    assert_eq!(labels, ["points", "input", "torus", "circles"]);
}

#[test]
fn one_and_two_variable_keys_are_checked_against_the_family() {
    let e = parse("[heldout]\ntrain_every = 4\nmethods = [\"circle\", \"torus\"]\n").unwrap_err();
    assert!(
        e.contains("heldout.methods: `torus`") && e.contains("data.family.torus"),
        "{e}"
    );
    let e = parse("[heldout]\ntrain_every = [2, 2]\n").unwrap_err();
    assert!(e.contains("heldout.train_every = [2, 2]") && e.contains("one"), "{e}");
    let e = torus("[heldout]\ntrain_every = 2\nmethods = [\"torus\"]\n").unwrap_err();
    assert!(
        e.contains("heldout.train_every = 2") && e.contains("two task variables"),
        "{e}"
    );
    let e = torus("[heldout]\ntrain_every = [2, 2]\nmethods = [\"torus\", \"circle\"]\n").unwrap_err();
    assert!(e.contains("heldout.methods: `circle`"), "{e}");
    let e = torus("[heldout]\ntrain_every = [2, 2]\ntrain_last = 10\nmethods = [\"torus\"]\n").unwrap_err();
    assert!(e.contains("train_last") && e.contains("no training arc"), "{e}");
    // 12 / 6 = 2 rotations trained: a circle in s₁ is not determined.
    let e = torus("[heldout]\ntrain_every = [6, 2]\nmethods = [\"torus\"]\n").unwrap_err();
    assert!(e.contains("trains only 2 values"), "{e}");
    let e = torus("[heldout]\ntrain_every = [1, 1]\nmethods = [\"torus\"]\n").unwrap_err();
    assert!(e.contains("nothing is held out"), "{e}");
}

#[test]
fn a_torus_family_must_close_in_both_variables() {
    let text = |rot: &str, shift: &str| {
        format!("[data.family]\nname = \"T\"\ntorus = [{rot}, {shift}]\n[heldout]\ntrain_every = [2, 2]\nmethods = [\"torus\"]\n")
    };
    let parse_text = |t: String| Pipeline::parse(Path::new("pipelines/t.toml"), &t).map_err(|e| e.to_string());
    let rot = "{ transform = \"rotate\", count = 12, step = 30.0 }";
    let e = parse_text(text(rot, "{ transform = \"shift\", count = 6, step = 4 }")).unwrap_err();
    assert!(e.contains("data.family.torus[1]") && e.contains("must close"), "{e}");
    let e = parse_text(text("{ transform = \"shift\", count = 7, step = 4 }", rot)).unwrap_err();
    assert!(e.contains("the first sweep must rotate"), "{e}");
    let e = Pipeline::parse(
        Path::new("pipelines/t.toml"),
        &format!("[data.family]\nname = \"T\"\ntorus = [{rot}]\n"),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("data.family.torus has 1 sweeps"), "{e}");
}

#[test]
fn invalid_heldout_values_are_named() {
    let e = parse("[heldout]\ntrain_every = 4\nmethods = [\"spiral\"]\n").unwrap_err();
    assert!(e.contains("spiral") && e.contains("circle"), "{e}");
    let e = parse("[heldout]\ntrain_every = 1\n").unwrap_err();
    assert!(e.contains("nothing is held out"), "{e}");
    let e = parse("[heldout]\ntrain_last = 80\n").unwrap_err();
    assert!(e.contains("train_last = 80"), "{e}");
    let e = parse("[heldout]\ntrain_every = 4\nmetric_learning_rate = -1.0\n").unwrap_err();
    assert!(e.contains("metric_learning_rate"), "{e}");
    // 18 training tasks determine fourier8 (17 coefficients); 9 do not.
    assert!(parse("[heldout]\ntrain_every = 4\nmethods = [\"fourier8\"]\n").is_ok());
    let e = parse("[heldout]\ntrain_every = 8\nmethods = [\"circle\", \"fourier5\"]\n").unwrap_err();
    assert!(
        e.contains("heldout.methods") && e.contains("fourier5") && e.contains("11"),
        "{e}"
    );
    let e = parse("[heldout]\ntrain_every = 4\nmethods = [\"circle\"]\n[heldout.learning_rates]\nline = 0.1\n")
        .unwrap_err();
    assert!(e.contains("heldout.learning_rates.line"), "{e}");
    let e = parse("[heldout]\ntrain_every = 4\nmethods = [\"circle\"]\n[heldout.learning_rates]\ncircle = 0.0\n")
        .unwrap_err();
    assert!(e.contains("heldout.learning_rates.circle = 0"), "{e}");
    let e = parse("[heldout]\ntrain_every = 4\npatience = 0\n").unwrap_err();
    assert!(e.contains("heldout.patience"), "{e}");
    let e = parse("[heldout]\ntrain_every = 4\nsplit = 3\n").unwrap_err();
    assert!(e.contains("unknown field `split`"), "{e}");
    let e = Pipeline::parse(
        Path::new("pipelines/h.toml"),
        "[data.family]\nname = \"A\"\ntasks = [{ transform = \"hflip\" }, { transform = \"vflip\" }, { transform = \"invert\" }]\n[heldout]\n",
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("swept family"), "{e}");
    let e = parse("[heldout]\ntrain_every = 4\n[analyze]\nclusters = 2\n").unwrap_err();
    assert!(e.contains("remove the [analyze] section"), "{e}");
}

#[test]
fn torus_bases_of_higher_order_are_named_and_checked_against_the_grid() {
    for (name, method, coefficients) in [
        ("torus", Method::Torus(1), 9),
        ("torus2", Method::Torus(2), 25),
        ("circles", Method::Circles(1), 5),
        ("circles3", Method::Circles(3), 13),
    ] {
        let parsed = Method::try_from(name.to_string()).unwrap();
        assert_eq!((parsed, parsed.name()), (method, name.to_string()));
        assert_eq!(parsed.coefficients(100), Some(coefficients));
    }
    for bad in ["torus5", "circles0", "torusx"] {
        let e = Method::try_from(bad.to_string()).unwrap_err();
        assert!(e.contains(bad) && e.contains("torus2"), "{e}");
    }
    // 12 x 7 trained every other: 6 rotations and 4 shifts, so order 2
    // (5 values per variable) is not determined in the shift.
    let e = torus("[heldout]\ntrain_every = [2, 2]\nmethods = [\"torus2\"]\n").unwrap_err();
    assert!(
        e.contains("heldout.methods: `torus2`") && e.contains("at least 5") && e.contains("only 4"),
        "{e}"
    );
    assert!(torus("[heldout]\ntrain_every = [2, 1]\nmethods = [\"torus2\", \"circles2\"]\n").is_ok());
}

#[test]
fn the_bilinear_manifold_needs_a_torus_and_evenly_spaced_knots() {
    let parsed = Method::try_from("bilinear".to_string()).unwrap();
    assert_eq!((parsed, parsed.name()), (Method::Bilinear, "bilinear".to_string()));
    // One knot per training task.
    assert_eq!(parsed.coefficients(42), Some(42));
    // 12 x 7 every [2, 1]: 6 x 7 knots, evenly spaced round both circles.
    assert!(torus("[heldout]\ntrain_every = [2, 1]\nmethods = [\"points\", \"bilinear\"]\n").is_ok());
    // 7 shifts every 2nd: 0, 2, 4, 6, then a gap of 1 back to 0.
    let e = torus("[heldout]\ntrain_every = [2, 2]\nmethods = [\"bilinear\"]\n").unwrap_err();
    assert!(
        e.contains("heldout.methods: `bilinear`") && e.contains("[2, 2]") && e.contains("12 x 7") && !e.contains("  "),
        "{e}"
    );
    // A basis of two variables on a one-variable family.
    let e = parse("[heldout]\ntrain_every = 4\nmethods = [\"bilinear\"]\n").unwrap_err();
    assert!(
        e.contains("heldout.methods: `bilinear`") && e.contains("two task variables"),
        "{e}"
    );
}
