//! Dioptra's search language (the `search` query parameter of its list endpoints), parsed
//! into terms whose values are [`Pattern`]s. Nothing of the query text ever reaches SQL as
//! SQL: the store renders each pattern as a LIKE pattern with its own escaping and binds
//! it as a parameter.
//!
//! Grammar (whitespace around terms is ignored; an empty or blank query has no terms):
//!
//! ```text
//! query    = term ("," term)*
//! term     = field ":" value | text
//! field    = [A-Za-z_]+
//! value    = quoted | (word-char | escape | wildcard)+          (no spaces)
//! text     = quoted | (word-char | escape | wildcard | " ")+    (words separated by spaces)
//! quoted   = "'" (char | escape | wildcard)+ "'" | '"' (char | escape | wildcard)+ '"'
//! word-char= [A-Za-z0-9_]
//! char     = any character but "\", "*", "?", a newline and the quote itself
//! escape   = "\" ("\" | "?" | "*" | '"' | "'" | "n" | ":" | ",")     ("\n" is a newline)
//! wildcard = "*" (any run of characters, also none) | "?" (exactly one character)
//! ```
//!
//! Meaning: the terms are ANDed. `field:value` matches when the whole field matches the
//! value (wildcards apart). Free text is fuzzy: unquoted, its words must appear in this
//! order anywhere in a field; quoted, the quoted text must appear anywhere in a field.

/// One piece of a pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    /// These characters, literally.
    Literal(String),
    /// `*`: any run of characters, also an empty one.
    AnyRun,
    /// `?`: exactly one character.
    AnyOne,
}

/// What a term's value matches.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Pattern {
    pub pieces: Vec<Piece>,
}

impl Pattern {
    fn push_char(&mut self, c: char) {
        match self.pieces.last_mut() {
            Some(Piece::Literal(s)) => s.push(c),
            _ => self.pieces.push(Piece::Literal(c.to_string())),
        }
    }

    /// The pattern as SQL `LIKE` text with `escape` as the escape character (which must
    /// then be given in the statement's `ESCAPE` clause). ASCII letters are lowercased
    /// when `lowercase` is set, for a comparison against `lower(column)`.
    pub fn to_like(&self, escape: char, lowercase: bool) -> String {
        let mut out = String::new();
        for piece in &self.pieces {
            match piece {
                Piece::AnyRun => out.push('%'),
                Piece::AnyOne => out.push('_'),
                Piece::Literal(s) => {
                    for c in s.chars() {
                        if c == escape || c == '%' || c == '_' {
                            out.push(escape);
                        }
                        out.push(if lowercase { c.to_ascii_lowercase() } else { c });
                    }
                }
            }
        }
        out
    }

    /// Whether `text` matches the whole pattern (ASCII case-insensitively, as the store
    /// compares). Used by tests and by callers that filter in memory.
    pub fn matches(&self, text: &str) -> bool {
        fn go(pieces: &[Piece], text: &[char]) -> bool {
            match pieces.split_first() {
                None => text.is_empty(),
                Some((Piece::AnyRun, rest)) => (0..=text.len()).any(|i| go(rest, &text[i..])),
                Some((Piece::AnyOne, rest)) => !text.is_empty() && go(rest, &text[1..]),
                Some((Piece::Literal(s), rest)) => {
                    let lit: Vec<char> = s.chars().collect();
                    text.len() >= lit.len() && lit.iter().zip(text).all(|(a, b)| a.eq_ignore_ascii_case(b)) && go(rest, &text[lit.len()..])
                }
            }
        }
        let text: Vec<char> = text.chars().collect();
        go(&self.pieces, &text)
    }

    /// `%` around the pattern: it then matches anywhere in a text.
    fn anywhere(mut self) -> Pattern {
        if self.pieces.first() != Some(&Piece::AnyRun) {
            self.pieces.insert(0, Piece::AnyRun);
        }
        if self.pieces.last() != Some(&Piece::AnyRun) {
            self.pieces.push(Piece::AnyRun);
        }
        self
    }
}

/// One term of a query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Term {
    /// `Some(field)` for `field:value`; `None` for free text (searched in every field).
    pub field: Option<String>,
    /// For a field term, what the whole field must match; for free text, what must
    /// appear in some field (already wrapped in `*…*`).
    pub pattern: Pattern,
}

