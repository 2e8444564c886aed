//! What every results file holds: its rows, its key, what it sums to, and each column with
//! its unit. One table, written into `run.json` (`files`), printed as the table of
//! `scenarios/README.md` ([`markdown`]) and checked against the header each writer
//! produces (a test), so the three cannot drift apart.
//!
//! Values "in the data unit" are in the unit of the scenario's flows, which `[data] unit`
//! names and `run.json` records as `data_unit` (the roundabout scenarios say `USD bn`,
//! gegravity's sample `USD mn`; `data unit` where a scenario names none). Shares are
//! fractions from 0 to 1 and say so in their name (`_fraction`, `_share`); changes are
//! percent and end in `_pct`. Numbers in CSV files have [`super::SIGNIFICANT_DIGITS`]
//! significant digits.

use serde::Serialize;

/// One column of a results file.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Column {
    pub name: &'static str,
    /// `data unit`, `fraction`, `percent`, `year`, `code`, `text`, `level`, `count`,
    /// `boolean`.
    pub unit: &'static str,
    pub meaning: &'static str,
}

/// One results file.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct FileDoc {
    pub file: &'static str,
    /// What one row is.
    pub rows: &'static str,
    /// The columns that identify a row (no two rows share them).
    pub key: &'static [&'static str],
    /// The totals file its rows sum to, and over which columns.
    pub sums_to: Option<&'static str>,
    pub columns: &'static [Column],
}

const fn c(name: &'static str, unit: &'static str, meaning: &'static str) -> Column {
    Column {
        name,
        unit,
        meaning,
    }
}

const YEAR: Column = c("year", "year", "calendar year");
const SECTOR: Column = c(
    "sector",
    "text",
    "the sector (`all` when the scenario has no `[[sectors]]`)",
);
const EXPORTER: Column = c(
    "exporter",
    "code",
    "economy the goods come from on this link",
);
const IMPORTER: Column = c("importer", "code", "economy the goods go to on this link");
const REPORTER: Column = c(
    "reporter",
    "code",
    "whose customs statistics: the exporter's or the importer's",
);
const SHIPPED: Column = c(
    "shipped",
    "data unit",
    "goods physically moving on the link: direct sales plus transit legs through a hub",
);
const FINAL: Column = c(
    "final_destination",
    "data unit",
    "goods from the exporter bought by final buyers in the importer, by any route",
);
const RECORDED: Column = c(
    "recorded",
    "data unit",
    "what the reporter's customs record on the link (see \"Recorded flows\")",
);
const ORIGIN: Column = c("origin", "code", "economy the goods come from");
const VIA: Column = c(
    "via",
    "code",
    "`direct` or the intermediary the route passes through",
);
const DESTINATION: Column = c("destination", "code", "the route target (final buyers)");
const ROUTE_VALUE: Column = c(
    "value",
    "data unit",
    "goods from the origin reaching final buyers in the destination by this route",
);
const PAIR_FRACTION: Column = c(
    "pair_fraction",
    "fraction",
    "`value` over the origin's flow into the destination by all routes",
);
const TARGET_FRACTION: Column = c(
    "target_imports_fraction",
    "fraction",
    "`value` over the destination's imports from all origins by all routes",
);
const INTERMEDIARY: Column = c("intermediary", "code", "the hub");
const REEXPORTS: Column = c(
    "reexports_to_target",
    "data unit",
    "of those, goods going on to final buyers in the route target",
);
const REEXPORT_FRACTION: Column = c(
    "reexport_fraction",
    "fraction",
    "`reexports_to_target` over the imports (0 where there are none)",
);
const REEXPORTS_RECORDED: Column = c(
    "recorded_by_intermediary",
    "data unit",
    "of the re-exports, what the intermediary's customs record as its exports (its export share of the transit not lost in transit)",
);
const MARGIN_INCOME: Column = c(
    "margin_income",
    "data unit",
    "the intermediary's income from the re-exports (`routes.margin` times their value)",
);
const COUNTRY: Column = c("country", "code", "the economy");
const WELFARE: Column = c(
    "welfare_change_pct",
    "percent",
    "real expenditure `E/P`; equal to `real_gdp_change_pct` in a sector (see \"Welfare and real GDP\")",
);
const REAL_GDP: Column = c("real_gdp_change_pct", "percent", "real output `Y/P`");
const PRICE: Column = c(
    "factory_gate_price_change_pct",
    "percent",
    "the exporter's factory-gate price `p`",
);
const OUTPUT: Column = c("output_change_pct", "percent", "output `Y` (nominal)");
const FOREIGN_EXPORTS: Column = c(
    "foreign_exports_change_pct",
    "percent",
    "modeled sales to other economies",
);
const FOREIGN_IMPORTS: Column = c(
    "foreign_imports_change_pct",
    "percent",
    "modeled purchases from other economies",
);
const SCENARIO: Column = c("scenario", "text", "the scenario's `name`");
const SERIES: Column = c(
    "series",
    "text",
    "an output series (`tradeflow series FILE` lists them, with units)",
);

