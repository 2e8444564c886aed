//! Snapshot tests of every `--help` text and of the result files of a known-answer scenario: a change in what a command says about itself shows
//! up in review as a changed `.snap` file (`cargo insta review`, or `INSTA_UPDATE=always`).

use assert_cmd::Command;

use crate::common::root;

/// `tradeflow ARGS --help` as text.
fn help(args: &[&str]) -> String {
    let out = Command::cargo_bin("tradeflow")
        .unwrap()
        .current_dir(root())
        .args(args)
        .arg("--help")
        .output()
        .unwrap();
    assert!(out.status.success(), "{args:?}");
    String::from_utf8(out.stdout).unwrap()
}

/// Every subcommand (and sub-subcommand) the top-level help lists.
const COMMANDS: &[&[&str]] = &[
    &[],
    &["run"],
    &["gravity"],
    &["compare"],
    &["merge"],
    &["calibrate"],
    &["sweep"],
    &["plot"],
    &["data"],
    &["data", "import"],
    &["data", "import", "baci"],
    &["data", "import", "comtrade"],
    &["data", "report"],
    &["data", "build"],
    &["estimate"],
    &["series"],
];

#[test]
fn every_help_text_is_as_recorded() {
    for args in COMMANDS {
        let name = if args.is_empty() {
            "tradeflow".to_owned()
        } else {
            format!("tradeflow_{}", args.join("_"))
        };
        insta::assert_snapshot!(name, help(args));
    }
}

#[test]
fn every_command_has_a_recorded_help_text() {
    let top = help(&[]);
    let listed: Vec<&str> = top
        .lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|c| *c != "help")
        .collect();
    for c in listed {
        assert!(
            COMMANDS.iter().any(|a| a.first() == Some(&c)),
            "`tradeflow {c}` has no help snapshot: add it to COMMANDS"
        );
    }
}

/// The CSV writers' bytes for a scenario with a closed-form answer: header, column order and
/// number formatting are part of the file format users read.
#[test]
fn result_files_of_the_symmetric_scenario_are_as_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    Command::cargo_bin("tradeflow")
        .unwrap()
        .current_dir(root())
        .args(["run", "scenarios/two_country_symmetric.toml", "-q", "--out"])
        .arg(&out)
        .assert()
        .success();
    for file in ["countries.csv", "bilateral.csv"] {
        let text = std::fs::read_to_string(out.join(file)).unwrap();
        insta::assert_snapshot!(format!("two_country_symmetric_{file}"), text);
    }
    let marker = std::fs::read_to_string(out.join(".tradeflow.json")).unwrap();
    insta::assert_snapshot!("two_country_symmetric_marker", marker);
}
