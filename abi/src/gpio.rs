//! Polled GPIO drivers at the register level, for the M4's GPIO server
//! (`gpiod` in `userland/m-programs`): the MT3620's GPIO blocks and, as
//! their stand-in on QEMU's `mps2-an386`, the LEDs of the MPS2 FPGA I/O
//! block (docs/mt3620.md, "GPIO"). A board description lists its GPIO
//! blocks, each with the pin numbers it holds ([`Block`]); the server finds
//! a pin's block and drives it through [`Registers`], a device mapping on
//! the board and a model of the device in the host tests.
//!
//! Every operation touches only its own pin: the MT3620's blocks have set
//! and reset registers for that, and the FPGA I/O's LED register is read,
//! changed in one bit and written back (the server is the only writer).

pub use crate::uart::Registers;

/// Which register interface a GPIO block has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// An MT3620 GPIO block of (up to) four pins, bit `pin - first` in each
    /// register ([`mt3620`]): pins are inputs until made outputs.
    Mt3620,
    /// The FPGA I/O block of Arm's MPS2 boards: its LED register
    /// ([`mps2`]) holds one bit per LED and reads back what was written.
    /// LEDs are outputs only: a pin needs no configuring before a write.
    Mps2Leds,
}

/// The MT3620 GPIO block's registers (a published MT3620 M4 driver's
/// register header; not checked on a board, docs/mt3620.md). That driver
/// also sets an input-enable register when it makes a pin an input; this
/// one has no request that makes a pin an input, never writes it, and so
/// relies on the pads' reset state for reads of inputs (unchecked).
pub mod mt3620 {
    /// The pins' input levels.
    pub const DIN: u32 = 0x04;
    /// The levels the pins drive; its set and reset registers change only
    /// the bits written as 1.
    pub const DOUT: u32 = 0x10;
    pub const DOUT_SET: u32 = 0x14;
    pub const DOUT_RESET: u32 = 0x18;
    /// Output enable (bit set: the pin drives `DOUT`); set and reset as
    /// for `DOUT`.
    pub const OE: u32 = 0x20;
    pub const OE_SET: u32 = 0x24;
    pub const OE_RESET: u32 = 0x28;
}

/// The MPS2 FPGA I/O block's register the LEDs are on.
pub mod mps2 {
    /// One bit per LED (QEMU's model keeps as many bits as the board has
    /// LEDs: two on `mps2-an386`).
    pub const LED: u32 = 0x00;
}

/// One GPIO block of a board: its kind and the pins `first..first + pins`
/// (the numbers apps' manifests use).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Block {
    pub kind: Kind,
    pub first: u32,
    pub pins: u32,
}

/// Why a request cannot be done.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refused {
    /// The pin is not this block's.
    NotHere,
    /// A write to a pin that is not an output.
    NotOutput,
}

impl Block {
    /// Whether `pin` is one of this block's.
    pub const fn holds(&self, pin: u32) -> bool {
        pin >= self.first && pin - self.first < self.pins
    }

    /// The pins as a mask (bit `n`: pin `n`; pins from 32 on have none).
    pub const fn mask(&self) -> u32 {
        let mut mask = 0u32;
        let mut pin = self.first;
        while pin < self.first + self.pins && pin < 32 {
            mask |= 1 << pin;
            pin += 1;
        }
        mask
    }

    fn bit(&self, pin: u32) -> Result<u32, Refused> {
        if self.holds(pin) {
            Ok(1 << (pin - self.first))
        } else {
            Err(Refused::NotHere)
        }
    }

    /// Makes `pin` an output driving `high`: the level first, then the
    /// direction, so that it never drives the old level.
    pub fn configure_output(&self, registers: &impl Registers, pin: u32, high: bool) -> Result<(), Refused> {
        let bit = self.bit(pin)?;
        match self.kind {
            Kind::Mt3620 => {
                registers.write(if high { mt3620::DOUT_SET } else { mt3620::DOUT_RESET }, bit);
                registers.write(mt3620::OE_SET, bit);
            }
            Kind::Mps2Leds => drive_led(registers, bit, high),
        }
        Ok(())
    }

