//! The board as the kernel sees it: what the device tree says.
//!
//! QEMU places the device tree blob at the start of RAM when it boots an ELF
//! kernel that does not overlap it (the kernel is linked above it, at the
//! description's `memory.kernel_load`). The kernel takes from it the RAM
//! size, the boot arguments, the PL011 UART, the GICv2 and the generic
//! timer's interrupt. Whatever the tree lacks falls back to the board's
//! description (`qemu/<board>/board.json`, as `tessera-board-constants`),
//! and the boot log says so.

use crate::arch::mmu::{DeviceSection, DEVICE_WINDOW};
use kernel_core::devicetree;
use kernel_core::interrupts::nth_gic_interrupt;
use kernel_core::pagetable::SECTION_SIZE;
use tessera_abi::layout::PAGE_SIZE;
use tessera_board_constants::{kernel_devices, memory};

/// Physical start of RAM.
pub const RAM_START: u32 = memory::RAM_BASE;
/// The page holding the device secret (the last page of the board's RAM):
/// never part of untyped memory.
pub const SECRET: u32 = memory::SECRET;
/// Longest boot argument string kept.
pub const BOOTARGS_MAX: usize = 256;
/// Most device sections mapped.
const MAX_DEVICE_SECTIONS: usize = 3;

/// The most RAM the kernel uses (1023 MiB): the process table names each
/// 16 KiB block of RAM with a 16-bit index (`kernel/core/src/kernel/table.rs`).
/// RAM beyond it is left alone.
pub const RAM_MAX: u32 = 1023 << 20;

/// The devices the kernel drives, by physical address.
#[derive(Clone, Copy, Debug)]
pub struct Devices {
    /// PL011 UART registers.
    pub uart: u32,
    /// GICv2 distributor.
    pub gic_distributor: u32,
    /// GICv2 CPU interface.
    pub gic_cpu_interface: u32,
    /// Interrupt ID of the non-secure physical timer.
    pub timer_interrupt: u32,
}

/// The board description's devices, for a missing or incomplete device tree.
pub const BOARD_DEFAULTS: Devices = Devices {
    uart: kernel_devices::UART_PL011,
    gic_distributor: kernel_devices::GIC_DISTRIBUTOR,
    gic_cpu_interface: kernel_devices::GIC_CPU_INTERFACE,
    timer_interrupt: kernel_devices::TIMER_INTERRUPT,
};

/// Most device regions and interrupts handed to the root task.
pub const MAX_USER_DEVICES: usize = devicetree::MAX_DEVICES;

/// The devices the kernel does not drive, for the root task: register pages
/// (devices sharing a page share one region) and interrupt IDs.
pub struct UserDevices {
    /// (physical address, bytes), page aligned.
    pub regions: [(u32, u32); MAX_USER_DEVICES],
    /// Number of regions.
    pub region_count: usize,
    /// Interrupt IDs.
    pub interrupts: [u32; MAX_USER_DEVICES],
    /// Number of interrupts.
    pub interrupt_count: usize,
}

impl UserDevices {
    const NONE: UserDevices = UserDevices {
        regions: [(0, 0); MAX_USER_DEVICES],
        region_count: 0,
        interrupts: [0; MAX_USER_DEVICES],
        interrupt_count: 0,
    };

    fn add(&mut self, registers: devicetree::Registers, interrupt: Option<u32>) {
        let page = PAGE_SIZE as u64;
        let start = registers.address & !(page - 1);
        let end = (registers.address + registers.size).next_multiple_of(page);
        if end > u32::MAX as u64 {
            return;
        }
        let (start, end) = (start as u32, end as u32);
        let regions = &mut self.regions[..self.region_count];
        if let Some(region) = regions.iter_mut().find(|(a, size)| start < a + size && *a < end) {
            let merged_start = region.0.min(start);
            let merged_end = (region.0 + region.1).max(end);
            *region = (merged_start, merged_end - merged_start);
        } else if self.region_count < MAX_USER_DEVICES {
            self.regions[self.region_count] = (start, end - start);
            self.region_count += 1;
        }
        if let Some(interrupt) = interrupt {
            if !self.interrupts[..self.interrupt_count].contains(&interrupt) && self.interrupt_count < MAX_USER_DEVICES
            {
                self.interrupts[self.interrupt_count] = interrupt;
                self.interrupt_count += 1;
            }
        }
    }
}

