//! A render-graph planner: a pure function from declarations to the barriers, lifetimes, usage
//! and cross-queue edges a frame needs.
//!
//! A [`Graph`] declares transient images and buffers (which exist only inside the frame) and
//! imported ones (in the [`ResourceState`] their owner left them in, an upload's
//! [`Finished::state`](crate::Finished) say, including another queue family's release), and
//! passes in submission order, each on a queue family, with the access sets it makes to each
//! resource: whole images or ranges of levels and layers, whole buffers or byte ranges.
//!
//! [`Graph::transients`] reports each transient's lifetime (first and last pass) and the usage
//! flags its accesses need, for placement (`vkup_allocator::placement`, whose
//! `Placement::shares_bytes` says which transients share memory). [`Graph::plan`] then gives per
//! pass one [`BarrierBatch`] to record before it (acquires, layout changes, the take-over of
//! aliased memory) and one after it (releases to the family that uses a resource next), the
//! passes on other queues it must wait for (semaphore edges, as pass indices: the caller maps them
//! to timeline values), and the state each import is left in.
//!
//! Execution stays the caller's: it records the barriers and the pass bodies ([`Plan::execute`]
//! does it for one command buffer and owns nothing).
//!
//! Rules the planner follows:
//! - a transient's first use in a frame discards its contents and waits for every earlier access
//!   to its bytes: its own last access (the previous frame's, on the same queue) and the last
//!   accesses of every transient sharing its bytes; a barrier's first scope is every command
//!   submitted before it on the queue, so one barrier covers both;
//! - a resource whose next use is on another queue family is released after its last use on the
//!   old family and acquired before the new use, with a semaphore edge between the two passes
//!   (an import in an unowned state, `QUEUE_FAMILY_IGNORED`, gets the edge without a transfer);
//! - consecutive uses in one state on one queue need no barrier;
//! - a barrier names only accesses made on its own queue; accesses on other queues earlier in
//!   the frame are waited for through the semaphore edges, and the caller orders a frame after
//!   the previous frame's submissions on every other queue (the demo's first submission waits
//!   for the previous frames' compute work).

mod plan;
#[cfg(test)]
mod tests;
mod transients;

use std::ops::Range;

use ash::vk;

use crate::access::{Access, AccessSet, ResourceState};
use crate::barrier::BarrierBatch;
use crate::target::{BufferTarget, ImageTarget};

pub use transients::{PlacedTransients, TransientMemory};

/// An image of a [`Graph`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ImageId(u32);

/// A buffer of a [`Graph`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BufferId(u32);

impl ImageId {
    /// Its position among the graph's images, in declaration order.
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

impl BufferId {
    /// Its position among the graph's buffers, in declaration order.
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// An image or a buffer of a [`Graph`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Resource {
    /// An image.
    Image(ImageId),
    /// A buffer.
    Buffer(BufferId),
}

/// What a transient image is: its usage comes from the accesses the passes declare.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TransientImage {
    /// Texel format.
    pub format: vk::Format,
    /// Extent of level 0.
    pub extent: vk::Extent3D,
    /// Mip levels.
    pub mip_levels: u32,
    /// Array layers.
    pub array_layers: u32,
}

impl TransientImage {
    /// A 2D image of one level and one layer.
    pub fn new_2d(format: vk::Format, width: u32, height: u32) -> Self {
        Self {
            format,
            extent: vk::Extent3D {
                width,
                height,
                depth: 1,
            },
            mip_levels: 1,
            array_layers: 1,
        }
    }

    /// With `levels` mip levels.
    pub fn mip_levels(mut self, levels: u32) -> Self {
        self.mip_levels = levels;
        self
    }

    /// With `layers` array layers.
    pub fn array_layers(mut self, layers: u32) -> Self {
        self.array_layers = layers;
        self
    }

    /// The aspect its barriers and views name.
    pub fn aspect(&self) -> vk::ImageAspectFlags {
        aspect_of(self.format)
    }
}

