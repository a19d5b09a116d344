//! Progress on stderr, so stdout carries only the command's result.
//!
//! When stderr is not a terminal (a CI log), every message is one plain line such as
//! `[application] message`. On a terminal, each application has one line that its latest
//! message replaces, redrawn in place below the permanent output.

use std::fmt::Display;
use std::io::{IsTerminal, Write};
use std::sync::{Mutex, MutexGuard, OnceLock};

/// Display mode of the progress messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// One line per message, prefixed with the application's name.
    Plain,
    /// One updating line per application, redrawn with terminal escape sequences.
    Live,
}

/// Writes progress for one application (or another label such as `artifacts`).
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

    /// Reports one message: a new line in plain mode, the label's line in the live view.
    pub fn line(&self, message: impl Display) {
        if self.quiet {
            return;
        }
        let message = message.to_string();
        match mode() {
            Mode::Plain => {
                eprintln!("{}", plain_line(&self.label, &message));
            }
            Mode::Live => {
                let mut board = board();
                board.set(&self.label, &message);
                board.draw("");
            }
        }
    }

    /// Prints a block of lines that stays on the screen (a plan, for example), each line
    /// prefixed with the label. In the live view it appears above the updating lines.
    pub fn block(&self, text: &str) {
        if self.quiet {
            return;
        }
        let prefixed: String = text
            .lines()
            .map(|line| format!("{}\n", plain_line(&self.label, line)))
            .collect();
        match mode() {
            Mode::Plain => {
                let mut stderr = std::io::stderr().lock();
                let _ = stderr.write_all(prefixed.as_bytes());
            }
            Mode::Live => board().draw(&prefixed),
        }
    }
}

fn plain_line(label: &str, message: &str) -> String {
    format!("[{label}] {message}")
}

static MODE: OnceLock<Mode> = OnceLock::new();

/// Returns the progress mode of the process: the live view when stderr is a terminal.
pub fn mode() -> Mode {
    *MODE.get_or_init(|| {
        if stderr_is_terminal() {
            Mode::Live
        } else {
            Mode::Plain
        }
    })
}

/// Returns whether stderr is a terminal (colours and prompts are only used there).
pub fn stderr_is_terminal() -> bool {
    std::io::stderr().is_terminal()
}

/// The live view: the latest message of each label, in the order the labels first reported.
#[derive(Debug, Default)]
struct Board {
    rows: Vec<(String, String)>,
    /// Lines of the board currently on the screen, below the cursor's line start.
    drawn: usize,
}

impl Board {
    fn set(&mut self, label: &str, message: &str) {
        match self.rows.iter_mut().find(|(name, _)| name == label) {
            Some(row) => row.1 = message.to_owned(),
            None => self.rows.push((label.to_owned(), message.to_owned())),
        }
    }

    fn draw(&mut self, above: &str) {
        let width = terminal_size::terminal_size_of(std::io::stderr())
            .map(|(width, _)| usize::from(width.0))
            .unwrap_or(DEFAULT_WIDTH);
        let text = render_live(self.drawn, above, &self.rows, width);
        let mut stderr = std::io::stderr().lock();
        let _ = stderr
            .write_all(text.as_bytes())
            .and_then(|()| stderr.flush());
        self.drawn = self.rows.len();
    }
}

/// Width assumed when the terminal does not report one.
const DEFAULT_WIDTH: usize = 80;

static BOARD: Mutex<Board> = Mutex::new(Board {
    rows: Vec::new(),
    drawn: 0,
});

fn board() -> MutexGuard<'static, Board> {
    // A panic while drawing leaves nothing inconsistent that matters for the next draw.
    BOARD
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Returns the terminal output that replaces a live view of `drawn` lines (ending at the
/// cursor) with the permanent text `above` followed by one line per row.
///
/// The cursor moves up over the old view, everything below it is cleared, and the rows are
/// written cut to `width - 1` columns: a line that wrapped would take two screen lines and
/// the next redraw would move up too little.
pub fn render_live(drawn: usize, above: &str, rows: &[(String, String)], width: usize) -> String {
    let mut text = String::new();
    if drawn > 0 {
        text.push_str(&format!("\x1b[{drawn}A"));
    }
    text.push_str("\r\x1b[J");
    text.push_str(above);

    let label_width = rows
        .iter()
        .map(|(label, _)| label.chars().count())
        .max()
        .unwrap_or(0);
    let columns = width.saturating_sub(1).max(1);
    for (label, message) in rows {
        let line = format!("{label:<label_width$}  {message}");
        text.extend(line.chars().take(columns));
        text.push('\n');
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(label, message)| (label.to_string(), message.to_string()))
            .collect()
    }

    #[test]
    fn live_view_first_draw_starts_in_place() {
        let text = render_live(0, "", &rows(&[("shop", "creating")]), 80);
        assert_eq!(text, "\r\x1b[Jshop  creating\n");
    }

    #[test]
    fn live_view_redraw_moves_up_over_old_lines() {
        let board = rows(&[("shop", "UPDATE_COMPLETE"), ("newsletter", "waiting")]);
        let text = render_live(2, "", &board, 80);
        assert_eq!(
            text,
            "\x1b[2A\r\x1b[Jshop        UPDATE_COMPLETE\nnewsletter  waiting\n"
        );
    }

    #[test]
    fn live_view_keeps_permanent_text_above_rows() {
        let text = render_live(1, "[shop] plan line\n", &rows(&[("shop", "executing")]), 80);
        assert_eq!(text, "\x1b[1A\r\x1b[J[shop] plan line\nshop  executing\n");
    }

    #[test]
    fn live_view_cuts_rows_to_terminal_width() {
        // Seven of eight columns: writing the last one would wrap on some terminals.
        let text = render_live(0, "", &rows(&[("a", "0123456789")]), 8);
        assert_eq!(text, "\r\x1b[Ja  0123\n");
    }

    #[test]
    fn live_view_cuts_by_characters_not_bytes() {
        let text = render_live(0, "", &rows(&[("a", "ééééé")]), 6);
        assert_eq!(text, "\r\x1b[Ja  éé\n");
    }

    #[test]
    fn board_replaces_the_row_of_a_label() {
        let mut board = Board::default();
        board.set("shop", "one");
        board.set("news", "two");
        board.set("shop", "three");
        assert_eq!(board.rows, rows(&[("shop", "three"), ("news", "two")]));
    }
}
