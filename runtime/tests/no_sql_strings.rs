//! No SQL is built from strings at run time: every call that hands SQL text to diesel
//! (`sql_query(..)`, `sql::<..>(..)`, `.sql(..)`, `push_sql(..)`, `batch_execute(..)`,
//! `begin_transaction_sql(..)`) in the store (`runtime/src/store`) and the API glue
//! (`src/api`) gets text known at compile time:
//! - a string literal;
//! - a path to a constant (`SCALAR_INSERT`, `DB::VALID_PLOT`: SCREAMING_CASE last segment);
//! - a macro call that expands to a literal: `concat!`, `stringify!`, `include_str!`, or a
//!   macro of the project named `*_sql` whose every rule expands to `concat!` of literals
//!   (checked below wherever such a macro is defined);
//! - `&`, parentheses, a block, an `if` or a `match` whose every result is one of these.
//!
//! Values (ids, lists, patterns, limits) are therefore bind parameters, and statements of
//! variable shape come from diesel's query builder. Calls inside macro invocations are
//! checked too, and so are the bodies of `macro_rules!` definitions.

use std::path::{Path, PathBuf};

use proc_macro2::{Delimiter, TokenStream, TokenTree};
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::visit::Visit;
use syn::{Expr, Lit, Token};

/// Functions and methods whose (last) argument is SQL text.
const SQL_TAKERS: [&str; 5] = ["sql_query", "sql", "push_sql", "batch_execute", "begin_transaction_sql"];

/// Macros that expand to a string literal.
const LITERAL_MACROS: [&str; 3] = ["concat", "stringify", "include_str"];

fn is_const_name(name: &str) -> bool {
    name.chars().any(|c| c.is_ascii_uppercase()) && name.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
}

/// Project macros that may stand for SQL text (their definitions are checked).
fn is_project_sql_macro(name: &str) -> bool {
    name.ends_with("_sql")
}

fn literal_macro(name: &str) -> bool {
    LITERAL_MACROS.contains(&name) || is_project_sql_macro(name)
}

struct Finding {
    line: usize,
    what: String,
}

struct Checker {
    findings: Vec<Finding>,
    /// SQL-taking calls seen (to tell a scan that found nothing from one that saw nothing).
    calls: usize,
}

impl Checker {
    fn flag(&mut self, span: proc_macro2::Span, what: String) {
        self.findings.push(Finding { line: span.start().line, what });
    }

    /// Whether `e` is SQL text known at compile time.
    fn fixed(e: &Expr) -> bool {
        match e {
            Expr::Lit(l) => matches!(l.lit, Lit::Str(_)),
            Expr::Path(p) => p.qself.is_none() && p.path.segments.last().is_some_and(|s| is_const_name(&s.ident.to_string())),
            Expr::Macro(m) => m.mac.path.segments.last().is_some_and(|s| literal_macro(&s.ident.to_string())),
            Expr::Reference(r) => Checker::fixed(&r.expr),
            Expr::Paren(p) => Checker::fixed(&p.expr),
            Expr::Group(g) => Checker::fixed(&g.expr),
            Expr::Block(b) => Checker::block_fixed(&b.block),
            Expr::If(i) => {
                Checker::block_fixed(&i.then_branch) && i.else_branch.as_ref().is_some_and(|(_, e)| Checker::fixed(e))
            }
            Expr::Match(m) => m.arms.iter().all(|a| Checker::fixed(&a.body)),
            _ => false,
        }
    }

    fn block_fixed(b: &syn::Block) -> bool {
        match b.stmts.as_slice() {
            [syn::Stmt::Expr(e, None)] => Checker::fixed(e),
            _ => false,
        }
    }

    fn check_arg(&mut self, call: &str, arg: Option<&Expr>, span: proc_macro2::Span) {
        self.calls += 1;
        match arg {
            Some(a) if Checker::fixed(a) => {}
            Some(a) => {
                let text = quote::ToTokens::to_token_stream(a).to_string();
                self.flag(a.span(), format!("`{call}` gets `{}`, which is not SQL text fixed at compile time", shorten(&text)));
            }
            None => self.flag(span, format!("`{call}` without its SQL argument")),
        }
    }

