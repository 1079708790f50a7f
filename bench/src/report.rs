//! The results as a console table, Markdown for BENCHMARKS.md, and JSON.

use std::fmt::Write as _;

use crate::stats::Row;

/// Where and how the figures were taken.
pub struct Header {
    pub device: String,
    pub date: String,
    pub command: String,
    pub host: String,
}

fn figure(v: f64, unit: &str) -> String {
    match unit {
        "pairs/s" => format!("{v:.0}"),
        "ms" => format!("{v:.3}"),
        _ if v >= 100.0 => format!("{v:.0}"),
        _ if v >= 10.0 => format!("{v:.1}"),
        _ => format!("{v:.3}"),
    }
}

/// Lines of `| case | contender | median | min | max | first/this |` for one group.
fn lines(rows: &[&Row], markdown: bool) -> Vec<[String; 6]> {
    let mut out = Vec::new();
    for row in rows {
        let first = row
            .results
            .first()
            .map(|(n, _)| n.clone())
            .unwrap_or_default();
        for (i, (name, result)) in row.results.iter().enumerate() {
            let case = if i == 0 {
                row.case.clone()
            } else {
                String::new()
            };
            let cells = match result {
                Ok(s) => {
                    let vs = if i == 0 || !row.compare {
                        String::new()
                    } else {
                        row.advantage(&first, name)
                            .map_or_else(String::new, |a| format!("{a:.2}x"))
                    };
                    [
                        case,
                        name.clone(),
                        format!("{} {}", figure(s.median, row.unit), row.unit),
                        figure(s.min, row.unit),
                        figure(s.max, row.unit),
                        vs,
                    ]
                }
                Err(why) => {
                    let why = if markdown {
                        why.replace('|', "/")
                    } else {
                        why.clone()
                    };
                    [
                        case,
                        name.clone(),
                        format!("did not run: {why}"),
                        String::new(),
                        String::new(),
                        String::new(),
                    ]
                }
            };
            out.push(cells);
        }
    }
    out
}

fn groups(rows: &[Row]) -> Vec<(&'static str, Vec<&Row>)> {
    let mut groups: Vec<(&'static str, Vec<&Row>)> = Vec::new();
    for row in rows {
        match groups.iter_mut().find(|(g, _)| *g == row.group) {
            Some((_, list)) => list.push(row),
            None => groups.push((row.group, vec![row])),
        }
    }
    groups
}

const TITLES: [&str; 6] = ["case", "contender", "median", "min", "max", "first / this"];

/// The console table.
pub fn console(header: &Header, rows: &[Row]) -> String {
    let mut s = format!("device: {}\n", header.device);
    for (group, list) in groups(rows) {
        let lines = lines(&list, false);
        let mut width = TITLES.map(str::len);
        for l in &lines {
            for (w, c) in width.iter_mut().zip(l) {
                *w = (*w).max(c.chars().count());
            }
        }
        let _ = writeln!(s, "\n{group}");
        let row = |cells: [&str; 6]| {
            let mut line = String::new();
            for (i, c) in cells.iter().enumerate() {
                let pad = width[i] - c.chars().count();
                if i < 2 {
                    line.push_str(c);
                    line.push_str(&" ".repeat(pad + 2));
                } else {
                    line.push_str(&" ".repeat(pad));
                    line.push_str(c);
                    line.push_str("  ");
                }
            }
            line.trim_end().to_owned()
        };
        let _ = writeln!(s, "{}", row(TITLES));
        for l in &lines {
            let _ = writeln!(
                s,
                "{}",
                row([&l[0], &l[1], &l[2], &l[3], &l[4], &l[5]].map(|c| c.as_str()))
            );
        }
        for r in &list {
            if let Some(note) = &r.note {
                let _ = writeln!(s, "  note ({}): {note}", r.case);
            }
        }
    }
    s
}

/// The Markdown section for BENCHMARKS.md.
pub fn markdown(header: &Header, rows: &[Row], charts: &[(String, String)]) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "### {} ({})\n", header.device, header.date);
    let _ = writeln!(s, "Host: {}. Command: `{}`.\n", header.host, header.command);
    let _ = writeln!(
        s,
        "Medians of interleaved rounds, with min and max; \"first / this\" is how the row's first \
         contender (ours) compares with that one, above 1 where ours is better.\n"
    );
    for (group, list) in groups(rows) {
        let _ = writeln!(s, "#### {group}\n");
        let _ = writeln!(s, "| {} |", TITLES.join(" | "));
        let _ = writeln!(s, "|{}", "---|".repeat(6));
        for l in lines(&list, true) {
            let _ = writeln!(s, "| {} |", l.join(" | "));
        }
        for r in &list {
            if let Some(note) = &r.note {
                let _ = writeln!(s, "\n- {}: {note}", r.case);
            }
        }
        for (title, file) in charts.iter().filter(|(t, _)| t.starts_with(group)) {
            let _ = writeln!(s, "\n![{title}]({file})");
        }
        s.push('\n');
    }
    s
}

/// The results as JSON.
pub fn json(header: &Header, rows: &[Row]) -> serde_json::Value {
    let rows: Vec<serde_json::Value> = rows
        .iter()
        .map(|r| {
            let results: Vec<serde_json::Value> = r
                .results
                .iter()
                .map(|(name, result)| match result {
                    Ok(s) => serde_json::json!({
                        "contender": name, "median": s.median, "min": s.min, "max": s.max,
                    }),
                    Err(why) => serde_json::json!({ "contender": name, "error": why }),
                })
                .collect();
            serde_json::json!({
                "group": r.group, "case": r.case, "unit": r.unit,
                "higher_is_better": r.higher_is_better, "size": r.size,
                "results": results, "note": r.note,
            })
        })
        .collect();
    serde_json::json!({
        "device": header.device, "date": header.date, "command": header.command,
        "host": header.host, "rows": rows,
    })
}