/// The files of a yearly run.
pub const YEAR_RUN_FILES: &[FileDoc] = &[
    FileDoc {
        file: "flows.csv",
        rows: "one per link (exporter != importer), sector and year, as goods move",
        key: &["year", "sector", "exporter", "importer"],
        sums_to: Some("flows_total.csv, over sector"),
        columns: &[YEAR, SECTOR, EXPORTER, IMPORTER, SHIPPED, FINAL],
    },
    FileDoc {
        file: "recorded.csv",
        rows: "one per link, reporter, sector and year: what each customs authority records (joins flows.csv on its key)",
        key: &["year", "sector", "exporter", "importer", "reporter"],
        sums_to: Some("recorded_total.csv, over sector"),
        columns: &[YEAR, SECTOR, EXPORTER, IMPORTER, REPORTER, RECORDED],
    },
    FileDoc {
        file: "routes.csv",
        rows: "one per origin, route, sector and year, into the route target",
        key: &["year", "sector", "origin", "via"],
        sums_to: Some("routes_total.csv, over sector"),
        columns: &[
            YEAR,
            SECTOR,
            ORIGIN,
            VIA,
            DESTINATION,
            ROUTE_VALUE,
            PAIR_FRACTION,
            TARGET_FRACTION,
        ],
    },
    FileDoc {
        file: "reexports.csv",
        rows: "one per intermediary, origin, sector and year",
        key: &["year", "sector", "intermediary", "origin"],
        sums_to: Some("reexports_total.csv, over sector and origin"),
        columns: &[
            YEAR,
            SECTOR,
            INTERMEDIARY,
            ORIGIN,
            c(
                "imports_from_origin",
                "data unit",
                "goods shipped from the origin into the intermediary: its own purchases and transit",
            ),
            REEXPORTS,
            REEXPORT_FRACTION,
            REEXPORTS_RECORDED,
            MARGIN_INCOME,
        ],
    },
    FileDoc {
        file: "countries.csv",
        rows: "one per country, sector and year: the sector's equilibrium against the base year's",
        key: &["year", "sector", "country"],
        sums_to: None,
        columns: &[
            YEAR,
            SECTOR,
            COUNTRY,
            WELFARE,
            REAL_GDP,
            PRICE,
            OUTPUT,
            FOREIGN_EXPORTS,
            FOREIGN_IMPORTS,
        ],
    },
    FileDoc {
        file: "flows_total.csv",
        rows: "one per link and year, all sectors",
        key: &["year", "exporter", "importer"],
        sums_to: None,
        columns: &[YEAR, EXPORTER, IMPORTER, SHIPPED, FINAL],
    },
    FileDoc {
        file: "recorded_total.csv",
        rows: "one per link, reporter and year, all sectors",
        key: &["year", "exporter", "importer", "reporter"],
        sums_to: None,
        columns: &[YEAR, EXPORTER, IMPORTER, REPORTER, RECORDED],
    },
    FileDoc {
        file: "routes_total.csv",
        rows: "one per origin, route and year, all sectors (fractions of the sums)",
        key: &["year", "origin", "via"],
        sums_to: None,
        columns: &[
            YEAR,
            ORIGIN,
            VIA,
            DESTINATION,
            ROUTE_VALUE,
            PAIR_FRACTION,
            TARGET_FRACTION,
        ],
    },
    FileDoc {
        file: "reexports_total.csv",
        rows: "one per intermediary and year, all sectors and origins",
        key: &["year", "intermediary"],
        sums_to: None,
        columns: &[
            YEAR,
            INTERMEDIARY,
            c(
                "imports_from_origins",
                "data unit",
                "goods shipped into the intermediary from every other economy: its own purchases and transit",
            ),
            REEXPORTS,
            REEXPORT_FRACTION,
            REEXPORTS_RECORDED,
            MARGIN_INCOME,
        ],
    },
    FileDoc {
        file: "countries_total.csv",
        rows: "one per country and year, all sectors: output and foreign trade summed; welfare and real GDP as the sums of expenditure and output deflated by one price index (the sectors' `P` in base-year expenditure shares); the price as the output-weighted geometric mean",
        key: &["year", "country"],
        sums_to: None,
        columns: &[
            YEAR,
            COUNTRY,
            WELFARE,
            REAL_GDP,
            PRICE,
            OUTPUT,
            FOREIGN_EXPORTS,
            FOREIGN_IMPORTS,
        ],
    },
];

