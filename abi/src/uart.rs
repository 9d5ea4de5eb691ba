//! Polled UART drivers at the register level, shared by the M4 kernel's
//! console (`kernel/armv7m`) and the M4's UART server (`uartd`): the CMSDK
//! APB UART of QEMU's `mps2-an386`, and a 16550 with 32-bit registers, as
//! the MT3620's debug UART and ISU UARTs are (docs/mt3620.md). Each driver
//! reaches its registers through [`Registers`], which the kernel gives
//! physical addresses and the server a device mapping, and which the host
//! tests give a model of the device.

/// 32-bit register access at byte offsets from a UART's base.
pub trait Registers {
    fn read(&self, offset: u32) -> u32;
    fn write(&self, offset: u32, value: u32);
}

/// Which register interface a UART has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Arm's CMSDK APB UART (data, state, control, baud divisor).
    Cmsdk,
    /// A 16550 with its registers 32 bits apart (MediaTek's, on the
    /// MT3620, has a few more, which [`init`] sets to their 16550 meaning).
    Ns16550,
}

/// The baud rate every Tessera UART runs at.
pub const BAUD: u32 = 115_200;

/// The CMSDK APB UART's registers and bits.
pub mod cmsdk {
    pub const DATA: u32 = 0x00;
    pub const STATE: u32 = 0x04;
    pub const CTRL: u32 = 0x08;
    pub const BAUDDIV: u32 = 0x10;
    /// `STATE`: the transmit buffer is full; a byte has arrived.
    pub const TX_FULL: u32 = 1 << 0;
    pub const RX_FULL: u32 = 1 << 1;
    /// `CTRL`: transmitter and receiver on.
    pub const TX_RX_ENABLE: u32 = 0b11;
}

/// The 16550's registers (32 bits apart) and bits.
pub mod ns16550 {
    /// Receive buffer (read), transmit holding (write), divisor latch low
    /// (with `LCR_DLAB`).
    pub const RBR_THR_DLL: u32 = 0x00;
    /// Interrupt enable; divisor latch high (with `LCR_DLAB`).
    pub const IER_DLM: u32 = 0x04;
    /// FIFO control (write).
    pub const FCR: u32 = 0x08;
    pub const LCR: u32 = 0x0c;
    pub const LSR: u32 = 0x14;
    /// MediaTek's `HIGHSPEED` (Linux's `8250_mtk`: register 9): 0 keeps
    /// the 16550's divide-by-16. A plain 16550 has nothing there.
    pub const HIGHSPEED: u32 = 0x24;
    /// Line control: divisor latch access; eight data bits, no parity,
    /// one stop bit.
    pub const LCR_DLAB: u32 = 0x80;
    pub const LCR_8N1: u32 = 0x03;
    /// FIFO control: FIFOs on, both cleared.
    pub const FCR_ENABLE_CLEAR: u32 = 0x07;
    /// Line status: a byte has arrived; the transmit holding register is
    /// empty (with the FIFOs on: the transmit FIFO is).
    pub const LSR_DR: u32 = 0x01;
    pub const LSR_THRE: u32 = 0x20;
    /// The transmit FIFO's depth: what may be written once `LSR_THRE`
    /// says it is empty (a 16550's; a deeper FIFO only takes longer to
    /// fill).
    pub const FIFO_DEPTH: usize = 16;
}

/// The divisor for [`BAUD`] from a clock of `clock_hz`: the CMSDK UART
/// divides by it, the 16550 by 16 times it (at least 1 either way).
pub const fn divisor(kind: Kind, clock_hz: u32) -> u32 {
    let divisor = match kind {
        Kind::Cmsdk => clock_hz / BAUD,
        Kind::Ns16550 => clock_hz / (16 * BAUD),
    };
    if divisor == 0 {
        1
    } else {
        divisor
    }
}

/// Sets the UART up for [`BAUD`], eight data bits, no parity, one stop
/// bit, receiver and transmitter on, interrupts off.
pub fn init(uart: &impl Registers, kind: Kind, clock_hz: u32) {
    let divisor = divisor(kind, clock_hz);
    match kind {
        Kind::Cmsdk => {
            uart.write(cmsdk::BAUDDIV, divisor);
            uart.write(cmsdk::CTRL, cmsdk::TX_RX_ENABLE);
        }
        Kind::Ns16550 => {
            uart.write(ns16550::HIGHSPEED, 0);
            uart.write(ns16550::LCR, ns16550::LCR_DLAB);
            uart.write(ns16550::RBR_THR_DLL, divisor & 0xff);
            uart.write(ns16550::IER_DLM, (divisor >> 8) & 0xff);
            uart.write(ns16550::LCR, ns16550::LCR_8N1);
            uart.write(ns16550::IER_DLM, 0);
            uart.write(ns16550::FCR, ns16550::FCR_ENABLE_CLEAR);
        }
    }
}

