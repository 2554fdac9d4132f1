//! Small HTML pieces shared by the pipeline pages and the index: escaping,
//! a polars DataFrame as a table, the claims tables (HTML and Markdown:
//! each claim's value beside its controls, the paired differences and the
//! verdict in words, the papers' claims apart from this project's own), and
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
.pass{background:#d9f2d9} .fail{background:#f8d0d0} .inconclusive{background:#fbefc7} .untrained{background:#dde7f7}
tr.reading td{font-size:0.85em;color:#333;border-top:none;padding-bottom:6px} table.claims td{vertical-align:top}
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
    if statistic.starts_with("similarity.subsample") {
        return "subsampling";
    }
    let prefix = statistic.split(['.', '[']).next().unwrap_or("");
    match prefix {
        "representation" => "definition-1b",
        "contexts" => "pca",
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

/// A claim's verdict for tables: a symbol and a word.
pub fn verdict_label(verdict: &str) -> &'static str {
    match verdict {
        "pass" => "✓ pass",
        "untrained" => "○ holds untrained",
        "fail" => "✗ fail",
        _ => "? inconclusive",
    }
}

/// What the verdicts mean, for every page that shows claims.
pub const VERDICTS: &str = "<b>✓ pass</b>: the trained value meets its test (the whole interval beyond the bar, or inside the equivalence margin) \
     and, where the paper attributes the property to training, beats every control (the paired difference lies wholly on the claim's side of 0). \
     <b>○ holds untrained</b>: it meets its test, but so does a control that training does not beat (the contexts before training, or no modulation \
     at all): the property is there without the learning. <b>✗ fail</b>: shown not to meet its test. <b>? inconclusive</b>: anything else. \
     Controls: <i>before training</i> (the initial contexts), <i>without modulation</i> (every c<sub>t</sub> = 1), <i>task order shuffled</i> \
     (the trained matrices with the task labels permuted, mean of 200 permutations). Every statistic is measured on the trained model and on its \
     controls by the same code, with the same seeds and images. The unit is the seed: each seed is one independently trained model, and every \
     interval is across seeds (95 %; Student t for unbounded statistics, the expanded percentile bootstrap over seeds for statistics with a \
     bounded range, which keeps them inside it; 90 % for the two one-sided tests of an equivalence). Accuracies are in %, their differences in \
     percentage points.";

/// A number in a claim's unit, without the unit: `94.50`, `+4.48`, `0.956`.
pub fn in_unit(v: f64, unit: &str) -> String {
    if v.is_nan() {
        return "n/a".into();
    }
    match unit {
        "%" => format!("{v:.2}"),
        "points" => format!("{v:+.2}"),
        _ => format!("{v:.3}"),
    }
}

/// `mean [low, high] unit` (the interval omitted when unknown): `94.50
/// [94.35, 94.65] %`, `+4.48 [+2.10, +6.00] points`, `0.956 [0.941, 0.970]`.
pub fn with_interval(mean: f64, low: f64, high: f64, unit: &str) -> String {
    let suffix = if unit.is_empty() {
        String::new()
    } else {
        format!(" {unit}")
    };
    if low.is_nan() || high.is_nan() {
        format!("{}{suffix}", in_unit(mean, unit))
    } else {
        format!(
            "{} [{}, {}]{suffix}",
            in_unit(mean, unit),
            in_unit(low, unit),
            in_unit(high, unit)
        )
    }
}

/// A paired difference, signed, in the unit differences of `unit` take:
/// `+84.54 [+84.11, +84.92] points`, `-0.044 [-0.046, -0.042]`.
pub fn difference_interval(mean: f64, low: f64, high: f64, unit: &str) -> String {
    let unit = difference_unit(unit);
    if !unit.is_empty() {
        return with_interval(mean, low, high, unit);
    }
    let signed = |v: f64| {
        if v.is_nan() {
            "n/a".to_string()
        } else {
            format!("{v:+.3}")
        }
    };
    if low.is_nan() || high.is_nan() {
        signed(mean)
    } else {
        format!("{} [{}, {}]", signed(mean), signed(low), signed(high))
    }
}

/// The unit of a difference of values in `unit`.
fn difference_unit(unit: &str) -> &str {
    if unit == "%" {
        "points"
    } else {
        unit
    }
}

/// A claim's test in words: `> 0.500`, `94.40 % ± 0.3`.
pub fn test_words(c: &ClaimRow) -> String {
    if c.direction == "within" {
        if c.id == "subsample-of" {
            format!("matched pixel within ±{}, matched index beyond", c.margin)
        } else {
            format!(
                "{} ± {} {}",
                in_unit(c.threshold, &c.unit),
                c.margin,
                difference_unit(&c.unit)
            )
        }
    } else {
        let suffix = if c.unit.is_empty() {
            String::new()
        } else {
            format!(" {}", c.unit)
        };
        format!("{} {}{suffix}", c.direction, in_unit(c.threshold, &c.unit))
    }
}

/// A control's name for tables.
pub fn control_name(state: &str) -> String {
    match state {
        "before" => "before training".into(),
        "after" => "after training".into(),
        "unmodulated" => "no modulation (c<sub>t</sub> = 1)".into(),
        "permuted" => "task order shuffled".into(),
        other => escape(other),
    }
}

/// The claims as HTML tables, the papers' claims first and the project's
/// own questions in a section of their own. `pipeline`: a first column
/// naming the pipeline (the index); `link`: where each claim's figure is.
pub fn claims_table(rows: &[(Option<&str>, &ClaimRow, String)]) -> String {
    let mut html = String::new();
    for (section, heading) in [
        ("paper", "The papers' claims"),
        ("beyond", "Beyond the papers: this project's own questions"),
    ] {
        let part: Vec<&(Option<&str>, &ClaimRow, String)> = rows
            .iter()
            .filter(|(_, c, _)| (c.section == "beyond") == (section == "beyond"))
            .collect();
        if part.is_empty() {
            continue;
        }
        let _ = writeln!(html, "<h3 class=\"claims-{section}\">{heading}</h3>");
        html.push_str(&claims_section(&part));
    }
    html
}

/// The two control columns of a claim: the control's name (with `: `),
/// its value and the paired difference, each with its interval; `–` for a
/// control the claim does not have.
fn control_cells(c: &ClaimRow) -> [(String, String, String); 2] {
    let controls = crate::results::controls(c);
    std::array::from_fn(|k| match controls.get(k) {
        Some(control) => (
            format!("{}: ", control_name(&control.state)),
            with_interval(control.value.mean, control.value.low, control.value.high, &c.unit),
            if control.difference.mean.is_nan() {
                "–".to_string()
            } else {
                difference_interval(
                    control.difference.mean,
                    control.difference.low,
                    control.difference.high,
                    &c.unit,
                )
            },
        ),
        None => (String::new(), "–".into(), "–".into()),
    })
}
fn claims_section(rows: &[&(Option<&str>, &ClaimRow, String)]) -> String {
    let with_pipeline = rows.iter().any(|(p, _, _)| p.is_some());
    let columns = if with_pipeline { 10 } else { 9 };
    let mut html = String::from("<table class=\"claims\">\n<tr>");
    if with_pipeline {
        html.push_str("<th>pipeline</th>");
    }
    html.push_str(
        "<th>claim</th><th>figure</th><th>value (interval across seeds)</th><th>test</th><th>control</th><th>value − control</th>\
         <th>second control</th><th>value − control</th><th>verdict</th></tr>\n",
    );
    for (pipeline, c, link) in rows {
        html.push_str("<tr>");
        if let Some(p) = pipeline {
            let _ = write!(html, "<td>{}</td>", escape(p));
        }
        let state = match c.state.as_str() {
            "before" => " (before training)",
            _ => "",
        };
        let _ = write!(
            html,
            "<td>{}</td><td><a href=\"{}\">{}</a></td><td class=\"num\"><span title=\"{}: {}\">{}</span>{state}</td><td class=\"num\">{}</td>",
            escape(&c.claim),
            escape(link),
            escape(&c.figure),
            escape(&c.statistic),
            escape(&c.interval),
            with_interval(c.mean, c.ci_low, c.ci_high, &c.unit),
            escape(&test_words(c)),
        );
        for (name, value, difference) in control_cells(c) {
            let _ = write!(
                html,
                "<td class=\"num\">{name}{value}</td><td class=\"num\">{difference}</td>"
            );
        }
        let _ = writeln!(
            html,
            "<td class=\"{}\">{}</td></tr>\n<tr class=\"reading\"><td colspan=\"{columns}\">{} <span class=\"note\">Statistic: <code>{}</code>, {}; {}.</span></td></tr>",
            escape(&c.verdict),
            verdict_label(&c.verdict),
            escape(&c.reading),
            escape(&c.statistic),
            escape(&c.note),
            escape(&c.interval),
        );
    }
    html.push_str("</table>\n");
    html
}

/// The claims as Markdown tables (for CI logs and the README), the papers'
/// claims and this project's own questions apart.
pub fn claims_markdown(rows: &[(&str, &ClaimRow)]) -> String {
    let mut md = String::new();
    for (section, heading) in [
        ("paper", "The papers' claims"),
        ("beyond", "Beyond the papers: this project's own questions"),
    ] {
        let part: Vec<&(&str, &ClaimRow)> = rows
            .iter()
            .filter(|(_, c)| (c.section == "beyond") == (section == "beyond"))
            .collect();
        if part.is_empty() {
            continue;
        }
        let _ = write!(
            md,
            "## {heading}\n\n| pipeline | claim | value [interval] | test | control | value − control | second control | value − control | verdict | in words |\n|---|---|---|---|---|---|---|---|---|---|\n"
        );
        for (pipeline, c) in part {
            let mut controls = String::new();
            for (name, value, difference) in control_cells(c) {
                let name = name.replace("<sub>", "").replace("</sub>", "");
                let _ = write!(controls, " {name}{value} | {difference} |");
            }
            let _ = writeln!(
                md,
                "| {pipeline} | {} | {} | {} |{controls} **{}** | {} |",
                c.claim.replace('|', "\\|"),
                with_interval(c.mean, c.ci_low, c.ci_high, &c.unit),
                test_words(c).replace('|', "\\|"),
                verdict_label(&c.verdict),
                c.reading.replace('|', "\\|"),
            );
        }
        md.push('\n');
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
        assert_eq!(section_for("representation.distance_spearman"), "definition-1b");
        assert_eq!(
            section_for("similarity.subsample_matched_pixel[shift-1px every 2]"),
            "subsampling"
        );
    }

    fn claim(id: &str, section: &str, unit: &str) -> ClaimRow {
        ClaimRow {
            id: id.into(),
            section: section.into(),
            claim: format!("claim {id}"),
            figure: "Fig. 1a".into(),
            statistic: "tgsh.label.auc".into(),
            state: "after".into(),
            unit: unit.into(),
            interval: "95 %".into(),
            mean: 0.956,
            ci_low: 0.94,
            ci_high: 0.97,
            seeds: 5,
            threshold: 0.5,
            direction: ">".into(),
            margin: f64::NAN,
            control: "before".into(),
            control_mean: 1.0,
            control_low: 0.9999,
            control_high: 1.0,
            difference: -0.044,
            difference_low: -0.06,
            difference_high: -0.03,
            control2: String::new(),
            control2_mean: f64::NAN,
            control2_low: f64::NAN,
            control2_high: f64::NAN,
            difference2: f64::NAN,
            difference2_low: f64::NAN,
            difference2_high: f64::NAN,
            needs_training: true,
            verdict: "untrained".into(),
            reading: "Holds at initialisation too.".into(),
            note: "AUC".into(),
        }
    }

    #[test]
    fn claims_tables_show_controls_words_and_keep_the_papers_claims_apart() {
        let paper = claim("tgsh-label", "paper", "");
        let beyond = claim("contexts-trace-a-loop", "beyond", "");
        let rows = vec![(None, &paper, "#tgsh".to_string()), (None, &beyond, "#pca".to_string())];
        let html = claims_table(&rows);
        let (p, b) = (
            html.find("The papers' claims").unwrap(),
            html.find("Beyond the papers").unwrap(),
        );
        assert!(p < html.find("claim tgsh-label").unwrap() && html.find("claim tgsh-label").unwrap() < b);
        assert!(html.find("claim contexts-trace-a-loop").unwrap() > b);
        assert!(html.contains("before training: 1.000 [1.000, 1.000]"), "{html}");
        assert!(html.contains("-0.044 [-0.060, -0.030]") && html.contains("○ holds untrained"));
        assert!(html.contains("Holds at initialisation too."));
        let md = claims_markdown(&[("rotation", &paper), ("rotation", &beyond)]);
        assert!(md.find("## The papers' claims").unwrap() < md.find("## Beyond the papers").unwrap());
        assert!(md.contains("before training: 1.000 [1.000, 1.000]"), "{md}");
    }

    #[test]
    fn numbers_carry_one_unit_per_kind() {
        assert_eq!(with_interval(94.5, 94.35, 94.65, "%"), "94.50 [94.35, 94.65] %");
        assert_eq!(with_interval(4.48, 2.1, 6.0, "points"), "+4.48 [+2.10, +6.00] points");
        assert_eq!(with_interval(0.5, f64::NAN, f64::NAN, ""), "0.500");
        let mut accuracy = claim("mean-accuracy", "paper", "%");
        accuracy.threshold = 94.4;
        accuracy.margin = 0.3;
        accuracy.direction = "within".into();
        assert_eq!(test_words(&accuracy), "94.40 ± 0.3 points");
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
