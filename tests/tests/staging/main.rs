//! Integration tests of the `staging` crate on a real device (lavapipe in CI) with validation and
//! synchronization validation on. Every upload is read back and compared byte for byte.

mod access_sets;
mod buffers;
mod chaining;
mod edges;
mod graph_exec;
mod host_copy;
mod images;
mod imported;
mod in_place;
mod mips;
mod ownership;
mod soundness;

/// A graphics pipeline of `shaders` (vertex, fragment SPIR-V) without vertex input: triangle
/// lists into subpass 0 of `render_pass` (one colour attachment), nothing culled, no blending,
/// with `depth` testing when given; a fixed viewport and scissor of `extent`, or dynamic ones
/// when `None`.
///
/// # Safety
/// `layout` and `render_pass` are live objects of `device` that the shaders fit.
pub unsafe fn draw_pipeline(
    device: &ash::Device,
    layout: ash::vk::PipelineLayout,
    render_pass: ash::vk::RenderPass,
    shaders: (&[u8], &[u8]),
    extent: Option<ash::vk::Extent2D>,
    depth: Option<ash::vk::PipelineDepthStencilStateCreateInfo<'_>>,
) -> ash::vk::Pipeline {
    use ash::vk;
    let module = |bytes: &[u8]| {
        let words = ash::util::read_spv(&mut std::io::Cursor::new(bytes)).unwrap();
        // SAFETY: valid device; the words are SPIR-V built from shaders/.
        unsafe {
            device.create_shader_module(&vk::ShaderModuleCreateInfo::default().code(&words), None)
        }
        .unwrap()
    };
    let (vert, frag) = (module(shaders.0), module(shaders.1));
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
    let viewports = extent.map(|e| {
        [vk::Viewport {
            x: 0.0,
            y: 0.0,
            width: e.width as f32,
            height: e.height as f32,
            min_depth: 0.0,
            max_depth: 1.0,
        }]
    });
    let scissors = extent.map(|extent| {
        [vk::Rect2D {
            offset: vk::Offset2D::default(),
            extent,
        }]
    });
    let viewport = match (&viewports, &scissors) {
        (Some(viewports), Some(scissors)) => vk::PipelineViewportStateCreateInfo::default()
            .viewports(viewports)
            .scissors(scissors),
        _ => vk::PipelineViewportStateCreateInfo::default()
            .viewport_count(1)
            .scissor_count(1),
    };
    let blend = [vk::PipelineColorBlendAttachmentState::default()
        .color_write_mask(vk::ColorComponentFlags::RGBA)];
    let vertex_input = vk::PipelineVertexInputStateCreateInfo::default();
    let assembly = vk::PipelineInputAssemblyStateCreateInfo::default()
        .topology(vk::PrimitiveTopology::TRIANGLE_LIST);
    let raster = vk::PipelineRasterizationStateCreateInfo::default()
        .polygon_mode(vk::PolygonMode::FILL)
        .cull_mode(vk::CullModeFlags::NONE)
        .line_width(1.0);
    let multisample = vk::PipelineMultisampleStateCreateInfo::default()
        .rasterization_samples(vk::SampleCountFlags::TYPE_1);
    let color_blend = vk::PipelineColorBlendStateCreateInfo::default().attachments(&blend);
    let dynamic_states = [vk::DynamicState::VIEWPORT, vk::DynamicState::SCISSOR];
    let dynamic =
        vk::PipelineDynamicStateCreateInfo::default().dynamic_states(if extent.is_some() {
            &[]
        } else {
            &dynamic_states
        });
    let mut info = vk::GraphicsPipelineCreateInfo::default()
        .stages(&stages)
        .vertex_input_state(&vertex_input)
        .input_assembly_state(&assembly)
        .viewport_state(&viewport)
        .rasterization_state(&raster)
        .multisample_state(&multisample)
        .color_blend_state(&color_blend)
        .dynamic_state(&dynamic)
        .layout(layout)
        .render_pass(render_pass)
        .subpass(0);
    if let Some(depth) = &depth {
        info = info.depth_stencil_state(depth);
    }
    // SAFETY: every pointer in `info` refers to locals alive for the call; `layout` and
    // `render_pass` are live (this function's contract); the modules go once the pipeline exists.
    unsafe {
        let pipeline = device
            .create_graphics_pipelines(vk::PipelineCache::null(), &[info], None)
            .unwrap()[0];
        device.destroy_shader_module(vert, None);
        device.destroy_shader_module(frag, None);
        pipeline
    }
}

