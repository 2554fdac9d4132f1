//! Heatmaps: a matrix as coloured cells with a colour bar.

use super::*;

pub(super) const BAR_WIDTH: i32 = 18;

/// A merge tree to draw beside a heatmap, in scipy's `linkage` convention:
/// merge `s` joins clusters `left` and `right` (leaves are `0..n`, merge `s`
/// creates `n + s`) at `height`; `order` is the leaf order, left to right.
#[derive(Debug, Clone, PartialEq)]
pub struct Tree {
    /// `(left, right, height)` per merge, in merge order.
    pub merges: Vec<(usize, usize, f64)>,
    /// The leaves in the order the dendrogram draws them.
    pub order: Vec<usize>,
}

/// What [`heatmap_with`] draws beyond the cells.
#[derive(Debug, Clone, PartialEq)]
pub struct HeatmapOptions {
    /// The colour scale.
    pub colormap: Colormap,
    /// The value range the colour scale spans.
    pub range: (f64, f64),
    /// A dendrogram to order the rows and columns by and draw on the left.
    pub tree: Option<Tree>,
}

/// Width of the dendrogram panel.
pub(super) const TREE_WIDTH: i32 = 180;

pub(super) struct Heatmap<'a> {
    pub(super) title: &'a str,
    pub(super) matrix: Vec<f64>,
    pub(super) n: usize,
    pub(super) labels: Vec<String>,
    pub(super) range: (f64, f64),
    pub(super) colormap: Colormap,
    pub(super) tree: Option<Tree>,
    pub(super) width: u32,
    pub(super) height: u32,
    pub(super) grid_x: i32,
    pub(super) grid_y: i32,
    pub(super) cell: i32,
    pub(super) row_stride: usize,
    pub(super) col_stride: usize,
    pub(super) col_rotated: bool,
    pub(super) bar_x: i32,
    pub(super) ticks: Vec<(f64, String)>,
}

impl<'a> Heatmap<'a> {
    pub(super) fn new(
        title: &'a str,
        matrix: &'a [f64],
        n: usize,
        labels: &'a [String],
        range: (f64, f64),
    ) -> Result<Self, FigureError> {
        let options = HeatmapOptions {
            colormap: Colormap::Sequential,
            range,
            tree: None,
        };
        Self::with_options(title, matrix, n, labels, options)
    }

