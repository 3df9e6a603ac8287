//! The preprocess stage: a grayscale camera frame of any size → the 28×28 MNIST-style digit
//! the model expects (white ink on black, longest side 20 px, centred by centre of mass).
//!
//! Pure functions on plain buffers. Segmentation does not trust global brightness: ink is
//! measured against a local background estimate, so lighting gradients do not become ink,
//! and only connected components that look like a digit are kept.

mod card;
mod normalise;
mod segment;

pub use card::find_card;
pub use normalise::{
    fit_mnist, fit_mnist_into, normalise_stroke, place_by_mass, stretch_core, stroke_width, FitScratch,
};
pub use segment::{background, guess_polarity, hysteresis, ink_map, line_pixels, remove_lines};

use crate::data::PIXELS;
pub use crate::gray::Rect;
use crate::gray::{pool_some_into, FilterScratch, Gray, GrayBuf, Histogram, Labeller, PoolScratch, Pools};
use card::{find_card_into, CardScratch};
use normalise::{extract, ExtractScratch, Working};
use segment::{
    background_into, bright_is_sheet, choose_digit, hysteresis_into, ink_map_into, line_pixels_into, Chosen,
    LineScratch,
};

/// Which way round ink and paper are.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Polarity {
    /// Decide from the frame: bright frames are paper with dark ink.
    Auto,
    DarkOnLight,
    LightOnDark,
}

/// Tunables of segmentation.
#[derive(Clone, Debug, PartialEq)]
pub struct Params {
    pub polarity: Polarity,
    /// Least ink contrast (grey levels against the local background) that counts as ink.
    /// In a faint view, whose ink nowhere reaches 5/3 of it, the least contrast follows
    /// the ink down (to no less than 12, and clear of the view's noise).
    pub min_contrast: u8,
    /// Smallest digit height as a fraction of the frame height.
    pub min_height: f32,
    /// Largest digit height as a fraction of the frame height (crops and close-ups, where
    /// one digit fills the image, are exempt).
    pub max_height: f32,
    /// Segmentation runs on a copy whose longest side is at most this many pixels.
    pub working_side: usize,
}

impl Default for Params {
    fn default() -> Self {
        Params { polarity: Polarity::Auto, min_contrast: 30, min_height: 0.08, max_height: 0.95, working_side: 160 }
    }
}

/// Images no larger than this (longest side, in pixels) are crops of one digit: it may fill
/// them and touch their edges.
pub const CROP_SIDE: usize = 64;

/// A card lying on the floor is looked for in views at least this many working pixels high
/// and wide (a 640×480 camera frame is 160×120), and in smaller ones only when they are
/// mostly dark floor.
const MIN_CARD_VIEW: usize = 100;

/// A digit at least this many working pixels long, drawn in strokes at least
/// [`COARSE_STROKE`] working pixels wide, is cut from the working image rather than the frame.
const COARSE_DIGIT: usize = 40;
const COARSE_STROKE: f32 = 2.5;

/// A digit found in a frame.
#[derive(Clone, Debug, PartialEq)]
pub struct Found {
    /// MNIST-style: 0 background, 255 ink, row-major 28×28.
    pub digit: [u8; PIXELS],
    /// Where it was, in frame pixels.
    pub bbox: Rect,
}

/// Why a frame holds no digit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NoDigit {
    /// Nothing stands out from the background enough to be ink.
    NoInk,
    /// Ink, but only specks, frame borders, or marks of the wrong size.
    NoDigitShape,
    /// The frame is empty or its buffer does not match its size.
    BadFrame,
}

impl NoDigit {
    pub fn as_str(&self) -> &'static str {
        match self {
            NoDigit::NoInk => "no ink",
            NoDigit::NoDigitShape => "no digit-shaped mark",
            NoDigit::BadFrame => "bad frame",
        }
    }
}

/// How many times the noise (the median step between neighbouring pixels) the digit's mean
/// ink must be.
const INK_OVER_NOISE: f32 = 8.0;

