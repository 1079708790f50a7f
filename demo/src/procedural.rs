//! Built-in scenes that need no files, each chosen to exercise a part of the upload path:
//!
//! - `grid`: 8x8 textured cubes, each with its own small texture in one of several formats
//!   (RGBA8 sRGB, BGRA8 sRGB, RGBA16F, and BC1 with every level precomputed where the device has
//!   BC): many small uploads and mip generations.
//! - `odd`: quads with non-power-of-two and odd textures (257x129, 1000x37, 333x333, 1x77, ...):
//!   partial blocks, odd mip chains.
//! - `big`: a 1024x1024-vertex terrain (1M+ vertices, 2M triangles, u32 indices) and an
//!   8192x8192 texture (256 MiB): uploads far larger than the staging ring, split into pieces.

use std::sync::{Arc, Mutex};

use ash::vk;

use crate::scene::{
    Draw, Encoding, Indices, Mat4, MaterialData, MeshData, SamplerDesc, SceneData, TextureData,
    TextureInput, TextureShape, Topology, Vertex,
};

/// The built-in scenes: name and one-line description.
pub const SCENES: [(&str, &str); 3] = [
    (
        "grid",
        "8x8 textured cubes, textures in RGBA8, BGRA8, RGBA16F and BC1",
    ),
    (
        "odd",
        "quads with odd, non-power-of-two textures (257x129, 1000x37, 1x77...)",
    ),
    (
        "big",
        "a 1M-vertex terrain and an 8192x8192 texture, both larger than the staging ring",
    ),
];

/// Builds built-in scene `name`; `bc` says whether the device samples BC formats. The data is
/// built once per process and copied after that (`--cycle` loads `big` many times).
pub fn build(name: &str, bc: bool) -> Option<SceneData> {
    static BUILT: Mutex<Vec<(String, bool, Arc<SceneData>)>> = Mutex::new(Vec::new());
    let mut built = BUILT.lock().unwrap_or_else(|p| p.into_inner());
    if let Some((_, _, data)) = built.iter().find(|(n, b, _)| n == name && *b == bc) {
        return Some(SceneData::clone(data));
    }
    let data = match name {
        "grid" => grid(bc),
        "odd" => odd(),
        "big" => big(),
        _ => return None,
    };
    let data = Arc::new(data);
    built.push((name.to_owned(), bc, Arc::clone(&data)));
    Some(SceneData::clone(&data))
}

/// A colour from a small palette.
fn palette(i: usize) -> [u8; 3] {
    const P: [[u8; 3]; 8] = [
        [230, 80, 60],
        [250, 180, 40],
        [120, 200, 80],
        [40, 170, 200],
        [90, 100, 230],
        [200, 90, 200],
        [240, 240, 240],
        [60, 60, 70],
    ];
    P[i % P.len()]
}

/// A checkerboard of `a` and `b` with `cells` cells across, sRGB RGBA8.
fn checker(width: u32, height: u32, cells: u32, a: [u8; 3], b: [u8; 3]) -> Vec<u8> {
    checker_of(
        width,
        height,
        cells,
        &[a[0], a[1], a[2], 255],
        &[b[0], b[1], b[2], 255],
    )
}

/// A checkerboard of the texels `a` and `b` (one texel's bytes each, of one length) with `cells`
/// cells across.
fn checker_of(width: u32, height: u32, cells: u32, a: &[u8], b: &[u8]) -> Vec<u8> {
    let cell = (width.max(height) / cells.max(1)).max(1);
    // Two kinds of row, by which texel starts them; each row of the board is a copy of one.
    let row = |first: &[u8], second: &[u8]| -> Vec<u8> {
        (0..width)
            .flat_map(|x| if (x / cell) % 2 == 0 { first } else { second })
            .copied()
            .collect()
    };
    let rows = [row(a, b), row(b, a)];
    let mut out = Vec::with_capacity(width as usize * height as usize * a.len());
    for y in 0..height {
        out.extend_from_slice(&rows[((y / cell) % 2) as usize]);
    }
    out
}

/// An sRGB colour as the linear RGBA16F texel that looks the same (opaque), little-endian.
fn linear_half(c: [u8; 3]) -> [u8; 8] {
    let to_linear = |c: u8| {
        let c = f32::from(c) / 255.0;
        if c <= 0.04045 {
            c / 12.92
        } else {
            ((c + 0.055) / 1.055).powf(2.4)
        }
    };
    let [r, g, b] = c.map(|c| f16_bits(to_linear(c)).to_le_bytes());
    let one = f16_bits(1.0).to_le_bytes();
    [r[0], r[1], g[0], g[1], b[0], b[1], one[0], one[1]]
}

