//! The held-out page's figure: test accuracy as a function of the task
//! variable, one curve per method, the training tasks marked, written as
//! `<stem>.png` and `<stem>.svg`.
//!
//! The x axis is numeric (degrees or pixels), unlike the categorical axis
//! of [`crate::figures::line_chart`]: the training tasks are drawn as grey
//! vertical lines (and a dot on each curve), the extrapolated tasks on a
//! shaded band, so seen and unseen read at a glance. The legend sits right
//! of the plot, where it hides no curve.

use crate::figures::SERIES_COLOURS as COLOURS;
use plotters::prelude::*;
use std::path::Path;

/// Width of the legend column right of the plot, in pixels.
const LEGEND_WIDTH: u32 = 190;
/// The colour of the training-task lines and of the extrapolated band.
const SEEN: RGBColor = RGBColor(0xbb, 0xbb, 0xbb);
const BAND: RGBColor = RGBColor(0xfd, 0xe7, 0xd9);

/// A curve: its name and `(x, accuracy in %)` points, in x order.
pub type Curve = (String, Vec<(f64, f64)>);

/// What the figure shows.
pub struct AccuracyCurves<'a> {
    /// Title.
    pub title: &'a str,
    /// The x axis' label, e.g. `rotation (degrees)`.
    pub x_label: &'a str,
    /// The x range, e.g. `(0, 360)`.
    pub x_range: (f64, f64),
    /// The curves.
    pub curves: &'a [Curve],
    /// x of the training tasks.
    pub seen: &'a [f64],
    /// x of the extrapolated tasks (shaded), if any.
    pub extrapolated: &'a [f64],
    /// The spacing of the task grid (the shading's cell width).
    pub step: f64,
}

/// A figure could not be drawn or written.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {message}")]
pub struct CurveError {
    /// The file.
    pub path: String,
    /// What went wrong.
    pub message: String,
}

/// Draws `figure` into `<stem>.png` and `<stem>.svg` (each written to a
/// temporary file and renamed into place).
pub fn accuracy_curves(stem: &Path, figure: &AccuracyCurves<'_>) -> Result<(), CurveError> {
    write(stem, figure)
}

/// The shared figure writer, its error named by `stem`.
fn write<F: crate::figures::Figure>(stem: &Path, figure: &F) -> Result<(), CurveError> {
    let fail = |e: &dyn std::fmt::Display| CurveError {
        path: stem.display().to_string(),
        message: e.to_string(),
    };
    crate::figures::ensure_font().map_err(|e| fail(&e))?;
    crate::figures::write_figure(stem, figure).map_err(|e| fail(&e))
}

impl crate::figures::Figure for AccuracyCurves<'_> {
    fn size(&self) -> (u32, u32) {
        (1000 + LEGEND_WIDTH, 560)
    }
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, plotters::coord::Shift>) -> Result<(), String> {
        draw(root.clone(), self)
    }
}

