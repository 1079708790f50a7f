//! The single-pass compute downsampler (`shaders/downsample.comp`), and its pipelines, built
//! on first use.

use ash::vk;

use super::plan::{level_extent, plan_compute_passes, MipKernel, LEVELS_PER_DISPATCH, WINDOW_TILE};
use super::{Levels, MipGenerator, MipMethod, MipScratch};
use crate::access::{Access, ResourceState};
use crate::barrier::BarrierBatch;
use crate::error::{Error, Result};
use crate::target::ImageTarget;
use crate::upload::Finished;

const SPIRV_RGBA8: &[u8] = include_bytes!("../../spirv/downsample_rgba8.spv");
const SPIRV_RGBA8_PACKED: &[u8] = include_bytes!("../../spirv/downsample_rgba8_packed.spv");
const SPIRV_RGBA16F: &[u8] = include_bytes!("../../spirv/downsample_rgba16f.spv");

/// Destination views bound per dispatch (`dst[12]` in the shader): its levels and its tail's.
const DST_BINDINGS: u32 = 2 * LEVELS_PER_DISPATCH;

/// Arrival counters (one per layer of a dispatch with a tail) in the generator's counter buffer.
/// A dispatch with more layers than this makes no tail: its last levels take a dispatch.
pub(super) const COUNTERS: u32 = 4096;

/// Every kernel, each with a pipeline per storage form.
const KERNELS: [MipKernel; 3] = [MipKernel::General, MipKernel::AllEven, MipKernel::Windowed];

/// Where `kernel`'s pipeline sits in a storage form's array.
fn slot(kernel: MipKernel) -> usize {
    match kernel {
        MipKernel::General => 0,
        MipKernel::AllEven => 1,
        MipKernel::Windowed => 2,
    }
}

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Push {
    src_size: [i32; 2],
    levels: u32,
    srgb: u32,
    /// Windowed kernel: the side of a workgroup's tile of its last level.
    tile: i32,
    /// Levels the last workgroup of each layer makes after the dispatch's own.
    tail: u32,
    /// The dispatch's first arrival counter.
    counter: u32,
}

/// Storage images a dispatch binds: level S, the destinations, and the level its tail reads.
const STORAGE_IMAGES: u32 = DST_BINDINGS + 2;

/// Whether the device binds as many storage images per compute stage as the downsampler does
/// (the spec's minimum is 4).
pub(super) fn layout_fits(limits: &vk::PhysicalDeviceLimits) -> bool {
    limits.max_per_stage_descriptor_storage_images >= STORAGE_IMAGES
        && limits.max_descriptor_set_storage_images >= STORAGE_IMAGES
}

/// The compute path's storage format for an image format, and whether values are sRGB-encoded.
pub(super) fn storage_format(format: vk::Format) -> Option<(vk::Format, bool)> {
    match format {
        vk::Format::R8G8B8A8_UNORM => Some((vk::Format::R8G8B8A8_UNORM, false)),
        vk::Format::R8G8B8A8_SRGB => Some((vk::Format::R8G8B8A8_UNORM, true)),
        vk::Format::R16G16B16A16_SFLOAT => Some((vk::Format::R16G16B16A16_SFLOAT, false)),
        _ => None,
    }
}

/// A descriptor write of storage images at `binding` of `set`.
fn storage_images<'a>(
    set: vk::DescriptorSet,
    binding: u32,
    info: &'a [vk::DescriptorImageInfo],
) -> vk::WriteDescriptorSet<'a> {
    vk::WriteDescriptorSet::default()
        .dst_set(set)
        .dst_binding(binding)
        .descriptor_type(vk::DescriptorType::STORAGE_IMAGE)
        .image_info(info)
}

fn shader_module(device: &ash::Device, bytes: &[u8]) -> Result<vk::ShaderModule> {
    let words = ash::util::read_spv(&mut std::io::Cursor::new(bytes))
        .map_err(|_| Error::Vulkan(vk::Result::ERROR_INVALID_SHADER_NV))?;
    let info = vk::ShaderModuleCreateInfo::default().code(&words);
    // SAFETY: valid device; the words are the SPIR-V built from shaders/downsample.comp.
    Ok(unsafe { device.create_shader_module(&info, None) }?)
}

