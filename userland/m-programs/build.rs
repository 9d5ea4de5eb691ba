//! Links each program at its slot of the M-profile board named by
//! `TESSERA_M_BOARD` (`mps2-an386` when unset): user addresses are physical
//! under the MPU (docs/mt3620.md step 3.6), so a program is linked where it
//! will run. The slots come from the board description's `programs`.

use std::env;
use std::path::PathBuf;

use tessera_board::armv7m::{board_dir, Board};

/// Each program and its slot (`src/bin/<name>.rs`), in the build with
/// the checks (feature `checks`): the kernel starts the programs in slots 0
/// to 5 itself; `init` loads the others into slots 6 to 8
/// (kernel/armv7m/src/portable.rs, `KERNEL_SLOTS`). Apps have slots of
/// their own (the board's `apps`, set by xtask through
/// `tessera_app_build`).
const CHECK_SLOTS: [(&str, u32); 10] = [
    ("init", 0),
    ("echo", 1),
    ("peeker", 2),
    ("kernel-reader", 3),
    ("uart-writer", 4),
    ("fp-reader", 5),
    ("svc-stacker", 6),
    ("bkpt-er", 7),
    ("uartd", 8),
    ("gpiod", 9),
];
/// The same in the system build: the kernel starts `init`, which loads
/// the servers. Slots are numbered through the first RAM's and then a
/// second RAM's (the MT3620: `init` and `uartd` in TCM, `gpiod` in
/// SYSRAM). On a board with fewer slots than servers the servers share its
/// last slot, and an image carries only those its apps ask for (xtask
/// chooses; docs/mt3620.md, "GPIO").
const SYSTEM_SLOTS: [(&str, u32); 3] = [("init", 0), ("uartd", 1), ("gpiod", 2)];
/// The servers, which may share a board's last slot.
const SERVERS: [&str; 2] = ["uartd", "gpiod"];

