//! A small frame graph: passes declare the images and buffers they use in the staging crate's
//! [`Access`] vocabulary, and the graph derives every barrier from those declarations.
//!
//! - Imported resources (the scene's uploaded textures and buffers, the output image, the
//!   swapchain image) come in the [`ResourceState`] their owner last left them in, staging's
//!   [`vkup_staging::Finished::state`] for uploads. When that state names another queue family, the
//!   graph records the acquire half of the ownership transfer (the release was recorded on the
//!   other queue). The caller says which state each import must be left in.
//! - Transient images exist only inside the frame. The graph reports each one's lifetime (first
//!   and last pass) and usage; [`crate::transients::Transients`] places them in shared memory by
//!   lifetime. A transient's first use in a frame discards its contents (`UNDEFINED`) and waits
//!   for every earlier access to its bytes: its own last access in the previous frame, and the
//!   last accesses of every transient that shares any of its bytes (staging's
//!   [`vkup_staging::BarrierBatch::image_over_aliases`]). A pipeline barrier's first scope is every
//!   command submitted before it on the queue, so one barrier covers both this frame's earlier
//!   tenants and the previous frame's later ones.
//! - Between passes, each resource goes from the state the previous use left it in to the state
//!   the next use declares; staging decides whether that needs a barrier, and the barriers of
//!   one pass go out as one `vkCmdPipelineBarrier2`.
//!
//! Planning ([`Graph::plan_with`]) is a pure function of the declarations and of which transients
//! share bytes, tested without a GPU below.

use anyhow::{bail, Result};
use ash::vk;
use vkup_staging::{Access, AccessSet, BarrierBatch, ResourceState};

/// An image of the graph.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ImageId(pub usize);

/// A buffer of the graph.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct BufferId(pub usize);

/// An image the graph creates for one frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TransientImage {
    pub name: &'static str,
    pub format: vk::Format,
    pub extent: vk::Extent2D,
}

impl TransientImage {
    /// The aspect its views and barriers name.
    pub fn aspect(&self) -> vk::ImageAspectFlags {
        aspect_of(self.format)
    }

    /// Its one level and layer.
    pub fn range(&self) -> vk::ImageSubresourceRange {
        vk::ImageSubresourceRange {
            aspect_mask: self.aspect(),
            base_mip_level: 0,
            level_count: 1,
            base_array_layer: 0,
            layer_count: 1,
        }
    }
}

/// The aspect of a whole-image barrier or view of `format`.
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

#[derive(Clone, Copy, Debug)]
enum ImageNode {
    Transient(TransientImage),
    Imported {
        image: vk::Image,
        range: vk::ImageSubresourceRange,
        state: ResourceState,
    },
}

#[derive(Clone, Copy, Debug)]
struct BufferNode {
    buffer: vk::Buffer,
    state: ResourceState,
}

#[derive(Clone, Debug)]
struct PassNode {
    name: &'static str,
    images: Vec<(ImageId, Access)>,
    buffers: Vec<(BufferId, Access)>,
}

/// One frame's declarations.
#[derive(Clone, Debug)]
pub struct Graph {
    queue_family: u32,
    images: Vec<ImageNode>,
    buffers: Vec<BufferNode>,
    passes: Vec<PassNode>,
    leave: Vec<(ImageId, ResourceState)>,
}

/// A transient as the allocation side needs it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TransientUse {
    pub id: ImageId,
    pub image: TransientImage,
    /// Every usage its accesses need.
    pub usage: vk::ImageUsageFlags,
    pub first_pass: u32,
    pub last_pass: u32,
}

/// One barrier the plan asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// An image moves between two states (with the acquire half of an ownership transfer when
    /// the families differ).
    Image {
        image: ImageId,
        from: ResourceState,
        to: ResourceState,
    },
    /// A transient's first use in the frame: contents discarded, after `previous`, the last
    /// accesses of everything that used its bytes before.
    TakeOver {
        image: ImageId,
        previous: Vec<Access>,
        to: ResourceState,
    },
    /// A buffer moves between two states.
    Buffer {
        buffer: BufferId,
        from: ResourceState,
        to: ResourceState,
    },
}

