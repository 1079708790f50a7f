//! Mip generation: a blit chain for any blittable image, and a single-pass compute downsampler for
//! 2D colour images that beats it.
//!
//! Both record into the caller's command buffer, take the state the image is in (with the data in
//! its base level) and leave every level in the state the caller asks for.
//!
//! - **Blit**: one `vkCmdBlitImage2` per level with linear filtering, each level's extent
//!   `max(1, previous / 2)` in every dimension (so 257x129, 1x1024 and 3D images work), sRGB
//!   filtered in linear space as the spec requires of blits. Refused with a typed error, before
//!   anything is recorded, where the format lacks `BLIT_SRC`, `BLIT_DST` or linear filtering.
//! - **Compute**: `shaders/downsample.comp`, in the manner of AMD's SPD: one dispatch makes up to
//!   6 levels (a workgroup per 64x64 tile of the source; the second level in registers, the rest
//!   through shared memory), a longer chain takes another dispatch, and an odd level, filtered
//!   with exact 3-tap area weights rather than a 2x2 box that drops texels, starts a new
//!   dispatch unless one workgroup makes the whole level or, on small levels, a windowed
//!   dispatch continues past it (each workgroup making the overlapping windows its 3x3 tile of
//!   the last level depends on). Where a dispatch's last level fits one tile, the workgroup of
//!   each layer that finishes it last, counted in on an arrival counter, makes the rest of the
//!   chain (its tail) instead of a dispatch of its own: 1920x1080 in 2 dispatches, not 4. The
//!   counters live in a 16 KiB host-visible buffer the generator owns, zeroed when made and left
//!   zero by every dispatch that uses them. RGBA8 UNORM, RGBA8 sRGB
//!   (encoding in the shader; the image needs `MUTABLE_FORMAT`) and RGBA16F. RGBA8 images with
//!   `MUTABLE_FORMAT` and `SAMPLED` usage go through `R32_UINT` views and gather their source
//!   through the texture path, the fastest form on an H200 (see `BENCHMARKS.md`).

mod blit;
mod compute;
mod plan;

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Mutex;

use ash::vk;
use vkup_allocator::Allocator;

use crate::access::ResourceState;
use crate::barrier::BarrierBatch;
use crate::check;
use crate::error::{Error, Result};
use crate::target::ImageTarget;
use crate::upload::Finished;

use compute::{layout_fits, storage_format, ComputePipelines};
pub use plan::{plan_compute_passes, MipKernel, MipPass};

/// How mips are made.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum MipMethod {
    /// Compute where the image and device allow it, blit otherwise; blit on CPU devices
    /// (lavapipe), where the shader runs on the host: measured there 7.5x slower than the blit
    /// chain (396 ms against 52.6 ms for a 4096x4096 sRGB chain).
    #[default]
    Auto,
    /// The blit chain.
    Blit,
    /// The compute downsampler.
    Compute,
}

/// Which level holds the data, which levels to make, and how.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MipOptions {
    /// The level that holds the data (0 by default); the levels above it are made.
    pub base_level: u32,
    /// Blit, compute, or whichever the image allows (compute first).
    pub method: MipMethod,
    /// `None` (the default): the whole image is in the `from` state and ends in `to`, and every
    /// level above the base is made. `Some(n)`: only levels `base_level..base_level + n` (all
    /// layers) are touched: they are in `from` and end in `to`, levels `base_level + 1..` of
    /// them are made, and every other level keeps its state and contents, so a renderer can go
    /// on sampling the levels it already has while new ones stream in.
    pub level_count: Option<u32>,
}

impl MipOptions {
    /// Forces `method`.
    pub fn method(mut self, method: MipMethod) -> Self {
        self.method = method;
        self
    }

    /// Makes the levels above `base_level`.
    pub fn base_level(mut self, base_level: u32) -> Self {
        self.base_level = base_level;
        self
    }

    /// Touches only `count` levels from the base (see [`MipOptions::level_count`]).
    pub fn level_count(mut self, count: u32) -> Self {
        self.level_count = Some(count);
        self
    }
}

/// The levels a generation touches: `base` holds the data, `base + 1..end` are made; `whole`
/// when the rest of the image (levels below `base`) moves from `from` to `to` too.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Levels {
    pub base: u32,
    pub end: u32,
    pub whole: bool,
}

/// What a compute generation leaves for the caller to destroy once the submission completes.
#[derive(Debug, Default)]
#[must_use = "scratch that is dropped leaks its views: destroy it after the submission completes"]
pub struct MipScratch {
    views: Vec<vk::ImageView>,
    pool: vk::DescriptorPool,
}

