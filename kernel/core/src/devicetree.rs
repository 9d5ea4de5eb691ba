//! A small flattened device tree (DTB) reader: one pass over the structure
//! block, collecting the few facts the kernel needs about its board.
//!
//! The blob comes from the boot loader (QEMU here), so it is outside input:
//! every offset and length is checked, and [`parse`] never panics. A general
//! DTB crate re-walks the tree for every lookup and has accessors that panic
//! on a missing node; one walk costs a few tens of thousands of instructions
//! at boot instead of several hundred thousand (see docs/benchmarks.md).

#[cfg(test)]
extern crate std;

/// Magic number at the start of a DTB (big-endian).
pub const MAGIC: u32 = 0xd00d_feed;
const BEGIN_NODE: u32 = 1;
const END_NODE: u32 = 2;
const PROPERTY: u32 = 3;
const NOP: u32 = 4;
const END: u32 = 9;
/// Deepest node nesting read.
pub const MAX_DEPTH: usize = 16;

/// Why a blob was not read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeviceTreeError {
    /// Shorter than its header or than the size the header gives.
    Truncated,
    /// Does not start with [`MAGIC`].
    BadMagic,
    /// A block offset or size points outside the blob.
    BadLayout,
    /// An unknown token, or a node or property running off the block.
    BadStructure,
    /// Nodes nested deeper than [`MAX_DEPTH`].
    TooDeep,
}

/// A register block: physical address and size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Registers {
    /// First address.
    pub address: u64,
    /// Size in bytes.
    pub size: u64,
}

/// Most other devices recorded.
pub const MAX_DEVICES: usize = 48;
/// Largest register block recorded for another device (flash is left out).
pub const MAX_DEVICE_BYTES: u64 = 1 << 20;

/// A device the kernel does not drive itself: its first register block and
/// its first interrupt (a GIC interrupt ID), for handing to user space.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Device<'a> {
    /// First string of its `compatible` property.
    pub compatible: &'a [u8],
    /// First register block.
    pub registers: Registers,
    /// First interrupt, if it has one the reader understands.
    pub interrupt: Option<u32>,
}

/// What the kernel learns from the device tree. Each fact is absent if the
/// tree lacks it or states it in a form this reader does not take.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BoardFacts<'a> {
    /// The first `memory` node's first region.
    pub memory: Option<Registers>,
    /// `/chosen/bootargs`, without the terminating zero.
    pub bootargs: Option<&'a [u8]>,
    /// The first `arm,pl011` UART's registers.
    pub uart: Option<Registers>,
    /// The first GICv2's distributor and CPU interface registers.
    pub gic: Option<(Registers, Registers)>,
    /// The `interrupts` property of the first `arm,armv7-timer`.
    pub timer_interrupts: Option<&'a [u8]>,
    /// Other devices with registers (not memory, the kernel's UART, the GIC
    /// or the timer), in tree order; at most [`MAX_DEVICES`].
    pub devices: [Option<Device<'a>>; MAX_DEVICES],
    /// Devices left out because `devices` was full.
    pub devices_dropped: usize,
}

impl Default for BoardFacts<'_> {
    fn default() -> Self {
        BoardFacts {
            memory: None,
            bootargs: None,
            uart: None,
            gic: None,
            timer_interrupts: None,
            devices: [None; MAX_DEVICES],
            devices_dropped: 0,
        }
    }
}

impl<'a> BoardFacts<'a> {
    /// The other devices found.
    pub fn devices(&self) -> impl Iterator<Item = &Device<'a>> {
        self.devices.iter().flatten()
    }
}

/// `compatible` strings of a GICv2.
pub const GIC_COMPATIBLE: [&[u8]; 3] = [b"arm,cortex-a15-gic", b"arm,cortex-a7-gic", b"arm,gic-400"];

#[inline(never)]
fn be32(bytes: &[u8], offset: usize) -> Option<u32> {
    let word = bytes.get(offset..offset.checked_add(4)?)?;
    Some(u32::from_be_bytes([word[0], word[1], word[2], word[3]]))
}

/// Reads `cells` big-endian cells (0..=2) at `offset` of `value` as a number.
fn read_cells(value: &[u8], offset: usize, cells: u32) -> Option<u64> {
    match cells {
        0 => Some(0),
        1 => be32(value, offset).map(u64::from),
        2 => Some(((be32(value, offset)? as u64) << 32) | be32(value, offset + 4)? as u64),
        _ => None,
    }
}

