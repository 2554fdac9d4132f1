//! Grids of grayscale images (sample digits, reconstructions).

use super::*;

/// Screen pixels per image pixel (28x28 digits become 84x84 tiles).
pub(super) const PIXEL_SCALE: i32 = 3;
pub(super) const TILE_GAP: i32 = 6;

pub(super) struct ImageGrid<'a> {
    pub(super) title: &'a str,
    pub(super) images: &'a [Vec<u8>],
    pub(super) side: usize,
    pub(super) rows: usize,
    pub(super) cols: usize,
    pub(super) row_labels: &'a [String],
    pub(super) width: u32,
    pub(super) height: u32,
    pub(super) grid_x: i32,
    pub(super) grid_y: i32,
}

impl<'a> ImageGrid<'a> {
    pub(super) fn new(
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
    pub(super) fn tile_origin(&self, row: usize, col: usize) -> (i32, i32) {
        let step = self.side as i32 * PIXEL_SCALE + TILE_GAP;
        (self.grid_x + col as i32 * step, self.grid_y + row as i32 * step)
    }
}

/// The most frequent grey level, painted once as the tile background so only
/// the other pixels need their own rectangles (keeps the SVG small).
pub(super) fn dominant_level(image: &[u8]) -> u8 {
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
