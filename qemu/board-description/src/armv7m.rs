//! M-profile boards (`"profile": "armv7m"` in their `board.json`): a
//! Cortex-M core with an MPU, the kernel linked into the code memory it
//! boots from (the vector table at its start) and its data in RAM.
//! docs/mt3620.md is the design; only what the kernel's first step needs
//! is described yet.

use std::fs;
use std::path::Path;

use serde_json::Value;

use crate::{boards_dir, Error, Object, Qemu, DESCRIPTION_FILE};

/// The value of `profile` that makes a board M-profile.
pub const PROFILE: &str = "armv7m";

/// Where code and data go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Memory {
    /// Code memory: the core boots from its start (the vector table).
    pub code_base: u32,
    pub code_bytes: u32,
    /// RAM for data, BSS and stacks.
    pub ram_base: u32,
    pub ram_bytes: u32,
}

/// What the kernel drives itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KernelDevices {
    /// The CMSDK APB UART the kernel prints on.
    pub uart_cmsdk: u32,
    /// The core's clock (the UART's baud divisor and SysTick count it).
    pub clock_hz: u32,
    /// How many MPU regions the core has (PMSAv7: 8 on a Cortex-M4).
    pub mpu_regions: u32,
    /// External interrupts at the NVIC.
    pub interrupts: u32,
}

/// An M-profile board's description.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Board {
    /// The folder under `qemu/`.
    pub folder: String,
    pub name: String,
    pub qemu: Qemu,
    pub memory: Memory,
    pub kernel_devices: KernelDevices,
    /// The scenarios `cargo xtask test` runs on it.
    pub scenarios: Vec<String>,
}

/// Whether the description in board folder `dir` is M-profile.
pub fn is_armv7m(dir: &Path) -> bool {
    let text = fs::read_to_string(dir.join(DESCRIPTION_FILE)).unwrap_or_default();
    serde_json::from_str::<Value>(&text)
        .ok()
        .and_then(|document| document.get("profile").and_then(Value::as_str).map(|profile| profile == PROFILE))
        .unwrap_or(false)
}

impl Board {
    /// Reads and checks `qemu/<folder>/board.json`.
    pub fn load(folder: &str) -> Result<Board, Error> {
        let path = boards_dir().join(folder).join(DESCRIPTION_FILE);
        let text = fs::read_to_string(&path)
            .map_err(|err| Error(format!("cannot read the board description {}: {err}", path.display())))?;
        Board::parse(&format!("qemu/{folder}/{DESCRIPTION_FILE}"), folder, &text)
    }

