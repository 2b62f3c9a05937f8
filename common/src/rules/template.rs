//! Body templates over a request (MiniJinja, a Jinja2 subset): no code
//! execution, no file or template loading, fuel that bounds the work of one
//! rendering, and output cut off at [`MAX_OUTPUT`] bytes.
//!
//! A template sees `request` (`id`, `method`, `subpath`, `query_string`,
//! `query` and `headers` (first value per name, header names lower-cased),
//! `body` (text), `json` (the parsed body, when it is JSON), `ip`,
//! `received_at`) and `now` (RFC 3339), and the function
//! `pointer("/a/0/b")`, a JSON Pointer into the body.

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::Arc;

use minijinja::value::Value as JinjaValue;
use minijinja::{Environment, State};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

use crate::capture::{parse_query, Capture};

/// Most bytes one rendering may produce (the bound of a custom body).
pub const MAX_OUTPUT: usize = crate::paths::MAX_RESPONSE_BODY;
/// Instructions one rendering may run: generous for any template that
/// formats a request, small enough to end a runaway loop in milliseconds.
const FUEL: u64 = 200_000;
/// Longest template source.
pub const MAX_SOURCE: usize = 64 << 10;

/// A template, compiled once when read; compared and written as its source.
#[derive(Clone)]
pub struct Template {
    source: Arc<str>,
    env: Arc<Environment<'static>>,
}

impl Template {
    pub fn new(source: &str) -> Result<Self, String> {
        if source.len() > MAX_SOURCE {
            return Err(format!("a template may be at most {MAX_SOURCE} bytes"));
        }
        let mut env = Environment::new();
        env.set_fuel(Some(FUEL));
        env.set_recursion_limit(64);
        env.add_function("pointer", pointer);
        env.add_template_owned("body", source.to_owned())
            .map_err(|e| format!("invalid template: {e}"))?;
        Ok(Self {
            source: source.into(),
            env: Arc::new(env),
        })
    }

    pub fn source(&self) -> &str {
        &self.source
    }

    /// Renders over `capture`; the error says what stopped it (a template
    /// error, the fuel running out, the output bound).
    pub fn render(&self, capture: &Capture, json: Option<&Value>) -> Result<String, String> {
        let template = self
            .env
            .get_template("body")
            .map_err(|e| format!("template: {e}"))?;
        let context = minijinja::context! {
            request => JinjaValue::from_serialize(RequestView::of(capture, json)),
            now => chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        };
        let mut out = Bounded(Vec::new());
        match template.render_captured_to(context, &mut out) {
            Ok(_) => String::from_utf8(out.0).map_err(|_| "template output is not UTF-8".into()),
            Err(_) if out.0.len() > MAX_OUTPUT => {
                Err(format!("the template renders more than {MAX_OUTPUT} bytes"))
            }
            Err(e) => Err(format!("template: {e}")),
        }
    }

    /// Renders over a sample request, so that a template that cannot
    /// render at all (or renders past the bound whatever the request) is
    /// refused when it is configured rather than on the first webhook.
    pub fn check(&self) -> Result<(), String> {
        let sample = Capture::sample();
        self.render(&sample, None).map(drop)
    }
}

/// What a template sees of the request.
#[derive(Serialize)]
struct RequestView<'a> {
    id: String,
    method: &'a str,
    subpath: &'a str,
    query_string: &'a str,
    query: BTreeMap<String, String>,
    headers: BTreeMap<String, String>,
    body: std::borrow::Cow<'a, str>,
    json: Option<&'a Value>,
    ip: &'a str,
    received_at: String,
}

impl<'a> RequestView<'a> {
    fn of(c: &'a Capture, json: Option<&'a Value>) -> Self {
        let mut query = BTreeMap::new();
        for (k, v) in parse_query(&c.query_string) {
            query.entry(k).or_insert(v);
        }
        let mut headers = BTreeMap::new();
        for h in &c.headers {
            headers
                .entry(h.name.to_ascii_lowercase())
                .or_insert_with(|| String::from_utf8_lossy(&h.value).into_owned());
        }
        Self {
            id: c.id.to_string(),
            method: &c.method,
            subpath: &c.subpath,
            query_string: &c.query_string,
            query,
            headers,
            body: String::from_utf8_lossy(&c.body),
            json,
            ip: &c.ip,
            received_at: c
                .received_at
                .to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        }
    }
}

