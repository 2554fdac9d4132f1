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
    pub(super) col_labels: Option<&'a [String]>,
    pub(super) width: u32,
    pub(super) height: u32,
    pub(super) grid_x: i32,
    pub(super) grid_y: i32,
}

impl<'a> ImageGrid<'a> {
    #[cfg(test)]
    pub(super) fn new(
        title: &'a str,
        images: &'a [Vec<u8>],
        side: usize,
        rows: usize,
        cols: usize,
        row_labels: &'a [String],
    ) -> Result<Self, FigureError> {
        Self::with_columns(title, images, side, rows, cols, row_labels, None)
    }

    pub(super) fn with_columns(
        title: &'a str,
        images: &'a [Vec<u8>],
        side: usize,
        rows: usize,
        cols: usize,
        row_labels: &'a [String],
        col_labels: Option<&'a [String]>,
    ) -> Result<Self, FigureError> {
        if let Some(c) = col_labels.filter(|c| c.len() != cols) {
            return Err(invalid(format!(
                "image grid has {} column labels for {cols} columns",
                c.len()
            )));
        }
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
        let grid_y = MARGIN + title_height(title) + if col_labels.is_some() { LABEL_SIZE as i32 + 8 } else { 0 };
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
            col_labels,
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
                // One bitmap per tile: the PNG shows it pixel for pixel and
                // the SVG embeds it as one PNG image instead of a rectangle
                // per pixel.
                let tile_px = tile as usize;
                let mut rgb = vec![0u8; tile_px * tile_px * 3];
                for (k, chunk) in rgb.chunks_exact_mut(3).enumerate() {
                    let (x, y) = (k % tile_px, k / tile_px);
                    let v = image[(y / PIXEL_SCALE as usize) * side + x / PIXEL_SCALE as usize];
                    chunk.copy_from_slice(&[v, v, v]);
                }
                let element = BitMapElement::with_owned_buffer((x0, y0), (tile as u32, tile as u32), rgb)
                    .ok_or_else(|| "image tile buffer has the wrong size".to_string())?;
                root.draw(&element).map_err(draw_err)?;
            }
        }
        if let Some(labels) = self.col_labels {
            let style = anchored(LABEL_SIZE, HPos::Center, VPos::Bottom);
            for (col, label) in labels.iter().enumerate() {
                let (x, y) = self.tile_origin(0, col);
                root.draw_text(label, &style, (x + tile / 2, y - 4)).map_err(draw_err)?;
            }
        }
        Ok(())
    }
}

/// Lays out grayscale `side x side` images (row-major `u8`, 0 black, 255
/// white) in a `rows x cols` grid, `images` in row-major grid order, each
/// image pixel a 3x3 square, `row_labels[r]` left of row `r`; writes
/// `<stem>.png` and `<stem>.svg`; `col_labels[c]`, if given, above column
/// `c` (e.g. the digit each column reconstructs).
///
/// # Errors
/// [`FigureError::InvalidInput`] (nothing written) if `side`, `rows` or
/// `cols` is zero, `images.len() != rows * cols`, an image is not
/// `side * side` bytes, `row_labels.len() != rows`, `col_labels` has not
/// `cols` labels, or the canvas would
/// exceed 32768 px on a side; otherwise [`FigureError::Drawing`] or
/// [`FigureError::Io`].
#[allow(clippy::too_many_arguments)]
pub fn image_grid(
    stem: &Path,
    title: &str,
    images: &[Vec<u8>],
    side: usize,
    rows: usize,
    cols: usize,
    row_labels: &[String],
    col_labels: Option<&[String]>,
) -> Result<(), FigureError> {
    font_ready(stem)?;
    let fig = ImageGrid::with_columns(title, images, side, rows, cols, row_labels, col_labels)?;
    write_figure(stem, &fig)
}
