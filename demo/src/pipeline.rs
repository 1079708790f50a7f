//! The textured-mesh pipeline (`shaders/mesh.vert`, `shaders/mesh.frag`, committed as SPIR-V and
//! drift-checked by `scripts/shaders --check`): dynamic rendering into the colour and depth
//! targets, one combined image sampler per material, transforms as push constants.

use anyhow::{Context as _, Result};
use ash::vk;

use crate::scene::Vertex;

const VERT: &[u8] = include_bytes!("../../shaders/spirv/mesh_vert.spv");
const FRAG: &[u8] = include_bytes!("../../shaders/spirv/mesh_frag.spv");

/// The depth target's format (every device supports it as a depth attachment).
pub const DEPTH_FORMAT: vk::Format = vk::Format::D32_SFLOAT;

/// The push constants of `mesh.vert`.
#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
pub struct Push {
    pub clip_from_object: [[f32; 4]; 4],
    pub world_from_object: [[f32; 4]; 4],
}

pub struct MeshPipeline {
    pub set_layout: vk::DescriptorSetLayout,
    pub layout: vk::PipelineLayout,
    pub pipeline: vk::Pipeline,
}

pub fn module(device: &ash::Device, bytes: &[u8]) -> Result<vk::ShaderModule> {
    let words = ash::util::read_spv(&mut std::io::Cursor::new(bytes)).context("bad SPIR-V")?;
    // SAFETY: valid device; the words are SPIR-V built from shaders/.
    Ok(unsafe {
        device.create_shader_module(&vk::ShaderModuleCreateInfo::default().code(&words), None)
    }?)
}

/// A graphics pipeline for dynamic rendering into one `color_format` target (and a depth target
/// of `depth` with test and write on, when given): triangle lists, double-sided (glTF files
/// disagree on winding often enough for a viewer), no blending, viewport and scissor dynamic.
/// The shader modules (`spirv`: vertex, fragment) live only for the call.
pub fn graphics_pipeline(
    device: &ash::Device,
    layout: vk::PipelineLayout,
    spirv: (&[u8], &[u8]),
    vertex_input: &vk::PipelineVertexInputStateCreateInfo<'_>,
    color_format: vk::Format,
    depth: Option<vk::Format>,
) -> Result<vk::Pipeline> {
    let vert = module(device, spirv.0)?;
    let frag = match module(device, spirv.1) {
        Ok(frag) => frag,
        Err(err) => {
            // SAFETY: never used.
            unsafe { device.destroy_shader_module(vert, None) };
            return Err(err);
        }
    };
    let stages = [
        vk::PipelineShaderStageCreateInfo::default()
            .stage(vk::ShaderStageFlags::VERTEX)
            .module(vert)
            .name(c"main"),
        vk::PipelineShaderStageCreateInfo::default()
            .stage(vk::ShaderStageFlags::FRAGMENT)
            .module(frag)
            .name(c"main"),
    ];
    let assembly = vk::PipelineInputAssemblyStateCreateInfo::default()
        .topology(vk::PrimitiveTopology::TRIANGLE_LIST);
    let viewport = vk::PipelineViewportStateCreateInfo::default()
        .viewport_count(1)
        .scissor_count(1);
    let raster = vk::PipelineRasterizationStateCreateInfo::default()
        .polygon_mode(vk::PolygonMode::FILL)
        .cull_mode(vk::CullModeFlags::NONE)
        .line_width(1.0);
    let multisample = vk::PipelineMultisampleStateCreateInfo::default()
        .rasterization_samples(vk::SampleCountFlags::TYPE_1);
    let depth_state = vk::PipelineDepthStencilStateCreateInfo::default()
        .depth_test_enable(depth.is_some())
        .depth_write_enable(depth.is_some())
        .depth_compare_op(vk::CompareOp::LESS);
    let blend_attachments = [vk::PipelineColorBlendAttachmentState::default()
        .color_write_mask(vk::ColorComponentFlags::RGBA)];
    let blend = vk::PipelineColorBlendStateCreateInfo::default().attachments(&blend_attachments);
    let dynamic_states = [vk::DynamicState::VIEWPORT, vk::DynamicState::SCISSOR];
    let dynamic = vk::PipelineDynamicStateCreateInfo::default().dynamic_states(&dynamic_states);
    let color_formats = [color_format];
    let mut rendering =
        vk::PipelineRenderingCreateInfo::default().color_attachment_formats(&color_formats);
    if let Some(format) = depth {
        rendering = rendering.depth_attachment_format(format);
    }
    let info = vk::GraphicsPipelineCreateInfo::default()
        .stages(&stages)
        .vertex_input_state(vertex_input)
        .input_assembly_state(&assembly)
        .viewport_state(&viewport)
        .rasterization_state(&raster)
        .multisample_state(&multisample)
        .depth_stencil_state(&depth_state)
        .color_blend_state(&blend)
        .dynamic_state(&dynamic)
        .layout(layout)
        .push_next(&mut rendering);
    // SAFETY: every pointer in `info` refers to locals alive for the call; the modules are
    // destroyed right after, which Vulkan allows once the pipeline exists.
    unsafe {
        let result = device.create_graphics_pipelines(vk::PipelineCache::null(), &[info], None);
        device.destroy_shader_module(vert, None);
        device.destroy_shader_module(frag, None);
        Ok(result.map_err(|(_, err)| err)?[0])
    }
}