/// The barriers of a frame: before each pass, and after the last one (imports left in the
/// states asked for).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Plan {
    pub before: Vec<Vec<Step>>,
    pub after: Vec<Step>,
    /// The state each imported image is left in.
    pub images_left: Vec<(ImageId, ResourceState)>,
}

/// Builder of one pass's declarations.
pub struct PassBuilder<'g> {
    graph: &'g mut Graph,
    index: usize,
}

impl PassBuilder<'_> {
    /// The pass uses `image` as `access`.
    pub fn image(self, image: ImageId, access: Access) -> Self {
        self.graph.passes[self.index].images.push((image, access));
        self
    }

    /// The pass uses `buffer` as `access`.
    pub fn buffer(self, buffer: BufferId, access: Access) -> Self {
        self.graph.passes[self.index].buffers.push((buffer, access));
        self
    }
}

/// Usage bits an image needs for `access`.
fn usage_for(access: Access) -> vk::ImageUsageFlags {
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
        Access::ComputeGeneral => U::from_raw(U::STORAGE.as_raw() | U::SAMPLED.as_raw()),
        Access::ColorAttachmentWrite => U::COLOR_ATTACHMENT,
        Access::DepthStencilAttachmentWrite | Access::DepthStencilAttachmentRead => {
            U::DEPTH_STENCIL_ATTACHMENT
        }
        _ => U::empty(),
    }
}

impl Graph {
    /// An empty graph whose passes run on `queue_family`.
    pub fn new(queue_family: u32) -> Self {
        Self {
            queue_family,
            images: Vec::new(),
            buffers: Vec::new(),
            passes: Vec::new(),
            leave: Vec::new(),
        }
    }

    /// Declares a transient image.
    pub fn transient(&mut self, image: TransientImage) -> ImageId {
        self.images.push(ImageNode::Transient(image));
        ImageId(self.images.len() - 1)
    }

    /// Imports an image in `state`.
    pub fn import_image(
        &mut self,
        image: vk::Image,
        range: vk::ImageSubresourceRange,
        state: ResourceState,
    ) -> ImageId {
        self.images.push(ImageNode::Imported {
            image,
            range,
            state,
        });
        ImageId(self.images.len() - 1)
    }

    /// Imports a buffer in `state`.
    pub fn import_buffer(&mut self, buffer: vk::Buffer, state: ResourceState) -> BufferId {
        self.buffers.push(BufferNode { buffer, state });
        BufferId(self.buffers.len() - 1)
    }

    /// Adds a pass (passes run in the order they are added).
    pub fn pass(&mut self, name: &'static str) -> PassBuilder<'_> {
        self.passes.push(PassNode {
            name,
            images: Vec::new(),
            buffers: Vec::new(),
        });
        let index = self.passes.len() - 1;
        PassBuilder { graph: self, index }
    }

    /// Asks for imported `image` to be left in `access` after the last pass.
    pub fn leave(&mut self, image: ImageId, access: Access) {
        self.leave.push((image, ResourceState::new(access)));
    }

    /// The name of pass `index`.
    pub fn pass_name(&self, index: usize) -> &'static str {
        self.passes.get(index).map_or("?", |p| p.name)
    }

    /// How many passes there are.
    pub fn pass_count(&self) -> usize {
        self.passes.len()
    }

    /// The transient image `id` (`None` for imports and unknown ids).
    pub fn transient_image(&self, id: ImageId) -> Option<TransientImage> {
        match self.images.get(id.0) {
            Some(ImageNode::Transient(t)) => Some(*t),
            _ => None,
        }
    }

