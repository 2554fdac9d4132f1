//! The fixed random encoder `r(x) = relu(W1 x - mean_j (W1 x)_j)`.
//!
//! The fly-hash `W1` is 0/1 with exactly `k` ones per row, so a unit's
//! pre-activation is a sum of `k` normalised pixels. With
//! `x_i = (p_i / 255 - mu) / sigma` and integer pixel sums `S_j`,
//! `m_j - mean(m) = (S_j - mean(S)) / (255 sigma)`: the normalisation offset
//! cancels, and the encoder reduces to exact integer sums over the non-zero
//! pixels (about a fifth of an MNIST image), scattered through a
//! pixel -> units adjacency. That is ~15x less work than the `k`-gather and
//! ~500x less than the dense `7840 x 784` product a PyTorch user runs.

use rand::seq::index::sample;
use rand::Rng;
use rand_distr::{Distribution, Normal};
use rayon::prelude::*;
use tgsh_common::PIXELS;

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

    /// Encodes `n` images (concatenated 784-byte rows) into `n x H` activations.
    pub fn encode(&self, images: &[u8]) -> Vec<f32> {
        let mut out = Vec::new();
        self.encode_into(images, &mut out);
        out
    }

    /// Like [`Encoder::encode`], into a reused buffer: a task's activations
    /// are ~2 GB, and fresh pages for every task would cost more than the
    /// encoding itself.
    pub fn encode_into(&self, images: &[u8], out: &mut Vec<f32>) {
        self.encode_with_bias_into(images, None, out)
    }

    /// Like [`Encoder::encode_into`] with a bias `b` added to every unit's
    /// centred pre-activation before the ReLU: `r = relu(W1 x - mean(W1 x)
    /// + b)`. This is where input conditioning puts its task encoding
    /// (`b = U e(s)`); `None` gives exactly the bits of the plain encoder.
    pub fn encode_with_bias_into(&self, images: &[u8], bias: Option<&[f32]>, out: &mut Vec<f32>) {
        let h = self.hidden();
        if let Some(b) = bias {
            assert_eq!(b.len(), h, "the bias needs one value per hidden unit");
        }
        let n = images.len() / PIXELS;
        // Every element is overwritten below, so stale values never leak.
        out.resize(n * h, 0.0);
        match self {
            Encoder::FlyHash { offsets, units, .. } => {
                let scale = 1.0 / (255.0 * MNIST_STD);
                out.par_chunks_mut(h).zip(images.par_chunks(PIXELS)).for_each_init(
                    || vec![0u32; h],
                    |sums, (row, image)| {
                        sums.fill(0);
                        let mut total = 0u64;
                        for (p, &value) in image.iter().enumerate() {
                            if value != 0 {
                                let v = value as u32;
                                for &u in &units[offsets[p] as usize..offsets[p + 1] as usize] {
                                    sums[u as usize] += v;
                                }
                                total += v as u64 * (offsets[p + 1] - offsets[p]) as u64;
                            }
                        }
                        let mean = (total as f64 / h as f64) as f32;
                        match bias {
                            None => {
                                for (r, &s) in row.iter_mut().zip(sums.iter()) {
                                    *r = (s as f32 - mean).max(0.0) * scale;
                                }
                            }
                            Some(b) => {
                                for ((r, &s), &b) in row.iter_mut().zip(sums.iter()).zip(b) {
                                    *r = ((s as f32 - mean) * scale + b).max(0.0);
                                }
                            }
                        }
                    },
                );
            }
            Encoder::Dense { weight, .. } => {
                // A dense 7840x784 product per image: gemm in blocks of rows
                // rather than a hand loop (~10x faster).
                const BLOCK: usize = 2048;
                let mut x = Vec::with_capacity(BLOCK * PIXELS);
                for (images, out) in images.chunks(BLOCK * PIXELS).zip(out.chunks_mut(BLOCK * h)) {
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
            let mut plain = Vec::new();
            enc.encode_with_bias_into(&image, None, &mut plain);
            assert_eq!(plain, enc.encode(&image));
            let mut biased = Vec::new();
            enc.encode_with_bias_into(&image, Some(&bias), &mut biased);
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
