//! The robot's hardware as the config describes it: opening the motor HAT, stopping it
//! from outside the firmware (`digitbot stop-motors`), listing what is attached (`digitbot
//! probe`) and the wheels-up check (`digitbot selftest`).

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::{Context, Result};

use crate::sink::leds::Leds;
use crate::sink::motor_hat::{self, MotorConfig, MotorHat};
use crate::sink::Actuators;

fn open_bus(cfg: &MotorConfig) -> Result<rppal::i2c::I2c> {
    rppal::i2c::I2c::with_bus(cfg.i2c_bus).with_context(|| {
        format!(
            "opening /dev/i2c-{} for the motor HAT (is the bus right — 1 on a Nano, 7 on an Orin — and is the \
             user in the i2c group?)",
            cfg.i2c_bus
        )
    })
}

/// Opens the motor HAT on `/dev/i2c-N`; the wheels are released before this returns.
pub fn open_motors(cfg: &MotorConfig) -> Result<MotorHat<rppal::i2c::I2c>> {
    Ok(MotorHat::new(open_bus(cfg)?, cfg.clone())?)
}

/// `digitbot stop-motors`: every output of the motor HAT off, whether or not the firmware
/// is running (see [`motor_hat::stop_all`]).
pub fn stop_motors(cfg: &MotorConfig) -> Result<()> {
    Ok(motor_hat::stop_all(&mut open_bus(cfg)?, cfg)?)
}

/// I2C buses and the addresses that answer on each, like `i2cdetect -y`.
pub fn probe_i2c() -> Vec<String> {
    let mut buses: Vec<u8> = std::fs::read_dir("/dev")
        .map(|d| d.filter_map(|e| e.ok()?.file_name().to_str()?.strip_prefix("i2c-")?.parse().ok()).collect())
        .unwrap_or_default();
    buses.sort();
    buses
        .into_iter()
        .map(|bus| match rppal::i2c::I2c::with_bus(bus) {
            Err(e) => format!("/dev/i2c-{bus}: cannot open: {e}"),
            Ok(mut i2c) => {
                let found: Vec<String> = (0x08u16..=0x77)
                    .filter(|&addr| {
                        i2c.set_slave_address(addr).is_ok() && {
                            // As i2cdetect does: a read where a quick write could change
                            // state (EEPROMs), a quick write elsewhere.
                            if (0x30..=0x37).contains(&addr) || (0x50..=0x5f).contains(&addr) {
                                i2c.read(&mut [0u8; 1]).is_ok()
                            } else {
                                i2c.smbus_quick_command(false).is_ok()
                            }
                        }
                    })
                    .map(|a| format!("0x{a:02x}{}", if a == 0x60 { " (motor HAT?)" } else { "" }))
                    .collect();
                format!(
                    "/dev/i2c-{bus}: {}",
                    if found.is_empty() { "no devices answer".into() } else { found.join(" ") }
                )
            }
        })
        .collect()
}

/// The wheels-up check: each wheel forward then backward, then each LED in turn. Asks
/// first; does nothing at all without a yes. The wheels are stopped between steps, on a
/// shutdown request and on the way out.
pub fn selftest(
    motors: Option<&mut dyn Actuators>,
    leds: Option<&mut Leds>,
    confirm: impl FnOnce() -> bool,
    pause: impl Fn(Duration),
    shutdown: &AtomicBool,
    out: &mut dyn Write,
) -> Result<bool> {
    writeln!(out, "selftest: put the robot on a stand with both wheels off the ground.")?;
    if !confirm() {
        writeln!(out, "selftest: not confirmed, nothing moved.")?;
        return Ok(false);
    }
    let step = Duration::from_millis(700);
    if let Some(m) = motors {
        let result = (|| -> Result<()> {
            for (wheel, dir, l, r) in [
                ("left", "forward", 0.3, 0.0),
                ("left", "backward", -0.3, 0.0),
                ("right", "forward", 0.0, 0.3),
                ("right", "backward", 0.0, -0.3),
            ] {
                if shutdown.load(Ordering::Relaxed) {
                    break;
                }
                writeln!(out, "selftest: {wheel} wheel {dir}")?;
                m.set_motors(l, r)?;
                pause(step);
                m.stop()?;
                pause(step / 2);
            }
            Ok(())
        })();
        let stopped = m.stop();
        result?;
        stopped?;
    } else {
        writeln!(out, "selftest: no motor driver configured (motors.driver = \"none\")")?;
    }
    if let Some(l) = leds {
        for i in 0..l.count() {
            if shutdown.load(Ordering::Relaxed) {
                break;
            }
            writeln!(out, "selftest: LED {i}")?;
            l.pattern(1 << i)?;
            pause(step / 2);
        }
        l.pattern(0)?;
    }
    writeln!(out, "selftest: done")?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sink::fake::RecordingPins;
    use crate::sink::{Event, RecordingSink};

    #[test]
    fn selftest_spins_each_wheel_both_ways_then_blinks_each_led() {
        let mut rec = RecordingSink::new();
        let pins = RecordingPins::new(2);
        let mut leds = Leds::new(pins.clone()).unwrap();
        let mut out = Vec::new();
        let ok = selftest(Some(&mut rec), Some(&mut leds), || true, |_| {}, &AtomicBool::new(false), &mut out).unwrap();
        assert!(ok);
        let ev = rec.events();
        assert_eq!(
            ev,
            vec![
                Event::Motors(0.3, 0.0),
                Event::Stop,
                Event::Motors(-0.3, 0.0),
                Event::Stop,
                Event::Motors(0.0, 0.3),
                Event::Stop,
                Event::Motors(0.0, -0.3),
                Event::Stop,
                Event::Stop,
            ]
        );
        assert_eq!(pins.levels(), vec![false, false]);
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("LED 1") && text.contains("wheels off the ground"));
    }

    #[test]
    fn selftest_without_confirmation_moves_nothing() {
        let mut rec = RecordingSink::new();
        let mut out = Vec::new();
        let ok = selftest(Some(&mut rec), None, || false, |_| {}, &AtomicBool::new(false), &mut out).unwrap();
        assert!(!ok);
        assert_eq!(rec.events(), vec![]);
    }
}
