//! `run --capture DIR --label N`: captures every k-th frame, labelled N, without anyone at
//! the live view — for a scripted run in front of a card.

use std::sync::Arc;

use anyhow::Result;

use super::{FrameReport, FrameSink};
use crate::capture::{Capture, CaptureDir};

pub struct CaptureSink {
    dir: Arc<CaptureDir>,
    label: Option<u8>,
    every: u64,
    model_sha256: String,
}

impl CaptureSink {
    pub fn new(dir: Arc<CaptureDir>, label: Option<u8>, every: u64, model_sha256: String) -> Self {
        CaptureSink { dir, label, every: every.max(1), model_sha256 }
    }
}

impl FrameSink for CaptureSink {
    fn name(&self) -> &'static str {
        "--capture"
    }

    fn frame(&mut self, r: &FrameReport) -> Result<()> {
        if r.index % self.every != 0 || r.frame.pixels.len() != r.frame.width * r.frame.height {
            return Ok(());
        }
        let d = &r.result.decision;
        self.dir.write(&Capture {
            label: self.label,
            prediction: d.digit,
            confidence: d.confidence,
            t_ms: r.frame.t_ms,
            width: r.frame.width,
            height: r.frame.height,
            frame: &r.frame.pixels,
            input: r.result.found.as_ref().ok().map(|f| &f.digit),
            model_sha256: &self.model_sha256,
            source: "unattended",
        })?;
        Ok(())
    }
}
