//! The fixed encoder `r(x)` on the device, for a minibatch of every lane at once.
//!
//! Lanes are ordered seed-major (lane `l = seed_index * tasks + task_slot`),
//! so the gathered pixels of one step, `lanes x rows` images, reshape to
//! `seeds x (tasks * rows) x 784` and the encoding is one batched matrix
//! product with each seed's `W1ᵀ`.
//!
//! For the fly hash the product is exact: the pixels are taken as the
//! integers 0..255 and `W1` is 0/1, so every partial sum is an integer no
//! larger than `k * 255` (1,785 for `k = 7`), and f16, whose integers are
//! exact up to 2,048, represents every one of them, whatever order the GPU
//! sums in. This is the CPU encoder's identity (`encoder.rs`): the
//! normalisation offset cancels in `m - mean(m)`, leaving
//! `r = relu(S - mean(S)) / (255 σ)` with integer pixel sums `S`. f16 runs on
//! the tensor cores at several times the f32 rate. (For `k * 255 > 2,048`
//! the product runs in f32, exact up to 2^24.) A dense Gaussian encoder
//! normalises the pixels and multiplies in f32, as the CPU does.

use candle_core::{DType, Device, Result, Tensor, D};
use tgsh_common::PIXELS;
use tgsh_model::encoder::{MNIST_MEAN, MNIST_STD};
use tgsh_model::{Encoder, Model};

/// Every seed's encoder, stacked for a batched product.
pub struct DeviceEncoder {
    /// `seeds x H x 784`, in `dtype`; used transposed.
    weight: Tensor,
    /// f16 (exact integer sums) or f32.
    dtype: DType,
    /// Whether the encoder is the fly hash (integer sums) or dense (normalised pixels).
    flyhash: bool,
}

/// The largest pixel sum f16 represents exactly (2^11).
const F16_EXACT_INTEGERS: usize = 2048;

impl DeviceEncoder {
    /// Uploads the encoders of `models` (one per seed, all of one kind).
    pub fn new(models: &[Model], device: &Device) -> Result<DeviceEncoder> {
        let kinds: Vec<Option<usize>> = models
            .iter()
            .map(|m| match &m.encoder {
                Encoder::FlyHash { k, .. } => Some(*k),
                Encoder::Dense { .. } => None,
            })
            .collect();
        if kinds.windows(2).any(|w| w[0] != w[1]) {
            candle_core::bail!("the seeds of one sweep must share the encoder kind and inputs per unit");
        }
        let (flyhash, dtype) = match kinds.first().copied().flatten() {
            Some(k) if k * 255 <= F16_EXACT_INTEGERS => (true, DType::F16),
            Some(_) => (true, DType::F32),
            None => (false, DType::F32),
        };
        let h = models.first().map_or(0, |m| m.hidden());
        let weights: Vec<f32> = models.iter().flat_map(|m| m.encoder.dense_weight()).collect();
        let weight = Tensor::from_vec(weights, (models.len(), h, PIXELS), device)?.to_dtype(dtype)?;
        Ok(DeviceEncoder { weight, dtype, flyhash })
    }

    /// Hidden units `H`.
    pub fn hidden(&self) -> Result<usize> {
        self.weight.dim(1)
    }

    /// Bytes per weight on the device (for the memory plan).
    pub fn weight_bytes(models: &[Model]) -> usize {
        match models.first().map(|m| &m.encoder) {
            Some(Encoder::FlyHash { k, .. }) if k * 255 <= F16_EXACT_INTEGERS => 2,
            _ => 4,
        }
    }

    /// Encodes `pixels` (u8, `seeds * rows x 784`, seed-major) into
    /// `seeds x rows x H` f32 activations `r(x)`.
    pub fn encode(&self, pixels: &Tensor) -> Result<Tensor> {
        let seeds = self.weight.dim(0)?;
        let rows = pixels.dim(0)? / seeds;
        let x = pixels.reshape((seeds, rows, PIXELS))?;
        let x = if self.flyhash {
            x.to_dtype(self.dtype)?
        } else {
            // (p / 255 - μ) / σ, as the CPU's dense encoder normalises.
            let scale = 1.0 / (255.0 * MNIST_STD as f64);
            x.to_dtype(DType::F32)?
                .affine(scale, -(MNIST_MEAN as f64) / MNIST_STD as f64)?
        };
        let m = x.matmul(&self.weight.transpose(1, 2)?)?.to_dtype(DType::F32)?;
        let centred = m.broadcast_sub(&m.mean_keepdim(D::Minus1)?)?.relu()?;
        if self.flyhash {
            centred.affine(1.0 / (255.0 * MNIST_STD as f64), 0.0)
        } else {
            Ok(centred)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tgsh_common::config::{EncoderKind, TrainConfig};

    fn images(n: usize) -> Vec<u8> {
        // Sparse, MNIST-like: a fifth of the pixels lit, all values 0..255.
        (0..n * PIXELS)
            .map(|i| if (i * 7919) % 5 == 0 { (i * 31 % 256) as u8 } else { 0 })
            .collect()
    }

    fn check(kind: EncoderKind, tolerance: f32) {
        let config = TrainConfig {
            hidden: 96,
            encoder: kind,
            ..TrainConfig::default()
        };
        let models = [Model::new(&config, 1), Model::new(&config, 2)];
        let device = Device::Cpu;
        let encoder = DeviceEncoder::new(&models, &device).unwrap();
        let (a, b) = (images(3), images(5)[2 * PIXELS..].to_vec());
        // Seed-major: seed 1's three images, then seed 2's three.
        let both: Vec<u8> = a.iter().chain(&b).copied().collect();
        let pixels = Tensor::from_vec(both, (6, PIXELS), &device).unwrap();
        let rows = encoder.encode(&pixels).unwrap();
        assert_eq!(rows.dims(), &[2, 3, 96]);
        for (seed, (model, imgs)) in models.iter().zip([&a, &b]).enumerate() {
            let cpu = model.encoder.encode(imgs);
            let gpu: Vec<f32> = rows.get(seed).unwrap().flatten_all().unwrap().to_vec1().unwrap();
            for (x, y) in cpu.iter().zip(&gpu) {
                assert!((x - y).abs() <= tolerance * x.abs().max(1.0), "seed {seed}: {x} vs {y}");
            }
        }
    }

    #[test]
    fn the_flyhash_on_the_device_equals_the_cpu_encoder() {
        // Integer sums are exact; only the mean's last bit may differ.
        check(EncoderKind::Flyhash, 1e-5);
    }

    #[test]
    fn the_dense_encoder_on_the_device_equals_the_cpu_encoder() {
        check(EncoderKind::Dense, 1e-4);
    }
}
