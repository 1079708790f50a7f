//! [`Allocator`]: creation and destruction of buffers and images through VMA.

use std::ffi::{CStr, CString};
use std::mem::ManuallyDrop;
use std::sync::Arc;

use ash::vk;
use vk_mem::Alloc as _;

use crate::desc::{BufferDesc, ImageDesc, MemoryIntent};
use crate::error::{Error, Result};
use crate::format_cache::{FormatCache, FormatQuery};
use crate::handle::{GpuBuffer, GpuImage, Memory};
use crate::validate::{self, DeviceLimits};
use crate::vma_c::HandleSlot;

/// What an [`Allocator`] is built from, and the options it is built with.
///
/// Every option that names an extension or feature describes what the caller enabled on the
/// instance or device; the allocator checks that the physical device supports it and refuses with
/// [`Error::Unsupported`] otherwise. Built with [`AllocatorDesc::new`] and its setters (the fields
/// are private, so one way sets each option).
#[derive(Clone)]
pub struct AllocatorDesc<'a> {
    /// The instance the device was created from.
    pub(crate) instance: &'a ash::Instance,
    /// The physical device behind `device`.
    pub(crate) physical_device: vk::PhysicalDevice,
    /// The logical device resources are created on.
    pub(crate) device: &'a ash::Device,
    /// The Vulkan API version the device was created for (`vk::API_VERSION_1_1` or newer).
    pub(crate) api_version: u32,
    /// Name `VkBuffer`s and `VkImage`s through `VK_EXT_debug_utils`: the entry `instance` was
    /// created through, which the allocator asks whether the instance enabled the extension.
    pub(crate) debug_names: Option<&'a ash::Entry>,
    /// Use `VK_EXT_memory_budget` (enabled on the device) for heap budgets.
    pub(crate) memory_budget: bool,
    /// Allow `SHADER_DEVICE_ADDRESS` buffers (the `bufferDeviceAddress` feature is enabled).
    pub(crate) buffer_device_address: bool,
    /// Per-heap caps in bytes, as `(heap index, bytes)`: VMA will not allocate beyond them, which
    /// lets out-of-memory be provoked on purpose.
    pub(crate) heap_size_limits: Vec<(u32, vk::DeviceSize)>,
    /// The Vulkan 1.0 features enabled on the device (all off by default). Descriptions that need
    /// a feature (a multisampled storage image needs `shaderStorageImageMultisample`) are refused
    /// unless it is on here.
    pub(crate) features: vk::PhysicalDeviceFeatures,
    /// Buffer usage bits of device extensions the caller enabled (acceleration structures, say),
    /// accepted beside the core ones; any other unknown bit is refused.
    pub(crate) extra_buffer_usage: vk::BufferUsageFlags,
    /// Image usage bits of device extensions the caller enabled (fragment shading rate, say).
    pub(crate) extra_image_usage: vk::ImageUsageFlags,
    /// `VK_EXT_external_memory_host` is enabled on the device: host memory can be imported.
    pub(crate) external_memory_host: bool,
}

impl<'a> AllocatorDesc<'a> {
    /// Describes an allocator for `device`, Vulkan 1.3, with every option off.
    pub fn new(
        instance: &'a ash::Instance,
        physical_device: vk::PhysicalDevice,
        device: &'a ash::Device,
    ) -> Self {
        Self {
            instance,
            physical_device,
            device,
            api_version: vk::API_VERSION_1_3,
            debug_names: None,
            memory_budget: false,
            buffer_device_address: false,
            heap_size_limits: Vec::new(),
            features: vk::PhysicalDeviceFeatures::default(),
            extra_buffer_usage: vk::BufferUsageFlags::empty(),
            extra_image_usage: vk::ImageUsageFlags::empty(),
            external_memory_host: false,
        }
    }

    /// Says whether `VK_EXT_external_memory_host` is enabled on the device, for
    /// [`Allocator::import_host_memory`] (checked against the physical device: an error where
    /// it lacks the extension).
    pub fn external_memory_host(mut self, on: bool) -> Self {
        self.external_memory_host = on;
        self
    }

