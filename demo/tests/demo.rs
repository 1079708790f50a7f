//! The demo, run as a user would: its binary with validation on, in a real window (under Xvfb in
//! CI: `scripts/test` provides the display) and headless.
//!
//! Screenshots are compared with committed references rendered on lavapipe. The measure: the
//! largest channel difference of each pixel (0-255); the mean of those must stay within 1.5, and
//! at most 0.5% of pixels may differ by more than 32 (rasterisation at triangle edges is the
//! driver's choice; texture and shading errors move far more pixels than that).

mod common;
#[path = "common/ktx2_writer.rs"]
mod ktx2_writer;
use common::difference;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use base64::Engine as _;

const SIZE: &str = "320x180";

fn demo() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_demo"));
    command.env(
        "LP_NUM_THREADS",
        std::env::var("LP_NUM_THREADS").unwrap_or_else(|_| "2".into()),
    );
    // The pipeline cache goes to the tests' directory, not the user's.
    command.env("XDG_CACHE_HOME", temp("cache"));
    command
}

fn windowed() -> Command {
    assert!(
        std::env::var_os("DISPLAY").is_some(),
        "the windowed demo tests need a display: run them through scripts/test, which starts Xvfb"
    );
    let mut command = demo();
    command.args(["--size", SIZE]);
    command
}

fn headless() -> Command {
    let mut command = demo();
    command.args(["--headless", SIZE]);
    command
}

