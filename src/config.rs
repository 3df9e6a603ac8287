//! Configuration in two stages: the raw TOML as written (unknown keys rejected), then a
//! validated [`Config`] whose errors name the key and the allowed range.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

pub use crate::sink::leds::LedConfig;
use crate::sink::motor_hat::MotorConfig;
use crate::source::convert::PixelFormat;
pub use crate::source::CameraConfig;
use crate::stage::decide::{ActionSpec, DecisionConfig, Motion};
use crate::stage::model::InputScale;
use crate::stage::preprocess::{Params, Polarity};
use crate::web::{WebAddress, WebConfig};

/// A configuration problem, naming the file and the key.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("config {path}: cannot read: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("config {path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("config {path}: {key} {message}")]
    Invalid { path: PathBuf, key: String, message: String },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    model: RawModel,
    camera: RawCamera,
    #[serde(default)]
    preprocess: RawPreprocess,
    decision: RawDecision,
    #[serde(default)]
    actions: BTreeMap<String, RawAction>,
    #[serde(default)]
    sim: RawSim,
    #[serde(default)]
    motors: RawMotors,
    #[serde(default)]
    leds: RawLeds,
    #[serde(default)]
    web: RawWeb,
    #[serde(default)]
    capture: RawCapture,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawWeb {
    enabled: bool,
    address: String,
    token: Option<String>,
}

impl Default for RawWeb {
    fn default() -> Self {
        RawWeb { enabled: false, address: DEFAULT_WEB_ADDRESS.into(), token: None }
    }
}

/// Where the live view listens unless told otherwise: this machine only.
pub const DEFAULT_WEB_ADDRESS: &str = "127.0.0.1:8080";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawCapture {
    dir: PathBuf,
    every: i64,
}

