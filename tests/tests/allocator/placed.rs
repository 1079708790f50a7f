use ash::vk;
use gpu_tests::Gpu;
use vkup_allocator::{BufferDesc, Error, ImageDesc, MemoryDesc, MemoryIntent};

fn target(width: u32, height: u32) -> ImageDesc<'static> {
    ImageDesc::new_2d(vk::Format::R8G8B8A8_UNORM, width, height)
        .usage(vk::ImageUsageFlags::COLOR_ATTACHMENT | vk::ImageUsageFlags::TRANSFER_SRC)
}

#[test]
fn two_images_share_one_block_of_memory_and_are_destroyed_apart_from_it() {
    let gpu = Gpu::new();
    let alloc = gpu.allocator();
    let a = target(256, 256);
    let b = target(128, 512);
    let (ra, rb) = (
        alloc.image_requirements(&a).unwrap(),
        alloc.image_requirements(&b).unwrap(),
    );
    assert!(ra.size >= 256 * 256 * 4 && rb.size >= 128 * 512 * 4);
    let size = ra.size.max(rb.size);
    let requirements = vk::MemoryRequirements {
        size,
        alignment: ra.alignment.max(rb.alignment),
        memory_type_bits: ra.memory_type_bits & rb.memory_type_bits,
    };
    let live = alloc.live_allocations().unwrap();
    let memory = alloc
        .allocate_memory(&MemoryDesc::new(requirements, MemoryIntent::Transient).name("transients"))
        .unwrap();
    assert_eq!(
        alloc.live_allocations().unwrap(),
        live + 1,
        "one allocation, whatever is placed in it"
    );
    // Both at offset 0: a graph would give them disjoint lifetimes.
    let first = alloc.create_placed_image(&a, &memory, 0).unwrap();
    let second = alloc.create_placed_image(&b, &memory, 0).unwrap();
    assert_eq!(first.info().extent.width, 256);
    let staging_buffer = alloc
        .buffer_requirements(&BufferDesc::new(4096, vk::BufferUsageFlags::STORAGE_BUFFER))
        .unwrap();
    assert!(staging_buffer.size >= 4096);
    assert_eq!(alloc.live_allocations().unwrap(), live + 1);
    // SAFETY: no GPU work uses them; resources before their memory.
    unsafe {
        alloc.destroy_placed_image(first);
        alloc.destroy_placed_image(second);
        alloc.free_memory(memory);
    }
    assert_eq!(alloc.live_allocations().unwrap(), live);
}

#[test]
fn placed_resources_that_do_not_fit_are_refused_before_anything_is_created() {
    let gpu = Gpu::new();
    let alloc = gpu.allocator();
    let desc = BufferDesc::new(1000, vk::BufferUsageFlags::STORAGE_BUFFER);
    let req = alloc.buffer_requirements(&desc).unwrap();
    let memory = alloc
        .allocate_memory(&MemoryDesc::new(
            vk::MemoryRequirements { size: 4096, ..req },
            MemoryIntent::GpuOnly,
        ))
        .unwrap();
    let live = alloc.live_allocations().unwrap();
    if req.alignment > 1 {
        let err = alloc.create_placed_buffer(&desc, &memory, 1).unwrap_err();
        assert!(
            matches!(err, Error::MisalignedOffset { offset: 1, .. }),
            "{err}"
        );
    }
    let last = (4096 - req.size + req.alignment) / req.alignment * req.alignment;
    let err = alloc
        .create_placed_buffer(&desc, &memory, last)
        .unwrap_err();
    assert!(matches!(err, Error::PastEndOfMemory { .. }), "{err}");
    let err = alloc
        .create_placed_buffer(
            &BufferDesc::new(0, vk::BufferUsageFlags::STORAGE_BUFFER),
            &memory,
            0,
        )
        .unwrap_err();
    assert_eq!(err.field(), Some("size"), "{err}");
    let err = alloc
        .allocate_memory(&MemoryDesc::new(
            vk::MemoryRequirements { size: 0, ..req },
            MemoryIntent::GpuOnly,
        ))
        .unwrap_err();
    assert_eq!(err.field(), Some("size"), "{err}");
    let err = alloc
        .allocate_memory(&MemoryDesc::new(
            vk::MemoryRequirements {
                alignment: 3,
                ..req
            },
            MemoryIntent::GpuOnly,
        ))
        .unwrap_err();
    assert_eq!(err.field(), Some("alignment"), "{err}");
    let err = alloc
        .allocate_memory(&MemoryDesc::new(req, MemoryIntent::Upload))
        .unwrap_err();
    assert_eq!(err.field(), Some("memory"), "{err}");
    assert_eq!(
        alloc.live_allocations().unwrap(),
        live,
        "nothing was left behind"
    );
    let fits = alloc.create_placed_buffer(&desc, &memory, 0).unwrap();
    // SAFETY: unused; the buffer before its memory.
    unsafe {
        alloc.destroy_placed_buffer(fits);
        alloc.free_memory(memory);
    }
}