/// The compute path's Vulkan objects: made together on first use, destroyed together.
#[derive(Clone, Copy, Debug)]
pub(super) struct ComputePipelines {
    /// Nearest, clamp to edge: the packed kernels gather level S through it.
    sampler: vk::Sampler,
    set_layout: vk::DescriptorSetLayout,
    layout: vk::PipelineLayout,
    /// [`COUNTERS`] arrival counters, zeroed by the host when made and left zero by every
    /// dispatch that uses one, in host-visible memory (device-local where the device has such).
    counters: vk::Buffer,
    counter_memory: vk::DeviceMemory,
    /// Pipelines per storage format, one per kernel, at [`slot`].
    rgba8: [vk::Pipeline; KERNELS.len()],
    /// RGBA8 through `R32_UINT` views (images with `MUTABLE_FORMAT` and `SAMPLED`), gathering
    /// level S.
    rgba8_packed: [vk::Pipeline; KERNELS.len()],
    rgba16f: [vk::Pipeline; KERNELS.len()],
}

impl ComputePipelines {
    /// Builds the sampler, the counter buffer, the descriptor set layout, the pipeline layout
    /// and the nine pipelines; on failure destroys what it made.
    ///
    /// # Safety
    /// `device` is valid; `memory` are the memory properties of its physical device; `cache` is
    /// null or a live pipeline cache of `device`.
    pub(super) unsafe fn new(
        device: &ash::Device,
        memory: &vk::PhysicalDeviceMemoryProperties,
        cache: vk::PipelineCache,
    ) -> Result<Self> {
        let sampler_info = vk::SamplerCreateInfo::default()
            .mag_filter(vk::Filter::NEAREST)
            .min_filter(vk::Filter::NEAREST)
            .mipmap_mode(vk::SamplerMipmapMode::NEAREST)
            .address_mode_u(vk::SamplerAddressMode::CLAMP_TO_EDGE)
            .address_mode_v(vk::SamplerAddressMode::CLAMP_TO_EDGE)
            .address_mode_w(vk::SamplerAddressMode::CLAMP_TO_EDGE);
        // SAFETY: valid device (this function's contract); destroyed in `destroy`, or below if a
        // later step fails.
        let sampler = unsafe { device.create_sampler(&sampler_info, None) }?;
        let samplers = [sampler];
        let bindings = [
            vk::DescriptorSetLayoutBinding::default()
                .binding(0)
                .descriptor_type(vk::DescriptorType::STORAGE_IMAGE)
                .descriptor_count(1)
                .stage_flags(vk::ShaderStageFlags::COMPUTE),
            vk::DescriptorSetLayoutBinding::default()
                .binding(1)
                .descriptor_type(vk::DescriptorType::STORAGE_IMAGE)
                .descriptor_count(DST_BINDINGS)
                .stage_flags(vk::ShaderStageFlags::COMPUTE),
            // Level S again, sampled (the packed kernels only).
            vk::DescriptorSetLayoutBinding::default()
                .binding(2)
                .descriptor_type(vk::DescriptorType::COMBINED_IMAGE_SAMPLER)
                .descriptor_count(1)
                .stage_flags(vk::ShaderStageFlags::COMPUTE)
                .immutable_samplers(&samplers),
            // The dispatch's last level, read back for its tail.
            vk::DescriptorSetLayoutBinding::default()
                .binding(3)
                .descriptor_type(vk::DescriptorType::STORAGE_IMAGE)
                .descriptor_count(1)
                .stage_flags(vk::ShaderStageFlags::COMPUTE),
            // The arrival counters.
            vk::DescriptorSetLayoutBinding::default()
                .binding(4)
                .descriptor_type(vk::DescriptorType::STORAGE_BUFFER)
                .descriptor_count(1)
                .stage_flags(vk::ShaderStageFlags::COMPUTE),
        ];
        let ranges = [vk::PushConstantRange::default()
            .stage_flags(vk::ShaderStageFlags::COMPUTE)
            .size(std::mem::size_of::<Push>() as u32)];
        // Every handle starts null and is filled in as it is made; on failure `destroy` takes
        // what was made (destroying a null handle does nothing).
        let mut made = Self {
            sampler,
            counters: vk::Buffer::null(),
            counter_memory: vk::DeviceMemory::null(),
            set_layout: vk::DescriptorSetLayout::null(),
            layout: vk::PipelineLayout::null(),
            rgba8: [vk::Pipeline::null(); KERNELS.len()],
            rgba8_packed: [vk::Pipeline::null(); KERNELS.len()],
            rgba16f: [vk::Pipeline::null(); KERNELS.len()],
        };
        // SAFETY: valid device and its memory properties (this function's contract); each object
        // made here is destroyed in `destroy`, or right below if a later step fails; the counter
        // memory is host-visible, mapped whole and written before anything can use it.
        let built = unsafe {
            (|| -> Result<()> {
                let size = u64::from(COUNTERS) * 4;
                made.counters = device.create_buffer(
                    &vk::BufferCreateInfo::default()
                        .size(size)
                        .usage(vk::BufferUsageFlags::STORAGE_BUFFER),
                    None,
                )?;
                let needs = device.get_buffer_memory_requirements(made.counters);
                // Zeroed by the host, so no command buffer has to clear them before first use;
                // every buffer may live in some host-visible coherent type (the spec's
                // memoryTypeBits guarantee), device-local preferred.
                let host =
                    vk::MemoryPropertyFlags::HOST_VISIBLE | vk::MemoryPropertyFlags::HOST_COHERENT;
                let pick = |wanted: vk::MemoryPropertyFlags| {
                    (0..memory.memory_type_count).find(|&i| {
                        needs.memory_type_bits & (1 << i) != 0
                            && memory.memory_types[i as usize]
                                .property_flags
                                .contains(wanted)
                    })
                };
                let memory_type = pick(host | vk::MemoryPropertyFlags::DEVICE_LOCAL)
                    .or_else(|| pick(host))
                    .ok_or(Error::NoMemoryType { needed: host })?;
                made.counter_memory = device.allocate_memory(
                    &vk::MemoryAllocateInfo::default()
                        .allocation_size(needs.size)
                        .memory_type_index(memory_type),
                    None,
                )?;
                device.bind_buffer_memory(made.counters, made.counter_memory, 0)?;
                let mapped = device.map_memory(
                    made.counter_memory,
                    0,
                    vk::WHOLE_SIZE,
                    vk::MemoryMapFlags::empty(),
                )?;
                // The mapping covers the whole allocation, at least `size` bytes.
                mapped.cast::<u8>().write_bytes(0, size as usize);
                device.unmap_memory(made.counter_memory);
                made.set_layout = device.create_descriptor_set_layout(
                    &vk::DescriptorSetLayoutCreateInfo::default().bindings(&bindings),
                    None,
                )?;
                let set_layouts = [made.set_layout];
                made.layout = device.create_pipeline_layout(
                    &vk::PipelineLayoutCreateInfo::default()
                        .set_layouts(&set_layouts)
                        .push_constant_ranges(&ranges),
                    None,
                )?;
                // ALL_EVEN and WINDOWED, two 32-bit booleans.
                let entries = [
                    vk::SpecializationMapEntry::default()
                        .constant_id(0)
                        .offset(0)
                        .size(4),
                    vk::SpecializationMapEntry::default()
                        .constant_id(1)
                        .offset(4)
                        .size(4),
                ];
                let layout = made.layout;
                let pipeline = |bytes: &[u8], kernel: MipKernel| {
                    shader_module(device, bytes).and_then(|module| {
                        let flags = [
                            u32::from(kernel == MipKernel::AllEven),
                            u32::from(kernel == MipKernel::Windowed),
                        ];
                        let value: &[u8] = bytemuck::cast_slice(&flags);
                        let specialization = vk::SpecializationInfo::default()
                            .map_entries(&entries)
                            .data(value);
                        let stage = vk::PipelineShaderStageCreateInfo::default()
                            .stage(vk::ShaderStageFlags::COMPUTE)
                            .module(module)
                            .name(c"main")
                            .specialization_info(&specialization);
                        let info = [vk::ComputePipelineCreateInfo::default()
                            .stage(stage)
                            .layout(layout)];
                        let result = device.create_compute_pipelines(cache, &info, None);
                        device.destroy_shader_module(module, None);
                        result.map(|p| p[0]).map_err(|(_, err)| Error::Vulkan(err))
                    })
                };
                // One per kernel for each storage form.
                for (bytes, pipes) in [
                    (SPIRV_RGBA8, &mut made.rgba8),
                    (SPIRV_RGBA8_PACKED, &mut made.rgba8_packed),
                    (SPIRV_RGBA16F, &mut made.rgba16f),
                ] {
                    for kernel in KERNELS {
                        pipes[slot(kernel)] = pipeline(bytes, kernel)?;
                    }
                }
                Ok(())
            })()
        };
        match built {
            Ok(()) => Ok(made),
            Err(err) => {
                // SAFETY: nothing made here is in use yet.
                unsafe { made.destroy(device) };
                Err(err)
            }
        }
    }

