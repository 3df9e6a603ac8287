//! Segmentation: which pixels are ink, and which blobs of ink make up the digit.

use super::{Params, Polarity};
use crate::gray::{
    closing, closing_into, first_set, max_filter_into, opening, opening_into, percentiles, transpose, transpose_u8,
    Component, FilterScratch, Gray, GrayBuf, Labeller, Rect, Tally,
};

/// Which way round ink and paper are. Paper is most of the picture and ink the few pixels
/// farthest from it: dark ink when the darkest 2 % lie farther below the median than the
/// brightest 2 % lie above it, whatever the paper's own brightness (grey paper in a dim
/// photo is still paper). When neither side stands out so, the same is asked of the view
/// with uneven light taken out ([`tails_off_plane`]), where one side need only reach 1.5
/// times the other. When neither stands out then either, bright frames are paper.
pub fn guess_polarity(img: Gray) -> Polarity {
    let [low, median, high] = percentiles(img.pixels, [0.02, 0.5, 0.98]).map(i32::from);
    let (dark_tail, bright_tail) = (median - low, high - median);
    if dark_tail > 2 * bright_tail.max(8) {
        return Polarity::DarkOnLight;
    } else if bright_tail > 2 * dark_tail.max(8) {
        return Polarity::LightOnDark;
    }
    let (dark, bright) = tails_off_plane(img);
    if 2 * dark > 3 * bright.max(8) {
        return Polarity::DarkOnLight;
    } else if 2 * bright > 3 * dark.max(8) {
        return Polarity::LightOnDark;
    }
    if median >= 100 {
        Polarity::DarkOnLight
    } else {
        Polarity::LightOnDark
    }
}

/// The dark and bright tails (as in [`guess_polarity`]) of the view's differences from the
/// plane that best fits it (least squares): light falling off across the view, from a lamp
/// to one side or a hand's shadow, spreads paper over a wide range of greys, and the plane
/// takes most of it out. The ink, a few per cent of the view, hardly moves the plane.
fn tails_off_plane(img: Gray) -> (i32, i32) {
    let (w, h) = (img.w, img.h);
    // Least squares v = a + b·x + c·y with x, y centred: the sums separate. Each row's sums
    // of v and x·v are exact integers.
    let (xm, ym) = ((w as f64 - 1.0) / 2.0, (h as f64 - 1.0) / 2.0);
    let (mut sv, mut sxv, mut syv) = (0f64, 0f64, 0f64);
    for y in 0..h {
        let (rv, rxv) = img
            .row(y)
            .iter()
            .enumerate()
            .fold((0u64, 0u64), |(rv, rxv), (x, &v)| (rv + v as u64, rxv + x as u64 * v as u64));
        sv += rv as f64;
        sxv += rxv as f64 - xm * rv as f64;
        syv += (y as f64 - ym) * rv as f64;
    }
    // Sums of the centred x² over a row and of the centred y² over a column.
    let sq = |n: usize| (n * n * n - n) as f64 / 12.0;
    let (sxx, syy) = (sq(w) * h as f64, sq(h) * w as f64);
    let n = (w * h) as f64;
    let (a, b, c) = (sv / n, if sxx > 0.0 { sxv / sxx } else { 0.0 }, if syy > 0.0 { syv / syy } else { 0.0 });
    // Differences of −255..255, halved into 0..255 around 128; the plane in 1/65536ths of
    // a grey level along each row.
    const ONE: f64 = 65536.0;
    let step = (b * ONE).round() as i64;
    let mut tally = Tally::new();
    for y in 0..h {
        let start = ((a + c * (y as f64 - ym) - b * xm - 256.0) * ONE).round() as i64;
        for (x, &v) in img.row(y).iter().enumerate() {
            let diff = ((v as i64) << 16) - (start + step * x as i64);
            tally.add((diff >> 17).clamp(0, 255) as u8);
        }
    }
    let hist = tally.histogram();
    let [low, median, high] = hist.percentiles([0.02, 0.5, 0.98]).map(i32::from);
    (2 * (median - low), 2 * (high - median))
}

/// Share of a camera view that light ink seldom covers: chalk strokes cover a few per cent
/// of it, and only a bold digit close up covers more.
const SHEET_SHARE: f32 = 0.1;
/// Least step above the median for the bright side to be a surface: on a chalkboard, chalk
/// dust and noise put a tenth of the view halfway up a step of up to 15 grey levels.
const SHEET_STEP: i32 = 20;
/// Least share of a sheet's bright pixels that lie deep inside bright (see
/// [`bright_is_sheet`]).
const SHEET_SOLID: f32 = 0.25;

