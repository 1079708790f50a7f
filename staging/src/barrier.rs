//! Barrier batches: collect buffer and image barriers between resource states, emit one
//! `vkCmdPipelineBarrier2`.
//!
//! The rules, from the synchronization chapter of the Vulkan spec:
//! - a read after the same read needs nothing, unless the image layout changes; a read by another
//!   stage or access still needs a barrier: the write before the first read was made visible to
//!   that read only, and the barrier (source: the first read's stage, no source access) chains the
//!   earlier write's availability to the new read (found by synchronization validation:
//!   SYNC-HAZARD-READ-AFTER-WRITE on a vertex buffer read back by a copy);
//! - anything involving a write needs an execution and memory dependency; a read before a write
//!   needs only the execution dependency (there is nothing to make available), so its source
//!   access mask is empty;
//! - a change of owning queue family is a release recorded on the old family's queue and an
//!   acquire recorded on the new one, both naming the same families and layouts
//!   (VUID-vkCmdPipelineBarrier2-srcQueueFamilyIndex-*); the release has no destination
//!   stage/access and the acquire no source stage/access.

use ash::vk;

use crate::access::{Access, ResourceState};
use crate::error::{Error, ResourceKind, Result};

/// Which half of a barrier a batch records.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Half {
    /// An ordinary barrier, or both halves on a queue that needs no transfer.
    Whole,
    /// The release half, recorded on the source queue.
    Release,
    /// The acquire half, recorded on the destination queue.
    Acquire,
}

/// Masks and layouts of one barrier, before it is attached to a resource.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BarrierMasks {
    /// Source stages.
    pub src_stage: vk::PipelineStageFlags2,
    /// Source accesses.
    pub src_access: vk::AccessFlags2,
    /// Destination stages.
    pub dst_stage: vk::PipelineStageFlags2,
    /// Destination accesses.
    pub dst_access: vk::AccessFlags2,
    /// Layout before (images only).
    pub old_layout: vk::ImageLayout,
    /// Layout after (images only).
    pub new_layout: vk::ImageLayout,
    /// Source queue family (`QUEUE_FAMILY_IGNORED` when ownership does not move).
    pub src_queue_family: u32,
    /// Destination queue family.
    pub dst_queue_family: u32,
}

/// The half an acquiring queue records: the acquire where ownership moves, the whole barrier
/// where it does not.
fn acquire_half(from: ResourceState, to: ResourceState) -> Half {
    if from.transfers_ownership_to(to) {
        Half::Acquire
    } else {
        Half::Whole
    }
}

fn masks(from: ResourceState, to: ResourceState, half: Half, image: bool) -> Option<BarrierMasks> {
    let (f, t) = (from.accesses.info(), to.accesses.info());
    let transfer = from.transfers_ownership_to(to);
    let layout_change = image && f.layout != t.layout;
    let same_read = from.accesses == to.accesses || from.accesses.is_nothing();
    if !transfer
        && !layout_change
        && !from.accesses.is_write()
        && !to.accesses.is_write()
        && same_read
    {
        return None;
    }
    // Nothing to wait for and nothing to change: a barrier whose first scope is empty orders
    // nothing (a buffer's first use, say), so it is left out.
    if !transfer && !layout_change && f.stage == vk::PipelineStageFlags2::NONE {
        return None;
    }
    let mut m = BarrierMasks {
        src_stage: f.stage,
        // Reads have nothing to make available: an execution dependency is enough. Of a set,
        // only the members that write have something to make available.
        src_access: from
            .accesses
            .iter()
            .filter(|a| a.is_write())
            .fold(vk::AccessFlags2::NONE, |mask, a| mask | a.info().access),
        dst_stage: t.stage,
        dst_access: t.access,
        old_layout: if image {
            f.layout
        } else {
            vk::ImageLayout::UNDEFINED
        },
        new_layout: if image {
            t.layout
        } else {
            vk::ImageLayout::UNDEFINED
        },
        src_queue_family: vk::QUEUE_FAMILY_IGNORED,
        dst_queue_family: vk::QUEUE_FAMILY_IGNORED,
    };
    if transfer {
        m.src_queue_family = from.queue_family;
        m.dst_queue_family = to.queue_family;
        match half {
            Half::Release => {
                m.dst_stage = vk::PipelineStageFlags2::NONE;
                m.dst_access = vk::AccessFlags2::NONE;
            }
            Half::Acquire => {
                m.src_stage = vk::PipelineStageFlags2::NONE;
                m.src_access = vk::AccessFlags2::NONE;
            }
            Half::Whole => {}
        }
    }
    Some(m)
}

