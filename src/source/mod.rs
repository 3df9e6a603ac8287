//! Frame sources: where grayscale frames come from — the simulated camera, image files,
//! and on the robot the V4L2 camera.

#[cfg(feature = "camera")]
pub mod camera;
pub mod convert;
pub mod file;
pub mod recording;
pub mod sim;

use std::path::PathBuf;

use anyhow::Result;

use convert::PixelFormat;

/// One grayscale frame, row-major, one byte per pixel.
#[derive(Clone, Debug, PartialEq)]
pub struct Frame {
    pub width: usize,
    pub height: usize,
    pub pixels: Vec<u8>,
    /// Capture time in milliseconds since the source started.
    pub t_ms: u64,
}

/// What a source has next.
#[derive(Clone, Debug, PartialEq)]
pub enum Poll {
    Frame(Frame),
    /// No frame yet, but not for long enough to be a fault (lets the loop check for a
    /// shutdown request while it waits).
    Waiting,
    /// No frame for longer than the timeout: the camera has stalled.
    Stalled {
        t_ms: u64,
    },
    /// The camera is gone (unplugged, driver error); the source keeps trying to reopen it.
    Lost {
        t_ms: u64,
        why: String,
    },
    /// The stream is over (a replay or scenario ended).
    End,
}

/// A stream of frames. An error means the source cannot go on at all; faults it can
/// recover from are [`Poll::Stalled`] and [`Poll::Lost`]. Either way the loop stops the
/// motors first.
pub trait FrameSource {
    fn next_frame(&mut self) -> Result<Poll>;

    /// Human-readable name for logs.
    fn describe(&self) -> String;
}

/// Camera settings.
#[derive(Clone, Debug, PartialEq)]
pub struct CameraConfig {
    pub device: PathBuf,
    /// A fixed pixel format, or None to take the first the camera offers.
    pub format: Option<PixelFormat>,
    pub width: usize,
    pub height: usize,
    pub fps: f32,
    /// No frame for this long is a stalled camera.
    pub timeout_ms: u64,
    pub exposure: Option<i64>,
    pub gain: Option<i64>,
}
