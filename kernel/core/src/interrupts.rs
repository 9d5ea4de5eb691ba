//! Interrupt numbering: turning a device tree's GIC interrupt specifier into
//! the interrupt ID the GIC uses.

/// Cells of the `interrupts` property per interrupt for a GICv2 parent.
pub const GIC_SPECIFIER_CELLS: usize = 3;

/// The GIC interrupt ID for a specifier's first two cells: `kind` 0 is a
/// shared peripheral interrupt (IDs 32..1020), 1 a private one (IDs 16..32).
pub const fn gic_interrupt_id(kind: u32, number: u32) -> Option<u32> {
    match kind {
        0 if number < 988 => Some(number + 32),
        1 if number < 16 => Some(number + 16),
        _ => None,
    }
}

/// The `index`th interrupt ID in a big-endian `interrupts` property of
/// three-cell GIC specifiers, if the property holds one.
pub fn nth_gic_interrupt(property: &[u8], index: usize) -> Option<u32> {
    let start = index.checked_mul(GIC_SPECIFIER_CELLS * 4)?;
    let cells = property.get(start..start.checked_add(8)?)?;
    let kind = u32::from_be_bytes([cells[0], cells[1], cells[2], cells[3]]);
    let number = u32::from_be_bytes([cells[4], cells[5], cells[6], cells[7]]);
    gic_interrupt_id(kind, number)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn virt_timer_property() {
        // QEMU virt's /timer: secure phys PPI 13, non-secure phys 14, virt 11, hyp 10.
        let cells: [u32; 12] = [1, 13, 0x104, 1, 14, 0x104, 1, 11, 0x104, 1, 10, 0x104];
        let bytes: std::vec::Vec<u8> = cells.iter().flat_map(|c| c.to_be_bytes()).collect();
        assert_eq!(nth_gic_interrupt(&bytes, 1), Some(30));
        assert_eq!(nth_gic_interrupt(&bytes, 2), Some(27));
        assert_eq!(nth_gic_interrupt(&bytes, 4), None);
        assert_eq!(nth_gic_interrupt(&bytes[..16], 1), None);
        assert_eq!(gic_interrupt_id(0, 1), Some(33));
        assert_eq!(gic_interrupt_id(1, 16), None);
        assert_eq!(gic_interrupt_id(2, 0), None);
    }

    extern crate std;
}
