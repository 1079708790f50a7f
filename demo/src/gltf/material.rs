//! glTF materials as the viewer draws them: metallic-roughness with its five textures and
//! factors (or KHR_materials_pbrSpecularGlossiness), each texture's `texCoord` set and
//! KHR_texture_transform, alpha modes, double-sided. A texture used as colour (base colour,
//! emissive, diffuse, specular) is uploaded as sRGB; one used as data as UNORM; an image used
//! both ways becomes two textures.

use std::collections::HashMap;

use ash::vk;
use serde_json::Value;

use super::document::Source;
use super::LoadError;
use crate::scene::{
    AlphaMode, MaterialData, SamplerDesc, SceneData, TextureInput, TextureSlot, Workflow,
    BASE_COLOR, EMISSIVE, METALLIC_ROUGHNESS, NORMAL, OCCLUSION,
};

/// The sampler a glTF texture names (glTF's defaults where it names none).
fn sampler(texture: &gltf::Texture<'_>) -> SamplerDesc {
    use gltf::texture::{MagFilter, MinFilter, WrappingMode};
    let s = texture.sampler();
    let wrap = |w| match w {
        WrappingMode::ClampToEdge => vk::SamplerAddressMode::CLAMP_TO_EDGE,
        WrappingMode::MirroredRepeat => vk::SamplerAddressMode::MIRRORED_REPEAT,
        WrappingMode::Repeat => vk::SamplerAddressMode::REPEAT,
    };
    let mipmapped = !matches!(s.min_filter(), Some(MinFilter::Nearest | MinFilter::Linear));
    let (min, mipmap) = match s.min_filter() {
        Some(MinFilter::Nearest | MinFilter::NearestMipmapNearest) => {
            (vk::Filter::NEAREST, vk::SamplerMipmapMode::NEAREST)
        }
        Some(MinFilter::NearestMipmapLinear) => {
            (vk::Filter::NEAREST, vk::SamplerMipmapMode::LINEAR)
        }
        Some(MinFilter::LinearMipmapNearest) => {
            (vk::Filter::LINEAR, vk::SamplerMipmapMode::NEAREST)
        }
        _ => (vk::Filter::LINEAR, vk::SamplerMipmapMode::LINEAR),
    };
    SamplerDesc {
        mag: match s.mag_filter() {
            Some(MagFilter::Nearest) => vk::Filter::NEAREST,
            _ => vk::Filter::LINEAR,
        },
        min,
        mipmap,
        mipmapped,
        wrap_u: wrap(s.wrap_s()),
        wrap_v: wrap(s.wrap_t()),
    }
}

/// KHR_texture_transform's matrix `T * R * S` as two rows of a 2x3 matrix (the extension's
/// rotation turns counter-clockwise in UV space: `[cos sin; -sin cos]`).
pub fn transform_rows(offset: [f32; 2], rotation: f32, scale: [f32; 2]) -> [[f32; 3]; 2] {
    let (sin, cos) = rotation.sin_cos();
    [
        [cos * scale[0], sin * scale[1], offset[0]],
        [-sin * scale[0], cos * scale[1], offset[1]],
    ]
}

fn floats<const N: usize>(value: Option<&Value>, default: [f32; N]) -> [f32; N] {
    let Some(array) = value.and_then(Value::as_array) else {
        return default;
    };
    std::array::from_fn(|i| {
        array
            .get(i)
            .and_then(Value::as_f64)
            .map_or(default[i], |v| v as f32)
    })
}

fn float(value: Option<&Value>, default: f32) -> f32 {
    value.and_then(Value::as_f64).map_or(default, |v| v as f32)
}

/// Turns the file's materials into the scene's, adding the textures they use.
pub struct Materials<'a> {
    source: &'a Source,
    scene: &'a mut SceneData,
    /// (image index, sRGB) -> the scene's texture.
    textures: HashMap<(usize, bool), usize>,
}

