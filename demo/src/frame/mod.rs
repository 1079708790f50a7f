//! Frames in flight and the frame graph: two frames record while the GPU finishes earlier ones.
//! Each frame is a [`Graph`](vkup_staging::graph::Graph): the scene pass draws into an HDR colour
//! transient with a depth transient, a bloom chain of transients (prefilter and downsamples, then additive upsamples)
//! follows, and a tonemap pass writes the sRGB output image, which a last pass blits to the
//! swapchain image in windowed mode. Headless mode and screenshots read the output image, so
//! both modes produce the same pixels. The transients are placed by lifetime in shared memory
//! ([`Transients`]); aliasing can be turned off for comparison.
//!
//! A timeline semaphore counts frames: a scene unloaded after frame N is destroyed once the
//! timeline reaches N, without a device-wide wait on the frame path.
//!
//! This module holds the frames in flight and their resources; [`declare()`] builds each frame's
//! graph, and [`passes`] records the pass bodies between the barriers the graph plans.

mod declare;
mod passes;

use anyhow::{Context as _, Result};
use ash::vk;
use vkup_allocator::{Allocator, GpuImage, ImageDesc, ImageInfo};
use vkup_staging::graph::Resource;
use vkup_staging::{ImageTarget, Progress, ResourceState, Stager, Submitter};

use crate::gpu::Gpu;
use crate::loader::LoadedScene;
use crate::material_system::MaterialSystem;
use crate::mesh_system::MeshSystem;
use crate::pipeline::MeshPipeline;
use crate::post::PostPipelines;
use crate::scene::Camera;
use crate::swapchain::Swapchain;
use crate::transients::{TransientMemory, Transients};

use declare::{declare, FrameGraph, SceneImports};
use passes::PassRecorder;

/// Frames recorded ahead of the GPU.
pub const FRAMES_IN_FLIGHT: usize = 2;
/// The output image's format (sRGB, like the swapchain).
pub const COLOR_FORMAT: vk::Format = vk::Format::R8G8B8A8_SRGB;
/// The scene and bloom targets' format.
pub const HDR_FORMAT: vk::Format = vk::Format::R16G16B16A16_SFLOAT;

struct Frame {
    pool: vk::CommandPool,
    /// One per graphics submission of the frame, allocated as needed.
    cmds: Vec<vk::CommandBuffer>,
    /// For the bloom queue's submissions, where it has a family of its own (null otherwise).
    compute_pool: vk::CommandPool,
    compute_cmds: Vec<vk::CommandBuffer>,
    acquired: vk::Semaphore,
    /// The timeline value this frame slot last signalled.
    value: u64,
}

/// The `index`th command buffer of `pool`, allocated into `cmds` the first time.
fn command_buffer(
    device: &ash::Device,
    pool: vk::CommandPool,
    cmds: &mut Vec<vk::CommandBuffer>,
    index: usize,
) -> Result<vk::CommandBuffer> {
    while cmds.len() <= index {
        let alloc = vk::CommandBufferAllocateInfo::default()
            .command_pool(pool)
            .command_buffer_count(1);
        // SAFETY: a pool of this device; freed with it.
        cmds.push(unsafe { device.allocate_command_buffers(&alloc) }?[0]);
    }
    Ok(cmds[index])
}

/// Where the bloom chain runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Bloom {
    /// Compute dispatches on a compute queue without graphics where the device has one,
    /// fragment passes on the graphics queue elsewhere.
    Auto,
    /// Fragment passes on the graphics queue.
    Fragment,
    /// Compute dispatches on the device's compute queue without graphics, where it has one
    /// (on the graphics queue otherwise).
    Compute,
}

/// The output image (persistent: screenshots read it) and the state it was left in.
struct Output {
    image: GpuImage,
    view: vk::ImageView,
    state: ResourceState,
}

/// What a frame came to.
#[derive(Debug, PartialEq, Eq)]
pub enum Presented {
    Yes,
    /// The swapchain is out of date or suboptimal: recreate it, then draw again.
    Stale,
}

