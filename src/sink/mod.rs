//! Sinks: where decisions go. [`Actuators`] is the boundary the motor and LED drivers
//! implement; the logging sink prints commands, the recording sink keeps them for tests.

pub mod fake;
pub mod leds;
pub mod motor_hat;

use std::sync::{Arc, Mutex};

use anyhow::Result;

/// The robot's outputs. Speeds are in -1..=1 (positive = forward).
pub trait Actuators {
    /// Sets both wheel speeds.
    fn set_motors(&mut self, left: f32, right: f32) -> Result<()>;

    /// Stops both wheels. Must be safe to call at any time and any number of times.
    fn stop(&mut self) -> Result<()> {
        self.set_motors(0.0, 0.0)
    }

    /// Shows the recognised digit (or none), e.g. on LEDs.
    fn show(&mut self, _digit: Option<u8>) -> Result<()> {
        Ok(())
    }
}

/// Logs every change at info level (`RUST_LOG=info`).
#[derive(Debug, Default)]
pub struct LogSink {
    wheels: Option<(f32, f32)>,
    shown: Option<Option<u8>>,
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

    fn show(&mut self, digit: Option<u8>) -> Result<()> {
        if self.shown != Some(digit) {
            log::debug!("show: {digit:?}");
            self.shown = Some(digit);
        }
        Ok(())
    }
}

/// One call made on a [`RecordingSink`].
#[derive(Clone, Debug, PartialEq)]
pub enum Event {
    Motors(f32, f32),
    Stop,
    Show(Option<u8>),
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

    fn show(&mut self, digit: Option<u8>) -> Result<()> {
        self.push(Event::Show(digit));
        Ok(())
    }
}

/// Forwards to each of several sinks (e.g. motors and LEDs plus a log); a failure in one
/// does not keep the others from being told to stop.
pub struct Fanout(pub Vec<Box<dyn Actuators>>);

impl Actuators for Fanout {
    fn set_motors(&mut self, left: f32, right: f32) -> Result<()> {
        self.0.iter_mut().map(|s| s.set_motors(left, right)).fold(Ok(()), Result::and)
    }

    fn stop(&mut self) -> Result<()> {
        self.0.iter_mut().map(|s| s.stop()).fold(Ok(()), Result::and)
    }

    fn show(&mut self, digit: Option<u8>) -> Result<()> {
        self.0.iter_mut().map(|s| s.show(digit)).fold(Ok(()), Result::and)
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
