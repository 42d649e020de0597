//! From bytes to text: tell an Excel workbook from a text export, refuse binaries and
//! compressed bombs, and detect UTF-8 (with or without BOM) versus Windows-1252.

use super::problem::UploadError;
use std::borrow::Cow;

/// What the bytes are.
#[derive(Debug, PartialEq, Eq)]
pub enum Format {
    Xlsx,
    Text,
}

/// The encoding a text export was written in; recorded in the batch for the staff's benefit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Utf8,
    Utf8Bom,
    Windows1252,
}

impl Encoding {
    /// Short label for summaries.
    pub fn label(self) -> &'static str {
        match self {
            Encoding::Utf8 => "UTF-8",
            Encoding::Utf8Bom => "UTF-8 (BOM)",
            Encoding::Windows1252 => "Windows-1252",
        }
    }
}

/// Largest uncompressed size an XLSX may claim; a monthly export is a few MB.
pub const MAX_XLSX_UNPACKED: u64 = 512 * 1024 * 1024;

/// Recognises the container format, refusing legacy `.xls` and other binaries.
pub fn sniff_format(bytes: &[u8]) -> Result<Format, UploadError> {
    if bytes.is_empty() {
        return Err(UploadError::Empty);
    }
    if bytes.starts_with(b"PK\x03\x04") {
        return Ok(Format::Xlsx);
    }
    if bytes.starts_with(&[0xD0, 0xCF, 0x11, 0xE0]) {
        return Err(UploadError::OldExcel);
    }
    let head = &bytes[..bytes.len().min(64 * 1024)];
    if let Some(offset) = head
        .iter()
        .position(|b| *b == 0 || (*b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r' | 0x0c)))
    {
        return Err(UploadError::Binary { offset });
    }
    Ok(Format::Text)
}

/// Refuses a workbook whose parts unpack to more than [`MAX_XLSX_UNPACKED`] or at a ratio no
/// spreadsheet has (a zip bomb).
pub fn check_zip(bytes: &[u8]) -> Result<(), UploadError> {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes))
        .map_err(|e| UploadError::BadXlsx(e.to_string()))?;
    let mut total: u64 = 0;
    for i in 0..archive.len() {
        let f = archive
            .by_index_raw(i)
            .map_err(|e| UploadError::BadXlsx(e.to_string()))?;
        total = total.saturating_add(f.size());
        let ratio = f.size() / f.compressed_size().max(1);
        if total > MAX_XLSX_UNPACKED || (f.size() > 10 * 1024 * 1024 && ratio > 200) {
            return Err(UploadError::BadXlsx(format!(
                "{} Bytes entpackt / unpacked",
                total
            )));
        }
    }
    Ok(())
}

/// Decodes text, without copying when it already is UTF-8. (UTF-8 is checked with SIMD: the
/// standard library's check took 2 % of a large import, before its rows are read in parallel.)
pub fn decode(bytes: &[u8]) -> (Cow<'_, str>, Encoding) {
    if let Some(rest) = bytes.strip_prefix(b"\xEF\xBB\xBF") {
        let text = match simdutf8::basic::from_utf8(rest) {
            Ok(s) => Cow::Borrowed(s),
            Err(_) => String::from_utf8_lossy(rest),
        };
        return (text, Encoding::Utf8Bom);
    }
    match simdutf8::basic::from_utf8(bytes) {
        Ok(s) => (Cow::Borrowed(s), Encoding::Utf8),
        Err(_) => {
            let (text, _, _) = encoding_rs::WINDOWS_1252.decode(bytes);
            (text, Encoding::Windows1252)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodings_are_detected() {
        assert_eq!(decode("Straße".as_bytes()).1, Encoding::Utf8);
        assert_eq!(decode(b"\xEF\xBB\xBFa").1, Encoding::Utf8Bom);
        let (t, e) = decode(b"Stra\xdfe");
        assert_eq!((t.as_ref(), e), ("Straße", Encoding::Windows1252));
    }

    #[test]
    fn binaries_are_refused() {
        assert!(matches!(sniff_format(b""), Err(UploadError::Empty)));
        assert!(matches!(
            sniff_format(b"ab\0cd"),
            Err(UploadError::Binary { offset: 2 })
        ));
        assert!(matches!(
            sniff_format(&[0xD0, 0xCF, 0x11, 0xE0, 0]),
            Err(UploadError::OldExcel)
        ));
    }
}