/// Deterministic bytes for a test case.
pub fn pattern(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect()
}

/// Reads a whole buffer, in state `from`, back through the GPU.
pub fn read_back(
    gpu: &gpu_tests::Gpu,
    alloc: &vkup_allocator::Allocator,
    buffer: &vkup_allocator::GpuBuffer,
    from: vkup_staging::Access,
) -> Vec<u8> {
    let stager = gpu.stager(alloc);
    let mut out = None;
    let from = vkup_staging::ResourceState::new(from);
    let value = gpu.submit_and_wait(|cmd| {
        // SAFETY: recording on the Gpu's queue; the buffer outlives the wait.
        let (readback, _) = unsafe {
            stager.record_buffer_readback(cmd, alloc, buffer, 0..buffer.size(), from, from)
        }
        .unwrap();
        out = Some(readback);
    });
    let mut readback = out.unwrap();
    // SAFETY: the submission that signalled `value` copied into it.
    unsafe { readback.submitted(gpu.timeline(), value) };
    let bytes = readback.read(alloc, gpu.timeline()).unwrap();
    // SAFETY: the copy has completed (submit_and_wait waited).
    unsafe { readback.destroy(alloc) };
    bytes
}

/// Records `uploads` together through `ring` on a submitter of its own: begun in the first
/// command buffer, then `record_copies_together` on the unfinished ones in each. Answers each
/// upload's final state and the command buffer (counted from 0) whose recording finished it;
/// after an error, it waits for what was submitted.
pub fn run_together(
    gpu: &gpu_tests::Gpu,
    alloc: &vkup_allocator::Allocator,
    stager: &vkup_staging::Stager,
    ring: &mut vkup_staging::StagingRing,
    uploads: &mut [&mut vkup_staging::ImageUpload<'_>],
) -> vkup_staging::Result<Vec<(vkup_staging::ResourceState, usize)>> {
    use vkup_staging::{BarrierBatch, Finished, Progress, ResourceState};
    let mut submitter = gpu.submitter();
    let mut ends = vec![None; uploads.len()];
    let mut calls = 0;
    // SAFETY: recording on the submitter's queue; images and ring outlive `run`; every command
    // buffer is recorded by one `record_together`, the first with the opening barriers.
    let result = unsafe {
        submitter.run(ring, |cmd, ring| {
            let recorded =
                gpu_tests::record_together(cmd, stager, alloc, ring, uploads, calls == 0)?;
            for (i, p) in recorded {
                if let Progress::Done(done) = p {
                    ends[i] = Some((done.state, calls));
                }
            }
            calls += 1;
            Ok(if ends.iter().all(Option::is_some) {
                Progress::Done(Finished {
                    state: ResourceState::UNDEFINED,
                    acquire: BarrierBatch::new(),
                })
            } else {
                Progress::Pending
            })
        })
    };
    submitter.wait_idle().unwrap();
    // SAFETY: nothing submitted is still running.
    unsafe { submitter.destroy().unwrap() };
    result.map(|_| ends.into_iter().map(Option::unwrap).collect())
}

/// Reads back every level and layer of `image` (in `state`), packed.
pub fn read_image(
    gpu: &gpu_tests::Gpu,
    alloc: &vkup_allocator::Allocator,
    image: &vkup_allocator::GpuImage,
    state: vkup_staging::ResourceState,
) -> Vec<u8> {
    let stager = gpu.stager(alloc);
    let mut submitter = gpu.submitter();
    let mut ring = vkup_staging::StagingRing::new(alloc, 1 << 16).unwrap();
    let mut readback = None;
    // SAFETY: recording on the submitter's queue; the image outlives `run`.
    let _ = unsafe {
        submitter.run(&mut ring, |cmd, _| {
            let (r, finished) = stager.record_image_readback(cmd, alloc, image, state, state)?;
            readback = Some(r);
            Ok(vkup_staging::Progress::Done(finished))
        })
    }
    .unwrap();
    let mut readback = readback.unwrap();
    // SAFETY: `run` waited for its last submission, which copied into it.
    unsafe { readback.submitted(submitter.timeline(), submitter.last_value()) };
    let mut out = Vec::new();
    for level in 0..image.mip_levels() {
        for layer in 0..image.array_layers() {
            out.extend_from_slice(
                &readback
                    .read(alloc, submitter.timeline(), level, layer)
                    .unwrap(),
            );
        }
    }
    // SAFETY: every submission has completed.
    unsafe {
        readback.destroy(alloc);
        submitter.destroy().unwrap();
        ring.destroy(alloc);
    }
    out
}
