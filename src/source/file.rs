//! Replays PNG/JPEG images, or a folder of them in name order, as frames.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use super::{Frame, FrameSource, Poll};

/// Decodes an image file to 8-bit grayscale: (width, height, pixels). The EXIF orientation
/// is applied (phones store photos sideways and say so), and a transparent background
/// becomes whichever of white or black the drawing stands out from.
pub fn load_gray(path: &Path) -> Result<(usize, usize, Vec<u8>)> {
    let unreadable = || format!("image {}: not a readable PNG or JPEG image", path.display());
    let mut decoder = image::ImageReader::open(path)
        .with_context(|| format!("image {}: cannot open", path.display()))?
        .with_guessed_format()
        .with_context(|| format!("image {}: cannot read", path.display()))?
        .into_decoder()
        .with_context(unreadable)?;
    // A broken EXIF block is no reason to refuse the picture.
    let orientation =
        image::ImageDecoder::orientation(&mut decoder).unwrap_or(image::metadata::Orientation::NoTransforms);
    let mut img = image::DynamicImage::from_decoder(decoder).with_context(unreadable)?;
    img.apply_orientation(orientation);
    let gray = if img.color().has_alpha() { flatten_alpha(&img.into_luma_alpha8()) } else { img.into_luma8() };
    let (w, h) = (gray.width() as usize, gray.height() as usize);
    Ok((w, h, gray.into_raw()))
}

/// Puts a grey image with alpha on a plain background: white when what is drawn is dark,
/// black when it is light (a drawing exported with a transparent background).
fn flatten_alpha(img: &image::GrayAlphaImage) -> image::GrayImage {
    let (mut sum, mut weight) = (0f64, 0f64);
    for p in img.pixels() {
        let a = p[1] as f64 / 255.0;
        sum += p[0] as f64 * a;
        weight += a;
    }
    let drawn_is_dark = weight == 0.0 || sum / weight < 128.0;
    // An opaque image keeps its pixels; the background only shows where alpha is low.
    let bg: f32 = if drawn_is_dark { 255.0 } else { 0.0 };
    image::GrayImage::from_fn(img.width(), img.height(), |x, y| {
        let p = img.get_pixel(x, y);
        let a = p[1] as f32 / 255.0;
        image::Luma([(p[0] as f32 * a + bg * (1.0 - a)).round() as u8])
    })
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

    /// A JPEG with an APP1 EXIF block whose only entry is the orientation tag.
    pub(crate) fn jpeg_with_orientation(img: &image::GrayImage, orientation: u16) -> Vec<u8> {
        let mut jpeg = Vec::new();
        img.write_to(&mut std::io::Cursor::new(&mut jpeg), image::ImageFormat::Jpeg).unwrap();
        // TIFF header (big-endian), one IFD entry: tag 0x0112, type SHORT, count 1.
        let mut exif = b"Exif\0\0MM\0\x2a\0\0\0\x08\0\x01\x01\x12\0\x03\0\0\0\x01".to_vec();
        exif.extend_from_slice(&orientation.to_be_bytes());
        exif.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
        let mut out = jpeg[..2].to_vec(); // SOI
        out.extend_from_slice(&[0xFF, 0xE1]);
        out.extend_from_slice(&((exif.len() + 2) as u16).to_be_bytes());
        out.extend_from_slice(&exif);
        out.extend_from_slice(&jpeg[2..]);
        out
    }

    #[test]
    fn exif_orientation_is_applied() {
        // 40 wide, 20 high, bright on the left: stored as a phone stores a portrait photo.
        let img = image::GrayImage::from_fn(40, 20, |x, _| image::Luma([if x < 20 { 230 } else { 20 }]));
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("phone.jpg");
        std::fs::write(&path, jpeg_with_orientation(&img, 6)).unwrap();
        // Orientation 6: rotate 90° clockwise to view. The left half becomes the top half.
        let (w, h, px) = load_gray(&path).unwrap();
        assert_eq!((w, h), (20, 40));
        assert!(px[2 * w + 10] > 200 && px[37 * w + 10] < 50, "bright top, dark bottom");
        std::fs::write(&path, jpeg_with_orientation(&img, 1)).unwrap();
        assert_eq!(load_gray(&path).unwrap().0, 40, "orientation 1 leaves it as stored");
    }

    #[test]
    fn a_transparent_background_becomes_paper() {
        // A dark stroke on a fully transparent (black) background: a drawing app's export.
        let img =
            image::GrayAlphaImage::from_fn(
                8,
                8,
                |x, _| {
                    if x == 3 {
                        image::LumaA([10, 255])
                    } else {
                        image::LumaA([0, 0])
                    }
                },
            );
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("drawn.png");
        img.save(&path).unwrap();
        let (_, _, px) = load_gray(&path).unwrap();
        assert_eq!((px[3], px[4]), (10, 255), "the stroke stays dark on white");
        // A light stroke on transparency goes on black instead.
        let img = image::GrayAlphaImage::from_fn(8, 8, |x, _| {
            if x == 3 {
                image::LumaA([250, 255])
            } else {
                image::LumaA([255, 0])
            }
        });
        img.save(&path).unwrap();
        let (_, _, px) = load_gray(&path).unwrap();
        assert_eq!((px[3], px[4]), (250, 0));
    }
}
