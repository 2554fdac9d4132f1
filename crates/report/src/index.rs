//! The index page across pipelines (`<artifacts>/index.html`): every
//! pipeline's headline figure and the claims of every family in one table,
//! each linked to the figure it rests on; and the same claims as Markdown
//! (`<artifacts>/claims.md`) for CI logs and the README. Pipelines not run
//! yet are listed as such, never linked.

use crate::html::{self, escape};
use crate::results::{self, ClaimRow};
use crate::ReportError;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use tgsh_common::schema::Table as _;
use tgsh_common::{Artifacts, Pipeline};

/// What the index found.
#[derive(Debug, Clone)]
pub struct IndexSummary {
    /// The page.
    pub page: PathBuf,
    /// The Markdown claims table.
    pub markdown: PathBuf,
    /// Pipelines with a report page.
    pub reported: Vec<String>,
    /// Pipelines without one yet.
    pub missing: Vec<String>,
    /// Every claim, by pipeline.
    pub claims: Vec<(String, ClaimRow)>,
}

/// Writes `index.html` and `claims.md` under `root` for `pipelines`
/// (atomically: temporary files renamed into place).
pub fn write_index(root: &Path, pipelines: &[Pipeline]) -> Result<IndexSummary, ReportError> {
    let mut summary = IndexSummary {
        page: root.join("index.html"),
        markdown: root.join("claims.md"),
        reported: Vec::new(),
        missing: Vec::new(),
        claims: Vec::new(),
    };
    let mut list = String::new();
    for pipeline in pipelines {
        let artifacts = Artifacts::new(root, &pipeline.name);
        let name = escape(&pipeline.name);
        if !artifacts.report_page().exists() || !artifacts.summary(ClaimRow::FILE).exists() {
            let _ = writeln!(
                list,
                "<li><b>{name}</b>: not run yet (<code>just run {name}</code>). {}</li>",
                escape(&pipeline.description)
            );
            summary.missing.push(pipeline.name.clone());
            continue;
        }
        let claims = results::claims(&artifacts.summary(ClaimRow::FILE))?;
        let count = |v: &str| claims.iter().filter(|c| c.verdict == v).count();
        let accuracy = results::task_accuracy(&artifacts)
            .map(|a| {
                format!(
                    "{:.2} %",
                    100.0 * a.mean.iter().sum::<f64>() / a.mean.len().max(1) as f64
                )
            })
            .unwrap_or_else(|_| "n/a".into());
        let _ = writeln!(
            list,
            "<li><a href=\"{name}/report/index.html\"><b>{name}</b></a>: {}. Mean test accuracy {accuracy}; claims: {} pass, {} hold untrained too, {} fail, {} inconclusive.</li>",
            escape(pipeline.description.trim_end().trim_end_matches('.')),
            count("pass"),
            count("untrained"),
            count("fail"),
            count("inconclusive")
        );
        summary.reported.push(pipeline.name.clone());
        summary
            .claims
            .extend(claims.into_iter().map(|c| (pipeline.name.clone(), c)));
    }
    let rows: Vec<(Option<&str>, &ClaimRow, String)> = summary
        .claims
        .iter()
        .map(|(p, c)| {
            (
                Some(p.as_str()),
                c,
                format!("{p}/report/index.html#{}", html::section_for(&c.statistic)),
            )
        })
        .collect();
    // The headline figure of each family page (held-out pages have their own).
    let figures: String = summary
        .reported
        .iter()
        .filter(|p| Artifacts::new(root, p).stage_dir(tgsh_common::Stage::Report).join("similarity_after_mean.png").is_file())
        .map(|p| {
            format!(
                "<figure><a href=\"{p}/report/index.html#clustering\"><img src=\"{p}/report/similarity_after_mean.png\" alt=\"{p}: context similarity after training\"></a>\
                 <figcaption>{p}: context similarity after training, mean over seeds</figcaption></figure>\n"
            )
        })
        .collect();
    let body = format!(
        "<p>Randomly weighted neuromodulation (T-GSH, CRWN), reproduced. Each pipeline's page has every figure; this page has \
         every claim, each beside its controls. Failing claims are reported as failing; bars are fixed before any run \
         (docs/METHOD.md in the repository).</p>\n<p class=\"note\">{}</p>\n<h2>Pipelines</h2>\n<ul>\n{list}</ul>\n\
         <h2 id=\"claims\">Claims of every family</h2>\n{}\n<h2>After-training similarity</h2>\n{figures}",
        html::VERDICTS,
        if rows.is_empty() { "<p>No pipeline has been run yet.</p>".to_string() } else { html::claims_table(&rows) }
    );
    html::write_page(
        &summary.page,
        html::Place::Index,
        "tgsh: every claim of every pipeline",
        &body,
    )?;
    let md_rows: Vec<(&str, &ClaimRow)> = summary.claims.iter().map(|(p, c)| (p.as_str(), c)).collect();
    let tmp = root.join(".claims.md.tmp");
    std::fs::write(&tmp, html::claims_markdown(&md_rows)).map_err(|source| ReportError::Io {
        path: tmp.display().to_string(),
        source,
    })?;
    rename(&tmp, &summary.markdown)?;
    Ok(summary)
}

