//! [`MaterialSystem`]: the textures, views, samplers and descriptor sets of every loaded scene,
//! recorded against its [`SceneId`] and destroyed together when it unloads. Nothing is shared
//! between scenes, not even a default texture: each scene brings its own.

use std::collections::HashMap;
use std::sync::Mutex;

use anyhow::{bail, Context as _, Result};
use ash::vk;
use vkup_allocator::{Allocator, GpuImage, ImageDesc, MipLevels};
use vkup_staging::{ImageTarget, ResourceState};

use crate::scene::{MaterialData, SamplerDesc, SceneId, TextureData};
use crate::upload::Uploader;

/// One scene's material resources.
#[derive(Default)]
pub struct SceneMaterials {
    /// Each texture, its view, and the state its upload left it in.
    textures: Vec<(GpuImage, vk::ImageView, ResourceState)>,
    samplers: Vec<vk::Sampler>,
    pool: vk::DescriptorPool,
    /// One descriptor set per material, in the scene's material order.
    pub sets: Vec<vk::DescriptorSet>,
}

/// Materials per scene, shared by the loader and render threads.
pub struct MaterialSystem {
    device: ash::Device,
    anisotropy: Option<f32>,
    scenes: Mutex<HashMap<SceneId, SceneMaterials>>,
}

/// Formats the compute downsampler writes through a storage view (sRGB through a UNORM view).
fn computable(format: vk::Format) -> bool {
    matches!(
        format,
        vk::Format::R8G8B8A8_SRGB | vk::Format::R8G8B8A8_UNORM | vk::Format::R16G16B16A16_SFLOAT
    )
}

impl MaterialSystem {
    pub fn new(device: &ash::Device, anisotropy: Option<f32>) -> Self {
        Self {
            device: device.clone(),
            anisotropy,
            scenes: Mutex::new(HashMap::new()),
        }
    }

    fn with_scene_mut<R>(&self, scene: SceneId, f: impl FnOnce(&mut SceneMaterials) -> R) -> R {
        let mut scenes = self.scenes.lock().unwrap_or_else(|p| p.into_inner());
        f(scenes.entry(scene).or_default())
    }

    /// Creates `data`'s image for `scene`, uploads it and makes its mip chain; returns its index.
    pub fn create_texture(
        &self,
        allocator: &Allocator,
        uploader: &mut Uploader,
        scene: SceneId,
        data: &TextureData,
    ) -> Result<usize> {
        let what = || {
            format!(
                "texture '{}' ({}x{} {:?})",
                data.name, data.width, data.height, data.format
            )
        };
        let usage = vk::ImageUsageFlags::SAMPLED
            | vk::ImageUsageFlags::TRANSFER_DST
            | vk::ImageUsageFlags::TRANSFER_SRC;
        let brings_levels = data.levels > 1;
        let mut desc = ImageDesc::new_2d(data.format, data.width, data.height)
            .usage(usage)
            .name(&data.name)
            .mip_levels(if brings_levels {
                MipLevels::Count(data.levels)
            } else {
                MipLevels::Full
            });
        if computable(data.format) && !brings_levels {
            // The compute path writes sRGB through a UNORM storage view.
            desc = desc
                .usage(vk::ImageUsageFlags::STORAGE)
                .flags(vk::ImageCreateFlags::MUTABLE_FORMAT | vk::ImageCreateFlags::EXTENDED_USAGE);
        }
        let mut image = allocator.create_image(&desc).with_context(what)?;
        let mut generate = !brings_levels && image.mip_levels() > 1;
        if generate && !uploader.can_generate(&image) {
            // No method makes this format's chain: one level it is.
            // SAFETY: never used by the GPU.
            unsafe { allocator.destroy_image(image) };
            image = allocator
                .create_image(&desc.clone().mip_levels(MipLevels::ONE))
                .with_context(what)?;
            generate = false;
        }
        let levels = if brings_levels { data.levels } else { 1 };
        let state = match uploader.texture(allocator, &image, &data.bytes, levels, generate) {
            Ok(state) => state,
            Err(err) => {
                // SAFETY: the uploader waited for its submissions before reporting the error.
                unsafe { allocator.destroy_image(image) };
                return Err(err.context(what()));
            }
        };
        let view_info = vk::ImageViewCreateInfo::default()
            .image(image.raw())
            .view_type(vk::ImageViewType::TYPE_2D)
            .format(data.format)
            .subresource_range(image.full_range(vk::ImageAspectFlags::COLOR));
        // A view with EXTENDED_USAGE's storage bit dropped: only SAMPLED is needed here.
        let mut view_usage =
            vk::ImageViewUsageCreateInfo::default().usage(vk::ImageUsageFlags::SAMPLED);
        let view_info = view_info.push_next(&mut view_usage);
        // SAFETY: a live image of this device; the view matches its format and levels.
        let view = match unsafe { self.device.create_image_view(&view_info, None) } {
            Ok(view) => view,
            Err(err) => {
                // SAFETY: the upload completed (the uploader waits).
                unsafe { allocator.destroy_image(image) };
                return Err(anyhow::Error::from(err).context(what()));
            }
        };
        Ok(self.with_scene_mut(scene, |m| {
            m.textures.push((image, view, state));
            m.textures.len() - 1
        }))
    }

