//! report.md: the report model as Markdown. Findings first, then the tables behind them;
//! charts are left to report.html (their figures are in the tables and CSV files).

use super::safe_text::clean_text;
use super::{ReportInput, Writer};
use crate::analyze::report_model::{Block, Cell, Report, TABLE_PLACES, Table, percent};
use std::fmt::Write as _;
use std::io;
use std::path::Path;

pub struct Markdown;

impl Writer for Markdown {
    fn files(&self) -> &'static [&'static str] {
        &["report.md"]
    }

    fn write(&self, input: &ReportInput<'_>, dir: &Path) -> io::Result<()> {
        std::fs::write(
            dir.join("report.md"),
            render(&Report::build(input.analysis)),
        )
    }
}

/// Text from logs in a table cell: no control characters, no column breaks.
fn cell_text(s: &str) -> String {
    clean_text(s).replace('|', "\\|")
}

pub fn cell(c: &Cell) -> String {
    match c {
        Cell::Text(s) => cell_text(s),
        Cell::Money(m) => m.display(TABLE_PLACES),
        Cell::Count(n) => n.to_string(),
        Cell::Share(d) => percent(*d),
        Cell::Date(d) => d.to_string(),
        Cell::Time(t) => t.to_rfc3339(),
        Cell::Number(s) => cell_text(s),
        Cell::Empty => String::new(),
    }
}

pub fn render(r: &Report) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "# {}\n", clean_text(&r.title));
    let _ = writeln!(o, "{}\n", clean_text(&r.intro));
    for s in &r.sections {
        let _ = writeln!(
            o,
            "{} {}\n",
            "#".repeat(usize::from(s.level)),
            clean_text(&s.title)
        );
        for b in &s.blocks {
            block(&mut o, b);
        }
    }
    // One newline at the end, not the blank line every block leaves.
    while o.ends_with("\n\n") {
        o.pop();
    }
    o
}

fn block(o: &mut String, b: &Block) {
    match b {
        Block::Paragraph(p) => {
            let _ = writeln!(o, "{}\n", clean_text(p));
        }
        Block::List(items) => {
            for i in items {
                let _ = writeln!(o, "- {}", clean_text(i));
            }
            let _ = writeln!(o);
        }
        Block::Table(t) => table(o, t),
        Block::Chart(_) => {}
    }
}

fn table(o: &mut String, t: &Table) {
    let names: Vec<String> = t.columns.iter().map(|c| cell_text(&c.name)).collect();
    let _ = writeln!(o, "| {} |", names.join(" | "));
    let align: Vec<&str> = t
        .columns
        .iter()
        .map(|c| if c.numeric { "---:" } else { "---" })
        .collect();
    let _ = writeln!(o, "|{}|", align.join("|"));
    for row in &t.rows {
        let cells: Vec<String> = row.iter().map(cell).collect();
        let _ = writeln!(o, "| {} |", cells.join(" | "));
    }
    let _ = writeln!(o);
}
