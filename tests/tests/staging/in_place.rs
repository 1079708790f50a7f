//! Uploads written in place: a producer writes the bytes into staging memory (or the buffer's
//! mapping) as the upload records; every one is read back and compared byte for byte.

use std::sync::Mutex;

use ash::vk;
use gpu_tests::Gpu;
use vkup_allocator::{Allocator, BufferDesc, GpuImage, ImageDesc, MemoryIntent, MipLevels};
use vkup_staging::{
    packed_layouts, Access, BufferUpload, Error, ImageUpload, ProduceError, ResourceState, Slot,
    StagingRing, UploadPath,
};

use crate::{pattern, read_image, run_together};

const USAGE: vk::ImageUsageFlags = vk::ImageUsageFlags::from_raw(
    vk::ImageUsageFlags::SAMPLED.as_raw()
        | vk::ImageUsageFlags::TRANSFER_DST.as_raw()
        | vk::ImageUsageFlags::TRANSFER_SRC.as_raw(),
);

/// What a producer saw: the offset it expects next, the slots it was handed, and the bytes.
#[derive(Default)]
struct Log {
    next: u64,
    slots: Vec<(u32, u32, u64, usize)>,
    written: u64,
}

/// A producer that writes `data` (the packed bytes) slot by slot, checking that each slot
/// starts where the last one ended, and failing once when its call count reaches `fail_at`.
fn producer<'a>(
    data: &'a [u8],
    log: &'a Mutex<Log>,
    mut fail_at: Option<usize>,
) -> impl FnMut(Slot<'_>) -> Result<(), ProduceError> + Send + 'a {
    move |mut slot: Slot<'_>| {
        let mut log = log.lock().unwrap();
        if fail_at == Some(log.slots.len()) {
            fail_at = None;
            return Err("the decoder met a corrupt row".into());
        }
        assert_eq!(slot.offset(), log.next, "slots arrive in data order");
        assert!(!slot.is_empty());
        let start = slot.offset() as usize;
        let len = slot.len();
        // Row by row, as a decoder writes.
        let row = slot.row_bytes();
        for (i, dst) in slot.rows_mut().enumerate() {
            dst.copy_from_slice(&data[start + i * row..][..row]);
        }
        log.next += len as u64;
        log.written += len as u64;
        log.slots
            .push((slot.level(), slot.layer(), slot.offset(), len));
        Ok(())
    }
}

/// Writes every level of `desc` in place through a ring of `ring_size` bytes and compares the
/// readback with what the producer wrote; returns the producer's log.
fn in_place_round_trip(
    gpu: &Gpu,
    alloc: &Allocator,
    desc: ImageDesc,
    ring_size: u64,
    seed: u64,
    fail_at: Option<usize>,
) -> Log {
    let image = alloc.create_image(&desc.clone().usage(USAGE)).unwrap();
    let (_, len) = packed_layouts(&image, image.mip_levels()).unwrap();
    let data = pattern(len as usize, seed);
    let stager = gpu.stager(alloc);
    let mut submitter = gpu.submitter();
    let mut ring = StagingRing::new(alloc, ring_size).unwrap();
    let sampled = ResourceState::new(Access::FragmentShaderSampledRead);
    let log = Mutex::new(Log::default());
    let mut upload = ImageUpload::in_place(
        &stager,
        &image,
        image.mip_levels(),
        ResourceState::UNDEFINED,
        sampled,
        producer(&data, &log, fail_at),
    )
    .unwrap();
    // SAFETY: recording on the submitter's queue; image and ring outlive `run`.
    let mut run = || unsafe {
        submitter.run(&mut ring, |cmd, ring| {
            upload.record(cmd, &stager, alloc, ring)
        })
    };
    let finished = match (run(), fail_at) {
        (Ok(finished), None) => finished,
        (Err(Error::Produce { offset, source, .. }), Some(_)) => {
            assert_eq!(offset, log.lock().unwrap().next, "the error names the slot");
            assert!(source.to_string().contains("corrupt row"));
            // The same call again: the upload resumes at the slot that failed.
            run().unwrap()
        }
        (other, _) => panic!("{:?}: {:?}", desc.format(), other.map(|f| f.state)),
    };
    assert_eq!(finished.state, sampled);
    drop(upload);
    // SAFETY: `run` waited for its submissions.
    unsafe { submitter.destroy().unwrap() };
    assert_eq!(ring.in_use(), 0);
    // SAFETY: completed.
    unsafe { ring.destroy(alloc) };
    let back = read_image(gpu, alloc, &image, sampled);
    assert!(
        back == data,
        "{:?} {:?} through a {ring_size}-byte ring differs",
        desc.format(),
        desc.extent()
    );
    // SAFETY: every submission has completed.
    unsafe { alloc.destroy_image(image) };
    let log = log.into_inner().unwrap();
    assert_eq!(log.written, len, "every byte written exactly once");
    log
}

