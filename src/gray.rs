//! General operations on 8-bit grey images: resampling, histograms, min/max filters,
//! connected components. Nothing here knows about digits; the preprocessing stage builds
//! its rules on these.

/// A borrowed grey image: `w`×`h` pixels, row-major, one byte each.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Gray<'a> {
    pub w: usize,
    pub h: usize,
    pub pixels: &'a [u8],
}

impl<'a> Gray<'a> {
    /// A view, or None when the buffer does not hold exactly `w`×`h` pixels or is empty.
    pub fn new(pixels: &'a [u8], w: usize, h: usize) -> Option<Self> {
        (w > 0 && h > 0 && w.checked_mul(h) == Some(pixels.len())).then_some(Gray { w, h, pixels })
    }

    pub fn row(&self, y: usize) -> &'a [u8] {
        &self.pixels[y * self.w..(y + 1) * self.w]
    }

    pub fn to_owned(&self) -> GrayBuf {
        GrayBuf { w: self.w, h: self.h, pixels: self.pixels.to_vec() }
    }
}

/// An owned grey image.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GrayBuf {
    pub w: usize,
    pub h: usize,
    pub pixels: Vec<u8>,
}

impl GrayBuf {
    pub fn view(&self) -> Gray<'_> {
        Gray { w: self.w, h: self.h, pixels: &self.pixels }
    }
}

/// An inclusive pixel rectangle.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Rect {
    pub x0: usize,
    pub y0: usize,
    pub x1: usize,
    pub y1: usize,
}

impl Rect {
    pub fn point(x: usize, y: usize) -> Rect {
        Rect { x0: x, y0: y, x1: x, y1: y }
    }
    pub fn width(&self) -> usize {
        self.x1 - self.x0 + 1
    }
    pub fn height(&self) -> usize {
        self.y1 - self.y0 + 1
    }
    pub fn union(&self, o: &Rect) -> Rect {
        Rect { x0: self.x0.min(o.x0), y0: self.y0.min(o.y0), x1: self.x1.max(o.x1), y1: self.y1.max(o.y1) }
    }
}

/// Box-average downscale by an integer factor (partial cells at the edges average what
/// they cover).
pub fn downscale_area(src: Gray, f: usize) -> GrayBuf {
    let (w, h) = (src.w, src.h);
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
            for (c, &v) in cols.iter_mut().zip(src.row(y)) {
                *c += v as u32;
            }
        }
        for cell in cols.chunks(f) {
            let n = n_rows * cell.len() as u32;
            out.push(((cell.iter().sum::<u32>() + n / 2) / n) as u8);
        }
    }
    GrayBuf { w: ow, h: oh, pixels: out }
}

/// Downscales by an integer factor three ways at once: each cell's mean, darkest and
/// brightest value. The mean keeps lighting; the extremes keep a stroke thinner than a
/// cell at its full contrast (an average would wash it out).
pub fn pool(src: Gray, f: usize) -> (GrayBuf, GrayBuf, GrayBuf) {
    let (w, h) = (src.w, src.h);
    let (ow, oh) = (w.div_ceil(f), h.div_ceil(f));
    let (mut mean, mut dark, mut light) = (Vec::with_capacity(ow * oh), vec![255u8; ow * oh], vec![0u8; ow * oh]);
    let mut cols = vec![0u32; w];
    let (mut lo, mut hi) = (vec![255u8; w], vec![0u8; w]);
    for oy in 0..oh {
        cols.fill(0);
        lo.fill(255);
        hi.fill(0);
        let rows = (oy * f)..((oy + 1) * f).min(h);
        let n_rows = rows.len() as u32;
        for y in rows {
            for (((c, l), hh), &v) in cols.iter_mut().zip(lo.iter_mut()).zip(hi.iter_mut()).zip(src.row(y)) {
                *c += v as u32;
                *l = (*l).min(v);
                *hh = (*hh).max(v);
            }
        }
        for (ox, ((cell, l), hh)) in cols.chunks(f).zip(lo.chunks(f)).zip(hi.chunks(f)).enumerate() {
            let n = n_rows * cell.len() as u32;
            mean.push(((cell.iter().sum::<u32>() + n / 2) / n) as u8);
            dark[oy * ow + ox] = l.iter().copied().min().unwrap_or(255);
            light[oy * ow + ox] = hh.iter().copied().max().unwrap_or(0);
        }
    }
    let buf = |pixels| GrayBuf { w: ow, h: oh, pixels };
    (buf(mean), buf(dark), buf(light))
}

