//! JetBot's motor HAT: an Adafruit-style board with a PCA9685 PWM chip (I2C address 0x60)
//! driving two TB6612 H-bridges. Generic over the embedded-hal I2C bus, so tests run it on a
//! recording bus and the robot on rppal's `/dev/i2c-N`.
//!
//! Per motor the board uses three PCA9685 channels: PWM (speed), IN1 and IN2 (direction):
//! forward = IN1 high, IN2 low; backward = IN1 low, IN2 high; release = both low.
//!
//! # Troubleshooting
//! "Remote I/O error" (EREMOTEIO) means nothing answered at the address: the wrong bus (the
//! 40-pin header's I2C is bus 1 on a Nano, bus 7 on an Orin), the HAT unpowered or not
//! seated. `i2cdetect -y -r N` (or `digitbot probe`) should show 0x60.
//! "Permission denied" on `/dev/i2c-N`: add the user to the `i2c` group.

use anyhow::Result;
use embedded_hal::i2c::I2c;
use pwm_pca9685::{Address, Channel, Pca9685};

use super::Actuators;

/// The PCA9685's prescale ceiling (25 MHz / (4096 × (3 + 1)) ≈ 1526 Hz): what Adafruit's
/// 1600 Hz request rounds to. It can only be set while the chip sleeps.
pub const PRESCALE_1600HZ: u8 = 3;

/// The three channels that drive one motor port.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Port {
    pub pwm: u8,
    pub in1: u8,
    pub in2: u8,
}

/// Motor ports M1..M4 of the Adafruit Motor HAT (JetBot: left M1, right M2).
pub const PORTS: [Port; 4] = [
    Port { pwm: 8, in1: 10, in2: 9 },
    Port { pwm: 13, in1: 11, in2: 12 },
    Port { pwm: 2, in1: 4, in2: 3 },
    Port { pwm: 7, in1: 5, in2: 6 },
];

/// Validated motor settings.
#[derive(Clone, Debug, PartialEq)]
pub struct MotorConfig {
    pub i2c_bus: u8,
    pub address: u8,
    /// Ports (1..=4) of the left and right motors.
    pub left_port: u8,
    pub right_port: u8,
    /// Per-motor speed factor (0..=1.5) to make a robot drive straight.
    pub left_trim: f32,
    pub right_trim: f32,
    /// Reverse a motor wired the other way round.
    pub left_invert: bool,
    pub right_invert: bool,
    /// No wheel is ever driven faster than this (0..=1).
    pub max_speed: f32,
}

impl Default for MotorConfig {
    fn default() -> Self {
        MotorConfig {
            i2c_bus: 1,
            address: 0x60,
            left_port: 1,
            right_port: 2,
            left_trim: 1.0,
            right_trim: 1.0,
            left_invert: false,
            right_invert: false,
            max_speed: 1.0,
        }
    }
}

/// Errors from the motor HAT.
#[derive(Debug, thiserror::Error)]
pub enum MotorError {
    #[error("motor speed {0} is not within -1..=1")]
    InvalidSpeed(f32),
    #[error(
        "motor HAT at I2C bus {bus}, address 0x{address:02x}: {what}. Check the bus number (1 on a \
         Jetson Nano, 7 on an Orin), that the HAT is powered and seated, and that `i2cdetect -y -r {bus}` \
         shows 0x{address:02x}"
    )]
    Bus { bus: u8, address: u8, what: String },
}

fn channel(n: u8) -> Channel {
    // PORTS only names channels 0..=15.
    match n {
        0 => Channel::C0,
        1 => Channel::C1,
        2 => Channel::C2,
        3 => Channel::C3,
        4 => Channel::C4,
        5 => Channel::C5,
        6 => Channel::C6,
        7 => Channel::C7,
        8 => Channel::C8,
        9 => Channel::C9,
        10 => Channel::C10,
        11 => Channel::C11,
        12 => Channel::C12,
        13 => Channel::C13,
        14 => Channel::C14,
        _ => Channel::C15,
    }
}

/// The two drive motors of the HAT.
pub struct MotorHat<I2C: I2c> {
    pwm: Pca9685<I2C>,
    cfg: MotorConfig,
}

impl<I2C: I2c> MotorHat<I2C> {
    /// Sets the PWM frequency (while the chip sleeps), wakes it and releases both motors.
    pub fn new(i2c: I2C, cfg: MotorConfig) -> Result<Self, MotorError> {
        let bus_err = |what: String| MotorError::Bus { bus: cfg.i2c_bus, address: cfg.address, what };
        let pwm = Pca9685::new(i2c, Address::from(cfg.address)).map_err(|e| bus_err(format!("{e:?}")))?;
        let mut hat = MotorHat { pwm, cfg };
        hat.pwm.set_prescale(PRESCALE_1600HZ).map_err(|e| hat.bus_error(e))?;
        hat.pwm.enable().map_err(|e| hat.bus_error(e))?;
        hat.release()?;
        Ok(hat)
    }

