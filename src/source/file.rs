//! Replays PNG/JPEG images, or a folder of them in name order, as frames.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use super::{Frame, FrameSource, Poll};

/// Decodes an image file to 8-bit grayscale: (width, height, pixels).
pub fn load_gray(path: &Path) -> Result<(usize, usize, Vec<u8>)> {
    let img = image::ImageReader::open(path)
        .with_context(|| format!("image {}: cannot open", path.display()))?
        .with_guessed_format()
        .with_context(|| format!("image {}: cannot read", path.display()))?
        .decode()
        .with_context(|| format!("image {}: not a readable PNG or JPEG image", path.display()))?
        .into_luma8();
    let (w, h) = (img.width() as usize, img.height() as usize);
    Ok((w, h, img.into_raw()))
}

/// An image file as a frame taken at `t_ms`.
pub fn load_frame(path: &Path, t_ms: u64) -> Result<Frame> {
    let (width, height, pixels) = load_gray(path)?;
    Ok(Frame { width, height, pixels, t_ms })
}

fn is_image(p: &Path) -> bool {
    p.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| matches!(e.to_ascii_lowercase().as_str(), "png" | "jpg" | "jpeg"))
}

/// The image files a path names: the file itself, or a folder's images sorted by name.
pub fn list_images(path: &Path) -> Result<Vec<PathBuf>> {
    if path.is_dir() {
        let mut files: Vec<PathBuf> = std::fs::read_dir(path)
            .with_context(|| format!("cannot list {}", path.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_file() && is_image(p))
            .collect();
        files.sort();
        if files.is_empty() {
            bail!("{}: no .png, .jpg or .jpeg images in this folder", path.display());
        }
        Ok(files)
    } else if path.is_file() {
        Ok(vec![path.to_path_buf()])
    } else {
        bail!("{}: no such image file or folder", path.display())
    }
}

/// Frames from image files, spaced `period_ms` apart in time.
pub struct FileSource {
    files: Vec<PathBuf>,
    next: usize,
    period_ms: u64,
}

impl FileSource {
    pub fn new(path: &Path, fps: f32) -> Result<Self> {
        Ok(FileSource { files: list_images(path)?, next: 0, period_ms: (1000.0 / fps.max(0.001)) as u64 })
    }
}

impl FrameSource for FileSource {
    fn next_frame(&mut self) -> Result<Poll> {
        let Some(path) = self.files.get(self.next) else {
            return Ok(Poll::End);
        };
        let frame = load_frame(path, self.next as u64 * self.period_ms)?;
        self.next += 1;
        Ok(Poll::Frame(frame))
    }

    fn describe(&self) -> String {
        format!("{} image file(s)", self.files.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replays_a_folder_in_name_order_and_names_bad_files() {
        let dir = tempfile::tempdir().unwrap();
        for (name, v) in [("b.png", 20u8), ("a.png", 10)] {
            image::GrayImage::from_pixel(3, 2, image::Luma([v])).save(dir.path().join(name)).unwrap();
        }
        std::fs::write(dir.path().join("notes.txt"), "ignored").unwrap();
        let mut src = FileSource::new(dir.path(), 10.0).unwrap();
        let Poll::Frame(f1) = src.next_frame().unwrap() else { panic!("a frame") };
        assert_eq!((f1.width, f1.height, f1.pixels[0], f1.t_ms), (3, 2, 10, 0));
        let Poll::Frame(f2) = src.next_frame().unwrap() else { panic!("a frame") };
        assert_eq!((f2.pixels[0], f2.t_ms), (20, 100));
        assert_eq!(src.next_frame().unwrap(), Poll::End);

        let bad = dir.path().join("c.png");
        std::fs::write(&bad, b"not an image").unwrap();
        let e = format!("{:#}", load_gray(&bad).unwrap_err());
        assert!(e.contains("c.png") && e.contains("not a readable PNG or JPEG"), "{e}");
        let e = format!("{:#}", FileSource::new(&dir.path().join("nope"), 10.0).err().unwrap());
        assert!(e.contains("no such image file or folder"), "{e}");
    }
}
