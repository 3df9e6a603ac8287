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
    let mut out = GrayBuf::default();
    downscale_area_into(src, f, &mut out);
    out
}

/// [`downscale_area`] into a reused buffer.
pub fn downscale_area_into(src: Gray, f: usize, out: &mut GrayBuf) {
    let (w, h) = (src.w, src.h);
    let (ow, oh) = (w.div_ceil(f), h.div_ceil(f));
    out.w = ow;
    out.h = oh;
    out.pixels.clear();
    out.pixels.reserve(ow * oh);
    if f == 2 && w % 2 == 0 && h % 2 == 0 {
        // Halving, the usual case: pairs of rows, pairs of columns.
        out.pixels.resize(ow * oh, 0);
        for (y, dst) in out.pixels.chunks_exact_mut(ow).enumerate() {
            let (a, b) = (src.row(2 * y), src.row(2 * y + 1));
            for ((d, p), q) in dst.iter_mut().zip(a.chunks_exact(2)).zip(b.chunks_exact(2)) {
                *d = ((p[0] as u16 + p[1] as u16 + q[0] as u16 + q[1] as u16 + 2) / 4) as u8;
            }
        }
        return;
    }
    for oy in 0..oh {
        let rows = (oy * f)..((oy + 1) * f).min(h);
        let n_rows = rows.len() as u32;
        for ox in 0..ow {
            let cols = (ox * f)..((ox + 1) * f).min(w);
            let n = n_rows * cols.len() as u32;
            let sum: u32 = rows.clone().map(|y| src.row(y)[cols.clone()].iter().map(|&v| v as u32).sum::<u32>()).sum();
            out.pixels.push(((sum + n / 2) / n) as u8);
        }
    }
}

/// Downscales by an integer factor three ways at once: each cell's mean, darkest and
/// brightest value. The mean keeps lighting; the extremes keep a stroke thinner than a
/// cell at its full contrast (an average would wash it out).
pub fn pool(src: Gray, f: usize) -> (GrayBuf, GrayBuf, GrayBuf) {
    let (mut mean, mut dark, mut light) = (GrayBuf::default(), GrayBuf::default(), GrayBuf::default());
    pool_into(src, f, &mut mean, &mut dark, &mut light, &mut PoolScratch::default());
    (mean, dark, light)
}

/// Row buffers for [`pool_into`].
#[derive(Debug, Default)]
pub struct PoolScratch {
    band: Band,
}

/// One band of rows reduced down its columns, and room to reduce it across.
#[derive(Debug, Default)]
struct Band {
    sums: Vec<u16>,
    lo: Vec<u8>,
    hi: Vec<u8>,
    sums2: Vec<u16>,
    lo2: Vec<u8>,
    hi2: Vec<u8>,
}

/// A band's columns from some column on (only the kinds being made are up to date).
struct BandView<'a> {
    sums: &'a [u16],
    lo: &'a [u8],
    hi: &'a [u8],
}

impl Band {
    fn view(&self, from: usize) -> BandView<'_> {
        BandView {
            sums: self.sums.get(from..).unwrap_or(&[]),
            lo: self.lo.get(from..).unwrap_or(&[]),
            hi: self.hi.get(from..).unwrap_or(&[]),
        }
    }
}

/// [`pool`] into buffers that are reused from frame to frame.
pub fn pool_into(
    src: Gray,
    f: usize,
    mean: &mut GrayBuf,
    dark: &mut GrayBuf,
    light: &mut GrayBuf,
    s: &mut PoolScratch,
) {
    pool_cells::<true, true, true>(src, f, mean, dark, light, s)
}

/// Which of [`pool`]'s three downscalings to make.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pools {
    pub mean: bool,
    pub dark: bool,
    pub light: bool,
}

/// [`pool_into`] making only the downscalings `which` asks for (the others' buffers are
/// left as they were): a reader of dark ink on paper never needs the brightest values.
pub fn pool_some_into(
    src: Gray,
    f: usize,
    which: Pools,
    mean: &mut GrayBuf,
    dark: &mut GrayBuf,
    light: &mut GrayBuf,
    s: &mut PoolScratch,
) {
    let run = match (which.mean, which.dark, which.light) {
        (true, true, true) => pool_cells::<true, true, true>,
        (true, true, false) => pool_cells::<true, true, false>,
        (true, false, true) => pool_cells::<true, false, true>,
        (true, false, false) => pool_cells::<true, false, false>,
        (false, true, true) => pool_cells::<false, true, true>,
        (false, true, false) => pool_cells::<false, true, false>,
        (false, false, true) => pool_cells::<false, false, true>,
        (false, false, false) => return,
    };
    run(src, f, mean, dark, light, s)
}

fn pool_cells<const MEAN: bool, const DARK: bool, const LIGHT: bool>(
    src: Gray,
    f: usize,
    mean: &mut GrayBuf,
    dark: &mut GrayBuf,
    light: &mut GrayBuf,
    s: &mut PoolScratch,
) {
    let (w, h) = (src.w, src.h);
    let f = f.max(1);
    let (ow, oh) = (w.div_ceil(f), h.div_ceil(f));
    for (b, wanted) in [(&mut *mean, MEAN), (&mut *dark, DARK), (&mut *light, LIGHT)] {
        if wanted {
            b.w = ow;
            b.h = oh;
            // Every cell is written below: no need to clear it first.
            b.pixels.resize(ow * oh, 0);
        }
    }
    let b = &mut s.band;
    for oy in 0..oh {
        let rows = (oy * f)..((oy + 1) * f).min(h);
        let n_rows = rows.len() as u32;
        let at = oy * ow..(oy + 1) * ow;
        // A full band of 4 rows (a 640×480 frame's every band) goes through the vector
        // unit 64 columns at a time; the columns left over, and every other band, below.
        #[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
        let x0 = if f == 4 && n_rows == 4 {
            if let Some(ahead) = src.pixels.get((oy + 2) * f * w..(oy + 3) * f * w) {
                pool4::prefetch(ahead);
            }
            let r = [src.row(rows.start), src.row(rows.start + 1), src.row(rows.start + 2), src.row(rows.start + 3)];
            pool4::pool4_band::<MEAN, DARK, LIGHT>(
                r,
                if MEAN { &mut mean.pixels[at.clone()] } else { &mut [][..] },
                if DARK { &mut dark.pixels[at.clone()] } else { &mut [][..] },
                if LIGHT { &mut light.pixels[at.clone()] } else { &mut [][..] },
            )
        } else {
            0
        };
        #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
        let x0 = 0;
        if x0 == w {
            continue;
        }
        let bw = w - x0;
        // Column sums, minima and maxima over the band's rows: plain element-wise
        // operations on whole rows, which the compiler turns into vector instructions.
        let first = &src.row(rows.start)[x0..];
        if MEAN {
            b.sums.clear();
            b.sums.extend(first.iter().map(|&v| v as u16));
        }
        if DARK {
            b.lo.clear();
            b.lo.extend_from_slice(first);
        }
        if LIGHT {
            b.hi.clear();
            b.hi.extend_from_slice(first);
        }
        for y in rows.skip(1) {
            let row = &src.row(y)[x0..];
            if MEAN {
                for (sum, &v) in b.sums.iter_mut().zip(row) {
                    *sum += v as u16;
                }
            }
            if DARK {
                for (lo, &v) in b.lo.iter_mut().zip(row) {
                    *lo = (*lo).min(v);
                }
            }
            if LIGHT {
                for (hi, &v) in b.hi.iter_mut().zip(row) {
                    *hi = (*hi).max(v);
                }
            }
        }
        // Then across each cell's columns (x0 is a multiple of f: cells stay aligned).
        let at = oy * ow + x0 / f..(oy + 1) * ow;
        let out = (
            if MEAN { &mut mean.pixels[at.clone()] } else { &mut [][..] },
            if DARK { &mut dark.pixels[at.clone()] } else { &mut [][..] },
            if LIGHT { &mut light.pixels[at] } else { &mut [][..] },
        );
        match f {
            2 => reduce_cells::<2, MEAN, DARK, LIGHT>(b, bw, n_rows, out),
            4 => reduce_cells::<4, MEAN, DARK, LIGHT>(b, bw, n_rows, out),
            8 => reduce_cells::<8, MEAN, DARK, LIGHT>(b, bw, n_rows, out),
            _ => reduce_cells_any::<MEAN, DARK, LIGHT>(f, &b.view(0), n_rows, out),
        }
    }
}

