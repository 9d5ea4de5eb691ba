//! The device tree reader on the blob QEMU 7.2 really passes to the kernel
//! (`qemu/virt/qemu-virt.dtb`, the board description's copy, written by
//! `qemu-system-arm -M virt,dumpdtb=qemu-virt.dtb -cpu cortex-a7 -m 64M
//! -kernel <any ELF> -append "scenario=boot"`), cut to the end of its last
//! block with `totalsize` set to match (QEMU reserves 1 MiB of free space).

use kernel_core::devicetree::{parse, Registers};
use kernel_core::interrupts::nth_gic_interrupt;

const VIRT: &[u8] = include_bytes!("../../../qemu/virt/qemu-virt.dtb");

#[test]
fn reads_qemu_virt() {
    let facts = parse(VIRT).expect("QEMU's device tree parses");
    assert_eq!(facts.memory, Some(Registers { address: 0x4000_0000, size: 64 << 20 }));
    assert_eq!(facts.uart.map(|r| r.address), Some(0x0900_0000));
    let (distributor, cpu_interface) = facts.gic.expect("a GIC");
    assert_eq!((distributor.address, cpu_interface.address), (0x0800_0000, 0x0801_0000));
    assert_eq!(facts.bootargs, Some(&b"scenario=boot"[..]));
    assert_eq!(nth_gic_interrupt(facts.timer_interrupts.expect("a timer"), 1), Some(30));
    // The devices handed to user space: RTC, GPIO, fw-cfg and the 32 virtio
    // transports; not the flash (too large), the UART, GIC or timer.
    let devices: Vec<_> = facts.devices().collect();
    assert_eq!(facts.devices_dropped, 0);
    let find = |compatible: &[u8]| devices.iter().filter(|d| d.compatible == compatible).count();
    assert_eq!(find(b"virtio,mmio"), 32);
    assert_eq!(find(b"arm,pl031"), 1);
    assert_eq!(find(b"arm,pl061"), 1);
    assert_eq!(find(b"arm,pl011"), 0);
    assert_eq!(find(b"cfi-flash"), 0);
    assert_eq!(find(b"arm,gic-v2m-frame"), 0, "part of the interrupt controller");
    let rtc = devices.iter().find(|d| d.compatible == b"arm,pl031").unwrap();
    assert_eq!((rtc.registers.address, rtc.interrupt), (0x0901_0000, Some(34)));
    let first_virtio = devices.iter().find(|d| d.compatible == b"virtio,mmio").unwrap();
    assert_eq!(first_virtio.interrupt, Some(48));
}

#[test]
fn every_prefix_of_qemu_virt_fails_cleanly() {
    for cut in (0..VIRT.len()).step_by(7) {
        assert!(parse(&VIRT[..cut]).is_err());
    }
}
