//! `tradeflow data build`: a base-year world for a map's economies from a panel.
//!
//! Data flow, one way:
//! 1. **observed cells**: for the year and product, one figure per foreign link chosen by a
//!    stated [`Precedence`] ([`Panel::select`]), converted to the world's unit through the
//!    rates table; the figure, its reporter, flow, source and kind are kept as recorded, and
//!    the note says which rule chose it and the panel line it came from;
//! 2. **imputed cells**: every foreign link without an observed figure is the prediction of
//!    a PPML gravity model fitted on observed foreign cells ([`prior`]; [`Effects`] says
//!    which model):
//!    - `fixed`: `X_ij = exp(b'z_ij + c + a_i + g_j)` with the [`super::geography`]
//!      variables `z` and exporter and importer fixed effects, the structural form. An
//!      economy without an observed cell as exporter (importer), or whose cells the fit
//!      dropped (singletons), has no effect, and its cells cannot be imputed: an error lists
//!      them, nothing is written;
//!    - `masses`: `X_ij = exp(c + m_o ln Y_i + m_d ln Y_j + b'z_ij)`, `Y` the economy's
//!      figure in the domestic table (the one the domestic method uses). It predicts every
//!      cell from the economies' size and the geography, so it works on a thin panel where
//!      most economies have one observed cell or none;
//!    - `auto` (default): `fixed` when every economy with a missing cell has its effects,
//!      otherwise `masses` for every cell, and the summary says why. One model for the whole
//!      prior: mixing fixed effects for some economies with masses for others would give the
//!      geography coefficients two meanings at once.
//!
//!    Variables constant over the observed cells, or collinear with the effects, are left
//!    out and the summary says so. The fit may pool several years (`fit_years`), each
//!    year's cells chosen by the same precedence and converted at that year's rates, with
//!    year fixed effects, the prediction using the base year's; a cell of a year whose
//!    domestic table lacks one of its economies is left out of a masses fit and listed. Each
//!    imputed cell's standard error is the delta method, `se(X_ij) = X_ij sqrt(d' V d)`,
//!    with `V` the HC0 covariance of the coefficients *and* the constant or effects (the
//!    same sandwich as the fit's, on the dummy form of the model: [`delta_covariance`]);
//! 3. **reported totals** (partner `WLD`, [`WORLD_CODE`]): the imputed cells are scaled by
//!    iterative proportional fitting ([`totals`], observed cells fixed) so that an
//!    economy's foreign exports and imports match its reported total of the base year (its
//!    own record first), to [`totals::TOLERANCE`] relative within [`totals::MAX_SWEEPS`]
//!    sweeps. A total the observed cells alone reach cannot be met (a mirror-gap effect:
//!    partners record more than the economy's own total): the observed cells are kept and
//!    the report says so. `ROW` has no total: its row and column take what the others'
//!    totals leave. World trade (`WLD -> WLD`) is no constraint, since it counts trade
//!    inside the map's aggregates (intra-EU, intra-ROW), which are domestic cells here; the
//!    report shows it against the world's foreign cells as a check. A scaled cell's standard
//!    error is scaled with it (the factor is taken as exact);
//! 4. **domestic sales** from the domestic table ([`super::domestic`]), by the stated
//!    [`DomesticMethod`], written into every domestic row's note. With
//!    `output-less-exports` the row's standard error is that of the economy's imputed
//!    exports (the same delta method on their sum); the output figure is taken as exact.
//!    With `given`, a figure whose measure is not `domestic sales` (GDP) taken as domestic
//!    sales is kind `assumption`, and the note says so.
//!
//! The world is written by [`super::world_file`] (one row per cell).

use std::collections::BTreeMap;

use nalgebra::{DMatrix, DVector};

use super::domestic::{DomesticMethod, DomesticTable};
use super::economies::Economies;
use super::geography::Geography;
use super::panel::{Flow, Kind, Panel, PanelReader, Precedence, Rates, Unit, WORLD_CODE};
use super::{DataError, Location};
use crate::estimate::PpmlOptions;

pub mod prior;
pub mod totals;

pub use prior::Effects;
use prior::Prior;

/// The reporter written for cells tradeflow computed (imputed cells, domestic sales): the
/// word inline scenario flows use for a figure no customs office recorded.
pub const MODEL_REPORTER: &str = "model";

/// What a build takes besides the panel.
#[derive(Debug, Clone)]
pub struct BuildOptions<'a> {
    pub year: i32,
    /// The product of the world's cells (`total`).
    pub product: String,
    pub precedence: Precedence,
    /// The unit of every value of the world.
    pub unit: Unit,
    pub rates: &'a Rates,
    pub economies: &'a Economies,
    pub geography: &'a Geography,
    pub domestic: &'a DomesticTable,
    pub method: DomesticMethod,
    pub ppml: PpmlOptions,
    /// Which effects the gravity prior has.
    pub effects: Effects,
    /// The years the prior is fitted on (empty: the base year alone); must hold the base
    /// year.
    pub fit_years: Vec<i32>,
    /// Scale the imputed cells to the reported totals (`WLD` rows).
    pub use_totals: bool,
}

/// One cell of a built world.
#[derive(Debug, Clone, PartialEq)]
pub struct WorldCell {
    pub year: i32,
    pub exporter: String,
    pub importer: String,
    pub reporter: String,
    /// As the reporter recorded it for observed cells; `export` (the link's direction) for
    /// cells tradeflow computed.
    pub flow: Flow,
    pub product: String,
    pub value: f64,
    pub unit: Unit,
    /// The standard error of an imputed value (and of a domestic value derived from imputed
    /// exports); `None` for figures taken as recorded.
    pub stderr: Option<f64>,
    pub source: String,
    pub kind: Kind,
    pub note: String,
    /// The cost variables of the pair ([`VARIABLES`]); `None` for domestic cells, which the
    /// tables do not describe.
    pub variables: Option<[f64; 4]>,
}

