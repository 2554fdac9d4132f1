//! Report figures (heatmaps, line charts, image grids), each written as
//! `<stem>.png` and `<stem>.svg`.
//!
//! Text is drawn with DejaVu Sans embedded in the binary, so rendering never
//! needs a system font library. Every figure is drawn by one generic routine
//! for both backends (and for an in-memory bitmap in the tests), and written
//! to hidden temporary siblings that are renamed into place only once both
//! files are complete.

use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint};
use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::register_font;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// Bytes of DejaVu Sans, shipped with the crate so no font lookup happens.
static FONT_BYTES: &[u8] = include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/assets/DejaVuSans.ttf"));

const TITLE_SIZE: f64 = 20.0;
const LABEL_SIZE: f64 = 13.0;
const DESC_SIZE: f64 = 15.0;
const MARGIN: i32 = 12;
/// Largest canvas side we agree to allocate; beyond this the input is
/// almost certainly a mistake and the bitmap would take gigabytes.
const MAX_SIDE: i64 = 32_768;

/// Why a figure could not be written.
#[derive(Debug, thiserror::Error)]
pub enum FigureError {
    /// The inputs do not describe a drawable figure; nothing was written.
    #[error("invalid figure input: {0}")]
    InvalidInput(String),
    /// Plotters failed while drawing or encoding the figure.
    #[error("drawing {} failed: {message}", .path.display())]
    Drawing {
        /// The output file being drawn.
        path: PathBuf,
        /// The backend's description of the failure.
        message: String,
    },
    /// Creating, writing or renaming a file failed.
    #[error("I/O error on {}: {source}", .path.display())]
    Io {
        /// The file or directory involved.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
}

fn invalid(msg: impl Into<String>) -> FigureError {
    FigureError::InvalidInput(msg.into())
}

// ---------------------------------------------------------------------------
// Shared machinery
// ---------------------------------------------------------------------------

/// Registers the embedded font under the generic family name that every
/// style here uses; plotters' ab_glyph backend knows no other fonts.
fn ensure_font() -> Result<(), String> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok = *REGISTERED.get_or_init(|| register_font("sans-serif", FontStyle::Normal, FONT_BYTES).is_ok());
    if ok {
        Ok(())
    } else {
        Err("the embedded DejaVu Sans font could not be registered".to_string())
    }
}

fn font(size: f64) -> FontDesc<'static> {
    FontDesc::new(FontFamily::SansSerif, size, FontStyle::Normal)
}

/// Pixel width of `s`; a rough estimate if measuring fails so layout still
/// proceeds (drawing would report the real font error).
fn text_width(size: f64, s: &str) -> i32 {
    match font(size).box_size(s) {
        Ok((w, _)) => w as i32,
        Err(_) => (s.chars().count() as f64 * size * 0.6).ceil() as i32,
    }
}

fn max_text_width(size: f64, texts: &[String]) -> i32 {
    texts.iter().map(|s| text_width(size, s)).max().unwrap_or(0)
}

fn anchored(size: f64, h: HPos, v: VPos) -> TextStyle<'static> {
    TextStyle::from(font(size)).pos(Pos::new(h, v))
}

/// Smallest label step such that labels `extent` pixels long fit in slots
/// `slot` pixels apart.
fn label_stride(extent: i32, slot: f64) -> usize {
    if slot <= 0.0 {
        return 1;
    }
    ((extent as f64 / slot).ceil() as usize).max(1)
}

fn check_canvas(width: i64, height: i64) -> Result<(u32, u32), FigureError> {
    if width > MAX_SIDE || height > MAX_SIDE {
        return Err(invalid(format!(
            "figure would be {width}x{height} pixels, more than {MAX_SIDE} on a side"
        )));
    }
    Ok((width.max(1) as u32, height.max(1) as u32))
}

fn draw_err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

/// A laid-out figure that can be drawn onto any plotters backend, so the
/// PNG, the SVG and the tests' in-memory bitmap share one drawing routine.
trait Figure {
    fn size(&self) -> (u32, u32);
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String>;
}

fn with_suffix(stem: &Path, suffix: &str) -> PathBuf {
    // Appending (not `with_extension`) keeps stems such as `fig.v1` intact.
    let mut s: OsString = stem.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

/// Hidden sibling of `target` that keeps its extension, because the PNG
/// encoder picks the format from the extension.
fn temp_sibling(target: &Path, ext: &str) -> PathBuf {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let name = target
        .file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    target.with_file_name(format!(".{name}.{}-{n}.tmp.{ext}", std::process::id()))
}

fn render_png<F: Figure>(path: &Path, fig: &F) -> Result<(), String> {
    let root = BitMapBackend::new(path, fig.size()).into_drawing_area();
    fig.draw(&root)?;
    root.present().map_err(draw_err)
}

fn render_svg<F: Figure>(fig: &F) -> Result<String, String> {
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, fig.size()).into_drawing_area();
        fig.draw(&root)?;
        root.present().map_err(draw_err)?;
    }
    Ok(out)
}

