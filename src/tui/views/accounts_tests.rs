//! The fleet across accounts (issue 13) as insta snapshots at 120x40 and 80x24: the ACCOUNT
//! column beside the name, the REGION column, and the banner naming the account × region
//! whose role could not be assumed while the others' rows stay.
#![allow(clippy::unwrap_used)]

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use unicode_width::UnicodeWidthStr;

use crate::aws::AccountSpec;
use crate::tui::fixtures;
use crate::tui::keymap::Keymap;
use crate::tui::model::{ErrorKind, LoadError, Model, Settings};
use crate::tui::msg::Msg;
use crate::tui::update::{init, update};

fn accounts_model() -> Model {
    let settings = Settings {
        identity: Some("dev".into()),
        accounts: ["main", "ops"]
            .map(|name| AccountSpec {
                name: Some(name.into()),
                ..AccountSpec::default()
            })
            .to_vec(),
        ..Settings::default()
    };
    let locations = [
        "main/us-east-1",
        "main/eu-west-1",
        "ops/us-east-1",
        "ops/eu-west-1",
    ];
    let mut m = Model::new(
        fixtures::now(),
        locations.map(str::to_owned).to_vec(),
        Keymap::defaults(false),
        settings,
    );
    init(&mut m);
    let placed = |account: &str, id: &str, region: &str, take: std::ops::Range<usize>| {
        fixtures::demo_instances()[take]
            .iter()
            .cloned()
            .map(|mut i| {
                i.account = Some(account.into());
                i.account_id = Some(id.into());
                i.region = region.into();
                i
            })
            .collect::<Vec<_>>()
    };
    let answers = [
        (
            "main/us-east-1",
            Ok(placed("main", "123456789012", "us-east-1", 0..4)),
        ),
        (
            "main/eu-west-1",
            Ok(placed("main", "123456789012", "eu-west-1", 4..6)),
        ),
        (
            "ops/us-east-1",
            Err(LoadError {
                kind: ErrorKind::Credentials,
                message: "AWS refused the credentials: User: arn:aws:iam::123456789012:user/dev \
                          is not authorized to perform: sts:AssumeRole on resource: \
                          arn:aws:iam::210987654321:role/ops"
                    .into(),
                hint: Some("check role_arn and source_profile of account `ops`".into()),
            }),
        ),
        (
            "ops/eu-west-1",
            Ok(placed("ops", "210987654321", "eu-west-1", 6..9)),
        ),
    ];
    for (location, result) in answers {
        update(
            &mut m,
            Msg::FleetLoaded {
                region: location.into(),
                result,
            },
        );
    }
    m
}

fn text(model: &mut Model, width: u16, height: u16) -> String {
    update(model, Msg::Resize(width, height));
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|frame| super::draw(frame, model)).unwrap();
    let buffer = terminal.backend().buffer().clone();
    let mut out = String::new();
    for y in 0..buffer.area.height {
        let mut line = String::new();
        let mut x = 0;
        while x < buffer.area.width {
            let symbol = buffer[(x, y)].symbol();
            line.push_str(symbol);
            x += u16::try_from(symbol.width().max(1)).unwrap();
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[test]
fn the_fleet_across_accounts_at_120x40_and_80x24() {
    let mut m = accounts_model();
    for (w, h) in [(120, 40), (80, 24)] {
        let screen = text(&mut m, w, h);
        assert!(screen.contains("ACCOUNT"), "{screen}");
        assert!(screen.contains("fleet of ops/us-east-1"), "{screen}");
        insta::assert_snapshot!(format!("fleet_accounts_{w}x{h}"), screen);
    }
}

#[test]
fn the_filter_finds_an_account_by_name_and_by_id_and_a_success_clears_only_its_banner() {
    let mut m = accounts_model();
    m.fleet.set_filter("ops".into());
    assert_eq!(m.fleet.shown, 3);
    m.fleet.set_filter("123456789012".into());
    assert_eq!(m.fleet.shown, 6);
    m.fleet.set_filter(String::new());
    // Another location's success keeps the failed one in the banner.
    update(
        &mut m,
        Msg::FleetLoaded {
            region: "main/us-east-1".into(),
            result: Ok(Vec::new()),
        },
    );
    assert!(m.banner.as_ref().unwrap().message.contains("ops/us-east-1"));
    update(
        &mut m,
        Msg::FleetLoaded {
            region: "ops/us-east-1".into(),
            result: Ok(Vec::new()),
        },
    );
    assert!(m.banner.is_none());
}
