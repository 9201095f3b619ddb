//! After the run: each instance's output (table mode), what AWS cut and where the whole is,
//! the `--save` files, and the exit status.

use std::io::{IsTerminal, Write};
use std::path::Path;

use serde_json::json;

use super::follow::Tracked;
use crate::aws::Instance;
use crate::aws::types::{InvocationOutput, MAX_API_STDOUT_CHARS, S3Location};
use crate::commands::exit;
use crate::text::escape_for_terminal;

/// Text from AWS on a terminal goes through `text.rs`, line by line so the lines stay; into
/// a pipe or file it goes as it came.
fn shown(text: &str, terminal: bool) -> String {
    if !terminal {
        return text.to_owned();
    }
    text.split('\n')
        .map(|line| escape_for_terminal(line).into_owned())
        .collect::<Vec<_>>()
        .join("\n")
}

/// Where the whole of a cut stream is, in words.
pub fn cut_note(
    tracked: &Tracked,
    stream: &str,
    url: Option<&str>,
    output_s3: Option<&S3Location>,
) -> String {
    let whole = match (url, output_s3) {
        (Some(url), _) => format!("the whole is at {}", escape_for_terminal(url)),
        (None, Some(location)) => format!(
            "the whole is under s3://{}/{}",
            escape_for_terminal(&location.bucket),
            escape_for_terminal(&location.prefix)
        ),
        (None, None) => {
            "the rest is not kept anywhere (pass --output-s3 s3://BUCKET/PREFIX to keep it)"
                .to_owned()
        }
    };
    format!(
        "{}: AWS returned only the first {} characters of {stream}; {whole}",
        tracked.label(),
        group_thousands(if stream == "stdout" {
            MAX_API_STDOUT_CHARS
        } else {
            8_000
        })
    )
}

fn group_thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The notes for every stream AWS cut.
pub fn cut_notes(all: &[&Tracked], output_s3: Option<&S3Location>) -> Vec<String> {
    let mut notes = Vec::new();
    for tracked in all {
        let Some(output) = &tracked.output else {
            continue;
        };
        if output.stdout_truncated() {
            notes.push(cut_note(
                tracked,
                "stdout",
                output.stdout_url.as_deref(),
                output_s3,
            ));
        }
        if output.stderr_truncated() {
            notes.push(cut_note(
                tracked,
                "stderr",
                output.stderr_url.as_deref(),
                output_s3,
            ));
        }
    }
    notes
}

/// Every instance's output on stdout, headed by its status.
pub fn print_outputs(all: &[&Tracked]) -> std::io::Result<()> {
    let terminal = std::io::stdout().is_terminal();
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for tracked in all {
        write_heading(&mut out, tracked)?;
        if let Some(output) = &tracked.output {
            write_stream(&mut out, &output.stdout, terminal)?;
            if !output.stderr.is_empty() {
                writeln!(out, "── stderr")?;
                write_stream(&mut out, &output.stderr, terminal)?;
            }
        }
    }
    out.flush()
}

/// The line above an instance's output: `── NAME (ID) STATUS, exit CODE`.
pub fn write_heading(out: &mut impl Write, tracked: &Tracked) -> std::io::Result<()> {
    let code = tracked
        .info
        .response_code
        .map_or_else(String::new, |c| format!(", exit {c}"));
    writeln!(
        out,
        "── {} {}{code}",
        tracked.label(),
        escape_for_terminal(&tracked.info.status_details)
    )
}

fn write_stream(out: &mut impl Write, text: &str, terminal: bool) -> std::io::Result<()> {
    if text.is_empty() {
        return Ok(());
    }
    out.write_all(shown(text, terminal).as_bytes())?;
    if !text.ends_with('\n') {
        writeln!(out)?;
    }
    Ok(())
}

/// `--save DIR`: `INSTANCE-ID.stdout`, `.stderr` and `.status` (JSON) per instance, and a
/// `.status` for each instance that could not run it.
pub fn save(dir: &Path, all: &[&Tracked], skipped: &[(Instance, String)]) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    for tracked in all {
        let id = file_name(&tracked.info.instance_id);
        let empty = InvocationOutput {
            status: String::new(),
            status_details: String::new(),
            response_code: None,
            stdout: String::new(),
            stderr: String::new(),
            stdout_url: None,
            stderr_url: None,
        };
        let output = tracked.output.as_ref().unwrap_or(&empty);
        std::fs::write(dir.join(format!("{id}.stdout")), &output.stdout)?;
        std::fs::write(dir.join(format!("{id}.stderr")), &output.stderr)?;
        let status = json!({
            "command_id": tracked.info.command_id,
            "instance_id": tracked.info.instance_id,
            "name": tracked.name,
            "status": tracked.info.status,
            "status_details": tracked.info.status_details,
            "response_code": tracked.info.response_code,
            "stdout_truncated": output.stdout_truncated(),
            "stderr_truncated": output.stderr_truncated(),
            "stdout_url": output.stdout_url,
            "stderr_url": output.stderr_url,
        });
        write_status(&dir.join(format!("{id}.status")), &status)?;
    }
    for (instance, reason) in skipped {
        let id = file_name(instance.id.as_str());
        let status = json!({
            "instance_id": instance.id.as_str(),
            "name": instance.name.as_deref(),
            "status": "NotRun",
            "reason": reason,
        });
        write_status(&dir.join(format!("{id}.status")), &status)?;
    }
    Ok(())
}

/// An instance id as one file name: anything but letters, digits, `-` and `_` becomes `_`.
fn file_name(id: &str) -> String {
    id.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

fn write_status(path: &Path, value: &serde_json::Value) -> std::io::Result<()> {
    let mut file = std::fs::File::create(path)?;
    crate::text::write_json_pretty(&mut file, value).map_err(std::io::Error::other)?;
    writeln!(file)
}

/// 0 only when every instance asked for ran it and succeeded.
pub fn exit_status(all: &[&Tracked], skipped: usize, still_pending: usize) -> u8 {
    let all_succeeded = all.iter().all(|t| t.info.status == "Success");
    if skipped == 0 && still_pending == 0 && all_succeeded && !all.is_empty() {
        exit::OK
    } else {
        exit::RUN_INCOMPLETE
    }
}
