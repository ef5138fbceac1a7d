//! The syntax tree: plain data with byte spans, built from the pest parse.
//! It knows nothing of salsa, types or the language server.

/// A byte range in one source file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Span {
    pub start: u32,
    pub end: u32,
}

impl Span {
    pub fn new(start: usize, end: usize) -> Span {
        Span { start: start as u32, end: end as u32 }
    }
    pub fn to(self, other: Span) -> Span {
        Span { start: self.start.min(other.start), end: self.end.max(other.end) }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Ident {
    pub text: String,
    pub span: Span,
}

/// A string literal without interpolation (wire names, codes, test names).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct StrLit {
    pub value: String,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct File {
    pub items: Vec<Item>,
    /// Names declared by items that failed to parse: the checker does not
    /// report them as unknown, so one syntax error is reported once.
    pub broken: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Item {
    Enum(EnumDecl),
    Record(RecordDecl),
    Destination(DestinationDecl),
    Table(TableDecl),
    Fn(FnDecl),
    Decision(DecisionDecl),
    Handler(Handler),
    Test(TestDecl),
    State(StateDecl),
    Metric(Box<MetricDecl>),
    Calendar(CalendarDecl),
}

impl Item {
    pub fn span(&self) -> Span {
        match self {
            Item::Enum(d) => d.span,
            Item::Record(d) => d.span,
            Item::Destination(d) => d.span,
            Item::Table(d) => d.span,
            Item::Fn(d) => d.span,
            Item::Decision(d) => d.span,
            Item::Handler(d) => d.span,
            Item::Test(d) => d.span,
            Item::State(d) => d.span,
            Item::Metric(d) => d.span,
            Item::Calendar(d) => d.span,
        }
    }
    /// The declared name, for items that declare one.
    pub fn name(&self) -> Option<&Ident> {
        match self {
            Item::Enum(d) => Some(&d.name),
            Item::Record(d) => Some(&d.name),
            Item::Destination(d) => Some(&d.name),
            Item::Table(d) => Some(&d.name),
            Item::Fn(d) => Some(&d.name),
            Item::Decision(d) => Some(&d.name),
            Item::State(d) => Some(&d.name),
            Item::Metric(d) => Some(&d.name),
            Item::Calendar(d) => Some(&d.name),
            Item::Handler(_) | Item::Test(_) => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EnumDecl {
    pub docs: Option<String>,
    pub name: Ident,
    pub variants: Vec<Variant>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Variant {
    pub docs: Option<String>,
    pub name: Ident,
    pub wire: Option<StrLit>,
}

/// A `record` or an `event` (an event is a record that can arrive as `data`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RecordDecl {
    pub docs: Option<String>,
    pub name: Ident,
    pub is_event: bool,
    /// `event Name as "type"`.
    pub wire_type: Option<StrLit>,
    pub fields: Vec<FieldDecl>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FieldDecl {
    pub docs: Option<String>,
    pub name: Ident,
    pub ty: TypeRef,
    pub wire: Option<StrLit>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum TypeRef {
    Named(Ident),
    List(Box<TypeRef>, Span),
    Optional(Box<TypeRef>, Span),
}

impl TypeRef {
    pub fn span(&self) -> Span {
        match self {
            TypeRef::Named(i) => i.span,
            TypeRef::List(_, s) | TypeRef::Optional(_, s) => *s,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DestinationDecl {
    pub docs: Option<String>,
    pub name: Ident,
    /// `destination erp[Entity]: R`: a family, one member per variant of the enum.
    pub index: Option<TypeRef>,
    pub ty: TypeRef,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TableDecl {
    pub docs: Option<String>,
    pub name: Ident,
    pub ty: TypeRef,
    pub keys: Vec<Ident>,
    /// `effective from` or `effective from to to` (LANGUAGE.md §5.1).
    pub effective: Option<Effective>,
    pub span: Span,
}

/// The validity of an effective-dated table: its start column and optional end column.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Effective {
    pub from: Ident,
    pub to: Option<Ident>,
}

/// `calendar name { holidays: t, periods: t, weekend: Saturday, Sunday }` (LANGUAGE.md §5.3).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CalendarDecl {
    pub docs: Option<String>,
    pub name: Ident,
    /// Each entry: its name and its values, as written.
    pub entries: Vec<(Ident, Vec<Ident>)>,
    pub span: Span,
}

/// `state name: Record key field` (LANGUAGE.md §4.5).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct StateDecl {
    pub docs: Option<String>,
    pub name: Ident,
    pub ty: TypeRef,
    pub keys: Vec<Ident>,
    pub span: Span,
}

/// `metric name = sum(state, x => e) where c by f, g age field > N unit` (LANGUAGE.md §4.6).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MetricDecl {
    pub docs: Option<String>,
    pub name: Ident,
    /// `sum` or `count`.
    pub aggregate: Ident,
    pub state: Ident,
    pub param: Ident,
    pub body: Expr,
    pub filter: Option<Expr>,
    pub by: Vec<Ident>,
    pub age: Option<AgeClause>,
    pub span: Span,
}

/// `age field > N unit`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AgeClause {
    pub field: Ident,
    /// The digits as written, underscores removed.
    pub amount: String,
    pub amount_span: Span,
    pub unit: Ident,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Param {
    pub name: Ident,
    pub ty: TypeRef,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FnDecl {
    pub docs: Option<String>,
    pub name: Ident,
    pub params: Vec<Param>,
    pub ret: TypeRef,
    pub lets: Vec<LetStmt>,
    pub body: Expr,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DecisionDecl {
    pub docs: Option<String>,
    pub name: Ident,
    pub params: Vec<Param>,
    pub ret: TypeRef,
    /// The hit policy, its words joined by one space (`output order`, `collect sum`).
    pub hit: Ident,
    /// `default expr`: the output when no row matches.
    pub default: Option<Expr>,
    pub inputs: Vec<Ident>,
    pub outputs: Vec<Ident>,
    pub header_span: Span,
    pub rows: Vec<Row>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Row {
    pub inputs: Vec<Cell>,
    pub outputs: Vec<Expr>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Cell {
    pub kind: CellKind,
    pub span: Span,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CmpOp {
    Lt,
    Le,
    Gt,
    Ge,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum CellKind {
    /// `-`
    Any,
    /// `v1, v2` or `not v1, v2`
    Values { negated: bool, values: Vec<Lit> },
    /// `< v`, `>= v` ...
    Cmp(CmpOp, Lit),
    /// `[a..b)` and friends
    Range { lo: Lit, lo_closed: bool, hi: Lit, hi_closed: bool },
    /// `< 18, >= 60`: a list of comparisons, ranges and values, any of which matches.
    AnyOf(Vec<Cell>),
}

/// A constant in a decision cell or a `match` pattern.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Lit {
    pub kind: LitKind,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum LitKind {
    /// Digits as written, underscores removed, with a leading `-` if negative.
    Int(String),
    Decimal(String),
    Money(String, String),
    Text(String),
    Bool(bool),
    None,
    Temporal(String),
    /// A bare name: an enum variant or currency resolved by the expected type.
    Name(Ident),
    /// `Type.Variant`
    Qualified(Ident, Ident),
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Handler {
    pub docs: Option<String>,
    pub event: Ident,
    pub binding: Ident,
    pub body: Block,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Block {
    pub stmts: Vec<Stmt>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LetStmt {
    pub name: Ident,
    pub value: Expr,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Rejection {
    pub code: Ident,
    pub message: Option<Expr>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum StmtKind {
    Let(LetStmt),
    Check {
        cond: Expr,
        reject: Rejection,
    },
    Require {
        cond: Expr,
        reject: Rejection,
    },
    Reject(Rejection),
    Emit {
        dest: Ident,
        /// `emit erp[e] v`: the member of a destination family.
        index: Option<Expr>,
        value: Expr,
    },
    If {
        branches: Vec<(Expr, Block)>,
        otherwise: Option<Block>,
    },
    Match {
        scrutinee: Expr,
        arms: Vec<StmtArm>,
    },
    /// `for x in xs` or `for i, x in xs` (`index`: the zero-based position).
    For {
        index: Option<Ident>,
        var: Ident,
        iter: Expr,
        body: Block,
    },
    /// `put state record`
    Put {
        state: Ident,
        value: Expr,
    },
    /// `update state[k] { field: e, ... }`
    Update {
        state: Ident,
        keys: Vec<Expr>,
        fields: Vec<FieldInit>,
    },
    /// `delete state[k]`
    Delete {
        state: Ident,
        keys: Vec<Expr>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Stmt {
    pub kind: StmtKind,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct StmtArm {
    pub patterns: Vec<Pattern>,
    pub body: Block,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Pattern {
    Wildcard(Span),
    Lit(Lit),
}

impl Pattern {
    pub fn span(&self) -> Span {
        match self {
            Pattern::Wildcard(s) => *s,
            Pattern::Lit(l) => l.span,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TestDecl {
    pub name: StrLit,
    pub stmts: Vec<TestStmt>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TestStmt {
    pub kind: TestStmtKind,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum TestStmtKind {
    Given(Expr),
    GivenFile(StrLit),
    With {
        table: Ident,
        rows: Vec<Expr>,
    },
    ExpectStatus(Ident),
    ExpectReject(ExpectReject),
    ExpectEmit(ExpectedEmit),
    /// `expect exactly { emit ... }`: these emits, in order, and no other.
    ExpectExactly(Vec<ExpectedEmit>),
    ExpectNoEmit {
        dest: Ident,
        /// `expect no emit erp[EU]`: one member of a family.
        member: Option<Ident>,
    },
    /// `expect state s[k] R { ... }`, or with `record` `None`, `expect no state s[k]`.
    ExpectState {
        state: Ident,
        keys: Vec<Expr>,
        record: Option<Expr>,
    },
    Assert(Expr),
    Let(LetStmt),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    In,
    NotIn,
    And,
    Or,
    Coalesce,
}

impl BinOp {
    pub fn symbol(self) -> &'static str {
        match self {
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
            BinOp::Div => "/",
            BinOp::Eq => "==",
            BinOp::Ne => "!=",
            BinOp::Lt => "<",
            BinOp::Le => "<=",
            BinOp::Gt => ">",
            BinOp::Ge => ">=",
            BinOp::In => "in",
            BinOp::NotIn => "not in",
            BinOp::And => "and",
            BinOp::Or => "or",
            BinOp::Coalesce => "??",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UnOp {
    Neg,
    Not,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Expr {
    pub kind: ExprKind,
    pub span: Span,
}

impl Expr {
    /// Calls `f` on each expression directly within this one, in the order
    /// they stand in the text (the walks of the tree: the language server's,
    /// and the nesting limit's in syntax/nesting.rs).
    pub fn for_each_child<'a>(&'a self, f: &mut dyn FnMut(&'a Expr)) {
        match &self.kind {
            ExprKind::Lit(_) | ExprKind::Name(_) => {}
            ExprKind::Text(parts) => {
                for p in parts {
                    if let StrPart::Expr(x) = p {
                        f(x);
                    }
                }
            }
            ExprKind::Field { base: x, .. } | ExprKind::BadCall { callee: x } => f(x),
            ExprKind::Call { args, .. } => {
                for a in args {
                    match a {
                        Arg::Expr(x) | Arg::Lambda { body: x, .. } => f(x),
                    }
                }
            }
            ExprKind::Index { base, keys, as_of } => {
                f(base);
                keys.iter().for_each(&mut *f);
                if let Some(d) = as_of {
                    f(d);
                }
            }
            ExprKind::Unary { expr: x, .. } | ExprKind::Paren(x) => f(x),
            ExprKind::Binary { lhs, rhs, .. } => {
                f(lhs);
                f(rhs);
            }
            ExprKind::If { cond, then, otherwise } => {
                f(cond);
                f(then);
                f(otherwise);
            }
            ExprKind::Match { scrutinee, arms } => {
                f(scrutinee);
                for a in arms {
                    f(&a.body);
                }
            }
            ExprKind::Record { fields, .. } => {
                for x in fields {
                    f(&x.value);
                }
            }
            ExprKind::List(items) => items.iter().for_each(f),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum StrPart {
    Text(String),
    Expr(Expr),
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FieldInit {
    pub name: Ident,
    pub value: Expr,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Arg {
    Expr(Expr),
    Lambda { param: Ident, body: Expr, span: Span },
}

impl Arg {
    pub fn span(&self) -> Span {
        match self {
            Arg::Expr(e) => e.span,
            Arg::Lambda { span, .. } => *span,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ExprArm {
    pub patterns: Vec<Pattern>,
    pub body: Expr,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ExprKind {
    Lit(LitKind),
    /// A string literal with interpolation.
    Text(Vec<StrPart>),
    Name(Ident),
    Field {
        base: Box<Expr>,
        name: Ident,
        optional: bool,
    },
    Call {
        callee: Ident,
        args: Vec<Arg>,
    },
    /// A call on something that is not a plain name (always an error).
    BadCall {
        callee: Box<Expr>,
    },
    Index {
        base: Box<Expr>,
        keys: Vec<Expr>,
        /// `as of e` (an effective-dated table, LANGUAGE.md §5.1).
        as_of: Option<Box<Expr>>,
    },
    Unary {
        op: UnOp,
        expr: Box<Expr>,
    },
    Binary {
        op: BinOp,
        lhs: Box<Expr>,
        rhs: Box<Expr>,
    },
    If {
        cond: Box<Expr>,
        then: Box<Expr>,
        otherwise: Box<Expr>,
    },
    Match {
        scrutinee: Box<Expr>,
        arms: Vec<ExprArm>,
    },
    Record {
        name: Ident,
        fields: Vec<FieldInit>,
        rest: Option<Span>,
    },
    List(Vec<Expr>),
    Paren(Box<Expr>),
}

/// `emit dest[member]? Record { ... }` in a test's expectations.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ExpectedEmit {
    pub dest: Ident,
    /// The variant naming a member of a destination family.
    pub member: Option<Ident>,
    pub record: Expr,
    /// From `emit` to the record's end.
    pub span: Span,
}

/// `expect reject CODE "message" times N`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ExpectReject {
    pub code: Ident,
    pub message: Option<(MessageMatch, StrLit)>,
    /// The count and its span.
    pub times: Option<(u32, Span)>,
}

/// How `expect reject`'s message is matched: `"m"`, `"m" ..`, `.. "m"`, `.. "m" ..`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MessageMatch {
    Exact,
    Prefix,
    Suffix,
    Contains,
}
