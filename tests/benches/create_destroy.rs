//! Buffer create+destroy pairs per second through `allocator` against raw vk-mem calls, on the same
//! VMA allocator in the same run. Rounds alternate which side goes first; the figure that counts
//! is the median of the per-round ratios (ours / raw: 1.0 is parity, below 1.0 is our overhead).
//!
//! Two cases: GpuOnly vertex buffers (the common resource), and persistently mapped staging
//! buffers, where the raw side also asks VMA for the mapping (`get_allocation_info`), since a
//! staging buffer is of no use without it and `allocator` returns it in the handle.
//!
//! `cargo bench -p gpu-tests --bench create_destroy [-- PAIRS ROUNDS]`

use std::hint::black_box;
use std::sync::Arc;
use std::time::Instant;

use allocator::{Allocator, BufferDesc};
use ash::vk;
use gpu_tests::Gpu;
use vk_mem::Alloc as _;

const SIZE: vk::DeviceSize = 64 * 1024;

#[derive(Clone, Copy)]
enum Case {
    GpuOnly,
    Upload,
}

fn ours(alloc: &Allocator, case: Case, pairs: u32) -> f64 {
    let start = Instant::now();
    for _ in 0..pairs {
        let desc = match case {
            Case::GpuOnly => BufferDesc::vertex(black_box(SIZE)),
            Case::Upload => BufferDesc::staging(black_box(SIZE)),
        };
        let buffer = alloc.create_buffer(&desc).expect("create");
        black_box(buffer.mapped_ptr());
        // SAFETY: created just above, never used by the GPU.
        unsafe { alloc.destroy_buffer(buffer) };
    }
    f64::from(pairs) / start.elapsed().as_secs_f64()
}

fn raw(vma: &vk_mem::Allocator, case: Case, pairs: u32) -> f64 {
    use vk_mem::AllocationCreateFlags as F;
    let start = Instant::now();
    for _ in 0..pairs {
        // The request `allocator` makes for the same description, built per call as any caller
        // whose buffers differ must (`black_box` keeps it from being hoisted out of the loop).
        let (usage, alloc_info) = match case {
            Case::GpuOnly => (
                vk::BufferUsageFlags::VERTEX_BUFFER | vk::BufferUsageFlags::TRANSFER_DST,
                vk_mem::AllocationCreateInfo {
                    usage: vk_mem::MemoryUsage::AutoPreferDevice,
                    preferred_flags: vk::MemoryPropertyFlags::DEVICE_LOCAL,
                    priority: 0.5,
                    ..Default::default()
                },
            ),
            Case::Upload => (
                vk::BufferUsageFlags::TRANSFER_SRC,
                vk_mem::AllocationCreateInfo {
                    usage: vk_mem::MemoryUsage::AutoPreferHost,
                    flags: F::HOST_ACCESS_SEQUENTIAL_WRITE | F::MAPPED,
                    required_flags: vk::MemoryPropertyFlags::HOST_VISIBLE,
                    priority: 0.5,
                    ..Default::default()
                },
            ),
        };
        let info = vk::BufferCreateInfo::default()
            .size(black_box(SIZE))
            .usage(usage)
            .sharing_mode(vk::SharingMode::EXCLUSIVE);
        // SAFETY: valid create infos on a live allocator; destroyed right away, never used.
        unsafe {
            let (buffer, mut allocation) = vma.create_buffer(&info, &alloc_info).expect("create");
            if let Case::Upload = case {
                black_box(vma.get_allocation_info(&allocation).mapped_data);
            }
            vma.destroy_buffer(buffer, &mut allocation);
        }
    }
    f64::from(pairs) / start.elapsed().as_secs_f64()
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn run(
    alloc: &Allocator,
    vma: &vk_mem::Allocator,
    case: Case,
    name: &str,
    pairs: u32,
    rounds: usize,
) {
    // Warm-up: VMA's first block and the driver's caches.
    ours(alloc, case, pairs / 10);
    raw(vma, case, pairs / 10);
    let (mut ours_rates, mut raw_rates, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    println!("{name}");
    println!(
        "{:>7} {:>14} {:>14} {:>9}",
        "round", "ours pairs/s", "raw pairs/s", "ours/raw"
    );
    for round in 0..rounds {
        let (o, r) = if round % 2 == 0 {
            let o = ours(alloc, case, pairs);
            (o, raw(vma, case, pairs))
        } else {
            let r = raw(vma, case, pairs);
            (ours(alloc, case, pairs), r)
        };
        println!("{round:>7} {o:>14.0} {r:>14.0} {:>9.3}", o / r);
        ours_rates.push(o);
        raw_rates.push(r);
        ratios.push(o / r);
    }
    let ratio = median(&mut ratios);
    println!(
        "{name}: median ours {:.0} pairs/s, raw vk-mem {:.0} pairs/s, ours/raw = {:.3} ({:+.1}% cost over raw)\n",
        median(&mut ours_rates),
        median(&mut raw_rates),
        ratio,
        (1.0 / ratio - 1.0) * 100.0
    );
}

fn main() {
    let mut args = std::env::args().skip(1).filter(|a| a != "--bench");
    let pairs: u32 = args.next().and_then(|a| a.parse().ok()).unwrap_or(50_000);
    let rounds: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(9);

    let gpu = Gpu::without_validation();
    let mut info =
        vk_mem::AllocatorCreateInfo::new(&gpu.instance, &gpu.device, gpu.physical_device);
    info.vulkan_api_version = gpu.api_version;
    if gpu.memory_budget {
        info.flags |= vk_mem::AllocatorCreateFlags::EXT_MEMORY_BUDGET;
    }
    // SAFETY: the Gpu's handles outlive both allocators (dropped at the end of main, before it).
    let vma = Arc::new(unsafe { vk_mem::Allocator::new(info) }.expect("vma"));
    let desc = gpu.allocator_desc().buffer_device_address(false);
    // SAFETY: as above; `desc` matches how `vma` was made.
    let alloc = unsafe { Allocator::from_vma(vma.clone(), &desc) }.expect("allocator");

    println!(
        "device: {} ({pairs} pairs x {rounds} rounds, {} KiB buffers)\n",
        gpu.device_name(),
        SIZE / 1024
    );
    run(
        &alloc,
        &vma,
        Case::GpuOnly,
        "GpuOnly vertex buffers",
        pairs,
        rounds,
    );
    run(
        &alloc,
        &vma,
        Case::Upload,
        "Upload (mapped staging) buffers",
        pairs,
        rounds,
    );
    assert_eq!(alloc.live_allocations().expect("stats"), 0);
    drop(alloc);
    drop(vma);
}
