//! [`StagingRing`]: bounded, caller-owned staging memory.
//!
//! One persistently mapped host-visible buffer used as a ring. Space handed out since the last
//! [`StagingRing::submitted`] call belongs to the submission the caller names by a number (a
//! timeline semaphore value, or any increasing number the caller ties to a fence) and comes back
//! once [`StagingRing::reclaim`] hears that number has passed. Nothing is ever allocated beyond
//! the ring: an upload larger than it is split into pieces across several submissions, so peak
//! staging memory is the ring's size, whatever is uploaded.

use std::collections::VecDeque;

use allocator::{Allocator, BufferDesc, GpuBuffer};
use ash::vk;

use crate::error::{Error, Result};

/// A range of the ring handed out for one piece of an upload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RingSpan {
    /// Offset in the ring's buffer.
    pub offset: u64,
    /// Length in bytes.
    pub size: u64,
}

#[derive(Clone, Copy, Debug)]
struct Group {
    /// Where the ring's free space starts once this group is reclaimed.
    end: u64,
    /// Bytes it holds, alignment and wrap-around waste included.
    bytes: u64,
    /// The submission it belongs to.
    value: u64,
}

/// The ring's bookkeeping, apart from its memory: pure, and tested on its own.
#[derive(Debug, Default)]
struct RingAlloc {
    capacity: u64,
    /// Next free byte.
    head: u64,
    /// First byte still in use.
    tail: u64,
    /// Bytes in use, waste included; `head == tail` is empty when 0 and full otherwise.
    used: u64,
    /// Bytes handed out since the last `submitted`.
    pending: u64,
    groups: VecDeque<Group>,
    high_water: u64,
}

impl RingAlloc {
    fn new(capacity: u64) -> Self {
        Self {
            capacity,
            ..Self::default()
        }
    }

    fn is_full(&self) -> bool {
        self.used > 0 && self.head == self.tail
    }

    fn alloc(&mut self, size: u64, align: u64) -> Result<Option<RingSpan>> {
        if size > self.capacity {
            return Err(Error::RingTooSmall {
                needed: size,
                capacity: self.capacity,
            });
        }
        if self.used == 0 {
            self.head = 0;
            self.tail = 0;
        }
        let align = align.max(1);
        let start = self.head.next_multiple_of(align);
        let at = if self.is_full() {
            None
        } else if self.head >= self.tail {
            // Free space is [head, capacity) and then [0, tail).
            if start + size <= self.capacity {
                Some((start, start - self.head))
            } else if size <= self.tail {
                Some((0, self.capacity - self.head))
            } else {
                None
            }
        } else if start + size <= self.tail {
            Some((start, start - self.head))
        } else {
            None
        };
        let Some((offset, waste)) = at else {
            return Ok(None);
        };
        self.head = offset + size;
        self.used += waste + size;
        self.pending += waste + size;
        self.high_water = self.high_water.max(self.used);
        Ok(Some(RingSpan { offset, size }))
    }

    /// The largest run (starting at an `align`ed offset) that fits now, at most `max` bytes.
    /// Alignment applies to where the run starts, never to its length.
    fn largest_free(&self, max: u64, align: u64) -> u64 {
        let align = align.max(1);
        let contiguous = if self.used == 0 {
            self.capacity
        } else if self.is_full() {
            0
        } else if self.head >= self.tail {
            let end = self
                .capacity
                .saturating_sub(self.head.next_multiple_of(align));
            end.max(self.tail)
        } else {
            self.tail.saturating_sub(self.head.next_multiple_of(align))
        };
        contiguous.min(max)
    }

    fn submitted(&mut self, value: u64) {
        if self.pending == 0 {
            return;
        }
        self.groups.push_back(Group {
            end: self.head,
            bytes: self.pending,
            value,
        });
        self.pending = 0;
    }

    fn reclaim(&mut self, completed: u64) {
        while let Some(group) = self.groups.front().copied() {
            if group.value > completed {
                break;
            }
            self.groups.pop_front();
            self.used -= group.bytes;
            self.tail = group.end;
        }
        if self.used == 0 {
            self.head = 0;
            self.tail = 0;
        }
    }
}

