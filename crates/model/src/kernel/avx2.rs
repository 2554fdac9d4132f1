//! The kernels with AVX2 + FMA intrinsics. `_mm256_fmadd_ps` is a fused
//! multiply-add per lane, exactly what the portable `mul_add` computes, in
//! the same order: results are bit-identical. Rows are decoded in registers
//! (`relu(S - mean + shift)` is exact element-wise arithmetic, the same bits
//! as [`Rows::value`]), so nothing is staged through memory.

use super::{Decoder, Lanes, Rows, BLOCK, CHUNK_WEIGHTS, CLASSES, LANES, PREFETCH_AHEAD};
use std::arch::x86_64::*;

/// Units per prefetch of the backward pass (a cache line of sums).
const PREFETCH: usize = 32;

/// Eight units of one row, decoded in registers.
trait Row: Copy {
    /// `r'` of units `j..j + 8`.
    ///
    /// # Safety
    /// AVX2; `j + 8` within the row.
    unsafe fn load(self, j: usize) -> __m256;

    /// Asks for the memory of units `j..j + units` to be brought into the
    /// caches (any `j`: a prefetch never faults).
    fn prefetch(self, j: usize, units: usize);
}

/// Prefetches `bytes` bytes from `p` into all cache levels.
#[inline(always)]
fn prefetch_bytes(p: *const u8, bytes: usize) {
    let mut off = 0;
    while off < bytes {
        // SAFETY: a prefetch is a hint; it never faults, whatever the address.
        unsafe { _mm_prefetch::<_MM_HINT_T0>(p.wrapping_add(off) as *const i8) };
        off += 64;
    }
}

/// A row of integer sums.
#[derive(Clone, Copy)]
struct SumsRow<const SHIFT: bool> {
    sums: *const u16,
    mean: __m256,
    shift: *const f32,
}

impl<const SHIFT: bool> Row for SumsRow<SHIFT> {
    #[inline(always)]
    unsafe fn load(self, j: usize) -> __m256 {
        let s = _mm256_cvtph_ps(_mm_loadu_si128(self.sums.add(j) as *const __m128i));
        let v = _mm256_sub_ps(s, self.mean);
        let v = if SHIFT {
            _mm256_add_ps(v, _mm256_loadu_ps(self.shift.add(j)))
        } else {
            v
        };
        _mm256_max_ps(v, _mm256_setzero_ps())
    }

    #[inline(always)]
    fn prefetch(self, j: usize, units: usize) {
        prefetch_bytes(self.sums.wrapping_add(j) as *const u8, units * 2);
    }
}

/// A row of `f32` values.
#[derive(Clone, Copy)]
struct ValuesRow(*const f32);

impl Row for ValuesRow {
    #[inline(always)]
    unsafe fn load(self, j: usize) -> __m256 {
        _mm256_loadu_ps(self.0.add(j))
    }

    #[inline(always)]
    fn prefetch(self, j: usize, units: usize) {
        prefetch_bytes(self.0.wrapping_add(j) as *const u8, units * 4);
    }
}

/// Where rows come from.
trait Source: Copy {
    type Row: Row;
    /// Row `i`.
    ///
    /// # Safety
    /// AVX2; `i` within the rows.
    unsafe fn row(self, i: usize) -> Self::Row;
}

#[derive(Clone, Copy)]
struct Sums<'a, const SHIFT: bool> {
    sums: &'a [u16],
    means: &'a [f32],
    shift: *const f32,
    hidden: usize,
}

impl<const SHIFT: bool> Source for Sums<'_, SHIFT> {
    type Row = SumsRow<SHIFT>;
    #[inline(always)]
    unsafe fn row(self, i: usize) -> SumsRow<SHIFT> {
        SumsRow {
            sums: self.sums.as_ptr().add(i * self.hidden),
            mean: _mm256_broadcast_ss(self.means.get_unchecked(i)),
            shift: self.shift,
        }
    }
}

#[derive(Clone, Copy)]
struct Values<'a> {
    values: &'a [f32],
    hidden: usize,
}

impl Source for Values<'_> {
    type Row = ValuesRow;
    #[inline(always)]
    unsafe fn row(self, i: usize) -> ValuesRow {
        ValuesRow(self.values.as_ptr().add(i * self.hidden))
    }
}

/// Calls `$kernel` with the source matching `$rows`.
macro_rules! with_source {
    ($rows:expr, $kernel:ident ( $($arg:expr),* )) => {
        match $rows {
            Rows::Sums { sums, means, shift: None, hidden } => {
                $kernel(Sums::<false> { sums, means, shift: std::ptr::null(), hidden }, $($arg),*)
            }
            Rows::Sums { sums, means, shift: Some(shift), hidden } => {
                $kernel(Sums::<true> { sums, means, shift: shift.as_ptr(), hidden }, $($arg),*)
            }
            Rows::Values { values, hidden } => $kernel(Values { values, hidden }, $($arg),*),
        }
    };
}

