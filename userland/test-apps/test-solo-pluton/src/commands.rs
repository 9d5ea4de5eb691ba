//! The commands both Pluton probes run (`test-solo-pluton` and
//! `test-solo-pluton-other` include this file): one line from the UART,
//! words separated by spaces, each `NAME` or `NAME:HEX`:
//!
//! | command | prints |
//! |---|---|
//! | `seal:HEX` | `sealed HEX`, then unseals it (`own unseal ok` or the error) and a copy with one byte flipped (`tampered unseal refused: ERROR`, or `tampered unseal ACCEPTED`) |
//! | `unseal:HEX` | `unsealed HEX` or `unseal refused: ERROR` |
//! | `sign:HEX` | `signature HEX key HEX` or `sign refused: ERROR` |
//! | `random` | `random HEX` (32 bytes) |
//! | `id` | `device id HEX` |
//!
//! Every output line starts with the app's name; the last is `done`.

use tessera_sdk::pluton::Pluton;
use tessera_sdk::time::Duration;
use tessera_sdk::{log, App, Error};

/// The longest command line.
const LINE: usize = 3000;

struct Hex<'a>(&'a [u8]);

impl core::fmt::Display for Hex<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        self.0.iter().try_for_each(|byte| write!(f, "{byte:02x}"))
    }
}

fn unhex<'a>(hex: &str, out: &'a mut [u8]) -> Option<&'a [u8]> {
    if !hex.len().is_multiple_of(2) || hex.len() / 2 > out.len() {
        return None;
    }
    for (index, byte) in out.iter_mut().take(hex.len() / 2).enumerate() {
        *byte = u8::from_str_radix(hex.get(2 * index..2 * index + 2)?, 16).ok()?;
    }
    Some(&out[..hex.len() / 2])
}

/// Reads one command line from UART 0 (waiting up to 20 s) and runs it.
pub fn run(app: App, name: &str) -> Result<(), Error> {
    let pluton = app.pluton()?;
    let uart = app.uart(0)?;
    log!("{}: ready for a command line", name);
    let mut line = [0u8; LINE];
    let mut length = 0;
    let mut waited = 0;
    while !line[..length].contains(&b'\n') {
        let count = uart.read_timeout(&mut line[length..], Duration::from_millis(100))?;
        length += count;
        waited = if count == 0 { waited + 1 } else { 0 };
        if waited > 200 || length == LINE {
            log!("{}: no command line", name);
            return Err(Error::TimedOut);
        }
    }
    let text = core::str::from_utf8(&line[..length]).map_err(|_| Error::InvalidArgument)?;
    for command in text.split_whitespace() {
        let (verb, argument) = command.split_once(':').unwrap_or((command, ""));
        let mut bytes = [0u8; 1500];
        let Some(input) = unhex(argument, &mut bytes) else {
            log!("{}: {}: not hex", name, verb);
            continue;
        };
        execute(&pluton, name, verb, input)?;
    }
    log!("{}: done", name);
    Ok(())
}

fn execute(pluton: &Pluton, name: &str, verb: &str, input: &[u8]) -> Result<(), Error> {
    let mut out = [0u8; 1600];
    match verb {
        "seal" => {
            let len = pluton.seal(input, &mut out)?;
            log!("{}: sealed {}", name, Hex(&out[..len]));
            let mut plain = [0u8; 1600];
            match pluton.unseal(&out[..len], &mut plain) {
                Ok(n) if &plain[..n] == input => log!("{}: own unseal ok", name),
                Ok(_) => log!("{}: own unseal gave OTHER BYTES", name),
                Err(error) => log!("{}: own unseal refused: {}", name, error),
            }
            out[len / 2] ^= 0x01;
            match pluton.unseal(&out[..len], &mut plain) {
                Ok(_) => log!("{}: tampered unseal ACCEPTED", name),
                Err(error) => log!("{}: tampered unseal refused: {}", name, error),
            }
        }
        "unseal" => match pluton.unseal(input, &mut out) {
            Ok(len) => log!("{}: unsealed {}", name, Hex(&out[..len])),
            Err(error) => log!("{}: unseal refused: {}", name, error),
        },
        "sign" => match pluton.sign_challenge(input) {
            Ok(signature) => {
                log!("{}: signature {} key {}", name, Hex(&signature.signature), Hex(&signature.public_key))
            }
            Err(error) => log!("{}: sign refused: {}", name, error),
        },
        "random" => {
            let mut random = [0u8; 32];
            pluton.random(&mut random)?;
            log!("{}: random {}", name, Hex(&random));
        }
        "id" => log!("{}: device id {}", name, pluton.device_id()?),
        other => log!("{}: unknown command {}", name, other),
    }
    Ok(())
}
