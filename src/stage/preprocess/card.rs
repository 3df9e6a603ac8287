//! Finding the card or sheet a digit is written on, when it lies on something darker, so
//! that the digit is looked for only on it and the card's own edges are never strokes.

use crate::gray::{
    closing_into, downscale_area_into, min_filter_into, opening_into, otsu, FilterScratch, Gray, GrayBuf, Labeller,
    Tally,
};

/// A card no larger than this share of the view, and bright under less than this share of
/// itself, is doubtful (see [`CardScratch::doubtful`]). Cards of the simulator and of the
/// stress generators that small measure 0.82 and more; bold light digits of real images,
/// their gaps closed over, 0.80 and less.
const DOUBTFUL_SHARE: f32 = 0.25;
const DOUBTFUL_BRIGHT: f32 = 0.85;
/// A doubtful card bright under less than this share of itself is as likely a bold light
/// digit as a card (see [`CardScratch::rival`]): bold light digits of real images and of
/// the fixtures, their gaps closed over, measure 0.80 and less, most of them under 0.75.
const RIVAL_BRIGHT: f32 = 0.78;

/// Least mean step across a card's edge, in grey levels per pixel at half the working
/// resolution.
const MEAN_EDGE_STEP: f32 = 12.0;
/// Least step across three quarters of a card's edge. The cards of the simulator and of
/// the stress generators measure 8 or more, the brighter part of paper lit from one side
/// and cut off by a bold stroke 3 to 5. (A sheet held up partly in a thumb's soft shadow
/// measures 2: it is then read as plain paper, which it also is.)
const MOST_EDGE_STEP: u8 = 6;

/// Buffers the card search reuses from frame to frame.
#[derive(Debug, Default)]
pub(super) struct CardScratch {
    small: GrayBuf,
    a: GrayBuf,
    b: GrayBuf,
    bright: Vec<u8>,
    outside: Vec<u8>,
    ends: Vec<(f32, f32)>,
    labeller: Labeller,
    around: Labeller,
    /// The card found, at the working image's size (1 inside).
    pub mask: Vec<u8>,
    /// The card found could as well be a bold light digit with its gaps closed over: a
    /// quarter of the view or less, and more than 15 % of it dark before the closing.
    pub doubtful: bool,
    /// The card found is doubtful and more than 22 % of it dark before the closing: as
    /// likely a bold light digit as a card.
    pub rival: bool,
}

/// The card or sheet of paper in view when it lies on something darker: a large bright
/// region with a sharp edge, found on the image with strokes closed over. Returns its mask
/// (1 inside) at the working image's size, shrunk by two pixels, or None when the paper
/// fills the view or there is no sharp edge (a lighting gradient or a soft shadow is not a
/// card).
pub fn find_card(work: Gray, radius: usize) -> Option<Vec<u8>> {
    let mut s = CardScratch::default();
    find_card_into(work, radius, &mut s, &mut FilterScratch::default()).then_some(s.mask)
}

