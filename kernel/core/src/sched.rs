//! Run queues: one FIFO per priority and a bitmap of non-empty queues, so
//! picking the next thread is a count-leading-zeros and a pop.
//!
//! Policy (the kernel applies it): the highest-priority ready thread runs;
//! threads of equal priority share the CPU round-robin, each for a time
//! slice. A thread whose slice ran out or that yields goes to the back of its
//! queue; a thread preempted by a higher-priority one goes to the front, so
//! it resumes first once the higher one blocks.

use tessera_abi::PRIORITY_LEVELS;

const LEVELS: usize = PRIORITY_LEVELS as usize;

/// Marks "no thread" in links, which hold thread index + 1 so that empty
/// queues are all zeros (and a kernel holding them can live in `.bss`).
const NONE: u32 = 0;
/// Marks "not queued" in a thread's level, which holds priority + 1.
const NOT_QUEUED: u8 = 0;

/// Where each thread's queue link lives. The kernel keeps it in the
/// thread's own entry (so the queues need no array sized for every thread
/// there could be); [`ArrayLinks`] keeps it in arrays.
pub trait QueueLinks {
    /// The thread after `thread` in its queue, as index + 1 (0: none).
    fn next(&self, thread: usize) -> u32;
    fn set_next(&mut self, thread: usize, next: u32);
    /// The priority + 1 of the queue holding `thread` (0: none).
    fn level(&self, thread: usize) -> u8;
    fn set_level(&mut self, thread: usize, level: u8);
}

/// Queue links for threads `0..N`, in arrays.
#[derive(Clone, Debug)]
pub struct ArrayLinks<const N: usize> {
    next: [u32; N],
    level: [u8; N],
}

impl<const N: usize> ArrayLinks<N> {
    /// No thread queued.
    pub const fn new() -> Self {
        ArrayLinks { next: [NONE; N], level: [NOT_QUEUED; N] }
    }
}

impl<const N: usize> Default for ArrayLinks<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> QueueLinks for ArrayLinks<N> {
    fn next(&self, thread: usize) -> u32 {
        self.next[thread]
    }
    fn set_next(&mut self, thread: usize, next: u32) {
        self.next[thread] = next;
    }
    fn level(&self, thread: usize) -> u8 {
        self.level[thread]
    }
    fn set_level(&mut self, thread: usize, level: u8) {
        self.level[thread] = level;
    }
}

/// The ready threads, by priority: the heads and tails of the queues; each
/// thread's link is in a [`QueueLinks`] the caller passes in.
///
/// Invariants: bit `p` of `nonempty` is set exactly when queue `p` has a
/// thread; `head`/`tail` and the links form one singly linked list per
/// priority (thread index + 1, 0 for none); a thread's level is the
/// priority + 1 of the queue holding it, or 0. Pushing a thread that is
/// already queued is a kernel bug (checked in debug builds and by the host
/// property tests).
#[derive(Clone, Debug, Default)]
pub struct Queues {
    nonempty: u32,
    head: [u32; LEVELS],
    tail: [u32; LEVELS],
}

/// Where `Queues`' fields lie, for the architectures' fast paths.
pub(crate) const NONEMPTY_OFFSET: usize = core::mem::offset_of!(Queues, nonempty);
pub(crate) const HEAD_OFFSET: usize = core::mem::offset_of!(Queues, head);
pub(crate) const TAIL_OFFSET: usize = core::mem::offset_of!(Queues, tail);
// The fast paths read and write these as words: their types must stay.
fn _field_types(queues: &Queues) -> (u32, &[u32; LEVELS], &[u32; LEVELS]) {
    (queues.nonempty, &queues.head, &queues.tail)
}

/// How many levels there are (a power of two: a level is a priority's low
/// bits).
pub(crate) const QUEUE_LEVELS: usize = LEVELS;
const _: () = assert!(LEVELS.is_power_of_two());

const fn link(thread: usize) -> u32 {
    thread as u32 + 1
}

const fn thread_of(link: u32) -> usize {
    link as usize - 1
}

impl Queues {
    /// Empty queues (all zeros).
    pub const fn new() -> Self {
        Queues { nonempty: 0, head: [NONE; LEVELS], tail: [NONE; LEVELS] }
    }

    /// Puts `thread` at the back of queue `priority` (`< PRIORITY_LEVELS`).
    #[inline]
    pub fn push_back(&mut self, links: &mut impl QueueLinks, thread: usize, priority: u32) {
        debug_assert!(links.level(thread) == NOT_QUEUED);
        let level = priority as usize % LEVELS;
        links.set_level(thread, level as u8 + 1);
        links.set_next(thread, NONE);
        let last = self.tail[level];
        if last == NONE {
            self.head[level] = link(thread);
        } else {
            links.set_next(thread_of(last), link(thread));
        }
        self.tail[level] = link(thread);
        self.nonempty |= 1 << level;
    }

    /// Puts `thread` at the front of queue `priority` (`< PRIORITY_LEVELS`).
    #[inline]
    pub fn push_front(&mut self, links: &mut impl QueueLinks, thread: usize, priority: u32) {
        debug_assert!(links.level(thread) == NOT_QUEUED);
        let level = priority as usize % LEVELS;
        links.set_level(thread, level as u8 + 1);
        links.set_next(thread, self.head[level]);
        if self.head[level] == NONE {
            self.tail[level] = link(thread);
        }
        self.head[level] = link(thread);
        self.nonempty |= 1 << level;
    }

    /// Highest priority with a ready thread.
    #[inline]
    pub fn highest_priority(&self) -> Option<u32> {
        if self.nonempty == 0 {
            None
        } else {
            Some(31 - self.nonempty.leading_zeros())
        }
    }

