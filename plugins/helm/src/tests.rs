//! End-to-end tests of `render_text` on charts written to temp dirs.
