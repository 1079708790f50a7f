//! Frames in flight and the render target: two frames record while the GPU finishes earlier
//! ones; each draws the current scene into an offscreen sRGB target (with depth), which is then
//! blitted to the swapchain image in windowed mode. Headless mode and screenshots read the same
//! target, so both modes produce the same pixels.
//!
//! A timeline semaphore counts frames: a scene unloaded after frame N is destroyed once the
//! timeline reaches N, without a device-wide wait on the frame path.

use allocator::{Allocator, GpuImage, ImageDesc};
use anyhow::{Context as _, Result};
use ash::vk;
use staging::{Access, BarrierBatch, Progress, ResourceState, Stager, Submitter};

use crate::gpu::Gpu;
use crate::loader::LoadedScene;
use crate::material_system::MaterialSystem;
use crate::mesh_system::MeshSystem;
use crate::pipeline::{MeshPipeline, Push, DEPTH_FORMAT};
use crate::scene::Camera;
use crate::swapchain::Swapchain;

/// Frames recorded ahead of the GPU.
pub const FRAMES_IN_FLIGHT: usize = 2;
/// The render target's format (sRGB, like the swapchain).
pub const COLOR_FORMAT: vk::Format = vk::Format::R8G8B8A8_SRGB;

struct Frame {
    pool: vk::CommandPool,
    cmd: vk::CommandBuffer,
    acquired: vk::Semaphore,
    /// The timeline value this frame slot last signalled.
    value: u64,
}

/// The offscreen colour and depth targets, and the states they were left in.
struct Target {
    color: GpuImage,
    depth: GpuImage,
    color_view: vk::ImageView,
    depth_view: vk::ImageView,
    color_state: ResourceState,
    depth_state: ResourceState,
}

/// What a frame came to.
#[derive(Debug, PartialEq, Eq)]
pub enum Presented {
    Yes,
    /// The swapchain is out of date or suboptimal: recreate it, then draw again.
    Stale,
}

pub struct Renderer {
    device: ash::Device,
    frames: Vec<Frame>,
    next: usize,
    timeline: vk::Semaphore,
    value: u64,
    target: Option<Target>,
    pub pipeline: MeshPipeline,
    graphics: crate::gpu::Queue,
    lock: std::sync::Arc<std::sync::Mutex<()>>,
}

impl Renderer {
    pub fn new(gpu: &Gpu) -> Result<Self> {
        let device = &gpu.device;
        let pipeline = MeshPipeline::new(device, COLOR_FORMAT)?;
        let mut type_info =
            vk::SemaphoreTypeCreateInfo::default().semaphore_type(vk::SemaphoreType::TIMELINE);
        // SAFETY: valid device with timeline semaphores; destroyed in `destroy`.
        let timeline = unsafe {
            device.create_semaphore(
                &vk::SemaphoreCreateInfo::default().push_next(&mut type_info),
                None,
            )
        }?;
        let mut frames = Vec::new();
        for _ in 0..FRAMES_IN_FLIGHT {
            let pool_info = vk::CommandPoolCreateInfo::default()
                .flags(vk::CommandPoolCreateFlags::TRANSIENT)
                .queue_family_index(gpu.graphics.family);
            // SAFETY: valid device; destroyed in `destroy`.
            let pool = unsafe { device.create_command_pool(&pool_info, None) }?;
            let alloc = vk::CommandBufferAllocateInfo::default()
                .command_pool(pool)
                .command_buffer_count(1);
            // SAFETY: as above.
            let cmd = unsafe { device.allocate_command_buffers(&alloc) }?[0];
            // SAFETY: as above.
            let acquired =
                unsafe { device.create_semaphore(&vk::SemaphoreCreateInfo::default(), None) }?;
            frames.push(Frame {
                pool,
                cmd,
                acquired,
                value: 0,
            });
        }
        Ok(Self {
            device: device.clone(),
            frames,
            next: 0,
            timeline,
            value: 0,
            target: None,
            pipeline,
            graphics: gpu.graphics,
            lock: gpu.graphics_lock.clone(),
        })
    }

    /// The value of the last submitted frame.
    pub fn submitted(&self) -> u64 {
        self.value
    }

    /// The value of the last completed frame.
    pub fn completed(&self) -> Result<u64> {
        // SAFETY: our own timeline.
        Ok(unsafe { self.device.get_semaphore_counter_value(self.timeline) }?)
    }