type CellOut<'a> = (&'a mut [u8], &'a mut [u8], &'a mut [u8]);

/// One band's cells of `F` columns (a power of two): their mean, darkest and brightest.
/// Neighbours are combined at distance 1, then 2, then 4, along the whole row into the
/// second buffer and back — element-wise, so in vector instructions — until the first
/// column of each cell holds the cell's result.
fn reduce_cells<const F: usize, const MEAN: bool, const DARK: bool, const LIGHT: bool>(
    band: &mut Band,
    w: usize,
    n_rows: u32,
    out: CellOut,
) {
    let full = w / F;
    let cells = w.div_ceil(F);
    // The last, narrower cell first, from its columns as they are.
    if full < cells {
        let a = full * F;
        reduce_cells_any::<MEAN, DARK, LIGHT>(
            F,
            &band.view(a),
            n_rows,
            (
                if MEAN { &mut out.0[full..] } else { &mut [][..] },
                if DARK { &mut out.1[full..] } else { &mut [][..] },
                if LIGHT { &mut out.2[full..] } else { &mut [][..] },
            ),
        );
    }
    let n = full * F;
    if n == 0 {
        // Only the narrow cell: a band whose vector route left fewer than F columns.
        return;
    }
    let mut step = 1;
    while step < F {
        if MEAN {
            combine(&mut band.sums, &mut band.sums2, n, step, |x, y| x + y);
        }
        if DARK {
            combine(&mut band.lo, &mut band.lo2, n, step, u8::min);
        }
        if LIGHT {
            combine(&mut band.hi, &mut band.hi2, n, step, u8::max);
        }
        step *= 2;
    }
    if MEAN {
        let count = n_rows * F as u32;
        for (m, s) in out.0.iter_mut().zip(band.sums[..n].chunks_exact(F)) {
            let sum = s[0] as u32;
            // A full cell's count is known at compile time: no division instruction.
            *m = if n_rows as usize == F {
                (sum + (F * F / 2) as u32) / (F * F) as u32
            } else {
                (sum + count / 2) / count
            } as u8;
        }
    }
    if DARK {
        for (d, l) in out.1.iter_mut().zip(band.lo[..n].chunks_exact(F)) {
            *d = l[0];
        }
    }
    if LIGHT {
        for (b, h) in out.2.iter_mut().zip(band.hi[..n].chunks_exact(F)) {
            *b = h[0];
        }
    }
}

/// `a[i] = op(a[i], a[i + step])` for the first `n` columns (through `spare`, so the loop
/// is element-wise); the last `step`, which have no such neighbour, are kept. They are not
/// a cell's first column.
#[inline(always)]
fn combine<T: Copy + Default>(a: &mut Vec<T>, spare: &mut Vec<T>, n: usize, step: usize, op: impl Fn(T, T) -> T) {
    let m = n - step;
    spare.resize(n, T::default());
    for ((o, &x), &y) in spare[..m].iter_mut().zip(&a[..m]).zip(&a[step..n]) {
        *o = op(x, y);
    }
    spare[m..n].copy_from_slice(&a[m..n]);
    std::mem::swap(a, spare);
}

fn reduce_cells_any<const MEAN: bool, const DARK: bool, const LIGHT: bool>(
    f: usize,
    band: &BandView,
    n_rows: u32,
    out: CellOut,
) {
    if MEAN {
        for (c, m) in band.sums.chunks(f).zip(out.0.iter_mut()) {
            let n = n_rows * c.len() as u32;
            *m = ((c.iter().map(|&v| v as u32).sum::<u32>() + n / 2) / n) as u8;
        }
    }
    if DARK {
        for (l, d) in band.lo.chunks(f).zip(out.1.iter_mut()) {
            *d = l.iter().fold(255, |a, &v| a.min(v));
        }
    }
    if LIGHT {
        for (h, b) in band.hi.chunks(f).zip(out.2.iter_mut()) {
            *b = h.iter().fold(0, |a, &v| a.max(v));
        }
    }
}

/// Grey-level closing (dilate, then erode): dark features narrower than the window vanish,
/// brighter surroundings are not widened.
pub fn closing(img: Gray, radius: usize) -> GrayBuf {
    let mut out = GrayBuf::default();
    closing_into(img, radius, &mut out, &mut FilterScratch::default());
    out
}

/// Grey-level opening (erode, then dilate): bright features narrower than the window vanish.
pub fn opening(img: Gray, radius: usize) -> GrayBuf {
    let mut out = GrayBuf::default();
    opening_into(img, radius, &mut out, &mut FilterScratch::default());
    out
}

/// [`closing`] into a reused buffer.
pub fn closing_into(img: Gray, radius: usize, out: &mut GrayBuf, s: &mut FilterScratch) {
    filter_pair_into::<Max, Min>(img, radius, out, s)
}

/// [`opening`] into a reused buffer.
pub fn opening_into(img: Gray, radius: usize, out: &mut GrayBuf, s: &mut FilterScratch) {
    filter_pair_into::<Min, Max>(img, radius, out, s)
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
    percentiles(img, [q])[0]
}

/// [`percentile`] for several `qs` (in increasing order) from one histogram.
pub fn percentiles<const N: usize>(img: &[u8], qs: [f32; N]) -> [u8; N] {
    Histogram::of(img).percentiles(qs)
}

/// The k-th largest value (k from 1), 0 when there are fewer than k values.
pub fn kth_largest(img: &[u8], k: usize) -> u8 {
    Histogram::of(img).kth_largest(k)
}

/// Counts grey levels as they come, for a [`Histogram`] of values that are not one slice:
/// the pixels of a region, a row at a time.
///
/// Counts are kept in four tables taken in turn: a run of one level (most of an ink map is
/// 0) then adds to four counters, not one, and each increment need not wait for the one
/// before it to reach memory.
pub struct Tally {
    tables: [[u32; 256]; 4],
    n: usize,
}

impl Tally {
    pub fn new() -> Self {
        Tally { tables: [[0; 256]; 4], n: 0 }
    }

    pub fn add(&mut self, v: u8) {
        self.tables[self.n & 3][v as usize] += 1;
        self.n += 1;
    }

    pub fn add_all(&mut self, values: &[u8]) {
        let mut quads = values.chunks_exact(4);
        for q in &mut quads {
            for (t, &v) in self.tables.iter_mut().zip(q) {
                t[v as usize] += 1;
            }
        }
        for &v in quads.remainder() {
            self.add(v);
        }
        self.n += values.len() - quads.remainder().len();
    }

    pub fn histogram(&self) -> Histogram {
        let mut counts = [0usize; 256];
        for t in &self.tables {
            for (c, &k) in counts.iter_mut().zip(t) {
                *c += k as usize;
            }
        }
        Histogram { counts, n: self.n }
    }
}

impl Default for Tally {
    fn default() -> Self {
        Self::new()
    }
}

/// How many pixels have each grey level: one pass answers several order questions.
pub struct Histogram {
    counts: [usize; 256],
    n: usize,
}

impl Histogram {
    pub fn of(img: &[u8]) -> Self {
        let mut t = Tally::new();
        t.add_all(img);
        t.histogram()
    }

    /// Of any run of grey levels (the pixels under a mask, say).
    pub fn of_iter(values: impl Iterator<Item = u8>) -> Self {
        let mut t = Tally::new();
        values.for_each(|v| t.add(v));
        t.histogram()
    }

    /// The values below which each of `qs` (in increasing order, each in 0..=1) of the
    /// pixels lie.
    pub fn percentiles<const N: usize>(&self, qs: [f32; N]) -> [u8; N] {
        let (mut acc, mut v) = (0, 0);
        qs.map(|q| {
            let target = ((self.n as f32 * q).ceil() as usize).clamp(1, self.n.max(1));
            while v < 255 && acc + self.counts[v] < target {
                acc += self.counts[v];
                v += 1;
            }
            v as u8
        })
    }

