//! The simulated camera: renders frames in which a real MNIST digit (from a small set shipped
//! in the binary) appears as dark ink on lit paper, following a scenario. Position, size,
//! lighting and noise vary with a seed, so runs repeat exactly.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use rand::{Rng, RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Deserialize;

use super::scenes::{load_fonts, Condition, SceneMaker};
use super::{Frame, FrameSource, Poll};
use crate::data::{parse_idx_images, parse_idx_labels, sample_bilinear, Dataset, SIDE};

const IMAGES_GZ: &[u8] = include_bytes!("sim-digits-images-idx3-ubyte.gz");
const LABELS_GZ: &[u8] = include_bytes!("sim-digits-labels-idx1-ubyte.gz");

/// The 500 MNIST test digits the simulator draws from (the first 500 of `t10k`).
pub fn sim_digits() -> Result<Dataset> {
    let gunzip = |b: &[u8]| -> Result<Vec<u8>> {
        let mut out = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(b), &mut out)?;
        Ok(out)
    };
    let path = Path::new("<built-in simulator digits>");
    let (_, rows, cols, images) = parse_idx_images(path, &gunzip(IMAGES_GZ)?)?;
    let labels = parse_idx_labels(path, &gunzip(LABELS_GZ)?)?;
    Ok(Dataset { rows, cols, images, labels })
}

/// What the camera sees (or fails to deliver) during one segment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Content {
    Digit(u8),
    Blank,
    /// No frames at all: a hung camera.
    Stall,
    /// Corrupt frames: noise, and buffers of the wrong length.
    Garbage,
    /// The camera is unplugged.
    Disconnect,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Segment {
    pub seconds: f64,
    pub content: Content,
    /// A camera-like scene instead of the plain paper: `scene = "paper"`, `"card"` (a card
    /// on a darker floor) or `"printed"` (a printed digit), with uneven light, blur, noise
    /// and JPEG (see `scenes`).
    pub scene: Option<Condition>,
}

/// A scripted sequence of segments.
#[derive(Clone, Debug, PartialEq)]
pub struct Scenario {
    pub segments: Vec<Segment>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScenario {
    segment: Vec<RawSegment>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSegment {
    seconds: f64,
    digit: Option<i64>,
    #[serde(default)]
    blank: bool,
    #[serde(default)]
    stall: bool,
    #[serde(default)]
    garbage: bool,
    #[serde(default)]
    disconnect: bool,
    scene: Option<String>,
}

impl Scenario {
    pub fn load(path: &Path) -> Result<Scenario> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("scenario {}: cannot read", path.display()))?;
        Self::parse(&text).with_context(|| format!("scenario {}", path.display()))
    }

    pub fn parse(text: &str) -> Result<Scenario> {
        let raw: RawScenario = toml::from_str(text)?;
        if raw.segment.is_empty() {
            bail!("needs at least one [[segment]]");
        }
        let mut segments = Vec::new();
        for (i, s) in raw.segment.iter().enumerate() {
            let key = format!("segment.{}", i + 1);
            if !(s.seconds.is_finite() && s.seconds > 0.0) {
                bail!("{key}.seconds must be > 0, got {}", s.seconds);
            }
            let flags = [
                (s.blank, Content::Blank),
                (s.stall, Content::Stall),
                (s.garbage, Content::Garbage),
                (s.disconnect, Content::Disconnect),
            ];
            let mut set = flags.iter().filter(|(on, _)| *on).map(|(_, c)| *c);
            let content = match (s.digit, set.next(), set.next()) {
                (Some(d), None, _) if (0..=9).contains(&d) => Content::Digit(d as u8),
                (Some(d), None, _) => bail!("{key}.digit must be within 0..=9, got {d}"),
                (None, Some(c), None) => c,
                _ => bail!(
                    "{key}: needs exactly one of `digit = N`, `blank = true`, `stall = true`, `garbage = true` or `disconnect = true`"
                ),
            };
            let scene = match (s.scene.as_deref(), content) {
                (None, _) => None,
                (Some(name), Content::Digit(_) | Content::Blank) => Some(match name {
                    "paper" => Condition::Paper,
                    "card" => Condition::Card,
                    "printed" => Condition::Printed,
                    other => bail!("{key}.scene must be \"paper\", \"card\" or \"printed\", got {other:?}"),
                }),
                (Some(_), _) => bail!("{key}.scene goes with `digit` or `blank` only"),
            };
            segments.push(Segment { seconds: s.seconds, content, scene });
        }
        Ok(Scenario { segments })
    }

