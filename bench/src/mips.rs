//! Row 4: mip generation GPU time (timestamp queries around each method's recording, barriers
//! included), compute against blit, and the memory roof: a trivial kernel that moves the least
//! traffic a chain needs (read level 0, write every other level once) on the same device.

use ash::vk;
use gpu_tests::Gpu;
use vkup_allocator::{Allocator, BufferDesc, ImageDesc, MipLevels};
use vkup_staging::{Access, ImageUpload, MipMethod, MipOptions, ResourceState, StagingRing};

use crate::stats::{interleaved, Contender, Row};

/// Timestamps around what `record` records, in milliseconds.
pub(crate) struct Timer<'g> {
    gpu: &'g Gpu,
    pool: vk::QueryPool,
    mask: u64,
    period: f64,
}

impl<'g> Timer<'g> {
    pub(crate) fn new(gpu: &'g Gpu) -> Result<Self, String> {
        // SAFETY: plain query on this Gpu's physical device.
        let families = unsafe {
            gpu.instance
                .get_physical_device_queue_family_properties(gpu.physical_device)
        };
        let bits = families[gpu.queue_family as usize].timestamp_valid_bits;
        if bits == 0 {
            return Err("the queue has no timestamps".into());
        }
        // SAFETY: a query pool on this device, destroyed in `drop`.
        let pool = unsafe {
            gpu.device.create_query_pool(
                &vk::QueryPoolCreateInfo::default()
                    .query_type(vk::QueryType::TIMESTAMP)
                    .query_count(2),
                None,
            )
        }
        .map_err(|e| e.to_string())?;
        Ok(Self {
            gpu,
            pool,
            mask: if bits >= 64 {
                u64::MAX
            } else {
                (1 << bits) - 1
            },
            period: f64::from(gpu.properties.limits.timestamp_period),
        })
    }

    pub(crate) fn time(&self, record: impl FnOnce(vk::CommandBuffer)) -> Result<f64, String> {
        let device = &self.gpu.device;
        self.gpu.submit_and_wait(|cmd| {
            // SAFETY: recording on the Gpu's queue; the pool outlives the wait.
            unsafe {
                device.cmd_reset_query_pool(cmd, self.pool, 0, 2);
                device.cmd_write_timestamp2(
                    cmd,
                    vk::PipelineStageFlags2::ALL_COMMANDS,
                    self.pool,
                    0,
                );
            }
            record(cmd);
            // SAFETY: as above.
            unsafe {
                device.cmd_write_timestamp2(
                    cmd,
                    vk::PipelineStageFlags2::ALL_COMMANDS,
                    self.pool,
                    1,
                );
            }
        });
        let mut stamps = [0u64; 2];
        // SAFETY: both queries were written by the submission just waited for.
        unsafe {
            device.get_query_pool_results(
                self.pool,
                0,
                &mut stamps,
                vk::QueryResultFlags::TYPE_64 | vk::QueryResultFlags::WAIT,
            )
        }
        .map_err(|e| e.to_string())?;
        Ok((stamps[1].wrapping_sub(stamps[0]) & self.mask) as f64 * self.period / 1e6)
    }
}

impl Drop for Timer<'_> {
    fn drop(&mut self) {
        // SAFETY: every submission was waited for.
        unsafe { self.gpu.device.destroy_query_pool(self.pool, None) };
    }
}

/// A compute pipeline with its own set-0 layout: `bindings` (type, count, in binding order),
/// `push` bytes of push constants.
struct Kernel {
    set_layout: vk::DescriptorSetLayout,
    layout: vk::PipelineLayout,
    pipeline: vk::Pipeline,
}