/// The aspects of a whole-image barrier or view of `format`.
pub fn aspect_of(format: vk::Format) -> vk::ImageAspectFlags {
    use vk::Format as F;
    match format {
        F::D16_UNORM | F::X8_D24_UNORM_PACK32 | F::D32_SFLOAT => vk::ImageAspectFlags::DEPTH,
        F::S8_UINT => vk::ImageAspectFlags::STENCIL,
        F::D16_UNORM_S8_UINT | F::D24_UNORM_S8_UINT | F::D32_SFLOAT_S8_UINT => {
            vk::ImageAspectFlags::DEPTH | vk::ImageAspectFlags::STENCIL
        }
        _ => vk::ImageAspectFlags::COLOR,
    }
}

/// Levels and layers of an image a pass uses.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Subresources {
    /// Mip levels.
    pub levels: Range<u32>,
    /// Array layers.
    pub layers: Range<u32>,
}

impl Subresources {
    /// `levels` of every layer.
    pub fn levels(levels: Range<u32>) -> Self {
        Self {
            levels,
            layers: 0..u32::MAX,
        }
    }

    /// Of these, only `layers`.
    pub fn layers(mut self, layers: Range<u32>) -> Self {
        self.layers = layers;
        self
    }

    /// Every level and layer.
    pub fn all() -> Self {
        Self::levels(0..u32::MAX)
    }
}

/// Why declarations cannot be planned. Each names the pass and the resource by the names they
/// were declared with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum GraphError {
    /// An id that no declaration of this graph made.
    #[error("pass '{pass}' uses {resource:?}, which this graph did not declare")]
    Unknown {
        /// The pass.
        pass: String,
        /// The id.
        resource: Resource,
    },
    /// A transient read before any pass wrote it: its contents would be undefined.
    #[error("pass '{pass}' reads transient '{resource}' before any pass writes it")]
    ReadBeforeWrite {
        /// The pass.
        pass: String,
        /// The transient.
        resource: String,
    },
    /// One pass declares overlapping parts of an image in accesses that need different layouts
    /// (or one access set whose members do).
    #[error("pass '{pass}' uses image '{resource}' as {first:?} and as {second:?}, which need different layouts")]
    LayoutConflict {
        /// The pass.
        pass: String,
        /// The image.
        resource: String,
        /// One access.
        first: AccessSet,
        /// The other.
        second: AccessSet,
    },
    /// A declared range outside the resource.
    #[error("pass '{pass}' uses {what} of '{resource}', which it does not have")]
    OutOfRange {
        /// The pass.
        pass: String,
        /// The resource.
        resource: String,
        /// The levels and layers, or the bytes, asked for.
        what: String,
    },
    /// An access a pass cannot make (`Nothing`, `Present`, `Acquired`; image-only accesses of a
    /// buffer and buffer-only ones of an image).
    #[error("pass '{pass}' cannot use '{resource}' as {access:?}")]
    InvalidAccess {
        /// The pass.
        pass: String,
        /// The resource.
        resource: String,
        /// The access.
        access: AccessSet,
    },
    /// A final state asked of a transient, which does not outlive the frame.
    #[error("transient '{resource}' has no state after the frame; only imports are left in one")]
    FinalStateOnTransient {
        /// The transient.
        resource: String,
    },
    /// A transient that cannot exist: an empty extent or buffer, no levels or layers, more
    /// levels than its extent has, or more layers than [`MAX_TRANSIENT_LAYERS`].
    #[error("transient '{resource}' cannot be made: {reason}")]
    InvalidTransient {
        /// The transient.
        resource: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A transient used by a pass but given no handle at [`Graph::plan`].
    #[error("transient '{resource}' has no handle: bind the image or buffer placed for it")]
    Unbound {
        /// The transient.
        resource: String,
    },
}

