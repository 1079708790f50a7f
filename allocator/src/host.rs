//! Host access to resource memory: mapping, and checked reads and writes of `Pod` data.
//!
//! Mapping memory that is not host-visible is an error, never undefined behaviour. Writes flush and
//! reads invalidate where the memory is not `HOST_COHERENT`. Ordering host access against GPU
//! access (fences, semaphores) is the caller's part, as everywhere in Vulkan.

use std::marker::PhantomData;
use std::ptr::NonNull;

use ash::vk;

use crate::error::{Error, Result};
use crate::handle::{GpuBuffer, GpuImage, Memory};
use crate::Allocator;

/// A mapping of a resource's memory, unmapped when dropped. It borrows the resource, so the
/// resource cannot be destroyed while mapped.
#[derive(Debug)]
pub struct Mapping<'a> {
    allocator: &'a Allocator,
    allocation: vk_mem::Allocation,
    ptr: NonNull<u8>,
    len: vk::DeviceSize,
    flags: vk::MemoryPropertyFlags,
    _resource: PhantomData<&'a ()>,
}

impl Mapping<'_> {
    /// The first byte of the resource's memory.
    pub fn as_ptr(&self) -> *mut u8 {
        self.ptr.as_ptr()
    }

    /// Bytes of memory the mapping covers.
    pub fn len(&self) -> vk::DeviceSize {
        self.len
    }

    /// Whether the mapping covers no bytes (never, for a live resource).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether host writes are visible to the device without a flush.
    pub fn is_coherent(&self) -> bool {
        self.flags.contains(vk::MemoryPropertyFlags::HOST_COHERENT)
    }

    /// Makes host writes to `offset..offset + len` available to the device (a no-op on coherent
    /// memory). Refuses ranges outside the mapping with [`Error::OutOfBounds`].
    pub fn flush(&self, offset: vk::DeviceSize, len: vk::DeviceSize) -> Result<()> {
        check_range(offset, len, self.len)?;
        let vma = self.allocator.vma_ref();
        sync_range(vma, &self.allocation, self.flags, Sync::Flush, offset, len)
    }

    /// Makes device writes to `offset..offset + len` visible to the host (a no-op on coherent
    /// memory). Refuses ranges outside the mapping with [`Error::OutOfBounds`].
    pub fn invalidate(&self, offset: vk::DeviceSize, len: vk::DeviceSize) -> Result<()> {
        check_range(offset, len, self.len)?;
        let vma = self.allocator.vma_ref();
        sync_range(
            vma,
            &self.allocation,
            self.flags,
            Sync::Invalidate,
            offset,
            len,
        )
    }
}

impl Drop for Mapping<'_> {
    fn drop(&mut self) {
        // SAFETY: this mapping was made by `map_memory` on this allocation and is undone once.
        unsafe { self.allocator.vma_ref().unmap_memory(&mut self.allocation) };
    }
}

/// Which cache maintenance a range of non-coherent memory needs.
#[derive(Clone, Copy)]
enum Sync {
    /// Host writes -> device (`vkFlushMappedMemoryRanges`).
    Flush,
    /// Device writes -> host (`vkInvalidateMappedMemoryRanges`).
    Invalidate,
}

/// The one place flushes and invalidations happen: nothing on coherent memory, VMA otherwise.
fn sync_range(
    vma: &vk_mem::Allocator,
    allocation: &vk_mem::Allocation,
    flags: vk::MemoryPropertyFlags,
    op: Sync,
    offset: u64,
    len: u64,
) -> Result<()> {
    if flags.contains(vk::MemoryPropertyFlags::HOST_COHERENT) {
        return Ok(());
    }
    Ok(match op {
        Sync::Flush => vma.flush_allocation(allocation, offset, len),
        Sync::Invalidate => vma.invalidate_allocation(allocation, offset, len),
    }?)
}

