//! Structural gravity in general equilibrium (DESIGN layer 2).
//!
//! ```text
//! X_ij = E_j (Y_i / Y) * t_ij^(1-sigma) / (Pi_i^(1-sigma) P_j^(1-sigma))
//! Pi_i^(1-sigma) = sum_j t_ij^(1-sigma) (E_j / E) / P_j^(1-sigma)     (outward resistance)
//! P_j^(1-sigma)  = sum_i t_ij^(1-sigma) (Y_i / Y) / Pi_i^(1-sigma)    (inward resistance)
//! ```
//! (Yotov, Piermartini, Monteiro and Larch 2016, *An Advanced Guide to Trade Policy
//! Analysis*, eq. 1-2 to 1-4.) `Y` is world output and `E` world expenditure. Where the data
//! balance (`E = Y`) this is the textbook system. Where they do not (the gegravity sample's
//! `Y` and `E` columns are not the row and column sums of its flows, and their totals
//! differ), tradeflow does as gegravity does: output shares are taken of world output and
//! expenditure shares of world expenditure, so the resistance system always has a solution;
//! modeled purchases then add up to each importer's `E_j`, and modeled sales to
//! `Y_i * E / Y`. The reference importer's inward resistance is fixed at `P_ref = 1`.
//!
//! A [`GravityModel`] holds the inputs (costs as `t^(1-sigma)`, output, expenditure); its
//! [`GravityModel::baseline`] solves the resistances; [`GravityModel::counterfactual`]
//! solves the conditional GE (new costs, fixed output and expenditure) and then the full
//! GE in one of two conventions, see [`GeMode`].

mod balance;
mod costs;
mod fixed_point;
mod indicators;
mod kernel;

use nalgebra::DVector;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::world::{Economies, Matrix, Vector};
use kernel::CostRows;

pub use crate::solver::{InvalidOption, SolveReport, StopReason};
pub(crate) use costs::number_text;
pub use costs::{costs_from_coefficients, costs_from_flows, CostError, CONSTANT};
#[doc(hidden)]
pub use fixed_point::anderson_updates;
pub use fixed_point::{solve_fixed_point, FixedPointMap, SolverOptions};
pub(crate) use indicators::pct_change;
pub use indicators::{bilateral_results, country_results, BilateralResult, CountryResult};

/// How the full general equilibrium is solved after the conditional step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GeMode {
    /// The complete endowment GE (Yotov et al. 2016, ch. 2): factory-gate prices move output
    /// `Y_i' = p_i Y_i` and expenditure (`E_i / Y_i` fixed), the resistances are solved
    /// again with them, until prices, incomes and resistances are consistent.
    #[default]
    Complete,
    /// gegravity 0.3's convention: the experiment resistances are the conditional ones
    /// (output and expenditure stay at baseline inside the resistance equations) and each
    /// factory-gate price is `Pi_i(baseline) / Pi_i(conditional)`: the first step of the
    /// complete procedure.
    Gegravity,
}

impl std::fmt::Display for GeMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            GeMode::Complete => "complete",
            GeMode::Gegravity => "gegravity",
        })
    }
}

/// Errors of the gravity core.
#[derive(Debug, Error)]
pub enum SolveError {
    /// The inputs cannot form a gravity system.
    #[error(transparent)]
    InvalidInput(#[from] InputError),
    /// Solver settings out of range (every one that is).
    #[error("solver settings out of range: {}", list_options(.0))]
    InvalidOptions(Vec<InvalidOption>),
    /// The solver stopped without meeting its tolerance.
    #[error("the solver did not converge: {0}")]
    NotConverged(SolveReport),
}

fn list_options(wrong: &[InvalidOption]) -> String {
    let items: Vec<String> = wrong.iter().map(ToString::to_string).collect();
    items.join("; ")
}

/// Inputs that cannot form a gravity system, named by economy code.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum InputError {
    #[error("sigma must be a number greater than 1, got {0}")]
    Sigma(f64),
    #[error("reference importer `{reference}` is not one of the economies ({})", .economies.join(", "))]
    Reference {
        reference: String,
        economies: Vec<String>,
    },
    /// Costs, output and expenditure do not all cover the `n` economies.
    #[error("inputs must all cover the same {0} economies")]
    Shape(usize),
    #[error("output of {economy} must be positive, got {value}")]
    Output { economy: String, value: f64 },
    #[error("expenditure of {economy} must be positive, got {value}")]
    Expenditure { economy: String, value: f64 },
    #[error("domestic trade cost term t^(1-sigma) of {economy} must be positive (every economy sells at home), got {value}")]
    DomesticCost { economy: String, value: f64 },
    #[error("trade cost term t^(1-sigma) for {exporter}->{importer} must be finite and non-negative, got {value}")]
    Cost {
        exporter: String,
        importer: String,
        value: f64,
    },
    #[error("growth factors must be positive, one per economy")]
    Growth,
    #[error("output growth needs ge_mode = \"complete\"")]
    GrowthNeedsComplete,
    #[error("counterfactual costs must cover the same economies as the baseline")]
    CounterfactualShape,
}

