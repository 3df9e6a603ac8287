//! Augmentation that makes a model robust to what a camera adds after preprocessing:
//! small shifts, rotations, scale and shear, stroke thickness, elastic distortion.

use rand::Rng;
use rand_distr::{Distribution, Normal};

use crate::data::SIDE;
use crate::gray::{morph_plus, sample_bilinear};

/// One augmented copy of a 28×28 MNIST digit (white ink on black).
pub fn augment(img: &[u8], rng: &mut impl Rng) -> Vec<u8> {
    let angle: f32 = rng.random_range(-12.0f32..12.0).to_radians();
    let scale: f32 = rng.random_range(0.85..1.15);
    let shear: f32 = rng.random_range(-0.15..0.15);
    let (tx, ty): (f32, f32) = (rng.random_range(-2.0..2.0), rng.random_range(-2.0..2.0));
    let elastic = if rng.random_bool(0.4) { Some(displacement_field(rng, 2.0, 3.0)) } else { None };
    // Inverse map: for each output pixel, where it comes from in the input.
    let (s, c) = angle.sin_cos();
    let centre = (SIDE as f32 - 1.0) / 2.0;
    let mut out = vec![0u8; SIDE * SIDE];
    for y in 0..SIDE {
        for x in 0..SIDE {
            let (mut u, mut v) = (x as f32 - centre - tx, y as f32 - centre - ty);
            if let Some((dx, dy)) = &elastic {
                u += dx[y * SIDE + x];
                v += dy[y * SIDE + x];
            }
            let (ru, rv) = ((c * u + s * v) / scale, (-s * u + c * v) / scale);
            let sx = ru - shear * rv + centre;
            out[y * SIDE + x] = sample_bilinear(img, SIDE, SIDE, sx, rv + centre).round().clamp(0.0, 255.0) as u8;
        }
    }
    match rng.random_range(0..10) {
        0..=2 => morph_plus(&out, SIDE, SIDE, u8::max),
        3..=4 => morph_plus(&out, SIDE, SIDE, u8::min),
        _ => out,
    }
}

/// A smooth random displacement field (Simard et al. 2003): noise blurred by a Gaussian.
fn displacement_field(rng: &mut impl Rng, alpha: f32, sigma: f32) -> (Vec<f32>, Vec<f32>) {
    let normal = Normal::new(0.0f32, 1.0).expect("unit normal is valid");
    let mut field = || {
        let raw: Vec<f32> = (0..SIDE * SIDE).map(|_| normal.sample(rng)).collect();
        let mut f = blur(&raw, sigma);
        // Normalise so alpha is the RMS displacement in pixels whatever sigma is.
        let rms = (f.iter().map(|v| v * v).sum::<f32>() / f.len() as f32).sqrt().max(1e-6);
        f.iter_mut().for_each(|v| *v *= alpha / rms);
        f
    };
    (field(), field())
}

fn blur(src: &[f32], sigma: f32) -> Vec<f32> {
    let r = (sigma * 2.5).ceil() as isize;
    let kernel: Vec<f32> = (-r..=r).map(|i| (-(i * i) as f32 / (2.0 * sigma * sigma)).exp()).collect();
    let norm: f32 = kernel.iter().sum();
    let pass = |src: &[f32], horizontal: bool| -> Vec<f32> {
        let mut out = vec![0.0; src.len()];
        for y in 0..SIDE as isize {
            for x in 0..SIDE as isize {
                let mut acc = 0.0;
                for (ki, k) in kernel.iter().enumerate() {
                    let o = ki as isize - r;
                    let (sx, sy) = if horizontal { (x + o, y) } else { (x, y + o) };
                    let sx = sx.clamp(0, SIDE as isize - 1) as usize;
                    let sy = sy.clamp(0, SIDE as isize - 1) as usize;
                    acc += k * src[sy * SIDE + sx];
                }
                out[y as usize * SIDE + x as usize] = acc / norm;
            }
        }
        out
    };
    pass(&pass(src, true), false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    fn bar() -> Vec<u8> {
        let mut img = vec![0u8; SIDE * SIDE];
        for y in 6..22 {
            for x in 12..16 {
                img[y * SIDE + x] = 255;
            }
        }
        img
    }

    #[test]
    fn augmentation_is_seeded_and_keeps_the_ink() {
        let img = bar();
        let a = augment(&img, &mut ChaCha8Rng::seed_from_u64(5));
        let b = augment(&img, &mut ChaCha8Rng::seed_from_u64(5));
        assert_eq!(a, b, "same seed, same augmentation");
        let mut differs = false;
        for seed in 0..20 {
            let out = augment(&img, &mut ChaCha8Rng::seed_from_u64(seed));
            differs |= out != img;
            let ink: u32 = out.iter().map(|&v| v as u32).sum();
            let orig: u32 = img.iter().map(|&v| v as u32).sum();
            assert!(ink > orig / 3 && ink < orig * 3, "seed {seed}: ink {ink} vs {orig}");
        }
        assert!(differs);
    }
}
