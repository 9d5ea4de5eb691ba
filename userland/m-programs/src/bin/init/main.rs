//! The root task on the M4: finds the boot image and its memory, starts
//! the UART and GPIO servers, then the apps of the boot image, which it supervises
//! until none is left to run, and switches the machine off. In the build
//! with the checks (feature `checks`, checks.rs) it first checks the
//! kernel: IPC with `echo`, a timer's interrupts, floating-point rounds
//! under preemption, contained faults; its status is 0 only if every
//! answer was right.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use tessera_rt::{
    cap_delete, cap_grant, cap_move, cap_object, cap_revoke, find_initial_capability, for_each_initial_capability,
    println, process_start, retype, shutdown, uptime_micros, Error, Handle, Mapping, ObjectType, Rights,
};

tessera_rt::entry!(main);

mod apps;
#[cfg(feature = "checks")]
mod checks;

use tessera_m_programs::board::{
    APP_SLOTS, APP_UART, DEVICES, GPIO_BLOCKS, OBJECT_RAM, PROGRAM_SLOTS, SECOND_RAM_SLOTS,
};

/// The device region of the board device named `name` (from `DEVICES`).
fn device(name: &str) -> Result<Handle, Error> {
    let (_, base) = DEVICES.iter().find(|(device, _)| *device == name).ok_or(Error::NotFound)?;
    let mut found = None;
    for_each_initial_capability(|handle, info| {
        if info.kind == ObjectType::DeviceRegion && cap_object(handle).is_ok_and(|(at, _)| at == *base) {
            found = Some(handle);
        }
    });
    found.ok_or(Error::NotFound)
}

/// The servers' priority: below `init`, above the apps.
const SERVER_PRIORITY: u32 = 8;

/// Most devices one server is given (the MT3620's six GPIO blocks).
const MAX_SERVER_DEVICES: usize = 8;

/// Loads the server `name` into its slot with the board devices named
/// `devices` and an endpoint to receive on, starts it, and returns
/// `init`'s copy of the endpoint (to mint the apps' badged copies from).
/// A slot outside the RAM of process objects (the MT3620's SYSRAM) gets
/// its process object from `untyped`, `init`'s own memory. `Ok(None)`: the
/// boot image has no such server (an image for a board with too few
/// server slots carries only those its apps ask for). If the server
/// cannot start after it was given the devices, they go with it: `init`
/// holds the board's only capabilities to them, so its apps are refused
/// until the next boot; a failed start of a server in SYSRAM also leaves
/// its process object's 8 KiB of `init`'s memory unused until then.
fn start_server<'a>(
    memory: &Memory,
    untyped: Handle,
    name: &str,
    devices: impl Iterator<Item = &'a str>,
) -> Result<Option<Handle>, Error> {
    let (elf, slot) = match memory.program(name) {
        Ok(found) => found,
        Err(Error::NotFound) if memory.image()?.find(name).is_none() => return Ok(None),
        Err(error) => return Err(error),
    };
    // Every device found before anything is made.
    let mut handles = [Handle::NULL; MAX_SERVER_DEVICES];
    let mut count = 0;
    for device in devices {
        *handles.get_mut(count).ok_or(Error::InvalidArgument)? = self::device(device)?;
        count += 1;
    }
    let endpoint = retype(untyped, ObjectType::Endpoint, 64)?;
    // A slot outside the RAM the kernel keeps process objects in (the
    // MT3620's SYSRAM) takes the program's pages only: its process object
    // comes from `init`'s own memory.
    let at = cap_object(slot).map_or(0, |(base, _)| base);
    let in_object_ram = (OBJECT_RAM.0..OBJECT_RAM.1).contains(&at);
    let objects = (!in_object_ram).then_some(untyped);
    let loaded = tessera_loader::identity::load_with_object(slot, objects, Some(memory.frame), name, elf, 0);
    let started = loaded.and_then(|placed| {
        if let Some(code) = placed.code_in_place {
            println!("{name}'s code runs in place at {code:#010x}");
        }
        let object = if in_object_ram { "" } else { ", its process object in init's memory" };
        println!("{name} loaded into its slot at {at:#010x}{object}");
        let given = handles[..count]
            .iter()
            .try_for_each(|&device| cap_move(device, placed.process).map(|_| ()))
            .and_then(|()| cap_grant(endpoint, placed.process, Rights::RECEIVE))
            .and_then(|_| process_start(placed.process, SERVER_PRIORITY));
        if given.is_err() {
            // The process (and what it was given) goes, wherever its
            // object was carved.
            let _ = cap_delete(placed.process);
        }
        given
    });
    if let Err(error) = started {
        // Whatever was made goes back to the slot.
        let _ = cap_revoke(slot);
        let _ = cap_delete(endpoint);
        return Err(error);
    }
    Ok(Some(endpoint))
}

/// Starts server `name` (see [`start_server`]) for apps asking for
/// `what`; a server that cannot start is one line, and its apps are
/// refused.
fn server<'a>(
    memory: &Memory,
    untyped: Handle,
    name: &str,
    what: &str,
    devices: impl Iterator<Item = &'a str>,
) -> Option<Handle> {
    match start_server(memory, untyped, name, devices) {
        Ok(Some(endpoint)) => Some(endpoint),
        Ok(None) => {
            println!("{name} is not in this boot image: apps asking for {what} are refused");
            None
        }
        Err(error) => {
            println!("cannot start {name}: {}", error.name());
            None
        }
    }
}

