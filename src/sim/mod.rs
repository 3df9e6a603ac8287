//! The simulator's world: what a simulated camera would see. Scenarios (what is shown
//! when, and which faults happen), the plain paper view, camera-like scenes, and the
//! built-in digits they draw. The simulated camera in `source::sim` turns these into
//! frames; nothing here is a frame source itself.

pub mod digits;
pub mod paper;
pub mod scenario;
pub mod scenes;

pub use digits::sim_digits;
