//! Training reports people look at: a text summary on the terminal, and with `--report DIR`
//! a JSON summary plus PNG plots (loss curve, confusion matrix, grid of misread digits).

use std::fmt::Write as _;
use std::path::Path;

use anyhow::{Context, Result};
use image::{Rgb, RgbImage};
use serde::Serialize;

use super::{EpochStats, Evaluation};
use crate::data::Dataset;

/// The text report: accuracy, per-class accuracy, confusion matrix, the first misreads.
pub fn text(eval: &Evaluation, labels: &[String]) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "test accuracy: {:.2}% ({} of {})", eval.accuracy * 100.0, eval.n - eval.misread.len(), eval.n);
    let _ = writeln!(s, "per class:");
    for (c, acc) in eval.per_class.iter().enumerate() {
        let _ = writeln!(s, "  {:>12}: {:.2}%", labels.get(c).map_or("?", |l| l.as_str()), acc * 100.0);
    }
    let _ = writeln!(s, "confusion matrix (rows: label, columns: prediction):");
    let _ = write!(s, "      ");
    for c in 0..eval.confusion.len() {
        let _ = write!(s, "{c:>6}");
    }
    let _ = writeln!(s);
    for (c, row) in eval.confusion.iter().enumerate() {
        let _ = write!(s, "{c:>6}");
        for v in row {
            let _ = write!(s, "{v:>6}");
        }
        let _ = writeln!(s);
    }
    let shown: Vec<String> = eval.misread.iter().take(20).map(|(i, l, p)| format!("({i}, {l}, {p})")).collect();
    let _ = writeln!(
        s,
        "misread (index, label, prediction): {}{}",
        shown.join(" "),
        if eval.misread.len() > 20 { format!(" … and {} more", eval.misread.len() - 20) } else { String::new() }
    );
    s
}

#[derive(Serialize)]
struct Summary<'a> {
    arch: String,
    parameters: usize,
    seconds: f64,
    epochs: &'a [EpochStats],
    test: &'a Evaluation,
    command: &'a str,
}

/// Writes `summary.json`, `loss.png`, `confusion.png` and `misread.png` into `dir`.
#[allow(clippy::too_many_arguments)]
pub fn write(
    dir: &Path,
    arch: &str,
    parameters: usize,
    seconds: f64,
    epochs: &[EpochStats],
    eval: &Evaluation,
    test: &Dataset,
    command: &str,
) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating report folder {}", dir.display()))?;
    let summary = Summary { arch: arch.into(), parameters, seconds, epochs, test: eval, command };
    let json = serde_json::to_string_pretty(&summary)?;
    let path = dir.join("summary.json");
    std::fs::write(&path, json).with_context(|| format!("writing {}", path.display()))?;
    let trace: Vec<f64> = epochs.iter().flat_map(|e| e.trace.iter().copied()).collect();
    save(dir, "loss.png", &line_plot(&trace, epochs.len()))?;
    save(dir, "confusion.png", &confusion_plot(&eval.confusion))?;
    save(dir, "misread.png", &misread_grid(eval, test))?;
    Ok(())
}

fn save(dir: &Path, name: &str, img: &RgbImage) -> Result<()> {
    let path = dir.join(name);
    img.save(&path).with_context(|| format!("writing {}", path.display()))
}

const WHITE: Rgb<u8> = Rgb([255, 255, 255]);
const BLACK: Rgb<u8> = Rgb([0, 0, 0]);
const GREY: Rgb<u8> = Rgb([200, 200, 200]);

/// 3×5 glyphs for 0-9, '>' and '.', one row per u8, most significant of 3 bits on the left.
const GLYPHS: [[u8; 5]; 12] = [
    [7, 5, 5, 5, 7],
    [2, 6, 2, 2, 7],
    [7, 1, 7, 4, 7],
    [7, 1, 7, 1, 7],
    [5, 5, 7, 1, 1],
    [7, 4, 7, 1, 7],
    [7, 4, 7, 5, 7],
    [7, 1, 1, 2, 2],
    [7, 5, 7, 5, 7],
    [7, 5, 7, 1, 7],
    [0, 4, 2, 4, 0],
    [0, 0, 0, 0, 2],
];

/// Draws digits, '>' and '.' at (x, y), each pixel a `scale`-sized square.
fn draw_text(img: &mut RgbImage, x: u32, y: u32, text: &str, scale: u32, colour: Rgb<u8>) {
    for (n, ch) in text.chars().enumerate() {
        let g = match ch {
            '0'..='9' => GLYPHS[ch as usize - '0' as usize],
            '>' => GLYPHS[10],
            '.' => GLYPHS[11],
            _ => continue,
        };
        for (row, bits) in g.iter().enumerate() {
            for col in 0..3 {
                if bits & (4 >> col) != 0 {
                    for dy in 0..scale {
                        for dx in 0..scale {
                            let px = x + (n as u32 * 4 + col) * scale + dx;
                            let py = y + row as u32 * scale + dy;
                            if px < img.width() && py < img.height() {
                                img.put_pixel(px, py, colour);
                            }
                        }
                    }
                }
            }
        }
    }
}

fn draw_line(img: &mut RgbImage, (x0, y0): (f64, f64), (x1, y1): (f64, f64), colour: Rgb<u8>) {
    let steps = ((x1 - x0).abs().max((y1 - y0).abs()).ceil() as usize).max(1);
    for i in 0..=steps {
        let t = i as f64 / steps as f64;
        let (x, y) = (x0 + (x1 - x0) * t, y0 + (y1 - y0) * t);
        if x >= 0.0 && y >= 0.0 && (x as u32) < img.width() && (y as u32) < img.height() {
            img.put_pixel(x as u32, y as u32, colour);
        }
    }
}