    fn bus_error<E: std::fmt::Debug>(&self, e: pwm_pca9685::Error<E>) -> MotorError {
        MotorError::Bus { bus: self.cfg.i2c_bus, address: self.cfg.address, what: format!("{e:?}") }
    }

    fn pin(&mut self, ch: u8, high: bool) -> Result<(), MotorError> {
        let c = channel(ch);
        let r = if high {
            // Full on, and clear a full-off left from before (full off wins otherwise).
            self.pwm.set_channel_full_on(c, 0).and_then(|_| self.pwm.set_channel_off(c, 0))
        } else {
            self.pwm.set_channel_full_off(c)
        };
        r.map_err(|e| self.bus_error(e))
    }

    /// Drives one port at a signed duty in -4095..=4095; 0 releases it.
    fn drive(&mut self, port: Port, duty: i32) -> Result<(), MotorError> {
        let level = duty.unsigned_abs().min(4095) as u16;
        let speed = self.pwm.set_channel_on_off(channel(port.pwm), 0, level).map_err(|e| self.bus_error(e));
        if duty == 0 {
            // Releasing: try every write, whatever fails.
            let a = self.pin(port.in1, false);
            let b = self.pin(port.in2, false);
            return speed.and(a).and(b);
        }
        speed?;
        match duty.signum() {
            1 => {
                self.pin(port.in2, false)?;
                self.pin(port.in1, true)
            }
            -1 => {
                self.pin(port.in1, false)?;
                self.pin(port.in2, true)
            }
            _ => {
                self.pin(port.in1, false)?;
                self.pin(port.in2, false)
            }
        }
    }

    fn ports(&self) -> (Port, Port) {
        (PORTS[(self.cfg.left_port - 1) as usize], PORTS[(self.cfg.right_port - 1) as usize])
    }

    /// Releases both motors; tries the second even when the first fails.
    pub fn release(&mut self) -> Result<(), MotorError> {
        let (l, r) = self.ports();
        let a = self.drive(l, 0);
        let b = self.drive(r, 0);
        a.and(b)
    }

    /// The signed duty for a requested speed after trim, inversion and the cap.
    fn duty(&self, speed: f32, trim: f32, invert: bool) -> i32 {
        let s = (speed * trim).clamp(-self.cfg.max_speed, self.cfg.max_speed);
        let s = if invert { -s } else { s };
        (s * 4095.0).round() as i32
    }

    /// Sets both motors; speeds in -1..=1 (positive = forward). Invalid speeds cause no
    /// bus traffic; a bus error releases what can be released.
    pub fn set(&mut self, left: f32, right: f32) -> Result<(), MotorError> {
        for s in [left, right] {
            if !(-1.0..=1.0).contains(&s) {
                return Err(MotorError::InvalidSpeed(s));
            }
        }
        let (lp, rp) = self.ports();
        let (ld, rd) = (
            self.duty(left, self.cfg.left_trim, self.cfg.left_invert),
            self.duty(right, self.cfg.right_trim, self.cfg.right_invert),
        );
        let r = self.drive(lp, ld).and_then(|_| self.drive(rp, rd));
        if r.is_err() {
            let _ = self.release();
        }
        r
    }
}

impl<I2C: I2c> Actuators for MotorHat<I2C> {
    fn set_motors(&mut self, left: f32, right: f32) -> Result<()> {
        Ok(self.set(left, right)?)
    }

    fn stop(&mut self) -> Result<()> {
        Ok(self.release()?)
    }
}

/// The PCA9685's ALL_LED_OFF_H register: a write here goes to every channel's LEDn_OFF_H.
pub const ALL_LED_OFF_H: u8 = 0xFD;
/// LEDn_OFF_H bit 4: the output is fully off, whatever its ON and OFF counts say.
pub const FULL_OFF: u8 = 0b0001_0000;

/// Turns every output of the HAT's PCA9685 fully off — both H-bridges' speed and direction
/// pins, so both wheels are released — with one register write that works whatever state
/// the chip was left in (awake or asleep, any MODE1 setting, after a crash or a SIGKILL).
/// `digitbot stop-motors` runs this; the service runs that after every stop.
pub fn stop_all<I2C: I2c>(i2c: &mut I2C, cfg: &MotorConfig) -> Result<(), MotorError> {
    i2c.write(cfg.address, &[ALL_LED_OFF_H, FULL_OFF]).map_err(|e| MotorError::Bus {
        bus: cfg.i2c_bus,
        address: cfg.address,
        what: format!("{e:?}"),
    })
}

