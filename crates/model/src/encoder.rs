//! The fixed random encoder `r(x) = relu(W1 x - mean_j (W1 x)_j)`.
//!
//! The fly-hash `W1` is 0/1 with exactly `k` ones per row, so a unit's
//! pre-activation is a sum of `k` normalised pixels. With
//! `x_i = (p_i / 255 - mu) / sigma` and integer pixel sums `S_j`,
//! `m_j - mean(m) = (S_j - mean(S)) / (255 sigma)`: the normalisation offset
//! cancels, and the encoder reduces to exact integer sums of `k` pixels,
//! ~500x less work than the dense `7840 x 784` product a PyTorch user runs.
//! Sixteen images are summed at once ([`gather`]: one vector load per
//! pixel of a unit serves all sixteen), a few µs per image here.
//!
//! The sums are stored as they are ([`EncodedImages`]: 16 bits per unit,
//! the integer's exact half-precision form, and one `f32` mean per image:
//! half the bytes of `f32` activations), and
//! the kernels form `r = relu(S - mean) * scale` in registers as they use
//! it ([`crate::kernel`]).

use rand::seq::index::sample;
use rand::Rng;
use rand_distr::{Distribution, Normal};
use rayon::prelude::*;
use tgsh_common::PIXELS;

use crate::kernel::{Rows, SUM_SCALE};

mod gather;

/// MNIST normalisation, as in the reference notebook.
pub const MNIST_MEAN: f32 = 0.1307;
/// MNIST normalisation, as in the reference notebook.
pub const MNIST_STD: f32 = 0.3081;

/// A fixed random encoder.
#[derive(Debug, Clone)]
pub enum Encoder {
    /// Each unit sums `inputs_per_unit` pixels drawn without replacement.
    FlyHash {
        /// `hidden * k` pixel indices, unit-major.
        inputs: Vec<u16>,
        /// Pixels per unit.
        k: usize,
        /// CSR offsets: units reading pixel `p` are `units[offsets[p]..offsets[p+1]]`.
        offsets: Vec<u32>,
        /// Units, grouped by pixel.
        units: Vec<u32>,
    },
    /// Dense Gaussian projection, `hidden x 784`, row-major.
    Dense {
        /// The weights.
        weight: Vec<f32>,
        /// Hidden units.
        hidden: usize,
    },
}

impl Encoder {
    /// Draws a fly-hash encoder: every unit samples `k` distinct pixels uniformly.
    pub fn flyhash(hidden: usize, k: usize, rng: &mut impl Rng) -> Encoder {
        let mut inputs = Vec::with_capacity(hidden * k);
        for _ in 0..hidden {
            let mut chosen: Vec<u16> = sample(rng, PIXELS, k).into_iter().map(|i| i as u16).collect();
            chosen.sort_unstable();
            inputs.extend(chosen);
        }
        Encoder::from_inputs(inputs, k)
    }

    /// A fly-hash encoder from explicit indices (`hidden * k`, unit-major).
    pub fn from_inputs(inputs: Vec<u16>, k: usize) -> Encoder {
        let mut counts = vec![0u32; PIXELS + 1];
        for &p in &inputs {
            counts[p as usize + 1] += 1;
        }
        for p in 0..PIXELS {
            counts[p + 1] += counts[p];
        }
        let offsets = counts.clone();
        let mut fill = counts;
        let mut units = vec![0u32; inputs.len()];
        for (i, &p) in inputs.iter().enumerate() {
            units[fill[p as usize] as usize] = (i / k) as u32;
            fill[p as usize] += 1;
        }
        Encoder::FlyHash {
            inputs,
            k,
            offsets,
            units,
        }
    }

    /// The encoder a model file stores as a dense `H x 784` matrix: a fly
    /// hash when every entry is 0 or 1 and every row has the same number of
    /// ones (so it is evaluated by the exact integer sums), else dense.
    pub fn from_dense_weight(weight: Vec<f32>, hidden: usize) -> Encoder {
        let binary = weight.iter().all(|&w| w == 0.0 || w == 1.0);
        let mut inputs = Vec::new();
        let mut k = None;
        if binary && hidden > 0 {
            for row in weight.chunks_exact(PIXELS) {
                let ones: Vec<u16> = (0..PIXELS as u16).filter(|&p| row[p as usize] == 1.0).collect();
                if *k.get_or_insert(ones.len()) != ones.len() || ones.is_empty() {
                    k = None;
                    break;
                }
                inputs.extend(ones);
            }
        }
        match k {
            Some(k) if binary => Encoder::from_inputs(inputs, k),
            _ => Encoder::Dense { weight, hidden },
        }
    }

