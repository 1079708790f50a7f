//! Upload throughput, all figures from one run, rounds interleaved, medians reported:
//! - `memcpy`: one thread copying the data into ordinary host memory (the floor for any upload);
//! - `baseline`: the hand-written upload, memcpy into a mapped staging buffer as large as the data,
//!   one `vkCmdCopyBuffer`, submit, wait;
//! - `direct`: `BufferUpload` on the direct path into mappable (CpuToGpu) memory;
//! - `staged`: `BufferUpload` through a 64 MiB `StagingRing` driven by `Submitter` into GpuOnly
//!   memory, end to end (the fill of one batch overlaps the GPU copy of the last).
//!
//! Then 1 GiB of 4096x4096 RGBA8 textures through the same 64 MiB ring, with the ring's peak use.
//!
//! `cargo bench -p gpu-tests --bench upload [-- MIB ROUNDS THREADS]` (THREADS: host copy threads,
//! 0 for the stager's default)

use std::time::Instant;

use allocator::{BufferDesc, ImageDesc, MemoryIntent};
use ash::vk;
use gpu_tests::Gpu;
use staging::{Access, BufferUpload, ImageUpload, ResourceState, StagingRing, UploadPath};

const RING: u64 = 64 << 20;

fn gbps(bytes: usize, seconds: f64) -> f64 {
    bytes as f64 / seconds / 1e9
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn main() {
    let mut args = std::env::args().skip(1).filter(|a| a != "--bench");
    let mib: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(256);
    let rounds: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(5);
    let threads: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(0);
    let size = mib << 20;

    let gpu = Gpu::without_validation();
    let alloc = gpu.allocator();
    let default_threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(8);
    let threads = if threads == 0 {
        default_threads
    } else {
        threads
    };
    let stager = gpu.stager().threads(threads);
    let mut submitter = gpu.submitter();
    let mut ring = StagingRing::new(&alloc, RING).expect("ring");
    println!(
        "device: {}, {mib} MiB per upload, {rounds} rounds, {threads} host copy threads",
        gpu.device_name(),
    );

    let data: Vec<u8> = (0..size)
        .map(|i| (i as u32).wrapping_mul(2_654_435_761) as u8)
        .collect();
    let mut host = vec![1u8; size];
    let transfer = vk::BufferUsageFlags::TRANSFER_DST | vk::BufferUsageFlags::VERTEX_BUFFER;
    let mut staging_buffer = alloc
        .create_buffer(&BufferDesc::staging(size as u64))
        .expect("staging");
    let mut gpu_only = alloc
        .create_buffer(&BufferDesc::new(size as u64, transfer))
        .expect("dst");
    let mut mappable = alloc
        .create_buffer(&BufferDesc::new(size as u64, transfer).memory(MemoryIntent::CpuToGpu))
        .expect("mappable dst");
    println!(
        "memory: staging {:?}, GpuOnly {:?}, CpuToGpu {:?}",
        staging_buffer.memory_flags(),
        gpu_only.memory_flags(),
        mappable.memory_flags()
    );

    // The baseline's command buffer and fence, made once.
    let device = &gpu.device;
    // SAFETY: plain object creation on the benchmark's device; destroyed at the end.
    let (pool, cmd, fence) = unsafe {
        let pool = device
            .create_command_pool(
                &vk::CommandPoolCreateInfo::default()
                    .flags(vk::CommandPoolCreateFlags::RESET_COMMAND_BUFFER)
                    .queue_family_index(gpu.queue_family),
                None,
            )
            .expect("pool");
        let cmd = device
            .allocate_command_buffers(
                &vk::CommandBufferAllocateInfo::default()
                    .command_pool(pool)
                    .level(vk::CommandBufferLevel::PRIMARY)
                    .command_buffer_count(1),
            )
            .expect("cmd")[0];
        let fence = device
            .create_fence(&vk::FenceCreateInfo::default(), None)
            .expect("fence");
        (pool, cmd, fence)
    };

    let (mut memcpy, mut baseline, mut direct, mut staged) = (vec![], vec![], vec![], vec![]);
    let mut staged_fill = vec![];
    for _ in 0..rounds {
        let t = Instant::now();
        host.copy_from_slice(&data);
        std::hint::black_box(&host);
        memcpy.push(gbps(size, t.elapsed().as_secs_f64()));

        let t = Instant::now();
        alloc.write(&mut staging_buffer, 0, &data).expect("write");
        // SAFETY: the command buffer is idle (its last submission was waited for); both buffers
        // are live and `size` bytes long.
        unsafe {
            device
                .begin_command_buffer(
                    cmd,
                    &vk::CommandBufferBeginInfo::default()
                        .flags(vk::CommandBufferUsageFlags::ONE_TIME_SUBMIT),
                )
                .expect("begin");
            device.cmd_copy_buffer(
                cmd,
                staging_buffer.raw(),
                gpu_only.raw(),
                &[vk::BufferCopy::default().size(size as u64)],
            );
            device.end_command_buffer(cmd).expect("end");
            let cmds = [vk::CommandBufferSubmitInfo::default().command_buffer(cmd)];
            device
                .queue_submit2(
                    gpu.queue,
                    &[vk::SubmitInfo2::default().command_buffer_infos(&cmds)],
                    fence,
                )
                .expect("submit");
            device
                .wait_for_fences(&[fence], true, u64::MAX)
                .expect("wait");
            device.reset_fences(&[fence]).expect("reset");
        }
        baseline.push(gbps(size, t.elapsed().as_secs_f64()));

        let t = Instant::now();
        let mut upload = BufferUpload::new(
            &mut mappable,
            0,
            &data,
            ResourceState::UNDEFINED,
            Access::VertexBuffer.into(),
        )
        .expect("upload")
        .path(UploadPath::Direct);
        // SAFETY: the direct path records nothing and the destination is idle.
        unsafe {
            submitter.run(&mut ring, |cmd, ring| {
                upload.record(&stager, &alloc, cmd, ring)
            })
        }
        .expect("direct");
        direct.push(gbps(size, t.elapsed().as_secs_f64()));

        let t = Instant::now();
        let mut upload = BufferUpload::new(
            &mut gpu_only,
            0,
            &data,
            ResourceState::UNDEFINED,
            Access::VertexBuffer.into(),
        )
        .expect("upload")
        .path(UploadPath::Staged);
        // SAFETY: recording on the submitter's queue; the destination is idle (the baseline's
        // copy was waited for).
        let mut in_record = 0.0;
        // SAFETY: as above.
        unsafe {
            submitter.run(&mut ring, |cmd, ring| {
                let r = Instant::now();
                let progress = upload.record(&stager, &alloc, cmd, ring);
                in_record += r.elapsed().as_secs_f64();
                progress
            })
        }
        .expect("staged");
        let total = t.elapsed().as_secs_f64();
        staged.push(gbps(size, total));
        staged_fill.push(in_record / total);
    }
    let (m, b, d, s) = (
        median(&mut memcpy),
        median(&mut baseline),
        median(&mut direct),
        median(&mut staged),
    );
    println!("memcpy   {m:6.2} GB/s");
    println!("baseline {b:6.2} GB/s  (memcpy into a {mib} MiB mapped staging buffer + vkCmdCopyBuffer + wait)");
    println!("direct   {d:6.2} GB/s  direct/memcpy = {:.2}", d / m);
    println!(
        "staged   {s:6.2} GB/s  staged/baseline = {:.2}  (ring {} MiB, peak in use {} MiB)",
        s / b,
        RING >> 20,
        ring.high_water() >> 20
    );
    println!(
        "         {:.0}% of the staged time fills and records; the rest submits and waits",
        median(&mut staged_fill) * 100.0
    );

    // 1 GiB of textures through the 64 MiB ring.
    let side = 4096u32;
    let texture: Vec<u8> = data
        .iter()
        .copied()
        .cycle()
        .take((side * side * 4) as usize)
        .collect();
    let count = (1u64 << 30) / u64::from(side * side * 4);
    let before = ring.high_water();
    let usage = vk::ImageUsageFlags::SAMPLED | vk::ImageUsageFlags::TRANSFER_DST;
    let t = Instant::now();
    for _ in 0..count {
        let image = alloc
            .create_image(&ImageDesc::new_2d(vk::Format::R8G8B8A8_SRGB, side, side).usage(usage))
            .expect("texture");
        let mut upload = ImageUpload::packed(
            &stager,
            &image,
            &texture,
            1,
            ResourceState::UNDEFINED,
            Access::FragmentShaderSampledRead.into(),
            RING / 4,
        )
        .expect("plan");
        // SAFETY: recording on the submitter's queue; `run` waits before the image is destroyed.
        unsafe {
            submitter
                .run(&mut ring, |cmd, ring| {
                    upload.record(&stager, &alloc, cmd, ring)
                })
                .expect("texture upload");
            alloc.destroy_image(image);
        }
    }
    let seconds = t.elapsed().as_secs_f64();
    println!(
        "textures: {count} x {side}x{side} RGBA8 = {} MiB through a {} MiB ring in {seconds:.2} s ({:.2} GB/s); peak staging in use {} MiB (before: {} MiB)",
        (count * u64::from(side * side * 4)) >> 20,
        RING >> 20,
        gbps((count * u64::from(side * side * 4)) as usize, seconds),
        ring.high_water() >> 20,
        before >> 20
    );

    // SAFETY: every submission has completed (run and the baseline wait).
    unsafe {
        device.destroy_fence(fence, None);
        device.destroy_command_pool(pool, None);
        submitter.destroy().expect("submitter");
        ring.destroy(&alloc);
        alloc.destroy_buffer(staging_buffer);
        alloc.destroy_buffer(gpu_only);
        alloc.destroy_buffer(mappable);
    }
}