/// Masks of the barrier from `from` to `to` for a buffer, or `None` when none is needed. A pure
/// function of the two states, for tests and for callers with their own batching.
pub fn buffer_masks(from: ResourceState, to: ResourceState) -> Option<BarrierMasks> {
    masks(from, to, Half::Whole, false)
}

/// Masks of the barrier from `from` to `to` for an image, or `None` when none is needed.
pub fn image_masks(from: ResourceState, to: ResourceState) -> Option<BarrierMasks> {
    masks(from, to, Half::Whole, true)
}

/// Masks of the first use, in state `to`, of a resource placed in memory that other resources
/// (or earlier frames of this one) used before: `previous` is the last access of each of them.
///
/// Aliased memory holds no contents worth keeping, so the layout goes from `UNDEFINED`; but the
/// bytes may still be read or written by those earlier accesses, so the barrier waits for all
/// their stages and makes their writes available (Vulkan spec, "Memory Aliasing": a resource
/// that takes over aliased memory needs a dependency on the accesses to the one it replaces,
/// like any write-after-write or write-after-read on the same bytes). An empty `previous` (the
/// memory was never used) gives a barrier with no source scope, needed only for the layout.
pub fn aliased_masks(
    previous: impl IntoIterator<Item = Access>,
    to: ResourceState,
    image: bool,
) -> BarrierMasks {
    let (mut src_stage, mut src_access) = (vk::PipelineStageFlags2::NONE, vk::AccessFlags2::NONE);
    for access in previous {
        let info = access.info();
        src_stage |= info.stage;
        if access.is_write() {
            src_access |= info.access;
        }
    }
    let t = to.accesses.info();
    BarrierMasks {
        src_stage,
        src_access,
        dst_stage: t.stage,
        dst_access: t.access,
        old_layout: vk::ImageLayout::UNDEFINED,
        new_layout: if image {
            t.layout
        } else {
            vk::ImageLayout::UNDEFINED
        },
        src_queue_family: vk::QUEUE_FAMILY_IGNORED,
        dst_queue_family: vk::QUEUE_FAMILY_IGNORED,
    }
}

/// Buffer and image barriers gathered for one `vkCmdPipelineBarrier2`.
#[derive(Clone, Debug, Default)]
pub struct BarrierBatch {
    buffers: Vec<vk::BufferMemoryBarrier2<'static>>,
    images: Vec<vk::ImageMemoryBarrier2<'static>>,
    /// What the uploads begun into this batch write until the batch is recorded: two of them
    /// writing the same bytes would race, with no barrier between their copies.
    writes: Vec<Write>,
}

/// A range an upload begun into a batch writes.
#[derive(Clone, Copy, Debug)]
enum Write {
    Buffer {
        buffer: vk::Buffer,
        start: u64,
        end: u64,
    },
    Image {
        image: vk::Image,
        range: vk::ImageSubresourceRange,
    },
}

/// Whether `a..a + a_count` and `b..b + b_count` share an element (counts may be the
/// `VK_REMAINING_*` value, `u32::MAX`: to the end).
fn spans_meet(a: u32, a_count: u32, b: u32, b_count: u32) -> bool {
    let end = |base: u32, count: u32| u64::from(base) + u64::from(count);
    u64::from(a) < end(b, b_count) && u64::from(b) < end(a, a_count)
}

fn ranges_meet(a: &vk::ImageSubresourceRange, b: &vk::ImageSubresourceRange) -> bool {
    a.aspect_mask.intersects(b.aspect_mask)
        && spans_meet(
            a.base_mip_level,
            a.level_count,
            b.base_mip_level,
            b.level_count,
        )
        && spans_meet(
            a.base_array_layer,
            a.layer_count,
            b.base_array_layer,
            b.layer_count,
        )
}

// SAFETY: the barriers hold only plain handles and values; their `p_next` is always null here.
unsafe impl Send for BarrierBatch {}
// SAFETY: as above.
unsafe impl Sync for BarrierBatch {}