    /// The mean value, None when there are none.
    pub fn mean(&self) -> Option<f32> {
        let sum: usize = self.counts.iter().enumerate().map(|(v, &c)| v * c).sum();
        (self.n > 0).then(|| sum as f32 / self.n as f32)
    }

    /// The k-th largest value (k from 1), 0 when there are fewer than k values.
    pub fn kth_largest(&self, k: usize) -> u8 {
        let mut acc = 0;
        for v in (0..256).rev() {
            acc += self.counts[v];
            if acc >= k {
                return v as u8;
            }
        }
        0
    }
}

/// The brightest value within `radius` (a (2r+1)×(2r+1) square) of each pixel: grey-level
/// dilation.
pub fn max_filter(img: Gray, radius: usize) -> GrayBuf {
    let mut out = GrayBuf::default();
    filter_into::<Max>(img, radius, &mut out, &mut FilterScratch::default());
    out
}

/// The darkest value within `radius` of each pixel: grey-level erosion.
pub fn min_filter(img: Gray, radius: usize) -> GrayBuf {
    let mut out = GrayBuf::default();
    filter_into::<Min>(img, radius, &mut out, &mut FilterScratch::default());
    out
}

/// [`max_filter`] into a reused buffer.
pub fn max_filter_into(img: Gray, radius: usize, out: &mut GrayBuf, s: &mut FilterScratch) {
    filter_into::<Max>(img, radius, out, s)
}

/// [`min_filter`] into a reused buffer.
pub fn min_filter_into(img: Gray, radius: usize, out: &mut GrayBuf, s: &mut FilterScratch) {
    filter_into::<Min>(img, radius, out, s)
}

/// Buffers the min/max filters reuse from call to call.
#[derive(Debug, Default)]
pub struct FilterScratch {
    rows: Vec<u8>,
    fwd: Vec<u8>,
    mid: GrayBuf,
}

/// Picks the larger or the smaller of two values; a type, so each filter is compiled for
/// one of them and its loops become vector instructions.
trait Pick {
    fn pick(a: u8, b: u8) -> u8;
}

struct Max;
struct Min;

impl Pick for Max {
    #[inline(always)]
    fn pick(a: u8, b: u8) -> u8 {
        a.max(b)
    }
}

impl Pick for Min {
    #[inline(always)]
    fn pick(a: u8, b: u8) -> u8 {
        a.min(b)
    }
}

/// Separable (2r+1)×(2r+1) max or min filter, van Herk / Gil–Werman: running extremes
/// within blocks of 2r+1 from both ends, so three operations a value whatever the radius.
/// Both passes run down columns, strips of them side by side in vector registers (see
/// [`vertical`]); the pass along rows is one down the transposed image.
fn filter_into<P: Pick>(img: Gray, r: usize, out: &mut GrayBuf, s: &mut FilterScratch) {
    let (w, h) = (img.w, img.h);
    if r == 1 {
        return filter3_into::<P>(img, out, &mut s.rows);
    }
    // Along rows: transpose, filter down the columns, transpose back.
    transpose_u8(img.pixels, w, h, &mut s.rows);
    let mut t = std::mem::take(&mut out.pixels);
    vertical::<P>(&s.rows, h, w, r, &mut t, &mut s.fwd);
    transpose_u8(&t, h, w, &mut s.rows);
    vertical::<P>(&s.rows, w, h, r, &mut t, &mut s.fwd);
    out.pixels = t;
    out.w = w;
    out.h = h;
}

/// The `A` filter then the `B` filter (a closing or an opening). Each square filter is its
/// column pass and its row pass in either order, so the two row passes run back to back on
/// one transposed image: two transposes instead of four.
fn filter_pair_into<A: Pick, B: Pick>(img: Gray, r: usize, out: &mut GrayBuf, s: &mut FilterScratch) {
    let (w, h) = (img.w, img.h);
    let mut t = std::mem::take(&mut out.pixels);
    let mut mid = std::mem::take(&mut s.mid.pixels);
    vertical::<A>(img.pixels, w, h, r, &mut t, &mut s.fwd);
    transpose_u8(&t, w, h, &mut s.rows);
    vertical::<A>(&s.rows, h, w, r, &mut mid, &mut s.fwd);
    vertical::<B>(&mid, h, w, r, &mut s.rows, &mut s.fwd);
    transpose_u8(&s.rows, h, w, &mut mid);
    vertical::<B>(&mid, w, h, r, &mut t, &mut s.fwd);
    s.mid.pixels = mid;
    out.pixels = t;
    out.w = w;
    out.h = h;
}

/// The 3×3 filter: each row from three neighbouring values (three shifted slices), then
/// each output row from three rows; no transposing.
fn filter3_into<P: Pick>(img: Gray, out: &mut GrayBuf, across: &mut Vec<u8>) {
    let (w, h) = (img.w, img.h);
    across.clear();
    across.resize(w * h, 0);
    for (src, dst) in img.pixels.chunks_exact(w).zip(across.chunks_exact_mut(w)) {
        if w == 1 {
            dst[0] = src[0];
            continue;
        }
        dst[0] = P::pick(src[0], src[1]);
        dst[w - 1] = P::pick(src[w - 2], src[w - 1]);
        for (((o, &a), &b), &c) in dst[1..w - 1].iter_mut().zip(&src[..w - 2]).zip(&src[1..w - 1]).zip(&src[2..]) {
            *o = P::pick(P::pick(a, b), c);
        }
    }
    out.pixels.clear();
    for y in 0..h {
        let (above, below) = (y.saturating_sub(1), (y + 1).min(h - 1));
        let rows = [above, y, below].map(|yy| &across[yy * w..(yy + 1) * w]);
        out.pixels.extend(rows[0].iter().zip(rows[1]).zip(rows[2]).map(|((&a, &b), &c)| P::pick(P::pick(a, b), c)));
    }
    out.w = w;
    out.h = h;
}

/// [`transpose`] of bytes. On x86-64 and aarch64 a picture at least 16 each way goes in
/// 16×16 blocks of vector registers (SSE2 and NEON, which every such processor has), the
/// last block of a row or column overlapping the one before it where the side is not a
/// multiple of 16 (it writes the same values again). Smaller pictures, and every picture
/// elsewhere, go in 8×8 blocks held in eight words and transposed inside them with three
/// rounds of masked shifts (Hacker's Delight 7–3); their ragged edges go one by one.
pub fn transpose_u8(src: &[u8], w: usize, h: usize, out: &mut Vec<u8>) {
    assert_eq!(src.len(), w * h, "a {w}×{h} picture");
    out.resize(w * h, 0);
    #[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
    if w >= 16 && h >= 16 {
        for y0 in (0..h).step_by(16).map(|y| y.min(h - 16)) {
            for x0 in (0..w).step_by(16).map(|x| x.min(w - 16)) {
                transpose16x16::<simd::Bytes>(src, w, x0, y0, out, h);
            }
        }
        return;
    }
    transpose8(src, w, h, out);
}

/// A vector register of 16 bytes, and what the 16×16 transpose asks of it.
#[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
trait Bytes16: Copy {
    fn load(src: &[u8; 16]) -> Self;
    fn store(self, dst: &mut [u8; 16]);
    /// The first eight bytes of `a` and `b` interleaved: a0 b0 a1 b1 … a7 b7.
    fn zip_lo(a: Self, b: Self) -> Self;
    /// The last eight interleaved: a8 b8 … a15 b15.
    fn zip_hi(a: Self, b: Self) -> Self;
}

/// SSE2 on x86-64 and NEON on aarch64 (the robot's Jetson): part of every such processor.
#[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
mod simd {
    #[cfg(target_arch = "aarch64")]
    use std::arch::aarch64::{uint8x16_t, vld1q_u8, vst1q_u8, vzip1q_u8, vzip2q_u8};
    #[cfg(target_arch = "x86_64")]
    use std::arch::x86_64::{__m128i, _mm_loadu_si128, _mm_storeu_si128, _mm_unpackhi_epi8, _mm_unpacklo_epi8};

