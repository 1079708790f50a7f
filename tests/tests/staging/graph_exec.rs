//! Generated frame graphs planned by `vkup_staging::graph` and executed: passes of clears, fills,
//! copies, draws and compute dispatches over random subresources and byte ranges of transient
//! images and buffers, placed with and without aliasing, recorded with nothing but the plan's
//! barriers, under synchronization validation. Every pass's result is checked against a CPU model through
//! readbacks taken at random points of the frame, so a missing barrier shows as a validation
//! hazard and a wrong one as wrong bytes.

use ash::vk;
use gpu_tests::Gpu;
use proptest::prelude::*;
use vkup_allocator::placement::Aliasing;
use vkup_allocator::{Allocator, BufferDesc};
use vkup_staging::graph::{BufferId, Graph, ImageId, PlacedTransients, TransientImage};
use vkup_staging::{Access, ResourceState};

const IMAGES: usize = 2;
const BUFFERS: usize = 2;
const LEVELS: u32 = 2;
const LAYERS: u32 = 2;
const SIDE: u32 = 16;
const BUFFER_BYTES: u64 = 4096;
const READBACK_BYTES: u64 = 64 * 1024;
/// Dispatch offsets and lengths are multiples of this many words (64 bytes: at least every
/// device's `minStorageBufferOffsetAlignment` the tests run on), so that each descriptor binds
/// exactly the bytes its pass declares.
const DISPATCH_WORDS: u64 = 16;

const GRAPH_COPY: &[u8] = include_bytes!("../../../shaders/spirv/graph_copy_comp.spv");
const FULLSCREEN_VERT: &[u8] = include_bytes!("../../../shaders/spirv/fullscreen_vert.spv");
const GRAPH_FILL_FRAG: &[u8] = include_bytes!("../../../shaders/spirv/graph_fill_frag.spv");

/// Bytes of level `level` of one layer.
fn level_bytes(level: u32) -> u64 {
    u64::from((SIDE >> level) * (SIDE >> level) * 4)
}

#[derive(Clone, Debug)]
enum Op {
    /// A compute dispatch copying `len` words of one buffer at word `from` to another at word
    /// `to` (`graph_copy.comp`; offsets in units of `DISPATCH_WORDS`).
    Dispatch {
        src: usize,
        from: u64,
        dst: usize,
        to: u64,
        len: u64,
    },
    /// A draw filling one subresource with `value` (a render pass with it as the attachment).
    Draw {
        image: usize,
        level: u32,
        layer: u32,
        value: [u8; 4],
    },
    /// `vkCmdFillBuffer` over `len` words at word `at`.
    Fill {
        buffer: usize,
        at: u64,
        len: u64,
        value: u32,
    },
    /// `vkCmdClearColorImage` of one subresource.
    Clear {
        image: usize,
        level: u32,
        layer: u32,
        value: [u8; 4],
    },
    /// A buffer's bytes at `at` into one subresource.
    ToImage {
        buffer: usize,
        at: u64,
        image: usize,
        level: u32,
        layer: u32,
    },
    /// One subresource into a buffer at `at`.
    ToBuffer {
        image: usize,
        level: u32,
        layer: u32,
        buffer: usize,
        at: u64,
    },
    /// A transient's bytes into the readback buffer, to be compared with the model.
    ReadImage {
        image: usize,
        level: u32,
        layer: u32,
    },
    ReadBuffer {
        buffer: usize,
        at: u64,
        len: u64,
    },
}

fn op() -> impl Strategy<Value = Op> {
    let image = 0..IMAGES;
    let buffer = 0..BUFFERS;
    let sub = (0..LEVELS, 0..LAYERS);
    // Word offsets: a subresource of level 0 (1 KiB) fits from any of the first 768 words.
    let word = 0u64..768;
    prop_oneof![
        (buffer.clone(), 0u64..48, 0u64..48, 1u64..16).prop_map(|(src, from, to, len)| {
            Op::Dispatch {
                src,
                from,
                dst: 1 - src,
                to,
                len,
            }
        }),
        (buffer.clone(), word.clone(), 1u64..256, any::<u32>()).prop_map(
            |(buffer, at, len, value)| Op::Fill {
                buffer,
                at,
                len,
                value
            }
        ),
        (image.clone(), sub.clone(), any::<[u8; 4]>()).prop_map(
            |(image, (level, layer), value)| Op::Draw {
                image,
                level,
                layer,
                value
            }
        ),
        (image.clone(), sub.clone(), any::<[u8; 4]>()).prop_map(
            |(image, (level, layer), value)| Op::Clear {
                image,
                level,
                layer,
                value
            }
        ),
        (buffer.clone(), word.clone(), image.clone(), sub.clone()).prop_map(
            |(buffer, at, image, (level, layer))| Op::ToImage {
                buffer,
                at,
                image,
                level,
                layer
            }
        ),
        (image.clone(), sub.clone(), buffer.clone(), word.clone()).prop_map(
            |(image, (level, layer), buffer, at)| Op::ToBuffer {
                image,
                level,
                layer,
                buffer,
                at
            }
        ),
        (image, sub).prop_map(|(image, (level, layer))| Op::ReadImage {
            image,
            level,
            layer
        }),
        (buffer, word, 1u64..256).prop_map(|(buffer, at, len)| Op::ReadBuffer { buffer, at, len }),
    ]
}