    /// Names the Vulkan 1.0 features enabled on the device.
    pub fn features(mut self, features: vk::PhysicalDeviceFeatures) -> Self {
        self.features = features;
        self
    }

    /// Accepts extension usage bits the device enabled, beside the core ones.
    pub fn extra_usage(mut self, buffer: vk::BufferUsageFlags, image: vk::ImageUsageFlags) -> Self {
        self.extra_buffer_usage = buffer;
        self.extra_image_usage = image;
        self
    }

    /// Sets the API version the device was created for.
    pub fn api_version(mut self, api_version: u32) -> Self {
        self.api_version = api_version;
        self
    }

    /// Turns debug names on: `entry` is the one `instance` was created through, with
    /// `VK_EXT_debug_utils` enabled (checked: [`Error::Unsupported`] otherwise).
    pub fn debug_names(mut self, entry: &'a ash::Entry) -> Self {
        self.debug_names = Some(entry);
        self
    }

    /// Turns `VK_EXT_memory_budget` use on or off.
    pub fn memory_budget(mut self, on: bool) -> Self {
        self.memory_budget = on;
        self
    }

    /// Turns buffer device address on or off.
    pub fn buffer_device_address(mut self, on: bool) -> Self {
        self.buffer_device_address = on;
        self
    }

    /// Caps heap `heap` at `bytes`.
    pub fn heap_size_limit(mut self, heap: u32, bytes: vk::DeviceSize) -> Self {
        self.heap_size_limits.push((heap, bytes));
        self
    }
}

/// Creates and destroys GPU buffers and images through VMA. Stateless: it keeps no list of what it
/// created; callers track their handles and destroy them.
///
/// `Allocator` is `Send + Sync`; every method takes `&self` and may be called from any number of
/// threads at once. VMA synchronises internally; of ours, image creation reads a cache of the
/// driver's format answers without a lock (a mutex guards only answers past its first 64).
///
/// # Contract
/// These duties hold for every `unsafe` method of this type and for its constructors:
/// - the instance, physical device and device it was made from stay valid until it is dropped,
///   and the device is not destroyed first;
/// - every handle passed to it was created by it (or by the VMA allocator it wraps);
/// - nothing is destroyed while GPU work that uses it is pending.
pub struct Allocator {
    pub(crate) vma: ManuallyDrop<Arc<vk_mem::Allocator>>,
    /// Where VMA leaves its raw handle, for the entry points vk-mem does not wrap (`vma_c`);
    /// `None` for a VMA made elsewhere ([`Allocator::from_vma`]).
    pub(crate) handle_slot: Option<&'static HandleSlot>,
    /// Stamped on every handle and memory block this allocator makes, so that a safe method
    /// refuses one made by another allocator (`Error::ForeignHandle`) instead of handing another
    /// VMA allocator's allocation to this one.
    pub(crate) id: AllocatorId,
    pub(crate) device: ash::Device,
    instance: ash::Instance,
    physical_device: vk::PhysicalDevice,
    debug_utils: Option<ash::ext::debug_utils::Device>,
    /// Where host memory can be imported (`VK_EXT_external_memory_host` on).
    pub(crate) host_import: Option<crate::import::HostImporter>,
    pub(crate) limits: DeviceLimits,
    pub(crate) memory_types: Vec<vk::MemoryPropertyFlags>,
    memory_heaps: Vec<vk::MemoryHeap>,
    non_coherent_atom_size: vk::DeviceSize,
    buffer_image_granularity: vk::DeviceSize,
    pub(crate) api_version: u32,
    /// Answers of `vkGetPhysicalDeviceImageFormatProperties`, which are fixed for a physical
    /// device: a cache of device capabilities, not a record of resources. Asking the driver on
    /// every image creation cost 40% of create+destroy throughput on lavapipe (bench row 1).
    format_cache: FormatCache,
}

/// Which allocator made a handle. Allocators are numbered once per process, never reused, so a
/// handle that outlived its allocator is refused by every later one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct AllocatorId(u64);

impl AllocatorId {
    fn next() -> Self {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        Self(NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed))
    }
}

