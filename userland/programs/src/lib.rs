//! Shared definitions for the boot-image programs: what `init` passes each
//! program as its argument.
#![no_std]
#![forbid(unsafe_code)]

pub mod apps;
pub mod uart;

/// Arguments of the `probe` program: what it tries to do.
pub mod probe {
    /// Read kernel memory.
    pub const READ_KERNEL: u32 = 1;
    /// Write kernel memory.
    pub const WRITE_KERNEL: u32 = 2;
    /// Execute code copied into a data page.
    pub const EXECUTE_DATA: u32 = 3;
    /// Execute code copied onto the stack.
    pub const EXECUTE_STACK: u32 = 4;
    /// Read an unmapped user address.
    pub const READ_UNMAPPED: u32 = 5;
    /// Read through a null pointer.
    pub const READ_NULL: u32 = 6;
    /// Execute an undefined instruction.
    pub const UNDEFINED: u32 = 7;
    /// Misaligned multi-word load.
    pub const MISALIGNED: u32 = 8;
    /// Write to its own (read-only) code.
    pub const WRITE_TEXT: u32 = 9;
    /// Keep a secret in memory and check nobody changed it.
    pub const OWNER: u32 = 10;
    /// Look for the owner's secret at the same address, then try physical RAM.
    pub const INTRUDER: u32 = 11;
    /// Read the PMU cycle counter (PMCCNTR): only the benchmark image allows it.
    pub const READ_CYCLE_COUNTER: u32 = 20;
    /// Stop every PMU counter for everyone (write PMCR.E = 0).
    pub const STOP_CYCLE_COUNTER: u32 = 21;
    /// Give User mode PMU access by writing PMUSERENR (privileged only).
    pub const OPEN_PMU: u32 = 22;
    /// Execute a VFP instruction (`vmrs`): cp10/cp11 are closed.
    pub const VFP: u32 = 12;
    /// Execute an Advanced SIMD instruction (`vadd.i32`).
    pub const SIMD: u32 = 13;
    /// Read ThumbEE's handler base register, TEEHBR.
    pub const THUMBEE: u32 = 14;
    /// Read the physical timer's control register, CNTP_CTL.
    pub const TIMER: u32 = 15;
    /// Address used for kernel memory: the kernel's first page.
    pub const KERNEL_ADDRESS: u32 = 0x4010_0000;
    /// Address of nothing in any process.
    pub const UNMAPPED_ADDRESS: u32 = 0x2000_0000;
}

/// Arguments of `spinner`: a letter and a busy time in milliseconds.
pub mod spinner {
    /// Packs a spinner argument.
    pub const fn argument(letter: u8, millis: u32) -> u32 {
        letter as u32 | (millis << 8)
    }
    /// Unpacks a spinner argument.
    pub const fn unpack(argument: u32) -> (char, u32) {
        ((argument & 0xFF) as u8 as char, argument >> 8)
    }
}

/// Arguments of `bench`.
pub mod bench {
    /// Measure the null syscall and report.
    pub const NULL_SYSCALL: u32 = 1;
    /// Yield in a loop (run two at once to measure switches); the first
    /// reports.
    pub const YIELD_REPORTER: u32 = 2;
    /// Yield in a loop without reporting.
    pub const YIELD_PARTNER: u32 = 3;
    /// Yields each measuring process makes.
    pub const YIELDS: u32 = 2000;
    /// Null syscalls measured.
    pub const NULL_CALLS: u32 = 2000;
    /// Serve IPC calls: echo label 1, delete the capability of label 2.
    pub const IPC_SERVER: u32 = 4;
    /// Measure IPC calls, a capability transfer and a derive.
    pub const IPC_CLIENT: u32 = 5;
    /// Calls of each kind the client makes (the server answers twice this).
    pub const IPC_CALLS: u32 = 500;
    /// Signal one notification, wait on the other; measures.
    pub const PING: u32 = 6;
    /// Wait on one notification, signal the other.
    pub const PONG: u32 = 7;
    /// Round trips of PING and PONG.
    pub const ROUNDS: u32 = 500;
}

