//! Raw scenario -> [`Scenario`]: resolve codes and groups, load data, check ranges.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use super::dynamics::{validate_dynamics, Reporter};
use super::raw::{RawData, RawScenario, RawShock};
use super::resolve::{check, invalid, resolve_groups, resolve_set, Problems};
use super::CellOverride;
use super::{CostChange, CostMethod, DataSource, Scenario, ScenarioError, Shock, ShockKind};
use crate::gravity::{SolverOptions, CONSTANT};
use crate::limits::{check_economies, MAX_DATA_TOTAL, MIN_DATA_TOTAL};
use crate::world::{load_gegravity_csv, Economies, GravityData, Matrix};

/// Validates a raw scenario. `path` names the file in messages; `base_dir` anchors a
/// relative data path.
pub fn validate(
    raw: RawScenario,
    path: Option<&Path>,
    base_dir: &Path,
) -> Result<Scenario, ScenarioError> {
    validate_reusing(raw, path, base_dir, None)
}

/// As [`validate`], taking a data file's contents from `reuse` when it names the same file
/// and year: Monte Carlo draws and sweep points change parameters, not data, and need not
/// read the file again.
pub fn validate_reusing(
    raw: RawScenario,
    path: Option<&Path>,
    base_dir: &Path,
    reuse: Option<&Scenario>,
) -> Result<Scenario, ScenarioError> {
    let display_path = path.map_or_else(|| "command line".into(), Path::to_path_buf);
    let mut p = Problems::default();

    if raw.name.is_empty()
        || !raw
            .name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
        || raw.name.starts_with('.')
    {
        p.add(
            "name",
            format!(
                "`{}` cannot name an output folder: use letters, digits, `_`, `-` and `.`",
                raw.name
            ),
        );
    }
    match raw.sigma.map(check::sigma) {
        Some(Some(m)) => p.add("sigma", m),
        None if raw.sectors.is_empty() => p.add("sigma", "required (or give `[[sectors]]`)"),
        _ => {}
    }

    // Data come first: codes are checked against them. A data file that cannot be read
    // ends validation at once (nothing else can be checked without it).
    let (data, data_source, reporters, imputed) =
        match load_data(&raw.data, &raw.economies, base_dir, reuse, &mut p)? {
            Some(d) => d,
            None => return Err(invalid(display_path, p)),
        };
    let (data, cells) = set_cells(data, &raw.data.cells, &imputed, &mut p);
    if let Some(u) = &raw.data.unit {
        if u.trim().is_empty() || u.contains(['\n', ',']) {
            p.add(
                "data.unit",
                format!("{u:?}: name the unit of the flows in words, on one line and without a comma (`USD bn`)"),
            );
        }
    }
    check_scale(
        &data,
        if raw.data.path.is_some() {
            "data.path"
        } else if raw.data.world.is_some() {
            "data.world"
        } else {
            "data.flows"
        },
        &mut p,
    );
    if raw.data.world.is_some() && raw.costs.method == CostMethod::Coefficients {
        p.add(
            "costs.method",
            "a built world's costs are backed out of its flows: use method = \"observed\" (its cost variables serve `set_variable` shocks, with coefficients such as those `tradeflow data build` prints)",
        );
    }
    let economies = &data.economies;
    if let Some(listed) = &raw.economies {
        for (k, code) in listed.iter().enumerate() {
            if code.trim().is_empty() {
                p.add(
                    format!("economies[{k}]"),
                    format!("`{code}` is not an economy code: a code cannot be empty"),
                );
            } else if economies.position(code).is_none() {
                p.add(
                    format!("economies[{k}]"),
                    format!("`{code}` is not in the data (the data must hold every pair of the listed economies)"),
                );
            }
        }
        for code in economies.codes() {
            if !listed.contains(code) {
                p.add(
                    "economies",
                    format!("the data hold `{code}`, which the list leaves out"),
                );
            }
        }
    }
    if economies.position(&raw.reference_importer).is_none() {
        p.add(
            "reference_importer",
            format!(
                "`{}` is not one of the economies ({})",
                raw.reference_importer,
                economies.codes().join(", ")
            ),
        );
    }

    let groups = resolve_groups(&raw.groups, economies, &mut p);

    let coefficients = raw.costs.coefficients.clone();
    for (name, beta) in &coefficients {
        if let Some(m) = check::coefficient(*beta) {
            p.add(format!("costs.coefficients.{name}"), m);
        }
        if name != CONSTANT && !data.variables.contains_key(name) {
            p.add(
                format!("costs.coefficients.{name}"),
                format!(
                    "unknown cost variable `{name}`: the data have {}",
                    data.variable_names()
                ),
            );
        }
    }
    if raw.costs.method == CostMethod::Coefficients && coefficients.is_empty() {
        p.add(
            "costs.coefficients",
            "method = \"coefficients\" needs at least one coefficient",
        );
    }

    let shocks: Vec<Shock> = raw
        .shocks
        .iter()
        .enumerate()
        .filter_map(|(k, s)| resolve_shock(k, s, economies, &groups, &raw, &data, &mut p))
        .collect();

    let dynamics = validate_dynamics(&raw, economies, &groups, reporters, &data.variables, &mut p);
    if let Some(message) = super::ge_mode_problem(raw.ge_mode, raw.years.is_some()) {
        p.add("ge_mode", message);
    }

    let defaults = SolverOptions::default();
    let solver = SolverOptions::new(
        raw.solver.tolerance.unwrap_or(defaults.tolerance),
        raw.solver.max_iterations.unwrap_or(defaults.max_iterations),
        raw.solver.memory.unwrap_or(defaults.memory),
    )
    .map_err(|wrong| {
        for w in wrong {
            p.add(format!("solver.{}", w.field), w.message);
        }
    })
    .ok();

    // The scenario's sigma: the one written, or the first sector's (`[[sectors]]` and a
    // top-level sigma exclude each other, and sectors need `[years]`).
    let sigma = raw
        .sigma
        .or_else(|| dynamics.as_ref()?.sectors.first().map(|s| s.sigma));
    let (Some(sigma), Some(solver), true) = (sigma, solver, p.0.is_empty()) else {
        if p.0.is_empty() {
            p.add("sigma", "required (or give `[[sectors]]`)");
        }
        return Err(invalid(display_path, p));
    };
    let uncertainty = raw.uncertainty.clone();
    let mut scenario = Scenario {
        name: raw.name,
        description: raw.description,
        is_abstract: raw.is_abstract,
        source: path.map(Path::to_path_buf),
        sigma,
        top_sigma: raw.sigma.is_some(),
        reference_importer: raw.reference_importer,
        ge_mode: raw.ge_mode,
        data_source,
        data_unit: raw.data.unit.clone().filter(|u| !u.trim().is_empty()),
        economies: economies.codes().to_vec(),
        groups: groups
            .into_iter()
            .map(|(g, members)| {
                let codes = members
                    .iter()
                    .map(|&i| economies.code(i).to_owned())
                    .collect();
                (g, codes)
            })
            .collect(),
        cost_method: raw.costs.method,
        coefficients,
        shocks,
        solver,
        dynamics,
        uncertainty: None,
        data,
        imputed,
        cells,
    };
    // `[uncertainty]` names parameters of the validated scenario, so it is checked last.
    if let Some(u) = &uncertainty {
        let checked = super::uncertainty::validate(u, &scenario, &mut p);
        if !p.0.is_empty() {
            return Err(invalid(display_path, p));
        }
        scenario.uncertainty = checked;
    }
    Ok(scenario)
}

