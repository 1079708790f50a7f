//! Frames in flight and the frame graph: two frames record while the GPU finishes earlier ones.
//! Each frame is a [`Graph`]: the scene pass draws into an HDR colour transient with a depth
//! transient, a bloom chain of transients (prefilter and downsamples, then additive upsamples)
//! follows, and a tonemap pass writes the sRGB output image, which a last pass blits to the
//! swapchain image in windowed mode. Headless mode and screenshots read the output image, so
//! both modes produce the same pixels. The transients are placed by lifetime in shared memory
//! ([`Transients`]); aliasing can be turned off for comparison.
//!
//! A timeline semaphore counts frames: a scene unloaded after frame N is destroyed once the
//! timeline reaches N, without a device-wide wait on the frame path.

use anyhow::{Context as _, Result};
use ash::vk;
use vkup_allocator::{Allocator, GpuImage, ImageDesc};
use vkup_staging::{Access, Progress, ResourceState, Stager, Submitter};

use crate::gpu::Gpu;
use crate::graph::{Graph, ImageId, TransientImage};
use crate::loader::LoadedScene;
use crate::material_system::MaterialSystem;
use crate::mesh_system::MeshSystem;
use crate::pipeline::{MeshPipeline, Push, DEPTH_FORMAT};
use crate::post::{self, Mode, PostPipelines};
use crate::scene::Camera;
use crate::swapchain::Swapchain;
use crate::transients::{TransientMemory, Transients};

/// Frames recorded ahead of the GPU.
pub const FRAMES_IN_FLIGHT: usize = 2;
/// The output image's format (sRGB, like the swapchain).
pub const COLOR_FORMAT: vk::Format = vk::Format::R8G8B8A8_SRGB;
/// The scene and bloom targets' format.
pub const HDR_FORMAT: vk::Format = vk::Format::R16G16B16A16_SFLOAT;
/// Bloom: what the prefilter keeps (linear values above it), and how much the tonemap adds.
const BLOOM_THRESHOLD: f32 = 1.0;
const BLOOM_STRENGTH: f32 = 0.6;
/// Most bloom levels (halvings of the frame).
const BLOOM_LEVELS: u32 = 5;