/// Entry `index` of a `reg` property under a parent with these cell counts.
#[inline(never)]
pub fn reg_entry(value: &[u8], address_cells: u32, size_cells: u32, index: usize) -> Option<Registers> {
    if address_cells > 2 || size_cells > 2 {
        return None;
    }
    let entry = (address_cells + size_cells) as usize * 4;
    let offset = index.checked_mul(entry)?;
    Some(Registers {
        address: read_cells(value, offset, address_cells)?,
        size: read_cells(value, offset + address_cells as usize * 4, size_cells)?,
    })
}

/// True if a `compatible` value (zero-separated strings) lists one of `names`.
pub fn is_compatible(value: &[u8], names: &[&[u8]]) -> bool {
    let mut start = 0;
    while start < value.len() {
        let end = value[start..].iter().position(|&b| b == 0).map_or(value.len(), |len| start + len);
        let entry = &value[start..end];
        if names.contains(&entry) {
            return true;
        }
        start = end + 1;
    }
    false
}

/// What a node's `compatible` value makes it for the kernel (bits).
const UART: u8 = 1;
const GIC: u8 = 2;
const GIC_V2M: u8 = 4;
const TIMER: u8 = 8;
/// The `compatible` strings behind those bits.
const KINDS: [(&[u8], u8); 6] = [
    (b"arm,pl011", UART),
    (GIC_COMPATIBLE[0], GIC),
    (GIC_COMPATIBLE[1], GIC),
    (GIC_COMPATIBLE[2], GIC),
    (b"arm,gic-v2m-frame", GIC_V2M),
    (b"arm,armv7-timer", TIMER),
];

// `kinds` skips entries without this prefix.
const _: () = {
    let mut i = 0;
    while i < KINDS.len() {
        let name = KINDS[i].0;
        assert!(name.len() > 4 && name[0] == b'a' && name[1] == b'r' && name[2] == b'm' && name[3] == b',');
        i += 1;
    }
};

/// The kinds a `compatible` value names, in one pass over its strings
/// (what [`is_compatible`] answers for each kind's names).
fn kinds(value: &[u8]) -> u8 {
    value
        .split(|&b| b == 0)
        // Every name above starts so: most entries stop at this test.
        .filter(|entry| entry.starts_with(b"arm,"))
        .flat_map(|entry| KINDS.iter().filter(move |(name, _)| *name == entry))
        .fold(0, |kinds, (_, kind)| kinds | kind)
}

/// The properties of one node that matter here.
#[derive(Clone, Copy, Default)]
struct Node<'a> {
    name: &'a [u8],
    compatible: &'a [u8],
    reg: Option<&'a [u8]>,
    interrupts: Option<&'a [u8]>,
    bootargs: Option<&'a [u8]>,
    device_type: &'a [u8],
    /// `#address-cells` / `#size-cells` this node sets for its children.
    address_cells: u32,
    size_cells: u32,
}