/// The validated inputs of a gravity system.
#[derive(Debug, Clone)]
pub struct GravityModel {
    economies: Economies,
    sigma: f64,
    reference: usize,
    costs: Matrix,
    output: Vector,
    expenditure: Vector,
    options: SolverOptions,
}

/// One solved state of the world.
#[derive(Debug, Clone)]
pub struct Equilibrium {
    /// Outward multilateral resistance `Pi_i` (level).
    pub omr: Vector,
    /// Inward multilateral resistance `P_j` (level), 1 for the reference importer.
    pub imr: Vector,
    /// Output `Y_i`.
    pub output: Vector,
    /// Expenditure `E_j`.
    pub expenditure: Vector,
    /// Factory-gate price relative to the baseline (1 in the baseline).
    pub factory_gate_price: Vector,
    /// Modeled bilateral flows `X_ij`.
    pub trade: Matrix,
}

/// The solved counterfactual: the conditional step and the full GE.
#[derive(Debug, Clone)]
pub struct Counterfactual {
    /// New costs, baseline output and expenditure.
    pub conditional: Equilibrium,
    /// The full GE in the chosen [`GeMode`].
    pub experiment: Equilibrium,
    /// The convention used for `experiment`.
    pub mode: GeMode,
    /// One report per solve, in order.
    pub reports: Vec<SolveReport>,
}

/// Resistances as the powers the equations use: `a_i = Pi_i^(1-sigma)`,
/// `b_j = P_j^(1-sigma)`.
#[derive(Debug, Clone)]
struct Powers {
    a: Vector,
    b: Vector,
}

impl GravityModel {
    /// Checks the inputs once: `sigma > 1`, the reference importer exists, output and
    /// expenditure positive and finite, costs non-negative and finite with positive domestic
    /// costs `t_ii^(1-sigma)` (every economy can sell at home).
    pub fn new(
        economies: Economies,
        sigma: f64,
        reference: &str,
        costs: Matrix,
        output: Vector,
        expenditure: Vector,
    ) -> Result<Self, SolveError> {
        let n = economies.len();
        let bad = |e: InputError| Err(SolveError::InvalidInput(e));
        if !(sigma > 1.0 && sigma.is_finite()) {
            return bad(InputError::Sigma(sigma));
        }
        let Some(reference) = economies.position(reference) else {
            return bad(InputError::Reference {
                reference: reference.to_owned(),
                economies: economies.codes().to_vec(),
            });
        };
        if costs.shape() != (n, n) || output.len() != n || expenditure.len() != n {
            return bad(InputError::Shape(n));
        }
        for i in 0..n {
            let economy = economies.code(i).to_owned();
            if !(output[i] > 0.0 && output[i].is_finite()) {
                return bad(InputError::Output {
                    economy,
                    value: output[i],
                });
            }
            if !(expenditure[i] > 0.0 && expenditure[i].is_finite()) {
                return bad(InputError::Expenditure {
                    economy,
                    value: expenditure[i],
                });
            }
            if costs[(i, i)].is_nan() || costs[(i, i)] <= 0.0 {
                return bad(InputError::DomesticCost {
                    economy,
                    value: costs[(i, i)],
                });
            }
        }
        check_costs(&economies, &costs)?;
        Ok(GravityModel {
            economies,
            sigma,
            reference,
            costs,
            output,
            expenditure,
            options: SolverOptions::default(),
        })
    }

    /// Replaces the solver settings, checked once here (see [`SolverOptions::checked`]).
    pub fn with_options(mut self, options: SolverOptions) -> Result<Self, SolveError> {
        self.options = options.checked().map_err(SolveError::InvalidOptions)?;
        Ok(self)
    }