/// What the GPU should hold: bytes of each transient (`None` where nothing was written).
struct Model {
    images: Vec<Vec<Option<Vec<u8>>>>,
    buffers: Vec<Vec<Option<u8>>>,
}

impl Model {
    fn new() -> Self {
        Self {
            images: vec![vec![None; (LEVELS * LAYERS) as usize]; IMAGES],
            buffers: vec![vec![None; BUFFER_BYTES as usize]; BUFFERS],
        }
    }

    fn sub(&mut self, image: usize, level: u32, layer: u32) -> &mut Option<Vec<u8>> {
        &mut self.images[image][(level * LAYERS + layer) as usize]
    }

    fn bytes(&self, buffer: usize, at: u64, len: u64) -> Option<Vec<u8>> {
        self.buffers[buffer][at as usize..(at + len) as usize]
            .iter()
            .copied()
            .collect()
    }
}

/// Turns generated ops into ones whose reads only read written bytes (so the graph is valid),
/// applying each to the model; returns the ops and, per readback, the bytes expected.
fn make_valid(ops: &[Op]) -> (Vec<Op>, Vec<Vec<u8>>) {
    let mut model = Model::new();
    let (mut out, mut expected) = (Vec::new(), Vec::new());
    for op in ops {
        let op = match op.clone() {
            Op::ToImage {
                buffer,
                at,
                image,
                level,
                layer,
            } => {
                let len = level_bytes(level);
                match model.bytes(buffer, at * 4, len) {
                    Some(bytes) => {
                        *model.sub(image, level, layer) = Some(bytes);
                        Op::ToImage {
                            buffer,
                            at,
                            image,
                            level,
                            layer,
                        }
                    }
                    None => {
                        let fill = Op::Fill {
                            buffer,
                            at,
                            len: len / 4,
                            value: 0x5A5A_0000 | at as u32,
                        };
                        apply_fill(&mut model, &fill);
                        out.push(fill);
                        *model.sub(image, level, layer) = model.bytes(buffer, at * 4, len);
                        Op::ToImage {
                            buffer,
                            at,
                            image,
                            level,
                            layer,
                        }
                    }
                }
            }
            Op::ToBuffer {
                image,
                level,
                layer,
                buffer,
                at,
            } => {
                if model.sub(image, level, layer).is_none() {
                    let clear = Op::Clear {
                        image,
                        level,
                        layer,
                        value: [level as u8, layer as u8, 7, 9],
                    };
                    apply_clear(&mut model, &clear);
                    out.push(clear);
                }
                let bytes = model.sub(image, level, layer).clone().unwrap();
                for (i, b) in bytes.iter().enumerate() {
                    model.buffers[buffer][(at * 4) as usize + i] = Some(*b);
                }
                Op::ToBuffer {
                    image,
                    level,
                    layer,
                    buffer,
                    at,
                }
            }
            Op::ReadImage {
                image,
                level,
                layer,
            } => {
                match model.sub(image, level, layer).clone() {
                    Some(bytes) => expected.push(bytes),
                    None => continue,
                }
                Op::ReadImage {
                    image,
                    level,
                    layer,
                }
            }
            Op::ReadBuffer { buffer, at, len } => {
                match model.bytes(buffer, at * 4, len * 4) {
                    Some(bytes) => expected.push(bytes),
                    None => continue,
                }
                Op::ReadBuffer { buffer, at, len }
            }
            Op::Dispatch {
                src,
                from,
                dst,
                to,
                len,
            } => {
                let (from_byte, to_byte, bytes) = (
                    from * DISPATCH_WORDS * 4,
                    to * DISPATCH_WORDS * 4,
                    len * DISPATCH_WORDS * 4,
                );
                let data = match model.bytes(src, from_byte, bytes) {
                    Some(data) => data,
                    None => {
                        let fill = Op::Fill {
                            buffer: src,
                            at: from * DISPATCH_WORDS,
                            len: len * DISPATCH_WORDS,
                            value: 0xC0DE_0000 | from as u32,
                        };
                        apply_fill(&mut model, &fill);
                        out.push(fill);
                        model.bytes(src, from_byte, bytes).unwrap()
                    }
                };
                for (i, b) in data.iter().enumerate() {
                    model.buffers[dst][to_byte as usize + i] = Some(*b);
                }
                Op::Dispatch {
                    src,
                    from,
                    dst,
                    to,
                    len,
                }
            }
            Op::Draw {
                image,
                level,
                layer,
                value,
            } => {
                let len = level_bytes(level) as usize;
                *model.sub(image, level, layer) =
                    Some(value.iter().copied().cycle().take(len).collect());
                Op::Draw {
                    image,
                    level,
                    layer,
                    value,
                }
            }
            fill @ Op::Fill { .. } => {
                apply_fill(&mut model, &fill);
                fill
            }
            clear @ Op::Clear { .. } => {
                apply_clear(&mut model, &clear);
                clear
            }
        };
        out.push(op);
    }
    (out, expected)
}