/// The gravity fit behind the imputed cells.
#[derive(Debug, Clone, PartialEq)]
pub struct GravityFit {
    /// The model, in words.
    pub effects: String,
    /// Whether the model is the masses one.
    pub masses: bool,
    /// Why fixed effects were not used (`auto` only).
    pub fallback: Option<String>,
    /// The years the fit pooled.
    pub years: Vec<i32>,
    /// Kept observations per year.
    pub kept_by_year: Vec<(i32, usize)>,
    /// Economies and years whose cells a masses fit left out for want of an output figure.
    pub without_output: Vec<String>,
    /// `(beta, stderr)` of the constant (ppmlhdfe's `_cons` when there are effects).
    pub constant: (f64, f64),
    /// `(variable, beta, stderr)` of the variables used.
    pub coefficients: Vec<(String, f64, f64)>,
    /// Variables left out, with why.
    pub left_out: Vec<(String, String)>,
    /// Observed foreign cells in the fit, kept and dropped (`exporter->importer: reason`).
    pub observations: usize,
    pub kept: usize,
    pub dropped: Vec<String>,
    pub iterations: usize,
    pub deviance: f64,
    pub converged: bool,
}

/// A built world and what the build did.
#[derive(Debug, Clone)]
pub struct World {
    pub year: i32,
    pub product: String,
    pub unit: Unit,
    /// The economies in the map's order.
    pub codes: Vec<String>,
    /// Exporter-major, importer in the map's order: `n * n` cells.
    pub cells: Vec<WorldCell>,
    /// `None` when no cell had to be imputed.
    pub fit: Option<GravityFit>,
    pub precedence: String,
    pub method: String,
    /// Panel rows of the year and product within one economy (`EU -> EU`), not used:
    /// domestic sales come from the domestic table.
    pub internal_rows: usize,
    /// Panel rows of the year that are totals (partner `WLD`): not cells, but targets of
    /// the imputed cells.
    pub total_rows: usize,
    /// What the reported totals did (`None` when no cell was imputed).
    pub totals: Option<TotalsReport>,
}

/// One reported total and the built world's sum.
#[derive(Debug, Clone, PartialEq)]
pub struct TotalCheck {
    pub economy: String,
    /// `exports` (to the world) or `imports` (from it).
    pub side: &'static str,
    /// The total in the world's unit, and the panel row it comes from.
    pub total: f64,
    pub from: String,
    /// The economy's observed foreign cells on that side, their sum with the imputed
    /// priors, and with the fitted imputed cells.
    pub observed: f64,
    pub prior: f64,
    pub built: f64,
    pub status: totals::Status,
}

/// What the reported totals did to the imputed cells.
#[derive(Debug, Clone, PartialEq)]
pub struct TotalsReport {
    pub checks: Vec<TotalCheck>,
    pub sweeps: usize,
    /// The largest relative gap of a fitted total at the end.
    pub gap: f64,
    /// World trade `(value, row, the world's foreign cells)`, a check.
    pub world: Option<(f64, String, f64)>,
}

impl TotalCheck {
    /// The status in words.
    pub fn status_text(&self) -> String {
        match self.status {
            totals::Status::Met => "met".into(),
            totals::Status::ObservedExceed => format!(
                "not met: the observed cells alone ({:.4}) exceed the total, a mirror-gap effect; observed cells kept as recorded",
                self.observed
            ),
            totals::Status::NoImputedCell => "not met: every cell is observed".into(),
            totals::Status::NotConverged => {
                "not met: contradicts other totals over the imputed cells".into()
            }
        }
    }
}

impl World {
    /// How many cells are of each kind: observed (recorded figures), imputed, domestic.
    pub fn counts(&self) -> (usize, usize, usize) {
        let n = self.codes.len();
        let imputed = self
            .cells
            .iter()
            .filter(|c| c.kind == Kind::Imputed)
            .count();
        (n * (n - 1) - imputed, imputed, n)
    }

