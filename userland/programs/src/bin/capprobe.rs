//! A hostile process for the capability tests: it holds only what `init`
//! grants it and tries what it must not be able to do (see `capprobe` in
//! lib.rs for the modes). Exits 0 when every refusal was the right one.
#![no_std]
#![no_main]

use tessera_programs::capprobe::*;
use tessera_rt::{
    cap_derive, cap_info, cap_object, for_each_initial_capability, map, println, retype, sleep_micros, Error, Handle,
    ObjectType, Rights,
};

tessera_rt::entry!(main);

fn read(address: u32) -> u32 {
    // SAFETY: deliberately unchecked: the MMU decides.
    unsafe { core::ptr::read_volatile(address as *const u32) }
}

fn write(address: u32, value: u32) {
    // SAFETY: deliberately unchecked: the MMU decides.
    unsafe { core::ptr::write_volatile(address as *mut u32, value) }
}

/// The single capability of `kind` this process was granted.
fn only(kind: ObjectType) -> Option<Handle> {
    let mut found = None;
    let mut count = 0;
    for_each_initial_capability(|handle, info| {
        count += 1;
        if info.kind == kind {
            found = Some(handle);
        }
    });
    println!("capprobe: holds {} capability(ies)", count);
    if count == 1 {
        found
    } else {
        None
    }
}

fn expect(what: &str, got: Result<impl core::fmt::Debug, Error>, wanted: &[Error]) -> bool {
    match got {
        Err(error) if wanted.contains(&error) => {
            println!("capprobe: {}: refused ({})", what, error.name());
            true
        }
        other => {
            println!("capprobe: {}: WRONG, got {:?}", what, other);
            false
        }
    }
}

fn main(start: tessera_rt::Start) -> u32 {
    match start.argument {
        HOLDER => {
            let Some(frame) = only(ObjectType::Frame) else { return 1 };
            let mut good = true;
            // Handles it was never given name nothing.
            let mut random = 0x2545_f491u32;
            let mut refused = 0;
            for _ in 0..200 {
                random ^= random << 13;
                random ^= random >> 17;
                random ^= random << 5;
                if random != frame.0 && cap_info(Handle(random)).is_err() {
                    refused += 1;
                }
            }
            println!("capprobe: {} of 200 random handles refused", refused);
            good &= refused == 200;
            good &= expect(
                "map read-write with a read-only capability",
                map(frame, FRAME_ADDRESS, Rights::READ | Rights::WRITE),
                &[Error::MissingRight],
            );
            good &= expect("derive without DERIVE", cap_derive(frame, Rights::all(), 0), &[Error::MissingRight]);
            good &= expect("CapObject without INSPECT", cap_object(frame), &[Error::MissingRight]);
            good &= expect(
                "map a device it has no capability to",
                map(Handle::new(9, 0), 0x3000_0000, Rights::READ),
                &[Error::InvalidHandle],
            );
            if map(frame, FRAME_ADDRESS, Rights::READ).is_err() || read(FRAME_ADDRESS) != PATTERN {
                println!("capprobe: cannot read init's frame");
                return 1;
            }
            println!("capprobe: reads init's data through a read-only mapping");
            if !good {
                return 1;
            }
            // init revokes the frame meanwhile.
            sleep_micros(100_000);
            good &= expect("use of a revoked capability", cap_info(frame), &[Error::InvalidHandle, Error::StaleHandle]);
            if !good {
                return 1;
            }
            println!("capprobe: touching the revoked mapping");
            read(FRAME_ADDRESS);
            println!("capprobe: the revoked mapping is still there (must never print)");
            1
        }
        WRITE_READ_ONLY => {
            let Some(frame) = only(ObjectType::Frame) else { return 1 };
            if map(frame, FRAME_ADDRESS, Rights::READ).is_err() {
                return 1;
            }
            println!("capprobe: writing to a frame mapped read-only");
            write(FRAME_ADDRESS, 0);
            println!("capprobe: wrote a read-only mapping (must never print)");
            1
        }
        EXHAUST => {
            let Some(memory) = only(ObjectType::Untyped) else { return 1 };
            let mut frames = 0;
            let error = loop {
                match retype(memory, ObjectType::Frame, 4096) {
                    Ok(_) => frames += 1,
                    Err(error) => break error,
                }
            };
            println!("capprobe: retyped {} frames, then: {}", frames, error.name());
            if frames == EXHAUST_BYTES / 4096 && error == Error::OutOfMemory {
                0
            } else {
                1
            }
        }
        DEVICE_WITHOUT_CAPABILITY => {
            println!("capprobe: reading the RTC at {:#010x} with no capability", RTC_ADDRESS);
            read(RTC_ADDRESS);
            println!("capprobe: read a device without a capability (must never print)");
            1
        }
        INSPECT => {
            let (mut held, mut refused, mut derivable) = (0, 0, None);
            for_each_initial_capability(|handle, info| {
                held += 1;
                match cap_object(handle) {
                    Err(Error::MissingRight) => refused += 1,
                    other => println!("capprobe: CapObject on its {:?}: WRONG, got {:?}", info.kind, other),
                }
                if info.rights.contains(Rights::DERIVE) && derivable.is_none() {
                    derivable = Some(handle);
                }
            });
            println!("capprobe: CapObject on each of its {} capabilities: {} refused (missing right)", held, refused);
            // A copy asking for every right gets no more than it had.
            let copy = derivable.map(|handle| cap_derive(handle, Rights::all(), 0));
            let copy_refused = match copy {
                Some(Ok(copy)) => {
                    expect("CapObject on a copy derived with every right", cap_object(copy), &[Error::MissingRight])
                }
                _ => false,
            };
            if held >= 5 && refused == held && copy_refused {
                0
            } else {
                1
            }
        }
        other => {
            println!("capprobe: unknown argument {}", other);
            2
        }
    }
}
