//! [`StagingRing`]: bounded, caller-owned staging memory.
//!
//! One persistently mapped host-visible buffer used as a ring. Space handed out since the last
//! [`StagingRing::submitted`] call belongs to the submission that signals the value that call
//! names on a [`Timeline`], and comes back once [`StagingRing::reclaim`] reads that timeline's
//! counter from the device and finds the value passed: the ring never takes a caller's word that
//! the GPU is done. Nothing is ever allocated beyond the ring: an upload larger than it is split
//! into pieces across several submissions, so peak staging memory is the ring's size, whatever is
//! uploaded.
//!
//! The ring cannot be reclaimed by a number the caller makes up:
//! ```compile_fail
//! # fn f(ring: &mut vkup_staging::StagingRing) {
//! ring.reclaim(u64::MAX); // takes a `&Timeline`, whose counter it reads itself
//! # }
//! ```
//! and naming the submission that reads the spans is the one promise it takes on trust, so it
//! is `unsafe`:
//! ```compile_fail,E0133
//! # fn f(ring: &mut vkup_staging::StagingRing, timeline: &vkup_staging::Timeline) {
//! ring.submitted(timeline, 1);
//! # }
//! ```

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};

use ash::vk;
use vkup_allocator::{Allocator, BufferDesc, GpuBuffer};

use crate::error::{Error, Result};
use crate::timeline::Timeline;

/// A range of the ring handed out for one piece of an upload. Only a ring makes spans, and a
/// span remembers which ring and which allocation it is, so [`StagingRing::bytes_mut`] can refuse
/// one that belongs to another ring, that was already submitted (the GPU may be reading it), or
/// whose space was reclaimed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RingSpan {
    ring: u64,
    seq: u64,
    offset: u64,
    size: u64,
}

impl RingSpan {
    /// Offset in the ring's buffer.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// Length in bytes.
    pub fn size(&self) -> u64 {
        self.size
    }
}

/// Identifies rings, so spans cannot cross from one to another.
static NEXT_RING_ID: AtomicU64 = AtomicU64::new(1);

#[derive(Clone, Copy, Debug)]
struct Group {
    /// Where the ring's free space starts once this group is reclaimed.
    end: u64,
    /// Bytes it holds, alignment and wrap-around waste included.
    bytes: u64,
    /// The submission it belongs to.
    value: u64,
    /// The sequence number after its last span.
    end_seq: u64,
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
    /// Which ring this is, stamped on its spans.
    id: u64,
    /// Sequence number of the next span handed out.
    next_seq: u64,
    /// Spans numbered below this were reclaimed. Space comes back in the order it was handed
    /// out, so the live spans are exactly those numbered `freed_below..next_seq`.
    freed_below: u64,
    /// Spans numbered below this were submitted: the GPU may read them, so the host may no
    /// longer write them. The writable spans are those numbered `sealed_below..next_seq`.
    sealed_below: u64,
}

/// The ring's bookkeeping at one moment, to return to when a recording fails half way.
#[derive(Clone, Copy, Debug)]
struct Checkpoint {
    head: u64,
    tail: u64,
    used: u64,
    pending: u64,
    next_seq: u64,
    groups: usize,
}

impl RingAlloc {
    fn new(capacity: u64) -> Self {
        Self {
            capacity,
            id: NEXT_RING_ID.fetch_add(1, Ordering::Relaxed),
            ..Self::default()
        }
    }

    fn checkpoint(&self) -> Checkpoint {
        Checkpoint {
            head: self.head,
            tail: self.tail,
            used: self.used,
            pending: self.pending,
            next_seq: self.next_seq,
            groups: self.groups.len(),
        }
    }

    /// Forgets every span handed out since `checkpoint`. Only valid while nothing was submitted
    /// or reclaimed in between (checked: a changed group count makes this a no-op).
    fn rollback(&mut self, checkpoint: Checkpoint) {
        if checkpoint.groups != self.groups.len() || checkpoint.next_seq < self.sealed_below {
            return;
        }
        self.head = checkpoint.head;
        self.tail = checkpoint.tail;
        self.used = checkpoint.used;
        self.pending = checkpoint.pending;
        self.next_seq = checkpoint.next_seq;
    }

    /// Whether `span` is one of this ring's live spans, inside the ring.
    fn is_live(&self, span: &RingSpan) -> bool {
        span.ring == self.id
            && (self.freed_below..self.next_seq).contains(&span.seq)
            && span
                .offset
                .checked_add(span.size)
                .is_some_and(|end| end <= self.capacity)
    }