impl<I2C: I2c> Drop for MotorHat<I2C> {
    /// The wheels stop when the driver goes away, however that happens (but see the
    /// signal handling in `main`: `Drop` does not run on a kill).
    fn drop(&mut self) {
        let _ = self.release();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sink::fake::{Op, RecordingI2c};

    const ADDR: u8 = 0x60;

    fn w(bytes: &[u8]) -> Op {
        Op::Write(ADDR, bytes.to_vec())
    }

    /// Register of channel n's LEDn_ON_L; OFF_L is 2 above.
    fn on_l(n: u8) -> u8 {
        0x06 + 4 * n
    }

    fn full_off(n: u8) -> Op {
        w(&[on_l(n) + 2, 0x00, 0x10])
    }

    fn full_on(n: u8) -> Vec<Op> {
        vec![w(&[on_l(n), 0x00, 0x10]), w(&[on_l(n) + 2, 0x00, 0x00])]
    }

    fn pwm(n: u8, duty: u16) -> Op {
        w(&[on_l(n), 0, 0, duty as u8, (duty >> 8) as u8])
    }

    fn release(p: Port) -> Vec<Op> {
        vec![pwm(p.pwm, 0), full_off(p.in1), full_off(p.in2)]
    }

    fn hat(bus: &RecordingI2c, cfg: MotorConfig) -> MotorHat<RecordingI2c> {
        let h = MotorHat::new(bus.clone(), cfg).unwrap();
        bus.take();
        h
    }

    #[test]
    fn init_sets_1600hz_while_asleep_then_wakes_and_releases() {
        let bus = RecordingI2c::new();
        let _h = MotorHat::new(bus.clone(), MotorConfig::default()).unwrap();
        let mut want = vec![
            w(&[0xFE, 3]),    // PRE_SCALE while MODE1 still has SLEEP set (power-on state)
            w(&[0x00, 0x01]), // MODE1: wake (ALLCALL kept)
            w(&[0x00, 0x21]), // MODE1: auto-increment, for the multi-byte writes below
        ];
        want.push(pwm(8, 0));
        want.extend([full_off(10), full_off(9)]);
        want.extend(release(PORTS[1]));
        assert_eq!(bus.take(), want);
    }

    #[test]
    fn forward_reverse_and_stop_write_the_exact_registers() {
        let bus = RecordingI2c::new();
        let mut h = hat(&bus, MotorConfig::default());
        h.set(0.5, -0.25).unwrap();
        let mut want = vec![pwm(8, 2048), full_off(9)];
        want.extend(full_on(10)); // left forward: IN1 (10) high, IN2 (9) low
        want.extend([pwm(13, 1024), full_off(11)]);
        want.extend(full_on(12)); // right backward: IN1 (11) low, IN2 (12) high
        assert_eq!(bus.take(), want);
        Actuators::stop(&mut h).unwrap();
        let mut want = release(PORTS[0]);
        want.extend(release(PORTS[1]));
        assert_eq!(bus.take(), want);
    }

    #[test]
    fn trim_cap_and_inversion_apply() {
        let bus = RecordingI2c::new();
        let cfg = MotorConfig { left_trim: 0.5, max_speed: 0.6, right_invert: true, ..MotorConfig::default() };
        let mut h = hat(&bus, cfg);
        h.set(1.0, 1.0).unwrap();
        let ops = bus.take();
        assert_eq!(ops[0], pwm(8, 2048), "left: 1.0 × trim 0.5");
        assert_eq!(ops[4], pwm(13, 2457), "right: capped at 0.6");
        assert_eq!(ops[5], full_off(11), "right inverted: runs backward");
    }

    #[test]
    fn invalid_speeds_cause_no_bus_traffic() {
        let bus = RecordingI2c::new();
        let mut h = hat(&bus, MotorConfig::default());
        for (l, r) in [(1.5, 0.0), (0.0, -1.01), (f32::NAN, 0.0), (0.0, f32::INFINITY)] {
            assert!(matches!(h.set(l, r), Err(MotorError::InvalidSpeed(_))));
        }
        assert_eq!(bus.take(), vec![]);
    }

    #[test]
    fn bus_error_releases_and_says_what_to_check() {
        let bus = RecordingI2c::new();
        let mut h = hat(&bus, MotorConfig::default());
        bus.fail_after(3);
        let e = h.set(0.5, 0.5).unwrap_err().to_string();
        assert!(e.contains("bus 1, address 0x60") && e.contains("7 on an Orin") && e.contains("i2cdetect"), "{e}");
        // Three writes went through, then every write failed, including the release attempt.
        assert_eq!(bus.take().len(), 3);
        assert!(bus.attempts() > 4, "release was attempted after the failure");
    }

    #[test]
    fn stop_all_is_one_write_of_full_off_to_every_channel() {
        let mut bus = RecordingI2c::new();
        let cfg = MotorConfig { address: 0x61, i2c_bus: 7, ..MotorConfig::default() };
        stop_all(&mut bus, &cfg).unwrap();
        assert_eq!(bus.take(), vec![Op::Write(0x61, vec![0xFD, 0b0001_0000])]);
        bus.fail_after(0);
        let e = stop_all(&mut bus, &cfg).unwrap_err().to_string();
        assert!(e.contains("bus 7, address 0x61"), "{e}");
    }
}