    /// Draws a dense Gaussian encoder, `N(0, k/784)` per weight so a unit's
    /// squared weight norm matches a fly-hash unit's on average.
    pub fn dense(hidden: usize, k: usize, rng: &mut impl Rng) -> Encoder {
        let normal = Normal::new(0.0f32, (k as f32 / PIXELS as f32).sqrt()).expect("valid std");
        let weight = (0..hidden * PIXELS).map(|_| normal.sample(rng)).collect();
        Encoder::Dense { weight, hidden }
    }

    /// Hidden units `H`.
    pub fn hidden(&self) -> usize {
        match self {
            Encoder::FlyHash { inputs, k, .. } => inputs.len() / k,
            Encoder::Dense { hidden, .. } => *hidden,
        }
    }

    /// `W1` as a dense `H x 784` matrix (0/1 for the fly hash): what the
    /// model file stores, so any reader can apply it with one matmul.
    pub fn dense_weight(&self) -> Vec<f32> {
        match self {
            Encoder::FlyHash { inputs, k, .. } => {
                let mut w = vec![0f32; self.hidden() * PIXELS];
                for (i, &p) in inputs.iter().enumerate() {
                    w[(i / k) * PIXELS + p as usize] = 1.0;
                }
                w
            }
            Encoder::Dense { weight, .. } => weight.clone(),
        }
    }

    /// Encodes `n` images (concatenated 784-byte rows) into `n x H` activations
    /// `r(x)` as `f32` (the kernels read the compact [`EncodedImages`]
    /// instead; these are its values, `r' * scale`, bit for bit).
    pub fn encode(&self, images: &[u8]) -> Vec<f32> {
        let mut encoded = EncodedImages::default();
        self.encode_rows_into(images, None, &mut encoded);
        let rows = encoded.rows();
        (0..rows.len()).flat_map(|i| rows.row_values(i, None)).collect()
    }

    /// The `scale` of its rows: `r = r' * scale` ([`Rows::scale`]).
    pub fn scale(&self) -> f32 {
        if self.compact_sums() {
            SUM_SCALE
        } else {
            1.0
        }
    }

    /// Whether this encoder's pre-activations are integer sums kept in 16
    /// bits (half precision, exact below 2048: the fly hash with at most
    /// eight pixels per unit; wider units keep `f32` activations).
    fn compact_sums(&self) -> bool {
        matches!(self, Encoder::FlyHash { k, .. } if k * 255 < 2048)
    }

    /// Encodes `n` images into `out`, reused from call to call (a task's
    /// encodings are ~1 GB; fresh pages for every task would cost more than
    /// the encoding itself). With `bias`, `r = relu(W1 x - mean(W1 x) + b)`:
    /// input conditioning's task encoding (`b = U e(s)`), before the ReLU.
    ///
    /// The fly hash stores its exact integer sums (16 bits) and one mean
    /// per image, `r = relu(S - mean + b / scale) * scale`; other encoders
    /// store `r` as `f32`.
    pub fn encode_rows_into(&self, images: &[u8], bias: Option<&[f32]>, out: &mut EncodedImages) {
        let h = self.hidden();
        if let Some(b) = bias {
            assert_eq!(b.len(), h, "the bias needs one value per hidden unit");
        }
        let n = images.len() / PIXELS;
        out.hidden = h;
        out.shift.clear();
        match self {
            Encoder::FlyHash { inputs, k, offsets, .. } if self.compact_sums() => {
                out.compact = true;
                out.values.clear();
                fresh_len(&mut out.sums, n * h);
                out.means.resize(n, 0.0);
                if let Some(b) = bias {
                    out.shift.extend(b.iter().map(|&b| b / SUM_SCALE));
                }
                out.sums
                    .par_chunks_mut(gather::BATCH * h)
                    .zip(out.means.par_chunks_mut(gather::BATCH))
                    .zip(images.par_chunks(gather::BATCH * PIXELS))
                    .for_each_init(Vec::new, |transposed, ((rows, means), images)| {
                        gather::sums(images, inputs, *k, rows, transposed);
                        for (mean, image) in means.iter_mut().zip(images.chunks_exact(PIXELS)) {
                            *mean = mean_of_sums(image, offsets, h);
                        }
                    });
            }
            Encoder::FlyHash { offsets, units, .. } => {
                // Sums past 2047: r as f32, by the same formula.
                out.compact = false;
                out.sums.clear();
                out.means.clear();
                fresh_len(&mut out.values, n * h);
                out.values
                    .par_chunks_mut(h)
                    .zip(images.par_chunks(PIXELS))
                    .for_each_init(
                        || vec![0u32; h],
                        |sums, (row, image)| {
                            let mean = scatter_sums(image, offsets, units, sums);
                            for (j, (r, &s)) in row.iter_mut().zip(sums.iter()).enumerate() {
                                let v = s as f32 - mean + bias.map_or(0.0, |b| b[j] / SUM_SCALE);
                                *r = if v > 0.0 { v * SUM_SCALE } else { 0.0 };
                            }
                        },
                    );
            }
            Encoder::Dense { weight, .. } => {
                out.compact = false;
                out.sums.clear();
                out.means.clear();
                fresh_len(&mut out.values, n * h);
                // A dense 7840x784 product per image: gemm in blocks of rows
                // rather than a hand loop (~10x faster).
                const GEMM_BLOCK: usize = 2048;
                let mut x = Vec::with_capacity(GEMM_BLOCK * PIXELS);
                for (images, out) in images
                    .chunks(GEMM_BLOCK * PIXELS)
                    .zip(out.values.chunks_mut(GEMM_BLOCK * h))
                {
                    x.clear();
                    x.extend(images.iter().map(|&p| (p as f32 / 255.0 - MNIST_MEAN) / MNIST_STD));
                    let rows = images.len() / PIXELS;
                    // out (rows x h) = x (rows x 784) * weightᵀ (784 x h), all row-major.
                    // SAFETY: the pointers cover rows*h, rows*784 and h*784 values
                    // with the strides given (column stride 1, row stride = width).
                    unsafe {
                        gemm::gemm(
                            rows,
                            h,
                            PIXELS,
                            out.as_mut_ptr(),
                            1,
                            h as isize,
                            false,
                            x.as_ptr(),
                            1,
                            PIXELS as isize,
                            weight.as_ptr(),
                            PIXELS as isize,
                            1,
                            0.0,
                            1.0,
                            false,
                            false,
                            false,
                            gemm::Parallelism::Rayon(0),
                        );
                    }
                    out.par_chunks_mut(h).for_each(|row| center_relu_biased(row, bias));
                }
            }
        }
    }