/// A view is grainy when its faintest tenth stands at least this many grey levels above
/// the paper estimate: in a clean view most paper matches the estimate (0); the noisy 96×96
/// and 160×120 views of tiny cameras measure 4-13.
const NOISY_FAINTEST: u8 = 3;
/// In a faint view, the least ink contrast stays at or above this, and follows the view's
/// ink peak down to this share of it (see [`Scratch::segment`]).
const FAINT_FLOOR: u8 = 12;
const FAINT_SHARE: f32 = 0.6;

/// The median difference between horizontal neighbours, on every other row: the noise of
/// a view, in grey levels.
fn neighbour_noise(pixels: &[u8], w: usize) -> u8 {
    let diffs =
        pixels.chunks_exact(w.max(1)).step_by(2).flat_map(|r| r.iter().zip(&r[1..]).map(|(a, b)| a.abs_diff(*b)));
    let [median] = Histogram::of_iter(diffs).percentiles([0.5]);
    median
}

/// Everything segmentation produced, for `--dump` and tests.
#[derive(Clone, Debug)]
pub struct Segmentation {
    pub work_w: usize,
    pub work_h: usize,
    /// Downscale factor from frame to working image.
    pub factor: usize,
    /// Ink strength per working pixel (0 = background).
    pub ink: Vec<u8>,
    /// 1 where a working pixel is ink.
    pub mask: Vec<u8>,
    /// Ink of at least `threshold` starts a blob; ink of at least `threshold_lo` joined to
    /// one belongs to it.
    pub threshold: u8,
    pub threshold_lo: u8,
    /// 1 inside the card or sheet the digit was looked for on, when one was found.
    pub card: Option<Vec<u8>>,
}

/// Frame → 28×28 digit, or why there is none.
pub fn preprocess(frame: &[u8], w: usize, h: usize, p: &Params) -> Result<Found, NoDigit> {
    Preprocessor::new(p.clone()).run(frame, w, h)
}

/// [`preprocess`], also returning the intermediate segmentation when there was one.
pub fn preprocess_detailed(
    frame: &[u8],
    w: usize,
    h: usize,
    p: &Params,
) -> (Result<Found, NoDigit>, Option<Segmentation>) {
    let mut pre = Preprocessor::new(p.clone());
    let found = pre.run(frame, w, h);
    (found, pre.segmentation())
}

/// How far to trust a frame's other reading ([`Preprocessor::light_alternative`]) against
/// its first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Alternative {
    /// The first reading is the likelier: the other stands in only when the first gives no
    /// digit the model is sure of.
    Fallback,
    /// Both are as likely: the one the model is surer of is kept.
    Rival,
}

/// The preprocess stage with its working buffers: after the first frames of a size it
/// allocates nothing, so the robot's loop runs without touching the allocator.
#[derive(Debug)]
pub struct Preprocessor {
    pub params: Params,
    s: Box<Scratch>,
}

/// Everything preprocessing computes, kept between frames for its buffers.
#[derive(Debug, Default)]
struct Scratch {
    mean: GrayBuf,
    dark: GrayBuf,
    light: GrayBuf,
    pool: PoolScratch,
    filter: FilterScratch,
    /// The card search's own: its pictures are a quarter the size, and buffers shared
    /// between the two would be regrown (and cleared) twice a frame.
    card_filter: FilterScratch,
    card: CardScratch,
    has_card: bool,
    bg: GrayBuf,
    ink: Vec<u8>,
    weak: Vec<u8>,
    mask: Vec<u8>,
    lenient: Vec<u8>,
    hysteresis: Labeller,
    labeller: Labeller,
    lines: LineScratch,
    chosen: Chosen,
    extract: ExtractScratch,
    /// The last frame's segmentation, when it got that far.
    segmented: bool,
    factor: usize,
    threshold: u8,
    threshold_lo: u8,
    /// In a grainy view, the ink that starts a blob above the noise; 0 in a clean one.
    noise_ink: u8,
    /// The view is faint: its least ink contrast followed its ink down.
    faint: bool,
    /// The last frame's other reading, if it has one (see [`Preprocessor::light_alternative`]).
    light_alternative: Option<Alternative>,
    /// Read the frame as light ink, without looking for a card.
    force_light: bool,
}

impl Preprocessor {
    pub fn new(params: Params) -> Self {
        Preprocessor { params, s: Box::default() }
    }

