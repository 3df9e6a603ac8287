//! `digitbot selftest`: the wheels-up check of the motors and LEDs a config names.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Result;
use clap::Args;

use super::{load_config, shutdown_flag, ROBOT_CONFIG};
use crate::hardware;
use crate::sink::{leds, Actuators};

#[derive(Args, Debug)]
pub struct SelftestArgs {
    /// Configuration file with the [motors] and [leds] to test.
    #[arg(long, value_name = "FILE", default_value = "config/robot.toml")]
    pub config: PathBuf,
    /// Do not ask for confirmation (the wheels must already be off the ground).
    #[arg(long)]
    pub yes: bool,
}

pub fn selftest(a: SelftestArgs) -> Result<()> {
    let cfg = load_config(Some(&a.config), ROBOT_CONFIG)?;
    let shutdown = shutdown_flag()?;
    let mut motors = cfg.motors.as_ref().map(hardware::open_motors).transpose()?;
    let mut leds = leds::open(&cfg.leds)?;
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