    pub fn total_seconds(&self) -> f64 {
        self.segments.iter().map(|s| s.seconds).sum()
    }

    /// The segment (index and content) at time `t_ms`, or None after the end.
    pub fn at(&self, t_ms: u64) -> Option<(usize, Content)> {
        let mut end = 0.0;
        for (i, s) in self.segments.iter().enumerate() {
            end += s.seconds * 1000.0;
            if (t_ms as f64) < end {
                return Some((i, s.content));
            }
        }
        None
    }

    fn uses(&self, cond: Condition) -> bool {
        self.segments.iter().any(|s| s.scene == Some(cond))
    }
}

/// How one segment looks: fixed for the segment, so a digit is "held up" steadily.
struct Look {
    paper: f32,
    gradient: f32,
    ink: f32,
    /// Index into the digit set, size of the 28-px box in pixels, its centre.
    sample: Option<(usize, f32, f32, f32)>,
}

/// The simulated camera.
pub struct SimCamera {
    width: usize,
    height: usize,
    period_ms: f64,
    scenario: Scenario,
    digits: Dataset,
    seed: u64,
    frame: u64,
    /// Sleep so frames come at the configured fps; off with `--fast`.
    paced: bool,
    started: Instant,
    name: String,
    /// For printed scenes.
    fonts: Vec<ab_glyph::FontVec>,
}

impl SimCamera {
    pub fn new(
        width: usize,
        height: usize,
        fps: f32,
        scenario: Scenario,
        seed: u64,
        paced: bool,
        name: Option<PathBuf>,
    ) -> Result<Self> {
        if width < SIDE || height < SIDE {
            bail!("simulated camera: {width}x{height} is smaller than 28x28");
        }
        let fonts = if scenario.uses(Condition::Printed) {
            load_fonts(&[PathBuf::from("/usr/share/fonts")])
        } else {
            Vec::new()
        };
        Ok(SimCamera {
            width,
            height,
            period_ms: 1000.0 / fps as f64,
            scenario,
            digits: sim_digits()?,
            seed,
            frame: 0,
            paced,
            started: Instant::now(),
            name: name.map_or("built-in scenario".into(), |p| p.display().to_string()),
            fonts,
        })
    }

    fn look(&self, segment: usize, content: Content) -> Look {
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed.wrapping_mul(1_000_003).wrapping_add(segment as u64));
        let (w, h) = (self.width as f32, self.height as f32);
        let paper = rng.random_range(170.0..215.0);
        let gradient = rng.random_range(-25.0..25.0);
        let ink = rng.random_range(20.0..60.0);
        let sample = match content {
            Content::Blank | Content::Stall | Content::Garbage | Content::Disconnect => None,
            Content::Digit(d) => {
                let of_digit: Vec<usize> = (0..self.digits.len()).filter(|&i| self.digits.labels[i] == d).collect();
                let idx = of_digit[rng.random_range(0..of_digit.len())];
                let size = h * rng.random_range(0.4..0.65);
                let cx = w / 2.0 + w * rng.random_range(-0.12..0.12);
                let cy = h / 2.0 + h * rng.random_range(-0.08..0.08);
                Some((idx, size, cx, cy))
            }
        };
        Look { paper, gradient, ink, sample }
    }

    /// Renders frame `n` of segment `segment`.
    pub fn render(&self, segment: usize, content: Content, n: u64) -> Vec<u8> {
        let look = self.look(segment, content);
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed ^ n.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let (w, h) = (self.width, self.height);
        let mut px = vec![0u8; w * h];
        let mut noise = [0u8; 8];
        for row in px.chunks_exact_mut(w) {
            for (x, p) in row.iter_mut().enumerate() {
                if x % 8 == 0 {
                    rng.fill_bytes(&mut noise);
                }
                let light = look.paper + look.gradient * (x as f32 / w as f32 - 0.5);
                *p = (light + (noise[x % 8] as f32 / 255.0 - 0.5) * 12.0).clamp(0.0, 255.0) as u8;
            }
        }
        if let Some((idx, size, cx, cy)) = look.sample {
            let (jx, jy) = (rng.random_range(-1.0..1.0), rng.random_range(-1.0..1.0));
            let img = self.digits.image(idx);
            let scale = SIDE as f32 / size;
            let (x0, y0) = ((cx + jx - size / 2.0).max(0.0) as usize, (cy + jy - size / 2.0).max(0.0) as usize);
            let (x1, y1) = (((cx + jx + size / 2.0) as usize).min(w), ((cy + jy + size / 2.0) as usize).min(h));
            for y in y0..y1 {
                for x in x0..x1 {
                    let sx = (x as f32 - (cx + jx - size / 2.0)) * scale - 0.5;
                    let sy = (y as f32 - (cy + jy - size / 2.0)) * scale - 0.5;
                    let v = sample_bilinear(img, sx, sy) / 255.0;
                    if v > 0.0 {
                        let p = &mut px[y * w + x];
                        let paper = *p as f32;
                        *p = (paper - v * (paper - look.ink).max(0.0)).clamp(0.0, 255.0) as u8;
                    }
                }
            }
        }
        px
    }
}

