//! Known-answer tests of [`ppml`]: a direct Newton solve without fixed effects, an exact
//! two-way design whose fixed effects are recoverable, and the dropping rules.

use nalgebra::{DMatrix, DVector};

use super::*;

/// A deterministic irregular sequence in `[0, 1)` (a Weyl sequence).
fn weyl(n: usize, a: f64) -> f64 {
    (n as f64 * a).fract()
}

/// Poisson maximum likelihood of `y` on the columns `cols` (an intercept among them) by
/// plain Newton steps on the log likelihood `sum y eta - exp(eta)`: the coefficients and
/// their HC0 covariance `H^-1 (sum (y - mu)^2 x x') H^-1`, `H = sum mu x x'`.
fn newton(y: &[f64], cols: &[Vec<f64>]) -> (DVector<f64>, DMatrix<f64>) {
    let (n, k) = (y.len(), cols.len());
    let xm = DMatrix::from_fn(n, k, |i, j| cols[j][i]);
    let mut b = DVector::zeros(k);
    for _ in 0..100 {
        let eta = &xm * &b;
        let mu = eta.map(f64::exp);
        let g = xm.transpose() * (DVector::from_column_slice(y) - &mu);
        let h = xm.transpose() * DMatrix::from_diagonal(&mu) * &xm;
        let step = h.clone().cholesky().unwrap().solve(&g);
        b += &step;
        if step.amax() < 1e-14 {
            break;
        }
    }
    let mu = (&xm * &b).map(f64::exp);
    let h_inv = (xm.transpose() * DMatrix::from_diagonal(&mu) * &xm)
        .try_inverse()
        .unwrap();
    let e2 = DVector::from_iterator(n, (0..n).map(|i| (y[i] - mu[i]).powi(2)));
    let meat = xm.transpose() * DMatrix::from_diagonal(&e2) * &xm;
    (b, &h_inv * meat * &h_inv)
}

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol * (1.0 + b.abs())
}

#[test]
fn without_fixed_effects_matches_a_direct_newton_solve() {
    let n = 60;
    let x1: Vec<f64> = (0..n).map(|i| weyl(i, 0.618_033_988_7) * 2.0).collect();
    let x2: Vec<f64> = (0..n)
        .map(|i| f64::from(u8::from(weyl(i, 0.414_213_562) > 0.5)))
        .collect();
    let y: Vec<f64> = (0..n)
        .map(|i| ((1.0 + 0.7 * x1[i] - 0.5 * x2[i]).exp() * (0.5 + weyl(i, 0.732_050_8))).round())
        .collect();
    let design = Design {
        y: y.clone(),
        x: vec![x1.clone(), x2.clone()],
        names: vec!["x1".into(), "x2".into()],
        fixed_effects: Vec::new(),
        cluster: None,
    };
    let fit = ppml(&design, &PpmlOptions::default()).unwrap();
    assert!(fit.report.converged, "{:?}", fit.report);
    let (b, v) = newton(&y, &[x1, x2, vec![1.0; n]]);
    for j in 0..2 {
        let c = &fit.coefficients[j];
        assert!(
            close(c.beta, b[j], 1e-9),
            "{}: {} vs {}",
            c.name,
            c.beta,
            b[j]
        );
        assert!(
            close(c.stderr, v[(j, j)].sqrt(), 1e-8),
            "{}: {} vs {}",
            c.name,
            c.stderr,
            v[(j, j)].sqrt()
        );
    }
    // Without fixed effects the constant is the intercept, with its HC0 standard error.
    assert!(
        close(fit.constant.beta, b[2], 1e-9),
        "{} vs {}",
        fit.constant.beta,
        b[2]
    );
    assert!(close(fit.constant.stderr, v[(2, 2)].sqrt(), 1e-8));
    assert!(fit.fixed_effects.is_empty() && fit.dropped.is_empty());
    assert!(close(
        predict(&fit, &[0.0, 0.0], &[]).unwrap(),
        b[2].exp(),
        1e-9
    ));
}