fn apply_fill(model: &mut Model, op: &Op) {
    if let Op::Fill {
        buffer,
        at,
        len,
        value,
    } = *op
    {
        for w in at..at + len {
            for (i, b) in value.to_le_bytes().iter().enumerate() {
                model.buffers[buffer][(w * 4) as usize + i] = Some(*b);
            }
        }
    }
}

fn apply_clear(model: &mut Model, op: &Op) {
    if let Op::Clear {
        image,
        level,
        layer,
        value,
    } = *op
    {
        let len = level_bytes(level) as usize;
        *model.sub(image, level, layer) = Some(value.iter().copied().cycle().take(len).collect());
    }
}

fn sub_range(level: u32, layer: u32) -> vk::ImageSubresourceLayers {
    vk::ImageSubresourceLayers {
        aspect_mask: vk::ImageAspectFlags::COLOR,
        mip_level: level,
        base_array_layer: layer,
        layer_count: 1,
    }
}

fn copy_region(at: u64, level: u32, layer: u32) -> vk::BufferImageCopy {
    vk::BufferImageCopy {
        buffer_offset: at,
        buffer_row_length: 0,
        buffer_image_height: 0,
        image_subresource: sub_range(level, layer),
        image_offset: vk::Offset3D::default(),
        image_extent: vk::Extent3D {
            width: SIDE >> level,
            height: SIDE >> level,
            depth: 1,
        },
    }
}

/// `graph_copy.comp`'s pipeline: two storage buffers, a word count.
struct CopyPipeline {
    set_layout: vk::DescriptorSetLayout,
    layout: vk::PipelineLayout,
    pipeline: vk::Pipeline,
}

impl CopyPipeline {
    fn new(device: &ash::Device) -> Self {
        let binding = |b| {
            vk::DescriptorSetLayoutBinding::default()
                .binding(b)
                .descriptor_type(vk::DescriptorType::STORAGE_BUFFER)
                .descriptor_count(1)
                .stage_flags(vk::ShaderStageFlags::COMPUTE)
        };
        let bindings = [binding(0), binding(1)];
        // SAFETY: plain object creation on a live device; destroyed in `destroy`.
        unsafe {
            let set_layout = device
                .create_descriptor_set_layout(
                    &vk::DescriptorSetLayoutCreateInfo::default().bindings(&bindings),
                    None,
                )
                .unwrap();
            let ranges = [vk::PushConstantRange::default()
                .stage_flags(vk::ShaderStageFlags::COMPUTE)
                .size(4)];
            let set_layouts = [set_layout];
            let layout = device
                .create_pipeline_layout(
                    &vk::PipelineLayoutCreateInfo::default()
                        .set_layouts(&set_layouts)
                        .push_constant_ranges(&ranges),
                    None,
                )
                .unwrap();
            let words = ash::util::read_spv(&mut std::io::Cursor::new(GRAPH_COPY)).unwrap();
            let module = device
                .create_shader_module(&vk::ShaderModuleCreateInfo::default().code(&words), None)
                .unwrap();
            let info = vk::ComputePipelineCreateInfo::default()
                .stage(
                    vk::PipelineShaderStageCreateInfo::default()
                        .stage(vk::ShaderStageFlags::COMPUTE)
                        .module(module)
                        .name(c"main"),
                )
                .layout(layout);
            let pipeline = device
                .create_compute_pipelines(vk::PipelineCache::null(), &[info], None)
                .unwrap()[0];
            device.destroy_shader_module(module, None);
            Self {
                set_layout,
                layout,
                pipeline,
            }
        }
    }

