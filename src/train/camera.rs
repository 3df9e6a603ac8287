//! Training data in the camera's domain: digits drawn into many kinds of views — paper lit
//! unevenly, ruled and grid paper, a card on the floor, a chalkboard, a close-up that the
//! digit fills, a tight crop — with the pens, blur, noise and compression of real cameras,
//! then sent through the firmware's own preprocessing. The model learns from exactly what
//! the robot will hand it. The same views without a digit, or with clutter (shadows, card
//! and paper edges, lines, specks, half digits, two digits), give the "no digit" class:
//! whatever preprocessing finds in them is what the model must learn to refuse.
//!
//! This renderer is deliberately not the simulator's scene generator, which the project
//! measures itself with.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use crate::data::{Dataset, PIXELS, SIDE};
use crate::gray::{morph_plus, sample_bilinear};
use crate::stage::preprocess::{preprocess, Params};

/// The label of the "no digit" class.
pub const NO_DIGIT: u8 = 10;
/// Its name in a model's labels.
pub const NO_DIGIT_LABEL: &str = "no digit";

/// A view being drawn: grey levels as floats, `w`×`h`.
struct View {
    w: usize,
    h: usize,
    px: Vec<f32>,
}

impl View {
    fn at(&mut self, x: usize, y: usize) -> &mut f32 {
        &mut self.px[y * self.w + x]
    }
}

/// What the view shows around the digit.
#[derive(Clone, Copy, Debug)]
struct Look {
    /// Ink darker than paper (false: chalk on a board, light on dark).
    dark_ink: bool,
    paper: f32,
    ink: f32,
}

/// Draws a coverage image (`iw`×`ih`, 0..255) into the view: centre, height on screen,
/// rotation, shear, and the ink level.
#[allow(clippy::too_many_arguments)]
fn stamp(
    v: &mut View,
    img: &[u8],
    iw: usize,
    ih: usize,
    cx: f32,
    cy: f32,
    height: f32,
    angle: f32,
    shear: f32,
    ink: f32,
) {
    let scale = height / ih as f32;
    let (s, c) = angle.sin_cos();
    let half = (iw.max(ih) as f32 * scale * 0.75).ceil() as isize + 2;
    let (x0, x1) = ((cx as isize - half).max(0), (cx as isize + half).min(v.w as isize - 1));
    let (y0, y1) = ((cy as isize - half).max(0), (cy as isize + half).min(v.h as isize - 1));
    for y in y0..=y1 {
        for x in x0..=x1 {
            let (dx, dy) = (x as f32 + 0.5 - cx, y as f32 + 0.5 - cy);
            let (u, w) = (c * dx + s * dy, -s * dx + c * dy);
            let u = u - shear * w;
            let (sx, sy) = (u / scale + iw as f32 / 2.0 - 0.5, w / scale + ih as f32 / 2.0 - 0.5);
            if sx > -1.0 && sy > -1.0 && sx < iw as f32 && sy < ih as f32 {
                let a = sample_bilinear(img, iw, ih, sx, sy) / 255.0;
                if a > 0.0 {
                    let p = v.at(x as usize, y as usize);
                    *p = *p * (1.0 - a) + ink * a;
                }
            }
        }
    }
}

/// A pen: the MNIST digit made thinner or fatter, and its edge made sharper (a fine pen) or
/// softer, before it is drawn.
fn pen(digit: &[u8], rng: &mut impl Rng) -> Vec<u8> {
    let mut img = digit.to_vec();
    match rng.random_range(0..10) {
        // A fine pen: thinner, with a hard edge.
        0..=2 => {
            let thin = morph_plus(&img, SIDE, SIDE, u8::min);
            if thin.iter().filter(|&&v| v > 128).count() > 20 {
                img = thin;
            }
            img.iter_mut().for_each(|v| *v = if *v > 100 { 255 } else { (*v as u32 * 2).min(255) as u8 });
        }
        // A marker.
        3..=4 => img = morph_plus(&img, SIDE, SIDE, u8::max),
        _ => {}
    }
    img
}