impl FrameSource for SimCamera {
    fn next_frame(&mut self) -> Result<Poll> {
        let t_ms = (self.frame as f64 * self.period_ms).round() as u64;
        let Some((segment, content)) = self.scenario.at(t_ms) else {
            return Ok(Poll::End);
        };
        if self.paced {
            let due = self.started + Duration::from_millis(t_ms);
            let now = Instant::now();
            if due > now {
                std::thread::sleep(due - now);
            }
        }
        let n = self.frame;
        self.frame += 1;
        let (width, height) = (self.width, self.height);
        Ok(match content {
            Content::Stall => Poll::Stalled { t_ms },
            Content::Disconnect => Poll::Lost { t_ms, why: "simulated camera unplugged".into() },
            Content::Garbage => {
                let mut pixels = vec![0u8; width * height];
                ChaCha8Rng::seed_from_u64(self.seed ^ n).fill_bytes(&mut pixels);
                if n % 2 == 1 {
                    // A short read: the buffer does not hold the whole frame.
                    pixels.truncate(pixels.len() / 3);
                }
                Poll::Frame(Frame { width, height, pixels, t_ms })
            }
            Content::Digit(_) | Content::Blank if self.scenario.segments[segment].scene.is_some() => {
                // A camera-like scene, fixed for the segment: the sign is held still.
                let cond = match content {
                    Content::Blank => Condition::Blank,
                    _ => self.scenario.segments[segment].scene.unwrap_or(Condition::Paper),
                };
                let digit = if let Content::Digit(d) = content { Some(d) } else { None };
                let maker = SceneMaker { width, height, digits: &self.digits, fonts: &self.fonts, seed: self.seed };
                Poll::Frame(Frame {
                    width,
                    height,
                    pixels: maker.scene_showing(cond, segment as u64, digit).pixels,
                    t_ms,
                })
            }
            Content::Digit(_) | Content::Blank => {
                Poll::Frame(Frame { width, height, pixels: self.render(segment, content, n), t_ms })
            }
        })
    }

