//! What an app and the system agree on: how an app finds the capabilities
//! its manifest granted, and the protocols of the servers behind them.
//!
//! `init` starts an app with one word in `r0`, the [`StartWord`]: the slot
//! of each server endpoint the app was given. The app SDK
//! (`userland/sdk`) reads it; an app never needs to know slot numbers.
//!
//! ```text
//! bits 0..8    GPIO server endpoint slot (0: no Gpio grant)
//! bits 8..16   UART server endpoint slot (0: no Uart grant)
//! bits 16..24  reserved, zero
//! bits 24..32  START_WORD_TAG (0xA7): this process was started as an app
//! ```
//!
//! A slot named here holds its capability at generation 0 (a new process's
//! slots have never been reused), so the handle is `Handle::new(slot, 0)`.

use crate::Handle;

/// The top byte of every start word `init` gives an app.
pub const START_WORD_TAG: u32 = 0xA7;

/// The capabilities an app was started with, as `init` tells it in `r0`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StartWord {
    /// The GPIO server endpoint (badge: the granted pin mask).
    pub gpio: Option<Handle>,
    /// The UART server endpoint (badge: the granted UART mask).
    pub uart: Option<Handle>,
}

fn slot(handle: Option<Handle>) -> Option<u32> {
    match handle {
        None => Some(0),
        Some(handle) if handle.generation() == 0 && handle.index() != 0 => Some(handle.index() as u32),
        Some(_) => None,
    }
}

fn handle(slot: u32) -> Option<Handle> {
    (slot != 0).then(|| Handle::new(slot as usize, 0))
}

impl StartWord {
    /// The word for `r0`, or `None` if a handle is not a generation-0 slot
    /// (which an app could not name from the word).
    pub fn encode(&self) -> Option<u32> {
        Some(START_WORD_TAG << 24 | slot(self.uart)? << 8 | slot(self.gpio)?)
    }

    /// Reads `r0`; `None` if it is not a start word (the process was not
    /// started as an app, or the reserved bits are set).
    pub fn decode(word: u32) -> Option<StartWord> {
        if word >> 24 != START_WORD_TAG || (word >> 16) & 0xFF != 0 {
            return None;
        }
        Some(StartWord { gpio: handle(word & 0xFF), uart: handle((word >> 8) & 0xFF) })
    }
}

/// The GPIO server's protocol (`gpiod`; on QEMU virt it drives the PL061).
///
/// Requests are IPC calls on the server's endpoint: the label says what,
/// word 0 is the pin, word 1 the value. The reply's label is 0 or an
/// [`Error`](crate::Error) code, its word 0 the pin's level for [`READ`].
/// The **badge** of the caller's capability is the mask of pins it may use
/// (bit `n`: pin `n`), set by `init` from the app's manifest; a pin outside
/// it gets `PermissionDenied`, a pin the board lacks `InvalidArgument`.
pub mod gpio {
    /// Make pin word 0 an output driving word 1 (0 low, else high).
    pub const CONFIGURE_OUTPUT: u32 = 1;
    /// Drive output pin word 0 to word 1 (0 low, else high).
    pub const WRITE: u32 = 2;
    /// Read pin word 0's level (an output reads what it drives).
    pub const READ: u32 = 3;
}

/// The UART server's protocol (`uartd`; on QEMU virt its UART 0 is a
/// virtio console, see docs/apps.md).
///
/// Requests are IPC calls on the server's endpoint; bytes travel in the
/// message words, up to [`CHUNK`] per call, packed little-endian into words
/// 1..4. The **badge** of the caller's capability is the mask of UARTs it
/// may use (bit `n`: UART `n`), set by `init` from the app's manifest; a
/// UART outside it gets `PermissionDenied`. The reply's label is 0 or an
/// [`Error`](crate::Error) code.
pub mod uart {
    /// Send bytes: word 0 = UART number | byte count << 8 (at most
    /// [`CHUNK`]), words 1..4 = the bytes. The reply's word 0 is how many
    /// the server took (it may take fewer when its buffer is full).
    pub const WRITE: u32 = 1;
    /// Take received bytes without waiting: word 0 = UART number | most
    /// bytes wanted << 8. The reply's word 0 is the count (0: nothing
    /// waiting), words 1..4 the bytes.
    pub const READ: u32 = 2;
    /// Most bytes in one request or reply.
    pub const CHUNK: usize = 12;

    /// Word 0 of a request: UART `uart`, `count` bytes.
    pub const fn header(uart: u32, count: usize) -> u32 {
        (uart & 0xFF) | (count as u32) << 8
    }

    /// Splits word 0 of a request into (UART, count).
    pub const fn split_header(word: u32) -> (u32, usize) {
        (word & 0xFF, (word >> 8) as usize)
    }

    /// Packs up to [`CHUNK`] bytes into three words.
    pub fn pack(bytes: &[u8]) -> [u32; 3] {
        let mut words = [0u32; 3];
        for (index, &byte) in bytes.iter().take(CHUNK).enumerate() {
            words[index / 4] |= u32::from(byte) << (8 * (index % 4));
        }
        words
    }

    /// Unpacks `count` (at most [`CHUNK`]) bytes from three words into
    /// `out`; returns how many were written.
    pub fn unpack(words: [u32; 3], count: usize, out: &mut [u8]) -> usize {
        let count = count.min(CHUNK).min(out.len());
        for (index, byte) in out.iter_mut().take(count).enumerate() {
            *byte = (words[index / 4] >> (8 * (index % 4))) as u8;
        }
        count
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_words_round_trip() {
        let cases = [
            StartWord::default(),
            StartWord { gpio: Some(Handle::new(1, 0)), uart: None },
            StartWord { gpio: None, uart: Some(Handle::new(127, 0)) },
            StartWord { gpio: Some(Handle::new(3, 0)), uart: Some(Handle::new(4, 0)) },
        ];
        for case in cases {
            let word = case.encode().unwrap();
            assert_eq!(word >> 24, START_WORD_TAG);
            assert_eq!(StartWord::decode(word), Some(case));
        }
    }

    #[test]
    fn only_generation_zero_slots_encode() {
        assert_eq!(StartWord { gpio: Some(Handle::new(2, 1)), uart: None }.encode(), None);
        assert_eq!(StartWord { gpio: None, uart: Some(Handle::NULL) }.encode(), None);
    }

    #[test]
    fn uart_bytes_pack_and_unpack() {
        let bytes = *b"hello, world";
        let words = uart::pack(&bytes);
        let mut out = [0u8; 16];
        assert_eq!(uart::unpack(words, 12, &mut out), 12);
        assert_eq!(&out[..12], &bytes);
        assert_eq!(uart::unpack(words, 40, &mut out[..5]), 5);
        assert_eq!(uart::pack(b"ab"), [0x6261, 0, 0]);
        assert_eq!(uart::split_header(uart::header(1, 7)), (1, 7));
    }

    #[test]
    fn other_words_are_not_start_words() {
        assert_eq!(StartWord::decode(0), None);
        assert_eq!(StartWord::decode(0x4100_0000), None);
        assert_eq!(StartWord::decode(START_WORD_TAG << 24 | 1 << 16), None);
        for word in (0..u32::MAX).step_by(65_521) {
            if let Some(start) = StartWord::decode(word) {
                assert_eq!(start.encode(), Some(word));
            }
        }
    }
}