    /// Whether the host may still write `span`: live, and not yet submitted.
    fn is_writable(&self, span: &RingSpan) -> bool {
        self.is_live(span) && span.seq >= self.sealed_below
    }

    fn is_full(&self) -> bool {
        self.used > 0 && self.head == self.tail
    }

    fn alloc(&mut self, size: u64, align: u64) -> Result<Option<RingSpan>> {
        // Every span holds a byte: then space is in use exactly while spans are live, and a
        // submission group exists exactly when it holds bytes (an empty group reclaimed after
        // the ring was reset would move `tail` back into live spans).
        if size == 0 {
            return Err(Error::invalid(
                "size",
                "a ring span holds at least one byte",
            ));
        }
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
        // Checked: a huge alignment (or one past the ring) cannot be met anywhere but offset 0.
        let aligned_end = self
            .head
            .checked_next_multiple_of(align)
            .and_then(|start| Some((start, start.checked_add(size)?)));
        let at = if self.is_full() {
            None
        } else if self.head >= self.tail {
            // Free space is [head, capacity) and then [0, tail).
            match aligned_end {
                Some((start, end)) if end <= self.capacity => Some((start, start - self.head)),
                _ if size <= self.tail => Some((0, self.capacity - self.head)),
                _ => None,
            }
        } else {
            match aligned_end {
                Some((start, end)) if end <= self.tail => Some((start, start - self.head)),
                _ => None,
            }
        };
        let Some((offset, waste)) = at else {
            return Ok(None);
        };
        self.head = offset + size;
        self.used += waste + size;
        self.pending += waste + size;
        self.high_water = self.high_water.max(self.used);
        let seq = self.next_seq;
        self.next_seq += 1;
        Ok(Some(RingSpan {
            ring: self.id,
            seq,
            offset,
            size,
        }))
    }

    /// The largest run (starting at an `align`ed offset) that fits now, at most `max` bytes.
    /// Alignment applies to where the run starts, never to its length.
    fn largest_free(&self, max: u64, align: u64) -> u64 {
        let align = align.max(1);
        let contiguous = if self.used == 0 {
            self.capacity
        } else if self.is_full() {
            0
        } else {
            let start = self
                .head
                .checked_next_multiple_of(align)
                .unwrap_or(u64::MAX);
            if self.head >= self.tail {
                self.capacity.saturating_sub(start).max(self.tail)
            } else {
                self.tail.saturating_sub(start)
            }
        };
        contiguous.min(max)
    }

