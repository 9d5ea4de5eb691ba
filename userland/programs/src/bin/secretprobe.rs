//! A hostile system program for the `secret` scenario: it looks for the
//! device's Unique Device Secret (UDS) every way a system program started
//! by `init` could, and must be denied each (docs/pluton.md, "Who may
//! touch it"). Its arguments are `tessera_programs::secretprobe`'s.
//!
//! # What it holds
//!
//! As much as a system program can be given: `init` hands it a copy of
//! every capability of its own that can be passed on, each with every
//! right `init` has (`INSPECT` included, so `CapObject` answers): a
//! 1 MiB block of untyped memory of its own (moved: untyped memory is
//! never copied), every device region, the read-only boot image, every
//! interrupt, `PowerControl`, and a copy of the Pluton security server's
//! endpoint minted with badge 17, which names no caller `plutond` knows
//! (an unbadged copy, badge 0, would make it the loader, which `init`
//! alone is).
//!
//! # What it tries (`SEARCH`)
//!
//! Each attempt is one line, `secretprobe: <attempt>: denied (<reason>)`,
//! or `secretprobe: <attempt>: FOUND (<what>)` when the design did not
//! hold (a way in, or a refusal for another reason than the design's).
//! It exits with the number of FOUND lines (and of attempts it could not
//! make), so 0 means every way was denied.
//!
//! 1. **Guessed handles**: `Map` each handle of every slot (generations 0
//!    to 3) it was not given: a handle only names a capability in its own
//!    CSpace.
//! 2. **`CapObject` on every capability it holds**: none may cover the
//!    secret's page, and no device region may lie in RAM.
//! 3. **QEMU's firmware configuration** (`fw-cfg`, a device region no
//!    server drives): reads its file directory through the selector and
//!    data registers (printing each file's name and size); none may be
//!    named like the secret's file (`uds.bin`). QEMU's loader puts the
//!    secret in RAM only.
//! 4. **The boot image**: maps it and checks that every entry is a
//!    program, an app package or the key list, none named like the
//!    secret's file (`uds.bin`). It does not search the bytes for the
//!    secret: it cannot know the UDS, so no content would tell it
//!    anything; `cargo xtask test`'s check searches the test image's
//!    boot image on the host, where the UDS is known.
//! 5. **Mapping at the secret's address**: maps the boot image and a
//!    device region at the secret's physical address used as a virtual
//!    one (the kernel's half: refused).
//! 6. **Untyped memory**: carves a block of all of RAM from its 1 MiB
//!    (refused), then retypes all of it into frames: none may be the
//!    secret's page, and each must read as zeros (a fresh frame holds
//!    nothing of anyone's).
//! 7. **The Pluton security server**: receives on its endpoint (to read
//!    others' requests), derives an unbadged copy (to call as the
//!    loader), mints another badge on it, and makes every request and an
//!    unknown one, each with the capabilities the loader would send:
//!    each must be refused (`PermissionDenied`, the badge names nobody).
//!
//! # What it does not try, and why
//!
//! - **Naming physical memory**: no syscall takes a physical address.
//!   `Map` takes a `Frame` or `DeviceRegion` capability and `Retype`
//!   untyped memory and a size, so the only way to the secret's page is a
//!   capability to it, which only `plutond` was ever given (attempts 1
//!   and 2 check that it holds none); a guessed handle names a slot of
//!   its own CSpace, never an object.
//! - **DMA**: it holds the virtio-mmio transports, and QEMU `virt` has no
//!   IOMMU, so a driver it wrote could make a device read any RAM. By the
//!   time `init` starts anything, `plutond` has wiped the page, so DMA
//!   reads zeros there; that a DMA-capable driver could read `plutond`'s
//!   own memory is the documented exception (docs/CAVEATS.md). The
//!   firmware configuration device has a DMA interface too, which can
//!   copy its files into any RAM; the probe never uses it.
//!
//! # `READ_KERNEL_MAP`
//!
//! A run of its own, because it ends the process: a load from the
//! secret's page at its physical address, which the kernel's identity
//! map of RAM covers for the kernel only. The kernel stops it with a
//! permission fault; `init` checks the fault and its address.
#![no_std]
#![no_main]

