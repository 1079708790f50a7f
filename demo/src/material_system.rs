//! [`MaterialSystem`]: the textures, views, samplers, material uniform buffer and descriptor
//! sets of every loaded scene, recorded against its [`SceneId`] and destroyed together when it
//! unloads. Nothing is shared between scenes, not even the white texture bound to a material's
//! empty slots: each scene brings its own.

use std::collections::HashMap;
use std::sync::Mutex;

use anyhow::{bail, Context as _, Result};
use ash::vk;
use vkup_allocator::{Allocator, BufferDesc, GpuBuffer, GpuImage, ImageDesc, MipLevels};
use vkup_staging::{Access, BufferTarget, ImageTarget, ResourceState};

use crate::pipeline::Shader;
use crate::scene::{
    AlphaMode, MaterialData, SamplerDesc, SceneId, TextureData, TextureShape, TextureSlot, Viewer,
    Workflow, TEXTURE_SLOTS,
};
use crate::upload::Uploader;

/// A material's uniform block, as `shaders/mesh.frag` declares it (std140: vec4s only).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct MaterialParams {
    pub base_color: [f32; 4],
    /// xyz: emissive factor; w: alpha cutoff.
    pub emissive_cutoff: [f32; 4],
    /// Metallic, roughness, normal scale, occlusion strength.
    pub factors: [f32; 4],
    /// xyz: specular factor; w: glossiness factor.
    pub specular_glossiness: [f32; 4],
    /// x: slots with a texture (bit per slot); y: slots using TEXCOORD_1; z: mode bits.
    pub flags: [u32; 4],
    /// Slot i's coordinate transform: rows 2i and 2i+1.
    pub transforms: [[f32; 4]; 2 * TEXTURE_SLOTS],
    /// The texture viewer's (`texture_view.frag`, at offset [`VIEW_OFFSET`]): x, the layer or
    /// the 3D depth coordinate shown; `mesh.frag` ends before it.
    pub view: [f32; 4],
}

/// Where `texture_view.frag` reads [`MaterialParams::view`].
pub const VIEW_OFFSET: usize = 240;
const _: () = assert!(std::mem::offset_of!(MaterialParams, view) == VIEW_OFFSET);

/// `flags[2]` bits (`mesh.frag`'s MASK, BLEND, SPECULAR_GLOSSINESS, DOUBLE_SIDED).
const MODE_MASK: u32 = 1;
const MODE_BLEND: u32 = 2;
const MODE_SPECULAR_GLOSSINESS: u32 = 4;
const MODE_DOUBLE_SIDED: u32 = 8;

impl MaterialParams {
    pub fn of(material: &MaterialData) -> Self {
        let mut params = Self {
            base_color: material.base_color,
            ..Self::default()
        };
        let [r, g, b] = material.emissive;
        params.emissive_cutoff = [r, g, b, 0.0];
        let mut mode = 0;
        match material.alpha {
            AlphaMode::Opaque => {}
            AlphaMode::Mask(cutoff) => {
                mode |= MODE_MASK;
                params.emissive_cutoff[3] = cutoff;
            }
            AlphaMode::Blend => mode |= MODE_BLEND,
        }
        let (metallic, roughness) = match material.workflow {
            Workflow::MetallicRoughness {
                metallic,
                roughness,
            } => (metallic, roughness),
            Workflow::SpecularGlossiness {
                specular,
                glossiness,
            } => {
                mode |= MODE_SPECULAR_GLOSSINESS;
                let [r, g, b] = specular;
                params.specular_glossiness = [r, g, b, glossiness];
                (0.0, 1.0)
            }
        };
        params.factors = [
            metallic,
            roughness,
            material.normal_scale,
            material.occlusion_strength,
        ];
        if material.double_sided {
            mode |= MODE_DOUBLE_SIDED;
        }
        params.flags[2] = mode;
        params.view[0] = match material.viewer {
            Some(Viewer::Layer(layer)) => layer as f32,
            Some(Viewer::Slice(w)) => w,
            Some(Viewer::Sky) | None => 0.0,
        };
        for (i, slot) in material.textures.iter().enumerate() {
            let [r0, r1] = slot.map_or(TextureSlot::IDENTITY, |s| s.transform);
            params.transforms[2 * i] = [r0[0], r0[1], r0[2], 0.0];
            params.transforms[2 * i + 1] = [r1[0], r1[1], r1[2], 0.0];
            if let Some(slot) = slot {
                params.flags[0] |= 1 << i;
                if slot.tex_coord == 1 {
                    params.flags[1] |= 1 << i;
                }
            }
        }
        params
    }
}

