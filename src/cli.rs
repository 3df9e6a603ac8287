//! Command-line interface: flags → validated settings → the library's commands.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand};
use serde::Serialize;

use crate::config::Config;
use crate::data::{self, Split};
use crate::hardware;
use crate::pipeline::{self, Pipeline, RunOptions};
use crate::sim::scenario::Scenario;
use crate::sink::{Actuators, Fanout, LogSink};
use crate::source::file::{list_images, load_gray, FileSource};
use crate::source::sim::SimCamera;
use crate::source::FrameSource;
use crate::stage::decide::{Decider, DecisionConfig};
use crate::stage::model::{InputScale, Model};
use crate::stage::preprocess::Params;
use crate::train::{self, net::Net, Gradient, Optimizer, TrainConfig};

/// `--version`: the release, the commit it was built from, and the default model it
/// shipped with.
pub const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("DIGITBOT_GIT_COMMIT"),
    ")\ndefault model models/digit-cnn.onnx sha256 ",
    env!("DIGITBOT_MODEL_SHA256")
);

/// The model used when none is named.
pub const DEFAULT_MODEL: &str = "models/digit-cnn.onnx";

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
    /// Report a model's accuracy on an MNIST-format test set (IDX files, gzipped or not).
    Eval(EvalArgs),
    /// Train a network offline and export it to ONNX.
    Train(Box<TrainArgs>),
    /// List cameras with their formats, and I2C buses with the devices that answer.
    Probe,
    /// Wheels-up check: spin each motor briefly each way and blink each LED.
    Selftest(SelftestArgs),
}

