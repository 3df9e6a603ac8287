//! `digitbot run` (and plain `digitbot`): the camera → digit → action loop on the robot, the
//! simulator or replayed images.

use std::path::PathBuf;

use anyhow::{bail, Result};
use clap::Args;

use super::{find, load_config, shutdown_flag, ScaleArgs, ROBOT_CONFIG, SIM_CONFIG};
use crate::config::{CameraConfig, Config};
use crate::hardware;
use crate::pipeline::{self, Overrides, Pipeline, RunOptions};
use crate::sim::scenario::Scenario;
use crate::sink::decisions::DecisionLog;
use crate::sink::dump::Dumper;
use crate::sink::print::Printer;
use crate::sink::watchdog::Watchdog;
use crate::sink::{leds, Actuators, Fanout, LogSink, Sinks};
use crate::source::file::FileSource;
use crate::source::sim::SimCamera;
use crate::source::FrameSource;

#[derive(Args, Debug, Clone, Default)]
pub struct RunArgs {
    /// Use the simulated camera (and config/sim.toml unless --config is given).
    #[arg(long)]
    pub sim: bool,
    /// Configuration file [default: config/sim.toml with --sim, else config/robot.toml].
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Scenario for the simulated camera (overrides the config's).
    #[arg(long, value_name = "FILE")]
    pub scenario: Option<PathBuf>,
    /// Replay PNG/JPEG images, or a folder of them, instead of a camera.
    #[arg(long, value_name = "PATH", conflicts_with = "sim")]
    pub replay: Option<PathBuf>,
    /// Stop after N frames.
    #[arg(long, value_name = "N")]
    pub frames: Option<u64>,
    /// Run the simulator on simulated time, as fast as the CPU allows.
    #[arg(long)]
    pub fast: bool,
    /// Write one JSON object per frame (and a final stop record) to FILE.
    #[arg(long, value_name = "FILE")]
    pub decisions: Option<PathBuf>,
    /// Model file (overrides the config's).
    #[arg(long, value_name = "FILE")]
    pub model: Option<PathBuf>,
    /// Simulator seed (overrides the config's).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Run the real camera and model but never open the motors: the wheels cannot move.
    #[arg(long)]
    pub dry_run: bool,
    /// Write each frame, its ink mask with the chosen box, and the 28×28 model input as
    /// PNGs into DIR.
    #[arg(long, value_name = "DIR")]
    pub dump: Option<PathBuf>,
    #[command(flatten)]
    pub scale: ScaleArgs,
}

pub fn run(a: RunArgs) -> Result<()> {
    let cfg = load_config(a.config.as_deref(), if a.sim { SIM_CONFIG } else { ROBOT_CONFIG })?;
    let shutdown = shutdown_flag()?;
    let mut sinks = Sinks::new();
    sinks.push(Printer);
    // The hardware first, so wheels left running by a crash stop before anything else.
    let on_robot = !a.sim && a.replay.is_none();
    let mut actuators: Vec<Box<dyn Actuators>> = vec![Box::new(LogSink::default())];
    if on_robot {
        match (&cfg.motors, a.dry_run) {
            (Some(_), true) => log::info!("--dry-run: the motor HAT is not opened; the wheels cannot move"),
            (Some(m), false) => actuators.push(Box::new(hardware::open_motors(m)?)),
            (None, _) => log::info!("motors.driver = \"none\": the wheels are only logged"),
        }
        if let Some(l) = leds::open(&cfg.leds)? {
            sinks.push(l);
        }
    }
    let mut actuators = Fanout(actuators);
    let overrides = Overrides { model: a.model.as_deref().map(find), scale: a.scale.parse()?, ..Overrides::default() };
    let mut pipeline = Pipeline::from_config(&cfg, &overrides)?;
    let mut source = open_source(&a, &cfg)?;
    log::info!("source: {}", source.describe());
    if let Some(p) = &a.decisions {
        sinks.push(DecisionLog::create(p)?);
    }
    if let Some(dir) = &a.dump {
        sinks.push(Dumper::new(dir)?);
    }
    let watchdog = Watchdog::from_env();
    watchdog.ready();
    sinks.push(watchdog);
    let opts = RunOptions { max_frames: a.frames, shutdown, ..RunOptions::default() };
    let summary = pipeline::run(source.as_mut(), &mut pipeline, &mut actuators, &mut sinks, &opts)?;
    log::info!("{} frames, {} actions", summary.frames, summary.actions.len());
    Ok(())
}

fn open_source(a: &RunArgs, cfg: &Config) -> Result<Box<dyn FrameSource>> {
    if let Some(path) = &a.replay {
        return Ok(Box::new(FileSource::new(path, cfg.camera.fps)?));
    }
    if !a.sim {
        return open_camera(&cfg.camera);
    }
    let scenario_path = a.scenario.clone().or(cfg.sim.scenario.clone());
    let Some(path) = &scenario_path else { bail!("the config's sim.scenario is not set and no --scenario was given") };
    Ok(Box::new(SimCamera::new(
        cfg.camera.width,
        cfg.camera.height,
        cfg.camera.fps,
        Scenario::load(path)?,
        a.seed.unwrap_or(cfg.sim.seed),
        !a.fast,
        scenario_path,
    )?))
}

#[cfg(feature = "camera")]
fn open_camera(cfg: &CameraConfig) -> Result<Box<dyn FrameSource>> {
    Ok(Box::new(crate::source::camera::V4lCamera::open(cfg.clone())?))
}

#[cfg(not(feature = "camera"))]
fn open_camera(_: &CameraConfig) -> Result<Box<dyn FrameSource>> {
    bail!(
        "this digitbot was built without the camera: rebuild with `cargo build --release --features camera` \
         (needs libclang: apt-get install libclang-dev), or use --sim or --replay PATH"
    )
}
