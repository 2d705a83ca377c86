#![no_main]
//! Any bytes through the parser: no panic, and every line ends in exactly one place.

use libfuzzer_sys::fuzz_target;
use reprice::ingest::Format;

#[path = "parse_common.rs"]
mod parse_common;

fuzz_target!(|data: &[u8]| parse_common::check(data, Some(Format::GeminiBatch)));