impl Kernel {
    /// Builds the kernel of `spirv`, its constant 0 set to `spec` where given; on failure
    /// destroys what it made.
    fn new(
        d: &ash::Device,
        spirv: &[u8],
        bindings: &[(vk::DescriptorType, u32)],
        push: u32,
        spec: Option<u32>,
        flags: vk::PipelineCreateFlags,
    ) -> Result<Self, String> {
        let e = |e: vk::Result| e.to_string();
        let words =
            ash::util::read_spv(&mut std::io::Cursor::new(spirv)).map_err(|e| e.to_string())?;
        let layout_bindings: Vec<_> = bindings
            .iter()
            .enumerate()
            .map(|(i, &(ty, count))| {
                vk::DescriptorSetLayoutBinding::default()
                    .binding(i as u32)
                    .descriptor_type(ty)
                    .descriptor_count(count)
                    .stage_flags(vk::ShaderStageFlags::COMPUTE)
            })
            .collect();
        let ranges = [vk::PushConstantRange::default()
            .stage_flags(vk::ShaderStageFlags::COMPUTE)
            .size(push)];
        let value = spec.unwrap_or(0).to_ne_bytes();
        let entries = [vk::SpecializationMapEntry::default()
            .constant_id(0)
            .offset(0)
            .size(4)];
        let specialization = vk::SpecializationInfo::default()
            .map_entries(if spec.is_some() { &entries } else { &[] })
            .data(if spec.is_some() { &value } else { &[] });
        // SAFETY: plain object creation on the benchmark's device; each object is destroyed in
        // `destroy`, or here when a later step fails; the SPIR-V is one of shaders/spirv (staging/spirv for the downsampler).
        unsafe {
            let set_layout = d
                .create_descriptor_set_layout(
                    &vk::DescriptorSetLayoutCreateInfo::default().bindings(&layout_bindings),
                    None,
                )
                .map_err(e)?;
            let set_layouts = [set_layout];
            let layout = match d.create_pipeline_layout(
                &vk::PipelineLayoutCreateInfo::default()
                    .set_layouts(&set_layouts)
                    .push_constant_ranges(&ranges),
                None,
            ) {
                Ok(layout) => layout,
                Err(err) => {
                    d.destroy_descriptor_set_layout(set_layout, None);
                    return Err(err.to_string());
                }
            };
            let pipeline = d
                .create_shader_module(&vk::ShaderModuleCreateInfo::default().code(&words), None)
                .map_err(e)
                .and_then(|module| {
                    let stage = vk::PipelineShaderStageCreateInfo::default()
                        .stage(vk::ShaderStageFlags::COMPUTE)
                        .module(module)
                        .name(c"main")
                        .specialization_info(&specialization);
                    let info = [vk::ComputePipelineCreateInfo::default()
                        .flags(flags)
                        .stage(stage)
                        .layout(layout)];
                    let made = d
                        .create_compute_pipelines(vk::PipelineCache::null(), &info, None)
                        .map(|p| p[0])
                        .map_err(|(_, err)| err.to_string());
                    d.destroy_shader_module(module, None);
                    made
                });
            match pipeline {
                Ok(pipeline) => Ok(Self {
                    set_layout,
                    layout,
                    pipeline,
                }),
                Err(err) => {
                    d.destroy_pipeline_layout(layout, None);
                    d.destroy_descriptor_set_layout(set_layout, None);
                    Err(err)
                }
            }
        }
    }

    /// # Safety
    /// No pending work uses it; `d` made it.
    unsafe fn destroy(self, d: &ash::Device) {
        // SAFETY: forwarded from this function's contract.
        unsafe {
            d.destroy_pipeline(self.pipeline, None);
            d.destroy_pipeline_layout(self.layout, None);
            d.destroy_descriptor_set_layout(self.set_layout, None);
        }
    }
}

const ROOF: &[u8] = include_bytes!("../../shaders/spirv/roof_comp.spv");

/// `shaders/roof.comp` over two buffers: the memory roof of a chain's traffic.
struct Roof {
    src: vkup_allocator::GpuBuffer,
    dst: vkup_allocator::GpuBuffer,
    kernel: Kernel,
    pool: vk::DescriptorPool,
    set: vk::DescriptorSet,
    write_words: u32,
    ratio: u32,
}