    /// Removes and returns the first thread of the highest non-empty queue.
    #[inline]
    pub fn pop_highest(&mut self, links: &mut impl QueueLinks) -> Option<usize> {
        let level = self.highest_priority()? as usize;
        let thread = thread_of(self.head[level]);
        self.head[level] = links.next(thread);
        if self.head[level] == NONE {
            self.tail[level] = NONE;
            self.nonempty &= !(1 << level);
        }
        links.set_next(thread, NONE);
        links.set_level(thread, NOT_QUEUED);
        Some(thread)
    }

    /// Removes `thread` from whatever queue it is in (no-op if none).
    pub fn remove(&mut self, links: &mut impl QueueLinks, thread: usize) {
        if links.level(thread) == NOT_QUEUED {
            return;
        }
        let level = links.level(thread) as usize - 1;
        let mut previous = NONE;
        let mut cursor = self.head[level];
        while cursor != NONE {
            if thread_of(cursor) == thread {
                let after = links.next(thread);
                if previous == NONE {
                    self.head[level] = after;
                } else {
                    links.set_next(thread_of(previous), after);
                }
                if self.tail[level] == cursor {
                    self.tail[level] = previous;
                }
                break;
            }
            previous = cursor;
            cursor = links.next(thread_of(cursor));
        }
        if self.head[level] == NONE {
            self.nonempty &= !(1 << level);
        }
        links.set_next(thread, NONE);
        links.set_level(thread, NOT_QUEUED);
    }
}

/// [`Queues`] with their links in arrays, for threads named by index `< N`.
#[derive(Clone, Debug, Default)]
pub struct RunQueues<const N: usize> {
    queues: Queues,
    links: ArrayLinks<N>,
}

impl<const N: usize> RunQueues<N> {
    /// Empty queues (all zeros).
    pub const fn new() -> Self {
        RunQueues { queues: Queues::new(), links: ArrayLinks::new() }
    }

    /// True if `thread` is in a queue.
    pub fn is_queued(&self, thread: usize) -> bool {
        self.links.level(thread) != NOT_QUEUED
    }

    /// Puts `thread` at the back of queue `priority`.
    pub fn push_back(&mut self, thread: usize, priority: u32) {
        self.queues.push_back(&mut self.links, thread, priority);
    }

    /// Puts `thread` at the front of queue `priority`.
    pub fn push_front(&mut self, thread: usize, priority: u32) {
        self.queues.push_front(&mut self.links, thread, priority);
    }

    /// Highest priority with a ready thread.
    pub fn highest_priority(&self) -> Option<u32> {
        self.queues.highest_priority()
    }

    /// Removes and returns the first thread of the highest non-empty queue.
    pub fn pop_highest(&mut self) -> Option<usize> {
        self.queues.pop_highest(&mut self.links)
    }

    /// Removes `thread` from whatever queue it is in (no-op if none).
    pub fn remove(&mut self, thread: usize) {
        self.queues.remove(&mut self.links, thread);
    }
}

/// Should a thread of `candidate` priority that just became ready preempt
/// the running thread of `running` priority? Only if strictly higher: equal
/// priorities wait for the slice to end.
pub const fn preempts(candidate: u32, running: u32) -> bool {
    candidate > running
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::collections::VecDeque;
    use std::vec::Vec;

    #[test]
    fn highest_first_then_fifo() {
        let mut queues = RunQueues::<8>::new();
        queues.push_back(0, 3);
        queues.push_back(1, 5);
        queues.push_back(2, 3);
        queues.push_front(3, 3);
        assert_eq!(queues.highest_priority(), Some(5));
        let order: Vec<usize> = core::iter::from_fn(|| queues.pop_highest()).collect();
        assert_eq!(order, [1, 3, 0, 2]);
        assert_eq!(queues.highest_priority(), None);
    }

    #[test]
    fn remove_from_middle_and_tail() {
        let mut queues = RunQueues::<8>::new();
        for thread in 0..4 {
            queues.push_back(thread, 7);
        }
        queues.remove(3);
        queues.remove(1);
        queues.remove(1);
        queues.push_back(5, 7);
        let order: Vec<usize> = core::iter::from_fn(|| queues.pop_highest()).collect();
        assert_eq!(order, [0, 2, 5]);
    }

    /// Random operations agree with a model made of `VecDeque`s.
    #[test]
    fn matches_model() {
        let mut rng = tessera_testing::Rng::new(0x9e37_79b9_7f4a_7c15);
        let mut random = move || rng.next_u64();
        for _ in 0..200 {
            let mut queues = RunQueues::<16>::new();
            let mut model: Vec<VecDeque<usize>> = (0..32).map(|_| VecDeque::new()).collect();
            for _ in 0..300 {
                let thread = (random() % 16) as usize;
                let priority = (random() % 4) as u32 * 9;
                match random() % 4 {
                    0 | 1 if !queues.is_queued(thread) => {
                        queues.push_back(thread, priority);
                        model[priority as usize].push_back(thread);
                    }
                    2 if !queues.is_queued(thread) => {
                        queues.push_front(thread, priority);
                        model[priority as usize].push_front(thread);
                    }
                    3 => {
                        let expected = model.iter_mut().rev().find_map(|q| q.pop_front());
                        assert_eq!(queues.pop_highest(), expected);
                    }
                    _ => {
                        queues.remove(thread);
                        for queue in model.iter_mut() {
                            queue.retain(|&t| t != thread);
                        }
                    }
                }
                let expected_top = model.iter().rposition(|q| !q.is_empty()).map(|p| p as u32);
                assert_eq!(queues.highest_priority(), expected_top);
            }
        }
    }
}
