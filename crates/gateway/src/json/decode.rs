//! Request JSON to protobuf message, with the rules of the Go `jsonpb`
//! unmarshaler (golang/protobuf 1.3) as etcd 3.4's gateway configures it:
//! unknown fields are ignored; a field may be spelled `sort_order` or
//! `sortOrder` (the camel spelling wins when both appear); `null` leaves a
//! field unset; 64-bit and 32-bit integers may be quoted; enums may be
//! names or numbers; bytes are padded standard base64 (or, as Go allows,
//! an array of byte values). Every failure carries the text Go produces,
//! since the gateway returns it to the client.

use std::collections::HashMap;

use prost_reflect::{
    DynamicMessage, EnumDescriptor, FieldDescriptor, Kind as FieldKind, MessageDescriptor, Value,
};

use super::base64;
use super::raw::{self, Kind};
use super::scanner::{check_valid, go_quote_rune};

/// How Go names a JSON object it decodes as a message.
const MESSAGE_GO_TYPE: &str = "map[string]json.RawMessage";
/// How Go names a JSON array it decodes as a repeated field.
const LIST_GO_TYPE: &str = "[]json.RawMessage";
/// Messages nested deeper than this are refused; protobuf decoding stops
/// at the same depth, and it bounds the recursion here.
const MAX_NESTING: usize = 100;

/// Decodes the JSON value `raw` (already syntax-checked, trimmed) as a
/// message of type `desc`.
pub(crate) fn message(desc: &MessageDescriptor, raw: &[u8]) -> Result<DynamicMessage, String> {
    decode_message(desc, raw, 0)
}

fn decode_message(
    desc: &MessageDescriptor,
    raw: &[u8],
    depth: usize,
) -> Result<DynamicMessage, String> {
    if depth > MAX_NESTING {
        return Err(format!("proto: messages nested deeper than {MAX_NESTING}"));
    }
    let mut msg = DynamicMessage::new(desc.clone());
    if raw == b"null" {
        return Ok(msg);
    }
    let members = raw::members(raw).ok_or_else(|| type_error(Kind::of(raw), MESSAGE_GO_TYPE))?;
    // A repeated key keeps its last value, as in a Go map.
    let mut by_name: HashMap<String, &[u8]> = members.into_iter().collect();
    let (plain, oneof): (Vec<FieldDescriptor>, Vec<FieldDescriptor>) =
        declaration_order(desc).partition(|f| f.containing_oneof().is_none());
    for field in plain.iter().chain(&oneof) {
        if let Some(value) = consume(&mut by_name, field) {
            decode_field(&mut msg, field, value, depth)?;
        }
    }
    Ok(msg)
}

/// Fields in the order the .proto declares them, which is the order Go
/// visits them and so decides which of several errors is reported.
fn declaration_order(desc: &MessageDescriptor) -> impl Iterator<Item = FieldDescriptor> + '_ {
    desc.descriptor_proto()
        .field
        .iter()
        .filter_map(|f| desc.get_field(u32::try_from(f.number()).ok()?))
}

fn consume<'a>(
    by_name: &mut HashMap<String, &'a [u8]>,
    field: &FieldDescriptor,
) -> Option<&'a [u8]> {
    let orig = by_name.remove(field.name());
    let camel = by_name.remove(field.json_name());
    camel.or(orig)
}

fn decode_field(
    msg: &mut DynamicMessage,
    field: &FieldDescriptor,
    raw: &[u8],
    depth: usize,
) -> Result<(), String> {
    let kind = field.kind();
    let value = if field.is_list() {
        if raw == b"null" {
            return Ok(());
        }
        let items = raw::elements(raw).ok_or_else(|| type_error(Kind::of(raw), LIST_GO_TYPE))?;
        let mut values = Vec::with_capacity(items.len());
        for item in items {
            let value = single(&kind, item, depth)?;
            values.push(value.unwrap_or_else(|| kind.default_value()));
        }
        Value::List(values)
    } else {
        match single(&kind, raw, depth)? {
            Some(value) => value,
            // Go sets a oneof's scalar member to its zero value on null,
            // which makes it present; a message member stays unset.
            None if field.containing_oneof().is_some()
                && !matches!(kind, FieldKind::Message(_)) =>
            {
                kind.default_value()
            }
            None => return Ok(()),
        }
    };
    msg.try_set_field(field, value).map_err(|e| e.to_string())
}

