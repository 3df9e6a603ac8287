//! Sinks: where a frame's results go. [`Actuators`] is the safety-critical boundary the
//! motor drivers implement (the loop stops them on every way out); everything else that
//! consumes a frame's result — the LEDs, the decision log, the printer, `--dump`, the
//! systemd watchdog, the live view — is a [`FrameSink`], and the loop fans out to them.

pub mod capture;
pub mod decisions;
pub mod dump;
pub mod fake;
pub mod leds;
pub mod live;
pub mod motor_hat;
pub mod print;
pub mod record;
pub mod watchdog;

use std::sync::{Arc, Mutex};

use anyhow::Result;

use crate::source::Frame;
use crate::stage::FrameResult;

/// The robot's outputs. Speeds are in -1..=1 (positive = forward).
pub trait Actuators {
    /// Sets both wheel speeds.
    fn set_motors(&mut self, left: f32, right: f32) -> Result<()>;

    /// Stops both wheels. Must be safe to call at any time and any number of times.
    fn stop(&mut self) -> Result<()> {
        self.set_motors(0.0, 0.0)
    }
}

/// Logs every change at info level (`RUST_LOG=info`).
#[derive(Debug, Default)]
pub struct LogSink {
    wheels: Option<(f32, f32)>,
}

impl Actuators for LogSink {
    fn set_motors(&mut self, left: f32, right: f32) -> Result<()> {
        if self.wheels != Some((left, right)) {
            log::info!("motors: left {left:+.2} right {right:+.2}");
            self.wheels = Some((left, right));
        }
        Ok(())
    }

    fn stop(&mut self) -> Result<()> {
        log::info!("motors: stop");
        self.wheels = Some((0.0, 0.0));
        Ok(())
    }
}

/// One call made on a [`RecordingSink`].
#[derive(Clone, Debug, PartialEq)]
pub enum Event {
    Motors(f32, f32),
    Stop,
}

/// Records every call; clones share the record, so a test keeps one and hands the other
/// to the pipeline.
#[derive(Clone, Debug, Default)]
pub struct RecordingSink {
    events: Arc<Mutex<Vec<Event>>>,
}

impl RecordingSink {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn events(&self) -> Vec<Event> {
        self.events.lock().map(|e| e.clone()).unwrap_or_default()
    }

    fn push(&self, e: Event) {
        if let Ok(mut v) = self.events.lock() {
            v.push(e);
        }
    }
}

impl Actuators for RecordingSink {
    fn set_motors(&mut self, left: f32, right: f32) -> Result<()> {
        self.push(Event::Motors(left, right));
        Ok(())
    }

    fn stop(&mut self) -> Result<()> {
        self.push(Event::Stop);
        Ok(())
    }
}

/// Forwards to each of several actuators (e.g. the motor HAT plus a log); a failure in one
/// does not keep the others from being told to stop.
pub struct Fanout(pub Vec<Box<dyn Actuators>>);

impl Actuators for Fanout {
    fn set_motors(&mut self, left: f32, right: f32) -> Result<()> {
        self.0.iter_mut().map(|s| s.set_motors(left, right)).fold(Ok(()), Result::and)
    }

    fn stop(&mut self) -> Result<()> {
        self.0.iter_mut().map(|s| s.stop()).fold(Ok(()), Result::and)
    }
}

/// One processed frame, as the sinks see it.
pub struct FrameReport<'a> {
    /// Frames processed before this one.
    pub index: u64,
    pub frame: &'a Frame,
    pub result: &'a FrameResult,
}

/// The wheels were stopped outside the decision logic: the camera stalled or vanished, the
/// live view held the robot, or the run ended.
pub struct Interruption<'a> {
    /// Frames processed so far.
    pub frame: u64,
    pub t_ms: u64,
    pub kind: Stop,
    pub why: &'a str,
}

/// What stopped the wheels outside the decision logic.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stop {
    /// No frames for longer than the camera's timeout.
    Stalled,
    /// The camera is gone.
    Lost,
    /// Held from the live view: an emergency stop or a pause.
    Hold,
    /// The run is over.
    End,
}

/// Whatever consumes a frame's result. Only `frame` must be written; the rest have defaults.
pub trait FrameSink {
    /// Names the sink in logs.
    fn name(&self) -> &'static str;

    fn frame(&mut self, report: &FrameReport) -> Result<()>;

    /// The wheels were stopped by a fault or a hold (the run goes on).
    fn interrupted(&mut self, _at: &Interruption) -> Result<()> {
        Ok(())
    }

    /// A hold was released after `frame` frames (the robot may act again).
    fn resumed(&mut self, _frame: u64) -> Result<()> {
        Ok(())
    }

    /// The run is over and the wheels are stopped.
    fn finish(&mut self, _at: &Interruption) -> Result<()> {
        Ok(())
    }

    /// Whether its failure must end the run (a log the user asked for), or only put the
    /// sink out of use (an indicator, a view).
    fn essential(&self) -> bool {
        true
    }

    /// Put out of use after a failure: leave the hardware in a safe, quiet state if it can.
    fn failed(&mut self) {}

    /// Whether it needs the frame's segmentation (the pipeline then keeps it).
    fn wants_segmentation(&self) -> bool {
        false
    }
}

/// The loop's fan-out: each sink in turn. An essential sink's error ends the run; any
/// other sink that fails is logged once, told so, and not used again.
#[derive(Default)]
pub struct Sinks(Vec<(Box<dyn FrameSink>, bool)>);

impl Sinks {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn push(&mut self, sink: impl FrameSink + 'static) {
        self.0.push((Box::new(sink), true));
    }

    pub fn push_boxed(&mut self, sink: Box<dyn FrameSink>) {
        self.0.push((sink, true));
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn want_segmentation(&self) -> bool {
        self.0.iter().any(|(s, _)| s.wants_segmentation())
    }

    fn each(&mut self, mut call: impl FnMut(&mut dyn FrameSink) -> Result<()>) -> Result<()> {
        let mut first_err = None;
        for (sink, live) in self.0.iter_mut().filter(|(_, live)| *live) {
            if let Err(e) = call(sink.as_mut()) {
                if sink.essential() {
                    first_err.get_or_insert(e);
                } else {
                    log::error!("{}: {e:#}; it is switched off for the rest of the run", sink.name());
                    sink.failed();
                    *live = false;
                }
            }
        }
        first_err.map_or(Ok(()), Err)
    }

    pub fn frame(&mut self, report: &FrameReport) -> Result<()> {
        self.each(|s| s.frame(report))
    }

    pub fn interrupted(&mut self, at: &Interruption) -> Result<()> {
        self.each(|s| s.interrupted(at))
    }

    pub fn resumed(&mut self, frame: u64) -> Result<()> {
        self.each(|s| s.resumed(frame))
    }

    pub fn finish(&mut self, at: &Interruption) -> Result<()> {
        self.each(|s| s.finish(at))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Failing;
    impl Actuators for Failing {
        fn set_motors(&mut self, _: f32, _: f32) -> Result<()> {
            anyhow::bail!("bus gone")
        }
    }

    #[test]
    fn fanout_stops_every_sink_even_when_one_fails() {
        let rec = RecordingSink::new();
        let mut all = Fanout(vec![Box::new(Failing), Box::new(rec.clone())]);
        assert!(all.stop().is_err());
        assert_eq!(rec.events(), vec![Event::Stop]);
    }
}
