//! The CRWN forward pass, `logits = W2 (c ⊙ r(x))`, written once for
//! training and analysis alike.
//!
//! The context `c` enters only through the modulated decoder `Mt = c ⊙ W2`
//! (`10 x H`, [`modulated_decoder`]), so the logits of an encoded row `r` are
//! ten dot products `Σ_h r_h Mt_kh` ([`logits_row`]). Every multiply-add is a
//! fused `mul_add` in a lane structure fixed by [`LANES`], not by the CPU: the
//! AVX2/FMA path (picked at run time) and the portable path give the same
//! bits, and the accuracy the train stage records is the accuracy the analyze
//! stage recomputes, to the last image.

use rayon::prelude::*;
use tgsh_common::CLASSES;

/// SIMD width the kernels are written for. The lane structure (and hence
/// every rounding) is fixed by this constant, not by the CPU.
pub const LANES: usize = 8;

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

/// An encoded split: `n x H` rows `r(x)` and their labels.
#[derive(Debug, Clone, Copy)]
pub struct Encoded<'a> {
    /// Activations, row-major.
    pub rows: &'a [f32],
    /// Labels.
    pub labels: &'a [u8],
}

impl Encoded<'_> {
    /// Row `i` of width `h`.
    pub fn row(&self, i: usize, h: usize) -> &[f32] {
        &self.rows[i * h..(i + 1) * h]
    }
}

/// `c ⊙ W2`, `10 x H`: the only place the context enters the forward pass.
pub fn modulated_decoder(context: &[f32], decoder: &[f32]) -> Vec<f32> {
    let mut mt = Vec::new();
    modulated_decoder_into(context, decoder, &mut mt);
    mt
}

/// [`modulated_decoder`] into a reused buffer (the training step's hot path).
#[inline]
pub fn modulated_decoder_into(context: &[f32], decoder: &[f32], mt: &mut Vec<f32>) {
    mt.clear();
    mt.extend_from_slice(decoder);
    for row in mt.chunks_exact_mut(context.len()) {
        for (m, &c) in row.iter_mut().zip(context) {
            *m *= c;
        }
    }
}

/// `logits_k = Σ_h r_h Mt_kh`, portable version: `r` is loaded once for all
/// ten classes. [`logits_row`] picks the AVX2 version when the CPU has it.
pub fn logits_row_portable(row: &[f32], mt: &[f32]) -> [f32; CLASSES] {
    let h = row.len();
    let (r_chunks, _) = row.as_chunks::<LANES>();
    let mut acc = [[0f32; LANES]; CLASSES];
    for (i, r) in r_chunks.iter().enumerate() {
        for (k, acc) in acc.iter_mut().enumerate() {
            let w = &mt[k * h + i * LANES..k * h + (i + 1) * LANES];
            for l in 0..LANES {
                acc[l] = r[l].mul_add(w[l], acc[l]);
            }
        }
    }
    finish_logits(row, mt, &acc)
}

/// Sums each class's lanes in order, then adds the tail past the last full lane chunk.
fn finish_logits(row: &[f32], mt: &[f32], acc: &[[f32; LANES]; CLASSES]) -> [f32; CLASSES] {
    let h = row.len();
    let tail_start = h / LANES * LANES;
    std::array::from_fn(|k| {
        let mut sum = acc[k].iter().sum::<f32>();
        for j in tail_start..h {
            sum = row[j].mul_add(mt[k * h + j], sum);
        }
        sum
    })
}

/// Lane chunks per cache block in [`logits_block`]: 32 chunks of 8 lanes
/// make a 10 KB slice of `Mt` (10 classes), which stays in L1 while every
/// row of the block passes over it.
const CHUNKS_PER_BLOCK: usize = 32;

/// Per-row accumulators of [`logits_block`]: `[class][lane]`.
type Lanes = [[f32; LANES]; CLASSES];

/// The logits of every row of `rows` (each `mt.len() / 10` long) under `mt`,
/// into `out`: the same fused multiply-adds in the same order as
/// [`logits_row`] on each row, so the same bits, but blocked so a slice of
/// `Mt` is read from L1 for all rows instead of from L3 once per row.
/// (Accumulators are kept in memory between blocks; storing and reloading an
/// f32 is exact.)
pub fn logits_block(rows: &[f32], mt: &[f32], out: &mut Vec<[f32; CLASSES]>) {
    let h = mt.len() / CLASSES;
    let n = rows.len() / h;
    let mut acc: Vec<Lanes> = vec![[[0f32; LANES]; CLASSES]; n];
    let chunks = h / LANES;
    for start in (0..chunks).step_by(CHUNKS_PER_BLOCK) {
        let end = (start + CHUNKS_PER_BLOCK).min(chunks);
        #[cfg(target_arch = "x86_64")]
        if avx2_available() {
            // SAFETY: AVX2 and FMA were detected; bounds are checked inside.
            unsafe { avx2::accumulate_block(rows, h, mt, start, end, &mut acc) };
            continue;
        }
        accumulate_block_portable(rows, h, mt, start, end, &mut acc);
    }
    out.clear();
    out.extend((0..n).map(|r| finish_logits(&rows[r * h..(r + 1) * h], mt, &acc[r])));
}

