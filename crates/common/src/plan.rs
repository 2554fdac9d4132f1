//! What each stage of a pipeline reads, writes and records: its jobs.
//!
//! A stage is one or more jobs, each publishing one folder: `data/`,
//! `train/seed-<S>/`, `analyze/seed-<S>/`, `analyze/summary/`, `report/`.
//! A [`Job`] names the files it reads, the files it writes into its folder,
//! the parameters its record holds, and the command-line flags that run it
//! alone. The stages run their jobs from this plan, and a job's folder is
//! only published when it holds exactly the files the plan lists
//! ([`Job::stage_run`]), so the plan cannot drift from what is written.
//! Each binary prints its plan with `--plan`; the Snakemake workflow builds
//! its rules from those plans instead of restating file lists or defaults.
//!
//! File names come from the tables' declarations ([`crate::schema`]) and
//! the constants below; this module is the one place that says which stage
//! writes which file for which kind of pipeline.

use crate::config::{ClaimSpec, Experiment, FamilyExperiment, HeldoutExperiment, Pipeline, TrainConfig};
use crate::error::Result;
use crate::schema::analysis::{
    AccuracySummaryRow, AdjacencyRow, AdjacencySummaryRow, ClaimRow, ClassMeanRow, ClusterRow, ContextCosineRow,
    ContextsPcaRow, CrossTaskRow, DendrogramRow, HeldoutCurveRow, HeldoutRow, ReconstructionRow,
    RepresentationProfileRow, RepresentationProfileSummaryRow, SeedStatisticRow, SimilarityRow, SubsamplingRow,
    TgshPairRow, TgshSummaryRow,
};
use crate::schema::{HeldoutMetricsRow, MetricsRow, Table, TaskRow, TimingRow, TEST_IMAGES_FILE};
use crate::{Artifacts, Stage, StageRun};
use serde::Serialize;
use std::path::{Path, PathBuf};

/// A CRWN model file: `train/seed-<S>/model.safetensors` (`tgsh-crwn/1`).
pub const MODEL_FILE: &str = "model.safetensors";
/// The report's page: `report/index.html`.
pub const REPORT_PAGE: &str = "index.html";
/// The copy of the pipeline file the report keeps beside its page.
pub const PIPELINE_COPY: &str = "pipeline.toml";
/// The report's wall-time page: `report/timings.html`.
pub const TIMINGS_PAGE: &str = "timings.html";
/// The four MNIST IDX files, each read as `<name>.gz` or `<name>`.
pub const MNIST_FILES: [&str; 4] = [
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
];
/// MNIST's training images.
pub const MNIST_TRAIN_IMAGES: usize = 60_000;
/// MNIST's test images.
pub const MNIST_TEST_IMAGES: usize = 10_000;

/// The network file of a held-out pipeline's train shard: the seed's fixed
/// encoder and decoder, stored once and named by every model file of the
/// shard (metadata `network`).
pub const NETWORK_FILE: &str = "network.safetensors";

/// The file of one trained model of a held-out pipeline: `<label>.safetensors`.
pub fn method_file(label: &str) -> String {
    format!("{label}.safetensors")
}

/// A stage's jobs for one pipeline.
#[derive(Debug, Clone, Serialize)]
pub struct StagePlan {
    /// `data`, `train`, `analyze` or `report`.
    pub stage: &'static str,
    /// The pipeline's name.
    pub pipeline: String,
    /// The pipeline's kind: `family` or `heldout`.
    pub kind: &'static str,
    /// Its size, for resource estimates.
    pub shape: Shape,
    /// The jobs, in the order the stage runs them.
    pub jobs: Vec<Job>,
}

/// The size of a pipeline's work.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Shape {
    /// Tasks in the family.
    pub tasks: usize,
    /// Tasks trained (all of them, or a held-out pipeline's training tasks).
    pub trained_tasks: usize,
    /// Models trained per seed (1, or a held-out pipeline's methods).
    pub models_per_seed: usize,
    /// Training images per task.
    pub train_images: usize,
    /// Test images per task.
    pub test_images: usize,
    /// Epochs per task.
    pub epochs: usize,
    /// Hidden units.
    pub hidden: usize,
    /// Seeds.
    pub seeds: usize,
}

