//! A route diagram for one year (Sankey-style): origins on the left, the route in the middle
//! (direct, or through each intermediary), the target on the right; band widths are
//! proportional to value.

use plotters::coord::Shift;
use plotters::prelude::*;
use serde::Serialize;

use super::flows::Role;
use super::names::{name, short};
use super::page::{Page, Words, BOTTOM, CENTRE, LEFT, RIGHT};
use super::style::{fmt_bn, fmt_num, spread, DARK_GREY, MUTED, TEXT};
use super::{csv_of, PlotError};

/// One origin's flow into the target on one route.
#[derive(Debug, Clone, PartialEq)]
pub struct RouteFlow {
    /// Position in [`RouteDiagram::origins`].
    pub origin: usize,
    /// `None` for the direct route, else the position in [`RouteDiagram::hubs`].
    pub via: Option<usize>,
    /// USD bn.
    pub value: f64,
}

/// The routes into the target in one year.
#[derive(Debug, Clone, PartialEq)]
pub struct RouteDiagram {
    pub target: String,
    pub year: i32,
    /// Origin nodes, top to bottom, with their colour role.
    pub origins: Vec<(String, Role)>,
    /// Route nodes through intermediaries, top to bottom, with their colour role: a hub's
    /// code, or the name of the group of small hubs ([`Role::OtherHubs`]).
    pub hubs: Vec<(String, Role)>,
    pub flows: Vec<RouteFlow>,
    pub note: String,
}

#[derive(Serialize)]
struct Row<'a> {
    year: i32,
    origin: &'a str,
    via: &'a str,
    destination: &'a str,
    value: f64,
}

impl RouteDiagram {
    pub(crate) fn csv(&self) -> Result<Vec<u8>, PlotError> {
        let rows: Vec<Row> = self
            .flows
            .iter()
            .map(|fl| Row {
                year: self.year,
                origin: self.origins.get(fl.origin).map_or("?", |(n, _)| n.as_str()),
                via: fl
                    .via
                    .and_then(|k| self.hubs.get(k))
                    .map_or("direct", |(h, _)| h.as_str()),
                destination: &self.target,
                value: fl.value,
            })
            .collect();
        csv_of(&rows, "route diagram")
    }

    fn route_name(&self, via: Option<usize>) -> String {
        match via.and_then(|k| self.hubs.get(k)) {
            Some((h, role)) => format!("via {}", self.node_name(h, *role)),
            None => "direct".to_owned(),
        }
    }

    /// Whether nodes carry economy names: when every short name is at most
    /// [`NAME_CHARS`] characters (else codes, listed in the footnote).
    fn named(&self) -> bool {
        self.codes()
            .iter()
            .all(|c| short(c).chars().count() <= NAME_CHARS)
    }

    /// The economy codes on the nodes: named origins, hubs and the target.
    fn codes(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for (c, role) in self.origins.iter().chain(&self.hubs) {
            if matches!(role, Role::Direct(_) | Role::Via(_)) && !out.contains(&c.as_str()) {
                out.push(c);
            }
        }
        if !out.contains(&self.target.as_str()) {
            out.push(&self.target);
        }
        out
    }

    /// A node's text: an economy's short name (or code), a group's name as it is.
    fn node_name(&self, code: &str, role: Role) -> String {
        match role {
            Role::Direct(_) | Role::Via(_) if self.named() => short(code),
            _ => code.to_owned(),
        }
    }
}

/// Nodes carry short names up to this length; a longer one turns all nodes to codes.
const NAME_CHARS: usize = 20;

/// A node: its column position and extent in pixels.
struct Node {
    name: String,
    value: f64,
    colour: RGBColor,
    y0: f64,
    y1: f64,
}

/// Stacks nodes of a column from `top` with `gap` between them, `scale` pixels per unit.
fn stack(nodes: &mut [Node], top: f64, gap: f64, scale: f64) {
    let mut y = top;
    for n in nodes {
        n.y0 = y;
        n.y1 = y + n.value * scale;
        y = n.y1 + gap;
    }
}

fn column_height(nodes: &[Node], gap: f64, scale: f64) -> f64 {
    let sum: f64 = nodes.iter().map(|n| n.value).sum();
    sum * scale + gap * nodes.len().saturating_sub(1) as f64
}

