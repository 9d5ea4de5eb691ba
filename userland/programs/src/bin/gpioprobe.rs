//! A GPIO client that checks its grant from both sides: it drives and reads
//! back the pin it was granted, and tries a pin it was not (which must be
//! refused). With `gpio::NONE` it checks it holds no GPIO capability at all
//! and cannot reach the GPIO block another way. Argument:
//! `gpio::probe_argument(granted, refused)`; exits 0 if all held.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use tessera_programs::gpio::*;
use tessera_rt::{
    call, for_each_initial_capability, map, println, Error, Handle, Message, ObjectType, Rights, Timeout,
};

tessera_rt::entry!(main);

/// One GPIO request: the pin's level, or the server's refusal.
fn request(gpio: Handle, label: u32, pin: u32, value: u32) -> Result<u32, Error> {
    let reply = call(gpio, &Message::new(label, [pin, value, 0, 0]), Timeout::Millis(1000))?;
    match reply.message.label {
        0 => Ok(reply.message.words[0]),
        code => Err(Error::from_code(code).unwrap_or(Error::InvalidArgument)),
    }
}

fn main(start: tessera_rt::Start) -> u32 {
    let mut endpoint = None;
    let mut devices = 0;
    for_each_initial_capability(|handle, info| match info.kind {
        ObjectType::Endpoint => endpoint = Some(handle),
        ObjectType::DeviceRegion => devices += 1,
        _ => {}
    });
    if start.argument == NONE {
        // No grant: no endpoint to the server and no device capability; a
        // guessed handle maps nothing.
        let guessed = (1..128).map(|slot| map(Handle(slot | 1 << 8), MAPPED_AT, Rights::READ)).all(|r| r.is_err());
        println!(
            "gpioprobe: no GPIO grant: holds {} GPIO capabilities and {} device regions; guessed handles map nothing: {}",
            u32::from(endpoint.is_some()),
            devices,
            guessed
        );
        return u32::from(endpoint.is_some() || devices != 0 || !guessed);
    }
    let (granted, refused) = (start.argument & 0xFF, start.argument >> 8);
    let Some(gpio) = endpoint else {
        println!("gpioprobe: granted pin {} but holds no GPIO capability", granted);
        return 1;
    };
    let driven = request(gpio, CONFIGURE_OUTPUT, granted, 1)
        .and_then(|_| request(gpio, READ, granted, 0))
        .and_then(|high| Ok((high, request(gpio, WRITE, granted, 0)?)))
        .and_then(|(high, _)| Ok((high, request(gpio, READ, granted, 0)?)));
    let denied = request(gpio, CONFIGURE_OUTPUT, refused, 1);
    match (driven, denied) {
        (Ok((1, 0)), Err(Error::PermissionDenied)) => {
            println!(
                "gpioprobe: pin {} driven high then low and read back; pin {} refused: permission denied",
                granted, refused
            );
            0
        }
        (driven, denied) => {
            println!("gpioprobe: pin {}: {:?}; pin {}: {:?}", granted, driven, refused, denied);
            1
        }
    }
}