fn rgba8(
    name: String,
    width: u32,
    height: u32,
    format: vk::Format,
    bytes: Vec<u8>,
) -> TextureInput {
    TextureInput::Ready(TextureData {
        name,
        width,
        height,
        shape: TextureShape::Flat,
        format,
        levels: 1,
        bytes,
        encoding: Encoding::Packed,
    })
}

/// A unit cube centred on the origin, 24 vertices (a normal per face).
fn cube() -> MeshData {
    let faces: [([f32; 3], [f32; 3], [f32; 3]); 6] = [
        ([1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]),
        ([-1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, 1.0, 0.0]),
        ([0.0, 1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, -1.0]),
        ([0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]),
        ([0.0, 0.0, 1.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]),
        ([0.0, 0.0, -1.0], [-1.0, 0.0, 0.0], [0.0, 1.0, 0.0]),
    ];
    let mut vertices = Vec::new();
    let mut indices = Vec::new();
    for (n, u, v) in faces {
        let base = vertices.len() as u16;
        for (su, sv) in [(-1.0, -1.0), (1.0, -1.0), (1.0, 1.0), (-1.0, 1.0)] {
            let position = std::array::from_fn(|i| 0.5 * (n[i] + su * u[i] + sv * v[i]));
            vertices.push(Vertex {
                position,
                normal: n,
                uv: [[0.5 * (su + 1.0), 0.5 * (1.0 - sv)]; 2],
                ..Vertex::default()
            });
        }
        indices.extend_from_slice(&[base, base + 1, base + 2, base, base + 2, base + 3]);
    }
    MeshData {
        name: "cube".into(),
        vertices,
        indices: Indices::U16(indices),
        topology: Topology::Triangles,
    }
}

/// A quad in the XY plane, `w` x `h`, facing +Z.
pub fn quad(w: f32, h: f32) -> MeshData {
    let vertices = [(-1.0, -1.0), (1.0, -1.0), (1.0, 1.0), (-1.0, 1.0)]
        .map(|(x, y)| Vertex {
            position: [0.5 * x * w, 0.5 * y * h, 0.0],
            normal: [0.0, 0.0, 1.0],
            uv: [[0.5 * (x + 1.0), 0.5 * (1.0 - y)]; 2],
            ..Vertex::default()
        })
        .to_vec();
    MeshData {
        name: format!("quad {w}x{h}"),
        vertices,
        indices: Indices::U16(vec![0, 1, 2, 0, 2, 3]),
        topology: Topology::Triangles,
    }
}

/// BC1 blocks of a 2-colour checker, every level of a `size` x `size` texture, packed level
/// after level (the layout `vkup_staging::packed_layouts` expects).
fn bc1_levels(size: u32, a: [u8; 3], b: [u8; 3]) -> (Vec<u8>, u32) {
    let rgb565 = |c: [u8; 3]| {
        (u16::from(c[0] >> 3) << 11) | (u16::from(c[1] >> 2) << 5) | u16::from(c[2] >> 3)
    };
    let (ca, cb) = (rgb565(a), rgb565(b));
    // color0 > color1 selects the 4-colour mode; indices 0 and 1 pick them.
    let (c0, c1, swap) = if ca > cb {
        (ca, cb, false)
    } else {
        (cb, ca.min(cb.saturating_sub(1)), true)
    };
    let levels = u32::BITS - size.leading_zeros();
    let mut out = Vec::new();
    for level in 0..levels {
        let side = (size >> level).max(1);
        let blocks = side.div_ceil(4);
        for by in 0..blocks {
            for bx in 0..blocks {
                let first = (bx + by) % 2 == 0;
                let index: u32 = if first != swap { 0 } else { 0x5555_5555 };
                out.extend_from_slice(&c0.to_le_bytes());
                out.extend_from_slice(&c1.to_le_bytes());
                out.extend_from_slice(&index.to_le_bytes());
            }
        }
    }
    (out, levels)
}