    /// Drives output `pin` to `high`; a pin that is not an output is
    /// refused and left as it is.
    pub fn write(&self, registers: &impl Registers, pin: u32, high: bool) -> Result<(), Refused> {
        let bit = self.bit(pin)?;
        match self.kind {
            Kind::Mt3620 => {
                if registers.read(mt3620::OE) & bit == 0 {
                    return Err(Refused::NotOutput);
                }
                registers.write(if high { mt3620::DOUT_SET } else { mt3620::DOUT_RESET }, bit);
            }
            Kind::Mps2Leds => drive_led(registers, bit, high),
        }
        Ok(())
    }

    /// `pin`'s level: what an output drives, an input's level at the pin.
    pub fn read(&self, registers: &impl Registers, pin: u32) -> Result<bool, Refused> {
        let bit = self.bit(pin)?;
        let register = match self.kind {
            Kind::Mt3620 if registers.read(mt3620::OE) & bit != 0 => mt3620::DOUT,
            Kind::Mt3620 => mt3620::DIN,
            Kind::Mps2Leds => mps2::LED,
        };
        Ok(registers.read(register) & bit != 0)
    }
}

fn drive_led(registers: &impl Registers, bit: u32, high: bool) {
    let leds = registers.read(mps2::LED);
    registers.write(mps2::LED, if high { leds | bit } else { leds & !bit });
}

