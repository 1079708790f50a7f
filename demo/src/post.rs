//! The post-process pipelines (`shaders/fullscreen.vert`, `shaders/post.frag`): bloom's
//! prefilter, downsample and upsample passes into HDR transients, and the tonemap pass into the
//! sRGB output. One pipeline per target format; the pass is chosen by a push constant. The bloom
//! passes also exist as compute dispatches (`shaders/bloom.comp`), for a compute queue. Each pass
//! samples one or two images through its own descriptor set (a compute pass also stores to its
//! target through it), rewritten when the transients are re-placed.

use anyhow::Result;
use ash::vk;

use crate::pipeline::{graphics_pipeline, module};

const VERT: &[u8] = include_bytes!("../../shaders/spirv/fullscreen_vert.spv");
const FRAG: &[u8] = include_bytes!("../../shaders/spirv/post_frag.spv");
const BLOOM: &[u8] = include_bytes!("../../shaders/spirv/bloom_comp.spv");

/// The stages the post passes' descriptors and push constants are visible to.
pub const STAGES: vk::ShaderStageFlags = vk::ShaderStageFlags::from_raw(
    vk::ShaderStageFlags::FRAGMENT.as_raw() | vk::ShaderStageFlags::COMPUTE.as_raw(),
);

/// Invocations per workgroup side in `bloom.comp`.
pub const BLOOM_GROUP: u32 = 8;

/// Most post passes a frame has (descriptor pool size).
pub const MAX_PASSES: u32 = 32;

/// `post.frag`'s modes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum Mode {
    Prefilter = 0,
    Downsample = 1,
    Upsample = 2,
    Tonemap = 3,
}

/// The push constants of `post.frag`.
#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
pub struct Push {
    pub texel: [f32; 2],
    pub mode: u32,
    pub param: f32,
}

pub struct PostPipelines {
    pub set_layout: vk::DescriptorSetLayout,
    pub layout: vk::PipelineLayout,
    /// Renders into the HDR format.
    pub hdr: vk::Pipeline,
    /// Renders into the output format.
    pub output: vk::Pipeline,
    /// The bloom passes as compute dispatches into an HDR storage image.
    pub bloom: vk::Pipeline,
    pub sampler: vk::Sampler,
    pub pool: vk::DescriptorPool,
}

impl PostPipelines {
    /// The post pipelines, built through `cache` (null: none).
    pub fn new(
        device: &ash::Device,
        cache: vk::PipelineCache,
        hdr_format: vk::Format,
        output_format: vk::Format,
    ) -> Result<Self> {
        let mut this = Self {
            set_layout: vk::DescriptorSetLayout::null(),
            layout: vk::PipelineLayout::null(),
            hdr: vk::Pipeline::null(),
            output: vk::Pipeline::null(),
            bloom: vk::Pipeline::null(),
            sampler: vk::Sampler::null(),
            pool: vk::DescriptorPool::null(),
        };
        if let Err(err) = this.build(device, cache, hdr_format, output_format) {
            // SAFETY: nothing was used yet; null handles are ignored by vkDestroy*.
            unsafe { this.destroy(device) };
            return Err(err);
        }
        Ok(this)
    }

    fn build(
        &mut self,
        device: &ash::Device,
        cache: vk::PipelineCache,
        hdr_format: vk::Format,
        output_format: vk::Format,
    ) -> Result<()> {
        let binding = |b, ty, stages| {
            vk::DescriptorSetLayoutBinding::default()
                .binding(b)
                .descriptor_type(ty)
                .descriptor_count(1)
                .stage_flags(stages)
        };
        let sampled = vk::DescriptorType::COMBINED_IMAGE_SAMPLER;
        let bindings = [
            binding(0, sampled, STAGES),
            binding(1, sampled, STAGES),
            binding(
                2,
                vk::DescriptorType::STORAGE_IMAGE,
                vk::ShaderStageFlags::COMPUTE,
            ),
        ];
        // SAFETY: valid device; every object is destroyed in `destroy`.
        self.set_layout = unsafe {
            device.create_descriptor_set_layout(
                &vk::DescriptorSetLayoutCreateInfo::default().bindings(&bindings),
                None,
            )
        }?;
        let ranges = [vk::PushConstantRange::default()
            .stage_flags(STAGES)
            .size(std::mem::size_of::<Push>() as u32)];
        let set_layouts = [self.set_layout];
        // SAFETY: as above.
        self.layout = unsafe {
            device.create_pipeline_layout(
                &vk::PipelineLayoutCreateInfo::default()
                    .set_layouts(&set_layouts)
                    .push_constant_ranges(&ranges),
                None,
            )
        }?;
        let sampler_info = vk::SamplerCreateInfo::default()
            .mag_filter(vk::Filter::LINEAR)
            .min_filter(vk::Filter::LINEAR)
            .address_mode_u(vk::SamplerAddressMode::CLAMP_TO_EDGE)
            .address_mode_v(vk::SamplerAddressMode::CLAMP_TO_EDGE)
            .address_mode_w(vk::SamplerAddressMode::CLAMP_TO_EDGE)
            .max_lod(0.0);
        // SAFETY: as above.
        self.sampler = unsafe { device.create_sampler(&sampler_info, None) }?;
        let sizes = [
            vk::DescriptorPoolSize {
                ty: vk::DescriptorType::COMBINED_IMAGE_SAMPLER,
                descriptor_count: 2 * MAX_PASSES,
            },
            vk::DescriptorPoolSize {
                ty: vk::DescriptorType::STORAGE_IMAGE,
                descriptor_count: MAX_PASSES,
            },
        ];
        // SAFETY: as above.
        self.pool = unsafe {
            device.create_descriptor_pool(
                &vk::DescriptorPoolCreateInfo::default()
                    .max_sets(MAX_PASSES)
                    .pool_sizes(&sizes),
                None,
            )
        }?;
        self.hdr = self.pipeline(device, cache, hdr_format)?;
        self.output = self.pipeline(device, cache, output_format)?;
        let shader = module(device, BLOOM)?;
        let info = vk::ComputePipelineCreateInfo::default()
            .stage(
                vk::PipelineShaderStageCreateInfo::default()
                    .stage(vk::ShaderStageFlags::COMPUTE)
                    .module(shader)
                    .name(c"main"),
            )
            .layout(self.layout);
        // SAFETY: valid device, module and layout; the module is destroyed right after.
        let made = unsafe {
            let made = device.create_compute_pipelines(cache, &[info], None);
            device.destroy_shader_module(shader, None);
            made
        };
        self.bloom = made.map_err(|(_, err)| err)?[0];
        Ok(())
    }

