//! The mesh pipelines (`shaders/mesh.vert`, `shaders/mesh.frag`, committed as SPIR-V and
//! drift-checked by `scripts/shaders --check`): dynamic rendering into the colour and depth
//! targets; per material, five combined image samplers and a uniform block of factors;
//! transforms and the eye as push constants. One pipeline per topology and blending; culling and
//! winding are dynamic state (core in Vulkan 1.3), set per draw from the material's
//! `doubleSided` and the transform's handedness.

use anyhow::{Context as _, Result};
use ash::vk;

use crate::scene::{Topology, Vertex, TEXTURE_SLOTS};

const VERT: &[u8] = include_bytes!("../../shaders/spirv/mesh_vert.spv");
/// `mesh.vert` for the texture viewer: no material flags passed on.
const VIEW_VERT: &[u8] = include_bytes!("../../shaders/spirv/mesh_view_vert.spv");
const FRAG: &[u8] = include_bytes!("../../shaders/spirv/mesh_frag.spv");
const SKY_VERT: &[u8] = include_bytes!("../../shaders/spirv/sky_vert.spv");
const VIEW_LAYERS: &[u8] = include_bytes!("../../shaders/spirv/texture_view_layers_frag.spv");
const VIEW_SKY: &[u8] = include_bytes!("../../shaders/spirv/texture_view_sky_frag.spv");
const VIEW_SLICES: &[u8] = include_bytes!("../../shaders/spirv/texture_view_slices_frag.spv");

/// The depth target's format (every device supports it as a depth attachment).
pub const DEPTH_FORMAT: vk::Format = vk::Format::D32_SFLOAT;

/// The push constants of `mesh.vert` and `mesh.frag`.
#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
pub struct Push {
    pub clip_from_object: [[f32; 4]; 4],
    /// Rows of the world-from-object transform's upper 3x4.
    pub world_rows: [[f32; 4]; 3],
    /// xyz: the eye, in world space; w: the level the texture viewer shows (negative: the level
    /// the sampler picks).
    pub eye: [f32; 4],
}

/// Which shaders a mesh pipeline runs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Shader {
    /// `mesh.frag`: the material model.
    #[default]
    Material,
    /// `texture_view.frag` on a 2D-array view: one layer per draw.
    Layers,
    /// `sky.vert` and `texture_view.frag` on a cube view: the sky.
    Sky,
    /// `texture_view.frag` on a 3D view: one slice per draw.
    Slices,
}

impl Shader {
    /// The SPIR-V of its vertex and fragment stages.
    fn spirv(self) -> (&'static [u8], &'static [u8]) {
        match self {
            Self::Material => (VERT, FRAG),
            Self::Layers => (VIEW_VERT, VIEW_LAYERS),
            Self::Sky => (SKY_VERT, VIEW_SKY),
            Self::Slices => (VIEW_VERT, VIEW_SLICES),
        }
    }
}

/// A mesh pipeline's fixed state: what `MeshPipeline::get` is asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Variant {
    pub topology: Topology,
    /// Alpha blending over what is behind, without depth writes.
    pub blend: bool,
    pub shader: Shader,
}

/// What fixed state a graphics pipeline has besides its shaders and targets.
#[derive(Clone, Copy, Debug)]
pub struct Shape {
    pub topology: vk::PrimitiveTopology,
    pub blend: bool,
    /// Cull mode and front face set per draw (`vkCmdSetCullMode`, `vkCmdSetFrontFace`).
    pub dynamic_culling: bool,
}

impl Default for Shape {
    fn default() -> Self {
        Self {
            topology: vk::PrimitiveTopology::TRIANGLE_LIST,
            blend: false,
            dynamic_culling: false,
        }
    }
}

pub struct MeshPipeline {
    pub set_layout: vk::DescriptorSetLayout,
    pub layout: vk::PipelineLayout,
    /// One per [`Variant`], in `Variant::all` order.
    pipelines: Vec<(Variant, vk::Pipeline)>,
}