/// Whether the bright side of a camera view that looks like light ink on dark is rather a
/// sheet or card lying on something darker (that the card search did not find: its contrast
/// with the floor too low): a tenth of the view or more lies halfway or more up a clear step
/// above the median, and it is a solid surface: a quarter of it or more lies deep inside
/// bright, bright a 24th of the view away on all four sides. The ink is then dark, on the
/// sheet. The bold strokes of a light digit close up can cover a tenth of the view too, but
/// hardly any of them lies that deep.
pub(super) fn bright_is_sheet(img: Gray) -> bool {
    let [median, high] = percentiles(img.pixels, [0.5, 0.98]).map(i32::from);
    if high - median < SHEET_STEP {
        return false;
    }
    let half_way = ((median + high + 1) / 2) as u8;
    let bright = img.pixels.iter().filter(|&&v| v >= half_way).count();
    if (bright as f32) < SHEET_SHARE * img.pixels.len() as f32 {
        return false;
    }
    let (w, h) = (img.w, img.h);
    let d = (w.max(h) / 24).max(2);
    let is = |x: usize, y: usize| img.pixels[y * w + x] >= half_way;
    let deep = (d..h.saturating_sub(d))
        .flat_map(|y| (d..w.saturating_sub(d)).map(move |x| (x, y)))
        .filter(|&(x, y)| is(x, y) && is(x - d, y) && is(x + d, y) && is(x, y - d) && is(x, y + d))
        .count();
    deep as f32 >= SHEET_SOLID * bright as f32
}

/// Local paper level: a closing (for light ink, an opening) with a window wider than any
/// stroke, so strokes vanish from it but lighting does not.
pub fn background(img: Gray, radius: usize, polarity: Polarity) -> Vec<u8> {
    if polarity == Polarity::LightOnDark {
        opening(img, radius).pixels
    } else {
        closing(img, radius).pixels
    }
}

/// [`background`] into a reused buffer.
pub(super) fn background_into(img: Gray, radius: usize, polarity: Polarity, out: &mut GrayBuf, f: &mut FilterScratch) {
    if polarity == Polarity::LightOnDark {
        opening_into(img, radius, out, f)
    } else {
        closing_into(img, radius, out, f)
    }
}

/// How far each pixel stands out from the background towards ink.
pub fn ink_map(img: &[u8], bg: &[u8], polarity: Polarity) -> Vec<u8> {
    let mut out = Vec::new();
    ink_map_into(img, bg, polarity, &mut out);
    out
}

/// [`ink_map`] into a reused buffer.
pub(super) fn ink_map_into(img: &[u8], bg: &[u8], polarity: Polarity, out: &mut Vec<u8>) {
    out.clear();
    if polarity == Polarity::LightOnDark {
        out.extend(img.iter().zip(bg).map(|(&v, &b)| v.saturating_sub(b)));
    } else {
        out.extend(img.iter().zip(bg).map(|(&v, &b)| b.saturating_sub(v)));
    }
}

/// Hysteresis: pixels of at least `lo` that are connected to a pixel of at least `hi`, so a
/// faint stretch of a stroke stays joined to the rest while faint noise alone does not
/// count.
pub fn hysteresis(ink: &[u8], w: usize, h: usize, lo: u8, hi: u8) -> Vec<u8> {
    let (mut out, mut weak) = (Vec::new(), Vec::new());
    hysteresis_into(ink, w, h, lo, hi, &mut out, &mut weak, &mut Labeller::default());
    out
}

/// [`hysteresis`] into reused buffers.
#[allow(clippy::too_many_arguments)]
pub(super) fn hysteresis_into(
    ink: &[u8],
    w: usize,
    h: usize,
    lo: u8,
    hi: u8,
    out: &mut Vec<u8>,
    weak: &mut Vec<u8>,
    labeller: &mut Labeller,
) {
    weak.clear();
    weak.extend(ink.iter().map(|&v| (v >= lo) as u8));
    labeller.label(weak, ink, w, h);
    labeller.paint(out, |c| c.peak >= hi);
}

/// Removes long, thin marks — ruled lines, grid lines, a pen line across the page — so a
/// digit that touches one is not read together with it. A line either runs out of the
/// picture (for at least `min_frac` of its width or height) or crosses most of it (0.8)
/// and is then very thin; a digit's stroke stays inside the picture. Where a stroke
/// crosses a line the mask is thick there and the stroke stays whole.
pub fn remove_lines(mask: &mut [u8], w: usize, h: usize, min_frac: f32) {
    let line = line_pixels(mask, w, h, min_frac);
    for (m, &is_line) in mask.iter_mut().zip(&line) {
        if is_line {
            *m = 0;
        }
    }
}

/// How a stretch of mask qualifies as a line.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
#[repr(u8)]
pub(super) enum Reach {
    #[default]
    Short,
    /// Crosses most of the picture without leaving it: a line only if very thin.
    Across,
    /// Runs out of the picture: a line if thin.
    Out,
}

/// Thickness (across its direction) up to which a mark can be a line that runs out of the
/// picture, and one that only crosses most of it.
const THIN_OUT: usize = 3;
const THIN_ACROSS: usize = 2;

impl Reach {
    fn thin_enough(self, across: usize) -> bool {
        across < self.thinner_than()
    }

    /// The thickness a line of this reach stays under (0 for none), as a number so a
    /// whole row is checked without branches.
    fn thinner_than(self) -> usize {
        match self {
            Reach::Short => 0,
            Reach::Across => THIN_ACROSS + 1,
            Reach::Out => THIN_OUT + 1,
        }
    }
}

