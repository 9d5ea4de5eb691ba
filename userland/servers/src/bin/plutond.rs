//! The Pluton security server (docs/pluton.md): the only process that ever
//! holds the device's Unique Device Secret. The kernel starts it before
//! `init`, with (in this order) the one capability to the secret's page,
//! an endpoint to receive on (whose sending side only `init` gets), and
//! read-only capabilities to the kernel's code and to the boot image.
//!
//! At start it reads the UDS from the page, wipes the page, unmaps it and
//! deletes the capability, so no later program (nor a DMA-capable device
//! driven by one) finds the secret in RAM. It measures layer 0 (the
//! kernel and the system programs, `tessera_pluton_core::measure`),
//! derives the DeviceID key, layer 0's CDIs and the Alias key, issues the
//! Alias certificate, and then answers requests (`tessera_servers::pluton`):
//! `DEVICE_ID`, the public identifier of the DeviceID key, and `ATTEST`,
//! evidence for a verifier's nonce. Sealing, randomness and the apps'
//! measurements are the next steps of issue 10.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

extern crate alloc;

use alloc::boxed::Box;
use alloc::vec;
use alloc::vec::Vec;

use tessera_abi::bootimage::{self, BootImage};
use tessera_pluton_core::certificate::{alias_certificate, subject_for};
use tessera_pluton_core::eat::{self, AppClaim, Claims};
use tessera_pluton_core::measure::{measure_layer_zero, MeasurementLog};
use tessera_pluton_core::{alias_key, device_id_key, identifier, Hex, SigningKey, Uds};
use tessera_rt::server::{self, Answer, Capabilities};
use tessera_rt::{
    cap_delete, find_initial_capability, for_each_initial_capability, println, unmap, Error, Handle, Mapping, Message,
    ObjectType, Received, Rights,
};
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

/// What `plutond` keeps after start.
struct State {
    device_id: [u8; 20],
    alias_key: SigningKey,
    alias_certificate: Vec<u8>,
    log: MeasurementLog,
}

/// Measures layer 0 through the two read-only frames the kernel gave
/// (its code, then the boot image), derives the keys and issues the Alias
/// certificate. The frames are unmapped and deleted afterwards.
fn start(uds: &Uds, bootargs: &str) -> Result<Box<State>, &'static str> {
    let mut measured = [Handle::NULL; 2];
    let mut found = 0;
    for_each_initial_capability(|handle, info| {
        if info.kind == ObjectType::Frame && !info.rights.contains(Rights::WRITE) && found < 2 {
            measured[found] = handle;
            found += 1;
        }
    });
    if found < 2 {
        return Err("no kernel code or boot image to measure");
    }
    let result = (|| {
        let code = Mapping::new(measured[0], KERNEL_MAPPED_AT, Rights::READ).map_err(|_| "cannot map the kernel")?;
        let image =
            Mapping::new(measured[1], BOOT_IMAGE_MAPPED_AT, Rights::READ).map_err(|_| "cannot map the boot image")?;
        // The frame is whole pages; the header says how much is image.
        let bytes = image.as_bytes();
        let size = bootimage::declared_size(bytes).filter(|&size| size <= bytes.len());
        let bytes = &bytes[..size.ok_or("the boot image has no header")?];
        let boot_image = BootImage::parse(bytes).map_err(|_| "the boot image does not parse")?;
        measure_layer_zero(code.as_bytes(), &boot_image, bootargs).map_err(|_| "cannot measure layer 0")
    })();
    for handle in measured {
        let _ = unmap(handle);
        let _ = cap_delete(handle);
    }
    let (log, inputs) = result?;
    let device_key = device_id_key(uds);
    let cdis = uds.layer_zero(&inputs);
    let alias_key = alias_key(&cdis.attest);
    let subject = subject_for(device_key.verifying_key()).map_err(|_| "no DeviceID subject")?;
    let measurements: Vec<(&str, [u8; 32])> = log.layer_zero().iter().map(|m| (m.name(), m.sha256)).collect();
    let alias_certificate = alias_certificate(alias_key.verifying_key(), &device_key, &subject, &inputs, &measurements)
        .map_err(|_| "cannot issue the Alias certificate")?;
    Ok(Box::new(State { device_id: identifier(device_key.verifying_key()), alias_key, alias_certificate, log }))
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

