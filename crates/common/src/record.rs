//! Stage records and atomic publishing of a stage's outputs.
//!
//! A finished stage folder holds its outputs and `stage.json`, modelled on
//! DVC's `dvc.lock`: the command, the SHA-256 of the code (the running
//! binary) and of every input and output file, and the exact parameter values
//! the stage read (its config section, not the whole file). A stage is up to
//! date when all of them match what it would use now; change an input, a
//! parameter or the code and the stage, and so everything downstream of it,
//! runs again.
//!
//! Outputs are written into `<stage>.partial/` and the folder is renamed to
//! `<stage>/` only after the record is written, so a killed stage never leaves
//! anything that a later run accepts as finished. From its freshness check
//! to that rename a run holds the folder's writer lock ([`crate::lock`]), so
//! two processes never write one folder: the second waits, then finds it up
//! to date.

use crate::error::{Error, Result};
use crate::lock::{lock_file, WriterLock};
use crate::paths::{Artifacts, Stage, RECORD_FILE};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// The hash of this process's executable, taken once, at the first stage
/// record: the code that runs is the code recorded, even when a rebuild
/// replaces the file while a long stage runs (every later record of the
/// process would otherwise name a file that no longer exists).
fn running_code() -> Result<FileHash> {
    static CODE: std::sync::OnceLock<std::result::Result<FileHash, (PathBuf, String)>> = std::sync::OnceLock::new();
    let code = CODE.get_or_init(|| {
        let exe = std::env::current_exe().map_err(|e| (PathBuf::from("<current executable>"), e.to_string()))?;
        FileHash::of(&exe).map_err(|e| (exe, e.to_string()))
    });
    code.clone()
        .map_err(|(path, message)| Error::io(path, std::io::Error::other(message)))
}

/// Content hash and size of one file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileHash {
    /// Hex SHA-256 of the file's bytes.
    pub sha256: String,
    /// Size in bytes.
    pub size: u64,
}

impl FileHash {
    /// Hashes a file.
    pub fn of(path: &Path) -> Result<FileHash> {
        let mut file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
        let mut hasher = Sha256::new();
        let mut buf = vec![0u8; 1 << 20];
        let mut size = 0u64;
        loop {
            let n = file.read(&mut buf).map_err(|e| Error::io(path, e))?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
            size += n as u64;
        }
        Ok(FileHash {
            sha256: hex::encode(hasher.finalize()),
            size,
        })
    }
}

/// The record of a finished stage (`<stage>/stage.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StageRecord {
    /// Stage name.
    pub stage: String,
    /// The command line that produced it (informative, not compared).
    pub command: Vec<String>,
    /// Project version that produced it (informative).
    pub version: String,
    /// The source commit the run came from (informative, not compared).
    #[serde(default)]
    pub source: Source,
    /// Hash of the binary that ran the stage.
    pub code: FileHash,
    /// The parameter values the stage read.
    pub params: serde_json::Value,
    /// Input files by path, as given.
    pub inputs: BTreeMap<String, FileHash>,
    /// Output files by path relative to the stage folder.
    pub outputs: BTreeMap<String, FileHash>,
}

/// Where the code that ran came from: the git commit of the working
/// directory and whether its tracked files had changes. Informative: the
/// code hash decides whether a stage is up to date.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Source {
    /// `git rev-parse HEAD`, when the run's working directory is in a git
    /// repository.
    pub commit: Option<String>,
    /// Whether tracked files differed from that commit.
    pub dirty: Option<bool>,
}

impl Source {
    /// The source of this process's working directory (asked of git once).
    pub fn current() -> Source {
        static SOURCE: std::sync::OnceLock<Source> = std::sync::OnceLock::new();
        SOURCE
            .get_or_init(|| {
                let git = |args: &[&str]| {
                    std::process::Command::new("git")
                        .args(args)
                        .stderr(std::process::Stdio::null())
                        .output()
                        .ok()
                        .filter(|o| o.status.success())
                        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
                };
                let commit = git(&["rev-parse", "HEAD"]);
                let dirty = commit
                    .as_ref()
                    .and_then(|_| git(&["status", "--porcelain", "--untracked-files=no"]))
                    .map(|changes| !changes.is_empty());
                Source { commit, dirty }
            })
            .clone()
    }
}

/// Whether a stage must run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Freshness {
    /// Record, inputs, params, code and outputs all match.
    UpToDate,
    /// Must run; the reason says what changed.
    Stale(String),
}

