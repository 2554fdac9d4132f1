//! Stage 4, `report`: what a researcher reads instead of the paper's figures.
//!
//! For each pipeline, [`run`] writes `report/index.html`: the claims table
//! (every claim with its value, 95 % interval, bar and verdict), then every
//! figure the paper shows, drawn from the analyze stage's tables
//! ([`results`]) with plotters ([`figures`], PNG and SVG), and the tables
//! with polars. [`index::write_index`] writes one page across pipelines with
//! every family's claims, and `claims.md` for logs. Pages need no network and
//! no script: a copied folder opens anywhere. [`browser`] opens them in
//! headless Chromium and reports missing images, broken links and empty
//! tables.
#![deny(missing_docs)]

pub mod browser;
pub mod committed;
pub mod compare;
pub mod figures;
pub mod heldout;
pub mod heldout_figures;
mod heldout_ladder;
mod heldout_torus;
pub mod html;
pub mod index;
pub mod page;
pub mod provenance;
pub mod results;
pub mod sections;

use polars::prelude::PolarsError;
use tgsh_common::cli::RunOptions;
use tgsh_common::config::Experiment;
use tgsh_common::schema::analysis::ClaimRow;
use tgsh_common::schema::Table as _;
use tgsh_common::{Artifacts, Pipeline, Stage, StagePlan};

/// Errors of the report stage.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// Reading inputs or writing artifacts failed.
    #[error(transparent)]
    Common(#[from] tgsh_common::Error),
    /// polars could not read or shape a table.
    #[error("{path}: {source}")]
    Polars {
        /// The file.
        path: String,
        /// The error.
        source: PolarsError,
    },
    /// A figure could not be drawn.
    #[error(transparent)]
    Figure(#[from] figures::FigureError),
    /// The command line names something that does not exist.
    #[error("{0}")]
    Usage(String),
    /// A check (`--check-min-accuracy`, `--check-in-browser`) failed.
    #[error("check failed: {0}")]
    Check(String),
    /// Chromium could not be found or run.
    #[error("browser: {0}")]
    Browser(String),
    /// Writing the page failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The error.
        source: std::io::Error,
    },
}

/// Runs the report stage for one pipeline (skipped when up to date, unless
/// `options.force`).
pub fn run(pipeline: &Pipeline, artifacts: &Artifacts, options: &RunOptions) -> Result<(), ReportError> {
    let plan = StagePlan::of(Stage::Report, pipeline, artifacts)?;
    let stage = plan.jobs[0].stage_run(Stage::Report)?;
    if stage.should_run(options.force)? {
        let dir = stage.begin()?;
        match &pipeline.experiment {
            Experiment::Family(family) => page::build(pipeline, family, artifacts, &dir)?,
            Experiment::Heldout(heldout) => heldout::build(pipeline, heldout, artifacts, &dir)?,
        }
        stage.commit()?;
        eprintln!("report: wrote {}", artifacts.report_page().display());
    }
    Ok(())
}

/// Checks a finished report (`--check-min-accuracy`, used by CI): the page
/// exists, every (seed, task) reached the final test accuracy `bar` (for a
/// held-out pipeline: the CRWN on every training task), and the claims
/// table is complete (every claim has a value and a verdict).
pub fn check(pipeline: &Pipeline, artifacts: &Artifacts, bar: f64) -> Result<(), ReportError> {
    match &pipeline.experiment {
        Experiment::Family(_) => check_family(pipeline, artifacts, bar),
        Experiment::Heldout(_) => heldout::check(pipeline, artifacts, bar),
    }
}

fn check_family(pipeline: &Pipeline, artifacts: &Artifacts, bar: f64) -> Result<(), ReportError> {
    let page = artifacts.report_page();
    if !page.exists() {
        return Err(ReportError::Check(format!("{} does not exist", page.display())));
    }
    let accuracy = results::task_accuracy(artifacts)?;
    let mut failures = Vec::new();
    for (task, values) in accuracy.values.iter().enumerate() {
        for (seed, &a) in pipeline.train.seeds.iter().zip(values) {
            if a.is_nan() || a < bar {
                failures.push(format!("seed {seed} task {task}: {:.2} %", 100.0 * a));
            }
        }
    }
    let claims = results::claims(&artifacts.summary(ClaimRow::FILE))?;
    for c in &claims {
        if !c.mean.is_finite() || !["pass", "untrained", "fail", "inconclusive"].contains(&c.verdict.as_str()) {
            failures.push(format!(
                "claim {} has no value ({}) or verdict ({})",
                c.id, c.mean, c.verdict
            ));
        }
    }
    if claims.is_empty() {
        failures.push("the claims table is empty".into());
    }
    if failures.is_empty() {
        eprintln!(
            "report: check passed: {} exists; all {} task(s) x {} seed(s) at or above {:.1} % test accuracy; {} claims, each with a value and a verdict",
            page.display(),
            accuracy.values.len(),
            pipeline.train.seeds.len(),
            100.0 * bar,
            claims.len()
        );
        Ok(())
    } else {
        Err(ReportError::Check(format!(
            "below {:.1} % or incomplete: {}",
            100.0 * bar,
            failures.join(", ")
        )))
    }
}

/// Opens each page in headless Chromium, saving a screenshot of each under
/// `screenshots` (named after the page's pipeline, or `index`); fails
/// naming every problem found.
pub fn check_in_browser(
    pages: &[(String, std::path::PathBuf)],
    screenshots: &std::path::Path,
) -> Result<(), ReportError> {
    let chromium = browser::find_chromium()?;
    let mut problems = Vec::new();
    for (name, page) in pages {
        let shot = screenshots.join(format!("{name}.png"));
        let check = browser::check_page(&chromium, page, &shot)?;
        eprintln!(
            "report: {} in the browser: {} images, {} tables, {} problem(s); screenshot {}",
            page.display(),
            check.images,
            check.tables,
            check.problems.len(),
            shot.display()
        );
        problems.extend(check.problems.iter().map(|p| format!("{}: {p}", page.display())));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(ReportError::Check(format!(
            "in the browser:\n  {}",
            problems.join("\n  ")
        )))
    }
}