/// [`find_card`] with reused buffers: true when a card was found, its mask in `s.mask`.
pub(super) fn find_card_into(work: Gray, radius: usize, s: &mut CardScratch, f: &mut FilterScratch) -> bool {
    // At half the working resolution: a card is large, and this runs on every frame.
    downscale_area_into(work, 2, &mut s.small);
    let (w, h) = (s.small.w, s.small.h);
    // A card is looked for in camera frames, not in digit-sized images: there a white
    // digit on black would be taken for a card.
    const MIN_CARD_SIDE: usize = 12;
    if w.min(h) < 3 * MIN_CARD_SIDE {
        return false;
    }
    let r = (radius / 2).max(2);
    // Closing removes dark strokes on the card; opening then removes bright strokes on a
    // dark background (MNIST-style ink), which are not cards.
    closing_into(s.small.view(), r, &mut s.a, f);
    opening_into(s.a.view(), r, &mut s.b, f);
    let closed = &s.b.pixels;
    let (t, dark_mean, bright_mean) = otsu(closed);
    // A card stands 25 grey levels or more above the floor: a grey card on a grey floor, or
    // any card in a dim view, is still a card, and its edges are not strokes. A smaller
    // view is searched only when it looks like light ink on dark, and there the alternative
    // is to read the card's edges as light strokes: 20 will do.
    let least = if work.w.min(work.h) >= super::MIN_CARD_VIEW { 25.0 } else { 20.0 };
    if bright_mean - dark_mean < least {
        return false;
    }
    s.bright.clear();
    s.bright.extend(closed.iter().map(|&v| (v >= t) as u8));
    s.labeller.label(&s.bright, closed, w, h);
    let labels = &s.labeller.labels;
    let Some(card) = s.labeller.comps.iter().max_by_key(|c| c.area) else { return false };
    let frac = card.area as f32 / (w * h) as f32;
    if !(0.04..=0.92).contains(&frac) || card.bbox.width().min(card.bbox.height()) < MIN_CARD_SIDE {
        return false;
    }
    // Sharpness: the steps across the region's edge, in grey levels per pixel. (First of
    // the checks on the region: it is the one a view of paper fails.) A card's edge is sharp
    // all round: a strong step on average, and over three quarters of its length. Paper lit
    // from one side, split by a bold stroke into a darker and a brighter part, has a sharp
    // edge where the stroke is and a soft one, the light's own, for much of the rest.
    let (b, label) = (card.bbox, card.label);
    let mut tally = Tally::new();
    for y in b.y0.max(1)..=b.y1.min(h - 2) {
        for i in y * w + b.x0.max(1)..=y * w + b.x1.min(w - 2) {
            if labels[i] != label {
                continue;
            }
            let step = [i - 1, i + 1, i - w, i + w]
                .into_iter()
                .filter(|&j| labels[j] != label)
                .map(|j| closed[i].saturating_sub(closed[j]))
                .max();
            if let Some(step) = step {
                tally.add(step);
            }
        }
    }
    let steps = tally.histogram();
    if steps.mean().is_none_or(|m| m < MEAN_EDGE_STEP) || steps.percentiles([0.25])[0] < MOST_EDGE_STEP {
        return false;
    }
    // A card is one solid piece (a rectangle, somewhat tilted or foreshortened: it fills
    // most of the smallest rectangle around it, at whatever tilt), and what lies around it
    // is floor, reaching the edges of the view. Paper between the bold strokes of a
    // close-up digit is neither.
    if (card.area as f32) < 0.6 * tightest_box(labels, card.label, w, &mut s.ends) {
        return false;
    }
    // A card is bright under its ink: most of it is bright before the closing too. A chalk
    // digit's loop on a board is not a card, though the closing fills it: inside the loop
    // lies the board's dark.
    let bright_inside = labels.iter().zip(&s.small.pixels).filter(|&(&l, &v)| l == card.label && v >= t).count();
    if bright_inside * 2 < card.area {
        return false;
    }
    s.doubtful = frac <= DOUBTFUL_SHARE && (bright_inside as f32) < DOUBTFUL_BRIGHT * card.area as f32;
    s.rival = s.doubtful && (bright_inside as f32) < RIVAL_BRIGHT * card.area as f32;
    s.outside.clear();
    s.outside.extend(labels.iter().map(|&l| (l != card.label) as u8));
    s.around.label(&s.outside, &s.outside, w, h);
    let total: usize = s.around.comps.iter().map(|c| c.area).sum();
    let at_edge: usize = s.around.comps.iter().filter(|c| c.border_contact > 0).map(|c| c.area).sum();
    if at_edge * 10 < total * 9 {
        return false;
    }
    let label = card.label;
    s.a.w = w;
    s.a.h = h;
    s.a.pixels.clear();
    s.a.pixels.extend(labels.iter().map(|&l| if l == label { 255 } else { 0 }));
    // The closing also fills a strip of floor narrower than its window between the card's
    // edge and the view's: dark pixels near the view's edge, joined to it through dark
    // pixels, are floor, not the card's ink.
    s.bright.clear();
    for (y, (card, view)) in s.a.pixels.chunks_exact(w).zip(s.small.pixels.chunks_exact(w)).enumerate() {
        let row_near = y.min(h - 1 - y) < r;
        s.bright.extend(card.iter().zip(view).enumerate().map(|(x, (&m, &v))| {
            let near_edge = row_near || x.min(w - 1 - x) < r;
            (m != 0 && v < t && near_edge) as u8
        }));
    }
    s.around.label(&s.bright, &s.bright, w, h);
    if s.around.comps.iter().any(|c| c.border_contact > 0) {
        let comps = &s.around.comps;
        for (m, &l) in s.a.pixels.iter_mut().zip(&s.around.labels) {
            if l != 0 && comps[l as usize - 1].border_contact > 0 {
                *m = 0;
            }
        }
    }
    // Shrunk by two pixels here (four at working resolution) to stay clear of the edge.
    min_filter_into(s.a.view(), 2, &mut s.b, f);
    s.mask.clear();
    s.mask.resize(work.w * work.h, 0);
    for (y, row) in s.mask.chunks_exact_mut(work.w).enumerate() {
        let src = &s.b.pixels[(y / 2) * w..(y / 2 + 1) * w];
        for (x, m) in row.iter_mut().enumerate() {
            *m = (src[x / 2] > 0) as u8;
        }
    }
    true
}