    #[cfg(target_arch = "x86_64")]
    pub type Bytes = __m128i;
    #[cfg(target_arch = "aarch64")]
    pub type Bytes = uint8x16_t;

    // SAFETY (all four): the instruction sets are part of the architecture, and the loads
    // and stores go through 16-byte arrays, needing no alignment.
    #[cfg(target_arch = "x86_64")]
    impl super::Bytes16 for Bytes {
        #[inline(always)]
        fn load(src: &[u8; 16]) -> Self {
            unsafe { _mm_loadu_si128(src.as_ptr().cast()) }
        }
        #[inline(always)]
        fn store(self, dst: &mut [u8; 16]) {
            unsafe { _mm_storeu_si128(dst.as_mut_ptr().cast(), self) }
        }
        #[inline(always)]
        fn zip_lo(a: Self, b: Self) -> Self {
            unsafe { _mm_unpacklo_epi8(a, b) }
        }
        #[inline(always)]
        fn zip_hi(a: Self, b: Self) -> Self {
            unsafe { _mm_unpackhi_epi8(a, b) }
        }
    }

    #[cfg(target_arch = "aarch64")]
    impl super::Bytes16 for Bytes {
        #[inline(always)]
        fn load(src: &[u8; 16]) -> Self {
            unsafe { vld1q_u8(src.as_ptr()) }
        }
        #[inline(always)]
        fn store(self, dst: &mut [u8; 16]) {
            unsafe { vst1q_u8(dst.as_mut_ptr(), self) }
        }
        #[inline(always)]
        fn zip_lo(a: Self, b: Self) -> Self {
            unsafe { vzip1q_u8(a, b) }
        }
        #[inline(always)]
        fn zip_hi(a: Self, b: Self) -> Self {
            unsafe { vzip2q_u8(a, b) }
        }
    }
}

/// 4×4 cells of four rows, 64 columns (16 cells) at a time: each cell's mean (rounded, as
/// `(sum + 8) / 16`), darkest and brightest value, exactly as the general route computes
/// them. Returns how many columns it did: the rest is left to the caller.
#[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
mod pool4 {
    #[cfg(target_arch = "aarch64")]
    use std::arch::aarch64::*;
    #[cfg(target_arch = "x86_64")]
    use std::arch::x86_64::*;

    /// Asks for `bytes` to be brought into the cache. A band's four rows are short streams
    /// that the hardware's prefetcher hardly sees start before they end; the pooling is
    /// bound by memory when the frame is not in the cache.
    #[inline]
    pub fn prefetch(bytes: &[u8]) {
        for line in bytes.chunks(64) {
            // SAFETY: a prefetch only hints; the address is in the slice.
            #[cfg(target_arch = "x86_64")]
            unsafe {
                _mm_prefetch::<_MM_HINT_T0>(line.as_ptr().cast());
            }
            #[cfg(target_arch = "aarch64")]
            unsafe {
                std::arch::asm!("prfm pldl1keep, [{0}]", in(reg) line.as_ptr(), options(nostack, preserves_flags, readonly));
            }
        }
    }

    /// 64 columns of the band's four rows.
    type Block<'a> = [&'a [u8; 64]; 4];

    pub fn pool4_band<const MEAN: bool, const DARK: bool, const LIGHT: bool>(
        r: [&[u8]; 4],
        mean: &mut [u8],
        dark: &mut [u8],
        light: &mut [u8],
    ) -> usize {
        let [a, b, c, d] = r.map(|r| r.chunks_exact(64));
        for (i, (((a, b), c), d)) in a.zip(b).zip(c).zip(d).enumerate() {
            let block = [a, b, c, d].map(|r| -> &[u8; 64] { r.try_into().unwrap_or_else(|_| unreachable!()) });
            let o = i * 16..i * 16 + 16;
            let [m, d, l] = cells(block, MEAN, DARK, LIGHT);
            if MEAN {
                mean[o.clone()].copy_from_slice(&m);
            }
            if DARK {
                dark[o.clone()].copy_from_slice(&d);
            }
            if LIGHT {
                light[o].copy_from_slice(&l);
            }
        }
        r[0].len() / 64 * 64
    }

    /// The mean, darkest and brightest of the 16 cells of a block (piece k is its
    /// columns 16k..16k + 16);
    /// the kinds not wanted come back as zeros.
    // SAFETY (both): SSE2 and NEON are part of the architecture, and every load reads a
    // 16-byte array.
    #[cfg(target_arch = "x86_64")]
    #[inline(always)]
    fn cells(rows: Block, mean: bool, dark: bool, light: bool) -> [[u8; 16]; 3] {
        unsafe {
            let zero = _mm_setzero_si128();
            // Bytes 0-3 and 8-11 (cells 0 and 2 of a piece), and 4-7 and 12-15 (1 and 3).
            let even = _mm_set_epi32(0, -1, 0, -1);
            let odd = _mm_set_epi32(-1, 0, -1, 0);
            let low = _mm_set1_epi32(0xff);
            let mut ms = [zero; 4];
            let mut ds = [zero; 4];
            let mut ls = [zero; 4];
            for k in 0..4 {
                let v: [__m128i; 4] = std::array::from_fn(|y| _mm_loadu_si128(rows[y][16 * k..].as_ptr().cast()));
                if mean {
                    // psadbw sums each half's bytes into its 64-bit lane.
                    let (mut e, mut o) = (zero, zero);
                    for v in v {
                        e = _mm_add_epi64(e, _mm_sad_epu8(_mm_and_si128(v, even), zero));
                        o = _mm_add_epi64(o, _mm_sad_epu8(_mm_and_si128(v, odd), zero));
                    }
                    let sums = _mm_or_si128(e, _mm_slli_epi64(o, 32));
                    ms[k] = _mm_srli_epi32(_mm_add_epi32(sums, _mm_set1_epi32(8)), 4);
                }
                if dark {
                    let c = _mm_min_epu8(_mm_min_epu8(v[0], v[1]), _mm_min_epu8(v[2], v[3]));
                    let c = _mm_min_epu8(c, _mm_srli_epi16(c, 8));
                    ds[k] = _mm_and_si128(_mm_min_epu8(c, _mm_srli_epi32(c, 16)), low);
                }
                if light {
                    let c = _mm_max_epu8(_mm_max_epu8(v[0], v[1]), _mm_max_epu8(v[2], v[3]));
                    let c = _mm_max_epu8(c, _mm_srli_epi16(c, 8));
                    ls[k] = _mm_and_si128(_mm_max_epu8(c, _mm_srli_epi32(c, 16)), low);
                }
            }
            // Four vectors of four 32-bit values (all ≤ 255) into sixteen bytes, in order.
            let pack = |q: [__m128i; 4]| {
                let mut out = [0u8; 16];
                let p = _mm_packus_epi16(_mm_packs_epi32(q[0], q[1]), _mm_packs_epi32(q[2], q[3]));
                _mm_storeu_si128(out.as_mut_ptr().cast(), p);
                out
            };
            [pack(ms), pack(ds), pack(ls)]
        }
    }

    #[cfg(target_arch = "aarch64")]
    #[inline(always)]
    fn cells(rows: Block, mean: bool, dark: bool, light: bool) -> [[u8; 16]; 3] {
        unsafe {
            let mut ms = [vdupq_n_u32(0); 4];
            let mut ds = [vdupq_n_u8(0); 4];
            let mut ls = [vdupq_n_u8(0); 4];
            for k in 0..4 {
                let v: [uint8x16_t; 4] = std::array::from_fn(|y| vld1q_u8(rows[y][16 * k..].as_ptr()));
                if mean {
                    // Pairwise sums, then pairs of pairs: each 32-bit lane one cell's sum.
                    let s = vpadalq_u8(vpadalq_u8(vpadalq_u8(vpaddlq_u8(v[0]), v[1]), v[2]), v[3]);
                    ms[k] = vrshrq_n_u32::<4>(vpaddlq_u16(s));
                }
                if dark {
                    ds[k] = vminq_u8(vminq_u8(v[0], v[1]), vminq_u8(v[2], v[3]));
                }
                if light {
                    ls[k] = vmaxq_u8(vmaxq_u8(v[0], v[1]), vmaxq_u8(v[2], v[3]));
                }
            }
            let mut out = [[0u8; 16]; 3];
            let narrow = |q: [uint32x4_t; 4]| {
                let lo = vcombine_u16(vmovn_u32(q[0]), vmovn_u32(q[1]));
                let hi = vcombine_u16(vmovn_u32(q[2]), vmovn_u32(q[3]));
                vcombine_u8(vmovn_u16(lo), vmovn_u16(hi))
            };
            vst1q_u8(out[0].as_mut_ptr(), narrow(ms));
            // Pairwise across adjacent bytes twice: pieces 0..3's cells, in order.
            vst1q_u8(out[1].as_mut_ptr(), vpminq_u8(vpminq_u8(ds[0], ds[1]), vpminq_u8(ds[2], ds[3])));
            vst1q_u8(out[2].as_mut_ptr(), vpmaxq_u8(vpmaxq_u8(ls[0], ls[1]), vpmaxq_u8(ls[2], ls[3])));
            out
        }
    }
}

