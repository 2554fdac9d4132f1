//! Pixel-exact ports of the torchvision (v1, `torchvision.transforms`) image
//! transforms used to build the task families: rotation, periodic shift,
//! flips, Gaussian blur, colour inversion, and the three random augmentations
//! (perspective, erasing, resized crop).
//!
//! Every image is a 28x28 grayscale `u8` MNIST digit stored row-major. The
//! transforms reproduce torchvision 0.29 / torch 2.15 applied to a `uint8`
//! CPU tensor byte for byte (golden fixtures and torchvision checksums in the
//! tests; the one known exception is [`gaussian_blur`] with parameters other
//! than the project's, see there). To get there the float32 arithmetic of
//! the tensor code paths is mirrored operation by operation: where torch
//! computes in float32, so does this module; where torch's AVX2/AVX-512
//! kernels are compiled with multiply-adds fused into FMAs, this module uses
//! [`f32::mul_add`] in the same places; rounding to `u8` is
//! round-half-to-even like `torch.round`.
//!
//! The random transforms follow torchvision's parameter sampling (same
//! distributions, bounds, retry logic and float32 intermediate precision), but
//! draw from a caller-supplied [`rand::Rng`] instead of torch's global
//! generator, so streams are reproducible for a fixed seed yet are not the
//! same numbers torch would draw.

use rand::Rng;

/// Side length of an MNIST image in pixels.
pub const SIDE: usize = 28;

/// A 28x28 grayscale image, row-major (`img[row * SIDE + col]`).
pub type Image = [u8; SIDE * SIDE];

/// Round half to even and saturate to `u8`, as `tensor.round().to(uint8)`
/// does for values already inside `[0, 255]` (the clamp only guards against
/// float32 sums that overshoot 255 by an ulp).
fn to_u8(v: f32) -> u8 {
    v.round_ties_even().clamp(0.0, 255.0) as u8
}

// ---------------------------------------------------------------------------
// Simple deterministic transforms
// ---------------------------------------------------------------------------

/// Periodic shift to the right by `pixels` columns (negative shifts left):
/// `torch.roll(img, shifts=pixels, dims=-1)`, i.e. `out[r][(c + pixels) mod
/// 28] = img[r][c]`.
pub fn shift_right(img: &Image, pixels: i64) -> Image {
    let s = pixels.rem_euclid(SIDE as i64) as usize;
    let mut out = [0u8; SIDE * SIDE];
    for r in 0..SIDE {
        let row = &img[r * SIDE..(r + 1) * SIDE];
        let dst = &mut out[r * SIDE..(r + 1) * SIDE];
        // Rotating the slice right by `s` is exactly torch.roll's wrap-around.
        dst.copy_from_slice(row);
        dst.rotate_right(s);
    }
    out
}

/// Horizontal flip (mirror left-right), torchvision `F.hflip`.
pub fn hflip(img: &Image) -> Image {
    let mut out = *img;
    for row in out.chunks_exact_mut(SIDE) {
        row.reverse();
    }
    out
}

/// Vertical flip (mirror top-bottom), torchvision `F.vflip`.
pub fn vflip(img: &Image) -> Image {
    let mut out = [0u8; SIDE * SIDE];
    for r in 0..SIDE {
        out[r * SIDE..(r + 1) * SIDE].copy_from_slice(&img[(SIDE - 1 - r) * SIDE..(SIDE - r) * SIDE]);
    }
    out
}

/// Colour inversion `255 - p`, torchvision `F.invert` on `uint8`.
pub fn invert(img: &Image) -> Image {
    img.map(|p| 255 - p)
}

// ---------------------------------------------------------------------------
// Rotation (affine grid + nearest grid_sample)
// ---------------------------------------------------------------------------

