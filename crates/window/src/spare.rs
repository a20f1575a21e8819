//! Releasing spare capacity. Per-rep collections have bounded lengths, but a
//! `Vec` keeps the capacity of the longest it ever was, so over months of
//! stream time each rep's memory ratchets up to its worst burst. Shrinking
//! once the capacity is more than twice the length (plus a little, so small
//! collections that come and go are left alone) keeps memory in step with
//! what is held, at the cost of an occasional reallocation. The capacity
//! kept is the length rounded up to a power of two: shrinking to the exact
//! length would make the next push double an odd size (37 to 74 instead of
//! staying at 64), which the memory benchmark showed costs more than it saves.

use std::collections::VecDeque;

/// A collection whose spare capacity can be released.
pub trait ReleaseSpare {
    /// Shrinks to the length's next power of two when more than half of the
    /// capacity is unused.
    fn release_spare(&mut self);
}

/// Whether `capacity` is worth shrinking for `len` elements.
fn wasteful(capacity: usize, len: usize) -> bool {
    capacity > 2 * len + 4
}

impl<T> ReleaseSpare for Vec<T> {
    fn release_spare(&mut self) {
        if wasteful(self.capacity(), self.len()) {
            self.shrink_to(self.len().next_power_of_two());
        }
    }
}

impl<T> ReleaseSpare for VecDeque<T> {
    fn release_spare(&mut self) {
        if wasteful(self.capacity(), self.len()) {
            self.shrink_to(self.len().next_power_of_two());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_is_released_once_it_has_passed() {
        let mut v: Vec<u64> = (0..1000).collect();
        v.truncate(10);
        v.release_spare();
        assert_eq!(v.capacity(), 16);
        assert_eq!(v, (0..10).collect::<Vec<_>>());
    }

    #[test]
    fn a_collection_in_use_keeps_its_capacity() {
        let mut v: VecDeque<u64> = VecDeque::with_capacity(16);
        v.extend(0..8);
        let before = v.capacity();
        v.release_spare();
        assert_eq!(v.capacity(), before);
    }
}
