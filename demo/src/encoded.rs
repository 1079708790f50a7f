//! Encoded images (PNG, JPEG) decoded straight into staging memory as they upload: the loader
//! reads only their headers, makes the images, and the upload's producer ([`producer`]) decodes
//! each one into the slots the ring hands it, on the stager's threads, while the GPU copies the
//! previous batch.
//!
//! A non-interlaced 8-bit PNG is decoded row by row into the ring (RGBA rows straight from the
//! decoder, grey and RGB rows widened there); anything else (JPEG, interlaced or 16-bit PNG) is
//! decoded whole by `image` on its first slot and copied from that.

use std::io::Cursor;

use anyhow::{Context as _, Result};
use vkup_staging::{Produce, ProduceError, Slot};

/// PNG's eight-byte signature.
const PNG_SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";

/// The width and height of the encoded image `bytes` (`what` names it in errors), from its
/// header alone.
pub fn dimensions(what: &str, bytes: &[u8]) -> Result<(u32, u32)> {
    image::ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .context("reading from memory cannot fail")?
        .into_dimensions()
        .with_context(|| format!("{what} is not a PNG or JPEG image this demo can decode"))
}

/// A producer that decodes `bytes` to RGBA8 into the slots of a one-level upload of the image
/// [`dimensions`] gave; `what` names it in errors.
pub fn producer<'a>(what: &'a str, bytes: &'a [u8]) -> impl Produce + Send + 'a {
    Decoder {
        what,
        bytes,
        state: State::Start,
        next: 0,
    }
}

struct Decoder<'a> {
    what: &'a str,
    bytes: &'a [u8],
    state: State<'a>,
    /// The offset the next slot must start at (a row stream cannot go back).
    next: u64,
}

enum State<'a> {
    Start,
    /// Rows from `png`'s reader: `channels` per texel (1 grey, 2 grey and alpha, 3 RGB, 4 RGBA)
    /// read into `scratch` and widened, or read straight into the slot for RGBA.
    Rows {
        reader: Box<png::Reader<Cursor<&'a [u8]>>>,
        channels: usize,
        scratch: Vec<u8>,
    },
    /// Decoded whole, as RGBA8.
    Whole(Vec<u8>),
}

/// A row reader for `bytes` when it is a PNG the row path takes (8 bits per channel after
/// expansion, not interlaced); `None` otherwise.
fn row_reader(bytes: &[u8]) -> Option<(png::Reader<Cursor<&[u8]>>, usize)> {
    if !bytes.starts_with(PNG_SIGNATURE) {
        return None;
    }
    let mut decoder = png::Decoder::new(Cursor::new(bytes));
    // Palettes to RGB, tRNS to alpha, low bit depths to 8: what `image` does for this PNG.
    decoder.set_transformations(png::Transformations::EXPAND);
    let reader = decoder.read_info().ok()?;
    if reader.info().interlaced {
        return None;
    }
    let channels = match reader.output_color_type() {
        (png::ColorType::Grayscale, png::BitDepth::Eight) => 1,
        (png::ColorType::GrayscaleAlpha, png::BitDepth::Eight) => 2,
        (png::ColorType::Rgb, png::BitDepth::Eight) => 3,
        (png::ColorType::Rgba, png::BitDepth::Eight) => 4,
        _ => return None,
    };
    Some((reader, channels))
}

/// Widens one row of `channels`-channel texels in `src` to RGBA8 in `dst`.
fn widen(src: &[u8], channels: usize, dst: &mut [u8]) {
    for (texel, out) in src.chunks_exact(channels).zip(dst.chunks_exact_mut(4)) {
        let rgba = match *texel {
            [g] => [g, g, g, 255],
            [g, a] => [g, g, g, a],
            [r, g, b] => [r, g, b, 255],
            [r, g, b, a] => [r, g, b, a],
            _ => [0; 4],
        };
        out.copy_from_slice(&rgba);
    }
}

