//! The CRWN's arithmetic on encoded rows: the forward pass (logits) and the
//! backward pass (the gradient with respect to the context), for the
//! trainer and every evaluator alike.
//!
//! **Rows.** An encoded image is stored compactly ([`Rows`]): for the fly
//! hash, the exact integer sums `S_j` of each unit's pixels (16 bits) and one
//! `f32` mean per image, so `r_j = relu(S_j - mean [+ shift_j]) * scale`
//! is formed in registers as it is used (`r'` below is that value before
//! the `scale`). That halves the bytes streamed per image compared with
//! `f32` activations. Other encoders store `r` itself (`scale` 1).
//!
//! **Forward.** `logits_k = Σ_j q_j W2_kj` with `q_j = r'_j cs_j` and the
//! scaled context `cs = c * scale`: the context enters as one multiply per
//! unit and the decoder `W2` is shared by every context, task and pass.
//! Each logit is summed in [`LANES`] lanes, chunk by chunk in ascending
//! order, the lanes then added in order and the tail past the last full
//! chunk added last.
//!
//! **Backward.** With `g_b` the gradient of the loss with respect to sample
//! `b`'s logits, `Σ_b r'_bj (W2ᵀ g_b)_j = Σ_k W2_kj A_kj` where
//! `A_kj = Σ_b g_bk r'_bj`: ten multiply-adds per unit and sample, as in the
//! forward pass, and the contraction with `W2` once per call instead of
//! once per sample. With the gate product of input conditioning,
//! `Σ_b 1[r'_bj > 0] (W2ᵀ g_b)_j`, both sums run sample by sample instead:
//! `e_b = W2ᵀ g_b` for a chunk of units (its weights held in registers),
//! then `Σ_b r'_bj e_bj` and `Σ_b 1[r'_bj > 0] e_bj`, eleven multiply-adds
//! per unit and sample (the gradient then differs from the ungated one in
//! its last bits).
//!
//! **Determinism.** Every multiply-add is fused, and every sum runs in an
//! order fixed by this code, not by the CPU or the tiling: the AVX2 + FMA
//! path (picked at run time) and the portable path give identical bits
//! (tests compare them). There is no AVX-512 path: its results would be the
//! same bits by construction, but it could not be tested on the machines
//! this project is developed on, and the AVX2 path runs on AVX-512 CPUs.

use tgsh_common::CLASSES;

#[cfg(target_arch = "x86_64")]
mod avx2;
mod layout;
#[cfg(test)]
mod tests;

pub use layout::{AlignedVec, Decoder, CHUNK_WEIGHTS};

/// SIMD width the kernels are written for. The lane structure (and hence
/// every rounding) is fixed by this constant, not by the CPU.
pub const LANES: usize = 8;

/// Units per cache block of the forward pass: the decoder's slice (10 x 128
/// `f32`, 5 KB) stays in the L1 data cache while every sample of a call
/// passes over it.
pub const BLOCK: usize = 128;

/// How far ahead of the block being computed the forward pass asks for a
/// row's sums (in units): rows come from memory in random order, and two
/// blocks is enough to hide the latency.
pub const PREFETCH_AHEAD: usize = 2 * BLOCK;

/// The fly hash's `scale`: `r = relu(S - mean) / (255 sigma)` (the
/// normalisation offset cancels in the centring, see [`crate::encoder`]).
pub const SUM_SCALE: f32 = 1.0 / (255.0 * crate::encoder::MNIST_STD);

/// Per-sample logit accumulators: `[class][lane]`.
pub type Lanes = [[f32; LANES]; CLASSES];

