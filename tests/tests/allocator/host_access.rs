use ash::vk;
use gpu_tests::Gpu;
use vkup_allocator::{BufferDesc, Error, MemoryIntent};

fn pattern(len: usize, seed: u32) -> Vec<u32> {
    (0..len as u32)
        .map(|i| i.wrapping_mul(2654435761) ^ seed)
        .collect()
}

#[test]
fn write_then_read_round_trips_for_each_host_visible_intent() {
    let gpu = Gpu::new();
    let alloc = gpu.allocator();
    for intent in [
        MemoryIntent::Upload,
        MemoryIntent::Readback,
        MemoryIntent::CpuToGpu,
    ] {
        let usage = vk::BufferUsageFlags::TRANSFER_SRC | vk::BufferUsageFlags::TRANSFER_DST;
        let mut buffer = alloc
            .create_buffer(&BufferDesc::new(4096, usage).memory(intent))
            .unwrap();
        assert!(buffer.is_mappable(), "{intent:?}");
        let data = pattern(100, intent as u32);
        alloc.write(&mut buffer, 1024, &data).unwrap();
        let mut back = vec![0u32; 100];
        alloc.read(&buffer, 1024, &mut back).unwrap();
        assert_eq!(back, data, "{intent:?}");
        // SAFETY: the handles come from this allocator and no submitted work uses them.
        unsafe { alloc.destroy_buffer(buffer) };
    }
}

#[test]
fn gpu_only_memory_is_never_mapped_even_where_host_visible() {
    let gpu = Gpu::new();
    let alloc = gpu.allocator();
    let mut buffer = alloc.create_buffer(&BufferDesc::vertex(256)).unwrap();
    assert!(!buffer.is_mappable());
    let err = alloc.write(&mut buffer, 0, &[1u8; 4]).unwrap_err();
    assert!(
        matches!(
            err,
            Error::NotMappable {
                intent: MemoryIntent::GpuOnly,
                ..
            }
        ),
        "{err}"
    );
    assert!(matches!(
        alloc.read(&buffer, 0, &mut [0u8; 4]),
        Err(Error::NotMappable { .. })
    ));
    assert!(matches!(
        alloc.map_buffer(&buffer),
        Err(Error::NotMappable { .. })
    ));
    let image = alloc
        .create_image(&vkup_allocator::ImageDesc::texture_2d(
            vk::Format::R8G8B8A8_UNORM,
            8,
            8,
        ))
        .unwrap();
    assert!(matches!(
        alloc.map_image(&image),
        Err(Error::NotMappable { .. })
    ));
    // SAFETY: the handles come from this allocator and no submitted work uses them.
    unsafe {
        alloc.destroy_buffer(buffer);
        alloc.destroy_image(image);
    }
}

#[test]
fn data_survives_a_gpu_copy_from_upload_through_gpu_only_to_readback() {
    let gpu = Gpu::new();
    let alloc = gpu.allocator();
    let size = 64 * 1024;
    let mut upload = alloc.create_buffer(&BufferDesc::staging(size)).unwrap();
    let middle = alloc
        .create_buffer(&BufferDesc::new(
            size,
            vk::BufferUsageFlags::TRANSFER_SRC | vk::BufferUsageFlags::TRANSFER_DST,
        ))
        .unwrap();
    let readback = alloc.create_buffer(&BufferDesc::readback(size)).unwrap();
    let data = pattern(size as usize / 4, 7);
    alloc.write(&mut upload, 0, &data).unwrap();
    // SAFETY: the buffers are live and sized for these copies; the harness waits for them.
    gpu.submit_and_wait(|cmd| unsafe {
        let region = [vk::BufferCopy::default().size(size)];
        gpu.device
            .cmd_copy_buffer(cmd, upload.raw(), middle.raw(), &region);
        let barrier = [vk::MemoryBarrier2::default()
            .src_stage_mask(vk::PipelineStageFlags2::COPY)
            .src_access_mask(vk::AccessFlags2::TRANSFER_WRITE)
            .dst_stage_mask(vk::PipelineStageFlags2::COPY)
            .dst_access_mask(vk::AccessFlags2::TRANSFER_READ)];
        gpu.device.cmd_pipeline_barrier2(
            cmd,
            &vk::DependencyInfo::default().memory_barriers(&barrier),
        );
        gpu.device
            .cmd_copy_buffer(cmd, middle.raw(), readback.raw(), &region);
        let to_host = [vk::MemoryBarrier2::default()
            .src_stage_mask(vk::PipelineStageFlags2::COPY)
            .src_access_mask(vk::AccessFlags2::TRANSFER_WRITE)
            .dst_stage_mask(vk::PipelineStageFlags2::HOST)
            .dst_access_mask(vk::AccessFlags2::HOST_READ)];
        gpu.device.cmd_pipeline_barrier2(
            cmd,
            &vk::DependencyInfo::default().memory_barriers(&to_host),
        );
    });
    let back: Vec<u32> = alloc.read_vec(&readback).unwrap();
    assert_eq!(back, data);
    // SAFETY: the handles come from this allocator and no submitted work uses them.
    unsafe {
        alloc.destroy_buffer(upload);
        alloc.destroy_buffer(middle);
        alloc.destroy_buffer(readback);
    }
}