    pub(super) fn with_options(
        title: &'a str,
        matrix: &'a [f64],
        n: usize,
        labels: &'a [String],
        options: HeatmapOptions,
    ) -> Result<Self, FigureError> {
        let HeatmapOptions { colormap, range, tree } = options;
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

        if let Some(tree) = &tree {
            let mut seen = tree.order.clone();
            seen.sort_unstable();
            if seen != (0..n).collect::<Vec<_>>() || tree.merges.len() + 1 != n {
                return Err(invalid(format!(
                    "dendrogram for {n} leaves needs a leaf order of 0..{n} and {} merges (got {} leaves, {} merges)",
                    n.saturating_sub(1),
                    tree.order.len(),
                    tree.merges.len()
                )));
            }
            if let Some(m) = tree
                .merges
                .iter()
                .find(|m| m.0 >= n + tree.merges.len() || m.1 >= n + tree.merges.len() || !m.2.is_finite())
            {
                return Err(invalid(format!(
                    "dendrogram merge {m:?} names no cluster or has no finite height"
                )));
            }
        }
        // Rows and columns in the dendrogram's leaf order.
        let order: Vec<usize> = tree.as_ref().map_or_else(|| (0..n).collect(), |t| t.order.clone());
        let matrix: Vec<f64> = (0..n * n).map(|k| matrix[order[k / n] * n + order[k % n]]).collect();
        let labels: Vec<String> = order.iter().map(|&i| labels[i].clone()).collect();
        let labels_ref = &labels;

        // Cells shrink with n so that 40x40 still fits in ~640 px, but never
        // below 10 px nor above 64 px.
        let cell = (640 / n.min(640) as i32).clamp(10, 64);
        let side = cell as i64 * n as i64;
        let label_h = LABEL_SIZE as i32 + 3;
        let label_w = max_text_width(LABEL_SIZE, labels_ref);
        let row_stride = label_stride(label_h, cell as f64);
        // Column labels stay horizontal unless that would thin them more
        // than rotating them does.
        let horizontal_stride = label_stride(label_w + 6, cell as f64);
        let col_rotated = horizontal_stride > row_stride;
        let col_stride = if col_rotated { row_stride } else { horizontal_stride };
        let col_extent = if col_rotated { label_w } else { label_h };

        let tree_w = if tree.is_some() { TREE_WIDTH } else { 0 };
        let grid_x = MARGIN + tree_w + label_w + 8;
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
            colormap,
            tree,
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
    pub(super) fn cell_origin(&self, row: usize, col: usize) -> (i32, i32) {
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
                let colour = self.colormap.value(v, self.range);
                let (x, y) = self.cell_origin(row, col);
                root.draw(&Rectangle::new([(x, y), (x + cell, y + cell)], colour.filled()))
                    .map_err(draw_err)?;
                if annotate {
                    let RGBColor(r, g, b) = colour;
                    let luma = 0.299 * r as f64 + 0.587 * g as f64 + 0.114 * b as f64;
                    let ink = if luma > 140.0 { BLACK } else { WHITE };
                    let style = anchored(LABEL_SIZE.min(12.0), HPos::Center, VPos::Center).color(&ink);
                    // `+ 0.0` turns -0.0 into 0.0, and rounding -0.001 would print "-0.00".
                    let shown = if v.abs() < 0.005 { 0.0 } else { v + 0.0 };
                    root.draw_text(&format!("{shown:.2}"), &style, (x + cell / 2, y + cell / 2))
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
                self.colormap.at(t).filled(),
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
        if let Some(tree) = &self.tree {
            self.draw_tree(root, tree)?;
        }
        Ok(())
    }
}

impl Heatmap<'_> {
    /// The dendrogram on the left: leaves at their rows' centres, each merge
    /// drawn as scipy does, a bracket at its height (root at the left edge,
    /// height 0 next to the row labels).
    fn draw_tree<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>, tree: &Tree) -> Result<(), String> {
        let n = self.n;
        let max_height = tree.merges.iter().map(|m| m.2).fold(0.0f64, f64::max).max(1e-12);
        let (x0, x1) = (MARGIN, MARGIN + TREE_WIDTH - 12);
        let x_of = |height: f64| x1 - ((height / max_height) * (x1 - x0) as f64).round() as i32;
        let mut y = vec![0i32; n + tree.merges.len()];
        let mut x = vec![x1; n + tree.merges.len()];
        for (position, &leaf) in tree.order.iter().enumerate() {
            y[leaf] = self.grid_y + position as i32 * self.cell + self.cell / 2;
        }
        let ink = RGBColor(60, 60, 60).stroke_width(1);
        for (s, &(left, right, height)) in tree.merges.iter().enumerate() {
            let node = n + s;
            let xh = x_of(height);
            for child in [left, right] {
                root.draw(&PathElement::new(vec![(x[child], y[child]), (xh, y[child])], ink))
                    .map_err(draw_err)?;
            }
            root.draw(&PathElement::new(vec![(xh, y[left]), (xh, y[right])], ink))
                .map_err(draw_err)?;
            y[node] = (y[left] + y[right]) / 2;
            x[node] = xh;
        }
        let axis_style = anchored(LABEL_SIZE - 2.0, HPos::Center, VPos::Top);
        let axis_y = self.grid_y + self.cell * n as i32 + 6;
        root.draw(&PathElement::new(vec![(x0, axis_y), (x1, axis_y)], ink))
            .map_err(draw_err)?;
        for (v, label) in [(0.0, "0".to_string()), (max_height, format!("{max_height:.2}"))] {
            root.draw_text(&label, &axis_style, (x_of(v), axis_y + 3))
                .map_err(draw_err)?;
        }
        root.draw_text("1 - cos", &axis_style, ((x0 + x1) / 2, axis_y + 3))
            .map_err(draw_err)?;
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

/// [`heatmap`] with a choice of colour scale (a diverging one for signed
/// values, range centred at 0) and an optional dendrogram: rows and columns
/// are then shown in its leaf order, and the tree is drawn on the left with
/// its linkage height axis.
///
/// # Errors
/// As [`heatmap`], and [`FigureError::InvalidInput`] if the tree's leaf
/// order is not a permutation of `0..n` or it does not have `n - 1` merges.
pub fn heatmap_with(
    stem: &Path,
    title: &str,
    matrix: &[f64],
    n: usize,
    labels: &[String],
    options: HeatmapOptions,
) -> Result<(), FigureError> {
    font_ready(stem)?;
    let fig = Heatmap::with_options(title, matrix, n, labels, options)?;
    write_figure(stem, &fig)
}