/// Encoded images, borrowed: how `r(x)` reaches the kernels.
#[derive(Debug, Clone, Copy)]
pub enum Rows<'a> {
    /// Fly hash: `r'_ij = relu(S_ij - mean_i + shift_j)`, `scale` [`SUM_SCALE`].
    Sums {
        /// `n x H` integer sums, row-major, as IEEE half-precision bit
        /// patterns ([`half_of_int`]: exact for every sum below 2048, i.e.
        /// up to eight pixels per unit), which AVX2 CPUs (F16C) widen to
        /// `f32` in the load itself.
        sums: &'a [u16],
        /// One mean per row.
        means: &'a [f32],
        /// A per-unit shift before the ReLU (input conditioning's bias
        /// divided by the scale), or none.
        shift: Option<&'a [f32]>,
        /// Units per row.
        hidden: usize,
    },
    /// `r' = r` stored as is (any encoder), `scale` 1.
    Values {
        /// `n x H` activations, row-major.
        values: &'a [f32],
        /// Units per row.
        hidden: usize,
    },
}

/// The half-precision bit pattern of an integer below 2048 (exact).
#[inline]
pub fn half_of_int(x: u16) -> u16 {
    assert!(x < 2048, "{x} has no exact half-precision form here");
    if x == 0 {
        return 0;
    }
    let e = 15 - x.leading_zeros() as u16; // 2^e <= x < 2^(e+1), e <= 10
    ((e + 15) << 10) | ((x - (1 << e)) << (10 - e))
}

/// A half-precision bit pattern's value (exact, as `_mm256_cvtph_ps`).
#[inline]
pub fn half_to_f32(h: u16) -> f32 {
    let sign = ((h >> 15) as u32) << 31;
    let exponent = ((h >> 10) & 0x1f) as u32;
    let mantissa = (h & 0x3ff) as u32;
    match exponent {
        // Zero and subnormals: mantissa x 2^-24, exact in f32.
        0 => f32::from_bits(sign) + (if sign != 0 { -1.0 } else { 1.0 }) * mantissa as f32 * (1.0 / 16_777_216.0),
        0x1f => f32::from_bits(sign | 0x7f80_0000 | (mantissa << 13)),
        _ => f32::from_bits(sign | ((exponent + 112) << 23) | (mantissa << 13)),
    }
}

/// `max(v, 0)` exactly as `_mm256_max_ps(v, 0)` computes it (`v > 0 ? v : 0`).
#[inline(always)]
fn relu(v: f32) -> f32 {
    if v > 0.0 {
        v
    } else {
        0.0
    }
}

impl<'a> Rows<'a> {
    /// Units per row, `H`.
    pub fn hidden(&self) -> usize {
        match *self {
            Rows::Sums { hidden, .. } | Rows::Values { hidden, .. } => hidden,
        }
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        match *self {
            Rows::Sums { means, .. } => means.len(),
            Rows::Values { values, hidden } => values.len() / hidden.max(1),
        }
    }

    /// Whether there are no rows.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// `r = r' * scale`.
    pub fn scale(&self) -> f32 {
        match self {
            Rows::Sums { .. } => SUM_SCALE,
            Rows::Values { .. } => 1.0,
        }
    }

    /// `r'` of row `i`, unit `j`.
    #[inline]
    pub fn value(&self, i: usize, j: usize) -> f32 {
        match *self {
            Rows::Sums {
                sums,
                means,
                shift,
                hidden,
            } => {
                let v = half_to_f32(sums[i * hidden + j]) - means[i];
                relu(match shift {
                    Some(shift) => v + shift[j],
                    None => v,
                })
            }
            Rows::Values { values, hidden } => values[i * hidden + j],
        }
    }

    /// Rows `range` only.
    pub fn slice(&self, range: std::ops::Range<usize>) -> Rows<'a> {
        match *self {
            Rows::Sums {
                sums,
                means,
                shift,
                hidden,
            } => Rows::Sums {
                sums: &sums[range.start * hidden..range.end * hidden],
                means: &means[range],
                shift,
                hidden,
            },
            Rows::Values { values, hidden } => Rows::Values {
                values: &values[range.start * hidden..range.end * hidden],
                hidden,
            },
        }
    }

    /// `r(x)` of row `i` as `f32` (`r' * scale`), and times `context` when given.
    pub fn row_values(&self, i: usize, context: Option<&[f32]>) -> Vec<f32> {
        let scale = self.scale();
        match context {
            None => (0..self.hidden()).map(|j| self.value(i, j) * scale).collect(),
            Some(c) => (0..self.hidden()).map(|j| self.value(i, j) * (c[j] * scale)).collect(),
        }
    }
}

