//! tradeflow: a trade-flow simulation engine. It follows goods that reach a sanctioned
//! economy directly or through third countries, on top of structural gravity in general
//! equilibrium.
//!
//! # Data flow
//!
//! ```text
//! scenario file --scenario (raw -> validated Scenario)--+--> simulate::run        (one counterfactual)
//!   data file ---input, world (GravityData)-------------+--> simulate::run_years  (years, routes, policy)
//!                                                            |  uses gravity, routes, policy
//!                                                            v
//!                    result rows --output (bytes, folders)--> results folder <--plot (charts)
//!                          ^
//!   montecarlo, calibrate, sweep, compare: many runs of one validated Scenario, parameters
//!   set through scenario::params handles; shard + montecarlo::merge / sweep::merge join shards
//! ```
//!
//! # Modules
//!
//! - [`input`]: reads one input file with its type and size checked (no device, pipe or
//!   runaway file); [`limits`]: the documented limits on sizes from input.
//! - [`scenario`]: TOML in (`raw`), a sealed, validated [`scenario::Scenario`] out, with
//!   every problem located by file and key path; `params` resolves parameter paths once.
//! - [`world`]: economies and bilateral matrices (rows = exporters, columns = importers), and
//!   the gegravity-layout reader.
//! - [`data`]: observed figures with their reporter (the panel format), the BACI and UN
//!   Comtrade importers, the economies map, product groups and the coverage report.
//! - [`estimate`]: PPML with high-dimensional fixed effects (trade-cost coefficients from
//!   data).
//! - [`gravity`]: structural gravity: baseline resistances, conditional and full GE,
//!   welfare and other indicators; [`solver`]: the report and stop reasons every iterative
//!   method shares.
//! - [`routes`]: route choice through intermediaries, effective costs, recorded and final
//!   flows; [`policy`]: instruments (sanctions, enforcement, compliance, investment, growth)
//!   and their state per year and sector.
//! - [`simulate`]: the yearly loop (policy -> routes -> gravity -> adjustment), result rows
//!   and the key series every tuning command reads.
//! - [`montecarlo`], [`calibrate`], [`sweep`], [`compare`]: many runs of one scenario (draws
//!   with per-draw streams, Levenberg-Marquardt fits, grids and hypercubes, side by side);
//!   [`shard`]: slices of draws or points for job arrays.
//! - [`output`]: CSV and JSON bytes with no non-finite number, and results folders tradeflow
//!   owns, written all or nothing ([`output::folder`]); [`report`]: the console tables.
//! - [`plot`]: charts drawn from the results files themselves (PNG, SVG and their CSV).
//!
//! The command line (`src/cli/`, behind the default `cli` feature) only parses arguments,
//! shows progress, prints and maps errors to exit codes.
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
//!   `tests/it/plot.rs`.
//! - **An output file**: a row type deriving `Serialize` and `Deserialize` where it is
//!   computed, turned into bytes by `output::csv_bytes` or `output::json_bytes` in the list
//!   that `output::run_files` or `output::year_run_files` returns, and its rows, key and
//!   columns with units in `output::columns` (which `run.json`'s `files` and the table in
//!   `scenarios/README.md` come from; `tests/it/tidy.rs` checks headers, keys and sums);
//!   the folder is written in one piece by `output::folder`. A snapshot test of the bytes.
//!   (A yearly run's detail rows hold economy and sector indices: their files have a
//!   row writer in `output/year_files.rs`, streamed into the folder.)
//! - **A data source**: a reader under `src/data/` that streams its file into panel cells
//!   with the reporter of each figure ([`data::panel`]), errors located by file, line and
//!   column; scenarios read the resulting gegravity-layout file through `[data] path`
//!   (`scenario/validate.rs`'s `load_data`), or build a world from its panel (`tradeflow data
//!   build`, [`data::build`]) that scenarios read through `[data] world`. Document its layout
//!   in `scenarios/README.md` and test it on a small file with a known answer.

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