/// Why a query was refused: the reason Dioptra's `SearchParseError` detail carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchError {
    pub reason: String,
}

impl std::fmt::Display for SearchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.reason)
    }
}

impl std::error::Error for SearchError {}

fn is_word_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

struct Parser {
    chars: Vec<char>,
    pos: usize,
}

impl Parser {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn fail<T>(&self, what: impl std::fmt::Display) -> Result<T, SearchError> {
        Err(SearchError { reason: format!("{what} at position {}", self.pos) })
    }

    fn skip_spaces(&mut self) {
        while self.peek() == Some(' ') {
            self.pos += 1;
        }
    }

    /// After a `\`: the escaped character.
    fn escape(&mut self) -> Result<char, SearchError> {
        self.pos += 1;
        let Some(c) = self.peek() else { return self.fail("a backslash ends the query") };
        let out = match c {
            '\\' | '?' | '*' | '"' | '\'' | ':' | ',' => c,
            'n' => '\n',
            other => return self.fail(format!("'\\{other}' is not an escape (use \\\\ \\? \\* \\\" \\' \\n \\: \\,)")),
        };
        self.pos += 1;
        Ok(out)
    }

    /// A quoted string, the opening quote at the current position.
    fn quoted(&mut self) -> Result<Pattern, SearchError> {
        let quote = self.peek().unwrap_or('"');
        let start = self.pos;
        self.pos += 1;
        let mut p = Pattern::default();
        loop {
            match self.peek() {
                None => {
                    self.pos = start;
                    return self.fail(format!("the quote {quote} is not closed"));
                }
                Some(c) if c == quote => {
                    self.pos += 1;
                    break;
                }
                Some('\\') => {
                    let c = self.escape()?;
                    p.push_char(c);
                }
                Some('*') => {
                    p.pieces.push(Piece::AnyRun);
                    self.pos += 1;
                }
                Some('?') => {
                    p.pieces.push(Piece::AnyOne);
                    self.pos += 1;
                }
                Some('\n') => return self.fail("a newline inside quotes (write \\n)"),
                Some(c) if c.is_control() => return self.fail(format!("the control character {:?}", c)),
                Some(c) => {
                    p.push_char(c);
                    self.pos += 1;
                }
            }
        }
        if p.pieces.is_empty() {
            self.pos = start;
            return self.fail("an empty quoted string");
        }
        Ok(p)
    }

    /// Unquoted characters up to a `,` or the end; `spaces` allows spaces between words
    /// (free text) and returns the words separately.
    fn unquoted(&mut self, spaces: bool) -> Result<Vec<Pattern>, SearchError> {
        let mut words: Vec<Pattern> = Vec::new();
        let mut current = Pattern::default();
        loop {
            match self.peek() {
                None | Some(',') => break,
                Some(' ') if spaces => {
                    if !current.pieces.is_empty() {
                        words.push(std::mem::take(&mut current));
                    }
                    self.pos += 1;
                }
                Some(' ') => {
                    // allowed only as trailing space before the next comma or the end
                    let save = self.pos;
                    self.skip_spaces();
                    if matches!(self.peek(), None | Some(',')) {
                        break;
                    }
                    self.pos = save;
                    return self.fail("a space in a field value (quote the value)");
                }
                Some('\\') => {
                    let c = self.escape()?;
                    current.push_char(c);
                }
                Some('*') => {
                    current.pieces.push(Piece::AnyRun);
                    self.pos += 1;
                }
                Some('?') => {
                    current.pieces.push(Piece::AnyOne);
                    self.pos += 1;
                }
                Some(c) if is_word_char(c) => {
                    current.push_char(c);
                    self.pos += 1;
                }
                Some(c @ ('\'' | '"')) => return self.fail(format!("the quote {c} inside an unquoted value (quote the whole value)")),
                Some(c) => return self.fail(format!("the character {c:?} outside quotes")),
            }
        }
        if !current.pieces.is_empty() {
            words.push(current);
        }
        if words.is_empty() {
            return self.fail("an empty search term");
        }
        Ok(words)
    }

