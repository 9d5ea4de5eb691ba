//! M-profile boards (`"profile": "armv7m"` in their `board.json`): a
//! Cortex-M core with an MPU, the kernel linked into the code memory it
//! boots from (the vector table at its start) and its data in RAM.
//! docs/mt3620.md is the design. Emulated boards live in `qemu/<board>/`
//! and have a `qemu` object; real boards (the MT3620's real-time core)
//! live in `boards/<board>/` and have none.

use std::fs;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::{boards_dir, read_json, Error, Object, Qemu, DESCRIPTION_FILE};

/// The value of `profile` that makes a board M-profile.
pub const PROFILE: &str = "armv7m";

/// The folder holding one folder per real (not emulated) board: `boards/`.
pub fn hardware_dir() -> PathBuf {
    // This crate is `qemu/board-description`: two folders up is the
    // workspace (no `..` in the path, which messages show).
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().and_then(Path::parent).unwrap_or(manifest).join("boards")
}

/// The environment variable through which xtask tells
/// `userland/m-programs/build.rs` where program `name` runs its code in
/// place in the boot image (docs/mt3620.md, "Code in place"):
/// `TESSERA_M_TEXT_<NAME>`, upper case, `-` as `_`.
pub fn program_text_variable(name: &str) -> String {
    format!("TESSERA_M_TEXT_{}", name.to_uppercase().replace('-', "_"))
}

/// The folder of board `folder`: `qemu/<folder>` for an emulated board,
/// else `boards/<folder>`.
pub fn board_dir(folder: &str) -> PathBuf {
    let emulated = boards_dir().join(folder);
    if emulated.join(DESCRIPTION_FILE).is_file() {
        emulated
    } else {
        hardware_dir().join(folder)
    }
}

/// Who puts `.data` in RAM before the kernel runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DataLoad {
    /// The kernel's reset handler copies it from code memory (QEMU's
    /// `-kernel` writes every segment where it is linked, but a core that
    /// boots from ROM or flash has only code memory filled).
    Kernel,
    /// The image loader writes it at its RAM address (the MT3620's
    /// real-time app loader loads each ELF segment itself).
    Loader,
}

/// Where code and data go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Memory {
    /// Code memory: the core boots from its start (the vector table).
    pub code_base: u32,
    pub code_bytes: u32,
    /// The alignment code and read-only data must have there (a power of
    /// two; 32 on the MT3620's flash, whose loader maps code in place).
    pub code_align: u32,
    /// RAM for data, BSS and stacks.
    pub ram_base: u32,
    pub ram_bytes: u32,
    pub data_loaded_by: DataLoad,
}

/// The UART the kernel prints on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UartKind {
    /// Arm's CMSDK APB UART (QEMU's MPS2 boards).
    Cmsdk,
    /// A 16550-compatible UART with 32-bit registers (the MT3620's
    /// debug UART): transmit holding register at 0x00, line status at 0x14.
    Ns16550,
}

/// How a run ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// Through semihosting, with a status (QEMU with `-semihosting`).
    Semihosting,
    /// The core waits for interrupts forever (a real board: a semihosting
    /// call without a debugger attached would fault).
    Halt,
}

/// What the kernel drives itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KernelDevices {
    /// The UART the kernel prints on, and its kind.
    pub uart: u32,
    pub uart_kind: UartKind,
    /// The core's clock (the UART's baud divisor and SysTick count it).
    pub clock_hz: u32,
    /// How many MPU regions the core has (PMSAv7: 8 on a Cortex-M4).
    pub mpu_regions: u32,
    /// External interrupts at the NVIC: the vector table has a handler
    /// for each.
    pub interrupts: u32,
    pub exit: Exit,
}

/// Where the programs the kernel starts itself are linked (user
/// addresses are physical under the MPU, docs/mt3620.md step 3.2): `slots`
/// slots of `slot_bytes` each from `base`, in RAM above the kernel's own.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Programs {
    pub base: u32,
    pub slot_bytes: u32,
    pub slots: u32,
}

/// A device the portable kernel grants `init` (`programs.devices`): its
/// register page(s) and, if it has one, its NVIC line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserDevice {
    pub name: String,
    pub base: u32,
    pub bytes: u32,
    pub line: Option<u32>,
    /// For a UART the UART server drives for apps (`"uart": "cmsdk"` or
    /// `"16550"`): its kind. The first such device is the apps' UART 0.
    pub uart: Option<UartKind>,
    /// Where its registers start in its page(s) (`registers_at`; 0 unless
    /// said: the MT3620's ISU UARTs are at 0x500 in their ISU's page).
    pub registers_at: u32,
    /// For a GPIO block the GPIO server drives for apps (`"gpio": { "kind":
    /// "mt3620" or "mps2-leds", "first_pin": N, "pins": K }`): its kind
    /// and the pin numbers it holds.
    pub gpio: Option<GpioBlock>,
}

/// A GPIO block of a board (`programs.devices[].gpio`): pins
/// `first_pin..first_pin + pins` in the numbering apps' manifests use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GpioBlock {
    pub kind: GpioKind,
    pub first_pin: u32,
    pub pins: u32,
}

/// Which register interface a GPIO block has (`tessera_abi::gpio::Kind`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GpioKind {
    /// An MT3620 GPIO block (`"mt3620"`), four pins at most.
    Mt3620,
    /// The LEDs of an MPS2 board's FPGA I/O block (`"mps2-leds"`), the
    /// stand-in for GPIO outputs on QEMU's `mps2-an386`.
    Mps2Leds,
}

/// A second RAM beside the one the kernel's data and the process objects
/// are in (`"second_ram"`: the MT3620's 64 KiB SYSRAM beside its TCM):
/// it holds `program_slots` more program slots of `programs.slot_bytes`
/// each from `base`, whose programs' process objects come from `init`'s
/// memory in the first RAM (the kernel's process table covers that one
/// only).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SecondRam {
    pub name: String,
    pub base: u32,
    pub bytes: u32,
    pub program_slots: u32,
}

