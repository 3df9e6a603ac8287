//! The loop: source → preprocess → model → decide → sinks, with the motors stopped at
//! start-up and on every way out (end of stream, error, signal, panic).

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result};
use serde::Serialize;

use crate::data::PIXELS;
use crate::sink::Actuators;
use crate::source::{Frame, FrameSource, Poll};
use crate::stage::decide::{Command, Decider, Decision, Reason};
use crate::stage::model::{InputScale, Model};
use crate::stage::preprocess::{self, Found, NoDigit, Params};

/// The per-frame work, from frame to decision.
pub struct Pipeline {
    pub params: Params,
    pub model: Model,
    pub scale: InputScale,
    pub decider: Decider,
}

/// What one frame produced.
#[derive(Clone, Debug)]
pub struct FrameResult {
    pub found: Result<Found, NoDigit>,
    pub probabilities: Option<[f32; 10]>,
    pub decision: Decision,
    /// Preprocess + model + decision, in milliseconds.
    pub ms: f64,
}

impl Pipeline {
    /// The model's input for a 28×28 MNIST-style digit.
    pub fn model_input(&self, digit: &[u8; PIXELS]) -> [f32; PIXELS] {
        self.scale.to_input(digit)
    }

    /// Classifies one grayscale frame and decides.
    pub fn process(&mut self, pixels: &[u8], width: usize, height: usize, t_ms: u64) -> Result<FrameResult> {
        let start = Instant::now();
        let found = preprocess::preprocess(pixels, width, height, &self.params);
        let probabilities = match &found {
            Ok(f) => Some(self.model.probabilities(&self.model_input(&f.digit))?),
            Err(_) => None,
        };
        let decision = self.decider.update(t_ms, probabilities.as_ref());
        Ok(FrameResult { found, probabilities, decision, ms: start.elapsed().as_secs_f64() * 1000.0 })
    }
}

/// One line of `--decisions`: a JSON object per frame, and a last one for the shutdown.
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
    /// A record of the wheels being stopped outside the decision logic.
    fn stop(frame: u64, t_ms: u64, reason: &'a str) -> Self {
        Record {
            frame,
            t_ms,
            digit: None,
            confidence: 0.0,
            voted: None,
            action: Some("stop"),
            reason: Some(reason),
            wheels: [0.0, 0.0],
            ms: 0.0,
        }
    }
}

/// How a run ended.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Summary {
    pub frames: u64,
    pub actions: Vec<(u64, &'static str)>,
}

pub struct RunOptions {
    pub max_frames: Option<u64>,
    pub decisions: Option<Box<dyn Write>>,
    /// Set by a signal handler to end the loop.
    pub shutdown: Arc<AtomicBool>,
    /// Print each decision to stdout.
    pub print: bool,
    /// systemd's watchdog, fed once per processed frame.
    pub notifier: Option<crate::service::Notifier>,
    /// `--dump DIR`: frame, mask and model input of every frame as PNGs.
    pub dump: Option<crate::dump::Dumper>,
}

/// Calls `stop()` when dropped, so a panic unwinding through the loop still stops the wheels.
struct StopGuard<'a>(&'a mut dyn Actuators);

impl Drop for StopGuard<'_> {
    fn drop(&mut self) {
        if let Err(e) = self.0.stop() {
            log::error!("could not stop the motors: {e:#}");
        }
    }
}

fn reason_name(r: Reason) -> &'static str {
    match r {
        Reason::Digit => "digit",
        Reason::Done => "action done",
        Reason::Hold => "no digit for hold_ms",
    }
}