/// A texture made for a scene, waiting for its upload.
pub struct NewTexture {
    /// Its index among the scene's textures.
    pub index: usize,
    /// The image's level count.
    pub levels: u32,
    pub target: ImageTarget,
    /// The packed levels its data holds (see `ImageUpload::packed`).
    pub upload_levels: u32,
    /// Whether the rest of the chain is generated after the upload.
    pub generate: bool,
    /// The data decoded on the CPU where the device does not sample the file's format: what is
    /// uploaded instead of the file's.
    pub decoded: Option<TextureData>,
}

/// What a draw needs of its material besides the set: which pipeline, which culling.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MaterialSet {
    pub set: vk::DescriptorSet,
    pub blend: bool,
    pub double_sided: bool,
    pub shader: Shader,
}

/// One scene's material resources.
#[derive(Default)]
pub struct SceneMaterials {
    /// Each texture, its view, and the state its upload left it in.
    textures: Vec<(GpuImage, vk::ImageView, ResourceState)>,
    samplers: Vec<vk::Sampler>,
    /// Every material's [`MaterialParams`], and the state its upload left it in.
    params: Option<(GpuBuffer, ResourceState)>,
    pool: vk::DescriptorPool,
    /// One per material, in the scene's material order.
    pub sets: Vec<MaterialSet>,
}

/// Materials per scene, shared by the loader and render threads.
pub struct MaterialSystem {
    device: ash::Device,
    anisotropy: Option<f32>,
    /// `minUniformBufferOffsetAlignment`: the stride of materials in the uniform buffer.
    uniform_alignment: u64,
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
    pub fn new(device: &ash::Device, anisotropy: Option<f32>, uniform_alignment: u64) -> Self {
        Self {
            device: device.clone(),
            anisotropy,
            uniform_alignment: uniform_alignment.max(1),
            scenes: Mutex::new(HashMap::new()),
        }
    }

    fn with_scene_mut<R>(&self, scene: SceneId, f: impl FnOnce(&mut SceneMaterials) -> R) -> R {
        let mut scenes = self.scenes.lock().unwrap_or_else(|p| p.into_inner());
        f(scenes.entry(scene).or_default())
    }