/// Whether the transmitter takes a byte now.
pub fn can_send(uart: &impl Registers, kind: Kind) -> bool {
    match kind {
        Kind::Cmsdk => uart.read(cmsdk::STATE) & cmsdk::TX_FULL == 0,
        Kind::Ns16550 => uart.read(ns16550::LSR) & ns16550::LSR_THRE != 0,
    }
}

/// Hands `byte` to the transmitter (after [`can_send`] said it takes it).
pub fn send(uart: &impl Registers, kind: Kind, byte: u8) {
    let data = match kind {
        Kind::Cmsdk => cmsdk::DATA,
        Kind::Ns16550 => ns16550::RBR_THR_DLL,
    };
    uart.write(data, u32::from(byte));
}

/// The next byte that has arrived, if one has.
pub fn receive(uart: &impl Registers, kind: Kind) -> Option<u8> {
    let arrived = match kind {
        Kind::Cmsdk => uart.read(cmsdk::STATE) & cmsdk::RX_FULL != 0,
        Kind::Ns16550 => uart.read(ns16550::LSR) & ns16550::LSR_DR != 0,
    };
    let data = match kind {
        Kind::Cmsdk => cmsdk::DATA,
        Kind::Ns16550 => ns16550::RBR_THR_DLL,
    };
    arrived.then(|| uart.read(data) as u8)
}

/// Sends as many of `bytes` as the transmitter takes now; returns how
/// many. The CMSDK UART says for each byte whether it has room; a 16550
/// says only when its FIFO is empty, and then takes a FIFO's worth.
pub fn send_available(uart: &impl Registers, kind: Kind, bytes: &[u8]) -> usize {
    match kind {
        Kind::Cmsdk => bytes
            .iter()
            .take_while(|&&byte| {
                let free = can_send(uart, kind);
                if free {
                    send(uart, kind, byte);
                }
                free
            })
            .count(),
        Kind::Ns16550 => {
            if !can_send(uart, kind) {
                return 0;
            }
            let count = bytes.len().min(ns16550::FIFO_DEPTH);
            bytes[..count].iter().for_each(|&byte| send(uart, kind, byte));
            count
        }
    }
}

/// Reads what has arrived into `bytes`, up to its length; returns how
/// many.
pub fn receive_available(uart: &impl Registers, kind: Kind, bytes: &mut [u8]) -> usize {
    let mut count = 0;
    while count < bytes.len() {
        match receive(uart, kind) {
            Some(byte) => {
                bytes[count] = byte;
                count += 1;
            }
            None => break,
        }
    }
    count
}

#[cfg(test)]
mod tests {
    extern crate std;

    use super::*;
    use core::cell::RefCell;
    use std::collections::VecDeque;
    use std::vec::Vec;

    /// A model of one UART of `kind`: what was written where, the divisor
    /// latch, the line control, a transmitter that takes `room` bytes, and
    /// bytes waiting to be received.
    struct Model {
        kind: Kind,
        state: RefCell<State>,
    }

    #[derive(Default)]
    struct State {
        lcr: u32,
        divisor: u32,
        highspeed: Option<u32>,
        enabled: u32,
        room: usize,
        sent: Vec<u8>,
        arriving: VecDeque<u8>,
        misplaced: Vec<(u32, u32)>,
    }

    impl Model {
        fn new(kind: Kind, room: usize, arriving: &[u8]) -> Model {
            let state = State { room, arriving: arriving.iter().copied().collect(), ..State::default() };
            Model { kind, state: RefCell::new(state) }
        }
    }

    impl Registers for Model {
        fn read(&self, offset: u32) -> u32 {
            let state = self.state.borrow();
            match (self.kind, offset) {
                (Kind::Cmsdk, cmsdk::STATE) => {
                    let full = if state.room == 0 { cmsdk::TX_FULL } else { 0 };
                    full | if state.arriving.is_empty() { 0 } else { cmsdk::RX_FULL }
                }
                (Kind::Ns16550, ns16550::LSR) => {
                    // `room` is the transmit FIFO's free places: empty when
                    // all are.
                    let empty = if state.room == ns16550::FIFO_DEPTH { ns16550::LSR_THRE } else { 0 };
                    empty | if state.arriving.is_empty() { 0 } else { ns16550::LSR_DR }
                }
                (Kind::Cmsdk, cmsdk::DATA) => {
                    drop(state);
                    u32::from(self.state.borrow_mut().arriving.pop_front().expect("read with nothing arrived"))
                }
                (Kind::Ns16550, ns16550::RBR_THR_DLL) => {
                    assert_eq!(state.lcr & ns16550::LCR_DLAB, 0, "a read of the receive buffer with the latch open");
                    drop(state);
                    u32::from(self.state.borrow_mut().arriving.pop_front().expect("read with nothing arrived"))
                }
                _ => panic!("read of register {offset:#x}"),
            }
        }