fn write_figure<F: Figure>(stem: &Path, fig: &F) -> Result<(), FigureError> {
    let png = with_suffix(stem, ".png");
    let svg = with_suffix(stem, ".svg");
    if let Some(parent) = stem.parent().filter(|p| !p.as_os_str().is_empty()) {
        fs::create_dir_all(parent).map_err(|source| FigureError::Io {
            path: parent.to_path_buf(),
            source,
        })?;
    }
    let png_tmp = temp_sibling(&png, "png");
    let svg_tmp = temp_sibling(&svg, "svg");
    let result = (|| {
        render_png(&png_tmp, fig).map_err(|message| FigureError::Drawing {
            path: png.clone(),
            message,
        })?;
        let text = render_svg(fig).map_err(|message| FigureError::Drawing {
            path: svg.clone(),
            message,
        })?;
        fs::write(&svg_tmp, text).map_err(|source| FigureError::Io {
            path: svg_tmp.clone(),
            source,
        })?;
        fs::rename(&png_tmp, &png).map_err(|source| FigureError::Io {
            path: png.clone(),
            source,
        })?;
        fs::rename(&svg_tmp, &svg).map_err(|source| FigureError::Io {
            path: svg.clone(),
            source,
        })
    })();
    if result.is_err() {
        // Best effort: a leftover temporary is harmless but untidy.
        let _ = fs::remove_file(&png_tmp);
        let _ = fs::remove_file(&svg_tmp);
    }
    result
}

fn font_ready(stem: &Path) -> Result<(), FigureError> {
    ensure_font().map_err(|message| FigureError::Drawing {
        path: stem.to_path_buf(),
        message,
    })
}

fn draw_title<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, title: &str, width: u32) -> Result<(), String> {
    if title.is_empty() {
        return Ok(());
    }
    let style = anchored(TITLE_SIZE, HPos::Center, VPos::Top);
    root.draw_text(title, &style, (width as i32 / 2, MARGIN))
        .map_err(draw_err)
}

fn title_height(title: &str) -> i32 {
    if title.is_empty() {
        0
    } else {
        TITLE_SIZE as i32 + 16
    }
}

// ---------------------------------------------------------------------------
// Colour map
// ---------------------------------------------------------------------------

/// Viridis sampled at t = 0, 0.1, ..., 1 (matplotlib's values); perceptually
/// uniform and readable in grayscale, which suits similarity matrices.
const VIRIDIS: [(u8, u8, u8); 11] = [
    (0x44, 0x01, 0x54),
    (0x48, 0x24, 0x75),
    (0x41, 0x44, 0x87),
    (0x35, 0x5f, 0x8d),
    (0x2a, 0x78, 0x8e),
    (0x21, 0x91, 0x8c),
    (0x22, 0xa8, 0x84),
    (0x44, 0xbf, 0x70),
    (0x7a, 0xd1, 0x51),
    (0xbd, 0xdf, 0x26),
    (0xfd, 0xe7, 0x25),
];

/// Viridis at `t`, clamped into [0, 1], interpolated linearly between the
/// control points.
fn viridis(t: f64) -> RGBColor {
    let t = if t.is_nan() { 0.0 } else { t.clamp(0.0, 1.0) };
    let pos = t * (VIRIDIS.len() - 1) as f64;
    let i = (pos.floor() as usize).min(VIRIDIS.len() - 2);
    let f = pos - i as f64;
    let (a, b) = (VIRIDIS[i], VIRIDIS[i + 1]);
    let mix = |x: u8, y: u8| (x as f64 + (y as f64 - x as f64) * f).round() as u8;
    RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

/// Colour of a heatmap value under the fixed `range`; out-of-range values
/// take the end colours so figures stay comparable across runs.
fn value_colour(v: f64, range: (f64, f64)) -> RGBColor {
    viridis((v - range.0) / (range.1 - range.0))
}

/// Five evenly spaced colour-bar ticks with as many decimals as the step
/// needs.
fn colour_ticks(range: (f64, f64)) -> Vec<(f64, String)> {
    let (lo, hi) = range;
    let step = (hi - lo) / 4.0;
    let decimals = (1 - step.abs().log10().floor() as i32).clamp(0, 6) as usize;
    (0..5)
        .map(|k| {
            let mut v = if k == 4 { hi } else { lo + step * k as f64 };
            if v.abs() < step.abs() * 1e-9 {
                v = 0.0; // avoid printing "-0.00"
            }
            (v, format!("{v:.decimals$}"))
        })
        .collect()
}

// ---------------------------------------------------------------------------
// Heatmap
// ---------------------------------------------------------------------------

const BAR_WIDTH: i32 = 18;

struct Heatmap<'a> {
    title: &'a str,
    matrix: &'a [f64],
    n: usize,
    labels: &'a [String],
    range: (f64, f64),
    width: u32,
    height: u32,
    grid_x: i32,
    grid_y: i32,
    cell: i32,
    row_stride: usize,
    col_stride: usize,
    col_rotated: bool,
    bar_x: i32,
    ticks: Vec<(f64, String)>,
}