/// Reused buffers of the kernels (one per thread).
#[derive(Debug, Clone, Default)]
pub struct Scratch {
    acc: Vec<Lanes>,
    broadcast: Vec<[f32; LANES]>,
}

/// Whether the AVX2 + FMA (+ F16C) kernels run on this CPU.
#[inline]
pub fn avx2_available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        static DETECTED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
        *DETECTED.get_or_init(|| {
            is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") && is_x86_feature_detected!("f16c")
        })
    }
    #[cfg(not(target_arch = "x86_64"))]
    false
}

/// Which code runs: forced to the portable path by tests that compare the two.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Path {
    /// AVX2 + FMA when the CPU has them, else portable.
    Best,
    /// Portable Rust (`f32::mul_add`), whatever the CPU.
    Portable,
}

impl Path {
    /// Whether this path runs the AVX2 code on this CPU.
    #[inline]
    pub(crate) fn avx2(self) -> bool {
        self == Path::Best && avx2_available()
    }
}

/// The logits of rows `samples` under the modulated decoder `mt`
/// ([`Decoder::modulated`] of the scaled context `cs = c * scale`), into
/// `out`: `logits_k = Σ_j r'_j Mt_kj`.
pub fn logits(rows: Rows<'_>, samples: &[usize], mt: &Decoder, scratch: &mut Scratch, out: &mut Vec<[f32; CLASSES]>) {
    logits_on(Path::Best, rows, samples, mt, scratch, out)
}

/// [`logits`] on a chosen code path.
pub fn logits_on(
    path: Path,
    rows: Rows<'_>,
    samples: &[usize],
    mt: &Decoder,
    scratch: &mut Scratch,
    out: &mut Vec<[f32; CLASSES]>,
) {
    let h = rows.hidden();
    assert_eq!(mt.hidden(), h, "the decoder must match the rows");
    assert!(samples.iter().all(|&i| i < rows.len()), "a sample past the rows");
    let full = h / LANES * LANES;
    scratch.acc.clear();
    scratch.acc.resize(samples.len(), [[0.0; LANES]; CLASSES]);
    #[cfg(target_arch = "x86_64")]
    if path.avx2() {
        // SAFETY: AVX2 and FMA were detected; shapes were checked above.
        unsafe { avx2::forward(rows, samples, mt, &mut scratch.acc) };
    } else {
        forward_portable(rows, samples, mt, &mut scratch.acc);
    }
    #[cfg(not(target_arch = "x86_64"))]
    forward_portable(rows, samples, mt, &mut scratch.acc);
    out.clear();
    out.extend(samples.iter().zip(&scratch.acc).map(|(&i, acc)| {
        std::array::from_fn(|k| {
            let mut sum = 0.0f32;
            for &lane in &acc[k] {
                sum += lane;
            }
            for j in full..h {
                sum = rows.value(i, j).mul_add(mt.tail(k, j), sum);
            }
            sum
        })
    }));
}

/// `acc[s][k][l] = Σ_i r'_s[8i + l] Mt[k][8i + l]`, `i` ascending: the
/// portable forward pass, whole chunks only.
fn forward_portable(rows: Rows<'_>, samples: &[usize], mt: &Decoder, acc: &mut [Lanes]) {
    let h = rows.hidden();
    let weights = mt.chunks();
    for (acc, &i) in acc.iter_mut().zip(samples) {
        for c in 0..h / LANES {
            let r: [f32; LANES] = std::array::from_fn(|l| rows.value(i, c * LANES + l));
            for (k, acc) in acc.iter_mut().enumerate() {
                let w = &weights[c * CHUNK_WEIGHTS + k * LANES..][..LANES];
                for l in 0..LANES {
                    acc[l] = r[l].mul_add(w[l], acc[l]);
                }
            }
        }
    }
}