/// Exclusive sharing for no families, concurrent between the (validated) families otherwise.
fn sharing<'a>(info: vk::BufferCreateInfo<'a>, families: &'a [u32]) -> vk::BufferCreateInfo<'a> {
    if families.is_empty() {
        info.sharing_mode(vk::SharingMode::EXCLUSIVE)
    } else {
        info.sharing_mode(vk::SharingMode::CONCURRENT)
            .queue_family_indices(families)
    }
}

impl std::fmt::Debug for Allocator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Allocator")
            .field("device", &self.device.handle())
            .field("limits", &self.limits)
            .field("memory_types", &self.memory_types)
            .finish_non_exhaustive()
    }
}

fn device_limits(desc: &AllocatorDesc<'_>) -> (vk::PhysicalDeviceProperties, DeviceLimits) {
    let mut maintenance3 = vk::PhysicalDeviceMaintenance3Properties::default();
    let mut maintenance4 = vk::PhysicalDeviceMaintenance4Properties::default();
    let mut props2 = vk::PhysicalDeviceProperties2::default().push_next(&mut maintenance3);
    let has_maintenance4 = desc.api_version >= vk::API_VERSION_1_3;
    if has_maintenance4 {
        props2 = props2.push_next(&mut maintenance4);
    }
    // SAFETY: the physical device belongs to the instance (type contract); the chain holds only
    // structures of Vulkan 1.1 (always) and 1.3 (only when the device is 1.3).
    unsafe {
        desc.instance
            .get_physical_device_properties2(desc.physical_device, &mut props2)
    };
    let props = props2.properties;
    let l = &props.limits;
    let limits = DeviceLimits {
        max_buffer_size: if has_maintenance4 {
            maintenance4.max_buffer_size
        } else {
            u64::MAX
        },
        max_memory_allocation_size: maintenance3.max_memory_allocation_size,
        max_image_dimension_1d: l.max_image_dimension1_d,
        max_image_dimension_2d: l.max_image_dimension2_d,
        max_image_dimension_3d: l.max_image_dimension3_d,
        max_image_dimension_cube: l.max_image_dimension_cube,
        max_image_array_layers: l.max_image_array_layers,
        max_framebuffer_width: l.max_framebuffer_width,
        max_framebuffer_height: l.max_framebuffer_height,
        buffer_device_address: desc.buffer_device_address,
        storage_image_multisample: desc.features.shader_storage_image_multisample == vk::TRUE,
        extra_buffer_usage: desc.extra_buffer_usage,
        extra_image_usage: desc.extra_image_usage,
        queue_family_count: {
            // SAFETY: as above.
            unsafe {
                desc.instance
                    .get_physical_device_queue_family_properties(desc.physical_device)
            }
            .len() as u32
        },
    };
    (props, limits)
}

fn supports_device_extension(desc: &AllocatorDesc<'_>, name: &std::ffi::CStr) -> Result<bool> {
    // SAFETY: valid physical device of this instance (type contract).
    let extensions = unsafe {
        desc.instance
            .enumerate_device_extension_properties(desc.physical_device)
    }?;
    Ok(extensions
        .iter()
        .any(|e| e.extension_name_as_c_str() == Ok(name)))
}