/// The totals of flows, output and expenditure within
/// [`MIN_DATA_TOTAL`, `MAX_DATA_TOTAL`]: the check is on the data's scale (its units), so it
/// names the real reason when tiny or huge units would make a product of two totals
/// underflow or overflow.
fn check_scale(data: &GravityData, field: &str, p: &mut Problems) {
    for (what, total) in [
        ("flows", data.trade.sum()),
        ("outputs Y", data.output.sum()),
        ("expenditures E", data.expenditure.sum()),
    ] {
        if total == 0.0 {
            p.add(field, format!("the {what} are all zero"));
            return;
        }
        if !(MIN_DATA_TOTAL..=MAX_DATA_TOTAL).contains(&total) {
            let units = if total > MAX_DATA_TOTAL || total.is_nan() {
                "larger units (USD bn instead of USD)"
            } else {
                "smaller units (USD instead of USD bn)"
            };
            p.add(
                field,
                format!(
                    "the {what} add up to {total:e}: the gravity equations multiply outputs by expenditures, which needs totals between {MIN_DATA_TOTAL:e} and {MAX_DATA_TOTAL:e}; state the data in {units}"
                ),
            );
            return;
        }
    }
}

/// Loaded data, where they came from, who reported each flow and whether it is imputed
/// (both row-major).
type Loaded = (GravityData, DataSource, Vec<Reporter>, Vec<bool>);