    fn submitted(&mut self, value: u64) {
        self.sealed_below = self.next_seq;
        if self.pending == 0 {
            return;
        }
        self.groups.push_back(Group {
            end: self.head,
            bytes: self.pending,
            value,
            end_seq: self.next_seq,
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
            self.freed_below = group.end_seq;
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
#[must_use = "a ring that is dropped leaks its buffer: destroy it once the GPU is done with it"]
pub struct StagingRing {
    buffer: GpuBuffer,
    base: *mut u8,
    state: RingAlloc,
    /// The timeline the outstanding submissions signal (see [`StagingRing::submitted`]).
    timeline: Option<u64>,
}

// SAFETY: the ring is plain data plus the address of its own persistent mapping; all access to the
// mapping goes through `&mut self`.
unsafe impl Send for StagingRing {}

impl StagingRing {
    /// Creates a ring of `capacity` bytes of upload memory.
    pub fn new(allocator: &Allocator, capacity: u64) -> Result<Self> {
        let buffer =
            allocator.create_buffer(&BufferDesc::staging(capacity).name("staging ring"))?;
        Self::from_buffer(buffer).map_err(|(err, buffer)| {
            // SAFETY: just created; nothing has used it.
            unsafe { allocator.destroy_buffer(buffer) };
            err
        })
    }

    /// Uses `buffer` (persistently mapped, with `TRANSFER_SRC` usage) as the ring. A buffer that
    /// is neither comes back with the error, so that the caller can destroy it.
    pub fn from_buffer(buffer: GpuBuffer) -> Result<Self, (Error, GpuBuffer)> {
        let Some(base) = buffer.host_access().map(|h| h.ptr) else {
            let err = Error::invalid(
                "buffer",
                "a staging ring needs a persistently mapped buffer",
            );
            return Err((err, buffer));
        };
        if !buffer.usage().contains(vk::BufferUsageFlags::TRANSFER_SRC) {
            let err = Error::MissingBufferUsage {
                needed: vk::BufferUsageFlags::TRANSFER_SRC,
            };
            return Err((err, buffer));
        }
        Ok(Self {
            state: RingAlloc::new(buffer.size()),
            base: base.as_ptr(),
            buffer,
            timeline: None,
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
    /// now (reclaim, then try again). Fails when `size` is 0 or exceeds the whole ring.
    pub fn alloc(&mut self, size: u64, align: u64) -> Result<Option<RingSpan>> {
        self.state.alloc(size, align)
    }

    /// The largest run [`StagingRing::alloc`] could hand out now at `align`, capped at `max`.
    pub(crate) fn room(&self, max: u64, align: u64) -> u64 {
        self.state.largest_free(max, align)
    }

    /// Hands out the largest run that fits now, at most `max` bytes and at least `min`.
    pub fn alloc_up_to(&mut self, max: u64, min: u64, align: u64) -> Result<Option<RingSpan>> {
        let size = self.state.largest_free(max, align);
        if size < min.max(1) {
            return Ok(None);
        }
        self.state.alloc(size, align)
    }

    /// The mapped bytes of `span`, to fill. Refuses ([`Error::StaleSpan`]) a span of another
    /// ring, one already submitted (the GPU may be reading it), or one whose space was reclaimed
    /// (the GPU may be reading it for a later span by now).
    pub fn bytes_mut(&mut self, span: RingSpan) -> Result<&mut [u8]> {
        if !self.state.is_writable(&span) {
            return Err(Error::StaleSpan);
        }
        // SAFETY: the ring's buffer is persistently mapped over its whole size (checked in
        // `from_buffer`); `is_writable` checked that the span lies inside it, that this ring
        // handed it out and has not reclaimed it (so no later span overlaps it), and that it was
        // not yet submitted (so no GPU work reads it); the `&mut self` borrow excludes other host
        // access through the ring.
        Ok(unsafe {
            std::slice::from_raw_parts_mut(self.base.add(span.offset as usize), span.size as usize)
        })
    }

    /// The mapped bytes of several spans at once, in order, to fill side by side (on several
    /// threads, say): each is checked as [`StagingRing::bytes_mut`] checks one, and a span named
    /// twice is refused, so the slices never alias.
    pub fn spans_mut(&mut self, spans: &[RingSpan]) -> Result<Vec<&mut [u8]>> {
        let mut seqs: Vec<u64> = spans.iter().map(|s| s.seq).collect();
        seqs.sort_unstable();
        if seqs.windows(2).any(|w| w[0] == w[1]) {
            return Err(Error::invalid("spans", "a span is named twice"));
        }
        if !spans.iter().all(|span| self.state.is_writable(span)) {
            return Err(Error::StaleSpan);
        }
        Ok(spans
            .iter()
            .map(|span| {
                // SAFETY: as in `bytes_mut`, for each span: inside the persistent mapping, live,
                // not submitted; live spans of one ring never overlap and none is named twice,
                // so the slices are disjoint; the `&mut self` borrow, which the slices keep,
                // excludes every other host access through the ring.
                unsafe {
                    std::slice::from_raw_parts_mut(
                        self.base.add(span.offset as usize),
                        span.size as usize,
                    )
                }
            })
            .collect())
    }

    /// Makes host writes to `span` visible to the device where the memory is not coherent.
    pub fn flush(&self, allocator: &Allocator, span: RingSpan) -> Result<()> {
        if !self.state.is_writable(&span) {
            return Err(Error::StaleSpan);
        }
        Ok(allocator.flush(&self.buffer, span.offset, span.size)?)
    }

    /// Runs `fill` (which hands out and fills spans) all or nothing: when it fails, every span
    /// it was handed is taken back, so a recording that fails half way leaves the ring as it
    /// found it.
    pub(crate) fn all_or_nothing<T>(
        &mut self,
        fill: impl FnOnce(&mut Self) -> Result<T>,
    ) -> Result<T> {
        let checkpoint = self.state.checkpoint();
        let result = fill(self);
        if result.is_err() {
            self.state.rollback(checkpoint);
        }
        result
    }

    /// Marks everything handed out since the last call as read by the submission that signals
    /// `value` on `timeline`: [`StagingRing::reclaim`] frees it once the timeline's counter
    /// reaches `value`, and from now on the host may not write it ([`StagingRing::bytes_mut`]
    /// refuses). Refuses a timeline other than the one outstanding submissions signal
    /// ([`Error::ForeignTimeline`]) and a value below an outstanding one
    /// ([`Error::TimelineRegressed`]); a refusal changes nothing.
    ///
    /// # Safety
    /// The GPU work that reads every span handed out since the last call (the copies recorded
    /// from them) completes before `timeline` reaches `value`: it is submitted to signal `value`
    /// on `timeline.raw()` (or a later value), or it has already completed, or it is never
    /// submitted. Calling this after waiting for the submission is always sound.
    pub unsafe fn submitted(&mut self, timeline: &Timeline, value: u64) -> Result<()> {
        self.check_submitted(timeline, value)?;
        if self.state.groups.is_empty() {
            self.timeline = Some(timeline.id());
        }
        self.state.submitted(value);
        Ok(())
    }

    /// What [`StagingRing::submitted`] would refuse, asked before a submission is made (a
    /// refusal after it would leave spans the GPU reads writable).
    pub(crate) fn check_submitted(&self, timeline: &Timeline, value: u64) -> Result<()> {
        let Some(last) = self.state.groups.back().map(|g| g.value) else {
            return Ok(());
        };
        if self.timeline != Some(timeline.id()) {
            return Err(Error::ForeignTimeline);
        }
        if value < last {
            return Err(Error::TimelineRegressed { value, last });
        }
        Ok(())
    }

    /// Frees the space of every submission whose value `timeline`'s counter has reached, reading
    /// the counter from the device. Refuses a timeline other than the one the outstanding
    /// submissions signal ([`Error::ForeignTimeline`]).
    pub fn reclaim(&mut self, timeline: &Timeline) -> Result<()> {
        if self.state.groups.is_empty() {
            return Ok(());
        }
        if self.timeline != Some(timeline.id()) {
            return Err(Error::ForeignTimeline);
        }
        let completed = timeline.completed()?;
        self.state.reclaim(completed);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[derive(Clone, Debug)]
    enum Op {
        Alloc { size: u64, align: u64 },
        AllocUpTo { max: u64, align: u64 },
        Submit,
        Reclaim { step: u64 },
    }

    fn op() -> impl Strategy<Value = Op> {
        let align = prop_oneof![
            Just(1u64),
            Just(4),
            Just(16),
            Just(64),
            Just(384),
            Just(u64::MAX / 3),
            Just(u64::MAX)
        ];
        prop_oneof![
            3 => (0u64..400, align.clone()).prop_map(|(size, align)| Op::Alloc { size, align }),
            3 => (1u64..400, align).prop_map(|(max, align)| Op::AllocUpTo { max, align }),
            2 => Just(Op::Submit),
            2 => (1u64..4).prop_map(|step| Op::Reclaim { step }),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4096))]

        /// Random allocations (any alignment, huge ones included), submissions and reclaims:
        /// live spans never overlap or leave the ring, reclaimed spans stop being live, and the
        /// accounting returns to zero.
        #[test]
        fn live_spans_never_overlap_and_reclaimed_ones_are_refused(
            ops in prop::collection::vec(op(), 1..400),
            capacity in 1u64..1200,
        ) {
            let mut ring = RingAlloc::new(capacity);
            let mut live: Vec<(RingSpan, u64)> = Vec::new();
            let mut dead: Vec<RingSpan> = Vec::new();
            let (mut value, mut completed) = (0u64, 0u64);
            for op in ops {
                match op {
                    Op::Alloc { size, align } | Op::AllocUpTo { max: size, align } => {
                        let span = if let Op::Alloc { .. } = op {
                            match ring.alloc(size, align) {
                                Err(Error::RingTooSmall { needed, capacity: c }) => {
                                    prop_assert!(needed > c);
                                    None
                                }
                                Err(Error::InvalidSource { field: "size", .. }) => {
                                    prop_assert_eq!(size, 0);
                                    None
                                }
                                other => other.unwrap(),
                            }
                        } else {
                            let fit = ring.largest_free(size, align);
                            (fit > 0).then(|| ring.alloc(fit, align).unwrap().expect("largest_free fits"))
                        };
                        if let Some(span) = span {
                            prop_assert_eq!(span.offset % align.max(1), 0);
                            prop_assert!(span.offset + span.size <= capacity);
                            prop_assert!(ring.is_live(&span));
                            for (other, _) in &live {
                                let disjoint = span.offset + span.size <= other.offset
                                    || other.offset + other.size <= span.offset;
                                prop_assert!(disjoint, "{:?} overlaps {:?}", span, other);
                            }
                            live.push((span, u64::MAX));
                        }
                    }
                    Op::Submit => {
                        value += 1;
                        ring.submitted(value);
                        for (_, v) in live.iter_mut().filter(|(_, v)| *v == u64::MAX) {
                            *v = value;
                        }
                    }
                    Op::Reclaim { step } => {
                        completed = (completed + step).min(value);
                        ring.reclaim(completed);
                        let (gone, kept): (Vec<_>, Vec<_>) =
                            live.into_iter().partition(|(_, v)| *v <= completed);
                        dead.extend(gone.into_iter().map(|(span, _)| span));
                        live = kept;
                    }
                }
                prop_assert!(ring.used <= capacity);
                for (span, v) in &live {
                    // Only what was not yet submitted may still be written by the host.
                    prop_assert_eq!(ring.is_writable(span), *v == u64::MAX);
                }
                for span in &dead {
                    prop_assert!(!ring.is_live(span), "reclaimed {:?} still live", span);
                }
            }
            value += 1;
            ring.submitted(value);
            ring.reclaim(value);
            prop_assert_eq!(ring.used, 0);
            prop_assert!(ring.high_water <= capacity);
        }
    }

    /// Found by the property test on the H200 run (another seed): a zero-byte span made an
    /// empty submission group; reclaimed after the ring had emptied and been reset, it moved
    /// `tail` back to its stale end, inside a live span, and the next span overlapped it.
    #[test]
    fn zero_byte_spans_are_refused_so_no_empty_group_can_move_the_tail() {
        let mut ring = RingAlloc::new(2);
        ring.alloc(1, 1).unwrap().unwrap();
        ring.submitted(2);
        assert!(matches!(
            ring.alloc(0, 1),
            Err(Error::InvalidSource { field: "size", .. })
        ));
        ring.submitted(3);
        ring.reclaim(2);
        let live = ring.alloc(2, 1).unwrap().unwrap();
        ring.reclaim(3);
        assert_eq!(ring.largest_free(1, 1), 0, "the ring is full");
        assert!(ring.is_live(&live));
        assert_eq!(ring.alloc(1, 1).unwrap(), None);
    }

    #[test]
    fn a_huge_alignment_after_an_allocation_wraps_or_waits_instead_of_overflowing() {
        let mut ring = RingAlloc::new(1000);
        let first = ring.alloc(10, 1).unwrap().unwrap();
        assert_eq!(ring.alloc(10, u64::MAX).unwrap(), None, "offset 0 is taken");
        assert_eq!(ring.largest_free(10, u64::MAX), 0);
        ring.submitted(1);
        ring.reclaim(1);
        assert!(!ring.is_live(&first));
        let span = ring.alloc(10, u64::MAX).unwrap().unwrap();
        assert_eq!((span.offset, span.size), (0, 10));
    }

    #[test]
    fn a_submitted_span_is_live_but_no_longer_writable_and_rollback_cannot_revive_it() {
        let mut ring = RingAlloc::new(100);
        let checkpoint = ring.checkpoint();
        let span = ring.alloc(10, 1).unwrap().unwrap();
        assert!(ring.is_writable(&span));
        ring.submitted(1);
        assert!(ring.is_live(&span) && !ring.is_writable(&span));
        ring.rollback(checkpoint);
        assert!(
            ring.is_live(&span),
            "a rollback across a submission is refused"
        );
        let next = ring.alloc(10, 1).unwrap().unwrap();
        assert_ne!(next.offset, span.offset);
    }

    #[test]
    fn spans_of_another_ring_or_forged_ones_are_not_live() {
        let mut a = RingAlloc::new(100);
        let b = RingAlloc::new(100);
        let span = a.alloc(10, 1).unwrap().unwrap();
        assert!(a.is_live(&span));
        assert!(!b.is_live(&span));
        let forged = RingSpan {
            offset: u64::MAX,
            ..span
        };
        assert!(!a.is_live(&forged));
        let past_end = RingSpan { size: 200, ..span };
        assert!(!a.is_live(&past_end));
    }

    #[test]
    fn rollback_takes_back_what_was_handed_out_since_the_checkpoint() {
        let mut ring = RingAlloc::new(100);
        let kept = ring.alloc(10, 1).unwrap().unwrap();
        let checkpoint = ring.checkpoint();
        let dropped = ring.alloc(50, 16).unwrap().unwrap();
        ring.rollback(checkpoint);
        assert_eq!((ring.used, ring.pending, ring.head), (10, 10, 10));
        assert!(ring.is_live(&kept));
        assert!(!ring.is_live(&dropped));
        let again = ring.alloc(50, 16).unwrap().unwrap();
        assert_eq!(again.offset, dropped.offset);
    }

    #[test]
    fn a_tail_shorter_than_the_alignment_is_still_handed_out() {
        let mut ring = RingAlloc::new(1000);
        assert_eq!(ring.largest_free(1, 16), 1);
        let span = ring.alloc(1, 16).unwrap().unwrap();
        assert_eq!((span.offset, span.size), (0, 1));
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
        let span = ring.alloc(60, 1).unwrap().unwrap();
        assert_eq!((span.offset, span.size), (0, 60));
    }
}