/// The VMA allocation request for a memory intent.
/// `name`, when given, becomes the allocation's VMA name: with `USER_DATA_COPY_STRING`, VMA 3
/// copies `user_data` as a string at creation (`vmaSetAllocationName` under the hood), so no
/// second call is needed. It must outlive the create call.
fn allocation_info(
    memory: MemoryIntent,
    dedicated: bool,
    priority: Option<f32>,
    name: Option<&CStr>,
) -> vk_mem::AllocationCreateInfo {
    use vk_mem::AllocationCreateFlags as F;
    let (usage, flags, required, preferred) = match memory {
        MemoryIntent::GpuOnly => (
            vk_mem::MemoryUsage::AutoPreferDevice,
            F::empty(),
            vk::MemoryPropertyFlags::empty(),
            vk::MemoryPropertyFlags::DEVICE_LOCAL,
        ),
        // Sequential-write host memory; VMA avoids device-local and host-cached types for it.
        MemoryIntent::Upload => (
            vk_mem::MemoryUsage::AutoPreferHost,
            F::HOST_ACCESS_SEQUENTIAL_WRITE | F::MAPPED,
            vk::MemoryPropertyFlags::HOST_VISIBLE,
            vk::MemoryPropertyFlags::empty(),
        ),
        // Random access makes VMA prefer HOST_CACHED, so CPU reads are not uncached reads.
        MemoryIntent::Readback => (
            vk_mem::MemoryUsage::AutoPreferHost,
            F::HOST_ACCESS_RANDOM | F::MAPPED,
            vk::MemoryPropertyFlags::HOST_VISIBLE,
            vk::MemoryPropertyFlags::HOST_CACHED,
        ),
        // Device-local; `allocation_info_for` switches to lazily allocated types where they exist.
        MemoryIntent::Transient => (
            vk_mem::MemoryUsage::AutoPreferDevice,
            F::empty(),
            vk::MemoryPropertyFlags::empty(),
            vk::MemoryPropertyFlags::DEVICE_LOCAL,
        ),
        // Host-visible is required and device-local preferred: resizable BAR or unified memory
        // where the device has it, plain host memory otherwise.
        MemoryIntent::CpuToGpu => (
            vk_mem::MemoryUsage::Auto,
            F::HOST_ACCESS_SEQUENTIAL_WRITE | F::MAPPED,
            vk::MemoryPropertyFlags::HOST_VISIBLE,
            vk::MemoryPropertyFlags::DEVICE_LOCAL,
        ),
    };
    let mut flags = flags;
    if dedicated {
        flags |= F::DEDICATED_MEMORY;
    }
    if name.is_some() {
        // Deprecated in vk-mem in favour of vmaSetAllocationName, which vk-mem 0.5 does not
        // wrap; VMA 3 still honours the flag by calling SetName on `user_data` at creation.
        #[allow(deprecated)]
        {
            flags |= F::USER_DATA_COPY_STRING;
        }
    }
    vk_mem::AllocationCreateInfo {
        flags,
        usage,
        required_flags: required,
        preferred_flags: preferred,
        priority: priority.unwrap_or(0.5),
        user_data: name.map_or(0, |n| n.as_ptr() as usize),
        ..Default::default()
    }
}

impl Allocator {
    /// Creates an allocator with its own VMA allocator.
    ///
    /// # Safety
    /// The type's contract, and: `desc` tells the truth about the device (its API version, and
    /// that the extensions and features of the options that are on were enabled on it).
    pub unsafe fn new(desc: &AllocatorDesc<'_>) -> Result<Self> {
        if desc.api_version < vk::API_VERSION_1_1 {
            return Err(Error::Unsupported {
                feature: "Vulkan 1.1 (VMA needs its memory-requirements-2 entry points)",
            });
        }
        if desc.memory_budget && !supports_device_extension(desc, ash::ext::memory_budget::NAME)? {
            return Err(Error::Unsupported {
                feature: "VK_EXT_memory_budget",
            });
        }
        // SAFETY: valid physical device of this instance.
        let memory_props = unsafe {
            desc.instance
                .get_physical_device_memory_properties(desc.physical_device)
        };
        let heap_count = memory_props.memory_heap_count as usize;
        let mut heap_limits = vec![vk::WHOLE_SIZE; heap_count];
        for &(heap, bytes) in &desc.heap_size_limits {
            let slot = heap_limits.get_mut(heap as usize).ok_or_else(|| {
                Error::invalid(
                    "heap_size_limits",
                    format!("heap {heap} does not exist; the device has {heap_count}"),
                )
            })?;
            *slot = bytes;
        }

        let mut flags = vk_mem::AllocatorCreateFlags::empty();
        if desc.memory_budget {
            flags |= vk_mem::AllocatorCreateFlags::EXT_MEMORY_BUDGET;
        }
        if desc.buffer_device_address {
            flags |= vk_mem::AllocatorCreateFlags::BUFFER_DEVICE_ADDRESS;
        }
        let mut create_info =
            vk_mem::AllocatorCreateInfo::new(desc.instance, desc.device, desc.physical_device);
        create_info.vulkan_api_version = desc.api_version;
        create_info.flags = flags;
        if !desc.heap_size_limits.is_empty() {
            create_info.heap_size_limits = &heap_limits;
        }
        // Freed by `Drop` once VMA is destroyed; leaked with VMA where VMA outlives this wrapper.
        let slot: &'static HandleSlot = Box::leak(Box::default());
        let mut callbacks = None;
        // SAFETY: the field's type is vk-mem's `VmaDeviceMemoryCallbacks`; the slot is leaked, so
        // it outlives VMA.
        create_info.device_memory_callbacks = Some(unsafe { slot.callbacks(&mut callbacks) });
        // SAFETY: the handles outlive the allocator and match `desc` (this function's contract);
        // VMA copies the heap limits and callbacks before returning.
        let vma = match unsafe { vk_mem::Allocator::new(create_info) } {
            Ok(vma) => vma,
            Err(err) => {
                // SAFETY: VMA was not created, so nothing else refers to the slot.
                drop(unsafe { Box::from_raw(std::ptr::from_ref(slot).cast_mut()) });
                return Err(err.into());
            }
        };
        // SAFETY: forwarded from this function's contract.
        let mut allocator = unsafe { Self::from_vma(Arc::new(vma), desc) }?;
        allocator.handle_slot = Some(slot);
        Ok(allocator)
    }

