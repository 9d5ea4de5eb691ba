//! A UART, through the UART server.
//!
//! The manifest's `"Uart": ["$QEMU_VIRT_UART0"]` gives the app one
//! capability to the UART server whose badge is the UART mask; without a
//! `Uart` grant, [`App::uart`](crate::App::uart) is `Err(NotGranted)`. On
//! QEMU virt, UART 0 is a virtio console that `cargo xtask test` connects
//! to a host socket (docs/apps.md).
//!
//! ```ignore
//! let uart = app.uart(0)?;
//! uart.write(b"hello\n")?;
//! let mut buffer = [0u8; 32];
//! let n = uart.read_timeout(&mut buffer, Duration::from_millis(100))?;
//! ```

use tessera_abi::app::uart::{header, pack, unpack, CHUNK, READ, WRITE};
use tessera_abi::Handle;

use crate::error::{request, Error};
use crate::time::{self, Duration, Instant};

/// One UART the app was granted.
#[derive(Clone, Copy, Debug)]
pub struct Uart {
    endpoint: Handle,
    number: u32,
}

/// How long `write` waits for the server's buffer before `TimedOut`.
const WRITE_PATIENCE: Duration = Duration::from_secs(1);
/// How often a waiting read or write asks again.
const POLL: Duration = Duration::from_millis(1);

impl Uart {
    pub(crate) fn new(endpoint: Handle, number: u32) -> Result<Uart, Error> {
        // A request names a UART in one byte: a larger number would name
        // another UART (UART 256 would be UART 0's requests under its
        // name). No board has one.
        if number > u32::from(u8::MAX) {
            return Err(Error::InvalidArgument);
        }
        let uart = Uart { endpoint, number };
        // An empty read asks the server whether this UART is ours.
        request(endpoint, READ, [header(number, 0), 0, 0, 0])?;
        Ok(uart)
    }

    /// Sends all of `bytes` (waits while the server's buffer is full, up to
    /// a second without progress).
    pub fn write(&self, bytes: &[u8]) -> Result<(), Error> {
        let mut rest = bytes;
        let mut last_progress = Instant::now();
        while !rest.is_empty() {
            let chunk = &rest[..rest.len().min(CHUNK)];
            let [w1, w2, w3] = pack(chunk);
            let taken = request(self.endpoint, WRITE, [header(self.number, chunk.len()), w1, w2, w3])?[0] as usize;
            if taken == 0 {
                if last_progress.elapsed() > WRITE_PATIENCE {
                    return Err(Error::TimedOut);
                }
                time::sleep(POLL);
                continue;
            }
            rest = &rest[taken.min(chunk.len())..];
            last_progress = Instant::now();
        }
        Ok(())
    }

    /// Takes the bytes waiting (up to `buffer.len()`) without blocking;
    /// returns how many (0: none waiting).
    pub fn read(&self, buffer: &mut [u8]) -> Result<usize, Error> {
        let mut filled = 0;
        while filled < buffer.len() {
            let want = (buffer.len() - filled).min(CHUNK);
            let words = request(self.endpoint, READ, [header(self.number, want), 0, 0, 0])?;
            let got = unpack([words[1], words[2], words[3]], words[0] as usize, &mut buffer[filled..filled + want]);
            filled += got;
            if got < want {
                break;
            }
        }
        Ok(filled)
    }

    /// Waits up to `timeout` for at least one byte, then takes what is
    /// waiting; returns how many (0: nothing came in time).
    pub fn read_timeout(&self, buffer: &mut [u8], timeout: Duration) -> Result<usize, Error> {
        let deadline = Instant::now().after(timeout);
        loop {
            let got = self.read(buffer)?;
            if got > 0 || buffer.is_empty() || Instant::now() >= deadline {
                return Ok(got);
            }
            time::sleep(POLL);
        }
    }
}
