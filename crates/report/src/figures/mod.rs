//! Report figures, each written as `<stem>.png` and `<stem>.svg`: heatmaps
//! (sequential or diverging colour scale, optionally ordered by a
//! dendrogram drawn beside them), line charts, lines with interval bands,
//! overlaid histograms, labelled scatter plots and image grids.
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
pub(crate) fn ensure_font() -> Result<(), String> {
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
pub(crate) trait Figure {
    /// Width and height in pixels.
    fn size(&self) -> (u32, u32);
    /// Draws the figure onto `root`.
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

/// Writes `fig` to `<stem>.png` and `<stem>.svg`, each through a temporary
/// file renamed into place.
pub(crate) fn write_figure<F: Figure>(stem: &Path, fig: &F) -> Result<(), FigureError> {
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

/// matplotlib's RdBu_r at t = 0, 0.1, ..., 1: blue for negative, near-white
/// at the centre, red for positive; for signed values such as cosine
/// similarity, with the range centred at 0.
const RDBU_R: [(u8, u8, u8); 11] = [
    (0x05, 0x30, 0x61),
    (0x21, 0x66, 0xac),
    (0x43, 0x93, 0xc3),
    (0x92, 0xc5, 0xde),
    (0xd1, 0xe5, 0xf0),
    (0xf7, 0xf7, 0xf7),
    (0xfd, 0xdb, 0xc7),
    (0xf4, 0xa5, 0x82),
    (0xd6, 0x60, 0x4d),
    (0xb2, 0x18, 0x2b),
    (0x67, 0x00, 0x1f),
];

/// How values map to colours.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Colormap {
    /// Sequential (viridis), for values with a natural zero at one end (accuracy).
    Sequential,
    /// Diverging (RdBu), for signed values; give it a range centred at 0.
    Diverging,
}

impl Colormap {
    /// The colour at `t` in [0, 1] (clamped; NaN takes the low end).
    pub fn at(self, t: f64) -> RGBColor {
        let table: &[(u8, u8, u8)] = match self {
            Colormap::Sequential => &VIRIDIS,
            Colormap::Diverging => &RDBU_R,
        };
        let t = if t.is_nan() { 0.0 } else { t.clamp(0.0, 1.0) };
        let pos = t * (table.len() - 1) as f64;
        let i = (pos.floor() as usize).min(table.len() - 2);
        let f = pos - i as f64;
        let (a, b) = (table[i], table[i + 1]);
        let mix = |x: u8, y: u8| (x as f64 + (y as f64 - x as f64) * f).round() as u8;
        RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
    }

    /// Colour of `v` under the fixed `range`; out-of-range values take the
    /// end colours so figures stay comparable across runs.
    pub fn value(self, v: f64, range: (f64, f64)) -> RGBColor {
        self.at((v - range.0) / (range.1 - range.0))
    }
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

mod bands;
mod heatmap;
mod histogram;
mod images;
mod lines;
mod scatter;
#[cfg(test)]
mod tests;

pub use bands::{band_chart, Band};
pub use heatmap::{heatmap, heatmap_with, HeatmapOptions, Tree};
pub use histogram::histograms;
pub use images::image_grid;
pub use lines::line_chart;
pub(crate) use lines::SERIES_COLOURS;
pub use scatter::{scatter_panels, Panel};
