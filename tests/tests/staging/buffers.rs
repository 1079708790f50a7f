use ash::vk;
use gpu_tests::Gpu;
use vkup_allocator::{BufferDesc, MemoryIntent};
use vkup_staging::{Access, BufferUpload, Progress, ResourceState, StagingRing, UploadPath};

use crate::{pattern, read_back};

#[test]
fn staged_upload_through_a_ring_smaller_than_the_data_round_trips() {
    let gpu = Gpu::new();
    let alloc = gpu.allocator();
    let stager = gpu.stager(&alloc);
    let mut submitter = gpu.submitter();
    let mut ring = StagingRing::new(&alloc, 256 * 1024).unwrap();
    let data = pattern(3 * 1024 * 1024 + 17, 1);
    let usage = vk::BufferUsageFlags::VERTEX_BUFFER
        | vk::BufferUsageFlags::TRANSFER_DST
        | vk::BufferUsageFlags::TRANSFER_SRC;
    let mut buffer = alloc
        .create_buffer(&BufferDesc::new(data.len() as u64 + 100, usage))
        .unwrap();
    let mut upload = BufferUpload::new(
        &mut buffer,
        100,
        &data,
        ResourceState::UNDEFINED,
        Access::VertexBuffer.into(),
    )
    .unwrap()
    .path(UploadPath::Staged);
    let mut records = 0;
    // SAFETY: the closure records on the submitter's queue; everything outlives `run`.
    let finished = unsafe {
        submitter.run(&mut ring, |cmd, ring| {
            records += 1;
            assert!(!upload.is_finished(), "finished before its last record");
            upload.record(cmd, &stager, &alloc, ring)
        })
    }
    .unwrap();
    assert!(upload.is_finished());
    assert_eq!(finished.state, Access::VertexBuffer.into());
    assert!(finished.acquire.is_empty());
    assert!(
        records > 12,
        "3 MiB through 64 KiB batches takes many submissions: {records}"
    );
    assert!(ring.high_water() <= ring.capacity());
    let back = read_back(&gpu, &alloc, &buffer, Access::VertexBuffer);
    assert_eq!(&back[100..], &data[..]);
    // SAFETY: everything submitted has completed.
    unsafe {
        submitter.destroy().unwrap();
        ring.destroy(&alloc);
        alloc.destroy_buffer(buffer);
    }
}

#[test]
fn direct_upload_writes_mappable_memory_and_records_nothing() {
    let gpu = Gpu::new();
    let alloc = gpu.allocator();
    let stager = gpu.stager(&alloc);
    let mut ring = StagingRing::new(&alloc, 64 * 1024).unwrap();
    let data: Vec<u32> = (0..50_000).collect();
    let usage = vk::BufferUsageFlags::VERTEX_BUFFER | vk::BufferUsageFlags::TRANSFER_SRC;
    let mut buffer = alloc
        .create_buffer(&BufferDesc::new(200_000, usage).memory(MemoryIntent::CpuToGpu))
        .unwrap();
    // UNDEFINED says the contents may be discarded, not that the GPU is done reading them: Auto
    // stages. Only a host-side state picks the direct write.
    let undefined = BufferUpload::from_pod(
        &mut buffer,
        0,
        &data,
        ResourceState::UNDEFINED,
        Access::VertexBuffer.into(),
    )
    .unwrap()
    .resolved_path();
    assert_eq!(undefined, UploadPath::Staged);
    let mut upload = BufferUpload::from_pod(
        &mut buffer,
        0,
        &data,
        Access::HostWrite.into(),
        Access::VertexBuffer.into(),
    )
    .unwrap();
    assert_eq!(upload.resolved_path(), UploadPath::Direct);
    // SAFETY: the buffer is new, so no GPU work touches it; nothing is recorded into the null
    // command buffer on the direct path.
    let progress =
        unsafe { upload.record(vk::CommandBuffer::null(), &stager, &alloc, &mut ring) }.unwrap();
    assert!(matches!(progress, Progress::Done(ref f) if f.state == Access::VertexBuffer.into()));
    assert_eq!(ring.in_use(), 0, "the direct path uses no staging memory");
    // Read back through the GPU, so the test sees what the device sees.
    let back = read_back(&gpu, &alloc, &buffer, Access::VertexBuffer);
    assert_eq!(back, bytemuck::cast_slice::<u32, u8>(&data));
    // SAFETY: nothing is pending.
    unsafe {
        ring.destroy(&alloc);
        alloc.destroy_buffer(buffer);
    }
}

