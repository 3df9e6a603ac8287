//! `digitbot stop-motors`: every motor output off, from outside the firmware.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;

use super::{load_config, ROBOT_CONFIG};
use crate::hardware;

#[derive(Args, Debug)]
pub struct StopMotorsArgs {
    /// Configuration file naming the motor HAT's bus and address.
    #[arg(long, value_name = "FILE", default_value = ROBOT_CONFIG)]
    pub config: PathBuf,
}

pub fn stop_motors(a: StopMotorsArgs) -> Result<()> {
    let cfg = load_config(Some(&a.config), ROBOT_CONFIG)?;
    match &cfg.motors {
        Some(m) => {
            hardware::stop_motors(m)?;
            println!("motor HAT at I2C bus {}, address 0x{:02x}: every output off", m.i2c_bus, m.address);
        }
        None => println!("motors.driver = \"none\": no motor driver to stop"),
    }
    Ok(())
}
