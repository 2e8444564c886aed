//! Charts of many hubs and of what a comparison compared: a run with eight intermediaries
//! groups all but the five largest into "other hubs" on every route chart (values added up,
//! members named); `compare` writes the scenarios and their instruments, and the comparison
//! charts take their descriptions and policy years from them (inferring the years only for
//! folders without them); the panel's figures are matched with the model's recorded flows,
//! converted through the rates table.

use std::path::{Path, PathBuf};

use tradeflow::data::panel::{Panel, Rates};
use tradeflow::plot::{
    compare_charts, observed_points, render_svg, year_run_charts, Chart, CompareOptions, Folder,
    Role, RunOptions, SIZE,
};
use tradeflow::scenario::Scenario;
use tradeflow::simulate::RecordedTotalRow;

const HUBS: [&str; 8] = ["H8", "H6", "H4", "H2", "H1", "H3", "H5", "H7"];

/// A yearly scenario of 12 economies with eight hubs (listed out of order), inline flows,
/// and `instruments` appended.
fn many_hubs(dir: &Path, name: &str, description: &str, instruments: &str) -> PathBuf {
    let mut ecos = vec!["ORA", "ORB", "TGT"];
    ecos.extend(["H1", "H2", "H3", "H4", "H5", "H6", "H7", "H8"]);
    ecos.push("OTH");
    let mut flows = String::new();
    for e in &ecos {
        for i in &ecos {
            let v = if e == i {
                200.0
            } else if *i == "TGT" && e.starts_with('H') {
                1.0 + 0.5 * f64::from(e[1..].parse::<u8>().unwrap())
            } else if *i == "TGT" {
                20.0
            } else if e.starts_with("OR") && i.starts_with('H') {
                3.0
            } else {
                1.0
            };
            flows.push_str(&format!(
                "    {{ exporter = \"{e}\", importer = \"{i}\", value = {v:.1} }},\n"
            ));
        }
    }
    let list = |v: &[&str]| {
        v.iter()
            .map(|c| format!("\"{c}\""))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let text = format!(
        r#"name = "{name}"
description = "{description}"
reference_importer = "OTH"
sigma = 5.0
economies = [{}]

[years]
base = 2022
horizon = 2025
adjustment = 1.0

[data]
unit = "USD bn"
flows = [
{flows}]

[costs]
method = "observed"

[routes]
form = "detour"
theta = 4.0
target = "TGT"
intermediaries = [{}]
premium = 3.0
recorded_share = {{ H1 = 0.25, H2 = 0.5, H3 = 0.5, H4 = 1.0, H5 = 0.5, H6 = 0.5, H7 = 0.25, H8 = 1.0 }}

[[instruments]]
id = "controls"
kind = "export_controls"
label = "Controls on ORA->TGT"
start = 2023
exporters = ["ORA"]
importers = ["TGT"]
percent = 80
{instruments}"#,
        list(&ecos),
        list(&HUBS)
    );
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(&path, text).unwrap();
    path
}

fn run_folder(path: &Path) -> Folder {
    let s = Scenario::from_file(path).unwrap();
    let r = tradeflow::simulate::run_years(&s).unwrap();
    let bytes = tradeflow::output::year_run_files(&s, &r).unwrap();
    Folder::from_files(Path::new("out"), &bytes)
}

#[test]
fn route_charts_show_the_five_largest_hubs_and_group_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let folder = run_folder(&many_hubs(dir.path(), "many_hubs", "Eight hubs", ""));
    let charts = year_run_charts(&folder, &RunOptions::default()).unwrap();
    let stack = charts
        .iter()
        .find_map(|c| match c {
            Chart::FlowsByRoute(s) => Some(s),
            _ => None,
        })
        .unwrap();
    let vias: Vec<&str> = stack
        .bands
        .iter()
        .filter(|b| matches!(b.role, Role::Via(_) | Role::OtherHubs))
        .map(|b| b.name.as_str())
        .collect();
    // Ranked by the run's own re-exports (H1 carries most here), not the listed order.
    assert_eq!(
        vias,
        [
            "via H1 (re-exports)",
            "via H2 (re-exports)",
            "via H3 (re-exports)",
            "via H4 (re-exports)",
            "via H5 (re-exports)",
            "via 3 other hubs (re-exports)"
        ]
    );
    assert!(
        stack.note.contains("3 other hubs: H6, H7, H8."),
        "{}",
        stack.note
    );
    // The group is the sum of its members, year by year, as routes_total.csv has them.
    let routes: Vec<tradeflow::simulate::RouteTotalRow> = {
        let dir = tempfile::tempdir().unwrap();
        let s = Scenario::from_file(&many_hubs(dir.path(), "again", "Eight hubs", "")).unwrap();
        let r = tradeflow::simulate::run_years(&s).unwrap();
        let bytes = tradeflow::output::year_run_files(&s, &r).unwrap();
        let (_, b) = bytes
            .iter()
            .find(|(n, _)| *n == "routes_total.csv")
            .unwrap();
        csv::Reader::from_reader(b.as_slice())
            .deserialize()
            .map(Result::unwrap)
            .collect()
    };
    let group = stack
        .bands
        .iter()
        .find(|b| b.role == Role::OtherHubs)
        .unwrap();
    for (i, year) in stack.years.iter().enumerate() {
        let sum: f64 = routes
            .iter()
            .filter(|r| r.year == *year && ["H6", "H7", "H8"].contains(&r.via.as_str()))
            .map(|r| r.value)
            .sum();
        assert!(
            (group.values[i] - sum).abs() < 1e-9 * sum.max(1.0),
            "{year}"
        );
    }
    let re = charts
        .iter()
        .find_map(|c| match c {
            Chart::Reexports(r) => Some(r),
            _ => None,
        })
        .unwrap();
    assert_eq!(re.hubs.len(), 6);
    let g = &re.hubs[5];
    assert!(g.grouped && g.hub == "3 other hubs");
    let members: Vec<&str> = g.shares.iter().map(|(h, _)| h.as_str()).collect();
    assert_eq!(members, ["H6", "H7", "H8"]);
    // What the group's customs record: each member's share of its own re-exports.
    assert!(g
        .recorded
        .iter()
        .zip(&g.final_destination)
        .all(|(r, f)| r < f && *r > 0.25 * f));
    assert!(re.note.contains("3 other hubs: H6, H7, H8."), "{}", re.note);
    let diagram = charts
        .iter()
        .find_map(|c| match c {
            Chart::RouteDiagram(d) => Some(d),
            _ => None,
        })
        .unwrap();
    let nodes: Vec<(&str, Role)> = diagram.hubs.iter().map(|(h, r)| (h.as_str(), *r)).collect();
    assert_eq!(nodes.len(), 6);
    assert_eq!(nodes[5], ("3 other hubs", Role::OtherHubs));
    let through_group: f64 = diagram
        .flows
        .iter()
        .filter(|f| f.via == Some(5))
        .map(|f| f.value)
        .sum();
    let last = *stack.years.last().unwrap();
    let i = stack.years.iter().position(|y| *y == last).unwrap();
    assert!((through_group - group.values[i]).abs() < 1e-9 * through_group.max(1.0));
    // Every chart draws, and the group is named on each.
    for c in &charts[..3] {
        let svg = render_svg(c, SIZE).unwrap();
        assert!(svg.contains("3 other hubs"), "{}", c.stem());
        assert!(
            !svg.contains("via H7"),
            "{}: a grouped hub drawn on its own",
            c.stem()
        );
    }
}