/// How long `init` supervises the apps in the scenario's build: `crasher`
/// is held after about 3.5 s (it works a second before each of its three
/// crashes); `uartecho`, and any app of yours that runs forever, is left
/// running.
const SCENARIO_APPS_MICROS: u64 = 6_000_000;

/// The boot image the kernel granted (read-only, mapped at its own
/// address; readable and executable, and mapped by the kernel, as init's
/// code runs from it) and the untyped memory `init` was given: the block
/// outside the program and app slots (the board description's) is for
/// objects, the others are slots.
struct Memory {
    image: Mapping,
    /// The boot image's frame, to slice programs' code from (code in
    /// place).
    frame: tessera_loader::identity::BootImageFrame,
    general: Handle,
}

impl Memory {
    fn find() -> Result<Memory, Error> {
        let handle = find_initial_capability(ObjectType::Frame, Rights::READ).ok_or(Error::NotFound)?;
        let (at, bytes) = cap_object(handle)?;
        // Mapped already when init's own code runs from it.
        let image = Mapping::new_or_existing(handle, at, Rights::READ)?;
        let frame = tessera_loader::identity::BootImageFrame { frame: handle, base: at, bytes };
        let in_slots = |at: u32| {
            [PROGRAM_SLOTS, SECOND_RAM_SLOTS, APP_SLOTS].iter().any(|&(start, end)| (start..end).contains(&at))
        };
        let mut general = None;
        for_each_initial_capability(|handle, info| {
            if info.kind == ObjectType::Untyped
                && general.is_none()
                && cap_object(handle).is_ok_and(|(at, _)| !in_slots(at))
            {
                general = Some(handle);
            }
        });
        Ok(Memory { image, frame, general: general.ok_or(Error::NotFound)? })
    }

    /// The boot image.
    fn image(&self) -> Result<tessera_abi::bootimage::BootImage<'_>, Error> {
        // The mapping is whole pages; the image says how long it is.
        let bytes = self.image.as_bytes();
        let size = tessera_abi::bootimage::declared_size(bytes).filter(|&size| size <= bytes.len());
        tessera_abi::bootimage::BootImage::parse(&bytes[..size.ok_or(Error::BadImage)?]).map_err(|_| Error::BadImage)
    }

    /// Program `name` of the boot image, and the slot it is linked for.
    fn program(&self, name: &str) -> Result<(&[u8], Handle), Error> {
        let elf = self.image()?.find(name).ok_or(Error::NotFound)?.elf;
        Ok((elf, self.slot_for(elf).ok_or(Error::NotFound)?))
    }

    /// The slot `elf` is linked for: the untyped block (a program slot or
    /// an app slot) that starts where one of its segments does: its first,
    /// or, when its code runs in place in the boot image, its stack.
    fn slot_for(&self, elf: &[u8]) -> Option<Handle> {
        let plan = tessera_abi::elf::parse_within(elf, 0x1_0000, 0xE000_0000).ok()?;
        let mut found = None;
        for_each_initial_capability(|handle, info| {
            let slot = info.kind == ObjectType::Untyped && handle != self.general;
            if found.is_none()
                && slot
                && cap_object(handle).is_ok_and(|(base, _)| plan.segments().any(|segment| segment.page_start() == base))
            {
                found = Some(handle);
            }
        });
        found
    }
}

fn main(start: tessera_rt::Start) -> u32 {
    println!("running under the portable kernel, linked at {:#010x}", main as *const () as usize);
    let memory = match Memory::find() {
        Ok(memory) => memory,
        Err(error) => {
            println!("cannot find the boot image or untyped memory: {}", error.name());
            return 1;
        }
    };
    let Some(power) = find_initial_capability(ObjectType::PowerControl, Rights::empty()) else {
        println!("missing the power capability");
        return 1;
    };
    let untyped = memory.general;
    #[cfg(feature = "checks")]
    let good = match checks::run(start, &memory, power) {
        checks::Outcome::Checked(good) => good,
        checks::Outcome::Finished(status) => return status,
    };
    #[cfg(not(feature = "checks"))]
    let good = true;
    // Then the apps of the boot image, until none is left to run (or, in
    // the scenario's build, for at most `SCENARIO_APPS_MICROS`).
    let scenario = tessera_rt::boot_arguments(start).split_whitespace().any(|word| word == "scenario");
    // The apps' servers first: the UART server, where the board has a
    // UART for apps, and the GPIO server, where it has GPIO blocks
    // (without them, apps asking for a UART or GPIO are refused).
    let uart = APP_UART.and_then(|(device, _, _)| server(&memory, untyped, "uartd", "a UART", [device].into_iter()));
    let gpio = if GPIO_BLOCKS.is_empty() {
        None
    } else {
        server(&memory, untyped, "gpiod", "GPIO", GPIO_BLOCKS.iter().map(|&(device, _, _)| device))
    };
    match apps::Apps::check(&memory, apps::Servers { uart, gpio }) {
        Ok(mut apps) => apps.run(scenario.then(|| uptime_micros() + SCENARIO_APPS_MICROS)),
        Err(error) => println!("cannot read the apps of the boot image: {}", error.name()),
    }
    #[cfg(feature = "checks")]
    println!("done: {}", if good { "all answers right" } else { "WRONG ANSWERS" });
    let status = u32::from(!good);
    if let Err(error) = shutdown(power, status) {
        println!("cannot switch off: {}", error.name());
    }
    status
}