impl MeshPipeline {
    /// Builds the pipeline for colour targets of `color_format`.
    pub fn new(device: &ash::Device, color_format: vk::Format) -> Result<Self> {
        let bindings = [vk::DescriptorSetLayoutBinding::default()
            .binding(0)
            .descriptor_type(vk::DescriptorType::COMBINED_IMAGE_SAMPLER)
            .descriptor_count(1)
            .stage_flags(vk::ShaderStageFlags::FRAGMENT)];
        // SAFETY: valid device; every object is destroyed in `destroy`.
        let set_layout = unsafe {
            device.create_descriptor_set_layout(
                &vk::DescriptorSetLayoutCreateInfo::default().bindings(&bindings),
                None,
            )
        }?;
        let ranges = [vk::PushConstantRange::default()
            .stage_flags(vk::ShaderStageFlags::VERTEX)
            .size(std::mem::size_of::<Push>() as u32)];
        let set_layouts = [set_layout];
        // SAFETY: as above.
        let layout = unsafe {
            device.create_pipeline_layout(
                &vk::PipelineLayoutCreateInfo::default()
                    .set_layouts(&set_layouts)
                    .push_constant_ranges(&ranges),
                None,
            )
        }?;
        let vertex_bindings = [vk::VertexInputBindingDescription {
            binding: 0,
            stride: std::mem::size_of::<Vertex>() as u32,
            input_rate: vk::VertexInputRate::VERTEX,
        }];
        let attribute = |location, format, offset| vk::VertexInputAttributeDescription {
            location,
            binding: 0,
            format,
            offset,
        };
        let attributes = [
            attribute(0, vk::Format::R32G32B32_SFLOAT, 0),
            attribute(1, vk::Format::R32G32B32_SFLOAT, 12),
            attribute(2, vk::Format::R32G32_SFLOAT, 24),
        ];
        let vertex_input = vk::PipelineVertexInputStateCreateInfo::default()
            .vertex_binding_descriptions(&vertex_bindings)
            .vertex_attribute_descriptions(&attributes);
        let pipeline = match graphics_pipeline(
            device,
            layout,
            (VERT, FRAG),
            &vertex_input,
            color_format,
            Some(DEPTH_FORMAT),
        ) {
            Ok(pipeline) => pipeline,
            Err(err) => {
                // SAFETY: never used.
                unsafe {
                    device.destroy_pipeline_layout(layout, None);
                    device.destroy_descriptor_set_layout(set_layout, None);
                }
                return Err(err);
            }
        };
        Ok(Self {
            set_layout,
            layout,
            pipeline,
        })
    }

    /// # Safety
    /// No pending work uses the pipeline.
    pub unsafe fn destroy(&self, device: &ash::Device) {
        // SAFETY: forwarded from this function's contract.
        unsafe {
            device.destroy_pipeline(self.pipeline, None);
            device.destroy_pipeline_layout(self.layout, None);
            device.destroy_descriptor_set_layout(self.set_layout, None);
        }
    }
}
