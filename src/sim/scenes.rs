//! Camera-like scenes for testing and measuring the reader: a handwritten digit on lit
//! paper, on a white card lying on a darker floor, a printed digit, or nothing at all —
//! with uneven light, vignetting, tilt, blur, sensor noise and JPEG compression.

use std::path::{Path, PathBuf};

use ab_glyph::{Font, FontVec, PxScale};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::data::Dataset;
use crate::gray::sample_bilinear;

/// What a scene shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Condition {
    /// A handwritten (MNIST) digit on paper filling the view.
    Paper,
    /// A handwritten digit on a white card lying on a darker floor.
    Card,
    /// A printed digit (rendered from a font) on paper or a card.
    Printed,
    /// Paper, a card or the floor with no digit: sometimes a shadow, specks or a line.
    Blank,
}

impl Condition {
    pub const ALL: [Condition; 4] = [Condition::Paper, Condition::Card, Condition::Printed, Condition::Blank];

    pub fn name(&self) -> &'static str {
        match self {
            Condition::Paper => "handwritten on paper",
            Condition::Card => "handwritten on a card on the floor",
            Condition::Printed => "printed",
            Condition::Blank => "blank view",
        }
    }
}

/// One rendered scene and what it shows.
pub struct Scene {
    pub width: usize,
    pub height: usize,
    pub pixels: Vec<u8>,
    /// The digit shown, None for a blank view.
    pub digit: Option<u8>,
}

/// A scene as the lens and the compression leave it, before the sensor's noise: rendered
/// once, it gives any number of frames, each with noise of its own.
pub struct Still {
    pub width: usize,
    pub height: usize,
    base: Vec<u8>,
    sigma: f32,
    noise_seed: u64,
    pub digit: Option<u8>,
}

impl Still {
    /// Frame `k`: the still with fresh sensor noise.
    pub fn frame(&self, k: u64) -> Vec<u8> {
        add_noise(&self.base, self.sigma, self.noise_seed ^ k.wrapping_mul(0x9E37_79B9_7F4A_7C15))
    }

    /// The scene as one frame.
    pub fn scene(&self) -> Scene {
        Scene { width: self.width, height: self.height, pixels: self.frame(0), digit: self.digit }
    }
}

/// Gaussian sensor noise of standard deviation `sigma`, from a table of standard normal
/// samples indexed by a xorshift stream: a few nanoseconds a pixel.
pub fn add_noise(px: &[u8], sigma: f32, seed: u64) -> Vec<u8> {
    static TABLE: std::sync::OnceLock<Vec<f32>> = std::sync::OnceLock::new();
    let table = TABLE.get_or_init(|| {
        let mut rng = ChaCha8Rng::seed_from_u64(0x5E5E);
        (0..4096).map(|_| rng.sample::<f32, _>(rand_distr::StandardNormal)).collect()
    });
    let mut state = seed | 1;
    px.iter()
        .map(|&v| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (v as f32 + sigma * table[(state >> 52) as usize]).round().clamp(0.0, 255.0) as u8
        })
        .collect()
}

/// Fonts for printed digits: every `.ttf`/`.otf` under the given folders (default
/// `/usr/share/fonts`, e.g. Debian's fonts-dejavu-core), symbol fonts left out.
pub fn load_fonts(dirs: &[PathBuf]) -> Vec<FontVec> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else { return };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().and_then(|e| e.to_str()).is_some_and(|e| e == "ttf" || e == "otf") {
                out.push(p);
            }
        }
    }
    let mut files = Vec::new();
    for d in dirs {
        walk(d, &mut files);
    }
    files.sort();
    files
        .iter()
        .filter(|p| !p.to_string_lossy().to_lowercase().contains("math"))
        .filter_map(|p| FontVec::try_from_vec(std::fs::read(p).ok()?).ok())
        .filter(|f| ('0'..='9').all(|c| f.glyph_id(c).0 != 0))
        .collect()
}

