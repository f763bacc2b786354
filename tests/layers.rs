//! The layering of `src/` as ARCHITECTURE.md states it, checked over the source: no module
//! uses a module of a higher layer, and no two modules use each other (directly or round a
//! loop), a module's own parent and children aside. Reads the `crate::` and `super::` paths of
//! every file, in `use` declarations and in code.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Each top-level module's layer, lowest first. A module may use its own layer and those below.
const LAYERS: &[(&str, &[&str])] = &[
    ("foundation", &["domain", "crypto", "config", "telemetry"]),
    ("db", &["db"]),
    ("providers", &["providers"]),
    ("cache", &["cache"]),
    (
        "services",
        &["services", "metrics", "rate_limit", "deferred_events"],
    ),
    (
        "http",
        &[
            "routes",
            "middleware",
            "error",
            "tenancy",
            "state",
            "client_addr",
        ],
    ),
    ("startup", &["startup", "cli", "database", "embedded_pg"]),
];

fn layer_of(top: &str) -> Option<usize> {
    LAYERS.iter().position(|(_, mods)| mods.contains(&top))
}

type ModPath = Vec<String>;

/// Every module file under `src/` (the library's; binaries stand apart), by module path.
fn modules(src: &Path) -> BTreeMap<ModPath, PathBuf> {
    fn walk(dir: &Path, prefix: &[String], out: &mut BTreeMap<ModPath, PathBuf>) {
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .expect("readable src")
            .map(|e| e.expect("entry").path())
            .collect();
        entries.sort();
        for path in entries {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if path.is_dir() {
                if prefix.is_empty() && name == "bin" {
                    continue;
                }
                let mut inner = prefix.to_vec();
                inner.push(name);
                walk(&path, &inner, out);
            } else if let Some(stem) = name.strip_suffix(".rs") {
                let mut module = prefix.to_vec();
                match stem {
                    "mod" => {}
                    "lib" | "main" if prefix.is_empty() => continue,
                    _ => module.push(stem.to_owned()),
                }
                out.insert(module, path);
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(src, &[], &mut out);
    out
}

/// The source without comments and string literals (whose text could look like paths).
fn code_of(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            i += 2;
            while i + 1 < chars.len() && !(chars[i] == '*' && chars[i + 1] == '/') {
                i += 1;
            }
            i += 2;
        } else if c == 'r' && matches!(next, Some('"') | Some('#')) && !ident_char(prev(&chars, i))
        {
            // A raw string: r"..." or r#"..."#.
            let mut j = i + 1;
            let mut hashes = 0;
            while chars.get(j) == Some(&'#') {
                hashes += 1;
                j += 1;
            }
            if chars.get(j) != Some(&'"') {
                out.push(c);
                i += 1;
                continue;
            }
            j += 1;
            loop {
                if j >= chars.len() {
                    break;
                }
                if chars[j] == '"' && (0..hashes).all(|h| chars.get(j + 1 + h) == Some(&'#')) {
                    j += 1 + hashes;
                    break;
                }
                j += 1;
            }
            out.push_str("\"\"");
            i = j;
        } else if c == '"' {
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                if chars[i] == '\\' {
                    i += 1;
                }
                i += 1;
            }
            i += 1;
            out.push_str("\"\"");
        } else if c == '\'' && next.is_some_and(|n| n != '\\') && chars.get(i + 2) == Some(&'\'') {
            // A char literal such as '{'.
            i += 3;
        } else if c == '\'' && next == Some('\\') {
            i += 2;
            while i < chars.len() && chars[i] != '\'' {
                i += 1;
            }
            i += 1;
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

fn prev(chars: &[char], i: usize) -> char {
    if i == 0 {
        ' '
    } else {
        chars[i - 1]
    }
}

fn ident_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Ident(String),
    PathSep,
    Open,
    Close,
    Comma,
    Semi,
    Other,
}

fn tokens(code: &str) -> Vec<Token> {
    let chars: Vec<char> = code.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if ident_char(c) {
            let start = i;
            while i < chars.len() && ident_char(chars[i]) {
                i += 1;
            }
            out.push(Token::Ident(chars[start..i].iter().collect()));
            continue;
        }
        out.push(match c {
            ':' if chars.get(i + 1) == Some(&':') => {
                i += 1;
                Token::PathSep
            }
            '{' => Token::Open,
            '}' => Token::Close,
            ',' => Token::Comma,
            ';' => Token::Semi,
            c if c.is_whitespace() => {
                i += 1;
                continue;
            }
            _ => Token::Other,
        });
        i += 1;
    }
    out
}

/// Expands a `use` tree starting at `tokens[*i]` with `prefix` into full paths.
fn use_tree(tokens: &[Token], i: &mut usize, prefix: Vec<String>, out: &mut Vec<ModPath>) {
    let mut path = prefix;
    loop {
        match tokens.get(*i) {
            Some(Token::Ident(name)) => {
                path.push(name.clone());
                *i += 1;
                if tokens.get(*i) == Some(&Token::PathSep) {
                    *i += 1;
                    continue;
                }
                // `as alias` and the end of this branch.
                while matches!(tokens.get(*i), Some(Token::Ident(_))) {
                    *i += 1;
                }
                out.push(path);
                return;
            }
            Some(Token::Open) => {
                *i += 1;
                loop {
                    match tokens.get(*i) {
                        Some(Token::Close) => {
                            *i += 1;
                            return;
                        }
                        Some(Token::Comma) => *i += 1,
                        None => return,
                        _ => use_tree(tokens, i, path.clone(), out),
                    }
                }
            }
            _ => {
                out.push(path);
                return;
            }
        }
    }
}

/// Every path a file names that starts at `crate` or `super`.
fn paths_named(code: &str) -> Vec<ModPath> {
    let tokens = tokens(code);
    let mut out = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        let at_use = tokens[i] == Token::Ident("use".into());
        if at_use {
            i += 1;
            use_tree(&tokens, &mut i, Vec::new(), &mut out);
            continue;
        }
        let starts_path = matches!(&tokens[i], Token::Ident(n) if n == "crate" || n == "super")
            && tokens.get(i + 1) == Some(&Token::PathSep)
            && (i == 0 || tokens[i - 1] != Token::PathSep);
        if starts_path {
            let mut path = Vec::new();
            while let Some(Token::Ident(name)) = tokens.get(i) {
                path.push(name.clone());
                if tokens.get(i + 1) != Some(&Token::PathSep) {
                    break;
                }
                i += 2;
            }
            out.push(path);
        }
        i += 1;
    }
    out
}

