//! Camera pixel formats → 8-bit grayscale. Pure functions on the driver's buffers.

use std::fmt;

/// The formats the camera source reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PixelFormat {
    /// 8-bit luminance (V4L2 `GREY`).
    Grey,
    /// Packed Y0 U Y1 V (V4L2 `YUYV`): the Y bytes are the grayscale image.
    Yuyv,
    /// Motion JPEG (V4L2 `MJPG`): each buffer is one JPEG.
    Mjpeg,
    /// Raw Bayer, 10 bits in little-endian 16-bit words (V4L2 `RG10`, `BA10`, `GB10`,
    /// `GR10`), as a CSI sensor like the JetBot's IMX219 delivers it. Each 2×2 quad is
    /// averaged into one grey pixel, so the frame comes out at half the size: the colour
    /// pattern does not matter for luminance.
    Bayer10,
}

impl PixelFormat {
    /// The V4L2 FourCC codes of this format.
    pub fn fourccs(&self) -> &'static [&'static [u8; 4]] {
        match self {
            PixelFormat::Grey => &[b"GREY"],
            PixelFormat::Yuyv => &[b"YUYV"],
            PixelFormat::Mjpeg => &[b"MJPG"],
            PixelFormat::Bayer10 => &[b"RG10", b"BA10", b"GB10", b"GR10"],
        }
    }

    /// The format a FourCC names, if we read it.
    pub fn from_fourcc(code: &[u8; 4]) -> Option<PixelFormat> {
        [PixelFormat::Grey, PixelFormat::Yuyv, PixelFormat::Mjpeg, PixelFormat::Bayer10]
            .into_iter()
            .find(|f| f.fourccs().contains(&code))
    }

    /// Size of the grayscale output for a `width`×`height` capture.
    pub fn output_size(&self, width: usize, height: usize) -> (usize, usize) {
        match self {
            PixelFormat::Bayer10 => (width / 2, height / 2),
            _ => (width, height),
        }
    }
}

impl fmt::Display for PixelFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.fourccs().iter().map(|c| std::str::from_utf8(&c[..]).unwrap_or("?")).collect();
        write!(f, "{}", names.join("/"))
    }
}

/// Why a buffer could not be converted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConvertError {
    #[error("{format} buffer of {got} bytes, a {width}x{height} frame with stride {stride} needs {need}")]
    Short { format: PixelFormat, got: usize, need: usize, width: usize, height: usize, stride: usize },
    #[error("corrupt MJPEG frame: {0}")]
    Jpeg(String),
    #[error("MJPEG frame is {got_w}x{got_h}, expected {width}x{height}")]
    JpegSize { got_w: usize, got_h: usize, width: usize, height: usize },
}

