//! The blit chain: one `vkCmdBlitImage2` per level, linear filtering.

use ash::vk;

use super::{Levels, MipGenerator};
use crate::access::{Access, ResourceState};
use crate::barrier::BarrierBatch;
use crate::target::ImageTarget;
use crate::upload::Finished;

impl MipGenerator {
    /// Records the chain over `range`.
    ///
    /// # Safety
    /// As for [`MipGenerator::record`], with the blit refusal checked.
    pub(super) unsafe fn record_blits(
        &self,
        cmd: vk::CommandBuffer,
        image: &ImageTarget,
        range: Levels,
        from: ResourceState,
        to: ResourceState,
    ) -> Finished {
        let device = &self.device;
        let raw = image.raw();
        let (base, levels) = (range.base, range.end);
        let family = from.queue_family;
        let read = ResourceState::new(Access::TransferRead).on_queue(family);
        let write = ResourceState::new(Access::TransferWrite).on_queue(family);
        let mut batch = BarrierBatch::new();
        let mut acquire = BarrierBatch::new();
        Self::enter(
            &mut batch,
            &mut acquire,
            image,
            range,
            (from, to),
            (read, write),
        );
        // SAFETY: recording on this device (caller's contract); every barrier names this image.
        unsafe { batch.record(cmd, device) };
        let corner = |e: vk::Extent3D| vk::Offset3D {
            x: e.width as i32,
            y: e.height as i32,
            z: e.depth as i32,
        };
        for level in base + 1..levels {
            let layers = |mip_level| vk::ImageSubresourceLayers {
                aspect_mask: vk::ImageAspectFlags::COLOR,
                mip_level,
                base_array_layer: 0,
                layer_count: image.array_layers(),
            };
            let region = [vk::ImageBlit2::default()
                .src_subresource(layers(level - 1))
                .src_offsets([
                    vk::Offset3D::default(),
                    corner(image.level_extent(level - 1)),
                ])
                .dst_subresource(layers(level))
                .dst_offsets([vk::Offset3D::default(), corner(image.level_extent(level))])];
            let info = vk::BlitImageInfo2::default()
                .src_image(raw)
                .src_image_layout(vk::ImageLayout::TRANSFER_SRC_OPTIMAL)
                .dst_image(raw)
                .dst_image_layout(vk::ImageLayout::TRANSFER_DST_OPTIMAL)
                .regions(&region)
                .filter(vk::Filter::LINEAR);
            // SAFETY: level - 1 is in TRANSFER_SRC, level in TRANSFER_DST (barriers above and
            // below); extents are each level's own, never zero.
            unsafe { device.cmd_blit_image2(cmd, &info) };
            if level + 1 < levels {
                batch.image_local(raw, Self::range(image, level, 1), write, read);
                // SAFETY: as above.
                unsafe { batch.record(cmd, device) };
            }
        }
        // Everything read so far ends in `to`, and so does the last level written.
        let last = levels - 1;
        if last > base {
            batch.image(
                raw,
                Self::range(image, base, last - base),
                read,
                to,
                &mut acquire,
            );
            batch.image(raw, Self::range(image, last, 1), write, to, &mut acquire);
        } else {
            batch.image(raw, Self::range(image, base, 1), read, to, &mut acquire);
        }
        // SAFETY: as above.
        unsafe { batch.record(cmd, device) };
        Finished { state: to, acquire }
    }
}
