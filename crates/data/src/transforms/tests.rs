//! Tests of the transforms: hand-computed values, laws (rotation by 360), and torchvision's own output byte for byte.
use super::*;
use proptest::prelude::*;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// Read a golden fixture written by torch 2.15 / torchvision 0.29.2 (see
/// `tests/fixtures/index.json`).
macro_rules! fixture {
    ($name:literal) => {{
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/", $name);
        std::fs::read(path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }};
}

const N_IMAGES: usize = 64;
const PX: usize = SIDE * SIDE;

/// The first 64 MNIST test images, the input of every fixture.
fn originals() -> Vec<Image> {
    let raw = fixture!("original.u8");
    assert_eq!(raw.len(), N_IMAGES * PX);
    raw.chunks_exact(PX).map(|c| c.try_into().unwrap()).collect()
}

/// Pixels where `got` differs from the fixture slice `want`.
fn diff(got: &Image, want: &[u8]) -> usize {
    got.iter().zip(want).filter(|(a, b)| a != b).count()
}

/// FNV-1a over a sequence of images, to compare long runs against
/// checksums computed from torchvision's output.
fn fnv1a<'a>(imgs: impl IntoIterator<Item = &'a Image>) -> u64 {
    let mut h = 0xcbf2_9ce4_8422_2325u64;
    for img in imgs {
        for &b in img.iter() {
            h = (h ^ b as u64).wrapping_mul(0x0100_0000_01b3);
        }
    }
    h
}

fn any_image() -> impl Strategy<Value = Image> {
    proptest::collection::vec(any::<u8>(), PX).prop_map(|v| v.try_into().unwrap())
}

// ---- golden fixtures -------------------------------------------------

#[test]
fn rotation_matches_fixture() {
    let want = fixture!("rotation.u8");
    assert_eq!(want.len(), N_IMAGES * 36 * PX);
    let mut bad = 0;
    for (i, img) in originals().iter().enumerate() {
        for t in 0..36 {
            let k = (i * 36 + t) * PX;
            bad += diff(&rotate(img, 10.0 * t as f64), &want[k..k + PX]);
        }
    }
    assert_eq!(bad, 0, "pixels differing from torchvision's rotate");
}

#[test]
fn shift_matches_fixture() {
    let want = fixture!("shift.u8");
    assert_eq!(want.len(), N_IMAGES * SIDE * PX);
    let mut bad = 0;
    for (i, img) in originals().iter().enumerate() {
        for t in 0..SIDE {
            let k = (i * SIDE + t) * PX;
            bad += diff(&shift_right(img, t as i64), &want[k..k + PX]);
        }
    }
    assert_eq!(bad, 0);
}

fn check_single(want: Vec<u8>, f: impl Fn(&Image) -> Image) {
    assert_eq!(want.len(), N_IMAGES * PX);
    let bad: usize = originals()
        .iter()
        .zip(want.chunks_exact(PX))
        .map(|(img, w)| diff(&f(img), w))
        .sum();
    assert_eq!(bad, 0);
}

#[test]
fn hflip_matches_fixture() {
    check_single(fixture!("hflip.u8"), hflip);
}

#[test]
fn vflip_matches_fixture() {
    check_single(fixture!("vflip.u8"), vflip);
}

#[test]
fn invert_matches_fixture() {
    check_single(fixture!("invert.u8"), invert);
}

#[test]
fn gaussian_blur_matches_fixture() {
    check_single(fixture!("gaussian_blur.u8"), |img| gaussian_blur(img, 5, 2.0));
}

// ---- checksums of torchvision output beyond the fixtures -------------
// Computed with torch 2.15 / torchvision 0.29.2 on CPU (AVX-512) from the
// same 64 originals and the same deterministic parameter lists.

#[test]
fn rotation_at_arbitrary_angles_matches_torchvision() {
    let imgs = originals();
    let out: Vec<Image> = (0..200)
        .map(|k| rotate(&imgs[k % 64], -730.0 + k as f64 * 7.3))
        .collect();
    assert_eq!(fnv1a(&out), 0xd155_66d7_bcbd_b42b);
}

#[test]
fn gaussian_blur_other_kernels_match_torchvision() {
    let imgs = originals();
    for (k, s, want) in [
        (3, 0.5, 0x5b29_c422_355c_365bu64),
        (3, 1.0, 0x8a38_6310_5ee5_0178),
        (5, 1.0, 0xeb0b_55b1_dfef_6155),
        (7, 1.0, 0x5f3a_63e1_3a6b_3640),
        (9, 2.0, 0x3c70_f99e_e9bb_29c7),
        (11, 1.0, 0x4b76_de1a_4b92_fa77),
    ] {
        let out: Vec<Image> = imgs.iter().map(|img| gaussian_blur(img, k, s)).collect();
        assert_eq!(fnv1a(&out), want, "kernel {k} sigma {s}");
    }
}