/// Moves the 16×16 block at (x0, y0) of `src` (`w` wide) to (y0, x0) of `out` (`h` wide).
/// Four rounds of interleaving the bytes of rows k and k + 8 transpose it: each round
/// moves one bit of the row number into the column number and back (row bits
/// i3 i2 i1 i0, column bits j3 j2 j1 j0 become j3 j2 j1 j0 and i3 i2 i1 i0).
#[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
#[inline(always)]
fn transpose16x16<V: Bytes16>(src: &[u8], w: usize, x0: usize, y0: usize, out: &mut [u8], h: usize) {
    let r: [V; 16] =
        std::array::from_fn(|k| V::load(src[(y0 + k) * w + x0..][..16].try_into().unwrap_or_else(|_| unreachable!())));
    // Written out, so the registers are renamed rather than copied.
    #[inline(always)]
    fn interleave<V: Bytes16>(r: [V; 16]) -> [V; 16] {
        let z = |k: usize| [V::zip_lo(r[k], r[k + 8]), V::zip_hi(r[k], r[k + 8])];
        let [a, b, c, d, e, f, g, h] = [z(0), z(1), z(2), z(3), z(4), z(5), z(6), z(7)];
        [a[0], a[1], b[0], b[1], c[0], c[1], d[0], d[1], e[0], e[1], f[0], f[1], g[0], g[1], h[0], h[1]]
    }
    let r = interleave(interleave(interleave(interleave(r))));
    for (k, v) in r.into_iter().enumerate() {
        v.store((&mut out[(x0 + k) * h + y0..][..16]).try_into().unwrap_or_else(|_| unreachable!()));
    }
}

/// [`transpose_u8`] in 8×8 blocks, then one by one.
fn transpose8(src: &[u8], w: usize, h: usize, out: &mut [u8]) {
    let (bx, by) = (w / 8 * 8, h / 8 * 8);
    for y0 in (0..by).step_by(8) {
        for x0 in (0..bx).step_by(8) {
            let mut rows = [0u64; 8];
            for (k, r) in rows.iter_mut().enumerate() {
                let at = (y0 + k) * w + x0;
                *r = u64::from_le_bytes(src[at..at + 8].try_into().unwrap_or_else(|_| unreachable!()));
            }
            let cols = transpose8x8(rows);
            for (k, c) in cols.iter().enumerate() {
                let at = (x0 + k) * h + y0;
                out[at..at + 8].copy_from_slice(&c.to_le_bytes());
            }
        }
    }
    // The columns right of the last whole block, then the rows below it.
    for y in 0..by {
        for x in bx..w {
            out[x * h + y] = src[y * w + x];
        }
    }
    for y in by..h {
        for x in 0..w {
            out[x * h + y] = src[y * w + x];
        }
    }
}

/// Transposes an 8×8 byte matrix held as eight little-endian row words (byte `j` of word
/// `i` is element (i, j)).
#[inline(always)]
fn transpose8x8(r: [u64; 8]) -> [u64; 8] {
    // Bytes as a 64-byte matrix in one pass each: swap 1×1 elements within 2×2 blocks, then
    // 2×2 blocks within 4×4, then 4×4 within 8×8.
    let mut r = r;
    for (shift, mask, step) in
        [(8u32, 0x00FF_00FF_00FF_00FFu64, 1usize), (16, 0x0000_FFFF_0000_FFFF, 2), (32, 0x0000_0000_FFFF_FFFF, 4)]
    {
        for i in 0..8 {
            if i & step == 0 {
                let (a, b) = (r[i], r[i + step]);
                // Element (i, j+1 within pair) goes to (i+step, j) and back.
                let t = ((a >> shift) ^ b) & mask;
                r[i] = a ^ (t << shift);
                r[i + step] = b ^ t;
            }
        }
    }
    r
}

/// `out` (`h`×`w`) = `src` (`w`×`h`) transposed.
pub fn transpose<T: Copy + Default>(src: &[T], w: usize, h: usize, out: &mut Vec<T>) {
    // Every element is written below: no need to clear it first.
    out.resize(w * h, T::default());
    // Eight source rows at a time: each output row gets eight neighbouring values per write.
    let mut y0 = 0;
    while y0 + 8 <= h {
        let rows: [&[T]; 8] = std::array::from_fn(|k| &src[(y0 + k) * w..(y0 + k + 1) * w]);
        for (x, dst) in out.chunks_exact_mut(h).enumerate() {
            let dst: &mut [T; 8] = (&mut dst[y0..y0 + 8]).try_into().unwrap_or_else(|_| unreachable!());
            for k in 0..8 {
                dst[k] = rows[k][x];
            }
        }
        y0 += 8;
    }
    for y in y0..h {
        for (x, &v) in src[y * w..(y + 1) * w].iter().enumerate() {
            out[x * h + y] = v;
        }
    }
}

/// The van Herk filter down the columns of a `w`×`h` image, in strips of up to 64 columns
/// (a strip's row is a few vector registers). The last strip may overlap the one before
/// it, which writes the same values again: that costs less than going on in narrower
/// strips, each with its own pass over the rows.
fn vertical<P: Pick>(src: &[u8], w: usize, h: usize, r: usize, out: &mut Vec<u8>, fwd: &mut Vec<u8>) {
    // Every value of both is written below: no need to clear them first.
    fwd.resize(w * h, 0);
    out.resize(w * h, 0);
    if h == 0 {
        return;
    }
    match w {
        64.. => strips::<P, 64>(src, w, h, r, out, fwd),
        32.. => strips::<P, 32>(src, w, h, r, out, fwd),
        16.. => strips::<P, 16>(src, w, h, r, out, fwd),
        8.. => strips::<P, 8>(src, w, h, r, out, fwd),
        _ => strips::<P, 1>(src, w, h, r, out, fwd),
    }
}

fn strips<P: Pick, const N: usize>(src: &[u8], w: usize, h: usize, r: usize, out: &mut [u8], fwd: &mut [u8]) {
    for x in (0..w).step_by(N) {
        strip::<P, N>(src, w, h, r, x.min(w - N), out, fwd);
    }
}