/// A band between two vertical segments, as a polygon along two cubic curves.
fn band(x0: f64, (a0, a1): (f64, f64), x1: f64, (b0, b1): (f64, f64)) -> Vec<(i32, i32)> {
    const N: usize = 32;
    let curve = |ya: f64, yb: f64, t: f64| -> (f64, f64) {
        // Control points halfway across, at the end heights: a smooth S.
        let xm = (x0 + x1) / 2.0;
        let u = 1.0 - t;
        let x = u * u * u * x0 + 3.0 * u * u * t * xm + 3.0 * u * t * t * xm + t * t * t * x1;
        let y = u * u * u * ya + 3.0 * u * u * t * ya + 3.0 * u * t * t * yb + t * t * t * yb;
        (x, y)
    };
    let mut pts = Vec::with_capacity(2 * N + 2);
    for k in 0..=N {
        let (x, y) = curve(a0, b0, k as f64 / N as f64);
        pts.push((x.round() as i32, y.round() as i32));
    }
    for k in (0..=N).rev() {
        let (x, y) = curve(a1, b1, k as f64 / N as f64);
        pts.push((x.round() as i32, y.round() as i32));
    }
    pts
}

impl RouteDiagram {
    /// The flows drawn: positive, from a known origin.
    fn shown(&self) -> Vec<&RouteFlow> {
        self.flows
            .iter()
            .filter(|fl| fl.value > 0.0 && fl.origin < self.origins.len())
            .collect()
    }

    /// All flows into the target and those through intermediaries.
    fn totals(&self) -> (f64, f64) {
        let flows = self.shown();
        let total = flows.iter().map(|fl| fl.value).sum();
        let via = flows
            .iter()
            .filter(|fl| fl.via.is_some())
            .map(|fl| fl.value);
        (total, via.sum())
    }

    /// Title, subtitle and footnote.
    pub(crate) fn words(&self) -> Words {
        let (total, via_total) = self.totals();
        let mut subtitle =
            "Final-destination values, USD bn; band widths proportional to value.".to_owned();
        if total > 0.0 {
            subtitle.push_str(&format!(
                " Through intermediaries: {} of {} ({}%).",
                fmt_bn(via_total),
                fmt_bn(total),
                fmt_num(100.0 * via_total / total, 1)
            ));
        }
        let note = if self.named() {
            self.note.clone()
        } else {
            let codes: Vec<String> = self
                .codes()
                .iter()
                .map(|c| format!("{c} {}", name(c)))
                .collect();
            format!("Codes: {}. {}", codes.join(", "), self.note)
        };
        Words {
            title: format!("Routes of goods into {}, {}", name(&self.target), self.year),
            subtitle,
            note,
            note_lines: 3,
        }
    }

    /// The routes: direct first, then through each hub.
    fn routes(&self) -> Vec<Option<usize>> {
        std::iter::once(None)
            .chain((0..self.hubs.len()).map(Some))
            .collect()
    }

    /// The sum of the flows shown that `pick` selects.
    fn sum(&self, pick: impl Fn(&RouteFlow) -> bool) -> f64 {
        self.shown()
            .into_iter()
            .filter(|fl| pick(fl))
            .map(|fl| fl.value)
            .sum()
    }

    /// The origin column (origins with flows) and each origin's node in it.
    fn origin_nodes(&self) -> (Vec<Node>, Vec<Option<usize>>) {
        let mut nodes = Vec::new();
        let mut node_of = vec![None; self.origins.len()];
        for (i, (name, role)) in self.origins.iter().enumerate() {
            let value = self.sum(|fl| fl.origin == i);
            if value > 0.0 {
                node_of[i] = Some(nodes.len());
                nodes.push(Node::new(self.node_name(name, *role), value, role.colour()));
            }
        }
        (nodes, node_of)
    }

    /// The route column (routes with flows) and each route's node in it.
    fn route_nodes(&self) -> (Vec<Node>, Vec<Option<usize>>) {
        let routes = self.routes();
        let mut nodes = Vec::new();
        let mut node_of = vec![None; routes.len()];
        for (r, via) in routes.iter().enumerate() {
            let value = self.sum(|fl| fl.via == *via);
            if value > 0.0 {
                node_of[r] = Some(nodes.len());
                let colour = via
                    .and_then(|k| self.hubs.get(k))
                    .map_or(DARK_GREY, |(_, role)| role.colour());
                nodes.push(Node::new(self.route_name(*via), value, colour));
            }
        }
        (nodes, node_of)
    }
}

impl Node {
    fn new(name: String, value: f64, colour: RGBColor) -> Self {
        Self {
            name,
            value,
            colour,
            y0: 0.0,
            y1: 0.0,
        }
    }

    fn label(&self) -> String {
        format!("{}  {}", self.name, fmt_bn(self.value))
    }