fn main() {
    println!("cargo:rerun-if-env-changed=TESSERA_M_BOARD");
    // The board's name, for init's refusals ("Gpio 5: QEMU mps2-an386 has no such pin").
    let folder = env::var("TESSERA_M_BOARD").unwrap_or_else(|_| "mps2-an386".to_string());
    let described = Board::load(&folder).ok();
    let name = described.as_ref().map_or(folder, |board| board.name.clone());
    println!("cargo:rustc-env=TESSERA_M_BOARD_NAME={name}");
    // The devices the kernel grants init, by name, for init to tell them
    // apart.
    let devices: Vec<String> = described
        .iter()
        .flat_map(|board| &board.user_devices)
        .map(|device| format!("({:?}, {:#010x})", device.name, device.base))
        .collect();
    let out = PathBuf::from(env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    let apps = described.as_ref().and_then(|board| board.apps).map_or((0, 0), |apps| (apps.base, apps.end()));
    let programs =
        described.as_ref().and_then(|board| board.programs).map_or((0, 0), |programs| (programs.base, programs.end()));
    let second = described.as_ref().map_or((0, 0), |board| board.second_ram_slots());
    let ram = described
        .as_ref()
        .map_or((0, 0), |board| (board.memory.ram_base, board.memory.ram_base + board.memory.ram_bytes));
    // The apps' UART 0: the first device the description marks as a UART
    // for apps.
    let app_uart = described
        .iter()
        .flat_map(|board| &board.user_devices)
        .find_map(|device| device.uart.map(|kind| (device.name.clone(), kind, device.registers_at)))
        .map_or("None".to_string(), |(name, kind, at)| {
            let kind = match kind {
                tessera_board::armv7m::UartKind::Cmsdk => "Cmsdk",
                tessera_board::armv7m::UartKind::Ns16550 => "Ns16550",
            };
            format!("Some(({name:?}, tessera_abi::uart::Kind::{kind}, {at:#x}))")
        });
    // The GPIO blocks the GPIO server drives for apps.
    let gpio: Vec<String> = described
        .iter()
        .flat_map(|board| &board.user_devices)
        .filter_map(|device| {
            let block = device.gpio?;
            let kind = match block.kind {
                tessera_board::armv7m::GpioKind::Mt3620 => "Mt3620",
                tessera_board::armv7m::GpioKind::Mps2Leds => "Mps2Leds",
            };
            Some(format!(
                "({:?}, {:#010x}, tessera_abi::gpio::Block {{ kind: tessera_abi::gpio::Kind::{kind}, first: {}, pins: {} }})",
                device.name, device.base, block.first_pin, block.pins
            ))
        })
        .collect();
    let clock = described.as_ref().map_or(0, |board| board.kernel_devices.clock_hz);
    let text = format!(
        "/// The devices the board description grants `init` (name, base).\npub const DEVICES: [(&str, u32); {}] = [{}];\n\
         /// Where the app slots are (start, end): an app is loaded only there.\npub const APP_SLOTS: (u32, u32) = ({:#010x}, {:#010x});\n\
         /// Where the program slots are (start, end).\npub const PROGRAM_SLOTS: (u32, u32) = ({:#010x}, {:#010x});\n\
         /// Where the program slots of a second RAM are (start, end; empty without one): the kernel\n\
         /// makes no process object there.\npub const SECOND_RAM_SLOTS: (u32, u32) = ({:#010x}, {:#010x});\n\
         /// The RAM the kernel's process table covers (start, end): process objects lie there.\n\
         pub const OBJECT_RAM: (u32, u32) = ({:#010x}, {:#010x});\n\
         /// The apps' UART 0, which the UART server drives (its device's name, its kind, where its registers\n\
         /// start in the device's pages), if the board has one.\n\
         pub const APP_UART: Option<(&str, tessera_abi::uart::Kind, u32)> = {app_uart};\n\
         /// The clock the board's UARTs divide.\npub const CLOCK_HZ: u32 = {clock};\n\
         /// The GPIO blocks the GPIO server drives (their device's name, its base, the block).\n\
         pub const GPIO_BLOCKS: [(&str, u32, tessera_abi::gpio::Block); {}] = [{}];\n",
        devices.len(),
        devices.join(", "),
        apps.0,
        apps.1,
        programs.0,
        programs.1,
        second.0,
        second.1,
        ram.0,
        ram.1,
        gpio.len(),
        gpio.join(", "),
    );
    std::fs::write(out.join("devices.rs"), text).expect("cannot write devices.rs");
    let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let script = manifest.join("../../linker/user-m.ld");
    println!("cargo:rerun-if-changed={}", script.display());
    // Only the device target links with the script.
    if !env::var("TARGET").is_ok_and(|target| target.starts_with("thumbv7em")) {
        return;
    }
    let folder = env::var("TESSERA_M_BOARD").unwrap_or_else(|_| "mps2-an386".to_string());
    println!("cargo:rerun-if-changed={}", board_dir(&folder).join("board.json").display());
    let board = Board::load(&folder).unwrap_or_else(|err| {
        eprintln!("error: {err}");
        std::process::exit(1)
    });
    let Some(programs) = board.programs else {
        eprintln!("error: the board {folder} has no program slots (`programs` in its board.json)");
        std::process::exit(1)
    };
    let slots: &[(&str, u32)] =
        if env::var_os("CARGO_FEATURE_CHECKS").is_some() { &CHECK_SLOTS } else { &SYSTEM_SLOTS };
    // The first RAM's slots, then a second RAM's (the MT3620's SYSRAM).
    let total = board.program_slots();
    for &(name, slot) in slots {
        let slot = if SERVERS.contains(&name) && total >= 2 { slot.min(total - 1) } else { slot };
        let Some(address) = board.program_slot(slot) else {
            eprintln!("error: {name} needs slot {slot}, but the board {folder} has {total} slots");
            std::process::exit(1)
        };
        println!("cargo:rustc-link-arg-bin={name}=--defsym=__tessera_slot={address:#x}");
    }
    println!("cargo:rustc-link-arg-bins=--defsym=__tessera_slot_bytes={:#x}", programs.slot_bytes);
    // init's app manager decides over every app at once, on its stack.
    println!("cargo:rustc-link-arg-bin=init=--defsym=__tessera_stack_bytes=0x8000");
    // init and the UART server run their code in place, where xtask puts
    // it in the boot image (docs/mt3620.md, "Code in place"): xtask names
    // each address once it knows it (`TESSERA_M_TEXT_<NAME>`); until then
    // (or built by hand) the code is in the slot.
    for &(name, _) in slots {
        let variable = tessera_board::armv7m::program_text_variable(name);
        println!("cargo:rerun-if-env-changed={variable}");
        if let Ok(text) = env::var(&variable) {
            println!("cargo:rustc-link-arg-bin={name}=--defsym=__tessera_text={text}");
        }
    }
    println!("cargo:rustc-link-arg-bins=-T{}", script.display());
    println!("cargo:rustc-link-arg-bins=-zmax-page-size=4096");
    println!("cargo:rustc-link-arg-bins=--strip-all");
}