/// What the kernel learned at boot.
pub struct BootInfo {
    /// Bytes of RAM from [`RAM_START`], at most [`RAM_MAX`].
    pub ram_size: u32,
    /// Boot arguments (`-append`), truncated to [`BOOTARGS_MAX`].
    pub bootargs: [u8; BOOTARGS_MAX],
    /// Length of `bootargs`.
    pub bootargs_len: usize,
    /// The devices.
    pub devices: Devices,
    /// What came from the device tree, for the boot log.
    pub found: &'static str,
    /// Devices for the root task.
    pub user_devices: UserDevices,
}

/// Most bytes of device tree read: everything below the kernel.
const DEVICE_TREE_MAX: usize = memory::DEVICE_TREE_MAX_BYTES as usize;

/// Reads the device tree at the start of RAM. Must run with the MMU off (or
/// RAM identity mapped).
pub fn discover() -> BootInfo {
    let mut info = BootInfo {
        ram_size: memory::RAM_BYTES,
        bootargs: [0; BOOTARGS_MAX],
        bootargs_len: 0,
        devices: BOARD_DEFAULTS,
        found: "no device tree: the board description's defaults",
        user_devices: UserDevices::NONE,
    };
    // SAFETY: the DEVICE_TREE_MAX bytes from the start of RAM lie below the
    // kernel image (the board description's check guarantees it), are
    // readable with the MMU off and are never written by the kernel; QEMU
    // puts the device tree there. The parser checks everything it reads from it.
    let blob = unsafe { core::slice::from_raw_parts(RAM_START as *const u8, DEVICE_TREE_MAX) };
    let Ok(facts) = devicetree::parse(blob) else {
        return info;
    };
    if let Some(memory) = facts.memory {
        // The kernel is loaded above the tree; less RAM than 16 MiB is not useful.
        if memory.address == RAM_START as u64 && memory.size >= 16 << 20 {
            info.ram_size = memory.size.min(RAM_MAX as u64) as u32;
        }
    }
    if let Some(arguments) = facts.bootargs {
        let len = arguments.len().min(BOOTARGS_MAX);
        // Byte by byte, not `copy_from_slice`: the MMU is still off, every
        // access is strongly ordered, and the kernel's `memcpy` loads words
        // unaligned when the two sides are misaligned, which faults here.
        // (`black_box` keeps the compiler from making this a `memcpy`.)
        for (to, &from) in info.bootargs[..len].iter_mut().zip(&arguments[..len]) {
            *to = core::hint::black_box(from);
        }
        info.bootargs_len = len;
    }
    let address = |registers: devicetree::Registers| u32::try_from(registers.address).ok();
    let uart = facts.uart.and_then(address);
    let gic = facts.gic.and_then(|(distributor, cpu)| address(distributor).zip(address(cpu)));
    let timer = facts.timer_interrupts.and_then(|property| nth_gic_interrupt(property, 1));
    for device in facts.devices() {
        info.user_devices.add(device.registers, device.interrupt);
    }
    if let (Some(uart), Some((distributor, cpu_interface)), Some(timer)) = (uart, gic, timer) {
        info.devices =
            Devices { uart, gic_distributor: distributor, gic_cpu_interface: cpu_interface, timer_interrupt: timer };
        info.found = "RAM, devices and boot arguments from the device tree";
    } else {
        info.found = "RAM and boot arguments from the device tree, devices from the board description";
    }
    info
}

/// The device sections to map, and where each device lands in the kernel's
/// address space.
pub struct DeviceMap {
    sections: [DeviceSection; MAX_DEVICE_SECTIONS],
    count: usize,
}

impl DeviceMap {
    /// Places each device's 1 MiB section in the device window.
    pub fn new(devices: &Devices) -> DeviceMap {
        let mut map = DeviceMap {
            sections: [const { DeviceSection { physical: 0, virtual_address: 0 } }; MAX_DEVICE_SECTIONS],
            count: 0,
        };
        for physical in [devices.uart, devices.gic_distributor, devices.gic_cpu_interface] {
            let base = physical & !(SECTION_SIZE - 1);
            if !map.sections().iter().any(|s| s.physical == base) {
                let virtual_address = DEVICE_WINDOW + map.count as u32 * SECTION_SIZE;
                map.sections[map.count] = DeviceSection { physical: base, virtual_address };
                map.count += 1;
            }
        }
        map
    }

    /// The sections to map.
    pub fn sections(&self) -> &[DeviceSection] {
        &self.sections[..self.count]
    }

    /// Kernel virtual address of the device register block at `physical`.
    pub fn virtual_address(&self, physical: u32) -> usize {
        let base = physical & !(SECTION_SIZE - 1);
        let section = self.sections().iter().find(|s| s.physical == base).expect("device not in the map");
        (section.virtual_address + (physical - base)) as usize
    }
}
