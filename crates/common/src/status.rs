//! Which stages of a pipeline are done, at a glance (`just pipelines`, the
//! index page).
//!
//! A job is *done* when its record exists, was written by the stage binary
//! that would run now (the same code hash), with the parameters its plan
//! lists now, and every output it records is still there with its recorded
//! size. This is the stages' own up-to-date check without re-hashing the
//! inputs and outputs (gigabytes for a full family), so it is fast enough to
//! list every pipeline; a stage run still checks every hash before it skips.

use crate::plan::StagePlan;
use crate::record::{FileHash, StageRecord};
use crate::{Artifacts, Pipeline, Result, Stage};
use std::collections::BTreeMap;
use std::path::Path;

/// The state of one job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobState {
    /// Up to date.
    Done,
    /// No record: never run (or removed).
    NotRun,
    /// Must run again; says why.
    Stale(String),
}

/// The state of every job of one stage.
#[derive(Debug, Clone)]
pub struct StageStatus {
    /// The stage.
    pub stage: Stage,
    /// Each job's name and state.
    pub jobs: Vec<(String, JobState)>,
}

impl StageStatus {
    /// `done`, `not run`, or `stale: <job>: <why>` (the first job that is
    /// not done), for a table cell.
    pub fn summary(&self) -> String {
        match self.jobs.iter().find(|(_, s)| *s != JobState::Done) {
            None => "done".into(),
            Some((_, JobState::NotRun)) if self.jobs.iter().all(|(_, s)| *s == JobState::NotRun) => "not run".into(),
            Some((job, JobState::NotRun)) => format!("{job} not run"),
            Some((job, JobState::Stale(why))) => format!("stale ({job}: {why})"),
            Some((_, JobState::Done)) => unreachable!("found a job that is not done"),
        }
    }

    /// Whether every job is done.
    pub fn done(&self) -> bool {
        self.jobs.iter().all(|(_, s)| *s == JobState::Done)
    }
}

/// The status of every stage of `pipeline`, judged against the stage
/// binaries in `binaries` (`tgsh-data`, `tgsh-train`, ...).
pub fn status(pipeline: &Pipeline, artifacts: &Artifacts, binaries: &Path) -> Result<Vec<StageStatus>> {
    let mut code: BTreeMap<Stage, Option<FileHash>> = BTreeMap::new();
    let mut out = Vec::new();
    for stage in [Stage::Data, Stage::Train, Stage::Analyze, Stage::Report] {
        let binary = binaries.join(format!("tgsh-{stage}"));
        let hash = code.entry(stage).or_insert_with(|| FileHash::of(&binary).ok()).clone();
        let plan = StagePlan::of(stage, pipeline, artifacts)?;
        let jobs = plan
            .jobs
            .iter()
            .map(|job| {
                let state = match std::fs::read_to_string(&job.record) {
                    Err(_) => JobState::NotRun,
                    Ok(text) => match serde_json::from_str::<StageRecord>(&text) {
                        Err(_) => JobState::Stale("its record is unreadable".into()),
                        Ok(record) => judge(&record, hash.as_ref(), &job.params, &job.dir),
                    },
                };
                (job.name.clone(), state)
            })
            .collect();
        out.push(StageStatus { stage, jobs });
    }
    Ok(out)
}

fn judge(record: &StageRecord, code: Option<&FileHash>, params: &serde_json::Value, dir: &Path) -> JobState {
    if code.is_some_and(|c| *c != record.code) {
        return JobState::Stale("the code changed".into());
    }
    if record.params != *params {
        return JobState::Stale("its parameters changed".into());
    }
    for (file, hash) in &record.outputs {
        match std::fs::metadata(dir.join(file)) {
            Ok(meta) if meta.len() == hash.size => {}
            _ => return JobState::Stale(format!("{file} changed or is missing")),
        }
    }
    JobState::Done
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_job_is_done_only_with_its_record_its_code_its_parameters_and_its_outputs() {
        let dir = std::env::temp_dir().join(format!("tgsh-status-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("out.parquet"), b"12345").unwrap();
        let code = FileHash {
            sha256: "abc".into(),
            size: 3,
        };
        let params = serde_json::json!({ "seed": 1 });
        let record = StageRecord {
            stage: "train".into(),
            command: vec![],
            version: "0".into(),
            source: Default::default(),
            code: code.clone(),
            params: params.clone(),
            inputs: BTreeMap::new(),
            outputs: BTreeMap::from([(
                "out.parquet".to_string(),
                FileHash {
                    sha256: "x".into(),
                    size: 5,
                },
            )]),
        };
        assert_eq!(judge(&record, Some(&code), &params, &dir), JobState::Done);
        let other = FileHash {
            sha256: "def".into(),
            size: 3,
        };
        assert_eq!(
            judge(&record, Some(&other), &params, &dir),
            JobState::Stale("the code changed".into())
        );
        assert_eq!(
            judge(&record, Some(&code), &serde_json::json!({ "seed": 2 }), &dir),
            JobState::Stale("its parameters changed".into())
        );
        std::fs::write(dir.join("out.parquet"), b"1234").unwrap();
        assert!(matches!(judge(&record, Some(&code), &params, &dir), JobState::Stale(w) if w.contains("out.parquet")));
        let stage = StageStatus {
            stage: Stage::Train,
            jobs: vec![("seed-0".into(), JobState::Done), ("seed-1".into(), JobState::NotRun)],
        };
        assert_eq!(stage.summary(), "seed-1 not run");
        std::fs::remove_dir_all(dir).unwrap();
    }
}
