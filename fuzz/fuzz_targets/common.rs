//! Shared by the extraction targets: extract `data` as an archive next to an empty sibling
//! directory and check that nothing was written outside the destination.

use std::path::Path;

use codex_runtime::extract::{Limits, extract};
use codex_runtime::model::manifest::ArchiveFormat;

pub fn extract_checked(data: &[u8], format: ArchiveFormat) {
    // Scratch in memory when the machine has it: each run writes a few files.
    let base = Path::new("/dev/shm");
    let dir = if base.is_dir() { tempfile::tempdir_in(base) } else { tempfile::tempdir() }.expect("a scratch dir");
    let archive = dir.path().join("archive");
    std::fs::write(&archive, data).expect("write the input");
    let outside = dir.path().join("outside");
    std::fs::create_dir(&outside).expect("create outside/");
    let dest = dir.path().join("dest");
    let limits = Limits { max_entries: 64, max_unpacked_size: 1 << 20 };
    let result = extract(&archive, format, &dest, limits);
    assert!(std::fs::read_dir(&outside).expect("outside/").next().is_none(), "wrote outside the destination");
    let beside = std::fs::read_dir(dir.path()).expect("scratch").count();
    assert!(beside <= 3, "wrote beside the destination");
    if let Ok(files) = result {
        for file in files {
            let meta = std::fs::symlink_metadata(dest.join(&file.path)).expect("an extracted file exists");
            assert!(meta.is_file() && meta.len() == file.size, "{} is a file of its reported size", file.path);
        }
    }
}