/// The block of `blocks` that holds `pin`, and its index.
pub fn find<'a>(blocks: impl IntoIterator<Item = &'a Block>, pin: u32) -> Option<(usize, Block)> {
    blocks.into_iter().copied().enumerate().find(|(_, block)| block.holds(pin))
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::cell::Cell;

    /// An MT3620 GPIO block as its register header describes it: `DIN`
    /// is the pads' levels (an output's pad follows `DOUT`), the set and
    /// reset registers change only the bits written as 1, and writes to
    /// the read-only `DIN` are dropped.
    #[derive(Default)]
    struct Mt3620Model {
        dout: Cell<u32>,
        oe: Cell<u32>,
        /// The levels outside drivers put on input pads.
        outside: Cell<u32>,
        writes: Cell<u32>,
    }

    impl Registers for Mt3620Model {
        fn read(&self, offset: u32) -> u32 {
            let (dout, oe) = (self.dout.get(), self.oe.get());
            match offset {
                mt3620::DIN => (dout & oe) | (self.outside.get() & !oe),
                mt3620::DOUT => dout,
                mt3620::OE => oe,
                _ => 0,
            }
        }

        fn write(&self, offset: u32, value: u32) {
            self.writes.set(self.writes.get() + 1);
            let value = value & 0xF;
            match offset {
                mt3620::DOUT => self.dout.set(value),
                mt3620::DOUT_SET => self.dout.set(self.dout.get() | value),
                mt3620::DOUT_RESET => self.dout.set(self.dout.get() & !value),
                mt3620::OE => self.oe.set(value),
                mt3620::OE_SET => self.oe.set(self.oe.get() | value),
                mt3620::OE_RESET => self.oe.set(self.oe.get() & !value),
                _ => {}
            }
        }
    }

    /// QEMU's MPS2 FPGA I/O LED register with two LEDs: it keeps two bits.
    #[derive(Default)]
    struct LedModel {
        leds: Cell<u32>,
    }

    impl Registers for LedModel {
        fn read(&self, offset: u32) -> u32 {
            if offset == mps2::LED {
                self.leds.get()
            } else {
                0
            }
        }

        fn write(&self, offset: u32, value: u32) {
            if offset == mps2::LED {
                self.leds.set(value & 0b11);
            }
        }
    }

    const BLOCK_2: Block = Block { kind: Kind::Mt3620, first: 8, pins: 4 };

    #[test]
    fn an_mt3620_output_drives_its_level_and_leaves_the_other_pins() {
        let model = Mt3620Model::default();
        model.outside.set(0b0101);
        BLOCK_2.configure_output(&model, 9, true).unwrap();
        assert_eq!((model.oe.get(), model.dout.get()), (0b0010, 0b0010));
        assert_eq!(BLOCK_2.read(&model, 9), Ok(true));
        BLOCK_2.write(&model, 9, false).unwrap();
        assert_eq!(BLOCK_2.read(&model, 9), Ok(false));
        // The inputs still read the outside's levels.
        assert_eq!(BLOCK_2.read(&model, 8), Ok(true));
        assert_eq!(BLOCK_2.read(&model, 10), Ok(true));
        assert_eq!(BLOCK_2.read(&model, 11), Ok(false));
        BLOCK_2.configure_output(&model, 11, true).unwrap();
        assert_eq!((model.oe.get(), model.dout.get()), (0b1010, 0b1000));
    }

    #[test]
    fn an_mt3620_output_is_set_to_its_level_before_it_drives() {
        // Pin 10 was left driving high; made an output driving low again,
        // the reset comes before the enable.
        let model = Mt3620Model::default();
        model.dout.set(0b0100);
        struct Order<'a>(&'a Mt3620Model, Cell<Option<u32>>);
        impl Registers for Order<'_> {
            fn read(&self, offset: u32) -> u32 {
                self.0.read(offset)
            }
            fn write(&self, offset: u32, value: u32) {
                if offset == mt3620::OE_SET && self.1.get().is_none() {
                    self.1.set(Some(self.0.dout.get()));
                }
                self.0.write(offset, value)
            }
        }
        let order = Order(&model, Cell::new(None));
        BLOCK_2.configure_output(&order, 10, false).unwrap();
        assert_eq!(order.1.get(), Some(0), "DOUT when the pin began to drive");
    }

    #[test]
    fn a_write_to_an_mt3620_input_is_refused_and_changes_nothing() {
        let model = Mt3620Model::default();
        assert_eq!(BLOCK_2.write(&model, 8, true), Err(Refused::NotOutput));
        assert_eq!(model.writes.get(), 0);
        assert_eq!(model.dout.get(), 0);
    }

    #[test]
    fn pins_outside_a_block_are_refused_without_a_register_access() {
        let model = Mt3620Model::default();
        for pin in [0, 7, 12, 31, 32, u32::MAX] {
            assert_eq!(BLOCK_2.configure_output(&model, pin, true), Err(Refused::NotHere), "pin {pin}");
            assert_eq!(BLOCK_2.write(&model, pin, true), Err(Refused::NotHere));
            assert_eq!(BLOCK_2.read(&model, pin), Err(Refused::NotHere));
        }
        assert_eq!(model.writes.get(), 0);
    }

    #[test]
    fn mps2_leds_read_back_one_bit_each() {
        let leds = Block { kind: Kind::Mps2Leds, first: 8, pins: 2 };
        let model = LedModel::default();
        leds.configure_output(&model, 9, true).unwrap();
        assert_eq!(model.leds.get(), 0b10);
        leds.write(&model, 8, true).unwrap();
        assert_eq!((leds.read(&model, 8), leds.read(&model, 9)), (Ok(true), Ok(true)));
        leds.write(&model, 9, false).unwrap();
        assert_eq!(model.leds.get(), 0b01);
        assert_eq!(leds.read(&model, 9), Ok(false));
        assert_eq!(leds.write(&model, 10, true), Err(Refused::NotHere));
    }

    #[test]
    fn masks_and_finding_a_pin_s_block() {
        let blocks = [
            Block { kind: Kind::Mt3620, first: 0, pins: 4 },
            BLOCK_2,
            Block { kind: Kind::Mt3620, first: 28, pins: 6 },
        ];
        assert_eq!(blocks[1].mask(), 0xF00);
        assert_eq!(blocks[2].mask(), 0xF000_0000, "pins from 32 on have no bit");
        assert_eq!(find(&blocks, 9), Some((1, BLOCK_2)));
        assert_eq!(find(&blocks, 5), None);
        assert_eq!(find(&blocks, 33).map(|(index, _)| index), Some(2));
        assert_eq!(find(&blocks, u32::MAX), None);
    }
}