    /// The economies, in matrix order.
    pub fn economies(&self) -> &Economies {
        &self.economies
    }

    /// The elasticity of substitution.
    pub fn sigma(&self) -> f64 {
        self.sigma
    }

    /// Position of the reference importer.
    pub fn reference(&self) -> usize {
        self.reference
    }

    /// Baseline trade costs as `t_ij^(1-sigma)`.
    pub fn costs(&self) -> &Matrix {
        &self.costs
    }

    /// Baseline output.
    pub fn output(&self) -> &Vector {
        &self.output
    }

    /// Baseline expenditure.
    pub fn expenditure(&self) -> &Vector {
        &self.expenditure
    }

    /// Solves the baseline resistances and modeled flows.
    pub fn baseline(&self) -> Result<(Equilibrium, SolveReport), SolveError> {
        let rows = CostRows::new(&self.costs);
        let (powers, report) = self.solve_resistances(
            &self.costs,
            &rows,
            &self.output,
            &self.expenditure,
            None,
            "baseline resistances",
        )?;
        let n = self.economies.len();
        let eq = self.equilibrium(
            &self.costs,
            &powers,
            self.output.clone(),
            self.expenditure.clone(),
            Vector::from_element(n, 1.0),
        );
        Ok((eq, report))
    }

    /// Solves the counterfactual with trade costs `new_costs` (as `t^(1-sigma)`), given the
    /// solved `baseline`.
    pub fn counterfactual(
        &self,
        baseline: &Equilibrium,
        new_costs: &Matrix,
        mode: GeMode,
    ) -> Result<Counterfactual, SolveError> {
        let ones = Vector::from_element(self.economies.len(), 1.0);
        self.counterfactual_with_growth(baseline, new_costs, &ones, mode)
    }

    /// As [`Self::counterfactual`], with each economy's endowment (output and expenditure
    /// at baseline prices) multiplied by `growth`. Complete GE only: gegravity's one-step
    /// convention has no endowment change.
    pub fn counterfactual_with_growth(
        &self,
        baseline: &Equilibrium,
        new_costs: &Matrix,
        growth: &Vector,
        mode: GeMode,
    ) -> Result<Counterfactual, SolveError> {
        if growth.len() != self.economies.len()
            || growth.iter().any(|g| !(g.is_finite() && *g > 0.0))
        {
            return Err(InputError::Growth.into());
        }
        if mode == GeMode::Gegravity && growth.iter().any(|&g| g != 1.0) {
            return Err(InputError::GrowthNeedsComplete.into());
        }
        if new_costs.shape() != self.costs.shape() {
            return Err(InputError::CounterfactualShape.into());
        }
        check_costs(&self.economies, new_costs)?;
        let base = self.powers_of(baseline);
        // Row order once for every solve of this counterfactual.
        let rows = CostRows::new(new_costs);
        let (cond, cond_report) = self.solve_resistances(
            new_costs,
            &rows,
            &self.output,
            &self.expenditure,
            Some(&base.b),
            "conditional resistances",
        )?;
        let n = self.economies.len();
        let conditional = self.equilibrium(
            new_costs,
            &cond,
            self.output.clone(),
            self.expenditure.clone(),
            Vector::from_element(n, 1.0),
        );
        let mut reports = vec![cond_report];
        let experiment = match mode {
            GeMode::Gegravity => {
                // p_i = Pi_i(baseline) / Pi_i(conditional); output and expenditure move with
                // p, resistances stay conditional.
                let price = baseline.omr.component_div(&conditional.omr);
                let output = self.output.component_mul(&price);
                let expenditure = self.expenditure.component_mul(&price);
                self.equilibrium(new_costs, &cond, output, expenditure, price)
            }
            GeMode::Complete => {
                let (powers, price, report) =
                    self.solve_complete(new_costs, &rows, &base, &cond, growth)?;
                reports.push(report);
                let output = self.output.component_mul(growth).component_mul(&price);
                let expenditure = self.expenditure.component_mul(growth).component_mul(&price);
                self.equilibrium(new_costs, &powers, output, expenditure, price)
            }
        };
        Ok(Counterfactual {
            conditional,
            experiment,
            mode,
            reports,
        })
    }