/// A smooth random field on a coarse grid, bilinearly interpolated, in -1..1.
fn field(w: usize, h: usize, cells: usize, rng: &mut impl Rng) -> impl Fn(usize, usize) -> f32 {
    let (gw, gh) = (cells + 1, cells + 1);
    let grid: Vec<f32> = (0..gw * gh).map(|_| rng.random_range(-1.0f32..1.0)).collect();
    move |x, y| {
        let (u, v) = (x as f32 / w as f32 * cells as f32, y as f32 / h as f32 * cells as f32);
        let (u0, v0) = (u.floor().min(cells as f32 - 1.0), v.floor().min(cells as f32 - 1.0));
        let (fu, fv) = (u - u0, v - v0);
        let at = |a: f32, b: f32| grid[b as usize * gw + a as usize];
        (at(u0, v0) * (1.0 - fu) + at(u0 + 1.0, v0) * fu) * (1.0 - fv)
            + (at(u0, v0 + 1.0) * (1.0 - fu) + at(u0 + 1.0, v0 + 1.0) * fu) * fv
    }
}

/// The background: paper (or a board) under uneven light, sometimes a card on a floor,
/// ruled or grid lines.
fn background(w: usize, h: usize, look: Look, rng: &mut impl Rng) -> View {
    let tex = field(w, h, rng.random_range(3..12), rng);
    let amp = rng.random_range(0.0f32..0.06);
    let (gx, gy) = (rng.random_range(-0.35f32..0.35), rng.random_range(-0.35f32..0.35));
    let vignette = rng.random_range(0.0f32..0.4);
    let mut v = View { w, h, px: vec![0.0; w * h] };
    for y in 0..h {
        for x in 0..w {
            let (u, q) = (x as f32 / w as f32 - 0.5, y as f32 / h as f32 - 0.5);
            let light = (1.0 + gx * u + gy * q) * (1.0 - vignette * (u * u + q * q) * 2.0);
            *v.at(x, y) = look.paper * light * (1.0 + amp * tex(x, y));
        }
    }
    if look.dark_ink && rng.random_bool(0.3) {
        // Ruled or grid paper: thin lines, a little tilted.
        let gap = h as f32 * rng.random_range(0.08f32..0.25);
        let tilt = rng.random_range(-0.05f32..0.05);
        let shade = rng.random_range(0.55f32..0.9);
        let grid = rng.random_bool(0.4);
        let off = rng.random_range(0.0..gap);
        for y in 0..h {
            for x in 0..w {
                let yy = y as f32 + tilt * x as f32 - off;
                let xx = x as f32 - tilt * y as f32 - off;
                let on = (yy.rem_euclid(gap) < 1.2) || (grid && xx.rem_euclid(gap) < 1.2);
                if on {
                    *v.at(x, y) *= shade;
                }
            }
        }
    }
    v
}

/// Darkens the view under a soft-edged band (a shadow), at any angle.
fn shadow(v: &mut View, rng: &mut impl Rng) {
    let (w, h) = (v.w as f32, v.h as f32);
    let a = rng.random_range(0.0f32..std::f32::consts::PI);
    let (s, c) = a.sin_cos();
    let at = rng.random_range(-0.4f32..0.4) * w.max(h);
    let width = rng.random_range(0.05f32..0.4) * w.max(h);
    let soft = rng.random_range(0.01f32..0.1) * w.max(h);
    let depth = rng.random_range(0.2f32..0.6);
    for y in 0..v.h {
        for x in 0..v.w {
            let d = (x as f32 - w / 2.0) * c + (y as f32 - h / 2.0) * s - at;
            let band = 1.0 / (1.0 + (-(d + width / 2.0) / soft).exp()) / (1.0 + ((d - width / 2.0) / soft).exp());
            *v.at(x, y) *= 1.0 - depth * band;
        }
    }
}

/// A card (or sheet) on a darker floor: the floor everywhere outside a tilted rectangle,
/// which may run out of the view.
fn card_edge(v: &mut View, rng: &mut impl Rng, inside: Option<(f32, f32, f32, f32)>) {
    let (w, h) = (v.w as f32, v.h as f32);
    let (cx, cy, cw, ch) = inside.unwrap_or((
        w * rng.random_range(0.0f32..1.0),
        h * rng.random_range(0.0f32..1.0),
        w * rng.random_range(0.3f32..1.2),
        h * rng.random_range(0.3f32..1.2),
    ));
    let a = rng.random_range(-0.3f32..0.3);
    let (s, c) = a.sin_cos();
    let floor = rng.random_range(0.1f32..0.55);
    let tex = field(v.w, v.h, 8, rng);
    for y in 0..v.h {
        for x in 0..v.w {
            let (dx, dy) = (x as f32 - cx, y as f32 - cy);
            let (u, q) = (c * dx + s * dy, -s * dx + c * dy);
            if u.abs() > cw / 2.0 || q.abs() > ch / 2.0 {
                *v.at(x, y) *= floor * (1.0 + 0.15 * tex(x, y));
            }
        }
    }
}

