//! What every stage of the pipeline shares, and nothing else.
//!
//! The pipeline is four binaries (`tgsh-data`, `tgsh-train`, `tgsh-analyze`,
//! `tgsh-report`) that talk only through files. This crate holds the pieces
//! of that contract:
//!
//! - [`config`]: the `pipelines/*.toml` file, parsed strictly (unknown keys
//!   are errors) and validated before any work starts ([`Pipeline::load`]),
//!   into one of two kinds of experiment ([`config::Experiment`]).
//! - [`paths`]: where each stage's artifacts live ([`Artifacts`]).
//! - [`schema`]: every Parquet artifact declared once ([`table!`]): its
//!   file name, columns and row type, with readers and writers that name the
//!   file in every error.
//! - [`record`]: the stage record (`stage.json`, modelled on DVC's
//!   `dvc.lock`) that lets a stage skip itself when its inputs, parameters and
//!   code are unchanged, and the atomic publish of a stage's outputs
//!   ([`StageRun`]), under a lock that keeps one writer per folder
//!   ([`lock`]).
//! - [`plan`]: each stage's jobs for a pipeline (the folder each publishes,
//!   the files it reads and writes, the parameters it records), which the
//!   stages run and `--plan` prints.
//! - [`cli`]: the binaries' shared entry point and the options of every
//!   stage's `run`.
//! - [`status`]: which stages of a pipeline are done, at a glance.
//!
//! ```no_run
//! use tgsh_common::{Artifacts, Pipeline, Stage, StagePlan};
//! let pipeline = Pipeline::load("pipelines/smoke.toml".as_ref()).unwrap();
//! let artifacts = Artifacts::new("data".as_ref(), &pipeline.name);
//! let plan = StagePlan::of(Stage::Analyze, &pipeline, &artifacts).unwrap();
//! let run = plan.job("summary").unwrap().stage_run(Stage::Analyze).unwrap();
//! if run.check().unwrap() == tgsh_common::record::Freshness::UpToDate {
//!     println!("analyze summary: up to date, skipping");
//! }
//! ```
#![deny(missing_docs)]

pub mod cli;
pub mod config;
mod error;
pub mod lock;
pub mod paths;
pub mod plan;
pub mod progress;
pub mod record;
pub mod resources;
pub mod schema;
pub mod status;

pub use config::Pipeline;
pub use error::{Error, Result};
pub use paths::{Artifacts, Stage};
pub use plan::{Job, StagePlan};
pub use record::StageRun;

/// The version of this project, recorded in every artifact's metadata.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Side of an MNIST image, in pixels.
pub const SIDE: usize = 28;
/// Pixels in one MNIST image.
pub const PIXELS: usize = SIDE * SIDE;
/// Number of MNIST classes.
pub const CLASSES: usize = 10;

/// `n` and a noun, plural unless `n` is 1: `1 epoch`, `3 epochs`. For
/// nouns whose plural adds an `s`.
pub fn plural(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn plurals_take_an_s_except_for_one() {
        assert_eq!(super::plural(1, "epoch"), "1 epoch");
        assert_eq!(super::plural(3, "epoch"), "3 epochs");
        assert_eq!(super::plural(0, "seed"), "0 seeds");
    }
}
