//! The integration tests, one crate (it links tradeflow once), a module per area. The fuzz
//! harness (`tests/fuzz.rs`) and the estimator's known answers (`tests/estimate.rs`) stay
//! crates of their own: the first installs a capped global allocator for its cases.

mod common;

mod calibrate;
mod calibrate_priors;
mod calibrate_select;
mod cli;
mod data_build;
mod data_import;
mod finite;
mod folders;
mod gegravity_agreement;
mod help;
mod invariants;
mod merge;
mod montecarlo;
mod montecarlo_posterior;
mod plot;
mod plot_hubs;
mod plot_tuning;
mod roundabout;
mod scenarios;
mod tidy;
mod validation;
