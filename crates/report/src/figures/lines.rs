//! Line charts over categorical x positions, with a legend beside them.

use super::*;
use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint};
use plotters::coord::types::RangedCoordf64;

/// Tableau's ten categorical colours, distinguishable for most readers.
pub(crate) const SERIES_COLOURS: [RGBColor; 10] = [
    RGBColor(0x1f, 0x77, 0xb4),
    RGBColor(0xff, 0x7f, 0x0e),
    RGBColor(0x2c, 0xa0, 0x2c),
    RGBColor(0xd6, 0x27, 0x28),
    RGBColor(0x94, 0x67, 0xbd),
    RGBColor(0x8c, 0x56, 0x4b),
    RGBColor(0xe3, 0x77, 0xc2),
    RGBColor(0x7f, 0x7f, 0x7f),
    RGBColor(0xbc, 0xbd, 0x22),
    RGBColor(0x17, 0xbe, 0xcf),
];

pub(super) const CHART_WIDTH: i32 = 900;
pub(super) const Y_LABEL_AREA: i32 = 70;
pub(super) const X_LABEL_AREA: i32 = 56;
pub(super) const LEGEND_ROW: i32 = 22;
/// Beyond this many x positions markers would merge into a smear.
pub(super) const MAX_MARKED_POINTS: usize = 40;

pub(super) struct LineChart<'a> {
    pub(super) title: &'a str,
    pub(super) x_label: &'a str,
    pub(super) y_label: &'a str,
    pub(super) x_ticks: &'a [String],
    pub(super) series: &'a [(String, Vec<f64>)],
    pub(super) y_range: (f64, f64),
    pub(super) width: u32,
    pub(super) height: u32,
    pub(super) legend_w: i32,
    pub(super) stride: usize,
    /// Per series, an interval `(low, high)` drawn as a shaded band.
    pub(super) bands: Vec<Option<(Vec<f64>, Vec<f64>)>>,
}

impl<'a> LineChart<'a> {
    pub(super) fn new(
        title: &'a str,
        x_label: &'a str,
        y_label: &'a str,
        x_ticks: &'a [String],
        series: &'a [(String, Vec<f64>)],
        y_range: Option<(f64, f64)>,
    ) -> Result<Self, FigureError> {
        let len = x_ticks.len();
        if len == 0 {
            return Err(invalid("line chart has no x positions (x_ticks is empty)"));
        }
        for (name, ys) in series {
            if ys.len() != len {
                return Err(invalid(format!(
                    "line chart series {name:?} has {} values for {len} x ticks",
                    ys.len()
                )));
            }
            if let Some(i) = ys.iter().position(|v| !v.is_finite()) {
                return Err(invalid(format!(
                    "line chart series {name:?} value at x index {i} ({:?}) is {}",
                    x_ticks[i], ys[i]
                )));
            }
        }
        let y_range = match y_range {
            Some((lo, hi)) => {
                if !(lo.is_finite() && hi.is_finite() && lo < hi) {
                    return Err(invalid(format!(
                        "line chart y range ({lo}, {hi}) must be finite with low < high"
                    )));
                }
                (lo, hi)
            }
            None => auto_range(series),
        };
        let legend_w = if series.is_empty() {
            0
        } else {
            let names: Vec<String> = series.iter().map(|(n, _)| n.clone()).collect();
            max_text_width(LABEL_SIZE, &names) + 60
        };
        let plot_w = CHART_WIDTH - 2 * MARGIN - Y_LABEL_AREA - 10;
        let stride = label_stride(max_text_width(LABEL_SIZE, x_ticks) + 12, plot_w as f64 / len as f64);
        let legend_h = 70 + LEGEND_ROW * series.len() as i32;
        let (width, height) = check_canvas((CHART_WIDTH + legend_w) as i64, legend_h.max(520) as i64)?;
        Ok(Self {
            title,
            x_label,
            y_label,
            x_ticks,
            series,
            y_range,
            width,
            height,
            legend_w,
            stride,
            bands: Vec::new(),
        })
    }
}

/// X axis over categorical positions `0..len` (with half a slot of padding
/// on each side) whose ticks sit exactly on every `stride`-th position;
/// plotters' own f64 axis would pick "nice" fractional ticks instead.
pub(super) struct CategoryAxis {
    pub(super) inner: RangedCoordf64,
    pub(super) len: usize,
    pub(super) stride: usize,
}

impl CategoryAxis {
    pub(super) fn new(len: usize, stride: usize) -> Self {
        Self {
            inner: (-0.5..len as f64 - 0.5).into(),
            len,
            stride,
        }
    }
}

impl Ranged for CategoryAxis {
    // Labels come from the caller's formatter; the default one is unused.
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        self.inner.map(value, limit)
    }

    fn key_points<Hint: KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        if hint.weight().allow_light_points() {
            Vec::new()
        } else {
            (0..self.len).step_by(self.stride).map(|i| i as f64).collect()
        }
    }

    fn range(&self) -> std::ops::Range<f64> {
        self.inner.range()
    }
}

/// Data range padded by 5% so lines do not run along the frame.
pub(super) fn auto_range(series: &[(String, Vec<f64>)]) -> (f64, f64) {
    let values = series.iter().flat_map(|(_, ys)| ys.iter().copied());
    let (lo, hi) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| (lo.min(v), hi.max(v)));
    if !(lo.is_finite() && hi.is_finite()) {
        return (0.0, 1.0);
    }
    if hi - lo < 1e-12 * lo.abs().max(1.0) {
        return (lo - 0.5, hi + 0.5);
    }
    let pad = (hi - lo) * 0.05;
    (lo - pad, hi + pad)
}