/// The camera: blur, sensor noise, quantisation, sometimes JPEG.
fn camera(v: View, rng: &mut impl Rng) -> Vec<u8> {
    let View { w, h, mut px } = v;
    let blur = rng.random_range(0.0f32..1.0).powi(2) * (w.max(h) as f32 / 100.0).clamp(1.0, 4.0);
    let r = blur.round() as usize;
    if r > 0 {
        px = box_blur(&px, w, h, r);
    }
    let sigma = rng.random_range(0.5f32..7.0);
    let normal = rand_distr::Normal::new(0.0f32, sigma).expect("positive sigma");
    let mut out: Vec<u8> = px.iter().map(|&p| (p + rng.sample(normal)).clamp(0.0, 255.0) as u8).collect();
    if rng.random_bool(0.5) {
        let q = rng.random_range(30..90);
        let mut buf = Vec::new();
        let enc = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut buf, q);
        if image::ImageEncoder::write_image(enc, &out, w as u32, h as u32, image::ExtendedColorType::L8).is_ok() {
            if let Ok(img) = image::load_from_memory_with_format(&buf, image::ImageFormat::Jpeg) {
                out = img.into_luma8().into_raw();
            }
        }
    }
    out
}

fn box_blur(img: &[f32], w: usize, h: usize, r: usize) -> Vec<f32> {
    let pass = |src: &[f32], horizontal: bool| {
        let mut out = vec![0f32; src.len()];
        for y in 0..h {
            for x in 0..w {
                let (mut acc, mut n) = (0f32, 0f32);
                for d in -(r as isize)..=(r as isize) {
                    let (xx, yy) = if horizontal { (x as isize + d, y as isize) } else { (x as isize, y as isize + d) };
                    if xx >= 0 && yy >= 0 && (xx as usize) < w && (yy as usize) < h {
                        acc += src[yy as usize * w + xx as usize];
                        n += 1.0;
                    }
                }
                out[y * w + x] = acc / n;
            }
        }
        out
    };
    pass(&pass(img, true), false)
}

/// The kinds of view and how often each comes.
fn view_size(rng: &mut impl Rng) -> (usize, usize, bool) {
    // (width, height, close-up: the digit fills the view)
    match rng.random_range(0..20) {
        0..=2 => (96, 96, true),
        3..=4 => {
            let s = rng.random_range(28..72);
            (s + rng.random_range(0..8), s, true)
        }
        5..=11 => (160, 120, false),
        12..=16 => (320, 240, false),
        _ => (640, 480, false),
    }
}

fn look(rng: &mut impl Rng) -> Look {
    if rng.random_bool(0.12) {
        // A board: chalk, light on dark.
        Look { dark_ink: false, paper: rng.random_range(15.0..80.0), ink: rng.random_range(150.0..240.0) }
    } else {
        let paper = rng.random_range(110.0..245.0);
        // Pencil can be faint; pens and markers are dark.
        let ink = if rng.random_bool(0.2) { paper - rng.random_range(30.0..70.0) } else { rng.random_range(5.0..90.0) };
        Look { dark_ink: true, paper, ink }
    }
}

/// One digit drawn into a random view, as a camera would deliver it: (width, height, pixels).
pub fn digit_view(digit: &[u8], rng: &mut impl Rng) -> (usize, usize, Vec<u8>) {
    let (w, h, close) = view_size(rng);
    let lk = look(rng);
    let mut v = background(w, h, lk, rng);
    if !close && lk.dark_ink && rng.random_bool(0.25) {
        let inside = (
            w as f32 * rng.random_range(0.4f32..0.6),
            h as f32 * rng.random_range(0.4f32..0.6),
            w as f32 * rng.random_range(0.45f32..0.9),
            h as f32 * rng.random_range(0.6f32..1.0),
        );
        card_edge(&mut v, rng, Some(inside));
    }
    if rng.random_bool(0.1) {
        shadow(&mut v, rng);
    }
    let img = pen(digit, rng);
    let height =
        if close { h as f32 * rng.random_range(0.95f32..1.35) } else { h as f32 * rng.random_range(0.12f32..0.7) };
    let (cx, cy) = (
        w as f32 * (0.5 + rng.random_range(-0.15f32..0.15) * if close { 0.3 } else { 1.0 }),
        h as f32 * (0.5 + rng.random_range(-0.12f32..0.12) * if close { 0.3 } else { 1.0 }),
    );
    stamp(
        &mut v,
        &img,
        SIDE,
        SIDE,
        cx,
        cy,
        height,
        rng.random_range(-0.25f32..0.25),
        rng.random_range(-0.2f32..0.2),
        lk.ink,
    );
    let px = camera(v, rng);
    (w, h, px)
}

