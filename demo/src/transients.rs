//! The frame graph's transient images, placed by lifetime in shared memory.
//!
//! [`Transients::new`] asks the allocator for each image's memory requirements without creating
//! it, places them with `vkup_allocator::placement::place` (resources whose pass intervals do not
//! overlap may share bytes), allocates one block per placement group and creates each image at
//! its offset. With aliasing off every image gets bytes of its own (`Aliasing::Off`: the same
//! blocks and code path), for comparison. The set is rebuilt only when the graph's transients
//! change (a resize) or aliasing is toggled.

use anyhow::{Context as _, Result};
use ash::vk;
use vkup_allocator::placement::{self, Aliasing, Placement, Tiling, Transient};
use vkup_allocator::{Allocator, GpuMemory, ImageDesc, MemoryDesc, MemoryIntent, PlacedImage};
use vkup_staging::graph::{
    Bindings, ImageId, Resource, TransientImage, TransientKind, TransientUse,
};

/// Bytes of a transient set, against the two bounds of the placement.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TransientMemory {
    /// What was allocated.
    pub placed: u64,
    /// The sum of the images' sizes (no aliasing).
    pub unaliased: u64,
    /// The most bytes alive at one pass: no placement can use less.
    pub lower_bound: u64,
}

struct Placed {
    id: ImageId,
    image: PlacedImage,
    view: vk::ImageView,
}

/// The transient images of one graph shape.
pub struct Transients {
    device: ash::Device,
    uses: Vec<TransientUse>,
    aliasing: bool,
    memory: Vec<GpuMemory>,
    images: Vec<Placed>,
    /// Where each of `uses` went, in their order.
    placement: Placement,
    pub memory_use: TransientMemory,
}

impl Transients {
    /// Places and creates `uses`' images (sharing memory by lifetime when `aliasing`).
    pub fn new(
        device: &ash::Device,
        allocator: &Allocator,
        uses: &[TransientUse],
        aliasing: bool,
    ) -> Result<Self> {
        let images: Vec<(ImageId, TransientImage, vk::ImageUsageFlags)> = uses
            .iter()
            .map(|u| match (u.resource, u.kind) {
                (Resource::Image(id), TransientKind::Image { image, usage }) => {
                    Ok((id, image, usage))
                }
                _ => anyhow::bail!("transient '{}': the demo's graph has only images", u.name),
            })
            .collect::<Result<_>>()?;
        let descs: Vec<ImageDesc<'_>> = uses
            .iter()
            .zip(&images)
            .map(|(u, (_, image, usage))| {
                ImageDesc::new_2d(image.format, image.extent.width, image.extent.height)
                    .usage(*usage)
                    .name(&u.name)
            })
            .collect();
        let mut resources = Vec::with_capacity(uses.len());
        for (u, desc) in uses.iter().zip(&descs) {
            let req = allocator
                .image_requirements(desc)
                .with_context(|| format!("transient '{}'", u.name))?;
            resources.push(Transient {
                size: req.size,
                alignment: req.alignment,
                memory_type_bits: req.memory_type_bits,
                tiling: Tiling::Optimal,
                first_pass: u.first_pass,
                last_pass: u.last_pass,
            });
        }
        let memory_use = TransientMemory {
            placed: 0,
            unaliased: placement::unaliased_total(&resources)?,
            lower_bound: placement::lower_bound(&resources)?,
        };
        let mode = if aliasing {
            Aliasing::On
        } else {
            Aliasing::Off
        };
        let placement = placement::place(&resources, allocator.buffer_image_granularity(), mode)
            .context("placing the transients")?;
        let mut set = Self {
            device: device.clone(),
            uses: uses.to_vec(),
            aliasing,
            memory: Vec::new(),
            images: Vec::new(),
            memory_use: TransientMemory {
                placed: placement.total()?,
                ..memory_use
            },
            placement,
        };
        if let Err(err) = set.create(allocator, &descs, &images) {
            // SAFETY: nothing was recorded with them yet.
            unsafe { set.destroy(allocator) };
            return Err(err);
        }
        Ok(set)
    }

