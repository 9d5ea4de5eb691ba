//! The `qemu:net-stress` test: the network server under apps that misuse
//! it, beside one that needs it (docs/network.md), over one boot of the
//! test image (`scenario=net-stress`) with the benchmark's host servers
//! ([`crate::bench_net`]: a sink, a source and an accepting server on
//! 127.0.0.1, 10.0.2.2 to the guest).
//!
//! `init` starts `test-solo-net-worker`, which times a 4 MiB transfer to the
//! sink alone; 6 s later it starts `test-solo-net-hog` and
//! `test-solo-net-hog-2` (each opens as many streams to the source as it is
//! given, reads none, and is then refused one more: `BudgetExceeded`; the
//! two must get at most 7 of the 8 TCP sockets, since the server keeps one
//! for each registered app that has none), `test-solo-net-dier` (sends 256 KiB to
//! the sink and panics; restarted and held after 3 crashes, its sockets
//! dropped each time) and `test-solo-net-garbage` (2,000 random requests, then
//! a connection to check the server still serves). The worker's second
//! transfer, started 0.2 s after them, must take at most 3 times its
//! first.

use std::path::Path;
use std::time::Duration;

use crate::bench_net::HostServers;
use crate::image::Image;
use crate::qemu::{self, Console};
use crate::Result;

/// How long the boot may take.
const TIMEOUT: Duration = Duration::from_secs(120);

/// Lines the console must show (each a substring of one line).
const EXPECTED: [&str; 12] = [
    "test-solo-net-worker: 4194304 bytes alone in ",
    "test-solo-net-hog: ",
    "test-solo-net-hog-2: ",
    "test-solo-net-hog: one more stream: budget exceeded",
    "test-solo-net-hog-2: one more stream: budget exceeded",
    "test-solo-net-dier: 262144 bytes sent; dying in the middle of the transfer",
    "init: app 'test-solo-net-dier' held: 3 crashes within 10 s",
    "test-solo-net-garbage: 2000 garbage requests: ",
    "test-solo-net-garbage: the network server still serves: connected to 10.0.2.2:7011 and closed",
    "test-solo-net-worker: 4194304 bytes beside the hog, the dier and the garbage in ",
    ": at full speed (within 3x of alone)",
    "init: scenario net-stress passed",
];

/// Output that must never appear.
const FORBIDDEN: [&str; 6] =
    ["ALLOWED", "SLOWED", "netd: panic", "kernel panic", "stopped answering", "init: a system program exited"];

/// Runs the test (module docs) on the test image's `kernel`.
pub fn scenario(kernel: &Path) -> Result<()> {
    let servers = HostServers::start()?;
    let command = qemu::command(Image::Test, kernel, Console::Captured, Some("scenario=net-stress"));
    let outcome = command.and_then(|command| {
        qemu::capture_until(command, Some(TIMEOUT), |output| {
            output.contains("init: scenario net-stress passed") || output.contains("init: scenario net-stress FAILED")
        })
    });
    let moved = servers.finish();
    let output = outcome?.output;
    let mut reasons = Vec::new();
    // Two whole transfers, and the dier's parts.
    if moved.sunk < 2 * crate::bench_net::BULK_BYTES {
        reasons.push(format!("the sink read {} bytes, less than the worker's two transfers", moved.sunk));
    }
    // Both hogs got streams, and together left the pool's last ones to the
    // apps that had none.
    let streams = |hog: &str| {
        let prefix = format!("{hog}: ");
        output.lines().find_map(|line| {
            let rest = line.strip_prefix(&prefix)?;
            let (count, tail) = rest.split_once(' ')?;
            tail.starts_with("streams open").then(|| count.parse::<usize>().ok()).flatten()
        })
    };
    match (streams("test-solo-net-hog"), streams("test-solo-net-hog-2")) {
        (Some(first), Some(second)) if first >= 1 && second >= 1 && first + second <= 7 => {}
        other => reasons.push(format!(
            "the hogs should each get a stream and together at most 7 of the 8 (one is kept for each app that \
             has none), and got {other:?}"
        )),
    }
    crate::net_test::judge(&output, "net-stress.log", &EXPECTED, &FORBIDDEN, reasons)
}