/// Auto writes a host-owned mappable buffer directly up to 32 MiB and stages larger uploads
/// where the buffer takes copies (staging is faster there); without `TRANSFER_DST` it writes
/// directly at any size, the only way in.
#[test]
fn auto_stages_large_uploads_into_mappable_buffers_that_take_copies() {
    let gpu = Gpu::new();
    let alloc = gpu.allocator();
    let limit = 32usize << 20;
    let data = vec![7u8; limit + 4];
    let host = ResourceState::from(Access::HostWrite);
    let vertex = ResourceState::from(Access::VertexBuffer);
    for (usage, len, want) in [
        (
            vk::BufferUsageFlags::TRANSFER_DST,
            limit,
            UploadPath::Direct,
        ),
        (
            vk::BufferUsageFlags::TRANSFER_DST,
            limit + 4,
            UploadPath::Staged,
        ),
        (vk::BufferUsageFlags::empty(), limit + 4, UploadPath::Direct),
    ] {
        let buffer = alloc
            .create_buffer(
                &BufferDesc::new(
                    data.len() as u64,
                    usage | vk::BufferUsageFlags::VERTEX_BUFFER,
                )
                .memory(MemoryIntent::CpuToGpu),
            )
            .unwrap();
        let got = BufferUpload::new(&buffer, 0, &data[..len], host, vertex)
            .unwrap()
            .resolved_path();
        assert_eq!(got, want, "{len} bytes, usage {usage:?}");
        // SAFETY: nothing was recorded.
        unsafe { alloc.destroy_buffer(buffer) };
    }
}

#[test]
fn both_paths_agree_on_a_mappable_buffer() {
    let gpu = Gpu::new();
    let alloc = gpu.allocator();
    let stager = gpu.stager(&alloc);
    let mut submitter = gpu.submitter();
    let mut ring = StagingRing::new(&alloc, 1 << 20).unwrap();
    let usage = vk::BufferUsageFlags::STORAGE_BUFFER
        | vk::BufferUsageFlags::TRANSFER_DST
        | vk::BufferUsageFlags::TRANSFER_SRC;
    for (seed, path) in [(2, UploadPath::Direct), (3, UploadPath::Staged)] {
        let data = pattern(300_001, seed);
        let mut buffer = alloc
            .create_buffer(&BufferDesc::new(300_001, usage).memory(MemoryIntent::CpuToGpu))
            .unwrap();
        let mut upload = BufferUpload::new(
            &mut buffer,
            0,
            &data,
            ResourceState::UNDEFINED,
            Access::ComputeStorageRead.into(),
        )
        .unwrap()
        .path(path);
        // SAFETY: recording on the submitter's queue; the buffer is new.
        let _ = unsafe {
            submitter.run(&mut ring, |cmd, ring| {
                upload.record(cmd, &stager, &alloc, ring)
            })
        }
        .unwrap();
        let back = read_back(&gpu, &alloc, &buffer, Access::ComputeStorageRead);
        assert!(back == data, "{path:?} path bytes differ");
        // SAFETY: completed.
        unsafe { alloc.destroy_buffer(buffer) };
    }
    // SAFETY: completed.
    unsafe {
        submitter.destroy().unwrap();
        ring.destroy(&alloc);
    }
}

#[test]
fn bad_buffer_uploads_are_refused_before_recording() {
    let gpu = Gpu::new();
    let alloc = gpu.allocator();
    let mut buffer = alloc
        .create_buffer(&BufferDesc::new(64, vk::BufferUsageFlags::VERTEX_BUFFER))
        .unwrap();
    let data = [0u8; 65];
    let err = BufferUpload::new(
        &mut buffer,
        0,
        &data,
        ResourceState::UNDEFINED,
        Access::VertexBuffer.into(),
    )
    .unwrap_err();
    assert!(
        matches!(
            err,
            vkup_staging::Error::InvalidSource {
                field: "dst_offset",
                ..
            }
        ),
        "{err}"
    );
    // GpuOnly and without TRANSFER_DST: neither path can reach it, known at construction.
    let err = BufferUpload::new(
        &mut buffer,
        0,
        &data[..8],
        ResourceState::UNDEFINED,
        Access::VertexBuffer.into(),
    )
    .unwrap_err();
    assert!(
        matches!(
            err,
            vkup_staging::Error::MissingBufferUsage {
                needed: vk::BufferUsageFlags::TRANSFER_DST
            }
        ),
        "{err}"
    );
    // SAFETY: nothing was submitted.
    unsafe { alloc.destroy_buffer(buffer) };
}