    /// The last frame's segmentation (copied out), for `--dump` and the live view.
    pub fn segmentation(&self) -> Option<Segmentation> {
        let s = &self.s;
        s.segmented.then(|| Segmentation {
            work_w: s.mean.w,
            work_h: s.mean.h,
            factor: s.factor,
            ink: s.ink.clone(),
            mask: s.mask.clone(),
            threshold: s.threshold,
            threshold_lo: s.threshold_lo,
            card: s.has_card.then(|| s.card.mask.clone()),
        })
    }

    /// The last frame read the other way, when it has another reading: its digit was looked
    /// for as dark ink on a doubtful card (a quarter of the view or less, much of it dark
    /// before its gaps were closed) in a view that looks like light ink on dark. Such a
    /// "card" may be a bold light digit, a chalk 8 or a white 9 on grey, its loops closed
    /// over by the search, and what was found on it a loop's inside. This reads the view
    /// as light ink, as it looked, and says how far to trust that reading against the first.
    /// None when the last frame has no other reading.
    pub fn light_alternative(
        &mut self,
        frame: &[u8],
        w: usize,
        h: usize,
    ) -> Option<(Result<Found, NoDigit>, Alternative)> {
        let kind = self.s.light_alternative?;
        self.s.force_light = true;
        let found = self.run(frame, w, h);
        self.s.force_light = false;
        Some((found, kind))
    }

