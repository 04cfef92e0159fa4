//! The two forms of a connection string, `key=value ...` and `postgresql://...`, into keys.

use std::collections::BTreeMap;

use super::ConfigError;

/// The keys of `conninfo`, in either form.
pub(super) fn parse(conninfo: &str) -> Result<BTreeMap<String, String>, ConfigError> {
    let text = conninfo.trim();
    if let Some(rest) = text
        .strip_prefix("postgresql://")
        .or_else(|| text.strip_prefix("postgres://"))
    {
        parse_url(rest)
    } else {
        parse_pairs(text)
    }
}

/// `key = value` pairs; a value in single quotes may hold spaces, and `\` escapes the next
/// character.
fn parse_pairs(text: &str) -> Result<BTreeMap<String, String>, ConfigError> {
    let mut keys = BTreeMap::new();
    let mut chars = text.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        if chars.peek().is_none() {
            return Ok(keys);
        }
        let mut key = String::new();
        while let Some(&c) = chars.peek() {
            if c == '=' || c.is_whitespace() {
                break;
            }
            key.push(c);
            chars.next();
        }
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        if chars.next() != Some('=') {
            return Err(ConfigError::Syntax(format!("missing \"=\" after {key:?}")));
        }
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let mut value = String::new();
        if chars.peek() == Some(&'\'') {
            chars.next();
            loop {
                match chars.next() {
                    None => {
                        return Err(ConfigError::Syntax(format!(
                            "unterminated quoted value of {key:?}"
                        )))
                    }
                    Some('\'') => break,
                    Some('\\') => value.extend(chars.next()),
                    Some(c) => value.push(c),
                }
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c.is_whitespace() {
                    break;
                }
                chars.next();
                if c == '\\' {
                    value.extend(chars.next());
                } else {
                    value.push(c);
                }
            }
        }
        keys.insert(key, value);
    }
}

/// The part of a URL after `postgresql://`: `[user[:password]@][host[:port],...][/dbname][?k=v&...]`.
fn parse_url(rest: &str) -> Result<BTreeMap<String, String>, ConfigError> {
    let mut keys = BTreeMap::new();
    let (main, query) = rest.split_once('?').unwrap_or((rest, ""));
    let (authority, path) = main.split_once('/').unwrap_or((main, ""));
    let hosts_part = match authority.rsplit_once('@') {
        Some((userinfo, hosts)) => {
            let (user, password) = match userinfo.split_once(':') {
                Some((u, p)) => (u, Some(p)),
                None => (userinfo, None),
            };
            if !user.is_empty() {
                keys.insert("user".to_owned(), decode(user)?);
            }
            if let Some(p) = password {
                keys.insert("password".to_owned(), decode(p)?);
            }
            hosts
        }
        None => authority,
    };
    if !hosts_part.is_empty() {
        let (mut names, mut ports) = (Vec::new(), Vec::new());
        for spec in hosts_part.split(',') {
            let (name, port) = if let Some(v6) = spec.strip_prefix('[') {
                let (name, after) = v6.split_once(']').ok_or_else(|| {
                    ConfigError::Syntax("an IPv6 address without its closing \"]\"".into())
                })?;
                (name.to_owned(), after.strip_prefix(':').unwrap_or(""))
            } else {
                match spec.split_once(':') {
                    Some((n, p)) => (decode(n)?, p),
                    None => (decode(spec)?, ""),
                }
            };
            names.push(name);
            ports.push(port.to_owned());
        }
        if names.iter().any(|n| !n.is_empty()) {
            keys.insert("host".to_owned(), names.join(","));
        }
        if ports.iter().any(|p| !p.is_empty()) {
            keys.insert("port".to_owned(), ports.join(","));
        }
    }
    if !path.is_empty() {
        keys.insert("dbname".to_owned(), decode(path)?);
    }
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').ok_or_else(|| {
            ConfigError::Syntax(format!(
                "URL parameter {:?} without \"=\"",
                decode(pair).unwrap_or_default()
            ))
        })?;
        let k = decode(k)?;
        // libpq's URL spelling of two keys.
        let k = match k.as_str() {
            "ssl" if v == "true" => {
                keys.insert("sslmode".into(), "require".into());
                continue;
            }
            _ => k,
        };
        keys.insert(k, decode(v)?);
    }
    Ok(keys)
}

/// Percent-decoding.
fn decode(text: &str) -> Result<String, ConfigError> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let hex = bytes
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| ConfigError::Syntax("a bad percent-encoding in the URL".into()))?;
            out.push(hex);
            i += 3;
        } else {
            out.push(b);
            i += 1;
        }
    }
    String::from_utf8(out)
        .map_err(|_| ConfigError::Syntax("the URL decodes to invalid UTF-8".into()))
}
