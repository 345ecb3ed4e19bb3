//! What a release maintainer runs: the bundle of all targets, the channel update and sync that
//! regenerate the pinned history, and the CI checks that every pin holds (`verify-pins`).

pub mod bundle;
pub mod channel_sync;
pub mod channel_update;
pub mod verify_pins;
