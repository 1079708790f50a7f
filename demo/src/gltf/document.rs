//! Reading a glTF file into a validated document: GLB or JSON, the parts the viewer does not
//! play set aside, the version and required extensions checked, buffers read, and the byte
//! ranges of views and accessors checked before anything reads them.

use std::path::{Path, PathBuf};

use base64::Engine as _;
use serde_json::Value;

use super::LoadError;

/// Extensions this viewer implements: a file may require them.
pub const SUPPORTED_EXTENSIONS: &[&str] = &[
    "KHR_texture_transform",
    "KHR_materials_pbrSpecularGlossiness",
    "KHR_materials_emissive_strength",
];

/// Top-level parts of a file that the viewer does not play. Animations are removed from the JSON
/// before gltf-json reads it (a channel without `node` is valid glTF that gltf-json refuses);
/// cameras are read and left unused (skins pose their meshes at rest, see `skin.rs`).
const IGNORED: &[&str] = &["animations", "cameras"];

/// A file read and checked: the document, its JSON (for extension fields gltf does not expose),
/// and its buffers.
pub struct Source {
    pub file: PathBuf,
    pub base: PathBuf,
    pub document: gltf::Document,
    pub json: Value,
    pub buffers: Vec<Vec<u8>>,
    /// What the file holds that the viewer leaves out, for one info line.
    pub ignored: Vec<String>,
}

/// `materials[0].pbrMetallicRoughness` -> `/materials/0/pbrMetallicRoughness` (a JSON pointer).
pub fn pointer(path: &str) -> String {
    let mut out = String::with_capacity(path.len() + 1);
    out.push('/');
    for c in path.chars() {
        match c {
            '[' | '.' => out.push('/'),
            ']' => {}
            c => out.push(c),
        }
    }
    out
}

