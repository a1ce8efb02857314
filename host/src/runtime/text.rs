//! Text a plugin hands the host for display (log lines, diagnostics, error
//! messages, hints), made safe to print: bounded in length, and with no
//! control character or escape sequence that could move the cursor, change
//! colours or start a line of its own (forging kiln's `error:` lines).

use std::fmt::Write as _;

/// `text` on one line: every control character (newlines included) and
/// every Unicode format or line/paragraph separator escaped as `\n`, `\r`,
/// `\t` or `\u{..}`; cut to `max` bytes with a note.
pub(crate) fn line(text: &str, max: usize) -> String {
    escape(text, max, false)
}

/// Like [`line`], but a newline stays a newline followed by an indent, so a
/// multi-line message stays readable and no line of it starts at column 0.
pub(crate) fn block(text: &str, max: usize) -> String {
    escape(text, max, true)
}

/// `text` as kiln prints a message of its own that may hold text of a
/// repository (a path, a step name, a plugin's words): any length, control
/// characters escaped, and every line after the first indented, so none
/// can pass for a line of kiln's own (`error: …`).
pub fn printable(text: &str) -> String {
    escape(text, usize::MAX, true)
}

/// Like [`printable`], on one line: a newline shows as `\n`.
pub fn printable_line(text: &str) -> String {
    escape(text, usize::MAX, false)
}

fn escape(text: &str, max: usize, keep_newlines: bool) -> String {
    let mut out = String::with_capacity(text.len().min(max));
    for (i, c) in text.char_indices() {
        if out.len() >= max {
            let _ = write!(out, "… ({} more bytes)", text.len() - i);
            break;
        }
        match c {
            '\n' if keep_newlines => out.push_str("\n    "),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if needs_escape(c) => {
                let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out
}

/// Control characters (C0, DEL, C1), and the invisible characters that
/// reorder or hide text on a terminal (bidi controls, zero-width, line and
/// paragraph separators).
fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{200b}'..='\u{200f}' | '\u{2028}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{feff}'
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forged_lines_and_escapes_are_neutralised() {
        let forged = "ok\nerror: forged\r\x1b[2Kerror: also\u{202e}x";
        let one = line(forged, 1000);
        assert!(!one.contains('\n') && !one.contains('\r') && !one.contains('\x1b'));
        assert_eq!(one, "ok\\nerror: forged\\r\\u{1b}[2Kerror: also\\u{202e}x");
        let many = block(forged, 1000);
        assert!(
            many.lines().skip(1).all(|l| l.starts_with("    ")),
            "{many}"
        );
        assert!(!many.contains('\r') && !many.contains('\x1b'));
    }

    #[test]
    fn long_text_is_cut_on_a_char_boundary() {
        let text = "é".repeat(100);
        let cut = line(&text, 11);
        assert!(cut.starts_with("éééééé… ("), "{cut}");
        assert!(cut.ends_with("more bytes)"), "{cut}");
        assert_eq!(line("short", 100), "short");
    }
}
