//! The CRWN forward pass, `logits = W2 (c ⊙ r(x))`, written once for
//! training and analysis alike.
//!
//! Encoded images reach it as [`Rows`] (the fly hash's compact integer sums,
//! see [`crate::kernel`]); the context enters as the scaled context
//! `cs = c * scale`, one multiply per unit, and the decoder `W2` is shared
//! by every context. Every logit is computed by [`kernel::logits`], whose
//! sums run in an order fixed by the code (the AVX2/FMA path and the
//! portable path give the same bits), and a row's logits do not depend on
//! the rows scored with it: the accuracy the train stage records is the
//! accuracy the analyze stage recomputes, to the last image.

use crate::kernel::{self, AlignedVec, Decoder, Rows, Scratch};
use rayon::prelude::*;
use tgsh_common::CLASSES;

pub use crate::kernel::{avx2_available, LANES};

/// `Σ a_i b_i` with 16 independent lanes, summed in a fixed order, so it
/// vectorises and is deterministic.
#[inline]
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0f32; 16];
    let (ca, cb) = (a.chunks_exact(16), b.chunks_exact(16));
    let tail: f32 = ca.remainder().iter().zip(cb.remainder()).map(|(x, y)| x * y).sum();
    for (x, y) in ca.zip(cb) {
        for l in 0..16 {
            acc[l] += x[l] * y[l];
        }
    }
    acc.iter().sum::<f32>() + tail
}

/// An encoded split: its rows `r(x)` and their labels.
#[derive(Debug, Clone, Copy)]
pub struct Encoded<'a> {
    /// The encoded images.
    pub rows: Rows<'a>,
    /// Labels.
    pub labels: &'a [u8],
}

/// A context read out through a decoder: what one model applies to rows.
#[derive(Debug, Clone, Copy)]
pub struct Readout<'a> {
    /// The context `c` (`H`).
    pub context: &'a [f32],
    /// The decoder `W2`, laid out for the kernels.
    pub decoder: &'a Decoder,
}

/// `cs = c * scale`, the context as the kernels take it, into `out`.
#[inline]
pub fn scaled_context_into(context: &[f32], scale: f32, out: &mut AlignedVec) {
    out.assign(context.iter().map(|&c| c * scale));
}

/// `cs = c * scale`.
pub fn scaled_context(context: &[f32], scale: f32) -> AlignedVec {
    let mut out = AlignedVec::default();
    scaled_context_into(context, scale, &mut out);
    out
}

/// The logits of row `i` of `rows` under context `c` (one row at a time:
/// for tests and references; the kernels score blocks of rows).
pub fn logits(rows: Rows<'_>, i: usize, context: &[f32], decoder: &Decoder) -> [f32; CLASSES] {
    let mt = decoder.modulated(&scaled_context(context, rows.scale()));
    let mut out = Vec::with_capacity(1);
    kernel::logits(rows, &[i], &mt, &mut Scratch::default(), &mut out);
    out[0]
}

/// Softmax probabilities, cross-entropy and whether the argmax is right
/// (ties go to the lower class, as `torch.argmax` does).
#[inline]
pub fn softmax_ce(logits: &[f32; CLASSES], label: u8) -> ([f32; CLASSES], f32, bool) {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let exp: [f32; CLASSES] = std::array::from_fn(|k| (logits[k] - max).exp());
    let sum: f32 = exp.iter().sum();
    let p = std::array::from_fn(|k| exp[k] / sum);
    let loss = sum.ln() + max - logits[label as usize];
    (p, loss, argmax(logits) == label as usize)
}

/// The predicted class: the first largest logit.
#[inline]
pub fn argmax(logits: &[f32; CLASSES]) -> usize {
    (0..CLASSES)
        .max_by(|&a, &b| logits[a].total_cmp(&logits[b]).then(b.cmp(&a)))
        .expect("ten classes")
}

/// Rows per block of the evaluators: a block's rows (128 x 15.7 KB of
/// sums, 2 MB) stay in cache while every context's modulated decoder
/// (313 KB each) passes over them once. 16 rows made the 36 decoders of a
/// RotationMNIST cross-task matrix stream from memory for every 16 images;
/// 128 took 29 % less CPU in `just bench` (analyze), 64 and 256 less gain.
/// Counts do not depend on it (each row's logits are its own).
pub const EVAL_BLOCK: usize = 128;

/// Buffers of one evaluating thread.
#[derive(Default)]
struct EvalScratch {
    kernel: Scratch,
    logits: Vec<[f32; CLASSES]>,
    samples: Vec<usize>,
}

/// Correct predictions of one block of rows under each scaled context.
fn block_counts(rows: Rows<'_>, labels: &[u8], modulated: &[Decoder], w: &mut EvalScratch) -> Vec<usize> {
    w.samples.clear();
    w.samples.extend(0..labels.len());
    modulated
        .iter()
        .map(|mt| {
            kernel::logits(rows, &w.samples, mt, &mut w.kernel, &mut w.logits);
            w.logits
                .iter()
                .zip(labels)
                .filter(|(l, &y)| argmax(l) == y as usize)
                .count()
        })
        .collect()
}

