//! The pass bodies of a frame, recorded between the barriers the graph plans.

use anyhow::{Context as _, Result};
use ash::vk;

use crate::loader::LoadedScene;
use crate::material_system::MaterialSystem;
use crate::mesh_system::MeshSystem;
use crate::pipeline::{MeshPipeline, Push};
use crate::post::{self, Mode, PostPipelines};
use crate::scene::Camera;
use crate::transients::Transients;

use super::declare::FrameGraph;

/// Bloom: what the prefilter keeps (linear values above it), and how much the tonemap adds.
const BLOOM_THRESHOLD: f32 = 1.0;
const BLOOM_STRENGTH: f32 = 0.6;

/// What recording a frame's passes needs.
pub(super) struct PassRecorder<'a> {
    pub(super) device: &'a ash::Device,
    pub(super) frame: &'a FrameGraph,
    pub(super) transients: &'a Transients,
    pub(super) output_view: vk::ImageView,
    pub(super) output_image: vk::Image,
    pub(super) sets: &'a [vk::DescriptorSet],
    pub(super) post: &'a PostPipelines,
    pub(super) mesh: &'a MeshPipeline,
    pub(super) extent: vk::Extent2D,
    pub(super) scene: Option<(&'a LoadedScene, &'a Camera)>,
    pub(super) meshes: &'a MeshSystem,
    pub(super) materials: &'a MaterialSystem,
    pub(super) swapchain_extent: Option<vk::Extent2D>,
}

fn whole(extent: vk::Extent2D) -> vk::Rect2D {
    vk::Rect2D {
        offset: vk::Offset2D::default(),
        extent,
    }
}

impl PassRecorder<'_> {
    /// Records pass `pass` of the frame into the recorder's command buffer (the graph has put
    /// its resources in their states).
    pub(super) fn record(&self, pass: usize, cmd: vk::CommandBuffer) -> Result<()> {
        if pass == 0 {
            return self.scene(cmd);
        }
        if let Some((index, image)) = self.frame.present {
            if index == pass {
                self.present(image, cmd);
                return Ok(());
            }
        }
        let i = pass - 1;
        let p = self.frame.post.get(i).with_context(|| {
            format!(
                "no recording for pass '{}'",
                self.frame.graph.pass_name(pass).unwrap_or("?")
            )
        })?;
        let set = *self
            .sets
            .get(i)
            .context("post pass without a descriptor set")?;
        let view = match p.target {
            Some(id) => self.transients.view(id).context("unplaced post target")?,
            None => self.output_view,
        };
        let pipeline = if p.target.is_some() {
            self.post.hdr
        } else {
            self.post.output
        };
        let param = match p.mode {
            Mode::Prefilter => BLOOM_THRESHOLD,
            Mode::Tonemap => BLOOM_STRENGTH,
            Mode::Downsample | Mode::Upsample => 0.0,
        };
        let push = post::Push {
            texel: [
                1.0 / p.source_extent.width as f32,
                1.0 / p.source_extent.height as f32,
            ],
            mode: p.mode as u32,
            param,
        };
        let device = self.device;
        if p.compute {
            let groups = |v: u32| v.div_ceil(post::BLOOM_GROUP);
            // SAFETY: recording on the bloom family; the graph put the target in GENERAL and the
            // sources in SHADER_READ_ONLY_OPTIMAL; the set samples the sources and stores to the
            // target's view.
            unsafe {
                device.cmd_bind_pipeline(cmd, vk::PipelineBindPoint::COMPUTE, self.post.bloom);
                device.cmd_bind_descriptor_sets(
                    cmd,
                    vk::PipelineBindPoint::COMPUTE,
                    self.post.layout,
                    0,
                    &[set],
                    &[],
                );
                device.cmd_push_constants(
                    cmd,
                    self.post.layout,
                    post::STAGES,
                    0,
                    bytemuck::bytes_of(&push),
                );
                device.cmd_dispatch(cmd, groups(p.extent.width), groups(p.extent.height), 1);
            }
            return Ok(());
        }
        // Every pixel is written by the full-screen triangle: nothing to load.
        let attachment = [vk::RenderingAttachmentInfo::default()
            .image_view(view)
            .image_layout(vk::ImageLayout::COLOR_ATTACHMENT_OPTIMAL)
            .load_op(vk::AttachmentLoadOp::DONT_CARE)
            .store_op(vk::AttachmentStoreOp::STORE)];
        let rendering = vk::RenderingInfo::default()
            .render_area(whole(p.extent))
            .layer_count(1)
            .color_attachments(&attachment);
        // SAFETY: recording; the graph put the target in COLOR_ATTACHMENT_OPTIMAL and the
        // sources in SHADER_READ_ONLY_OPTIMAL; the set samples the sources' views.
        unsafe {
            device.cmd_begin_rendering(cmd, &rendering);
            self.viewport(p.extent, cmd);
            device.cmd_bind_pipeline(cmd, vk::PipelineBindPoint::GRAPHICS, pipeline);
            device.cmd_bind_descriptor_sets(
                cmd,
                vk::PipelineBindPoint::GRAPHICS,
                self.post.layout,
                0,
                &[set],
                &[],
            );
            device.cmd_push_constants(
                cmd,
                self.post.layout,
                post::STAGES,
                0,
                bytemuck::bytes_of(&push),
            );
            device.cmd_draw(cmd, 3, 1, 0, 0);
            device.cmd_end_rendering(cmd);
        }
        Ok(())
    }

    /// # Safety
    /// Recording inside rendering.
    unsafe fn viewport(&self, extent: vk::Extent2D, cmd: vk::CommandBuffer) {
        // SAFETY: forwarded from this function's contract.
        unsafe {
            self.device.cmd_set_viewport(
                cmd,
                0,
                &[vk::Viewport {
                    x: 0.0,
                    y: 0.0,
                    width: extent.width as f32,
                    height: extent.height as f32,
                    min_depth: 0.0,
                    max_depth: 1.0,
                }],
            );
            self.device.cmd_set_scissor(cmd, 0, &[whole(extent)]);
        }
    }

    fn scene(&self, cmd: vk::CommandBuffer) -> Result<()> {
        let color = self
            .transients
            .view(self.frame.hdr)
            .context("unplaced scene target")?;
        let depth = self
            .transients
            .view(self.frame.depth)
            .context("unplaced depth target")?;
        let color_attachment = [vk::RenderingAttachmentInfo::default()
            .image_view(color)
            .image_layout(vk::ImageLayout::COLOR_ATTACHMENT_OPTIMAL)
            .load_op(vk::AttachmentLoadOp::CLEAR)
            .store_op(vk::AttachmentStoreOp::STORE)
            .clear_value(vk::ClearValue {
                color: vk::ClearColorValue {
                    float32: [0.02, 0.025, 0.035, 1.0],
                },
            })];
        let depth_attachment = vk::RenderingAttachmentInfo::default()
            .image_view(depth)
            .image_layout(vk::ImageLayout::DEPTH_STENCIL_ATTACHMENT_OPTIMAL)
            .load_op(vk::AttachmentLoadOp::CLEAR)
            .store_op(vk::AttachmentStoreOp::DONT_CARE)
            .clear_value(vk::ClearValue {
                depth_stencil: vk::ClearDepthStencilValue {
                    depth: 1.0,
                    stencil: 0,
                },
            });
        let rendering = vk::RenderingInfo::default()
            .render_area(whole(self.extent))
            .layer_count(1)
            .color_attachments(&color_attachment)
            .depth_attachment(&depth_attachment);
        // SAFETY: recording; the graph put both targets in their attachment layouts and the
        // scene's textures and buffers in their read states; everything drawn is alive until
        // this frame's timeline value passes (scenes are retired by that value).
        unsafe {
            self.device.cmd_begin_rendering(cmd, &rendering);
            self.viewport(self.extent, cmd);
            if let Some((scene, camera)) = self.scene {
                draw(
                    self.device,
                    self.mesh,
                    cmd,
                    scene,
                    camera,
                    self.extent,
                    self.meshes,
                    self.materials,
                );
            }
            self.device.cmd_end_rendering(cmd);
        }
        Ok(())
    }

    pub(super) fn present(&self, swapchain_image: vk::Image, cmd: vk::CommandBuffer) {
        let Some(target) = self.swapchain_extent else {
            return;
        };
        let layers = vk::ImageSubresourceLayers {
            aspect_mask: vk::ImageAspectFlags::COLOR,
            mip_level: 0,
            base_array_layer: 0,
            layer_count: 1,
        };
        let corner = |e: vk::Extent2D| vk::Offset3D {
            x: e.width as i32,
            y: e.height as i32,
            z: 1,
        };
        let region = [vk::ImageBlit2::default()
            .src_subresource(layers)
            .src_offsets([vk::Offset3D::default(), corner(self.extent)])
            .dst_subresource(layers)
            .dst_offsets([vk::Offset3D::default(), corner(target)])];
        let blit = vk::BlitImageInfo2::default()
            .src_image(self.output_image)
            .src_image_layout(vk::ImageLayout::TRANSFER_SRC_OPTIMAL)
            .dst_image(swapchain_image)
            .dst_image_layout(vk::ImageLayout::TRANSFER_DST_OPTIMAL)
            .regions(&region)
            .filter(vk::Filter::NEAREST);
        // SAFETY: the graph put both images in the layouts named.
        unsafe { self.device.cmd_blit_image2(cmd, &blit) };
    }
}

