//! The built-in provisioner: imports Coder Terraform templates (reading their
//! `coder_*` blocks, running no Terraform) and simulates builds and agents.

pub mod runner;
pub mod terraform;