/// One execution of a stage (or of one shard of it): decides whether it
/// must run, gives it a temporary folder, and publishes that folder
/// atomically. [`StageRun::should_run`] and [`StageRun::begin`] take the
/// folder's writer lock; it is held until the run is committed or dropped.
#[derive(Debug)]
pub struct StageRun {
    stage: Stage,
    label: String,
    final_dir: PathBuf,
    partial_dir: PathBuf,
    record: StageRecord,
    /// The outputs the plan lists, and whether they are all the folder may hold.
    expected: Option<(Vec<String>, bool)>,
    lock: Mutex<Option<WriterLock>>,
}

impl StageRun {
    /// Prepares a run of `stage` writing the whole stage folder, with the
    /// given parameters and input files. Fails, naming the file and the
    /// stage to run first, if an input is missing.
    pub fn new(stage: Stage, artifacts: &Artifacts, params: &impl Serialize, inputs: Vec<PathBuf>) -> Result<StageRun> {
        StageRun::in_dir(stage, artifacts, artifacts.stage_dir(stage), params, inputs)
    }

    /// Like [`StageRun::new`], for a run that writes `final_dir` (one shard
    /// of a stage, e.g. `train/seed-3`) of `artifacts`' pipeline.
    pub fn in_dir(
        stage: Stage,
        artifacts: &Artifacts,
        final_dir: PathBuf,
        params: &impl Serialize,
        inputs: Vec<PathBuf>,
    ) -> Result<StageRun> {
        let partial_dir = final_dir.with_extension("partial");
        let label = match final_dir.file_name().and_then(|n| n.to_str()) {
            Some(name) if name != stage.name() => format!("{stage} {name}"),
            _ => stage.name().to_string(),
        };
        missing_inputs(&label, artifacts, &inputs)?;
        let mut hashes = BTreeMap::new();
        for input in inputs {
            hashes.insert(input.display().to_string(), FileHash::of(&input)?);
        }
        let code = running_code()?;
        let record = StageRecord {
            stage: stage.name().to_string(),
            command: std::env::args().collect(),
            version: crate::VERSION.to_string(),
            source: Source::current(),
            code,
            params: serde_json::to_value(params).map_err(|source| Error::Json {
                path: final_dir.join(RECORD_FILE),
                source,
            })?,
            inputs: hashes,
            outputs: BTreeMap::new(),
        };
        Ok(StageRun {
            stage,
            label,
            final_dir,
            partial_dir,
            record,
            expected: None,
            lock: Mutex::new(None),
        })
    }

    /// Makes [`StageRun::commit`] refuse to publish a folder that lacks one
    /// of `outputs` (paths relative to the folder) or, when `exact`, holds
    /// anything else: what a stage writes is what its plan says.
    pub fn expecting(mut self, outputs: Vec<String>, exact: bool) -> StageRun {
        self.expected = Some((outputs, exact));
        self
    }

    /// Takes the folder's writer lock unless this run holds it already,
    /// waiting while another process writes the folder.
    fn hold(&self) -> Result<()> {
        let mut lock = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        if lock.is_none() {
            *lock = Some(WriterLock::acquire(&lock_file(&self.final_dir), &self.label)?);
        }
        Ok(())
    }

    /// The folder the finished outputs will live in.
    pub fn final_dir(&self) -> &Path {
        &self.final_dir
    }