/// The filter down the `N` columns from `x`. Blocks of k = 2r + 1 rows: going down, the
/// extreme from each block's first row to each row is kept in `fwd`; going up, the extreme
/// from each row to its block's last is carried along, and meets there the one `fwd` holds
/// 2r rows further down (in the next block, or the same one when the row starts a block):
/// together they cover the window of the row r below.
#[inline(always)]
fn strip<P: Pick, const N: usize>(src: &[u8], w: usize, h: usize, r: usize, x: usize, out: &mut [u8], fwd: &mut [u8]) {
    let k = 2 * r + 1;
    let last = h - 1;
    let at = |y: usize| y * w + x..y * w + x + N;
    let load = |buf: &[u8], y: usize| -> [u8; N] { buf[at(y)].try_into().unwrap_or_else(|_| unreachable!()) };
    let pick = |a: [u8; N], b: [u8; N]| -> [u8; N] { std::array::from_fn(|i| P::pick(a[i], b[i])) };
    let mut run = [0u8; N];
    let mut in_block = 0;
    for y in 0..h {
        let v = load(src, y);
        run = if in_block == 0 { v } else { pick(v, run) };
        in_block = if in_block + 1 == k { 0 } else { in_block + 1 };
        fwd[at(y)].copy_from_slice(&run);
    }
    // The last block ends at the last row, wherever that cuts it.
    let last_start = last - last % k;
    let mut start = last_start;
    for y in (0..h).rev() {
        let v = load(src, y);
        let fresh = y == last || y < start;
        if y < start {
            start -= k;
        }
        run = if fresh { v } else { pick(v, run) };
        if y + r > last {
            continue;
        }
        // The window of row y + r: rows y..=y + 2r, cut short at the last row.
        let end = y + 2 * r;
        let o = if end <= last {
            pick(run, load(fwd, end))
        } else if start == last_start {
            run
        } else {
            pick(run, load(fwd, last))
        };
        out[at(y + r)].copy_from_slice(&o);
    }
    // The top rows' windows start at row 0, the first block's first row.
    for y in 0..r.min(h) {
        let o = load(fwd, (y + r).min(last));
        out[at(y)].copy_from_slice(&o);
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
/// Returns a label per pixel (0 = none, components numbered from 1 in the order their
/// first pixel comes in a row-by-row scan) and the components.
pub fn components(mask: &[u8], weight: &[u8], w: usize, h: usize) -> (Vec<u32>, Vec<Component>) {
    let mut l = Labeller::default();
    l.label(mask, weight, w, h);
    (l.labels, l.comps)
}

/// Connected-component labelling with buffers reused from call to call. It works on runs
/// of mask pixels along rows, joined with the overlapping runs of the row above through a
/// union-find, so its cost grows with the number of runs, not of pixels.
#[derive(Debug, Default)]
pub struct Labeller {
    /// A label per pixel: 0 for none, else the component's `label`.
    pub labels: Vec<u32>,
    pub comps: Vec<Component>,
    /// Runs as (row, start, end), end exclusive.
    runs: Vec<(u32, u32, u32)>,
    parent: Vec<u32>,
    /// Each run's component (index into `comps`).
    id: Vec<u32>,
    /// The width of the last image labelled.
    width: usize,
}

impl Labeller {
    fn find(parent: &mut [u32], mut a: u32) -> u32 {
        while parent[a as usize] != a {
            parent[a as usize] = parent[parent[a as usize] as usize];
            a = parent[a as usize];
        }
        a
    }

    /// Labels `mask` (see [`components`]); the result is in `labels` and `comps`.
    pub fn label(&mut self, mask: &[u8], weight: &[u8], w: usize, h: usize) {
        // Only the pixels the last call painted need clearing, if it had the same shape
        // (the runs are rows and columns of it).
        if self.labels.len() == w * h && self.width == w {
            for &(y, x0, x1) in &self.runs {
                let row = y as usize * w;
                self.labels[row + x0 as usize..row + x1 as usize].fill(0);
            }
        } else {
            self.labels.clear();
            self.labels.resize(w * h, 0);
        }
        self.runs.clear();
        self.width = w;
        self.parent.clear();
        self.comps.clear();
        // Runs, row by row, each joined to the runs of the row above that it touches
        // (diagonal contact included).
        let mut prev = 0..0;
        for y in 0..h {
            let row = &mask[y * w..(y + 1) * w];
            let here = self.runs.len();
            // Runs of the row above, left to right: those ending left of a run end left of
            // every later run too, and are passed over for good.
            let mut above = prev.start;
            let mut x = 0;
            while x < w {
                x = first_set(row, x);
                if x >= w {
                    break;
                }
                let start = x;
                // To the run's end, eight bytes at a time while none is zero: a word's
                // first zero byte is the lowest one whose high bit is set in
                // (v - 0x01…) & !v & 0x80… (Hacker's Delight 6–1).
                while let Some(word) = row.get(x..x + 8) {
                    let v = u64::from_le_bytes(word.try_into().unwrap_or_else(|_| unreachable!()));
                    let zeros = v.wrapping_sub(0x0101_0101_0101_0101) & !v & 0x8080_8080_8080_8080;
                    if zeros != 0 {
                        x += zeros.trailing_zeros() as usize / 8;
                        break;
                    }
                    x += 8;
                }
                while x < w && row[x] != 0 {
                    x += 1;
                }
                let me = self.runs.len() as u32;
                self.runs.push((y as u32, start as u32, x as u32));
                self.parent.push(me);
                while above < prev.end && self.runs[above].2 < start as u32 {
                    above += 1;
                }
                for p in above..prev.end {
                    let (_, ps, pe) = self.runs[p];
                    if ps > x as u32 {
                        break;
                    }
                    if start as u32 <= pe {
                        let (a, b) = (Self::find(&mut self.parent, p as u32), Self::find(&mut self.parent, me));
                        // The older run's root stays the root: components keep scan order.
                        let (lo, hi) = (a.min(b), a.max(b));
                        self.parent[hi as usize] = lo;
                    }
                }
            }
            prev = here..self.runs.len();
        }
        // Components in order of their first run, which is scan order.
        self.id.clear();
        self.id.resize(self.runs.len(), u32::MAX);
        for r in 0..self.runs.len() {
            let root = Self::find(&mut self.parent, r as u32) as usize;
            if self.id[root] == u32::MAX {
                let (y, x0, _) = self.runs[root];
                self.id[root] = self.comps.len() as u32;
                self.comps.push(Component {
                    bbox: Rect::point(x0 as usize, y as usize),
                    area: 0,
                    mass: 0,
                    peak: 0,
                    border_contact: 0,
                    sides: 0,
                    label: self.comps.len() as u32 + 1,
                });
            }
            let id = self.id[root];
            self.id[r] = id;
            let (y, x0, x1) = self.runs[r];
            let (y, x0, x1) = (y as usize, x0 as usize, x1 as usize);
            let c = &mut self.comps[id as usize];
            let span = &weight[y * w + x0..y * w + x1];
            c.area += x1 - x0;
            c.mass += span.iter().map(|&v| v as u64).sum::<u64>();
            c.peak = c.peak.max(span.iter().copied().max().unwrap_or(0));
            c.bbox = c.bbox.union(&Rect { x0, y0: y, x1: x1 - 1, y1: y });
            let edge_row = y == 0 || y == h - 1;
            // Pixels on the image's edge: the whole run on the top or bottom row, else its
            // ends at the left and right edges (one pixel if the image is one wide).
            c.border_contact += if edge_row { x1 - x0 } else { (x0 == 0) as usize + (x1 == w && x1 > 1) as usize };
            c.sides |= (y == 0) as u8 | ((y == h - 1) as u8) << 1 | ((x0 == 0) as u8) << 2 | ((x1 == w) as u8) << 3;
            self.labels[y * w + x0..y * w + x1].fill(c.label);
        }
    }

    /// The last mask's runs of pixels, row by row: (row, first column, end column
    /// (exclusive), index into `comps` of the run's component; after labelling, each run's
    /// `id` is that index).
    pub fn runs(&self) -> impl Iterator<Item = (usize, usize, usize, usize)> + '_ {
        self.runs.iter().zip(&self.id).map(|(&(y, x0, x1), &id)| (y as usize, x0 as usize, x1 as usize, id as usize))
    }

    /// Sets `out` (the last mask's size, cleared here) to 1 on the components `keep`
    /// chooses: run by run, not pixel by pixel.
    pub fn paint(&self, out: &mut Vec<u8>, keep: impl Fn(&Component) -> bool) {
        out.clear();
        out.resize(self.labels.len(), 0);
        let w = self.width;
        for (y, x0, x1, id) in self.runs() {
            if keep(&self.comps[id]) {
                out[y * w + x0..y * w + x1].fill(1);
            }
        }
    }
}

/// The index of the first non-zero byte of `row` at or after `from` (`row.len()` if there
/// is none). Masks are mostly empty: they are skipped 32 bytes at a time, then eight.
#[inline]
pub fn first_set(row: &[u8], mut from: usize) -> usize {
    while let Some(block) = row.get(from..from + 32) {
        let word = |i: usize| u64::from_le_bytes(block[i..i + 8].try_into().unwrap_or_else(|_| unreachable!()));
        if word(0) | word(8) | word(16) | word(24) != 0 {
            break;
        }
        from += 32;
    }
    while let Some(word) = row.get(from..from + 8) {
        let word = u64::from_le_bytes(word.try_into().unwrap_or_else(|_| unreachable!()));
        if word != 0 {
            return from + word.trailing_zeros() as usize / 8;
        }
        from += 8;
    }
    row.iter().skip(from).position(|&v| v != 0).map_or(row.len(), |p| from + p)
}

/// The smallest rectangle holding every non-zero value.
/// [`tight_box`] of a grey image: the box of its non-zero pixels. Whole rows are searched
/// from both ends, so a row costs little more than its empty margins.
pub fn tight_box_u8(img: &[u8], w: usize, h: usize) -> Option<Rect> {
    let mut r: Option<Rect> = None;
    for (y, row) in img.chunks_exact(w.max(1)).take(h).enumerate() {
        let Some(x0) = row.iter().position(|&v| v != 0) else { continue };
        let x1 = row.iter().rposition(|&v| v != 0).unwrap_or(x0);
        let span = Rect { x0, y0: y, x1, y1: y };
        r = Some(r.map_or(span, |r| r.union(&span)));
    }
    r
}

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
    morph_plus_into(img, w, h, op, &mut out);
    out
}

