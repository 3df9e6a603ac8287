//! Finding the card or sheet a digit is written on, when it lies on something darker, so
//! that the digit is looked for only on it and the card's own edges are never strokes.

use crate::gray::{components, downscale_area, max_filter, min_filter, otsu, Gray};

/// The card or sheet of paper in view when it lies on something darker: a large bright
/// region with a sharp edge, found on the image with strokes closed over. Returns its mask
/// (1 inside) at the working image's size, shrunk by two pixels, or None when the paper
/// fills the view or there is no sharp edge (a lighting gradient or a soft shadow is not a
/// card).
pub fn find_card(work: Gray, radius: usize) -> Option<Vec<u8>> {
    // At half the working resolution: a card is large, and this runs on every frame.
    let small = downscale_area(work, 2);
    let (w, h) = (small.w, small.h);
    // A card is looked for in camera frames, not in digit-sized images: there a white
    // digit on black would be taken for a card.
    const MIN_CARD_SIDE: usize = 12;
    if w.min(h) < 3 * MIN_CARD_SIDE {
        return None;
    }
    let r = (radius / 2).max(2);
    // Closing removes dark strokes on the card; opening then removes bright strokes on a
    // dark background (MNIST-style ink), which are not cards.
    let closed = min_filter(max_filter(small.view(), r).view(), r);
    let closed = max_filter(min_filter(closed.view(), r).view(), r).pixels;
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
    // A card is one solid piece (a rectangle, somewhat tilted or foreshortened), and what
    // lies around it is floor, reaching the edges of the view. Paper between the bold
    // strokes of a close-up digit is neither.
    if card.area * 10 < card.bbox.width() * card.bbox.height() * 6 {
        return None;
    }
    let outside: Vec<u8> = labels.iter().map(|&l| (l != card.label) as u8).collect();
    let (_, around) = components(&outside, &outside, w, h);
    let total: usize = around.iter().map(|c| c.area).sum();
    let at_edge: usize = around.iter().filter(|c| c.border_contact > 0).map(|c| c.area).sum();
    if at_edge * 10 < total * 9 {
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
    let shrunk = min_filter(Gray { w, h, pixels: &region }, 2).pixels;
    let mut mask = vec![0u8; work.w * work.h];
    for (y, row) in mask.chunks_exact_mut(work.w).enumerate() {
        let src = &shrunk[(y / 2) * w..(y / 2 + 1) * w];
        for (x, m) in row.iter_mut().enumerate() {
            *m = (src[x / 2] > 0) as u8;
        }
    }
    Some(mask)
}
