//! `--decisions FILE`: one JSON object per frame, and one for each time the wheels were
//! stopped from outside the decision logic (a camera fault, a hold, the end of the run,
//! which always comes last).

use std::io::Write;

use anyhow::{Context, Result};
use serde::Serialize;

use super::{FrameReport, FrameSink, Interruption};

/// One line of the log.
#[derive(Serialize)]
pub struct Record<'a> {
    pub frame: u64,
    pub t_ms: u64,
    pub digit: Option<u8>,
    pub confidence: f32,
    pub voted: Option<u8>,
    pub action: Option<&'static str>,
    pub reason: Option<&'a str>,
    pub wheels: [f32; 2],
    pub ms: f64,
}

impl<'a> Record<'a> {
    /// The record of one processed frame.
    pub fn of(r: &FrameReport) -> Record<'static> {
        let d = &r.result.decision;
        Record {
            frame: r.index,
            t_ms: r.frame.t_ms,
            digit: d.digit,
            confidence: d.confidence,
            voted: d.voted,
            action: d.command.map(|(c, _)| c.name()),
            reason: d.command.map(|(_, why)| why.describe()),
            wheels: [d.wheels.0, d.wheels.1],
            ms: r.result.ms,
        }
    }

    /// A record of the wheels being stopped outside the decision logic.
    pub fn stop(at: &'a Interruption) -> Self {
        Record {
            frame: at.frame,
            t_ms: at.t_ms,
            digit: None,
            confidence: 0.0,
            voted: None,
            action: Some("stop"),
            reason: Some(at.why),
            wheels: [0.0, 0.0],
            ms: 0.0,
        }
    }
}

/// Writes the log to any writer (a file, in practice).
pub struct DecisionLog<W: Write> {
    out: W,
}

impl<W: Write> DecisionLog<W> {
    pub fn new(out: W) -> Self {
        DecisionLog { out }
    }

    fn write(&mut self, rec: &Record) -> Result<()> {
        let line = serde_json::to_string(rec)?;
        writeln!(self.out, "{line}").context("writing --decisions")
    }
}

impl DecisionLog<std::io::BufWriter<std::fs::File>> {
    /// A log in a new file.
    pub fn create(path: &std::path::Path) -> Result<Self> {
        let file =
            std::fs::File::create(path).with_context(|| format!("--decisions {}: cannot create", path.display()))?;
        Ok(DecisionLog::new(std::io::BufWriter::new(file)))
    }
}

impl<W: Write> FrameSink for DecisionLog<W> {
    fn name(&self) -> &'static str {
        "decision log"
    }

    fn frame(&mut self, r: &FrameReport) -> Result<()> {
        let rec = Record::of(r);
        self.write(&rec)?;
        if rec.action.is_some() {
            // Actions are worth seeing at once (someone may be watching the file).
            self.out.flush().context("writing --decisions")?;
        }
        Ok(())
    }

    fn interrupted(&mut self, at: &Interruption) -> Result<()> {
        self.write(&Record::stop(at))?;
        self.out.flush().context("writing --decisions")
    }

    fn finish(&mut self, at: &Interruption) -> Result<()> {
        self.write(&Record::stop(at))?;
        self.out.flush().context("writing --decisions")
    }
}