/// A complete `ni x nj` two-way design with `y = exp(b x + a_i + c_j)` exactly.
fn exact_two_way(ni: usize, nj: usize, b: f64) -> (Design, Vec<f64>, Vec<f64>) {
    let a: Vec<f64> = (0..ni).map(|i| 2.0 + weyl(i + 1, 0.618) * 3.0).collect();
    let c: Vec<f64> = (0..nj).map(|j| 1.0 + weyl(j + 1, 0.414) * 2.0).collect();
    let (mut y, mut x, mut gi, mut gj) = (vec![], vec![], vec![], vec![]);
    for (i, ai) in a.iter().enumerate() {
        for (j, cj) in c.iter().enumerate() {
            let xv = weyl(i * nj + j + 1, 0.732_05) * 2.0 - 1.0;
            y.push((b * xv + ai + cj).exp());
            x.push(xv);
            // Group ids need not be dense: exporters are numbered 10, 20, ...
            gi.push(10 * (i as u32 + 1));
            gj.push(j as u32);
        }
    }
    let design = Design {
        y,
        x: vec![x],
        names: vec!["x".into()],
        fixed_effects: vec![
            FixedEffect {
                name: "exporter".into(),
                groups: gi,
            },
            FixedEffect {
                name: "importer".into(),
                groups: gj,
            },
        ],
        cluster: None,
    };
    (design, a, c)
}

#[test]
fn two_way_fixed_effects_are_recovered_up_to_the_documented_normalisation() {
    let (design, a, c) = exact_two_way(6, 5, -0.8);
    let fit = ppml(&design, &PpmlOptions::default()).unwrap();
    assert!(fit.report.converged);
    assert!(
        close(fit.coefficients[0].beta, -0.8, 1e-9),
        "{:?}",
        fit.coefficients
    );
    let ex = &fit.fixed_effects[0];
    let im = &fit.fixed_effects[1];
    assert_eq!(ex.values.len(), 6);
    // Differences within a dimension are identified.
    for i in 1..6 {
        let got = ex.get(10 * (i as u32 + 1)).unwrap() - ex.get(10).unwrap();
        assert!(
            close(got, a[i] - a[0], 1e-8),
            "exporter {i}: {got} vs {}",
            a[i] - a[0]
        );
    }
    for j in 1..5 {
        let got = im.get(j as u32).unwrap() - im.get(0).unwrap();
        assert!(close(got, c[j] - c[0], 1e-8));
    }
    // Each dimension has a zero mu-weighted mean, the level is in the constant.
    for (d, fe) in design.fixed_effects.iter().zip(&fit.fixed_effects) {
        let m: f64 = fit
            .kept
            .iter()
            .zip(&fit.fitted)
            .map(|(&n, mu)| mu * fe.get(d.groups[n]).unwrap())
            .sum();
        assert!(m.abs() < 1e-8, "{}: {m}", fe.name);
    }
    // Fitted means and predictions reproduce the data; an unseen group predicts nothing.
    for (&n, mu) in fit.kept.iter().zip(&fit.fitted) {
        assert!(close(*mu, design.y[n], 1e-8));
        let p = predict(
            &fit,
            &[design.x[0][n]],
            &[
                design.fixed_effects[0].groups[n],
                design.fixed_effects[1].groups[n],
            ],
        )
        .unwrap();
        assert!(close(p, design.y[n], 1e-8), "{p} vs {}", design.y[n]);
    }
    assert_eq!(predict(&fit, &[0.0], &[10, 99]), None);
    assert_eq!(predict(&fit, &[0.0], &[10]), None);
}

#[test]
fn drops_singletons_and_separated_groups_and_estimates_the_rest_unchanged() {
    let (mut design, _, _) = exact_two_way(5, 5, 0.5);
    // Make the last importer all zeros (separated), and add a singleton exporter.
    for n in 0..design.y.len() {
        if design.fixed_effects[1].groups[n] == 4 {
            design.y[n] = 0.0;
        }
    }
    design.y.push(7.0);
    design.x[0].push(0.3);
    design.fixed_effects[0].groups.push(999);
    design.fixed_effects[1].groups.push(0);
    design.y.push(f64::NAN);
    design.x[0].push(0.1);
    design.fixed_effects[0].groups.push(10);
    design.fixed_effects[1].groups.push(1);
    let fit = ppml(&design, &PpmlOptions::default()).unwrap();
    assert_eq!(fit.dropped.len(), 5 + 1 + 1, "{:?}", fit.dropped);
    assert_eq!(fit.report.kept, 20);
    let separated = fit
        .dropped
        .iter()
        .filter(|d| matches!(d.reason, DropReason::Separated { .. }))
        .count();
    assert_eq!(separated, 5);
    assert!(fit
        .dropped
        .iter()
        .any(|d| d.index == 25 && matches!(d.reason, DropReason::Singleton { .. })));
    assert!(fit
        .dropped
        .iter()
        .any(|d| d.index == 26 && matches!(d.reason, DropReason::NonFinite { .. })));
    assert!(close(fit.coefficients[0].beta, 0.5, 1e-9));
    // The dropped importer has no estimate, so a cell into it is not predicted.
    assert_eq!(fit.fixed_effects[1].get(4), None);
    assert_eq!(predict(&fit, &[0.0], &[10, 4]), None);
}