impl Source {
    /// Reads and checks the file at `file`.
    pub fn read(file: &Path) -> Result<Self, LoadError> {
        let bytes = std::fs::read(file).map_err(|source| LoadError::Read {
            file: file.to_owned(),
            what: file.to_owned(),
            source,
        })?;
        let not_gltf = |why: String| LoadError::NotGltf {
            file: file.to_owned(),
            why,
        };
        let is_glb = file
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("glb"));
        let (json, blob) = if bytes.starts_with(b"glTF") {
            let glb = gltf::binary::Glb::from_slice(&bytes)
                .map_err(|e| not_gltf(format!("a GLB container that does not parse: {e}")))?;
            (glb.json.into_owned(), glb.bin.map(|b| b.into_owned()))
        } else if is_glb {
            let magic: Vec<String> = bytes.iter().take(4).map(|b| format!("{b:02x}")).collect();
            return Err(not_gltf(format!(
                "a .glb file must start with the magic 'glTF'; this one starts with [{}]",
                magic.join(" ")
            )));
        } else {
            (bytes, None)
        };
        let mut value: Value = serde_json::from_slice(&json)
            .map_err(|e| not_gltf(format!("its JSON does not parse: {e}")))?;
        let mut ignored = Vec::new();
        if let Some(object) = value.as_object_mut() {
            for part in IGNORED {
                let count = object.get(*part).and_then(Value::as_array).map(Vec::len);
                if let Some(count) = count.filter(|&n| n > 0) {
                    ignored.push(format!("{count} {part}"));
                }
            }
            object.remove("animations");
        }
        check_version_and_extensions(file, &value, &mut ignored)?;
        let root: gltf::json::Root =
            serde_path_to_error::deserialize(&value).map_err(|e| LoadError::Invalid {
                file: file.to_owned(),
                at: e.path().to_string(),
                what: e.inner().to_string(),
            })?;
        let document = gltf::Document::from_json(root).map_err(|e| match e {
            gltf::Error::Validation(errors) => {
                let (at, what) = errors
                    .first()
                    .map(|(path, error)| (path.to_string(), error.to_string()))
                    .unwrap_or_default();
                LoadError::Invalid {
                    file: file.to_owned(),
                    at,
                    what: if errors.len() > 1 {
                        format!("{what} (and {} more)", errors.len() - 1)
                    } else {
                        what
                    },
                }
            }
            other => not_gltf(other.to_string()),
        })?;
        let base = file.parent().unwrap_or(Path::new(".")).to_owned();
        let mut source = Self {
            file: file.to_owned(),
            base,
            document,
            json: value,
            buffers: Vec::new(),
            ignored,
        };
        source.read_buffers(blob)?;
        Ok(source)
    }

    pub fn invalid(&self, at: impl Into<String>, what: impl Into<String>) -> LoadError {
        LoadError::Invalid {
            file: self.file.clone(),
            at: at.into(),
            what: what.into(),
        }
    }

    /// The JSON value at `path` (`materials[0].extensions.X`), if there is one.
    pub fn json_at(&self, path: &str) -> Option<&Value> {
        self.json.pointer(&pointer(path))
    }

    fn read_buffers(&mut self, mut blob: Option<Vec<u8>>) -> Result<(), LoadError> {
        let mut buffers = Vec::new();
        for buffer in self.document.buffers() {
            let at = format!("buffers[{}]", buffer.index());
            let mut data = match buffer.source() {
                gltf::buffer::Source::Bin => blob.take().ok_or_else(|| {
                    self.invalid(&at, "needs the GLB binary chunk, and there is none")
                })?,
                gltf::buffer::Source::Uri(uri) => self.read_uri(uri, &format!("{at}.uri"))?,
            };
            if data.len() < buffer.length() {
                return Err(self.invalid(
                    at,
                    format!(
                        "has {} bytes, byteLength says {} (truncated?)",
                        data.len(),
                        buffer.length()
                    ),
                ));
            }
            data.truncate(buffer.length());
            buffers.push(data);
        }
        self.buffers = buffers;
        Ok(())
    }

    /// Reads the data a `uri` names: a base64 data URI, or a file relative to the glTF file.
    pub fn read_uri(&self, uri: &str, at: &str) -> Result<Vec<u8>, LoadError> {
        if let Some(rest) = uri.strip_prefix("data:") {
            let (_, data) = rest
                .split_once(";base64,")
                .ok_or_else(|| self.invalid(at, "a data URI that is not base64"))?;
            return base64::engine::general_purpose::STANDARD
                .decode(data)
                .map_err(|e| self.invalid(at, format!("a data URI with invalid base64: {e}")));
        }
        let path = self.base.join(percent_decode(uri));
        std::fs::read(&path).map_err(|source| LoadError::Read {
            file: self.file.clone(),
            what: path,
            source,
        })
    }

    /// The bytes of `view` (referred to at `at`), once its range is checked against its buffer.
    pub fn view_bytes(&self, view: &gltf::buffer::View<'_>, at: &str) -> Result<&[u8], LoadError> {
        let buffer = &self.buffers[view.buffer().index()];
        let end = view.offset().checked_add(view.length());
        end.and_then(|end| buffer.get(view.offset()..end))
            .ok_or_else(|| {
                self.invalid(
                    at,
                    format!(
                        "bufferViews[{}] spans bytes {}..{} of buffers[{}], which has {}",
                        view.index(),
                        view.offset(),
                        view.offset() as u128 + view.length() as u128,
                        view.buffer().index(),
                        buffer.len()
                    ),
                )
            })
    }

    /// Checks that every element of `accessor` (referred to at `at`) lies inside its view, and
    /// that its sparse substitution does too, with indices inside the accessor.
    pub fn check_accessor(&self, accessor: &gltf::Accessor<'_>, at: &str) -> Result<(), LoadError> {
        let index = accessor.index();
        let element = accessor.size();
        let count = accessor.count();
        if count == 0 {
            return Err(self.invalid(at, format!("accessors[{index}] has count 0")));
        }
        if let Some(view) = accessor.view() {
            let bytes = self.view_bytes(&view, at)?;
            let stride = view.stride().unwrap_or(element);
            if stride < element {
                return Err(self.invalid(
                    at,
                    format!(
                        "accessors[{index}]: bufferViews[{}] has byteStride {stride}, less than \
                         its {element}-byte elements",
                        view.index()
                    ),
                ));
            }
            let end = stride
                .checked_mul(count - 1)
                .and_then(|b| b.checked_add(element))
                .and_then(|b| b.checked_add(accessor.offset()));
            if end.is_none_or(|end| end > bytes.len()) {
                return Err(self.invalid(
                    at,
                    format!(
                        "accessors[{index}] ({count} elements of {element} bytes from byte {}) \
                         runs past the {} bytes of bufferViews[{}]",
                        accessor.offset(),
                        bytes.len(),
                        view.index()
                    ),
                ));
            }
        }
        if let Some(sparse) = accessor.sparse() {
            let sparse_at = format!("accessors[{index}].sparse");
            if sparse.count() > count {
                return Err(self.invalid(
                    &sparse_at,
                    format!(
                        "replaces {} elements of an accessor of {count}",
                        sparse.count()
                    ),
                ));
            }
            let indices = sparse.indices();
            let width = indices.index_type().size();
            let bytes = self.view_bytes(&indices.view(), &format!("{sparse_at}.indices"))?;
            let used = bytes
                .get(indices.offset()..)
                .and_then(|b| b.get(..sparse.count() * width));
            let Some(used) = used else {
                return Err(
                    self.invalid(format!("{sparse_at}.indices"), "runs past its bufferView")
                );
            };
            for (i, chunk) in used.chunks_exact(width).enumerate() {
                let value = chunk
                    .iter()
                    .rev()
                    .fold(0u64, |v, &b| (v << 8) | u64::from(b));
                if value >= count as u64 {
                    return Err(self.invalid(
                        format!("{sparse_at}.indices"),
                        format!("element {i} is {value}, past the accessor's {count} elements"),
                    ));
                }
            }
            let values = sparse.values();
            let bytes = self.view_bytes(&values.view(), &format!("{sparse_at}.values"))?;
            let fits = values
                .offset()
                .checked_add(sparse.count() * element)
                .is_some_and(|end| end <= bytes.len());
            if !fits {
                return Err(self.invalid(format!("{sparse_at}.values"), "runs past its bufferView"));
            }
        } else if accessor.view().is_none() {
            return Err(self.invalid(
                at,
                format!(
                    "accessors[{index}] has no bufferView and no sparse values (all zeros), \
                     which this viewer does not read"
                ),
            ));
        }
        Ok(())
    }
}