impl<'a> Materials<'a> {
    pub fn new(source: &'a Source, scene: &'a mut SceneData) -> Self {
        Self {
            source,
            scene,
            textures: HashMap::new(),
        }
    }

    /// The scene's texture for image `image` in the colour space asked for.
    fn texture(&mut self, image: gltf::Image<'_>, srgb: bool) -> Result<usize, LoadError> {
        if let Some(&index) = self.textures.get(&(image.index(), srgb)) {
            return Ok(index);
        }
        let at = format!("images[{}]", image.index());
        let bytes = match image.source() {
            gltf::image::Source::View { view, .. } => self
                .source
                .view_bytes(&view, &format!("{at}.bufferView"))?
                .to_vec(),
            gltf::image::Source::Uri { uri, .. } => {
                self.source.read_uri(uri, &format!("{at}.uri"))?
            }
        };
        self.scene.textures.push(TextureInput::Encoded {
            what: format!(
                "{}: {at}{}",
                self.source.file.display(),
                image.name().map(|n| format!(" ({n})")).unwrap_or_default()
            ),
            bytes,
            srgb,
        });
        let index = self.scene.textures.len() - 1;
        self.textures.insert((image.index(), srgb), index);
        Ok(index)
    }

    /// One texture reference (`at`: its textureInfo's JSON path) as a slot.
    fn slot(
        &mut self,
        texture: gltf::Texture<'_>,
        tex_coord: u32,
        at: &str,
        srgb: bool,
    ) -> Result<TextureSlot, LoadError> {
        let transform = self
            .source
            .json_at(&format!("{at}.extensions.KHR_texture_transform"));
        let tex_coord = transform
            .and_then(|t| t.get("texCoord"))
            .and_then(Value::as_u64)
            .map_or(tex_coord, |t| t.min(u64::from(u32::MAX)) as u32);
        if tex_coord > 1 {
            return Err(self.source.invalid(
                at,
                format!("texCoord {tex_coord}: this viewer reads TEXCOORD_0 and TEXCOORD_1"),
            ));
        }
        let transform = transform.map_or(TextureSlot::IDENTITY, |t| {
            transform_rows(
                floats(t.get("offset"), [0.0, 0.0]),
                float(t.get("rotation"), 0.0),
                floats(t.get("scale"), [1.0, 1.0]),
            )
        });
        Ok(TextureSlot {
            texture: self.texture(texture.source(), srgb)?,
            sampler: sampler(&texture),
            tex_coord,
            transform,
        })
    }

    /// A texture named by index in an extension's JSON (`at`: the textureInfo's path).
    fn slot_from_json(&mut self, at: &str, srgb: bool) -> Result<Option<TextureSlot>, LoadError> {
        let Some(info) = self.source.json_at(at) else {
            return Ok(None);
        };
        let count = self.source.document.textures().len();
        let texture = info
            .get("index")
            .and_then(Value::as_u64)
            .and_then(|i| self.source.document.textures().nth(i as usize));
        let Some(texture) = texture else {
            return Err(self.source.invalid(
                format!("{at}.index"),
                format!("names no texture of the file's {count}"),
            ));
        };
        let tex_coord = info.get("texCoord").and_then(Value::as_u64).unwrap_or(0);
        self.slot(texture, tex_coord.min(u64::from(u32::MAX)) as u32, at, srgb)
            .map(Some)
    }

