//! The cost of `PhoneNumber::parse` (libphonenumber through
//! `rlibphonenumber`), printed as `name: value` lines:
//!
//! - `phone_parse_all_regions_mib`: MiB of resident memory (`VmRSS` in
//!   `/proc/self/status`) added by parsing one number (the fixed-line
//!   example) of every region libphonenumber knows, one after the other.
//!   Measured first, before anything else in this process has touched
//!   libphonenumber: the example numbers are listed by a child process (this
//!   bench run again), so the figure is what a process pays for phone
//!   numbers of every country: the metadata loaded and every region's
//!   patterns compiled. Linux only (skipped where `/proc` is missing).
//! - `phone_parse_one_country_us`: µs per parse of one US number,
//!   `+1 415-555-0123`, parsed again and again (median of 5 rounds).
//! - `phone_parse_mixed_countries_us`: µs per parse when the country changes
//!   at every parse: libphonenumber's example numbers of every region (200+
//!   countries), one of each in turn (median of 5 rounds, after one warm-up
//!   pass that compiles each region's patterns).
//!
//! ```sh
//! cargo bench --bench phone
//! ```
//!
//! A filter argument selects lines (`cargo bench --bench phone -- mixed`).

use std::hint::black_box;
use std::process::Command;
use std::time::Instant;

use rlibphonenumber::{PhoneNumberFormat, PHONE_NUMBER_UTIL};
use waba_porting::PhoneNumber;

/// Set in the child process that lists the example numbers.
const LIST_EXAMPLES: &str = "WABA_PHONE_BENCH_LIST_EXAMPLES";

/// libphonenumber's fixed-line example number of every region it knows, in
/// E.164, sorted by region (run in the child process).
fn list_examples() -> Vec<String> {
    let util = &*PHONE_NUMBER_UTIL;
    let mut regions: Vec<_> = util.get_supported_regions().collect();
    regions.sort_by_key(|region| region.to_string());
    regions
        .into_iter()
        .filter_map(|region| util.get_example_number(region).ok())
        .map(|number| util.format(&number, PhoneNumberFormat::E164).into_owned())
        .collect()
}

/// The example numbers, listed by a child process so that this one has not
/// touched libphonenumber before `phone_parse_all_regions_mib`.
fn examples_from_child() -> Vec<String> {
    let exe = std::env::current_exe().expect("current exe");
    let output = Command::new(exe)
        .env(LIST_EXAMPLES, "1")
        .output()
        .expect("run the example lister");
    assert!(output.status.success(), "example lister failed");
    String::from_utf8(output.stdout)
        .expect("utf-8")
        .lines()
        .map(str::to_owned)
        .collect()
}

/// Resident set size of this process, in KiB.
fn rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// MiB of resident memory added by parsing one number of every region, in
/// a process that has not touched libphonenumber yet.
fn all_regions_mib(examples: &[String]) -> Option<f64> {
    let before = rss_kib()?;
    let mut parsed = 0usize;
    for example in examples {
        parsed += usize::from(PhoneNumber::parse(black_box(example)).is_ok());
    }
    let after = rss_kib()?;
    assert_eq!(parsed, examples.len(), "every example parses");
    Some(after.saturating_sub(before) as f64 / 1024.0)
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// µs per parse over `rounds` rounds of `parses` parses of `inputs` in turn
/// (median of the rounds), after one warm-up pass over `inputs`.
fn micros_per_parse(inputs: &[String], parses: usize, rounds: usize) -> f64 {
    for input in inputs {
        PhoneNumber::parse(input).expect("parses");
    }
    let mut per_parse = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        let started = Instant::now();
        for input in inputs.iter().cycle().take(parses) {
            black_box(PhoneNumber::parse(black_box(input)).is_ok());
        }
        per_parse.push(started.elapsed().as_secs_f64() * 1e6 / parses as f64);
    }
    median(per_parse)
}

fn main() {
    if std::env::var_os(LIST_EXAMPLES).is_some() {
        for example in list_examples() {
            println!("{example}");
        }
        return;
    }
    // `cargo bench` passes `--bench`; a filter argument selects lines.
    let filter: Option<String> = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    let wanted = |name: &str| filter.as_deref().is_none_or(|f| name.contains(f));

    let examples = examples_from_child();
    assert!(examples.len() >= 200, "{} example numbers", examples.len());

    // First, while this process has parsed nothing.
    if wanted("phone_parse_all_regions_mib") {
        match all_regions_mib(&examples) {
            Some(mib) => println!("phone_parse_all_regions_mib: {mib:.1}"),
            None => println!("phone_parse_all_regions_mib: unavailable (no /proc)"),
        }
    }
    if wanted("phone_parse_one_country_us") {
        let us = ["+1 415-555-0123".to_owned()];
        println!(
            "phone_parse_one_country_us: {:.2}",
            micros_per_parse(&us, 100_000, 5)
        );
    }
    if wanted("phone_parse_mixed_countries_us") {
        let countries: std::collections::BTreeSet<String> = examples
            .iter()
            .map(|e| {
                PhoneNumber::parse(e)
                    .expect("parses")
                    .country_code()
                    .to_owned()
            })
            .collect();
        assert!(countries.len() >= 60, "{} countries", countries.len());
        println!(
            "phone_parse_mixed_countries_us: {:.2}",
            micros_per_parse(&examples, 100 * examples.len(), 5)
        );
    }
}