/// Reads the facts from `blob`, which must hold a whole DTB (its header's
/// `totalsize` bytes at least).
pub fn parse(blob: &[u8]) -> Result<BoardFacts<'_>, DeviceTreeError> {
    let header = |field: usize| be32(blob, field * 4).ok_or(DeviceTreeError::Truncated);
    if header(0)? != MAGIC {
        return Err(DeviceTreeError::BadMagic);
    }
    let total = header(1)? as usize;
    if total > blob.len() || total < 40 {
        return Err(DeviceTreeError::Truncated);
    }
    let blob = &blob[..total];
    let block = |offset: u32, size: u32| {
        let start = offset as usize;
        let end = start.checked_add(size as usize).ok_or(DeviceTreeError::BadLayout)?;
        blob.get(start..end).ok_or(DeviceTreeError::BadLayout)
    };
    let structure = block(header(2)?, header(9)?)?;
    let strings = block(header(3)?, header(8)?)?;
    // The property names that matter, found once in the strings block, so
    // that each property is matched by comparing offsets.
    const NAMES: [&[u8]; 7] =
        [b"compatible", b"reg", b"interrupts", b"bootargs", b"device_type", b"#address-cells", b"#size-cells"];
    let mut offsets = [u32::MAX; NAMES.len()];
    // Whether a name that matters can be found at another offset too: it
    // is written twice, or it is the tail of a longer string.
    let mut elsewhere = false;
    let mut start = 0;
    while start < strings.len() {
        let len = strings[start..].iter().position(|&b| b == 0).unwrap_or(strings.len() - start);
        let string = &strings[start..start + len];
        if let Some(found) = NAMES.iter().position(|name| *name == string) {
            if offsets[found] == u32::MAX {
                offsets[found] = start as u32;
            } else {
                elsewhere = true;
            }
        }
        elsewhere |= NAMES.iter().any(|name| string.len() > name.len() && string.ends_with(name));
        start += len + 1;
    }
    // Offsets up to the last terminator start a terminated string.
    let terminated = strings.iter().rposition(|&b| b == 0);
    // A property name offset may also point to a second copy of a name or
    // into the middle of a string (the format allows sharing tails); such
    // names are checked the slow way, when the strings hold one.
    let string = |offset: u32| {
        let tail = strings.get(offset as usize..)?;
        Some(&tail[..tail.iter().position(|&b| b == 0)?])
    };
    let name_of = |offset: u32| -> Result<Option<usize>, DeviceTreeError> {
        if let Some(found) = offsets.iter().position(|&known| known == offset) {
            return Ok(Some(found));
        }
        if terminated.is_none_or(|last| offset as usize > last) {
            return Err(DeviceTreeError::BadStructure);
        }
        if !elsewhere {
            return Ok(None);
        }
        let name = string(offset).ok_or(DeviceTreeError::BadStructure)?;
        Ok(NAMES.iter().position(|known| *known == name))
    };

    let mut facts = BoardFacts::default();
    // Devices are recorded in order: the first free entry.
    let mut device_count = 0;
    // Node stack; the root's parent cells default to 2 and 1 (the spec's defaults).
    let mut stack: [Node; MAX_DEPTH] = [Node::default(); MAX_DEPTH];
    let mut depth = 0usize;
    let mut cursor = 0usize;
    loop {
        let token = be32(structure, cursor).ok_or(DeviceTreeError::BadStructure)?;
        cursor += 4;
        match token {
            BEGIN_NODE => {
                let rest = structure.get(cursor..).ok_or(DeviceTreeError::BadStructure)?;
                let len = rest.iter().position(|&b| b == 0).ok_or(DeviceTreeError::BadStructure)?;
                if depth == MAX_DEPTH {
                    return Err(DeviceTreeError::TooDeep);
                }
                stack[depth] = Node { name: &rest[..len], address_cells: 2, size_cells: 1, ..Node::default() };
                depth += 1;
                cursor = (cursor + len + 1).next_multiple_of(4);
            }
            PROPERTY => {
                let len = be32(structure, cursor).ok_or(DeviceTreeError::BadStructure)? as usize;
                let name_offset = be32(structure, cursor + 4).ok_or(DeviceTreeError::BadStructure)?;
                let start = cursor + 8;
                let value = structure.get(start..start.checked_add(len).ok_or(DeviceTreeError::BadStructure)?);
                let value = value.ok_or(DeviceTreeError::BadStructure)?;
                cursor = (start + len).next_multiple_of(4);
                if depth == 0 {
                    return Err(DeviceTreeError::BadStructure);
                }
                let node = &mut stack[depth - 1];
                let cells = || be32(value, 0);
                match name_of(name_offset)? {
                    Some(0) => node.compatible = value,
                    Some(1) => node.reg = Some(value),
                    Some(2) => node.interrupts = Some(value),
                    Some(3) => node.bootargs = Some(value),
                    Some(4) => node.device_type = value,
                    Some(5) => node.address_cells = cells().unwrap_or(u32::MAX),
                    Some(6) => node.size_cells = cells().unwrap_or(u32::MAX),
                    _ => {}
                }
            }
            END_NODE => {
                if depth == 0 {
                    return Err(DeviceTreeError::BadStructure);
                }
                depth -= 1;
                let node = stack[depth];
                // Cells of this node's `reg` come from its parent.
                let (address_cells, size_cells) =
                    if depth == 0 { (2, 1) } else { (stack[depth - 1].address_cells, stack[depth - 1].size_cells) };
                let reg = |index| node.reg.and_then(|value| reg_entry(value, address_cells, size_cells, index));
                let is_memory = node.name == b"memory"
                    || node.name.starts_with(b"memory@")
                    || node.device_type.strip_suffix(b"\0") == Some(b"memory");
                if depth == 1 && is_memory && facts.memory.is_none() {
                    facts.memory = reg(0);
                }
                if depth == 1 && node.name == b"chosen" {
                    if let Some(arguments) = node.bootargs {
                        facts.bootargs =
                            Some(&arguments[..arguments.iter().position(|&b| b == 0).unwrap_or(arguments.len())]);
                    }
                }
                let mut kernel_owned = false;
                let kinds = kinds(node.compatible);
                if facts.uart.is_none() && kinds & UART != 0 {
                    facts.uart = reg(0);
                    kernel_owned = true;
                }
                if facts.gic.is_none() && kinds & GIC != 0 {
                    facts.gic = reg(0).zip(reg(1));
                    kernel_owned = true;
                }
                // The GICv2m MSI frame belongs to the interrupt controller.
                kernel_owned |= kinds & GIC_V2M != 0;
                if facts.timer_interrupts.is_none() && kinds & TIMER != 0 {
                    facts.timer_interrupts = node.interrupts;
                    kernel_owned = true;
                }
                let registers = reg(0).filter(|r| r.size > 0 && r.size <= MAX_DEVICE_BYTES);
                if let (false, false, false, Some(registers)) =
                    (kernel_owned, is_memory, node.compatible.is_empty(), registers)
                {
                    let compatible = node.compatible.split(|&b| b == 0).next().unwrap_or(&[]);
                    let interrupt = node.interrupts.and_then(|value| crate::interrupts::nth_gic_interrupt(value, 0));
                    match facts.devices.get_mut(device_count) {
                        Some(free) => {
                            *free = Some(Device { compatible, registers, interrupt });
                            device_count += 1;
                        }
                        None => facts.devices_dropped += 1,
                    }
                }
            }
            NOP => {}
            END => break,
            _ => return Err(DeviceTreeError::BadStructure),
        }
    }
    if depth != 0 {
        return Err(DeviceTreeError::BadStructure);
    }
    Ok(facts)
}