/// The frames in flight, the pipelines and the persistent output image; each frame's graph and
/// transients come and go with the frame's shape.
pub struct Renderer {
    device: ash::Device,
    frames: Vec<Frame>,
    next: usize,
    timeline: vk::Semaphore,
    value: u64,
    output: Option<Output>,
    transients: Option<Transients>,
    post_sets: Vec<vk::DescriptorSet>,
    aliasing: bool,
    pub pipeline: MeshPipeline,
    post: PostPipelines,
    graphics: crate::gpu::Queue,
    lock: std::sync::Arc<std::sync::Mutex<()>>,
    /// The queue the bloom chain's dispatches run on (`None`: fragment passes).
    bloom: Option<crate::gpu::Queue>,
    /// Counts the bloom queue's submissions, where it is not the graphics queue.
    compute_timeline: vk::Semaphore,
    compute_value: u64,
}

impl Renderer {
    pub fn new(gpu: &Gpu, aliasing: bool, bloom: Bloom) -> Result<Self> {
        let device = &gpu.device;
        let pipeline = MeshPipeline::new(device, gpu.pipeline_cache, HDR_FORMAT)?;
        let post = match PostPipelines::new(device, gpu.pipeline_cache, HDR_FORMAT, COLOR_FORMAT) {
            Ok(post) => post,
            Err(err) => {
                // SAFETY: never used.
                unsafe { pipeline.destroy(device) };
                return Err(err);
            }
        };
        let mut this = Self {
            device: device.clone(),
            frames: Vec::new(),
            next: 0,
            timeline: vk::Semaphore::null(),
            value: 0,
            output: None,
            transients: None,
            post_sets: Vec::new(),
            aliasing,
            pipeline,
            post,
            graphics: gpu.graphics,
            lock: gpu.graphics_lock.clone(),
            bloom: match bloom {
                Bloom::Auto => gpu.compute,
                Bloom::Fragment => None,
                Bloom::Compute => Some(gpu.compute.unwrap_or(gpu.graphics)),
            },
            compute_timeline: vk::Semaphore::null(),
            compute_value: 0,
        };
        if let Err(err) = this.create_frames(gpu) {
            // SAFETY: nothing was submitted; null handles are ignored.
            unsafe { this.destroy_objects() };
            return Err(err);
        }
        Ok(this)
    }

