//! tradeflow: a trade-flow simulation engine.
//!
//! Data flow, top to bottom: a scenario file ([`scenario`]) is read into raw structs, then
//! validated once into a [`scenario::Scenario`] that names economies, data, trade costs and
//! shocks. [`world`] holds the data (economies and bilateral matrices, rows = exporters,
//! columns = importers). [`gravity`] solves structural gravity in general equilibrium:
//! baseline resistances, the conditional step and the full GE. [`output`] turns results
//! into CSV and JSON bytes and writes a run folder in one piece.
//!
//! # Extending tradeflow
//!
//! - **An instrument**: one file under `src/policy/` (definition, validation, the bounds of
//!   its numbers and its effect) and its arms in `policy/mod.rs`, whose matches are
//!   exhaustive; step by step in [`policy`]'s module docs. Parameter paths
//!   (`instruments.<id>.<field>`) reach its numbers with nothing more to write.
//! - **A chart**: a plain struct of what it shows and a `draw_*` function generic over the
//!   plotters backend, in its own file under `src/plot/`, drawn on the shared page
//!   (`plot/page.rs`: title block, legend, frame, footnote) with its wording in pure
//!   functions; a variant of `plot::Chart`, and the place that picks it from a results
//!   folder (`plot/build.rs` for runs, `plot/tuning.rs` for Monte Carlo, calibration and
//!   sweeps). `plot::chart_files` renders it and writes its CSV beside it; a test in
//!   `tests/plot.rs`.
//! - **An output file**: a row type deriving `Serialize` and `Deserialize` where it is
//!   computed, turned into bytes by `output::csv_bytes` or `output::json_bytes` in the list
//!   that `output::run_files` or `output::year_run_files` returns (and named in `run.json`'s
//!   `files`); the folder is written in one piece by `output::folder`. A snapshot test of
//!   the bytes.
//! - **A data source**: a reader under `src/data/` that streams its file into panel cells
//!   with the reporter of each figure ([`data::panel`]), errors located by file, line and
//!   column; scenarios read the resulting gegravity-layout file through `[data] path`
//!   (`scenario/validate.rs`'s `load_data`). Document its layout in `scenarios/README.md`
//!   and test it on a small file with a known answer.

pub mod calibrate;
pub mod compare;
pub mod data;
pub mod estimate;
pub mod gravity;
pub mod input;
pub mod limits;
pub mod montecarlo;
pub mod output;
pub mod plot;
pub mod policy;
pub mod report;
pub mod routes;
pub mod scenario;
pub mod shard;
pub mod simulate;
pub mod solver;
pub mod sweep;
pub mod world;
