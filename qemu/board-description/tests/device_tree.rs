//! Each board's device tree blob agrees with its description: the kernel's
//! own parser (`kernel_core::devicetree`) reads the blob, and RAM, the UART,
//! the GIC, the timer, the RTC, the GPIO controller and the virtio-mmio
//! transports must be where the description says.

use std::fs;

use kernel_core::devicetree::{parse, Registers};
use kernel_core::interrupts::nth_gic_interrupt;
use tessera_board::{boards_dir, Board, DESCRIPTION_FILE};

/// Every folder under `qemu/` with a description.
fn boards() -> Vec<Board> {
    let mut boards = Vec::new();
    for entry in fs::read_dir(boards_dir()).unwrap() {
        let dir = entry.unwrap().path();
        // M-profile boards have no device tree (tessera_board::armv7m).
        if dir.join(DESCRIPTION_FILE).is_file() && !tessera_board::armv7m::is_armv7m(&dir) {
            boards.push(Board::load_from(&dir).unwrap_or_else(|err| panic!("{err}")));
        }
    }
    assert!(boards.iter().any(|board| board.folder == "virt"), "qemu/virt is described");
    boards
}

#[test]
fn device_trees_agree_with_the_descriptions() {
    for board in boards() {
        let blob = fs::read(&board.device_tree).unwrap();
        let name = &board.folder;
        let facts = parse(&blob).unwrap_or_else(|err| panic!("{name}: the device tree does not parse: {err:?}"));
        let memory = &board.memory;
        assert_eq!(
            facts.memory,
            Some(Registers { address: memory.ram_base.into(), size: memory.ram_bytes.into() }),
            "{name}: RAM"
        );
        let kernel = &board.kernel_devices;
        assert_eq!(facts.uart.map(|r| r.address), Some(kernel.uart_pl011.into()), "{name}: PL011");
        let (distributor, cpu_interface) = facts.gic.expect("a GIC");
        assert_eq!(distributor.address, u64::from(kernel.gic_distributor), "{name}: GIC distributor");
        assert_eq!(cpu_interface.address, u64::from(kernel.gic_cpu_interface), "{name}: GIC CPU interface");
        let timer = facts.timer_interrupts.and_then(|property| nth_gic_interrupt(property, 1));
        assert_eq!(timer, Some(kernel.timer_interrupt), "{name}: timer interrupt");

        let devices: Vec<_> = facts.devices().collect();
        let at = |compatible: &[u8]| -> Vec<u64> {
            devices.iter().filter(|d| d.compatible == compatible).map(|d| d.registers.address).collect()
        };
        assert_eq!(at(b"arm,pl031"), [u64::from(board.devices.rtc_pl031)], "{name}: PL031");
        assert_eq!(at(b"arm,pl061"), [u64::from(board.devices.gpio_pl061)], "{name}: PL061");
        let virtio = board.devices.virtio_mmio;
        let mut transports = at(b"virtio,mmio");
        transports.sort_unstable();
        let expected: Vec<u64> =
            (0..virtio.count).map(|n| u64::from(virtio.base) + u64::from(n) * u64::from(virtio.stride)).collect();
        assert_eq!(transports, expected, "{name}: virtio-mmio transports");
        // Transport n raises interrupt first_interrupt + n.
        for device in devices.iter().filter(|d| d.compatible == b"virtio,mmio") {
            let n = (device.registers.address - u64::from(virtio.base)) / u64::from(virtio.stride);
            let wanted = virtio.first_interrupt + n as u32;
            assert_eq!(device.interrupt, Some(wanted), "{name}: the interrupt of virtio-mmio transport {n}");
        }
    }
}
