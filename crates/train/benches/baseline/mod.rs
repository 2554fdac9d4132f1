//! The CPU trainer as it was before the compact-row kernels (commit 196f159), frozen for
//! the benchmark's "baseline kernel" line: each image encoded to `f32`
//! activations by a scatter from its non-zero pixels, the forward pass as
//! ten dot products with `Mt = c ⊙ W2` two rows at a time, the backward pass
//! as `t = W2ᵀ g` per sample and unit. AVX2 + FMA only (the benchmark runs
//! it only where those exist); never used by the stages.

#![allow(clippy::needless_range_loop)]

use rand::seq::SliceRandom;
use rand::Rng;
use rayon::prelude::*;
use std::arch::x86_64::*;
use tgsh_common::{CLASSES, PIXELS};
use tgsh_model::forward::{argmax, dot, softmax_ce};
use tgsh_model::{Encoder, TaskParams};
use tgsh_train::Hyper;

const LANES: usize = 8;
const CHUNK: usize = 16;

/// The encoder of 196f159: one image at a time, `u32` sums scattered from
/// the non-zero pixels, then `f32` activations.
pub fn encode_into(encoder: &Encoder, images: &[u8], out: &mut Vec<f32>) {
    let Encoder::FlyHash { offsets, units, .. } = encoder else {
        panic!("the baseline encodes the fly hash only");
    };
    let h = encoder.hidden();
    out.resize(images.len() / PIXELS * h, 0.0);
    let scale = 1.0 / (255.0 * tgsh_model::encoder::MNIST_STD);
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
            for (r, &s) in row.iter_mut().zip(sums.iter()) {
                *r = (s as f32 - mean).max(0.0) * scale;
            }
        },
    );
}

fn modulated_decoder_into(context: &[f32], decoder: &[f32], mt: &mut Vec<f32>) {
    mt.clear();
    mt.extend_from_slice(decoder);
    for row in mt.chunks_exact_mut(context.len()) {
        for (m, &c) in row.iter_mut().zip(context) {
            *m *= c;
        }
    }
}

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