/// The running training loss over the run, with a 0 baseline, the max on the y axis and a
/// grey line between epochs.
fn line_plot(values: &[f64], epochs: usize) -> RgbImage {
    let (w, h, m) = (640u32, 360u32, 40.0f64);
    let mut img = RgbImage::from_pixel(w, h, WHITE);
    let max = values.iter().copied().filter(|v| v.is_finite()).fold(0.0f64, f64::max).max(1e-9);
    draw_line(&mut img, (m, m), (m, h as f64 - m), BLACK);
    draw_line(&mut img, (m, h as f64 - m), (w as f64 - m, h as f64 - m), BLACK);
    for frac in [0.25, 0.5, 0.75, 1.0] {
        let y = h as f64 - m - frac * (h as f64 - 2.0 * m);
        draw_line(&mut img, (m + 1.0, y), (w as f64 - m, y), GREY);
    }
    for e in 1..epochs {
        let x = m + e as f64 / epochs as f64 * (w as f64 - 2.0 * m);
        draw_line(&mut img, (x, m), (x, h as f64 - m - 1.0), GREY);
    }
    draw_text(&mut img, 2, m as u32 - 2, &format!("{max:.2}"), 2, BLACK);
    draw_text(&mut img, 4, h - m as u32 - 4, "0", 2, BLACK);
    let n = values.len().max(2) - 1;
    let pt = |i: usize, v: f64| {
        let x = m + i as f64 / n as f64 * (w as f64 - 2.0 * m);
        let y = h as f64 - m - v.max(0.0) / max * (h as f64 - 2.0 * m);
        (x, y)
    };
    for (i, pair) in values.windows(2).enumerate() {
        draw_line(&mut img, pt(i, pair[0]), pt(i + 1, pair[1]), Rgb([30, 90, 200]));
    }
    img
}

/// Row-normalised confusion matrix: green diagonal, red errors, darker = more.
fn confusion_plot(conf: &[Vec<u32>]) -> RgbImage {
    let (cell, m) = (40u32, 24u32);
    let k = conf.len() as u32;
    let mut img = RgbImage::from_pixel(m + k * cell, m + k * cell, WHITE);
    for (r, row) in conf.iter().enumerate() {
        let total: u32 = row.iter().sum::<u32>().max(1);
        draw_text(&mut img, 6, m + r as u32 * cell + cell / 2 - 5, &r.to_string(), 2, BLACK);
        for (c, &v) in row.iter().enumerate() {
            let f = v as f64 / total as f64;
            let f = if r == c { f } else { (f * 20.0).min(1.0) };
            let fade = |full: u8| (255.0 - f * (255.0 - full as f64)) as u8;
            let colour =
                if r == c { Rgb([fade(20), fade(150), fade(60)]) } else { Rgb([fade(210), fade(30), fade(30)]) };
            for y in 0..cell - 2 {
                for x in 0..cell - 2 {
                    img.put_pixel(m + c as u32 * cell + x, m + r as u32 * cell + y, colour);
                }
            }
            if v > 0 {
                let text_colour = if f > 0.5 { WHITE } else { BLACK };
                draw_text(&mut img, m + c as u32 * cell + 3, m + r as u32 * cell + 14, &v.to_string(), 2, text_colour);
            }
        }
    }
    for c in 0..k {
        draw_text(&mut img, m + c * cell + cell / 2 - 3, 6, &c.to_string(), 2, BLACK);
    }
    img
}

/// Up to 100 misread digits, each captioned "label>prediction".
fn misread_grid(eval: &Evaluation, test: &Dataset) -> RgbImage {
    let (scale, cell) = (2u32, 72u32);
    let cols = 10u32;
    let shown = eval.misread.iter().take(100).collect::<Vec<_>>();
    let rows = (shown.len() as u32).div_ceil(cols).max(1);
    let mut img = RgbImage::from_pixel(cols * cell, rows * cell, WHITE);
    for (n, &&(i, label, pred)) in shown.iter().enumerate() {
        let (ox, oy) = ((n as u32 % cols) * cell + 8, (n as u32 / cols) * cell + 2);
        if i >= test.len() {
            continue;
        }
        let px = test.image(i);
        for y in 0..test.rows as u32 {
            for x in 0..test.cols as u32 {
                let v = 255 - px[(y as usize) * test.cols + x as usize];
                for d in 0..scale * scale {
                    img.put_pixel(ox + x * scale + d % scale, oy + y * scale + d / scale, Rgb([v, v, v]));
                }
            }
        }
        draw_text(&mut img, ox + 4, oy + 58, &format!("{label}>{pred}"), 2, Rgb([200, 0, 0]));
    }
    img
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glyphs_draw_where_asked() {
        let mut img = RgbImage::from_pixel(8, 5, WHITE);
        draw_text(&mut img, 0, 0, "1", 1, BLACK);
        let dark: Vec<(u32, u32)> =
            img.enumerate_pixels().filter(|(_, _, p)| **p == BLACK).map(|(x, y, _)| (x, y)).collect();
        // "1" is 2,6,2,2,7: 1 + 2 + 1 + 1 + 3 pixels.
        assert_eq!(dark.len(), 8);
        assert!(dark.contains(&(1, 0)) && dark.contains(&(0, 4)) && dark.contains(&(2, 4)));
    }
}
