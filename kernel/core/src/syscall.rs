//! Syscall decoding: register values in, a typed [`Call`] or an error out.
//!
//! Decoding checks everything that does not depend on the caller's state
//! (the number, lengths, ranges). Pointer arguments are checked afterwards
//! against the caller's mappings ([`crate::user_memory::RegionMap::check`]);
//! authority (the capabilities named) is checked by the kernel. Decoding changes
//! nothing and never panics, whatever the registers hold.

use tessera_abi::{
    ipc, Error, Handle, ObjectType, Rights, Syscall, DEBUG_WRITE_MAX, NAME_MAX, NO_WAIT, PRIORITY_LEVELS,
};

/// A decoded syscall with its arguments.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Call {
    /// `Null`.
    Null,
    /// `DebugWrite(address, len)`, `len <= DEBUG_WRITE_MAX`.
    DebugWrite {
        /// User address of the bytes.
        address: u32,
        /// Number of bytes.
        len: u32,
    },
    /// `Yield`.
    Yield,
    /// `Sleep(micros)`.
    Sleep {
        /// Microseconds to sleep at least.
        micros: u32,
    },
    /// `Exit(code)`.
    Exit {
        /// Exit code.
        code: u32,
    },
    /// `Wait(process, timeout_micros)`.
    Wait {
        /// `Process` capability of the child to wait for, or `ANY_PROCESS`.
        process: u32,
        /// Microseconds to wait at most, or `FOREVER`.
        timeout_micros: u32,
    },
    /// `Shutdown(power, status)`.
    Shutdown {
        /// The `PowerControl` capability.
        power: Handle,
        /// Exit status reported to the host.
        status: u32,
    },
    /// `Uptime`.
    Uptime,
    /// `ExitRecord(address)`: a 4-byte aligned buffer of `EXIT_RECORD_BYTES`.
    ExitRecord {
        /// User address of the buffer.
        address: u32,
    },
    /// `CapInfo(handle)`.
    CapInfo {
        /// The capability.
        handle: Handle,
    },
    /// `CapObject(handle)`.
    CapObject {
        /// The capability.
        handle: Handle,
    },
    /// `CapDerive(handle, rights, badge)`; `badge` 0 means none.
    CapDerive {
        /// The parent.
        handle: Handle,
        /// Rights to keep.
        rights: Rights,
        /// Badge to mint, or 0.
        badge: u32,
    },
    /// `FrameSlice(handle, offset, bytes, rights)`.
    FrameSlice {
        /// The frame.
        handle: Handle,
        /// Where the slice starts in it, and its size.
        offset: u32,
        bytes: u32,
        /// Rights to keep.
        rights: Rights,
    },
    /// `CapDelete(handle)`.
    CapDelete {
        /// The capability.
        handle: Handle,
    },
    /// `CapRevoke(handle)`.
    CapRevoke {
        /// The capability.
        handle: Handle,
    },
    /// `CapGrant(handle, process, rights)`.
    CapGrant {
        /// What to pass on.
        handle: Handle,
        /// `Process` capability of the receiver.
        process: Handle,
        /// Rights to keep.
        rights: Rights,
    },
    /// `Retype(untyped, kind, bytes)`; `kind` can be retyped, `bytes` is a
    /// power of two of at least 16.
    Retype {
        /// The untyped memory.
        untyped: Handle,
        /// What to make.
        kind: ObjectType,
        /// Its size.
        bytes: u32,
    },
    /// `Map(handle, address, rights)`; `address` is page aligned, `rights`
    /// holds `READ` and nothing but `READ`, `WRITE`, `EXECUTE`.
    Map {
        /// Frame or device region.
        handle: Handle,
        /// Where in the target's address space.
        address: u32,
        /// Access of the mapping.
        rights: Rights,
        /// `Process` capability of the target, or the null handle for the
        /// caller itself.
        process: Handle,
    },
    /// `Unmap(handle)`.
    Unmap {
        /// The capability whose mapping goes.
        handle: Handle,
    },
    /// `CapMove(handle, process, rights)`.
    CapMove {
        /// What to hand over.
        handle: Handle,
        /// `Process` capability of the receiver.
        process: Handle,
        /// The rights it keeps (the rest are dropped).
        rights: Rights,
    },
    /// `Send` or `Call` (`call` true).
    Send {
        /// The endpoint.
        endpoint: Handle,
        /// The message.
        message: Message,
        /// Wait for an answer.
        call: bool,
        /// How long to wait for a receiver (`r12`; [`tessera_abi::FOREVER`],
        /// [`tessera_abi::NO_WAIT`]).
        timeout: u32,
    },
    /// `Receive(endpoint, timeout)`.
    Receive {
        /// The endpoint.
        endpoint: Handle,
        /// Timeout in microseconds ([`tessera_abi::FOREVER`],
        /// [`tessera_abi::NO_WAIT`]).
        timeout: u32,
    },
    /// `Reply(message)`.
    Reply {
        /// The answer.
        message: Message,
    },
    /// `ReplyReceive(endpoint, message, timeout)`.
    ReplyReceive {
        /// Where to receive next.
        endpoint: Handle,
        /// The answer to the last call.
        message: Message,
        /// How long the receive may wait (`r12`; [`tessera_abi::FOREVER`],
        /// [`tessera_abi::NO_WAIT`]).
        timeout: u32,
    },
    /// `NotificationBind(notification)`.
    NotificationBind {
        /// The notification.
        notification: Handle,
    },
    /// `Signal(notification, bits)`.
    Signal {
        /// The notification.
        notification: Handle,
        /// Bits to set.
        bits: u32,
    },
    /// `WaitNotification(notification, mask, timeout)` or `Poll` (`timeout`
    /// = [`tessera_abi::NO_WAIT`]).
    WaitNotification {
        /// The notification.
        notification: Handle,
        /// Bits waited for.
        mask: u32,
        /// Timeout in microseconds ([`tessera_abi::FOREVER`],
        /// [`tessera_abi::NO_WAIT`]).
        timeout: u32,
    },
    /// `InterruptBind(interrupt, notification, bit)`, `bit < 32`.
    InterruptBind {
        /// The interrupt.
        interrupt: Handle,
        /// The notification to signal.
        notification: Handle,
        /// Bit number to set.
        bit: u32,
    },
    /// `InterruptAck(interrupt)`.
    InterruptAck {
        /// The interrupt.
        interrupt: Handle,
    },
    /// `ProcessSetup(process, pc, sp, argument)`.
    ProcessSetup {
        /// The process (made by `Retype`, not started).
        process: Handle,
        /// Entry point (bit 0 set: Thumb).
        pc: u32,
        /// Initial stack pointer.
        sp: u32,
        /// Its `r0` at start.
        argument: u32,
    },
    /// `ProcessName(process, name, name_len)`, `0 < name_len <= NAME_MAX`.
    ProcessName {
        /// The process.
        process: Handle,
        /// User address of the name.
        name: u32,
        /// Its length.
        name_len: u32,
    },
    /// `ProcessStart(process, priority)`, `priority < PRIORITY_LEVELS`.
    ProcessStart {
        /// The process.
        process: Handle,
        /// Its priority.
        priority: u32,
    },
}