    /// The node as a rectangle at `x`, at least 2 px tall so that small ones are seen.
    fn draw<DB: DrawingBackend>(&self, p: &Page<DB>, x: f64, w: f64) -> Result<(), PlotError> {
        let y1 = if self.y1 - self.y0 < 2.0 {
            self.y0 + 2.0
        } else {
            self.y1
        };
        let (x0, x1) = (x.round() as i32, (x + w).round() as i32);
        p.rect(
            [(x0, self.y0.round() as i32), (x1, y1.round() as i32)],
            self.colour,
        )
    }

    fn centre(&self) -> i32 {
        ((self.y0 + self.y1) / 2.0) as i32
    }

    /// Whether a label at `y` sits on the node (else it gets a leader line).
    fn beside(&self, y: i32) -> bool {
        y >= self.y0 as i32 - 2 && y <= self.y1 as i32 + 2
    }
}

/// The x of the three columns' left edges and the nodes' width, in pixels.
struct Columns {
    left: f64,
    mid: f64,
    right: f64,
    node_w: f64,
}

/// Draws the route diagram.
pub(crate) fn draw_route_diagram<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    c: &RouteDiagram,
) -> Result<(), PlotError> {
    let p = Page::new(area, &c.words())?;
    let (th, top) = (&p.th, p.top);
    let (total, _) = c.totals();
    if total <= 0.0 || !total.is_finite() {
        let message = format!("No flows into {} in {}", name(&c.target), c.year);
        return p.text(&message, (th.w / 2, (top + th.h) / 2), &th.axis(), CENTRE);
    }
    let (mut left, left_of) = c.origin_nodes();
    let (mut middle, middle_of) = c.route_nodes();
    let value_style = th.bold(22.0, TEXT);
    // Room for labels: the widest left label decides where the left column starts.
    let widest_left = p.widest(left.iter().map(Node::label), &value_style)?;
    let target_name = c.node_name(&c.target, Role::Direct(0));
    let target_label = format!("{target_name}  {}", fmt_bn(total));
    let widest_right = p.size(&target_label, &value_style)?.0;
    let node_w = f64::from(th.px(26.0));
    let x_left = f64::from(th.px(50.0) + widest_left + th.px(16.0));
    let x_right = f64::from(th.w - th.px(50.0) - widest_right - th.px(16.0)) - node_w;
    let col = Columns {
        left: x_left,
        mid: (x_left + x_right) / 2.0,
        right: x_right,
        node_w,
    };
    let y_top = f64::from(top + th.px(30.0));
    let y_bottom = f64::from(p.bottom - th.px(30.0));
    let gap = f64::from(th.px(26.0));
    let n_max = left.len().max(middle.len()).max(1);
    let scale = ((y_bottom - y_top) - gap * (n_max - 1) as f64).max(10.0) / total;
    let centre = |h: f64| y_top + ((y_bottom - y_top) - h).max(0.0) / 2.0;
    let lh = column_height(&left, gap, scale);
    stack(&mut left, centre(lh), gap, scale);
    let mh = column_height(&middle, gap, scale);
    stack(&mut middle, centre(mh), gap, scale);
    let right_y0 = centre(total * scale);
    // Bands origin -> route: at each origin in route order, at each route in origin order.
    let mut out_y: Vec<f64> = left.iter().map(|n| n.y0).collect();
    let mut in_y: Vec<f64> = middle.iter().map(|n| n.y0).collect();
    let routes = c.routes();
    for (li, origin) in c.origins.iter().enumerate() {
        let Some(ln) = left_of[li] else { continue };
        for (r, via) in routes.iter().enumerate() {
            let Some(mn) = middle_of[r] else { continue };
            let v = c.sum(|fl| fl.origin == li && fl.via == *via);
            if v <= 0.0 {
                continue;
            }
            let h = v * scale;
            let (y_out, y_in) = (out_y[ln], in_y[mn]);
            let poly = band(
                col.left + node_w,
                (y_out, y_out + h),
                col.mid,
                (y_in, y_in + h),
            );
            p.draw(&Polygon::new(poly, origin.1.colour().mix(0.45).filled()))?;
            out_y[ln] += h;
            in_y[mn] += h;
        }
    }
    let mut y_r = right_y0;
    for n in &middle {
        let h = n.y1 - n.y0;
        let poly = band(col.mid + node_w, (n.y0, n.y1), col.right, (y_r, y_r + h));
        p.draw(&Polygon::new(poly, n.colour.mix(0.40).filled()))?;
        y_r += h;
    }
    let mut target = Node::new(target_name, total, DARK_GREY);
    (target.y0, target.y1) = (right_y0, right_y0 + total * scale);
    for n in &left {
        n.draw(&p, col.left, node_w)?;
    }
    for n in &middle {
        n.draw(&p, col.mid, node_w)?;
    }
    target.draw(&p, col.right, node_w)?;
    draw_labels(&p, &col, &left, &middle, &target)
}