    /// Solves the resistances for costs `t`, output `y` and expenditure `e` (levels).
    fn solve_resistances(
        &self,
        t: &Matrix,
        rows: &CostRows,
        y: &Vector,
        e: &Vector,
        warm: Option<&Vector>,
        stage: &str,
    ) -> Result<(Powers, SolveReport), SolveError> {
        let ys = y / y.sum();
        let es = e / e.sum();
        let (powers, report) = resistances(
            t,
            rows,
            &ys,
            &es,
            self.reference,
            warm,
            &self.options,
            stage,
        );
        if report.converged() {
            Ok((powers, report))
        } else {
            Err(SolveError::NotConverged(report))
        }
    }

    /// The complete endowment GE: unknowns `ln P_j^(1-sigma)` (normalised, `P_ref = 1`) and
    /// `ln p_i`. One step sets `Y_i' = p_i Y_i`, `E_i' = p_i E_i`, takes one resistance step
    /// with them, and updates prices from the market-clearing condition
    /// `p_i^sigma = (Y' / Y) (Pi_i'^(1-sigma) / Pi_i^(1-sigma))`, which follows from
    /// `Y_i = (beta_i p_i Pi_i)^(1-sigma) Y` with fixed preference weights `beta_i`
    /// (Yotov et al. 2016, eq. 2-35 to 2-37). Prices are in units that keep `P_ref = 1`.
    ///
    /// If that joint iteration stalls, the robust path iterates on prices alone and solves
    /// the resistances fully (with their Newton fallback) for each price vector.
    fn solve_complete(
        &self,
        t: &Matrix,
        rows: &CostRows,
        base: &Powers,
        cond: &Powers,
        growth: &Vector,
    ) -> Result<(Powers, Vector, SolveReport), SolveError> {
        let n = self.economies.len();
        let r = self.reference;
        let sigma = self.sigma;
        let world0 = self.output.sum();
        // Endowments after growth; output and expenditure at prices p are p times these.
        let out_q = self.output.component_mul(growth);
        let exp_q = self.expenditure.component_mul(growth);
        // Output and expenditure shares at prices p (given as log prices), into `ys` and
        // `es`; returns world output.
        let shares = |lp: &[f64], ys: &mut [f64], es: &mut [f64]| -> f64 {
            let (mut world, mut spent) = (0.0, 0.0);
            for k in 0..n {
                let p = lp[k].exp();
                ys[k] = out_q[k] * p;
                es[k] = exp_q[k] * p;
                world += ys[k];
                spent += es[k];
            }
            ys.iter_mut().for_each(|v| *v /= world);
            es.iter_mut().for_each(|v| *v /= spent);
            world
        };
        // p_i = [(Y'/Y) (a_i' / a_i) / q_i]^(1/sigma), in logs, q_i the endowment growth;
        // `ln (Y'/Y)` is taken once per step and `ln q_i` once per solve.
        let growth_log: Vec<f64> = growth.iter().map(|g| g.ln()).collect();
        let prices_into = |world: f64, a: &[f64], out: &mut [f64]| {
            let world_log = (world / world0).ln();
            for (k, o) in out.iter_mut().enumerate() {
                *o = (world_log + (a[k] / base.a[k]).ln() - growth_log[k]) / sigma;
            }
        };
        // Scratch of the joint step, allocated once.
        let (mut ys, mut es) = (vec![0.0; n], vec![0.0; n]);
        let (mut w, mut a, mut b) = (vec![0.0; n], vec![0.0; n], vec![0.0; n]);
        let mut joint = |x: &DVector<f64>, out: &mut DVector<f64>| {
            let x = x.as_slice();
            let world = shares(&x[n..], &mut ys, &mut es);
            for j in 0..n {
                w[j] = es[j] / x[j].exp();
            }
            rows.step(&w, &ys, &mut a, &mut b);
            let c = b[r] / base.b[r];
            b.iter_mut().for_each(|v| *v /= c);
            for j in 0..n {
                w[j] = es[j] / b[j];
            }
            rows.mul(&w, &mut a);
            let (log_b, log_p) = out.as_mut_slice().split_at_mut(n);
            for (o, v) in log_b.iter_mut().zip(&b) {
                *o = v.ln();
            }
            prices_into(world, &a, log_p);
        };
        let mut x0 = Vector::zeros(2 * n);
        for k in 0..n {
            x0[k] = cond.b[k].ln();
            // Start from gegravity's first step, p_i = Pi_i / Pi_i' = (a_i' / a_i)^(1/(sigma-1)).
            x0[n + k] = (cond.a[k] / base.a[k]).ln() / (sigma - 1.0);
        }
        let (x, report) = solve_fixed_point(&mut joint, x0, &self.options, "complete GE");
        let (log_price, report) = match report.stop_reason {
            StopReason::Converged => (x.rows(n, n).into_owned(), report),
            // The budget is spent: the robust path would have none left.
            StopReason::MaxIterations => return Err(SolveError::NotConverged(report)),
            // Stalled, at the precision limit (the prices are then polished by the robust
            // path, which solves the resistances to their own tolerance), or a step left
            // the domain.
            StopReason::PrecisionLimit
            | StopReason::Stalled
            | StopReason::NonFinite
            | StopReason::NoProgress
            | StopReason::NoDescent => {
                // Robust path: a fixed point on log prices alone, each step solving the
                // resistances in full from the last solution.
                let mut warm = x.rows(0, n).map(f64::exp);
                let mut inner_steps = 0usize;
                let mut newton_steps = 0usize;
                let (mut ys, mut es) = (Vector::zeros(n), Vector::zeros(n));
                let mut prices = |lp: &DVector<f64>, out: &mut DVector<f64>| {
                    let world = shares(lp.as_slice(), ys.as_mut_slice(), es.as_mut_slice());
                    let (pw, rep) =
                        resistances(t, rows, &ys, &es, r, Some(&warm), &self.options, "");
                    inner_steps += rep.iterations;
                    newton_steps += rep.newton_steps;
                    if !rep.converged() {
                        out.fill(f64::NAN);
                        return;
                    }
                    warm.copy_from(&pw.b);
                    prices_into(world, pw.a.as_slice(), out.as_mut_slice());
                };
                let (lp, outer) =
                    solve_fixed_point(&mut prices, x.rows(n, n).into_owned(), &self.options, "");
                let rep = SolveReport {
                    iterations: report.iterations + inner_steps,
                    newton_steps,
                    residual: outer.residual,
                    stop_reason: outer.stop_reason,
                    ..report
                };
                if !rep.converged() {
                    return Err(SolveError::NotConverged(rep));
                }
                (lp, rep)
            }
        };
        let price = log_price.map(f64::exp);
        let (mut ys, mut es) = (Vector::zeros(n), Vector::zeros(n));
        shares(log_price.as_slice(), ys.as_mut_slice(), es.as_mut_slice());
        let (powers, inner) = resistances(
            t,
            rows,
            &ys,
            &es,
            r,
            Some(&x.rows(0, n).map(f64::exp)),
            &self.options,
            "complete GE",
        );
        if !inner.converged() {
            return Err(SolveError::NotConverged(inner));
        }
        Ok((powers, price, report))
    }

