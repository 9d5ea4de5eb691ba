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
//! Alias certificate, and then answers requests
//! (`tessera_abi::app::pluton`, decoded by
//! `tessera_pluton_core::protocol`): from anyone `DEVICE_ID`, `ATTEST` and
//! `RANDOM`; from apps `SEAL`, `UNSEAL`, `SIGN_CHALLENGE`; from `init`
//! `VERIFY_PACKAGE`, `RECORD_APP` and `ENTROPY_SOURCE`.
//!
//! A client need not wait for the answer (a `Send` is a request too) and
//! may end while `plutond` works on its request, so `plutond` copies the
//! input out of the client's buffer and unmaps it before it works, and
//! maps it again only to write the answer (`with_buffer`); `init` keeps
//! each app's buffer, so an app cannot revoke `plutond`'s copy. Every
//! allocation a request makes is fallible: a request too big for the heap
//! is refused.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

extern crate alloc;

use alloc::boxed::Box;
use alloc::vec::Vec;

use tessera_abi::bootimage::{self, BootImage};
use tessera_abi::package::{self, TrustedKeys};
use tessera_pluton_core::app::{
    app_seal_key, device_authentication_key, record_package, record_verified_package, AppRecord,
};
use tessera_pluton_core::certificate::{alias_certificate, subject_for};
use tessera_pluton_core::drbg::Drbg;
use tessera_pluton_core::eat::{self, AppClaim, Claims};
use tessera_pluton_core::measure::{
    measure_layer_zero_into, Measurement, MeasurementLog, MAX_MEASUREMENTS, TRUSTED_KEYS,
};
use tessera_pluton_core::protocol::{decode, Caller, Clients, RecordOutcome, Request};
use tessera_pluton_core::seal::{seal, unseal, NONCE_SIZE};
use tessera_pluton_core::share::CostlyShare;
use tessera_pluton_core::{alias_key, device_id_key, identifier, Hex, LayerCdis, SigningKey, Uds};
use tessera_rt::server::{self, Answer, Capabilities};
use tessera_rt::{
    cap_delete, find_initial_capability, for_each_initial_capability, println, unmap, Error, Handle, Mapping, Message,
    ObjectType, Received, Rights,
};
use tessera_servers::entropy::EntropySource;
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
    device_ueid: [u8; eat::UEID_SIZE],
    alias_key: SigningKey,
    alias_certificate: Vec<u8>,
    log: Box<MeasurementLog>,
    /// Layer 0's CDIs: the apps' keys derive from them.
    cdis: LayerCdis,
    /// The boot image, mapped read-only for good: packages are verified
    /// and recorded from it.
    boot_image: Mapping,
    boot_image_len: usize,
    clients: Box<Clients>,
    /// Each recorded app's request buffer (`RECORD_APP` brought it), by
    /// client number - 1.
    buffers: [Option<Handle>; MAX_CLIENTS as usize],
    /// Boot-image entries (below 64) whose package signature
    /// `VERIFY_PACKAGE` checked: the image is read-only, so `RECORD_APP`
    /// need not check them again.
    verified: u64,
    /// Each app's share of the costly requests (`ATTEST`,
    /// `SIGN_CHALLENGE`), by client number - 1.
    shares: [CostlyShare; MAX_CLIENTS as usize],
    drbg: Drbg,
    entropy: Option<EntropySource>,
}

impl State {
    fn boot_image(&self) -> Option<BootImage<'_>> {
        BootImage::parse(&self.boot_image.as_bytes()[..self.boot_image_len]).ok()
    }
}