    /// # Safety
    /// No pending work uses the pipeline.
    unsafe fn destroy(&self, device: &ash::Device) {
        // SAFETY: this function's contract.
        unsafe {
            device.destroy_pipeline(self.pipeline, None);
            device.destroy_pipeline_layout(self.layout, None);
            device.destroy_descriptor_set_layout(self.set_layout, None);
        }
    }
}

/// `fullscreen.vert` + `graph_fill.frag` into one RGBA8 subresource: a render pass whose
/// attachment stays in `COLOR_ATTACHMENT_OPTIMAL` (the plan's barriers move it there and on).
struct DrawPipeline {
    render_pass: vk::RenderPass,
    layout: vk::PipelineLayout,
    pipeline: vk::Pipeline,
}

impl DrawPipeline {
    fn new(device: &ash::Device) -> Self {
        // SAFETY: plain object creation on a live device; destroyed in `destroy`.
        unsafe {
            let attachments = [vk::AttachmentDescription::default()
                .format(vk::Format::R8G8B8A8_UNORM)
                .samples(vk::SampleCountFlags::TYPE_1)
                .load_op(vk::AttachmentLoadOp::DONT_CARE)
                .store_op(vk::AttachmentStoreOp::STORE)
                .initial_layout(vk::ImageLayout::COLOR_ATTACHMENT_OPTIMAL)
                .final_layout(vk::ImageLayout::COLOR_ATTACHMENT_OPTIMAL)];
            let color = [vk::AttachmentReference {
                attachment: 0,
                layout: vk::ImageLayout::COLOR_ATTACHMENT_OPTIMAL,
            }];
            let subpasses = [vk::SubpassDescription::default()
                .pipeline_bind_point(vk::PipelineBindPoint::GRAPHICS)
                .color_attachments(&color)];
            let render_pass = device
                .create_render_pass(
                    &vk::RenderPassCreateInfo::default()
                        .attachments(&attachments)
                        .subpasses(&subpasses),
                    None,
                )
                .unwrap();
            let ranges = [vk::PushConstantRange::default()
                .stage_flags(vk::ShaderStageFlags::FRAGMENT)
                .size(16)];
            let layout = device
                .create_pipeline_layout(
                    &vk::PipelineLayoutCreateInfo::default().push_constant_ranges(&ranges),
                    None,
                )
                .unwrap();
            let pipeline = crate::draw_pipeline(
                device,
                layout,
                render_pass,
                (FULLSCREEN_VERT, GRAPH_FILL_FRAG),
                None,
                None,
            );
            Self {
                render_pass,
                layout,
                pipeline,
            }
        }
    }

    /// Records a fill of `image`'s subresource (`level`, `layer`) with `value`; the view and
    /// framebuffer it makes go into `made`, to be destroyed once the work completes.
    ///
    /// # Safety
    /// `cmd` is recording on a graphics family, outside a render pass, with the subresource in
    /// `COLOR_ATTACHMENT_OPTIMAL`.
    unsafe fn record(
        &self,
        device: &ash::Device,
        cmd: vk::CommandBuffer,
        image: vk::Image,
        (level, layer): (u32, u32),
        value: [u8; 4],
        made: &mut Vec<(vk::ImageView, vk::Framebuffer)>,
    ) {
        let side = SIDE >> level;
        // SAFETY: this function's contract; the image is live and has the subresource.
        unsafe {
            let view = device
                .create_image_view(
                    &vk::ImageViewCreateInfo::default()
                        .image(image)
                        .view_type(vk::ImageViewType::TYPE_2D)
                        .format(vk::Format::R8G8B8A8_UNORM)
                        .subresource_range(vk::ImageSubresourceRange {
                            aspect_mask: vk::ImageAspectFlags::COLOR,
                            base_mip_level: level,
                            level_count: 1,
                            base_array_layer: layer,
                            layer_count: 1,
                        }),
                    None,
                )
                .unwrap();
            let views = [view];
            let framebuffer = device
                .create_framebuffer(
                    &vk::FramebufferCreateInfo::default()
                        .render_pass(self.render_pass)
                        .attachments(&views)
                        .width(side)
                        .height(side)
                        .layers(1),
                    None,
                )
                .unwrap();
            made.push((view, framebuffer));
            let area = vk::Rect2D {
                offset: vk::Offset2D::default(),
                extent: vk::Extent2D {
                    width: side,
                    height: side,
                },
            };
            device.cmd_begin_render_pass(
                cmd,
                &vk::RenderPassBeginInfo::default()
                    .render_pass(self.render_pass)
                    .framebuffer(framebuffer)
                    .render_area(area),
                vk::SubpassContents::INLINE,
            );
            device.cmd_bind_pipeline(cmd, vk::PipelineBindPoint::GRAPHICS, self.pipeline);
            device.cmd_set_viewport(
                cmd,
                0,
                &[vk::Viewport {
                    x: 0.0,
                    y: 0.0,
                    width: side as f32,
                    height: side as f32,
                    min_depth: 0.0,
                    max_depth: 1.0,
                }],
            );
            device.cmd_set_scissor(cmd, 0, &[area]);
            let color = value.map(|v| f32::from(v) / 255.0);
            device.cmd_push_constants(
                cmd,
                self.layout,
                vk::ShaderStageFlags::FRAGMENT,
                0,
                bytemuck::cast_slice(&color),
            );
            device.cmd_draw(cmd, 3, 1, 0, 0);
            device.cmd_end_render_pass(cmd);
        }
    }