/// One job: a folder published atomically with its record.
#[derive(Debug, Clone, Serialize)]
pub struct Job {
    /// `data`, `seed-<S>`, `summary` or `report`.
    pub name: String,
    /// The flags that run this job alone (`--seed 3`, `--summary`).
    pub args: Vec<String>,
    /// The folder it publishes.
    pub dir: PathBuf,
    /// Its record, `<dir>/stage.json`.
    pub record: PathBuf,
    /// Every file it reads.
    pub inputs: Vec<PathBuf>,
    /// Every file it writes into `dir` besides the record.
    pub outputs: Vec<PathBuf>,
    /// Whether `dir` holds only `outputs` (the report also writes figures,
    /// whose number depends on the data).
    pub exact_outputs: bool,
    /// The parameter values its record holds.
    pub params: serde_json::Value,
    /// The pipeline's artifacts (for the error that names the command
    /// making a missing input).
    #[serde(skip)]
    artifacts: Artifacts,
}

impl Job {
    fn new(artifacts: &Artifacts, name: impl Into<String>, args: Vec<String>, dir: PathBuf, files: &[String]) -> Job {
        Job {
            artifacts: artifacts.clone(),
            name: name.into(),
            args,
            record: dir.join(crate::paths::RECORD_FILE),
            outputs: files.iter().map(|f| dir.join(f)).collect(),
            dir,
            inputs: Vec::new(),
            exact_outputs: true,
            params: serde_json::Value::Null,
        }
    }

    /// The seed of a `seed-<S>` job.
    pub fn seed(&self) -> Option<u64> {
        self.name.strip_prefix("seed-").and_then(|s| s.parse().ok())
    }

    /// A run of this job: decides whether it is up to date, and publishes
    /// its folder only when it holds the planned outputs. A missing input
    /// is an error that names the commands making it.
    pub fn stage_run(&self, stage: Stage) -> Result<StageRun> {
        let names = self
            .outputs
            .iter()
            .map(|o| {
                o.strip_prefix(&self.dir)
                    .unwrap_or(o)
                    .to_string_lossy()
                    .replace('\\', "/")
            })
            .collect();
        Ok(StageRun::in_dir(
            stage,
            &self.artifacts,
            self.dir.clone(),
            &self.params,
            self.inputs.clone(),
        )?
        .expecting(names, self.exact_outputs))
    }
}

impl StagePlan {
    /// The plan of `stage` for `pipeline` with artifacts under `artifacts`.
    pub fn of(stage: Stage, pipeline: &Pipeline, artifacts: &Artifacts) -> Result<StagePlan> {
        let jobs = stage_jobs(stage, pipeline, artifacts)?;
        Ok(StagePlan {
            stage: stage.name(),
            pipeline: pipeline.name.clone(),
            kind: pipeline.experiment.kind(),
            shape: shape(pipeline),
            jobs,
        })
    }

    /// The job named `name` (`seed-3`, `summary`).
    pub fn job(&self, name: &str) -> Option<&Job> {
        self.jobs.iter().find(|j| j.name == name)
    }

    /// The plan as pretty JSON (what `--plan` prints).
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a plan serialises")
    }
}

/// The jobs of `stage`, in the order it runs them.
fn stage_jobs(stage: Stage, pipeline: &Pipeline, artifacts: &Artifacts) -> Result<Vec<Job>> {
    Ok(match stage {
        Stage::Data => vec![data_job(pipeline, artifacts)],
        Stage::Train => pipeline
            .train
            .seeds
            .iter()
            .map(|&s| train_job(pipeline, artifacts, s))
            .collect(),
        Stage::Analyze => {
            let mut jobs: Vec<Job> = pipeline
                .train
                .seeds
                .iter()
                .map(|&s| analyze_job(pipeline, artifacts, s))
                .collect();
            jobs.push(summary_job(pipeline, artifacts)?);
            jobs
        }
        Stage::Report => vec![report_job(pipeline, artifacts)],
    })
}

fn shape(pipeline: &Pipeline) -> Shape {
    let tasks = pipeline.data.family.expand_len();
    let (trained_tasks, models_per_seed) = match &pipeline.experiment {
        Experiment::Family(_) => (tasks, 1),
        Experiment::Heldout(h) => (h.train_tasks.len(), h.methods.len()),
    };
    Shape {
        tasks,
        trained_tasks,
        models_per_seed,
        train_images: pipeline
            .data
            .train_images
            .unwrap_or(MNIST_TRAIN_IMAGES)
            .min(MNIST_TRAIN_IMAGES),
        test_images: pipeline
            .data
            .test_images
            .unwrap_or(MNIST_TEST_IMAGES)
            .min(MNIST_TEST_IMAGES),
        epochs: pipeline.train.epochs,
        hidden: pipeline.train.hidden,
        seeds: pipeline.train.seeds.len(),
    }
}