/// [`super::forward_portable`] with intrinsics: cache blocks of [`BLOCK`]
/// units (the modulated decoder's slice stays in L1 while every sample
/// passes over it), two samples and five classes at a time (10
/// accumulators; each weight loaded once serves both samples), each
/// accumulator's FMAs in ascending chunk order.
///
/// # Safety
/// The CPU must support AVX2, FMA and F16C; shapes as checked by the caller.
#[target_feature(enable = "avx2,fma,f16c")]
pub unsafe fn forward(rows: Rows<'_>, samples: &[usize], mt: &Decoder, acc: &mut [Lanes]) {
    let h = rows.hidden();
    assert!(mt.hidden() == h && acc.len() == samples.len());
    with_source!(rows, forward_from(samples, mt, h, acc))
}

#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn forward_from<S: Source>(src: S, samples: &[usize], mt: &Decoder, h: usize, acc: &mut [Lanes]) {
    const HALF: usize = CLASSES / 2;
    let full = h / LANES * LANES;
    let w = mt.chunks().as_ptr();
    let n = samples.len();
    // The first blocks of every row, before any is needed.
    for &i in samples {
        src.row(i).prefetch(0, PREFETCH_AHEAD);
    }
    for from in (0..full).step_by(BLOCK) {
        let to = (from + BLOCK).min(full);
        let mut s = 0;
        while s < n {
            // A lone last sample is paired with itself; only its own sums are stored.
            let pair = s + 1 < n;
            let (ra, rb) = (src.row(samples[s]), src.row(samples[if pair { s + 1 } else { s }]));
            ra.prefetch(from + PREFETCH_AHEAD, BLOCK);
            if pair {
                rb.prefetch(from + PREFETCH_AHEAD, BLOCK);
            }
            for half in [0, HALF] {
                let mut a: [__m256; HALF] = std::array::from_fn(|k| _mm256_loadu_ps(acc[s][half + k].as_ptr()));
                let mut b: [__m256; HALF] = if pair {
                    std::array::from_fn(|k| _mm256_loadu_ps(acc[s + 1][half + k].as_ptr()))
                } else {
                    [_mm256_setzero_ps(); HALF]
                };
                let mut j = from;
                while j < to {
                    let (qa, qb) = (ra.load(j), rb.load(j));
                    let wj = w.add(j / LANES * CHUNK_WEIGHTS + half * LANES);
                    for k in 0..HALF {
                        let wk = _mm256_load_ps(wj.add(k * LANES));
                        a[k] = _mm256_fmadd_ps(qa, wk, a[k]);
                        b[k] = _mm256_fmadd_ps(qb, wk, b[k]);
                    }
                    j += LANES;
                }
                for k in 0..HALF {
                    _mm256_storeu_ps(acc[s][half + k].as_mut_ptr(), a[k]);
                    if pair {
                        _mm256_storeu_ps(acc[s + 1][half + k].as_mut_ptr(), b[k]);
                    }
                }
            }
            s += 2;
        }
    }
}

/// The backward pass a chunk of eight units at a time: `A_kj` for all ten
/// classes in registers over every sample (each row's units decoded once),
/// then the contraction with `W2`.
/// `g` holds each `g_bk` broadcast to eight lanes. Returns the units done.
///
/// # Safety
/// The CPU must support AVX2, FMA and F16C; shapes as checked by the caller.
#[target_feature(enable = "avx2,fma,f16c")]
pub unsafe fn backward(
    rows: Rows<'_>,
    samples: &[usize],
    g: &[[f32; LANES]],
    decoder: &Decoder,
    grad: &mut [f32],
) -> usize {
    let h = rows.hidden();
    assert!(g.len() == samples.len() * CLASSES && grad.len() == h && decoder.hidden() == h);
    with_source!(rows, backward_from(samples, g, decoder, h, grad))
}