/// The module a path names (its longest prefix that is a module), seen from `from`.
fn resolve(
    path: &[String],
    from: &[String],
    from_is_dir_module: bool,
    known: &BTreeMap<ModPath, PathBuf>,
) -> Option<ModPath> {
    let mut base: Vec<String> = match path.first().map(String::as_str) {
        Some("crate") => Vec::new(),
        Some("super") => {
            let mut base = from.to_vec();
            // `super` in `a/b.rs` is `a`; in `a/b/mod.rs` (module `a::b`) it is also `a`.
            let _ = from_is_dir_module;
            base.pop()?;
            base
        }
        _ => return None,
    };
    let mut rest = &path[1..];
    while rest.first().map(String::as_str) == Some("super") {
        base.pop()?;
        rest = &rest[1..];
    }
    let mut best = None;
    let mut candidate = base.clone();
    if known.contains_key(&candidate) && !candidate.is_empty() {
        best = Some(candidate.clone());
    }
    for segment in rest {
        candidate.push(segment.clone());
        if known.contains_key(&candidate) {
            best = Some(candidate.clone());
        }
    }
    best
}

fn is_ancestor(a: &[String], b: &[String]) -> bool {
    a.len() < b.len() && b.starts_with(a)
}

fn graph() -> BTreeMap<ModPath, BTreeSet<ModPath>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let known = modules(&src);
    let mut edges: BTreeMap<ModPath, BTreeSet<ModPath>> = BTreeMap::new();
    for (module, file) in &known {
        let text = std::fs::read_to_string(file).expect("readable source");
        let is_dir = file.file_name().is_some_and(|n| n == "mod.rs");
        let used = edges.entry(module.clone()).or_default();
        for path in paths_named(&code_of(&text)) {
            if let Some(target) = resolve(&path, module, is_dir, &known) {
                if &target != module {
                    used.insert(target);
                }
            }
        }
    }
    edges
}

fn name(module: &[String]) -> String {
    module.join("::")
}

#[test]
fn no_module_uses_a_module_of_a_higher_layer() {
    let mut broken = Vec::new();
    for (from, targets) in graph() {
        let Some(from_layer) = layer_of(&from[0]) else {
            broken.push(format!("{} is in no layer (add it to LAYERS)", name(&from)));
            continue;
        };
        for to in targets {
            let to_layer = layer_of(&to[0]).unwrap_or(usize::MAX);
            if to_layer > from_layer {
                broken.push(format!(
                    "{} ({}) uses {} ({})",
                    name(&from),
                    LAYERS[from_layer].0,
                    name(&to),
                    LAYERS.get(to_layer).map_or("no layer", |l| l.0)
                ));
            }
        }
    }
    assert!(broken.is_empty(), "layering broken:\n{}", broken.join("\n"));
}

#[test]
fn no_two_modules_use_each_other() {
    // Edges between a module and its own parent or children are how Rust modules share; only
    // loops through other modules count.
    let graph: BTreeMap<ModPath, Vec<ModPath>> = graph()
        .into_iter()
        .map(|(from, to)| {
            let to = to
                .into_iter()
                .filter(|t| !is_ancestor(t, &from) && !is_ancestor(&from, t))
                .collect();
            (from, to)
        })
        .collect();
    let mut loops = Vec::new();
    for (start, targets) in &graph {
        // A path from any of its targets back to `start` is a loop.
        for first in targets {
            let mut seen = BTreeSet::new();
            let mut stack = vec![vec![start.clone(), first.clone()]];
            while let Some(trail) = stack.pop() {
                let at = trail.last().unwrap();
                if at == start {
                    let names: Vec<String> = trail.iter().map(|m| name(m)).collect();
                    loops.push(names.join(" -> "));
                    break;
                }
                if !seen.insert(at.clone()) {
                    continue;
                }
                for next in graph.get(at).into_iter().flatten() {
                    let mut longer = trail.clone();
                    longer.push(next.clone());
                    stack.push(longer);
                }
            }
        }
    }
    loops.sort();
    loops.dedup();
    assert!(loops.is_empty(), "modules in a loop:\n{}", loops.join("\n"));
}

#[test]
fn the_checker_reads_paths_in_use_trees_and_code() {
    let code = code_of(
        "use crate::{db::{self, clients::Client}, cache};\nuse super::x as y;\n\
         // crate::ignored::in_comment\nfn f() { crate::routes::login::go(\"crate::in_string\"); }",
    );
    let paths: Vec<String> = paths_named(&code).iter().map(|p| p.join("::")).collect();
    assert_eq!(
        paths,
        [
            "crate::db::self",
            "crate::db::clients::Client",
            "crate::cache",
            "super::x",
            "crate::routes::login::go"
        ]
    );
}