fn error(error: Error) -> Message {
    Message::new(error as u32, [0; 4])
}

/// `ATTEST`: the nonce in, the evidence out, through the caller's frame.
fn attest(state: &State, device_ueid: &[u8; eat::UEID_SIZE], request: &Received) -> Message {
    let message = &request.message;
    if message.caps != 1 {
        return error(Error::InvalidArgument);
    }
    let frame = message.words[3];
    let answer = (|| {
        let frame = Handle(frame);
        let info = tessera_rt::cap_info(frame)?;
        let (_, size) = tessera_rt::cap_object(frame)?;
        if info.kind != ObjectType::Frame || !info.rights.contains(Rights::READ | Rights::WRITE) {
            return Err(Error::WrongType);
        }
        let nonce_len = message.words[0] as usize;
        if size < ATTEST_FRAME_BYTES || !(eat::MIN_NONCE..=eat::MAX_NONCE).contains(&nonce_len) {
            return Err(Error::InvalidArgument);
        }
        let mapping = Mapping::new(frame, CLIENT_FRAME_MAPPED_AT, Rights::READ | Rights::WRITE)?;
        let mut nonce = [0u8; eat::MAX_NONCE];
        nonce[..nonce_len].copy_from_slice(&mapping.as_bytes()[..nonce_len]);
        let apps: [AppClaim<'_>; 0] = [];
        let claims = Claims {
            nonce: &nonce[..nonce_len],
            ueid: *device_ueid,
            version: env!("CARGO_PKG_VERSION"),
            measurements: state.log.entries(),
            apps: &apps,
        };
        let mut scratch = vec![0u8; ATTEST_FRAME_BYTES as usize];
        let mut out = vec![0u8; ATTEST_FRAME_BYTES as usize];
        let made = eat::evidence(&claims, &state.alias_key, &state.alias_certificate, &mut scratch, &mut out);
        let len = made.map_err(|_| Error::OutOfMemory);
        if let Ok(len) = len {
            mapping.write_bytes(0, &out[..len]);
        }
        let _ = unmap(frame);
        len
    })();
    let _ = cap_delete(Handle(frame));
    match answer {
        Ok(len) => Message::new(0, [len as u32, 0, 0, 0]),
        Err(reason) => error(reason),
    }
}

fn main(start_info: tessera_rt::Start) -> u32 {
    if !tessera_rt::app::heap::init_program_heap() {
        println!("plutond: no heap");
        return 1;
    }
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
    let device_ueid = eat::ueid(device_id_key(&uds).verifying_key());
    let state = match start(&uds, tessera_rt::boot_arguments(start_info)) {
        Ok(state) => state,
        Err(reason) => {
            println!("plutond: {}", reason);
            return 1;
        }
    };
    drop(uds);
    println!("plutond: DeviceID {}", Hex(&state.device_id));
    println!(
        "plutond: measured the kernel and {} programs; Alias {}",
        state.log.layer_zero().len() - 1,
        Hex(&identifier(state.alias_key.verifying_key()))
    );
    for measurement in state.log.layer_zero() {
        println!("plutond: measurement {:?}", measurement);
    }
    let served = server::serve(endpoint, Capabilities::Keep, |request| {
        let message = &request.message;
        let answer = match (message.label, message.words[0]) {
            (ATTEST, _) => return Answer::Reply(attest(&state, &device_ueid, request)),
            (DEVICE_ID, 0) => Message::new(0, words(&state.device_id[..16])),
            (DEVICE_ID, 1) => Message::new(0, words(&state.device_id[16..])),
            _ => error(Error::InvalidArgument),
        };
        request.drop_capabilities();
        Answer::Reply(answer)
    });
    if let Err(error) = served {
        println!("plutond: receive failed: {}", error.name());
    }
    1
}