/// `pointer("/a/0")`: the body field at a JSON Pointer, or undefined.
fn pointer(state: &State, at: String) -> Result<JinjaValue, minijinja::Error> {
    let pointer = super::JsonPointer::new(&at)
        .map_err(|m| minijinja::Error::new(minijinja::ErrorKind::InvalidOperation, m))?;
    let mut value = state
        .lookup("request")
        .and_then(|r| r.get_attr("json").ok())
        .unwrap_or_default();
    for token in pointer.tokens() {
        if value.is_undefined() || value.is_none() {
            break;
        }
        value = match token.parse::<usize>() {
            Ok(i) if value.kind() == minijinja::value::ValueKind::Seq => {
                value.get_item(&JinjaValue::from(i)).unwrap_or_default()
            }
            _ => value.get_attr(&token).unwrap_or_default(),
        };
    }
    Ok(value)
}

/// A writer that refuses to grow past [`MAX_OUTPUT`] (keeping one byte
/// more, so the caller can tell the bound from other failures).
struct Bounded(Vec<u8>);

impl Write for Bounded {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.0.len() + buf.len() > MAX_OUTPUT {
            self.0.resize(MAX_OUTPUT + 1, 0);
            return Err(std::io::Error::other("output bound"));
        }
        self.0.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl std::fmt::Debug for Template {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Template").field(&self.source).finish()
    }
}

impl PartialEq for Template {
    fn eq(&self, other: &Self) -> bool {
        self.source == other.source
    }
}

impl Eq for Template {}

impl Serialize for Template {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.source)
    }
}

impl<'de> Deserialize<'de> for Template {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let source = String::deserialize(d)?;
        Self::new(&source).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn capture(body: &str) -> Capture {
        let mut c = Capture::sample();
        c.body = bytes::Bytes::copy_from_slice(body.as_bytes());
        c.query_string = "event=push&event=other".into();
        c
    }

    #[test]
    fn renders_request_fields_and_body_pointers() {
        let c = capture(r#"{"data":{"id":"evt_1","items":[{"sku":"a"}]}}"#);
        let json: Value = serde_json::from_slice(&c.body).unwrap();
        let t = Template::new(
            r#"{"id":"{{ request.id }}","m":"{{ request.method }}","e":"{{ request.query.event }}","d":"{{ pointer('/data/id') }}","s":"{{ pointer('/data/items/0/sku') }}","j":"{{ request.json.data.id }}"}"#,
        )
        .unwrap();
        let out: Value = serde_json::from_str(&t.render(&c, Some(&json)).unwrap()).unwrap();
        assert_eq!(out["id"], c.id.to_string());
        assert_eq!(out["m"], "POST");
        assert_eq!(out["e"], "push");
        assert_eq!(out["d"], "evt_1");
        assert_eq!(out["s"], "a");
        assert_eq!(out["j"], "evt_1");
    }

    #[test]
    fn bounded_in_size_and_work() {
        let big = Template::new("{% for i in range(100000) %}xxxxxxxxxx{% endfor %}").unwrap();
        let e = big.render(&capture(""), None).unwrap_err();
        assert!(e.contains("bytes") || e.contains("fuel"), "{e}");
        let busy = Template::new(
            "{% for i in range(10000) %}{% for j in range(10000) %}{% endfor %}{% endfor %}",
        )
        .unwrap();
        assert!(busy.render(&capture(""), None).is_err());
    }

    #[test]
    fn syntax_errors_are_refused() {
        assert!(Template::new("{{ request.id ").is_err());
        assert!(
            Template::new("{% include 'x' %}").is_err(),
            "no other templates to load"
        );
    }
}
