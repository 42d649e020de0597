//! One home for importing. The command line, the staff upload and the demo city hand an
//! upload's bytes to [`import`] and get back one of three answers: a batch ready to store, the
//! problems it is refused for, or — for headers neither the aliases nor a saved profile know —
//! the header row found in it, kept for the mapping step. Reports of systems that give totals
//! (ZMS) are recognised inside [`ingest::read_upload`] beside the tabular reader.

use crate::ingest::map::Profile;
use crate::ingest::problem::{HeaderError, UploadError};
use crate::ingest::{self, HeaderGuess, Options, Upload};

/// What became of an upload.
#[derive(Debug)]
pub enum Outcome {
    /// Read and valid: a batch to store (nothing is stored yet).
    Ready(Box<Upload>),
    /// Refused with every problem; nothing is stored.
    Refused(UploadError),
    /// Headers not known: what the reader said and the header row it found, for the form that
    /// maps them (or, on the command line, for the message that asks for a profile).
    NeedsMapping(NeedsMapping),
}

/// An upload whose columns must be mapped before it can be read.
#[derive(Debug, Clone)]
pub struct NeedsMapping {
    pub error: HeaderError,
    /// The header row and a value of each column; `None` when not even that was found.
    pub guess: Option<HeaderGuess>,
}

impl Outcome {
    /// The upload, or the error that stops it (a mapping still needed is an error here):
    /// for callers without a mapping step.
    pub fn into_result(self) -> Result<Upload, UploadError> {
        match self {
            Outcome::Ready(u) => Ok(*u),
            Outcome::Refused(e) => Err(e),
            Outcome::NeedsMapping(n) => Err(UploadError::Headers(n.error)),
        }
    }
}

/// Mapping profiles as the store keeps them, (office, TOML text), read; one that no longer
/// reads (its kind renamed, say) is left out rather than stopping every upload.
pub fn read_profiles(saved: Vec<(String, String)>) -> Vec<(String, Profile)> {
    saved
        .into_iter()
        .filter_map(|(office, text)| Profile::parse(&text).ok().map(|p| (office, p)))
        .collect()
}

/// Reads an upload with `opts`. Headers the aliases (and `opts.profile`) do not know are tried
/// against the saved profiles `saved` gives, (office, profile) in the order to try them;
/// `saved` is only asked when needed.
pub fn import(
    bytes: &[u8],
    opts: &Options,
    saved: impl FnOnce() -> Vec<(String, Profile)>,
) -> Outcome {
    let error = match ingest::read_upload(bytes, opts) {
        Ok(u) => return Outcome::Ready(Box::new(u)),
        Err(UploadError::Headers(h)) => h,
        Err(e) => return Outcome::Refused(e),
    };
    let guess = ingest::guess_headers(bytes, opts.kind).ok();
    if opts.profile.is_none()
        && let Some(guess) = &guess
    {
        let profiles = saved();
        if let Some((_, read)) = ingest::read_with_profiles_for(bytes, opts, guess, &profiles) {
            return match read {
                Ok(u) => Outcome::Ready(Box::new(u)),
                Err(e) => Outcome::Refused(e),
            };
        }
    }
    Outcome::NeedsMapping(NeedsMapping { error, guess })
}