/// Pins are named by a bit of a `u32` mask (the GPIO server's badge), so
/// a board's GPIO pins are numbered below this.
pub const GPIO_PIN_LIMIT: u32 = 32;

/// Frames the kernel takes for itself (its endpoints, the process table's
/// generations) from just below the program slots, where its stack ends,
/// unless the description says otherwise (`programs.kernel_pool_bytes`).
pub const KERNEL_POOL_BYTES: u32 = 32 * 1024;
/// The least pool a description may ask for: a page for the process
/// table's generations and one for the kernel's endpoint.
pub const KERNEL_POOL_MIN_BYTES: u32 = 8 * 1024;

/// The RAM above the slots `init` needs at least for its objects (the
/// endpoints and notifications it makes, and, in the build with the
/// checks, a child process and its page). `init` tells it from the slots
/// by its address (outside them), not by its size.
pub const INIT_MEMORY_MIN_BYTES: u32 = 32 * 1024;

/// The MPU window the programs' slots are aligned to (`kernel_core::mpu`:
/// a region is a naturally aligned 32 KiB window of 4 KiB pages).
pub const PROGRAM_ALIGN: u32 = 32 * 1024;

impl Programs {
    /// Reads `base`, `slot_bytes` and `slots` from `object`.
    fn read(object: &mut Object<'_>) -> Result<Programs, Error> {
        Ok(Programs {
            base: object.number("base")?,
            slot_bytes: object.number("slot_bytes")?,
            slots: object.number("slots")?,
        })
    }

    /// Checks that the slots are MPU windows (32 KiB aligned, at least
    /// one) between `lowest` and `ram_end`; `what` names the object.
    fn check(&self, file: &str, what: &str, lowest: u64, ram_end: u64, memory: &Memory) -> Result<(), Error> {
        if !self.base.is_multiple_of(PROGRAM_ALIGN)
            || !self.slot_bytes.is_multiple_of(PROGRAM_ALIGN)
            || self.slot_bytes == 0
            || self.slots == 0
        {
            return Err(Error(format!(
                "{file}: {what}: base and slot_bytes must be non-zero multiples of {PROGRAM_ALIGN} (an MPU \
                 window), with at least one slot"
            )));
        }
        let end = u64::from(self.base) + u64::from(self.slot_bytes) * u64::from(self.slots);
        if u64::from(self.base) < lowest || end > ram_end {
            return Err(Error(format!(
                "{file}: {what}: {} slots of {:#x} bytes at {:#010x} do not fit in RAM ({:#010x}, {:#x} bytes) \
                 above {lowest:#010x}",
                self.slots, self.slot_bytes, self.base, memory.ram_base, memory.ram_bytes
            )));
        }
        Ok(())
    }

    /// The first address past the last slot.
    pub fn end(&self) -> u32 {
        self.base + self.slot_bytes * self.slots
    }

    /// Where slot `slot` starts.
    pub fn slot(&self, slot: u32) -> u32 {
        self.base + self.slot_bytes * slot
    }
}

/// An M-profile board's description.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Board {
    /// The board's folder name (under `qemu/` or `boards/`).
    pub folder: String,
    pub name: String,
    /// How QEMU emulates it; `None` for a real board.
    pub qemu: Option<Qemu>,
    pub memory: Memory,
    pub kernel_devices: KernelDevices,
    /// The slots of the programs the portable kernel starts; `None`: the
    /// board runs only the mechanism checks so far.
    pub programs: Option<Programs>,
    /// The slots apps are linked at (`apps`: above the programs'), one app
    /// each, which `init` loads from the boot image; `None`: no apps.
    pub apps: Option<Programs>,
    /// The devices the portable kernel grants `init`.
    pub user_devices: Vec<UserDevice>,
    /// The kernel's own frames below the program slots (0 without slots).
    pub kernel_pool_bytes: u32,
    /// A second RAM with more program slots (`None`: one RAM).
    pub second_ram: Option<SecondRam>,
    /// The scenarios `cargo xtask test` runs on it.
    pub scenarios: Vec<String>,
}

/// Reads a device's `gpio` object; `at` names it in errors.
fn read_gpio(mut object: Object<'_>, at: &str) -> Result<GpioBlock, Error> {
    let kind = match object.string("kind")?.as_str() {
        "mt3620" => GpioKind::Mt3620,
        "mps2-leds" => GpioKind::Mps2Leds,
        other => return Err(Error(format!("{at}.kind: expected \"mt3620\" or \"mps2-leds\", found {other:?}"))),
    };
    let block = GpioBlock { kind, first_pin: object.number("first_pin")?, pins: object.number("pins")? };
    object.finish()?;
    let most = match kind {
        GpioKind::Mt3620 => 4,
        GpioKind::Mps2Leds => 8,
    };
    if block.pins == 0 || block.pins > most {
        return Err(Error(format!("{at}.pins: {} pins; a block of this kind has 1 to {most}", block.pins)));
    }
    if block.first_pin.checked_add(block.pins).is_none_or(|end| end > GPIO_PIN_LIMIT) {
        return Err(Error(format!(
            "{at}: pins {} to {} reach past {}: the GPIO server names pins by a 32-bit mask",
            block.first_pin,
            u64::from(block.first_pin) + u64::from(block.pins) - 1,
            GPIO_PIN_LIMIT - 1
        )));
    }
    Ok(block)
}

/// Whether the description in board folder `dir` is M-profile.
pub fn is_armv7m(dir: &Path) -> bool {
    let text = fs::read_to_string(dir.join(DESCRIPTION_FILE)).unwrap_or_default();
    serde_json::from_str::<Value>(&text)
        .ok()
        .and_then(|document| document.get("profile").and_then(Value::as_str).map(|profile| profile == PROFILE))
        .unwrap_or(false)
}

/// The interrupts an Armv7-M NVIC can have at most.
const MAX_INTERRUPTS: u32 = 496;

