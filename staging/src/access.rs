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
    /// Uniform buffer read by any shader stage (all commands: prefer the per-stage reads below,
    /// in an [`AccessSet`] where several stages read it).
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
    /// Uniform buffer read by the vertex shader (with [`AccessSet`], a uniform buffer read by
    /// several stages names each instead of [`Access::UniformRead`]'s all-commands stage).
    VertexShaderUniformRead,
    /// Uniform buffer read by the fragment shader.
    FragmentShaderUniformRead,
    /// Uniform buffer read by a compute shader.
    ComputeShaderUniformRead,
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
    pub const ALL: [Access; 26] = [
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
        Self::VertexShaderUniformRead,
        Self::FragmentShaderUniformRead,
        Self::ComputeShaderUniformRead,
    ];

    /// Position in [`Access::ALL`] (and bit in an [`AccessSet`]): the declaration order, which
    /// `ALL` follows (tested).
    const fn index(self) -> u32 {
        self as u32
    }

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
            Self::VertexShaderUniformRead => (S::VERTEX_SHADER, A::UNIFORM_READ, L::UNDEFINED),
            Self::FragmentShaderUniformRead => (S::FRAGMENT_SHADER, A::UNIFORM_READ, L::UNDEFINED),
            Self::ComputeShaderUniformRead => (S::COMPUTE_SHADER, A::UNIFORM_READ, L::UNDEFINED),
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

/// Several accesses of one resource at once: a texture sampled by the vertex and the fragment
/// shader, a depth buffer tested read-only and sampled in the same pass, a buffer read as
/// vertices and as storage. Its stages and access masks are the union of its members'; an image
/// in it is in the one layout they share ([`AccessSet::layout`]). Made from an [`Access`]
/// (`Access::X.into()`) or by `|`: `Access::VertexShaderSampledRead |
/// Access::FragmentShaderSampledRead`.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct AccessSet {
    /// One bit per member, by position in [`Access::ALL`]; never empty.
    bits: u32,
}

impl AccessSet {
    /// The set holding `access` alone.
    pub const fn of(access: Access) -> Self {
        Self {
            bits: 1 << access.index(),
        }
    }

    /// The set with `access` added.
    #[must_use]
    pub const fn with(self, access: Access) -> Self {
        Self {
            bits: self.bits | Self::of(access).bits,
        }
    }

    /// Whether `access` is a member.
    pub const fn contains(self, access: Access) -> bool {
        self.bits & Self::of(access).bits != 0
    }

    /// The member, when there is exactly one.
    pub fn only(self) -> Option<Access> {
        let mut members = self.iter();
        match (members.next(), members.next()) {
            (Some(access), None) => Some(access),
            _ => None,
        }
    }

    /// The members, in the order of [`Access::ALL`].
    pub fn iter(self) -> impl Iterator<Item = Access> {
        Access::ALL
            .into_iter()
            .filter(move |&access| self.contains(access))
    }

    /// Whether every member satisfies `pred`.
    pub fn all(self, pred: impl Fn(Access) -> bool) -> bool {
        self.iter().all(pred)
    }

    /// Whether any member writes memory.
    pub fn is_write(self) -> bool {
        self.iter().any(Access::is_write)
    }

    /// Whether the set is [`Access::Nothing`] alone: contents that may be discarded.
    pub fn is_nothing(self) -> bool {
        self == Self::of(Access::Nothing)
    }

    /// The union of the members' stages and access masks, in the layout [`AccessSet::layout`]
    /// answers (`GENERAL` where the members share none: the stage and access masks stay exact,
    /// and the recording functions refuse such a set for an image before it reaches a barrier).
    pub fn info(self) -> AccessInfo {
        let (stage, access) = self.iter().fold(
            (vk::PipelineStageFlags2::NONE, vk::AccessFlags2::NONE),
            |(stage, access), member| {
                let info = member.info();
                (stage | info.stage, access | info.access)
            },
        );
        AccessInfo {
            stage,
            access,
            layout: self.layout().unwrap_or(vk::ImageLayout::GENERAL),
        }
    }