#[test]
fn perspective_matches_torchvision() {
    let imgs = originals();
    let out: Vec<Image> = (0..256usize)
        .map(|n| {
            let f = |v: usize| v as f64;
            let end = [
                [f(n % 8), f((n / 8) % 8)],
                [27.0 - f((n * 3) % 8), f((n * 5) % 8)],
                [27.0 - f((n * 7) % 8), 27.0 - f((n * 11) % 8)],
                [f((n * 13) % 8), 27.0 - f((n * 17) % 8)],
            ];
            let params = PerspectiveParams {
                start: [[0.0, 0.0], [27.0, 0.0], [27.0, 27.0], [0.0, 27.0]],
                end,
            };
            perspective(&imgs[n % 64], &params)
        })
        .collect();
    assert_eq!(fnv1a(&out), 0x05d9_c377_e6b6_2bdd);
}

#[test]
fn resized_crop_matches_torchvision_for_every_crop_size() {
    let imgs = originals();
    let mut out = Vec::new();
    for h in 1..=SIDE {
        for w in 1..=SIDE {
            let params = CropParams {
                top: (h * 7) % (29 - h),
                left: (w * 5) % (29 - w),
                height: h,
                width: w,
            };
            out.push(resized_crop(&imgs[(h * 28 + w) % 64], &params));
        }
    }
    assert_eq!(fnv1a(&out), 0xad3c_7834_d016_128e);
}

// ---- laws of the deterministic transforms -----------------------------

#[test]
fn rotate_by_zero_and_full_turns_is_identity() {
    for img in originals() {
        assert_eq!(rotate(&img, 0.0), img);
        assert_eq!(rotate(&img, 360.0), rotate(&img, 0.0));
        assert_eq!(rotate(&img, -360.0), img);
    }
}

#[test]
fn rotate_by_90_is_counter_clockwise_quarter_turn() {
    for img in originals() {
        let r = rotate(&img, 90.0);
        for y in 0..SIDE {
            for x in 0..SIDE {
                // The top-right corner moves to the top-left.
                assert_eq!(r[y * SIDE + x], img[x * SIDE + (SIDE - 1 - y)]);
            }
        }
    }
}

proptest! {
    #[test]
    fn rotate_zero_is_identity_on_any_image(img in any_image()) {
        prop_assert_eq!(rotate(&img, 0.0), img);
        prop_assert_eq!(rotate(&img, 360.0), img);
    }

    #[test]
    fn shift_is_periodic_and_additive(img in any_image(), a in -100i64..100, b in -100i64..100) {
        prop_assert_eq!(shift_right(&img, SIDE as i64), img);
        prop_assert_eq!(shift_right(&img, 0), img);
        prop_assert_eq!(shift_right(&shift_right(&img, a), b), shift_right(&img, a + b));
        prop_assert_eq!(shift_right(&shift_right(&img, a), -a), img);
    }

    #[test]
    fn flips_and_invert_are_involutions(img in any_image()) {
        prop_assert_eq!(hflip(&hflip(&img)), img);
        prop_assert_eq!(vflip(&vflip(&img)), img);
        prop_assert_eq!(invert(&invert(&img)), img);
        prop_assert_eq!(hflip(&vflip(&img)), rotate(&img, 180.0));
    }
}

#[test]
fn blur_keeps_constant_images() {
    for v in [0u8, 1, 128, 255] {
        assert_eq!(gaussian_blur(&[v; PX], 5, 2.0), [v; PX]);
    }
}

#[test]
fn identity_windows_are_identity() {
    let full = CropParams {
        top: 0,
        left: 0,
        height: SIDE,
        width: SIDE,
    };
    let no_move = PerspectiveParams {
        start: [[0.0, 0.0], [27.0, 0.0], [27.0, 27.0], [0.0, 27.0]],
        end: [[0.0, 0.0], [27.0, 0.0], [27.0, 27.0], [0.0, 27.0]],
    };
    for img in originals() {
        assert_eq!(resized_crop(&img, &full), img);
        assert_eq!(perspective(&img, &no_move), img);
    }
}

