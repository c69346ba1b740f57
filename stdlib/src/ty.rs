//! The type vocabulary of Orch (LANGUAGE.md §5), shared by the checker, the
//! language server and the runtime.

use std::fmt;
use std::sync::Arc;

use smol_str::SmolStr;

/// A type.
#[derive(Debug, Clone, PartialEq)]
pub enum Ty {
    String,
    Int,
    Float,
    Bool,
    Duration,
    /// Dynamic: from `json_decode` or HTTP bodies; checked where used.
    Any,
    /// The type of the literal `none`, assignable to any `T?`.
    None,
    List(Box<Ty>),
    /// String-keyed; keys iterate in lexicographic order.
    Map(Box<Ty>),
    Record(Arc<RecordTy>),
    Optional(Box<Ty>),
    /// A union of string literals (an enum); a single literal type is an
    /// enum of one member. Members are kept in written order.
    Enum(Arc<[SmolStr]>),
    /// A value that must not be shown.
    Secret(Box<Ty>),
    /// The type of something already reported as an error: it is
    /// compatible with everything, so one mistake gives one diagnostic.
    Error,
}

/// A record type: named fields, some optional. Resource kinds are records
/// of their input and output fields, named after the kind.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordTy {
    /// The kind (`fs.file`) or alias name, for messages; `None` for
    /// anonymous records and object literals.
    pub name: Option<SmolStr>,
    pub fields: Vec<FieldTy>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct FieldTy {
    pub name: SmolStr,
    pub ty: Ty,
    pub optional: bool,
}

impl RecordTy {
    pub fn field(&self, name: &str) -> Option<&FieldTy> {
        self.fields.iter().find(|f| f.name == name)
    }
}

impl Ty {
    pub fn list(inner: Ty) -> Ty {
        Ty::List(Box::new(inner))
    }

    pub fn map(inner: Ty) -> Ty {
        Ty::Map(Box::new(inner))
    }

    /// `T?`; optional of optional stays single, and `none`/errors are kept.
    pub fn optional(inner: Ty) -> Ty {
        match inner {
            Ty::Optional(_) | Ty::None | Ty::Error | Ty::Any => inner,
            Ty::Secret(inner) => Ty::Secret(Box::new(Ty::optional(*inner))),
            other => Ty::Optional(Box::new(other)),
        }
    }

    /// `secret<T>`; secrecy does not nest.
    pub fn secret(inner: Ty) -> Ty {
        match inner {
            Ty::Secret(_) | Ty::Error => inner,
            other => Ty::Secret(Box::new(other)),
        }
    }

    pub fn record(name: Option<&str>, fields: Vec<FieldTy>) -> Ty {
        Ty::Record(Arc::new(RecordTy { name: name.map(SmolStr::new), fields }))
    }

    pub fn is_error(&self) -> bool {
        matches!(self, Ty::Error)
    }

    pub fn is_secret(&self) -> bool {
        matches!(self, Ty::Secret(_))
    }

    /// Whether a value of this type holds a secret anywhere: it is one, or
    /// an element, value or field is.
    pub fn contains_secret(&self) -> bool {
        match self {
            Ty::Secret(_) => true,
            Ty::List(inner) | Ty::Map(inner) | Ty::Optional(inner) => inner.contains_secret(),
            Ty::Record(record) => record.fields.iter().any(|f| f.ty.contains_secret()),
            _ => false,
        }
    }

    /// The type without a secret mark.
    pub fn reveal(&self) -> &Ty {
        match self {
            Ty::Secret(inner) => inner,
            other => other,
        }
    }

    /// The type without an optional mark (and without a secret mark).
    pub fn unwrap_optional(&self) -> &Ty {
        match self.reveal() {
            Ty::Optional(inner) => inner,
            other => other,
        }
    }

    pub fn is_optional(&self) -> bool {
        matches!(self.reveal(), Ty::Optional(_) | Ty::None)
    }

    pub fn is_numeric(&self) -> bool {
        matches!(self.reveal(), Ty::Int | Ty::Float)
    }

    /// Whether a value of type `self` may be used where `expected` is
    /// required. Secrets are handled by the checker, which reports their
    /// source; here a secret is assignable to what its inner type is.
    pub fn assignable_to(&self, expected: &Ty) -> bool {
        use Ty::*;
        match (self.reveal(), expected.reveal()) {
            (Error, _) | (_, Error) | (Any, _) | (_, Any) => true,
            (Int, Float) => true,
            (None, Optional(_)) => true,
            (Optional(a), Optional(b)) => a.assignable_to(b),
            (a, Optional(b)) => a.assignable_to(b),
            (Enum(_), String) => true,
            (Enum(a), Enum(b)) => a.iter().all(|m| b.contains(m)),
            (List(a), List(b)) | (Map(a), Map(b)) => a.assignable_to(b),
            (Record(a), Map(b)) => a.fields.iter().all(|f| f.ty.assignable_to(b)),
            (Record(a), Record(b)) => {
                b.fields.iter().all(|want| match a.field(&want.name) {
                    Some(got) => got.ty.assignable_to(&want.ty) && (want.optional || !got.optional),
                    Option::None => want.optional,
                }) && a.fields.iter().all(|got| b.field(&got.name).is_some())
            }
            (a, b) => a == b,
        }
    }

