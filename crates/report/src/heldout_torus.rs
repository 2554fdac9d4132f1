//! The held-out page of a torus family (two task variables, rotation x
//! periodic shift): test accuracy on every grid task as a heatmap per
//! method, rotations down and shifts across, the training tasks marked
//! with a dot, every panel on one colour scale so they compare at a glance.
//! Written as `<stem>.png` and `<stem>.svg`.

use crate::figures::Colormap;
use crate::heldout::Page;
use crate::heldout_figures::CurveError;
use crate::html;
use crate::ReportError;
use plotters::prelude::*;
use std::path::Path;
use tgsh_common::config::TrainedMethod;
use tgsh_common::schema::analysis::HeldoutCurveRow;

/// One method's panel: its name and the mean accuracy (%) of every grid
/// task, row-major over (rotation, shift).
pub type Panel = (String, Vec<f64>);

/// What the figure shows.
pub struct GridHeatmaps<'a> {
    /// Title.
    pub title: &'a str,
    /// The panels, drawn left to right, then down.
    pub panels: &'a [Panel],
    /// The first variable's values (rows), e.g. degrees.
    pub rows: &'a [String],
    /// The second variable's values (columns), e.g. pixels.
    pub columns: &'a [String],
    /// Whether each grid task (row-major) is a training task.
    pub seen: &'a [bool],
    /// The colour scale's range in %, shared by every panel.
    pub range: (f64, f64),
}

const CELL_W: i32 = 38;
const CELL_H: i32 = 24;
const LEFT: i32 = 44;
const TOP: i32 = 44;
const PANEL_GAP: i32 = 24;
const PER_ROW: usize = 3;
const TITLE_H: i32 = 40;
const BAR_H: i32 = 56;

impl GridHeatmaps<'_> {
    fn panel_size(&self) -> (i32, i32) {
        (
            LEFT + CELL_W * self.columns.len() as i32 + PANEL_GAP,
            TOP + CELL_H * self.rows.len() as i32 + PANEL_GAP,
        )
    }
}

impl crate::figures::Figure for GridHeatmaps<'_> {
    fn size(&self) -> (u32, u32) {
        let (w, h) = self.panel_size();
        let across = self.panels.len().clamp(1, PER_ROW) as i32;
        let down = self.panels.len().div_ceil(PER_ROW).max(1) as i32;
        ((w * across + 20) as u32, (TITLE_H + h * down + BAR_H) as u32)
    }
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, plotters::coord::Shift>) -> Result<(), String> {
        draw(root, self)
    }
}

/// Draws `figure` into `<stem>.png` and `<stem>.svg` (each written to a
/// temporary file and renamed into place).
pub fn grid_heatmaps(stem: &Path, figure: &GridHeatmaps<'_>) -> Result<(), CurveError> {
    let n = figure.rows.len() * figure.columns.len();
    let fail = |message: String| CurveError {
        path: stem.display().to_string(),
        message,
    };
    if figure.seen.len() != n || figure.panels.iter().any(|p| p.1.len() != n) {
        return Err(fail(format!("every panel needs {n} values, one per grid task")));
    }
    let (low, high) = figure.range;
    if !(low.is_finite() && high.is_finite() && low < high) {
        return Err(fail(format!("invalid colour range {:?}", figure.range)));
    }
    crate::figures::ensure_font().map_err(fail)?;
    crate::figures::write_figure(stem, figure).map_err(|e| fail(e.to_string()))
}

fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, plotters::coord::Shift>,
    f: &GridHeatmaps<'_>,
) -> Result<(), String> {
    let err = |e: &dyn std::fmt::Display| e.to_string();
    root.fill(&WHITE).map_err(|e| err(&e))?;
    let big = ("sans-serif", 18).into_font();
    let text = ("sans-serif", 12).into_font();
    let small = ("sans-serif", 10).into_font();
    root.draw(&Text::new(f.title.to_string(), (12, 10), big.clone()))
        .map_err(|e| err(&e))?;
    let (pw, ph) = f.panel_size();
    let cols = f.columns.len();
    for (p, (name, values)) in f.panels.iter().enumerate() {
        let (x0, y0) = (10 + (p % PER_ROW) as i32 * pw, TITLE_H + (p / PER_ROW) as i32 * ph);
        root.draw(&Text::new(name.clone(), (x0 + LEFT, y0 + 4), text.clone()))
            .map_err(|e| err(&e))?;
        for (j, label) in f.columns.iter().enumerate() {
            root.draw(&Text::new(
                label.clone(),
                (x0 + LEFT + j as i32 * CELL_W + 4, y0 + TOP - 16),
                small.clone(),
            ))
            .map_err(|e| err(&e))?;
        }
        for (i, label) in f.rows.iter().enumerate() {
            root.draw(&Text::new(
                label.clone(),
                (x0 + 2, y0 + TOP + i as i32 * CELL_H + 7),
                small.clone(),
            ))
            .map_err(|e| err(&e))?;
        }
        for (k, &v) in values.iter().enumerate() {
            let (i, j) = ((k / cols) as i32, (k % cols) as i32);
            let (cx, cy) = (x0 + LEFT + j * CELL_W, y0 + TOP + i * CELL_H);
            let colour = Colormap::Sequential.value(v, f.range);
            root.draw(&Rectangle::new(
                [(cx, cy), (cx + CELL_W - 1, cy + CELL_H - 1)],
                colour.filled(),
            ))
            .map_err(|e| err(&e))?;
            // Dark text on the light end of viridis, light text elsewhere.
            let t = (v - f.range.0) / (f.range.1 - f.range.0);
            let ink = if t > 0.6 { BLACK } else { WHITE };
            let label = if v.is_finite() { format!("{v:.0}") } else { "–".into() };
            root.draw(&Text::new(label, (cx + 4, cy + 7), small.clone().color(&ink)))
                .map_err(|e| err(&e))?;
            if f.seen[k] {
                root.draw(&Circle::new((cx + CELL_W - 8, cy + CELL_H / 2), 3, ink.filled()))
                    .map_err(|e| err(&e))?;
            }
        }
    }
    // The colour bar, with the training-task mark explained.
    let (_, h) = root.dim_in_pixel();
    let y = h as i32 - BAR_H + 12;
    let width = 300;
    for x in 0..width {
        let colour = Colormap::Sequential.at(x as f64 / (width - 1) as f64);
        root.draw(&Rectangle::new([(20 + x, y), (21 + x, y + 14)], colour.filled()))
            .map_err(|e| err(&e))?;
    }
    for (x, v) in [(20, f.range.0), (20 + width - 24, f.range.1)] {
        root.draw(&Text::new(format!("{v:.0} %"), (x, y + 18), small.clone()))
            .map_err(|e| err(&e))?;
    }
    root.draw(&Circle::new((350, y + 7), 3, BLACK.filled()))
        .map_err(|e| err(&e))?;
    root.draw(&Text::new(
        "training task; rows: rotation (degrees), columns: shift (pixels); each cell: test accuracy (%)".to_string(),
        (360, y + 1),
        text,
    ))
    .map_err(|e| err(&e))?;
    root.present().map_err(|e| err(&e))
}

/// The torus page's figures: one grid of heatmaps for the RMSprop models
/// (the CRWN's points included), one for the metric update and plain SGD
/// when trained. Returns their HTML.
pub(crate) fn grid_section(page: &Page, curves: &[(String, Vec<HeldoutCurveRow>)]) -> Result<String, ReportError> {
    let heldout = page.heldout;
    let torus = &page.pipeline.data.family.torus;
    let [rotations, shifts] = &torus[..] else {
        return Ok(String::new());
    };
    let values = |sweep: &tgsh_common::config::Sweep| -> Vec<String> {
        (0..sweep.count)
            .map(|i| format!("{}", sweep.start + i as f64 * sweep.step))
            .collect()
    };
    let (rows, columns) = (values(rotations), values(shifts));
    let n = rows.len() * columns.len();
    let seen: Vec<bool> = (0..n).map(|t| heldout.train_tasks.contains(&t)).collect();
    let panel = |name: &str| -> Option<Panel> {
        let (_, points) = curves.iter().find(|(m, _)| m == name)?;
        let mut v = vec![f64::NAN; n];
        for p in points {
            if let Some(cell) = v.get_mut(p.task as usize) {
                *cell = 100.0 * p.mean;
            }
        }
        Some((name.to_string(), v))
    };
    let names: Vec<&str> = curves.iter().map(|(m, _)| m.as_str()).collect();
    let all: Vec<Panel> = names.iter().filter_map(|m| panel(m)).collect();
    let finite = all.iter().flat_map(|p| p.1.iter().copied()).filter(|v| v.is_finite());
    let (low, high) = finite.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| (a.min(v), b.max(v)));
    if !low.is_finite() {
        return Ok(String::new());
    }
    let range = (
        (low / 5.0).floor() * 5.0,
        ((high / 5.0).ceil() * 5.0).max((low / 5.0).floor() * 5.0 + 5.0),
    );
    let mut out = String::new();
    for (stem, caption, pick) in [
        (
            "heldout_grid",
            "RMSprop models and the CRWN's points",
            &(|l: &str| !TrainedMethod::label_is_other_update(l)) as &dyn Fn(&str) -> bool,
        ),
        (
            "heldout_grid_updates",
            "the metric-preconditioned update and plain SGD",
            &TrainedMethod::label_is_other_update as &dyn Fn(&str) -> bool,
        ),
    ] {
        let panels: Vec<Panel> = all.iter().filter(|p| pick(&p.0)).cloned().collect();
        if panels.is_empty() {
            continue;
        }
        let title = format!(
            "{}: test accuracy per grid task, mean of {} seeds ({caption})",
            page.family,
            page.pipeline.train.seeds.len()
        );
        grid_heatmaps(
            &page.dir.join(stem),
            &GridHeatmaps {
                title: &title,
                panels: &panels,
                rows: &rows,
                columns: &columns,
                seen: &seen,
                range,
            },
        )
        .map_err(|e| {
            ReportError::Figure(crate::figures::FigureError::Drawing {
                path: e.path.into(),
                message: e.message,
            })
        })?;
        out.push_str(&html::figure(
            stem,
            &format!(
                "Test accuracy (%) on every (rotation, shift) task, mean over seeds, {caption}; a dot marks a training \
                 task; one colour scale ({:.0} to {:.0} %) for every panel",
                range.0, range.1
            ),
            true,
        ));
    }
    Ok(out)
}