/// Rotate counter-clockwise by `degrees` about the image centre, nearest
/// neighbour, same canvas, fill 0: torchvision
/// `F.rotate(img, degrees, InterpolationMode.NEAREST, expand=False,
/// center=None, fill=0)` on a `uint8` tensor.
///
/// Mirrors the tensor path step by step:
/// 1. `_get_inverse_affine_matrix(center=[0,0], angle=-degrees, ...)` in f64,
///    which reduces to `[cos a, sin a, 0, -sin a, cos a, 0]` with
///    `a = radians(-degrees)`;
/// 2. the matrix cast to float32 and divided by `[0.5 w, 0.5 h] = 14`;
/// 3. the base grid of pixel centres `-13.5..=13.5` (exact in f32) times the
///    matrix, `x*t0 + y*t1 + t2`, in float32 (fused like torch's sgemm);
/// 4. `grid_sample(mode="nearest", padding_mode="zeros",
///    align_corners=False)`: unnormalise `(g + 1) * 14 - 0.5` (one FMA),
///    round half to even (ATen's vectorised `round`), zero
///    outside the image.
///
/// The fill mask torchvision appends is irrelevant for nearest with fill 0:
/// a sample is either in bounds (mask 1) or zero-padded (mask 0, filled 0).
///
/// Matches `rotation.u8` (all 64 images x 36 angles) byte for byte, and
/// torchvision at 1,227 other angles checked during development (200 of them
/// are in the tests as a checksum). No sampling position comes within float
/// error of a .5 tie at those angles: even unfused float32 arithmetic gives
/// the same pixels, so the result does not hinge on the FMA details.
pub fn rotate(img: &Image, degrees: f64) -> Image {
    let angle = (-degrees).to_radians();
    let (sin, cos) = angle.sin_cos();
    let matrix = [cos, sin, 0.0, -sin, cos, 0.0];
    let half = (SIDE as f32) * 0.5;
    let t = matrix.map(|m| m as f32 / half);
    let mut out = [0u8; SIDE * SIDE];
    for r in 0..SIDE {
        for c in 0..SIDE {
            let bx = c as f32 - half + 0.5;
            let by = r as f32 - half + 0.5;
            let gx = dot3(bx, by, [t[0], t[1], t[2]]);
            let gy = dot3(bx, by, [t[3], t[4], t[5]]);
            let x = unnormalize(gx).round_ties_even();
            let y = unnormalize(gy).round_ties_even();
            if x > -1.0 && x < SIDE as f32 && y > -1.0 && y < SIDE as f32 {
                out[r * SIDE + c] = img[y as usize * SIDE + x as usize];
            }
        }
    }
    out
}

/// grid_sample's `align_corners=False` unnormalisation as the vectorised CPU
/// kernel computes it, `(g + 1) * (size / 2) - 0.5`, whose multiply-subtract
/// the compiler fuses into one FMA in torch's AVX2/AVX-512 builds.
fn unnormalize(g: f32) -> f32 {
    (g + 1.0).mul_add(SIDE as f32 * 0.5, -0.5)
}

/// One row of the `[x, y, 1] @ theta` grid bmm in float32, in the order
/// torch's CPU sgemm accumulates it (fused multiply-adds over k = 0, 1, 2).
fn dot3(x: f32, y: f32, t: [f32; 3]) -> f32 {
    1f32.mul_add(t[2], y.mul_add(t[1], x * t[0]))
}

// ---------------------------------------------------------------------------
// Gaussian blur
// ---------------------------------------------------------------------------

