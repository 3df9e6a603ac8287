//! systemd integration: READY once the model and camera are up, and watchdog pings only
//! while frames flow, so systemd restarts a process whose camera loop has hung. Both are
//! no-ops outside systemd (no `NOTIFY_SOCKET`).

use std::time::{Duration, Instant};

use anyhow::Result;
use sd_notify::NotifyState;

use super::{FrameReport, FrameSink, Interruption};

/// Tells systemd how the service is doing.
#[derive(Debug)]
pub struct Watchdog {
    /// Ping at least this often (half the watchdog timeout), if systemd asked for pings.
    every: Option<Duration>,
    last: Option<Instant>,
}

impl Watchdog {
    pub fn from_env() -> Self {
        Watchdog { every: sd_notify::watchdog_enabled().map(|d| d / 2), last: None }
    }

    /// The model is loaded and frames can be read.
    pub fn ready(&self) {
        if let Err(e) = sd_notify::notify(&[NotifyState::Ready]) {
            log::warn!("cannot notify systemd: {e}");
        }
    }
}

impl FrameSink for Watchdog {
    fn name(&self) -> &'static str {
        "systemd watchdog"
    }

    /// A frame went through the pipeline: the loop is alive.
    fn frame(&mut self, _: &FrameReport) -> Result<()> {
        let Some(every) = self.every else { return Ok(()) };
        if self.last.is_none_or(|t| t.elapsed() >= every) {
            let _ = sd_notify::notify(&[NotifyState::Watchdog]);
            self.last = Some(Instant::now());
        }
        Ok(())
    }

    fn finish(&mut self, _: &Interruption) -> Result<()> {
        let _ = sd_notify::notify(&[NotifyState::Stopping]);
        Ok(())
    }
}