struct Frame {
    pool: vk::CommandPool,
    cmd: vk::CommandBuffer,
    acquired: vk::Semaphore,
    /// The timeline value this frame slot last signalled.
    value: u64,
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

/// One post-process pass: `target` drawn from `sources` by `mode`.
#[derive(Clone, Copy, Debug)]
struct PostPass {
    mode: Mode,
    sources: [ImageId; 2],
    source_extent: vk::Extent2D,
    /// A transient, or `None` for the output image.
    target: Option<ImageId>,
    extent: vk::Extent2D,
}

/// A frame's graph and the ids its recording needs.
struct FrameGraph {
    graph: Graph,
    hdr: ImageId,
    depth: ImageId,
    output: ImageId,
    /// The post passes, in order: graph passes `1..=post.len()` (the scene pass is 0).
    post: Vec<PostPass>,
    /// The present pass's index and the swapchain image it blits to.
    present: Option<(usize, vk::Image)>,
}

fn half(extent: vk::Extent2D) -> vk::Extent2D {
    vk::Extent2D {
        width: (extent.width / 2).max(1),
        height: (extent.height / 2).max(1),
    }
}

/// The imports of the scene pass: textures and vertex/index buffers with the states their
/// uploads left them in.
#[derive(Default)]
struct SceneImports {
    textures: Vec<(vk::Image, vk::ImageSubresourceRange, ResourceState)>,
    buffers: Vec<(vk::Buffer, ResourceState, Access)>,
}

impl SceneImports {
    fn of(scene: Option<&LoadedScene>, meshes: &MeshSystem, materials: &MaterialSystem) -> Self {
        let Some(scene) = scene else {
            return Self::default();
        };
        let buffers = meshes.with_scene(scene.id, |meshes| {
            meshes
                .iter()
                .flat_map(|m| {
                    [
                        (m.vertices.raw(), m.vertex_state, Access::VertexBuffer),
                        (m.indices.raw(), m.index_state, Access::IndexBuffer),
                    ]
                })
                .collect()
        });
        Self {
            textures: materials.texture_states(scene.id),
            buffers,
        }
    }
}

/// Declares the frame: transients first (their ids stay the same from frame to frame), then
/// the imports.
fn declare(
    queue_family: u32,
    extent: vk::Extent2D,
    output: (vk::Image, vk::ImageSubresourceRange, ResourceState),
    swapchain: Option<vk::Image>,
    scene: &SceneImports,
) -> FrameGraph {
    let mut graph = Graph::new(queue_family);
    let transient = |graph: &mut Graph, name, format, extent| {
        graph.transient(TransientImage {
            name,
            format,
            extent,
        })
    };
    let hdr = transient(&mut graph, "hdr scene", HDR_FORMAT, extent);
    let depth = transient(&mut graph, "depth", DEPTH_FORMAT, extent);
    // Halvings down to 8 pixels on the short side, at most BLOOM_LEVELS.
    let mut extents = vec![half(extent)];
    while extents.len() < BLOOM_LEVELS as usize {
        let next = half(extents[extents.len() - 1]);
        if next.width.min(next.height) < 8 {
            break;
        }
        extents.push(next);
    }
    const DOWN: [&str; BLOOM_LEVELS as usize] = [
        "bloom down 1/2",
        "bloom down 1/4",
        "bloom down 1/8",
        "bloom down 1/16",
        "bloom down 1/32",
    ];
    const UP: [&str; BLOOM_LEVELS as usize] = [
        "bloom up 1/2",
        "bloom up 1/4",
        "bloom up 1/8",
        "bloom up 1/16",
        "bloom up 1/32",
    ];
    let down: Vec<ImageId> = extents
        .iter()
        .enumerate()
        .map(|(i, &e)| transient(&mut graph, DOWN[i], HDR_FORMAT, e))
        .collect();
    let levels = down.len();
    // up[i] (i < levels - 1) holds down[i] plus the upsampled level below it.
    let up: Vec<ImageId> = extents[..levels - 1]
        .iter()
        .enumerate()
        .map(|(i, &e)| transient(&mut graph, UP[i], HDR_FORMAT, e))
        .collect();
    let (output_image, output_range, output_state) = output;
    let output = graph.import_image(output_image, output_range, output_state);
    let swapchain_id = swapchain.map(|image| {
        let range = vk::ImageSubresourceRange {
            aspect_mask: vk::ImageAspectFlags::COLOR,
            base_mip_level: 0,
            level_count: 1,
            base_array_layer: 0,
            layer_count: 1,
        };
        // The first barrier on an acquired image waits where the acquire semaphore is waited.
        (
            graph.import_image(image, range, Access::Acquired.into()),
            image,
        )
    });
    let textures: Vec<ImageId> = scene
        .textures
        .iter()
        .map(|&(image, range, state)| graph.import_image(image, range, state))
        .collect();
    let buffers: Vec<(crate::graph::BufferId, Access)> = scene
        .buffers
        .iter()
        .map(|&(buffer, state, access)| (graph.import_buffer(buffer, state), access))
        .collect();

    let mut pass = graph
        .pass("scene")
        .image(hdr, Access::ColorAttachmentWrite)
        .image(depth, Access::DepthStencilAttachmentWrite);
    for &texture in &textures {
        pass = pass.image(texture, Access::FragmentShaderSampledRead);
    }
    for &(buffer, access) in &buffers {
        pass = pass.buffer(buffer, access);
    }

    let mut post = Vec::new();
    let mut add = |graph: &mut Graph, name, p: PostPass| {
        let mut pass = graph.pass(name);
        pass = pass.image(p.sources[0], Access::FragmentShaderSampledRead);
        if p.sources[1] != p.sources[0] {
            pass = pass.image(p.sources[1], Access::FragmentShaderSampledRead);
        }
        pass.image(p.target.unwrap_or(output), Access::ColorAttachmentWrite);
        post.push(p);
    };
    add(
        &mut graph,
        "bloom prefilter",
        PostPass {
            mode: Mode::Prefilter,
            sources: [hdr, hdr],
            source_extent: extent,
            target: Some(down[0]),
            extent: extents[0],
        },
    );
    for i in 1..levels {
        add(
            &mut graph,
            "bloom downsample",
            PostPass {
                mode: Mode::Downsample,
                sources: [down[i - 1], down[i - 1]],
                source_extent: extents[i - 1],
                target: Some(down[i]),
                extent: extents[i],
            },
        );
    }
    let mut bloom = down[levels - 1];
    for i in (0..levels - 1).rev() {
        add(
            &mut graph,
            "bloom upsample",
            PostPass {
                mode: Mode::Upsample,
                sources: [bloom, down[i]],
                source_extent: extents[i + 1],
                target: Some(up[i]),
                extent: extents[i],
            },
        );
        bloom = up[i];
    }
    add(
        &mut graph,
        "tonemap",
        PostPass {
            mode: Mode::Tonemap,
            sources: [hdr, bloom],
            source_extent: extent,
            target: None,
            extent,
        },
    );
    let present = swapchain_id.map(|(id, image)| {
        graph
            .pass("present")
            .image(output, Access::TransferRead)
            .image(id, Access::TransferWrite);
        graph.leave(id, Access::Present);
        (graph.pass_count() - 1, image)
    });
    FrameGraph {
        graph,
        hdr,
        depth,
        output,
        post,
        present,
    }
}

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
}

