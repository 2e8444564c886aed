//! Policy instruments (DESIGN layer 4) and their state in a given year and sector.
//!
//! An [`Instrument`] is validated from a scenario's `[[instruments]]`; [`PolicyState::at`]
//! turns the list into what the route and gravity layers need for one year and sector:
//! wedges on direct links, cost multipliers on routes through intermediaries, demand
//! shifters, link-cost factors from investment, output growth, and which pairs share a
//! customs union. Each instrument acts with an intensity `s` in [0, 1]: 0 before `start`
//! and from `end` on, rising linearly over `phase_in` years.

use serde::Serialize;

use crate::world::{Matrix, Vector};

/// A wedge's factor in `run.json`: the number, or `"prohibitive"` for a closed route (an
/// infinite factor), since no result file holds `inf`.
fn factor_or_prohibitive<S: serde::Serializer>(factor: &f64, s: S) -> Result<S::Ok, S::Error> {
    if *factor == f64::INFINITY {
        s.serialize_str("prohibitive")
    } else {
        s.serialize_f64(*factor)
    }
}

/// What an instrument does, with codes resolved to positions.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case", tag = "effect")]
pub enum Effect {
    /// Multiply the direct-route wedge on these pairs by `factor` (infinite: prohibitive).
    /// Export controls and direct-link frictions. Pairs inside an active customs union
    /// are exempt.
    Wedge {
        pairs: Vec<(usize, usize)>,
        #[serde(serialize_with = "factor_or_prohibitive")]
        factor: f64,
    },
    /// Multiply the cost of routes from `origins` through `hubs` into the target by
    /// `factor` (secondary sanctions: `1 + probability x penalty`).
    RouteCost {
        hubs: Vec<usize>,
        origins: Vec<usize>,
        factor: f64,
    },
    /// Hubs intercept `share` of re-exports: the route's weight falls by `(1 - share)`,
    /// i.e. its cost rises by `(1 - share)^(-1/theta)`.
    Compliance { hubs: Vec<usize>, share: f64 },
    /// Set the detour premium of routes from `origins` through `hubs` to `premium`.
    Evasion {
        hubs: Vec<usize>,
        origins: Vec<usize>,
        premium: f64,
    },
    /// Buyers in the importers turn toward (factor > 1) or away from (< 1) the exporters,
    /// beyond what prices explain: `t^(1-sigma)` of the pairs times `factor`.
    Demand {
        pairs: Vec<(usize, usize)>,
        factor: f64,
    },
    /// A customs union: no wedge between members, and re-exports crossing from a member
    /// hub to a member target are recorded only at the hub's recorded share.
    CustomsUnion { members: Vec<usize> },
    /// Investment on links: capital stock `K(y) = stock + annual * (y - start)` lowers
    /// their cost as `t = t0 (1 + K / k_ref)^-eta` (relative to the base year).
    Investment {
        pairs: Vec<(usize, usize)>,
        stock: f64,
        annual: f64,
        k_ref: f64,
        eta: f64,
    },
    /// Output and expenditure of the economies grow by `rate` a year while the instrument
    /// is active; the level reached stays after it ends.
    Growth { economies: Vec<usize>, rate: f64 },
}

/// A validated instrument.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Instrument {
    pub id: Option<String>,
    pub label: String,
    pub source: Option<String>,
    pub start: i32,
    pub end: Option<i32>,
    pub phase_in: i32,
    /// Sector positions it applies to; empty means all.
    pub sectors: Vec<usize>,
    pub effect: Effect,
}

impl Instrument {
    /// Intensity in `year`: 0 before `start` and from `end`, then `(year - start + 1) /
    /// phase_in` up to 1.
    pub fn intensity(&self, year: i32) -> f64 {
        if year < self.start || self.end.is_some_and(|e| year >= e) {
            return 0.0;
        }
        (f64::from(year - self.start + 1) / f64::from(self.phase_in.max(1))).min(1.0)
    }

    fn applies_to(&self, sector: usize) -> bool {
        self.sectors.is_empty() || self.sectors.contains(&sector)
    }
}

/// The route layout instruments act on: target, intermediaries and base premium.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RouteLayout {
    pub target: usize,
    pub hubs: Vec<usize>,
    pub origins: Vec<usize>,
    pub premium: f64,
    /// Recorded share `rho_k` per hub (same order as `hubs`).
    pub recorded_share: Vec<f64>,
}