impl Roof {
    /// A roof reading about `read` bytes and writing `write` bytes.
    fn new(gpu: &Gpu, alloc: &Allocator, read: u64, write: u64) -> Result<Self, String> {
        let write_words = (write / 16).max(1) as u32;
        let ratio = (read / 16 / u64::from(write_words)).max(1) as u32;
        let usage = vk::BufferUsageFlags::STORAGE_BUFFER;
        let e = |e: vk::Result| e.to_string();
        let src = alloc
            .create_buffer(&BufferDesc::new(
                u64::from(write_words) * u64::from(ratio) * 16,
                usage,
            ))
            .map_err(|e| e.to_string())?;
        let dst = alloc
            .create_buffer(&BufferDesc::new(u64::from(write_words) * 16, usage))
            .map_err(|e| e.to_string())?;
        let d = &gpu.device;
        let storage = vk::DescriptorType::STORAGE_BUFFER;
        let kernel = Kernel::new(
            d,
            ROOF,
            &[(storage, 1), (storage, 1)],
            8,
            None,
            vk::PipelineCreateFlags::empty(),
        )?;
        let layouts = [kernel.set_layout];
        // SAFETY: plain object creation on the benchmark's device, destroyed in `destroy`.
        unsafe {
            let sizes = [vk::DescriptorPoolSize {
                ty: vk::DescriptorType::STORAGE_BUFFER,
                descriptor_count: 2,
            }];
            let pool = d
                .create_descriptor_pool(
                    &vk::DescriptorPoolCreateInfo::default()
                        .max_sets(1)
                        .pool_sizes(&sizes),
                    None,
                )
                .map_err(e)?;
            let set = d
                .allocate_descriptor_sets(
                    &vk::DescriptorSetAllocateInfo::default()
                        .descriptor_pool(pool)
                        .set_layouts(&layouts),
                )
                .map_err(e)?[0];
            let infos = [
                [vk::DescriptorBufferInfo::default()
                    .buffer(src.raw())
                    .range(vk::WHOLE_SIZE)],
                [vk::DescriptorBufferInfo::default()
                    .buffer(dst.raw())
                    .range(vk::WHOLE_SIZE)],
            ];
            let writes: Vec<_> = infos
                .iter()
                .enumerate()
                .map(|(b, info)| {
                    vk::WriteDescriptorSet::default()
                        .dst_set(set)
                        .dst_binding(b as u32)
                        .descriptor_type(vk::DescriptorType::STORAGE_BUFFER)
                        .buffer_info(info)
                })
                .collect();
            d.update_descriptor_sets(&writes, &[]);
            Ok(Self {
                src,
                dst,
                kernel,
                pool,
                set,
                write_words,
                ratio,
            })
        }
    }

    /// Milliseconds per pass over `n` passes back to back.
    fn time(&self, timer: &Timer<'_>, n: usize) -> Result<f64, String> {
        let d = &timer.gpu.device;
        let groups = self.write_words.div_ceil(256);
        let (x, y) = (groups.min(65_535), groups.div_ceil(65_535));
        let push = [self.write_words, self.ratio];
        let push: Vec<u8> = push.iter().flat_map(|v| v.to_le_bytes()).collect();
        let barrier = [vk::MemoryBarrier2::default()
            .src_stage_mask(vk::PipelineStageFlags2::COMPUTE_SHADER)
            .src_access_mask(vk::AccessFlags2::SHADER_STORAGE_WRITE)
            .dst_stage_mask(vk::PipelineStageFlags2::COMPUTE_SHADER)
            .dst_access_mask(vk::AccessFlags2::SHADER_STORAGE_WRITE)];
        timer
            .time(|cmd| {
                // SAFETY: recording on the Gpu's queue; the pipeline, set and buffers are alive
                // until `destroy`, after the wait.
                unsafe {
                    d.cmd_bind_pipeline(cmd, vk::PipelineBindPoint::COMPUTE, self.kernel.pipeline);
                    d.cmd_bind_descriptor_sets(
                        cmd,
                        vk::PipelineBindPoint::COMPUTE,
                        self.kernel.layout,
                        0,
                        &[self.set],
                        &[],
                    );
                    d.cmd_push_constants(
                        cmd,
                        self.kernel.layout,
                        vk::ShaderStageFlags::COMPUTE,
                        0,
                        &push,
                    );
                    for _ in 0..n {
                        d.cmd_dispatch(cmd, x, y, 1);
                        d.cmd_pipeline_barrier2(
                            cmd,
                            &vk::DependencyInfo::default().memory_barriers(&barrier),
                        );
                    }
                }
            })
            .map(|ms| ms / n as f64)
    }

