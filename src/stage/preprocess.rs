//! The preprocess stage: a grayscale camera frame of any size → the 28×28 MNIST-style digit
//! the model expects (white ink on black, longest side 20 px, centred by centre of mass).
//!
//! Pure functions on plain buffers. Segmentation does not trust global brightness: ink is
//! measured against a local background estimate, so lighting gradients do not become ink,
//! and only connected components that look like a digit are kept.

use crate::data::{PIXELS, SIDE};

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
    pub min_contrast: u8,
    /// Smallest digit height as a fraction of the frame height.
    pub min_height: f32,
    /// Largest digit height as a fraction of the frame height.
    pub max_height: f32,
    /// Segmentation runs on a copy whose longest side is at most this many pixels.
    pub working_side: usize,
}

impl Default for Params {
    fn default() -> Self {
        Params { polarity: Polarity::Auto, min_contrast: 40, min_height: 0.08, max_height: 0.95, working_side: 160 }
    }
}

/// An inclusive pixel rectangle.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Rect {
    pub x0: usize,
    pub y0: usize,
    pub x1: usize,
    pub y1: usize,
}

impl Rect {
    pub fn width(&self) -> usize {
        self.x1 - self.x0 + 1
    }
    pub fn height(&self) -> usize {
        self.y1 - self.y0 + 1
    }
    fn union(&self, o: &Rect) -> Rect {
        Rect { x0: self.x0.min(o.x0), y0: self.y0.min(o.y0), x1: self.x1.max(o.x1), y1: self.y1.max(o.y1) }
    }
}

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
    pub threshold: u8,
    /// 1 inside the card or sheet the digit was looked for on, when one was found.
    pub card: Option<Vec<u8>>,
}

/// Frame → 28×28 digit, or why there is none.
pub fn preprocess(frame: &[u8], w: usize, h: usize, p: &Params) -> Result<Found, NoDigit> {
    preprocess_detailed(frame, w, h, p).0
}

/// [`preprocess`], also returning the intermediate segmentation when there was one.
pub fn preprocess_detailed(
    frame: &[u8],
    w: usize,
    h: usize,
    p: &Params,
) -> (Result<Found, NoDigit>, Option<Segmentation>) {
    if w == 0 || h == 0 || frame.len() != w * h {
        return (Err(NoDigit::BadFrame), None);
    }
    let factor = w.max(h).div_ceil(p.working_side.max(1)).max(1);
    let (work, ww, wh) = downscale_area(frame, w, h, factor);
    let radius = (ww.max(wh) / 16).max(4);
    // A card or sheet lying on a darker floor: look for the digit only on it, as dark ink,
    // so the card's edges are never taken for strokes.
    let card = match p.polarity {
        Polarity::Auto | Polarity::DarkOnLight => find_card(&work, ww, wh, radius),
        Polarity::LightOnDark => None,
    };
    let polarity = match (p.polarity, &card) {
        (_, Some(_)) => Polarity::DarkOnLight,
        (Polarity::Auto, None) => guess_polarity(&work),
        (other, None) => other,
    };
    let bg = background(&work, ww, wh, radius, polarity);
    let mut ink = ink_map(&work, &bg, polarity);
    if let Some(region) = &card {
        for (v, &inside) in ink.iter_mut().zip(region) {
            if inside == 0 {
                *v = 0;
            }
        }
    }
    // Not the max, so a few hot pixels cannot set the scale.
    let peak = kth_largest(&ink, (ink.len() / 5000).max(3));
    let threshold = p.min_contrast.max((peak as f32 * 0.4) as u8);
    let mask: Vec<u8> = ink.iter().map(|&v| (v >= threshold && peak >= p.min_contrast) as u8).collect();
    let seg = Segmentation { work_w: ww, work_h: wh, factor, ink, mask, threshold, card };
    if peak < p.min_contrast {
        return (Err(NoDigit::NoInk), Some(seg));
    }
    let Some(chosen) = choose_digit(&seg, p) else {
        return (Err(NoDigit::NoDigitShape), Some(seg));
    };
    let result = extract(frame, w, h, &bg, &seg, &chosen, polarity);
    (result, Some(seg))
}