#[test]
fn map_gives_the_same_bytes_as_write() {
    let gpu = Gpu::new();
    let alloc = gpu.allocator();
    let mut buffer = alloc.create_buffer(&BufferDesc::staging(256)).unwrap();
    alloc.write(&mut buffer, 0, &[0xABu8; 256]).unwrap();
    {
        let mapping = alloc.map_buffer(&buffer).unwrap();
        assert_eq!(mapping.len(), 256);
        // SAFETY: the mapping covers 256 initialised bytes and lives through this borrow.
        let bytes = unsafe { std::slice::from_raw_parts(mapping.as_ptr(), 256) };
        assert!(bytes.iter().all(|&b| b == 0xAB));
        // Nested with the persistent mapping, and dropped (unmapped) here.
    }
    assert_eq!(
        buffer.host_access().map(|h| h.ptr.as_ptr()),
        Some(alloc.map_buffer(&buffer).unwrap().as_ptr())
    );
    // SAFETY: the handles come from this allocator and no submitted work uses them.
    unsafe { alloc.destroy_buffer(buffer) };
}

#[test]
fn host_access_outside_the_buffer_is_refused() {
    let gpu = Gpu::new();
    let alloc = gpu.allocator();
    let mut buffer = alloc.create_buffer(&BufferDesc::staging(64)).unwrap();
    let err = alloc.write(&mut buffer, 60, &[0u32; 2]).unwrap_err();
    assert!(
        matches!(
            err,
            Error::OutOfBounds {
                offset: 60,
                len: 8,
                size: 64
            }
        ),
        "{err}"
    );
    let err = alloc.write(&mut buffer, u64::MAX, &[0u8; 2]).unwrap_err();
    assert!(matches!(err, Error::OutOfBounds { .. }), "{err}");
    let mut out = [0u64; 9];
    let err = alloc.read(&buffer, 0, &mut out).unwrap_err();
    assert!(matches!(err, Error::OutOfBounds { len: 72, .. }), "{err}");
    let odd = alloc.create_buffer(&BufferDesc::staging(6)).unwrap();
    assert!(matches!(
        alloc.read_vec::<u32>(&odd),
        Err(Error::OutOfBounds { .. })
    ));
    // A mapping checks its own ranges too: a bad range must not reach VMA's assert.
    {
        let mapping = alloc.map_buffer(&buffer).unwrap();
        for (offset, len) in [(0, 65), (64, 1), (u64::MAX, 2), (1, u64::MAX)] {
            let err = mapping.flush(offset, len).unwrap_err();
            assert!(matches!(err, Error::OutOfBounds { .. }), "{err}");
            let err = mapping.invalidate(offset, len).unwrap_err();
            assert!(matches!(err, Error::OutOfBounds { .. }), "{err}");
        }
        mapping.flush(0, 64).unwrap();
        mapping.invalidate(60, 4).unwrap();
    }
    // Flushing memory the host cannot touch is an error, not a silent success.
    let gpu_only = alloc.create_buffer(&BufferDesc::vertex(64)).unwrap();
    let err = alloc.flush(&gpu_only, 0, 64).unwrap_err();
    assert!(matches!(err, Error::NotMappable { .. }), "{err}");
    let err = alloc.invalidate(&gpu_only, 0, 64).unwrap_err();
    assert!(matches!(err, Error::NotMappable { .. }), "{err}");
    // SAFETY: the handles come from this allocator and no submitted work uses them.
    unsafe {
        alloc.destroy_buffer(buffer);
        alloc.destroy_buffer(odd);
        alloc.destroy_buffer(gpu_only);
    }
}