fn table(bytes: &[u8]) -> Vec<csv::StringRecord> {
    csv::Reader::from_reader(bytes)
        .records()
        .map(Result::unwrap)
        .collect()
}

#[test]
fn compare_writes_what_it_compared_and_its_charts_use_it() {
    let dir = tempfile::tempdir().unwrap();
    let a = many_hubs(dir.path(), "controls_only", "Controls on ORA from 2023", "");
    let extra = r#"
[[instruments]]
id = "more"
kind = "export_controls"
label = "Controls on ORB->TGT, 2024 only"
start = 2024
end = 2025
exporters = ["ORB"]
importers = ["TGT"]
percent = 50
"#;
    let b = many_hubs(
        dir.path(),
        "more_controls",
        "Controls on ORA from 2023; on ORB in 2024",
        extra,
    );
    let scenarios = vec![
        Scenario::from_file(&b).unwrap(),
        Scenario::from_file(&a).unwrap(),
    ];
    let cmp = tradeflow::compare::compare(&scenarios, None).unwrap();
    assert_eq!(cmp.reference, "controls_only");
    let files = cmp.files().unwrap();
    let get = |n: &str| files.iter().find(|(f, _)| *f == n).unwrap().1.clone();
    let about = table(&get("scenarios.csv"));
    let header = csv::Reader::from_reader(get("scenarios.csv").as_slice())
        .headers()
        .unwrap()
        .clone();
    use tradeflow::output::columns::{columns_of, COMPARE_FILES};
    assert_eq!(
        header.iter().collect::<Vec<_>>(),
        columns_of(COMPARE_FILES, "scenarios.csv").unwrap()
    );
    assert_eq!(about.len(), 2);
    assert_eq!(&about[0][0], "more_controls");
    assert_eq!(&about[0][1], "Controls on ORA from 2023; on ORB in 2024");
    assert_eq!((&about[0][2], &about[1][2]), ("false", "true"));
    assert_eq!(
        (&about[0][4], &about[0][5], &about[0][6]),
        ("2022", "2025", "2")
    );
    let instruments = table(&get("scenario_instruments.csv"));
    let header = csv::Reader::from_reader(get("scenario_instruments.csv").as_slice())
        .headers()
        .unwrap()
        .clone();
    assert_eq!(
        header.iter().collect::<Vec<_>>(),
        columns_of(COMPARE_FILES, "scenario_instruments.csv").unwrap()
    );
    let rows: Vec<Vec<&str>> = instruments.iter().map(|r| r.iter().collect()).collect();
    assert_eq!(
        rows,
        [
            vec![
                "more_controls",
                "controls",
                "wedge",
                "Controls on ORA->TGT",
                "2023",
                "",
                "true",
                "true"
            ],
            vec![
                "more_controls",
                "more",
                "wedge",
                "Controls on ORB->TGT, 2024 only",
                "2024",
                "2025",
                "true",
                "false"
            ],
            vec![
                "controls_only",
                "controls",
                "wedge",
                "Controls on ORA->TGT",
                "2023",
                "",
                "true",
                "true"
            ],
        ]
    );
    // The charts: descriptions in the legend, policy years where the reference lacks an
    // instrument (2024 starts, 2025 ends), none for the shared 2023 controls.
    let named: Vec<(&str, Vec<u8>)> = files.iter().map(|(n, b)| (*n, b.clone())).collect();
    let folder = Folder::from_files(Path::new("cmp"), &named);
    let charts = compare_charts(&folder, &CompareOptions::default()).unwrap();
    let Some(Chart::ScenarioLines(lines)) = charts.first() else {
        panic!(
            "no lines: {:?}",
            charts.iter().map(Chart::stem).collect::<Vec<_>>()
        );
    };
    assert!(!lines.policy_inferred);
    let years: Vec<(i32, &str)> = lines
        .policy_years
        .iter()
        .map(|p| (p.year, p.what.as_str()))
        .collect();
    assert_eq!(
        years,
        [
            (2024, "Controls on ORB->TGT, 2024 only"),
            (2025, "End: Controls on ORB->TGT, 2024 only")
        ]
    );
    assert_eq!(
        lines.labels,
        [
            "Controls on ORA from 2023; on ORB in 2024",
            "Controls on ORA from 2023"
        ]
    );
    let svg = render_svg(&charts[0], SIZE).unwrap();
    assert!(svg.contains("Controls on ORA from 2023; on ORB in 2024 (more_controls)"));
    assert!(
        svg.contains("2024: Controls on"),
        "the policy year in the legend"
    );
    // A folder written before scenarios.csv: the years are inferred, and the chart says so.
    let old: Vec<(&str, Vec<u8>)> = named
        .iter()
        .filter(|(n, _)| !n.starts_with("scenario"))
        .cloned()
        .collect();
    let folder = Folder::from_files(Path::new("cmp"), &old);
    let charts = compare_charts(&folder, &CompareOptions::default()).unwrap();
    let Some(Chart::ScenarioLines(lines)) = charts.first() else {
        panic!("no lines");
    };
    assert!(lines.policy_inferred);
    assert!(lines
        .labels
        .iter()
        .all(|l| l == "more_controls" || l == "controls_only"));
    assert_eq!(lines.policy_years.first().map(|p| p.year), Some(2024));
}

