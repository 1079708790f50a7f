//! Resource states: what a render graph says about a buffer or image between passes.
//!
//! An [`Access`] names one way a pass uses a resource and maps to the synchronization2 stage and
//! access masks and the image layout that use needs. A [`ResourceState`] adds the queue family that
//! owns the resource. Every recording function of this crate takes the state a resource is in and
//! the state the caller wants it left in, and returns the state it left it in, so passes chain
//! without guessing. The table is written here, not taken from a crate: the vk-sync crates on
//! crates.io predate synchronization2.

use ash::vk;

/// One way a pass uses a resource.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Access {
    /// Not used yet, or its contents may be discarded (`UNDEFINED` layout).
    Nothing,
    /// Source of a copy or blit.
    TransferRead,
    /// Destination of a copy, blit or clear.
    TransferWrite,
    /// Read by the host after the GPU is done (readback).
    HostRead,
    /// Written by the host.
    HostWrite,
    /// Vertex buffer binding.
    VertexBuffer,
    /// Index buffer binding.
    IndexBuffer,
    /// Indirect draw or dispatch arguments.
    IndirectBuffer,
    /// Uniform buffer read by any shader stage.
    UniformRead,
    /// Sampled image or uniform texel buffer read in the vertex shader.
    VertexShaderSampledRead,
    /// Sampled image read in the fragment shader.
    FragmentShaderSampledRead,
    /// Sampled image read in a compute shader.
    ComputeShaderSampledRead,
    /// Sampled image read by any shader stage.
    AnyShaderSampledRead,
    /// Storage buffer or image read in a compute shader.
    ComputeStorageRead,
    /// Storage buffer or image written in a compute shader.
    ComputeStorageWrite,
    /// Storage buffer or image read and written in a compute shader.
    ComputeStorageReadWrite,
    /// Image sampled, read and written as storage by a compute shader, in `GENERAL`: a kernel
    /// that gathers from the levels it also stores to (the mip downsampler).
    ComputeGeneral,
    /// Colour attachment written (and blended).
    ColorAttachmentWrite,
    /// Depth/stencil attachment tested and written.
    DepthStencilAttachmentWrite,
    /// Depth/stencil attachment tested, not written.
    DepthStencilAttachmentRead,
    /// Handed to the presentation engine (`PRESENT_SRC_KHR`). As a source state it names the
    /// stage the acquire semaphore is waited at, `COLOR_ATTACHMENT_OUTPUT`, so the first barrier
    /// after `vkAcquireNextImageKHR` chains to that wait (an empty source scope would not: the
    /// layout transition could run before the presentation engine lets go of the image).
    Present,
    /// A swapchain image just acquired whose contents may be discarded (`UNDEFINED`): like
    /// [`Access::Present`], its barrier waits on `COLOR_ATTACHMENT_OUTPUT`, where the caller waits
    /// on the acquire semaphore. Use it for an image's first use after acquiring it (it may never
    /// have been presented, so its layout may still be `UNDEFINED`).
    Acquired,
    /// Any access, `GENERAL` layout: a catch-all for passes this table does not describe.
    General,
}

/// The synchronization2 terms of an [`Access`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AccessInfo {
    /// Pipeline stages that perform the access.
    pub stage: vk::PipelineStageFlags2,
    /// Memory accesses they perform.
    pub access: vk::AccessFlags2,
    /// The layout an image must be in (ignored for buffers).
    pub layout: vk::ImageLayout,
}

impl Access {
    /// Every access, for code that sweeps the table (tests, tools).
    pub const ALL: [Access; 23] = [
        Self::Nothing,
        Self::TransferRead,
        Self::TransferWrite,
        Self::HostRead,
        Self::HostWrite,
        Self::VertexBuffer,
        Self::IndexBuffer,
        Self::IndirectBuffer,
        Self::UniformRead,
        Self::VertexShaderSampledRead,
        Self::FragmentShaderSampledRead,
        Self::ComputeShaderSampledRead,
        Self::AnyShaderSampledRead,
        Self::ComputeStorageRead,
        Self::ComputeStorageWrite,
        Self::ComputeStorageReadWrite,
        Self::ComputeGeneral,
        Self::ColorAttachmentWrite,
        Self::DepthStencilAttachmentWrite,
        Self::DepthStencilAttachmentRead,
        Self::Present,
        Self::Acquired,
        Self::General,
    ];

