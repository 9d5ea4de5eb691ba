//! Property tests on the host.
//!
//! 1. The fuzz bodies of `kernel_core::fuzzing` run on many inputs from a
//!    deterministic xorshift generator: random bytes, and mutations of valid
//!    seeds (an ELF from `elf::build_test_elf`, boot images from
//!    `bootimage::write`), so the checks behind a successful parse run too.
//! 2. Model-based tests of the run queues and the frame allocator: operation
//!    sequences derived with `arbitrary` from generator bytes are applied to
//!    the real structure and to a plain `std` model, which must agree.
//!
//! Everything is deterministic (fixed seeds) and bounded to run in well
//! under a second in a debug build. A failure prints the case number; the
//! input can be regenerated from it.

use std::collections::{BTreeSet, VecDeque};

use arbitrary::{Arbitrary, Unstructured};
use kernel_core::elf::{self, build_test_elf, FLAGS_RW, FLAGS_RWX, FLAGS_RX};
use kernel_core::frames::{FrameAllocator, FRAME_SIZE};
use kernel_core::fuzzing;
use kernel_core::sched::RunQueues;
use tessera_abi::bootimage::{self, BootImage};

use tessera_testing::Rng;

/// Values that tend to sit on boundaries of the formats under test.
const INTERESTING_WORDS: [u32; 12] =
    [0, 1, 2, 4, 32, 52, 0x1000, 0x1_0000, 0x3FFE_B000, 0x4000_0000, 0x7FFF_FFFF, u32::MAX];

/// A few random edits of `seed`: byte changes, boundary words, truncation,
/// growth, duplicated chunks.
fn mutate(seed: &[u8], rng: &mut Rng) -> Vec<u8> {
    let mut bytes = seed.to_vec();
    for _ in 0..1 + rng.below(4) {
        match rng.below(7) {
            0 | 1 if !bytes.is_empty() => {
                let at = rng.below(bytes.len());
                bytes[at] = rng.next_u64() as u8;
            }
            2 if !bytes.is_empty() => {
                let at = rng.below(bytes.len());
                bytes[at] ^= 1 << rng.below(8);
            }
            3 if bytes.len() >= 4 => {
                // Aligned, so that header fields are hit whole.
                let at = rng.below(bytes.len() / 4) * 4;
                let word = INTERESTING_WORDS[rng.below(INTERESTING_WORDS.len())];
                let word =
                    if rng.below(2) == 0 { word } else { word.wrapping_add(rng.below(3) as u32).wrapping_sub(1) };
                bytes[at..at + 4].copy_from_slice(&word.to_le_bytes());
            }
            4 => bytes.truncate(rng.below(bytes.len() + 1)),
            5 => {
                let len = rng.below(64);
                let extra = rng.bytes(len);
                bytes.extend_from_slice(&extra);
            }
            _ if !bytes.is_empty() => {
                let from = rng.below(bytes.len());
                let len = rng.below(bytes.len() - from + 1).min(64);
                let chunk = bytes[from..from + len].to_vec();
                let at = rng.below(bytes.len() + 1);
                bytes.splice(at..at, chunk);
            }
            _ => bytes.push(rng.next_u64() as u8),
        }
    }
    bytes
}

fn test_elf(entry: u32, segments: &[(u32, u32, &[u8], u32)]) -> Vec<u8> {
    let mut out = vec![0u8; 4096];
    let len = build_test_elf(entry, segments, &mut out);
    out.truncate(len);
    out
}

/// Valid ELF files of several shapes.
fn elf_seeds() -> Vec<Vec<u8>> {
    vec![
        test_elf(0x10000, &[(0x10000, FLAGS_RX, b"code", 4)]),
        test_elf(0x10001, &[(0x12000, FLAGS_RW, b"data", 0x2000), (0x10000, FLAGS_RX, b"\x00\xbf\x70\x47", 0x800)]),
        test_elf(
            0x2_0010,
            &[
                (0x2_0000, FLAGS_RX, &[0xAA; 64], 0x1800),
                (0x2_2000, 4, b"rodata", 6),
                (0x2_3004, FLAGS_RW, b"d", 0x3000),
            ],
        ),
        test_elf(0x3FFE_A000, &[(0x3FFE_A000, FLAGS_RX, b"top!", 0x1000)]),
    ]
}

fn pack(programs: &[(&str, &[u8])]) -> Vec<u8> {
    let mut out = vec![0u8; bootimage::image_size(programs.iter().map(|(_, elf)| elf.len()))];
    bootimage::write(programs, &mut out).expect("seed image packs");
    out
}

