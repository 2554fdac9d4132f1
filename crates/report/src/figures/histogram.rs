//! Overlaid distributions: each sample as a density histogram drawn as a
//! step line over the same bins (Fig. 1a's intra vs inter similarity).

use super::lines::{chart_builder, CHART_WIDTH, LEGEND_ROW, SERIES_COLOURS};
use super::*;

struct Histograms<'a> {
    title: &'a str,
    x_label: &'a str,
    /// Per series: name and density per bin.
    densities: Vec<(String, Vec<f64>)>,
    range: (f64, f64),
    bins: usize,
    y_max: f64,
    width: u32,
    height: u32,
    legend_w: i32,
}

impl Figure for Histograms<'_> {
    fn size(&self) -> (u32, u32) {
        (self.width, self.height)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        root.fill(&WHITE).map_err(draw_err)?;
        let (chart_area, legend_area) = root.split_horizontally(self.width as i32 - self.legend_w);
        let (lo, hi) = self.range;
        let mut chart = chart_builder(&chart_area, self.title)
            .build_cartesian_2d(lo..hi, 0.0..self.y_max)
            .map_err(draw_err)?;
        chart
            .configure_mesh()
            .x_desc(self.x_label)
            .y_desc("density")
            .label_style(font(LABEL_SIZE))
            .axis_desc_style(font(DESC_SIZE))
            .bold_line_style(RGBColor(225, 225, 225))
            .light_line_style(TRANSPARENT)
            .draw()
            .map_err(draw_err)?;
        let width = (hi - lo) / self.bins as f64;
        for (k, (_, density)) in self.densities.iter().enumerate() {
            let colour = SERIES_COLOURS[k % SERIES_COLOURS.len()];
            // A closed step outline, filled lightly, then its edge.
            let mut outline = vec![(lo, 0.0)];
            for (b, &d) in density.iter().enumerate() {
                outline.push((lo + b as f64 * width, d));
                outline.push((lo + (b + 1) as f64 * width, d));
            }
            outline.push((hi, 0.0));
            chart
                .draw_series(std::iter::once(Polygon::new(
                    outline.clone(),
                    colour.mix(0.15).filled(),
                )))
                .map_err(draw_err)?;
            chart
                .draw_series(LineSeries::new(outline, colour.stroke_width(2)))
                .map_err(draw_err)?;
        }
        let top = title_height(self.title) + MARGIN + 8;
        let name_style = anchored(LABEL_SIZE, HPos::Left, VPos::Center);
        for (k, (name, _)) in self.densities.iter().enumerate() {
            let colour = SERIES_COLOURS[k % SERIES_COLOURS.len()];
            let y = top + k as i32 * LEGEND_ROW;
            legend_area
                .draw(&Rectangle::new([(8, y - 6), (36, y + 6)], colour.mix(0.4).filled()))
                .map_err(draw_err)?;
            legend_area.draw_text(name, &name_style, (44, y)).map_err(draw_err)?;
        }
        Ok(())
    }
}

/// Draws each named sample as a density histogram (area 1) over `bins`
/// equal bins spanning `range`, overlaid in distinct colours with a legend,
/// and writes `<stem>.png` and `<stem>.svg`. Values outside `range` are
/// counted in the end bins.
///
/// # Errors
/// [`FigureError::InvalidInput`] (nothing written) if there is no series,
/// a series is empty or holds a NaN/infinite value, `bins` is 0, or `range`
/// is not finite with low < high; otherwise [`FigureError::Drawing`] or
/// [`FigureError::Io`].
pub fn histograms(
    stem: &Path,
    title: &str,
    x_label: &str,
    series: &[(String, Vec<f64>)],
    bins: usize,
    range: (f64, f64),
) -> Result<(), FigureError> {
    font_ready(stem)?;
    if series.is_empty() || bins == 0 {
        return Err(invalid("histograms need at least one series and one bin"));
    }
    if !(range.0.is_finite() && range.1.is_finite() && range.0 < range.1) {
        return Err(invalid(format!(
            "histogram range ({}, {}) must be finite with low < high",
            range.0, range.1
        )));
    }
    let width = (range.1 - range.0) / bins as f64;
    let mut densities = Vec::new();
    for (name, values) in series {
        if values.is_empty() || values.iter().any(|v| !v.is_finite()) {
            return Err(invalid(format!(
                "histogram series {name:?} is empty or has a NaN/infinite value"
            )));
        }
        let mut counts = vec![0usize; bins];
        for &v in values {
            let b = (((v - range.0) / width).floor().max(0.0) as usize).min(bins - 1);
            counts[b] += 1;
        }
        let total = values.len() as f64 * width;
        densities.push((
            name.clone(),
            counts.into_iter().map(|c| c as f64 / total).collect::<Vec<_>>(),
        ));
    }
    let y_max = densities
        .iter()
        .flat_map(|(_, d)| d.iter().copied())
        .fold(0.0f64, f64::max)
        .max(1e-12)
        * 1.08;
    let names: Vec<String> = series.iter().map(|(n, _)| n.clone()).collect();
    let legend_w = max_text_width(LABEL_SIZE, &names) + 60;
    let (width, height) = check_canvas((CHART_WIDTH + legend_w) as i64, 480)?;
    let fig = Histograms {
        title,
        x_label,
        densities,
        range,
        bins,
        y_max,
        width,
        height,
        legend_w,
    };
    write_figure(stem, &fig)
}