    /// Frame → 28×28 digit, or why there is none.
    pub fn run(&mut self, frame: &[u8], w: usize, h: usize) -> Result<Found, NoDigit> {
        let p = &self.params;
        let s = &mut *self.s;
        s.segmented = false;
        s.light_alternative = None;
        let force_light = s.force_light;
        let Some(img) = Gray::new(frame, w, h) else {
            return Err(NoDigit::BadFrame);
        };
        let factor = w.max(h).div_ceil(p.working_side.max(1)).max(1);
        s.factor = factor;
        // The cells' means show lighting and paper; their extremes keep thin strokes whole:
        // the darkest values for dark ink, the brightest for light ink. The extreme the ink
        // turns out to need is made now if it is the likely one, and later if not.
        let light_first = p.polarity == Polarity::LightOnDark || force_light;
        let first = Pools { mean: true, dark: !light_first, light: light_first };
        pool_some_into(img, factor, first, &mut s.mean, &mut s.dark, &mut s.light, &mut s.pool);
        let (ww, wh) = (s.mean.w, s.mean.h);
        let radius = (ww.max(wh) / 16).max(4);
        // A card or sheet lying on a darker floor: look for the digit only on it, as dark
        // ink, so the card's edges are never taken for strokes. In camera-sized views, and in
        // smaller ones (a low-resolution camera) where the floor fills most of the view: in a
        // close-up of paper, paper between bold strokes can look like a card, and without
        // the search a card on a dark floor would be read as light ink, its tilted edges as
        // strokes.
        // The guess is made at most once, and only when needed.
        let mut guessed = None;
        let camera_sized = ww.min(wh) >= MIN_CARD_VIEW;
        let search = !force_light
            && matches!(p.polarity, Polarity::Auto | Polarity::DarkOnLight)
            && (camera_sized || *guessed.get_or_insert_with(|| guess_polarity(s.mean.view())) == Polarity::LightOnDark);
        s.has_card = search && find_card_into(s.mean.view(), radius, &mut s.card, &mut s.card_filter);
        let mut polarity = match (p.polarity, s.has_card) {
            _ if force_light => Polarity::LightOnDark,
            (_, true) => Polarity::DarkOnLight,
            (Polarity::Auto, false) => match guessed.unwrap_or_else(|| guess_polarity(s.mean.view())) {
                // A grey card on a floor only a little darker, too faint for the card
                // search: the card is not light ink, and the ink on it is dark.
                Polarity::LightOnDark if camera_sized && bright_is_sheet(s.mean.view()) => Polarity::DarkOnLight,
                guess => guess,
            },
            (other, false) => other,
        };
        let light = polarity == Polarity::LightOnDark;
        if light != light_first {
            let more = Pools { mean: false, dark: !light, light };
            pool_some_into(img, factor, more, &mut s.mean, &mut s.dark, &mut s.light, &mut s.pool);
        }
        let small = w.max(h) <= CROP_SIDE;
        // The paper estimate's window is much wider than a stroke (lighting changes smoothly
        // enough for a closing of this size to follow it), and wider again when the digit's
        // strokes turn out wide (a marker, a close-up).
        let first_radius = (ww.max(wh) / 6).max(4);
        let mut radius = first_radius;
        let mut width;
        let mut widened = false;
        loop {
            let peak = s.segment(radius, polarity, p, small);
            s.segmented = true;
            let found = s.threshold <= peak && {
                s.labeller.label(&s.mask, &s.ink, ww, wh);
                let card = s.has_card.then_some(s.card.mask.as_slice());
                choose_digit(&s.labeller, &s.ink, card, ww, wh, p, small, factor == 1, s.faint, &mut s.chosen)
            };
            if !found {
                if widened && radius != first_radius {
                    // The wider window lost the digit the first one found (a bold digit
                    // cut by the view's edge grew into an edge mark): keep the first.
                    radius = first_radius;
                    continue;
                }
                // No digit on a doubtful card in a view that looks like light ink on dark:
                // the "card" was a bold light digit, a chalk 8 or a white 6 on black, its
                // gaps closed over by the search. Read the view as it looked.
                if s.doubtful_card(p, &mut guessed) {
                    s.has_card = false;
                    polarity = Polarity::LightOnDark;
                    if !light_first {
                        let more = Pools { mean: false, dark: false, light: true };
                        pool_some_into(img, factor, more, &mut s.mean, &mut s.dark, &mut s.light, &mut s.pool);
                    }
                    radius = first_radius;
                    widened = false;
                    continue;
                }
                return Err(if s.threshold > peak { NoDigit::NoInk } else { NoDigit::NoDigitShape });
            }
            width = s.stroke_width();
            let wider = ((width * 2.0).ceil() as usize + 2).min(ww.max(wh) / 3);
            if !widened && wider > radius {
                radius = wider;
                widened = true;
                continue;
            }
            break;
        }
        if s.doubtful_card(p, &mut guessed) {
            s.light_alternative = Some(if s.card.rival { Alternative::Rival } else { Alternative::Fallback });
        }
        // Ink stands out from the noise: in a noisy low-resolution view of blank paper, noise
        // crossing the threshold in clumps makes blobs of about three times its typical step
        // between neighbours; the digits of real images stand out at ten times it or more.
        let (mass, area) = s
            .labeller
            .comps
            .iter()
            .filter(|c| s.chosen.has(c.label))
            .fold((0u64, 0usize), |(m, a), c| (m + c.mass, a + c.area));
        // In a grainy view, the digit's ink as a whole must stand as far above the noise as
        // the ink that starts a blob: clumps of noise that crossed that level here and there
        // do not, nor does a shadow band that the noise broke into pieces.
        let mean_ink = mass as f32 / area.max(1) as f32;
        let most_noise = mean_ink / INK_OVER_NOISE;
        if (most_noise < 255.0 && !s.noise_at_most(polarity, most_noise as u8)) || mean_ink < s.noise_ink as f32 {
            return Err(NoDigit::NoInk);
        }
        // Extraction measures ink at full resolution against the paper of the cells' means.
        background_into(s.mean.view(), radius, polarity, &mut s.bg, &mut s.filter);
        let work = Working {
            w: ww,
            h: wh,
            factor,
            bg: &s.bg.pixels,
            labels: &s.labeller.labels,
            threshold: s.threshold,
            threshold_lo: s.threshold_lo,
        };
        // A digit several times the model's 20 px, in strokes wider than a cell, loses
        // nothing when cut from the cells' means instead of the frame: a sixteenth of the
        // pixels to read.
        let coarse = s.chosen.bbox.is_some_and(|b| b.width().max(b.height()) >= COARSE_DIGIT)
            && width >= COARSE_STROKE
            && (2..=4).contains(&factor);
        if !coarse {
            return extract(frame, w, h, &work, &s.chosen, polarity, &mut s.extract);
        }
        let found =
            extract(&s.mean.pixels, ww, wh, &Working { factor: 1, ..work }, &s.chosen, polarity, &mut s.extract)?;
        let b = found.bbox;
        let bbox = Rect {
            x0: b.x0 * factor,
            y0: b.y0 * factor,
            x1: ((b.x1 + 1) * factor).min(w) - 1,
            y1: ((b.y1 + 1) * factor).min(h) - 1,
        };
        Ok(Found { bbox, ..found })
    }
}

