//! Where artifacts live: `<root>/<pipeline>/<stage>/...`.
//!
//! The file names here are the public contract between stages (see
//! ARCHITECTURE.md): a replacement stage reads and writes the same names.

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

    /// The folder of a finished stage.
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

    /// `train/model-seed<seed>.safetensors`: one model per seed.
    pub fn model(&self, seed: u64) -> PathBuf {
        self.stage_dir(Stage::Train).join(model_file_name(seed))
    }

    /// `train/metrics.parquet`: per seed, task and epoch.
    pub fn metrics(&self) -> PathBuf {
        self.stage_dir(Stage::Train).join("metrics.parquet")
    }

    /// `analyze/similarity.parquet`: cosine similarity of context vectors.
    pub fn similarity(&self) -> PathBuf {
        self.stage_dir(Stage::Analyze).join("similarity.parquet")
    }

    /// `report/index.html`: the report page.
    pub fn report_page(&self) -> PathBuf {
        self.stage_dir(Stage::Report).join("index.html")
    }
}

/// The file name of the model trained with `seed`.
pub fn model_file_name(seed: u64) -> String {
    format!("model-seed{seed}.safetensors")
}
