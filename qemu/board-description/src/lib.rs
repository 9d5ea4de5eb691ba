//! An emulated board's one description: `qemu/<board>/board.json`, read and checked.
//!
//! Every fact about a QEMU board that Tessera relies on (the machine
//! arguments, the memory map, the devices the kernel drives, the devices
//! user space drives, what apps can be granted, the device tree blob, the
//! scenarios it runs) is written once, in its folder under `qemu/`. This
//! crate parses that file, checks it (unknown keys, malformed addresses,
//! a kernel that does not fit in RAM, overlapping devices) with errors that
//! name the file and the key, and renders what the consumers need:
//!
//! - xtask: [`Board::qemu_args`] (the QEMU command line) and
//!   [`Board::scenarios`];
//! - `qemu/board-constants` (a `no_std` crate the kernel, `init-core` and
//!   the programs use): [`Board::rust_constants`];
//! - the kernel's build script: [`Board::linker_memory`] (the `MEMORY`
//!   region `linker/kernel.ld` includes);
//! - the manifest checker's build script: [`Board::grants`].
//!
//! Numbers may be JSON numbers or strings: `"0x0900_0000"`-style hex,
//! decimal, or a size with a `K` or `M` suffix (`"64M"`).

use std::collections::BTreeSet;
use std::env;
use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

pub mod armv7m;

/// The board built for when `TESSERA_BOARD` is not set.
pub const DEFAULT_BOARD: &str = "virt";
/// The environment variable that picks another board folder under `qemu/`.
pub const BOARD_VARIABLE: &str = "TESSERA_BOARD";
/// The description's file name inside a board folder.
pub const DESCRIPTION_FILE: &str = "board.json";

/// The folder holding one folder per emulated board (`qemu/`).
pub fn boards_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The board folder name this build is for: `TESSERA_BOARD`, or [`DEFAULT_BOARD`].
pub fn selected_board() -> String {
    env::var(BOARD_VARIABLE).ok().filter(|name| !name.is_empty()).unwrap_or_else(|| DEFAULT_BOARD.to_string())
}

/// A description that could not be read or is wrong, with where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error(pub String);

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

/// How QEMU is told to emulate the board.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Qemu {
    /// `-M`.
    pub machine: String,
    /// `-cpu`.
    pub cpu: String,
}

impl Qemu {
    /// The `qemu` object of a description: `machine` and `cpu`.
    fn parse(top: &mut Object<'_>) -> Result<Qemu, Error> {
        let mut qemu = top.object("qemu")?;
        let facts = Qemu { machine: qemu.string("machine")?, cpu: qemu.string("cpu")? };
        qemu.finish()?;
        Ok(facts)
    }
}

/// The memory map.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Memory {
    /// Physical start of RAM.
    pub ram_base: u32,
    /// Bytes of RAM QEMU gives the machine (`-m`), and what the kernel
    /// assumes when the device tree does not say.
    pub ram_bytes: u32,
    /// Where the kernel is linked and loaded. Below it, from `ram_base`,
    /// QEMU places the device tree blob.
    pub kernel_load: u32,
    /// The most bytes the kernel image (with its stacks and `.bss`) may take.
    pub kernel_max_bytes: u32,
    /// The 4 KiB page where QEMU's loader places the device's Unique Device
    /// Secret (`.tessera/uds.bin`; docs/pluton.md): the last page of RAM,
    /// which the kernel never hands out as untyped memory.
    pub secret: u32,
}

impl Memory {
    /// Bytes between the start of RAM and the kernel: the most device tree
    /// the kernel reads.
    pub fn device_tree_max_bytes(&self) -> u32 {
        self.kernel_load - self.ram_base
    }
}

/// The devices the kernel drives: used when the device tree lacks them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KernelDevices {
    /// The PL011 UART, the kernel's console.
    pub uart_pl011: u32,
    /// The GICv2 distributor.
    pub gic_distributor: u32,
    /// The GICv2 CPU interface.
    pub gic_cpu_interface: u32,
    /// The interrupt ID of the non-secure physical timer.
    pub timer_interrupt: u32,
}