impl BarrierBatch {
    /// An empty batch.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether nothing was added.
    pub fn is_empty(&self) -> bool {
        self.buffers.is_empty() && self.images.is_empty()
    }

    /// The buffer barriers gathered so far.
    pub fn buffer_barriers(&self) -> &[vk::BufferMemoryBarrier2<'static>] {
        &self.buffers
    }

    /// The image barriers gathered so far.
    pub fn image_barriers(&self) -> &[vk::ImageMemoryBarrier2<'static>] {
        &self.images
    }

    fn push_buffer(&mut self, buffer: vk::Buffer, offset: u64, size: u64, m: BarrierMasks) {
        self.buffers.push(
            vk::BufferMemoryBarrier2::default()
                .src_stage_mask(m.src_stage)
                .src_access_mask(m.src_access)
                .dst_stage_mask(m.dst_stage)
                .dst_access_mask(m.dst_access)
                .src_queue_family_index(m.src_queue_family)
                .dst_queue_family_index(m.dst_queue_family)
                .buffer(buffer)
                .offset(offset)
                .size(size),
        );
    }

    fn push_image(&mut self, image: vk::Image, range: vk::ImageSubresourceRange, m: BarrierMasks) {
        self.images.push(
            vk::ImageMemoryBarrier2::default()
                .src_stage_mask(m.src_stage)
                .src_access_mask(m.src_access)
                .dst_stage_mask(m.dst_stage)
                .dst_access_mask(m.dst_access)
                .old_layout(m.old_layout)
                .new_layout(m.new_layout)
                .src_queue_family_index(m.src_queue_family)
                .dst_queue_family_index(m.dst_queue_family)
                .image(image)
                .subresource_range(range),
        );
    }

    /// Adds what `buffer[offset..offset + size]` needs to go from `from` to `to` on one queue.
    /// When ownership moves, this is the release half; the acquire half goes to `acquire`.
    pub fn buffer(
        &mut self,
        buffer: vk::Buffer,
        offset: u64,
        size: u64,
        from: ResourceState,
        to: ResourceState,
        acquire: &mut BarrierBatch,
    ) {
        if from.transfers_ownership_to(to) {
            if let Some(m) = masks(from, to, Half::Release, false) {
                self.push_buffer(buffer, offset, size, m);
            }
            if let Some(m) = masks(from, to, Half::Acquire, false) {
                acquire.push_buffer(buffer, offset, size, m);
            }
        } else if let Some(m) = masks(from, to, Half::Whole, false) {
            self.push_buffer(buffer, offset, size, m);
        }
    }

    /// Adds what `range` of `image` needs to go from `from` to `to`. When ownership moves, this is
    /// the release half; the acquire half goes to `acquire`.
    pub fn image(
        &mut self,
        image: vk::Image,
        range: vk::ImageSubresourceRange,
        from: ResourceState,
        to: ResourceState,
        acquire: &mut BarrierBatch,
    ) {
        if from.transfers_ownership_to(to) {
            if let Some(m) = masks(from, to, Half::Release, true) {
                self.push_image(image, range, m);
            }
            if let Some(m) = masks(from, to, Half::Acquire, true) {
                acquire.push_image(image, range, m);
            }
        } else if let Some(m) = masks(from, to, Half::Whole, true) {
            self.push_image(image, range, m);
        }
    }

    /// Adds only the acquire half of moving `buffer[offset..offset + size]` from `from` to `to`,
    /// for a resource whose release another queue recorded (nothing when no family changes
    /// hands: then it is the barrier of [`BarrierBatch::buffer_local`]).
    pub fn acquire_buffer(
        &mut self,
        buffer: vk::Buffer,
        offset: u64,
        size: u64,
        from: ResourceState,
        to: ResourceState,
    ) {
        if let Some(m) = masks(from, to, acquire_half(from, to), false) {
            self.push_buffer(buffer, offset, size, m);
        }
    }

    /// Adds only the acquire half of moving `range` of `image` from `from` to `to` (see
    /// [`BarrierBatch::acquire_buffer`]).
    pub fn acquire_image(
        &mut self,
        image: vk::Image,
        range: vk::ImageSubresourceRange,
        from: ResourceState,
        to: ResourceState,
    ) {
        if let Some(m) = masks(from, to, acquire_half(from, to), true) {
            self.push_image(image, range, m);
        }
    }

