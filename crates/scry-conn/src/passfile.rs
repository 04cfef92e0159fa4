//! The password file (`~/.pgpass`, or `PGPASSFILE`/`passfile`): lines
//! `host:port:database:user:password`, `*` matching anything, `\` escaping `:` and `\`; as
//! libpq does, a file that others may read is ignored (with a warning).

use std::path::Path;

use crate::config::ConnConfig;

/// The password of the first line that matches `config`'s first host, port, database and
/// user, if any.
pub(crate) fn lookup(file: &Path, config: &ConnConfig) -> Option<String> {
    let text = std::fs::read_to_string(file).ok()?;
    if !private(file) {
        eprintln!(
            "warning: password file {} has group or world access; it is ignored (chmod 0600 \
             it)",
            file.display()
        );
        return None;
    }
    let host = config.hosts.first()?;
    let name = if host.is_socket() {
        "localhost"
    } else {
        host.name.as_str()
    };
    let port = host.port.to_string();
    let wanted = [
        name,
        port.as_str(),
        config.dbname.as_str(),
        config.user.as_str(),
    ];
    text.lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .filter_map(fields)
        .find(|f| {
            f.len() == 5
                && f.iter()
                    .zip(wanted)
                    .all(|(field, want)| field == "*" || field == want)
        })
        .and_then(|f| f.into_iter().nth(4))
}

/// A line's fields, split at unescaped `:`; `None` for a blank line.
fn fields(line: &str) -> Option<Vec<String>> {
    if line.trim().is_empty() {
        return None;
    }
    let mut fields = vec![String::new()];
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let (Some(next), Some(last)) = (chars.next(), fields.last_mut()) {
                    last.push(next);
                }
            }
            ':' if fields.len() < 5 => fields.push(String::new()),
            c => {
                if let Some(last) = fields.last_mut() {
                    last.push(c);
                }
            }
        }
    }
    Some(fields)
}

#[cfg(unix)]
fn private(file: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(file).is_ok_and(|m| m.permissions().mode() & 0o077 == 0)
}

#[cfg(not(unix))]
fn private(_file: &Path) -> bool {
    true
}