/// Gaussian blur with a square `kernel` x `kernel` window and standard
/// deviation `sigma` (both axes): torchvision
/// `F.gaussian_blur(img, [kernel, kernel], [sigma, sigma])` on `uint8`.
///
/// Float32 throughout like torch: 1-D kernel `exp(-0.5 (x / sigma)^2)` over
/// `linspace(-(k-1)/2, (k-1)/2, k)`, normalised by its sum; 2-D kernel the
/// outer product; reflect padding of `k / 2` (mirror without repeating the
/// edge); correlation accumulated row by row; round half to even; clamp.
///
/// Matches `gaussian_blur.u8` (kernel 5, sigma 2) byte for byte. With
/// torch's own 1-D kernel, the convolution below (oneDNN's order: row by
/// row, one FMA per tap) matched torchvision on all 99 (kernel, sigma) pairs
/// tried (kernels 1..=55, sigmas 0.1..7, 64 images each). What can still
/// differ for other parameters is the last bit of the kernel weights: torch
/// takes float32 `exp` from Sleef (not always correctly rounded) and sums the
/// pdf in a vectorised order. Over those 99 pairs that left 13 of 4.97
/// million pixels off by one, all with kernels of 15 or more; kernel 5 with
/// sigma 2 (the project's parameters) has no such weight difference.
///
/// # Panics
/// If `kernel` is even or zero, if `kernel / 2 >= 28` (reflect padding needs
/// the pad to be smaller than the image, as in torch), or if `sigma <= 0`.
pub fn gaussian_blur(img: &Image, kernel: usize, sigma: f64) -> Image {
    assert!(kernel % 2 == 1, "kernel size must be odd and positive");
    assert!(kernel / 2 < SIDE, "reflect padding must be smaller than the image");
    assert!(sigma > 0.0, "sigma must be positive");
    let k1 = gaussian_kernel1d(kernel, sigma as f32);
    let pad = (kernel / 2) as i64;
    let reflect = |i: i64| -> usize {
        let n = SIDE as i64;
        let i = if i < 0 { -i } else { i };
        (if i >= n { 2 * (n - 1) - i } else { i }) as usize
    };
    let mut out = [0u8; SIDE * SIDE];
    for r in 0..SIDE as i64 {
        for c in 0..SIDE as i64 {
            let mut acc = 0f32;
            for (i, ky) in k1.iter().enumerate() {
                let y = reflect(r + i as i64 - pad);
                for (j, kx) in k1.iter().enumerate() {
                    let x = reflect(c + j as i64 - pad);
                    // The 2-D weight is the float32 product ky*kx, as torch.mm
                    // forms it; oneDNN accumulates row by row with FMAs.
                    acc = (img[y * SIDE + x] as f32).mul_add(ky * kx, acc);
                }
            }
            out[(r * SIDE as i64 + c) as usize] = to_u8(acc);
        }
    }
    out
}

/// torchvision `_get_gaussian_kernel1d` in float32.
fn gaussian_kernel1d(kernel: usize, sigma: f32) -> Vec<f32> {
    let half = (kernel as f32 - 1.0) * 0.5;
    let pdf: Vec<f32> = (0..kernel)
        .map(|i| {
            let x = linspace_f32(-half, half, kernel, i);
            let z = x / sigma;
            // Correctly rounded float32 exp (via f64). torch uses Sleef's
            // expf, which agrees for the project's kernel (exp(-0.5) and
            // exp(-0.125) lie 0.11 and 0.15 ulp from their float32 values,
            // far from a rounding boundary) but not for every argument.
            ((-0.5f32 * (z * z)) as f64).exp() as f32
        })
        .collect();
    let sum: f32 = pdf.iter().sum();
    pdf.iter().map(|p| p / sum).collect()
}

/// Element `idx` of `torch.linspace(start, end, steps)` in float32: ATen
/// counts from the start for the first half and back from the end for the
/// second, so the endpoints are exact.
fn linspace_f32(start: f32, end: f32, steps: usize, idx: usize) -> f32 {
    if steps == 1 {
        return start;
    }
    let step = (end - start) / (steps - 1) as f32;
    if idx < steps / 2 {
        start + step * idx as f32
    } else {
        end - step * (steps - idx - 1) as f32
    }
}

// ---------------------------------------------------------------------------
// torch sampling helpers
// ---------------------------------------------------------------------------

/// `torch.randint(low, high, (1,)).item()`: uniform integer in `[low, high)`.
/// (torch reduces a 32-bit draw modulo the range, a bias below 1e-8 for
/// these ranges; `random_range` is unbiased.)
fn randint(rng: &mut impl Rng, low: i64, high: i64) -> i64 {
    rng.random_range(low..high)
}