    /// Checks the declarations: known ids, one use of an image per pass, transients written
    /// before they are read, final states only for imports.
    fn check(&self) -> Result<()> {
        let mut first_use: Vec<Option<Access>> = vec![None; self.images.len()];
        for pass in &self.passes {
            for (n, &(id, access)) in pass.images.iter().enumerate() {
                let Some(node) = self.images.get(id.0) else {
                    bail!("pass '{}' uses unknown image {}", pass.name, id.0);
                };
                if pass.images[..n].iter().any(|&(other, _)| other == id) {
                    bail!("pass '{}' declares image {} twice", pass.name, id.0);
                }
                if matches!(access, Access::Nothing | Access::Present | Access::Acquired) {
                    bail!("pass '{}' cannot use an image as {access:?}", pass.name);
                }
                if let ImageNode::Transient(t) = node {
                    if first_use[id.0].is_none() && !access.is_write() {
                        bail!(
                            "pass '{}' reads transient '{}' before any pass writes it",
                            pass.name,
                            t.name
                        );
                    }
                }
                first_use[id.0].get_or_insert(access);
            }
            for &(id, _) in &pass.buffers {
                if id.0 >= self.buffers.len() {
                    bail!("pass '{}' uses unknown buffer {}", pass.name, id.0);
                }
            }
        }
        for &(id, _) in &self.leave {
            if !matches!(self.images.get(id.0), Some(ImageNode::Imported { .. })) {
                bail!(
                    "only imported images have a state to be left in (image {})",
                    id.0
                );
            }
        }
        Ok(())
    }

    /// The transients the passes use, with their lifetimes and usage (unused ones are left out:
    /// nothing needs creating for them).
    pub fn transients(&self) -> Result<Vec<TransientUse>> {
        self.check()?;
        let mut uses: Vec<TransientUse> = Vec::new();
        for (p, pass) in self.passes.iter().enumerate() {
            for &(id, access) in &pass.images {
                let ImageNode::Transient(image) = self.images[id.0] else {
                    continue;
                };
                match uses.iter_mut().find(|u| u.id == id) {
                    Some(u) => {
                        u.usage |= usage_for(access);
                        u.last_pass = p as u32;
                    }
                    None => uses.push(TransientUse {
                        id,
                        image,
                        usage: usage_for(access),
                        first_pass: p as u32,
                        last_pass: p as u32,
                    }),
                }
            }
        }
        uses.sort_by_key(|u| u.id);
        Ok(uses)
    }

    /// The state `access` has on this graph's queue, for a resource coming from `from`: owned by
    /// the graph's family when ownership was tracked, unowned otherwise.
    fn here(&self, from: ResourceState, access: impl Into<AccessSet>) -> ResourceState {
        if from.queue_family == vk::QUEUE_FAMILY_IGNORED {
            ResourceState::new(access)
        } else {
            ResourceState::new(access).on_queue(self.queue_family)
        }
    }

    /// Plans every barrier. `share_bytes(a, b)` says whether transients `a` and `b` were placed
    /// over common bytes. (The renderer, which has the transients already, calls
    /// [`Graph::plan_with`].)
    #[cfg(test)]
    pub fn plan(&self, share_bytes: impl Fn(ImageId, ImageId) -> bool) -> Result<Plan> {
        self.plan_with(&self.transients()?, share_bytes)
    }