/// `acc[r][k][l] += Σ_{i in start..end} row_r[8i + l] Mt[k][8i + l]`, `i` ascending.
fn accumulate_block_portable(rows: &[f32], h: usize, mt: &[f32], start: usize, end: usize, acc: &mut [Lanes]) {
    for (r, acc) in acc.iter_mut().enumerate() {
        let row = &rows[r * h..(r + 1) * h];
        for i in start..end {
            let x = &row[i * LANES..(i + 1) * LANES];
            for (k, acc) in acc.iter_mut().enumerate() {
                let w = &mt[k * h + i * LANES..k * h + (i + 1) * LANES];
                for l in 0..LANES {
                    acc[l] = x[l].mul_add(w[l], acc[l]);
                }
            }
        }
    }
}

/// Whether the AVX2 + FMA kernels run on this CPU.
#[inline]
pub fn avx2_available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        static DETECTED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
        *DETECTED.get_or_init(|| is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma"))
    }
    #[cfg(not(target_arch = "x86_64"))]
    false
}

#[cfg(target_arch = "x86_64")]
pub mod avx2 {
    //! The forward kernels with AVX2 + FMA intrinsics. `_mm256_fmadd_ps` is a
    //! fused multiply-add per lane, exactly what the portable `mul_add`
    //! computes, in the same order: results are bit-identical.
    use super::{finish_logits, CLASSES, LANES};
    use std::arch::x86_64::*;

    /// # Safety
    /// The CPU must support AVX2 and FMA ([`super::avx2_available`]).
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn logits_row(row: &[f32], mt: &[f32]) -> [f32; CLASSES] {
        let h = row.len();
        assert!(mt.len() >= CLASSES * h);
        let mut acc = [_mm256_setzero_ps(); CLASSES];
        let (r, m) = (row.as_ptr(), mt.as_ptr());
        for i in 0..h / LANES {
            let rv = _mm256_loadu_ps(r.add(i * LANES));
            for (k, acc) in acc.iter_mut().enumerate() {
                *acc = _mm256_fmadd_ps(rv, _mm256_loadu_ps(m.add(k * h + i * LANES)), *acc);
            }
        }
        let mut lanes = [[0f32; LANES]; CLASSES];
        for k in 0..CLASSES {
            _mm256_storeu_ps(lanes[k].as_mut_ptr(), acc[k]);
        }
        finish_logits(row, mt, &lanes)
    }

    /// [`super::accumulate_block_portable`] with intrinsics: two rows at a
    /// time, five classes at a time (10 accumulators + 3 operands in the 16
    /// registers), each accumulator's FMAs in ascending chunk order.
    ///
    /// # Safety
    /// The CPU must support AVX2 and FMA ([`super::avx2_available`]).
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn accumulate_block(
        rows: &[f32],
        h: usize,
        mt: &[f32],
        start: usize,
        end: usize,
        acc: &mut [super::Lanes],
    ) {
        const HALF: usize = CLASSES / 2;
        let n = acc.len();
        assert!(rows.len() >= n * h && mt.len() >= CLASSES * h && end * LANES <= h);
        let m = mt.as_ptr();
        let mut r = 0;
        while r < n {
            let pair = r + 1 < n;
            let pa = rows.as_ptr().add(r * h);
            let pb = if pair { rows.as_ptr().add((r + 1) * h) } else { pa };
            for half in [0, HALF] {
                let mut a: [__m256; HALF] = std::array::from_fn(|k| _mm256_loadu_ps(acc[r][half + k].as_ptr()));
                let mut b: [__m256; HALF] = if pair {
                    std::array::from_fn(|k| _mm256_loadu_ps(acc[r + 1][half + k].as_ptr()))
                } else {
                    [_mm256_setzero_ps(); HALF]
                };
                for i in start..end {
                    let ra = _mm256_loadu_ps(pa.add(i * LANES));
                    let rb = _mm256_loadu_ps(pb.add(i * LANES));
                    for k in 0..HALF {
                        let w = _mm256_loadu_ps(m.add((half + k) * h + i * LANES));
                        a[k] = _mm256_fmadd_ps(ra, w, a[k]);
                        b[k] = _mm256_fmadd_ps(rb, w, b[k]);
                    }
                }
                for k in 0..HALF {
                    _mm256_storeu_ps(acc[r][half + k].as_mut_ptr(), a[k]);
                    if pair {
                        _mm256_storeu_ps(acc[r + 1][half + k].as_mut_ptr(), b[k]);
                    }
                }
            }
            r += 2;
        }
    }