use core::fmt::{Arguments, Write as _};

use tessera_abi::app::pluton::{
    ATTEST, DEVICE_ID, ENTROPY_SOURCE, RANDOM, RECORD_APP, SEAL, SIGN_CHALLENGE, UNSEAL, VERIFY_PACKAGE,
};
use tessera_abi::bootimage::{self, BootImage};
use tessera_abi::capability::{CSPACE_SLOTS, MAX_FRAME_BYTES};
use tessera_abi::layout::PAGE_SIZE;
use tessera_board_constants::memory::{RAM_BASE, RAM_BYTES};
use tessera_programs::secretprobe::*;
use tessera_rt::console::LineWriter;
use tessera_rt::{
    call, cap_delete, cap_derive, cap_info, cap_object, for_each_initial_capability, map, println, receive, retype,
    unmap, CapabilityInfo, Error, Handle, Mapping, Message, ObjectType, Rights, Timeout,
};

tessera_rt::entry!(main);

/// The attempts made so far and how they ended.
#[derive(Default)]
struct Tally {
    attempts: u32,
    found: u32,
    /// Attempts it could not make (a capability `init` should have given
    /// is missing): a failure too, but not a way in.
    not_made: u32,
}

impl Tally {
    fn denied(&mut self, attempt: Arguments<'_>, reason: Arguments<'_>) {
        self.attempts += 1;
        println!("secretprobe: {}: denied ({})", attempt, reason);
    }

    fn found(&mut self, attempt: Arguments<'_>, what: Arguments<'_>) {
        self.attempts += 1;
        self.found += 1;
        println!("secretprobe: {}: FOUND ({})", attempt, what);
    }

    fn cannot(&mut self, attempt: &str, why: &str) {
        self.not_made += 1;
        println!("secretprobe: cannot try to {}: {}", attempt, why);
    }

    /// An attempt that must fail with one of `wanted`.
    fn refused<T>(&mut self, attempt: Arguments<'_>, result: Result<T, Error>, wanted: &[Error]) {
        match result {
            Err(error) if wanted.contains(&error) => self.denied(attempt, format_args!("{}", error.name())),
            Err(error) => self.found(attempt, format_args!("refused, but for another reason: {}", error.name())),
            Ok(_) => self.found(attempt, format_args!("allowed")),
        }
    }
}

/// The firmware configuration's signature item ("QEMU").
const FW_CFG_SIGNATURE: u16 = 0x0000;
/// The firmware configuration's file directory item: a big-endian count,
/// then 64 bytes per file (size, selector, reserved, 56-byte name).
const FW_CFG_FILE_DIR: u16 = 0x0019;

/// True if `bytes` at `start` and `other_bytes` at `other` share a byte.
fn overlaps(start: u32, bytes: u32, other: u32, other_bytes: u32) -> bool {
    let (start, end) = (u64::from(start), u64::from(start) + u64::from(bytes));
    let (other_start, other_end) = (u64::from(other), u64::from(other) + u64::from(other_bytes));
    start < other_end && other_start < end
}

fn covers_secret(start: u32, bytes: u32) -> bool {
    overlaps(start, bytes, SECRET_PAGE, PAGE_SIZE as u32)
}

/// Its capabilities as `init` left them: (handle, what it is).
struct Held {
    capabilities: [Option<(Handle, CapabilityInfo)>; CSPACE_SLOTS],
}

impl Held {
    fn new() -> Held {
        let mut capabilities = [None; CSPACE_SLOTS];
        let mut count = 0;
        for_each_initial_capability(|handle, info| {
            capabilities[count] = Some((handle, info));
            count += 1;
        });
        Held { capabilities }
    }

    fn iter(&self) -> impl Iterator<Item = (Handle, CapabilityInfo)> + '_ {
        self.capabilities.iter().flatten().copied()
    }

    /// The first capability of `kind`.
    fn first(&self, kind: ObjectType) -> Option<Handle> {
        self.iter().find(|(_, info)| info.kind == kind).map(|(handle, _)| handle)
    }

    fn count(&self, kind: ObjectType) -> usize {
        self.iter().filter(|(_, info)| info.kind == kind).count()
    }

    fn holds(&self, handle: Handle) -> bool {
        self.iter().any(|(held, _)| held == handle)
    }
}