impl Board {
    /// Reads and checks the description of board `folder` ([`board_dir`]).
    pub fn load(folder: &str) -> Result<Board, Error> {
        let path = board_dir(folder).join(DESCRIPTION_FILE);
        let text = fs::read_to_string(&path)
            .map_err(|err| Error(format!("cannot read the board description {}: {err}", path.display())))?;
        let parent = if path.starts_with(hardware_dir()) { "boards" } else { "qemu" };
        Board::parse(&format!("{parent}/{folder}/{DESCRIPTION_FILE}"), folder, &text)
    }

    /// Parses and checks a description; `file` names it in errors.
    pub fn parse(file: &str, folder: &str, text: &str) -> Result<Board, Error> {
        let document = read_json(file, text)?;
        let mut top = Object::new(file, String::new(), &document)?;
        let name = top.string("name")?;
        let profile = top.string("profile")?;
        if profile != PROFILE {
            return Err(Error(format!("{file}: profile: expected \"{PROFILE}\", found \"{profile}\"")));
        }
        let qemu_facts = if top.has("qemu") { Some(Qemu::parse(&mut top)?) } else { None };

        let mut memory = top.object("memory")?;
        let code_align = if memory.has("code_align") { memory.number("code_align")? } else { 4 };
        if !code_align.is_power_of_two() || code_align < 4 {
            return Err(Error(format!("{file}: memory.code_align: {code_align} is not a power of two of at least 4")));
        }
        let data_loaded_by = if memory.has("data_loaded_by") {
            match memory.string("data_loaded_by")?.as_str() {
                "kernel" => DataLoad::Kernel,
                "loader" => DataLoad::Loader,
                other => {
                    return Err(Error(format!(
                        "{file}: memory.data_loaded_by: \"{other}\" is neither \"kernel\" nor \"loader\""
                    )))
                }
            }
        } else {
            DataLoad::Kernel
        };
        let memory_facts = Memory {
            code_base: memory.number("code_base")?,
            code_bytes: memory.number("code_bytes")?,
            code_align,
            ram_base: memory.number("ram_base")?,
            ram_bytes: memory.number("ram_bytes")?,
            data_loaded_by,
        };
        for (what, base, bytes) in [
            ("code", memory_facts.code_base, memory_facts.code_bytes),
            ("ram", memory_facts.ram_base, memory_facts.ram_bytes),
        ] {
            if bytes == 0 || base.checked_add(bytes - 1).is_none() {
                return Err(Error(format!("{file}: memory.{what}: {bytes:#x} bytes at {base:#010x} do not fit")));
            }
        }
        if !memory_facts.code_base.is_multiple_of(code_align) {
            return Err(Error(format!("{file}: memory.code_base is not a multiple of code_align ({code_align})")));
        }
        let code_end = u64::from(memory_facts.code_base) + u64::from(memory_facts.code_bytes);
        let ram_end = u64::from(memory_facts.ram_base) + u64::from(memory_facts.ram_bytes);
        if u64::from(memory_facts.code_base) < ram_end && u64::from(memory_facts.ram_base) < code_end {
            return Err(Error(format!("{file}: memory: code and RAM overlap")));
        }
        memory.finish()?;

        let mut user_devices = Vec::new();
        let mut kernel_pool_bytes = KERNEL_POOL_BYTES;
        let programs = if top.has("programs") {
            let mut object = top.object("programs")?;
            let programs = Programs::read(&mut object)?;
            if object.has("devices") {
                for (index, value) in object.array("devices")?.iter().enumerate() {
                    let mut device = Object::new(file, format!("programs.devices[{index}]"), value)?;
                    let uart = if device.has("uart") {
                        match device.string("uart")?.as_str() {
                            "cmsdk" => Some(UartKind::Cmsdk),
                            "16550" => Some(UartKind::Ns16550),
                            other => {
                                return Err(Error(format!(
                                    "{file}: programs.devices[{index}].uart: expected \"cmsdk\" or \"16550\", found {other:?}"
                                )))
                            }
                        }
                    } else {
                        None
                    };
                    let gpio = if device.has("gpio") {
                        Some(read_gpio(device.object("gpio")?, &format!("{file}: programs.devices[{index}].gpio"))?)
                    } else {
                        None
                    };
                    let found = UserDevice {
                        name: device.string("name")?,
                        base: device.number("base")?,
                        bytes: device.number("bytes")?,
                        line: if device.has("line") { Some(device.number("line")?) } else { None },
                        uart,
                        registers_at: if device.has("registers_at") { device.number("registers_at")? } else { 0 },
                        gpio,
                    };
                    device.finish()?;
                    if found.uart.is_some() && found.gpio.is_some() {
                        return Err(Error(format!(
                            "{file}: programs.devices[{index}]: {} is a UART and a GPIO block; one device is one",
                            found.name
                        )));
                    }
                    let pins = |device: &UserDevice| device.gpio.map(|gpio| gpio.first_pin..gpio.first_pin + gpio.pins);
                    if let Some(mine) = pins(&found) {
                        let overlapping = user_devices.iter().find(|other| {
                            pins(other).is_some_and(|theirs| mine.start < theirs.end && theirs.start < mine.end)
                        });
                        if let Some(other) = overlapping {
                            return Err(Error(format!(
                                "{file}: programs.devices[{index}]: {}'s pins {} to {} overlap {}'s",
                                found.name,
                                mine.start,
                                mine.end - 1,
                                other.name
                            )));
                        }
                    }
                    if found.registers_at >= found.bytes || !found.registers_at.is_multiple_of(4) {
                        return Err(Error(format!(
                            "{file}: programs.devices[{index}]: {}'s registers_at {:#x} is not a word inside its {:#x} bytes",
                            found.name, found.registers_at, found.bytes
                        )));
                    }
                    if !found.base.is_multiple_of(4096) || found.bytes == 0 || !found.bytes.is_multiple_of(4096) {
                        return Err(Error(format!(
                            "{file}: programs.devices[{index}]: {} must be whole 4 KiB pages",
                            found.name
                        )));
                    }
                    user_devices.push(found);
                }
            }
            if object.has("kernel_pool_bytes") {
                kernel_pool_bytes = object.number("kernel_pool_bytes")?;
                if kernel_pool_bytes < KERNEL_POOL_MIN_BYTES || !kernel_pool_bytes.is_multiple_of(4096) {
                    return Err(Error(format!(
                        "{file}: programs.kernel_pool_bytes: {kernel_pool_bytes:#x} is not whole 4 KiB pages of at \
                         least {} KiB",
                        KERNEL_POOL_MIN_BYTES / 1024
                    )));
                }
            }
            object.finish()?;
            let lowest = u64::from(memory_facts.ram_base) + u64::from(kernel_pool_bytes);
            programs.check(file, "programs", lowest, ram_end, &memory_facts)?;
            Some(programs)
        } else {
            None
        };
        let apps = match (top.has("apps"), programs) {
            (false, _) => None,
            (true, None) => return Err(Error(format!("{file}: apps: a board with app slots needs program slots"))),
            (true, Some(programs)) => {
                let mut object = top.object("apps")?;
                let apps = Programs::read(&mut object)?;
                object.finish()?;
                apps.check(file, "apps", u64::from(programs.end()), ram_end, &memory_facts)?;
                Some(apps)
            }
        };
        let second_ram = match (top.has("second_ram"), programs) {
            (false, _) => None,
            (true, None) => {
                return Err(Error(format!("{file}: second_ram: a board with a second RAM needs program slots")))
            }
            (true, Some(programs)) => {
                let mut object = top.object("second_ram")?;
                let second = SecondRam {
                    name: object.string("name")?,
                    base: object.number("base")?,
                    bytes: object.number("bytes")?,
                    program_slots: object.number("program_slots")?,
                };
                object.finish()?;
                let (base, end) = (u64::from(second.base), u64::from(second.base) + u64::from(second.bytes));
                let overlaps =
                    |start: u32, bytes: u32| base < u64::from(start) + u64::from(bytes) && u64::from(start) < end;
                // Below 4 GiB with room to spare: slot addresses are `u32`s.
                if second.bytes == 0 || end >= 1 << 32 {
                    return Err(Error(format!(
                        "{file}: second_ram: {:#x} bytes at {:#010x} do not fit",
                        second.bytes, second.base
                    )));
                }
                let devices = user_devices.iter().any(|device| overlaps(device.base, device.bytes));
                if overlaps(memory_facts.code_base, memory_facts.code_bytes)
                    || overlaps(memory_facts.ram_base, memory_facts.ram_bytes)
                    || devices
                {
                    return Err(Error(format!(
                        "{file}: second_ram: {} overlaps code memory, RAM or a device",
                        second.name
                    )));
                }
                let slots_end = base + u64::from(programs.slot_bytes) * u64::from(second.program_slots);
                if !second.base.is_multiple_of(PROGRAM_ALIGN) || second.program_slots == 0 || slots_end > end {
                    return Err(Error(format!(
                        "{file}: second_ram: {} program slots of {:#x} bytes (programs.slot_bytes) from {:#010x} \
                         must be at least one, start on a multiple of {PROGRAM_ALIGN} (an MPU window) and fit in its \
                         {:#x} bytes",
                        second.program_slots, programs.slot_bytes, second.base, second.bytes
                    )));
                }
                Some(second)
            }
        };
        // What is left above the slots is init's memory for objects.
        if let Some(top_slot) = apps.or(programs).map(|slots| u64::from(slots.end())) {
            if ram_end - top_slot < u64::from(INIT_MEMORY_MIN_BYTES) {
                return Err(Error(format!(
                    "{file}: the slots end at {top_slot:#010x}, leaving init less than {} KiB of RAM for its \
                     objects (RAM ends at {ram_end:#010x})",
                    INIT_MEMORY_MIN_BYTES / 1024
                )));
            }
        }

        let mut kernel = top.object("kernel_devices")?;
        let (uart, uart_kind) = match (kernel.has("uart_cmsdk"), kernel.has("uart_16550")) {
            (true, false) => (kernel.number("uart_cmsdk")?, UartKind::Cmsdk),
            (false, true) => (kernel.number("uart_16550")?, UartKind::Ns16550),
            _ => return Err(Error(format!("{file}: kernel_devices: expected one UART, uart_cmsdk or uart_16550"))),
        };
        let exit = if kernel.has("exit") {
            match kernel.string("exit")?.as_str() {
                "semihosting" => Exit::Semihosting,
                "halt" => Exit::Halt,
                other => {
                    return Err(Error(format!(
                        "{file}: kernel_devices.exit: \"{other}\" is neither \"semihosting\" nor \"halt\""
                    )))
                }
            }
        } else {
            Exit::Semihosting
        };
        let kernel_devices = KernelDevices {
            uart,
            uart_kind,
            clock_hz: kernel.number("clock_hz")?,
            mpu_regions: kernel.number("mpu_regions")?,
            interrupts: kernel.number("interrupts")?,
            exit,
        };
        if kernel_devices.clock_hz == 0 || !(1..=16).contains(&kernel_devices.mpu_regions) {
            return Err(Error(format!("{file}: kernel_devices: the clock must run and the MPU have 1 to 16 regions")));
        }
        if kernel_devices.interrupts > MAX_INTERRUPTS {
            return Err(Error(format!(
                "{file}: kernel_devices.interrupts: {} is more than an Armv7-M NVIC has ({MAX_INTERRUPTS})",
                kernel_devices.interrupts
            )));
        }
        // VTOR needs the vector table (16 system entries and the
        // interrupts) aligned to its size rounded up to a power of two,
        // at least 128 bytes; the table is at the start of code memory.
        let table_align = ((16 + kernel_devices.interrupts) * 4).next_power_of_two().max(128);
        if !memory_facts.code_base.is_multiple_of(table_align) {
            return Err(Error(format!(
                "{file}: memory.code_base: {:#010x} is not a multiple of {table_align}, the alignment the vector \
                 table of {} interrupts needs",
                memory_facts.code_base, kernel_devices.interrupts
            )));
        }
        if qemu_facts.is_none() && exit == Exit::Semihosting {
            return Err(Error(format!(
                "{file}: kernel_devices.exit: a board without `qemu` has no semihosting host; use \"halt\""
            )));
        }
        kernel.finish()?;

        let scenarios = top
            .array("scenarios")?
            .iter()
            .map(|value| match value {
                Value::String(scenario) if !scenario.is_empty() => Ok(scenario.clone()),
                _ => Err(Error(format!("{file}: scenarios: expected names"))),
            })
            .collect::<Result<Vec<_>, _>>()?;
        if qemu_facts.is_none() && !scenarios.is_empty() {
            return Err(Error(format!("{file}: scenarios: a board without `qemu` cannot run any")));
        }
        top.finish()?;
        if let Some(device) =
            user_devices.iter().find(|device| device.line.is_some_and(|line| line >= kernel_devices.interrupts))
        {
            return Err(Error(format!(
                "{file}: programs.devices: {}'s line {} is not one of the board's {} interrupts",
                device.name,
                device.line.unwrap_or_default(),
                kernel_devices.interrupts
            )));
        }
        Ok(Board {
            folder: folder.to_string(),
            name,
            qemu: qemu_facts,
            memory: memory_facts,
            kernel_devices,
            programs,
            apps,
            user_devices,
            kernel_pool_bytes: if programs.is_some() { kernel_pool_bytes } else { 0 },
            second_ram,
            scenarios,
        })
    }

