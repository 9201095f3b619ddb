//! What gangway keeps on this machine, under the XDG state directory: session recordings
//! (asciicast v2, [`asciicast`], written by a [`Recorder`], listed and pruned by
//! [`recordings`] and [`retention`], played by [`playback`]) and one small activity file per
//! live session ([`activity`]), which lets any gangway process show the idle time of sessions
//! another one runs. Plain files and threads: no AWS, no terminal.

pub mod activity;
pub mod asciicast;
pub mod playback;
mod private;
mod recorder;
pub mod recordings;
pub mod retention;

pub use private::{state_dir, valid_file_stem};
pub use recorder::{Recorder, RecordingMeta};
pub use recordings::RecordingSettings;