/// One digit drawn into a random view and preprocessed as the firmware would; None when
/// preprocessing found nothing (the sample is then of no use).
pub fn digit_sample(digit: &[u8], rng: &mut impl Rng) -> Option<[u8; PIXELS]> {
    let (w, h, px) = digit_view(digit, rng);
    preprocess(&px, w, h, &Params::default()).ok().map(|f| f.digit)
}

/// A view with no readable digit, and whatever preprocessing hands the model from it (None
/// when it rightly finds nothing).
pub fn clutter_sample(others: &Dataset, rng: &mut impl Rng) -> Option<[u8; PIXELS]> {
    let (w, h, _) = view_size(rng);
    let (w, h) = (w.max(64), h.max(48));
    let lk = look(rng);
    let mut v = background(w, h, lk, rng);
    let pick = |rng: &mut ChaCha8Rng| others.image(rng.random_range(0..others.len())).to_vec();
    let mut r = ChaCha8Rng::seed_from_u64(rng.random());
    match rng.random_range(0..7) {
        0 => shadow(&mut v, rng),
        1 => card_edge(&mut v, rng, None),
        2 => {
            // A line or two lying across: a pen stroke, a ruler's edge. (A steep straight
            // stroke is what a 1 looks like; that is for preprocessing to judge by where it
            // runs, not for the model to refuse.)
            for _ in 0..rng.random_range(1..3) {
                let (x0, y0) = (rng.random_range(0.0..w as f32), rng.random_range(0.0..h as f32));
                let a = rng.random_range(-0.6f32..0.6);
                let len = w.max(h) as f32 * rng.random_range(0.3f32..1.5);
                let thick = rng.random_range(1.0f32..(w.max(h) as f32 / 30.0).max(1.5));
                for i in 0..(len as usize * 2) {
                    let t = i as f32 / 2.0 - len / 2.0;
                    let (x, y) = (x0 + t * a.cos(), y0 + t * a.sin());
                    for d in 0..thick.ceil() as usize {
                        let (xx, yy) = (x - d as f32 * a.sin(), y + d as f32 * a.cos());
                        if xx >= 0.0 && yy >= 0.0 && (xx as usize) < w && (yy as usize) < h {
                            *v.at(xx as usize, yy as usize) = lk.ink;
                        }
                    }
                }
            }
        }
        3 => {
            // Specks and blots.
            for _ in 0..rng.random_range(1..8) {
                let (cx, cy) = (rng.random_range(0.0..w as f32), rng.random_range(0.0..h as f32));
                let rad = rng.random_range(0.5f32..(w.max(h) as f32 / 25.0).max(1.0));
                for y in 0..h {
                    for x in 0..w {
                        if (x as f32 - cx).powi(2) + (y as f32 - cy).powi(2) < rad * rad {
                            *v.at(x, y) = lk.ink;
                        }
                    }
                }
            }
        }
        4 if rng.random_bool(0.5) => {
            // Half a digit, cut off by the edge of the view.
            let img = pick(&mut r);
            let height = h as f32 * rng.random_range(0.4f32..0.9);
            let side = rng.random_range(0..4);
            let (cx, cy) = match side {
                0 => (0.0, h as f32 / 2.0),
                1 => (w as f32, h as f32 / 2.0),
                2 => (w as f32 / 2.0, 0.0),
                _ => (w as f32 / 2.0, h as f32),
            };
            stamp(&mut v, &img, SIDE, SIDE, cx, cy, height, 0.0, 0.0, lk.ink);
        }
        5 => {
            // Two digits run together: no one digit to obey.
            let height = h as f32 * rng.random_range(0.3f32..0.6);
            let gap = height * rng.random_range(0.2f32..0.35);
            for k in [-1.0f32, 1.0] {
                let img = pick(&mut r);
                stamp(&mut v, &img, SIDE, SIDE, w as f32 / 2.0 + k * gap, h as f32 / 2.0, height, 0.0, 0.0, lk.ink);
            }
        }
        _ => {
            // Scribble: random strokes that make no digit (three or more, as one or two
            // straight strokes are what a 1, 7 or 4 may look like).
            let mut img = vec![0u8; PIXELS];
            let (mut x, mut y) = (rng.random_range(6.0f32..22.0), rng.random_range(6.0f32..22.0));
            for _ in 0..rng.random_range(3..6) {
                let (nx, ny) = (rng.random_range(4.0f32..24.0), rng.random_range(4.0f32..24.0));
                for i in 0..40 {
                    let t = i as f32 / 40.0;
                    let (px, py) = ((x + (nx - x) * t) as usize, (y + (ny - y) * t) as usize);
                    for (dx, dy) in [(0, 0), (1, 0), (0, 1), (1, 1)] {
                        img[((py + dy).min(27)) * SIDE + (px + dx).min(27)] = 255;
                    }
                }
                (x, y) = (nx, ny);
            }
            let height = h as f32 * rng.random_range(0.25f32..0.7);
            stamp(&mut v, &img, SIDE, SIDE, w as f32 / 2.0, h as f32 / 2.0, height, 0.0, 0.0, lk.ink);
        }
    }
    let px = camera(v, rng);
    preprocess(&px, w, h, &Params::default()).ok().map(|f| f.digit)
}

