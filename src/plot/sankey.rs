//! A route diagram for one year (Sankey-style): origins on the left, the route in the middle
//! (direct, or through each intermediary), the target on the right; band widths are
//! proportional to value.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};
use serde::Serialize;

use super::flows::Role;
use super::style::{
    anchored, draw_err, fmt_bn, fmt_num, footnote, register_fonts, spread, text, text_size,
    title_block, Theme, DARK_GREY, MUTED,
};
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
    pub hubs: Vec<String>,
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
                    .map_or("direct", String::as_str),
                destination: &self.target,
                value: fl.value,
            })
            .collect();
        csv_of(&rows, "route diagram")
    }

    fn route_name(&self, via: Option<usize>) -> String {
        match via.and_then(|k| self.hubs.get(k)) {
            Some(h) => format!("via {h}"),
            None => "direct".to_owned(),
        }
    }
}

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

/// Draws the route diagram.
pub fn draw_route_diagram<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    c: &RouteDiagram,
) -> Result<(), PlotError> {
    register_fonts()?;
    let th = Theme::of(area);
    let flows: Vec<&RouteFlow> = c
        .flows
        .iter()
        .filter(|fl| fl.value > 0.0 && fl.origin < c.origins.len())
        .collect();
    let total: f64 = flows.iter().map(|fl| fl.value).sum();
    let via_total: f64 = flows
        .iter()
        .filter(|fl| fl.via.is_some())
        .map(|fl| fl.value)
        .sum();
    let subtitle = if total > 0.0 {
        format!(
            "Final-destination values, USD bn; band widths proportional to value. Through intermediaries: {} of {} ({}%).",
            fmt_bn(via_total),
            fmt_bn(total),
            fmt_num(100.0 * via_total / total, 1)
        )
    } else {
        "Final-destination values, USD bn; band widths proportional to value.".to_owned()
    };
    let top = title_block(
        area,
        &th,
        &format!("Routes of goods into {}, {}", c.target, c.year),
        &subtitle,
    )?;
    footnote(area, &th, &c.note)?;
    if total <= 0.0 || !total.is_finite() {
        let s = anchored(&th.axis(), HPos::Center, VPos::Center);
        return text(
            area,
            &format!("No flows into {} in {}", c.target, c.year),
            (th.w / 2, (top + th.h) / 2),
            &s,
        );
    }
    // Columns: origins, routes (direct first, then hubs), target.
    let mut left: Vec<Node> = Vec::new();
    let mut left_of: Vec<Option<usize>> = vec![None; c.origins.len()];
    for (i, (name, role)) in c.origins.iter().enumerate() {
        let v: f64 = flows
            .iter()
            .filter(|fl| fl.origin == i)
            .map(|fl| fl.value)
            .sum();
        if v > 0.0 {
            left_of[i] = Some(left.len());
            left.push(Node {
                name: name.clone(),
                value: v,
                colour: role.colour(),
                y0: 0.0,
                y1: 0.0,
            });
        }
    }
    let routes: Vec<Option<usize>> = std::iter::once(None)
        .chain((0..c.hubs.len()).map(Some))
        .collect();
    let mut middle: Vec<Node> = Vec::new();
    let mut middle_of: Vec<Option<usize>> = vec![None; routes.len()];
    for (r, via) in routes.iter().enumerate() {
        let v: f64 = flows
            .iter()
            .filter(|fl| fl.via == *via)
            .map(|fl| fl.value)
            .sum();
        if v > 0.0 {
            middle_of[r] = Some(middle.len());
            middle.push(Node {
                name: c.route_name(*via),
                value: v,
                colour: match via {
                    Some(k) => Role::Via(*k).colour(),
                    None => DARK_GREY,
                },
                y0: 0.0,
                y1: 0.0,
            });
        }
    }
    let label_style = th.text(22.0, super::style::TEXT);
    let value_style = th.bold(22.0, super::style::TEXT);
    // Room for labels: the widest left label decides where the left column starts.
    let mut widest_left = 0;
    for n in &left {
        widest_left = widest_left.max(
            text_size(
                area,
                &format!("{}  {}", n.name, fmt_bn(n.value)),
                &value_style,
            )?
            .0,
        );
    }
    let target_label = format!("{}  {}", c.target, fmt_bn(total));
    let widest_right = text_size(area, &target_label, &value_style)?.0;
    let node_w = f64::from(th.px(26.0));
    let x_left = f64::from(th.px(50.0) + widest_left + th.px(16.0));
    let x_right = f64::from(th.w - th.px(50.0) - widest_right - th.px(16.0)) - node_w;
    let x_mid = (x_left + x_right) / 2.0;
    let y_top = f64::from(top + th.px(30.0));
    let y_bottom = f64::from(th.h - th.px(80.0));
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
    let mut bands = Vec::new();
    for (li, origin) in c.origins.iter().enumerate() {
        let Some(ln) = left_of[li] else { continue };
        for (r, via) in routes.iter().enumerate() {
            let Some(mn) = middle_of[r] else { continue };
            let v: f64 = flows
                .iter()
                .filter(|fl| fl.origin == li && fl.via == *via)
                .map(|fl| fl.value)
                .sum();
            if v <= 0.0 {
                continue;
            }
            let h = v * scale;
            bands.push((ln, mn, out_y[ln], h, origin.1.colour()));
            out_y[ln] += h;
        }
    }
    // Incoming order at each route node follows the origins' order (already so), so take
    // the positions in that order.
    let mut placed = Vec::new();
    for (ln, mn, y_out, h, colour) in bands {
        let y_in = in_y[mn];
        in_y[mn] += h;
        placed.push((ln, mn, y_out, y_in, h, colour));
    }
    for (_, _, y_out, y_in, h, colour) in &placed {
        let poly = band(
            x_left + node_w,
            (*y_out, y_out + h),
            x_mid,
            (*y_in, y_in + h),
        );
        area.draw(&Polygon::new(poly, colour.mix(0.45).filled()))
            .map_err(draw_err)?;
    }
    let mut y_r = right_y0;
    for n in &middle {
        let h = n.y1 - n.y0;
        let poly = band(x_mid + node_w, (n.y0, n.y1), x_right, (y_r, y_r + h));
        area.draw(&Polygon::new(poly, n.colour.mix(0.40).filled()))
            .map_err(draw_err)?;
        y_r += h;
    }
    // Nodes (at least 2 px tall so that small ones are seen).
    let rect = |x: f64, n: &Node| {
        let y1 = if n.y1 - n.y0 < 2.0 { n.y0 + 2.0 } else { n.y1 };
        Rectangle::new(
            [
                (x.round() as i32, n.y0.round() as i32),
                ((x + node_w).round() as i32, y1.round() as i32),
            ],
            n.colour.filled(),
        )
    };
    for n in &left {
        area.draw(&rect(x_left, n)).map_err(draw_err)?;
    }
    for n in &middle {
        area.draw(&rect(x_mid, n)).map_err(draw_err)?;
    }
    let target = Node {
        name: c.target.clone(),
        value: total,
        colour: DARK_GREY,
        y0: right_y0,
        y1: right_y0 + total * scale,
    };
    area.draw(&rect(x_right, &target)).map_err(draw_err)?;
    // Labels, spread apart where nodes are thin; a leader line where a label had to move.
    let line_gap = text_size(area, "Xg", &label_style)?.1 + th.px(8.0);
    let lo = top + th.px(10.0);
    let hi = th.h - th.px(60.0);
    let place = |nodes: &[Node]| -> Vec<i32> {
        let wish: Vec<i32> = nodes
            .iter()
            .map(|n| ((n.y0 + n.y1) / 2.0).round() as i32)
            .collect();
        spread(&wish, line_gap, lo, hi)
    };
    let left_y = place(&left);
    for (n, &y) in left.iter().zip(&left_y) {
        let x = (x_left - f64::from(th.px(12.0))) as i32;
        let s = anchored(&value_style, HPos::Right, VPos::Center);
        text(
            area,
            &format!("{}  {}", n.name, fmt_bn(n.value)),
            (x, y),
            &s,
        )?;
        leader(area, &th, x + th.px(4.0), y, x_left as i32, n)?;
    }
    let mid_y = place(&middle);
    for (n, &y) in middle.iter().zip(&mid_y) {
        let x = (x_mid + node_w + f64::from(th.px(10.0))) as i32;
        let label = format!("{}  {}", n.name, fmt_bn(n.value));
        let (w, h) = text_size(area, &label, &value_style)?;
        area.draw(&Rectangle::new(
            [
                (x - th.px(4.0), y - h / 2 - th.px(4.0)),
                (x + w + th.px(6.0), y + h / 2 + th.px(4.0)),
            ],
            WHITE.mix(0.85).filled(),
        ))
        .map_err(draw_err)?;
        let s = anchored(&value_style, HPos::Left, VPos::Center);
        text(area, &label, (x, y), &s)?;
        let mid_node_right = (x_mid + node_w) as i32;
        if y < n.y0 as i32 - 2 || y > n.y1 as i32 + 2 {
            let ny = ((n.y0 + n.y1) / 2.0) as i32;
            area.draw(&PathElement::new(
                vec![(mid_node_right, ny), (x - th.px(4.0), y)],
                ShapeStyle::from(&MUTED).stroke_width(th.px(1.5) as u32),
            ))
            .map_err(draw_err)?;
        }
    }
    let s = anchored(&value_style, HPos::Left, VPos::Center);
    text(
        area,
        &target_label,
        (
            (x_right + node_w) as i32 + th.px(12.0),
            ((target.y0 + target.y1) / 2.0) as i32,
        ),
        &s,
    )?;
    // Column headings.
    let hs = anchored(&th.text(20.0, MUTED), HPos::Center, VPos::Bottom);
    let hy = top + th.px(20.0);
    text(area, "origin", ((x_left + node_w / 2.0) as i32, hy), &hs)?;
    text(area, "route", ((x_mid + node_w / 2.0) as i32, hy), &hs)?;
    text(
        area,
        "final buyer",
        ((x_right + node_w / 2.0) as i32, hy),
        &hs,
    )?;
    Ok(())
}

/// A thin line from a moved label back to its node.
fn leader<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    th: &Theme,
    x: i32,
    y: i32,
    node_x: i32,
    n: &Node,
) -> Result<(), PlotError> {
    if y >= n.y0 as i32 - 2 && y <= n.y1 as i32 + 2 {
        return Ok(());
    }
    let ny = ((n.y0 + n.y1) / 2.0) as i32;
    area.draw(&PathElement::new(
        vec![(x, y), (node_x - th.px(2.0), ny)],
        ShapeStyle::from(&MUTED).stroke_width(th.px(1.5) as u32),
    ))
    .map_err(draw_err)
}