/// Everything the lower layers need for one year and sector.
#[derive(Debug, Clone)]
pub struct PolicyState {
    /// Direct-route wedge `w_ij >= 1` (infinite: closed).
    pub wedge: Matrix,
    /// Route multiplier `lambda_ik * e_ikj` for routes through each hub (same order as the
    /// layout's hubs); infinite where no route is offered.
    pub via: Vec<Matrix>,
    /// Demand shifter on `t^(1-sigma)`.
    pub demand: Matrix,
    /// Factor on bilateral costs `t` from investment, relative to the base year.
    pub cost: Matrix,
    /// Output growth since the base year.
    pub growth: Vector,
    /// `union[(k, j)]`: k and j share an active customs union.
    pub union: Matrix,
}

impl PolicyState {
    /// The state in `year` for `sector`, with route-choice elasticity `theta`.
    pub fn at(
        instruments: &[Instrument],
        n: usize,
        routes: Option<&RouteLayout>,
        base_year: i32,
        year: i32,
        sector: usize,
        theta: f64,
    ) -> PolicyState {
        let mut union = Matrix::zeros(n, n);
        for ins in instruments {
            if let Effect::CustomsUnion { members } = &ins.effect {
                if ins.intensity(year) > 0.0 {
                    for &a in members {
                        for &b in members {
                            union[(a, b)] = 1.0;
                        }
                    }
                }
            }
        }
        let mut wedge = Matrix::from_element(n, n, 1.0);
        let mut demand = Matrix::from_element(n, n, 1.0);
        let mut cost = Matrix::from_element(n, n, 1.0);
        let mut growth = Vector::from_element(n, 1.0);
        // Route multiplier = detour premium (set by evasion channels, each ramping from the
        // premium before it) times the factors of enforcement and compliance.
        let mut premium: Vec<Matrix> = Vec::new();
        let mut enforcement: Vec<Matrix> = Vec::new();
        if let Some(r) = routes {
            for &k in &r.hubs {
                let mut m = Matrix::from_element(n, n, f64::INFINITY);
                for &i in &r.origins {
                    if i != k && i != r.target && k != r.target {
                        m[(i, r.target)] = r.premium;
                    }
                }
                premium.push(m);
                enforcement.push(Matrix::from_element(n, n, 1.0));
            }
        }
        let hub_pos = |k: usize| routes.and_then(|r| r.hubs.iter().position(|&h| h == k));
        for ins in instruments.iter().filter(|i| i.applies_to(sector)) {
            let s = ins.intensity(year);
            match &ins.effect {
                Effect::Wedge { pairs, factor } => {
                    if s == 0.0 {
                        continue;
                    }
                    for &(i, j) in pairs {
                        if union[(i, j)] == 0.0 {
                            wedge[(i, j)] *= scaled(*factor, s);
                        }
                    }
                }
                Effect::RouteCost {
                    hubs,
                    origins,
                    factor,
                } => {
                    for (&k, &i) in hubs
                        .iter()
                        .flat_map(|k| origins.iter().map(move |i| (k, i)))
                    {
                        if let (Some(h), Some(r)) = (hub_pos(k), routes) {
                            enforcement[h][(i, r.target)] *= scaled(*factor, s);
                        }
                    }
                }
                Effect::Compliance { hubs, share } => {
                    let kept = 1.0 - share * s;
                    let factor = if kept <= 0.0 {
                        f64::INFINITY
                    } else {
                        kept.powf(-1.0 / theta)
                    };
                    for &k in hubs {
                        if let Some(h) = hub_pos(k) {
                            enforcement[h].apply(|v| *v *= factor);
                        }
                    }
                }
                Effect::Evasion {
                    hubs,
                    origins,
                    premium: new_premium,
                } => {
                    if s == 0.0 {
                        continue;
                    }
                    for &k in hubs {
                        if let (Some(h), Some(r)) = (hub_pos(k), routes) {
                            for &i in origins {
                                let v = &mut premium[h][(i, r.target)];
                                if v.is_finite() {
                                    // Geometric ramp from the premium before to the new one.
                                    *v *= (new_premium / *v).powf(s);
                                }
                            }
                        }
                    }
                }
                Effect::Demand { pairs, factor } => {
                    for &(i, j) in pairs {
                        demand[(i, j)] *= scaled(*factor, s);
                    }
                }
                Effect::CustomsUnion { .. } => {}
                Effect::Investment {
                    pairs,
                    stock,
                    annual,
                    k_ref,
                    eta,
                } => {
                    let k_at = |y: i32| {
                        if y < ins.start {
                            0.0
                        } else {
                            stock + annual * f64::from(y - ins.start)
                        }
                    };
                    let f =
                        ((1.0 + k_at(year) / k_ref) / (1.0 + k_at(base_year) / k_ref)).powf(-eta);
                    for &(i, j) in pairs {
                        cost[(i, j)] *= f;
                    }
                }
                Effect::Growth { economies, rate } => {
                    // Compounds over the years after the base year in which it is active;
                    // the level it reached stays after `end`.
                    let years = (base_year + 1..=year)
                        .filter(|&y| ins.intensity(y) > 0.0)
                        .count();
                    let years = i32::try_from(years).unwrap_or(i32::MAX);
                    for &i in economies {
                        growth[i] *= (1.0 + rate).powi(years);
                    }
                }
            }
        }
        let via = premium
            .iter()
            .zip(&enforcement)
            .map(|(p, e)| p.component_mul(e))
            .collect();
        PolicyState {
            wedge,
            via,
            demand,
            cost,
            growth,
            union,
        }
    }
}