impl Scratch {
    /// Whether the digit is looked for on a doubtful card in a view that looks like light
    /// ink on dark (the polarity guess made once, into `guessed`): the "card" may be a bold
    /// light digit with its gaps closed over.
    fn doubtful_card(&self, p: &Params, guessed: &mut Option<Polarity>) -> bool {
        self.has_card
            && self.card.doubtful
            && p.polarity == Polarity::Auto
            && *guessed.get_or_insert_with(|| guess_polarity(self.mean.view())) == Polarity::LightOnDark
    }

    /// Ink against the local paper, thresholded with hysteresis, lines removed, into
    /// `ink` and `mask`; returns the ink's peak.
    fn segment(&mut self, radius: usize, polarity: Polarity, p: &Params, small: bool) -> u8 {
        let src = if polarity == Polarity::LightOnDark { &self.light } else { &self.dark };
        let (ww, wh) = (src.w, src.h);
        background_into(src.view(), radius, polarity, &mut self.bg, &mut self.filter);
        ink_map_into(&src.pixels, &self.bg.pixels, polarity, &mut self.ink);
        if self.has_card {
            // 1 inside the card: all ones there, nothing outside.
            for (v, &inside) in self.ink.iter_mut().zip(&self.card.mask) {
                *v &= 0u8.wrapping_sub(inside);
            }
        }
        let hist = Histogram::of(&self.ink);
        // Not the max, so a few hot pixels cannot set the scale.
        let peak = hist.kth_largest((self.ink.len() / 5000).max(3));
        // The least contrast that counts as ink is the configured one, unless the whole view
        // is faint (a dim room, a light pencil, a washed-out photo: its darkest ink stands
        // less than 5/3 of the configured contrast from the paper). Then it follows the ink
        // down to 60 % of its peak, while staying clear of the view's noise: eight times the
        // typical step between neighbours, as the ink's own check below asks, and never
        // under 12.
        let mut floor = p.min_contrast;
        if ((peak as f32 * FAINT_SHARE) as u8) < floor {
            let noise = neighbour_noise(&src.pixels, ww);
            let faint =
                FAINT_FLOOR.max(noise.saturating_mul(INK_OVER_NOISE as u8)).max((peak as f32 * FAINT_SHARE) as u8);
            floor = floor.min(faint);
        }
        self.faint = floor < p.min_contrast;
        self.threshold = floor.max((peak as f32 * 0.4) as u8);
        self.threshold_lo = (floor / 2).max((peak as f32 * 0.2) as u8);
        // In a grainy view (a tiny camera's, or any in dim light) the paper estimate rides
        // on the noise's peaks, so all the paper reads as faint ink, and clumps of noise
        // join the digit and flood across the view. Then even the faintest tenth of the view
        // stands above the estimate, and ink must stand above what the noise makes: its
        // median plus two (joining) or three (starting a blob) times its spread below it.
        let [faintest, median] = hist.percentiles([0.1, 0.5]);
        self.noise_ink = 0;
        if faintest >= NOISY_FAINTEST {
            let spread = median - faintest;
            self.noise_ink = median.saturating_add(spread.saturating_mul(3));
            self.threshold_lo = self.threshold_lo.max(median.saturating_add(spread.saturating_mul(2)));
            self.threshold = self.threshold.max(self.noise_ink);
        }
        hysteresis_into(
            &self.ink,
            ww,
            wh,
            self.threshold_lo,
            self.threshold,
            &mut self.mask,
            &mut self.weak,
            &mut self.hysteresis,
        );
        if small {
            self.lines.searched = false;
        } else {
            // Lines are found on a lenient mask, where a faint ruled line is still whole.
            let lenient_at = (self.threshold_lo as u16 * 3 / 4).max(p.min_contrast as u16 / 2) as u8;
            self.lenient.clear();
            self.lenient.extend(self.ink.iter().map(|&v| (v >= lenient_at) as u8));
            line_pixels_into(&self.lenient, ww, wh, 0.35, &mut self.lines);
            if self.lines.searched {
                // Where the digit crosses a line, its ink stands above the lines' own by as much
                // as starts a blob: those pixels stay, so a thin stroke is not cut at every grid
                // line it crosses. A line as dark as the digit, a ruled line under it, is still
                // taken out whole. The lines' ink is their upper quartile, not their median:
                // paper along the view's edge, dimmed by vignetting, can make up most of what
                // is taken for lines, and a pencil stem running straight into it must still go
                // with the lines rather than join the digit to the edge.
                let on_lines = self.ink.iter().zip(&self.lines.line).filter(|(_, &l)| l).map(|(&v, _)| v);
                let [line_ink] = Histogram::of_iter(on_lines).percentiles([0.75]);
                // At most 256: every ink value (0..=255) is under that, as under any larger sum.
                let crossing = (line_ink as u16 + self.threshold as u16).min(256);
                for ((m, &is_line), &v) in self.mask.iter_mut().zip(&self.lines.line).zip(&self.ink) {
                    let cut = is_line & ((v as u16) < crossing);
                    *m &= (cut as u8).wrapping_sub(1);
                }
            }
        }
        peak
    }