    /// Stage, access and layout of this access.
    pub const fn info(self) -> AccessInfo {
        use vk::AccessFlags2 as A;
        use vk::ImageLayout as L;
        use vk::PipelineStageFlags2 as S;
        let (stage, access, layout) = match self {
            Self::Nothing => (S::NONE, A::NONE, L::UNDEFINED),
            // All transfer stages (copy, blit, resolve, clear): synchronization2 splits them, and a
            // barrier naming COPY alone would not order a blit.
            Self::TransferRead => (S::ALL_TRANSFER, A::TRANSFER_READ, L::TRANSFER_SRC_OPTIMAL),
            Self::TransferWrite => (S::ALL_TRANSFER, A::TRANSFER_WRITE, L::TRANSFER_DST_OPTIMAL),
            Self::HostRead => (S::HOST, A::HOST_READ, L::GENERAL),
            Self::HostWrite => (S::HOST, A::HOST_WRITE, L::GENERAL),
            Self::VertexBuffer => (
                S::VERTEX_ATTRIBUTE_INPUT,
                A::VERTEX_ATTRIBUTE_READ,
                L::UNDEFINED,
            ),
            Self::IndexBuffer => (S::INDEX_INPUT, A::INDEX_READ, L::UNDEFINED),
            Self::IndirectBuffer => (S::DRAW_INDIRECT, A::INDIRECT_COMMAND_READ, L::UNDEFINED),
            Self::UniformRead => (S::ALL_COMMANDS, A::UNIFORM_READ, L::UNDEFINED),
            Self::VertexShaderSampledRead => (
                S::VERTEX_SHADER,
                A::SHADER_SAMPLED_READ,
                L::SHADER_READ_ONLY_OPTIMAL,
            ),
            Self::FragmentShaderSampledRead => (
                S::FRAGMENT_SHADER,
                A::SHADER_SAMPLED_READ,
                L::SHADER_READ_ONLY_OPTIMAL,
            ),
            Self::ComputeShaderSampledRead => (
                S::COMPUTE_SHADER,
                A::SHADER_SAMPLED_READ,
                L::SHADER_READ_ONLY_OPTIMAL,
            ),
            Self::AnyShaderSampledRead => (
                S::ALL_COMMANDS,
                A::SHADER_SAMPLED_READ,
                L::SHADER_READ_ONLY_OPTIMAL,
            ),
            Self::ComputeStorageRead => (S::COMPUTE_SHADER, A::SHADER_STORAGE_READ, L::GENERAL),
            Self::ComputeStorageWrite => (S::COMPUTE_SHADER, A::SHADER_STORAGE_WRITE, L::GENERAL),
            Self::ComputeStorageReadWrite => (
                S::COMPUTE_SHADER,
                A::from_raw(A::SHADER_STORAGE_READ.as_raw() | A::SHADER_STORAGE_WRITE.as_raw()),
                L::GENERAL,
            ),
            Self::ComputeGeneral => (
                S::COMPUTE_SHADER,
                A::from_raw(
                    A::SHADER_SAMPLED_READ.as_raw()
                        | A::SHADER_STORAGE_READ.as_raw()
                        | A::SHADER_STORAGE_WRITE.as_raw(),
                ),
                L::GENERAL,
            ),
            Self::ColorAttachmentWrite => (
                S::COLOR_ATTACHMENT_OUTPUT,
                A::from_raw(A::COLOR_ATTACHMENT_READ.as_raw() | A::COLOR_ATTACHMENT_WRITE.as_raw()),
                L::COLOR_ATTACHMENT_OPTIMAL,
            ),
            Self::DepthStencilAttachmentWrite => (
                S::from_raw(S::EARLY_FRAGMENT_TESTS.as_raw() | S::LATE_FRAGMENT_TESTS.as_raw()),
                A::from_raw(
                    A::DEPTH_STENCIL_ATTACHMENT_READ.as_raw()
                        | A::DEPTH_STENCIL_ATTACHMENT_WRITE.as_raw(),
                ),
                L::DEPTH_STENCIL_ATTACHMENT_OPTIMAL,
            ),
            Self::DepthStencilAttachmentRead => (
                S::from_raw(S::EARLY_FRAGMENT_TESTS.as_raw() | S::LATE_FRAGMENT_TESTS.as_raw()),
                A::DEPTH_STENCIL_ATTACHMENT_READ,
                L::DEPTH_STENCIL_READ_ONLY_OPTIMAL,
            ),
            // Presentation needs no memory dependency of its own: the semaphore given to
            // vkQueuePresentKHR orders it (Vulkan spec, "Synchronization with the presentation
            // engine"). The stage is the one the acquire semaphore is waited at, so a barrier
            // from this state chains to that wait (semaphore waits only cover the stages named).
            Self::Present => (S::COLOR_ATTACHMENT_OUTPUT, A::NONE, L::PRESENT_SRC_KHR),
            Self::Acquired => (S::COLOR_ATTACHMENT_OUTPUT, A::NONE, L::UNDEFINED),
            Self::General => (
                S::ALL_COMMANDS,
                A::from_raw(A::MEMORY_READ.as_raw() | A::MEMORY_WRITE.as_raw()),
                L::GENERAL,
            ),
        };
        AccessInfo {
            stage,
            access,
            layout,
        }
    }