fn draw<DB: DrawingBackend>(
    root: DrawingArea<DB, plotters::coord::Shift>,
    f: &AccuracyCurves<'_>,
) -> Result<(), String> {
    let err = |e: &dyn std::fmt::Display| e.to_string();
    root.fill(&WHITE).map_err(|e| err(&e))?;
    let (width, _) = root.dim_in_pixel();
    let (root, legend) = root.split_horizontally(width.saturating_sub(LEGEND_WIDTH));
    let values = f.curves.iter().flat_map(|c| c.1.iter().map(|p| p.1));
    let low = values.fold(f64::INFINITY, f64::min);
    // The y axis starts at a round 10 % below the worst point (at most 0).
    let y_low = if low.is_finite() {
        ((low - 2.0) / 10.0).floor().max(0.0) * 10.0
    } else {
        0.0
    };
    let (x0, x1) = f.x_range;
    let mut chart = ChartBuilder::on(&root)
        .caption(f.title, ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(44)
        .y_label_area_size(56)
        .right_y_label_area_size(0)
        .build_cartesian_2d(x0..x1, y_low..100.0)
        .map_err(|e| err(&e))?;
    chart
        .configure_mesh()
        .x_desc(f.x_label)
        .y_desc("test accuracy (%)")
        .label_style(("sans-serif", 13))
        .axis_desc_style(("sans-serif", 15))
        .light_line_style(WHITE.mix(0.0))
        .draw()
        .map_err(|e| err(&e))?;
    // Extrapolated tasks: a light band per task cell.
    let half = f.step / 2.0;
    chart
        .draw_series(f.extrapolated.iter().map(|&x| {
            Rectangle::new(
                [((x - half).max(x0), y_low), ((x + half).min(x1), 100.0)],
                BAND.filled(),
            )
        }))
        .map_err(|e| err(&e))?;
    // Training tasks: grey vertical lines.
    chart
        .draw_series(
            f.seen
                .iter()
                .map(|&x| PathElement::new(vec![(x, y_low), (x, 100.0)], SEEN.stroke_width(1))),
        )
        .map_err(|e| err(&e))?;
    for (i, (_, points)) in f.curves.iter().enumerate() {
        let colour = COLOURS[i % COLOURS.len()];
        chart
            .draw_series(LineSeries::new(points.iter().copied(), colour.stroke_width(2)))
            .map_err(|e| err(&e))?;
        chart
            .draw_series(
                points
                    .iter()
                    .filter(|p| f.seen.iter().any(|&s| (s - p.0).abs() < 1e-9))
                    .map(|&p| Circle::new(p, 3, colour.filled())),
            )
            .map_err(|e| err(&e))?;
    }
    // The legend, one entry per line: the markings, then the curves.
    let text = ("sans-serif", 13).into_font();
    let mut y = 56;
    let mut entry = |name: &str, key: &dyn Fn(i32) -> Result<(), String>| -> Result<(), String> {
        key(y)?;
        legend
            .draw(&Text::new(name.to_string(), (40, y - 8), text.clone()))
            .map_err(|e| err(&e))?;
        y += 22;
        Ok(())
    };
    entry("training task", &|y| {
        legend
            .draw(&PathElement::new(vec![(18, y - 8), (18, y + 8)], SEEN.stroke_width(2)))
            .map_err(|e| err(&e))
    })?;
    if !f.extrapolated.is_empty() {
        entry("extrapolated", &|y| {
            legend
                .draw(&Rectangle::new([(8, y - 7), (30, y + 7)], BAND.filled()))
                .map_err(|e| err(&e))
        })?;
    }
    for (i, (name, _)) in f.curves.iter().enumerate() {
        let colour = COLOURS[i % COLOURS.len()];
        entry(name, &|y| {
            legend
                .draw(&PathElement::new(vec![(6, y), (32, y)], colour.stroke_width(2)))
                .map_err(|e| err(&e))
        })?;
    }
    // Both areas share one backend: presenting one writes the file.
    root.present().map_err(|e| err(&e))
}

/// A line with more points than this is drawn without dots.
const MAX_MARKED: usize = 40;

/// One series of an [`XyChart`]: a line through its points (with a dot on
/// each), or dots alone.
pub struct XySeries {
    /// The legend's name.
    pub name: String,
    /// `(x, y)` points, drawn in order.
    pub points: Vec<(f64, f64)>,
    /// Whether the points are joined by a line.
    pub line: bool,
}

/// A plain x-y figure: the capacity ladder (accuracy against parameters),
/// the learning curves (validation accuracy against epoch) and the
/// manifold pictures (contexts in a PCA plane).
pub struct XyChart<'a> {
    /// Title.
    pub title: &'a str,
    /// The x axis' label.
    pub x_label: &'a str,
    /// The y axis' label.
    pub y_label: &'a str,
    /// The series; colours cycle.
    pub series: &'a [XySeries],
}

/// Draws `figure` into `<stem>.png` and `<stem>.svg`; the axes span the
/// finite points plus 5 %.
pub fn xy_chart(stem: &Path, figure: &XyChart<'_>) -> Result<(), CurveError> {
    write(stem, figure)
}

impl crate::figures::Figure for XyChart<'_> {
    fn size(&self) -> (u32, u32) {
        (760 + LEGEND_WIDTH, 520)
    }
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, plotters::coord::Shift>) -> Result<(), String> {
        draw_xy(root.clone(), self)
    }
}

/// `(low, high)` of `values` plus 5 % each side (a unit span when flat or empty).
fn padded(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) = values
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| (a.min(v), b.max(v)));
    if !(lo.is_finite() && hi.is_finite()) {
        return (0.0, 1.0);
    }
    let pad = if hi > lo { 0.05 * (hi - lo) } else { 0.5 };
    (lo - pad, hi + pad)
}

