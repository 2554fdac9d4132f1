//! The fly hash's sums of sixteen images at once: each unit gathers its `k`
//! pixels for all sixteen images with one vector load per pixel.
//!
//! A unit's sum `S_j = Σ_i x[idx_ji]` is a gather. One image at a time,
//! it is best done as a scatter from the non-zero pixels (about a fifth of
//! an MNIST image); but a scatter is a chain of read-modify-writes to
//! random addresses (~3 cycles each here). With the pixels of sixteen
//! images transposed side by side (`x[p]` = sixteen 16-bit values), every
//! `S_j` of the sixteen images is `k` plain vector loads and adds, and an
//! 8 x 16 transpose in registers writes eight units of each image's row at
//! once: about ten times fewer cycles per image. The sums are the same
//! integers either way.

use crate::kernel::{half_of_int, Path};
use tgsh_common::PIXELS;

/// Images per batch: the lanes of a 256-bit vector of 16-bit sums.
pub const BATCH: usize = 16;

/// Rows of the transposed table: a power of two above the 784 pixels, so a
/// pixel index masked with `TABLE - 1` always lands inside it (the kernel
/// then needs no check of the encoder's indices; those past 784 read zeros).
const TABLE: usize = 1024;

/// The sums of `images` (`n <= 16` images of 784 bytes) into `rows`
/// (`n x H`, overwritten, as half-precision bit patterns: exact, since
/// `k <= 8` keeps every sum below 2048) for the fly hash with `k` pixels per
/// unit (`inputs`, unit-major); `transposed` is a reused buffer.
pub fn sums(images: &[u8], inputs: &[u16], k: usize, rows: &mut [u16], transposed: &mut Vec<[u16; BATCH]>) {
    sums_on(Path::Best, images, inputs, k, rows, transposed)
}

/// [`sums`] on a chosen code path.
pub fn sums_on(
    path: Path,
    images: &[u8],
    inputs: &[u16],
    k: usize,
    rows: &mut [u16],
    transposed: &mut Vec<[u16; BATCH]>,
) {
    let n = images.len() / PIXELS;
    let h = inputs.len() / k;
    assert!(
        n <= BATCH && rows.len() == n * h && k * 255 < 2048,
        "sums must stay below 2048"
    );
    #[cfg(target_arch = "x86_64")]
    if path.avx2() {
        transpose(images, transposed);
        // SAFETY: AVX2 was detected; the shapes were checked above.
        unsafe { avx2::sums(transposed, inputs, k, n, rows) };
        return;
    }
    let _ = (path, transposed);
    for (image, row) in images.chunks_exact(PIXELS).zip(rows.chunks_exact_mut(h)) {
        for (s, unit) in row.iter_mut().zip(inputs.chunks_exact(k)) {
            *s = half_of_int(unit.iter().map(|&p| image[p as usize] as u16).sum());
        }
    }
}