/// Grey-level closing (dilate, then erode): dark features narrower than the window vanish,
/// brighter surroundings are not widened.
pub fn closing(img: Gray, radius: usize) -> GrayBuf {
    min_filter(max_filter(img, radius).view(), radius)
}

/// Grey-level opening (erode, then dilate): bright features narrower than the window vanish.
pub fn opening(img: Gray, radius: usize) -> GrayBuf {
    max_filter(min_filter(img, radius).view(), radius)
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

/// The brightest value within `radius` (a (2r+1)×(2r+1) square) of each pixel: grey-level
/// dilation.
pub fn max_filter(img: Gray, radius: usize) -> GrayBuf {
    local_extreme(img, radius, u8::max)
}

/// The darkest value within `radius` of each pixel: grey-level erosion.
pub fn min_filter(img: Gray, radius: usize) -> GrayBuf {
    local_extreme(img, radius, u8::min)
}

/// Separable (2r+1)×(2r+1) max or min filter. Generic over `pick` so it inlines.
fn local_extreme(img: Gray, radius: usize, pick: impl Fn(u8, u8) -> u8 + Copy) -> GrayBuf {
    let (w, h) = (img.w, img.h);
    let mut tmp = vec![0u8; img.pixels.len()];
    let mut scratch = (Vec::new(), Vec::new());
    for (src, dst) in img.pixels.chunks_exact(w).zip(tmp.chunks_exact_mut(w)) {
        window_extreme(src, radius, pick, &mut scratch, dst);
    }
    // Columns: transpose, filter the rows, transpose back.
    let mut t = vec![0u8; img.pixels.len()];
    for y in 0..h {
        for x in 0..w {
            t[x * h + y] = tmp[y * w + x];
        }
    }
    let mut t2 = vec![0u8; img.pixels.len()];
    for (src, dst) in t.chunks_exact(h).zip(t2.chunks_exact_mut(h)) {
        window_extreme(src, radius, pick, &mut scratch, dst);
    }
    for y in 0..h {
        for x in 0..w {
            tmp[y * w + x] = t2[x * h + y];
        }
    }
    GrayBuf { w, h, pixels: tmp }
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

/// One 8-connected blob of a mask.
#[derive(Clone, Debug)]
pub struct Component {
    pub bbox: Rect,
    pub area: usize,
    /// Sum of the weights (e.g. ink strength) under the blob.
    pub mass: u64,
    /// The largest weight under the blob.
    pub peak: u8,
    /// Pixels on the image's edge.
    pub border_contact: usize,
    /// Which edges it touches: bits 0..4 for top, bottom, left, right.
    pub sides: u8,
    pub label: u32,
}

/// Labels the 8-connected components of a 0/1 `mask`, summing `weight` under each.
/// Returns a label per pixel (0 = none, components numbered from 1) and the components.
pub fn components(mask: &[u8], weight: &[u8], w: usize, h: usize) -> (Vec<u32>, Vec<Component>) {
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
            Component { bbox: Rect::point(sx, sy), area: 0, mass: 0, peak: 0, border_contact: 0, sides: 0, label };
        labels[start] = label;
        stack.push(start);
        while let Some(i) = stack.pop() {
            let (x, y) = (i % w, i / w);
            c.area += 1;
            c.mass += weight[i] as u64;
            c.peak = c.peak.max(weight[i]);
            c.bbox = c.bbox.union(&Rect::point(x, y));
            let sides = (y == 0) as u8 | ((y == h - 1) as u8) << 1 | ((x == 0) as u8) << 2 | ((x == w - 1) as u8) << 3;
            c.border_contact += (sides != 0) as usize;
            c.sides |= sides;
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

/// The smallest rectangle holding every non-zero value.
pub fn tight_box(img: &[f32], w: usize, h: usize) -> Option<Rect> {
    let mut r: Option<Rect> = None;
    for y in 0..h {
        for x in 0..w {
            if img[y * w + x] > 0.0 {
                let p = Rect::point(x, y);
                r = Some(r.map_or(p, |r| r.union(&p)));
            }
        }
    }
    r
}

/// Grey-level dilation (`u8::max`) or erosion (`u8::min`) with a plus-shaped element:
/// strokes one pixel thicker or thinner on each side.
pub fn morph_plus(img: &[u8], w: usize, h: usize, op: fn(u8, u8) -> u8) -> Vec<u8> {
    let mut out = img.to_vec();
    for y in 0..h {
        for x in 0..w {
            let mut v = img[y * w + x];
            for (dx, dy) in [(-1i32, 0i32), (1, 0), (0, -1), (0, 1)] {
                let (nx, ny) = (x as i32 + dx, y as i32 + dy);
                if (0..w as i32).contains(&nx) && (0..h as i32).contains(&ny) {
                    v = op(v, img[ny as usize * w + nx as usize]);
                }
            }
            out[y * w + x] = v;
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

/// Bilinear sample of a `w`×`h` image at (x, y) in pixel coordinates; outside is 0.
pub fn sample_bilinear(img: &[u8], w: usize, h: usize, x: f32, y: f32) -> f32 {
    let (x0, y0) = (x.floor(), y.floor());
    let (fx, fy) = (x - x0, y - y0);
    let at = |xx: f32, yy: f32| {
        if xx < 0.0 || yy < 0.0 || xx >= w as f32 || yy >= h as f32 {
            0.0
        } else {
            img[yy as usize * w + xx as usize] as f32
        }
    };
    let top = at(x0, y0) * (1.0 - fx) + at(x0 + 1.0, y0) * fx;
    let bottom = at(x0, y0 + 1.0) * (1.0 - fx) + at(x0 + 1.0, y0 + 1.0) * fx;
    top * (1.0 - fy) + bottom * fy
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn views_check_their_size() {
        assert!(Gray::new(&[0; 6], 3, 2).is_some());
        assert!(Gray::new(&[0; 5], 3, 2).is_none());
        assert!(Gray::new(&[], 0, 0).is_none());
        assert!(Gray::new(&[0; 6], usize::MAX, 2).is_none(), "an overflowing size is no image");
    }

    #[test]
    fn downscale_averages_cells() {
        let src = [0, 4, 8, 8, 0, 4, 8, 8, 1, 1, 3, 3];
        let out = downscale_area(Gray::new(&src, 4, 3).unwrap(), 2);
        assert_eq!((out.w, out.h), (2, 2));
        // Bottom cells cover one row only.
        assert_eq!(out.pixels, vec![2, 8, 1, 3]);
    }

    #[test]
    fn pooling_keeps_the_mean_and_both_extremes() {
        let src = [10, 200, 30, 40, 50, 60, 70, 80, 90];
        let (mean, dark, light) = pool(Gray::new(&src, 3, 3).unwrap(), 2);
        assert_eq!((mean.w, mean.h), (2, 2));
        assert_eq!(mean.pixels, vec![75, 45, 75, 90]);
        assert_eq!(dark.pixels, vec![10, 30, 70, 90]);
        assert_eq!(light.pixels, vec![200, 60, 80, 90]);
    }

    #[test]
    fn closing_fills_thin_dark_lines_but_not_wide_ones() {
        // A 1-px dark line and a 6-px dark band on white.
        let row: Vec<u8> = (0..20).map(|x| if x == 3 || (10..16).contains(&x) { 0 } else { 200 }).collect();
        let closed = closing(Gray::new(&row, 20, 1).unwrap(), 1);
        assert_eq!(closed.pixels[3], 200, "the thin line is filled");
        assert_eq!(closed.pixels[12], 0, "the wide band stays");
        assert_eq!(opening(Gray::new(&closed.pixels, 20, 1).unwrap(), 1).pixels[3], 200);
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
    fn max_filter_matches_the_naive_square_window() {
        let (w, h) = (37, 23);
        let px: Vec<u8> = (0..w * h).map(|i| ((i * 7919) % 251) as u8).collect();
        for r in [1, 5, 16, 30] {
            let out = max_filter(Gray::new(&px, w, h).unwrap(), r);
            for y in 0..h {
                for x in 0..w {
                    let naive = (y.saturating_sub(r)..=(y + r).min(h - 1))
                        .flat_map(|yy| (x.saturating_sub(r)..=(x + r).min(w - 1)).map(move |xx| (xx, yy)))
                        .map(|(xx, yy)| px[yy * w + xx])
                        .max();
                    assert_eq!(Some(out.pixels[y * w + x]), naive, "r={r} x={x} y={y}");
                }
            }
        }
    }

    #[test]
    fn max_and_min_filters_work_in_both_directions() {
        // A single bright pixel spreads to a 3×3 square; the min filter takes it away again.
        let mut px = vec![0u8; 25];
        px[12] = 9;
        let img = Gray::new(&px, 5, 5).unwrap();
        let grown = max_filter(img, 1);
        let lit: Vec<usize> = (0..25).filter(|&i| grown.pixels[i] == 9).collect();
        assert_eq!(lit, vec![6, 7, 8, 11, 12, 13, 16, 17, 18]);
        assert_eq!(min_filter(img, 1).pixels, vec![0; 25]);
    }

    #[test]
    fn resize_area_is_exact_on_blocks() {
        let src: Vec<f32> = (0..16).map(|i| if (i % 4) < 2 { 100.0 } else { 0.0 }).collect();
        assert_eq!(resize_area(&src, 4, 4, 2, 2), vec![100.0, 0.0, 100.0, 0.0]);
        // 3 → 2 splits the middle pixel.
        assert_eq!(resize_area(&[0.0, 30.0, 60.0], 3, 1, 2, 1), vec![10.0, 50.0]);
    }

    #[test]
    fn components_are_eight_connected_and_count_the_border() {
        // Two blobs: a diagonal pair touching the top edge, and a lone pixel.
        #[rustfmt::skip]
        let mask = [
            1, 0, 0, 0,
            0, 1, 0, 0,
            0, 0, 0, 1,
        ];
        let weight = [5, 0, 0, 0, 0, 7, 0, 0, 0, 0, 0, 2];
        let (labels, comps) = components(&mask, &weight, 4, 3);
        assert_eq!(labels, vec![1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 2]);
        assert_eq!((comps[0].area, comps[0].mass, comps[0].border_contact, comps[0].sides), (2, 12, 1, 0b0101));
        assert_eq!(comps[0].bbox, Rect { x0: 0, y0: 0, x1: 1, y1: 1 });
        assert_eq!((comps[1].area, comps[1].border_contact, comps[1].sides), (1, 1, 0b1010));
    }

    #[test]
    fn otsu_splits_two_levels_and_percentiles_count() {
        let img: Vec<u8> = [vec![20u8; 60], vec![200u8; 40]].concat();
        let (t, lo, hi) = otsu(&img);
        assert!(t > 20 && t <= 200, "{t}");
        assert_eq!((lo, hi), (20.0, 200.0));
        assert_eq!(percentile(&img, 0.5), 20);
        assert_eq!(percentile(&img, 0.7), 200);
        assert_eq!(kth_largest(&img, 40), 200);
        assert_eq!(kth_largest(&img, 41), 20);
        assert_eq!(kth_largest(&img, 101), 0);
    }

    #[test]
    fn dilation_thickens_and_erosion_thins() {
        let mut img = vec![0u8; 28 * 28];
        for y in 6..22 {
            for x in 12..16 {
                img[y * 28 + x] = 255;
            }
        }
        let count = |v: &[u8]| v.iter().filter(|&&p| p > 0).count();
        assert_eq!(count(&morph_plus(&img, 28, 28, u8::max)), 18 * 6 - 4);
        assert_eq!(count(&morph_plus(&img, 28, 28, u8::min)), 14 * 2);
    }

    #[test]
    fn bilinear_sampling_interpolates_and_is_zero_outside() {
        let img = [0u8, 100, 200, 100];
        assert_eq!(sample_bilinear(&img, 2, 2, 0.5, 0.0), 50.0);
        assert_eq!(sample_bilinear(&img, 2, 2, 0.5, 0.5), 100.0);
        assert_eq!(sample_bilinear(&img, 2, 2, -1.0, 0.0), 0.0);
    }
}
