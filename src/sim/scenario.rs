//! Scenarios: a TOML file of segments played in order, each showing a digit, a blank view,
//! or a camera fault (see the README for the format).

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde::Deserialize;

use super::scenes::Condition;

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
    /// The digit is this picture (an index into [`Scenario::pictures`]) instead of an MNIST
    /// digit: `image = "my-7.png"` — your own handwriting, a display, a sign — held up to
    /// the simulated camera on lit paper.
    pub picture: Option<usize>,
}

/// A scripted sequence of segments.
#[derive(Clone, Debug, PartialEq)]
pub struct Scenario {
    pub segments: Vec<Segment>,
    /// The pictures segments show, as given (relative to the scenario file once loaded).
    pub pictures: Vec<PathBuf>,
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
    image: Option<PathBuf>,
}

impl Scenario {
    pub fn load(path: &Path) -> Result<Scenario> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("scenario {}: cannot read", path.display()))?;
        let mut scenario = Self::parse(&text).with_context(|| format!("scenario {}", path.display()))?;
        let base = path.parent().unwrap_or(Path::new(""));
        for p in &mut scenario.pictures {
            *p = base.join(&*p);
        }
        Ok(scenario)
    }

    pub fn parse(text: &str) -> Result<Scenario> {
        let raw: RawScenario = toml::from_str(text)?;
        if raw.segment.is_empty() {
            bail!("needs at least one [[segment]]");
        }
        let (mut segments, mut pictures) = (Vec::new(), Vec::new());
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
            let picture = match (&s.image, content, scene) {
                (None, ..) => None,
                (Some(image), Content::Digit(_), None) => {
                    pictures.push(image.clone());
                    Some(pictures.len() - 1)
                }
                (Some(_), Content::Digit(_), Some(_)) => {
                    bail!("{key}.image is shown on plain paper: leave out `scene`")
                }
                (Some(_), ..) => bail!("{key}.image needs `digit = N`, the digit the picture shows"),
            };
            segments.push(Segment { seconds: s.seconds, content, scene, picture });
        }
        Ok(Scenario { segments, pictures })
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

    /// Whether any segment shows a scene of this condition.
    pub fn uses(&self, cond: Condition) -> bool {
        self.segments.iter().any(|s| s.scene == Some(cond))
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
    fn picture_segments_need_their_digit_and_plain_paper() {
        let s = Scenario::parse("[[segment]]\nseconds = 1\ndigit = 7\nimage = \"seven.png\"\n").unwrap();
        assert_eq!(s.segments[0].picture, Some(0));
        assert_eq!(s.pictures, [PathBuf::from("seven.png")]);
        let e = format!(
            "{:#}",
            Scenario::parse("[[segment]]\nseconds = 1\nblank = true\nimage = \"a.png\"\n").unwrap_err()
        );
        assert!(e.contains("segment.1.image needs `digit = N`"), "{e}");
        let e = format!(
            "{:#}",
            Scenario::parse("[[segment]]\nseconds = 1\ndigit = 1\nscene = \"card\"\nimage = \"a.png\"\n").unwrap_err()
        );
        assert!(e.contains("segment.1.image is shown on plain paper"), "{e}");
    }
}