    /// Whether the access writes memory (and so needs its writes made available to what follows).
    pub const fn is_write(self) -> bool {
        matches!(
            self,
            Self::TransferWrite
                | Self::HostWrite
                | Self::ComputeStorageWrite
                | Self::ComputeStorageReadWrite
                | Self::ComputeGeneral
                | Self::ColorAttachmentWrite
                | Self::DepthStencilAttachmentWrite
                | Self::General
        )
    }
}

/// The state a resource is in between passes: how it was last used, and which queue family owns
/// it (`vk::QUEUE_FAMILY_IGNORED` where ownership does not matter: exclusive resources used on one
/// family, or contents that may be discarded).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ResourceState {
    /// The last (or next) access.
    pub access: Access,
    /// The owning queue family.
    pub queue_family: u32,
}

impl ResourceState {
    /// A resource whose contents do not matter: freshly created, or about to be overwritten whole.
    pub const UNDEFINED: Self = Self::new(Access::Nothing);

    /// A state with no queue-family ownership attached.
    pub const fn new(access: Access) -> Self {
        Self {
            access,
            queue_family: vk::QUEUE_FAMILY_IGNORED,
        }
    }

    /// The same access, owned by `queue_family`.
    pub const fn on_queue(self, queue_family: u32) -> Self {
        Self {
            queue_family,
            ..self
        }
    }

    /// Whether moving from `self` to `to` hands the resource to another queue family.
    pub fn transfers_ownership_to(self, to: Self) -> bool {
        self.queue_family != vk::QUEUE_FAMILY_IGNORED
            && to.queue_family != vk::QUEUE_FAMILY_IGNORED
            && self.queue_family != to.queue_family
    }
}

impl From<Access> for ResourceState {
    fn from(access: Access) -> Self {
        Self::new(access)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_carry_a_write_access_flag_and_reads_do_not() {
        let write_bits = vk::AccessFlags2::TRANSFER_WRITE
            | vk::AccessFlags2::HOST_WRITE
            | vk::AccessFlags2::SHADER_STORAGE_WRITE
            | vk::AccessFlags2::COLOR_ATTACHMENT_WRITE
            | vk::AccessFlags2::DEPTH_STENCIL_ATTACHMENT_WRITE
            | vk::AccessFlags2::MEMORY_WRITE;
        for access in Access::ALL {
            let info = access.info();
            assert_eq!(
                access.is_write(),
                info.access.intersects(write_bits),
                "{access:?}"
            );
        }
    }

    #[test]
    fn accesses_with_memory_traffic_name_a_stage() {
        for access in Access::ALL {
            let info = access.info();
            if !info.access.is_empty() {
                assert!(!info.stage.is_empty(), "{access:?}");
            }
        }
    }

    #[test]
    fn swapchain_states_wait_where_the_acquire_semaphore_is_waited() {
        // The first barrier after acquiring an image must chain to the semaphore wait, whose
        // scope is COLOR_ATTACHMENT_OUTPUT: an empty (NONE) source scope would not.
        for access in [Access::Present, Access::Acquired] {
            assert_eq!(
                access.info().stage,
                vk::PipelineStageFlags2::COLOR_ATTACHMENT_OUTPUT,
                "{access:?}"
            );
        }
        let masks =
            crate::image_masks(Access::Acquired.into(), Access::ColorAttachmentWrite.into())
                .expect("a layout change");
        assert_eq!(
            masks.src_stage,
            vk::PipelineStageFlags2::COLOR_ATTACHMENT_OUTPUT
        );
        assert_eq!(masks.old_layout, vk::ImageLayout::UNDEFINED);
        assert_eq!(masks.src_access, vk::AccessFlags2::NONE);
    }

    #[test]
    fn ownership_moves_only_between_two_named_families() {
        let graphics = ResourceState::new(Access::FragmentShaderSampledRead).on_queue(0);
        let transfer = ResourceState::new(Access::TransferWrite).on_queue(2);
        assert!(transfer.transfers_ownership_to(graphics));
        assert!(!transfer.transfers_ownership_to(graphics.on_queue(2)));
        assert!(!ResourceState::UNDEFINED.transfers_ownership_to(graphics));
    }
}