/// 1. Every handle it was not given names nothing it can map.
fn guessed_handles(tally: &mut Tally, held: &Held) {
    let (mut guesses, mut named) = (0, 0);
    for index in 1..CSPACE_SLOTS {
        for generation in 0..4 {
            let guess = Handle::new(index, generation);
            if held.holds(guess) {
                continue;
            }
            guesses += 1;
            match map(guess, FRAMES_AT, Rights::READ) {
                Err(Error::InvalidHandle | Error::StaleHandle) => {}
                Ok(()) => {
                    named += 1;
                    let _ = unmap(guess);
                }
                Err(_) => named += 1,
            }
        }
    }
    let attempt = format_args!("map each of {} handles it was not given (every slot, generations 0 to 3)", guesses);
    if named == 0 {
        tally.denied(attempt, format_args!("invalid or stale handle: a handle names only its own capabilities"));
    } else {
        tally.found(attempt, format_args!("{} of them named a capability", named));
    }
}

/// 2. `CapObject` on every capability: where its object is.
fn where_objects_are(tally: &mut Tally, held: &Held) {
    let mut interrupts = (0, 0);
    for (handle, info) in held.iter() {
        let answer = cap_object(handle);
        if info.kind == ObjectType::Interrupt {
            interrupts.0 += 1;
            // An interrupt number, no memory.
            if answer.is_ok_and(|(_, bytes)| bytes == 0) {
                interrupts.1 += 1;
            }
            continue;
        }
        let attempt = format_args!("CapObject on its {:?} in slot {}", info.kind, handle.index());
        match answer {
            Err(error) => tally.denied(attempt, format_args!("{}", error.name())),
            Ok((start, bytes)) if covers_secret(start, bytes) => {
                tally.found(attempt, format_args!("{:#010x} + {:#x} covers the secret's page", start, bytes))
            }
            Ok((start, bytes))
                if info.kind == ObjectType::DeviceRegion && overlaps(start, bytes, RAM_BASE, RAM_BYTES) =>
            {
                tally.found(attempt, format_args!("a device region over RAM: {:#010x} + {:#x}", start, bytes))
            }
            Ok((start, 0)) => tally.denied(attempt, format_args!("{:#x}, no memory", start)),
            Ok((start, bytes)) => tally.denied(
                attempt,
                format_args!("{:#010x}..{:#010x}, not the secret's page {:#010x}", start, start + bytes, SECRET_PAGE),
            ),
        }
    }
    let attempt = format_args!("CapObject on its {} interrupts", interrupts.0);
    if interrupts.0 == interrupts.1 {
        tally.denied(attempt, format_args!("interrupt numbers, no memory"));
    } else {
        tally.found(attempt, format_args!("{} of them name memory", interrupts.0 - interrupts.1));
    }
}