/// The MNIST files of `dir`: `<name>.gz` where it exists, else `<name>`
/// (the data stage says which is missing).
pub fn mnist_files(dir: &Path) -> Vec<PathBuf> {
    MNIST_FILES
        .iter()
        .map(|name| {
            let gz = dir.join(format!("{name}.gz"));
            if gz.exists() || !dir.join(name).exists() {
                gz
            } else {
                dir.join(name)
            }
        })
        .collect()
}

fn data_job(pipeline: &Pipeline, artifacts: &Artifacts) -> Job {
    let files = [
        crate::schema::ImageRow::FILE,
        TEST_IMAGES_FILE,
        TaskRow::FILE,
        TimingRow::FILE,
    ]
    .map(String::from);
    let mut job = Job::new(artifacts, "data", vec![], artifacts.stage_dir(Stage::Data), &files);
    job.inputs = mnist_files(&pipeline.data.mnist_dir);
    job.params = serde_json::to_value(&pipeline.data).expect("serialisable");
    job
}

/// The data stage's files that train and analyze read.
fn data_files(artifacts: &Artifacts) -> Vec<PathBuf> {
    vec![artifacts.train_images(), artifacts.test_images(), artifacts.tasks()]
}

fn seed_args(seed: u64) -> Vec<String> {
    vec!["--seed".into(), seed.to_string()]
}

/// The `[train]` section a seed's shard records: the seed list replaced by
/// the shard's own seed, so adding a seed leaves the other shards up to date.
pub fn train_shard_params(config: &TrainConfig, seed: u64) -> serde_json::Value {
    let mut params = serde_json::to_value(config).expect("serialisable");
    let map = params.as_object_mut().expect("a struct");
    map.remove("seeds");
    map.insert("seed".into(), seed.into());
    params
}

fn train_job(pipeline: &Pipeline, artifacts: &Artifacts, seed: u64) -> Job {
    let (files, params) = match &pipeline.experiment {
        Experiment::Family(_) => (
            vec![MODEL_FILE.to_string(), MetricsRow::FILE.into(), TimingRow::FILE.into()],
            train_shard_params(&pipeline.train, seed),
        ),
        Experiment::Heldout(h) => {
            let mut files: Vec<String> = h.methods.iter().map(|m| method_file(&m.label())).collect();
            files.push(NETWORK_FILE.into());
            files.extend([HeldoutMetricsRow::FILE.to_string(), TimingRow::FILE.into()]);
            (files, heldout_train_params(pipeline, h, seed))
        }
    };
    let mut job = Job::new(
        artifacts,
        format!("seed-{seed}"),
        seed_args(seed),
        artifacts.train_shard(seed),
        &files,
    );
    job.inputs = data_files(artifacts);
    job.params = params;
    job
}

/// The parameters a held-out train shard records (and its model files'
/// `config` metadata).
pub fn heldout_train_params(pipeline: &Pipeline, heldout: &HeldoutExperiment, seed: u64) -> serde_json::Value {
    serde_json::json!({
        "train": train_shard_params(&pipeline.train, seed),
        "heldout": heldout.config,
        "topology": heldout.topology,
    })
}

/// The files of a family pipeline's analyze shard.
fn family_shard_files() -> Vec<String> {
    [
        SimilarityRow::FILE,
        AdjacencyRow::FILE,
        CrossTaskRow::FILE,
        ReconstructionRow::FILE,
        TgshPairRow::FILE,
        DendrogramRow::FILE,
        ClusterRow::FILE,
        ContextsPcaRow::FILE,
        RepresentationProfileRow::FILE,
        SeedStatisticRow::FILE,
        TimingRow::FILE,
    ]
    .map(String::from)
    .to_vec()
}

fn heldout_shard_files() -> Vec<String> {
    [
        HeldoutRow::FILE,
        ContextCosineRow::FILE,
        crate::schema::analysis::ManifoldPcaRow::FILE,
        SeedStatisticRow::FILE,
        TimingRow::FILE,
    ]
    .map(String::from)
    .to_vec()
}

