//! The memory copy every Armv7-A program and the kernel link: `memcpy`
//! and the ARM EABI's `__aeabi_memcpy`, `__aeabi_memcpy4` and
//! `__aeabi_memcpy8`, which the compiler calls for every copy it does not
//! inline (`copy_from_slice`, moves of large values). It lives here, in
//! the crate both link, so that each has exactly one (`tessera_rt::copy`
//! is this module).
//!
//! The toolchain's `compiler_builtins` has weak versions that copy a word
//! per four instructions (one a byte) when source and destination share
//! their alignment and shift bytes together (about two a byte) when they
//! do not. The network server copies every byte it moves twice or more,
//! and the apps once more, so that loop was about a third of the
//! instructions of a bulk transfer (docs/benchmarks.md); in the kernel it
//! is also less than half the size (`kernel_image_bytes`). This one moves
//! 44 bytes per `ldm`/`stm` pair of eleven registers when both are
//! word-aligned (32 bytes, eight registers, until December 2026: 0.125
//! instructions a byte, now 0.09), and 16 bytes
//! per four unaligned `ldr`s and an `stm` when only the destination is
//! (Armv7-A loads words from any address of Normal memory, and the kernel
//! leaves alignment checking off, SCTLR.A = 0; no copy here ever touches
//! device memory, which is reached through volatile accesses, and the
//! kernel makes no copy with the MMU off, when every access is strongly
//! ordered and an unaligned one faults, but aligned moves: it copies its
//! boot arguments byte by byte). Copies of
//! fewer than 32 bytes go byte by byte without touching the stack.
//!
//! The fill beside it (`memset`, `__aeabi_memset*`, `__aeabi_memclr*`)
//! writes 8 bytes per `stm` once the destination is word-aligned, and is
//! one routine where the toolchain's are five.
//!
//! [`check`] compares the copy with a byte loop at every alignment of
//! source and destination and many lengths, and [`check_fill`] the fill;
//! the `cpu-state` scenario runs both.
#![no_std]

// A-profile only (`armv7a-none-eabi`): `.arm` code, and unaligned loads.
// The M-profile target (`thumbv7em-none-eabihf`, docs/mt3620.md) has no ARM
// state, and keeps the toolchain's copy until it has its own; rustc's
// `cfg` does not tell the profiles apart, its ABI does.
#[cfg(all(target_arch = "arm", target_os = "none", not(target_abi = "eabihf")))]
core::arch::global_asm!(
    ".section .text.tessera_memcpy, \"ax\", %progbits",
    ".arm",
    ".p2align 2",
    ".global memcpy",
    ".global __aeabi_memcpy",
    ".global __aeabi_memcpy4",
    ".global __aeabi_memcpy8",
    ".type memcpy, %function",
    ".type __aeabi_memcpy, %function",
    ".type __aeabi_memcpy4, %function",
    ".type __aeabi_memcpy8, %function",
    // r0 = destination, r1 = source, r2 = length; r0 comes back as it
    // went in (memcpy's result; the __aeabi_ ones return nothing).
    "__aeabi_memcpy:",
    "__aeabi_memcpy4:",
    "__aeabi_memcpy8:",
    "memcpy:",
    "    cmp r2, #32",
    "    blo 20f",
    "    push {{r0, r4-r11, lr}}",
    // Byte by byte until the destination is word-aligned (at most 3).
    "    ands r3, r0, #3",
    "    beq 2f",
    "    rsb r3, r3, #4",
    "    sub r2, r2, r3",
    "1:  ldrb r4, [r1], #1",
    "    strb r4, [r0], #1",
    "    subs r3, r3, #1",
    "    bne 1b",
    // At least 29 bytes left, the destination aligned.
    "2:  tst r1, #3",
    "    bne 5f",
    // Both aligned: 44 bytes at a time (eleven registers), then what is
    // left (under 44) 16 bytes at a time below.
    "    subs r2, r2, #44",
    "    blo 4f",
    "3:  ldm r1!, {{r3-r12, lr}}",
    "    stm r0!, {{r3-r12, lr}}",
    "    subs r2, r2, #44",
    "    bhs 3b",
    "4:  add r2, r2, #44",
    // The source unaligned (or what the block loop left): 16 bytes at a
    // time, loaded unaligned.
    "5:  subs r2, r2, #16",
    "    blo 7f",
    "6:  ldr r3, [r1], #4",
    "    ldr r4, [r1], #4",
    "    ldr r5, [r1], #4",
    "    ldr r6, [r1], #4",
    "    stm r0!, {{r3-r6}}",
    "    subs r2, r2, #16",
    "    bhs 6b",
    "7:  add r2, r2, #16",
    // Words, then bytes, of what is left (under 32).
    "8:  subs r2, r2, #4",
    "    blo 10f",
    "9:  ldr r3, [r1], #4",
    "    str r3, [r0], #4",
    "    subs r2, r2, #4",
    "    bhs 9b",
    "10: adds r2, r2, #4",
    "    beq 12f",
    "11: ldrb r3, [r1], #1",
    "    strb r3, [r0], #1",
    "    subs r2, r2, #1",
    "    bne 11b",
    "12: pop {{r0, r4-r11, pc}}",
    // Under 32 bytes: byte by byte, r0 kept in r12.
    "20: mov r12, r0",
    "    cmp r2, #0",
    "    beq 22f",
    "21: ldrb r3, [r1], #1",
    "    strb r3, [r0], #1",
    "    subs r2, r2, #1",
    "    bne 21b",
    "22: mov r0, r12",
    "    bx lr",
    ".size memcpy, . - memcpy",
    //
    // The fill: `memset` and the EABI's `__aeabi_memset{,4,8}` and
    // `__aeabi_memclr{,4,8}` in one routine (the toolchain's are five,
    // 416 bytes in the kernel). EABI argument order: destination, length,
    // value; `memclr` has no value.
    ".section .text.tessera_memset, \"ax\", %progbits",
    ".p2align 2",
    ".global memset",
    ".global __aeabi_memset",
    ".global __aeabi_memset4",
    ".global __aeabi_memset8",
    ".global __aeabi_memclr",
    ".global __aeabi_memclr4",
    ".global __aeabi_memclr8",
    ".type memset, %function",
    ".type __aeabi_memset, %function",
    ".type __aeabi_memset4, %function",
    ".type __aeabi_memset8, %function",
    ".type __aeabi_memclr, %function",
    ".type __aeabi_memclr4, %function",
    ".type __aeabi_memclr8, %function",
    "__aeabi_memclr:",
    "__aeabi_memclr4:",
    "__aeabi_memclr8:",
    "    mov r2, #0",
    "__aeabi_memset:",
    "__aeabi_memset4:",
    "__aeabi_memset8:",
    "    mov r3, r1",
    "    mov r1, r2",
    "    mov r2, r3",
    // r0 = destination, r1 = value (its low byte), r2 = length; r0 comes
    // back as it went in.
    "memset:",
    "    mov r12, r0",
    "    and r1, r1, #0xff",
    "    orr r1, r1, r1, lsl #8",
    "    orr r1, r1, r1, lsl #16",
    "    cmp r2, #8",
    "    blo 34f",
    // Byte by byte until the destination is word-aligned (at most 3).
    "31: tst r0, #3",
    "    strbne r1, [r0], #1",
    "    subne r2, r2, #1",
    "    bne 31b",
    // Aligned, at least 5 left: 8 bytes per `stm`.
    "    mov r3, r1",
    "    subs r2, r2, #8",
    "    blo 33f",
    "32: stm r0!, {{r1, r3}}",
    "    subs r2, r2, #8",
    "    bhs 32b",
    "33: add r2, r2, #8",
    // What is left (under 8) byte by byte.
    "34: subs r2, r2, #1",
    "    strbhs r1, [r0], #1",
    "    bhi 34b",
    "    mov r0, r12",
    "    bx lr",
    ".size memset, . - memset",
);