fn run(mut command: Command) -> Output {
    let output = command.output().expect("the demo runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    let stdout = String::from_utf8_lossy(&output.stdout);
    println!("--- stdout\n{stdout}\n--- stderr\n{stderr}");
    output
}

fn succeeds(command: Command) -> Output {
    let output = run(command);
    assert!(
        output.status.success(),
        "the demo failed: {:?}",
        output.status
    );
    output
}

fn temp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("demo-tests-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

fn screenshot(mut command: Command, name: &str) -> image::RgbaImage {
    let path = temp(name);
    command.args([
        "--frames",
        "3",
        "--validation",
        "--check-leaks",
        "--screenshot",
    ]);
    command.arg(&path);
    succeeds(command);
    image::open(&path).unwrap().into_rgba8()
}

fn assert_close(a: &image::RgbaImage, b: &image::RgbaImage, what: &str) {
    let (mean, far) = difference(a, b);
    println!(
        "{what}: mean max-channel difference {mean:.3}, {:.3}% of pixels beyond 32",
        far * 100.0
    );
    assert!(
        mean <= 1.5 && far <= 0.005,
        "{what}: mean {mean:.3}, far {far:.4}"
    );
}

fn reference(scene: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/reference")
        .join(format!("{scene}.png"))
}

#[test]
fn every_builtin_scene_in_a_window_matches_its_reference_and_headless_matches_the_window() {
    for scene in ["grid", "odd", "big"] {
        let mut window = windowed();
        window.args(["--scene", scene]);
        let window = screenshot(window, &format!("{scene}-window.png"));
        let mut offscreen = headless();
        offscreen.args(["--scene", scene]);
        let offscreen = screenshot(offscreen, &format!("{scene}-headless.png"));
        assert_close(
            &window,
            &offscreen,
            &format!("{scene}: window against headless"),
        );
        let path = reference(scene);
        if std::env::var_os("DEMO_WRITE_REFERENCES").is_some() {
            offscreen.save(&path).unwrap();
        }
        let reference = image::open(&path)
            .unwrap_or_else(|e| {
                panic!(
                    "{}: {e} (DEMO_WRITE_REFERENCES=1 writes it)",
                    path.display()
                )
            })
            .into_rgba8();
        assert_close(
            &window,
            &reference,
            &format!("{scene}: window against the reference"),
        );
    }
}

#[test]
fn a_resized_window_keeps_drawing_and_the_next_frames_are_the_new_size() {
    let mut command = windowed();
    command.args(["--scene", "odd", "--resize", "400x300@4"]);
    let shot = screenshot(command, "resized.png");
    assert_eq!(shot.dimensions(), (400, 300));
}

#[test]
fn aliased_and_unaliased_transients_render_the_same_frame() {
    for scene in ["grid", "odd"] {
        let mut aliased = headless();
        aliased.args(["--scene", scene]);
        let aliased = screenshot(aliased, &format!("{scene}-aliased.png"));
        let mut unaliased = headless();
        unaliased.args(["--scene", scene, "--no-aliasing"]);
        let unaliased = screenshot(unaliased, &format!("{scene}-unaliased.png"));
        let identical = aliased
            .pixels()
            .zip(unaliased.pixels())
            .filter(|(a, b)| a == b)
            .count();
        println!(
            "{scene}: {identical} of {} pixels identical",
            aliased.pixels().len()
        );
        assert_close(
            &aliased,
            &unaliased,
            &format!("{scene}: aliased against unaliased transients"),
        );
    }
}

/// The bloom chain as compute dispatches (on the compute queue where the device has one without
/// graphics: the H200's frame is then three submissions on two queues) renders the frame its
/// fragment passes render, within one code per channel (the two filter the same taps; float
/// rounding differs), and every pixel of it close.
#[test]
fn bloom_by_compute_dispatch_renders_the_frame_the_fragment_passes_render() {
    let mut fragment = headless();
    fragment.args(["--scene", "grid", "--bloom", "fragment"]);
    let fragment = screenshot(fragment, "grid-bloom-fragment.png");
    let mut compute = headless();
    compute.args(["--scene", "grid", "--bloom", "compute"]);
    let compute = screenshot(compute, "grid-bloom-compute.png");
    let worst = fragment
        .pixels()
        .zip(compute.pixels())
        .flat_map(|(a, b)| (0..4).map(move |c| a.0[c].abs_diff(b.0[c])))
        .max()
        .unwrap_or(0);
    println!("bloom by compute against fragment passes: largest difference {worst}");
    assert!(worst <= 1, "a channel differs by {worst}");
}

/// The `transient memory` lines of a log: (extent, aliasing, aliased pairs).
fn transient_lines(log: &str) -> Vec<(String, bool, u32)> {
    let field = |line: &str, key: &str| -> String {
        line.split_whitespace()
            .find_map(|w| w.strip_prefix(key))
            .unwrap_or_default()
            .to_owned()
    };
    log.lines()
        .filter(|l| l.contains("transient memory"))
        .map(|l| {
            (
                field(l, "extent="),
                field(l, "aliasing=") == "true",
                field(l, "aliased_pairs=").parse().unwrap_or(0),
            )
        })
        .collect()
}

#[test]
fn a_hundred_aliased_frames_through_a_resize_are_clean_and_re_place_the_transients() {
    let mut command = windowed();
    command.args([
        "--scene",
        "grid",
        "--frames",
        "100",
        "--resize",
        "400x300@50",
        "--validation",
        "--check-leaks",
    ]);
    let output = succeeds(command);
    let log = String::from_utf8_lossy(&output.stdout);
    let placed = transient_lines(&log);
    println!("{placed:?}");
    assert!(
        placed
            .iter()
            .all(|&(_, aliasing, pairs)| aliasing && pairs >= 2),
        "every placement aliases at least two pairs of transients: {placed:?}"
    );
    let extents: Vec<&str> = placed.iter().map(|(e, ..)| e.as_str()).collect();
    assert_eq!(extents.first(), Some(&"320x180"), "{placed:?}");
    assert_eq!(
        extents.last(),
        Some(&"400x300"),
        "re-placed for the new size"
    );
}

/// A glTF scene: one quad facing +Z with a 2x2 texture (red, green / blue, white), nearest
/// sampling, as `(json, bin, png)` with the buffer and image named by `buffer_uri` and
/// `image_uri` (None: in the GLB binary chunk / a buffer view).
fn gltf_parts(buffer_uri: Option<&str>, image_uri: Option<&str>) -> (String, Vec<u8>, Vec<u8>) {
    let mut png = Vec::new();
    let texels = image::RgbaImage::from_raw(
        2,
        2,
        vec![
            255, 0, 0, 255, 0, 255, 0, 255, //
            0, 0, 255, 255, 255, 255, 255, 255,
        ],
    )
    .unwrap();
    texels
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .unwrap();
    let positions: [[f32; 3]; 4] = [
        [-1.0, -1.0, 0.0],
        [1.0, -1.0, 0.0],
        [1.0, 1.0, 0.0],
        [-1.0, 1.0, 0.0],
    ];
    let uvs: [[f32; 2]; 4] = [[0.0, 1.0], [1.0, 1.0], [1.0, 0.0], [0.0, 0.0]];
    let indices: [u16; 6] = [0, 1, 2, 0, 2, 3];
    let mut bin = Vec::new();
    bin.extend_from_slice(bytemuck::cast_slice(&positions));
    bin.extend_from_slice(bytemuck::cast_slice(&uvs));
    bin.extend_from_slice(bytemuck::cast_slice(&indices));
    bin.extend_from_slice(&[0, 0]);
    let image_view = bin.len();
    if image_uri.is_none() {
        bin.extend_from_slice(&png);
        while bin.len() % 4 != 0 {
            bin.push(0);
        }
    }
    let buffer = match buffer_uri {
        Some(uri) => format!(r#"{{"byteLength": {}, "uri": "{uri}"}}"#, bin.len()),
        None => format!(r#"{{"byteLength": {}}}"#, bin.len()),
    };
    let image = match image_uri {
        Some(uri) => format!(r#"{{"uri": "{uri}"}}"#),
        None => r#"{"bufferView": 3, "mimeType": "image/png"}"#.to_owned(),
    };
    let json = format!(
        r#"{{
  "asset": {{"version": "2.0"}},
  "scene": 0,
  "scenes": [{{"nodes": [0]}}],
  "nodes": [{{"children": [1], "translation": [0.5, 0, 0]}}, {{"mesh": 0, "translation": [-0.5, 0, 0]}}],
  "meshes": [{{"primitives": [{{"attributes": {{"POSITION": 0, "TEXCOORD_0": 1}}, "indices": 2, "material": 0}}]}}],
  "materials": [{{"pbrMetallicRoughness": {{"baseColorTexture": {{"index": 0}}}}}}],
  "textures": [{{"source": 0, "sampler": 0}}],
  "samplers": [{{"magFilter": 9728, "minFilter": 9728, "wrapS": 33071, "wrapT": 33071}}],
  "images": [{image}],
  "buffers": [{buffer}],
  "bufferViews": [
    {{"buffer": 0, "byteOffset": 0, "byteLength": 48}},
    {{"buffer": 0, "byteOffset": 48, "byteLength": 32}},
    {{"buffer": 0, "byteOffset": 80, "byteLength": 12}},
    {{"buffer": 0, "byteOffset": {image_view}, "byteLength": {png_len}}}
  ],
  "accessors": [
    {{"bufferView": 0, "componentType": 5126, "count": 4, "type": "VEC3", "min": [-1, -1, 0], "max": [1, 1, 0]}},
    {{"bufferView": 1, "componentType": 5126, "count": 4, "type": "VEC2"}},
    {{"bufferView": 2, "componentType": 5123, "count": 6, "type": "SCALAR"}}
  ]
}}"#,
        png_len = png.len(),
    );
    (json, bin, png)
}

/// The same scene as a GLB.
fn glb() -> Vec<u8> {
    let (json, bin, _) = gltf_parts(None, None);
    let mut json = json.into_bytes();
    while json.len() % 4 != 0 {
        json.push(b' ');
    }
    let total = 12 + 8 + json.len() + 8 + bin.len();
    let mut out = Vec::new();
    out.extend_from_slice(b"glTF");
    out.extend_from_slice(&2u32.to_le_bytes());
    out.extend_from_slice(&(total as u32).to_le_bytes());
    out.extend_from_slice(&(json.len() as u32).to_le_bytes());
    out.extend_from_slice(b"JSON");
    out.extend_from_slice(&json);
    out.extend_from_slice(&(bin.len() as u32).to_le_bytes());
    out.extend_from_slice(b"BIN\0");
    out.extend_from_slice(&bin);
    out
}

/// The scene with everything embedded as data URIs.
fn embedded_gltf() -> String {
    let b64 = |bytes: &[u8]| base64::engine::general_purpose::STANDARD.encode(bytes);
    let (_, bin, png) = gltf_parts(None, Some("X"));
    let (json, _, _) = gltf_parts(
        Some(&format!(
            "data:application/octet-stream;base64,{}",
            b64(&bin)
        )),
        Some(&format!("data:image/png;base64,{}", b64(&png))),
    );
    json
}

/// Writes the scene as a .gltf with a .bin and a .png beside it; returns the .gltf's path.
fn external_gltf(dir: &str) -> PathBuf {
    let dir = temp(dir);
    std::fs::create_dir_all(&dir).unwrap();
    let (json, bin, png) = gltf_parts(Some("quad.bin"), Some("quad%20texture.png"));
    std::fs::write(dir.join("quad.gltf"), json).unwrap();
    std::fs::write(dir.join("quad.bin"), bin).unwrap();
    std::fs::write(dir.join("quad texture.png"), png).unwrap();
    dir.join("quad.gltf")
}

/// How many pixels are clearly `which` (lit, so darker than the texel), and their centroid.
fn find(shot: &image::RgbaImage, which: [bool; 3]) -> (usize, (f64, f64)) {
    let (mut n, mut sx, mut sy) = (0usize, 0.0, 0.0);
    for (x, y, p) in shot.enumerate_pixels() {
        if (0..3).all(|c| if which[c] { p.0[c] > 140 } else { p.0[c] < 70 }) {
            n += 1;
            sx += f64::from(x);
            sy += f64::from(y);
        }
    }
    (n, (sx / n.max(1) as f64, sy / n.max(1) as f64))
}

#[test]
fn a_gltf_scene_in_every_form_renders_its_texture_colours() {
    let embedded = temp("embedded.gltf");
    std::fs::write(&embedded, embedded_gltf()).unwrap();
    let binary = temp("quad.glb");
    std::fs::write(&binary, glb()).unwrap();
    let external = external_gltf("external");
    let mut shots = Vec::new();
    for path in [&embedded, &binary, &external] {
        let mut command = headless();
        command.arg("--scene").arg(path);
        let shot = screenshot(command, "gltf.png");
        let mut at = Vec::new();
        for (colour, which) in [
            ("red", [true, false, false]),
            ("green", [false, true, false]),
            ("blue", [false, false, true]),
            ("white", [true, true, true]),
        ] {
            let (n, centroid) = find(&shot, which);
            assert!(n > 500, "{}: only {n} {colour} pixels", path.display());
            at.push(centroid);
        }
        // The texture's layout: red | green over blue | white (uv (0,0) at the top left).
        let (red, green, blue, white) = (at[0], at[1], at[2], at[3]);
        assert!(
            red.0 < green.0 && blue.0 < white.0,
            "{}: left/right swapped",
            path.display()
        );
        assert!(
            red.1 < blue.1 && green.1 < white.1,
            "{}: top/bottom swapped",
            path.display()
        );
        shots.push(shot);
    }
    assert_close(&shots[0], &shots[1], "embedded .gltf against .glb");
    assert_close(
        &shots[0],
        &shots[2],
        "embedded .gltf against external files",
    );
}

/// The quad's texture through TEXCOORD_1 (the file has no TEXCOORD_0: sampled through it, the
/// quad would be all red, the texel at (0, 0)) and KHR_texture_transform's offset and scale
/// onto the texture's right column: green over white, no red, no blue.
#[test]
fn texture_coordinate_sets_and_transforms_pick_the_texels_the_file_says() {
    let attributes = r#""attributes": {"POSITION": 0, "TEXCOORD_0": 1}"#;
    let material = r#""materials": [{"pbrMetallicRoughness": {"baseColorTexture": {"index": 0}}}]"#;
    let json = embedded_gltf();
    assert!(json.contains(attributes) && json.contains(material));
    let json = json
        .replace(
            attributes,
            r#""attributes": {"POSITION": 0, "TEXCOORD_1": 1}"#,
        )
        .replace(
            material,
            r#""extensionsUsed": ["KHR_texture_transform"],
  "materials": [{"pbrMetallicRoughness": {"baseColorTexture": {"index": 0, "texCoord": 1,
    "extensions": {"KHR_texture_transform": {"offset": [0.5, 0], "scale": [0.5, 1]}}}}}]"#,
        );
    let path = temp("transformed.gltf");
    std::fs::write(&path, json).unwrap();
    let mut command = headless();
    command.arg("--scene").arg(&path);
    let shot = screenshot(command, "transformed.png");
    let (green, at_green) = find(&shot, [false, true, false]);
    let (white, at_white) = find(&shot, [true, true, true]);
    let (red, _) = find(&shot, [true, false, false]);
    let (blue, _) = find(&shot, [false, false, true]);
    assert!(green > 2000 && white > 2000, "green {green}, white {white}");
    assert!(
        red == 0 && blue == 0,
        "red {red}, blue {blue}: the transform was not applied"
    );
    assert!(at_green.1 < at_white.1, "green is not above white");
}

/// A KTX2 file with its own chain, each level one colour (red, green, blue, then white): the
/// 1024x1024 texture is drawn about 170 pixels wide, so sampling picks levels 2 and 3 (blue
/// and white) and never level 0 or 1. Had the stored chain been replaced by a generated one, the
/// quad would be red. A file with a broken level is refused by name and exits non-zero.
#[test]
fn a_ktx2_texture_shows_its_stored_levels() {
    use ash::vk;
    let colours = [[255, 0, 0, 255], [0, 255, 0, 255], [0, 0, 255, 255]];
    let levels: Vec<Vec<u8>> = (0..11)
        .map(|i| {
            let size = 1024usize >> i;
            let rgba: [u8; 4] = colours.get(i).copied().unwrap_or([255; 4]);
            rgba.repeat(size * size)
        })
        .collect();
    let path = temp("levels.ktx2");
    std::fs::write(
        &path,
        ktx2_writer::write(vk::Format::R8G8B8A8_SRGB, 1024, 1024, &levels, true),
    )
    .unwrap();
    let mut command = headless();
    command.arg("--scene").arg(&path);
    let shot = screenshot(command, "ktx2.png");
    let (red, _) = find(&shot, [true, false, false]);
    let (green, _) = find(&shot, [false, true, false]);
    let bluish = shot.pixels().filter(|p| p.0[2] > 140).count();
    assert!(
        red == 0 && green == 0,
        "red {red}, green {green}: levels 0 and 1 sampled"
    );
    assert!(bluish > 5000, "only {bluish} pixels of levels 2 and 3");
    let broken = temp("broken.ktx2");
    std::fs::write(
        &broken,
        &ktx2_writer::write(
            vk::Format::R8G8B8A8_SRGB,
            4,
            4,
            &[vec![0; 64], vec![0; 16]],
            false,
        )[..200],
    )
    .unwrap();
    let mut command = headless();
    command.arg("--scene").arg(&broken);
    let output = run(command);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !output.status.success() && stderr.contains("broken.ktx2"),
        "{stderr}"
    );
}

/// Every level of a texture of `shape` in `format` (`block`: texel-block width, height, bytes),
/// made of `seed`ed bytes; `finite` keeps every 16-bit word a finite half float.
fn ktx2_levels(
    shape: ktx2_writer::Shape,
    block: (u32, u32, usize),
    levels: u32,
    seed: u8,
    finite: bool,
) -> Vec<Vec<u8>> {
    let images = shape.layers.max(1) * shape.faces;
    (0..levels)
        .map(|i| {
            let w = (shape.width >> i).max(1).div_ceil(block.0);
            let h = (shape.height >> i).max(1).div_ceil(block.1);
            let d = (shape.depth >> i).max(1);
            let n = (w * h * d * images) as usize * block.2;
            (0..n)
                .map(|k| {
                    let b = (k as u32).wrapping_mul(2_654_435_761).rotate_left(i + 3) as u8 ^ seed;
                    if finite && k % 2 == 1 {
                        b & 0x3b
                    } else {
                        b
                    }
                })
                .collect()
        })
        .collect()
}

/// KTX2 files of every shape the viewer reads, written here (plain and Zstandard), each with its
/// stored chain: loaded by the demo with `--readback`, every texture comes back from the GPU
/// byte for byte what the file held, level by level and layer by layer. ETC2 and ASTC come back
/// as stored on a device that samples them, and as `texture2ddecoder` decodes them (RGBA8) on
/// one that does not (lavapipe 22, the H200), where the demo says it decoded them.
#[test]
fn ktx2_textures_of_every_shape_read_back_byte_exact() {
    use ash::vk;
    use ktx2_writer::Shape;
    let shaped = |width, height, depth, layers, faces| Shape {
        width,
        height,
        depth,
        layers,
        faces,
    };
    // Name, format, shape, texel block (width, height, bytes), levels, Zstandard.
    type Case = (
        &'static str,
        vk::Format,
        Shape,
        (u32, u32, usize),
        u32,
        bool,
    );
    let cases: Vec<Case> = vec![
        (
            "flat",
            vk::Format::R8G8B8A8_SRGB,
            Shape::flat(13, 7),
            (1, 1, 4),
            4,
            true,
        ),
        (
            "bc7",
            vk::Format::BC7_UNORM_BLOCK,
            Shape::flat(36, 20),
            (4, 4, 16),
            6,
            false,
        ),
        (
            "cube",
            vk::Format::R8G8B8A8_UNORM,
            shaped(16, 16, 0, 0, 6),
            (1, 1, 4),
            5,
            true,
        ),
        (
            "layers",
            vk::Format::R8G8B8A8_SRGB,
            shaped(8, 12, 0, 3, 1),
            (1, 1, 4),
            4,
            false,
        ),
        (
            "cubes",
            vk::Format::BC1_RGBA_SRGB_BLOCK,
            shaped(8, 8, 0, 2, 6),
            (4, 4, 8),
            2,
            true,
        ),
        (
            "volume",
            vk::Format::R16G16B16A16_SFLOAT,
            shaped(6, 4, 5, 0, 1),
            (1, 1, 8),
            3,
            true,
        ),
        (
            "etc2",
            vk::Format::ETC2_R8G8B8A8_SRGB_BLOCK,
            Shape::flat(20, 8),
            (4, 4, 16),
            3,
            true,
        ),
        (
            "astc",
            vk::Format::ASTC_6X5_UNORM_BLOCK,
            Shape::flat(25, 15),
            (6, 5, 16),
            5,
            false,
        ),
    ];
    let readback = temp("readback");
    let shots = temp("readback-shots");
    let mut command = headless();
    command.args(["--frames", "2", "--validation", "--check-leaks"]);
    command.arg("--readback").arg(&readback);
    command.arg("--screenshot-dir").arg(&shots);
    command.arg("--scene");
    let mut expected = Vec::new();
    for (i, &(name, format, shape, block, count, zstd)) in cases.iter().enumerate() {
        let mut levels = ktx2_levels(
            shape,
            block,
            count,
            (i as u8).wrapping_mul(37),
            name == "volume",
        );
        if name == "astc" {
            // Void-extent blocks (one colour each, the random bytes): `texture2ddecoder` panics
            // on some random ASTC encodings, which a device would show as the error colour.
            for block in levels.iter_mut().flat_map(|l| l.chunks_exact_mut(16)) {
                block[..8].copy_from_slice(&[0xfc, 0xfd, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
            }
        }
        let path = temp(&format!("{name}.ktx2"));
        std::fs::write(
            &path,
            ktx2_writer::write_shaped(format, shape, &levels, zstd),
        )
        .unwrap();
        command.arg(&path);
        expected.push((name, format, levels.concat()));
    }
    let output = succeeds(command);
    let stdout = String::from_utf8_lossy(&output.stdout);
    for (i, (name, format, mut bytes)) in expected.into_iter().enumerate() {
        let got = std::fs::read(readback.join(format!("{name}.ktx2.0.bin"))).unwrap();
        assert!(stdout.contains(&format!("{name}.ktx2: shown")), "{name}");
        let decoded = stdout
            .lines()
            .any(|l| l.contains("decoded on the CPU") && l.contains(&format!("{name}.ktx2")));
        if decoded {
            let (_, _, shape, block, count, _) = cases[i];
            assert!(matches!(name, "etc2" | "astc"), "{name} decoded on the CPU");
            bytes = decode_levels(format, shape, block, count, &bytes);
        }
        assert_eq!(got.len(), bytes.len(), "{name}: length");
        let first = got.iter().zip(&bytes).position(|(a, b)| a != b);
        assert!(first.is_none(), "{name}: first differing byte {first:?}");
    }
}

/// What the demo uploads of `count` packed ETC2 or ASTC levels when it decodes them: RGBA8 from
/// `texture2ddecoder`, level after level.
fn decode_levels(
    format: ash::vk::Format,
    shape: ktx2_writer::Shape,
    block: (u32, u32, usize),
    count: u32,
    bytes: &[u8],
) -> Vec<u8> {
    let mut out = Vec::new();
    let mut offset = 0;
    for level in 0..count {
        let (w, h) = (
            (shape.width >> level).max(1),
            (shape.height >> level).max(1),
        );
        let size = (w.div_ceil(block.0) * h.div_ceil(block.1)) as usize * block.2;
        let mut texels = vec![0u32; (w * h) as usize];
        let data = &bytes[offset..offset + size];
        let (w, h) = (w as usize, h as usize);
        match format {
            ash::vk::Format::ETC2_R8G8B8A8_SRGB_BLOCK => {
                texture2ddecoder::decode_etc2_rgba8(data, w, h, &mut texels)
            }
            _ => texture2ddecoder::decode_astc(data, w, h, 6, 5, &mut texels),
        }
        .unwrap();
        out.extend(texels.iter().flat_map(|t| {
            let [b, g, r, a] = t.to_le_bytes();
            [r, g, b, a]
        }));
        offset += size;
    }
    out
}

/// A file's layers, cube faces and slices each where the viewer puts them: an array's layers
/// and a 3D texture's slices left to right, a cube map on the sky (the face the camera looks
/// at in the middle), and `--level N` shows level N alone.
#[test]
fn the_texture_viewer_shows_layers_faces_slices_and_the_level_asked_for() {
    use ash::vk;
    use ktx2_writer::Shape;
    let solid = |rgba: [u8; 4], texels: usize| rgba.repeat(texels);
    const RED: [u8; 4] = [255, 0, 0, 255];
    const GREEN: [u8; 4] = [0, 255, 0, 255];
    const BLUE: [u8; 4] = [0, 0, 255, 255];
    let centroid_x = |shot: &image::RgbaImage, which| {
        let (n, (x, _)) = find(shot, which);
        assert!(n > 200, "only {n} pixels of {which:?}");
        x
    };
    let show = |name: &str, shape: Shape, level: Vec<u8>, args: &[&str]| {
        // Not `volume.ktx2`: the readback test, which may run beside this one, writes that.
        let path = temp(&format!("viewer-{name}.ktx2"));
        let file = ktx2_writer::write_shaped(vk::Format::R8G8B8A8_SRGB, shape, &[level], false);
        std::fs::write(&path, file).unwrap();
        let mut command = headless();
        command.args(args).arg("--scene").arg(&path);
        screenshot(command, &format!("{name}.png"))
    };
    let order = |shot: &image::RgbaImage, what: &str| {
        let (r, g, b) = (
            centroid_x(shot, [true, false, false]),
            centroid_x(shot, [false, true, false]),
            centroid_x(shot, [false, false, true]),
        );
        assert!(r < g && g < b, "{what}: red {r}, green {g}, blue {b}");
    };
    let layers = [RED, GREEN, BLUE].map(|c| solid(c, 8 * 8)).concat();
    let array = Shape {
        layers: 3,
        ..Shape::flat(8, 8)
    };
    order(&show("array", array, layers.clone(), &[]), "layers");
    let volume = Shape {
        depth: 3,
        ..Shape::flat(8, 8)
    };
    order(&show("volume", volume, layers, &[]), "slices");
    // +X red, -X green, +Y blue, -Y yellow, +Z magenta, -Z cyan.
    let faces = [
        RED,
        GREEN,
        BLUE,
        [255, 255, 0, 255],
        [255, 0, 255, 255],
        [0, 255, 255, 255],
    ];
    let cube = Shape {
        faces: 6,
        ..Shape::flat(4, 4)
    };
    let texels = faces.map(|c| solid(c, 16)).concat();
    for (from, face, colour) in [
        ("0,0,1", "-Z", [false, true, true]),
        ("1,0,0", "-X", [false, true, false]),
    ] {
        let shot = show("sky", cube, texels.clone(), &["--view-from", from]);
        let (w, h) = shot.dimensions();
        let p = shot.get_pixel(w / 2, h / 2).0;
        let got = [0, 1, 2].map(|c| p[c] > 140);
        let dark = [0, 1, 2].map(|c| p[c] < 70);
        assert!(
            (0..3).all(|c| if colour[c] { got[c] } else { dark[c] }),
            "looking at {face} from {from}: the centre is {p:?}"
        );
    }
    // One red block each, ETC2 (individual mode, base colour 15 of 15, index 0: +2) and ASTC
    // (a void-extent block: one colour everywhere), shown red whether sampled or decoded.
    let etc2_red = [0xff, 0, 0, 0, 0, 0, 0, 0];
    let mut astc_red = vec![0xfc, 0xfd, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff];
    astc_red.extend([0xff, 0xff, 0, 0, 0, 0, 0xff, 0xff]);
    for (name, format, block) in [
        (
            "etc2-red",
            vk::Format::ETC2_R8G8B8_SRGB_BLOCK,
            etc2_red.to_vec(),
        ),
        ("astc-red", vk::Format::ASTC_4X4_SRGB_BLOCK, astc_red),
    ] {
        let path = temp(&format!("{name}.ktx2"));
        let file = ktx2_writer::write_shaped(format, Shape::flat(4, 4), &[block], false);
        std::fs::write(&path, file).unwrap();
        let mut command = headless();
        command.arg("--scene").arg(&path);
        let shot = screenshot(command, &format!("{name}.png"));
        let (red, _) = find(&shot, [true, false, false]);
        let (others, _) = find(&shot, [false, true, false]);
        assert!(
            red > 2000 && others == 0,
            "{name}: red {red}, green {others}"
        );
    }
    // Three levels of one colour each; --level 1 shows green alone, whatever the distance.
    let chain = Shape::flat(64, 64);
    let path = temp("chain.ktx2");
    let levels = [RED, GREEN, BLUE]
        .iter()
        .enumerate()
        .map(|(i, &c)| solid(c, (64 >> i) * (64 >> i)))
        .collect::<Vec<_>>();
    std::fs::write(
        &path,
        ktx2_writer::write_shaped(vk::Format::R8G8B8A8_SRGB, chain, &levels, false),
    )
    .unwrap();
    let mut command = headless();
    command.args(["--level", "1", "--scene"]).arg(&path);
    let shot = screenshot(command, "chain.png");
    let (green, _) = find(&shot, [false, true, false]);
    let (red, _) = find(&shot, [true, false, false]);
    let (blue, _) = find(&shot, [false, false, true]);
    assert!(
        green > 2000 && red == 0 && blue == 0,
        "green {green}, red {red}, blue {blue}"
    );
}

/// Every pipeline is built through a cache kept in `--pipeline-cache FILE`: the first run writes
/// it (a Vulkan pipeline cache: a 32-byte header of version 1 and the device's vendor), the
/// second reads it back whole; `none` keeps no file. On the H200 the data holds the compiled
/// pipelines (more than the header), so a second run compiles nothing; lavapipe keeps only the
/// header.
#[test]
fn the_pipeline_cache_is_written_at_exit_and_read_at_start() {
    let file = temp("pipelines/cache.bin");
    let _ = std::fs::remove_file(&file);
    let mut sizes = Vec::new();
    for _ in 0..2 {
        let mut command = headless();
        command.args([
            "--frames",
            "2",
            "--validation",
            "--scene",
            "odd",
            "--pipeline-cache",
        ]);
        command.arg(&file);
        let output = succeeds(command);
        let log = String::from_utf8_lossy(&output.stdout);
        let data = std::fs::read(&file).expect("the cache file is written");
        assert!(data.len() >= 32, "{} bytes", data.len());
        assert_eq!(
            data[..8],
            [32, 0, 0, 0, 1, 0, 0, 0],
            "header length and version"
        );
        assert!(
            log.contains(&format!(
                "pipeline cache saved file={} bytes={}",
                file.display(),
                data.len()
            )),
            "{log}"
        );
        sizes.push((log.contains("pipeline cache read bytes=0"), data.len()));
    }
    assert!(sizes[0].0, "the first run starts empty");
    assert!(!sizes[1].0, "the second run reads the first one's data");
    let untouched = temp("none-cache/cache.bin");
    let mut command = headless();
    command.args([
        "--frames",
        "1",
        "--scene",
        "odd",
        "--pipeline-cache",
        "none",
    ]);
    command.env("XDG_CACHE_HOME", temp("none-cache"));
    succeeds(command);
    assert!(!untouched.exists() && !temp("none-cache/vkup-demo").exists());
}

/// A glTF scene of `n` quads in a grid, each with a 16x16 PNG texture of its own (full chains
/// generated on the GPU), written beside it; returns the .gltf's path.
fn many_textures_gltf(dir: &str, n: usize) -> PathBuf {
    let dir = temp(dir);
    std::fs::create_dir_all(&dir).unwrap();
    let positions: [[f32; 3]; 4] = [
        [0.0, 0.0, 0.0],
        [0.9, 0.0, 0.0],
        [0.9, 0.9, 0.0],
        [0.0, 0.9, 0.0],
    ];
    let uvs: [[f32; 2]; 4] = [[0.0, 1.0], [1.0, 1.0], [1.0, 0.0], [0.0, 0.0]];
    let indices: [u16; 6] = [0, 1, 2, 0, 2, 3];
    let mut bin = Vec::new();
    bin.extend_from_slice(bytemuck::cast_slice(&positions));
    bin.extend_from_slice(bytemuck::cast_slice(&uvs));
    bin.extend_from_slice(bytemuck::cast_slice(&indices));
    std::fs::write(dir.join("quad.bin"), &bin).unwrap();
    let side = (n as f64).sqrt().ceil() as usize;
    let mut images = Vec::new();
    for i in 0..n {
        let texels = image::RgbaImage::from_fn(16, 16, |x, y| {
            image::Rgba([(i * 37) as u8, (x * 16) as u8, (y * 16) as u8, 255])
        });
        texels.save(dir.join(format!("t{i}.png"))).unwrap();
        images.push(format!(r#"{{"uri": "t{i}.png"}}"#));
    }
    let list = |f: &dyn Fn(usize) -> String| (0..n).map(f).collect::<Vec<_>>().join(",");
    let json = format!(
        r#"{{"asset": {{"version": "2.0"}}, "scene": 0,
  "scenes": [{{"nodes": [{nodes}]}}],
  "nodes": [{node_list}],
  "meshes": [{meshes}],
  "materials": [{materials}],
  "textures": [{textures}],
  "images": [{images}],
  "buffers": [{{"byteLength": {len}, "uri": "quad.bin"}}],
  "bufferViews": [{{"buffer": 0, "byteOffset": 0, "byteLength": 48}},
    {{"buffer": 0, "byteOffset": 48, "byteLength": 32}},
    {{"buffer": 0, "byteOffset": 80, "byteLength": 12}}],
  "accessors": [
    {{"bufferView": 0, "componentType": 5126, "count": 4, "type": "VEC3", "min": [0, 0, 0], "max": [0.9, 0.9, 0]}},
    {{"bufferView": 1, "componentType": 5126, "count": 4, "type": "VEC2"}},
    {{"bufferView": 2, "componentType": 5123, "count": 6, "type": "SCALAR"}}]}}"#,
        nodes = list(&|i| i.to_string()),
        node_list = list(&|i| format!(
            r#"{{"mesh": {i}, "translation": [{}, {}, 0]}}"#,
            i % side,
            i / side
        )),
        meshes = list(&|i| format!(
            r#"{{"primitives": [{{"attributes": {{"POSITION": 0, "TEXCOORD_0": 1}}, "indices": 2, "material": {i}}}]}}"#
        )),
        materials = list(&|i| format!(
            r#"{{"pbrMetallicRoughness": {{"baseColorTexture": {{"index": {i}}}}}}}"#
        )),
        textures = list(&|i| format!(r#"{{"source": {i}}}"#)),
        images = images.join(","),
        len = bin.len(),
    );
    let path = dir.join("many.gltf");
    std::fs::write(&path, json).unwrap();
    path
}

/// The number after `key=` in the demo's log line that contains `line`.
fn logged(log: &str, line: &str, key: &str) -> u64 {
    let at = log
        .lines()
        .find(|l| l.contains(line))
        .unwrap_or_else(|| panic!("no '{line}'"));
    let value = at
        .split(&format!("{key}="))
        .nth(1)
        .unwrap_or_else(|| panic!("no {key}"));
    value
        .split(|c: char| !c.is_ascii_digit())
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

/// A scene's buffers and textures go up together: 200 textures (each with a generated chain)
/// and 200 meshes (400 buffers) load with a handful of submissions, one ring-full of copies,
/// one graphics submission for every acquire and mip chain, the materials' uniform buffer and
/// its acquire, where loading them one by one took two per texture and one per buffer.
/// Synchronization validation is on, and the scene unloads without a leak.
#[test]
fn a_scene_of_200_textures_loads_in_a_handful_of_submissions() {
    let path = many_textures_gltf("many", 200);
    let mut command = headless();
    command.args(["--frames", "2", "--validation", "--check-leaks", "--scene"]);
    command.arg(&path);
    let output = succeeds(command);
    let log = String::from_utf8_lossy(&output.stdout);
    let submissions = logged(&log, "scene loaded", "submissions");
    assert!(
        (2..=4).contains(&submissions),
        "{submissions} submissions for 200 textures and 400 buffers"
    );
}

/// With `--upload-budget`, no submission on the graphics queue holds more than the budget of
/// copies (lavapipe has no transfer queue) or of mip level 0 (one texture at least), and the
/// uploader waits for a frame between slices: the same 200-texture scene goes in many slices.
#[test]
fn a_budgeted_load_submits_no_slice_larger_than_its_budget() {
    let path = many_textures_gltf("budgeted", 200);
    let mut command = headless();
    command.args(["--frames", "2", "--validation", "--check-leaks"]);
    command.args([
        "--upload-budget",
        "0.125",
        "--upload-budget-ms",
        "2",
        "--scene",
    ]);
    command.arg(&path);
    let output = succeeds(command);
    let log = String::from_utf8_lossy(&output.stdout);
    let largest = logged(&log, "scene loaded", "largest_slice");
    let submissions = logged(&log, "scene loaded", "submissions");
    println!("largest slice {largest} bytes, {submissions} submissions");
    assert!(
        largest > 0 && largest <= 128 << 10,
        "largest slice {largest} bytes"
    );
    assert!(submissions >= 4, "{submissions} submissions");
}

/// `--next` loads a second scene while the first is drawn, here budgeted on the graphics queue
/// (`--no-transfer-queue`): the log compares the frames drawn during that load with the ones
/// drawing the first scene before it, and both scenes load without a validation message or a
/// leak. `--next` outside a headless run is refused.
#[test]
fn a_scene_streams_in_while_another_is_drawn_and_its_frames_are_compared() {
    let path = many_textures_gltf("next", 40);
    let mut command = headless();
    command.args(["--frames", "3", "--validation", "--check-leaks"]);
    command.args(["--no-transfer-queue", "--upload-budget", "0.125"]);
    command.args(["--scene", "odd", "--next"]).arg(&path);
    let output = succeeds(command);
    let log = String::from_utf8_lossy(&output.stdout);
    assert_eq!(log.matches("scene loaded").count(), 2, "both scenes load");
    let idle = logged(
        &log,
        "frame times while loading against idle",
        "idle_frames",
    );
    let loading = logged(
        &log,
        "frame times while loading against idle",
        "loading_frames",
    );
    assert!(
        idle >= 3,
        "{idle} frames of the first scene before the load"
    );
    assert!(loading >= 1, "{loading} frames during the load");
    let mut windowed = demo();
    windowed.args(["--next", "grid"]);
    let refused = run(windowed);
    assert_eq!(refused.status.code(), Some(2), "--next without --headless");
}

/// Memory does not grow with frames drawn: a hundred more frames of `grid` (64 materials)
/// leave the peak within 48 MiB. lavapipe once compiled a shader variant per draw per frame
/// and kept each, about 6 MB a frame here.
#[test]
fn a_hundred_more_frames_take_no_more_memory() {
    let peak = |frames: &str| {
        let mut command = demo();
        command.args(["--headless", "64x64", "--scene", "grid", "--frames", frames]);
        let output = succeeds(command);
        logged(
            &String::from_utf8_lossy(&output.stdout),
            "process memory",
            "peak_rss_mib",
        )
    };
    let (short, long) = (peak("10"), peak("110"));
    println!("peak resident memory: {short} MiB after 10 frames, {long} MiB after 110");
    assert!(long <= short + 48, "{short} MiB -> {long} MiB");
}

#[test]
fn cycling_every_scene_fifty_times_leaves_no_allocation_and_no_validation_message() {
    let glb_path = temp("cycle.glb");
    std::fs::write(&glb_path, glb()).unwrap();
    let mut command = headless();
    command.args(["--cycle", "50", "--check-leaks", "--validation", "--scene"]);
    command.arg(&glb_path);
    let output = succeeds(command);
    let log = String::from_utf8_lossy(&output.stdout);
    assert!(log.contains("round=50 of=50"), "all 50 rounds ran");
}

#[test]
fn bad_input_gets_an_error_naming_the_file_and_leaves_nothing_behind() {
    let missing = temp("does-not-exist.gltf");
    let truncated = temp("truncated.glb");
    let full = glb();
    std::fs::write(&truncated, &full[..full.len() / 2]).unwrap();
    let no_image = external_gltf("no-image");
    std::fs::remove_file(no_image.with_file_name("quad texture.png")).unwrap();
    let not_image = external_gltf("not-image");
    std::fs::write(
        not_image.with_file_name("quad texture.png"),
        b"this is text",
    )
    .unwrap();
    let not_gltf = temp("notes.gltf");
    std::fs::write(&not_gltf, "just some notes").unwrap();
    let huge = external_gltf("huge");
    let wide = image::RgbaImage::new(70_000, 1);
    wide.save(huge.with_file_name("quad texture.png")).unwrap();
    let cases: [(&Path, &str); 6] = [
        (&missing, "cannot read"),
        (&truncated, "truncated.glb"),
        (&no_image, "cannot read"),
        (&not_image, "is not a PNG or JPEG"),
        (&not_gltf, "is not a glTF 2.0 file"),
        (&huge, "larger than this device's"),
    ];
    for (path, says) in cases {
        // A failed load exits before rendering: no screenshot is written.
        let shot = temp("never-written.png");
        let mut command = headless();
        command.args(["--check-leaks", "--validation", "--scene"]);
        command.arg(path).arg("--screenshot").arg(&shot);
        let output = run(command);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{}: accepted", path.display());
        assert!(
            !shot.exists(),
            "{}: a screenshot was written",
            path.display()
        );
        let name = path.file_name().unwrap().to_string_lossy();
        assert!(
            stderr.contains(&*name) && stderr.contains(says),
            "{}: {stderr}",
            path.display()
        );
        assert!(
            !stderr.contains("leak:"),
            "{}: leaked: {stderr}",
            path.display()
        );
        assert!(
            !stderr.contains("validation message"),
            "{}: {stderr}",
            path.display()
        );
        assert!(!stderr.contains("panicked"), "{}: {stderr}", path.display());
    }
}

/// Loader panics: a COLOR_0 accessor of SCALAR floats passes gltf-json's validation, and the
/// `gltf` crate's reader panics on it (`unreachable!`). The load fails with an error naming the
/// file, the uploader survives (its
/// staging ring, semaphores and command pools are destroyed at exit: `--check-leaks` and the
/// validation layer's VUID-vkDestroyDevice-device-00378 would say otherwise) and the demo exits
/// non-zero.
#[test]
fn loader_panics_become_an_error_naming_the_file_and_leave_nothing_behind() {
    let (json, bin, png) = gltf_parts(Some("quad.bin"), Some("quad%20texture.png"));
    let attributes = r#""attributes": {"POSITION": 0, "TEXCOORD_0": 1}"#;
    assert!(json.contains(attributes));
    // Four SCALAR floats: the first 16 bytes of the positions.
    let json = json
        .replace(
            attributes,
            r#""attributes": {"POSITION": 0, "TEXCOORD_0": 1, "COLOR_0": 3}"#,
        )
        .replace(
            r#"{"bufferView": 2, "componentType": 5123, "count": 6, "type": "SCALAR"}"#,
            r#"{"bufferView": 2, "componentType": 5123, "count": 6, "type": "SCALAR"},
    {"bufferView": 0, "componentType": 5126, "count": 4, "type": "SCALAR"}"#,
        );
    let dir = temp("scalar colours").with_extension("d");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("scalar colours.gltf");
    std::fs::write(&path, json).unwrap();
    std::fs::write(dir.join("quad.bin"), bin).unwrap();
    std::fs::write(dir.join("quad texture.png"), png).unwrap();
    let mut command = headless();
    command.args(["--check-leaks", "--validation", "--scene"]);
    command.arg(&path);
    let output = run(command);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "accepted: {stderr}");
    assert!(
        stderr.contains("scalar colours.gltf") && stderr.contains("the loader panicked"),
        "{stderr}"
    );
    assert!(!stderr.contains("leak:"), "leaked: {stderr}");
    assert!(!stderr.contains("validation message"), "{stderr}");
    assert!(!stderr.contains("thread died"), "{stderr}");
}

/// PNGs of every colour type (the row path: RGBA straight from the decoder, grey, grey and
/// alpha, RGB and palette widened in staging memory) and the images the row path leaves to
/// `image` (a 16-bit PNG, an interlaced-free JPEG), at odd sizes, are decoded into staging
/// memory as they upload (synchronization validation on): level 0 of each reads back from the
/// GPU exactly as `image` decodes the file, with `--decode-first` (decoded into memory, then
/// copied) too.
#[test]
fn images_decoded_into_staging_memory_read_back_as_image_decodes_them() {
    use image::{DynamicImage, ImageBuffer, ImageFormat};
    let gltf = many_textures_gltf("in-place", 8);
    let dir = gltf.parent().unwrap().to_path_buf();
    let texel = |x: u32, y: u32, c: u32| ((x * 31 + y * 17 + c * 101) % 251) as u8;
    let files: Vec<(DynamicImage, ImageFormat)> = vec![
        (
            DynamicImage::ImageRgba8(ImageBuffer::from_fn(37, 23, |x, y| {
                image::Rgba([
                    texel(x, y, 0),
                    texel(x, y, 1),
                    texel(x, y, 2),
                    texel(x, y, 3),
                ])
            })),
            ImageFormat::Png,
        ),
        (
            DynamicImage::ImageRgb8(ImageBuffer::from_fn(64, 9, |x, y| {
                image::Rgb([texel(x, y, 0), texel(x, y, 1), texel(x, y, 2)])
            })),
            ImageFormat::Png,
        ),
        (
            DynamicImage::ImageLuma8(ImageBuffer::from_fn(5, 41, |x, y| {
                image::Luma([texel(x, y, 0)])
            })),
            ImageFormat::Png,
        ),
        (
            DynamicImage::ImageLumaA8(ImageBuffer::from_fn(19, 19, |x, y| {
                image::LumaA([texel(x, y, 0), texel(x, y, 3)])
            })),
            ImageFormat::Png,
        ),
        (
            DynamicImage::ImageRgba16(ImageBuffer::from_fn(13, 11, |x, y| {
                let v = |c| u16::from(texel(x, y, c)) * 257 + 3;
                image::Rgba([v(0), v(1), v(2), v(3)])
            })),
            ImageFormat::Png,
        ),
        (
            DynamicImage::ImageRgb8(ImageBuffer::from_fn(40, 24, |x, y| {
                image::Rgb([texel(x, y, 0), 128, texel(x, y, 2)])
            })),
            ImageFormat::Jpeg,
        ),
        (
            DynamicImage::ImageRgb8(ImageBuffer::from_fn(300, 200, |x, y| {
                image::Rgb([texel(x, y, 0), texel(x, y, 1), texel(x, y, 2)])
            })),
            ImageFormat::Png,
        ),
    ];
    let mut expected = Vec::new();
    for (i, (picture, format)) in files.iter().enumerate() {
        let mut bytes = Vec::new();
        picture
            .write_to(&mut std::io::Cursor::new(&mut bytes), *format)
            .unwrap();
        // The glTF names `tN.png`; the demo goes by the bytes, not the name.
        std::fs::write(dir.join(format!("t{i}.png")), &bytes).unwrap();
        expected.push(image::load_from_memory(&bytes).unwrap().into_rgba8());
    }
    // A palette PNG with transparency (tRNS), which `image` does not write.
    let mut bytes = Vec::new();
    let mut encoder = png::Encoder::new(&mut bytes, 23, 7);
    encoder.set_color(png::ColorType::Indexed);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.set_palette(
        (0..16u8)
            .flat_map(|i| [i * 16, 255 - i * 16, i * 7])
            .collect::<Vec<_>>(),
    );
    encoder.set_trns((0..16u8).map(|i| i * 17).collect::<Vec<_>>());
    let mut writer = encoder.write_header().unwrap();
    let indices: Vec<u8> = (0..23 * 7).map(|i| (i * 5 % 16) as u8).collect();
    writer.write_image_data(&indices).unwrap();
    writer.finish().unwrap();
    std::fs::write(dir.join("t7.png"), &bytes).unwrap();
    expected.push(image::load_from_memory(&bytes).unwrap().into_rgba8());
    for decode_first in [false, true] {
        let readback = temp(&format!("in-place-readback-{decode_first}"));
        let _ = std::fs::remove_dir_all(&readback);
        let mut command = headless();
        command.args(["--frames", "1", "--validation", "--check-leaks"]);
        if decode_first {
            command.arg("--decode-first");
        }
        command
            .arg("--readback")
            .arg(&readback)
            .arg("--scene")
            .arg(&gltf);
        succeeds(command);
        for (i, image) in expected.iter().enumerate() {
            let got = std::fs::read(readback.join(format!("many.gltf.{i}.bin"))).unwrap();
            let level0 = image.as_raw();
            assert!(
                got.len() > level0.len(),
                "texture {i}: its chain is read back too"
            );
            let first = got[..level0.len()]
                .iter()
                .zip(level0)
                .position(|(a, b)| a != b);
            assert!(
                first.is_none(),
                "texture {i} ({}x{}, decode first: {decode_first}): first differing byte {first:?}",
                image.width(),
                image.height()
            );
        }
    }
}
