//! LEDs that show the recognised digit in binary (pin 0 = bit 0), all off when there is
//! none. Pins are driven through rppal's GPIO on a Raspberry Pi and through the Linux GPIO
//! character device (gpiocdev, uAPI v1 and v2) elsewhere, including Jetsons, whose boards
//! rppal's GPIO refuses.
//!
//! # Troubleshooting
//! "Permission denied" on `/dev/gpiochipN`: add the user to the `gpio` group (JetPack creates
//! it with its udev rules). A Jetson Nano's 40-pin header is chip `tegra-gpio`; NVIDIA's
//! jetson-gpio pin tables give the line offset of each header pin (pin 12 is line 79).

use anyhow::{bail, Context, Result};

use super::{FrameReport, FrameSink, Interruption};

/// How the LEDs are driven.
#[derive(Clone, Debug, PartialEq)]
pub enum LedConfig {
    None,
    /// A GPIO character device (path or label) and line offsets.
    Cdev {
        chip: String,
        lines: Vec<u32>,
    },
    /// Raspberry Pi BCM pin numbers through rppal.
    Rppal {
        pins: Vec<u32>,
    },
}

/// Opens the LEDs, all off, or None when the config has none.
pub fn open(cfg: &LedConfig) -> Result<Option<Leds>> {
    Ok(match cfg {
        LedConfig::None => None,
        LedConfig::Cdev { chip, lines } => Some(Leds::new(CdevPins::open(chip, lines)?)?),
        LedConfig::Rppal { pins } => Some(Leds::new(RppalPins::open(pins)?)?),
    })
}

/// A set of output pins.
pub trait OutputPins {
    fn count(&self) -> usize;
    /// Sets pin `index` high or low.
    fn set(&mut self, index: usize, high: bool) -> Result<()>;
}

/// The LEDs: the recognised digit in binary. As a sink they are an indicator, not a
/// safety function: when they fail, the loop logs it once, they are switched off, and the
/// robot carries on.
pub struct Leds {
    pins: Box<dyn OutputPins>,
    shown: Option<Option<u8>>,
}

impl Leds {
    /// Takes the pins and turns every LED off.
    pub fn new(pins: impl OutputPins + 'static) -> Result<Self> {
        let mut leds = Leds { pins: Box::new(pins), shown: None };
        leds.show(None)?;
        Ok(leds)
    }

    /// Lights exactly the LEDs whose bits are set in `pattern`.
    pub fn pattern(&mut self, pattern: u32) -> Result<()> {
        for i in 0..self.pins.count() {
            self.pins.set(i, pattern & (1 << i) != 0)?;
        }
        Ok(())
    }

    pub fn count(&self) -> usize {
        self.pins.count()
    }
}

impl Leds {
    /// Shows a digit (or none: all off); writes only on change.
    pub fn show(&mut self, digit: Option<u8>) -> Result<()> {
        if self.shown != Some(digit) {
            // Forget what is shown until the write succeeds, so a retry writes again.
            self.shown = None;
            self.pattern(digit.map_or(0, u32::from))?;
            self.shown = Some(digit);
        }
        Ok(())
    }
}

impl FrameSink for Leds {
    fn name(&self) -> &'static str {
        "LEDs"
    }

    fn frame(&mut self, r: &FrameReport) -> Result<()> {
        self.show(r.result.decision.digit)
    }

    fn interrupted(&mut self, _: &Interruption) -> Result<()> {
        self.show(None)
    }

    fn finish(&mut self, _: &Interruption) -> Result<()> {
        self.show(None)
    }

    fn essential(&self) -> bool {
        false
    }

    /// Every pin low, each tried whatever the others do.
    fn failed(&mut self) {
        for i in 0..self.pins.count() {
            let _ = self.pins.set(i, false);
        }
    }
}

/// Lines of a GPIO character device (`/dev/gpiochipN`), requested as outputs, initially low.
pub struct CdevPins {
    request: gpiocdev::Request,
    offsets: Vec<u32>,
}

impl CdevPins {
    /// `chip` is a path (`/dev/gpiochip0`) or a chip label (`tegra-gpio`).
    pub fn open(chip: &str, offsets: &[u32]) -> Result<Self> {
        let path = if chip.starts_with('/') {
            std::path::PathBuf::from(chip)
        } else {
            let mut found = None;
            for p in gpiocdev::chip::chips().context("listing GPIO chips")? {
                let label = gpiocdev::chip::Chip::from_path(&p).and_then(|c| c.info()).map(|i| i.label);
                if label.is_ok_and(|l| l == chip) {
                    found = Some(p);
                    break;
                }
            }
            found.with_context(|| format!("no GPIO chip labelled {chip:?} (see `gpiodetect`)"))?
        };
        let request = gpiocdev::Request::builder()
            .on_chip(&path)
            .with_consumer("digitbot")
            .with_lines(offsets)
            .as_output(gpiocdev::line::Value::Inactive)
            .request()
            .with_context(|| format!("requesting lines {offsets:?} of {} as outputs", path.display()))?;
        Ok(CdevPins { request, offsets: offsets.to_vec() })
    }
}

impl OutputPins for CdevPins {
    fn count(&self) -> usize {
        self.offsets.len()
    }

    fn set(&mut self, index: usize, high: bool) -> Result<()> {
        let Some(&offset) = self.offsets.get(index) else { bail!("no LED {index}") };
        self.request.set_value(offset, high.into()).with_context(|| format!("setting GPIO line {offset}"))?;
        Ok(())
    }
}

/// BCM-numbered pins through rppal (Raspberry Pi boards only).
pub struct RppalPins(Vec<rppal::gpio::OutputPin>);

impl RppalPins {
    pub fn open(pins: &[u32]) -> Result<Self> {
        let gpio = rppal::gpio::Gpio::new().context("opening the Raspberry Pi GPIO (rppal)")?;
        let mut out = Vec::new();
        for &p in pins {
            let n = u8::try_from(p).with_context(|| format!("GPIO {p} is not a BCM pin number"))?;
            out.push(gpio.get(n).with_context(|| format!("GPIO {n}"))?.into_output_low());
        }
        Ok(RppalPins(out))
    }
}

impl OutputPins for RppalPins {
    fn count(&self) -> usize {
        self.0.len()
    }

    fn set(&mut self, index: usize, high: bool) -> Result<()> {
        let Some(pin) = self.0.get_mut(index) else { bail!("no LED {index}") };
        if high {
            pin.set_high();
        } else {
            pin.set_low();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sink::fake::RecordingPins;

    #[test]
    fn shows_digits_in_binary_and_only_on_change() {
        let pins = RecordingPins::new(4);
        let mut leds = Leds::new(pins.clone()).unwrap();
        assert_eq!(pins.levels(), vec![false; 4]);
        leds.show(Some(5)).unwrap();
        assert_eq!(pins.levels(), vec![true, false, true, false]);
        leds.show(Some(9)).unwrap();
        assert_eq!(pins.levels(), vec![true, false, false, true]);
        let writes = pins.writes();
        leds.show(Some(9)).unwrap();
        assert_eq!(pins.writes(), writes, "no GPIO traffic when nothing changes");
        leds.show(None).unwrap();
        assert_eq!(pins.levels(), vec![false; 4]);
    }
}
