//! Command-line interface: one file per command, each turning its flags into the
//! library's settings and calling it. `main` is thin: it parses and calls [`main_with`].

mod classify;
mod eval;
mod probe;
mod run;
mod selftest;
mod stop_motors;
mod train;

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand};

pub use classify::ClassifyArgs;
pub use eval::EvalArgs;
pub use run::RunArgs;
pub use selftest::SelftestArgs;
pub use stop_motors::StopMotorsArgs;
pub use train::TrainArgs;

use crate::config::Config;
use crate::pipeline::Overrides;
use crate::stage::model::InputScale;

/// `--version`: the release, the commit it was built from, and the default model it
/// shipped with.
pub const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("DIGITBOT_GIT_COMMIT"),
    ")\ndefault model models/digit-cnn.onnx sha256 ",
    env!("DIGITBOT_MODEL_SHA256")
);

/// The laptop's config: the robot's settings with the simulator in place of the hardware.
pub const SIM_CONFIG: &str = "config/sim.toml";
/// The robot's config, in the checkout (deployed as /etc/digitbot/robot.toml).
pub const ROBOT_CONFIG: &str = "config/robot.toml";

#[derive(Parser, Debug)]
#[command(name = "digitbot", version = VERSION, about = "Reads digits through a robot's camera and acts on them.", long_about = None)]
#[command(args_conflicts_with_subcommands = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    /// With no subcommand, `digitbot [FLAGS]` is `digitbot run [FLAGS]`.
    #[command(flatten)]
    pub run: RunArgs,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the camera → digit → action loop.
    Run(RunArgs),
    /// Classify image files (PNG/JPEG) and print digit, confidence and probabilities.
    Classify(ClassifyArgs),
    /// Measure reading: on an MNIST-format test set, or on camera-like scenes.
    Eval(EvalArgs),
    /// Train a network offline and export it to ONNX.
    Train(Box<TrainArgs>),
    /// List cameras with their formats, and I2C buses with the devices that answer.
    Probe,
    /// Wheels-up check: spin each motor briefly each way and blink each LED.
    Selftest(SelftestArgs),
    /// Turn every motor output off and exit; works whether or not the firmware runs (the
    /// service runs it after every stop, however the firmware ended).
    StopMotors(StopMotorsArgs),
}

/// Runs the parsed command line.
pub fn main_with(cli: Cli) -> Result<()> {
    match cli.command {
        Some(Command::Run(a)) => run::run(a),
        None => run::run(cli.run),
        Some(Command::Classify(a)) => classify::classify(a),
        Some(Command::Eval(a)) => eval::eval(a),
        Some(Command::Train(a)) => train::train(*a),
        Some(Command::Probe) => probe::probe(),
        Some(Command::Selftest(a)) => selftest::selftest(a),
        Some(Command::StopMotors(a)) => stop_motors::stop_motors(a),
    }
}

/// How to feed the model, when its metadata does not say or is to be overridden.
#[derive(Args, Debug, Clone, Default)]
pub struct ScaleArgs {
    /// Input range LO,HI: pixel 0 (background) → LO, 255 (ink) → HI. The lecture's network
    /// uses 0.01,1; ONNX Model Zoo mnist uses 0,255.
    #[arg(long, value_name = "LO,HI", allow_hyphen_values = true, conflicts_with = "input_mean_std")]
    pub input_range: Option<String>,
    /// Normalise as (pixel/255 - MEAN) / STD, e.g. 0.1307,0.3081 for PyTorch MNIST models.
    #[arg(long, value_name = "MEAN,STD", allow_hyphen_values = true)]
    pub input_mean_std: Option<String>,
}

impl ScaleArgs {
    fn parse(&self) -> Result<Option<InputScale>> {
        Ok(match (&self.input_range, &self.input_mean_std) {
            (Some(r), _) => Some(InputScale::parse("--input-range", r).map_err(anyhow::Error::msg)?),
            (None, Some(m)) => Some(InputScale::parse("input-mean-std", m).map_err(anyhow::Error::msg)?),
            (None, None) => None,
        })
    }
}

/// The model and config a reading command uses.
#[derive(Args, Debug, Clone, Default)]
pub struct ModelArgs {
    /// Configuration file whose model and preprocessing settings to use [default:
    /// config/sim.toml].
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Model file (overrides the config's).
    #[arg(long, value_name = "FILE")]
    pub model: Option<PathBuf>,
    #[command(flatten)]
    pub scale: ScaleArgs,
}

impl ModelArgs {
    /// The config file and the overrides these flags make.
    fn load(&self, threshold: Option<f32>, single_frame: bool) -> Result<(Config, Overrides)> {
        let cfg = load_config(self.config.as_deref(), SIM_CONFIG)?;
        let overrides =
            Overrides { model: self.model.as_deref().map(find), scale: self.scale.parse()?, threshold, single_frame };
        Ok((cfg, overrides))
    }
}

/// A path as given, or else relative to the source tree (so `cargo run` works from any
/// folder of the checkout).
fn find(path: &Path) -> PathBuf {
    if path.exists() || path.is_absolute() {
        return path.to_path_buf();
    }
    let in_tree = Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
    if in_tree.exists() {
        in_tree
    } else {
        path.to_path_buf()
    }
}

/// The config file given, or the default one.
fn load_config(given: Option<&Path>, default: &str) -> Result<Config> {
    Ok(Config::load(&find(given.unwrap_or(Path::new(default))))?)
}

/// A flag that SIGINT and SIGTERM set; the loop polls it and stops the wheels on its way
/// out (`Drop` alone would not run on a signal).
fn shutdown_flag() -> Result<Arc<AtomicBool>> {
    let shutdown = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(sig, Arc::clone(&shutdown)).context("installing the signal handler")?;
    }
    Ok(shutdown)
}
