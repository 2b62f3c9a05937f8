//! What a forward target changes in what it sends: headers removed, set or
//! added, JSON body fields set or removed, or the whole body replaced by a
//! template. Applied to a copy: the stored capture never changes.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{JsonPointer, RuleError, Template};
use crate::capture::{Capture, Header};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Transform {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub headers: Option<HeaderEdits>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub json: Option<JsonEdits>,
    /// Replaces the body with a template rendered over the original
    /// request (instead of `json` edits, not with them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_template: Option<Template>,
}

/// Applied in this order: remove, set (replaces every value of the name),
/// add (appends).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HeaderEdits {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub remove: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub set: Vec<(String, String)>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub add: Vec<(String, String)>,
}

/// Applied in this order: remove, then set. Setting a field creates the
/// objects on its way that are missing; `-` as the last token appends to
/// an array.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JsonEdits {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub remove: Vec<JsonPointer>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub set: Vec<JsonSet>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JsonSet {
    pub pointer: JsonPointer,
    pub value: Value,
}

impl Transform {
    pub(super) fn validate(&self, at: &str) -> Result<(), RuleError> {
        if let Some(h) = &self.headers {
            let names = h
                .remove
                .iter()
                .map(|n| (n, "remove"))
                .chain(h.set.iter().map(|(n, _)| (n, "set")))
                .chain(h.add.iter().map(|(n, _)| (n, "add")));
            for (name, list) in names {
                if http::HeaderName::from_bytes(name.as_bytes()).is_err() {
                    return Err(RuleError::new(
                        format!("{at}.headers.{list}"),
                        &format!("{name:?} is not a header name"),
                    ));
                }
            }
            for (name, value) in h.set.iter().chain(&h.add) {
                if http::HeaderValue::from_str(value).is_err() {
                    return Err(RuleError::new(
                        format!("{at}.headers"),
                        &format!("the value for {name:?} is not a valid header value"),
                    ));
                }
            }
        }
        if let Some(j) = &self.json {
            for (i, set) in j.set.iter().enumerate() {
                if set.pointer.as_str().is_empty() {
                    return Err(RuleError::new(
                        format!("{at}.json.set[{i}].pointer"),
                        "name a field; to replace the whole body use body_template",
                    ));
                }
            }
        }
        if self.json.is_some() && self.body_template.is_some() {
            return Err(RuleError::new(
                at.to_owned(),
                "give json edits or a body_template, not both",
            ));
        }
        if let Some(t) = &self.body_template {
            t.check()
                .map_err(|m| RuleError::new(format!("{at}.body_template"), &m))?;
        }
        Ok(())
    }

    /// The capture as this target is to receive it.
    pub fn apply(&self, capture: &Capture) -> Result<Capture, String> {
        let mut out = capture.clone();
        if let Some(h) = &self.headers {
            let gone =
                |name: &str, list: &[String]| list.iter().any(|r| r.eq_ignore_ascii_case(name));
            let replaced: Vec<String> = h.set.iter().map(|(n, _)| n.clone()).collect();
            out.headers
                .retain(|hd| !gone(&hd.name, &h.remove) && !gone(&hd.name, &replaced));
            for (name, value) in h.set.iter().chain(&h.add) {
                out.headers.push(Header {
                    name: name.clone(),
                    value: bytes::Bytes::from(value.clone()),
                });
            }
        }
        let original: Option<Value> = serde_json::from_slice(&capture.body).ok();
        if let Some(j) = &self.json {
            let mut doc = original
                .clone()
                .ok_or("transform: the body is not JSON, so its fields cannot be edited")?;
            for p in &j.remove {
                remove(&mut doc, p);
            }
            for s in &j.set {
                set(&mut doc, &s.pointer, s.value.clone())
                    .map_err(|m| format!("transform: json.set {:?}: {m}", s.pointer.as_str()))?;
            }
            out.body = serde_json::to_vec(&doc).expect("JSON serializes").into();
        }
        if let Some(t) = &self.body_template {
            out.body = t.render(capture, original.as_ref())?.into_bytes().into();
        }
        Ok(out)
    }
}

