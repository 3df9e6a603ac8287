//! The plain simulated view: an MNIST digit as dark ink on lit paper, with a lighting
//! gradient and sensor noise. Position, size and lighting are fixed per segment (the digit
//! is held up steadily), so the lit paper is drawn once per segment; noise and a pixel of
//! hand shake change every frame.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::data::{Dataset, SIDE};
use crate::gray::sample_bilinear;

/// How one segment looks.
struct Look {
    paper: f32,
    gradient: f32,
    ink: f32,
    /// Index into the digit set, size of the 28-px box in pixels, its centre.
    sample: Option<(usize, f32, f32, f32)>,
}

/// Renders plain paper views of a size from a seed.
pub struct PaperView<'a> {
    pub width: usize,
    pub height: usize,
    pub digits: &'a Dataset,
    pub seed: u64,
}

impl PaperView<'_> {
    fn look(&self, segment: usize, digit: Option<u8>) -> Look {
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed.wrapping_mul(1_000_003).wrapping_add(segment as u64));
        let (w, h) = (self.width as f32, self.height as f32);
        let paper = rng.random_range(170.0..215.0);
        let gradient = rng.random_range(-25.0..25.0);
        let ink = rng.random_range(20.0..60.0);
        let sample = digit.map(|d| {
            let of_digit: Vec<usize> = (0..self.digits.len()).filter(|&i| self.digits.labels[i] == d).collect();
            let idx = of_digit[rng.random_range(0..of_digit.len())];
            let size = h * rng.random_range(0.4..0.65);
            let cx = w / 2.0 + w * rng.random_range(-0.12..0.12);
            let cy = h / 2.0 + h * rng.random_range(-0.08..0.08);
            (idx, size, cx, cy)
        });
        Look { paper, gradient, ink, sample }
    }

    /// The paper of segment `segment` under its light, before noise and digit: the same for
    /// every frame of the segment.
    pub fn background(&self, segment: usize) -> Vec<u8> {
        let look = self.look(segment, None);
        let (w, h) = (self.width, self.height);
        let row: Vec<u8> = (0..w)
            .map(|x| (look.paper + look.gradient * (x as f32 / w as f32 - 0.5)).round().clamp(0.0, 255.0) as u8)
            .collect();
        row.repeat(h)
    }

    /// Frame `n` (counted over the whole run) of segment `segment`, showing `digit` or
    /// blank paper, drawn on the segment's `background`: sensor noise, and the digit with a
    /// pixel of hand shake.
    pub fn frame(&self, background: &[u8], segment: usize, digit: Option<u8>, n: u64) -> Vec<u8> {
        let look = self.look(segment, digit);
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed ^ n.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let (w, h) = (self.width, self.height);
        let mut px = crate::sim::scenes::add_noise(background, 3.5, rng.random());
        if let Some((idx, size, cx, cy)) = look.sample {
            let (jx, jy) = (rng.random_range(-1.0..1.0), rng.random_range(-1.0..1.0));
            let img = self.digits.image(idx);
            let scale = SIDE as f32 / size;
            let (x0, y0) = ((cx + jx - size / 2.0).max(0.0) as usize, (cy + jy - size / 2.0).max(0.0) as usize);
            let (x1, y1) = (((cx + jx + size / 2.0) as usize).min(w), ((cy + jy + size / 2.0) as usize).min(h));
            for y in y0..y1 {
                for x in x0..x1 {
                    let sx = (x as f32 - (cx + jx - size / 2.0)) * scale - 0.5;
                    let sy = (y as f32 - (cy + jy - size / 2.0)) * scale - 0.5;
                    let v = sample_bilinear(img, SIDE, SIDE, sx, sy) / 255.0;
                    if v > 0.0 {
                        let p = &mut px[y * w + x];
                        let paper = *p as f32;
                        *p = (paper - v * (paper - look.ink).max(0.0)).clamp(0.0, 255.0) as u8;
                    }
                }
            }
        }
        px
    }
}
