//! Readback of buffers and images into host memory: recorded like uploads, read after the
//! submission completes.
//!
//! A readback is tied to the submission that copies into it ([`BufferReadback::submitted`]:
//! the timeline value it signals) and refuses to be read until the timeline's counter, read
//! from the device, has reached that value, so a host read never races the GPU's copy:
//! ```compile_fail
//! # fn f(readback: &vkup_staging::BufferReadback, allocator: &vkup_allocator::Allocator) {
//! let bytes = readback.read(allocator); // takes the `&Timeline` it checks
//! # }
//! ```

use ash::vk;
use vkup_allocator::{Allocator, BufferDesc, GpuBuffer};

use crate::access::{Access, ResourceState};
use crate::barrier::BarrierBatch;
use crate::check;
use crate::error::{Error, Result};
use crate::format::{block_info, BlockInfo};
use crate::plan::offset_alignment;
use crate::target::{BufferTarget, ImageTarget};
use crate::timeline::Timeline;
use crate::upload::{Finished, Stager};

/// The submission a readback waits for: a value on a timeline.
#[derive(Clone, Copy, Debug, Default)]
struct Completion {
    /// (timeline id, value), once `submitted` named it.
    at: Option<(u64, u64)>,
}

impl Completion {
    fn set(&mut self, timeline: &Timeline, value: u64) {
        self.at = Some((timeline.id(), value));
    }

    /// Refuses unless `timeline` is the one named and its counter has reached the value.
    fn check(&self, timeline: &Timeline) -> Result<()> {
        let (id, value) = self.at.ok_or(Error::NotSubmitted)?;
        if id != timeline.id() {
            return Err(Error::ForeignTimeline);
        }
        let completed = timeline.completed()?;
        if completed < value {
            return Err(Error::NotComplete { value, completed });
        }
        Ok(())
    }
}

/// Makes transfer writes into a readback buffer visible to host reads.
fn to_host(batch: &mut BarrierBatch, buffer: &GpuBuffer) {
    batch.buffer_local(
        buffer.raw(),
        0,
        buffer.size(),
        ResourceState::new(Access::TransferWrite),
        ResourceState::new(Access::HostRead),
    );
}

/// Bytes of a buffer copied into host-visible memory; read them once the submission completes.
#[derive(Debug)]
#[must_use = "a readback holds memory until it is destroyed"]
pub struct BufferReadback {
    buffer: GpuBuffer,
    done: Completion,
}

impl BufferReadback {
    /// Ties the readback to the submission that records its copy: the one that signals `value`
    /// on `timeline`. [`BufferReadback::read`] waits for nothing; it refuses until then.
    ///
    /// # Safety
    /// The copy recorded into this readback completes before `timeline` reaches `value`: its
    /// submission signals `value` on `timeline.raw()` (or a later value), or it has completed.
    pub unsafe fn submitted(&mut self, timeline: &Timeline, value: u64) {
        self.done.set(timeline, value);
    }

    /// The copied bytes. Refuses before [`BufferReadback::submitted`] ([`Error::NotSubmitted`]),
    /// with another timeline ([`Error::ForeignTimeline`]), and while the timeline has not reached
    /// the copy's value ([`Error::NotComplete`]).
    pub fn read(&self, allocator: &Allocator, timeline: &Timeline) -> Result<Vec<u8>> {
        self.done.check(timeline)?;
        Ok(allocator.read_vec(&self.buffer)?)
    }

    /// Destroys the readback memory.
    ///
    /// # Safety
    /// The submission that copies into it has completed; `allocator` created it.
    pub unsafe fn destroy(self, allocator: &Allocator) {
        // SAFETY: forwarded from this function's contract.
        unsafe { allocator.destroy_buffer(self.buffer) };
    }
}

/// One subresource inside an [`ImageReadback`].
#[derive(Clone, Copy, Debug)]
struct Entry {
    level: u32,
    layer: u32,
    offset: u64,
    size: u64,
}

/// Every level and layer of an image copied into host-visible memory, tightly packed.
#[derive(Debug)]
#[must_use = "a readback holds memory until it is destroyed"]
pub struct ImageReadback {
    buffer: GpuBuffer,
    entries: Vec<Entry>,
    block: BlockInfo,
    levels: u32,
    layers: u32,
    done: Completion,
}

impl ImageReadback {
    /// Ties the readback to the submission that records its copy, as
    /// [`BufferReadback::submitted`] does.
    ///
    /// # Safety
    /// As for [`BufferReadback::submitted`].
    pub unsafe fn submitted(&mut self, timeline: &Timeline, value: u64) {
        self.done.set(timeline, value);
    }

    /// The tightly packed bytes of `level` of `layer`. Refuses like [`BufferReadback::read`]
    /// until the copy has completed, and a subresource outside the image.
    pub fn read(
        &self,
        allocator: &Allocator,
        timeline: &Timeline,
        level: u32,
        layer: u32,
    ) -> Result<Vec<u8>> {
        self.done.check(timeline)?;
        let entry = self
            .entries
            .iter()
            .find(|e| e.level == level && e.layer == layer)
            .ok_or(Error::InvalidSubresource {
                level,
                layer,
                levels: self.levels,
                layers: self.layers,
            })?;
        let mut out = vec![0u8; entry.size as usize];
        allocator.read(&self.buffer, entry.offset, &mut out)?;
        Ok(out)
    }

    /// The texel-block shape of the image's format.
    pub fn block(&self) -> BlockInfo {
        self.block
    }

    /// Destroys the readback memory.
    ///
    /// # Safety
    /// The submission that copies into it has completed; `allocator` created it.
    pub unsafe fn destroy(self, allocator: &Allocator) {
        // SAFETY: forwarded from this function's contract.
        unsafe { allocator.destroy_buffer(self.buffer) };
    }
}