    /// Creates one descriptor set per material of `scene`, and the samplers they use.
    pub fn create_materials(
        &self,
        scene: SceneId,
        materials: &[MaterialData],
        texture_index: &[usize],
        layout: vk::DescriptorSetLayout,
    ) -> Result<()> {
        if materials.is_empty() {
            return Ok(());
        }
        let device = &self.device;
        let anisotropy = self.anisotropy;
        self.with_scene_mut(scene, |m| -> Result<()> {
            let mut sampler_of: HashMap<SamplerDesc, vk::Sampler> = HashMap::new();
            for material in materials {
                if sampler_of.contains_key(&material.sampler) {
                    continue;
                }
                let s = material.sampler;
                // Anisotropy only for linear filtering: a nearest-filtered texture must stay crisp.
                let anisotropy = anisotropy
                    .filter(|_| s.mag == vk::Filter::LINEAR && s.min == vk::Filter::LINEAR);
                let info = vk::SamplerCreateInfo::default()
                    .mag_filter(s.mag)
                    .min_filter(s.min)
                    .mipmap_mode(s.mipmap)
                    .address_mode_u(s.wrap_u)
                    .address_mode_v(s.wrap_v)
                    .address_mode_w(vk::SamplerAddressMode::REPEAT)
                    .anisotropy_enable(anisotropy.is_some())
                    .max_anisotropy(anisotropy.unwrap_or(1.0))
                    // 0.25 keeps an unmipmapped filter on level 0 (the Vulkan idiom for GL's
                    // non-mipmap min filters).
                    .max_lod(if s.mipmapped {
                        vk::LOD_CLAMP_NONE
                    } else {
                        0.25
                    });
                // SAFETY: valid device; anisotropy only when the feature was enabled.
                let sampler = unsafe { device.create_sampler(&info, None) }?;
                m.samplers.push(sampler);
                sampler_of.insert(s, sampler);
            }
            let count = materials.len() as u32;
            let sizes = [vk::DescriptorPoolSize {
                ty: vk::DescriptorType::COMBINED_IMAGE_SAMPLER,
                descriptor_count: count,
            }];
            let pool_info = vk::DescriptorPoolCreateInfo::default()
                .max_sets(count)
                .pool_sizes(&sizes);
            // SAFETY: valid device.
            m.pool = unsafe { device.create_descriptor_pool(&pool_info, None) }?;
            let layouts = vec![layout; materials.len()];
            let alloc = vk::DescriptorSetAllocateInfo::default()
                .descriptor_pool(m.pool)
                .set_layouts(&layouts);
            // SAFETY: the pool was sized for these sets.
            m.sets = unsafe { device.allocate_descriptor_sets(&alloc) }?;
            for (material, &set) in materials.iter().zip(&m.sets) {
                let Some(&texture) = texture_index.get(material.texture) else {
                    bail!(
                        "material '{}' names texture {} of {}",
                        material.name,
                        material.texture,
                        texture_index.len()
                    );
                };
                let Some((_, view, _)) = m.textures.get(texture) else {
                    bail!(
                        "material '{}': texture {texture} was not created",
                        material.name
                    );
                };
                let image_info = [vk::DescriptorImageInfo::default()
                    .sampler(sampler_of[&material.sampler])
                    .image_view(*view)
                    .image_layout(vk::ImageLayout::SHADER_READ_ONLY_OPTIMAL)];
                let write = vk::WriteDescriptorSet::default()
                    .dst_set(set)
                    .dst_binding(0)
                    .descriptor_type(vk::DescriptorType::COMBINED_IMAGE_SAMPLER)
                    .image_info(&image_info);
                // SAFETY: the set, view and sampler are live and match the layout.
                unsafe { device.update_descriptor_sets(&[write], &[]) };
            }
            Ok(())
        })
    }

    /// Calls `f` with `scene`'s descriptor sets.
    pub fn with_sets<R>(&self, scene: SceneId, f: impl FnOnce(&[vk::DescriptorSet]) -> R) -> R {
        let scenes = self.scenes.lock().unwrap_or_else(|p| p.into_inner());
        f(scenes.get(&scene).map_or(&[], |m| m.sets.as_slice()))
    }

    /// Each texture of `scene` and the state its upload left it in, for the frame graph's
    /// imports.
    pub fn texture_states(&self, scene: SceneId) -> Vec<(ImageTarget, ResourceState)> {
        let scenes = self.scenes.lock().unwrap_or_else(|p| p.into_inner());
        scenes.get(&scene).map_or_else(Vec::new, |m| {
            m.textures
                .iter()
                .map(|(image, _, state)| (ImageTarget::from(image), *state))
                .collect()
        })
    }

    /// Removes `scene`'s materials, for destruction once the GPU is done with them.
    pub fn take_scene(&self, scene: SceneId) -> SceneMaterials {
        let mut scenes = self.scenes.lock().unwrap_or_else(|p| p.into_inner());
        scenes.remove(&scene).unwrap_or_default()
    }

    /// Destroys materials taken from the system.
    ///
    /// # Safety
    /// No pending GPU work uses them; `allocator` made the images.
    pub unsafe fn destroy(&self, allocator: &Allocator, materials: SceneMaterials) {
        // SAFETY: forwarded from this function's contract; views before their images.
        unsafe {
            if materials.pool != vk::DescriptorPool::null() {
                self.device.destroy_descriptor_pool(materials.pool, None);
            }
            for sampler in materials.samplers {
                self.device.destroy_sampler(sampler, None);
            }
            for (image, view, _) in materials.textures {
                self.device.destroy_image_view(view, None);
                allocator.destroy_image(image);
            }
        }
    }
}