/// Arguments of `capprobe` and the addresses it and `init` agree on.
pub mod capprobe {
    /// Hold a granted read-only frame: check it, try beyond its rights, wait
    /// to be revoked, then touch the revoked mapping (faults: unmapped).
    pub const HOLDER: u32 = 1;
    /// Map the granted read-only frame and write to it (faults: permission).
    pub const WRITE_READ_ONLY: u32 = 2;
    /// Retype frames from a small granted untyped until memory runs out.
    pub const EXHAUST: u32 = 3;
    /// Read a device's registers with no capability (faults: unmapped).
    pub const DEVICE_WITHOUT_CAPABILITY: u32 = 4;
    /// Ask `CapObject` where each granted capability's object lives, with
    /// every right but `INSPECT` (each must be refused: missing right).
    pub const INSPECT: u32 = 5;
    /// Where frames are mapped in these tests.
    pub const FRAME_ADDRESS: u32 = 0x2000_0000;
    /// What `init` writes in the shared frame.
    pub const PATTERN: u32 = 0xCAFE_F00D;
    /// Bytes of untyped memory `EXHAUST` gets.
    pub const EXHAUST_BYTES: u32 = 16 * 1024;
    /// The PL031 real-time clock on QEMU virt.
    pub const RTC_ADDRESS: u32 = 0x0901_0000;
}

/// Arguments of `cpustate`, the probe of CPU state outside the saved
/// registers (thread registers, exclusive monitor, GE bits). `probe` tries
/// the coprocessors.
pub mod cpustate {
    /// Start with zero thread registers, write a secret to TPIDRURW and
    /// GE bits, `ldrex`, yield to `SECOND`, then check the `strex` fails and
    /// its own values were kept.
    pub const FIRST: u32 = 1;
    /// Runs while `FIRST` holds the monitor: sees zero thread registers
    /// and GE bits, a `strex` with no `ldrex` of its own fails; keeps its
    /// own TPIDRURW across yields.
    pub const SECOND: u32 = 2;
    /// Started after the others ended: both thread registers are zero.
    pub const FRESH: u32 = 3;
    /// What `FIRST` writes to TPIDRURW.
    pub const SECRET: u32 = 0x5EC2_E7A1;
    /// What `SECOND` writes to TPIDRURW.
    pub const SECOND_VALUE: u32 = 0xB0B0_0002;
    /// What `init` keeps in its own TPIDRURW during the scenario.
    pub const INIT_VALUE: u32 = 0x1217_0001;
    /// The GE bits `FIRST` sets (CPSR bits 19:16).
    pub const GE_BITS: u32 = 0xA << 16;
}

/// The `echo` server's protocol (labels) and the test's expectations.
pub mod echo {
    /// Answer `words[0] + words[1]`.
    pub const ADD: u32 = 1;
    /// Answer the caller's badge in `words[0]`.
    pub const WHO: u32 = 2;
    /// Answer the type and rights of the capability that came with the
    /// message (`words[0]`, `words[1]`), then delete it.
    pub const INSPECT: u32 = 3;
    /// Answer to anything else.
    pub const UNKNOWN: u32 = 0xFFFF;
    /// Requests the server answers before it exits (the clients send five).
    pub const REQUESTS: u32 = 5;
}

/// The GPIO server's protocol (`gpiod`, for QEMU virt's PL061): the
/// requests are `tessera_abi::app::gpio`'s; these are the PL061's facts.
pub mod gpio {
    pub use tessera_abi::app::gpio::*;
    /// Pins of the PL061.
    pub const PINS: u32 = 8;
    /// The PL061's registers on QEMU virt (one page).
    pub const PL061_ADDRESS: u32 = 0x0903_0000;
    /// Where the server maps them.
    pub const MAPPED_AT: u32 = 0x3000_0000;
    /// Direction register (bit set: output).
    pub const DIRECTION: u32 = 0x400;

    /// The offset of the data register that reads or writes only `pin`
    /// (the PL061 masks data accesses with address bits 2..10).
    pub const fn data_offset(pin: u32) -> u32 {
        1 << (pin + 2)
    }