    /// # Safety
    /// No pending work uses it.
    unsafe fn destroy(self, gpu: &Gpu, alloc: &Allocator) {
        let d = &gpu.device;
        // SAFETY: forwarded from this function's contract.
        unsafe {
            d.destroy_descriptor_pool(self.pool, None);
            self.kernel.destroy(d);
            alloc.destroy_buffer(self.src);
            alloc.destroy_buffer(self.dst);
        }
    }
}

/// The mip rows.
/// An image with a full chain that either method can make: storage and transfer usage, and
/// mutable formats (the compute path's 32-bit views of RGBA8).
fn chain_image(
    alloc: &Allocator,
    format: vk::Format,
    width: u32,
    height: u32,
) -> vkup_allocator::GpuImage {
    alloc
        .create_image(
            &ImageDesc::new_2d(format, width, height)
                .mip_levels(MipLevels::Full)
                .usage(
                    vk::ImageUsageFlags::SAMPLED
                        | vk::ImageUsageFlags::STORAGE
                        | vk::ImageUsageFlags::TRANSFER_SRC
                        | vk::ImageUsageFlags::TRANSFER_DST,
                )
                .flags(vk::ImageCreateFlags::MUTABLE_FORMAT | vk::ImageCreateFlags::EXTENDED_USAGE),
        )
        .expect("image")
}