    /// Program slots in all: the first RAM's, then the second RAM's.
    pub fn program_slots(&self) -> u32 {
        self.programs.map_or(0, |programs| programs.slots)
            + self.second_ram.as_ref().map_or(0, |second| second.program_slots)
    }

    /// Where program slot `slot` starts: the first RAM's slots are
    /// numbered first, then the second RAM's (`None` past them).
    pub fn program_slot(&self, slot: u32) -> Option<u32> {
        let programs = self.programs?;
        if slot < programs.slots {
            return Some(programs.slot(slot));
        }
        let second = self.second_ram.as_ref()?;
        let index = slot - programs.slots;
        (index < second.program_slots).then(|| second.base + index * programs.slot_bytes)
    }

    /// The second RAM's program slots (start, end), empty without one.
    pub fn second_ram_slots(&self) -> (u32, u32) {
        match (&self.second_ram, self.programs) {
            (Some(second), Some(programs)) => (second.base, second.base + second.program_slots * programs.slot_bytes),
            _ => (0, 0),
        }
    }

    /// QEMU's arguments for the machine (`-M`, `-cpu`; its memory is
    /// fixed), or `None` for a board QEMU does not emulate.
    pub fn qemu_args(&self) -> Option<Vec<String>> {
        let qemu = self.qemu.as_ref()?;
        Some(["-M", &qemu.machine, "-cpu", &qemu.cpu].map(str::to_string).to_vec())
    }

