//! Diagnostics: per-item problems that do not stop the run. Each names where it happened.

use std::fmt;

use serde::Serialize;

use crate::escape::terminal;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Something was skipped on purpose (a digest file, a non-record JSON file).
    Note,
    /// Something could not be used (corrupt file, bad record); the rest went on.
    Warning,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, schemars::JsonSchema)]
pub struct Diagnostic {
    pub level: Severity,
    /// The input the problem is in, as the user named it (`-` for stdin).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// Where in it: `record 12`, `line 4`, `byte 1048576`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub position: Option<String>,
    pub message: String,
}

impl Diagnostic {
    pub fn warning(file: impl Into<String>, message: impl Into<String>) -> Self {
        Diagnostic {
            level: Severity::Warning,
            file: Some(file.into()),
            position: None,
            message: message.into(),
        }
    }

    pub fn note(file: impl Into<String>, message: impl Into<String>) -> Self {
        Diagnostic {
            level: Severity::Note,
            file: Some(file.into()),
            position: None,
            message: message.into(),
        }
    }

    pub fn at(mut self, position: impl Into<String>) -> Self {
        self.position = Some(position.into());
        self
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let level = match self.level {
            Severity::Note => "note",
            Severity::Warning => "warning",
        };
        write!(f, "{level}: ")?;
        // file names, positions and messages quote record values: no control character reaches
        // the terminal
        match (&self.file, &self.position) {
            (Some(file), Some(pos)) => write!(f, "`{}` {}: ", terminal(file), terminal(pos))?,
            (Some(file), None) => write!(f, "`{}`: ", terminal(file))?,
            _ => {}
        }
        f.write_str(&terminal(&self.message))
    }
}

/// A short, stable reason for an I/O error (no OS error numbers).
pub fn io_reason(e: &std::io::Error) -> String {
    use std::io::ErrorKind;
    match e.kind() {
        ErrorKind::NotFound => "no such file or directory".into(),
        ErrorKind::PermissionDenied => "permission denied".into(),
        _ => {
            let s = e.to_string();
            match s.find(" (os error") {
                Some(i) => s[..i].to_lowercase(),
                None => s.to_lowercase(),
            }
        }
    }
}

/// serde_json's message without its trailing position (positions are given separately).
/// Type names that serde's derive puts in messages are replaced by what the user knows.
pub fn serde_reason(e: &serde_json::Error) -> String {
    let s = e.to_string();
    let s = match s.rfind(" at line ") {
        Some(i) => &s[..i],
        None => &s,
    };
    match s.find("expected struct ") {
        Some(i) => format!("{}expected an object", &s[..i]),
        None => s.to_string(),
    }
}
