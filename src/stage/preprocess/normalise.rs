//! Normalisation: the chosen digit cut out of the full-resolution frame and made to look
//! like MNIST — full-contrast ink, longest side 20 px, centred by mass in 28×28, a pen of
//! MNIST's width.

use super::segment::Chosen;
use super::{Found, NoDigit, Polarity};
use crate::data::{PIXELS, SIDE};
use crate::gray::{morph_plus_into, resize_area_into, tight_box_u8, Rect, ResizeScratch};

/// Buffers extraction reuses from frame to frame.
#[derive(Debug, Default)]
pub(super) struct ExtractScratch {
    grown: Vec<bool>,
    /// One row of `grown` before it is grown into the rows above and below.
    across: Vec<bool>,
    /// The paper under each column of a row of the crop.
    paper: Vec<u8>,
    col_w: Vec<u32>,
    ink: Vec<u8>,
    crop: Vec<f32>,
    fit: FitScratch,
}

/// What the segmentation says about the working image, for extraction.
#[derive(Clone, Copy)]
pub(super) struct Working<'a> {
    pub w: usize,
    pub h: usize,
    pub factor: usize,
    /// Local paper level per working pixel.
    pub bg: &'a [u8],
    /// Component label per working pixel.
    pub labels: &'a [u32],
    pub threshold: u8,
    pub threshold_lo: u8,
}

