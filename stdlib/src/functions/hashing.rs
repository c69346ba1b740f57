//! Hashing functions: `sha256 sha1 md5`, each of a string's UTF-8 bytes, as
//! lowercase hexadecimal.

use md5::Md5;
use sha1::Sha1;
use sha2::{Digest, Sha256};

use super::support::{arity, at_most, expect, str_arg};
use super::{BuiltinError, Function, Host};
use crate::ty::Ty;
use crate::value::Value;

/// The SHA-256 of a string's UTF-8 bytes in lowercase hexadecimal, as the
/// `sha256` function and the `sha256` outputs of `fs.file` and `fs.read`
/// give it.
pub fn sha256_hex(text: &str) -> String {
    hex(&Sha256::digest(text.as_bytes()))
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        out.push(char::from(DIGITS[usize::from(byte >> 4)]));
        out.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
    out
}

pub(super) const SHA256: Function = Function {
    name: "sha256",
    signature: "sha256(text: string) -> string",
    doc: r#"Computes the SHA-256 hash of a string's UTF-8 bytes, in lowercase hexadecimal.

It equals the `sha256` output of an `fs.file` with that content.

```orch
sha256("hello")   // "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
```"#,
    check: check_sha256,
    eval: eval_sha256,
};

fn check_sha256(args: &[Ty]) -> Result<Ty, String> {
    text_to_digest("sha256", args)
}

fn eval_sha256(args: &[Value], _: &dyn Host) -> Result<Value, BuiltinError> {
    at_most("sha256", args, 1)?;
    Ok(Value::string(sha256_hex(str_arg("sha256", args, 0, "text")?)))
}

pub(super) const SHA1: Function = Function {
    name: "sha1",
    signature: "sha1(text: string) -> string",
    doc: r#"Computes the SHA-1 hash of a string's UTF-8 bytes, in lowercase hexadecimal.

SHA-1 is broken for security purposes; use it only to match systems that
require it, and prefer `sha256`.

```orch
sha1("hello")   // "aaf4c61ddcc5e8a2dabede0f3b482cd9aea9434d"
```"#,
    check: check_sha1,
    eval: eval_sha1,
};

fn check_sha1(args: &[Ty]) -> Result<Ty, String> {
    text_to_digest("sha1", args)
}

fn eval_sha1(args: &[Value], _: &dyn Host) -> Result<Value, BuiltinError> {
    at_most("sha1", args, 1)?;
    let text = str_arg("sha1", args, 0, "text")?;
    Ok(Value::string(hex(&Sha1::digest(text.as_bytes()))))
}

pub(super) const MD5: Function = Function {
    name: "md5",
    signature: "md5(text: string) -> string",
    doc: r#"Computes the MD5 hash of a string's UTF-8 bytes, in lowercase hexadecimal.

MD5 is broken for security purposes; use it only to match systems that
require it (such as PostgreSQL's `md5` passwords), and prefer `sha256`.

```orch
md5("hello")   // "5d41402abc4b2a76b9719d911017c592"
```"#,
    check: check_md5,
    eval: eval_md5,
};

fn check_md5(args: &[Ty]) -> Result<Ty, String> {
    text_to_digest("md5", args)
}

fn eval_md5(args: &[Value], _: &dyn Host) -> Result<Value, BuiltinError> {
    at_most("md5", args, 1)?;
    let text = str_arg("md5", args, 0, "text")?;
    Ok(Value::string(hex(&Md5::digest(text.as_bytes()))))
}

fn text_to_digest(name: &str, args: &[Ty]) -> Result<Ty, String> {
    arity(name, args, 1, 1, "text")?;
    expect(name, args, 0, "text", &Ty::String, "a string")?;
    Ok(Ty::String)
}

#[cfg(test)]
mod tests {
    use super::super::tests::{check, eval, eval_err, s};
    use super::*;

    #[test]
    fn digests() {
        assert_eq!(
            eval(&SHA256, &[s("hello")]),
            s("2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824")
        );
        assert_eq!(
            eval(&SHA256, &[s("")]),
            s("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        );
        assert_eq!(eval(&SHA1, &[s("hello")]), s("aaf4c61ddcc5e8a2dabede0f3b482cd9aea9434d"));
        assert_eq!(eval(&MD5, &[s("hello")]), s("5d41402abc4b2a76b9719d911017c592"));
        assert_eq!(eval(&MD5, &[s("héllo")]), s("be50e8478cf24ff3595bc7307fb91b50"));
    }

    #[test]
    fn errors() {
        assert_eq!(check(&SHA256, &[Ty::Int]), Err("`sha256` takes a string, found int".into()));
        assert_eq!(check(&SHA1, &[]), Err("`sha1` takes 1 argument (text), found 0".into()));
        assert_eq!(check(&MD5, &[Ty::Any]), Ok(Ty::String));
        assert_eq!(eval_err(&MD5, &[Value::Bool(true)]), "`md5` takes a string, found bool");
        assert_eq!(eval_err(&SHA1, &[s("a"), s("b")]), "`sha1` takes at most 1 argument, found 2");
    }
}