    /// The scene material for `material`.
    pub fn material(&mut self, material: &gltf::Material<'_>) -> Result<MaterialData, LoadError> {
        let Some(index) = material.index() else {
            return Ok(MaterialData::new("default"));
        };
        let at = format!("materials[{index}]");
        let mut data = MaterialData::new(material.name().unwrap_or("material"));
        let pbr = material.pbr_metallic_roughness();
        data.base_color = pbr.base_color_factor();
        data.workflow = Workflow::MetallicRoughness {
            metallic: pbr.metallic_factor(),
            roughness: pbr.roughness_factor(),
        };
        let pbr_at = format!("{at}.pbrMetallicRoughness");
        if let Some(info) = pbr.base_color_texture() {
            data.textures[BASE_COLOR] = Some(self.slot(
                info.texture(),
                info.tex_coord(),
                &format!("{pbr_at}.baseColorTexture"),
                true,
            )?);
        }
        if let Some(info) = pbr.metallic_roughness_texture() {
            data.textures[METALLIC_ROUGHNESS] = Some(self.slot(
                info.texture(),
                info.tex_coord(),
                &format!("{pbr_at}.metallicRoughnessTexture"),
                false,
            )?);
        }
        let gloss_at = format!("{at}.extensions.KHR_materials_pbrSpecularGlossiness");
        if let Some(gloss) = self.source.json_at(&gloss_at) {
            data.base_color = floats(gloss.get("diffuseFactor"), [1.0; 4]);
            data.workflow = Workflow::SpecularGlossiness {
                specular: floats(gloss.get("specularFactor"), [1.0; 3]),
                glossiness: float(gloss.get("glossinessFactor"), 1.0),
            };
            data.textures[BASE_COLOR] =
                self.slot_from_json(&format!("{gloss_at}.diffuseTexture"), true)?;
            // Specular is colour (sRGB), glossiness in alpha is linear either way.
            data.textures[METALLIC_ROUGHNESS] =
                self.slot_from_json(&format!("{gloss_at}.specularGlossinessTexture"), true)?;
        }
        if let Some(normal) = material.normal_texture() {
            data.normal_scale = normal.scale();
            data.textures[NORMAL] = Some(self.slot(
                normal.texture(),
                normal.tex_coord(),
                &format!("{at}.normalTexture"),
                false,
            )?);
        }
        if let Some(occlusion) = material.occlusion_texture() {
            data.occlusion_strength = occlusion.strength();
            data.textures[OCCLUSION] = Some(self.slot(
                occlusion.texture(),
                occlusion.tex_coord(),
                &format!("{at}.occlusionTexture"),
                false,
            )?);
        }
        let strength = float(
            self.source.json_at(&format!(
                "{at}.extensions.KHR_materials_emissive_strength.emissiveStrength"
            )),
            1.0,
        );
        data.emissive = material.emissive_factor().map(|c| c * strength);
        if let Some(info) = material.emissive_texture() {
            data.textures[EMISSIVE] = Some(self.slot(
                info.texture(),
                info.tex_coord(),
                &format!("{at}.emissiveTexture"),
                true,
            )?);
        }
        data.alpha = match material.alpha_mode() {
            gltf::material::AlphaMode::Opaque => AlphaMode::Opaque,
            gltf::material::AlphaMode::Mask => {
                AlphaMode::Mask(material.alpha_cutoff().unwrap_or(0.5))
            }
            gltf::material::AlphaMode::Blend => AlphaMode::Blend,
        };
        data.double_sided = material.double_sided();
        Ok(data)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texture_transforms_compose_translation_rotation_scale() {
        let apply = |m: [[f32; 3]; 2], uv: [f32; 2]| {
            [
                m[0][0] * uv[0] + m[0][1] * uv[1] + m[0][2],
                m[1][0] * uv[0] + m[1][1] * uv[1] + m[1][2],
            ]
        };
        let close =
            |a: [f32; 2], b: [f32; 2]| (a[0] - b[0]).abs() < 1e-6 && (a[1] - b[1]).abs() < 1e-6;
        // Scale first, then rotate, then offset.
        let m = transform_rows([0.5, 0.25], 0.0, [2.0, 3.0]);
        assert!(close(apply(m, [1.0, 1.0]), [2.5, 3.25]));
        // A quarter turn maps u to -v (the extension's matrix).
        let m = transform_rows([0.0, 0.0], std::f32::consts::FRAC_PI_2, [1.0, 1.0]);
        assert!(
            close(apply(m, [1.0, 0.0]), [0.0, -1.0]),
            "{:?}",
            apply(m, [1.0, 0.0])
        );
    }
}
