//! The V4L2 camera (feature `camera`): negotiates GREY, YUYV, MJPEG or 10-bit Bayer at the
//! configured size and rate, always hands on the newest frame, and reopens the device with
//! backoff when it stalls or vanishes.
//!
//! # Troubleshooting
//! "Permission denied" on `/dev/videoN`: add the user to the `video` group. A JetBot's CSI
//! camera (IMX219) reaches V4L2 as raw Bayer (`RG10`); exposure and gain are then set from
//! the config, since there is no ISP on this path.

use std::io;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use v4l::buffer::Type;
use v4l::control::{Control, Value};
use v4l::io::mmap::Stream;
use v4l::io::traits::CaptureStream;
use v4l::video::capture::Parameters;
use v4l::video::Capture;
use v4l::{Device, Format, FourCC};

use super::convert::{to_gray, ConvertError, PixelFormat};
use super::{CameraConfig, Frame, FrameSource, Poll};

/// poll(2)'s "data to read".
const POLLIN: i16 = 0x001;
/// How long one wait for a frame may block, so the loop can notice a shutdown request.
const SLICE: Duration = Duration::from_millis(50);

struct Open {
    // The stream holds its own handle to the device; the device is kept for polling.
    stream: Stream<'static>,
    device: Device,
    format: PixelFormat,
    width: usize,
    height: usize,
    stride: usize,
}

/// A V4L2 capture device.
pub struct V4lCamera {
    cfg: CameraConfig,
    open: Option<Open>,
    started: Instant,
    last_frame: Instant,
    retry_at: Instant,
    backoff: Duration,
}

/// The formats in the order we ask for them: cheapest conversion first.
const PREFERENCE: [PixelFormat; 4] = [PixelFormat::Grey, PixelFormat::Yuyv, PixelFormat::Mjpeg, PixelFormat::Bayer10];

fn fourcc_name(f: &FourCC) -> String {
    f.str().map(str::to_string).unwrap_or_else(|_| format!("{:?}", f.repr))
}

fn open_device(cfg: &CameraConfig) -> Result<Open> {
    let path = &cfg.device;
    let device = Device::with_path(path).with_context(|| format!("camera {}: cannot open", path.display()))?;
    let wanted: Vec<PixelFormat> = match cfg.format {
        Some(f) => vec![f],
        None => PREFERENCE.to_vec(),
    };
    let mut chosen = None;
    'formats: for pf in wanted {
        for code in pf.fourccs() {
            let ask = Format::new(cfg.width as u32, cfg.height as u32, FourCC::new(code));
            // The driver answers with what it actually set: re-read, never assume.
            if let Ok(got) = device.set_format(&ask) {
                if got.fourcc == FourCC::new(code) {
                    chosen = Some((pf, got));
                    break 'formats;
                }
            }
        }
    }
    let Some((format, got)) = chosen else {
        let offered: Vec<String> = device
            .enum_formats()
            .map(|v| v.iter().map(|d| format!("{} ({})", fourcc_name(&d.fourcc), d.description)).collect())
            .unwrap_or_default();
        bail!(
            "camera {}: offers none of the formats digitbot reads (GREY, YUYV, MJPG, RG10/BA10/GB10/GR10); it offers: {}",
            path.display(),
            if offered.is_empty() { "nothing it would list".to_string() } else { offered.join(", ") }
        );
    };
    if (got.width as usize, got.height as usize) != (cfg.width, cfg.height) {
        log::warn!(
            "camera {}: asked for {}x{}, the driver chose {}x{}",
            path.display(),
            cfg.width,
            cfg.height,
            got.width,
            got.height
        );
    }
    if let Err(e) = device.set_params(&Parameters::with_fps(cfg.fps.round().max(1.0) as u32)) {
        log::warn!("camera {}: cannot set {} fps: {e}", path.display(), cfg.fps);
    }
    set_controls(&device, cfg);
    // Two buffers: the driver fills one while we read the other, so nothing goes stale.
    let mut stream = Stream::with_buffers(&device, Type::VideoCapture, 2)
        .with_context(|| format!("camera {}: cannot map capture buffers", path.display()))?;
    stream.set_timeout(SLICE);
    log::info!("camera {}: {}x{} {} at {} fps", path.display(), got.width, got.height, format, cfg.fps);
    Ok(Open {
        stream,
        device,
        format,
        width: got.width as usize,
        height: got.height as usize,
        stride: got.stride as usize,
    })
}

/// Sets exposure and gain by control name, as drivers number them differently.
fn set_controls(device: &Device, cfg: &CameraConfig) {
    let Ok(controls) = device.query_controls() else { return };
    for (name, value) in [("exposure", cfg.exposure), ("gain", cfg.gain)] {
        let Some(value) = value else { continue };
        match controls.iter().find(|c| c.name.to_lowercase().contains(name)) {
            Some(c) => {
                if let Err(e) = device.set_control(Control { id: c.id, value: Value::Integer(value) }) {
                    log::warn!("camera {}: cannot set {} to {value}: {e}", cfg.device.display(), c.name);
                }
            }
            None => log::warn!("camera {}: has no {name} control", cfg.device.display()),
        }
    }
}