    /// The tokens of a macro call or definition: SQL takers followed by their argument
    /// group, where the argument is one literal, one constant path or one literal macro.
    fn scan_tokens(&mut self, tokens: TokenStream) {
        let trees: Vec<TokenTree> = tokens.into_iter().collect();
        for (i, tree) in trees.iter().enumerate() {
            match tree {
                TokenTree::Group(g) => self.scan_tokens(g.stream()),
                TokenTree::Ident(id) if SQL_TAKERS.contains(&id.to_string().as_str()) => {
                    // skip a turbofish `::<…>` to the argument group
                    let mut j = i + 1;
                    if matches!(trees.get(j), Some(TokenTree::Punct(p)) if p.as_char() == ':') {
                        let mut depth = 0i32;
                        while let Some(t) = trees.get(j) {
                            if let TokenTree::Punct(p) = t {
                                match p.as_char() {
                                    '<' => depth += 1,
                                    '>' => {
                                        depth -= 1;
                                        if depth == 0 {
                                            j += 1;
                                            break;
                                        }
                                    }
                                    _ => {}
                                }
                            }
                            j += 1;
                        }
                    }
                    let Some(TokenTree::Group(args)) = trees.get(j) else { continue };
                    if args.delimiter() != Delimiter::Parenthesis {
                        continue;
                    }
                    self.calls += 1;
                    let parts: Vec<TokenStream> = split_commas(args.stream());
                    let last = parts.last().cloned().unwrap_or_default();
                    if !tokens_fixed(&last) {
                        self.flag(id.span(), format!("`{id}` gets `{}`, which is not SQL text fixed at compile time", shorten(&last.to_string())));
                    }
                }
                _ => {}
            }
        }
    }

    /// A `macro_rules!` named `*_sql` stands for SQL text: each rule takes only `literal`
    /// fragments and expands to one `concat!` of literals and those fragments.
    fn check_sql_macro(&mut self, name: &str, body: TokenStream, span: proc_macro2::Span) {
        let trees: Vec<TokenTree> = body.into_iter().collect();
        let mut ok = !trees.is_empty();
        let mut i = 0;
        while i < trees.len() {
            // (pattern) => { expansion } ;
            let (Some(TokenTree::Group(pattern)), Some(TokenTree::Punct(eq)), Some(TokenTree::Punct(gt)), Some(TokenTree::Group(expansion))) =
                (trees.get(i), trees.get(i + 1), trees.get(i + 2), trees.get(i + 3))
            else {
                ok = false;
                break;
            };
            if eq.as_char() != '=' || gt.as_char() != '>' {
                ok = false;
                break;
            }
            ok &= pattern_takes_literals(pattern.stream()) && expands_to_concat(expansion.stream());
            i += 4;
            if matches!(trees.get(i), Some(TokenTree::Punct(p)) if p.as_char() == ';') {
                i += 1;
            }
        }
        if !ok {
            self.flag(span, format!("macro `{name}!` is named like SQL text but does not expand to `concat!` of literals"));
        }
    }
}

/// Every `$x:frag` of a macro pattern is a `literal`.
fn pattern_takes_literals(tokens: TokenStream) -> bool {
    let trees: Vec<TokenTree> = tokens.into_iter().collect();
    for (i, t) in trees.iter().enumerate() {
        match t {
            TokenTree::Group(g) if !pattern_takes_literals(g.stream()) => return false,
            TokenTree::Punct(p) if p.as_char() == '$' => {
                if let (Some(TokenTree::Ident(_)), Some(TokenTree::Punct(colon)), Some(TokenTree::Ident(frag))) =
                    (trees.get(i + 1), trees.get(i + 2), trees.get(i + 3))
                {
                    if colon.as_char() == ':' && frag != "literal" {
                        return false;
                    }
                }
            }
            _ => {}
        }
    }
    true
}