    /// Wraps a VMA allocator the renderer already has. The options of `desc` that VMA takes at its
    /// creation (budget, device address, heap limits) must match how `vma` was made; heap limits in
    /// `desc` are ignored.
    ///
    /// When this `Allocator` holds the last reference to `vma` as it is dropped, it checks for
    /// leaks and destroys `vma`; otherwise whoever holds the rest of the references does.
    ///
    /// VMA's JSON dump needs callbacks set when VMA is created, so an allocator made here has no
    /// [`json_dump`](Self::json_dump) (`Error::Unsupported`), and its leak reports give counts and
    /// bytes without names.
    ///
    /// # Safety
    /// As for [`Allocator::new`]; `vma` was created for the same instance, physical device and
    /// device.
    pub unsafe fn from_vma(vma: Arc<vk_mem::Allocator>, desc: &AllocatorDesc<'_>) -> Result<Self> {
        let (props, limits) = device_limits(desc);
        // SAFETY: valid physical device of this instance.
        let memory_props = unsafe {
            desc.instance
                .get_physical_device_memory_properties(desc.physical_device)
        };
        let debug_utils = if let Some(entry) = desc.debug_names {
            // Loading an entry point the instance did not enable yields a stub that panics when
            // called, so ask the loader first. vkGetDeviceProcAddr is no guide: the loader answers
            // it with a trampoline whether or not the instance enabled VK_EXT_debug_utils;
            // vkGetInstanceProcAddr answers NULL for an instance extension that is not enabled.
            // SAFETY: valid instance; the name is a NUL-terminated string.
            let loaded = unsafe {
                entry.get_instance_proc_addr(
                    desc.instance.handle(),
                    c"vkSetDebugUtilsObjectNameEXT".as_ptr(),
                )
            };
            if loaded.is_none() {
                return Err(Error::Unsupported {
                    feature: "VK_EXT_debug_utils (enable it on the instance for debug names)",
                });
            }
            Some(ash::ext::debug_utils::Device::new(
                desc.instance,
                desc.device,
            ))
        } else {
            None
        };
        let host_import = if desc.external_memory_host {
            if !supports_device_extension(desc, ash::ext::external_memory_host::NAME)? {
                return Err(Error::Unsupported {
                    feature: "VK_EXT_external_memory_host",
                });
            }
            let mut host = vk::PhysicalDeviceExternalMemoryHostPropertiesEXT::default();
            let mut props2 = vk::PhysicalDeviceProperties2::default().push_next(&mut host);
            // SAFETY: valid physical device of this instance (Vulkan 1.1, checked by `new`'s
            // caller contract); the chain lives for the call.
            unsafe {
                desc.instance
                    .get_physical_device_properties2(desc.physical_device, &mut props2)
            };
            let alignment = host.min_imported_host_pointer_alignment;
            Some(crate::import::HostImporter {
                device: ash::ext::external_memory_host::Device::new(desc.instance, desc.device),
                alignment,
            })
        } else {
            None
        };
        Ok(Self {
            vma: ManuallyDrop::new(vma),
            handle_slot: None,
            id: AllocatorId::next(),
            device: desc.device.clone(),
            instance: desc.instance.clone(),
            physical_device: desc.physical_device,
            debug_utils,
            host_import,
            limits,
            memory_types: memory_props
                .memory_types_as_slice()
                .iter()
                .map(|t| t.property_flags)
                .collect(),
            memory_heaps: memory_props.memory_heaps_as_slice().to_vec(),
            non_coherent_atom_size: props.limits.non_coherent_atom_size,
            buffer_image_granularity: props.limits.buffer_image_granularity,
            api_version: desc.api_version,
            format_cache: FormatCache::new(),
        })
    }