pub fn run(gpu: &Gpu, quick: bool) -> Vec<Row> {
    // On a CPU device (lavapipe) a 4096² compute chain takes most of a second: fewer rounds, and
    // none of the rows that take the GPU kernel apart.
    let cpu = gpu.properties.device_type == vk::PhysicalDeviceType::CPU;
    let rounds = if quick {
        2
    } else if cpu {
        5
    } else {
        15
    };
    let alloc = gpu.allocator();
    let stager = gpu.stager(&alloc);
    let mips = gpu.mip_generator(&alloc);
    let mut submitter = gpu.submitter();
    let mut ring = StagingRing::new(&alloc, 64 << 20).expect("ring");
    let timer = match Timer::new(gpu) {
        Ok(t) => t,
        Err(why) => {
            return vec![Row {
                group: "Mip generation",
                case: "GPU time".into(),
                unit: "ms",
                higher_is_better: false,
                size: None,
                results: vec![("ours".into(), Err(why))],
                note: None,
                compare: true,
            }]
        }
    };
    let sizes: &[(u32, u32)] = if quick {
        &[(256, 256)]
    } else {
        &[(4096, 4096), (1920, 1080), (4095, 4095)]
    };
    let sampled = ResourceState::new(Access::FragmentShaderSampledRead);
    let mut rows = Vec::new();
    for &(width, height) in sizes {
        let texels: Vec<u8> = (0..width * height * 4)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        let mut make = |format: vk::Format, (width, height): (u32, u32)| {
            let image = chain_image(&alloc, format, width, height);
            let mut upload = ImageUpload::packed(
                &stager,
                &image,
                &texels[..(width * height * 4) as usize],
                1,
                ResourceState::UNDEFINED,
                sampled,
            )
            .expect("upload");
            // SAFETY: recording on the submitter's queue; everything outlives `run`.
            let _ = unsafe {
                submitter.run(&mut ring, |cmd, ring| {
                    upload.record(cmd, &stager, &alloc, ring)
                })
            }
            .expect("upload");
            image
        };
        let image = make(vk::Format::R8G8B8A8_SRGB, (width, height));
        let unorm = make(vk::Format::R8G8B8A8_UNORM, (width, height));
        let tiny = make(vk::Format::R8G8B8A8_SRGB, (64, 64));
        // `n` generations back to back in one submission, per generation: the GPU's clocks are
        // up after the first, as when a renderer makes many chains while loading. `n = 1` is a
        // lone chain after an idle GPU.
        let time_on = |image: &vkup_allocator::GpuImage,
                       options: MipOptions,
                       n: usize|
         -> Result<f64, String> {
            let mut scratch = Vec::new();
            let mut error = None;
            let ms = timer.time(|cmd| {
                for _ in 0..n {
                    // SAFETY: recording on the Gpu's queue; the image outlives the wait; each
                    // generation starts from the state the last one left.
                    match unsafe { mips.record(cmd, image, sampled, sampled, options) } {
                        Ok((_, s)) => scratch.push(s),
                        Err(e) => {
                            error = Some(e.to_string());
                            return;
                        }
                    }
                }
            });
            for s in scratch {
                // SAFETY: the submission completed.
                unsafe { s.destroy(&gpu.device) };
            }
            match error {
                Some(e) => Err(e),
                None => ms.map(|ms| ms / n as f64),
            }
        };
        let time =
            |method: MipMethod, n: usize| time_on(&image, MipOptions::default().method(method), n);
        // Least traffic: level 0 read once, every other level written once.
        let level0 = u64::from(width) * u64::from(height) * 4;
        let rest: u64 = (1..image.mip_levels())
            .map(|l| {
                let e = image.level_extent(l);
                u64::from(e.width) * u64::from(e.height) * 4
            })
            .sum();
        let roof = Roof::new(gpu, &alloc, level0, rest);
        let steady = if quick {
            4
        } else if cpu {
            2
        } else {
            20
        };
        // Levels 0..count of the chain only (level 0 read, the rest made), by compute.
        let first_levels = |count: u32| {
            let options = MipOptions::default()
                .method(MipMethod::Compute)
                .level_count(count);
            time_on(&image, options, steady)
        };
        let results = {
            let contenders = [
                Contender::new("compute (ours, one pass)", || {
                    time(MipMethod::Compute, steady)
                }),
                Contender::new("blit chain (ours)", || time(MipMethod::Blit, steady)),
                Contender::new("compute, alone after idle", || time(MipMethod::Compute, 1)),
                Contender::new("compute, UNORM (no sRGB coding)", || {
                    time_on(
                        &unorm,
                        MipOptions::default().method(MipMethod::Compute),
                        steady,
                    )
                }),
                Contender::new("compute, a 64x64 chain (fixed cost)", || {
                    time_on(
                        &tiny,
                        MipOptions::default().method(MipMethod::Compute),
                        steady,
                    )
                }),
                Contender::new("compute, level 1 only", || first_levels(2)),
                Contender::new("compute, levels 1-2 only", || first_levels(3)),
                Contender::new("compute, levels 1-4 only", || first_levels(5)),
                Contender::new("compute, levels 1-6 only (no tail)", || first_levels(7)),
                Contender::new("roof kernel (same bytes)", || match &roof {
                    Ok(r) => r.time(&timer, steady),
                    Err(e) => Err(e.clone()),
                }),
            ];
            // The kernel's decomposition (what follows the first three) means little on a CPU.
            let mut contenders: Vec<_> = contenders
                .into_iter()
                .enumerate()
                .filter(|(i, c)| !cpu || *i < 3 || c.name.starts_with("roof"))
                .map(|(_, c)| c)
                .collect();
            interleaved(rounds, &mut contenders)
        };
        // The roof's rate: the bytes a chain must move over the roof kernel's time.
        let bytes = (level0 + rest) as f64;
        let roof_rate = results
            .iter()
            .find(|(n, _)| n == "roof kernel (same bytes)")
            .and_then(|(_, r)| r.as_ref().ok())
            .map(|s| bytes / (s.median / 1e3));
        if let Ok(r) = roof {
            // SAFETY: every submission completed.
            unsafe { r.destroy(gpu, &alloc) };
        }
        let kernel = statistics(
            gpu,
            DOWNSAMPLE,
            &[
                (vk::DescriptorType::STORAGE_IMAGE, 1),
                (vk::DescriptorType::STORAGE_IMAGE, 6),
                (vk::DescriptorType::COMBINED_IMAGE_SAMPLER, 1),
            ],
            16,
            Some(1),
        );
        let roof_kernel = statistics(
            gpu,
            ROOF,
            &[
                (vk::DescriptorType::STORAGE_BUFFER, 1),
                (vk::DescriptorType::STORAGE_BUFFER, 1),
            ],
            8,
            None,
        );
        rows.push(Row {
            group: "Mip generation",
            case: format!("{width}x{height} sRGB, {} levels", image.mip_levels()),
            unit: "ms",
            higher_is_better: false,
            size: None,
            results,
            note: Some(
                format!(
                "{steady} chains back to back per submission, per chain (\"alone after idle\": \
                 one chain in its own submission); the roof kernel reads level 0's bytes and \
                 writes the other levels' ({:.1} MB in all) with plain buffer loads and stores{}",
                bytes / 1e6,
                roof_rate.map_or(String::new(), |r| format!(", at {:.0} GB/s", r / 1e9))
            ) + &format!(
                    "; the driver's statistics of the downsampler (RGBA8 through 32-bit views, all-even pipeline): {}; of the \
                 roof kernel: {}",
                    kernel.unwrap_or_else(|why| why),
                    roof_kernel.unwrap_or_else(|why| why)
                ),
            ),
            compare: true,
        });
        // SAFETY: every submission completed.
        unsafe {
            alloc.destroy_image(image);
            alloc.destroy_image(unorm);
            alloc.destroy_image(tiny);
        }
    }
    drop(timer);
    // SAFETY: as above.
    unsafe {
        submitter.destroy().expect("submitter");
        ring.destroy(&alloc);
        mips.destroy();
    }
    rows
}