/// Loads file data or assembles inline flows. `Ok(None)` when problems were recorded.
fn load_data(
    raw: &RawData,
    listed: &Option<Vec<String>>,
    base_dir: &Path,
    reuse: Option<&Scenario>,
    p: &mut Problems,
) -> Result<Option<Loaded>, ScenarioError> {
    let given = [raw.path.is_some(), raw.world.is_some(), raw.flows.is_some()];
    if given.iter().filter(|g| **g).count() > 1 {
        p.add(
            "data",
            "give one of `path`, `world` or `flows`, not several",
        );
        return Ok(None);
    }
    if raw.panel.is_some() && raw.world.is_none() {
        p.add(
            "data.panel",
            "goes with `world` (the panel a built world came from)",
        );
        return Ok(None);
    }
    if raw.rates.is_some() && raw.world.is_none() {
        p.add(
            "data.rates",
            "goes with `world` and `panel` (the rates the world was built with)",
        );
        return Ok(None);
    }
    if let Some(rel) = &raw.world {
        return Ok(load_world(rel, raw, base_dir, reuse, p));
    }
    match (&raw.path, &raw.flows) {
        (Some(_), Some(_)) => {
            p.add(
                "data",
                "give one of `path`, `world` or `flows`, not several",
            );
            Ok(None)
        }
        (None, None) => {
            p.add(
                "data",
                "needs `path` (a gegravity-layout CSV), `world` (a world built by `tradeflow data build`) or inline `flows`",
            );
            Ok(None)
        }
        (Some(rel), None) => {
            let path = base_dir.join(rel);
            let year = raw.year.map(|y| y.to_string());
            let source = DataSource::File {
                path: path.clone(),
                year: raw.year,
            };
            let data = match reuse {
                Some(s) if s.data_source == source => s.data.clone(),
                _ => load_gegravity_csv(&path, year.as_deref())?,
            };
            if let Err(e) = check_economies("data", data.economies.len()) {
                p.add(e.field, format!("{} {}", e.value, e.reason));
                return Ok(None);
            }
            let n = data.economies.len();
            Ok(Some((
                data,
                DataSource::File {
                    path,
                    year: raw.year,
                },
                vec![Reporter::Model; n * n],
                vec![false; n * n],
            )))
        }
        (None, Some(flows)) => {
            if raw.year.is_some() {
                p.add(
                    "data.year",
                    "`year` selects rows of a data file; inline flows have none",
                );
            }
            let Some(listed) = listed else {
                p.add("economies", "inline flows need the list of economies");
                return Ok(None);
            };
            if let Err(e) = check_economies("economies", listed.len()) {
                p.add(e.field, format!("{} {}", e.value, e.reason));
                return Ok(None);
            }
            let before = p.0.len();
            for (k, code) in listed.iter().enumerate() {
                if code.trim().is_empty() {
                    p.add(
                        format!("economies[{k}]"),
                        format!("`{code}` is not an economy code: a code cannot be empty"),
                    );
                }
            }
            if p.0.len() > before {
                return Ok(None);
            }
            let economies = match Economies::new(listed.iter().cloned()) {
                Ok(e) => e,
                Err(dup) => {
                    p.add("economies", dup.to_string());
                    return Ok(None);
                }
            };
            Ok(inline_data(economies, flows, p).map(|(d, r)| {
                let n = d.economies.len();
                (d, DataSource::Inline, r, vec![false; n * n])
            }))
        }
    }
}