impl Default for RawCapture {
    fn default() -> Self {
        RawCapture { dir: PathBuf::from("captures"), every: 10 }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawMotors {
    driver: String,
    i2c_bus: i64,
    address: i64,
    left_port: i64,
    right_port: i64,
    left_trim: f64,
    right_trim: f64,
    left_invert: bool,
    right_invert: bool,
    max_speed: f64,
}

impl Default for RawMotors {
    fn default() -> Self {
        let d = MotorConfig::default();
        RawMotors {
            driver: "none".into(),
            i2c_bus: d.i2c_bus.into(),
            address: d.address.into(),
            left_port: d.left_port.into(),
            right_port: d.right_port.into(),
            left_trim: d.left_trim.into(),
            right_trim: d.right_trim.into(),
            left_invert: d.left_invert,
            right_invert: d.right_invert,
            max_speed: d.max_speed.into(),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLeds {
    #[serde(default = "default_led_backend")]
    backend: String,
    #[serde(default)]
    chip: String,
    #[serde(default)]
    lines: Vec<i64>,
}

fn default_led_backend() -> String {
    "none".into()
}

impl Default for RawLeds {
    fn default() -> Self {
        RawLeds { backend: default_led_backend(), chip: String::new(), lines: Vec::new() }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawModel {
    path: PathBuf,
    input_range: Option<String>,
    input_mean_std: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCamera {
    #[serde(default = "default_device")]
    device: PathBuf,
    #[serde(default = "default_format")]
    format: String,
    width: i64,
    height: i64,
    fps: f64,
    #[serde(default = "default_timeout")]
    timeout_ms: i64,
    exposure: Option<i64>,
    gain: Option<i64>,
}

fn default_device() -> PathBuf {
    PathBuf::from("/dev/video0")
}
fn default_format() -> String {
    "auto".into()
}
fn default_timeout() -> i64 {
    1000
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPreprocess {
    #[serde(default = "default_polarity")]
    polarity: Polarity,
    #[serde(default = "default_min_contrast")]
    min_contrast: i64,
    #[serde(default = "default_min_height")]
    min_height: f64,
    #[serde(default = "default_max_height")]
    max_height: f64,
}

fn default_polarity() -> Polarity {
    Polarity::Auto
}
fn default_min_contrast() -> i64 {
    Params::default().min_contrast as i64
}
fn default_min_height() -> f64 {
    Params::default().min_height as f64
}
fn default_max_height() -> f64 {
    Params::default().max_height as f64
}

impl Default for RawPreprocess {
    fn default() -> Self {
        RawPreprocess {
            polarity: default_polarity(),
            min_contrast: default_min_contrast(),
            min_height: default_min_height(),
            max_height: default_max_height(),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDecision {
    threshold: f64,
    votes: i64,
    agreement: i64,
    cooldown_ms: i64,
    hold_ms: i64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAction {
    motion: Motion,
    #[serde(default)]
    speed: f64,
    #[serde(default)]
    duration_ms: i64,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSim {
    scenario: Option<PathBuf>,
    #[serde(default)]
    seed: u64,
}

/// The live view (`digitbot run --web`).
#[derive(Clone, Debug, PartialEq)]
pub struct WebSettings {
    /// Serve it without `--web`.
    pub enabled: bool,
    pub web: WebConfig,
}

/// Labelled captures.
#[derive(Clone, Debug, PartialEq)]
pub struct CaptureSettings {
    /// The folder captures go into (relative paths are relative to the config file).
    pub dir: PathBuf,
    /// With `run --capture`, every this many frames.
    pub every: u64,
}

/// Simulator settings.
#[derive(Clone, Debug, PartialEq)]
pub struct SimConfig {
    /// Scenario file; None means the built-in one.
    pub scenario: Option<PathBuf>,
    pub seed: u64,
}

/// A validated configuration. Relative paths in the file are resolved against the file's
/// own folder, so it works from any working directory.
#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    pub model_path: PathBuf,
    /// Overrides the model's own metadata when set.
    pub input_scale: Option<InputScale>,
    pub camera: CameraConfig,
    pub preprocess: Params,
    pub decision: DecisionConfig,
    pub sim: SimConfig,
    /// None: no motor driver (the wheels are only logged).
    pub motors: Option<MotorConfig>,
    pub leds: LedConfig,
    pub web: WebSettings,
    pub capture: CaptureSettings,
}

impl Config {
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read { path: path.into(), source })?;
        Self::parse(&text, path)
    }

    /// Parses and validates; `path` names the file in errors and anchors relative paths.
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let raw: RawConfig = toml::from_str(text)
            .map_err(|e| ConfigError::Parse { path: path.into(), message: e.to_string().trim_end().to_string() })?;
        let invalid = |key: &str, message: String| ConfigError::Invalid { path: path.into(), key: key.into(), message };
        let base = path.parent().unwrap_or(Path::new("."));
        let resolve = |p: &Path| if p.is_absolute() { p.to_path_buf() } else { tidy(&base.join(p)) };

        let input_scale = match (&raw.model.input_range, &raw.model.input_mean_std) {
            (Some(_), Some(_)) => {
                return Err(invalid("model.input_range", "and model.input_mean_std cannot both be set".into()));
            }
            (Some(r), None) => Some(InputScale::parse("input_range", r).map_err(|e| invalid("model.input_range", e))?),
            (None, Some(m)) => {
                Some(InputScale::parse("input_mean_std", m).map_err(|e| invalid("model.input_mean_std", e))?)
            }
            (None, None) => None,
        };

        let c = &raw.camera;
        let format = match c.format.as_str() {
            "auto" => None,
            other => Some(other.as_bytes().try_into().ok().and_then(PixelFormat::from_fourcc).ok_or_else(|| {
                invalid(
                    "camera.format",
                    format!("must be auto, GREY, YUYV, MJPG, RG10, BA10, GB10 or GR10, got {other:?}"),
                )
            })?),
        };
        let camera = CameraConfig {
            device: c.device.clone(),
            format,
            timeout_ms: in_range(c.timeout_ms, 50, 60_000).map_err(|m| invalid("camera.timeout_ms", m))? as u64,
            exposure: c.exposure,
            gain: c.gain,
            width: in_range(c.width, 28, 8192).map_err(|m| invalid("camera.width", m))? as usize,
            height: in_range(c.height, 28, 8192).map_err(|m| invalid("camera.height", m))? as usize,
            fps: in_range_f(c.fps, 0.1, 240.0).map_err(|m| invalid("camera.fps", m))? as f32,
        };

        let p = &raw.preprocess;
        let min_height = in_range_f(p.min_height, 0.01, 1.0).map_err(|m| invalid("preprocess.min_height", m))? as f32;
        let max_height = in_range_f(p.max_height, 0.01, 1.0).map_err(|m| invalid("preprocess.max_height", m))? as f32;
        if min_height >= max_height {
            return Err(invalid(
                "preprocess.min_height",
                format!("must be below preprocess.max_height ({max_height}), got {min_height}"),
            ));
        }
        let preprocess = Params {
            polarity: p.polarity,
            min_contrast: in_range(p.min_contrast, 1, 255).map_err(|m| invalid("preprocess.min_contrast", m))? as u8,
            min_height,
            max_height,
            ..Params::default()
        };

        let d = &raw.decision;
        let votes = in_range(d.votes, 1, 100).map_err(|m| invalid("decision.votes", m))? as usize;
        let decision = DecisionConfig {
            threshold: in_range_f(d.threshold, 0.0, 1.0).map_err(|m| invalid("decision.threshold", m))? as f32,
            votes,
            agreement: in_range(d.agreement, 1, votes as i64)
                .map_err(|m| invalid("decision.agreement", format!("{m} (it cannot exceed decision.votes)")))?
                as usize,
            cooldown_ms: in_range(d.cooldown_ms, 0, 3_600_000).map_err(|m| invalid("decision.cooldown_ms", m))? as u64,
            hold_ms: in_range(d.hold_ms, 1, 3_600_000).map_err(|m| invalid("decision.hold_ms", m))? as u64,
            actions: actions(&raw.actions).map_err(|(k, m)| invalid(&k, m))?,
        };

        let m = &raw.motors;
        let motor_cfg = MotorConfig {
            i2c_bus: in_range(m.i2c_bus, 0, 255).map_err(|e| invalid("motors.i2c_bus", e))? as u8,
            address: in_range(m.address, 0x08, 0x77).map_err(|e| invalid("motors.address", e))? as u8,
            left_port: in_range(m.left_port, 1, 4).map_err(|e| invalid("motors.left_port", e))? as u8,
            right_port: in_range(m.right_port, 1, 4).map_err(|e| invalid("motors.right_port", e))? as u8,
            left_trim: in_range_f(m.left_trim, 0.0, 1.5).map_err(|e| invalid("motors.left_trim", e))? as f32,
            right_trim: in_range_f(m.right_trim, 0.0, 1.5).map_err(|e| invalid("motors.right_trim", e))? as f32,
            left_invert: m.left_invert,
            right_invert: m.right_invert,
            max_speed: in_range_f(m.max_speed, 0.0, 1.0).map_err(|e| invalid("motors.max_speed", e))? as f32,
        };
        if motor_cfg.left_port == motor_cfg.right_port {
            return Err(invalid(
                "motors.right_port",
                format!("must differ from motors.left_port ({})", motor_cfg.left_port),
            ));
        }
        let motors = match m.driver.as_str() {
            "none" => None,
            "motor-hat" => Some(motor_cfg),
            other => return Err(invalid("motors.driver", format!("must be \"motor-hat\" or \"none\", got {other:?}"))),
        };
        let l = &raw.leds;
        let lines = l
            .lines
            .iter()
            .map(|&v| in_range(v, 0, 1023).map(|v| v as u32))
            .collect::<Result<Vec<u32>, String>>()
            .map_err(|e| invalid("leds.lines", e))?;
        if lines.len() > 8 {
            return Err(invalid("leds.lines", format!("can hold at most 8 lines, got {}", lines.len())));
        }
        let leds = match l.backend.as_str() {
            "none" => LedConfig::None,
            _ if lines.is_empty() => return Err(invalid("leds.lines", "must name at least one line".into())),
            "gpiocdev" if l.chip.is_empty() => {
                return Err(invalid(
                    "leds.chip",
                    "must name the GPIO chip (e.g. \"tegra-gpio\" or \"/dev/gpiochip0\")".into(),
                ));
            }
            "gpiocdev" => LedConfig::Cdev { chip: l.chip.clone(), lines },
            "rppal" => LedConfig::Rppal { pins: lines },
            other => {
                return Err(invalid(
                    "leds.backend",
                    format!("must be \"none\", \"gpiocdev\" or \"rppal\", got {other:?}"),
                ));
            }
        };

        let address: WebAddress = raw.web.address.parse().map_err(|e| invalid("web.address", e))?;
        let web = WebConfig { address, token: raw.web.token.clone().filter(|t| !t.is_empty()) };
        web.validate().map_err(|e| invalid("web", format!("{e:#}")))?;
        let capture = CaptureSettings {
            dir: resolve(&raw.capture.dir),
            every: in_range(raw.capture.every, 1, 100_000).map_err(|m| invalid("capture.every", m))? as u64,
        };

        Ok(Config {
            motors,
            leds,
            web: WebSettings { enabled: raw.web.enabled, web },
            capture,
            model_path: resolve(&raw.model.path),
            input_scale,
            camera,
            preprocess,
            decision,
            sim: SimConfig { scenario: raw.sim.scenario.as_deref().map(resolve), seed: raw.sim.seed },
        })
    }
}

/// `a/b/../c` as `a/c`, so that logs show the path a user would type.
fn tidy(path: &Path) -> PathBuf {
    use std::path::Component;
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::ParentDir if matches!(out.components().next_back(), Some(Component::Normal(_))) => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    if out.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        out
    }
}

fn in_range(v: i64, lo: i64, hi: i64) -> Result<i64, String> {
    if (lo..=hi).contains(&v) {
        Ok(v)
    } else {
        Err(format!("must be within {lo}..={hi}, got {v}"))
    }
}

fn in_range_f(v: f64, lo: f64, hi: f64) -> Result<f64, String> {
    if v.is_finite() && (lo..=hi).contains(&v) {
        Ok(v)
    } else {
        Err(format!("must be within {lo}..={hi}, got {v}"))
    }
}

fn actions(raw: &BTreeMap<String, RawAction>) -> Result<[Option<ActionSpec>; 10], (String, String)> {
    let mut out = [None; 10];
    for (k, a) in raw {
        let digit: usize = k
            .parse()
            .ok()
            .filter(|d| *d < 10)
            .ok_or_else(|| (format!("actions.{k}"), "is not a digit: action keys must be 0..=9".to_string()))?;
        let key = |f: &str| format!("actions.{k}.{f}");
        let moves = !matches!(a.motion, Motion::Stop | Motion::None);
        let speed = in_range_f(a.speed, if moves { 0.01 } else { 0.0 }, 1.0).map_err(|m| (key("speed"), m))?;
        let duration_ms =
            in_range(a.duration_ms, if moves { 1 } else { 0 }, 60_000).map_err(|m| (key("duration_ms"), m))?;
        out[digit] = Some(ActionSpec { motion: a.motion, speed: speed as f32, duration_ms: duration_ms as u64 });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
[model]
path = "../models/m.onnx"
[camera]
width = 640
height = 480
fps = 30
[decision]
threshold = 0.8
votes = 5
agreement = 3
cooldown_ms = 1000
hold_ms = 1500
[actions.1]
motion = "forward"
speed = 0.5
duration_ms = 800
[actions.0]
motion = "stop"
"#;

    fn err(text: &str) -> String {
        Config::parse(text, Path::new("cfg/x.toml")).unwrap_err().to_string()
    }

    #[test]
    fn good_config_validates_and_resolves_paths() {
        let c = Config::parse(GOOD, Path::new("cfg/x.toml")).unwrap();
        assert_eq!(c.model_path, Path::new("models/m.onnx"));
        assert_eq!(c.decision.actions[1], Some(ActionSpec { motion: Motion::Forward, speed: 0.5, duration_ms: 800 }));
        assert_eq!(c.decision.actions[2], None);
        assert_eq!(c.preprocess, Params::default());
        assert_eq!(c.input_scale, None);
        assert_eq!((c.motors, c.leds), (None, LedConfig::None));
        assert_eq!(c.web.web.address.to_string(), "127.0.0.1:8080", "loopback unless told otherwise");
        assert!(!c.web.enabled);
        assert_eq!((c.capture.dir.as_path(), c.capture.every), (Path::new("cfg/captures"), 10));
        let open =
            format!("{GOOD}\n[web]\nenabled = true\naddress = \"0.0.0.0:9000\"\ntoken = \"0123456789abcdef0123\"\n");
        let c = Config::parse(&open, Path::new("x.toml")).unwrap();
        assert_eq!((c.web.enabled, c.web.web.token.as_deref()), (true, Some("0123456789abcdef0123")));
        let hw = format!("{GOOD}\n[motors]\ndriver = \"motor-hat\"\ni2c_bus = 7\naddress = 0x60\n[leds]\nbackend = \"gpiocdev\"\nchip = \"tegra-gpio\"\nlines = [79, 50]\n");
        let c = Config::parse(&hw, Path::new("x.toml")).unwrap();
        assert_eq!(c.motors.map(|m| (m.i2c_bus, m.address)), Some((7, 0x60)));
        assert_eq!(c.leds, LedConfig::Cdev { chip: "tegra-gpio".into(), lines: vec![79, 50] });
    }

    #[test]
    fn errors_name_the_key_and_range() {
        assert_eq!(
            err(&GOOD.replace("speed = 0.5", "speed = 1.5")),
            "config cfg/x.toml: actions.1.speed must be within 0.01..=1, got 1.5"
        );
        assert_eq!(
            err(&GOOD.replace("agreement = 3", "agreement = 6")),
            "config cfg/x.toml: decision.agreement must be within 1..=5, got 6 (it cannot exceed decision.votes)"
        );
        assert_eq!(
            err(&GOOD.replace("threshold = 0.8", "threshold = 1.2")),
            "config cfg/x.toml: decision.threshold must be within 0..=1, got 1.2"
        );
        assert!(err(&GOOD.replace("[actions.0]", "[actions.x]")).contains("actions.x is not a digit"));
        let e = err(&GOOD.replace("fps = 30", "fps = 30\nzoom = 2"));
        assert!(e.contains("unknown field `zoom`"), "{e}");
        let e = err(&GOOD.replace("motion = \"stop\"", "motion = \"fly\""));
        assert!(e.contains("unknown variant `fly`"), "{e}");
        assert_eq!(
            err(&format!("{GOOD}\n[motors]\ndriver = \"motor-hat\"\nmax_speed = 2.0\n")),
            "config cfg/x.toml: motors.max_speed must be within 0..=1, got 2"
        );
        assert!(err(&format!("{GOOD}\n[leds]\nbackend = \"gpiocdev\"\nlines = [79]\n")).contains("leds.chip must name"));
        assert_eq!(
            err(&format!("{GOOD}\n[web]\naddress = \"localhost\"\n")),
            "config cfg/x.toml: web.address must be IP:PORT (e.g. 127.0.0.1:8080) or unix:/path, got \"localhost\""
        );
        let e = err(&format!("{GOOD}\n[web]\naddress = \"0.0.0.0:8080\"\n"));
        assert!(e.contains("web.address 0.0.0.0:8080 is reachable from other machines: set web.token"), "{e}");
        let e = err(&format!("{GOOD}\n[web]\naddress = \"0.0.0.0:8080\"\ntoken = \"short\"\n"));
        assert!(e.contains("web.token must be at least 16 characters"), "{e}");
        assert!(err(&format!("{GOOD}\n[capture]\nevery = 0\n")).contains("capture.every must be within 1..=100000"));
        let e = err(&GOOD.replace("[model]\npath", "[model]\ninput_range = \"0,1,2\"\npath"));
        assert!(e.contains("model.input_range input_range must be two numbers"), "{e}");
    }
}