    /// The VMA allocator underneath, for what this crate does not wrap (pools, defragmentation).
    /// An escape hatch outside the stable surface: its type is vk-mem's, and follows the vk-mem
    /// release this crate is built on.
    pub fn vma(&self) -> &Arc<vk_mem::Allocator> {
        &self.vma
    }

    /// The device resources are created on.
    pub fn device(&self) -> &ash::Device {
        &self.device
    }

    /// The instance the device was created from.
    pub fn instance(&self) -> &ash::Instance {
        &self.instance
    }

    /// The physical device behind [`device`](Self::device).
    pub fn physical_device(&self) -> vk::PhysicalDevice {
        self.physical_device
    }

    /// The memory heaps of the physical device.
    pub fn memory_heaps(&self) -> &[vk::MemoryHeap] {
        &self.memory_heaps
    }

    /// `VkPhysicalDeviceLimits::nonCoherentAtomSize`.
    pub fn non_coherent_atom_size(&self) -> vk::DeviceSize {
        self.non_coherent_atom_size
    }

    /// `VkPhysicalDeviceLimits::bufferImageGranularity`: what [`placement::place`] keeps between
    /// linear and optimal resources alive at once in one block.
    ///
    /// [`placement::place`]: crate::placement::place
    pub fn buffer_image_granularity(&self) -> vk::DeviceSize {
        self.buffer_image_granularity
    }

    /// Where a buffer's `allocation` landed, with its persistent mapping for host-visible intents.
    fn memory_of(&self, allocation: vk_mem::Allocation, intent: MemoryIntent) -> Memory {
        let info = self.vma.get_allocation_info(&allocation);
        Memory {
            allocation,
            flags: self.memory_type_flags(info.memory_type),
            mapped: if intent.is_host_visible() {
                std::ptr::NonNull::new(info.mapped_data.cast())
            } else {
                None
            },
            intent,
            owner: self.id,
        }
    }

    pub(crate) fn memory_type_flags(&self, memory_type: u32) -> vk::MemoryPropertyFlags {
        self.memory_types
            .get(memory_type as usize)
            .copied()
            .unwrap_or_default()
    }

    /// Names a Vulkan object through `VK_EXT_debug_utils`, where debug names are on (VMA got the
    /// name at creation). Naming is a debugging aid: a failure is logged, never returned.
    pub(crate) fn set_debug_name<H: vk::Handle>(&self, handle: H, name: Option<&CStr>) {
        let (Some(debug_utils), Some(name)) = (&self.debug_utils, name) else {
            return;
        };
        let info = vk::DebugUtilsObjectNameInfoEXT::default()
            .object_handle(handle)
            .object_name(name);
        // SAFETY: the handle was just created on this device; the instance enabled the extension
        // (checked when the allocator was made).
        if let Err(err) = unsafe { debug_utils.set_debug_utils_object_name(&info) } {
            tracing::warn!(target: "vkup_allocator", ?err, "could not set a debug name");
        }
    }

