//! Uploads copied straight from the caller's host memory imported once
//! (`VK_EXT_external_memory_host`): read back exact, and every misuse refused by name.

use std::alloc::Layout;
use std::ptr::NonNull;

use ash::vk;
use gpu_tests::Gpu;
use vkup_allocator::{BufferDesc, Error as AllocError, ImageDesc, MipLevels};
use vkup_staging::{
    packed_layouts, Access, BufferUpload, Error, ImageUpload, ResourceState, StagingRing,
};

use crate::pattern;

/// Host memory of `len` bytes aligned to `align`, freed on drop.
struct Aligned {
    ptr: NonNull<u8>,
    layout: Layout,
}

impl Aligned {
    fn new(len: usize, align: usize) -> Self {
        let layout = Layout::from_size_align(len, align).unwrap();
        // SAFETY: a non-zero size.
        let ptr = NonNull::new(unsafe { std::alloc::alloc_zeroed(layout) }).unwrap();
        Self { ptr, layout }
    }

    fn bytes(&mut self) -> &mut [u8] {
        // SAFETY: allocated above with this length, borrowed mutably through `self`.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr(), self.layout.size()) }
    }
}

impl Drop for Aligned {
    fn drop(&mut self) {
        // SAFETY: allocated with this layout.
        unsafe { std::alloc::dealloc(self.ptr.as_ptr(), self.layout) };
    }
}

