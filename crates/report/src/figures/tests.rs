//! Tests of every figure: inputs rejected before drawing, files written atomically.

use super::heatmap::*;
use super::images::*;
use super::lines::*;
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
    assert_eq!(Colormap::Sequential.at(0.0), RGBColor(0x44, 0x01, 0x54));
    assert_eq!(Colormap::Sequential.at(1.0), RGBColor(0xfd, 0xe7, 0x25));
    assert_eq!(Colormap::Sequential.at(0.5), RGBColor(0x21, 0x91, 0x8c));
    assert_eq!(Colormap::Sequential.at(-3.0), Colormap::Sequential.at(0.0));
    assert_eq!(Colormap::Sequential.at(7.0), Colormap::Sequential.at(1.0));
    assert_eq!(
        Colormap::Sequential.value(2.0, (0.0, 1.0)),
        Colormap::Sequential.at(1.0)
    );
    assert_eq!(
        Colormap::Sequential.value(-1.0, (-1.0, 1.0)),
        Colormap::Sequential.at(0.0)
    );
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
            let want = Colormap::Sequential.value(matrix[row * n + col], (0.0, 1.0));
            assert_eq!(got, want, "n={n} cell ({row}, {col})");
        }
        // The colour bar's top row shows the high end of the range.
        let top = pixel(&buf, fig.width, (fig.bar_x + BAR_WIDTH / 2, fig.grid_y + 1));
        assert_eq!(
            top,
            Colormap::Sequential.at(1.0 - 1.0 / (fig.cell * n as i32 - 1) as f64)
        );
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
        None,
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
        let err = image_grid(&stem, "", images, 2, 2, 2, l, None).unwrap_err();
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

#[test]
fn the_diverging_scale_is_white_at_its_centre_and_blue_red_at_its_ends() {
    let d = Colormap::Diverging;
    assert_eq!(d.value(0.0, (-1.0, 1.0)), RGBColor(0xf7, 0xf7, 0xf7));
    assert_eq!(d.value(-1.0, (-1.0, 1.0)), RGBColor(0x05, 0x30, 0x61));
    assert_eq!(d.value(1.0, (-1.0, 1.0)), RGBColor(0x67, 0x00, 0x1f));
    // A negative similarity is not clipped to the colour of 0.
    assert_ne!(d.value(-0.06, (-1.0, 1.0)), d.value(0.0, (-1.0, 1.0)));
}

#[test]
fn a_dendrogram_heatmap_shows_rows_in_leaf_order() {
    // Three tasks; the tree joins 0 and 2 first, leaf order [1, 0, 2].
    let n = 3;
    let matrix = vec![1.0, 0.1, 0.9, 0.1, 1.0, 0.2, 0.9, 0.2, 1.0];
    let l = labels("t", n);
    let options = HeatmapOptions {
        colormap: Colormap::Diverging,
        range: (-1.0, 1.0),
        tree: Some(Tree {
            merges: vec![(0, 2, 0.1), (1, 3, 0.85)],
            order: vec![1, 0, 2],
        }),
    };
    let fig = Heatmap::with_options("", &matrix, n, &l, options.clone()).unwrap();
    assert_eq!(fig.labels, vec!["t1", "t0", "t2"]);
    // Cell (0, 1) of the drawn matrix is (task 1, task 0).
    assert_eq!(fig.matrix[1], 0.1);
    assert_eq!(fig.matrix[4], 1.0);
    assert_eq!(fig.matrix[5], 0.9); // (task 0, task 2)
    let dir = temp_dir("dendro");
    heatmap_with(&dir.join("tree"), "tree", &matrix, n, &l, options).unwrap();
    assert_written(&dir, "tree");
    let bad = HeatmapOptions {
        colormap: Colormap::Diverging,
        range: (-1.0, 1.0),
        tree: Some(Tree {
            merges: vec![(0, 2, 0.1)],
            order: vec![1, 0, 2],
        }),
    };
    assert!(matches!(
        heatmap_with(&dir.join("bad"), "", &matrix, n, &l, bad),
        Err(FigureError::InvalidInput(_))
    ));
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn bands_and_histograms_are_written_and_bad_input_is_refused() {
    let dir = temp_dir("bands");
    let ticks = labels("", 4);
    let band = Band {
        name: "after".into(),
        mean: vec![0.5, 0.4, 0.3, 0.2],
        low: vec![0.45, 0.35, 0.25, 0.15],
        high: vec![0.55, 0.45, 0.35, 0.25],
    };
    let one_seed = Band {
        name: "one seed".into(),
        mean: vec![0.1; 4],
        low: vec![f64::NAN; 4],
        high: vec![f64::NAN; 4],
    };
    band_chart(
        &dir.join("band"),
        "t",
        "x",
        "y",
        &ticks,
        &[band.clone(), one_seed],
        None,
    )
    .unwrap();
    assert_written(&dir, "band");
    let mut short = band;
    short.low.pop();
    assert!(matches!(
        band_chart(&dir.join("short"), "", "", "", &ticks, &[short], None),
        Err(FigureError::InvalidInput(_))
    ));
    let samples = vec![
        ("intra (AUC 0.9)".to_string(), vec![0.3, 0.4, 0.5, 0.45]),
        ("inter".to_string(), vec![0.0, 0.1, -0.1, 0.05]),
    ];
    histograms(&dir.join("hist"), "t", "cosine", &samples, 20, (-1.0, 1.0)).unwrap();
    assert_written(&dir, "hist");
    let nan = vec![("x".to_string(), vec![f64::NAN])];
    assert!(matches!(
        histograms(&dir.join("nan"), "", "", &nan, 20, (-1.0, 1.0)),
        Err(FigureError::InvalidInput(_))
    ));
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn image_grid_svg_embeds_bitmaps_not_pixel_rectangles() {
    let dir = temp_dir("grid-svg");
    let (rows, cols, side) = (2, 10, 28);
    let images: Vec<Vec<u8>> = (0..rows * cols).map(|k| fake_digit(side, k)).collect();
    let cols_l = labels("", cols);
    image_grid(
        &dir.join("g"),
        "",
        &images,
        side,
        rows,
        cols,
        &labels("t", rows),
        Some(&cols_l),
    )
    .unwrap();
    let svg = fs::read_to_string(dir.join("g.svg")).unwrap();
    assert_eq!(svg.matches("<image").count(), rows * cols);
    assert!(svg.len() < 200_000, "{} bytes", svg.len());
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn scatter_panels_are_written_and_bad_input_is_refused() {
    let dir = temp_dir("scatter");
    let circle: Vec<(f64, f64)> = (0..12)
        .map(|k| {
            let a = std::f64::consts::TAU * k as f64 / 12.0;
            (a.cos(), a.sin())
        })
        .collect();
    let panel = Panel {
        title: "after training".into(),
        points: circle,
        labels: labels("t", 12),
    };
    scatter_panels(
        &dir.join("pca"),
        "PCA",
        "PC1",
        "PC2",
        &[panel.clone(), panel.clone()],
        true,
    )
    .unwrap();
    assert_written(&dir, "pca");
    let mut bad = panel;
    bad.labels.pop();
    assert!(matches!(
        scatter_panels(&dir.join("bad"), "", "", "", &[bad], true),
        Err(FigureError::InvalidInput(_))
    ));
    assert!(matches!(
        scatter_panels(&dir.join("none"), "", "", "", &[], true),
        Err(FigureError::InvalidInput(_))
    ));
    fs::remove_dir_all(&dir).unwrap();
}