    fn create(
        &mut self,
        allocator: &Allocator,
        descs: &[ImageDesc<'_>],
        images: &[(ImageId, TransientImage, vk::ImageUsageFlags)],
    ) -> Result<()> {
        for (g, group) in self.placement.groups.iter().enumerate() {
            let desc = MemoryDesc::new(
                vk::MemoryRequirements {
                    size: group.size,
                    alignment: group.alignment,
                    memory_type_bits: group.memory_type_bits,
                },
                MemoryIntent::Transient,
            )
            .name("frame graph transients");
            let memory = allocator
                .allocate_memory(&desc)
                .with_context(|| format!("transient memory group {g} ({} bytes)", group.size))?;
            self.memory.push(memory);
        }
        for (i, (desc, &(id, image, _))) in descs.iter().zip(images).enumerate() {
            let slot = self.placement.slots[i];
            let placed = allocator
                .create_placed_image(desc, &self.memory[slot.group], slot.offset)
                .with_context(|| format!("placing transient '{}'", self.uses[i].name))?;
            let info = vk::ImageViewCreateInfo::default()
                .image(placed.raw())
                .view_type(vk::ImageViewType::TYPE_2D)
                .format(image.format)
                .subresource_range(vk::ImageSubresourceRange {
                    aspect_mask: image.aspect(),
                    base_mip_level: 0,
                    level_count: 1,
                    base_array_layer: 0,
                    layer_count: 1,
                });
            // SAFETY: the image was just created on this device.
            let view = match unsafe { self.device.create_image_view(&info, None) } {
                Ok(view) => view,
                Err(err) => {
                    // SAFETY: never used.
                    unsafe { allocator.destroy_placed_image(placed) };
                    return Err(err.into());
                }
            };
            self.images.push(Placed {
                id,
                image: placed,
                view,
            });
        }
        Ok(())
    }

    /// How many memory blocks it allocated.
    pub fn memory_blocks(&self) -> usize {
        self.memory.len()
    }

    /// Whether this set was made for `uses` with `aliasing`.
    pub fn fits(&self, uses: &[TransientUse], aliasing: bool) -> bool {
        self.aliasing == aliasing && self.uses == uses
    }

    fn find(&self, id: ImageId) -> Option<&Placed> {
        self.images.iter().find(|p| p.id == id)
    }

    /// The handles placed for the graph's transients, for its plan.
    pub fn bindings(&self) -> Bindings {
        self.images
            .iter()
            .fold(Bindings::new(), |b, p| b.image(p.id, p.image.raw()))
    }

    /// The view of the image placed for `id`.
    pub fn view(&self, id: ImageId) -> Option<vk::ImageView> {
        self.find(id).map(|p| p.view)
    }

    /// Whether transients `a` and `b` were placed over common bytes.
    pub fn shares_bytes(&self, a: Resource, b: Resource) -> bool {
        let index = |r| self.uses.iter().position(|u| u.resource == r);
        match (index(a), index(b)) {
            (Some(a), Some(b)) => self.placement.shares_bytes(a, b),
            _ => false,
        }
    }

    /// Pairs of transients that share bytes (for the log and the tests).
    pub fn aliased_pairs(&self) -> usize {
        let n = self.uses.len();
        (0..n)
            .flat_map(|i| (i + 1..n).map(move |j| (i, j)))
            .filter(|&(i, j)| self.placement.shares_bytes(i, j))
            .count()
    }

    /// Destroys the views, images and memory.
    ///
    /// # Safety
    /// No pending GPU work uses them; `allocator` made them.
    pub unsafe fn destroy(&mut self, allocator: &Allocator) {
        for placed in self.images.drain(..) {
            // SAFETY: forwarded from this function's contract.
            unsafe {
                self.device.destroy_image_view(placed.view, None);
                allocator.destroy_placed_image(placed.image);
            }
        }
        for memory in self.memory.drain(..) {
            // SAFETY: every image placed in it was destroyed above.
            unsafe { allocator.free_memory(memory) };
        }
    }
}