/// `grad_j = Σ_k W2_kj Σ_b g_bk r'_bj` over rows `samples` (in order) into
/// `grad` (overwritten). With `gate`, instead `e_bj = (W2ᵀ g_b)_j` per
/// sample, `grad_j = Σ_b r'_bj e_bj` and `gate_j = Σ_b 1[r'_bj > 0] e_bj`
/// (the same values, summed in another order: the gradient's last bits
/// may differ from the call without the gate). Times `scale`, `grad` is
/// the gradient with respect to the context of a loss whose gradient with
/// respect to the logits of sample `b` is `g_b`; `gate` times `c` is the
/// gradient with respect to a bias added before the ReLU.
pub fn backward(
    rows: Rows<'_>,
    samples: &[usize],
    g: &[[f32; CLASSES]],
    decoder: &Decoder,
    scratch: &mut Scratch,
    grad: &mut [f32],
    gate: Option<&mut [f32]>,
) {
    backward_on(Path::Best, rows, samples, g, decoder, scratch, grad, gate)
}

/// [`backward`] on a chosen code path.
#[allow(clippy::too_many_arguments)]
pub fn backward_on(
    path: Path,
    rows: Rows<'_>,
    samples: &[usize],
    g: &[[f32; CLASSES]],
    decoder: &Decoder,
    scratch: &mut Scratch,
    grad: &mut [f32],
    mut gate: Option<&mut [f32]>,
) {
    let h = rows.hidden();
    assert!(
        grad.len() == h && decoder.hidden() == h && g.len() == samples.len(),
        "gradient, decoder and samples must match the rows"
    );
    assert!(samples.iter().all(|&i| i < rows.len()), "a sample past the rows");
    if let Some(gate) = &gate {
        assert_eq!(gate.len(), h, "the gate product has one value per unit");
    }
    // The AVX2 path takes whole chunks; the rest goes unit by unit.
    #[allow(unused_mut)]
    let mut done = 0;
    #[cfg(target_arch = "x86_64")]
    if path.avx2() {
        // Each g_bk as eight lanes, so the kernel reads it as an FMA operand.
        scratch.broadcast.clear();
        scratch.broadcast.extend(g.iter().flatten().map(|&v| [v; LANES]));
        // SAFETY: AVX2 and FMA were detected; shapes were checked above.
        done = unsafe {
            match gate.as_deref_mut() {
                None => avx2::backward(rows, samples, &scratch.broadcast, decoder, grad),
                Some(gate) => avx2::backward_gated(rows, samples, &scratch.broadcast, decoder, grad, gate),
            }
        };
    }
    let _ = (&path, &scratch);
    for j in done..h {
        match gate.as_deref_mut() {
            None => {
                let mut a = [0f32; CLASSES];
                for (gs, &i) in g.iter().zip(samples) {
                    let r = rows.value(i, j);
                    for k in 0..CLASSES {
                        a[k] = gs[k].mul_add(r, a[k]);
                    }
                }
                // Σ_k W2_kj a_k, classes in order.
                grad[j] = a
                    .iter()
                    .enumerate()
                    .fold(0f32, |t, (k, &a)| decoder.weight(k, j).mul_add(a, t));
            }
            Some(gate) => {
                let (mut t, mut u) = (0f32, 0f32);
                for (gs, &i) in g.iter().zip(samples) {
                    // e = (W2ᵀ g_b)_j, classes in order (the first a product).
                    let mut e = decoder.weight(0, j) * gs[0];
                    for (k, &gk) in gs.iter().enumerate().skip(1) {
                        e = decoder.weight(k, j).mul_add(gk, e);
                    }
                    let r = rows.value(i, j);
                    t = r.mul_add(e, t);
                    u += if r > 0.0 { e } else { 0.0 };
                }
                grad[j] = t;
                gate[j] = u;
            }
        }
    }
}
