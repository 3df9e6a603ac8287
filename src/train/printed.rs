//! Printed digits as training data, normalised exactly as the firmware normalises what its
//! camera sees, so that a model trained on them reads printed signs.

use ab_glyph::FontVec;

use crate::data::{Dataset, SIDE};
use crate::gray::tight_box;
use crate::sim::scenes::render_glyph;
use crate::stage::preprocess::fit_mnist;

/// Printed digits for training: each digit of each font, rendered and normalised as the
/// firmware's preprocessing normalises what the camera sees (longest side 20 px, centred by
/// mass in 28×28), repeated `copies` times so that augmentation varies them.
pub fn printed_digits(fonts: &[FontVec], copies: usize) -> Dataset {
    let mut ds = Dataset { rows: SIDE, cols: SIDE, images: Vec::new(), labels: Vec::new() };
    for font in fonts {
        for d in 0..10u8 {
            let Some((w, h, img)) = render_glyph(font, d, 64.0) else { continue };
            let crop: Vec<f32> = img.iter().map(|&v| v as f32).collect();
            let Some(tight) = tight_box(&crop, w, h) else { continue };
            let cut: Vec<f32> =
                (tight.y0..=tight.y1).flat_map(|y| crop[y * w + tight.x0..=y * w + tight.x1].iter().copied()).collect();
            let digit = fit_mnist(&cut, tight.width(), tight.height());
            for _ in 0..copies {
                ds.images.extend_from_slice(&digit);
                ds.labels.push(d);
            }
        }
    }
    ds
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printed_digits_look_like_mnist() {
        let fonts = crate::testdata::fonts();
        let Some(font) = fonts.first() else { return };
        let ds = printed_digits(std::slice::from_ref(font), 2);
        assert_eq!(ds.len(), 20);
        assert_eq!(&ds.labels[..4], &[0, 0, 1, 1]);
        for i in 0..ds.len() {
            let img = ds.image(i);
            // The 20-px box: nothing in the outer 4-px margin on at least one axis, ink present.
            let ink = img.iter().filter(|&&v| v > 128).count();
            assert!(ink > 20, "digit {} has ink", ds.labels[i]);
            let rows_used = (0..28).filter(|&y| img[y * 28..(y + 1) * 28].iter().any(|&v| v > 0)).count();
            assert!((18..=22).contains(&rows_used), "digit {}: {rows_used} rows", ds.labels[i]);
        }
    }
}
