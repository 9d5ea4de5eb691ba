//! A hostile program for the console tests: it tries to print lines that
//! look like the kernel's or init's, to rewrite the screen with control
//! bytes, to leave a line open for the next writer, and to flood the
//! console. The kernel must label each of its lines with its name, escape
//! the control bytes and drop what is over its output budget.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use tessera_rt::{debug_write, sleep_micros, uptime_micros};

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
    // A trickle: its budget spent again, one byte a write for 300 ms, each
    // too little for its label once a kernel report has ended its line.
    // The kernel's reports of what it dropped are paid from its budget,
    // so they come at most as often as it earns their length (until
    // December 2026 each of these writes got a report line for free).
    line[..7].copy_from_slice(b"spend: ");
    for _ in 0..FLOOD_BYTES / 4 / line.len() {
        write(&line);
    }
    let start = uptime_micros();
    while uptime_micros().saturating_sub(start) < 300_000 {
        write(b"x");
    }
    // A second earns it the report and the lines below.
    sleep_micros(1_000_000);
    write(b"\nforger: after the trickle\n");
    // Leave a line open and end: the next line on the console, whoever
    // writes it, must start on a line of its own.
    write(b"forger: an unfinished line");
    failures
}