    /// The argument of `gpioprobe`: the pin it was granted and the pin it
    /// must be refused (`NONE` for "holds no GPIO capability").
    pub const fn probe_argument(granted: u32, refused: u32) -> u32 {
        granted | refused << 8
    }

    /// `probe_argument` for a probe granted no GPIO at all.
    pub const NONE: u32 = 0xFFFF;
}

/// The `rtcdriver` and its device (QEMU virt's PL031 real-time clock).
pub mod rtc {
    /// The RTC's interrupt ID (SPI 2).
    pub const INTERRUPT: u32 = 34;
    /// Where the driver maps the registers.
    pub const MAPPED_AT: u32 = 0x3000_0000;
    /// Data register: seconds.
    pub const DATA: u32 = 0x00;
    /// Match register: interrupt when the count reaches it.
    pub const MATCH: u32 = 0x04;
    /// Interrupt mask set/clear register.
    pub const MASK: u32 = 0x10;
    /// Interrupt clear register.
    pub const CLEAR: u32 = 0x1C;
}

/// Loading boot-image programs into processes made from untyped memory: the
/// loader runs in user space (here, in `init`) with nothing but
/// capabilities: untyped memory to pay with and a read-only view of the
/// boot image.
pub mod loader {
    use tessera_abi::app::{Grant, ServerKind, StartInfo, GRANT_ENTRY, MAX_GRANTS, START_INFO_HEADER};
    use tessera_abi::bootimage::{self, BootImage};
    use tessera_abi::elf;
    use tessera_abi::layout::{APP_HEAP_AT, APP_HEAP_BYTES, APP_INFO_AT, PAGE_SIZE, STACK_SIZE, STACK_TOP};
    use tessera_rt::{
        cap_delete, cap_move_narrowed, cap_revoke, for_each_initial_capability, map_into, process_name, process_setup,
        process_start, retype, unmap, Error, Handle, Mapping, ObjectType, Rights,
    };

    /// Where the boot image is mapped.
    pub const BOOT_IMAGE_AT: u32 = 0x3800_0000;
    /// Where frames are mapped while the loader fills them.
    pub const SCRATCH_AT: u32 = 0x3A00_0000;

    /// Untyped memory one program is carved from: its process object, its
    /// stack and its pages (and for an app its start information and heap).
    pub const PROGRAM_MEMORY: u32 = 256 * 1024;