impl MipScratch {
    /// Destroys the views and the descriptor pool.
    ///
    /// # Safety
    /// The submission that used them has completed; `device` made them.
    pub unsafe fn destroy(self, device: &ash::Device) {
        // SAFETY: forwarded from this function's contract.
        unsafe {
            for view in self.views {
                device.destroy_image_view(view, None);
            }
            if self.pool != vk::DescriptorPool::null() {
                device.destroy_descriptor_pool(self.pool, None);
            }
        }
    }
}

/// Format facts for mip generation, and the compute pipelines, built the first time the compute
/// path runs (a renderer that only blits never pays for them) or when [`MipGenerator::prepare`]
/// asks, through the caller's pipeline cache where one is given
/// ([`MipGenerator::pipeline_cache`]). Holds no per-image state.
pub struct MipGenerator {
    device: ash::Device,
    instance: ash::Instance,
    physical_device: vk::PhysicalDevice,
    queue_families: u32,
    cpu_device: bool,
    /// Whether the device binds as many storage images per stage as the compute path does.
    compute_fits: bool,
    memory: vk::PhysicalDeviceMemoryProperties,
    compute: Mutex<Option<ComputePipelines>>,
    /// What the compute pipelines are built through (null: none).
    cache: vk::PipelineCache,
    /// Where the next dispatch with a tail takes its arrival counters (see [`Self::take_counters`]).
    next_counter: AtomicU32,
}

impl std::fmt::Debug for MipGenerator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MipGenerator").finish_non_exhaustive()
    }
}

impl MipGenerator {
    /// A generator for the device `allocator` creates resources on. Creates nothing yet: the
    /// compute pipelines are built on the first compute generation.
    ///
    /// # Safety
    /// The allocator's instance and device stay valid for as long as the generator is used: it
    /// keeps asking the instance for format capabilities after `allocator` may be gone.
    pub unsafe fn new(allocator: &Allocator) -> Result<Self> {
        let (instance, physical_device) = (allocator.instance(), allocator.physical_device());
        // SAFETY: an allocator's physical device belongs to its instance (its constructor's
        // contract).
        let (props, memory, queue_families) = unsafe {
            (
                instance.get_physical_device_properties(physical_device),
                instance.get_physical_device_memory_properties(physical_device),
                check::queue_family_count(instance, physical_device),
            )
        };
        Ok(Self {
            device: allocator.device().clone(),
            instance: instance.clone(),
            physical_device,
            queue_families,
            cpu_device: props.device_type == vk::PhysicalDeviceType::CPU,
            compute_fits: layout_fits(&props.limits),
            memory,
            compute: Mutex::new(None),
            cache: vk::PipelineCache::null(),
            next_counter: AtomicU32::new(0),
        })
    }

    /// Builds the compute pipelines through `cache` (a `VkPipelineCache` the caller persists,
    /// say), so that a later run of the program finds them compiled.
    ///
    /// # Safety
    /// `cache` is a pipeline cache of the allocator's device, alive until the pipelines are
    /// built ([`MipGenerator::prepare`], or the first compute generation) or the generator is
    /// destroyed; created without `VK_PIPELINE_CACHE_CREATE_EXTERNALLY_SYNCHRONIZED_BIT`, or
    /// used by nothing else while the generator may build.
    pub unsafe fn pipeline_cache(mut self, cache: vk::PipelineCache) -> Self {
        self.cache = cache;
        self
    }

    /// Builds now what generating with [`MipMethod::Auto`] would otherwise build on its first
    /// compute generation: the compute pipelines, where `Auto` takes compute (not on a CPU
    /// device, which blits). Call it at start-up, so that the first load pays no shader compile.
    /// Building twice builds once.
    pub fn prepare(&self) -> Result<()> {
        if self.cpu_device || !self.compute_fits {
            return Ok(());
        }
        self.compute_pipelines().map(|_| ())
    }

    /// Whether the compute pipelines have been built (by a compute generation).
    pub fn compute_pipelines_built(&self) -> bool {
        self.compute
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .is_some()
    }

    /// The compute pipelines, built on first use.
    fn compute_pipelines(&self) -> Result<ComputePipelines> {
        let mut slot = self
            .compute
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(pipelines) = *slot {
            return Ok(pipelines);
        }
        // SAFETY: the device is valid and `memory` its physical device's (constructor contract).
        // `cache`: null, or live until the pipelines are built (`pipeline_cache`'s contract).
        let pipelines = unsafe { ComputePipelines::new(&self.device, &self.memory, self.cache) }?;
        *slot = Some(pipelines);
        Ok(pipelines)
    }

