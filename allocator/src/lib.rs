//! Stateless creation and destruction of Vulkan buffers and images through VMA.
//!
//! An [`Allocator`] turns "a 4 MiB vertex buffer" or "a 2048x2048 sRGB texture with a full mip
//! chain" into a `VkBuffer` / `VkImage` with memory bound, and back again. It is a service, not an
//! owner:
//!
//! - it hands back plain handles ([`GpuBuffer`], [`GpuImage`]) and keeps **no list** of them; the
//!   renderer's systems track what they create and destroy it (per scene, say);
//! - handles are neither `Copy` nor `Clone` and `destroy_*` takes them by value, so a double
//!   destroy does not compile;
//! - descriptions are checked against the device before anything reaches Vulkan, and every
//!   failure is a typed [`Error`]; out-of-memory leaves the allocator fully usable;
//! - it is `Send + Sync` with no lock of its own: VMA synchronises internally;
//! - its debug utilities ([`Allocator::statistics`], [`Allocator::json_dump`],
//!   [`Allocator::leak_report`], debug names) observe and never enforce. Dropping an allocator
//!   with live allocations logs a [`LeakReport`] instead of letting VMA abort the process.
//!
//! What it deliberately does not do: pooling, reference counting, deferred destruction, uploads
//! (see the `staging` crate) or anything that records commands.
//!
//! # Soundness
//! Safe methods never reach memory they must not. What each relies on:
//! - a handle's memory and mapping live exactly as long as the handle (handles are not `Clone`,
//!   and `destroy_*` consumes them), so a mapped pointer read through a handle is live;
//! - every handle and memory block carries the allocator that made it, and every safe method
//!   refuses one of another allocator, of this device or another ([`Error::ForeignHandle`]),
//!   before VMA or Vulkan sees it (`create_placed_*` included:
//!   VUID-vkBindBufferMemory-memory-parent);
//! - host access and GPU access to the same bytes are never both safe: the GPU reaches a
//!   resource only through commands recorded with its raw handle, which is `unsafe` code (ash's,
//!   or `staging`'s recording functions), and that code carries the duty to order the GPU's
//!   access against the host's (a fence or timeline wait before [`Allocator::read`] of what the
//!   GPU wrote, none of [`Allocator::write`] into what a pending submission reads);
//! - every host read, write, flush and invalidate is range-checked against the resource's size
//!   with checked arithmetic (`Error::OutOfBounds`), and refused on memory the host may not touch
//!   (`Error::NotMappable`); a [`Mapping`] borrows its resource and checks its own ranges;
//! - every description is validated before the first Vulkan call (flags, usage, formats,
//!   features and limits), so only valid create infos reach Vulkan, and only core format values
//!   reach `vkGetPhysicalDeviceImageFormatProperties`; the [`placement`] planner's sums are
//!   checked ([`placement::Placement::total`] and its neighbours return errors, never wrapped
//!   numbers);
//! - the `unsafe` methods list the caller's duties: `new` (handles that match the description),
//!   `destroy_*` / `free_memory` (this allocator's handle, no pending GPU work),
//!   [`GpuBuffer::allocation`] / [`GpuImage::allocation`] (vk-mem's `Copy` allocation, used only
//!   while its handle lives), and [`Allocator::flush_host`], whose [`HostAccess`] is plain data that does not keep its buffer
//!   alive (the buffer must still exist).
//!
//! # Stability
//! The stable surface is the crate root and [`placement`]. The escape hatches to VMA itself,
//! [`Allocator::vma`], [`GpuBuffer::allocation`] / [`GpuImage::allocation`] and the `vk_mem`
//! re-export, are not: they follow whichever vk-mem release this crate is built on, and may
//! change or go in any release. [`Error`] is `#[non_exhaustive]`: variants may be added.
//!
//! The crate takes any vk-mem 0.5.x (so it shares the renderer's own) and reads nothing vk-mem
//! keeps private: the JSON dump reaches VMA's C function through the allocator handle VMA hands
//! its device-memory callback.
//!
//! ```no_run
//! use vkup_allocator::{Allocator, AllocatorDesc, BufferDesc, ImageDesc, MemoryIntent};
//! use ash::vk;
//!
//! # fn demo(instance: &ash::Instance, physical_device: vk::PhysicalDevice, device: &ash::Device)
//! # -> vkup_allocator::Result<()> {
//! let desc = AllocatorDesc::new(instance, physical_device, device);
//! // SAFETY: the handles outlive the allocator, and `desc` matches how the device was created.
//! let allocator = unsafe { Allocator::new(&desc)? };
//!
//! let mut uniforms = allocator.create_buffer(
//!     &BufferDesc::new(256, vk::BufferUsageFlags::UNIFORM_BUFFER)
//!         .memory(MemoryIntent::CpuToGpu)
//!         .name("frame uniforms"),
//! )?;
//! allocator.write(&mut uniforms, 0, &[1.0f32, 0.5, 0.25, 1.0])?;
//!
//! let albedo = allocator.create_image(
//!     &ImageDesc::texture_2d(vk::Format::R8G8B8A8_SRGB, 2048, 2048).name("albedo"),
//! )?;
//! assert_eq!(albedo.mip_levels(), 12);
//!
//! // SAFETY: no submitted work uses them.
//! unsafe {
//!     allocator.destroy_image(albedo);
//!     allocator.destroy_buffer(uniforms);
//! }
//! allocator.destroy().expect("nothing leaked");
//! # Ok(()) }
//! ```

#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]
#![warn(missing_docs)]

mod allocator;
mod debug;
mod desc;
mod error;
mod format_cache;
mod handle;
mod host;
mod import;
mod placed;
pub mod placement;
mod validate;
mod vma_c;

pub use crate::allocator::{Allocator, AllocatorDesc};
pub use crate::debug::{HeapStatistics, LeakReport, Leaked, LeakedAllocation, Statistics};
pub use crate::desc::{
    full_mip_chain, level_extent, BufferDesc, ImageDesc, ImageDimension, MemoryDesc, MemoryIntent,
    MipLevels,
};
pub use crate::error::{Error, Result};
pub use crate::handle::{GpuBuffer, GpuImage, HostAccess};
pub use crate::host::Mapping;
pub use crate::import::HostImport;
pub use crate::placed::{GpuMemory, ImageInfo, PlacedBuffer, PlacedImage};

pub use ash;
pub use vk_mem;

/// The crate README's example, compiled as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