#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn backward_from<S: Source>(
    src: S,
    samples: &[usize],
    g: &[[f32; LANES]],
    decoder: &Decoder,
    h: usize,
    grad: &mut [f32],
) -> usize {
    let full = h / LANES * LANES;
    let (w, gp) = (decoder.chunks().as_ptr(), g.as_ptr() as *const f32);
    // Each row's pointer and mean looked up once, not once per chunk.
    let rows: Vec<S::Row> = samples.iter().map(|&i| src.row(i)).collect();
    // One chunk and all ten classes at a time: each row's units decoded
    // once (ten accumulators; each g_bk is an FMA's memory operand).
    let mut j = 0;
    while j < full {
        let prefetch = j % PREFETCH == 0;
        let mut a = [_mm256_setzero_ps(); CLASSES];
        for (s, row) in rows.iter().enumerate() {
            if prefetch {
                row.prefetch(j + PREFETCH, PREFETCH);
            }
            let r = row.load(j);
            let gs = gp.add(s * CLASSES * LANES);
            for (k, a) in a.iter_mut().enumerate() {
                *a = _mm256_fmadd_ps(_mm256_loadu_ps(gs.add(k * LANES)), r, *a);
            }
        }
        // Σ_k W2_kj A_kj, classes in order.
        let wj = w.add(j / LANES * CHUNK_WEIGHTS);
        let mut t = _mm256_setzero_ps();
        for (k, a) in a.iter().enumerate() {
            t = _mm256_fmadd_ps(_mm256_load_ps(wj.add(k * LANES)), *a, t);
        }
        _mm256_storeu_ps(grad.as_mut_ptr().add(j), t);
        j += LANES;
    }
    full
}

/// [`backward`] with the gate product, sample by sample: `e_b = W2ᵀ g_b`
/// for a chunk of eight units (the chunk's ten weight vectors stay in
/// registers while every sample passes), then `grad += r'_b e_b` and
/// `gate += 1[r'_b > 0] e_b`: eleven multiply-adds per sample and chunk
/// instead of ten plus twenty masked additions. Returns the units done.
///
/// # Safety
/// The CPU must support AVX2, FMA and F16C; shapes as checked by the caller.
#[target_feature(enable = "avx2,fma,f16c")]
pub unsafe fn backward_gated(
    rows: Rows<'_>,
    samples: &[usize],
    g: &[[f32; LANES]],
    decoder: &Decoder,
    grad: &mut [f32],
    gate: &mut [f32],
) -> usize {
    let h = rows.hidden();
    assert!(g.len() == samples.len() * CLASSES && grad.len() == h && gate.len() == h && decoder.hidden() == h);
    with_source!(rows, backward_gated_from(samples, g, decoder, h, grad, gate))
}

#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn backward_gated_from<S: Source>(
    src: S,
    samples: &[usize],
    g: &[[f32; LANES]],
    decoder: &Decoder,
    h: usize,
    grad: &mut [f32],
    gate: &mut [f32],
) -> usize {
    let full = h / LANES * LANES;
    let (w, gp) = (decoder.chunks().as_ptr(), g.as_ptr() as *const f32);
    let zero = _mm256_setzero_ps();
    let rows: Vec<S::Row> = samples.iter().map(|&i| src.row(i)).collect();
    let mut j = 0;
    while j < full {
        let wj = w.add(j / LANES * CHUNK_WEIGHTS);
        let wk: [__m256; CLASSES] = [
            _mm256_load_ps(wj),
            _mm256_load_ps(wj.add(LANES)),
            _mm256_load_ps(wj.add(2 * LANES)),
            _mm256_load_ps(wj.add(3 * LANES)),
            _mm256_load_ps(wj.add(4 * LANES)),
            _mm256_load_ps(wj.add(5 * LANES)),
            _mm256_load_ps(wj.add(6 * LANES)),
            _mm256_load_ps(wj.add(7 * LANES)),
            _mm256_load_ps(wj.add(8 * LANES)),
            _mm256_load_ps(wj.add(9 * LANES)),
        ];
        let prefetch = j % PREFETCH == 0;
        let (mut t, mut u) = (zero, zero);
        for (s, row) in rows.iter().enumerate() {
            if prefetch {
                row.prefetch(j + PREFETCH, PREFETCH);
            }
            let gs = gp.add(s * CLASSES * LANES);
            // e = Σ_k W2_kj g_bk, classes in order (the first a product).
            let mut e = _mm256_mul_ps(wk[0], _mm256_loadu_ps(gs));
            for (k, wk) in wk.iter().enumerate().skip(1) {
                e = _mm256_fmadd_ps(*wk, _mm256_loadu_ps(gs.add(k * LANES)), e);
            }
            let r = row.load(j);
            t = _mm256_fmadd_ps(r, e, t);
            // e where r' > 0, else +0: the portable `if r > 0 { e } else { 0 }`.
            u = _mm256_add_ps(u, _mm256_and_ps(_mm256_cmp_ps::<_CMP_GT_OQ>(r, zero), e));
        }
        _mm256_storeu_ps(grad.as_mut_ptr().add(j), t);
        _mm256_storeu_ps(gate.as_mut_ptr().add(j), u);
        j += LANES;
    }
    full
}