    /// `count` consecutive arrival counters for a dispatch with a tail, the first returned: the
    /// ones after the last dispatch's, from the start again where they would run past the end.
    /// Every such dispatch waits behind a barrier for the compute work recorded before it on its
    /// queue, so counters in use at once belong to different queues, which this keeps apart
    /// (unless over [`compute::COUNTERS`] layers are in flight on them at once).
    fn take_counters(&self, count: u32) -> u32 {
        let mut next = self.next_counter.load(Ordering::Relaxed);
        loop {
            let first = if next.saturating_add(count) > compute::COUNTERS {
                0
            } else {
                next
            };
            match self.next_counter.compare_exchange_weak(
                next,
                first + count,
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => return first,
                Err(seen) => next = seen,
            }
        }
    }

    /// Destroys the pipelines, if they were built.
    ///
    /// # Safety
    /// No pending work uses them.
    pub unsafe fn destroy(self) {
        let built = self
            .compute
            .into_inner()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(pipelines) = built {
            // SAFETY: forwarded from this function's contract.
            unsafe { pipelines.destroy(&self.device) };
        }
    }

    fn features(&self, format: vk::Format) -> vk::FormatFeatureFlags {
        // SAFETY: valid physical device of this instance.
        unsafe {
            self.instance
                .get_physical_device_format_properties(self.physical_device, format)
        }
        .optimal_tiling_features
    }