/// Draws a line of the given width into a 28×28 image, with soft edges.
fn line28(img: &mut [u8], (x0, y0): (f32, f32), (x1, y1): (f32, f32), width: f32) {
    for y in 0..SIDE {
        for x in 0..SIDE {
            let (px, py) = (x as f32, y as f32);
            let (dx, dy) = (x1 - x0, y1 - y0);
            let t = (((px - x0) * dx + (py - y0) * dy) / (dx * dx + dy * dy).max(1e-6)).clamp(0.0, 1.0);
            let d = ((px - x0 - t * dx).powi(2) + (py - y0 - t * dy).powi(2)).sqrt();
            let cover = (width / 2.0 + 0.5 - d).clamp(0.0, 1.0);
            let v = &mut img[y * SIDE + x];
            *v = (*v).max((cover * 255.0) as u8);
        }
    }
}

/// The extent of a 28×28 digit's ink: (x0, y0, x1, y1).
fn ink_box(img: &[u8]) -> Option<(f32, f32, f32, f32)> {
    let ink: Vec<(usize, usize)> = (0..PIXELS).filter(|&i| img[i] > 100).map(|i| (i % SIDE, i / SIDE)).collect();
    let (x0, x1) = (ink.iter().map(|p| p.0).min()?, ink.iter().map(|p| p.0).max()?);
    let (y0, y1) = (ink.iter().map(|p| p.1).min()?, ink.iter().map(|p| p.1).max()?);
    Some((x0 as f32, y0 as f32, x1 as f32, y1 as f32))
}

/// Handwriting MNIST lacks, made from its own digits: the continental 1 (a flag at the top
/// and often a base) and the 7 with a bar across its stem. Half the 1s and a third of the 7s
/// of `digits` give a variant (more 7s, and 9s and 7s begin to be confused); the rest are
/// left out.
pub fn style_variants(digits: &Dataset, seed: u64) -> Dataset {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut ds = Dataset { rows: SIDE, cols: SIDE, images: Vec::new(), labels: Vec::new() };
    for i in 0..digits.len() {
        let label = digits.labels[i];
        let share = if label == 1 { 0.5 } else { 1.0 / 3.0 };
        if (label != 1 && label != 7) || !rng.random_bool(share) {
            continue;
        }
        let Some(img) = style_variant(digits.image(i), label, &mut rng) else { continue };
        ds.images.extend_from_slice(&img);
        ds.labels.push(label);
    }
    ds
}

