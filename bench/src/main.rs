//! One benchmark command: every headline figure of the upload path against the peers a renderer
//! author would pick instead (raw vk-mem, gpu-allocator, wgpu's `Queue::write_buffer` /
//! `write_texture`), in one process on one device, rounds interleaved so ratios hold on a noisy
//! machine. Prints a table and writes `bench.md` (for BENCHMARKS.md), `bench.json` and SVG
//! charts into the output folder.
//!
//! `cargo run --release -p bench [-- --quick] [--out DIR] [--only alloc,buffer,fill,texture,hostcopy,mips,scene,frames]`
//!
//! `--quick` runs tiny sizes and two rounds: a smoke test (CI runs it), not figures.

mod alloc;
mod chart;
mod mips;
mod peer;
mod report;
mod scene;
mod stats;
mod upload;

use std::path::PathBuf;
use std::process::ExitCode;

use gpu_tests::Gpu;

use crate::report::Header;

struct Args {
    quick: bool,
    out: PathBuf,
    only: Option<Vec<String>>,
}

fn parse() -> Result<Args, String> {
    let mut args = Args {
        quick: false,
        out: PathBuf::from("target/bench"),
        only: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--quick" => args.quick = true,
            "--out" => args.out = it.next().ok_or("--out needs a folder")?.into(),
            "--only" => {
                let list = it.next().ok_or("--only needs a list")?;
                args.only = Some(list.split(',').map(str::to_owned).collect());
            }
            "--bench" => {}
            "--help" | "-h" => return Err(
                "usage: bench [--quick] [--out DIR] [--only alloc,buffer,fill,texture,hostcopy,mips,scene,frames]"
                    .into(),
            ),
            other => return Err(format!("unknown argument '{other}' (try --help)")),
        }
    }
    Ok(args)
}

/// Today as YYYY-MM-DD (UTC), from the days since 1970 (Howard Hinnant's civil-from-days).
fn today() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let z = (secs / 86_400) as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

fn host() -> String {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    format!("{cpu}, {cores} cores")
}

fn main() -> ExitCode {
    let args = match parse() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let wants = |row: &str| {
        args.only
            .as_ref()
            .is_none_or(|o| o.iter().any(|r| r == row))
    };
    let gpu = Gpu::without_validation();
    let header = Header {
        device: gpu.device_name(),
        date: today(),
        command: std::env::args()
            .skip(1)
            .fold("cargo run --release -p bench --".to_owned(), |s, a| {
                s + " " + &a
            }),
        host: host(),
    };
    println!("device: {}, host: {}", header.device, header.host);
    let mut rows = Vec::new();
    if wants("alloc") {
        rows.extend(alloc::run(&gpu, args.quick));
    }
    if wants("fill") {
        rows.extend(upload::fill(&gpu, args.quick));
    }
    if wants("buffer") || wants("texture") {
        let peer = peer::Wgpu::new(&header.device);
        if wants("buffer") {
            rows.extend(upload::buffers(&gpu, peer.as_ref(), args.quick));
            rows.push(upload::small_buffers(&gpu, peer.as_ref(), args.quick));
        }
        if wants("texture") {
            rows.extend(upload::textures(&gpu, peer.as_ref(), args.quick));
        }
    }
    if wants("hostcopy") {
        rows.extend(upload::host_copies(&gpu, args.quick));
    }
    if wants("mips") {
        rows.extend(mips::run(&gpu, args.quick));
        rows.extend(mips::recording(&gpu, args.quick));
    }
    if wants("scene") {
        // The copy engine's rate, measured above in this run (the texture row's GPU copies).
        let copy_rate = rows
            .iter()
            .filter(|r| r.group == "Texture upload")
            .find_map(|r| r.median("GPU copies only (level 0 staged once)"));
        rows.extend(scene::run(args.quick, copy_rate));
    }
    if wants("frames") {
        rows.extend(scene::frames(args.quick));
    }
    print!("{}", report::console(&header, &rows));
    if let Err(e) = std::fs::create_dir_all(&args.out) {
        eprintln!("{}: {e}", args.out.display());
        return ExitCode::FAILURE;
    }
    let charts = chart::write(&args.out, &header, &rows);
    let md = report::markdown(&header, &rows, &charts);
    let json = report::json(&header, &rows);
    let written = std::fs::write(args.out.join("bench.md"), md).and_then(|()| {
        std::fs::write(
            args.out.join("bench.json"),
            serde_json::to_string_pretty(&json).unwrap_or_default(),
        )
    });
    if let Err(e) = written {
        eprintln!("{}: {e}", args.out.display());
        return ExitCode::FAILURE;
    }
    println!(
        "\nwrote {}/bench.md, bench.json and {} chart(s)",
        args.out.display(),
        charts.len()
    );
    ExitCode::SUCCESS
}