const PANEL_HEADER: &str =
    "year,exporter,importer,reporter,flow,product,value,unit,source,kind,note\n";

#[test]
fn panel_figures_meet_the_model_in_its_unit() {
    let dir = tempfile::tempdir().unwrap();
    let panel = dir.path().join("panel.csv");
    std::fs::write(
        &panel,
        format!(
            "{PANEL_HEADER}\
             2023,ORA,TGT,ORA,export,total,2.0,EUR bn,stat office A,reported,\n\
             2023,ORA,TGT,TGT,import,total,1500,USD million,stat office T,reported,\n\
             2023,H1,TGT,H1,export,total,0.5,JPY bn,stat office H,reported,\n\
             2023,ORA,WLD,ORA,export,total,9,USD bn,stat office A,reported,total\n\
             2023,ORA,ORB,ORA,export,total,9,USD bn,stat office A,reported,not a link shown\n\
             2023,XXX,TGT,TGT,import,total,1,USD bn,stat office T,reported,\n\
             2019,ORA,TGT,ORA,export,total,1,USD bn,stat office A,reported,before the run\n\
             2023,H1,TGT,H1,re-export,total,0.2,USD bn,stat office H,reported,\n"
        ),
    )
    .unwrap();
    let rates_path = dir.path().join("rates.csv");
    std::fs::write(
        &rates_path,
        "year,currency,per_usd,source\n2023,EUR,0.8,test rate\n",
    )
    .unwrap();
    let panel = Panel::read(&panel).unwrap();
    let rates = Rates::read(&rates_path).unwrap();
    let rec = |e: &str, i: &str, r: &str, v: f64| RecordedTotalRow {
        year: 2023,
        exporter: e.into(),
        importer: i.into(),
        reporter: r.into(),
        recorded: v,
    };
    let recorded = vec![
        rec("ORA", "TGT", "ORA", 3.0),
        rec("ORA", "TGT", "TGT", 1.2),
        rec("H1", "TGT", "H1", 0.4),
    ];
    let economies: Vec<String> = ["ORA", "ORB", "TGT", "H1"].map(String::from).to_vec();
    let hubs = vec!["H1".to_owned()];
    let (points, left_out) = observed_points(
        &panel,
        &rates,
        "USD bn",
        ("TGT", &hubs),
        &[2022, 2023, 2024],
        &economies,
        &recorded,
    )
    .unwrap();
    let got: Vec<(&str, &str, f64, f64)> = points
        .iter()
        .map(|p| {
            (
                p.exporter.as_str(),
                p.reporter.as_str(),
                p.observed,
                p.modelled,
            )
        })
        .collect();
    // EUR 2.0 bn at 0.8 EUR per USD is USD 2.5 bn; USD 1500 million is 1.5 bn.
    assert_eq!(got.len(), 2, "{got:?}");
    assert!((got[0].2 - 2.5).abs() < 1e-12 && got[0].3 == 3.0 && got[0].1 == "ORA");
    assert!((got[1].2 - 1.5).abs() < 1e-12 && got[1].3 == 1.2 && got[1].1 == "TGT");
    assert!(points[1].panel_line == 3 && points[1].source == "stat office T");
    assert_eq!(
        left_out,
        [
            "1 figures in JPY (no exchange rate: name the table the world was built with in `[data] rates`)",
            "figures of XXX (not economies of the run)"
        ]
    );
    // Without rates, the EUR figure is left out as well, and said so.
    let (points, left_out) = observed_points(
        &panel,
        &Rates::none(),
        "USD bn",
        ("TGT", &hubs),
        &[2023],
        &economies,
        &recorded,
    )
    .unwrap();
    assert_eq!(points.len(), 1);
    assert!(
        left_out[0].starts_with("2 figures in EUR, JPY"),
        "{left_out:?}"
    );
    // A unit that is not a currency cannot take the panel's figures.
    let e = observed_points(
        &panel,
        &rates,
        "data unit",
        ("TGT", &hubs),
        &[2023],
        &economies,
        &recorded,
    )
    .unwrap_err();
    assert!(e.contains("unit"), "{e}");
}

#[test]
fn rates_go_with_a_built_world_and_its_panel() {
    let text = r#"name = "r"
description = "rates without a world"
reference_importer = "A"
sigma = 5.0
economies = ["A", "B"]
[data]
rates = "rates.csv"
flows = [
    { exporter = "A", importer = "A", value = 10.0 },
    { exporter = "A", importer = "B", value = 1.0 },
    { exporter = "B", importer = "A", value = 1.0 },
    { exporter = "B", importer = "B", value = 10.0 },
]
[costs]
method = "observed"
"#;
    let e = Scenario::from_toml_str(text, Path::new("r.toml"), Path::new("."))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("data.rates") && e.contains("goes with `world`"),
        "{e}"
    );
}