/// Box-average downscale by an integer factor (partial cells at the edges average what
/// they cover). Returns the image and its size.
pub fn downscale_area(src: &[u8], w: usize, h: usize, f: usize) -> (Vec<u8>, usize, usize) {
    let (ow, oh) = (w.div_ceil(f), h.div_ceil(f));
    let mut out = Vec::with_capacity(ow * oh);
    // Column sums over the f rows of a band first (a vectorisable add per pixel), then the
    // sums across each cell's columns, once per band.
    let mut cols = vec![0u32; w];
    for oy in 0..oh {
        cols.fill(0);
        let rows = (oy * f)..((oy + 1) * f).min(h);
        let n_rows = rows.len() as u32;
        for y in rows {
            for (c, &v) in cols.iter_mut().zip(&src[y * w..(y + 1) * w]) {
                *c += v as u32;
            }
        }
        for cell in cols.chunks(f) {
            let n = n_rows * cell.len() as u32;
            out.push(((cell.iter().sum::<u32>() + n / 2) / n) as u8);
        }
    }
    (out, ow, oh)
}

/// Otsu's threshold of a histogram: the level that best splits it into two classes.
/// Returns the threshold and the two classes' means.
pub fn otsu(img: &[u8]) -> (u8, f32, f32) {
    let mut hist = [0u64; 256];
    for &v in img {
        hist[v as usize] += 1;
    }
    let total = img.len() as f64;
    let sum_all: f64 = hist.iter().enumerate().map(|(v, &n)| v as f64 * n as f64).sum();
    let (mut best, mut best_var) = ((0u8, 0f32, 0f32), -1.0);
    let (mut n0, mut sum0) = (0f64, 0f64);
    for (t, &count) in hist.iter().enumerate().take(255) {
        n0 += count as f64;
        sum0 += t as f64 * count as f64;
        let n1 = total - n0;
        if n0 == 0.0 || n1 == 0.0 {
            continue;
        }
        let (m0, m1) = (sum0 / n0, (sum_all - sum0) / n1);
        let var = n0 * n1 * (m0 - m1) * (m0 - m1);
        if var > best_var {
            best_var = var;
            best = ((t + 1) as u8, m0 as f32, m1 as f32);
        }
    }
    best
}

/// The card or sheet of paper in view when it lies on something darker: a large bright
/// region with a sharp edge, found on the image with strokes closed over. Returns its mask,
/// shrunk by two pixels, or None when the paper fills the view or there is no sharp edge
/// (a lighting gradient or a soft shadow is not a card).
pub fn find_card(work: &[u8], w: usize, h: usize, radius: usize) -> Option<Vec<u8>> {
    // At half the working resolution: a card is large, and this runs on every frame.
    let (small, sw, sh) = downscale_area(work, w, h, 2);
    // A card is looked for in camera frames, not in digit-sized images: there a white
    // digit on black would be taken for a card.
    const MIN_CARD_SIDE: usize = 12;
    if sw.min(sh) < 3 * MIN_CARD_SIDE {
        return None;
    }
    let r = (radius / 2).max(2);
    // Closing removes dark strokes on the card; opening then removes bright strokes on a
    // dark background (MNIST-style ink), which are not cards.
    let closed = local_extreme(&local_extreme(&small, sw, sh, r, u8::max), sw, sh, r, u8::min);
    let closed = local_extreme(&local_extreme(&closed, sw, sh, r, u8::min), sw, sh, r, u8::max);
    let (full_w, full_h) = (w, h);
    let (w, h) = (sw, sh);
    let (t, dark_mean, bright_mean) = otsu(&closed);
    if bright_mean - dark_mean < 40.0 {
        return None;
    }
    let bright: Vec<u8> = closed.iter().map(|&v| (v >= t) as u8).collect();
    let (labels, comps) = components(&bright, &closed, w, h);
    let card = comps.iter().max_by_key(|c| c.area)?;
    let frac = card.area as f32 / (w * h) as f32;
    if !(0.04..=0.92).contains(&frac) || card.bbox.width().min(card.bbox.height()) < MIN_CARD_SIDE {
        return None;
    }
    // Sharpness: the mean step across the region's edge, in grey levels per pixel.
    let (mut steps, mut n) = (0u64, 0u64);
    for y in 1..h - 1 {
        for x in 1..w - 1 {
            let i = y * w + x;
            if labels[i] != card.label {
                continue;
            }
            let step = [i - 1, i + 1, i - w, i + w]
                .iter()
                .filter(|&&j| labels[j] != card.label)
                .map(|&j| closed[i].saturating_sub(closed[j]))
                .max();
            if let Some(s) = step {
                steps += s as u64;
                n += 1;
            }
        }
    }
    if n == 0 || (steps as f32 / n as f32) < 12.0 {
        return None;
    }
    let region: Vec<u8> = labels.iter().map(|&l| if l == card.label { 255 } else { 0 }).collect();
    // Shrunk by two pixels here (four at working resolution) to stay clear of the edge.
    let shrunk = local_extreme(&region, w, h, 2, u8::min);
    let mut mask = vec![0u8; full_w * full_h];
    for (y, row) in mask.chunks_exact_mut(full_w).enumerate() {
        let src = &shrunk[(y / 2) * w..(y / 2 + 1) * w];
        for (x, m) in row.iter_mut().enumerate() {
            *m = (src[x / 2] > 0) as u8;
        }
    }
    Some(mask)
}

