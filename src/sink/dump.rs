//! `--dump DIR`: what the reader saw, as PNGs per frame — the frame, the ink mask with the
//! chosen digit's box, and the 28×28 model input. Uses the segmentation the pipeline kept,
//! so dumping costs no second preprocessing.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use image::{GrayImage, Rgb, RgbImage};

use super::{FrameReport, FrameSink};
use crate::data::SIDE;
use crate::source::Frame;
use crate::stage::FrameResult;

pub struct Dumper {
    dir: PathBuf,
}

impl Dumper {
    pub fn new(dir: &Path) -> Result<Self> {
        std::fs::create_dir_all(dir).with_context(|| format!("--dump {}: cannot create", dir.display()))?;
        Ok(Dumper { dir: dir.to_path_buf() })
    }

    /// Writes `STEM-frame.png`, `STEM-mask.png` (when the result kept its segmentation) and
    /// `STEM-input.png` (when a digit was found).
    pub fn write(&self, stem: &str, frame: &Frame, result: &FrameResult) -> Result<()> {
        let save = |name: &str, img: &dyn Fn(&Path) -> image::ImageResult<()>| -> Result<()> {
            let path = self.dir.join(format!("{stem}-{name}.png"));
            img(&path).with_context(|| format!("writing {}", path.display()))
        };
        if let Some(img) = GrayImage::from_raw(frame.width as u32, frame.height as u32, frame.pixels.clone()) {
            save("frame", &|p| img.save(p))?;
        }
        if let Some(seg) = &result.segmentation {
            let mut mask = RgbImage::from_fn(seg.work_w as u32, seg.work_h as u32, |x, y| {
                let v = if seg.mask[y as usize * seg.work_w + x as usize] != 0 { 255 } else { 0 };
                Rgb([v, v, v])
            });
            if let Ok(f) = &result.found {
                let s = seg.factor;
                let (x0, y0, x1, y1) = (f.bbox.x0 / s, f.bbox.y0 / s, f.bbox.x1 / s, f.bbox.y1 / s);
                for x in x0..=x1.min(seg.work_w - 1) {
                    for y in [y0, y1.min(seg.work_h - 1)] {
                        mask.put_pixel(x as u32, y as u32, Rgb([255, 0, 0]));
                    }
                }
                for y in y0..=y1.min(seg.work_h - 1) {
                    for x in [x0, x1.min(seg.work_w - 1)] {
                        mask.put_pixel(x as u32, y as u32, Rgb([255, 0, 0]));
                    }
                }
            }
            save("mask", &|p| mask.save(p))?;
        }
        if let Ok(f) = &result.found {
            let input = GrayImage::from_fn(SIDE as u32 * 4, SIDE as u32 * 4, |x, y| {
                image::Luma([f.digit[(y / 4) as usize * SIDE + (x / 4) as usize]])
            });
            save("input", &|p| input.save(p))?;
        }
        Ok(())
    }
}

impl FrameSink for Dumper {
    fn name(&self) -> &'static str {
        "--dump"
    }

    fn frame(&mut self, r: &FrameReport) -> Result<()> {
        self.write(&format!("frame-{:05}", r.index), r.frame, r.result)
    }

    fn wants_segmentation(&self) -> bool {
        true
    }
}