/// Valid boot images, including duplicate names and an empty ELF.
fn boot_image_seeds() -> Vec<Vec<u8>> {
    let elves = elf_seeds();
    vec![
        pack(&[("init", &elves[0])]),
        pack(&[("init", &elves[1]), ("hello", &elves[0]), ("x", b"abc")]),
        pack(&[("same", b"first"), ("same", b"second"), ("a-name-of-24-bytes-long!", b"")]),
        pack(&[]),
    ]
}

#[test]
fn seeds_are_valid() {
    for (index, seed) in elf_seeds().iter().enumerate() {
        assert!(elf::parse(seed).is_ok(), "ELF seed {index}: {:?}", elf::parse(seed));
        fuzzing::elf_parsing(seed);
    }
    for (index, seed) in boot_image_seeds().iter().enumerate() {
        assert!(BootImage::parse(seed).is_ok(), "boot image seed {index}");
        fuzzing::boot_image_parsing(seed);
    }
    assert!(elf::parse(&test_elf(0x10000, &[(0x10000, FLAGS_RWX, b"code", 4)])).is_err());
}

#[test]
fn fuzz_bodies_accept_trivial_inputs() {
    for data in [&[][..], &[0], &[0xFF; 3], &[0; 64], &[0xFF; 64]] {
        fuzzing::syscall_decoding(data);
        fuzzing::elf_parsing(data);
        fuzzing::boot_image_parsing(data);
        fuzzing::region_map_operations(data);
        fuzzing::console_labelling(data);
    }
}

#[test]
fn console_labelling_random_inputs() {
    let mut rng = Rng::new(0x5EED_0C01);
    for case in 0..3_000 {
        let len = rng.below(600);
        let data = rng.bytes(len);
        run_case("console_labelling", case, &data, fuzzing::console_labelling);
    }
}

#[test]
fn syscall_decoding_random_inputs() {
    let mut rng = Rng::new(0x5EED_0001);
    for case in 0..20_000 {
        let len = rng.below(200);
        let data = rng.bytes(len);
        run_case("syscall_decoding", case, &data, fuzzing::syscall_decoding);
    }
}

#[test]
fn region_map_random_operations() {
    let mut rng = Rng::new(0x5EED_0002);
    for case in 0..1_500 {
        let len = rng.below(400);
        let data = rng.bytes(len);
        run_case("region_map_operations", case, &data, fuzzing::region_map_operations);
    }
}

#[test]
fn elf_parsing_mutated_seeds() {
    let seeds = elf_seeds();
    let mut rng = Rng::new(0x5EED_0003);
    let mut parsed = 0;
    for case in 0..20_000 {
        let data = if case % 10 == 0 {
            // An ELF header followed by noise.
            let mut data = seeds[0][..52].to_vec();
            let len = rng.below(200);
            data.extend(rng.bytes(len));
            data
        } else {
            mutate(&seeds[case % seeds.len()], &mut rng)
        };
        parsed += usize::from(elf::parse(&data).is_ok());
        run_case("elf_parsing", case, &data, fuzzing::elf_parsing);
    }
    // The plan checks must actually run, not just the error paths.
    assert!(parsed > 2_000, "only {parsed} mutated files parsed");
}

#[test]
fn boot_image_parsing_mutated_seeds() {
    let seeds = boot_image_seeds();
    let mut rng = Rng::new(0x5EED_0004);
    let mut parsed = 0;
    for case in 0..20_000 {
        let data = if case % 10 == 0 {
            let len = rng.below(300);
            rng.bytes(len)
        } else {
            let mut data = mutate(&seeds[case % seeds.len()], &mut rng);
            // Mostly keep the total-size field honest, or nearly every
            // resized image stops at `SizeMismatch`.
            if data.len() >= 16 && case % 4 != 0 {
                let total = data.len() as u32;
                data[12..16].copy_from_slice(&total.to_le_bytes());
            }
            data
        };
        parsed += usize::from(BootImage::parse(&data).is_ok());
        run_case("boot_image_parsing", case, &data, fuzzing::boot_image_parsing);
    }
    assert!(parsed > 2_000, "only {parsed} mutated images parsed");
}

/// Runs one fuzz body, naming the case and input if it panics.
fn run_case(body: &str, case: usize, data: &[u8], run: fn(&[u8])) {
    if std::panic::catch_unwind(|| run(data)).is_err() {
        panic!("{body}: case {case} failed on input {data:02x?}");
    }
}

