//! `tradeflow data build`: a base-year world for a map's economies from a panel.
//!
//! Data flow, one way:
//! 1. **observed cells**: for the year and product, one figure per foreign link chosen by a
//!    stated [`Precedence`] ([`Panel::select`]), converted to the world's unit through the
//!    rates table; the figure, its reporter, flow, source and kind are kept as recorded, and
//!    the note says which rule chose it and the panel line it came from;
//! 2. **imputed cells**: every foreign link without an observed figure is the prediction of
//!    a PPML gravity model fitted on the observed foreign cells ([`crate::estimate::ppml`]),
//!    `X_ij = exp(b'z_ij + c + a_i + g_j)`, with the [`super::geography`] variables `z`
//!    (those constant over the observed cells are left out, and the summary says so) and
//!    exporter and importer fixed effects. Its standard error is the delta method,
//!    `se(X_ij) = X_ij sqrt(d' V d)`, with `V` the HC0 covariance of the coefficients *and*
//!    the fixed effects (the same sandwich as the fit's, on the dummy form of the model:
//!    `delta_covariance`) and `d` the cell's regressors and dummies. A link whose exporter
//!    (importer) has no fixed effect, because it has no observed cell as an exporter
//!    (importer) or because the fit dropped all of them, cannot be imputed: an error lists
//!    every such economy, and nothing is written;
//! 3. **domestic sales** from the domestic table ([`super::domestic`]), by the stated
//!    [`DomesticMethod`], written into every domestic row's note. With
//!    `output-less-exports` the row's standard error is that of the economy's imputed
//!    exports (the same delta method on their sum); the output figure is taken as exact.
//!
//! The world is written by [`super::world_file`] (one row per cell).

use std::collections::BTreeMap;

use nalgebra::{DMatrix, DVector};