impl<'a> Heatmap<'a> {
    fn new(
        title: &'a str,
        matrix: &'a [f64],
        n: usize,
        labels: &'a [String],
        range: (f64, f64),
    ) -> Result<Self, FigureError> {
        if n == 0 {
            return Err(invalid("heatmap size n must be positive"));
        }
        let expected = n
            .checked_mul(n)
            .ok_or_else(|| invalid(format!("heatmap size n = {n} overflows n*n")))?;
        if matrix.len() != expected {
            return Err(invalid(format!(
                "heatmap matrix has {} values, expected n*n = {expected} for n = {n}",
                matrix.len()
            )));
        }
        if labels.len() != n {
            return Err(invalid(format!(
                "heatmap has {} labels for n = {n} rows/columns",
                labels.len()
            )));
        }
        if !(range.0.is_finite() && range.1.is_finite() && range.0 < range.1) {
            return Err(invalid(format!(
                "heatmap colour range ({}, {}) must be finite with low < high",
                range.0, range.1
            )));
        }
        if let Some(k) = matrix.iter().position(|v| !v.is_finite()) {
            return Err(invalid(format!(
                "heatmap value at row {}, column {} is {}",
                k / n,
                k % n,
                matrix[k]
            )));
        }

        // Cells shrink with n so that 40x40 still fits in ~640 px, but never
        // below 10 px nor above 64 px.
        let cell = (640 / n.min(640) as i32).clamp(10, 64);
        let side = cell as i64 * n as i64;
        let label_h = LABEL_SIZE as i32 + 3;
        let label_w = max_text_width(LABEL_SIZE, labels);
        let row_stride = label_stride(label_h, cell as f64);
        // Column labels stay horizontal unless that would thin them more
        // than rotating them does.
        let horizontal_stride = label_stride(label_w + 6, cell as f64);
        let col_rotated = horizontal_stride > row_stride;
        let col_stride = if col_rotated { row_stride } else { horizontal_stride };
        let col_extent = if col_rotated { label_w } else { label_h };

        let grid_x = MARGIN + label_w + 8;
        let grid_y = MARGIN + title_height(title);
        let bar_x = grid_x as i64 + side + 20;
        let ticks = colour_ticks(range);
        let tick_w = ticks.iter().map(|(_, s)| text_width(LABEL_SIZE, s)).max().unwrap_or(0);
        let width =
            (bar_x + (BAR_WIDTH + 8 + tick_w + MARGIN) as i64).max((text_width(TITLE_SIZE, title) + 2 * MARGIN) as i64);
        let height = grid_y as i64 + side + 6 + col_extent as i64 + MARGIN as i64;
        let (width, height) = check_canvas(width, height)?;
        Ok(Self {
            title,
            matrix,
            n,
            labels,
            range,
            width,
            height,
            grid_x,
            grid_y,
            cell,
            row_stride,
            col_stride,
            col_rotated,
            bar_x: bar_x as i32,
            ticks,
        })
    }

    /// Top-left pixel of cell (row, col).
    fn cell_origin(&self, row: usize, col: usize) -> (i32, i32) {
        (
            self.grid_x + col as i32 * self.cell,
            self.grid_y + row as i32 * self.cell,
        )
    }
}

impl Figure for Heatmap<'_> {
    fn size(&self) -> (u32, u32) {
        (self.width, self.height)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        root.fill(&WHITE).map_err(draw_err)?;
        draw_title(root, self.title, self.width)?;
        let n = self.n;
        let cell = self.cell;
        let side = cell * n as i32;
        // Values are printed only when cells are large enough to hold them.
        let annotate = cell >= 40;
        for row in 0..n {
            for col in 0..n {
                let v = self.matrix[row * n + col];
                let colour = value_colour(v, self.range);
                let (x, y) = self.cell_origin(row, col);
                root.draw(&Rectangle::new([(x, y), (x + cell, y + cell)], colour.filled()))
                    .map_err(draw_err)?;
                if annotate {
                    let RGBColor(r, g, b) = colour;
                    let luma = 0.299 * r as f64 + 0.587 * g as f64 + 0.114 * b as f64;
                    let ink = if luma > 140.0 { BLACK } else { WHITE };
                    let style = anchored(LABEL_SIZE.min(12.0), HPos::Center, VPos::Center).color(&ink);
                    root.draw_text(&format!("{v:.2}"), &style, (x + cell / 2, y + cell / 2))
                        .map_err(draw_err)?;
                }
            }
        }
        let (gx, gy) = (self.grid_x, self.grid_y);
        root.draw(&Rectangle::new(
            [(gx - 1, gy - 1), (gx + side, gy + side)],
            BLACK.stroke_width(1),
        ))
        .map_err(draw_err)?;

        let row_style = anchored(LABEL_SIZE, HPos::Right, VPos::Center);
        for row in (0..n).step_by(self.row_stride) {
            let y = gy + row as i32 * cell + cell / 2;
            root.draw_text(&self.labels[row], &row_style, (gx - 6, y))
                .map_err(draw_err)?;
        }
        // Rotated labels read bottom-to-top and end just under their column.
        let col_style = if self.col_rotated {
            anchored(LABEL_SIZE, HPos::Right, VPos::Center).transform(FontTransform::Rotate270)
        } else {
            anchored(LABEL_SIZE, HPos::Center, VPos::Top)
        };
        for col in (0..n).step_by(self.col_stride) {
            let x = gx + col as i32 * cell + cell / 2;
            root.draw_text(&self.labels[col], &col_style, (x, gy + side + 6))
                .map_err(draw_err)?;
        }

        // Colour bar: one 1-px band per pixel row, top = high end of range.
        let bx = self.bar_x;
        let denom = (side - 1).max(1) as f64;
        for py in 0..side {
            let t = 1.0 - py as f64 / denom;
            root.draw(&Rectangle::new(
                [(bx, gy + py), (bx + BAR_WIDTH, gy + py + 1)],
                viridis(t).filled(),
            ))
            .map_err(draw_err)?;
        }
        root.draw(&Rectangle::new(
            [(bx - 1, gy - 1), (bx + BAR_WIDTH, gy + side)],
            BLACK.stroke_width(1),
        ))
        .map_err(draw_err)?;
        let tick_style = anchored(LABEL_SIZE, HPos::Left, VPos::Center);
        let (lo, hi) = self.range;
        for (v, label) in &self.ticks {
            let t = (v - lo) / (hi - lo);
            let y = gy + ((1.0 - t) * denom).round() as i32;
            root.draw(&PathElement::new(
                vec![(bx + BAR_WIDTH, y), (bx + BAR_WIDTH + 4, y)],
                BLACK.stroke_width(1),
            ))
            .map_err(draw_err)?;
            root.draw_text(label, &tick_style, (bx + BAR_WIDTH + 7, y))
                .map_err(draw_err)?;
        }
        Ok(())
    }
}