    /// [`Encoder::encode_rows_into`] into a new buffer.
    pub fn encode_rows(&self, images: &[u8], bias: Option<&[f32]>) -> EncodedImages {
        let mut out = EncodedImages::default();
        self.encode_rows_into(images, bias, &mut out);
        out
    }
}

/// Makes `v` `len` long for a caller that overwrites every element. Memory
/// it already has is reused as it is; new memory comes zeroed from the OS
/// untouched (so the threads that fill it fault it in, in parallel) and,
/// on Linux, marked for transparent huge pages: a task's ~1 GB of sums
/// then costs ~500 page faults instead of ~250,000, and its random rows
/// far fewer TLB misses.
fn fresh_len<T: Clone + Default>(v: &mut Vec<T>, len: usize) {
    if v.capacity() < len {
        *v = Vec::new(); // free the old memory first
        *v = vec![T::default(); len];
        huge_pages(v);
    } else {
        v.resize(len, T::default());
    }
}

/// Asks the OS to back `v` with transparent huge pages (a hint: nothing
/// changes where they are unavailable).
fn huge_pages<T>(v: &[T]) {
    #[cfg(target_os = "linux")]
    {
        const HUGE: usize = 2 << 20;
        let (start, bytes) = (v.as_ptr() as usize, std::mem::size_of_val(v));
        let first = start.next_multiple_of(HUGE);
        let end = (start + bytes) / HUGE * HUGE;
        if end > first {
            // SAFETY: the range lies inside `v`'s allocation; MADV_HUGEPAGE
            // only changes how the kernel backs it, never its contents.
            unsafe { libc::madvise(first as *mut libc::c_void, end - first, libc::MADV_HUGEPAGE) };
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = v;
}

/// A pixel-value sum: `u16` for the compact rows, `u32` past 16 bits.
trait Sum: Copy + Default + std::ops::AddAssign + Send {
    fn from_pixel(v: u8) -> Self;
}

impl Sum for u16 {
    #[inline(always)]
    fn from_pixel(v: u8) -> Self {
        v as u16
    }
}

impl Sum for u32 {
    #[inline(always)]
    fn from_pixel(v: u8) -> Self {
        v as u32
    }
}

/// One image's fly-hash sums into `row` (overwritten), scattered from the
/// non-zero pixels through the pixel -> units adjacency; returns their mean
/// over units.
#[inline]
fn scatter_sums<S: Sum>(image: &[u8], offsets: &[u32], units: &[u32], row: &mut [S]) -> f32 {
    row.fill(S::default());
    let h = row.len();
    let mut total = 0u64;
    for (p, &value) in image.iter().enumerate() {
        if value != 0 {
            let readers = &units[offsets[p] as usize..offsets[p + 1] as usize];
            let v = S::from_pixel(value);
            for &u in readers {
                row[u as usize] += v;
            }
            total += value as u64 * readers.len() as u64;
        }
    }
    (total as f64 / h as f64) as f32
}

/// The mean over units of one image's fly-hash sums: `Σ_j S_j = Σ_p x_p
/// deg(p)`, with `deg(p)` the units reading pixel `p` (exact in integers).
fn mean_of_sums(image: &[u8], offsets: &[u32], h: usize) -> f32 {
    // u32 is exact while 255 * Σ_p deg(p) < 2^32, i.e. up to 16.8 million inputs.
    let (lo, hi) = (&offsets[..PIXELS], &offsets[1..=PIXELS]);
    let total: u64 = if offsets[PIXELS] as u64 * 255 <= u32::MAX as u64 {
        image
            .iter()
            .zip(lo.iter().zip(hi))
            .map(|(&x, (&lo, &hi))| x as u32 * (hi - lo))
            .sum::<u32>() as u64
    } else {
        image
            .iter()
            .zip(lo.iter().zip(hi))
            .map(|(&x, (&lo, &hi))| x as u64 * (hi - lo) as u64)
            .sum()
    };
    (total as f64 / h as f64) as f32
}

/// Encoded images, owned and reusable: the fly hash's integer sums and
/// means, or `f32` activations (see [`Encoder::encode_rows_into`]).
#[derive(Debug, Clone, Default)]
pub struct EncodedImages {
    hidden: usize,
    /// Sums and means (else `values`).
    compact: bool,
    sums: Vec<u16>,
    means: Vec<f32>,
    shift: Vec<f32>,
    values: Vec<f32>,
}

impl EncodedImages {
    /// The borrowed view the kernels read.
    pub fn rows(&self) -> Rows<'_> {
        if self.compact {
            Rows::Sums {
                sums: &self.sums,
                means: &self.means,
                shift: (!self.shift.is_empty()).then_some(&self.shift[..]),
                hidden: self.hidden,
            }
        } else {
            Rows::Values {
                values: &self.values,
                hidden: self.hidden,
            }
        }
    }

    /// Number of images.
    pub fn len(&self) -> usize {
        self.rows().len()
    }

    /// Whether there are no images.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// `r = relu(m - mean(m))` in place.
pub fn center_relu(row: &mut [f32]) {
    center_relu_biased(row, None)
}

/// `r = relu(m - mean(m) + b)` in place (`b = 0` when `None`).
pub fn center_relu_biased(row: &mut [f32], bias: Option<&[f32]>) {
    let mean = (row.iter().map(|&v| v as f64).sum::<f64>() / row.len() as f64) as f32;
    match bias {
        None => {
            for v in row.iter_mut() {
                *v = (*v - mean).max(0.0);
            }
        }
        Some(b) => {
            for (v, &b) in row.iter_mut().zip(b) {
                *v = (*v - mean + b).max(0.0);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    /// The encoder as docs/METHOD.md writes it: normalise, dense 0/1 matmul,
    /// subtract the mean over units, ReLU.
    fn reference(w: &[f32], image: &[u8]) -> Vec<f32> {
        centred_pre_activation(w, image)
            .iter()
            .map(|&v| v.max(0.0) as f32)
            .collect()
    }

    /// The dense formula's pre-activation minus its mean over units, in f64.
    fn centred_pre_activation(w: &[f32], image: &[u8]) -> Vec<f64> {
        let x: Vec<f64> = image
            .iter()
            .map(|&p| (p as f64 / 255.0 - MNIST_MEAN as f64) / MNIST_STD as f64)
            .collect();
        let m: Vec<f64> = w
            .chunks_exact(PIXELS)
            .map(|row| row.iter().zip(&x).map(|(&a, &b)| a as f64 * b).sum())
            .collect();
        let mean = m.iter().sum::<f64>() / m.len() as f64;
        m.iter().map(|&v| v - mean).collect()
    }

    #[test]
    fn flyhash_rows_have_k_distinct_pixels() {
        let enc = Encoder::flyhash(50, 7, &mut ChaCha8Rng::seed_from_u64(1));
        let w = enc.dense_weight();
        for row in w.chunks_exact(PIXELS) {
            assert_eq!(row.iter().filter(|&&v| v == 1.0).count(), 7);
            assert_eq!(row.iter().filter(|&&v| v != 0.0 && v != 1.0).count(), 0);
        }
    }

    #[test]
    fn sparse_integer_encoding_equals_the_dense_normalised_formula() {
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        let enc = Encoder::flyhash(300, 7, &mut rng);
        let images: Vec<u8> = (0..3 * PIXELS)
            .map(|i| {
                if rng.random::<f32>() < 0.2 {
                    (i * 37 % 256) as u8
                } else {
                    0
                }
            })
            .collect();
        let fast = enc.encode(&images);
        let w = enc.dense_weight();
        for (i, image) in images.chunks_exact(PIXELS).enumerate() {
            let slow = reference(&w, image);
            for (a, b) in fast[i * 300..(i + 1) * 300].iter().zip(&slow) {
                assert!((a - b).abs() < 1e-4, "{a} vs {b}");
            }
        }
    }

    #[test]
    fn a_bias_is_added_before_the_relu() {
        let mut rng = ChaCha8Rng::seed_from_u64(4);
        for enc in [Encoder::flyhash(60, 7, &mut rng), Encoder::dense(60, 7, &mut rng)] {
            let image: Vec<u8> = (0..PIXELS)
                .map(|i| if i % 5 == 0 { (i % 256) as u8 } else { 0 })
                .collect();
            let bias: Vec<f32> = (0..60).map(|j| (j as f32 - 30.0) * 0.1).collect();
            let plain = enc.encode_rows(&image, None).rows().row_values(0, None);
            assert_eq!(plain, enc.encode(&image));
            let biased = enc.encode_rows(&image, Some(&bias)).rows().row_values(0, None);
            // The centred pre-activation, recovered from the dense formula without the ReLU.
            let centred = centred_pre_activation(&enc.dense_weight(), &image);
            for j in 0..60 {
                let expected = (centred[j] + bias[j] as f64).max(0.0);
                assert!(
                    (biased[j] as f64 - expected).abs() < 1e-3,
                    "unit {j}: {} vs {expected}",
                    biased[j]
                );
            }
        }
    }

    #[test]
    fn compact_sums_give_the_bits_of_the_f32_formula() {
        // r = relu(S - mean) * scale, as the f32 encoder of earlier versions
        // computed it: the compact rows lose nothing.
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let enc = Encoder::flyhash(500, 7, &mut rng);
        let images: Vec<u8> = (0..4 * PIXELS)
            .map(|_| if rng.random::<f32>() < 0.3 { rng.random() } else { 0 })
            .collect();
        let encoded = enc.encode_rows(&images, None);
        let rows = encoded.rows();
        assert!(matches!(rows, Rows::Sums { .. }));
        let w = enc.dense_weight();
        for (i, image) in images.chunks_exact(PIXELS).enumerate() {
            let sums: Vec<u32> = w
                .chunks_exact(PIXELS)
                .map(|unit| unit.iter().zip(image).map(|(&a, &p)| a as u32 * p as u32).sum())
                .collect();
            let mean = (sums.iter().map(|&s| s as u64).sum::<u64>() as f64 / 500.0) as f32;
            let expected: Vec<f32> = sums
                .iter()
                .map(|&s| (s as f32 - mean).max(0.0) * (1.0 / (255.0 * MNIST_STD)))
                .collect();
            assert_eq!(rows.row_values(i, None), expected, "image {i}");
        }
    }

    #[test]
    fn wide_units_are_kept_as_f32_by_the_same_formula() {
        // 300 pixels per unit: sums up to 76,500 have no exact half-precision form.
        let mut rng = ChaCha8Rng::seed_from_u64(6);
        let wide = Encoder::flyhash(40, 300, &mut rng);
        let image: Vec<u8> = (0..PIXELS).map(|i| if i % 3 == 0 { 250 } else { 0 }).collect();
        let encoded = wide.encode_rows(&image, None);
        assert!(matches!(encoded.rows(), Rows::Values { .. }));
        let slow = reference(&wide.dense_weight(), &image);
        for (a, b) in encoded.rows().row_values(0, None).iter().zip(&slow) {
            assert!((a - b).abs() < 1e-3 * b.abs().max(1.0), "{a} vs {b}");
        }
    }

    #[test]
    fn dense_encoder_matches_the_formula() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let enc = Encoder::dense(40, 7, &mut rng);
        let image: Vec<u8> = (0..PIXELS).map(|i| (i % 251) as u8).collect();
        let fast = enc.encode(&image);
        let slow = reference(&enc.dense_weight(), &image);
        for (a, b) in fast.iter().zip(&slow) {
            assert!((a - b).abs() < 1e-3 * b.abs().max(1.0), "{a} vs {b}");
        }
    }
}