    /// Creates `data`'s image and view for `scene` and records them (the state is set once
    /// uploaded, [`MaterialSystem::uploaded`]); returns what the scene's upload needs of it. On
    /// failure what was made for it is destroyed.
    pub fn create_texture(
        &self,
        allocator: &Allocator,
        uploader: &Uploader,
        scene: SceneId,
        data: &TextureData,
    ) -> Result<NewTexture> {
        let what = || {
            let shape = match data.shape {
                TextureShape::Flat => String::new(),
                TextureShape::Layers(n) => format!(", {n} layers"),
                TextureShape::Cube => ", cube".into(),
                TextureShape::CubeArray(n) => format!(", {n} cubes"),
                TextureShape::Volume(depth) => format!(", depth {depth}"),
            };
            format!(
                "texture '{}' ({}x{} {:?}{shape})",
                data.name, data.width, data.height, data.format
            )
        };
        let usage = vk::ImageUsageFlags::SAMPLED
            | vk::ImageUsageFlags::TRANSFER_DST
            | vk::ImageUsageFlags::TRANSFER_SRC;
        let brings_levels = data.levels > 1;
        let base = match data.shape {
            TextureShape::Flat => ImageDesc::new_2d(data.format, data.width, data.height),
            TextureShape::Layers(n) => {
                ImageDesc::new_2d(data.format, data.width, data.height).array_layers(n)
            }
            TextureShape::Cube => ImageDesc::cube(data.format, data.width),
            TextureShape::CubeArray(n) => {
                ImageDesc::cube(data.format, data.width).array_layers(6 * n)
            }
            TextureShape::Volume(depth) => {
                ImageDesc::new_3d(data.format, data.width, data.height, depth)
            }
        };
        let mut desc = base
            .usage(usage)
            .name(&data.name)
            .mip_levels(if brings_levels {
                MipLevels::Count(data.levels)
            } else {
                MipLevels::Full
            });
        if computable(data.format) && !brings_levels && data.shape == TextureShape::Flat {
            // The compute path writes sRGB through a UNORM storage view.
            desc = desc
                .usage(vk::ImageUsageFlags::STORAGE)
                .flags(vk::ImageCreateFlags::MUTABLE_FORMAT | vk::ImageCreateFlags::EXTENDED_USAGE);
        }
        let mut image = match allocator.create_image(&desc) {
            Ok(image) => image,
            Err(vkup_allocator::Error::UnsupportedFormat { .. }) => {
                let Some(decoded) = crate::ktx2::decode_on_cpu(data) else {
                    bail!("{}: this device does not sample {:?}", what(), data.format);
                };
                tracing::info!(
                    texture = data.name,
                    format = ?data.format,
                    "the device does not sample this format: decoded on the CPU"
                );
                let decoded = decoded?;
                let mut made = self.create_texture(allocator, uploader, scene, &decoded)?;
                made.decoded = Some(decoded);
                return Ok(made);
            }
            Err(err) => return Err(anyhow::Error::from(err).context(what())),
        };
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
        let view_info = vk::ImageViewCreateInfo::default()
            .image(image.raw())
            .view_type(data.shape.view_type())
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
                // SAFETY: never used by the GPU.
                unsafe { allocator.destroy_image(image) };
                return Err(anyhow::Error::from(err).context(what()));
            }
        };
        let (levels, target) = (image.mip_levels(), ImageTarget::from(&image));
        let index = self.with_scene_mut(scene, |m| {
            m.textures.push((image, view, ResourceState::UNDEFINED));
            m.textures.len() - 1
        });
        Ok(NewTexture {
            index,
            levels,
            target,
            upload_levels: if brings_levels { data.levels } else { 1 },
            generate,
            decoded: None,
        })
    }

    /// Notes the state the scene's upload left texture `index` in.
    pub fn uploaded(&self, scene: SceneId, index: usize, state: ResourceState) {
        self.with_scene_mut(scene, |m| {
            if let Some(texture) = m.textures.get_mut(index) {
                texture.2 = state;
            }
        });
    }

    /// The stride of materials in the uniform buffer.
    fn stride(&self) -> u64 {
        (std::mem::size_of::<MaterialParams>() as u64).next_multiple_of(self.uniform_alignment)
    }

    /// Creates the uniform buffer of `materials`' factors for `scene` and records it (its state
    /// set once uploaded, [`MaterialSystem::params_uploaded`]); returns it and its bytes, for the
    /// scene's upload (`None` without materials).
    pub fn create_params(
        &self,
        allocator: &Allocator,
        scene: SceneId,
        materials: &[MaterialData],
    ) -> Result<Option<(BufferTarget, Vec<u8>)>> {
        if materials.is_empty() {
            return Ok(None);
        }
        let stride = self.stride();
        let mut bytes = vec![0u8; stride as usize * materials.len()];
        for (material, chunk) in materials
            .iter()
            .zip(bytes.chunks_exact_mut(stride as usize))
        {
            let params = MaterialParams::of(material);
            chunk[..std::mem::size_of::<MaterialParams>()]
                .copy_from_slice(bytemuck::bytes_of(&params));
        }
        let buffer = allocator
            .create_buffer(
                &BufferDesc::new(
                    bytes.len() as u64,
                    vk::BufferUsageFlags::UNIFORM_BUFFER | vk::BufferUsageFlags::TRANSFER_DST,
                )
                .name("material factors"),
            )
            .context("the materials' uniform buffer")?;
        let target = BufferTarget::from(&buffer);
        self.with_scene_mut(scene, |m| {
            m.params = Some((buffer, ResourceState::UNDEFINED))
        });
        Ok(Some((target, bytes)))
    }

    /// Notes the state the scene's upload left its materials' uniform buffer in.
    pub fn params_uploaded(&self, scene: SceneId, state: ResourceState) {
        self.with_scene_mut(scene, |m| {
            if let Some(params) = m.params.as_mut() {
                params.1 = state;
            }
        });
    }

    /// Creates one descriptor set per material of `scene` and the samplers they use, over the
    /// uniform buffer [`MaterialSystem::create_params`] made. `texture_index` maps the scene's
    /// textures to those created for it; `white` (an index into the scene's textures) is bound
    /// to every empty slot.
    pub fn create_materials(
        &self,
        scene: SceneId,
        materials: &[MaterialData],
        texture_index: &[usize],
        white: usize,
        layout: vk::DescriptorSetLayout,
    ) -> Result<()> {
        if materials.is_empty() {
            return Ok(());
        }
        let stride = self.stride();
        let device = &self.device;
        let anisotropy = self.anisotropy;
        self.with_scene_mut(scene, |m| -> Result<()> {
            let raw_buffer = m
                .params
                .as_ref()
                .map(|(buffer, _)| buffer.raw())
                .context("the materials' uniform buffer was not made")?;
            let mut sampler_of: HashMap<SamplerDesc, vk::Sampler> = HashMap::new();
            let used = materials
                .iter()
                .flat_map(|material| material.textures.iter().flatten().map(|t| t.sampler))
                .chain([SamplerDesc::default()]);
            for s in used {
                if sampler_of.contains_key(&s) {
                    continue;
                }
                // Anisotropy only for linear filtering: a nearest-filtered texture must stay crisp.
                let anisotropy = anisotropy
                    .filter(|_| s.mag == vk::Filter::LINEAR && s.min == vk::Filter::LINEAR);
                let info = vk::SamplerCreateInfo::default()
                    .mag_filter(s.mag)
                    .min_filter(s.min)
                    .mipmap_mode(s.mipmap)
                    .address_mode_u(s.wrap_u)
                    .address_mode_v(s.wrap_v)
                    // Only 3D views read W (the texture viewer's slices): clamped, so that a
                    // slice near the front never blends in the back one.
                    .address_mode_w(vk::SamplerAddressMode::CLAMP_TO_EDGE)
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
            let sizes = [
                vk::DescriptorPoolSize {
                    ty: vk::DescriptorType::COMBINED_IMAGE_SAMPLER,
                    descriptor_count: count * TEXTURE_SLOTS as u32,
                },
                vk::DescriptorPoolSize {
                    ty: vk::DescriptorType::UNIFORM_BUFFER,
                    descriptor_count: count,
                },
            ];
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
            let sets = unsafe { device.allocate_descriptor_sets(&alloc) }?;
            let view_of = |texture: usize| -> Result<vk::ImageView> {
                let Some(&created) = texture_index.get(texture) else {
                    bail!("texture {texture} of {}", texture_index.len());
                };
                match m.textures.get(created) {
                    Some((_, view, _)) => Ok(*view),
                    None => bail!("texture {created} was not created"),
                }
            };
            let white_view = view_of(white)?;
            for (i, (material, &set)) in materials.iter().zip(&sets).enumerate() {
                let mut image_infos = [vk::DescriptorImageInfo::default(); TEXTURE_SLOTS];
                for (info, slot) in image_infos.iter_mut().zip(&material.textures) {
                    let (view, sampler) = match slot {
                        Some(slot) => (
                            view_of(slot.texture)
                                .with_context(|| format!("material '{}'", material.name))?,
                            slot.sampler,
                        ),
                        None => (white_view, SamplerDesc::default()),
                    };
                    *info = vk::DescriptorImageInfo::default()
                        .sampler(sampler_of[&sampler])
                        .image_view(view)
                        .image_layout(vk::ImageLayout::SHADER_READ_ONLY_OPTIMAL);
                }
                let buffer_info = [vk::DescriptorBufferInfo::default()
                    .buffer(raw_buffer)
                    .offset(i as u64 * stride)
                    .range(std::mem::size_of::<MaterialParams>() as u64)];
                let writes = [
                    vk::WriteDescriptorSet::default()
                        .dst_set(set)
                        .dst_binding(0)
                        .descriptor_type(vk::DescriptorType::COMBINED_IMAGE_SAMPLER)
                        .image_info(&image_infos),
                    vk::WriteDescriptorSet::default()
                        .dst_set(set)
                        .dst_binding(TEXTURE_SLOTS as u32)
                        .descriptor_type(vk::DescriptorType::UNIFORM_BUFFER)
                        .buffer_info(&buffer_info),
                ];
                // SAFETY: the set, views, samplers and buffer are live and match the layout
                // (five consecutive single-sampler bindings take the five image infos).
                unsafe { device.update_descriptor_sets(&writes, &[]) };
                m.sets.push(MaterialSet {
                    set,
                    blend: material.alpha == AlphaMode::Blend,
                    double_sided: material.double_sided,
                    shader: match material.viewer {
                        None => Shader::Material,
                        Some(Viewer::Layer(_)) => Shader::Layers,
                        Some(Viewer::Sky) => Shader::Sky,
                        Some(Viewer::Slice(_)) => Shader::Slices,
                    },
                });
            }
            Ok(())
        })
    }

    /// Calls `f` with `scene`'s material sets.
    pub fn with_sets<R>(&self, scene: SceneId, f: impl FnOnce(&[MaterialSet]) -> R) -> R {
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

    /// The uniform buffer of `scene`'s materials and the state its upload left it in, for the
    /// frame graph's imports.
    pub fn buffer_states(&self, scene: SceneId) -> Vec<(BufferTarget, ResourceState, Access)> {
        let scenes = self.scenes.lock().unwrap_or_else(|p| p.into_inner());
        scenes
            .get(&scene)
            .and_then(|m| m.params.as_ref())
            .map(|(buffer, state)| {
                (
                    BufferTarget::from(buffer),
                    *state,
                    Access::FragmentShaderUniformRead,
                )
            })
            .into_iter()
            .collect()
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
            if let Some((buffer, _)) = materials.params {
                allocator.destroy_buffer(buffer);
            }
        }
    }
}