/// Converts one captured buffer to grayscale into `out` (resized as needed), reusing its
/// allocation. `stride` is the driver's bytes per line (ignored for MJPEG).
pub fn to_gray(
    format: PixelFormat,
    width: usize,
    height: usize,
    stride: usize,
    data: &[u8],
    out: &mut Vec<u8>,
) -> Result<(usize, usize), ConvertError> {
    let need_rows = |row_bytes: usize, rows: usize| {
        let need = if rows == 0 { 0 } else { (rows - 1) * stride + row_bytes };
        if data.len() < need || stride < row_bytes {
            Err(ConvertError::Short { format, got: data.len(), need, width, height, stride })
        } else {
            Ok(())
        }
    };
    let (ow, oh) = format.output_size(width, height);
    out.clear();
    out.reserve(ow * oh);
    match format {
        PixelFormat::Grey => {
            need_rows(width, height)?;
            for y in 0..height {
                out.extend_from_slice(&data[y * stride..y * stride + width]);
            }
        }
        PixelFormat::Yuyv => {
            need_rows(width * 2, height)?;
            for y in 0..height {
                out.extend(data[y * stride..y * stride + width * 2].iter().step_by(2));
            }
        }
        PixelFormat::Bayer10 => {
            need_rows(width * 2, height - height % 2)?;
            let px = |x: usize, y: usize| {
                let i = y * stride + x * 2;
                u16::from_le_bytes([data[i], data[i + 1]]) as u32 & 0x3ff
            };
            for y in 0..oh {
                for x in 0..ow {
                    let sum = px(2 * x, 2 * y) + px(2 * x + 1, 2 * y) + px(2 * x, 2 * y + 1) + px(2 * x + 1, 2 * y + 1);
                    // Mean of four 10-bit values, scaled to 8 bits: sum / 4 / 4.
                    out.push(((sum + 8) / 16).min(255) as u8);
                }
            }
        }
        PixelFormat::Mjpeg => {
            let img = image::load_from_memory_with_format(data, image::ImageFormat::Jpeg)
                .map_err(|e| ConvertError::Jpeg(e.to_string()))?
                .into_luma8();
            let (gw, gh) = (img.width() as usize, img.height() as usize);
            if (gw, gh) != (width, height) {
                return Err(ConvertError::JpegSize { got_w: gw, got_h: gh, width, height });
            }
            out.extend_from_slice(img.as_raw());
        }
    }
    Ok((ow, oh))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grey_respects_stride() {
        // 3×2 image in rows of 4 bytes (one byte of padding per row).
        let buf = [1, 2, 3, 0, 4, 5, 6, 0];
        let mut out = Vec::new();
        assert_eq!(to_gray(PixelFormat::Grey, 3, 2, 4, &buf, &mut out), Ok((3, 2)));
        assert_eq!(out, vec![1, 2, 3, 4, 5, 6]);
    }

    #[test]
    fn yuyv_keeps_the_luma_bytes() {
        // Y0 U Y1 V for a 4×1 frame.
        let buf = [10, 128, 20, 130, 30, 127, 40, 129];
        let mut out = Vec::new();
        assert_eq!(to_gray(PixelFormat::Yuyv, 4, 1, 8, &buf, &mut out), Ok((4, 1)));
        assert_eq!(out, vec![10, 20, 30, 40]);
    }

    #[test]
    fn bayer10_averages_quads_into_half_size_luma() {
        // 4×2 RGGB, 10-bit values in LE u16 words: quads (R,G;G,B) = (1023,512;512,0) and
        // (100,100;100,100).
        let words: [u16; 8] = [1023, 512, 100, 100, 512, 0, 100, 100];
        let buf: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
        let mut out = Vec::new();
        assert_eq!(to_gray(PixelFormat::Bayer10, 4, 2, 8, &buf, &mut out), Ok((2, 1)));
        // (1023+512+512+0)/4 = 511.75 → /4 = 127.9 → 128; 100/4 = 25.
        assert_eq!(out, vec![128, 25]);
        assert_eq!(PixelFormat::from_fourcc(b"BA10"), Some(PixelFormat::Bayer10));
    }

    #[test]
    fn mjpeg_decodes_and_corrupt_frames_are_errors() {
        let img = image::GrayImage::from_fn(16, 8, |x, _| image::Luma([(x * 16) as u8]));
        let mut jpeg = Vec::new();
        image::DynamicImage::ImageLuma8(img)
            .write_to(&mut std::io::Cursor::new(&mut jpeg), image::ImageFormat::Jpeg)
            .unwrap();
        let mut out = Vec::new();
        assert_eq!(to_gray(PixelFormat::Mjpeg, 16, 8, 0, &jpeg, &mut out), Ok((16, 8)));
        assert!((out[15] as i32 - 240).abs() < 12, "{}", out[15]);
        assert!(matches!(to_gray(PixelFormat::Mjpeg, 16, 8, 0, &jpeg[..40], &mut out), Err(ConvertError::Jpeg(_))));
        assert!(matches!(to_gray(PixelFormat::Mjpeg, 32, 8, 0, &jpeg, &mut out), Err(ConvertError::JpegSize { .. })));
    }

    #[test]
    fn short_buffers_are_named() {
        let mut out = Vec::new();
        let e = to_gray(PixelFormat::Yuyv, 4, 2, 8, &[0; 10], &mut out).unwrap_err();
        assert_eq!(e.to_string(), "YUYV buffer of 10 bytes, a 4x2 frame with stride 8 needs 16");
    }
}