/// Renders digit `d` from `font` as a white-on-black coverage image (0..=255) whose height is
/// about `px`; returns (width, height, pixels).
pub fn render_glyph(font: &FontVec, d: u8, px: f32) -> Option<(usize, usize, Vec<u8>)> {
    let glyph = font.glyph_id((b'0' + d) as char).with_scale(PxScale::from(px));
    let outline = font.outline_glyph(glyph)?;
    let b = outline.px_bounds();
    let (w, h) = (b.width().ceil() as usize + 1, b.height().ceil() as usize + 1);
    let mut img = vec![0u8; w * h];
    outline.draw(|x, y, c| {
        let (x, y) = (x as usize, y as usize);
        if x < w && y < h {
            img[y * w + x] = (c.clamp(0.0, 1.0) * 255.0) as u8;
        }
    });
    Some((w, h, img))
}

/// Renders scenes from a seed: the same seed and index, the same scene.
pub struct SceneMaker<'a> {
    pub width: usize,
    pub height: usize,
    pub digits: &'a Dataset,
    pub fonts: &'a [FontVec],
    pub seed: u64,
}

impl SceneMaker<'_> {
    /// Scene number `i` of a condition.
    pub fn scene(&self, cond: Condition, i: u64) -> Scene {
        self.still(cond, i, None).scene()
    }

    /// The first `per_condition` scenes of each condition, condition by condition: the set
    /// the per-frame benchmark and the profiling example measure.
    pub fn sample(&self, per_condition: u64) -> Vec<Scene> {
        Condition::ALL.iter().flat_map(|&cond| (0..per_condition).map(move |i| self.scene(cond, i))).collect()
    }

    /// Scene number `i` of a condition, showing `digit` when given (blank views show none),
    /// before the sensor's noise.
    pub fn still(&self, cond: Condition, i: u64, digit: Option<u8>) -> Still {
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed ^ (i.wrapping_mul(0x9E37_79B9_7F4A_7C15)) ^ cond as u64);
        let (w, h) = (self.width, self.height);
        let (wf, hf) = (w as f32, h as f32);
        // Light: a level, a gradient in a random direction, vignetting.
        let level = rng.random_range(0.75f32..1.1);
        let (gx, gy) = (rng.random_range(-0.35f32..0.35), rng.random_range(-0.35f32..0.35));
        let vignette = rng.random_range(0.0f32..0.45);
        let light = |x: f32, y: f32| {
            let (u, v) = (x / wf - 0.5, y / hf - 0.5);
            let r2 = (u * u + v * v) * 2.0;
            (level + gx * u + gy * v) * (1.0 - vignette * r2)
        };
        let on_card = match cond {
            Condition::Card => true,
            Condition::Paper => false,
            Condition::Printed | Condition::Blank => rng.random_bool(0.5),
        };
        // Reflectance: paper ~0.85, floor darker and textured.
        let paper = rng.random_range(0.72f32..0.95);
        let floor = rng.random_range(0.12f32..0.45);
        let card = on_card.then(|| {
            let cw = wf * rng.random_range(0.4..0.65);
            let ch = cw * rng.random_range(0.75..1.3);
            let ch = ch.min(hf * 0.85);
            let (cx, cy) = (wf / 2.0 + wf * rng.random_range(-0.12..0.12), hf / 2.0 + hf * rng.random_range(-0.1..0.1));
            let angle: f32 = rng.random_range(-12.0f32..12.0).to_radians();
            (cx, cy, cw, ch, angle)
        });
        let texture: Vec<f32> = {
            // Coarse floor texture: a 16×12 grid of random values, bilinearly interpolated.
            (0..16 * 12).map(|_| rng.random_range(-0.08f32..0.08)).collect()
        };
        let tex = |x: f32, y: f32| {
            let (u, v) = (x / wf * 15.0, y / hf * 11.0);
            let (u0, v0) = (u.floor().min(14.0), v.floor().min(10.0));
            let (fu, fv) = (u - u0, v - v0);
            let at = |a: f32, b: f32| texture[(b as usize) * 16 + a as usize];
            (at(u0, v0) * (1.0 - fu) + at(u0 + 1.0, v0) * fu) * (1.0 - fv)
                + (at(u0, v0 + 1.0) * (1.0 - fu) + at(u0 + 1.0, v0 + 1.0) * fu) * fv
        };
        // The digit: its ink image, where and how big it is, its tilt.
        let drawn = rng.random_range(0..10u8);
        let digit = (cond != Condition::Blank).then(|| digit.unwrap_or(drawn));
        let ink_img: Option<(usize, usize, Vec<u8>)> = match (cond, digit) {
            (Condition::Printed, Some(d)) if !self.fonts.is_empty() => {
                let font = &self.fonts[rng.random_range(0..self.fonts.len())];
                render_glyph(font, d, 96.0)
            }
            (_, Some(d)) => {
                let of: Vec<usize> = (0..self.digits.len()).filter(|&k| self.digits.labels[k] == d).collect();
                let k = of[rng.random_range(0..of.len())];
                Some((28, 28, self.digits.image(k).to_vec()))
            }
            _ => None,
        };
        let area = card.map_or((wf / 2.0, hf / 2.0, wf * 0.8, hf * 0.8, 0.0), |c| c);
        let img_h = ink_img.as_ref().map_or(1, |(_, h, _)| *h);
        // Height of the digit's ink on screen.
        let ink_h = area.3.min(hf) * rng.random_range(0.45..0.75);
        let scale = if cond == Condition::Printed { ink_h / img_h as f32 } else { ink_h / 20.0 };
        let dig_angle = area.4 + rng.random_range(-8.0f32..8.0).to_radians();
        let (dcx, dcy) =
            (area.0 + area.2 * rng.random_range(-0.08..0.08), area.1 + area.3 * rng.random_range(-0.08..0.08));
        let ink_dark = rng.random_range(0.05f32..0.3);
        // Blank extras: a soft shadow, a few specks, a thin line.
        let extra = if cond == Condition::Blank { rng.random_range(0..4) } else { 0 };
        let shadow = (extra == 1).then(|| (rng.random_range(0.0..wf), rng.random_range(0.0..hf), wf * 0.3));
        let specks: Vec<(f32, f32)> = if extra == 2 {
            (0..rng.random_range(2..6)).map(|_| (rng.random_range(0.0..wf), rng.random_range(0.0..hf))).collect()
        } else {
            vec![]
        };
        let line = (extra == 3).then(|| rng.random_range(hf * 0.1..hf * 0.9));

        let mut img = vec![0f32; w * h];
        let (sa, ca) = dig_angle.sin_cos();
        for y in 0..h {
            for x in 0..w {
                let (xf, yf) = (x as f32 + 0.5, y as f32 + 0.5);
                let mut refl = match card {
                    Some((cx, cy, cw, ch, a)) => {
                        let (s, c) = a.sin_cos();
                        let (dx, dy) = (xf - cx, yf - cy);
                        let (u, v) = (c * dx + s * dy, -s * dx + c * dy);
                        if u.abs() <= cw / 2.0 && v.abs() <= ch / 2.0 {
                            paper
                        } else {
                            // A soft contact shadow just outside the card's edge.
                            let out = (u.abs() - cw / 2.0).max(v.abs() - ch / 2.0).max(0.0);
                            (floor + tex(xf, yf)) * (1.0 - 0.4 * (-out / 6.0).exp())
                        }
                    }
                    None => paper + tex(xf, yf) * 0.3,
                };
                if let Some((sx, sy, r)) = shadow {
                    let d2 = ((xf - sx).powi(2) + (yf - sy).powi(2)) / (r * r);
                    refl *= 1.0 - 0.35 * (-d2).exp();
                }
                for &(px, py) in &specks {
                    if (xf - px).abs() < 1.5 && (yf - py).abs() < 1.5 {
                        refl = ink_dark;
                    }
                }
                if let Some(ly) = line {
                    if (yf - ly).abs() < 0.8 {
                        refl *= 0.6;
                    }
                }
                if let Some((iw, ih, ink)) = &ink_img {
                    let (dx, dy) = (xf - dcx, yf - dcy);
                    let (u, v) = (ca * dx + sa * dy, -sa * dx + ca * dy);
                    let (sx, sy) = (u / scale + *iw as f32 / 2.0 - 0.5, v / scale + *ih as f32 / 2.0 - 0.5);
                    if sx > -1.0 && sy > -1.0 && sx < *iw as f32 && sy < *ih as f32 {
                        let a = sample_bilinear(ink, *iw, *ih, sx, sy) / 255.0;
                        refl = refl * (1.0 - a) + ink_dark * a;
                    }
                }
                img[y * w + x] = refl * light(xf, yf) * 255.0;
            }
        }
        // The camera: blur, compression, then (per frame) sensor noise.
        let blur = rng.random_range(0.0f32..1.3);
        if blur > 0.3 {
            img = box_blur(&img, w, h, blur.round().max(1.0) as usize);
        }
        let sigma = rng.random_range(1.5f32..7.0);
        let mut base: Vec<u8> = img.iter().map(|&v| v.round().clamp(0.0, 255.0) as u8).collect();
        if rng.random_bool(0.6) {
            base = jpeg_round_trip(&base, w, h, rng.random_range(35..90)).unwrap_or(base);
        }
        Still { width: w, height: h, base, sigma, noise_seed: rng.random(), digit }
    }
}

