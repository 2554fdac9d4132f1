//! Small HTML pieces shared by the pipeline pages and the index: escaping,
//! a polars DataFrame as a table, the claims table (HTML and Markdown), and
//! the style sheet. Pages use no script and no network: they open from disk.

use crate::results::ClaimRow;
use crate::ReportError;
use polars::prelude::*;
use std::fmt::Write as _;
use std::path::Path;

/// The style of every page (inline, so a copied folder keeps it).
pub const STYLE: &str = "body{font-family:sans-serif;max-width:1200px;margin:2em auto;padding:0 1em;color:#222}
figure{display:inline-block;margin:0.5em;vertical-align:top} img{max-width:560px;height:auto}
figure.wide img{max-width:1150px} figcaption{font-size:0.9em;color:#444;max-width:560px}
table{border-collapse:collapse;margin:0.5em 0 1.5em} td,th{border:1px solid #ccc;padding:2px 8px}
td.num{text-align:right;font-variant-numeric:tabular-nums} th{background:#f3f3f3}
.pass{background:#d9f2d9} .fail{background:#f8d0d0} .inconclusive{background:#fbefc7}
nav a{margin-right:1em} .note{font-size:0.85em;color:#555}";

/// Where a page sits: the index across pipelines, or a pipeline's report
/// folder (whose pages link back to the index).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    /// `<artifacts>/index.html`.
    Index,
    /// `<artifacts>/<pipeline>/report/`.
    Report,
}

/// Writes a page of this project: the style, a link back to the index of
/// every pipeline (from a report page), the title as heading, and `body`.
/// Written to a temporary file and renamed into place, so a reader never
/// sees half a page.
pub fn write_page(path: &Path, place: Place, title: &str, body: &str) -> Result<(), ReportError> {
    let nav = match place {
        Place::Index => "",
        Place::Report => "<nav><a href=\"../../index.html\">&larr; every pipeline</a></nav>\n",
    };
    let page = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{t}</title>\n<style>{STYLE}</style></head>\n<body>\n{nav}<h1>{t}</h1>\n{body}</body></html>\n",
        t = escape(title),
    );
    let tmp = path.with_extension("html.tmp");
    let io = |source| ReportError::Io {
        path: path.display().to_string(),
        source,
    };
    std::fs::write(&tmp, page).map_err(io)?;
    std::fs::rename(&tmp, path).map_err(io)
}

/// Escapes text for HTML element content and attribute values.
pub fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A number for a table: 3 decimals, `n/a` for NaN (unknown, e.g. an interval from one seed).
pub fn number(v: f64) -> String {
    if v.is_nan() {
        "n/a".into()
    } else {
        format!("{v:.3}")
    }
}

/// Renders a polars DataFrame as an HTML table: floats with `decimals`,
/// numbers right-aligned.
pub fn frame_table(df: &DataFrame, decimals: usize) -> String {
    let mut html = String::from("<table>\n<tr>");
    for name in df.get_column_names() {
        let _ = write!(html, "<th>{}</th>", escape(name));
    }
    html.push_str("</tr>\n");
    for row in 0..df.height() {
        html.push_str("<tr>");
        for column in df.columns() {
            let value = column.get(row).unwrap_or(AnyValue::Null);
            let (class, text) = match value {
                AnyValue::Float64(v) => (
                    "num",
                    if v.is_nan() {
                        "n/a".to_string()
                    } else {
                        format!("{v:.decimals$}")
                    },
                ),
                AnyValue::Float32(v) => ("num", format!("{v:.decimals$}")),
                AnyValue::Null => ("num", "n/a".to_string()),
                AnyValue::String(s) => ("", s.to_string()),
                AnyValue::StringOwned(s) => ("", s.to_string()),
                other => ("num", other.to_string()),
            };
            let _ = write!(html, "<td class=\"{class}\">{}</td>", escape(&text));
        }
        html.push_str("</tr>\n");
    }
    html.push_str("</table>\n");
    html
}

/// The page section that shows a statistic's figure (an anchor on the
/// pipeline page).
pub fn section_for(statistic: &str) -> &'static str {
    let prefix = statistic.split(['.', '[']).next().unwrap_or("");
    match prefix {
        "accuracy" => "accuracy",
        "similarity" => "similarity",
        "tgsh" => "tgsh",
        "reconstruction" => "reconstruction",
        "clustering" => "clustering",
        "cross_task" => "cross-task",
        "heldout" => "heldout",
        _ => "claims",
    }
}

/// The claims as an HTML table. `pipeline`: a first column naming the
/// pipeline (the index); `link`: where each claim's figure is.
pub fn claims_table(rows: &[(Option<&str>, &ClaimRow, String)]) -> String {
    let with_pipeline = rows.iter().any(|(p, _, _)| p.is_some());
    let mut html = String::from("<table>\n<tr>");
    if with_pipeline {
        html.push_str("<th>pipeline</th>");
    }
    html.push_str(
        "<th>claim</th><th>figure</th><th>statistic</th><th>mean</th><th>95 % interval</th><th>bar</th><th>seeds</th><th>verdict</th></tr>\n",
    );
    for (pipeline, c, link) in rows {
        html.push_str("<tr>");
        if let Some(p) = pipeline {
            let _ = write!(html, "<td>{}</td>", escape(p));
        }
        let _ = writeln!(
            html,
            "<td>{}</td><td><a href=\"{}\">{}</a></td><td><span title=\"{}\">{}</span></td><td class=\"num\">{}</td><td class=\"num\">[{}, {}]</td><td class=\"num\">{} {}</td><td class=\"num\">{}</td><td class=\"{}\">{}</td></tr>",
            escape(&c.claim),
            escape(link),
            escape(&c.figure),
            escape(&c.note),
            escape(&c.statistic),
            number(c.mean),
            number(c.ci_low),
            number(c.ci_high),
            escape(&c.direction),
            number(c.threshold),
            c.seeds,
            escape(&c.verdict),
            escape(&c.verdict),
        );
    }
    html.push_str("</table>\n");
    html
}

/// The claims as a Markdown table (for CI logs and the README).
pub fn claims_markdown(rows: &[(&str, &ClaimRow)]) -> String {
    let mut md = String::from(
        "| pipeline | claim | mean | 95 % interval | bar | seeds | verdict |\n|---|---|---|---|---|---|---|\n",
    );
    for (pipeline, c) in rows {
        let _ = writeln!(
            md,
            "| {pipeline} | {} | {} | [{}, {}] | {} {} | {} | **{}** |",
            c.claim.replace('|', "\\|"),
            number(c.mean),
            number(c.ci_low),
            number(c.ci_high),
            c.direction,
            number(c.threshold),
            c.seeds,
            c.verdict
        );
    }
    md
}

/// `<figure>` with the PNG, a caption and a link to the SVG.
pub fn figure(stem: &str, caption: &str, wide: bool) -> String {
    format!(
        "<figure id=\"fig-{stem}\"{}><img src=\"{stem}.png\" alt=\"{alt}\"><figcaption>{caption} (<a href=\"{stem}.svg\">SVG</a>)</figcaption></figure>\n",
        if wide { " class=\"wide\"" } else { "" },
        alt = escape(caption),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statistics_map_to_their_sections() {
        assert_eq!(section_for("similarity.after.nearest_is_adjacent"), "similarity");
        assert_eq!(section_for("clustering.group_margin[T1, T4]@3"), "clustering");
        assert_eq!(section_for("cross_task.similarity_spearman"), "cross-task");
        assert_eq!(section_for("something.else"), "claims");
    }

    #[test]
    fn frames_render_numbers_right_aligned_and_text_escaped() {
        let df = DataFrame::new_infer_height(vec![
            Column::new("name".into(), ["a<b"]),
            Column::new("value".into(), [0.12345f64]),
        ])
        .unwrap();
        let html = frame_table(&df, 2);
        assert!(
            html.contains("<td class=\"\">a&lt;b</td>") && html.contains("<td class=\"num\">0.12</td>"),
            "{html}"
        );
    }
}