/// One value of a field's kind; `None` for JSON `null`.
fn single(kind: &FieldKind, raw: &[u8], depth: usize) -> Result<Option<Value>, String> {
    match kind {
        FieldKind::Message(sub) => {
            if raw == b"null" {
                return Ok(None);
            }
            decode_message(sub, raw, depth + 1).map(|m| Some(Value::Message(m)))
        }
        FieldKind::Enum(desc) => {
            match raw.strip_prefix(b"\"").and_then(|r| r.strip_suffix(b"\"")) {
                // Go looks the name up without unescaping it.
                Some(name) => std::str::from_utf8(name)
                    .ok()
                    .and_then(|n| desc.get_value_by_name(n))
                    .map(|v| Some(Value::EnumNumber(v.number())))
                    .ok_or_else(|| {
                        format!(
                            "unknown value {} for enum {}",
                            go_quote(name),
                            go_enum_name(desc)
                        )
                    }),
                None => scalar(raw, &Target::Enum(go_enum_name(desc))),
            }
        }
        FieldKind::Bool => scalar(raw, &Target::Bool),
        FieldKind::String => scalar(raw, &Target::String),
        FieldKind::Bytes => scalar(raw, &Target::Bytes),
        numeric => {
            let target = Target::numeric(numeric);
            if target.is_float()
                && let Some(value) = non_finite(raw, &target)
            {
                return Ok(Some(value));
            }
            // Go strips the quotes of a quoted number and parses what is
            // left as a JSON document of its own.
            let text = raw
                .strip_prefix(b"\"")
                .and_then(|r| r.strip_suffix(b"\""))
                .unwrap_or(raw);
            scalar(text, &target)
        }
    }
}

/// The Go type a scalar is decoded into; its name appears in errors.
enum Target {
    Int32,
    Int64,
    Uint32,
    Uint64,
    Float32,
    Float64,
    Bool,
    String,
    Bytes,
    Enum(String),
}

impl Target {
    fn numeric(kind: &FieldKind) -> Target {
        match kind {
            FieldKind::Int64 | FieldKind::Sint64 | FieldKind::Sfixed64 => Target::Int64,
            FieldKind::Uint32 | FieldKind::Fixed32 => Target::Uint32,
            FieldKind::Uint64 | FieldKind::Fixed64 => Target::Uint64,
            FieldKind::Float => Target::Float32,
            FieldKind::Double => Target::Float64,
            _ => Target::Int32,
        }
    }

    fn is_float(&self) -> bool {
        matches!(self, Target::Float32 | Target::Float64)
    }

    fn go_name(&self) -> &str {
        match self {
            Target::Int32 => "int32",
            Target::Int64 => "int64",
            Target::Uint32 => "uint32",
            Target::Uint64 => "uint64",
            Target::Float32 => "float32",
            Target::Float64 => "float64",
            Target::Bool => "bool",
            Target::String => "string",
            Target::Bytes => "[]uint8",
            Target::Enum(name) => name,
        }
    }

    /// A JSON number literal as this type; `None` if Go would refuse it.
    fn number(&self, text: &str) -> Option<Value> {
        match self {
            Target::Int32 => text.parse().ok().map(Value::I32),
            Target::Enum(_) => text.parse().ok().map(Value::EnumNumber),
            Target::Int64 => text.parse().ok().map(Value::I64),
            Target::Uint32 => text.parse().ok().map(Value::U32),
            Target::Uint64 => text.parse().ok().map(Value::U64),
            Target::Float32 => text
                .parse::<f32>()
                .ok()
                .filter(|v| v.is_finite())
                .map(Value::F32),
            Target::Float64 => text
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
                .map(Value::F64),
            Target::Bool | Target::String | Target::Bytes => None,
        }
    }
}

fn non_finite(raw: &[u8], target: &Target) -> Option<Value> {
    let value = match raw {
        b"\"NaN\"" => f64::NAN,
        b"\"Infinity\"" => f64::INFINITY,
        b"\"-Infinity\"" => f64::NEG_INFINITY,
        _ => return None,
    };
    Some(match target {
        // Narrowing an infinity or NaN keeps it what it is.
        Target::Float32 => Value::F32(value as f32),
        _ => Value::F64(value),
    })
}

/// Go's `json.Unmarshal` of a document into a scalar of type `target`.
fn scalar(doc: &[u8], target: &Target) -> Result<Option<Value>, String> {
    check_valid(doc)?;
    let value = raw::trim(doc);
    let kind = Kind::of(value);
    match (kind, target) {
        (Kind::Null, _) => Ok(None),
        (Kind::Bool, Target::Bool) => Ok(Some(Value::Bool(value == b"true"))),
        (Kind::String, Target::String) => Ok(Some(Value::String(raw::unquote(value)))),
        (Kind::String, Target::Bytes) => {
            base64::decode_std(raw::unquote(value).as_bytes()).map(|b| Some(Value::Bytes(b.into())))
        }
        (Kind::Array, Target::Bytes) => byte_array(value).map(|b| Some(Value::Bytes(b.into()))),
        (Kind::Number, _) if !matches!(target, Target::Bool | Target::String | Target::Bytes) => {
            let text = String::from_utf8_lossy(value);
            target.number(&text).map(Some).ok_or_else(|| {
                format!(
                    "json: cannot unmarshal number {text} into Go value of type {}",
                    target.go_name()
                )
            })
        }
        _ => Err(type_error(kind, target.go_name())),
    }
}