/// A (2r+1)-wide box blur, rows then columns, with running sums (the window is cut short
/// at the edges).
fn box_blur(img: &[f32], w: usize, h: usize, r: usize) -> Vec<f32> {
    let pass = |src: &[f32], n: usize, lines: usize, at: &dyn Fn(usize, usize) -> usize| {
        let mut out = vec![0f32; src.len()];
        for line in 0..lines {
            let mut acc = 0f32;
            // The window [i - r, i + r] as i moves along the line.
            for k in 0..r.min(n) {
                acc += src[at(line, k)];
            }
            for i in 0..n {
                if i + r < n {
                    acc += src[at(line, i + r)];
                }
                if i > r {
                    acc -= src[at(line, i - r - 1)];
                }
                let count = (i + r).min(n - 1) + 1 - i.saturating_sub(r);
                out[at(line, i)] = acc / count as f32;
            }
        }
        out
    };
    let rows = pass(img, w, h, &|y, x| y * w + x);
    pass(&rows, h, w, &|x, y| y * w + x)
}

fn jpeg_round_trip(px: &[u8], w: usize, h: usize, quality: u8) -> Option<Vec<u8>> {
    let mut buf = Vec::new();
    let enc = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut buf, quality);
    image::ImageEncoder::write_image(enc, px, w as u32, h as u32, image::ExtendedColorType::L8).ok()?;
    Some(image::load_from_memory_with_format(&buf, image::ImageFormat::Jpeg).ok()?.into_luma8().into_raw())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scenes_repeat_for_a_seed_and_blank_views_have_no_digit() {
        let digits = crate::sim::sim_digits().unwrap();
        let fonts = crate::testdata::fonts();
        let maker = SceneMaker { width: 160, height: 120, digits: &digits, fonts: &fonts, seed: 4 };
        let (a, b) = (maker.scene(Condition::Card, 3), maker.scene(Condition::Card, 3));
        assert_eq!(a.pixels, b.pixels);
        assert!(a.digit.is_some());
        assert_eq!(maker.scene(Condition::Blank, 3).digit, None);
        assert_ne!(maker.scene(Condition::Card, 4).pixels, a.pixels);
    }
}