/// The most array layers a transient image may declare (Vulkan guarantees 256
/// `maxImageArrayLayers`; devices report up to 2048): the planner tracks every subresource.
pub const MAX_TRANSIENT_LAYERS: u32 = 2048;

/// The result of planning.
pub type Result<T, E = GraphError> = std::result::Result<T, E>;

#[derive(Clone, Debug)]
enum ImageNode {
    Transient(TransientImage),
    Imported {
        target: ImageTarget,
        state: ResourceState,
    },
}

#[derive(Clone, Debug)]
enum BufferNode {
    Transient {
        size: u64,
    },
    Imported {
        target: BufferTarget,
        state: ResourceState,
    },
}

#[derive(Clone, Debug)]
struct PassNode {
    name: String,
    queue_family: u32,
    images: Vec<(ImageId, Subresources, AccessSet)>,
    buffers: Vec<(BufferId, Range<u64>, AccessSet)>,
}

/// One frame's declarations (see the module notes).
#[derive(Clone, Debug, Default)]
pub struct Graph {
    images: Vec<(String, ImageNode)>,
    buffers: Vec<(String, BufferNode)>,
    passes: Vec<PassNode>,
    leave_images: Vec<(ImageId, ResourceState)>,
    leave_buffers: Vec<(BufferId, ResourceState)>,
}

/// Declares what one pass uses (see [`Graph::pass`]).
pub struct PassBuilder<'g> {
    graph: &'g mut Graph,
    index: usize,
}

impl PassBuilder<'_> {
    /// The pass uses every level and layer of `image` as `accesses`.
    pub fn image(self, image: ImageId, accesses: impl Into<AccessSet>) -> Self {
        self.image_range(image, Subresources::all(), accesses)
    }

    /// The pass uses `subresources` of `image` as `accesses`.
    pub fn image_range(
        self,
        image: ImageId,
        subresources: Subresources,
        accesses: impl Into<AccessSet>,
    ) -> Self {
        self.graph.passes[self.index]
            .images
            .push((image, subresources, accesses.into()));
        self
    }

    /// The pass uses every byte of `buffer` as `accesses`.
    pub fn buffer(self, buffer: BufferId, accesses: impl Into<AccessSet>) -> Self {
        self.buffer_range(buffer, 0..u64::MAX, accesses)
    }

    /// The pass uses bytes `range` of `buffer` as `accesses`.
    pub fn buffer_range(
        self,
        buffer: BufferId,
        range: Range<u64>,
        accesses: impl Into<AccessSet>,
    ) -> Self {
        self.graph.passes[self.index]
            .buffers
            .push((buffer, range, accesses.into()));
        self
    }
}

/// A transient as placement needs it: its lifetime and the usage its accesses need.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TransientUse {
    /// The transient.
    pub resource: Resource,
    /// Its name.
    pub name: String,
    /// The first pass that uses it.
    pub first_pass: u32,
    /// The last pass that uses it (inclusive).
    pub last_pass: u32,
    /// What to create it as.
    pub kind: TransientKind,
}

/// What a transient is to be created as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TransientKind {
    /// An optimal-tiled image.
    Image {
        /// Its declaration.
        image: TransientImage,
        /// Every usage its accesses need.
        usage: vk::ImageUsageFlags,
    },
    /// A buffer.
    Buffer {
        /// Bytes.
        size: u64,
        /// Every usage its accesses need.
        usage: vk::BufferUsageFlags,
    },
}

/// The handles placed for a graph's transients (see [`Graph::plan`]). Raw handles: nothing here
/// checks them, so recording a plan built from them is `unsafe` ([`Plan::execute`],
/// [`BarrierBatch::record`]) with the duty that each was created as its transient declares
/// (on the device the plan is recorded on, with its levels and layers, or at least its bytes).
/// [`PlacedTransients::bindings`] gives handles that are.
#[derive(Clone, Debug, Default)]
pub struct Bindings {
    images: Vec<(ImageId, vk::Image)>,
    buffers: Vec<(BufferId, vk::Buffer)>,
}