/// Refuses a file that says a reader needs more than glTF 2.0 (`asset.minVersion`) or an
/// extension this viewer does not implement (`extensionsRequired`): drawing it anyway would show
/// something other than the file describes. Checked on the JSON before anything else, so that
/// such a file is refused for what it asks, not for what the parser makes of the rest.
fn check_version_and_extensions(
    file: &Path,
    json: &Value,
    ignored: &mut Vec<String>,
) -> Result<(), LoadError> {
    let unsupported = |what: String| LoadError::Unsupported {
        file: file.to_owned(),
        what,
    };
    if let Some(min) = json.pointer("/asset/minVersion") {
        let text = min.as_str().unwrap_or_default();
        let mut parts = text.split('.').map(str::parse::<u32>);
        let version = match (parts.next(), parts.next(), parts.next()) {
            (Some(Ok(major)), Some(Ok(minor)), None) => (major, minor),
            _ => {
                return Err(LoadError::Invalid {
                    file: file.to_owned(),
                    at: "asset.minVersion".into(),
                    what: format!("{min} is not \"MAJOR.MINOR\""),
                })
            }
        };
        if version > (2, 0) {
            return Err(unsupported(format!(
                "asset.minVersion is {text}; this viewer reads glTF 2.0"
            )));
        }
    }
    let names = |key: &str| -> Vec<String> {
        json.get(key)
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    };
    if let Some(name) = names("extensionsRequired")
        .into_iter()
        .find(|name| !SUPPORTED_EXTENSIONS.contains(&name.as_str()))
    {
        return Err(unsupported(format!(
            "extensionsRequired names {name}, which this viewer does not implement"
        )));
    }
    let unused: Vec<String> = names("extensionsUsed")
        .into_iter()
        .filter(|name| !SUPPORTED_EXTENSIONS.contains(&name.as_str()))
        .collect();
    if !unused.is_empty() {
        ignored.push(format!("extensions {}", unused.join(", ")));
    }
    Ok(())
}

/// Undoes `%XX` escapes in a relative URI (spaces in file names, say).
pub fn percent_decode(uri: &str) -> PathBuf {
    let bytes = uri.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    PathBuf::from(String::from_utf8_lossy(&out).into_owned())
}
