//! Labelled scatter plots side by side, each point joined to the next in
//! order and the last to the first (the contexts' PCA: does task order
//! trace a loop?).

use super::lines::{chart_builder, SERIES_COLOURS};
use super::*;

/// One panel of a [`scatter_panels`] figure.
#[derive(Debug, Clone, PartialEq)]
pub struct Panel {
    /// The panel's title.
    pub title: String,
    /// The points, in order.
    pub points: Vec<(f64, f64)>,
    /// One label per point (drawn for at most 18 points, thinned evenly).
    pub labels: Vec<String>,
}

const PANEL_SIDE: i32 = 520;
const MAX_LABELS: usize = 18;

struct Scatter<'a> {
    title: &'a str,
    x_label: &'a str,
    y_label: &'a str,
    panels: &'a [Panel],
    closed: bool,
}

fn padded(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| (lo.min(v), hi.max(v)));
    if !(lo.is_finite() && hi.is_finite()) {
        return (-1.0, 1.0);
    }
    let pad = ((hi - lo) * 0.08).max(1e-9 * lo.abs().max(1.0));
    (lo - pad, hi + pad)
}

impl Figure for Scatter<'_> {
    fn size(&self) -> (u32, u32) {
        (
            (PANEL_SIDE * self.panels.len().max(1) as i32) as u32,
            (PANEL_SIDE + title_height(self.title)) as u32,
        )
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        root.fill(&WHITE).map_err(draw_err)?;
        let (width, _) = self.size();
        draw_title(root, self.title, width)?;
        let (_, body) = root.split_vertically(title_height(self.title));
        let areas = body.split_evenly((1, self.panels.len().max(1)));
        for (panel, area) in self.panels.iter().zip(&areas) {
            let (x0, x1) = padded(panel.points.iter().map(|p| p.0));
            let (y0, y1) = padded(panel.points.iter().map(|p| p.1));
            let mut chart = chart_builder(area, &panel.title)
                .build_cartesian_2d(x0..x1, y0..y1)
                .map_err(draw_err)?;
            chart
                .configure_mesh()
                .x_desc(self.x_label)
                .y_desc(self.y_label)
                .label_style(font(LABEL_SIZE))
                .axis_desc_style(font(DESC_SIZE))
                .bold_line_style(RGBColor(230, 230, 230))
                .light_line_style(TRANSPARENT)
                .draw()
                .map_err(draw_err)?;
            let mut path = panel.points.clone();
            if self.closed && path.len() > 2 {
                path.push(path[0]);
            }
            chart
                .draw_series(LineSeries::new(path, RGBColor(160, 160, 160).stroke_width(1)))
                .map_err(draw_err)?;
            let n = panel.points.len();
            // Colour runs through the order, so the direction of travel shows.
            chart
                .draw_series(panel.points.iter().enumerate().map(|(k, &p)| {
                    let colour = Colormap::Sequential.at(k as f64 / n.saturating_sub(1).max(1) as f64);
                    Circle::new(p, 5, colour.filled())
                }))
                .map_err(draw_err)?;
            let stride = n.div_ceil(MAX_LABELS).max(1);
            let style = anchored(LABEL_SIZE, HPos::Left, VPos::Bottom).color(&SERIES_COLOURS[7]);
            for (k, (&p, label)) in panel.points.iter().zip(&panel.labels).enumerate() {
                if k % stride == 0 {
                    chart
                        .draw_series(std::iter::once(Text::new(label.clone(), p, style.clone())))
                        .map_err(draw_err)?;
                }
            }
        }
        Ok(())
    }
}

/// Draws each [`Panel`] as a scatter with its own axes, side by side under
/// `title`, points coloured along their order (viridis) and joined in order
/// (and closed into a loop when `closed`), and writes `<stem>.png` and
/// `<stem>.svg`.
///
/// # Errors
/// [`FigureError::InvalidInput`] (nothing written) if there is no panel, a
/// panel's labels do not match its points, or a coordinate is not finite;
/// otherwise [`FigureError::Drawing`] or [`FigureError::Io`].
pub fn scatter_panels(
    stem: &Path,
    title: &str,
    x_label: &str,
    y_label: &str,
    panels: &[Panel],
    closed: bool,
) -> Result<(), FigureError> {
    font_ready(stem)?;
    if panels.is_empty() {
        return Err(invalid("scatter figure has no panel"));
    }
    for p in panels {
        if p.labels.len() != p.points.len() {
            return Err(invalid(format!(
                "scatter panel {:?}: {} labels for {} points",
                p.title,
                p.labels.len(),
                p.points.len()
            )));
        }
        if p.points.iter().any(|(x, y)| !(x.is_finite() && y.is_finite())) {
            return Err(invalid(format!("scatter panel {:?} has a non-finite point", p.title)));
        }
    }
    write_figure(
        stem,
        &Scatter {
            title,
            x_label,
            y_label,
            panels,
            closed,
        },
    )
}
