//! Uploads written in place: the caller's [`Produce`] writes an upload's bytes straight into
//! staging memory (or, on the direct path, into the buffer's own mapping), with no copy of its
//! own in between.

use std::io::Read;

use ash::vk;

use crate::error::{Error, Result};

/// What a producer reports when it cannot write its bytes (a decoder that meets a corrupt
/// stream, a file read that fails).
pub type ProduceError = Box<dyn std::error::Error + Send + Sync>;

/// Writes an upload's bytes where the upload asks for them (see [`ImageUpload::in_place`] and
/// [`BufferUpload::in_place`]).
///
/// An upload calls its producer once per staged piece, in the order of the data: for an image,
/// level by level, layer by layer within a level, and within a subresource its rows of blocks
/// (depth slices of a 3D level) top to bottom; for a buffer, front to back. Each [`Slot`] starts
/// where the last one ended, so a producer that reads a stream (a PNG decoder's rows, a file, a
/// decompressor) never seeks. A slot must be written whole: the upload copies all of it.
///
/// When the producer fails, the recording call fails with [`Error::Produce`] and leaves the
/// command buffer, the ring and the upload as they were; a retried call asks for the same slot
/// again. A producer that cannot write a slot twice (a stream) should treat its error as the end
/// of the upload.
///
/// Closures `FnMut(Slot<'_>) -> Result<(), ProduceError>` are producers.
///
/// [`ImageUpload::in_place`]: crate::ImageUpload::in_place
/// [`BufferUpload::in_place`]: crate::BufferUpload::in_place
pub trait Produce {
    /// Writes the bytes `slot` describes into it.
    fn produce(&mut self, slot: Slot<'_>) -> std::result::Result<(), ProduceError>;
}

impl<F> Produce for F
where
    F: FnMut(Slot<'_>) -> std::result::Result<(), ProduceError>,
{
    fn produce(&mut self, slot: Slot<'_>) -> std::result::Result<(), ProduceError> {
        self(slot)
    }
}

/// Where a producer writes one piece of an upload: whole rows of blocks of one subresource (of
/// one depth slice or several), laid out as the copy reads them, or a run of a buffer's bytes.
///
/// Rows are `row_pitch` bytes apart in the slot, of which the first `row_bytes` are the row's
/// (a device may want staged rows aligned further than a row is long); [`Slot::packed_mut`] gives
/// the bytes as one slice where there is no such gap, [`Slot::rows_mut`] row by row always.
#[derive(Debug)]
pub struct Slot<'s> {
    level: u32,
    layer: u32,
    offset: u64,
    origin: vk::Offset3D,
    extent: vk::Extent3D,
    rows: u32,
    slices: u32,
    row_bytes: usize,
    row_pitch: usize,
    bytes: &'s mut [u8],
}

impl<'s> Slot<'s> {
    /// A slot of `rows` rows of blocks in each of `slices` slices (the caller sized `bytes`).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        (level, layer): (u32, u32),
        offset: u64,
        (origin, extent): (vk::Offset3D, vk::Extent3D),
        (rows, slices): (u32, u32),
        (row_bytes, row_pitch): (usize, usize),
        bytes: &'s mut [u8],
    ) -> Self {
        Self {
            level,
            layer,
            offset,
            origin,
            extent,
            rows,
            slices,
            row_bytes,
            row_pitch,
            bytes,
        }
    }

    /// A slot over the caller's own memory, rows of `row_bytes` bytes back to back, `offset` into
    /// the data: for running a producer without a device (its tests). A trailing part row of
    /// `bytes` is not part of the slot.
    pub fn over(offset: u64, row_bytes: usize, bytes: &'s mut [u8]) -> Self {
        let row = row_bytes.max(1);
        let rows = u32::try_from(bytes.len() / row).unwrap_or(u32::MAX);
        Self::new(
            (0, 0),
            offset,
            (vk::Offset3D::default(), vk::Extent3D::default()),
            (rows, 1),
            (row, row),
            bytes,
        )
    }