/// Bright frames are paper with dark ink; dark frames hold light ink.
pub fn guess_polarity(img: &[u8]) -> Polarity {
    if percentile(img, 0.5) >= 100 {
        Polarity::DarkOnLight
    } else {
        Polarity::LightOnDark
    }
}

/// The value below which `q` of the pixels lie (q in 0..=1).
pub fn percentile(img: &[u8], q: f32) -> u8 {
    let mut hist = [0usize; 256];
    for &v in img {
        hist[v as usize] += 1;
    }
    let target = ((img.len() as f32 * q).ceil() as usize).clamp(1, img.len().max(1));
    let mut acc = 0;
    for (v, &n) in hist.iter().enumerate() {
        acc += n;
        if acc >= target {
            return v as u8;
        }
    }
    255
}

/// The k-th largest value (k from 1), 0 when there are fewer than k values.
pub fn kth_largest(img: &[u8], k: usize) -> u8 {
    let mut hist = [0usize; 256];
    for &v in img {
        hist[v as usize] += 1;
    }
    let mut acc = 0;
    for v in (0..256).rev() {
        acc += hist[v];
        if acc >= k {
            return v as u8;
        }
    }
    0
}

/// Local paper level: the brightest (or, for light ink, darkest) value within `radius`,
/// a window wider than any stroke, so strokes vanish from it but lighting does not.
pub fn background(img: &[u8], w: usize, h: usize, radius: usize, polarity: Polarity) -> Vec<u8> {
    if polarity == Polarity::LightOnDark {
        local_extreme(img, w, h, radius, u8::min)
    } else {
        local_extreme(img, w, h, radius, u8::max)
    }
}

/// Separable (2r+1)×(2r+1) max or min filter. Generic over `pick` so it inlines.
fn local_extreme(img: &[u8], w: usize, h: usize, radius: usize, pick: impl Fn(u8, u8) -> u8 + Copy) -> Vec<u8> {
    let mut tmp = vec![0u8; img.len()];
    let mut scratch = (Vec::new(), Vec::new());
    for (src, dst) in img.chunks_exact(w).zip(tmp.chunks_exact_mut(w)) {
        window_extreme(src, radius, pick, &mut scratch, dst);
    }
    // Columns: transpose, filter the rows, transpose back.
    let mut t = vec![0u8; img.len()];
    for y in 0..h {
        for x in 0..w {
            t[x * h + y] = tmp[y * w + x];
        }
    }
    let mut t2 = vec![0u8; img.len()];
    for (src, dst) in t.chunks_exact(h).zip(t2.chunks_exact_mut(h)) {
        window_extreme(src, radius, pick, &mut scratch, dst);
    }
    for y in 0..h {
        for x in 0..w {
            tmp[y * w + x] = t2[x * h + y];
        }
    }
    tmp
}