/// Copies with `copy_from_slice` (which calls the routine above for any
/// length it does not know) at every alignment of source and destination
/// (0 to 7) and lengths 0 to 300, each compared with a byte loop, the
/// bytes around the destination checked untouched; returns how many
/// copies it checked, or the first (source offset, destination offset,
/// length) that came out wrong.
pub fn check() -> Result<u32, (usize, usize, usize)> {
    const MAX: usize = 300;
    let mut source = [0u8; MAX + 8];
    for (index, byte) in source.iter_mut().enumerate() {
        *byte = (index as u8).wrapping_mul(37).wrapping_add(11);
    }
    let mut checked = 0;
    for from in 0..8 {
        for to in 0..8 {
            for len in 0..=MAX {
                // 0xEE around the destination: a copy that writes past its
                // end or before its start shows.
                let mut destination = [0xEEu8; MAX + 16];
                // `black_box` keeps the compiler from seeing the length,
                // so this is a call, not an inlined copy.
                let len = core::hint::black_box(len);
                destination[to..to + len].copy_from_slice(&source[from..from + len]);
                let copied = (0..len).all(|index| destination[to + index] == source[from + index]);
                let around = destination[..to].iter().chain(&destination[to + len..]).all(|&byte| byte == 0xEE);
                if !copied || !around {
                    return Err((from, to, len));
                }
                checked += 1;
            }
        }
    }
    Ok(checked)
}

/// Fills with `fill` (which calls the routine above for any length it does
/// not know) and zeroes (`__aeabi_memclr`) at every alignment (0 to 7) and
/// lengths 0 to 300, each compared with a byte loop, the bytes around the
/// destination checked untouched; returns how many fills it checked, or
/// the first (offset, length) that came out wrong.
pub fn check_fill() -> Result<u32, (usize, usize)> {
    const MAX: usize = 300;
    let mut checked = 0;
    for at in 0..8 {
        for len in 0..=MAX {
            for value in [0u8, 0xA5] {
                let mut destination = [0xEEu8; MAX + 16];
                let len = core::hint::black_box(len);
                if value == 0 {
                    // A known zero: the compiler calls `__aeabi_memclr`.
                    destination[at..at + len].fill(0);
                } else {
                    destination[at..at + len].fill(core::hint::black_box(value));
                }
                let filled = destination[at..at + len].iter().all(|&byte| byte == value);
                let around = destination[..at].iter().chain(&destination[at + len..]).all(|&byte| byte == 0xEE);
                if !filled || !around {
                    return Err((at, len));
                }
                checked += 1;
            }
        }
    }
    Ok(checked)
}
