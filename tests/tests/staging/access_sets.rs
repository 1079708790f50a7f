//! Access sets: a state that holds several accesses of one resource at once. A texture sampled
//! by the vertex and the fragment shader, and a depth image tested read-only and sampled in the
//! same pass, go through uploads and readbacks in those states with the validation layer
//! tracking every layout (a wrong shared layout is an error at submit); a set whose members need
//! different layouts is a typed error naming them, before anything is recorded.

use ash::vk;
use gpu_tests::Gpu;
use vkup_allocator::{ImageDesc, MipLevels};
use vkup_staging::{Access, Error, ImageUpload, Progress, ResourceState, StagingRing, StateRole};

use crate::pattern;

#[test]
fn textures_sampled_in_two_stages_and_sampled_read_only_depth_round_trip_in_their_sets() {
    let gpu = Gpu::new();
    let alloc = gpu.allocator();
    let stager = gpu.stager(&alloc);
    let mut ring = StagingRing::new(&alloc, 1 << 20).unwrap();
    let both_stages =
        ResourceState::new(Access::VertexShaderSampledRead | Access::FragmentShaderSampledRead);
    let depth_sampled =
        ResourceState::new(Access::DepthStencilAttachmentRead | Access::FragmentShaderSampledRead);
    let usage = vk::ImageUsageFlags::SAMPLED
        | vk::ImageUsageFlags::TRANSFER_DST
        | vk::ImageUsageFlags::TRANSFER_SRC;
    let color = alloc
        .create_image(
            &ImageDesc::new_2d(vk::Format::R8G8B8A8_UNORM, 32, 32)
                .usage(usage)
                .mip_levels(MipLevels::Count(1)),
        )
        .unwrap();
    let depth = alloc
        .create_image(
            &ImageDesc::new_2d(vk::Format::D32_SFLOAT, 32, 32)
                .usage(usage | vk::ImageUsageFlags::DEPTH_STENCIL_ATTACHMENT)
                .mip_levels(MipLevels::Count(1)),
        )
        .unwrap();
    let texels = pattern(32 * 32 * 4, 1);
    // Depth values in [0, 1] survive any canonicalisation a copy may do.
    let depths: Vec<u8> = (0..32 * 32)
        .flat_map(|i| (i as f32 / 1024.0).to_le_bytes())
        .collect();
    let mut readbacks = Vec::new();
    let value = gpu.submit_and_wait(|cmd| {
        for (image, data, set) in [
            (&color, &texels, both_stages),
            (&depth, &depths, depth_sampled),
        ] {
            let mut upload =
                ImageUpload::packed(&stager, image, data, 1, ResourceState::UNDEFINED, set)
                    .unwrap();
            // SAFETY: recording on the Gpu's queue; everything outlives the wait.
            let Progress::Done(done) =
                (unsafe { upload.record(cmd, &stager, &alloc, &mut ring) }).unwrap()
            else {
                panic!("fits in one go");
            };
            assert_eq!(done.state, set);
            // From the set through a transfer read and back into it.
            // SAFETY: as above.
            let (readback, left) =
                unsafe { stager.record_image_readback(cmd, &alloc, image, set, set) }.unwrap();
            assert_eq!(left.state, set);
            readbacks.push(readback);
        }
    });
    // SAFETY: the submission that signalled `value` read the ring, and completed.
    unsafe { ring.submitted(gpu.timeline(), value) }.unwrap();
    ring.reclaim(gpu.timeline()).unwrap();
    for (mut readback, want) in readbacks.into_iter().zip([&texels, &depths]) {
        // SAFETY: the submission that signalled `value` copied into it.
        unsafe { readback.submitted(gpu.timeline(), value) };
        assert!(readback.read(&alloc, gpu.timeline(), 0, 0).unwrap() == *want);
        // SAFETY: completed.
        unsafe { readback.destroy(&alloc) };
    }

    // Members that need different layouts: refused by name, nothing recorded or staged.
    let conflict = ResourceState::new(Access::TransferRead | Access::FragmentShaderSampledRead);
    let err = ImageUpload::packed(&stager, &color, &texels, 1, conflict, both_stages).unwrap_err();
    assert!(
        matches!(
            err,
            Error::LayoutConflict {
                which: StateRole::From,
                first: Access::TransferRead,
                second: Access::FragmentShaderSampledRead,
            }
        ),
        "{err}"
    );
    // A depth set on an image without depth usage: the member's usage is named.
    let err = ImageUpload::packed(
        &stager,
        &color,
        &texels,
        1,
        ResourceState::UNDEFINED,
        depth_sampled,
    )
    .unwrap_err();
    assert!(
        matches!(
            err,
            Error::InvalidState {
                which: StateRole::To,
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(ring.in_use(), 0);
    // SAFETY: the submission completed.
    unsafe {
        ring.destroy(&alloc);
        alloc.destroy_image(depth);
        alloc.destroy_image(color);
    }
}

const SAMPLED_SETS_VERT: &[u8] = include_bytes!("../../../shaders/spirv/sampled_sets_vert.spv");
const SAMPLED_SETS_FRAG: &[u8] = include_bytes!("../../../shaders/spirv/sampled_sets_frag.spv");

/// The Vulkan objects of the access-set draw: a render pass whose depth attachment is tested
/// read-only while the same image is sampled, and a pipeline whose two stages sample one texture.
struct SetsPass {
    sampler: vk::Sampler,
    views: Vec<vk::ImageView>,
    set_layout: vk::DescriptorSetLayout,
    pool: vk::DescriptorPool,
    set: vk::DescriptorSet,
    render_pass: vk::RenderPass,
    framebuffer: vk::Framebuffer,
    layout: vk::PipelineLayout,
    pipeline: vk::Pipeline,
}

impl SetsPass {
    /// # Safety
    /// The images are live images of `device`, `depth_layout` the layout the depth image is in
    /// when the pass begins.
    unsafe fn new(
        device: &ash::Device,
        texture: vk::Image,
        depth: vk::Image,
        target: vk::Image,
        depth_layout: vk::ImageLayout,
    ) -> Self {
        let view = |image, format, aspect| {
            let info = vk::ImageViewCreateInfo::default()
                .image(image)
                .view_type(vk::ImageViewType::TYPE_2D)
                .format(format)
                .subresource_range(vk::ImageSubresourceRange {
                    aspect_mask: aspect,
                    base_mip_level: 0,
                    level_count: 1,
                    base_array_layer: 0,
                    layer_count: 1,
                });
            // SAFETY: a live image of this device, created with this format.
            unsafe { device.create_image_view(&info, None) }.unwrap()
        };
        let color = vk::ImageAspectFlags::COLOR;
        let views = vec![
            view(texture, vk::Format::R8G8B8A8_UNORM, color),
            view(depth, vk::Format::D32_SFLOAT, vk::ImageAspectFlags::DEPTH),
            view(target, vk::Format::R8G8B8A8_UNORM, color),
        ];
        // SAFETY: plain object creation on a live device; every object is destroyed in `destroy`.
        unsafe {
            let sampler = device
                .create_sampler(&vk::SamplerCreateInfo::default(), None)
                .unwrap();
            let bindings = [
                vk::DescriptorSetLayoutBinding::default()
                    .binding(0)
                    .descriptor_type(vk::DescriptorType::COMBINED_IMAGE_SAMPLER)
                    .descriptor_count(1)
                    .stage_flags(vk::ShaderStageFlags::VERTEX | vk::ShaderStageFlags::FRAGMENT),
                vk::DescriptorSetLayoutBinding::default()
                    .binding(1)
                    .descriptor_type(vk::DescriptorType::COMBINED_IMAGE_SAMPLER)
                    .descriptor_count(1)
                    .stage_flags(vk::ShaderStageFlags::FRAGMENT),
            ];
            let set_layout = device
                .create_descriptor_set_layout(
                    &vk::DescriptorSetLayoutCreateInfo::default().bindings(&bindings),
                    None,
                )
                .unwrap();
            let sizes = [vk::DescriptorPoolSize {
                ty: vk::DescriptorType::COMBINED_IMAGE_SAMPLER,
                descriptor_count: 2,
            }];
            let pool = device
                .create_descriptor_pool(
                    &vk::DescriptorPoolCreateInfo::default()
                        .max_sets(1)
                        .pool_sizes(&sizes),
                    None,
                )
                .unwrap();
            let layouts = [set_layout];
            let set = device
                .allocate_descriptor_sets(
                    &vk::DescriptorSetAllocateInfo::default()
                        .descriptor_pool(pool)
                        .set_layouts(&layouts),
                )
                .unwrap()[0];
            let texture_info = [vk::DescriptorImageInfo {
                sampler,
                image_view: views[0],
                image_layout: vk::ImageLayout::SHADER_READ_ONLY_OPTIMAL,
            }];
            let depth_info = [vk::DescriptorImageInfo {
                sampler,
                image_view: views[1],
                image_layout: depth_layout,
            }];
            let writes = [
                vk::WriteDescriptorSet::default()
                    .dst_set(set)
                    .dst_binding(0)
                    .descriptor_type(vk::DescriptorType::COMBINED_IMAGE_SAMPLER)
                    .image_info(&texture_info),
                vk::WriteDescriptorSet::default()
                    .dst_set(set)
                    .dst_binding(1)
                    .descriptor_type(vk::DescriptorType::COMBINED_IMAGE_SAMPLER)
                    .image_info(&depth_info),
            ];
            device.update_descriptor_sets(&writes, &[]);

            // The states around the pass are the crates' barriers: no layout changes inside it,
            // and the depth attachment is loaded (a read) and never stored.
            let attachments = [
                vk::AttachmentDescription::default()
                    .format(vk::Format::R8G8B8A8_UNORM)
                    .samples(vk::SampleCountFlags::TYPE_1)
                    .load_op(vk::AttachmentLoadOp::DONT_CARE)
                    .store_op(vk::AttachmentStoreOp::STORE)
                    .initial_layout(vk::ImageLayout::COLOR_ATTACHMENT_OPTIMAL)
                    .final_layout(vk::ImageLayout::COLOR_ATTACHMENT_OPTIMAL),
                vk::AttachmentDescription::default()
                    .format(vk::Format::D32_SFLOAT)
                    .samples(vk::SampleCountFlags::TYPE_1)
                    .load_op(vk::AttachmentLoadOp::LOAD)
                    .store_op(vk::AttachmentStoreOp::NONE)
                    .stencil_load_op(vk::AttachmentLoadOp::DONT_CARE)
                    .stencil_store_op(vk::AttachmentStoreOp::DONT_CARE)
                    .initial_layout(depth_layout)
                    .final_layout(depth_layout),
            ];
            let color_ref = [vk::AttachmentReference {
                attachment: 0,
                layout: vk::ImageLayout::COLOR_ATTACHMENT_OPTIMAL,
            }];
            let depth_ref = vk::AttachmentReference {
                attachment: 1,
                layout: depth_layout,
            };
            let subpasses = [vk::SubpassDescription::default()
                .pipeline_bind_point(vk::PipelineBindPoint::GRAPHICS)
                .color_attachments(&color_ref)
                .depth_stencil_attachment(&depth_ref)];
            let render_pass = device
                .create_render_pass(
                    &vk::RenderPassCreateInfo::default()
                        .attachments(&attachments)
                        .subpasses(&subpasses),
                    None,
                )
                .unwrap();
            let framebuffer_views = [views[2], views[1]];
            let framebuffer = device
                .create_framebuffer(
                    &vk::FramebufferCreateInfo::default()
                        .render_pass(render_pass)
                        .attachments(&framebuffer_views)
                        .width(32)
                        .height(32)
                        .layers(1),
                    None,
                )
                .unwrap();
            let layout = device
                .create_pipeline_layout(
                    &vk::PipelineLayoutCreateInfo::default().set_layouts(&layouts),
                    None,
                )
                .unwrap();
            let depth_state = vk::PipelineDepthStencilStateCreateInfo::default()
                .depth_test_enable(true)
                .depth_write_enable(false)
                .depth_compare_op(vk::CompareOp::LESS_OR_EQUAL);
            let pipeline = crate::draw_pipeline(
                device,
                layout,
                render_pass,
                (SAMPLED_SETS_VERT, SAMPLED_SETS_FRAG),
                Some(vk::Extent2D {
                    width: 32,
                    height: 32,
                }),
                Some(depth_state),
            );
            Self {
                sampler,
                views,
                set_layout,
                pool,
                set,
                render_pass,
                framebuffer,
                layout,
                pipeline,
            }
        }
    }

    /// # Safety
    /// `cmd` is recording outside a render pass, with the images in the pass's layouts.
    unsafe fn draw(&self, device: &ash::Device, cmd: vk::CommandBuffer) {
        let begin = vk::RenderPassBeginInfo::default()
            .render_pass(self.render_pass)
            .framebuffer(self.framebuffer)
            .render_area(vk::Rect2D {
                offset: vk::Offset2D::default(),
                extent: vk::Extent2D {
                    width: 32,
                    height: 32,
                },
            });
        // SAFETY: this function's contract; the objects are live.
        unsafe {
            device.cmd_begin_render_pass(cmd, &begin, vk::SubpassContents::INLINE);
            device.cmd_bind_pipeline(cmd, vk::PipelineBindPoint::GRAPHICS, self.pipeline);
            device.cmd_bind_descriptor_sets(
                cmd,
                vk::PipelineBindPoint::GRAPHICS,
                self.layout,
                0,
                &[self.set],
                &[],
            );
            device.cmd_draw(cmd, 3, 1, 0, 0);
            device.cmd_end_render_pass(cmd);
        }
    }

    /// # Safety
    /// No pending work uses the objects.
    unsafe fn destroy(self, device: &ash::Device) {
        // SAFETY: this function's contract.
        unsafe {
            device.destroy_pipeline(self.pipeline, None);
            device.destroy_pipeline_layout(self.layout, None);
            device.destroy_framebuffer(self.framebuffer, None);
            device.destroy_render_pass(self.render_pass, None);
            device.destroy_descriptor_pool(self.pool, None);
            device.destroy_descriptor_set_layout(self.set_layout, None);
            for view in self.views {
                device.destroy_image_view(view, None);
            }
            device.destroy_sampler(self.sampler, None);
        }
    }
}

/// A draw whose vertex and fragment shaders sample one texture, in a pass that tests a depth
/// image read-only while its fragment shader samples it, run in exactly the states the uploads
/// left (one set each): synchronization validation would report a hazard for any stage or access
/// the sets' barriers left out, and the pixels show that both stages saw the uploaded bytes.
#[test]
fn a_draw_samples_in_two_stages_and_tests_read_only_depth_in_the_sets_the_uploads_left() {
    let gpu = Gpu::new();
    let alloc = gpu.allocator();
    let stager = gpu.stager(&alloc);
    let mut ring = StagingRing::new(&alloc, 1 << 20).unwrap();
    let both_stages =
        ResourceState::new(Access::VertexShaderSampledRead | Access::FragmentShaderSampledRead);
    let depth_sampled =
        ResourceState::new(Access::DepthStencilAttachmentRead | Access::FragmentShaderSampledRead);
    let depth_layout = depth_sampled.accesses.layout().unwrap();
    // The barriers into the sets name the stages that read, not ALL_COMMANDS.
    let written = ResourceState::new(Access::TransferWrite);
    let into_texture = vkup_staging::image_masks(written, both_stages).unwrap();
    assert_eq!(
        into_texture.dst_stage,
        vk::PipelineStageFlags2::VERTEX_SHADER | vk::PipelineStageFlags2::FRAGMENT_SHADER
    );
    let into_depth = vkup_staging::image_masks(written, depth_sampled).unwrap();
    assert_eq!(
        into_depth.dst_stage,
        vk::PipelineStageFlags2::EARLY_FRAGMENT_TESTS
            | vk::PipelineStageFlags2::LATE_FRAGMENT_TESTS
            | vk::PipelineStageFlags2::FRAGMENT_SHADER
    );
    assert_eq!(into_depth.new_layout, depth_layout);

    let usage = vk::ImageUsageFlags::SAMPLED | vk::ImageUsageFlags::TRANSFER_DST;
    let single = |format, usage| {
        alloc
            .create_image(
                &ImageDesc::new_2d(format, 32, 32)
                    .usage(usage)
                    .mip_levels(MipLevels::Count(1)),
            )
            .unwrap()
    };
    let texture = single(vk::Format::R8G8B8A8_UNORM, usage);
    let depth = single(
        vk::Format::D32_SFLOAT,
        usage | vk::ImageUsageFlags::DEPTH_STENCIL_ATTACHMENT,
    );
    let target = single(
        vk::Format::R8G8B8A8_UNORM,
        vk::ImageUsageFlags::COLOR_ATTACHMENT | vk::ImageUsageFlags::TRANSFER_SRC,
    );
    let texels = pattern(32 * 32 * 4, 5);
    let depths: Vec<u8> = (0..32 * 32)
        .flat_map(|i| (i as f32 / 1024.0).to_le_bytes())
        .collect();
    // SAFETY: the images are this device's; the depth image is in `depth_layout` at the pass.
    let pass = unsafe {
        SetsPass::new(
            &gpu.device,
            texture.raw(),
            depth.raw(),
            target.raw(),
            depth_layout,
        )
    };
    let attachment = ResourceState::new(Access::ColorAttachmentWrite);
    let mut readback = None;
    let value = gpu.submit_and_wait(|cmd| {
        for (image, data, set) in [
            (&texture, &texels, both_stages),
            (&depth, &depths, depth_sampled),
        ] {
            let mut upload =
                ImageUpload::packed(&stager, image, data, 1, ResourceState::UNDEFINED, set)
                    .unwrap();
            // SAFETY: recording on the Gpu's queue; everything outlives the wait.
            let progress = unsafe { upload.record(cmd, &stager, &alloc, &mut ring) }.unwrap();
            assert!(matches!(progress, Progress::Done(done) if done.state == set));
        }
        let mut batch = vkup_staging::BarrierBatch::new();
        let range =
            vkup_staging::ImageTarget::from(&target).full_range(vk::ImageAspectFlags::COLOR);
        let mut none = vkup_staging::BarrierBatch::new();
        batch.image(
            target.raw(),
            range,
            ResourceState::UNDEFINED,
            attachment,
            &mut none,
        );
        // SAFETY: recording on the Gpu's queue; the pass's objects and images outlive the wait.
        unsafe {
            batch.record(cmd, &gpu.device);
            pass.draw(&gpu.device, cmd);
        }
        // SAFETY: as above.
        let (back, left) =
            unsafe { stager.record_image_readback(cmd, &alloc, &target, attachment, attachment) }
                .unwrap();
        assert_eq!(left.state, attachment);
        readback = Some(back);
    });
    // SAFETY: the submission that signalled `value` read the ring and wrote the readback.
    unsafe { ring.submitted(gpu.timeline(), value) }.unwrap();
    let mut readback = readback.unwrap();
    // SAFETY: as above.
    unsafe { readback.submitted(gpu.timeline(), value) };
    let pixels = readback.read(&alloc, gpu.timeline(), 0, 0).unwrap();
    for (i, pixel) in pixels.chunks_exact(4).enumerate() {
        let unorm = |v: f32| (v * 255.0).round() as i32;
        let want = [
            i32::from(texels[i * 4]),
            i32::from(texels[i * 4 + 1]),
            i32::from(texels[0]),
            unorm(i as f32 / 1024.0),
        ];
        let got = pixel.iter().map(|&b| i32::from(b));
        assert!(
            got.zip(want).all(|(g, w)| (g - w).abs() <= 1),
            "pixel {i}: {pixel:?}, want {want:?}"
        );
    }
    ring.reclaim(gpu.timeline()).unwrap();
    // SAFETY: the submission completed.
    unsafe {
        readback.destroy(&alloc);
        pass.destroy(&gpu.device);
        ring.destroy(&alloc);
        alloc.destroy_image(target);
        alloc.destroy_image(depth);
        alloc.destroy_image(texture);
    }
}