/// Draws an `n x n` matrix (row-major, row 0 at the top) as coloured cells
/// and writes `<stem>.png` and `<stem>.svg`.
///
/// Colours use viridis over the fixed `range` (e.g. `(0.0, 1.0)` for cosine
/// similarity); values outside it are clamped to the end colours, so figures
/// from different runs are comparable. `labels` name both the rows and the
/// columns; they are thinned when `n` is large. A colour bar with ticks sits
/// on the right; cells at least 40 px wide (n <= 16) also show their value.
///
/// # Errors
/// [`FigureError::InvalidInput`] (nothing written) if `n == 0`,
/// `matrix.len() != n * n`, `labels.len() != n`, a value is NaN or infinite,
/// or `range` is not finite with `range.0 < range.1`; otherwise
/// [`FigureError::Drawing`] or [`FigureError::Io`].
pub fn heatmap(
    stem: &Path,
    title: &str,
    matrix: &[f64],
    n: usize,
    labels: &[String],
    range: (f64, f64),
) -> Result<(), FigureError> {
    font_ready(stem)?;
    let fig = Heatmap::new(title, matrix, n, labels, range)?;
    write_figure(stem, &fig)
}

// ---------------------------------------------------------------------------
// Line chart
// ---------------------------------------------------------------------------

/// Tableau's ten categorical colours, distinguishable for most readers.
const SERIES_COLOURS: [RGBColor; 10] = [
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

const CHART_WIDTH: i32 = 900;
const Y_LABEL_AREA: i32 = 70;
const X_LABEL_AREA: i32 = 56;
const LEGEND_ROW: i32 = 22;
/// Beyond this many x positions markers would merge into a smear.
const MAX_MARKED_POINTS: usize = 40;

struct LineChart<'a> {
    title: &'a str,
    x_label: &'a str,
    y_label: &'a str,
    x_ticks: &'a [String],
    series: &'a [(String, Vec<f64>)],
    y_range: (f64, f64),
    width: u32,
    height: u32,
    legend_w: i32,
    stride: usize,
}

impl<'a> LineChart<'a> {
    fn new(
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
        })
    }
}

/// X axis over categorical positions `0..len` (with half a slot of padding
/// on each side) whose ticks sit exactly on every `stride`-th position;
/// plotters' own f64 axis would pick "nice" fractional ticks instead.
struct CategoryAxis {
    inner: RangedCoordf64,
    len: usize,
    stride: usize,
}

