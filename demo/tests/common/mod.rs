//! What the demo's test binaries share: the screenshot measure.

/// Per pixel, the largest channel difference (0-255): (their mean, the fraction of pixels
/// differing by more than 32).
pub fn difference(a: &image::RgbaImage, b: &image::RgbaImage) -> (f64, f64) {
    assert_eq!(a.dimensions(), b.dimensions(), "screenshot sizes differ");
    let mut sum = 0u64;
    let mut far = 0u64;
    for (p, q) in a.pixels().zip(b.pixels()) {
        let d = (0..3).map(|c| p.0[c].abs_diff(q.0[c])).max().unwrap_or(0);
        sum += u64::from(d);
        far += u64::from(d > 32);
    }
    let n = f64::from(a.width() * a.height());
    (sum as f64 / n, far as f64 / n)
}