/// Buffers the line search reuses.
#[derive(Debug, Default)]
pub(super) struct LineScratch {
    h_run: Vec<u16>,
    v_run: Vec<u16>,
    h_far: Vec<Reach>,
    v_far: Vec<Reach>,
    t_mask: Vec<u8>,
    t_run: Vec<u16>,
    t_far: Vec<Reach>,
    thin: Vec<u8>,
    labeller: Labeller,
    crossings: Vec<usize>,
    bridged: GrayBuf,
    filter: FilterScratch,
    /// Which columns and rows of the bridged mask have pixels (not 0).
    cols: Vec<u8>,
    rows: Vec<u8>,
    /// Per blob of the bridged mask: might hold a line.
    candidate: Vec<bool>,
    /// The mask in the box around the candidate blobs, their pixels only; its lines.
    sub: Vec<u8>,
    sub_line: Vec<bool>,
    /// True where a pixel belongs to a line.
    pub line: Vec<bool>,
    /// Whether any blob could hold a line: when not, `line` is all false (most views).
    pub searched: bool,
}

/// The pixels of `mask` that belong to long, thin lines (see [`remove_lines`]).
pub fn line_pixels(mask: &[u8], w: usize, h: usize, min_frac: f32) -> Vec<bool> {
    let mut s = LineScratch::default();
    line_pixels_into(mask, w, h, min_frac, &mut s);
    s.line
}

