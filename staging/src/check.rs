//! Checks of resource states against the resource they are applied to, run before anything is
//! recorded.

use crate::target::ImageTarget;
use ash::vk;

use crate::access::{Access, ResourceState};
use crate::error::{Error, Result, StateRole};

/// The image usage an access's layout needs (VUID-VkImageMemoryBarrier2-oldLayout-01208 and its
/// neighbours: a barrier may name a layout only where the image has the matching usage), as the
/// usage bits of which at least one must be present, and their names.
fn layout_usage(layout: vk::ImageLayout) -> Option<(vk::ImageUsageFlags, &'static str)> {
    use vk::ImageUsageFlags as U;
    match layout {
        vk::ImageLayout::COLOR_ATTACHMENT_OPTIMAL => {
            Some((U::COLOR_ATTACHMENT, "COLOR_ATTACHMENT"))
        }
        vk::ImageLayout::DEPTH_STENCIL_ATTACHMENT_OPTIMAL
        | vk::ImageLayout::DEPTH_STENCIL_READ_ONLY_OPTIMAL => {
            Some((U::DEPTH_STENCIL_ATTACHMENT, "DEPTH_STENCIL_ATTACHMENT"))
        }
        vk::ImageLayout::SHADER_READ_ONLY_OPTIMAL => Some((
            U::SAMPLED | U::INPUT_ATTACHMENT,
            "SAMPLED or INPUT_ATTACHMENT",
        )),
        vk::ImageLayout::TRANSFER_SRC_OPTIMAL => Some((U::TRANSFER_SRC, "TRANSFER_SRC")),
        vk::ImageLayout::TRANSFER_DST_OPTIMAL => Some((U::TRANSFER_DST, "TRANSFER_DST")),
        _ => None,
    }
}

/// Checks that `state` names a queue family of the device (`queue_families` of them) or none.
pub(crate) fn queue_family(
    state: ResourceState,
    queue_families: u32,
    which: StateRole,
) -> Result<()> {
    let family = state.queue_family;
    if family != vk::QUEUE_FAMILY_IGNORED && family >= queue_families {
        return Err(Error::InvalidState {
            which,
            reason: format!(
                "queue family {family} does not exist; the device has {queue_families}"
            ),
        });
    }
    Ok(())
}

/// Checks the states a buffer goes from and to.
pub(crate) fn buffer_states(
    from: ResourceState,
    to: ResourceState,
    queue_families: u32,
) -> Result<()> {
    buffer_state(from, queue_families, StateRole::From)?;
    buffer_state(to, queue_families, StateRole::To)
}

/// Checks the states an image goes from and to: each as [`image_state`] does, and `to` is never
/// UNDEFINED (VUID-VkImageMemoryBarrier2-newLayout-01198: no transition into it).
pub(crate) fn image_states(
    image: &ImageTarget,
    from: ResourceState,
    to: ResourceState,
    queue_families: u32,
) -> Result<()> {
    image_state(image, from, queue_families, StateRole::From)?;
    if to.accesses.contains(Access::Nothing) {
        return Err(Error::InvalidState {
            which: StateRole::To,
            reason: "an image cannot be left in UNDEFINED (Access::Nothing); name its next use"
                .into(),
        });
    }
    image_state(image, to, queue_families, StateRole::To)
}

/// Refuses a set that combines discarding the contents ([`Access::Nothing`]) with a use of them.
fn no_discard_with_use(state: ResourceState, which: StateRole) -> Result<()> {
    if state.accesses.contains(Access::Nothing) && !state.accesses.is_nothing() {
        return Err(Error::InvalidState {
            which,
            reason: format!(
                "{:?} both discards the contents (Nothing) and uses them",
                state.accesses
            ),
        });
    }
    Ok(())
}

/// Checks a buffer's state: accesses that only images have (attachments, presentation) are
/// refused.
fn buffer_state(state: ResourceState, queue_families: u32, which: StateRole) -> Result<()> {
    no_discard_with_use(state, which)?;
    let image_only = state.accesses.iter().find(|a| {
        matches!(
            a,
            Access::Present
                | Access::Acquired
                | Access::ColorAttachmentWrite
                | Access::DepthStencilAttachmentWrite
                | Access::DepthStencilAttachmentRead
        )
    });
    if let Some(access) = image_only {
        return Err(Error::InvalidState {
            which,
            reason: format!("{access:?} is an image access; buffers are never in it"),
        });
    }
    queue_family(state, queue_families, which)
}

/// Checks an image's state: its queue family, that its accesses share a layout, and that the
/// image's usage allows each access's layout.
fn image_state(
    image: &ImageTarget,
    state: ResourceState,
    queue_families: u32,
    which: StateRole,
) -> Result<()> {
    queue_family(state, queue_families, which)?;
    no_discard_with_use(state, which)?;
    if let Some((first, second)) = state.accesses.layout_conflict() {
        return Err(Error::LayoutConflict {
            which,
            first,
            second,
        });
    }
    for access in state.accesses.iter() {
        if matches!(access, Access::Present | Access::Acquired) {
            return Err(Error::InvalidState {
                which,
                reason: "an allocator-made image is not a swapchain image; it is never presented"
                    .into(),
            });
        }
        let layout = access.info().layout;
        if layout == vk::ImageLayout::UNDEFINED && access != Access::Nothing {
            return Err(Error::InvalidState {
                which,
                reason: format!("{access:?} is a buffer access; images are never in it"),
            });
        }
        if let Some((needed, names)) = layout_usage(layout) {
            if !image.usage().intersects(needed) {
                return Err(Error::InvalidState {
                    which,
                    reason: format!(
                        "{access:?} ({layout:?}) needs {names} usage; the image has {:?}",
                        image.usage()
                    ),
                });
            }
        }
    }
    Ok(())
}

/// Refuses multisampled images for copies and blits.
pub(crate) fn single_sampled(image: &ImageTarget) -> Result<()> {
    if image.samples() != vk::SampleCountFlags::TYPE_1 {
        return Err(Error::Multisampled {
            samples: image.samples(),
        });
    }
    Ok(())
}

/// The number of queue families of `physical_device`.
///
/// # Safety
/// `physical_device` belongs to `instance`.
pub(crate) unsafe fn queue_family_count(
    instance: &ash::Instance,
    physical_device: vk::PhysicalDevice,
) -> u32 {
    // SAFETY: forwarded from this function's contract.
    unsafe { instance.get_physical_device_queue_family_properties(physical_device) }.len() as u32
}