    fn describe(&self) -> String {
        format!(
            "simulated camera {}x{} ({}, {:.1} s)",
            self.width,
            self.height,
            self.name,
            self.scenario.total_seconds()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scenario_parses_and_names_bad_keys() {
        let s = Scenario::parse("[[segment]]\nseconds = 1.5\ndigit = 3\n[[segment]]\nseconds = 0.5\nblank = true\n")
            .unwrap();
        assert_eq!(s.segments[0].content, Content::Digit(3));
        assert_eq!(s.at(1499), Some((0, Content::Digit(3))));
        assert_eq!(s.at(1500), Some((1, Content::Blank)));
        assert_eq!(s.at(2000), None);
        let e = format!("{:#}", Scenario::parse("[[segment]]\nseconds = 1\ndigit = 12\n").unwrap_err());
        assert!(e.contains("segment.1.digit must be within 0..=9, got 12"), "{e}");
        let e = format!("{:#}", Scenario::parse("[[segment]]\nseconds = 1\ndigit = 1\nblank = true\n").unwrap_err());
        assert!(e.contains("exactly one of"), "{e}");
        let e =
            format!("{:#}", Scenario::parse("[[segment]]\nseconds = 1\nstall = true\ngarbage = true\n").unwrap_err());
        assert!(e.contains("segment.1: needs exactly one of"), "{e}");
        let s =
            Scenario::parse("[[segment]]\nseconds = 1\nstall = true\n[[segment]]\nseconds = 1\ndisconnect = true\n")
                .unwrap();
        assert_eq!(s.segments[1].content, Content::Disconnect);
        let e = format!("{:#}", Scenario::parse("[[segment]]\nseconds = 1\ndigt = 1\n").unwrap_err());
        assert!(e.contains("unknown field `digt`"), "{e}");
    }

    #[test]
    fn frames_repeat_exactly_for_a_seed_and_show_dark_ink() {
        let sc = Scenario::parse("[[segment]]\nseconds = 1\ndigit = 4\n").unwrap();
        let mut a = SimCamera::new(160, 120, 10.0, sc.clone(), 7, false, None).unwrap();
        let mut b = SimCamera::new(160, 120, 10.0, sc.clone(), 7, false, None).unwrap();
        let mut c = SimCamera::new(160, 120, 10.0, sc, 8, false, None).unwrap();
        let frame = |cam: &mut SimCamera| match cam.next_frame().unwrap() {
            Poll::Frame(f) => f,
            other => panic!("expected a frame, got {other:?}"),
        };
        let (fa, fb, fc) = (frame(&mut a), frame(&mut b), frame(&mut c));
        assert_eq!(fa, fb);
        assert_ne!(fa.pixels, fc.pixels);
        let dark = fa.pixels.iter().filter(|&&p| p < 100).count();
        assert!(dark > 100, "the digit's ink is dark: {dark} dark pixels");
        assert!(fa.pixels.iter().filter(|&&p| p > 150).count() > fa.pixels.len() / 2, "mostly lit paper");
        // 10 fps for 1 s: ten frames, then the end.
        let n = std::iter::from_fn(|| Some(a.next_frame().unwrap()).filter(|p| *p != Poll::End)).count();
        assert_eq!(n, 9);
    }

    #[test]
    fn scene_segments_parse_and_name_bad_values() {
        let s = Scenario::parse("[[segment]]\nseconds = 1\ndigit = 2\nscene = \"card\"\n").unwrap();
        assert_eq!(s.segments[0].scene, Some(Condition::Card));
        let e =
            format!("{:#}", Scenario::parse("[[segment]]\nseconds = 1\ndigit = 2\nscene = \"moon\"\n").unwrap_err());
        assert!(e.contains("segment.1.scene must be \"paper\", \"card\" or \"printed\", got \"moon\""), "{e}");
        let e =
            format!("{:#}", Scenario::parse("[[segment]]\nseconds = 1\nstall = true\nscene = \"card\"\n").unwrap_err());
        assert!(e.contains("segment.1.scene goes with `digit` or `blank` only"), "{e}");
    }

    #[test]
    fn fault_segments_stall_corrupt_and_disconnect() {
        let sc = Scenario::parse(
            "[[segment]]\nseconds = 0.2\nstall = true\n[[segment]]\nseconds = 0.2\ngarbage = true\n\
             [[segment]]\nseconds = 0.2\ndisconnect = true\n",
        )
        .unwrap();
        let mut cam = SimCamera::new(64, 48, 10.0, sc, 1, false, None).unwrap();
        let polls: Vec<Poll> =
            std::iter::from_fn(|| Some(cam.next_frame().unwrap()).filter(|p| *p != Poll::End)).collect();
        assert_eq!(polls.len(), 6);
        assert_eq!(polls[0], Poll::Stalled { t_ms: 0 });
        let Poll::Frame(g) = &polls[3] else { panic!("garbage is a frame") };
        assert_ne!(g.pixels.len(), 64 * 48, "a short buffer");
        assert!(matches!(&polls[5], Poll::Lost { t_ms: 500, .. }));
    }
}
