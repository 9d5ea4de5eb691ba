//! The ones' complement sum of 32-bit words that the Internet checksum
//! (TCP, UDP, IPv4) is made of, for the network server's checksums
//! (`tessera_net_core::checksum`, which calls it on the A7).
//!
//! Without carry flags in Rust, the portable loop adds each word into a
//! 64-bit total: two instructions a word, about 0.8 a byte with its
//! loads and loop. Here the carry of each addition goes into the next
//! (`adcs`), across blocks of ten words too (the loop's test, `teq`,
//! leaves the carry alone), and is folded back once at the end: 13
//! instructions per 40 bytes, about 0.33 a byte (twelve per 32 bytes, 0.38,
//! with a fold per block of eight until December 2026). The up to nine
//! words after the last block take two each, in a chain entered part way
//! (five each in a loop until stop 30: the last eight words of a 64-byte
//! datagram's checksum took 40 instructions, now 19). `netd` sums every byte it sends and
//! receives once, so this was a seventh of a bulk transfer's
//! instructions (docs/benchmarks.md). [`check`] compares it with a plain
//! 64-bit sum at every length and start; the `cpu-state` scenario runs
//! it.

// A-profile only (`.arm` code), as the runtime's `memcpy`.
#[cfg(all(target_arch = "arm", not(target_abi = "eabihf")))]
core::arch::global_asm!(
    ".section .text.tessera_ones_sum, \"ax\", %progbits",
    ".arm",
    ".p2align 2",
    ".global tessera_ones_sum",
    ".type tessera_ones_sum, %function",
    // r0 = the first word, r1 = how many; returns their 32-bit ones'
    // complement sum (each carry added back in) in r0.
    "tessera_ones_sum:",
    "    push {{r4-r11, lr}}",
    "    mov r12, #0",
    // r2 = count / 10 (a multiply by the reciprocal, exact for every
    // 32-bit count); r10 = the end of the last whole block of ten words;
    // r1 = the words after it.
    "    ldr r3, =0xCCCCCCCD",
    "    umull r3, r2, r1, r3",
    "    lsr r2, r2, #3",
    "    add r3, r2, r2, lsl #2",
    "    add r10, r0, r3, lsl #3",
    "    sub r1, r1, r3, lsl #1",
    "    cmp r0, r10",
    "    beq 2f",
    // Carry clear, then one chain of additions over every block.
    "    adds r12, r12, #0",
    "1:  ldm r0!, {{r2-r9, r11, lr}}",
    "    adcs r12, r12, r2",
    "    adcs r12, r12, r3",
    "    adcs r12, r12, r4",
    "    adcs r12, r12, r5",
    "    adcs r12, r12, r6",
    "    adcs r12, r12, r7",
    "    adcs r12, r12, r8",
    "    adcs r12, r12, r9",
    "    adcs r12, r12, r11",
    "    adcs r12, r12, lr",
    "    teq r0, r10",
    "    bne 1b",
    "    adc r12, r12, #0",
    // The 0 to 9 words left: one more chain, entered part way (pc reads
    // as the `add`'s address + 8, where the chain starts; each step is
    // two instructions, 8 bytes), carry clear first.
    "2:  rsb r1, r1, #9",
    "    adds r12, r12, #0",
    "    add pc, pc, r1, lsl #3",
    "    nop",
    "    .rept 9",
    "    ldr r2, [r0], #4",
    "    adcs r12, r12, r2",
    "    .endr",
    "    adc r12, r12, #0",
    "    mov r0, r12",
    "    pop {{r4-r11, pc}}",
    "    .ltorg",
    ".size tessera_ones_sum, . - tessera_ones_sum",
);

#[cfg(all(target_arch = "arm", not(target_abi = "eabihf")))]
unsafe extern "C" {
    fn tessera_ones_sum(words: *const u32, count: usize) -> u32;
}

/// The ones' complement sum of `words` (as 32-bit numbers, each carry
/// added back in). Folded to 16 bits (and swapped if the words were read
/// little-endian) it is the Internet checksum's sum of their bytes.
#[cfg(all(target_arch = "arm", not(target_abi = "eabihf")))]
pub fn ones_sum(words: &[u32]) -> u32 {
    // SAFETY: the routine reads `words.len()` words from `words.as_ptr()`,
    // which the slice holds (aligned, initialised), and writes no memory
    // but its own stack.
    unsafe { tessera_ones_sum(words.as_ptr(), words.len()) }
}

/// The ones' complement sum of `words` (elsewhere: a 64-bit total, its
/// carries then added back in).
#[cfg(not(all(target_arch = "arm", not(target_abi = "eabihf"))))]
pub fn ones_sum(words: &[u32]) -> u32 {
    let mut total: u64 = words.iter().map(|&word| u64::from(word)).sum();
    while total > u64::from(u32::MAX) {
        total = (total & u64::from(u32::MAX)) + (total >> 32);
    }
    total as u32
}

/// The 16-bit fold of a ones' complement sum, with 0 for zero whichever
/// way it was reached (0 or all ones).
fn fold16(total: u64) -> u16 {
    let mut total = total;
    while total > 0xFFFF {
        total = (total & 0xFFFF) + (total >> 16);
    }
    if total == 0xFFFF {
        0
    } else {
        total as u16
    }
}

/// [`ones_sum`] of every run of up to 300 words starting at each of the
/// first 8 words of a table that holds carries of every kind (all ones,
/// high halves), compared with a plain 64-bit sum, both folded to 16
/// bits; returns how many sums it checked, or the first (start, length)
/// that came out wrong.
pub fn check() -> Result<u32, (usize, usize)> {
    const MAX: usize = 300;
    let mut words = [0u32; MAX + 8];
    for (index, word) in words.iter_mut().enumerate() {
        let index = index as u32;
        *word = match index % 5 {
            0 => u32::MAX,
            1 => 0xFFFF_0000 | index,
            _ => index.wrapping_mul(0x9E37_79B9),
        };
    }
    let mut checked = 0;
    for start in 0..8 {
        for len in 0..=MAX {
            // Not constant to the compiler: the routine is called.
            let run = core::hint::black_box(&words[start..start + len]);
            let plain: u64 = run.iter().map(|&word| u64::from(word)).sum();
            if fold16(u64::from(ones_sum(run))) != fold16(plain) {
                return Err((start, len));
            }
            checked += 1;
        }
    }
    Ok(checked)
}
