//! Output plumbing shared by the commands: the `--output` switch, JSON on stdout, fixed-width
//! tables and colours (only when stdout is a terminal and `NO_COLOR` is unset).

use std::io::IsTerminal;

use clap::ValueEnum;
use serde::Serialize;

use crate::exit;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// Tables and text for people.
    #[default]
    Text,
    /// One JSON document on stdout, for scripts (schema in docs/cli.md).
    Json,
}

/// Prints `value` as pretty JSON on stdout; returns the exit code ([`exit::AWS`] when it cannot
/// be serialised).
/// Prints a command's result as `format` asks: [`print_json`], or the text `text` renders.
/// Returns the exit code (a result that cannot be serialised is an error).
pub fn print_as<T: Serialize>(
    format: OutputFormat,
    value: &T,
    text: impl FnOnce(&T) -> String,
) -> u8 {
    match format {
        OutputFormat::Json => print_json(value),
        OutputFormat::Text => {
            print!("{}", text(value));
            exit::OK
        }
    }
}

pub fn print_json<T: Serialize>(value: &T) -> u8 {
    match serde_json::to_string_pretty(value) {
        Ok(text) => {
            println!("{text}");
            exit::OK
        }
        Err(e) => {
            eprintln!("error: cannot serialise the result: {e}");
            exit::AWS
        }
    }
}

/// ANSI colours, or none.
#[derive(Clone, Copy, Debug)]
pub struct Style {
    color: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Color {
    Red,
    Green,
    Yellow,
    Bold,
    Dim,
}

impl Color {
    fn code(self) -> &'static str {
        match self {
            Color::Red => "31",
            Color::Green => "32",
            Color::Yellow => "33",
            Color::Bold => "1",
            Color::Dim => "2",
        }
    }
}

impl Style {
    /// Colours when stdout is a terminal and `NO_COLOR` is not set.
    pub fn for_stdout() -> Self {
        Style {
            color: std::io::stdout().is_terminal()
                && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
        }
    }

    #[cfg(test)]
    pub fn plain() -> Self {
        Style { color: false }
    }

    pub fn paint(&self, color: Color, text: &str) -> String {
        if self.color {
            format!("\x1b[{}m{text}\x1b[0m", color.code())
        } else {
            text.to_string()
        }
    }
}

/// One table cell: its text and an optional colour (applied after padding, so widths hold).
#[derive(Clone, Debug)]
pub struct Cell {
    text: String,
    color: Option<Color>,
}

impl Cell {
    pub fn new(text: impl Into<String>) -> Self {
        Cell {
            text: text.into(),
            color: None,
        }
    }

    pub fn colored(text: impl Into<String>, color: Color) -> Self {
        Cell {
            text: text.into(),
            color: Some(color),
        }
    }
}

impl From<&str> for Cell {
    fn from(s: &str) -> Self {
        Cell::new(s)
    }
}

impl From<String> for Cell {
    fn from(s: String) -> Self {
        Cell::new(s)
    }
}

/// A fixed-width table: columns as wide as their widest cell, two spaces apart.
#[derive(Clone, Debug, Default)]
pub struct Table {
    headers: Vec<String>,
    rows: Vec<Vec<Cell>>,
}

impl Table {
    pub fn new(headers: &[&str]) -> Self {
        Table {
            headers: headers.iter().map(|h| h.to_string()).collect(),
            rows: Vec::new(),
        }
    }

    pub fn row(&mut self, cells: Vec<Cell>) {
        self.rows.push(cells);
    }

    pub fn render(&self, style: &Style) -> String {
        let columns = self
            .rows
            .iter()
            .map(Vec::len)
            .chain([self.headers.len()])
            .max()
            .unwrap_or(0);
        let mut widths = vec![0usize; columns];
        for (i, h) in self.headers.iter().enumerate() {
            widths[i] = widths[i].max(h.chars().count());
        }
        for row in &self.rows {
            for (i, c) in row.iter().enumerate() {
                widths[i] = widths[i].max(c.text.chars().count());
            }
        }
        let mut out = String::new();
        let line = |cells: Vec<(String, Option<Color>)>, out: &mut String| {
            let last = cells.len().saturating_sub(1);
            let mut text = String::new();
            for (i, (t, color)) in cells.into_iter().enumerate() {
                let pad = if i == last {
                    0
                } else {
                    widths[i].saturating_sub(t.chars().count()) + 2
                };
                match color {
                    Some(c) => text.push_str(&style.paint(c, &t)),
                    None => text.push_str(&t),
                }
                text.push_str(&" ".repeat(pad));
            }
            out.push_str(text.trim_end());
            out.push('\n');
        };
        line(
            self.headers
                .iter()
                .map(|h| (h.clone(), Some(Color::Bold)))
                .collect(),
            &mut out,
        );
        for row in &self.rows {
            line(
                row.iter().map(|c| (c.text.clone(), c.color)).collect(),
                &mut out,
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn when_table_rendered_plain_then_columns_align_and_lines_have_no_trailing_space() {
        let mut t = Table::new(&["A", "LONGER"]);
        t.row(vec!["x".into(), "1".into()]);
        t.row(vec!["wide-cell".into(), Cell::colored("2", Color::Red)]);
        let text = t.render(&Style::plain());
        assert_eq!(
            text, "A          LONGER\nx          1\nwide-cell  2\n",
            "{text}"
        );
    }

    #[test]
    fn when_colored_then_escape_codes_do_not_change_alignment() {
        let mut t = Table::new(&["A", "B"]);
        t.row(vec![Cell::colored("red", Color::Red), "x".into()]);
        let text = t.render(&Style { color: true });
        let plain: String = strip_ansi(&text);
        assert_eq!(plain, "A    B\nred  x\n");
        assert!(text.contains("\x1b[31mred\x1b[0m"));
    }

    fn strip_ansi(s: &str) -> String {
        let mut out = String::new();
        let mut esc = false;
        for c in s.chars() {
            match (esc, c) {
                (false, '\x1b') => esc = true,
                (true, 'm') => esc = false,
                (true, _) => {}
                (false, c) => out.push(c),
            }
        }
        out
    }
}