const DOWNSAMPLE: &[u8] = include_bytes!("../../staging/spirv/downsample_rgba8_packed.spv");

/// What the driver's compiler made of a compute shader (`VK_KHR_pipeline_executable_properties`):
/// its statistics (registers, shared memory, ...) as `name value` pairs, for the report. The
/// pipeline is built here with the layout the shader declares: `bindings` (type, count) in set 0,
/// `push` bytes of push constants, and constant 0 set to `spec` where given.
fn statistics(
    gpu: &Gpu,
    spirv: &[u8],
    bindings: &[(vk::DescriptorType, u32)],
    push: u32,
    spec: Option<u32>,
) -> Result<String, String> {
    if !gpu.pipeline_statistics {
        return Err("the driver lacks VK_KHR_pipeline_executable_properties".into());
    }
    let d = &gpu.device;
    let kernel = Kernel::new(
        d,
        spirv,
        bindings,
        push,
        spec,
        vk::PipelineCreateFlags::CAPTURE_STATISTICS_KHR,
    )?;
    let ext = ash::khr::pipeline_executable_properties::Device::new(&gpu.instance, d);
    // SAFETY: the pipeline was made with CAPTURE_STATISTICS_KHR on this device, the extension
    // enabled (`pipeline_statistics`); it was never bound, so nothing uses it when destroyed.
    unsafe {
        let text = read_statistics(&ext, kernel.pipeline);
        kernel.destroy(d);
        text
    }
}

