//! Progress lines on stderr, so stdout carries only the command's result.

use std::fmt::Display;
use std::io::IsTerminal;

/// Writes progress lines for one application, prefixed with its name.
#[derive(Debug, Clone)]
pub struct Progress {
    label: String,
    quiet: bool,
}

impl Progress {
    pub fn new(label: impl Into<String>) -> Progress {
        Progress {
            label: label.into(),
            quiet: false,
        }
    }

    /// Returns a reporter that prints nothing, for library callers and tests.
    pub fn quiet() -> Progress {
        Progress {
            label: String::new(),
            quiet: true,
        }
    }

    /// Prints one line on stderr.
    pub fn line(&self, message: impl Display) {
        if !self.quiet {
            eprintln!("[{}] {message}", self.label);
        }
    }
}

/// Returns whether stderr is a terminal (colours and prompts are only used there).
pub fn stderr_is_terminal() -> bool {
    std::io::stderr().is_terminal()
}