    /// The `MEMORY` block of the M-profile kernel's linker script, the
    /// region `.data` is loaded from (`DATA_LOAD`) and the code alignment
    /// (`CODE_ALIGN`).
    pub fn linker_memory(&self) -> String {
        let memory = &self.memory;
        let data_load = match memory.data_loaded_by {
            DataLoad::Kernel => "CODE",
            DataLoad::Loader => "RAM",
        };
        format!(
            "/* Generated from the description of board {} by kernel/armv7m/build.rs: do not edit. */\n\
             MEMORY\n{{\n    CODE : ORIGIN = {:#010x}, LENGTH = {:#x}\n    RAM : ORIGIN = {:#010x}, LENGTH = {:#x}\n}}\n\
             REGION_ALIAS(\"DATA_LOAD\", {data_load});\n\
             CODE_ALIGN = {};\n\
             PROGRAMS_BASE = {:#010x};\n\
             KERNEL_POOL_BYTES = {:#x};\n",
            self.folder,
            memory.code_base,
            memory.code_bytes,
            memory.ram_base,
            memory.ram_bytes,
            memory.code_align,
            // Without programs the kernel may use all of RAM.
            self.programs.map_or(u64::from(memory.ram_base) + u64::from(memory.ram_bytes), |p| u64::from(p.base)),
            self.kernel_pool_bytes,
        )
    }

