//! Recording fakes of the hardware buses, for tests: every transaction is kept, and
//! failures can be injected.

use std::sync::{Arc, Mutex};

use embedded_hal::i2c::{self, ErrorKind, I2c, NoAcknowledgeSource, Operation};

/// One I2C transaction part: a write of bytes to an address, or a read of n bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Op {
    Write(u8, Vec<u8>),
    Read(u8, usize),
}

#[derive(Debug, Default)]
struct State {
    ops: Vec<Op>,
    /// Writes that succeed before every further one fails (None: never fail).
    fail_after: Option<usize>,
    attempts: usize,
}

/// An I2C bus that records what is written. Clones share the record.
#[derive(Clone, Debug, Default)]
pub struct RecordingI2c(Arc<Mutex<State>>);

/// The error a failing [`RecordingI2c`] returns: what Linux reports as "Remote I/O error".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NoAck;

impl i2c::Error for NoAck {
    fn kind(&self) -> ErrorKind {
        ErrorKind::NoAcknowledge(NoAcknowledgeSource::Address)
    }
}

impl RecordingI2c {
    pub fn new() -> Self {
        Self::default()
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Returns and clears the recorded operations.
    pub fn take(&self) -> Vec<Op> {
        std::mem::take(&mut self.state().ops)
    }

    /// After `n` more successful operations, fail every one.
    pub fn fail_after(&self, n: usize) {
        let mut s = self.state();
        s.fail_after = Some(s.ops.len() + n);
    }

    /// Every transaction tried, failed ones included.
    pub fn attempts(&self) -> usize {
        self.state().attempts
    }
}

impl i2c::ErrorType for RecordingI2c {
    type Error = NoAck;
}

impl I2c for RecordingI2c {
    fn transaction(&mut self, address: u8, operations: &mut [Operation<'_>]) -> Result<(), NoAck> {
        let mut s = self.state();
        s.attempts += 1;
        if s.fail_after.is_some_and(|n| s.ops.len() >= n) {
            return Err(NoAck);
        }
        for op in operations {
            match op {
                Operation::Write(b) => s.ops.push(Op::Write(address, b.to_vec())),
                Operation::Read(b) => {
                    b.fill(0);
                    s.ops.push(Op::Read(address, b.len()));
                }
            }
        }
        Ok(())
    }
}

#[derive(Debug, Default)]
struct Pins {
    levels: Vec<bool>,
    writes: usize,
    /// Successful writes after which writes fail, and how many of them fail.
    fail: Option<(usize, usize)>,
    attempts: usize,
}

/// Output pins that record their levels. Clones share the record.
#[derive(Clone, Debug)]
pub struct RecordingPins(Arc<Mutex<Pins>>);

impl RecordingPins {
    pub fn new(n: usize) -> Self {
        RecordingPins(Arc::new(Mutex::new(Pins { levels: vec![false; n], ..Pins::default() })))
    }

    fn pins(&self) -> std::sync::MutexGuard<'_, Pins> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Current level of each pin.
    pub fn levels(&self) -> Vec<bool> {
        self.pins().levels.clone()
    }

    /// How many pin writes were made.
    pub fn writes(&self) -> usize {
        self.pins().writes
    }

    /// Every write tried, failed ones included.
    pub fn attempts(&self) -> usize {
        self.pins().attempts
    }

    /// After `n` more successful writes, fail the next `times` writes (`usize::MAX`: a
    /// GPIO line gone for good).
    pub fn fail_after(&self, n: usize, times: usize) {
        let mut p = self.pins();
        p.fail = Some((p.writes + n, times));
    }
}

impl crate::sink::leds::OutputPins for RecordingPins {
    fn count(&self) -> usize {
        self.pins().levels.len()
    }

    fn set(&mut self, index: usize, high: bool) -> anyhow::Result<()> {
        let mut s = self.pins();
        s.attempts += 1;
        if let Some((after, times)) = s.fail {
            if s.writes >= after && times > 0 {
                s.fail = Some((after, times - 1));
                anyhow::bail!("GPIO line {index}: I/O error (injected)");
            }
        }
        let Some(level) = s.levels.get_mut(index) else { anyhow::bail!("no pin {index}") };
        *level = high;
        s.writes += 1;
        Ok(())
    }
}