    /// A few lines for the console: the precedence, the counts and the fit.
    pub fn describe(&self) -> String {
        let (obs, imp, dom) = self.counts();
        let mut s = format!(
            "{} economies, {} ({}), product `{}`: {obs} observed foreign cells, {imp} imputed, {dom} domestic\n",
            self.codes.len(),
            self.year,
            self.unit,
            self.product
        );
        s.push_str(&format!("  reporter precedence: {}\n", self.precedence));
        s.push_str(&format!("  domestic sales: {}\n", self.method));
        if self.internal_rows > 0 {
            s.push_str(&format!(
                "  left out {} panel rows of trade within one economy (domestic sales come from the domestic table)\n",
                self.internal_rows
            ));
        }
        if self.total_rows > 0 {
            s.push_str(&format!(
                "  left out {} panel rows of totals (partner WLD): totals are not cells of a link\n",
                self.total_rows
            ));
        }
        match &self.fit {
            None => s.push_str("  no cell to impute: no gravity fit\n"),
            Some(f) => {
                if let Some(why) = &f.fallback {
                    s.push_str(&format!(
                        "  fixed effects not identified ({why}): economy masses for every imputed cell\n"
                    ));
                }
                let by_year: Vec<String> = f
                    .kept_by_year
                    .iter()
                    .map(|(y, k)| format!("{y}: {k}"))
                    .collect();
                s.push_str(&format!(
                    "  PPML on {} observed cells ({} kept; {}), {}, {} iterations, deviance {:.6e}\n",
                    f.observations,
                    f.kept,
                    by_year.join(", "),
                    f.effects,
                    f.iterations,
                    f.deviance
                ));
                for (name, b, se) in &f.coefficients {
                    s.push_str(&format!("    {name:<18} {b:>10.4}  (HC0 s.e. {se:.4})\n"));
                }
                s.push_str(&format!(
                    "    {:<18} {:>10.4}  (HC0 s.e. {:.4})\n",
                    "constant", f.constant.0, f.constant.1
                ));
                for (name, why) in &f.left_out {
                    s.push_str(&format!("    {name:<18} left out: {why}\n"));
                }
                if !f.without_output.is_empty() {
                    s.push_str(&format!(
                        "    left out for want of an output figure: the cells of {}\n",
                        f.without_output.join(", ")
                    ));
                }
                for d in &f.dropped {
                    s.push_str(&format!("    dropped {d}\n"));
                }
            }
        }
        if let Some(t) = &self.totals {
            let met = t
                .checks
                .iter()
                .filter(|c| c.status == totals::Status::Met)
                .count();
            s.push_str(&format!(
                "  reported totals: {met} of {} met ({} sweeps, largest gap {:.1e})\n",
                t.checks.len(),
                t.sweeps,
                t.gap
            ));
            for c in t.checks.iter().filter(|c| c.status != totals::Status::Met) {
                s.push_str(&format!(
                    "    {} {} {:.4} {}: {}\n",
                    c.economy,
                    c.side,
                    c.total,
                    self.unit,
                    c.status_text()
                ));
            }
            if let Some((w, from, foreign)) = &t.world {
                s.push_str(&format!(
                    "  world trade {w} {} ({from}) against the world's foreign cells {foreign:.1}: the difference is trade inside aggregates (domestic cells here), not a constraint\n",
                    self.unit
                ));
            }
        }
        s
    }
}

/// Builds the world of `opt.economies` for `opt.year` from `panel` (see the module docs).
pub fn build(panel: &Panel, opt: &BuildOptions<'_>) -> Result<World, DataError> {
    let codes = opt.economies.codes.clone();
    let n = codes.len();
    let index: BTreeMap<&str, usize> = codes
        .iter()
        .enumerate()
        .map(|(i, c)| (c.as_str(), i))
        .collect();
    if !panel.years().contains(&opt.year) {
        return Err(DataError::File {
            path: panel.path.clone(),
            message: format!(
                "no figure in {} (--year); the panel holds {}",
                opt.year,
                years_text(&panel.years())
            ),
        });
    }
    let fit_years = if opt.fit_years.is_empty() {
        vec![opt.year]
    } else {
        opt.fit_years.clone()
    };
    if !fit_years.contains(&opt.year) {
        return Err(DataError::File {
            path: panel.path.clone(),
            message: format!(
                "the fit years ({}, --fit-years) do not include the base year {}",
                years_text(&fit_years),
                opt.year
            ),
        });
    }
    let is_total =
        |r: &super::panel::PanelRow| r.exporter == WORLD_CODE || r.importer == WORLD_CODE;
    let total_rows = panel
        .rows
        .iter()
        .filter(|(_, r)| r.year == opt.year && is_total(r))
        .count();
    let internal_rows = panel
        .rows
        .iter()
        .filter(|(_, r)| {
            r.year == opt.year
                && r.product == opt.product
                && r.exporter == r.importer
                && !is_total(r)
        })
        .count();

    // 1. Observed cells.
    let precedence = opt.precedence.to_string();
    let observed = observed_cells(panel, opt.year, opt, &index)?;

    let vars = opt.geography.variables(opt.economies, opt.year)?;
    let missing: Vec<(usize, usize)> = (0..n)
        .flat_map(|i| (0..n).map(move |j| (i, j)))
        .filter(|&(i, j)| i != j && observed[i * n + j].is_none())
        .collect();
    // Output of every economy in the base year (the domestic method's figure): masses of
    // the prior, and domestic sales below.
    let figures = opt
        .domestic
        .figures_for(&codes, opt.year, &opt.unit, opt.rates)?;
    let base_ln: Vec<Option<f64>> = figures
        .iter()
        .map(|(v, _)| (*v > 0.0).then(|| v.ln()))
        .collect();

    // 2. Imputed cells: the prior, then the reported totals.
    let mut cells: Vec<Option<WorldCell>> = observed;
    let imputed = if missing.is_empty() {
        None
    } else {
        let inputs = PriorInputs {
            panel,
            opt,
            index: &index,
            codes: &codes,
            fit_years: &fit_years,
            vars: &vars,
            base_ln: &base_ln,
            missing: &missing,
        };
        Some(impute(&inputs, &mut cells)?)
    };
    let (fit_summary, totals_report, covariance, export_gradients) = match imputed {
        Some(m) => (
            Some(m.fit),
            Some(m.totals),
            Some(m.covariance),
            m.export_gradients,
        ),
        None => (None, None, None, vec![None; n]),
    };
    // 3. Domestic sales.
    let method = match opt.method {
        DomesticMethod::OutputLessExports => format!(
            "domestic = output figure ({}) - the economy's exports in this world (observed and imputed)",
            file_name(&opt.domestic.path)
        ),
        DomesticMethod::Given => format!(
            "domestic = the figure of {} as given",
            file_name(&opt.domestic.path)
        ),
    };
    for (i, (value, f)) in figures.iter().enumerate() {
        let exports: f64 = (0..n)
            .filter(|&j| j != i)
            .map(|j| cells[i * n + j].as_ref().map_or(0.0, |c| c.value))
            .sum();
        let figure = format!(
            "{} {} {} ({}, {} line {}{})",
            f.measure,
            f.value,
            f.unit,
            f.kind.as_str(),
            file_name(&opt.domestic.path),
            f.line,
            if f.note.is_empty() {
                String::new()
            } else {
                format!(": {}", f.note)
            }
        );
        let (domestic, stderr, note, kind) = match opt.method {
            DomesticMethod::OutputLessExports => {
                let d = value - exports;
                if d < 0.0 {
                    return Err(DataError::at(
                        opt.domestic.value_at(f),
                        format!(
                            "domestic sales of {} would be negative: {} {} {} less its exports in this world, {exports} {}; give gross output, or domestic sales with --domestic given",
                            codes[i], f.measure, value, opt.unit, opt.unit
                        ),
                    ));
                }
                let se = match (&export_gradients[i], &covariance) {
                    (Some(g), Some(v)) => Some(g.dot(&(v * g)).max(0.0).sqrt()),
                    _ => None,
                };
                (
                    d,
                    se,
                    format!(
                        "domestic = {figure} - total goods exports in this world {exports} {}{}",
                        opt.unit,
                        if se.is_some() {
                            "; stderr from the imputed exports (delta method), the output figure taken as exact"
                        } else {
                            ""
                        }
                    ),
                    Kind::Derived,
                )
            }
            // A figure of domestic sales is what it is; another measure (GDP) taken as
            // domestic sales is an assumption, and the cell says so.
            DomesticMethod::Given if f.measure.eq_ignore_ascii_case("domestic sales") => (
                *value,
                None,
                format!("domestic = {figure} as given"),
                f.kind,
            ),
            DomesticMethod::Given => (
                *value,
                None,
                format!(
                    "domestic = {figure} as given (ASSUMPTION: the {} figure taken as domestic sales, --domestic given)",
                    f.measure
                ),
                Kind::Assumption,
            ),
        };
        cells[i * n + i] = Some(WorldCell {
            year: opt.year,
            exporter: codes[i].clone(),
            importer: codes[i].clone(),
            reporter: MODEL_REPORTER.into(),
            flow: Flow::Export,
            product: opt.product.clone(),
            value: domestic,
            unit: opt.unit.clone(),
            stderr,
            source: f.source.clone(),
            kind,
            note,
            variables: None,
        });
    }

    let cells = cells
        .into_iter()
        .enumerate()
        .map(|(k, c)| {
            let mut c = c.expect("every cell is observed, imputed or domestic");
            let (i, j) = (k / n, k % n);
            if i != j {
                c.variables = Some(vars.get(i, j));
            }
            c
        })
        .collect();
    Ok(World {
        year: opt.year,
        product: opt.product.clone(),
        unit: opt.unit.clone(),
        codes,
        cells,
        fit: fit_summary,
        precedence,
        method,
        internal_rows,
        total_rows,
        totals: totals_report,
    })
}

