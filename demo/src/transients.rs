//! The frame graph's transient images: `vkup_staging::graph::PlacedTransients` creates them where
//! their lifetimes let them share memory (each in bytes of its own with aliasing off, for
//! comparison); this adds the views the passes bind. The set is rebuilt only when the graph's
//! transients change (a resize) or aliasing is toggled.

use anyhow::{Context as _, Result};
use ash::vk;
use vkup_allocator::placement::Aliasing;
use vkup_allocator::Allocator;
use vkup_staging::graph::{aspect_of, Bindings, ImageId, PlacedTransients, Resource, TransientUse};

pub use vkup_staging::graph::TransientMemory;

pub struct Transients {
    device: ash::Device,
    set: PlacedTransients,
    views: Vec<(ImageId, vk::ImageView)>,
    pub memory_use: TransientMemory,
}

fn mode(aliasing: bool) -> Aliasing {
    if aliasing {
        Aliasing::On
    } else {
        Aliasing::Off
    }
}

impl Transients {
    pub fn new(
        device: &ash::Device,
        allocator: &Allocator,
        uses: &[TransientUse],
        aliasing: bool,
    ) -> Result<Self> {
        let set = PlacedTransients::new(allocator, uses, mode(aliasing))
            .context("placing the transients")?;
        let mut transients = Self {
            device: device.clone(),
            memory_use: set.memory(),
            set,
            views: Vec::new(),
        };
        for u in uses {
            let Resource::Image(id) = u.resource else {
                continue;
            };
            let image = transients.set.image(id).context("a transient image")?;
            let format = image.info().format;
            let info = vk::ImageViewCreateInfo::default()
                .image(image.raw())
                .view_type(vk::ImageViewType::TYPE_2D)
                .format(format)
                .subresource_range(vk::ImageSubresourceRange {
                    aspect_mask: aspect_of(format),
                    base_mip_level: 0,
                    level_count: 1,
                    base_array_layer: 0,
                    layer_count: 1,
                });
            // SAFETY: the image was just created on this device.
            match unsafe { device.create_image_view(&info, None) } {
                Ok(view) => transients.views.push((id, view)),
                Err(err) => {
                    // SAFETY: never used.
                    unsafe { transients.destroy(allocator) };
                    return Err(err).with_context(|| format!("a view of transient '{}'", u.name));
                }
            }
        }
        Ok(transients)
    }

    /// How many memory blocks it allocated.
    pub fn memory_blocks(&self) -> usize {
        self.set.memory_blocks()
    }

    /// Whether this set was made for `uses` with `aliasing`.
    pub fn fits(&self, uses: &[TransientUse], aliasing: bool) -> bool {
        self.set.fits(uses, mode(aliasing))
    }

    /// The handles placed for the graph's transients, for its plan.
    pub fn bindings(&self) -> Bindings {
        self.set.bindings()
    }

    /// The view of the image placed for `id`.
    pub fn view(&self, id: ImageId) -> Option<vk::ImageView> {
        self.views.iter().find(|(i, _)| *i == id).map(|&(_, v)| v)
    }

    /// Whether transients `a` and `b` were placed over common bytes.
    pub fn shares_bytes(&self, a: Resource, b: Resource) -> bool {
        self.set.shares_bytes(a, b)
    }

    /// Pairs of transients that share bytes (for the log and the tests).
    pub fn aliased_pairs(&self) -> usize {
        self.set.aliased_pairs()
    }

    /// Destroys the views, images and memory.
    ///
    /// # Safety
    /// No pending GPU work uses them; `allocator` made them.
    pub unsafe fn destroy(&mut self, allocator: &Allocator) {
        for (_, view) in self.views.drain(..) {
            // SAFETY: forwarded from this function's contract.
            unsafe { self.device.destroy_image_view(view, None) };
        }
        // SAFETY: as above.
        unsafe { self.set.destroy(allocator) };
    }
}
