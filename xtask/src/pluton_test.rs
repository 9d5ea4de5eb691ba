//! The `qemu:pluton` test: an app's view of the Pluton security server,
//! over three boots of the test image. The host sends each boot's probe
//! app one command line on the app UART (`userland/test-apps/
//! test-solo-pluton/src/commands.rs` lists the commands) and reads what it
//! printed on the console.
//!
//! 1. `test-solo-pluton` (granted `DeviceAuthentication`) seals a secret
//!    (and unseals it, and has a one-byte change refused), draws random
//!    bytes and signs a challenge, whose signature is checked here with
//!    the public key it printed.
//! 2. After a reboot, the same app unseals the first boot's sealed bytes;
//!    its random bytes differ from the first boot's.
//! 3. `test-solo-pluton-other` (another ComponentId, no
//!    `DeviceAuthentication`) is refused the first app's sealed bytes and
//!    the signature.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpListener};
use std::path::Path;
use std::thread;
use std::time::Duration;

use p256::ecdsa::signature::Verifier;
use p256::ecdsa::{Signature, VerifyingKey};

use crate::image::Image;
use crate::qemu::{self, AppUart, Console};
use crate::Result;

/// How long one boot may take.
const BOOT_TIMEOUT: Duration = Duration::from_secs(60);
/// The secret the first app seals ("tessera sealed secret").
const SECRET: &str = "746573736572612073656164656420736563726574";
/// The challenge both apps are asked to sign.
const CHALLENGE: &str = "00112233445566778899aabbccddeeff";

/// Boots the test image with `scenario`, sends `line` on the app UART once
/// QEMU connects, and returns the console output of a passing run.
fn boot(kernel: &Path, scenario: &str, line: String) -> Result<String> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .map_err(|err| format!("cannot listen on 127.0.0.1 for the app UART: {err}"))?;
    let port = listener.local_addr().map_err(|err| format!("no local address: {err}"))?.port();
    let talker = thread::spawn(move || {
        // One connection (QEMU's); bounded by QEMU's run: it closes the socket when it ends.
        if let Ok((mut stream, _)) = listener.accept() {
            let _ = stream.write_all(format!("{line}\n").as_bytes());
            let mut sink = [0u8; 4096];
            while matches!(stream.read(&mut sink), Ok(n) if n > 0) {}
        }
    });
    let append = format!("scenario={scenario}");
    let command =
        qemu::command_with_uart(Image::Test, kernel, Console::Captured, Some(&append), AppUart::Connect(port))?;
    let outcome = qemu::capture(command, Some(BOOT_TIMEOUT))?;
    let _ = talker.join();
    if outcome.timed_out
        || outcome.status != Some(0)
        || !outcome.output.contains(&format!("scenario {scenario} passed"))
    {
        return Err(format!("the {scenario} boot did not pass; its output:\n{}", crate::indent(&outcome.output)));
    }
    Ok(outcome.output)
}

/// The value after `prefix` on the output's line that has it.
fn value_after<'a>(output: &'a str, prefix: &str) -> Result<&'a str> {
    output
        .lines()
        .find_map(|line| line.find(prefix).map(|at| line[at + prefix.len()..].trim()))
        .ok_or_else(|| format!("no `{prefix}` line in the output:\n{}", crate::indent(output)))
}

fn unhex(hex: &str) -> Result<Vec<u8>> {
    (0..hex.len())
        .step_by(2)
        .map(|at| {
            hex.get(at..at + 2).and_then(|pair| u8::from_str_radix(pair, 16).ok()).ok_or(format!("not hex: {hex}"))
        })
        .collect()
}

fn expect(output: &str, line: &str) -> Result<()> {
    if output.contains(line) {
        Ok(())
    } else {
        Err(format!("missing `{line}` in the output:\n{}", crate::indent(output)))
    }
}

/// Runs the test (see the module docs) on the test image's `kernel`.
pub fn scenario(kernel: &Path) -> Result<()> {
    let first = boot(kernel, "pluton-probe", format!("seal:{SECRET} random sign:{CHALLENGE} id"))?;
    let sealed = value_after(&first, "pluton-probe: sealed ")?.to_string();
    expect(&first, "pluton-probe: own unseal ok")?;
    expect(&first, "pluton-probe: tampered unseal refused: sealed data was changed or is another app's")?;
    let random_first = value_after(&first, "pluton-probe: random ")?.to_string();
    let signed = value_after(&first, "pluton-probe: signature ")?;
    let (signature, key) = signed.split_once(" key ").ok_or("the signature line has no key")?;
    let key = VerifyingKey::from_sec1_bytes(&unhex(key)?).map_err(|_| "the printed public key is not a P-256 point")?;
    let signature = Signature::from_slice(&unhex(signature)?).map_err(|_| "the printed signature is not r || s")?;
    key.verify(&unhex(CHALLENGE)?, &signature)
        .map_err(|_| "the app's signature does not verify with the key it printed".to_string())?;
    let device_id = value_after(&first, "pluton-probe: device id ")?;
    let provisioned = crate::provision::ensure(&crate::workspace_root())?;
    if device_id != tessera_pluton_core::Hex(&provisioned.device_id()).to_string() {
        return Err(format!("the app saw DeviceID {device_id}, not the provisioned one"));
    }

    let second = boot(kernel, "pluton-probe", format!("unseal:{sealed} random"))?;
    expect(&second, &format!("pluton-probe: unsealed {SECRET}"))?;
    let random_second = value_after(&second, "pluton-probe: random ")?;
    if random_second == random_first {
        return Err(format!("two boots gave the same random bytes {random_first}"));
    }

    let third = boot(kernel, "pluton-other", format!("unseal:{sealed} sign:{CHALLENGE}"))?;
    expect(&third, "pluton-other: unseal refused: sealed data was changed or is another app's")?;
    expect(&third, "pluton-other: sign refused: not granted: the manifest has no DeviceAuthentication")?;
    if third.contains(SECRET) && third.contains("pluton-other: unsealed") {
        return Err("the other app unsealed the first app's secret".to_string());
    }
    Ok(())
}
