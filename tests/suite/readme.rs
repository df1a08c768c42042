//! The README's walk-throughs, run as written: a section's shell block goes to `bash` against
//! the example it is about, started for the test, and every `#` line under a command must
//! appear in what that command printed. A README that drifts from the examples fails here,
//! not in a newcomer's terminal. Its example of a test is a test of this suite, verbatim.

use crate::common::{Running, start_demo};
use std::process::Command;

/// A command of the tour and the pieces of output the README promises for it.
struct Step {
    command: String,
    promised: Vec<String>,
}

/// The first `sh` block under the heading `## {heading}`.
fn block<'a>(readme: &'a str, heading: &str) -> &'a str {
    let section = readme
        .split_once(&format!("\n## {heading}\n"))
        .unwrap_or_else(|| panic!("README has a section `{heading}`"))
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

/// Runs the `sh` block of `heading` against `example`, in a folder of its own, with the
/// block's `B=` address and `ADMIN_PASSWORD=` replaced by this run's; fails on any broken promise.
fn walk_through(heading: &str, example: &Running, admin_password: Option<&str>) {
    assert!(
        Command::new("curl").arg("--version").output().is_ok(),
        "the README walk-throughs need curl on PATH (.ci/run installs it)"
    );
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .expect("README.md");
    let steps = steps(block(&readme, heading));
    assert!(
        steps
            .iter()
            .filter(|step| !step.promised.is_empty())
            .count()
            >= 5,
        "`{heading}` promises what its commands print"
    );
    let mut script = String::new();
    for (index, step) in steps.iter().enumerate() {
        let command = match (&step.command, admin_password) {
            (command, _) if command.starts_with("B=") => format!("B={}", example.base),
            (command, Some(password)) if command.starts_with("ADMIN_PASSWORD=") => {
                format!("ADMIN_PASSWORD={password}")
            }
            (command, _) => command.clone(),
        };
        script.push_str(&format!("echo '@@step {index}@@'\n{command}\necho\n"));
    }
    let folder = tempfile::tempdir().expect("temp dir");
    let output = Command::new("bash")
        .arg("-c")
        .arg(&script)
        .current_dir(folder.path())
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
        "`{heading}` in the README says otherwise than the example:\n{}\nstderr: {}",
        broken.join("\n"),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn the_tour_of_the_demo_answers_as_the_readme_says() {
    let demo = start_demo(&[]);
    let password = demo
        .running
        .printed
        .iter()
        .find_map(|line| line.strip_prefix("Administrator for this run: admin / "))
        .expect("the demo printed the administrator's password");
    walk_through("A tour of the demo", &demo.running, Some(password));
}

#[test]
fn the_login_and_tokens_walk_through_answers_as_the_readme_says() {
    let demo = start_demo(&[]);
    walk_through("Login and tokens", &demo.running, None);
}

/// The example under "Testing your handlers" is `testkit.rs`'s first test, character for
/// character: what the README shows compiles and passes.
#[test]
fn the_testing_example_is_this_test() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .expect("README.md");
    let section = readme
        .split_once("\n## Testing your handlers\n")
        .expect("README has a section `Testing your handlers`")
        .1;
    let example = section
        .split_once("```rust")
        .and_then(|(_, block)| block.split_once('\n'))
        .and_then(|(_, block)| block.split_once("\n```"))
        .expect("the section has a closed rust block")
        .0;
    let test = include_str!("testkit.rs");
    assert!(example.contains("#[tokio::test]"), "{example}");
    assert!(
        test.contains(example),
        "the README's testing example differs from tests/suite/testkit.rs:\n{example}"
    );
}