/// An IPC message as the registers carry it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Message {
    /// Label and capability count ([`tessera_abi::ipc`]).
    pub info: u32,
    /// Data words (`r2`..`r5`); with capabilities, the last one or two are
    /// handles.
    pub words: [u32; 4],
}

impl Message {
    /// Checks the info word: at most [`ipc::MAX_CAPS`] capabilities, no
    /// reserved bit set.
    fn new(info: u32, words: [u32; 4]) -> Result<Message, Error> {
        if ipc::caps(info) > ipc::MAX_CAPS || info & ipc::RESERVED_MASK != 0 {
            return Err(Error::InvalidArgument);
        }
        Ok(Message { info, words })
    }
}

/// Rights a mapping may ask for.
pub const MAP_RIGHTS: Rights = Rights::READ.union(Rights::WRITE).union(Rights::EXECUTE);

fn rights(bits: u32) -> Result<Rights, Error> {
    Rights::from_bits(bits).ok_or(Error::InvalidArgument)
}

/// How many argument registers a syscall may use: `r0`..`r5`, then `r12`
/// (the timeout of `Send` and `Call`).
pub const ARGUMENT_REGISTERS: usize = 7;

/// Decodes syscall `number` with argument registers `args` (`r0`..`r5`,
/// `r12`).
pub fn decode(number: u32, args: [u32; ARGUMENT_REGISTERS]) -> Result<Call, Error> {
    let syscall = Syscall::from_number(number).ok_or(Error::UnknownSyscall)?;
    Ok(match syscall {
        Syscall::Null => Call::Null,
        Syscall::DebugWrite => {
            if args[1] as usize > DEBUG_WRITE_MAX {
                return Err(Error::TooLong);
            }
            Call::DebugWrite { address: args[0], len: args[1] }
        }
        Syscall::Yield => Call::Yield,
        Syscall::Sleep => Call::Sleep { micros: args[0] },
        Syscall::Exit => Call::Exit { code: args[0] },
        Syscall::Wait => Call::Wait { process: args[0], timeout_micros: args[1] },
        Syscall::Shutdown => Call::Shutdown { power: Handle(args[0]), status: args[1] },
        Syscall::Uptime => Call::Uptime,
        Syscall::ExitRecord => {
            if !args[0].is_multiple_of(4) {
                return Err(Error::InvalidArgument);
            }
            Call::ExitRecord { address: args[0] }
        }
        Syscall::CapInfo => Call::CapInfo { handle: Handle(args[0]) },
        Syscall::CapObject => Call::CapObject { handle: Handle(args[0]) },
        Syscall::CapDerive => Call::CapDerive { handle: Handle(args[0]), rights: rights(args[1])?, badge: args[2] },
        Syscall::FrameSlice => {
            Call::FrameSlice { handle: Handle(args[0]), offset: args[1], bytes: args[2], rights: rights(args[3])? }
        }
        Syscall::CapDelete => Call::CapDelete { handle: Handle(args[0]) },
        Syscall::CapRevoke => Call::CapRevoke { handle: Handle(args[0]) },
        Syscall::CapGrant => {
            Call::CapGrant { handle: Handle(args[0]), process: Handle(args[1]), rights: rights(args[2])? }
        }
        Syscall::Retype => {
            let kind = ObjectType::from_number(args[1]).filter(|k| k.is_retypable()).ok_or(Error::InvalidArgument)?;
            if !kind.valid_size(args[2]) {
                return Err(Error::InvalidArgument);
            }
            Call::Retype { untyped: Handle(args[0]), kind, bytes: args[2] }
        }
        Syscall::Map => {
            let access = rights(args[2])?;
            if !MAP_RIGHTS.contains(access) || !access.contains(Rights::READ) {
                return Err(Error::InvalidArgument);
            }
            if !args[1].is_multiple_of(tessera_abi::layout::PAGE_SIZE as u32) {
                return Err(Error::InvalidArgument);
            }
            Call::Map { handle: Handle(args[0]), address: args[1], rights: access, process: Handle(args[3]) }
        }
        Syscall::Unmap => Call::Unmap { handle: Handle(args[0]) },
        Syscall::CapMove => {
            Call::CapMove { handle: Handle(args[0]), process: Handle(args[1]), rights: rights(args[2])? }
        }
        Syscall::Send | Syscall::Call => Call::Send {
            endpoint: Handle(args[0]),
            message: Message::new(args[1], [args[2], args[3], args[4], args[5]])?,
            call: syscall == Syscall::Call,
            timeout: args[6],
        },
        Syscall::Receive => Call::Receive { endpoint: Handle(args[0]), timeout: args[1] },
        Syscall::Reply => Call::Reply { message: Message::new(args[1], [args[2], args[3], args[4], args[5]])? },
        Syscall::ReplyReceive => Call::ReplyReceive {
            endpoint: Handle(args[0]),
            message: Message::new(args[1], [args[2], args[3], args[4], args[5]])?,
            timeout: args[6],
        },
        Syscall::Signal => Call::Signal { notification: Handle(args[0]), bits: args[1] },
        Syscall::NotificationBind => Call::NotificationBind { notification: Handle(args[0]) },
        Syscall::WaitNotification => {
            Call::WaitNotification { notification: Handle(args[0]), mask: args[1], timeout: args[2] }
        }
        Syscall::Poll => Call::WaitNotification { notification: Handle(args[0]), mask: args[1], timeout: NO_WAIT },
        Syscall::InterruptBind => {
            if args[2] >= 32 {
                return Err(Error::InvalidArgument);
            }
            Call::InterruptBind { interrupt: Handle(args[0]), notification: Handle(args[1]), bit: args[2] }
        }
        Syscall::InterruptAck => Call::InterruptAck { interrupt: Handle(args[0]) },
        Syscall::ProcessSetup => {
            Call::ProcessSetup { process: Handle(args[0]), pc: args[1], sp: args[2], argument: args[3] }
        }
        Syscall::ProcessName => {
            if args[2] as usize > NAME_MAX {
                return Err(Error::TooLong);
            }
            if args[2] == 0 {
                return Err(Error::InvalidArgument);
            }
            Call::ProcessName { process: Handle(args[0]), name: args[1], name_len: args[2] }
        }
        Syscall::ProcessStart => {
            if args[1] >= PRIORITY_LEVELS {
                return Err(Error::InvalidArgument);
            }
            Call::ProcessStart { process: Handle(args[0]), priority: args[1] }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_known_calls() {
        assert_eq!(decode(0, [0; 7]), Ok(Call::Null));
        assert_eq!(decode(1, [0x10000, 12, 0, 0, 0, 0, 0]), Ok(Call::DebugWrite { address: 0x10000, len: 12 }));
        assert_eq!(decode(3, [500, 0, 0, 0, 0, 0, 0]), Ok(Call::Sleep { micros: 500 }));
        assert_eq!(decode(5, [0x10000, 4, 8, 7, 0, 0, 0]), Err(Error::UnknownSyscall), "Spawn is retired");
        assert_eq!(
            decode(31, [3, 0x10000, 4, 0, 0, 0, 0]),
            Ok(Call::ProcessName { process: Handle(3), name: 0x10000, name_len: 4 })
        );
        for syscall in Syscall::ALL {
            let arguments = match syscall {
                Syscall::Retype => [5, ObjectType::Frame as u32, 4096, 0, 0, 0, 0],
                Syscall::Map => [5, 0x20000, Rights::READ.bits(), 0, 0, 0, 0],
                _ => [0x10000, 1, 1, 1, 0, 0, 0],
            };
            let result = decode(syscall as u32, arguments);
            assert!(result.is_ok(), "{syscall:?}: {result:?}");
        }
    }

    #[test]
    fn rejects_bad_arguments() {
        assert_eq!(decode(99, [0; 7]), Err(Error::UnknownSyscall));
        assert_eq!(decode(11, [5, 1 << 20, 0, 0, 0, 0, 0]), Err(Error::InvalidArgument), "unknown right");
        assert_eq!(decode(15, [5, ObjectType::Reply as u32, 64, 0, 0, 0, 0]), Err(Error::InvalidArgument));
        assert_eq!(decode(15, [5, ObjectType::Endpoint as u32, 48, 0, 0, 0, 0]), Err(Error::InvalidArgument));
        assert_eq!(
            decode(15, [5, ObjectType::Frame as u32, 16, 0, 0, 0, 0]),
            Err(Error::InvalidArgument),
            "tiny frame"
        );
        assert_eq!(decode(16, [5, 0x10000, Rights::WRITE.bits(), 0, 0, 0, 0]), Err(Error::InvalidArgument));
        assert_eq!(decode(16, [5, 0x10010, Rights::READ.bits(), 0, 0, 0, 0]), Err(Error::InvalidArgument));
        assert_eq!(decode(16, [5, 0x10000, Rights::SEND.bits() | 1, 0, 0, 0, 0]), Err(Error::InvalidArgument));
        assert_eq!(
            decode(16, [5, 0x10000, Rights::READ.bits(), 0, 0, 0, 0]),
            Ok(Call::Map { handle: Handle(5), address: 0x10000, rights: Rights::READ, process: Handle(0) })
        );
        assert_eq!(decode(u32::MAX, [0; 7]), Err(Error::UnknownSyscall));
        assert_eq!(decode(1, [0x10000, DEBUG_WRITE_MAX as u32 + 1, 0, 0, 0, 0, 0]), Err(Error::TooLong));
        assert_eq!(decode(31, [3, 0x10000, NAME_MAX as u32 + 1, 0, 0, 0, 0]), Err(Error::TooLong));
        assert_eq!(decode(31, [3, 0x10000, 0, 0, 0, 0, 0]), Err(Error::InvalidArgument));
        assert_eq!(decode(30, [3, PRIORITY_LEVELS, 0, 0, 0, 0, 0]), Err(Error::InvalidArgument));
        for reserved in [1 << 18, 1 << 31] {
            for number in [Syscall::Send, Syscall::Call, Syscall::Reply, Syscall::ReplyReceive] {
                assert_eq!(decode(number as u32, [3, reserved, 0, 0, 0, 0, 0]), Err(Error::InvalidArgument));
            }
        }
    }

    #[test]
    fn every_blocking_call_takes_one_timeout_encoding() {
        let info = ipc::info(7, 0);
        for timeout in [NO_WAIT, 1, 999_999, tessera_abi::FOREVER] {
            assert_eq!(decode(6, [3, timeout, 0, 0, 0, 0, 0]), Ok(Call::Wait { process: 3, timeout_micros: timeout }));
            assert_eq!(decode(20, [3, timeout, 0, 0, 0, 0, 0]), Ok(Call::Receive { endpoint: Handle(3), timeout }));
            assert_eq!(
                decode(25, [3, 1, timeout, 0, 0, 0, 0]),
                Ok(Call::WaitNotification { notification: Handle(3), mask: 1, timeout })
            );
            for (number, call) in [(19, false), (21, true)] {
                assert_eq!(
                    decode(number, [3, info, 1, 2, 3, 4, timeout]),
                    Ok(Call::Send {
                        endpoint: Handle(3),
                        message: Message { info, words: [1, 2, 3, 4] },
                        call,
                        timeout
                    })
                );
            }
        }
        assert_eq!(
            decode(26, [3, 1, 5, 0, 0, 0, 0]),
            Ok(Call::WaitNotification { notification: Handle(3), mask: 1, timeout: NO_WAIT })
        );
    }
}
