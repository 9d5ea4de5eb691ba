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

    /// Returns `frame` to the pool. Returns false (and changes nothing) if it
    /// is not a managed, allocated frame: a double free is caught, not obeyed.
    pub fn release(&mut self, frame: u32) -> bool {
        if frame < self.base || !frame.is_multiple_of(FRAME_SIZE) {
            return false;
        }
        let index = ((frame - self.base) / FRAME_SIZE) as usize;
        if index >= self.frames || self.used[index / 32] & (1 << (index % 32)) == 0 {
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
    fn empty_has_nothing() {
        let mut frames = FrameAllocator::<2>::empty();
        assert_eq!(frames.allocate(), None);
        assert!(!frames.release(0));
    }
}
