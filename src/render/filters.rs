//! The template filters: values become HCL and YAML literals here, never by quoting in a
//! template. These are security-relevant: a blueprint value (a name, an ARN, a CIDR)
//! reaches Terraform and YAML only through them, escaped so that it stays one string
//! (no `${` interpolation, no YAML 1.1 booleans, no line break).

use minijinja::value::{Value, ValueKind};
use minijinja::{Error, ErrorKind};

/// Writes `s` as a double-quoted string with backslash escapes, the syntax HCL and YAML
/// share; `hcl` also doubles `${` and `%{`, which Terraform would interpolate.
fn quoted(s: &str, hcl: bool) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '$' | '%' if hcl && chars.peek() == Some(&'{') => {
                out.push(c);
                out.push(c);
            }
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// `{{ list | join(sep) }}` (minijinja's builtins are not compiled in).
pub fn join(v: &Value, sep: &str) -> Result<String, Error> {
    let items: Vec<String> = v.try_iter()?.map(|i| i.to_string()).collect();
    Ok(items.join(sep))
}

/// `{{ s | replace(from, to) }}`.
pub fn replace(v: &str, from: &str, to: &str) -> String {
    v.replace(from, to)
}

/// `{{ v | hcl }}`: a string, number, bool or list as an HCL literal.
pub fn hcl_literal(v: &Value) -> Result<String, Error> {
    match v.kind() {
        ValueKind::String => Ok(quoted(v.as_str().unwrap_or_default(), true)),
        ValueKind::Bool => Ok(v.is_true().to_string()),
        ValueKind::Number => Ok(v.to_string()),
        ValueKind::Seq => {
            let items: Result<Vec<String>, Error> =
                v.try_iter()?.map(|i| hcl_literal(&i)).collect();
            Ok(format!("[{}]", items?.join(", ")))
        }
        _ => Err(Error::new(
            ErrorKind::InvalidOperation,
            format!("cannot write {} as HCL", v.kind()),
        )),
    }
}

/// `{{ v | yaml }}`: a string (always double-quoted, JSON-style escapes), number or bool
/// as a YAML scalar. Quoting every string keeps values such as `yes`, `0.0.0.0` or `1e3`
/// strings whatever the YAML version of the reader.
pub fn yaml_scalar(v: &Value) -> Result<String, Error> {
    match v.kind() {
        ValueKind::String => Ok(quoted(v.as_str().unwrap_or_default(), false)),
        ValueKind::Bool => Ok(v.is_true().to_string()),
        ValueKind::Number => Ok(v.to_string()),
        _ => Err(Error::new(
            ErrorKind::InvalidOperation,
            format!("cannot write {} as a YAML scalar", v.kind()),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hcl_strings_are_escaped() {
        assert_eq!(
            hcl_literal(&Value::from("a\"b\\${x}%{y}")).unwrap(),
            r#""a\"b\\$${x}%%{y}""#
        );
        assert_eq!(
            hcl_literal(&Value::from(vec!["a", "b"])).unwrap(),
            r#"["a", "b"]"#
        );
        assert_eq!(
            hcl_literal(&Value::from(Vec::<String>::new())).unwrap(),
            "[]"
        );
        assert_eq!(hcl_literal(&Value::from(true)).unwrap(), "true");
    }

    #[test]
    fn yaml_strings_are_quoted() {
        assert_eq!(yaml_scalar(&Value::from("yes")).unwrap(), "\"yes\"");
        assert_eq!(yaml_scalar(&Value::from("a\"b")).unwrap(), "\"a\\\"b\"");
        assert_eq!(yaml_scalar(&Value::from(false)).unwrap(), "false");
    }
}