/// A multiplicative factor at intensity `s`: `1 + (factor - 1) s`; an infinite factor is
/// all or nothing.
fn scaled(factor: f64, s: f64) -> f64 {
    if s == 0.0 {
        1.0
    } else if factor.is_infinite() {
        f64::INFINITY
    } else {
        1.0 + (factor - 1.0) * s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn instrument(effect: Effect, start: i32, phase_in: i32, end: Option<i32>) -> Instrument {
        Instrument {
            id: None,
            label: String::new(),
            source: None,
            start,
            end,
            phase_in,
            sectors: vec![],
            effect,
        }
    }

    #[test]
    fn intensity_ramps_and_ends() {
        let i = instrument(
            Effect::Growth {
                economies: vec![],
                rate: 0.0,
            },
            2022,
            2,
            Some(2027),
        );
        let s: Vec<f64> = (2021..=2027).map(|y| i.intensity(y)).collect();
        assert_eq!(s, [0.0, 0.5, 1.0, 1.0, 1.0, 1.0, 0.0]);
    }

    #[test]
    fn growth_compounds_while_active_and_keeps_its_level() {
        let ins = vec![instrument(
            Effect::Growth {
                economies: vec![0],
                rate: 0.1,
            },
            2022,
            1,
            Some(2024),
        )];
        let g = |y| PolicyState::at(&ins, 1, None, 2021, y, 0, 4.0).growth[0];
        assert_eq!(g(2021), 1.0);
        assert!((g(2022) - 1.1).abs() < 1e-12);
        assert!((g(2023) - 1.21).abs() < 1e-12);
        assert!((g(2026) - 1.21).abs() < 1e-12);
    }

    #[test]
    fn customs_union_exempts_members_from_wedges() {
        let ins = vec![
            instrument(
                Effect::CustomsUnion {
                    members: vec![0, 1],
                },
                2015,
                1,
                None,
            ),
            instrument(
                Effect::Wedge {
                    pairs: vec![(0, 1), (2, 1)],
                    factor: 1.5,
                },
                2022,
                1,
                None,
            ),
        ];
        let st = PolicyState::at(&ins, 3, None, 2021, 2022, 0, 4.0);
        assert_eq!(st.wedge[(0, 1)], 1.0);
        assert_eq!(st.wedge[(2, 1)], 1.5);
    }

    #[test]
    fn full_compliance_closes_the_route() {
        let layout = RouteLayout {
            target: 2,
            hubs: vec![1],
            origins: vec![0],
            premium: 2.0,
            recorded_share: vec![0.5],
        };
        let ins = vec![instrument(
            Effect::Compliance {
                hubs: vec![1],
                share: 1.0,
            },
            2026,
            1,
            None,
        )];
        let before = PolicyState::at(&ins, 3, Some(&layout), 2021, 2025, 0, 4.0);
        let after = PolicyState::at(&ins, 3, Some(&layout), 2021, 2026, 0, 4.0);
        assert_eq!(before.via[0][(0, 2)], 2.0);
        assert!(after.via[0][(0, 2)].is_infinite());
    }

    #[test]
    fn evasion_channels_ramp_from_the_premium_before() {
        let layout = RouteLayout {
            target: 2,
            hubs: vec![1],
            origins: vec![0],
            premium: 4.0,
            recorded_share: vec![1.0],
        };
        let channel = |premium, start| {
            instrument(
                Effect::Evasion {
                    hubs: vec![1],
                    origins: vec![0],
                    premium,
                },
                start,
                2,
                None,
            )
        };
        let ins = vec![channel(2.0, 2022), channel(1.0, 2025)];
        let m = |y| PolicyState::at(&ins, 3, Some(&layout), 2021, y, 0, 4.0).via[0][(0, 2)];
        assert_eq!(m(2021), 4.0);
        assert!((m(2022) - 8f64.sqrt()).abs() < 1e-12);
        assert!((m(2023) - 2.0).abs() < 1e-12);
        assert!((m(2025) - 2f64.sqrt()).abs() < 1e-12);
        assert!((m(2026) - 1.0).abs() < 1e-12);
    }
}