    /// Recovers the powers from the levels of a solved equilibrium.
    fn powers_of(&self, eq: &Equilibrium) -> Powers {
        let s = 1.0 - self.sigma;
        Powers {
            a: eq.omr.map(|v| v.powf(s)),
            b: eq.imr.map(|v| v.powf(s)),
        }
    }

    fn equilibrium(
        &self,
        t: &Matrix,
        powers: &Powers,
        output: Vector,
        expenditure: Vector,
        factory_gate_price: Vector,
    ) -> Equilibrium {
        let inv = 1.0 / (1.0 - self.sigma);
        let trade = modeled_flows(t, &output, &expenditure, &powers.a, &powers.b);
        Equilibrium {
            omr: powers.a.map(|v| v.powf(inv)),
            imr: powers.b.map(|v| v.powf(inv)),
            output,
            expenditure,
            factory_gate_price,
            trade,
        }
    }
}

/// Solves the resistance equations for output shares `ys` and expenditure shares `es`.
///
/// The unknowns are `ln P_j^(1-sigma)`, normalised so that the reference's is 0
/// (`P_ref = 1`). One step computes `Pi_i^(1-sigma)` from `P`, then `P` from
/// `Pi`: the Gauss-Seidel form of the two resistance equations (equivalently, alternating
/// matrix scaling), accelerated by Anderson mixing. Working in logs keeps every unknown at
/// a similar scale whatever the data's units, which is why no rescaling factor is needed.
/// A solve that stalls goes on with Newton's method on the convex potential
/// ([`balance`]), which converges for every economy that has an equilibrium.
#[expect(
    clippy::too_many_arguments,
    reason = "the costs in both layouts, the data, the warm start, the settings and the label"
)]
fn resistances(
    t: &Matrix,
    rows: &CostRows,
    ys: &Vector,
    es: &Vector,
    r: usize,
    warm: Option<&Vector>,
    options: &SolverOptions,
    stage: &str,
) -> (Powers, SolveReport) {
    let n = ys.len();
    let (mut w, mut a) = (vec![0.0; n], vec![0.0; n]);
    let mut map = |x: &DVector<f64>, out: &mut DVector<f64>| {
        for j in 0..n {
            w[j] = es[j] / x[j].exp();
        }
        rows.step(&w, ys.as_slice(), &mut a, out.as_mut_slice());
        // Normalise (P_ref = 1) rather than pin: the reference's own market-clearing error
        // then shows in every step, so a converged solve clears its market too, however
        // small its share (a pinned reference would carry the others' errors scaled up by
        // one over its share).
        let norm = out[r].ln();
        out.apply(|v| *v = v.ln() - norm);
    };
    let x0 = warm.map_or_else(|| Vector::zeros(n), |b| b.map(f64::ln));
    let fast = SolverOptions {
        max_iterations: options.max_iterations.min(options.fixed_point_budget),
        ..*options
    };
    let (x, mut report) = solve_fixed_point(&mut map, x0, &fast, stage);
    let mut b = x.map(f64::exp);
    let out_of_budget = report.stop_reason == StopReason::MaxIterations
        && options.max_iterations <= options.fixed_point_budget;
    // Anything short of meeting the tolerance, a precision-limited stop included, goes on
    // with Newton: it measures the adding-up error directly and polishes in a step or two.
    if report.stop_reason != StopReason::Converged && !out_of_budget {
        let rest = SolverOptions {
            max_iterations: options.max_iterations - report.iterations,
            ..*options
        };
        let (b1, steps, residual, reason) = balance::newton_resistances(t, ys, es, r, &b, &rest);
        b = b1;
        report = balance::combine(report, steps, residual, reason);
    }
    let mut a = Vector::zeros(n);
    omr_powers(rows, es, &b, &mut a);
    (Powers { a, b }, report)
}