#[test]
fn uploads_copied_from_imported_host_memory_read_back_exact() {
    let gpu = Gpu::new();
    assert!(
        gpu.external_memory_host,
        "the device lacks VK_EXT_external_memory_host (lavapipe and the H200 have it)"
    );
    let alloc = gpu.allocator();
    let align = alloc.host_import_alignment().unwrap() as usize;
    let image = alloc
        .create_image(
            &ImageDesc::new_2d(vk::Format::R8G8B8A8_UNORM, 61, 33)
                .mip_levels(MipLevels::Full)
                .usage(
                    vk::ImageUsageFlags::SAMPLED
                        | vk::ImageUsageFlags::TRANSFER_DST
                        | vk::ImageUsageFlags::TRANSFER_SRC,
                ),
        )
        .unwrap();
    let (_, image_len) = packed_layouts(&image, image.mip_levels()).unwrap();
    let buffer_len = 100_003usize;
    // The pack: the image's levels at offset 4096, the buffer's bytes after them.
    let at = 4096usize;
    let len = (at + image_len as usize + buffer_len).next_multiple_of(align);
    let mut pack = Aligned::new(len, align);
    let data = pattern(len, 77);
    pack.bytes().copy_from_slice(&data);
    // SAFETY: the pack stays allocated until the import is destroyed below, and nothing writes
    // it meanwhile.
    let import = unsafe {
        alloc.import_host_memory(pack.ptr, len as u64, vk::BufferUsageFlags::TRANSFER_SRC)
    }
    .unwrap();
    let bytes = &data[..];
    // SAFETY: as above; `pack` outlives every borrow of it here.
    let pack_bytes = unsafe { std::slice::from_raw_parts(pack.ptr.as_ptr(), len) };
    let image_bytes = &pack_bytes[at..at + image_len as usize];
    let buffer_bytes = &pack_bytes[at + image_len as usize..][..buffer_len];
    let target = alloc
        .create_buffer(&BufferDesc::new(
            buffer_len as u64,
            vk::BufferUsageFlags::TRANSFER_DST | vk::BufferUsageFlags::TRANSFER_SRC,
        ))
        .unwrap();
    let stager = gpu.stager(&alloc);
    let mut submitter = gpu.submitter();
    // A ring far smaller than the upload: the import needs none of it.
    let mut ring = StagingRing::new(&alloc, 4096).unwrap();
    let sampled = ResourceState::new(Access::FragmentShaderSampledRead);
    let read = ResourceState::new(Access::TransferRead);
    let mut image_upload = ImageUpload::packed(
        &stager,
        &image,
        image_bytes,
        image.mip_levels(),
        ResourceState::UNDEFINED,
        sampled,
    )
    .unwrap()
    .imported(&import)
    .unwrap();
    let mut buffer_upload =
        BufferUpload::new(&target, 0, buffer_bytes, ResourceState::UNDEFINED, read)
            .unwrap()
            .imported(&import)
            .unwrap();
    // SAFETY: recording on the submitter's queue; image, buffer, import and ring outlive `run`.
    unsafe {
        let done = submitter
            .run(&mut ring, |cmd, ring| {
                image_upload.record(cmd, &stager, &alloc, ring)
            })
            .unwrap();
        assert_eq!(done.state, sampled);
        let done = submitter
            .run(&mut ring, |cmd, ring| {
                buffer_upload.record(cmd, &stager, &alloc, ring)
            })
            .unwrap();
        assert_eq!(done.state, read);
    }
    assert_eq!(ring.high_water(), 0, "nothing went through the ring");
    let mut readbacks = (None, None);
    // SAFETY: as above.
    unsafe {
        let _ = submitter
            .run(&mut ring, |cmd, _| {
                let (r, _) = stager.record_image_readback(cmd, &alloc, &image, sampled, sampled)?;
                readbacks.0 = Some(r);
                let (r, done) = stager.record_buffer_readback(
                    cmd,
                    &alloc,
                    &target,
                    0..buffer_len as u64,
                    read,
                    read,
                )?;
                readbacks.1 = Some(r);
                Ok(vkup_staging::Progress::Done(done))
            })
            .unwrap();
    }
    let (mut image_back, mut buffer_back) = (readbacks.0.unwrap(), readbacks.1.unwrap());
    // SAFETY: `run` waited for the copies.
    unsafe {
        image_back.submitted(submitter.timeline(), submitter.last_value());
        buffer_back.submitted(submitter.timeline(), submitter.last_value());
    }
    let mut got = Vec::new();
    for level in 0..image.mip_levels() {
        got.extend(
            image_back
                .read(&alloc, submitter.timeline(), level, 0)
                .unwrap(),
        );
    }
    assert!(
        got == bytes[at..at + image_len as usize],
        "the image differs"
    );
    let got = buffer_back.read(&alloc, submitter.timeline()).unwrap();
    assert!(
        got == bytes[at + image_len as usize..][..buffer_len],
        "the buffer differs"
    );

    // A 3D image (slices read in place) and a block-compressed array, from one more pack.
    let shapes = [
        ImageDesc::new_3d(vk::Format::R8G8B8A8_UNORM, 9, 7, 5).mip_levels(MipLevels::Full),
        ImageDesc::new_2d(vk::Format::BC7_SRGB_BLOCK, 36, 20)
            .array_layers(2)
            .mip_levels(MipLevels::Full),
    ];
    for (i, desc) in shapes.into_iter().enumerate() {
        let image = alloc
            .create_image(&desc.clone().usage(
                vk::ImageUsageFlags::SAMPLED
                    | vk::ImageUsageFlags::TRANSFER_DST
                    | vk::ImageUsageFlags::TRANSFER_SRC,
            ))
            .unwrap();
        let (layouts, len) = packed_layouts(&image, image.mip_levels()).unwrap();
        let mut pack = Aligned::new((len as usize + 64).next_multiple_of(align), align);
        let data = pattern(len as usize, 90 + i as u64);
        pack.bytes()[64..64 + len as usize].copy_from_slice(&data);
        // SAFETY: as above: the pack outlives the import, nothing writes it meanwhile.
        let import = unsafe {
            alloc.import_host_memory(
                pack.ptr,
                pack.layout.size() as u64,
                vk::BufferUsageFlags::TRANSFER_SRC,
            )
        }
        .unwrap();
        // SAFETY: as above.
        let bytes = unsafe { std::slice::from_raw_parts(pack.ptr.as_ptr().add(64), len as usize) };
        let mut upload = ImageUpload::packed(
            &stager,
            &image,
            bytes,
            image.mip_levels(),
            ResourceState::UNDEFINED,
            sampled,
        )
        .unwrap()
        .imported(&import)
        .unwrap();
        let mut readback = None;
        // SAFETY: as above; the readback is recorded after the upload in the same command
        // buffer, ordered by the upload's closing barrier.
        unsafe {
            let _ = submitter
                .run(&mut ring, |cmd, ring| {
                    let done = upload.record(cmd, &stager, &alloc, ring)?;
                    assert!(matches!(done, vkup_staging::Progress::Done(_)));
                    let (r, done) =
                        stager.record_image_readback(cmd, &alloc, &image, sampled, sampled)?;
                    readback = Some(r);
                    Ok(vkup_staging::Progress::Done(done))
                })
                .unwrap();
        }
        let mut readback = readback.unwrap();
        // SAFETY: `run` waited.
        unsafe { readback.submitted(submitter.timeline(), submitter.last_value()) };
        for l in &layouts {
            let got = readback
                .read(&alloc, submitter.timeline(), l.level, l.layer)
                .unwrap();
            assert!(
                got == data[l.offset as usize..][..got.len()],
                "{:?} level {} layer {}",
                desc.format(),
                l.level,
                l.layer
            );
        }
        // SAFETY: completed; the pack outlives the import.
        unsafe {
            readback.destroy(&alloc);
            alloc.destroy_image(image);
            alloc.destroy_host_import(import).unwrap();
        }
    }

    // Misuse, each refused before anything is recorded.
    let outside = vec![0u8; 64];
    let refused = BufferUpload::new(&target, 0, &outside, ResourceState::UNDEFINED, read)
        .unwrap()
        .imported(&import);
    assert!(matches!(
        refused,
        Err(Error::InvalidSource {
            field: "import",
            ..
        })
    ));
    let odd = ImageUpload::packed(
        &stager,
        &image,
        &pack_bytes[at + 1..at + 1 + image_len as usize],
        image.mip_levels(),
        ResourceState::UNDEFINED,
        sampled,
    )
    .unwrap()
    .imported(&import);
    match odd {
        Err(Error::InvalidSource { reason, .. }) => {
            assert!(reason.contains("multiple of 4"), "{reason}")
        }
        other => panic!(
            "an unaligned level was not refused: {:?}",
            other.map(|_| ())
        ),
    }
    // SAFETY: a misaligned address: refused before the driver sees it.
    let misaligned = unsafe {
        alloc.import_host_memory(
            NonNull::new(pack.ptr.as_ptr().wrapping_add(1)).unwrap(),
            align as u64,
            vk::BufferUsageFlags::TRANSFER_SRC,
        )
    };
    assert!(matches!(
        misaligned,
        Err(AllocError::InvalidDesc { field: "ptr", .. })
    ));
    // SAFETY: as above, for the length.
    let short = unsafe {
        alloc.import_host_memory(
            pack.ptr,
            align as u64 - 1,
            vk::BufferUsageFlags::TRANSFER_SRC,
        )
    };
    assert!(matches!(
        short,
        Err(AllocError::InvalidDesc { field: "len", .. })
    ));
    // An allocator that was not told the extension is on refuses to import.
    let plain = gpu.allocator_with(&gpu.allocator_desc().external_memory_host(false));
    assert!(plain.host_import_alignment().is_none());
    // SAFETY: refused before anything is made.
    let unsupported = unsafe {
        plain.import_host_memory(pack.ptr, len as u64, vk::BufferUsageFlags::TRANSFER_SRC)
    };
    assert!(matches!(unsupported, Err(AllocError::Unsupported { .. })));
    // SAFETY: every submission has completed; the pack outlives the import.
    unsafe {
        image_back.destroy(&alloc);
        buffer_back.destroy(&alloc);
        submitter.destroy().unwrap();
        ring.destroy(&alloc);
        alloc.destroy_image(image);
        alloc.destroy_buffer(target);
        alloc.destroy_host_import(import).unwrap();
    }
    drop(pack);
}
