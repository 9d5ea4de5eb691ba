//! The UART server on the M4 (docs/mt3620.md, "Apps"): apps' UART 0 is
//! `mps2-an386`'s CMSDK UART 1 (UART 0 is the kernel's console). The
//! protocol is the A7's (`tessera_abi::app::uart`), so the SDK's `Uart` and
//! the `uartecho` sample work unchanged: a request's badge is the set of
//! UARTs the caller was granted; `WRITE` sends up to 12 bytes and answers
//! how many the transmitter took, `READ` answers what has arrived (0 bytes
//! if nothing has).
//!
//! Needs: the UART's registers (a device region, read and write, which
//! `init` moves to it) and an endpoint to receive on. It takes no
//! capabilities from clients. It polls the UART's status when asked (the
//! receive buffer is one byte: QEMU holds the rest until it is read).
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use tessera_abi::app::uart::{pack, split_header, unpack, CHUNK, READ, WRITE};
use tessera_rt::server::{self, Answer, Capabilities};
use tessera_rt::{cap_object, find_initial_capability, println, Error, Mapping, Message, ObjectType, Received, Rights};

tessera_rt::entry!(main);

/// The UARTs it serves: UART 0 only.
const UARTS: u32 = 1;

/// CMSDK APB UART registers.
const DATA: u32 = 0x00;
const STATE: u32 = 0x04;
const CTRL: u32 = 0x08;
const BAUDDIV: u32 = 0x10;
/// `STATE`: the transmit buffer is full; a byte has arrived.
const TX_FULL: u32 = 1 << 0;
const RX_FULL: u32 = 1 << 1;
/// `CTRL`: transmitter and receiver on.
const TX_RX_ENABLE: u32 = 0b11;
/// 115,200 baud from the 25 MHz peripheral clock.
const DIVISOR: u32 = 25_000_000 / 115_200;

/// Performs one request; the reply's label is 0 or an error code.
fn serve(uart: &Mapping, request: &Received) -> Message {
    let [header, a, b, c] = request.message.words;
    let (number, count) = split_header(header);
    let mut bytes = [0; CHUNK];
    let result = if number >= UARTS || count > CHUNK {
        Err(Error::InvalidArgument)
    } else if request.badge & (1 << number) == 0 {
        Err(Error::PermissionDenied)
    } else {
        match request.message.label {
            WRITE => {
                let count = unpack([a, b, c], count, &mut bytes);
                // As many as the transmitter takes now (QEMU sends at once).
                let taken = bytes[..count]
                    .iter()
                    .take_while(|&&byte| {
                        let free = uart.read_u32(STATE) & TX_FULL == 0;
                        if free {
                            uart.write_u32(DATA, u32::from(byte));
                        }
                        free
                    })
                    .count();
                Ok((taken, [0; 3]))
            }
            READ => {
                let mut received = 0;
                while received < count && uart.read_u32(STATE) & RX_FULL != 0 {
                    bytes[received] = uart.read_u32(DATA) as u8;
                    received += 1;
                }
                Ok((received, pack(&bytes[..received])))
            }
            _ => Err(Error::InvalidArgument),
        }
    };
    match result {
        Ok((count, [a, b, c])) => Message::new(0, [count as u32, a, b, c]),
        Err(error) => Message::new(error as u32, [0; 4]),
    }
}

fn main(_start: tessera_rt::Start) -> u32 {
    let (Some(device), Some(endpoint)) = (
        find_initial_capability(ObjectType::DeviceRegion, Rights::READ | Rights::WRITE),
        find_initial_capability(ObjectType::Endpoint, Rights::RECEIVE),
    ) else {
        println!("needs the UART's registers and an endpoint to receive on");
        return 1;
    };
    // User addresses are physical: the registers map at their own address.
    let mapped = cap_object(device)
        .and_then(|(base, _)| Mapping::new(device, base, Rights::READ | Rights::WRITE).map(|uart| (base, uart)));
    let (base, uart) = match mapped {
        Ok(mapped) => mapped,
        Err(error) => {
            println!("cannot map the UART: {}", error.name());
            return 1;
        }
    };
    uart.write_u32(BAUDDIV, DIVISOR);
    uart.write_u32(CTRL, TX_RX_ENABLE);
    println!("serving UART 0: the CMSDK UART at {base:#010x}");
    match server::serve(endpoint, Capabilities::Refuse, |request| Answer::Reply(serve(&uart, request))) {
        Ok(_) => 0,
        Err(error) => {
            println!("receive failed: {}", error.name());
            1
        }
    }
}