    /// # Safety
    /// The CPU must support AVX2 and FMA ([`super::avx2_available`]).
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn logits_pair(a: &[f32], b: &[f32], mt: &[f32]) -> [[f32; CLASSES]; 2] {
        let h = a.len();
        assert!(b.len() == h && mt.len() >= CLASSES * h);
        const HALF: usize = CLASSES / 2;
        let mut lanes = [[[0f32; LANES]; CLASSES]; 2];
        let (pa, pb, m) = (a.as_ptr(), b.as_ptr(), mt.as_ptr());
        // Five classes at a time keep 10 accumulators + 3 operands in the 16 registers.
        for half in [0, HALF] {
            let mut acc = [[_mm256_setzero_ps(); HALF]; 2];
            for i in 0..h / LANES {
                let ra = _mm256_loadu_ps(pa.add(i * LANES));
                let rb = _mm256_loadu_ps(pb.add(i * LANES));
                let [acc_a, acc_b] = &mut acc;
                for (k, (x, y)) in acc_a.iter_mut().zip(acc_b.iter_mut()).enumerate() {
                    let w = _mm256_loadu_ps(m.add((half + k) * h + i * LANES));
                    *x = _mm256_fmadd_ps(ra, w, *x);
                    *y = _mm256_fmadd_ps(rb, w, *y);
                }
            }
            for (row, acc) in acc.iter().enumerate() {
                for (k, v) in acc.iter().enumerate() {
                    _mm256_storeu_ps(lanes[row][half + k].as_mut_ptr(), *v);
                }
            }
        }
        [finish_logits(a, mt, &lanes[0]), finish_logits(b, mt, &lanes[1])]
    }
}

/// The logits of one encoded row under the modulated decoder `mt`.
#[inline]
pub fn logits_row(row: &[f32], mt: &[f32]) -> [f32; CLASSES] {
    #[cfg(target_arch = "x86_64")]
    if avx2_available() {
        // SAFETY: AVX2 and FMA were detected; shapes are checked inside.
        return unsafe { avx2::logits_row(row, mt) };
    }
    logits_row_portable(row, mt)
}

