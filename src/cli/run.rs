//! `digitbot run` (and plain `digitbot`): the camera → digit → action loop on the robot, the
//! simulator or replayed images.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{bail, Result};
use clap::Args;

use super::{find, load_config, shutdown_flag, ScaleArgs, ROBOT_CONFIG, SIM_CONFIG};
use crate::capture::CaptureDir;
use crate::config::{CameraConfig, Config};
use crate::hardware;
use crate::pipeline::{self, Controls, Overrides, Pipeline, RunOptions};
use crate::sim::scenario::Scenario;
use crate::sink::capture::CaptureSink;
use crate::sink::decisions::DecisionLog;
use crate::sink::dump::Dumper;
use crate::sink::live::{Live, LiveView};
use crate::sink::print::Printer;
use crate::sink::record::Recorder;
use crate::sink::watchdog::Watchdog;
use crate::sink::{leds, Actuators, Fanout, LogSink, Sinks};
use crate::source::file::FileSource;
use crate::source::recording::{is_recording, RecordingSource};
use crate::source::sim::SimCamera;
use crate::source::FrameSource;
use crate::web::{self, WebConfig};

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
    /// Replay a `--record` folder (same frames, same timing, same decisions), or PNG/JPEG
    /// images, or a folder of them, instead of a camera.
    #[arg(long, value_name = "PATH", conflicts_with = "sim")]
    pub replay: Option<PathBuf>,
    /// Record every frame (compressed, with its time), camera faults, holds and the
    /// decisions into DIR, for `--replay DIR`.
    #[arg(long, value_name = "DIR")]
    pub record: Option<PathBuf>,
    /// Serve the live view (the config's [web] address, 127.0.0.1:8080 unless set, or
    /// ADDR): the camera image, the model input, probabilities, reading, actions,
    /// emergency stop, pause and labelling.
    #[arg(long, value_name = "ADDR", num_args = 0..=1, default_missing_value = "")]
    pub web: Option<String>,
    /// Capture folder for labels [default: the config's capture.dir]. With --label, capture
    /// every k-th frame (capture.every, or --capture-every) unattended.
    #[arg(long, value_name = "DIR")]
    pub capture: Option<PathBuf>,
    /// With --capture: label the unattended captures with this digit (or "none").
    #[arg(long, value_name = "N", requires = "capture", value_parser = parse_label)]
    pub label: Option<LabelArg>,
    /// With --capture --label: every this many frames [default: the config's capture.every].
    #[arg(long, value_name = "K", requires = "label")]
    pub capture_every: Option<u64>,
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

/// A label given on the command line: a digit, or none.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LabelArg(pub Option<u8>);

fn parse_label(s: &str) -> Result<LabelArg, String> {
    match s {
        "none" => Ok(LabelArg(None)),
        d if d.len() == 1 && d.as_bytes()[0].is_ascii_digit() => Ok(LabelArg(Some(d.as_bytes()[0] - b'0'))),
        _ => Err(format!("a label is a digit 0-9 or none, got {s:?}")),
    }
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
    let controls = Arc::new(Controls::default());
    let mut source = open_source(&a, &cfg, &controls)?;
    log::info!("source: {}", source.describe());
    if let Some(p) = &a.decisions {
        sinks.push(DecisionLog::create(p)?);
    }
    if let Some(dir) = &a.dump {
        sinks.push(Dumper::new(dir)?);
    }
    if let Some(dir) = &a.record {
        sinks.push(Recorder::create(dir)?);
        sinks.push(DecisionLog::create(&dir.join("decisions.jsonl"))?);
    }
    let capture_dir = a.capture.clone().unwrap_or_else(|| cfg.capture.dir.clone());
    let web = match (&a.web, cfg.web.enabled) {
        (Some(addr), _) => Some(web_config(&cfg, addr)?),
        (None, true) => Some(web_config(&cfg, "")?),
        (None, false) => None,
    };
    let captures =
        if web.is_some() || a.label.is_some() { Some(Arc::new(CaptureDir::open(&capture_dir)?)) } else { None };
    if let (Some(LabelArg(label)), Some(dir)) = (a.label, &captures) {
        let every = a.capture_every.unwrap_or(cfg.capture.every);
        log::info!("capturing every {every}th frame into {} as {label:?}", dir.path().display());
        sinks.push(CaptureSink::new(Arc::clone(dir), label, every, pipeline.model.sha256.clone()));
    }
    // Kept alive for the run: dropping it stops the server.
    let _server = match &web {
        Some(w) => {
            let live = Live::new(Arc::clone(&controls), pipeline.model.labels.clone(), pipeline.model.sha256.clone());
            sinks.push(LiveView::new(Arc::clone(&live), 15.0, pipeline.model.outputs));
            Some(web::Server::start(w, live, captures.clone())?)
        }
        None => None,
    };
    let watchdog = Watchdog::from_env();
    watchdog.ready();
    sinks.push(watchdog);
    let opts = RunOptions { max_frames: a.frames, shutdown, controls };
    let summary = pipeline::run(source.as_mut(), &mut pipeline, &mut actuators, &mut sinks, &opts)?;
    log::info!("{} frames, {} actions", summary.frames, summary.actions.len());
    Ok(())
}

/// The live view's address and token: `--web ADDR` over the config's, the token from
/// `DIGITBOT_WEB_TOKEN` over the config's.
fn web_config(cfg: &Config, addr: &str) -> Result<WebConfig> {
    let mut w = cfg.web.web.clone();
    if !addr.is_empty() {
        w.address =
            addr.parse().map_err(|_| anyhow::anyhow!("--web {addr:?}: expected IP:PORT, e.g. 127.0.0.1:8080"))?;
    }
    if let Some(t) = std::env::var("DIGITBOT_WEB_TOKEN").ok().filter(|t| !t.is_empty()) {
        w.token = Some(t);
    }
    w.validate()?;
    Ok(w)
}

fn open_source(a: &RunArgs, cfg: &Config, controls: &Arc<Controls>) -> Result<Box<dyn FrameSource>> {
    if let Some(path) = &a.replay {
        if is_recording(path) {
            return Ok(Box::new(RecordingSource::open(path, !a.fast, Arc::clone(controls))?));
        }
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