    /// Compares the existing record (if any) with this run.
    pub fn check(&self) -> Result<Freshness> {
        let path = self.final_dir.join(RECORD_FILE);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(Freshness::Stale("no finished run".into()))
            }
            Err(e) => return Err(Error::io(&path, e)),
        };
        let Ok(old) = serde_json::from_str::<StageRecord>(&text) else {
            return Ok(Freshness::Stale(format!("{} is unreadable", path.display())));
        };
        if old.code != self.record.code {
            return Ok(Freshness::Stale("the code changed".into()));
        }
        if old.params != self.record.params {
            return Ok(Freshness::Stale("its parameters changed".into()));
        }
        if old.inputs != self.record.inputs {
            let changed: Vec<&str> = self
                .record
                .inputs
                .iter()
                .filter(|(k, v)| old.inputs.get(*k) != Some(v))
                .map(|(k, _)| k.as_str())
                .collect();
            return Ok(Freshness::Stale(format!("inputs changed: {}", changed.join(", "))));
        }
        for (rel, hash) in &old.outputs {
            let file = self.final_dir.join(rel);
            if !file.exists() || FileHash::of(&file)? != *hash {
                return Ok(Freshness::Stale(format!(
                    "output {} changed or is missing",
                    file.display()
                )));
            }
        }
        Ok(Freshness::UpToDate)
    }

    /// Takes the folder's writer lock (waiting for another process that
    /// writes it), then decides and says (on stderr) whether the stage runs:
    /// not when up to date, unless `force`.
    pub fn should_run(&self, force: bool) -> Result<bool> {
        self.hold()?;
        let stage = &self.label;
        match self.check()? {
            Freshness::UpToDate if !force => {
                eprintln!("{stage}: up to date, skipping ({})", self.final_dir.display());
                Ok(false)
            }
            Freshness::UpToDate => {
                eprintln!("{stage}: --force given, running again");
                Ok(true)
            }
            Freshness::Stale(reason) => {
                eprintln!("{stage}: running ({reason})");
                Ok(true)
            }
        }
    }

    /// Takes the folder's writer lock (if [`StageRun::should_run`] has not),
    /// creates an empty `<stage>.partial/` folder (removing leftovers of an
    /// interrupted run) and returns it; write every output there.
    pub fn begin(&self) -> Result<PathBuf> {
        self.hold()?;
        if self.partial_dir.exists() {
            std::fs::remove_dir_all(&self.partial_dir).map_err(|e| Error::io(&self.partial_dir, e))?;
        }
        std::fs::create_dir_all(&self.partial_dir).map_err(|e| Error::io(&self.partial_dir, e))?;
        Ok(self.partial_dir.clone())
    }

    /// What the messages call this run: `train seed-3`, `report`.
    pub fn label(&self) -> &str {
        &self.label
    }

    /// Hashes the outputs, writes the record, renames the partial folder
    /// into place, replacing the previous run's folder, and checks that the
    /// published folder holds every output its record lists; then releases
    /// the writer lock.
    pub fn commit(mut self) -> Result<StageRecord> {
        self.hold()?;
        let mut files = Vec::new();
        collect_files(&self.partial_dir, &mut files)?;
        for file in files {
            let rel = file
                .strip_prefix(&self.partial_dir)
                .expect("collected below the partial folder")
                .to_string_lossy()
                .replace('\\', "/");
            if rel == RECORD_FILE {
                continue;
            }
            self.record.outputs.insert(rel, FileHash::of(&file)?);
        }
        if let Some((expected, exact)) = &self.expected {
            let missing: Vec<&str> = expected
                .iter()
                .filter(|f| !self.record.outputs.contains_key(*f))
                .map(String::as_str)
                .collect();
            let extra: Vec<&str> = if *exact {
                self.record
                    .outputs
                    .keys()
                    .filter(|f| !expected.contains(f))
                    .map(String::as_str)
                    .collect()
            } else {
                Vec::new()
            };
            if !missing.is_empty() || !extra.is_empty() {
                return Err(Error::schema(
                    &self.partial_dir,
                    format!(
                        "the {} wrote a folder that does not match its plan (missing: [{}]; not planned: [{}]); \
                         nothing was published. This is a bug in the stage: the plan is `tgsh-{} --plan`",
                        self.label,
                        missing.join(", "),
                        extra.join(", "),
                        self.stage
                    ),
                ));
            }
        }
        let record_path = self.partial_dir.join(RECORD_FILE);
        let json = serde_json::to_string_pretty(&self.record).map_err(|source| Error::Json {
            path: record_path.clone(),
            source,
        })?;
        std::fs::write(&record_path, json + "\n").map_err(|e| Error::io(&record_path, e))?;
        let old = self.final_dir.with_extension("old");
        if old.exists() {
            std::fs::remove_dir_all(&old).map_err(|e| Error::io(&old, e))?;
        }
        if self.final_dir.exists() {
            std::fs::rename(&self.final_dir, &old).map_err(|e| Error::io(&self.final_dir, e))?;
        }
        std::fs::rename(&self.partial_dir, &self.final_dir).map_err(|e| Error::io(&self.partial_dir, e))?;
        if old.exists() {
            std::fs::remove_dir_all(&old).map_err(|e| Error::io(&old, e))?;
        }
        // Cheap (sizes only): under the lock nothing else writes here, so a
        // difference means the lock did not hold (a file system without locks).
        for (rel, hash) in &self.record.outputs {
            let file = self.final_dir.join(rel);
            let size = std::fs::metadata(&file).map(|m| m.len()).ok();
            if size != Some(hash.size) {
                return Err(Error::io(
                    &file,
                    std::io::Error::other(format!(
                        "published by {} but missing or changed right after: another process wrote {} at the same \
                         time, although this one held its lock; is the artifact folder on a file system without locks?",
                        self.label,
                        self.final_dir.display()
                    )),
                ));
            }
        }
        Ok(self.record)
    }

    /// The stage this run is for.
    pub fn stage(&self) -> Stage {
        self.stage
    }
}