    /// Destroys the pipelines and layouts.
    ///
    /// # Safety
    /// No pending work uses them; `device` made them.
    pub(super) unsafe fn destroy(self, device: &ash::Device) {
        // SAFETY: forwarded from this function's contract.
        unsafe {
            for pipeline in self
                .rgba8
                .into_iter()
                .chain(self.rgba8_packed)
                .chain(self.rgba16f)
            {
                device.destroy_pipeline(pipeline, None);
            }
            device.destroy_pipeline_layout(self.layout, None);
            device.destroy_descriptor_set_layout(self.set_layout, None);
            device.destroy_buffer(self.counters, None);
            device.free_memory(self.counter_memory, None);
            device.destroy_sampler(self.sampler, None);
        }
    }
}

impl MipGenerator {
    pub(super) unsafe fn record_compute(
        &self,
        cmd: vk::CommandBuffer,
        image: &ImageTarget,
        range: Levels,
        from: ResourceState,
        to: ResourceState,
    ) -> Result<(Finished, MipScratch)> {
        let device = &self.device;
        let Some((storage, srgb)) = storage_format(image.format()) else {
            return Err(Error::MipsUnsupported {
                format: image.format(),
                method: MipMethod::Compute,
                reason: "only RGBA8 UNORM, RGBA8 sRGB and RGBA16F",
            });
        };
        let pipes = self.compute_pipelines()?;
        let packed = self.packs(image);
        let view_format = if packed {
            vk::Format::R32_UINT
        } else {
            storage
        };
        // Levels past the range are neither made nor touched: `levels` is the range's end.
        let (base, levels) = (range.base, range.end);
        let layers = image.array_layers();
        let extent = (image.extent().width, image.extent().height);
        // A tail needs an arrival counter per layer.
        let fold = layers <= COUNTERS;
        let passes = plan_compute_passes(extent, base, levels, fold);
        let mut scratch = MipScratch::default();
        // On any failure below, what was made so far is destroyed before returning.
        let built = (|| -> Result<Vec<vk::DescriptorSet>> {
            for level in base..levels {
                let info = vk::ImageViewCreateInfo::default()
                    .image(image.raw())
                    .view_type(vk::ImageViewType::TYPE_2D_ARRAY)
                    .format(view_format)
                    .subresource_range(Self::range(image, level, 1));
                // SAFETY: a view of a live image in a format its MUTABLE_FORMAT flag (or its own
                // format) allows (R32_UINT shares RGBA8's 32-bit compatibility class), with
                // STORAGE usage (checked by compute_refusal; `packs` checked R32_UINT's support).
                scratch
                    .views
                    .push(unsafe { device.create_image_view(&info, None) }?);
            }
            let sets = passes.len().max(1) as u32;
            let sizes = [
                vk::DescriptorPoolSize {
                    ty: vk::DescriptorType::STORAGE_IMAGE,
                    descriptor_count: sets * STORAGE_IMAGES,
                },
                vk::DescriptorPoolSize {
                    ty: vk::DescriptorType::COMBINED_IMAGE_SAMPLER,
                    descriptor_count: sets,
                },
                vk::DescriptorPoolSize {
                    ty: vk::DescriptorType::STORAGE_BUFFER,
                    descriptor_count: sets,
                },
            ];
            let pool_info = vk::DescriptorPoolCreateInfo::default()
                .max_sets(sets)
                .pool_sizes(&sizes);
            // SAFETY: valid device.
            scratch.pool = unsafe { device.create_descriptor_pool(&pool_info, None) }?;
            let set_layouts = vec![pipes.set_layout; sets as usize];
            let alloc_info = vk::DescriptorSetAllocateInfo::default()
                .descriptor_pool(scratch.pool)
                .set_layouts(&set_layouts);
            // SAFETY: the pool was sized for these sets.
            let descriptor_sets = unsafe { device.allocate_descriptor_sets(&alloc_info) }?;
            let view = |level: u32| scratch.views[(level.min(levels - 1) - base) as usize];
            for (pass, &set) in passes.iter().zip(&descriptor_sets) {
                let src = [vk::DescriptorImageInfo::default()
                    .image_view(view(pass.src_level))
                    .image_layout(vk::ImageLayout::GENERAL)];
                // Bindings past the last level repeat it; the shader never writes them.
                let dst: Vec<_> = (0..DST_BINDINGS)
                    .map(|k| {
                        vk::DescriptorImageInfo::default()
                            .image_view(view(pass.src_level + 1 + k))
                            .image_layout(vk::ImageLayout::GENERAL)
                    })
                    .collect();
                let sampled = [vk::DescriptorImageInfo::default()
                    .image_view(view(pass.src_level))
                    .image_layout(vk::ImageLayout::GENERAL)];
                let gather = vk::WriteDescriptorSet::default()
                    .dst_set(set)
                    .dst_binding(2)
                    .descriptor_type(vk::DescriptorType::COMBINED_IMAGE_SAMPLER)
                    .image_info(&sampled);
                let tail_src = [vk::DescriptorImageInfo::default()
                    .image_view(view(pass.src_level + pass.levels))
                    .image_layout(vk::ImageLayout::GENERAL)];
                let counters = [vk::DescriptorBufferInfo::default()
                    .buffer(pipes.counters)
                    .range(vk::WHOLE_SIZE)];
                let counters = vk::WriteDescriptorSet::default()
                    .dst_set(set)
                    .dst_binding(4)
                    .descriptor_type(vk::DescriptorType::STORAGE_BUFFER)
                    .buffer_info(&counters);
                let writes = [
                    storage_images(set, 0, &src),
                    storage_images(set, 1, &dst),
                    storage_images(set, 3, &tail_src),
                    counters,
                    gather,
                ];
                // Only the packed kernels read binding 2 (its sampler is immutable).
                let count = if packed { 5 } else { 4 };
                // SAFETY: the set, views and buffer are live and match the layout; a packed image
                // has SAMPLED usage (`packs`), so its view may be sampled.
                unsafe { device.update_descriptor_sets(&writes[..count], &[]) };
            }
            Ok(descriptor_sets)
        })();
        let descriptor_sets = match built {
            Ok(sets) => sets,
            Err(err) => {
                // SAFETY: nothing was recorded, so nothing pending uses them.
                unsafe { scratch.destroy(device) };
                return Err(err);
            }
        };

        let raw = image.raw();
        let family = from.queue_family;
        // The packed kernels also gather the level they read.
        let (read, rw) = if packed {
            (Access::ComputeGeneral, Access::ComputeGeneral)
        } else {
            (Access::ComputeStorageRead, Access::ComputeStorageReadWrite)
        };
        let general_read = ResourceState::new(read).on_queue(family);
        let general_rw = ResourceState::new(rw).on_queue(family);
        let counters_rw = ResourceState::new(Access::ComputeStorageReadWrite).on_queue(family);
        let mut batch = BarrierBatch::new();
        let mut acquire = BarrierBatch::new();
        Self::enter(
            &mut batch,
            &mut acquire,
            image,
            range,
            (from, to),
            (general_read, general_rw),
        );
        let pipelines = if storage == vk::Format::R16G16B16A16_SFLOAT {
            pipes.rgba16f
        } else if packed {
            pipes.rgba8_packed
        } else {
            pipes.rgba8
        };
        // SAFETY: as above.
        unsafe { batch.record(cmd, device) };
        for (index, (pass, &set)) in passes.iter().zip(&descriptor_sets).enumerate() {
            let src = level_extent(extent, pass.src_level);
            let groups = if pass.kernel == MipKernel::Windowed {
                // One workgroup per tile of the last level made.
                let last = level_extent(extent, pass.src_level + pass.levels);
                (last.0.div_ceil(WINDOW_TILE), last.1.div_ceil(WINDOW_TILE))
            } else {
                let out = level_extent(extent, pass.src_level + 1);
                (out.0.div_ceil(32), out.1.div_ceil(32))
            };
            let counter = if pass.tail > 0 {
                // The counters were left zero by the dispatches that used them last, which this
                // one waits for (their buffer's barrier).
                batch.buffer_local(pipes.counters, 0, vk::WHOLE_SIZE, counters_rw, counters_rw);
                self.take_counters(layers)
            } else {
                0
            };
            let push = Push {
                src_size: [src.0 as i32, src.1 as i32],
                levels: pass.levels,
                srgb: u32::from(srgb),
                tile: WINDOW_TILE as i32,
                tail: pass.tail,
                counter,
            };
            if index > 0 {
                // The previous dispatch's levels are this one's source.
                batch.image_local(
                    raw,
                    Self::range(image, base, levels - base),
                    general_rw,
                    general_rw,
                );
            }
            // SAFETY: the set matches the pipeline layout; every level is in GENERAL; the push
            // constants fit the declared range.
            unsafe {
                batch.record(cmd, device);
                device.cmd_bind_pipeline(
                    cmd,
                    vk::PipelineBindPoint::COMPUTE,
                    pipelines[slot(pass.kernel)],
                );
                device.cmd_bind_descriptor_sets(
                    cmd,
                    vk::PipelineBindPoint::COMPUTE,
                    pipes.layout,
                    0,
                    &[set],
                    &[],
                );
                device.cmd_push_constants(
                    cmd,
                    pipes.layout,
                    vk::ShaderStageFlags::COMPUTE,
                    0,
                    bytemuck::bytes_of(&push),
                );
                device.cmd_dispatch(cmd, groups.0, groups.1, layers);
            }
        }
        batch.image(
            raw,
            Self::range(image, base, 1),
            general_read,
            to,
            &mut acquire,
        );
        if base + 1 < levels {
            batch.image(
                raw,
                Self::range(image, base + 1, levels - base - 1),
                general_rw,
                to,
                &mut acquire,
            );
        }
        // SAFETY: as above.
        unsafe { batch.record(cmd, device) };
        Ok((Finished { state: to, acquire }, scratch))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Devices at the spec's minimum (4 storage images per stage) are refused the compute path,
    /// which binds 14, before any pipeline layout could fail.
    #[test]
    fn the_layout_needs_fourteen_storage_images_per_stage() {
        let limits = |per_stage, per_set| vk::PhysicalDeviceLimits {
            max_per_stage_descriptor_storage_images: per_stage,
            max_descriptor_set_storage_images: per_set,
            ..Default::default()
        };
        assert_eq!(STORAGE_IMAGES, 14);
        assert!(layout_fits(&limits(14, 24)));
        assert!(!layout_fits(&limits(4, 24)), "the spec's minimum");
        assert!(!layout_fits(&limits(13, 24)));
        assert!(!layout_fits(&limits(64, 8)));
    }
}