impl Stager {
    /// Records a copy of the bytes `range` of `src` into new host-visible memory. `src` goes from
    /// `from` through a transfer read to `to`.
    ///
    /// # Safety
    /// `cmd` is recording on this stager's device on a transfer-capable queue; `src` stays alive
    /// until the submission completes.
    pub unsafe fn record_buffer_readback(
        &self,
        cmd: vk::CommandBuffer,
        allocator: &Allocator,
        src: impl Into<BufferTarget>,
        range: std::ops::Range<u64>,
        from: ResourceState,
        to: ResourceState,
    ) -> Result<(BufferReadback, Finished)> {
        let src = &src.into();
        let (offset, size) = (range.start, range.end.saturating_sub(range.start));
        check::buffer_states(from, to, self.queue_families())?;
        if range.end > src.size() || size == 0 {
            return Err(Error::invalid(
                "size",
                format!(
                    "{size} bytes at {offset} are not inside a {}-byte buffer",
                    src.size()
                ),
            ));
        }
        if !src.usage().contains(vk::BufferUsageFlags::TRANSFER_SRC) {
            return Err(Error::MissingBufferUsage {
                needed: vk::BufferUsageFlags::TRANSFER_SRC,
            });
        }
        let buffer =
            allocator.create_buffer(&BufferDesc::readback(size).name("buffer readback"))?;
        let device = self.device();
        let work = ResourceState::new(Access::TransferRead).on_queue(from.queue_family);
        let mut batch = BarrierBatch::new();
        batch.buffer_local(src.raw(), offset, size, from, work);
        // SAFETY: forwarded from this function's contract; the new buffer is live and idle.
        unsafe {
            batch.record(cmd, device);
            let region = [vk::BufferCopy {
                src_offset: offset,
                dst_offset: 0,
                size,
            }];
            device.cmd_copy_buffer(cmd, src.raw(), buffer.raw(), &region);
        }
        let mut acquire = BarrierBatch::new();
        batch.buffer(src.raw(), offset, size, work, to, &mut acquire);
        to_host(&mut batch, &buffer);
        // SAFETY: forwarded from this function's contract.
        unsafe { batch.record(cmd, device) };
        Ok((
            BufferReadback {
                buffer,
                done: Completion::default(),
            },
            Finished { state: to, acquire },
        ))
    }

    /// Records a copy of every level and layer of `src` into new host-visible memory. `src` goes
    /// from `from` through a transfer read to `to`.
    ///
    /// # Safety
    /// `cmd` is recording on this stager's device on a transfer-capable queue; `src` stays alive
    /// until the submission completes.
    pub unsafe fn record_image_readback(
        &self,
        cmd: vk::CommandBuffer,
        allocator: &Allocator,
        src: impl Into<ImageTarget>,
        from: ResourceState,
        to: ResourceState,
    ) -> Result<(ImageReadback, Finished)> {
        let src = &src.into();
        let block = block_info(src.format()).ok_or(Error::UnsupportedFormat {
            format: src.format(),
        })?;
        if !src.usage().contains(vk::ImageUsageFlags::TRANSFER_SRC) {
            return Err(Error::MissingImageUsage {
                needed: vk::ImageUsageFlags::TRANSFER_SRC,
            });
        }
        check::single_sampled(src)?;
        check::image_states(src, from, to, self.queue_families())?;
        let align = offset_alignment(&block, self.alignment())?;
        let mut entries = Vec::new();
        let mut regions = Vec::new();
        let mut offset = 0u64;
        for level in 0..src.mip_levels() {
            let extent = src.level_extent(level);
            let size = block.extent_bytes(extent);
            for layer in 0..src.array_layers() {
                offset = offset
                    .checked_next_multiple_of(align)
                    .ok_or_else(|| Error::invalid("src", "the image's size overflows u64"))?;
                entries.push(Entry {
                    level,
                    layer,
                    offset,
                    size,
                });
                regions.push(vk::BufferImageCopy {
                    buffer_offset: offset,
                    buffer_row_length: 0,
                    buffer_image_height: 0,
                    image_subresource: vk::ImageSubresourceLayers {
                        aspect_mask: block.aspect,
                        mip_level: level,
                        base_array_layer: layer,
                        layer_count: 1,
                    },
                    image_offset: vk::Offset3D::default(),
                    image_extent: extent,
                });
                offset = offset
                    .checked_add(size)
                    .ok_or_else(|| Error::invalid("src", "the image's size overflows u64"))?;
            }
        }
        let buffer =
            allocator.create_buffer(&BufferDesc::readback(offset).name("image readback"))?;
        let device = self.device();
        let range = src.full_range(block.aspect);
        let work = ResourceState::new(Access::TransferRead).on_queue(from.queue_family);
        let mut batch = BarrierBatch::new();
        batch.image_local(src.raw(), range, from, work);
        // SAFETY: forwarded from this function's contract; the regions cover each subresource
        // exactly, tightly packed at block-aligned offsets inside the new buffer.
        unsafe {
            batch.record(cmd, device);
            device.cmd_copy_image_to_buffer(
                cmd,
                src.raw(),
                vk::ImageLayout::TRANSFER_SRC_OPTIMAL,
                buffer.raw(),
                &regions,
            );
        }
        let mut acquire = BarrierBatch::new();
        batch.image(src.raw(), range, work, to, &mut acquire);
        to_host(&mut batch, &buffer);
        // SAFETY: forwarded from this function's contract.
        unsafe { batch.record(cmd, device) };
        Ok((
            ImageReadback {
                buffer,
                entries,
                block,
                levels: src.mip_levels(),
                layers: src.array_layers(),
                done: Completion::default(),
            },
            Finished { state: to, acquire },
        ))
    }
}