/// `torch.empty(1).uniform_(from, to).item()` for a float32 tensor: a 24-bit
/// uniform `x` in `[0, 1)`, `x * (to - from) + from` in double with `from`,
/// `to` and their difference in float32, stored as float32.
fn uniform_f32(rng: &mut impl Rng, from: f32, to: f32) -> f32 {
    let x = (rng.random::<u32>() & 0x00FF_FFFF) as f64 / (1u32 << 24) as f64;
    (x * (to - from) as f64 + from as f64) as f32
}

/// torchvision's shared area/aspect draw (RandomResizedCrop, RandomErasing):
/// `area * U(scale)` and `exp(U(log(ratio)))`, the log, uniform and exp in
/// float32 as torch computes them, then `(round(sqrt(A * r)),
/// round(sqrt(A / r)))` with Python's round-half-to-even.
fn sample_area_aspect(rng: &mut impl Rng, scale: (f64, f64), ratio: (f64, f64)) -> (i64, i64) {
    let area = (SIDE * SIDE) as f64;
    let log_lo = (ratio.0 as f32).ln();
    let log_hi = (ratio.1 as f32).ln();
    let target = area * uniform_f32(rng, scale.0 as f32, scale.1 as f32) as f64;
    let aspect = uniform_f32(rng, log_lo, log_hi).exp() as f64;
    let a = (target * aspect).sqrt().round_ties_even() as i64;
    let b = (target / aspect).sqrt().round_ties_even() as i64;
    (a, b)
}

// ---------------------------------------------------------------------------
// Random perspective
// ---------------------------------------------------------------------------

/// Corner correspondences of a perspective warp: `start` are the image
/// corners `[top-left, top-right, bottom-right, bottom-left]` as `[x, y]`,
/// `end` where they move to. Output pixel `end[k]` samples input `start[k]`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PerspectiveParams {
    /// Source corners `[[0, 0], [27, 0], [27, 27], [0, 27]]`.
    pub start: [[f64; 2]; 4],
    /// Destination corners, each moved inward by at most
    /// `int(distortion * 14)` pixels per axis.
    pub end: [[f64; 2]; 4],
}

/// Draw `RandomPerspective.get_params(28, 28, distortion)`.
///
/// With `d = int(distortion * 14)` (truncated like Python's `int`) and
/// `randint(a, b)` uniform on `[a, b)`, the draws in torchvision's order are
/// top-left `(randint(0, d+1), randint(0, d+1))`, top-right
/// `(randint(27-d, 28), randint(0, d+1))`, bottom-right
/// `(randint(27-d, 28), randint(27-d, 28))`, bottom-left
/// `(randint(0, d+1), randint(27-d, 28))`.
///
/// # Panics
/// If `distortion` is negative (an empty `randint` range; torch raises too).
/// torchvision documents `distortion_scale` in `[0, 1]`.
pub fn perspective_params(distortion: f64, rng: &mut impl Rng) -> PerspectiveParams {
    let (w, h) = (SIDE as i64, SIDE as i64);
    let dw = (distortion * (w / 2) as f64) as i64;
    let dh = (distortion * (h / 2) as f64) as i64;
    let mut draw = |lo: i64, hi: i64| randint(rng, lo, hi) as f64;
    let top_left = [draw(0, dw + 1), draw(0, dh + 1)];
    let top_right = [draw(w - dw - 1, w), draw(0, dh + 1)];
    let bot_right = [draw(w - dw - 1, w), draw(h - dh - 1, h)];
    let bot_left = [draw(0, dw + 1), draw(h - dh - 1, h)];
    let (wm, hm) = ((w - 1) as f64, (h - 1) as f64);
    PerspectiveParams {
        start: [[0.0, 0.0], [wm, 0.0], [wm, hm], [0.0, hm]],
        end: [top_left, top_right, bot_right, bot_left],
    }
}