// ---------------------------------------------------------------------------
// Run queues against a model.

const THREADS: usize = 12;

#[derive(Arbitrary, Debug, Clone, Copy)]
enum QueueOp {
    PushBack { thread: u8, level: u8 },
    PushFront { thread: u8, level: u8 },
    PopHighest,
    Remove { thread: u8 },
}

/// Few distinct priorities, including both ends, so queues share levels.
fn priority(level: u8) -> u32 {
    [0, 1, 7, 16, 31][usize::from(level) % 5]
}

fn check_queues(queues: &RunQueues<THREADS>, model: &[VecDeque<usize>]) {
    let top = model.iter().rposition(|queue| !queue.is_empty()).map(|p| p as u32);
    assert_eq!(queues.highest_priority(), top);
    for thread in 0..THREADS {
        assert_eq!(queues.is_queued(thread), model.iter().any(|queue| queue.contains(&thread)), "thread {thread}");
    }
}

#[test]
fn run_queues_match_model() {
    let mut rng = Rng::new(0x5EED_0005);
    for case in 0..300 {
        let bytes = rng.bytes(600);
        let mut input = Unstructured::new(&bytes);
        let mut queues = RunQueues::<THREADS>::new();
        let mut model: Vec<VecDeque<usize>> = vec![VecDeque::new(); 32];
        let mut log = Vec::new();
        while !input.is_empty() {
            let op: QueueOp = input.arbitrary().expect("enough bytes");
            log.push(op);
            match op {
                QueueOp::PushBack { thread, level } | QueueOp::PushFront { thread, level } => {
                    let thread = usize::from(thread) % THREADS;
                    if queues.is_queued(thread) {
                        continue; // Pushing a queued thread is a kernel bug; see below.
                    }
                    let priority = priority(level);
                    if matches!(op, QueueOp::PushBack { .. }) {
                        queues.push_back(thread, priority);
                        model[priority as usize].push_back(thread);
                    } else {
                        queues.push_front(thread, priority);
                        model[priority as usize].push_front(thread);
                    }
                }
                QueueOp::PopHighest => {
                    let expected = model.iter_mut().rev().find_map(|queue| queue.pop_front());
                    assert_eq!(queues.pop_highest(), expected, "case {case}: {log:?}");
                }
                QueueOp::Remove { thread } => {
                    let thread = usize::from(thread) % THREADS;
                    queues.remove(thread);
                    model.iter_mut().for_each(|queue| queue.retain(|&t| t != thread));
                }
            }
            check_queues(&queues, &model);
        }
        // Draining gives every queued thread once, highest priority first, FIFO within one.
        let drained: Vec<usize> = std::iter::from_fn(|| queues.pop_highest()).collect();
        let expected: Vec<usize> = model.iter().rev().flatten().copied().collect();
        assert_eq!(drained, expected, "case {case}: {log:?}");
        assert_eq!(queues.highest_priority(), None);
    }
}

/// Pushing a queued thread is a kernel bug, caught by a debug assertion.
#[test]
#[cfg(debug_assertions)]
#[should_panic]
fn run_queues_refuse_double_push() {
    let mut queues = RunQueues::<4>::new();
    queues.push_back(1, 3);
    queues.push_front(1, 5);
}

// ---------------------------------------------------------------------------
// Frame allocator against a model.

#[derive(Arbitrary, Debug, Clone, Copy)]
enum FrameOp {
    Allocate,
    /// Release the `pick`-th allocated frame (a valid release).
    ReleaseAllocated {
        pick: u16,
    },
    /// Release a managed-looking address, possibly misaligned or free.
    ReleaseNear {
        index: u16,
        offset: u16,
    },
    /// Release any address at all.
    ReleaseAny {
        address: u32,
    },
}