    /// The image layout every member can be performed in: their common layout, or
    /// `DEPTH_STENCIL_READ_ONLY_OPTIMAL` for read-only depth/stencil testing with sampling (the
    /// spec allows sampling in it). `None` when two members need different layouts, or when
    /// [`Access::Nothing`] (contents discarded) is combined with a use of the contents.
    pub fn layout(self) -> Option<vk::ImageLayout> {
        if self.contains(Access::Nothing) && !self.is_nothing() {
            return None;
        }
        let mut layouts = self.iter().map(|access| access.info().layout);
        let first = layouts.next()?;
        layouts.try_fold(first, shared_layout)
    }

    /// Two members that need different image layouts, if any (for error reports).
    pub fn layout_conflict(self) -> Option<(Access, Access)> {
        let members: Vec<Access> = self.iter().collect();
        members.iter().enumerate().find_map(|(i, &a)| {
            members[i + 1..]
                .iter()
                .find(|&&b| Self::of(a).with(b).layout().is_none())
                .map(|&b| (a, b))
        })
    }
}

impl std::fmt::Debug for AccessSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

impl From<Access> for AccessSet {
    fn from(access: Access) -> Self {
        Self::of(access)
    }
}

impl std::ops::BitOr<Access> for AccessSet {
    type Output = AccessSet;
    fn bitor(self, access: Access) -> AccessSet {
        self.with(access)
    }
}

impl std::ops::BitOr for Access {
    type Output = AccessSet;
    fn bitor(self, other: Access) -> AccessSet {
        AccessSet::of(self).with(other)
    }
}

impl PartialEq<Access> for AccessSet {
    fn eq(&self, access: &Access) -> bool {
        *self == Self::of(*access)
    }
}

/// The layout two accesses can both be performed in, if any: their own when it is the same, and
/// `DEPTH_STENCIL_READ_ONLY_OPTIMAL` for read-only depth/stencil testing with sampling.
fn shared_layout(a: vk::ImageLayout, b: vk::ImageLayout) -> Option<vk::ImageLayout> {
    use vk::ImageLayout as L;
    match (a, b) {
        _ if a == b => Some(a),
        (L::DEPTH_STENCIL_READ_ONLY_OPTIMAL, L::SHADER_READ_ONLY_OPTIMAL)
        | (L::SHADER_READ_ONLY_OPTIMAL, L::DEPTH_STENCIL_READ_ONLY_OPTIMAL) => {
            Some(L::DEPTH_STENCIL_READ_ONLY_OPTIMAL)
        }
        _ => None,
    }
}

/// The state a resource is in between passes: how it was last used (one access, or several at
/// once), and which queue family owns it (`vk::QUEUE_FAMILY_IGNORED` where ownership does not
/// matter: exclusive resources used on one family, or contents that may be discarded).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ResourceState {
    /// The last (or next) accesses.
    pub accesses: AccessSet,
    /// The owning queue family.
    pub queue_family: u32,
}

impl ResourceState {
    /// A resource whose contents do not matter: freshly created, or about to be overwritten whole.
    pub const UNDEFINED: Self = Self {
        accesses: AccessSet::of(Access::Nothing),
        queue_family: vk::QUEUE_FAMILY_IGNORED,
    };

    /// A state with no queue-family ownership attached: one access, or a set of them.
    pub fn new(accesses: impl Into<AccessSet>) -> Self {
        Self {
            accesses: accesses.into(),
            queue_family: vk::QUEUE_FAMILY_IGNORED,
        }
    }

