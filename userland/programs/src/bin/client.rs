//! An IPC client of `echo`: checks the server sees its badge, computes with
//! it, passes it a capability (with and without the right to pass it on),
//! and checks a call after the server ended fails instead of hanging.
//! Argument: its letter ('A' is badge 1, 'B' badge 2); 'A' also gets two
//! frame capabilities to pass on.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use tessera_programs::echo::*;
use tessera_rt::{
    call, cap_revoke, for_each_initial_capability, println, sleep_micros, Error, Handle, Message, ObjectType, Rights,
    Timeout,
};

tessera_rt::entry!(main);

fn main(start: tessera_rt::Start) -> u32 {
    let letter = (start.argument & 0xFF) as u8 as char;
    let badge = (start.argument & 0xFF) - b'A' as u32 + 1;
    let (mut endpoint, mut grantable, mut not_grantable) = (None, None, None);
    for_each_initial_capability(|handle, info| match info.kind {
        ObjectType::Endpoint => endpoint = Some(handle),
        ObjectType::Frame if info.rights.contains(Rights::GRANT) => grantable = Some(handle),
        ObjectType::Frame => not_grantable = Some(handle),
        _ => {}
    });
    let Some(endpoint): Option<Handle> = endpoint else { return 1 };
    let mut good = true;

    match call(endpoint, &Message::new(WHO, [0; 4]), Timeout::Millis(2000)) {
        Ok(answer) if answer.message.words[0] == badge => {
            println!("client {}: the server sees badge {}", letter, badge)
        }
        other => {
            println!("client {}: WHO answered {:?}", letter, other);
            good = false;
        }
    }
    match call(endpoint, &Message::new(ADD, [20, 22, 0, 0]), Timeout::Millis(2000)) {
        Ok(answer) if answer.message.words[0] == 42 => {
            println!("client {}: 20 + 22 = 42 across address spaces", letter)
        }
        other => {
            println!("client {}: ADD answered {:?}", letter, other);
            good = false;
        }
    }
    if let (Some(grantable), Some(not_grantable)) = (grantable, not_grantable) {
        // Refused before any message is sent, so it is not one of the
        // server's requests (and the server is still there for the next).
        let message = Message::with_capability(INSPECT, [0; 3], not_grantable);
        match call(endpoint, &message, Timeout::Millis(2000)) {
            Err(Error::MissingRight) => {
                println!("client {}: passing a capability without GRANT: refused (missing right)", letter)
            }
            other => {
                println!("client {}: passing without GRANT gave {:?}", letter, other);
                good = false;
            }
        }
        let message = Message::with_capability(INSPECT, [0; 3], grantable);
        match call(endpoint, &message, Timeout::Millis(2000)) {
            Ok(answer) if answer.message.words[0] == ObjectType::Frame as u32 => {
                let rights = Rights::from_bits_retain(answer.message.words[1]);
                println!("client {}: passed a frame capability; the server received it with {:?}", letter, rights);
                good &= rights == Rights::READ | Rights::WRITE | Rights::GRANT;
            }
            other => {
                println!("client {}: INSPECT answered {:?}", letter, other);
                good = false;
            }
        }
        // A copy the server keeps is linked under the client's own: it
        // goes when the client revokes that.
        good &= kept_copy_goes_with_a_revoke(letter, endpoint, grantable);
    }
    // The server has answered all its requests and ended by now.
    sleep_micros(200_000);
    match call(endpoint, &Message::new(WHO, [0; 4]), Timeout::Millis(2000)) {
        Err(error @ (Error::PeerGone | Error::InvalidHandle | Error::StaleHandle)) => {
            println!("client {}: call after the server ended: refused ({})", letter, error.name())
        }
        other => {
            println!("client {}: call after the server ended gave {:?}", letter, other);
            good = false;
        }
    }
    if good {
        0
    } else {
        1
    }
}

/// Passes `frame` to the server, which keeps it, revokes the client's own
/// `frame`, and asks the server whether its copy is still there: it must
/// not be.
fn kept_copy_goes_with_a_revoke(letter: char, endpoint: Handle, frame: Handle) -> bool {
    let kept = match call(endpoint, &Message::with_capability(KEEP, [0; 3], frame), Timeout::Millis(2000)) {
        Ok(answer) if answer.message.label == KEEP => answer.message.words[0],
        other => {
            println!("client {}: KEEP answered {:?}", letter, other);
            return false;
        }
    };
    if cap_revoke(frame).is_err() {
        println!("client {}: could not revoke its frame", letter);
        return false;
    }
    match call(endpoint, &Message::new(HELD, [kept, 0, 0, 0]), Timeout::Millis(2000)) {
        Ok(answer) if answer.message.label == HELD && answer.message.words[0] == 0 => {
            println!("client {}: the server's copy of its frame went with its revoke", letter);
            true
        }
        other => {
            println!("client {}: after the revoke, HELD answered {:?}", letter, other);
            false
        }
    }
}