/// A ring of persistently mapped staging memory. Owned by the caller; destroy it with
/// [`StagingRing::destroy`] once the GPU is done with it.
#[derive(Debug)]
pub struct StagingRing {
    buffer: GpuBuffer,
    base: *mut u8,
    state: RingAlloc,
}

// SAFETY: the ring is plain data plus the address of its own persistent mapping; all access to the
// mapping goes through `&mut self`.
unsafe impl Send for StagingRing {}

impl StagingRing {
    /// Creates a ring of `capacity` bytes of upload memory.
    pub fn new(allocator: &Allocator, capacity: u64) -> Result<Self> {
        let buffer =
            allocator.create_buffer(&BufferDesc::staging(capacity).name("staging ring"))?;
        Self::from_buffer(buffer)
    }

    /// Uses `buffer` (persistently mapped, with `TRANSFER_SRC` usage) as the ring.
    pub fn from_buffer(buffer: GpuBuffer) -> Result<Self> {
        let Some(base) = buffer.mapped_ptr() else {
            return Err(Error::invalid(
                "buffer",
                "a staging ring needs a persistently mapped buffer",
            ));
        };
        if !buffer.usage().contains(vk::BufferUsageFlags::TRANSFER_SRC) {
            return Err(Error::MissingUsage {
                needed: "TRANSFER_SRC",
            });
        }
        Ok(Self {
            state: RingAlloc::new(buffer.size()),
            base: base.as_ptr(),
            buffer,
        })
    }

    /// Destroys the ring's buffer.
    ///
    /// # Safety
    /// No pending GPU work reads from the ring (every submitted value has passed), and `allocator`
    /// is the one that created it.
    pub unsafe fn destroy(self, allocator: &Allocator) {
        // SAFETY: forwarded from this function's contract.
        unsafe { allocator.destroy_buffer(self.buffer) };
    }

    /// The ring's buffer (the source of the copies recorded from it).
    pub fn buffer(&self) -> &GpuBuffer {
        &self.buffer
    }

    /// Capacity in bytes.
    pub fn capacity(&self) -> u64 {
        self.state.capacity
    }

    /// Bytes in use now (handed out and not yet reclaimed, alignment waste included).
    pub fn in_use(&self) -> u64 {
        self.state.used
    }

    /// The most bytes ever in use at once.
    pub fn high_water(&self) -> u64 {
        self.state.high_water
    }

    /// Whether space was handed out since the last [`StagingRing::submitted`].
    pub fn has_pending(&self) -> bool {
        self.state.pending > 0
    }

    /// The oldest submitted value still holding space, if any: wait for it to free space.
    pub fn oldest_value(&self) -> Option<u64> {
        self.state.groups.front().map(|g| g.value)
    }

    /// Hands out `size` bytes aligned to `align`, or `None` when the free space cannot hold them
    /// now (reclaim, then try again). Fails when `size` exceeds the whole ring.
    pub fn alloc(&mut self, size: u64, align: u64) -> Result<Option<RingSpan>> {
        self.state.alloc(size, align)
    }

    /// Hands out the largest run that fits now, at most `max` bytes and at least `min`.
    pub fn alloc_up_to(&mut self, max: u64, min: u64, align: u64) -> Result<Option<RingSpan>> {
        let size = self.state.largest_free(max, align);
        if size < min.max(1) {
            return Ok(None);
        }
        self.state.alloc(size, align)
    }

    /// The mapped bytes of `span`, to fill.
    pub fn bytes_mut(&mut self, span: RingSpan) -> &mut [u8] {
        if span.offset + span.size > self.state.capacity {
            return &mut [];
        }
        // SAFETY: the ring's buffer is persistently mapped over its whole size (checked in
        // `from_buffer`); the span lies inside it, was handed out by this ring and is not handed
        // out again until reclaimed, and the `&mut self` borrow excludes other host access.
        unsafe {
            std::slice::from_raw_parts_mut(self.base.add(span.offset as usize), span.size as usize)
        }
    }

    /// Makes host writes to `span` visible to the device where the memory is not coherent.
    pub fn flush(&self, allocator: &Allocator, span: RingSpan) -> Result<()> {
        Ok(allocator.flush(&self.buffer, span.offset, span.size)?)
    }

