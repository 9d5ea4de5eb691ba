//! UART echo: sends back every byte that arrives on the UART its manifest
//! grants (`$QEMU_VIRT_UART0`: on QEMU virt, a virtio console on a host
//! socket; on the M4 (`mps2-an386`), the second CMSDK UART; `cargo xtask
//! qemu` prints the `nc` command to reach either), and logs each line it
//! echoed on the debug console.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use tessera_sdk::time::Duration;
use tessera_sdk::{log, App, Error};

tessera_sdk::app!(main);

/// The longest line logged whole.
const LINE: usize = 64;

fn main(app: App) -> Result<(), Error> {
    let uart = app.uart(0)?;
    log!("uartecho: echoing UART 0");
    let mut line = [0u8; LINE];
    let mut length = 0;
    let mut buffer = [0u8; 32];
    loop {
        let count = uart.read_timeout(&mut buffer, Duration::from_secs(1))?;
        uart.write(&buffer[..count])?;
        for &byte in &buffer[..count] {
            if length < LINE {
                line[length] = byte;
                length += 1;
            }
            if byte == b'\n' || length == LINE {
                let text = core::str::from_utf8(&line[..length]).unwrap_or("(not UTF-8)");
                log!("uartecho: echoed {:?}", text.trim_end());
                length = 0;
            }
        }
    }
}