/// Measures layer 0 through the two read-only frames the kernel gave
/// (its code, then the boot image), derives the keys and issues the Alias
/// certificate. The kernel's frame is unmapped and deleted afterwards;
/// the boot image stays mapped.
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
    let [code, image] = measured;
    let result = (|| {
        let code = Mapping::new(code, KERNEL_MAPPED_AT, Rights::READ).map_err(|_| "cannot map the kernel")?;
        let image = Mapping::new(image, BOOT_IMAGE_MAPPED_AT, Rights::READ).map_err(|_| "cannot map the boot image")?;
        // The frame is whole pages; the header says how much is image.
        let bytes = image.as_bytes();
        let size = bootimage::declared_size(bytes).filter(|&size| size <= bytes.len());
        let size = size.ok_or("the boot image has no header")?;
        let boot_image = BootImage::parse(&bytes[..size]).map_err(|_| "the boot image does not parse")?;
        let mut log = Box::new(MeasurementLog::new());
        let inputs = measure_layer_zero_into(&mut log, code.as_bytes(), &boot_image, bootargs)
            .map_err(|_| "cannot measure layer 0")?;
        Ok((log, inputs, image, size))
    })();
    let _ = unmap(code);
    let _ = cap_delete(code);
    let (log, inputs, boot_image, boot_image_len) = result?;
    let device_key = device_id_key(uds);
    let cdis = uds.layer_zero(&inputs);
    let alias_key = alias_key(&cdis.attest);
    let subject = subject_for(device_key.verifying_key()).map_err(|_| "no DeviceID subject")?;
    let measurements: Vec<(&str, [u8; 32])> = log.layer_zero().iter().map(|m| (m.name(), m.sha256)).collect();
    let alias_certificate = alias_certificate(alias_key.verifying_key(), &device_key, &subject, &inputs, &measurements)
        .map_err(|_| "cannot issue the Alias certificate")?;
    Ok(Box::new(State {
        device_id: identifier(device_key.verifying_key()),
        device_ueid: eat::ueid(device_key.verifying_key()),
        alias_key,
        alias_certificate,
        log,
        cdis,
        boot_image,
        boot_image_len,
        clients: Box::new(Clients::new()),
        buffers: [None; MAX_CLIENTS as usize],
        shares: [CostlyShare::new(); MAX_CLIENTS as usize],
        verified: 0,
        drbg: Drbg::new(),
        entropy: None,
    }))
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

/// The buffer a request works on: the loader's comes with the request
/// (the serve loop deletes it afterwards), an app's was recorded.
fn buffer_of(buffers: &[Option<Handle>], request: &Received, caller: Caller) -> Result<Handle, Error> {
    match caller {
        Caller::Loader => Ok(Handle(request.message.words[3])),
        Caller::App(client) => buffers.get(client as usize - 1).copied().flatten().ok_or(Error::PermissionDenied),
    }
}

/// The most of a frame `plutond` uses as a buffer: the loader's `ATTEST`
/// frame may be larger than a page (evidence for many apps is), an app's
/// buffer is one page.
const LARGEST_BUFFER: u32 = 16 * 1024;

/// Runs `work` on a request's buffer `frame`: maps it, copies its first
/// `input_len` bytes out and unmaps it; lets `work` write as much answer
/// as the buffer holds (a page, or up to [`LARGEST_BUFFER`] of a frame
/// whose size the capability lets it ask: the loader's); maps it again,
/// copies the answer in, unmaps.
///
/// The frame is not mapped while `work` runs: `work` may wait (a reseed
/// waits for the entropy device), and meanwhile the client runs. A client
/// that sent its request with `Send` instead of `Call`, or that ends
/// itself (`init` then takes its memory back), can make the frame vanish
/// from under `plutond`; an access to it would end `plutond`, and with it
/// every app's Pluton service. Mapped only between two waits, the frame
/// either is there or the map fails, and the request is refused.
fn with_buffer(
    frame: Handle,
    input_len: usize,
    work: impl FnOnce(&[u8], &mut [u8]) -> Result<usize, Error>,
) -> Result<usize, Error> {
    let info = tessera_rt::cap_info(frame)?;
    if info.kind != ObjectType::Frame {
        return Err(Error::WrongType);
    }
    let size = match tessera_rt::cap_object(frame) {
        Ok((_, size)) if info.rights.contains(Rights::INSPECT) => size.min(LARGEST_BUFFER),
        _ => BUFFER_BYTES as u32,
    };
    let map = || {
        let rights = Rights::READ | Rights::WRITE;
        if size > BUFFER_BYTES as u32 {
            Mapping::new(frame, CLIENT_FRAME_MAPPED_AT, rights)
        } else {
            Mapping::first_page(frame, CLIENT_FRAME_MAPPED_AT, rights)
        }
    };
    let (mut input, mut output) = match (zeroed(input_len), zeroed(size as usize)) {
        (Ok(input), Ok(output)) => (input, output),
        _ => return Err(Error::OutOfMemory),
    };
    let copied = map().map(|mapping| {
        input.copy_from_slice(&mapping.as_bytes()[..input_len]);
        let _ = unmap(frame);
    });
    let result = copied.and_then(|()| work(&input, &mut output)).and_then(|len| {
        let mapping = map()?;
        mapping.write_bytes(0, &output[..len]);
        let _ = unmap(frame);
        Ok(len)
    });
    input.zeroize();
    output.zeroize();
    result
}