    /// The smallest type both `a` and `b` are assignable to, if any: used for
    /// list elements and the branches of `? :`.
    pub fn unify(a: &Ty, b: &Ty) -> Option<Ty> {
        use Ty::*;
        if a.is_secret() || b.is_secret() {
            return Ty::unify(a.reveal(), b.reveal()).map(Ty::secret);
        }
        Some(match (a, b) {
            (Error, _) | (_, Error) => Error,
            (Any, _) | (_, Any) => Any,
            (None, None) => None,
            (None, other) | (other, None) => Ty::optional(other.clone()),
            (Optional(x), Optional(y)) => Ty::optional(Ty::unify(x, y)?),
            (Optional(x), other) | (other, Optional(x)) => Ty::optional(Ty::unify(x, other)?),
            (Int, Float) | (Float, Int) => Float,
            (Enum(x), Enum(y)) => {
                let mut members: Vec<SmolStr> = x.to_vec();
                for m in y.iter() {
                    if !members.contains(m) {
                        members.push(m.clone());
                    }
                }
                Enum(members.into())
            }
            (Enum(_), String) | (String, Enum(_)) => String,
            (List(x), List(y)) => Ty::list(Ty::unify(x, y)?),
            (Map(x), Map(y)) => Ty::map(Ty::unify(x, y)?),
            (Record(x), Record(y)) => {
                if x == y {
                    a.clone()
                } else {
                    // Records with the same fields unify field by field;
                    // a field present on one side only becomes optional.
                    let mut fields = Vec::new();
                    for f in &x.fields {
                        match y.field(&f.name) {
                            Some(g) => fields.push(FieldTy {
                                name: f.name.clone(),
                                ty: Ty::unify(&f.ty, &g.ty)?,
                                optional: f.optional || g.optional,
                            }),
                            Option::None => fields.push(FieldTy { optional: true, ..f.clone() }),
                        }
                    }
                    for g in &y.fields {
                        if x.field(&g.name).is_none() {
                            fields.push(FieldTy { optional: true, ..g.clone() });
                        }
                    }
                    Ty::record(Option::None, fields)
                }
            }
            (x, y) if x == y => x.clone(),
            _ => return Option::None,
        })
    }
}

impl fmt::Display for Ty {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Ty::String => write!(f, "string"),
            Ty::Int => write!(f, "int"),
            Ty::Float => write!(f, "float"),
            Ty::Bool => write!(f, "bool"),
            Ty::Duration => write!(f, "duration"),
            Ty::Any => write!(f, "any"),
            Ty::None => write!(f, "none"),
            Ty::List(inner) => write!(f, "list<{inner}>"),
            Ty::Map(inner) => write!(f, "map<{inner}>"),
            Ty::Record(record) => match &record.name {
                Some(name) => write!(f, "{name}"),
                Option::None => {
                    write!(f, "{{ ")?;
                    for (i, field) in record.fields.iter().enumerate() {
                        if i > 0 {
                            write!(f, ", ")?;
                        }
                        let q = if field.optional { "?" } else { "" };
                        write!(f, "{}{q}: {}", field.name, field.ty)?;
                    }
                    write!(f, " }}")
                }
            },
            Ty::Optional(inner) => match **inner {
                Ty::Enum(_) => write!(f, "({inner})?"),
                _ => write!(f, "{inner}?"),
            },
            Ty::Enum(members) => {
                for (i, m) in members.iter().enumerate() {
                    if i > 0 {
                        write!(f, " | ")?;
                    }
                    write!(f, "{m:?}")?;
                }
                Ok(())
            }
            Ty::Secret(inner) => write!(f, "secret<{inner}>"),
            Ty::Error => write!(f, "{{unknown}}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assignability() {
        assert!(Ty::Int.assignable_to(&Ty::Float));
        assert!(!Ty::Float.assignable_to(&Ty::Int));
        assert!(Ty::None.assignable_to(&Ty::optional(Ty::String)));
        assert!(Ty::String.assignable_to(&Ty::optional(Ty::String)));
        assert!(!Ty::optional(Ty::String).assignable_to(&Ty::String));
        let e = Ty::Enum(vec![SmolStr::new("a"), SmolStr::new("b")].into());
        assert!(e.assignable_to(&Ty::String));
        assert!(!Ty::String.assignable_to(&e));
        assert_eq!(Ty::unify(&Ty::Int, &Ty::Float), Some(Ty::Float));
        assert_eq!(Ty::unify(&Ty::Int, &Ty::String), None);
        assert_eq!(Ty::optional(Ty::String).to_string(), "string?");
        assert_eq!(Ty::map(Ty::list(Ty::Int)).to_string(), "map<list<int>>");
    }
}