/// Runs the loop until the source ends, `max_frames`, a shutdown request or an error.
pub fn run(
    source: &mut dyn FrameSource,
    pipeline: &mut Pipeline,
    sink: &mut dyn Actuators,
    mut opts: RunOptions,
) -> Result<Summary> {
    sink.stop().context("stopping the motors at start-up")?;
    let guard = StopGuard(sink);
    let mut summary = Summary::default();
    let mut last_t = 0;
    let mut fault: Option<String> = None;
    let result = (|| -> Result<()> {
        loop {
            if opts.shutdown.load(Ordering::Relaxed) {
                log::info!("shutdown requested");
                return Ok(());
            }
            if opts.max_frames.is_some_and(|m| summary.frames >= m) {
                return Ok(());
            }
            let Frame { width, height, pixels, t_ms } = match source.next_frame()? {
                Poll::Frame(f) => f,
                Poll::Waiting => continue,
                Poll::End => {
                    log::info!("{}: end of stream", source.describe());
                    return Ok(());
                }
                Poll::Stalled { t_ms } | Poll::Lost { t_ms, .. } if fault.is_some() => {
                    last_t = t_ms;
                    continue;
                }
                poll @ (Poll::Stalled { t_ms } | Poll::Lost { t_ms, .. }) => {
                    // Stop first, then say so, once per fault.
                    guard.0.stop()?;
                    guard.0.show(None)?;
                    pipeline.decider.reset();
                    let why = match poll {
                        Poll::Lost { why, .. } => format!("camera lost: {why}"),
                        _ => "camera stalled".to_string(),
                    };
                    log::warn!("{}: {why}; motors stopped, waiting for frames", source.describe());
                    summary.actions.push((summary.frames, "stop"));
                    if opts.print {
                        println!("t={:>7.2}s  {why} -> stop", t_ms as f64 / 1000.0);
                    }
                    if let Some(w) = opts.decisions.as_mut() {
                        let rec = Record::stop(summary.frames, t_ms, &why);
                        writeln!(w, "{}", serde_json::to_string(&rec)?).context("writing --decisions")?;
                    }
                    fault = Some(why);
                    last_t = t_ms;
                    continue;
                }
            };
            if let Some(why) = fault.take() {
                log::info!("{}: frames are back after {why}", source.describe());
            }
            last_t = t_ms;
            let r = pipeline.process(&pixels, width, height, t_ms)?;
            if let Some(n) = opts.notifier.as_mut() {
                n.frame();
            }
            if let Some(d) = &opts.dump {
                d.write(&format!("frame-{:05}", summary.frames), &pixels, width, height, &pipeline.params)?;
            }
            let d = &r.decision;
            guard.0.show(d.digit)?;
            if let Some((cmd, _)) = d.command {
                match cmd {
                    Command::Drive { left, right, .. } => guard.0.set_motors(left, right)?,
                    Command::Stop => guard.0.stop()?,
                }
                summary.actions.push((summary.frames, cmd.name()));
            }
            if opts.print {
                print_decision(summary.frames, t_ms, &r);
            }
            if let Some(w) = opts.decisions.as_mut() {
                let rec = Record {
                    frame: summary.frames,
                    t_ms,
                    digit: d.digit,
                    confidence: d.confidence,
                    voted: d.voted,
                    action: d.command.map(|(c, _)| c.name()),
                    reason: d.command.map(|(_, r)| reason_name(r)),
                    wheels: [d.wheels.0, d.wheels.1],
                    ms: r.ms,
                };
                writeln!(w, "{}", serde_json::to_string(&rec)?).context("writing --decisions")?;
            }
            summary.frames += 1;
        }
    })();
    // Stop before reporting anything, whatever happened above.
    let stopped = guard.0.stop().context("stopping the motors");
    std::mem::forget(guard);
    if let Some(n) = &opts.notifier {
        n.stopping();
    }
    let reason = match &result {
        Ok(()) => "shutdown".to_string(),
        Err(e) => format!("error: {e:#}"),
    };
    if let Some(w) = opts.decisions.as_mut() {
        let rec = Record::stop(summary.frames, last_t, &reason);
        let _ = writeln!(w, "{}", serde_json::to_string(&rec)?);
        let _ = w.flush();
    }
    if opts.print {
        println!("stop ({reason}) after {} frames", summary.frames);
    }
    result?;
    stopped?;
    Ok(summary)
}

fn print_decision(frame: u64, t_ms: u64, r: &FrameResult) {
    let d = &r.decision;
    let seen = match (&r.found, d.digit) {
        (Err(why), _) => format!("no digit ({})", why.as_str()),
        (Ok(_), Some(digit)) => format!("digit {digit} ({:.0}%)", d.confidence * 100.0),
        (Ok(_), None) => format!("unsure ({:.0}%)", d.confidence * 100.0),
    };
    match d.command {
        Some((cmd, why)) => println!(
            "frame {frame:>5} t={:>7.2}s  {seen:<28} -> {} ({})  wheels {:+.2} {:+.2}",
            t_ms as f64 / 1000.0,
            cmd.name(),
            reason_name(why),
            d.wheels.0,
            d.wheels.1
        ),
        None => log::debug!("frame {frame} t={t_ms}ms {seen}"),
    }
}