/// `out[i] = pick(v[i-r ..= i+r])`, clipped at the ends, in three operations per value
/// whatever the radius (van Herk / Gil–Werman: running extremes within blocks of 2r+1,
/// from the left and from the right).
fn window_extreme(
    v: &[u8],
    r: usize,
    pick: impl Fn(u8, u8) -> u8,
    (fwd, bwd): &mut (Vec<u8>, Vec<u8>),
    out: &mut [u8],
) {
    let n = v.len();
    let k = 2 * r + 1;
    fwd.clear();
    fwd.extend_from_slice(v);
    bwd.clear();
    bwd.extend_from_slice(v);
    for (f, b) in fwd.chunks_mut(k).zip(bwd.chunks_mut(k)) {
        for i in 1..f.len() {
            f[i] = pick(f[i - 1], f[i]);
        }
        for i in (0..b.len() - 1).rev() {
            b[i] = pick(b[i + 1], b[i]);
        }
    }
    for (i, o) in out.iter_mut().enumerate() {
        *o = if i + r >= n {
            // Right edge: the window is cut short at the last value.
            let lo = i.saturating_sub(r);
            if lo / k == (n - 1) / k {
                bwd[lo]
            } else {
                pick(bwd[lo], fwd[n - 1])
            }
        } else if i < r {
            // Left edge: the window starts at 0, a block start, and is shorter than a block.
            fwd[i + r]
        } else {
            // A whole window: the end of one block and the start of the next (or exactly
            // one block, where both halves give the block's extreme).
            pick(bwd[i - r], fwd[i + r])
        };
    }
}

/// How far each pixel stands out from the background towards ink.
pub fn ink_map(img: &[u8], bg: &[u8], polarity: Polarity) -> Vec<u8> {
    img.iter()
        .zip(bg)
        .map(|(&v, &b)| if polarity == Polarity::LightOnDark { v.saturating_sub(b) } else { b.saturating_sub(v) })
        .collect()
}

/// One 8-connected blob of ink pixels in the working image.
#[derive(Clone, Debug)]
pub struct Component {
    pub bbox: Rect,
    pub area: usize,
    pub mass: u64,
    /// Pixels on the frame's edge.
    pub border_contact: usize,
    pub label: u32,
}

/// Labels 8-connected components of a 0/1 mask. Returns a label per pixel (0 = none,
/// components numbered from 1) and the components.
pub fn components(mask: &[u8], ink: &[u8], w: usize, h: usize) -> (Vec<u32>, Vec<Component>) {
    let mut labels = vec![0u32; mask.len()];
    let mut comps = Vec::new();
    let mut stack = Vec::new();
    for start in 0..mask.len() {
        if mask[start] == 0 || labels[start] != 0 {
            continue;
        }
        let label = comps.len() as u32 + 1;
        let (sx, sy) = (start % w, start / w);
        let mut c =
            Component { bbox: Rect { x0: sx, y0: sy, x1: sx, y1: sy }, area: 0, mass: 0, border_contact: 0, label };
        labels[start] = label;
        stack.push(start);
        while let Some(i) = stack.pop() {
            let (x, y) = (i % w, i / w);
            c.area += 1;
            c.mass += ink[i] as u64;
            c.bbox = c.bbox.union(&Rect { x0: x, y0: y, x1: x, y1: y });
            c.border_contact += (x == 0 || y == 0 || x == w - 1 || y == h - 1) as usize;
            for dy in -1i32..=1 {
                for dx in -1i32..=1 {
                    let (nx, ny) = (x as i32 + dx, y as i32 + dy);
                    if nx < 0 || ny < 0 || nx >= w as i32 || ny >= h as i32 {
                        continue;
                    }
                    let j = ny as usize * w + nx as usize;
                    if mask[j] != 0 && labels[j] == 0 {
                        labels[j] = label;
                        stack.push(j);
                    }
                }
            }
        }
        comps.push(c);
    }
    (labels, comps)
}

/// The components that make up the digit: the strongest plausible blob near the centre,
/// plus the pieces close to it (broken strokes). Border-touching blobs and specks are not
/// digits.
struct Chosen {
    bbox: Rect,
    labels: Vec<u32>,
    pixel_labels: Vec<u32>,
}

