//! GICv2 distributor and CPU interface (QEMU virt, no security extensions).

use core::ptr::{read_volatile, write_volatile};
use core::sync::atomic::{AtomicUsize, Ordering};

/// The distributor's base (svc.s's `InterruptAck` reads it too).
pub(super) static DISTRIBUTOR: AtomicUsize = AtomicUsize::new(0);
/// The CPU interface's base (svc.s's IRQ path reads it too).
pub(super) static CPU_INTERFACE: AtomicUsize = AtomicUsize::new(0);

const GICD_CTLR: usize = 0x000;
pub(super) const GICD_ISENABLER: usize = 0x100;
pub(super) const GICD_ICENABLER: usize = 0x180;
const GICD_IPRIORITYR: usize = 0x400;
const GICC_CTLR: usize = 0x00;
const GICC_PMR: usize = 0x04;
pub(super) const GICC_IAR: usize = 0x0C;
pub(super) const GICC_EOIR: usize = 0x10;
const GICC_HPPIR: usize = 0x18;

/// Interrupt IDs of 1020 and above are special (1023: spurious).
pub const SPURIOUS: u32 = 1020;

fn write(base: &AtomicUsize, offset: usize, value: u32) {
    let address = base.load(Ordering::Relaxed) + offset;
    // SAFETY: `init` stored the virtual base of the GIC's register block,
    // mapped as device memory; `offset` names a register inside it.
    unsafe { write_volatile(address as *mut u32, value) }
}

fn read(base: &AtomicUsize, offset: usize) -> u32 {
    let address = base.load(Ordering::Relaxed) + offset;
    // SAFETY: as in `write`.
    unsafe { read_volatile(address as *const u32) }
}

/// Sets up the GIC at the given (mapped) register bases with every
/// interrupt disabled.
pub fn init(distributor: usize, cpu_interface: usize) {
    DISTRIBUTOR.store(distributor, Ordering::Relaxed);
    CPU_INTERFACE.store(cpu_interface, Ordering::Relaxed);
    write(&DISTRIBUTOR, GICD_CTLR, 0);
    for word in 0..32 {
        write(&DISTRIBUTOR, GICD_ICENABLER + 4 * word, u32::MAX);
    }
    write(&DISTRIBUTOR, GICD_CTLR, 1);
    write(&CPU_INTERFACE, GICC_PMR, 0xF0);
    write(&CPU_INTERFACE, GICC_CTLR, 1);
}

/// Enables interrupt `id` at priority 0x80.
pub fn enable(id: u32) {
    let id = id as usize;
    let shift = (id % 4) * 8;
    let priority_register = GICD_IPRIORITYR + (id / 4) * 4;
    let old = read(&DISTRIBUTOR, priority_register);
    write(&DISTRIBUTOR, priority_register, (old & !(0xFF << shift)) | (0x80 << shift));
    write(&DISTRIBUTOR, GICD_ISENABLER + (id / 32) * 4, 1 << (id % 32));
}

/// Takes the highest-priority pending interrupt; returns its ID, or a value
/// of at least [`SPURIOUS`] if none is pending.
pub fn acknowledge() -> u32 {
    read(&CPU_INTERFACE, GICC_IAR) & 0x3FF
}

/// Signals the end of handling interrupt `id`.
pub fn end_of_interrupt(id: u32) {
    write(&CPU_INTERFACE, GICC_EOIR, id);
}

/// True if an interrupt is pending (for preemption points in long kernel
/// operations, which run with IRQs masked).
pub fn pending() -> bool {
    read(&CPU_INTERFACE, GICC_HPPIR) & 0x3FF < SPURIOUS
}

/// Stops interrupt `id` from being signalled (until [`unmask`]).
pub fn disable(id: u32) {
    write(&DISTRIBUTOR, GICD_ICENABLER + (id as usize / 32) * 4, 1 << (id % 32));
}

/// Lets interrupt `id` be signalled again.
pub fn unmask(id: u32) {
    write(&DISTRIBUTOR, GICD_ISENABLER + (id as usize / 32) * 4, 1 << (id % 32));
}