fn check_range(offset: u64, len: u64, size: u64) -> Result<()> {
    match offset.checked_add(len) {
        Some(end) if end <= size => Ok(()),
        _ => Err(Error::OutOfBounds { offset, len, size }),
    }
}

/// A range of host access to `memory`: inside `size`, and on memory the host may touch at all.
fn check_host_range(memory: &Memory, offset: u64, len: u64, size: u64) -> Result<()> {
    if !memory.is_mappable() {
        return Err(Error::NotMappable {
            intent: memory.intent,
            flags: memory.flags,
        });
    }
    check_range(offset, len, size)
}

impl Allocator {
    fn map_memory<'a>(&'a self, memory: &Memory, len: vk::DeviceSize) -> Result<Mapping<'a>> {
        // VMA asserts (aborting debug builds) when asked to map an allocation made without a
        // host-access flag, so GpuOnly memory is refused here even where it is host-visible.
        if !memory.is_mappable() {
            return Err(Error::NotMappable {
                intent: memory.intent,
                flags: memory.flags,
            });
        }
        let mut allocation = memory.allocation;
        // SAFETY: the allocation is live (borrowed through its handle) and host-visible; VMA
        // reference-counts mappings, so this nests with the persistent mapping.
        let ptr = unsafe { self.vma_ref().map_memory(&mut allocation) }?;
        let ptr = NonNull::new(ptr).ok_or(Error::Vulkan(vk::Result::ERROR_MEMORY_MAP_FAILED))?;
        Ok(Mapping {
            allocator: self,
            allocation,
            ptr,
            len,
            flags: memory.flags,
            _resource: PhantomData,
        })
    }

    /// Maps a buffer's memory (the design's `mapMemory`); dropping the [`Mapping`] unmaps it.
    /// Fails with [`Error::NotMappable`] for `GpuOnly` resources and memory that is not host-visible.
    pub fn map_buffer<'a>(&'a self, buffer: &'a GpuBuffer) -> Result<Mapping<'a>> {
        self.check_owner(buffer.memory.owner, "buffer")?;
        self.map_memory(&buffer.memory, buffer.size)
    }

    /// Maps an image's memory (useful for linear-tiled images in host-visible memory). The mapping
    /// covers the whole allocation; find subresources with `vkGetImageSubresourceLayout`.
    pub fn map_image<'a>(&'a self, image: &'a GpuImage) -> Result<Mapping<'a>> {
        self.check_owner(image.memory.owner, "image")?;
        self.map_memory(&image.memory, image.allocation_size)
    }

    /// Copies `data` into `buffer` at byte `offset`, flushing where the memory is not coherent.
    /// Refuses ranges outside the buffer and buffers that cannot be mapped.
    pub fn write<T: bytemuck::Pod>(
        &self,
        buffer: &mut GpuBuffer,
        offset: vk::DeviceSize,
        data: &[T],
    ) -> Result<()> {
        let bytes: &[u8] = bytemuck::cast_slice(data);
        let len = bytes.len() as u64;
        check_range(offset, len, buffer.size)?;
        let mapping = self.map_buffer(buffer)?;
        // SAFETY: `offset + len <= size` was checked and the mapping covers `size` bytes; `&mut`
        // on the buffer excludes other host access through this crate while we copy.
        unsafe {
            std::ptr::copy_nonoverlapping(
                bytes.as_ptr(),
                mapping.as_ptr().add(offset as usize),
                bytes.len(),
            )
        };
        mapping.flush(offset, len)
    }

    /// Copies bytes at `offset` of `buffer` into `out`, invalidating first where the memory is not
    /// coherent. Refuses ranges outside the buffer and buffers that cannot be mapped.
    pub fn read<T: bytemuck::Pod>(
        &self,
        buffer: &GpuBuffer,
        offset: vk::DeviceSize,
        out: &mut [T],
    ) -> Result<()> {
        let out: &mut [u8] = bytemuck::cast_slice_mut(out);
        let len = out.len() as u64;
        check_range(offset, len, buffer.size)?;
        let mapping = self.map_buffer(buffer)?;
        mapping.invalidate(offset, len)?;
        // SAFETY: the range was checked against the buffer's size, which the mapping covers.
        unsafe {
            std::ptr::copy_nonoverlapping(
                mapping.as_ptr().add(offset as usize),
                out.as_mut_ptr(),
                out.len(),
            )
        };
        Ok(())
    }

    /// Makes host writes to `offset..offset + len` of a mappable buffer available to the device
    /// (a no-op on coherent memory). For callers that write through [`GpuBuffer::host_access`].
    /// Refuses ranges outside the buffer and buffers that cannot be mapped.
    pub fn flush(
        &self,
        buffer: &GpuBuffer,
        offset: vk::DeviceSize,
        len: vk::DeviceSize,
    ) -> Result<()> {
        self.check_owner(buffer.memory.owner, "buffer")?;
        check_host_range(&buffer.memory, offset, len, buffer.size)?;
        let (allocation, flags) = (&buffer.memory.allocation, buffer.memory_flags());
        sync_range(self.vma_ref(), allocation, flags, Sync::Flush, offset, len)
    }

    /// Makes device writes to `offset..offset + len` of a mappable buffer visible to the host (a
    /// no-op on coherent memory). For callers that read through [`GpuBuffer::host_access`].
    /// Refuses ranges outside the buffer and buffers that cannot be mapped.
    pub fn invalidate(
        &self,
        buffer: &GpuBuffer,
        offset: vk::DeviceSize,
        len: vk::DeviceSize,
    ) -> Result<()> {
        self.check_owner(buffer.memory.owner, "buffer")?;
        check_host_range(&buffer.memory, offset, len, buffer.size)?;
        let (allocation, flags) = (&buffer.memory.allocation, buffer.memory_flags());
        sync_range(
            self.vma_ref(),
            allocation,
            flags,
            Sync::Invalidate,
            offset,
            len,
        )
    }

    /// Makes host writes to `offset..offset + len` of the buffer behind `access` available to the
    /// device (a no-op on coherent memory). Refuses ranges outside the buffer, and access to a
    /// buffer of another allocator. Code that holds the buffer calls the safe
    /// [`Allocator::flush`] instead.
    ///
    /// # Safety
    /// The buffer `access` came from is alive (not yet destroyed): a [`HostAccess`] does not keep
    /// it alive, and flushing a freed allocation reaches memory VMA may have handed to another.
    ///
    /// [`HostAccess`]: crate::HostAccess
    pub unsafe fn flush_host(
        &self,
        access: &crate::handle::HostAccess,
        offset: vk::DeviceSize,
        len: vk::DeviceSize,
    ) -> Result<()> {
        self.check_owner(access.owner, "buffer")?;
        check_range(offset, len, access.len)?;
        sync_range(
            self.vma_ref(),
            &access.allocation,
            access.flags,
            Sync::Flush,
            offset,
            len,
        )
    }

    /// Reads the whole buffer into a new vector of `T` (its size must be a multiple of
    /// `size_of::<T>()`).
    pub fn read_vec<T: bytemuck::Pod + Default>(&self, buffer: &GpuBuffer) -> Result<Vec<T>> {
        let elem = std::mem::size_of::<T>().max(1) as u64;
        if buffer.size % elem != 0 {
            return Err(Error::OutOfBounds {
                offset: 0,
                len: buffer.size.next_multiple_of(elem),
                size: buffer.size,
            });
        }
        let mut out = vec![T::default(); (buffer.size / elem) as usize];
        self.read(buffer, 0, &mut out)?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::check_range;

    #[test]
    fn ranges_must_fit_without_overflow() {
        assert!(check_range(0, 16, 16).is_ok());
        assert!(check_range(16, 0, 16).is_ok());
        assert!(check_range(1, 16, 16).is_err());
        assert!(check_range(u64::MAX, 2, 16).is_err());
    }
}
