//! `run --record DIR`: every frame (a PNG, or the raw buffer gzipped when it does not hold
//! a whole frame), its time, camera faults and holds, in order, in `DIR/recording.jsonl`;
//! `run --replay DIR` plays it back (see `source::recording`) and reaches the same
//! decisions frame for frame. The way to take a robot's misbehaviour home to a laptop.
//!
//! Frames are compressed and written on a thread of their own; the loop hands them over
//! through a bounded queue, and waits only when the disk falls a whole queue behind.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{sync_channel, SyncSender};
use std::thread::JoinHandle;

use anyhow::{anyhow, Context, Result};

use super::{FrameReport, FrameSink, Interruption, Stop};
pub use crate::data::recording::{Event, INDEX};

enum Job {
    Event(Event, Option<Vec<u8>>),
    Done,
}

/// The recorder sink.
pub struct Recorder {
    tx: Option<SyncSender<Job>>,
    writer: Option<JoinHandle<Result<()>>>,
}

/// How many frames may wait for the disk before the loop waits too (about two seconds of
/// 640×480 at 30 fps, 18 MB).
const QUEUE: usize = 60;

impl Recorder {
    pub fn create(dir: &Path) -> Result<Self> {
        std::fs::create_dir_all(dir).with_context(|| format!("--record {}: cannot create", dir.display()))?;
        let index = dir.join(INDEX);
        let file =
            std::fs::File::create(&index).with_context(|| format!("--record: cannot create {}", index.display()))?;
        let (tx, rx) = sync_channel::<Job>(QUEUE);
        let dir = dir.to_path_buf();
        let writer = std::thread::Builder::new()
            .name("recorder".into())
            .spawn(move || -> Result<()> {
                let mut out = std::io::BufWriter::new(file);
                while let Ok(Job::Event(event, pixels)) = rx.recv() {
                    if let (Event::Frame { width, height, file, .. }, Some(px)) = (&event, pixels) {
                        write_frame(&dir, file, *width, *height, &px)?;
                    }
                    writeln!(out, "{}", serde_json::to_string(&event)?)
                        .and_then(|_| out.flush())
                        .with_context(|| format!("--record: writing {}", dir.join(INDEX).display()))?;
                }
                Ok(())
            })
            .context("--record: cannot start the writer thread")?;
        Ok(Recorder { tx: Some(tx), writer: Some(writer) })
    }

    fn send(&mut self, job: Job) -> Result<()> {
        let sent = self.tx.as_ref().is_some_and(|tx| tx.send(job).is_ok());
        if sent {
            return Ok(());
        }
        // The writer stopped: say why.
        self.tx = None;
        match self.writer.take().map(|w| w.join()) {
            Some(Ok(Err(e))) => Err(e),
            _ => Err(anyhow!("--record: the writer thread stopped")),
        }
    }
}

fn write_frame(dir: &Path, file: &str, width: usize, height: usize, px: &[u8]) -> Result<()> {
    let path: PathBuf = dir.join(file);
    let err = || format!("--record: writing {}", path.display());
    if px.len() == width * height {
        let f = std::fs::File::create(&path).with_context(err)?;
        let enc = image::codecs::png::PngEncoder::new_with_quality(
            std::io::BufWriter::new(f),
            image::codecs::png::CompressionType::Fast,
            image::codecs::png::FilterType::Sub,
        );
        image::ImageEncoder::write_image(enc, px, width as u32, height as u32, image::ExtendedColorType::L8)
            .with_context(err)?;
    } else {
        let f = std::fs::File::create(&path).with_context(err)?;
        let mut gz = flate2::write::GzEncoder::new(f, flate2::Compression::fast());
        gz.write_all(px).and_then(|_| gz.finish().map(|_| ())).with_context(err)?;
    }
    Ok(())
}

impl FrameSink for Recorder {
    fn name(&self) -> &'static str {
        "--record"
    }

    fn frame(&mut self, r: &FrameReport) -> Result<()> {
        let f = r.frame;
        let whole = f.pixels.len() == f.width * f.height;
        let file = format!("f{:06}.{}", r.index, if whole { "png" } else { "gray.gz" });
        let event = Event::Frame { index: r.index, t_ms: f.t_ms, width: f.width, height: f.height, file };
        self.send(Job::Event(event, Some(f.pixels.clone())))
    }

    fn interrupted(&mut self, at: &Interruption) -> Result<()> {
        let event = match at.kind {
            Stop::Stalled => Event::Stalled { t_ms: at.t_ms },
            Stop::Lost => Event::Lost { t_ms: at.t_ms, why: at.why.trim_start_matches("camera lost: ").to_string() },
            Stop::Hold => Event::Hold { frame: at.frame, why: at.why.to_string() },
            Stop::End => return Ok(()),
        };
        self.send(Job::Event(event, None))
    }

    fn resumed(&mut self, frame: u64) -> Result<()> {
        self.send(Job::Event(Event::Release { frame }, None))
    }

    fn finish(&mut self, _: &Interruption) -> Result<()> {
        self.send(Job::Done)?;
        self.tx = None;
        match self.writer.take().map(|w| w.join()) {
            Some(Ok(r)) => r,
            Some(Err(_)) => Err(anyhow!("--record: the writer thread panicked")),
            None => Ok(()),
        }
    }
}