/// [`line_pixels`] into reused buffers (`s.line`).
pub(super) fn line_pixels_into(mask: &[u8], w: usize, h: usize, min_frac: f32, s: &mut LineScratch) {
    // How far a stretch of `len` pixels reaches along a side of `side`, and whether it
    // touches the view's edge.
    let reach_of = |len: usize, at_edge: bool, side: usize| {
        let len = len as f32;
        if len >= min_frac * side as f32 && at_edge {
            Reach::Out
        } else if len >= 0.8 * side as f32 {
            Reach::Across
        } else {
            Reach::Short
        }
    };
    let reach = |start: usize, end: usize, side: usize| reach_of(end - start, start == 0 || end == side, side);
    // Every line below lies within one blob of the mask once its gaps of up to GAP pixels
    // are bridged (a 3×3 dilation bridges them), so a view where no such blob leaves the
    // view over `min_frac` of its side or crosses most of it has no line: most views, and
    // the search is then skipped.
    s.searched = false;
    let Some(view) = Gray::new(mask, w, h) else {
        s.line.clear();
        return;
    };
    max_filter_into(view, 1, &mut s.bridged, &mut s.filter);
    s.line.clear();
    s.line.resize(mask.len(), false);
    // A blob's columns (rows) are one stretch of the columns (rows) the mask has pixels in:
    // when no such stretch reaches far enough, no blob does, and labelling is not needed.
    let longest = |occupied: &[u8]| {
        let side = occupied.len();
        let mut far = Reach::Short;
        let mut x = 0;
        while x < side {
            let start = x;
            while x < side && occupied[x] != 0 {
                x += 1;
            }
            if x > start {
                far = far.max(reach(start, x, side));
            }
            x += 1;
        }
        far
    };
    s.cols.clear();
    s.cols.resize(w, 0);
    s.rows.clear();
    for row in s.bridged.pixels.chunks_exact(w) {
        s.rows.push(row.iter().fold(0, |a, &v| a | v));
        for (c, &v) in s.cols.iter_mut().zip(row) {
            *c |= v;
        }
    }
    if longest(&s.cols) == Reach::Short && longest(&s.rows) == Reach::Short {
        return;
    }
    s.labeller.label(&s.bridged.pixels, &s.bridged.pixels, w, h);
    let might_be_line = |c: &Component| {
        let (left_right, top_bottom) = (c.sides & 0b1100 != 0, c.sides & 0b0011 != 0);
        reach_of(c.bbox.width(), left_right, w) != Reach::Short
            || reach_of(c.bbox.height(), top_bottom, h) != Reach::Short
    };
    s.candidate.clear();
    s.candidate.extend(s.labeller.comps.iter().map(might_be_line));
    let Some(u) = s
        .labeller
        .comps
        .iter()
        .filter(|c| s.candidate[c.label as usize - 1])
        .map(|c| c.bbox)
        .reduce(|a, b| a.union(&b))
    else {
        return;
    };
    s.searched = true;
    // Each run, thin stretch and crossing below lies within one such blob: the search runs
    // on the box around them, on their pixels alone, and gives the same lines as on the
    // whole view. Positions in the box are offset by (x0, y0) in the view.
    let (full_w, full_h, x0, y0) = (w, h, u.x0, u.y0);
    let (w, h) = (u.width(), u.height());
    // The candidates' runs of the bridged mask cover their mask pixels.
    s.sub.clear();
    s.sub.resize(w * h, 0);
    for (y, rx0, rx1, id) in s.labeller.runs() {
        if s.candidate[id] {
            let dst = &mut s.sub[(y - y0) * w + rx0 - x0..(y - y0) * w + rx1 - x0];
            for (d, &m) in dst.iter_mut().zip(&mask[y * full_w + rx0..y * full_w + rx1]) {
                *d = (m != 0) as u8;
            }
        }
    }
    let mask = &s.sub;
    // For each direction: the length of the run through each pixel, and how far the run —
    // bridging gaps of up to GAP pixels, where noise broke a faint line — reaches. Along
    // rows of `m` (`along` wide); columns are rows of the transposed mask.
    const GAP: usize = 2;
    let runs = |m: &[u8], along: usize, off: usize, side: usize, len: &mut Vec<u16>, far: &mut Vec<Reach>| {
        len.resize(m.len(), 0);
        far.resize(m.len(), Reach::Short);
        for ((row, len), far) in m.chunks_exact(along).zip(len.chunks_exact_mut(along)).zip(far.chunks_exact_mut(along))
        {
            len.fill(0);
            far.fill(Reach::Short);
            let mut a = 0;
            while a < along {
                a = first_set(row, a);
                if a >= along {
                    break;
                }
                // A bridged run from `start` to `end`, made of strict runs.
                let start = a;
                let mut end = a;
                loop {
                    let run_start = a;
                    while a < along && row[a] != 0 {
                        a += 1;
                    }
                    len[run_start..a].fill((a - run_start) as u16);
                    end = end.max(a);
                    match (a..(a + GAP + 1).min(along)).find(|&aa| row[aa] != 0) {
                        Some(n) => a = n,
                        None => break,
                    }
                }
                let r = reach(start + off, end + off, side);
                if r != Reach::Short {
                    for (f, &v) in far[start..end].iter_mut().zip(&row[start..end]) {
                        if v != 0 {
                            *f = r;
                        }
                    }
                }
                a = end;
            }
        }
    };
    runs(mask, w, x0, full_w, &mut s.h_run, &mut s.h_far);
    transpose_u8(mask, w, h, &mut s.t_mask);
    runs(&s.t_mask, h, y0, full_h, &mut s.t_run, &mut s.t_far);
    transpose(&s.t_run, h, w, &mut s.v_run);
    transpose(&s.t_far, h, w, &mut s.v_far);
    // Straight lines: a long run, thin across.
    s.sub_line.clear();
    s.sub_line.extend(
        s.h_far
            .iter()
            .zip(&s.v_run)
            .zip(s.v_far.iter().zip(&s.h_run))
            .map(|((&hf, &vr), (&vf, &hr))| ((vr as usize) < hf.thinner_than()) | ((hr as usize) < vf.thinner_than())),
    );
    // Slightly tilted lines break into short runs: follow their thin pixels instead.
    for horizontal in [true, false] {
        let across = if horizontal { &s.v_run } else { &s.h_run };
        s.thin.clear();
        // Off the mask the runs are 0 long.
        s.thin.extend(across.iter().map(|&a| ((1..=THIN_OUT as u16).contains(&a)) as u8));
        s.labeller.label(&s.thin, &s.thin, w, h);
        let long = |c: &Component| {
            let (r, extent) = if horizontal {
                (reach(x0 + c.bbox.x0, x0 + c.bbox.x1 + 1, full_w), c.bbox.width())
            } else {
                (reach(y0 + c.bbox.y0, y0 + c.bbox.y1 + 1, full_h), c.bbox.height())
            };
            // Mean thickness: area over length.
            r.thin_enough(c.area.div_ceil(extent.max(1)))
        };
        if !s.labeller.comps.iter().any(long) {
            continue;
        }
        let comps = &s.labeller.comps;
        for (l, is_line) in s.labeller.labels.iter().zip(s.sub_line.iter_mut()) {
            if *l != 0 && long(&comps[*l as usize - 1]) {
                *is_line = true;
            }
        }
    }
    // Where two lines cross (grid paper) the mask is thick both ways: a pixel on long runs
    // both ways, next to a line pixel, is a crossing. A solid region is on long runs too,
    // but not next to a thin line, except along its edge.
    let line = &s.sub_line;
    let near_line = |i: usize| {
        let (x, y) = (i % w, i / w);
        (x > 0 && line[i - 1]) || (x + 1 < w && line[i + 1]) || (y > 0 && line[i - w]) || (y + 1 < h && line[i + w])
    };
    s.crossings.clear();
    for (row, (hf, vf)) in s.h_far.chunks_exact(w).zip(s.v_far.chunks_exact(w)).enumerate() {
        if hf.iter().zip(vf).all(|(&a, &b)| (a == Reach::Short) | (b == Reach::Short)) {
            continue;
        }
        s.crossings.extend(
            (0..w)
                .map(|x| row * w + x)
                .filter(|&i| s.h_far[i] != Reach::Short && s.v_far[i] != Reach::Short && !line[i] && near_line(i)),
        );
    }
    for &i in &s.crossings {
        s.sub_line[i] = true;
    }
    for (row, sub) in s.line[y0 * full_w..].chunks_exact_mut(full_w).zip(s.sub_line.chunks_exact(w)) {
        row[x0..x0 + w].copy_from_slice(sub);
    }
}