impl Produce for Decoder<'_> {
    fn produce(&mut self, mut slot: Slot<'_>) -> std::result::Result<(), ProduceError> {
        let what = self.what;
        if let State::Start = self.state {
            self.state = match row_reader(self.bytes) {
                Some((reader, channels)) => State::Rows {
                    reader: Box::new(reader),
                    channels,
                    scratch: Vec::new(),
                },
                None => State::Whole(
                    image::load_from_memory(self.bytes)
                        .map_err(|e| format!("{what} does not decode: {e}"))?
                        .into_rgba8()
                        .into_raw(),
                ),
            };
        }
        match &mut self.state {
            // Left only above.
            State::Start => {}
            State::Whole(texels) => {
                let at = usize::try_from(slot.offset()).unwrap_or(usize::MAX);
                slot.copy_from(texels.get(at..).unwrap_or_default())?;
            }
            State::Rows {
                reader,
                channels,
                scratch,
            } => {
                if slot.offset() != self.next {
                    return Err(format!(
                        "{what}: rows asked for at byte {} after {}: a PNG's rows come once",
                        slot.offset(),
                        self.next
                    )
                    .into());
                }
                let line = reader
                    .output_line_size(reader.info().width)
                    .ok_or_else(|| format!("{what}: its rows are too long"))?;
                for row in slot.rows_mut() {
                    let target: &mut [u8] = if *channels == 4 && row.len() >= line {
                        row
                    } else {
                        scratch.resize(line, 0);
                        scratch
                    };
                    reader
                        .read_row(target)
                        .map_err(|e| format!("{what} does not decode: {e}"))?
                        .ok_or_else(|| format!("{what} ends before its last row"))?;
                    if *channels != 4 {
                        widen(scratch, *channels, row);
                    }
                }
                self.next += slot.len() as u64;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Encodes `width` x `height` texels of `color` (`channels` bytes each) as a PNG.
    fn png(width: u32, height: u32, color: png::ColorType, texels: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut encoder = png::Encoder::new(&mut out, width, height);
        encoder.set_color(color);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header().unwrap();
        writer.write_image_data(texels).unwrap();
        writer.finish().unwrap();
        out
    }

    /// Runs the producer over slots of `rows` rows each and returns the RGBA8 bytes, and
    /// whether it took the row path.
    fn produce_all(bytes: &[u8], width: u32, height: u32, rows: u32) -> (Vec<u8>, bool) {
        let row_bytes = width as usize * 4;
        let mut out = vec![0u8; row_bytes * height as usize];
        let mut producer = Decoder {
            what: "test.png",
            bytes,
            state: State::Start,
            next: 0,
        };
        let mut y = 0;
        while y < height {
            let n = rows.min(height - y);
            let chunk = &mut out[y as usize * row_bytes..][..n as usize * row_bytes];
            let slot = Slot::over(y as u64 * row_bytes as u64, row_bytes, chunk);
            producer.produce(slot).unwrap();
            y += n;
        }
        let rows = matches!(producer.state, State::Rows { .. });
        (out, rows)
    }

    #[test]
    fn a_sixteen_bit_png_is_decoded_whole_and_a_slot_asked_twice_is_refused() {
        let mut file = Vec::new();
        let mut encoder = png::Encoder::new(&mut file, 3, 2);
        encoder.set_color(png::ColorType::Rgba);
        encoder.set_depth(png::BitDepth::Sixteen);
        let mut writer = encoder.write_header().unwrap();
        writer.write_image_data(&[0x9a; 48]).unwrap();
        writer.finish().unwrap();
        let expected = image::load_from_memory(&file)
            .unwrap()
            .into_rgba8()
            .into_raw();
        let (got, by_rows) = produce_all(&file, 3, 2, 1);
        assert_eq!(got, expected);
        assert!(!by_rows);
        // The row path cannot go back.
        let rgba = png(2, 2, png::ColorType::Rgba, &[7; 16]);
        let mut producer = producer("test.png", &rgba);
        let mut row = [0u8; 8];
        producer.produce(Slot::over(0, 8, &mut row)).unwrap();
        let again = producer.produce(Slot::over(0, 8, &mut row)).unwrap_err();
        assert!(again.to_string().contains("come once"), "{again}");
        // Half a file of 64 rows that do not compress: the rows run out.
        let noise: Vec<u8> = (0..64 * 64 * 4u32)
            .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
            .collect();
        let big = png(64, 64, png::ColorType::Rgba, &noise);
        let mut producer = producer_of(&big[..big.len() / 2]);
        let mut rows = vec![0u8; 64 * 64 * 4];
        assert!(producer.produce(Slot::over(0, 256, &mut rows)).is_err());
    }

    fn producer_of(bytes: &[u8]) -> impl Produce + '_ {
        producer("truncated.png", bytes)
    }

    #[test]
    fn every_png_colour_type_decodes_as_image_decodes_it() {
        let (w, h) = (7u32, 5u32);
        for (color, channels) in [
            (png::ColorType::Grayscale, 1),
            (png::ColorType::GrayscaleAlpha, 2),
            (png::ColorType::Rgb, 3),
            (png::ColorType::Rgba, 4),
        ] {
            let texels: Vec<u8> = (0..w * h * channels)
                .map(|i| (i * 37 % 251) as u8)
                .collect();
            let file = png(w, h, color, &texels);
            let expected = image::load_from_memory(&file)
                .unwrap()
                .into_rgba8()
                .into_raw();
            for rows in [1, 2, 5] {
                let (got, by_rows) = produce_all(&file, w, h, rows);
                assert_eq!(got, expected, "{color:?}, {rows} rows");
                assert!(by_rows, "{color:?}: decoded row by row");
            }
        }
    }
}
