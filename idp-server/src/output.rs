//! What admin commands print: a sentence for people by default, or with `--json` exactly one
//! JSON object on stdout per command — the result, or `{"error": {"kind", "message"}}` — so a
//! script can parse stdout and check the exit code (0 done, 1 failed, 2 usage).

use serde_json::{Value, json};

use crate::error::ServerError;

/// The result of one command in both shapes.
#[derive(Debug)]
pub struct Report {
    pub text: String,
    pub json: Value,
}

impl Report {
    pub fn new(text: impl Into<String>, json: Value) -> Self {
        Self {
            text: text.into(),
            json,
        }
    }
}

/// How the process reports, chosen by `--json`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Human,
    Json,
}

impl Format {
    pub fn print(self, report: &Report) {
        match self {
            Self::Human => println!("{}", report.text),
            Self::Json => println!("{}", report.json),
        }
    }

    /// Reports a failed command. Human: `error: …` on stderr. JSON: the error object on stdout
    /// (and nothing on stderr to parse around).
    pub fn fail(self, kind: &str, message: &str) {
        match self {
            Self::Human => eprintln!("error: {message}"),
            Self::Json => println!(
                "{}",
                json!({ "error": { "kind": kind, "message": message } })
            ),
        }
    }

    pub fn fail_with(self, e: &ServerError) {
        self.fail(e.kind(), &e.to_string());
    }
}

/// True when the raw arguments ask for JSON: used to report errors clap finds before the flag
/// is parsed (`--json` may appear anywhere, it is global).
pub fn wants_json<I: IntoIterator<Item = S>, S: AsRef<std::ffi::OsStr>>(args: I) -> bool {
    args.into_iter()
        .take_while(|a| a.as_ref() != "--")
        .any(|a| a.as_ref() == "--json")
}