/// `_get_perspective_coeffs`: the 8 coefficients `(a..h)` mapping an output
/// point `(x, y)` to the input point
/// `((a x + b y + c) / (g x + h y + 1), (d x + e y + f) / (g x + h y + 1))`,
/// solved in f64 (torch uses a QR least-squares solve of the same square
/// system; the solutions agree to ~1e-15, far below the float32 cast that
/// follows) and rounded to float32.
fn perspective_coeffs(p: &PerspectiveParams) -> [f32; 8] {
    let mut a = [[0f64; 9]; 8];
    for (i, (e, s)) in p.end.iter().zip(&p.start).enumerate() {
        a[2 * i] = [e[0], e[1], 1.0, 0.0, 0.0, 0.0, -s[0] * e[0], -s[0] * e[1], s[0]];
        a[2 * i + 1] = [0.0, 0.0, 0.0, e[0], e[1], 1.0, -s[1] * e[0], -s[1] * e[1], s[1]];
    }
    // Gaussian elimination with partial pivoting on the augmented matrix.
    for col in 0..8 {
        let piv = (col..8)
            .max_by(|&i, &j| a[i][col].abs().total_cmp(&a[j][col].abs()))
            .expect("non-empty range");
        a.swap(col, piv);
        assert!(a[col][col] != 0.0, "degenerate perspective corners");
        let pivot_row = a[col];
        for row in a.iter_mut().skip(col + 1) {
            let f = row[col] / pivot_row[col];
            for (v, p) in row.iter_mut().zip(&pivot_row).skip(col) {
                *v -= f * p;
            }
        }
    }
    let mut x = [0f64; 8];
    for row in (0..8).rev() {
        let s: f64 = (row + 1..8).map(|k| a[row][k] * x[k]).sum();
        x[row] = (a[row][8] - s) / a[row][row];
    }
    x.map(|v| v as f32)
}

/// Apply a perspective warp: torchvision `F.perspective(img, start, end,
/// InterpolationMode.BILINEAR, fill=[0.0])` on a `uint8` tensor.
///
/// float32 like the tensor path: `_perspective_grid` (pixel centres
/// `0.5..=27.5`, numerator coefficients divided by 14, `num / den - 1`),
/// then bilinear `grid_sample` with zero padding and `align_corners=False`.
/// Because `fill` is given, torchvision also warps a channel of ones and
/// multiplies the result by it, so pixels whose footprint leaves the image
/// are darkened in proportion (with fill 0 this is `img * mask`), unlike a
/// plain zero-padded `grid_sample`.
pub fn perspective(img: &Image, params: &PerspectiveParams) -> Image {
    let c = perspective_coeffs(params);
    let half = SIDE as f32 * 0.5;
    let t1 = [
        c[0] / half,
        c[1] / half,
        c[2] / half,
        c[3] / half,
        c[4] / half,
        c[5] / half,
    ];
    let mut out = [0u8; SIDE * SIDE];
    for r in 0..SIDE {
        for col in 0..SIDE {
            let x = linspace_f32(0.5, SIDE as f32 - 0.5, SIDE, col);
            let y = linspace_f32(0.5, SIDE as f32 - 0.5, SIDE, r);
            let num_x = dot3(x, y, [t1[0], t1[1], t1[2]]);
            let num_y = dot3(x, y, [t1[3], t1[4], t1[5]]);
            let den = dot3(x, y, [c[6], c[7], 1.0]);
            let (v, mask) = bilinear_zeros(img, unnormalize(num_x / den - 1.0), unnormalize(num_y / den - 1.0));
            // `img * mask + (1 - mask) * fill` with fill 0 is exactly `img * mask`.
            out[r * SIDE + col] = to_u8(v * mask);
        }
    }
    out
}

