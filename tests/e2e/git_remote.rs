//! Git sources over ssh and https, with credentials from the SSH agent, git credential helpers and `KILN_GIT_TOKEN`.