    /// Plans every barrier, given the graph's transients as [`Graph::transients`] found them
    /// (which also checked the declarations), so a frame does not derive them twice.
    /// `share_bytes(a, b)` says whether transients `a` and `b` were placed over common bytes.
    pub fn plan_with(
        &self,
        uses: &[TransientUse],
        share_bytes: impl Fn(ImageId, ImageId) -> bool,
    ) -> Result<Plan> {
        let last_access = |id: ImageId| -> Option<Access> {
            let u = uses.iter().find(|u| u.id == id)?;
            let pass = &self.passes[u.last_pass as usize];
            pass.images
                .iter()
                .find(|(i, _)| *i == id)
                .map(|&(_, access)| access)
        };
        let mut images: Vec<Option<ResourceState>> = self
            .images
            .iter()
            .map(|node| match node {
                ImageNode::Imported { state, .. } => Some(*state),
                ImageNode::Transient(_) => None,
            })
            .collect();
        let mut buffers: Vec<ResourceState> = self.buffers.iter().map(|b| b.state).collect();
        let mut plan = Plan::default();
        for pass in &self.passes {
            let mut steps = Vec::new();
            for &(id, access) in &pass.images {
                match images[id.0] {
                    None => {
                        // First use of a transient this frame.
                        let mut previous: Vec<Access> = Vec::new();
                        for u in uses.iter().filter(|u| u.id == id || share_bytes(u.id, id)) {
                            if let Some(a) = last_access(u.id).filter(|a| !previous.contains(a)) {
                                previous.push(a);
                            }
                        }
                        let to = ResourceState::new(access);
                        steps.push(Step::TakeOver {
                            image: id,
                            previous,
                            to,
                        });
                        images[id.0] = Some(to);
                    }
                    Some(from) => {
                        let to = self.here(from, access);
                        if needs_image_barrier(from, to) {
                            steps.push(Step::Image {
                                image: id,
                                from,
                                to,
                            });
                        }
                        images[id.0] = Some(to);
                    }
                }
            }
            for &(id, access) in &pass.buffers {
                let from = buffers[id.0];
                let to = self.here(from, access);
                if from.transfers_ownership_to(to) || vkup_staging::buffer_masks(from, to).is_some()
                {
                    steps.push(Step::Buffer {
                        buffer: id,
                        from,
                        to,
                    });
                }
                buffers[id.0] = to;
            }
            plan.before.push(steps);
        }
        for &(id, want) in &self.leave {
            let from = images[id.0].unwrap_or(ResourceState::UNDEFINED);
            let to = self.here(from, want.accesses);
            if needs_image_barrier(from, to) {
                plan.after.push(Step::Image {
                    image: id,
                    from,
                    to,
                });
            }
            images[id.0] = Some(to);
        }
        for (i, node) in self.images.iter().enumerate() {
            if let (ImageNode::Imported { .. }, Some(state)) = (node, images[i]) {
                plan.images_left.push((ImageId(i), state));
            }
        }
        Ok(plan)
    }

    /// Records the frame: before each pass its barriers (one `vkCmdPipelineBarrier2`), then
    /// `record(pass index, cmd)`; after the last pass, the barriers that leave imports in the
    /// states asked for. `transient(id)` gives the image placed for a transient.
    ///
    /// # Safety
    /// `cmd` is recording on this graph's queue family of `device`; every image and buffer the
    /// graph names is alive until the command buffer completes; imported resources are in the
    /// states they were imported in, and any ownership release they need was recorded on the
    /// other queue and will execute before this command buffer.
    pub unsafe fn record(
        &self,
        plan: &Plan,
        device: &ash::Device,
        cmd: vk::CommandBuffer,
        transient: impl Fn(ImageId) -> Option<vk::Image>,
        mut record: impl FnMut(usize, vk::CommandBuffer) -> Result<()>,
    ) -> Result<()> {
        let mut batch = BarrierBatch::new();
        for (p, steps) in plan.before.iter().enumerate() {
            self.gather(steps, &transient, &mut batch)?;
            // SAFETY: forwarded from this function's contract.
            unsafe { batch.record(cmd, device) };
            record(p, cmd)?;
        }
        self.gather(&plan.after, &transient, &mut batch)?;
        // SAFETY: as above.
        unsafe { batch.record(cmd, device) };
        Ok(())
    }