/// 3. QEMU's firmware configuration device: the host hands the guest
///    files through it (with `-fw_cfg`, or a device's option ROM); none
///    may be the secret. Read through its selector and data registers,
///    never its DMA interface.
fn firmware_configuration(tally: &mut Tally, held: &Held) {
    let device = held.iter().find(|&(handle, info)| {
        info.kind == ObjectType::DeviceRegion && cap_object(handle).is_ok_and(|(start, _)| start == FW_CFG)
    });
    let Some((device, _)) = device else {
        return tally.cannot("read the firmware configuration", "init gave no capability to it");
    };
    if let Err(error) = map(device, FW_CFG_AT, Rights::READ | Rights::WRITE) {
        return tally.cannot("read the firmware configuration", error.name());
    }
    let select = |key: u16| {
        // SAFETY: the selector register, 2 bytes big-endian at offset 8 of
        // the device page mapped at FW_CFG_AT just above.
        unsafe { core::ptr::write_volatile((FW_CFG_AT + 8) as *mut u16, key.to_be()) }
    };
    let read = |bytes: &mut [u8]| {
        for byte in bytes {
            // SAFETY: the data register, at offset 0 of the same page: each
            // byte read gives the selected item's next byte.
            *byte = unsafe { core::ptr::read_volatile(FW_CFG_AT as *const u8) };
        }
    };
    let mut signature = [0u8; 4];
    select(FW_CFG_SIGNATURE);
    read(&mut signature);
    if signature != *b"QEMU" {
        let _ = unmap(device);
        return tally.cannot("read the firmware configuration", "no QEMU signature");
    }
    let mut count = [0u8; 4];
    select(FW_CFG_FILE_DIR);
    read(&mut count);
    let count = u32::from_be_bytes(count);
    let (mut named, mut entry) = (false, [0u8; 64]);
    for _ in 0..count {
        read(&mut entry);
        let name = &entry[8..];
        let name =
            core::str::from_utf8(&name[..name.iter().position(|&b| b == 0).unwrap_or(name.len())]).unwrap_or("?");
        println!(
            "secretprobe: the firmware configuration holds {:?}, {} bytes",
            name,
            u32::from_be_bytes([entry[0], entry[1], entry[2], entry[3]])
        );
        named |= named_like(name, "uds");
    }
    let _ = unmap(device);
    let attempt = format_args!("look for the secret's file among the firmware configuration's {} files", count);
    if named {
        tally.found(attempt, format_args!("a file named like uds.bin"));
    } else {
        tally.denied(attempt, format_args!("none is named like uds.bin: QEMU's loader puts it in RAM only"));
    }
}

/// 4. The boot image holds programs, packages and the key list: nothing
///    named or shaped like the secret's file.
fn boot_image(tally: &mut Tally, image: Handle) {
    let mapping = match Mapping::new(image, BOOT_IMAGE_AT, Rights::READ) {
        Ok(mapping) => mapping,
        Err(error) => return tally.cannot("read the boot image", error.name()),
    };
    let bytes = mapping.as_bytes();
    let parsed = bootimage::declared_size(bytes)
        .and_then(|size| bytes.get(..size))
        .and_then(|bytes| BootImage::parse(bytes).ok());
    let Some(parsed) = parsed else {
        let _ = unmap(image);
        return tally.cannot("read the boot image", "it does not parse");
    };
    let attempt = format_args!("map the boot image and look for the secret's file among its {} entries", parsed.len());
    let named = parsed.iter().find(|program| named_like(program.name, "uds"));
    let other = parsed.iter().find(|program| {
        let magic = program.elf.get(..4).unwrap_or_default();
        magic != b"\x7fELF" && magic != tessera_abi::package::MAGIC && magic != tessera_abi::package::TRUSTED_KEYS_MAGIC
    });
    match (named, other) {
        (Some(program), _) => tally.found(attempt, format_args!("an entry named {:?}", program.name)),
        (None, Some(program)) => {
            tally.found(attempt, format_args!("{:?} is no program, package or key list", program.name))
        }
        (None, None) => tally.denied(
            attempt,
            format_args!("each is a program, an app package or the key list; none is named like uds.bin"),
        ),
    }
    let _ = unmap(image);
}

/// True if `name` contains `needle`, ignoring ASCII case.
fn named_like(name: &str, needle: &str) -> bool {
    name.as_bytes().windows(needle.len()).any(|window| window.eq_ignore_ascii_case(needle.as_bytes()))
}

/// 5. Its memory and device capabilities mapped at the secret's address,
///    taken as a virtual one: in the kernel's half of every address space.
fn map_at_the_secret(tally: &mut Tally, held: &Held) {
    for kind in [ObjectType::Frame, ObjectType::DeviceRegion] {
        let Some(handle) = held.first(kind) else {
            return tally.cannot("map at the secret's address", "no frame or device region");
        };
        tally.refused(
            format_args!("map its {:?} at the secret's address {:#010x} as a virtual address", kind, SECRET_PAGE),
            map(handle, SECRET_PAGE, Rights::READ),
            &[Error::BadAddress],
        );
    }
}

