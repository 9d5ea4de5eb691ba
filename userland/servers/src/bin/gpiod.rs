//! The GPIO server for QEMU virt's PL061 (8 pins): the only process that
//! maps the GPIO block. Apps reach it through endpoint capabilities whose
//! badge is the mask of pins they were granted, so several apps share the
//! block and none can touch another's pins. Protocol: `gpio` in lib.rs.
//!
//! Needs: the PL061's device region (read, write) and an endpoint to
//! receive on. Runs until its process is ended. It takes no capabilities:
//! any that come with a request are deleted at once.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use tessera_rt::server::{self, Answer, Capabilities};
use tessera_rt::{find_initial_capability, println, Error, Mapping, Message, ObjectType, Received, Rights};
use tessera_servers::gpio::*;

tessera_rt::entry!(main);

/// Performs one request; the reply's label is 0 or an error code.
fn serve(pl061: &Mapping, request: &Received) -> Message {
    let (label, pin, value) = (request.message.label, request.message.words[0], request.message.words[1]);
    let result = if pin >= PINS {
        Err(Error::InvalidArgument)
    } else if request.badge & (1 << pin) == 0 {
        Err(Error::PermissionDenied)
    } else {
        let level = if value != 0 { 0xFF } else { 0 };
        match label {
            CONFIGURE_OUTPUT => {
                // The PL061 ignores data writes to input pins: direction first.
                let direction = pl061.read_u32(DIRECTION);
                pl061.write_u32(DIRECTION, direction | 1 << pin);
                pl061.write_u32(data_offset(pin), level);
                Ok(0)
            }
            WRITE if pl061.read_u32(DIRECTION) & (1 << pin) == 0 => Err(Error::InvalidArgument),
            WRITE => {
                pl061.write_u32(data_offset(pin), level);
                Ok(0)
            }
            READ => Ok(u32::from(pl061.read_u32(data_offset(pin)) != 0)),
            _ => Err(Error::InvalidArgument),
        }
    };
    match result {
        Ok(level) => Message::new(0, [level, 0, 0, 0]),
        Err(error) => Message::new(error as u32, [0; 4]),
    }
}

fn main(_start: tessera_rt::Start) -> u32 {
    let registers = find_initial_capability(ObjectType::DeviceRegion, Rights::READ | Rights::WRITE);
    let endpoint = find_initial_capability(ObjectType::Endpoint, Rights::RECEIVE);
    let (Some(registers), Some(endpoint)) = (registers, endpoint) else {
        println!("gpiod: needs the PL061's registers and an endpoint");
        return 1;
    };
    let pl061 = match Mapping::new(registers, MAPPED_AT, Rights::READ | Rights::WRITE) {
        Ok(mapping) => mapping,
        Err(error) => {
            println!("gpiod: cannot map the PL061: {}", error.name());
            return 1;
        }
    };
    println!("gpiod: serving {} pins", PINS);
    // It takes no capabilities from clients, and serves until it is ended.
    let served = server::serve(endpoint, Capabilities::Refuse, |request| Answer::Reply(serve(&pl061, request)));
    if let Err(error) = served {
        println!("gpiod: receive failed: {}", error.name());
    }
    1
}
