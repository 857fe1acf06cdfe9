//! "Canonical" for bytes a decoder accepted: they re-encode to exactly themselves.
//!
//! crdt-core's decoders (FORMAT.md) and crdt-sync's frame decoder reject every encoding that is
//! not the canonical one (`DecodeError::NonCanonical`, `FrameError::NonCanonical`): postcard
//! reads over-long varints and chars, and the decoders check the input against the value's own
//! encoding. So whatever a decoder accepts must re-encode to the same bytes, with no exception.

/// Panics unless `reencoded` is `input` itself.
#[track_caller]
pub fn assert_canonical(what: &str, input: &[u8], reencoded: &[u8]) {
    assert!(
        input == reencoded,
        "{what}: accepted bytes that do not re-encode to themselves\n input      {input:02x?}\n re-encoded {reencoded:02x?}"
    );
}
