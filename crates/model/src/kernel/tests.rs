//! Tests of the kernels against plain sums, and of the two code paths against each other.
use super::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Random rows of each kind, `n x h`, with a shift or not.
fn rows_of_each_kind(n: usize, h: usize, seed: u64) -> (Vec<u16>, Vec<f32>, Vec<f32>, Vec<f32>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let sums: Vec<u16> = (0..n * h).map(|_| half_of_int(rng.random_range(0..1786u16))).collect();
    let means: Vec<f32> = (0..n).map(|_| rng.random_range(100.0..500.0f32)).collect();
    let shift: Vec<f32> = (0..h).map(|_| rng.random_range(-300.0..300.0f32)).collect();
    let values: Vec<f32> = (0..n * h).map(|_| (rng.random::<f32>() - 0.4).max(0.0)).collect();
    (sums, means, shift, values)
}

fn each_kind<'a>(
    h: usize,
    (sums, means, shift, values): &'a (Vec<u16>, Vec<f32>, Vec<f32>, Vec<f32>),
) -> [Rows<'a>; 3] {
    [
        Rows::Sums {
            sums,
            means,
            shift: None,
            hidden: h,
        },
        Rows::Sums {
            sums,
            means,
            shift: Some(shift),
            hidden: h,
        },
        Rows::Values { values, hidden: h },
    ]
}

#[test]
fn half_precision_holds_every_sum_exactly() {
    for x in 0..2048u16 {
        assert_eq!(half_to_f32(half_of_int(x)), x as f32, "{x}");
    }
    // The general conversion: signs, a subnormal, infinity.
    assert_eq!(half_to_f32(0x8000).to_bits(), (-0.0f32).to_bits());
    assert_eq!(half_to_f32(0x0001), 2f32.powi(-24));
    assert_eq!(half_to_f32(0xbc00), -1.0);
    assert_eq!(half_to_f32(0x7c00), f32::INFINITY);
}

#[test]
fn logits_are_the_decoder_applied_to_the_representation() {
    // logits = W2 (c ⊙ r), the plain way in f64, with r = relu(S - mean + shift) * scale.
    let (n, h) = (5, 2 * BLOCK + 37);
    let data = rows_of_each_kind(n, h, 1);
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    let context: Vec<f32> = (0..h).map(|_| rng.random::<f32>() - 0.5).collect();
    let w2: Vec<f32> = (0..CLASSES * h).map(|_| rng.random::<f32>() - 0.5).collect();
    for rows in each_kind(h, &data) {
        let cs: Vec<f32> = context.iter().map(|c| c * rows.scale()).collect();
        let samples = [4usize, 0, 2];
        let mut out = Vec::new();
        logits(
            rows,
            &samples,
            &Decoder::new(&w2).modulated(&cs),
            &mut Scratch::default(),
            &mut out,
        );
        for (&i, l) in samples.iter().zip(&out) {
            for k in 0..CLASSES {
                let plain: f64 = (0..h)
                    .map(|j| {
                        let r = rows.value(i, j) as f64 * rows.scale() as f64;
                        r * context[j] as f64 * w2[k * h + j] as f64
                    })
                    .sum();
                assert!(
                    (l[k] as f64 - plain).abs() < 1e-3 * (1.0 + plain.abs()),
                    "{} vs {plain}",
                    l[k]
                );
            }
        }
    }
}

