//! The one part of `terraform fmt` that templates cannot get right by hand: aligning the
//! `=` of consecutive single-line attributes. Terraform (hclwrite) pads the names in a
//! run of attribute lines to the longest one; a blank line, a comment, a block, a closing
//! bracket or an attribute whose value spans several lines ends the run.
//! hcl-rs's printer does not align, and template output cannot know the widths, so this
//! pass runs over every rendered `.tf`/`.tfvars` file.

/// Aligns `=` in runs of single-line attributes, as `terraform fmt` does.
pub fn align_attributes(src: &str) -> String {
    let mut out = String::with_capacity(src.len() + src.len() / 8);
    // The current run: (indent, key, value) borrowed from `src`.
    let mut run: Vec<(&str, &str, &str)> = Vec::new();

    fn flush(run: &mut Vec<(&str, &str, &str)>, out: &mut String) {
        let width = run.iter().map(|(_, k, _)| k.len()).max().unwrap_or(0);
        for (indent, key, value) in run.drain(..) {
            out.push_str(indent);
            out.push_str(key);
            out.extend(std::iter::repeat_n(' ', width - key.len()));
            out.push_str(" = ");
            out.push_str(value);
            out.push('\n');
        }
    }

    let mut lines = src.split('\n').peekable();
    while let Some(line) = lines.next() {
        let last = lines.peek().is_none();
        match single_line_attribute(line) {
            Some((indent, key, value)) => {
                if run.first().is_some_and(|(i, _, _)| *i != indent) {
                    flush(&mut run, &mut out);
                }
                run.push((indent, key, value));
                if last {
                    flush(&mut run, &mut out);
                    out.pop();
                }
            }
            None => {
                flush(&mut run, &mut out);
                out.push_str(line);
                if !last {
                    out.push('\n');
                }
            }
        }
    }
    out
}

/// Splits `  key = value` into its parts when the value is complete on this line.
/// Keys are ASCII identifiers, so byte lengths are display widths.
fn single_line_attribute(line: &str) -> Option<(&str, &str, &str)> {
    let trimmed = line.trim_start();
    let indent = &line[..line.len() - trimmed.len()];
    let key_end = trimmed
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))
        .unwrap_or(trimmed.len());
    let first = *trimmed.as_bytes().first()?;
    if key_end == 0 || !(first.is_ascii_alphabetic() || first == b'_') {
        return None;
    }
    let (key, rest) = trimmed.split_at(key_end);
    let value = rest.trim_start().strip_prefix('=')?;
    if value.starts_with('=') {
        return None;
    }
    let value = value.trim();
    if value.is_empty() || !balanced(value) {
        return None;
    }
    Some((indent, key, value))
}

/// True when every bracket opened in `value` closes on the same line (strings and
/// `${...}` interpolations inside them are skipped).
fn balanced(value: &str) -> bool {
    let mut depth: i32 = 0;
    let mut in_string = false;
    let mut interp = 0;
    let mut chars = value.chars().peekable();
    while let Some(c) = chars.next() {
        if in_string {
            match c {
                '\\' => {
                    chars.next();
                }
                '$' | '%' if chars.peek() == Some(&'{') => {
                    chars.next();
                    interp += 1;
                }
                '}' if interp > 0 => interp -= 1,
                '"' if interp == 0 => in_string = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => in_string = true,
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' => depth -= 1,
            '#' => break,
            _ => {}
        }
    }
    depth == 0 && !in_string
}

#[cfg(test)]
mod tests {
    use super::align_attributes;

    #[test]
    fn aligns_runs_and_breaks_them_like_terraform_fmt() {
        let src = "resource \"x\" \"y\" {\n  for_each = toset(var.a)\n\n  security_group_id = 1\n  description = \"from ${each.value}\"\n  # c\n  a = 1\n  bb = 2\n  policy = jsonencode({\n    Version = \"1\"\n    Statement = [{\n      Sid = \"a\"\n      Effect = \"Allow\"\n    }]\n  })\n  z = 3\n  tags = { a = 1, bbb = 2 }\n}\n";
        let want = "resource \"x\" \"y\" {\n  for_each = toset(var.a)\n\n  security_group_id = 1\n  description       = \"from ${each.value}\"\n  # c\n  a  = 1\n  bb = 2\n  policy = jsonencode({\n    Version = \"1\"\n    Statement = [{\n      Sid    = \"a\"\n      Effect = \"Allow\"\n    }]\n  })\n  z    = 3\n  tags = { a = 1, bbb = 2 }\n}\n";
        assert_eq!(align_attributes(src), want);
    }

    #[test]
    fn comparison_is_not_an_attribute() {
        let src = "  condition = a == b\n  x = 1\n";
        assert_eq!(
            align_attributes(src),
            "  condition = a == b\n  x         = 1\n"
        );
    }
}
