//! Plays back a `run --record` folder: the same frames at the same times, the same camera
//! faults, the same holds from the live view, so the pipeline reaches the same decisions
//! frame for frame. Paced at the recorded timing, or as fast as possible.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use super::{Frame, FrameSource, Poll};
use crate::controls::Controls;
use crate::data::recording::{Event, INDEX};

/// Whether a folder is a recording (rather than a folder of images).
pub fn is_recording(dir: &Path) -> bool {
    dir.join(INDEX).is_file()
}

pub struct RecordingSource {
    dir: PathBuf,
    events: Vec<Event>,
    next: usize,
    paced: bool,
    started: Instant,
    /// Where recorded holds are replayed.
    controls: Arc<Controls>,
}

impl RecordingSource {
    /// Reads the recording's index; the frames themselves are read as they are played.
    pub fn open(dir: &Path, paced: bool, controls: Arc<Controls>) -> Result<Self> {
        let index = dir.join(INDEX);
        let text =
            std::fs::read_to_string(&index).with_context(|| format!("recording {}: cannot read", index.display()))?;
        let events = text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
            .map(|(i, l)| {
                serde_json::from_str::<Event>(l)
                    .with_context(|| format!("recording {}: line {} is not a recorded event", index.display(), i + 1))
            })
            .collect::<Result<Vec<_>>>()?;
        for e in &events {
            if let Event::Frame { file, .. } = e {
                // Names are the recorder's own; anything else is not ours to open.
                if file.contains('/') || file.contains('\\') || file.starts_with('.') {
                    bail!("recording {}: frame file {file:?} is not a file of this folder", index.display());
                }
            }
        }
        Ok(RecordingSource { dir: dir.to_path_buf(), events, next: 0, paced, started: Instant::now(), controls })
    }

    fn pace(&self, t_ms: u64) {
        if self.paced {
            let due = self.started + Duration::from_millis(t_ms);
            let now = Instant::now();
            if due > now {
                std::thread::sleep(due - now);
            }
        }
    }

    fn load(&self, file: &str, width: usize, height: usize) -> Result<Vec<u8>> {
        let path = self.dir.join(file);
        if file.ends_with(".gray.gz") {
            let raw = std::fs::read(&path).with_context(|| format!("recording: cannot read {}", path.display()))?;
            let mut px = Vec::new();
            flate2::read::GzDecoder::new(&raw[..])
                .read_to_end(&mut px)
                .with_context(|| format!("recording {}: corrupt gzip data", path.display()))?;
            return Ok(px);
        }
        let (w, h, px) = super::file::load_gray(&path)?;
        if (w, h) != (width, height) {
            bail!("recording {}: {w}x{h}, the index says {width}x{height}", path.display());
        }
        Ok(px)
    }
}

impl FrameSource for RecordingSource {
    fn next_frame(&mut self) -> Result<Poll> {
        let Some(event) = self.events.get(self.next).cloned() else {
            return Ok(Poll::End);
        };
        self.next += 1;
        Ok(match event {
            Event::Frame { t_ms, width, height, file, .. } => {
                let pixels = self.load(&file, width, height)?;
                self.pace(t_ms);
                Poll::Frame(Frame { width, height, pixels, t_ms })
            }
            Event::Stalled { t_ms } => {
                self.pace(t_ms);
                Poll::Stalled { t_ms }
            }
            Event::Lost { t_ms, why } => {
                self.pace(t_ms);
                Poll::Lost { t_ms, why }
            }
            // A hold takes effect before the next frame: set it and let the loop look.
            Event::Hold { why, .. } => {
                let flag = if why == "paused" { &self.controls.paused } else { &self.controls.estop };
                flag.store(true, Ordering::SeqCst);
                Poll::Waiting
            }
            Event::Release { .. } => {
                self.controls.resume();
                Poll::Waiting
            }
        })
    }

    fn describe(&self) -> String {
        format!("recording {} ({} events)", self.dir.display(), self.events.len())
    }
}
