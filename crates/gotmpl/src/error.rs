//! The error type of parsing and executing templates.

/// What went wrong, broadly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The template text does not parse (`template: NAME:LINE: ...`).
    Parse,
    /// Execution failed (`template: NAME:LINE:COL: executing "NAME" at <...>: ...`).
    Exec,
    /// `execute` named a template the set does not have.
    NoTemplate,
}

/// A parse or execution error, displayed exactly as Go's text/template prints it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", .0.text)]
pub struct Error(Box<Inner>);

#[derive(Debug, Clone, PartialEq, Eq)]
struct Inner {
    kind: ErrorKind,
    template: String,
    executing: Option<String>,
    line: usize,
    col: Option<usize>,
    context: Option<String>,
    message: String,
    text: String,
    failure: Option<String>,
}

impl Error {
    pub(crate) fn parse(template: &str, line: usize, message: String) -> Error {
        Error(Box::new(Inner {
            kind: ErrorKind::Parse,
            template: template.to_string(),
            executing: None,
            line,
            col: None,
            context: None,
            text: format!("template: {template}:{line}: {message}"),
            message,
            failure: None,
        }))
    }

    pub(crate) fn exec(
        template: &str,
        line: usize,
        col: usize,
        executing: &str,
        context: &str,
        message: String,
    ) -> Error {
        Error(Box::new(Inner {
            kind: ErrorKind::Exec,
            template: template.to_string(),
            executing: Some(executing.to_string()),
            line,
            col: Some(col),
            context: Some(context.to_string()),
            text: format!(
                "template: {template}:{line}:{col}: executing \"{executing}\" at <{context}>: {message}"
            ),
            message,
            failure: None,
        }))
    }

    /// `ExecuteTemplate` of a name the set does not have.
    pub(crate) fn no_template(name: &str, root: &str) -> Error {
        let message = format!("no template {name:?} associated with template {root:?}");
        Error(Box::new(Inner {
            kind: ErrorKind::NoTemplate,
            template: name.to_string(),
            executing: None,
            line: 0,
            col: None,
            context: None,
            text: format!("template: {message}"),
            message,
            failure: None,
        }))
    }

    /// Records the message of the `required` or `fail` call behind this error.
    pub(crate) fn with_failure(mut self, failure: Option<String>) -> Error {
        self.0.failure = failure;
        self
    }

    /// The message of the `required` or `fail` call that caused this error, however
    /// deeply nested in `include`s and `tpl`s.
    pub fn failure(&self) -> Option<&str> {
        self.0.failure.as_deref()
    }

    /// The error as `helm template` reports it where that differs from Go: a
    /// `required`/`fail` error as `execution error at (NAME:LINE:COL): MSG` (the
    /// outermost position), a parse error as `parse error at (NAME:LINE): MSG`; other
    /// errors as they display.
    pub fn helm_message(&self) -> String {
        if self.0.kind == ErrorKind::Parse {
            let last = self
                .0
                .message
                .rsplit(": ")
                .next()
                .unwrap_or(&self.0.message);
            return format!(
                "parse error at ({}:{}): {last}",
                self.0.template, self.0.line
            );
        }
        match (&self.0.failure, self.0.col) {
            (Some(msg), Some(col)) => format!(
                "execution error at ({}:{}:{col}): {msg}",
                self.0.template, self.0.line
            ),
            _ => self.to_string(),
        }
    }

    /// The broad kind of error.
    pub fn kind(&self) -> ErrorKind {
        self.0.kind
    }

    /// The name of the parsed template (file) the position refers to.
    pub fn template(&self) -> &str {
        &self.0.template
    }

    /// The name of the template being executed (a `define` name or the file), for exec errors.
    pub fn executing(&self) -> Option<&str> {
        self.0.executing.as_deref()
    }

    /// The 1-based line; 0 when unknown.
    pub fn line(&self) -> usize {
        self.0.line
    }

    /// The 0-based byte column within the line, for exec errors.
    pub fn col(&self) -> Option<usize> {
        self.0.col
    }

    /// The source text of the failing node, for exec errors (`.Values.x`).
    pub fn context(&self) -> Option<&str> {
        self.0.context.as_deref()
    }

    /// The message without the `template: NAME:LINE:` prefix.
    pub fn message(&self) -> &str {
        &self.0.message
    }
}
