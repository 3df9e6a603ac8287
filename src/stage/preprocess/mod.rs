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
pub use normalise::{fit_mnist, normalise_stroke, place_by_mass, stroke_width};
pub use segment::{background, guess_polarity, ink_map};

use crate::data::PIXELS;
pub use crate::gray::Rect;
use crate::gray::{downscale_area, kth_largest, Gray};
use normalise::extract;
use segment::choose_digit;

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
    let Some(img) = Gray::new(frame, w, h) else {
        return (Err(NoDigit::BadFrame), None);
    };
    let factor = w.max(h).div_ceil(p.working_side.max(1)).max(1);
    let small = downscale_area(img, factor);
    let (work, ww, wh) = (small.pixels, small.w, small.h);
    let work_view = Gray { w: ww, h: wh, pixels: &work };
    let radius = (ww.max(wh) / 16).max(4);
    // A card or sheet lying on a darker floor: look for the digit only on it, as dark ink,
    // so the card's edges are never taken for strokes.
    let card = match p.polarity {
        Polarity::Auto | Polarity::DarkOnLight => find_card(work_view, radius),
        Polarity::LightOnDark => None,
    };
    let polarity = match (p.polarity, &card) {
        (_, Some(_)) => Polarity::DarkOnLight,
        (Polarity::Auto, None) => guess_polarity(&work),
        (other, None) => other,
    };
    let bg = background(work_view, radius, polarity);
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
#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::SIDE;

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
