//! Prints what the robot does on stdout: a line per command and per stop, and the run's end.

use anyhow::Result;

use super::{FrameReport, FrameSink, Interruption};

/// The stdout printer of `digitbot run`. Frames without a command are logged at debug
/// level only (`RUST_LOG=debug`).
#[derive(Debug, Default)]
pub struct Printer;

impl FrameSink for Printer {
    fn name(&self) -> &'static str {
        "printer"
    }

    fn frame(&mut self, r: &FrameReport) -> Result<()> {
        let d = &r.result.decision;
        let seen = match (&r.result.found, d.digit) {
            (Err(why), _) => format!("no digit ({})", why.as_str()),
            (Ok(_), Some(digit)) => format!("digit {digit} ({:.0}%)", d.confidence * 100.0),
            (Ok(_), None) => format!("unsure ({:.0}%)", d.confidence * 100.0),
        };
        let t = r.frame.t_ms as f64 / 1000.0;
        match d.command {
            Some((cmd, why)) => println!(
                "frame {:>5} t={t:>7.2}s  {seen:<28} -> {} ({})  wheels {:+.2} {:+.2}",
                r.index,
                cmd.name(),
                why.describe(),
                d.wheels.0,
                d.wheels.1
            ),
            None => log::debug!("frame {} t={}ms {seen}", r.index, r.frame.t_ms),
        }
        Ok(())
    }

    fn interrupted(&mut self, at: &Interruption) -> Result<()> {
        println!("t={:>7.2}s  {} -> stop", at.t_ms as f64 / 1000.0, at.why);
        Ok(())
    }

    fn finish(&mut self, at: &Interruption) -> Result<()> {
        println!("stop ({}) after {} frames", at.why, at.frame);
        Ok(())
    }

    fn essential(&self) -> bool {
        false
    }
}