/// The parameters a family pipeline's analyze shard records: what a seed's
/// analyses read (the summary's bootstrap is not among them).
fn family_shard_params(family: &FamilyExperiment, seed: u64) -> serde_json::Value {
    let mut analyze = serde_json::to_value(&family.analyze).expect("serialisable");
    analyze.as_object_mut().expect("a struct").remove("bootstrap");
    serde_json::json!({ "analyze": analyze, "topology": family.topology, "seed": seed })
}

fn analyze_job(pipeline: &Pipeline, artifacts: &Artifacts, seed: u64) -> Job {
    let dir = artifacts.analyze_shard(seed);
    let mut job = match &pipeline.experiment {
        Experiment::Family(family) => {
            let mut job = Job::new(
                artifacts,
                format!("seed-{seed}"),
                seed_args(seed),
                dir,
                &family_shard_files(),
            );
            job.inputs = vec![artifacts.model(seed), artifacts.metrics(seed)];
            job.params = family_shard_params(family, seed);
            job
        }
        Experiment::Heldout(h) => {
            let mut job = Job::new(
                artifacts,
                format!("seed-{seed}"),
                seed_args(seed),
                dir,
                &heldout_shard_files(),
            );
            job.inputs = h
                .methods
                .iter()
                .map(|m| artifacts.train_shard(seed).join(method_file(&m.label())))
                .chain([artifacts.train_shard(seed).join(NETWORK_FILE)])
                .collect();
            job.params = serde_json::json!({ "heldout": h.config, "topology": h.topology, "seed": seed });
            job
        }
    };
    job.inputs.extend([artifacts.tasks(), artifacts.test_images()]);
    job
}

/// The other pipelines whose shards a family summary reads (`subsample_of`
/// claims): each one's name, artifacts and seeds.
pub fn references(pipeline: &Pipeline, artifacts: &Artifacts) -> Result<Vec<(String, Artifacts, Vec<u64>)>> {
    let Experiment::Family(family) = &pipeline.experiment else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for spec in &family.analyze.claims {
        if let ClaimSpec::SubsampleOf { pipeline: name, .. } = spec {
            let file = pipeline.path.with_file_name(format!("{name}.toml"));
            let other = Pipeline::load(&file)?;
            let root = artifacts.root().parent().unwrap_or(Path::new("."));
            out.push((
                name.clone(),
                Artifacts::new(root, name).with_pipeline_file(&file),
                other.train.seeds,
            ));
        }
    }
    Ok(out)
}

/// Whether a family pipeline compares itself with a finer one
/// (`subsample_of`), which adds `subsampling.parquet` to its summary.
pub fn has_subsampling(family: &FamilyExperiment) -> bool {
    family
        .analyze
        .claims
        .iter()
        .any(|c| matches!(c, ClaimSpec::SubsampleOf { .. }))
}

fn summary_job(pipeline: &Pipeline, artifacts: &Artifacts) -> Result<Job> {
    let seeds = &pipeline.train.seeds;
    let dir = artifacts.analyze_summary();
    let args = vec!["--summary".to_string()];
    Ok(match &pipeline.experiment {
        Experiment::Family(family) => {
            let mut files = [
                crate::schema::analysis::StatisticRow::FILE,
                ClaimRow::FILE,
                TgshSummaryRow::FILE,
                AdjacencySummaryRow::FILE,
                RepresentationProfileSummaryRow::FILE,
                AccuracySummaryRow::FILE,
                crate::schema::analysis::DendrogramSummaryRow::FILE,
                crate::schema::analysis::ClusterSummaryRow::FILE,
                ClassMeanRow::FILE,
            ]
            .map(String::from)
            .to_vec();
            if has_subsampling(family) {
                files.push(SubsamplingRow::FILE.into());
            }
            let mut job = Job::new(artifacts, "summary", args, dir, &files);
            job.inputs = vec![artifacts.tasks(), artifacts.test_images()];
            for &seed in seeds {
                for file in [
                    SeedStatisticRow::FILE,
                    SimilarityRow::FILE,
                    AdjacencyRow::FILE,
                    RepresentationProfileRow::FILE,
                ] {
                    job.inputs.push(artifacts.analysis(seed, file));
                }
            }
            let references = references(pipeline, artifacts)?;
            for (_, other, other_seeds) in &references {
                job.inputs
                    .extend(other_seeds.iter().map(|&s| other.analysis(s, AdjacencyRow::FILE)));
            }
            job.params = serde_json::json!({
                "analyze": family.analyze,
                "topology": family.topology,
                "seeds": seeds,
                "references": references.iter().map(|(name, _, s)| (name.clone(), s.clone())).collect::<std::collections::BTreeMap<_, _>>(),
            });
            job
        }
        Experiment::Heldout(h) => {
            let files = [
                HeldoutRow::FILE,
                HeldoutCurveRow::FILE,
                ContextCosineRow::FILE,
                crate::schema::analysis::StatisticRow::FILE,
                ClaimRow::FILE,
            ]
            .map(String::from);
            let mut job = Job::new(artifacts, "summary", args, dir, &files);
            for &seed in seeds {
                for file in [HeldoutRow::FILE, ContextCosineRow::FILE, SeedStatisticRow::FILE] {
                    job.inputs.push(artifacts.analysis(seed, file));
                }
            }
            job.params = serde_json::json!({ "heldout": h.config, "topology": h.topology, "seeds": seeds });
            job
        }
    })
}