/// 6. All its untyped memory, as frames: none is the secret's page, each
///    reads as zeros. Returns one frame, kept for the Pluton requests.
fn untyped_memory(tally: &mut Tally, untyped: Handle) -> Option<Handle> {
    tally.refused(
        format_args!("carve a block of all of RAM ({} MiB) from its untyped memory", RAM_BYTES >> 20),
        retype(untyped, ObjectType::Untyped, RAM_BYTES),
        &[Error::OutOfMemory],
    );
    let (mut frames, mut total, mut lowest, mut highest) = (0, 0, u32::MAX, 0);
    let (mut over_secret, mut not_zero, mut unreadable) = (0, 0, 0);
    let mut kept = None;
    for size in [MAX_FRAME_BYTES, PAGE_SIZE as u32] {
        while let Ok(frame) = retype(untyped, ObjectType::Frame, size) {
            frames += 1;
            match cap_object(frame) {
                Ok((start, bytes)) => {
                    total += bytes;
                    lowest = lowest.min(start);
                    highest = highest.max(start + bytes);
                    if covers_secret(start, bytes) {
                        over_secret += 1;
                    }
                }
                Err(_) => unreadable += 1,
            }
            match Mapping::new(frame, FRAMES_AT, Rights::READ) {
                Ok(mapping) => {
                    if mapping.as_bytes().iter().any(|&byte| byte != 0) {
                        not_zero += 1;
                    }
                    let _ = unmap(frame);
                }
                Err(_) => unreadable += 1,
            }
            if kept.is_none() {
                kept = Some(frame);
            } else {
                let _ = cap_delete(frame);
            }
        }
    }
    if frames == 0 || unreadable > 0 {
        tally.cannot("retype its untyped memory into frames and read them", "retype, CapObject or Map failed");
        return kept;
    }
    let attempt = format_args!(
        "retype all its untyped memory into {} frames ({} KiB) and ask where each is",
        frames,
        total / 1024
    );
    if over_secret == 0 {
        tally.denied(
            attempt,
            format_args!(
                "all within {:#010x}..{:#010x}, none the secret's page {:#010x}",
                lowest, highest, SECRET_PAGE
            ),
        );
    } else {
        tally.found(attempt, format_args!("{} frames cover the secret's page", over_secret));
    }
    let attempt = format_args!("map each of its {} fresh frames and read what they hold", frames);
    if not_zero == 0 {
        tally.denied(attempt, format_args!("{} KiB of zeros: a fresh frame holds nothing of anyone's", total / 1024));
    } else {
        tally.found(attempt, format_args!("{} frames held something", not_zero));
    }
    kept
}

/// 7. The Pluton security server, through an endpoint with a badge that
///    names no caller.
fn pluton(tally: &mut Tally, endpoint: Handle, frame: Handle, device: Handle) {
    match cap_info(endpoint) {
        Ok(info) if info.badge == PLUTON_BADGE => {}
        _ => return tally.cannot("ask the Pluton security server", "its endpoint does not carry badge 17"),
    }
    tally.refused(
        format_args!("receive on the Pluton security server's endpoint (to read others' requests)"),
        receive(endpoint, Timeout::NoWait),
        &[Error::MissingRight],
    );
    let attempt = format_args!("derive an unbadged copy of its Pluton endpoint (to call as the loader, badge 0)");
    match cap_derive(endpoint, Rights::SEND, 0).map(|copy| (copy, cap_info(copy))) {
        Ok((copy, Ok(info))) if info.badge == PLUTON_BADGE => {
            tally.denied(attempt, format_args!("the copy keeps badge {}", PLUTON_BADGE));
            let _ = cap_delete(copy);
        }
        Ok((copy, info)) => {
            tally.found(attempt, format_args!("the copy has badge {:?}", info.map(|info| info.badge)));
            let _ = cap_delete(copy);
        }
        Err(error) => tally.denied(attempt, format_args!("{}", error.name())),
    }
    tally.refused(
        format_args!("mint badge 1 (app client 1) on its badged Pluton endpoint"),
        cap_derive(endpoint, Rights::SEND, 1),
        &[Error::InvalidArgument],
    );
    // Every request, shaped as its rightful caller would send it.
    let buffer = |label, words: [u32; 3]| Message::with_capability(label, words, frame);
    let requests = [
        ("DEVICE_ID", Message::new(DEVICE_ID, [0; 4])),
        ("ATTEST", buffer(ATTEST, [32, 0, 0])),
        ("RANDOM", buffer(RANDOM, [32, 0, 0])),
        ("SEAL", Message::new(SEAL, [16, 0, 0, 0])),
        ("UNSEAL", Message::new(UNSEAL, [64, 0, 0, 0])),
        ("SIGN_CHALLENGE", Message::new(SIGN_CHALLENGE, [32, 0, 0, 0])),
        ("VERIFY_PACKAGE", Message::new(VERIFY_PACKAGE, [1, 0, 0, 0])),
        ("RECORD_APP", buffer(RECORD_APP, [1, 1, 0])),
        ("ENTROPY_SOURCE", Message { label: ENTROPY_SOURCE, words: [0, 0, device.0, frame.0], caps: 2 }),
        ("an unknown request (label 10)", Message::new(10, [0; 4])),
    ];
    for (name, request) in requests {
        let attempt = format_args!("ask the Pluton security server for {} with badge {}", name, PLUTON_BADGE);
        match call(endpoint, &request, Timeout::Millis(1000)) {
            Ok(answer) if answer.message.label == Error::PermissionDenied as u32 => {
                tally.denied(attempt, format_args!("{}", Error::PermissionDenied.name()))
            }
            Ok(answer) => match Error::from_code(answer.message.label) {
                Some(error) => tally.found(attempt, format_args!("refused, but for another reason: {}", error.name())),
                None => tally.found(attempt, format_args!("answered")),
            },
            Err(error) => tally.found(attempt, format_args!("the call failed: {}", error.name())),
        }
    }
}

