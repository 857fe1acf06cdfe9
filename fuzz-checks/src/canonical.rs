//! What "canonical" can mean for bytes a decoder accepted: they re-encode to themselves, or
//! differ from their re-encoding only where postcard's decoder is lenient.
//!
//! crdt-core's encodings (FORMAT.md) are canonical in the direction the format promises: equal
//! values encode to identical bytes. The reverse, "accepted bytes are the canonical bytes",
//! fails in exactly two ways, both from postcard (1.1) and neither mentioned in FORMAT.md:
//! - **over-long varints**: postcard reads a number written with more bytes than it needs (5 as
//!   `85 00` instead of `05`, up to the type's full width); the encoder writes the shortest form;
//! - **over-long chars**: postcard writes a `char` as a length (1–4) and its UTF-8 bytes, and
//!   reads any length up to 4 whose bytes are UTF-8, keeping the first character: `04 65 67 67
//!   73` ("eggs") reads as `'e'`, which re-encodes as `01 65`. Only element types that are
//!   `char` meet this (`Rga<char>`; `Text` writes its runs as strings).
//!
//! Neither breaks anything the format or the protocol relies on: digests, size limits and
//! stores all use re-encoded bytes, never the bytes received. So the checks here allow exactly
//! these two differences and nothing else: [`differs_only_by_postcard_leniency`] aligns the two
//! byte strings and accepts only where the input has the long form and the re-encoding the
//! short one. Closing the gap would take one re-encode-and-compare per decode in
//! `Codec::decode`.

use std::collections::BTreeSet;

/// Whether `canonical` is `input` with some of its varints or chars rewritten to their
/// shortest form (and no other difference). An over-long varint ends `…, x | 0x80, 0x80*, 0x00`
/// where the shortest form ends `…, x` (with `x < 0x80`); an over-long char is `n` then `n`
/// bytes of UTF-8 (`n ≤ 4`) where the shortest form is the first character alone.
pub fn differs_only_by_postcard_leniency(input: &[u8], canonical: &[u8]) -> bool {
    // A search over positions (i in input, j in canonical), memoised so it stays small.
    let mut seen = BTreeSet::new();
    let mut stack = vec![(0usize, 0usize)];
    while let Some((i, j)) = stack.pop() {
        if i == input.len() && j == canonical.len() {
            return true;
        }
        if !seen.insert((i, j)) || i >= input.len() || j >= canonical.len() {
            continue;
        }
        if input[i] == canonical[j] {
            stack.push((i + 1, j + 1));
        }
        let last = canonical[j];
        if last < 0x80 && input[i] == last | 0x80 {
            let mut k = i + 1;
            while k < input.len() && input[k] == 0x80 {
                k += 1;
            }
            if k < input.len() && input[k] == 0 {
                stack.push((k + 1, j + 1));
            }
        }
        if let Some(next) = long_char(&input[i..], &canonical[j..]) {
            stack.push((i + next.0, j + next.1));
        }
    }
    false
}

/// If `input` starts with a char of more bytes than its first character, and `canonical` with
/// that character alone: how many bytes each side's char takes.
fn long_char(input: &[u8], canonical: &[u8]) -> Option<(usize, usize)> {
    let (&long, rest) = input.split_first()?;
    let (&short, char_bytes) = canonical.split_first()?;
    let (long, short) = (usize::from(long), usize::from(short));
    if !(1..=4).contains(&long) || short >= long || rest.len() < long || char_bytes.len() < short {
        return None;
    }
    let first = std::str::from_utf8(&rest[..long]).ok()?.chars().next()?;
    let mut buffer = [0; 4];
    (first.encode_utf8(&mut buffer).as_bytes() == &char_bytes[..short])
        .then_some((1 + long, 1 + short))
}

/// Panics unless `reencoded` is `input` itself, or `input` with over-long varints and chars
/// shortened (see the module docs).
#[track_caller]
pub fn assert_canonical(what: &str, input: &[u8], reencoded: &[u8]) {
    assert!(
        input == reencoded || differs_only_by_postcard_leniency(input, reencoded),
        "{what}: accepted bytes that do not re-encode to themselves\n input      {input:02x?}\n re-encoded {reencoded:02x?}"
    );
}

#[cfg(test)]
mod tests {
    use super::differs_only_by_postcard_leniency as explained;

    #[test]
    fn long_forms_are_recognised_and_nothing_else() {
        assert!(explained(&[3, 1, 0x85, 0x00], &[3, 1, 0x05]));
        assert!(explained(&[0x80, 0x80, 0x00, 7], &[0x00, 7]));
        assert!(explained(&[0x81, 0x81, 0x80, 0x00], &[0x81, 0x01]));
        assert!(explained(&[1, 2, 3], &[1, 2, 3]));
        assert!(!explained(&[1, 2, 3], &[1, 3, 2]));
        assert!(!explained(&[0x85, 0x01], &[0x05]));
        assert!(!explained(&[0x85, 0x00, 9], &[0x05]));
        assert!(!explained(&[1, 2], &[1, 2, 3]));
        assert!(explained(
            &[9, 4, b'e', b'g', b'g', b's', 1],
            &[9, 1, b'e', 1]
        ));
        assert!(explained(&[3, 0xc3, 0xa9, b'x'], &[2, 0xc3, 0xa9]));
        assert!(!explained(&[4, b'e', b'g', b'g', b's'], &[1, b'g']));
        assert!(!explained(&[5, b'e', b'g', b'g', b's', b's'], &[1, b'e']));
        assert!(!explained(&[2, 0xff, b'e'], &[1, b'e']));
    }
}
