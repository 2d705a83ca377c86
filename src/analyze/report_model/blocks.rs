//! The builders every section of the report is made with: a section, a table and its cells.
//! Money in a cell is shown as the report rounds it.

use super::{Block, Cell, Column, Section, Table, share, shown};
use crate::money::Money;

pub fn section(level: u8, title: &str, blocks: Vec<Block>) -> Section {
    Section {
        level,
        title: title.to_string(),
        blocks,
    }
}

pub fn table(columns: &[(&str, bool)], rows: Vec<Vec<Cell>>) -> Block {
    Block::Table(Table {
        columns: columns
            .iter()
            .map(|(name, numeric)| Column {
                name: (*name).to_string(),
                numeric: *numeric,
            })
            .collect(),
        rows,
    })
}

pub fn text(s: &str) -> Cell {
    Cell::Text(s.to_string())
}

pub fn money(m: Money) -> Cell {
    Cell::Money(shown(m))
}

pub fn share_cell(part: Money, whole: Money) -> Cell {
    share(part, whole).map_or(Cell::Empty, Cell::Share)
}