/// One output of ATen's vectorised bilinear `grid_sample` with zero padding at
/// input coordinates `(x, y)`: returns the interpolated value and the
/// interpolated all-ones mask channel (the sum of in-bounds weights), with
/// torch's float32 operation order.
fn bilinear_zeros(img: &Image, x: f32, y: f32) -> (f32, f32) {
    let (x_w, y_n) = (x.floor(), y.floor());
    let (w, n) = (x - x_w, y - y_n);
    let (e, s) = (1.0 - w, 1.0 - n);
    let weights = [s * e, s * w, n * e, n * w];
    let (xi, yi) = (x_w as i64, y_n as i64);
    let corners = [(yi, xi), (yi, xi + 1), (yi + 1, xi), (yi + 1, xi + 1)];
    let inside = |(cy, cx): (i64, i64)| (0..SIDE as i64).contains(&cy) && (0..SIDE as i64).contains(&cx);
    // Out-of-bounds corners read 0 (masked gather), in-bounds mask reads 1.
    let gather = |k: usize| -> (f32, f32) {
        let (cy, cx) = corners[k];
        if inside(corners[k]) {
            (img[cy as usize * SIDE + cx as usize] as f32, 1.0)
        } else {
            (0.0, 0.0)
        }
    };
    // `nw*wnw + ne*wne + sw*wsw + se*wse`, which torch's build fuses into a
    // product followed by three FMAs, left to right.
    let (p0, m0) = gather(0);
    let (mut v, mut m) = (p0 * weights[0], m0 * weights[0]);
    for (k, wt) in weights.iter().enumerate().skip(1) {
        let (p, one) = gather(k);
        v = p.mul_add(*wt, v);
        m = one.mul_add(*wt, m);
    }
    (v, m)
}

/// `RandomPerspective(distortion_scale=distortion, p=1.0,
/// interpolation=BILINEAR, fill=0)`: draw [`perspective_params`] and apply
/// [`perspective`]. Returns the warped image and the sampled corners.
pub fn random_perspective(img: &Image, distortion: f64, rng: &mut impl Rng) -> (Image, PerspectiveParams) {
    let params = perspective_params(distortion, rng);
    (perspective(img, &params), params)
}

// ---------------------------------------------------------------------------
// Random erasing
// ---------------------------------------------------------------------------

/// A rectangle of the image: rows `top..top + height`, columns
/// `left..left + width`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ErasingParams {
    /// First erased row.
    pub top: usize,
    /// First erased column.
    pub left: usize,
    /// Number of erased rows.
    pub height: usize,
    /// Number of erased columns.
    pub width: usize,
}

/// Draw `RandomErasing.get_params(img, scale, ratio)` for a 28x28 image.
///
/// Up to 10 tries of: `A = 784 * U(scale)`, `r = exp(U(log ratio))` (float32
/// like torch), `h = round(sqrt(A r))`, `w = round(sqrt(A / r))` (half to
/// even, Python's `round`); a try is accepted iff `h < 28 and w < 28`, and
/// then `top = randint(0, 28 - h + 1)`, `left = randint(0, 28 - w + 1)`.
/// `None` when all 10 tries fail (torchvision then returns the image as is).
pub fn erasing_params(scale: (f64, f64), ratio: (f64, f64), rng: &mut impl Rng) -> Option<ErasingParams> {
    let side = SIDE as i64;
    for _ in 0..10 {
        let (h, w) = sample_area_aspect(rng, scale, ratio);
        if !(h < side && w < side) {
            continue;
        }
        let top = randint(rng, 0, side - h + 1);
        let left = randint(rng, 0, side - w + 1);
        return Some(ErasingParams {
            top: top as usize,
            left: left as usize,
            height: h as usize,
            width: w as usize,
        });
    }
    None
}

/// `F.erase`: set the rectangle to `value`.
pub fn erase(img: &Image, params: &ErasingParams, value: u8) -> Image {
    let mut out = *img;
    for r in params.top..params.top + params.height {
        out[r * SIDE + params.left..r * SIDE + params.left + params.width].fill(value);
    }
    out
}

/// `RandomErasing(p=1, scale, ratio, value)`: draw [`erasing_params`] and
/// apply [`erase`]; the image is returned unchanged with `None` when no
/// rectangle was accepted in 10 tries. torchvision's defaults are
/// `scale=(0.02, 0.33)`, `ratio=(0.3, 3.3)`, `value=0`.
pub fn random_erasing(
    img: &Image,
    scale: (f64, f64),
    ratio: (f64, f64),
    value: u8,
    rng: &mut impl Rng,
) -> (Image, Option<ErasingParams>) {
    match erasing_params(scale, ratio, rng) {
        Some(p) => (erase(img, &p, value), Some(p)),
        None => (*img, None),
    }
}

