//! Segmentation: which pixels are ink, and which blobs of ink make up the digit.

use super::{Params, Polarity, Segmentation};
use crate::gray::{components, max_filter, min_filter, percentile, Component, Gray, Rect};

/// Bright frames are paper with dark ink; dark frames hold light ink.
pub fn guess_polarity(img: &[u8]) -> Polarity {
    if percentile(img, 0.5) >= 100 {
        Polarity::DarkOnLight
    } else {
        Polarity::LightOnDark
    }
}

/// Local paper level: the brightest (or, for light ink, darkest) value within `radius`,
/// a window wider than any stroke, so strokes vanish from it but lighting does not.
pub fn background(img: Gray, radius: usize, polarity: Polarity) -> Vec<u8> {
    if polarity == Polarity::LightOnDark {
        min_filter(img, radius).pixels
    } else {
        max_filter(img, radius).pixels
    }
}

/// How far each pixel stands out from the background towards ink.
pub fn ink_map(img: &[u8], bg: &[u8], polarity: Polarity) -> Vec<u8> {
    img.iter()
        .zip(bg)
        .map(|(&v, &b)| if polarity == Polarity::LightOnDark { v.saturating_sub(b) } else { b.saturating_sub(v) })
        .collect()
}

/// The components that make up the digit: the strongest plausible blob near the centre,
/// plus the pieces close to it (broken strokes). Border-touching blobs and specks are not
/// digits.
pub(super) struct Chosen {
    pub bbox: Rect,
    pub labels: Vec<u32>,
    pub pixel_labels: Vec<u32>,
}

pub(super) fn choose_digit(seg: &Segmentation, p: &Params) -> Option<Chosen> {
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