/// Go decodes a JSON array into `[]byte` element by element.
fn byte_array(value: &[u8]) -> Result<Vec<u8>, String> {
    let items = raw::elements(value).unwrap_or_default();
    let mut out = Vec::with_capacity(items.len());
    let mut first_error = None;
    for item in items {
        let byte = match Kind::of(item) {
            Kind::Null => Ok(0),
            Kind::Number => {
                let text = String::from_utf8_lossy(item);
                text.parse::<u8>().map_err(|_| {
                    format!("json: cannot unmarshal number {text} into Go value of type uint8")
                })
            }
            kind => Err(type_error(kind, "uint8")),
        };
        match byte {
            Ok(b) => out.push(b),
            Err(e) => {
                first_error.get_or_insert(e);
                out.push(0);
            }
        }
    }
    first_error.map_or(Ok(out), Err)
}

fn type_error(kind: Kind, go_type: &str) -> String {
    format!(
        "json: cannot unmarshal {} into Go value of type {go_type}",
        kind.go_name()
    )
}

/// The Go name of a generated enum type: nested names joined by `_`
/// (`etcdserverpb.RangeRequest_SortOrder`).
fn go_enum_name(desc: &EnumDescriptor) -> String {
    let package = desc.package_name();
    let local = desc
        .full_name()
        .strip_prefix(package)
        .and_then(|rest| rest.strip_prefix('.'))
        .unwrap_or(desc.full_name());
    if package.is_empty() {
        local.replace('.', "_")
    } else {
        format!("{package}.{}", local.replace('.', "_"))
    }
}

