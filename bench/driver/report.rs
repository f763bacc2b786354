//! The Markdown report: the results table, login steps, other measurements, the targets, and
//! the statements each operation cost.

use std::fmt::Write as _;

use crate::load::{percentile, Outcome};
use crate::pg::Stmt;

pub struct Row {
    pub scenario: String,
    pub outcome: Outcome,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Met,
    Missed,
    NotMeasured,
}

pub struct Target {
    pub what: String,
    pub goal: String,
    pub measured: String,
    pub status: Status,
}

#[derive(Default)]
pub struct Report {
    pub header: Vec<(String, String)>,
    pub rows: Vec<Row>,
    pub facts: Vec<(String, String)>,
    pub targets: Vec<Target>,
    pub notes: Vec<String>,
    /// Scenarios (name, users) whose statements are broken down.
    pub statement_breakdowns: Vec<(String, usize)>,
}

pub fn ms(v: Option<f64>) -> String {
    match v {
        Some(v) if v >= 100.0 => format!("{v:.0}"),
        Some(v) if v >= 10.0 => format!("{v:.1}"),
        Some(v) => format!("{v:.2}"),
        None => "n/a".into(),
    }
}

fn num(v: Option<f64>, digits: usize) -> String {
    v.map_or("n/a".into(), |v| format!("{v:.digits$}"))
}

fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

impl Report {
    pub fn row(&self, scenario: &str, users: usize) -> Option<&Outcome> {
        self.rows
            .iter()
            .find(|r| r.scenario == scenario && r.outcome.concurrency == users)
            .map(|r| &r.outcome)
    }

    pub fn rows_of<'a>(&'a self, scenario: &'a str) -> impl Iterator<Item = &'a Outcome> + 'a {
        self.rows
            .iter()
            .filter(move |r| r.scenario == scenario)
            .map(|r| &r.outcome)
    }

    pub fn fact(&mut self, name: impl Into<String>, value: impl Into<String>) {
        self.facts.push((name.into(), value.into()));
    }

    pub fn note(&mut self, text: impl Into<String>) {
        let text = text.into();
        eprintln!("bench: note: {text}");
        self.notes.push(text);
    }

    pub fn target(
        &mut self,
        what: &str,
        goal: &str,
        measured: Option<f64>,
        shown: impl Fn(f64) -> String,
        met: impl Fn(f64) -> bool,
    ) {
        let (measured, status) = match measured {
            Some(v) if v.is_finite() => {
                (shown(v), if met(v) { Status::Met } else { Status::Missed })
            }
            _ => ("not measured".into(), Status::NotMeasured),
        };
        self.targets.push(Target {
            what: what.into(),
            goal: goal.into(),
            measured,
            status,
        });
    }

    pub fn render(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "# Gatehouse benchmark results\n");
        for (k, v) in &self.header {
            let _ = writeln!(s, "- **{k}**: {v}");
        }

        let _ = writeln!(s, "\n## Results\n");
        let _ = writeln!(
            s,
            "| scenario | users | ops | ops/s | p50 ms | p99 ms | Gatehouse CPU/op ms | PostgreSQL CPU/op ms | driver+fake CPU/op ms | DB statements/op | peak RSS MB | errors |"
        );
        let _ = writeln!(s, "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|");
        for r in &self.rows {
            let o = &r.outcome;
            let peak = match o.peak_rss_mb {
                Some(p) if o.peak_is_own => format!("{p:.1}"),
                Some(p) => format!("{p:.1}*"),
                None => "n/a".into(),
            };
            let _ = writeln!(
                s,
                "| {} | {} | {} | {:.0} | {} | {} | {} | {} | {} | {} | {} | {} |",
                cell(&r.scenario),
                o.concurrency,
                o.ops,
                o.throughput(),
                ms(o.p(50.0)),
                ms(o.p(99.0)),
                num(o.per_op_ms(o.gatehouse_cpu), 3),
                num(o.pg_cpu.and_then(|c| o.per_op_ms(c)), 3),
                num(o.per_op_ms(o.rest_cpu), 3),
                num(o.statements_per_op(), 1),
                peak,
                o.errors,
            );
        }
        if self.rows.iter().any(|r| !r.outcome.peak_is_own) {
            let _ = writeln!(
                s,
                "\n\\* peak since the process started (the kernel refused to reset VmHWM)."
            );
        }

        let logins: Vec<&Row> = self
            .rows
            .iter()
            .filter(|r| r.outcome.steps.first().is_some_and(|v| !v.is_empty()))
            .collect();
        if !logins.is_empty() {
            let _ = writeln!(s, "\n### Login steps (p50 / p99 ms)\n");
            let _ = writeln!(
                s,
                "| scenario | users | /authorize | fake Exact authorize | /login/callback (incl. 2 calls to Exact) | /oauth/token |"
            );
            let _ = writeln!(s, "|---|--:|--:|--:|--:|--:|");
            for r in logins {
                let steps: Vec<String> = r
                    .outcome
                    .steps
                    .iter()
                    .map(|v| format!("{} / {}", ms(percentile(v, 50.0)), ms(percentile(v, 99.0))))
                    .collect();
                let _ = writeln!(
                    s,
                    "| {} | {} | {} |",
                    cell(&r.scenario),
                    r.outcome.concurrency,
                    steps.join(" | ")
                );
            }
        }

        if !self.facts.is_empty() {
            let _ = writeln!(s, "\n## Other measurements\n");
            let _ = writeln!(s, "| measurement | value |\n|---|---|");
            for (k, v) in &self.facts {
                let _ = writeln!(s, "| {} | {} |", cell(k), cell(v));
            }
        }

        if !self.targets.is_empty() {
            let _ = writeln!(s, "\n## Targets\n");
            let _ = writeln!(s, "| target | goal | measured | |\n|---|---|---|---|");
            for t in &self.targets {
                let mark = match t.status {
                    Status::Met => "met",
                    Status::Missed => "**missed**",
                    Status::NotMeasured => "not measured",
                };
                let _ = writeln!(
                    s,
                    "| {} | {} | {} | {} |",
                    cell(&t.what),
                    cell(&t.goal),
                    cell(&t.measured),
                    mark
                );
            }
        }

        for (name, users) in &self.statement_breakdowns {
            let Some(row) = self
                .rows
                .iter()
                .find(|r| &r.scenario == name && r.outcome.concurrency == *users)
            else {
                continue;
            };
            let Some(stmts) = &row.outcome.statements else {
                continue;
            };
            let ops = row.outcome.ops.max(1) as f64;
            let _ = writeln!(
                s,
                "\n### Statements per operation: {} ({} users)\n",
                name, row.outcome.concurrency
            );
            let _ = writeln!(s, "| calls/op | mean ms | statement |\n|--:|--:|---|");
            for st in stmts
                .iter()
                .filter(|st| st.calls as f64 / ops >= 0.05)
                .take(25)
            {
                let _ = writeln!(
                    s,
                    "| {:.2} | {:.3} | `{}` |",
                    st.calls as f64 / ops,
                    st.total_ms / st.calls.max(1) as f64,
                    cell(&short_query(st))
                );
            }
        }

        if !self.notes.is_empty() {
            let _ = writeln!(s, "\n## Notes\n");
            for n in &self.notes {
                let _ = writeln!(s, "- {}", n.replace('\n', " "));
            }
        }
        s
    }
}

fn short_query(st: &Stmt) -> String {
    let collapsed: String = st.query.split_whitespace().collect::<Vec<_>>().join(" ");
    if collapsed.chars().count() > 110 {
        format!("{}…", collapsed.chars().take(110).collect::<String>())
    } else {
        collapsed
    }
}
