//! Test fixture for the `server-garbage` scenario: garbage for the GPIO,
//! UART and Pluton servers. To each it sends [`REQUESTS`] calls of random
//! labels (mostly the protocol's, some any 16 bits) and words (mostly
//! small, as counts and indices are, some any 32 bits), a fifth of them
//! claiming to pass one or two capabilities (its own, none of which an
//! app may pass on, or handles that name nothing: the kernel refuses
//! those before a server sees them, which it checks), and counts how each
//! was answered. A call the server never answers would
//! hang it here (the scenario's limit ends it). Then it checks that each
//! server still serves it: the GPIO pin set high and read back high, a line
//! written to the UART, random bytes and the DeviceID from the Pluton
//! security server. It exits 1 if any server stopped serving.
//! The network server has its own garbage (`test-solo-net-garbage`).
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use tessera_abi::app::ServerKind;
use tessera_rt::{call, for_each_initial_capability, Error as CallError, Handle, Message, Timeout};
use tessera_sdk::gpio::Level;
use tessera_sdk::{log, App, Error};
use tessera_testing::Rng;

tessera_sdk::app!(main);

/// How many garbage calls each server gets.
const REQUESTS: u32 = 1000;
/// The pin its manifest grants (`$QEMU_VIRT_GPIO6`).
const PIN: u32 = 6;
/// Its own capabilities it names in messages.
const OWN: usize = 8;

/// How the calls to one server were answered.
#[derive(Default)]
struct Answers {
    /// Answered with success (label 0).
    done: u32,
    /// Answered with an error code.
    refused: u32,
    /// Refused by the kernel before the server saw it: a capability that
    /// cannot be passed on (its own lack `GRANT`) or names nothing.
    not_passed: u32,
    /// Anything else (a timeout, the server gone, a capability passed).
    other: u32,
}

fn garbage(rng: &mut Rng, endpoint: Handle, own: &[Handle]) -> Answers {
    let mut answers = Answers::default();
    for _ in 0..REQUESTS {
        let label = if rng.below_u32(8) == 0 { rng.next_u32() & 0xFFFF } else { rng.below_u32(16) };
        let mut words = [0u32; 4];
        for word in &mut words {
            *word = match rng.below_u32(4) {
                0 => rng.next_u32(),
                1 => rng.below_u32(5000),
                _ => rng.below_u32(64),
            };
        }
        // The first word is often a pin, a UART or a length: sometimes the
        // granted ones, so that some calls get past the first check.
        if rng.below_u32(2) == 0 {
            words[0] = [0, PIN][rng.below_u32(2) as usize];
        }
        let caps = match rng.below_u32(10) {
            0 => 2,
            1 => 1,
            _ => 0,
        };
        for word in words.iter_mut().skip(4 - caps) {
            *word = if own.is_empty() || rng.below_u32(4) == 0 {
                rng.next_u32()
            } else {
                own[rng.below_u32(own.len() as u32) as usize].0
            };
        }
        let message = Message { label, words, caps: caps as u32 };
        match call(endpoint, &message, Timeout::Millis(2000)) {
            Ok(_) if caps != 0 => answers.other += 1,
            Ok(answer) if answer.message.label == 0 => answers.done += 1,
            Ok(_) => answers.refused += 1,
            Err(CallError::MissingRight | CallError::InvalidHandle | CallError::StaleHandle) if caps != 0 => {
                answers.not_passed += 1
            }
            Err(_) => answers.other += 1,
        }
    }
    answers
}

fn main(app: App) -> Result<(), Error> {
    // Its own capabilities (pages, endpoints, notifications): named in
    // messages, never passed.
    let mut own = [Handle::NULL; OWN];
    let mut held = 0;
    for_each_initial_capability(|handle, _| {
        if held < OWN {
            own[held] = handle;
            held += 1;
        }
    });
    // A fixed sequence, so a failure replays.
    let mut rng = Rng::new(0x2545_f491);
    let mut serving = true;
    for (kind, name) in [(ServerKind::GPIO, "GPIO"), (ServerKind::UART, "UART"), (ServerKind::PLUTON, "Pluton")] {
        let Some(endpoint) = app.grant(kind) else {
            log!("test-solo-server-garbage: no {} server granted", name);
            return Err(Error::NotGranted(name));
        };
        let answers = garbage(&mut rng, endpoint, &own[..held]);
        log!(
            "test-solo-server-garbage: {} garbage calls to the {} server: {} done, {} refused by it, {} capabilities not passed, {} otherwise",
            REQUESTS,
            name,
            answers.done,
            answers.refused,
            answers.not_passed,
            answers.other
        );
        if answers.other != 0 {
            log!("test-solo-server-garbage: UNEXPECTED answers from the {} server: {}", name, answers.other);
            serving = false;
        }
    }
    let gpio = app.gpio().and_then(|gpio| {
        gpio.output(PIN, Level::High)?;
        gpio.read(PIN)
    });
    match gpio {
        Ok(Level::High) => {
            log!("test-solo-server-garbage: the GPIO server still serves: pin {} set high, reads high", PIN)
        }
        other => {
            log!("test-solo-server-garbage: the GPIO server no longer serves: {:?}", other);
            serving = false;
        }
    }
    match app.uart(0).and_then(|uart| uart.write(b"still here\n")) {
        Ok(()) => log!("test-solo-server-garbage: the UART server still serves: a line written"),
        Err(error) => {
            log!("test-solo-server-garbage: the UART server no longer serves: {}", error);
            serving = false;
        }
    }
    let mut random = [0u8; 32];
    let pluton = app.pluton().and_then(|pluton| {
        pluton.random(&mut random)?;
        pluton.device_id()
    });
    match pluton {
        Ok(id) if random != [0; 32] => {
            log!("test-solo-server-garbage: the Pluton security server still serves: random bytes, DeviceID {}", id)
        }
        other => {
            log!("test-solo-server-garbage: the Pluton security server no longer serves: {:?}", other.map(|_| ()));
            serving = false;
        }
    }
    if serving {
        Ok(())
    } else {
        Err(Error::InvalidArgument)
    }
}