/// One item for [`build`], which makes a DTB for tests: `(depth change,
/// name, properties)`; +1 opens a node named `name` with `properties`
/// (name, value), -1 closes the innermost node.
#[cfg(test)]
pub type BuildItem<'a> = (i32, &'a str, &'a [(&'a str, &'a [u8])]);

/// See [`BuildItem`].
#[cfg(test)]
pub fn build(items: &[BuildItem]) -> std::vec::Vec<u8> {
    use std::vec::Vec;
    let mut structure = Vec::new();
    let mut strings: Vec<u8> = Vec::new();
    let word = |out: &mut Vec<u8>, value: u32| out.extend_from_slice(&value.to_be_bytes());
    for (change, name, properties) in items {
        if *change > 0 {
            word(&mut structure, BEGIN_NODE);
            structure.extend_from_slice(name.as_bytes());
            structure.push(0);
            while structure.len() % 4 != 0 {
                structure.push(0);
            }
            for (property, value) in properties.iter() {
                let offset = strings.len() as u32;
                strings.extend_from_slice(property.as_bytes());
                strings.push(0);
                word(&mut structure, PROPERTY);
                word(&mut structure, value.len() as u32);
                word(&mut structure, offset);
                structure.extend_from_slice(value);
                while structure.len() % 4 != 0 {
                    structure.push(0);
                }
            }
        } else {
            word(&mut structure, END_NODE);
        }
    }
    word(&mut structure, END);
    let header = 40u32;
    let structure_offset = header + 16; // empty memory reservation map
    let strings_offset = structure_offset + structure.len() as u32;
    let total = strings_offset + strings.len() as u32;
    let mut blob = Vec::new();
    for value in [
        MAGIC,
        total,
        structure_offset,
        strings_offset,
        header,
        17,
        16,
        0,
        strings.len() as u32,
        structure.len() as u32,
    ] {
        word(&mut blob, value);
    }
    blob.extend_from_slice(&[0; 16]);
    blob.extend_from_slice(&structure);
    blob.extend_from_slice(&strings);
    blob
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cells(values: &[u32]) -> std::vec::Vec<u8> {
        values.iter().flat_map(|v| v.to_be_bytes()).collect()
    }

    fn virt_like() -> std::vec::Vec<u8> {
        let memory = cells(&[0, 0x4000_0000, 0, 0x0400_0000]);
        let uart = cells(&[0, 0x0900_0000, 0, 0x1000]);
        let gic = cells(&[0, 0x0800_0000, 0, 0x10000, 0, 0x0801_0000, 0, 0x10000]);
        let timer = cells(&[1, 13, 0x104, 1, 14, 0x104, 1, 11, 0x104, 1, 10, 0x104]);
        let two = cells(&[2]);
        let rtc = cells(&[0, 0x0901_0000, 0, 0x1000]);
        let rtc_irq = cells(&[0, 2, 4]);
        let flash = cells(&[0, 0, 0, 0x0400_0000]);
        build(&[
            (1, "", &[("#address-cells", &two), ("#size-cells", &two), ("compatible", b"linux,dummy-virt\0")]),
            (1, "memory@40000000", &[("reg", &memory), ("device_type", b"memory\0")]),
            (-1, "", &[]),
            (1, "pl011@9000000", &[("compatible", b"arm,pl011\0arm,primecell\0"), ("reg", &uart)]),
            (-1, "", &[]),
            (1, "intc@8000000", &[("compatible", b"arm,cortex-a15-gic\0"), ("reg", &gic)]),
            (-1, "", &[]),
            (1, "timer", &[("compatible", b"arm,armv7-timer\0"), ("interrupts", &timer)]),
            (-1, "", &[]),
            (
                1,
                "pl031@9010000",
                &[("compatible", b"arm,pl031\0arm,primecell\0"), ("reg", &rtc), ("interrupts", &rtc_irq)],
            ),
            (-1, "", &[]),
            (1, "flash@0", &[("compatible", b"cfi-flash\0"), ("reg", &flash)]),
            (-1, "", &[]),
            (1, "chosen", &[("bootargs", b"scenario=boot\0")]),
            (-1, "", &[]),
            (-1, "", &[]),
        ])
    }

    #[test]
    fn reads_a_virt_like_tree() {
        let blob = virt_like();
        let facts = parse(&blob).unwrap();
        assert_eq!(facts.memory, Some(Registers { address: 0x4000_0000, size: 0x0400_0000 }));
        assert_eq!(facts.uart, Some(Registers { address: 0x0900_0000, size: 0x1000 }));
        let (distributor, cpu) = facts.gic.unwrap();
        assert_eq!((distributor.address, cpu.address), (0x0800_0000, 0x0801_0000));
        assert_eq!(facts.bootargs, Some(&b"scenario=boot"[..]));
        let timer = crate::interrupts::nth_gic_interrupt(facts.timer_interrupts.unwrap(), 1);
        assert_eq!(timer, Some(30));
        let devices: std::vec::Vec<_> = facts.devices().collect();
        assert_eq!(devices.len(), 1, "only the RTC is another device: {devices:?}");
        assert_eq!(devices[0].compatible, b"arm,pl031");
        assert_eq!(devices[0].registers.address, 0x0901_0000);
        assert_eq!(devices[0].interrupt, Some(34));
    }

    #[test]
    fn missing_nodes_are_absent_not_errors() {
        let blob = build(&[(1, "", &[]), (-1, "", &[])]);
        assert_eq!(parse(&blob), Ok(BoardFacts::default()));
    }

    #[test]
    fn rejects_damaged_blobs() {
        let blob = virt_like();
        assert_eq!(parse(&blob[..20]), Err(DeviceTreeError::Truncated));
        assert_eq!(parse(&blob[..blob.len() - 1]), Err(DeviceTreeError::Truncated));
        let mut bad = blob.clone();
        bad[0] = 0;
        assert_eq!(parse(&bad), Err(DeviceTreeError::BadMagic));
        let mut bad = blob.clone();
        bad[8..12].copy_from_slice(&0xFFFF_0000u32.to_be_bytes());
        assert_eq!(parse(&bad), Err(DeviceTreeError::BadLayout));
        let mut bad = blob.clone();
        bad[56..60].copy_from_slice(&77u32.to_be_bytes()); // first token
        assert_eq!(parse(&bad), Err(DeviceTreeError::BadStructure));
        let unclosed = build(&[(1, "", &[])]);
        assert_eq!(parse(&unclosed), Err(DeviceTreeError::BadStructure));
        let deep: std::vec::Vec<BuildItem> = (0..MAX_DEPTH + 1).map(|_| (1, "n", &[][..])).collect();
        assert_eq!(parse(&build(&deep)), Err(DeviceTreeError::TooDeep));
    }

    #[test]
    fn odd_cell_counts_drop_the_fact() {
        let three = cells(&[3]);
        let reg = cells(&[0, 0, 0x0900_0000, 0x1000]);
        let blob = build(&[
            (1, "", &[("#address-cells", &three)]),
            (1, "uart", &[("compatible", b"arm,pl011\0"), ("reg", &reg)]),
            (-1, "", &[]),
            (-1, "", &[]),
        ]);
        assert_eq!(parse(&blob).unwrap().uart, None);
    }

    /// The one-pass classifier answers what `is_compatible` answers for
    /// each kind's names.
    #[test]
    fn kinds_agree_with_is_compatible() {
        let values: [&[u8]; 9] = [
            b"",
            b"\0",
            b"arm,pl011\0arm,primecell\0",
            b"arm,primecell\0arm,pl011",
            b"arm,cortex-a15-gic\0arm,gic-v2m-frame\0",
            b"arm,pl01\0arm,pl0111\0",
            b"arm,armv7-timer\0arm,armv8-timer\0",
            b"virtio,mmio\0",
            b"arm,gic-400\0\0arm,pl011\0",
        ];
        for value in values {
            let mut expected = 0;
            for (names, kind) in [
                (&[&b"arm,pl011"[..]][..], UART),
                (&GIC_COMPATIBLE[..], GIC),
                (&[&b"arm,gic-v2m-frame"[..]][..], GIC_V2M),
                (&[&b"arm,armv7-timer"[..]][..], TIMER),
            ] {
                if is_compatible(value, names) {
                    expected |= kind;
                }
            }
            assert_eq!(kinds(value), expected, "{:?}", std::string::String::from_utf8_lossy(value));
        }
    }

    /// A property whose name is the tail of a longer string (the format
    /// lets writers share tails) is still read; a name offset past the
    /// last terminator is refused. (`build` writes each name anew, so
    /// `virt_like` covers names written twice.)
    #[test]
    fn property_names_may_share_a_tail() {
        let reg = cells(&[0x0900_0000, 0x1000]);
        let one = cells(&[1]);
        let mut blob = build(&[
            (1, "", &[("#address-cells", &one), ("#size-cells", &one)]),
            (1, "uart", &[("compatible", b"arm,pl011\0"), ("xreg", &reg)]),
            (-1, "", &[]),
            (-1, "", &[]),
        ]);
        assert_eq!(parse(&blob).unwrap().uart, None, "no `reg` yet");
        let word = |blob: &[u8], at: usize| u32::from_be_bytes(blob[at..at + 4].try_into().unwrap());
        let (structure, strings) = (word(&blob, 8) as usize, word(&blob, 12) as usize);
        let string_count = word(&blob, 32) as usize;
        let xreg = blob[strings..strings + string_count].windows(5).position(|w| w == b"xreg\0").unwrap() as u32;
        // The property whose name offset is `xreg`'s: point it at `reg`.
        let mut at = structure;
        let property = loop {
            if word(&blob, at) == PROPERTY && word(&blob, at + 8) == xreg {
                break at;
            }
            at += 4;
        };
        blob[property + 8..property + 12].copy_from_slice(&(xreg + 1).to_be_bytes());
        assert_eq!(parse(&blob).unwrap().uart, Some(Registers { address: 0x0900_0000, size: 0x1000 }));
        blob[property + 8..property + 12].copy_from_slice(&(string_count as u32).to_be_bytes());
        assert_eq!(parse(&blob), Err(DeviceTreeError::BadStructure));
    }

    /// Every prefix and many byte flips of a valid tree parse or fail
    /// cleanly; never a panic.
    #[test]
    fn damaged_trees_never_panic() {
        let blob = virt_like();
        for cut in 0..blob.len() {
            let _ = parse(&blob[..cut]);
        }
        let mut rng = tessera_testing::Rng::new(0x2545_f491_4f6c_dd1d);
        for _ in 0..20_000 {
            let mut bad = blob.clone();
            for _ in 0..3 {
                let state = rng.next_u64();
                let at = (state as usize) % bad.len();
                bad[at] = (state >> 40) as u8;
            }
            let _ = parse(&bad);
        }
    }
}
