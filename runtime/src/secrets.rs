//! Encryption of secrets in state and plan files.
