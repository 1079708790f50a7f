//! [`PlacedTransients`]: a graph's transients created where `vkup_allocator::placement` puts them.

use ash::vk;
use vkup_allocator::placement::{self, Aliasing, Placement, Tiling, Transient};
use vkup_allocator::{
    Allocator, BufferDesc, GpuMemory, ImageDesc, MemoryDesc, MemoryIntent, MipLevels, PlacedBuffer,
    PlacedImage,
};

use super::{Bindings, BufferId, ImageId, Resource, TransientKind, TransientUse};
use crate::error::Result;

/// Bytes of transient memory, placed and as they compare.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TransientMemory {
    /// What the placement allocated.
    pub placed: u64,
    /// What every transient with bytes of its own would take.
    pub unaliased: u64,
    /// The most bytes alive at one pass: no placement does better.
    pub lower_bound: u64,
}

/// The transients of a graph, created in memory placed by their lifetimes (or each in bytes of
/// its own with [`Aliasing::Off`]), keeping `bufferImageGranularity` between buffers and images
/// alive together. It holds the handles; the caller destroys them ([`PlacedTransients::destroy`])
/// once no submitted work uses them. Images are optimal-tiled 2D (or arrays of) images with the
/// levels and layers declared; buffers are exclusive.
#[derive(Debug)]
pub struct PlacedTransients {
    uses: Vec<TransientUse>,
    aliasing: Aliasing,
    placement: Placement,
    memory: Vec<GpuMemory>,
    images: Vec<(ImageId, PlacedImage)>,
    buffers: Vec<(BufferId, PlacedBuffer)>,
    bytes: TransientMemory,
}

/// What a transient is created from.
enum Desc<'a> {
    Image(ImageDesc<'a>),
    Buffer(BufferDesc<'a>),
}

fn desc(u: &TransientUse) -> Desc<'_> {
    match u.kind {
        TransientKind::Image { image, usage } => {
            let e = image.extent;
            let desc = if e.depth > 1 {
                ImageDesc::new_3d(image.format, e.width, e.height, e.depth)
            } else {
                ImageDesc::new_2d(image.format, e.width, e.height)
            };
            Desc::Image(
                desc.mip_levels(MipLevels::Count(image.mip_levels))
                    .array_layers(image.array_layers)
                    .usage(usage)
                    .name(&u.name),
            )
        }
        TransientKind::Buffer { size, usage } => {
            Desc::Buffer(BufferDesc::new(size, usage).name(&u.name))
        }
    }
}

impl PlacedTransients {
    /// Places and creates `uses` ([`Graph::transients`](super::Graph::transients)). A refusal
    /// (a description the device cannot make, out of memory) creates nothing and leaks nothing.
    pub fn new(allocator: &Allocator, uses: &[TransientUse], aliasing: Aliasing) -> Result<Self> {
        let mut resources = Vec::with_capacity(uses.len());
        for u in uses {
            let (requirements, tiling) = match desc(u) {
                Desc::Image(desc) => (allocator.image_requirements(&desc)?, Tiling::Optimal),
                Desc::Buffer(desc) => (allocator.buffer_requirements(&desc)?, Tiling::Linear),
            };
            resources.push(Transient {
                size: requirements.size,
                alignment: requirements.alignment,
                memory_type_bits: requirements.memory_type_bits,
                tiling,
                first_pass: u.first_pass,
                last_pass: u.last_pass,
            });
        }
        let placement =
            placement::place(&resources, allocator.buffer_image_granularity(), aliasing)?;
        let bytes = TransientMemory {
            placed: placement.total()?,
            unaliased: placement::unaliased_total(&resources)?,
            lower_bound: placement::lower_bound(&resources)?,
        };
        let mut set = Self {
            uses: uses.to_vec(),
            aliasing,
            placement,
            memory: Vec::new(),
            images: Vec::new(),
            buffers: Vec::new(),
            bytes,
        };
        if let Err(err) = set.create(allocator) {
            // SAFETY: nothing was submitted with them.
            unsafe { set.destroy(allocator) };
            return Err(err);
        }
        Ok(set)
    }