fn search() -> u32 {
    let held = Held::new();
    let mut line = LineWriter::new();
    let _ = write!(line, "secretprobe: holds {} capabilities from init:", held.iter().count());
    for kind in ObjectType::ALL {
        let count = held.count(kind);
        if count > 0 {
            let _ = write!(line, " {:?} {}", kind, count);
        }
    }
    let _ = writeln!(line);
    drop(line);

    let mut tally = Tally::default();
    guessed_handles(&mut tally, &held);
    where_objects_are(&mut tally, &held);
    firmware_configuration(&mut tally, &held);
    match held.first(ObjectType::Frame) {
        Some(image) => boot_image(&mut tally, image),
        None => tally.cannot("read the boot image", "init gave no boot image capability"),
    }
    map_at_the_secret(&mut tally, &held);
    let frame = match held.first(ObjectType::Untyped) {
        Some(untyped) => untyped_memory(&mut tally, untyped),
        None => {
            tally.cannot("retype untyped memory", "init gave none");
            None
        }
    };
    let (endpoint, device) = (held.first(ObjectType::Endpoint), held.first(ObjectType::DeviceRegion));
    match (endpoint, frame, device) {
        (Some(endpoint), Some(frame), Some(device)) => pluton(&mut tally, endpoint, frame, device),
        _ => tally.cannot("ask the Pluton security server", "no endpoint, frame or device region to do it with"),
    }

    if tally.found == 0 && tally.not_made == 0 {
        println!("secretprobe: {} attempts, every one denied", tally.attempts);
    } else {
        println!(
            "secretprobe: {} of {} attempts FOUND a way to the secret; {} could not be made",
            tally.found, tally.attempts, tally.not_made
        );
    }
    tally.found + tally.not_made
}

fn main(start: tessera_rt::Start) -> u32 {
    match start.argument {
        SEARCH => search(),
        READ_KERNEL_MAP => {
            println!(
                "secretprobe: reading the secret's page at {:#010x} through the kernel's identity map (must fault)",
                SECRET_PAGE
            );
            // SAFETY: deliberately unchecked: the MMU decides. The value
            // is never printed, in case the read is ever allowed.
            let value = unsafe { core::ptr::read_volatile(SECRET_PAGE as *const u32) };
            core::hint::black_box(value);
            println!(
                "secretprobe: read the secret's page through the kernel's identity map: FOUND (the load returned)"
            );
            1
        }
        other => {
            println!("secretprobe: unknown argument {}", other);
            2
        }
    }
}