/// The files of a single counterfactual.
pub const RUN_FILES: &[FileDoc] = &[
    FileDoc {
        file: "countries.csv",
        rows: "one per economy: the full-GE counterfactual against the baseline",
        key: &["country"],
        sums_to: None,
        columns: &[
            COUNTRY,
            PRICE,
            OUTPUT,
            c(
                "expenditure_change_pct",
                "percent",
                "expenditure `E` (nominal)",
            ),
            c(
                "imr_baseline",
                "level",
                "inward multilateral resistance `P_j` (`P_ref = 1`)",
            ),
            c("imr_experiment", "level", "the same, counterfactual"),
            c(
                "omr_baseline",
                "level",
                "outward multilateral resistance `Pi_i`",
            ),
            c("omr_experiment", "level", "the same, counterfactual"),
            REAL_GDP,
            WELFARE,
            c("terms_of_trade_change_pct", "percent", "`p/P`"),
            FOREIGN_EXPORTS,
            FOREIGN_IMPORTS,
            c(
                "intranational_trade_change_pct",
                "percent",
                "domestic sales `X_ii`",
            ),
        ],
    },
    FileDoc {
        file: "bilateral.csv",
        rows: "one per exporter-importer pair, domestic sales included",
        key: &["exporter", "importer"],
        sums_to: None,
        columns: &[
            EXPORTER,
            IMPORTER,
            c(
                "baseline_trade",
                "data unit",
                "modeled flow in the baseline",
            ),
            c(
                "experiment_trade",
                "data unit",
                "modeled flow in the counterfactual",
            ),
            c("trade_change_pct", "percent", "its change"),
        ],
    },
];

