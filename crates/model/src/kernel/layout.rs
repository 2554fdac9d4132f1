//! Memory layouts the kernels read: the decoder interleaved by chunk of
//! units, and 64-byte aligned `f32` buffers.

use super::LANES;
use rayon::prelude::*;
use tgsh_common::CLASSES;

/// 64 bytes, 64-byte aligned: the unit of [`AlignedVec`]'s memory.
#[derive(Debug, Clone, Copy, Default)]
#[repr(C, align(64))]
struct Line([f32; 16]);

/// A `f32` buffer whose first element is 64-byte aligned, so every 8-lane
/// load at a multiple of 8 stays inside one cache line (a load across two
/// lines costs two).
#[derive(Debug, Clone, Default)]
pub struct AlignedVec {
    lines: Vec<Line>,
    len: usize,
}

impl AlignedVec {
    /// `len` zeros.
    pub fn zeros(len: usize) -> AlignedVec {
        AlignedVec {
            lines: vec![Line::default(); len.div_ceil(16)],
            len,
        }
    }

    /// Replaces the contents with `values` (reusing the memory).
    pub fn assign(&mut self, values: impl ExactSizeIterator<Item = f32>) {
        let len = values.len();
        if self.lines.len() < len.div_ceil(16) {
            self.lines.resize(len.div_ceil(16), Line::default());
        }
        self.len = len;
        for (slot, v) in self.iter_mut().zip(values) {
            *slot = v;
        }
    }
}

impl std::ops::Deref for AlignedVec {
    type Target = [f32];
    fn deref(&self) -> &[f32] {
        // SAFETY: `lines` holds at least `len` contiguous f32 (Line is repr(C) of 16 f32).
        unsafe { std::slice::from_raw_parts(self.lines.as_ptr() as *const f32, self.len) }
    }
}

impl std::ops::DerefMut for AlignedVec {
    fn deref_mut(&mut self) -> &mut [f32] {
        // SAFETY: as in `deref`, and the borrow is unique.
        unsafe { std::slice::from_raw_parts_mut(self.lines.as_mut_ptr() as *mut f32, self.len) }
    }
}

/// Weights per chunk of eight units in a [`Decoder`]: ten classes x eight lanes.
pub const CHUNK_WEIGHTS: usize = CLASSES * LANES;

/// The decoder `W2` (`10 x H`, class-major) laid out for the kernels: for
/// each chunk of eight units, the ten classes' eight weights side by side
/// (320 bytes, 64-byte aligned), so one pointer and fixed offsets reach
/// them all and a cache block of units is one contiguous stretch. Units past
/// the last whole chunk are kept class-major. The values are `W2`'s, so
/// the layout changes no result.
#[derive(Debug, Clone, Default)]
pub struct Decoder {
    chunks: AlignedVec,
    tail: Vec<f32>,
    hidden: usize,
}

impl Decoder {
    /// Lays out `w2` (`10 x H`, row-major).
    pub fn new(w2: &[f32]) -> Decoder {
        assert_eq!(w2.len() % CLASSES, 0, "the decoder has ten rows");
        let hidden = w2.len() / CLASSES;
        let full = hidden / LANES;
        let mut chunks = AlignedVec::zeros(full * CHUNK_WEIGHTS);
        for c in 0..full {
            for k in 0..CLASSES {
                let from = &w2[k * hidden + c * LANES..][..LANES];
                chunks[c * CHUNK_WEIGHTS + k * LANES..][..LANES].copy_from_slice(from);
            }
        }
        let tail = (0..CLASSES)
            .flat_map(|k| w2[k * hidden + full * LANES..(k + 1) * hidden].iter().copied())
            .collect();
        Decoder { chunks, tail, hidden }
    }

    /// Units `H`.
    pub fn hidden(&self) -> usize {
        self.hidden
    }

    /// The interleaved whole chunks: `[chunk][class][lane]`.
    #[inline]
    pub fn chunks(&self) -> &[f32] {
        &self.chunks
    }

    /// `W2[k][j]` for a unit `j` past the last whole chunk.
    #[inline]
    pub fn tail(&self, k: usize, j: usize) -> f32 {
        let full = self.hidden / LANES * LANES;
        self.tail[k * (self.hidden - full) + j - full]
    }