/// The statistics of every executable of `pipeline`, `name value` pairs joined by commas.
///
/// # Safety
/// `pipeline` was created with `CAPTURE_STATISTICS_KHR` on the device `ext` was loaded for.
unsafe fn read_statistics(
    ext: &ash::khr::pipeline_executable_properties::Device,
    pipeline: vk::Pipeline,
) -> Result<String, String> {
    let info = vk::PipelineInfoKHR::default().pipeline(pipeline);
    // SAFETY: forwarded from this function's contract.
    let executables =
        unsafe { ext.get_pipeline_executable_properties(&info) }.map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    for index in 0..executables.len() as u32 {
        let info = vk::PipelineExecutableInfoKHR::default()
            .pipeline(pipeline)
            .executable_index(index);
        // SAFETY: as above; the index is one of the executables just listed.
        let stats =
            unsafe { ext.get_pipeline_executable_statistics(&info) }.map_err(|e| e.to_string())?;
        for s in stats {
            let name = s
                .name_as_c_str()
                .map_or("?".into(), |n| n.to_string_lossy().into_owned());
            // SAFETY: the union member read is the one `format` names.
            let value = unsafe {
                match s.format {
                    vk::PipelineExecutableStatisticFormatKHR::BOOL32 => s.value.b32.to_string(),
                    vk::PipelineExecutableStatisticFormatKHR::INT64 => s.value.i64.to_string(),
                    vk::PipelineExecutableStatisticFormatKHR::UINT64 => s.value.u64.to_string(),
                    vk::PipelineExecutableStatisticFormatKHR::FLOAT64 => {
                        format!("{:.2}", s.value.f64)
                    }
                    _ => "?".into(),
                }
            };
            out.push(format!("{name} {value}"));
        }
    }
    Ok(out.join(", "))
}