#[test]
fn images_written_in_place_read_back_exact_through_any_ring() {
    let gpu = Gpu::new();
    let alloc = gpu.allocator();
    let rgba = vk::Format::R8G8B8A8_UNORM;
    let cases = [
        ImageDesc::new_2d(rgba, 257, 129).mip_levels(MipLevels::Full),
        ImageDesc::new_2d(vk::Format::R32G32B32A32_SFLOAT, 33, 17)
            .array_layers(3)
            .mip_levels(MipLevels::Full),
        ImageDesc::cube(vk::Format::BC7_SRGB_BLOCK, 20).mip_levels(MipLevels::Full),
        ImageDesc::new_2d(vk::Format::BC1_RGBA_UNORM_BLOCK, 13, 7).mip_levels(MipLevels::Full),
        ImageDesc::new_3d(rgba, 19, 13, 7).mip_levels(MipLevels::Full),
        ImageDesc::new_2d(vk::Format::R8_UNORM, 1, 1),
    ];
    // Generated ring sizes: from a few rows (slots cut at rows, the ring wrapping under the
    // producer) to more than the whole image.
    let mut seed = 0x51u64;
    for (i, desc) in cases.into_iter().enumerate() {
        for _ in 0..3 {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let ring = 4096u64 << ((seed >> 33) % 8);
            let log = in_place_round_trip(&gpu, &alloc, desc.clone(), ring, seed, None);
            // Slots come level by level, layer by layer.
            let order: Vec<(u32, u32)> = log.slots.iter().map(|s| (s.0, s.1)).collect();
            let mut sorted = order.clone();
            sorted.sort();
            assert_eq!(order, sorted, "case {i}: slots out of order");
        }
    }
    // A ring of one row of the widest level cuts every slot to rows.
    let log = in_place_round_trip(
        &gpu,
        &alloc,
        ImageDesc::new_2d(rgba, 256, 64),
        4096,
        9,
        None,
    );
    assert!(
        log.slots.len() >= 64 * 1024 / 2048,
        "{} slots",
        log.slots.len()
    );
}

#[test]
fn a_failing_producer_is_a_typed_error_and_the_same_call_resumes() {
    let gpu = Gpu::new();
    let alloc = gpu.allocator();
    // Fails on its third slot, after two were recorded and submitted.
    let desc = ImageDesc::new_2d(vk::Format::R8G8B8A8_UNORM, 128, 128).mip_levels(MipLevels::Full);
    let log = in_place_round_trip(&gpu, &alloc, desc, 16 * 1024, 3, Some(2));
    assert!(log.slots.len() > 3);
}

/// A buffer of `len` bytes written in place on `path` through a ring of `ring_size`, read back.
fn buffer_round_trip(gpu: &Gpu, alloc: &Allocator, len: u64, ring_size: u64, path: UploadPath) {
    let data = pattern(len as usize, len ^ ring_size);
    let desc = match path {
        UploadPath::Direct => {
            BufferDesc::new(len, vk::BufferUsageFlags::TRANSFER_SRC).memory(MemoryIntent::CpuToGpu)
        }
        _ => BufferDesc::new(
            len,
            vk::BufferUsageFlags::TRANSFER_DST | vk::BufferUsageFlags::TRANSFER_SRC,
        ),
    };
    let buffer = alloc.create_buffer(&desc).unwrap();
    let stager = gpu.stager(alloc);
    let mut submitter = gpu.submitter();
    let mut ring = StagingRing::new(alloc, ring_size).unwrap();
    let log = Mutex::new(Log::default());
    let (from, to) = match path {
        UploadPath::Direct => (
            ResourceState::new(Access::HostWrite),
            ResourceState::new(Access::HostWrite),
        ),
        _ => (
            ResourceState::UNDEFINED,
            ResourceState::new(Access::TransferRead),
        ),
    };
    let mut upload = BufferUpload::in_place(&buffer, 0, len, from, to, producer(&data, &log, None))
        .unwrap()
        .path(path);
    // SAFETY: recording on the submitter's queue; buffer and ring outlive `run`.
    let finished = unsafe {
        submitter.run(&mut ring, |cmd, ring| {
            upload.record(cmd, &stager, alloc, ring)
        })
    }
    .unwrap();
    assert_eq!(finished.state, to);
    drop(upload);
    let log = log.into_inner().unwrap();
    assert_eq!(log.written, len);
    if path == UploadPath::Direct {
        assert_eq!(log.slots.len(), 1, "one slot: the buffer's own mapping");
    }
    let mut readback = None;
    // SAFETY: as above.
    let _ = unsafe {
        submitter.run(&mut ring, |cmd, _| {
            let (r, finished) =
                stager.record_buffer_readback(cmd, alloc, &buffer, 0..len, to, to)?;
            readback = Some(r);
            Ok(vkup_staging::Progress::Done(finished))
        })
    }
    .unwrap();
    let mut readback = readback.unwrap();
    // SAFETY: `run` waited for the copy.
    unsafe { readback.submitted(submitter.timeline(), submitter.last_value()) };
    let back = readback.read(alloc, submitter.timeline()).unwrap();
    assert!(
        back == data,
        "{len} bytes on {path:?} through {ring_size} differ"
    );
    // SAFETY: every submission has completed.
    unsafe {
        readback.destroy(alloc);
        submitter.destroy().unwrap();
        ring.destroy(alloc);
        alloc.destroy_buffer(buffer);
    }
}

