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

/// Marks "no thread" in the link arrays, which hold thread index + 1 so that
/// empty queues are all zeros (and a kernel holding them can live in `.bss`).
const NONE: u16 = 0;
/// Marks "not queued" in `queued_at`, which holds priority + 1.
const NOT_QUEUED: u8 = 0;

/// The ready threads, by priority. Threads are named by index `< N`.
///
/// Invariants: bit `p` of `nonempty` is set exactly when queue `p` has a
/// thread; `head`/`tail`/`next` form one singly linked list per priority
/// (entries are thread index + 1, 0 for none); `queued_at[t]` is the
/// priority + 1 of the queue holding `t`, or 0. Pushing a thread that is
/// already queued is a kernel bug (checked in debug builds and by the host
/// property tests).
#[derive(Clone, Debug)]
pub struct RunQueues<const N: usize> {
    nonempty: u32,
    head: [u16; LEVELS],
    tail: [u16; LEVELS],
    next: [u16; N],
    queued_at: [u8; N],
}

impl<const N: usize> Default for RunQueues<N> {
    fn default() -> Self {
        Self::new()
    }
}

const fn link(thread: usize) -> u16 {
    thread as u16 + 1
}

const fn thread_of(link: u16) -> usize {
    link as usize - 1
}

impl<const N: usize> RunQueues<N> {
    /// Empty queues (all zeros).
    pub const fn new() -> Self {
        assert!(N < u16::MAX as usize);
        RunQueues {
            nonempty: 0,
            head: [NONE; LEVELS],
            tail: [NONE; LEVELS],
            next: [NONE; N],
            queued_at: [NOT_QUEUED; N],
        }
    }

    /// True if `thread` is in a queue.
    #[inline]
    pub fn is_queued(&self, thread: usize) -> bool {
        self.queued_at[thread] != NOT_QUEUED
    }

    /// Puts `thread` at the back of queue `priority` (`< PRIORITY_LEVELS`).
    #[inline]
    pub fn push_back(&mut self, thread: usize, priority: u32) {
        debug_assert!(!self.is_queued(thread));
        let level = priority as usize % LEVELS;
        self.queued_at[thread] = level as u8 + 1;
        self.next[thread] = NONE;
        let last = self.tail[level];
        if last == NONE {
            self.head[level] = link(thread);
        } else {
            self.next[thread_of(last)] = link(thread);
        }
        self.tail[level] = link(thread);
        self.nonempty |= 1 << level;
    }

    /// Puts `thread` at the front of queue `priority` (`< PRIORITY_LEVELS`).
    #[inline]
    pub fn push_front(&mut self, thread: usize, priority: u32) {
        debug_assert!(!self.is_queued(thread));
        let level = priority as usize % LEVELS;
        self.queued_at[thread] = level as u8 + 1;
        self.next[thread] = self.head[level];
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
    pub fn pop_highest(&mut self) -> Option<usize> {
        let level = self.highest_priority()? as usize;
        let thread = thread_of(self.head[level]);
        self.head[level] = self.next[thread];
        if self.head[level] == NONE {
            self.tail[level] = NONE;
            self.nonempty &= !(1 << level);
        }
        self.next[thread] = NONE;
        self.queued_at[thread] = NOT_QUEUED;
        Some(thread)
    }

    /// Removes `thread` from whatever queue it is in (no-op if none).
    pub fn remove(&mut self, thread: usize) {
        if !self.is_queued(thread) {
            return;
        }
        let level = self.queued_at[thread] as usize - 1;
        let mut previous = NONE;
        let mut cursor = self.head[level];
        while cursor != NONE {
            if thread_of(cursor) == thread {
                let after = self.next[thread];
                if previous == NONE {
                    self.head[level] = after;
                } else {
                    self.next[thread_of(previous)] = after;
                }
                if self.tail[level] == cursor {
                    self.tail[level] = previous;
                }
                break;
            }
            previous = cursor;
            cursor = self.next[thread_of(cursor)];
        }
        if self.head[level] == NONE {
            self.nonempty &= !(1 << level);
        }
        self.next[thread] = NONE;
        self.queued_at[thread] = NOT_QUEUED;
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
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut random = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
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