/// Loads `[data] world` (and checks `panel`), each cell's reporter carried as inline flows
/// carry theirs: the exporter's export record, the importer's import record, or neither.
fn load_world(
    rel: &str,
    raw: &RawData,
    base_dir: &Path,
    reuse: Option<&Scenario>,
    p: &mut Problems,
) -> Option<Loaded> {
    use crate::data::world_file::{read_world, Recorder};
    let path = base_dir.join(rel);
    let panel = raw.panel.as_ref().map(|rel| base_dir.join(rel));
    let rates = raw.rates.as_ref().map(|rel| base_dir.join(rel));
    let year = match raw.year.map(i32::try_from) {
        None => None,
        Some(Ok(y)) => Some(y),
        Some(Err(_)) => {
            p.add(
                "data.year",
                format!("{} is not a year", raw.year.unwrap_or(0)),
            );
            return None;
        }
    };
    if let Some(s) = reuse {
        if let DataSource::World {
            path: rp,
            year: ry,
            panel: pp,
            rates: rr,
        } = &s.data_source
        {
            if *rp == path
                && year.is_none_or(|y| i64::from(y) == *ry)
                && *pp == panel
                && *rr == rates
            {
                let n = s.data.economies.len();
                let reporters = s
                    .dynamics
                    .as_ref()
                    .map_or_else(|| vec![Reporter::Model; n * n], |d| d.reporters.clone());
                // As the file has it: without the cells the scenario set.
                let mut data = s.data.clone();
                for c in &s.cells {
                    data.trade[(c.exporter, c.importer)] = c.imputed;
                }
                let data = GravityData {
                    variables: data.variables.clone(),
                    ..GravityData::from_flows(data.economies.clone(), data.trade)
                };
                return Some((data, s.data_source.clone(), reporters, s.imputed.clone()));
            }
        }
    }
    let world = match read_world(&path, year) {
        Ok(w) => w,
        Err(e) => {
            p.add("data.world", e.to_string());
            return None;
        }
    };
    if let Some(panel_path) = &panel {
        match crate::data::panel::Panel::read(panel_path) {
            Err(e) => {
                p.add("data.panel", e.to_string());
                return None;
            }
            Ok(pl) if !pl.years().contains(&world.year) => p.add(
                "data.panel",
                format!(
                    "{} has no figure in {}, the world's year",
                    panel_path.display(),
                    world.year
                ),
            ),
            Ok(_) => {}
        }
    }
    if let Some(rates_path) = &rates {
        if raw.panel.is_none() {
            p.add(
                "data.rates",
                "converts the panel's figures, but `[data]` names no `panel`".to_owned(),
            );
        }
        if let Err(e) = crate::data::panel::Rates::read(rates_path) {
            p.add("data.rates", e.to_string());
            return None;
        }
    }
    if let Err(e) = check_economies("data", world.data.economies.len()) {
        p.add(e.field, format!("{} {}", e.value, e.reason));
        return None;
    }
    let reporters = world
        .recorders
        .iter()
        .map(|r| match r {
            Recorder::Exporter => Reporter::Exporter,
            Recorder::Importer => Reporter::Importer,
            Recorder::Neither => Reporter::Model,
        })
        .collect();
    Some((
        world.data,
        DataSource::World {
            path,
            year: i64::from(world.year),
            panel,
            rates,
        },
        reporters,
        world.imputed,
    ))
}

fn inline_data(
    economies: Economies,
    flows: &[super::raw::RawFlow],
    p: &mut Problems,
) -> Option<(GravityData, Vec<Reporter>)> {
    let n = economies.len();
    let before = p.0.len();
    let mut reporters = vec![Reporter::Model; n * n];
    let mut trade = Matrix::zeros(n, n);
    let mut seen: HashMap<(usize, usize), usize> = HashMap::new();
    let mut vars: BTreeMap<String, Matrix> = BTreeMap::new();
    for (k, f) in flows.iter().enumerate() {
        let field = format!("data.flows[{k}]");
        let i = economies.position(&f.exporter);
        let j = economies.position(&f.importer);
        for (code, pos, what) in [(&f.exporter, i, "exporter"), (&f.importer, j, "importer")] {
            if pos.is_none() {
                p.add(
                    format!("{field}.{what}"),
                    format!("country `{code}` is not defined in `economies`"),
                );
            }
        }
        if !(f.value.is_finite() && f.value >= 0.0) {
            p.add(
                format!("{field}.value"),
                format!(
                    "a flow must be a finite, non-negative number, got {}",
                    f.value
                ),
            );
        }
        let (Some(i), Some(j)) = (i, j) else { continue };
        if let Some(first) = seen.insert((i, j), k) {
            p.add(
                field.clone(),
                format!(
                    "pair {}->{} is given twice (first in data.flows[{first}])",
                    f.exporter, f.importer
                ),
            );
        }
        trade[(i, j)] = f.value;
        reporters[i * n + j] = match f.reporter.as_deref() {
            None | Some("model") => Reporter::Model,
            Some(r) if r == f.exporter => Reporter::Exporter,
            Some(r) if r == f.importer => Reporter::Importer,
            Some(r) => {
                p.add(
                    format!("{field}.reporter"),
                    format!(
                        "`{r}` is neither the exporter `{}` nor the importer `{}` nor `model`",
                        f.exporter, f.importer
                    ),
                );
                Reporter::Model
            }
        };
        for (name, v) in &f.variables {
            if !v.is_finite() {
                p.add(
                    format!("{field}.variables.{name}"),
                    format!("must be a finite number, got {v}"),
                );
            }
            vars.entry(name.clone())
                .or_insert_with(|| Matrix::from_element(n, n, f64::NAN))[(i, j)] = *v;
        }
    }
    for i in 0..n {
        for j in 0..n {
            if !seen.contains_key(&(i, j)) {
                p.add(
                    "data.flows",
                    format!(
                        "no flow for {}->{}: inline data must give every pair, domestic sales included",
                        economies.code(i),
                        economies.code(j)
                    ),
                );
            }
        }
    }
    for (name, m) in &vars {
        if let Some(k) = m.iter().position(|v| v.is_nan()) {
            let (i, j) = (k % n, k / n);
            p.add(
                "data.flows",
                format!(
                    "cost variable `{name}` is missing for {}->{} (give it for every pair or none)",
                    economies.code(i),
                    economies.code(j)
                ),
            );
        }
    }
    if p.0.len() > before {
        return None;
    }
    let mut data = GravityData::from_flows(economies, trade);
    data.variables = vars;
    Some((data, reporters))
}