/// # Safety
/// `cmd` is inside this frame's rendering.
#[allow(clippy::too_many_arguments)]
unsafe fn draw(
    device: &ash::Device,
    pipeline: &MeshPipeline,
    cmd: vk::CommandBuffer,
    scene: &LoadedScene,
    camera: &Camera,
    extent: vk::Extent2D,
    meshes: &MeshSystem,
    materials: &MaterialSystem,
) {
    let clip_from_world = camera.clip_from_world(extent.width, extent.height);
    meshes.with_scene(scene.id, |meshes| {
        materials.with_sets(scene.id, |sets| {
            // SAFETY: recording inside rendering (this function's contract).
            unsafe {
                device.cmd_bind_pipeline(cmd, vk::PipelineBindPoint::GRAPHICS, pipeline.pipeline);
                for draw in &scene.draws {
                    let (Some(mesh), Some(&set)) = (meshes.get(draw.mesh), sets.get(draw.material))
                    else {
                        continue;
                    };
                    let push = Push {
                        clip_from_object: clip_from_world.mul(&draw.transform).0,
                        world_from_object: draw.transform.0,
                    };
                    device.cmd_bind_descriptor_sets(
                        cmd,
                        vk::PipelineBindPoint::GRAPHICS,
                        pipeline.layout,
                        0,
                        &[set],
                        &[],
                    );
                    device.cmd_push_constants(
                        cmd,
                        pipeline.layout,
                        vk::ShaderStageFlags::VERTEX,
                        0,
                        bytemuck::bytes_of(&push),
                    );
                    device.cmd_bind_vertex_buffers(cmd, 0, &[mesh.vertices.raw()], &[0]);
                    device.cmd_bind_index_buffer(cmd, mesh.indices.raw(), 0, mesh.index_type);
                    device.cmd_draw_indexed(cmd, mesh.index_count, 1, 0, 0, 0);
                }
            }
        })
    });
}
