//! Recordings and activity files of `gangway connect` in a real pseudo-terminal against a
//! spawned emulator, with a HOME of the test's own: the recording is asciicast v2 with the
//! shell's output, 0600 in a 0700 directory, listed by `replay --json` and played back by
//! `replay`; the config's opt-out records nothing; an unwritable directory costs the recording,
//! not the shell; the activity file lives exactly as long as the session.

use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use gangway::local::activity::ActivityEntry;
use gangway::local::asciicast::{CastReader, EventKind};

use crate::support::PATIENCE;
use crate::support::aws_clients::ADMIN;
use crate::support::cli::{TestHome, online_instance};
use crate::support::emulator::{SpawnedEmulator, gangway, spawn};
use crate::support::pty::{PtyConnect, modes};

/// Computed remotely, so the typed command's echo never matches it.
const COMMAND: &[u8] = b"echo recorded-$((40+2))\r";
const OUTPUT: &str = "recorded-42";

fn mode_of(path: &std::path::Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// A spawned emulator of three instances and the id of an online one.
async fn emulator_and_target() -> (SpawnedEmulator, String) {
    let emulator = spawn(&["--instances", "3"]);
    let instance = online_instance(&emulator.endpoint).await;
    let id = instance["id"].as_str().unwrap().to_owned();
    (emulator, id)
}

/// The one activity file in `home`, once it is there.
async fn activity_entry(home: &TestHome) -> ActivityEntry {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let files = TestHome::files(&home.sessions(), ".json");
        if let [file] = files.as_slice()
            && let Ok(text) = std::fs::read(file)
        {
            return serde_json::from_slice(&text).unwrap();
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no activity file: {files:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_is_recorded_listed_and_replayed_and_its_activity_file_lives_with_it() {
    let (emulator, id) = emulator_and_target().await;
    let id = id.as_str();
    let home = TestHome::new();
    let mut session = home.connect(&emulator.endpoint, id);
    session.write(COMMAND).await;
    session.expect(OUTPUT).await;

    // While it runs: the activity file, written by this gangway, about this session.
    let entry = activity_entry(&home).await;
    assert_eq!(entry.pid, session.child.id().unwrap());
    assert_eq!(entry.target, id);
    assert!(entry.session_id.starts_with(&format!("{}-", entry.user)));
    assert!(entry.last_activity_unix_ms >= entry.started_unix_ms);
    let file = home.sessions().join(format!("{}.json", entry.session_id));
    assert_eq!(mode_of(&file), 0o600);
    assert_eq!(mode_of(&home.sessions()), 0o700);
    // Input and output are activity: the file moves on (at most once a second).
    let before = entry.last_activity_unix_ms;
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        session.write(COMMAND).await;
        session.expect(OUTPUT).await;
        if activity_entry(&home).await.last_activity_unix_ms > before {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the activity never moved"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }

    session.write(b"exit\r").await;
    assert_eq!(session.finish().await, 0, "{}", session.text());
    assert!(
        TestHome::files(&home.sessions(), ".json").is_empty(),
        "the activity file outlived the session"
    );

    // The recording: one file, only the user's, asciicast v2 with the shell's output.
    let casts = TestHome::files(&home.recordings(), ".cast");
    assert_eq!(casts.len(), 1, "{casts:?}");
    let cast = &casts[0];
    assert_eq!(mode_of(cast), 0o600);
    assert_eq!(mode_of(&home.recordings()), 0o700);
    assert!(
        cast.file_name()
            .unwrap()
            .to_str()
            .unwrap()
            .ends_with(&format!("-{}.cast", entry.session_id))
    );
    let bytes = std::fs::read(cast).unwrap();
    let (header, mut events) = CastReader::open(bytes.as_slice()).unwrap();
    assert_eq!(header.version, 2);
    assert_eq!((header.width, header.height), (80, 24));
    assert!(header.timestamp.is_some());
    assert_eq!(
        header.env.get("TERM"),
        Some(&Some("xterm-256color".to_owned()))
    );
    let tag = header.gangway.unwrap();
    assert_eq!(
        (tag.session_id.as_str(), tag.target.as_str()),
        (entry.session_id.as_str(), id)
    );
    let mut output = String::new();
    while let Some(event) = events.next_event() {
        let event = event.unwrap();
        if event.kind == EventKind::Output {
            output.push_str(&event.data);
        }
    }
    assert!(output.contains(OUTPUT), "{output:?}");

    // `replay --json` lists it for scripts.
    let listed = gangway()
        .args(["replay", "--json"])
        .envs(home.env())
        .output()
        .unwrap();
    assert!(listed.status.success(), "{listed:?}");
    let listed: Vec<serde_json::Value> = serde_json::from_slice(&listed.stdout).unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["session_id"], entry.session_id.as_str());
    assert_eq!(listed[0]["target"], id);
    assert_eq!(listed[0]["path"], cast.to_str().unwrap());
    assert_eq!(listed[0]["size_bytes"], bytes.len() as u64);
    assert!(listed[0]["duration_secs"].as_f64().unwrap() > 0.0);
    assert!(listed[0]["start"].as_str().unwrap().ends_with('Z'));

    // `replay SESSION-ID` and `replay FILE` show the shell's output on a terminal, and give
    // the terminal back as they found it.
    for what in [entry.session_id.as_str(), cast.to_str().unwrap()] {
        let mut replay = PtyConnect::spawn_command(
            &emulator.endpoint,
            ADMIN,
            "replay",
            &[what],
            &home.env(),
            (24, 80),
        );
        // What the terminal was before replay touched it: a fresh pseudo-terminal's modes
        // (reading the replay's own pty here would race its switch to raw mode).
        let (_fresh, fresh_pts) = pty_process::open().unwrap();
        let before = nix::sys::termios::tcgetattr(&fresh_pts).unwrap();
        replay.expect(OUTPUT).await;
        assert_eq!(replay.finish().await, 0, "{}", replay.text());
        assert_eq!(modes(&replay.termios()), modes(&before));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_config_opt_out_records_nothing() {
    let (emulator, id) = emulator_and_target().await;
    let id = id.as_str();
    let home = TestHome::new();
    home.write_config("[recording]\nenabled = false\n");
    let mut session = home.connect(&emulator.endpoint, id);
    session.write(COMMAND).await;
    session.expect(OUTPUT).await;
    // The activity file is kept all the same.
    activity_entry(&home).await;
    session.write(b"exit\r").await;
    assert_eq!(session.finish().await, 0, "{}", session.text());
    assert!(!session.text().contains("recording"), "{}", session.text());
    assert!(
        !home.recordings().exists(),
        "{:?}",
        TestHome::files(&home.recordings(), "")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unwritable_recording_directory_costs_the_recording_not_the_shell() {
    let (emulator, id) = emulator_and_target().await;
    let id = id.as_str();
    let home = TestHome::new();
    // A file where a directory should be: refused even to root, unlike permission bits.
    let blocker = home.root.join("blocker");
    std::fs::write(&blocker, "").unwrap();
    home.write_config(&format!(
        "[recording]\ndir = \"{}\"\n",
        blocker.join("recordings").display()
    ));
    let mut session = home.connect(&emulator.endpoint, id);
    session.expect("[gangway: recording off:").await;
    session.write(COMMAND).await;
    session.expect(OUTPUT).await;
    session.write(b"exit\r").await;
    assert_eq!(session.finish().await, 0, "{}", session.text());
    assert_eq!(
        session.text().matches("recording off").count(),
        1,
        "warned once"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_activity_file_of_a_killed_gangway_is_cleaned_by_the_next_reader() {
    let (emulator, id) = emulator_and_target().await;
    let id = id.as_str();
    let home = TestHome::new();
    let mut session = home.connect(&emulator.endpoint, id);
    session.write(COMMAND).await;
    session.expect(OUTPUT).await;
    let entry = activity_entry(&home).await;
    // SIGKILL: no destructor runs, the file stays behind.
    session.child.start_kill().unwrap();
    session.child.wait().await.unwrap();
    let file = home.sessions().join(format!("{}.json", entry.session_id));
    assert!(file.exists());
    // A reader (the UI's sessions view, a session starting) sees no live session and cleans up.
    assert_eq!(gangway::local::activity::read_all(&home.sessions()), []);
    assert!(!file.exists());
    // The recording so far is readable, up to its last whole line.
    let casts = TestHome::files(&home.recordings(), ".cast");
    let info = gangway::local::recordings::describe(&casts[0]).unwrap();
    assert_eq!(info.session_id, entry.session_id);
}

/// Where gangway's own end of a TTY session starts in its output: the reset of the screen
/// modes (`shell::ScreenModes`), before its last line.
/// What the session itself wrote: after gangway's own "Starting session with SessionId" line
/// (stderr, not the session's output, so not recorded) and before the trailer.
fn the_session_part(output: &[u8]) -> &[u8] {
    let banner = b"Starting session with SessionId: ";
    let from = output
        .windows(banner.len())
        .position(|w| w == banner)
        .and_then(|at| {
            output[at..]
                .iter()
                .position(|&b| b == b'\n')
                .map(|nl| at + nl + 1)
        })
        .unwrap_or(0);
    before_the_trailer(&output[from..])
}

fn before_the_trailer(output: &[u8]) -> &[u8] {
    let reset = b"\x1b[?1000l\x1b[?1002l";
    let at = output
        .windows(reset.len())
        .rposition(|w| w == reset)
        .expect("the reset at the end");
    &output[..at]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replay_gives_the_terminal_what_the_live_session_gave_it() {
    let (emulator, id) = emulator_and_target().await;
    let id = id.as_str();
    let home = TestHome::new();
    let mut session = home.connect(&emulator.endpoint, id);
    // The prompt first: keys typed before gangway's raw mode would be echoed by the local
    // terminal, which is no output of the session's.
    session.expect("$ ").await;
    // Colours, a full-screen program's alternate screen, cursor moves, wide characters.
    session
        .write(b"printf '\\033[1;31mred\\033[0m \\344\\275\\240\\345\\245\\275\\n'; echo step-$((1+1))\r")
        .await;
    session.expect("step-2").await;
    session
        .write(b"printf '\\033[?1049h\\033[2J\\033[5;5Hfull'; sleep 0.2; printf '\\033[?1049l'; echo step-$((2+1))\r")
        .await;
    session.expect("step-3").await;
    session.write(b"exit\r").await;
    assert_eq!(session.finish().await, 0, "{}", session.text());
    let live = the_session_part(&session.output).to_vec();

    let mut replay = PtyConnect::spawn_command(
        &emulator.endpoint,
        ADMIN,
        "replay",
        &[&TestHome::files(&home.recordings(), ".cast")[0].to_string_lossy()],
        &home.env(),
        (24, 80),
    );
    replay.expect("step-3").await;
    assert_eq!(replay.finish().await, 0, "{}", replay.text());
    let replayed = before_the_trailer(&replay.output).to_vec();
    assert_eq!(
        String::from_utf8_lossy(&replayed),
        String::from_utf8_lossy(&live),
        "the replay wrote other bytes than the session"
    );
    // And so the same screen.
    let screen = |bytes: &[u8]| {
        let size = |n: u16| std::num::NonZeroU16::new(n).unwrap();
        let mut parser = vt100::Parser::new(size(24), size(80), 0);
        parser.process(bytes);
        parser.screen().contents_formatted()
    };
    assert_eq!(screen(&replayed), screen(&live));
    assert!(String::from_utf8_lossy(&live).contains("你好"));
}
