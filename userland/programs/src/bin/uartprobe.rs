//! A raw client of the UART server (`uartd`), for the `uart` scenario. It
//! holds two capabilities to the server's endpoint, one minted with UART 0's
//! badge and one with no badge. It checks the refusals first (the unbadged
//! capability may use no UART, UART 1 does not exist, a handle it does not
//! hold names nothing), then writes `uart::PROBE_LINE` to UART 0 and reads
//! it back from the host's echo (`cargo xtask test` runs an echo server on
//! the other end of the virtio console). Exits 0 if all held.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use tessera_programs::uart::{self, CHUNK, PROBE_LINE};
use tessera_rt::{
    for_each_initial_capability, println, sleep_micros, uptime_micros, Error, Handle, ObjectType, Rights,
};

tessera_rt::entry!(main);

/// How long the echo may take to come back.
const ECHO_WAIT_MICROS: u64 = 5_000_000;
/// The pause between reads that found nothing.
const POLL_MICROS: u32 = 2_000;

/// Checks that `result` is the refusal `expected`, and says so.
fn refused<T>(what: &str, result: Result<T, Error>, expected: Error) -> Result<(), &'static str> {
    match result {
        Err(error) if error == expected => {
            println!("uartprobe: {}: refused ({})", what, error.name());
            Ok(())
        }
        Err(error) => {
            println!("uartprobe: {}: refused, but with {} instead of {}", what, error.name(), expected.name());
            Err("refused for the wrong reason")
        }
        Ok(_) => {
            println!("uartprobe: {}: allowed", what);
            Err("a request outside the grant was served")
        }
    }
}

fn run() -> Result<(), &'static str> {
    let (mut granted, mut unbadged) = (None, None);
    for_each_initial_capability(|handle, info| {
        if info.kind == ObjectType::Endpoint && info.rights.contains(Rights::SEND) {
            if info.badge == 0 {
                unbadged = Some(handle);
            } else {
                granted = Some((handle, info.badge));
            }
        }
    });
    let (granted, badge) = granted.ok_or("no capability with a UART badge")?;
    let unbadged = unbadged.ok_or("no capability without a badge")?;
    println!("uartprobe: holds a UART capability with badge {:#x} and one with none", badge);

    let mut buffer = [0; CHUNK];
    refused("write through the capability with no badge", uart::write(unbadged, 0, b"x"), Error::PermissionDenied)?;
    refused(
        "read through the capability with no badge",
        uart::read(unbadged, 0, &mut buffer),
        Error::PermissionDenied,
    )?;
    refused("write to UART 1, which the board does not have", uart::write(granted, 1, b"x"), Error::InvalidArgument)?;
    let unheld = Handle::new(tessera_abi::capability::CSPACE_SLOTS - 1, 0);
    refused("write through a handle it does not hold", uart::write(unheld, 0, b"x"), Error::InvalidHandle)?;

    for chunk in PROBE_LINE.chunks(CHUNK) {
        if uart::write(granted, 0, chunk) != Ok(chunk.len()) {
            return Err("a write to UART 0 failed");
        }
    }
    let mut echo = [0; 64];
    let line = &mut echo[..PROBE_LINE.len()];
    let (mut received, deadline) = (0, uptime_micros() + ECHO_WAIT_MICROS);
    while received < line.len() {
        let count = uart::read(granted, 0, &mut line[received..]).map_err(|_| "a read from UART 0 failed")?;
        received += count;
        if count == 0 {
            if uptime_micros() > deadline {
                println!("uartprobe: {} of {} bytes came back within 5 s", received, line.len());
                return Err("no echo");
            }
            sleep_micros(POLL_MICROS);
        }
    }
    if line != PROBE_LINE {
        return Err("the echo differs from the line written");
    }
    let text = core::str::from_utf8(line).unwrap_or("").trim_end();
    println!("uartprobe: wrote {} bytes to UART 0 and read them back from the echo: \"{}\"", line.len(), text);
    Ok(())
}

fn main(_start: tessera_rt::Start) -> u32 {
    match run() {
        Ok(()) => 0,
        Err(reason) => {
            println!("uartprobe: FAILED: {}", reason);
            1
        }
    }
}
