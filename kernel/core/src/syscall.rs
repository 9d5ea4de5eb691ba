//! Syscall decoding: register values in, a typed [`Call`] or an error out.
//!
//! Decoding checks everything that does not depend on the caller's state
//! (the number, lengths, ranges). Pointer arguments are checked afterwards
//! against the caller's mappings ([`crate::user_memory::RegionMap::check`]);
//! authority (root-only calls) is checked by the kernel. Decoding changes
//! nothing and never panics, whatever the registers hold.

use tessera_abi::{Error, Syscall, DEBUG_WRITE_MAX, NAME_MAX, PRIORITY_LEVELS};

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
    /// `Spawn(name, len, priority, argument)`, `len <= NAME_MAX`,
    /// `priority < PRIORITY_LEVELS`.
    Spawn {
        /// User address of the program name.
        name: u32,
        /// Length of the name.
        name_len: u32,
        /// Priority of the new process.
        priority: u32,
        /// Value passed to the new process in `r0`.
        argument: u32,
    },
    /// `Wait(pid, timeout_micros)`.
    Wait {
        /// Child to wait for, or `ANY_PROCESS`.
        pid: u32,
        /// Microseconds to wait at most, or `FOREVER`.
        timeout_micros: u32,
    },
    /// `Shutdown(status)`.
    Shutdown {
        /// Exit status reported to the host.
        status: u32,
    },
    /// `Uptime`.
    Uptime,
}

/// Decodes syscall `number` with argument registers `args` (`r0`..`r5`).
pub fn decode(number: u32, args: [u32; 6]) -> Result<Call, Error> {
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
        Syscall::Spawn => {
            if args[1] as usize > NAME_MAX {
                return Err(Error::TooLong);
            }
            if args[1] == 0 || args[2] >= PRIORITY_LEVELS {
                return Err(Error::InvalidArgument);
            }
            Call::Spawn { name: args[0], name_len: args[1], priority: args[2], argument: args[3] }
        }
        Syscall::Wait => Call::Wait { pid: args[0], timeout_micros: args[1] },
        Syscall::Shutdown => Call::Shutdown { status: args[0] },
        Syscall::Uptime => Call::Uptime,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_known_calls() {
        assert_eq!(decode(0, [0; 6]), Ok(Call::Null));
        assert_eq!(decode(1, [0x10000, 12, 0, 0, 0, 0]), Ok(Call::DebugWrite { address: 0x10000, len: 12 }));
        assert_eq!(decode(3, [500, 0, 0, 0, 0, 0]), Ok(Call::Sleep { micros: 500 }));
        assert_eq!(
            decode(5, [0x10000, 4, 8, 7, 0, 0]),
            Ok(Call::Spawn { name: 0x10000, name_len: 4, priority: 8, argument: 7 })
        );
        for syscall in Syscall::ALL {
            let result = decode(syscall as u32, [0x10000, 1, 1, 0, 0, 0]);
            assert!(result.is_ok(), "{syscall:?}: {result:?}");
        }
    }

    #[test]
    fn rejects_bad_arguments() {
        assert_eq!(decode(9, [0; 6]), Err(Error::UnknownSyscall));
        assert_eq!(decode(u32::MAX, [0; 6]), Err(Error::UnknownSyscall));
        assert_eq!(decode(1, [0x10000, DEBUG_WRITE_MAX as u32 + 1, 0, 0, 0, 0]), Err(Error::TooLong));
        assert_eq!(decode(5, [0x10000, NAME_MAX as u32 + 1, 1, 0, 0, 0]), Err(Error::TooLong));
        assert_eq!(decode(5, [0x10000, 0, 1, 0, 0, 0]), Err(Error::InvalidArgument));
        assert_eq!(decode(5, [0x10000, 4, PRIORITY_LEVELS, 0, 0, 0]), Err(Error::InvalidArgument));
    }
}