    /// The value after `field:` or a free-text term.
    fn value(&mut self, field: bool) -> Result<Vec<Pattern>, SearchError> {
        match self.peek() {
            Some('\'' | '"') => {
                let p = self.quoted()?;
                self.skip_spaces();
                if !matches!(self.peek(), None | Some(',')) {
                    return self.fail("text after a closing quote (separate terms with a comma)");
                }
                Ok(vec![p])
            }
            _ => self.unquoted(!field),
        }
    }

    /// `field:` at the current position, if the term starts with one.
    fn field_prefix(&mut self) -> Option<String> {
        let mut end = self.pos;
        while self.chars.get(end).is_some_and(|c| c.is_ascii_alphabetic() || *c == '_') {
            end += 1;
        }
        if end > self.pos && self.chars.get(end) == Some(&':') {
            let name: String = self.chars[self.pos..end].iter().collect();
            self.pos = end + 1;
            Some(name)
        } else {
            None
        }
    }

    fn term(&mut self) -> Result<Term, SearchError> {
        self.skip_spaces();
        if let Some(field) = self.field_prefix() {
            if matches!(self.peek(), None | Some(',') | Some(' ')) {
                return self.fail(format!("no value after '{field}:'"));
            }
            let mut values = self.value(true)?;
            let pattern = values.pop().unwrap_or_default();
            return Ok(Term { field: Some(field), pattern });
        }
        let quoted = matches!(self.peek(), Some('\'' | '"'));
        let words = self.value(false)?;
        // free text: the words in order, anything between and around them
        let mut pattern = Pattern::default();
        for (i, w) in words.into_iter().enumerate() {
            if i > 0 || quoted {
                pattern.pieces.push(Piece::AnyRun);
            }
            pattern.pieces.extend(w.pieces);
        }
        Ok(Term { field: None, pattern: pattern.anywhere() })
    }
}

/// Most terms a query may have (each becomes a bound parameter).
pub const MAX_TERMS: usize = 100;