    /// Why the blit chain cannot make this image's mips, if it cannot.
    pub fn blit_refusal(&self, image: impl Into<ImageTarget>) -> Option<&'static str> {
        let image = &image.into();
        let needed = vk::FormatFeatureFlags::BLIT_SRC
            | vk::FormatFeatureFlags::BLIT_DST
            | vk::FormatFeatureFlags::SAMPLED_IMAGE_FILTER_LINEAR;
        if image.tiling() != vk::ImageTiling::OPTIMAL {
            return Some("only optimal-tiled images are blitted");
        }
        // Depth and stencil have no linear blit (VUID-VkBlitImageInfo2-srcImage-00232 asks for
        // NEAREST) and their mips want a min/max reduction, not an average.
        if crate::format::block_info(image.format())
            .is_none_or(|b| b.aspect != vk::ImageAspectFlags::COLOR)
        {
            return Some("only colour formats get mips (depth/stencil need a min/max reduction)");
        }
        // VUID-vkCmdBlitImage2-srcImage-00233
        if image.samples() != vk::SampleCountFlags::TYPE_1 {
            return Some("multisampled images cannot be blitted; resolve them first");
        }
        if !self.features(image.format()).contains(needed) {
            return Some("the format lacks BLIT_SRC, BLIT_DST or SAMPLED_IMAGE_FILTER_LINEAR");
        }
        let usage = vk::ImageUsageFlags::TRANSFER_SRC | vk::ImageUsageFlags::TRANSFER_DST;
        if !image.usage().contains(usage) {
            return Some("the image needs TRANSFER_SRC and TRANSFER_DST usage");
        }
        None
    }

    /// Why the compute path cannot make this image's mips, if it cannot.
    pub fn compute_refusal(&self, image: impl Into<ImageTarget>) -> Option<&'static str> {
        let image = &image.into();
        if !self.compute_fits {
            return Some("the device binds fewer than 14 storage images per compute stage");
        }
        if image.image_type() != vk::ImageType::TYPE_2D
            || image.samples() != vk::SampleCountFlags::TYPE_1
        {
            return Some("only single-sampled 2D images (arrays and cubes included)");
        }
        let Some((storage, srgb)) = storage_format(image.format()) else {
            return Some("only RGBA8 UNORM, RGBA8 sRGB and RGBA16F");
        };
        if !image.usage().contains(vk::ImageUsageFlags::STORAGE) {
            return Some("the image needs STORAGE usage");
        }
        if srgb && !image.flags().contains(vk::ImageCreateFlags::MUTABLE_FORMAT) {
            return Some("an sRGB image needs MUTABLE_FORMAT for its UNORM storage view");
        }
        if !self
            .features(storage)
            .contains(vk::FormatFeatureFlags::STORAGE_IMAGE)
        {
            return Some("the storage format lacks STORAGE_IMAGE");
        }
        None
    }

    /// Whether compute mips of `image` go through `R32_UINT` views and gather their source
    /// (RGBA8 with `MUTABLE_FORMAT`, which allows 32-bit views, and `SAMPLED` usage): a texel
    /// stays one register until used, and the source is read through the texture path.
    pub(crate) fn packs(&self, image: &ImageTarget) -> bool {
        matches!(
            image.format(),
            vk::Format::R8G8B8A8_UNORM | vk::Format::R8G8B8A8_SRGB
        ) && image.flags().contains(vk::ImageCreateFlags::MUTABLE_FORMAT)
            && image.usage().contains(vk::ImageUsageFlags::SAMPLED)
            && self.features(vk::Format::R32_UINT).contains(
                vk::FormatFeatureFlags::STORAGE_IMAGE | vk::FormatFeatureFlags::SAMPLED_IMAGE,
            )
    }

    /// The method `method` comes to for `image` (`Blit` or `Compute`), or why neither can run.
    pub fn resolve(&self, image: impl Into<ImageTarget>, method: MipMethod) -> Result<MipMethod> {
        let image = &image.into();
        let refuse = |method, reason| Error::MipsUnsupported {
            format: image.format(),
            method,
            reason,
        };
        let compute = match method {
            MipMethod::Blit => false,
            MipMethod::Compute => match self.compute_refusal(image) {
                Some(reason) => return Err(refuse(MipMethod::Compute, reason)),
                None => true,
            },
            MipMethod::Auto => !self.cpu_device && self.compute_refusal(image).is_none(),
        };
        if compute {
            return Ok(MipMethod::Compute);
        }
        match self.blit_refusal(image) {
            Some(reason) => Err(refuse(MipMethod::Blit, reason)),
            None => Ok(MipMethod::Blit),
        }
    }

    /// Records mip generation for `image`: its `options.base_level` holds the data and is in
    /// `from` (the whole image is, or the levels `options.level_count` names); levels above are
    /// overwritten; every level touched ends in `to`.
    ///
    /// # Safety
    /// `cmd` is recording on this generator's device, on a queue family with graphics (blit) or
    /// compute (compute) support; the image stays alive until the submission completes; the
    /// returned scratch is destroyed only after it completes.
    pub unsafe fn record(
        &self,
        cmd: vk::CommandBuffer,
        image: impl Into<ImageTarget>,
        from: ResourceState,
        to: ResourceState,
        options: MipOptions,
    ) -> Result<(Finished, MipScratch)> {
        let image = &image.into();
        let MipOptions {
            base_level,
            method,
            level_count,
        } = options;
        let invalid = |level| Error::InvalidSubresource {
            level,
            layer: 0,
            levels: image.mip_levels(),
            layers: image.array_layers(),
        };
        if base_level >= image.mip_levels() {
            return Err(invalid(base_level));
        }
        let levels = match level_count {
            None => Levels {
                base: base_level,
                end: image.mip_levels(),
                whole: true,
            },
            Some(0) => return Err(invalid(base_level)),
            Some(count) => match base_level.checked_add(count) {
                Some(end) if end <= image.mip_levels() => Levels {
                    base: base_level,
                    end,
                    whole: false,
                },
                _ => return Err(invalid(base_level.saturating_add(count) - 1)),
            },
        };
        check::image_states(image, from, to, self.queue_families)?;
        if self.resolve(image, method)? == MipMethod::Blit {
            // SAFETY: forwarded from this function's contract.
            let finished = unsafe { self.record_blits(cmd, image, levels, from, to) };
            return Ok((finished, MipScratch::default()));
        }
        // SAFETY: forwarded from this function's contract.
        unsafe { self.record_compute(cmd, image, levels, from, to) }
    }

    fn range(image: &ImageTarget, base: u32, count: u32) -> vk::ImageSubresourceRange {
        vk::ImageSubresourceRange {
            aspect_mask: vk::ImageAspectFlags::COLOR,
            base_mip_level: base,
            level_count: count,
            base_array_layer: 0,
            layer_count: image.array_layers(),
        }
    }

    /// The barriers before making levels: levels below the base go straight to `to` (untouched),
    /// the base level to `read`, and the levels above, which are overwritten, to `write` with
    /// their contents discarded (old layout UNDEFINED) while still ordered after whatever last
    /// touched them.
    fn enter(
        batch: &mut BarrierBatch,
        acquire: &mut BarrierBatch,
        image: &ImageTarget,
        range: Levels,
        (from, to): (ResourceState, ResourceState),
        (read, write): (ResourceState, ResourceState),
    ) {
        let raw = image.raw();
        let Levels {
            base,
            end: levels,
            whole,
        } = range;
        if whole && base > 0 {
            batch.image(raw, Self::range(image, 0, base), from, to, acquire);
        }
        batch.image_local(raw, Self::range(image, base, 1), from, read);
        if base + 1 < levels {
            let mut scratch = BarrierBatch::new();
            scratch.image_local(
                raw,
                Self::range(image, base + 1, levels - base - 1),
                from,
                write,
            );
            if let Some(&barrier) = scratch.image_barriers().first() {
                batch.push_raw_image(barrier.old_layout(vk::ImageLayout::UNDEFINED));
            }
        }
    }
}