/// Cuts the chosen digit out of the full-resolution frame and normalises it.
pub(super) fn extract(
    frame: &[u8],
    w: usize,
    h: usize,
    work: &Working,
    chosen: &Chosen,
    polarity: Polarity,
    s: &mut ExtractScratch,
) -> Result<Found, NoDigit> {
    let f = work.factor;
    let Some(b) = chosen.bbox else { return Err(NoDigit::NoDigitShape) };
    // The chosen components, grown by one working pixel so anti-aliased edges survive.
    let (ww, wh) = (work.w, work.h);
    s.grown.clear();
    s.grown.resize(ww * wh, false);
    // Row by row: the row's digit pixels grown sideways, then into the rows above and below.
    let (gx0, gx1) = (b.x0.saturating_sub(1), (b.x1 + 1).min(ww - 1));
    s.across.clear();
    s.across.resize(ww, false);
    for y in b.y0..=b.y1 {
        let labels = &work.labels[y * ww..(y + 1) * ww];
        s.across[gx0..=gx1].fill(false);
        let mut any = false;
        for (x, &label) in labels.iter().enumerate().take(b.x1 + 1).skip(b.x0) {
            let v = chosen.has(label);
            any |= v;
            s.across[x.saturating_sub(1)] |= v;
            s.across[x] |= v;
            s.across[(x + 1).min(ww - 1)] |= v;
        }
        if !any {
            continue;
        }
        for gy in y.saturating_sub(1)..=(y + 1).min(wh - 1) {
            for (g, &a) in s.grown[gy * ww + gx0..=gy * ww + gx1].iter_mut().zip(&s.across[gx0..=gx1]) {
                *g |= a;
            }
        }
    }
    let (fx0, fy0) = ((b.x0.saturating_sub(1)) * f, (b.y0.saturating_sub(1)) * f);
    let (fx1, fy1) = (((b.x1 + 2) * f).min(w) - 1, ((b.y1 + 2) * f).min(h) - 1);
    let (cw, ch) = (fx1 - fx0 + 1, fy1 - fy0 + 1);
    let lo = work.threshold_lo / 2;
    let light = polarity == Polarity::LightOnDark;
    s.ink.clear();
    s.ink.resize(cw * ch, 0);
    // Outside the grown components the paper is taken to be as dark as dark ink (or as
    // bright as light ink) can be, so no ink is measured there, and the loop over the
    // pixels needs no test.
    let nothing = if light { 255 } else { 0 };
    // Only ink above `lo` is kept, so only that is counted.
    let strong_at = work.threshold.max(lo + 1);
    let mut strong = [0u32; 256];
    // Working-image column of each crop column, so the loop below divides nothing.
    s.col_w.clear();
    s.col_w.extend((fx0..=fx1).map(|gx| (gx / f - fx0 / f) as u32));
    s.paper.resize(cw, 0);
    for (y, ink_row) in s.ink.chunks_exact_mut(cw).enumerate() {
        let (gy, wy) = (fy0 + y, (fy0 + y) / f);
        let frame_row = &frame[gy * w + fx0..=gy * w + fx1];
        // Each crop column's paper, made again when the row enters another working row.
        if y == 0 || gy % f == 0 {
            let cells = wy * ww + fx0 / f..=wy * ww + fx1 / f;
            let (bg_row, grown_row) = (&work.bg[cells.clone()], &s.grown[cells]);
            for (p, &c) in s.paper.iter_mut().zip(&s.col_w) {
                let c = c as usize;
                *p = if grown_row[c] { bg_row[c] } else { nothing };
            }
        }
        let contrast = |v: u8, p: u8| if light { v.saturating_sub(p) } else { p.saturating_sub(v) };
        for ((out, &v), &p) in ink_row.iter_mut().zip(frame_row).zip(&s.paper) {
            let d = contrast(v, p);
            *out = if d > lo { d } else { 0 };
        }
        for &d in ink_row.iter() {
            if d >= strong_at {
                strong[d as usize] += 1;
            }
        }
    }
    // Contrast: the typical stroke core (the 90th percentile of strong ink) becomes full
    // ink, as in MNIST.
    let total: u32 = strong.iter().sum();
    if total == 0 {
        return Err(NoDigit::NoInk);
    }
    let mut acc = 0;
    let p90 = (0..256).find(|&v| {
        acc += strong[v];
        acc * 10 >= total * 9
    });
    let (lo, hi) = (lo as f32, (p90.unwrap_or(255) as f32).max(lo as f32 + 1.0));
    let scale: [f32; 256] =
        std::array::from_fn(|v| if v as f32 > lo { ((v as f32 - lo) / (hi - lo)).min(1.0) * 255.0 } else { 0.0 });
    // The box of the ink that counts (above `lo`: all of `ink` that is not 0), cut out and
    // scaled.
    let Some(tight) = tight_box_u8(&s.ink, cw, ch) else {
        return Err(NoDigit::NoInk);
    };
    let (tw, th) = (tight.width(), tight.height());
    s.crop.clear();
    for y in tight.y0..=tight.y1 {
        s.crop.extend(s.ink[y * cw + tight.x0..=y * cw + tight.x1].iter().map(|&v| scale[v as usize]));
    }
    let digit = fit_mnist_into(&s.crop, tw, th, &mut s.fit);
    let bbox = Rect { x0: fx0 + tight.x0, y0: fy0 + tight.y0, x1: fx0 + tight.x1, y1: fy0 + tight.y1 };
    Ok(Found { digit, bbox })
}

/// Buffers [`fit_mnist_into`] reuses.
#[derive(Debug, Default)]
pub struct FitScratch {
    small: Vec<f32>,
    strong: Vec<f32>,
    resize: ResizeScratch,
}

/// MNIST's normalisation of a cropped digit (ink 0..255): scale so the longest side is 20 px
/// keeping the aspect ratio, bring the stroke core back to full ink (a thin pen comes out of
/// the downscaling grey), place in 28×28 with the centre of mass at the centre, and bring
/// the pen towards MNIST's width.
pub fn fit_mnist(crop: &[f32], w: usize, h: usize) -> [u8; PIXELS] {
    fit_mnist_into(crop, w, h, &mut FitScratch::default())
}

/// [`fit_mnist`] with reused buffers.
pub fn fit_mnist_into(crop: &[f32], w: usize, h: usize, s: &mut FitScratch) -> [u8; PIXELS] {
    let k = 20.0 / w.max(h) as f32;
    let (nw, nh) = (((w as f32 * k).round() as usize).clamp(1, 20), ((h as f32 * k).round() as usize).clamp(1, 20));
    resize_area_into(crop, w, h, nw, nh, &mut s.small, &mut s.resize);
    stretch_core_with(&mut s.small, &mut s.strong);
    let mut digit = place_by_mass(&s.small, nw, nh);
    normalise_stroke(&mut digit);
    digit
}