    /// Parses and checks a description; `file` names it in errors.
    pub fn parse(file: &str, folder: &str, text: &str) -> Result<Board, Error> {
        let document: Value = serde_json::from_str(text).map_err(|err| {
            Error(format!("{file}: not valid JSON: {err} (line {}, column {})", err.line(), err.column()))
        })?;
        let mut top = Object::new(file, String::new(), &document)?;
        let name = top.string("name")?;
        let profile = top.string("profile")?;
        if profile != PROFILE {
            return Err(Error(format!("{file}: profile: expected \"{PROFILE}\", found \"{profile}\"")));
        }
        let qemu_facts = Qemu::parse(&mut top)?;

        let mut memory = top.object("memory")?;
        let memory_facts = Memory {
            code_base: memory.number("code_base")?,
            code_bytes: memory.number("code_bytes")?,
            ram_base: memory.number("ram_base")?,
            ram_bytes: memory.number("ram_bytes")?,
        };
        for (what, base, bytes) in [
            ("code", memory_facts.code_base, memory_facts.code_bytes),
            ("ram", memory_facts.ram_base, memory_facts.ram_bytes),
        ] {
            if bytes == 0 || base.checked_add(bytes - 1).is_none() {
                return Err(Error(format!("{file}: memory.{what}: {bytes:#x} bytes at {base:#010x} do not fit")));
            }
        }
        let code_end = u64::from(memory_facts.code_base) + u64::from(memory_facts.code_bytes);
        let ram_end = u64::from(memory_facts.ram_base) + u64::from(memory_facts.ram_bytes);
        if u64::from(memory_facts.code_base) < ram_end && u64::from(memory_facts.ram_base) < code_end {
            return Err(Error(format!("{file}: memory: code and RAM overlap")));
        }
        memory.finish()?;

        let mut kernel = top.object("kernel_devices")?;
        let kernel_devices = KernelDevices {
            uart_cmsdk: kernel.number("uart_cmsdk")?,
            clock_hz: kernel.number("clock_hz")?,
            mpu_regions: kernel.number("mpu_regions")?,
            interrupts: kernel.number("interrupts")?,
        };
        if kernel_devices.clock_hz == 0 || !(1..=16).contains(&kernel_devices.mpu_regions) {
            return Err(Error(format!("{file}: kernel_devices: the clock must run and the MPU have 1 to 16 regions")));
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
        top.finish()?;
        Ok(Board {
            folder: folder.to_string(),
            name,
            qemu: qemu_facts,
            memory: memory_facts,
            kernel_devices,
            scenarios,
        })
    }

    /// QEMU's arguments for the machine (`-M`, `-cpu`; its memory is fixed).
    pub fn qemu_args(&self) -> Vec<String> {
        ["-M", &self.qemu.machine, "-cpu", &self.qemu.cpu].map(str::to_string).to_vec()
    }

    /// The `MEMORY` block of the M-profile kernel's linker script.
    pub fn linker_memory(&self) -> String {
        format!(
            "/* Generated from qemu/{}/{DESCRIPTION_FILE} by kernel/armv7m/build.rs: do not edit. */\n\
             MEMORY\n{{\n    CODE : ORIGIN = {:#010x}, LENGTH = {:#x}\n    RAM : ORIGIN = {:#010x}, LENGTH = {:#x}\n}}\n",
            self.folder, self.memory.code_base, self.memory.code_bytes, self.memory.ram_base, self.memory.ram_bytes
        )
    }

    /// The facts the kernel reads, as Rust constants.
    pub fn rust_constants(&self) -> String {
        let kernel = &self.kernel_devices;
        format!(
            "// Generated from qemu/{folder}/{DESCRIPTION_FILE} by kernel/armv7m/build.rs: do not edit.\n\
             /// The board's name, for messages.\n\
             pub const NAME: &str = {name:?};\n\
             /// The CMSDK UART the kernel prints on.\n\
             pub const UART: u32 = {uart:#010x};\n\
             /// The core's clock in Hz.\n\
             pub const CLOCK_HZ: u32 = {clock};\n\
             /// The MPU regions the description promises.\n\
             pub const MPU_REGIONS: u32 = {regions};\n",
            folder = self.folder,
            name = self.name,
            uart = kernel.uart_cmsdk,
            clock = kernel.clock_hz,
            regions = kernel.mpu_regions,
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
        assert_eq!(board.qemu_args(), ["-M", "mps2-an386", "-cpu", "cortex-m4"]);
        assert_eq!(board.memory.code_base, 0);
        assert_eq!(board.memory.ram_base, 0x2000_0000);
        assert_eq!(board.kernel_devices.mpu_regions, 8);
        assert!(board.linker_memory().contains("RAM : ORIGIN = 0x20000000, LENGTH = 0x400000"));
        assert!(board.rust_constants().contains("pub const UART: u32 = 0x40004000;"));
    }

    #[test]
    fn bad_descriptions_name_the_key() {
        let text = mps2_text();
        let cases = [
            (text.replace("\"armv7m\"", "\"armv7a\""), "profile"),
            (text.replace("\"uart_cmsdk\"", "\"uart_pl011\""), "kernel_devices"),
            (text.replace("\"ram_base\": \"0x20000000\"", "\"ram_base\": \"0x00100000\""), "overlap"),
            (text.replace("\"mpu_regions\": 8", "\"mpu_regions\": 0"), "MPU"),
            (text.replace("\"scenarios\"", "\"scenario\""), "scenario"),
        ];
        for (bad, key) in cases {
            let error = Board::parse("board.json", "mps2-an386", &bad).unwrap_err();
            assert!(error.0.contains(key), "{key}: {}", error.0);
        }
    }
}