fn rename(from: &Path, to: &Path) -> Result<(), ReportError> {
    std::fs::rename(from, to).map_err(|source| ReportError::Io {
        path: to.display().to_string(),
        source,
    })
}

/// Every `*.toml` in `dir`, by name.
pub fn pipeline_files(dir: &Path) -> Result<Vec<PathBuf>, ReportError> {
    let io = |source| ReportError::Io {
        path: dir.display().to_string(),
        source,
    };
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(io)?
        .map(|e| e.map(|e| e.path()).map_err(io))
        .collect::<Result<Vec<_>, _>>()?
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    Ok(files)
}

/// The pipeline file a user means: a path to a file (`pipelines/rotation.toml`)
/// or a name in `pipelines/` (`rotation`, `rotation.toml`); an error lists
/// the pipelines there.
pub fn pipeline_file(given: &Path) -> Result<PathBuf, ReportError> {
    if given.is_file() {
        return Ok(given.to_path_buf());
    }
    let text = given.to_string_lossy();
    let name = text.trim_start_matches("pipelines/").trim_end_matches(".toml");
    let file = Path::new("pipelines").join(format!("{name}.toml"));
    if !name.is_empty() && file.is_file() {
        return Ok(file);
    }
    let known: Vec<String> = pipeline_files(Path::new("pipelines"))
        .unwrap_or_default()
        .iter()
        .filter_map(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .collect();
    let asked = if text.is_empty() {
        "name a pipeline".to_string()
    } else {
        format!("no pipeline `{text}`")
    };
    Err(ReportError::Usage(format!(
        "{asked}: pipelines/ has {} (e.g. `./x run {}`)",
        known.join(", "),
        known.first().map_or("rotation", String::as_str)
    )))
}

/// A plain-text table of every pipeline's stages: done, not run, or stale
/// and why (`just pipelines`).
pub fn status_table(root: &Path, pipelines: &[Pipeline]) -> Result<String, ReportError> {
    let binaries = std::env::current_exe()
        .ok()
        .and_then(|e| e.parent().map(Path::to_path_buf))
        .unwrap_or_else(|| PathBuf::from("target/release"));
    let width = pipelines.iter().map(|p| p.name.len()).max().unwrap_or(8).max(8);
    let mut out = format!("{:width$}  {:8}  stages\n", "pipeline", "kind");
    for pipeline in pipelines {
        let stages = tgsh_common::status::status(pipeline, &Artifacts::new(root, &pipeline.name), &binaries)?;
        let cells: Vec<String> = stages.iter().map(|s| format!("{} {}", s.stage, s.summary())).collect();
        let _ = writeln!(
            out,
            "{:width$}  {:8}  {}",
            pipeline.name,
            pipeline.experiment.kind(),
            cells.join(" | ")
        );
    }
    Ok(out)
}
