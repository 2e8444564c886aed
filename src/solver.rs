//! The vocabulary every iterative method in tradeflow shares: why it stopped
//! ([`StopReason`]), what happened ([`SolveReport`]) and a setting out of range
//! ([`InvalidOption`]).
//!
//! As in argmin (`core/executor.rs`, `core/termination.rs`), a method computes one step and
//! the loop that drives it owns the stopping rules and always returns a report, converged or
//! not. Not converging is a *reason* in that report, never a panic; a caller that needs a
//! converged result turns an unconverged report into its own error (for example
//! `gravity::SolveError::NotConverged`), so the report travels with the error.
//!
//! The methods that speak it:
//! - the resistance fixed point with Anderson acceleration and its Newton fallback
//!   (`gravity::fixed_point`, `gravity::balance`), options `gravity::SolverOptions`;
//! - the complete GE (`gravity::GravityModel::counterfactual`), with the same options;
//! - the recorded-to-final fixed point of the yearly loop
//!   ([`crate::simulate::final_from_recorded`]), options
//!   [`crate::simulate::RecordedOptions`];
//! - Levenberg-Marquardt in calibration ([`crate::calibrate`]), options
//!   [`crate::calibrate::LmOptions`].
//!
//! Each method's options are a small struct with documented defaults and a checked
//! constructor (`new`) that reports every setting out of range as an [`InvalidOption`].

use serde::Serialize;

/// Why an iterative method stopped. The first four count as converged
/// ([`StopReason::is_converged`]).
///
/// Serialized in snake case (`"converged"`, `"max_iterations"`, ...): the spelling
/// `run.json`'s `solver_reports` records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    /// The method's convergence test passed: the fixed point's largest step, Newton's
    /// adding-up error or Levenberg-Marquardt's projected gradient fell below the tolerance.
    Converged,
    /// The step stopped shrinking below the precision limit: rounding in the sums now moves
    /// the unknowns as much as the iteration does, so the solution is found as closely as
    /// floating point allows.
    PrecisionLimit,
    /// An accepted step lowered the objective by a negligible fraction, or moved the
    /// unknowns negligibly (Levenberg-Marquardt).
    NoProgress,
    /// No step lowers the objective however strongly it is damped: a local minimum within
    /// the bounds (Levenberg-Marquardt).
    NoDescent,
    /// The iteration limit was reached first.
    MaxIterations,
    /// The step stopped shrinking above the precision limit (handed to a more robust
    /// method where there is one).
    Stalled,
    /// A step produced a value that is not a finite number, or Newton's method found no
    /// direction that lowers the residual.
    NonFinite,
}

impl StopReason {
    /// True when the method met its tolerance, or came as close as it can.
    pub fn is_converged(self) -> bool {
        matches!(
            self,
            StopReason::Converged
                | StopReason::PrecisionLimit
                | StopReason::NoProgress
                | StopReason::NoDescent
        )
    }
}

impl std::fmt::Display for StopReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            StopReason::Converged => "converged",
            StopReason::PrecisionLimit => "converged to floating-point precision",
            StopReason::NoProgress => "converged: the objective stopped falling",
            StopReason::NoDescent => "converged: no step lowers the objective",
            StopReason::MaxIterations => "stopped at the iteration limit",
            StopReason::NonFinite => "stopped on a non-finite value",
            StopReason::Stalled => "stopped improving",
        })
    }
}

/// What happened in one solve: always returned, whether it converged or not.
///
/// The serialized fields (`stage`, `iterations`, `newton_steps`, `residual`,
/// `stop_reason`) are `run.json`'s `solver_reports` entries; `evaluations` is written only
/// where a method counts them apart from its iterations.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SolveReport {
    /// Which system was solved (e.g. `baseline resistances`).
    pub stage: String,
    /// Steps taken (for the resistances: fixed-point steps plus Newton steps).
    pub iterations: usize,
    /// How many of them were Newton steps of the robust fallback (0 for ordinary economies
    /// and for methods without one).
    pub newton_steps: usize,
    /// The quantity the convergence test measures at the end: the fixed point's largest log
    /// change in the last step, Newton's largest relative adding-up error, the largest
    /// change of a final flow relative to itself, Levenberg-Marquardt's largest projected
    /// gradient component.
    pub residual: f64,
    /// Why it stopped.
    pub stop_reason: StopReason,
    /// Evaluations of the model, where they differ from the iterations
    /// (Levenberg-Marquardt: trial points and Jacobian columns).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub evaluations: Option<usize>,
}

impl SolveReport {
    /// A report without Newton steps or a separate count of evaluations.
    pub fn new(
        stage: impl Into<String>,
        iterations: usize,
        residual: f64,
        stop_reason: StopReason,
    ) -> SolveReport {
        SolveReport {
            stage: stage.into(),
            iterations,
            newton_steps: 0,
            residual,
            stop_reason,
            evaluations: None,
        }
    }

    /// True when the solve met its tolerance (see [`StopReason::is_converged`]).
    pub fn converged(&self) -> bool {
        self.stop_reason.is_converged()
    }
}

impl std::fmt::Display for SolveReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: {} after {} iterations, residual {:.3e}",
            self.stage, self.stop_reason, self.iterations, self.residual
        )?;
        if self.newton_steps > 0 {
            write!(f, " ({} of them Newton steps)", self.newton_steps)?;
        }
        Ok(())
    }
}

/// A solver setting out of its range: the field (`tolerance`) and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidOption {
    pub field: &'static str,
    pub message: String,
}

impl std::fmt::Display for InvalidOption {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

/// Checks a tolerance: a number strictly between 0 and 1 (NaN is refused).
pub(crate) fn check_tolerance(field: &'static str, value: f64, wrong: &mut Vec<InvalidOption>) {
    if !(value > 0.0 && value < 1.0) {
        wrong.push(InvalidOption {
            field,
            message: format!("must be between 0 and 1, got {value}"),
        });
    }
}

/// Checks an iteration cap: at least 1.
pub(crate) fn check_cap(field: &'static str, value: usize, wrong: &mut Vec<InvalidOption>) {
    if value == 0 {
        wrong.push(InvalidOption {
            field,
            message: "must be at least 1".to_owned(),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_serialize_as_run_json_spells_them() {
        let r = SolveReport::new("baseline resistances", 3, 1e-13, StopReason::MaxIterations);
        let json = serde_json::to_string(&r).unwrap();
        assert_eq!(
            json,
            r#"{"stage":"baseline resistances","iterations":3,"newton_steps":0,"residual":1e-13,"stop_reason":"max_iterations"}"#
        );
        assert!(!r.converged());
        assert_eq!(
            r.to_string(),
            "baseline resistances: stopped at the iteration limit after 3 iterations, residual 1.000e-13"
        );
    }

    #[test]
    fn checks_refuse_nan_and_zero() {
        let mut wrong = Vec::new();
        check_tolerance("tolerance", f64::NAN, &mut wrong);
        check_tolerance("tolerance", 1e-12, &mut wrong);
        check_cap("max_iterations", 0, &mut wrong);
        check_cap("max_iterations", 1, &mut wrong);
        assert_eq!(wrong.len(), 2);
        assert_eq!(
            wrong[0].to_string(),
            "tolerance: must be between 0 and 1, got NaN"
        );
        assert_eq!(wrong[1].field, "max_iterations");
    }
}