    fn wait(&self, value: u64) -> Result<()> {
        let semaphores = [self.timeline];
        let values = [value];
        let info = vk::SemaphoreWaitInfo::default()
            .semaphores(&semaphores)
            .values(&values);
        // SAFETY: our own timeline, a value we submitted.
        Ok(unsafe { self.device.wait_semaphores(&info, u64::MAX) }?)
    }

    /// Waits for every submitted frame.
    pub fn wait_idle(&self) -> Result<()> {
        self.wait(self.value)
    }

    /// The render target's extent.
    pub fn extent(&self) -> Option<vk::Extent2D> {
        self.target.as_ref().map(|t| vk::Extent2D {
            width: t.color.extent().width,
            height: t.color.extent().height,
        })
    }

    /// (Re)creates the target at `extent` (waiting for the frames that use the old one).
    pub fn resize(&mut self, allocator: &Allocator, extent: vk::Extent2D) -> Result<()> {
        if self.extent() == Some(extent) {
            return Ok(());
        }
        self.wait_idle()?;
        self.destroy_target(allocator);
        let color = allocator
            .create_image(
                &ImageDesc::new_2d(COLOR_FORMAT, extent.width, extent.height)
                    .usage(
                        vk::ImageUsageFlags::COLOR_ATTACHMENT | vk::ImageUsageFlags::TRANSFER_SRC,
                    )
                    .name("render target"),
            )
            .context("creating the render target")?;
        let depth = match allocator.create_image(
            &ImageDesc::new_2d(DEPTH_FORMAT, extent.width, extent.height)
                .usage(vk::ImageUsageFlags::DEPTH_STENCIL_ATTACHMENT)
                .name("depth target"),
        ) {
            Ok(depth) => depth,
            Err(err) => {
                // SAFETY: never used.
                unsafe { allocator.destroy_image(color) };
                return Err(anyhow::Error::from(err).context("creating the depth target"));
            }
        };
        let view = |image: &GpuImage, aspect| {
            let info = vk::ImageViewCreateInfo::default()
                .image(image.raw())
                .view_type(vk::ImageViewType::TYPE_2D)
                .format(image.format())
                .subresource_range(image.full_range(aspect));
            // SAFETY: a live image of this device.
            unsafe { self.device.create_image_view(&info, None) }
        };
        let views = view(&color, vk::ImageAspectFlags::COLOR).and_then(|c| {
            match view(&depth, vk::ImageAspectFlags::DEPTH) {
                Ok(d) => Ok((c, d)),
                Err(err) => {
                    // SAFETY: just created, unused.
                    unsafe { self.device.destroy_image_view(c, None) };
                    Err(err)
                }
            }
        });
        let (color_view, depth_view) = match views {
            Ok(v) => v,
            Err(err) => {
                // SAFETY: never used.
                unsafe {
                    allocator.destroy_image(color);
                    allocator.destroy_image(depth);
                }
                return Err(err.into());
            }
        };
        self.target = Some(Target {
            color,
            depth,
            color_view,
            depth_view,
            color_state: ResourceState::UNDEFINED,
            depth_state: ResourceState::UNDEFINED,
        });
        Ok(())
    }

    fn destroy_target(&mut self, allocator: &Allocator) {
        if let Some(target) = self.target.take() {
            // SAFETY: callers waited for every frame that used it.
            unsafe {
                self.device.destroy_image_view(target.color_view, None);
                self.device.destroy_image_view(target.depth_view, None);
                allocator.destroy_image(target.color);
                allocator.destroy_image(target.depth);
            }
        }
    }

