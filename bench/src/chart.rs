//! SVG charts of throughput against size, one line per contender (plotters' SVG backend).

use std::path::Path;

use plotters::prelude::*;

use crate::report::Header;
use crate::stats::{size_label, Row};

const COLORS: [RGBColor; 8] = [
    RGBColor(0x1f, 0x77, 0xb4),
    RGBColor(0xff, 0x7f, 0x0e),
    RGBColor(0x2c, 0xa0, 0x2c),
    RGBColor(0xd6, 0x27, 0x28),
    RGBColor(0x94, 0x67, 0xbd),
    RGBColor(0x8c, 0x56, 0x4b),
    RGBColor(0xe3, 0x77, 0xc2),
    RGBColor(0x7f, 0x7f, 0x7f),
];

/// Writes one chart per group whose rows have sizes; returns (title, file name) of each.
pub fn write(out: &Path, header: &Header, rows: &[Row]) -> Vec<(String, String)> {
    let mut charts = Vec::new();
    for group in ["Buffer upload"] {
        let list: Vec<&Row> = rows
            .iter()
            .filter(|r| r.group == group && r.size.is_some())
            .collect();
        if list.len() < 2 {
            continue;
        }
        let file = format!(
            "{}-{}.svg",
            group.to_lowercase().replace(' ', "-"),
            slug(&header.device)
        );
        let title = format!("{group} on {}", header.device);
        match draw(&out.join(&file), &title, &list) {
            Ok(()) => charts.push((title, file)),
            Err(e) => eprintln!("chart {file}: {e}"),
        }
    }
    let ideal: Vec<&Row> = rows
        .iter()
        .filter(|r| r.group == "Scene load" && r.case.ends_with(": against its ideal"))
        .collect();
    if !ideal.is_empty() {
        let file = format!("scene-load-{}.svg", slug(&header.device));
        let title = format!("Scene load against its ideal on {}", header.device);
        match draw_against_ideal(&out.join(&file), &title, &ideal) {
            Ok(()) => charts.push((title, file)),
            Err(e) => eprintln!("chart {file}: {e}"),
        }
    }
    charts
}

/// `device` as a file-name part.
fn slug(device: &str) -> String {
    device
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect()
}

/// One group of horizontal bars per scene (its results: loaded, decoded first, ideal), on a log
/// scale of milliseconds.
fn draw_against_ideal(
    path: &Path,
    title: &str,
    rows: &[&Row],
) -> Result<(), Box<dyn std::error::Error>> {
    let names: Vec<&str> = rows[0].results.iter().map(|(n, _)| n.as_str()).collect();
    let values: Vec<Vec<Option<f64>>> = rows
        .iter()
        .map(|r| {
            names
                .iter()
                .map(|n| r.median(n).filter(|&v| v > 0.0))
                .collect()
        })
        .collect();
    let all: Vec<f64> = values.iter().flatten().flatten().copied().collect();
    if all.is_empty() {
        return Err("no points".into());
    }
    let (lo, hi) = all
        .iter()
        .fold((f64::MAX, 0.0f64), |(a, b), &v| (a.min(v), b.max(v)));
    let bars = names.len() as f64 + 1.0;
    let height = 120 + 28 * rows.len() as u32 * names.len() as u32;
    let root = SVGBackend::new(path, (1000, height)).into_drawing_area();
    root.fill(&WHITE)?;
    let label = |i: usize| {
        rows.get(i).map_or(String::new(), |r| {
            r.case
                .trim_end_matches(": against its ideal")
                .trim_end_matches(" (demo, headless)")
                .to_string()
        })
    };
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 22))
        .margin(16)
        .x_label_area_size(44)
        .y_label_area_size(330)
        .build_cartesian_2d(
            (lo / 2.0..hi * 2.0).log_scale(),
            0.0..rows.len() as f64 * bars,
        )?;
    chart
        .configure_mesh()
        .x_desc("ms, request to loaded (log scale)")
        .y_labels(rows.len() * 4)
        .y_label_formatter(&|y| {
            let i = (*y / bars) as usize;
            // One label per scene, at its group's middle.
            if ((*y / bars).fract() - 0.5).abs() < 0.2 {
                label(i)
            } else {
                String::new()
            }
        })
        .disable_y_mesh()
        .draw()?;
    for (k, name) in names.iter().enumerate() {
        let color = COLORS[k % COLORS.len()];
        let bars_of = values.iter().enumerate().filter_map(|(i, v)| {
            let v = v[k]?;
            let top = i as f64 * bars + k as f64 + 0.15;
            Some(Rectangle::new(
                [(lo / 2.0, top), (v, top + 0.7)],
                color.filled(),
            ))
        });
        chart
            .draw_series(bars_of)?
            .label(*name)
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 14, y + 5)], color.filled()));
    }
    legend_and_present(&mut chart, &root)
}

fn draw(path: &Path, title: &str, rows: &[&Row]) -> Result<(), Box<dyn std::error::Error>> {
    let mut names: Vec<&str> = Vec::new();
    for r in rows {
        for (n, _) in &r.results {
            if !names.contains(&n.as_str()) {
                names.push(n);
            }
        }
    }
    let points = |name: &str| -> Vec<(f64, f64)> {
        rows.iter()
            .filter_map(|r| Some((r.size? as f64, r.median(name)?)))
            .filter(|&(_, y)| y > 0.0)
            .collect()
    };
    let all: Vec<(f64, f64)> = names.iter().flat_map(|n| points(n)).collect();
    let (x0, x1) = all
        .iter()
        .fold((f64::MAX, 0.0f64), |(a, b), p| (a.min(p.0), b.max(p.0)));
    let (y0, y1) = all
        .iter()
        .fold((f64::MAX, 0.0f64), |(a, b), p| (a.min(p.1), b.max(p.1)));
    if all.is_empty() {
        return Err("no points".into());
    }
    let root = SVGBackend::new(path, (900, 540)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 22))
        .margin(16)
        .x_label_area_size(44)
        .y_label_area_size(64)
        .build_cartesian_2d(
            (x0 / 1.5..x1 * 1.5).log_scale(),
            (y0 / 1.5..y1 * 1.5).log_scale(),
        )?;
    chart
        .configure_mesh()
        .x_desc("upload size")
        .y_desc("GB/s (end to end)")
        .x_label_formatter(&|x| size_label(*x as u64))
        .draw()?;
    for (i, name) in names.iter().enumerate() {
        let color = COLORS[i % COLORS.len()];
        let pts = points(name);
        chart
            .draw_series(LineSeries::new(pts.clone(), color.stroke_width(2)))?
            .label(*name)
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(2))
            });
        chart.draw_series(pts.into_iter().map(|p| Circle::new(p, 3, color.filled())))?;
    }
    legend_and_present(&mut chart, &root)
}

/// Draws `chart`'s legend in its lower right corner and writes the file.
fn legend_and_present<'a, 'b: 'a, CT: plotters::coord::CoordTranslate>(
    chart: &mut ChartContext<'a, SVGBackend<'b>, CT>,
    root: &DrawingArea<SVGBackend<'b>, plotters::coord::Shift>,
) -> Result<(), Box<dyn std::error::Error>> {
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()?;
    root.present()?;
    Ok(())
}