#[test]
fn one_observation_per_cluster_scales_hc0_by_g_over_g_minus_1() {
    let (mut design, _, _) = exact_two_way(6, 6, 0.5);
    // Noise, so the scores are not zero.
    for (n, y) in design.y.iter_mut().enumerate() {
        *y = (*y * (0.6 + 0.8 * weyl(n + 3, 0.381_966))).round();
    }
    design.cluster = Some((0..36).collect());
    let robust = ppml(&design, &PpmlOptions::default()).unwrap();
    let options = PpmlOptions {
        se: StdErrKind::ClusterPair,
        ..PpmlOptions::default()
    };
    let clustered = ppml(&design, &options).unwrap();
    assert_eq!(clustered.report.clusters, Some(36));
    let ratio = clustered.coefficients[0].stderr / robust.coefficients[0].stderr;
    assert!(close(ratio, (36.0_f64 / 35.0).sqrt(), 1e-10), "{ratio}");
}

#[test]
fn absorbed_regressors_and_bad_shapes_are_errors_and_non_convergence_is_reported() {
    let (mut design, _, _) = exact_two_way(4, 4, 0.5);
    // A regressor constant within exporters.
    let by_exporter: Vec<f64> = design.fixed_effects[0]
        .groups
        .iter()
        .map(|&g| f64::from(g))
        .collect();
    design.x.push(by_exporter);
    design.names.push("gdp".into());
    let e = ppml(&design, &PpmlOptions::default()).unwrap_err();
    assert_eq!(e, EstimateError::Absorbed(vec!["gdp".into()]));
    assert!(
        e.to_string().starts_with("regressor `gdp` is absorbed"),
        "{e}"
    );
    design.x.pop();
    design.names.pop();
    design.x[0].pop();
    assert!(matches!(
        ppml(&design, &PpmlOptions::default()),
        Err(EstimateError::Shape(_))
    ));
    let (design, _, _) = exact_two_way(4, 4, 0.5);
    let options = PpmlOptions {
        max_iterations: 1,
        ..PpmlOptions::default()
    };
    let fit = ppml(&design, &options).unwrap();
    assert_eq!(fit.report.stop, StopReason::MaxIterations);
    assert!(!fit.report.converged);
}

#[test]
fn three_way_fixed_effects_recover_the_coefficients_the_panel_is_drawn_with() {
    let panel = synthetic::synthetic_panel(30, 6, 7);
    let fit = ppml(&panel.design(), &PpmlOptions::default()).unwrap();
    assert!(
        fit.report.converged && !fit.report.demean_limit_hit,
        "{:?}",
        fit.report
    );
    for (c, truth) in fit.coefficients.iter().zip(synthetic::TRUE_BETA) {
        // Within four standard errors of the truth.
        assert!(
            (c.beta - truth).abs() < 4.0 * c.stderr,
            "{}: {} ({}) vs {truth}",
            c.name,
            c.beta,
            c.stderr
        );
    }
    // The score conditions of the fixed effects hold: sum (y - mu) = 0 in every group
    // (relative to the group's trade).
    let design = panel.design();
    for fe in &design.fixed_effects {
        let mut sums = std::collections::HashMap::new();
        for (&n, mu) in fit.kept.iter().zip(&fit.fitted) {
            let e = sums.entry(fe.groups[n]).or_insert((0.0, 0.0));
            e.0 += design.y[n] - mu;
            e.1 += design.y[n];
        }
        let worst = sums
            .values()
            .fold(0.0_f64, |m, &(s, t): &(f64, f64)| m.max(s.abs() / t));
        assert!(worst < 1e-8, "{}: {worst}", fe.name);
    }
}
