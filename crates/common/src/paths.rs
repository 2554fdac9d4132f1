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
    /// `<base>/<pipeline>`.
    root: PathBuf,
    /// The artifact root every pipeline's folder is in (`--artifacts`).
    base: PathBuf,
    /// The pipeline's name.
    name: String,
    /// The pipeline file, for the commands that error messages suggest.
    pipeline_file: PathBuf,
}

/// The stage record file inside every finished stage folder.
pub const RECORD_FILE: &str = "stage.json";

impl Artifacts {
    /// Artifacts of pipeline `name` under `root` (by default `data/`), whose
    /// pipeline file is taken to be `pipelines/<name>.toml` (see
    /// [`Artifacts::with_pipeline_file`]).
    pub fn new(root: &Path, name: &str) -> Self {
        Artifacts {
            root: root.join(name),
            base: root.to_path_buf(),
            name: name.to_string(),
            pipeline_file: Path::new("pipelines").join(format!("{name}.toml")),
        }
    }

    /// The same tree, with the pipeline file as the user named it (the
    /// commands in error messages name it).
    pub fn with_pipeline_file(mut self, file: &Path) -> Self {
        self.pipeline_file = file.to_path_buf();
        self
    }

    /// The command that makes `file`, an artifact of this pipeline or of a
    /// pipeline beside it (whose file is then taken to be beside this
    /// pipeline's, as `subsample_of` claims resolve it), e.g.
    /// `tgsh-analyze pipelines/rotation.toml --summary`. `None` for a file
    /// outside the artifact tree.
    pub fn command_making(&self, file: &Path) -> Option<String> {
        let rel = file.strip_prefix(&self.base).ok()?;
        let parts: Vec<&str> = rel.iter().filter_map(|c| c.to_str()).collect();
        let (pipeline, stage) = (*parts.first()?, *parts.get(1)?);
        let shard = parts.get(2).copied();
        let seed = || shard?.strip_prefix("seed-")?.parse::<u64>().ok();
        let (binary, extra) = match stage {
            "data" => ("tgsh-data", String::new()),
            "train" => ("tgsh-train", format!(" --seed {}", seed()?)),
            "analyze" if shard == Some("summary") => ("tgsh-analyze", " --summary".to_string()),
            "analyze" => ("tgsh-analyze", format!(" --seed {}", seed()?)),
            "report" => ("tgsh-report", String::new()),
            _ => return None,
        };
        let pipeline_file = if pipeline == self.name {
            self.pipeline_file.clone()
        } else {
            self.pipeline_file.with_file_name(format!("{pipeline}.toml"))
        };
        let artifacts = if self.base == Path::new("data") {
            String::new()
        } else {
            format!(" --artifacts {}", self.base.display())
        };
        Some(format!("{binary} {}{artifacts}{extra}", pipeline_file.display()))
    }

    /// `<root>/<pipeline>`.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The artifact root (`--artifacts`) this pipeline's folder is in.
    pub fn base(&self) -> &Path {
        &self.base
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_making_each_artifact_names_the_pipeline_file_root_and_part() {
        let default = Artifacts::new(Path::new("data"), "rotation");
        let cases = [
            (default.tasks(), "tgsh-data pipelines/rotation.toml"),
            (default.model(3), "tgsh-train pipelines/rotation.toml --seed 3"),
            (
                default.analysis(0, "statistics.parquet"),
                "tgsh-analyze pipelines/rotation.toml --seed 0",
            ),
            (
                default.summary("claims.parquet"),
                "tgsh-analyze pipelines/rotation.toml --summary",
            ),
            (default.report_page(), "tgsh-report pipelines/rotation.toml"),
        ];
        for (file, command) in cases {
            assert_eq!(
                default.command_making(&file).as_deref(),
                Some(command),
                "{}",
                file.display()
            );
        }
        let elsewhere = Artifacts::new(Path::new("/tmp/a"), "tiny").with_pipeline_file(Path::new("/x/tiny.toml"));
        assert_eq!(
            elsewhere
                .command_making(&elsewhere.analysis(1, "similarity.parquet"))
                .as_deref(),
            Some("tgsh-analyze /x/tiny.toml --artifacts /tmp/a --seed 1")
        );
        // Another pipeline's file (a subsample_of reference) lies beside this one's.
        let other = Artifacts::new(Path::new("/tmp/a"), "fine");
        assert_eq!(
            elsewhere
                .command_making(&other.analysis(2, "similarity.parquet"))
                .as_deref(),
            Some("tgsh-analyze /x/fine.toml --artifacts /tmp/a --seed 2")
        );
        assert_eq!(
            default.command_making(Path::new("data/mnist/t10k-images-idx3-ubyte.gz")),
            None
        );
        assert_eq!(default.command_making(Path::new("/elsewhere/x.parquet")), None);
    }
}