fn years_text(years: &[i32]) -> String {
    match (years.first(), years.last()) {
        (Some(a), Some(b)) if a == b => a.to_string(),
        (Some(a), Some(b)) => format!("{a}-{b}"),
        _ => "no rows".into(),
    }
}

fn file_name(p: &std::path::Path) -> String {
    p.file_name().map_or_else(
        || p.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

/// The location of `column` on `line` of the panel (the header read again for its column).
fn panel_location(panel: &Panel, line: u64, column: &str) -> Location {
    match PanelReader::open(&panel.path) {
        Ok(r) => r.location(line, column),
        Err(_) => Location::line(&panel.path, line),
    }
}

fn is_total_row(r: &super::panel::PanelRow) -> bool {
    r.exporter == WORLD_CODE || r.importer == WORLD_CODE
}

/// What the imputation of the missing cells reads (see [`build`]).
struct PriorInputs<'a, 'b> {
    panel: &'a Panel,
    opt: &'a BuildOptions<'b>,
    index: &'a BTreeMap<&'a str, usize>,
    codes: &'a [String],
    fit_years: &'a [i32],
    /// The base year's cost variables.
    vars: &'a super::geography::PairVariables,
    /// The base year's ln output of each economy (`None` without a positive figure).
    base_ln: &'a [Option<f64>],
    /// The foreign links without an observed cell.
    missing: &'a [(usize, usize)],
}

/// What the imputation gives besides the cells: the fit, the totals met or not, the
/// covariance of the prior's parameters and, per economy, the gradient of its imputed
/// exports' sum (for the domestic row's standard error).
struct Imputed {
    fit: GravityFit,
    totals: TotalsReport,
    covariance: DMatrix<f64>,
    export_gradients: Vec<Option<DVector<f64>>>,
}

/// Step 2 of [`build`]: fits the prior on the observed cells of the fit years, predicts
/// every missing cell, scales the predictions to the reported totals and writes them into
/// `cells`.
fn impute(
    inp: &PriorInputs<'_, '_>,
    cells: &mut [Option<WorldCell>],
) -> Result<Imputed, DataError> {
    let PriorInputs {
        panel,
        opt,
        index,
        codes,
        fit_years,
        vars,
        base_ln,
        missing,
    } = *inp;
    let n = codes.len();
    let pair_ln =
        |ln: &[Option<f64>], i: usize, j: usize| -> Option<(f64, f64)> { Some((ln[i]?, ln[j]?)) };
    let mut export_gradients: Vec<Option<DVector<f64>>> = vec![None; n];
    // The observations of every fit year, by the same precedence.
    let mut obs = Vec::new();
    let mut excluded = Vec::new();
    for &y in fit_years {
        let (cells_y, vars_y, ln_y) = if y == opt.year {
            (cells.to_vec(), vars.clone(), base_ln.to_vec())
        } else {
            (
                observed_cells(panel, y, opt, index)?,
                opt.geography.variables(opt.economies, y)?,
                outputs(opt, y, codes)?,
            )
        };
        for (k, c) in cells_y.iter().enumerate() {
            if let Some(c) = c {
                let (i, j) = (k / n, k % n);
                obs.push(prior::Obs {
                    year: y,
                    i,
                    j,
                    y: c.value,
                    z: vars_y.get(i, j),
                    ln_out: pair_ln(&ln_y, i, j),
                });
            }
        }
        for (e, ln) in ln_y.iter().enumerate() {
            if ln.is_none()
                && cells_y
                    .iter()
                    .flatten()
                    .any(|c| c.exporter == codes[e] || c.importer == codes[e])
            {
                excluded.push(format!("{} in {y}", codes[e]));
            }
        }
    }
    let fail = |m: String| DataError::File {
        path: panel.path.clone(),
        message: m,
    };
    let try_fixed = || -> Result<Prior, String> {
        let p = Prior::fit(obs.clone(), prior::Model::Fixed, &opt.ppml)
            .map_err(|e| format!("the fit with exporter and importer fixed effects failed: {e}"))?;
        let mut none: std::collections::BTreeSet<prior::NoEffect> = Default::default();
        for &(i, j) in missing {
            if let Err(e) = p.predict(opt.year, i, j, &vars.get(i, j), None) {
                none.insert(e);
            }
        }
        if none.is_empty() {
            return Ok(p);
        }
        let list: Vec<String> = none.iter().map(|e| why_no_effect(&p, e, codes)).collect();
        Err(format!("no fixed effect for {}", list.join(", ")))
    };
    let masses = |obs: &[prior::Obs]| -> Result<Prior, DataError> {
        let with: Vec<prior::Obs> = obs.iter().filter(|o| o.ln_out.is_some()).cloned().collect();
        Prior::fit(with, prior::Model::Masses, &opt.ppml).map_err(|e| {
            fail(format!(
                "the gravity fit with economy masses on the observed foreign cells of {} failed: {e}; nothing was written",
                years_text(fit_years)
            ))
        })
    };
    let mut fallback = None;
    let g = match opt.effects {
        Effects::Fixed => try_fixed().map_err(|why| {
            fail(format!(
                "cannot impute the missing cells of {} in {} with exporter and importer fixed effects: {why}; a gravity fit cannot give an economy without an observed cell its exporter or importer effect: add a figure for it, merge it into another economy of the map, or impute from economy masses (--effects masses or auto)",
                codes.join(", "),
                opt.year
            ))
        })?,
        Effects::Masses => masses(&obs)?,
        Effects::Auto => match try_fixed() {
            Ok(p) => p,
            Err(why) => {
                fallback = Some(why);
                masses(&obs)?
            }
        },
    };
    if g.model == prior::Model::Fixed {
        excluded.clear();
    }
    let source = format!(
        "PPML gravity fit ({}) on {} observed cells of {} ({}); geography tables {}",
        g.effects_text(),
        g.fit.report.kept,
        file_name(&panel.path),
        years_text(&g.years),
        opt.geography.dir.display()
    );
    // The prior of every missing cell.
    let mut priors = vec![0.0; n * n];
    let mut predicted = BTreeMap::new();
    for &(i, j) in missing {
        let z = vars.get(i, j);
        let ln = pair_ln(base_ln, i, j);
        let (eta, d) = g.predict(opt.year, i, j, &z, ln).map_err(|e| {
            fail(format!(
                "cannot impute {}->{}: {}",
                codes[i],
                codes[j],
                why_no_effect(&g, &e, codes)
            ))
        })?;
        priors[i * n + j] = eta.exp();
        predicted.insert((i, j), (eta, d));
    }
    // The totals.
    let observed_values: Vec<f64> = cells
        .iter()
        .map(|c| c.as_ref().map_or(0.0, |c| c.value))
        .collect();
    let targets = if opt.use_totals {
        reported_totals(panel, opt, codes)?
    } else {
        Targets::none(n)
    };
    let fitted = totals::fit(
        n,
        &observed_values,
        &priors,
        &targets.value(&targets.exports),
        &targets.value(&targets.imports),
    );
    for &(i, j) in missing {
        let (eta, d) = &predicted[&(i, j)];
        let factor = fitted.factors[i * n + j];
        let mu = eta.exp();
        let value = mu * factor;
        let se = value * (d.dot(&(&g.cov * d))).max(0.0).sqrt();
        match &mut export_gradients[i] {
            Some(acc) => *acc += d * value,
            slot => *slot = Some(d * value),
        }
        let scaled = if factor == 1.0 {
            String::new()
        } else {
            format!(
                "; scaled by {factor:.6} from the prior {mu} to meet the reported totals (IPF on imputed cells; stderr scaled with the cell)"
            )
        };
        cells[i * n + j] = Some(WorldCell {
            year: opt.year,
            exporter: codes[i].clone(),
            importer: codes[j].clone(),
            reporter: MODEL_REPORTER.into(),
            flow: Flow::Export,
            product: opt.product.clone(),
            value,
            unit: opt.unit.clone(),
            stderr: Some(se),
            source: source.clone(),
            kind: Kind::Imputed,
            note: format!(
                "imputed: exp(eta) = exp({eta:.6}) with {}; stderr by the delta method (HC0 covariance of every parameter){scaled}",
                g.terms(opt.year, i, j, &vars.get(i, j), pair_ln(base_ln, i, j))
            ),
            variables: None,
        });
    }
    Ok(Imputed {
        totals: targets.report(codes, cells, &priors, &fitted, n),
        fit: summary(&g, codes, fallback, excluded),
        covariance: g.cov,
        export_gradients,
    })
}

/// The observed foreign cells of `year`: one figure per link by the precedence, converted.
/// Every economy the year's rows name (totals aside) must be one of the map's.
fn observed_cells(
    panel: &Panel,
    year: i32,
    opt: &BuildOptions<'_>,
    index: &BTreeMap<&str, usize>,
) -> Result<Vec<Option<WorldCell>>, DataError> {
    let n = index.len();
    for (line, r) in &panel.rows {
        if r.year != year || is_total_row(r) {
            continue;
        }
        for (code, column) in [(&r.exporter, "exporter"), (&r.importer, "importer")] {
            if !index.contains_key(code.as_str()) {
                return Err(DataError::at(
                    panel_location(panel, *line, column),
                    format!(
                        "`{code}` is not an economy of the map {} ({}); import the panel with this map, or add `{code}` to it",
                        opt.economies.path.display(),
                        opt.economies.codes.join(", ")
                    ),
                ));
            }
        }
    }
    let mut observed: Vec<Option<WorldCell>> = vec![None; n * n];
    for s in panel.select(year, &opt.product, &opt.precedence) {
        let r = s.row;
        if r.exporter == r.importer || is_total_row(r) {
            continue;
        }
        let (i, j) = (index[r.exporter.as_str()], index[r.importer.as_str()]);
        let value = opt
            .rates
            .convert(r.value, &r.unit, &opt.unit, r.year)
            .map_err(|m| DataError::at(panel_location(panel, s.line, "unit"), m.to_string()))?;
        let rule = match s.rule {
            Some(k) => format!("rule {}: {}", k + 1, opt.precedence.rules[k]),
            None => format!("{} exports: the exporter's export record first", r.exporter),
        };
        let converted = if r.unit == opt.unit {
            String::new()
        } else {
            format!(", {} {} converted", r.value, r.unit)
        };
        let mut note = format!(
            "observed: {} line {} ({rule}{converted})",
            file_name(&panel.path),
            s.line
        );
        if !r.note.is_empty() {
            note.push_str("; ");
            note.push_str(&r.note);
        }
        observed[i * n + j] = Some(WorldCell {
            year,
            exporter: r.exporter.clone(),
            importer: r.importer.clone(),
            reporter: r.reporter.clone(),
            flow: r.flow,
            product: opt.product.clone(),
            value,
            unit: opt.unit.clone(),
            stderr: None,
            source: r.source.clone(),
            kind: r.kind,
            note,
            variables: None,
        });
    }
    Ok(observed)
}

/// `ln` of each economy's figure in the domestic table in `year` (a fit year other than
/// the base year), `None` where the table has none (or zero).
fn outputs(
    opt: &BuildOptions<'_>,
    year: i32,
    codes: &[String],
) -> Result<Vec<Option<f64>>, DataError> {
    codes
        .iter()
        .map(|code| {
            match opt
                .domestic
                .figures
                .iter()
                .find(|f| f.year == year && &f.economy == code)
            {
                None => Ok(None),
                Some(f) => {
                    let v = opt
                        .rates
                        .convert(f.value, &f.unit, &opt.unit, year)
                        .map_err(|m| DataError::at(opt.domestic.value_at(f), m.to_string()))?;
                    Ok((v > 0.0).then(|| v.ln()))
                }
            }
        })
        .collect()
}

/// One reported total: the value in the world's unit and where it comes from.
#[derive(Debug, Clone)]
struct Target {
    value: f64,
    from: String,
}

/// The reported totals of the base year, per economy.
struct Targets {
    exports: Vec<Option<Target>>,
    imports: Vec<Option<Target>>,
    /// World trade (`WLD -> WLD`), a check, never a constraint.
    world: Option<Target>,
}

impl Targets {
    fn none(n: usize) -> Targets {
        Targets {
            exports: vec![None; n],
            imports: vec![None; n],
            world: None,
        }
    }

    fn value(&self, t: &[Option<Target>]) -> Vec<Option<f64>> {
        t.iter().map(|t| t.as_ref().map(|t| t.value)).collect()
    }

    /// What the fitting did to every total.
    fn report(
        &self,
        codes: &[String],
        cells: &[Option<WorldCell>],
        priors: &[f64],
        fitted: &totals::Fitted,
        n: usize,
    ) -> TotalsReport {
        let v = |i: usize, j: usize| cells[i * n + j].as_ref().map_or(0.0, |c| c.value);
        let obs = |i: usize, j: usize| {
            cells[i * n + j]
                .as_ref()
                .filter(|c| c.kind != Kind::Imputed)
                .map_or(0.0, |c| c.value)
        };
        let mut checks = Vec::new();
        for (e, code) in codes.iter().enumerate() {
            for (side, t, st) in [
                ("exports", &self.exports[e], &fitted.rows[e]),
                ("imports", &self.imports[e], &fitted.cols[e]),
            ] {
                let (Some(t), Some(st)) = (t, st) else {
                    continue;
                };
                let pairs: Vec<(usize, usize)> = (0..n)
                    .filter(|&k| k != e)
                    .map(|k| if side == "exports" { (e, k) } else { (k, e) })
                    .collect();
                checks.push(TotalCheck {
                    economy: code.clone(),
                    side,
                    total: t.value,
                    from: t.from.clone(),
                    observed: pairs.iter().map(|&(i, j)| obs(i, j)).sum(),
                    prior: pairs
                        .iter()
                        .map(|&(i, j)| obs(i, j) + priors[i * n + j])
                        .sum(),
                    built: pairs.iter().map(|&(i, j)| v(i, j)).sum(),
                    status: st.clone(),
                });
            }
        }
        let foreign: f64 = (0..n * n)
            .filter(|k| k / n != k % n)
            .map(|k| v(k / n, k % n))
            .sum();
        TotalsReport {
            checks,
            sweeps: fitted.sweeps,
            gap: fitted.gap,
            world: self
                .world
                .as_ref()
                .map(|w| (w.value, w.from.clone(), foreign)),
        }
    }
}

/// The base year's totals of the panel: an economy's exports to `WLD` and imports from
/// `WLD`, its own record first (another reporter's otherwise), converted.
fn reported_totals(
    panel: &Panel,
    opt: &BuildOptions<'_>,
    codes: &[String],
) -> Result<Targets, DataError> {
    let n = codes.len();
    let mut t = Targets::none(n);
    let pick = |want: &dyn Fn(&super::panel::PanelRow) -> bool,
                own: &str|
     -> Option<(u64, &super::panel::PanelRow)> {
        let rows: Vec<(u64, &super::panel::PanelRow)> = panel
            .rows
            .iter()
            .filter(|(_, r)| r.year == opt.year && r.product == opt.product && want(r))
            .map(|(l, r)| (*l, r))
            .collect();
        rows.iter()
            .find(|(_, r)| r.reporter == own)
            .or_else(|| rows.first())
            .copied()
    };
    let target = |(line, r): (u64, &super::panel::PanelRow)| -> Result<Target, DataError> {
        let value = opt
            .rates
            .convert(r.value, &r.unit, &opt.unit, r.year)
            .map_err(|m| DataError::at(panel_location(panel, line, "unit"), m.to_string()))?;
        Ok(Target {
            value,
            from: format!(
                "{} {} {} by {}, {} line {line}",
                r.value,
                r.unit,
                r.flow.as_str(),
                r.reporter,
                file_name(&panel.path)
            ),
        })
    };
    for (e, code) in codes.iter().enumerate() {
        if let Some(x) = pick(
            &|r| &r.exporter == code && r.importer == WORLD_CODE && r.flow == Flow::Export,
            code,
        ) {
            t.exports[e] = Some(target(x)?);
        }
        if let Some(x) = pick(
            &|r| r.exporter == WORLD_CODE && &r.importer == code && r.flow == Flow::Import,
            code,
        ) {
            t.imports[e] = Some(target(x)?);
        }
    }
    if let Some(x) = pick(
        &|r| r.exporter == WORLD_CODE && r.importer == WORLD_CODE,
        WORLD_CODE,
    ) {
        t.world = Some(target(x)?);
    }
    Ok(t)
}

/// Why a prior has no effect for `e`, for messages.
fn why_no_effect(p: &Prior, e: &prior::NoEffect, codes: &[String]) -> String {
    if e.dim == "year" {
        return format!("no observed cell kept in {} (no year effect)", e.group);
    }
    let k = e.group as usize;
    let code = codes.get(k).map_or("?", String::as_str);
    let of = |o: &prior::Obs| {
        if e.dim == "exporter" {
            o.i == k
        } else {
            o.j == k
        }
    };
    let count = p.obs.iter().filter(|o| of(o)).count();
    if count == 0 {
        return format!(
            "`{code}` as {} (no observed cell with it as {})",
            e.dim, e.dim
        );
    }
    let reasons: Vec<String> = p
        .fit
        .dropped
        .iter()
        .filter(|d| of(&p.obs[d.index]))
        .map(|d| {
            let o = &p.obs[d.index];
            format!(
                "{}->{} {} ({}) dropped: {}",
                codes[o.i], codes[o.j], o.year, o.y, d.reason
            )
        })
        .collect();
    format!(
        "`{code}` as {} ({count} observed cell{} all dropped by the fit: {})",
        e.dim,
        if count == 1 { "" } else { "s" },
        reasons.join("; ")
    )
}

fn summary(
    p: &Prior,
    codes: &[String],
    fallback: Option<String>,
    excluded: Vec<String>,
) -> GravityFit {
    let mut by_year: BTreeMap<i32, usize> = BTreeMap::new();
    for &k in &p.fit.kept {
        *by_year.entry(p.obs[k].year).or_default() += 1;
    }
    GravityFit {
        effects: p.effects_text(),
        masses: p.model == prior::Model::Masses,
        fallback,
        years: p.years.clone(),
        kept_by_year: by_year.into_iter().collect(),
        without_output: excluded,
        coefficients: p
            .fit
            .coefficients
            .iter()
            .map(|c| (c.name.clone(), c.beta, c.stderr))
            .collect(),
        constant: (p.fit.constant.beta, p.fit.constant.stderr),
        left_out: p.left_out.clone(),
        observations: p.obs.len(),
        kept: p.fit.report.kept,
        dropped: p
            .fit
            .dropped
            .iter()
            .map(|d| {
                let o = &p.obs[d.index];
                format!("{}->{} {}: {}", codes[o.i], codes[o.j], o.year, d.reason)
            })
            .collect(),
        iterations: p.fit.report.iterations,
        deviance: p.fit.report.deviance,
        converged: p.fit.report.converged,
    }
}

/// The HC0 covariance of a Poisson model's parameters at its estimate, from each kept
/// observation's regressor row `x_n` (here: variables and fixed-effect dummies), `y_n` and
/// fitted mean `mu_n`: `V = B (sum_n (y_n - mu_n)^2 x_n x_n') B`, `B = (sum_n mu_n x_n
/// x_n')^-1` (White 1980; the form of [`crate::estimate::StdErrKind::Robust`], whose
/// coefficient block it equals by Frisch-Waugh-Lovell). `None` if `B` does not exist.
pub(crate) fn delta_covariance(
    rows: &[(DVector<f64>, f64, f64)],
    size: usize,
) -> Option<DMatrix<f64>> {
    let mut info = DMatrix::zeros(size, size);
    let mut meat = DMatrix::zeros(size, size);
    for (x, y, mu) in rows {
        info += x * x.transpose() * *mu;
        meat += x * x.transpose() * (y - mu).powi(2);
    }
    let bread = info.try_inverse()?;
    let v = &bread * meat * &bread;
    v.iter().all(|x| x.is_finite()).then_some(v)
}

/// Everything `tradeflow data build` is given, as paths and settings: [`BuildRequest::run`]
/// reads and checks every input, builds the world and writes it, all or nothing.
#[derive(Debug, Clone)]
pub struct BuildRequest {
    pub panel: std::path::PathBuf,
    pub year: i32,
    pub economies: std::path::PathBuf,
    /// The domestic-sales table ([`super::domestic`]).
    pub domestic: std::path::PathBuf,
    pub method: DomesticMethod,
    /// The folder of the four geography tables [default: the folder of `economies`].
    pub geography: Option<std::path::PathBuf>,
    pub rates: Option<std::path::PathBuf>,
    pub unit: Unit,
    pub product: String,
    /// The reporter rules in order (`importer`, `exporter`, `BACI`).
    pub prefer: Vec<super::panel::Preference>,
    /// Exporters whose own export record comes first (hubs).
    pub hubs: Vec<String>,
    /// Which effects the gravity prior has.
    pub effects: Effects,
    /// The years the prior is fitted on (empty: the base year).
    pub fit_years: Vec<i32>,
    /// Scale the imputed cells to the reported totals.
    pub use_totals: bool,
    pub out: std::path::PathBuf,
}

impl BuildRequest {
    /// The folder of the geography tables.
    pub fn geography_dir(&self) -> std::path::PathBuf {
        self.geography.clone().unwrap_or_else(|| {
            self.economies
                .parent()
                .map_or_else(|| ".".into(), std::path::Path::to_path_buf)
        })
    }

    /// Every file the build reads.
    pub fn inputs(&self) -> Vec<std::path::PathBuf> {
        let mut v = vec![
            self.panel.clone(),
            self.economies.clone(),
            self.domestic.clone(),
        ];
        v.extend(Geography::files(&self.geography_dir()));
        v.extend(self.rates.clone());
        v
    }

    /// Checks the output, reads the inputs, builds the world and writes it to `out`
    /// (`command` goes into its first line). Nothing is written on any error.
    pub fn run(&self, command: &str) -> Result<World, DataError> {
        let inputs = self.inputs();
        let refs: Vec<&std::path::Path> = inputs.iter().map(|p| p.as_path()).collect();
        super::panel::check_output_of(&self.out, &refs)?;
        let economies = Economies::read(&self.economies)?;
        for h in &self.hubs {
            if !economies.codes.contains(h) {
                return Err(DataError::File {
                    path: self.economies.clone(),
                    message: format!(
                        "hub `{h}` (--hubs) is not an economy of the map ({})",
                        economies.codes.join(", ")
                    ),
                });
            }
        }
        let rates = match &self.rates {
            Some(p) => Rates::read(p)?,
            None => Rates::none(),
        };
        let panel = Panel::read(&self.panel)?;
        let geography = Geography::read(&self.geography_dir())?;
        let domestic = DomesticTable::read(&self.domestic)?;
        let world = build(
            &panel,
            &BuildOptions {
                year: self.year,
                product: self.product.clone(),
                precedence: Precedence {
                    rules: self.prefer.clone(),
                    exporter_first: self.hubs.clone(),
                },
                unit: self.unit.clone(),
                rates: &rates,
                economies: &economies,
                geography: &geography,
                domestic: &domestic,
                method: self.method,
                ppml: PpmlOptions::default(),
                effects: self.effects,
                fit_years: self.fit_years.clone(),
                use_totals: self.use_totals,
            },
        )?;
        super::world_file::write_world(&self.out, &world, command)?;
        Ok(world)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::estimate::{self, Design, FixedEffect};

    /// The dummy-form sandwich has the coefficient block of the fit's own HC0 errors.
    #[test]
    fn delta_covariance_agrees_with_the_fits_standard_errors() {
        let n = 4;
        let mut obs = Vec::new();
        for i in 0..n {
            for j in 0..n {
                if i != j {
                    obs.push((i, j));
                }
            }
        }
        let z: Vec<f64> = obs
            .iter()
            .map(|&(i, j)| ((i * 7 + j * 3) % 5) as f64 + 0.5 * i as f64)
            .collect();
        let y: Vec<f64> = obs
            .iter()
            .zip(&z)
            .map(|(&(i, j), z)| {
                (1.0 + i as f64 + 0.5 * j as f64)
                    * (-0.3 * z).exp()
                    * (1.0 + 0.2 * ((i + 2 * j) % 3) as f64)
            })
            .collect();
        let design = Design {
            y: y.clone(),
            x: vec![z.clone()],
            names: vec!["z".into()],
            fixed_effects: vec![
                FixedEffect {
                    name: "exporter".into(),
                    groups: obs.iter().map(|o| o.0 as u32).collect(),
                },
                FixedEffect {
                    name: "importer".into(),
                    groups: obs.iter().map(|o| o.1 as u32).collect(),
                },
            ],
            cluster: None,
        };
        let fit = estimate::ppml(&design, &PpmlOptions::default()).unwrap();
        let size = 1 + n + (n - 1);
        let rows: Vec<(DVector<f64>, f64, f64)> = fit
            .kept
            .iter()
            .zip(&fit.fitted)
            .map(|(&k, &mu)| {
                let (i, j) = obs[k];
                let mut d = DVector::zeros(size);
                d[0] = z[k];
                d[1 + i] = 1.0;
                if j > 0 {
                    d[n + j] = 1.0;
                }
                (d, y[k], mu)
            })
            .collect();
        let v = delta_covariance(&rows, size).unwrap();
        let se = fit.coefficients[0].stderr;
        assert!(
            (v[(0, 0)].sqrt() - se).abs() < 1e-8 * se,
            "{} vs {se}",
            v[(0, 0)].sqrt()
        );
    }
}