fn resolve_shock(
    k: usize,
    s: &RawShock,
    economies: &Economies,
    groups: &BTreeMap<String, Vec<usize>>,
    raw: &RawScenario,
    data: &GravityData,
    p: &mut Problems,
) -> Option<Shock> {
    let field = format!("shocks[{k}]");
    let before = p.0.len();
    // The numeric fields each kind takes; any other one given is an error, so a typo such
    // as `factor` on a tariff does not pass silently.
    let (kind_name, wanted): (&str, &[&str]) = match s.kind {
        ShockKind::SetVariable => ("set_variable", &["variable", "value"]),
        ShockKind::CostFactor => ("cost_factor", &["factor"]),
        ShockKind::Tariff => ("tariff", &["percent"]),
    };
    let given = [
        ("variable", s.variable.is_some()),
        ("value", s.value.is_some()),
        ("factor", s.factor.is_some()),
        ("percent", s.percent.is_some()),
    ];
    for (name, present) in given {
        if present && !wanted.contains(&name) {
            p.add(
                format!("{field}.{name}"),
                format!(
                    "does not apply to kind = \"{kind_name}\" (it takes {})",
                    wanted.join(", ")
                ),
            );
        }
    }

    let change = match s.kind {
        ShockKind::SetVariable => {
            let variable = s.variable.clone();
            let value = s.value;
            match &variable {
                None => p.add(format!("{field}.variable"), "required for kind = \"set_variable\""),
                Some(v) if !data.variables.contains_key(v) => p.add(
                    format!("{field}.variable"),
                    format!("unknown cost variable `{v}`: the data have {}", data.variable_names()),
                ),
                Some(v) if !raw.costs.coefficients.contains_key(v) => p.add(
                    format!("{field}.variable"),
                    format!("cost variable `{v}` has no coefficient in `[costs.coefficients]`, so changing it changes nothing"),
                ),
                Some(_) => {}
            }
            match value {
                None => p.add(
                    format!("{field}.value"),
                    "required for kind = \"set_variable\"",
                ),
                Some(v) => {
                    if let Some(m) = check::shock_value(v) {
                        p.add(format!("{field}.value"), m);
                    }
                }
            }
            CostChange::SetVariable {
                variable: variable.unwrap_or_default(),
                value: value.unwrap_or(0.0),
            }
        }
        ShockKind::CostFactor => {
            match s.factor {
                None => p.add(
                    format!("{field}.factor"),
                    "required for kind = \"cost_factor\"",
                ),
                Some(f) => {
                    if let Some(m) = check::shock_factor(f) {
                        p.add(format!("{field}.factor"), m);
                    }
                }
            }
            CostChange::Factor {
                factor: s.factor.unwrap_or(1.0),
            }
        }
        ShockKind::Tariff => {
            match s.percent {
                None => p.add(format!("{field}.percent"), "required for kind = \"tariff\""),
                Some(t) => {
                    if let Some(m) = check::tariff_percent(t) {
                        p.add(format!("{field}.percent"), m);
                    }
                }
            }
            CostChange::Factor {
                factor: 1.0 + s.percent.unwrap_or(0.0) / 100.0,
            }
        }
    };

    let pairs: Vec<(usize, usize)> = match (&s.pairs, &s.exporters, &s.importers) {
        (Some(pairs), None, None) => {
            let mut out = Vec::new();
            for (m, pair) in pairs.iter().enumerate() {
                let [e, i] = pair.as_slice() else {
                    p.add(
                        format!("{field}.pairs[{m}]"),
                        format!(
                            "a pair is [exporter, importer], got {} codes ({})",
                            pair.len(),
                            pair.iter()
                                .map(|c| format!("`{c}`"))
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    );
                    continue;
                };
                let ie = economies.position(e);
                let ii = economies.position(i);
                for (code, pos, side) in [(e, ie, 0), (i, ii, 1)] {
                    if pos.is_none() {
                        p.add(
                            format!("{field}.pairs[{m}][{side}]"),
                            format!("country `{code}` is not one of the economies"),
                        );
                    }
                }
                if let (Some(a), Some(b)) = (ie, ii) {
                    out.push((a, b));
                }
            }
            out
        }
        (None, Some(ex), Some(im)) => {
            let ex = resolve_set(ex, &format!("{field}.exporters"), economies, groups, p);
            let im = resolve_set(im, &format!("{field}.importers"), economies, groups, p);
            ex.iter()
                .flat_map(|&a| im.iter().filter(move |&&b| b != a).map(move |&b| (a, b)))
                .collect()
        }
        _ => {
            p.add(
                field.clone(),
                "give either `pairs` or both `exporters` and `importers`",
            );
            Vec::new()
        }
    };
    if pairs.is_empty() && p.0.len() == before {
        p.add(field.clone(), "applies to no pair of distinct economies");
    }
    if p.0.len() > before {
        if let Some(label) = &s.label {
            for problem in &mut p.0[before..] {
                problem.message.push_str(&format!(" [shock \"{label}\"]"));
            }
        }
        return None;
    }
    let percent = (s.kind == ShockKind::Tariff).then(|| s.percent.unwrap_or(0.0));
    let label = s
        .label
        .clone()
        .unwrap_or_else(|| Shock::default_label(&change, percent));
    let pair_codes = pairs
        .iter()
        .map(|&(a, b)| [economies.code(a).to_owned(), economies.code(b).to_owned()])
        .collect();
    Some(Shock {
        label,
        change,
        pairs,
        pair_codes,
        percent,
        label_given: s.label.is_some(),
    })
}

/// `[data.cells]`: values replacing imputed cells of the world (`"EXP-IMP" = value`, data
/// unit), each checked: the pair must be two economies of the data, the cell imputed (a
/// reported figure is data, not a parameter), the value positive and finite. Output and
/// expenditure follow the flows, as for the world itself.
fn set_cells(
    mut data: GravityData,
    raw: &BTreeMap<String, f64>,
    imputed: &[bool],
    p: &mut Problems,
) -> (GravityData, Vec<CellOverride>) {
    let n = data.economies.len();
    let mut cells = Vec::new();
    for (key, &value) in raw {
        let field = format!("data.cells.{key}");
        let pair = key
            .split_once('-')
            .and_then(|(a, b)| Some((data.economies.position(a)?, data.economies.position(b)?)));
        let Some((i, j)) = pair.filter(|(i, j)| i != j) else {
            p.add(
                &field,
                "names no foreign cell of the data: write `\"EXPORTER-IMPORTER\"` with two codes of the data",
            );
            continue;
        };
        if !imputed.get(i * n + j).copied().unwrap_or(false) {
            p.add(
                &field,
                "is not an imputed cell of the world: only imputed cells can be set (a reported figure is data)",
            );
            continue;
        }
        if let Some(m) = check::cell(value) {
            p.add(&field, m);
            continue;
        }
        cells.push(CellOverride {
            exporter: i,
            importer: j,
            code: key.clone(),
            imputed: data.trade[(i, j)],
            value,
        });
        data.trade[(i, j)] = value;
    }
    if !cells.is_empty() {
        data = GravityData {
            variables: std::mem::take(&mut data.variables),
            ..GravityData::from_flows(data.economies.clone(), data.trade)
        };
    }
    (data, cells)
}