fn grid(bc: bool) -> SceneData {
    let mut scene = SceneData {
        name: "grid".into(),
        ..SceneData::default()
    };
    scene.meshes.push(cube());
    for i in 0..64usize {
        let (x, z) = ((i % 8) as f32, (i / 8) as f32);
        let size = 32u32 << (i % 3);
        let (a, b) = (palette(i), palette(i + 3));
        let name = format!("cube {i} texture");
        let texture = match i % 4 {
            0 => rgba8(
                name,
                size,
                size,
                vk::Format::R8G8B8A8_SRGB,
                checker(size, size, 4, a, b),
            ),
            1 => {
                let mut bytes = checker(size, size, 8, a, b);
                for t in bytes.chunks_exact_mut(4) {
                    t.swap(0, 2);
                }
                rgba8(name, size, size, vk::Format::B8G8R8A8_SRGB, bytes)
            }
            2 => {
                // Linear half floats of the two colours, converted once: looks the same.
                let bytes = checker_of(size, size, 2, &linear_half(a), &linear_half(b));
                rgba8(name, size, size, vk::Format::R16G16B16A16_SFLOAT, bytes)
            }
            _ if bc => {
                let (bytes, levels) = bc1_levels(size, a, b);
                TextureInput::Ready(TextureData {
                    name,
                    width: size,
                    height: size,
                    shape: TextureShape::Flat,
                    format: vk::Format::BC1_RGB_SRGB_BLOCK,
                    levels,
                    bytes,
                    encoding: Encoding::Packed,
                })
            }
            _ => rgba8(
                name,
                size,
                size,
                vk::Format::R8G8B8A8_SRGB,
                checker(size, size, 16, a, b),
            ),
        };
        scene.textures.push(texture);
        scene.materials.push(MaterialData::textured(
            &format!("cube {i}"),
            i,
            SamplerDesc::default(),
        ));
        let transform = Mat4::translation([x * 1.6 - 5.6, 0.0, z * 1.6 - 5.6])
            .mul(&Mat4::rotation_y(i as f32 * 0.3));
        scene.draws.push(Draw {
            mesh: 0,
            material: i,
            transform,
        });
    }
    scene
}

/// IEEE half-float bits of `v` (round to nearest; the demo's values are in [0, 1]).
fn f16_bits(v: f32) -> u16 {
    let bits = v.to_bits();
    let sign = ((bits >> 16) & 0x8000) as u16;
    let exp = ((bits >> 23) & 0xFF) as i32 - 127 + 15;
    let mant = bits & 0x7F_FFFF;
    if exp <= 0 {
        if exp < -10 {
            return sign;
        }
        let m = (mant | 0x80_0000) >> (1 - exp);
        return sign | ((m + 0x1000) >> 13) as u16;
    }
    if exp >= 31 {
        return sign | 0x7C00;
    }
    let rounded = (((exp as u32) << 10) | (mant >> 13)) + ((mant >> 12) & 1);
    sign | rounded as u16
}

fn odd() -> SceneData {
    let mut scene = SceneData {
        name: "odd".into(),
        ..SceneData::default()
    };
    let sizes = [
        (257u32, 129u32),
        (1000, 37),
        (333, 333),
        (1, 77),
        (129, 255),
        (17, 3),
    ];
    for (i, &(w, h)) in sizes.iter().enumerate() {
        let aspect = w as f32 / h as f32;
        let (qw, qh) = if aspect >= 1.0 {
            (2.0, 2.0 / aspect.min(8.0))
        } else {
            (2.0 * aspect.max(0.125), 2.0)
        };
        scene.meshes.push(quad(qw, qh));
        scene.textures.push(rgba8(
            format!("{w}x{h}"),
            w,
            h,
            vk::Format::R8G8B8A8_SRGB,
            checker(w, h, 7, palette(i), palette(i + 4)),
        ));
        scene.materials.push(MaterialData::textured(
            &format!("{w}x{h}"),
            i,
            SamplerDesc::default(),
        ));
        let (col, row) = ((i % 3) as f32, (i / 3) as f32);
        scene.draws.push(Draw {
            mesh: i,
            material: i,
            transform: Mat4::translation([col * 2.6 - 2.6, 1.3 - row * 2.6, 0.0]),
        });
    }
    scene
}