    /// # Safety
    /// No pending work uses the pipeline.
    unsafe fn destroy(&self, device: &ash::Device) {
        // SAFETY: this function's contract.
        unsafe {
            device.destroy_pipeline(self.pipeline, None);
            device.destroy_pipeline_layout(self.layout, None);
            device.destroy_render_pass(self.render_pass, None);
        }
    }
}

/// Runs one case; says whether any two transients shared bytes.
fn run_case(
    gpu: &Gpu,
    alloc: &Allocator,
    ops: &[Op],
    aliasing: Aliasing,
    queues: &[(u32, vk::Queue)],
    choices: &[bool],
    (copy, draw): (&CopyPipeline, &DrawPipeline),
) -> Result<bool, TestCaseError> {
    let (ops, expected) = make_valid(ops);
    let mut graph = Graph::new();
    // Clears, dispatches and draws need the graphics queue; the rest runs on either.
    let family_of = |p: usize| match ops[p] {
        Op::Clear { .. } | Op::Dispatch { .. } | Op::Draw { .. } => queues[0].0,
        _ => queues[usize::from(choices[p % choices.len()]) % queues.len()].0,
    };
    let images: Vec<ImageId> = (0..IMAGES)
        .map(|i| {
            graph.transient_image(
                format!("image {i}"),
                TransientImage::new_2d(vk::Format::R8G8B8A8_UNORM, SIDE, SIDE)
                    .mip_levels(LEVELS)
                    .array_layers(LAYERS),
            )
        })
        .collect();
    let buffers: Vec<BufferId> = (0..BUFFERS)
        .map(|i| graph.transient_buffer(format!("buffer {i}"), BUFFER_BYTES))
        .collect();
    let readback = alloc
        .create_buffer(&BufferDesc::readback(READBACK_BYTES))
        .unwrap();
    // Owned (exclusive sharing), so that passes on two families take it in turn.
    let out = graph.import_buffer(
        "readback",
        &readback,
        ResourceState::UNDEFINED.on_queue(queues[0].0),
    );
    graph.leave_buffer(out, ResourceState::new(Access::HostRead));
    let levels = |level: u32, layer: u32| {
        vkup_staging::graph::Subresources::levels(level..level + 1).layers(layer..layer + 1)
    };
    // Where each readback lands in the readback buffer.
    let mut read_at = Vec::new();
    let mut next = 0u64;
    for (p, op) in ops.iter().enumerate() {
        let pass = graph.pass(format!("{op:?}"), family_of(p));
        match *op {
            Op::Draw {
                image,
                level,
                layer,
                ..
            } => {
                pass.image_range(
                    images[image],
                    levels(level, layer),
                    Access::ColorAttachmentWrite,
                );
            }
            Op::Dispatch {
                src,
                from,
                dst,
                to,
                len,
            } => {
                let bytes = |at: u64| at * DISPATCH_WORDS * 4..(at + len) * DISPATCH_WORDS * 4;
                pass.buffer_range(buffers[src], bytes(from), Access::ComputeStorageRead)
                    .buffer_range(buffers[dst], bytes(to), Access::ComputeStorageWrite);
            }
            Op::Fill {
                buffer, at, len, ..
            } => {
                pass.buffer_range(
                    buffers[buffer],
                    at * 4..(at + len) * 4,
                    Access::TransferWrite,
                );
            }
            Op::Clear {
                image,
                level,
                layer,
                ..
            } => {
                pass.image_range(images[image], levels(level, layer), Access::TransferWrite);
            }
            Op::ToImage {
                buffer,
                at,
                image,
                level,
                layer,
            } => {
                pass.buffer_range(
                    buffers[buffer],
                    at * 4..at * 4 + level_bytes(level),
                    Access::TransferRead,
                )
                .image_range(
                    images[image],
                    levels(level, layer),
                    Access::TransferWrite,
                );
            }
            Op::ToBuffer {
                image,
                level,
                layer,
                buffer,
                at,
            } => {
                pass.image_range(images[image], levels(level, layer), Access::TransferRead)
                    .buffer_range(
                        buffers[buffer],
                        at * 4..at * 4 + level_bytes(level),
                        Access::TransferWrite,
                    );
            }
            Op::ReadImage {
                image,
                level,
                layer,
            } => {
                let len = level_bytes(level);
                pass.image_range(images[image], levels(level, layer), Access::TransferRead)
                    .buffer_range(out, next..next + len, Access::TransferWrite);
                read_at.push((next, len));
                next += len;
            }
            Op::ReadBuffer { buffer, at, len } => {
                pass.buffer_range(
                    buffers[buffer],
                    at * 4..(at + len) * 4,
                    Access::TransferRead,
                )
                .buffer_range(out, next..next + len * 4, Access::TransferWrite);
                read_at.push((next, len * 4));
                next += len * 4;
            }
        }
    }
    let mut placed = PlacedTransients::new(alloc, &graph.transients().unwrap(), aliasing).unwrap();
    let mut plan = graph
        .plan(&placed.bindings(), |a, b| placed.shares_bytes(a, b))
        .unwrap();
    let aliased = placed.aliased_pairs() > 0;
    let image_raw = |i: usize| placed.image(images[i]).unwrap().raw();
    let buffer_raw = |b: usize| placed.buffer(buffers[b]).unwrap().raw();
    let device = &gpu.device;
    let sizes = [vk::DescriptorPoolSize {
        ty: vk::DescriptorType::STORAGE_BUFFER,
        descriptor_count: 2 * ops.len().max(1) as u32,
    }];
    // SAFETY: plain object creation; destroyed below, after the submissions complete.
    let pool = unsafe {
        device.create_descriptor_pool(
            &vk::DescriptorPoolCreateInfo::default()
                .max_sets(ops.len().max(1) as u32)
                .pool_sizes(&sizes),
            None,
        )
    }
    .unwrap();
    let mut reads = 0;
    // Views and framebuffers the draws made, destroyed once the work completes.
    let mut made: Vec<(vk::ImageView, vk::Framebuffer)> = Vec::new();
    let mut body = |p: usize, cmd: vk::CommandBuffer| {
        // SAFETY: `cmd` records on the pass's family (clears only on the graphics one); every
        // resource outlives the submissions, waited below.
        unsafe {
            match ops[p] {
                Op::Draw {
                    image,
                    level,
                    layer,
                    value,
                } => draw.record(
                    device,
                    cmd,
                    image_raw(image),
                    (level, layer),
                    value,
                    &mut made,
                ),
                Op::Dispatch {
                    src,
                    from,
                    dst,
                    to,
                    len,
                } => {
                    let bytes = len * DISPATCH_WORDS * 4;
                    let set = device
                        .allocate_descriptor_sets(
                            &vk::DescriptorSetAllocateInfo::default()
                                .descriptor_pool(pool)
                                .set_layouts(&[copy.set_layout]),
                        )
                        .unwrap()[0];
                    let range = |b: usize, at: u64| {
                        [vk::DescriptorBufferInfo {
                            buffer: buffer_raw(b),
                            offset: at * DISPATCH_WORDS * 4,
                            range: bytes,
                        }]
                    };
                    let (src_info, dst_info) = (range(src, from), range(dst, to));
                    let write = |binding: u32, info| {
                        vk::WriteDescriptorSet::default()
                            .dst_set(set)
                            .dst_binding(binding)
                            .descriptor_type(vk::DescriptorType::STORAGE_BUFFER)
                            .buffer_info(info)
                    };
                    device.update_descriptor_sets(&[write(0, &src_info), write(1, &dst_info)], &[]);
                    device.cmd_bind_pipeline(cmd, vk::PipelineBindPoint::COMPUTE, copy.pipeline);
                    device.cmd_bind_descriptor_sets(
                        cmd,
                        vk::PipelineBindPoint::COMPUTE,
                        copy.layout,
                        0,
                        &[set],
                        &[],
                    );
                    let words = (bytes / 4) as u32;
                    device.cmd_push_constants(
                        cmd,
                        copy.layout,
                        vk::ShaderStageFlags::COMPUTE,
                        0,
                        &words.to_le_bytes(),
                    );
                    device.cmd_dispatch(cmd, words.div_ceil(64), 1, 1);
                }
                Op::Fill {
                    buffer,
                    at,
                    len,
                    value,
                } => device.cmd_fill_buffer(cmd, buffer_raw(buffer), at * 4, len * 4, value),
                Op::Clear {
                    image,
                    level,
                    layer,
                    value,
                } => {
                    let color = vk::ClearColorValue {
                        float32: value.map(|v| f32::from(v) / 255.0),
                    };
                    let range = vk::ImageSubresourceRange {
                        aspect_mask: vk::ImageAspectFlags::COLOR,
                        base_mip_level: level,
                        level_count: 1,
                        base_array_layer: layer,
                        layer_count: 1,
                    };
                    device.cmd_clear_color_image(
                        cmd,
                        image_raw(image),
                        vk::ImageLayout::TRANSFER_DST_OPTIMAL,
                        &color,
                        &[range],
                    );
                }
                Op::ToImage {
                    buffer,
                    at,
                    image,
                    level,
                    layer,
                } => device.cmd_copy_buffer_to_image(
                    cmd,
                    buffer_raw(buffer),
                    image_raw(image),
                    vk::ImageLayout::TRANSFER_DST_OPTIMAL,
                    &[copy_region(at * 4, level, layer)],
                ),
                Op::ToBuffer {
                    image,
                    level,
                    layer,
                    buffer,
                    at,
                } => device.cmd_copy_image_to_buffer(
                    cmd,
                    image_raw(image),
                    vk::ImageLayout::TRANSFER_SRC_OPTIMAL,
                    buffer_raw(buffer),
                    &[copy_region(at * 4, level, layer)],
                ),
                Op::ReadImage {
                    image,
                    level,
                    layer,
                } => {
                    let (dst, _) = read_at[reads];
                    reads += 1;
                    device.cmd_copy_image_to_buffer(
                        cmd,
                        image_raw(image),
                        vk::ImageLayout::TRANSFER_SRC_OPTIMAL,
                        readback.raw(),
                        &[copy_region(dst, level, layer)],
                    );
                }
                Op::ReadBuffer { buffer, at, len } => {
                    let (dst, _) = read_at[reads];
                    reads += 1;
                    let region = vk::BufferCopy {
                        src_offset: at * 4,
                        dst_offset: dst,
                        size: len * 4,
                    };
                    device.cmd_copy_buffer(cmd, buffer_raw(buffer), readback.raw(), &[region]);
                }
            }
        }
    };
    if queues.len() == 1 {
        gpu.submit_and_wait(|cmd| {
            // SAFETY: recording on the Gpu's queue, the family every pass names.
            unsafe {
                plan.execute(cmd, device, |p, cmd| {
                    body(p, cmd);
                    Ok::<(), ()>(())
                })
            }
            .unwrap();
        });
    } else {
        // SAFETY: every resource outlives the submissions, which this call waits for.
        unsafe { submit_on_queues(gpu, &mut plan, queues, &mut body) };
    }
    let bytes = alloc.read_vec::<u8>(&readback).unwrap();
    let messages = gpu.take_messages();
    // SAFETY: the submissions completed.
    unsafe {
        for (view, framebuffer) in made {
            device.destroy_framebuffer(framebuffer, None);
            device.destroy_image_view(view, None);
        }
        device.destroy_descriptor_pool(pool, None);
        placed.destroy(alloc);
        alloc.destroy_buffer(readback);
    }
    prop_assert!(messages.is_empty(), "{}", messages.join("\n"));
    for (i, ((at, len), want)) in read_at.iter().zip(&expected).enumerate() {
        let got = &bytes[*at as usize..(*at + *len) as usize];
        // Clears go through float: UNORM8 round-trips exactly.
        prop_assert!(got == &want[..], "readback {} differs", i);
    }
    Ok(aliased)
}