fn report_job(pipeline: &Pipeline, artifacts: &Artifacts) -> Job {
    // The figures are outputs too, but how many depends on the data; the
    // wall times of `timings.parquet` are read when present (a replacement
    // stage need not time itself), so they are not required inputs.
    let files: &[String] = match &pipeline.experiment {
        Experiment::Family(_) => &[REPORT_PAGE.into(), TIMINGS_PAGE.into(), PIPELINE_COPY.into()],
        Experiment::Heldout(_) => &[REPORT_PAGE.into(), PIPELINE_COPY.into()],
    };
    let mut job = Job::new(artifacts, "report", vec![], artifacts.stage_dir(Stage::Report), files);
    job.exact_outputs = false;
    let seeds = &pipeline.train.seeds;
    match &pipeline.experiment {
        Experiment::Family(family) => {
            job.inputs = vec![artifacts.tasks(), artifacts.test_images()];
            for &seed in seeds {
                job.inputs.push(artifacts.metrics(seed));
                for file in [
                    SimilarityRow::FILE,
                    CrossTaskRow::FILE,
                    TgshPairRow::FILE,
                    ReconstructionRow::FILE,
                    ContextsPcaRow::FILE,
                    SeedStatisticRow::FILE,
                ] {
                    job.inputs.push(artifacts.analysis(seed, file));
                }
            }
            for file in [
                ClaimRow::FILE,
                crate::schema::analysis::StatisticRow::FILE,
                AccuracySummaryRow::FILE,
                AdjacencySummaryRow::FILE,
                RepresentationProfileSummaryRow::FILE,
                TgshSummaryRow::FILE,
                crate::schema::analysis::DendrogramSummaryRow::FILE,
                crate::schema::analysis::ClusterSummaryRow::FILE,
                ClassMeanRow::FILE,
            ] {
                job.inputs.push(artifacts.summary(file));
            }
            if has_subsampling(family) {
                job.inputs.push(artifacts.summary(SubsamplingRow::FILE));
            }
            job.params =
                serde_json::json!({ "report": pipeline.report, "description": pipeline.description, "seeds": seeds });
        }
        Experiment::Heldout(h) => {
            job.inputs = vec![artifacts.tasks()];
            for file in [
                HeldoutRow::FILE,
                HeldoutCurveRow::FILE,
                ClaimRow::FILE,
                ContextCosineRow::FILE,
                crate::schema::analysis::StatisticRow::FILE,
            ] {
                job.inputs.push(artifacts.summary(file));
            }
            for &seed in seeds {
                job.inputs.push(artifacts.analysis(seed, HeldoutRow::FILE));
                job.inputs
                    .push(artifacts.train_shard(seed).join(HeldoutMetricsRow::FILE));
            }
            if let Some(&first) = seeds.first() {
                job.inputs
                    .push(artifacts.analysis(first, crate::schema::analysis::ManifoldPcaRow::FILE));
            }
            job.params = serde_json::json!({ "report": pipeline.report, "description": pipeline.description, "heldout": h.config, "seeds": seeds });
        }
    }
    job
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pipeline(extra: &str) -> Pipeline {
        let text = format!(
            "[data.family]\nname = \"R\"\nsweep = {{ transform = \"rotate\", count = 8, step = 45.0 }}\n[train]\nseeds = [4, 2]\n{extra}"
        );
        Pipeline::parse(Path::new("pipelines/p.toml"), &text).unwrap()
    }

    fn names(job: &Job) -> Vec<String> {
        job.outputs
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect()
    }

    #[test]
    fn a_family_pipeline_plans_one_job_per_seed_and_a_summary() {
        let p = pipeline("");
        let artifacts = Artifacts::new(Path::new("root"), &p.name);
        let train = StagePlan::of(Stage::Train, &p, &artifacts).unwrap();
        assert_eq!(train.kind, "family");
        assert_eq!(train.jobs.len(), 2);
        assert_eq!(train.jobs[0].name, "seed-4");
        assert_eq!(train.jobs[0].args, ["--seed", "4"]);
        assert_eq!(train.jobs[0].seed(), Some(4));
        assert_eq!(
            names(&train.jobs[0]),
            ["model.safetensors", "metrics.parquet", "timings.parquet"]
        );
        assert_eq!(train.jobs[1].dir, Path::new("root/p/train/seed-2"));
        // A seed's shard records its own seed, not the list.
        assert_eq!(train.jobs[0].params["seed"], 4);
        assert!(train.jobs[0].params.get("seeds").is_none());

        let analyze = StagePlan::of(Stage::Analyze, &p, &artifacts).unwrap();
        let names: Vec<&str> = analyze.jobs.iter().map(|j| j.name.as_str()).collect();
        assert_eq!(names, ["seed-4", "seed-2", "summary"]);
        let shard = &analyze.jobs[0];
        assert!(shard.inputs.contains(&artifacts.model(4)));
        // The summary-only bootstrap is not a seed shard's parameter.
        assert!(shard.params["analyze"].get("bootstrap").is_none());
        assert_eq!(analyze.jobs[2].params["analyze"]["bootstrap"], 1000);
        assert_eq!(analyze.jobs[2].args, ["--summary"]);
        assert_eq!(shape(&p).models_per_seed, 1);
        assert_eq!(shape(&p).train_images, MNIST_TRAIN_IMAGES);
    }

    #[test]
    fn a_heldout_pipeline_plans_one_model_file_per_trained_method() {
        let p = pipeline("[heldout]\ntrain_every = 2\nmethods = [\"points\", \"circle\"]\n");
        let artifacts = Artifacts::new(Path::new("root"), &p.name);
        let train = StagePlan::of(Stage::Train, &p, &artifacts).unwrap();
        assert_eq!(train.kind, "heldout");
        assert_eq!(
            names(&train.jobs[0]),
            [
                "points.safetensors",
                "circle.safetensors",
                "circle-metric.safetensors",
                "network.safetensors",
                "heldout_metrics.parquet",
                "timings.parquet"
            ]
        );
        let analyze = StagePlan::of(Stage::Analyze, &p, &artifacts).unwrap();
        assert!(analyze.jobs[1]
            .inputs
            .contains(&artifacts.train_shard(2).join("circle-metric.safetensors")));
        let s = shape(&p);
        assert_eq!((s.tasks, s.trained_tasks, s.models_per_seed), (8, 4, 3));
        let report = StagePlan::of(Stage::Report, &p, &artifacts).unwrap();
        assert!(!report.jobs[0].exact_outputs);
    }

    /// The workflow's default pipelines are the justfile's reproduction.
    #[test]
    fn the_workflow_and_the_justfile_name_the_same_reproduction() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let justfile = std::fs::read_to_string(root.join("justfile")).unwrap();
        let snakefile = std::fs::read_to_string(root.join("workflow/Snakefile")).unwrap();
        let just: Vec<&str> = justfile
            .lines()
            .find_map(|l| l.strip_prefix("reproduction := "))
            .expect("the justfile sets `reproduction`")
            .trim_matches('"')
            .split_whitespace()
            .collect();
        let snake: Vec<&str> = snakefile
            .lines()
            .find_map(|l| l.strip_prefix("REPRODUCTION = "))
            .expect("the Snakefile sets REPRODUCTION")
            .trim_matches(|c| c == '[' || c == ']')
            .split(',')
            .map(|s| s.trim().trim_matches('"'))
            .collect();
        assert_eq!(just, snake);
    }
}