/// `concat!(…)` (or `{ concat!(…) }`) whose items are literals, `$fragments` and literal macros.
fn expands_to_concat(tokens: TokenStream) -> bool {
    let trees: Vec<TokenTree> = tokens.into_iter().collect();
    match trees.as_slice() {
        [TokenTree::Group(g)] if g.delimiter() == Delimiter::Brace => expands_to_concat(g.stream()),
        [TokenTree::Ident(name), TokenTree::Punct(bang), TokenTree::Group(args)] if name == "concat" && bang.as_char() == '!' => {
            split_commas(args.stream()).iter().all(|item| {
                let parts: Vec<TokenTree> = item.clone().into_iter().collect();
                match parts.as_slice() {
                    [] => true,
                    [TokenTree::Literal(_)] => true,
                    [TokenTree::Punct(d), TokenTree::Ident(_)] => d.as_char() == '$',
                    _ => tokens_fixed(item),
                }
            })
        }
        _ => false,
    }
}

/// Token form of [`Checker::fixed`]: one string literal, a path ending in a constant, or a
/// literal macro call (optionally behind `&`).
fn tokens_fixed(tokens: &TokenStream) -> bool {
    let trees: Vec<TokenTree> = tokens.clone().into_iter().collect();
    let trees = match trees.as_slice() {
        [TokenTree::Punct(p), rest @ ..] if p.as_char() == '&' => rest.to_vec(),
        _ => trees,
    };
    match trees.as_slice() {
        [TokenTree::Literal(l)] => l.to_string().starts_with('"') || l.to_string().starts_with('r'),
        [.., TokenTree::Ident(name), TokenTree::Punct(bang), TokenTree::Group(_)] if bang.as_char() == '!' => {
            literal_macro(&name.to_string())
        }
        [.., TokenTree::Ident(last)] => {
            is_const_name(&last.to_string())
                && trees.iter().all(|t| matches!(t, TokenTree::Ident(_)) || matches!(t, TokenTree::Punct(p) if p.as_char() == ':'))
        }
        _ => false,
    }
}

fn split_commas(tokens: TokenStream) -> Vec<TokenStream> {
    let mut parts = vec![TokenStream::new()];
    for t in tokens {
        match &t {
            TokenTree::Punct(p) if p.as_char() == ',' => parts.push(TokenStream::new()),
            _ => parts.last_mut().unwrap().extend([t]),
        }
    }
    if parts.last().is_some_and(|p| p.is_empty()) && parts.len() > 1 {
        parts.pop();
    }
    parts
}

fn shorten(text: &str) -> String {
    let one_line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() > 80 {
        format!("{}…", one_line.chars().take(80).collect::<String>())
    } else {
        one_line
    }
}

impl<'ast> Visit<'ast> for Checker {
    fn visit_expr_call(&mut self, call: &'ast syn::ExprCall) {
        if let Expr::Path(p) = &*call.func {
            if let Some(name) = p.path.segments.last().map(|s| s.ident.to_string()) {
                if SQL_TAKERS.contains(&name.as_str()) {
                    self.check_arg(&name, call.args.last(), call.span());
                }
            }
        }
        syn::visit::visit_expr_call(self, call);
    }

    fn visit_expr_method_call(&mut self, call: &'ast syn::ExprMethodCall) {
        let name = call.method.to_string();
        if SQL_TAKERS.contains(&name.as_str()) {
            self.check_arg(&name, call.args.last(), call.method.span());
        }
        syn::visit::visit_expr_method_call(self, call);
    }

    fn visit_item_macro(&mut self, item: &'ast syn::ItemMacro) {
        if item.mac.path.is_ident("macro_rules") {
            let name = item.ident.as_ref().map(|i| i.to_string()).unwrap_or_default();
            if is_project_sql_macro(&name) {
                self.check_sql_macro(&name, item.mac.tokens.clone(), item.mac.path.span());
            }
            self.scan_tokens(item.mac.tokens.clone());
            return;
        }
        syn::visit::visit_item_macro(self, item);
    }