/// `transposed[p][i]` = pixel `p` of image `i`, rows past 784 zero (lanes
/// past the last image keep stale values: nothing reads them into a row).
fn transpose(images: &[u8], transposed: &mut Vec<[u16; BATCH]>) {
    if transposed.len() != TABLE {
        *transposed = vec![[0; BATCH]; TABLE];
    }
    for (i, image) in images.chunks_exact(PIXELS).enumerate() {
        for (t, &v) in transposed.iter_mut().zip(image) {
            t[i] = v as u16;
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use super::{BATCH, TABLE};
    use std::arch::x86_64::*;

    /// The gather for whole groups of eight units, then the remaining units
    /// one by one.
    ///
    /// # Safety
    /// The CPU must support AVX2.
    #[target_feature(enable = "avx2,f16c")]
    pub unsafe fn sums(transposed: &[[u16; BATCH]], inputs: &[u16], k: usize, n: usize, rows: &mut [u16]) {
        let h = inputs.len() / k;
        assert!(transposed.len() == TABLE && n <= BATCH && rows.len() == n * h);
        if k == 7 {
            groups::<7>(transposed, inputs, n, h, rows);
        } else {
            groups_k(transposed, inputs, k, n, h, rows);
        }
    }

    /// The sixteen images' sum of unit `j` (`K` inputs).
    #[inline(always)]
    unsafe fn unit<const K: usize>(x: *const [u16; BATCH], inputs: *const u16, j: usize) -> __m256i {
        let idx = inputs.add(j * K);
        let mut acc = _mm256_loadu_si256(x.add(*idx as usize & (TABLE - 1)) as *const __m256i);
        for i in 1..K {
            let p = *idx.add(i) as usize & (TABLE - 1);
            acc = _mm256_add_epi16(acc, _mm256_loadu_si256(x.add(p) as *const __m256i));
        }
        acc
    }

    #[inline(always)]
    unsafe fn unit_k(x: *const [u16; BATCH], inputs: *const u16, k: usize, j: usize) -> __m256i {
        let idx = inputs.add(j * k);
        let mut acc = _mm256_setzero_si256();
        for i in 0..k {
            let p = *idx.add(i) as usize & (TABLE - 1);
            acc = _mm256_add_epi16(acc, _mm256_loadu_si256(x.add(p) as *const __m256i));
        }
        acc
    }

    /// Units per tile written with non-temporal stores: 128 bytes, two
    /// cache lines, of each of the sixteen rows.
    const TILE: usize = 64;

    #[target_feature(enable = "avx2,f16c")]
    unsafe fn groups<const K: usize>(
        transposed: &[[u16; BATCH]],
        inputs: &[u16],
        n: usize,
        h: usize,
        rows: &mut [u16],
    ) {
        let (x, ins) = (transposed.as_ptr(), inputs.as_ptr());
        write_rows(n, h, rows, |j| unit::<K>(x, ins, j));
    }

    #[target_feature(enable = "avx2,f16c")]
    unsafe fn groups_k(transposed: &[[u16; BATCH]], inputs: &[u16], k: usize, n: usize, h: usize, rows: &mut [u16]) {
        let (x, ins) = (transposed.as_ptr(), inputs.as_ptr());
        write_rows(n, h, rows, |j| unit_k(x, ins, k, j));
    }

    /// Every unit's sums (`unit(j)`: sixteen images) into the rows. A full
    /// batch's line-aligned stretches go through an L1 tile and out with
    /// non-temporal stores (the rows are not read again soon, and a store
    /// that misses would first read the line); the rest is stored directly.
    #[inline(always)]
    unsafe fn write_rows(n: usize, h: usize, rows: &mut [u16], unit: impl Fn(usize) -> __m256i) {
        // All rows share the alignment of the first (the row stride is a multiple of 64 bytes when H is of 32).
        let misaligned = (rows.as_ptr() as usize) % 64;
        let stream = n == BATCH && h.is_multiple_of(32) && misaligned.is_multiple_of(16);
        let first = if stream { (64 - misaligned) % 64 / 2 } else { h };
        let mut j = 0;
        while j + 8 <= first.min(h) {
            store_group(eight(|u| unit(j + u)), j, n, h, rows);
            j += 8;
        }
        if stream {
            let mut tile = [[0u16; TILE]; BATCH];
            while j + TILE <= h {
                for g in 0..TILE / 8 {
                    let v = eight(|u| unit(j + 8 * g + u));
                    store_group(v, 8 * g, BATCH, TILE, tile.as_flattened_mut());
                }
                for (m, line) in tile.iter().enumerate() {
                    let dst = rows.as_mut_ptr().add(m * h + j) as *mut __m128i;
                    for q in 0..TILE / 8 {
                        _mm_stream_si128(dst.add(q), _mm_loadu_si128(line.as_ptr().add(8 * q) as *const __m128i));
                    }
                }
                j += TILE;
            }
            _mm_sfence();
        }
        while j + 8 <= h {
            store_group(eight(|u| unit(j + u)), j, n, h, rows);
            j += 8;
        }
        for j in j..h {
            store_one(unit(j), j, n, h, rows);
        }
    }

    /// `[f(0), ..., f(7)]`, written out: `std::array::from_fn` left the
    /// calls out of line here (each vector returned through memory).
    #[inline(always)]
    unsafe fn eight(f: impl Fn(usize) -> __m256i) -> [__m256i; 8] {
        [f(0), f(1), f(2), f(3), f(4), f(5), f(6), f(7)]
    }

    /// Sixteen integer sums (below 2048) as half-precision bit patterns, exactly.
    #[inline(always)]
    unsafe fn to_half(v: __m256i) -> __m256i {
        let half =
            |x: __m128i| _mm256_cvtps_ph::<_MM_FROUND_TO_NEAREST_INT>(_mm256_cvtepi32_ps(_mm256_cvtepu16_epi32(x)));
        _mm256_set_m128i(half(_mm256_extracti128_si256::<1>(v)), half(_mm256_castsi256_si128(v)))
    }

    /// Eight units' sums (`v[u]`: sixteen images) into units `j..j + 8` of
    /// each image's row, as half-precision bit patterns: an 8 x 8 transpose
    /// of 16-bit values in each 128-bit half (images 0-7 and 8-15).
    #[inline(always)]
    unsafe fn store_group(v: [__m256i; 8], j: usize, n: usize, h: usize, rows: &mut [u16]) {
        let v = eight(|u| to_half(v[u]));
        let t: [__m256i; 8] = eight(|i| {
            let (a, b) = (v[2 * (i % 4)], v[2 * (i % 4) + 1]);
            if i < 4 {
                _mm256_unpacklo_epi16(a, b)
            } else {
                _mm256_unpackhi_epi16(a, b)
            }
        });
        // t[0..4]: images 0-3 of unit pairs (0,1), (2,3), (4,5), (6,7); t[4..8]: images 4-7.
        let u: [__m256i; 8] = eight(|i| {
            let base = 4 * (i / 4);
            let (a, b) = if i % 4 < 2 {
                (t[base], t[base + 1])
            } else {
                (t[base + 2], t[base + 3])
            };
            if i % 2 == 0 {
                _mm256_unpacklo_epi32(a, b)
            } else {
                _mm256_unpackhi_epi32(a, b)
            }
        });
        // u[0]: images 0-1 of units 0-3; u[1]: images 2-3 of units 0-3;
        // u[2]: images 0-1 of units 4-7; u[3]: images 2-3 of units 4-7;
        // u[4..8]: the same for images 4-7.
        for m in 0..8 {
            let (lo, hi) = (4 * (m / 4) + (m % 4) / 2, 4 * (m / 4) + 2 + (m % 4) / 2);
            let w = if m % 2 == 0 {
                _mm256_unpacklo_epi64(u[lo], u[hi])
            } else {
                _mm256_unpackhi_epi64(u[lo], u[hi])
            };
            // w: image m (low half) and image m + 8 (high half), units j..j + 8.
            if m < n {
                _mm_storeu_si128(
                    rows.as_mut_ptr().add(m * h + j) as *mut __m128i,
                    _mm256_castsi256_si128(w),
                );
            }
            if m + 8 < n {
                _mm_storeu_si128(
                    rows.as_mut_ptr().add((m + 8) * h + j) as *mut __m128i,
                    _mm256_extracti128_si256::<1>(w),
                );
            }
        }
    }

    /// One unit's sums into each image's row.
    #[inline(always)]
    unsafe fn store_one(v: __m256i, j: usize, n: usize, h: usize, rows: &mut [u16]) {
        let mut lanes = [0u16; BATCH];
        _mm256_storeu_si256(lanes.as_mut_ptr() as *mut __m256i, to_half(v));
        for (m, &s) in lanes.iter().enumerate().take(n) {
            rows[m * h + j] = s;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn batched_sums_are_the_sums_of_each_image() {
        let mut rng = ChaCha8Rng::seed_from_u64(12);
        // Widths with and without whole tiles, partial batches, other k;
        // rows at every 16-byte alignment (the streamed tiles start on a line).
        for (h, k, n) in [
            (83usize, 7usize, 16usize),
            (40, 7, 5),
            (64, 3, 16),
            (9, 8, 1),
            (320, 7, 16),
            (7840, 7, 16),
        ] {
            let inputs: Vec<u16> = (0..h * k).map(|_| rng.random_range(0..PIXELS as u16)).collect();
            let images: Vec<u8> = (0..n * PIXELS)
                .map(|_| if rng.random::<f32>() < 0.3 { rng.random() } else { 0 })
                .collect();
            for offset in [0usize, 8, 16, 24] {
                let mut buffer = vec![u16::MAX; n * h + 32];
                let rows = &mut buffer[offset..offset + n * h];
                sums(&images, &inputs, k, rows, &mut Vec::new());
                let mut portable = vec![0u16; n * h];
                sums_on(Path::Portable, &images, &inputs, k, &mut portable, &mut Vec::new());
                assert_eq!(rows, &portable[..]);
                for (i, image) in images.chunks_exact(PIXELS).enumerate() {
                    for j in 0..h {
                        let plain: u16 = inputs[j * k..(j + 1) * k]
                            .iter()
                            .map(|&p| image[p as usize] as u16)
                            .sum();
                        let value = crate::kernel::half_to_f32(rows[i * h + j]);
                        assert_eq!(
                            value, plain as f32,
                            "h {h}, k {k}, image {i}, unit {j}, offset {offset}"
                        );
                    }
                }
            }
        }
    }
}
