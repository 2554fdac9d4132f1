//! Where artifacts live: `<root>/<pipeline>/<stage>/...`.
//!
//! The train and analyze stages work in shards, one per seed
//! (`train/seed-<S>/`, `analyze/seed-<S>/`), each a finished stage folder
//! with its own record, so seeds can run as separate processes or machines
//! and a new seed leaves the others untouched. `analyze/summary/` merges the
//! seed shards. The file names here are the public contract between stages
//! (see ARCHITECTURE.md): a replacement stage reads and writes the same names.

use std::fmt;
use std::path::{Path, PathBuf};

/// The four pipeline stages, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Stage {
    /// MNIST -> task family images.
    Data,
    /// Task family images -> trained context vectors.
    Train,
    /// Context vectors -> similarity and other analyses.
    Analyze,
    /// Everything -> figures and one HTML page.
    Report,
}

impl Stage {
    /// The stage's folder name and CLI name.
    pub fn name(self) -> &'static str {
        match self {
            Stage::Data => "data",
            Stage::Train => "train",
            Stage::Analyze => "analyze",
            Stage::Report => "report",
        }
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The artifact tree of one pipeline.
#[derive(Debug, Clone)]
pub struct Artifacts {
    root: PathBuf,
}

/// The stage record file inside every finished stage folder.
pub const RECORD_FILE: &str = "stage.json";

impl Artifacts {
    /// Artifacts of pipeline `name` under `root` (by default `data/`).
    pub fn new(root: &Path, name: &str) -> Self {
        Artifacts { root: root.join(name) }
    }

    /// `<root>/<pipeline>`.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The folder of a stage (for train and analyze: the parent of the shards).
    pub fn stage_dir(&self, stage: Stage) -> PathBuf {
        self.root.join(stage.name())
    }

    /// `data/train.parquet`: the training split of every task.
    pub fn train_images(&self) -> PathBuf {
        self.stage_dir(Stage::Data).join("train.parquet")
    }

    /// `data/test.parquet`: the test split of every task.
    pub fn test_images(&self) -> PathBuf {
        self.stage_dir(Stage::Data).join("test.parquet")
    }

    /// `data/tasks.parquet`: one row per task.
    pub fn tasks(&self) -> PathBuf {
        self.stage_dir(Stage::Data).join("tasks.parquet")
    }

    /// `train/seed-<S>/`: the train shard of one seed.
    pub fn train_shard(&self, seed: u64) -> PathBuf {
        self.stage_dir(Stage::Train).join(shard_name(seed))
    }

    /// `train/seed-<S>/model.safetensors`: the model trained with `seed`.
    pub fn model(&self, seed: u64) -> PathBuf {
        self.train_shard(seed).join("model.safetensors")
    }

    /// `train/seed-<S>/metrics.parquet`: per task and epoch.
    pub fn metrics(&self, seed: u64) -> PathBuf {
        self.train_shard(seed).join("metrics.parquet")
    }

    /// `train/seed-<S>/<method>.safetensors`: one model of a held-out
    /// pipeline (`points`, `circle`, `circle-metric`, ...).
    pub fn method_model(&self, seed: u64, method: &str) -> PathBuf {
        self.train_shard(seed).join(format!("{method}.safetensors"))
    }

    /// `analyze/seed-<S>/`: the analyses of one seed's model.
    pub fn analyze_shard(&self, seed: u64) -> PathBuf {
        self.stage_dir(Stage::Analyze).join(shard_name(seed))
    }

    /// `analyze/summary/`: every seed merged, and the claims table.
    pub fn analyze_summary(&self) -> PathBuf {
        self.stage_dir(Stage::Analyze).join("summary")
    }

    /// `analyze/seed-<S>/<file>`.
    pub fn analysis(&self, seed: u64, file: &str) -> PathBuf {
        self.analyze_shard(seed).join(file)
    }

    /// `analyze/summary/<file>`.
    pub fn summary(&self, file: &str) -> PathBuf {
        self.analyze_summary().join(file)
    }

    /// `report/index.html`: the report page.
    pub fn report_page(&self) -> PathBuf {
        self.stage_dir(Stage::Report).join("index.html")
    }
}

/// The folder name of seed `seed`'s shard: `seed-<S>`.
pub fn shard_name(seed: u64) -> String {
    format!("seed-{seed}")
}
