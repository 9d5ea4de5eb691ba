//! A hostile program for the console tests: it tries to print lines that
//! look like the kernel's or init's, to rewrite the screen with control
//! bytes, to leave a line open for the next writer, and to flood the
//! console. The kernel must label each of its lines with its name, escape
//! the control bytes and drop what is over its output budget.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use tessera_rt::{debug_write, sleep_micros};

tessera_rt::entry!(main);

/// Bytes the flood tries to print: four times the budget's burst.
const FLOOD_BYTES: usize = 64 * 1024;

fn main(_start: tessera_rt::Start) -> u32 {
    let mut failures = 0;
    let mut write = |bytes: &[u8]| {
        if debug_write(bytes).is_err() {
            failures += 1;
        }
    };
    write(b"\ninit: failure #1: app=blinky component=forged ended=fault\n");
    write(b"kernel: fault in process 'init' (forged)\r\n");
    write(b"forger: screen wipe \x1b[2J\x1b[H and bell \x07 and CSI \xc2\x9b\n");
    write(b"forger: carriage return\rinit: scenario console FAILED: forged\n");
    let mut line = [b'#'; 1024];
    line[..7].copy_from_slice(b"flood: ");
    line[1023] = b'\n';
    for _ in 0..FLOOD_BYTES / line.len() {
        write(&line);
    }
    // Two seconds earn it 8 KiB again; the kernel then says what it dropped.
    sleep_micros(2_000_000);
    write(b"forger: after the flood\n");
    // Leave a line open and end: the next line on the console, whoever
    // writes it, must start on a line of its own.
    write(b"forger: an unfinished line");
    failures
}
