//! Mip generation GPU time, compute against blit, in one run: a full chain of a 4096x4096 RGBA8
//! sRGB texture, timed by timestamp queries around each method's recording (barriers included),
//! rounds alternating, medians reported.
//!
//! `cargo bench -p gpu-tests --bench mips [-- SIZE ROUNDS FORMAT]` (FORMAT: srgb or unorm)

use allocator::{ImageDesc, MipLevels};
use ash::vk;
use gpu_tests::Gpu;
use staging::{Access, ImageUpload, MipMethod, MipOptions, ResourceState, StagingRing};

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn main() {
    let mut args = std::env::args().skip(1).filter(|a| a != "--bench");
    let size: u32 = args.next().and_then(|a| a.parse().ok()).unwrap_or(4096);
    let rounds: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(15);
    let format = match args.next().as_deref() {
        Some("unorm") => vk::Format::R8G8B8A8_UNORM,
        _ => vk::Format::R8G8B8A8_SRGB,
    };

    let gpu = Gpu::without_validation();
    let alloc = gpu.allocator();
    let stager = gpu.stager();
    let mips = gpu.mip_generator();
    let mut submitter = gpu.submitter();
    let mut ring = StagingRing::new(&alloc, 64 << 20).expect("ring");
    let device = &gpu.device;

    // SAFETY: plain query on this Gpu's physical device.
    let families = unsafe {
        gpu.instance
            .get_physical_device_queue_family_properties(gpu.physical_device)
    };
    let valid_bits = families[gpu.queue_family as usize].timestamp_valid_bits;
    assert!(valid_bits > 0, "the queue has no timestamps");
    let period = f64::from(gpu.properties.limits.timestamp_period);

    let usage = vk::ImageUsageFlags::SAMPLED
        | vk::ImageUsageFlags::STORAGE
        | vk::ImageUsageFlags::TRANSFER_SRC
        | vk::ImageUsageFlags::TRANSFER_DST;
    let image = alloc
        .create_image(
            &ImageDesc::new_2d(format, size, size)
                .mip_levels(MipLevels::Full)
                .usage(usage)
                .flags(vk::ImageCreateFlags::MUTABLE_FORMAT | vk::ImageCreateFlags::EXTENDED_USAGE),
        )
        .expect("image");
    let texels: Vec<u8> = (0..size * size * 4)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let sampled = ResourceState::new(Access::FragmentShaderSampledRead);
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
    println!(
        "device: {}, {size}x{size} {format:?}, {} levels, {rounds} rounds per method",
        gpu.device_name(),
        image.mip_levels()
    );

    // SAFETY: a query pool on this device, destroyed at the end.
    let pool = unsafe {
        device.create_query_pool(
            &vk::QueryPoolCreateInfo::default()
                .query_type(vk::QueryType::TIMESTAMP)
                .query_count(2),
            None,
        )
    }
    .expect("query pool");
    let time = |method: MipMethod| -> f64 {
        let mut scratch = None;
        gpu.submit_and_wait(|cmd| {
            // SAFETY: recording on the Gpu's queue; the image and pool outlive the wait.
            unsafe {
                device.cmd_reset_query_pool(cmd, pool, 0, 2);
                device.cmd_write_timestamp2(cmd, vk::PipelineStageFlags2::ALL_COMMANDS, pool, 0);
                let (_, s) = mips
                    .record(
                        &alloc,
                        cmd,
                        &image,
                        sampled,
                        sampled,
                        MipOptions::default().method(method),
                    )
                    .expect("mips");
                device.cmd_write_timestamp2(cmd, vk::PipelineStageFlags2::ALL_COMMANDS, pool, 1);
                scratch = Some(s);
            }
        });
        let mut stamps = [0u64; 2];
        // SAFETY: both queries were written by the submission just waited for.
        unsafe {
            device
                .get_query_pool_results(
                    pool,
                    0,
                    &mut stamps,
                    vk::QueryResultFlags::TYPE_64 | vk::QueryResultFlags::WAIT,
                )
                .expect("timestamps");
            if let Some(s) = scratch {
                s.destroy(device, &alloc);
            }
        }
        let mask = if valid_bits >= 64 {
            u64::MAX
        } else {
            (1u64 << valid_bits) - 1
        };
        (stamps[1].wrapping_sub(stamps[0]) & mask) as f64 * period / 1e6
    };
    time(MipMethod::Blit);
    time(MipMethod::Compute);
    let (mut blit, mut compute) = (Vec::new(), Vec::new());
    for round in 0..rounds {
        if round % 2 == 0 {
            blit.push(time(MipMethod::Blit));
            compute.push(time(MipMethod::Compute));
        } else {
            compute.push(time(MipMethod::Compute));
            blit.push(time(MipMethod::Blit));
        }
    }
    let (b, c) = (median(&mut blit), median(&mut compute));
    let bytes = f64::from(size) * f64::from(size) * 4.0 * (1.0 + 1.0 / 3.0);
    println!("blit chain  {:8.3} ms (min {:.3})", b, blit[0]);
    println!(
        "compute     {:8.3} ms (min {:.3}), {:.0} GB/s of level reads and writes",
        c,
        compute[0],
        bytes / (c / 1e3) / 1e9
    );
    println!("compute / blit = {:.3}", c / b);

    // SAFETY: every submission has completed.
    unsafe {
        device.destroy_query_pool(pool, None);
        submitter.destroy().expect("submitter");
        ring.destroy(&alloc);
        alloc.destroy_image(image);
        mips.destroy();
    }
}
