//! The file formats sops stores: YAML, JSON, dotenv, INI and binary (a JSON envelope).

pub(crate) mod dotenv;
pub(crate) mod ini;
pub(crate) mod json;
pub(crate) mod yaml_block;
pub(crate) mod yaml_emit;
pub(crate) mod yaml_lex;
pub(crate) mod yaml_parse;
pub(crate) mod yaml_scalar;