fn sum_counts(models: usize) -> impl Fn(Vec<usize>, Vec<usize>) -> Vec<usize> + Sync + Send {
    move |mut a, b| {
        debug_assert_eq!(a.len(), models);
        for (x, y) in a.iter_mut().zip(b) {
            *x += y;
        }
        a
    }
}

/// Each readout's modulated decoder for rows of `scale`.
fn modulated_decoders(readouts: &[Readout<'_>], scale: f32) -> Vec<Decoder> {
    readouts
        .iter()
        .map(|r| r.decoder.modulated(&scaled_context(r.context, scale)))
        .collect()
}

/// Correct predictions on `data` under each readout, in one pass: each
/// block of rows is scored under every readout while it is in cache.
/// Every logit is the kernel's, so each count is the one
/// [`correct_count`] gives.
pub fn correct_counts(data: Encoded<'_>, readouts: &[Readout<'_>]) -> Vec<usize> {
    let n = data.labels.len();
    if readouts.is_empty() || n == 0 {
        return vec![0; readouts.len()];
    }
    let modulated = modulated_decoders(readouts, data.rows.scale());
    (0..n.div_ceil(EVAL_BLOCK))
        .into_par_iter()
        .map_init(EvalScratch::default, |w, b| {
            let range = b * EVAL_BLOCK..((b + 1) * EVAL_BLOCK).min(n);
            block_counts(data.rows.slice(range.clone()), &data.labels[range], &modulated, w)
        })
        .reduce(|| vec![0; readouts.len()], sum_counts(readouts.len()))
}

/// Correct predictions of context `c` on `data`, in parallel.
pub fn correct_count(data: Encoded<'_>, context: &[f32], decoder: &Decoder) -> usize {
    correct_counts(data, &[Readout { context, decoder }])[0]
}

/// Test accuracy of context `c` on `data`: the figure both the train stage's
/// metrics and the analyze stage's cross-task matrix report.
pub fn accuracy(data: Encoded<'_>, context: &[f32], decoder: &Decoder) -> f64 {
    correct_count(data, context, decoder) as f64 / data.labels.len().max(1) as f64
}