#[derive(Args, Debug)]
pub struct SelftestArgs {
    /// Configuration file with the [motors] and [leds] to test.
    #[arg(long, value_name = "FILE", default_value = "config/robot.toml")]
    pub config: PathBuf,
    /// Do not ask for confirmation (the wheels must already be off the ground).
    #[arg(long)]
    pub yes: bool,
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

#[derive(Args, Debug)]
pub struct ClassifyArgs {
    /// Model file [default: models/digit-cnn.onnx].
    #[arg(long, value_name = "FILE")]
    pub model: Option<PathBuf>,
    /// Print one JSON object per image: file, digit, confidence, probabilities, ms.
    #[arg(long)]
    pub json: bool,
    /// Confidence below which the answer is "no digit".
    #[arg(long, default_value_t = 0.5)]
    pub threshold: f32,
    /// Write each image's frame, ink mask with the chosen box, and 28×28 model input as
    /// PNGs into DIR.
    #[arg(long, value_name = "DIR")]
    pub dump: Option<PathBuf>,
    #[command(flatten)]
    pub scale: ScaleArgs,
    /// Image files (PNG/JPEG) or folders of them.
    #[arg(required = true)]
    pub images: Vec<PathBuf>,
}

#[derive(Args, Debug)]
pub struct EvalArgs {
    /// Folder with t10k-images-idx3-ubyte[.gz] and t10k-labels-idx1-ubyte[.gz].
    #[arg(long, value_name = "DIR", required_unless_present = "sim_scenes")]
    pub data: Option<PathBuf>,
    /// Instead: N camera-like 640×480 scenes per condition (handwritten on paper, on a card
    /// on the floor, printed, blank), through the whole pipeline; reports each condition.
    #[arg(long, value_name = "N", conflicts_with = "data")]
    pub sim_scenes: Option<u64>,
    /// Seed for --sim-scenes.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Folders of fonts for printed digits in --sim-scenes.
    #[arg(long, value_name = "DIR", default_value = "/usr/share/fonts")]
    pub fonts: Vec<PathBuf>,
    /// With --sim-scenes: the confidence below which a reading is "no digit" [default: the
    /// threshold in config/sim.toml].
    #[arg(long, value_name = "P")]
    pub threshold: Option<f32>,
    /// With --sim-scenes: write frame, mask and model input of every misread scene here.
    #[arg(long, value_name = "DIR")]
    pub dump: Option<PathBuf>,
    /// Model file [default: models/digit-cnn.onnx].
    #[arg(long, value_name = "FILE")]
    pub model: Option<PathBuf>,
    /// Print {"accuracy": …, "n": …, …} as JSON.
    #[arg(long)]
    pub json: bool,
    /// Only the first N test digits.
    #[arg(long, value_name = "N")]
    pub limit: Option<usize>,
    /// Send each digit through the camera preprocessing first (segmentation, 20-px box,
    /// centre of mass) instead of feeding the 28×28 image as it is.
    #[arg(long)]
    pub preprocess: bool,
    #[command(flatten)]
    pub scale: ScaleArgs,
}

#[derive(Args, Debug)]
pub struct TrainArgs {
    /// Training data: an MNIST-layout folder (train-*/t10k-* IDX files) or a CSV file
    /// (label then 784 pixels per row).
    #[arg(long, value_name = "PATH")]
    pub data: PathBuf,
    /// Test data when it is not the t10k files of --data (a folder or CSV file).
    #[arg(long, value_name = "PATH")]
    pub test: Option<PathBuf>,
    /// seed (the lecture's 784-30-10), mlp:784-H…-10[:relu|:sigmoid], cnn or cnn:C1-C2-HIDDEN.
    #[arg(long, value_name = "ARCH")]
    pub arch: train::Arch,
    /// Where to write the ONNX model.
    #[arg(long, value_name = "FILE.onnx")]
    pub out: PathBuf,
    /// Epochs [default: 1 for seed, 10 otherwise].
    #[arg(long)]
    pub epochs: Option<usize>,
    /// Random seed for initialisation, shuffling and augmentation.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Mini-batch size [default: 1 for seed, 64 otherwise].
    #[arg(long)]
    pub batch: Option<usize>,
    /// Learning rate [default: 0.01 for seed (SGD), 0.001 otherwise (Adam)].
    #[arg(long)]
    pub lr: Option<f64>,
    /// sgd or adam [default: sgd for seed, adam otherwise].
    #[arg(long, value_parser = ["sgd", "adam"])]
    pub optimizer: Option<String>,
    /// Momentum for SGD.
    #[arg(long, default_value_t = 0.0)]
    pub momentum: f64,
    /// How gradients are computed; numerical is the lecture's method (use --limit).
    #[arg(long, value_enum, default_value_t = Gradient::Backprop)]
    pub gradient: Gradient,
    /// Augment: shifts, rotation, scale, shear, stroke thickness, elastic distortion.
    #[arg(long)]
    pub augment: bool,
    /// Train on the first N samples only.
    #[arg(long, value_name = "N")]
    pub limit: Option<usize>,
    /// Test on the first N test samples only.
    #[arg(long, value_name = "N")]
    pub test_limit: Option<usize>,
    /// Class names, comma-separated [default: digits, or Fashion-MNIST's names when the
    /// data path mentions fashion].
    #[arg(long)]
    pub labels: Option<String>,
    /// Add printed digits: each digit of each font under --fonts, normalised like camera
    /// digits, repeated N times (augmentation varies the copies).
    #[arg(long, value_name = "N")]
    pub printed: Option<usize>,
    /// Font folders for --printed.
    #[arg(long, value_name = "DIR", default_value = "/usr/share/fonts")]
    pub fonts: Vec<PathBuf>,
    /// Write summary.json, loss.png, confusion.png and misread.png here.
    #[arg(long, value_name = "DIR")]
    pub report: Option<PathBuf>,
    /// Worker threads [default: all cores].
    #[arg(long)]
    pub threads: Option<usize>,
}

/// Runs the parsed command line.
pub fn main_with(cli: Cli) -> Result<()> {
    match cli.command {
        Some(Command::Run(a)) => run(a),
        None => run(cli.run),
        Some(Command::Classify(a)) => classify(a),
        Some(Command::Eval(a)) => eval(a),
        Some(Command::Train(a)) => train_cmd(*a),
        Some(Command::Probe) => probe(),
        Some(Command::Selftest(a)) => selftest(a),
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

/// Loads a model and picks its input scale: flag, then config, then the model's own
/// metadata, then 0..1.
pub fn load_model(path: &Path, flag: Option<InputScale>, config: Option<InputScale>) -> Result<(Model, InputScale)> {
    let model = Model::load(path)?;
    let (scale, from) = match (flag, config, model.meta_scale) {
        (Some(s), ..) => (s, "command line"),
        (None, Some(s), _) => (s, "config"),
        (None, None, Some(s)) => (s, "model metadata"),
        (None, None, None) => (InputScale::Range(0.0, 1.0), "default; the model does not say"),
    };
    log::info!("model {}: input {:?}, {} ({from})", path.display(), model.input_shape(), scale);
    Ok((model, scale))
}

fn run(a: RunArgs) -> Result<()> {
    let config_path = find(
        &a.config.clone().unwrap_or_else(|| PathBuf::from(if a.sim { "config/sim.toml" } else { "config/robot.toml" })),
    );
    let cfg = Config::load(&config_path)?;
    let shutdown = shutdown_flag()?;
    // The hardware first, so wheels left running by a crash stop before anything else.
    let on_robot = !a.sim && a.replay.is_none();
    let mut sinks: Vec<Box<dyn Actuators>> = vec![Box::new(LogSink::default())];
    if on_robot {
        match (&cfg.motors, a.dry_run) {
            (Some(_), true) => log::info!("--dry-run: the motor HAT is not opened; the wheels cannot move"),
            (Some(m), false) => sinks.push(Box::new(hardware::open_motors(m)?)),
            (None, _) => log::info!("motors.driver = \"none\": the wheels are only logged"),
        }
        if let Some(leds) = hardware::open_leds(&cfg.leds)? {
            sinks.push(Box::new(leds));
        }
    }
    let mut sink = Fanout(sinks);
    let model_path = a.model.clone().unwrap_or(cfg.model_path.clone());
    let (model, scale) = load_model(&model_path, a.scale.parse()?, cfg.input_scale)?;
    let mut source: Box<dyn FrameSource> = if let Some(path) = &a.replay {
        Box::new(FileSource::new(path, cfg.camera.fps)?)
    } else if a.sim {
        let scenario_path = a.scenario.clone().or(cfg.sim.scenario.clone());
        let scenario = match &scenario_path {
            Some(p) => Scenario::load(p)?,
            None => bail!("config {}: sim.scenario is not set and no --scenario was given", config_path.display()),
        };
        let seed = a.seed.unwrap_or(cfg.sim.seed);
        Box::new(SimCamera::new(
            cfg.camera.width,
            cfg.camera.height,
            cfg.camera.fps,
            scenario,
            seed,
            !a.fast,
            scenario_path,
        )?)
    } else {
        open_camera(&cfg.camera)?
    };
    log::info!("source: {}", source.describe());
    let notifier = crate::service::Notifier::from_env();
    notifier.ready();
    let decisions: Option<Box<dyn Write>> = match &a.decisions {
        Some(p) => Some(Box::new(std::io::BufWriter::new(
            std::fs::File::create(p).with_context(|| format!("--decisions {}: cannot create", p.display()))?,
        ))),
        None => None,
    };
    let mut pipeline =
        Pipeline { params: cfg.preprocess.clone(), model, scale, decider: Decider::new(cfg.decision.clone()) };
    let summary = pipeline::run(
        source.as_mut(),
        &mut pipeline,
        &mut sink,
        RunOptions {
            max_frames: a.frames,
            decisions,
            shutdown,
            print: true,
            notifier: Some(notifier),
            dump: a.dump.as_deref().map(crate::dump::Dumper::new).transpose()?,
        },
    )?;
    log::info!("{} frames, {} actions", summary.frames, summary.actions.len());
    Ok(())
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

#[cfg(feature = "camera")]
fn open_camera(cfg: &crate::config::CameraConfig) -> Result<Box<dyn FrameSource>> {
    Ok(Box::new(crate::source::camera::V4lCamera::open(cfg.clone())?))
}

#[cfg(not(feature = "camera"))]
fn open_camera(_: &crate::config::CameraConfig) -> Result<Box<dyn FrameSource>> {
    bail!(
        "this digitbot was built without the camera: rebuild with `cargo build --release --features camera` \
         (needs libclang: apt-get install libclang-dev), or use --sim or --replay PATH"
    )
}

fn probe() -> Result<()> {
    println!("cameras:");
    #[cfg(feature = "camera")]
    let cameras = crate::source::camera::probe();
    #[cfg(not(feature = "camera"))]
    let cameras = vec!["(built without the camera feature: rebuild with --features camera to list them)".to_string()];
    for line in if cameras.is_empty() { vec!["no /dev/video* devices".to_string()] } else { cameras } {
        println!("  {line}");
    }
    println!("I2C buses:");
    let buses = hardware::probe_i2c();
    for line in if buses.is_empty() { vec!["no /dev/i2c-* buses".to_string()] } else { buses } {
        println!("  {line}");
    }
    Ok(())
}

fn selftest(a: SelftestArgs) -> Result<()> {
    let cfg = Config::load(&find(&a.config))?;
    let shutdown = shutdown_flag()?;
    let mut motors = cfg.motors.as_ref().map(hardware::open_motors).transpose()?;
    let mut leds = hardware::open_leds(&cfg.leds)?;
    let yes = a.yes;
    let confirm = move || {
        if yes {
            return true;
        }
        print!("Are both wheels off the ground? [y/N] ");
        let _ = std::io::stdout().flush();
        let mut answer = String::new();
        std::io::stdin().read_line(&mut answer).is_ok() && matches!(answer.trim(), "y" | "Y" | "yes")
    };
    hardware::selftest(
        motors.as_mut().map(|m| m as &mut dyn Actuators),
        leds.as_mut(),
        confirm,
        std::thread::sleep,
        &shutdown,
        &mut std::io::stdout(),
    )?;
    Ok(())
}

#[derive(Serialize)]
struct ClassifyLine<'a> {
    file: &'a str,
    digit: Option<u8>,
    confidence: f32,
    probabilities: Vec<f32>,
    ms: f64,
}

fn classify(a: ClassifyArgs) -> Result<()> {
    if !(0.0..=1.0).contains(&a.threshold) {
        bail!("--threshold must be within 0..=1, got {}", a.threshold);
    }
    let (model, scale) = load_model(&find(&a.model.clone().unwrap_or(DEFAULT_MODEL.into())), a.scale.parse()?, None)?;
    // One frame, one vote: the digit is this image's own reading.
    let decision = DecisionConfig {
        threshold: a.threshold,
        votes: 1,
        agreement: 1,
        cooldown_ms: 0,
        hold_ms: 1,
        actions: [None; 10],
    };
    let mut pipeline = Pipeline { params: Params::default(), model, scale, decider: Decider::new(decision) };
    let dumper = a.dump.as_deref().map(crate::dump::Dumper::new).transpose()?;
    let mut failures = 0;
    for arg in &a.images {
        let files = match list_images(arg) {
            Ok(f) => f,
            Err(e) => {
                eprintln!("error: {e:#}");
                failures += 1;
                continue;
            }
        };
        for file in files {
            let (w, h, px) = match load_gray(&file) {
                Ok(v) => v,
                Err(e) => {
                    eprintln!("error: {e:#}");
                    failures += 1;
                    continue;
                }
            };
            let r = pipeline.process(&px, w, h, 0)?;
            if let Some(d) = &dumper {
                let stem = file.file_stem().map_or("image".into(), |s| s.to_string_lossy().to_string());
                d.write(&stem, &px, w, h, &pipeline.params)?;
            }
            let name = file.display().to_string();
            let probs = r.probabilities.map(|p| p.to_vec()).unwrap_or_default();
            if a.json {
                let line = ClassifyLine {
                    file: &name,
                    digit: r.decision.digit,
                    confidence: r.decision.confidence,
                    probabilities: probs,
                    ms: r.ms,
                };
                println!("{}", serde_json::to_string(&line)?);
            } else {
                let what = match (&r.found, r.decision.digit) {
                    (Err(why), _) => format!("no digit ({})", why.as_str()),
                    (Ok(_), Some(d)) => format!("{d} ({:.1}%)", r.decision.confidence * 100.0),
                    (Ok(_), None) => format!("no digit (best guess {:.1}% < threshold)", r.decision.confidence * 100.0),
                };
                let p: Vec<String> = probs.iter().map(|v| format!("{v:.3}")).collect();
                println!("{name}: {what}  [{}]  {:.3} ms", p.join(" "), r.ms);
            }
        }
    }
    if failures > 0 {
        bail!("{failures} image(s) could not be read");
    }
    Ok(())
}

#[derive(Serialize)]
struct EvalReport {
    accuracy: f64,
    n: usize,
    correct: usize,
    per_class: Vec<f64>,
    ms_per_digit: f64,
    model: String,
    no_digit: usize,
}

#[derive(Serialize)]
struct ConditionReport {
    condition: &'static str,
    n: u64,
    correct: u64,
    /// Digits read right; for blank views, views read as "no digit".
    accuracy: f64,
    /// Scenes with a digit that were read as "no digit".
    missed: u64,
}

/// `eval --sim-scenes N`: the whole pipeline on camera-like scenes, per condition.
fn eval_scenes(a: &EvalArgs, n: u64, model: Model, scale: InputScale, model_path: &Path) -> Result<()> {
    use crate::sim::scenes::{load_fonts, Condition, SceneMaker};
    let cfg = Config::load(&find(Path::new("config/sim.toml")))?;
    let digits = crate::sim::sim_digits()?;
    let fonts = load_fonts(&a.fonts);
    if fonts.is_empty() {
        log::warn!("no fonts with digits under {:?}: printed scenes show handwritten digits", a.fonts);
    }
    let maker = SceneMaker { width: 640, height: 480, digits: &digits, fonts: &fonts, seed: a.seed };
    let dumper = a.dump.as_deref().map(crate::dump::Dumper::new).transpose()?;
    let threshold = a.threshold.unwrap_or(cfg.decision.threshold);
    if !(0.0..=1.0).contains(&threshold) {
        bail!("--threshold must be within 0..=1, got {threshold}");
    }
    let one_frame = DecisionConfig { votes: 1, agreement: 1, threshold, ..cfg.decision.clone() };
    let mut pipeline = Pipeline { params: cfg.preprocess.clone(), model, scale, decider: Decider::new(one_frame) };
    let (mut reports, mut total_ms, mut frames) = (Vec::new(), 0.0, 0u64);
    for cond in Condition::ALL {
        let (mut correct, mut missed) = (0, 0);
        for i in 0..n {
            let scene = maker.scene(cond, i);
            pipeline.decider.reset();
            let r = pipeline.process(&scene.pixels, scene.width, scene.height, 0)?;
            total_ms += r.ms;
            frames += 1;
            let read = r.decision.digit;
            if read == scene.digit {
                correct += 1;
            } else {
                missed += (read.is_none()) as u64;
                if let Some(d) = &dumper {
                    let stem = format!(
                        "{}-{i:04}-shows-{}-read-{}",
                        cond.name().replace(' ', "_"),
                        fmt_digit(scene.digit),
                        fmt_digit(read)
                    );
                    d.write(&stem, &scene.pixels, scene.width, scene.height, &pipeline.params)?;
                }
            }
        }
        reports.push(ConditionReport {
            condition: cond.name(),
            n,
            correct,
            accuracy: correct as f64 / n.max(1) as f64,
            missed,
        });
    }
    let ms = total_ms / frames.max(1) as f64;
    if a.json {
        let v = serde_json::json!({"model": model_path.display().to_string(), "conditions": reports, "ms_per_frame": ms, "seed": a.seed});
        println!("{v}");
    } else {
        for r in &reports {
            println!(
                "{:<36} {:>7.2}%  ({} of {}; {} read as no digit)",
                r.condition,
                r.accuracy * 100.0,
                r.correct,
                r.n,
                r.missed
            );
        }
        println!("{:.3} ms per 640x480 frame (preprocess + model + decision)", ms);
    }
    Ok(())
}

fn fmt_digit(d: Option<u8>) -> String {
    d.map_or("none".into(), |d| d.to_string())
}

fn eval(a: EvalArgs) -> Result<()> {
    let model_path = find(&a.model.clone().unwrap_or(DEFAULT_MODEL.into()));
    let (model, scale) = load_model(&model_path, a.scale.parse()?, None)?;
    if let Some(n) = a.sim_scenes {
        return eval_scenes(&a, n, model, scale, &model_path);
    }
    let Some(data_dir) = a.data.as_deref() else { bail!("eval needs --data DIR or --sim-scenes N") };
    let mut test = data::read_split(data_dir, Split::Test)?;
    if let Some(n) = a.limit {
        test = test.take(n);
    }
    if test.rows != data::SIDE || test.cols != data::SIDE {
        bail!("{}: images are {}x{}, expected 28x28", data_dir.display(), test.cols, test.rows);
    }
    let params = Params::default();
    let mut preds = Vec::with_capacity(test.len());
    let mut no_digit = 0;
    let started = Instant::now();
    for i in 0..test.len() {
        let img = test.image(i);
        let digit: [u8; data::PIXELS] = if a.preprocess {
            match crate::stage::preprocess::preprocess(img, data::SIDE, data::SIDE, &params) {
                Ok(f) => f.digit,
                Err(_) => {
                    no_digit += 1;
                    preds.push(usize::MAX);
                    continue;
                }
            }
        } else {
            img.try_into().context("28x28 image")?
        };
        let p = model.probabilities(&scale.to_input(&digit))?;
        preds.push(crate::util::argmax(&p));
    }
    let ms = started.elapsed().as_secs_f64() * 1000.0 / test.len().max(1) as f64;
    let e = train::summarise(&test.labels, &preds, 10);
    let report = EvalReport {
        accuracy: e.accuracy,
        n: e.n,
        correct: e.n - e.misread.len(),
        per_class: e.per_class.clone(),
        ms_per_digit: ms,
        model: model_path.display().to_string(),
        no_digit,
    };
    if a.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        let labels: Vec<String> = (0..10).map(|d| d.to_string()).collect();
        print!("{}", train::report::text(&e, &labels));
        println!("model {}: {:.2}% of {} test digits, {:.3} ms per digit", report.model, e.accuracy * 100.0, e.n, ms);
    }
    Ok(())
}

const FASHION_LABELS: &str = "T-shirt/top,Trouser,Pullover,Dress,Coat,Sandal,Shirt,Sneaker,Bag,Ankle boot";

fn train_cmd(a: TrainArgs) -> Result<()> {
    if let Some(t) = a.threads {
        rayon::ThreadPoolBuilder::new().num_threads(t).build_global().context("--threads")?;
    }
    let mut train_data = data::read_any(&a.data, Split::Train)?;
    let test_path = a.test.clone().unwrap_or(a.data.clone());
    let mut test_data = if a.test.is_none() && !a.data.is_dir() {
        log::warn!("no --test given for a CSV file: reporting accuracy on the training data");
        train_data.clone()
    } else {
        data::read_any(&test_path, Split::Test)?
    };
    if let Some(n) = a.limit {
        train_data = train_data.take(n);
    }
    if let Some(copies) = a.printed {
        let fonts = crate::sim::scenes::load_fonts(&a.fonts);
        if fonts.is_empty() {
            bail!("--printed: no fonts with digits under {:?} (apt-get install fonts-dejavu-core)", a.fonts);
        }
        let printed = crate::train::printed::printed_digits(&fonts, copies);
        println!("adding {} printed digits from {} fonts", printed.len(), fonts.len());
        train_data.images.extend_from_slice(&printed.images);
        train_data.labels.extend_from_slice(&printed.labels);
    }
    if let Some(n) = a.test_limit {
        test_data = test_data.take(n);
    }
    for d in [&train_data, &test_data] {
        if d.rows != data::SIDE || d.cols != data::SIDE {
            bail!("{}: images are {}x{}, expected 28x28", a.data.display(), d.cols, d.rows);
        }
    }
    let labels: Vec<String> = match &a.labels {
        Some(l) => l.split(',').map(|s| s.trim().to_string()).collect(),
        None if a.data.to_string_lossy().to_lowercase().contains("fashion") => {
            FASHION_LABELS.split(',').map(String::from).collect()
        }
        None => (0..10).map(|d| d.to_string()).collect(),
    };
    if labels.len() != 10 {
        bail!("--labels: {} names given, the network has 10 outputs", labels.len());
    }
    let mut cfg = TrainConfig::for_arch(a.arch.clone());
    cfg.seed = a.seed;
    cfg.gradient = a.gradient;
    cfg.augment = a.augment;
    cfg.progress = true;
    if let Some(e) = a.epochs {
        cfg.epochs = e;
    }
    if let Some(b) = a.batch {
        cfg.batch = b.max(1);
    }
    if let Some(lr) = a.lr {
        cfg.lr = lr;
    }
    match a.optimizer.as_deref() {
        Some("sgd") => cfg.optimizer = Optimizer::Sgd { momentum: a.momentum },
        Some("adam") => cfg.optimizer = Optimizer::Adam,
        _ if a.momentum != 0.0 => cfg.optimizer = Optimizer::Sgd { momentum: a.momentum },
        _ => {}
    }
    println!(
        "training {} on {} samples ({} test), {} epoch(s), batch {}, lr {}, {:?}, {:?} gradients{}",
        cfg.arch,
        train_data.len(),
        test_data.len(),
        cfg.epochs,
        cfg.batch,
        cfg.lr,
        cfg.optimizer,
        cfg.gradient,
        if cfg.augment { ", augmented" } else { "" }
    );
    let started = Instant::now();
    let on_epoch = |s: &train::EpochStats| {
        println!(
            "epoch {:>3}: loss {:.4}, train accuracy {:.2}%, test accuracy {}, {:.1} s",
            s.epoch,
            s.loss,
            s.train_accuracy * 100.0,
            s.test_accuracy.map_or("-".into(), |a| format!("{:.2}%", a * 100.0)),
            s.seconds
        )
    };
    // The numerical derivative needs f64 to mean anything (the lecture used numpy's f64).
    let (net, history): (Net<f32>, _) = match cfg.gradient {
        Gradient::Numerical => {
            let (n, h) = train::train::<f64>(&cfg, &train_data, Some(&test_data), 10, on_epoch);
            (train::cast(&n), h)
        }
        Gradient::Backprop => train::train::<f32>(&cfg, &train_data, Some(&test_data), 10, on_epoch),
    };
    let seconds = started.elapsed().as_secs_f64();
    let range = cfg.arch.input_range();
    let e = train::evaluate(&net, &test_data, range);
    print!("{}", train::report::text(&e, &labels));
    // As a user would type it, wherever the binary lives.
    let command = std::iter::once("digitbot".to_string()).chain(std::env::args().skip(1)).collect::<Vec<_>>().join(" ");
    let metadata = model_metadata(&cfg, &labels, &a.data, e.accuracy, &command);
    let bytes = train::onnx::to_bytes(&net, &metadata);
    if let Some(parent) = a.out.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
    }
    std::fs::write(&a.out, &bytes).with_context(|| format!("writing {}", a.out.display()))?;
    println!(
        "wrote {} ({} parameters, {} bytes, sha256 {}) after {:.1} s",
        a.out.display(),
        net.param_count(),
        bytes.len(),
        crate::sha256_hex(&bytes),
        seconds
    );
    if let Some(dir) = &a.report {
        train::report::write(
            dir,
            &cfg.arch.to_string(),
            net.param_count(),
            seconds,
            &history,
            &e,
            &test_data,
            &command,
        )?;
        println!("report in {}", dir.display());
    }
    Ok(())
}

/// The `metadata_props` the firmware reads (see `stage::model::meta`) plus provenance.
pub fn model_metadata(
    cfg: &TrainConfig,
    labels: &[String],
    data: &Path,
    accuracy: f64,
    command: &str,
) -> Vec<(String, String)> {
    use crate::stage::model::meta;
    let (lo, hi) = cfg.arch.input_range();
    let output = match cfg.arch {
        train::Arch::Seed => "sigmoid",
        _ => "probabilities",
    };
    vec![
        (meta::INPUT_RANGE.into(), format!("{lo},{hi}")),
        (meta::OUTPUT.into(), output.into()),
        (meta::LABELS.into(), labels.join(",")),
        ("digitbot.arch".into(), cfg.arch.to_string()),
        ("digitbot.seed".into(), cfg.seed.to_string()),
        ("digitbot.epochs".into(), cfg.epochs.to_string()),
        ("digitbot.augment".into(), cfg.augment.to_string()),
        ("digitbot.data".into(), data.display().to_string()),
        ("digitbot.test_accuracy".into(), format!("{accuracy:.4}")),
        ("digitbot.command".into(), command.into()),
    ]
}