/// A 1 with a flag (and often a base) or a 7 with a bar, drawn onto `digit`; None for an
/// empty image.
fn style_variant(digit: &[u8], label: u8, rng: &mut impl Rng) -> Option<Vec<u8>> {
    let mut img = digit.to_vec();
    let (x0, y0, x1, y1) = ink_box(&img)?;
    let width = rng.random_range(1.6f32..2.6);
    let height = y1 - y0;
    if label == 1 {
        // The top of the stem: the topmost ink, where the flag starts.
        let top_x = (0..SIDE).filter(|&x| img[y0 as usize * SIDE + x] > 100).map(|x| x as f32).sum::<f32>()
            / (0..SIDE).filter(|&x| img[y0 as usize * SIDE + x] > 100).count().max(1) as f32;
        // Short and steep, or long and shallow (60 % of the height, 25° below level):
        // people write both, and a long flag taught as rarely as a short one was read as
        // a 7's bar.
        let flag = height * rng.random_range(0.2f32..0.6);
        let angle = rng.random_range(25f32..60.0).to_radians();
        line28(&mut img, (top_x, y0), (top_x - flag * angle.cos(), y0 + flag * angle.sin()), width);
        if rng.random_bool(0.6) {
            let bottom_x = (0..SIDE).filter(|&x| img[y1 as usize * SIDE + x] > 100).map(|x| x as f32).sum::<f32>()
                / (0..SIDE).filter(|&x| img[y1 as usize * SIDE + x] > 100).count().max(1) as f32;
            let half = height * rng.random_range(0.2f32..0.35);
            line28(&mut img, (bottom_x - half, y1), (bottom_x + half, y1), width);
        }
    } else {
        // The bar crosses the stem about halfway down.
        let y = y0 + height * rng.random_range(0.4f32..0.6);
        let row = y.round() as usize;
        let on: Vec<f32> = (0..SIDE).filter(|&x| img[row * SIDE + x] > 100).map(|x| x as f32).collect();
        let stem = if on.is_empty() { (x0 + x1) / 2.0 } else { on.iter().sum::<f32>() / on.len() as f32 };
        let half = (x1 - x0).max(8.0) * rng.random_range(0.25f32..0.4);
        line28(&mut img, (stem - half, y), (stem + half, y + rng.random_range(-1.0f32..1.0)), width);
    }
    Some(img)
}

/// Sample `i` of a run: its own random stream, so results do not depend on threads.
fn rng_for(seed: u64, i: usize) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(seed ^ (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15))
}

/// Each digit of `digits` drawn into `copies` random views and preprocessed; the samples
/// preprocessing could not read are dropped.
pub fn camera_digits(digits: &Dataset, copies: usize, seed: u64) -> Dataset {
    let samples: Vec<Option<([u8; PIXELS], u8)>> = (0..digits.len() * copies)
        .into_par_iter()
        .map(|i| {
            let k = i % digits.len();
            digit_sample(digits.image(k), &mut rng_for(seed, i)).map(|d| (d, digits.labels[k]))
        })
        .collect();
    collect(samples)
}

/// `n` views without a readable digit, of which those that preprocessing hands on become
/// "no digit" samples.
///
/// A lone straight stroke is left out: after normalisation a line, a shadow's edge or a
/// card's edge looks exactly like a 1, and a model taught to refuse it refuses thin 1s.
/// Whether a straight mark is a 1 or a line is for preprocessing to judge, by where it runs.
pub fn clutter(others: &Dataset, n: usize, seed: u64) -> Dataset {
    let samples: Vec<Option<([u8; PIXELS], u8)>> = (0..n)
        .into_par_iter()
        .map(|i| {
            clutter_sample(others, &mut rng_for(seed.wrapping_add(0xC1u64 << 56), i))
                .filter(|d| !is_lone_stroke(d))
                .map(|d| (d, NO_DIGIT))
        })
        .collect();
    collect(samples)
}

/// Whether a 28×28 image's ink is one straight stroke, as nearly every 1 is and a 7, a 4
/// or a blot is not.
pub fn is_lone_stroke(img: &[u8]) -> bool {
    elongation(img) > 15.0
}

