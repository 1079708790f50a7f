//! Row 5: scene loading through the whole path, by the demo itself (headless): its largest
//! built-in scene and a generated glTF file (a 512x512-vertex grid with a 2048x2048 PNG
//! texture), from the request to the scene being drawable, split as the demo's loader reports it:
//! building or parsing the scene on the CPU, reading image headers, uploading (images decoded
//! into staging memory as they upload, side by side), making mips. Each load runs beside one with
//! `--decode-first` (every image decoded into memory on worker threads, then copied: the path
//! before write-in-place). Beside each, its ideal: the larger of the image decode time on worker
//! threads (the decode-first run's) and the scene's bytes at the copy engine's rate measured in
//! the same run (the texture row's GPU copies), when that row ran.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::stats::{Row, Sample};

/// The demo binary built next to this one (`cargo build --release -p demo`).
fn demo_exe() -> Result<PathBuf, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let demo = exe.with_file_name("demo");
    if demo.exists() {
        Ok(demo)
    } else {
        Err(format!(
            "{} is missing: build the demo first (cargo build --release -p demo)",
            demo.display()
        ))
    }
}

/// `key=value` of the demo's `scene loaded` line.
fn field(line: &str, key: &str) -> Option<f64> {
    line.split_whitespace()
        .find_map(|w| w.strip_prefix(key)?.strip_prefix('='))
        .and_then(|v| v.trim_matches('"').parse().ok())
}

/// What one load reports: total, build, image decode (or headers), upload, mips (ms), MiB, and
/// the CPU's part of the mips (ms).
type Load = [f64; 7];

