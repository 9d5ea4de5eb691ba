//! QEMU `virt` as the kernel sees it: what the device tree says, checked
//! against what the kernel supports.
//!
//! QEMU places the device tree blob at the start of RAM when it boots an ELF
//! kernel that does not overlap it (the kernel is linked 1 MiB in, see
//! `linker/kernel.ld`). The kernel takes the RAM size and the boot arguments
//! from it and checks that the UART, GIC and timer are where the kernel maps
//! them. Without a device tree it falls back to the documented virt layout.

use crate::arch::mmu::{DeviceSection, DEVICE_WINDOW};

/// Physical start of RAM on virt.
pub const RAM_START: u32 = 0x4000_0000;
/// PL011 UART registers.
pub const UART_PHYSICAL: u32 = 0x0900_0000;
/// GICv2 distributor and CPU interface.
pub const GIC_DISTRIBUTOR_PHYSICAL: u32 = 0x0800_0000;
/// GICv2 CPU interface.
pub const GIC_CPU_PHYSICAL: u32 = 0x0801_0000;
/// Where the kernel maps the GIC section.
pub const GIC_VIRTUAL: u32 = DEVICE_WINDOW;
/// Where the kernel maps the UART section.
pub const UART_VIRTUAL: u32 = DEVICE_WINDOW + 0x0010_0000;
/// Longest boot argument string kept.
pub const BOOTARGS_MAX: usize = 256;

/// The device sections the kernel maps.
pub const DEVICES: [DeviceSection; 2] = [
    DeviceSection { physical: GIC_DISTRIBUTOR_PHYSICAL, virtual_address: GIC_VIRTUAL },
    DeviceSection { physical: UART_PHYSICAL, virtual_address: UART_VIRTUAL },
];

/// What the kernel learned at boot.
pub struct BootInfo {
    /// Bytes of RAM from [`RAM_START`].
    pub ram_size: u32,
    /// Boot arguments (`-append`), truncated to [`BOOTARGS_MAX`].
    pub bootargs: [u8; BOOTARGS_MAX],
    /// Length of `bootargs`.
    pub bootargs_len: usize,
    /// True if a device tree was found.
    pub from_device_tree: bool,
}

/// Reads the device tree at the start of RAM. Must run with the MMU off (or
/// RAM identity mapped).
pub fn discover() -> BootInfo {
    let mut info =
        BootInfo { ram_size: 64 << 20, bootargs: [0; BOOTARGS_MAX], bootargs_len: 0, from_device_tree: false };
    // SAFETY: RAM starts at RAM_START on virt and is readable; `from_ptr`
    // checks the magic number and the header's sizes before using them.
    let Ok(tree) = (unsafe { fdt::Fdt::from_ptr(RAM_START as *const u8) }) else {
        return info;
    };
    info.from_device_tree = true;
    if let Some(region) = tree.memory().regions().next() {
        if region.starting_address as usize == RAM_START as usize {
            let size = region.size.unwrap_or(0).min(u32::MAX as usize - RAM_START as usize) as u32;
            // The kernel is loaded 1 MiB in; less RAM than 16 MiB is not useful.
            if size >= 16 << 20 {
                info.ram_size = size;
            }
        }
    }
    if let Some(arguments) = tree.chosen().bootargs() {
        let bytes = arguments.as_bytes();
        let len = bytes.len().min(BOOTARGS_MAX);
        info.bootargs[..len].copy_from_slice(&bytes[..len]);
        info.bootargs_len = len;
    }
    info
}
