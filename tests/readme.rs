//! The README's tour of the demo, run as written: its shell block goes to `bash` against a
//! demo started for the test, and every `#` line under a command must appear in what that
//! command printed. A README that drifts from the demo fails here, not in a newcomer's terminal.

mod common;

use common::Running;
use std::process::Command;

/// A command of the tour and the pieces of output the README promises for it.
struct Step {
    command: String,
    promised: Vec<String>,
}

/// The first `sh` block under the heading `## A tour of the demo`.
fn tour_block(readme: &str) -> &str {
    let section = readme
        .split_once("\n## A tour of the demo\n")
        .expect("README has a tour of the demo")
        .1;
    let block = section
        .split_once("```sh\n")
        .expect("the tour has a sh block")
        .1;
    block.split_once("\n```").expect("the block is closed").0
}

/// Commands, each with the `#` lines right under it. A `#` line after a blank line is prose
/// about the commands that follow, not output.
fn steps(block: &str) -> Vec<Step> {
    let mut steps: Vec<Step> = Vec::new();
    let mut under_command = false;
    for line in block.lines() {
        if line.trim().is_empty() {
            under_command = false;
        } else if let Some(comment) = line.strip_prefix("# ") {
            if under_command {
                steps
                    .last_mut()
                    .expect("a command")
                    .promised
                    .push(comment.to_owned());
            }
        } else {
            steps.push(Step {
                command: line.to_owned(),
                promised: Vec::new(),
            });
            under_command = true;
        }
    }
    steps
}

#[test]
fn the_tour_of_the_demo_answers_as_the_readme_says() {
    assert!(
        Command::new("curl").arg("--version").output().is_ok(),
        "the README tour needs curl on PATH (.ci/run installs it)"
    );
    let db = tempfile::tempdir().expect("temp dir");
    let path = db.path().join("demo.db");
    let demo = Running::start(common::example_command(
        "demo",
        "examples/demo",
        "DEMO_ADDR",
        &[("DEMO_DB", path.to_str().expect("utf-8 path"))],
    ));
    let password = demo
        .printed
        .iter()
        .find_map(|line| line.strip_prefix("Administrator for this run: admin / "))
        .expect("the demo printed the administrator's password");

    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .expect("README.md");
    let steps = steps(tour_block(&readme));
    assert!(steps.len() > 20, "the tour has its commands");
    let mut script = String::new();
    for (index, step) in steps.iter().enumerate() {
        // The reader's address and pasted password are this run's.
        let command = if step.command.starts_with("B=") {
            format!("B={}", demo.base)
        } else if step.command.starts_with("ADMIN_PASSWORD=") {
            format!("ADMIN_PASSWORD={password}")
        } else {
            step.command.clone()
        };
        script.push_str(&format!("echo '@@step {index}@@'\n{command}\necho\n"));
    }
    let output = Command::new("bash")
        .arg("-c")
        .arg(&script)
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .output()
        .expect("run bash");
    let printed = String::from_utf8_lossy(&output.stdout).replace('\r', "");

    let mut broken = Vec::new();
    for (index, step) in steps.iter().enumerate() {
        let answer = printed
            .split_once(&format!("@@step {index}@@\n"))
            .map(|(_, rest)| rest.split("@@step ").next().unwrap_or(rest))
            .unwrap_or_default();
        for promise in &step.promised {
            if !answer.contains(promise.as_str()) {
                broken.push(format!(
                    "`{}`\n  promised: {promise}\n  printed:  {}",
                    step.command,
                    answer.trim()
                ));
            }
        }
    }
    assert!(
        broken.is_empty(),
        "the README tour says otherwise than the demo:\n{}\nstderr: {}",
        broken.join("\n"),
        String::from_utf8_lossy(&output.stderr)
    );
}
