//! The PostgreSQL state backend.
