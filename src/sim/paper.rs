//! The plain simulated view: an MNIST digit as dark ink on lit paper, with a lighting
//! gradient and sensor noise. Position, size and lighting are fixed per segment (the digit
//! is held up steadily), so the lit paper is drawn once per segment; noise and a pixel of
//! hand shake change every frame.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::data::{Dataset, SIDE};
use crate::gray::sample_bilinear;

/// A picture of a digit to show instead of an MNIST one: how much ink covers each pixel
/// (0 = paper, 255 = full ink), from any photo or drawing.
#[derive(Clone, Debug, PartialEq)]
pub struct Picture {
    pub width: usize,
    pub height: usize,
    pub ink: Vec<u8>,
}

impl Picture {
    /// From a grey image: dark ink on light paper, or light on dark (the majority of the
    /// pixels is taken for the paper). The paper's level and the darkest ink set the scale,
    /// so a faint pencil photo is drawn as ink like any other.
    pub fn from_gray(width: usize, height: usize, gray: &[u8]) -> Picture {
        let dark_on_light = crate::gray::percentile(gray, 0.5) >= 128;
        let ink_of = |v: u8| if dark_on_light { 255 - v } else { v };
        let ink: Vec<u8> = gray.iter().map(|&v| ink_of(v)).collect();
        let (paper, full) = (crate::gray::percentile(&ink, 0.5) as f32, crate::gray::percentile(&ink, 0.99) as f32);
        // A little above the paper is still paper (its grain, a shadow).
        let from = paper + (full - paper) * 0.15;
        let span = (full - from).max(1.0);
        let ink = ink.iter().map(|&v| ((v as f32 - from) / span * 255.0).clamp(0.0, 255.0) as u8).collect();
        Picture { width, height, ink }
    }
}

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

    /// Frame `n` (counted over the whole run) of segment `segment`, showing `digit` (an
    /// MNIST digit, or `picture` when given) or blank paper, drawn on the segment's
    /// `background`: sensor noise, and the digit with a pixel of hand shake.
    pub fn frame(
        &self,
        background: &[u8],
        segment: usize,
        digit: Option<u8>,
        picture: Option<&Picture>,
        n: u64,
    ) -> Vec<u8> {
        let look = self.look(segment, digit);
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed ^ n.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let (w, h) = (self.width, self.height);
        let mut px = crate::sim::scenes::add_noise(background, 3.5, rng.random());
        if let Some((idx, size, cx, cy)) = look.sample {
            let (jx, jy) = (rng.random_range(-1.0..1.0), rng.random_range(-1.0..1.0));
            // An MNIST digit fills 20 px of its 28-px box; a picture is scaled so its longer
            // side is what those 20 px become.
            let (img, iw, ih, dw, dh) = match picture {
                Some(p) => {
                    let long = size * 20.0 / SIDE as f32 / p.width.max(p.height) as f32;
                    (p.ink.as_slice(), p.width, p.height, p.width as f32 * long, p.height as f32 * long)
                }
                None => (self.digits.image(idx), SIDE, SIDE, size, size),
            };
            let (left, top) = (cx + jx - dw / 2.0, cy + jy - dh / 2.0);
            let (x0, y0) = (left.max(0.0) as usize, top.max(0.0) as usize);
            let (x1, y1) = (((left + dw) as usize).min(w), ((top + dh) as usize).min(h));
            let (kx, ky) = (iw as f32 / dw, ih as f32 / dh);
            for y in y0..y1 {
                for x in x0..x1 {
                    let sx = (x as f32 - left) * kx - 0.5;
                    let sy = (y as f32 - top) * ky - 0.5;
                    let v = sample_bilinear(img, iw, ih, sx, sy) / 255.0;
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