#[test]
fn frame_allocator_matches_model() {
    const WORDS: usize = 3;
    let mut rng = Rng::new(0x5EED_0006);
    for case in 0..300 {
        let bytes = rng.bytes(700);
        let mut input = Unstructured::new(&bytes);
        // Starts below 0xFFFF_F000: see `frame_allocator_start_near_top`.
        let start = input.int_in_range(0..=0xFFFF_E000u32).unwrap();
        let start = if case % 3 == 0 { start & 0x0FFF_FFFF } else { start };
        let span = input.int_in_range(0..=(WORDS as u32 * 32 + 4) * FRAME_SIZE).unwrap();
        let end = start.saturating_add(span);
        let mut frames = FrameAllocator::<WORDS>::new(start, end);

        let base = start.next_multiple_of(FRAME_SIZE);
        let total = frames.total_frames();
        let expected_total = ((end & !(FRAME_SIZE - 1)).saturating_sub(base) / FRAME_SIZE) as usize;
        assert_eq!(total, expected_total.min(WORDS * 32), "case {case}: new({start:#x}, {end:#x})");
        let managed =
            |frame: u32| frame >= base && frame.is_multiple_of(FRAME_SIZE) && frame - base < total as u32 * FRAME_SIZE;

        let mut allocated: BTreeSet<u32> = BTreeSet::new();
        while !input.is_empty() {
            let op: FrameOp = input.arbitrary().expect("enough bytes");
            match op {
                FrameOp::Allocate => match frames.allocate() {
                    Some(frame) => {
                        assert!(managed(frame), "case {case}: {frame:#x} outside [{start:#x}, {end:#x})");
                        assert!(allocated.insert(frame), "case {case}: {frame:#x} handed out twice");
                    }
                    None => assert_eq!(allocated.len(), total, "case {case}: allocation failed with frames free"),
                },
                FrameOp::ReleaseAllocated { pick } => {
                    if let Some(&frame) = allocated.iter().nth(usize::from(pick) % allocated.len().max(1)) {
                        assert!(frames.release(frame), "case {case}: release of allocated {frame:#x} refused");
                        allocated.remove(&frame);
                    }
                }
                FrameOp::ReleaseNear { index, offset } => {
                    let frame = base
                        .wrapping_add(u32::from(index % (WORDS as u16 * 32 + 2)) * FRAME_SIZE)
                        .wrapping_add(u32::from(offset % 3) * 0x800)
                        .wrapping_sub(FRAME_SIZE * u32::from(offset % 5 == 0));
                    let expected = allocated.remove(&frame);
                    assert_eq!(frames.release(frame), expected, "case {case}: release({frame:#x})");
                }
                FrameOp::ReleaseAny { address } => {
                    let expected = allocated.remove(&address);
                    assert_eq!(frames.release(address), expected, "case {case}: release({address:#x})");
                }
            }
            assert_eq!(frames.free_frames(), total - allocated.len(), "case {case}: free count");
            assert_eq!(frames.total_frames(), total);
        }
        // Everything still free can be allocated, each frame once, and no more.
        while let Some(frame) = frames.allocate() {
            assert!(managed(frame) && allocated.insert(frame), "case {case}: bad frame {frame:#x} while draining");
        }
        assert_eq!(allocated.len(), total);
        assert_eq!(frames.free_frames(), 0);
    }
}

#[test]
fn empty_frame_allocator_refuses_everything() {
    let mut frames = FrameAllocator::<2>::empty();
    let mut rng = Rng::new(0x5EED_0007);
    for _ in 0..1_000 {
        assert!(!frames.release(rng.next_u64() as u32 & !(FRAME_SIZE - 1)));
        assert_eq!(frames.allocate(), None);
    }
    assert_eq!((frames.free_frames(), frames.total_frames()), (0, 0));
}

/// `FrameAllocator::new` rounds `start` up with `next_multiple_of`, which
/// overflows for a start in the last page of the address space: a debug
/// build panics, a release build wraps the base to 0 and hands out frames
/// from physical address 0, outside `[start, end)`.
#[test]
fn frame_allocator_start_near_top() {
    let mut frames = FrameAllocator::<2>::new(0xFFFF_F001, 0xFFFF_FFFF);
    assert_eq!(frames.total_frames(), 0);
    assert_eq!(frames.allocate(), None);
}

/// The device tree fuzz body on QEMU's real blob, every prefix of it, and
/// many mutations of it.
#[test]
fn device_tree_parsing_mutated_seed() {
    let seed: &[u8] = include_bytes!("../../../qemu/virt/qemu-virt.dtb");
    for cut in (0..seed.len()).step_by(13) {
        kernel_core::fuzzing::device_tree_parsing(&seed[..cut]);
    }
    let mut rng = Rng::new(0x9e37_79b9_7f4a_7c15);
    let mut parsed = 0;
    for _ in 0..5_000 {
        let mut blob = seed.to_vec();
        for _ in 0..2 {
            let state = rng.next_u64();
            let at = (state as usize) % blob.len();
            blob[at] = (state >> 40) as u8;
        }
        kernel_core::fuzzing::device_tree_parsing(&blob);
        parsed += kernel_core::devicetree::parse(&blob).is_ok() as usize;
    }
    assert!(parsed > 500, "too few mutations parsed ({parsed}) for the checks to run");
}
