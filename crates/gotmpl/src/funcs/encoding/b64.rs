//! Go's `base64.StdEncoding.DecodeString`: padded, lenient about the unused
//! bits of the last quantum, and deaf to `\r` and `\n` anywhere in the input.

/// The value of a character of the standard alphabet.
fn digit(c: u8) -> Option<u8> {
    match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    }
}

fn skip_newlines(src: &[u8], mut si: usize) -> usize {
    while si < src.len() && matches!(src[si], b'\n' | b'\r') {
        si += 1;
    }
    si
}

/// Decodes `src`; on failure, the input offset Go's `CorruptInputError`
/// reports (`illegal base64 data at input byte N`).
pub(crate) fn decode(src: &[u8]) -> Result<Vec<u8>, usize> {
    let mut out = Vec::with_capacity(src.len() / 4 * 3);
    let mut si = 0;
    while si < src.len() {
        // One quantum of up to four digits.
        let mut buf = [0u8; 4];
        let mut len = 4;
        let mut trailing = None;
        let mut j = 0;
        while j < 4 {
            if si == src.len() {
                if j == 0 {
                    return Ok(out);
                }
                return Err(si - j);
            }
            let c = src[si];
            si += 1;
            if let Some(d) = digit(c) {
                buf[j] = d;
                j += 1;
                continue;
            }
            if matches!(c, b'\n' | b'\r') {
                continue;
            }
            if c != b'=' || j < 2 {
                return Err(si - 1);
            }
            if j == 2 {
                // "==" is expected, and the first one is read.
                si = skip_newlines(src, si);
                if si == src.len() {
                    return Err(src.len());
                }
                if src[si] != b'=' {
                    return Err(si - 1);
                }
                si += 1;
            }
            si = skip_newlines(src, si);
            if si < src.len() {
                trailing = Some(si);
            }
            len = j;
            break;
        }
        let val = (u32::from(buf[0]) << 18)
            | (u32::from(buf[1]) << 12)
            | (u32::from(buf[2]) << 6)
            | u32::from(buf[3]);
        let bytes = val.to_be_bytes();
        out.extend_from_slice(&bytes[1..len]);
        if let Some(at) = trailing {
            return Err(at);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::decode;

    /// What Go's decoder gives (the offsets as helm v4.1.4's `b64dec` reports them).
    #[test]
    fn decodes_as_go_does() {
        assert_eq!(decode(b"aGVsbG8=").as_deref(), Ok(&b"hello"[..]));
        assert_eq!(decode(b"aGk=\n").as_deref(), Ok(&b"hi"[..]));
        assert_eq!(decode(b"aG\r\nVs\nbG8=").as_deref(), Ok(&b"hello"[..]));
        assert_eq!(decode(b"").as_deref(), Ok(&b""[..]));
        assert_eq!(decode(b"aGVsbG8"), Err(4));
        assert_eq!(decode(b"aGVsbG8=x"), Err(8));
        assert_eq!(decode(b"a"), Err(0));
        assert_eq!(decode(b"!!"), Err(0));
    }
}