/// The files of `tradeflow compare`.
pub const COMPARE_FILES: &[FileDoc] = &[
    FileDoc {
        file: "compare.csv",
        rows: "one per scenario, series and year",
        key: &["scenario", "series", "year"],
        sums_to: None,
        columns: &[
            SCENARIO,
            SERIES,
            YEAR,
            c(
                "value",
                "series unit",
                "the series' value (its unit: `unit`)",
            ),
            c(
                "unit",
                "text",
                "the series' unit: the scenario's `[data] unit`, `fraction (0 to 1)` or `percent`",
            ),
        ],
    },
    FileDoc {
        file: "differences.csv",
        rows: "one per scenario other than the reference, series and year",
        key: &["scenario", "series", "year"],
        sums_to: None,
        columns: &[
            SCENARIO,
            c(
                "reference",
                "text",
                "the reference scenario (`--reference`)",
            ),
            SERIES,
            YEAR,
            c("value", "series unit", "the scenario's value"),
            c("reference_value", "series unit", "the reference's value"),
            c("difference", "series unit", "`value - reference_value`"),
            c(
                "difference_pct",
                "percent",
                "`100 difference / reference_value`; empty where the reference is 0",
            ),
            c("unit", "text", "the series' unit"),
        ],
    },
    FileDoc {
        file: "countries_vs_reference.csv",
        rows: "one per scenario other than the reference, country and year, all sectors",
        key: &["scenario", "year", "country"],
        sums_to: None,
        columns: &[
            SCENARIO,
            c("reference", "text", "the reference scenario"),
            YEAR,
            COUNTRY,
            c(
                "welfare_vs_reference_pct",
                "percent",
                "real expenditure against the reference's in the same year",
            ),
            c(
                "real_gdp_vs_reference_pct",
                "percent",
                "real output against the reference's",
            ),
            c(
                "factory_gate_price_vs_reference_pct",
                "percent",
                "factory-gate price against the reference's",
            ),
            c(
                "output_vs_reference_pct",
                "percent",
                "output against the reference's",
            ),
            c(
                "foreign_exports_vs_reference_pct",
                "percent",
                "foreign exports against the reference's",
            ),
            c(
                "foreign_imports_vs_reference_pct",
                "percent",
                "foreign imports against the reference's",
            ),
        ],
    },
    FileDoc {
        file: "final_flows.csv",
        rows: "one per scenario, link and year, all sectors",
        key: &["scenario", "year", "exporter", "importer"],
        sums_to: None,
        columns: &[SCENARIO, YEAR, EXPORTER, IMPORTER, FINAL],
    },
    FileDoc {
        file: "recorded_flows.csv",
        rows: "one per scenario, link, reporter and year, all sectors",
        key: &["scenario", "year", "exporter", "importer", "reporter"],
        sums_to: None,
        columns: &[SCENARIO, YEAR, EXPORTER, IMPORTER, REPORTER, RECORDED],
    },
    FileDoc {
        file: "scenarios.csv",
        rows: "one per scenario compared (bases skipped), in the order given",
        key: &["scenario"],
        sums_to: None,
        columns: &[
            SCENARIO,
            c(
                "description",
                "text",
                "the scenario's `description` (the comparison charts' legends)",
            ),
            c(
                "reference",
                "boolean",
                "`true` for the scenario the others are measured against",
            ),
            c("file", "text", "the scenario file"),
            c("base_year", "year", "the base year of its data (`[years] base`)"),
            c("horizon", "year", "its last year (`[years] horizon`)"),
            c(
                "instruments",
                "count",
                "how many instruments it has (`scenario_instruments.csv`)",
            ),
        ],
    },
    FileDoc {
        file: "scenario_instruments.csv",
        rows: "one per scenario compared and instrument",
        key: &["scenario", "instrument"],
        sums_to: None,
        columns: &[
            SCENARIO,
            c(
                "instrument",
                "text",
                "the instrument's `id` (`#k`, its position from 1, when it has none)",
            ),
            c(
                "kind",
                "text",
                "its effect: `wedge` (export controls and other frictions on links), `route_cost` (secondary sanctions on routes), `compliance`, `evasion`, `demand`, `customs_union`, `investment`, `growth`",
            ),
            c("label", "text", "the instrument's `label`"),
            c("start", "year", "the first year it is in force"),
            c(
                "end",
                "year",
                "the first year it is no longer in force; empty when it never ends",
            ),
            c(
                "sanction",
                "boolean",
                "`true` for export controls and frictions, secondary sanctions and compliance of intermediaries",
            ),
            c(
                "in_reference",
                "boolean",
                "`true` when the reference scenario has the same instrument (kind, years, sectors and numbers); the comparison charts mark the start and end years of the others as policy years",
            ),
        ],
    },
];

/// The columns of `file` in `docs`.
pub fn columns_of(docs: &[FileDoc], file: &str) -> Option<Vec<&'static str>> {
    docs.iter()
        .find(|d| d.file == file)
        .map(|d| d.columns.iter().map(|c| c.name).collect())
}

/// `docs` as the Markdown table of `scenarios/README.md`: one row per column, the file,
/// key and what it sums to on the file's first row.
pub fn markdown(docs: &[FileDoc]) -> String {
    let mut s = String::from("| file | rows | key | sums to | column | unit | meaning |\n");
    s.push_str("|---|---|---|---|---|---|---|\n");
    for d in docs {
        for (k, col) in d.columns.iter().enumerate() {
            let (file, rows, key, sums) = if k == 0 {
                (
                    format!("`{}`", d.file),
                    d.rows.to_owned(),
                    d.key
                        .iter()
                        .map(|k| format!("`{k}`"))
                        .collect::<Vec<_>>()
                        .join(", "),
                    d.sums_to.map_or(String::new(), |t| t.to_owned()),
                )
            } else {
                Default::default()
            };
            s.push_str(&format!(
                "| {file} | {rows} | {key} | {sums} | `{}` | {} | {} |\n",
                col.name, col.unit, col.meaning
            ));
        }
    }
    s
}
