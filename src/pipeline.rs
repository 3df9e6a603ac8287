//! The per-frame work (preprocess → model → decide), built in one place from the validated
//! config, and the loop that runs it: source → pipeline → actuators and sinks, with the
//! motors stopped at start-up and on every way out (end of stream, error, signal, panic).

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result};

use crate::config::Config;
pub use crate::controls::Controls;
use crate::data::PIXELS;
use crate::sink::{Actuators, FrameReport, Interruption, Sinks, Stop};
use crate::source::{Frame, FrameSource, Poll};
use crate::stage::decide::{read, Command, Decider, DecisionConfig};
use crate::stage::model::{InputScale, Model};
use crate::stage::preprocess::{Alternative, Preprocessor};
pub use crate::stage::{FrameResult, Timings};

/// What a command line may change in the config's pipeline.
#[derive(Clone, Debug, Default)]
pub struct Overrides {
    /// Another model file.
    pub model: Option<PathBuf>,
    /// Another input scale (`--input-range`, `--input-mean-std`).
    pub scale: Option<InputScale>,
    /// Another confidence threshold.
    pub threshold: Option<f32>,
    /// Judge each frame on its own (no vote over frames): `classify` and `eval`.
    pub single_frame: bool,
}

/// The per-frame work, from frame to decision.
pub struct Pipeline {
    /// The preprocess stage, with the buffers it reuses frame after frame.
    pub preprocessor: Preprocessor,
    pub model: Model,
    pub scale: InputScale,
    pub decider: Decider,
    /// Keep each frame's segmentation in its result (for `--dump` and the live view).
    pub keep_segmentation: bool,
}

fn ms_since(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1000.0
}

impl Pipeline {
    /// The pipeline a config describes, with the command line's overrides: the one way
    /// every command, test and benchmark builds it.
    pub fn from_config(cfg: &Config, o: &Overrides) -> Result<Pipeline> {
        let path = o.model.clone().unwrap_or_else(|| cfg.model_path.clone());
        let model = Model::load(&path)?;
        let (scale, from) = model.choose_scale(o.scale, cfg.input_scale);
        log::info!("model {}: input {:?}, {scale} ({from})", path.display(), model.input_shape());
        let mut decision = cfg.decision.clone();
        if let Some(t) = o.threshold {
            if !(0.0..=1.0).contains(&t) {
                anyhow::bail!("--threshold must be within 0..=1, got {t}");
            }
            decision.threshold = t;
        }
        if o.single_frame {
            decision = DecisionConfig { votes: 1, agreement: 1, cooldown_ms: 0, hold_ms: 1, ..decision };
        }
        Ok(Pipeline {
            preprocessor: Preprocessor::new(cfg.preprocess.clone()),
            model,
            scale,
            decider: Decider::new(decision),
            keep_segmentation: false,
        })
    }

    /// The model's input for a 28×28 MNIST-style digit.
    pub fn model_input(&self, digit: &[u8; PIXELS]) -> [f32; PIXELS] {
        self.scale.to_input(digit)
    }

    /// Reads one frame and decides.
    pub fn process(&mut self, frame: &Frame) -> Result<FrameResult> {
        let start = Instant::now();
        let mut found = self.preprocessor.run(&frame.pixels, frame.width, frame.height);
        let mut segmentation = if self.keep_segmentation { self.preprocessor.segmentation() } else { None };
        let mut preprocess_ms = ms_since(start);
        let model_start = Instant::now();
        let mut probabilities = match &found {
            Ok(f) => Some(self.model.probabilities(&self.model_input(&f.digit))?),
            Err(_) => None,
        };
        let mut model_ms = ms_since(model_start);
        // A frame the preprocessor can read two ways: the other way is kept when it gives a
        // digit and the first does not, or, when both ways are as likely, a digit the model
        // is surer of.
        let threshold = self.decider.config().threshold;
        let alt_start = Instant::now();
        let alternative = self.preprocessor.light_alternative(&frame.pixels, frame.width, frame.height);
        preprocess_ms += ms_since(alt_start);
        if let Some((Ok(alt), kind)) = alternative {
            let model_start = Instant::now();
            let p = self.model.probabilities(&self.model_input(&alt.digit))?;
            model_ms += ms_since(model_start);
            let (first, other) = (read(probabilities.as_ref(), threshold), read(Some(&p), threshold));
            let surer = kind == Alternative::Rival && other.1 > first.1;
            if other.0.is_some() && (first.0.is_none() || surer) {
                found = Ok(alt);
                probabilities = Some(p);
                if self.keep_segmentation {
                    segmentation = self.preprocessor.segmentation();
                }
            }
        }
        let decide_start = Instant::now();
        let decision = self.decider.update(frame.t_ms, probabilities.as_ref());
        let timings = Timings { preprocess: preprocess_ms, model: model_ms, decide: ms_since(decide_start) };
        Ok(FrameResult { found, segmentation, probabilities, decision, timings, ms: ms_since(start) })
    }
}