impl Variant {
    /// The material model for every topology, opaque and blended; the texture viewer's
    /// shaders for opaque triangles.
    pub fn all() -> impl Iterator<Item = Variant> {
        let material = [Topology::Triangles, Topology::Lines, Topology::Points]
            .into_iter()
            .flat_map(|topology| {
                [false, true].map(|blend| Variant {
                    topology,
                    blend,
                    shader: Shader::Material,
                })
            });
        let viewer = [Shader::Layers, Shader::Sky, Shader::Slices].map(|shader| Variant {
            topology: Topology::Triangles,
            blend: false,
            shader,
        });
        material.chain(viewer)
    }
}

pub fn module(device: &ash::Device, bytes: &[u8]) -> Result<vk::ShaderModule> {
    let words = ash::util::read_spv(&mut std::io::Cursor::new(bytes)).context("bad SPIR-V")?;
    // SAFETY: valid device; the words are SPIR-V built from shaders/.
    Ok(unsafe {
        device.create_shader_module(&vk::ShaderModuleCreateInfo::default().code(&words), None)
    }?)
}

/// A graphics pipeline for dynamic rendering into one `color_format` target (and a depth target
/// of `depth` with the test on, when given; writes on unless blending), of `shape`'s topology
/// and blending; viewport and scissor dynamic; without dynamic culling, nothing is culled.
/// The shader modules (`spirv`: vertex, fragment) live only for the call; built through `cache`
/// (null: none).
#[allow(clippy::too_many_arguments)]
pub fn graphics_pipeline(
    device: &ash::Device,
    cache: vk::PipelineCache,
    layout: vk::PipelineLayout,
    spirv: (&[u8], &[u8]),
    vertex_input: &vk::PipelineVertexInputStateCreateInfo<'_>,
    color_format: vk::Format,
    depth: Option<vk::Format>,
    shape: Shape,
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
    let assembly = vk::PipelineInputAssemblyStateCreateInfo::default().topology(shape.topology);
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
        .depth_write_enable(depth.is_some() && !shape.blend)
        .depth_compare_op(vk::CompareOp::LESS);
    let mut attachment = vk::PipelineColorBlendAttachmentState::default()
        .color_write_mask(vk::ColorComponentFlags::RGBA);
    if shape.blend {
        // Straight alpha over: colour by alpha, and the target's alpha kept meaningful.
        attachment = attachment
            .blend_enable(true)
            .src_color_blend_factor(vk::BlendFactor::SRC_ALPHA)
            .dst_color_blend_factor(vk::BlendFactor::ONE_MINUS_SRC_ALPHA)
            .color_blend_op(vk::BlendOp::ADD)
            .src_alpha_blend_factor(vk::BlendFactor::ONE)
            .dst_alpha_blend_factor(vk::BlendFactor::ONE_MINUS_SRC_ALPHA)
            .alpha_blend_op(vk::BlendOp::ADD);
    }
    let blend_attachments = [attachment];
    let blend = vk::PipelineColorBlendStateCreateInfo::default().attachments(&blend_attachments);
    let mut dynamic_states = vec![vk::DynamicState::VIEWPORT, vk::DynamicState::SCISSOR];
    if shape.dynamic_culling {
        dynamic_states.extend([vk::DynamicState::CULL_MODE, vk::DynamicState::FRONT_FACE]);
    }
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
        let result = device.create_graphics_pipelines(cache, &[info], None);
        device.destroy_shader_module(vert, None);
        device.destroy_shader_module(frag, None);
        Ok(result.map_err(|(_, err)| err)?[0])
    }
}