impl CategoryAxis {
    fn new(len: usize, stride: usize) -> Self {
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
fn auto_range(series: &[(String, Vec<f64>)]) -> (f64, f64) {
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

impl Figure for LineChart<'_> {
    fn size(&self) -> (u32, u32) {
        (self.width, self.height)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        root.fill(&WHITE).map_err(draw_err)?;
        let (chart_area, legend_area) = root.split_horizontally(self.width as i32 - self.legend_w);
        let len = self.x_ticks.len();
        let (lo, hi) = self.y_range;

        let mut builder = ChartBuilder::on(&chart_area);
        if !self.title.is_empty() {
            builder.caption(self.title, font(TITLE_SIZE));
        }
        let mut chart = builder
            .margin(MARGIN)
            .x_label_area_size(X_LABEL_AREA)
            .y_label_area_size(Y_LABEL_AREA)
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

// ---------------------------------------------------------------------------
// Image grid
// ---------------------------------------------------------------------------

/// Screen pixels per image pixel (28x28 digits become 84x84 tiles).
const PIXEL_SCALE: i32 = 3;
const TILE_GAP: i32 = 6;

struct ImageGrid<'a> {
    title: &'a str,
    images: &'a [Vec<u8>],
    side: usize,
    rows: usize,
    cols: usize,
    row_labels: &'a [String],
    width: u32,
    height: u32,
    grid_x: i32,
    grid_y: i32,
}

impl<'a> ImageGrid<'a> {
    fn new(
        title: &'a str,
        images: &'a [Vec<u8>],
        side: usize,
        rows: usize,
        cols: usize,
        row_labels: &'a [String],
    ) -> Result<Self, FigureError> {
        if side == 0 || rows == 0 || cols == 0 {
            return Err(invalid(format!(
                "image grid needs positive side, rows and cols (got {side}, {rows}, {cols})"
            )));
        }
        let count = rows
            .checked_mul(cols)
            .ok_or_else(|| invalid("image grid rows*cols overflows"))?;
        if images.len() != count {
            return Err(invalid(format!(
                "image grid has {} images for {rows} rows x {cols} cols = {count}",
                images.len()
            )));
        }
        let pixels = side
            .checked_mul(side)
            .ok_or_else(|| invalid("image side*side overflows"))?;
        if let Some(k) = images.iter().position(|im| im.len() != pixels) {
            return Err(invalid(format!(
                "image {k} (row {}, col {}) has {} pixels, expected {side}x{side} = {pixels}",
                k / cols,
                k % cols,
                images[k].len()
            )));
        }
        if row_labels.len() != rows {
            return Err(invalid(format!(
                "image grid has {} row labels for {rows} rows",
                row_labels.len()
            )));
        }
        let tile = side as i64 * PIXEL_SCALE as i64;
        let grid_x = MARGIN + max_text_width(LABEL_SIZE, row_labels) + 10;
        let grid_y = MARGIN + title_height(title);
        let span = |k: usize| k as i64 * tile + (k as i64 - 1) * TILE_GAP as i64;
        let width =
            (grid_x as i64 + span(cols) + MARGIN as i64).max((text_width(TITLE_SIZE, title) + 2 * MARGIN) as i64);
        let height = grid_y as i64 + span(rows) + MARGIN as i64;
        let (width, height) = check_canvas(width, height)?;
        Ok(Self {
            title,
            images,
            side,
            rows,
            cols,
            row_labels,
            width,
            height,
            grid_x,
            grid_y,
        })
    }

    /// Top-left pixel of the tile at (row, col).
    fn tile_origin(&self, row: usize, col: usize) -> (i32, i32) {
        let step = self.side as i32 * PIXEL_SCALE + TILE_GAP;
        (self.grid_x + col as i32 * step, self.grid_y + row as i32 * step)
    }
}

/// The most frequent grey level, painted once as the tile background so only
/// the other pixels need their own rectangles (keeps the SVG small).
fn dominant_level(image: &[u8]) -> u8 {
    let mut counts = [0usize; 256];
    for &p in image {
        counts[p as usize] += 1;
    }
    (0..=255u8).max_by_key(|&v| counts[v as usize]).unwrap_or(0)
}

impl Figure for ImageGrid<'_> {
    fn size(&self) -> (u32, u32) {
        (self.width, self.height)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        root.fill(&WHITE).map_err(draw_err)?;
        draw_title(root, self.title, self.width)?;
        let side = self.side;
        let tile = side as i32 * PIXEL_SCALE;
        let label_style = anchored(LABEL_SIZE, HPos::Right, VPos::Center);
        for row in 0..self.rows {
            let (_, y) = self.tile_origin(row, 0);
            root.draw_text(&self.row_labels[row], &label_style, (self.grid_x - 8, y + tile / 2))
                .map_err(draw_err)?;
            for col in 0..self.cols {
                let image = &self.images[row * self.cols + col];
                let (x0, y0) = self.tile_origin(row, col);
                let bg = dominant_level(image);
                root.draw(&Rectangle::new(
                    [(x0, y0), (x0 + tile, y0 + tile)],
                    RGBColor(bg, bg, bg).filled(),
                ))
                .map_err(draw_err)?;
                for (py, line) in image.chunks_exact(side).enumerate() {
                    // Runs of equal grey become one rectangle.
                    let mut px = 0;
                    while px < side {
                        let v = line[px];
                        let start = px;
                        while px < side && line[px] == v {
                            px += 1;
                        }
                        if v == bg {
                            continue;
                        }
                        let (x, y) = (x0 + start as i32 * PIXEL_SCALE, y0 + py as i32 * PIXEL_SCALE);
                        root.draw(&Rectangle::new(
                            [(x, y), (x0 + px as i32 * PIXEL_SCALE, y + PIXEL_SCALE)],
                            RGBColor(v, v, v).filled(),
                        ))
                        .map_err(draw_err)?;
                    }
                }
            }
        }
        Ok(())
    }
}

/// Lays out grayscale `side x side` images (row-major `u8`, 0 black, 255
/// white) in a `rows x cols` grid, `images` in row-major grid order, each
/// image pixel a 3x3 square, `row_labels[r]` left of row `r`; writes
/// `<stem>.png` and `<stem>.svg`.
///
/// # Errors
/// [`FigureError::InvalidInput`] (nothing written) if `side`, `rows` or
/// `cols` is zero, `images.len() != rows * cols`, an image is not
/// `side * side` bytes, `row_labels.len() != rows`, or the canvas would
/// exceed 32768 px on a side; otherwise [`FigureError::Drawing`] or
/// [`FigureError::Io`].
pub fn image_grid(
    stem: &Path,
    title: &str,
    images: &[Vec<u8>],
    side: usize,
    rows: usize,
    cols: usize,
    row_labels: &[String],
) -> Result<(), FigureError> {
    font_ready(stem)?;
    let fig = ImageGrid::new(title, images, side, rows, cols, row_labels)?;
    write_figure(stem, &fig)
}

// ---------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{SystemTime, UNIX_EPOCH};

    /// Matrix, labels, range, and a phrase the error must contain.
    type HeatCase = (Vec<f64>, Vec<String>, (f64, f64), &'static str);
    /// Images, row labels, and a phrase the error must contain.
    type GridCase<'a> = (&'a [Vec<u8>], &'a [String], &'static str);

    const PNG_SIGNATURE: [u8; 8] = [0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a];

    /// A fresh, uniquely named directory under the system temp dir.
    fn temp_dir(tag: &str) -> PathBuf {
        static SEQ: AtomicU64 = AtomicU64::new(0);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let dir = std::env::temp_dir().join(format!(
            "tgsh-figures-{tag}-{}-{nanos}-{}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        ));
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn entries(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    /// Both files exist and look like what they claim, and no temporary
    /// sibling was left behind.
    fn assert_written(dir: &Path, name: &str) {
        let png = fs::read(dir.join(format!("{name}.png"))).unwrap();
        assert!(png.starts_with(&PNG_SIGNATURE), "{name}.png lacks the PNG signature");
        let svg = fs::read_to_string(dir.join(format!("{name}.svg"))).unwrap();
        assert!(svg.contains("<svg"), "{name}.svg has no <svg element");
        assert!(
            entries(dir).iter().all(|e| !e.contains(".tmp.")),
            "temporary files left: {:?}",
            entries(dir)
        );
    }

    fn render_rgb<F: Figure>(fig: &F) -> Vec<u8> {
        ensure_font().unwrap();
        let (w, h) = fig.size();
        let mut buf = vec![0u8; w as usize * h as usize * 3];
        {
            let root = BitMapBackend::with_buffer(&mut buf, (w, h)).into_drawing_area();
            fig.draw(&root).unwrap();
            root.present().unwrap();
        }
        buf
    }

    fn pixel(buf: &[u8], width: u32, (x, y): (i32, i32)) -> RGBColor {
        let i = (y as usize * width as usize + x as usize) * 3;
        RGBColor(buf[i], buf[i + 1], buf[i + 2])
    }

    fn labels(prefix: &str, n: usize) -> Vec<String> {
        (0..n).map(|i| format!("{prefix}{i}")).collect()
    }

    fn similarity(n: usize) -> Vec<f64> {
        (0..n * n)
            .map(|k| {
                let (i, j) = (k / n, k % n);
                if i == j {
                    1.0
                } else {
                    ((i as f64 - j as f64).abs() / n as f64).cos() * 0.8
                }
            })
            .collect()
    }

    #[test]
    fn viridis_hits_control_points_and_clamps() {
        assert_eq!(viridis(0.0), RGBColor(0x44, 0x01, 0x54));
        assert_eq!(viridis(1.0), RGBColor(0xfd, 0xe7, 0x25));
        assert_eq!(viridis(0.5), RGBColor(0x21, 0x91, 0x8c));
        assert_eq!(viridis(-3.0), viridis(0.0));
        assert_eq!(viridis(7.0), viridis(1.0));
        assert_eq!(value_colour(2.0, (0.0, 1.0)), viridis(1.0));
        assert_eq!(value_colour(-1.0, (-1.0, 1.0)), viridis(0.0));
    }

    #[test]
    fn colour_ticks_cover_range() {
        let ticks = colour_ticks((0.0, 1.0));
        let text: Vec<&str> = ticks.iter().map(|(_, s)| s.as_str()).collect();
        assert_eq!(text, ["0.00", "0.25", "0.50", "0.75", "1.00"]);
        let ticks = colour_ticks((-1.0, 1.0));
        assert_eq!(ticks[2].1, "0.00");
        assert_eq!(ticks[0].1, "-1.00");
    }

    #[test]
    fn heatmap_writes_png_and_svg() {
        let dir = temp_dir("heatmap");
        let n = 6;
        heatmap(
            &dir.join("sim"),
            "Context similarity after training",
            &similarity(n),
            n,
            &labels("task ", n),
            (0.0, 1.0),
        )
        .unwrap();
        assert_written(&dir, "sim");
        assert_eq!(entries(&dir), ["sim.png", "sim.svg"]);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn large_heatmap_thins_labels() {
        let dir = temp_dir("heatmap40");
        let n = 40;
        heatmap(
            &dir.join("sim40"),
            "Context similarity after training",
            &similarity(n),
            n,
            &labels("context ", n),
            (0.0, 1.0),
        )
        .unwrap();
        assert_written(&dir, "sim40");
        // Whatever the size, shown labels are at least a text line apart.
        for n in [40, 64] {
            let l = labels("context ", n);
            let zeros = vec![0.0; n * n];
            let fig = Heatmap::new("t", &zeros, n, &l, (0.0, 1.0)).unwrap();
            assert!(fig.row_stride as i32 * fig.cell >= LABEL_SIZE as i32, "n={n}");
            assert!(fig.col_stride as i32 * fig.cell >= LABEL_SIZE as i32, "n={n}");
            if n == 64 {
                assert!(fig.row_stride > 1, "64 rows at {} px need thinning", fig.cell);
            }
        }
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn heatmap_cell_colour_matches_colormap() {
        ensure_font().unwrap();
        for n in [3, 20] {
            let matrix: Vec<f64> = (0..n * n).map(|k| k as f64 / (n * n) as f64).collect();
            let l = labels("", n);
            let fig = Heatmap::new("colours", &matrix, n, &l, (0.0, 1.0)).unwrap();
            let buf = render_rgb(&fig);
            for (row, col) in [(0, 0), (1, 2), (n - 1, n - 1)] {
                let (x, y) = fig.cell_origin(row, col);
                // Near the corner: clear of the frame and of the centred value.
                let got = pixel(&buf, fig.width, (x + 4, y + 4));
                let want = value_colour(matrix[row * n + col], (0.0, 1.0));
                assert_eq!(got, want, "n={n} cell ({row}, {col})");
            }
            // The colour bar's top row shows the high end of the range.
            let top = pixel(&buf, fig.width, (fig.bar_x + BAR_WIDTH / 2, fig.grid_y + 1));
            assert_eq!(top, viridis(1.0 - 1.0 / (fig.cell * n as i32 - 1) as f64));
        }
    }

    #[test]
    fn heatmap_clamps_to_fixed_range() {
        let matrix = [-5.0, 0.0, 1.0, 9.0];
        let l = labels("", 2);
        let fig = Heatmap::new("", &matrix, 2, &l, (0.0, 1.0)).unwrap();
        let buf = render_rgb(&fig);
        let at = |r, c| {
            let (x, y) = fig.cell_origin(r, c);
            pixel(&buf, fig.width, (x + 4, y + 4))
        };
        assert_eq!(at(0, 0), at(0, 1));
        assert_eq!(at(1, 0), at(1, 1));
    }

    #[test]
    fn heatmap_rejects_invalid_input_and_writes_nothing() {
        let dir = temp_dir("heatmap-bad");
        let stem = dir.join("sub").join("bad");
        let l3 = labels("", 3);
        let cases: Vec<HeatCase> = vec![
            (vec![0.0; 8], l3.clone(), (0.0, 1.0), "n*n"),
            (
                vec![0.0, 0.1, 0.2, 0.3, f64::NAN, 0.5, 0.6, 0.7, 0.8],
                l3.clone(),
                (0.0, 1.0),
                "row 1, column 1",
            ),
            (vec![0.0; 9], labels("", 2), (0.0, 1.0), "labels"),
            (vec![0.0; 9], l3.clone(), (1.0, 1.0), "range"),
        ];
        for (matrix, l, range, needle) in cases {
            let err = heatmap(&stem, "bad", &matrix, 3, &l, range).unwrap_err();
            assert!(matches!(err, FigureError::InvalidInput(_)), "{err:?}");
            assert!(err.to_string().contains(needle), "{err} lacks {needle:?}");
        }
        assert!(entries(&dir).is_empty(), "wrote {:?}", entries(&dir));
        fs::remove_dir_all(&dir).unwrap();
    }

    fn accuracy_series() -> (Vec<String>, Vec<(String, Vec<f64>)>) {
        let ticks = labels("T", 10);
        let series = (0..3)
            .map(|s| {
                let ys = (0..10).map(|t| 0.9 - 0.02 * t as f64 + 0.01 * s as f64).collect();
                (format!("seed {s}"), ys)
            })
            .collect();
        (ticks, series)
    }

    #[test]
    fn line_chart_writes_png_and_svg() {
        let dir = temp_dir("line");
        let (ticks, series) = accuracy_series();
        line_chart(
            &dir.join("acc.v1"),
            "Per-task test accuracy",
            "task",
            "accuracy",
            &ticks,
            &series,
            Some((0.0, 1.0)),
        )
        .unwrap();
        // A dotted stem keeps its dot: the suffix is appended, not swapped.
        assert_written(&dir, "acc.v1");

        let epochs: Vec<String> = (1..=200).map(|e| e.to_string()).collect();
        let curves = vec![
            ("train".to_string(), (0..200).map(|e| 1.0 / (1.0 + e as f64)).collect()),
            ("test".to_string(), (0..200).map(|e| 1.2 / (1.0 + e as f64)).collect()),
        ];
        line_chart(
            &dir.join("curve"),
            "Learning curve",
            "epoch",
            "loss",
            &epochs,
            &curves,
            None,
        )
        .unwrap();
        assert_written(&dir, "curve");
        let fig = LineChart::new("", "", "", &epochs, &curves, None).unwrap();
        assert!(fig.stride > 1, "200 ticks must be thinned");
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn line_chart_draws_series_colour() {
        let ticks = labels("", 3);
        let series = vec![("flat".to_string(), vec![0.5, 0.5, 0.5])];
        let fig = LineChart::new("", "x", "y", &ticks, &series, Some((0.0, 1.0))).unwrap();
        let buf = render_rgb(&fig);
        let (w, h) = fig.size();
        let colour = SERIES_COLOURS[0];
        let found = (0..h as i32)
            .flat_map(|y| (0..w as i32).map(move |x| (x, y)))
            .filter(|&p| pixel(&buf, w, p) == colour)
            .count();
        assert!(found > 100, "only {found} pixels of the series colour");
    }

    #[test]
    fn line_chart_rejects_invalid_input_and_writes_nothing() {
        let dir = temp_dir("line-bad");
        let stem = dir.join("bad");
        let ticks = labels("T", 3);
        let short = vec![("s".to_string(), vec![0.1, 0.2])];
        let nan = vec![("s".to_string(), vec![0.1, f64::NAN, 0.3])];
        let good = vec![("s".to_string(), vec![0.1, 0.2, 0.3])];
        let e = line_chart(&stem, "", "", "", &ticks, &short, None).unwrap_err();
        assert!(matches!(e, FigureError::InvalidInput(_)) && e.to_string().contains("2 values"));
        let e = line_chart(&stem, "", "", "", &ticks, &nan, None).unwrap_err();
        assert!(matches!(e, FigureError::InvalidInput(_)) && e.to_string().contains("NaN"));
        let e = line_chart(&stem, "", "", "", &[], &good, None).unwrap_err();
        assert!(matches!(e, FigureError::InvalidInput(_)));
        let e = line_chart(&stem, "", "", "", &ticks, &good, Some((1.0, 0.0))).unwrap_err();
        assert!(matches!(e, FigureError::InvalidInput(_)));
        assert!(entries(&dir).is_empty());
        fs::remove_dir_all(&dir).unwrap();
    }

    /// A crude "digit": a bright ring whose radius depends on the index.
    fn fake_digit(side: usize, k: usize) -> Vec<u8> {
        let c = side as f64 / 2.0;
        let r = 4.0 + (k % 8) as f64;
        (0..side * side)
            .map(|p| {
                let (y, x) = ((p / side) as f64, (p % side) as f64);
                let d = ((x - c).powi(2) + (y - c).powi(2)).sqrt();
                if (d - r).abs() < 1.5 {
                    255
                } else if (d - r).abs() < 2.5 {
                    120
                } else {
                    0
                }
            })
            .collect()
    }

    #[test]
    fn image_grid_writes_png_and_svg() {
        let dir = temp_dir("grid");
        let (rows, cols, side) = (4, 8, 28);
        let images: Vec<Vec<u8>> = (0..rows * cols).map(|k| fake_digit(side, k)).collect();
        image_grid(
            &dir.join("samples"),
            "Same digits under every task",
            &images,
            side,
            rows,
            cols,
            &labels("task ", rows),
        )
        .unwrap();
        assert_written(&dir, "samples");
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn image_grid_pixels_match_images() {
        let (rows, cols, side) = (2, 3, 28);
        let images: Vec<Vec<u8>> = (0..rows * cols).map(|k| fake_digit(side, k)).collect();
        let l = labels("task ", rows);
        let fig = ImageGrid::new("", &images, side, rows, cols, &l).unwrap();
        let buf = render_rgb(&fig);
        for (row, col) in [(0, 0), (1, 2)] {
            let image = &images[row * cols + col];
            let (x0, y0) = fig.tile_origin(row, col);
            for (px, py) in [(0, 0), (14, 14), (14 + 4 + (row * cols + col) % 8, 14)] {
                let v = image[py * side + px];
                // Middle of the 3x3 square for image pixel (px, py).
                let at = (x0 + px as i32 * PIXEL_SCALE + 1, y0 + py as i32 * PIXEL_SCALE + 1);
                assert_eq!(pixel(&buf, fig.width, at), RGBColor(v, v, v), "({px}, {py})");
            }
        }
    }

    #[test]
    fn image_grid_rejects_invalid_input_and_writes_nothing() {
        let dir = temp_dir("grid-bad");
        let stem = dir.join("bad");
        let ok: Vec<Vec<u8>> = vec![vec![0; 4]; 4];
        let l2 = labels("", 2);
        let mut wrong_size = ok.clone();
        wrong_size[3] = vec![0; 5];
        let cases: Vec<GridCase> = vec![
            (&ok[..3], &l2, "3 images"),
            (&wrong_size, &l2, "image 3"),
            (&ok, &l2[..1], "row labels"),
        ];
        for (images, l, needle) in cases {
            let err = image_grid(&stem, "", images, 2, 2, 2, l).unwrap_err();
            assert!(matches!(err, FigureError::InvalidInput(_)), "{err:?}");
            assert!(err.to_string().contains(needle), "{err} lacks {needle:?}");
        }
        assert!(entries(&dir).is_empty());
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn io_errors_name_the_path() {
        let dir = temp_dir("io");
        // A regular file where the parent directory should be.
        let blocker = dir.join("blocker");
        fs::write(&blocker, b"x").unwrap();
        let stem = blocker.join("fig");
        let l = labels("", 2);
        let err = heatmap(&stem, "", &[0.0; 4], 2, &l, (0.0, 1.0)).unwrap_err();
        assert!(matches!(err, FigureError::Io { .. }), "{err:?}");
        assert!(err.to_string().contains("blocker"), "{err}");
        fs::remove_dir_all(&dir).unwrap();
    }
}
