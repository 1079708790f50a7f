//! [`HostImport`]: host memory the caller owns, imported as device memory through
//! `VK_EXT_external_memory_host` and bound to a buffer the GPU copies from (or into), so that
//! data already in memory (an asset pack read or mapped once) reaches the GPU with no copy into
//! staging memory.
//!
//! An import is made once and kept: making one pins the pages (the driver locks them and maps
//! them for the device), which costs more than copying a few megabytes through staging memory.
//! It is not a VMA allocation: it counts against `maxMemoryAllocationCount` and is not in the
//! allocator's statistics or leak report.

use std::ptr::NonNull;

use ash::vk;

use crate::allocator::AllocatorId;
use crate::error::{Error, Result};
use crate::Allocator;

/// A range of the caller's host memory imported as device memory and bound to a buffer of its
/// length. Destroy it with [`Allocator::destroy_host_import`] before the memory is freed.
#[derive(Debug)]
pub struct HostImport {
    buffer: vk::Buffer,
    memory: vk::DeviceMemory,
    ptr: NonNull<u8>,
    len: vk::DeviceSize,
    usage: vk::BufferUsageFlags,
    pub(crate) allocator: AllocatorId,
}

// SAFETY: the handles are plain Vulkan handles and the pointer is only an address the import
// reports (this type never reads or writes through it); the memory it names is the caller's, whose
// access rules `import_host_memory`'s contract states.
unsafe impl Send for HostImport {}
// SAFETY: as above: `&HostImport` exposes only copies of the handles and the address.
unsafe impl Sync for HostImport {}

impl HostImport {
    /// The buffer bound to the imported memory.
    pub fn raw(&self) -> vk::Buffer {
        self.buffer
    }

    /// The imported device memory.
    pub fn memory(&self) -> vk::DeviceMemory {
        self.memory
    }

    /// The first byte of the imported host range.
    pub fn as_ptr(&self) -> *const u8 {
        self.ptr.as_ptr()
    }

    /// Bytes imported (the buffer's size).
    pub fn len(&self) -> vk::DeviceSize {
        self.len
    }

    /// Whether no bytes are imported (never, for a live import).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The buffer's usage.
    pub fn usage(&self) -> vk::BufferUsageFlags {
        self.usage
    }

    /// Where `bytes` start in the import, when they lie wholly inside it.
    pub fn offset_of(&self, bytes: &[u8]) -> Option<vk::DeviceSize> {
        let start = (bytes.as_ptr() as usize).checked_sub(self.ptr.as_ptr() as usize)?;
        let end = start.checked_add(bytes.len())?;
        (end as u64 <= self.len).then_some(start as u64)
    }
}

impl Allocator {
    /// The alignment of an import's address and length (`minImportedHostPointerAlignment`),
    /// where `VK_EXT_external_memory_host` is on ([`AllocatorDesc::external_memory_host`]);
    /// `None` otherwise.
    ///
    /// [`AllocatorDesc::external_memory_host`]: crate::AllocatorDesc::external_memory_host
    pub fn host_import_alignment(&self) -> Option<vk::DeviceSize> {
        self.host_import.as_ref().map(|h| h.alignment)
    }