    /// Adds an execution and memory dependency between two states for a buffer on one queue,
    /// where no ownership moves (the common case).
    pub fn buffer_local(
        &mut self,
        buffer: vk::Buffer,
        offset: u64,
        size: u64,
        from: ResourceState,
        to: ResourceState,
    ) {
        if let Some(m) = masks(from, to, Half::Whole, false) {
            self.push_buffer(buffer, offset, size, m);
        }
    }

    /// Adds a layout transition and dependency for an image on one queue.
    pub fn image_local(
        &mut self,
        image: vk::Image,
        range: vk::ImageSubresourceRange,
        from: ResourceState,
        to: ResourceState,
    ) {
        if let Some(m) = masks(from, to, Half::Whole, true) {
            self.push_image(image, range, m);
        }
    }

    /// Adds the first use of `range` of an image that takes over aliased memory, discarding its
    /// contents (see [`aliased_masks`]; `previous` are the last accesses of the resources that
    /// used the same bytes before it, itself in an earlier frame included).
    pub fn image_over_aliases(
        &mut self,
        image: vk::Image,
        range: vk::ImageSubresourceRange,
        previous: impl IntoIterator<Item = Access>,
        to: ResourceState,
    ) {
        self.push_image(image, range, aliased_masks(previous, to, true));
    }

    /// Adds the first use of a buffer that takes over aliased memory (see [`aliased_masks`]).
    pub fn buffer_over_aliases(
        &mut self,
        buffer: vk::Buffer,
        offset: u64,
        size: u64,
        previous: impl IntoIterator<Item = Access>,
        to: ResourceState,
    ) {
        self.push_buffer(buffer, offset, size, aliased_masks(previous, to, false));
    }

    /// Adds an image barrier built by hand. Its `p_next` chain is dropped: a batch holds plain
    /// values only, which is what lets it be `Send` and `Sync`.
    pub fn push_raw_image(&mut self, barrier: vk::ImageMemoryBarrier2<'static>) {
        let mut barrier = barrier;
        barrier.p_next = std::ptr::null();
        self.images.push(barrier);
    }

    /// Moves every barrier of `other` into this batch.
    pub fn append(&mut self, other: &mut BarrierBatch) {
        self.buffers.append(&mut other.buffers);
        self.images.append(&mut other.images);
        self.writes.append(&mut other.writes);
    }

    /// Notes that an upload begun into this batch writes `start..end` of `buffer`, refusing
    /// ([`Error::Overlap`]) bytes another upload begun into it writes.
    pub(crate) fn claim_buffer(&mut self, buffer: vk::Buffer, start: u64, end: u64) -> Result<()> {
        let taken = self.writes.iter().any(|w| {
            matches!(*w, Write::Buffer { buffer: b, start: s, end: e }
                if b == buffer && s < end && start < e)
        });
        if taken {
            return Err(Error::Overlap {
                kind: ResourceKind::Buffer,
            });
        }
        self.writes.push(Write::Buffer { buffer, start, end });
        Ok(())
    }

    /// Notes that an upload begun into this batch moves `ranges` of `image` into a transfer
    /// write, refusing ([`Error::Overlap`]) subresources another upload begun into it moves.
    pub(crate) fn claim_image(
        &mut self,
        image: vk::Image,
        ranges: &[vk::ImageSubresourceRange],
    ) -> Result<()> {
        let taken = self.writes.iter().any(|w| {
            matches!(w, Write::Image { image: i, range }
                if *i == image && ranges.iter().any(|r| ranges_meet(r, range)))
        });
        if taken {
            return Err(Error::Overlap {
                kind: ResourceKind::Image,
            });
        }
        self.writes
            .extend(ranges.iter().map(|&range| Write::Image { image, range }));
        Ok(())
    }