#[test]
fn the_backward_is_the_plain_sum_over_samples() {
    let (n, h) = (7, BLOCK + 8 * 3 + 5);
    let data = rows_of_each_kind(n, h, 3);
    let mut rng = ChaCha8Rng::seed_from_u64(4);
    let w2: Vec<f32> = (0..CLASSES * h).map(|_| rng.random::<f32>() - 0.5).collect();
    let samples = [6usize, 1, 3, 3];
    let g: Vec<[f32; CLASSES]> = (0..samples.len())
        .map(|_| std::array::from_fn(|_| rng.random::<f32>() - 0.5))
        .collect();
    for rows in each_kind(h, &data) {
        let (mut grad, mut gate) = (vec![f32::NAN; h], vec![f32::NAN; h]);
        backward(
            rows,
            &samples,
            &g,
            &Decoder::new(&w2),
            &mut Scratch::default(),
            &mut grad,
            Some(&mut gate),
        );
        for j in 0..h {
            let (mut plain, mut plain_gate) = (0f64, 0f64);
            for (&i, gs) in samples.iter().zip(&g) {
                let t: f64 = (0..CLASSES).map(|k| gs[k] as f64 * w2[k * h + j] as f64).sum();
                let r = rows.value(i, j) as f64;
                plain += r * t;
                plain_gate += if r > 0.0 { t } else { 0.0 };
            }
            assert!((grad[j] as f64 - plain).abs() < 1e-3 * (1.0 + plain.abs()), "unit {j}");
            assert!(
                (gate[j] as f64 - plain_gate).abs() < 1e-4 * (1.0 + plain_gate.abs()),
                "unit {j}"
            );
        }
        // Without the gate, the same gradient (summed in another order).
        let mut alone = vec![f32::NAN; h];
        backward(
            rows,
            &samples,
            &g,
            &Decoder::new(&w2),
            &mut Scratch::default(),
            &mut alone,
            None,
        );
        for (a, b) in alone.iter().zip(&grad) {
            assert!((a - b).abs() <= 1e-3 * (1.0 + a.abs()), "{a} vs {b}");
        }
    }
}

#[test]
fn the_avx2_path_and_the_portable_path_agree_bit_for_bit() {
    if !avx2_available() {
        eprintln!("no AVX2 + FMA on this CPU: only the portable path runs here");
        return;
    }
    // Widths with several blocks, an odd chunk count and a tail past the last chunk.
    for (n, h) in [(1usize, 8), (3, 203), (16, 2 * BLOCK + 8 * 5 + 3), (16, 7840)] {
        let data = rows_of_each_kind(n.max(4), h, h as u64);
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let w2: Vec<f32> = (0..CLASSES * h).map(|_| rng.random::<f32>() - 0.5).collect();
        let cs: Vec<f32> = (0..h).map(|_| (rng.random::<f32>() - 0.5) * 0.01).collect();
        let samples: Vec<usize> = (0..n).map(|s| (s * 7 + 1) % n.max(4)).collect();
        let g: Vec<[f32; CLASSES]> = (0..n)
            .map(|_| std::array::from_fn(|_| rng.random::<f32>() - 0.5))
            .collect();
        for rows in each_kind(h, &data) {
            let run = |path| {
                let mut scratch = Scratch::default();
                let mut out = Vec::new();
                logits_on(
                    path,
                    rows,
                    &samples,
                    &Decoder::new(&w2).modulated(&cs),
                    &mut scratch,
                    &mut out,
                );
                let (mut grad, mut gate, mut plain) = (vec![0.0; h], vec![0.0; h], vec![0.0; h]);
                backward_on(
                    path,
                    rows,
                    &samples,
                    &g,
                    &Decoder::new(&w2),
                    &mut scratch,
                    &mut grad,
                    Some(&mut gate),
                );
                backward_on(
                    path,
                    rows,
                    &samples,
                    &g,
                    &Decoder::new(&w2),
                    &mut scratch,
                    &mut plain,
                    None,
                );
                let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                (
                    out.iter().map(|l| bits(l)).collect::<Vec<_>>(),
                    bits(&grad),
                    bits(&gate),
                    bits(&plain),
                )
            };
            assert_eq!(run(Path::Best), run(Path::Portable), "n {n}, h {h}");
        }
    }
}

#[test]
fn a_sample_s_logits_do_not_depend_on_its_neighbours() {
    // The trainer scores a chunk, the evaluators blocks: the same row
    // must get the same bits in either.
    let (n, h) = (9, 300);
    let data = rows_of_each_kind(n, h, 6);
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let w2: Vec<f32> = (0..CLASSES * h).map(|_| rng.random::<f32>() - 0.5).collect();
    let cs: Vec<f32> = (0..h).map(|_| rng.random::<f32>() - 0.5).collect();
    let rows = each_kind(h, &data)[0];
    let all: Vec<usize> = (0..n).collect();
    let (mut together, mut alone) = (Vec::new(), Vec::new());
    let mut scratch = Scratch::default();
    logits(
        rows,
        &all,
        &Decoder::new(&w2).modulated(&cs),
        &mut scratch,
        &mut together,
    );
    for (i, together) in together.iter().enumerate() {
        logits(rows, &[i], &Decoder::new(&w2).modulated(&cs), &mut scratch, &mut alone);
        assert_eq!(&alone[0], together, "row {i}");
    }
}
