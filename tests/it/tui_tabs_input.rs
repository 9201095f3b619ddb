//! What reaches the program in a shell tab besides keys (issue 13), end to end in a real
//! pseudo-terminal running `gangway demo`: mouse reports only when the remote program asked
//! for them, in the pane's own coordinates (a pane's origin is not the screen's); pastes
//! wrapped in bracketed-paste markers only when the remote program turned them on; and the
//! pane's scrollback paged through with the prefix key and back to the live screen. The
//! remote side reads its raw input with `stty raw -echo; head -c N` and prints it through
//! `cat -v`, so the test sees exactly the bytes the remote program received.
use crate::tui_demo::{Screen, fresh_home};
use crate::tui_tabs::{FLEET, PREFIX, open_from_fleet};

/// A fleet whose idle timeout does not end the session during the test.
fn start(test: &str) -> Screen {
    let home = fresh_home(test);
    let fleet = home.join("fleet.toml");
    std::fs::write(&fleet, FLEET.replace("minutes = 1", "minutes = 20")).unwrap();
    Screen::spawn(&home, &["demo", "--fleet", fleet.to_str().unwrap()])
}

/// A command that reads `count` raw bytes (after printing `READY`, so the test knows the
/// terminal is raw), then prints them as `got{tag}:` and their `cat -v` form. `before` runs
/// first (a mode switch); the words are split so the echoed command line never matches.
fn read_raw(tag: &str, before: &str, count: usize) -> String {
    format!(
        "{before}stty raw -echo; printf 'READ%s\\n' Y; r=$(head -c {count}); stty sane; printf 'got%s:' {tag}; printf '%s\\n' \"$r\" | cat -v\r"
    )
}

/// SGR mouse press of the left button at (column, row) of the screen, from 0, as a terminal
/// reports it when asked (`ESC [ < 0 ; x ; y M`, 1-based).
fn sgr_click(column: u16, row: u16) -> String {
    format!("\x1b[<0;{};{}M", column + 1, row + 1)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mouse_reports_reach_the_remote_only_when_asked_in_the_panes_coordinates() {
    let mut screen = start("tabs-mouse");
    screen.wait_for("tab-two").await;
    open_from_fleet(&mut screen, "tab-one", "tab-two").await;
    // Two panes: the focused one, the new one, is on the right, so its origin is not the
    // screen's.
    screen.keys(&format!("{PREFIX}s")).await;
    screen
        .wait_until("two panes with a prompt each", |s| {
            s.contains("(pane 2/2)") && s.matches("ssm-user@tab-one$").count() >= 2
        })
        .await;

    // Not asked: a click does not reach the program; the next key is the first byte it reads.
    screen.keys(&read_raw("1", "", 1)).await;
    screen.wait_for("READY").await;
    let (column, row) = screen.position_of("READY").unwrap();
    assert!(
        column > 0,
        "the focused pane is the right one:\n{}",
        screen.text()
    );
    screen.keys(&sgr_click(column + 2, row)).await;
    screen.keys("z").await;
    screen.wait_for("got1:z").await;

    // Asked for (press/release reports, SGR encoding): the pane's top left is where the
    // screen is cleared to, marked ORIGIN.
    let enable = "printf '\\033[H\\033[2J\\033[?1000h\\033[?1006h'; printf 'ORIG%s\\n' IN; ";
    screen.keys(&read_raw("2", enable, 9)).await;
    screen
        .wait_until_screen("the remote's mouse mode on gangway's own terminal", |s| {
            // The first READY is gone with the clear: both words are the second read's.
            let text = s.contents();
            text.contains("ORIGIN")
                && text.contains("READY")
                && s.mouse_protocol_mode() != vt100::MouseProtocolMode::None
        })
        .await;
    let (x, y) = screen.position_of("ORIGIN").unwrap();
    assert!(
        x > 0,
        "a pane's origin is not the screen's:\n{}",
        screen.text()
    );
    // A click in the other pane and one on the status line are not this program's.
    screen.keys(&sgr_click(3, y + 2)).await;
    screen.keys(&sgr_click(x + 4, 34)).await;
    // Column 4, row 2 of the pane: reported as 5;3.
    screen.keys(&sgr_click(x + 4, y + 2)).await;
    screen.wait_for("got2:^[[<0;5;3M").await;
    // The program stops asking: so does gangway of its own terminal.
    screen.keys("printf '\\033[?1000l\\033[?1006l'\r").await;
    screen
        .wait_until_screen("gangway's terminal without mouse reports", |s| {
            s.mouse_protocol_mode() == vt100::MouseProtocolMode::None
        })
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paste_is_bracketed_only_when_the_remote_turned_bracketed_paste_on() {
    let mut screen = start("tabs-paste");
    screen.wait_for("tab-two").await;
    open_from_fleet(&mut screen, "tab-one", "tab-two").await;
    // gangway asked its own terminal for bracketed paste, so a paste arrives as one event.
    screen
        .wait_until_screen("bracketed paste on gangway's terminal", |s| {
            s.bracketed_paste()
        })
        .await;
    let paste = "\x1b[200~one\ntwo\x1b[201~";

    // Off: the text as typed (line ends as CR), no markers.
    screen
        .keys(&read_raw("1", "printf '\\033[?2004l'; ", 7))
        .await;
    screen.wait_for("READY").await;
    screen.keys(paste).await;
    screen.wait_for("got1:one^Mtwo").await;

    // On: the same paste between ESC [ 200 ~ and ESC [ 201 ~.
    screen
        .keys(&read_raw("2", "printf '\\033[H\\033[2J\\033[?2004h'; ", 19))
        .await;
    screen
        .wait_until("the second read", |s| {
            s.contains("READY") && !s.contains("got1:")
        })
        .await;
    screen.keys(paste).await;
    screen.wait_for("got2:^[[200~one^Mtwo^[[201~").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_scrollback_pages_back_to_earlier_lines_and_typing_returns_to_the_live_screen() {
    let mut screen = start("tabs-scrollback");
    screen.wait_for("tab-two").await;
    open_from_fleet(&mut screen, "tab-one", "tab-two").await;
    // 150 lines into a 34-row pane.
    screen
        .keys("i=0; while [ $i -lt 150 ]; do i=$((i+1)); echo \"sb-$i-end\"; done\r")
        .await;
    screen.wait_for("sb-150-end").await;
    assert!(!screen.text().contains("sb-1-end"), "{}", screen.text());

    // The prefix then `[` pages back; pgup goes on paging while paged back.
    screen.keys(&format!("{PREFIX}[")).await;
    screen
        .wait_until("a page back", |s| {
            s.contains("scrolled back") && !s.contains("sb-150-end")
        })
        .await;
    screen.keys(&"\x1b[5~".repeat(6)).await;
    screen
        .wait_until("the first lines", |s| {
            s.contains("sb-1-end") && s.contains("sb-2-end") && !s.contains("sb-120-end")
        })
        .await;
    // pgdn pages forward again.
    screen.keys("\x1b[6~").await;
    screen
        .wait_until("a page forward", |s| {
            !s.contains("sb-1-end") && s.contains("scrolled back")
        })
        .await;

    // Typing returns to the live screen and reaches the shell.
    screen.keys("echo live-$((40+2))\r").await;
    screen
        .wait_until("the live screen", |s| {
            s.contains("live-42") && s.contains("sb-150-end") && !s.contains("scrolled back")
        })
        .await;
}