    /// Imports `len` bytes of host memory at `ptr` as device memory bound to a new buffer of
    /// `usage` (`TRANSFER_SRC` to copy from it). The address and length must be multiples of
    /// [`host_import_alignment`](Self::host_import_alignment) (allocate with that alignment, or
    /// map a file at a page boundary); checked, as is whether the extension is on and whether the
    /// driver can import the range, before anything is made. Failures leave nothing behind.
    ///
    /// # Safety
    /// - `ptr..ptr + len` is host memory the process allocated (heap, an anonymous or file
    ///   mapping; not a mapping of Vulkan memory), readable, and it stays allocated until
    ///   [`destroy_host_import`](Self::destroy_host_import) returns;
    /// - the host does not write bytes of it that submitted GPU work reads until that work
    ///   completes, and does not read bytes GPU work writes before then (as for any memory the
    ///   GPU and host share); host writes made before a submission are visible to it (the memory
    ///   is host-coherent where the driver says so; flush otherwise).
    pub unsafe fn import_host_memory(
        &self,
        ptr: NonNull<u8>,
        len: vk::DeviceSize,
        usage: vk::BufferUsageFlags,
    ) -> Result<HostImport> {
        let Some(host) = &self.host_import else {
            return Err(Error::Unsupported {
                feature: "VK_EXT_external_memory_host (enable it on the device and in the \
                          AllocatorDesc)",
            });
        };
        let align = host.alignment.max(1);
        if (ptr.as_ptr() as u64) % align != 0 {
            return Err(Error::invalid(
                "ptr",
                format!("{ptr:?} is not a multiple of the import alignment {align}"),
            ));
        }
        if len == 0 || len % align != 0 {
            return Err(Error::invalid(
                "len",
                format!("{len} bytes is not a positive multiple of the import alignment {align}"),
            ));
        }
        if usage.is_empty() {
            return Err(Error::invalid("usage", "a buffer needs some usage"));
        }
        let handle_type = vk::ExternalMemoryHandleTypeFlags::HOST_ALLOCATION_EXT;
        let mut pointer_props = vk::MemoryHostPointerPropertiesEXT::default();
        // SAFETY: the extension is enabled (checked above: the desc says so, the allocator's
        // contract says the desc is true); `ptr` is host memory the process allocated (this
        // function's contract).
        unsafe {
            (host.device.fp().get_memory_host_pointer_properties_ext)(
                host.device.device(),
                handle_type,
                ptr.as_ptr().cast(),
                &mut pointer_props,
            )
        }
        .result()?;
        let mut external = vk::ExternalMemoryBufferCreateInfo::default().handle_types(handle_type);
        let info = vk::BufferCreateInfo::default()
            .size(len)
            .usage(usage)
            .sharing_mode(vk::SharingMode::EXCLUSIVE)
            .push_next(&mut external);
        // SAFETY: valid device; the info chain lives for the call.
        let buffer = unsafe { self.device.create_buffer(&info, None) }?;
        // Destroys what was made when a later step fails.
        let undo = |memory: Option<vk::DeviceMemory>| {
            // SAFETY: made just above, never used by the GPU.
            unsafe {
                self.device.destroy_buffer(buffer, None);
                if let Some(memory) = memory {
                    self.device.free_memory(memory, None);
                }
            }
        };
        // SAFETY: a live buffer of this device.
        let requirements = unsafe { self.device.get_buffer_memory_requirements(buffer) };
        let types = requirements.memory_type_bits & pointer_props.memory_type_bits;
        let Some(memory_type) = (0..32u32).find(|t| types & (1 << t) != 0) else {
            undo(None);
            return Err(Error::Unsupported {
                feature: "a memory type that both the buffer and the imported range can use",
            });
        };
        if requirements.size > len {
            undo(None);
            return Err(Error::invalid(
                "len",
                format!("the buffer needs {} bytes of memory", requirements.size),
            ));
        }
        let mut import = vk::ImportMemoryHostPointerInfoEXT::default()
            .handle_type(handle_type)
            .host_pointer(ptr.as_ptr().cast());
        let allocate = vk::MemoryAllocateInfo::default()
            .allocation_size(len)
            .memory_type_index(memory_type)
            .push_next(&mut import);
        // SAFETY: valid device; the pointer and length are aligned (checked) and the memory
        // type is one the driver reported for the pointer.
        let memory = match unsafe { self.device.allocate_memory(&allocate, None) } {
            Ok(memory) => memory,
            Err(err) => {
                undo(None);
                return Err(err.into());
            }
        };
        // SAFETY: a live buffer and memory of this device; the memory covers its requirements.
        if let Err(err) = unsafe { self.device.bind_buffer_memory(buffer, memory, 0) } {
            undo(Some(memory));
            return Err(err.into());
        }
        Ok(HostImport {
            buffer,
            memory,
            ptr,
            len,
            usage,
            allocator: self.id,
        })
    }

    /// Destroys an import's buffer and frees its device memory; the host memory stays the
    /// caller's. Refuses ([`Error::ForeignHandle`]) an import another allocator made, handing it
    /// back.
    ///
    /// # Safety
    /// No pending GPU work uses the import.
    pub unsafe fn destroy_host_import(
        &self,
        import: HostImport,
    ) -> std::result::Result<(), (Error, HostImport)> {
        if import.allocator != self.id {
            return Err((
                Error::ForeignHandle {
                    what: "host import",
                },
                import,
            ));
        }
        // SAFETY: made by this allocator's device (checked), unused by the GPU (contract).
        unsafe {
            self.device.destroy_buffer(import.buffer, None);
            self.device.free_memory(import.memory, None);
        }
        Ok(())
    }
}

/// What importing needs: the extension's entry points and its alignment.
pub(crate) struct HostImporter {
    pub(crate) device: ash::ext::external_memory_host::Device,
    pub(crate) alignment: vk::DeviceSize,
}