    /// Marks everything handed out since the last call as used by the submission `value`.
    pub fn submitted(&mut self, value: u64) {
        self.state.submitted(value);
    }

    /// Frees the space of every submission whose value is at most `completed`.
    pub fn reclaim(&mut self, completed: u64) {
        self.state.reclaim(completed);
    }

    /// Reclaims up to the current value of the timeline `semaphore`.
    ///
    /// # Safety
    /// `semaphore` is a live timeline semaphore of `device`, the one whose values the caller
    /// passes to [`StagingRing::submitted`].
    pub unsafe fn reclaim_timeline(
        &mut self,
        device: &ash::Device,
        semaphore: vk::Semaphore,
    ) -> Result<()> {
        // SAFETY: forwarded from this function's contract.
        let value = unsafe { device.get_semaphore_counter_value(semaphore) }?;
        self.reclaim(value);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Random allocations, submissions and reclaims: live spans never overlap or leave the ring,
    /// and the accounting returns to zero.
    #[test]
    fn random_alloc_submit_reclaim_never_overlaps_live_spans() {
        let capacity = 1000;
        let mut ring = RingAlloc::new(capacity);
        let mut live: Vec<(RingSpan, u64)> = Vec::new();
        let (mut value, mut completed) = (0u64, 0u64);
        let mut seed = 0x1234_5678_9ABC_DEF1u64;
        let mut rand = move |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n
        };
        let mut handed = 0;
        for _ in 0..100_000 {
            match rand(10) {
                0..=5 => {
                    let align = [1, 4, 16, 64, 384][rand(5) as usize];
                    let span = if rand(2) == 0 {
                        ring.alloc(1 + rand(300), align).unwrap()
                    } else {
                        let size = ring.largest_free(300, align);
                        if size == 0 {
                            None
                        } else {
                            Some(ring.alloc(size, align).unwrap().expect("largest_free fits"))
                        }
                    };
                    if let Some(span) = span {
                        handed += 1;
                        assert_eq!(span.offset % align, 0);
                        assert!(span.offset + span.size <= capacity);
                        for (other, _) in &live {
                            let disjoint = span.offset + span.size <= other.offset
                                || other.offset + other.size <= span.offset;
                            assert!(disjoint, "{span:?} overlaps {other:?}");
                        }
                        live.push((span, u64::MAX));
                    }
                }
                6..=7 => {
                    value += 1;
                    ring.submitted(value);
                    for (_, v) in live.iter_mut().filter(|(_, v)| *v == u64::MAX) {
                        *v = value;
                    }
                }
                _ => {
                    completed = (completed + 1 + rand(3)).min(value);
                    ring.reclaim(completed);
                    live.retain(|(_, v)| *v > completed);
                }
            }
            assert!(ring.used <= capacity);
        }
        assert!(
            handed > 10_000,
            "the ring must keep handing out space: {handed}"
        );
        value += 1;
        ring.submitted(value);
        ring.reclaim(value);
        assert_eq!(ring.used, 0);
        assert!(ring.high_water <= capacity);
    }

    #[test]
    fn a_tail_shorter_than_the_alignment_is_still_handed_out() {
        let mut ring = RingAlloc::new(1000);
        assert_eq!(ring.largest_free(1, 16), 1);
        assert_eq!(
            ring.alloc(1, 16).unwrap(),
            Some(RingSpan { offset: 0, size: 1 })
        );
        assert_eq!(ring.largest_free(5, 16), 5);
    }

    #[test]
    fn larger_than_the_ring_is_an_error_and_a_full_ring_says_none() {
        let mut ring = RingAlloc::new(100);
        assert!(matches!(
            ring.alloc(101, 1),
            Err(Error::RingTooSmall {
                needed: 101,
                capacity: 100
            })
        ));
        assert!(ring.alloc(100, 1).unwrap().is_some());
        assert_eq!(ring.alloc(1, 1).unwrap(), None);
        assert_eq!(ring.largest_free(50, 1), 0);
        ring.submitted(1);
        ring.reclaim(1);
        assert_eq!(
            ring.alloc(60, 1).unwrap(),
            Some(RingSpan {
                offset: 0,
                size: 60
            })
        );
    }
}