fn choose_digit(seg: &Segmentation, p: &Params) -> Option<Chosen> {
    let (w, h) = (seg.work_w, seg.work_h);
    let (pixel_labels, comps) = components(&seg.mask, &seg.ink, w, h);
    // Contact with the card's edge, when there is one.
    let mut card_contact = vec![0usize; comps.len()];
    if let Some(card) = &seg.card {
        for y in 0..h {
            for x in 0..w {
                let l = pixel_labels[y * w + x];
                if l == 0 {
                    continue;
                }
                let out = |xx: usize, yy: usize| card[yy * w + xx] == 0;
                if (x > 0 && out(x - 1, y))
                    || (x + 1 < w && out(x + 1, y))
                    || (y > 0 && out(x, y - 1))
                    || (y + 1 < h && out(x, y + 1))
                {
                    card_contact[l as usize - 1] += 1;
                }
            }
        }
    }
    // Running along an edge (a table's, the frame's) is not a digit; a digit written large
    // may still touch one at a point. Inside a card, whose edge is already cut away, only a
    // blob hugging the edge for half its outline is an edge.
    let along_edge = |c: &Component| {
        let n = c.border_contact;
        let k = card_contact[c.label as usize - 1];
        (n > 3 && n * 4 > c.bbox.width().max(c.bbox.height())) || k * 2 > c.bbox.width() + c.bbox.height()
    };
    let min_h = ((h as f32 * p.min_height).round() as usize).max(2);
    let max_h = (h as f32 * p.max_height).round() as usize;
    let speck = (w * h / 2000).max(2);
    let (cx, cy) = (w as f32 / 2.0, h as f32 / 2.0);
    let diag = ((w * w + h * h) as f32).sqrt();
    let candidates: Vec<&Component> = comps.iter().filter(|c| !along_edge(c) && c.area >= speck).collect();
    let best = candidates.iter().max_by(|a, b| {
        let score = |c: &Component| {
            let (mx, my) = ((c.bbox.x0 + c.bbox.x1) as f32 / 2.0, (c.bbox.y0 + c.bbox.y1) as f32 / 2.0);
            let dist = ((mx - cx).powi(2) + (my - cy).powi(2)).sqrt() / diag;
            c.mass as f32 * (1.0 - dist)
        };
        score(a).total_cmp(&score(b))
    })?;
    // Pieces within a quarter of the digit's size of its box belong to it.
    let margin = best.bbox.height().max(best.bbox.width()) / 4 + 1;
    let near = |c: &Component| {
        c.bbox.x1 + margin >= best.bbox.x0
            && c.bbox.x0 <= best.bbox.x1 + margin
            && c.bbox.y1 + margin >= best.bbox.y0
            && c.bbox.y0 <= best.bbox.y1 + margin
    };
    let parts: Vec<&&Component> = candidates.iter().filter(|c| near(c)).collect();
    let bbox = parts.iter().fold(best.bbox, |r, c| r.union(&c.bbox));
    if bbox.height() < min_h || bbox.height() > max_h {
        return None;
    }
    Some(Chosen { bbox, labels: parts.iter().map(|c| c.label).collect(), pixel_labels })
}