/// [`morph_plus`] into `out` (as long as `img`).
pub fn morph_plus_into(img: &[u8], w: usize, h: usize, op: fn(u8, u8) -> u8, out: &mut [u8]) {
    for y in 0..h {
        for x in 0..w {
            let mut v = img[y * w + x];
            if x > 0 {
                v = op(v, img[y * w + x - 1]);
            }
            if x + 1 < w {
                v = op(v, img[y * w + x + 1]);
            }
            if y > 0 {
                v = op(v, img[(y - 1) * w + x]);
            }
            if y + 1 < h {
                v = op(v, img[(y + 1) * w + x]);
            }
            out[y * w + x] = v;
        }
    }
}

/// Area-average resampling: each output pixel is the mean of the source area it covers,
/// with fractional coverage at the edges.
pub fn resize_area(src: &[f32], sw: usize, sh: usize, dw: usize, dh: usize) -> Vec<f32> {
    let mut out = Vec::new();
    resize_area_into(src, sw, sh, dw, dh, &mut out, &mut ResizeScratch::default());
    out
}

/// The source spans [`resize_area_into`] reuses: per output column and row, the source
/// pixels it covers and with what weight.
#[derive(Debug, Default)]
pub struct ResizeScratch {
    across: Vec<f32>,
    xs: Vec<(usize, f32)>,
    x_at: Vec<(usize, usize)>,
    ys: Vec<(usize, f32)>,
    y_at: Vec<(usize, usize)>,
}

fn spans(n: usize, scale: f32, limit: usize, items: &mut Vec<(usize, f32)>, at: &mut Vec<(usize, usize)>) {
    items.clear();
    at.clear();
    for o in 0..n {
        let (a, b) = (o as f32 * scale, (o + 1) as f32 * scale);
        let start = items.len();
        let mut i = a.floor() as usize;
        while (i as f32) < b && i < limit {
            let cover = (b.min(i as f32 + 1.0) - a.max(i as f32)).max(0.0);
            if cover > 0.0 {
                items.push((i, cover));
            }
            i += 1;
        }
        at.push((start, items.len()));
    }
}

