//! Decrypts SOPS files (age, OpenPGP) inside the sandbox
