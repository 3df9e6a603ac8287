//! Pipeline stages between a frame source and the actuators: preprocess (frame → 28×28),
//! model (28×28 → probabilities), decide (probabilities over time → action).

pub mod decide;
pub mod model;
pub mod preprocess;