    fn create_frames(&mut self, gpu: &Gpu) -> Result<()> {
        let device = &gpu.device;
        let mut type_info =
            vk::SemaphoreTypeCreateInfo::default().semaphore_type(vk::SemaphoreType::TIMELINE);
        // SAFETY: valid device with timeline semaphores; destroyed in `destroy`.
        self.timeline = unsafe {
            device.create_semaphore(
                &vk::SemaphoreCreateInfo::default().push_next(&mut type_info),
                None,
            )
        }?;
        let separate = self.bloom.filter(|q| q.family != gpu.graphics.family);
        if separate.is_some() {
            let mut type_info =
                vk::SemaphoreTypeCreateInfo::default().semaphore_type(vk::SemaphoreType::TIMELINE);
            // SAFETY: as above.
            self.compute_timeline = unsafe {
                device.create_semaphore(
                    &vk::SemaphoreCreateInfo::default().push_next(&mut type_info),
                    None,
                )
            }?;
        }
        let pool_for = |family: u32| {
            let pool_info = vk::CommandPoolCreateInfo::default()
                .flags(vk::CommandPoolCreateFlags::TRANSIENT)
                .queue_family_index(family);
            // SAFETY: valid device; destroyed in `destroy`.
            unsafe { device.create_command_pool(&pool_info, None) }
        };
        for _ in 0..FRAMES_IN_FLIGHT {
            let mut frame = Frame {
                pool: vk::CommandPool::null(),
                cmds: Vec::new(),
                compute_pool: vk::CommandPool::null(),
                compute_cmds: Vec::new(),
                acquired: vk::Semaphore::null(),
                value: 0,
            };
            let made = pool_for(gpu.graphics.family)
                .map(|pool| frame.pool = pool)
                .and_then(|()| match separate {
                    Some(queue) => pool_for(queue.family).map(|pool| frame.compute_pool = pool),
                    None => Ok(()),
                })
                // SAFETY: as above.
                .and_then(|()| unsafe {
                    device.create_semaphore(&vk::SemaphoreCreateInfo::default(), None)
                });
            match made {
                Ok(acquired) => frame.acquired = acquired,
                Err(err) => {
                    self.frames.push(frame);
                    return Err(err.into());
                }
            }
            self.frames.push(frame);
        }
        Ok(())
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

    /// The output's extent.
    pub fn extent(&self) -> Option<vk::Extent2D> {
        self.output.as_ref().map(|o| vk::Extent2D {
            width: o.image.extent().width,
            height: o.image.extent().height,
        })
    }

    /// Whether transients share memory.
    pub fn aliasing(&self) -> bool {
        self.aliasing
    }

    /// Turns aliasing of the transients on or off (they are re-placed before the next frame).
    pub fn set_aliasing(&mut self, on: bool) {
        self.aliasing = on;
    }

    /// Allocations the renderer holds now: the output image and the transients' memory blocks.
    pub fn allocations(&self) -> u64 {
        u64::from(self.output.is_some())
            + self
                .transients
                .as_ref()
                .map_or(0, |t| t.memory_blocks() as u64)
    }

    /// The transient memory of the last frame's graph.
    pub fn transient_memory(&self) -> Option<TransientMemory> {
        self.transients.as_ref().map(|t| t.memory_use)
    }

    /// (Re)creates the output at `extent` (waiting for the frames that use the old one); the
    /// transients follow at the next frame.
    pub fn resize(&mut self, allocator: &Allocator, extent: vk::Extent2D) -> Result<()> {
        if self.extent() == Some(extent) {
            return Ok(());
        }
        self.wait_idle()?;
        self.destroy_output(allocator);
        let image = allocator
            .create_image(
                &ImageDesc::new_2d(COLOR_FORMAT, extent.width, extent.height)
                    .usage(
                        vk::ImageUsageFlags::COLOR_ATTACHMENT | vk::ImageUsageFlags::TRANSFER_SRC,
                    )
                    .name("output"),
            )
            .context("creating the output image")?;
        let info = vk::ImageViewCreateInfo::default()
            .image(image.raw())
            .view_type(vk::ImageViewType::TYPE_2D)
            .format(image.format())
            .subresource_range(image.full_range(vk::ImageAspectFlags::COLOR));
        // SAFETY: a live image of this device.
        let view = match unsafe { self.device.create_image_view(&info, None) } {
            Ok(view) => view,
            Err(err) => {
                // SAFETY: never used.
                unsafe { allocator.destroy_image(image) };
                return Err(err.into());
            }
        };
        self.output = Some(Output {
            image,
            view,
            state: ResourceState::UNDEFINED,
        });
        Ok(())
    }

    fn destroy_output(&mut self, allocator: &Allocator) {
        if let Some(output) = self.output.take() {
            // SAFETY: callers waited for every frame that used it.
            unsafe {
                self.device.destroy_image_view(output.view, None);
                allocator.destroy_image(output.image);
            }
        }
    }

    fn destroy_transients(&mut self, allocator: &Allocator) {
        if let Some(mut transients) = self.transients.take() {
            // SAFETY: callers waited for every frame that used them.
            unsafe { transients.destroy(allocator) };
        }
        self.post_sets.clear();
    }

    /// Makes sure the transients fit `frame`'s graph, re-placing them (after the frames that use
    /// the old ones) when its transients or the aliasing setting changed.
    fn prepare_transients(&mut self, allocator: &Allocator, frame: &FrameGraph) -> Result<()> {
        let uses = frame.graph.transients()?;
        if self
            .transients
            .as_ref()
            .is_some_and(|t| t.fits(&uses, self.aliasing))
        {
            return Ok(());
        }
        self.wait_idle()?;
        self.destroy_transients(allocator);
        let transients = Transients::new(&self.device, allocator, &uses, self.aliasing)?;
        let views = |id| {
            transients
                .view(id)
                .context("a post pass samples an unplaced image")
        };
        let sources = frame
            .post
            .iter()
            .map(|p| {
                let target = match (p.compute, p.target) {
                    (true, Some(id)) => Some(views(id)?),
                    _ => None,
                };
                Ok(([views(p.sources[0])?, views(p.sources[1])?], target))
            })
            .collect::<Result<Vec<_>>>();
        // SAFETY: every frame completed (waited above); the views live as long as the sets.
        let sets = sources.and_then(|s| unsafe { self.post.write_sets(&self.device, &s) });
        let sets = match sets {
            Ok(sets) => sets,
            Err(err) => {
                let mut transients = transients;
                // SAFETY: never used.
                unsafe { transients.destroy(allocator) };
                return Err(err);
            }
        };
        let m = transients.memory_use;
        let extent = frame
            .graph
            .transient_image_of(frame.hdr)
            .map_or(vk::Extent3D::default(), |t| t.extent);
        let mib = |b: u64| (b as f64 / (1 << 20) as f64 * 10.0).round() / 10.0;
        tracing::info!(
            extent = %format!("{}x{}", extent.width, extent.height),
            aliasing = self.aliasing,
            transients = uses.len(),
            placed_mib = mib(m.placed),
            unaliased_mib = mib(m.unaliased),
            lower_bound_mib = mib(m.lower_bound),
            aliased_pairs = transients.aliased_pairs(),
            "transient memory"
        );
        self.transients = Some(transients);
        self.post_sets = sets;
        Ok(())
    }

    /// Records and submits one frame drawing `scene` (or only the clear colour), presenting to
    /// `swapchain` when there is one.
    pub fn render(
        &mut self,
        allocator: &Allocator,
        scene: Option<(&LoadedScene, &Camera)>,
        meshes: &MeshSystem,
        materials: &MaterialSystem,
        swapchain: Option<&Swapchain>,
    ) -> Result<Presented> {
        let slot = self.next % self.frames.len();
        self.wait(self.frames[slot].value)?;
        let (pool, compute_pool, acquired) = {
            let f = &self.frames[slot];
            (f.pool, f.compute_pool, f.acquired)
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
        let output = self.output.as_ref().context("render before resize")?;
        let extent = vk::Extent2D {
            width: output.image.extent().width,
            height: output.image.extent().height,
        };
        let imports = SceneImports::of(scene.map(|(s, _)| s), meshes, materials);
        let swapchain_image = swapchain.zip(image_index).map(|(sc, index)| {
            let info = ImageInfo {
                extent: vk::Extent3D {
                    width: sc.extent.width,
                    height: sc.extent.height,
                    depth: 1,
                },
                format: sc.format,
                mip_levels: 1,
                array_layers: 1,
                usage: vk::ImageUsageFlags::TRANSFER_DST | vk::ImageUsageFlags::COLOR_ATTACHMENT,
                image_type: vk::ImageType::TYPE_2D,
                samples: vk::SampleCountFlags::TYPE_1,
                tiling: vk::ImageTiling::OPTIMAL,
                flags: vk::ImageCreateFlags::empty(),
            };
            // SAFETY: the swapchain's image, created as `info` says (`Swapchain::new`).
            unsafe { ImageTarget::new(sc.images[index as usize], info) }
        });
        let frame = declare(
            self.graphics.family,
            self.bloom.map(|q| q.family),
            extent,
            (ImageTarget::from(&output.image), output.state),
            swapchain_image,
            &imports,
        );
        self.prepare_transients(allocator, &frame)?;
        let transients = self.transients.as_ref().context("no transients")?;
        // The transients were made for exactly this graph's uses (`prepare_transients`).
        let mut plan = frame
            .graph
            .plan(&transients.bindings(), |a, b| transients.shares_bytes(a, b))?;
        let output = self.output.as_ref().context("render before resize")?;
        let device = &self.device;
        // SAFETY: the slot's last frame completed (waited above: its last graphics submission
        // waited for its compute one), so its pools are idle.
        unsafe {
            device.reset_command_pool(pool, vk::CommandPoolResetFlags::empty())?;
            if compute_pool != vk::CommandPool::null() {
                device.reset_command_pool(compute_pool, vk::CommandPoolResetFlags::empty())?;
            }
        }
        let recorder = PassRecorder {
            device,
            frame: &frame,
            transients,
            output_view: output.view,
            output_image: output.image.raw(),
            sets: &self.post_sets,
            post: &self.post,
            mesh: &self.pipeline,
            extent,
            scene,
            meshes,
            materials,
            swapchain_extent: swapchain.map(|sc| sc.extent),
        };
        let output_state = plan
            .final_states
            .iter()
            .find(|(id, _)| *id == Resource::Image(frame.output))
            .map(|&(_, state)| state);
        let submissions = plan.submissions();
        let last_graphics = submissions
            .iter()
            .rposition(|s| s.queue_family == self.graphics.family);
        let present_pass = frame.present.map(|(index, _)| index);
        // Per submission: its semaphore and the value it signals.
        let mut signalled: Vec<(vk::Semaphore, u64)> = Vec::new();
        let (mut graphics_cmds, mut compute_cmds) = (0, 0);
        let guard = self.lock.lock().unwrap_or_else(|p| p.into_inner());
        for (i, submission) in submissions.iter().enumerate() {
            let on_graphics = submission.queue_family == self.graphics.family;
            let f = &mut self.frames[slot];
            let (cmd, queue) = if on_graphics {
                graphics_cmds += 1;
                let cmd = command_buffer(device, f.pool, &mut f.cmds, graphics_cmds - 1)?;
                (cmd, self.graphics.raw)
            } else {
                compute_cmds += 1;
                let cmd = command_buffer(
                    device,
                    f.compute_pool,
                    &mut f.compute_cmds,
                    compute_cmds - 1,
                )?;
                (cmd, self.bloom.map_or(self.graphics.raw, |q| q.raw))
            };
            // SAFETY: a command buffer of an idle pool (reset above); recording on the family
            // of the submission's passes; every resource the graph names is alive until this
            // frame's timeline values pass (transients and the output are destroyed only after a
            // wait, scenes are retired by the graphics value); imports come in the states their
            // owners left them in.
            unsafe {
                device.begin_command_buffer(
                    cmd,
                    &vk::CommandBufferBeginInfo::default()
                        .flags(vk::CommandBufferUsageFlags::ONE_TIME_SUBMIT),
                )?;
                for p in submission.passes.clone() {
                    plan.passes[p].before.record(cmd, device);
                    recorder.record(p, cmd)?;
                    plan.passes[p].after.record(cmd, device);
                }
                device.end_command_buffer(cmd)?;
            }
            let all = vk::PipelineStageFlags2::ALL_COMMANDS;
            let mut wait: Vec<vk::SemaphoreSubmitInfo> = submission
                .waits
                .iter()
                .map(|&w| {
                    let (semaphore, value) = signalled[w];
                    vk::SemaphoreSubmitInfo::default()
                        .semaphore(semaphore)
                        .value(value)
                        .stage_mask(all)
                })
                .collect();
            if i == 0 && self.compute_value > 0 {
                // The previous frames' dispatches read and wrote transients this frame takes
                // over: they finish first.
                wait.push(
                    vk::SemaphoreSubmitInfo::default()
                        .semaphore(self.compute_timeline)
                        .value(self.compute_value)
                        .stage_mask(all),
                );
            }
            let (semaphore, value) = if on_graphics {
                self.value += 1;
                (self.timeline, self.value)
            } else {
                self.compute_value += 1;
                (self.compute_timeline, self.compute_value)
            };
            let mut signal = vec![vk::SemaphoreSubmitInfo::default()
                .semaphore(semaphore)
                .value(value)
                .stage_mask(all)];
            if let (Some(sc), Some(index)) = (swapchain, image_index) {
                if present_pass.is_some_and(|p| submission.passes.contains(&p)) {
                    wait.push(
                        vk::SemaphoreSubmitInfo::default()
                            .semaphore(acquired)
                            .stage_mask(vk::PipelineStageFlags2::COLOR_ATTACHMENT_OUTPUT),
                    );
                }
                if Some(i) == last_graphics {
                    signal.push(
                        vk::SemaphoreSubmitInfo::default()
                            .semaphore(sc.rendered[index as usize])
                            .stage_mask(all),
                    );
                }
            }
            signalled.push((semaphore, value));
            let cmds = [vk::CommandBufferSubmitInfo::default().command_buffer(cmd)];
            let submit = [vk::SubmitInfo2::default()
                .wait_semaphore_infos(&wait)
                .command_buffer_infos(&cmds)
                .signal_semaphore_infos(&signal)];
            // SAFETY: the graphics queue is held under its lock; the bloom queue is the
            // renderer's alone; the command buffer is executable.
            unsafe { device.queue_submit2(queue, &submit, vk::Fence::null()) }?;
        }
        if let (Some(state), Some(output)) = (output_state, self.output.as_mut()) {
            output.state = state;
        }
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
        let target = self.output.as_mut().context("nothing rendered yet")?;
        // SAFETY: the graphics queue, shared under its lock.
        let mut submitter =
            unsafe { Submitter::new(&gpu.device, gpu.graphics.raw, gpu.graphics.family) }?
                .queue_lock(gpu.graphics_lock.clone());
        let mut ring = vkup_staging::StagingRing::new(allocator, 4096)?;
        let mut readback = None;
        let state = target.state;
        let color = &target.image;
        // SAFETY: on the graphics queue; the target outlives the call, which waits.
        let result = unsafe {
            submitter.run(&mut ring, |cmd, _| {
                let (r, done) =
                    stager.record_image_readback(cmd, allocator, color, state, state)?;
                readback = Some(r);
                Ok(Progress::Done(done))
            })
        };
        let pixels = match readback {
            Some(mut readback) => {
                let timeline = submitter.timeline();
                // SAFETY: `run` waited for the submission that copied into it, the last one it
                // made, which signalled `last_value` (or it failed, and nothing copies).
                unsafe { readback.submitted(timeline, submitter.last_value()) };
                let pixels = result
                    .map_err(anyhow::Error::from)
                    .and_then(|_| Ok(readback.read(allocator, timeline, 0, 0)?));
                // SAFETY: `run` waited for the copy, or failed before submitting it.
                unsafe { readback.destroy(allocator) };
                pixels
            }
            None => result
                .map_err(anyhow::Error::from)
                .and_then(|_| anyhow::bail!("no readback")),
        };
        // SAFETY: run waited for its submission.
        unsafe {
            submitter.destroy()?;
            ring.destroy(allocator);
        }
        let extent = target.image.extent();
        Ok((extent.width, extent.height, pixels?))
    }

    /// Destroys everything (waiting for the frames first).
    pub fn destroy(mut self, allocator: &Allocator) -> Result<()> {
        let waited = self.wait_idle();
        self.destroy_output(allocator);
        self.destroy_transients(allocator);
        // SAFETY: every frame completed (or the device is lost).
        unsafe { self.destroy_objects() };
        waited
    }

    /// Destroys the frames, the timeline and the pipelines.
    ///
    /// # Safety
    /// No pending work uses them.
    unsafe fn destroy_objects(&mut self) {
        // SAFETY: forwarded from this function's contract; null handles are ignored.
        unsafe {
            for frame in self.frames.drain(..) {
                self.device.destroy_semaphore(frame.acquired, None);
                self.device.destroy_command_pool(frame.pool, None);
                self.device.destroy_command_pool(frame.compute_pool, None);
            }
            self.device.destroy_semaphore(self.timeline, None);
            self.device.destroy_semaphore(self.compute_timeline, None);
            self.pipeline.destroy(&self.device);
            self.post.destroy(&self.device);
        }
    }
}
