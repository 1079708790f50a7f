//! The VMA entry points vk-mem does not wrap, reached through VMA's C interface only.
//!
//! vk-mem has no wrapper for the JSON statistics string (`vmaBuildStatsString` /
//! `vmaFreeStatsString`), which the JSON dump and the named leak report are built on. The C
//! functions are in the static `vma` library vk-mem compiles and links into every binary that uses
//! it, so declaring them is enough; what they need is the raw `VmaAllocator`, which vk-mem keeps in
//! a private field. Nothing here reads vk-mem's Rust layout for it: VMA hands the handle to the
//! device-memory callback it calls after each `vkAllocateMemory`
//! (`VmaDeviceMemoryCallbacks::pfnAllocate`, whose first argument is the allocator), and
//! [`HandleSlot`] is that callback's user data. Any live allocation lives in memory VMA allocated,
//! so by the time there is anything to describe, the slot holds the handle.
//!
//! vk-mem takes the callbacks through a public field whose type its private `ffi` module declares
//! without exporting; [`HandleSlot::callbacks`] builds the C structure (`VmaDeviceMemoryCallbacks`,
//! fixed by VMA's header since 2.0) with a `#[repr(C)]` mirror, checked against vk-mem's type for
//! size and alignment at compile time.

use std::ffi::{c_char, c_void, CStr};
use std::mem::{align_of, size_of};
use std::sync::atomic::{AtomicPtr, Ordering};

use ash::vk;

type VmaAllocator = *mut c_void;

extern "C" {
    fn vmaBuildStatsString(allocator: VmaAllocator, out: *mut *mut c_char, detailed_map: u32);
    fn vmaFreeStatsString(allocator: VmaAllocator, string: *mut c_char);
}

/// `VmaDeviceMemoryCallbacks` of `vk_mem_alloc.h`.
#[repr(C)]
pub(crate) struct DeviceMemoryCallbacks {
    allocate: Option<
        unsafe extern "C" fn(VmaAllocator, u32, vk::DeviceMemory, vk::DeviceSize, *mut c_void),
    >,
    free: Option<
        unsafe extern "C" fn(VmaAllocator, u32, vk::DeviceMemory, vk::DeviceSize, *mut c_void),
    >,
    user_data: *mut c_void,
}

/// Where VMA's allocate callback leaves the allocator's handle. Boxed by its owner so that its
/// address, which VMA holds as user data, never moves.
#[derive(Debug, Default)]
pub(crate) struct HandleSlot(AtomicPtr<c_void>);

/// VMA calls this after every successful `vkAllocateMemory`, from whichever thread allocated.
unsafe extern "C" fn on_allocate(
    allocator: VmaAllocator,
    _memory_type: u32,
    _memory: vk::DeviceMemory,
    _size: vk::DeviceSize,
    user_data: *mut c_void,
) {
    // SAFETY: `user_data` is the address of the `HandleSlot` the callbacks were built from, which
    // its owner keeps alive for as long as VMA may call (see `HandleSlot::callbacks`). Storing an
    // atomic neither panics nor blocks.
    unsafe {
        (*user_data.cast::<HandleSlot>())
            .0
            .store(allocator, Ordering::Release)
    };
}

impl HandleSlot {
    /// The callbacks to create VMA with, typed as vk-mem's `AllocatorCreateInfo` field wants them
    /// (the type is inferred from that field: vk-mem does not export its name).
    ///
    /// # Safety
    /// `T` is vk-mem's `VmaDeviceMemoryCallbacks` (size and alignment are checked); the slot
    /// outlives the VMA allocator created with the result (VMA copies the structure itself while
    /// it is created, so `storage` need only live until then).
    pub(crate) unsafe fn callbacks<'a, T>(
        &self,
        storage: &'a mut Option<DeviceMemoryCallbacks>,
    ) -> &'a T {
        const {
            assert!(size_of::<T>() == size_of::<DeviceMemoryCallbacks>());
            assert!(align_of::<T>() == align_of::<DeviceMemoryCallbacks>());
        }
        let ours = storage.insert(DeviceMemoryCallbacks {
            allocate: Some(on_allocate),
            free: None,
            user_data: std::ptr::from_ref(self).cast_mut().cast(),
        });
        // SAFETY: `T` is the bindgen mirror of the same C structure (caller's duty), with the
        // same size and alignment (checked above): two `Option<extern fn>` and a pointer.
        unsafe { &*std::ptr::from_mut(ours).cast::<T>() }
    }

    /// The allocator's handle, once VMA has allocated any device memory.
    fn handle(&self) -> Option<VmaAllocator> {
        let raw = self.0.load(Ordering::Acquire);
        (!raw.is_null()).then_some(raw)
    }

    /// VMA's JSON description of every heap, memory type and block; with `detailed`, of every
    /// allocation too (type, size, usage and name). `None` until VMA has allocated device memory.
    ///
    /// # Safety
    /// The VMA allocator this slot was given to is alive.
    pub(crate) unsafe fn stats_json(&self, detailed: bool) -> Option<String> {
        let raw = self.handle()?;
        let mut text: *mut c_char = std::ptr::null_mut();
        // SAFETY: `raw` is the live allocator (caller's duty); VMA writes a NUL-terminated string
        // it owns into `text`, which is read once and handed back to vmaFreeStatsString.
        unsafe {
            vmaBuildStatsString(raw, &mut text, u32::from(detailed));
            if text.is_null() {
                return Some(String::new());
            }
            let json = CStr::from_ptr(text).to_string_lossy().into_owned();
            vmaFreeStatsString(raw, text);
            Some(json)
        }
    }
}