    /// The facts the kernel reads, as Rust constants.
    pub fn rust_constants(&self) -> String {
        let kernel = &self.kernel_devices;
        format!(
            "// Generated from the description of board {folder} (tessera_board::armv7m::Board::rust_constants): do not edit.\n\
             /// The board's name, for messages.\n\
             pub const NAME: &str = {name:?};\n\
             /// The UART the kernel prints on.\n\
             pub const UART: u32 = {uart:#010x};\n\
             /// Whether it is a 16550 (else a CMSDK UART).\n\
             pub const UART_16550: bool = {ns16550};\n\
             /// The core's clock in Hz.\n\
             pub const CLOCK_HZ: u32 = {clock};\n\
             /// The MPU regions the description promises.\n\
             pub const MPU_REGIONS: u32 = {regions};\n\
             /// The NVIC's external interrupts (entries after the 16 system ones).\n\
             pub const INTERRUPTS: usize = {interrupts};\n\
             /// Whether a run ends through semihosting (else the core halts).\n\
             pub const SEMIHOSTING: bool = {semihosting};\n\
             /// RAM: where it starts and its size.\n\
             pub const RAM_BASE: u32 = {ram_base:#010x};\n\
             pub const RAM_BYTES: u32 = {ram_bytes:#x};\n\
             /// The slots of the programs the portable kernel starts (none: it\n\
             /// runs only the mechanism checks): where they start, their size,\n\
             /// how many.\n\
             pub const PROGRAMS_BASE: u32 = {programs_base:#010x};\n\
             pub const PROGRAM_SLOT_BYTES: u32 = {slot_bytes:#x};\n\
             pub const PROGRAM_SLOTS: u32 = {slots};\n\
             /// The app slots, given to `init` (none: no apps).\n\
             pub const APPS_BASE: u32 = {apps_base:#010x};\n\
             pub const APP_SLOT_BYTES: u32 = {app_slot_bytes:#x};\n\
             pub const APP_SLOTS: u32 = {app_slots};\n\
             /// The kernel's own frames, just below the slots.\n\
             pub const KERNEL_POOL_BYTES: u32 = {pool:#x};\n\
             /// More program slots (of `PROGRAM_SLOT_BYTES`) in a second RAM, given to `init`:\n\
             /// where they start, how many (none: one RAM).\n\
             pub const SECOND_RAM_SLOTS_BASE: u32 = {second_base:#010x};\n\
             pub const SECOND_RAM_SLOTS: u32 = {second_slots};\n\
             /// The devices granted `init`: register pages (address, bytes),\n\
             /// and their interrupt IDs (exception numbers, 16 + line).\n\
             pub const USER_DEVICES: [(u32, u32); {device_count}] = [{devices}];\n\
             pub const USER_INTERRUPTS: [u32; {line_count}] = [{lines}];\n",
            folder = self.folder,
            name = self.name,
            uart = kernel.uart,
            ns16550 = kernel.uart_kind == UartKind::Ns16550,
            clock = kernel.clock_hz,
            regions = kernel.mpu_regions,
            interrupts = kernel.interrupts,
            semihosting = kernel.exit == Exit::Semihosting,
            ram_base = self.memory.ram_base,
            ram_bytes = self.memory.ram_bytes,
            programs_base = self.programs.map_or(0, |p| p.base),
            slot_bytes = self.programs.map_or(0, |p| p.slot_bytes),
            slots = self.programs.map_or(0, |p| p.slots),
            apps_base = self.apps.map_or(0, |p| p.base),
            app_slot_bytes = self.apps.map_or(0, |p| p.slot_bytes),
            app_slots = self.apps.map_or(0, |p| p.slots),
            pool = self.kernel_pool_bytes,
            second_base = self.second_ram.as_ref().map_or(0, |second| second.base),
            second_slots = self.second_ram.as_ref().map_or(0, |second| second.program_slots),
            device_count = self.user_devices.len(),
            devices = self
                .user_devices
                .iter()
                .map(|device| format!("({:#010x}, {:#x})", device.base, device.bytes))
                .collect::<Vec<_>>()
                .join(", "),
            line_count = self.user_devices.iter().filter(|device| device.line.is_some()).count(),
            lines = self
                .user_devices
                .iter()
                .filter_map(|device| device.line.map(|line| (16 + line).to_string()))
                .collect::<Vec<_>>()
                .join(", "),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mps2_text() -> String {
        fs::read_to_string(boards_dir().join("mps2-an386").join(DESCRIPTION_FILE)).unwrap()
    }

    #[test]
    fn mps2_an386_is_described() {
        let board = Board::load("mps2-an386").unwrap();
        assert!(is_armv7m(&boards_dir().join("mps2-an386")));
        assert!(!is_armv7m(&boards_dir().join("virt")));
        assert_eq!(board.qemu_args().unwrap(), ["-M", "mps2-an386", "-cpu", "cortex-m4"]);
        assert_eq!(board.memory.code_base, 0);
        assert_eq!(board.memory.ram_base, 0x2000_0000);
        assert_eq!(board.kernel_devices.mpu_regions, 8);
        assert!(board.linker_memory().contains("RAM : ORIGIN = 0x20000000, LENGTH = 0x400000"));
        assert!(board.rust_constants().contains("pub const UART: u32 = 0x40004000;"));
        let programs = board.programs.unwrap();
        assert_eq!(programs.slot(1), programs.base + programs.slot_bytes);
        // The CMSDK timer QEMU puts at 0x40000000 on line 8.
        assert_eq!(board.user_devices[0].base, 0x4000_0000);
        assert!(board.rust_constants().contains("pub const USER_INTERRUPTS: [u32; 1] = [24];"));
        let error =
            Board::parse("b.json", "mps2-an386", &mps2_text().replace("\"line\": 8", "\"line\": 48")).unwrap_err();
        assert!(error.0.contains("line 48"), "{}", error.0);
        assert!(board.linker_memory().contains(&format!("PROGRAMS_BASE = {:#010x};", programs.base)));
        // Slots must be MPU windows inside RAM.
        let text = mps2_text();
        for (from, to) in [
            ("\"slots\": 10", "\"slots\": 400"),
            ("\"slot_bytes\": \"160K\",\n        \"slots\": 10", "\"slot_bytes\": \"12K\",\n        \"slots\": 10"),
        ] {
            assert!(text.contains(from), "{from}");
            let error = Board::parse("b.json", "mps2-an386", &text.replace(from, to)).unwrap_err();
            assert!(error.0.contains("programs"), "{}", error.0);
        }
        // App slots: above the program slots, MPU windows, inside RAM.
        let apps = board.apps.unwrap();
        assert!(apps.base >= programs.end() && apps.end() <= 0x2040_0000);
        assert!(board.rust_constants().contains(&format!("pub const APPS_BASE: u32 = {:#010x};", apps.base)));
        for (from, to) in [
            ("\"base\": \"0x201E0000\"", "\"base\": \"0x201C0000\""),
            ("\"slots\": 16", "\"slots\": 80"),
            ("\"slot_bytes\": \"128K\",\n        \"slots\": 16", "\"slot_bytes\": \"100K\",\n        \"slots\": 16"),
        ] {
            assert!(text.contains(from), "{from}");
            let error = Board::parse("b.json", "mps2-an386", &text.replace(from, to)).unwrap_err();
            assert!(error.0.contains("apps"), "{}", error.0);
        }
        // Slots that leave init too little RAM above them.
        let error = Board::parse("b.json", "mps2-an386", &text.replace("\"slots\": 16", "\"slots\": 17")).unwrap_err();
        assert!(error.0.contains("leaving init less than 32 KiB"), "{}", error.0);
        // The apps' UART, and the kernel's pool (32 KiB unless said).
        let uart = board.user_devices.iter().find(|device| device.uart.is_some()).unwrap();
        assert_eq!((uart.name.as_str(), uart.uart), ("CMSDK UART 1", Some(UartKind::Cmsdk)));
        assert_eq!(board.kernel_pool_bytes, KERNEL_POOL_BYTES);
        let error = Board::parse("b.json", "mps2-an386", &text.replace("\"uart\": \"cmsdk\"", "\"uart\": \"pl011\""))
            .unwrap_err();
        assert!(error.0.contains("expected \"cmsdk\" or \"16550\""), "{}", error.0);
        let pool = |bytes: &str| {
            text.replace("\"slots\": 10,", &format!("\"slots\": 10,\n        \"kernel_pool_bytes\": \"{bytes}\","))
        };
        let smaller = Board::parse("b.json", "mps2-an386", &pool("8K")).unwrap();
        assert_eq!(smaller.kernel_pool_bytes, 8 * 1024);
        assert!(smaller.linker_memory().contains("KERNEL_POOL_BYTES = 0x2000;"));
        for bad in ["4K", "9K"] {
            let error = Board::parse("b.json", "mps2-an386", &pool(bad)).unwrap_err();
            assert!(error.0.contains("kernel_pool_bytes"), "{}", error.0);
        }
    }

    #[test]
    fn the_mt3620_real_time_core_is_a_real_board() {
        let board = Board::load("mt3620").unwrap();
        assert!(board_dir("mt3620").starts_with(hardware_dir()));
        assert_eq!(board.qemu_args(), None);
        assert_eq!((board.memory.code_base, board.memory.code_align), (0x1000_0000, 32));
        assert_eq!((board.memory.ram_base, board.memory.ram_bytes), (0x0010_0000, 192 * 1024));
        assert_eq!(board.kernel_devices.uart_kind, UartKind::Ns16550);
        assert_eq!(board.kernel_devices.exit, Exit::Halt);
        let memory = board.linker_memory();
        assert!(memory.contains("REGION_ALIAS(\"DATA_LOAD\", RAM);"), "{memory}");
        assert!(memory.contains("CODE_ALIGN = 32;"), "{memory}");
        assert!(board.rust_constants().contains("pub const SEMIHOSTING: bool = false;"));
        // The apps' UART 0 is ISU0's UART, a 16550 at 0x500 in ISU0's page;
        // the TCM leaves init 32 KiB above one app slot.
        let uart = &board.user_devices[0];
        assert_eq!((uart.base, uart.registers_at, uart.uart), (0x3807_0000, 0x500, Some(UartKind::Ns16550)));
        assert_eq!(board.kernel_pool_bytes, 8 * 1024);
        assert_eq!(board.apps.unwrap().end(), 0x0013_0000 - INIT_MEMORY_MIN_BYTES);
        let described = fs::read_to_string(hardware_dir().join("mt3620").join(DESCRIPTION_FILE)).unwrap();
        for bad in ["\"0x1000\"", "\"0x502\""] {
            let text = described.replace("\"registers_at\": \"0x500\"", &format!("\"registers_at\": {bad}"));
            let error = Board::parse("b.json", "mt3620", &text).unwrap_err();
            assert!(error.0.contains("registers_at"), "{}", error.0);
        }
        // A real board cannot end a run through semihosting, nor run scenarios.
        let text = fs::read_to_string(hardware_dir().join("mt3620").join(DESCRIPTION_FILE)).unwrap();
        let error = Board::parse("b.json", "mt3620", &text.replace("\"halt\"", "\"semihosting\"")).unwrap_err();
        assert!(error.0.contains("no semihosting host"), "{}", error.0);
        let error = Board::parse("b.json", "mt3620", &text.replace("\"scenarios\": []", "\"scenarios\": [\"boot\"]"))
            .unwrap_err();
        assert!(error.0.contains("cannot run any"), "{}", error.0);
        let error =
            Board::parse("b.json", "mt3620", &text.replace("\"code_align\": 32", "\"code_align\": 24")).unwrap_err();
        assert!(error.0.contains("code_align"), "{}", error.0);
    }

    #[test]
    fn gpio_blocks_are_described_with_their_pins() {
        // QEMU's MPS2 FPGA I/O LEDs stand in for the MT3620 RDB's LED 1
        // red and green (GPIO 8 and 9); the MT3620 has GPIO 0-23 in six
        // blocks of four, 64 KiB apart.
        let mps2 = Board::load("mps2-an386").unwrap();
        let leds: Vec<_> =
            mps2.user_devices.iter().filter_map(|device| device.gpio.map(|gpio| (device.base, gpio))).collect();
        assert_eq!(leds, [(0x4002_8000, GpioBlock { kind: GpioKind::Mps2Leds, first_pin: 8, pins: 2 })]);
        let mt3620 = Board::load("mt3620").unwrap();
        let blocks: Vec<_> =
            mt3620.user_devices.iter().filter_map(|device| device.gpio.map(|gpio| (device.base, gpio))).collect();
        assert_eq!(blocks.len(), 6);
        for (n, (base, block)) in blocks.into_iter().enumerate() {
            let n = n as u32;
            assert_eq!(
                (base, block),
                (0x3801_0000 + n * 0x1_0000, GpioBlock { kind: GpioKind::Mt3620, first_pin: 4 * n, pins: 4 })
            );
        }
        let text = mps2_text();
        let gpio = "\"gpio\": { \"kind\": \"mps2-leds\", \"first_pin\": 8, \"pins\": 2 }";
        assert!(text.contains(gpio));
        let second = "{ \"name\": \"More LEDs\", \"base\": \"0x40029000\", \"bytes\": \"4K\", \"gpio\": { \"kind\": \"mps2-leds\", \"first_pin\": 9, \"pins\": 1 } }";
        let cases = [
            (
                text.replace(gpio, "\"gpio\": { \"kind\": \"pl061\", \"first_pin\": 8, \"pins\": 2 }"),
                "expected \"mt3620\" or \"mps2-leds\"",
            ),
            (text.replace(gpio, "\"gpio\": { \"kind\": \"mps2-leds\", \"first_pin\": 8, \"pins\": 0 }"), "1 to 8"),
            (
                text.replace(gpio, "\"gpio\": { \"kind\": \"mps2-leds\", \"first_pin\": 31, \"pins\": 2 }"),
                "32-bit mask",
            ),
            (text.replace(gpio, "\"gpio\": { \"kind\": \"mps2-leds\", \"first_pin\": 8 }"), "pins"),
            (
                text.replace(gpio, "\"gpio\": { \"kind\": \"mps2-leds\", \"first_pin\": 8, \"pins\": 2, \"pull\": 1 }"),
                "pull",
            ),
            (text.replace("\"uart\": \"cmsdk\"", &format!("\"uart\": \"cmsdk\", {gpio}")), "a UART and a GPIO block"),
            (
                text.replace(&format!("{gpio} }}"), &format!("{gpio} }},\n            {second}")),
                "pins 9 to 9 overlap FPGA I/O's",
            ),
        ];
        for (bad, key) in cases {
            let error = Board::parse("board.json", "mps2-an386", &bad).unwrap_err();
            assert!(error.0.contains(key), "{key}: {}", error.0);
        }
        let mt3620 = fs::read_to_string(hardware_dir().join("mt3620").join(DESCRIPTION_FILE)).unwrap();
        let error = Board::parse(
            "b.json",
            "mt3620",
            &mt3620.replace("\"first_pin\": 20, \"pins\": 4", "\"first_pin\": 20, \"pins\": 5"),
        )
        .unwrap_err();
        assert!(error.0.contains("1 to 4"), "{}", error.0);
    }

    #[test]
    fn the_mt3620_s_sysram_holds_two_more_program_slots() {
        let board = Board::load("mt3620").unwrap();
        let programs = board.programs.unwrap();
        let sysram = board.second_ram.clone().unwrap();
        assert_eq!((sysram.name.as_str(), sysram.base, sysram.bytes), ("SYSRAM", 0x2200_0000, 64 * 1024));
        assert_eq!(board.program_slots(), 4);
        assert_eq!(board.program_slot(1), Some(programs.slot(1)));
        assert_eq!(board.program_slot(2), Some(0x2200_0000));
        assert_eq!(board.program_slot(3), Some(0x2200_8000));
        assert_eq!(board.program_slot(4), None);
        assert_eq!(board.second_ram_slots(), (0x2200_0000, 0x2201_0000));
        assert!(board.rust_constants().contains("pub const SECOND_RAM_SLOTS_BASE: u32 = 0x22000000;"));
        assert!(board.rust_constants().contains("pub const SECOND_RAM_SLOTS: u32 = 2;"));
        // The stand-in lays its RAM out the same way.
        let stand_in = Board::load("mps2-an386-mt3620-ram").unwrap();
        assert_eq!(stand_in.program_slots(), 4);
        // One RAM: no more slots.
        let mps2 = Board::load("mps2-an386").unwrap();
        assert_eq!((mps2.second_ram.clone(), mps2.second_ram_slots()), (None, (0, 0)));
        assert_eq!(mps2.program_slot(mps2.program_slots()), None);
        let text = fs::read_to_string(hardware_dir().join("mt3620").join(DESCRIPTION_FILE)).unwrap();
        let cases = [
            ("\"program_slots\": 2", "\"program_slots\": 3", "fit in its"),
            ("\"program_slots\": 2", "\"program_slots\": 0", "at least one"),
            ("\"base\": \"0x22000000\"", "\"base\": \"0x22001000\"", "multiple of"),
            ("\"base\": \"0x22000000\"", "\"base\": \"0x00110000\"", "overlaps code memory, RAM or a device"),
            ("\"base\": \"0x22000000\"", "\"base\": \"0x10080000\"", "overlaps code memory, RAM or a device"),
            ("\"base\": \"0x22000000\"", "\"base\": \"0x38010000\"", "overlaps code memory, RAM or a device"),
            ("\"base\": \"0x22000000\"", "\"base\": \"0xFFFF0000\"", "do not fit"),
            ("\"name\": \"SYSRAM\",", "", "name"),
        ];
        for (from, to, key) in cases {
            assert!(text.contains(from), "{from}");
            let error = Board::parse("b.json", "mt3620", &text.replacen(from, to, 1)).unwrap_err();
            assert!(error.0.contains(key), "{key}: {}", error.0);
        }
    }

    #[test]
    fn bad_descriptions_name_the_key() {
        let text = mps2_text();
        let cases = [
            (text.replace("\"armv7m\"", "\"armv7a\""), "profile"),
            (text.replace("\"uart_cmsdk\"", "\"uart_pl011\""), "kernel_devices"),
            (text.replace("\"uart_cmsdk\"", "\"exit\": \"reboot\", \"uart_cmsdk\""), "exit"),
            (text.replace("\"interrupts\": 48", "\"interrupts\": 497"), "interrupts"),
            (text.replace("\"ram_base\": \"0x20000000\"", "\"ram_base\": \"0x00100000\""), "overlap"),
            (text.replace("\"mpu_regions\": 8", "\"mpu_regions\": 0"), "MPU"),
            (text.replace("\"scenarios\"", "\"scenario\""), "scenario"),
            (text.replace("\"bytes\": \"4K\"", "\"bytes\": \"6K\""), "whole 4 KiB pages"),
            (text.replace("\"line\": 8", "\"line\": 8, \"irq\": 8"), "irq"),
        ];
        for (bad, key) in cases {
            let error = Board::parse("board.json", "mps2-an386", &bad).unwrap_err();
            assert!(error.0.contains(key), "{key}: {}", error.0);
        }
    }
}