/// A run of virtio-mmio transports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VirtioMmio {
    /// The first transport's registers.
    pub base: u32,
    /// How many transports.
    pub count: u32,
    /// Bytes from one transport to the next.
    pub stride: u32,
    /// The interrupt ID of the first transport; transport `n` has this + `n`.
    pub first_interrupt: u32,
}

/// The devices user-space servers drive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Devices {
    /// The PL031 real-time clock.
    pub rtc_pl031: u32,
    /// The PL061 GPIO controller (`gpiod`).
    pub gpio_pl061: u32,
    /// The virtio-mmio transports (`uartd`'s virtio console is on one).
    pub virtio_mmio: VirtioMmio,
}

/// A UART an app may be granted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Uart {
    /// The value an app manifest names it by (`"UART0"`).
    pub manifest_value: String,
    /// Its number (the bit in `init`'s grant mask, the id in the binary manifest).
    pub id: u8,
}

/// What apps can be granted on the board.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Grants {
    /// The base hardware definition, in `userland/hardware-definitions/`.
    pub hardware_definition: String,
    /// That definition's `Description.Name`.
    pub definition_name: String,
    /// The GPIO pins apps may be granted, as inclusive ranges.
    pub gpio_pins: Vec<(u16, u16)>,
    /// The UARTs apps may be granted.
    pub uarts: Vec<Uart>,
    /// Whether it has Wi-Fi.
    pub wifi: bool,
    /// The largest `MutableStorage.SizeKB` it grants.
    pub max_mutable_storage_kib: u32,
}

impl Grants {
    /// The pins as a mask (bit `n`: pin `n`); pins above 31 cannot be granted
    /// (the description check refuses them).
    pub fn gpio_mask(&self) -> u32 {
        self.gpio_pins.iter().flat_map(|&(first, last)| first..=last).fold(0, |mask, pin| mask | 1 << pin)
    }

    /// The UARTs as a mask (bit `n`: UART `n`).
    pub fn uart_mask(&self) -> u32 {
        self.uarts.iter().fold(0, |mask, uart| mask | 1 << uart.id)
    }

    /// Every grantable pin.
    pub fn pins(&self) -> impl Iterator<Item = u16> + '_ {
        self.gpio_pins.iter().flat_map(|&(first, last)| first..=last)
    }
}

/// One emulated board, as its folder describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Board {
    /// The folder's name under `qemu/` (`virt`).
    pub folder: String,
    /// The board's name in messages (`QEMU virt`).
    pub name: String,
    /// QEMU's machine arguments.
    pub qemu: Qemu,
    /// The memory map.
    pub memory: Memory,
    /// The devices the kernel drives.
    pub kernel_devices: KernelDevices,
    /// The devices user space drives.
    pub devices: Devices,
    /// What apps can be granted.
    pub grants: Grants,
    /// The device tree blob QEMU passes (`-M <machine>,dumpdtb=`), a path.
    pub device_tree: PathBuf,
    /// The scenarios (`cargo xtask test`) this board runs.
    pub scenarios: Vec<String>,
}

/// A JSON object being read, with the path of keys that led to it for
/// messages, and the keys still to be read.
struct Object<'a> {
    file: &'a str,
    path: String,
    map: &'a Map<String, Value>,
    read: BTreeSet<&'a str>,
}