// ---------------------------------------------------------------------------
// Random resized crop
// ---------------------------------------------------------------------------

/// A crop window: rows `top..top + height`, columns `left..left + width`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CropParams {
    /// First row of the crop.
    pub top: usize,
    /// First column of the crop.
    pub left: usize,
    /// Crop height in rows (1..=28).
    pub height: usize,
    /// Crop width in columns (1..=28).
    pub width: usize,
}

/// Draw `RandomResizedCrop.get_params(img, scale, ratio)` for a 28x28 image.
///
/// Up to 10 tries of: `A = 784 * U(scale)`, `r = exp(U(log ratio))` (float32
/// like torch), `w = round(sqrt(A r))`, `h = round(sqrt(A / r))` (half to
/// even); accepted iff `0 < w <= 28 and 0 < h <= 28`, then
/// `top = randint(0, 28 - h + 1)`, `left = randint(0, 28 - w + 1)`.
/// Fallback after 10 failures is torchvision's central crop: the input
/// aspect ratio 1 is clamped into `[min(ratio), max(ratio)]` (`w = 28,
/// h = round(28 / min)` if `1 < min`, `h = 28, w = round(28 * max)` if
/// `1 > max`, else the whole image), centred with floor division.
pub fn resized_crop_params(scale: (f64, f64), ratio: (f64, f64), rng: &mut impl Rng) -> CropParams {
    let side = SIDE as i64;
    for _ in 0..10 {
        let (w, h) = sample_area_aspect(rng, scale, ratio);
        if 0 < w && w <= side && 0 < h && h <= side {
            let top = randint(rng, 0, side - h + 1);
            let left = randint(rng, 0, side - w + 1);
            return CropParams {
                top: top as usize,
                left: left as usize,
                height: h as usize,
                width: w as usize,
            };
        }
    }
    let in_ratio = 1.0;
    let (rmin, rmax) = (ratio.0.min(ratio.1), ratio.0.max(ratio.1));
    let (w, h) = if in_ratio < rmin {
        (side, (side as f64 / rmin).round_ties_even() as i64)
    } else if in_ratio > rmax {
        ((side as f64 * rmax).round_ties_even() as i64, side)
    } else {
        (side, side)
    };
    CropParams {
        top: ((side - h) / 2) as usize,
        left: ((side - w) / 2) as usize,
        height: h as usize,
        width: w as usize,
    }
}

/// `F.resized_crop(img, top, left, height, width, [28, 28], BILINEAR,
/// antialias=True)` on a `uint8` tensor: crop, then resize back to 28x28.
///
/// The resize is torch's antialiased bilinear kernel in float32
/// (`_upsample_bilinear2d_aa`): separable, width first then height, each
/// output a normalised triangle-filter sum over the input pixels whose
/// centres lie within one support of the output centre `scale * (i + 0.5)`
/// (half-pixel centres, `align_corners=False`), then round half to even.
/// A crop is never larger than 28x28, so this only ever upsamples (or keeps
/// a dimension, which torch skips): the antialias support then stays at 1
/// input pixel and the result is mathematically ordinary bilinear
/// interpolation with edge clamping; only float32 rounding follows the AA
/// kernel's order.
///
/// # Panics
/// If the window is empty or does not fit inside the image.
pub fn resized_crop(img: &Image, params: &CropParams) -> Image {
    let (h, w) = (params.height, params.width);
    assert!(h > 0 && w > 0, "empty crop");
    assert!(
        params.top + h <= SIDE && params.left + w <= SIDE,
        "crop outside the image"
    );
    // F.resize returns the input untouched when the size already matches.
    if h == SIDE && w == SIDE {
        return *img;
    }
    let crop: Vec<f32> = (0..h)
        .flat_map(|r| (0..w).map(move |c| (r, c)))
        .map(|(r, c)| img[(params.top + r) * SIDE + params.left + c] as f32)
        .collect();
    // Horizontal pass (w -> 28) into an h x 28 float32 buffer, skipped when
    // the width already matches, as ATen does.
    let horiz: Vec<f32> = if w == SIDE {
        crop
    } else {
        let taps = aa_linear_taps(w, SIDE);
        let mut buf = Vec::with_capacity(h * SIDE);
        for r in 0..h {
            buf.extend(taps.iter().map(|t| t.apply(|j| crop[r * w + j])));
        }
        buf
    };
    let mut out = [0u8; SIDE * SIDE];
    if h == SIDE {
        for (o, v) in out.iter_mut().zip(&horiz) {
            *o = to_u8(*v);
        }
    } else {
        let taps = aa_linear_taps(h, SIDE);
        for (r, t) in taps.iter().enumerate() {
            for c in 0..SIDE {
                out[r * SIDE + c] = to_u8(t.apply(|j| horiz[j * SIDE + c]));
            }
        }
    }
    out
}