/// A chart builder on `area` with the figures' common title, margin and
/// axis-label areas.
pub(super) fn chart_builder<'a, 'b, DB: DrawingBackend>(
    area: &'a DrawingArea<DB, Shift>,
    title: &'b str,
) -> ChartBuilder<'a, 'b, DB> {
    let mut builder = ChartBuilder::on(area);
    if !title.is_empty() {
        builder.caption(title, font(TITLE_SIZE));
    }
    builder
        .margin(MARGIN)
        .x_label_area_size(X_LABEL_AREA)
        .y_label_area_size(Y_LABEL_AREA);
    builder
}

impl Figure for LineChart<'_> {
    fn size(&self) -> (u32, u32) {
        (self.width, self.height)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        root.fill(&WHITE).map_err(draw_err)?;
        let (chart_area, legend_area) = root.split_horizontally(self.width as i32 - self.legend_w);
        let len = self.x_ticks.len();
        let (lo, hi) = self.y_range;

        let mut chart = chart_builder(&chart_area, self.title)
            .build_cartesian_2d(CategoryAxis::new(len, self.stride), lo..hi)
            .map_err(draw_err)?;
        let tick_name = |x: &f64| {
            let i = x.round();
            if i >= 0.0 {
                self.x_ticks.get(i as usize).cloned().unwrap_or_default()
            } else {
                String::new()
            }
        };
        chart
            .configure_mesh()
            .x_desc(self.x_label)
            .y_desc(self.y_label)
            .x_label_formatter(&tick_name)
            .label_style(font(LABEL_SIZE))
            .axis_desc_style(font(DESC_SIZE))
            .bold_line_style(RGBColor(225, 225, 225))
            .light_line_style(TRANSPARENT)
            .draw()
            .map_err(draw_err)?;

        // Values are clamped so a caller-supplied range never lets lines
        // spill over the axes.
        let clamp = |v: f64| v.clamp(lo, hi);
        let markers = len <= MAX_MARKED_POINTS;
        // Bands first, so every line stays visible on top of them.
        for (k, band) in self.bands.iter().enumerate() {
            let Some((low, high)) = band else { continue };
            let colour = SERIES_COLOURS[k % SERIES_COLOURS.len()];
            let mut outline: Vec<(f64, f64)> = high.iter().enumerate().map(|(i, &v)| (i as f64, clamp(v))).collect();
            outline.extend(low.iter().enumerate().rev().map(|(i, &v)| (i as f64, clamp(v))));
            chart
                .draw_series(std::iter::once(Polygon::new(outline, colour.mix(0.18).filled())))
                .map_err(draw_err)?;
        }
        for (k, (_, ys)) in self.series.iter().enumerate() {
            let colour = SERIES_COLOURS[k % SERIES_COLOURS.len()];
            let points: Vec<(f64, f64)> = ys.iter().enumerate().map(|(i, &v)| (i as f64, clamp(v))).collect();
            chart
                .draw_series(LineSeries::new(points.clone(), colour.stroke_width(2)))
                .map_err(draw_err)?;
            if markers {
                chart
                    .draw_series(points.into_iter().map(|p| Circle::new(p, 3, colour.filled())))
                    .map_err(draw_err)?;
            }
        }

        // The legend gets its own column so it never hides data.
        let top = title_height(self.title) + MARGIN + 8;
        let name_style = anchored(LABEL_SIZE, HPos::Left, VPos::Center);
        for (k, (name, _)) in self.series.iter().enumerate() {
            let colour = SERIES_COLOURS[k % SERIES_COLOURS.len()];
            let y = top + k as i32 * LEGEND_ROW;
            legend_area
                .draw(&PathElement::new(vec![(8, y), (36, y)], colour.stroke_width(2)))
                .map_err(draw_err)?;
            if markers {
                legend_area
                    .draw(&Circle::new((22, y), 3, colour.filled()))
                    .map_err(draw_err)?;
            }
            legend_area.draw_text(name, &name_style, (44, y)).map_err(draw_err)?;
        }
        Ok(())
    }
}

/// Draws named series over the categorical x positions `0..x_ticks.len()`
/// (tick `i` labels position `i`) with a legend on the right, and writes
/// `<stem>.png` and `<stem>.svg`.
///
/// Every series must have exactly `x_ticks.len()` values. With
/// `y_range = None` the axis spans the data plus 5%; with `Some((lo, hi))`
/// values outside it are drawn at its edge. Colours cycle through ten after
/// ten series; point markers are drawn only for at most 40 x positions, and
/// tick labels are thinned when they would collide. An empty `series` gives
/// empty axes.
///
/// # Errors
/// [`FigureError::InvalidInput`] (nothing written) if `x_ticks` is empty, a
/// series has the wrong length or a NaN/infinite value, or `y_range` is not
/// finite with `lo < hi`; otherwise [`FigureError::Drawing`] or
/// [`FigureError::Io`].
pub fn line_chart(
    stem: &Path,
    title: &str,
    x_label: &str,
    y_label: &str,
    x_ticks: &[String],
    series: &[(String, Vec<f64>)],
    y_range: Option<(f64, f64)>,
) -> Result<(), FigureError> {
    font_ready(stem)?;
    let fig = LineChart::new(title, x_label, y_label, x_ticks, series, y_range)?;
    write_figure(stem, &fig)
}
