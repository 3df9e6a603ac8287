//! Frame sources: where grayscale frames come from — the simulated camera, image files,
//! and on the robot the V4L2 camera.

pub mod file;
pub mod sim;

use anyhow::Result;

/// One grayscale frame, row-major, one byte per pixel.
#[derive(Clone, Debug, PartialEq)]
pub struct Frame {
    pub width: usize,
    pub height: usize,
    pub pixels: Vec<u8>,
    /// Capture time in milliseconds since the source started.
    pub t_ms: u64,
}

/// A stream of frames. `Ok(None)` ends the stream; an error means the source failed
/// (the loop stops the motors before reporting it).
pub trait FrameSource {
    fn next_frame(&mut self) -> Result<Option<Frame>>;

    /// Human-readable name for logs.
    fn describe(&self) -> String;
}