    fn image_handle(
        &self,
        id: ImageId,
        transient: &impl Fn(ImageId) -> Option<vk::Image>,
    ) -> Result<(vk::Image, vk::ImageSubresourceRange)> {
        match self.images.get(id.0) {
            Some(ImageNode::Imported { image, range, .. }) => Ok((*image, *range)),
            Some(ImageNode::Transient(t)) => match transient(id) {
                Some(image) => Ok((image, t.range())),
                None => bail!("transient '{}' was not placed", t.name),
            },
            None => bail!("unknown image {}", id.0),
        }
    }

    fn gather(
        &self,
        steps: &[Step],
        transient: &impl Fn(ImageId) -> Option<vk::Image>,
        batch: &mut BarrierBatch,
    ) -> Result<()> {
        for step in steps {
            match step {
                Step::Image { image, from, to } => {
                    let (raw, range) = self.image_handle(*image, transient)?;
                    // An ownership transfer's release was recorded on the other queue.
                    batch.acquire_image(raw, range, *from, *to);
                }
                Step::TakeOver {
                    image,
                    previous,
                    to,
                } => {
                    let (raw, range) = self.image_handle(*image, transient)?;
                    batch.image_over_aliases(raw, range, previous.iter().copied(), *to);
                }
                Step::Buffer { buffer, from, to } => {
                    let raw = self.buffers[buffer.0].buffer;
                    batch.acquire_buffer(raw, 0, vk::WHOLE_SIZE, *from, *to);
                }
            }
        }
        Ok(())
    }
}

