//! tradeflow: a trade-flow simulation engine.
//!
//! Data flow, top to bottom: a scenario file ([`scenario`]) is read into raw structs, then
//! validated once into a [`scenario::Scenario`] that names economies, data, trade costs and
//! shocks. [`world`] holds the data (economies and bilateral matrices, rows = exporters,
//! columns = importers). [`gravity`] solves structural gravity in general equilibrium:
//! baseline resistances, the conditional step and the full GE. [`output`] turns results
//! into CSV and JSON bytes and writes a run folder in one piece.

pub mod calibrate;
pub mod compare;
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
pub mod sweep;
pub mod world;