fn draw_xy<DB: DrawingBackend>(root: DrawingArea<DB, plotters::coord::Shift>, f: &XyChart<'_>) -> Result<(), String> {
    let err = |e: &dyn std::fmt::Display| e.to_string();
    root.fill(&WHITE).map_err(|e| err(&e))?;
    let (width, _) = root.dim_in_pixel();
    let (root, legend) = root.split_horizontally(width.saturating_sub(LEGEND_WIDTH));
    let all = || f.series.iter().flat_map(|s| s.points.iter());
    let (x0, x1) = padded(all().map(|p| p.0));
    let (y0, y1) = padded(all().map(|p| p.1));
    let mut chart = ChartBuilder::on(&root)
        .caption(f.title, ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(44)
        .y_label_area_size(60)
        .build_cartesian_2d(x0..x1, y0..y1)
        .map_err(|e| err(&e))?;
    chart
        .configure_mesh()
        .x_desc(f.x_label)
        .y_desc(f.y_label)
        .label_style(("sans-serif", 13))
        .axis_desc_style(("sans-serif", 15))
        .light_line_style(WHITE.mix(0.0))
        .draw()
        .map_err(|e| err(&e))?;
    let finite: Vec<Vec<(f64, f64)>> = f
        .series
        .iter()
        .map(|s| {
            s.points
                .iter()
                .copied()
                .filter(|p| p.0.is_finite() && p.1.is_finite())
                .collect()
        })
        .collect();
    for (i, (series, points)) in f.series.iter().zip(&finite).enumerate() {
        let colour = COLOURS[i % COLOURS.len()];
        if series.line {
            chart
                .draw_series(LineSeries::new(points.iter().copied(), colour.stroke_width(2)))
                .map_err(|e| err(&e))?;
        }
        // Dots mark the points of a short line (epochs, ladder rungs); a
        // densely sampled curve is drawn as a line alone.
        if !series.line || points.len() <= MAX_MARKED {
            let radius = if series.line { 3 } else { 5 };
            chart
                .draw_series(points.iter().map(|&p| Circle::new(p, radius, colour.filled())))
                .map_err(|e| err(&e))?;
        }
    }
    let text = ("sans-serif", 13).into_font();
    for (i, series) in f.series.iter().enumerate() {
        let colour = COLOURS[i % COLOURS.len()];
        let y = 56 + 22 * i as i32;
        if series.line {
            legend
                .draw(&PathElement::new(vec![(6, y), (32, y)], colour.stroke_width(2)))
                .map_err(|e| err(&e))?;
        }
        legend
            .draw(&Circle::new((19, y), if series.line { 3 } else { 5 }, colour.filled()))
            .map_err(|e| err(&e))?;
        legend
            .draw(&Text::new(series.name.clone(), (40, y - 8), text.clone()))
            .map_err(|e| err(&e))?;
    }
    root.present().map_err(|e| err(&e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xy_charts_are_written_with_every_series_in_the_legend() {
        let dir = std::env::temp_dir().join(format!("tgsh-xy-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let series = [
            XySeries {
                name: "fourier".into(),
                points: vec![(3.0, 80.0), (5.0, 85.0), (7.0, f64::NAN)],
                line: true,
            },
            XySeries {
                name: "points-interp".into(),
                points: vec![(18.0, 90.0)],
                line: false,
            },
        ];
        let stem = dir.join("xy");
        xy_chart(
            &stem,
            &XyChart {
                title: "ladder",
                x_label: "parameters / H",
                y_label: "accuracy (%)",
                series: &series,
            },
        )
        .unwrap();
        let svg = std::fs::read_to_string(dir.join("xy.svg")).unwrap();
        assert!(svg.contains("fourier") && svg.contains("points-interp"));
        assert!(dir.join("xy.png").exists());
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn curves_are_written_as_png_and_svg() {
        let dir = std::env::temp_dir().join(format!("tgsh-curves-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let curve = |name: &str, offset: f64| -> Curve {
            (
                name.into(),
                (0..8).map(|i| (i as f64 * 45.0, 80.0 + offset + i as f64)).collect(),
            )
        };
        let stem = dir.join("curves");
        accuracy_curves(
            &stem,
            &AccuracyCurves {
                title: "test",
                x_label: "rotation (degrees)",
                x_range: (0.0, 360.0),
                curves: &[curve("circle", 0.0), curve("input", -5.0)],
                seen: &[0.0, 90.0],
                extrapolated: &[180.0, 225.0],
                step: 45.0,
            },
        )
        .unwrap();
        let svg = std::fs::read_to_string(dir.join("curves.svg")).unwrap();
        assert!(svg.contains("circle") && svg.contains("training task"));
        assert!(dir.join("curves.png").exists());
        std::fs::remove_dir_all(dir).unwrap();
    }
}