/// Logits of two rows at once: each `Mt` load serves both rows. Every
/// accumulator sums in the same order as [`logits_row`], so the results are
/// the same bits as two single-row calls.
#[inline]
pub fn logits_pair(a: &[f32], b: &[f32], mt: &[f32]) -> [[f32; CLASSES]; 2] {
    #[cfg(target_arch = "x86_64")]
    if avx2_available() {
        // SAFETY: AVX2 and FMA were detected; shapes are checked inside.
        return unsafe { avx2::logits_pair(a, b, mt) };
    }
    [logits_row_portable(a, mt), logits_row_portable(b, mt)]
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

/// Correct predictions of context `c` on `data`, rows in pairs, in parallel.
pub fn correct_count(data: Encoded<'_>, context: &[f32], decoder: &[f32]) -> usize {
    let h = context.len();
    let mt = modulated_decoder(context, decoder);
    let n = data.labels.len();
    (0..n.div_ceil(2))
        .into_par_iter()
        .with_min_len(32)
        .map(|pair| {
            let i = 2 * pair;
            let right = |l: &[f32; CLASSES], i: usize| (argmax(l) == data.labels[i] as usize) as usize;
            if i + 1 < n {
                let [a, b] = logits_pair(data.row(i, h), data.row(i + 1, h), &mt);
                right(&a, i) + right(&b, i + 1)
            } else {
                right(&logits_row(data.row(i, h), &mt), i)
            }
        })
        .sum()
}

/// Test accuracy of context `c` on `data`: the figure both the train stage's
/// metrics and the analyze stage's cross-task matrix report.
pub fn accuracy(data: Encoded<'_>, context: &[f32], decoder: &[f32]) -> f64 {
    correct_count(data, context, decoder) as f64 / data.labels.len().max(1) as f64
}

/// Rows per block in [`correct_counts`]: 16 encoded rows (500 KB) stay in
/// the L2/L3 caches while every model's `Mt` (313 KB each) passes over them.
const EVAL_BLOCK: usize = 16;

/// Correct predictions of one block of encoded rows under each of `mts`.
fn block_counts(rows: &[f32], labels: &[u8], mts: &[Vec<f32>], logits: &mut Vec<[f32; CLASSES]>) -> Vec<usize> {
    mts.iter()
        .map(|mt| {
            logits_block(rows, mt, logits);
            logits
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

/// Correct predictions on `data` under each of several modulated decoders
/// `mts` (`c ⊙ W2` per model or context), in one pass: each block of rows is
/// scored under every model while it is in cache, instead of streaming all
/// rows from memory once per model. Every logit is computed by the kernel
/// [`accuracy`] uses, so each count is the one [`correct_count`] gives (the
/// same bits).
pub fn correct_counts(data: Encoded<'_>, mts: &[Vec<f32>]) -> Vec<usize> {
    let h = mts.first().map_or(0, |mt| mt.len() / CLASSES);
    if h == 0 {
        return vec![0; mts.len()];
    }
    data.rows
        .par_chunks(EVAL_BLOCK * h)
        .zip(data.labels.par_chunks(EVAL_BLOCK))
        .map_init(Vec::new, |logits, (rows, labels)| {
            block_counts(rows, labels, mts, logits)
        })
        .reduce(|| vec![0; mts.len()], sum_counts(mts.len()))
}

/// [`correct_counts`] from raw images: they are encoded block by block, so
/// the encoded rows (313 MB for 10,000 images) never exist all at once and
/// each block is scored while it is in cache.
pub fn correct_counts_of_images(
    encoder: &crate::Encoder,
    images: &[u8],
    labels: &[u8],
    mts: &[Vec<f32>],
) -> Vec<usize> {
    use tgsh_common::PIXELS;
    images
        .par_chunks(EVAL_BLOCK * PIXELS)
        .zip(labels.par_chunks(EVAL_BLOCK))
        .map_init(
            || (Vec::new(), Vec::new()),
            |(rows, logits), (block, block_labels)| {
                encoder.encode_into(block, rows);
                block_counts(rows, block_labels, mts, logits)
            },
        )
        .reduce(|| vec![0; mts.len()], sum_counts(mts.len()))
}

/// The representation `c ⊙ r(x)` of one encoded row (the penultimate layer).
pub fn representation(row: &[f32], context: &[f32]) -> Vec<f32> {
    row.iter().zip(context).map(|(r, c)| r * c).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

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

    #[test]
    fn logits_are_the_decoder_applied_to_the_representation() {
        // logits = W2 (c ⊙ r), computed the plain way in f64.
        let h = 37;
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let row: Vec<f32> = (0..h).map(|_| rng.random::<f32>()).collect();
        let context: Vec<f32> = (0..h).map(|_| rng.random::<f32>() - 0.5).collect();
        let decoder: Vec<f32> = (0..CLASSES * h).map(|_| rng.random::<f32>() - 0.5).collect();
        let fast = logits_row(&row, &modulated_decoder(&context, &decoder));
        let rep = representation(&row, &context);
        for k in 0..CLASSES {
            let plain: f64 = (0..h).map(|j| decoder[k * h + j] as f64 * rep[j] as f64).sum();
            assert!(
                (fast[k] as f64 - plain).abs() < 1e-5,
                "class {k}: {} vs {plain}",
                fast[k]
            );
        }
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn the_avx2_path_and_the_portable_path_agree_bit_for_bit() {
        if !avx2_available() {
            return; // nothing to compare on this CPU
        }
        let h = 203; // a length with a tail after the 8-lane chunks
        let mut rng = ChaCha8Rng::seed_from_u64(21);
        let rows: Vec<f32> = (0..4 * h).map(|_| rng.random::<f32>() - 0.3).collect();
        let mt: Vec<f32> = (0..CLASSES * h).map(|_| rng.random::<f32>() - 0.5).collect();
        let rows: Vec<&[f32]> = rows.chunks_exact(h).collect();
        for row in &rows {
            // SAFETY: checked above.
            assert_eq!(logits_row_portable(row, &mt), unsafe { avx2::logits_row(row, &mt) });
        }
        // SAFETY: checked above.
        let pair = unsafe { avx2::logits_pair(rows[0], rows[1], &mt) };
        assert_eq!(
            pair,
            [logits_row_portable(rows[0], &mt), logits_row_portable(rows[1], &mt)]
        );
    }

    #[test]
    fn scoring_many_models_in_one_pass_equals_scoring_each() {
        let (h, n) = (37, 51);
        let mut rng = ChaCha8Rng::seed_from_u64(8);
        let rows: Vec<f32> = (0..n * h).map(|_| rng.random::<f32>().max(0.4) - 0.4).collect();
        let labels: Vec<u8> = (0..n).map(|_| rng.random_range(0..10u8)).collect();
        let decoder: Vec<f32> = (0..CLASSES * h).map(|_| rng.random::<f32>() - 0.5).collect();
        let contexts: Vec<Vec<f32>> = (0..3)
            .map(|_| (0..h).map(|_| rng.random::<f32>() - 0.5).collect())
            .collect();
        let data = Encoded {
            rows: &rows,
            labels: &labels,
        };
        let mts: Vec<Vec<f32>> = contexts.iter().map(|c| modulated_decoder(c, &decoder)).collect();
        let each: Vec<usize> = contexts.iter().map(|c| correct_count(data, c, &decoder)).collect();
        assert_eq!(correct_counts(data, &mts), each);
    }

    #[test]
    fn the_blocked_kernel_gives_the_bits_of_the_row_kernel() {
        // A width with several cache blocks and a tail past the last lane chunk.
        let h = 8 * CHUNKS_PER_BLOCK * 2 + 8 * 5 + 3;
        let mut rng = ChaCha8Rng::seed_from_u64(31);
        for n in [1usize, 2, 5] {
            let rows: Vec<f32> = (0..n * h).map(|_| rng.random::<f32>() - 0.2).collect();
            let mt: Vec<f32> = (0..CLASSES * h).map(|_| rng.random::<f32>() - 0.5).collect();
            let mut out = Vec::new();
            logits_block(&rows, &mt, &mut out);
            for r in 0..n {
                assert_eq!(
                    out[r],
                    logits_row_portable(&rows[r * h..(r + 1) * h], &mt),
                    "row {r} of {n}"
                );
            }
            // And the portable block path on its own.
            let mut acc = vec![[[0f32; LANES]; CLASSES]; n];
            for start in (0..h / LANES).step_by(CHUNKS_PER_BLOCK) {
                accumulate_block_portable(
                    &rows,
                    h,
                    &mt,
                    start,
                    (start + CHUNKS_PER_BLOCK).min(h / LANES),
                    &mut acc,
                );
            }
            for r in 0..n {
                assert_eq!(finish_logits(&rows[r * h..(r + 1) * h], &mt, &acc[r]), out[r]);
            }
        }
    }

    #[test]
    fn blockwise_counts_equal_per_context_accuracy() {
        use tgsh_common::PIXELS;
        let mut rng = ChaCha8Rng::seed_from_u64(8);
        let encoder = crate::Encoder::flyhash(96, 7, &mut rng);
        let n = 37; // not a multiple of the block or of a pair
        let images: Vec<u8> = (0..n * PIXELS)
            .map(|_| if rng.random::<f32>() < 0.3 { rng.random() } else { 0 })
            .collect();
        let labels: Vec<u8> = (0..n).map(|_| rng.random_range(0..10)).collect();
        let decoder: Vec<f32> = (0..CLASSES * 96).map(|_| rng.random::<f32>() - 0.5).collect();
        let contexts: Vec<Vec<f32>> = (0..3)
            .map(|_| (0..96).map(|_| rng.random::<f32>() - 0.5).collect())
            .collect();
        let mts: Vec<Vec<f32>> = contexts.iter().map(|c| modulated_decoder(c, &decoder)).collect();
        let counts = correct_counts_of_images(&encoder, &images, &labels, &mts);
        let rows = encoder.encode(&images);
        for (c, &count) in contexts.iter().zip(&counts) {
            assert_eq!(
                count,
                correct_count(
                    Encoded {
                        rows: &rows,
                        labels: &labels
                    },
                    c,
                    &decoder
                )
            );
        }
    }

    #[test]
    fn accuracy_counts_argmax_hits() {
        // Two units, decoder rows pick unit 0 for class 0 and unit 1 for class 1.
        let h = 2;
        let mut decoder = vec![0f32; CLASSES * h];
        decoder[0] = 1.0; // class 0 reads unit 0
        decoder[h + 1] = 1.0; // class 1 reads unit 1
        let rows = [1.0, 0.0, 0.0, 1.0, 1.0, 0.0];
        let labels = [0u8, 1, 1];
        let data = Encoded {
            rows: &rows,
            labels: &labels,
        };
        assert!((accuracy(data, &[1.0, 1.0], &decoder) - 2.0 / 3.0).abs() < 1e-12);
        // A negative context on unit 1 gives the second image logit -1 for class 1: class 0 (logit 0) wins.
        assert!((accuracy(data, &[1.0, -1.0], &decoder) - 1.0 / 3.0).abs() < 1e-12);
    }
}
