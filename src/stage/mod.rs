//! Pipeline stages between a frame source and the actuators: preprocess (frame → 28×28),
//! model (28×28 → probabilities), decide (probabilities over time → action).

pub mod decide;
pub mod model;
pub mod preprocess;

use decide::Decision;
use model::Probabilities;
use preprocess::{Found, NoDigit, Segmentation};

/// Milliseconds spent in each stage of one frame.
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize)]
pub struct Timings {
    pub preprocess: f64,
    pub model: f64,
    pub decide: f64,
}

impl Timings {
    pub fn total(&self) -> f64 {
        self.preprocess + self.model + self.decide
    }
}

/// What one frame produced.
#[derive(Clone, Debug)]
pub struct FrameResult {
    pub found: Result<Found, NoDigit>,
    /// The segmentation, when the pipeline keeps it and there was one.
    pub segmentation: Option<Segmentation>,
    pub probabilities: Option<Probabilities>,
    pub decision: Decision,
    pub timings: Timings,
    /// Preprocess + model + decision, in milliseconds.
    pub ms: f64,
}