/// Reads the record of the published folder `dir` and checks that the
/// folder holds every output the record lists, with the recorded hash.
pub fn verify_published(dir: &Path) -> Result<StageRecord> {
    let path = dir.join(RECORD_FILE);
    let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
    let record: StageRecord = serde_json::from_str(&text).map_err(|source| Error::Json {
        path: path.clone(),
        source,
    })?;
    for (rel, hash) in &record.outputs {
        let file = dir.join(rel);
        if !file.is_file() || FileHash::of(&file)? != *hash {
            return Err(Error::io(
                &file,
                std::io::Error::other(format!(
                    "listed in {} but missing or different: the folder is not what its record says",
                    path.display()
                )),
            ));
        }
    }
    Ok(record)
}

/// Fails, naming each missing input and the command that makes it, when
/// any of `inputs` does not exist.
fn missing_inputs(label: &str, artifacts: &Artifacts, inputs: &[PathBuf]) -> Result<()> {
    let missing: Vec<&PathBuf> = inputs.iter().filter(|p| !p.exists()).collect();
    let Some(first) = missing.first() else {
        return Ok(());
    };
    let mut commands: Vec<String> = Vec::new();
    for file in &missing {
        if let Some(command) = artifacts.command_making(file) {
            if !commands.contains(&command) {
                commands.push(command);
            }
        }
    }
    // In the order the stages run.
    commands.sort_by_key(|c| {
        ["tgsh-data", "tgsh-train", "tgsh-analyze", "--summary", "tgsh-report"]
            .iter()
            .rposition(|part| c.starts_with(part) || c.ends_with(part))
    });
    let also = match missing.len() {
        1 => String::new(),
        n => format!(" (and {} more of its inputs)", n - 1),
    };
    let how = match commands.as_slice() {
        [] => "it is not made by any stage: restore it".to_string(),
        [one] if missing.len() == 1 => format!("make it with `{one}`"),
        [one] => format!("make them with `{one}`"),
        many => format!(
            "make them with {}",
            many.iter()
                .map(|c| format!("`{c}`"))
                .collect::<Vec<_>>()
                .join(", then ")
        ),
    };
    Err(Error::io(
        *first,
        std::io::Error::new(
            std::io::ErrorKind::NotFound,
            format!("input of {label} is missing{also}: {how}"),
        ),
    ))
}