/// `len` zero bytes on the heap, or `OutOfMemory`: a request too big for
/// the heap is refused, never the end of `plutond` (allocation failure
/// aborts).
fn zeroed(len: usize) -> Result<Vec<u8>, Error> {
    let mut bytes = Vec::new();
    bytes.try_reserve_exact(len).map_err(|_| Error::OutOfMemory)?;
    bytes.resize(len, 0);
    Ok(bytes)
}

/// Draws random bytes, reseeding from the entropy source when the
/// generator needs it; `NotFound` without a working source.
fn random(state: &mut State, out: &mut [u8]) -> Result<(), Error> {
    if state.drbg.needs_reseed() || state.drbg.remaining() < out.len() {
        let source = state.entropy.as_mut().ok_or(Error::NotFound)?;
        let mut entropy = [0u8; 48];
        source.fill(&mut entropy).map_err(|_| Error::NotFound)?;
        let reseeded = state.drbg.reseed(&entropy);
        entropy.zeroize();
        reseeded.map_err(|_| Error::NotFound)?;
    }
    state.drbg.fill(out).map_err(|_| Error::NotFound)
}

/// The app behind client number `client`.
fn app(state: &State, client: u32) -> Result<&AppRecord, Error> {
    state.clients.get(client).ok_or(Error::PermissionDenied)
}

/// The boot image and its entry `entry`; `NotFound` if there is none.
fn entry_of(state: &State, entry: u32) -> Result<(BootImage<'_>, bootimage::Program<'_>), Error> {
    let image = state.boot_image().ok_or(Error::NotFound)?;
    let program = image.get(entry as usize).ok_or(Error::NotFound)?;
    Ok((image, program))
}

/// The boot image's first `trusted-keys` entry (the one layer 0's
/// authority measured); `NotFound` if there is none or it does not parse.
fn trusted_keys<'a>(image: &BootImage<'a>) -> Result<TrustedKeys<'a>, Error> {
    image.find(TRUSTED_KEYS).and_then(|keys| TrustedKeys::parse(keys.elf).ok()).ok_or(Error::NotFound)
}

/// `VERIFY_PACKAGE`: the answer's words 1..4 carry a signature refusal.
fn verify_package(state: &State, entry: u32) -> Message {
    let Ok((image, program)) = entry_of(state, entry) else { return error(Error::NotFound) };
    let Ok(keys) = trusted_keys(&image) else { return error(Error::NotFound) };
    match package::parse_and_verify(program.elf, &keys) {
        Ok(_) => Message::new(0, [0; 4]),
        Err(package::Refused::Untrusted(refusal)) => {
            let [kind, low, high] = refusal.to_words();
            Message::new(Error::PermissionDenied as u32, [0, kind, low, high])
        }
        Err(package::Refused::Malformed(_)) => error(Error::BadImage),
    }
}