/// Bytes quoted as Go's `%q` does: valid UTF-8 shown as characters,
/// anything else as `\x` escapes.
fn go_quote(bytes: &[u8]) -> String {
    let mut out = String::from("\"");
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            out.push_str(&go_quote_rune(c));
        }
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::json::schema;

    fn decode(name: &str, json: &str) -> Result<DynamicMessage, String> {
        message(&schema::message(name).unwrap(), json.as_bytes())
    }

    fn range_error(json: &str) -> String {
        decode("etcdserverpb.RangeRequest", json).unwrap_err()
    }

    #[test]
    fn errors_match_etcd_gateway() {
        // Each text was read from etcd 3.4's gateway for the same body.
        let cases = [
            (
                r#"{"key":5}"#,
                "json: cannot unmarshal number into Go value of type []uint8",
            ),
            (r#"{"key":"!!"}"#, "illegal base64 data at input byte 0"),
            (
                r#"{"key":"Zm9v","limit":"abc"}"#,
                "invalid character 'a' looking for beginning of value",
            ),
            (
                r#"{"key":"Zm9v","limit":5.5}"#,
                "json: cannot unmarshal number 5.5 into Go value of type int64",
            ),
            (
                r#"{"key":"Zm9v","limit":1e2}"#,
                "json: cannot unmarshal number 1e2 into Go value of type int64",
            ),
            (
                r#"{"key":"Zm9v","limit":"1.0"}"#,
                "json: cannot unmarshal number 1.0 into Go value of type int64",
            ),
            (
                r#"{"key":"Zm9v","limit":99999999999999999999}"#,
                "json: cannot unmarshal number 99999999999999999999 into Go value of type int64",
            ),
            (
                r#"{"key":"Zm9v","limit":""}"#,
                "unexpected end of JSON input",
            ),
            (
                r#"{"key":"Zm9v","limit":"5 6"}"#,
                "invalid character '6' after top-level value",
            ),
            (
                r#"{"key":"Zm9v","limit":"\u0035"}"#,
                r"invalid character '\\' looking for beginning of value",
            ),
            (
                r#"{"key":"Zm9v","limit":[]}"#,
                "json: cannot unmarshal array into Go value of type int64",
            ),
            (
                r#"{"key":"Zm9v","limit":{}}"#,
                "json: cannot unmarshal object into Go value of type int64",
            ),
            (
                r#"{"key":"Zm9v","limit":true}"#,
                "json: cannot unmarshal bool into Go value of type int64",
            ),
            (
                r#"{"key":"Zm9v","sort_order":"BAD"}"#,
                r#"unknown value "BAD" for enum etcdserverpb.RangeRequest_SortOrder"#,
            ),
            (
                r#"{"key":"Zm9v","sort_order":"\u00e9"}"#,
                r#"unknown value "\\u00e9" for enum etcdserverpb.RangeRequest_SortOrder"#,
            ),
            (
                r#"{"key":"Zm9v","sort_order":5.5}"#,
                "json: cannot unmarshal number 5.5 into Go value of type etcdserverpb.RangeRequest_SortOrder",
            ),
            (
                r#"{"key":"Zm9v","sort_order":true}"#,
                "json: cannot unmarshal bool into Go value of type etcdserverpb.RangeRequest_SortOrder",
            ),
            (
                r#"{"key":"Zm9v","serializable":"true"}"#,
                "json: cannot unmarshal string into Go value of type bool",
            ),
            (
                r#"{"key":"Zm9v","keys_only":1}"#,
                "json: cannot unmarshal number into Go value of type bool",
            ),
            (
                r#"{"key":[102,111,256]}"#,
                "json: cannot unmarshal number 256 into Go value of type uint8",
            ),
            (
                r#"{"key":["a"]}"#,
                "json: cannot unmarshal string into Go value of type uint8",
            ),
            (
                r#"{"key":"Zm9v\\n"}"#,
                "illegal base64 data at input byte 4",
            ),
            (
                "[]",
                "json: cannot unmarshal array into Go value of type map[string]json.RawMessage",
            ),
            (
                "5",
                "json: cannot unmarshal number into Go value of type map[string]json.RawMessage",
            ),
        ];
        for (json, want) in cases {
            assert_eq!(range_error(json), want, "{json}");
        }
    }

    #[test]
    fn accepted_spellings() {
        use api::pb::etcdserverpb::RangeRequest;
        let accepted = [
            r#"{"key":"Zm9v","limit":"5"}"#,
            r#"{"key":"Zm9v","limit":5,"sortOrder":"DESCEND"}"#,
            r#"{"key":"Zm9v","limit":" 5 ","sort_order":2,"unknown":{"deep":[1,{"x":null}]}}"#,
            r#"{"key":[102,111,111],"limit":"5","revision":null}"#,
            r#"{"key":"Zm9v\n","limit":5,"Key":"YQ==","KEY":7}"#,
        ];
        for json in accepted {
            let msg = decode("etcdserverpb.RangeRequest", json).unwrap();
            let req: RangeRequest = msg.transcode_to().unwrap();
            assert_eq!(req.key, b"foo", "{json}");
            assert_eq!(req.limit, 5, "{json}");
        }
        let both: RangeRequest = decode(
            "etcdserverpb.RangeRequest",
            r#"{"key":"Zm9v","sort_order":1,"sortOrder":2}"#,
        )
        .unwrap()
        .transcode_to()
        .unwrap();
        assert_eq!(both.sort_order, 2, "the camel spelling wins");
        let empty: RangeRequest = decode("etcdserverpb.RangeRequest", "null")
            .unwrap()
            .transcode_to()
            .unwrap();
        assert_eq!(empty, RangeRequest::default());
    }

    #[test]
    fn oneof_null_scalar_is_present_and_null_message_is_not() {
        use api::pb::etcdserverpb::{RequestOp, TxnRequest, compare::TargetUnion};
        let txn: TxnRequest = decode(
            "etcdserverpb.TxnRequest",
            r#"{"compare":[{"key":"Zm9v","target":"CREATE","create_revision":null}],"success":[{"request_put":null},null]}"#,
        )
        .unwrap()
        .transcode_to()
        .unwrap();
        assert_eq!(
            txn.compare[0].target_union,
            Some(TargetUnion::CreateRevision(0))
        );
        assert_eq!(
            txn.success,
            vec![RequestOp::default(), RequestOp::default()]
        );
    }

    #[test]
    fn nesting_is_bounded() {
        let mut json = String::new();
        for _ in 0..=MAX_NESTING {
            json.push_str(r#"{"success":[{"request_txn":"#);
        }
        json.push_str("{}");
        for _ in 0..=MAX_NESTING {
            json.push_str("}]}");
        }
        assert!(
            decode("etcdserverpb.TxnRequest", &json)
                .unwrap_err()
                .contains("nested deeper")
        );
    }

    #[test]
    fn go_enum_names() {
        let range = schema::message("etcdserverpb.RangeRequest").unwrap();
        let FieldKind::Enum(sort) = range.get_field_by_name("sort_order").unwrap().kind() else {
            panic!("sort_order is an enum");
        };
        assert_eq!(go_enum_name(&sort), "etcdserverpb.RangeRequest_SortOrder");
        let alarm = schema::message("etcdserverpb.AlarmRequest").unwrap();
        let FieldKind::Enum(kind) = alarm.get_field_by_name("alarm").unwrap().kind() else {
            panic!("alarm is an enum");
        };
        assert_eq!(go_enum_name(&kind), "etcdserverpb.AlarmType");
        assert_eq!(go_quote(b"a\"\xff"), r#""a\"\xff""#);
    }
}