/// Cuts the chosen digit out of the full-resolution frame and normalises it.
fn extract(
    frame: &[u8],
    w: usize,
    h: usize,
    bg: &[u8],
    seg: &Segmentation,
    chosen: &Chosen,
    polarity: Polarity,
) -> Result<Found, NoDigit> {
    let f = seg.factor;
    // The chosen components, grown by one working pixel so anti-aliased edges survive.
    let (ww, wh) = (seg.work_w, seg.work_h);
    let mut grown = vec![false; ww * wh];
    for (i, l) in chosen.pixel_labels.iter().enumerate() {
        if *l != 0 && chosen.labels.contains(l) {
            let (x, y) = (i % ww, i / ww);
            for gy in y.saturating_sub(1)..=(y + 1).min(wh - 1) {
                for gx in x.saturating_sub(1)..=(x + 1).min(ww - 1) {
                    grown[gy * ww + gx] = true;
                }
            }
        }
    }
    let b = chosen.bbox;
    let (fx0, fy0) = ((b.x0.saturating_sub(1)) * f, (b.y0.saturating_sub(1)) * f);
    let (fx1, fy1) = (((b.x1 + 2) * f).min(w) - 1, ((b.y1 + 2) * f).min(h) - 1);
    let (cw, ch) = (fx1 - fx0 + 1, fy1 - fy0 + 1);
    let lo = seg.threshold / 2;
    let light = polarity == Polarity::LightOnDark;
    // Working-image column of each crop column, so the loop below divides nothing.
    let col_w: Vec<usize> = (fx0..=fx1).map(|gx| gx / f).collect();
    let mut ink = vec![0u8; cw * ch];
    let mut strong = [0u32; 256];
    for (y, ink_row) in ink.chunks_exact_mut(cw).enumerate() {
        let (gy, wy) = (fy0 + y, (fy0 + y) / f);
        let frame_row = &frame[gy * w + fx0..=gy * w + fx1];
        let (bg_row, grown_row) = (&bg[wy * ww..(wy + 1) * ww], &grown[wy * ww..(wy + 1) * ww]);
        for ((out, &v), &wx) in ink_row.iter_mut().zip(frame_row).zip(&col_w) {
            if grown_row[wx] {
                let b = bg_row[wx];
                let d = if light { v.saturating_sub(b) } else { b.saturating_sub(v) };
                if d > lo {
                    *out = d;
                    if d >= seg.threshold {
                        strong[d as usize] += 1;
                    }
                }
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
    let ink: Vec<f32> =
        ink.iter().map(|&v| if v as f32 > lo { ((v as f32 - lo) / (hi - lo)).min(1.0) * 255.0 } else { 0.0 }).collect();
    let Some(tight) = tight_box(&ink, cw, ch) else {
        return Err(NoDigit::NoInk);
    };
    let (tw, th) = (tight.width(), tight.height());
    let mut crop = Vec::with_capacity(tw * th);
    for y in tight.y0..=tight.y1 {
        crop.extend_from_slice(&ink[y * cw + tight.x0..=y * cw + tight.x1]);
    }
    let digit = fit_mnist(&crop, tw, th);
    let bbox = Rect { x0: fx0 + tight.x0, y0: fy0 + tight.y0, x1: fx0 + tight.x1, y1: fy0 + tight.y1 };
    Ok(Found { digit, bbox })
}

/// The smallest rectangle holding every non-zero value.
pub fn tight_box(img: &[f32], w: usize, h: usize) -> Option<Rect> {
    let mut r: Option<Rect> = None;
    for y in 0..h {
        for x in 0..w {
            if img[y * w + x] > 0.0 {
                let p = Rect { x0: x, y0: y, x1: x, y1: y };
                r = Some(r.map_or(p, |r| r.union(&p)));
            }
        }
    }
    r
}

/// MNIST's normalisation of a cropped digit (ink 0..255): scale so the longest side is 20 px
/// keeping the aspect ratio, then place in 28×28 with the centre of mass at the centre.
pub fn fit_mnist(crop: &[f32], w: usize, h: usize) -> [u8; PIXELS] {
    let s = 20.0 / w.max(h) as f32;
    let (nw, nh) = (((w as f32 * s).round() as usize).clamp(1, 20), ((h as f32 * s).round() as usize).clamp(1, 20));
    let small = resize_area(crop, w, h, nw, nh);
    let mut digit = place_by_mass(&small, nw, nh);
    normalise_stroke(&mut digit);
    digit
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
/// (median 2.0). Hairline printed strokes are thickened, fat marker strokes thinned, by one
/// pixel; digits within MNIST's range are left alone.
pub fn normalise_stroke(digit: &mut [u8; PIXELS]) {
    let t = stroke_width(digit);
    let op: fn(u8, u8) -> u8 = if t > 0.0 && t < 1.1 {
        u8::max
    } else if t > 3.6 {
        u8::min
    } else {
        return;
    };
    let out = morph_plus(digit, op);
    digit.copy_from_slice(&out);
}

/// Grey-level dilation (`u8::max`) or erosion (`u8::min`) of a 28×28 image with a
/// plus-shaped element: strokes one pixel thicker or thinner on each side.
pub fn morph_plus(img: &[u8], op: fn(u8, u8) -> u8) -> Vec<u8> {
    let mut out = img.to_vec();
    for y in 0..SIDE {
        for x in 0..SIDE {
            let mut v = img[y * SIDE + x];
            for (dx, dy) in [(-1i32, 0i32), (1, 0), (0, -1), (0, 1)] {
                let (nx, ny) = (x as i32 + dx, y as i32 + dy);
                if (0..SIDE as i32).contains(&nx) && (0..SIDE as i32).contains(&ny) {
                    v = op(v, img[ny as usize * SIDE + nx as usize]);
                }
            }
            out[y * SIDE + x] = v;
        }
    }
    out
}

/// Area-average resampling: each output pixel is the mean of the source area it covers,
/// with fractional coverage at the edges.
pub fn resize_area(src: &[f32], sw: usize, sh: usize, dw: usize, dh: usize) -> Vec<f32> {
    let (sx, sy) = (sw as f32 / dw as f32, sh as f32 / dh as f32);
    // Per output column: the source columns it covers and with what weight.
    let spans = |n: usize, scale: f32, limit: usize| -> Vec<Vec<(usize, f32)>> {
        (0..n)
            .map(|o| {
                let (a, b) = (o as f32 * scale, (o + 1) as f32 * scale);
                let mut v = Vec::new();
                let mut i = a.floor() as usize;
                while (i as f32) < b && i < limit {
                    let cover = (b.min(i as f32 + 1.0) - a.max(i as f32)).max(0.0);
                    if cover > 0.0 {
                        v.push((i, cover));
                    }
                    i += 1;
                }
                v
            })
            .collect()
    };
    let (xs, ys) = (spans(dw, sx, sw), spans(dh, sy, sh));
    let mut out = vec![0f32; dw * dh];
    for (oy, yspan) in ys.iter().enumerate() {
        for (ox, xspan) in xs.iter().enumerate() {
            let (mut acc, mut wsum) = (0f32, 0f32);
            for &(iy, wy) in yspan {
                for &(ix, wx) in xspan {
                    acc += src[iy * sw + ix] * wx * wy;
                    wsum += wx * wy;
                }
            }
            out[oy * dw + ox] = if wsum > 0.0 { acc / wsum } else { 0.0 };
        }
    }
    out
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

#[cfg(test)]
mod tests {
    use super::*;

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
    fn downscale_averages_cells() {
        let src = [0, 4, 8, 8, 0, 4, 8, 8, 1, 1, 3, 3];
        let (out, w, h) = downscale_area(&src, 4, 3, 2);
        assert_eq!((w, h), (2, 2));
        // Bottom cells cover one row only.
        assert_eq!(out, vec![2, 8, 1, 3]);
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
        let bg = background(&img, w, h, 2, Polarity::DarkOnLight);
        assert!(bg.iter().all(|&b| b == 200));
        let ink = ink_map(&img, &bg, Polarity::DarkOnLight);
        assert_eq!(&ink[0..w], &[0, 0, 0, 0, 150, 150, 0, 0, 0, 0]);
    }

    #[test]
    fn window_extreme_matches_the_naive_window() {
        let v: Vec<u8> = (0..97u32).map(|i| (i * 73 % 251) as u8).collect();
        for r in [0, 1, 3, 10, 60] {
            for (pick, name) in [(u8::max as fn(u8, u8) -> u8, "max"), (u8::min, "min")] {
                let mut out = vec![0; v.len()];
                window_extreme(&v, r, pick, &mut (Vec::new(), Vec::new()), &mut out);
                for i in 0..v.len() {
                    let naive = v[i.saturating_sub(r)..=(i + r).min(v.len() - 1)].iter().copied().reduce(pick).unwrap();
                    assert_eq!(out[i], naive, "{name} r={r} i={i}");
                }
            }
        }
    }

    #[test]
    fn resize_area_is_exact_on_blocks() {
        let src: Vec<f32> = (0..16).map(|i| if (i % 4) < 2 { 100.0 } else { 0.0 }).collect();
        assert_eq!(resize_area(&src, 4, 4, 2, 2), vec![100.0, 0.0, 100.0, 0.0]);
        // 3 → 2 splits the middle pixel.
        assert_eq!(resize_area(&[0.0, 30.0, 60.0], 3, 1, 2, 1), vec![10.0, 50.0]);
    }

    #[test]
    fn strokes_are_normalised_towards_mnists_pen() {
        // A 1-px hairline "1" is thickened; a 4-px bar is MNIST-like and kept; a solid 14-px
        // blob of marker is thinned.
        let mut hair = [0u8; PIXELS];
        for y in 4..24 {
            hair[y * SIDE + 14] = 255;
        }
        assert!(stroke_width(&hair) < 1.1);
        normalise_stroke(&mut hair);
        assert_eq!((4..24).map(|y| (13..=15).filter(|&x| hair[y * SIDE + x] == 255).count()).sum::<usize>(), 60);
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
        assert_eq!(preprocess(&frame, w, h, &Params::default()), Err(NoDigit::NoInk));
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