    /// A run of a buffer upload's bytes, `offset` into the upload.
    pub(crate) fn run(offset: u64, bytes: &'s mut [u8]) -> Self {
        let len = bytes.len();
        Self::new(
            (0, 0),
            offset,
            (vk::Offset3D::default(), vk::Extent3D::default()),
            (1, 1),
            (len, len),
            bytes,
        )
    }

    /// Mip level (0 for a buffer).
    pub fn level(&self) -> u32 {
        self.level
    }

    /// Array layer (0 for a buffer).
    pub fn layer(&self) -> u32 {
        self.layer
    }

    /// Where the slot's first byte lies in the upload's data laid out tightly packed: for an
    /// image, as [`packed_layouts`](crate::packed_layouts) orders it (KTX2's order); for a
    /// buffer, from the upload's first byte.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// Where the slot lands in the image, in texels (zero for a buffer).
    pub fn origin(&self) -> vk::Offset3D {
        self.origin
    }

    /// How much of the image it covers, in texels (zero for a buffer).
    pub fn extent(&self) -> vk::Extent3D {
        self.extent
    }

    /// Bytes of the data the slot holds: rows × slices × [`row_bytes`](Self::row_bytes).
    pub fn len(&self) -> usize {
        self.row_bytes * self.rows as usize * self.slices as usize
    }

    /// Whether the slot holds no bytes (never, for a slot an upload hands out).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes of one row of blocks (a buffer's run is one row).
    pub fn row_bytes(&self) -> usize {
        self.row_bytes
    }

    /// Rows of blocks in each slice of the slot.
    pub fn rows(&self) -> u32 {
        self.rows
    }

    /// Depth slices in the slot (1 but for a piece of a 3D level).
    pub fn slices(&self) -> u32 {
        self.slices
    }

    /// The slot as one run of tightly packed bytes ([`len`](Self::len) long), where its rows
    /// lie back to back in staging memory; `None` where the device's row alignment left a gap
    /// after each row (write [`rows_mut`](Self::rows_mut) then).
    pub fn packed_mut(&mut self) -> Option<&mut [u8]> {
        let len = self.len();
        (self.row_pitch == self.row_bytes).then(|| &mut self.bytes[..len])
    }

    /// Each row of blocks of the slot, [`row_bytes`](Self::row_bytes) long, in data order (row by
    /// row, slice after slice).
    pub fn rows_mut(&mut self) -> impl Iterator<Item = &mut [u8]> + '_ {
        let (row, count) = (self.row_bytes, self.rows as usize * self.slices as usize);
        self.bytes
            .chunks_mut(self.row_pitch.max(1))
            .take(count)
            .map(move |r| &mut r[..row])
    }

    /// Fills the slot from `reader` (a file at the slot's offset, a decompressor), reading
    /// exactly [`len`](Self::len) bytes.
    pub fn read_from(&mut self, reader: &mut impl Read) -> std::io::Result<()> {
        match self.packed_mut() {
            Some(bytes) => reader.read_exact(bytes),
            None => self.rows_mut().try_for_each(|row| reader.read_exact(row)),
        }
    }

    /// Fills the slot from `packed`: the data's bytes from [`offset`](Self::offset) on, at least
    /// [`len`](Self::len) of them.
    pub fn copy_from(&mut self, packed: &[u8]) -> std::result::Result<(), ProduceError> {
        if packed.len() < self.len() {
            return Err(format!(
                "the slot holds {} bytes, the source has {}",
                self.len(),
                packed.len()
            )
            .into());
        }
        let row = self.row_bytes.max(1);
        for (dst, src) in self.rows_mut().zip(packed.chunks(row)) {
            dst.copy_from_slice(src);
        }
        Ok(())
    }
}

/// Where an upload's bytes come from.
pub(crate) enum Source<'a> {
    /// The caller's data, copied into staging memory.
    Memory(&'a [u8]),
    /// `len` bytes the caller's producer writes in place.
    Produced {
        len: u64,
        producer: Box<dyn Produce + Send + 'a>,
    },
    /// The caller's data, lying inside an imported buffer at `base`: copied from there by the
    /// GPU, with no host copy.
    Imported {
        data: &'a [u8],
        buffer: vk::Buffer,
        base: u64,
    },
}