/// One step of the resistance iteration on its own, for the benchmarks
/// (`benches/gravity.rs`, group `resistance_step`): `a = T (e / b)`, then `T' (y / a)`,
/// in the one pass over `T` the solver uses.
#[doc(hidden)]
pub struct ResistanceStep {
    rows: CostRows,
    ys: Vector,
    es: Vector,
    w: Vec<f64>,
    a: Vec<f64>,
    out: Vec<f64>,
}

impl ResistanceStep {
    /// Costs `t^(1-sigma)` and output and expenditure shares.
    pub fn new(t: &Matrix, ys: &Vector, es: &Vector) -> ResistanceStep {
        let n = ys.len();
        ResistanceStep {
            rows: CostRows::new(t),
            ys: ys.clone(),
            es: es.clone(),
            w: vec![0.0; n],
            a: vec![0.0; n],
            out: vec![0.0; n],
        }
    }

    /// One step from `b = P^(1-sigma)`; returns the new `P^(1-sigma)` of the first economy.
    pub fn step(&mut self, b: &Vector) -> f64 {
        for j in 0..self.rows.len() {
            self.w[j] = self.es[j] / b[j];
        }
        self.rows
            .step(&self.w, self.ys.as_slice(), &mut self.a, &mut self.out);
        self.out[0]
    }
}

fn check_costs(economies: &Economies, t: &Matrix) -> Result<(), SolveError> {
    // One pass without an early exit, which the compiler vectorises; the pair is worked
    // out only if a value is bad.
    let ok = |v: f64| v.is_finite() & (v >= 0.0);
    if t.as_slice().iter().fold(true, |all, &v| all & ok(v)) {
        return Ok(());
    }
    let Some(k) = t.as_slice().iter().position(|&v| !ok(v)) else {
        return Ok(());
    };
    let (i, j) = (k % t.nrows(), k / t.nrows());
    Err(InputError::Cost {
        exporter: economies.code(i).to_owned(),
        importer: economies.code(j).to_owned(),
        value: t[(i, j)],
    }
    .into())
}