impl Bindings {
    /// No handles yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// `raw` is the image placed for transient `id`.
    pub fn image(mut self, id: ImageId, raw: vk::Image) -> Self {
        self.images.push((id, raw));
        self
    }

    /// `raw` is the buffer placed for transient `id`.
    pub fn buffer(mut self, id: BufferId, raw: vk::Buffer) -> Self {
        self.buffers.push((id, raw));
        self
    }

    fn image_of(&self, id: ImageId) -> Option<vk::Image> {
        self.images.iter().find(|(i, _)| *i == id).map(|&(_, r)| r)
    }

    fn buffer_of(&self, id: BufferId) -> Option<vk::Buffer> {
        self.buffers.iter().find(|(i, _)| *i == id).map(|&(_, r)| r)
    }
}

/// What one pass needs around it.
#[derive(Debug, Default)]
pub struct PassPlan {
    /// The queue family it runs on.
    pub queue_family: u32,
    /// Recorded before the pass on its queue: acquires, transitions, take-overs, in one batch.
    pub before: BarrierBatch,
    /// Recorded right after the pass on its queue: releases to the family that uses a resource
    /// next, and the transitions that leave imports in their final states after their last use.
    pub after: BarrierBatch,
    /// Passes on other queues whose submissions this pass's waits for (each signals a value
    /// when done; wait for it with `ALL_COMMANDS`, so the acquire barriers chain to the wait).
    pub waits: Vec<usize>,
}

/// Barriers, edges and final states of a frame (see [`Graph::plan`]).
#[derive(Debug, Default)]
pub struct Plan {
    /// One per pass, in order.
    pub passes: Vec<PassPlan>,
    /// The state each imported resource is left in.
    pub final_states: Vec<(Resource, ResourceState)>,
}

/// Consecutive passes on one queue family, submitted together (see [`Plan::submissions`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Submission {
    /// The family whose queue runs it.
    pub queue_family: u32,
    /// Its passes, in order.
    pub passes: Range<usize>,
    /// Earlier submissions (indices into [`Plan::submissions`]) it waits for, on other families.
    pub waits: Vec<usize>,
    /// Whether a later submission waits for it (it must signal a value when done).
    pub signals: bool,
}

impl Plan {
    /// The passes grouped into submissions: each run of consecutive passes on one family is one,
    /// waiting for the submissions that hold the passes its passes wait for. Record a
    /// submission's passes (each `before`, body, `after`) into one command buffer and submit it
    /// after those it waits for have been submitted; wait with `ALL_COMMANDS`.
    pub fn submissions(&self) -> Vec<Submission> {
        let mut out: Vec<Submission> = Vec::new();
        let mut of_pass = Vec::with_capacity(self.passes.len());
        for (p, pass) in self.passes.iter().enumerate() {
            match out.last_mut() {
                Some(last) if last.queue_family == pass.queue_family => last.passes.end = p + 1,
                _ => out.push(Submission {
                    queue_family: pass.queue_family,
                    passes: p..p + 1,
                    waits: Vec::new(),
                    signals: false,
                }),
            }
            let current = out.len() - 1;
            of_pass.push(current);
            for &w in &pass.waits {
                let from = of_pass[w];
                if from != current && !out[current].waits.contains(&from) {
                    out[current].waits.push(from);
                }
            }
        }
        for i in 0..out.len() {
            let waits = out[i].waits.clone();
            for w in waits {
                out[w].signals = true;
            }
        }
        out
    }

    /// Whether another pass waits for pass `pass` (whose submission must then signal).
    pub fn signals(&self, pass: usize) -> bool {
        self.passes.iter().any(|p| p.waits.contains(&pass))
    }