fn remove(doc: &mut Value, pointer: &JsonPointer) {
    let tokens: Vec<String> = pointer.tokens().collect();
    let Some((last, parents)) = tokens.split_last() else {
        return;
    };
    let mut at = doc;
    for t in parents {
        at = match at {
            Value::Object(m) => match m.get_mut(t) {
                Some(v) => v,
                None => return,
            },
            Value::Array(a) => match t.parse::<usize>().ok().and_then(|i| a.get_mut(i)) {
                Some(v) => v,
                None => return,
            },
            _ => return,
        };
    }
    match at {
        Value::Object(m) => {
            m.remove(last);
        }
        Value::Array(a) => {
            if let Some(i) = last.parse::<usize>().ok().filter(|i| *i < a.len()) {
                a.remove(i);
            }
        }
        _ => {}
    }
}

fn set(doc: &mut Value, pointer: &JsonPointer, value: Value) -> Result<(), &'static str> {
    let tokens: Vec<String> = pointer.tokens().collect();
    let (last, parents) = tokens.split_last().ok_or("name a field")?;
    let mut at = doc;
    for t in parents {
        at = match at {
            Value::Object(m) => m
                .entry(t.clone())
                .or_insert_with(|| Value::Object(Default::default())),
            Value::Array(a) => t
                .parse::<usize>()
                .ok()
                .and_then(|i| a.get_mut(i))
                .ok_or("no such array element")?,
            _ => return Err("a field on the way is neither an object nor an array"),
        };
    }
    match at {
        Value::Object(m) => {
            m.insert(last.clone(), value);
        }
        Value::Array(a) if last == "-" => a.push(value),
        Value::Array(a) => {
            let slot = last
                .parse::<usize>()
                .ok()
                .and_then(|i| a.get_mut(i))
                .ok_or("no such array element")?;
            *slot = value;
        }
        _ => return Err("its parent is neither an object nor an array"),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edits_a_copy() {
        let mut c = Capture::sample();
        c.body = bytes::Bytes::from_static(br#"{"a":{"b":1},"secret":"s","list":[1]}"#);
        c.headers = vec![
            Header {
                name: "X-Debug".into(),
                value: "1".into(),
            },
            Header {
                name: "X-Env".into(),
                value: "prod".into(),
            },
        ];
        let t: Transform = serde_json::from_value(serde_json::json!({
            "headers": {"remove": ["x-debug"], "set": [["x-env", "staging"]], "add": [["x-a", "1"]]},
            "json": {"remove": ["/secret"], "set": [{"pointer": "/a/c", "value": true}, {"pointer": "/n/m", "value": 2}, {"pointer": "/list/-", "value": 2}]}
        }))
        .unwrap();
        let out = t.apply(&c).unwrap();
        let body: Value = serde_json::from_slice(&out.body).unwrap();
        assert_eq!(
            body,
            serde_json::json!({"a": {"b": 1, "c": true}, "n": {"m": 2}, "list": [1, 2]})
        );
        let names: Vec<_> = out
            .headers
            .iter()
            .map(|h| (h.name.as_str(), &h.value[..]))
            .collect();
        assert_eq!(names, [("x-env", &b"staging"[..]), ("x-a", &b"1"[..])]);
        assert!(
            c.body.starts_with(br#"{"a":{"b":1},"secret""#),
            "the original is untouched"
        );
    }

    #[test]
    fn a_template_replaces_the_body() {
        let c = Capture::sample();
        let t: Transform =
            serde_json::from_value(serde_json::json!({"body_template": "id={{ request.id }}"}))
                .unwrap();
        assert_eq!(
            t.apply(&c).unwrap().body,
            format!("id={}", c.id).into_bytes()
        );
    }

    #[test]
    fn json_edits_of_a_body_that_is_not_json_fail() {
        let mut c = Capture::sample();
        c.body = bytes::Bytes::from_static(b"plain");
        let t: Transform =
            serde_json::from_value(serde_json::json!({"json": {"remove": ["/a"]}})).unwrap();
        assert!(t.apply(&c).is_err());
    }
}