/// The input window and normalised weights of one output sample of ATen's
/// antialiased linear resampling.
struct AaTaps {
    xmin: usize,
    weights: Vec<f32>,
}

impl AaTaps {
    /// `interpolate_aa_single_dim`: `t0*w0`, then `+= tj*wj` left to right,
    /// each step contracted to an FMA by the compiler in torch's build.
    fn apply(&self, at: impl Fn(usize) -> f32) -> f32 {
        let mut acc = at(self.xmin) * self.weights[0];
        for (j, wt) in self.weights.iter().enumerate().skip(1) {
            acc = at(self.xmin + j).mul_add(*wt, acc);
        }
        acc
    }
}

/// `HelperInterpLinear::compute_index_ranges_weights` with `antialias=True`
/// for float32 input, reproducing its mixed float/double expressions.
fn aa_linear_taps(input: usize, output: usize) -> Vec<AaTaps> {
    let scale = input as f32 / output as f32;
    // Bilinear filter support is 1 pixel, widened by the scale only when
    // downsampling (never here: a crop is at most the output size).
    let support: f32 = if scale >= 1.0 { scale } else { 1.0 };
    let invscale: f32 = if scale >= 1.0 { 1.0 / scale } else { 1.0 };
    let max_interp = support.ceil() as i64 * 2 + 1;
    (0..output)
        .map(|i| {
            let center = (scale as f64 * (i as f64 + 0.5)) as f32;
            let xmin = (((center - support) as f64 + 0.5) as i64).max(0);
            let xsize = (((center + support) as f64 + 0.5) as i64).min(input as i64) - xmin;
            let xsize = xsize.clamp(0, max_interp);
            let mut weights: Vec<f32> = (0..xsize)
                .map(|j| {
                    let d = ((((j + xmin) as f32 - center) as f64 + 0.5) * invscale as f64) as f32;
                    let d = d.abs();
                    if d < 1.0 {
                        (1.0 - d as f64) as f32
                    } else {
                        0.0
                    }
                })
                .collect();
            let total: f32 = weights.iter().sum();
            if total != 0.0 {
                for wt in &mut weights {
                    *wt /= total;
                }
            }
            AaTaps {
                xmin: xmin as usize,
                weights,
            }
        })
        .collect()
}

/// `RandomResizedCrop(28, scale, ratio, interpolation=BILINEAR,
/// antialias=True)`: draw [`resized_crop_params`] and apply
/// [`resized_crop`]. torchvision's defaults are `scale=(0.08, 1.0)`,
/// `ratio=(3/4, 4/3)`.
pub fn random_resized_crop(
    img: &Image,
    scale: (f64, f64),
    ratio: (f64, f64),
    rng: &mut impl Rng,
) -> (Image, CropParams) {
    let params = resized_crop_params(scale, ratio, rng);
    (resized_crop(img, &params), params)
}

#[cfg(test)]
mod tests;