/// [`resize_area`] into reused buffers.
pub fn resize_area_into(
    src: &[f32],
    sw: usize,
    sh: usize,
    dw: usize,
    dh: usize,
    out: &mut Vec<f32>,
    s: &mut ResizeScratch,
) {
    let (sx, sy) = (sw as f32 / dw as f32, sh as f32 / dh as f32);
    spans(dw, sx, sw, &mut s.xs, &mut s.x_at);
    spans(dh, sy, sh, &mut s.ys, &mut s.y_at);
    // Separably: each source row across into `dw` columns, then the rows down into `dh`.
    s.across.clear();
    for row in src.chunks_exact(sw.max(1)).take(sh) {
        s.across.extend(s.x_at.iter().map(|&(x0, x1)| s.xs[x0..x1].iter().map(|&(ix, wx)| row[ix] * wx).sum::<f32>()));
    }
    out.clear();
    out.resize(dw * dh, 0.0);
    for (oy, &(y0, y1)) in s.y_at.iter().enumerate() {
        let dst = &mut out[oy * dw..(oy + 1) * dw];
        let mut wy_sum = 0f32;
        for &(iy, wy) in &s.ys[y0..y1] {
            wy_sum += wy;
            for (o, &v) in dst.iter_mut().zip(&s.across[iy * dw..(iy + 1) * dw]) {
                *o += v * wy;
            }
        }
        for (o, &(x0, x1)) in dst.iter_mut().zip(&s.x_at) {
            let wsum = wy_sum * s.xs[x0..x1].iter().map(|&(_, wx)| wx).sum::<f32>();
            *o = if wsum > 0.0 { *o / wsum } else { 0.0 };
        }
    }
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
    fn first_set_finds_the_first_non_zero_byte_from_a_place() {
        let mut row = vec![0u8; 21];
        assert_eq!(first_set(&row, 0), 21);
        assert_eq!(first_set(&row, 30), 21);
        row[9] = 4;
        row[20] = 1;
        assert_eq!(first_set(&row, 0), 9);
        assert_eq!(first_set(&row, 9), 9);
        assert_eq!(first_set(&row, 10), 20, "past the last whole word");
        // Longer rows are skipped a block of 32 at a time, then a word.
        let mut long = vec![0u8; 100];
        assert_eq!(first_set(&long, 0), 100);
        long[45] = 1;
        long[99] = 7;
        assert_eq!(first_set(&long, 0), 45, "in the second block");
        assert_eq!(first_set(&long, 3), 45, "from inside the first");
        assert_eq!(first_set(&long, 46), 99, "in the tail past the blocks and words");
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
    fn pooling_matches_the_plain_cell_by_cell_answer_for_any_factor() {
        // 200 wide: three blocks of 64 columns for the vector route, and 8 left over; 66
        // and 514 wide: fewer columns left over than one cell (a rotated photo of 514×514
        // crashed here); 3 wide: narrower than one cell.
        for (w, h) in [(37, 23), (64, 48), (9, 30), (200, 18), (66, 8), (514, 9), (3, 5)] {
            let px: Vec<u8> = (0..w * h).map(|i| ((i * 7919 + i / 11) % 256) as u8).collect();
            for f in [1, 2, 3, 4, 5, 8, 12] {
                let (mean, dark, light) = pool(Gray::new(&px, w, h).unwrap(), f);
                for oy in 0..h.div_ceil(f) {
                    for ox in 0..w.div_ceil(f) {
                        let cell: Vec<u8> = (oy * f..((oy + 1) * f).min(h))
                            .flat_map(|y| (ox * f..((ox + 1) * f).min(w)).map(move |x| (x, y)))
                            .map(|(x, y)| px[y * w + x])
                            .collect();
                        let n = cell.len() as u32;
                        let at = oy * w.div_ceil(f) + ox;
                        let sum: u32 = cell.iter().map(|&v| v as u32).sum();
                        assert_eq!(mean.pixels[at], ((sum + n / 2) / n) as u8, "{w}x{h} f={f}");
                        assert_eq!(dark.pixels[at], *cell.iter().min().unwrap());
                        assert_eq!(light.pixels[at], *cell.iter().max().unwrap());
                    }
                }
            }
        }
    }

    #[test]
    fn pooling_some_gives_what_pooling_all_gives_and_leaves_the_rest() {
        // One scratch through frames of several widths and every choice of outputs, as the
        // preprocessor reuses it: each output made equals pooling all three; each not made
        // keeps its old contents.
        let mut s = PoolScratch::default();
        for (w, h) in [(64, 48), (37, 23), (640, 480), (9, 30), (200, 18)] {
            let px: Vec<u8> = (0..w * h).map(|i| ((i * 7919) % 251) as u8).collect();
            let img = Gray::new(&px, w, h).unwrap();
            for f in [2, 3, 4] {
                let all = pool(img, f);
                for k in 1..8u8 {
                    let which = Pools { mean: k & 1 != 0, dark: k & 2 != 0, light: k & 4 != 0 };
                    let old = GrayBuf { w: 1, h: 1, pixels: vec![7] };
                    let (mut mean, mut dark, mut light) = (old.clone(), old.clone(), old.clone());
                    pool_some_into(img, f, which, &mut mean, &mut dark, &mut light, &mut s);
                    for (made, got, want) in
                        [(which.mean, &mean, &all.0), (which.dark, &dark, &all.1), (which.light, &light, &all.2)]
                    {
                        assert_eq!(got, if made { want } else { &old }, "{w}x{h} f={f} {which:?}");
                    }
                }
            }
        }
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
    fn max_and_min_filters_match_the_naive_square_window() {
        // Widths that take each strip width (64, 32, 16, 8, one column), with a last strip
        // overlapping the one before; heights cut in blocks or shorter than one.
        for (w, h) in [(37, 23), (23, 37), (64, 9), (70, 6), (16, 5), (9, 40), (5, 3), (1, 7), (7, 1), (33, 2)] {
            let px: Vec<u8> = (0..w * h).map(|i| ((i * 7919) % 251) as u8).collect();
            let px = px.as_slice();
            for r in [1, 2, 5, 16, 30] {
                let img = Gray::new(px, w, h).unwrap();
                let (max, min) = (max_filter(img, r), min_filter(img, r));
                for y in 0..h {
                    for x in 0..w {
                        let window = (y.saturating_sub(r)..=(y + r).min(h - 1))
                            .flat_map(|yy| (x.saturating_sub(r)..=(x + r).min(w - 1)).map(move |xx| px[yy * w + xx]));
                        let at = y * w + x;
                        assert_eq!(Some(max.pixels[at]), window.clone().max(), "max {w}x{h} r={r} x={x} y={y}");
                        assert_eq!(Some(min.pixels[at]), window.min(), "min {w}x{h} r={r} x={x} y={y}");
                    }
                }
            }
        }
    }

    #[test]
    fn area_resize_averages_what_each_output_pixel_covers() {
        // 6×4 → 3×2: each output pixel is the mean of a 2×2 block.
        let src: Vec<f32> = (0..24).map(|i| i as f32).collect();
        let out = resize_area(&src, 6, 4, 3, 2);
        assert_eq!(out, vec![3.5, 5.5, 7.5, 15.5, 17.5, 19.5]);
        // 5 → 2 across: the middle column is split between both halves.
        let out = resize_area(&[0.0, 0.0, 10.0, 20.0, 20.0], 5, 1, 2, 1);
        assert!((out[0] - 2.0).abs() < 1e-5 && (out[1] - 18.0).abs() < 1e-5, "{out:?}");
    }

    #[test]
    fn byte_transpose_matches_the_plain_one() {
        for (w, h) in [
            (8, 8),
            (16, 24),
            (37, 23),
            (5, 3),
            (160, 120),
            (120, 160),
            (80, 60),
            (1, 9),
            (35, 50),
            (16, 16),
            (15, 40),
            (40, 17),
        ] {
            let px: Vec<u8> = (0..w * h).map(|i| (i * 31 % 251) as u8).collect();
            let (mut fast, mut plain) = (Vec::new(), Vec::new());
            transpose_u8(&px, w, h, &mut fast);
            transpose(&px, w, h, &mut plain);
            assert_eq!(fast, plain, "{w}x{h}");
        }
    }

    #[test]
    fn closing_and_opening_are_the_two_filters_in_turn() {
        let (w, h) = (41, 19);
        let px: Vec<u8> = (0..w * h).map(|i| ((i * 104_729) % 253) as u8).collect();
        let img = Gray::new(&px, w, h).unwrap();
        for r in [1, 3, 9, 25] {
            let max_then_min = min_filter(max_filter(img, r).view(), r);
            let min_then_max = max_filter(min_filter(img, r).view(), r);
            assert_eq!(closing(img, r).pixels, max_then_min.pixels, "closing r={r}");
            assert_eq!(opening(img, r).pixels, min_then_max.pixels, "opening r={r}");
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
    fn a_labeller_reused_on_another_shape_of_the_same_size_starts_clean() {
        // 6×2 then 2×6: the same number of pixels, other rows. (Found by eval on photos
        // of several sizes: stale labels pointed past the components.)
        let wide = [1u8, 1, 0, 1, 1, 1, 0, 1, 1, 1, 0, 1];
        let tall = [1u8, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 1];
        let mut l = Labeller::default();
        l.label(&wide, &wide, 6, 2);
        l.label(&tall, &tall, 2, 6);
        let (labels, comps) = components(&tall, &tall, 2, 6);
        assert_eq!(l.labels, labels);
        assert_eq!(l.comps.len(), comps.len());
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

    /// The plain flood fill the run-based labeller replaced: the oracle it is checked against.
    fn flood_fill(mask: &[u8], weight: &[u8], w: usize, h: usize) -> (Vec<u32>, Vec<Component>) {
        let mut labels = vec![0u32; mask.len()];
        let mut comps = Vec::new();
        for start in 0..mask.len() {
            if mask[start] == 0 || labels[start] != 0 {
                continue;
            }
            let label = comps.len() as u32 + 1;
            let mut c = Component {
                bbox: Rect::point(start % w, start / w),
                area: 0,
                mass: 0,
                peak: 0,
                border_contact: 0,
                sides: 0,
                label,
            };
            labels[start] = label;
            let mut stack = vec![start];
            while let Some(i) = stack.pop() {
                let (x, y) = (i % w, i / w);
                c.area += 1;
                c.mass += weight[i] as u64;
                c.peak = c.peak.max(weight[i]);
                c.bbox = c.bbox.union(&Rect::point(x, y));
                let sides =
                    (y == 0) as u8 | ((y == h - 1) as u8) << 1 | ((x == 0) as u8) << 2 | ((x == w - 1) as u8) << 3;
                c.border_contact += (sides != 0) as usize;
                c.sides |= sides;
                for (dx, dy) in [(-1, -1), (0, -1), (1, -1), (-1, 0), (1, 0), (-1, 1), (0, 1), (1, 1)] {
                    let (nx, ny) = (x as i32 + dx, y as i32 + dy);
                    if nx >= 0 && ny >= 0 && nx < w as i32 && ny < h as i32 {
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

    #[test]
    fn run_labelling_matches_a_flood_fill() {
        let mut seed = 7u64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        // Any non-zero byte is set (the labeller reads masks eight bytes at a time); one
        // labeller reused throughout, as the preprocessor does.
        let mut reused = Labeller::default();
        for _ in 0..600 {
            let (w, h) = (1 + (next() % 40) as usize, 1 + (next() % 24) as usize);
            let density = next() % 100;
            let mask: Vec<u8> =
                (0..w * h).map(|_| if next() % 100 < density { 1 + (next() % 255) as u8 } else { 0 }).collect();
            let weight: Vec<u8> = (0..w * h).map(|_| next() as u8).collect();
            let (la, ca) = components(&mask, &weight, w, h);
            let (lb, cb) = flood_fill(&mask, &weight, w, h);
            assert_eq!(la, lb, "{w}x{h}");
            assert_eq!(format!("{ca:?}"), format!("{cb:?}"), "{w}x{h}");
            reused.label(&mask, &weight, w, h);
            assert_eq!(reused.labels, lb, "{w}x{h}, reused");
            // Painting chosen components gives the pixels whose component was chosen.
            let mut painted = Vec::new();
            reused.paint(&mut painted, |c| c.area % 2 == 0);
            let want: Vec<u8> = lb.iter().map(|&l| (l != 0 && cb[l as usize - 1].area % 2 == 0) as u8).collect();
            assert_eq!(painted, want, "{w}x{h}, painted");
        }
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
        assert_eq!(Histogram::of(&img).mean(), Some(92.0));
        assert_eq!(Histogram::of(&[]).mean(), None);
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