/// Scales ink so its core — the 80th percentile of the values above a fifth of the
/// brightest — is full ink; never darkens.
pub fn stretch_core(img: &mut [f32]) {
    stretch_core_with(img, &mut Vec::new())
}

fn stretch_core_with(img: &mut [f32], strong: &mut Vec<f32>) {
    let max = img.iter().copied().fold(0f32, f32::max);
    if max <= 0.0 {
        return;
    }
    strong.clear();
    strong.extend(img.iter().copied().filter(|&v| v >= max * 0.2));
    strong.sort_unstable_by(f32::total_cmp);
    let core = strong[(strong.len() * 8 / 10).min(strong.len() - 1)];
    if core > 0.0 && core < 255.0 {
        let k = 255.0 / core;
        img.iter_mut().for_each(|v| *v = (*v * k).min(255.0));
    }
}

/// Estimated stroke width of a 28×28 digit in pixels: twice the ink area over the outline
/// length, counted as ink/background pixel edges (a stroke of width t and length L has area
/// tL and an outline of about 2L).
pub fn stroke_width(digit: &[u8; PIXELS]) -> f32 {
    let ink = |x: i32, y: i32| {
        (0..SIDE as i32).contains(&x) && (0..SIDE as i32).contains(&y) && digit[y as usize * SIDE + x as usize] >= 128
    };
    let (mut area, mut outline) = (0u32, 0u32);
    for y in 0..SIDE as i32 {
        for x in 0..SIDE as i32 {
            if ink(x, y) {
                area += 1;
                outline +=
                    [(1, 0), (-1, 0), (0, 1), (0, -1)].iter().filter(|(dx, dy)| !ink(x + dx, y + dy)).count() as u32;
            }
        }
    }
    if outline == 0 {
        0.0
    } else {
        2.0 * area as f32 / outline as f32
    }
}

/// MNIST's pen: 97 % of its test digits measure between 1.1 and 3.6 px by [`stroke_width`]
/// (median 2.0). Hairline strokes (a thin pen, fine print) are thickened with soft edges,
/// fat marker strokes thinned by a pixel; digits within MNIST's range are left alone.
pub fn normalise_stroke(digit: &mut [u8; PIXELS]) {
    let t = stroke_width(digit);
    let mut out = [0u8; PIXELS];
    if t > 0.0 && t < 1.5 {
        morph_plus_into(digit, SIDE, SIDE, u8::max, &mut out);
        for (d, g) in digit.iter_mut().zip(out) {
            *d = (*d).max((g as f32 * 0.7) as u8);
        }
    } else if t > 3.6 {
        morph_plus_into(digit, SIDE, SIDE, u8::min, &mut out);
        *digit = out;
    }
}

/// Puts a patch of at most 28×28 into a 28×28 field so its centre of mass lands on (14, 14)
/// (`round(14 - com)`, as MNIST's centring is usually reproduced), kept inside the field.
pub fn place_by_mass(patch: &[f32], w: usize, h: usize) -> [u8; PIXELS] {
    let (mut m, mut mx, mut my) = (0f64, 0f64, 0f64);
    for y in 0..h {
        for x in 0..w {
            let v = patch[y * w + x] as f64;
            m += v;
            mx += v * x as f64;
            my += v * y as f64;
        }
    }
    let (cx, cy) = if m > 0.0 { (mx / m, my / m) } else { (w as f64 / 2.0, h as f64 / 2.0) };
    let place =
        |com: f64, len: usize| ((SIDE as f64 / 2.0 - com).round() as i64).clamp(0, (SIDE - len) as i64) as usize;
    let (ox, oy) = (place(cx, w), place(cy, h));
    let mut out = [0u8; PIXELS];
    for y in 0..h {
        for x in 0..w {
            out[(oy + y) * SIDE + ox + x] = patch[y * w + x].round().clamp(0.0, 255.0) as u8;
        }
    }
    out
}
