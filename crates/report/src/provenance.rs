//! What produced a page: every setting of the pipeline with its defaults
//! resolved, a copy of the pipeline file, the source commit, and links to
//! every stage record and every table the numbers come from. Both page
//! kinds end with this section.

use crate::html::escape;
use crate::ReportError;
use std::fmt::Write as _;
use std::path::Path;
use tgsh_common::plan::PIPELINE_COPY;
use tgsh_common::record::Source;
use tgsh_common::{Artifacts, Pipeline, Stage, StagePlan};

/// Copies the pipeline file into the report folder `dir` and returns the
/// page section.
pub fn section(pipeline: &Pipeline, artifacts: &Artifacts, dir: &Path) -> Result<String, ReportError> {
    let copy = dir.join(PIPELINE_COPY);
    std::fs::copy(&pipeline.path, &copy).map_err(|source| ReportError::Io {
        path: pipeline.path.display().to_string(),
        source,
    })?;
    let source = Source::current();
    let commit = match (&source.commit, source.dirty) {
        (Some(c), Some(true)) => format!("source commit <code>{}</code> with uncommitted changes", escape(c)),
        (Some(c), _) => format!("source commit <code>{}</code>", escape(c)),
        (None, _) => "no git commit (not run in a git checkout)".to_string(),
    };
    let mut settings = String::from("<table>\n<tr><th>setting</th><th>value</th></tr>\n");
    for (key, value) in pipeline.resolved_keys() {
        let _ = writeln!(
            settings,
            "<tr><td><code>{}</code></td><td><code>{}</code></td></tr>",
            escape(&key),
            escape(&value)
        );
    }
    settings.push_str("</table>\n");
    // Every job's record, and the files of every job but the report's, as
    // paths relative to the report folder.
    let relative = |path: &Path| -> Option<String> {
        path.strip_prefix(artifacts.root())
            .ok()
            .map(|p| format!("../{}", p.to_string_lossy().replace('\\', "/")))
    };
    let mut records = Vec::new();
    let mut tables = Vec::new();
    for stage in [Stage::Data, Stage::Train, Stage::Analyze] {
        for job in StagePlan::of(stage, pipeline, artifacts)?.jobs {
            records.extend(relative(&job.record));
            if stage == Stage::Analyze && job.name == "summary" {
                tables.extend(job.outputs.iter().filter_map(|f| relative(f)));
            }
        }
    }
    let links = |paths: &[String]| -> String {
        paths
            .iter()
            .map(|p| {
                format!(
                    "<a href=\"{p}\"><code>{}</code></a>",
                    escape(p.trim_start_matches("../"))
                )
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    Ok(format!(
        "<h2 id=\"provenance\">What produced this page</h2>\n\
         <p>Pipeline file <a href=\"{PIPELINE_COPY}\"><code>{}</code></a> (a copy), tgsh {}, {commit}. \
         Stage records (inputs, outputs and parameters with their hashes): {}. Tables: {}.</p>\n\
         <details><summary>Every setting, defaults included</summary>\n{settings}</details>\n",
        escape(&pipeline.path.display().to_string()),
        tgsh_common::VERSION,
        links(&records),
        links(&tables),
    ))
}
