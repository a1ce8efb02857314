//! `kbuild DIR`: builds DIR like `kustomize build`, with the current
//! directory as the source root; the YAML stream goes to stdout.

use std::process::ExitCode;

#[expect(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "a command-line tool"
)]
fn main() -> ExitCode {
    let Some(dir) = std::env::args().nth(1) else {
        eprintln!("usage: kbuild DIR");
        return ExitCode::from(2);
    };
    let root = match std::env::current_dir() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot read the current directory: {e}");
            return ExitCode::from(2);
        }
    };
    let dir = root.join(dir);
    match kiln_plugin_overlay::build(&root, &dir) {
        Ok(docs) => {
            print!("{}", kiln_sdk::yaml::to_stream(&docs));
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {}", e.message);
            if let Some((file, _, _)) = &e.file {
                eprintln!("  in: {file}");
            }
            if let Some(h) = &e.hint {
                eprintln!("hint: {h}");
            }
            ExitCode::from(2)
        }
    }
}