/// Generated graphs executed with their plan's barriers only (see the module notes).
#[test]
fn generated_graphs_execute_with_their_planned_barriers_and_no_hazard() {
    let gpu = Gpu::new();
    let alloc = gpu.allocator();
    let config = ProptestConfig {
        cases: 1000,
        ..ProptestConfig::default()
    };
    let cases = (
        prop::collection::vec(op(), 1..14),
        any::<bool>(),
        any::<bool>(),
        prop::collection::vec(any::<bool>(), 16),
    );
    let copy = CopyPipeline::new(&gpu.device);
    let draw = DrawPipeline::new(&gpu.device);
    let mut queues = vec![(gpu.queue_family, gpu.queue)];
    queues.extend(gpu.transfer);
    println!("{} queue families", queues.len());
    let shared = std::cell::Cell::new(0u32);
    proptest!(config, |((ops, aliased, two, choices) in cases)| {
        let aliasing = if aliased { Aliasing::On } else { Aliasing::Off };
        let queues = if two { &queues[..] } else { &queues[..1] };
        if run_case(&gpu, &alloc, &ops, aliasing, queues, &choices, (&copy, &draw))? {
            prop_assert!(aliased, "transients shared bytes with aliasing off");
            shared.set(shared.get() + 1);
        }
    });
    // SAFETY: every submission completed.
    unsafe {
        copy.destroy(&gpu.device);
        draw.destroy(&gpu.device);
    }
    println!(
        "{} of 1000 generated graphs executed with transients sharing bytes",
        shared.get()
    );
    assert!(
        shared.get() > 50,
        "too few graphs aliased to test take-overs: {}",
        shared.get()
    );
}