    /// Records a single-queue frame into `cmd`: for each pass its `before` batch, then
    /// `record(pass index, cmd)`, then its `after` batch. The plan is taken by `&mut` because
    /// recording a batch empties it. Frames whose passes run on several queues record each queue's
    /// passes into its own command buffers, with the waits between submissions.
    ///
    /// # Safety
    /// As for [`BarrierBatch::record`]: `cmd` is recording on `device`, on the family of every
    /// pass; every resource the graph names is alive until the work completes, and each handle of
    /// the [`Bindings`] the plan was made with was created as its transient declares (levels,
    /// layers, bytes); imports are in the states they were declared in, and any release they need
    /// was recorded on the other queue and executes before this command buffer.
    pub unsafe fn execute<E>(
        &mut self,
        cmd: vk::CommandBuffer,
        device: &ash::Device,
        mut record: impl FnMut(usize, vk::CommandBuffer) -> std::result::Result<(), E>,
    ) -> std::result::Result<(), E> {
        for (index, pass) in self.passes.iter_mut().enumerate() {
            // SAFETY: forwarded from this function's contract.
            unsafe { pass.before.record(cmd, device) };
            record(index, cmd)?;
            // SAFETY: as above.
            unsafe { pass.after.record(cmd, device) };
        }
        Ok(())
    }
}

impl Graph {
    /// An empty graph.
    pub fn new() -> Self {
        Self::default()
    }

    /// Declares a transient image.
    pub fn transient_image(&mut self, name: impl Into<String>, image: TransientImage) -> ImageId {
        self.images.push((name.into(), ImageNode::Transient(image)));
        ImageId(self.images.len() as u32 - 1)
    }

    /// Declares a transient buffer of `size` bytes.
    pub fn transient_buffer(&mut self, name: impl Into<String>, size: u64) -> BufferId {
        self.buffers
            .push((name.into(), BufferNode::Transient { size }));
        BufferId(self.buffers.len() as u32 - 1)
    }

    /// Imports an image, every level and layer in `state`.
    pub fn import_image(
        &mut self,
        name: impl Into<String>,
        image: impl Into<ImageTarget>,
        state: ResourceState,
    ) -> ImageId {
        let target = image.into();
        self.images
            .push((name.into(), ImageNode::Imported { target, state }));
        ImageId(self.images.len() as u32 - 1)
    }

    /// Imports a buffer, every byte in `state`.
    pub fn import_buffer(
        &mut self,
        name: impl Into<String>,
        buffer: impl Into<BufferTarget>,
        state: ResourceState,
    ) -> BufferId {
        let target = buffer.into();
        self.buffers
            .push((name.into(), BufferNode::Imported { target, state }));
        BufferId(self.buffers.len() as u32 - 1)
    }

    /// Adds a pass on `queue_family` (passes are submitted in the order they are added, each
    /// queue's in that order).
    pub fn pass(&mut self, name: impl Into<String>, queue_family: u32) -> PassBuilder<'_> {
        self.passes.push(PassNode {
            name: name.into(),
            queue_family,
            images: Vec::new(),
            buffers: Vec::new(),
        });
        let index = self.passes.len() - 1;
        PassBuilder { graph: self, index }
    }

    /// Asks for imported `image` to be left in `state` after its last use (a state on another
    /// family is a release after that use; the acquire is the next owner's).
    pub fn leave_image(&mut self, image: ImageId, state: ResourceState) {
        self.leave_images.push((image, state));
    }

    /// Asks for imported `buffer` to be left in `state` after its last use.
    pub fn leave_buffer(&mut self, buffer: BufferId, state: ResourceState) {
        self.leave_buffers.push((buffer, state));
    }

    /// The name of pass `index`.
    pub fn pass_name(&self, index: usize) -> Option<&str> {
        self.passes.get(index).map(|p| p.name.as_str())
    }

    /// How many passes there are.
    pub fn pass_count(&self) -> usize {
        self.passes.len()
    }

    /// The queue family of pass `index`.
    pub fn pass_queue(&self, index: usize) -> Option<u32> {
        self.passes.get(index).map(|p| p.queue_family)
    }

    /// The declaration of transient image `id` (`None` for imports and unknown ids).
    pub fn transient_image_of(&self, id: ImageId) -> Option<TransientImage> {
        match self.images.get(id.index()) {
            Some((_, ImageNode::Transient(t))) => Some(*t),
            _ => None,
        }
    }

    /// The name `resource` was declared with.
    pub fn name_of(&self, resource: Resource) -> Option<&str> {
        match resource {
            Resource::Image(id) => self.images.get(id.index()).map(|(n, _)| n.as_str()),
            Resource::Buffer(id) => self.buffers.get(id.index()).map(|(n, _)| n.as_str()),
        }
    }
}

