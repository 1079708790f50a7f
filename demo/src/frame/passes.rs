//! The pass bodies of a frame, recorded between the barriers the graph plans.

use anyhow::{Context as _, Result};
use ash::vk;

use crate::loader::LoadedScene;
use crate::material_system::MaterialSet;
use crate::material_system::MaterialSystem;
use crate::mesh_system::Mesh;
use crate::mesh_system::MeshSystem;
use crate::pipeline::{MeshPipeline, Push, Variant};
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
                bind(
                    device,
                    cmd,
                    vk::PipelineBindPoint::COMPUTE,
                    self.post,
                    self.post.bloom,
                    set,
                    &push,
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
            bind(
                device,
                cmd,
                vk::PipelineBindPoint::GRAPHICS,
                self.post,
                pipeline,
                set,
                &push,
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

/// Binds a post pass's `pipeline` at `point`, with its descriptor set and push constants.
///
/// # Safety
/// `cmd` is recording; `pipeline` and `set` belong to `post`'s layout and outlive the submission.
unsafe fn bind(
    device: &ash::Device,
    cmd: vk::CommandBuffer,
    point: vk::PipelineBindPoint,
    post: &PostPipelines,
    pipeline: vk::Pipeline,
    set: vk::DescriptorSet,
    push: &post::Push,
) {
    // SAFETY: forwarded from this function's contract.
    unsafe {
        device.cmd_bind_pipeline(cmd, point, pipeline);
        device.cmd_bind_descriptor_sets(cmd, point, post.layout, 0, &[set], &[]);
        device.cmd_push_constants(cmd, post.layout, post::STAGES, 0, bytemuck::bytes_of(push));
    }
}

/// Draws `scene`: opaque and masked draws first, then blended ones from back to front (by the
/// distance of their bounds' centres from the eye).
///
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
    let eye = camera.eye();
    let level = scene.level.map_or(-1.0, |level| level as f32);
    meshes.with_scene(scene.id, |meshes| {
        materials.with_sets(scene.id, |sets| {
            let mut draws: Vec<(&crate::scene::Draw, &Mesh, &MaterialSet, f32)> = scene
                .draws
                .iter()
                .filter_map(|draw| {
                    let mesh = meshes.get(draw.mesh)?;
                    let set = sets.get(draw.material)?;
                    let c = draw.transform.transform_point(mesh.center);
                    let d: f32 = (0..3).map(|i| (c[i] - eye[i]) * (c[i] - eye[i])).sum();
                    Some((draw, mesh, set, d))
                })
                .collect();
            // Stable: opaque draws keep the file's order; blended ones go last, farthest first.
            draws.sort_by(|a, b| match (a.2.blend, b.2.blend) {
                (false, false) => std::cmp::Ordering::Equal,
                (false, true) => std::cmp::Ordering::Less,
                (true, false) => std::cmp::Ordering::Greater,
                (true, true) => b.3.total_cmp(&a.3),
            });
            let mut bound = None;
            // The rasterizer state set last: set again only when it changes (lavapipe builds
            // new rasterizer work for every change, even to the same value).
            let mut raster = None;
            for (draw, mesh, set, _) in draws {
                let variant = Variant {
                    topology: mesh.topology,
                    blend: set.blend,
                    shader: set.shader,
                };
                let m = &draw.transform.0;
                let push = Push {
                    clip_from_object: clip_from_world.mul(&draw.transform).0,
                    world_rows: std::array::from_fn(|r| [m[0][r], m[1][r], m[2][r], m[3][r]]),
                    eye: [eye[0], eye[1], eye[2], level],
                };
                // glTF's front faces wind counter-clockwise; the projection's Y flip keeps
                // them counter-clockwise in Vulkan's framebuffer coordinates, and a mirroring
                // transform turns them around.
                let front = if draw.mirrors() {
                    vk::FrontFace::CLOCKWISE
                } else {
                    vk::FrontFace::COUNTER_CLOCKWISE
                };
                let cull = if set.double_sided {
                    vk::CullModeFlags::NONE
                } else {
                    vk::CullModeFlags::BACK
                };
                // SAFETY: recording inside rendering (this function's contract); the set, the
                // buffers and the pipeline are alive until this frame completes.
                unsafe {
                    if bound != Some(variant) {
                        device.cmd_bind_pipeline(
                            cmd,
                            vk::PipelineBindPoint::GRAPHICS,
                            pipeline.get(variant),
                        );
                        bound = Some(variant);
                    }
                    if raster != Some((cull, front)) {
                        device.cmd_set_cull_mode(cmd, cull);
                        device.cmd_set_front_face(cmd, front);
                        raster = Some((cull, front));
                    }
                    device.cmd_bind_descriptor_sets(
                        cmd,
                        vk::PipelineBindPoint::GRAPHICS,
                        pipeline.layout,
                        0,
                        &[set.set],
                        &[],
                    );
                    device.cmd_push_constants(
                        cmd,
                        pipeline.layout,
                        vk::ShaderStageFlags::VERTEX | vk::ShaderStageFlags::FRAGMENT,
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