fn collect_files(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    let entries = std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))?;
    let mut paths: Vec<PathBuf> = entries
        .map(|e| e.map(|e| e.path()).map_err(|e| Error::io(dir, e)))
        .collect::<Result<_>>()?;
    paths.sort();
    for path in paths {
        if path.is_dir() {
            collect_files(&path, out)?;
        } else {
            out.push(path);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_root(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("tgsh-record-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn a_committed_stage_is_fresh_until_an_input_param_or_output_changes() {
        let root = temp_root("fresh");
        let artifacts = Artifacts::new(&root, "p");
        let input = root.join("input.bin");
        std::fs::write(&input, b"abc").unwrap();
        let params = serde_json::json!({"epochs": 3});

        let run = StageRun::new(Stage::Analyze, &artifacts, &params, vec![input.clone()]).unwrap();
        assert!(matches!(run.check().unwrap(), Freshness::Stale(_)));
        let dir = run.begin().unwrap();
        std::fs::write(dir.join("out.txt"), b"result").unwrap();
        let record = run.commit().unwrap();
        assert_eq!(record.outputs["out.txt"].size, 6);
        assert!(artifacts.stage_dir(Stage::Analyze).join("out.txt").exists());

        let again = StageRun::new(Stage::Analyze, &artifacts, &params, vec![input.clone()]).unwrap();
        assert_eq!(again.check().unwrap(), Freshness::UpToDate);

        let other = serde_json::json!({"epochs": 4});
        let changed = StageRun::new(Stage::Analyze, &artifacts, &other, vec![input.clone()]).unwrap();
        assert_eq!(
            changed.check().unwrap(),
            Freshness::Stale("its parameters changed".into())
        );

        std::fs::write(&input, b"abd").unwrap();
        let changed = StageRun::new(Stage::Analyze, &artifacts, &params, vec![input.clone()]).unwrap();
        assert!(matches!(changed.check().unwrap(), Freshness::Stale(r) if r.contains("input.bin")));

        std::fs::write(&input, b"abc").unwrap();
        std::fs::write(artifacts.stage_dir(Stage::Analyze).join("out.txt"), b"tampered").unwrap();
        let changed = StageRun::new(Stage::Analyze, &artifacts, &params, vec![input]).unwrap();
        assert!(matches!(changed.check().unwrap(), Freshness::Stale(r) if r.contains("out.txt")));
        std::fs::remove_dir_all(root).unwrap();
    }

    #[test]
    fn an_interrupted_run_is_never_taken_as_finished() {
        let root = temp_root("interrupted");
        let artifacts = Artifacts::new(&root, "p");
        let run = StageRun::new(Stage::Train, &artifacts, &0, vec![]).unwrap();
        let dir = run.begin().unwrap();
        std::fs::write(dir.join("model.safetensors"), b"half").unwrap();
        drop(run); // killed before commit
        let next = StageRun::new(Stage::Train, &artifacts, &0, vec![]).unwrap();
        assert_eq!(next.check().unwrap(), Freshness::Stale("no finished run".into()));
        // The next run starts from an empty partial folder.
        let dir = next.begin().unwrap();
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0);
        std::fs::remove_dir_all(root).unwrap();
    }

    #[test]
    fn a_missing_input_names_the_file_and_the_command_that_makes_it() {
        let root = temp_root("missing");
        let artifacts = Artifacts::new(&root, "p");
        let missing = root.join("nope.parquet");
        let err = StageRun::new(Stage::Train, &artifacts, &0, vec![missing]).unwrap_err();
        assert!(
            err.to_string().contains("nope.parquet") && err.to_string().contains("restore it"),
            "{err}"
        );
        let artifacts = artifacts.with_pipeline_file(Path::new("pipelines/p.toml"));
        let inputs = vec![
            artifacts.analysis(1, "statistics.parquet"),
            artifacts.analysis(1, "similarity.parquet"),
            artifacts.analysis(2, "similarity.parquet"),
        ];
        let err = StageRun::in_dir(Stage::Analyze, &artifacts, artifacts.analyze_summary(), &0, inputs)
            .unwrap_err()
            .to_string();
        let root = root.display();
        assert_eq!(
            err,
            format!(
                "{root}/p/analyze/seed-1/statistics.parquet: input of analyze summary is missing (and 2 more of its \
                 inputs): make them with `tgsh-analyze pipelines/p.toml --artifacts {root} --seed 1`, then \
                 `tgsh-analyze pipelines/p.toml --artifacts {root} --seed 2`"
            )
        );
    }

    #[test]
    fn a_second_writer_of_a_shard_waits_for_the_first_and_finds_it_up_to_date() {
        let root = temp_root("writers");
        let artifacts = Artifacts::new(&root, "p");
        let shard = artifacts.train_shard(0);
        let first = StageRun::in_dir(Stage::Train, &artifacts, shard.clone(), &0, vec![]).unwrap();
        assert!(first.should_run(false).unwrap());
        let dir = first.begin().unwrap();
        std::fs::write(dir.join("model.safetensors"), b"half of a model").unwrap();
        // The second writer starts while the first is mid-write.
        let (tx, rx) = std::sync::mpsc::channel();
        let second = {
            let (artifacts, shard) = (artifacts.clone(), shard.clone());
            std::thread::spawn(move || {
                let run = StageRun::in_dir(Stage::Train, &artifacts, shard, &0, vec![]).unwrap();
                tx.send("created").unwrap();
                let runs = run.should_run(false).unwrap();
                tx.send("checked").unwrap();
                if runs {
                    let dir = run.begin().unwrap();
                    std::fs::write(dir.join("metrics.parquet"), b"second").unwrap();
                    run.commit().unwrap();
                }
                runs
            })
        };
        assert_eq!(rx.recv().unwrap(), "created");
        // It waits on the lock: it neither decides nor touches the partial folder.
        assert!(rx.recv_timeout(std::time::Duration::from_millis(300)).is_err());
        std::fs::write(dir.join("model.safetensors"), b"the whole model").unwrap();
        std::fs::write(dir.join("metrics.parquet"), b"first").unwrap();
        first.commit().unwrap();
        assert_eq!(rx.recv().unwrap(), "checked");
        assert!(!second.join().unwrap(), "the second writer found the shard up to date");
        let record = verify_published(&shard).unwrap();
        assert_eq!(record.outputs.len(), 2);
        std::fs::write(shard.join("metrics.parquet"), b"tampered").unwrap();
        let err = verify_published(&shard).unwrap_err().to_string();
        assert!(
            err.contains("metrics.parquet") && err.contains("not what its record says"),
            "{err}"
        );
        assert_eq!(
            std::fs::read(shard.join("model.safetensors")).unwrap(),
            b"the whole model"
        );
        assert!(!shard.with_extension("partial").exists());
        std::fs::remove_dir_all(root).unwrap();
    }
}