impl<'a> Object<'a> {
    fn new(file: &'a str, path: String, value: &'a Value) -> Result<Object<'a>, Error> {
        match value {
            Value::Object(map) => Ok(Object { file, path, map, read: BTreeSet::new() }),
            other => Err(Error(format!("{file}: {}: expected an object, found {}", name_of(&path), kind(other)))),
        }
    }

    fn key_path(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_string()
        } else {
            format!("{}.{key}", self.path)
        }
    }

    fn error(&self, key: &str, message: impl fmt::Display) -> Error {
        Error(format!("{}: {}: {message}", self.file, self.key_path(key)))
    }

    fn get(&mut self, key: &'static str) -> Result<&'a Value, Error> {
        self.read.insert(key);
        self.map.get(key).ok_or_else(|| self.error(key, "missing"))
    }

    /// Whether `key` is present (an optional key: read either way).
    fn has(&mut self, key: &'static str) -> bool {
        self.read.insert(key);
        self.map.contains_key(key)
    }

    fn object(&mut self, key: &'static str) -> Result<Object<'a>, Error> {
        let value = self.get(key)?;
        Object::new(self.file, self.key_path(key), value)
    }

    fn string(&mut self, key: &'static str) -> Result<String, Error> {
        match self.get(key)? {
            Value::String(text) if !text.is_empty() => Ok(text.clone()),
            other => Err(self.error(key, format!("expected a non-empty string, found {}", kind(other)))),
        }
    }

    fn bool(&mut self, key: &'static str) -> Result<bool, Error> {
        match self.get(key)? {
            Value::Bool(value) => Ok(*value),
            other => Err(self.error(key, format!("expected true or false, found {}", kind(other)))),
        }
    }

    fn number(&mut self, key: &'static str) -> Result<u32, Error> {
        let value = self.get(key)?;
        number(value).map_err(|message| self.error(key, message))
    }

    fn array(&mut self, key: &'static str) -> Result<&'a Vec<Value>, Error> {
        match self.get(key)? {
            Value::Array(items) => Ok(items),
            other => Err(self.error(key, format!("expected a list, found {}", kind(other)))),
        }
    }

    /// Fails on a key nobody read: a typo must not pass silently.
    fn finish(self) -> Result<(), Error> {
        match self.map.keys().find(|key| !self.read.contains(key.as_str())) {
            Some(key) => {
                let known: Vec<&str> = self.read.iter().copied().collect();
                Err(self.error(key, format!("unknown key (known here: {})", known.join(", "))))
            }
            None => Ok(()),
        }
    }
}

/// A description's JSON document; `file` names it in the error.
fn read_json(file: &str, text: &str) -> Result<Value, Error> {
    serde_json::from_str(text)
        .map_err(|err| Error(format!("{file}: not valid JSON: {err} (line {}, column {})", err.line(), err.column())))
}

fn name_of(path: &str) -> &str {
    if path.is_empty() {
        "the top level"
    } else {
        path
    }
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// A number as the description writes it: a JSON number, or a string in
/// hex (`0x...`), decimal, or with a `K`/`M` size suffix; `_` may separate digits.
fn number(value: &Value) -> Result<u32, String> {
    let expected = "expected a number, a hex string like \"0x09000000\" or a size like \"64M\"";
    match value {
        Value::Number(number) => {
            number.as_u64().and_then(|n| u32::try_from(n).ok()).ok_or_else(|| format!("{expected}, found {number}"))
        }
        Value::String(text) => parse_number(text).ok_or_else(|| format!("{expected}, found \"{text}\"")),
        other => Err(format!("{expected}, found {}", kind(other))),
    }
}

fn parse_number(text: &str) -> Option<u32> {
    let cleaned: String = text.chars().filter(|&c| c != '_').collect();
    let (digits, scale) = match cleaned.as_bytes().last()? {
        b'K' => (&cleaned[..cleaned.len() - 1], 1 << 10),
        b'M' => (&cleaned[..cleaned.len() - 1], 1 << 20),
        _ => (&cleaned[..], 1),
    };
    let value = match digits.strip_prefix("0x").or_else(|| digits.strip_prefix("0X")) {
        Some(hex) if scale == 1 => u64::from_str_radix(hex, 16).ok()?,
        Some(_) => return None,
        None => digits.parse::<u64>().ok()?,
    };
    u32::try_from(value.checked_mul(scale)?).ok()
}

/// A GPIO range: `"0-7"` or a single pin `"3"` (or a JSON number).
fn pin_range(value: &Value) -> Result<(u16, u16), String> {
    let expected = "expected a pin (3) or a range of pins (\"0-7\")";
    let pin = |text: &str| text.trim().parse::<u16>().ok();
    let range = match value {
        Value::Number(number) => number.as_u64().and_then(|n| u16::try_from(n).ok()).map(|n| (n, n)),
        Value::String(text) => match text.split_once('-') {
            Some((first, last)) => pin(first).zip(pin(last)),
            None => pin(text).map(|n| (n, n)),
        },
        _ => None,
    };
    match range {
        Some((first, last)) if first <= last => Ok((first, last)),
        _ => Err(format!("{expected}, found {value}")),
    }
}

impl Board {
    /// Reads and checks `qemu/<folder>/board.json`.
    pub fn load(folder: &str) -> Result<Board, Error> {
        Board::load_from(&boards_dir().join(folder))
    }

    /// Reads and checks the board the build is for ([`selected_board`]).
    pub fn selected() -> Result<Board, Error> {
        Board::load(&selected_board())
    }

    /// For build scripts: [`Board::load`], or the error on stderr and exit
    /// status 1 (cargo shows the message without a panic's backtrace).
    pub fn load_for_build(folder: &str) -> Board {
        Board::load(folder).unwrap_or_else(|err| {
            eprintln!("error: {err}");
            std::process::exit(1)
        })
    }

    /// For build scripts: the selected board ([`Board::load_for_build`]).
    pub fn selected_for_build() -> Board {
        Board::load_for_build(&selected_board())
    }

    /// Reads and checks the description in the board folder `dir`.
    pub fn load_from(dir: &Path) -> Result<Board, Error> {
        let path = dir.join(DESCRIPTION_FILE);
        let folder = dir.file_name().map(|name| name.to_string_lossy().into_owned()).unwrap_or_default();
        let text = fs::read_to_string(&path).map_err(|err| {
            Error(format!(
                "cannot read the board description {}: {err} (each board is a folder under qemu/ with a {DESCRIPTION_FILE}; \
                 {BOARD_VARIABLE} picks one, {DEFAULT_BOARD} if unset)",
                path.display()
            ))
        })?;
        let mut board = Board::parse(&format!("qemu/{folder}/{DESCRIPTION_FILE}"), &folder, &text)?;
        board.device_tree = dir.join(&board.device_tree);
        if !board.device_tree.is_file() {
            return Err(Error(format!(
                "qemu/{folder}/{DESCRIPTION_FILE}: device_tree: {} is not a file \
                 (write one with: qemu-system-arm {},dumpdtb=FILE ...)",
                board.device_tree.display(),
                board.qemu_args().join(" ")
            )));
        }
        Ok(board)
    }

    /// Parses and checks a description; `file` names it in errors. The
    /// device tree path stays relative to the board folder.
    pub fn parse(file: &str, folder: &str, text: &str) -> Result<Board, Error> {
        let document = read_json(file, text)?;
        let mut top = Object::new(file, String::new(), &document)?;
        let name = top.string("name")?;

        let qemu_facts = Qemu::parse(&mut top)?;

        let mut memory = top.object("memory")?;
        let memory_facts = Memory {
            ram_base: memory.number("ram_base")?,
            ram_bytes: memory.number("ram_bytes")?,
            kernel_load: memory.number("kernel_load")?,
            kernel_max_bytes: memory.number("kernel_max_bytes")?,
            secret: memory.number("secret")?,
        };
        check_memory(&memory, &memory_facts)?;
        memory.finish()?;

        let mut kernel = top.object("kernel_devices")?;
        let kernel_devices = KernelDevices {
            uart_pl011: kernel.number("uart_pl011")?,
            gic_distributor: kernel.number("gic_distributor")?,
            gic_cpu_interface: kernel.number("gic_cpu_interface")?,
            timer_interrupt: kernel.number("timer_interrupt")?,
        };
        kernel.finish()?;

        let mut devices = top.object("devices")?;
        let rtc_pl031 = devices.number("rtc_pl031")?;
        let gpio_pl061 = devices.number("gpio_pl061")?;
        let mut virtio = devices.object("virtio_mmio")?;
        let virtio_mmio = VirtioMmio {
            base: virtio.number("base")?,
            count: virtio.number("count")?,
            stride: virtio.number("stride")?,
            first_interrupt: virtio.number("first_interrupt")?,
        };
        if virtio_mmio.count == 0 || virtio_mmio.stride == 0 {
            return Err(virtio.error("count", "there must be at least one transport, with a non-zero stride"));
        }
        virtio.finish()?;
        devices.finish()?;
        let device_facts = Devices { rtc_pl031, gpio_pl061, virtio_mmio };

        let mut grants = top.object("grants")?;
        let hardware_definition = grants.string("hardware_definition")?;
        let definition_name = grants.string("definition_name")?;
        let mut gpio_pins = Vec::new();
        for value in grants.array("gpio_pins")? {
            let (first, last) = pin_range(value).map_err(|message| grants.error("gpio_pins", message))?;
            if last >= 32 {
                return Err(grants.error("gpio_pins", format!("pin {last}: init's grant masks hold pins 0-31")));
            }
            if gpio_pins.iter().any(|&(a, b)| first <= b && a <= last) {
                return Err(grants.error("gpio_pins", format!("{value} overlaps another range")));
            }
            gpio_pins.push((first, last));
        }
        let mut uarts: Vec<Uart> = Vec::new();
        for value in grants.array("uarts")? {
            let mut uart = Object::new(file, grants.key_path("uarts[]"), value)?;
            let manifest_value = uart.string("manifest_value")?;
            let id = uart.number("id")?;
            if id >= 32 {
                return Err(uart.error("id", format!("{id}: init's grant masks hold UARTs 0-31")));
            }
            uart.finish()?;
            if uarts.iter().any(|other| other.id as u32 == id || other.manifest_value == manifest_value) {
                return Err(grants.error("uarts", format!("{manifest_value} (id {id}) is listed twice")));
            }
            uarts.push(Uart { manifest_value, id: id as u8 });
        }
        let wifi = grants.bool("wifi")?;
        let max_mutable_storage_kib = grants.number("max_mutable_storage_kib")?;
        grants.finish()?;
        let grant_facts =
            Grants { hardware_definition, definition_name, gpio_pins, uarts, wifi, max_mutable_storage_kib };

        let device_tree = PathBuf::from(top.string("device_tree")?);
        let mut scenarios: Vec<String> = Vec::new();
        for value in top.array("scenarios")? {
            match value.as_str() {
                Some(scenario) if !scenarios.iter().any(|s| s == scenario) => scenarios.push(scenario.to_string()),
                Some(scenario) => return Err(top.error("scenarios", format!("\"{scenario}\" is listed twice"))),
                None => return Err(top.error("scenarios", format!("expected scenario names, found {}", kind(value)))),
            }
        }
        top.finish()?;

        let board = Board {
            folder: folder.to_string(),
            name,
            qemu: qemu_facts,
            memory: memory_facts,
            kernel_devices,
            devices: device_facts,
            grants: grant_facts,
            device_tree,
            scenarios,
        };
        board.check_devices(file)?;
        Ok(board)
    }

    /// Devices must lie outside RAM and apart from each other.
    fn check_devices(&self, file: &str) -> Result<(), Error> {
        let virtio = &self.devices.virtio_mmio;
        let virtio_bytes = u64::from(virtio.count) * u64::from(virtio.stride);
        let regions: [(&str, u64, u64); 6] = [
            ("kernel_devices.uart_pl011", self.kernel_devices.uart_pl011.into(), 0x1000),
            ("kernel_devices.gic_distributor", self.kernel_devices.gic_distributor.into(), 0x1000),
            ("kernel_devices.gic_cpu_interface", self.kernel_devices.gic_cpu_interface.into(), 0x1000),
            ("devices.rtc_pl031", self.devices.rtc_pl031.into(), 0x1000),
            ("devices.gpio_pl061", self.devices.gpio_pl061.into(), 0x1000),
            ("devices.virtio_mmio", virtio.base.into(), virtio_bytes),
        ];
        let ram = (u64::from(self.memory.ram_base), u64::from(self.memory.ram_base) + u64::from(self.memory.ram_bytes));
        for (index, &(name, start, bytes)) in regions.iter().enumerate() {
            if !start.is_multiple_of(0x1000) {
                return Err(Error(format!("{file}: {name}: {start:#x} is not page aligned")));
            }
            if start < ram.1 && ram.0 < start + bytes {
                return Err(Error(format!("{file}: {name}: {start:#x} lies in RAM")));
            }
            for &(other, other_start, other_bytes) in &regions[index + 1..] {
                if start < other_start + other_bytes && other_start < start + bytes {
                    return Err(Error(format!("{file}: {name} and {other} overlap")));
                }
            }
        }
        Ok(())
    }

    /// QEMU's arguments for the machine: `-M`, `-cpu` and `-m`.
    pub fn qemu_args(&self) -> Vec<String> {
        let memory = self.memory.ram_bytes;
        let size =
            if memory.is_multiple_of(1 << 20) { format!("{}M", memory >> 20) } else { format!("{}K", memory >> 10) };
        ["-M", &self.qemu.machine, "-cpu", &self.qemu.cpu, "-m", &size].map(str::to_string).to_vec()
    }

    /// The `MEMORY` block of the kernel's linker script.
    pub fn linker_memory(&self) -> String {
        format!(
            "/* Generated from qemu/{}/{DESCRIPTION_FILE} by kernel/build.rs: do not edit. */\n\
             MEMORY\n{{\n    RAM : ORIGIN = {:#010x}, LENGTH = {:#x}\n}}\n",
            self.folder, self.memory.kernel_load, self.memory.kernel_max_bytes
        )
    }

    /// The board's facts as Rust constants, for `qemu/board-constants`.
    pub fn rust_constants(&self) -> String {
        let memory = &self.memory;
        let kernel = &self.kernel_devices;
        let devices = &self.devices;
        let grants = &self.grants;
        format!(
            r#"// Generated from qemu/{folder}/{DESCRIPTION_FILE} by qemu/board-constants/build.rs: do not edit.

/// The board's name, for messages.
pub const NAME: &str = {name:?};

/// The memory map.
pub mod memory {{
    /// Physical start of RAM.
    pub const RAM_BASE: u32 = {ram_base:#010x};
    /// Bytes of RAM QEMU is told to give (used when the device tree does not say).
    pub const RAM_BYTES: u32 = {ram_bytes:#010x};
    /// Where the kernel is linked and loaded.
    pub const KERNEL_LOAD: u32 = {kernel_load:#010x};
    /// The most bytes the kernel may take from [`KERNEL_LOAD`].
    pub const KERNEL_MAX_BYTES: u32 = {kernel_max:#010x};
    /// The page QEMU's loader puts the Unique Device Secret in (the last
    /// page of RAM; never untyped memory).
    pub const SECRET: u32 = {secret:#010x};
    /// Bytes below the kernel where QEMU places the device tree blob.
    pub const DEVICE_TREE_MAX_BYTES: u32 = {tree_max:#010x};
}}

/// The devices the kernel drives, for a device tree that lacks them.
pub mod kernel_devices {{
    /// The PL011 UART (the kernel's console).
    pub const UART_PL011: u32 = {uart:#010x};
    /// The GICv2 distributor.
    pub const GIC_DISTRIBUTOR: u32 = {distributor:#010x};
    /// The GICv2 CPU interface.
    pub const GIC_CPU_INTERFACE: u32 = {cpu_interface:#010x};
    /// The interrupt ID of the non-secure physical timer.
    pub const TIMER_INTERRUPT: u32 = {timer};
}}

/// The devices user-space servers drive.
pub mod devices {{
    /// The PL031 real-time clock.
    pub const RTC_PL031: u32 = {rtc:#010x};
    /// The PL061 GPIO controller.
    pub const GPIO_PL061: u32 = {gpio:#010x};
    /// The first virtio-mmio transport.
    pub const VIRTIO_MMIO_BASE: u32 = {virtio_base:#010x};
    /// Number of virtio-mmio transports.
    pub const VIRTIO_MMIO_COUNT: u32 = {virtio_count};
    /// Bytes from one virtio-mmio transport to the next.
    pub const VIRTIO_MMIO_STRIDE: u32 = {virtio_stride:#x};
    /// The interrupt ID of the first virtio-mmio transport (transport `n`
    /// has this + `n`).
    pub const VIRTIO_MMIO_FIRST_INTERRUPT: u32 = {virtio_first_interrupt};
}}

/// What apps can be granted.
pub mod grants {{
    /// GPIO pins (bit `n`: pin `n`).
    pub const GPIO_PINS: u32 = {gpio_mask:#x};
    /// UARTs (bit `n`: UART `n`).
    pub const UARTS: u32 = {uart_mask:#b};
    /// Whether it has a Wi-Fi interface (`WifiConfig`, `EnterpriseWifiConfig`).
    pub const WIFI: bool = {wifi};
    /// The largest `MutableStorage.SizeKB` it grants one app.
    pub const MAX_MUTABLE_STORAGE_KIB: u32 = {max_storage};
}}
"#,
            folder = self.folder,
            name = self.name,
            ram_base = memory.ram_base,
            ram_bytes = memory.ram_bytes,
            kernel_load = memory.kernel_load,
            kernel_max = memory.kernel_max_bytes,
            secret = memory.secret,
            tree_max = memory.device_tree_max_bytes(),
            uart = kernel.uart_pl011,
            distributor = kernel.gic_distributor,
            cpu_interface = kernel.gic_cpu_interface,
            timer = kernel.timer_interrupt,
            rtc = devices.rtc_pl031,
            gpio = devices.gpio_pl061,
            virtio_base = devices.virtio_mmio.base,
            virtio_count = devices.virtio_mmio.count,
            virtio_stride = devices.virtio_mmio.stride,
            virtio_first_interrupt = devices.virtio_mmio.first_interrupt,
            gpio_mask = grants.gpio_mask(),
            uart_mask = grants.uart_mask(),
            wifi = grants.wifi,
            max_storage = grants.max_mutable_storage_kib,
        )
    }

    /// For build scripts: the `cargo:rerun-if-...` lines that rebuild when
    /// the description, or the choice of board, changes.
    pub fn print_rerun_lines(&self) {
        println!("cargo:rerun-if-env-changed={BOARD_VARIABLE}");
        println!("cargo:rerun-if-changed={}", boards_dir().join(&self.folder).join(DESCRIPTION_FILE).display());
    }
}

fn check_memory(object: &Object<'_>, memory: &Memory) -> Result<(), Error> {
    let ram_end = u64::from(memory.ram_base) + u64::from(memory.ram_bytes);
    let kernel_end = u64::from(memory.kernel_load) + u64::from(memory.kernel_max_bytes);
    if !memory.ram_base.is_multiple_of(0x10_0000)
        || !memory.ram_bytes.is_multiple_of(0x10_0000)
        || memory.ram_bytes == 0
    {
        return Err(
            object.error("ram_base", "RAM must start and end on a 1 MiB boundary (the kernel maps it by section)")
        );
    }
    if ram_end > 1 << 32 {
        return Err(object.error("ram_bytes", "RAM runs past 4 GiB"));
    }
    if memory.kernel_load <= memory.ram_base || !memory.kernel_load.is_multiple_of(0x1000) {
        return Err(object.error(
            "kernel_load",
            format!(
                "{:#x} must be page aligned and above ram_base {:#x} (QEMU places the device tree at the start of RAM)",
                memory.kernel_load, memory.ram_base
            ),
        ));
    }
    if kernel_end > ram_end {
        return Err(object.error(
            "kernel_max_bytes",
            format!("the kernel would end at {kernel_end:#x}, past the end of RAM {ram_end:#x}"),
        ));
    }
    if u64::from(memory.secret) + 0x1000 != ram_end {
        return Err(object.error(
            "secret",
            format!(
                "{:#x} must be the last 4 KiB page of RAM, {:#x} (the kernel keeps it out of untyped memory)",
                memory.secret,
                ram_end - 0x1000
            ),
        ));
    }
    if u64::from(memory.secret) < kernel_end {
        return Err(object.error("secret", "the secret page overlaps the kernel's room"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn virt_text() -> String {
        fs::read_to_string(boards_dir().join("virt").join(DESCRIPTION_FILE)).unwrap()
    }

    fn with(edit: impl FnOnce(&mut Value)) -> Result<Board, Error> {
        let mut document: Value = serde_json::from_str(&virt_text()).unwrap();
        edit(&mut document);
        Board::parse("board.json", "virt", &document.to_string())
    }

    #[test]
    fn the_secret_is_the_last_page_of_ram() {
        assert_eq!(with(|_| {}).unwrap().memory.secret, 0x43ff_f000);
        let error = with(|d| d["memory"]["secret"] = Value::from("0x43000000")).unwrap_err();
        assert!(
            error.0.contains("memory.secret: 0x43000000 must be the last 4 KiB page of RAM, 0x43fff000"),
            "{error}"
        );
        let error = with(|d| d["memory"].as_object_mut().unwrap().remove("secret").map(|_| ()).unwrap()).unwrap_err();
        assert!(error.0.contains("secret"), "{error}");
    }

    #[test]
    fn numbers() {
        assert_eq!(parse_number("0x0900_0000"), Some(0x0900_0000));
        assert_eq!(parse_number("64M"), Some(64 << 20));
        assert_eq!(parse_number("16K"), Some(16 << 10));
        assert_eq!(parse_number("30"), Some(30));
        assert_eq!(parse_number("4096M"), None);
        assert_eq!(parse_number("0x10M"), None);
        assert_eq!(parse_number("0x"), None);
        assert_eq!(parse_number(""), None);
        assert_eq!(pin_range(&Value::from("0-7")), Ok((0, 7)));
        assert_eq!(pin_range(&Value::from(3)), Ok((3, 3)));
        assert!(pin_range(&Value::from("7-0")).is_err());
    }

    #[test]
    fn virt_description() {
        let board = Board::load("virt").unwrap();
        assert_eq!(board.name, "QEMU virt");
        assert_eq!(board.qemu_args().join(" "), "-M virt -cpu cortex-a7 -m 64M");
        assert_eq!(board.memory.device_tree_max_bytes(), 1 << 20);
        assert_eq!(board.grants.gpio_mask(), 0xFF);
        assert_eq!(board.grants.uart_mask(), 0b1);
        assert!(board.linker_memory().contains("ORIGIN = 0x40100000, LENGTH = 0x1f00000"));
        assert!(board.rust_constants().contains("pub const RAM_BASE: u32 = 0x40000000;"));
    }

    #[test]
    fn errors_name_the_file_and_key() {
        let error = with(|d| d["memory"]["kernel_load"] = Value::from("0x4010_00zz")).unwrap_err();
        assert!(error.0.starts_with("board.json: memory.kernel_load: expected a number"), "{error}");
        let error = with(|d| d["devices"]["rtc"] = Value::from("0x09010000")).unwrap_err();
        assert!(error.0.starts_with("board.json: devices.rtc: unknown key (known here: "), "{error}");
        let error = with(|d| d["grants"].as_object_mut().unwrap().remove("wifi").map(drop).unwrap()).unwrap_err();
        assert_eq!(error.0, "board.json: grants.wifi: missing");
        let error = with(|d| d["memory"]["kernel_max_bytes"] = Value::from("64M")).unwrap_err();
        assert!(error.0.contains("memory.kernel_max_bytes: the kernel would end at 0x44100000"), "{error}");
        let error = with(|d| d["memory"]["kernel_load"] = Value::from("0x40000000")).unwrap_err();
        assert!(error.0.contains("memory.kernel_load: 0x40000000 must be page aligned and above"), "{error}");
        let error = with(|d| d["devices"]["gpio_pl061"] = Value::from("0x09000000")).unwrap_err();
        assert!(error.0.contains("kernel_devices.uart_pl011 and devices.gpio_pl061 overlap"), "{error}");
        let error = with(|d| d["devices"]["rtc_pl031"] = Value::from("0x40200000")).unwrap_err();
        assert!(error.0.contains("devices.rtc_pl031: 0x40200000 lies in RAM"), "{error}");
        let error = with(|d| d["grants"]["gpio_pins"] = serde_json::json!(["0-7", "5"])).unwrap_err();
        assert!(error.0.contains("grants.gpio_pins: \"5\" overlaps another range"), "{error}");
        let error = with(|d| d["grants"]["gpio_pins"] = serde_json::json!(["0-40"])).unwrap_err();
        assert!(error.0.contains("pin 40: init's grant masks hold pins 0-31"), "{error}");
        let error = with(|d| d["scenarios"] = serde_json::json!(["boot", "boot"])).unwrap_err();
        assert!(error.0.contains("scenarios: \"boot\" is listed twice"), "{error}");
        let error = Board::parse("b.json", "x", "{").unwrap_err();
        assert!(error.0.starts_with("b.json: not valid JSON"), "{error}");
        let error = Board::load("no-such-board").unwrap_err();
        assert!(error.0.contains("each board is a folder under qemu/"), "{error}");
    }
}