impl std::fmt::Debug for Source<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Memory(data) => f.debug_tuple("Memory").field(&data.len()).finish(),
            Self::Produced { len, .. } => f.debug_struct("Produced").field("len", len).finish(),
            Self::Imported { data, base, .. } => f
                .debug_struct("Imported")
                .field("len", &data.len())
                .field("base", base)
                .finish(),
        }
    }
}

impl Source<'_> {
    /// Bytes of data.
    pub(crate) fn len(&self) -> u64 {
        match self {
            Self::Memory(data) | Self::Imported { data, .. } => data.len() as u64,
            Self::Produced { len, .. } => *len,
        }
    }

    /// `Memory` turned into `Imported` where its bytes lie inside `import`, which the GPU can
    /// copy from; refused otherwise, naming why.
    pub(crate) fn imported(self, import: &vkup_allocator::HostImport) -> Result<Self> {
        let data = match self {
            Self::Memory(data) | Self::Imported { data, .. } => data,
            Self::Produced { .. } => {
                return Err(Error::invalid(
                    "import",
                    "an upload written in place has no bytes in an import to copy from",
                ))
            }
        };
        if !import.usage().contains(vk::BufferUsageFlags::TRANSFER_SRC) {
            return Err(Error::invalid(
                "import",
                "the import's buffer lacks TRANSFER_SRC usage",
            ));
        }
        let base = import.offset_of(data).ok_or_else(|| {
            Error::invalid("import", "the data does not lie inside the imported range")
        })?;
        Ok(Self::Imported {
            data,
            buffer: import.raw(),
            base,
        })
    }

    /// Hands `slot` to the producer, naming where it failed.
    pub(crate) fn produce(producer: &mut (dyn Produce + Send + '_), slot: Slot<'_>) -> Result<()> {
        let (level, layer, offset) = (slot.level, slot.layer, slot.offset);
        producer.produce(slot).map_err(|source| Error::Produce {
            level,
            layer,
            offset,
            source,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A slot of 3 rows of 5 bytes at a pitch of 8, over `bytes`.
    fn gapped(bytes: &mut [u8]) -> Slot<'_> {
        Slot::new(
            (1, 2),
            40,
            (vk::Offset3D::default(), vk::Extent3D::default()),
            (3, 1),
            (5, 8),
            bytes,
        )
    }

    #[test]
    fn rows_skip_the_pitch_gap_and_a_gapped_slot_is_not_packed() {
        let mut bytes = [0xAAu8; 24];
        let mut slot = gapped(&mut bytes);
        assert_eq!(slot.len(), 15);
        assert!(slot.packed_mut().is_none());
        let data: Vec<u8> = (0..15).collect();
        slot.read_from(&mut &data[..]).unwrap();
        // Each row's bytes, then the gap untouched.
        assert_eq!(&bytes[..8], &[0, 1, 2, 3, 4, 0xAA, 0xAA, 0xAA]);
        assert_eq!(&bytes[16..21], &[10, 11, 12, 13, 14]);
        let mut again = [0u8; 24];
        let mut slot = gapped(&mut again);
        slot.copy_from(&data).unwrap();
        assert!(
            slot.copy_from(&data[..14]).is_err(),
            "a short source is refused"
        );
        assert_eq!(again[8..13], bytes[8..13]);
    }

    #[test]
    fn a_packed_slot_reads_in_one_run_and_a_short_reader_fails() {
        let mut bytes = [0u8; 12];
        let mut slot = Slot::run(7, &mut bytes);
        assert_eq!((slot.offset(), slot.len(), slot.rows()), (7, 12, 1));
        assert_eq!(slot.packed_mut().map(|b| b.len()), Some(12));
        let short = [1u8; 11];
        assert!(slot.read_from(&mut &short[..]).is_err());
    }
}