    /// Creates a buffer and binds memory to it. The description is checked first; a refused
    /// description or a failed allocation creates nothing.
    pub fn create_buffer(&self, desc: &BufferDesc<'_>) -> Result<GpuBuffer> {
        let info = self.checked_buffer_info(desc)?;
        // Validated: names hold no NUL.
        let name = desc.name.and_then(|n| CString::new(n).ok());
        let alloc_info =
            allocation_info(desc.memory, desc.dedicated, desc.priority, name.as_deref());
        // SAFETY: `info` passed validation against this device's limits; the device is alive
        // (type contract); the name string outlives the call. On failure VMA destroys whatever
        // it created.
        let (raw, allocation) = unsafe { self.vma.create_buffer(&info, &alloc_info) }
            .map_err(|result| Error::from_vma(result, desc.size))?;
        let device_address = desc
            .usage
            .contains(vk::BufferUsageFlags::SHADER_DEVICE_ADDRESS)
            .then(|| {
                let info = vk::BufferDeviceAddressInfo::default().buffer(raw);
                // SAFETY: the buffer has SHADER_DEVICE_ADDRESS usage and bound memory; the feature
                // is on (validated: `buffer_device_address` option).
                unsafe { self.device.get_buffer_device_address(&info) }
            });
        let memory = self.memory_of(allocation, desc.memory);
        let buffer = GpuBuffer {
            raw,
            memory,
            size: desc.size,
            usage: desc.usage,
            device_address,
        };
        self.set_debug_name(raw, name.as_deref());
        tracing::debug!(
            target: "vkup_allocator",
            buffer = ?raw, size = desc.size, usage = ?desc.usage, memory = ?desc.memory,
            name = desc.name, "created buffer"
        );
        Ok(buffer)
    }

    /// Destroys a buffer and frees its memory.
    ///
    /// # Safety
    /// The type's contract: `buffer` came from this allocator and no pending GPU work uses it.
    pub unsafe fn destroy_buffer(&self, buffer: GpuBuffer) {
        let GpuBuffer {
            raw, mut memory, ..
        } = buffer;
        tracing::debug!(target: "vkup_allocator", buffer = ?raw, "destroying buffer");
        // SAFETY: forwarded from this function's contract; the handle is consumed, so it cannot be
        // destroyed again.
        unsafe { self.vma.destroy_buffer(raw, &mut memory.allocation) };
    }

    /// Creates an image and binds memory to it, in `VK_IMAGE_LAYOUT_UNDEFINED`. The description is
    /// checked against the device's limits and, through `vkGetPhysicalDeviceImageFormatProperties`,
    /// against what the device supports for its format, usage and tiling.
    pub fn create_image(&self, desc: &ImageDesc<'_>) -> Result<GpuImage> {
        let info = self.checked_image_info(desc)?;
        let (image_type, flags, mip_levels, samples) =
            (info.image_type, info.flags, info.mip_levels, info.samples);
        let name = desc.name.and_then(|n| CString::new(n).ok());
        let alloc_info =
            allocation_info(desc.memory, desc.dedicated, desc.priority, name.as_deref());
        // SAFETY: `info` passed validation against the device limits and the format's properties;
        // the name string outlives the call.
        let (raw, allocation) = unsafe { self.vma.create_image(&info, &alloc_info) }
            .map_err(|result| Error::from_vma(result, self.image_size(&info)))?;
        let info = self.vma.get_allocation_info(&allocation);
        let image = GpuImage {
            raw,
            memory: Memory {
                allocation,
                flags: self.memory_type_flags(info.memory_type),
                mapped: std::ptr::NonNull::new(info.mapped_data.cast()),
                intent: desc.memory,
                owner: self.id,
            },
            allocation_size: info.size,
            image_type,
            extent: desc.extent,
            format: desc.format,
            mip_levels,
            array_layers: desc.array_layers,
            samples,
            tiling: desc.tiling,
            usage: desc.usage,
            flags,
        };
        self.set_debug_name(raw, name.as_deref());
        tracing::debug!(
            target: "vkup_allocator",
            image = ?raw, format = ?desc.format, extent = ?desc.extent, mip_levels,
            array_layers = desc.array_layers, name = desc.name, "created image"
        );
        Ok(image)
    }