#[target_feature(enable = "avx2,fma")]
unsafe fn logits_row(row: &[f32], mt: &[f32]) -> [f32; CLASSES] {
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

#[target_feature(enable = "avx2,fma")]
unsafe fn logits_pair(a: &[f32], b: &[f32], mt: &[f32]) -> [[f32; CLASSES]; 2] {
    let h = a.len();
    assert!(b.len() == h && mt.len() >= CLASSES * h);
    const HALF: usize = CLASSES / 2;
    let mut lanes = [[[0f32; LANES]; CLASSES]; 2];
    let (pa, pb, m) = (a.as_ptr(), b.as_ptr(), mt.as_ptr());
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

#[target_feature(enable = "avx2,fma")]
unsafe fn backward_rows(rows: &[&[f32]], g: &[[f32; CLASSES]], decoder: &[f32], grad: &mut [f32]) {
    let h = grad.len();
    assert!(decoder.len() >= CLASSES * h && rows.iter().all(|r| r.len() >= h) && g.len() >= rows.len());
    let d = decoder.as_ptr();
    for i in 0..h / LANES {
        let w: [__m256; CLASSES] = std::array::from_fn(|k| _mm256_loadu_ps(d.add(k * h + i * LANES)));
        let mut acc = _mm256_loadu_ps(grad.as_ptr().add(i * LANES));
        for (row, gs) in rows.iter().zip(g) {
            let mut t = _mm256_setzero_ps();
            for k in 0..CLASSES {
                t = _mm256_fmadd_ps(_mm256_set1_ps(gs[k]), w[k], t);
            }
            acc = _mm256_fmadd_ps(_mm256_loadu_ps(row.as_ptr().add(i * LANES)), t, acc);
        }
        _mm256_storeu_ps(grad.as_mut_ptr().add(i * LANES), acc);
    }
    for j in h / LANES * LANES..h {
        let mut acc = grad[j];
        for (row, gs) in rows.iter().zip(g) {
            let mut t = 0f32;
            for k in 0..CLASSES {
                t = gs[k].mul_add(decoder[k * h + j], t);
            }
            acc = row[j].mul_add(t, acc);
        }
        grad[j] = acc;
    }
}

struct Workspace {
    grad: Vec<f32>,
    g: Vec<[f32; CLASSES]>,
    loss: f64,
    correct: usize,
}

fn chunk_step(
    rows_all: &[f32],
    labels: &[u8],
    samples: &[usize],
    mt: &[f32],
    decoder: &[f32],
    scale: f32,
    w: &mut Workspace,
) {
    let h = w.grad.len();
    w.grad.fill(0.0);
    w.g.clear();
    w.loss = 0.0;
    w.correct = 0;
    let rows: Vec<&[f32]> = samples.iter().map(|&i| &rows_all[i * h..(i + 1) * h]).collect();
    let mut logits = Vec::with_capacity(CHUNK);
    for pair in rows.chunks(2) {
        // SAFETY: the benchmark checks for AVX2 + FMA before running the baseline.
        match pair {
            [a, b] => logits.extend(unsafe { logits_pair(a, b, mt) }),
            [a] => logits.push(unsafe { logits_row(a, mt) }),
            _ => unreachable!("chunks of two"),
        }
    }
    for (l, &i) in logits.iter().zip(samples) {
        let (p, loss, right) = softmax_ce(l, labels[i]);
        w.loss += loss as f64;
        w.correct += right as usize;
        let mut g = p;
        g[labels[i] as usize] -= 1.0;
        w.g.push(g.map(|v| v * scale));
    }
    // SAFETY: as above.
    unsafe { backward_rows(&rows, &w.g, decoder, &mut w.grad) };
}

fn accuracy(rows: &[f32], labels: &[u8], context: &[f32], decoder: &[f32]) -> f64 {
    let h = context.len();
    let mut mt = Vec::new();
    modulated_decoder_into(context, decoder, &mut mt);
    let n = labels.len();
    let right: usize = (0..n.div_ceil(2))
        .into_par_iter()
        .with_min_len(32)
        .map(|pair| {
            let i = 2 * pair;
            let ok = |l: &[f32; CLASSES], i: usize| (argmax(l) == labels[i] as usize) as usize;
            // SAFETY: as above.
            unsafe {
                if i + 1 < n {
                    let [a, b] = logits_pair(&rows[i * h..(i + 1) * h], &rows[(i + 1) * h..(i + 2) * h], &mt);
                    ok(&a, i) + ok(&b, i + 1)
                } else {
                    ok(&logits_row(&rows[i * h..(i + 1) * h], &mt), i)
                }
            }
        })
        .sum();
    right as f64 / n.max(1) as f64
}

/// `train_task` of 196f159 on `f32` rows; returns the test accuracy after
/// the last epoch.
#[allow(clippy::too_many_arguments)]
pub fn train_task(
    train: (&[f32], &[u8]),
    test: (&[f32], &[u8]),
    decoder: &[f32],
    params: &mut TaskParams,
    hyper: &Hyper,
    rng: &mut impl Rng,
) -> f64 {
    assert!(tgsh_model::kernel::avx2_available(), "the baseline needs AVX2 + FMA");
    let n = train.1.len();
    let h = params.modulation.len();
    let mut order: Vec<usize> = (0..n).collect();
    let mut spaces: Vec<Workspace> = Vec::new();
    let (mut v_m, mut v_s) = (vec![0f32; h], [0f32]);
    let (mut context, mut mt, mut grad_c, mut grad_m) = (vec![0f32; h], Vec::new(), vec![0f32; h], vec![0f32; h]);
    let mut last = 0.0;
    for _ in 1..=hyper.epochs {
        order.shuffle(rng);
        for batch in order.chunks(hyper.batch_size) {
            for (c, &m) in context.iter_mut().zip(&params.modulation) {
                *c = m * params.strength;
            }
            let chunks = batch.len().div_ceil(CHUNK);
            while spaces.len() < chunks {
                spaces.push(Workspace {
                    grad: vec![0.0; h],
                    g: Vec::with_capacity(CHUNK),
                    loss: 0.0,
                    correct: 0,
                });
            }
            let scale = 1.0 / batch.len() as f32;
            modulated_decoder_into(&context, decoder, &mut mt);
            let mt = &mt[..];
            spaces[..chunks]
                .par_iter_mut()
                .zip(batch.par_chunks(CHUNK))
                .for_each(|(w, samples)| chunk_step(train.0, train.1, samples, mt, decoder, scale, w));
            grad_c.copy_from_slice(&spaces[0].grad);
            for w in &spaces[1..chunks] {
                for (a, &b) in grad_c.iter_mut().zip(&w.grad) {
                    *a += b;
                }
            }
            for (gm, &gc) in grad_m.iter_mut().zip(&grad_c) {
                *gm = gc * params.strength;
            }
            let grad_s = dot(&params.modulation, &grad_c);
            tgsh_train::kernels::rmsprop(&mut params.modulation, &grad_m, &mut v_m, hyper);
            tgsh_train::kernels::rmsprop(std::slice::from_mut(&mut params.strength), &[grad_s], &mut v_s, hyper);
        }
        last = accuracy(test.0, test.1, &params.context(), decoder);
    }
    last
}