/// The ink's spread along its main axis over its spread across (the covariance's
/// eigenvalues): about 40 for a 1 in MNIST, 2 to 4 for the other digits.
fn elongation(img: &[u8]) -> f64 {
    let (mut m, mut sx, mut sy) = (0f64, 0f64, 0f64);
    for (i, &v) in img.iter().enumerate() {
        let (x, y, v) = ((i % SIDE) as f64, (i / SIDE) as f64, v as f64);
        m += v;
        sx += v * x;
        sy += v * y;
    }
    if m == 0.0 {
        return 0.0;
    }
    let (cx, cy) = (sx / m, sy / m);
    let (mut xx, mut yy, mut xy) = (0f64, 0f64, 0f64);
    for (i, &v) in img.iter().enumerate() {
        let (dx, dy, v) = ((i % SIDE) as f64 - cx, (i / SIDE) as f64 - cy, v as f64);
        xx += v * dx * dx;
        yy += v * dy * dy;
        xy += v * dx * dy;
    }
    let (xx, yy, xy) = (xx / m, yy / m, xy / m);
    // The covariance's eigenvalues.
    let (mean, diff) = ((xx + yy) / 2.0, (((xx - yy) / 2.0).powi(2) + xy * xy).sqrt());
    let (along, across) = (mean + diff, (mean - diff).max(1e-6));
    along / across
}

fn collect(samples: Vec<Option<([u8; PIXELS], u8)>>) -> Dataset {
    let mut ds = Dataset { rows: SIDE, cols: SIDE, images: Vec::new(), labels: Vec::new() };
    for (img, label) in samples.into_iter().flatten() {
        ds.images.extend_from_slice(&img);
        ds.labels.push(label);
    }
    ds
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn camera_digits_are_mostly_read_and_repeat_for_a_seed() {
        let digits = crate::sim::sim_digits().unwrap().take(40);
        let a = camera_digits(&digits, 2, 7);
        assert!(a.len() >= 60, "preprocessing reads most views: {} of 80", a.len());
        assert!(a.labels.iter().all(|&l| l < 10));
        assert_eq!(a.images, camera_digits(&digits, 2, 7).images, "same seed, same samples");
        assert_ne!(a.images, camera_digits(&digits, 2, 8).images);
    }

    #[test]
    fn style_variants_add_flags_bases_and_bars_to_ones_and_sevens() {
        let digits = crate::sim::sim_digits().unwrap();
        let v = style_variants(&digits, 1);
        let count = |labels: &[u8], d: u8| labels.iter().filter(|&&l| l == d).count();
        let (ones, sevens) = (count(&digits.labels, 1), count(&digits.labels, 7));
        let (v1, v7) = (count(&v.labels, 1), count(&v.labels, 7));
        assert!((ones * 2 / 5..ones * 3 / 5).contains(&v1), "{v1} of {ones} 1s");
        assert!((sevens / 5..sevens / 2).contains(&v7), "{v7} of {sevens} 7s");
        assert_eq!(v1 + v7, v.len(), "only 1s and 7s");
        let ones_and_sevens = ones + sevens;
        // A variant has more ink than its original: a stroke was added (unless the writer
        // had drawn much the same one already).
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let ink = |img: &[u8]| img.iter().map(|&p| p as u32).sum::<u32>();
        let gained = (0..digits.len())
            .filter(|&i| digits.labels[i] == 1 || digits.labels[i] == 7)
            .filter(|&i| {
                let variant = style_variant(digits.image(i), digits.labels[i], &mut rng).unwrap();
                ink(&variant) > ink(digits.image(i)) + 255
            })
            .count();
        assert!(gained * 20 >= ones_and_sevens * 19, "{gained} of {ones_and_sevens} gained a stroke");
    }

    #[test]
    fn most_ones_are_lone_strokes_and_other_digits_are_not() {
        let digits = crate::sim::sim_digits().unwrap();
        let share = |label: u8| {
            let of: Vec<usize> = (0..digits.len()).filter(|&i| digits.labels[i] == label).collect();
            of.iter().filter(|&&i| is_lone_stroke(digits.image(i))).count() as f32 / of.len() as f32
        };
        assert!(share(1) > 0.95, "ones: {}", share(1));
        for d in [0, 2, 3, 4, 5, 6, 7, 8, 9] {
            assert!(share(d) < 0.05, "{d}s: {}", share(d));
        }
    }

    #[test]
    fn clutter_gives_no_digit_samples() {
        let digits = crate::sim::sim_digits().unwrap().take(40);
        let c = clutter(&digits, 60, 3);
        assert!(!c.is_empty() && c.len() < 60, "some clutter passes preprocessing, not all: {}", c.len());
        assert!(c.labels.iter().all(|&l| l == NO_DIGIT));
    }
}
