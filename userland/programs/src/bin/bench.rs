//! Benchmarks run under QEMU `-icount shift=0`, where the cycle counter
//! counts instructions exactly. Prints `BENCH <key> <value>` lines that
//! `cargo xtask bench` collects.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use tessera_programs::bench::*;
use tessera_rt::{cycles, null, println, yield_now};

tessera_rt::entry!(main);

/// Cost of two back-to-back counter reads, subtracted from every figure.
fn counter_overhead() -> u32 {
    (0..16)
        .map(|_| {
            let start = cycles();
            let end = cycles();
            end.wrapping_sub(start)
        })
        .min()
        .unwrap_or(0)
}

fn main(start: tessera_rt::Start) -> u32 {
    match start.argument {
        NULL_SYSCALL => {
            let overhead = counter_overhead();
            let best = (0..NULL_CALLS)
                .map(|_| {
                    let start = cycles();
                    null();
                    let end = cycles();
                    end.wrapping_sub(start)
                })
                .min()
                .unwrap_or(0);
            println!("BENCH null_syscall_instructions {}", best.saturating_sub(overhead));
            // The general path: decode, pointer check (nothing to check for
            // an empty write) and the scheduler's "keep running" test.
            let general = (0..NULL_CALLS)
                .map(|_| {
                    let start = cycles();
                    let _ = tessera_rt::debug_write(&[]);
                    let end = cycles();
                    end.wrapping_sub(start)
                })
                .min()
                .unwrap_or(0);
            println!("BENCH syscall_general_path_instructions {}", general.saturating_sub(overhead));
        }
        YIELD_REPORTER => {
            let start = cycles();
            for _ in 0..YIELDS {
                yield_now();
            }
            let total = cycles().wrapping_sub(start);
            // Each yield by either process is one switch to the other.
            println!("BENCH context_switch_instructions {}", total / (2 * YIELDS));
        }
        YIELD_PARTNER => {
            for _ in 0..YIELDS {
                yield_now();
            }
        }
        other => {
            println!("bench: unknown argument {}", other);
            return 2;
        }
    }
    0
}
