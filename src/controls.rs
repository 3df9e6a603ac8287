//! Holds put on the robot from outside the loop (the live view's emergency stop and pause),
//! shared by the loop, the live view, the web server and a replay.

use std::sync::atomic::{AtomicBool, Ordering};

/// Holds from outside the loop: the live view's emergency stop and pause.
#[derive(Debug, Default)]
pub struct Controls {
    /// Latched: the wheels stay stopped until `resume`.
    pub estop: AtomicBool,
    /// The robot stops acting and the view holds its frame until `resume`.
    pub paused: AtomicBool,
}

impl Controls {
    pub fn resume(&self) {
        self.estop.store(false, Ordering::SeqCst);
        self.paused.store(false, Ordering::SeqCst);
    }

    /// Why the robot is held, if it is.
    pub fn hold(&self) -> Option<&'static str> {
        if self.estop.load(Ordering::SeqCst) {
            Some("e-stop")
        } else if self.paused.load(Ordering::SeqCst) {
            Some("paused")
        } else {
            None
        }
    }
}