/// How a run ended.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Summary {
    pub frames: u64,
    pub actions: Vec<(u64, &'static str)>,
}

/// What ends a run besides its source, and what can hold it.
#[derive(Clone, Default)]
pub struct RunOptions {
    pub max_frames: Option<u64>,
    /// Set by a signal handler to end the loop.
    pub shutdown: Arc<AtomicBool>,
    pub controls: Arc<Controls>,
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

/// Runs the loop until the source ends, `max_frames`, a shutdown request or an error: each
/// frame goes through the pipeline, its command to the actuators, and its report to every
/// sink. Stalls, camera loss and holds stop the wheels first and are reported after.
pub fn run(
    source: &mut dyn FrameSource,
    pipeline: &mut Pipeline,
    actuators: &mut dyn Actuators,
    sinks: &mut Sinks,
    opts: &RunOptions,
) -> Result<Summary> {
    actuators.stop().context("stopping the motors at start-up")?;
    pipeline.keep_segmentation |= sinks.want_segmentation();
    let guard = StopGuard(actuators);
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
            // A hold from the live view stops the wheels at once, even between frames.
            let hold = opts.controls.hold();
            if hold.is_some() != pipeline.decider.inhibited() {
                pipeline.decider.inhibit(hold.is_some());
                if let Some(why) = hold {
                    guard.0.stop()?;
                    log::warn!("{why}: motors stopped until resume");
                    summary.actions.push((summary.frames, "stop"));
                    sinks.interrupted(&Interruption { frame: summary.frames, t_ms: last_t, kind: Stop::Hold, why })?;
                } else {
                    log::info!("resumed");
                    sinks.resumed(summary.frames)?;
                }
            }
            let frame = match source.next_frame()? {
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
                    pipeline.decider.reset();
                    let (kind, why) = match poll {
                        Poll::Lost { why, .. } => (Stop::Lost, format!("camera lost: {why}")),
                        _ => (Stop::Stalled, "camera stalled".to_string()),
                    };
                    log::warn!("{}: {why}; motors stopped, waiting for frames", source.describe());
                    summary.actions.push((summary.frames, "stop"));
                    sinks.interrupted(&Interruption { frame: summary.frames, t_ms, kind, why: &why })?;
                    fault = Some(why);
                    last_t = t_ms;
                    continue;
                }
            };
            if let Some(why) = fault.take() {
                log::info!("{}: frames are back after {why}", source.describe());
            }
            last_t = frame.t_ms;
            let r = pipeline.process(&frame)?;
            if let Some((cmd, _)) = r.decision.command {
                match cmd {
                    Command::Drive { left, right, .. } => guard.0.set_motors(left, right)?,
                    Command::Stop => guard.0.stop()?,
                }
                summary.actions.push((summary.frames, cmd.name()));
            }
            sinks.frame(&FrameReport { index: summary.frames, frame: &frame, result: &r })?;
            summary.frames += 1;
        }
    })();
    // Stop before reporting anything, whatever happened above.
    let stopped = guard.0.stop().context("stopping the motors");
    std::mem::forget(guard);
    let reason = match &result {
        Ok(()) => "shutdown".to_string(),
        Err(e) => format!("error: {e:#}"),
    };
    let finished = sinks.finish(&Interruption { frame: summary.frames, t_ms: last_t, kind: Stop::End, why: &reason });
    result?;
    stopped?;
    finished?;
    Ok(summary)
}
