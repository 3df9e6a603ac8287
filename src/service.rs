//! systemd integration: READY once the model and camera are up, and watchdog pings only
//! while frames flow, so systemd restarts a process whose camera loop has hung. Both are
//! no-ops outside systemd (no `NOTIFY_SOCKET`).

use std::time::{Duration, Instant};

use sd_notify::NotifyState;

/// Tells systemd how the service is doing.
#[derive(Debug)]
pub struct Notifier {
    /// Ping at least this often (half the watchdog timeout), if systemd asked for pings.
    every: Option<Duration>,
    last: Option<Instant>,
}

impl Notifier {
    pub fn from_env() -> Self {
        Notifier { every: sd_notify::watchdog_enabled().map(|d| d / 2), last: None }
    }

    /// The model is loaded and frames can be read.
    pub fn ready(&self) {
        if let Err(e) = sd_notify::notify(&[NotifyState::Ready]) {
            log::warn!("cannot notify systemd: {e}");
        }
    }

    /// A frame went through the pipeline.
    pub fn frame(&mut self) {
        let Some(every) = self.every else { return };
        if self.last.is_none_or(|t| t.elapsed() >= every) {
            let _ = sd_notify::notify(&[NotifyState::Watchdog]);
            self.last = Some(Instant::now());
        }
    }

    pub fn stopping(&self) {
        let _ = sd_notify::notify(&[NotifyState::Stopping]);
    }
}