    fn visit_macro(&mut self, mac: &'ast syn::Macro) {
        // Macro arguments that are expressions (`with_conn!(conn, |c| …)`) are checked as
        // expressions; anything else token by token.
        match mac.parse_body_with(Punctuated::<Expr, Token![,]>::parse_terminated) {
            Ok(args) => args.iter().for_each(|e| self.visit_expr(e)),
            Err(_) => self.scan_tokens(mac.tokens.clone()),
        }
    }
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())).flatten().collect();
    entries.sort_by_key(|e| e.path());
    for entry in entries {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|x| x == "rs") {
            out.push(path);
        }
    }
}

fn check_file(path: &Path) -> (Vec<Finding>, usize) {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let file = syn::parse_file(&text).unwrap_or_else(|e| panic!("{}: does not parse: {e}", path.display()));
    let mut checker = Checker { findings: Vec::new(), calls: 0 };
    checker.visit_file(&file);
    (checker.findings, checker.calls)
}

#[test]
fn sql_text_is_fixed_at_compile_time() {
    let runtime = Path::new(env!("CARGO_MANIFEST_DIR"));
    let root = runtime.parent().unwrap();
    let mut files = Vec::new();
    rust_files(&runtime.join("src/store"), &mut files);
    rust_files(&root.join("src/api"), &mut files);
    assert!(files.len() > 20, "the scan found the sources ({} files)", files.len());
    let mut report = Vec::new();
    let mut calls = 0;
    for path in &files {
        let (findings, n) = check_file(path);
        calls += n;
        for f in findings {
            report.push(format!("{}:{}: {}", path.strip_prefix(root).unwrap_or(path).display(), f.line, f.what));
        }
    }
    assert!(calls > 10, "the scan saw the store's SQL calls ({calls})");
    assert!(report.is_empty(), "SQL built at run time:\n{}", report.join("\n"));
}

/// The checker itself: what it accepts and what it refuses.
#[test]
fn the_checker_tells_fixed_text_from_built_text() {
    let source = r#"
        macro_rules! good_sql { ($p:literal) => { concat!("SELECT ", $p) }; }
        macro_rules! bad_sql { ($e:expr) => { format!("SELECT {}", $e) }; }
        macro_rules! pushes { ($out:ident, $s:expr) => { $out.push_sql($s); $out.push_sql(", "); }; }
        const SQL: &str = "SELECT 1";
        fn f(backend: Backend, x: i64, c: &mut C) {
            diesel::sql_query("SELECT 1");
            diesel::sql_query(SQL);
            diesel::sql_query(Self::SQL);
            diesel::sql_query(concat!("SELECT ", "1"));
            diesel::sql_query(good_sql!("?"));
            diesel::sql_query(match backend { Backend::Sqlite => SQL, Backend::Postgres => "SELECT 2" });
            out.push_sql(if x > 0 { "a" } else { DB::B });
            diesel::dsl::sql::<Bool>("1 = 1");
            AnsiTransactionManager::begin_transaction_sql(c, "BEGIN IMMEDIATE");
            diesel::sql_query(format!("SELECT {x}"));
            diesel::sql_query(sql);
            diesel::dsl::sql::<Bool>(&text);
            q.sql(text.as_str());
            c.batch_execute(&statements.join(";"));
            out.push_sql(if x > 0 { "a" } else { name });
            with_conn!(c, |c| diesel::sql_query(sql).execute(c));
            AnsiTransactionManager::begin_transaction_sql(c, begin);
        }
    "#;
    let file = syn::parse_file(source).unwrap();
    let mut checker = Checker { findings: Vec::new(), calls: 0 };
    checker.visit_file(&file);
    let lines: Vec<usize> = checker.findings.iter().map(|f| f.line).collect();
    // bad_sql! (its definition), pushes! (`$s`), and the seven calls after `begin_transaction_sql(c, "BEGIN IMMEDIATE")`
    assert_eq!(lines, vec![3, 4, 16, 17, 18, 19, 20, 21, 22, 23], "{:#?}", checker.findings.iter().map(|f| &f.what).collect::<Vec<_>>());
}
