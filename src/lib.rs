//! digitbot: a robot reads digits through its camera and acts on them.
//!
//! The pipeline's roles are modules: [`source`] (frames in), [`stage`] (preprocess, model,
//! decide), [`sink`] (actuators out), tied together by [`pipeline`]. [`train`] is the
//! offline trainer that makes the models, [`data`] reads datasets, [`config`] the settings.

pub mod capture;
pub mod cli;
pub mod config;
pub mod controls;
pub mod data;
pub mod eval;
pub mod gray;
pub mod hardware;
pub mod pipeline;
pub mod sim;
pub mod sink;
pub mod source;
pub mod stage;
#[doc(hidden)]
pub mod testdata;
pub mod train;
pub mod util;
pub mod web;

pub use util::sha256_hex;
