//! Labelled captures: a frame the robot saw, the 28×28 input it made of it, and what it
//! should have read — the material for fine-tuning a model on the user's own camera,
//! cards and handwriting. The live view's label buttons and `run --capture DIR --label N`
//! write them; `eval --images DIR` and `train --extra DIR` read them.
//!
//! Every file name is made here from the time, a counter and the label, so nothing a
//! request says can place a file outside the capture folder.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};

use crate::data::captures::Record;
use crate::data::{PIXELS, SIDE};

/// What one capture holds before it is written.
pub struct Capture<'a> {
    pub label: Option<u8>,
    pub prediction: Option<u8>,
    pub confidence: f32,
    pub t_ms: u64,
    pub width: usize,
    pub height: usize,
    pub frame: &'a [u8],
    pub input: Option<&'a [u8; PIXELS]>,
    pub model_sha256: &'a str,
    pub source: &'static str,
}

/// A folder captures are written into.
#[derive(Debug)]
pub struct CaptureDir {
    dir: PathBuf,
    seq: AtomicU64,
}

impl CaptureDir {
    /// Creates the folder if needed.
    pub fn open(dir: &Path) -> Result<Self> {
        std::fs::create_dir_all(dir).with_context(|| format!("capture folder {}: cannot create", dir.display()))?;
        Ok(CaptureDir { dir: dir.to_path_buf(), seq: AtomicU64::new(0) })
    }

    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// Writes the frame, the input and the record; returns the record's path.
    pub fn write(&self, c: &Capture) -> Result<PathBuf> {
        let time_ms = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64);
        let seq = self.seq.fetch_add(1, Ordering::Relaxed);
        let label = c.label.map_or("none".to_string(), |d| d.to_string());
        let stem = format!("cap-{time_ms}-{seq:04}-{label}");
        let frame_name = format!("{stem}-frame.png");
        let frame = image::GrayImage::from_raw(c.width as u32, c.height as u32, c.frame.to_vec())
            .context("capture: the frame's buffer does not match its size")?;
        let save_err = |name: &str| format!("capture: writing {}", self.dir.join(name).display());
        frame.save(self.dir.join(&frame_name)).with_context(|| save_err(&frame_name))?;
        let input = match c.input {
            Some(px) => {
                let name = format!("{stem}-input.png");
                let img = image::GrayImage::from_raw(SIDE as u32, SIDE as u32, px.to_vec())
                    .context("capture: a 28×28 input")?;
                img.save(self.dir.join(&name)).with_context(|| save_err(&name))?;
                Some(name)
            }
            None => None,
        };
        let record = Record {
            label: c.label,
            prediction: c.prediction,
            confidence: c.confidence,
            time_ms,
            t_ms: c.t_ms,
            frame: frame_name,
            input,
            model_sha256: c.model_sha256.to_string(),
            source: c.source.to_string(),
        };
        let path = self.dir.join(format!("{stem}.json"));
        std::fs::write(&path, serde_json::to_string_pretty(&record)?)
            .with_context(|| save_err(&format!("{stem}.json")))?;
        Ok(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::captures::{is_capture_dir, read_records};

    #[test]
    fn a_capture_writes_frame_input_and_record_and_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let caps = CaptureDir::open(&dir.path().join("caps")).unwrap();
        let frame = vec![200u8; 8 * 6];
        let input = [7u8; PIXELS];
        let c = Capture {
            label: Some(3),
            prediction: Some(5),
            confidence: 0.75,
            t_ms: 1234,
            width: 8,
            height: 6,
            frame: &frame,
            input: Some(&input),
            model_sha256: "abc",
            source: "web",
        };
        let path = caps.write(&c).unwrap();
        let none = caps.write(&Capture { label: None, input: None, ..c }).unwrap();
        assert!(path.file_name().unwrap().to_str().unwrap().ends_with("-3.json"));
        assert!(none.file_name().unwrap().to_str().unwrap().ends_with("-none.json"));
        let records = read_records(caps.path()).unwrap();
        assert_eq!(records.len(), 2);
        let (_, r) = &records[0];
        assert_eq!((r.label, r.prediction, r.t_ms, r.source.as_str()), (Some(3), Some(5), 1234, "web"));
        let img = image::open(caps.path().join(&r.frame)).unwrap().into_luma8();
        assert_eq!((img.width(), img.height(), img.get_pixel(0, 0)[0]), (8, 6, 200));
        let inp = image::open(caps.path().join(r.input.as_ref().unwrap())).unwrap().into_luma8();
        assert_eq!((inp.width(), inp.get_pixel(3, 3)[0]), (28, 7));
        assert_eq!(records[1].1.input, None);
        assert!(is_capture_dir(caps.path()));
        assert!(!is_capture_dir(dir.path()));
        // A frame whose buffer does not match its size is refused, and nothing is written.
        let bad = Capture { frame: &frame[..10], ..c };
        assert!(caps.write(&bad).is_err());
    }
}