    /// The modulated decoder `cs ⊙ W2` (`Mt_kj = cs_j W2_kj`, one rounding)
    /// into `out`, in the same layout: the forward pass's weights for the
    /// scaled context `cs`, so it multiplies nothing per sample.
    pub fn modulated_into(&self, cs: &[f32], out: &mut Decoder) {
        assert_eq!(cs.len(), self.hidden, "one context value per unit");
        self.shape(out);
        // In parallel: the trainer forms it every step.
        const CHUNKS: usize = 64;
        out.chunks
            .par_chunks_mut(CHUNKS * CHUNK_WEIGHTS)
            .enumerate()
            .for_each(|(b, dst)| self.modulate_chunks(b * CHUNKS, &cs[b * CHUNKS * LANES..], dst));
        self.modulate_tail(cs, out);
    }

    /// Gives `out` this decoder's shape (its values are then overwritten
    /// by [`Decoder::modulate_chunks`] and [`Decoder::modulate_tail`]).
    pub fn shape(&self, out: &mut Decoder) {
        out.hidden = self.hidden;
        if out.chunks.len() != self.chunks.len() {
            out.chunks = AlignedVec::zeros(self.chunks.len());
        }
    }

    /// The whole chunks, to be overwritten block by block by
    /// [`Decoder::modulate_chunks`] (a trainer that forms the modulated
    /// decoder in the same parallel pass as its parameter update).
    pub fn chunks_mut(&mut self) -> &mut [f32] {
        &mut self.chunks
    }

    /// One block of [`Decoder::modulated_into`]: the whole chunks from
    /// chunk `first` on, as many as `dst` holds (`dst.len() /
    /// CHUNK_WEIGHTS`), with `cs` the scaled context from unit `8 first`
    /// on. The same bits as the whole.
    pub fn modulate_chunks(&self, first: usize, cs: &[f32], dst: &mut [f32]) {
        let src = &self.chunks[first * CHUNK_WEIGHTS..][..dst.len()];
        for ((dst, src), c) in dst
            .chunks_exact_mut(CHUNK_WEIGHTS)
            .zip(src.chunks_exact(CHUNK_WEIGHTS))
            .zip(cs.chunks_exact(LANES))
        {
            for (dst, src) in dst.chunks_exact_mut(LANES).zip(src.chunks_exact(LANES)) {
                for l in 0..LANES {
                    dst[l] = c[l] * src[l];
                }
            }
        }
    }

    /// The units past the last whole chunk of [`Decoder::modulated_into`]
    /// (`cs` the whole scaled context; `out` shaped by [`Decoder::shape`]).
    pub fn modulate_tail(&self, cs: &[f32], out: &mut Decoder) {
        let full = self.hidden / LANES * LANES;
        let tail = self.hidden - full;
        out.tail.clear();
        out.tail.extend(
            self.tail
                .iter()
                .enumerate()
                .map(|(i, &w)| cs[full + i % tail.max(1)] * w),
        );
    }

    /// [`Decoder::modulated_into`] into a new decoder.
    pub fn modulated(&self, cs: &[f32]) -> Decoder {
        let mut out = Decoder {
            chunks: AlignedVec::default(),
            tail: Vec::new(),
            hidden: 0,
        };
        self.modulated_into(cs, &mut out);
        out
    }

    /// `W2[k][j]`, any unit.
    pub fn weight(&self, k: usize, j: usize) -> f32 {
        let full = self.hidden / LANES * LANES;
        if j < full {
            self.chunks[j / LANES * CHUNK_WEIGHTS + k * LANES + j % LANES]
        } else {
            self.tail(k, j)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_layout_keeps_every_weight_and_aligns_its_chunks() {
        for h in [3usize, 8, 37, 160] {
            let w2: Vec<f32> = (0..CLASSES * h).map(|i| i as f32).collect();
            let d = Decoder::new(&w2);
            for k in 0..CLASSES {
                for j in 0..h {
                    assert_eq!(d.weight(k, j), w2[k * h + j], "h {h}, class {k}, unit {j}");
                }
            }
            assert_eq!(d.chunks().as_ptr() as usize % 64, 0);
        }
        // The modulated decoder: each weight times its unit's context value.
        let h = 37;
        let w2: Vec<f32> = (0..CLASSES * h).map(|i| i as f32 * 0.25 - 3.0).collect();
        let cs: Vec<f32> = (0..h).map(|j| j as f32 * 0.5 - 1.0).collect();
        let m = Decoder::new(&w2).modulated(&cs);
        for k in 0..CLASSES {
            for j in 0..h {
                assert_eq!(m.weight(k, j), cs[j] * w2[k * h + j]);
            }
        }
        let mut v = AlignedVec::default();
        v.assign([1.0, 2.0, 3.0].into_iter());
        assert_eq!(&v[..], &[1.0, 2.0, 3.0]);
        assert_eq!(v.as_ptr() as usize % 64, 0);
    }
}