/// Whether an image going from `from` to `to` needs a barrier.
fn needs_image_barrier(from: ResourceState, to: ResourceState) -> bool {
    from.transfers_ownership_to(to) || vkup_staging::image_masks(from, to).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hdr(name: &'static str) -> TransientImage {
        TransientImage {
            name,
            format: vk::Format::R16G16B16A16_SFLOAT,
            extent: vk::Extent2D {
                width: 64,
                height: 64,
            },
        }
    }

    fn range() -> vk::ImageSubresourceRange {
        hdr("x").range()
    }

    /// scene -> blur -> tonemap -> output, with depth only in the scene pass.
    fn frame(family: u32, texture_state: ResourceState) -> (Graph, [ImageId; 5]) {
        let mut g = Graph::new(family);
        let color = g.transient(hdr("color"));
        let depth = g.transient(TransientImage {
            format: vk::Format::D32_SFLOAT,
            ..hdr("depth")
        });
        let blur = g.transient(hdr("blur"));
        let texture = g.import_image(vk::Image::null(), range(), texture_state);
        let output = g.import_image(vk::Image::null(), range(), ResourceState::UNDEFINED);
        g.pass("scene")
            .image(color, Access::ColorAttachmentWrite)
            .image(depth, Access::DepthStencilAttachmentWrite)
            .image(texture, Access::FragmentShaderSampledRead);
        g.pass("blur")
            .image(color, Access::FragmentShaderSampledRead)
            .image(blur, Access::ColorAttachmentWrite);
        g.pass("tonemap")
            .image(color, Access::FragmentShaderSampledRead)
            .image(blur, Access::FragmentShaderSampledRead)
            .image(output, Access::ColorAttachmentWrite);
        g.leave(output, Access::TransferRead);
        (g, [color, depth, blur, texture, output])
    }

    #[test]
    fn lifetimes_and_usage_come_from_the_declared_accesses() {
        let (g, [color, depth, blur, ..]) = frame(0, Access::FragmentShaderSampledRead.into());
        let uses = g.transients().unwrap();
        let find = |id| *uses.iter().find(|u| u.id == id).unwrap();
        assert_eq!((find(color).first_pass, find(color).last_pass), (0, 2));
        assert_eq!((find(depth).first_pass, find(depth).last_pass), (0, 0));
        assert_eq!((find(blur).first_pass, find(blur).last_pass), (1, 2));
        assert_eq!(
            find(color).usage,
            vk::ImageUsageFlags::COLOR_ATTACHMENT | vk::ImageUsageFlags::SAMPLED
        );
        assert_eq!(
            find(depth).usage,
            vk::ImageUsageFlags::DEPTH_STENCIL_ATTACHMENT
        );
    }

    #[test]
    fn an_aliased_transient_waits_for_the_resource_it_replaces() {
        let (g, [color, depth, blur, ..]) = frame(0, Access::FragmentShaderSampledRead.into());
        // Depth (pass 0 only) and blur (passes 1-2) share bytes.
        let shared = |a: ImageId, b: ImageId| {
            (a == depth && b == blur) || (a == blur && b == depth) || a == b
        };
        let plan = g.plan(shared).unwrap();
        let take_over = plan.before[1]
            .iter()
            .find(|s| matches!(s, Step::TakeOver { image, .. } if *image == blur))
            .expect("blur's first use is a take-over");
        let Step::TakeOver { previous, to, .. } = take_over else {
            unreachable!()
        };
        // Blur's own last use (previous frame) and depth's (this frame).
        assert!(previous.contains(&Access::DepthStencilAttachmentWrite));
        assert!(previous.contains(&Access::FragmentShaderSampledRead));
        assert_eq!(to.accesses, Access::ColorAttachmentWrite);
        // Without aliasing, depth only waits for its own previous frame.
        let plan = g.plan(|a, b| a == b).unwrap();
        let Step::TakeOver { previous, .. } = &plan.before[0][1] else {
            panic!("{:?}", plan.before[0]);
        };
        assert_eq!(previous, &vec![Access::DepthStencilAttachmentWrite]);
        // Colour goes from attachment to sampled once, and stays sampled for the tonemap.
        assert!(plan.before[1].iter().any(|s| matches!(s,
            Step::Image { image, from, to } if *image == color
                && from.accesses == Access::ColorAttachmentWrite
                && to.accesses == Access::FragmentShaderSampledRead)));
        assert!(!plan.before[2]
            .iter()
            .any(|s| matches!(s, Step::Image { image, .. } if *image == color)));
    }

    #[test]
    fn imports_start_in_their_state_and_end_in_the_one_asked_for() {
        let (g, [.., texture, output]) = frame(0, Access::FragmentShaderSampledRead.into());
        let plan = g.plan(|a, b| a == b).unwrap();
        // The texture was left sampled by staging: nothing to do.
        assert!(!plan.before[0]
            .iter()
            .any(|s| matches!(s, Step::Image { image, .. } if *image == texture)));
        assert_eq!(
            plan.after,
            vec![Step::Image {
                image: output,
                from: Access::ColorAttachmentWrite.into(),
                to: Access::TransferRead.into(),
            }]
        );
        assert!(plan
            .images_left
            .contains(&(output, Access::TransferRead.into())));
    }

    #[test]
    fn an_import_released_by_another_family_is_acquired() {
        let released = ResourceState::new(Access::FragmentShaderSampledRead).on_queue(1);
        let (g, [.., texture, _]) = frame(0, released);
        let plan = g.plan(|a, b| a == b).unwrap();
        let step = plan.before[0]
            .iter()
            .find(|s| matches!(s, Step::Image { image, .. } if *image == texture))
            .expect("an acquire");
        let Step::Image { from, to, .. } = step else {
            unreachable!()
        };
        assert!(from.transfers_ownership_to(*to));
        assert_eq!(to.queue_family, 0);
        // Recording keeps only the acquire half.
        let mut batch = BarrierBatch::new();
        g.gather(std::slice::from_ref(step), &|_| None, &mut batch)
            .unwrap();
        let b = batch.image_barriers()[0];
        assert_eq!((b.src_queue_family_index, b.dst_queue_family_index), (1, 0));
        assert_eq!(b.src_stage_mask, vk::PipelineStageFlags2::NONE);
    }

    #[test]
    fn bad_declarations_are_refused() {
        let mut g = Graph::new(0);
        let t = g.transient(hdr("t"));
        g.pass("reads first")
            .image(t, Access::FragmentShaderSampledRead);
        assert!(g.transients().is_err(), "a transient read before any write");

        let mut g = Graph::new(0);
        let t = g.transient(hdr("t"));
        g.pass("twice")
            .image(t, Access::ColorAttachmentWrite)
            .image(t, Access::FragmentShaderSampledRead);
        assert!(
            g.transients().is_err(),
            "one image in two layouts in a pass"
        );

        let mut g = Graph::new(0);
        let t = g.transient(hdr("t"));
        g.pass("p").image(t, Access::ColorAttachmentWrite);
        g.leave(t, Access::TransferRead);
        assert!(
            g.transients().is_err(),
            "a transient has no state after the frame"
        );

        let mut g = Graph::new(0);
        g.pass("p").image(ImageId(7), Access::ColorAttachmentWrite);
        assert!(g.plan(|a, b| a == b).is_err(), "unknown image");
    }

    /// Generated graphs: every use of every image gets exactly the state it declares, each
    /// transient's first use is a take-over listing every resource that shares its bytes, and
    /// the plan never moves an image from a state other than the one it is in.
    #[test]
    fn generated_graphs_chain_states_without_gaps() {
        use proptest::prelude::*;
        let accesses = [
            Access::ColorAttachmentWrite,
            Access::FragmentShaderSampledRead,
            Access::ComputeStorageWrite,
            Access::ComputeShaderSampledRead,
            Access::TransferRead,
            Access::TransferWrite,
        ];
        let strategy = (
            1usize..6,
            proptest::collection::vec(
                proptest::collection::vec((0usize..6, 0usize..accesses.len()), 1..4),
                1..8,
            ),
        );
        proptest!(ProptestConfig::with_cases(512), |((count, passes) in strategy)| {
            let mut g = Graph::new(0);
            let ids: Vec<ImageId> = (0..count).map(|_| g.transient(hdr("t"))).collect();
            let mut written = vec![false; count];
            for uses in &passes {
                let mut seen = Vec::new();
                let mut pass = g.pass("p");
                for &(i, a) in uses {
                    let i = i % count;
                    let access = if written[i] { accesses[a] } else { Access::ColorAttachmentWrite };
                    if seen.contains(&i) { continue; }
                    seen.push(i);
                    written[i] = true;
                    pass = pass.image(ids[i], access);
                }
            }
            // Every other pair shares bytes.
            let shared = |a: ImageId, b: ImageId| a == b || (a.0 + b.0) % 2 == 0;
            let plan = g.plan(shared).unwrap();
            let mut state: Vec<Option<ResourceState>> = vec![None; count];
            for (p, steps) in plan.before.iter().enumerate() {
                for step in steps {
                    match step {
                        Step::TakeOver { image, previous, to } => {
                            prop_assert!(state[image.0].is_none());
                            let uses = g.transients().unwrap();
                            for u in uses.iter().filter(|u| shared(u.id, *image)) {
                                let last = g.passes[u.last_pass as usize].images.iter()
                                    .find(|(i, _)| *i == u.id).unwrap().1;
                                prop_assert!(previous.contains(&last));
                            }
                            state[image.0] = Some(*to);
                        }
                        Step::Image { image, from, to } => {
                            prop_assert_eq!(state[image.0], Some(*from));
                            state[image.0] = Some(*to);
                        }
                        Step::Buffer { .. } => prop_assert!(false),
                    }
                }
                for &(id, access) in &g.passes[p].images {
                    let now = state[id.0].expect("used before a barrier");
                    prop_assert_eq!(now.accesses.info().layout, access.info().layout);
                    if vkup_staging::image_masks(now, access.into()).is_some() {
                        prop_assert_eq!(now.accesses, access);
                    }
                    state[id.0] = Some(access.into());
                }
            }
        });
    }
}