    /// Checks `desc` against the device's limits; returns the create info it resolves to.
    pub(crate) fn checked_buffer_info<'a>(
        &self,
        desc: &BufferDesc<'a>,
    ) -> Result<vk::BufferCreateInfo<'a>> {
        validate::buffer(desc, &self.limits)?;
        let info = vk::BufferCreateInfo::default()
            .size(desc.size)
            .usage(desc.usage);
        Ok(sharing(info, desc.concurrent))
    }

    /// Checks `desc` against the device's limits and, through
    /// `vkGetPhysicalDeviceImageFormatProperties`, against what the device supports for its format,
    /// usage and tiling; returns the create info it resolves to.
    pub(crate) fn checked_image_info<'a>(
        &self,
        desc: &ImageDesc<'a>,
    ) -> Result<vk::ImageCreateInfo<'a>> {
        validate::image(desc, &self.limits)?;
        let image_type = desc.dimension.to_vk();
        let flags = desc.create_flags();
        let query = FormatQuery {
            format: desc.format,
            image_type,
            tiling: desc.tiling,
            usage: desc.usage,
            flags,
        };
        let supported = match self.format_cache.get(&query) {
            Some(answer) => answer,
            None => {
                // SAFETY: valid physical device of this instance (type contract); every argument
                // is a valid enum value or flag set (validated above).
                let answer = match unsafe {
                    self.instance.get_physical_device_image_format_properties(
                        self.physical_device,
                        desc.format,
                        image_type,
                        desc.tiling,
                        desc.usage,
                        flags,
                    )
                } {
                    Ok(props) => Some(props),
                    Err(vk::Result::ERROR_FORMAT_NOT_SUPPORTED) => None,
                    // Not an answer about the format (out of host memory): not cached.
                    Err(other) => return Err(Error::Vulkan(other)),
                };
                self.format_cache.insert(query, answer);
                answer
            }
        };
        let Some(format_props) = supported else {
            return Err(Error::UnsupportedFormat {
                format: desc.format,
                usage: desc.usage,
                tiling: desc.tiling,
                flags,
            });
        };
        validate::image_against_format(desc, &format_props)?;
        let info = vk::ImageCreateInfo::default()
            .flags(flags)
            .image_type(image_type)
            .format(desc.format)
            .extent(desc.extent)
            .mip_levels(desc.resolved_mip_levels())
            .array_layers(desc.array_layers)
            .samples(vk::SampleCountFlags::from_raw(desc.samples))
            .tiling(desc.tiling)
            .usage(desc.usage)
            .initial_layout(vk::ImageLayout::UNDEFINED);
        let info = if desc.concurrent.is_empty() {
            info.sharing_mode(vk::SharingMode::EXCLUSIVE)
        } else {
            info.sharing_mode(vk::SharingMode::CONCURRENT)
                .queue_family_indices(desc.concurrent)
        };
        Ok(info)
    }

    /// Destroys an image and frees its memory.
    ///
    /// # Safety
    /// The type's contract: `image` came from this allocator and no pending GPU work uses it.
    /// Views of it must be destroyed first.
    pub unsafe fn destroy_image(&self, image: GpuImage) {
        let GpuImage {
            raw, mut memory, ..
        } = image;
        tracing::debug!(target: "vkup_allocator", image = ?raw, "destroying image");
        // SAFETY: forwarded from this function's contract; the handle is consumed.
        unsafe { self.vma.destroy_image(raw, &mut memory.allocation) };
    }

    /// Bytes an image of `info` needs, for error reports (0 where the device cannot say).
    fn image_size(&self, info: &vk::ImageCreateInfo<'_>) -> vk::DeviceSize {
        self.image_info_requirements(info).map_or(0, |r| r.size)
    }

    /// Refuses a handle or memory block another allocator made: its VMA allocation means
    /// nothing to this allocator's VMA (another device's, or another VMA's bookkeeping).
    pub(crate) fn check_owner(&self, owner: AllocatorId, what: &'static str) -> Result<()> {
        if owner != self.id {
            return Err(Error::ForeignHandle { what });
        }
        Ok(())
    }

    pub(crate) fn vma_ref(&self) -> &vk_mem::Allocator {
        &self.vma
    }

    /// Takes the VMA allocator out, for teardown. `self` must not be used afterwards.
    pub(crate) fn take_vma(&mut self) -> Arc<vk_mem::Allocator> {
        // SAFETY: called once, from `Drop` or `destroy`, which never touch `self.vma` again.
        unsafe { ManuallyDrop::take(&mut self.vma) }
    }
}