    /// Where the capabilities to a loaded program's pages (its image and its
    /// stack, one frame each) end up. Either way they are children of the
    /// program's memory block, so revoking the block takes every one back.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum Pages {
        /// In the loader's CSpace: one slot per page for as long as the
        /// program runs. For the system programs, whose test programs look
        /// for the frames they are given among their capabilities.
        Kept,
        /// Moved into the program's own CSpace once mapped (a move keeps the
        /// mapping): the loader keeps only the block and the `Process`
        /// capability, whatever the program's size. The program then holds
        /// capabilities to its own pages, and nothing else through them
        /// (docs/CAVEATS.md). For apps and the servers.
        HandedOver,
    }

    /// A program the loader started.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct Program {
        /// The `Process` capability (the process ends when it goes).
        pub process: Handle,
        /// The untyped memory it is carved from; revoking it takes back the
        /// process and all its memory, and it can then carry another program.
        pub memory: Handle,
    }

    /// What the loader needs: untyped memory and the boot image.
    #[derive(Clone, Copy, Debug)]
    pub struct Loader {
        untyped: Handle,
        image: Mapping,
    }

    impl Loader {
        /// Finds the untyped memory and the boot image among this process's
        /// first capabilities and maps the image read-only.
        pub fn new() -> Result<Loader, Error> {
            let (mut untyped, mut image) = (None, None);
            for_each_initial_capability(|handle, info| match info.kind {
                ObjectType::Untyped => untyped = Some(handle),
                ObjectType::Frame => image = Some(handle),
                _ => {}
            });
            let untyped = untyped.ok_or(Error::NotFound)?;
            let image = Mapping::new(image.ok_or(Error::NotFound)?, BOOT_IMAGE_AT, Rights::READ)?;
            Ok(Loader { untyped, image })
        }

        /// The untyped memory processes are made from.
        pub fn untyped(&self) -> Handle {
            self.untyped
        }

        /// The boot image's bytes.
        pub fn image(&self) -> Result<BootImage<'_>, Error> {
            let bytes = self.image.as_bytes();
            let size = bootimage::declared_size(bytes).filter(|&size| size <= bytes.len()).ok_or(Error::BadImage)?;
            BootImage::parse(&bytes[..size]).map_err(|_| Error::BadImage)
        }

        /// Loads program `name` into a new process and starts it at
        /// `priority` with `argument` in `r0`. The process, its page tables
        /// and every frame it gets are carved from `memory` (untyped memory
        /// of [`PROGRAM_MEMORY`] bytes: pass a spare one, or `None` to carve
        /// a new one from the loader's untyped memory). The caller holds the
        /// block, the process and, with [`Pages::Kept`], one frame
        /// capability per page (children of the block), and gets all of it
        /// back by revoking `memory` once the program has ended.
        pub fn start(
            &self,
            name: &str,
            priority: u32,
            argument: u32,
            memory: Option<Handle>,
            pages: Pages,
        ) -> Result<Program, Error> {
            let image = self.image()?;
            let program = image.find(name).ok_or(Error::NotFound)?;
            self.start_elf(name, program.elf, priority, memory, pages, |_| Ok(argument))
        }

        /// Loads `elf` into a new process called `name` as [`start`](Self::start)
        /// does, then calls `before_start` with the process (to give it
        /// capabilities) and starts it with the `r0` argument `before_start`
        /// returns; `pages` says where the page capabilities go. On any error
        /// everything made from `memory` is taken back.
        pub fn start_elf(
            &self,
            name: &str,
            elf: &[u8],
            priority: u32,
            memory: Option<Handle>,
            pages: Pages,
            before_start: impl FnOnce(Handle) -> Result<u32, Error>,
        ) -> Result<Program, Error> {
            self.start_with(name, elf, priority, memory, |_, process| before_start(process), pages)
        }

        /// Loads app `elf` into a new process called `name` as
        /// [`start_elf`](Self::start_elf) does (its page capabilities go
        /// into its own CSpace), calls `grant` with the process to give it
        /// its server endpoints (`grant` fills a list of at most
        /// [`MAX_GRANTS`] entries and returns how many), then maps the app
        /// its start information (read-only, at [`APP_INFO_AT`]) and its
        /// heap ([`APP_HEAP_BYTES`] in one frame at [`APP_HEAP_AT`]), both
        /// carved from `memory`, and starts it with `r0 = APP_INFO_AT`.
        pub fn start_app(
            &self,
            name: &str,
            elf: &[u8],
            priority: u32,
            memory: Option<Handle>,
            grant: impl FnOnce(Handle, &mut [Grant; MAX_GRANTS]) -> Result<usize, Error>,
        ) -> Result<Program, Error> {
            self.start_with(
                name,
                elf,
                priority,
                memory,
                |memory, process| {
                    let mut grants = [Grant { server: ServerKind(0), slot: 0 }; MAX_GRANTS];
                    let count = grant(process, &mut grants)?;
                    let mut info = [0u8; START_INFO_HEADER + MAX_GRANTS * GRANT_ENTRY];
                    let heap = (APP_HEAP_AT as u32, APP_HEAP_BYTES as u32);
                    let size = StartInfo::encode(
                        heap.0,
                        heap.1,
                        grants.get(..count).ok_or(Error::InvalidArgument)?,
                        &mut info,
                    )
                    .ok_or(Error::InvalidArgument)?;
                    self.fill(memory, process, APP_INFO_AT as u32, &info[..size], 0, Rights::READ, Pages::HandedOver)?;
                    // The heap: one frame, zeroed by `Retype`, one mapping.
                    let frame = retype(memory, ObjectType::Frame, heap.1)?;
                    let rights = Rights::READ | Rights::WRITE;
                    map_into(frame, process, heap.0, rights)?;
                    cap_move_narrowed(frame, process, rights)?;
                    Ok(APP_INFO_AT as u32)
                },
                Pages::HandedOver,
            )
        }

        /// Carves `memory` (or a new block), loads `elf` into it, calls
        /// `before_start` with the block and the process, and starts it with
        /// the `r0` that returns.
        fn start_with(
            &self,
            name: &str,
            elf: &[u8],
            priority: u32,
            memory: Option<Handle>,
            before_start: impl FnOnce(Handle, Handle) -> Result<u32, Error>,
            pages: Pages,
        ) -> Result<Program, Error> {
            let (memory, fresh) = match memory {
                Some(memory) => (memory, false),
                None => (retype(self.untyped, ObjectType::Untyped, PROGRAM_MEMORY)?, true),
            };
            let started = self.load(name, elf, memory, pages).and_then(|(process, entry)| {
                let argument = before_start(memory, process)?;
                process_setup(process, entry, STACK_TOP as u32, argument)?;
                process_start(process, priority)?;
                Ok(process)
            });
            match started {
                Ok(process) => Ok(Program { process, memory }),
                Err(error) => {
                    // Whatever was made goes; a block passed in can be used
                    // again, one made here goes too (nobody holds its handle).
                    let _ = if fresh { cap_delete(memory) } else { cap_revoke(memory) };
                    Err(error)
                }
            }
        }

        /// Carves a frame from `memory`, writes `bytes` into it at `offset`
        /// and maps it into `process` at `address` with `rights`; with
        /// [`Pages::HandedOver`] the frame capability goes to the process.
        #[allow(clippy::too_many_arguments)]
        fn fill(
            &self,
            memory: Handle,
            process: Handle,
            address: u32,
            bytes: &[u8],
            offset: u32,
            rights: Rights,
            pages: Pages,
        ) -> Result<(), Error> {
            let frame = retype(memory, ObjectType::Frame, PAGE_SIZE as u32)?;
            let scratch = Mapping::new(frame, SCRATCH_AT, Rights::READ | Rights::WRITE)?;
            scratch.write_bytes(offset, bytes);
            unmap(frame)?;
            map_into(frame, process, address, rights)?;
            if pages == Pages::HandedOver {
                // Only the rights of the mapping: no GRANT (its pages
                // cannot be passed on), DERIVE or INSPECT (it cannot
                // learn where its memory lies), and no WRITE on code
                // nor EXECUTE on data, so W^X holds for any second
                // mapping it makes of its own pages.
                cap_move_narrowed(frame, process, rights)?;
            }
            Ok(())
        }

        /// Makes the process and fills its memory; returns it and its entry
        /// point, not yet started.
        fn load(&self, name: &str, elf: &[u8], memory: Handle, pages: Pages) -> Result<(Handle, u32), Error> {
            let plan = elf::parse(elf).map_err(|_| Error::BadImage)?;
            let process = retype(memory, ObjectType::Process, 16384)?;
            let page = PAGE_SIZE as u32;
            let fill = |address: u32, bytes: &[u8], offset: u32, rights: Rights| {
                self.fill(memory, process, address, bytes, offset, rights, pages)
            };
            for segment in plan.segments() {
                let mut rights = Rights::READ;
                if segment.access.write {
                    rights |= Rights::WRITE;
                }
                if segment.access.execute {
                    rights |= Rights::EXECUTE;
                }
                for address in (segment.page_start()..segment.page_end()).step_by(page as usize) {
                    let (offset, bytes) = segment.page_contents(address);
                    fill(address, &elf[bytes], offset as u32, rights)?;
                }
            }
            let stack = (STACK_TOP - STACK_SIZE) as u32;
            if pages == Pages::HandedOver {
                // One frame, one mapping (a process has 16): zeroed by
                // `Retype`, so nothing to fill.
                let rights = Rights::READ | Rights::WRITE;
                let frame = retype(memory, ObjectType::Frame, STACK_SIZE as u32)?;
                map_into(frame, process, stack, rights)?;
                cap_move_narrowed(frame, process, rights)?;
            } else {
                // A page per mapping: the test probes look for their frames.
                for address in (stack..STACK_TOP as u32).step_by(page as usize) {
                    fill(address, &[], 0, Rights::READ | Rights::WRITE)?;
                }
            }
            process_name(process, name)?;
            Ok((process, plan.entry))
        }
    }
}