use super::domestic::{DomesticMethod, DomesticTable};
use super::economies::Economies;
use super::geography::{Geography, PairVariables, VARIABLES};
use super::panel::{Flow, Kind, Panel, PanelReader, Precedence, Rates, Unit};
use super::{DataError, Location};
use crate::estimate::{self, Design, FixedEffect, PpmlFit, PpmlOptions};

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
        match &self.fit {
            None => s.push_str("  no cell to impute: no gravity fit\n"),
            Some(f) => {
                s.push_str(&format!(
                    "  PPML on {} observed cells ({} kept), exporter and importer fixed effects, {} iterations, deviance {:.6e}\n",
                    f.observations, f.kept, f.iterations, f.deviance
                ));
                for (name, b, se) in &f.coefficients {
                    s.push_str(&format!("    {name:<16} {b:>10.4}  (HC0 s.e. {se:.4})\n"));
                }
                for (name, why) in &f.left_out {
                    s.push_str(&format!("    {name:<16} left out: {why}\n"));
                }
                for d in &f.dropped {
                    s.push_str(&format!("    dropped {d}\n"));
                }
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
    // Every economy the year's rows name must be one of the map's.
    for (line, r) in &panel.rows {
        if r.year != opt.year {
            continue;
        }
        for (code, column) in [(&r.exporter, "exporter"), (&r.importer, "importer")] {
            if !index.contains_key(code.as_str()) {
                return Err(DataError::at(
                    panel_location(panel, *line, column),
                    format!(
                        "`{code}` is not an economy of the map {} ({}); import the panel with this map, or add `{code}` to it",
                        opt.economies.path.display(),
                        codes.join(", ")
                    ),
                ));
            }
        }
    }
    let internal_rows = panel
        .rows
        .iter()
        .filter(|(_, r)| r.year == opt.year && r.product == opt.product && r.exporter == r.importer)
        .count();

    // 1. Observed cells.
    let mut observed: Vec<Option<WorldCell>> = vec![None; n * n];
    let precedence = opt.precedence.to_string();
    for s in panel.select(opt.year, &opt.product, &opt.precedence) {
        let r = s.row;
        if r.exporter == r.importer {
            continue;
        }
        let (i, j) = (index[r.exporter.as_str()], index[r.importer.as_str()]);
        let value = opt
            .rates
            .convert(r.value, &r.unit, &opt.unit, r.year)
            .map_err(|m| DataError::at(panel_location(panel, s.line, "unit"), m))?;
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
            year: opt.year,
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

    let vars = opt.geography.variables(opt.economies, opt.year)?;
    let missing: Vec<(usize, usize)> = (0..n)
        .flat_map(|i| (0..n).map(move |j| (i, j)))
        .filter(|&(i, j)| i != j && observed[i * n + j].is_none())
        .collect();

    // 2. Imputed cells.
    let mut cells: Vec<Option<WorldCell>> = observed;
    let mut fit_summary = None;
    // Per economy, the gradient of its imputed exports' sum (for the domestic stderr).
    let mut export_gradients: Vec<Option<DVector<f64>>> = vec![None; n];
    let mut covariance = None;
    if !missing.is_empty() {
        let g = Gravity::fit(&cells, &vars, opt, panel)?;
        let mut no_fe: BTreeMap<(usize, &str), ()> = BTreeMap::new();
        for &(i, j) in &missing {
            if g.exporter_param(i).is_none() {
                no_fe.insert((i, "exporter"), ());
            }
            if g.importer_param(j).is_none() && !g.is_reference_importer(j) {
                no_fe.insert((j, "importer"), ());
            }
        }
        if !no_fe.is_empty() {
            let list: Vec<String> = no_fe
                .keys()
                .map(|&(e, side)| {
                    format!(
                        "`{}` as {side} ({})",
                        codes[e],
                        g.why_no_effect(e, side, &cells, &codes)
                    )
                })
                .collect();
            return Err(DataError::File {
                path: panel.path.clone(),
                message: format!(
                    "cannot impute the missing cells of {} in {}: no fixed effect for {}; a gravity fit cannot give an economy without an observed cell its exporter or importer effect: add a figure for it, or merge it into another economy of the map",
                    codes.join(", "),
                    opt.year,
                    list.join(", ")
                ),
            });
        }
        let source = format!(
            "PPML gravity fit on {} observed cells of {} ({}); geography tables {}",
            g.fit.report.kept,
            file_name(&panel.path),
            opt.year,
            opt.geography.dir.display()
        );
        for &(i, j) in &missing {
            let z = vars.get(i, j);
            let d = g.gradient(i, j, &z);
            let eta = g.eta(i, j, &z);
            let mu = eta.exp();
            let se = mu * (d.dot(&(&g.cov * &d))).max(0.0).sqrt();
            match &mut export_gradients[i] {
                Some(acc) => *acc += &d * mu,
                slot => *slot = Some(&d * mu),
            }
            let terms: Vec<String> = g
                .used
                .iter()
                .zip(&g.fit.coefficients)
                .map(|(&k, c)| format!("{:.4} {}={:.4}", c.beta, VARIABLES[k], z[k]))
                .collect();
            cells[i * n + j] = Some(WorldCell {
                year: opt.year,
                exporter: codes[i].clone(),
                importer: codes[j].clone(),
                reporter: MODEL_REPORTER.into(),
                flow: Flow::Export,
                product: opt.product.clone(),
                value: mu,
                unit: opt.unit.clone(),
                stderr: Some(se),
                source: source.clone(),
                kind: Kind::Imputed,
                note: format!(
                    "imputed: exp(b'z + c + fe_exporter + fe_importer) = exp({eta:.6}) with {}, c={:.6}, fe_exporter={:.6}, fe_importer={:.6}; stderr by the delta method (HC0 covariance of coefficients and fixed effects)",
                    if terms.is_empty() { "no variable".to_owned() } else { terms.join(", ") },
                    g.fit.constant.beta,
                    g.fe_exporter(i),
                    g.fe_importer(j)
                ),
                variables: None,
            });
        }
        fit_summary = Some(g.summary(&codes));
        covariance = Some(g.cov);
    }

    // 3. Domestic sales.
    let figures = opt
        .domestic
        .figures_for(&codes, opt.year, &opt.unit, opt.rates)?;
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
            "{} {} {} ({} line {}{})",
            f.measure,
            f.value,
            f.unit,
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
            DomesticMethod::Given => (
                *value,
                None,
                format!("domestic = {figure} as given"),
                Kind::Reported,
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

/// The fitted gravity model and what the imputation needs from it.
struct Gravity {
    fit: PpmlFit,
    /// The positions in [`VARIABLES`] of the variables used, in the design's order.
    used: Vec<usize>,
    left_out: Vec<(String, String)>,
    /// Each observation's (exporter, importer).
    obs: Vec<(usize, usize)>,
    /// Dummy parameter of each exporter, of each importer (the first importer with an
    /// effect is the reference, without a dummy).
    exporter_dummy: Vec<Option<usize>>,
    importer_dummy: Vec<Option<usize>>,
    reference_importer: Option<usize>,
    /// Covariance of (b, exporter dummies, importer dummies).
    cov: DMatrix<f64>,
}

impl Gravity {
    fn fit(
        cells: &[Option<WorldCell>],
        vars: &PairVariables,
        opt: &BuildOptions<'_>,
        panel: &Panel,
    ) -> Result<Gravity, DataError> {
        let n = vars.codes.len();
        let obs: Vec<(usize, usize)> = (0..n * n)
            .filter(|&k| cells[k].is_some())
            .map(|k| (k / n, k % n))
            .collect();
        let y: Vec<f64> = obs
            .iter()
            .map(|&(i, j)| cells[i * n + j].as_ref().map_or(0.0, |c| c.value))
            .collect();
        let fail = |m: String| DataError::File {
            path: panel.path.clone(),
            message: m,
        };
        // A variable constant over the observed cells, or a linear combination of the
        // fixed effects and the variables before it (two variables equal on every observed
        // cell), cannot be estimated: it is left out, and the summary says so.
        let (used, left_out) = identifiable(&obs, vars, n);
        let design = Design {
            y: y.clone(),
            x: used
                .iter()
                .map(|&k| obs.iter().map(|&(i, j)| vars.get(i, j)[k]).collect())
                .collect(),
            names: used.iter().map(|&k| VARIABLES[k].to_owned()).collect(),
            fixed_effects: vec![
                FixedEffect {
                    name: "exporter".into(),
                    groups: obs.iter().map(|&(i, _)| i as u32).collect(),
                },
                FixedEffect {
                    name: "importer".into(),
                    groups: obs.iter().map(|&(_, j)| j as u32).collect(),
                },
            ],
            cluster: None,
        };
        let fit = estimate::ppml(&design, &opt.ppml).map_err(|e| {
            fail(format!(
                "the gravity fit on the {} observed foreign cells of {} failed: {e}; nothing was written",
                obs.len(),
                opt.year
            ))
        })?;
        if !fit.report.converged {
            return Err(fail(format!(
                "the gravity fit on the {} observed foreign cells of {} {} after {} iterations (relative deviance change {:e}); nothing was written",
                obs.len(),
                opt.year,
                fit.report.stop,
                fit.report.iterations,
                fit.report.relative_change
            )));
        }
        let k = used.len();
        let mut exporter_dummy = vec![None; n];
        let mut importer_dummy = vec![None; n];
        let mut next = k;
        for (e, slot) in exporter_dummy.iter_mut().enumerate() {
            if fit.fixed_effects[0].get(e as u32).is_some() {
                *slot = Some(next);
                next += 1;
            }
        }
        let mut reference_importer = None;
        for (e, slot) in importer_dummy.iter_mut().enumerate() {
            if fit.fixed_effects[1].get(e as u32).is_some() {
                if reference_importer.is_none() {
                    reference_importer = Some(e);
                } else {
                    *slot = Some(next);
                    next += 1;
                }
            }
        }
        let mut g = Gravity {
            fit,
            used,
            left_out,
            obs,
            exporter_dummy,
            importer_dummy,
            reference_importer,
            cov: DMatrix::zeros(0, 0),
        };
        let rows: Vec<(DVector<f64>, f64, f64)> = g
            .fit
            .kept
            .iter()
            .zip(&g.fit.fitted)
            .map(|(&o, &mu)| {
                let (i, j) = g.obs[o];
                (g.gradient(i, j, &vars.get(i, j)), y[o], mu)
            })
            .collect();
        g.cov = delta_covariance(&rows, next).ok_or_else(|| {
            fail(format!(
                "the covariance of the gravity fit of {} is singular (too few observed cells for the coefficients and fixed effects); nothing was written",
                opt.year
            ))
        })?;
        Ok(g)
    }

    fn exporter_param(&self, i: usize) -> Option<usize> {
        self.exporter_dummy[i]
    }
    fn importer_param(&self, j: usize) -> Option<usize> {
        self.importer_dummy[j]
    }
    fn is_reference_importer(&self, j: usize) -> bool {
        self.reference_importer == Some(j)
    }

    /// The derivative of `eta_ij` with respect to (b, dummies): the cell's used
    /// regressors, 1 at its exporter's and importer's dummies.
    fn gradient(&self, i: usize, j: usize, z: &[f64; 4]) -> DVector<f64> {
        let size = self.dimension();
        let mut d = DVector::zeros(size);
        for (p, &k) in self.used.iter().enumerate() {
            d[p] = z[k];
        }
        if let Some(p) = self.exporter_dummy[i] {
            d[p] = 1.0;
        }
        if let Some(p) = self.importer_dummy[j] {
            d[p] = 1.0;
        }
        d
    }

    fn dimension(&self) -> usize {
        self.used.len()
            + self.exporter_dummy.iter().flatten().count()
            + self.importer_dummy.iter().flatten().count()
    }

    fn fe_exporter(&self, i: usize) -> f64 {
        self.fit.fixed_effects[0].get(i as u32).unwrap_or(f64::NAN)
    }
    fn fe_importer(&self, j: usize) -> f64 {
        self.fit.fixed_effects[1].get(j as u32).unwrap_or(f64::NAN)
    }

    /// `b'z + c + a_i + g_j` (both effects exist: checked by the caller).
    fn eta(&self, i: usize, j: usize, z: &[f64; 4]) -> f64 {
        let xb: f64 = self
            .used
            .iter()
            .zip(&self.fit.coefficients)
            .map(|(&k, c)| c.beta * z[k])
            .sum();
        xb + self.fit.constant.beta + self.fe_exporter(i) + self.fe_importer(j)
    }

    /// Why economy `e` has no fixed effect on `side`.
    fn why_no_effect(
        &self,
        e: usize,
        side: &str,
        cells: &[Option<WorldCell>],
        codes: &[String],
    ) -> String {
        let n = codes.len();
        let of_e = |o: &(usize, usize)| {
            if side == "exporter" {
                o.0 == e
            } else {
                o.1 == e
            }
        };
        let count = self.obs.iter().filter(|o| of_e(o)).count();
        if count == 0 {
            return format!("no observed cell with it as {side}");
        }
        let reasons: Vec<String> = self
            .fit
            .dropped
            .iter()
            .filter(|d| of_e(&self.obs[d.index]))
            .map(|d| {
                let (i, j) = self.obs[d.index];
                let v = cells[i * n + j].as_ref().map_or(0.0, |c| c.value);
                format!("{}->{} ({v}) dropped: {}", codes[i], codes[j], d.reason)
            })
            .collect();
        format!(
            "{count} observed cell{} all dropped by the fit: {}",
            if count == 1 { "" } else { "s" },
            reasons.join("; ")
        )
    }

    fn summary(&self, codes: &[String]) -> GravityFit {
        GravityFit {
            coefficients: self
                .fit
                .coefficients
                .iter()
                .map(|c| (c.name.clone(), c.beta, c.stderr))
                .collect(),
            left_out: self.left_out.clone(),
            observations: self.obs.len(),
            kept: self.fit.report.kept,
            dropped: self
                .fit
                .dropped
                .iter()
                .map(|d| {
                    let (i, j) = self.obs[d.index];
                    format!("{}->{}: {}", codes[i], codes[j], d.reason)
                })
                .collect(),
            iterations: self.fit.report.iterations,
            deviance: self.fit.report.deviance,
            converged: self.fit.report.converged,
        }
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
            },
        )?;
        super::world_file::write_world(&self.out, &world, command)?;
        Ok(world)
    }
}

/// The variables of [`VARIABLES`] that the observed cells `obs` identify, in order, and the
/// ones left out with why: a variable is kept if it raises the rank of the dummy matrix of
/// exporter and importer effects and the variables kept before it.
fn identifiable(
    obs: &[(usize, usize)],
    vars: &PairVariables,
    n: usize,
) -> (Vec<usize>, Vec<(String, String)>) {
    let m = obs.len();
    let mut base: Vec<DVector<f64>> = Vec::new();
    for e in 0..n {
        base.push(DVector::from_iterator(
            m,
            obs.iter().map(|&(i, _)| f64::from(u8::from(i == e))),
        ));
    }
    for e in 1..n {
        base.push(DVector::from_iterator(
            m,
            obs.iter().map(|&(_, j)| f64::from(u8::from(j == e))),
        ));
    }
    let rank = |cols: &[DVector<f64>]| -> usize {
        if cols.is_empty() {
            return 0;
        }
        DMatrix::from_columns(cols).rank(1e-9 * (m.max(1) as f64))
    };
    let mut r = rank(&base);
    let mut used = Vec::new();
    let mut left_out = Vec::new();
    for (k, name) in VARIABLES.iter().enumerate() {
        let col = DVector::from_iterator(m, obs.iter().map(|&(i, j)| vars.get(i, j)[k]));
        let first = col.get(0).copied();
        if col.iter().all(|v| Some(*v) == first) {
            left_out.push((
                (*name).to_owned(),
                format!(
                    "{} in every observed cell",
                    first.map_or("missing".into(), |v| v.to_string())
                ),
            ));
            continue;
        }
        // Columns scaled to unit length so that the rank tolerance means the same for each.
        let norm = col.norm();
        base.push(col / norm);
        let r2 = rank(&base);
        if r2 > r {
            r = r2;
            used.push(k);
        } else {
            base.pop();
            let kept: Vec<&str> = used.iter().map(|&u| VARIABLES[u]).collect();
            left_out.push((
                (*name).to_owned(),
                format!(
                    "collinear over the observed cells with the exporter and importer effects{}",
                    if kept.is_empty() {
                        String::new()
                    } else {
                        format!(" and {}", kept.join(", "))
                    }
                ),
            ));
        }
    }
    (used, left_out)
}

#[cfg(test)]
mod tests {
    use super::*;

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