impl MeshPipeline {
    /// Builds the pipelines for colour targets of `color_format`, through `cache` (null: none).
    pub fn new(
        device: &ash::Device,
        cache: vk::PipelineCache,
        color_format: vk::Format,
    ) -> Result<Self> {
        let mut bindings: Vec<vk::DescriptorSetLayoutBinding<'_>> = (0..TEXTURE_SLOTS as u32)
            .map(|binding| {
                vk::DescriptorSetLayoutBinding::default()
                    .binding(binding)
                    .descriptor_type(vk::DescriptorType::COMBINED_IMAGE_SAMPLER)
                    .descriptor_count(1)
                    .stage_flags(vk::ShaderStageFlags::FRAGMENT)
            })
            .collect();
        bindings.push(
            vk::DescriptorSetLayoutBinding::default()
                .binding(TEXTURE_SLOTS as u32)
                .descriptor_type(vk::DescriptorType::UNIFORM_BUFFER)
                .descriptor_count(1)
                // The vertex stage passes the material's flags on (see shaders/mesh.frag).
                .stage_flags(vk::ShaderStageFlags::VERTEX | vk::ShaderStageFlags::FRAGMENT),
        );
        // SAFETY: valid device; every object is destroyed in `destroy`.
        let set_layout = unsafe {
            device.create_descriptor_set_layout(
                &vk::DescriptorSetLayoutCreateInfo::default().bindings(&bindings),
                None,
            )
        }?;
        let ranges = [vk::PushConstantRange::default()
            .stage_flags(vk::ShaderStageFlags::VERTEX | vk::ShaderStageFlags::FRAGMENT)
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
        };
        let layout = match layout {
            Ok(layout) => layout,
            Err(err) => {
                // SAFETY: never used.
                unsafe { device.destroy_descriptor_set_layout(set_layout, None) };
                return Err(err.into());
            }
        };
        let mut this = Self {
            set_layout,
            layout,
            pipelines: Vec::new(),
        };
        let vertex_bindings = [vk::VertexInputBindingDescription {
            binding: 0,
            stride: std::mem::size_of::<Vertex>() as u32,
            input_rate: vk::VertexInputRate::VERTEX,
        }];
        let attribute = |location, format, offset: usize| vk::VertexInputAttributeDescription {
            location,
            binding: 0,
            format,
            offset: offset as u32,
        };
        let attributes = [
            attribute(
                0,
                vk::Format::R32G32B32_SFLOAT,
                std::mem::offset_of!(Vertex, position),
            ),
            attribute(
                1,
                vk::Format::R32G32B32_SFLOAT,
                std::mem::offset_of!(Vertex, normal),
            ),
            attribute(
                2,
                vk::Format::R32G32B32A32_SFLOAT,
                std::mem::offset_of!(Vertex, tangent),
            ),
            attribute(
                3,
                vk::Format::R32G32_SFLOAT,
                std::mem::offset_of!(Vertex, uv),
            ),
            attribute(
                4,
                vk::Format::R32G32_SFLOAT,
                std::mem::offset_of!(Vertex, uv) + 8,
            ),
            attribute(
                5,
                vk::Format::R32G32B32A32_SFLOAT,
                std::mem::offset_of!(Vertex, color),
            ),
        ];
        let no_vertices = vk::PipelineVertexInputStateCreateInfo::default();
        let vertex_input = vk::PipelineVertexInputStateCreateInfo::default()
            .vertex_binding_descriptions(&vertex_bindings)
            .vertex_attribute_descriptions(&attributes);
        for variant in Variant::all() {
            let shape = Shape {
                topology: match variant.topology {
                    Topology::Triangles => vk::PrimitiveTopology::TRIANGLE_LIST,
                    Topology::Lines => vk::PrimitiveTopology::LINE_LIST,
                    Topology::Points => vk::PrimitiveTopology::POINT_LIST,
                },
                blend: variant.blend,
                dynamic_culling: true,
            };
            match graphics_pipeline(
                device,
                cache,
                layout,
                variant.shader.spirv(),
                // The sky makes its triangle from the vertex index: no attributes (one nobody
                // reads is a performance warning).
                if variant.shader == Shader::Sky {
                    &no_vertices
                } else {
                    &vertex_input
                },
                color_format,
                Some(DEPTH_FORMAT),
                shape,
            ) {
                Ok(pipeline) => this.pipelines.push((variant, pipeline)),
                Err(err) => {
                    // SAFETY: never used.
                    unsafe { this.destroy(device) };
                    return Err(err);
                }
            }
        }
        Ok(this)
    }

    /// The pipeline of `variant`.
    pub fn get(&self, variant: Variant) -> vk::Pipeline {
        self.pipelines
            .iter()
            .find(|(v, _)| *v == variant)
            .map_or(vk::Pipeline::null(), |(_, p)| *p)
    }

    /// # Safety
    /// No pending work uses the pipelines.
    pub unsafe fn destroy(&self, device: &ash::Device) {
        // SAFETY: forwarded from this function's contract.
        unsafe {
            for (_, pipeline) in &self.pipelines {
                device.destroy_pipeline(*pipeline, None);
            }
            device.destroy_pipeline_layout(self.layout, None);
            device.destroy_descriptor_set_layout(self.set_layout, None);
        }
    }
}