/// The area of the smallest rectangle, at any tilt (in steps of 5°), around the pixels
/// labelled `label`: a tilted card fills only part of its upright box.
fn tightest_box(labels: &[u32], label: u32, w: usize, ends: &mut Vec<(f32, f32)>) -> f32 {
    // Each row's first and last pixel of the region are all the extents need.
    ends.clear();
    for (y, row) in labels.chunks_exact(w).enumerate() {
        if let Some(x0) = row.iter().position(|&l| l == label) {
            let x1 = row.iter().rposition(|&l| l == label).unwrap_or(x0);
            ends.extend([(x0 as f32, y as f32), (x1 as f32, y as f32)]);
        }
    }
    (0..18)
        .map(|k| {
            let (sin, cos) = (k as f32 * 5.0).to_radians().sin_cos();
            let (mut u0, mut u1, mut v0, mut v1) = (f32::MAX, f32::MIN, f32::MAX, f32::MIN);
            for &(x, y) in ends.iter() {
                let (u, v) = (x * cos + y * sin, y * cos - x * sin);
                (u0, u1, v0, v1) = (u0.min(u), u1.max(u), v0.min(v), v1.max(v));
            }
            (u1 - u0 + 1.0) * (v1 - v0 + 1.0)
        })
        .fold(f32::MAX, f32::min)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 160×120 working view of a floor at 70 with a region at 210 where `inside(x, y)`.
    fn view(inside: impl Fn(f32, f32) -> bool) -> Vec<u8> {
        let (w, h) = (160, 120);
        (0..w * h).map(|i| if inside((i % w) as f32, (i / w) as f32) { 210 } else { 70 }).collect()
    }

    #[test]
    fn a_tilted_card_is_a_card_and_an_l_shape_is_not() {
        // A 90×60 card turned by 30° fills only half of its upright box.
        let (sin, cos) = 30f32.to_radians().sin_cos();
        let card = view(|x, y| {
            let (dx, dy) = (x - 80.0, y - 60.0);
            (dx * cos + dy * sin).abs() < 45.0 && (dy * cos - dx * sin).abs() < 30.0
        });
        let mask = find_card(Gray::new(&card, 160, 120).unwrap(), 10).expect("the tilted card");
        assert_eq!(mask[60 * 160 + 80], 1, "its middle is inside");
        assert_eq!(mask[5 * 160 + 5], 0, "the floor in a corner is not");
        // Two bars at a right angle are bright and sharp-edged, but not one solid piece.
        let l_shape = view(|x, y| (30.0..130.0).contains(&x) && (20.0..100.0).contains(&y) && (x < 55.0 || y > 75.0));
        assert_eq!(find_card(Gray::new(&l_shape, 160, 120).unwrap(), 10), None);
    }

    #[test]
    fn paper_lit_from_one_side_and_cut_by_a_bold_stroke_is_not_a_card() {
        // A bold marker 4 on paper lit from the left (tests/fixtures/real/lamp-lit-4.png,
        // 150×150, its own working view): the paper right of the 4's stem is bright and has
        // a sharp edge along the stem, and a soft one, the light's, above and below it.
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/real/lamp-lit-4.png");
        let img = image::open(path).unwrap().to_luma8();
        let view = Gray::new(img.as_raw(), 150, 150).unwrap();
        assert_eq!(find_card(view, 150 / 16), None);
    }

    #[test]
    fn a_strip_of_floor_between_the_card_and_the_views_edge_is_not_card() {
        // The card ends 6 px above the view's bottom edge; the search's closing (a window of
        // 10 working pixels) would fill that strip, and the floor in it became ink.
        let card = view(|x, y| (20.0..140.0).contains(&x) && (10.0..114.0).contains(&y));
        let mask = find_card(Gray::new(&card, 160, 120).unwrap(), 10).expect("the card");
        assert_eq!(mask[60 * 160 + 80], 1, "its middle is inside");
        assert!((114..120).all(|y| mask[y * 160 + 80] == 0), "the strip below it is not");
        // A dark stroke in the middle of the card stays inside it.
        let mut marked = card.clone();
        for y in 40..80 {
            marked[y * 160 + 78..y * 160 + 82].fill(30);
        }
        let mask = find_card(Gray::new(&marked, 160, 120).unwrap(), 10).expect("the card");
        assert!((40..80).all(|y| mask[y * 160 + 80] == 1));
    }
}