impl Renderer {
    pub fn new(gpu: &Gpu, aliasing: bool) -> Result<Self> {
        let device = &gpu.device;
        let pipeline = MeshPipeline::new(device, HDR_FORMAT)?;
        let post = match PostPipelines::new(device, HDR_FORMAT, COLOR_FORMAT) {
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
        for _ in 0..FRAMES_IN_FLIGHT {
            let pool_info = vk::CommandPoolCreateInfo::default()
                .flags(vk::CommandPoolCreateFlags::TRANSIENT)
                .queue_family_index(gpu.graphics.family);
            // SAFETY: valid device; destroyed in `destroy`.
            let pool = unsafe { device.create_command_pool(&pool_info, None) }?;
            let mut frame = Frame {
                pool,
                cmd: vk::CommandBuffer::null(),
                acquired: vk::Semaphore::null(),
                value: 0,
            };
            let alloc = vk::CommandBufferAllocateInfo::default()
                .command_pool(pool)
                .command_buffer_count(1);
            // SAFETY: as above.
            let made = unsafe { device.allocate_command_buffers(&alloc) }.and_then(|cmds| {
                frame.cmd = cmds[0];
                // SAFETY: as above.
                unsafe { device.create_semaphore(&vk::SemaphoreCreateInfo::default(), None) }
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
            .map(|p| Ok([views(p.sources[0])?, views(p.sources[1])?]))
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
            .transient_image(frame.hdr)
            .map_or(vk::Extent2D::default(), |t| t.extent);
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
        let output = self.output.as_ref().context("render before resize")?;
        let extent = vk::Extent2D {
            width: output.image.extent().width,
            height: output.image.extent().height,
        };
        let imports = SceneImports::of(scene.map(|(s, _)| s), meshes, materials);
        let swapchain_image = swapchain
            .zip(image_index)
            .map(|(sc, index)| sc.images[index as usize]);
        let frame = declare(
            self.graphics.family,
            extent,
            (
                output.image.raw(),
                output.image.full_range(vk::ImageAspectFlags::COLOR),
                output.state,
            ),
            swapchain_image,
            &imports,
        );
        self.prepare_transients(allocator, &frame)?;
        let transients = self.transients.as_ref().context("no transients")?;
        // The transients were made for exactly this graph's uses (`prepare_transients`).
        let plan = frame
            .graph
            .plan_with(transients.uses(), |a, b| transients.share_bytes(a, b))?;
        let output = self.output.as_ref().context("render before resize")?;
        let device = &self.device;
        // SAFETY: the slot's last submission completed (waited above), so its pool is idle.
        unsafe {
            device.reset_command_pool(pool, vk::CommandPoolResetFlags::empty())?;
            device.begin_command_buffer(
                cmd,
                &vk::CommandBufferBeginInfo::default()
                    .flags(vk::CommandBufferUsageFlags::ONE_TIME_SUBMIT),
            )?;
        }
        let recorder = PassRecorder {
            device,
            cmd,
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
        // SAFETY: recording on the graphics family; every image the graph names is alive until
        // this frame's timeline value passes (transients and the output are destroyed only after
        // a wait, scenes are retired by that value); imports come in the states their owners
        // left them in.
        unsafe {
            frame.graph.record(
                &plan,
                device,
                cmd,
                |id| transients.image(id),
                |pass, _| recorder.record(pass),
            )?;
        }
        let output_state = plan
            .images_left
            .iter()
            .find(|(id, _)| *id == frame.output)
            .map(|&(_, state)| state);
        let mut wait = Vec::new();
        let mut signal = vec![vk::SemaphoreSubmitInfo::default()
            .semaphore(self.timeline)
            .value(self.value + 1)
            .stage_mask(vk::PipelineStageFlags2::ALL_COMMANDS)];
        if let (Some(sc), Some(index)) = (swapchain, image_index) {
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
        if let (Some(state), Some(output)) = (output_state, self.output.as_mut()) {
            output.state = state;
        }
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
            }
            self.device.destroy_semaphore(self.timeline, None);
            self.pipeline.destroy(&self.device);
            self.post.destroy(&self.device);
        }
    }
}

/// What recording a frame's passes needs.
struct PassRecorder<'a> {
    device: &'a ash::Device,
    cmd: vk::CommandBuffer,
    frame: &'a FrameGraph,
    transients: &'a Transients,
    output_view: vk::ImageView,
    output_image: vk::Image,
    sets: &'a [vk::DescriptorSet],
    post: &'a PostPipelines,
    mesh: &'a MeshPipeline,
    extent: vk::Extent2D,
    scene: Option<(&'a LoadedScene, &'a Camera)>,
    meshes: &'a MeshSystem,
    materials: &'a MaterialSystem,
    swapchain_extent: Option<vk::Extent2D>,
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
    fn record(&self, pass: usize) -> Result<()> {
        if pass == 0 {
            return self.scene();
        }
        if let Some((index, image)) = self.frame.present {
            if index == pass {
                self.present(image);
                return Ok(());
            }
        }
        let i = pass - 1;
        let p = self.frame.post.get(i).with_context(|| {
            format!(
                "no recording for pass '{}'",
                self.frame.graph.pass_name(pass)
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
        let device = self.device;
        // SAFETY: recording; the graph put the target in COLOR_ATTACHMENT_OPTIMAL and the
        // sources in SHADER_READ_ONLY_OPTIMAL; the set samples the sources' views.
        unsafe {
            device.cmd_begin_rendering(self.cmd, &rendering);
            self.viewport(p.extent);
            device.cmd_bind_pipeline(self.cmd, vk::PipelineBindPoint::GRAPHICS, pipeline);
            device.cmd_bind_descriptor_sets(
                self.cmd,
                vk::PipelineBindPoint::GRAPHICS,
                self.post.layout,
                0,
                &[set],
                &[],
            );
            device.cmd_push_constants(
                self.cmd,
                self.post.layout,
                vk::ShaderStageFlags::FRAGMENT,
                0,
                bytemuck::bytes_of(&push),
            );
            device.cmd_draw(self.cmd, 3, 1, 0, 0);
            device.cmd_end_rendering(self.cmd);
        }
        Ok(())
    }

    /// # Safety
    /// Recording inside rendering.
    unsafe fn viewport(&self, extent: vk::Extent2D) {
        // SAFETY: forwarded from this function's contract.
        unsafe {
            self.device.cmd_set_viewport(
                self.cmd,
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
            self.device.cmd_set_scissor(self.cmd, 0, &[whole(extent)]);
        }
    }

    fn scene(&self) -> Result<()> {
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
            self.device.cmd_begin_rendering(self.cmd, &rendering);
            self.viewport(self.extent);
            if let Some((scene, camera)) = self.scene {
                draw(
                    self.device,
                    self.mesh,
                    self.cmd,
                    scene,
                    camera,
                    self.extent,
                    self.meshes,
                    self.materials,
                );
            }
            self.device.cmd_end_rendering(self.cmd);
        }
        Ok(())
    }

    fn present(&self, swapchain_image: vk::Image) {
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
        unsafe { self.device.cmd_blit_image2(self.cmd, &blit) };
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