/// Antialiasing is moot when upsampling: the AA kernel must agree with
/// textbook bilinear (half-pixel centres, edge clamp) evaluated in f64,
/// up to float32 rounding at .5 ties.
#[test]
fn resized_crop_is_plain_bilinear_when_upsampling() {
    let lerp_axis = |i: usize, n: usize| -> (usize, usize, f64) {
        let src = ((i as f64 + 0.5) * n as f64 / SIDE as f64 - 0.5).max(0.0);
        let i0 = (src.floor() as usize).min(n - 1);
        let i1 = (i0 + 1).min(n - 1);
        (i0, i1, src - i0 as f64)
    };
    let (mut total, mut off) = (0usize, 0usize);
    for (k, img) in originals().iter().enumerate() {
        for (h, w) in [(5, 9), (14, 14), (17, 23), (27, 28), (28, 3), (1, 1)] {
            let p = CropParams {
                top: (k * 3) % (29 - h),
                left: (k * 5) % (29 - w),
                height: h,
                width: w,
            };
            let got = resized_crop(img, &p);
            let at = |r: usize, c: usize| img[(p.top + r) * SIDE + p.left + c] as f64;
            for r in 0..SIDE {
                let (y0, y1, ly) = lerp_axis(r, h);
                for c in 0..SIDE {
                    let (x0, x1, lx) = lerp_axis(c, w);
                    let top = at(y0, x0) * (1.0 - lx) + at(y0, x1) * lx;
                    let bot = at(y1, x0) * (1.0 - lx) + at(y1, x1) * lx;
                    let want = (top * (1.0 - ly) + bot * ly).round_ties_even();
                    let d = (got[r * SIDE + c] as f64 - want).abs();
                    assert!(d <= 1.0, "crop {p:?} at ({r}, {c}): {} vs {want}", got[r * SIDE + c]);
                    total += 1;
                    off += (d > 0.0) as usize;
                }
            }
        }
    }
    assert!(off * 1000 < total, "{off} of {total} pixels off by one");
}

// ---- random transforms -------------------------------------------------

type Run = (
    Vec<Image>,
    Vec<PerspectiveParams>,
    Vec<Option<ErasingParams>>,
    Vec<CropParams>,
);

fn run_all(seed: u64) -> Run {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut run: Run = Default::default();
    for img in originals() {
        let (a, pp) = random_perspective(&img, 0.5, &mut rng);
        let (b, ep) = random_erasing(&img, (0.02, 0.33), (0.3, 3.3), 0, &mut rng);
        let (c, cp) = random_resized_crop(&img, (0.08, 1.0), (3.0 / 4.0, 4.0 / 3.0), &mut rng);
        run.0.extend([a, b, c]);
        run.1.push(pp);
        run.2.push(ep);
        run.3.push(cp);
    }
    run
}

#[test]
fn random_transforms_are_reproducible_per_seed() {
    let a = run_all(7);
    assert_eq!(a, run_all(7));
    let b = run_all(8);
    assert_ne!(a.1, b.1);
    assert_ne!(a.2, b.2);
    assert_ne!(a.3, b.3);
    assert_ne!(a.0, b.0);
}

#[test]
fn perspective_corners_stay_within_the_distortion_bound() {
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let img = originals()[0];
    for distortion in [0.0, 0.1, 0.25, 0.5, 0.75, 1.0] {
        let bound = (distortion * 14.0f64).floor();
        let mut seen: [[std::collections::BTreeSet<i64>; 2]; 4] = Default::default();
        for _ in 0..2000 {
            let p = perspective_params(distortion, &mut rng);
            assert_eq!(p.start, [[0.0, 0.0], [27.0, 0.0], [27.0, 27.0], [0.0, 27.0]]);
            for (k, (s, e)) in p.start.iter().zip(&p.end).enumerate() {
                for axis in 0..2 {
                    assert!((0.0..=27.0).contains(&e[axis]));
                    assert!((e[axis] - s[axis]).abs() <= bound, "{p:?}");
                    assert_eq!(e[axis].fract(), 0.0);
                    seen[k][axis].insert(e[axis] as i64);
                }
            }
        }
        // randint is inclusive of 0 and of the bound: every offset occurs.
        for axes in &seen {
            for s in axes {
                assert_eq!(s.len(), bound as usize + 1, "distortion {distortion}");
            }
        }
        if distortion == 0.0 {
            assert_eq!(random_perspective(&img, 0.0, &mut rng).0, img);
        }
    }
}