/// [`correct_counts`] from raw images: they are encoded block by block
/// (with `bias` before the ReLU when given), so no split's encodings exist
/// all at once and each block is scored while it is in cache.
pub fn correct_counts_of_images(
    encoder: &crate::Encoder,
    bias: Option<&[f32]>,
    images: &[u8],
    labels: &[u8],
    readouts: &[Readout<'_>],
) -> Vec<usize> {
    use tgsh_common::PIXELS;
    if readouts.is_empty() || labels.is_empty() {
        return vec![0; readouts.len()];
    }
    let modulated = modulated_decoders(readouts, encoder.scale());
    images
        .par_chunks(EVAL_BLOCK * PIXELS)
        .zip(labels.par_chunks(EVAL_BLOCK))
        .map_init(
            || (crate::encoder::EncodedImages::default(), EvalScratch::default()),
            |(encoded, w), (block, block_labels)| {
                encoder.encode_rows_into(block, bias, encoded);
                debug_assert_eq!(encoded.rows().scale(), encoder.scale());
                block_counts(encoded.rows(), block_labels, &modulated, w)
            },
        )
        .reduce(|| vec![0; readouts.len()], sum_counts(readouts.len()))
}

/// The representation `c ⊙ r(x)` of row `i` (the penultimate layer), as
/// the forward pass forms it (`r' * cs`).
pub fn representation(rows: Rows<'_>, i: usize, context: &[f32]) -> Vec<f32> {
    rows.row_values(i, Some(context))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;
    use tgsh_common::PIXELS;

    #[test]
    fn dot_matches_a_plain_sum() {
        let a: Vec<f32> = (0..37).map(|i| i as f32 * 0.5).collect();
        let b: Vec<f32> = (0..37).map(|i| 1.0 - i as f32 * 0.25).collect();
        let plain: f32 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
        assert!((dot(&a, &b) - plain).abs() < 1e-3);
    }

    #[test]
    fn softmax_ce_of_a_hand_computed_case() {
        let mut l = [0f32; CLASSES];
        l[3] = (9f32).ln(); // p = 9/18 for class 3, 1/18 for the others
        let (p, loss, right) = softmax_ce(&l, 3);
        assert!((p[3] - 0.5).abs() < 1e-6 && (p[0] - 1.0 / 18.0).abs() < 1e-6);
        assert!((loss - 2f32.ln()).abs() < 1e-6);
        assert!(right);
        // A tie goes to the lower class.
        assert_eq!(argmax(&[1.0; CLASSES]), 0);
    }

    /// A fly hash, random sparse images, labels, a decoder and contexts.
    struct Toy {
        encoder: crate::Encoder,
        images: Vec<u8>,
        labels: Vec<u8>,
        w2: Vec<f32>,
        decoder: Decoder,
        contexts: Vec<Vec<f32>>,
    }

    fn toy(n: usize, h: usize, seed: u64) -> Toy {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let encoder = crate::Encoder::flyhash(h, 7, &mut rng);
        let images = (0..n * PIXELS)
            .map(|_| if rng.random::<f32>() < 0.3 { rng.random() } else { 0 })
            .collect();
        let labels = (0..n).map(|_| rng.random_range(0..10)).collect();
        let w2: Vec<f32> = (0..CLASSES * h).map(|_| rng.random::<f32>() - 0.5).collect();
        let contexts = (0..3)
            .map(|_| (0..h).map(|_| rng.random::<f32>() - 0.5).collect())
            .collect();
        Toy {
            encoder,
            images,
            labels,
            decoder: Decoder::new(&w2),
            w2,
            contexts,
        }
    }

    #[test]
    fn logits_are_the_decoder_applied_to_the_representation() {
        // logits = W2 (c ⊙ r), computed the plain way in f64 from the f32 encoder.
        let t = toy(2, 203, 3);
        let encoded = t.encoder.encode_rows(&t.images, None);
        let r = t.encoder.encode(&t.images);
        for i in 0..2 {
            let fast = logits(encoded.rows(), i, &t.contexts[0], &t.decoder);
            for (k, &fast) in fast.iter().enumerate() {
                let plain: f64 = (0..203)
                    .map(|j| t.w2[k * 203 + j] as f64 * t.contexts[0][j] as f64 * r[i * 203 + j] as f64)
                    .sum();
                assert!((fast as f64 - plain).abs() < 1e-5, "class {k}: {fast} vs {plain}");
            }
            // The representation is the product the logits read.
            let rep = representation(encoded.rows(), i, &t.contexts[0]);
            for j in 0..203 {
                assert!((rep[j] - r[i * 203 + j] * t.contexts[0][j]).abs() < 1e-6);
            }
        }
    }

    #[test]
    fn scoring_many_models_in_one_pass_equals_scoring_each() {
        let t = toy(51, 37, 8);
        let encoded = t.encoder.encode_rows(&t.images, None);
        let data = Encoded {
            rows: encoded.rows(),
            labels: &t.labels,
        };
        let readouts: Vec<Readout<'_>> = t
            .contexts
            .iter()
            .map(|c| Readout {
                context: c,
                decoder: &t.decoder,
            })
            .collect();
        let each: Vec<usize> = t.contexts.iter().map(|c| correct_count(data, c, &t.decoder)).collect();
        assert_eq!(correct_counts(data, &readouts), each);
        // The same counts with one row at a time.
        for (c, &count) in t.contexts.iter().zip(&each) {
            let one_by_one = (0..51)
                .filter(|&i| argmax(&logits(data.rows, i, c, &t.decoder)) == t.labels[i] as usize)
                .count();
            assert_eq!(one_by_one, count);
        }
    }

    #[test]
    fn blockwise_counts_equal_per_context_accuracy() {
        let t = toy(37, 96, 9); // not a multiple of the block
        let mut rng = ChaCha8Rng::seed_from_u64(10);
        let bias: Vec<f32> = (0..96).map(|_| rng.random::<f32>() - 0.5).collect();
        let readouts: Vec<Readout<'_>> = t
            .contexts
            .iter()
            .map(|c| Readout {
                context: c,
                decoder: &t.decoder,
            })
            .collect();
        for bias in [None, Some(&bias[..])] {
            let counts = correct_counts_of_images(&t.encoder, bias, &t.images, &t.labels, &readouts);
            let encoded = t.encoder.encode_rows(&t.images, bias);
            let data = Encoded {
                rows: encoded.rows(),
                labels: &t.labels,
            };
            for (c, &count) in t.contexts.iter().zip(&counts) {
                assert_eq!(count, correct_count(data, c, &t.decoder));
            }
        }
    }

    #[test]
    fn accuracy_counts_argmax_hits() {
        // Two units, decoder rows pick unit 0 for class 0 and unit 1 for class 1.
        let h = 2;
        let mut w2 = vec![0f32; CLASSES * h];
        w2[0] = 1.0; // class 0 reads unit 0
        w2[h + 1] = 1.0; // class 1 reads unit 1
        let decoder = Decoder::new(&w2);
        let values = [1.0, 0.0, 0.0, 1.0, 1.0, 0.0];
        let labels = [0u8, 1, 1];
        let data = Encoded {
            rows: Rows::Values {
                values: &values,
                hidden: h,
            },
            labels: &labels,
        };
        assert!((accuracy(data, &[1.0, 1.0], &decoder) - 2.0 / 3.0).abs() < 1e-12);
        // A negative context on unit 1 gives the second image logit -1 for class 1: class 0 (logit 0) wins.
        assert!((accuracy(data, &[1.0, -1.0], &decoder) - 1.0 / 3.0).abs() < 1e-12);
    }
}
