//! The GPIO server on the M4 (docs/mt3620.md, "GPIO"): it alone drives the
//! board's GPIO blocks (`tessera_m_programs::board::GPIO_BLOCKS`, from the
//! board description): the MT3620's GPIO 0-23 in six blocks, or on QEMU's
//! `mps2-an386` the FPGA I/O block's two LEDs as GPIO 8 and 9, where the
//! MT3620 RDB has LED 1's red and green. Each block is driven through
//! `tessera_abi::gpio`. The protocol is the A7's (`tessera_abi::app::gpio`),
//! so the SDK's `Gpio` works unchanged: a request's badge is the mask of
//! pins the caller was granted; a pin outside it gets `PermissionDenied`, a
//! pin the board lacks `InvalidArgument`.
//!
//! It maps one block at a time, the one the request is for: the MT3620's
//! blocks lie 64 KiB apart, so each would take an MPU region of its own,
//! and a process has eight for everything. A request for a pin in another
//! block first unmaps the one it holds.
//!
//! Needs: each block's registers (device regions, read and write, which
//! `init` moves to it) and an endpoint to receive on. It takes no
//! capabilities from clients.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use tessera_abi::app::gpio::{CONFIGURE_OUTPUT, READ, WRITE};
use tessera_abi::gpio::{self as driver, Refused};
use tessera_m_programs::board::GPIO_BLOCKS;
use tessera_rt::server::{self, Answer, Capabilities};
use tessera_rt::{
    cap_object, find_initial_capability, for_each_initial_capability, println, unmap, Error, Handle, Mapping, Message,
    ObjectType, Received, Rights,
};

tessera_rt::entry!(main);

/// A block's registers, through its mapping.
struct Registers<'a>(&'a Mapping);

impl driver::Registers for Registers<'_> {
    fn read(&self, offset: u32) -> u32 {
        self.0.read_u32(offset)
    }

    fn write(&self, offset: u32, value: u32) {
        self.0.write_u32(offset, value)
    }
}

/// The blocks' device regions, and the one mapped now.
struct Blocks {
    handles: [Handle; GPIO_BLOCKS.len()],
    mapped: Option<(usize, Mapping)>,
}

impl Blocks {
    /// Block `index`'s registers, mapped at their own address (user
    /// addresses are physical), the block mapped before unmapped first.
    fn registers(&mut self, index: usize) -> Result<&Mapping, Error> {
        if self.mapped.as_ref().is_none_or(|(mapped, _)| *mapped != index) {
            if let Some((old, _)) = self.mapped {
                // Forgotten only once it is gone: a block left mapped
                // would hold an MPU region for good.
                unmap(self.handles[old])?;
                self.mapped = None;
            }
            let mapping = Mapping::new(self.handles[index], GPIO_BLOCKS[index].1, Rights::READ | Rights::WRITE)?;
            self.mapped = Some((index, mapping));
        }
        match &self.mapped {
            Some((_, mapping)) => Ok(mapping),
            None => Err(Error::InvalidArgument),
        }
    }
}

/// The board's blocks, as `tessera_abi::gpio::find` takes them.
fn board_blocks() -> impl Iterator<Item = &'static driver::Block> {
    GPIO_BLOCKS.iter().map(|(_, _, block)| block)
}

/// Performs one request; the reply's label is 0 or an error code, word 0
/// the level a `READ` found.
fn serve(blocks: &mut Blocks, request: &Received) -> Message {
    let (label, pin, value) = (request.message.label, request.message.words[0], request.message.words[1]);
    let result = match driver::find(board_blocks(), pin) {
        None => Err(Error::InvalidArgument),
        Some(_) if pin >= 32 || request.badge & (1 << pin) == 0 => Err(Error::PermissionDenied),
        // An unknown request maps nothing.
        Some(_) if ![CONFIGURE_OUTPUT, WRITE, READ].contains(&label) => Err(Error::InvalidArgument),
        Some((index, block)) => blocks.registers(index).and_then(|mapping| {
            let registers = Registers(mapping);
            let done = match label {
                CONFIGURE_OUTPUT => block.configure_output(&registers, pin, value != 0).map(|()| 0),
                WRITE => block.write(&registers, pin, value != 0).map(|()| 0),
                _ => block.read(&registers, pin).map(u32::from),
            };
            // A write to an input (`Refused::NotOutput`).
            done.map_err(|_: Refused| Error::InvalidArgument)
        }),
    };
    match result {
        Ok(level) => Message::new(0, [level, 0, 0, 0]),
        Err(error) => Message::new(error as u32, [0; 4]),
    }
}

fn main(_start: tessera_rt::Start) -> u32 {
    let mut handles = [Handle::NULL; GPIO_BLOCKS.len()];
    for_each_initial_capability(|handle, info| {
        let base = cap_object(handle).map_or(0, |(base, _)| base);
        let block = GPIO_BLOCKS.iter().position(|&(_, at, _)| at == base);
        if let (ObjectType::DeviceRegion, Some(index)) = (info.kind, block) {
            handles[index] = handle;
        }
    });
    let endpoint = find_initial_capability(ObjectType::Endpoint, Rights::RECEIVE);
    let missing = GPIO_BLOCKS.iter().zip(handles).find(|(_, handle)| *handle == Handle::NULL);
    let endpoint = match (missing, endpoint) {
        (None, Some(endpoint)) if !GPIO_BLOCKS.is_empty() => endpoint,
        (Some(((name, _, _), _)), _) => {
            println!("needs the registers of {name}");
            return 1;
        }
        _ => {
            println!("needs the board's GPIO blocks and an endpoint to receive on");
            return 1;
        }
    };
    let pins = board_blocks().fold(0, |pins, block| pins | block.mask());
    let blocks = GPIO_BLOCKS.len();
    println!("serving GPIO pins {pins:#010x} in {blocks} block{}", if blocks == 1 { "" } else { "s" });
    let mut blocks = Blocks { handles, mapped: None };
    match server::serve(endpoint, Capabilities::Refuse, |request| Answer::Reply(serve(&mut blocks, request))) {
        Ok(_) => 0,
        Err(error) => {
            println!("receive failed: {}", error.name());
            1
        }
    }
}