/// How steeply a blob's edge rises to ink: the mean step, in grey levels per working
/// pixel, from outside to inside across its outline. A pen stroke goes from paper to ink
/// within a pixel or two, even out of focus; a shadow or a lighting change takes many.
/// With `smooth`, the ink's 3×3 means are measured instead, at the same pixels: in a noisy
/// low-resolution view the noise alone makes steps of 10 between neighbours whatever the
/// edge, and only the means show a shadow's edge for the gentle slope it is (the dearer
/// measure, asked for only where the first leaves the question open).
fn edge_step(c: &Component, labeller: &Labeller, ink: &[u8], w: usize, h: usize, smooth: bool) -> f32 {
    let labels = &labeller.labels;
    let mean3 = |x: usize, y: usize| {
        let (mut t, mut k) = (0u32, 0u32);
        for yy in y.saturating_sub(1)..(y + 2).min(h) {
            for v in &ink[yy * w + x.saturating_sub(1)..yy * w + (x + 2).min(w)] {
                t += *v as u32;
                k += 1;
            }
        }
        t as f32 / k as f32
    };
    let (mut sum, mut n) = (0f32, 0u32);
    // The blob's pixels in scan order, run by run. Inside a run both row neighbours are
    // the blob's; at its ends the mask stops, so the outer neighbour is not.
    for (y, x0, x1, _) in labeller.runs().filter(|&(.., id)| id + 1 == c.label as usize) {
        for x in x0..x1 {
            let i = y * w + x;
            let mut step: Option<(u8, usize, usize)> = None;
            let mut consider = |nx: usize, ny: usize| {
                let s = ink[i].saturating_sub(ink[ny * w + nx]);
                if step.is_none_or(|(t, ..)| s > t) {
                    step = Some((s, nx, ny));
                }
            };
            if x == x0 && x > 0 {
                consider(x - 1, y);
            }
            if x + 1 == x1 && x1 < w {
                consider(x + 1, y);
            }
            if y > 0 && labels[i - w] != c.label {
                consider(x, y - 1);
            }
            if y + 1 < h && labels[i + w] != c.label {
                consider(x, y + 1);
            }
            if let Some((s, nx, ny)) = step {
                sum += if smooth { (mean3(x, y) - mean3(nx, ny)).max(0.0) } else { s as f32 };
                n += 1;
            }
        }
    }
    if n == 0 {
        255.0
    } else {
        sum / n as f32
    }
}

/// The components that make up the digit: the strongest plausible blob near the centre,
/// plus the pieces close to it (broken strokes). Indices are into the labeller's
/// components; its labels tell the pixels.
#[derive(Debug, Default)]
pub(super) struct Chosen {
    pub bbox: Option<Rect>,
    /// Per component of the labeller: part of the digit.
    pub part: Vec<bool>,
    /// Scratch: the plausible candidates.
    candidates: Vec<usize>,
    card_contact: Vec<usize>,
}

impl Chosen {
    /// Whether a pixel's label is part of the digit.
    pub fn has(&self, label: u32) -> bool {
        label != 0 && self.part[label as usize - 1]
    }
}

/// Made of strokes rather than a solid region (a floor, a shadow): filling at most 60 % of
/// its box.
fn stroky(c: &Component) -> bool {
    c.area * 10 <= c.bbox.width() * c.bbox.height() * 6
}

/// Blobs whose edges rise more gently than this (grey levels per working pixel) are
/// shadows and lighting, not ink. Shadows measure 3-7; a defocused marker stroke 20, a
/// defocused digit in a tiny camera's 160×120 view 8.3. (Noise, which makes steps as steep,
/// is told apart by the step on the 3×3 means below.)
const MIN_EDGE_STEP: f32 = 8.0;
/// The same on the ink's 3×3 means: soft shadow bands in noisy 96×96 views measure 1-4,
/// the digits of the real images and fixtures 9 and more.
const MIN_SMOOTH_STEP: f32 = 5.0;
/// Steeper than noise makes: a thin pencil stroke, whose 3×3 means are faint.
const SURE_EDGE_STEP: f32 = 15.0;
/// The step on the 3×3 means a mark reaching two edges of the view needs to be a close-up
/// digit: shadow bands across noisy low-resolution views measure 5-7, close-up digits cut by
/// two edges 9.6 and more.
const MIN_CROSSING_STEP: f32 = 8.0;
/// The step on the 3×3 means, as a share of a blob's mean ink, that makes its edges sharp
/// whatever its contrast: digits, even faint ones, measure 0.17 and more; shadows, lighting
/// and noise in blank views 0.13 at most.
const REL_SMOOTH_STEP: f32 = 0.15;

/// The step on the 3×3 means, as a share of a mark's mean ink, below which a mark running
/// into the edge of a low-resolution view is a shadow band reaching in, not a digit the edge
/// cuts: shadow bands in noisy 96×96 views measure 0.07-0.125 however dark they are,
/// close-up digits cut by an edge 0.15 and more (blurred, noisy, inverted, shrunk).
const MIN_CUT_REL_STEP: f32 = 0.135;

/// Pieces of a digit's broken stroke lie at most this many working pixels apart (a removed
/// grid line leaves a gap of one or two); clutter near the digit, such as a wood floor's
/// grain, lies farther apart.
const CHAIN_GAP: usize = 3;
/// Rounds of joining pieces to pieces already joined.
const CHAIN_ROUNDS: usize = 8;