fn big() -> SceneData {
    const N: u32 = 1024;
    const TEX: u32 = 8192;
    let mut vertices = Vec::with_capacity((N * N) as usize);
    let height =
        |x: f32, z: f32| 0.08 * ((x * 9.0).sin() + (z * 7.0).cos()) + 0.04 * ((x + z) * 23.0).sin();
    for j in 0..N {
        for i in 0..N {
            let (u, v) = (i as f32 / (N - 1) as f32, j as f32 / (N - 1) as f32);
            let (x, z) = (u * 4.0 - 2.0, v * 4.0 - 2.0);
            let e = 1e-3;
            let dx = (height(x + e, z) - height(x - e, z)) / (2.0 * e);
            let dz = (height(x, z + e) - height(x, z - e)) / (2.0 * e);
            let l = (dx * dx + 1.0 + dz * dz).sqrt();
            vertices.push(Vertex {
                position: [x, height(x, z), z],
                normal: [-dx / l, 1.0 / l, -dz / l],
                uv: [[u, v]; 2],
                ..Vertex::default()
            });
        }
    }
    let mut indices = Vec::with_capacity(((N - 1) * (N - 1) * 6) as usize);
    for j in 0..N - 1 {
        for i in 0..N - 1 {
            let a = j * N + i;
            indices.extend_from_slice(&[a, a + N, a + 1, a + 1, a + N, a + N + 1]);
        }
    }
    // A texture whose fine detail shows the mips: a grid of lines over a colour gradient.
    let mut bytes = vec![0u8; (TEX * TEX * 4) as usize];
    for (y, row) in bytes.chunks_exact_mut((TEX * 4) as usize).enumerate() {
        let y = y as u32;
        for (x, t) in row.chunks_exact_mut(4).enumerate() {
            let x = x as u32;
            let line = x % 256 < 6 || y % 256 < 6;
            let fine = (x / 8 + y / 8) % 2 == 0;
            let (r, g, b) = if line {
                (250, 250, 250)
            } else {
                let base = [
                    (x * 200 / TEX) as u8 + 30,
                    (y * 180 / TEX) as u8 + 40,
                    120u8,
                ];
                let k = if fine { 1.0 } else { 0.8 };
                let f = |c: u8| (f32::from(c) * k) as u8;
                (f(base[0]), f(base[1]), f(base[2]))
            };
            t.copy_from_slice(&[r, g, b, 255]);
        }
    }
    let mut scene = SceneData {
        name: "big".into(),
        ..SceneData::default()
    };
    scene.meshes.push(MeshData {
        name: "terrain".into(),
        vertices,
        indices: Indices::U32(indices),
        topology: Topology::Triangles,
    });
    scene.textures.push(rgba8(
        "8192x8192".into(),
        TEX,
        TEX,
        vk::Format::R8G8B8A8_SRGB,
        bytes,
    ));
    scene
        .materials
        .push(MaterialData::textured("terrain", 0, SamplerDesc::default()));
    scene.draws.push(Draw {
        mesh: 0,
        material: 0,
        transform: Mat4::IDENTITY,
    });
    scene
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn half_floats_round_to_nearest() {
        assert_eq!(f16_bits(0.0), 0);
        assert_eq!(f16_bits(1.0), 0x3C00);
        assert_eq!(f16_bits(0.5), 0x3800);
        assert_eq!(f16_bits(0.333_333_34), 0x3555);
    }

    #[test]
    fn linear_half_texels_decode_srgb() {
        // sRGB 0 and 255 are linear 0 and 1; 188 is 0.5029 (half 0x3806); alpha is 1.
        assert_eq!(
            linear_half([0, 255, 188]),
            [0, 0, 0, 0x3C, 0x06, 0x38, 0, 0x3C]
        );
        let board = checker_of(4, 2, 2, &linear_half([0; 3]), &linear_half([255; 3]));
        assert_eq!(board.len(), 4 * 2 * 8);
        assert_eq!(&board[..8], &linear_half([0; 3]));
        assert_eq!(&board[16..24], &linear_half([255; 3]));
    }

    #[test]
    fn checkers_alternate_by_cell_in_both_directions() {
        for (w, h, cells) in [
            (32, 32, 4),
            (257, 129, 7),
            (1, 77, 7),
            (1000, 37, 7),
            (5, 3, 16),
        ] {
            let board = checker(w, h, cells, [1, 2, 3], [4, 5, 6]);
            assert_eq!(board.len(), (w * h * 4) as usize);
            let cell = (w.max(h) / cells).max(1);
            for (i, texel) in board.chunks_exact(4).enumerate() {
                let (x, y) = (i as u32 % w, i as u32 / w);
                let want = if (x / cell + y / cell) % 2 == 0 {
                    [1, 2, 3, 255]
                } else {
                    [4, 5, 6, 255]
                };
                assert_eq!(texel, want, "{w}x{h} at {x},{y}");
            }
        }
    }

    #[test]
    fn bc1_levels_cover_every_level_of_the_chain() {
        let (bytes, levels) = bc1_levels(64, [255, 0, 0], [0, 0, 255]);
        assert_eq!(levels, 7);
        // 16x16 + 8x8 + 4x4 + 2x2 + 1 + 1 + 1 blocks of 8 bytes.
        assert_eq!(bytes.len(), (256 + 64 + 16 + 4 + 1 + 1 + 1) * 8);
    }

    #[test]
    fn a_cube_has_four_vertices_and_two_triangles_per_face() {
        let cube = cube();
        assert_eq!(cube.vertices.len(), 24);
        assert_eq!(cube.indices.len(), 36);
    }
}