    /// The same accesses, owned by `queue_family`.
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

impl From<AccessSet> for ResourceState {
    fn from(accesses: AccessSet) -> Self {
        Self::new(accesses)
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
    fn every_access_has_its_own_bit_in_the_order_of_all() {
        for (i, access) in Access::ALL.into_iter().enumerate() {
            assert_eq!(access.index() as usize, i, "{access:?}");
            assert_eq!(AccessSet::of(access).only(), Some(access));
        }
    }

    /// Access sets: stages and masks are the union, the layout the shared one; read-only depth
    /// testing with sampling shares DEPTH_STENCIL_READ_ONLY_OPTIMAL; every pair whose layouts
    /// differ otherwise is a conflict, and discarding contents combines with nothing.
    #[test]
    fn access_sets_take_the_union_and_the_shared_layout_or_name_the_conflict() {
        use vk::ImageLayout as L;
        let both_stages = Access::VertexShaderSampledRead | Access::FragmentShaderSampledRead;
        let info = both_stages.info();
        assert_eq!(
            info.stage,
            vk::PipelineStageFlags2::VERTEX_SHADER | vk::PipelineStageFlags2::FRAGMENT_SHADER
        );
        assert_eq!(info.access, vk::AccessFlags2::SHADER_SAMPLED_READ);
        assert_eq!(both_stages.layout(), Some(L::SHADER_READ_ONLY_OPTIMAL));
        assert!(!both_stages.is_write() && both_stages.only().is_none());
        let depth = Access::DepthStencilAttachmentRead | Access::FragmentShaderSampledRead;
        assert_eq!(depth.layout(), Some(L::DEPTH_STENCIL_READ_ONLY_OPTIMAL));
        assert_eq!(
            depth.info().access,
            vk::AccessFlags2::DEPTH_STENCIL_ATTACHMENT_READ | vk::AccessFlags2::SHADER_SAMPLED_READ
        );
        let conflict = Access::TransferRead | Access::FragmentShaderSampledRead;
        assert_eq!(conflict.layout(), None);
        assert_eq!(
            conflict.layout_conflict(),
            Some((Access::TransferRead, Access::FragmentShaderSampledRead))
        );
        assert_eq!((Access::Nothing | Access::TransferRead).layout(), None);
        // Every pair: a conflict exactly when the layouts differ, bar the depth/sampled pair.
        for a in Access::ALL {
            for b in Access::ALL {
                let pair = a | b;
                let (la, lb) = (a.info().layout, b.info().layout);
                let shared = la == lb
                    || matches!(
                        (la, lb),
                        (
                            L::DEPTH_STENCIL_READ_ONLY_OPTIMAL,
                            L::SHADER_READ_ONLY_OPTIMAL
                        ) | (
                            L::SHADER_READ_ONLY_OPTIMAL,
                            L::DEPTH_STENCIL_READ_ONLY_OPTIMAL
                        )
                    );
                let nothing = (a == Access::Nothing) != (b == Access::Nothing);
                assert_eq!(pair.layout().is_some(), shared && !nothing, "{a:?} {b:?}");
                assert_eq!(pair.is_write(), a.is_write() || b.is_write());
                assert_eq!(pair.info().stage, a.info().stage | b.info().stage);
            }
        }
    }

    /// A uniform buffer read by two stages waits on exactly those, not on all commands.
    #[test]
    fn a_uniform_buffer_read_in_two_stages_names_the_two_stages() {
        let uniforms =
            ResourceState::new(Access::VertexShaderUniformRead | Access::FragmentShaderUniformRead);
        let masks = crate::buffer_masks(uniforms, Access::TransferWrite.into()).expect("a WAR");
        assert_eq!(
            masks.src_stage,
            vk::PipelineStageFlags2::VERTEX_SHADER | vk::PipelineStageFlags2::FRAGMENT_SHADER
        );
        assert_eq!(
            masks.src_access,
            vk::AccessFlags2::NONE,
            "reads make nothing available"
        );
        assert_eq!(masks.dst_stage, vk::PipelineStageFlags2::ALL_TRANSFER);
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
