//! The UART server on the M4 (docs/mt3620.md, "Apps"): apps' UART 0 is
//! the device the board description marks as the apps' UART
//! (`tessera_m_programs::board::APP_UART`): `mps2-an386`'s CMSDK UART 1
//! (UART 0 is the kernel's console), the MT3620's ISU0 (a 16550), each
//! driven through `tessera_abi::uart`. The
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
use tessera_abi::uart::{self as driver, Kind};
use tessera_m_programs::board::{APP_UART, CLOCK_HZ};
use tessera_rt::server::{self, Answer, Capabilities};
use tessera_rt::{cap_object, find_initial_capability, println, Error, Mapping, Message, ObjectType, Received, Rights};

tessera_rt::entry!(main);

/// The UARTs it serves: UART 0 only.
const UARTS: u32 = 1;

/// The UART's registers, through the device mapping, from where they
/// start in it.
struct Registers<'a> {
    mapping: &'a Mapping,
    at: u32,
}

impl driver::Registers for Registers<'_> {
    fn read(&self, offset: u32) -> u32 {
        self.mapping.read_u32(self.at + offset)
    }

    fn write(&self, offset: u32, value: u32) {
        self.mapping.write_u32(self.at + offset, value)
    }
}

/// Performs one request; the reply's label is 0 or an error code.
fn serve(uart: &Registers<'_>, kind: Kind, request: &Received) -> Message {
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
                Ok((driver::send_available(uart, kind, &bytes[..count]), [0; 3]))
            }
            READ => {
                let received = driver::receive_available(uart, kind, &mut bytes[..count]);
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
    let (Some((_, kind, at)), Some(device), Some(endpoint)) = (
        APP_UART,
        find_initial_capability(ObjectType::DeviceRegion, Rights::READ | Rights::WRITE),
        find_initial_capability(ObjectType::Endpoint, Rights::RECEIVE),
    ) else {
        println!("needs the board's UART for apps, its registers and an endpoint to receive on");
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
    let uart = Registers { mapping: &uart, at };
    driver::init(&uart, kind, CLOCK_HZ);
    let what = match kind {
        Kind::Cmsdk => "the CMSDK UART",
        Kind::Ns16550 => "the 16550 UART",
    };
    println!("serving UART 0: {what} at {:#010x}", base + at);
    match server::serve(endpoint, Capabilities::Refuse, |request| Answer::Reply(serve(&uart, kind, request))) {
        Ok(_) => 0,
        Err(error) => {
            println!("receive failed: {}", error.name());
            1
        }
    }
}