impl V4lCamera {
    /// Opens the camera; a camera that is not there at start is an error.
    pub fn open(cfg: CameraConfig) -> Result<Self> {
        let open = open_device(&cfg)?;
        let now = Instant::now();
        Ok(V4lCamera { cfg, open: Some(open), started: now, last_frame: now, retry_at: now, backoff: Duration::ZERO })
    }

    fn t_ms(&self) -> u64 {
        self.started.elapsed().as_millis() as u64
    }

    fn lose(&mut self, why: String) -> Poll {
        self.open = None;
        self.backoff = (self.backoff * 2).clamp(Duration::from_millis(250), Duration::from_secs(5));
        self.retry_at = Instant::now() + self.backoff;
        Poll::Lost { t_ms: self.t_ms(), why }
    }

    /// Dequeues frames while more are ready and converts only the newest, straight from
    /// the driver's buffer.
    fn newest(open: &mut Open, out: &mut Vec<u8>) -> io::Result<Result<(usize, usize), ConvertError>> {
        let Open { stream, device, format, width, height, stride } = open;
        loop {
            let (buf, meta) = CaptureStream::next(stream)?;
            if device.handle().poll(POLLIN, 0)? > 0 {
                continue; // a newer frame is waiting: skip this one
            }
            let used = match meta.bytesused as usize {
                0 => buf.len(),
                n => n.min(buf.len()),
            };
            return Ok(to_gray(*format, *width, *height, *stride, &buf[..used], out));
        }
    }
}

impl FrameSource for V4lCamera {
    fn next_frame(&mut self) -> Result<Poll> {
        if self.open.is_none() {
            if Instant::now() < self.retry_at {
                std::thread::sleep(SLICE);
                return Ok(Poll::Lost { t_ms: self.t_ms(), why: "reopening".into() });
            }
            match open_device(&self.cfg) {
                Ok(o) => {
                    self.open = Some(o);
                    self.backoff = Duration::ZERO;
                    self.last_frame = Instant::now();
                }
                Err(e) => return Ok(self.lose(format!("{e:#}"))),
            }
        }
        let Some(open) = self.open.as_mut() else { return Ok(Poll::Waiting) };
        let mut pixels = Vec::new();
        let converted = match Self::newest(open, &mut pixels) {
            Ok(c) => c,
            Err(e) if e.kind() == io::ErrorKind::TimedOut => {
                if self.last_frame.elapsed() >= Duration::from_millis(self.cfg.timeout_ms) {
                    // Drop the stream and start over: a stalled driver rarely recovers alone.
                    self.open = None;
                    self.retry_at = Instant::now();
                    self.last_frame = Instant::now();
                    return Ok(Poll::Stalled { t_ms: self.t_ms() });
                }
                return Ok(Poll::Waiting);
            }
            Err(e) => return Ok(self.lose(format!("{}: {e}", self.cfg.device.display()))),
        };
        self.last_frame = Instant::now();
        match converted {
            Ok((width, height)) => Ok(Poll::Frame(Frame { width, height, pixels, t_ms: self.t_ms() })),
            // A corrupt frame is no frame: the next one will do.
            Err(e) => {
                log::debug!("camera {}: dropped a frame: {e}", self.cfg.device.display());
                Ok(Poll::Waiting)
            }
        }
    }

    fn describe(&self) -> String {
        format!("camera {}", self.cfg.device.display())
    }
}

/// Lists `/dev/video*` with the formats and sizes each offers, for `digitbot probe`.
pub fn probe() -> Vec<String> {
    let mut paths: Vec<PathBuf> =
        std::fs::read_dir("/dev").map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect()).unwrap_or_default();
    paths.retain(|p| p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with("video")));
    paths.sort();
    paths
        .iter()
        .map(|p| match Device::with_path(p) {
            Err(e) => format!("{}: cannot open: {e}", p.display()),
            Ok(dev) => {
                let card = dev.query_caps().map(|c| c.card).unwrap_or_default();
                let formats: Vec<String> = dev
                    .enum_formats()
                    .unwrap_or_default()
                    .iter()
                    .map(|f| {
                        let sizes: Vec<String> = dev
                            .enum_framesizes(f.fourcc)
                            .unwrap_or_default()
                            .into_iter()
                            .flat_map(|s| s.size.to_discrete())
                            .map(|d| format!("{}x{}", d.width, d.height))
                            .collect();
                        let ours = PixelFormat::from_fourcc(&f.fourcc.repr).map_or("", |_| " (readable)");
                        format!("{}{ours} {}", fourcc_name(&f.fourcc), sizes.join(" "))
                    })
                    .collect();
                format!(
                    "{} ({card}): {}",
                    p.display(),
                    if formats.is_empty() { "no capture formats".into() } else { formats.join("; ") }
                )
            }
        })
        .collect()
}