/// Runs the demo `command` (its log without colours) and answers what it printed, or the last
/// line of its errors where it failed.
fn run_demo(command: &mut Command) -> Result<String, String> {
    let out = command
        .env("NO_COLOR", "1")
        .output()
        .map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(format!(
            "the demo failed: {}",
            String::from_utf8_lossy(&out.stderr)
                .lines()
                .last()
                .unwrap_or("")
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn load(demo: &Path, scene: &str, decode_first: bool) -> Result<Load, String> {
    let mut command = Command::new(demo);
    if decode_first {
        command.arg("--decode-first");
    }
    command.args(["--headless", "1280x720", "--frames", "1", "--scene", scene]);
    let log = run_demo(&mut command)?;
    let line = log
        .lines()
        .find(|l| l.contains("scene loaded"))
        .ok_or("no 'scene loaded' line")?;
    let get = |k| field(line, k).ok_or_else(|| format!("no {k} in '{line}'"));
    // The CPU side before any upload: a built-in scene's generation, a file's parsing.
    let built = log
        .lines()
        .find(|l| l.contains("scene data ready"))
        .and_then(|l| l.split_whitespace().find_map(|w| w.strip_prefix("built=")))
        .and_then(duration_ms)
        .ok_or("no 'built=' in the 'scene data ready' line")?;
    Ok([
        get("total_ms")?,
        built,
        get("decode_ms")?,
        get("upload_ms")?,
        get("mips_ms")?,
        get("mib")?,
        get("mips_cpu_ms")?,
    ])
}

/// A Rust `Duration` as its `Debug` prints it ("19.1ms", "1.2s", "870.1µs"), in milliseconds.
fn duration_ms(text: &str) -> Option<f64> {
    let text = text.trim_matches('"');
    for (suffix, scale) in [("ms", 1.0), ("µs", 1e-3), ("ns", 1e-6), ("s", 1e3)] {
        if let Some(v) = text.strip_suffix(suffix) {
            return v.parse::<f64>().ok().map(|v| v * scale);
        }
    }
    None
}

/// A glTF binary: a `n`x`n`-vertex grid with a `side`x`side` PNG base colour texture.
fn glb(n: u32, side: u32) -> Result<Vec<u8>, String> {
    let mut bin = Vec::new();
    let mut views = Vec::new();
    let mut push = |bytes: &[u8]| {
        let start = bin.len();
        bin.extend_from_slice(bytes);
        while bin.len() % 4 != 0 {
            bin.push(0);
        }
        views.push((start, bytes.len()));
    };
    let (mut pos, mut nrm, mut uv, mut idx) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for y in 0..n {
        for x in 0..n {
            let (u, v) = (x as f32 / (n - 1) as f32, y as f32 / (n - 1) as f32);
            let h = (u * 12.0).sin() * (v * 9.0).cos() * 0.05;
            pos.extend([u - 0.5, h, v - 0.5]);
            nrm.extend([0.0f32, 1.0, 0.0]);
            uv.extend([u, v]);
        }
    }
    for y in 0..n - 1 {
        for x in 0..n - 1 {
            let i = y * n + x;
            idx.extend([i, i + n, i + 1, i + 1, i + n, i + n + 1]);
        }
    }
    let as_bytes = |f: &[f32]| f.iter().flat_map(|v| v.to_le_bytes()).collect::<Vec<u8>>();
    push(&as_bytes(&pos));
    push(&as_bytes(&nrm));
    push(&as_bytes(&uv));
    push(
        &idx.iter()
            .flat_map(|v| v.to_le_bytes())
            .collect::<Vec<u8>>(),
    );
    let image = image::RgbaImage::from_fn(side, side, |x, y| {
        image::Rgba([
            (x * 255 / side) as u8,
            (y * 255 / side) as u8,
            ((x ^ y) & 0xff) as u8,
            255,
        ])
    });
    let mut png = std::io::Cursor::new(Vec::new());
    image
        .write_to(&mut png, image::ImageFormat::Png)
        .map_err(|e| e.to_string())?;
    push(png.get_ref());
    let count = n * n;
    let view = |i: usize| serde_json::json!({ "buffer": 0, "byteOffset": views[i].0, "byteLength": views[i].1 });
    let json = serde_json::json!({
        "asset": { "version": "2.0" },
        "scene": 0,
        "scenes": [{ "nodes": [0] }],
        "nodes": [{ "mesh": 0 }],
        "meshes": [{ "primitives": [{
            "attributes": { "POSITION": 0, "NORMAL": 1, "TEXCOORD_0": 2 },
            "indices": 3, "material": 0 }] }],
        "materials": [{ "pbrMetallicRoughness": { "baseColorTexture": { "index": 0 } } }],
        "textures": [{ "source": 0, "sampler": 0 }],
        "samplers": [{ "magFilter": 9729, "minFilter": 9987 }],
        "images": [{ "bufferView": 4, "mimeType": "image/png" }],
        "accessors": [
            { "bufferView": 0, "componentType": 5126, "count": count, "type": "VEC3",
              "min": [-0.5, -0.05, -0.5], "max": [0.5, 0.05, 0.5] },
            { "bufferView": 1, "componentType": 5126, "count": count, "type": "VEC3" },
            { "bufferView": 2, "componentType": 5126, "count": count, "type": "VEC2" },
            { "bufferView": 3, "componentType": 5125, "count": idx.len(), "type": "SCALAR" },
        ],
        "bufferViews": [view(0), view(1), view(2), view(3), view(4)],
        "buffers": [{ "byteLength": bin.len() }],
    });
    let mut text = json.to_string().into_bytes();
    while text.len() % 4 != 0 {
        text.push(b' ');
    }
    let total = 12 + 8 + text.len() + 8 + bin.len();
    let mut out = Vec::with_capacity(total);
    out.extend_from_slice(b"glTF");
    out.extend_from_slice(&2u32.to_le_bytes());
    out.extend_from_slice(&(total as u32).to_le_bytes());
    out.extend_from_slice(&(text.len() as u32).to_le_bytes());
    out.extend_from_slice(b"JSON");
    out.extend_from_slice(&text);
    out.extend_from_slice(&(bin.len() as u32).to_le_bytes());
    out.extend_from_slice(b"BIN\0");
    out.extend_from_slice(&bin);
    Ok(out)
}

/// A glTF file of `n` quads, each with a PNG of its own (`side(i)` x `side(i)`), in `dir`; its
/// path.
fn many_textures(dir: &Path, n: usize, side: impl Fn(usize) -> u32) -> Result<String, String> {
    std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    let positions: [f32; 12] = [0.0, 0.0, 0.0, 0.9, 0.0, 0.0, 0.9, 0.9, 0.0, 0.0, 0.9, 0.0];
    let uvs: [f32; 8] = [0.0, 1.0, 1.0, 1.0, 1.0, 0.0, 0.0, 0.0];
    let mut bin: Vec<u8> = positions
        .iter()
        .chain(&uvs)
        .flat_map(|v| v.to_le_bytes())
        .collect();
    bin.extend([0u16, 1, 2, 0, 2, 3].iter().flat_map(|v| v.to_le_bytes()));
    std::fs::write(dir.join("quad.bin"), &bin).map_err(|e| e.to_string())?;
    for i in 0..n {
        let side = side(i);
        let image = image::RgbaImage::from_fn(side, side, |x, y| {
            image::Rgba([
                (i * 37) as u8,
                (x * 255 / side) as u8,
                (y * 255 / side) as u8,
                255,
            ])
        });
        image
            .save(dir.join(format!("t{i}.png")))
            .map_err(|e| e.to_string())?;
    }
    let side_n = (n as f64).sqrt().ceil() as usize;
    let json = serde_json::json!({
        "asset": { "version": "2.0" },
        "scene": 0,
        "scenes": [{ "nodes": (0..n).collect::<Vec<_>>() }],
        "nodes": (0..n).map(|i| serde_json::json!({
            "mesh": i, "translation": [(i % side_n) as f32, (i / side_n) as f32, 0.0] }))
            .collect::<Vec<_>>(),
        "meshes": (0..n).map(|i| serde_json::json!({ "primitives": [{
            "attributes": { "POSITION": 0, "TEXCOORD_0": 1 }, "indices": 2, "material": i }] }))
            .collect::<Vec<_>>(),
        "materials": (0..n).map(|i| serde_json::json!({
            "pbrMetallicRoughness": { "baseColorTexture": { "index": i } } }))
            .collect::<Vec<_>>(),
        "textures": (0..n).map(|i| serde_json::json!({ "source": i })).collect::<Vec<_>>(),
        "images": (0..n).map(|i| serde_json::json!({ "uri": format!("t{i}.png") }))
            .collect::<Vec<_>>(),
        "buffers": [{ "byteLength": bin.len(), "uri": "quad.bin" }],
        "bufferViews": [
            { "buffer": 0, "byteOffset": 0, "byteLength": 48 },
            { "buffer": 0, "byteOffset": 48, "byteLength": 32 },
            { "buffer": 0, "byteOffset": 80, "byteLength": 12 }],
        "accessors": [
            { "bufferView": 0, "componentType": 5126, "count": 4, "type": "VEC3",
              "min": [0.0, 0.0, 0.0], "max": [0.9, 0.9, 0.0] },
            { "bufferView": 1, "componentType": 5126, "count": 4, "type": "VEC2" },
            { "bufferView": 2, "componentType": 5123, "count": 6, "type": "SCALAR" }],
    });
    let path = dir.join("many.gltf");
    std::fs::write(&path, json.to_string()).map_err(|e| e.to_string())?;
    Ok(path.display().to_string())
}

/// The scene rows; `copy_rate` (GB/s) makes each scene's ideal.
pub fn run(quick: bool, copy_rate: Option<f64>) -> Vec<Row> {
    let rounds = if quick { 1 } else { 3 };
    let mut scenes: Vec<(String, Result<String, String>)> = ["grid", "odd"]
        .iter()
        .chain(if quick { None } else { Some(&"big") })
        .map(|s| (s.to_string(), Ok(s.to_string())))
        .collect();
    let many = std::env::temp_dir().join(format!("bench-many-{}", std::process::id()));
    let (count, side) = if quick { (20, 16) } else { (200, 64) };
    scenes.push((
        format!("glTF: {count} quads, a {side}x{side} PNG each"),
        many_textures(&many.join("small"), count, |_| side),
    ));
    // The streaming scene: 1,000 textures from 64x64 to 2048x2048 (each size a sixth of
    // them), 1,000 meshes.
    let (count, sizes) = if quick { (12, 3) } else { (1000, 6) };
    scenes.push((
        format!(
            "glTF: {count} quads, PNGs of 64x64 to {0}x{0}",
            64 << (sizes - 1)
        ),
        many_textures(&many.join("mixed"), count, |i| 64 << (i % sizes)),
    ));
    let (n, side) = if quick { (64, 256) } else { (512, 2048) };
    let path = std::env::temp_dir().join(format!("bench-scene-{}.glb", std::process::id()));
    let file = glb(n, side).and_then(|bytes| {
        std::fs::write(&path, bytes).map_err(|e| e.to_string())?;
        Ok(path.display().to_string())
    });
    scenes.push((format!("glTF: {n}x{n} grid, {side}x{side} PNG"), file));
    let demo = demo_exe();
    let mut rows = Vec::new();
    for (name, scene) in scenes {
        // Loads alternate between the two paths, each a process of its own.
        let both: Result<Vec<(Load, Load)>, String> = demo.clone().and_then(|demo| {
            let scene = scene?;
            (0..rounds)
                .map(|_| Ok((load(&demo, &scene, false)?, load(&demo, &scene, true)?)))
                .collect()
        });
        let runs = both
            .as_ref()
            .map(|b| b.iter().map(|r| r.0).collect::<Vec<_>>())
            .map_err(|e| e.clone());
        let first = both
            .as_ref()
            .map(|b| b.iter().map(|r| r.1).collect::<Vec<_>>())
            .map_err(|e| e.clone());
        let part_of = |runs: &Result<Vec<Load>, String>, k: usize| -> Result<Sample, String> {
            let runs = runs.as_ref().map_err(|e| e.clone())?;
            Sample::of(&runs.iter().map(|r| r[k]).collect::<Vec<_>>())
                .ok_or_else(|| "no run".into())
        };
        let part = |k: usize| part_of(&runs, k);
        rows.push(Row {
            group: "Scene load",
            case: format!("{name} (demo, headless)"),
            unit: "ms",
            higher_is_better: false,
            size: None,
            results: vec![
                ("request to loaded".into(), part(0)),
                ("build or parse".into(), part(1)),
                ("image headers".into(), part(2)),
                ("upload (images decoded in it)".into(), part(3)),
                ("mips".into(), part(4)),
                ("mips: recording and scratch on the CPU".into(), part(6)),
            ],
            note: None,
            compare: false,
        });
        // The ideal of each run: its images' decode on worker threads (what the decode-first
        // run measured), or its bytes at the copy engine's rate.
        let ideal = || -> Result<Sample, String> {
            let first = first.as_ref().map_err(|e| e.clone())?;
            let rate = copy_rate.ok_or("no copy rate: run the texture row too")?;
            let ideals: Vec<f64> = first
                .iter()
                .map(|r| r[2].max(r[5] * (1 << 20) as f64 / (rate * 1e9) * 1e3))
                .collect();
            Sample::of(&ideals).ok_or_else(|| "no run".into())
        };
        rows.push(Row {
            group: "Scene load",
            case: format!("{name}: against its ideal"),
            unit: "ms",
            higher_is_better: false,
            size: None,
            results: vec![
                ("request to loaded".into(), part(0)),
                ("decoded first, then copied".into(), part_of(&first, 0)),
                ("ideal: max(decode, bytes at the copy rate)".into(), ideal()),
            ],
            note: copy_rate.map(|r| format!("copy rate {r:.1} GB/s, measured in this run")),
            compare: true,
        });
    }
    let _ = std::fs::remove_file(&path);
    let _ = std::fs::remove_dir_all(&many);
    if let Ok(demo) = &demo {
        rows.extend(asset_sets(demo, quick));
    }
    rows
}

/// The glTF Asset Generator's positive assets (`VKUP_CONFORMANCE`, else beside the workspace).
fn conformance_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("VKUP_CONFORMANCE").map_or_else(
        || {
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../shared/conformance/gltf-asset-generator/Positive")
        },
        PathBuf::from,
    );
    dir.join("Manifest.json").is_file().then_some(dir)
}

/// Rows of the Asset Generator's Texture_Sampler and Material sets: every asset of a set loaded
/// in turn by one demo process (`--screenshot-dir`), each a load of its own; the median and the
/// slowest asset's request-to-loaded time.
fn asset_sets(demo: &Path, quick: bool) -> Vec<Row> {
    let Some(dir) = conformance_dir() else {
        return Vec::new();
    };
    let sets: &[&str] = if quick {
        &["Texture_Sampler"]
    } else {
        &["Texture_Sampler", "Material"]
    };
    let mut rows = Vec::new();
    for (set, decode_first) in sets.iter().flat_map(|s| [(s, false), (s, true)]) {
        let result = (|| -> Result<Vec<f64>, String> {
            let folder = dir.join(set);
            let mut files: Vec<PathBuf> = std::fs::read_dir(&folder)
                .map_err(|e| format!("{}: {e}", folder.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "gltf" || x == "glb"))
                .collect();
            files.sort();
            let shots = std::env::temp_dir().join(format!("bench-sets-{}", std::process::id()));
            let mut command = Command::new(demo);
            if decode_first {
                command.arg("--decode-first");
            }
            command
                .args(["--headless", "128x128", "--frames", "1", "--screenshot-dir"])
                .arg(&shots)
                .arg("--scene")
                .args(&files);
            let log = run_demo(&mut command);
            let _ = std::fs::remove_dir_all(&shots);
            let times: Vec<f64> = log?
                .lines()
                .filter(|l| l.contains("scene loaded"))
                .filter_map(|l| field(l, "total_ms"))
                .collect();
            if times.len() != files.len() {
                return Err(format!("{} of {} assets loaded", times.len(), files.len()));
            }
            Ok(times)
        })();
        let stat = |pick: fn(&Sample) -> f64| -> Result<Sample, String> {
            let times = result.as_ref().map_err(|e| e.clone())?;
            let sample = Sample::of(times).ok_or("no asset")?;
            let v = pick(&sample);
            Ok(Sample {
                median: v,
                min: v,
                max: v,
            })
        };
        let count = result.as_ref().map_or(0, Vec::len);
        rows.push(Row {
            group: "Scene load",
            case: format!(
                "Asset Generator {set} ({count} assets, one process){}",
                if decode_first { ", decoded first" } else { "" }
            ),
            unit: "ms",
            higher_is_better: false,
            size: None,
            results: vec![
                ("median asset".into(), stat(|s| s.median)),
                ("slowest asset".into(), stat(|s| s.max)),
                ("fastest asset".into(), stat(|s| s.min)),
            ],
            note: None,
            compare: false,
        });
    }
    rows
}

/// What one streaming run reports (ms): the p99 of the frames before the load (drawing the
/// scene it replaces), the loading frames' median and p99, and the load itself.
type Streamed = [f64; 4];

/// One demo process: `grid` drawn for `frames` frames, then `scene` loaded while it is drawn,
/// its uploads on the graphics queue (`budget`: MiB and ms per frame, or none).
fn stream(
    demo: &Path,
    scene: &str,
    frames: u32,
    budget: Option<(f64, f64)>,
) -> Result<Streamed, String> {
    let mut command = Command::new(demo);
    if let Some((mib, ms)) = budget {
        command.args(["--upload-budget", &mib.to_string()]);
        command.args(["--upload-budget-ms", &ms.to_string()]);
    }
    command
        .args(["--headless", "1280x720", "--no-transfer-queue", "--frames"])
        .arg(frames.to_string())
        .args(["--scene", "grid", "--next", scene]);
    let log = run_demo(&mut command)?;
    let loaded = log
        .lines()
        .filter(|l| l.contains("scene loaded"))
        .nth(1)
        .and_then(|l| field(l, "total_ms"))
        .ok_or("no second 'scene loaded' line")?;
    let line = log
        .lines()
        .find(|l| l.contains("frame times while loading against idle"))
        .ok_or("no 'frame times while loading' line (no frame drawn during the load)")?;
    let get = |k| field(line, k).ok_or_else(|| format!("no {k} in '{line}'"));
    Ok([
        get("idle_p99_ms")?,
        get("loading_median_ms")?,
        get("loading_p99_ms")?,
        loaded,
    ])
}

/// Frame times while the streaming scene (1,000 textures, 64x64 to 2048x2048) loads with its
/// uploads on the graphics queue (`--no-transfer-queue`: on a device without a transfer queue
/// that is where they run anyway) and `grid` is drawn, against the frames drawing `grid` before
/// it: with the upload budget off, then at a quarter and an eighth of the idle p99 the first
/// runs measured (time per frame, and bytes for that time at 8 GB/s). Every frame, idle or
/// not, is followed by the millisecond the demo sleeps between loading frames to give its loader
/// the CPU, left out of its time: a frame's time is what it waits for and does itself.
pub fn frames(quick: bool) -> Vec<Row> {
    let (count, sizes, idle, rounds) = if quick {
        (12, 3, 30, 1)
    } else {
        (1000, 6, 500, 3)
    };
    let dir = std::env::temp_dir().join(format!("bench-frames-{}", std::process::id()));
    let scene = many_textures(&dir, count, |i| 64 << (i % sizes));
    let demo = demo_exe();
    let mut rows = Vec::new();
    let mut idle_p99 = None;
    for share in [None, Some(4.0), Some(8.0)] {
        let budget = match (share, idle_p99) {
            (None, _) => None,
            (Some(share), Some(p99)) => {
                let ms: f64 = p99 / share;
                Some((ms * 8e6 / f64::from(1 << 20), ms))
            }
            (Some(_), None) => continue,
        };
        let runs: Result<Vec<Streamed>, String> = demo.clone().and_then(|demo| {
            let scene = scene.clone()?;
            (0..rounds)
                .map(|_| stream(&demo, &scene, idle, budget))
                .collect()
        });
        let part = |k: usize| -> Result<Sample, String> {
            let runs = runs.as_ref().map_err(|e| e.clone())?;
            Sample::of(&runs.iter().map(|r| r[k]).collect::<Vec<_>>())
                .ok_or_else(|| "no run".into())
        };
        if budget.is_none() {
            idle_p99 = part(0).ok().map(|s| s.median);
        }
        let ratio = part(2).ok().zip(part(0).ok()).map(|(load, idle)| {
            format!("loading p99 / idle p99: {:.2}", load.median / idle.median)
        });
        rows.push(Row {
            group: "Frames while streaming",
            case: format!(
                "{count} textures on the graphics queue, {}",
                match budget {
                    None => "no budget".to_owned(),
                    Some((mib, ms)) => format!("budget {mib:.2} MiB / {ms:.3} ms per frame"),
                }
            ),
            unit: "ms",
            higher_is_better: false,
            size: None,
            results: vec![
                ("idle frame p99 (grid, before)".into(), part(0)),
                ("loading frame p99".into(), part(2)),
                ("loading frame median".into(), part(1)),
                ("load, request to loaded".into(), part(3)),
            ],
            note: ratio,
            compare: false,
        });
    }
    let _ = std::fs::remove_dir_all(&dir);
    rows
}