    /// Records and submits one frame drawing `scene` (or only the clear colour), presenting to
    /// `swapchain` when there is one.
    pub fn render(
        &mut self,
        scene: Option<(&LoadedScene, &Camera)>,
        meshes: &MeshSystem,
        materials: &MaterialSystem,
        swapchain: Option<&Swapchain>,
    ) -> Result<Presented> {
        let device = &self.device;
        let slot = self.next % self.frames.len();
        self.wait(self.frames[slot].value)?;
        let (pool, cmd, acquired) = {
            let f = &self.frames[slot];
            (f.pool, f.cmd, f.acquired)
        };
        let mut stale = false;
        let image_index = match swapchain {
            Some(sc) => {
                // SAFETY: valid swapchain; the semaphore is unsignalled (its last wait completed with
                // this slot's previous frame, waited above).
                match unsafe {
                    sc.loader
                        .acquire_next_image(sc.raw, u64::MAX, acquired, vk::Fence::null())
                } {
                    // Suboptimal still acquired the image and signals the semaphore: draw and
                    // present it, then recreate.
                    Ok((index, suboptimal)) => {
                        stale = suboptimal;
                        Some(index)
                    }
                    Err(vk::Result::ERROR_OUT_OF_DATE_KHR) => return Ok(Presented::Stale),
                    Err(err) => return Err(err.into()),
                }
            }
            None => None,
        };
        let target = self.target.as_mut().context("render before resize")?;
        let extent = vk::Extent2D {
            width: target.color.extent().width,
            height: target.color.extent().height,
        };
        // SAFETY: the slot's last submission completed (waited above), so its pool is idle.
        unsafe {
            device.reset_command_pool(pool, vk::CommandPoolResetFlags::empty())?;
            device.begin_command_buffer(
                cmd,
                &vk::CommandBufferBeginInfo::default()
                    .flags(vk::CommandBufferUsageFlags::ONE_TIME_SUBMIT),
            )?;
        }
        let mut batch = BarrierBatch::new();
        let color_write = ResourceState::new(Access::ColorAttachmentWrite);
        let depth_write = ResourceState::new(Access::DepthStencilAttachmentWrite);
        batch.image_local(
            target.color.raw(),
            target.color.full_range(vk::ImageAspectFlags::COLOR),
            target.color_state,
            color_write,
        );
        batch.image_local(
            target.depth.raw(),
            target.depth.full_range(vk::ImageAspectFlags::DEPTH),
            target.depth_state,
            depth_write,
        );
        target.color_state = color_write;
        target.depth_state = depth_write;
        let color_attachment = [vk::RenderingAttachmentInfo::default()
            .image_view(target.color_view)
            .image_layout(vk::ImageLayout::COLOR_ATTACHMENT_OPTIMAL)
            .load_op(vk::AttachmentLoadOp::CLEAR)
            .store_op(vk::AttachmentStoreOp::STORE)
            .clear_value(vk::ClearValue {
                color: vk::ClearColorValue {
                    float32: [0.02, 0.025, 0.035, 1.0],
                },
            })];
        let depth_attachment = vk::RenderingAttachmentInfo::default()
            .image_view(target.depth_view)
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
            .render_area(vk::Rect2D {
                offset: vk::Offset2D::default(),
                extent,
            })
            .layer_count(1)
            .color_attachments(&color_attachment)
            .depth_attachment(&depth_attachment);
        // SAFETY: recording; the barriers put both targets in their attachment layouts; every
        // buffer, set and view drawn is alive until this frame's timeline value passes (scenes
        // are retired by that value).
        unsafe {
            batch.record(device, cmd);
            device.cmd_begin_rendering(cmd, &rendering);
            device.cmd_set_viewport(
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
            device.cmd_set_scissor(
                cmd,
                0,
                &[vk::Rect2D {
                    offset: vk::Offset2D::default(),
                    extent,
                }],
            );
            if let Some((scene, camera)) = scene {
                draw(
                    device,
                    &self.pipeline,
                    cmd,
                    scene,
                    camera,
                    extent,
                    meshes,
                    materials,
                );
            }
            device.cmd_end_rendering(cmd);
        }
        let mut wait = Vec::new();
        let mut signal = vec![vk::SemaphoreSubmitInfo::default()
            .semaphore(self.timeline)
            .value(self.value + 1)
            .stage_mask(vk::PipelineStageFlags2::ALL_COMMANDS)];
        if let (Some(sc), Some(index)) = (swapchain, image_index) {
            let image = sc.images[index as usize];
            let range = vk::ImageSubresourceRange {
                aspect_mask: vk::ImageAspectFlags::COLOR,
                base_mip_level: 0,
                level_count: 1,
                base_array_layer: 0,
                layer_count: 1,
            };
            let read = ResourceState::new(Access::TransferRead);
            let write = ResourceState::new(Access::TransferWrite);
            batch.image_local(
                target.color.raw(),
                target.color.full_range(vk::ImageAspectFlags::COLOR),
                target.color_state,
                read,
            );
            target.color_state = read;
            // The first barrier on the acquired image waits at COLOR_ATTACHMENT_OUTPUT, where the
            // acquire semaphore is waited (Access::Acquired).
            batch.image_local(image, range, Access::Acquired.into(), write);
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
                .src_offsets([vk::Offset3D::default(), corner(extent)])
                .dst_subresource(layers)
                .dst_offsets([vk::Offset3D::default(), corner(sc.extent)])];
            let blit = vk::BlitImageInfo2::default()
                .src_image(target.color.raw())
                .src_image_layout(vk::ImageLayout::TRANSFER_SRC_OPTIMAL)
                .dst_image(image)
                .dst_image_layout(vk::ImageLayout::TRANSFER_DST_OPTIMAL)
                .regions(&region)
                .filter(vk::Filter::NEAREST);
            // SAFETY: both images are in the layouts named (barriers above).
            unsafe {
                batch.record(device, cmd);
                device.cmd_blit_image2(cmd, &blit);
            }
            batch.image_local(image, range, write, Access::Present.into());
            // SAFETY: as above.
            unsafe { batch.record(device, cmd) };
            wait.push(
                vk::SemaphoreSubmitInfo::default()
                    .semaphore(acquired)
                    .stage_mask(vk::PipelineStageFlags2::COLOR_ATTACHMENT_OUTPUT),
            );
            signal.push(
                vk::SemaphoreSubmitInfo::default()
                    .semaphore(sc.rendered[index as usize])
                    .stage_mask(vk::PipelineStageFlags2::ALL_COMMANDS),
            );
        }
        // SAFETY: recording.
        unsafe { device.end_command_buffer(cmd) }?;
        let cmds = [vk::CommandBufferSubmitInfo::default().command_buffer(cmd)];
        let submit = [vk::SubmitInfo2::default()
            .wait_semaphore_infos(&wait)
            .command_buffer_infos(&cmds)
            .signal_semaphore_infos(&signal)];
        let guard = self.lock.lock().unwrap_or_else(|p| p.into_inner());
        // SAFETY: the graphics queue, held under its lock; the command buffer is executable.
        unsafe { device.queue_submit2(self.graphics.raw, &submit, vk::Fence::null()) }?;
        self.value += 1;
        self.frames[slot].value = self.value;
        self.next += 1;
        let mut presented = if stale {
            Presented::Stale
        } else {
            Presented::Yes
        };
        if let (Some(sc), Some(index)) = (swapchain, image_index) {
            let waits = [sc.rendered[index as usize]];
            let swapchains = [sc.raw];
            let indices = [index];
            let info = vk::PresentInfoKHR::default()
                .wait_semaphores(&waits)
                .swapchains(&swapchains)
                .image_indices(&indices);
            // SAFETY: as above; the image was acquired this frame.
            match unsafe { sc.loader.queue_present(self.graphics.raw, &info) } {
                Ok(false) => {}
                Ok(true) | Err(vk::Result::ERROR_OUT_OF_DATE_KHR) => presented = Presented::Stale,
                Err(err) => return Err(err.into()),
            }
        }
        drop(guard);
        Ok(presented)
    }

