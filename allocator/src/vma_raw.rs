//! The VMA entry points vk-mem 0.5.0 compiles but does not expose, kept to two needs:
//!
//! - the JSON statistics string (`vmaBuildStatsString` / `vmaFreeStatsString`), which has no Rust
//!   wrapper at all;
//! - `vmaGetAllocationMemoryProperties`, on the GpuOnly create path: the public alternative
//!   (`get_allocation_info`, which zeroes, fills and converts the whole info struct, then the
//!   memory-type table) measured 5-8% slower per create+destroy pair on lavapipe (GpuOnly pairs at
//!   0.82-0.86x raw vk-mem against 0.90x with this call).
//!
//! Names no longer come through here: VMA takes them at creation from `user_data` with
//! `AllocationCreateFlags::USER_DATA_COPY_STRING`. vk-mem keeps its `ffi` module private and the
//! raw `VmaAllocator` / `VmaAllocation` pointers in private fields; the C functions are in the
//! static `vma` library vk-mem links into every binary that uses it, so declaring them is enough.
//! The raw handles are read through the wrappers' layout, which the assertions below pin down at
//! compile time; the workspace pins vk-mem to exactly 0.5.0 so that layout cannot change
//! underneath us.

use std::ffi::{c_char, c_void, CStr};
use std::mem::{align_of, size_of};

use ash::vk;

type VmaAllocator = *mut c_void;
type VmaAllocation = *mut c_void;

extern "C" {
    fn vmaBuildStatsString(allocator: VmaAllocator, out: *mut *mut c_char, detailed_map: u32);
    fn vmaFreeStatsString(allocator: VmaAllocator, string: *mut c_char);
    fn vmaGetAllocationMemoryProperties(
        allocator: VmaAllocator,
        allocation: VmaAllocation,
        flags: *mut vk::MemoryPropertyFlags,
    );
}

// vk-mem 0.5.0 declares `struct Allocator { internal: ffi::VmaAllocator }` and
// `struct Allocation(ffi::VmaAllocation)`. A struct with a single pointer-sized field whose own size
// and alignment equal the pointer's has that field at offset 0: there is no room for anything else.
const _: () = assert!(size_of::<vk_mem::Allocator>() == size_of::<VmaAllocator>());
const _: () = assert!(align_of::<vk_mem::Allocator>() == align_of::<VmaAllocator>());
const _: () = assert!(size_of::<vk_mem::Allocation>() == size_of::<VmaAllocation>());
const _: () = assert!(align_of::<vk_mem::Allocation>() == align_of::<VmaAllocation>());

fn raw_allocator(vma: &vk_mem::Allocator) -> VmaAllocator {
    // SAFETY: the assertions above show the only field, the VmaAllocator pointer, is at offset 0;
    // reading it copies a pointer and changes nothing.
    unsafe { *(vma as *const vk_mem::Allocator).cast::<VmaAllocator>() }
}

fn raw_allocation(allocation: &vk_mem::Allocation) -> VmaAllocation {
    // SAFETY: as for `raw_allocator`: the VmaAllocation pointer is the struct's only field.
    unsafe { *(allocation as *const vk_mem::Allocation).cast::<VmaAllocation>() }
}

/// VMA's JSON description of every heap, memory type and block; with `detailed`, of every
/// allocation too (type, size, usage and name).
pub(crate) fn stats_json(vma: &vk_mem::Allocator, detailed: bool) -> String {
    let raw = raw_allocator(vma);
    let mut text: *mut c_char = std::ptr::null_mut();
    // SAFETY: `raw` is a live allocator (borrowed from `vma`); VMA writes a NUL-terminated string it
    // owns into `text`, which is read once and handed back to vmaFreeStatsString.
    unsafe {
        vmaBuildStatsString(raw, &mut text, u32::from(detailed));
        if text.is_null() {
            return String::new();
        }
        let json = CStr::from_ptr(text).to_string_lossy().into_owned();
        vmaFreeStatsString(raw, text);
        json
    }
}

/// Property flags of the memory type `allocation` lives in.
pub(crate) fn memory_flags(
    vma: &vk_mem::Allocator,
    allocation: &vk_mem::Allocation,
) -> vk::MemoryPropertyFlags {
    let mut flags = vk::MemoryPropertyFlags::empty();
    // SAFETY: both handles are live (borrowed); VMA writes one flags value (a repr(transparent)
    // u32, as VkMemoryPropertyFlags is in C) and keeps no pointer.
    unsafe {
        vmaGetAllocationMemoryProperties(raw_allocator(vma), raw_allocation(allocation), &mut flags)
    };
    flags
}