    fn pipeline(
        &self,
        device: &ash::Device,
        cache: vk::PipelineCache,
        format: vk::Format,
    ) -> Result<vk::Pipeline> {
        graphics_pipeline(
            device,
            cache,
            self.layout,
            (VERT, FRAG),
            &vk::PipelineVertexInputStateCreateInfo::default(),
            format,
            None,
            crate::pipeline::Shape::default(),
        )
    }

    /// Frees every set and allocates one per entry of `sources`, each sampling its two views
    /// and, for a compute pass, storing to its target's view (in `GENERAL`).
    ///
    /// # Safety
    /// No pending GPU work uses the pool's sets; the views are alive while the sets are used.
    pub unsafe fn write_sets(
        &self,
        device: &ash::Device,
        sources: &[([vk::ImageView; 2], Option<vk::ImageView>)],
    ) -> Result<Vec<vk::DescriptorSet>> {
        if sources.len() > MAX_PASSES as usize {
            anyhow::bail!("{} post passes, the pool holds {MAX_PASSES}", sources.len());
        }
        // SAFETY: forwarded from this function's contract.
        unsafe { device.reset_descriptor_pool(self.pool, vk::DescriptorPoolResetFlags::empty()) }?;
        if sources.is_empty() {
            return Ok(Vec::new());
        }
        let layouts = vec![self.set_layout; sources.len()];
        // SAFETY: the pool was sized for MAX_PASSES sets of this layout (checked above).
        let sets = unsafe {
            device.allocate_descriptor_sets(
                &vk::DescriptorSetAllocateInfo::default()
                    .descriptor_pool(self.pool)
                    .set_layouts(&layouts),
            )
        }?;
        let infos: Vec<([vk::DescriptorImageInfo; 2], [vk::DescriptorImageInfo; 1])> = sources
            .iter()
            .map(|(views, target)| {
                let sampled = views.map(|view| vk::DescriptorImageInfo {
                    sampler: self.sampler,
                    image_view: view,
                    image_layout: vk::ImageLayout::SHADER_READ_ONLY_OPTIMAL,
                });
                let storage = [vk::DescriptorImageInfo {
                    sampler: vk::Sampler::null(),
                    image_view: target.unwrap_or_default(),
                    image_layout: vk::ImageLayout::GENERAL,
                }];
                (sampled, storage)
            })
            .collect();
        let mut writes: Vec<vk::WriteDescriptorSet<'_>> = Vec::new();
        for ((&set, (sampled, storage)), (_, target)) in sets.iter().zip(&infos).zip(sources) {
            for (b, info) in sampled.iter().enumerate() {
                writes.push(
                    vk::WriteDescriptorSet::default()
                        .dst_set(set)
                        .dst_binding(b as u32)
                        .descriptor_type(vk::DescriptorType::COMBINED_IMAGE_SAMPLER)
                        .image_info(std::slice::from_ref(info)),
                );
            }
            if target.is_some() {
                writes.push(
                    vk::WriteDescriptorSet::default()
                        .dst_set(set)
                        .dst_binding(2)
                        .descriptor_type(vk::DescriptorType::STORAGE_IMAGE)
                        .image_info(storage),
                );
            }
        }
        // SAFETY: fresh sets of this device; the views are alive (contract).
        unsafe { device.update_descriptor_sets(&writes, &[]) };
        Ok(sets)
    }

    /// # Safety
    /// No pending work uses any of the objects.
    pub unsafe fn destroy(&self, device: &ash::Device) {
        // SAFETY: forwarded from this function's contract; null handles are ignored.
        unsafe {
            device.destroy_pipeline(self.hdr, None);
            device.destroy_pipeline(self.output, None);
            device.destroy_pipeline(self.bloom, None);
            device.destroy_descriptor_pool(self.pool, None);
            device.destroy_sampler(self.sampler, None);
            device.destroy_pipeline_layout(self.layout, None);
            device.destroy_descriptor_set_layout(self.set_layout, None);
        }
    }
}