/// Mip chains of small textures, which are most of a many-texture scene's mips, by method:
/// per chain, the CPU's time to `record` it and destroy its scratch (200 chains into one command
/// buffer) and the GPU's time of the same chains by timestamps, beside the Vulkan objects the
/// compute chain makes done raw (a view per level, a descriptor pool like its own).
pub fn recording(gpu: &Gpu, quick: bool) -> Vec<Row> {
    let rounds = if quick { 2 } else { 7 };
    let n = if quick { 8 } else { 200 };
    // A CPU device's compute chains of 1024x1024 take seconds a round: not there.
    let cpu = gpu.properties.device_type == vk::PhysicalDeviceType::CPU;
    let sides: &[u32] = match (quick, cpu) {
        (true, _) => &[64],
        (false, true) => &[64, 256],
        (false, false) => &[64, 256, 1024],
    };
    let alloc = gpu.allocator();
    let mips = gpu.mip_generator(&alloc);
    let device = &gpu.device;
    let sampled = ResourceState::new(Access::FragmentShaderSampledRead);
    let timer = Timer::new(gpu);
    let mut rows = Vec::new();
    for &side in sides {
        let images: Vec<vkup_allocator::GpuImage> = (0..n)
            .map(|_| chain_image(&alloc, vk::Format::R8G8B8A8_SRGB, side, side))
            .collect();
        let per_chain = |secs: f64| secs * 1e6 / n as f64;
        // Every image's first chain starts from UNDEFINED contents, later ones from `sampled`.
        let from = std::cell::Cell::new(ResourceState::UNDEFINED);
        // (CPU µs, GPU µs) per chain of `method`.
        let chains = |method: MipMethod| -> Result<(f64, f64), String> {
            let timer = timer.as_ref().map_err(|e| e.clone())?;
            let mut scratch = Vec::new();
            let mut error = None;
            let mut recording = 0.0;
            let gpu_ms = timer.time(|cmd| {
                let t = std::time::Instant::now();
                for image in &images {
                    let options = MipOptions::default().method(method);
                    // SAFETY: recording on the Gpu's queue; the images outlive the wait.
                    match unsafe { mips.record(cmd, image, from.get(), sampled, options) } {
                        Ok((_, s)) => scratch.push(s),
                        Err(e) => error = Some(e.to_string()),
                    }
                }
                recording = t.elapsed().as_secs_f64();
            })?;
            from.set(sampled);
            let t = std::time::Instant::now();
            for s in scratch {
                // SAFETY: the submission completed.
                unsafe { s.destroy(device) };
            }
            match error {
                Some(e) => Err(e),
                None => Ok((
                    per_chain(recording + t.elapsed().as_secs_f64()),
                    gpu_ms * 1e3 / n as f64,
                )),
            }
        };
        let gpu_times = std::cell::RefCell::new([Vec::new(), Vec::new()]);
        let mut contenders = [
            Contender::new("ours, compute: record, then destroy the scratch", || {
                let (cpu, gpu) = chains(MipMethod::Compute)?;
                gpu_times.borrow_mut()[0].push(gpu);
                Ok(cpu)
            }),
            Contender::new("ours, blit: record, then destroy the scratch", || {
                let (cpu, gpu) = chains(MipMethod::Blit)?;
                gpu_times.borrow_mut()[1].push(gpu);
                Ok(cpu)
            }),
            Contender::new("raw: a view per level, made and destroyed", || {
                let t = std::time::Instant::now();
                for image in &images {
                    for level in 0..image.mip_levels() {
                        let info = vk::ImageViewCreateInfo::default()
                            .image(image.raw())
                            .view_type(vk::ImageViewType::TYPE_2D_ARRAY)
                            .format(vk::Format::R8G8B8A8_UNORM)
                            .subresource_range(vk::ImageSubresourceRange {
                                aspect_mask: vk::ImageAspectFlags::COLOR,
                                base_mip_level: level,
                                level_count: 1,
                                base_array_layer: 0,
                                layer_count: 1,
                            });
                        // SAFETY: a view of a live MUTABLE_FORMAT image, destroyed at once.
                        unsafe {
                            let view = device
                                .create_image_view(&info, None)
                                .map_err(|e| e.to_string())?;
                            device.destroy_image_view(view, None);
                        }
                    }
                }
                Ok(per_chain(t.elapsed().as_secs_f64()))
            }),
            Contender::new("raw: a descriptor pool made and destroyed", || {
                let sizes = [
                    vk::DescriptorPoolSize {
                        ty: vk::DescriptorType::STORAGE_IMAGE,
                        descriptor_count: 2 * 8,
                    },
                    vk::DescriptorPoolSize {
                        ty: vk::DescriptorType::COMBINED_IMAGE_SAMPLER,
                        descriptor_count: 2,
                    },
                    vk::DescriptorPoolSize {
                        ty: vk::DescriptorType::STORAGE_BUFFER,
                        descriptor_count: 2,
                    },
                ];
                let t = std::time::Instant::now();
                for _ in &images {
                    let info = vk::DescriptorPoolCreateInfo::default()
                        .max_sets(2)
                        .pool_sizes(&sizes);
                    // SAFETY: a pool of this device, destroyed at once.
                    unsafe {
                        let pool = device
                            .create_descriptor_pool(&info, None)
                            .map_err(|e| e.to_string())?;
                        device.destroy_descriptor_pool(pool, None);
                    }
                }
                Ok(per_chain(t.elapsed().as_secs_f64()))
            }),
        ];
        let results = interleaved(rounds, &mut contenders);
        drop(contenders);
        let [compute_gpu, blit_gpu] = gpu_times
            .into_inner()
            .map(|t| crate::stats::Sample::of(&t).map_or(f64::NAN, |s| s.median));
        rows.push(Row {
            group: "Mip recording on the CPU",
            case: format!("{n} chains of {side}x{side} RGBA8 sRGB, one command buffer"),
            unit: "µs per chain",
            higher_is_better: false,
            size: None,
            results,
            note: Some(format!(
                "the same chains' GPU time: compute {compute_gpu:.2} µs per chain, blit \
                 {blit_gpu:.2}"
            )),
            compare: true,
        });
        for image in images {
            // SAFETY: every submission completed.
            unsafe { alloc.destroy_image(image) };
        }
    }
    drop(timer);
    // SAFETY: nothing uses it.
    unsafe { mips.destroy() };
    rows
}