    /// Records the batch as one `vkCmdPipelineBarrier2` (nothing when empty) and empties it.
    ///
    /// # Safety
    /// `cmd` is in the recording state on `device`, on a queue family that supports the stages
    /// named; every resource in the batch is alive until the command buffer completes. Barriers
    /// the caller added itself (every `pub` method that takes a raw handle) name resources of
    /// `device`, ranges inside them and queue families the device has: nothing checks those.
    /// Barriers this crate's uploads, readbacks and mip generators added were checked against
    /// their targets when added.
    pub unsafe fn record(&mut self, cmd: vk::CommandBuffer, device: &ash::Device) {
        self.writes.clear();
        if self.is_empty() {
            return;
        }
        let info = vk::DependencyInfo::default()
            .buffer_memory_barriers(&self.buffers)
            .image_memory_barriers(&self.images);
        // SAFETY: forwarded from this function's contract; the barrier arrays live for the call.
        unsafe { device.cmd_pipeline_barrier2(cmd, &info) };
        self.buffers.clear();
        self.images.clear();
    }
}

/// The ranges covering exactly `subs` ((level, layer) pairs): per level one range per run of
/// consecutive layers, then consecutive levels with the same layer runs merged.
pub(crate) fn ranges_covering(
    aspect: vk::ImageAspectFlags,
    subs: &[(u32, u32)],
) -> Vec<vk::ImageSubresourceRange> {
    let mut sorted = subs.to_vec();
    sorted.sort_unstable();
    let mut runs: Vec<vk::ImageSubresourceRange> = Vec::new();
    for (level, layer) in sorted {
        if let Some(last) = runs.last_mut() {
            if last.base_mip_level == level && last.base_array_layer + last.layer_count == layer {
                last.layer_count += 1;
                continue;
            }
        }
        runs.push(vk::ImageSubresourceRange {
            aspect_mask: aspect,
            base_mip_level: level,
            level_count: 1,
            base_array_layer: layer,
            layer_count: 1,
        });
    }
    let mut merged: Vec<vk::ImageSubresourceRange> = Vec::new();
    for run in runs {
        let joined = merged.iter_mut().rev().find(|m| {
            m.base_array_layer == run.base_array_layer
                && m.layer_count == run.layer_count
                && m.base_mip_level + m.level_count == run.base_mip_level
        });
        match joined {
            Some(m) => m.level_count += 1,
            None => merged.push(run),
        }
    }
    merged
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(access: Access) -> ResourceState {
        ResourceState::new(access)
    }

    #[test]
    fn only_the_same_read_needs_no_barrier() {
        assert_eq!(
            buffer_masks(state(Access::VertexBuffer), state(Access::VertexBuffer)),
            None
        );
        assert_eq!(
            buffer_masks(ResourceState::UNDEFINED, state(Access::VertexBuffer)),
            None
        );
        let chain = buffer_masks(state(Access::VertexBuffer), state(Access::TransferRead)).unwrap();
        assert_eq!(
            chain.src_stage,
            vk::PipelineStageFlags2::VERTEX_ATTRIBUTE_INPUT
        );
        assert_eq!(chain.src_access, vk::AccessFlags2::NONE);
        assert_eq!(chain.dst_access, vk::AccessFlags2::TRANSFER_READ);
    }

    /// Nothing came before: a buffer needs no barrier before its first write (the first scope
    /// would be empty), while an image still needs its layout transition, and an ownership
    /// transfer still needs both halves.
    #[test]
    fn a_first_write_needs_a_barrier_only_for_a_layout_or_an_owner() {
        let write = state(Access::TransferWrite);
        assert_eq!(buffer_masks(ResourceState::UNDEFINED, write), None);
        let image = image_masks(ResourceState::UNDEFINED, write).unwrap();
        assert_eq!(image.old_layout, vk::ImageLayout::UNDEFINED);
        assert_eq!(image.new_layout, vk::ImageLayout::TRANSFER_DST_OPTIMAL);
        assert_eq!(image.src_stage, vk::PipelineStageFlags2::NONE);
        assert!(buffer_masks(state(Access::VertexBuffer), write).is_some());
    }

    #[test]
    fn a_layout_change_between_reads_needs_a_barrier() {
        let m = image_masks(
            state(Access::TransferRead),
            state(Access::FragmentShaderSampledRead),
        )
        .expect("layout change");
        assert_eq!(m.old_layout, vk::ImageLayout::TRANSFER_SRC_OPTIMAL);
        assert_eq!(m.new_layout, vk::ImageLayout::SHADER_READ_ONLY_OPTIMAL);
        assert_eq!(
            m.src_access,
            vk::AccessFlags2::NONE,
            "reads make nothing available"
        );
    }

    #[test]
    fn write_after_read_is_an_execution_dependency_only() {
        let m = buffer_masks(state(Access::VertexBuffer), state(Access::TransferWrite)).unwrap();
        assert_eq!(m.src_stage, vk::PipelineStageFlags2::VERTEX_ATTRIBUTE_INPUT);
        assert_eq!(m.src_access, vk::AccessFlags2::NONE);
        assert_eq!(m.dst_access, vk::AccessFlags2::TRANSFER_WRITE);
    }

    #[test]
    fn ownership_transfer_splits_into_matching_release_and_acquire() {
        let from = state(Access::TransferWrite).on_queue(1);
        let to = state(Access::FragmentShaderSampledRead).on_queue(0);
        let (mut release, mut acquire) = (BarrierBatch::new(), BarrierBatch::new());
        let range = vk::ImageSubresourceRange {
            aspect_mask: vk::ImageAspectFlags::COLOR,
            base_mip_level: 0,
            level_count: 1,
            base_array_layer: 0,
            layer_count: 1,
        };
        release.image(vk::Image::null(), range, from, to, &mut acquire);
        let (r, a) = (&release.image_barriers()[0], &acquire.image_barriers()[0]);
        for b in [r, a] {
            assert_eq!((b.src_queue_family_index, b.dst_queue_family_index), (1, 0));
            assert_eq!(b.old_layout, vk::ImageLayout::TRANSFER_DST_OPTIMAL);
            assert_eq!(b.new_layout, vk::ImageLayout::SHADER_READ_ONLY_OPTIMAL);
        }
        assert_eq!(r.src_access_mask, vk::AccessFlags2::TRANSFER_WRITE);
        assert_eq!(r.dst_stage_mask, vk::PipelineStageFlags2::NONE);
        assert_eq!(r.dst_access_mask, vk::AccessFlags2::NONE);
        assert_eq!(a.src_stage_mask, vk::PipelineStageFlags2::NONE);
        assert_eq!(a.dst_stage_mask, vk::PipelineStageFlags2::FRAGMENT_SHADER);
        assert_eq!(a.dst_access_mask, vk::AccessFlags2::SHADER_SAMPLED_READ);
    }

    #[test]
    fn taking_over_aliased_memory_waits_for_every_earlier_access_and_discards() {
        let m = aliased_masks(
            [
                Access::FragmentShaderSampledRead,
                Access::ColorAttachmentWrite,
            ],
            state(Access::DepthStencilAttachmentWrite),
            true,
        );
        assert_eq!(
            m.src_stage,
            vk::PipelineStageFlags2::FRAGMENT_SHADER
                | vk::PipelineStageFlags2::COLOR_ATTACHMENT_OUTPUT
        );
        // Only the write has something to make available.
        assert_eq!(
            m.src_access,
            vk::AccessFlags2::COLOR_ATTACHMENT_READ | vk::AccessFlags2::COLOR_ATTACHMENT_WRITE
        );
        assert_eq!(m.old_layout, vk::ImageLayout::UNDEFINED);
        assert_eq!(
            m.new_layout,
            vk::ImageLayout::DEPTH_STENCIL_ATTACHMENT_OPTIMAL
        );
        let fresh = aliased_masks([], state(Access::ColorAttachmentWrite), true);
        assert_eq!(fresh.src_stage, vk::PipelineStageFlags2::NONE);
        let buffer = aliased_masks(
            [Access::TransferWrite],
            state(Access::ComputeStorageRead),
            false,
        );
        assert_eq!(buffer.new_layout, vk::ImageLayout::UNDEFINED);
        assert_eq!(buffer.src_access, vk::AccessFlags2::TRANSFER_WRITE);
    }

    #[test]
    fn same_family_or_ignored_family_is_one_barrier() {
        let (mut batch, mut acquire) = (BarrierBatch::new(), BarrierBatch::new());
        batch.buffer(
            vk::Buffer::null(),
            0,
            vk::WHOLE_SIZE,
            state(Access::TransferWrite).on_queue(0),
            state(Access::VertexBuffer).on_queue(0),
            &mut acquire,
        );
        assert_eq!(batch.buffer_barriers().len(), 1);
        assert!(acquire.is_empty());
        let b = batch.buffer_barriers()[0];
        assert_eq!(b.src_queue_family_index, vk::QUEUE_FAMILY_IGNORED);
    }
}