    /// Whether the noise of the image the ink was measured on — the median difference
    /// between horizontal neighbours, on every other row — is at most `k`. Pairs on a ruled
    /// or grid line are left out: the steps at its edges are not noise, and on grid paper
    /// they are most of the steps.
    fn noise_at_most(&self, polarity: Polarity, k: u8) -> bool {
        let src = if polarity == Polarity::LightOnDark { &self.light } else { &self.dark };
        let w = src.w.max(1);
        let (mut small, mut n) = (0usize, 0usize);
        if self.lines.searched && self.lines.line.len() == src.pixels.len() {
            for (row, line) in src.pixels.chunks_exact(w).zip(self.lines.line.chunks_exact(w)).step_by(2) {
                for ((a, b), on) in row.iter().zip(&row[1..]).zip(line.windows(2)) {
                    let off = !(on[0] | on[1]);
                    small += (off & (a.abs_diff(*b) <= k)) as usize;
                    n += off as usize;
                }
            }
        } else {
            for row in src.pixels.chunks_exact(w).step_by(2) {
                small += row.iter().zip(&row[1..]).map(|(a, b)| (a.abs_diff(*b) <= k) as u32).sum::<u32>() as usize;
                n += row.len() - 1;
            }
        }
        small * 2 > n
    }

    /// Stroke width of the chosen blobs in working pixels: twice their area over their
    /// outline.
    fn stroke_width(&self) -> f32 {
        let (w, h) = (self.mean.w, self.mean.h);
        let Some(b) = self.chosen.bbox else { return 0.0 };
        let labels = &self.labeller.labels;
        let inside = |x: usize, y: usize| self.chosen.has(labels[y * w + x]);
        let (mut area, mut outline) = (0u32, 0u32);
        // Run by run: a run ends at mask pixels' edges, so each has outline on both ends.
        for (y, x0, x1, id) in self.labeller.runs() {
            if !self.chosen.part[id] || !(b.y0..=b.y1).contains(&y) {
                continue;
            }
            area += (x1 - x0) as u32;
            outline += 2;
            for x in x0..x1 {
                outline += (y == 0 || !inside(x, y - 1)) as u32 + (y + 1 == h || !inside(x, y + 1)) as u32;
            }
        }
        if outline == 0 {
            0.0
        } else {
            2.0 * area as f32 / outline as f32
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::SIDE;
    use std::path::Path;

    fn golden(rows: std::ops::RangeInclusive<usize>, cols: std::ops::RangeInclusive<usize>) -> [u8; PIXELS] {
        let mut g = [0u8; PIXELS];
        for y in rows {
            for x in cols.clone() {
                g[y * SIDE + x] = 255;
            }
        }
        g
    }

    #[test]
    fn background_ignores_strokes_and_ink_map_measures_them() {
        // Paper at 200 with a 2-px dark stroke at 50.
        let (w, h) = (10, 3);
        let mut img = vec![200u8; w * h];
        for y in 0..h {
            img[y * w + 4] = 50;
            img[y * w + 5] = 50;
        }
        let bg = background(Gray::new(&img, w, h).unwrap(), 2, Polarity::DarkOnLight);
        assert!(bg.iter().all(|&b| b == 200));
        let ink = ink_map(&img, &bg, Polarity::DarkOnLight);
        assert_eq!(&ink[0..w], &[0, 0, 0, 0, 150, 150, 0, 0, 0, 0]);
    }

    #[test]
    fn strokes_are_normalised_towards_mnists_pen() {
        // A 1-px hairline "1" is thickened with soft edges; a 4-px bar is MNIST-like and
        // kept; a solid 14-px blob of marker is thinned.
        let mut hair = [0u8; PIXELS];
        for y in 4..24 {
            hair[y * SIDE + 14] = 255;
        }
        assert!(stroke_width(&hair) < 1.1);
        normalise_stroke(&mut hair);
        let mut want = [0u8; PIXELS];
        for y in 4..24 {
            want[y * SIDE + 13..=y * SIDE + 15].copy_from_slice(&[178, 255, 178]);
        }
        want[3 * SIDE + 14] = 178;
        want[24 * SIDE + 14] = 178;
        assert_eq!(hair, want);
        let mut bar = golden(5..=24, 13..=16);
        normalise_stroke(&mut bar);
        assert_eq!(bar, golden(5..=24, 13..=16));
        let mut fat = golden(7..=20, 7..=20);
        assert!(stroke_width(&fat) > 3.6);
        normalise_stroke(&mut fat);
        assert_eq!(fat, golden(8..=19, 8..=19));
    }

    #[test]
    fn placement_centres_the_mass() {
        // A 4×20 bar: centre of mass (1.5, 9.5) → offset round(12.5)=13, round(4.5)=5.
        let patch = vec![255.0; 4 * 20];
        assert_eq!(place_by_mass(&patch, 4, 20), golden(5..=24, 13..=16));
    }

    #[test]
    fn bar_on_paper_becomes_an_mnist_one() {
        // 640×480 paper at 200, an 8×40 stroke at 40, aligned to the 4-px working grid.
        let (w, h) = (640, 480);
        let mut frame = vec![200u8; w * h];
        for y in 220..260 {
            for x in 320..328 {
                frame[y * w + x] = 40;
            }
        }
        let found = preprocess(&frame, w, h, &Params::default()).unwrap();
        assert_eq!(found.bbox, Rect { x0: 320, y0: 220, x1: 327, y1: 259 });
        assert_eq!(found.digit, golden(5..=24, 13..=16));
    }

    #[test]
    fn a_faint_stroke_is_ink_in_a_clean_view_but_not_in_a_noisy_one() {
        // A stroke 20 grey levels below the paper: under the configured least contrast (30).
        let (w, h) = (320, 240);
        let faint = |noise: i32| {
            let mut frame: Vec<u8> = (0..w * h)
                .map(|i| (150 + ((i * 7919 + i / w * 104_729) % (2 * noise as usize + 1)) as i32 - noise) as u8)
                .collect();
            for y in 90..150 {
                for x in 156..164 {
                    frame[y * w + x] -= 20;
                }
            }
            preprocess(&frame, w, h, &Params::default())
        };
        let found = faint(0).expect("a faint stroke on clean paper is ink");
        assert_eq!(found.bbox, Rect { x0: 156, y0: 90, x1: 163, y1: 149 });
        // In noise of ±8 grey levels, the same stroke is not ink.
        assert_eq!(faint(8), Err(NoDigit::NoInk));
    }

    #[test]
    fn a_bold_light_eight_in_a_small_view_is_read_as_light_ink_not_as_a_card() {
        // A 96×96 view: a bold white 8 (two rings) on black. The card search closes its loops
        // over and finds a bright, solid, sharp-edged region on a dark surround; inside it
        // the only "ink" is the loops.
        let (w, h) = (96, 96);
        let frame: Vec<u8> = (0..w * h)
            .map(|i| {
                let (x, y) = ((i % w) as f32 - 47.5, (i / w) as f32 - 47.5);
                let on = |cy: f32| (7.6..13.0).contains(&(x * x + (y - cy) * (y - cy)).sqrt());
                if on(-12.1) || on(12.1) {
                    220
                } else {
                    30
                }
            })
            .collect();
        let found = preprocess(&frame, w, h, &Params::default()).expect("the 8 is a digit");
        assert_eq!(found.bbox, Rect { x0: 35, y0: 23, x1: 60, y1: 72 }, "the whole 8, not its loops");
    }

    /// The first reading of a frame: its bounding box, and the other reading's with its kind.
    fn both_readings(file: &str) -> (Rect, Option<(Rect, Alternative)>) {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/real").join(file);
        let img = image::open(&path).unwrap().to_luma8();
        let (w, h) = (img.width() as usize, img.height() as usize);
        let mut pre = Preprocessor::new(Params::default());
        let first = pre.run(img.as_raw(), w, h).expect("a first reading").bbox;
        let other = pre.light_alternative(img.as_raw(), w, h).map(|(found, kind)| (found.expect("a digit").bbox, kind));
        (first, other)
    }

    #[test]
    fn a_bold_light_digit_taken_for_a_card_has_its_light_reading_too() {
        // A bold light 6 on a grey board, 128×128: the card search closes it over into a
        // card much of which was dark, and the first reading is the loop's inside.
        let (first, other) = both_readings("light-bold-6.png");
        let (whole, kind) = other.expect("another reading");
        assert_eq!(kind, Alternative::Rival);
        assert!(whole.height() > 2 * first.height(), "the whole 6 ({whole:?}), not its loop ({first:?})");
        // A card with a digit on it, as bright as cards are, has no other reading.
        assert_eq!(both_readings("grey-card-4.jpg").1, None);
    }

    #[test]
    fn light_ink_on_dark_works_too() {
        let (w, h) = (100, 100);
        let mut frame = vec![10u8; w * h];
        for y in 30..70 {
            for x in 48..56 {
                frame[y * w + x] = 230;
            }
        }
        let found = preprocess(&frame, w, h, &Params::default()).unwrap();
        assert_eq!(found.digit, golden(5..=24, 13..=16));
    }

    #[test]
    fn blank_specks_and_borders_are_not_digits() {
        let (w, h) = (320, 240);
        let blank = vec![180u8; w * h];
        assert_eq!(preprocess(&blank, w, h, &Params::default()), Err(NoDigit::NoInk));
        let mut specks = blank.clone();
        for (sx, sy) in [(50, 50), (200, 120), (260, 30)] {
            for y in sy..sy + 3 {
                for x in sx..sx + 3 {
                    specks[y * w + x] = 20;
                }
            }
        }
        assert_eq!(preprocess(&specks, w, h, &Params::default()), Err(NoDigit::NoDigitShape));
        // A dark band along the left edge (a table edge) is not a digit.
        let mut edge = blank.clone();
        for y in 0..h {
            for x in 0..12 {
                edge[y * w + x] = 30;
            }
        }
        assert_eq!(preprocess(&edge, w, h, &Params::default()), Err(NoDigit::NoDigitShape));
        assert_eq!(preprocess(&blank[..10], w, h, &Params::default()), Err(NoDigit::BadFrame));
    }

    #[test]
    fn lighting_gradient_is_not_ink() {
        let (w, h) = (320, 240);
        let frame: Vec<u8> = (0..w * h).map(|i| (90 + (i % w) * 150 / w) as u8).collect();
        // Faint, it may cross a faint view's least contrast, but its edges are no ink's.
        let got = preprocess(&frame, w, h, &Params::default());
        assert!(matches!(got, Err(NoDigit::NoInk | NoDigit::NoDigitShape)), "{got:?}");
    }

    #[test]
    fn mnist_digit_passes_through_nearly_unchanged() {
        // An MNIST-style 28×28 input (light on dark, already centred) stays where it is.
        let mut img = [0u8; PIXELS];
        for y in 4..24 {
            for x in 12..16 {
                img[y * SIDE + x] = 255;
            }
        }
        let found = preprocess(&img, SIDE, SIDE, &Params::default()).unwrap();
        assert_eq!(found.digit, golden(5..=24, 13..=16));
    }
}