        fn write(&self, offset: u32, value: u32) {
            let mut state = self.state.borrow_mut();
            let latch = state.lcr & ns16550::LCR_DLAB != 0;
            match (self.kind, offset) {
                (Kind::Cmsdk, cmsdk::BAUDDIV) => state.divisor = value,
                (Kind::Cmsdk, cmsdk::CTRL) => state.enabled = value,
                (Kind::Ns16550, ns16550::LCR) => state.lcr = value,
                (Kind::Ns16550, ns16550::HIGHSPEED) => state.highspeed = Some(value),
                (Kind::Ns16550, ns16550::RBR_THR_DLL) if latch => {
                    state.divisor = (state.divisor & !0xff) | (value & 0xff)
                }
                (Kind::Ns16550, ns16550::IER_DLM) if latch => {
                    state.divisor = (state.divisor & 0xff) | ((value & 0xff) << 8)
                }
                (Kind::Cmsdk, cmsdk::DATA) | (Kind::Ns16550, ns16550::RBR_THR_DLL) => {
                    assert!(state.room > 0, "a byte written to a full transmitter");
                    state.room -= 1;
                    state.sent.push(value as u8);
                }
                _ => state.misplaced.push((offset, value)),
            }
        }
    }

    #[test]
    fn a_16550_gets_its_divisor_through_the_latch_and_ends_closed_at_8n1() {
        // 26 MHz (the MT3620's M4): 14, which is 116,071 baud, 0.75 % off.
        let uart = Model::new(Kind::Ns16550, 0, &[]);
        init(&uart, Kind::Ns16550, 26_000_000);
        let state = uart.state.borrow();
        assert_eq!(state.divisor, 14);
        assert_eq!(state.lcr, ns16550::LCR_8N1);
        assert_eq!(state.highspeed, Some(0));
        // Interrupts off and the FIFOs on, with the latch closed.
        assert_eq!(state.misplaced, [(ns16550::IER_DLM, 0), (ns16550::FCR, ns16550::FCR_ENABLE_CLEAR)]);
        // A divisor above 255 uses the high latch too.
        let slow = Model::new(Kind::Ns16550, 0, &[]);
        init(&slow, Kind::Ns16550, 16 * BAUD * 300);
        assert_eq!(slow.state.borrow().divisor, 300);
    }

    #[test]
    fn a_cmsdk_uart_divides_its_clock_and_turns_both_directions_on() {
        let uart = Model::new(Kind::Cmsdk, 0, &[]);
        init(&uart, Kind::Cmsdk, 25_000_000);
        let state = uart.state.borrow();
        assert_eq!((state.divisor, state.enabled), (217, cmsdk::TX_RX_ENABLE));
        assert!(state.misplaced.is_empty());
    }

    #[test]
    fn a_clock_too_slow_for_the_rate_still_divides_by_one() {
        assert_eq!(divisor(Kind::Ns16550, 1_000_000), 1);
        assert_eq!(divisor(Kind::Cmsdk, 100_000), 1);
    }

    #[test]
    fn a_cmsdk_uart_sends_while_it_has_room() {
        let uart = Model::new(Kind::Cmsdk, 3, b"");
        assert_eq!(send_available(&uart, Kind::Cmsdk, b"hello"), 3);
        assert_eq!(uart.state.borrow().sent, b"hel");
        assert_eq!(send_available(&uart, Kind::Cmsdk, b"lo"), 0);
    }

    #[test]
    fn a_16550_takes_a_fifo_of_bytes_once_it_is_empty() {
        let uart = Model::new(Kind::Ns16550, ns16550::FIFO_DEPTH, b"");
        assert_eq!(send_available(&uart, Kind::Ns16550, b"hello"), 5);
        // Not empty now: nothing more until it is.
        assert_eq!(send_available(&uart, Kind::Ns16550, b", uart"), 0);
        uart.state.borrow_mut().room = ns16550::FIFO_DEPTH;
        let long = [b'x'; 40];
        assert_eq!(send_available(&uart, Kind::Ns16550, &long), ns16550::FIFO_DEPTH);
        assert_eq!(uart.state.borrow().sent.len(), 5 + ns16550::FIFO_DEPTH);
    }

    #[test]
    fn receiving_takes_what_arrived_up_to_the_buffer() {
        for kind in [Kind::Cmsdk, Kind::Ns16550] {
            let uart = Model::new(kind, 0, b"hi");
            init(&uart, kind, 25_000_000);
            let mut bytes = [0; 12];
            assert_eq!(receive_available(&uart, kind, &mut bytes), 2);
            assert_eq!(&bytes[..2], b"hi");
            assert_eq!(receive_available(&uart, kind, &mut bytes), 0);
            assert_eq!(receive(&uart, kind), None);
            // Up to the buffer's length only.
            let uart = Model::new(kind, 0, b"abcdef");
            assert_eq!(receive_available(&uart, kind, &mut bytes[..4]), 4);
            assert_eq!(uart.state.borrow().arriving.len(), 2);
        }
    }
}