/// Image usage an access needs.
pub(crate) fn image_usage(access: Access) -> vk::ImageUsageFlags {
    use vk::ImageUsageFlags as U;
    match access {
        Access::TransferRead => U::TRANSFER_SRC,
        Access::TransferWrite => U::TRANSFER_DST,
        Access::VertexShaderSampledRead
        | Access::FragmentShaderSampledRead
        | Access::ComputeShaderSampledRead
        | Access::AnyShaderSampledRead => U::SAMPLED,
        Access::ComputeStorageRead
        | Access::ComputeStorageWrite
        | Access::ComputeStorageReadWrite => U::STORAGE,
        Access::ComputeGeneral => U::STORAGE | U::SAMPLED,
        Access::ColorAttachmentWrite => U::COLOR_ATTACHMENT,
        Access::DepthStencilAttachmentWrite | Access::DepthStencilAttachmentRead => {
            U::DEPTH_STENCIL_ATTACHMENT
        }
        _ => U::empty(),
    }
}

/// Buffer usage an access needs.
pub(crate) fn buffer_usage(access: Access) -> vk::BufferUsageFlags {
    use vk::BufferUsageFlags as U;
    match access {
        Access::TransferRead => U::TRANSFER_SRC,
        Access::TransferWrite => U::TRANSFER_DST,
        Access::VertexBuffer => U::VERTEX_BUFFER,
        Access::IndexBuffer => U::INDEX_BUFFER,
        Access::IndirectBuffer => U::INDIRECT_BUFFER,
        Access::UniformRead
        | Access::VertexShaderUniformRead
        | Access::FragmentShaderUniformRead
        | Access::ComputeShaderUniformRead => U::UNIFORM_BUFFER,
        Access::VertexShaderSampledRead
        | Access::FragmentShaderSampledRead
        | Access::ComputeShaderSampledRead
        | Access::AnyShaderSampledRead => U::UNIFORM_TEXEL_BUFFER,
        Access::ComputeStorageRead
        | Access::ComputeStorageWrite
        | Access::ComputeStorageReadWrite => U::STORAGE_BUFFER,
        _ => U::empty(),
    }
}

/// Whether a pass may make `access` of an image.
fn image_access_ok(access: Access) -> bool {
    !matches!(
        access,
        Access::Nothing
            | Access::Present
            | Access::Acquired
            | Access::HostRead
            | Access::HostWrite
            | Access::VertexBuffer
            | Access::IndexBuffer
            | Access::IndirectBuffer
            | Access::UniformRead
            | Access::VertexShaderUniformRead
            | Access::FragmentShaderUniformRead
            | Access::ComputeShaderUniformRead
    )
}

/// Whether a pass may make `access` of a buffer.
fn buffer_access_ok(access: Access) -> bool {
    !matches!(
        access,
        Access::Nothing
            | Access::Present
            | Access::Acquired
            | Access::HostRead
            | Access::HostWrite
            | Access::ColorAttachmentWrite
            | Access::DepthStencilAttachmentWrite
            | Access::DepthStencilAttachmentRead
            | Access::ComputeGeneral
    )
}