/// Picks the digit's blobs from the labelled mask into `chosen`; false when there is none.
#[allow(clippy::too_many_arguments)]
pub(super) fn choose_digit(
    labeller: &Labeller,
    ink: &[u8],
    card: Option<&[u8]>,
    w: usize,
    h: usize,
    p: &Params,
    small: bool,
    low_res: bool,
    faint: bool,
    chosen: &mut Chosen,
) -> bool {
    let comps = &labeller.comps;
    chosen.bbox = None;
    chosen.part.clear();
    chosen.part.resize(comps.len(), false);
    // Contact with the card's edge, when there is one.
    chosen.card_contact.clear();
    chosen.card_contact.resize(comps.len(), 0);
    if let Some(card) = card {
        let out = |xx: usize, yy: usize| card[yy * w + xx] == 0;
        for (y, x0, x1, id) in labeller.runs() {
            for x in x0..x1 {
                if (x > 0 && out(x - 1, y))
                    || (x + 1 < w && out(x + 1, y))
                    || (y > 0 && out(x, y - 1))
                    || (y + 1 < h && out(x, y + 1))
                {
                    chosen.card_contact[id] += 1;
                }
            }
        }
    }
    let speck = (w * h / 2000).max(2);
    chosen.candidates.clear();
    chosen.candidates.extend(
        comps
            .iter()
            .enumerate()
            .filter(|(_, c)| {
                c.area >= speck && {
                    let step = edge_step(c, labeller, ink, w, h, false);
                    // The dearer measure, on the 3×3 means, is taken only where it is asked.
                    let smooth_once = std::cell::OnceCell::new();
                    let smooth = || *smooth_once.get_or_init(|| edge_step(c, labeller, ink, w, h, true));
                    let mean_ink = c.mass as f32 / c.area as f32;
                    // In a faint view, a mark is measured against its own ink instead: a
                    // light pencil stroke rises to its ink as steeply, for its depth, as a
                    // dark one. (The smoothed step is below the plain one: it is taken only
                    // where it can pass.)
                    let relative = if faint { REL_SMOOTH_STEP * mean_ink } else { f32::INFINITY };
                    let sharp = step >= SURE_EDGE_STEP
                        || ((step >= MIN_EDGE_STEP || step >= relative)
                            && ((step >= MIN_EDGE_STEP && smooth() >= MIN_SMOOTH_STEP) || smooth() >= relative));
                    // A dark shadow band reaching in from the edge of a small view passes
                    // those steps in grey levels; only against its depth is its edge soft.
                    sharp && !(low_res && c.sides != 0 && smooth() < MIN_CUT_REL_STEP * mean_ink)
                }
            })
            .map(|(i, _)| i),
    );
    // A crop: a small image, or one whose biggest mark fills most of its height (in a
    // low-resolution view, where a close-up digit is often cut by an edge, 70 % of it) and
    // is made of strokes rather than a solid region (a floor, a shadow).
    let biggest = chosen.candidates.iter().map(|&i| &comps[i]).max_by_key(|c| c.mass);
    let crop = small
        || biggest.is_some_and(|c| {
            let fills = c.bbox.height() * 10 >= h * if low_res { 7 } else { 8 };
            // A digit may be cut by the edges of a tight crop, but only here and there;
            // what lies around a sheet held up to the camera runs along them, over more
            // than three eighths of the way round, or over more than three quarters of its
            // own width and height (the room in a wedge beside the sheet, the floor around
            // a card's corner). A close-up digit cut by an edge reaches further from it than
            // it runs along it, even a 3 whose bottom stroke is cut lengthwise.
            let rim =
                c.border_contact * 4 > (w + h) * 3 || c.border_contact * 4 > (c.bbox.width() + c.bbox.height()) * 3;
            // A mark reaching two edges of the view, across it or across a corner, is a
            // close-up digit only if it has a pen's sharp edges; a soft shadow band crossing
            // a noisy view is not one.
            let crosses = c.sides.count_ones() >= 2;
            let soft = || edge_step(c, labeller, ink, w, h, true) < MIN_CROSSING_STEP;
            fills && stroky(c) && !rim && card.is_none() && !(crosses && soft())
        });
    // Running along an edge (a table's, the frame's) or across the picture from one edge to
    // another (a shadow, a table edge) is not a digit; a digit written large may still
    // touch one edge at a point. Inside a card, whose edge is already cut away, only a blob
    // hugging the edge for half its outline is an edge, or one that reaches both the card's
    // edge and the view's: floor the card's outline took in (between the card and a hand
    // coming in at the bottom), not something written on the card.
    // A stroke that runs into the edge (a digit written to the paper's edge, blurred wide)
    // meets it over no more than about twice its thickness — its area over its length —
    // and reaches from it well into the view.
    let card_contact = &chosen.card_contact;
    let along_edge = |c: &Component| {
        let n = c.border_contact;
        let k = card_contact[c.label as usize - 1];
        let edges = c.sides.count_ones();
        let long = c.bbox.width().max(c.bbox.height());
        let depth = if c.sides & 0b0011 != 0 { c.bbox.height() } else { c.bbox.width() };
        let stroke_end = stroky(c) && n * long <= 2 * c.area && depth * 2 >= n * 5;
        // In a low-resolution close-up, a digit cut by one edge reaches from it past the
        // middle of the view, further than it runs along it.
        let across = if c.sides & 0b0011 != 0 { h } else { w };
        let cut_digit = low_res && edges == 1 && stroky(c) && depth * 2 >= across && depth * 10 >= n * 13;
        (!crop && ((n > 3 && n * 4 > long && !stroke_end && !cut_digit) || edges >= 2))
            || k * 2 > c.bbox.width() + c.bbox.height()
            || (k > 0 && n > 0)
    };
    chosen.candidates.retain(|&i| !along_edge(&comps[i]));
    let min_h = ((h as f32 * p.min_height).round() as usize).max(2);
    let max_h = if crop { h } else { (h as f32 * p.max_height).round() as usize };
    let (cx, cy) = (w as f32 / 2.0, h as f32 / 2.0);
    let diag = ((w * w + h * h) as f32).sqrt();
    let score = |c: &Component| {
        let (mx, my) = ((c.bbox.x0 + c.bbox.x1) as f32 / 2.0, (c.bbox.y0 + c.bbox.y1) as f32 / 2.0);
        let dist = ((mx - cx).powi(2) + (my - cy).powi(2)).sqrt() / diag;
        c.mass as f32 * (1.0 - dist)
    };
    let Some(best) = chosen.candidates.iter().map(|&i| &comps[i]).max_by(|a, b| score(a).total_cmp(&score(b))) else {
        return false;
    };
    // Pieces within a quarter of the digit's size of its box belong to it.
    let margin = best.bbox.height().max(best.bbox.width()) / 4 + 1;
    let near = |c: &Rect, to: &Rect, margin: usize| {
        c.x1 + margin >= to.x0 && c.x0 <= to.x1 + margin && c.y1 + margin >= to.y0 && c.y0 <= to.y1 + margin
    };
    let mut bbox = best.bbox;
    for &i in &chosen.candidates {
        if near(&comps[i].bbox, &best.bbox, margin) {
            chosen.part[i] = true;
            bbox = bbox.union(&comps[i].bbox);
        }
    }
    // So do pieces a few pixels from those, and from them in turn: a thin stroke broken in
    // many places (where the grid lines crossing it were taken out) is a chain of pieces
    // reaching beyond the first one's margin. (A few rounds: each may add many pieces.)
    for _ in 0..CHAIN_ROUNDS {
        let mut grew = false;
        for k in 0..chosen.candidates.len() {
            let i = chosen.candidates[k];
            if !chosen.part[i]
                && chosen.candidates.iter().any(|&j| chosen.part[j] && near(&comps[i].bbox, &comps[j].bbox, CHAIN_GAP))
            {
                chosen.part[i] = true;
                bbox = bbox.union(&comps[i].bbox);
                grew = true;
            }
        }
        if !grew {
            break;
        }
    }
    if bbox.height() < min_h || bbox.height() > max_h {
        return false;
    }
    chosen.bbox = Some(bbox);
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn polarity_follows_the_ink_not_the_papers_brightness() {
        // A field of `paper` with 5 % of `ink` pixels.
        let view =
            |paper: u8, ink: u8| -> Vec<u8> { (0..1000).map(|i| if i % 20 == 0 { ink } else { paper }).collect() };
        fn v(px: &[u8]) -> Gray<'_> {
            Gray::new(px, px.len() / 10, 10).unwrap()
        }
        assert_eq!(guess_polarity(v(&view(200, 30))), Polarity::DarkOnLight, "pen on white paper");
        assert_eq!(guess_polarity(v(&view(88, 35))), Polarity::DarkOnLight, "pen on grey paper, dimly lit");
        assert_eq!(guess_polarity(v(&view(40, 210))), Polarity::LightOnDark, "chalk on a board");
        assert_eq!(guess_polarity(v(&view(0, 255))), Polarity::LightOnDark, "MNIST");
        // Nothing stands out: bright is paper, dark is not.
        assert_eq!(guess_polarity(v(&[150; 100])), Polarity::DarkOnLight);
        assert_eq!(guess_polarity(v(&[60; 100])), Polarity::LightOnDark);
    }

    #[test]
    fn polarity_under_light_falling_off_across_the_view() {
        // Paper lit from the right, from `left` to `left + 120` grey levels across a 100×60
        // view, with a vertical stroke every 20 columns `ink` levels off the paper.
        let view = |left: i32, ink: i32| -> Vec<u8> {
            (0..100 * 60)
                .map(|i: i32| {
                    let x = i % 100;
                    let paper = left + x * 120 / 99;
                    (if x % 20 == 10 { paper + ink } else { paper }).clamp(0, 255) as u8
                })
                .collect()
        };
        let guess = |px: &[u8]| guess_polarity(Gray::new(px, 100, 60).unwrap());
        // The paper's own spread hides the ink's tail in the view's grey levels, and the
        // paper's median would say light ink (a dim view) or dark (a bright one).
        let (dark, bright) = (view(30, -50), view(90, 50));
        assert_eq!(guess(&dark), Polarity::DarkOnLight, "dark ink, the paper's median under 100");
        assert_eq!(guess(&bright), Polarity::LightOnDark, "light ink, the board's median over 100");
    }

    #[test]
    fn a_bright_tenth_of_the_view_is_a_sheet_not_ink() {
        // A 120×100 dark floor of 85 with a `cw`×`ch` card of `bright` on it.
        let (w, h) = (120, 100);
        let card = |cw: usize, ch: usize, bright: u8| -> Vec<u8> {
            (0..w * h).map(|i| if i % w < cw && i / w < ch { bright } else { 85 }).collect()
        };
        let sheet = |v: &[u8]| bright_is_sheet(Gray::new(v, w, h).unwrap());
        assert!(sheet(&card(60, 60, 125)), "a grey card on a darker floor");
        assert!(sheet(&card(40, 31, 110)), "a tenth of the view, 25 levels up");
        assert!(!sheet(&card(40, 29, 125)), "less than a tenth");
        assert!(!sheet(&card(60, 60, 100)), "chalk dust: too small a step");
        assert!(!sheet(&[85; 120 * 100]), "nothing bright");
        // Strokes 8 px wide covering 16 % of the view: a bold light digit close up.
        let strokes: Vec<u8> =
            (0..w * h).map(|i| if (i % w) % 50 < 8 || (i / w) % 50 < 8 { 210 } else { 85 }).collect();
        assert!(strokes.iter().filter(|&&v| v == 210).count() * 10 > w * h);
        assert!(!sheet(&strokes), "bold chalk strokes");
    }

    #[test]
    fn hysteresis_keeps_faint_parts_joined_to_strong_ones() {
        // A stroke strong at one end and faint at the other, and a faint blob alone.
        let ink = [90, 60, 30, 30, 0, 30, 30, 0];
        assert_eq!(hysteresis(&ink, 8, 1, 25, 80), vec![1, 1, 1, 1, 0, 0, 0, 0]);
    }

    #[test]
    fn long_thin_lines_go_and_crossing_strokes_stay() {
        // A 1-px ruled line across a 40×20 mask, crossed by a 4-px wide vertical stroke.
        let (w, h) = (40, 20);
        let mut mask = vec![0u8; w * h];
        for x in 0..w {
            mask[10 * w + x] = 1;
        }
        for y in 4..16 {
            for x in 18..22 {
                mask[y * w + x] = 1;
            }
        }
        remove_lines(&mut mask, w, h, 0.35);
        assert_eq!(mask[10 * w + 5], 0, "the line is gone");
        assert_eq!(mask[10 * w + 19], 1, "where the stroke crosses it, the stroke stays");
        assert!((4..16).all(|y| mask[y * w + 20] == 1), "the stroke is whole");
        // A thin stroke inside the picture (a 7's bar, drawn with a fine pen) is not a line,
        // even when it is long.
        let mut bar = vec![0u8; w * h];
        for x in 5..35 {
            bar[5 * w + x] = 1;
        }
        let before = bar.clone();
        remove_lines(&mut bar, w, h, 0.35);
        assert_eq!(bar, before);
    }

    #[test]
    fn a_faint_line_broken_by_noise_still_goes() {
        let (w, h) = (60, 10);
        let mut mask = vec![0u8; w * h];
        for x in 0..w {
            // Gaps of one and two pixels here and there.
            mask[5 * w + x] = ![3, 10, 11, 20, 33, 34, 47].contains(&x) as u8;
        }
        remove_lines(&mut mask, w, h, 0.35);
        assert_eq!(mask, vec![0; w * h]);
    }

    #[test]
    fn grid_lines_go_too() {
        let (w, h) = (40, 30);
        let mut mask: Vec<u8> = (0..w * h).map(|i| (i % w % 8 == 0 || i / w % 8 == 0) as u8).collect();
        remove_lines(&mut mask, w, h, 0.35);
        assert_eq!(mask, vec![0; w * h]);
    }

    #[test]
    fn a_line_is_measured_against_the_whole_view() {
        // The search runs on the box around the blobs that might be lines; a line's reach
        // is still its length against the view's side, and leaving the view means its
        // edge. In a 160×120 view: a line from x = 90 out of the right edge (70 px, over
        // 0.35 of the width) goes; one from x = 110 (50 px) is too short and stays, as
        // does a stroke in the middle; a line down from the top edge (60 of 120) goes.
        let (w, h) = (160, 120);
        let mut mask = vec![0u8; w * h];
        mask[30 * w + 90..31 * w].fill(1);
        mask[90 * w + 110..91 * w].fill(1);
        for y in 0..60 {
            mask[y * w + 20] = 1;
        }
        for y in 50..80 {
            mask[y * w + 60..y * w + 64].fill(1);
        }
        let line = line_pixels(&mask, w, h, 0.35);
        assert!((90..160).all(|x| line[30 * w + x]), "the long line");
        assert!((110..160).all(|x| !line[90 * w + x]), "the short one");
        assert!((0..60).all(|y| line[y * w + 20]), "the line from the top");
        assert!((50..80).all(|y| !line[y * w + 61]), "the stroke");
    }

    #[test]
    fn a_slightly_tilted_line_goes() {
        // 3° of tilt: rows change every 19 pixels, so no single row holds a long run.
        let (w, h) = (80, 20);
        let mut mask = vec![0u8; w * h];
        for x in 0..w {
            mask[(5 + x / 19) * w + x] = 1;
        }
        remove_lines(&mut mask, w, h, 0.35);
        assert_eq!(mask, vec![0; w * h]);
    }
}