    fn create(&mut self, allocator: &Allocator) -> Result<()> {
        for group in &self.placement.groups {
            let desc = MemoryDesc::new(
                vk::MemoryRequirements {
                    size: group.size,
                    alignment: group.alignment,
                    memory_type_bits: group.memory_type_bits,
                },
                MemoryIntent::Transient,
            )
            .name("graph transients");
            self.memory.push(allocator.allocate_memory(&desc)?);
        }
        for (u, slot) in self.uses.iter().zip(&self.placement.slots) {
            let memory = &self.memory[slot.group];
            match (u.resource, desc(u)) {
                (Resource::Image(id), Desc::Image(desc)) => {
                    let image = allocator.create_placed_image(&desc, memory, slot.offset)?;
                    self.images.push((id, image));
                }
                (Resource::Buffer(id), Desc::Buffer(desc)) => {
                    let buffer = allocator.create_placed_buffer(&desc, memory, slot.offset)?;
                    self.buffers.push((id, buffer));
                }
                // `Graph::transients` pairs images with image kinds and buffers with buffer ones.
                _ => {}
            }
        }
        Ok(())
    }

    /// Whether this set was made for `uses` with `aliasing` (a graph whose transients did not
    /// change can keep it).
    pub fn fits(&self, uses: &[TransientUse], aliasing: Aliasing) -> bool {
        self.aliasing == aliasing && self.uses == uses
    }

    /// The handles, for [`Graph::plan`](super::Graph::plan).
    pub fn bindings(&self) -> Bindings {
        let images = self
            .images
            .iter()
            .fold(Bindings::new(), |b, (id, image)| b.image(*id, image.raw()));
        self.buffers
            .iter()
            .fold(images, |b, (id, buffer)| b.buffer(*id, buffer.raw()))
    }

    /// Whether transients `a` and `b` were placed over common bytes, for
    /// [`Graph::plan`](super::Graph::plan).
    pub fn shares_bytes(&self, a: Resource, b: Resource) -> bool {
        let index = |r| self.uses.iter().position(|u| u.resource == r);
        match (index(a), index(b)) {
            (Some(a), Some(b)) => self.placement.shares_bytes(a, b),
            _ => false,
        }
    }

    /// Pairs of transients placed over common bytes.
    pub fn aliased_pairs(&self) -> usize {
        let n = self.uses.len();
        (0..n)
            .flat_map(|i| (i + 1..n).map(move |j| (i, j)))
            .filter(|&(i, j)| self.placement.shares_bytes(i, j))
            .count()
    }

    /// The image created for transient `id`.
    pub fn image(&self, id: ImageId) -> Option<&PlacedImage> {
        self.images.iter().find(|(i, _)| *i == id).map(|(_, p)| p)
    }

    /// The buffer created for transient `id`.
    pub fn buffer(&self, id: BufferId) -> Option<&PlacedBuffer> {
        self.buffers.iter().find(|(i, _)| *i == id).map(|(_, p)| p)
    }

    /// Bytes placed, unaliased and the lower bound.
    pub fn memory(&self) -> TransientMemory {
        self.bytes
    }

    /// Memory blocks allocated.
    pub fn memory_blocks(&self) -> usize {
        self.memory.len()
    }

    /// Destroys the images, buffers and memory.
    ///
    /// # Safety
    /// No pending GPU work uses them; `allocator` made them.
    pub unsafe fn destroy(&mut self, allocator: &Allocator) {
        for (_, image) in self.images.drain(..) {
            // SAFETY: forwarded from this function's contract.
            unsafe { allocator.destroy_placed_image(image) };
        }
        for (_, buffer) in self.buffers.drain(..) {
            // SAFETY: as above.
            unsafe { allocator.destroy_placed_buffer(buffer) };
        }
        for memory in self.memory.drain(..) {
            // SAFETY: every resource placed in it was destroyed above.
            unsafe { allocator.free_memory(memory) };
        }
    }
}