/// `RECORD_APP`: verifies the package again (the loader cannot name one
/// that fails) and records it; a new app's measurement joins the log. The
/// app's request buffer (`frame`) replaces the one of its last run.
fn record_app(state: &mut State, entry: u32, client: u32, frame: Handle) -> Result<(), Error> {
    let info = tessera_rt::cap_info(frame)?;
    if info.kind != ObjectType::Frame || !info.rights.contains(Rights::READ | Rights::WRITE) {
        return Err(Error::WrongType);
    }
    let (image, program) = entry_of(state, entry)?;
    let record = if entry < 64 && state.verified & (1 << entry) != 0 {
        let package = package::Package::parse(program.elf).map_err(|_| Error::BadImage)?;
        record_verified_package(program.name, &package)
    } else {
        record_package(program.name, program.elf, &trusted_keys(&image)?)
    };
    let record = record.map_err(|error| error.to_error())?;
    // The app's measurement: its package and its decoded grants.
    let measurement = Measurement::new(record.name(), record.measurement()).ok_or(Error::InvalidArgument)?;
    // A new app needs room in the log before it is recorded: a recorded
    // app is always measured.
    let restart = state.clients.get(client) == Some(&record);
    if !restart && state.log.entries().len() >= MAX_MEASUREMENTS {
        return Err(Error::OutOfMemory);
    }
    if state.clients.record(client, entry, record)? == RecordOutcome::Recorded {
        state.log.append(measurement).map_err(|_| Error::OutOfMemory)?;
        println!("plutond: measurement {:?} (app, client {})", measurement, client);
    }
    if let Some(old) = state.buffers[client as usize - 1].replace(frame) {
        let _ = cap_delete(old);
    }
    Ok(())
}

/// Takes one costly request from an app's share (`tessera_pluton_core::
/// share`): `Busy` if it has used it up for now; `init` is not limited.
fn take_share(state: &mut State, caller: Caller) -> Result<(), Error> {
    let Caller::App(client) = caller else { return Ok(()) };
    let share = (client as usize).checked_sub(1).and_then(|index| state.shares.get_mut(index));
    let share = share.ok_or(Error::PermissionDenied)?;
    let now_ms = (tessera_rt::uptime_micros() / 1000) as u32;
    if share.take(now_ms) {
        Ok(())
    } else {
        Err(Error::Busy)
    }
}

