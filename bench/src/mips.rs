//! Row 4: mip generation GPU time (timestamp queries around each method's recording, barriers
//! included), compute against blit, and the bandwidth bound: the least traffic a chain needs
//! (read level 0, write every other level once) at the device's copy bandwidth, measured here by
//! a device-local to device-local `vkCmdCopyBuffer` (bytes read plus written per second).

use allocator::{Allocator, BufferDesc, ImageDesc, MipLevels};
use ash::vk;
use gpu_tests::Gpu;
use staging::{Access, ImageUpload, MipMethod, MipOptions, ResourceState, StagingRing};

use crate::stats::{interleaved, Contender, Row, Sample};

/// Timestamps around what `record` records, in milliseconds.
struct Timer<'g> {
    gpu: &'g Gpu,
    pool: vk::QueryPool,
    mask: u64,
    period: f64,
}

impl<'g> Timer<'g> {
    fn new(gpu: &'g Gpu) -> Result<Self, String> {
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

    fn time(&self, record: impl FnOnce(vk::CommandBuffer)) -> Result<f64, String> {
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

/// Bytes read plus written per second by a device-local buffer copy of `size` bytes.
fn copy_bandwidth(
    gpu: &Gpu,
    alloc: &Allocator,
    timer: &Timer<'_>,
    size: u64,
) -> Result<f64, String> {
    let usage = vk::BufferUsageFlags::TRANSFER_SRC | vk::BufferUsageFlags::TRANSFER_DST;
    let src = alloc
        .create_buffer(&BufferDesc::new(size, usage))
        .map_err(|e| e.to_string())?;
    let dst = alloc
        .create_buffer(&BufferDesc::new(size, usage))
        .map_err(|e| e.to_string())?;
    let mut times = Vec::new();
    for _ in 0..5 {
        times.push(timer.time(|cmd| {
            // SAFETY: both buffers are live and `size` bytes long.
            unsafe {
                gpu.device.cmd_copy_buffer(
                    cmd,
                    src.raw(),
                    dst.raw(),
                    &[vk::BufferCopy::default().size(size)],
                )
            }
        })?);
    }
    // SAFETY: the copies completed.
    unsafe {
        alloc.destroy_buffer(src);
        alloc.destroy_buffer(dst);
    }
    let ms = Sample::of(&times).ok_or("no copy timed")?.median;
    Ok(2.0 * size as f64 / (ms / 1e3))
}

/// The mip rows.
pub fn run(gpu: &Gpu, quick: bool) -> Vec<Row> {
    let rounds = if quick { 2 } else { 15 };
    let alloc = gpu.allocator();
    let stager = gpu.stager();
    let mips = gpu.mip_generator();
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
    let bandwidth = copy_bandwidth(
        gpu,
        &alloc,
        &timer,
        if quick { 16 << 20 } else { 256 << 20 },
    );
    let sizes: &[(u32, u32)] = if quick {
        &[(256, 256)]
    } else {
        &[(4096, 4096), (1920, 1080)]
    };
    let sampled = ResourceState::new(Access::FragmentShaderSampledRead);
    let mut rows = Vec::new();
    for &(width, height) in sizes {
        let format = vk::Format::R8G8B8A8_SRGB;
        let image = alloc
            .create_image(
                &ImageDesc::new_2d(format, width, height)
                    .mip_levels(MipLevels::Full)
                    .usage(
                        vk::ImageUsageFlags::SAMPLED
                            | vk::ImageUsageFlags::STORAGE
                            | vk::ImageUsageFlags::TRANSFER_SRC
                            | vk::ImageUsageFlags::TRANSFER_DST,
                    )
                    .flags(
                        vk::ImageCreateFlags::MUTABLE_FORMAT | vk::ImageCreateFlags::EXTENDED_USAGE,
                    ),
            )
            .expect("image");
        let texels: Vec<u8> = (0..width * height * 4)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        let mut upload = ImageUpload::packed(
            &stager,
            &image,
            &texels,
            1,
            ResourceState::UNDEFINED,
            sampled,
            16 << 20,
        )
        .expect("upload");
        // SAFETY: recording on the submitter's queue; everything outlives `run`.
        unsafe {
            submitter.run(&mut ring, |cmd, ring| {
                upload.record(&stager, &alloc, cmd, ring)
            })
        }
        .expect("upload");
        let time = |method: MipMethod| -> Result<f64, String> {
            let mut scratch = None;
            let mut error = None;
            let ms = timer.time(|cmd| {
                // SAFETY: recording on the Gpu's queue; the image outlives the wait.
                match unsafe {
                    mips.record(
                        &alloc,
                        cmd,
                        &image,
                        sampled,
                        sampled,
                        MipOptions::default().method(method),
                    )
                } {
                    Ok((_, s)) => scratch = Some(s),
                    Err(e) => error = Some(e.to_string()),
                }
            });
            if let Some(s) = scratch {
                // SAFETY: the submission completed.
                unsafe { s.destroy(&gpu.device, &alloc) };
            }
            match error {
                Some(e) => Err(e),
                None => ms,
            }
        };
        let mut results = {
            let mut contenders = [
                Contender::new("compute (ours, one pass)", || time(MipMethod::Compute)),
                Contender::new("blit chain (ours)", || time(MipMethod::Blit)),
            ];
            interleaved(rounds, &mut contenders)
        };
        // Least traffic: level 0 read once, every other level written once.
        let level0 = f64::from(width) * f64::from(height) * 4.0;
        let rest: f64 = (1..image.mip_levels())
            .map(|l| {
                let e = image.level_extent(l);
                f64::from(e.width) * f64::from(e.height) * 4.0
            })
            .sum();
        let bound = bandwidth.as_ref().map_err(|e| e.clone()).and_then(|bw| {
            Sample::of(&[(level0 + rest) / bw * 1e3]).ok_or_else(|| "no bound".into())
        });
        results.push(("bandwidth bound".into(), bound));
        rows.push(Row {
            group: "Mip generation",
            case: format!("{width}x{height} sRGB, {} levels", image.mip_levels()),
            unit: "ms",
            higher_is_better: false,
            size: None,
            results,
            note: bandwidth.as_ref().ok().map(|bw| {
                format!(
                    "bound: {:.1} MB read and written at {:.0} GB/s (a device-local \
                     vkCmdCopyBuffer's read+write rate on this device)",
                    (level0 + rest) / 1e6,
                    bw / 1e9
                )
            }),
            compare: true,
        });
        // SAFETY: every submission completed.
        unsafe { alloc.destroy_image(image) };
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
