//! `digitbot probe`: what is attached — cameras with their formats, I2C devices.

use anyhow::Result;

use crate::hardware;

pub fn probe() -> Result<()> {
    println!("cameras:");
    #[cfg(feature = "camera")]
    let cameras = crate::source::camera::probe();
    #[cfg(not(feature = "camera"))]
    let cameras = vec!["(built without the camera feature: rebuild with --features camera to list them)".to_string()];
    for line in if cameras.is_empty() { vec!["no /dev/video* devices".to_string()] } else { cameras } {
        println!("  {line}");
    }
    println!("I2C buses:");
    let buses = hardware::probe_i2c();
    for line in if buses.is_empty() { vec!["no /dev/i2c-* buses".to_string()] } else { buses } {
        println!("  {line}");
    }
    Ok(())
}