#[test]
fn buffers_written_in_place_read_back_exact_staged_and_direct() {
    let gpu = Gpu::new();
    let alloc = gpu.allocator();
    for (len, ring) in [
        (1, 4096),
        (4096, 4096),
        (1 << 20, 64 << 10),
        (300_001, 1 << 20),
    ] {
        buffer_round_trip(&gpu, &alloc, len, ring, UploadPath::Staged);
    }
    buffer_round_trip(&gpu, &alloc, 100_003, 4096, UploadPath::Direct);
}

#[test]
fn many_producers_write_side_by_side_and_read_back_exact() {
    let gpu = Gpu::new();
    let alloc = gpu.allocator();
    let stager = gpu.stager(&alloc).threads(4);
    let sampled = ResourceState::new(Access::FragmentShaderSampledRead);
    // Eight textures of generated sizes (one from memory), through a ring of a few of them.
    let descs: Vec<ImageDesc> = (0..8u32)
        .map(|i| {
            ImageDesc::new_2d(vk::Format::R8G8B8A8_UNORM, 17 + 23 * i, 9 + 31 * (i % 3))
                .mip_levels(MipLevels::Full)
        })
        .collect();
    let images: Vec<GpuImage> = descs
        .iter()
        .map(|d| alloc.create_image(&d.clone().usage(USAGE)).unwrap())
        .collect();
    let datas: Vec<Vec<u8>> = images
        .iter()
        .enumerate()
        .map(|(i, image)| {
            let (_, len) = packed_layouts(image, image.mip_levels()).unwrap();
            pattern(len as usize, 100 + i as u64)
        })
        .collect();
    let logs: Vec<Mutex<Log>> = images.iter().map(|_| Mutex::default()).collect();
    let threads = Mutex::new(std::collections::HashSet::new());
    for fail in [Some(3usize), None] {
        let mut uploads: Vec<ImageUpload<'_>> = images
            .iter()
            .enumerate()
            .map(|(i, image)| {
                if i == 5 {
                    let (layouts, _) = packed_layouts(image, image.mip_levels()).unwrap();
                    return ImageUpload::new(
                        &stager,
                        image,
                        &datas[i],
                        &layouts,
                        ResourceState::UNDEFINED,
                        sampled,
                    )
                    .unwrap();
                }
                *logs[i].lock().unwrap() = Log::default();
                let mut inner = producer(&datas[i], &logs[i], None);
                let threads = &threads;
                let mut calls = 0;
                ImageUpload::in_place(
                    &stager,
                    image,
                    image.mip_levels(),
                    ResourceState::UNDEFINED,
                    sampled,
                    move |slot: Slot<'_>| -> Result<(), ProduceError> {
                        threads.lock().unwrap().insert(std::thread::current().id());
                        calls += 1;
                        if fail == Some(i) && calls == 2 {
                            return Err("truncated file".into());
                        }
                        // Slow enough that the threads overlap.
                        std::thread::sleep(std::time::Duration::from_millis(2));
                        inner(slot)
                    },
                )
                .unwrap()
            })
            .collect();
        let mut ring = StagingRing::new(&alloc, 64 << 10).unwrap();
        let mut refs: Vec<&mut ImageUpload<'_>> = uploads.iter_mut().collect();
        let result = run_together(&gpu, &alloc, &stager, &mut ring, &mut refs);
        match fail {
            Some(i) => match result {
                Err(Error::Produce { source, .. }) => {
                    assert!(source.to_string().contains("truncated"), "upload {i}")
                }
                other => panic!("expected the producer's error, got {:?}", other.map(|_| ())),
            },
            None => {
                assert!(result.unwrap().iter().all(|&(s, _)| s == sampled));
                for (i, (image, data)) in images.iter().zip(&datas).enumerate() {
                    assert!(
                        read_image(&gpu, &alloc, image, sampled) == *data,
                        "texture {i}"
                    );
                    if i != 5 {
                        assert_eq!(logs[i].lock().unwrap().written, data.len() as u64);
                    }
                }
            }
        }
        // SAFETY: every submission has completed.
        unsafe { ring.destroy(&alloc) };
    }
    assert!(
        threads.lock().unwrap().len() > 1,
        "the producers ran on one thread"
    );
    for image in images {
        // SAFETY: completed.
        unsafe { alloc.destroy_image(image) };
    }
}