/// Parses `query` into its terms. `fields` are the field names `field:value` may use; any
/// other gives the error `'<name>' is not a valid field`. A blank query has no terms.
pub fn parse(query: &str, fields: &[&str]) -> Result<Vec<Term>, SearchError> {
    if query.trim().is_empty() {
        return Ok(Vec::new());
    }
    let mut p = Parser { chars: query.chars().collect(), pos: 0 };
    let mut terms = Vec::new();
    loop {
        let term = p.term()?;
        if let Some(f) = &term.field {
            if !fields.contains(&f.as_str()) {
                return Err(SearchError { reason: format!("'{f}' is not a valid field") });
            }
        }
        terms.push(term);
        if terms.len() > MAX_TERMS {
            return Err(SearchError { reason: format!("more than {MAX_TERMS} terms") });
        }
        p.skip_spaces();
        match p.peek() {
            None => break,
            Some(',') => p.pos += 1,
            Some(c) => return p.fail(format!("unexpected {c:?}")),
        }
    }
    Ok(terms)
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIELDS: &[&str] = &["description", "status", "timeout", "tag"];

    fn like(q: &str) -> Vec<(Option<String>, String)> {
        parse(q, FIELDS).unwrap().into_iter().map(|t| (t.field, t.pattern.to_like('\\', true))).collect()
    }

    fn field(f: &str, like: &str) -> (Option<String>, String) {
        (Some(f.to_string()), like.to_string())
    }

    fn free(like: &str) -> (Option<String>, String) {
        (None, like.to_string())
    }

    #[test]
    fn terms_fields_and_free_text() {
        assert_eq!(like(""), vec![]);
        assert_eq!(like("   "), vec![]);
        assert_eq!(like("status:finished"), vec![field("status", "finished")]);
        assert_eq!(like("description:*mnist*,tag:cv"), vec![field("description", "%mnist%"), field("tag", "cv")]);
        assert_eq!(like("resnet"), vec![free("%resnet%")]);
        assert_eq!(like("search all for this"), vec![free("%search%all%for%this%")]);
        assert_eq!(like(" a , status:queued "), vec![free("%a%"), field("status", "queued")]);
        assert_eq!(like("name_??"), vec![free("%name\\___%")]);
    }

    #[test]
    fn quoting_and_escapes() {
        assert_eq!(like(r#"description:"baseline run*""#), vec![field("description", "baseline run%")]);
        assert_eq!(like(r#""search \"this\", and 'that'""#), vec![free("%search \"this\", and 'that'%")]);
        assert_eq!(like(r"\*"), vec![free("%*%")]);
        assert_eq!(like(r"search_\*"), vec![free("%search\\_*%")]);
        assert_eq!(like(r"a\,b\:c\\d\n"), vec![free("%a,b:c\\\\d\n%")]);
        assert_eq!(like(r#"'100%'"#), vec![free("%100\\%%")]);
    }

    #[test]
    fn errors() {
        let reason = |q: &str| parse(q, FIELDS).unwrap_err().reason;
        assert_eq!(reason("bogus:x"), "'bogus' is not a valid field");
        assert!(reason("bad=assignment").contains("'='"), "{}", reason("bad=assignment"));
        assert!(reason("bad-name:x").contains("'-'"));
        assert!(reason("description:bad_delim|tag:cv").contains("'|'"));
        assert!(reason("\"forgot to close").contains("not closed"));
        assert!(reason(r"\q").contains("not an escape"));
        assert!(reason("field:search all").contains("space"));
        assert!(reason("a,,b").contains("empty"));
        assert!(reason("a,").contains("empty"));
        assert!(reason("status:").contains("no value"));
        assert!(reason("''").contains("empty quoted"));
        assert!(reason("100%").contains("'%'"));
        assert!(reason("x' OR '1'='1").contains("quote"));
        assert!(reason("a\\").contains("backslash"));
        assert_eq!(reason(&vec!["a"; MAX_TERMS + 1].join(",")), "more than 100 terms");
        assert_eq!(parse(&vec!["a"; MAX_TERMS].join(","), FIELDS).unwrap().len(), MAX_TERMS);
        assert_eq!(reason("Status:x"), "'Status' is not a valid field");
        assert!(reason(r"'it''s'").contains("closing quote"));
        assert!(reason(r#"description:'x'' OR 1=1'"#).contains("closing quote"));
    }

    #[test]
    fn patterns_match_like_sql_would() {
        let p = |q: &str| parse(q, FIELDS).unwrap().remove(0).pattern;
        assert!(p("status:fin*").matches("finished"));
        assert!(p("status:FIN*").matches("finished"));
        assert!(!p("status:fin").matches("finished"));
        assert!(p("status:queue?").matches("queued"));
        assert!(!p("status:queue?").matches("queue"));
        assert!(p("base run").matches("a baseline for the run"));
        assert!(!p("run base").matches("a baseline for the run"));
        assert!(p("'50%'").matches("only 50% done"));
        assert!(!p("'50%'").matches("only 50 done"));
        assert!(p("a_b").matches("xa_by"));
        assert!(!p("a_b").matches("xaxby"));
    }
}

/// Properties (issue 10): the parser refuses what it does not read without panicking,
/// reads generated queries as the grammar says, and the LIKE rendering keeps `%`, `_` and
/// the escape character literal.
#[cfg(test)]
mod props {
    use super::*;
    use proptest::prelude::*;

    const FIELDS: &[&str] = &["description", "status", "timeout", "tag"];

    /// One piece of a generated value: a character, `*` or `?`.
    #[derive(Debug, Clone)]
    enum Gen {
        Char(char),
        Run,
        One,
    }

    /// A generated term: a field value or free text, each unquoted or quoted.
    #[derive(Debug, Clone)]
    enum GenTerm {
        Field { field: &'static str, value: Vec<Gen>, quote: Option<char> },
        Words(Vec<Vec<Gen>>),
        Quoted { quote: char, value: Vec<Gen> },
    }

    fn piece(chars: &'static str) -> impl Strategy<Value = Gen> {
        prop_oneof![
            6 => prop::string::string_regex(chars).unwrap().prop_map(|s| Gen::Char(s.chars().next().unwrap_or('a'))),
            1 => Just(Gen::Run),
            1 => Just(Gen::One),
        ]
    }

    /// What may stand unquoted: word characters and characters an escape gives.
    const UNQUOTED: &str = "[A-Za-z0-9_\\\\?*\"':,\n]";
    /// What may stand in quotes: any character but a control one (a newline is escaped).
    const QUOTED: &str = "[^\\p{Cc}]|[\\\\?*\"':,\n%]";

    fn gen_term() -> impl Strategy<Value = GenTerm> {
        let quote = prop_oneof![Just('"'), Just('\'')];
        prop_oneof![
            (prop::sample::select(FIELDS), prop::collection::vec(piece(UNQUOTED), 1..8)).prop_map(|(field, value)| GenTerm::Field { field, value, quote: None }),
            (prop::sample::select(FIELDS), prop::collection::vec(piece(QUOTED), 1..8), quote.clone())
                .prop_map(|(field, value, q)| GenTerm::Field { field, value, quote: Some(q) }),
            prop::collection::vec(prop::collection::vec(piece(UNQUOTED), 1..5), 1..4).prop_map(GenTerm::Words),
            (quote, prop::collection::vec(piece(QUOTED), 1..8)).prop_map(|(quote, value)| GenTerm::Quoted { quote, value }),
        ]
    }

    /// The text of `value`; `quote` is the enclosing quote, if any.
    fn render(value: &[Gen], quote: Option<char>) -> String {
        let mut out = String::new();
        for g in value {
            match g {
                Gen::Run => out.push('*'),
                Gen::One => out.push('?'),
                Gen::Char('\n') => out.push_str("\\n"),
                Gen::Char(c @ ('\\' | '*' | '?')) => {
                    out.push('\\');
                    out.push(*c);
                }
                Gen::Char(c) if quote == Some(*c) || (quote.is_none() && !is_word_char(*c)) => {
                    out.push('\\');
                    out.push(*c);
                }
                Gen::Char(c) => out.push(*c),
            }
        }
        match quote {
            Some(q) => format!("{q}{out}{q}"),
            None => out,
        }
    }

    fn pattern(value: &[Gen]) -> Pattern {
        let mut p = Pattern::default();
        for g in value {
            match g {
                Gen::Char(c) => p.push_char(*c),
                Gen::Run => p.pieces.push(Piece::AnyRun),
                Gen::One => p.pieces.push(Piece::AnyOne),
            }
        }
        p
    }

    /// The query text of `terms` with `spaces` around them, and the terms the grammar says it has.
    fn query(terms: &[GenTerm], spaces: &[(usize, usize)]) -> (String, Vec<Term>) {
        let mut parts = Vec::new();
        let mut expected = Vec::new();
        for (t, (before, after)) in terms.iter().zip(spaces.iter().chain(std::iter::repeat(&(0, 0)))) {
            let (text, term) = match t {
                GenTerm::Field { field, value, quote } => {
                    (format!("{field}:{}", render(value, *quote)), Term { field: Some(field.to_string()), pattern: pattern(value) })
                }
                GenTerm::Words(words) => {
                    let text = words.iter().map(|w| render(w, None)).collect::<Vec<_>>().join(&" ".repeat(1 + before % 2));
                    let mut p = Pattern::default();
                    for (i, w) in words.iter().enumerate() {
                        if i > 0 {
                            p.pieces.push(Piece::AnyRun);
                        }
                        p.pieces.extend(pattern(w).pieces);
                    }
                    (text, Term { field: None, pattern: p.anywhere() })
                }
                GenTerm::Quoted { quote, value } => {
                    let mut p = Pattern { pieces: vec![Piece::AnyRun] };
                    p.pieces.extend(pattern(value).pieces);
                    (render(value, Some(*quote)), Term { field: None, pattern: p.anywhere() })
                }
            };
            parts.push(format!("{}{text}{}", " ".repeat(*before), " ".repeat(*after)));
            expected.push(term);
        }
        (parts.join(","), expected)
    }

    /// `like` (escape character `escape`) read back into pieces.
    fn like_pieces(like: &str, escape: char) -> Vec<Piece> {
        let mut p = Pattern::default();
        let mut chars = like.chars();
        while let Some(c) = chars.next() {
            match c {
                c if c == escape => p.push_char(chars.next().expect("an escape is followed by a character")),
                '%' => p.pieces.push(Piece::AnyRun),
                '_' => p.pieces.push(Piece::AnyOne),
                c => p.push_char(c),
            }
        }
        p.pieces
    }

    /// SQL `LIKE` semantics (with an escape character), independently of [`Pattern::matches`].
    fn like_matches(like: &str, escape: char, text: &str) -> bool {
        fn go(p: &[char], t: &[char], escape: char) -> bool {
            match p.split_first() {
                None => t.is_empty(),
                Some(('%', rest)) => (0..=t.len()).any(|i| go(rest, &t[i..], escape)),
                Some(('_', rest)) => !t.is_empty() && go(rest, &t[1..], escape),
                Some((c, rest)) if *c == escape => !t.is_empty() && rest.first() == Some(&t[0]) && go(&rest[1..], &t[1..], escape),
                Some((c, rest)) => t.first() == Some(c) && go(rest, &t[1..], escape),
            }
        }
        go(&like.chars().collect::<Vec<_>>(), &text.chars().collect::<Vec<_>>(), escape)
    }

    fn any_pattern() -> impl Strategy<Value = Pattern> {
        prop::collection::vec(piece("[ab%_\\\\!A]"), 0..8).prop_map(|v| pattern(&v))
    }

    proptest! {
        #[test]
        fn parse_never_panics(q in "[a-z:,'\"\\\\*? _%\n]{0,30}|\\PC{0,30}|.{0,30}") {
            match parse(&q, FIELDS) {
                Ok(terms) => {
                    prop_assert!(terms.len() <= MAX_TERMS);
                    for t in &terms {
                        prop_assert!(!t.pattern.pieces.is_empty(), "{:?} -> {:?}", q, t);
                        prop_assert!(t.field.as_deref().is_none_or(|f| FIELDS.contains(&f)));
                    }
                    prop_assert_eq!(terms.is_empty(), q.trim().is_empty());
                }
                Err(e) => prop_assert!(!e.reason.is_empty()),
            }
        }

        #[test]
        fn generated_queries_parse_to_their_terms(terms in prop::collection::vec(gen_term(), 1..6), spaces in prop::collection::vec((0..3usize, 0..3usize), 0..6)) {
            let (text, expected) = query(&terms, &spaces);
            prop_assert_eq!(parse(&text, FIELDS), Ok(expected), "{}", text);
        }

        #[test]
        fn unknown_fields_are_refused(field in "[A-Za-z_]{1,12}", value in "[a-z0-9]{1,6}") {
            prop_assume!(!FIELDS.contains(&field.as_str()));
            prop_assert_eq!(parse(&format!("tag:x,{field}:{value}"), FIELDS).unwrap_err().reason, format!("'{field}' is not a valid field"));
        }

        #[test]
        fn literal_text_escapes_to_itself(s in "\\PC{0,20}|[%_\\\\!]{0,10}", escape in prop::sample::select(vec!['\\', '!', '#', '^'])) {
            let p = Pattern { pieces: vec![Piece::Literal(s.clone())] };
            let like = p.to_like(escape, false);
            prop_assert_eq!(like_pieces(&like, escape), if s.is_empty() { vec![] } else { vec![Piece::Literal(s.clone())] });
            // a literal matches only itself, whatever `%`, `_` or escape characters it holds
            prop_assert!(like_matches(&like, escape, &s));
            let longer = s.clone() + "x";
            prop_assert!(!like_matches(&like, escape, &longer));
        }

        #[test]
        fn like_rendering_reads_back_as_the_pattern(p in any_pattern(), escape in prop::sample::select(vec!['\\', '!'])) {
            prop_assert_eq!(like_pieces(&p.to_like(escape, false), escape), p.pieces);
        }

        #[test]
        fn like_rendering_matches_as_the_pattern_does(p in any_pattern(), text in "[ab%_\\\\!AB]{0,10}", escape in prop::sample::select(vec!['\\', '!'])) {
            // the store compares lower(column) LIKE the lowercased rendering
            prop_assert_eq!(like_matches(&p.to_like(escape, true), escape, &text.to_ascii_lowercase()), p.matches(&text), "{:?}", p);
        }
    }
}