/// With `s_h = sqrt(A r)`, `s_w = sqrt(A / r)` and `h, w` their roundings,
/// `|h - s_h| <= 1/2` and `|w - s_w| <= 1/2`, so a draw with area `A` in
/// `[a_lo, a_hi]` and aspect `r = s_h / s_w` in `[r_lo, r_hi]` must satisfy
/// `(h - 1/2)(w - 1/2) <= a_hi`, `(h + 1/2)(w + 1/2) >= a_lo`,
/// `(h - 1/2) / (w + 1/2) <= r_hi` and `(h + 1/2) / (w - 1/2) >= r_lo`.
/// The tolerance covers torch's float32 uniform and exp, which can land an
/// ulp outside the nominal interval.
fn consistent_with_draw(h: f64, w: f64, area: (f64, f64), ratio: (f64, f64)) -> bool {
    let tol = 1e-5;
    (h - 0.5) * (w - 0.5) <= area.1 * (1.0 + tol)
        && (h + 0.5) * (w + 0.5) >= area.0 * (1.0 - tol)
        && (h - 0.5) / (w + 0.5) <= ratio.1 * (1.0 + tol)
        && (h + 0.5) / (w - 0.5) >= ratio.0 * (1.0 - tol)
}

#[test]
fn erasing_rectangles_respect_scale_and_ratio() {
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    let img = originals()[1];
    let (area, ratio) = ((0.02 * 784.0, 0.33 * 784.0), (0.3, 3.3));
    let (mut min_frac, mut max_frac) = (1.0f64, 0.0f64);
    for _ in 0..20_000 {
        let (out, p) = random_erasing(&img, (0.02, 0.33), ratio, 0, &mut rng);
        // With the defaults some try always fits a 28x28 image.
        let p = p.expect("defaults always find a rectangle");
        assert!(p.height < SIDE && p.width < SIDE);
        assert!(p.top + p.height <= SIDE && p.left + p.width <= SIDE);
        assert!(
            consistent_with_draw(p.height as f64, p.width as f64, area, ratio),
            "{p:?}"
        );
        for r in 0..SIDE {
            for c in 0..SIDE {
                let inside = (p.top..p.top + p.height).contains(&r) && (p.left..p.left + p.width).contains(&c);
                assert_eq!(out[r * SIDE + c], if inside { 0 } else { img[r * SIDE + c] });
            }
        }
        let frac = (p.height * p.width) as f64 / 784.0;
        min_frac = min_frac.min(frac);
        max_frac = max_frac.max(frac);
    }
    // The fractions spread over the whole nominal [0.02, 0.33] range.
    assert!(min_frac < 0.03 && max_frac > 0.30, "{min_frac} {max_frac}");
}

#[test]
fn erasing_gives_up_after_ten_failed_tries() {
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let img = originals()[2];
    // Every try rounds to a 28x28 rectangle, which is never accepted.
    for _ in 0..100 {
        assert_eq!(random_erasing(&img, (0.99, 1.0), (1.0, 1.0), 0, &mut rng), (img, None));
    }
}

#[test]
fn crops_respect_scale_and_ratio() {
    let mut rng = ChaCha8Rng::seed_from_u64(4);
    let img = originals()[3];
    let (area, ratio) = ((0.08 * 784.0, 784.0), (3.0 / 4.0, 4.0 / 3.0));
    let (mut min_frac, mut max_frac) = (1.0f64, 0.0f64);
    for _ in 0..20_000 {
        let (_, p) = random_resized_crop(&img, (0.08, 1.0), ratio, &mut rng);
        assert!(p.height >= 1 && p.width >= 1);
        assert!(p.top + p.height <= SIDE && p.left + p.width <= SIDE);
        // Aspect is width / height here.
        assert!(
            consistent_with_draw(p.width as f64, p.height as f64, area, ratio),
            "{p:?}"
        );
        let frac = (p.height * p.width) as f64 / 784.0;
        min_frac = min_frac.min(frac);
        max_frac = max_frac.max(frac);
    }
    assert!(min_frac < 0.1 && max_frac > 0.95, "{min_frac} {max_frac}");
}

#[test]
fn crop_falls_back_to_torchvisions_central_crop() {
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    // Every try is wider or taller than the image, so all 10 fail and the
    // aspect ratio 1 is clamped into the allowed range.
    let wide = resized_crop_params((1.0, 1.0), (2.0, 3.0), &mut rng);
    assert_eq!(
        wide,
        CropParams {
            top: 7,
            left: 0,
            height: 14,
            width: 28
        }
    );
    let tall = resized_crop_params((1.0, 1.0), (0.25, 0.5), &mut rng);
    assert_eq!(
        tall,
        CropParams {
            top: 0,
            left: 7,
            height: 28,
            width: 14
        }
    );
    let img = originals()[4];
    let (out, p) = random_resized_crop(&img, (1.0, 1.0), (1.0, 1.0), &mut rng);
    assert_eq!(
        (out, p),
        (
            img,
            CropParams {
                top: 0,
                left: 0,
                height: 28,
                width: 28
            }
        )
    );
}