/// Node labels, spread apart where nodes are thin, with a leader line where a label had
/// to move; the column headings above.
fn draw_labels<DB: DrawingBackend>(
    p: &Page<DB>,
    col: &Columns,
    left: &[Node],
    middle: &[Node],
    target: &Node,
) -> Result<(), PlotError> {
    let (th, top, node_w) = (&p.th, p.top, col.node_w);
    let value_style = th.bold(22.0, TEXT);
    let line_gap = p.size("Xg", &th.text(22.0, TEXT))?.1 + th.px(8.0);
    let (lo, hi) = (top + th.px(10.0), p.bottom - th.px(10.0));
    let place = |nodes: &[Node]| -> Vec<i32> {
        let wish: Vec<i32> = nodes
            .iter()
            .map(|n| ((n.y0 + n.y1) / 2.0).round() as i32)
            .collect();
        spread(&wish, line_gap, lo, hi)
    };
    let leader_style = ShapeStyle::from(&MUTED).stroke_width(th.px(1.5) as u32);
    for (n, &y) in left.iter().zip(&place(left)) {
        let x = (col.left - f64::from(th.px(12.0))) as i32;
        p.text(&n.label(), (x, y), &value_style, RIGHT)?;
        if !n.beside(y) {
            let line = vec![
                (x + th.px(4.0), y),
                (col.left as i32 - th.px(2.0), n.centre()),
            ];
            p.draw(&PathElement::new(line, leader_style))?;
        }
    }
    for (n, &y) in middle.iter().zip(&place(middle)) {
        let x = (col.mid + node_w + f64::from(th.px(10.0))) as i32;
        let label = n.label();
        let (w, h) = p.size(&label, &value_style)?;
        let back = [
            (x - th.px(4.0), y - h / 2 - th.px(4.0)),
            (x + w + th.px(6.0), y + h / 2 + th.px(4.0)),
        ];
        p.draw(&Rectangle::new(back, WHITE.mix(0.85).filled()))?;
        p.text(&label, (x, y), &value_style, LEFT)?;
        if !n.beside(y) {
            let line = vec![((col.mid + node_w) as i32, n.centre()), (x - th.px(4.0), y)];
            p.draw(&PathElement::new(line, leader_style))?;
        }
    }
    let x = (col.right + node_w) as i32 + th.px(12.0);
    p.text(&target.label(), (x, target.centre()), &value_style, LEFT)?;
    // Column headings.
    let hs = th.text(20.0, MUTED);
    let hy = top + th.px(20.0);
    for (heading, x) in [
        ("origin", col.left),
        ("route", col.mid),
        ("final buyer", col.right),
    ] {
        p.text(heading, ((x + node_w / 2.0) as i32, hy), &hs, BOTTOM)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn route_wording_and_columns() {
        let c = RouteDiagram {
            target: "RUS".into(),
            year: 2030,
            origins: vec![
                ("CHN".into(), Role::Direct(0)),
                ("EU".into(), Role::Direct(1)),
            ],
            hubs: vec![("KGZ".into(), Role::Via(0))],
            flows: vec![
                RouteFlow {
                    origin: 0,
                    via: None,
                    value: 30.0,
                },
                RouteFlow {
                    origin: 0,
                    via: Some(0),
                    value: 10.0,
                },
                RouteFlow {
                    origin: 1,
                    via: Some(0),
                    value: 0.0,
                },
            ],
            note: "n".into(),
        };
        let w = c.words();
        assert_eq!(w.title, "Routes of goods into Russia, 2030");
        assert!(c.named());
        assert!(w
            .subtitle
            .ends_with("Through intermediaries: 10.0 of 40.0 (25.0%)."));
        let (origins, of) = c.origin_nodes();
        assert_eq!(origins.len(), 1);
        assert_eq!(of, vec![Some(0), None]);
        let (routes, _) = c.route_nodes();
        assert_eq!(
            routes.iter().map(|n| n.label()).collect::<Vec<_>>(),
            ["direct  30.0", "via Kyrgyzstan  10.0"]
        );
        assert_eq!(origins[0].label(), "China  40.0");
        // A name too long for a node turns every node to its code, listed in the footnote.
        let mut long = c.clone();
        long.origins[1].0 = "a very long economy name".into();
        assert!(!long.named());
        assert!(
            long.words().note.starts_with("Codes: CHN China, "),
            "{}",
            long.words().note
        );
    }
}
