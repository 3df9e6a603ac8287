//! The live view's side of the loop: after each frame the sink leaves a snapshot of what
//! the robot saw and did in a single slot, which the web server (on its own thread) reads
//! whenever a browser asks. The loop never waits for the web: it publishes with `try_lock`
//! and at most `max_rate` times a second, and a slow or absent browser costs it nothing.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Result;
use serde::Serialize;

use super::{FrameReport, FrameSink, Interruption};
use crate::controls::Controls;
use crate::data::PIXELS;
use crate::gray::Rect;
use crate::stage::Timings;

/// One thing the robot did.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Action {
    pub frame: u64,
    pub t_ms: u64,
    pub action: String,
    pub reason: String,
}

/// What the robot saw and did at one frame.
#[derive(Clone, Debug, Serialize)]
pub struct Snapshot {
    pub frame: u64,
    pub t_ms: u64,
    pub width: usize,
    pub height: usize,
    #[serde(skip)]
    pub pixels: Vec<u8>,
    /// Where the digit was, in frame pixels.
    pub bbox: Option<Rect>,
    #[serde(skip)]
    pub input: Option<[u8; PIXELS]>,
    /// The model's outputs (10, or 11 with "no digit" last).
    pub probabilities: Vec<f32>,
    pub digit: Option<u8>,
    pub confidence: f32,
    pub voted: Option<u8>,
    /// Why no digit was found, when none was.
    pub no_digit: Option<&'static str>,
    pub action: Option<&'static str>,
    pub wheels: [f32; 2],
    pub timings: Timings,
    /// Frames per second over the last second or so.
    pub fps: f32,
}

/// State shared between the loop and the web server.
#[derive(Debug)]
pub struct Live {
    slot: Mutex<Option<Arc<Snapshot>>>,
    actions: Mutex<VecDeque<Action>>,
    pub controls: Arc<Controls>,
    /// The model's class names, in output order.
    pub labels: Vec<String>,
    pub model_sha256: String,
}

/// How many recent actions the view lists.
const ACTIONS_KEPT: usize = 20;

impl Live {
    pub fn new(controls: Arc<Controls>, labels: Vec<String>, model_sha256: String) -> Arc<Self> {
        Arc::new(Live { slot: Mutex::new(None), actions: Mutex::new(VecDeque::new()), controls, labels, model_sha256 })
    }

    /// The newest snapshot (the web thread's side).
    pub fn latest(&self) -> Option<Arc<Snapshot>> {
        self.slot.lock().ok().and_then(|s| s.clone())
    }

    pub fn actions(&self) -> Vec<Action> {
        self.actions.lock().map(|a| a.iter().cloned().collect()).unwrap_or_default()
    }

    fn push_action(&self, a: Action) {
        // Never wait for the web thread: a busy list misses an entry, the robot does not.
        if let Ok(mut list) = self.actions.try_lock() {
            if list.len() == ACTIONS_KEPT {
                list.pop_front();
            }
            list.push_back(a);
        }
    }
}

/// The sink that feeds [`Live`].
pub struct LiveView {
    live: Arc<Live>,
    every: Duration,
    last: Option<Instant>,
    outputs: usize,
    /// Frame times over the last second, for the frame rate.
    times: VecDeque<Instant>,
}

impl LiveView {
    /// Publishes at most `max_rate` snapshots a second; `outputs` is the model's count.
    pub fn new(live: Arc<Live>, max_rate: f32, outputs: usize) -> Self {
        LiveView {
            live,
            every: Duration::from_secs_f32(1.0 / max_rate.max(0.1)),
            last: None,
            outputs,
            times: VecDeque::new(),
        }
    }
}

impl FrameSink for LiveView {
    fn name(&self) -> &'static str {
        "live view"
    }

    fn frame(&mut self, r: &FrameReport) -> Result<()> {
        let now = Instant::now();
        self.times.push_back(now);
        while self.times.front().is_some_and(|t| now.duration_since(*t) > Duration::from_secs(1)) {
            self.times.pop_front();
        }
        let d = &r.result.decision;
        if let Some((cmd, why)) = d.command {
            self.live.push_action(Action {
                frame: r.index,
                t_ms: r.frame.t_ms,
                action: cmd.name().into(),
                reason: why.describe().into(),
            });
        }
        // While paused the view holds its frame, so it can be looked at and labelled.
        let paused = self.live.controls.paused.load(std::sync::atomic::Ordering::Relaxed);
        if paused || self.last.is_some_and(|t| now.duration_since(t) < self.every) {
            return Ok(());
        }
        let Ok(mut slot) = self.live.slot.try_lock() else { return Ok(()) };
        let span = self.times.front().map_or(0.0, |t| now.duration_since(*t).as_secs_f32());
        let found = r.result.found.as_ref();
        *slot = Some(Arc::new(Snapshot {
            frame: r.index,
            t_ms: r.frame.t_ms,
            width: r.frame.width,
            height: r.frame.height,
            pixels: r.frame.pixels.clone(),
            bbox: found.ok().map(|f| f.bbox),
            input: found.ok().map(|f| f.digit),
            probabilities: r.result.probabilities.map(|p| p[..self.outputs].to_vec()).unwrap_or_default(),
            digit: d.digit,
            confidence: d.confidence,
            voted: d.voted,
            no_digit: found.err().map(|e| e.as_str()),
            action: d.command.map(|(c, _)| c.name()),
            wheels: [d.wheels.0, d.wheels.1],
            timings: r.result.timings,
            fps: if span > 0.0 { (self.times.len() - 1) as f32 / span } else { 0.0 },
        }));
        self.last = Some(now);
        Ok(())
    }

    fn interrupted(&mut self, at: &Interruption) -> Result<()> {
        self.live.push_action(Action { frame: at.frame, t_ms: at.t_ms, action: "stop".into(), reason: at.why.into() });
        Ok(())
    }

    fn finish(&mut self, at: &Interruption) -> Result<()> {
        self.interrupted(at)
    }

    /// A view that fails (it cannot, short of a poisoned lock) is only a view.
    fn essential(&self) -> bool {
        false
    }
}
