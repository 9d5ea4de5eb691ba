//! Physical page-frame allocator: a bitmap over the RAM the kernel does not
//! occupy, one bit per 4 KiB frame.

/// Size of a frame.
pub const FRAME_SIZE: u32 = 4096;

/// Bitmap allocator for up to `WORDS * 32` frames starting at `base`.
#[derive(Clone, Debug)]
pub struct FrameAllocator<const WORDS: usize> {
    base: u32,
    frames: usize,
    /// Bit set = frame in use.
    used: [u32; WORDS],
    free: usize,
    /// Word to start the next search at.
    hint: usize,
}

impl<const WORDS: usize> FrameAllocator<WORDS> {
    /// An allocator with no frames (all zeros: it hands nothing out, since
    /// `frames` and `free` are 0).
    pub const fn empty() -> Self {
        FrameAllocator { base: 0, frames: 0, used: [0; WORDS], free: 0, hint: 0 }
    }

    /// Manages the frames of `[start, end)`, rounded inwards to frames; at
    /// most `WORDS * 32` of them (the rest are ignored).
    pub fn new(start: u32, end: u32) -> Self {
        let mut allocator = Self::empty();
        allocator.reset(start, end);
        allocator
    }

    /// Like [`FrameAllocator::new`], in place (the bitmap can be large).
    /// Every frame becomes free.
    pub fn reset(&mut self, start: u32, end: u32) {
        // A start in the last page of the address space rounds up past 4 GiB:
        // no whole frame fits, so the allocator is empty.
        let base = start.checked_next_multiple_of(FRAME_SIZE).unwrap_or(!(FRAME_SIZE - 1));
        let end = end & !(FRAME_SIZE - 1);
        let frames = ((end.saturating_sub(base) / FRAME_SIZE) as usize).min(WORDS * 32);
        self.base = base;
        self.frames = frames;
        self.free = frames;
        self.hint = 0;
        // Whole words of free frames, one partial word, the rest in use.
        let full = frames / 32;
        self.used[..full].fill(0);
        if full < WORDS {
            self.used[full] = if frames.is_multiple_of(32) { u32::MAX } else { u32::MAX << (frames % 32) };
            self.used[full + 1..].fill(u32::MAX);
        }
    }

    /// Frames not in use.
    pub fn free_frames(&self) -> usize {
        self.free
    }

    /// Frames managed.
    pub fn total_frames(&self) -> usize {
        self.frames
    }

    /// Allocates one frame and returns its physical address.
    pub fn allocate(&mut self) -> Option<u32> {
        if self.free == 0 {
            return None;
        }
        for step in 0..WORDS {
            let word = (self.hint + step) % WORDS;
            if self.used[word] != u32::MAX {
                let bit = self.used[word].trailing_ones() as usize;
                self.used[word] |= 1 << bit;
                self.free -= 1;
                self.hint = word;
                return Some(self.base + ((word * 32 + bit) as u32) * FRAME_SIZE);
            }
        }
        None
    }

    /// Allocates the frame at physical address `frame` itself (an
    /// identity-mapped platform places a program's pages where its ELF
    /// says). `None` if it is not a managed frame or is in use.
    pub fn allocate_at(&mut self, frame: u32) -> Option<u32> {
        let index = self.index(frame)?;
        if self.used[index / 32] & (1 << (index % 32)) != 0 {
            return None;
        }
        self.used[index / 32] |= 1 << (index % 32);
        self.free -= 1;
        Some(frame)
    }

    /// The bit of managed frame `frame`.
    fn index(&self, frame: u32) -> Option<usize> {
        if frame < self.base || !frame.is_multiple_of(FRAME_SIZE) {
            return None;
        }
        let index = ((frame - self.base) / FRAME_SIZE) as usize;
        (index < self.frames).then_some(index)
    }

    /// Returns `frame` to the pool. Returns false (and changes nothing) if it
    /// is not a managed, allocated frame: a double free is caught, not obeyed.
    pub fn release(&mut self, frame: u32) -> bool {
        let Some(index) = self.index(frame) else {
            return false;
        };
        if self.used[index / 32] & (1 << (index % 32)) == 0 {
            return false;
        }
        self.used[index / 32] &= !(1 << (index % 32));
        self.free += 1;
        true
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn allocates_every_frame_once() {
        let mut frames = FrameAllocator::<4>::new(0x4000_0800, 0x4004_0000);
        assert_eq!(frames.total_frames(), 63);
        let mut seen = BTreeSet::new();
        while let Some(frame) = frames.allocate() {
            assert!((0x4000_1000..0x4004_0000).contains(&frame) && frame % FRAME_SIZE == 0);
            assert!(seen.insert(frame));
        }
        assert_eq!(seen.len(), 63);
        assert!(frames.release(0x4000_2000));
        assert!(!frames.release(0x4000_2000), "double free refused");
        assert!(!frames.release(0x4000_2001));
        assert!(!frames.release(0x5000_0000));
        assert_eq!(frames.allocate(), Some(0x4000_2000));
    }

    #[test]
    fn allocates_a_chosen_frame() {
        let mut frames = FrameAllocator::<4>::new(0x4000_0000, 0x4004_0000);
        assert_eq!(frames.allocate_at(0x4000_3000), Some(0x4000_3000));
        assert_eq!(frames.free_frames(), 63);
        assert_eq!(frames.allocate_at(0x4000_3000), None, "in use");
        assert_eq!(frames.allocate_at(0x4000_3800), None, "unaligned");
        assert_eq!(frames.allocate_at(0x3FFF_F000), None, "below the pool");
        assert_eq!(frames.allocate_at(0x4004_0000), None, "past the pool");
        assert!((0..63).filter_map(|_| frames.allocate()).all(|frame| frame != 0x4000_3000));
        assert_eq!(frames.allocate(), None);
        assert!(frames.release(0x4000_3000));
        assert_eq!(frames.allocate_at(0x4000_3000), Some(0x4000_3000));
    }

    /// Random allocations (anywhere and at chosen frames) and releases
    /// against a set of the frames handed out.
    #[test]
    fn chosen_and_any_frames_agree_with_a_model() {
        for seed in 0..200 {
            let mut rng = tessera_testing::Rng::new(seed);
            let mut frames = FrameAllocator::<2>::new(0x2000_0000, 0x2000_0000 + 50 * FRAME_SIZE);
            let mut held = BTreeSet::new();
            for _ in 0..300 {
                let frame = 0x2000_0000 - FRAME_SIZE + (rng.below(53) as u32) * FRAME_SIZE;
                match rng.below(3) {
                    0 => {
                        let got = frames.allocate();
                        assert_eq!(got.is_some(), held.len() < 50, "seed {seed}");
                        if let Some(got) = got {
                            assert!(held.insert(got), "seed {seed}: {got:#x} handed out twice");
                        }
                    }
                    1 => {
                        let managed = (0x2000_0000..0x2000_0000 + 50 * FRAME_SIZE).contains(&frame);
                        let expected = (managed && !held.contains(&frame)).then_some(frame);
                        assert_eq!(frames.allocate_at(frame), expected, "seed {seed}: {frame:#x}");
                        held.extend(expected);
                    }
                    _ => assert_eq!(frames.release(frame), held.remove(&frame), "seed {seed}: {frame:#x}"),
                }
                assert_eq!(frames.free_frames(), 50 - held.len(), "seed {seed}");
            }
        }
    }

    #[test]
    fn empty_has_nothing() {
        let mut frames = FrameAllocator::<2>::empty();
        assert_eq!(frames.allocate(), None);
        assert!(!frames.release(0));
    }
}