/// Answers one decoded request.
fn answer(state: &mut State, request: &Received, caller: Caller, decoded: Request) -> Result<Message, Error> {
    let reply = |len: usize| Message::new(0, [len as u32, 0, 0, 0]);
    match decoded {
        Request::DeviceId { part } => {
            let range = if part == 0 { 0..16 } else { 16..DEVICE_ID_BYTES };
            Ok(Message::new(0, words(&state.device_id[range])))
        }
        Request::Attest { nonce_len } => {
            take_share(state, caller)?;
            let state = &*state;
            with_buffer(buffer_of(&state.buffers, request, caller)?, nonce_len, |nonce, out| {
                let apps: Vec<AppClaim<'_>> = state.clients.iter().map(|(_, record)| record.to_claim()).collect();
                let claims = Claims {
                    nonce,
                    ueid: state.device_ueid,
                    version: env!("CARGO_PKG_VERSION"),
                    measurements: state.log.entries(),
                    apps: &apps,
                    requester: match caller {
                        Caller::App(client) => state.clients.get(client).map(|app| *app.component_id()),
                        Caller::Loader => None,
                    },
                };
                // The claims, then the structure that is signed (the
                // claims again and a few bytes).
                let mut scratch = zeroed(2 * out.len() + 64)?;
                eat::evidence(&claims, &state.alias_key, &state.alias_certificate, &mut scratch, out)
                    .map_err(|_| Error::OutOfMemory)
            })
            .map(reply)
        }
        Request::Random { len } => with_buffer(buffer_of(&state.buffers, request, caller)?, 0, |_, out| {
            random(state, &mut out[..len]).map(|()| len)
        })
        .map(reply),
        Request::Seal { len } => {
            let Caller::App(client) = caller else { return Err(Error::PermissionDenied) };
            let key = app_seal_key(&state.cdis.seal, app(state, client)?);
            let frame = buffer_of(&state.buffers, request, caller)?;
            let mut nonce = [0u8; NONCE_SIZE];
            random(state, &mut nonce)?;
            with_buffer(frame, len, |plain, out| seal(&key, &nonce, plain, out).map_err(|e| e.to_error())).map(reply)
        }
        Request::Unseal { len } => {
            let Caller::App(client) = caller else { return Err(Error::PermissionDenied) };
            let key = app_seal_key(&state.cdis.seal, app(state, client)?);
            with_buffer(buffer_of(&state.buffers, request, caller)?, len, |sealed, out| {
                unseal(&key, sealed, out).map_err(|e| e.to_error())
            })
            .map(reply)
        }
        Request::SignChallenge { len } => {
            let Caller::App(client) = caller else { return Err(Error::PermissionDenied) };
            let record = app(state, client)?;
            if !record.device_authentication() {
                return Err(Error::PermissionDenied);
            }
            take_share(state, caller)?;
            let record = app(state, client)?;
            let key = device_authentication_key(&state.cdis.attest, record);
            with_buffer(buffer_of(&state.buffers, request, caller)?, len, |challenge, out| {
                use tessera_pluton_core::p256::ecdsa::signature::Signer;
                let signature: tessera_pluton_core::p256::ecdsa::Signature = key.sign(challenge);
                out[..64].copy_from_slice(&signature.to_bytes());
                out[64..SIGNATURE_ANSWER].copy_from_slice(key.verifying_key().to_sec1_point(false).as_bytes());
                Ok(SIGNATURE_ANSWER)
            })
            .map(reply)
        }
        Request::VerifyPackage { entry } => {
            let answer = verify_package(state, entry);
            if answer.label == 0 && entry < 64 {
                state.verified |= 1 << entry;
            }
            Ok(answer)
        }
        Request::RecordApp { entry, client } => {
            record_app(state, entry, client, Handle(request.message.words[3])).map(|()| reply(0))
        }
        Request::EntropySource => {
            if state.entropy.is_some() {
                return Err(Error::SlotOccupied);
            }
            let [transport, memory] = [request.message.words[2], request.message.words[3]].map(Handle);
            let mut source = EntropySource::new(transport, memory)?;
            let mut entropy = [0u8; 48];
            source.fill(&mut entropy)?;
            let seeded = state.drbg.reseed(&entropy).map_err(|_| Error::InvalidArgument);
            entropy.zeroize();
            seeded?;
            state.entropy = Some(source);
            println!("plutond: entropy source ready (virtio-rng); random generator seeded");
            Ok(reply(0))
        }
    }
}

fn main(start_info: tessera_rt::Start) -> u32 {
    // The secret first: whatever fails later, it is off its page by then.
    let uds = match take_secret() {
        Ok(uds) => uds,
        Err(reason) => {
            println!("plutond: {}", reason);
            return 1;
        }
    };
    if !tessera_rt::app::heap::init_program_heap() {
        println!("plutond: no heap");
        return 1;
    }
    let Some(endpoint) = find_initial_capability(ObjectType::Endpoint, Rights::RECEIVE) else {
        println!("plutond: needs an endpoint to receive on");
        return 1;
    };
    let mut state = match start(&uds, tessera_rt::boot_arguments(start_info)) {
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
    // Its start-up (P-256, the X.509 builder) is the deepest it goes.
    println!(
        "plutond: stack high-water {} of {} bytes",
        tessera_rt::stack_high_water(),
        tessera_abi::layout::STACK_SIZE
    );
    let served = server::serve(endpoint, Capabilities::Keep, |request| {
        let message = &request.message;
        let result = decode(message.label, message.words, message.caps, request.badge)
            .and_then(|(caller, decoded)| answer(&mut state, request, caller, decoded));
        // The entropy source's capabilities and an app's buffer are kept;
        // every other capability a request brought goes now.
        let kept = (message.label == ENTROPY_SOURCE || message.label == RECORD_APP) && result.is_ok();
        if !kept {
            // A copy: the loop's request is borrowed here.
            let mut request = *request;
            request.drop_capabilities();
        }
        Answer::Reply(result.unwrap_or_else(error))
    });
    if let Err(error) = served {
        println!("plutond: receive failed: {}", error.name());
    }
    1
}
