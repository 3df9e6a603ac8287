//! The simulated camera: plays a scenario as frames — plain paper views, camera-like scenes
//! or camera faults — at the configured size and rate (or as fast as possible on simulated
//! time). Everything it shows comes from [`crate::sim`]; a seed makes runs repeat exactly.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::{Frame, FrameSource, Poll};
use crate::data::{Dataset, SIDE};
use crate::sim::paper::{PaperView, Picture};
use crate::sim::scenario::{Content, Scenario};
use crate::sim::scenes::{load_fonts, Condition, Scene, SceneMaker, Still};
use crate::sim::sim_digits;

/// A simulated scene as a frame captured at time 0 (read its digit first, if needed).
impl From<Scene> for Frame {
    fn from(scene: Scene) -> Frame {
        Frame { width: scene.width, height: scene.height, pixels: scene.pixels, t_ms: 0 }
    }
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
    /// The camera-like scene of the current segment: rendered once, then only noise
    /// changes from frame to frame.
    scene: Option<(usize, Still)>,
    /// The lit paper of the current plain segment.
    paper: Option<(usize, Vec<u8>)>,
    /// The scenario's pictures, read once.
    pictures: Vec<Picture>,
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
        let pictures = scenario
            .pictures
            .iter()
            .map(|p| {
                let (w, h, gray) =
                    super::file::load_gray(p).with_context(|| format!("scenario image {}", p.display()))?;
                Ok(Picture::from_gray(w, h, &gray))
            })
            .collect::<Result<Vec<_>>>()?;
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
            scene: None,
            paper: None,
            pictures,
        })
    }

    /// Frame `n` of the scene segment `segment` shows, rendered on its first frame.
    fn scene(&mut self, segment: usize, cond: Condition, digit: Option<u8>, n: u64) -> Vec<u8> {
        if self.scene.as_ref().is_none_or(|(s, _)| *s != segment) {
            let maker = SceneMaker {
                width: self.width,
                height: self.height,
                digits: &self.digits,
                fonts: &self.fonts,
                seed: self.seed,
            };
            self.scene = Some((segment, maker.still(cond, segment as u64, digit)));
        }
        self.scene.as_ref().map(|(_, still)| still.frame(n)).unwrap_or_default()
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
        let digit = if let Content::Digit(d) = content { Some(d) } else { None };
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
            Content::Digit(_) | Content::Blank => {
                let pixels = match self.scenario.segments[segment].scene {
                    // A camera-like scene, fixed for the segment (the sign is held still) but
                    // for the sensor's noise.
                    Some(scene) => {
                        let cond = if content == Content::Blank { Condition::Blank } else { scene };
                        self.scene(segment, cond, digit, n)
                    }
                    None => {
                        let view = PaperView { width, height, digits: &self.digits, seed: self.seed };
                        if self.paper.as_ref().is_none_or(|(s, _)| *s != segment) {
                            self.paper = Some((segment, view.background(segment)));
                        }
                        let background = self.paper.as_ref().map(|(_, b)| b.as_slice()).unwrap_or_default();
                        let picture = self.scenario.segments[segment].picture.and_then(|i| self.pictures.get(i));
                        view.frame(background, segment, digit, picture, n)
                    }
                };
                Poll::Frame(Frame { width, height, pixels, t_ms })
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
    fn a_picture_segment_shows_the_picture_not_an_mnist_digit() {
        // A plus sign nobody would take for an MNIST digit, as a black-on-white PNG.
        let dir = std::env::temp_dir().join(format!("digitbot-picture-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let plus = image::GrayImage::from_fn(40, 40, |x, y| {
            image::Luma([if (17..23).contains(&x) || (17..23).contains(&y) { 10 } else { 240 }])
        });
        plus.save(dir.join("plus.png")).unwrap();
        std::fs::write(dir.join("s.toml"), "[[segment]]\nseconds = 1\ndigit = 4\nimage = \"plus.png\"\n").unwrap();
        let sc = Scenario::load(&dir.join("s.toml")).unwrap();
        let mut cam = SimCamera::new(160, 120, 10.0, sc, 3, false, None).unwrap();
        let Poll::Frame(f) = cam.next_frame().unwrap() else { panic!("a frame") };
        // The dark pixels form a plus: dark along the middle row and column of their box,
        // paper in its corners.
        let dark: Vec<(usize, usize)> =
            (0..f.pixels.len()).filter(|&i| f.pixels[i] < 100).map(|i| (i % 160, i / 160)).collect();
        assert!(dark.len() > 50, "{} dark pixels", dark.len());
        let (x0, x1) = (dark.iter().map(|p| p.0).min().unwrap(), dark.iter().map(|p| p.0).max().unwrap());
        let (y0, y1) = (dark.iter().map(|p| p.1).min().unwrap(), dark.iter().map(|p| p.1).max().unwrap());
        let at = |x: usize, y: usize| f.pixels[y * 160 + x];
        let (mx, my) = ((x0 + x1) / 2, (y0 + y1) / 2);
        assert!(at(mx, my) < 100 && at(x0 + 1, my) < 100 && at(mx, y0 + 1) < 100, "the bars are ink");
        assert!(at(x0 + 1, y0 + 1) > 150 && at(x1 - 1, y1 - 1) > 150, "the corners are paper");
        std::fs::remove_dir_all(&dir).ok();
        // A picture that cannot be read is named.
        let sc = Scenario::parse("[[segment]]\nseconds = 1\ndigit = 4\nimage = \"/nonexistent/x.png\"\n").unwrap();
        let e = format!("{:#}", SimCamera::new(160, 120, 10.0, sc, 3, false, None).err().unwrap());
        assert!(e.contains("scenario image /nonexistent/x.png"), "{e}");
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