/// Records each of the plan's submissions into a command buffer of its own and submits it to its
/// family's queue, waiting for the submissions the plan names (one timeline per queue, a value
/// per submission), then waits for everything.
///
/// # Safety
/// The plan's resources outlive this call; `body` records valid work for the pass's family.
unsafe fn submit_on_queues(
    gpu: &Gpu,
    plan: &mut vkup_staging::graph::Plan,
    queues: &[(u32, vk::Queue)],
    body: &mut impl FnMut(usize, vk::CommandBuffer),
) {
    let device = &gpu.device;
    let submissions = plan.submissions();
    // SAFETY: plain object creation on the Gpu's device; destroyed below after the waits.
    unsafe {
        let timelines: Vec<vkup_staging::Timeline> = queues
            .iter()
            .map(|_| vkup_staging::Timeline::new(device).unwrap())
            .collect();
        let pools: Vec<vk::CommandPool> = queues
            .iter()
            .map(|&(family, _)| {
                device
                    .create_command_pool(
                        &vk::CommandPoolCreateInfo::default().queue_family_index(family),
                        None,
                    )
                    .unwrap()
            })
            .collect();
        let mut signalled = vec![0u64; queues.len()];
        // Per submission: its queue and the value it signals there.
        let mut done: Vec<(usize, u64)> = Vec::new();
        for submission in &submissions {
            let q = queues
                .iter()
                .position(|&(f, _)| f == submission.queue_family)
                .unwrap();
            let cmd = device
                .allocate_command_buffers(
                    &vk::CommandBufferAllocateInfo::default()
                        .command_pool(pools[q])
                        .command_buffer_count(1),
                )
                .unwrap()[0];
            device
                .begin_command_buffer(cmd, &vk::CommandBufferBeginInfo::default())
                .unwrap();
            for p in submission.passes.clone() {
                plan.passes[p].before.record(cmd, device);
                body(p, cmd);
                plan.passes[p].after.record(cmd, device);
            }
            device.end_command_buffer(cmd).unwrap();
            let waits: Vec<vk::SemaphoreSubmitInfo> = submission
                .waits
                .iter()
                .map(|&w| {
                    let (wq, value) = done[w];
                    vk::SemaphoreSubmitInfo::default()
                        .semaphore(timelines[wq].raw())
                        .value(value)
                        .stage_mask(vk::PipelineStageFlags2::ALL_COMMANDS)
                })
                .collect();
            signalled[q] += 1;
            let signal = [vk::SemaphoreSubmitInfo::default()
                .semaphore(timelines[q].raw())
                .value(signalled[q])
                .stage_mask(vk::PipelineStageFlags2::ALL_COMMANDS)];
            let cmds = [vk::CommandBufferSubmitInfo::default().command_buffer(cmd)];
            let submit = [vk::SubmitInfo2::default()
                .wait_semaphore_infos(&waits)
                .command_buffer_infos(&cmds)
                .signal_semaphore_infos(&signal)];
            device
                .queue_submit2(queues[q].1, &submit, vk::Fence::null())
                .unwrap();
            done.push((q, signalled[q]));
        }
        for (timeline, &value) in timelines.iter().zip(&signalled) {
            assert!(timeline.wait(value, u64::MAX).unwrap());
        }
        for pool in pools {
            device.destroy_command_pool(pool, None);
        }
        for timeline in timelines {
            timeline.destroy();
        }
    }
}

/// A transient the device cannot make is refused with the allocator's typed error, and nothing
/// of the set is left behind.
#[test]
fn placed_transients_refused_by_the_device_leave_nothing() {
    let gpu = Gpu::new();
    let alloc = gpu.allocator();
    let mut graph = Graph::new();
    let fine = graph.transient_buffer("fine", 4096);
    let bad = graph.transient_image(
        "block-compressed attachment",
        TransientImage::new_2d(vk::Format::BC1_RGBA_UNORM_BLOCK, 64, 64),
    );
    graph
        .pass("p", gpu.queue_family)
        .buffer(fine, Access::TransferWrite)
        .image(bad, Access::ColorAttachmentWrite);
    let uses = graph.transients().unwrap();
    let live = alloc.live_allocations().unwrap();
    let err = PlacedTransients::new(&alloc, &uses, Aliasing::On).unwrap_err();
    assert!(matches!(err, vkup_staging::Error::Allocator(_)), "{err}");
    assert_eq!(alloc.live_allocations().unwrap(), live);
}
