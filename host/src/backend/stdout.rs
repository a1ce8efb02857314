//! The stdout backend: a YAML stream or a JSON list.

use serde_json::Value;

/// The format of the output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Format {
    /// A YAML stream, documents separated by `---`.
    #[default]
    Yaml,
    /// A JSON array of resources.
    Json,
}

/// Formats `resources`.
pub fn format(resources: &[Value], format: Format) -> String {
    match format {
        Format::Yaml => kiln_resource::yaml::to_stream(resources),
        Format::Json => {
            let mut text =
                serde_json::to_string_pretty(resources).expect("JSON values always serialize");
            text.push('\n');
            text
        }
    }
}