    /// Reads the target's pixels back (RGBA8, sRGB-encoded, tightly packed) after every frame.
    pub fn read_target(
        &mut self,
        gpu: &Gpu,
        allocator: &Allocator,
        stager: &Stager,
    ) -> Result<(u32, u32, Vec<u8>)> {
        self.wait_idle()?;
        let target = self.target.as_mut().context("nothing rendered yet")?;
        // SAFETY: the graphics queue, shared under its lock.
        let mut submitter =
            unsafe { Submitter::new(&gpu.device, gpu.graphics.raw, gpu.graphics.family) }?
                .queue_lock(gpu.graphics_lock.clone());
        let mut ring = staging::StagingRing::new(allocator, 4096)?;
        let mut readback = None;
        let state = target.color_state;
        let color = &target.color;
        // SAFETY: on the graphics queue; the target outlives the call, which waits.
        let result = unsafe {
            submitter.run(&mut ring, |cmd, _| {
                let (r, done) =
                    stager.record_image_readback(allocator, cmd, color, state, state)?;
                readback = Some(r);
                Ok(Progress::Done(done))
            })
        };
        // SAFETY: run waited for its submission.
        unsafe {
            submitter.destroy()?;
            ring.destroy(allocator);
        }
        result?;
        let readback = readback.context("no readback")?;
        let pixels = readback.read(allocator, 0, 0);
        // SAFETY: completed.
        unsafe { readback.destroy(allocator) };
        let extent = target.color.extent();
        Ok((extent.width, extent.height, pixels?))
    }

    /// Destroys everything (waiting for the frames first).
    pub fn destroy(mut self, allocator: &Allocator) -> Result<()> {
        let waited = self.wait_idle();
        self.destroy_target(allocator);
        // SAFETY: every frame completed (or the device is lost).
        unsafe {
            for frame in &self.frames {
                self.device.destroy_semaphore(frame.acquired, None);
                self.device.destroy_command_pool(frame.pool, None);
            }
            self.device.destroy_semaphore(self.timeline, None);
            self.pipeline.destroy(&self.device);
        }
        waited
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
