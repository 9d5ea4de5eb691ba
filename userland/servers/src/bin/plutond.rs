//! The Pluton security server (docs/pluton.md): the only process that ever
//! holds the device's Unique Device Secret. The kernel starts it before
//! `init`, with the one capability to the secret's page and an endpoint to
//! receive on (whose sending side only `init` gets).
//!
//! At start it reads the UDS from the page, wipes the page, unmaps it and
//! deletes the capability, so no later program (nor a DMA-capable device
//! driven by one) finds the secret in RAM. It derives the DeviceID key
//! (`tessera_pluton_core::device_id_key`) and then answers requests:
//! today only `DEVICE_ID` (`tessera_servers::pluton`), the public
//! identifier of the DeviceID key. Attestation, sealing and randomness are
//! the next steps of issue 10.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use tessera_pluton_core::{device_id_key, identifier, Uds};
use tessera_rt::server::{self, Answer, Capabilities};
use tessera_rt::{cap_delete, find_initial_capability, println, unmap, Error, Mapping, Message, ObjectType, Rights};
use tessera_servers::pluton::*;
use zeroize::Zeroize;

tessera_rt::entry!(main);

/// Reads the UDS from the secret's page and wipes the page; the capability
/// is gone afterwards either way.
fn take_secret() -> Result<Uds, &'static str> {
    let page = find_initial_capability(ObjectType::Frame, Rights::READ | Rights::WRITE).ok_or("no secret page")?;
    let result = (|| {
        let mapping =
            Mapping::new(page, SECRET_MAPPED_AT, Rights::READ | Rights::WRITE).map_err(|_| "cannot map it")?;
        let mut secret = [0u8; 32];
        secret.copy_from_slice(&mapping.as_bytes()[..32]);
        let uds = Uds::from_bytes(secret);
        secret.zeroize();
        // Wipe the page: the only other copy the machine has until the
        // next boot.
        mapping.write_bytes(0, &[0; 4096]);
        let _ = unmap(page);
        if uds.expose().iter().all(|&byte| byte == 0) {
            return Err("the page holds no secret (was the device provisioned?)");
        }
        Ok(uds)
    })();
    let _ = cap_delete(page);
    result
}

fn words(bytes: &[u8]) -> [u32; 4] {
    let mut out = [0u32; 4];
    for (word, chunk) in out.iter_mut().zip(bytes.chunks(4)) {
        let mut le = [0u8; 4];
        le[..chunk.len()].copy_from_slice(chunk);
        *word = u32::from_le_bytes(le);
    }
    out
}

fn main(_start: tessera_rt::Start) -> u32 {
    let Some(endpoint) = find_initial_capability(ObjectType::Endpoint, Rights::RECEIVE) else {
        println!("plutond: needs an endpoint to receive on");
        return 1;
    };
    let uds = match take_secret() {
        Ok(uds) => uds,
        Err(reason) => {
            println!("plutond: {}", reason);
            return 1;
        }
    };
    let id = identifier(device_id_key(&uds).verifying_key());
    drop(uds);
    println!("plutond: DeviceID {}", tessera_pluton_core::Hex(&id));
    let served = server::serve(endpoint, Capabilities::Refuse, |request| {
        Answer::Reply(match (request.message.label, request.message.words[0]) {
            (DEVICE_ID, 0) => Message::new(0, words(&id[..16])),
            (DEVICE_ID, 1) => Message::new(0, words(&id[16..])),
            _ => Message::new(Error::InvalidArgument as u32, [0; 4]),
        })
    });
    if let Err(error) = served {
        println!("plutond: receive failed: {}", error.name());
    }
    1
}