/// `Pi_i^(1-sigma) = sum_j t_ij^(1-sigma) e_j / P_j^(1-sigma)` with `e_j = E_j / E`
/// (Yotov et al. 2016, eq. 1-3).
fn omr_powers(rows: &CostRows, es: &Vector, b: &Vector, out: &mut Vector) {
    let w = es.component_div(b);
    rows.mul(w.as_slice(), out.as_mut_slice());
}

/// `X_ij = E_j (Y_i / Y) t_ij^(1-sigma) / (Pi_i^(1-sigma) P_j^(1-sigma))` (eq. 1-2), `Y` world
/// output: `t_ij` times a row factor `Y_i / Pi_i^(1-sigma)` and a column factor
/// `E_j / (Y P_j^(1-sigma))`, so that the `N^2` loop multiplies and does not divide.
fn modeled_flows(t: &Matrix, y: &Vector, e: &Vector, a: &Vector, b: &Vector) -> Matrix {
    let world = y.sum();
    let row = y.component_div(a);
    let n = t.nrows();
    // Column by column on the plain slices (column-major), which the compiler vectorises,
    // pushed in storage order so that the matrix is written once (no zeroing first).
    let mut out = Vec::with_capacity(n * t.ncols());
    for (j, src) in t.as_slice().chunks_exact(n.max(1)).enumerate() {
        let col = e[j] / (world * b[j]);
        out.extend(
            src.iter()
                .zip(row.as_slice())
                .map(|(&tij, &r)| tij * r * col),
        );
    }
    Matrix::from_vec(n, t.ncols(), out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn economies(codes: &[&str]) -> Economies {
        Economies::new(codes.iter().copied()).unwrap()
    }

    /// Two identical economies, output and expenditure 1, `t^(1-sigma) = d` across the
    /// border and 1 at home.
    fn symmetric(d: f64, sigma: f64) -> GravityModel {
        let t = Matrix::from_row_slice(2, 2, &[1.0, d, d, 1.0]);
        let ones = Vector::from_element(2, 1.0);
        GravityModel::new(economies(&["A", "B"]), sigma, "B", t, ones.clone(), ones).unwrap()
    }

    #[test]
    fn two_symmetric_countries_baseline() {
        // By symmetry P^(1-sigma) = 1 and Pi^(1-sigma) = (1 + d) / 2; then
        // X_ij = (1/2) t_ij / ((1 + d) / 2) = t_ij / (1 + d).
        let (d, sigma) = (0.25, 5.0);
        let (eq, report) = symmetric(d, sigma).baseline().unwrap();
        assert!(report.converged(), "{report}");
        let omr = ((1.0 + d) / 2.0).powf(1.0 / (1.0 - sigma));
        for k in 0..2 {
            assert!((eq.imr[k] - 1.0).abs() < 1e-12);
            assert!((eq.omr[k] - omr).abs() < 1e-12 * omr);
            assert!((eq.trade[(k, k)] - 1.0 / (1.0 + d)).abs() < 1e-12);
            assert!((eq.trade[(k, 1 - k)] - d / (1.0 + d)).abs() < 1e-12);
        }
    }

    #[test]
    fn two_symmetric_countries_complete_ge() {
        // A symmetric cut in trade costs (d -> d1) leaves shares at 1/2, so with P_ref = 1
        // the market-clearing price is p^(sigma-1) = (1 + d1) / (1 + d), the same for both,
        // and X_12' = p d1 / (1 + d1).
        let (d, d1, sigma) = (0.25, 0.5, 5.0);
        let model = symmetric(d, sigma);
        let (base, _) = model.baseline().unwrap();
        let t1 = Matrix::from_row_slice(2, 2, &[1.0, d1, d1, 1.0]);
        let cf = model.counterfactual(&base, &t1, GeMode::Complete).unwrap();
        assert_eq!(cf.reports.len(), 2);
        assert!(cf.reports.iter().all(SolveReport::converged));
        let p = ((1.0 + d1) / (1.0 + d)).powf(1.0 / (sigma - 1.0));
        let x = &cf.experiment;
        for k in 0..2 {
            assert!(
                (x.factory_gate_price[k] - p).abs() < 1e-10,
                "{}",
                x.factory_gate_price
            );
            assert!((x.output[k] - p).abs() < 1e-10);
            assert!((x.trade[(k, 1 - k)] - p * d1 / (1.0 + d1)).abs() < 1e-10);
        }
        // gegravity's one step gives the same prices here.
        let gg = model.counterfactual(&base, &t1, GeMode::Gegravity).unwrap();
        assert!((gg.experiment.factory_gate_price[0] - p).abs() < 1e-10);
    }

    fn three() -> GravityModel {
        let t = Matrix::from_row_slice(3, 3, &[1.0, 0.2, 0.05, 0.3, 1.0, 0.1, 0.02, 0.15, 1.0]);
        GravityModel::new(
            economies(&["A", "B", "C"]),
            4.0,
            "C",
            t,
            Vector::from_vec(vec![3.0, 1.0, 0.5]),
            Vector::from_vec(vec![2.5, 1.2, 0.8]),
        )
        .unwrap()
    }

    #[test]
    fn a_tiny_cap_is_a_reported_reason() {
        let opts = SolverOptions {
            max_iterations: 2,
            ..SolverOptions::default()
        };
        let model = three().with_options(opts).unwrap();
        match model.baseline() {
            Err(SolveError::NotConverged(r)) => {
                assert_eq!(r.stop_reason, StopReason::MaxIterations);
                assert_eq!(r.iterations, 2);
                assert!(
                    r.to_string().contains("stopped at the iteration limit"),
                    "{r}"
                );
            }
            other => panic!("expected NotConverged, got {other:?}"),
        }
        // The complete GE with a cap its resistances meet but its joint iteration does not
        // (plain iteration: prices with endowment growth take longer than resistances).
        let plain = SolverOptions {
            memory: 0,
            ..SolverOptions::default()
        };
        let model = three().with_options(plain).unwrap();
        let (base, _) = model.baseline().unwrap();
        let t1 = model.costs().clone();
        let growth = Vector::from_vec(vec![1.5, 1.0, 1.0]);
        let ok = model
            .counterfactual_with_growth(&base, &t1, &growth, GeMode::Complete)
            .unwrap();
        let (cond, ge) = (ok.reports[0].iterations, ok.reports[1].iterations);
        assert!(ge > cond, "conditional {cond}, complete {ge} iterations");
        let capped = three()
            .with_options(SolverOptions {
                max_iterations: cond,
                ..plain
            })
            .unwrap();
        match capped.counterfactual_with_growth(&base, &t1, &growth, GeMode::Complete) {
            Err(SolveError::NotConverged(r)) => {
                assert_eq!(r.stage, "complete GE");
                assert_eq!(r.stop_reason, StopReason::MaxIterations);
            }
            other => panic!("expected NotConverged, got {other:?}"),
        }
    }

    #[test]
    fn nan_inputs_are_invalid_input_not_a_panic() {
        let t = Matrix::from_row_slice(2, 2, &[1.0, 0.5, 0.5, 1.0]);
        let e = GravityModel::new(
            economies(&["A", "B"]),
            5.0,
            "A",
            t.clone(),
            Vector::from_vec(vec![f64::NAN, 1.0]),
            Vector::from_element(2, 1.0),
        )
        .unwrap_err();
        assert!(matches!(
            e,
            SolveError::InvalidInput(InputError::Output { .. })
        ));
        assert_eq!(e.to_string(), "output of A must be positive, got NaN");
        let e = GravityModel::new(
            economies(&["A", "B"]),
            f64::NAN,
            "A",
            t.clone(),
            Vector::from_element(2, 1.0),
            Vector::from_element(2, 1.0),
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "sigma must be a number greater than 1, got NaN"
        );
        let model = symmetric(0.5, 5.0);
        let (base, _) = model.baseline().unwrap();
        let bad = Matrix::from_row_slice(2, 2, &[1.0, f64::NAN, 0.5, 1.0]);
        let e = model
            .counterfactual(&base, &bad, GeMode::Complete)
            .unwrap_err();
        assert!(matches!(
            e,
            SolveError::InvalidInput(InputError::Cost { .. })
        ));
        let e = symmetric(0.5, 5.0)
            .with_options(SolverOptions {
                tolerance: f64::NAN,
                ..SolverOptions::default()
            })
            .unwrap_err();
        assert!(matches!(e, SolveError::InvalidOptions(ref w) if w[0].field == "tolerance"));
    }
}
